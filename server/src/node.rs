//! The node: configuration, the store, its regions and the slot routing table, server-wide
//! counters, and INFO.

use std::fmt::Write as _;

use openraft::async_runtime::watch::WatchReceiver;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::cluster::{Cluster, Peer};
use crate::cmd::server::{field, REDIS_VERSION};
use crate::config::Config;
use crate::error::CmdError;
use crate::raft::auth::PeerAuth;
use crate::raft::{grpc, pb, Region};
use crate::store::keys::{key_slot, SLOTS};

/// The meta group's region id (data regions count from 1).
pub const META_REGION: u64 = 0;
use crate::store::Engine;

#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    /// Per-connection write batches handed to the region proposers (before merging).
    pub write_batches: AtomicU64,
    pub expired_keys: AtomicU64,
    pub rejected_connections: AtomicU64,
}

pub struct Node {
    pub config: Config,
    pub engine: Arc<Engine>,
    /// The regions this node serves and the slot routing table: set at start standalone; in a
    /// cluster, replaced whenever regions open, close, split or merge (see lifecycle/).
    layout: RwLock<Arc<Layout>>,
    /// 40-hex node id, created once and kept in the data dir.
    pub node_id: String,
    /// 40-hex id of this process run.
    pub run_id: String,
    pub started: Instant,
    pub stats: Stats,
    pub clients: crate::clients::Clients,
    pub cmdstats: crate::clients::CommandStats,
    next_client_id: AtomicU64,
    /// Cluster mode: the peer directory and the gRPC side. None when standalone.
    pub cluster: Option<Arc<Cluster>>,
    /// Cluster mode: this node's replica of the meta group (the cluster map).
    pub meta: Option<Arc<Region>>,
}

/// Regions ordered by slot range; `route[slot]` is an index into `regions` (NO_REGION for a
/// slot no local region serves). Immutable: a change builds a new one. Built from the ranges
/// as applied then; a split or merge applied since is caught by the region itself (apply
/// refuses keys it no longer serves, reads check after their barrier), so a stale route only
/// costs the client a TRYAGAIN.
pub struct Layout {
    pub regions: Vec<Arc<Region>>,
    route: Vec<u16>,
}

const NO_REGION: u16 = u16::MAX;

impl Layout {
    pub fn new(mut regions: Vec<Arc<Region>>) -> Layout {
        regions.sort_by_key(|r| r.slots());
        let mut route = vec![NO_REGION; SLOTS];
        for (i, r) in regions.iter().enumerate() {
            let (from, to) = r.slots();
            route[from as usize..to as usize].fill(i as u16);
        }
        Layout { regions, route }
    }
}

fn random_hex40() -> String {
    let mut s = String::with_capacity(40);
    for _ in 0..5 {
        let _ = write!(s, "{:08x}", rand::random::<u32>());
    }
    s
}

/// Reads the node id from `dir/node_id`, creating it on first start.
fn load_node_id(dir: &Path) -> std::io::Result<String> {
    let p = dir.join("node_id");
    match std::fs::read_to_string(&p) {
        Ok(s) if s.trim().len() == 40 => Ok(s.trim().to_string()),
        _ => {
            let id = random_hex40();
            let tmp = dir.join("node_id.tmp");
            std::fs::write(&tmp, &id)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &p)?;
            Ok(id)
        }
    }
}

/// The address clients are told to use for a node configured with `config`: the plain RESP
/// port, or the TLS port of a node that serves TLS only (`--port 0`).
fn announce_of(config: &Config) -> (String, u16) {
    let ip = match &config.announce_ip {
        Some(ip) => ip.clone(),
        None if config.bind == "0.0.0.0" || config.bind == "::" => "127.0.0.1".into(),
        None => config.bind.clone(),
    };
    let port = if config.port == 0 { config.tls_port } else { config.port };
    (ip, config.announce_port.unwrap_or(port))
}

