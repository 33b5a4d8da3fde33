//! Cluster mode: the cluster map, the peer directory and the leader balancer.
//!
//! The cluster map (nodes, regions, slot ranges, epochs, replicas) is the state of the meta
//! group, region 0, a Raft group on the founding nodes of `--cluster` (the lowest id creates it).
//! Its leader writes the first map (regions over the slot space, a replica of each on every
//! founding node, replica ids allocated from the map) and keeps the nodes' RESP identities in it
//! up to date; every node reads its local replica, so all answer CLUSTER NODES/SLOTS alike, and
//! the map survives the loss of a minority. The directory asks every node who it is (which also
//! says who is up); the balancer spreads region leaders over the nodes.
//!
//! Regions do not change after the map is created yet (split, merge and moves are the region
//! lifecycle's work); a node opens its replicas once, from the first map it sees.
//!
//! A node's identity is its 40-hex id in the data dir, recorded in the map: a node that lost
//! its data dir must come back under a new `--node-id`. Under the old one it would have lost
//! its Raft votes; the map's recorded identity makes the other nodes ignore it and the node
//! stop once it sees the map (see `learn`, `join_one`, `Node::open_layout`).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use openraft::async_runtime::watch::WatchReceiver;

use tonic::Status;

use crate::raft::auth::PeerAuth;
use crate::raft::grpc::{self, Channels, JoinCall, Registry};
use crate::raft::{pb, Region};

/// What clients are told about a node.
#[derive(Clone, Debug, PartialEq)]
pub struct Peer {
    pub id40: String,
    pub host: String,
    pub port: u16,
}

pub struct Cluster {
    pub my_id: u64,
    /// `--cluster`: node id -> gRPC address as this node reaches it, sorted by id. The founding
    /// nodes: the meta group's voters.
    pub voters: Vec<(u64, String)>,
    pub channels: Arc<Channels>,
    pub registry: Arc<Registry>,
    /// The cluster secret and TLS settings of the gRPC server and channels.
    pub auth: PeerAuth,
    peers: RwLock<BTreeMap<u64, (Peer, Instant)>>,
    /// The latest applied cluster map (None until the meta group has created it).
    map: RwLock<Option<Arc<pb::ClusterMap>>>,
    /// The regions each peer said it leads, with their terms (from the directory).
    leads: RwLock<BTreeMap<u64, Vec<pb::RegionLead>>>,
}

/// How often the directory asks every peer who it is (answers also tell who is up).
const DISCOVER_EVERY: Duration = Duration::from_millis(500);
/// A peer that has not answered for this long is not given leaderships.
const PEER_FRESH: Duration = Duration::from_secs(3);
/// A region's leadership is moved at most this often.
const TRANSFER_EVERY: Duration = Duration::from_secs(5);

impl Cluster {
    pub fn new(
        my_id: u64,
        voters: Vec<(u64, String)>,
        me: Peer,
        registry: Arc<Registry>,
        auth: PeerAuth,
    ) -> Arc<Cluster> {
        let mut peers = BTreeMap::new();
        peers.insert(my_id, (me, Instant::now()));
        let map = RwLock::new(None);
        let (channels, peers, leads) = (Channels::new(auth.clone()), RwLock::new(peers), RwLock::default());
        Arc::new(Cluster { my_id, voters, channels, registry, auth, peers, map, leads })
    }

    pub fn map(&self) -> Option<Arc<pb::ClusterMap>> {
        self.map.read().expect("map lock").clone()
    }

    pub fn set_map(&self, map: Option<Arc<pb::ClusterMap>>) {
        *self.map.write().expect("map lock") = map;
    }

    /// Where this node reaches node `id`'s gRPC server: its own `--cluster` entry, else the
    /// address the node announced in the map.
    pub fn addr_of(&self, id: u64) -> Option<String> {
        if let Some((_, a)) = self.voters.iter().find(|(n, _)| *n == id) {
            return Some(a.clone());
        }
        let map = self.map()?;
        map.nodes.iter().find(|n| n.node_id == id).map(|n| n.grpc_addr.clone())
    }

    /// The RESP identity of node `id`: as it answered the directory, else as the map has it.
    pub fn peer(&self, id: u64) -> Option<Peer> {
        if let Some((p, _)) = self.peers.read().expect("peers lock").get(&id) {
            return Some(p.clone());
        }
        let map = self.map()?;
        map.nodes.iter().find(|n| n.node_id == id && !n.id40.is_empty()).map(map_peer)
    }

