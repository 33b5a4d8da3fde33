//! The 15 hash commands. Fields are members of the hash's collection (`coll.rs`); HLEN is the
//! header's size, HGET one point lookup, HGETALL/HKEYS/HVALS/HSCAN iterate.

use bytes::Bytes;

use super::args::{eq, int_arg, lower, parse_i64};
use super::coll::{self, Handle, Rng};
use super::string::{add_long_double_rc, LdError};
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::store::apply::ApplyCtx;
use crate::store::view::{SubCf, View};
use crate::store::DataType;

const HASH: DataType = DataType::Hash;

fn get_field(view: &dyn View, h: &Handle, field: &[u8]) -> CmdResult<Option<Bytes>> {
    Ok(view.get_sub(SubCf::Subkeys, &h.member_key(field))?.map(Bytes::from))
}

/// Sets one field; returns true when it is new.
fn set_field(ctx: &mut ApplyCtx, h: &mut Handle, field: &[u8], value: &[u8]) -> CmdResult<bool> {
    let k = h.member_key(field);
    let new = ctx.get_sub(SubCf::Subkeys, &k)?.is_none();
    ctx.put_sub(SubCf::Subkeys, k, value.to_vec());
    if new {
        h.coll.size += 1;
    }
    Ok(new)
}

fn check_pairs(argv: &[Bytes]) -> CmdResult<()> {
    if argv.len() < 4 || !argv.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(lower(&argv[0])));
    }
    Ok(())
}

pub fn prepare_hset(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    check_pairs(argv)?;
    Ok(argv.to_vec())
}

fn hset_pairs(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult<i64> {
    check_pairs(argv)?;
    let mut h = coll::load_or_new(ctx, &argv[1], HASH)?;
    let mut added = 0;
    for pair in argv[2..].chunks(2) {
        added += set_field(ctx, &mut h, &pair[0], &pair[1])? as i64;
    }
    coll::save(ctx, &argv[1], &h)?;
    Ok(added)
}

pub fn hset(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(hset_pairs(ctx, argv)?))
}

pub fn hmset(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    hset_pairs(ctx, argv)?;
    Ok(Reply::OK)
}

pub fn hsetnx(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let mut h = coll::load_or_new(ctx, &argv[1], HASH)?;
    if get_field(&*ctx, &h, &argv[2])?.is_some() {
        return Ok(Reply::Int(0));
    }
    set_field(ctx, &mut h, &argv[2], &argv[3])?;
    coll::save(ctx, &argv[1], &h)?;
    Ok(Reply::Int(1))
}

pub fn hdel(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let Some(mut h) = coll::load(ctx, &argv[1], HASH)? else { return Ok(Reply::Int(0)) };
    let mut removed = 0;
    for f in &argv[2..] {
        let k = h.member_key(f);
        if ctx.get_sub(SubCf::Subkeys, &k)?.is_some() {
            ctx.del_sub(SubCf::Subkeys, k);
            h.coll.size -= 1;
            removed += 1;
        }
    }
    if removed > 0 {
        coll::save(ctx, &argv[1], &h)?;
    }
    Ok(Reply::Int(removed))
}

pub fn hincrby(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let by = int_arg(&argv[3])?;
    let mut h = coll::load_or_new(ctx, &argv[1], HASH)?;
    let cur = match get_field(&*ctx, &h, &argv[2])? {
        Some(v) => parse_i64(&v).ok_or_else(|| CmdError::Other("ERR hash value is not an integer".into()))?,
        None => 0,
    };
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    set_field(ctx, &mut h, &argv[2], itoa::Buffer::new().format(new).as_bytes())?;
    coll::save(ctx, &argv[1], &h)?;
    Ok(Reply::Int(new))
}

pub fn hincrbyfloat(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    // The increment is checked before the key, as Redis does.
    add_long_double_rc(None, &argv[3]).map_err(|e| match e {
        LdError::NanOrInfinity => CmdError::Other("ERR value is NaN or Infinity".into()),
        _ => CmdError::NotFloat,
    })?;
    let mut h = coll::load_or_new(ctx, &argv[1], HASH)?;
    let cur = get_field(&*ctx, &h, &argv[2])?;
    let new = add_long_double_rc(Some(cur.as_deref().unwrap_or(b"0")), &argv[3]).map_err(|e| match e {
        LdError::BadCurrent => CmdError::Other("ERR hash value is not a float".into()),
        LdError::BadIncrement => CmdError::NotFloat,
        LdError::NanOrInfinity => CmdError::NanOrInfinity,
    })?;
    set_field(ctx, &mut h, &argv[2], &new)?;
    coll::save(ctx, &argv[1], &h)?;
    Ok(Reply::Bulk(new))
}

