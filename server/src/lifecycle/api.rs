//! The admin API of region operations (served on the admin port by admin.rs, and over gRPC as
//! `Admin.Call`): the regions view, operations, and the requests that start them.
//!
//! Any node answers. The views come from its copy of the cluster map and the directory; a
//! request that starts an operation is forwarded to the meta leader (once: a forwarded request
//! that finds no meta leader is answered 503).

use serde_json::{json, Value};

use crate::cluster::is_running;
use crate::node::Node;
use crate::raft::{grpc, pb};

use super::ops::{self, OpError, OpRequest};

/// An answer: HTTP status and JSON body.
pub type Answer = (u16, Value);

fn error(status: u16, msg: impl Into<String>) -> Answer {
    (status, json!({ "error": msg.into() }))
}

fn kind_name(k: i32) -> &'static str {
    match pb::operation::Kind::try_from(k) {
        Ok(pb::operation::Kind::Split) => "split",
        Ok(pb::operation::Kind::Merge) => "merge",
        Ok(pb::operation::Kind::Move) => "move",
        Ok(pb::operation::Kind::RemoveNode) => "remove-node",
        Ok(pb::operation::Kind::AddNode) => "add-node",
        Err(_) => "unknown",
    }
}

pub fn op_view(o: &pb::Operation) -> Value {
    let state = match pb::operation::State::try_from(o.state) {
        Ok(pb::operation::State::Running) => "running",
        Ok(pb::operation::State::Done) => "done",
        _ => "failed",
    };
    let detail = match pb::operation::Kind::try_from(o.kind) {
        Ok(pb::operation::Kind::Split) => json!({ "at_slot": o.at_slot, "new_region": o.new_region }),
        Ok(pb::operation::Kind::Merge) => json!({ "left": o.region_id, "right": o.source }),
        Ok(pb::operation::Kind::Move) => json!({ "from": o.from_node, "to": o.to_node }),
        Ok(pb::operation::Kind::RemoveNode) => json!({ "node": o.from_node }),
        Ok(pb::operation::Kind::AddNode) => json!({ "node": o.to_node }),
        Err(_) => json!({}),
    };
    json!({
        "id": o.id,
        "kind": kind_name(o.kind),
        "region": (o.region_id != 0).then_some(o.region_id),
        "state": state,
        "step": o.step,
        "error": (!o.error.is_empty()).then_some(&o.error),
        "started_ms": o.started_ms,
        "finished_ms": (o.finished_ms != 0).then_some(o.finished_ms),
        "detail": detail,
    })
}

/// The map as this node's replica of the meta group applied it (the directory's copy follows
/// it a moment later; an operation just started here must be visible at once).
fn applied_map(node: &Node) -> Option<std::sync::Arc<pb::ClusterMap>> {
    node.meta.as_ref()?.cluster_map().borrow().clone()
}

/// `GET /admin/regions`: the map's regions with their leaders (as the directory knows them),
/// the nodes, and the operations.
pub fn regions(node: &Node) -> Answer {
    let Some(cluster) = &node.cluster else {
        return error(400, "region operations need cluster mode");
    };
    let Some(map) = applied_map(node) else { return error(503, "no cluster map yet") };
    let local = node.regions();
    let regions: Vec<Value> = map
        .regions
        .iter()
        .map(|r| {
            let op = map.ops.iter().find(|o| is_running(o) && (o.region_id == r.region_id || o.source == r.region_id));
            let learners: Vec<Value> = op
                .filter(|o| o.moving_region == r.region_id && o.new_replica_id != 0)
                .map(|o| json!({ "replica": o.new_replica_id, "node": o.to_node }))
                .into_iter()
                .collect();
            // Key counts are known where a replica is local.
            let keys = local.iter().find(|l| l.id == r.region_id).map(|l| {
                let (from, to) = l.slots();
                node.engine.counts.total(from, to).0
            });
            json!({
                "id": r.region_id,
                "slots": [r.slot_from, r.slot_to - 1],
                "epoch": r.epoch,
                "leader": cluster.claimed_leader(r.region_id),
                "replicas": r.replicas.iter().map(|x| json!({ "replica": x.replica_id, "node": x.node_id })).collect::<Vec<_>>(),
                "learners": learners,
                "keys": keys,
                "op": op.map(|o| o.id),
            })
        })
        .collect();
    let leaders = |id: u64| map.regions.iter().filter(|r| cluster.claimed_leader(r.region_id) == Some(id)).count();
    let nodes: Vec<Value> = map
        .nodes
        .iter()
        .map(|n| {
            let peer = cluster.peer(n.node_id);
            json!({
                "id": n.node_id,
                "grpc": n.grpc_addr,
                "host": peer.as_ref().map(|p| p.host.clone()),
                "port": peer.as_ref().map(|p| p.port),
                "id40": peer.as_ref().map(|p| p.id40.clone()),
                "up": cluster.is_fresh(n.node_id),
                "replicas": map.regions.iter().filter(|r| r.replicas.iter().any(|x| x.node_id == n.node_id)).count(),
                "leaders": leaders(n.node_id),
                "removing": map.removing.contains(&n.node_id),
            })
        })
        .collect();
    let ops: Vec<Value> = map.ops.iter().map(op_view).collect();
    (200, json!({ "map_version": map.version, "regions": regions, "nodes": nodes, "ops": ops }))
}

