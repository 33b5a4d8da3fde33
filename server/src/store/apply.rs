//! The write view a state machine gives commands while it applies one log entry.
//!
//! All reads see the writes made earlier in the same entry (an overlay over the DB); all
//! writes go into one WriteBatch together with the per-slot counts and the applied log id,
//! so a crash leaves either the whole entry applied or none of it.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use rocksdb::WriteBatch;

use super::keys::{self, key_slot};
use super::view::{ScanFn, SubCf, View};
use super::{Engine, StoreError, Value};

/// Collections up to this size are cleared member by member when dropped; bigger ones with
/// one range deletion per column family (O(1) now, reclaimed by compaction).
const POINT_CLEAR_MAX: u64 = 32;

pub struct ApplyCtx<'a> {
    engine: &'a Engine,
    batch: WriteBatch,
    /// `metadata` CF key -> value as of the writes made so far in this entry (None = deleted).
    overlay: HashMap<Vec<u8>, Option<Vec<u8>>>,
    /// `metadata` CF values read from the DB during this entry: a command that reads a key
    /// and then writes it (SET reads the old value for its options, `put` for the counts)
    /// looks it up once. Writes go to `overlay`, which is consulted first.
    read_cache: RefCell<HashMap<Vec<u8>, Option<Vec<u8>>>>,
    /// Slot ranges dropped by FLUSHDB/FLUSHALL earlier in this entry.
    dropped: Vec<(u16, u32)>,
    /// Member writes of this entry per `SubCf` (None = deleted), so later commands of the
    /// same entry read them.
    sub_overlay: [BTreeMap<Vec<u8>, Option<Vec<u8>>>; 2],
    /// Per-slot (keys, expires) deltas of this entry.
    deltas: HashMap<u16, (i64, i64)>,
    /// `log_index << 20 | seq`: stamps and collection versions issued by this entry.
    stamp_base: u64,
    stamp_seq: u64,
    /// The leader's clock when it proposed the entry: every expiry decision uses it.
    pub now_ms: u64,
    /// The slots `[from, to)` of the region being applied.
    pub slots: (u16, u32),
}

impl<'a> ApplyCtx<'a> {
    /// `log_index` is the index of the entry being applied: the stamps it issues are unique
    /// per region and identical on every replica.
    pub fn new(engine: &'a Engine, slots: (u16, u32), now_ms: u64, log_index: u64) -> ApplyCtx<'a> {
        ApplyCtx {
            engine,
            batch: WriteBatch::default(),
            overlay: HashMap::new(),
            read_cache: RefCell::new(HashMap::new()),
            dropped: Vec::new(),
            sub_overlay: [BTreeMap::new(), BTreeMap::new()],
            deltas: HashMap::new(),
            stamp_base: log_index << 20,
            stamp_seq: 0,
            now_ms,
            slots,
        }
    }

    /// A stamp no earlier write of this region used: the modification stamp of a key, or the
    /// version of a new collection. (Region split/merge must keep stamps increasing per key.)
    pub fn next_stamp(&mut self) -> u64 {
        self.stamp_seq += 1;
        self.stamp_base | (self.stamp_seq & 0xF_FFFF)
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
        if let Some(v) = self.read_cache.borrow().get(dk) {
            return Ok(v.clone());
        }
        let v = self.engine.db.get_cf(self.engine.cf(keys::CF_METADATA), dk)?;
        self.read_cache.borrow_mut().insert(dk.to_vec(), v.clone());
        Ok(v)
    }

    /// The live value of `key`. A key that has expired at `now_ms` is deleted here, the same
    /// way on every replica, and reported missing.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Value>, StoreError> {
        let slot = key_slot(key);
        let dk = keys::data_key(slot, key);
        let Some(raw) = self.get_raw(&dk, slot)? else { return Ok(None) };
        let v = Value::decode(&raw)?;
        if v.is_expired(self.now_ms) {
            self.remove_raw(dk, slot, &raw)?;
            return Ok(None);
        }
        Ok(Some(v))
    }

