//! A region: a slot range served by one Raft group. The handle commands use to write
//! (propose a batch, get one reply per command) and to read (a linearizable barrier).
//!
//! Writes from all connections are merged: a proposer task takes every batch waiting for the
//! region and proposes them as ONE entry, with at most `MAX_IN_FLIGHT` entries in flight. At 50
//! clients sending one SET each, that is one log entry, one apply WriteBatch and one share of a
//! WAL sync for dozens of writes instead of one each.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::watch::WatchReceiver;
use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, Config, ReadPolicy, SnapshotPolicy};

use tokio::sync::{mpsc, oneshot, Semaphore};

use super::network::NoPeers;
use super::{pb, Proposal, Raft};
use crate::cluster::Cluster;
use crate::error::CmdError;
use crate::resp::Reply;
use crate::store::local::Shared;
use crate::store::log::LogStore;
use crate::store::sm::StateMachine;
use crate::store::Engine;

pub struct Region {
    pub id: u64,
    /// The live range (slots, epoch, frozen) and applied index, shared with the state machine.
    pub shared: Arc<Shared>,
    pub raft: Raft,
    pub engine: Arc<Engine>,
    /// The group has one voter, this node: nobody else can lead it or commit to it.
    single_voter: bool,
    pub stats: Arc<RegionStats>,
    proposals: mpsc::Sender<Pending>,
    /// The applied preferred leader (0: none), see `StateMachine::preferred_leader`.
    preferred: Arc<AtomicU64>,
    /// Where replica ids (what the Raft group knows) map to node ids (what clients and
    /// operators see): the cluster map. None: replica id = node id (standalone, and the meta
    /// group, whose replicas are the nodes themselves).
    cluster: Option<Arc<Cluster>>,
    /// The applied cluster map: set in the meta group only.
    map: crate::store::sm::MapCell,
}

/// Proposal counters of a region (INFO).
#[derive(Default)]
pub struct RegionStats {
    /// Entries proposed by the proposer, and the commands in them.
    pub entries: AtomicU64,
    pub commands: AtomicU64,
    /// Time from `client_write` to its reply (commit + apply), summed, in microseconds.
    pub commit_usec: AtomicU64,
}

/// A connection's batch waiting to be merged into the next entry.
struct Pending {
    commands: Vec<pb::Command>,
    reply: oneshot::Sender<Result<Vec<Reply>, CmdError>>,
}

/// Entries the proposer keeps in flight; while they commit, the next batch accumulates.
const MAX_IN_FLIGHT: usize = 2;
/// Upper bound of commands merged into one entry.
const MAX_MERGED_COMMANDS: usize = 4096;

/// Log entries between two snapshot points of a region (`--snapshot-entries`): the log up to a
/// point (less the last `keep` entries) is purged, and a replica that falls behind the purged
/// log catches up from a snapshot. Set once at start, before any region opens.
static SNAPSHOT_ENTRIES: AtomicU64 = AtomicU64::new(20_000);

pub fn set_snapshot_entries(n: u64) {
    SNAPSHOT_ENTRIES.store(n.max(1), Ordering::Relaxed);
}

/// Raft timing and log retention of a region.
pub fn raft_config() -> Config {
    let every = SNAPSHOT_ENTRIES.load(Ordering::Relaxed);
    Config {
        cluster_name: "redraft".into(),
        heartbeat_interval: 250,
        election_timeout_min: 1000,
        election_timeout_max: 2000,
        enable_pre_vote: Some(true),
        // The state is in RocksDB: a "snapshot" only records the applied point, after which the
        // log up to it can be purged.
        snapshot_policy: SnapshotPolicy::LogsSinceLast(every),
        // Entries kept before the snapshot point: a replica a little behind still catches up
        // from the log.
        max_in_snapshot_log_to_keep: (every / 20).min(1000),
        // Purge in batches (but never fewer than one per snapshot point).
        purge_batch_size: (every / 4).clamp(1, 4096),
        // Per snapshot chunk (and its install at the end): openraft's 200 ms default is too
        // short for a chunk of up to 1 MiB plus the receiver's RocksDB write and fsync.
        install_snapshot_timeout: 10_000,
        api_batch_capacity: 4096,
        ..Default::default()
    }
}

