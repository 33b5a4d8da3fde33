//! Connection and server commands: PING, ECHO, HELLO, AUTH, CLIENT, SELECT, QUIT, RESET,
//! INFO, DBSIZE, TIME.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::args::{eq, lower, parse_i64, text};

use super::ConnCtx;
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;

/// The Redis version whose behaviour RedRaft reproduces (reported to clients).
pub const REDIS_VERSION: &str = "7.0.15";

pub fn ping(ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    let _ = ctx;
    match argv.len() {
        1 => Ok(Reply::Status("PONG")),
        2 => Ok(Reply::Bulk(argv[1].clone())),
        _ => Err(CmdError::WrongArity("ping".into())),
    }
}

pub fn echo(_ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Bulk(argv[1].clone()))
}

/// Checks a username/password pair against `requirepass` (the only user is `default`).
fn check_password(ctx: &ConnCtx, user: &[u8], pass: &[u8]) -> CmdResult<()> {
    if user != b"default" {
        return Err(CmdError::WrongPass);
    }
    match &ctx.node.config.requirepass {
        None => Ok(()),
        Some(p) if p.as_bytes() == pass => Ok(()),
        Some(_) => Err(CmdError::WrongPass),
    }
}

pub fn auth(ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    match argv.len() {
        2 => {
            if ctx.node.config.requirepass.is_none() {
                return Err(CmdError::AuthNotConfigured);
            }
            check_password(ctx, b"default", &argv[1])?;
        }
        3 => check_password(ctx, &argv[1], &argv[2])?,
        _ => return Err(CmdError::Syntax),
    }
    ctx.session.authenticated = true;
    Ok(Reply::OK)
}

fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

pub fn hello(ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    let mut proto = ctx.session.proto;
    if argv.len() >= 2 {
        let v = parse_i64(&argv[1]).ok_or(CmdError::ProtoNotInteger)?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::NoProto);
        }
        proto = v as u8;
    }
    let mut auth: Option<(&Bytes, &Bytes)> = None;
    let mut name: Option<&Bytes> = None;
    let mut j = 2;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if eq(&argv[j], "AUTH") && more >= 2 {
            auth = Some((&argv[j + 1], &argv[j + 2]));
            j += 3;
        } else if eq(&argv[j], "SETNAME") && more >= 1 {
            name = Some(&argv[j + 1]);
            j += 2;
        } else {
            return Err(CmdError::Other(format!("ERR Syntax error in HELLO option '{}'", text(&argv[j]))));
        }
    }
    if let Some((u, p)) = auth {
        check_password(ctx, u, p)?;
        ctx.session.authenticated = true;
    }
    if !ctx.session.authenticated {
        return Err(CmdError::Other(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into(),
        ));
    }
    if let Some(n) = name {
        if !valid_client_name(n) {
            return Err(CmdError::BadClientName);
        }
        ctx.session.name = if n.is_empty() { None } else { Some(n.clone()) };
    }
    ctx.session.proto = proto;
    let s = |v: &'static str| Reply::bulk(Bytes::from_static(v.as_bytes()));
    Ok(Reply::Map(vec![
        (s("server"), s("redis")),
        (s("version"), s(REDIS_VERSION)),
        (s("proto"), Reply::Int(proto as i64)),
        (s("id"), Reply::Int(ctx.session.id as i64)),
        (s("mode"), s(ctx.node.mode())),
        (s("role"), s("master")),
        (s("modules"), Reply::Array(vec![])),
    ]))
}

/// The handler of a container (CLIENT, CLUSTER, CONFIG). The connection resolves
/// `container sub` to the `container|sub` entry before dispatch, so this only runs if a
/// subcommand was not resolved, which the container's arity (-2) rules out.
pub fn subcommand(_ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    let sub = argv.get(1).map(text).unwrap_or_default();
    Err(CmdError::UnknownSubcommand { cmd: lower(&argv[0]).to_uppercase(), sub })
}

pub fn client_id(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.session.id as i64))
}

pub fn client_getname(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::opt_bulk(ctx.session.name.clone()))
}

pub fn client_setname(ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    if !valid_client_name(&argv[2]) {
        return Err(CmdError::BadClientName);
    }
    ctx.session.name = if argv[2].is_empty() { None } else { Some(argv[2].clone()) };
    Ok(Reply::OK)
}

