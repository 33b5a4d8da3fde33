//! The 17 sorted-set commands. A member is a member of the key's collection (`coll.rs`) whose
//! value is its score (`f64` bits, 8 bytes BE); the `zset_score` column family indexes the
//! members by `(score, member)` (`keys::score_key`), with the same 8 bytes as value.
//!
//! ZCARD is the header's size and ZSCORE one point lookup. Everything ordered walks the score
//! index: a score range is one exact key range (`score_bounds`), a lex range too when every
//! score is equal (the case Redis defines); index ranges walk from the nearer end. Walks stop
//! after the requested range: nothing reads the whole set to answer a bounded request.
//!
//! Scores are stored with -0 turned into 0, as Redis 7.0.15's listpack encoding (the one small
//! sets use) stores them; replies of ZINCRBY / ZADD INCR are the computed score itself, as in
//! Redis.

use std::ffi::c_char;

use bytes::Bytes;

use super::args::{eq, int_arg, parse_i64};
use super::coll::{self, Handle};
use crate::error::{CmdError, CmdResult};
use crate::resp::reply::format_double;
use crate::resp::Reply;
use crate::store::apply::ApplyCtx;
use crate::store::keys;
use crate::store::view::{SubCf, View};
use crate::store::DataType;

const ZSET: DataType = DataType::ZSet;

fn not_float_range() -> CmdError {
    CmdError::Other("ERR min or max is not a float".into())
}

fn not_lex_range() -> CmdError {
    CmdError::Other("ERR min or max not valid string range item".into())
}

fn nan_score() -> CmdError {
    CmdError::Other("ERR resulting score is not a number (NaN)".into())
}

// ---------- storage ----------

fn score_bytes(score: f64) -> [u8; 8] {
    score.to_bits().to_be_bytes()
}

fn decode_score(v: &[u8]) -> f64 {
    // A value that is not 8 bytes is corruption; it reads as NaN rather than stopping the node.
    v.try_into().map(|b| f64::from_bits(u64::from_be_bytes(b))).unwrap_or(f64::NAN)
}

