//! Region operations: split, merge, move a replica, add and remove a node.
//!
//! An operation is recorded in the cluster map first (with every id it will need: the new
//! region's, the new replicas'), then driven step by step by the meta leader; a new meta leader
//! resumes the running ones. Each step asks the node hosting the region (its leader, through
//! `RegionOp`) and is idempotent: it looks at the region's epoch, range or membership before it
//! changes anything, so a step repeated after a crash does nothing twice. The last step writes
//! the result into the map (ranges, replicas, epoch) together with the operation's end.
//!
//! Per region, at most one operation runs; the leader balancer leaves its region alone.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::{Code, Status};

use crate::cluster::{is_running, Cluster};
use crate::node::Node;
use crate::raft::grpc;
use crate::raft::pb::{self, operation::Kind, operation::State, region_op_request::Kind as Op};
use crate::raft::Region;

/// Finished operations kept in the map (the oldest go first).
pub const KEEP_FINISHED: usize = 32;
/// A step that keeps failing for this long fails the operation.
const STEP_PATIENCE: Duration = Duration::from_secs(120);
/// Deadline of one RegionOp call (adding a learner waits until it has caught up).
const CALL_DEADLINE: Duration = Duration::from_secs(600);

/// Why an operation could not start (mapped to HTTP statuses by the admin port).
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Unavailable(String),
}

impl OpError {
    pub fn status(&self) -> u16 {
        match self {
            OpError::BadRequest(_) => 400,
            OpError::NotFound(_) => 404,
            OpError::Busy(_) => 409,
            OpError::Unavailable(_) => 503,
        }
    }
}

/// An operation an operator asks for.
#[derive(Debug, Clone)]
pub enum OpRequest {
    Split { region: u64, at: u32 },
    Merge { left: u64, right: u64 },
    Move { region: u64, from: u64, to: u64 },
    AddNode { node: u64 },
    RemoveNode { node: u64 },
}

fn now_ms() -> u64 {
    crate::net::connection::now_ms()
}

fn region_of(map: &pb::ClusterMap, id: u64) -> Result<&pb::MapRegion, OpError> {
    map.regions.iter().find(|r| r.region_id == id).ok_or_else(|| OpError::NotFound(format!("no region {id}")))
}

/// The running operation that involves region `id`, if any (as the region it changes, a merge
/// source, or the region whose replica it moves now).
pub fn busy_with(map: &pb::ClusterMap, id: u64) -> Option<&pb::Operation> {
    map.ops.iter().find(|o| is_running(o) && (o.region_id == id || o.source == id || o.moving_region == id))
}

fn check_idle(map: &pb::ClusterMap, id: u64) -> Result<(), OpError> {
    match busy_with(map, id) {
        Some(o) => Err(OpError::Busy(format!("region {id} is busy with operation {}", o.id))),
        None => Ok(()),
    }
}

fn check_node(map: &pb::ClusterMap, id: u64) -> Result<(), OpError> {
    match map.nodes.iter().any(|n| n.node_id == id) {
        true => Ok(()),
        false => Err(OpError::NotFound(format!("no node {id} in the cluster"))),
    }
}

