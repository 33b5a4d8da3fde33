//! COMMAND and its subcommands, generated from the command table (Redis 7 reply formats).

use bytes::Bytes;

use super::args::lower;
use super::table::{self, CommandSpec, FindKeys, KeySpec};
use super::ConnCtx;
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;

fn b(s: &str) -> Reply {
    Reply::bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn statuses(items: &[&'static str]) -> Reply {
    Reply::Set(items.iter().map(|s| Reply::Status(s)).collect())
}

fn bulks(items: &[&'static str]) -> Reply {
    Reply::Set(items.iter().map(|s| b(s)).collect())
}

fn explicit_spec(ks: &KeySpec) -> Reply {
    let mut spec = Vec::new();
    if !ks.notes.is_empty() {
        spec.push((b("notes"), b(ks.notes)));
    }
    spec.push((b("flags"), statuses(ks.flags)));
    spec.push((
        b("begin_search"),
        Reply::Map(vec![
            (b("type"), b("index")),
            (b("spec"), Reply::Map(vec![(b("index"), Reply::Int(ks.begin_index as i64))])),
        ]),
    ));
    let find = match ks.find {
        FindKeys::Range { lastkey, keystep, limit } => Reply::Map(vec![
            (b("type"), b("range")),
            (
                b("spec"),
                Reply::Map(vec![
                    (b("lastkey"), Reply::Int(lastkey as i64)),
                    (b("keystep"), Reply::Int(keystep as i64)),
                    (b("limit"), Reply::Int(limit as i64)),
                ]),
            ),
        ]),
        FindKeys::Keynum { keynumidx, firstkey, keystep } => Reply::Map(vec![
            (b("type"), b("keynum")),
            (
                b("spec"),
                Reply::Map(vec![
                    (b("keynumidx"), Reply::Int(keynumidx as i64)),
                    (b("firstkey"), Reply::Int(firstkey as i64)),
                    (b("keystep"), Reply::Int(keystep as i64)),
                ]),
            ),
        ]),
    };
    spec.push((b("find_keys"), find));
    Reply::Map(spec)
}

fn key_specs(c: &CommandSpec) -> Reply {
    if !c.key_specs.is_empty() {
        return Reply::Set(c.key_specs.iter().map(explicit_spec).collect());
    }
    if c.first_key <= 0 {
        return Reply::Set(vec![]);
    }
    let lastkey = if c.last_key < 0 { c.last_key } else { c.last_key - c.first_key };
    let mut spec = Vec::new();
    if !c.key_notes.is_empty() {
        spec.push((b("notes"), b(c.key_notes)));
    }
    spec.push((b("flags"), statuses(c.key_flags)));
    spec.push((
        b("begin_search"),
        Reply::Map(vec![
            (b("type"), b("index")),
            (b("spec"), Reply::Map(vec![(b("index"), Reply::Int(c.first_key as i64))])),
        ]),
    ));
    spec.push((
        b("find_keys"),
        Reply::Map(vec![
            (b("type"), b("range")),
            (
                b("spec"),
                Reply::Map(vec![
                    (b("lastkey"), Reply::Int(lastkey as i64)),
                    (b("keystep"), Reply::Int(c.step as i64)),
                    (b("limit"), Reply::Int(0)),
                ]),
            ),
        ]),
    ));
    Reply::Set(vec![Reply::Map(spec)])
}

/// The 10-element COMMAND INFO entry of a command.
fn entry(c: &CommandSpec) -> Reply {
    Reply::Array(vec![
        b(c.name),
        Reply::Int(c.arity as i64),
        statuses(c.flags),
        Reply::Int(c.first_key as i64),
        Reply::Int(c.last_key as i64),
        Reply::Int(c.step as i64),
        statuses(c.acl),
        bulks(c.tips),
        key_specs(c),
        Reply::Set(c.subcommands().into_iter().map(entry).collect()),
    ])
}

fn doc(c: &CommandSpec) -> Reply {
    let mut m = vec![
        (b("summary"), b(c.summary)),
        (b("since"), b(c.since)),
        (b("group"), b(c.group)),
        (b("complexity"), b(c.complexity)),
    ];
    let subs = c.subcommands();
    if !subs.is_empty() {
        m.push((b("subcommands"), Reply::Map(subs.into_iter().map(|s| (b(s.name), doc(s))).collect())));
    }
    Reply::Map(m)
}

fn find(name: &[u8]) -> Option<&'static CommandSpec> {
    let n = lower(name);
    match n.split_once('|') {
        Some((c, s)) => table::lookup_sub(c, s.as_bytes()),
        None => table::lookup(name),
    }
}

/// COMMAND without a subcommand (with one, the subcommand's own entry runs).
pub fn command(_ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(table::top_level().map(entry).collect()))
}

pub fn count(_ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(table::top_level().count() as i64))
}

pub fn info(_ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    if argv.len() == 2 {
        return Ok(Reply::Array(table::top_level().map(entry).collect()));
    }
    Ok(Reply::Array(argv[2..].iter().map(|n| find(n).map(entry).unwrap_or(Reply::Nil)).collect()))
}

pub fn docs(_ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    let pairs: Vec<(Reply, Reply)> = if argv.len() == 2 {
        table::top_level().map(|c| (b(c.name), doc(c))).collect()
    } else {
        argv[2..].iter().filter_map(|n| find(n)).map(|c| (b(c.name), doc(c))).collect()
    };
    Ok(Reply::Map(pairs))
}

pub fn list(_ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(table::top_level().map(|c| b(c.name)).collect()))
}

pub fn getkeys(_ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    let args = &argv[2..];
    let Some(mut spec) = table::lookup(&args[0]) else { return Err(CmdError::InvalidCommandSpecified) };
    if spec.name == "command" || spec.name == "client" {
        if let Some(sub) = args.get(1).and_then(|s| table::lookup_sub(spec.name, s)) {
            spec = sub;
        }
    }
    if !spec.arity_ok(args.len()) {
        return Err(CmdError::Other("ERR Invalid number of arguments specified for command".into()));
    }
    let idx = spec.keys_of(args);
    if idx.is_empty() {
        return Err(CmdError::NoKeyArguments);
    }
    Ok(Reply::Array(idx.into_iter().map(|i| Reply::Bulk(args[i].clone())).collect()))
}
