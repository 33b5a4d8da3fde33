//! The regions hosted on this node, as the store sees them.
//!
//! - Each region's live range (slots, epoch, frozen flag, stamp offset) is shared by its state
//!   machine, which changes it when it applies a split, freeze or merge, and by the node, which
//!   routes and checks commands by it. The applied record holds the durable copy.
//! - Each region's applied index is published here, so a merge can wait until the source
//!   replica on this node has applied its FREEZE entry.
//! - `LocalRegion` records (`meta` CF, key `d` + region id) say which regions this node hosts:
//!   the node opens every one at start.
//!
//! Invariant: the ranges of the regions hosted on a node never overlap, except a merge source
//! whose record says `merged_into` (its slots belong to the target) until it is dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prost::Message;

use super::{keys, Engine, StoreError};
use crate::raft::pb;

/// A region's slots `[from, to)`, epoch and frozen flag as applied on this node.
#[derive(Default)]
pub struct RegionRange {
    /// `from << 32 | to`.
    bounds: AtomicU64,
    epoch: AtomicU64,
    frozen: AtomicBool,
    stamp_offset: AtomicU64,
    changed_at: AtomicU64,
}

impl RegionRange {
    pub fn slots(&self) -> (u16, u32) {
        let b = self.bounds.load(Ordering::Acquire);
        ((b >> 32) as u16, b as u32)
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub fn frozen(&self) -> bool {
        self.frozen.load(Ordering::Acquire)
    }

    pub fn stamp_offset(&self) -> u64 {
        self.stamp_offset.load(Ordering::Acquire)
    }

    /// The log index of the last split or merge applied (0: none).
    pub fn changed_at(&self) -> u64 {
        self.changed_at.load(Ordering::Acquire)
    }

    /// Whether the region serves `slot` now: in its range and not frozen for a merge.
    pub fn serves(&self, slot: u16) -> bool {
        let (from, to) = self.slots();
        slot >= from && (slot as u32) < to && !self.frozen()
    }

    pub fn set(&self, r: &pb::RegionRange) {
        self.stamp_offset.store(r.stamp_offset, Ordering::Release);
        self.changed_at.store(r.changed_at, Ordering::Release);
        self.frozen.store(r.frozen, Ordering::Release);
        self.epoch.store(r.epoch, Ordering::Release);
        self.bounds.store((r.slot_from as u64) << 32 | r.slot_to as u64, Ordering::Release);
    }

    pub fn to_pb(&self) -> pb::RegionRange {
        let (from, to) = self.slots();
        pb::RegionRange {
            slot_from: from as u32,
            slot_to: to,
            epoch: self.epoch(),
            frozen: self.frozen(),
            stamp_offset: self.stamp_offset(),
            changed_at: self.changed_at(),
        }
    }
}

/// What the node and the state machines share about one local region.
#[derive(Default)]
pub struct Shared {
    pub range: RegionRange,
    applied: AtomicU64,
    applied_changed: tokio::sync::Notify,
}

impl Shared {
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    pub fn set_applied(&self, index: u64) {
        self.applied.store(index, Ordering::Release);
        self.applied_changed.notify_waiters();
    }

    /// Waits until the region has applied `index` (re-checking every second, so a notification
    /// missed between the check and the wait only costs a second).
    pub async fn applied_at_least(&self, index: u64) {
        while self.applied() < index {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), self.applied_changed.notified()).await;
        }
    }
}

/// The local regions' shared state, by region id, and a signal for the node when a state
/// machine created or retired one (a split or merge applied).
#[derive(Default)]
pub struct LocalRegions {
    by_id: Mutex<HashMap<u64, Arc<Shared>>>,
    pub changed: tokio::sync::Notify,
    /// This node's id in the cluster (0 standalone): a split creates the new region's replica
    /// on this node if its replica list names it.
    node_id: AtomicU64,
}

