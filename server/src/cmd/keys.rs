//! The generic key commands: DEL/UNLINK, EXISTS, TYPE, the EXPIRE family, TTL/PTTL, PERSIST,
//! FLUSHDB/FLUSHALL.

use bytes::Bytes;

use super::args::{eq, int_arg, lower, text};
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::store::apply::ApplyCtx;
use crate::store::view::View;
use crate::store::Value;

pub fn del(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for k in &argv[1..] {
        if ctx.delete(k)? {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

pub fn exists(ctx: &dyn View, argv: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for k in &argv[1..] {
        if ctx.lookup(k)?.is_some() {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

pub fn type_(ctx: &dyn View, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Status(ctx.lookup(&argv[1])?.map(|v| v.dtype.name()).unwrap_or("none")))
}

#[derive(Default, Clone, Copy)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_flags(argv: &[Bytes]) -> CmdResult<ExpireFlags> {
    let mut f = ExpireFlags::default();
    for o in &argv[3..] {
        if eq(o, "NX") {
            f.nx = true;
        } else if eq(o, "XX") {
            f.xx = true;
        } else if eq(o, "GT") {
            f.gt = true;
        } else if eq(o, "LT") {
            f.lt = true;
        } else {
            return Err(CmdError::UnsupportedOption(text(o)));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CmdError::ExpireNxConflict);
    }
    if f.gt && f.lt {
        return Err(CmdError::ExpireGtLt);
    }
    Ok(f)
}

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key t [flags] -> PEXPIREAT key <absolute ms> [flags].
/// The absolute time may be negative or past: applying it then deletes the key.
pub fn prepare_expire(argv: &[Bytes], now: u64) -> CmdResult<Vec<Bytes>> {
    let name = lower(&argv[0]);
    parse_expire_flags(argv)?;
    let mut when = int_arg(&argv[2])?;
    let invalid = || CmdError::InvalidExpire(name.clone());
    if name == "expire" || name == "expireat" {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(invalid());
        }
        when *= 1000;
    }
    if name == "expire" || name == "pexpire" {
        if when > i64::MAX - now as i64 {
            return Err(invalid());
        }
        when += now as i64;
    }
    let mut v = Vec::with_capacity(argv.len());
    v.push(Bytes::from_static(b"PEXPIREAT"));
    v.push(argv[1].clone());
    v.push(Bytes::from(when.to_string()));
    v.extend_from_slice(&argv[3..]);
    Ok(v)
}

pub fn pexpireat(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let f = parse_expire_flags(argv)?;
    let when = int_arg(&argv[2])?;
    let Some(v) = ctx.get(&argv[1])? else { return Ok(Reply::Int(0)) };
    let current: i64 = if v.expire_ms == 0 { -1 } else { v.expire_ms as i64 };
    if (f.nx && current != -1)
        || (f.xx && current == -1)
        || (f.gt && (when <= current || current == -1))
        || (f.lt && current != -1 && when >= current)
    {
        return Ok(Reply::Int(0));
    }
    if when <= ctx.now_ms as i64 {
        ctx.delete(&argv[1])?;
    } else {
        ctx.put(&argv[1], &Value { expire_ms: when as u64, ..v })?;
    }
    Ok(Reply::Int(1))
}

fn ttl_ms(ctx: &dyn View, key: &[u8]) -> CmdResult<i64> {
    Ok(match ctx.lookup(key)? {
        None => -2,
        Some(v) if v.expire_ms == 0 => -1,
        Some(v) => (v.expire_ms as i64 - ctx.now() as i64).max(0),
    })
}

pub fn ttl(ctx: &dyn View, argv: &[Bytes]) -> CmdResult {
    let ms = ttl_ms(ctx, &argv[1])?;
    Ok(Reply::Int(if ms < 0 { ms } else { (ms + 500) / 1000 }))
}

pub fn pttl(ctx: &dyn View, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ttl_ms(ctx, &argv[1])?))
}

pub fn persist(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    match ctx.get(&argv[1])? {
        Some(v) if v.expire_ms != 0 => {
            ctx.put(&argv[1], &Value { expire_ms: 0, ..v })?;
            Ok(Reply::Int(1))
        }
        _ => Ok(Reply::Int(0)),
    }
}

/// FLUSHDB/FLUSHALL [ASYNC|SYNC]: both are O(1) range deletions, so the modes are equal.
pub fn prepare_flush(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    match argv.len() {
        1 => {}
        2 if eq(&argv[1], "ASYNC") || eq(&argv[1], "SYNC") => {}
        _ => return Err(CmdError::Syntax),
    }
    Ok(argv.to_vec())
}

pub fn flush(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    prepare_flush(argv, 0)?;
    let (from, to) = ctx.slots;
    ctx.drop_slots(from, to);
    Ok(Reply::OK)
}
