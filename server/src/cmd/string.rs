//! The 19 string commands: argument checks on the leader (`prepare_*`), reads, and the
//! deterministic apply functions run by every replica.

use bytes::{Bytes, BytesMut};

use super::args::{eq, int_arg, lower};
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::store::apply::ApplyCtx;
use crate::store::view::View;
use crate::store::{DataType, Value};

/// proto-max-bulk-len: the largest string a command may create.
pub const MAX_STRING: usize = 512 * 1024 * 1024;

fn string_value(v: Option<Value>) -> CmdResult<Option<Value>> {
    match v {
        Some(v) if v.dtype != DataType::String => Err(CmdError::WrongType),
        v => Ok(v),
    }
}

fn read_string(ctx: &dyn View, key: &[u8]) -> CmdResult<Option<Value>> {
    string_value(ctx.lookup(key)?)
}

fn apply_string(ctx: &mut ApplyCtx, key: &[u8]) -> CmdResult<Option<Value>> {
    string_value(ctx.get(key)?)
}

// ---------- expiry options shared by SET and GETEX ----------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expiry {
    /// Clear any TTL (SET without KEEPTTL or an expire option).
    Persist,
    KeepTtl,
    /// Absolute unix ms.
    At(u64),
}

/// Converts an expire argument to absolute ms the way Redis's getExpireMillisecondsOrReply does.
fn absolute_ms(arg: &[u8], unit_secs: bool, relative: bool, now: u64, cmd: &str) -> CmdResult<u64> {
    let v = int_arg(arg)?;
    let invalid = || CmdError::InvalidExpire(cmd.to_string());
    if v <= 0 || (unit_secs && v > i64::MAX / 1000) {
        return Err(invalid());
    }
    let mut ms = if unit_secs { v * 1000 } else { v };
    if relative {
        if ms > i64::MAX - now as i64 {
            return Err(invalid());
        }
        ms += now as i64;
    }
    Ok(ms as u64)
}

struct SetArgs {
    nx: bool,
    xx: bool,
    get: bool,
    expiry: Expiry,
}

/// Which expire option was given: EX, PX, EXAT or PXAT (the same one may repeat, last wins).
fn expire_kind(o: &[u8]) -> Option<&'static str> {
    ["EX", "PX", "EXAT", "PXAT"].into_iter().find(|k| eq(o, k))
}

fn resolve_expire(kind: &str, arg: &[u8], now: u64, cmd: &str) -> CmdResult<u64> {
    let secs = kind == "EX" || kind == "EXAT";
    let relative = kind == "EX" || kind == "PX";
    absolute_ms(arg, secs, relative, now, cmd)
}

