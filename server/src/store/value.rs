//! The `metadata` CF value of a user key: its type, expiry, last-modification stamp and body.
//!
//! Layout: `type u8 | expire_ms u64 BE (0 = none) | stamp u64 BE | body`.
//! - `stamp` is the apply position of the key's last modification (see `ApplyCtx::next_stamp`):
//!   every write rewrites the metadata with a new stamp, so WATCH compares one number.
//! - Strings: the body is the value.
//! - Collections: `version u64 | size u64` (+ `head u64 | tail u64` for lists). `version` is
//!   the stamp of the write that created the collection; every member lives in `subkeys`
//!   (and `zset_score`) under `(slot, key, version)`, so dropping the metadata orphans them.

use bytes::Bytes;

use super::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum DataType {
    String = 0,
    Hash = 1,
    Set = 2,
    List = 3,
    ZSet = 4,
}

impl DataType {
    pub fn name(self) -> &'static str {
        match self {
            DataType::String => "string",
            DataType::Hash => "hash",
            DataType::Set => "set",
            DataType::List => "list",
            DataType::ZSet => "zset",
        }
    }

    fn from_u8(b: u8) -> Option<DataType> {
        Some(match b {
            0 => DataType::String,
            1 => DataType::Hash,
            2 => DataType::Set,
            3 => DataType::List,
            4 => DataType::ZSet,
            _ => return None,
        })
    }
}

const HEADER: usize = 17;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub dtype: DataType,
    /// Absolute unix ms; 0 = no expiry.
    pub expire_ms: u64,
    /// Set by `ApplyCtx::put`; what the key had when read.
    pub stamp: u64,
    pub body: Bytes,
}

/// The header of a collection's metadata body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coll {
    pub version: u64,
    pub size: u64,
    /// Lists: elements live at indexes `[head, tail)`.
    pub head: u64,
    pub tail: u64,
}

/// A new list starts in the middle of the index space so it can grow both ways.
pub const LIST_MID: u64 = 1 << 63;

impl Coll {
    pub fn new(version: u64) -> Coll {
        Coll { version, size: 0, head: LIST_MID, tail: LIST_MID }
    }

    pub fn encode(&self, dtype: DataType) -> Bytes {
        let mut v = Vec::with_capacity(32);
        v.extend_from_slice(&self.version.to_be_bytes());
        v.extend_from_slice(&self.size.to_be_bytes());
        if dtype == DataType::List {
            v.extend_from_slice(&self.head.to_be_bytes());
            v.extend_from_slice(&self.tail.to_be_bytes());
        }
        Bytes::from(v)
    }

    pub fn decode(body: &[u8]) -> Result<Coll, StoreError> {
        let u = |i: usize| -> Result<u64, StoreError> {
            body.get(i * 8..i * 8 + 8)
                .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
                .ok_or_else(|| StoreError::Corrupt("short collection metadata".into()))
        };
        let (version, size) = (u(0)?, u(1)?);
        let (head, tail) = if body.len() >= 32 { (u(2)?, u(3)?) } else { (LIST_MID, LIST_MID) };
        Ok(Coll { version, size, head, tail })
    }
}

impl Value {
    pub fn string(body: Bytes, expire_ms: u64) -> Value {
        Value { dtype: DataType::String, expire_ms, stamp: 0, body }
    }

    pub fn collection(dtype: DataType, coll: &Coll, expire_ms: u64) -> Value {
        Value { dtype, expire_ms, stamp: 0, body: coll.encode(dtype) }
    }

    pub fn coll(&self) -> Result<Coll, StoreError> {
        Coll::decode(&self.body)
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_ms != 0 && self.expire_ms <= now_ms
    }

    #[cfg(test)]
    pub fn encode(&self) -> Vec<u8> {
        self.encode_stamped(self.stamp)
    }

    /// The encoding with `stamp` in place of `self.stamp` (what a write stores).
    pub fn encode_stamped(&self, stamp: u64) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER + self.body.len());
        v.push(self.dtype as u8);
        v.extend_from_slice(&self.expire_ms.to_be_bytes());
        v.extend_from_slice(&stamp.to_be_bytes());
        v.extend_from_slice(&self.body);
        v
    }

    pub fn decode(raw: &[u8]) -> Result<Value, StoreError> {
        if raw.len() < HEADER {
            return Err(StoreError::Corrupt("short metadata value".into()));
        }
        let dtype = DataType::from_u8(raw[0]).ok_or_else(|| StoreError::Corrupt(format!("type {}", raw[0])))?;
        let expire_ms = u64::from_be_bytes(raw[1..9].try_into().expect("8 bytes"));
        let stamp = u64::from_be_bytes(raw[9..17].try_into().expect("8 bytes"));
        Ok(Value { dtype, expire_ms, stamp, body: Bytes::copy_from_slice(&raw[HEADER..]) })
    }

    /// Expiry of an encoded value without decoding the body.
    pub fn raw_expire_ms(raw: &[u8]) -> u64 {
        if raw.len() < HEADER {
            return 0;
        }
        u64::from_be_bytes(raw[1..9].try_into().expect("8 bytes"))
    }

    /// Type and collection header of an encoded value, when it is a collection.
    pub fn raw_coll(raw: &[u8]) -> Option<(DataType, Coll)> {
        let dtype = DataType::from_u8(*raw.first()?)?;
        if dtype == DataType::String || raw.len() < HEADER {
            return None;
        }
        Some((dtype, Coll::decode(&raw[HEADER..]).ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let mut v = Value::string(Bytes::from_static(b"hello"), 1234);
        v.stamp = 77;
        let raw = v.encode();
        assert_eq!(Value::decode(&raw).unwrap(), v);
        assert_eq!(Value::raw_expire_ms(&raw), 1234);
        assert!(v.is_expired(1234));
        assert!(!v.is_expired(1233));
        assert!(!Value::string(Bytes::new(), 0).is_expired(u64::MAX));
        assert!(Value::decode(&[9; 17]).is_err());
        assert!(Value::decode(&[0]).is_err());
        assert!(Value::raw_coll(&raw).is_none());
    }

    #[test]
    fn collection_headers() {
        let c = Coll { version: 5, size: 3, head: LIST_MID - 1, tail: LIST_MID + 2 };
        let list = Value::collection(DataType::List, &c, 0);
        assert_eq!(list.coll().unwrap(), c);
        assert_eq!(Value::raw_coll(&list.encode()), Some((DataType::List, c)));
        let hash = Value::collection(DataType::Hash, &c, 9);
        let back = hash.coll().unwrap();
        assert_eq!((back.version, back.size), (5, 3));
        assert!(Coll::decode(&[0; 8]).is_err());
    }
}
