//! Key encodings for every column family, as pure functions.
//!
//! Invariants (tested below):
//! - Data keys start with the 2-byte big-endian slot, so a slot range is one contiguous key range
//!   in each data CF (split, snapshot and drop of a region are range operations).
//! - Raft log keys are `(region_id BE, index BE)`, so one region's log is contiguous and ordered
//!   by index.

/// Column families. `default` exists because RocksDB requires it; nothing is stored there.
pub const CF_RAFT_LOG: &str = "raft_log";
pub const CF_RAFT_STATE: &str = "raft_state";
pub const CF_META: &str = "meta";
pub const CF_METADATA: &str = "metadata";
pub const CF_SUBKEYS: &str = "subkeys";
pub const CF_ZSET_SCORE: &str = "zset_score";
pub const ALL_CFS: [&str; 6] = [CF_RAFT_LOG, CF_RAFT_STATE, CF_META, CF_METADATA, CF_SUBKEYS, CF_ZSET_SCORE];

pub const SLOTS: usize = 16384;

/// `meta` CF: on-disk format version of the whole store.
pub const FORMAT_VERSION_KEY: &[u8] = b"format_version";
/// 2: metadata carries a modification stamp; collections in `subkeys` / `zset_score`.
pub const FORMAT_VERSION: u32 = 2;
/// `meta` CF: how many regions split the slot space (fixed when the store is created).
pub const REGION_COUNT_KEY: &[u8] = b"region_count";
/// `meta` CF: present in the store of a cluster node (regions come from the cluster map).
/// Named `meta` keys must not start with `a` or `c`: those prefix the applied records and the
/// slot counts (tested below).
pub const CLUSTER_STORE_KEY: &[u8] = b"meta_group";

/// `metadata` CF key of a user key: `slot BE | key`.
pub fn data_key(slot: u16, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + key.len());
    k.extend_from_slice(&slot.to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// The user key and slot of a `metadata` CF key.
pub fn split_data_key(k: &[u8]) -> (u16, &[u8]) {
    (u16::from_be_bytes([k[0], k[1]]), &k[2..])
}

/// Start of a slot range `[from, to)` in a data CF (`to` may be 16384).
pub fn slot_range_start(from: u16) -> Vec<u8> {
    from.to_be_bytes().to_vec()
}

/// Exclusive end of the data of slots `< to`: the 2-byte prefix of slot `to`, or, for the last
/// slot, a key above every data key.
pub fn slot_range_end(to: u32) -> Vec<u8> {
    if to as usize >= SLOTS {
        vec![0xff, 0xff, 0xff]
    } else {
        (to as u16).to_be_bytes().to_vec()
    }
}

/// `subkeys` / `zset_score` prefix of one collection: `slot BE | keylen u32 BE | key | version
/// u64 BE`. The slot comes first (region ranges); the length keeps key `a` apart from key `ab`;
/// the version makes a re-created key a fresh namespace.
pub fn coll_prefix(slot: u16, key: &[u8], version: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(14 + key.len() + 16);
    k.extend_from_slice(&slot.to_be_bytes());
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// Exclusive upper bound of every key under `prefix` (a `coll_prefix`): the next version.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    let n = k.len();
    let v = u64::from_be_bytes(k[n - 8..].try_into().expect("prefix ends with a version"));
    k[n - 8..].copy_from_slice(&v.wrapping_add(1).to_be_bytes());
    k
}

/// A member key under a collection prefix (hash field, set member, zset member).
pub fn sub_key(prefix: &[u8], sub: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + sub.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(sub);
    k
}

/// A list element key: the prefix and the element's index.
pub fn list_key(prefix: &[u8], index: u64) -> Vec<u8> {
    sub_key(prefix, &index.to_be_bytes())
}

/// Scores as 8 bytes whose byte order is numeric order (-inf < ... < -0 = +0 < ... < +inf).
pub fn encode_score(score: f64) -> [u8; 8] {
    let score = if score == 0.0 { 0.0 } else { score };
    let b = score.to_bits();
    let b = if b >> 63 == 1 { !b } else { b | (1 << 63) };
    b.to_be_bytes()
}

/// `zset_score` key: prefix, ordered score, member. Its value is the exact score (`-0` kept).
pub fn score_key(prefix: &[u8], score: f64, member: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 8 + member.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(&encode_score(score));
    k.extend_from_slice(member);
    k
}

/// `raft_log` CF key.
pub fn raft_log_key(region: u64, index: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&region.to_be_bytes());
    k[8..].copy_from_slice(&index.to_be_bytes());
    k
}