/// Opens the data dir: node id and store, checking it was made for this mode (`cluster`).
fn open_engine(config: &Config, cluster: bool) -> anyhow::Result<(String, Arc<Engine>)> {
    if let Some(n) = config.regions {
        // Checked before the store records anything, so a bad flag leaves the dir as it was.
        anyhow::ensure!((1..=1024).contains(&n), "--regions must be between 1 and 1024, not {n}");
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let node_id = load_node_id(&config.data_dir)?;
    let engine = Engine::open(&config.data_dir.join("db"))?;
    engine.disk.watch(config.data_dir.join("db"), config.reserve_disk_space as u64)?;
    let dir = config.data_dir.display();
    match (engine.is_cluster_store(cluster)?, cluster) {
        (true, true) | (false, false) => {}
        (false, true) => anyhow::bail!(
            "the data dir {dir} was made by a standalone server or by a cluster node of an earlier \
             version (without the meta group); a cluster node needs a new data dir"
        ),
        (true, false) => anyhow::bail!("the data dir {dir} belongs to a cluster node; start it with its cluster flags"),
    }
    Ok((node_id, engine))
}

/// Opens the data dir of a standalone node: node id, store, and the region count (recorded at
/// creation; `--regions` or `default` then, and later starts must agree).
fn open_store(config: Config, default: u16) -> anyhow::Result<(Config, String, Arc<Engine>, u16)> {
    let (node_id, engine) = open_engine(&config, false)?;
    let n = engine.region_count(config.regions.unwrap_or(default))?;
    if let Some(wanted) = config.regions {
        anyhow::ensure!(
            n == wanted,
            "the data dir {} holds {n} regions; it cannot be opened with --regions {wanted}",
            config.data_dir.display()
        );
    }
    Ok((config, node_id, engine, n))
}

/// `[from, to)` slot ranges of `n` contiguous regions.
pub fn region_ranges(n: u16) -> Vec<(u16, u32)> {
    let n = n as usize;
    (0..n).map(|i| ((i * SLOTS / n) as u16, ((i + 1) * SLOTS / n) as u32)).collect()
}

impl Node {
    /// Opens the store and the standalone regions: `--regions` single-voter groups splitting
    /// the slot space into contiguous ranges, all sharing the store and its IO thread.
    pub async fn open_standalone(config: Config) -> anyhow::Result<Arc<Node>> {
        let (mut config, node_id, engine, n) = open_store(config, 1)?;
        let addr = format!("{}:{}", config.bind, config.port);
        let mut regions = Vec::with_capacity(n as usize);
        for (i, (from, to)) in region_ranges(n).into_iter().enumerate() {
            regions.push(Region::open_standalone(engine.clone(), i as u64 + 1, (from, to), 1, addr.clone()).await?);
        }
        config.regions = Some(n);
        Ok(Node::new(config, engine, Some(regions), node_id, None))
    }

    /// Opens the store and this node's replica of the meta group: a voter on every founding
    /// node of `--cluster` (the lowest id creates the group of a new cluster), a learner on a
    /// node that joins later (its `--node-id` is not in `--cluster`; see `Cluster::join`). The
    /// data regions open later, once the map is known (`open_layout`): a new cluster has none
    /// until a quorum of founding nodes is up. Returns at once.
    pub async fn open_cluster(config: Config, grpc_port: u16) -> anyhow::Result<Arc<Node>> {
        let voters = config.cluster.clone().expect("cluster mode").0;
        let my_id = config.node_id.expect("checked with --cluster");
        // Bad TLS files or secret stop the start before the data dir is touched.
        let tls = crate::net::tls::grpc(&config)?;
        let auth = PeerAuth::new(config.cluster_secret.as_deref(), tls).map_err(anyhow::Error::msg)?;
        let (node_id, engine) = open_engine(&config, true)?;
        engine.local.set_node_id(my_id);
        let (host, port) = announce_of(&config);
        // The `--cluster` entries are the gRPC addresses founders announce to each other (this
        // node binds `--bind:--grpc-port`, which may differ, e.g. behind NAT); a node that
        // joins announces `--announce-ip` (else the bind address) with its gRPC port.
        let my_grpc = match voters.iter().find(|(id, _)| *id == my_id) {
            Some((_, a)) => a.clone(),
            None => {
                let wildcard = config.bind == "0.0.0.0" || config.bind == "::";
                anyhow::ensure!(
                    !wildcard || config.announce_ip.is_some(),
                    "a node that joins a cluster and binds {} needs --announce-ip: the address the other \
                     nodes reach it at",
                    config.bind
                );
                format!("{host}:{grpc_port}")
            }
        };
        let registry = grpc::Registry::new(pb::NodeInfo {
            node_id: my_id,
            id40: node_id.clone(),
            resp_host: host.clone(),
            resp_port: port as u32,
            grpc_addr: my_grpc,
            leads: Vec::new(),
        });
        registry.guard_disk(engine.disk.clone());
        let me = Peer { id40: node_id.clone(), host, port };
        let cluster = Cluster::new(my_id, voters.clone(), me, registry.clone(), auth);
        // The meta group: replica id = node id, on the founding nodes.
        let members = voters.iter().map(|(id, a)| (*id, openraft::BasicNode { addr: a.clone() })).collect();
        let c = cluster.clone();
        let resolve: grpc::Resolve = Arc::new(move |node| c.addr_of(node));
        let network = grpc::GrpcNetwork::new(META_REGION, cluster.channels.clone(), Some(resolve));
        let bootstrap = my_id == voters[0].0;
        let meta =
            Region::open_replica(engine.clone(), META_REGION, (0, 0), my_id, members, None, network, bootstrap).await?;
        registry.insert(META_REGION, meta.raft.clone());
        Ok(Node::new(config, engine, None, node_id, Some((cluster, meta))))
    }

    /// Cluster mode: a node that is not a founder and has no map joins before it says it is
    /// ready (a refusal ends the start). Every other node asks in the background: a restarted
    /// node records a changed address, and a node given a founders' list that already formed
    /// a cluster without it becomes a learner of the meta group instead of waiting forever.
    pub async fn join(&self) -> anyhow::Result<()> {
        let (Some(cluster), Some(meta)) = (&self.cluster, &self.meta) else { return Ok(()) };
        let founder = cluster.voters.iter().any(|(id, _)| *id == cluster.my_id);
        if !founder && meta.cluster_map().borrow().is_none() {
            return cluster.join().await;
        }
        let cluster = cluster.clone();
        tokio::spawn(async move {
            if let Err(e) = cluster.join().await {
                eprintln!("redraft-server: {e:#}");
                std::process::exit(1);
            }
        });
        Ok(())
    }

    /// Cluster mode: follows the meta group's map (into the directory) and, from the first map
    /// seen, opens this node's replicas and starts serving their slots (with their expiry
    /// cycle and leader balancer).
    pub async fn open_layout(self: Arc<Self>, stop: tokio::sync::watch::Receiver<bool>) -> anyhow::Result<()> {
        let (Some(cluster), Some(meta)) = (self.cluster.clone(), self.meta.clone()) else { return Ok(()) };
        let regions = self.config.regions.unwrap_or((2 * cluster.voters.len()).min(64) as u16);
        tokio::spawn(cluster.clone().run_meta(meta.clone(), regions));
        let (joins, calls) = tokio::sync::mpsc::channel(16);
        cluster.registry.handle_joins(joins);
        tokio::spawn(cluster.clone().serve_joins(meta.clone(), calls));
        let mut watch = meta.cluster_map();
        let map = loop {
            if let Some(map) = watch.borrow_and_update().clone() {
                break map;
            }
            if watch.changed().await.is_err() {
                return Ok(());
            }
        };
        let me = map.nodes.iter().find(|n| n.node_id == cluster.my_id);
        if let Some(n) = me.filter(|n| !n.id40.is_empty() && n.id40 != self.node_id) {
            anyhow::bail!(
                "the cluster map records node {} as {}, but this data dir is node {}: a node whose data dir \
                 was lost must come back under a new --node-id",
                n.node_id,
                n.id40,
                self.node_id
            );
        }
        cluster.set_map(Some(map.clone()));
        let c = cluster.clone();
        tokio::spawn(async move {
            while watch.changed().await.is_ok() {
                let map = watch.borrow_and_update().clone();
                c.set_map(map);
            }
        });
        tracing::info!("cluster map version {}: {} regions", map.version, map.regions.len());
        tokio::spawn(crate::lifecycle::replicas::run(self.clone(), stop));
        tokio::spawn(crate::lifecycle::ops::run(self.clone()));
        tokio::spawn(crate::lifecycle::auto::run(self.clone()));
        let n = self.clone();
        tokio::spawn(cluster.balance(move || n.regions()));
        Ok(())
    }

    /// Replaces the regions this node serves (cluster mode: see lifecycle/replicas.rs).
    pub fn set_regions(&self, regions: Vec<Arc<Region>>) {
        *self.layout.write().expect("layout lock") = Arc::new(Layout::new(regions));
    }

    /// The current layout: regions and routing table.
    pub fn layout(&self) -> Arc<Layout> {
        self.layout.read().expect("layout lock").clone()
    }

    fn new(
        config: Config,
        engine: Arc<Engine>,
        regions: Option<Vec<Arc<Region>>>,
        node_id: String,
        cluster: Option<(Arc<Cluster>, Arc<Region>)>,
    ) -> Arc<Node> {
        let layout = RwLock::new(Arc::new(Layout::new(regions.unwrap_or_default())));
        Arc::new(Node {
            config,
            engine,
            layout,
            node_id,
            run_id: random_hex40(),
            started: Instant::now(),
            stats: Stats::default(),
            clients: Default::default(),
            cmdstats: Default::default(),
            next_client_id: AtomicU64::new(1),
            meta: cluster.as_ref().map(|(_, m)| m.clone()),
            cluster: cluster.map(|(c, _)| c),
        })
    }

    /// The regions this node serves, ordered by slot range (none in a cluster until the map
    /// is known).
    pub fn regions(&self) -> Vec<Arc<Region>> {
        self.layout().regions.clone()
    }

    pub fn mode(&self) -> &'static str {
        if self.cluster.is_some() {
            "cluster"
        } else {
            "standalone"
        }
    }

    /// Where a command for `region` (first key in `slot`) runs: here when this node leads
    /// the region (always, standalone), or MOVED to the leader's RESP address, or CLUSTERDOWN
    /// while no leader is known. Nothing has been proposed yet, so a client may retry.
    pub fn check_leader(&self, region: &Region, slot: u16) -> Result<(), CmdError> {
        let Some(cluster) = &self.cluster else { return Ok(()) };
        if region.raft.is_leader() {
            return Ok(());
        }
        // A leader that stopped answering is not worth a redirect: clients would only find
        // a dead address; CLUSTERDOWN makes them back off until the election is over.
        match region.leader().filter(|&l| cluster.is_fresh(l)).and_then(|l| cluster.peer(l)) {
            Some(p) => Err(CmdError::Moved(slot, format!("{}:{}", p.host, p.port))),
            None => Err(CmdError::ClusterDown),
        }
    }

    /// Makes a read of `region` linearizable. On the leader: a lease read (or nothing for a
    /// single voter). On a follower, for a READONLY connection: ask the leader for its read
    /// index (ReadIndex) and wait until this replica has applied it. Otherwise MOVED. Then the
    /// region must still serve `slot`: a split or merge that committed before the read began
    /// has applied by now, and the slot's writes go to another region (TRYAGAIN).
    pub async fn read_barrier(&self, region: &Region, slot: u16, readonly: bool) -> Result<(), CmdError> {
        self.barrier(region, slot, readonly).await?;
        if !region.serves(slot) {
            return Err(CmdError::TryAgain("Region changed (split, merge or move), try again".into()));
        }
        Ok(())
    }

    async fn barrier(&self, region: &Region, slot: u16, readonly: bool) -> Result<(), CmdError> {
        let Some(cluster) = &self.cluster else { return region.read_barrier().await };
        if region.raft.is_leader() {
            return region.read_barrier().await;
        }
        if !readonly {
            self.check_leader(region, slot)?;
        }
        let leader = region.leader().ok_or(CmdError::ClusterDown)?;
        let addr = cluster.addr_of(leader).ok_or(CmdError::ClusterDown)?;
        let index = grpc::read_index(&cluster.channels, &addr, region.id)
            .await
            .map_err(|e| CmdError::TryAgain(format!("Replica read failed, try again: {}", e.message())))?;
        region
            .raft
            .wait(Some(std::time::Duration::from_secs(5)))
            .applied_index_at_least(Some(index), "replica read")
            .await
            .map_err(|_| CmdError::TryAgain("Replica is catching up, try again".into()))?;
        Ok(())
    }

    /// The regions this node answers keyless commands for (DBSIZE,
    /// FLUSHALL, ...): all when standalone; those it leads in a cluster, as a Redis Cluster
    /// master answers for its own slots.
    pub fn served_regions(&self) -> Vec<Arc<Region>> {
        self.regions().into_iter().filter(|r| self.cluster.is_none() || r.raft.is_leader()).collect()
    }

    /// Keys and expiring keys in the regions this node serves.
    pub fn served_counts(&self) -> (u64, u64) {
        self.served_regions().into_iter().fold((0, 0), |(k, e), r| {
            let (from, to) = r.slots();
            let (a, b) = self.engine.counts.total(from, to);
            (k + a, e + b)
        })
    }

    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The one region holding all `keys`, or CROSSSLOT when they
    /// span regions. In a cluster, keys must also share one slot, as in Redis Cluster, and a
    /// slot of a region with no replica here is MOVED to its leader (CLUSTERDOWN while none
    /// is known, or before the cluster map is).
    pub fn region_of_keys<'a>(&self, keys: impl Iterator<Item = &'a [u8]>) -> Result<Arc<Region>, CmdError> {
        let layout = self.layout();
        let mut found: Option<u16> = None;
        let mut first_slot: Option<u16> = None;
        for k in keys {
            let slot = key_slot(k);
            if self.cluster.is_some() && *first_slot.get_or_insert(slot) != slot {
                return Err(CmdError::CrossSlot);
            }
            let r = layout.route[slot as usize];
            match found {
                None => found = Some(r),
                Some(f) if f != r => return Err(CmdError::CrossSlot),
                _ => {}
            }
        }
        match (found, first_slot) {
            (Some(NO_REGION), Some(slot)) => Err(self.remote(slot)),
            (Some(NO_REGION), None) => Err(CmdError::ClusterDown),
            (Some(r), _) => Ok(layout.regions[r as usize].clone()),
            (None, _) => layout.regions.first().cloned().ok_or(CmdError::ClusterDown),
        }
    }

    /// Where to send a client for `slot` when no local replica serves it.
    fn remote(&self, slot: u16) -> CmdError {
        let Some(cluster) = &self.cluster else { return CmdError::ClusterDown };
        let region = cluster.map().and_then(|m| {
            m.regions.iter().find(|r| r.slot_from <= slot as u32 && (slot as u32) < r.slot_to).map(|r| r.region_id)
        });
        match region.and_then(|r| cluster.claimed_leader(r)).and_then(|l| cluster.peer(l)) {
            Some(p) => CmdError::Moved(slot, format!("{}:{}", p.host, p.port)),
            None => CmdError::ClusterDown,
        }
    }

    /// The address clients are told to use for this node.
    pub fn announce(&self) -> (String, u16) {
        announce_of(&self.config)
    }

    /// The cluster bus port shown in CLUSTER NODES: the real port + 10000, as in Redis (an
    /// announced port does not move it).
    pub fn bus_port(&self) -> u32 {
        self.config.port as u32 + 10000
    }

    /// The configuration epoch of a standalone node's one-node cluster view.
    pub fn config_epoch(&self) -> u64 {
        0
    }

    /// Sum of the regions' applied log indexes (the replication offset a standalone node shows).
    pub fn applied_index(&self) -> u64 {
        self.regions()
            .iter()
            .map(|r| r.raft.metrics().borrow_watched().last_applied.map(|l| l.index()).unwrap_or(0))
            .sum()
    }

    /// Up to `count` live keys of `slot`, in key order.
    pub fn keys_in_slot(&self, slot: u16, count: usize) -> Result<Vec<bytes::Bytes>, CmdError> {
        use crate::store::keys;
        let mut out = Vec::new();
        if count == 0 {
            return Ok(out);
        }
        let now = crate::net::connection::now_ms();
        let mut ro = rocksdb::ReadOptions::default();
        ro.set_iterate_upper_bound(keys::slot_range_end(slot as u32 + 1));
        let mut it = self.engine.db.raw_iterator_cf_opt(self.engine.cf(keys::CF_METADATA), ro);
        it.seek(keys::slot_range_start(slot));
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let exp = crate::store::Value::raw_expire_ms(v);
            if exp == 0 || exp > now {
                out.push(bytes::Bytes::copy_from_slice(keys::split_data_key(k).1));
                if out.len() >= count {
                    break;
                }
            }
            it.next();
        }
        it.status().map_err(|e| CmdError::Storage(e.to_string()))?;
        Ok(out)
    }

    pub fn auth_required(&self) -> bool {
        self.config.requirepass.is_some()
    }

    /// Appends one INFO section (with its `# Title` header).
    pub fn info_section(&self, name: &str, out: &mut String) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let up = self.started.elapsed().as_secs();
        match name {
            "server" => {
                out.push_str("# Server\r\n");
                field(out, "redis_version", REDIS_VERSION);
                field(out, "redraft_version", env!("CARGO_PKG_VERSION"));
                field(out, "redis_git_sha1", "00000000");
                field(out, "redis_git_dirty", 0);
                field(out, "redis_mode", self.mode());
                field(out, "os", std::env::consts::OS);
                field(out, "arch_bits", 64);
                field(out, "multiplexing_api", "epoll");
                field(out, "process_id", std::process::id());
                field(out, "process_supervised", "no");
                field(out, "run_id", &self.run_id);
                field(out, "tcp_port", self.config.port);
                field(out, "server_time_usec", now.as_micros());
                field(out, "uptime_in_seconds", up);
                field(out, "uptime_in_days", up / 86400);
                field(out, "hz", 10);
                field(out, "configured_hz", 10);
                field(out, "executable", std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default());
                field(
                    out,
                    "config_file",
                    self.config.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                );
                field(out, "io_threads_active", 0);
            }
            "clients" => {
                out.push_str("# Clients\r\n");
                field(out, "connected_clients", self.clients.len());
                field(out, "cluster_connections", 0);
                field(out, "maxclients", self.config.maxclients);
                field(out, "client_recent_max_input_buffer", 0);
                field(out, "client_recent_max_output_buffer", 0);
                field(out, "blocked_clients", 0);
                field(out, "tracking_clients", 0);
                field(out, "clients_in_timeout_table", 0);
            }
            "memory" => {
                out.push_str("# Memory\r\n");
                let rss = rss_bytes();
                field(out, "used_memory", rss);
                field(out, "used_memory_human", human(rss));
                field(out, "used_memory_rss", rss);
                field(out, "maxmemory", 0);
                field(out, "maxmemory_policy", "noeviction");
            }
            "persistence" => {
                out.push_str("# Persistence\r\n");
                let io = &self.engine.io.stats;
                field(out, "loading", 0);
                field(out, "aof_enabled", 0);
                field(out, "rdb_changes_since_last_save", 0);
                field(out, "raft_wal_syncs", io.syncs.load(Ordering::Relaxed));
                field(out, "raft_wal_synced_requests", io.synced_requests.load(Ordering::Relaxed));
                field(out, "raft_wal_sync_usec", io.sync_usec.load(Ordering::Relaxed));
                field(out, "raft_applied_entries", io.applied_entries.load(Ordering::Relaxed));
                field(out, "raft_apply_usec", io.apply_usec.load(Ordering::Relaxed));
                field(out, "raft_snapshots_installed", io.snapshots_installed.load(Ordering::Relaxed));
                field(out, "disk_low", self.engine.disk.low().is_some() as u8);
                let (mut e, mut c, mut us) = (0, 0, 0);
                for r in self.regions() {
                    e += r.stats.entries.load(Ordering::Relaxed);
                    c += r.stats.commands.load(Ordering::Relaxed);
                    us += r.stats.commit_usec.load(Ordering::Relaxed);
                }
                field(out, "raft_entries_proposed", e);
                field(out, "raft_commands_proposed", c);
                field(out, "raft_commit_usec", us);
            }
            "stats" => {
                out.push_str("# Stats\r\n");
                field(out, "total_connections_received", self.stats.connections_received.load(Ordering::Relaxed));
                field(out, "total_commands_processed", self.stats.commands_processed.load(Ordering::Relaxed));
                field(out, "expired_keys", self.stats.expired_keys.load(Ordering::Relaxed));
                field(out, "rejected_connections", self.stats.rejected_connections.load(Ordering::Relaxed));
                field(out, "total_error_replies", self.cmdstats.total_errors.load(Ordering::Relaxed));
                field(out, "raft_write_batches", self.stats.write_batches.load(Ordering::Relaxed));
            }
            "replication" => {
                out.push_str("# Replication\r\n");
                field(out, "role", "master");
                field(out, "connected_slaves", 0);
                for r in self.regions() {
                    let m = r.raft.metrics().borrow_watched().clone();
                    let (from, to) = r.slots();
                    let _ = write!(
                        out,
                        "raft_region{}:slots={}-{},term={},last_log={},applied={},leader={}\r\n",
                        r.id,
                        from,
                        to.saturating_sub(1),
                        m.current_term,
                        m.last_log_index.unwrap_or(0),
                        m.last_applied.map(|l| l.index()).unwrap_or(0),
                        r.leader().map(|l| l.to_string()).unwrap_or_else(|| "none".into()),
                    );
                }
            }
            "cpu" => {
                out.push_str("# CPU\r\n");
                let (u, s) = cpu_times();
                field(out, "used_cpu_sys", format!("{s:.6}"));
                field(out, "used_cpu_user", format!("{u:.6}"));
            }
            "commandstats" => {
                out.push_str("# Commandstats\r\n");
                self.cmdstats.write_commandstats(out);
            }
            "errorstats" => {
                out.push_str("# Errorstats\r\n");
                self.cmdstats.write_errorstats(out);
            }
            "cluster" => {
                out.push_str("# Cluster\r\n");
                field(out, "cluster_enabled", self.cluster.is_some() as u8);
            }
            "keyspace" => {
                out.push_str("# Keyspace\r\n");
                let (k, e) = self.served_counts();
                if k > 0 {
                    let _ = write!(out, "db0:keys={k},expires={e},avg_ttl=0\r\n");
                }
            }
            _ => {}
        }
    }
}

fn human(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.2}G", b as f64 / (1u64 << 30) as f64)
    } else if b >= 1 << 20 {
        format!("{:.2}M", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.2}K", b as f64 / 1024.0)
    }
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

fn cpu_times() -> (f64, f64) {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else { return (0.0, 0.0) };
    let Some(rest) = s.rsplit_once(')').map(|(_, r)| r) else { return (0.0, 0.0) };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = 100.0;
    let u = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    let s = f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    (u, s)
}