impl LocalRegions {
    pub fn set_node_id(&self, id: u64) {
        self.node_id.store(id, Ordering::Relaxed);
    }

    pub fn node_id(&self) -> u64 {
        self.node_id.load(Ordering::Relaxed)
    }

    /// The shared state of `region`, created on first use.
    pub fn shared(&self, region: u64) -> Arc<Shared> {
        self.by_id.lock().expect("local regions lock").entry(region).or_default().clone()
    }

    pub fn get(&self, region: u64) -> Option<Arc<Shared>> {
        self.by_id.lock().expect("local regions lock").get(&region).cloned()
    }

    pub fn forget(&self, region: u64) {
        self.by_id.lock().expect("local regions lock").remove(&region);
    }
}

/// `meta` CF key of a region's `LocalRegion` record.
pub fn local_key(region: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'd';
    k[1..].copy_from_slice(&region.to_be_bytes());
    k
}

pub fn read(engine: &Engine, region: u64) -> Result<Option<pb::LocalRegion>, StoreError> {
    match engine.db.get_cf(engine.cf(keys::CF_META), local_key(region))? {
        Some(raw) => Ok(Some(pb::LocalRegion::decode(&raw[..]).map_err(|e| StoreError::Corrupt(e.to_string()))?)),
        None => Ok(None),
    }
}

/// Every `LocalRegion` record, by region id.
pub fn read_all(engine: &Engine) -> Result<Vec<pb::LocalRegion>, StoreError> {
    let mut out = Vec::new();
    let mut ro = rocksdb::ReadOptions::default();
    ro.set_iterate_upper_bound(vec![b'e']);
    let mut it = engine.db.raw_iterator_cf_opt(engine.cf(keys::CF_META), ro);
    it.seek([b'd']);
    while let Some(v) = it.value() {
        out.push(pb::LocalRegion::decode(v).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        it.next();
    }
    it.status()?;
    Ok(out)
}

/// Writes a region's record durably (the IO thread syncs the WAL).
pub async fn write(engine: &Engine, rec: &pb::LocalRegion) -> Result<(), StoreError> {
    engine.db.put_cf(engine.cf(keys::CF_META), local_key(rec.region_id), rec.encode_to_vec())?;
    engine.io.sync().await.map_err(|e| StoreError::Sync(e.to_string()))
}

/// Drops everything this node holds of a region it no longer hosts: its log, Raft state,
/// applied and local records, and its data and slot counts in the `data` ranges. Synced
/// before it returns.
pub async fn drop_region(engine: &Engine, region: u64, data: &[(u16, u32)]) -> Result<(), StoreError> {
    let mut b = rocksdb::WriteBatch::default();
    b.delete_range_cf(engine.cf(keys::CF_RAFT_LOG), keys::raft_log_key(region, 0), keys::raft_log_key(region + 1, 0));
    let state = engine.cf(keys::CF_RAFT_STATE);
    for which in [keys::RaftStateKey::Vote, keys::RaftStateKey::Committed, keys::RaftStateKey::Purged] {
        b.delete_cf(state, keys::raft_state_key(region, which));
    }
    let meta = engine.cf(keys::CF_META);
    b.delete_cf(meta, keys::region_applied_key(region));
    b.delete_cf(meta, local_key(region));
    for &(from, to) in data {
        let (s, e) = (keys::slot_range_start(from), keys::slot_range_end(to));
        for cf in [keys::CF_METADATA, keys::CF_SUBKEYS, keys::CF_ZSET_SCORE] {
            b.delete_range_cf(engine.cf(cf), &s, &e);
        }
        let (cs, ce) = keys::slot_count_range(from, to);
        b.delete_range_cf(meta, cs, ce);
    }
    engine.db.write(b)?;
    for &(from, to) in data {
        for s in from as u32..to {
            engine.counts.set(s as u16, 0, 0);
        }
    }
    engine.local.forget(region);
    engine.io.sync().await.map_err(|e| StoreError::Sync(e.to_string()))
}
