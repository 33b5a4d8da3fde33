//! The checks of the fuzz targets (`server/fuzz`), one function per target that panics when an
//! invariant breaks. The fuzz crate includes this file; `cargo test` replays every input kept
//! under `fuzz/regressions/<target>/` through the same functions.

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use prost::Message;

use crate::raft::convert::{self, DecodeError};
use crate::raft::pb;
use crate::resp::codec::{Limits, Parser, ProtocolError, DEFAULT_MAX_BULK, INLINE_MAX};

/// Runs a closure and returns the largest single allocation it made (the fuzz crate counts them
/// with its global allocator; the replay test passes none).
pub type AllocPeak<'a> = &'a dyn Fn(&mut dyn FnMut()) -> usize;

/// The largest allocation one `parse` call may make for a buffer of `len` bytes: the argv grows
/// with the arguments received (at least 2 bytes each, 32 bytes per `Bytes`, doubling).
fn alloc_bound(len: usize) -> usize {
    64 * len + 4096
}

/// Target `resp_parser`. Input: `[flags, max_bulk, inline_max, k, size_1 .. size_k, stream..]`:
/// flags bit 0 = unauthenticated; max_bulk 0 = the default, else `max_bulk - 1`; inline_max
/// 0 = the default, else that many bytes; the stream arrives in reads of `size_i + 1` bytes
/// (cycling; `k % 8` sizes, none: one byte per read).
///
/// Invariants: no panic; a request never uses more bytes than were received and an incomplete
/// one consumes none; the stream parsed from one read and from these reads gives the same
/// requests and the same closing error; no allocation beyond `alloc_bound` of the buffer.
pub fn resp_parser(data: &[u8], alloc_peak: Option<AllocPeak>) {
    let Some((&[flags, max_bulk, inline_max, k], rest)) = data.split_first_chunk::<4>() else { return };
    let k = (k % 8) as usize;
    if rest.len() < k {
        return;
    }
    let (sizes, stream) = rest.split_at(k);
    let limits = Limits {
        max_bulk: if max_bulk == 0 { DEFAULT_MAX_BULK } else { max_bulk as usize - 1 },
        inline_max: if inline_max == 0 { INLINE_MAX } else { inline_max as usize },
        unauthenticated: flags & 1 == 1,
    };
    let whole = parse_reads(stream, &mut std::iter::once(stream.len().max(1)), limits, alloc_peak);
    let mut reads = sizes.iter().map(|&s| s as usize + 1).chain(sizes.is_empty().then_some(1)).cycle();
    let split = parse_reads(stream, &mut reads, limits, alloc_peak);
    assert_eq!(whole, split, "one read and reads of {sizes:?} parse differently");
}

