//! Active expiry: on each region's leader, a task walks the region's keys a slice at a time
//! and proposes the deletion of the expired ones through Raft. The proposal only names keys;
//! apply deletes each one that is expired at the entry's time, so a key rewritten meanwhile
//! survives and every replica deletes the same keys.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openraft::async_runtime::watch::WatchReceiver;
use rocksdb::ReadOptions;
use tokio::sync::watch;

use crate::net::connection::now_ms;
use crate::node::Node;
use crate::raft::{pb, Region};
use crate::store::keys;
use crate::store::Value;

/// Keys examined per step, and expired keys proposed per entry at most.
const SCAN_PER_STEP: usize = 2000;
const MAX_KEYS_PER_ENTRY: usize = 500;

/// Starts the expiry cycle of every region the node serves now (standalone: all, for good).
pub fn spawn(node: Arc<Node>, shutdown: watch::Receiver<bool>) {
    for region in node.regions() {
        spawn_region(node.clone(), region, shutdown.clone());
    }
}

/// Starts the expiry cycle of one region; it ends when the node stops serving the region.
pub fn spawn_region(node: Arc<Node>, region: Arc<Region>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let interval = Duration::from_millis(node.config.active_expire_interval_ms.max(1));
        let mut cursor: Vec<u8> = keys::slot_range_start(region.slots().0);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            // A closed region (moved away, merged): its Raft has stopped.
            if region.raft.metrics().borrow_watched().running_state.is_err() {
                return;
            }
            if !region.raft.is_leader() {
                continue;
            }
            let (from, to) = region.slots();
            let (_, expires) = region.engine.counts.total(from, to);
            if expires == 0 {
                continue;
            }
            // Keep sweeping without sleeping while full batches of expired keys turn up, as
            // long as this node leads and proposals succeed.
            while region.raft.is_leader() && !*stop.borrow() {
                let r = region.clone();
                let from = std::mem::take(&mut cursor);
                let scan = tokio::task::spawn_blocking(move || scan_expired(&r, from)).await;
                let Ok((expired, next)) = scan else { break };
                cursor = next;
                let full = expired.len() >= MAX_KEYS_PER_ENTRY;
                if !expired.is_empty() {
                    let n = expired.len() as u64;
                    let sweep = pb::Command { kind: pb::command::Kind::ExpireSweep as i32, argv: expired };
                    match region.propose(vec![sweep]).await {
                        Ok(_) => {
                            node.stats.expired_keys.fetch_add(n, Ordering::Relaxed);
                        }
                        Err(e) => {
                            // Back off until the next tick (leader change, storage error).
                            tracing::debug!("active expiry: {e}");
                            break;
                        }
                    }
                }
                if !full {
                    break;
                }
            }
        }
    });
}

/// Reads up to SCAN_PER_STEP keys from `from`; returns the expired ones and where to resume
/// (wrapping to the region's start at its end).
fn scan_expired(region: &Region, from: Vec<u8>) -> (Vec<Bytes>, Vec<u8>) {
    let engine = &region.engine;
    let now = now_ms();
    let mut ro = ReadOptions::default();
    let (start, end) = region.slots();
    ro.set_iterate_upper_bound(keys::slot_range_end(end));
    // A background scan must not evict the working set from the block cache.
    ro.fill_cache(false);
    // The raw iterator lends key and value without copying: only the 8 expiry bytes are read.
    let mut it = engine.db.raw_iterator_cf_opt(engine.cf(keys::CF_METADATA), ro);
    // The range may have changed (split, merge) since the cursor was taken.
    let start = keys::slot_range_start(start);
    it.seek(if from < start { &start } else { &from });
    let mut expired = Vec::new();
    let mut seen = 0;
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        seen += 1;
        let exp = Value::raw_expire_ms(v);
        if exp != 0 && exp <= now {
            expired.push(Bytes::copy_from_slice(keys::split_data_key(k).1));
        }
        if seen >= SCAN_PER_STEP || expired.len() >= MAX_KEYS_PER_ENTRY {
            let mut next = k.to_vec();
            next.push(0);
            return (expired, next);
        }
        it.next();
    }
    (expired, start)
}