/// The score as stored: -0 becomes 0 (what Redis's listpack encoding keeps).
fn stored(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

fn get_score(view: &dyn View, h: &Handle, member: &[u8]) -> CmdResult<Option<f64>> {
    Ok(view.get_sub(SubCf::Subkeys, &h.member_key(member))?.map(|v| decode_score(&v)))
}

/// Writes `member` with `score`, replacing its index entry under `old` (its current score).
fn put_member(ctx: &mut ApplyCtx, h: &Handle, member: &[u8], old: Option<f64>, score: f64) {
    let score = stored(score);
    if let Some(old) = old {
        ctx.del_sub(SubCf::ZsetScore, keys::score_key(&h.prefix, old, member));
    }
    ctx.put_sub(SubCf::ZsetScore, keys::score_key(&h.prefix, score, member), score_bytes(score).to_vec());
    ctx.put_sub(SubCf::Subkeys, h.member_key(member), score_bytes(score).to_vec());
}

fn del_member(ctx: &mut ApplyCtx, h: &Handle, member: &[u8], score: f64) {
    ctx.del_sub(SubCf::ZsetScore, keys::score_key(&h.prefix, score, member));
    ctx.del_sub(SubCf::Subkeys, h.member_key(member));
}

/// The encoded score as a number, so `+ 1` is the next score key.
fn enc(score: f64) -> u64 {
    u64::from_be_bytes(keys::encode_score(score))
}

/// `prefix | encoded score`: where the index entries of that score start.
fn score_seek(h: &Handle, e: u64) -> Vec<u8> {
    let mut k = h.prefix.clone();
    k.extend_from_slice(&e.to_be_bytes());
    k
}

/// Visits the score index entries `(member, score)` in `[lower, upper)` (from the top when
/// `reverse`) until `f` returns false.
fn scan_index(
    view: &dyn View,
    h: &Handle,
    lower: &[u8],
    upper: &[u8],
    reverse: bool,
    f: &mut dyn FnMut(&[u8], f64) -> bool,
) -> CmdResult<()> {
    if lower >= upper {
        return Ok(());
    }
    let plen = h.prefix.len() + 8;
    view.scan(SubCf::ZsetScore, lower, upper, reverse, &mut |k, v| f(&k[plen..], decode_score(v)))?;
    Ok(())
}

/// The first (or, `reverse`, the last) entry of the index.
fn end_entry(view: &dyn View, h: &Handle, reverse: bool) -> CmdResult<Option<(Bytes, f64)>> {
    let mut out = None;
    scan_index(view, h, &h.prefix, &h.end(), reverse, &mut |m, s| {
        out = Some((Bytes::copy_from_slice(m), s));
        false
    })?;
    Ok(out)
}

// ---------- ranges ----------

extern "C" {
    fn strtod(s: *const c_char, end: *mut *mut c_char) -> f64;
}

/// Redis's zslParseRange item: C `strtod` over the argument as a C string (it ends at the first
/// NUL), nothing after the number, not NaN. Unlike a score argument, leading spaces, an empty
/// string (0) and overflow (to +-inf) are accepted.
fn parse_range_float(b: &[u8]) -> Option<f64> {
    let mut buf: Vec<u8> = b[..memchr::memchr(0, b).unwrap_or(b.len())].to_vec();
    buf.push(0);
    let mut end: *mut c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated and outlives the call; strtod sets `end` inside it.
    let v = unsafe { strtod(buf.as_ptr() as *const c_char, &mut end) };
    // SAFETY: `end` points into `buf` (at most at its NUL).
    let rest = unsafe { *end };
    (rest == 0 && !v.is_nan()).then_some(v)
}

/// A score interval (ZRANGEBYSCORE / ZCOUNT min max).
#[derive(Debug, Clone, Copy, PartialEq)]
struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

fn parse_score_item(b: &[u8]) -> Option<(f64, bool)> {
    match b.first() {
        Some(b'(') => parse_range_float(&b[1..]).map(|v| (v, true)),
        _ => parse_range_float(b).map(|v| (v, false)),
    }
}

fn parse_score_range(min: &[u8], max: &[u8]) -> CmdResult<ScoreRange> {
    let (min, minex) = parse_score_item(min).ok_or_else(not_float_range)?;
    let (max, maxex) = parse_score_item(max).ok_or_else(not_float_range)?;
    Ok(ScoreRange { min, max, minex, maxex })
}

/// The index keys `[lower, upper)` of exactly the entries inside `r` (empty when lower >= upper).
fn score_bounds(h: &Handle, r: &ScoreRange) -> (Vec<u8>, Vec<u8>) {
    // Stored scores are never NaN, so enc(+inf) + 1 is free and above every entry.
    let lower = enc(r.min) + r.minex as u64;
    let upper = enc(r.max) + !r.maxex as u64;
    (score_seek(h, lower), score_seek(h, upper))
}

/// One end of a lex range: `-` / `+` are the smallest / largest string.
#[derive(Debug, Clone, PartialEq)]
enum Lex {
    Min,
    Max,
    Incl(Bytes),
    Excl(Bytes),
}

impl Lex {
    /// Redis's zslParseLexRangeItem.
    fn parse(b: &Bytes) -> Option<Lex> {
        // `+` and `-` must be the whole C string (a NUL may follow).
        let first = *b.first()?;
        let alone = b.len() == 1 || b[1] == 0;
        match first {
            b'+' if alone => Some(Lex::Max),
            b'-' if alone => Some(Lex::Min),
            b'(' => Some(Lex::Excl(b.slice(1..))),
            b'[' => Some(Lex::Incl(b.slice(1..))),
            _ => None,
        }
    }

    fn excl(&self) -> bool {
        !matches!(self, Lex::Incl(_))
    }

    /// Order of the ends as Redis's sdscmplex: `-` < every string < `+`.
    fn cmp(&self, other: &Lex) -> std::cmp::Ordering {
        let rank = |l: &Lex| match l {
            Lex::Min => 0,
            Lex::Max => 2,
            _ => 1,
        };
        match (self, other) {
            (Lex::Incl(a) | Lex::Excl(a), Lex::Incl(b) | Lex::Excl(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct LexRange {
    min: Lex,
    max: Lex,
}

impl LexRange {
    fn parse(min: &Bytes, max: &Bytes) -> CmdResult<LexRange> {
        match (Lex::parse(min), Lex::parse(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(not_lex_range()),
        }
    }

    /// Ranges that can hold nothing (min above max, or equal with an open end).
    fn is_empty(&self) -> bool {
        match self.min.cmp(&self.max) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => self.min.excl() || self.max.excl(),
            std::cmp::Ordering::Less => false,
        }
    }

    fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            Lex::Min => true,
            Lex::Max => false,
            Lex::Incl(x) => m >= &x[..],
            Lex::Excl(x) => m > &x[..],
        }
    }

    fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            Lex::Min => false,
            Lex::Max => true,
            Lex::Incl(x) => m <= &x[..],
            Lex::Excl(x) => m < &x[..],
        }
    }
}

/// A test on a member.
type Pred<'a> = &'a dyn Fn(&[u8]) -> bool;

/// How a range command walks the index: from `[lower, upper)` (from the top when `reverse`),
/// passing over the entries before the first one where `start` holds (the linear search Redis
/// does on a listpack); that entry must satisfy `within`, else nothing matches. From there:
/// skip `offset` entries, then take entries while `within` holds, at most `limit` (< 0: all).
struct Walk<'a> {
    lower: Vec<u8>,
    upper: Vec<u8>,
    reverse: bool,
    start: Option<Pred<'a>>,
    within: Option<Pred<'a>>,
    offset: i64,
    limit: i64,
}

impl Walk<'_> {
    fn run(&self, view: &dyn View, h: &Handle, f: &mut dyn FnMut(&[u8], f64)) -> CmdResult<()> {
        // A negative offset never reaches its start in Redis: nothing is returned.
        if self.offset < 0 || self.limit == 0 {
            return Ok(());
        }
        let mut started = self.start.is_none();
        let mut skip = self.offset;
        let mut left = self.limit;
        scan_index(view, h, &self.lower, &self.upper, self.reverse, &mut |m, s| {
            if !started {
                if !self.start.is_some_and(|p| p(m)) {
                    return true;
                }
                started = true;
                if !self.within.is_none_or(|p| p(m)) {
                    return false;
                }
            }
            if skip > 0 {
                skip -= 1;
                return true;
            }
            if !self.within.is_none_or(|p| p(m)) {
                return false;
            }
            f(m, s);
            left -= 1;
            left != 0
        })
    }
}