impl Region {
    /// Opens (or creates, as a single-voter group led by `replica_id`) a region and waits until
    /// it leads and has applied its log, so its first reads see every acknowledged write.
    pub async fn open_standalone(
        engine: Arc<Engine>,
        id: u64,
        slots: (u16, u32),
        replica_id: u64,
        addr: String,
    ) -> anyhow::Result<Arc<Region>> {
        let config = Arc::new(raft_config().validate()?);
        let log = LogStore::new(engine.clone(), id);
        let sm = StateMachine::open(engine.clone(), id, slots)?;
        let preferred = sm.preferred_leader();
        let map = sm.cluster_map();
        let raft = Raft::new(replica_id, config, NoPeers, log, sm).await?;
        exit_on_storage_failure(&raft, id);
        if !raft.is_initialized().await? {
            let mut members = BTreeMap::new();
            members.insert(replica_id, BasicNode { addr });
            raft.initialize(members).await?;
        } else {
            // A single voter need not wait out an election timeout after a restart.
            let _ = raft.trigger().elect(false).await;
        }
        raft.wait(Some(Duration::from_secs(30))).current_leader(replica_id, "standalone region elects itself").await?;
        raft.wait_for_recovery(Some(Duration::from_secs(60))).await?;
        let (tx, rx) = mpsc::channel(4096);
        let stats = Arc::new(RegionStats::default());
        tokio::spawn(run_proposer(raft.clone(), rx, stats.clone()));
        let (cluster, single_voter, shared) = (None, true, engine.local.shared(id));
        Ok(Arc::new(Region { id, shared, raft, engine, single_voter, stats, proposals: tx, preferred, cluster, map }))
    }

    /// Opens a replica of a region (`slots` when its applied record has no range yet) whose
    /// replica ids map to nodes through `cluster`'s map (None: replica id = node id). With
    /// `bootstrap`, this node creates the group with `members` (replica id -> its node's gRPC
    /// address) if it has never been initialized. Does not wait for a leader: the other
    /// replicas may still be starting.
    #[allow(clippy::too_many_arguments)]
    pub async fn open_replica(
        engine: Arc<Engine>,
        id: u64,
        slots: (u16, u32),
        replica_id: u64,
        members: BTreeMap<u64, BasicNode>,
        cluster: Option<Arc<Cluster>>,
        network: super::grpc::GrpcNetwork,
        bootstrap: bool,
    ) -> anyhow::Result<Arc<Region>> {
        let config = Arc::new(raft_config().validate()?);
        let log = LogStore::new(engine.clone(), id);
        let sm = StateMachine::open(engine.clone(), id, slots)?;
        let preferred = sm.preferred_leader();
        let map = sm.cluster_map();
        let raft = Raft::new(replica_id, config, network, log, sm).await?;
        exit_on_storage_failure(&raft, id);
        if bootstrap && !raft.is_initialized().await? {
            raft.initialize(members).await?;
        }
        let (tx, rx) = mpsc::channel(4096);
        let stats = Arc::new(RegionStats::default());
        tokio::spawn(run_proposer(raft.clone(), rx, stats.clone()));
        let (single_voter, shared) = (false, engine.local.shared(id));
        Ok(Arc::new(Region { id, shared, raft, engine, single_voter, stats, proposals: tx, preferred, cluster, map }))
    }

    /// Slots `[from, to)` as applied here.
    pub fn slots(&self) -> (u16, u32) {
        self.shared.range.slots()
    }

    /// Whether the region serves `slot` now (in its range, not frozen for a merge).
    pub fn serves(&self, slot: u16) -> bool {
        self.shared.range.serves(slot)
    }

    /// The node hosting replica `replica`.
    pub fn node_of(&self, replica: u64) -> Option<u64> {
        match &self.cluster {
            Some(c) => c.node_of_replica(replica),
            None => Some(replica),
        }
    }

    /// This region's replica (voter or learner) on node `node`.
    pub fn replica_on(&self, node: u64) -> Option<u64> {
        if self.cluster.is_none() {
            return Some(node);
        }
        let m = self.raft.metrics().borrow_watched().clone();
        let found =
            m.membership_config.membership().nodes().map(|(id, _)| *id).find(|r| self.node_of(*r) == Some(node));
        found
    }

    /// The node of the map's first replica: where the balancer puts the leader by default
    /// (None for a region without a map entry: standalone, the meta group).
    pub fn first_node(&self) -> Option<u64> {
        let map = self.cluster.as_ref()?.map()?;
        map.regions.iter().find(|r| r.region_id == self.id)?.replicas.first().map(|x| x.node_id)
    }

