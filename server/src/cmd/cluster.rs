//! CLUSTER subcommands, READONLY, READWRITE and ASKING. A standalone node answers as a
//! one-node cluster owning every slot, so cluster-aware clients can use it unchanged
//! (INFO still says `cluster_enabled:0`). In a cluster, each region is a Redis Cluster shard:
//! its leader is the master of its slots and the other replicas are its replicas.

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

/// A region as the CLUSTER replies show it: slots `[from, to)`, the leader's node id (when
/// its node answers the peer directory) and the other answering replicas' node ids.
struct Shard {
    from: u16,
    to: u32,
    leader: Option<u64>,
    replicas: Vec<u64>,
    /// The map's first replica: listed when no leader or replica answers.
    first: Option<u64>,
}

/// The shards of a cluster node, in slot order, from the cluster map (none before it is
/// known); None when standalone. A region's leader is what its local replica knows, or for a
/// region with no replica here, the live node claiming it.
fn shards_of(ctx: &ConnCtx) -> Option<Vec<Shard>> {
    let cluster = ctx.node.cluster.as_ref()?;
    // As in Redis, nodes that stopped answering are left out (a failed node is no target).
    let known: Vec<u64> = cluster.known().into_iter().map(|(id, _)| id).filter(|&id| cluster.is_fresh(id)).collect();
    let Some(map) = cluster.map() else { return Some(Vec::new()) };
    let local = ctx.node.regions();
    let mut shards: Vec<Shard> = map
        .regions
        .iter()
        .map(|m| {
            let leader = match local.iter().find(|r| r.id == m.region_id) {
                Some(r) => r.leader(),
                None => cluster.claimed_leader(m.region_id),
            };
            let leader = leader.filter(|l| known.contains(l));
            let replicas =
                m.replicas.iter().map(|x| x.node_id).filter(|id| Some(*id) != leader && known.contains(id)).collect();
            let first = m.replicas.first().map(|x| x.node_id);
            Shard { from: m.slot_from as u16, to: m.slot_to, leader, replicas, first }
        })
        .collect();
    shards.sort_by_key(|s| s.from);
    Some(shards)
}

/// `a-b` ranges of the slots led by `id`, adjacent regions merged.
fn ranges_of(shards: &[Shard], id: u64) -> Vec<(u16, u32)> {
    let mut out: Vec<(u16, u32)> = Vec::new();
    for s in shards.iter().filter(|s| s.leader == Some(id)) {
        match out.last_mut() {
            Some(last) if last.1 == s.from as u32 => last.1 = s.to,
            _ => out.push((s.from, s.to)),
        }
    }
    out
}

fn max_term(ctx: &ConnCtx) -> u64 {
    use openraft::async_runtime::watch::WatchReceiver;
    ctx.node.regions().iter().map(|r| r.raft.metrics().borrow_watched().current_term).max().unwrap_or(0)
}

