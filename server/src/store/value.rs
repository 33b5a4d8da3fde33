//! The `metadata` CF value of a user key: its type, expiry and (for strings) its bytes.
//!
//! Layout: `type u8 | expire_ms u64 BE (0 = none) | body`. For strings the body is the value;
//! collections (later) put `version u64 | size u64 | ...` there, their members in `subkeys`.

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

const HEADER: usize = 9;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub dtype: DataType,
    /// Absolute unix ms; 0 = no expiry.
    pub expire_ms: u64,
    pub body: Bytes,
}

impl Value {
    pub fn string(body: Bytes, expire_ms: u64) -> Value {
        Value { dtype: DataType::String, expire_ms, body }
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_ms != 0 && self.expire_ms <= now_ms
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER + self.body.len());
        v.push(self.dtype as u8);
        v.extend_from_slice(&self.expire_ms.to_be_bytes());
        v.extend_from_slice(&self.body);
        v
    }

    pub fn decode(raw: &[u8]) -> Result<Value, StoreError> {
        if raw.len() < HEADER {
            return Err(StoreError::Corrupt("short metadata value".into()));
        }
        let dtype = DataType::from_u8(raw[0]).ok_or_else(|| StoreError::Corrupt(format!("type {}", raw[0])))?;
        let expire_ms = u64::from_be_bytes(raw[1..9].try_into().expect("8 bytes"));
        Ok(Value { dtype, expire_ms, body: Bytes::copy_from_slice(&raw[HEADER..]) })
    }

    /// Expiry of an encoded value without decoding the body.
    pub fn raw_expire_ms(raw: &[u8]) -> u64 {
        if raw.len() < HEADER {
            return 0;
        }
        u64::from_be_bytes(raw[1..9].try_into().expect("8 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let v = Value::string(Bytes::from_static(b"hello"), 1234);
        let raw = v.encode();
        assert_eq!(Value::decode(&raw).unwrap(), v);
        assert_eq!(Value::raw_expire_ms(&raw), 1234);
        assert!(v.is_expired(1234));
        assert!(!v.is_expired(1233));
        assert!(!Value::string(Bytes::new(), 0).is_expired(u64::MAX));
        assert!(Value::decode(&[9, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(Value::decode(&[0]).is_err());
    }
}