    /// Every node whose identity is known (answered, or recorded in the map), by id. Once
    /// there is a map, only its nodes: a node removed from the cluster is no longer listed.
    pub fn known(&self) -> Vec<(u64, Peer)> {
        let mut all: BTreeMap<u64, Peer> = BTreeMap::new();
        let map = self.map();
        if let Some(map) = &map {
            all.extend(map.nodes.iter().filter(|n| !n.id40.is_empty()).map(|n| (n.node_id, map_peer(n))));
        }
        let in_map = |id: u64| map.as_ref().is_none_or(|m| m.nodes.iter().any(|n| n.node_id == id));
        let peers = self.peers.read().expect("peers lock");
        all.extend(peers.iter().filter(|(id, _)| in_map(**id)).map(|(id, (p, _))| (*id, p.clone())));
        all.into_iter().collect()
    }

    /// The node hosting replica `replica` (replica ids are unique in the cluster): from the
    /// map's regions, or from a running operation that created it.
    pub fn node_of_replica(&self, replica: u64) -> Option<u64> {
        let map = self.map()?;
        let in_regions = map.regions.iter().flat_map(|r| &r.replicas).find(|x| x.replica_id == replica);
        if let Some(x) = in_regions {
            return Some(x.node_id);
        }
        map.ops.iter().filter(|o| is_running(o)).find_map(|o| {
            if o.new_replica_id == replica && o.moving_region != 0 {
                return Some(o.to_node);
            }
            o.new_replicas.iter().find(|x| x.replica_id == replica).map(|x| x.node_id)
        })
    }

    /// Whether node `id` answered the directory recently (this node always has).
    pub fn is_fresh(&self, id: u64) -> bool {
        id == self.my_id
            || self.peers.read().expect("peers lock").get(&id).is_some_and(|(_, seen)| seen.elapsed() < PEER_FRESH)
    }

    /// Asks every other node (of `--cluster` and of the map) who it is, forever.
    pub async fn discover(self: Arc<Self>) {
        loop {
            let mut targets: BTreeMap<u64, String> = self.voters.iter().cloned().collect();
            if let Some(map) = self.map() {
                for n in &map.nodes {
                    targets.entry(n.node_id).or_insert_with(|| n.grpc_addr.clone());
                }
            }
            targets.remove(&self.my_id);
            // All peers at once: an unreachable one must not delay the others' freshness.
            let me = &*self;
            let asks = targets.iter().map(|(id, addr)| async move {
                let answer =
                    tokio::time::timeout(Duration::from_millis(400), grpc::node_info(&me.channels, addr)).await;
                (*id, addr, answer)
            });
            for (id, addr, answer) in futures::future::join_all(asks).await {
                if let Ok(Ok(info)) = answer {
                    if info.node_id != id {
                        tracing::warn!("{addr} says it is node {} but it is listed as {id}", info.node_id);
                        continue;
                    }
                    self.learn(&info);
                }
            }
            tokio::time::sleep(DISCOVER_EVERY).await;
        }
    }

    fn learn(&self, info: &pb::NodeInfo) {
        if let Some(map) = self.map() {
            if let Some(n) = map.nodes.iter().find(|n| n.node_id == info.node_id && !n.id40.is_empty()) {
                if n.id40 != info.id40 {
                    tracing::error!(
                        "node {} answers as {} but the cluster map records it as {}: ignored (a node whose \
                         data dir was lost must come back under a new --node-id)",
                        info.node_id,
                        info.id40,
                        n.id40
                    );
                    return;
                }
            }
        }
        let peer = Peer { id40: info.id40.clone(), host: info.resp_host.clone(), port: info.resp_port as u16 };
        self.leads.write().expect("leads lock").insert(info.node_id, info.leads.clone());
        let mut peers = self.peers.write().expect("peers lock");
        let fresh = !peers.contains_key(&info.node_id);
        peers.insert(info.node_id, (peer.clone(), Instant::now()));
        if fresh {
            tracing::info!("node {} is {} at {}:{}", info.node_id, peer.id40, peer.host, peer.port);
        }
    }

