//! What the collection families (hash, set, list, sorted set) share: opening a key's
//! collection (WRONGTYPE otherwise), hash-ordered member keys, saving the header (a collection
//! that becomes empty is deleted), the SCAN-family arguments and cursors, number parsing and
//! the seeded PRNG that makes leader-chosen randomness replayable.
//!
//! Member keys are `prefix | h(member) u64 BE | member` with `h` a fixed 62-bit hash. Iterating
//! in hash order lets an HSCAN/SSCAN/ZSCAN cursor be a plain number: `h + 1` of the next member
//! to visit. A member present for the whole iteration is returned exactly once (modulo hash
//! collisions, never split across calls), and the cursor stays valid across restarts, leader
//! changes and replicas, because it names a position in the data, not server state.

use bytes::Bytes;

use super::args::{eq, parse_i64};
use super::glob;
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::store::apply::ApplyCtx;
use crate::store::keys::{self, key_slot};
use crate::store::view::{SubCf, View};
use crate::store::{Coll, DataType, Value};

/// One key's collection as a command works on it.
#[derive(Debug, Clone)]
pub struct Handle {
    pub dtype: DataType,
    pub coll: Coll,
    pub expire_ms: u64,
    /// `slot | len | key | version`: every member key starts with it.
    pub prefix: Vec<u8>,
    /// The key existed before this command (a new collection is only written if non-empty).
    pub existed: bool,
}

impl Handle {
    fn from_value(key: &[u8], v: &Value) -> CmdResult<Handle> {
        let coll = v.coll()?;
        Ok(Handle {
            dtype: v.dtype,
            coll,
            expire_ms: v.expire_ms,
            prefix: keys::coll_prefix(key_slot(key), key, coll.version),
            existed: true,
        })
    }

    /// Exclusive upper bound of the member keys.
    pub fn end(&self) -> Vec<u8> {
        keys::prefix_end(&self.prefix)
    }

    pub fn member_key(&self, member: &[u8]) -> Vec<u8> {
        member_key(&self.prefix, member)
    }
}

fn check_type(v: Option<Value>, dtype: DataType) -> CmdResult<Option<Value>> {
    match v {
        Some(v) if v.dtype != dtype => Err(CmdError::WrongType),
        v => Ok(v),
    }
}

/// The live collection at `key` for a read, or None.
pub fn read(view: &dyn View, key: &[u8], dtype: DataType) -> CmdResult<Option<Handle>> {
    check_type(view.lookup(key)?, dtype)?.map(|v| Handle::from_value(key, &v)).transpose()
}

/// The live collection at `key` for a write (an expired one is deleted first), or None.
pub fn load(ctx: &mut ApplyCtx, key: &[u8], dtype: DataType) -> CmdResult<Option<Handle>> {
    check_type(ctx.get(key)?, dtype)?.map(|v| Handle::from_value(key, &v)).transpose()
}

/// The collection at `key`, or a new empty one with a fresh version.
pub fn load_or_new(ctx: &mut ApplyCtx, key: &[u8], dtype: DataType) -> CmdResult<Handle> {
    if let Some(h) = load(ctx, key, dtype)? {
        return Ok(h);
    }
    Ok(new_handle(ctx, key, dtype))
}

/// A new empty collection (not written until `save`), e.g. the destination of a *STORE.
pub fn new_handle(ctx: &mut ApplyCtx, key: &[u8], dtype: DataType) -> Handle {
    let coll = Coll::new(ctx.next_stamp());
    Handle { dtype, coll, expire_ms: 0, prefix: keys::coll_prefix(key_slot(key), key, coll.version), existed: false }
}

/// Writes the header after member changes (and a new stamp, which WATCH sees). An empty
/// collection is deleted: a key never exists empty. Deleting also clears whatever members are
/// left, so a command may empty a collection by setting its size to 0 (LTRIM, LREM of all).
pub fn save(ctx: &mut ApplyCtx, key: &[u8], h: &Handle) -> CmdResult<()> {
    if h.coll.size == 0 {
        if h.existed {
            ctx.delete(key)?;
        }
        return Ok(());
    }
    ctx.put(key, &Value::collection(h.dtype, &h.coll, h.expire_ms))?;
    Ok(())
}

