//! The read view commands use after a linearizable read barrier: the local DB at "now".
//!
//! Expired keys read as missing (passive expiry); deleting them is left to writes and to the
//! active expiry task, both of which go through Raft.

use super::keys::{self, key_slot};
use super::{Engine, StoreError, Value};

pub struct ReadCtx<'a> {
    engine: &'a Engine,
    /// Set for multi-key reads: every key is read from the same point in time.
    snapshot: Option<rocksdb::SnapshotWithThreadMode<'a, rocksdb::DB>>,
    pub now_ms: u64,
}

impl<'a> ReadCtx<'a> {
    pub fn new(engine: &'a Engine, now_ms: u64, consistent: bool) -> ReadCtx<'a> {
        let snapshot = consistent.then(|| engine.db.snapshot());
        ReadCtx { engine, snapshot, now_ms }
    }

    /// The live value of `key`, or None if it is missing or expired.
    pub fn get(&self, key: &[u8]) -> Result<Option<Value>, StoreError> {
        let dk = keys::data_key(key_slot(key), key);
        let cf = self.engine.cf(keys::CF_METADATA);
        let raw = match &self.snapshot {
            Some(snap) => {
                let mut ro = rocksdb::ReadOptions::default();
                ro.set_snapshot(snap);
                self.engine.db.get_pinned_cf_opt(cf, &dk, &ro)?
            }
            None => self.engine.db.get_pinned_cf(cf, &dk)?,
        };
        let Some(raw) = raw else { return Ok(None) };
        if Value::raw_expire_ms(&raw) != 0 && Value::raw_expire_ms(&raw) <= self.now_ms {
            return Ok(None);
        }
        Ok(Some(Value::decode(&raw)?))
    }
}