    /// The node that leads `region` as far as this node can tell without a replica of it: the
    /// live node claiming it with the highest term (this node's own claims included), among
    /// the nodes the map gives a replica of it (a replica just moved away may still claim it).
    pub fn claimed_leader(&self, region: u64) -> Option<u64> {
        let map = self.map();
        let hosts = |node: u64| {
            let Some(map) = &map else { return true };
            let Some(r) = map.regions.iter().find(|r| r.region_id == region) else { return true };
            r.replicas.iter().any(|x| x.node_id == node)
                || map.ops.iter().any(|o| is_running(o) && o.moving_region == region && o.to_node == node)
        };
        let mut best: Option<(u64, u64)> = None;
        let mut consider = |node: u64, leads: &[pb::RegionLead]| {
            if !hosts(node) {
                return;
            }
            for l in leads.iter().filter(|l| l.region_id == region) {
                if best.is_none_or(|(term, _)| l.term > term) {
                    best = Some((l.term, node));
                }
            }
        };
        consider(self.my_id, &self.registry.info().leads);
        for (node, leads) in self.leads.read().expect("leads lock").iter() {
            if *node != self.my_id && self.is_fresh(*node) {
                consider(*node, leads);
            }
        }
        best.map(|(_, node)| node)
    }

    /// Answers Join requests (only the meta leader accepts them). A new node is recorded in the map (its id
    /// must not belong to another node) and added to the meta group as a learner, through
    /// which it receives the map; a node already in the map is only re-added as a learner.
    pub async fn serve_joins(self: Arc<Self>, meta: Arc<Region>, mut calls: tokio::sync::mpsc::Receiver<JoinCall>) {
        while let Some((info, reply)) = calls.recv().await {
            let _ = reply.send(self.join_one(&meta, &info).await);
        }
    }

    async fn join_one(&self, meta: &Region, info: &pb::NodeInfo) -> Result<(), Status> {
        if !meta.raft.is_leader() {
            // The leader's node id, not an address: the joiner dials it as IT reaches it.
            return Err(Status::failed_precondition(match meta.leader() {
                Some(id) => format!("not the meta leader; leader is node {id}"),
                None => "not the meta leader; no leader known".into(),
            }));
        }
        meta.read_barrier().await.map_err(|e| Status::unavailable(e.to_string()))?;
        let map = meta.cluster_map().borrow().clone().ok_or_else(|| Status::unavailable("no cluster map yet"))?;
        let entry = pb::MapNode {
            node_id: info.node_id,
            grpc_addr: info.grpc_addr.clone(),
            id40: info.id40.clone(),
            resp_host: info.resp_host.clone(),
            resp_port: info.resp_port,
        };
        // The node's identity: as the map records it, else as the node answered the directory
        // (a founder's is not in the map until the meta leader records it).
        let recorded = map.nodes.iter().find(|n| n.node_id == info.node_id && !n.id40.is_empty());
        let known = recorded.map(|n| n.id40.clone()).or_else(|| self.peer(info.node_id).map(|p| p.id40));
        if let Some(id40) = known.filter(|k| *k != info.id40) {
            return Err(Status::already_exists(format!("node id {} belongs to node {id40}", info.node_id)));
        }
        let mut next = (*map).clone();
        match next.nodes.iter_mut().find(|n| n.node_id == info.node_id) {
            // A founder keeps the address the founders' lists give; a joined node may move.
            Some(n) if self.voters.iter().any(|(id, _)| *id == n.node_id) || *n == entry => {}
            Some(n) => *n = entry,
            None => next.nodes.push(entry),
        }
        if next != *map {
            meta.propose_map(map.version, &next).await.map_err(|e| Status::unavailable(e.to_string()))?;
            tracing::info!("node {} joins from {}", info.node_id, info.grpc_addr);
        }
        let m = meta.raft.metrics().borrow_watched().clone();
        if m.membership_config.membership().get_node(&info.node_id).is_none() {
            let node = openraft::BasicNode { addr: info.grpc_addr.clone() };
            meta.raft.add_learner(info.node_id, node, false).await.map_err(|e| Status::unavailable(e.to_string()))?;
        }
        Ok(())
    }