/// `raft_state` CF entries of a region.
#[derive(Clone, Copy)]
#[repr(u8)]
pub enum RaftStateKey {
    Vote = 1,
    Committed = 2,
    Purged = 3,
}

pub fn raft_state_key(region: u64, which: RaftStateKey) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[..8].copy_from_slice(&region.to_be_bytes());
    k[8] = which as u8;
    k
}

/// `meta` CF: a region's applied state (applied log id + membership), written with every apply.
pub fn region_applied_key(region: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'a';
    k[1..].copy_from_slice(&region.to_be_bytes());
    k
}

/// `meta` CF: per-slot key and expiring-key counts (`keys u64 BE | expires u64 BE`).
pub fn slot_count_key(slot: u16) -> [u8; 3] {
    let s = slot.to_be_bytes();
    [b'c', s[0], s[1]]
}

pub fn slot_count_range(from: u16, to: u32) -> (Vec<u8>, Vec<u8>) {
    let start = slot_count_key(from).to_vec();
    let end = if to as usize >= SLOTS { vec![b'c', 0xff, 0xff, 0xff] } else { slot_count_key(to as u16).to_vec() };
    (start, end)
}

/// Redis Cluster hash slot: CRC16 (XMODEM) of the key, or of the first non-empty `{tag}`.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match memchr::memchr(b'{', key) {
        Some(open) => match memchr::memchr(b'}', &key[open + 1..]) {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16::State::<crc16::XMODEM>::calculate(hashed) & 0x3fff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_function_matches_redis_cluster() {
        // Values from CLUSTER KEYSLOT of redis-server 7.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(key_slot(b"foo{}{bar}"), 8363);
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn data_keys_order_by_slot_first() {
        let a = data_key(1, b"zzzz");
        let b = data_key(2, b"a");
        assert!(a < b);
        assert!(data_key(5, b"") >= slot_range_start(5));
        assert!(data_key(5, &[0xff; 64]) < slot_range_end(6));
        assert!(data_key(16383, &[0xff; 64]) < slot_range_end(16384));
        assert_eq!(split_data_key(&data_key(77, b"key")), (77, &b"key"[..]));
    }

    #[test]
    fn collection_keys() {
        let p = coll_prefix(7, b"a", 3);
        let q = coll_prefix(7, b"ab", 1);
        // Key `a`'s members never fall inside key `ab`'s range and vice versa.
        assert!(sub_key(&p, b"zzz") < prefix_end(&p));
        assert!(prefix_end(&p) <= q || sub_key(&q, b"") >= prefix_end(&p));
        assert!(sub_key(&coll_prefix(7, b"a", 4), b"") >= prefix_end(&p));
        assert!(list_key(&p, 5) < list_key(&p, 6));
        assert!(list_key(&p, 255) < list_key(&p, 256));
        let scores = [f64::NEG_INFINITY, -1e300, -1.5, -0.0, 0.0, 1e-300, 2.0, f64::INFINITY];
        for w in scores.windows(2) {
            assert!(encode_score(w[0]) <= encode_score(w[1]), "{} {}", w[0], w[1]);
        }
        assert_eq!(encode_score(-0.0), encode_score(0.0));
        assert!(score_key(&p, 1.0, b"b") < score_key(&p, 2.0, b"a"));
        assert!(score_key(&p, 1.0, b"a") < score_key(&p, 1.0, b"b"));
    }

    #[test]
    fn raft_log_keys_order_by_region_then_index() {
        assert!(raft_log_key(1, u64::MAX) < raft_log_key(2, 0));
        assert!(raft_log_key(1, 255) < raft_log_key(1, 256));
    }

    #[test]
    fn slot_counts_are_contiguous() {
        let (start, end) = slot_count_range(0, SLOTS as u32);
        for k in [FORMAT_VERSION_KEY, REGION_COUNT_KEY, CLUSTER_STORE_KEY] {
            assert!(k < &start[..] || k >= &end[..], "{k:?} is inside the slot counts");
            assert_ne!(k[0], b'a', "{k:?} could meet an applied record");
        }
        let (s, e) = slot_count_range(0, 16384);
        assert!(slot_count_key(0).as_slice() >= s.as_slice());
        assert!(slot_count_key(16383).as_slice() < e.as_slice());
    }
}
