//! Which region replicas this node runs, kept in line with the cluster map and the local store.
//!
//! One task (`run`) reconciles, on every map change, every split or merge applied here, and
//! once a second:
//! 1. a replica whose slots a merge gave to another region (`merged_into`) is closed and its
//!    log dropped (its data is the target's now);
//! 2. every recorded replica is opened;
//! 3. a replica the map gives this node (in a region, or as the new replica of a running move)
//!    and that has no local record is created, unless an open local region holds any of its
//!    slots (a split this node has not applied yet will create it, with its data; a map read
//!    from a replica of the meta group that is behind may name a replica already merged);
//! 4. a replica the map no longer gives this node (moved away, or its region gone) is closed and
//!    its log and data dropped (never slots another local region holds), except a region the map does not know yet (created by a split
//!    whose map update has not reached this node) and a frozen merge source (dropped by 1);
//! 5. the routing table is rebuilt from the open replicas' ranges.
//!
//! Regions are only ever created from the map (the first map, a move) or by a split applied
//! here, so the local ranges never overlap and a replica's data is either in place (split) or
//! comes whole from a snapshot (a new, empty replica).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::watch::WatchReceiver;
use openraft::BasicNode;

use crate::cluster::{is_running, Cluster};
use crate::node::Node;
use crate::raft::grpc::{GrpcNetwork, Resolve};
use crate::raft::{pb, Region};
use crate::store::local;

/// How long a region's other replicas wait for its first one to create it (first map only).
const BOOTSTRAP_FALLBACK: Duration = Duration::from_secs(10);

/// A replica the map gives this node.
struct Wanted {
    replica_id: u64,
    /// The slots the map has for the region (where a new replica starts).
    slots: (u16, u32),
    /// The group's first membership when the map still has the region as the first map made
    /// it (epoch 1): the replicas create the group. Empty for a replica added to a group.
    initial: Vec<pb::MapReplica>,
}

fn wanted(map: &pb::ClusterMap, me: u64) -> BTreeMap<u64, Wanted> {
    let mut out = BTreeMap::new();
    for r in &map.regions {
        let slots = (r.slot_from as u16, r.slot_to);
        if let Some(x) = r.replicas.iter().find(|x| x.node_id == me) {
            let initial = if r.epoch == 1 { r.replicas.clone() } else { Vec::new() };
            out.insert(r.region_id, Wanted { replica_id: x.replica_id, slots, initial });
        }
    }
    for op in map.ops.iter().filter(|o| is_running(o)) {
        let moving = map.regions.iter().find(|r| r.region_id == op.moving_region);
        if let Some(r) = moving.filter(|_| op.to_node == me && op.new_replica_id != 0) {
            let slots = (r.slot_from as u16, r.slot_to);
            out.entry(r.region_id).or_insert(Wanted { replica_id: op.new_replica_id, slots, initial: Vec::new() });
        }
        let Some(r) = map.regions.iter().find(|r| r.region_id == op.region_id) else { continue };
        if op.kind == pb::operation::Kind::Split as i32 {
            if let Some(x) = op.new_replicas.iter().find(|x| x.node_id == me) {
                // Created by the split itself, with its data; listed so it is not dropped. Made
                // here from the map only on a node whose parent replica skipped the split (it
                // installed a later snapshot): then as an empty replica that receives a snapshot,
                // never a new group of its own.
                let slots = (op.at_slot as u16, r.slot_to);
                out.insert(op.new_region, Wanted { replica_id: x.replica_id, slots, initial: Vec::new() });
            }
        }
    }
    out
}

