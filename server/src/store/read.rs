//! The read view commands use after a linearizable read barrier: the local DB at "now".
//!
//! Expired keys read as missing (passive expiry); deleting them is left to writes and to the
//! active expiry task, both of which go through Raft.

use super::keys::{self, key_slot};
use super::{Engine, StoreError, Value};

pub struct ReadCtx<'a> {
    engine: &'a Engine,
    pub now_ms: u64,
}

impl<'a> ReadCtx<'a> {
    pub fn new(engine: &'a Engine, now_ms: u64) -> ReadCtx<'a> {
        ReadCtx { engine, now_ms }
    }

    /// The live value of `key`, or None if it is missing or expired.
    pub fn get(&self, key: &[u8]) -> Result<Option<Value>, StoreError> {
        let dk = keys::data_key(key_slot(key), key);
        let Some(raw) = self.engine.db.get_pinned_cf(self.engine.cf(keys::CF_METADATA), &dk)? else {
            return Ok(None);
        };
        if Value::raw_expire_ms(&raw) != 0 && Value::raw_expire_ms(&raw) <= self.now_ms {
            return Ok(None);
        }
        Ok(Some(Value::decode(&raw)?))
    }
}
