//! The state machine of one region: applies committed entries to RocksDB.
//!
//! Invariant: an entry's data, the new per-slot counts and the region's applied log id are
//! written in ONE WriteBatch. The state in RocksDB is itself the snapshot: building one records
//! the applied log id.

use std::io;
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
}

fn ioerr(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// Column families holding region data, in snapshot order.
const DATA_CFS: [&str; 3] = [keys::CF_METADATA, keys::CF_SUBKEYS, keys::CF_ZSET_SCORE];

impl StateMachine {
    pub fn open(engine: Arc<Engine>, region: u64, slots: (u16, u32)) -> io::Result<StateMachine> {
        let raw = engine.db.get_cf(engine.cf(keys::CF_META), keys::region_applied_key(region)).map_err(ioerr)?;
        let (applied, membership) = match raw {
            None => (None, StoredMembership::default()),
            Some(raw) => {
                let p = pb::RegionApplied::decode(raw.as_slice()).map_err(ioerr)?;
                let applied = p.applied.as_ref().map(convert::log_id_from_pb).transpose()?;
                let m = match &p.membership {
                    Some(m) => convert::stored_membership_from_pb(m)?,
                    None => StoredMembership::default(),
                };
                (applied, m)
            }
        };
        Ok(StateMachine { region, slots, engine, applied, membership })
    }

    fn applied_record(&self) -> Vec<u8> {
        pb::RegionApplied {
            applied: self.applied.as_ref().map(convert::log_id_to_pb),
            membership: Some(convert::stored_membership_to_pb(&self.membership)),
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

/// Records the applied state as the snapshot point: the data is already in RocksDB.
pub struct SnapshotBuilder {
    meta: SnapshotMeta,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    type SnapshotData = pb::SnapshotData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
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
        SnapshotBuilder { meta: SnapshotMeta { last_log_id: self.applied, last_membership: self.membership.clone() } }
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
        for kv in &snapshot.pairs {
            let cf = match kv.cf {
                0..=2 => DATA_CFS[kv.cf as usize],
                3 => keys::CF_META,
                _ => return Err(ioerr("snapshot: unknown column family")),
            };
            b.put_cf(self.engine.cf(cf), &kv.key, &kv.value);
            if kv.cf == 3 && kv.key.len() == 3 && kv.value.len() == 16 {
                let slot = u16::from_be_bytes([kv.key[1], kv.key[2]]);
                let k = u64::from_be_bytes(kv.value[..8].try_into().unwrap());
                let e = u64::from_be_bytes(kv.value[8..].try_into().unwrap());
                counts.push((slot, k, e));
            }
        }
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        b.put_cf(self.engine.cf(keys::CF_META), keys::region_applied_key(self.region), self.applied_record());
        self.engine.db.write(b).map_err(ioerr)?;
        for s in self.slots.0 as u32..self.slots.1 {
            self.engine.counts.set(s as u16, 0, 0);
        }
        for (slot, k, e) in counts {
            self.engine.counts.set(slot, k, e);
        }
        self.engine.io.sync().await
    }

    /// The state machine is durable in RocksDB, so no snapshot copy is kept: after a restart
    /// openraft rebuilds the snapshot point from the applied state (cheap, see the builder).
    /// Sending a region to another replica streams its key ranges from a RocksDB snapshot in
    /// the cluster transport; a standalone region has no one to send to.
    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        Ok(None)
    }
}
