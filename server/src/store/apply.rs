//! The write view a state machine gives commands while it applies one log entry.
//!
//! All reads see the writes made earlier in the same entry (an overlay over the DB); all
//! writes go into one WriteBatch together with the per-slot counts and the applied log id,
//! so a crash leaves either the whole entry applied or none of it.

use std::collections::HashMap;

use rocksdb::WriteBatch;

use super::keys::{self, key_slot};
use super::{Engine, StoreError, Value};

pub struct ApplyCtx<'a> {
    engine: &'a Engine,
    batch: WriteBatch,
    /// `metadata` CF key -> value as of the writes made so far in this entry (None = deleted).
    overlay: HashMap<Vec<u8>, Option<Vec<u8>>>,
    /// Slot ranges dropped by FLUSHDB/FLUSHALL earlier in this entry.
    dropped: Vec<(u16, u32)>,
    /// Per-slot (keys, expires) deltas of this entry.
    deltas: HashMap<u16, (i64, i64)>,
    /// The leader's clock when it proposed the entry: every expiry decision uses it.
    pub now_ms: u64,
    /// The slots `[from, to)` of the region being applied.
    pub slots: (u16, u32),
}

impl<'a> ApplyCtx<'a> {
    pub fn new(engine: &'a Engine, slots: (u16, u32), now_ms: u64) -> ApplyCtx<'a> {
        ApplyCtx {
            engine,
            batch: WriteBatch::default(),
            overlay: HashMap::new(),
            dropped: Vec::new(),
            deltas: HashMap::new(),
            now_ms,
            slots,
        }
    }

    fn is_dropped(&self, slot: u16) -> bool {
        self.dropped.iter().any(|&(f, t)| slot >= f && (slot as u32) < t)
    }

    fn get_raw(&self, dk: &[u8], slot: u16) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.overlay.get(dk) {
            return Ok(v.clone());
        }
        if self.is_dropped(slot) {
            return Ok(None);
        }
        Ok(self.engine.db.get_cf(self.engine.cf(keys::CF_METADATA), dk)?)
    }

    /// The live value of `key`. A key that has expired at `now_ms` is deleted here, the same
    /// way on every replica, and reported missing.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Value>, StoreError> {
        let slot = key_slot(key);
        let dk = keys::data_key(slot, key);
        let Some(raw) = self.get_raw(&dk, slot)? else { return Ok(None) };
        let v = Value::decode(&raw)?;
        if v.is_expired(self.now_ms) {
            self.remove_raw(dk, slot, &raw);
            return Ok(None);
        }
        Ok(Some(v))
    }

    /// Stores `value` under `key`, replacing whatever was there.
    pub fn put(&mut self, key: &[u8], value: &Value) -> Result<(), StoreError> {
        let slot = key_slot(key);
        let dk = keys::data_key(slot, key);
        let old = self.get_raw(&dk, slot)?;
        let d = self.deltas.entry(slot).or_default();
        match &old {
            None => d.0 += 1,
            Some(raw) if Value::raw_expire_ms(raw) != 0 => d.1 -= 1,
            Some(_) => {}
        }
        if value.expire_ms != 0 {
            d.1 += 1;
        }
        let enc = value.encode();
        self.batch.put_cf(self.engine.cf(keys::CF_METADATA), &dk, &enc);
        self.overlay.insert(dk, Some(enc));
        Ok(())
    }

    /// Deletes `key`; returns whether a live (unexpired) key was deleted.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool, StoreError> {
        let slot = key_slot(key);
        let dk = keys::data_key(slot, key);
        let Some(raw) = self.get_raw(&dk, slot)? else { return Ok(false) };
        let live = Value::raw_expire_ms(&raw) == 0 || Value::raw_expire_ms(&raw) > self.now_ms;
        self.remove_raw(dk, slot, &raw);
        Ok(live)
    }

    fn remove_raw(&mut self, dk: Vec<u8>, slot: u16, raw: &[u8]) {
        let d = self.deltas.entry(slot).or_default();
        d.0 -= 1;
        if Value::raw_expire_ms(raw) != 0 {
            d.1 -= 1;
        }
        self.batch.delete_cf(self.engine.cf(keys::CF_METADATA), &dk);
        self.overlay.insert(dk, None);
    }

    /// Drops every key of slots `[from, to)` with range deletions: O(1) in the number of keys.
    pub fn drop_slots(&mut self, from: u16, to: u32) {
        let (s, e) = (keys::slot_range_start(from), keys::slot_range_end(to));
        for cf in [keys::CF_METADATA, keys::CF_SUBKEYS, keys::CF_ZSET_SCORE] {
            self.batch.delete_range_cf(self.engine.cf(cf), &s, &e);
        }
        let (cs, ce) = keys::slot_count_range(from, to);
        self.batch.delete_range_cf(self.engine.cf(keys::CF_META), cs, ce);
        self.overlay.retain(|k, _| {
            let (slot, _) = keys::split_data_key(k);
            !(slot >= from && (slot as u32) < to)
        });
        self.deltas.retain(|&slot, _| !(slot >= from && (slot as u32) < to));
        self.dropped.push((from, to));
    }

    /// Finishes the entry: adds the new slot counts and `extra` puts (the applied state) to the
    /// batch. Returns the batch and the counts to publish once it is written.
    pub fn finish(mut self, extra: &[(&str, &[u8], &[u8])]) -> (WriteBatch, Vec<(u16, u64, u64)>) {
        let mut published = Vec::new();
        for &(from, to) in &self.dropped {
            for s in from as u32..to {
                if self.engine.counts.get(s as u16) != (0, 0) {
                    published.push((s as u16, 0, 0));
                }
            }
        }
        let meta = self.engine.cf(keys::CF_META);
        for (&slot, &(dk, de)) in &self.deltas {
            let (k0, e0) = if self.is_dropped(slot) { (0, 0) } else { self.engine.counts.get(slot) };
            let k = (k0 as i64 + dk).max(0) as u64;
            let e = (e0 as i64 + de).max(0) as u64;
            if k == 0 && e == 0 {
                self.batch.delete_cf(meta, keys::slot_count_key(slot));
            } else {
                self.batch.put_cf(meta, keys::slot_count_key(slot), super::encode_counts(k, e));
            }
            published.retain(|p| p.0 != slot);
            published.push((slot, k, e));
        }
        for (cf, k, v) in extra {
            self.batch.put_cf(self.engine.cf(cf), k, v);
        }
        (self.batch, published)
    }
}