pub fn info(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    let mut s = String::new();
    let (state, ok, known, size, epoch) = match (shards_of(ctx), &ctx.node.cluster) {
        (Some(shards), Some(cluster)) => {
            let ok: u32 = shards.iter().filter(|s| s.leader.is_some()).map(|s| s.to - s.from as u32).sum();
            let mut leaders: Vec<u64> = shards.iter().filter_map(|s| s.leader).collect();
            leaders.sort_unstable();
            leaders.dedup();
            let state = if ok == SLOTS as u32 { "ok" } else { "fail" };
            (state, ok, cluster.known().len(), leaders.len(), max_term(ctx))
        }
        _ => ("ok", SLOTS as u32, 1, 1, ctx.node.config_epoch()),
    };
    for (k, v) in [
        ("cluster_state", state.to_string()),
        ("cluster_slots_assigned", SLOTS.to_string()),
        ("cluster_slots_ok", ok.to_string()),
        ("cluster_slots_pfail", "0".into()),
        ("cluster_slots_fail", (SLOTS as u32 - ok).to_string()),
        ("cluster_known_nodes", known.to_string()),
        ("cluster_size", size.to_string()),
        ("cluster_current_epoch", epoch.to_string()),
        ("cluster_my_epoch", epoch.to_string()),
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
    if let (Some(shards), Some(cluster)) = (shards_of(ctx), &ctx.node.cluster) {
        let epoch = max_term(ctx);
        let mut out = String::new();
        for (id, p) in cluster.known() {
            let (flags, link) = match (id == cluster.my_id, cluster.is_fresh(id)) {
                (true, _) => ("myself,master", "connected"),
                (false, true) => ("master", "connected"),
                (false, false) => ("master,fail", "disconnected"),
            };
            let bus = p.port as u32 + 10000;
            let _ = write!(out, "{} {}:{}@{bus} {flags} - 0 0 {epoch} {link}", p.id40, p.host, p.port);
            for (from, to) in ranges_of(&shards, id) {
                if to == from as u32 + 1 {
                    let _ = write!(out, " {from}");
                } else {
                    let _ = write!(out, " {from}-{}", to - 1);
                }
            }
            out.push('\n');
        }
        return Ok(Reply::Verbatim(Bytes::from(out)));
    }
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

/// `[ip, port, id, {}]` of node `id` in a CLUSTER SLOTS entry.
fn slots_node(ctx: &ConnCtx, id: u64) -> Option<Reply> {
    let p = ctx.node.cluster.as_ref()?.peer(id)?;
    Some(Reply::Array(vec![b(&p.host), Reply::Int(p.port as i64), b(&p.id40), Reply::Map(vec![])]))
}

pub fn slots(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    if let Some(shards) = shards_of(ctx) {
        // Only the leader is listed. In Redis Cluster a node is either a master or a replica,
        // and clients (redis-py) take a node listed as a replica of any range for a replica
        // everywhere; here every node leads some regions and follows others. Replica reads
        // stay available to a connection that sends READONLY to any node. A region with no
        // leader at the moment lists an answering replica, else the map's first one (never a
        // range without a node), so clients keep full slot coverage and are sent on by MOVED
        // or CLUSTERDOWN; a node whose identity is unknown yet leaves the range out.
        let out = shards
            .iter()
            .filter_map(|s| {
                let node = s.leader.iter().chain(&s.replicas).chain(&s.first).find_map(|&id| slots_node(ctx, id))?;
                Some(Reply::Array(vec![Reply::Int(s.from as i64), Reply::Int(s.to as i64 - 1), node]))
            })
            .collect();
        return Ok(Reply::Array(out));
    }
    let (ip, port) = ctx.node.announce();
    let node = Reply::Array(vec![b(&ip), Reply::Int(port as i64), b(&ctx.node.node_id), Reply::Map(vec![])]);
    Ok(Reply::Array(vec![Reply::Array(vec![Reply::Int(0), Reply::Int(SLOTS as i64 - 1), node])]))
}

pub fn shards(ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    if let (Some(shards), Some(cluster)) = (shards_of(ctx), ctx.node.cluster.clone()) {
        let out = shards
            .iter()
            .map(|s| {
                let nodes = s
                    .leader
                    .iter()
                    .map(|&id| (id, "master"))
                    .chain(s.replicas.iter().map(|&id| (id, "replica")))
                    .filter_map(|(id, role)| {
                        let p = cluster.peer(id)?;
                        Some(Reply::Map(vec![
                            (b("id"), b(&p.id40)),
                            (b("port"), Reply::Int(p.port as i64)),
                            (b("ip"), b(&p.host)),
                            (b("endpoint"), b(&p.host)),
                            (b("role"), b(role)),
                            (b("replication-offset"), Reply::Int(0)),
                            (b("health"), b("online")),
                        ]))
                    })
                    .collect();
                Reply::Map(vec![
                    (b("slots"), Reply::Array(vec![Reply::Int(s.from as i64), Reply::Int(s.to as i64 - 1)])),
                    (b("nodes"), Reply::Array(nodes)),
                ])
            })
            .collect();
        return Ok(Reply::Array(out));
    }
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
