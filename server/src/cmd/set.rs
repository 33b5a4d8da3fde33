//! The 17 set commands. Members are members of the set's collection (`coll.rs`) with an empty
//! value; SCARD is the header's size, SISMEMBER one point lookup, the rest iterate.
//!
//! SPOP picks at random on the leader's behalf: `prepare_spop` logs the command with a seed
//! (`SPOP key count|"" seed`) and every replica picks the same members with `Rng::new(seed)`.
//! SRANDMEMBER is a read, so its randomness is local.

use std::collections::HashSet;

use bytes::Bytes;

use super::args::{eq, parse_i64};
use super::coll::{self, Handle, Rng};
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::store::apply::ApplyCtx;
use crate::store::view::{SubCf, View};
use crate::store::DataType;

const SET: DataType = DataType::Set;

/// Sets up to this size pick random members by position (exactly uniform, one pass over the
/// set); bigger ones seek to a random hash (O(log N) per pick, see `pick_near`).
const EXACT_PICK_MAX: u64 = 1024;

/// How far `pick_near` walks past the member it seeks to (at most `WALK - 1` members).
const WALK: u64 = 16;

fn not_positive() -> CmdError {
    CmdError::Other("ERR value is out of range, must be positive".into())
}

fn is_member(view: &dyn View, h: &Handle, member: &[u8]) -> CmdResult<bool> {
    Ok(view.get_sub(SubCf::Subkeys, &h.member_key(member))?.is_some())
}

/// Adds one member; returns true when it is new.
fn add_member(ctx: &mut ApplyCtx, h: &mut Handle, member: &[u8]) -> CmdResult<bool> {
    let k = h.member_key(member);
    if ctx.get_sub(SubCf::Subkeys, &k)?.is_some() {
        return Ok(false);
    }
    ctx.put_sub(SubCf::Subkeys, k, Vec::new());
    h.coll.size += 1;
    Ok(true)
}

/// Removes one member; returns true when it was there.
fn remove_member(ctx: &mut ApplyCtx, h: &mut Handle, member: &[u8]) -> CmdResult<bool> {
    let k = h.member_key(member);
    if ctx.get_sub(SubCf::Subkeys, &k)?.is_none() {
        return Ok(false);
    }
    ctx.del_sub(SubCf::Subkeys, k);
    h.coll.size -= 1;
    Ok(true)
}

/// Every member, in storage order.
fn members(view: &dyn View, h: &Handle) -> CmdResult<Vec<Bytes>> {
    let mut out = Vec::with_capacity(h.coll.size.min(1 << 16) as usize);
    coll::for_each(view, h, &mut |m, _| {
        out.push(Bytes::copy_from_slice(m));
        true
    })?;
    Ok(out)
}

/// The members at the storage positions `indexes` (see `coll::pick`).
fn pick(view: &dyn View, h: &Handle, indexes: &[u64]) -> CmdResult<Vec<Bytes>> {
    Ok(coll::pick(view, h, indexes)?.into_iter().map(|(m, _)| m).collect())
}

/// One random member of a big set without a pass over it: seeks to a random hash, then walks
/// a random 0..WALK members further (wrapping around). A member's chance follows the hash gaps
/// before it, averaged over WALK gaps, so picks are near uniform (the idea of Redis's
/// dictGetFairRandomKey). None only for an empty set.
fn pick_near(view: &dyn View, h: &Handle, rng: &mut Rng) -> CmdResult<Option<Bytes>> {
    let mut lower = h.prefix.clone();
    lower.extend_from_slice(&rng.below(1 << 62).to_be_bytes());
    let mut steps = rng.below(WALK.min(h.coll.size));
    let plen = h.prefix.len();
    let mut found = None;
    // From the random hash to the end, then (wrapping around) from the start.
    for from in [lower, h.prefix.clone()] {
        view.scan(SubCf::Subkeys, &from, &h.end(), false, &mut |k, _| {
            if steps == 0 {
                found = Some(Bytes::copy_from_slice(&k[plen + 8..]));
                return false;
            }
            steps -= 1;
            true
        })?;
        if found.is_some() {
            break;
        }
    }
    Ok(found)
}

