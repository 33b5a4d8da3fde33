//! The state machine of one region: applies committed entries to RocksDB.
//!
//! Invariant: an entry's data, the new per-slot counts and the region's applied log id are
//! written in ONE WriteBatch, so any RocksDB snapshot holds a region state together with the
//! log id it is at.
//!
//! Snapshots: the state in RocksDB is durable, so openraft's snapshot (built every
//! `snapshot_policy` entries, after which the log before it may be purged) only records the
//! applied point, which keeps it cheap for a standalone node that never sends one. The region's
//! data is read only when openraft asks for the current snapshot to send it to a replica behind
//! the purged log: see `get_current_snapshot`.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use prost::Message;
use rocksdb::WriteBatch;

use super::apply::ApplyCtx;
use super::keys::{self, key_slot};
use super::local::Shared;
use super::view::View;
use super::Engine;
use crate::cmd::table::{self, Handler};
use crate::error::CmdError;
use crate::raft::convert;
use crate::raft::{pb, LogId, SnapshotMeta, StoredMembership, TypeConfig};
use crate::resp::Reply;

pub type Snapshot =
    openraft::Snapshot<openraft::impls::leader_id_adv::LeaderId<u64, u64>, u64, openraft::BasicNode, pb::SnapshotData>;

pub struct StateMachine {
    region: u64,
    /// The region's live range (slots, epoch, frozen, stamp offset) and applied index, shared
    /// with the node (see local.rs); the applied record holds the durable copy.
    shared: Arc<Shared>,
    engine: Arc<Engine>,
    applied: Option<LogId>,
    membership: StoredMembership,
    /// A snapshot point was built or installed by this process (see `get_current_snapshot`).
    has_snapshot: Arc<AtomicBool>,
    /// The node asked to lead this region (0: none). Set by PREFER_LEADER entries and kept in
    /// the applied record, so the leader balancer on whichever replica leads honours it.
    preferred: Arc<AtomicU64>,
    /// The meta group's cluster map as applied (None: none yet, or not the meta group). Kept in
    /// the applied record, so it is durable with the entry that set it and travels in snapshots.
    map: MapCell,
}