/// Parses SET's options (from argv[3]) like Redis: options first, then the expire value;
/// `now` resolves EX/PX.
fn parse_set(argv: &[Bytes], now: u64) -> CmdResult<SetArgs> {
    let mut a = SetArgs { nx: false, xx: false, get: false, expiry: Expiry::Persist };
    let mut keepttl = false;
    let mut expire: Option<(&'static str, &Bytes)> = None;
    let mut i = 3;
    while i < argv.len() {
        let o = &argv[i];
        let next = argv.get(i + 1);
        if eq(o, "NX") && !a.xx {
            a.nx = true;
        } else if eq(o, "XX") && !a.nx {
            a.xx = true;
        } else if eq(o, "GET") {
            a.get = true;
        } else if eq(o, "KEEPTTL") && expire.is_none() {
            keepttl = true;
        } else if let (Some(kind), Some(next)) = (expire_kind(o), next) {
            if keepttl || expire.is_some_and(|(k, _)| k != kind) {
                return Err(CmdError::Syntax);
            }
            expire = Some((kind, next));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if keepttl {
        a.expiry = Expiry::KeepTtl;
    }
    if let Some((kind, arg)) = expire {
        a.expiry = Expiry::At(resolve_expire(kind, arg, now, "set")?);
    }
    Ok(a)
}

fn encode_set(key: &Bytes, val: &Bytes, a: &SetArgs) -> Vec<Bytes> {
    let mut v = vec![Bytes::from_static(b"SET"), key.clone(), val.clone()];
    match a.expiry {
        Expiry::At(ms) => {
            v.push(Bytes::from_static(b"PXAT"));
            v.push(Bytes::from(ms.to_string()));
        }
        Expiry::KeepTtl => v.push(Bytes::from_static(b"KEEPTTL")),
        _ => {}
    }
    if a.nx {
        v.push(Bytes::from_static(b"NX"));
    }
    if a.xx {
        v.push(Bytes::from_static(b"XX"));
    }
    if a.get {
        v.push(Bytes::from_static(b"GET"));
    }
    v
}

pub fn prepare_set(argv: &[Bytes], now: u64) -> CmdResult<Vec<Bytes>> {
    let a = parse_set(argv, now)?;
    Ok(encode_set(&argv[1], &argv[2], &a))
}

/// SETEX key seconds value / PSETEX key ms value -> SET key value PXAT abs.
pub fn prepare_setex(argv: &[Bytes], now: u64) -> CmdResult<Vec<Bytes>> {
    let name = lower(&argv[0]);
    let secs = name == "setex";
    let at = absolute_ms(&argv[2], secs, true, now, &name)?;
    Ok(encode_set(&argv[1], &argv[3], &SetArgs { nx: false, xx: false, get: false, expiry: Expiry::At(at) }))
}

/// Writes a string, or deletes the key when its expiry is already in the past.
fn store_string(ctx: &mut ApplyCtx, key: &[u8], body: Bytes, expire_ms: u64) -> CmdResult<()> {
    if expire_ms != 0 && expire_ms <= ctx.now_ms {
        ctx.delete(key)?;
    } else {
        ctx.put(key, &Value::string(body, expire_ms))?;
    }
    Ok(())
}

pub fn set(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let a = parse_set(argv, ctx.now_ms)?;
    let key = &argv[1];
    let old = ctx.get(key)?;
    let old_str = if a.get { string_value(old.clone())? } else { None };
    if (a.nx && old.is_some()) || (a.xx && old.is_none()) {
        return Ok(if a.get { Reply::opt_bulk(old_str.map(|v| v.body)) } else { Reply::Nil });
    }
    let expire = match a.expiry {
        Expiry::At(ms) => ms,
        Expiry::KeepTtl => old.as_ref().map(|v| v.expire_ms).unwrap_or(0),
        Expiry::Persist => 0,
    };
    store_string(ctx, key, argv[2].clone(), expire)?;
    Ok(if a.get { Reply::opt_bulk(old_str.map(|v| v.body)) } else { Reply::OK })
}

pub fn setnx(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    if ctx.get(&argv[1])?.is_some() {
        return Ok(Reply::Int(0));
    }
    ctx.put(&argv[1], &Value::string(argv[2].clone(), 0))?;
    Ok(Reply::Int(1))
}

pub fn prepare_mset(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    if argv.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(lower(&argv[0])));
    }
    Ok(argv.to_vec())
}

pub fn mset(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    prepare_mset(argv, 0)?;
    for pair in argv[1..].chunks(2) {
        ctx.put(&pair[0], &Value::string(pair[1].clone(), 0))?;
    }
    Ok(Reply::OK)
}

/// MSETNX: sets every pair only when none of the keys exists (1), else nothing (0). A key given
/// twice is set to its last value, as MSET does.
pub fn msetnx(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    prepare_mset(argv, 0)?;
    for pair in argv[1..].chunks(2) {
        if ctx.get(&pair[0])?.is_some() {
            return Ok(Reply::Int(0));
        }
    }
    for pair in argv[1..].chunks(2) {
        ctx.put(&pair[0], &Value::string(pair[1].clone(), 0))?;
    }
    Ok(Reply::Int(1))
}

pub fn getset(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let old = apply_string(ctx, &argv[1])?;
    ctx.put(&argv[1], &Value::string(argv[2].clone(), 0))?;
    Ok(Reply::opt_bulk(old.map(|v| v.body)))
}

pub fn getdel(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let old = apply_string(ctx, &argv[1])?;
    if old.is_some() {
        ctx.delete(&argv[1])?;
    }
    Ok(Reply::opt_bulk(old.map(|v| v.body)))
}

/// GETEX's option: None (leave the TTL), PERSIST, or an expire kind with its unchecked value.
enum GetexOpt<'a> {
    Unchanged,
    Persist,
    Expire(&'static str, &'a Bytes),
}