/// The walk over the members of `r` (Redis's lex-range semantics, which assume equal scores).
/// None: nothing can match.
fn lex_walk<'a>(
    view: &dyn View,
    h: &Handle,
    r: &'a LexRange,
    gte: Pred<'a>,
    lte: Pred<'a>,
    reverse: bool,
) -> CmdResult<Option<Walk<'a>>> {
    if r.is_empty() {
        return Ok(None);
    }
    let (Some((first, fs)), Some((last, ls))) = (end_entry(view, h, false)?, end_entry(view, h, true)?) else {
        return Ok(None);
    };
    if !r.gte_min(&last) || !r.lte_max(&first) {
        return Ok(None);
    }
    let mut w =
        Walk { lower: h.prefix.clone(), upper: h.end(), reverse, start: None, within: None, offset: 0, limit: -1 };
    if enc(fs) != enc(ls) {
        // Mixed scores: walk the whole order like Redis walks a listpack.
        (w.start, w.within) = if reverse { (Some(lte), Some(gte)) } else { (Some(gte), Some(lte)) };
        return Ok(Some(w));
    }
    // One score: the members are in byte order, so the range is one key range.
    let base = score_seek(h, enc(fs));
    let with = |x: &[u8], nul: bool| {
        let mut k = base.clone();
        k.extend_from_slice(x);
        if nul {
            k.push(0);
        }
        k
    };
    w.lower = match &r.min {
        Lex::Min => base.clone(),
        Lex::Max => return Ok(None),
        Lex::Incl(x) => with(x, false),
        Lex::Excl(x) => with(x, true),
    };
    w.upper = match &r.max {
        Lex::Min => return Ok(None),
        Lex::Max => score_seek(h, enc(fs) + 1),
        Lex::Incl(x) => with(x, true),
        Lex::Excl(x) => with(x, false),
    };
    Ok(Some(w))
}

// ---------- writes ----------

/// ZADD's options and score/member pairs.
#[derive(Debug, Default, PartialEq)]
struct ZaddArgs {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
    /// (score, index of the member in argv)
    pairs: Vec<(f64, usize)>,
}