/// Feeds `stream` to one parser in reads of the given sizes, parsing after each read as the
/// connection does; stops at the first protocol error (the connection closes).
fn parse_reads(
    stream: &[u8],
    reads: &mut dyn Iterator<Item = usize>,
    limits: Limits,
    alloc_peak: Option<AllocPeak>,
) -> Vec<Result<Vec<Bytes>, ProtocolError>> {
    let (mut parser, mut buf, mut out) = (Parser::default(), BytesMut::new(), Vec::new());
    let (mut fed, mut consumed) = (0, 0);
    while fed < stream.len() {
        let n = reads.next().expect("endless reads").min(stream.len() - fed);
        buf.extend_from_slice(&stream[fed..fed + n]);
        fed += n;
        loop {
            let before = buf.len();
            let mut result = None;
            let mut call = || result = Some(parser.parse(&mut buf, limits));
            match alloc_peak {
                Some(peak) => {
                    let most = peak(&mut call);
                    assert!(most <= alloc_bound(before), "allocated {most} bytes for a {before}-byte buffer");
                }
                None => call(),
            }
            match result.expect("parse ran") {
                Ok(Some(argv)) => {
                    let used = before - buf.len();
                    let args: usize = argv.iter().map(Bytes::len).sum();
                    assert!(used > 0, "a request must consume bytes");
                    assert!(args <= used, "{args} bytes of arguments from {used} bytes");
                    consumed += used;
                    assert!(consumed <= fed);
                    out.push(Ok(argv));
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "an incomplete request consumed bytes");
                    break;
                }
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

/// Converts `msg` and checks the conversion is stable: converting back and again gives the
/// same message.
fn stable<P: PartialEq + Debug + Clone, T>(
    msg: P,
    from: impl Fn(P) -> Result<T, DecodeError>,
    to: impl Fn(T) -> P,
) -> Option<P> {
    let once = to(from(msg).ok()?);
    let again = to(from(once.clone()).expect("a converted message converts back"));
    assert_eq!(once, again, "conversion is not stable");
    Some(once)
}

/// What the readers of an accepted cluster map do with it (`node::Layout::new`, `cmd::cluster`).
fn use_map(map: &pb::ClusterMap) {
    let mut route = vec![0u16; 16384];
    for r in &map.regions {
        route[r.slot_from as u16 as usize..r.slot_to as usize].fill(1);
        assert!(r.slot_to - r.slot_from as u16 as u32 > 0);
    }
}

/// Target `raft_messages`. Input: `[kind, message..]`; `kind` picks what a node decodes from a
/// peer or from its own storage: each Raft RPC and reply, the Join request, a log entry (and the
/// cluster map a CLUSTER_MAP command carries), a cluster map, a region's applied record.
///
/// Invariants: no panic; a message that converts converts back to itself; an accepted map or
/// Join holds what its readers index by.
pub fn raft_messages(data: &[u8]) {
    let Some((&kind, raw)) = data.split_first() else { return };
    match kind % 12 {
        0 => {
            let Ok(m) = pb::AppendRequest::decode(raw) else { return };
            stable(m, convert::append_request_from_pb, |r| convert::append_request_to_pb(7, r));
        }
        1 => {
            let Ok(m) = pb::VoteRequest::decode(raw) else { return };
            stable(m, |m| convert::vote_request_from_pb(&m), |r| convert::vote_request_to_pb(7, &r, false));
        }
        2 => {
            let Ok(m) = pb::VoteResponse::decode(raw) else { return };
            stable(m, |m| convert::vote_response_from_pb(&m), |r| convert::vote_response_to_pb(&r));
        }
        3 => {
            let Ok(m) = pb::AppendResponse::decode(raw) else { return };
            stable(m, |m| convert::append_response_from_pb(&m), |r| convert::append_response_to_pb(&r));
        }
        4 => {
            // The first chunk of InstallSnapshot: its vote and meta (`grpc::install_snapshot`).
            let Ok(m) = pb::SnapshotChunk::decode(raw) else { return };
            if let Some(v) = &m.vote {
                stable(*v, |v| convert::vote_from_pb(&v), |v| convert::vote_to_pb(&v));
            }
            if let Some(meta) = m.meta {
                stable(meta, |m| convert::snapshot_meta_from_pb(&m), |m| convert::snapshot_meta_to_pb(&m));
            }
        }
        5 => {
            let Ok(m) = pb::SnapshotResponse::decode(raw) else { return };
            stable(
                m,
                |m| convert::snapshot_response_from_pb(&m),
                |r| pb::SnapshotResponse { vote: Some(convert::vote_to_pb(&r.vote)) },
            );
        }
        6 => {
            let Ok(m) = pb::TransferLeaderRequest::decode(raw) else { return };
            stable(
                m,
                |m| convert::transfer_leader_request_from_pb(&m),
                |r| convert::transfer_leader_request_to_pb(7, &r),
            );
        }
        7 => {
            let Ok(m) = pb::TransferLeaderResponse::decode(raw) else { return };
            stable(
                m,
                |m| convert::transfer_leader_response_from_pb(&m),
                |r| convert::transfer_leader_response_to_pb(&r),
            );
        }
        8 => {
            let Ok(m) = pb::JoinRequest::decode(raw) else { return };
            if let Ok(n) = convert::join_request_from_pb(m) {
                assert!(n.node_id != 0 && n.id40.len() == 40 && u16::try_from(n.resp_port).is_ok());
            }
        }
        9 => {
            // A log entry as the log store reads it, then what apply decodes in it.
            let Ok(e) = convert::decode_entry(raw) else { return };
            let once = convert::encode_entry(&e);
            assert_eq!(convert::encode_entry(&convert::decode_entry(&once).expect("re-decodes")), once);
            if let openraft::EntryPayload::Normal(p) = &e.payload {
                for c in &p.0.commands {
                    if c.kind == pb::command::Kind::ClusterMap as i32 {
                        if let Some(Ok(map)) = c.argv.get(1).map(|raw| convert::cluster_map_from_bytes(raw)) {
                            use_map(&map);
                        }
                    }
                }
            }
        }
        10 => {
            if let Ok(map) = convert::cluster_map_from_bytes(raw) {
                use_map(&map);
            }
        }
        _ => {
            // A region's applied record (`store::sm::decode_applied`, snapshots).
            let Ok(p) = pb::RegionApplied::decode(raw) else { return };
            if let Some(id) = &p.applied {
                stable(*id, |id| convert::log_id_from_pb(&id), |id| convert::log_id_to_pb(&id));
            }
            if let Some(m) = p.membership {
                stable(m, |m| convert::stored_membership_from_pb(&m), |m| convert::stored_membership_to_pb(&m));
            }
            if let Some(map) = p.cluster_map.filter(|m| convert::check_cluster_map(m).is_ok()) {
                use_map(&map);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Runs every input kept for `target`; names the file that fails.
    fn replay(target: &str, check: fn(&[u8])) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions").join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no inputs in {}", dir.display());
        for f in files {
            let data = std::fs::read(&f).expect("read input");
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                panic!("{} fails", f.display());
            }
        }
    }

    #[test]
    fn resp_parser_regressions() {
        replay("resp_parser", |d| super::resp_parser(d, None));
    }

    #[test]
    fn raft_messages_regressions() {
        replay("raft_messages", super::raft_messages);
    }
}