/// `GET /admin/ops` and `GET /admin/ops/{id}`.
pub fn op(node: &Node, id: Option<&str>) -> Answer {
    let Some(map) = applied_map(node) else { return error(503, "no cluster map yet") };
    match id {
        None => (200, json!({ "ops": map.ops.iter().map(op_view).collect::<Vec<_>>() })),
        Some(id) => match id.parse::<u64>().ok().and_then(|id| map.ops.iter().find(|o| o.id == id)) {
            Some(o) => (200, op_view(o)),
            None => error(404, format!("no operation {id} (the last {} finished ones are kept)", ops::KEEP_FINISHED)),
        },
    }
}

/// A JSON object body with exactly the keys `names`, all unsigned integers.
fn numbers<const N: usize>(body: &[u8], names: [&str; N]) -> Result<[u64; N], String> {
    let expected = || {
        let fields: Vec<String> = names.iter().map(|n| format!("\"{n}\": <n>")).collect();
        format!("expected a JSON body {{{}}}", fields.join(", "))
    };
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) else { return Err(expected()) };
    if o.len() != N {
        return Err(expected());
    }
    let mut out = [0u64; N];
    for (i, n) in names.iter().enumerate() {
        out[i] = o.get(*n).and_then(Value::as_u64).ok_or_else(expected)?;
    }
    Ok(out)
}

/// The operation a request asks for, from its path and body.
pub fn parse(method: &str, segs: &[&str], body: &[u8]) -> Option<Result<OpRequest, String>> {
    let id = |s: &str| s.parse::<u64>().map_err(|_| format!("bad id {s:?}"));
    Some((|| match (method, segs) {
        ("POST", ["admin", "regions", "merge"]) => {
            let [left, right] = numbers(body, ["left", "right"])?;
            Ok(OpRequest::Merge { left, right })
        }
        ("POST", ["admin", "regions", r, "split"]) => {
            let [at] = numbers(body, ["at_slot"])?;
            if at >= crate::store::keys::SLOTS as u64 {
                return Err(format!("slot {at} is out of range (0-16383)"));
            }
            Ok(OpRequest::Split { region: id(r)?, at: at as u32 })
        }
        ("POST", ["admin", "regions", r, "move"]) => {
            let [from, to] = numbers(body, ["from", "to"])?;
            Ok(OpRequest::Move { region: id(r)?, from, to })
        }
        ("POST", ["admin", "nodes"]) => {
            let [node] = numbers(body, ["id"])?;
            Ok(OpRequest::AddNode { node })
        }
        ("DELETE", ["admin", "nodes", n]) => Ok(OpRequest::RemoveNode { node: id(n)? }),
        _ => Err(String::new()),
    })())
    .filter(|r| !matches!(r, Err(e) if e.is_empty()))
}

/// Starts an operation here when this node leads the meta group, else forwards the request to
/// the meta leader (unless it was forwarded already).
pub async fn start(node: &Node, req: OpRequest, method: &str, path: &str, body: &[u8], forwarded: bool) -> Answer {
    let (Some(cluster), Some(meta)) = (&node.cluster, &node.meta) else {
        return error(400, "region operations need cluster mode");
    };
    if meta.raft.is_leader() {
        return match ops::start(node, req).await {
            Ok(op) => (202, json!({ "op": op.id })),
            Err(e) => error(e.status(), e.to_string()),
        };
    }
    if forwarded {
        return error(503, OpError::Unavailable("not the meta leader".into()).to_string());
    }
    let Some(addr) = meta.leader().and_then(|l| cluster.addr_of(l)) else {
        return error(503, "no meta leader known; try again");
    };
    let answer = forward(cluster, &addr, method, path, body).await;
    if let Some(id) = answer.1.get("op").and_then(Value::as_u64) {
        // Answer once this node's copy of the map has the operation, so the client can follow
        // it here (`GET /admin/ops/{id}`).
        let mut maps = meta.cluster_map();
        let has =
            |m: &Option<std::sync::Arc<pb::ClusterMap>>| m.as_ref().is_some_and(|m| m.ops.iter().any(|o| o.id == id));
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), maps.wait_for(has)).await;
    }
    answer
}

/// Sends an admin request to the node at `addr` and returns its answer.
pub async fn forward(cluster: &crate::cluster::Cluster, addr: &str, method: &str, path: &str, body: &[u8]) -> Answer {
    let req = pb::AdminCallRequest { method: method.into(), path: path.into(), body: body.to_vec().into() };
    match grpc::admin_call(&cluster.channels, addr, req).await {
        Ok(r) => {
            let v = serde_json::from_slice(&r.body)
                .unwrap_or_else(|_| json!({ "error": "bad answer from the meta leader" }));
            (r.status as u16, v)
        }
        Err(e) => error(503, format!("forwarding to {addr}: {}", e.message())),
    }
}