/// Parses GETEX's options (syntax only: like Redis, the value is checked after the lookup).
fn parse_getex(argv: &[Bytes]) -> CmdResult<GetexOpt<'_>> {
    let mut opt = GetexOpt::Unchanged;
    let mut i = 2;
    while i < argv.len() {
        let o = &argv[i];
        let next = argv.get(i + 1);
        if eq(o, "PERSIST") && !matches!(opt, GetexOpt::Expire(..)) {
            opt = GetexOpt::Persist;
        } else if let (Some(kind), Some(next)) = (expire_kind(o), next) {
            match opt {
                GetexOpt::Persist => return Err(CmdError::Syntax),
                GetexOpt::Expire(k, _) if k != kind => return Err(CmdError::Syntax),
                _ => {}
            }
            opt = GetexOpt::Expire(kind, next);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(opt)
}

/// Checks GETEX's syntax on the leader; EX/PX are resolved at apply with the entry's clock.
pub fn prepare_getex(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    parse_getex(argv)?;
    Ok(argv.to_vec())
}

pub fn getex(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let opt = parse_getex(argv)?;
    let Some(v) = apply_string(ctx, &argv[1])? else { return Ok(Reply::Nil) };
    match opt {
        GetexOpt::Expire(kind, arg) => {
            let ms = resolve_expire(kind, arg, ctx.now_ms, "getex")?;
            store_string(ctx, &argv[1], v.body.clone(), ms)?;
        }
        GetexOpt::Persist if v.expire_ms != 0 => ctx.put(&argv[1], &Value::string(v.body.clone(), 0))?,
        _ => {}
    }
    Ok(Reply::Bulk(v.body))
}

pub fn append(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let old = apply_string(ctx, &argv[1])?;
    let (body, expire) = match old {
        None => (argv[2].clone(), 0),
        Some(v) => {
            if v.body.len() + argv[2].len() > MAX_STRING {
                return Err(CmdError::StringTooLong);
            }
            let mut b = BytesMut::with_capacity(v.body.len() + argv[2].len());
            b.extend_from_slice(&v.body);
            b.extend_from_slice(&argv[2]);
            (b.freeze(), v.expire_ms)
        }
    };
    let len = body.len();
    ctx.put(&argv[1], &Value::string(body, expire))?;
    Ok(Reply::Int(len as i64))
}

pub fn setrange(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let offset = int_arg(&argv[2])?;
    if offset < 0 {
        return Err(CmdError::OffsetOutOfRange);
    }
    let val = &argv[3];
    let old = apply_string(ctx, &argv[1])?;
    let old_len = old.as_ref().map(|v| v.body.len()).unwrap_or(0);
    if val.is_empty() {
        return Ok(Reply::Int(old_len as i64));
    }
    if offset as u64 + val.len() as u64 > MAX_STRING as u64 {
        return Err(CmdError::StringTooLong);
    }
    let offset = offset as usize;
    let new_len = old_len.max(offset + val.len());
    let mut b = BytesMut::zeroed(new_len);
    let expire = match &old {
        Some(v) => {
            b[..old_len].copy_from_slice(&v.body);
            v.expire_ms
        }
        None => 0,
    };
    b[offset..offset + val.len()].copy_from_slice(val);
    ctx.put(&argv[1], &Value::string(b.freeze(), expire))?;
    Ok(Reply::Int(new_len as i64))
}

fn incr_by(ctx: &mut ApplyCtx, key: &[u8], by: i64) -> CmdResult {
    let old = apply_string(ctx, key)?;
    let (cur, expire) = match &old {
        None => (0, 0),
        Some(v) => (super::args::parse_i64(&v.body).ok_or(CmdError::NotInteger)?, v.expire_ms),
    };
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    let mut buf = itoa::Buffer::new();
    ctx.put(key, &Value::string(Bytes::copy_from_slice(buf.format(new).as_bytes()), expire))?;
    Ok(Reply::Int(new))
}

pub fn incr(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    incr_by(ctx, &argv[1], 1)
}

pub fn decr(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    incr_by(ctx, &argv[1], -1)
}

pub fn incrby(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let by = int_arg(&argv[2])?;
    incr_by(ctx, &argv[1], by)
}

pub fn decrby(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let by = int_arg(&argv[2])?;
    if by == i64::MIN {
        return Err(CmdError::DecrementOverflow);
    }
    incr_by(ctx, &argv[1], -by)
}

extern "C" {
    fn redraft_incrbyfloat(
        cur: *const u8,
        curlen: usize,
        has_cur: i32,
        incr: *const u8,
        incrlen: usize,
        out: *mut u8,
        outcap: usize,
        outlen: *mut usize,
    ) -> i32;
}

/// `cur + incr` in long double with Redis's parse and print rules.
pub fn add_long_double(cur: Option<&[u8]>, incr: &[u8]) -> CmdResult<Bytes> {
    add_long_double_rc(cur, incr).map_err(|rc| match rc {
        LdError::BadCurrent | LdError::BadIncrement => CmdError::NotFloat,
        LdError::NanOrInfinity => CmdError::NanOrInfinity,
    })
}

/// Why a long double addition failed (HINCRBYFLOAT words the first case differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdError {
    BadCurrent,
    BadIncrement,
    NanOrInfinity,
}