/// Validates `req` against `map` and records it there (allocating its ids). Returns the op.
fn plan(map: &mut pb::ClusterMap, req: &OpRequest, voters: &[(u64, String)]) -> Result<pb::Operation, OpError> {
    if map.next_region_id == 0 {
        // A map from before regions could split.
        map.next_region_id = map.regions.iter().map(|r| r.region_id).max().unwrap_or(0) + 1;
    }
    let mut op = pb::Operation {
        id: map.next_op_id.max(1),
        state: State::Running as i32,
        started_ms: now_ms(),
        step: "queued".into(),
        ..Default::default()
    };
    match *req {
        OpRequest::Split { region, at } => {
            let r = region_of(map, region)?.clone();
            check_idle(map, region)?;
            if at <= r.slot_from || at >= r.slot_to {
                let (from, last) = (r.slot_from, r.slot_to - 1);
                return Err(OpError::BadRequest(format!(
                    "region {region} has slots {from}-{last}: the split slot must be in {}-{last}",
                    from + 1
                )));
            }
            op.kind = Kind::Split as i32;
            (op.region_id, op.at_slot, op.epoch) = (region, at, r.epoch);
            op.new_region = map.next_region_id;
            map.next_region_id += 1;
            for x in &r.replicas {
                op.new_replicas.push(pb::MapReplica { replica_id: map.next_replica_id, node_id: x.node_id });
                map.next_replica_id += 1;
            }
        }
        OpRequest::Merge { left, right } => {
            let (l, r) = (region_of(map, left)?.clone(), region_of(map, right)?.clone());
            check_idle(map, left)?;
            check_idle(map, right)?;
            if l.slot_to != r.slot_from {
                return Err(OpError::BadRequest(format!(
                    "regions {left} (slots {}-{}) and {right} (slots {}-{}) are not adjacent: the left one must end \
                     where the right one starts",
                    l.slot_from,
                    l.slot_to - 1,
                    r.slot_from,
                    r.slot_to - 1
                )));
            }
            op.kind = Kind::Merge as i32;
            (op.region_id, op.source, op.epoch) = (left, right, l.epoch);
        }
        OpRequest::Move { region, from, to } => {
            let r = region_of(map, region)?.clone();
            check_idle(map, region)?;
            check_node(map, to)?;
            if !r.replicas.iter().any(|x| x.node_id == from) {
                return Err(OpError::BadRequest(format!("region {region} has no replica on node {from}")));
            }
            if r.replicas.iter().any(|x| x.node_id == to) {
                return Err(OpError::BadRequest(format!("region {region} already has a replica on node {to}")));
            }
            if map.removing.contains(&to) {
                return Err(OpError::BadRequest(format!("node {to} is being removed")));
            }
            op.kind = Kind::Move as i32;
            (op.region_id, op.from_node, op.to_node, op.epoch) = (region, from, to, r.epoch);
            op.moving_region = region;
            op.new_replica_id = map.next_replica_id;
            map.next_replica_id += 1;
        }
        OpRequest::AddNode { node } => {
            check_node(map, node)?;
            if map.removing.contains(&node) {
                return Err(OpError::BadRequest(format!("node {node} is being removed")));
            }
            op.kind = Kind::AddNode as i32;
            op.to_node = node;
        }
        OpRequest::RemoveNode { node } => {
            check_node(map, node)?;
            if voters.iter().any(|(id, _)| *id == node) {
                return Err(OpError::BadRequest(format!(
                    "node {node} is a founding node (a voter of the cluster map's group): only nodes that joined later \
                     can be removed"
                )));
            }
            if map.nodes.len() - map.removing.len() <= 1 {
                return Err(OpError::BadRequest("the last node cannot be removed".into()));
            }
            if let Some(o) =
                map.ops.iter().find(|o| is_running(o) && o.kind == Kind::RemoveNode as i32 && o.from_node == node)
            {
                return Err(OpError::Busy(format!("node {node} is being removed by operation {}", o.id)));
            }
            op.kind = Kind::RemoveNode as i32;
            op.from_node = node;
            map.removing.push(node);
        }
    }
    map.next_op_id = op.id + 1;
    map.ops.push(op.clone());
    // Keep the running ones and the last finished ones.
    let finished = map.ops.iter().filter(|o| !is_running(o)).count();
    let mut drop = finished.saturating_sub(KEEP_FINISHED);
    map.ops.retain(|o| {
        let gone = drop > 0 && !is_running(o);
        drop -= gone as usize;
        !gone
    });
    Ok(op)
}

/// On the meta leader: records a new operation in the map; the driver (`run`) picks it up.
pub async fn start(node: &Node, req: OpRequest) -> Result<pb::Operation, OpError> {
    let (Some(cluster), Some(meta)) = (&node.cluster, &node.meta) else {
        return Err(OpError::BadRequest("region operations need cluster mode".into()));
    };
    let op = update_map(meta, |map| plan(map, &req, &cluster.voters)).await?;
    tracing::info!("operation {} started: {req:?}", op.id);
    Ok(op)
}

/// Changes the map with `change` (compare-and-set, retried on a concurrent change) on the meta
/// leader.
async fn update_map<T>(
    meta: &Region,
    mut change: impl FnMut(&mut pb::ClusterMap) -> Result<T, OpError>,
) -> Result<T, OpError> {
    for _ in 0..20 {
        if !meta.raft.is_leader() {
            return Err(OpError::Unavailable("not the meta leader".into()));
        }
        meta.read_barrier().await.map_err(|e| OpError::Unavailable(e.to_string()))?;
        let Some(map) = meta.cluster_map().borrow().clone() else {
            return Err(OpError::Unavailable("no cluster map yet".into()));
        };
        let mut next = (*map).clone();
        let out = change(&mut next)?;
        match meta.propose_map(map.version, &next).await {
            Ok(()) => return Ok(out),
            Err(e) if e.to_string().contains("cluster map is at version") => continue,
            Err(e) => return Err(OpError::Unavailable(e.to_string())),
        }
    }
    Err(OpError::Unavailable("the cluster map kept changing".into()))
}

/// Drives the running operations while this node leads the meta group.
pub async fn run(node: Arc<Node>) {
    let Some(meta) = node.meta.clone() else { return };
    let active: Arc<Mutex<HashSet<u64>>> = Arc::default();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if !meta.raft.is_leader() {
            continue;
        }
        let Some(map) = meta.cluster_map().borrow().clone() else { continue };
        for op in map.ops.iter().filter(|o| is_running(o)) {
            if !active.lock().expect("ops lock").insert(op.id) {
                continue;
            }
            let (node, active, id) = (node.clone(), active.clone(), op.id);
            tokio::spawn(async move {
                drive(&node, id).await;
                active.lock().expect("ops lock").remove(&id);
            });
        }
    }
}

