//! The 14 list commands. A list is a collection (`coll.rs`) whose elements live at consecutive
//! indexes `[head, tail)` of the index space: element `i` (0-based from the left) is the member
//! key `list_key(prefix, head + i)`. LLEN is the header's size, LINDEX/LSET one point access,
//! LRANGE/LPOS and the pops scan exactly the elements they need; LINSERT and LREM shift the
//! shorter side of the list, LTRIM deletes only what it trims.
//!
//! Argument errors that Redis reports before looking at the key are checked by the
//! `prepare_*` functions on the leader (so a bad command is never logged) and again by apply.

use bytes::Bytes;

use super::args::{eq, int_arg, lower, parse_i64};
use super::coll::{self, Handle};
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::store::apply::ApplyCtx;
use crate::store::keys;
use crate::store::view::{SubCf, View};
use crate::store::DataType;

const LIST: DataType = DataType::List;

/// Elements moved per scan when LINSERT/LREM shift a part of a list (bounds the memory used).
const SHIFT_BATCH: u64 = 1024;

const RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use \
                         negative to start from the end of the list";

fn other(text: &str) -> CmdError {
    CmdError::Other(text.to_string())
}

// ---------- pure helpers ----------

/// The 0-based position of `index` (negative counts from the end) in a list of `len`
/// elements, or None when out of range.
fn norm_index(index: i64, len: u64) -> Option<u64> {
    let i = if index < 0 { index as i128 + len as i128 } else { index as i128 };
    (0..len as i128).contains(&i).then_some(i as u64)
}

/// Redis's LRANGE/LTRIM range rules: the inclusive positions `[start, end]` of a list of
/// `len` elements, or None when the range is empty.
fn norm_range(start: i64, end: i64, len: u64) -> Option<(u64, u64)> {
    let len = len as i128;
    let mut s = start as i128;
    let mut e = end as i128;
    if s < 0 {
        s += len;
    }
    if e < 0 {
        e += len;
    }
    s = s.max(0);
    if s > e || s >= len {
        return None;
    }
    Some((s as u64, e.min(len - 1) as u64))
}