/// Reconciles until `stop`.
pub async fn run(node: Arc<Node>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let (Some(cluster), Some(meta)) = (node.cluster.clone(), node.meta.clone()) else { return };
    let mut maps = meta.cluster_map();
    let mut opened: BTreeMap<u64, Arc<Region>> = BTreeMap::new();
    loop {
        if let Err(e) = reconcile(&node, &cluster, &mut opened, &stop).await {
            tracing::warn!("region replicas: {e:#}");
        }
        tokio::select! {
            _ = maps.changed() => {}
            _ = node.engine.local.changed.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

async fn reconcile(
    node: &Arc<Node>,
    cluster: &Arc<Cluster>,
    opened: &mut BTreeMap<u64, Arc<Region>>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let Some(map) = cluster.map() else { return Ok(()) };
    let engine = &node.engine;
    let want = wanted(&map, cluster.my_id);
    let mut records: BTreeMap<u64, pb::LocalRegion> =
        local::read_all(engine)?.into_iter().map(|r| (r.region_id, r)).collect();
    // 1. Merged away.
    for rec in records.values().filter(|r| r.merged_into != 0) {
        close(cluster, opened, rec.region_id).await;
        local::drop_region(engine, rec.region_id, &[]).await?;
        tracing::info!("region {}: merged into region {}; replica dropped", rec.region_id, rec.merged_into);
    }
    records.retain(|_, r| r.merged_into == 0);
    // A frozen merge source whose slots another open region here already holds (it installed
    // a snapshot taken after the merge): its slots are that region's; drop its log.
    let frozen: Vec<(u64, (u16, u32))> =
        opened.values().filter(|r| r.shared.range.frozen()).map(|r| (r.id, r.slots())).collect();
    for (id, (from, to)) in frozen {
        let covered = opened.values().any(|o| o.id != id && o.slots().0 <= from && o.slots().1 >= to);
        if covered {
            close(cluster, opened, id).await;
            local::drop_region(engine, id, &[]).await?;
            records.remove(&id);
            tracing::info!("region {id}: its slots belong to another region here (merged); replica dropped");
        }
    }
    // A replica the map now gives under a newer replica id (moved away and back while this node
    // was down): the old one is no member of the group any more.
    for (&id, w) in &want {
        if let Some(old) = records.get(&id).map(|r| r.replica_id).filter(|r| *r < w.replica_id) {
            let slots = opened.get(&id).map(|r| r.slots());
            close(cluster, opened, id).await;
            let others: Vec<(u16, u32)> = opened.values().map(|r| r.slots()).collect();
            let data = slots.map(|s| subtract(s, &others)).unwrap_or_default();
            local::drop_region(engine, id, &data).await?;
            records.remove(&id);
            tracing::info!("region {id}: replica {old} replaced by replica {}", w.replica_id);
        }
    }
    // 2. Open what is recorded (first: their ranges decide where new replicas may go).
    open_recorded(node, cluster, opened, &records, &want, stop).await?;
    // 3. New replicas, where no local region holds any of their slots.
    for (&id, w) in &want {
        if records.contains_key(&id) {
            continue;
        }
        let overlaps = opened.values().any(|r| {
            let (from, to) = r.slots();
            (from as u32) < w.slots.1 && (w.slots.0 as u32) < to
        });
        if overlaps {
            continue;
        }
        let first = w.initial.first().is_some_and(|x| x.replica_id == w.replica_id);
        let rec = pb::LocalRegion {
            region_id: id,
            replica_id: w.replica_id,
            initial: w.initial.clone(),
            bootstrap_now: first,
            merged_into: 0,
        };
        local::write(engine, &rec).await?;
        tracing::info!("region {id}: replica {} recorded here (cluster map version {})", w.replica_id, map.version);
        records.insert(id, rec);
    }
    open_recorded(node, cluster, opened, &records, &want, stop).await?;
    // 4. Replicas this node no longer hosts.
    for (id, region) in opened.clone() {
        if want.contains_key(&id) || id >= map.next_region_id.max(1) || region.shared.range.frozen() {
            continue;
        }
        let slots = region.slots();
        // Slots an open region here will take by a merge it has not applied yet (this replica
        // of the source may still have to replay its FREEZE): keep it until then.
        let pending_merge = want.iter().any(|(other, w)| {
            let local = opened.get(other).map(|o| o.slots());
            let overlaps = (w.slots.0 as u32) < slots.1 && (slots.0 as u32) < w.slots.1;
            overlaps && local.is_some_and(|(f, t)| !(f <= slots.0 && t >= slots.1))
        });
        if pending_merge {
            continue;
        }
        close(cluster, opened, id).await;
        // Its data, except slots another local region holds (none, by the invariant above).
        let others: Vec<(u16, u32)> = opened.values().map(|r| r.slots()).collect();
        local::drop_region(engine, id, &subtract(slots, &others)).await?;
        tracing::info!("region {id}: no replica here in cluster map version {}; dropped with its data", map.version);
    }
    // 6 (below). Every replica purges its log through its last split or merge.
    compact_changed(opened);
    // 5. Routing.
    let now: Vec<(u64, (u16, u32))> = opened.values().map(|r| (r.id, r.slots())).collect();
    let routed: Vec<(u64, (u16, u32))> = node.layout().regions.iter().map(|r| (r.id, r.slots())).collect();
    let mut sorted = now.clone();
    sorted.sort_by_key(|(_, s)| *s);
    if sorted != routed || node.layout().regions.len() != opened.len() {
        node.set_regions(opened.values().cloned().collect());
    }
    Ok(())
}

/// Purges, on every open replica, the log through the region's last split or merge (once per
/// process and region at a time), so no replica that leads later replays history from before
/// the range changed to a replica it adds.
fn compact_changed(opened: &BTreeMap<u64, Arc<Region>>) {
    static BUSY: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());
    for r in opened.values() {
        let changed = r.shared.range.changed_at();
        let m = r.raft.metrics().borrow_watched().clone();
        let purged = m.purged.map_or(0, |p| p.index());
        let applied = m.last_applied.map_or(0, |l| l.index());
        if changed == 0 || purged >= changed || applied < changed {
            continue;
        }
        {
            let mut busy = BUSY.lock().expect("compaction lock");
            if busy.contains(&r.id) {
                continue;
            }
            busy.push(r.id);
        }
        let r = r.clone();
        tokio::spawn(async move {
            if let Err(e) = super::compact(&r).await {
                tracing::warn!("region {}: purging the log through index {changed}: {}", r.id, e.message());
            }
            BUSY.lock().expect("compaction lock").retain(|id| *id != r.id);
        });
    }
}

/// Opens the recorded replicas that are not open yet.
async fn open_recorded(
    node: &Arc<Node>,
    cluster: &Arc<Cluster>,
    opened: &mut BTreeMap<u64, Arc<Region>>,
    records: &BTreeMap<u64, pb::LocalRegion>,
    want: &BTreeMap<u64, Wanted>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    // All at once: a region replaying a MERGE at start waits for its source region, which must
    // be able to open (and replay its FREEZE) meanwhile.
    let pending: Vec<&pb::LocalRegion> = records.values().filter(|r| !opened.contains_key(&r.region_id)).collect();
    let opening = pending.iter().map(|rec| {
        let slots = want.get(&rec.region_id).map_or((0, 0), |w| w.slots);
        open(node, cluster, rec, slots)
    });
    let results = futures::future::join_all(opening).await;
    for (rec, region) in pending.into_iter().zip(results) {
        let region = region?;
        crate::expire::spawn_region(node.clone(), region.clone(), stop.clone());
        // A region a split just created has no leader: the node leading the region it came
        // from (the one on its left) campaigns at once instead of after an election timeout.
        let fresh = region.raft.metrics().borrow_watched().current_term == 0;
        let parent_leads = opened.values().any(|o| o.slots().1 == region.slots().0 as u32 && o.raft.is_leader());
        if fresh && parent_leads && rec.initial.is_empty() {
            let _ = region.raft.trigger().elect(false).await;
        }
        opened.insert(rec.region_id, region);
    }
    Ok(())
}

/// `range` without the slots of `others`.
fn subtract(range: (u16, u32), others: &[(u16, u32)]) -> Vec<(u16, u32)> {
    let mut out = vec![(range.0 as u32, range.1)];
    for &(f, t) in others {
        let f = f as u32;
        out = out
            .into_iter()
            .flat_map(|(a, b)| {
                if t <= a || f >= b {
                    vec![(a, b)]
                } else {
                    [(a, f.max(a)), (t.min(b), b)].into_iter().filter(|(x, y)| x < y).collect()
                }
            })
            .collect();
    }
    out.into_iter().map(|(a, b)| (a as u16, b)).collect()
}

/// Opens a recorded replica (`slots`: its range if its applied record has none yet).
async fn open(
    node: &Arc<Node>,
    cluster: &Arc<Cluster>,
    rec: &pb::LocalRegion,
    slots: (u16, u32),
) -> anyhow::Result<Arc<Region>> {
    let c = cluster.clone();
    let resolve: Resolve = Arc::new(move |replica| c.node_of_replica(replica).and_then(|n| c.addr_of(n)));
    let network = GrpcNetwork::new(rec.region_id, cluster.channels.clone(), Some(resolve));
    // Addressed as the map records the nodes: the same membership bytes on every replica.
    let map = cluster.map();
    let addr = |node: u64| {
        map.iter().flat_map(|m| &m.nodes).find(|n| n.node_id == node).map(|n| n.grpc_addr.clone()).unwrap_or_default()
    };
    let members: BTreeMap<u64, BasicNode> =
        rec.initial.iter().map(|x| (x.replica_id, BasicNode { addr: addr(x.node_id) })).collect();
    let bootstrap = !members.is_empty() && rec.bootstrap_now;
    let region = Region::open_replica(
        node.engine.clone(),
        rec.region_id,
        slots,
        rec.replica_id,
        members.clone(),
        Some(cluster.clone()),
        network,
        bootstrap,
    )
    .await?;
    if !members.is_empty() && !bootstrap {
        // The first replica creates the group, so it leads from the start (the balancer's
        // default). The others create it too if it is still uninitialized after
        // BOOTSTRAP_FALLBACK (the first one's node is down): they all have the same
        // membership, which openraft allows.
        let (raft, id) = (region.raft.clone(), rec.region_id);
        tokio::spawn(async move {
            tokio::time::sleep(BOOTSTRAP_FALLBACK).await;
            if let Ok(false) = raft.is_initialized().await {
                tracing::info!("region {id}: its first replica has not created it; creating it here");
                let _ = raft.initialize(members).await;
            }
        });
    }
    cluster.registry.insert(rec.region_id, region.raft.clone());
    tracing::info!("region {}: replica {} open, slots {:?}", rec.region_id, rec.replica_id, region.slots());
    Ok(region)
}

async fn close(cluster: &Cluster, opened: &mut BTreeMap<u64, Arc<Region>>, id: u64) {
    cluster.registry.remove(id);
    if let Some(region) = opened.remove(&id) {
        let _ = region.raft.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn subtract_leaves_the_uncovered_slots() {
        use super::subtract;
        assert_eq!(subtract((0, 100), &[]), vec![(0, 100)]);
        assert_eq!(subtract((0, 100), &[(0, 100)]), vec![]);
        assert_eq!(subtract((10, 100), &[(0, 20), (50, 60)]), vec![(20, 50), (60, 100)]);
        assert_eq!(subtract((10, 100), &[(100, 200), (0, 10)]), vec![(10, 100)]);
    }
}
