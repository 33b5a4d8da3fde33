//! CLUSTER subcommands, READONLY, READWRITE and ASKING. A standalone node answers as a
//! one-node cluster owning every slot, so cluster-aware clients can use it unchanged
//! (INFO still says `cluster_enabled:0`).

use std::fmt::Write as _;

use bytes::Bytes;

use super::args::parse_i64;
use super::ConnCtx;
use crate::error::{CmdError, CmdResult};
use crate::resp::Reply;
use crate::store::keys::{key_slot, SLOTS};

fn b(s: &str) -> Reply {
    Reply::bulk(Bytes::copy_from_slice(s.as_bytes()))
}

pub fn info(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    let mut s = String::new();
    for (k, v) in [
        ("cluster_state", "ok".to_string()),
        ("cluster_slots_assigned", SLOTS.to_string()),
        ("cluster_slots_ok", SLOTS.to_string()),
        ("cluster_slots_pfail", "0".into()),
        ("cluster_slots_fail", "0".into()),
        ("cluster_known_nodes", "1".into()),
        ("cluster_size", "1".into()),
        ("cluster_current_epoch", ctx.node.config_epoch().to_string()),
        ("cluster_my_epoch", ctx.node.config_epoch().to_string()),
        ("cluster_stats_messages_sent", "0".into()),
        ("cluster_stats_messages_received", "0".into()),
        ("total_cluster_links_buffer_limit_exceeded", "0".into()),
    ] {
        let _ = write!(s, "{k}:{v}\r\n");
    }
    Ok(Reply::Verbatim(Bytes::from(s)))
}

pub fn myid(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    Ok(b(&ctx.node.node_id))
}

/// `<id> <ip:port@cport> myself,master - 0 0 <epoch> connected 0-16383\n`
pub fn nodes(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    let (ip, port) = ctx.node.announce();
    let line = format!(
        "{} {}:{}@{} myself,master - 0 0 {} connected 0-{}\n",
        ctx.node.node_id,
        ip,
        port,
        ctx.node.bus_port(),
        ctx.node.config_epoch(),
        SLOTS - 1
    );
    Ok(Reply::Verbatim(Bytes::from(line)))
}

pub fn slots(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    let (ip, port) = ctx.node.announce();
    let node = Reply::Array(vec![b(&ip), Reply::Int(port as i64), b(&ctx.node.node_id), Reply::Map(vec![])]);
    Ok(Reply::Array(vec![Reply::Array(vec![Reply::Int(0), Reply::Int(SLOTS as i64 - 1), node])]))
}

pub fn shards(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    let (ip, port) = ctx.node.announce();
    let node = Reply::Map(vec![
        (b("id"), b(&ctx.node.node_id)),
        (b("port"), Reply::Int(port as i64)),
        (b("ip"), b(&ip)),
        (b("endpoint"), b(&ip)),
        (b("role"), b("master")),
        (b("replication-offset"), Reply::Int(ctx.node.applied_index() as i64)),
        (b("health"), b("online")),
    ]);
    Ok(Reply::Array(vec![Reply::Map(vec![
        (b("slots"), Reply::Array(vec![Reply::Int(0), Reply::Int(SLOTS as i64 - 1)])),
        (b("nodes"), Reply::Array(vec![node])),
    ])]))
}

pub fn keyslot(_ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(key_slot(&argv[2]) as i64))
}

/// A slot argument: not an integer -> the integer error; out of range -> `invalid`.
fn slot_arg(a: &[u8], invalid: &str) -> CmdResult<u16> {
    let s = parse_i64(a).ok_or(CmdError::NotInteger)?;
    if !(0..SLOTS as i64).contains(&s) {
        return Err(CmdError::Other(invalid.into()));
    }
    Ok(s as u16)
}

pub fn countkeysinslot(ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    let slot = slot_arg(&argv[2], "ERR Invalid slot")?;
    Ok(Reply::Int(ctx.node.engine.counts.get(slot).0 as i64))
}

pub fn getkeysinslot(ctx: &mut ConnCtx, argv: &[Bytes]) -> CmdResult {
    const INVALID: &str = "ERR Invalid slot or number of keys";
    let slot = slot_arg(&argv[2], INVALID)?;
    let count = parse_i64(&argv[3]).ok_or(CmdError::NotInteger)?;
    if count < 0 {
        return Err(CmdError::Other(INVALID.into()));
    }
    let keys = ctx.node.keys_in_slot(slot, count as usize)?;
    Ok(Reply::Array(keys.into_iter().map(Reply::Bulk).collect()))
}

pub fn readonly(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    ctx.session.readonly = true;
    Ok(Reply::OK)
}

pub fn readwrite(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    ctx.session.readonly = false;
    Ok(Reply::OK)
}

pub fn asking(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    ctx.session.asking = true;
    Ok(Reply::OK)
}