/// LEFT or RIGHT (true = left), as Redis's getListPositionFromObjectOrReply.
fn parse_side(b: &[u8]) -> CmdResult<bool> {
    if eq(b, "LEFT") {
        Ok(true)
    } else if eq(b, "RIGHT") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// The optional count of LPOP/RPOP (None = reply with a single bulk).
fn parse_pop_count(argv: &[Bytes]) -> CmdResult<Option<u64>> {
    match argv.len() {
        2 => Ok(None),
        3 => match parse_i64(&argv[2]) {
            Some(n) if n >= 0 => Ok(Some(n as u64)),
            _ => Err(other("ERR value is out of range, must be positive")),
        },
        _ => Err(CmdError::WrongArity(lower(&argv[0]))),
    }
}

/// LPOS options: RANK, COUNT (None = not given), MAXLEN (0 = no limit).
#[derive(Debug, PartialEq)]
struct LposArgs {
    rank: i64,
    count: Option<i64>,
    maxlen: i64,
}

fn parse_lpos(argv: &[Bytes]) -> CmdResult<LposArgs> {
    let mut a = LposArgs { rank: 1, count: None, maxlen: 0 };
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        let non_negative = |b: &[u8], what: &str| match parse_i64(b) {
            Some(n) if n >= 0 => Ok(n),
            _ => Err(CmdError::Other(format!("ERR {what} can't be negative"))),
        };
        if eq(&argv[j], "RANK") && more {
            a.rank = int_arg(&argv[j + 1])?;
            if a.rank == 0 {
                return Err(other(RANK_ZERO));
            }
        } else if eq(&argv[j], "COUNT") && more {
            a.count = Some(non_negative(&argv[j + 1], "COUNT")?);
        } else if eq(&argv[j], "MAXLEN") && more {
            a.maxlen = non_negative(&argv[j + 1], "MAXLEN")?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    Ok(a)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: (number of keys, left, count).
fn parse_lmpop(argv: &[Bytes]) -> CmdResult<(usize, bool, u64)> {
    let numkeys = match parse_i64(&argv[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(other("ERR numkeys should be greater than 0")),
    };
    let where_idx = numkeys.saturating_add(2);
    if where_idx >= argv.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let left = parse_side(&argv[where_idx])?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        if count.is_none() && eq(&argv[j], "COUNT") && j + 1 < argv.len() {
            count = Some(match parse_i64(&argv[j + 1]) {
                Some(n) if n >= 1 => n as u64,
                _ => return Err(other("ERR count should be greater than 0")),
            });
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((numkeys as usize, left, count.unwrap_or(1)))
}

/// How LREM closes the gaps left by the removed positions `rm` (sorted, non-empty, fewer
/// than `len`): true = move the elements after `rm[0]` left (tail side), false = move the
/// elements before the last removed one right (head side); whichever moves fewer.
fn compact_toward_head(rm: &[u64], len: u64) -> bool {
    let k = rm.len() as u64;
    let tail_side = len - rm[0] - k;
    let head_side = rm[k as usize - 1] + 1 - k;
    tail_side <= head_side
}

// ---------- element access ----------

/// The member key of the element at physical index `phys`.
fn phys_key(h: &Handle, phys: u64) -> Vec<u8> {
    keys::list_key(&h.prefix, phys)
}

/// The member key of the element at position `i` (0 = leftmost).
fn elem_key(h: &Handle, i: u64) -> Vec<u8> {
    phys_key(h, h.coll.head.wrapping_add(i))
}

fn phys_of(key: &[u8]) -> u64 {
    u64::from_be_bytes(key[key.len() - 8..].try_into().expect("list element key ends with its index"))
}

fn missing(i: u64) -> CmdError {
    CmdError::Storage(format!("list element {i} is missing"))
}

fn get_elem(view: &dyn View, h: &Handle, i: u64) -> CmdResult<Bytes> {
    view.get_sub(SubCf::Subkeys, &elem_key(h, i))?.map(Bytes::from).ok_or_else(|| missing(i))
}

/// Visits the elements at positions `[from, to)` (from the right end when `reverse`) as
/// (physical index, value) until `f` returns false.
fn scan_range(
    view: &dyn View,
    h: &Handle,
    from: u64,
    to: u64,
    reverse: bool,
    f: &mut dyn FnMut(u64, &[u8]) -> bool,
) -> CmdResult<()> {
    if from >= to {
        return Ok(());
    }
    view.scan(SubCf::Subkeys, &elem_key(h, from), &elem_key(h, to), reverse, &mut |k, v| f(phys_of(k), v))?;
    Ok(())
}

/// The elements at positions `[from, to)`, left to right (right to left when `reverse`).
fn read_range(view: &dyn View, h: &Handle, from: u64, to: u64, reverse: bool) -> CmdResult<Vec<Bytes>> {
    let mut out = Vec::with_capacity(to.saturating_sub(from).min(1 << 16) as usize);
    scan_range(view, h, from, to, reverse, &mut |_, v| {
        out.push(Bytes::copy_from_slice(v));
        true
    })?;
    if out.len() as u64 != to.saturating_sub(from) {
        return Err(missing(from + out.len() as u64));
    }
    Ok(out)
}

fn push_one(ctx: &mut ApplyCtx, h: &mut Handle, value: &[u8], left: bool) {
    let phys = if left {
        h.coll.head -= 1;
        h.coll.head
    } else {
        h.coll.tail += 1;
        h.coll.tail - 1
    };
    ctx.put_sub(SubCf::Subkeys, phys_key(h, phys), value.to_vec());
    h.coll.size += 1;
}

/// Removes up to `n` elements from one end and returns them in pop order.
fn pop_n(ctx: &mut ApplyCtx, h: &mut Handle, n: u64, left: bool) -> CmdResult<Vec<Bytes>> {
    let n = n.min(h.coll.size);
    let size = h.coll.size;
    let items = if left { read_range(&*ctx, h, 0, n, false)? } else { read_range(&*ctx, h, size - n, size, true)? };
    for j in 0..n {
        let phys = if left { h.coll.head + j } else { h.coll.tail - 1 - j };
        ctx.del_sub(SubCf::Subkeys, phys_key(h, phys));
    }
    if left {
        h.coll.head += n;
    } else {
        h.coll.tail -= n;
    }
    h.coll.size -= n;
    Ok(items)
}

/// Moves the elements at physical indexes `[lo, hi)` by `delta` (their old slots are left as
/// they are: the caller overwrites or deletes them). Reads in batches, in the order that never
/// overwrites an element not yet moved.
fn move_block(ctx: &mut ApplyCtx, h: &Handle, lo: u64, hi: u64, delta: i64) -> CmdResult<()> {
    let mut moved: Vec<(u64, Bytes)> = Vec::new();
    let (mut a, mut b) = (lo, hi);
    while a < b {
        moved.clear();
        let (from, to) =
            if delta < 0 { (a, b.min(a + SHIFT_BATCH)) } else { (a.max(b.saturating_sub(SHIFT_BATCH)), b) };
        ctx.scan(SubCf::Subkeys, &phys_key(h, from), &phys_key(h, to), delta > 0, &mut |k, v| {
            moved.push((phys_of(k), Bytes::copy_from_slice(v)));
            true
        })?;
        if moved.len() as u64 != to - from {
            return Err(missing(from.wrapping_sub(h.coll.head)));
        }
        for (phys, v) in moved.drain(..) {
            ctx.put_sub(SubCf::Subkeys, phys_key(h, phys.wrapping_add_signed(delta)), v.to_vec());
        }
        if delta < 0 {
            a = to;
        } else {
            b = from;
        }
    }
    Ok(())
}

/// Deletes the elements at positions `rm` (sorted, distinct) and closes the gaps by moving
/// the shorter side of the list.
fn remove_positions(ctx: &mut ApplyCtx, h: &mut Handle, rm: &[u64]) -> CmdResult<()> {
    let k = rm.len() as u64;
    if k == 0 {
        return Ok(());
    }
    if k == h.coll.size {
        // Everything goes: `save` deletes the key and all its elements at once.
        h.coll.size = 0;
        return Ok(());
    }
    let head = h.coll.head;
    if compact_toward_head(rm, h.coll.size) {
        // Segment j (after rm[j]) moves left by j + 1; the last k slots are freed.
        for (j, &r) in rm.iter().enumerate() {
            let end = rm.get(j + 1).copied().unwrap_or(h.coll.size);
            move_block(ctx, h, head + r + 1, head + end, -(j as i64 + 1))?;
        }
        for phys in h.coll.tail - k..h.coll.tail {
            ctx.del_sub(SubCf::Subkeys, phys_key(h, phys));
        }
        h.coll.tail -= k;
    } else {
        // Segment j (before rm[j]) moves right by k - j; the first k slots are freed.
        for j in (0..rm.len()).rev() {
            let start = if j == 0 { 0 } else { rm[j - 1] + 1 };
            move_block(ctx, h, head + start, head + rm[j], k as i64 - j as i64)?;
        }
        for phys in head..head + k {
            ctx.del_sub(SubCf::Subkeys, phys_key(h, phys));
        }
        h.coll.head += k;
    }
    h.coll.size -= k;
    Ok(())
}

fn bulks(items: Vec<Bytes>) -> Reply {
    Reply::Array(items.into_iter().map(Reply::Bulk).collect())
}

// ---------- writes ----------

fn push(ctx: &mut ApplyCtx, argv: &[Bytes], left: bool) -> CmdResult {
    let mut h = coll::load_or_new(ctx, &argv[1], LIST)?;
    for v in &argv[2..] {
        push_one(ctx, &mut h, v, left);
    }
    coll::save(ctx, &argv[1], &h)?;
    Ok(Reply::Int(h.coll.size as i64))
}

pub fn lpush(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    push(ctx, argv, true)
}

pub fn rpush(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    push(ctx, argv, false)
}

/// LPOP/RPOP key [count]: the count is checked before the key.
pub fn prepare_pop(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    parse_pop_count(argv)?;
    Ok(argv.to_vec())
}

fn pop(ctx: &mut ApplyCtx, argv: &[Bytes], left: bool) -> CmdResult {
    let count = parse_pop_count(argv)?;
    let Some(mut h) = coll::load(ctx, &argv[1], LIST)? else {
        return Ok(if count.is_some() { Reply::NilArray } else { Reply::Nil });
    };
    match count {
        None => {
            let v = pop_n(ctx, &mut h, 1, left)?;
            coll::save(ctx, &argv[1], &h)?;
            Ok(v.into_iter().next().map(Reply::Bulk).unwrap_or(Reply::Nil))
        }
        Some(0) => Ok(Reply::Array(Vec::new())),
        Some(n) => {
            let v = pop_n(ctx, &mut h, n, left)?;
            coll::save(ctx, &argv[1], &h)?;
            Ok(bulks(v))
        }
    }
}

pub fn lpop(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    pop(ctx, argv, true)
}

pub fn rpop(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    pop(ctx, argv, false)
}

pub fn lset(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let Some(h) = coll::load(ctx, &argv[1], LIST)? else { return Err(other("ERR no such key")) };
    let index = int_arg(&argv[2])?;
    let i = norm_index(index, h.coll.size).ok_or_else(|| other("ERR index out of range"))?;
    ctx.put_sub(SubCf::Subkeys, elem_key(&h, i), argv[3].to_vec());
    coll::save(ctx, &argv[1], &h)?;
    Ok(Reply::OK)
}

/// LINSERT key BEFORE|AFTER pivot element: the position word is checked before the key.
pub fn prepare_linsert(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    linsert_before(&argv[2])?;
    Ok(argv.to_vec())
}

fn linsert_before(b: &[u8]) -> CmdResult<bool> {
    if eq(b, "AFTER") {
        Ok(false)
    } else if eq(b, "BEFORE") {
        Ok(true)
    } else {
        Err(CmdError::Syntax)
    }
}

pub fn linsert(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let before = linsert_before(&argv[2])?;
    let Some(mut h) = coll::load(ctx, &argv[1], LIST)? else { return Ok(Reply::Int(0)) };
    let pivot = &argv[3][..];
    let mut found = None;
    scan_range(&*ctx, &h, 0, h.coll.size, false, &mut |phys, v| {
        if v == pivot {
            found = Some(phys - h.coll.head);
            return false;
        }
        true
    })?;
    let Some(p) = found else { return Ok(Reply::Int(-1)) };
    // The new element takes position q; the shorter side moves one step out of its way.
    let q = if before { p } else { p + 1 };
    let (head, size) = (h.coll.head, h.coll.size);
    if q < size - q {
        move_block(ctx, &h, head, head + q, -1)?;
        h.coll.head -= 1;
    } else {
        move_block(ctx, &h, head + q, head + size, 1)?;
        h.coll.tail += 1;
    }
    ctx.put_sub(SubCf::Subkeys, elem_key(&h, q), argv[4].to_vec());
    h.coll.size += 1;
    coll::save(ctx, &argv[1], &h)?;
    Ok(Reply::Int(h.coll.size as i64))
}

/// LREM key count element: the count is checked before the key.
pub fn prepare_lrem(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    int_arg(&argv[2])?;
    Ok(argv.to_vec())
}

pub fn lrem(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let count = int_arg(&argv[2])?;
    let Some(mut h) = coll::load(ctx, &argv[1], LIST)? else { return Ok(Reply::Int(0)) };
    let target = &argv[3][..];
    // count > 0: the first `count` matches from the left; < 0: from the right; 0: all.
    let limit = count.unsigned_abs();
    let mut rm = Vec::new();
    scan_range(&*ctx, &h, 0, h.coll.size, count < 0, &mut |phys, v| {
        if v == target {
            rm.push(phys - h.coll.head);
            if limit != 0 && rm.len() as u64 == limit {
                return false;
            }
        }
        true
    })?;
    if rm.is_empty() {
        return Ok(Reply::Int(0));
    }
    if count < 0 {
        rm.reverse();
    }
    remove_positions(ctx, &mut h, &rm)?;
    coll::save(ctx, &argv[1], &h)?;
    Ok(Reply::Int(rm.len() as i64))
}

/// LTRIM key start stop: both indexes are checked before the key.
pub fn prepare_ltrim(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    int_arg(&argv[2])?;
    int_arg(&argv[3])?;
    Ok(argv.to_vec())
}

pub fn ltrim(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let start = int_arg(&argv[2])?;
    let end = int_arg(&argv[3])?;
    let Some(mut h) = coll::load(ctx, &argv[1], LIST)? else { return Ok(Reply::OK) };
    let size = h.coll.size;
    let (ltrim, rtrim) = match norm_range(start, end, size) {
        Some((s, e)) => (s, size - 1 - e),
        None => (size, 0),
    };
    if ltrim + rtrim == size {
        // Everything goes: `save` deletes the key and all its elements at once.
        h.coll.size = 0;
    } else {
        let (head, tail) = (h.coll.head, h.coll.tail);
        for phys in (head..head + ltrim).chain(tail - rtrim..tail) {
            ctx.del_sub(SubCf::Subkeys, phys_key(&h, phys));
        }
        h.coll.head += ltrim;
        h.coll.tail -= rtrim;
        h.coll.size -= ltrim + rtrim;
    }
    // Redis signals the key as modified even when nothing was trimmed.
    coll::save(ctx, &argv[1], &h)?;
    Ok(Reply::OK)
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT: the sides are checked before the keys.
pub fn prepare_lmove(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    parse_side(&argv[3])?;
    parse_side(&argv[4])?;
    Ok(argv.to_vec())
}

pub fn lmove(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let from_left = parse_side(&argv[3])?;
    let to_left = parse_side(&argv[4])?;
    let Some(mut src) = coll::load(ctx, &argv[1], LIST)? else { return Ok(Reply::Nil) };
    if argv[1] == argv[2] {
        // Rotation: one handle, popped then pushed.
        let v = pop_n(ctx, &mut src, 1, from_left)?.pop().ok_or_else(|| missing(0))?;
        push_one(ctx, &mut src, &v, to_left);
        coll::save(ctx, &argv[1], &src)?;
        return Ok(Reply::Bulk(v));
    }
    // The destination's type is checked before anything is popped.
    let mut dst = match coll::load(ctx, &argv[2], LIST)? {
        Some(d) => d,
        None => coll::new_handle(ctx, &argv[2], LIST),
    };
    let v = pop_n(ctx, &mut src, 1, from_left)?.pop().ok_or_else(|| missing(0))?;
    push_one(ctx, &mut dst, &v, to_left);
    coll::save(ctx, &argv[1], &src)?;
    coll::save(ctx, &argv[2], &dst)?;
    Ok(Reply::Bulk(v))
}

/// LMPOP: every argument is checked before the keys (and a bad `numkeys` must never reach
/// the log: the router finds no keys in it).
pub fn prepare_lmpop(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    parse_lmpop(argv)?;
    Ok(argv.to_vec())
}

pub fn lmpop(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let (numkeys, left, count) = parse_lmpop(argv)?;
    for key in &argv[2..2 + numkeys] {
        let Some(mut h) = coll::load(ctx, key, LIST)? else { continue };
        let items = pop_n(ctx, &mut h, count, left)?;
        coll::save(ctx, key, &h)?;
        return Ok(Reply::Array(vec![Reply::Bulk(key.clone()), bulks(items)]));
    }
    Ok(Reply::NilArray)
}

// ---------- reads ----------

pub fn llen(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(coll::read(view, &argv[1], LIST)?.map(|h| h.coll.size as i64).unwrap_or(0)))
}

pub fn lindex(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let Some(h) = coll::read(view, &argv[1], LIST)? else { return Ok(Reply::Nil) };
    let index = int_arg(&argv[2])?;
    match norm_index(index, h.coll.size) {
        Some(i) => Ok(Reply::Bulk(get_elem(view, &h, i)?)),
        None => Ok(Reply::Nil),
    }
}

pub fn lrange(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let start = int_arg(&argv[2])?;
    let end = int_arg(&argv[3])?;
    let Some(h) = coll::read(view, &argv[1], LIST)? else { return Ok(Reply::Array(Vec::new())) };
    match norm_range(start, end, h.coll.size) {
        Some((s, e)) => Ok(bulks(read_range(view, &h, s, e + 1, false)?)),
        None => Ok(Reply::Array(Vec::new())),
    }
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len], with Redis's arithmetic
/// (including its wrap-around for RANK -9223372036854775808).
pub fn lpos(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let a = parse_lpos(argv)?;
    let Some(h) = coll::read(view, &argv[1], LIST)? else {
        return Ok(if a.count.is_some() { Reply::Array(Vec::new()) } else { Reply::Nil });
    };
    let (rank, from_right) = match a.rank < 0 {
        true => (a.rank.wrapping_neg(), true),
        false => (a.rank, false),
    };
    let size = h.coll.size;
    let span = if a.maxlen > 0 { (a.maxlen as u64).min(size) } else { size };
    let (from, to) = if from_right { (size - span, size) } else { (0, span) };
    let target = &argv[2][..];
    let mut matches: i64 = 0;
    let mut found = Vec::new();
    scan_range(view, &h, from, to, from_right, &mut |phys, v| {
        if v != target {
            return true;
        }
        matches += 1;
        if matches < rank {
            return true;
        }
        found.push((phys - h.coll.head) as i64);
        match a.count {
            None => false,
            Some(count) => count == 0 || matches.wrapping_sub(rank).wrapping_add(1) < count,
        }
    })?;
    Ok(match a.count {
        Some(_) => Reply::Array(found.into_iter().map(Reply::Int).collect()),
        None => found.first().map(|&i| Reply::Int(i)).unwrap_or(Reply::Nil),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ').map(|a| Bytes::copy_from_slice(a.as_bytes())).collect()
    }

    #[test]
    fn indexes_like_redis() {
        assert_eq!(norm_index(0, 3), Some(0));
        assert_eq!(norm_index(2, 3), Some(2));
        assert_eq!(norm_index(3, 3), None);
        assert_eq!(norm_index(-1, 3), Some(2));
        assert_eq!(norm_index(-3, 3), Some(0));
        assert_eq!(norm_index(-4, 3), None);
        assert_eq!(norm_index(i64::MIN, 3), None);
        assert_eq!(norm_index(i64::MAX, 3), None);
        assert_eq!(norm_index(0, 0), None);
    }

    #[test]
    fn ranges_like_redis() {
        assert_eq!(norm_range(0, -1, 5), Some((0, 4)));
        assert_eq!(norm_range(-100, 100, 5), Some((0, 4)));
        assert_eq!(norm_range(1, 2, 5), Some((1, 2)));
        assert_eq!(norm_range(-2, -1, 5), Some((3, 4)));
        assert_eq!(norm_range(3, 1, 5), None);
        assert_eq!(norm_range(5, 10, 5), None);
        assert_eq!(norm_range(0, -6, 5), None);
        assert_eq!(norm_range(i64::MIN, i64::MAX, 5), Some((0, 4)));
        assert_eq!(norm_range(i64::MAX, i64::MAX, 5), None);
        assert_eq!(norm_range(0, 0, 0), None);
    }

    #[test]
    fn pop_counts() {
        assert_eq!(parse_pop_count(&argv("LPOP k")), Ok(None));
        assert_eq!(parse_pop_count(&argv("LPOP k 0")), Ok(Some(0)));
        assert_eq!(parse_pop_count(&argv("LPOP k 9223372036854775807")), Ok(Some(i64::MAX as u64)));
        let positive = Err(other("ERR value is out of range, must be positive"));
        assert_eq!(parse_pop_count(&argv("LPOP k -1")), positive);
        assert_eq!(parse_pop_count(&argv("LPOP k x")), positive);
        assert_eq!(parse_pop_count(&argv("LPOP k 1 2")), Err(CmdError::WrongArity("lpop".into())));
    }

    #[test]
    fn lpos_options() {
        assert_eq!(parse_lpos(&argv("LPOS k e")), Ok(LposArgs { rank: 1, count: None, maxlen: 0 }));
        assert_eq!(
            parse_lpos(&argv("LPOS k e rank -2 COUNT 0 maxlen 7")),
            Ok(LposArgs { rank: -2, count: Some(0), maxlen: 7 })
        );
        assert_eq!(parse_lpos(&argv("LPOS k e RANK 0")), Err(other(RANK_ZERO)));
        assert_eq!(parse_lpos(&argv("LPOS k e RANK x")), Err(CmdError::NotInteger));
        assert_eq!(parse_lpos(&argv("LPOS k e COUNT x")), Err(other("ERR COUNT can't be negative")));
        assert_eq!(parse_lpos(&argv("LPOS k e MAXLEN -1")), Err(other("ERR MAXLEN can't be negative")));
        assert_eq!(parse_lpos(&argv("LPOS k e RANK")), Err(CmdError::Syntax));
        assert_eq!(parse_lpos(&argv("LPOS k e FOO 1")), Err(CmdError::Syntax));
        // Options are read left to right: the first bad one decides the error.
        assert_eq!(parse_lpos(&argv("LPOS k e COUNT -1 RANK 0")), Err(other("ERR COUNT can't be negative")));
    }

    #[test]
    fn lmpop_arguments() {
        assert_eq!(parse_lmpop(&argv("LMPOP 2 a b LEFT")), Ok((2, true, 1)));
        assert_eq!(parse_lmpop(&argv("LMPOP 1 a right COUNT 5")), Ok((1, false, 5)));
        let numkeys = Err(other("ERR numkeys should be greater than 0"));
        assert_eq!(parse_lmpop(&argv("LMPOP 0 a LEFT")), numkeys);
        assert_eq!(parse_lmpop(&argv("LMPOP x a LEFT")), numkeys);
        assert_eq!(parse_lmpop(&argv("LMPOP 3 a LEFT")), Err(CmdError::Syntax));
        assert_eq!(parse_lmpop(&argv("LMPOP 9223372036854775807 a LEFT")), Err(CmdError::Syntax));
        assert_eq!(parse_lmpop(&argv("LMPOP 1 a UP")), Err(CmdError::Syntax));
        let count = Err(other("ERR count should be greater than 0"));
        assert_eq!(parse_lmpop(&argv("LMPOP 1 a LEFT COUNT 0")), count);
        assert_eq!(parse_lmpop(&argv("LMPOP 1 a LEFT COUNT x")), count);
        assert_eq!(parse_lmpop(&argv("LMPOP 1 a LEFT COUNT")), Err(CmdError::Syntax));
        assert_eq!(parse_lmpop(&argv("LMPOP 1 a LEFT COUNT 1 COUNT 2")), Err(CmdError::Syntax));
    }

    #[test]
    fn sides_and_insert_positions() {
        assert_eq!(parse_side(b"left"), Ok(true));
        assert_eq!(parse_side(b"RIGHT"), Ok(false));
        assert_eq!(parse_side(b"up"), Err(CmdError::Syntax));
        assert_eq!(linsert_before(b"before"), Ok(true));
        assert_eq!(linsert_before(b"AFTER"), Ok(false));
        assert_eq!(linsert_before(b"middle"), Err(CmdError::Syntax));
    }

    #[test]
    fn lrem_moves_the_shorter_side() {
        // Removing near the right end moves the few elements after it.
        assert!(compact_toward_head(&[8], 10));
        // Removing near the left end moves the few elements before it.
        assert!(!compact_toward_head(&[1], 10));
        assert!(!compact_toward_head(&[0, 1, 2], 10));
        assert!(compact_toward_head(&[7, 9], 10));
        // Matches at both ends: either side moves (almost) everything.
        assert!(compact_toward_head(&[0, 9], 10));
    }
}

/// The commands on a real store: bounded reads, and a randomized comparison of every write
/// with a simple model (including shifts longer than one batch and several commands per entry).
#[cfg(test)]
mod store_tests {
    use std::cell::Cell;
    use std::collections::VecDeque;
    use std::sync::Arc;

    use super::*;
    use crate::cmd::coll::Rng;
    use crate::cmd::table::{self, Handler};
    use crate::store::keys::SLOTS;
    use crate::store::read::ReadCtx;
    use crate::store::view::ScanFn;
    use crate::store::{Engine, StoreError, Value};

    struct Db {
        _dir: tempfile::TempDir,
        engine: Arc<Engine>,
        index: u64,
    }

    fn cmd(parts: &[&str]) -> Vec<Bytes> {
        parts.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect()
    }

    impl Db {
        fn new() -> Db {
            let dir = tempfile::tempdir().unwrap();
            let engine = Engine::open(dir.path()).unwrap();
            Db { _dir: dir, engine, index: 0 }
        }

        /// Applies the commands as one log entry (prepare first, as the leader does).
        fn write(&mut self, cmds: &[Vec<Bytes>]) -> Vec<Reply> {
            self.index += 1;
            let mut ctx = ApplyCtx::new(&self.engine, (0, SLOTS as u32), 1000, self.index);
            let mut out = Vec::new();
            for argv in cmds {
                let spec = table::lookup(&argv[0]).unwrap();
                assert!(spec.arity_ok(argv.len()), "{argv:?}");
                let r = match spec.handler {
                    Handler::Write { prepare, apply } => {
                        let argv = match prepare.map(|p| p(argv, 1000)).transpose() {
                            Ok(a) => a.unwrap_or_else(|| argv.clone()),
                            Err(e) => {
                                out.push(e.to_reply());
                                continue;
                            }
                        };
                        apply(&mut ctx, &argv)
                    }
                    Handler::Read(f) => f(&ctx, argv),
                    Handler::Conn(_) | Handler::Txn(_) => panic!("not a data command"),
                };
                out.push(r.unwrap_or_else(|e| e.to_reply()));
            }
            let (batch, _) = ctx.finish(&[]);
            self.engine.db.write(batch).unwrap();
            out
        }

        fn write1(&mut self, parts: &[&str]) -> Reply {
            self.write(&[cmd(parts)]).pop().unwrap()
        }

        /// Runs a read command on a view that counts every element it touches.
        fn read(&self, parts: &[&str]) -> (Reply, u64) {
            let argv = cmd(parts);
            let Handler::Read(f) = table::lookup(&argv[0]).unwrap().handler else { panic!("not a read") };
            let inner = ReadCtx::new(&self.engine, 1000, true);
            let view = Counting { inner: &inner, touched: Cell::new(0) };
            let r = f(&view, &argv).unwrap_or_else(|e| e.to_reply());
            (r, view.touched.get())
        }

        /// The list's elements, after checking that exactly `[head, tail)` is stored.
        fn contents(&self, key: &str) -> Vec<Bytes> {
            let view = ReadCtx::new(&self.engine, 1000, true);
            let Some(h) = coll::read(&view, key.as_bytes(), LIST).unwrap() else { return Vec::new() };
            assert_eq!(h.coll.size, h.coll.tail - h.coll.head, "size matches head/tail");
            assert!(h.coll.size > 0, "a stored list is never empty");
            let mut out = Vec::new();
            let mut expect = h.coll.head;
            view.scan(SubCf::Subkeys, &h.prefix, &h.end(), false, &mut |k, v| {
                assert_eq!(phys_of(k), expect, "element keys are exactly [head, tail)");
                expect += 1;
                out.push(Bytes::copy_from_slice(v));
                true
            })
            .unwrap();
            assert_eq!(expect, h.coll.tail);
            out
        }
    }

    struct Counting<'a> {
        inner: &'a dyn View,
        touched: Cell<u64>,
    }

    impl View for Counting<'_> {
        fn now(&self) -> u64 {
            self.inner.now()
        }
        fn lookup(&self, key: &[u8]) -> Result<Option<Value>, StoreError> {
            self.inner.lookup(key)
        }
        fn get_sub(&self, cf: SubCf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
            self.touched.set(self.touched.get() + 1);
            self.inner.get_sub(cf, key)
        }
        fn scan(&self, cf: SubCf, lower: &[u8], upper: &[u8], reverse: bool, f: &mut ScanFn) -> Result<(), StoreError> {
            self.inner.scan(cf, lower, upper, reverse, &mut |k, v| {
                self.touched.set(self.touched.get() + 1);
                f(k, v)
            })
        }
    }

    fn bulk_strs(r: &Reply) -> Vec<String> {
        let Reply::Array(items) = r else { panic!("not an array: {r:?}") };
        items
            .iter()
            .map(|i| match i {
                Reply::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn big_list_reads_touch_only_what_they_return() {
        let mut db = Db::new();
        const N: usize = 200_000;
        for chunk in 0..N / 10_000 {
            let mut argv = vec!["RPUSH".to_string(), "big".to_string()];
            argv.extend((chunk * 10_000..(chunk + 1) * 10_000).map(|i| i.to_string()));
            let parts: Vec<&str> = argv.iter().map(String::as_str).collect();
            assert_eq!(db.write1(&parts), Reply::Int(((chunk + 1) * 10_000) as i64));
        }
        assert_eq!(db.read(&["LLEN", "big"]), (Reply::Int(N as i64), 0));
        let (r, touched) = db.read(&["LRANGE", "big", "0", "9"]);
        assert_eq!(bulk_strs(&r), (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
        assert_eq!(touched, 10);
        let (r, touched) = db.read(&["LRANGE", "big", "-3", "-1"]);
        assert_eq!(bulk_strs(&r), ["199997", "199998", "199999"]);
        assert_eq!(touched, 3);
        let (r, touched) = db.read(&["LRANGE", "big", "100000", "100004"]);
        assert_eq!(bulk_strs(&r), ["100000", "100001", "100002", "100003", "100004"]);
        assert_eq!(touched, 5);
        assert_eq!(db.read(&["LINDEX", "big", "123456"]), (Reply::bulk(Bytes::from_static(b"123456")), 1));
        assert_eq!(db.read(&["LPOS", "big", "199990", "RANK", "-1"]), (Reply::Int(199_990), 10));
        assert_eq!(db.read(&["LPOS", "big", "150000", "MAXLEN", "7"]), (Reply::Nil, 7));
        assert_eq!(db.read(&["LPOS", "big", "3", "COUNT", "1"]).1, 4);
        // Writes at the ends and in the middle keep the list intact.
        assert_eq!(db.write1(&["LSET", "big", "100000", "mid"]), Reply::OK);
        assert_eq!(db.write1(&["LINSERT", "big", "BEFORE", "199999", "x"]), Reply::Int(N as i64 + 1));
        assert_eq!(db.write1(&["LTRIM", "big", "5", "-5"]), Reply::OK);
        let (r, _) = db.read(&["LRANGE", "big", "99994", "99996"]);
        assert_eq!(bulk_strs(&r), ["99999", "mid", "100001"]);
        assert_eq!(db.read(&["LLEN", "big"]).0, Reply::Int(N as i64 + 1 - 9));
        assert_eq!(db.contents("big").len(), N + 1 - 9);
    }

    #[test]
    fn long_shifts_cross_batches_on_both_sides() {
        let mut db = Db::new();
        let n = 3 * SHIFT_BATCH as usize;
        let mut want: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let mut argv = vec!["RPUSH".to_string(), "l".to_string()];
        argv.extend(want.iter().cloned());
        db.write1(&argv.iter().map(String::as_str).collect::<Vec<_>>());
        let check = |db: &Db, want: &[String]| {
            let got: Vec<String> = db.contents("l").iter().map(|b| String::from_utf8(b.to_vec()).unwrap()).collect();
            assert_eq!(got, want);
        };
        // Left of the middle: the head side (1400 elements) moves left.
        let p = want.iter().position(|v| v == "1400").unwrap();
        want.insert(p, "x".into());
        assert_eq!(db.write1(&["LINSERT", "l", "BEFORE", "1400", "x"]), Reply::Int(want.len() as i64));
        check(&db, &want);
        // Right of the middle: the tail side (about 1300 elements) moves right.
        let p = want.iter().position(|v| v == "1770").unwrap();
        want.insert(p + 1, "y".into());
        assert_eq!(db.write1(&["LINSERT", "l", "AFTER", "1770", "y"]), Reply::Int(want.len() as i64));
        check(&db, &want);
        // LREM near the middle on either side, then with matches spread over the list.
        for (count, v) in [(1, "1300"), (-1, "1800"), (1, "x"), (-1, "y")] {
            want.retain(|e| e != v);
            assert_eq!(db.write1(&["LREM", "l", count.to_string().as_str(), v]), Reply::Int(1));
            check(&db, &want);
        }
        let mut cmds = Vec::new();
        for i in [5, 1100, 1500, 2100, 3000] {
            want[i] = "dup".into();
            cmds.push(cmd(&["LSET", "l", i.to_string().as_str(), "dup"]));
        }
        cmds.push(cmd(&["LREM", "l", "-2", "dup"]));
        cmds.push(cmd(&["LREM", "l", "2", "dup"]));
        let replies = db.write(&cmds);
        assert_eq!(&replies[5..], [Reply::Int(2), Reply::Int(2)]);
        for i in [3000, 2100, 1100, 5] {
            want.remove(i);
        }
        check(&db, &want);
        assert_eq!(db.write1(&["LREM", "l", "0", "dup"]), Reply::Int(1));
        want.retain(|e| e != "dup");
        check(&db, &want);
    }

    /// What Redis does to a list, on a VecDeque.
    fn model(l: &mut VecDeque<String>, other: &mut VecDeque<String>, argv: &[String]) -> Option<String> {
        let n = l.len() as i64;
        let idx = |i: i64| if i < 0 { i + n } else { i };
        Some(match argv[0].as_str() {
            "LPUSH" => {
                argv[2..].iter().for_each(|v| l.push_front(v.clone()));
                l.len().to_string()
            }
            "RPUSH" => {
                argv[2..].iter().for_each(|v| l.push_back(v.clone()));
                l.len().to_string()
            }
            "LPOP" | "RPOP" if l.is_empty() => return None,
            "LPOP" | "RPOP" => {
                let c: usize = argv[2].parse().unwrap();
                let got: Vec<String> =
                    (0..c).map_while(|_| if argv[0] == "LPOP" { l.pop_front() } else { l.pop_back() }).collect();
                got.join(",")
            }
            "LSET" => {
                let i = idx(argv[2].parse().unwrap());
                if i < 0 || i >= n {
                    return None;
                }
                l[i as usize] = argv[3].clone();
                "OK".into()
            }
            "LINSERT" if l.is_empty() => "0".into(),
            "LINSERT" => match l.iter().position(|v| *v == argv[3]) {
                None => "-1".into(),
                Some(p) => {
                    l.insert(if argv[2] == "BEFORE" { p } else { p + 1 }, argv[4].clone());
                    l.len().to_string()
                }
            },
            "LREM" => {
                let c: i64 = argv[2].parse().unwrap();
                let mut pos: Vec<usize> = (0..l.len()).filter(|&i| l[i] == argv[3]).collect();
                if c < 0 {
                    pos.reverse();
                }
                if c != 0 {
                    pos.truncate(c.unsigned_abs() as usize);
                }
                pos.sort_unstable();
                for &p in pos.iter().rev() {
                    l.remove(p);
                }
                pos.len().to_string()
            }
            "LTRIM" => {
                let (s, e): (i64, i64) = (argv[2].parse().unwrap(), argv[3].parse().unwrap());
                let (s, e) = (idx(s).max(0), idx(e).min(n - 1));
                if s > e {
                    l.clear();
                } else {
                    l.truncate(e as usize + 1);
                    l.drain(..s as usize);
                }
                "OK".into()
            }
            "LMOVE" => {
                let v = if argv[3] == "LEFT" { l.pop_front() } else { l.pop_back() }?;
                let dst = if argv[1] == argv[2] { l } else { other };
                if argv[4] == "LEFT" {
                    dst.push_front(v.clone());
                } else {
                    dst.push_back(v.clone());
                }
                v
            }
            _ => unreachable!(),
        })
    }

    fn reply_text(r: &Reply) -> Option<String> {
        match r {
            Reply::Int(i) => Some(i.to_string()),
            Reply::Status(s) => Some(s.to_string()),
            Reply::Bulk(b) => Some(String::from_utf8(b.to_vec()).unwrap()),
            Reply::Array(_) => Some(bulk_strs(r).join(",")),
            Reply::Nil | Reply::NilArray => None,
            Reply::Error(e) if e == "ERR index out of range" || e == "ERR no such key" => None,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    #[test]
    fn random_writes_match_a_model() {
        let mut db = Db::new();
        let mut rng = Rng::new(20240601);
        let vals = ["a", "b", "c", "d", "e"];
        let mut l: VecDeque<String> = VecDeque::new();
        let mut m: VecDeque<String> = VecDeque::new();
        for op in 0..400 {
            // Refill to a size that makes shifts cross SHIFT_BATCH.
            if l.len() < 300 {
                let n = 500 + rng.below(2500) as usize;
                let mut argv = vec!["RPUSH".to_string(), "{k}l".to_string()];
                argv.extend((0..n).map(|_| vals[rng.below(5) as usize].to_string()));
                let parts: Vec<&str> = argv.iter().map(String::as_str).collect();
                let want = model(&mut l, &mut m, &argv);
                assert_eq!(reply_text(&db.write1(&parts)), want);
            }
            // A few commands per entry, so later ones read the entry's own writes.
            let batch = 1 + rng.below(3) as usize;
            let mut cmds = Vec::new();
            let mut wants = Vec::new();
            for _ in 0..batch {
                let len = l.len() as i64 + 2;
                let r = |rng: &mut Rng, span: i64| rng.below(2 * span as u64 + 1) as i64 - span;
                let v = vals[rng.below(5) as usize].to_string();
                let side = |rng: &mut Rng| if rng.below(2) == 0 { "LEFT" } else { "RIGHT" };
                let argv: Vec<String> = match rng.below(9) {
                    0 => vec!["LPUSH".into(), "{k}l".into(), v, "z".into()],
                    1 => vec![
                        if rng.below(2) == 0 { "LPOP" } else { "RPOP" }.into(),
                        "{k}l".into(),
                        rng.below(4).to_string(),
                    ],
                    2 => vec!["LSET".into(), "{k}l".into(), r(&mut rng, len).to_string(), "s".into()],
                    3 | 4 => {
                        let w = if rng.below(2) == 0 { "BEFORE" } else { "AFTER" };
                        vec!["LINSERT".into(), "{k}l".into(), w.into(), v, format!("i{op}")]
                    }
                    5 | 6 => vec!["LREM".into(), "{k}l".into(), r(&mut rng, 3).to_string(), v],
                    7 => {
                        let (s, e) = (r(&mut rng, 20), r(&mut rng, 20));
                        let e = if e >= 0 && rng.below(2) == 0 { e - len } else { e };
                        vec!["LTRIM".into(), "{k}l".into(), s.to_string(), e.to_string()]
                    }
                    _ => {
                        let dst = if rng.below(2) == 0 { "{k}l" } else { "{k}m" };
                        vec!["LMOVE".into(), "{k}l".into(), dst.into(), side(&mut rng).into(), side(&mut rng).into()]
                    }
                };
                wants.push((argv.clone(), model(&mut l, &mut m, &argv)));
                cmds.push(argv.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect::<Vec<_>>());
            }
            let got = db.write(&cmds);
            for ((argv, want), r) in wants.iter().zip(&got) {
                assert_eq!(&reply_text(r), want, "op {op}: {argv:?}");
            }
            let as_strings = |v: Vec<Bytes>| v.into_iter().map(|b| String::from_utf8(b.to_vec()).unwrap()).collect();
            let got_l: Vec<String> = as_strings(db.contents("{k}l"));
            assert_eq!(got_l, l.iter().cloned().collect::<Vec<_>>(), "op {op}");
            let got_m: Vec<String> = as_strings(db.contents("{k}m"));
            assert_eq!(got_m, m.iter().cloned().collect::<Vec<_>>(), "op {op}");
        }
    }
}