    /// Stores `value` under `key` with a new stamp, replacing whatever was there. Replacing a
    /// collection by another value (another type, or a new version) drops its members.
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
        if let Some((dtype, coll)) = old.as_deref().and_then(Value::raw_coll) {
            let same = value.dtype == dtype && value.coll().is_ok_and(|c| c.version == coll.version);
            if !same {
                self.clear_members(slot, key, dtype, coll.version, coll.size)?;
            }
        }
        let enc = value.encode_stamped(self.next_stamp());
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
        self.remove_raw(dk, slot, &raw)?;
        Ok(live)
    }

    fn remove_raw(&mut self, dk: Vec<u8>, slot: u16, raw: &[u8]) -> Result<(), StoreError> {
        let d = self.deltas.entry(slot).or_default();
        d.0 -= 1;
        if Value::raw_expire_ms(raw) != 0 {
            d.1 -= 1;
        }
        if let Some((dtype, coll)) = Value::raw_coll(raw) {
            let key = keys::split_data_key(&dk).1.to_vec();
            self.clear_members(slot, &key, dtype, coll.version, coll.size)?;
        }
        self.batch.delete_cf(self.engine.cf(keys::CF_METADATA), &dk);
        self.overlay.insert(dk, None);
        Ok(())
    }

    /// Deletes every member of a collection version: one by one when it is small, else with
    /// a range deletion per column family.
    fn clear_members(
        &mut self,
        slot: u16,
        key: &[u8],
        dtype: super::DataType,
        version: u64,
        size: u64,
    ) -> Result<(), StoreError> {
        let prefix = keys::coll_prefix(slot, key, version);
        let end = keys::prefix_end(&prefix);
        let mut cfs = vec![SubCf::Subkeys];
        if dtype == super::DataType::ZSet {
            cfs.push(SubCf::ZsetScore);
        }
        for cf in cfs {
            if size <= POINT_CLEAR_MAX {
                let mut doomed = Vec::new();
                self.scan(cf, &prefix, &end, false, &mut |k, _| {
                    doomed.push(k.to_vec());
                    true
                })?;
                for k in doomed {
                    self.del_sub(cf, k);
                }
            } else {
                self.batch.delete_range_cf(self.engine.cf(cf.name()), &prefix, &end);
                let stale: Vec<Vec<u8>> =
                    self.sub_overlay[cf as usize].range(prefix.clone()..end.clone()).map(|(k, _)| k.clone()).collect();
                for k in stale {
                    self.sub_overlay[cf as usize].remove(&k);
                }
            }
        }
        Ok(())
    }

    /// Writes a member (hash field, set member, list element, zset entry).
    pub fn put_sub(&mut self, cf: SubCf, key: Vec<u8>, value: Vec<u8>) {
        self.batch.put_cf(self.engine.cf(cf.name()), &key, &value);
        self.sub_overlay[cf as usize].insert(key, Some(value));
    }

    pub fn del_sub(&mut self, cf: SubCf, key: Vec<u8>) {
        self.batch.delete_cf(self.engine.cf(cf.name()), &key);
        self.sub_overlay[cf as usize].insert(key, None);
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

impl View for ApplyCtx<'_> {
    fn now(&self) -> u64 {
        self.now_ms
    }

    /// Like `get` but read-only: an expired key reads as missing and stays (the entry's writes
    /// or the expiry sweep delete it).
    fn lookup(&self, key: &[u8]) -> Result<Option<Value>, StoreError> {
        let slot = key_slot(key);
        let Some(raw) = self.get_raw(&keys::data_key(slot, key), slot)? else { return Ok(None) };
        let v = Value::decode(&raw)?;
        Ok((!v.is_expired(self.now_ms)).then_some(v))
    }

    fn get_sub(&self, cf: SubCf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.sub_overlay[cf as usize].get(key) {
            return Ok(v.clone());
        }
        Ok(self.engine.db.get_cf(self.engine.cf(cf.name()), key)?)
    }

    /// The DB range merged with this entry's writes (which win on equal keys).
    fn scan(&self, cf: SubCf, lower: &[u8], upper: &[u8], reverse: bool, f: &mut ScanFn) -> Result<(), StoreError> {
        let over = &self.sub_overlay[cf as usize];
        let mut pending: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = over.range(lower.to_vec()..upper.to_vec()).collect();
        if pending.is_empty() {
            return super::read::db_scan(self.engine, rocksdb::ReadOptions::default(), cf, lower, upper, reverse, f);
        }
        if !reverse {
            pending.reverse();
        }
        // `pending` is consumed from its end, in iteration order.
        let mut it = super::read::bounded_iter(self.engine, rocksdb::ReadOptions::default(), cf, lower, upper, reverse);
        loop {
            let db_key = it.key();
            let take_overlay = match (db_key, pending.last()) {
                (None, None) => break,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(d), Some((o, _))) => {
                    let ord = o.as_slice().cmp(d);
                    if ord == std::cmp::Ordering::Equal {
                        // Shadowed by this entry's write.
                        if reverse {
                            it.prev();
                        } else {
                            it.next();
                        }
                        continue;
                    }
                    (ord == std::cmp::Ordering::Less) != reverse
                }
            };
            if take_overlay {
                let (k, v) = pending.pop().expect("checked");
                if let Some(v) = v {
                    if !f(k, v) {
                        break;
                    }
                }
            } else {
                let (k, v) = (it.key().expect("valid"), it.value().expect("valid"));
                if !f(k, v) {
                    break;
                }
                if reverse {
                    it.prev();
                } else {
                    it.next();
                }
            }
        }
        it.status()?;
        Ok(())
    }
}