/// `k` random members (k < size when `distinct`; repeats allowed otherwise), deterministic for
/// a given `rng` and set. Small sets and large counts pick positions in one pass; a few
/// members of a big set are sought one by one.
fn random_members(view: &dyn View, h: &Handle, rng: &mut Rng, k: u64, distinct: bool) -> CmdResult<Vec<Bytes>> {
    let size = h.coll.size;
    if size <= EXACT_PICK_MAX || k.saturating_mul(8) >= size {
        let indexes = match distinct {
            true => rng.distinct_sorted(size, k),
            false => (0..k).map(|_| rng.below(size)).collect(),
        };
        return pick(view, h, &indexes);
    }
    let mut out = Vec::with_capacity(k as usize);
    let mut seen = HashSet::new();
    while (out.len() as u64) < k {
        let Some(m) = pick_near(view, h, rng)? else { break };
        // k < size / 8, so a repeat is rare and another try is cheap.
        if distinct && !seen.insert(m.clone()) {
            continue;
        }
        out.push(m);
    }
    Ok(out)
}

fn set_reply(members: Vec<Bytes>) -> Reply {
    Reply::Set(members.into_iter().map(Reply::Bulk).collect())
}

// ---------- writes ----------

pub fn sadd(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let mut h = coll::load_or_new(ctx, &argv[1], SET)?;
    let mut added = 0;
    for m in &argv[2..] {
        added += add_member(ctx, &mut h, m)? as i64;
    }
    // Like Redis, a SADD that adds nothing does not touch the key (WATCH does not fire).
    if added > 0 {
        coll::save(ctx, &argv[1], &h)?;
    }
    Ok(Reply::Int(added))
}

pub fn srem(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let Some(mut h) = coll::load(ctx, &argv[1], SET)? else { return Ok(Reply::Int(0)) };
    let mut removed = 0;
    for m in &argv[2..] {
        removed += remove_member(ctx, &mut h, m)? as i64;
    }
    if removed > 0 {
        coll::save(ctx, &argv[1], &h)?;
    }
    Ok(Reply::Int(removed))
}

/// SMOVE src dst member. A missing source answers 0 before any type check of the destination;
/// otherwise both must be sets. src == dst answers whether the member is there.
pub fn smove(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&argv[1], &argv[2], &argv[3]);
    let Some(mut sh) = coll::load(ctx, src, SET)? else { return Ok(Reply::Int(0)) };
    let dh = coll::load(ctx, dst, SET)?;
    if src == dst {
        return Ok(Reply::Int(is_member(&*ctx, &sh, member)? as i64));
    }
    if !remove_member(ctx, &mut sh, member)? {
        return Ok(Reply::Int(0));
    }
    coll::save(ctx, src, &sh)?;
    let mut dh = match dh {
        Some(h) => h,
        None => coll::new_handle(ctx, dst, SET),
    };
    add_member(ctx, &mut dh, member)?;
    // Redis signals the destination modified even when it already had the member.
    coll::save(ctx, dst, &dh)?;
    Ok(Reply::Int(1))
}

/// SPOP's count, checked like Redis's getPositiveLongFromObjectOrReply (any bad count,
/// not only a negative one, gets the same error).
fn spop_count(arg: &[u8]) -> CmdResult<u64> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(not_positive()),
    }
}

/// Logs `SPOP key count|"" seed`: the count checked, and the seed of the random choice.
pub fn prepare_spop(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match argv.get(2) {
        Some(c) => {
            spop_count(c)?;
            c.clone()
        }
        None => Bytes::new(),
    };
    let seed = Bytes::from(Rng::fresh_seed().to_string());
    Ok(vec![argv[0].clone(), argv[1].clone(), count, seed])
}

/// SPOP key [count], in its logged form `SPOP key count|"" seed` (`prepare_spop`): the seed
/// chosen by the leader makes every replica pop the same members.
pub fn spop(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let [_, _, count, seed] = argv else { return Err(CmdError::Syntax) };
    let count = if count.is_empty() { None } else { Some(spop_count(count)?) };
    let seed = std::str::from_utf8(seed).ok().and_then(|s| s.parse::<u64>().ok()).ok_or(CmdError::Syntax)?;
    let Some(mut h) = coll::load(ctx, &argv[1], SET)? else {
        return Ok(if count.is_some() { Reply::Set(Vec::new()) } else { Reply::Nil });
    };
    let mut rng = Rng::new(seed);
    let size = h.coll.size;
    let popped = match count {
        Some(0) => return Ok(Reply::Set(Vec::new())),
        Some(n) if n >= size => {
            let all = members(&*ctx, &h)?;
            ctx.delete(&argv[1])?;
            return Ok(set_reply(all));
        }
        Some(n) => random_members(&*ctx, &h, &mut rng, n, true)?,
        None => random_members(&*ctx, &h, &mut rng, 1, true)?,
    };
    for m in &popped {
        remove_member(ctx, &mut h, m)?;
    }
    coll::save(ctx, &argv[1], &h)?;
    Ok(match count {
        Some(_) => set_reply(popped),
        None => popped.into_iter().next().map(Reply::Bulk).unwrap_or(Reply::Nil),
    })
}

