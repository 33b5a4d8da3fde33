//! Automatic region management, on the meta leader: the split checker (a region over
//! `region-split-keys` keys, or over `region-split-qps` writes/s for three checks in a row, is
//! split at the slot that halves its keys), the merge of small idle neighbours (two adjacent
//! regions under `region-merge-keys` keys and 100 writes/s each) and the replica balancer
//! (`balance-replicas`: one replica moves from the busiest node to the least busy while they
//! differ by two or more). Each starts an ordinary operation (ops.rs), one at a time and only
//! while no other operation runs, so it never races an operator's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cluster::is_running;
use crate::node::Node;
use crate::raft::pb::{self, region_op_request::Kind as Op};

use super::ops::{self, OpRequest};

/// How often the checks run.
const CHECK_EVERY: Duration = Duration::from_secs(5);
/// Checks in a row a region must be over `region-split-qps` to be split for load.
const HOT_CHECKS: u32 = 3;
/// Writes/s under which a region counts as idle for a merge.
const IDLE_QPS: f64 = 100.0;

/// What the last check saw of a region's leader.
struct Seen {
    commands: u64,
    at: Instant,
    hot: u32,
}

pub async fn run(node: Arc<Node>) {
    let c = &node.config;
    if c.region_split_keys == 0 && c.region_split_qps == 0 && c.region_merge_keys == 0 && !c.balance_replicas {
        return;
    }
    let (Some(cluster), Some(meta)) = (node.cluster.clone(), node.meta.clone()) else { return };
    let mut seen: BTreeMap<u64, Seen> = BTreeMap::new();
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        let Some(map) = cluster.map() else { continue };
        if !meta.raft.is_leader() || map.ops.iter().any(is_running) {
            continue;
        }
        // Each region's keys, split point and write rate, from its leader.
        let mut stats: BTreeMap<u64, (u64, u32, f64)> = BTreeMap::new();
        for r in &map.regions {
            let req = pb::RegionOpRequest { kind: Op::Status as i32, ..Default::default() };
            let Ok(s) = ops::on_leader(&cluster, r.region_id, req).await else { continue };
            let now = Instant::now();
            let prev = seen.entry(r.region_id).or_insert(Seen { commands: s.commands, at: now, hot: 0 });
            let secs = now.duration_since(prev.at).as_secs_f64();
            // The counter restarts with a new leader: no rate this time.
            let qps = if s.commands >= prev.commands && secs > 0.0 {
                (s.commands - prev.commands) as f64 / secs
            } else {
                0.0
            };
            let hot = c.region_split_qps > 0 && qps > c.region_split_qps as f64;
            *prev = Seen { commands: s.commands, at: now, hot: if hot { prev.hot + 1 } else { 0 } };
            stats.insert(r.region_id, (s.keys, s.split_slot, qps));
        }
        if let Some(req) = pick(&node, &map, &stats, &seen) {
            match ops::start(&node, req.clone()).await {
                Ok(op) => tracing::info!("automatic {req:?}: operation {}", op.id),
                Err(e) => tracing::debug!("automatic {req:?} not started: {e}"),
            }
        }
    }
}

/// The one operation worth starting now, if any: a split first, then a merge, then a move.
fn pick(
    node: &Node,
    map: &pb::ClusterMap,
    stats: &BTreeMap<u64, (u64, u32, f64)>,
    seen: &BTreeMap<u64, Seen>,
) -> Option<OpRequest> {
    let c = &node.config;
    for r in &map.regions {
        let Some(&(keys, at, _)) = stats.get(&r.region_id) else { continue };
        let big = c.region_split_keys > 0 && keys > c.region_split_keys;
        let hot = seen.get(&r.region_id).is_some_and(|s| s.hot >= HOT_CHECKS);
        if (big || hot) && r.slot_to - r.slot_from >= 2 && at > r.slot_from && at < r.slot_to {
            return Some(OpRequest::Split { region: r.region_id, at });
        }
    }
    if c.region_merge_keys > 0 {
        let small = |id: u64| stats.get(&id).is_some_and(|&(k, _, q)| k < c.region_merge_keys && q < IDLE_QPS);
        for pair in map.regions.windows(2) {
            let (l, r) = (&pair[0], &pair[1]);
            if l.slot_to == r.slot_from && small(l.region_id) && small(r.region_id) {
                return Some(OpRequest::Merge { left: l.region_id, right: r.region_id });
            }
        }
    }
    if c.balance_replicas {
        let count = |n: u64| map.regions.iter().filter(|r| r.replicas.iter().any(|x| x.node_id == n)).count();
        let mut load: Vec<(usize, u64)> = map
            .nodes
            .iter()
            .filter(|n| !map.removing.contains(&n.node_id))
            .map(|n| (count(n.node_id), n.node_id))
            .collect();
        load.sort();
        let (&(least, to), &(most, from)) = (load.first()?, load.last()?);
        if most >= least + 2 {
            let r = map.regions.iter().find(|r| {
                r.replicas.iter().any(|x| x.node_id == from) && !r.replicas.iter().any(|x| x.node_id == to)
            })?;
            return Some(OpRequest::Move { region: r.region_id, from, to });
        }
    }
    None
}