/// Sends `req` to the node hosting `region`'s leader: the one the directory says leads it,
/// else each replica's node in turn (the map's copy on this node names them).
pub async fn on_leader(
    cluster: &Cluster,
    region: u64,
    req: pb::RegionOpRequest,
) -> Result<pb::RegionOpResponse, Status> {
    let map = cluster.map();
    let mut nodes: Vec<u64> = map
        .iter()
        .flat_map(|m| &m.regions)
        .filter(|r| r.region_id == region)
        .flat_map(|r| &r.replicas)
        .map(|x| x.node_id)
        .collect();
    if let Some(l) = cluster.claimed_leader(region) {
        nodes.retain(|n| *n != l);
        nodes.insert(0, l);
    }
    let mut last = Status::unavailable(format!("no node hosts region {region}"));
    for n in nodes {
        let Some(addr) = cluster.addr_of(n) else { continue };
        let req = pb::RegionOpRequest { region_id: region, ..req.clone() };
        match grpc::region_op(&cluster.channels, &addr, req, CALL_DEADLINE).await {
            Ok(r) => return Ok(r),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Why a step stopped.
enum StepError {
    /// Worth retrying (no leader yet, a node unreachable, a concurrent change).
    Retry(String),
    /// The operation cannot go on.
    Fail(String),
    /// This node stopped leading the meta group: the next leader resumes.
    Deposed,
}

impl From<Status> for StepError {
    fn from(s: Status) -> Self {
        StepError::Retry(format!("{}: {}", code_name(s.code()), s.message()))
    }
}

impl From<OpError> for StepError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::Unavailable(m) if m.contains("not the meta leader") => StepError::Deposed,
            OpError::Unavailable(m) => StepError::Retry(m),
            e => StepError::Fail(e.to_string()),
        }
    }
}

fn code_name(c: Code) -> &'static str {
    match c {
        Code::FailedPrecondition => "not the leader",
        Code::NotFound => "not hosted",
        Code::Unavailable => "unavailable",
        Code::DeadlineExceeded => "timed out",
        _ => "failed",
    }
}

async fn drive(node: &Arc<Node>, id: u64) {
    let (Some(cluster), Some(meta)) = (node.cluster.clone(), node.meta.clone()) else { return };
    let d = Driver { cluster, meta, id, no_return: Default::default() };
    let Some(op) = d.op() else { return };
    let result = match Kind::try_from(op.kind) {
        Ok(Kind::Split) => d.split(&op).await,
        Ok(Kind::Merge) => d.merge(&op).await,
        Ok(Kind::Move) => d.move_replica(&op, op.region_id, op.from_node, op.to_node, op.new_replica_id).await,
        Ok(Kind::AddNode) => d.add_node(&op).await,
        Ok(Kind::RemoveNode) => d.remove_node(&op).await,
        Err(_) => Err(StepError::Fail(format!("unknown operation kind {}", op.kind))),
    };
    match result {
        Ok(()) => tracing::info!("operation {id} done"),
        Err(StepError::Deposed) => tracing::info!("operation {id}: no longer the meta leader; the next one resumes it"),
        Err(StepError::Retry(e)) | Err(StepError::Fail(e)) => {
            tracing::warn!("operation {id} failed: {e}");
            let _ = d
                .finish(
                    |map| {
                        if let Some(o) = map.ops.iter().find(|o| o.id == id && o.kind == Kind::RemoveNode as i32) {
                            let n = o.from_node;
                            map.removing.retain(|x| *x != n);
                        }
                        Ok(())
                    },
                    Some(e),
                )
                .await;
        }
    }
}

struct Driver {
    cluster: Arc<Cluster>,
    meta: Arc<Region>,
    id: u64,
    /// Past the point of no return (a SPLIT, FREEZE or promotion may have committed): the
    /// operation is rolled forward, its steps retried until they succeed.
    no_return: std::sync::atomic::AtomicBool,
}

impl Driver {
    fn map(&self) -> Option<Arc<pb::ClusterMap>> {
        self.meta.cluster_map().borrow().clone()
    }

    fn op(&self) -> Option<pb::Operation> {
        self.map()?.ops.iter().find(|o| o.id == self.id).cloned()
    }