/// The fixed member hash: FNV-1a 64 with a murmur3 finaliser, cut to 62 bits so `h + 1`
/// is a positive i64 cursor. Part of the on-disk format: never change it.
pub fn member_hash(member: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in member {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h >> 2
}

pub fn member_key(prefix: &[u8], member: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 8 + member.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(&member_hash(member).to_be_bytes());
    k.extend_from_slice(member);
    k
}

/// Visits every member key and value of `h` in storage order until `f` returns false.
pub fn for_each(view: &dyn View, h: &Handle, f: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> CmdResult<()> {
    let plen = h.prefix.len();
    view.scan(SubCf::Subkeys, &h.prefix, &h.end(), false, &mut |k, v| f(&k[plen + 8..], v))?;
    Ok(())
}

/// The (member, value) at each storage position in `indexes` (any order, repeats allowed),
/// returned in the order of `indexes`, with one pass that stops after the last wanted position.
pub fn pick(view: &dyn View, h: &Handle, indexes: &[u64]) -> CmdResult<Vec<(Bytes, Bytes)>> {
    let mut sorted: Vec<u64> = indexes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut found = std::collections::HashMap::with_capacity(sorted.len());
    let mut pos = 0u64;
    let mut next = 0usize;
    for_each(view, h, &mut |m, v| {
        if next < sorted.len() && sorted[next] == pos {
            found.insert(pos, (Bytes::copy_from_slice(m), Bytes::copy_from_slice(v)));
            next += 1;
        }
        pos += 1;
        next < sorted.len()
    })?;
    Ok(indexes.iter().filter_map(|i| found.get(i).cloned()).collect())
}

// ---------- SCAN family ----------

pub struct ScanArgs {
    pub cursor: u64,
    pub pattern: Option<Bytes>,
    pub count: usize,
}

/// `cursor [MATCH pattern] [COUNT count]` starting at `argv[at]`, with Redis's errors.
pub fn parse_scan(argv: &[Bytes], at: usize) -> CmdResult<ScanArgs> {
    let cursor = parse_cursor(&argv[at]).ok_or_else(invalid_cursor)?;
    let mut a = ScanArgs { cursor, pattern: None, count: 10 };
    let mut i = at + 1;
    while i < argv.len() {
        let has_arg = i + 1 < argv.len();
        if eq(&argv[i], "COUNT") && has_arg {
            let n = parse_i64(&argv[i + 1]).ok_or(CmdError::NotInteger)?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            a.count = n.min(1 << 20) as usize;
        } else if eq(&argv[i], "MATCH") && has_arg {
            let p = argv[i + 1].clone();
            // `*` matches everything: skip the matcher.
            a.pattern = (&p[..] != b"*").then_some(p);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(a)
}

/// A SCAN cursor parsed like Redis's parseScanCursorOrReply: C strtoul over the argument (up
/// to a NUL byte), base 10, optional sign (a negative value wraps), no leading space, no
/// trailing garbage, no overflow. The empty string is cursor 0.
pub fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let s = match memchr::memchr(0, arg) {
        Some(i) => &arg[..i],
        None => arg,
    };
    let Some(&first) = s.first() else { return Some(0) };
    if matches!(first, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        return None;
    }
    let (neg, digits) = match first {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Adds the reply items of one scanned member (given its stored value).
pub type ScanEmit<'f> = dyn FnMut(&[u8], &[u8], &mut Vec<Reply>) + 'f;

/// HSCAN / SSCAN / ZSCAN `key cursor [MATCH p] [COUNT n]`, checked in Redis's order: the
/// cursor, then the key (a missing key answers an empty page whatever the options), then the
/// options. `emit` adds the reply items of one member (and its stored value).
pub fn scan_command(view: &dyn View, argv: &[Bytes], dtype: DataType, emit: &mut ScanEmit) -> CmdResult {
    parse_cursor(&argv[2]).ok_or_else(invalid_cursor)?;
    let page = |cursor: u64, items: Vec<Reply>| {
        Reply::Array(vec![Reply::bulk(Bytes::from(cursor.to_string())), Reply::Array(items)])
    };
    let Some(h) = read(view, &argv[1], dtype)? else { return Ok(page(0, Vec::new())) };
    let a = parse_scan(argv, 2)?;
    let mut items = Vec::new();
    let next = scan_step(view, &h, &a, &mut |m, v| emit(m, v, &mut items))?;
    Ok(page(next, items))
}

fn invalid_cursor() -> CmdError {
    CmdError::Other("ERR invalid cursor".into())
}

/// One SCAN step over a hash-ordered collection: visits at least `count` members (never
/// stopping inside a group of equal hashes), calls `f` for those matching the pattern and
/// returns the next cursor (0 = done).
pub fn scan_step(view: &dyn View, h: &Handle, a: &ScanArgs, f: &mut dyn FnMut(&[u8], &[u8])) -> CmdResult<u64> {
    let plen = h.prefix.len();
    let mut lower = h.prefix.clone();
    if a.cursor > 0 {
        // Hashes are below 2^62: a larger cursor is past the end.
        lower.extend_from_slice(&(a.cursor - 1).min(1 << 62).to_be_bytes());
    }
    let mut visited = 0usize;
    let mut last_hash = None;
    let mut next = 0u64;
    view.scan(SubCf::Subkeys, &lower, &h.end(), false, &mut |k, v| {
        let hash = u64::from_be_bytes(k[plen..plen + 8].try_into().expect("member key has a hash"));
        if visited >= a.count && last_hash != Some(hash) {
            next = hash + 1;
            return false;
        }
        visited += 1;
        last_hash = Some(hash);
        let member = &k[plen + 8..];
        if a.pattern.as_ref().is_none_or(|p| glob::matches(p, member, false)) {
            f(member, v);
        }
        true
    })?;
    Ok(next)
}

// ---------- numbers ----------

extern "C" {
    fn redraft_parse_double(s: *const u8, len: usize, out: *mut f64) -> i32;
}

/// Redis's getDoubleFromObject: C strtod over the whole argument, no NaN, no overflow.
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    let mut out = 0f64;
    // SAFETY: pointer and length describe `b`; `out` is a valid f64 slot.
    let ok = unsafe { redraft_parse_double(b.as_ptr(), b.len(), &mut out) };
    (ok == 1).then_some(out)
}

pub fn float_arg(b: &[u8]) -> CmdResult<f64> {
    parse_f64(b).ok_or(CmdError::NotFloat)
}

// ---------- random picks ----------

/// The most elements SRANDMEMBER / HRANDFIELD with a negative count (repeats allowed) return:
/// a bigger reply could not be built in memory (and is far over the default 1gb output buffer
/// limit, which would close the connection anyway).
pub const MAX_RANDOM_REPLY: u64 = 1 << 26;

/// The count of SRANDMEMBER / HRANDFIELD: any i64 but i64::MIN (Redis's -LONG_MAX..LONG_MAX).
pub fn random_count(arg: &[u8]) -> CmdResult<i64> {
    match parse_i64(arg) {
        None => Err(CmdError::NotInteger),
        Some(i64::MIN) => Err(CmdError::Other(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807".into(),
        )),
        Some(n) => Ok(n),
    }
}

/// Refuses a repeats-allowed pick bigger than `MAX_RANDOM_REPLY`.
pub fn check_repeats(n: u64) -> CmdResult<()> {
    if n > MAX_RANDOM_REPLY {
        return Err(CmdError::Other(format!(
            "ERR count is out of range: at most {MAX_RANDOM_REPLY} members are returned with repetitions"
        )));
    }
    Ok(())
}

// ---------- leader-chosen randomness ----------

/// SplitMix64: a tiny deterministic PRNG. Commands that pick at random (SPOP) get a seed
/// chosen by the leader in `prepare` and logged with the command, so every replica picks the
/// same members.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A seed from the clock and a per-process counter (leader side only).
    pub fn fresh_seed() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut r = Rng(t ^ COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed));
        r.next_u64()
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)`; n > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// `k` distinct indexes of `[0, n)`, sorted (Floyd's algorithm: O(k) memory).
    pub fn distinct_sorted(&mut self, n: u64, k: u64) -> Vec<u64> {
        let k = k.min(n);
        let mut chosen = std::collections::BTreeSet::new();
        for j in n - k..n {
            let t = self.below(j + 1);
            if !chosen.insert(t) {
                chosen.insert(j);
            }
        }
        chosen.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_hash_is_fixed() {
        // Part of the on-disk format: these values must never change.
        assert_eq!(member_hash(b""), 0x3bf4_07d8_2ea6_4a49);
        assert_eq!(member_hash(b"a"), 0x20a8_aa56_2a6f_b396);
        assert_eq!(member_hash(b"field"), 0x07cd_3d35_8989_9f96);
        assert!(member_hash(b"a") < 1 << 62);
        assert_ne!(member_hash(b"a"), member_hash(b"b"));
        let k = member_key(b"P", b"field");
        assert_eq!(&k[9..], b"field");
    }

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b"123"), Some(123));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-0"), Some(0));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"007"), Some(7));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"-18446744073709551615"), Some(1));
        assert_eq!(parse_cursor(b"1\x00junk"), Some(1));
        assert_eq!(parse_cursor(b"\x001"), Some(0));
        let bad =
            [&b"x"[..], b"-", b"+", b" 1", b"\t1", b"1 ", b"1x", b"- 1", b"+-1", b"18446744073709551616", b"0x10"];
        for b in bad {
            assert_eq!(parse_cursor(b), None, "{:?}", String::from_utf8_lossy(b));
        }
    }

    #[test]
    fn doubles_parse_like_redis() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        for bad in [&b""[..], b" 1", b"1 ", b"nan", b"abc", b"1e999", b"1\x002"] {
            assert_eq!(parse_f64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn rng_is_deterministic_and_distinct() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(42);
                move |_| r.next_u64()
            })
            .collect();
        let mut r = Rng::new(42);
        assert_eq!(a, (0..5).map(|_| r.next_u64()).collect::<Vec<_>>());
        let picks = Rng::new(7).distinct_sorted(10, 4);
        assert_eq!(picks.len(), 4);
        assert!(picks.windows(2).all(|w| w[0] < w[1]) && picks.iter().all(|&p| p < 10));
        assert_eq!(Rng::new(7).distinct_sorted(3, 10), vec![0, 1, 2]);
        assert!((0..1000).all(|_| r.below(3) < 3));
    }
}
