//! `View`: what read commands see. Implemented by `ReadCtx` (the DB after a read barrier) and
//! by `ApplyCtx` (the DB plus the writes made so far in the entry being applied), so the same
//! read handler answers a plain read and a read queued in MULTI.

use super::keys;
use super::{StoreError, Value};

/// The member column families of collections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubCf {
    /// Hash fields, set members, list elements, zset member -> score.
    Subkeys = 0,
    /// Sorted-set score index: `prefix | score | member` -> exact score.
    ZsetScore = 1,
}

impl SubCf {
    pub fn name(self) -> &'static str {
        match self {
            SubCf::Subkeys => keys::CF_SUBKEYS,
            SubCf::ZsetScore => keys::CF_ZSET_SCORE,
        }
    }
}

/// Scan callback: gets each `(key, value)`; returns false to stop.
pub type ScanFn<'f> = dyn FnMut(&[u8], &[u8]) -> bool + 'f;

pub trait View {
    /// The clock every expiry decision of this command uses.
    fn now(&self) -> u64;
    /// The live value of `key`: None when missing or expired at `now()`.
    fn lookup(&self, key: &[u8]) -> Result<Option<Value>, StoreError>;
    fn get_sub(&self, cf: SubCf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Visits the keys in `[lower, upper)` in order (descending when `reverse`) until `f`
    /// returns false. Nothing is collected: memory stays bounded for any collection size.
    fn scan(&self, cf: SubCf, lower: &[u8], upper: &[u8], reverse: bool, f: &mut ScanFn) -> Result<(), StoreError>;
}