pub fn client_setinfo(ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    let attr = lower(&argv[2]);
    let val = &argv[3];
    if attr != "lib-name" && attr != "lib-ver" {
        return Err(CmdError::Other(format!("ERR Unrecognized option '{}'", text(&argv[2]))));
    }
    if !valid_client_name(val) {
        return Err(CmdError::Other(format!("ERR {attr} cannot contain spaces, newlines or special characters.")));
    }
    let v = if val.is_empty() { None } else { Some(val.clone()) };
    if attr == "lib-name" {
        ctx.session.lib_name = v;
    } else {
        ctx.session.lib_ver = v;
    }
    Ok(Reply::OK)
}

pub fn client_info(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    let line = ctx.node.clients.all().into_iter().find(|c| c.id == ctx.session.id).map(|c| c.line());
    Ok(Reply::Verbatim(Bytes::from(format!("{}\n", line.unwrap_or_default()))))
}

/// CLIENT LIST [TYPE normal] [ID id ...]
pub fn client_list(ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    let mut ids: Option<Vec<i64>> = None;
    let mut i = 2;
    while i < argv.len() {
        if eq(&argv[i], "TYPE") && i + 1 < argv.len() {
            let t = lower(&argv[i + 1]);
            match t.as_str() {
                "normal" => {}
                "master" | "replica" | "slave" | "pubsub" => return Ok(Reply::Verbatim(Bytes::new())),
                _ => return Err(CmdError::Other(format!("ERR Unknown client type '{}'", text(&argv[i + 1])))),
            }
            i += 2;
        } else if eq(&argv[i], "ID") && i + 1 < argv.len() {
            let mut v = Vec::new();
            for a in &argv[i + 1..] {
                // Any integer is accepted (ids < 1 simply match nothing), as in Redis.
                match parse_i64(a) {
                    Some(id) => v.push(id),
                    None => return Err(CmdError::Other("ERR Invalid client ID".into())),
                }
            }
            ids = Some(v);
            i = argv.len();
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut out = String::new();
    for c in ctx.node.clients.all() {
        if ids.as_ref().is_none_or(|v| v.contains(&(c.id as i64))) {
            out.push_str(&c.line());
            out.push('\n');
        }
    }
    Ok(Reply::Verbatim(Bytes::from(out)))
}

pub fn select(_ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    match parse_i64(&argv[1]) {
        None => Err(CmdError::NotInteger),
        Some(0) => Ok(Reply::OK),
        Some(_) => Err(CmdError::DbIndexOutOfRange),
    }
}

pub fn quit(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    ctx.session.close = true;
    Ok(Reply::OK)
}

pub fn reset(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    let s = &mut *ctx.session;
    s.name = None;
    s.proto = 2;
    s.multi = None;
    s.watched.clear();
    s.authenticated = ctx.node.config.requirepass.is_none();
    Ok(Reply::Status("RESET"))
}

pub fn dbsize(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.node.served_counts().0 as i64))
}

pub fn time(_ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Ok(Reply::Array(vec![Reply::bulk(d.as_secs().to_string()), Reply::bulk(d.subsec_micros().to_string())]))
}

/// INFO's sections in Redis's order; `default` leaves out commandstats, like Redis 7.
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "commandstats",
    "errorstats",
    "cluster",
    "keyspace",
];

pub fn info(ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    let wanted: Vec<String> = argv[1..].iter().map(|a| lower(a)).collect();
    let all = wanted.iter().any(|w| w == "all" || w == "everything");
    let default = wanted.is_empty() || wanted.iter().any(|w| w == "default");
    let sections: Vec<&str> = ALL_SECTIONS
        .iter()
        .copied()
        .filter(|s| all || (default && *s != "commandstats") || wanted.iter().any(|w| w == s))
        .collect();
    let mut out = String::new();
    for (i, s) in sections.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        ctx.node.info_section(s, &mut out);
    }
    Ok(Reply::Verbatim(Bytes::from(out)))
}

/// Appends `key:value\r\n` to an INFO section.
pub fn field(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{key}:{value}\r\n");
}

/// CONFIG GET pattern [pattern ...]: the known keys matching any pattern, once each.
pub fn config_get(ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    let mut out = Vec::new();
    for (k, v) in ctx.node.config.entries() {
        if argv[2..].iter().any(|p| super::glob::matches(p, k.as_bytes(), true)) {
            out.push((Reply::bulk(Bytes::from_static(k.as_bytes())), Reply::bulk(v)));
        }
    }
    Ok(Reply::Map(out))
}

pub fn config_set(_ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    Err(CmdError::Other(format!(
        "ERR Unknown option or number of arguments for CONFIG SET - '{}' (RedRaft takes configuration at start only)",
        text(&argv[2])
    )))
}