    /// The applied cluster map (the meta group only; None elsewhere).
    pub fn cluster_map(&self) -> tokio::sync::watch::Receiver<Option<Arc<pb::ClusterMap>>> {
        self.map.subscribe()
    }

    /// Replaces the cluster map (meta group) if it is still at version `expected`.
    pub async fn propose_map(&self, expected: u64, map: &pb::ClusterMap) -> Result<(), CmdError> {
        use prost::Message;
        let kind = pb::command::Kind::ClusterMap as i32;
        let argv = vec![bytes::Bytes::from(expected.to_string()), bytes::Bytes::from(map.encode_to_vec())];
        match self.propose(vec![pb::Command { kind, argv }]).await?.pop() {
            Some(Reply::Error(e)) => Err(CmdError::Other(e)),
            _ => Ok(()),
        }
    }

    /// The node an operator asked to lead this region, as applied on this replica.
    pub fn preferred_leader(&self) -> Option<u64> {
        Some(self.preferred.load(Ordering::Relaxed)).filter(|&p| p != 0)
    }

    /// Records `node` as the region's preferred leader through the log (every replica applies
    /// it), so the leader balancer keeps the region there.
    pub async fn prefer_leader(&self, node: u64) -> Result<(), CmdError> {
        let kind = pb::command::Kind::PreferLeader as i32;
        let cmd = pb::Command { kind, argv: vec![bytes::Bytes::from(node.to_string())] };
        match self.propose(vec![cmd]).await?.pop() {
            Some(Reply::Error(e)) => Err(CmdError::Other(e)),
            _ => Ok(()),
        }
    }

    /// The node of the region's current leader, if one is known.
    pub fn leader(&self) -> Option<u64> {
        self.raft.metrics().borrow_watched().current_leader.and_then(|r| self.node_of(r))
    }

    /// Proposes a batch of deterministic commands (merged with other connections' batches into
    /// one entry); returns one reply per command, in order.
    pub async fn propose(&self, commands: Vec<pb::Command>) -> Result<Vec<Reply>, CmdError> {
        if let Some((free, reserve)) = self.engine.disk.low() {
            return Err(CmdError::DiskFull(free, reserve));
        }
        if self.shared.range.frozen() && commands.iter().any(|c| c.kind == pb::command::Kind::Client as i32) {
            return Err(CmdError::TryAgain("Region is being merged, try again".into()));
        }
        let (tx, rx) = oneshot::channel();
        if self.proposals.send(Pending { commands, reply: tx }).await.is_err() {
            return Err(CmdError::TryAgain("Region is shutting down".into()));
        }
        rx.await.unwrap_or_else(|_| Err(CmdError::Uncertain("the region stopped".into())))
    }

    /// Waits until a read on the local state is linearizable.
    ///
    /// A single-voter region needs no round trip: no other node can lead it, and every write is
    /// acknowledged only after it is applied here, so the local state already reflects every
    /// write completed before the read. Other regions use a leader-lease read.
    pub async fn read_barrier(&self) -> Result<(), CmdError> {
        if self.single_voter && self.raft.is_leader() {
            return Ok(());
        }
        self.raft
            .ensure_linearizable(ReadPolicy::LeaseRead)
            .await
            .map(|_| ())
            .map_err(|_| CmdError::TryAgain("Region leader is changing, try again".into()))
    }
}

/// Ends the process when the region's Raft stops on a fatal error: a storage error (a failed
/// log write, e.g. ENOSPC with the disk guard off, or a failed apply; RocksDB then holds a
/// background error that only reopening clears) or a panic in its core. The node would
/// otherwise stay up unable to write or elect for that region; exiting lets a supervisor
/// restart it from its data dir, where the log is intact up to the last sync (nothing unsynced
/// was acknowledged). A normal shutdown (`Fatal::Stopped`) does not exit.
fn exit_on_storage_failure(raft: &Raft, region: u64) {
    use openraft::error::Fatal;
    // Polled rather than woken on every metrics change: the metrics change with every commit,
    // and a wake-up per write batch per region is not worth a 250 ms earlier exit.
    let rx = raft.metrics();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            let why = match &rx.borrow_watched().running_state {
                Ok(()) => continue,
                Err(Fatal::Stopped) => return,
                Err(Fatal::StorageError(e)) => format!("a storage error: {e}"),
                Err(Fatal::Panicked) => "a panic in its Raft core".to_string(),
            };
            tracing::error!("region {region} stopped on {why}; exiting");
            eprintln!("redraft-server: region {region} stopped on {why}");
            std::process::exit(1);
        }
    });
}