/// Redis's zaddGenericCommand parsing, with its errors in its order. ZINCRBY is ZADD INCR
/// (and parses options the same way).
fn parse_zadd(argv: &[Bytes], incr: bool) -> CmdResult<ZaddArgs> {
    let mut a = ZaddArgs { incr, ..Default::default() };
    let mut i = 2;
    while i < argv.len() {
        let o = &argv[i];
        if eq(o, "NX") {
            a.nx = true;
        } else if eq(o, "XX") {
            a.xx = true;
        } else if eq(o, "CH") {
            a.ch = true;
        } else if eq(o, "INCR") {
            a.incr = true;
        } else if eq(o, "GT") {
            a.gt = true;
        } else if eq(o, "LT") {
            a.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let elements = argv.len() - i;
    if elements == 0 || !elements.is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if a.nx && a.xx {
        return Err(CmdError::Other("ERR XX and NX options at the same time are not compatible".into()));
    }
    if (a.nx && (a.gt || a.lt)) || (a.gt && a.lt) {
        return Err(CmdError::Other("ERR GT, LT, and/or NX options at the same time are not compatible".into()));
    }
    if a.incr && elements > 2 {
        return Err(CmdError::Other("ERR INCR option supports a single increment-element pair".into()));
    }
    for j in (i..argv.len()).step_by(2) {
        a.pairs.push((coll::float_arg(&argv[j])?, j + 1));
    }
    Ok(a)
}

pub fn prepare_zadd(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    parse_zadd(argv, false)?;
    Ok(argv.to_vec())
}

pub fn prepare_zincrby(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    parse_zadd(argv, true)?;
    Ok(argv.to_vec())
}

fn zadd_generic(ctx: &mut ApplyCtx, argv: &[Bytes], incr: bool) -> CmdResult {
    let a = parse_zadd(argv, incr)?;
    let no_change = || Ok(if a.incr { Reply::Nil } else { Reply::Int(0) });
    let mut h = match coll::load(ctx, &argv[1], ZSET)? {
        Some(h) => h,
        None if a.xx => return no_change(),
        None => coll::new_handle(ctx, &argv[1], ZSET),
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = 0.0;
    for &(score, at) in &a.pairs {
        let member = &argv[at];
        match get_score(&*ctx, &h, member)? {
            Some(cur) => {
                if a.nx {
                    continue;
                }
                let new = if a.incr { score + cur } else { score };
                // Only INCR (one pair, so nothing written yet) can produce NaN.
                if new.is_nan() {
                    return Err(nan_score());
                }
                if (a.lt && new >= cur) || (a.gt && new <= cur) {
                    continue;
                }
                last = new;
                if new != cur {
                    put_member(ctx, &h, member, Some(cur), new);
                    updated += 1;
                }
                processed += 1;
            }
            None if !a.xx => {
                put_member(ctx, &h, member, None, score);
                h.coll.size += 1;
                last = score;
                added += 1;
                processed += 1;
            }
            None => {}
        }
    }
    if added + updated > 0 {
        coll::save(ctx, &argv[1], &h)?;
    }
    Ok(match a.incr {
        true if processed > 0 => Reply::Double(last),
        true => Reply::Nil,
        false => Reply::Int(if a.ch { added + updated } else { added }),
    })
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
pub fn zadd(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, argv, false)
}

/// ZINCRBY key increment member
pub fn zincrby(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, argv, true)
}

pub fn zrem(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let Some(mut h) = coll::load(ctx, &argv[1], ZSET)? else { return Ok(Reply::Int(0)) };
    let mut removed = 0;
    for m in &argv[2..] {
        if let Some(score) = get_score(&*ctx, &h, m)? {
            del_member(ctx, &h, m, score);
            h.coll.size -= 1;
            removed += 1;
        }
    }
    if removed > 0 {
        coll::save(ctx, &argv[1], &h)?;
    }
    Ok(Reply::Int(removed))
}

/// ZPOPMIN/ZPOPMAX key [count]: None = no count (a flat reply of one pair).
fn parse_pop(argv: &[Bytes]) -> CmdResult<Option<u64>> {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let Some(c) = argv.get(2) else { return Ok(None) };
    // Redis's getPositiveLongFromObjectOrReply: one message for non-numbers and negatives.
    match parse_i64(c) {
        Some(n) if n >= 0 => Ok(Some(n as u64)),
        _ => Err(CmdError::Other("ERR value is out of range, must be positive".into())),
    }
}

pub fn prepare_zpop(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    parse_pop(argv)?;
    Ok(argv.to_vec())
}

fn zpop(ctx: &mut ApplyCtx, argv: &[Bytes], max: bool) -> CmdResult {
    let count = parse_pop(argv)?;
    let Some(mut h) = coll::load(ctx, &argv[1], ZSET)? else { return Ok(Reply::Array(Vec::new())) };
    if count == Some(0) {
        return Ok(Reply::Array(Vec::new()));
    }
    let want = count.unwrap_or(1).min(h.coll.size);
    let mut popped: Vec<(Bytes, f64)> = Vec::with_capacity(want.min(1 << 16) as usize);
    scan_index(&*ctx, &h, &h.prefix, &h.end(), max, &mut |m, s| {
        popped.push((Bytes::copy_from_slice(m), s));
        (popped.len() as u64) < want
    })?;
    for (m, s) in &popped {
        del_member(ctx, &h, m, *s);
        h.coll.size -= 1;
    }
    if !popped.is_empty() {
        coll::save(ctx, &argv[1], &h)?;
    }
    Ok(match count {
        None => Reply::Array(popped.into_iter().flat_map(|(m, s)| [Reply::Bulk(m), Reply::Double(s)]).collect()),
        Some(_) => Reply::Pairs(popped.into_iter().map(|(m, s)| (Reply::Bulk(m), Reply::Double(s))).collect()),
    })
}

pub fn zpopmin(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    zpop(ctx, argv, false)
}

pub fn zpopmax(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    zpop(ctx, argv, true)
}

// ---------- reads ----------

pub fn zscore(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let Some(h) = coll::read(view, &argv[1], ZSET)? else { return Ok(Reply::Nil) };
    Ok(get_score(view, &h, &argv[2])?.map(Reply::Double).unwrap_or(Reply::Nil))
}

pub fn zcard(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(coll::read(view, &argv[1], ZSET)?.map(|h| h.coll.size as i64).unwrap_or(0)))
}

/// The 0-based rank of a member from the bottom (or top): O(rank), counting index entries.
fn rank(view: &dyn View, argv: &[Bytes], reverse: bool) -> CmdResult {
    let Some(h) = coll::read(view, &argv[1], ZSET)? else { return Ok(Reply::Nil) };
    let member = &argv[2];
    let Some(score) = get_score(view, &h, member)? else { return Ok(Reply::Nil) };
    let at = keys::score_key(&h.prefix, score, member);
    let mut n = 0i64;
    let mut count = |_: &[u8], _: f64| {
        n += 1;
        true
    };
    if reverse {
        let mut after = at;
        after.push(0);
        scan_index(view, &h, &after, &h.end(), true, &mut count)?;
    } else {
        scan_index(view, &h, &h.prefix, &at, false, &mut count)?;
    }
    Ok(Reply::Int(n))
}

pub fn zrank(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    rank(view, argv, false)
}

pub fn zrevrank(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    rank(view, argv, true)
}

fn count_walk(view: &dyn View, h: &Handle, w: &Walk) -> CmdResult<i64> {
    let mut n = 0;
    w.run(view, h, &mut |_, _| n += 1)?;
    Ok(n)
}

pub fn zcount(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let r = parse_score_range(&argv[2], &argv[3])?;
    let Some(h) = coll::read(view, &argv[1], ZSET)? else { return Ok(Reply::Int(0)) };
    let (lower, upper) = score_bounds(&h, &r);
    let w = Walk { lower, upper, reverse: false, start: None, within: None, offset: 0, limit: -1 };
    Ok(Reply::Int(count_walk(view, &h, &w)?))
}

pub fn zlexcount(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let r = LexRange::parse(&argv[2], &argv[3])?;
    let Some(h) = coll::read(view, &argv[1], ZSET)? else { return Ok(Reply::Int(0)) };
    let (gte, lte) = (|m: &[u8]| r.gte_min(m), |m: &[u8]| r.lte_max(m));
    match lex_walk(view, &h, &r, &gte, &lte, false)? {
        Some(w) => Ok(Reply::Int(count_walk(view, &h, &w)?)),
        None => Ok(Reply::Int(0)),
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Dir {
    Auto,
    Forward,
    Reverse,
}

/// The parsed arguments of ZRANGE and its older forms.
#[derive(Debug, PartialEq)]
struct RangeArgs {
    by: By,
    reverse: bool,
    withscores: bool,
    offset: i64,
    /// -1: no LIMIT (as in Redis, `LIMIT x -1` counts as none for the LIMIT check).
    limit: i64,
    /// Indexes of the min and max arguments (swapped for reverse score/lex ranges).
    min: usize,
    max: usize,
}

/// Redis's zrangeGenericCommand argument parsing, errors in its order (range parsing after).
fn parse_range_args(argv: &[Bytes], mut by: By, mut dir: Dir) -> CmdResult<RangeArgs> {
    let (mut withscores, mut offset, mut limit) = (false, 0, -1);
    let mut j = 4;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let o = &argv[j];
        if eq(o, "WITHSCORES") {
            withscores = true;
        } else if eq(o, "LIMIT") && left >= 2 {
            offset = int_arg(&argv[j + 1])?;
            limit = int_arg(&argv[j + 2])?;
            j += 2;
        } else if dir == Dir::Auto && eq(o, "REV") {
            dir = Dir::Reverse;
        } else if by == By::Auto && eq(o, "BYLEX") {
            by = By::Lex;
        } else if by == By::Auto && eq(o, "BYSCORE") {
            by = By::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let reverse = dir == Dir::Reverse;
    if by == By::Auto {
        by = By::Rank;
    }
    if limit != -1 && by == By::Rank {
        return Err(CmdError::Other(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX".into(),
        ));
    }
    if withscores && by == By::Lex {
        return Err(CmdError::Other("ERR syntax error, WITHSCORES not supported in combination with BYLEX".into()));
    }
    let (min, max) = if reverse && by != By::Rank { (3, 2) } else { (2, 3) };
    Ok(RangeArgs { by, reverse, withscores, offset, limit, min, max })
}

/// The forward index range `[a, b]` of Redis's rank range `start..=end` (from the top when
/// `reverse`), or None when it is empty.
fn rank_bounds(start: i64, end: i64, size: u64, reverse: bool) -> Option<(u64, u64)> {
    let n = size as i64;
    let mut start = if start < 0 { n + start } else { start };
    let mut end = if end < 0 { n + end } else { end };
    start = start.max(0);
    if start > end || start >= n {
        return None;
    }
    end = end.min(n - 1);
    let (start, end) = (start as u64, end as u64);
    Some(if reverse { (size - 1 - end, size - 1 - start) } else { (start, end) })
}

fn range_reply(items: Vec<(Bytes, f64)>, withscores: bool) -> Reply {
    match withscores {
        true => Reply::Pairs(items.into_iter().map(|(m, s)| (Reply::Bulk(m), Reply::Double(s))).collect()),
        false => Reply::Array(items.into_iter().map(|(m, _)| Reply::Bulk(m)).collect()),
    }
}

fn zrange_generic(view: &dyn View, argv: &[Bytes], by: By, dir: Dir) -> CmdResult {
    let a = parse_range_args(argv, by, dir)?;
    let (lo, hi) = (&argv[a.min], &argv[a.max]);
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let parsed = match a.by {
        By::Score => Parsed::Score(parse_score_range(lo, hi)?),
        By::Lex => Parsed::Lex(LexRange::parse(lo, hi)?),
        _ => Parsed::Rank(int_arg(lo)?, int_arg(hi)?),
    };
    let Some(h) = coll::read(view, &argv[1], ZSET)? else { return Ok(Reply::Array(Vec::new())) };
    let mut items: Vec<(Bytes, f64)> = Vec::new();
    let mut push = |m: &[u8], s: f64| items.push((Bytes::copy_from_slice(m), s));
    match parsed {
        Parsed::Rank(start, end) => {
            let Some((lo, hi)) = rank_bounds(start, end, h.coll.size, a.reverse) else {
                return Ok(Reply::Array(Vec::new()));
            };
            // Walk from the nearer end; reverse the result if that was the other direction.
            let from_top = h.coll.size - lo < hi + 1;
            let offset = if from_top { h.coll.size - 1 - hi } else { lo };
            let (lower, upper) = (h.prefix.clone(), h.end());
            let w = Walk {
                lower,
                upper,
                reverse: from_top,
                start: None,
                within: None,
                offset: offset as i64,
                limit: (hi - lo + 1) as i64,
            };
            w.run(view, &h, &mut push)?;
            if from_top != a.reverse {
                items.reverse();
            }
        }
        Parsed::Score(r) => {
            let (lower, upper) = score_bounds(&h, &r);
            let w =
                Walk { lower, upper, reverse: a.reverse, start: None, within: None, offset: a.offset, limit: a.limit };
            w.run(view, &h, &mut push)?;
        }
        Parsed::Lex(r) => {
            let (gte, lte) = (|m: &[u8]| r.gte_min(m), |m: &[u8]| r.lte_max(m));
            if let Some(mut w) = lex_walk(view, &h, &r, &gte, &lte, a.reverse)? {
                (w.offset, w.limit) = (a.offset, a.limit);
                w.run(view, &h, &mut push)?;
            }
        }
    }
    Ok(range_reply(items, a.withscores))
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
pub fn zrange(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    zrange_generic(view, argv, By::Auto, Dir::Auto)
}

pub fn zrevrange(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    zrange_generic(view, argv, By::Rank, Dir::Reverse)
}

pub fn zrangebyscore(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    zrange_generic(view, argv, By::Score, Dir::Forward)
}

pub fn zrevrangebyscore(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    zrange_generic(view, argv, By::Score, Dir::Reverse)
}

pub fn zrangebylex(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    zrange_generic(view, argv, By::Lex, Dir::Forward)
}

/// A score as ZSCAN shows it: the text Redis 7.0.15 stores in a listpack (d2string), i.e. an
/// integer when the score is one within +-2^62, else `%.17g` (`inf`, `-inf`).
fn scan_score_text(d: f64) -> String {
    const LIMIT: f64 = 4_611_686_018_427_387_904.0; // (double)(LLONG_MAX / 2)
    if (-LIMIT..=LIMIT).contains(&d) && d.trunc() == d {
        itoa::Buffer::new().format(d as i64).to_owned()
    } else {
        format_double(d)
    }
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count].
pub fn zscan(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    coll::scan_command(view, argv, ZSET, &mut |m, v, out| {
        out.push(Reply::bulk(Bytes::copy_from_slice(m)));
        out.push(Reply::bulk(scan_score_text(decode_score(v))));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ').map(|a| Bytes::copy_from_slice(a.as_bytes())).collect()
    }

    #[test]
    fn range_floats_are_plain_strtod() {
        assert_eq!(parse_range_float(b"1.5"), Some(1.5));
        assert_eq!(parse_range_float(b""), Some(0.0));
        assert_eq!(parse_range_float(b" 2"), Some(2.0));
        assert_eq!(parse_range_float(b"0x10"), Some(16.0));
        assert_eq!(parse_range_float(b"1e999"), Some(f64::INFINITY));
        assert_eq!(parse_range_float(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_range_float(b"3\x00junk"), Some(3.0));
        for bad in [&b"2 "[..], b"abc", b"nan", b"1.5x", b"(1"] {
            assert_eq!(parse_range_float(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_score_item(b"(1"), Some((1.0, true)));
        assert_eq!(parse_score_item(b"("), Some((0.0, true)));
        assert_eq!(parse_score_item(b"((1"), None);
        assert_eq!(parse_score_range(b"1", b"x"), Err(not_float_range()));
    }

    #[test]
    fn score_bounds_are_exact() {
        let h = Handle {
            dtype: ZSET,
            coll: crate::store::Coll::new(1),
            expire_ms: 0,
            prefix: keys::coll_prefix(0, b"k", 1),
            existed: true,
        };
        let inside = |r: ScoreRange, s: f64| {
            let (lo, hi) = score_bounds(&h, &r);
            let k = keys::score_key(&h.prefix, s, b"m");
            lo <= k && k < hi
        };
        let r = |min, minex, max, maxex| ScoreRange { min, max, minex, maxex };
        assert!(inside(r(1.0, false, 2.0, false), 1.0));
        assert!(inside(r(1.0, false, 2.0, false), 2.0));
        assert!(!inside(r(1.0, true, 2.0, false), 1.0));
        assert!(!inside(r(1.0, false, 2.0, true), 2.0));
        assert!(inside(r(1.0, true, 2.0, true), 1.5));
        assert!(inside(r(f64::NEG_INFINITY, false, f64::INFINITY, false), f64::INFINITY));
        assert!(!inside(r(f64::NEG_INFINITY, false, f64::INFINITY, true), f64::INFINITY));
        assert!(inside(r(-0.0, false, 0.0, false), 0.0));
        assert!(!inside(r(0.0, true, 1.0, false), -0.0));
        let (lo, hi) = score_bounds(&h, &r(2.0, false, 1.0, false));
        assert!(lo >= hi);
    }

    #[test]
    fn lex_items_and_order() {
        let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
        assert_eq!(Lex::parse(&b("+")), Some(Lex::Max));
        assert_eq!(Lex::parse(&b("-")), Some(Lex::Min));
        assert_eq!(Lex::parse(&b("-\0x")), Some(Lex::Min));
        assert_eq!(Lex::parse(&b("[")), Some(Lex::Incl(b(""))));
        assert_eq!(Lex::parse(&b("(ab")), Some(Lex::Excl(b("ab"))));
        for bad in ["", "a", "+a", "-a"] {
            assert_eq!(Lex::parse(&b(bad)), None, "{bad:?}");
        }
        let r = |min: &str, max: &str| LexRange::parse(&b(min), &b(max)).unwrap();
        assert!(!r("-", "+").is_empty());
        assert!(r("+", "-").is_empty());
        assert!(r("-", "-").is_empty());
        assert!(r("[b", "[a").is_empty());
        assert!(r("(a", "[a").is_empty());
        assert!(!r("[a", "[a").is_empty());
        assert!(r("[a", "(b").gte_min(b"a") && !r("(a", "+").gte_min(b"a"));
        assert!(r("-", "(b").lte_max(b"a") && !r("-", "(b").lte_max(b"b") && r("-", "[b").lte_max(b"b"));
        assert!(!r("+", "+").gte_min(b"zzz") && !r("-", "-").lte_max(b""));
        assert!(LexRange::parse(&b("x"), &b("+")).is_err());
    }

    #[test]
    fn zadd_parsing() {
        let a = parse_zadd(&argv("zadd k nx ch 1 a 2.5 b"), false).unwrap();
        assert!(a.nx && a.ch && !a.incr);
        assert_eq!(a.pairs, vec![(1.0, 5), (2.5, 7)]);
        let err = |s: &str| parse_zadd(&argv(s), false).unwrap_err().to_string();
        assert_eq!(err("zadd k 1"), "ERR syntax error");
        assert_eq!(err("zadd k nx 1 a 2"), "ERR syntax error");
        assert_eq!(err("zadd k nx xx 1 a"), "ERR XX and NX options at the same time are not compatible");
        assert_eq!(err("zadd k gt lt 1 a"), "ERR GT, LT, and/or NX options at the same time are not compatible");
        assert_eq!(err("zadd k incr 1 a 2 b"), "ERR INCR option supports a single increment-element pair");
        assert_eq!(err("zadd k 1 a x b"), "ERR value is not a valid float");
        assert!(parse_zadd(&argv("zadd k xx gt ch 1 a"), false).is_ok());
        // ZINCRBY parses options too: an option word where the increment goes leaves one argument.
        assert_eq!(parse_zadd(&argv("zincrby k nx 1"), true).unwrap_err(), CmdError::Syntax);
        assert!(parse_zadd(&argv("zincrby k 1 a"), true).unwrap().incr);
    }

    #[test]
    fn range_args() {
        let p = |s: &str, by, dir| parse_range_args(&argv(s), by, dir);
        let a = p("zrange k 5 1 byscore rev limit 1 2 withscores", By::Auto, Dir::Auto).unwrap();
        assert_eq!(
            (a.by, a.reverse, a.withscores, a.offset, a.limit, a.min, a.max),
            (By::Score, true, true, 1, 2, 3, 2)
        );
        let a = p("zrange k 0 -1 rev", By::Auto, Dir::Auto).unwrap();
        assert_eq!((a.by, a.reverse, a.min, a.max), (By::Rank, true, 2, 3));
        assert!(p("zrange k 0 -1 limit 0 -1", By::Auto, Dir::Auto).is_ok());
        assert!(p("zrange k 0 -1 limit 0 1", By::Auto, Dir::Auto).unwrap_err().to_string().contains("LIMIT is only"));
        assert!(p("zrange k a b bylex withscores", By::Auto, Dir::Auto)
            .unwrap_err()
            .to_string()
            .contains("WITHSCORES"));
        assert_eq!(p("zrange k 0 1 rev rev", By::Auto, Dir::Auto).unwrap_err(), CmdError::Syntax);
        assert_eq!(p("zrange k 0 1 bylex byscore", By::Auto, Dir::Auto).unwrap_err(), CmdError::Syntax);
        assert_eq!(p("zrangebyscore k 0 1 rev", By::Score, Dir::Forward).unwrap_err(), CmdError::Syntax);
        assert_eq!(p("zrangebyscore k 0 1 limit 0", By::Score, Dir::Forward).unwrap_err(), CmdError::Syntax);
        assert_eq!(p("zrangebyscore k 0 1 limit x 1", By::Score, Dir::Forward).unwrap_err(), CmdError::NotInteger);
    }

    #[test]
    fn rank_bounds_like_redis() {
        assert_eq!(rank_bounds(0, -1, 5, false), Some((0, 4)));
        assert_eq!(rank_bounds(-100, 100, 5, false), Some((0, 4)));
        assert_eq!(rank_bounds(3, 1, 5, false), None);
        assert_eq!(rank_bounds(5, 10, 5, false), None);
        assert_eq!(rank_bounds(-2, -1, 5, false), Some((3, 4)));
        assert_eq!(rank_bounds(0, 1, 5, true), Some((3, 4)));
        assert_eq!(rank_bounds(-2, -1, 5, true), Some((0, 1)));
        assert_eq!(rank_bounds(i64::MIN, i64::MAX, 5, false), Some((0, 4)));
        assert_eq!(rank_bounds(i64::MAX, i64::MIN, 5, false), None);
    }

    #[test]
    fn zscan_scores_like_listpack_text() {
        assert_eq!(scan_score_text(123456789012345678.0), "123456789012345680");
        assert_eq!(scan_score_text(4611686018427387904.0), "4611686018427387904");
        assert_eq!(scan_score_text(-4611686018427387904.0), "-4611686018427387904");
        assert_eq!(scan_score_text(4611686018427388928.0), "4.6116860184273889e+18");
        assert_eq!(scan_score_text(-0.0), "0");
        assert_eq!(scan_score_text(0.1), "0.10000000000000001");
        assert_eq!(scan_score_text(1e20), "1e+20");
        assert_eq!(scan_score_text(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn negative_zero_is_stored_as_zero() {
        assert!(stored(-0.0).is_sign_positive());
        assert_eq!(stored(-1.5), -1.5);
        assert_eq!(decode_score(&score_bytes(2.25)), 2.25);
        assert!(decode_score(b"short").is_nan());
    }
}
