//! Cluster mode: the peer directory (what each node of `--cluster` answers to NodeInfo: its
//! 40-hex id and RESP address, used in MOVED and the CLUSTER replies) and the leader balancer
//! that spreads region leaders over the nodes.
//!
//! Until the meta group exists (region lifecycle), the cluster map is static: the voters of
//! `--cluster`, every region replicated on all of them, the replica id of a node in every
//! region equal to its node id. So a node must never come back under the same `--node-id`
//! with an empty data dir (its replicas would reuse ids with a fresh log); give it a new id.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use openraft::async_runtime::watch::WatchReceiver;

use crate::raft::grpc::{self, Channels, Registry};
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
    /// `--cluster`: node id -> gRPC address, sorted by id.
    pub voters: Vec<(u64, String)>,
    pub channels: Arc<Channels>,
    pub registry: Arc<Registry>,
    peers: RwLock<BTreeMap<u64, (Peer, Instant)>>,
}

/// How often the directory asks every peer who it is (answers also tell who is up).
const DISCOVER_EVERY: Duration = Duration::from_millis(500);
/// A peer that has not answered for this long is not given leaderships.
const PEER_FRESH: Duration = Duration::from_secs(3);
/// A region's leadership is moved at most this often.
const TRANSFER_EVERY: Duration = Duration::from_secs(5);

impl Cluster {
    pub fn new(my_id: u64, voters: Vec<(u64, String)>, me: Peer, registry: Arc<Registry>) -> Arc<Cluster> {
        let mut peers = BTreeMap::new();
        peers.insert(my_id, (me, Instant::now()));
        Arc::new(Cluster { my_id, voters, channels: Channels::new(), registry, peers: RwLock::new(peers) })
    }

    /// The RESP identity of node `id`, once it has answered.
    pub fn peer(&self, id: u64) -> Option<Peer> {
        self.peers.read().expect("peers lock").get(&id).map(|(p, _)| p.clone())
    }

    /// Every node that has answered, by id.
    pub fn known(&self) -> Vec<(u64, Peer)> {
        self.peers.read().expect("peers lock").iter().map(|(id, (p, _))| (*id, p.clone())).collect()
    }

    /// Whether node `id` answered the directory recently (this node always has).
    pub fn is_fresh(&self, id: u64) -> bool {
        id == self.my_id
            || self.peers.read().expect("peers lock").get(&id).is_some_and(|(_, seen)| seen.elapsed() < PEER_FRESH)
    }

    /// The node a region's leadership belongs to when every node is up: region i on the
    /// i-th voter (round robin), so leaders and their write load spread evenly.
    pub fn default_leader(&self, region_index: usize) -> u64 {
        self.voters[region_index % self.voters.len()].0
    }

    /// Asks every other voter who it is, forever.
    pub async fn discover(self: Arc<Self>) {
        loop {
            // All peers at once: an unreachable one must not delay the others' freshness.
            let me = &*self;
            let asks = me.voters.iter().filter(|(id, _)| *id != me.my_id).map(|(id, addr)| async move {
                let answer =
                    tokio::time::timeout(Duration::from_millis(400), grpc::node_info(&me.channels, addr)).await;
                (*id, addr, answer)
            });
            for (id, addr, answer) in futures::future::join_all(asks).await {
                if let Ok(Ok(info)) = answer {
                    if info.node_id != id {
                        tracing::warn!("{addr} says it is node {} but --cluster lists it as {id}", info.node_id);
                        continue;
                    }
                    self.learn(&info);
                }
            }
            tokio::time::sleep(DISCOVER_EVERY).await;
        }
    }

    fn learn(&self, info: &pb::NodeInfo) {
        let peer = Peer { id40: info.id40.clone(), host: info.resp_host.clone(), port: info.resp_port as u16 };
        let mut peers = self.peers.write().expect("peers lock");
        let fresh = !peers.contains_key(&info.node_id);
        peers.insert(info.node_id, (peer.clone(), Instant::now()));
        if fresh {
            tracing::info!("node {} is {} at {}:{}", info.node_id, peer.id40, peer.host, peer.port);
        }
    }

    /// Hands each region this node leads to its preferred leader when that node is up and
    /// has replicated the whole log (so the transfer does not stall writes).
    pub async fn balance(self: Arc<Self>, regions: Vec<Arc<Region>>) {
        let mut last: BTreeMap<u64, Instant> = BTreeMap::new();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            for (i, r) in regions.iter().enumerate() {
                // An operator's choice (replicated with the region) wins over round robin.
                let asked = r.preferred_leader().filter(|p| self.voters.iter().any(|(id, _)| id == p));
                let want = asked.unwrap_or_else(|| self.default_leader(i));
                if want == self.my_id || !r.raft.is_leader() || !self.is_fresh(want) {
                    continue;
                }
                if last.get(&r.id).is_some_and(|t| t.elapsed() < TRANSFER_EVERY) {
                    continue;
                }
                let m = r.raft.metrics().borrow_watched().clone();
                let caught_up = match (&m.replication, m.last_log_index) {
                    (Some(rep), Some(last_index)) => {
                        rep.get(&want).and_then(|l| l.as_ref()).is_some_and(|l| l.index() + 16 >= last_index)
                    }
                    _ => false,
                };
                if !caught_up {
                    continue;
                }
                last.insert(r.id, Instant::now());
                tracing::info!("region {}: handing leadership to node {want}", r.id);
                if let Err(e) = r.raft.trigger().transfer_leader(want).await {
                    tracing::warn!("region {}: transfer to {want}: {e}", r.id);
                }
            }
        }
    }
}