/// Puts an entry's apply adds to its WriteBatch besides the data: (CF, key, value).
type Extra = (&'static str, Vec<u8>, Vec<u8>);

/// The applied cluster map, watched by the node (see cluster.rs).
pub type MapCell = Arc<tokio::sync::watch::Sender<Option<Arc<pb::ClusterMap>>>>;

fn ioerr(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// Column families holding region data, in snapshot order.
const DATA_CFS: [&str; 3] = [keys::CF_METADATA, keys::CF_SUBKEYS, keys::CF_ZSET_SCORE];

impl StateMachine {
    /// Opens the state machine of `region`. `slots` is its range when its applied record has
    /// none yet (a new region, or a record written before regions could change).
    pub fn open(engine: Arc<Engine>, region: u64, slots: (u16, u32)) -> io::Result<StateMachine> {
        let raw = engine.db.get_cf(engine.cf(keys::CF_META), keys::region_applied_key(region)).map_err(ioerr)?;
        let (applied, membership) = decode_applied(raw.as_deref())?;
        let default_range =
            pb::RegionRange { slot_from: slots.0 as u32, slot_to: slots.1, epoch: 1, ..Default::default() };
        let (preferred, map, range) = match raw.as_deref() {
            Some(raw) => {
                let p = pb::RegionApplied::decode(raw).map_err(ioerr)?;
                (p.preferred_leader, p.cluster_map.map(Arc::new), p.range.unwrap_or(default_range))
            }
            None => (0, None, default_range),
        };
        check_range(&range)?;
        let shared = engine.local.shared(region);
        shared.range.set(&range);
        shared.set_applied(applied.map_or(0, |l| l.index));
        Ok(StateMachine {
            region,
            shared,
            engine,
            applied,
            membership,
            has_snapshot: Arc::default(),
            preferred: Arc::new(AtomicU64::new(preferred)),
            map: Arc::new(tokio::sync::watch::Sender::new(map)),
        })
    }

    fn slots(&self) -> (u16, u32) {
        self.shared.range.slots()
    }

    /// The applied cluster map (meta group), shared with the region handle.
    pub fn cluster_map(&self) -> MapCell {
        self.map.clone()
    }

    /// CLUSTER_MAP: replaces the map when its version is still `argv[0]`.
    fn apply_map(&self, argv: &[Bytes]) -> Reply {
        let [expected, raw] = argv else { return CmdError::Syntax.to_reply() };
        let Some(expected) = std::str::from_utf8(expected).ok().and_then(|s| s.parse::<u64>().ok()) else {
            return CmdError::Syntax.to_reply();
        };
        let mut map = match convert::cluster_map_from_bytes(raw) {
            Ok(map) => map,
            Err(e) => return CmdError::Other(format!("ERR rejected cluster map: {e}")).to_reply(),
        };
        let current = self.map.borrow().as_ref().map_or(0, |m| m.version);
        if current != expected {
            return CmdError::Other(format!("ERR cluster map is at version {current}, not {expected}")).to_reply();
        }
        map.version = expected + 1;
        // Written with this entry's applied record (see `applied_record`).
        self.map.send_replace(Some(Arc::new(map)));
        Reply::OK
    }

    /// The region's preferred leader as applied (0: none), shared with the region handle.
    pub fn preferred_leader(&self) -> Arc<AtomicU64> {
        self.preferred.clone()
    }

    fn applied_record(&self) -> Vec<u8> {
        pb::RegionApplied {
            applied: self.applied.as_ref().map(convert::log_id_to_pb),
            membership: Some(convert::stored_membership_to_pb(&self.membership)),
            preferred_leader: self.preferred.load(Ordering::Relaxed),
            cluster_map: self.map.borrow().as_deref().cloned(),
            range: Some(self.shared.range.to_pb()),
        }
        .encode_to_vec()
    }

    /// Runs the commands of one entry; returns one reply per command. Lifecycle commands add
    /// the records they write to `extra`.
    fn apply_batch(&self, ctx: &mut ApplyCtx, wb: &pb::WriteBatch, index: u64, extra: &mut Vec<Extra>) -> Vec<Reply> {
        let mut replies = Vec::with_capacity(wb.commands.len());
        let mut skip = 0usize;
        let mut skipped = Reply::Nil;
        for (i, c) in wb.commands.iter().enumerate() {
            let argv: &[Bytes] = &c.argv;
            if skip > 0 {
                // A transaction whose WATCH check failed, or refused: its commands do not run.
                skip -= 1;
                replies.push(skipped.clone());
                continue;
            }
            let client = c.kind == pb::command::Kind::Client as i32;
            if client && !self.serves_keys(argv) {
                replies.push(moved_away());
                continue;
            }
            let reply = if c.kind == pb::command::Kind::ExpireSweep as i32 {
                for k in argv.iter().filter(|k| self.shared.range.serves(key_slot(k))) {
                    // Reading an expired key in apply deletes it.
                    if let Err(e) = ctx.get(k) {
                        tracing::error!("expire sweep: {e}");
                    }
                }
                Reply::OK
            } else if c.kind == pb::command::Kind::PreferLeader as i32 {
                let id = argv.first().and_then(|a| std::str::from_utf8(a).ok()?.parse::<u64>().ok());
                match id {
                    Some(id) => {
                        // Written with this entry's applied record (see `applied_record`).
                        self.preferred.store(id, Ordering::Relaxed);
                        Reply::OK
                    }
                    None => CmdError::Syntax.to_reply(),
                }
            } else if c.kind == pb::command::Kind::ClusterMap as i32 {
                self.apply_map(argv)
            } else if c.kind == pb::command::Kind::Split as i32 {
                self.apply_split(index, argv, extra)
            } else if c.kind == pb::command::Kind::Freeze as i32 {
                self.apply_freeze(index, argv)
            } else if c.kind == pb::command::Kind::Merge as i32 {
                self.apply_merge(index, argv, extra)
            } else if c.kind == pb::command::Kind::Exec as i32 {
                let n = argv.first().and_then(|a| std::str::from_utf8(a).ok()?.parse::<usize>().ok()).unwrap_or(0);
                let block = wb.commands.iter().skip(i + 1).take(n);
                let watched = argv[1..].iter().step_by(2);
                let serves_watched = watched.clone().all(|k| self.shared.range.serves(key_slot(k)));
                if !serves_watched || !block.clone().all(|c| self.serves_keys(&c.argv)) {
                    // Keys this region no longer serves (split or merged away since the
                    // transaction was routed): none of it runs, and the client may retry.
                    (skip, skipped) = (n, moved_away());
                    moved_away()
                } else {
                    match watch_check(ctx, argv) {
                        Ok((_, true)) => Reply::OK,
                        Ok((n, false)) => {
                            (skip, skipped) = (n, Reply::Nil);
                            Reply::NilArray
                        }
                        Err(e) => e.to_reply(),
                    }
                }
            } else {
                match argv.first().and_then(|n| table::lookup(n)) {
                    // Arity is checked again: handlers index argv, and a log entry is input too.
                    Some(spec) if !spec.arity_ok(argv.len()) => CmdError::WrongArity(spec.name.into()).to_reply(),
                    Some(spec) => match spec.handler {
                        Handler::Write { apply, .. } => apply(ctx, argv).unwrap_or_else(|e| e.to_reply()),
                        // Reads queued in MULTI run here, seeing the transaction's writes.
                        Handler::Read(read) => read(&*ctx, argv).unwrap_or_else(|e| e.to_reply()),
                        Handler::Conn(_) | Handler::Txn(_) => {
                            CmdError::Other(format!("ERR '{}' cannot run in a log entry", spec.name)).to_reply()
                        }
                    },
                    None => {
                        CmdError::unknown_command(argv.first().map(|b| &b[..]).unwrap_or(b""), &argv[1..]).to_reply()
                    }
                }
            };
            replies.push(reply);
        }
        replies
    }

    /// Before a MERGE applies, the source replica on this node must have applied its FREEZE
    /// entry: then the source's data here is final, the same as on every other replica.
    async fn wait_for_merge_sources(&self, wb: &pb::WriteBatch) {
        for c in wb.commands.iter().filter(|c| c.kind == pb::command::Kind::Merge as i32) {
            let (Some(m), Ok(_)) = (MergeArgs::parse(&c.argv), self.epoch_check(&c.argv)) else { continue };
            // The source replica is here (the operation co-locates the replicas first) or is
            // being reopened after a restart: wait for it rather than take slots without data.
            let started = std::time::Instant::now();
            let mut warned = std::time::Instant::now();
            loop {
                let done = match self.engine.local.get(m.source) {
                    Some(source) => {
                        tokio::time::timeout(std::time::Duration::from_secs(1), source.applied_at_least(m.frozen))
                            .await
                            .is_ok()
                    }
                    // Not hosted here at all: nothing to wait for (logged by the apply).
                    None if super::local::read(&self.engine, m.source).ok().flatten().is_none() => true,
                    // Recorded but not open yet (the node is starting): it opens meanwhile.
                    None => {
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        false
                    }
                };
                if done {
                    break;
                }
                if warned.elapsed() >= std::time::Duration::from_secs(10) {
                    warned = std::time::Instant::now();
                    tracing::warn!(
                        "region {}: waiting {:?} for region {} to apply index {} here before merging it",
                        self.region,
                        started.elapsed(),
                        m.source,
                        m.frozen
                    );
                }
            }
        }
    }

    /// Whether every key of a client command is in the slots this region serves now. A command
    /// routed here before a split, merge or freeze took its slots is refused in apply, the same
    /// way on every replica, so it has no effect anywhere and the client may retry it.
    fn serves_keys(&self, argv: &[Bytes]) -> bool {
        let range = &self.shared.range;
        if !range.frozen() && range.slots() == (0, keys::SLOTS as u32) {
            return true;
        }
        if range.frozen() {
            return false;
        }
        match argv.first().and_then(|n| table::lookup(n)) {
            // `keys_of`, not the fixed positions: LMPOP, ZUNIONSTORE, ... name their keys
            // through a count.
            Some(spec) if spec.arity_ok(argv.len()) => {
                spec.keys_of(argv).into_iter().all(|i| argv.get(i).is_none_or(|k| range.serves(key_slot(k))))
            }
            // Refused below with its own error, touching nothing.
            _ => true,
        }
    }

    fn epoch_check(&self, argv: &[Bytes]) -> Result<pb::RegionRange, Reply> {
        let epoch = argv.first().and_then(|a| parse_u64(a)).ok_or_else(|| CmdError::Syntax.to_reply())?;
        let r = self.shared.range.to_pb();
        if r.epoch != epoch {
            return Err(
                CmdError::Other(format!("ERR region {} is at epoch {}, not {epoch}", self.region, r.epoch)).to_reply()
            );
        }
        Ok(r)
    }

    /// SPLIT: the slots from `at` on become region `new`, whose data stays where it is. When
    /// this node hosts one of the new region's replicas, the new group's state is written with
    /// this entry: its range, and a log purged through index 0 whose membership is the one the
    /// command carries (identical on every replica), so the group's log never replays history
    /// and any replica added later starts from a snapshot. The node then opens it.
    fn apply_split(&self, index: u64, argv: &[Bytes], extra: &mut Vec<Extra>) -> Reply {
        let r = match self.epoch_check(argv) {
            Ok(r) => r,
            Err(reply) => return reply,
        };
        let [_, at, new_id, rec, membership] = argv else { return CmdError::Syntax.to_reply() };
        let (Some(at), Some(new_id)) = (parse_u64(at), parse_u64(new_id)) else { return CmdError::Syntax.to_reply() };
        let (Ok(rec), Ok(membership)) = (pb::LocalRegion::decode(&rec[..]), pb::Membership::decode(&membership[..]))
        else {
            return CmdError::Syntax.to_reply();
        };
        if convert::membership_from_pb(&membership).is_err() {
            return CmdError::Syntax.to_reply();
        }
        if r.frozen || at <= r.slot_from as u64 || at >= r.slot_to as u64 || new_id == self.region {
            return CmdError::Other(format!("ERR cannot split region {} at slot {at}", self.region)).to_reply();
        }
        let at = at as u32;
        let child = pb::RegionRange {
            slot_from: at,
            slot_to: r.slot_to,
            epoch: r.epoch + 1,
            frozen: false,
            // Above every stamp the parent issued so far: stamps keep growing per key.
            stamp_offset: r.stamp_offset + index + 1,
            changed_at: 0,
        };
        let me = self.engine.local.node_id();
        // A replica of the parent replaying this entry (moved away and back) on a node that
        // already hosts the new region must not reset it.
        let hosted = super::local::read(&self.engine, new_id).ok().flatten().is_some();
        match rec.initial.iter().find(|x| x.node_id == me).filter(|_| !hosted) {
            Some(mine) => {
                let purged = pb::LogId { leader: Some(pb::LeaderId { term: 0, node_id: 0 }), index: 0 };
                let stored = pb::StoredMembership { log_id: Some(purged), membership: Some(membership) };
                let applied = pb::RegionApplied {
                    applied: Some(purged),
                    membership: Some(stored),
                    range: Some(child),
                    ..Default::default()
                };
                extra.push((keys::CF_META, keys::region_applied_key(new_id).to_vec(), applied.encode_to_vec()));
                let purged_key = keys::raft_state_key(new_id, keys::RaftStateKey::Purged).to_vec();
                extra.push((keys::CF_RAFT_STATE, purged_key, purged.encode_to_vec()));
                let local = pb::LocalRegion { region_id: new_id, replica_id: mine.replica_id, ..Default::default() };
                extra.push((keys::CF_META, super::local::local_key(new_id).to_vec(), local.encode_to_vec()));
                self.engine.local.shared(new_id).range.set(&child);
            }
            None if hosted => {}
            None => tracing::warn!("region {}: split off region {new_id} with no replica on this node", self.region),
        }
        self.shared.range.set(&pb::RegionRange { slot_to: at, epoch: r.epoch + 1, changed_at: index, ..r });
        tracing::info!("region {}: split at slot {at}: slots {at}-{} are region {new_id}", self.region, r.slot_to - 1);
        Reply::OK
    }

    /// FREEZE: from this entry on the region refuses reads and writes (a merge source); the
    /// reply is the entry's index, the point every replica must reach before the merge.
    fn apply_freeze(&self, index: u64, argv: &[Bytes]) -> Reply {
        let r = match self.epoch_check(argv) {
            Ok(r) => r,
            Err(reply) => return reply,
        };
        if !r.frozen {
            self.shared.range.set(&pb::RegionRange { frozen: true, ..r });
            tracing::info!("region {}: frozen for a merge at index {index}", self.region);
        }
        Reply::Int(index as i64)
    }

    /// MERGE: takes the adjacent source region's slots (its data is already here: the source
    /// replica on this node has applied its FREEZE entry, see `apply`), and marks the source's
    /// local record merged so the node drops it.
    fn apply_merge(&self, index: u64, argv: &[Bytes], extra: &mut Vec<Extra>) -> Reply {
        let r = match self.epoch_check(argv) {
            Ok(r) => r,
            Err(reply) => return reply,
        };
        let Some(m) = MergeArgs::parse(argv) else { return CmdError::Syntax.to_reply() };
        if r.frozen || !(m.to == r.slot_from || m.from == r.slot_to) || m.from >= m.to {
            let msg = format!("ERR region {} cannot take slots {}-{}", self.region, m.from, m.to.saturating_sub(1));
            return CmdError::Other(msg).to_reply();
        }
        let source = self.engine.local.get(m.source);
        // The command decides, the same on every replica; the local source is only compared.
        if let Some(src) = &source {
            let (from, to) = src.range.slots();
            if (from as u32, to) != (m.from, m.to) || !src.range.frozen() {
                tracing::error!(
                    "region {}: merging region {} whose replica here has slots {from}..{to} (frozen: {}), not {}..{}",
                    self.region,
                    m.source,
                    src.range.frozen(),
                    m.from,
                    m.to
                );
            }
        }
        let merged = pb::RegionRange {
            slot_from: r.slot_from.min(m.from),
            slot_to: r.slot_to.max(m.to),
            epoch: r.epoch.max(m.epoch) + 1,
            frozen: false,
            // Above every stamp either region issued (the source's offset comes with the
            // command: the same on every replica).
            stamp_offset: r.stamp_offset.max((m.stamp_offset + m.frozen + 1).saturating_sub(index)),
            changed_at: index,
        };
        match super::local::read(&self.engine, m.source) {
            Ok(Some(mut rec)) => {
                rec.merged_into = self.region;
                extra.push((keys::CF_META, super::local::local_key(m.source).to_vec(), rec.encode_to_vec()));
            }
            Ok(None) => tracing::error!("region {}: merging region {} that is not hosted here", self.region, m.source),
            // The reply must not depend on this node: the merge applies; the source replica is
            // dropped later as a frozen region another one here covers.
            Err(e) => tracing::error!("region {}: reading region {}'s record: {e}", self.region, m.source),
        }
        if let Some(s) = source {
            s.range.set(&pb::RegionRange { frozen: true, ..s.range.to_pb() });
        }
        self.shared.range.set(&merged);
        tracing::info!("region {}: took region {}'s slots {}-{}", self.region, m.source, m.from, m.to - 1);
        Reply::OK
    }

    fn write(&self, batch: WriteBatch, counts: Vec<(u16, u64, u64)>) -> io::Result<()> {
        self.engine.db.write(batch).map_err(ioerr)?;
        for (slot, k, e) in counts {
            self.engine.counts.set(slot, k, e);
        }
        Ok(())
    }
}

/// A region's applied log id and membership from its `region_applied` record.
fn decode_applied(raw: Option<&[u8]>) -> io::Result<(Option<LogId>, StoredMembership)> {
    let Some(raw) = raw else { return Ok((None, StoredMembership::default())) };
    let p = pb::RegionApplied::decode(raw).map_err(ioerr)?;
    let applied = p.applied.as_ref().map(convert::log_id_from_pb).transpose()?;
    let m = match &p.membership {
        Some(m) => convert::stored_membership_from_pb(m)?,
        None => StoredMembership::default(),
    };
    Ok((applied, m))
}

fn parse_u64(b: &[u8]) -> Option<u64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// What a client is told about a command refused in apply because its slots left the region.
fn moved_away() -> Reply {
    CmdError::TryAgain("Region changed (split, merge or move), try again".into()).to_reply()
}

/// A stored range a node could not route by is corrupt.
fn check_range(r: &pb::RegionRange) -> io::Result<()> {
    if r.slot_from > r.slot_to || r.slot_to as usize > keys::SLOTS {
        return Err(ioerr(format!("bad region range {}..{}", r.slot_from, r.slot_to)));
    }
    Ok(())
}

/// MERGE's arguments: [epoch, source, source epoch, source frozen index, from, to, source
/// stamp offset].
struct MergeArgs {
    source: u64,
    epoch: u64,
    frozen: u64,
    from: u32,
    to: u32,
    stamp_offset: u64,
}

impl MergeArgs {
    fn parse(argv: &[Bytes]) -> Option<MergeArgs> {
        let [_, source, epoch, frozen, from, to, stamp_offset] = argv else { return None };
        let (from, to) = (parse_u64(from)?, parse_u64(to)?);
        if to > keys::SLOTS as u64 {
            return None;
        }
        Some(MergeArgs {
            source: parse_u64(source)?,
            epoch: parse_u64(epoch)?,
            frozen: parse_u64(frozen)?,
            from: from as u32,
            to: to as u32,
            stamp_offset: parse_u64(stamp_offset)?,
        })
    }
}

/// `pb::KeyValue::cf` of the slot-count records (`meta` CF); `0..CF_COUNTS` index `DATA_CFS`.
const CF_COUNTS: u32 = DATA_CFS.len() as u32;

/// The region's whole state as one snapshot: its applied record, its key ranges in the data CFs
/// and its slot-count records, all read from ONE RocksDB snapshot, so the data is exactly the
/// state at `meta.last_log_id`. The pairs are in the order and format `install_snapshot` reads.
///
/// Held in memory: fine for regions up to a few hundred MB (the sender holds it while it
/// streams, the receiver until it is installed); bigger regions need a file-based snapshot
/// (RocksDB checkpoint / SST ingestion) instead.
pub fn read_region(engine: &Engine, region: u64, slots: (u16, u32)) -> io::Result<Snapshot> {
    let snap = engine.db.snapshot();
    let meta_cf = engine.cf(keys::CF_META);
    let raw = snap.get_cf(meta_cf, keys::region_applied_key(region)).map_err(ioerr)?;
    let (last_log_id, last_membership) = decode_applied(raw.as_deref())?;
    // The range as of the same RocksDB snapshot (a split or merge may have applied since the
    // caller looked).
    let slots = match raw.as_deref().map(pb::RegionApplied::decode).transpose().map_err(ioerr)?.and_then(|p| p.range) {
        Some(r) => (r.slot_from as u16, r.slot_to),
        None => slots,
    };
    let mut pairs = Vec::new();
    let mut scan = |cf: u32, name: &str, start: Vec<u8>, end: Vec<u8>| -> io::Result<()> {
        let mut ro = rocksdb::ReadOptions::default();
        ro.fill_cache(false);
        ro.set_iterate_upper_bound(end);
        let mut it = snap.raw_iterator_cf_opt(engine.cf(name), ro);
        it.seek(&start);
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            pairs.push(pb::KeyValue { cf, key: Bytes::copy_from_slice(k), value: Bytes::copy_from_slice(v) });
            it.next();
        }
        it.status().map_err(ioerr)
    };
    for (i, name) in DATA_CFS.iter().enumerate() {
        scan(i as u32, name, keys::slot_range_start(slots.0), keys::slot_range_end(slots.1))?;
    }
    let (cs, ce) = keys::slot_count_range(slots.0, slots.1);
    scan(CF_COUNTS, keys::CF_META, cs, ce)?;
    // The applied record too: it carries what the region state holds besides data (the
    // preferred leader, the meta group's cluster map); `install_snapshot` takes that from it.
    if let Some(raw) = raw {
        let key = Bytes::copy_from_slice(&keys::region_applied_key(region));
        pairs.push(pb::KeyValue { cf: CF_COUNTS, key, value: Bytes::from(raw) });
    }
    Ok(Snapshot { meta: SnapshotMeta { last_log_id, last_membership }, snapshot: pb::SnapshotData { pairs } })
}

/// EXEC's WATCH check: `(n, true)` when every watched key still has its recorded stamp.
fn watch_check(ctx: &ApplyCtx, argv: &[Bytes]) -> Result<(usize, bool), CmdError> {
    let num = |b: &Bytes| std::str::from_utf8(b).ok().and_then(|s| s.parse::<u64>().ok());
    let n = argv.first().and_then(num).ok_or(CmdError::Syntax)? as usize;
    let mut ok = true;
    for pair in argv[1..].chunks(2) {
        let [key, stamp] = pair else { return Err(CmdError::Syntax) };
        let want = num(stamp).ok_or(CmdError::Syntax)?;
        let now = ctx.lookup(key)?.map(|v| v.stamp).unwrap_or(0);
        ok &= now == want;
    }
    Ok((n, ok))
}

/// Records the applied state as the snapshot point, without data: the data is already durable
/// in RocksDB, and reading it every `snapshot_policy` entries would cost a standalone node a full
/// scan of its regions for nothing. `get_current_snapshot` reads it when a snapshot is sent.
pub struct SnapshotBuilder {
    meta: SnapshotMeta,
    has_snapshot: Arc<AtomicBool>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    type SnapshotData = pb::SnapshotData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        self.has_snapshot.store(true, Ordering::Release);
        Ok(Snapshot { meta: self.meta.clone(), snapshot: pb::SnapshotData::default() })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = pb::SnapshotData;
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let engine = self.engine.clone();
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            let started = std::time::Instant::now();
            let log_id = entry.log_id;
            let mut extra: Vec<Extra> = Vec::new();
            let offset = self.shared.range.stamp_offset();
            let (replies, ctx) = match &entry.payload {
                EntryPayload::Normal(p) => {
                    self.wait_for_merge_sources(&p.0).await;
                    let mut ctx = ApplyCtx::new(&engine, self.slots(), p.0.now_ms, offset + log_id.index);
                    let replies = self.apply_batch(&mut ctx, &p.0, log_id.index, &mut extra);
                    (replies, ctx)
                }
                EntryPayload::Membership(m) => {
                    self.membership = StoredMembership::new(Some(log_id), m.clone());
                    (Vec::new(), ApplyCtx::new(&engine, self.slots(), 0, offset + log_id.index))
                }
                EntryPayload::Blank => (Vec::new(), ApplyCtx::new(&engine, self.slots(), 0, offset + log_id.index)),
            };
            let previous = self.applied.replace(log_id);
            let record = self.applied_record();
            let key = keys::region_applied_key(self.region);
            let mut puts: Vec<(&str, &[u8], &[u8])> = vec![(keys::CF_META, &key, &record)];
            puts.extend(extra.iter().map(|(cf, k, v)| (*cf, &k[..], &v[..])));
            let (batch, counts) = ctx.finish(&puts);
            if let Err(e) = self.write(batch, counts) {
                self.applied = previous;
                return Err(e);
            }
            self.shared.set_applied(log_id.index);
            if !extra.is_empty() {
                // A region was created or merged away: the node opens or drops replicas.
                self.engine.local.changed.notify_one();
            }
            let stats = &self.engine.io.stats;
            stats.applied_entries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            stats.apply_usec.fetch_add(started.elapsed().as_micros() as u64, std::sync::atomic::Ordering::Relaxed);
            if let Some(r) = responder {
                r.send(replies);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            meta: SnapshotMeta { last_log_id: self.applied, last_membership: self.membership.clone() },
            has_snapshot: self.has_snapshot.clone(),
        }
    }

    /// Replaces the region's state with the snapshot's: its data, counts and range (which may
    /// differ from this replica's after a split or merge it did not apply: both ranges are
    /// cleared). A replica whose slots a merge already gave to another region here only takes
    /// the snapshot's log position: the data belongs to that region now.
    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: pb::SnapshotData) -> Result<(), io::Error> {
        let mut b = WriteBatch::default();
        let applied_key = keys::region_applied_key(self.region);
        let mut record = None;
        for kv in snapshot.pairs.iter().filter(|kv| kv.cf == CF_COUNTS && kv.key[..] == applied_key[..]) {
            record = Some(pb::RegionApplied::decode(&kv.value[..]).map_err(ioerr)?);
        }
        let old = self.shared.range.to_pb();
        let new = record.as_ref().and_then(|p| p.range).unwrap_or(old);
        check_range(&new)?;
        let merged_away =
            super::local::read(&self.engine, self.region).map_err(ioerr)?.is_some_and(|l| l.merged_into != 0);
        let ranges = if merged_away {
            vec![]
        } else {
            vec![(old.slot_from as u16, old.slot_to), (new.slot_from as u16, new.slot_to)]
        };
        for &(from, to) in &ranges {
            let (s, e) = (keys::slot_range_start(from), keys::slot_range_end(to));
            for cf in DATA_CFS {
                b.delete_range_cf(self.engine.cf(cf), &s, &e);
            }
            let (cs, ce) = keys::slot_count_range(from, to);
            b.delete_range_cf(self.engine.cf(keys::CF_META), &cs, &ce);
        }
        let mut counts = Vec::new();
        for kv in snapshot.pairs.iter().filter(|_| !merged_away) {
            if kv.cf == CF_COUNTS && kv.key[..] == applied_key[..] {
                // Written below from `meta` and the region state besides data it carries.
                continue;
            }
            let cf = match kv.cf {
                0..=2 => DATA_CFS[kv.cf as usize],
                CF_COUNTS => keys::CF_META,
                _ => return Err(ioerr("snapshot: unknown column family")),
            };
            b.put_cf(self.engine.cf(cf), &kv.key, &kv.value);
            if kv.cf == CF_COUNTS && kv.key.len() == 3 && kv.value.len() == 16 {
                let slot = u16::from_be_bytes([kv.key[1], kv.key[2]]);
                if (slot as u32) < new.slot_from || slot as u32 >= new.slot_to {
                    return Err(ioerr(format!("snapshot: count record of slot {slot} outside the region")));
                }
                let k = u64::from_be_bytes(kv.value[..8].try_into().unwrap());
                let e = u64::from_be_bytes(kv.value[8..].try_into().unwrap());
                counts.push((slot, k, e));
            }
        }
        let preferred = record.as_ref().map_or(0, |p| p.preferred_leader);
        let map = match record.and_then(|p| p.cluster_map) {
            Some(m) => {
                convert::check_cluster_map(&m)?;
                Some(Arc::new(m))
            }
            None => None,
        };
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.preferred.store(preferred, Ordering::Relaxed);
        self.map.send_replace(map);
        if !merged_away {
            self.shared.range.set(&new);
        }
        b.put_cf(self.engine.cf(keys::CF_META), keys::region_applied_key(self.region), self.applied_record());
        self.engine.db.write(b).map_err(ioerr)?;
        for &(from, to) in &ranges {
            for s in from as u32..to {
                self.engine.counts.set(s as u16, 0, 0);
            }
        }
        for (slot, k, e) in counts {
            self.engine.counts.set(slot, k, e);
        }
        self.engine.io.sync().await?;
        self.shared.set_applied(self.applied.map_or(0, |l| l.index));
        self.has_snapshot.store(true, Ordering::Release);
        self.engine.io.stats.snapshots_installed.fetch_add(1, Ordering::Relaxed);
        if old.slot_from != new.slot_from || old.slot_to != new.slot_to {
            // The node may now create a replica the old range overlapped.
            self.engine.local.changed.notify_one();
        }
        Ok(())
    }

    /// The region's data at the current applied point, read from one RocksDB snapshot; openraft
    /// asks for it to send it to a replica that needs log entries already purged.
    ///
    /// - The snapshot is at or after the point last built (apply has moved on since): openraft
    ///   takes the follower to the meta of the snapshot it sent, so that is sound, and the data
    ///   always matches its meta because both come from the same RocksDB snapshot.
    /// - None until this process built or installed a snapshot point: openraft calls this twice
    ///   at start-up, where there is nothing to restore (the state is durable), and a full read
    ///   there would slow every start.
    ///   Logs are only purged after a snapshot point exists, and when a restarted node finds its
    ///   log purged, openraft rebuilds the point with the builder, so a sender always has one.
    /// - The read runs on a blocking thread, but the state machine worker waits for it: applying
    ///   pauses for the length of the read (the price of the in-memory `pb::SnapshotData`).
    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        if !self.has_snapshot.load(Ordering::Acquire) {
            return Ok(None);
        }
        let (engine, region, slots) = (self.engine.clone(), self.region, self.slots());
        let snapshot =
            tokio::task::spawn_blocking(move || read_region(&engine, region, slots)).await.map_err(ioerr)??;
        Ok(Some(snapshot))
    }
}