// ---------- reads ----------

pub fn hget(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let Some(h) = coll::read(view, &argv[1], HASH)? else { return Ok(Reply::Nil) };
    Ok(Reply::opt_bulk(get_field(view, &h, &argv[2])?))
}

pub fn hmget(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let h = coll::read(view, &argv[1], HASH)?;
    let mut out = Vec::with_capacity(argv.len() - 2);
    for f in &argv[2..] {
        out.push(match &h {
            Some(h) => Reply::opt_bulk(get_field(view, h, f)?),
            None => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

pub fn hlen(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(coll::read(view, &argv[1], HASH)?.map(|h| h.coll.size as i64).unwrap_or(0)))
}

pub fn hexists(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let Some(h) = coll::read(view, &argv[1], HASH)? else { return Ok(Reply::Int(0)) };
    Ok(Reply::Int(get_field(view, &h, &argv[2])?.is_some() as i64))
}

pub fn hgetall(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let Some(h) = coll::read(view, &argv[1], HASH)? else { return Ok(Reply::Map(Vec::new())) };
    let mut out = Vec::with_capacity(h.coll.size.min(1 << 16) as usize);
    coll::for_each(view, &h, &mut |f, v| {
        out.push((Reply::bulk(Bytes::copy_from_slice(f)), Reply::bulk(Bytes::copy_from_slice(v))));
        true
    })?;
    Ok(Reply::Map(out))
}

fn keys_or_values(view: &dyn View, argv: &[Bytes], values: bool) -> CmdResult {
    let Some(h) = coll::read(view, &argv[1], HASH)? else { return Ok(Reply::Array(Vec::new())) };
    let mut out = Vec::with_capacity(h.coll.size.min(1 << 16) as usize);
    coll::for_each(view, &h, &mut |f, v| {
        out.push(Reply::bulk(Bytes::copy_from_slice(if values { v } else { f })));
        true
    })?;
    Ok(Reply::Array(out))
}

pub fn hkeys(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    keys_or_values(view, argv, false)
}

pub fn hvals(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    keys_or_values(view, argv, true)
}

pub fn hscan(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    coll::scan_command(view, argv, HASH, &mut |f, v, out| {
        out.push(Reply::bulk(Bytes::copy_from_slice(f)));
        out.push(Reply::bulk(Bytes::copy_from_slice(v)));
    })
}

/// HRANDFIELD key [count [WITHVALUES]]: a read, so the randomness is local.
pub fn hrandfield(view: &dyn View, argv: &[Bytes]) -> CmdResult {
    let count = argv.get(2).map(|c| coll::random_count(c)).transpose()?;
    let withvalues = match argv.get(3) {
        None => false,
        Some(o) if eq(o, "WITHVALUES") && argv.len() == 4 => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    let h = coll::read(view, &argv[1], HASH)?;
    let Some(count) = count else {
        let Some(h) = h else { return Ok(Reply::Nil) };
        let picks = coll::pick(view, &h, &[Rng::new(Rng::fresh_seed()).below(h.coll.size)])?;
        return Ok(picks.into_iter().next().map(|(f, _)| Reply::Bulk(f)).unwrap_or(Reply::Nil));
    };
    // Redis refuses WITHVALUES counts whose reply size would overflow.
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::Other("ERR value is out of range".into()));
    }
    let Some(h) = h else { return Ok(Reply::Array(Vec::new())) };
    let mut rng = Rng::new(Rng::fresh_seed());
    let size = h.coll.size;
    let indexes: Vec<u64> = if count >= 0 {
        rng.distinct_sorted(size, count as u64)
    } else {
        coll::check_repeats(count.unsigned_abs())?;
        (0..count.unsigned_abs()).map(|_| rng.below(size)).collect()
    };
    let picked = coll::pick(view, &h, &indexes)?;
    Ok(match withvalues {
        true => Reply::Pairs(picked.into_iter().map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v))).collect()),
        false => Reply::Array(picked.into_iter().map(|(f, _)| Reply::Bulk(f)).collect()),
    })
}