    /// Asks the founders to let this node join (or, when it is in the map already, to record
    /// its current address) until one accepts; a new node's map then reaches it through the
    /// meta group. Fails for good when its id belongs to another node.
    pub async fn join(&self) -> anyhow::Result<()> {
        let me = self.registry.info();
        let mut targets: Vec<String> = self.voters.iter().map(|(_, a)| a.clone()).collect();
        loop {
            let Some(addr) = targets.first().cloned() else { anyhow::bail!("no founder to join through") };
            match grpc::join(&self.channels, &addr, me.clone()).await {
                Ok(()) => {
                    tracing::info!("joined through {addr}");
                    return Ok(());
                }
                Err(e) if e.code() == tonic::Code::AlreadyExists => {
                    anyhow::bail!("cannot join the cluster: {}", e.message())
                }
                Err(e) if e.code() == tonic::Code::Unauthenticated => {
                    anyhow::bail!(
                        "cannot join the cluster: {addr} refused this node's cluster secret ({})",
                        e.message()
                    )
                }
                Err(e) => {
                    tracing::debug!("join through {addr}: {}", e.message());
                    // Ask the leader next when the answer names it, else the next founder.
                    let leader = e.message().split_once("leader is node ").and_then(|(_, id)| id.parse::<u64>().ok());
                    match leader.and_then(|id| self.addr_of(id)) {
                        Some(leader) => {
                            targets.retain(|t| *t != leader);
                            targets.insert(0, leader);
                        }
                        None => targets.rotate_left(1),
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Hands each region this node leads to its preferred leader (the operator's choice, else
    /// the region's first replica in the map) when that node is up and has replicated the whole
    /// log (so the transfer does not stall writes).
    pub async fn balance(self: Arc<Self>, regions: impl Fn() -> Vec<Arc<Region>>) {
        let mut last: BTreeMap<u64, Instant> = BTreeMap::new();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            for r in &regions() {
                if self.map().is_some_and(|m| crate::lifecycle::ops::busy_with(&m, r.id).is_some()) {
                    // An operation moves replicas and leaders of its own.
                    continue;
                }
                let first = r.first_node();
                let want = r.preferred_leader().filter(|p| r.replica_on(*p).is_some()).or(first);
                let Some(want) = want else { continue };
                if want == self.my_id || !r.raft.is_leader() || !self.is_fresh(want) {
                    continue;
                }
                let Some(replica) = r.replica_on(want) else { continue };
                if last.get(&r.id).is_some_and(|t| t.elapsed() < TRANSFER_EVERY) {
                    continue;
                }
                let m = r.raft.metrics().borrow_watched().clone();
                let caught_up = match (&m.replication, m.last_log_index) {
                    (Some(rep), Some(last_index)) => {
                        rep.get(&replica).and_then(|l| l.as_ref()).is_some_and(|l| l.index() + 16 >= last_index)
                    }
                    _ => false,
                };
                if !caught_up {
                    continue;
                }
                last.insert(r.id, Instant::now());
                tracing::info!("region {}: handing leadership to node {want}", r.id);
                if let Err(e) = r.raft.trigger().transfer_leader(replica).await {
                    tracing::warn!("region {}: transfer to node {want}: {e}", r.id);
                }
            }
        }
    }

    /// On the meta group's leader: creates the first map, then records nodes' RESP identities
    /// as they answer the directory. Every change is a compare-and-set on the map's version, so
    /// a deposed leader's stale change fails instead of undoing a newer one.
    pub async fn run_meta(self: Arc<Self>, meta: Arc<Region>, regions: u16) {
        loop {
            tokio::time::sleep(META_EVERY).await;
            if !meta.raft.is_leader() || meta.read_barrier().await.is_err() {
                continue;
            }
            let current = meta.cluster_map().borrow().clone();
            let (expected, next) = match current {
                None => (0, initial_map(&self.voters, regions)),
                Some(map) => match self.with_identities(&map) {
                    Some(next) => (map.version, next),
                    None => continue,
                },
            };
            match meta.propose_map(expected, &next).await {
                Ok(()) => tracing::info!("cluster map version {}", expected + 1),
                Err(e) => tracing::warn!("cluster map change from version {expected}: {e}"),
            }
        }
    }

    /// `map` with the identities nodes answered where the map has none or an older one; None
    /// when nothing changed.
    /// A recorded identity is never replaced: a node answering under a recorded id with another
    /// 40-hex id is a different node (e.g. a wiped data dir under the same `--node-id`), which
    /// must not take the old one's place.
    fn with_identities(&self, map: &pb::ClusterMap) -> Option<pb::ClusterMap> {
        let peers = self.peers.read().expect("peers lock");
        let mut next = map.clone();
        let mut changed = false;
        for n in &mut next.nodes {
            let Some((p, _)) = peers.get(&n.node_id) else { continue };
            if !n.id40.is_empty() && n.id40 != p.id40 {
                continue;
            }
            if n.id40 != p.id40 || n.resp_host != p.host || n.resp_port != p.port as u32 {
                (n.id40, n.resp_host, n.resp_port) = (p.id40.clone(), p.host.clone(), p.port as u32);
                changed = true;
            }
        }
        changed.then_some(next)
    }
}

/// How often the meta leader looks for map changes to make.
const META_EVERY: Duration = Duration::from_millis(300);

fn map_peer(n: &pb::MapNode) -> Peer {
    Peer { id40: n.id40.clone(), host: n.resp_host.clone(), port: n.resp_port as u16 }
}

/// Replicas of each region (fewer when the cluster has fewer nodes).
pub const REPLICAS: usize = 3;

/// The first map of a cluster founded by `voters`: `regions` regions splitting the slot space,
/// each with `REPLICAS` replicas on consecutive founding nodes, starting one node further for
/// each region so replicas and default leaders (the first replica) spread evenly; replica ids
/// allocated in that order from 1.
pub fn initial_map(voters: &[(u64, String)], regions: u16) -> pb::ClusterMap {
    let nodes =
        voters.iter().map(|(id, addr)| pb::MapNode { node_id: *id, grpc_addr: addr.clone(), ..Default::default() });
    let mut next_replica_id = 1;
    let mut out = Vec::with_capacity(regions as usize);
    for (i, (from, to)) in crate::node::region_ranges(regions).into_iter().enumerate() {
        let replicas = (0..voters.len().min(REPLICAS))
            .map(|k| {
                let node_id = voters[(i + k) % voters.len()].0;
                next_replica_id += 1;
                pb::MapReplica { replica_id: next_replica_id - 1, node_id }
            })
            .collect();
        let (slot_from, slot_to) = (from as u32, to);
        out.push(pb::MapRegion { region_id: i as u64 + 1, slot_from, slot_to, epoch: 1, replicas });
    }
    let next_region_id = regions as u64 + 1;
    pb::ClusterMap {
        nodes: nodes.collect(),
        regions: out,
        next_replica_id,
        next_region_id,
        next_op_id: 1,
        ..Default::default()
    }
}

pub fn is_running(op: &pb::Operation) -> bool {
    op.state == pb::operation::State::Running as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_map_covers_every_slot_with_unique_replica_ids() {
        let voters: Vec<(u64, String)> = (1..=3).map(|i| (i * 10, format!("h:{i}"))).collect();
        let map = initial_map(&voters, 6);
        assert_eq!(map.nodes.len(), 3);
        assert_eq!(map.regions.len(), 6);
        let mut next = 0;
        let mut ids = std::collections::BTreeSet::new();
        for (i, r) in map.regions.iter().enumerate() {
            assert_eq!(r.slot_from, next, "contiguous ranges");
            next = r.slot_to;
            let nodes: std::collections::BTreeSet<u64> = r.replicas.iter().map(|x| x.node_id).collect();
            assert_eq!(nodes.len(), 3, "a replica on each founding node");
            // First replicas (default leaders) rotate over the nodes.
            assert_eq!(r.replicas[0].node_id, voters[i % 3].0);
            for x in &r.replicas {
                assert!(ids.insert(x.replica_id), "replica id {} reused", x.replica_id);
            }
        }
        assert_eq!(next, crate::store::keys::SLOTS as u32);
        assert_eq!(map.next_replica_id, 19);
        assert!(!ids.contains(&0) && ids.iter().all(|&id| id < map.next_replica_id));
    }

    #[test]
    fn bigger_clusters_get_three_replicas_per_region_spread_evenly() {
        let voters: Vec<(u64, String)> = (1..=5).map(|i| (i, format!("h:{i}"))).collect();
        let map = initial_map(&voters, 10);
        let mut per_node = std::collections::BTreeMap::<u64, (usize, usize)>::new();
        for r in &map.regions {
            assert_eq!(r.replicas.len(), REPLICAS);
            let distinct: std::collections::BTreeSet<u64> = r.replicas.iter().map(|x| x.node_id).collect();
            assert_eq!(distinct.len(), REPLICAS);
            for (k, x) in r.replicas.iter().enumerate() {
                let e = per_node.entry(x.node_id).or_default();
                e.0 += 1;
                e.1 += (k == 0) as usize;
            }
        }
        // 30 replicas and 10 default leaderships over 5 nodes.
        assert!(per_node.values().all(|&(replicas, leads)| replicas == 6 && leads == 2), "{per_node:?}");
        let two = initial_map(&voters[..2], 4);
        assert!(two.regions.iter().all(|r| r.replicas.len() == 2));
    }
}