/// Writes the result of a *STORE to `dst` as a new set, replacing whatever `dst` held (its
/// members, type and TTL); an empty result deletes `dst`.
fn store(ctx: &mut ApplyCtx, dst: &[u8], result: Vec<Bytes>) -> CmdResult {
    if result.is_empty() {
        ctx.delete(dst)?;
        return Ok(Reply::Int(0));
    }
    let mut h = coll::new_handle(ctx, dst, SET);
    for m in &result {
        ctx.put_sub(SubCf::Subkeys, h.member_key(m), Vec::new());
    }
    h.coll.size = result.len() as u64;
    coll::save(ctx, dst, &h)?;
    Ok(Reply::Int(result.len() as i64))
}

pub fn sinterstore(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let sets = open_all(&*ctx, &argv[2..])?;
    let mut result = Vec::new();
    inter(&*ctx, &sets, 0, &mut |m| result.push(Bytes::copy_from_slice(m)))?;
    store(ctx, &argv[1], result)
}

pub fn sunionstore(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let sets = open_all(&*ctx, &argv[2..])?;
    let result = union(&*ctx, &sets)?;
    store(ctx, &argv[1], result)
}

pub fn sdiffstore(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let sets = open_all(&*ctx, &argv[2..])?;
    let result = diff(&*ctx, &sets)?;
    store(ctx, &argv[1], result)
}

// ---------- reads ----------

pub fn smembers(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let Some(h) = coll::read(view, &argv[1], SET)? else { return Ok(Reply::Set(Vec::new())) };
    Ok(set_reply(members(view, &h)?))
}

pub fn sismember(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let Some(h) = coll::read(view, &argv[1], SET)? else { return Ok(Reply::Int(0)) };
    Ok(Reply::Int(is_member(view, &h, &argv[2])? as i64))
}

pub fn smismember(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let h = coll::read(view, &argv[1], SET)?;
    let mut out = Vec::with_capacity(argv.len() - 2);
    for m in &argv[2..] {
        let found = match &h {
            Some(h) => is_member(view, h, m)?,
            None => false,
        };
        out.push(Reply::Int(found as i64));
    }
    Ok(Reply::Array(out))
}

pub fn scard(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(coll::read(view, &argv[1], SET)?.map(|h| h.coll.size as i64).unwrap_or(0)))
}

/// SRANDMEMBER's count: anything but i64::MIN (Redis takes -LONG_MAX..LONG_MAX).
/// SRANDMEMBER key [count]: a read, so the randomness is local. A positive count returns
/// distinct members (the whole set when count >= size), a negative one allows repeats.
pub fn srandmember(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = argv.get(2).map(|c| coll::random_count(c)).transpose()?;
    let h = coll::read(view, &argv[1], SET)?;
    let mut rng = Rng::new(Rng::fresh_seed());
    let Some(count) = count else {
        let Some(h) = h else { return Ok(Reply::Nil) };
        let picked = random_members(view, &h, &mut rng, 1, true)?;
        return Ok(picked.into_iter().next().map(Reply::Bulk).unwrap_or(Reply::Nil));
    };
    let Some(h) = h else { return Ok(Reply::Array(Vec::new())) };
    let picked = if count >= 0 {
        let n = count as u64;
        if n >= h.coll.size {
            members(view, &h)?
        } else {
            random_members(view, &h, &mut rng, n, true)?
        }
    } else {
        let n = count.unsigned_abs();
        coll::check_repeats(n)?;
        random_members(view, &h, &mut rng, n, false)?
    };
    Ok(Reply::Array(picked.into_iter().map(Reply::Bulk).collect()))
}

