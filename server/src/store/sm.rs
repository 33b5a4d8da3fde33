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
use super::keys;
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
    /// Slots `[from, to)` this region owns.
    slots: (u16, u32),
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

/// The applied cluster map, watched by the node (see cluster.rs).
pub type MapCell = Arc<tokio::sync::watch::Sender<Option<Arc<pb::ClusterMap>>>>;

fn ioerr(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// Column families holding region data, in snapshot order.
const DATA_CFS: [&str; 3] = [keys::CF_METADATA, keys::CF_SUBKEYS, keys::CF_ZSET_SCORE];

impl StateMachine {
    pub fn open(engine: Arc<Engine>, region: u64, slots: (u16, u32)) -> io::Result<StateMachine> {
        let raw = engine.db.get_cf(engine.cf(keys::CF_META), keys::region_applied_key(region)).map_err(ioerr)?;
        let (applied, membership) = decode_applied(raw.as_deref())?;
        let (preferred, map) = match raw.as_deref() {
            Some(raw) => {
                let p = pb::RegionApplied::decode(raw).map_err(ioerr)?;
                (p.preferred_leader, p.cluster_map.map(Arc::new))
            }
            None => (0, None),
        };
        Ok(StateMachine {
            region,
            slots,
            engine,
            applied,
            membership,
            has_snapshot: Arc::default(),
            preferred: Arc::new(AtomicU64::new(preferred)),
            map: Arc::new(tokio::sync::watch::Sender::new(map)),
        })
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
        }
        .encode_to_vec()
    }

    /// Runs the commands of one entry; returns one reply per command.
    fn apply_batch(&self, ctx: &mut ApplyCtx, wb: &pb::WriteBatch) -> Vec<Reply> {
        let mut replies = Vec::with_capacity(wb.commands.len());
        let mut skip = 0usize;
        for c in &wb.commands {
            let argv: &[Bytes] = &c.argv;
            if skip > 0 {
                // A transaction whose WATCH check failed: its commands do not run.
                skip -= 1;
                replies.push(Reply::Nil);
                continue;
            }
            let reply = if c.kind == pb::command::Kind::ExpireSweep as i32 {
                for k in argv {
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
            } else if c.kind == pb::command::Kind::Exec as i32 {
                match watch_check(ctx, argv) {
                    Ok((_, true)) => Reply::OK,
                    Ok((n, false)) => {
                        skip = n;
                        Reply::NilArray
                    }
                    Err(e) => e.to_reply(),
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
            let (replies, ctx) = match &entry.payload {
                EntryPayload::Normal(p) => {
                    let mut ctx = ApplyCtx::new(&engine, self.slots, p.0.now_ms, log_id.index);
                    let replies = self.apply_batch(&mut ctx, &p.0);
                    (replies, ctx)
                }
                EntryPayload::Membership(m) => {
                    self.membership = StoredMembership::new(Some(log_id), m.clone());
                    (Vec::new(), ApplyCtx::new(&engine, self.slots, 0, log_id.index))
                }
                EntryPayload::Blank => (Vec::new(), ApplyCtx::new(&engine, self.slots, 0, log_id.index)),
            };
            let previous = self.applied.replace(log_id);
            let record = self.applied_record();
            let key = keys::region_applied_key(self.region);
            let (batch, counts) = ctx.finish(&[(keys::CF_META, &key, &record)]);
            if let Err(e) = self.write(batch, counts) {
                self.applied = previous;
                return Err(e);
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

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: pb::SnapshotData) -> Result<(), io::Error> {
        let mut b = WriteBatch::default();
        let (s, e) = (keys::slot_range_start(self.slots.0), keys::slot_range_end(self.slots.1));
        for cf in DATA_CFS {
            b.delete_range_cf(self.engine.cf(cf), &s, &e);
        }
        let (cs, ce) = keys::slot_count_range(self.slots.0, self.slots.1);
        b.delete_range_cf(self.engine.cf(keys::CF_META), &cs, &ce);
        let mut counts = Vec::new();
        let applied_key = keys::region_applied_key(self.region);
        let mut preferred = 0;
        let mut map = None;
        for kv in &snapshot.pairs {
            if kv.cf == CF_COUNTS && kv.key[..] == applied_key[..] {
                // Written below from `meta` and the region state besides data it carries.
                let p = pb::RegionApplied::decode(&kv.value[..]).map_err(ioerr)?;
                preferred = p.preferred_leader;
                if let Some(m) = &p.cluster_map {
                    convert::check_cluster_map(m)?;
                }
                map = p.cluster_map.map(Arc::new);
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
                if slot < self.slots.0 || slot as u32 >= self.slots.1 {
                    return Err(ioerr(format!("snapshot: count record of slot {slot} outside the region")));
                }
                let k = u64::from_be_bytes(kv.value[..8].try_into().unwrap());
                let e = u64::from_be_bytes(kv.value[8..].try_into().unwrap());
                counts.push((slot, k, e));
            }
        }
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.preferred.store(preferred, Ordering::Relaxed);
        self.map.send_replace(map);
        b.put_cf(self.engine.cf(keys::CF_META), keys::region_applied_key(self.region), self.applied_record());
        self.engine.db.write(b).map_err(ioerr)?;
        for s in self.slots.0 as u32..self.slots.1 {
            self.engine.counts.set(s as u16, 0, 0);
        }
        for (slot, k, e) in counts {
            self.engine.counts.set(slot, k, e);
        }
        self.engine.io.sync().await?;
        self.has_snapshot.store(true, Ordering::Release);
        self.engine.io.stats.snapshots_installed.fetch_add(1, Ordering::Relaxed);
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
        let (engine, region, slots) = (self.engine.clone(), self.region, self.slots);
        let snapshot =
            tokio::task::spawn_blocking(move || read_region(&engine, region, slots)).await.map_err(ioerr)??;
        Ok(Some(snapshot))
    }
}