/// Merges waiting batches into entries; see the module doc.
async fn run_proposer(raft: Raft, mut rx: mpsc::Receiver<Pending>, stats: Arc<RegionStats>) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let Ok(permit) = in_flight.clone().acquire_owned().await else { return };
        let Some(first) = rx.recv().await else { return };
        let mut group = vec![first];
        let mut n = group[0].commands.len();
        while n < MAX_MERGED_COMMANDS {
            match rx.try_recv() {
                Ok(p) => {
                    n += p.commands.len();
                    group.push(p);
                }
                Err(_) => break,
            }
        }
        let raft = raft.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            let mut commands = Vec::with_capacity(n);
            let mut counts = Vec::with_capacity(group.len());
            for p in &mut group {
                counts.push(p.commands.len());
                commands.append(&mut p.commands);
            }
            // The entry's clock, used by apply for every expiry decision.
            let batch = pb::WriteBatch { now_ms: crate::net::connection::now_ms(), commands };
            stats.entries.fetch_add(1, Ordering::Relaxed);
            stats.commands.fetch_add(n as u64, Ordering::Relaxed);
            let started = std::time::Instant::now();
            let written = raft.client_write(Proposal(batch)).await;
            stats.commit_usec.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
            let result = match written {
                Ok(resp) => Ok(resp.data),
                // Rejected before the entry was appended: safe to retry elsewhere.
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => {
                    Err(CmdError::TryAgain("Region leader is changing, try again".into()))
                }
                Err(e) => Err(CmdError::Uncertain(e.to_string())),
            };
            drop(permit);
            match result {
                Ok(mut replies) => {
                    for (p, k) in group.into_iter().zip(counts) {
                        let rest = replies.split_off(k.min(replies.len()));
                        let _ = p.reply.send(Ok(std::mem::replace(&mut replies, rest)));
                    }
                }
                Err(e) => {
                    for p in group {
                        let _ = p.reply.send(Err(e.clone()));
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::store::keys::SLOTS;

    fn cmd(args: &[&str]) -> pb::Command {
        pb::Command { kind: 0, argv: args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect() }
    }

    /// Proposes one entry with a chosen clock, bypassing the proposer (which uses the wall clock).
    async fn write_at(region: &Region, now_ms: u64, commands: Vec<pb::Command>) -> Vec<Reply> {
        region.raft.client_write(Proposal(pb::WriteBatch { now_ms, commands })).await.unwrap().data
    }

    /// Stops the region and waits until the store is closed. The proposer task and the IO
    /// thread let go of it asynchronously; RocksDB allows one open per directory, so a test
    /// that reopens it waits for the last reference to go.
    async fn close(engine: Arc<Engine>, region: Arc<Region>) {
        region.raft.shutdown().await.unwrap();
        let weak = Arc::downgrade(&engine);
        drop((engine, region));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while weak.upgrade().is_some() {
            assert!(std::time::Instant::now() < deadline, "store still referenced");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn open(dir: &std::path::Path) -> (Arc<Engine>, Arc<Region>) {
        let engine = Engine::open(dir).unwrap();
        let region = Region::open_standalone(engine.clone(), 1, (0, SLOTS as u32), 1, "x".into()).await.unwrap();
        (engine, region)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_go_through_the_log_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (engine, region) = open(dir.path()).await;
            let replies = write_at(
                &region,
                1000,
                vec![cmd(&["SET", "a", "1"]), cmd(&["INCR", "a"]), cmd(&["INCR", "nope", "x"])],
            )
            .await;
            assert_eq!(replies[0], Reply::OK);
            assert_eq!(replies[1], Reply::Int(2));
            assert!(replies[2].is_error(), "arity is checked before proposing; apply still answers");
            region.read_barrier().await.unwrap();
            let v = crate::store::read::ReadCtx::new(&engine, 1000, false).get(b"a").unwrap().unwrap();
            assert_eq!(&v.body[..], b"2");
            assert_eq!(engine.counts.total(0, SLOTS as u32), (1, 0));
            close(engine, region).await;
        }
        // Reopen: the applied state and the counts come back from RocksDB.
        let (engine, region) = open(dir.path()).await;
        region.read_barrier().await.unwrap();
        let v = crate::store::read::ReadCtx::new(&engine, 1000, false).get(b"a").unwrap().unwrap();
        assert_eq!(&v.body[..], b"2");
        assert_eq!(engine.counts.total(0, SLOTS as u32), (1, 0));
        let r = write_at(&region, 2000, vec![cmd(&["INCR", "a"])]).await;
        assert_eq!(r[0], Reply::Int(3));
        region.raft.shutdown().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expiry_uses_the_entry_clock_and_flush_resets_counts() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, region) = open(dir.path()).await;
        let r = write_at(
            &region,
            1000,
            vec![
                cmd(&["SET", "t", "v", "PXAT", "1500"]),
                cmd(&["SET", "p", "v"]),
                cmd(&["SET", "gone", "v", "PXAT", "900"]),
            ],
        )
        .await;
        assert_eq!(r, vec![Reply::OK, Reply::OK, Reply::OK]);
        assert_eq!(engine.counts.total(0, SLOTS as u32), (2, 1), "a past expiry stores nothing");
        // At t=1600 the key has expired: a sweep entry deletes it on apply.
        write_at(
            &region,
            1600,
            vec![pb::Command { kind: pb::command::Kind::ExpireSweep as i32, argv: vec!["t".into(), "p".into()] }],
        )
        .await;
        assert_eq!(engine.counts.total(0, SLOTS as u32), (1, 0));
        let r =
            write_at(&region, 1700, vec![cmd(&["SET", "x", "1"]), cmd(&["FLUSHALL"]), cmd(&["SET", "y", "1"])]).await;
        assert_eq!(r, vec![Reply::OK, Reply::OK, Reply::OK]);
        assert_eq!(engine.counts.total(0, SLOTS as u32), (1, 0));
        let rd = crate::store::read::ReadCtx::new(&engine, 1700, true);
        assert!(rd.get(b"x").unwrap().is_none() && rd.get(b"p").unwrap().is_none());
        assert!(rd.get(b"y").unwrap().is_some());
        region.raft.shutdown().await.unwrap();
    }

    fn lifecycle(kind: pb::command::Kind, argv: Vec<Vec<u8>>) -> pb::Command {
        pb::Command { kind: kind as i32, argv: argv.into_iter().map(Bytes::from).collect() }
    }

    /// SPLIT, FREEZE and MERGE as the state machine applies them: ranges and epochs change with
    /// the entry, the new region is created in place (records, a purged log at index 0), keys
    /// the region no longer serves are refused (TRYAGAIN) without effect, and a merge gives the
    /// slots and their data back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn split_freeze_and_merge_in_the_state_machine() {
        use prost::Message;
        let dir = tempfile::tempdir().unwrap();
        let (engine, parent) = open(dir.path()).await;
        engine.local.set_node_id(7);
        let high = crate::store::keys::key_slot(b"a"); // 15495
        let low = crate::store::keys::key_slot(b"b"); // 3300
        assert!(high >= 8192 && low < 8192);
        write_at(&parent, 1000, vec![cmd(&["SET", "a", "1"]), cmd(&["SET", "b", "1"])]).await;

        let rec = pb::LocalRegion { initial: vec![pb::MapReplica { replica_id: 2, node_id: 7 }], ..Default::default() };
        let membership = pb::Membership {
            configs: vec![pb::VoterSet { ids: vec![2] }],
            nodes: vec![pb::Member { replica_id: 2, addr: "x".into() }],
        };
        let split = lifecycle(
            pb::command::Kind::Split,
            vec![b"1".to_vec(), b"8192".to_vec(), b"2".to_vec(), rec.encode_to_vec(), membership.encode_to_vec()],
        );
        // A stale epoch changes nothing.
        let mut stale = split.clone();
        stale.argv[0] = Bytes::from_static(b"5");
        let r = write_at(&parent, 1000, vec![stale]).await;
        assert!(matches!(&r[0], Reply::Error(e) if e.contains("is at epoch 1, not 5")), "{r:?}");
        assert_eq!(parent.slots(), (0, SLOTS as u32));
        // The split, and in the same entry a write to a slot it gave away: refused, no effect.
        let r = write_at(&parent, 1000, vec![split, cmd(&["SET", "a", "2"]), cmd(&["SET", "b", "2"])]).await;
        assert_eq!(r[0], Reply::OK);
        assert!(matches!(&r[1], Reply::Error(e) if e.starts_with("TRYAGAIN")), "{r:?}");
        assert_eq!(r[2], Reply::OK);
        assert_eq!(parent.slots(), (0, 8192));
        assert_eq!(parent.shared.range.epoch(), 2);
        let local = crate::store::local::read(&engine, 2).unwrap().expect("the new region is recorded here");
        assert_eq!(local.replica_id, 2);

        // The new region opens from its records: its own group, leading at once, data in place.
        let child = Region::open_standalone(engine.clone(), 2, (0, 0), 2, "x".into()).await.unwrap();
        assert_eq!(child.slots(), (8192, SLOTS as u32));
        assert_eq!(child.raft.metrics().borrow_watched().purged.map(|p| p.index()), Some(0));
        let rd = crate::store::read::ReadCtx::new(&engine, 1000, false);
        assert_eq!(&rd.get(b"a").unwrap().unwrap().body[..], b"1");
        let r = write_at(&child, 1000, vec![cmd(&["INCR", "a"])]).await;
        assert_eq!(r[0], Reply::Int(2));

        // FREEZE: the reply is the entry's index; the region then refuses client writes.
        let r = write_at(&child, 1000, vec![lifecycle(pb::command::Kind::Freeze, vec![b"2".to_vec()])]).await;
        let Reply::Int(frozen) = r[0] else { panic!("{r:?}") };
        assert!(child.propose(vec![cmd(&["SET", "a", "9"])]).await.is_err());
        assert!(!child.serves(high));

        // MERGE into the parent: it takes the slots back, and the data with them.
        let offset = child.shared.range.stamp_offset();
        let argv =
            [2, 2, 2, frozen as u64, 8192, SLOTS as u64, offset].iter().map(|v| v.to_string().into_bytes()).collect();
        let r = write_at(&parent, 1000, vec![lifecycle(pb::command::Kind::Merge, argv)]).await;
        assert_eq!(r[0], Reply::OK, "{r:?}");
        assert_eq!(parent.slots(), (0, SLOTS as u32));
        assert_eq!(parent.shared.range.epoch(), 3);
        assert_eq!(crate::store::local::read(&engine, 2).unwrap().unwrap().merged_into, 1);
        let r = write_at(&parent, 1000, vec![cmd(&["INCR", "a"])]).await;
        assert_eq!(r[0], Reply::Int(3));
        child.raft.shutdown().await.unwrap();
        parent.raft.shutdown().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cluster_map_is_compare_and_set_and_durable() {
        let dir = tempfile::tempdir().unwrap();
        let voters = vec![(1, "a:1".to_string()), (2, "b:1".to_string()), (3, "c:1".to_string())];
        let first = crate::cluster::initial_map(&voters, 4);
        {
            let engine = Engine::open(dir.path()).unwrap();
            // A meta group owns no slots.
            let meta = Region::open_standalone(engine.clone(), 0, (0, 0), 1, "x".into()).await.unwrap();
            assert!(meta.cluster_map().borrow().is_none());
            meta.propose_map(0, &first).await.unwrap();
            assert_eq!(meta.cluster_map().borrow().as_ref().unwrap().version, 1);
            // A change made from a stale version fails and leaves the map alone.
            let mut stale = first.clone();
            stale.nodes.clear();
            let e = meta.propose_map(0, &stale).await.unwrap_err().to_string();
            assert!(e.contains("version 1, not 0"), "{e}");
            let mut second = (**meta.cluster_map().borrow().as_ref().unwrap()).clone();
            second.nodes[1].id40 = "f".repeat(40);
            meta.propose_map(1, &second).await.unwrap();
            close(engine, meta).await;
        }
        let engine = Engine::open(dir.path()).unwrap();
        let meta = Region::open_standalone(engine.clone(), 0, (0, 0), 1, "x".into()).await.unwrap();
        let map = meta.cluster_map().borrow().clone().unwrap();
        assert_eq!(map.version, 2);
        assert_eq!(map.nodes[1].id40, "f".repeat(40));
        assert_eq!(map.regions, first.regions);
        meta.raft.shutdown().await.unwrap();
    }
}