pub fn add_long_double_rc(cur: Option<&[u8]>, incr: &[u8]) -> Result<Bytes, LdError> {
    let mut out = vec![0u8; 5 * 1024 + 32];
    let mut len = 0usize;
    let (p, l) = cur.map(|c| (c.as_ptr(), c.len())).unwrap_or((std::ptr::null(), 0));
    // SAFETY: every pointer is valid for the length passed with it; the C side writes at most
    // `outcap` bytes to `out` and reads at most the given lengths.
    let rc = unsafe {
        redraft_incrbyfloat(
            p,
            l,
            cur.is_some() as i32,
            incr.as_ptr(),
            incr.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut len,
        )
    };
    match rc {
        0 => {
            out.truncate(len);
            Ok(Bytes::from(out))
        }
        1 => Err(LdError::BadCurrent),
        2 => Err(LdError::BadIncrement),
        _ => Err(LdError::NanOrInfinity),
    }
}

pub fn incrbyfloat(ctx: &mut ApplyCtx, argv: &[Bytes]) -> CmdResult {
    let old = apply_string(ctx, &argv[1])?;
    let new = add_long_double(old.as_ref().map(|v| &v.body[..]), &argv[2])?;
    let expire = old.map(|v| v.expire_ms).unwrap_or(0);
    ctx.put(&argv[1], &Value::string(new.clone(), expire))?;
    Ok(Reply::Bulk(new))
}

// ---------- reads ----------

pub fn get(ctx: &dyn View, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::opt_bulk(read_string(ctx, &argv[1])?.map(|v| v.body)))
}

pub fn mget(ctx: &dyn View, argv: &[Bytes]) -> CmdResult {
    let mut out = Vec::with_capacity(argv.len() - 1);
    for k in &argv[1..] {
        out.push(match ctx.lookup(k)? {
            Some(v) if v.dtype == DataType::String => Reply::Bulk(v.body),
            _ => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

pub fn strlen(ctx: &dyn View, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(read_string(ctx, &argv[1])?.map(|v| v.body.len() as i64).unwrap_or(0)))
}

pub fn getrange(ctx: &dyn View, argv: &[Bytes]) -> CmdResult {
    let mut start = int_arg(&argv[2])?;
    let mut end = int_arg(&argv[3])?;
    let Some(v) = read_string(ctx, &argv[1])? else { return Ok(Reply::bulk(Bytes::new())) };
    let len = v.body.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::bulk(Bytes::new()));
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Ok(Reply::bulk(Bytes::new()));
    }
    Ok(Reply::Bulk(v.body.slice(start as usize..=end as usize)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(cur: Option<&str>, incr: &str) -> Result<String, CmdError> {
        add_long_double(cur.map(|c| c.as_bytes()), incr.as_bytes()).map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    #[test]
    fn incrbyfloat_formats_like_redis() {
        assert_eq!(f(Some("10.5"), "0.1").unwrap(), "10.6");
        assert_eq!(f(Some("0.1"), "0.2").unwrap(), "0.3");
        assert_eq!(f(None, "5").unwrap(), "5");
        assert_eq!(f(Some("5.0e3"), "2.0e2").unwrap(), "5200");
        assert_eq!(f(Some("-1"), "1").unwrap(), "0");
        assert_eq!(f(Some("abc"), "1"), Err(CmdError::NotFloat));
        assert_eq!(f(Some("1"), " 1"), Err(CmdError::NotFloat));
        assert_eq!(f(Some("1"), "nan"), Err(CmdError::NotFloat));
        assert_eq!(f(Some("1"), "inf"), Err(CmdError::NanOrInfinity));
    }

    #[test]
    fn set_options() {
        let argv = |s: &str| s.split(' ').map(|p| Bytes::copy_from_slice(p.as_bytes())).collect::<Vec<_>>();
        assert_eq!(prepare_set(&argv("SET k v NX XX"), 0).unwrap_err(), CmdError::Syntax);
        assert_eq!(prepare_set(&argv("SET k v EX 1 PX 1"), 0).unwrap_err(), CmdError::Syntax);
        assert_eq!(prepare_set(&argv("SET k v EX 0"), 0).unwrap_err(), CmdError::InvalidExpire("set".into()));
        assert_eq!(prepare_set(&argv("SET k v EX x"), 0).unwrap_err(), CmdError::NotInteger);
        assert_eq!(prepare_set(&argv("SET k v EX"), 0).unwrap_err(), CmdError::Syntax);
        let out = prepare_set(&argv("SET k v ex 10 get"), 1000).unwrap();
        assert_eq!(out, argv("SET k v PXAT 11000 GET"));
        assert_eq!(
            prepare_set(&argv("SET k v EX 9223372036854775"), 1000).unwrap_err(),
            CmdError::InvalidExpire("set".into())
        );
    }
}
