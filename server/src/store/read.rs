//! The read view commands use after a linearizable read barrier: the local DB at "now".
//!
//! Expired keys read as missing (passive expiry); deleting them is left to writes and to the
//! active expiry task, both of which go through Raft.

use super::keys::{self, key_slot};
use super::view::{ScanFn, SubCf, View};
use super::{Engine, StoreError, Value};

pub struct ReadCtx<'a> {
    engine: &'a Engine,
    /// Set for multi-key reads and collections: every part of the reply is read from the same
    /// point in time.
    snapshot: Option<rocksdb::SnapshotWithThreadMode<'a, rocksdb::DB>>,
    pub now_ms: u64,
}

impl<'a> ReadCtx<'a> {
    pub fn new(engine: &'a Engine, now_ms: u64, consistent: bool) -> ReadCtx<'a> {
        let snapshot = consistent.then(|| engine.db.snapshot());
        ReadCtx { engine, snapshot, now_ms }
    }

    fn opts(&self) -> rocksdb::ReadOptions {
        let mut ro = rocksdb::ReadOptions::default();
        if let Some(snap) = &self.snapshot {
            ro.set_snapshot(snap);
        }
        ro
    }

    /// The live value of `key`, or None if it is missing or expired.
    pub fn get(&self, key: &[u8]) -> Result<Option<Value>, StoreError> {
        let dk = keys::data_key(key_slot(key), key);
        let cf = self.engine.cf(keys::CF_METADATA);
        let raw = match &self.snapshot {
            Some(_) => self.engine.db.get_pinned_cf_opt(cf, &dk, &self.opts())?,
            None => self.engine.db.get_pinned_cf(cf, &dk)?,
        };
        let Some(raw) = raw else { return Ok(None) };
        if Value::raw_expire_ms(&raw) != 0 && Value::raw_expire_ms(&raw) <= self.now_ms {
            return Ok(None);
        }
        Ok(Some(Value::decode(&raw)?))
    }
}

impl View for ReadCtx<'_> {
    fn now(&self) -> u64 {
        self.now_ms
    }

    fn lookup(&self, key: &[u8]) -> Result<Option<Value>, StoreError> {
        self.get(key)
    }

    fn get_sub(&self, cf: SubCf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.engine.db.get_cf_opt(self.engine.cf(cf.name()), key, &self.opts())?)
    }

    fn scan(&self, cf: SubCf, lower: &[u8], upper: &[u8], reverse: bool, f: &mut ScanFn) -> Result<(), StoreError> {
        db_scan(self.engine, self.opts(), cf, lower, upper, reverse, f)
    }
}

/// A raw iterator over `[lower, upper)` of `cf`, positioned at its first key (its last when
/// `reverse`).
pub(super) fn bounded_iter<'e>(
    engine: &'e Engine,
    mut ro: rocksdb::ReadOptions,
    cf: SubCf,
    lower: &[u8],
    upper: &[u8],
    reverse: bool,
) -> rocksdb::DBRawIteratorWithThreadMode<'e, rocksdb::DB> {
    ro.set_iterate_lower_bound(lower.to_vec());
    ro.set_iterate_upper_bound(upper.to_vec());
    let mut it = engine.db.raw_iterator_cf_opt(engine.cf(cf.name()), ro);
    if reverse {
        it.seek_to_last();
    } else {
        it.seek_to_first();
    }
    it
}

/// A bounded RocksDB iteration over `[lower, upper)`.
pub(super) fn db_scan(
    engine: &Engine,
    ro: rocksdb::ReadOptions,
    cf: SubCf,
    lower: &[u8],
    upper: &[u8],
    reverse: bool,
    f: &mut ScanFn,
) -> Result<(), StoreError> {
    let mut it = bounded_iter(engine, ro, cf, lower, upper, reverse);
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        if !f(k, v) {
            break;
        }
        if reverse {
            it.prev();
        } else {
            it.next();
        }
    }
    it.status()?;
    Ok(())
}