    fn point_of_no_return(&self) {
        self.no_return.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Records what the operation does now (retried: a lost map update must not fail it).
    async fn step(&self, text: impl Into<String>) -> Result<(), StepError> {
        let text = text.into();
        tracing::info!("operation {}: {text}", self.id);
        let id = self.id;
        self.retry("recording the step", || async {
            update_map(&self.meta, |map| match map.ops.iter_mut().find(|o| o.id == id && is_running(o)) {
                Some(o) => {
                    o.step = text.clone();
                    Ok(())
                }
                None => Err(OpError::BadRequest("the operation is no longer running".into())),
            })
            .await
            .map_err(StepError::from)
        })
        .await
    }

    /// Ends the operation: applies `change` to the map and marks it done (or failed with
    /// `error`), once (an operation no longer running is left alone).
    async fn finish(
        &self,
        change: impl Fn(&mut pb::ClusterMap) -> Result<(), OpError>,
        error: Option<String>,
    ) -> Result<(), StepError> {
        let id = self.id;
        let (change, error) = (&change, &error);
        self.retry("recording the result", || async move {
            update_map(&self.meta, |map| {
                let running = map.ops.iter().any(|o| o.id == id && is_running(o));
                if !running {
                    return Err(OpError::BadRequest("the operation is no longer running".into()));
                }
                change(map)?;
                let o =
                    map.ops.iter_mut().find(|o| o.id == id).ok_or_else(|| OpError::NotFound("no operation".into()))?;
                o.state = if error.is_some() { State::Failed } else { State::Done } as i32;
                o.error = error.clone().unwrap_or_default();
                o.finished_ms = now_ms();
                if error.is_none() {
                    o.step = "done".into();
                }
                Ok(())
            })
            .await
            .map_err(StepError::from)
        })
        .await
    }

    /// Retries `f` while it asks to: for up to STEP_PATIENCE, or for good past the point of no
    /// return; stops when deposed.
    async fn retry<T, F, Fut>(&self, what: &str, mut f: F) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StepError>>,
    {
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        let mut warned = Instant::now();
        loop {
            if !self.meta.raft.is_leader() {
                return Err(StepError::Deposed);
            }
            let patient =
                self.no_return.load(std::sync::atomic::Ordering::Relaxed) || started.elapsed() < STEP_PATIENCE;
            match f().await {
                Ok(v) => return Ok(v),
                Err(StepError::Retry(e)) if patient => {
                    if warned.elapsed() > Duration::from_secs(30) {
                        warned = Instant::now();
                        tracing::warn!(
                            "operation {}: {what}: {e}; still retrying after {:?}",
                            self.id,
                            started.elapsed()
                        );
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(StepError::Retry(e)) => return Err(StepError::Fail(format!("{what}: {e}"))),
                Err(e) => return Err(e),
            }
        }
    }

    /// The membership of a new group with `replicas`, addressed as the map records the nodes
    /// (the same bytes on every replica that creates it).
    fn membership(&self, replicas: &[pb::MapReplica]) -> pb::Membership {
        let map = self.map();
        let addr = |node: u64| {
            map.iter()
                .flat_map(|m| &m.nodes)
                .find(|n| n.node_id == node)
                .map(|n| n.grpc_addr.clone())
                .unwrap_or_default()
        };
        pb::Membership {
            configs: vec![pb::VoterSet { ids: replicas.iter().map(|x| x.replica_id).collect() }],
            nodes: replicas.iter().map(|x| pb::Member { replica_id: x.replica_id, addr: addr(x.node_id) }).collect(),
        }
    }

    /// The map's replicas of `region` as nodes.
    fn replica_nodes(&self, region: u64) -> Vec<u64> {
        let map = self.map();
        map.iter()
            .flat_map(|m| &m.regions)
            .filter(|r| r.region_id == region)
            .flat_map(|r| &r.replicas)
            .map(|x| x.node_id)
            .collect()
    }

    async fn on_leader(&self, region: u64, req: pb::RegionOpRequest) -> Result<pb::RegionOpResponse, StepError> {
        Ok(on_leader(&self.cluster, region, req).await?)
    }

    /// The status of `region`'s replica on node `node`.
    async fn status_on(&self, node: u64, region: u64) -> Result<pb::RegionOpResponse, StepError> {
        let addr = self.cluster.addr_of(node).ok_or_else(|| StepError::Retry(format!("no address for node {node}")))?;
        let req = pb::RegionOpRequest { region_id: region, kind: Op::Status as i32, ..Default::default() };
        Ok(grpc::region_op(&self.cluster.channels, &addr, req, Duration::from_secs(5)).await?)
    }

    async fn status(&self, region: u64) -> Result<pb::RegionOpResponse, StepError> {
        self.on_leader(region, pb::RegionOpRequest { kind: Op::Status as i32, ..Default::default() }).await
    }

    /// Proposes a lifecycle command on `region`'s leader; its reply (an error reply is `Err`).
    async fn propose(&self, region: u64, kind: pb::command::Kind, argv: Vec<Vec<u8>>) -> Result<u64, StepError> {
        let command = pb::Command { kind: kind as i32, argv: argv.into_iter().map(bytes::Bytes::from).collect() };
        let req = pb::RegionOpRequest { kind: Op::Propose as i32, command: Some(command), ..Default::default() };
        let r = self.on_leader(region, req).await?;
        match r.error {
            e if e.is_empty() => Ok(r.index),
            // The region changed under the step (a retried proposal that committed): the step
            // looks again.
            e if e.contains(" at epoch ") => Err(StepError::Retry(e)),
            e => Err(StepError::Fail(format!("region {region} refused the step: {e}"))),
        }
    }

    async fn split(&self, op: &pb::Operation) -> Result<(), StepError> {
        let (region, at, new) = (op.region_id, op.at_slot, op.new_region);
        self.step(format!("splitting region {region} at slot {at}")).await?;
        self.retry("split", || async {
            let s = self.status(region).await?;
            if !s.is_leader {
                return Err(StepError::Retry("no leader yet".into()));
            }
            let range = s.range.unwrap_or_default();
            if range.slot_to == at {
                // Done before (a resumed operation): only the map is left, rolled forward.
                self.point_of_no_return();
                return Ok(());
            }
            if range.slot_to < at || range.slot_from >= at {
                return Err(StepError::Fail(format!("region {region} no longer holds slot {at}")));
            }
            let rec = pb::LocalRegion { region_id: new, initial: op.new_replicas.clone(), ..Default::default() };
            let argv = vec![
                range.epoch.to_string().into_bytes(),
                at.to_string().into_bytes(),
                new.to_string().into_bytes(),
                prost::Message::encode_to_vec(&rec),
                prost::Message::encode_to_vec(&self.membership(&op.new_replicas)),
            ];
            // From here the split may commit: it is rolled forward.
            self.point_of_no_return();
            self.propose(region, pb::command::Kind::Split, argv).await.map(|_| ())
        })
        .await?;
        self.finish(
            |map| {
                let r = map
                    .regions
                    .iter_mut()
                    .find(|r| r.region_id == region)
                    .ok_or_else(|| OpError::NotFound("region".into()))?;
                let (to, epoch) = (r.slot_to, r.epoch + 1);
                (r.slot_to, r.epoch) = (at, epoch);
                if !map.regions.iter().any(|r| r.region_id == new) {
                    let replicas = op.new_replicas.clone();
                    map.regions.push(pb::MapRegion { region_id: new, slot_from: at, slot_to: to, epoch, replicas });
                    map.regions.sort_by_key(|r| r.slot_from);
                }
                Ok(())
            },
            None,
        )
        .await
    }

    /// Moves `region`'s replica on `from` to `to` as `new_replica`: compact the log, add the new
    /// replica as a learner (it receives a snapshot and catches up), make it a voter, hand the
    /// leadership over if the old replica has it, remove the old replica. The map records the
    /// new replica set in the place of the old replica (the default leader stays in place).
    async fn move_replica(
        &self,
        op: &pb::Operation,
        region: u64,
        from: u64,
        to: u64,
        new_replica: u64,
    ) -> Result<(), StepError> {
        let old_replica = self.map().and_then(|m| {
            m.regions
                .iter()
                .find(|r| r.region_id == region)?
                .replicas
                .iter()
                .find(|x| x.node_id == from)
                .map(|x| x.replica_id)
        });
        let Some(old_replica) = old_replica else {
            // Already moved (a resumed operation), or never there.
            return if op.kind == Kind::Move as i32 { self.finish(|_| Ok(()), None).await } else { Ok(()) };
        };
        if op.kind != Kind::Move as i32 {
            // Each move of a merge or node operation has its own point of no return.
            self.no_return.store(false, std::sync::atomic::Ordering::Relaxed);
        }
        let voters_now = |s: &pb::RegionOpResponse| s.voters.iter().copied().collect::<BTreeSet<u64>>();
        let s = self.retry("status", || self.status(region)).await?;
        if voters_now(&s).contains(&new_replica) {
            // Promoted before this leader took over: rolled forward.
            self.point_of_no_return();
        } else {
            self.step(format!("region {region}: compacting the log")).await?;
            self.retry("compact", || {
                self.on_leader(region, pb::RegionOpRequest { kind: Op::Compact as i32, ..Default::default() })
            })
            .await?;
            self.step(format!("region {region}: adding a replica on node {to} and sending it a snapshot")).await?;
            let added = self
                .retry("add learner", || {
                    self.on_leader(
                        region,
                        pb::RegionOpRequest {
                            kind: Op::AddLearner as i32,
                            replica_id: new_replica,
                            node_id: to,
                            ..Default::default()
                        },
                    )
                })
                .await;
            if let Err(e) = added {
                // Not promoted: take the learner out again (best effort; the target node drops
                // its replica once the operation ends).
                let req = pb::RegionOpRequest {
                    kind: Op::RemoveLearner as i32,
                    replica_id: new_replica,
                    ..Default::default()
                };
                let _ = self.on_leader(region, req).await;
                return Err(e);
            }
            // From here the new replica may be a voter: the move is rolled forward.
            self.point_of_no_return();
            self.step(format!("region {region}: promoting the replica on node {to}")).await?;
            self.retry("promote", || async {
                let s = self.status(region).await?;
                let mut voters = voters_now(&s);
                voters.insert(new_replica);
                self.set_voters(region, voters).await
            })
            .await?;
        }
        if self.cluster.claimed_leader(region) == Some(from) {
            self.step(format!("region {region}: handing the leadership to node {to}")).await?;
            self.retry("transfer leader", || async {
                self.on_leader(
                    region,
                    pb::RegionOpRequest {
                        kind: Op::TransferLeader as i32,
                        replica_id: new_replica,
                        ..Default::default()
                    },
                )
                .await?;
                // Wait until someone else leads.
                tokio::time::sleep(Duration::from_millis(300)).await;
                let s = self.status_on(from, region).await;
                match s {
                    Ok(s) if s.is_leader => Err(StepError::Retry("still leading".into())),
                    _ => Ok(()),
                }
            })
            .await?;
        }
        self.step(format!("region {region}: removing the replica on node {from}")).await?;
        self.retry("remove", || async {
            let s = self.status(region).await?;
            let mut voters = voters_now(&s);
            if !voters.remove(&old_replica) && s.learners.iter().all(|l| *l != old_replica) {
                return Ok(());
            }
            self.set_voters(region, voters).await
        })
        .await?;
        let change = |map: &mut pb::ClusterMap| {
            let r = map
                .regions
                .iter_mut()
                .find(|r| r.region_id == region)
                .ok_or_else(|| OpError::NotFound("region".into()))?;
            if let Some(x) = r.replicas.iter_mut().find(|x| x.node_id == from) {
                *x = pb::MapReplica { replica_id: new_replica, node_id: to };
                r.epoch += 1;
            }
            Ok(())
        };
        if op.kind == Kind::Move as i32 {
            self.finish(change, None).await
        } else {
            self.retry("recording the move", || async { update_map(&self.meta, change).await.map_err(StepError::from) })
                .await
        }
    }

    async fn set_voters(&self, region: u64, voters: BTreeSet<u64>) -> Result<(), StepError> {
        let req = pb::RegionOpRequest {
            kind: Op::SetVoters as i32,
            voters: voters.into_iter().collect(),
            ..Default::default()
        };
        self.on_leader(region, req).await.map(|_| ())
    }

    /// Merges `op.source` into `op.region_id`: co-locate (move the source's replicas onto the
    /// target's nodes), freeze the source, wait until every source replica has applied the
    /// freeze, then commit the merge in the target; the map drops the source.
    async fn merge(&self, op: &pb::Operation) -> Result<(), StepError> {
        let (target, source) = (op.region_id, op.source);
        let map = self.map().ok_or(StepError::Deposed)?;
        let Some(src) = map.regions.iter().find(|r| r.region_id == source).cloned() else {
            // Merged before (a resumed operation).
            return self.finish(|_| Ok(()), None).await;
        };
        let (s_from, s_to) = (src.slot_from, src.slot_to);
        let merged = self.retry("status", || self.status(target)).await?.range.unwrap_or_default();
        if merged.slot_from <= s_from && merged.slot_to >= s_to {
            // The target took the slots before this leader took over: record it.
            self.point_of_no_return();
            return self.finish_merge(target, source).await;
        }
        let t_nodes: BTreeSet<u64> = self.replica_nodes(target).into_iter().collect();
        let s_nodes: BTreeSet<u64> = src.replicas.iter().map(|x| x.node_id).collect();
        let extra: Vec<u64> = s_nodes.difference(&t_nodes).copied().collect();
        let missing: Vec<u64> = t_nodes.difference(&s_nodes).copied().collect();
        if extra.len() != missing.len() {
            return Err(StepError::Fail(format!(
                "regions {target} and {source} have different numbers of replicas ({} and {})",
                t_nodes.len(),
                s_nodes.len()
            )));
        }
        for (&from, &to) in extra.iter().zip(&missing) {
            self.step(format!("moving region {source}'s replica from node {from} to node {to}")).await?;
            let (new_replica, to) = self.allocate_replica(source, from, to).await?;
            self.move_replica(op, source, from, to, new_replica).await?;
        }
        self.step(format!("freezing region {source}")).await?;
        // From here the source may be frozen: the merge is rolled forward.
        self.point_of_no_return();
        let (frozen_at, s_range) = self
            .retry("freeze", || async {
                let s = self.status(source).await?;
                let range = s.range.unwrap_or_default();
                let index =
                    self.propose(source, pb::command::Kind::Freeze, vec![range.epoch.to_string().into_bytes()]).await?;
                Ok((index, range))
            })
            .await?;
        self.step(format!("waiting for every replica of region {source} to apply index {frozen_at}")).await?;
        for n in self.replica_nodes(source) {
            self.retry("catch up", || async {
                let s = self.status_on(n, source).await?;
                if s.applied >= frozen_at {
                    Ok(())
                } else {
                    Err(StepError::Retry(format!("node {n} has applied {} of {frozen_at}", s.applied)))
                }
            })
            .await?;
        }
        self.step(format!("merging region {source} into region {target}")).await?;
        self.retry("merge", || async {
            let s = self.status(target).await?;
            let range = s.range.unwrap_or_default();
            if range.slot_from <= s_range.slot_from && range.slot_to >= s_range.slot_to {
                return Ok(()); // Done before.
            }
            let argv = [
                range.epoch,
                source,
                s_range.epoch,
                frozen_at,
                s_range.slot_from as u64,
                s_range.slot_to as u64,
                s_range.stamp_offset,
            ]
            .iter()
            .map(|v| v.to_string().into_bytes())
            .collect();
            self.propose(target, pb::command::Kind::Merge, argv).await.map(|_| ())
        })
        .await?;
        self.finish_merge(target, source).await
    }

    /// Ends a merge: the map drops the source and gives its slots to the target.
    async fn finish_merge(&self, target: u64, source: u64) -> Result<(), StepError> {
        self.finish(
            |map| {
                let Some(i) = map.regions.iter().position(|r| r.region_id == source) else { return Ok(()) };
                let s = map.regions.remove(i);
                let t = map
                    .regions
                    .iter_mut()
                    .find(|r| r.region_id == target)
                    .ok_or_else(|| OpError::NotFound("region".into()))?;
                t.slot_from = t.slot_from.min(s.slot_from);
                t.slot_to = t.slot_to.max(s.slot_to);
                t.epoch = t.epoch.max(s.epoch) + 1;
                Ok(())
            },
            None,
        )
        .await
    }

    /// Replica counts per node (of the nodes that take replicas).
    fn load(&self, map: &pb::ClusterMap) -> Vec<(u64, usize)> {
        let mut out: Vec<(u64, usize)> = map
            .nodes
            .iter()
            .filter(|n| !map.removing.contains(&n.node_id))
            .map(|n| {
                (n.node_id, map.regions.iter().filter(|r| r.replicas.iter().any(|x| x.node_id == n.node_id)).count())
            })
            .collect();
        out.sort_by_key(|&(n, c)| (c, n));
        out
    }

    /// Moves replicas onto `op.to_node` until it holds its share.
    async fn add_node(&self, op: &pb::Operation) -> Result<(), StepError> {
        let to = op.to_node;
        loop {
            let map = self.map().ok_or(StepError::Deposed)?;
            let load = self.load(&map);
            let total: usize = load.iter().map(|(_, c)| c).sum();
            let share = total / load.len().max(1);
            let mine = load.iter().find(|(n, _)| *n == to).map_or(0, |(_, c)| *c);
            // The busiest node with a region not already on `to`.
            let candidate =
                load.iter().rev().filter(|(n, c)| *n != to && *c > share && mine < share).find_map(|(n, _)| {
                    map.regions
                        .iter()
                        .find(|r| {
                            r.replicas.iter().any(|x| x.node_id == *n) && !r.replicas.iter().any(|x| x.node_id == to)
                        })
                        .map(|r| (r.region_id, *n))
                });
            let Some((region, from)) = candidate else { break };
            let (new_replica, to) = self.allocate_replica(region, from, to).await?;
            self.move_replica(op, region, from, to, new_replica).await?;
        }
        self.finish(|_| Ok(()), None).await
    }

    /// Moves every replica off `op.from_node`, then removes it from the map.
    async fn remove_node(&self, op: &pb::Operation) -> Result<(), StepError> {
        let gone = op.from_node;
        let mut waiting = false;
        loop {
            let map = self.map().ok_or(StepError::Deposed)?;
            let on_gone: Vec<&pb::MapRegion> =
                map.regions.iter().filter(|r| r.replicas.iter().any(|x| x.node_id == gone)).collect();
            if on_gone.is_empty() {
                break;
            }
            // Regions busy with another operation wait for it.
            let idle = on_gone.iter().find(|r| busy_with(&map, r.region_id).is_none_or(|o| o.id == self.id));
            let Some(r) = idle.cloned().cloned() else {
                if !waiting {
                    waiting = true;
                    self.step(format!("waiting for other operations on node {gone}'s regions")).await?;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            waiting = false;
            let target = self
                .load(&map)
                .into_iter()
                .map(|(n, _)| n)
                .find(|n| *n != gone && !r.replicas.iter().any(|x| x.node_id == *n));
            let Some(to) = target else {
                return Err(StepError::Fail(format!(
                    "no node can take region {}'s replica from node {gone}",
                    r.region_id
                )));
            };
            let (new_replica, to) = self.allocate_replica(r.region_id, gone, to).await?;
            self.move_replica(op, r.region_id, gone, to, new_replica).await?;
        }
        self.step(format!("removing node {gone} from the cluster")).await?;
        let meta = self.meta.clone();
        let m = openraft::async_runtime::watch::WatchReceiver::borrow_watched(&meta.raft.metrics()).clone();
        if m.membership_config.membership().get_node(&gone).is_some() {
            let change = openraft::ChangeMembers::RemoveNodes([gone].into_iter().collect());
            meta.raft
                .change_membership(change, false)
                .await
                .map_err(|e| StepError::Fail(format!("meta group: {e}")))?;
        }
        self.finish(
            |map| {
                map.nodes.retain(|n| n.node_id != gone);
                map.removing.retain(|n| *n != gone);
                Ok(())
            },
            None,
        )
        .await
    }

    /// The replica a move inside a merge or node operation creates: a new id recorded on the
    /// operation (so the target node creates the replica), or, when the operation was already
    /// moving this region's replica from `from` (resumed after a meta leader change), the one
    /// it had. Returns (replica id, target node).
    async fn allocate_replica(&self, region: u64, from: u64, to: u64) -> Result<(u64, u64), StepError> {
        let id = self.id;
        Ok(update_map(&self.meta, |map| {
            let next = map.next_replica_id;
            let o = map.ops.iter_mut().find(|o| o.id == id).ok_or_else(|| OpError::NotFound("no operation".into()))?;
            if o.moving_region == region && o.from_node == from && o.new_replica_id != 0 {
                return Ok((o.new_replica_id, o.to_node));
            }
            (o.new_replica_id, o.to_node, o.moving_region, o.from_node) = (next, to, region, from);
            map.next_replica_id += 1;
            Ok((next, to))
        })
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> pb::ClusterMap {
        let voters: Vec<(u64, String)> = (1..=3).map(|i| (i, format!("h:{i}"))).collect();
        let mut m = crate::cluster::initial_map(&voters, 3);
        m.nodes.push(pb::MapNode { node_id: 4, grpc_addr: "h:4".into(), ..Default::default() });
        m
    }

    fn voters() -> Vec<(u64, String)> {
        (1..=3).map(|i| (i, format!("h:{i}"))).collect()
    }

    #[test]
    fn a_split_allocates_the_new_region_and_one_replica_per_parent_replica() {
        let mut m = map();
        let (next_region, next_replica) = (m.next_region_id, m.next_replica_id);
        let op = plan(&mut m, &OpRequest::Split { region: 1, at: 100 }, &voters()).unwrap();
        assert_eq!((op.new_region, op.at_slot, op.region_id), (next_region, 100, 1));
        let nodes: Vec<u64> = op.new_replicas.iter().map(|x| x.node_id).collect();
        assert_eq!(nodes, m.regions[0].replicas.iter().map(|x| x.node_id).collect::<Vec<_>>());
        assert_eq!(op.new_replicas[0].replica_id, next_replica);
        assert_eq!((m.next_region_id, m.next_replica_id), (next_region + 1, next_replica + 3));
        assert!(is_running(&m.ops[0]) && m.next_op_id == op.id + 1);
    }

    #[test]
    fn one_operation_per_region_including_the_region_a_node_operation_moves() {
        let mut m = map();
        let split = plan(&mut m, &OpRequest::Split { region: 1, at: 100 }, &voters()).unwrap();
        let e = plan(&mut m, &OpRequest::Move { region: 1, from: 1, to: 4 }, &voters()).unwrap_err();
        assert_eq!((e.status(), e.to_string()), (409, format!("region 1 is busy with operation {}", split.id)));
        // A merge whose source is busy is refused too.
        let e = plan(&mut m, &OpRequest::Merge { left: 1, right: 2 }, &voters()).unwrap_err();
        assert_eq!(e.status(), 409);
        // A node operation moving region 2 makes it busy for region operations.
        let remove = plan(&mut m, &OpRequest::RemoveNode { node: 4 }, &voters()).unwrap();
        m.ops.iter_mut().find(|o| o.id == remove.id).unwrap().moving_region = 2;
        let e = plan(&mut m, &OpRequest::Split { region: 2, at: 6000 }, &voters()).unwrap_err();
        assert_eq!(e.status(), 409);
        assert!(plan(&mut m, &OpRequest::Split { region: 3, at: 12000 }, &voters()).is_ok());
    }

    #[test]
    fn bad_requests_change_nothing() {
        let m0 = map();
        for (req, status) in [
            (OpRequest::Split { region: 1, at: 0 }, 400),
            (OpRequest::Split { region: 1, at: 5461 }, 400),
            (OpRequest::Split { region: 9, at: 5 }, 404),
            (OpRequest::Merge { left: 1, right: 3 }, 400),
            (OpRequest::Merge { left: 2, right: 1 }, 400),
            (OpRequest::Move { region: 1, from: 1, to: 2 }, 400),
            (OpRequest::Move { region: 1, from: 4, to: 2 }, 400),
            (OpRequest::Move { region: 1, from: 1, to: 9 }, 404),
            (OpRequest::RemoveNode { node: 1 }, 400),
            (OpRequest::AddNode { node: 9 }, 404),
        ] {
            let mut m = m0.clone();
            let e = plan(&mut m, &req, &voters()).unwrap_err();
            assert_eq!(e.status(), status, "{req:?}: {e}");
            assert_eq!(m, m0, "{req:?} changed the map");
        }
    }

    #[test]
    fn only_the_last_finished_operations_are_kept() {
        let mut m = map();
        for i in 0..(KEEP_FINISHED + 5) {
            let op = plan(&mut m, &OpRequest::AddNode { node: 4 }, &voters()).unwrap();
            m.ops.iter_mut().find(|o| o.id == op.id).unwrap().state = State::Done as i32;
            assert_eq!(op.id, i as u64 + 1);
        }
        let running = plan(&mut m, &OpRequest::Split { region: 1, at: 100 }, &voters()).unwrap();
        assert_eq!(m.ops.len(), KEEP_FINISHED + 1);
        assert!(m.ops.iter().any(|o| o.id == running.id));
        assert_eq!(m.ops.iter().filter(|o| !is_running(o)).map(|o| o.id).min(), Some(6));
    }
}