/// SSCAN key cursor [MATCH pattern] [COUNT count].
pub fn sscan(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    coll::scan_command(view, argv, SET, &mut |m, _, out| out.push(Reply::bulk(Bytes::copy_from_slice(m))))
}

/// Every key's set (None when missing). All keys are type-checked before any is used, as
/// Redis 7 does: a WRONGTYPE anywhere wins over a missing key earlier in the list.
fn open_all(view: &dyn View, keys: &[Bytes]) -> CmdResult<Vec<Option<Handle>>> {
    keys.iter().map(|k| coll::read(view, k, SET)).collect()
}

/// The intersection: iterates the smallest set and probes the others, calling `emit` for each
/// member in all of them, stopping after `limit` members (0 = no limit). Returns the count.
fn inter(view: &dyn View, sets: &[Option<Handle>], limit: u64, emit: &mut dyn FnMut(&[u8])) -> CmdResult<u64> {
    let Some(mut order) = sets.iter().map(Option::as_ref).collect::<Option<Vec<&Handle>>>() else {
        return Ok(0);
    };
    order.sort_by_key(|h| h.coll.size);
    let (smallest, others) = order.split_first().expect("at least one key");
    let mut count = 0u64;
    let mut failed = None;
    coll::for_each(view, smallest, &mut |m, _| {
        for o in others {
            match is_member(view, o, m) {
                Ok(true) => {}
                Ok(false) => return true,
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
        }
        emit(m);
        count += 1;
        limit == 0 || count < limit
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(count),
    }
}

/// The union, each member once, in the order first seen.
fn union(view: &dyn View, sets: &[Option<Handle>]) -> CmdResult<Vec<Bytes>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for h in sets.iter().flatten() {
        coll::for_each(view, h, &mut |m, _| {
            if !seen.contains(m) {
                let m = Bytes::copy_from_slice(m);
                seen.insert(m.clone());
                out.push(m);
            }
            true
        })?;
    }
    Ok(out)
}

/// The members of the first set that are in none of the others (probing each).
fn diff(view: &dyn View, sets: &[Option<Handle>]) -> CmdResult<Vec<Bytes>> {
    let Some(first) = &sets[0] else { return Ok(Vec::new()) };
    let others: Vec<&Handle> = sets[1..].iter().flatten().collect();
    // The first key again: nothing is left.
    if others.iter().any(|o| o.prefix == first.prefix) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut failed = None;
    coll::for_each(view, first, &mut |m, _| {
        for o in &others {
            match is_member(view, o, m) {
                Ok(false) => {}
                Ok(true) => return true,
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
        }
        out.push(Bytes::copy_from_slice(m));
        true
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

pub fn sinter(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let sets = open_all(view, &argv[1..])?;
    let mut out = Vec::new();
    inter(view, &sets, 0, &mut |m| out.push(Reply::bulk(Bytes::copy_from_slice(m))))?;
    Ok(Reply::Set(out))
}

pub fn sunion(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let sets = open_all(view, &argv[1..])?;
    Ok(set_reply(union(view, &sets)?))
}

pub fn sdiff(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let sets = open_all(view, &argv[1..])?;
    Ok(set_reply(diff(view, &sets)?))
}

/// SINTERCARD's `numkeys key... [LIMIT limit]`: (number of keys, limit with 0 = none), with
/// Redis's errors in Redis's order.
fn parse_sintercard(argv: &[Bytes]) -> CmdResult<(usize, u64)> {
    let numkeys = match parse_i64(&argv[1]) {
        Some(n) if n > 0 => n,
        _ => return Err(CmdError::Other("ERR numkeys should be greater than 0".into())),
    };
    if numkeys > argv.len() as i64 - 2 {
        return Err(CmdError::Other("ERR Number of keys can't be greater than number of args".into()));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0u64;
    let mut i = 2 + numkeys;
    while i < argv.len() {
        if eq(&argv[i], "LIMIT") && i + 1 < argv.len() {
            limit = match parse_i64(&argv[i + 1]) {
                Some(n) if n >= 0 => n as u64,
                _ => return Err(CmdError::Other("ERR LIMIT can't be negative".into())),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((numkeys, limit))
}

pub fn sintercard(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let (numkeys, limit) = parse_sintercard(argv)?;
    let sets = open_all(view, &argv[2..2 + numkeys])?;
    Ok(Reply::Int(inter(view, &sets, limit, &mut |_| {})? as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ').map(|a| Bytes::copy_from_slice(a.as_bytes())).collect()
    }

    fn err(s: &str) -> CmdError {
        CmdError::Other(s.into())
    }

    #[test]
    fn spop_counts_and_logged_form() {
        assert_eq!(spop_count(b"0"), Ok(0));
        assert_eq!(spop_count(b"9223372036854775807"), Ok(i64::MAX as u64));
        for bad in [&b"-1"[..], b"x", b"", b"1.5", b"9223372036854775808", b"-9223372036854775808"] {
            assert_eq!(spop_count(bad), Err(not_positive()), "{:?}", String::from_utf8_lossy(bad));
        }
        let one = prepare_spop(&argv("SPOP k"), 0).unwrap();
        assert_eq!(one.len(), 4);
        assert_eq!(&one[..3], &argv("SPOP k ")[..]);
        assert!(std::str::from_utf8(&one[3]).unwrap().parse::<u64>().is_ok());
        let many = prepare_spop(&argv("spop k 3"), 0).unwrap();
        assert_eq!(&many[..3], &argv("spop k 3")[..]);
        assert_eq!(prepare_spop(&argv("SPOP k -1"), 0), Err(not_positive()));
        assert_eq!(prepare_spop(&argv("SPOP k x"), 0), Err(not_positive()));
        assert_eq!(prepare_spop(&argv("SPOP k 1 2"), 0), Err(CmdError::Syntax));
    }

    #[test]
    fn srandmember_count_range() {
        assert_eq!(coll::random_count(b"-9223372036854775807"), Ok(-i64::MAX));
        assert_eq!(coll::random_count(b"x"), Err(CmdError::NotInteger));
        assert!(
            matches!(coll::random_count(b"-9223372036854775808"), Err(CmdError::Other(e)) if e.contains("must between"))
        );
    }

    /// Applies one logged command as log entry `index` and writes its batch.
    fn apply(engine: &crate::store::Engine, index: u64, f: crate::cmd::table::ApplyFn, argv: &[Bytes]) -> Reply {
        let mut ctx = ApplyCtx::new(engine, (0, 16384), 1_000, index);
        let reply = f(&mut ctx, argv).unwrap_or_else(|e| e.to_reply());
        let (batch, _) = ctx.finish(&[]);
        engine.db.write(batch).unwrap();
        reply
    }

    fn read_members(engine: &crate::store::Engine, key: &[u8]) -> Vec<Bytes> {
        let view = crate::store::read::ReadCtx::new(engine, 1_000, true);
        match coll::read(&view, key, SET).unwrap() {
            Some(h) => members(&view, &h).unwrap(),
            None => Vec::new(),
        }
    }

    fn bulks(r: &Reply) -> Vec<Bytes> {
        match r {
            Reply::Set(v) | Reply::Array(v) => {
                v.iter().map(|x| if let Reply::Bulk(b) = x { b.clone() } else { panic!("{x:?}") }).collect()
            }
            Reply::Bulk(b) => vec![b.clone()],
            other => panic!("{other:?}"),
        }
    }

    /// Two replicas applying the same log pop the same members (the seed is in the log; a
    /// form without a seed is refused).
    #[test]
    fn spop_is_deterministic_across_replicas() {
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let engines: Vec<_> = dirs.iter().map(|d| crate::store::Engine::open(d.path()).unwrap()).collect();
        let mut fill = argv("SADD s");
        fill.extend((0..100).map(|i| Bytes::from(format!("m{i}"))));
        let log: Vec<Vec<Bytes>> = vec![
            fill,
            prepare_spop(&argv("SPOP s 10"), 0).unwrap(),
            prepare_spop(&argv("SPOP s"), 0).unwrap(),
            prepare_spop(&argv("SPOP s 5"), 0).unwrap(),
            prepare_spop(&argv("SPOP s"), 0).unwrap(),
        ];
        let mut replies = [Vec::new(), Vec::new()];
        for (e, out) in engines.iter().zip(replies.iter_mut()) {
            for (i, cmd) in log.iter().enumerate() {
                let f = if i == 0 { sadd as crate::cmd::table::ApplyFn } else { spop };
                out.push(apply(e, i as u64 + 1, f, cmd));
            }
        }
        assert_eq!(replies[0], replies[1]);
        let popped: Vec<Bytes> = replies[0][1..].iter().flat_map(bulks).collect();
        assert_eq!(popped.len(), 10 + 1 + 5 + 1);
        assert_eq!(popped.iter().collect::<HashSet<_>>().len(), popped.len(), "popped twice: {popped:?}");
        let left = read_members(&engines[0], b"s");
        assert_eq!(left.len(), 100 - popped.len());
        assert_eq!(left, read_members(&engines[1], b"s"));
        assert!(left.iter().all(|m| !popped.contains(m)));

        // Another seed picks other members (100 choose 10: equal picks would be a bug).
        let mut other = log[1].clone();
        other[3] = Bytes::from((std::str::from_utf8(&log[1][3]).unwrap().parse::<u64>().unwrap() ^ 1).to_string());
        let a = bulks(&apply(&engines[0], 10, spop, &log[1]));
        let b = bulks(&apply(&engines[1], 10, spop, &other));
        assert_eq!((a.len(), b.len()), (10, 10));
        assert_ne!(a, b);
    }

    /// Big sets pick by seeking to random hashes: still the same members on every replica,
    /// distinct, and removed.
    #[test]
    fn spop_on_big_sets_is_deterministic_and_distinct() {
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let engines: Vec<_> = dirs.iter().map(|d| crate::store::Engine::open(d.path()).unwrap()).collect();
        let mut fill = argv("SADD big");
        fill.extend((0..3000).map(|i| Bytes::from(format!("member:{i}"))));
        // 1 and 20 members are sought (20 * 8 < 3000); 500 members use one positional pass.
        let log = [argv("SPOP big  11"), argv("SPOP big 20 12"), argv("SPOP big 500 13"), argv("SPOP big 1 14")];
        let mut replies = [Vec::new(), Vec::new()];
        for (e, out) in engines.iter().zip(replies.iter_mut()) {
            apply(e, 1, sadd, &fill);
            for (i, cmd) in log.iter().enumerate() {
                out.push(apply(e, i as u64 + 2, spop, cmd));
            }
        }
        assert_eq!(replies[0], replies[1]);
        assert!(matches!(replies[0][0], Reply::Bulk(_)));
        let popped: Vec<Bytes> = replies[0].iter().flat_map(bulks).collect();
        assert_eq!(popped.len(), 1 + 20 + 500 + 1);
        assert_eq!(popped.iter().collect::<HashSet<_>>().len(), popped.len());
        let left = read_members(&engines[0], b"big");
        assert_eq!(left.len(), 3000 - popped.len());
        assert_eq!(left, read_members(&engines[1], b"big"));
        assert!(left.iter().all(|m| !popped.contains(m)));
    }

    /// Picks on a big set spread over all members, near uniformly.
    #[test]
    fn big_set_picks_are_near_uniform() {
        let dir = tempfile::tempdir().unwrap();
        let e = crate::store::Engine::open(dir.path()).unwrap();
        let n = 4000u64;
        let mut fill = argv("SADD big");
        fill.extend((0..n).map(|i| Bytes::from(format!("m{i}"))));
        apply(&e, 1, sadd, &fill);
        let view = crate::store::read::ReadCtx::new(&e, 1_000, true);
        let h = coll::read(&view, b"big", SET).unwrap().unwrap();
        assert!(h.coll.size > EXACT_PICK_MAX);
        let mut hits = std::collections::HashMap::new();
        let mut rng = Rng::new(99);
        let draws = 20 * n;
        for _ in 0..draws / 10 {
            // ten at a time, with repeats: the seek path (10 * 8 < 4000)
            for m in random_members(&view, &h, &mut rng, 10, false).unwrap() {
                *hits.entry(m).or_insert(0u64) += 1;
            }
        }
        assert_eq!(hits.values().sum::<u64>(), draws);
        // Uniform: every member expected 20 times; all of them show up, none dominates.
        assert!(hits.len() as u64 >= n * 99 / 100, "only {} of {n} members picked", hits.len());
        let max = *hits.values().max().unwrap();
        assert!(max < 80, "a member was picked {max} times (mean 20)");
        // Distinct picks are distinct.
        let d = random_members(&view, &h, &mut rng, 300, true).unwrap();
        assert_eq!(d.iter().collect::<HashSet<_>>().len(), 300);
    }

    /// A negative count whose reply could not be built is refused (RedRaft's own limit).
    #[test]
    fn srandmember_refuses_an_unbuildable_reply() {
        let dir = tempfile::tempdir().unwrap();
        let e = crate::store::Engine::open(dir.path()).unwrap();
        apply(&e, 1, sadd, &argv("SADD s a b"));
        let view = crate::store::read::ReadCtx::new(&e, 1_000, true);
        let too_many = format!("SRANDMEMBER s -{}", coll::MAX_RANDOM_REPLY + 1);
        let err = srandmember(&view, &argv(&too_many)).unwrap_err();
        assert!(matches!(&err, CmdError::Other(t) if t.starts_with("ERR count is out of range")), "{err:?}");
        // a missing key answers an empty array first, as Redis does for any count
        let missing = format!("SRANDMEMBER nokey -{}", coll::MAX_RANDOM_REPLY + 1);
        assert_eq!(srandmember(&view, &argv(&missing)), Ok(Reply::Array(Vec::new())));
        assert_eq!(bulks(&srandmember(&view, &argv("SRANDMEMBER s -5")).unwrap()).len(), 5);
    }

    #[test]
    fn spop_apply_revalidates_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let e = crate::store::Engine::open(dir.path()).unwrap();
        apply(&e, 1, sadd, &argv("SADD s a b c"));
        assert_eq!(apply(&e, 2, spop, &argv("SPOP s -1 5")), not_positive().to_reply());
        assert_eq!(apply(&e, 3, spop, &argv("SPOP s 1 x")), CmdError::Syntax.to_reply());
        assert_eq!(apply(&e, 4, spop, &argv("SPOP s 1 5 6")), CmdError::Syntax.to_reply());
        // Unprepared (seedless) forms never come from this server's leader: refused.
        assert_eq!(apply(&e, 4, spop, &argv("SPOP s")), CmdError::Syntax.to_reply());
        assert_eq!(apply(&e, 4, spop, &argv("SPOP s 1")), CmdError::Syntax.to_reply());
        assert_eq!(read_members(&e, b"s").len(), 3);
        assert_eq!(apply(&e, 5, spop, &argv("SPOP s 0 5")), Reply::Set(Vec::new()));
        assert_eq!(bulks(&apply(&e, 6, spop, &argv("SPOP s 9 5"))).len(), 3);
        assert!(read_members(&e, b"s").is_empty());
        assert_eq!(
            apply(
                &e,
                7,
                spop,
                &[Bytes::from_static(b"SPOP"), Bytes::from_static(b"s"), Bytes::new(), Bytes::from_static(b"5")]
            ),
            Reply::Nil
        );
    }

    #[test]
    fn sintercard_arguments() {
        assert_eq!(parse_sintercard(&argv("SINTERCARD 2 a b")), Ok((2, 0)));
        assert_eq!(parse_sintercard(&argv("SINTERCARD 1 a LIMIT 5")), Ok((1, 5)));
        assert_eq!(parse_sintercard(&argv("SINTERCARD 1 a limit 5 LIMIT 0")), Ok((1, 0)));
        let numkeys = err("ERR numkeys should be greater than 0");
        assert_eq!(parse_sintercard(&argv("SINTERCARD 0 a")), Err(numkeys.clone()));
        assert_eq!(parse_sintercard(&argv("SINTERCARD -1 a")), Err(numkeys.clone()));
        assert_eq!(parse_sintercard(&argv("SINTERCARD x a")), Err(numkeys));
        assert_eq!(
            parse_sintercard(&argv("SINTERCARD 3 a b")),
            Err(err("ERR Number of keys can't be greater than number of args"))
        );
        let neg = err("ERR LIMIT can't be negative");
        assert_eq!(parse_sintercard(&argv("SINTERCARD 1 a LIMIT -1")), Err(neg.clone()));
        assert_eq!(parse_sintercard(&argv("SINTERCARD 1 a LIMIT x")), Err(neg));
        assert_eq!(parse_sintercard(&argv("SINTERCARD 1 a LIMIT")), Err(CmdError::Syntax));
        assert_eq!(parse_sintercard(&argv("SINTERCARD 1 a b")), Err(CmdError::Syntax));
    }
}
