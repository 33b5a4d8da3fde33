//! The cluster transport of Raft: every node serves one gRPC service, `RaftTransport`, for all
//! the regions it hosts (each request names its region), and talks to each peer over one
//! lazily-connected channel shared by all regions.
//!
//! Messages are the prost types of `raft.proto` (see `convert.rs`); nothing between nodes is
//! serialized with serde.
//!
//! Errors, as openraft sees them on the sending side: a deadline that expired is
//! `RPCError::Network` (retried soon); anything else (no connection, the region not hosted by the
//! peer, the peer's Raft stopped, an undecodable answer) is `RPCError::Unreachable`, after which
//! openraft backs off. The receiving side answers `not_found` for a region it does not host,
//! `invalid_argument` for a message it cannot decode and `unavailable` when the region's Raft has
//! stopped.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use openraft::error::{
    LinearizableReadError, NetworkError, RPCError, RaftError, ReplicationClosed, StreamingError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest, TransferLeaderResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, OptionalSend, RaftNetworkV2, ReadPolicy};
use prost::Message;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Response, Status, Streaming};

use super::auth::{PeerAuth, Stamp};
use super::pb::admin_client::AdminClient;
use super::pb::admin_server::{Admin, AdminServer};
use super::pb::raft_transport_client::RaftTransportClient;
use super::pb::raft_transport_server::{RaftTransport, RaftTransportServer};
use super::{convert, pb, Raft, TypeConfig, Vote};
use crate::raft::convert::DecodeError;
use crate::store::sm::Snapshot;

/// Pairs per InstallSnapshot chunk are cut at about this many bytes (a single bigger pair goes
/// alone in its chunk). Also the unit of the size-scaled deadlines: `hard_ttl` per MiB.
const CHUNK_BYTES: usize = 1 << 20;
/// Deadline of the NodeInfo and ReadIndex calls.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// No gRPC message size limit: an AppendEntries carries whole entries, whose size the RESP
/// limits (`proto-max-bulk-len`, `client-query-buffer-limit`) already bound.
const MAX_MESSAGE: usize = usize::MAX;

// ---- Receiving side -------------------------------------------------------------------------

/// Raft handles of the regions this node hosts, and what this node tells peers about itself.
pub struct Registry {
    info: pb::NodeInfo,
    regions: RwLock<HashMap<u64, Raft>>,
    /// Serves region operation steps and forwarded admin calls (the node); unset: refused.
    lifecycle: std::sync::OnceLock<std::sync::Weak<dyn Lifecycle>>,
    /// Where Join requests go (the cluster's meta side); unset: joins are refused.
    joins: std::sync::OnceLock<tokio::sync::mpsc::Sender<JoinCall>>,
    /// While the data dir is low on space, replication into this node is refused (the leader
    /// retries it) rather than failing a log write, which would stop the region for good.
    disk: std::sync::OnceLock<Arc<crate::store::disk::DiskGuard>>,
}

/// A Join request and where its answer goes.
pub type JoinCall = (pb::NodeInfo, tokio::sync::oneshot::Sender<Result<(), Status>>);

impl Registry {
    pub fn new(info: pb::NodeInfo) -> Arc<Registry> {
        Arc::new(Registry {
            info,
            regions: RwLock::default(),
            lifecycle: Default::default(),
            joins: Default::default(),
            disk: Default::default(),
        })
    }

    pub fn guard_disk(&self, disk: Arc<crate::store::disk::DiskGuard>) {
        let _ = self.disk.set(disk);
    }

    /// Refuses an RPC that writes log entries or a snapshot while the disk is low.
    fn check_disk(&self) -> Result<(), Status> {
        match self.disk.get().and_then(|d| d.low()) {
            Some((free, reserve)) => Err(Status::resource_exhausted(format!(
                "disk space low: {free} bytes free, reserve-disk-space is {reserve}"
            ))),
            None => Ok(()),
        }
    }

    /// Routes Join requests to `to`.
    pub fn handle_lifecycle(&self, to: std::sync::Weak<dyn Lifecycle>) {
        let _ = self.lifecycle.set(to);
    }

    fn lifecycle(&self) -> Result<Arc<dyn Lifecycle>, Status> {
        self.lifecycle.get().and_then(|w| w.upgrade()).ok_or_else(|| Status::unavailable("this node is not ready"))
    }

    pub fn handle_joins(&self, to: tokio::sync::mpsc::Sender<JoinCall>) {
        let _ = self.joins.set(to);
    }

    /// What this node answers to NodeInfo: who it is and which regions it leads (region 0,
    /// the meta group, included).
    pub fn info(&self) -> pb::NodeInfo {
        use openraft::async_runtime::watch::WatchReceiver;
        let regions = self.regions.read().expect("registry lock");
        let leads = regions
            .iter()
            .filter(|(_, raft)| raft.is_leader())
            .map(|(id, raft)| pb::RegionLead { region_id: *id, term: raft.metrics().borrow_watched().current_term })
            .collect();
        pb::NodeInfo { leads, ..self.info.clone() }
    }

    pub fn insert(&self, region: u64, raft: Raft) {
        self.regions.write().expect("registry lock").insert(region, raft);
    }

    #[cfg_attr(not(test), allow(dead_code))] // regions leave a node with region moves
    pub fn remove(&self, region: u64) {
        self.regions.write().expect("registry lock").remove(&region);
    }

    fn get(&self, region: u64) -> Result<Raft, Status> {
        let regions = self.regions.read().expect("registry lock");
        regions.get(&region).cloned().ok_or_else(|| Status::not_found(format!("region {region} is not hosted here")))
    }
}

/// What the node serves besides Raft traffic: the steps of region operations, and admin
/// calls forwarded by other nodes.
#[tonic::async_trait]
pub trait Lifecycle: Send + Sync {
    async fn region_op(&self, req: pb::RegionOpRequest) -> Result<pb::RegionOpResponse, Status>;
    async fn admin_call(&self, req: pb::AdminCallRequest) -> pb::AdminCallResponse;
}

/// Serves the RaftTransport service on `listener` until `shutdown` resolves: over TLS with
/// `auth.tls`, and only to requests carrying the cluster secret when one is set.
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: Arc<Registry>,
    auth: &PeerAuth,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let service = RaftTransportServer::new(Transport(registry.clone()))
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let service = InterceptedService::new(service, auth.check());
    let admin = InterceptedService::new(AdminServer::new(AdminService(registry.clone())), auth.check());
    let mut server = Server::builder();
    if let Some(tls) = &auth.tls {
        server = server.tls_config(tls.server.clone())?;
    }
    server
        .http2_adaptive_window(Some(true))
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .add_service(service)
        .add_service(admin)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), shutdown)
        .await?;
    Ok(())
}

struct Transport(Arc<Registry>);

struct AdminService(Arc<Registry>);

#[tonic::async_trait]
impl Admin for AdminService {
    async fn call(&self, req: Request<pb::AdminCallRequest>) -> Result<Response<pb::AdminCallResponse>, Status> {
        Ok(Response::new(self.0.lifecycle()?.admin_call(req.into_inner()).await))
    }
}

fn bad_request(e: DecodeError) -> Status {
    Status::invalid_argument(e.to_string())
}

/// The region's Raft failed to serve (it stopped, or a storage error stopped it).
fn stopped(e: impl std::fmt::Display) -> Status {
    Status::unavailable(format!("raft: {e}"))
}

#[tonic::async_trait]
impl RaftTransport for Transport {
    async fn append_entries(&self, req: Request<pb::AppendRequest>) -> Result<Response<pb::AppendResponse>, Status> {
        let req = req.into_inner();
        let raft = self.0.get(req.region_id)?;
        if !req.entries.is_empty() {
            self.0.check_disk()?;
        }
        let rpc = convert::append_request_from_pb(req).map_err(bad_request)?;
        let resp = raft.append_entries(rpc).await.map_err(stopped)?;
        Ok(Response::new(convert::append_response_to_pb(&resp)))
    }

    async fn vote(&self, req: Request<pb::VoteRequest>) -> Result<Response<pb::VoteResponse>, Status> {
        let req = req.into_inner();
        let raft = self.0.get(req.region_id)?;
        let rpc = convert::vote_request_from_pb(&req).map_err(bad_request)?;
        let resp = raft.vote(rpc).await.map_err(stopped)?;
        Ok(Response::new(convert::vote_response_to_pb(&resp)))
    }

    async fn pre_vote(&self, req: Request<pb::VoteRequest>) -> Result<Response<pb::VoteResponse>, Status> {
        let req = req.into_inner();
        let raft = self.0.get(req.region_id)?;
        let rpc = convert::vote_request_from_pb(&req).map_err(bad_request)?;
        let resp = raft.pre_vote(rpc).await.map_err(stopped)?;
        Ok(Response::new(convert::vote_response_to_pb(&resp)))
    }

    /// Assembles the chunks (framing: see `snapshot_chunks`) and installs the snapshot once the
    /// last one arrived; a stream that ends before it installs nothing.
    async fn install_snapshot(
        &self,
        req: Request<Streaming<pb::SnapshotChunk>>,
    ) -> Result<Response<pb::SnapshotResponse>, Status> {
        self.0.check_disk()?;
        let mut chunks = req.into_inner();
        let first = chunks.message().await?.ok_or_else(|| Status::invalid_argument("empty snapshot stream"))?;
        let raft = self.0.get(first.region_id)?;
        let vote = convert::vote_from_pb(first.vote.as_ref().ok_or_else(|| Status::invalid_argument("no vote"))?)
            .map_err(bad_request)?;
        let meta = first.meta.as_ref().ok_or_else(|| Status::invalid_argument("no snapshot meta"))?;
        let meta = convert::snapshot_meta_from_pb(meta).map_err(bad_request)?;
        let (mut pairs, mut done) = (first.pairs, first.done);
        while !done {
            let chunk = chunks.message().await?.ok_or_else(|| Status::aborted("snapshot stream ended early"))?;
            pairs.extend(chunk.pairs);
            done = chunk.done;
        }
        let snapshot = Snapshot { meta, snapshot: pb::SnapshotData { pairs } };
        let resp = raft.install_full_snapshot(vote, snapshot).await.map_err(stopped)?;
        Ok(Response::new(pb::SnapshotResponse { vote: Some(convert::vote_to_pb(&resp.vote)) }))
    }

    async fn transfer_leader(
        &self,
        req: Request<pb::TransferLeaderRequest>,
    ) -> Result<Response<pb::TransferLeaderResponse>, Status> {
        let req = req.into_inner();
        let raft = self.0.get(req.region_id)?;
        let rpc = convert::transfer_leader_request_from_pb(&req).map_err(bad_request)?;
        let resp = raft.handle_transfer_leader(rpc).await.map_err(stopped)?;
        Ok(Response::new(convert::transfer_leader_response_to_pb(&resp)))
    }

    async fn node_info(&self, _req: Request<pb::NodeInfoRequest>) -> Result<Response<pb::NodeInfo>, Status> {
        Ok(Response::new(self.0.info()))
    }

    async fn join(&self, req: Request<pb::JoinRequest>) -> Result<Response<pb::JoinResponse>, Status> {
        let node = convert::join_request_from_pb(req.into_inner()).map_err(bad_request)?;
        let joins = self.0.joins.get().ok_or_else(|| Status::unavailable("this node takes no joins yet"))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        joins.send((node, tx)).await.map_err(|_| Status::unavailable("shutting down"))?;
        rx.await.map_err(|_| Status::unavailable("shutting down"))??;
        Ok(Response::new(pb::JoinResponse {}))
    }

    async fn region_op(&self, req: Request<pb::RegionOpRequest>) -> Result<Response<pb::RegionOpResponse>, Status> {
        Ok(Response::new(self.0.lifecycle()?.region_op(req.into_inner()).await?))
    }

    /// Not the leader: `failed_precondition` naming the leader if known; no quorum or stopped:
    /// `unavailable`.
    async fn read_index(&self, req: Request<pb::ReadIndexRequest>) -> Result<Response<pb::ReadIndexResponse>, Status> {
        let region = req.into_inner().region_id;
        let raft = self.0.get(region)?;
        match raft.get_read_log_id(ReadPolicy::ReadIndex).await {
            Ok((read, _)) => Ok(Response::new(pb::ReadIndexResponse { index: read.index() })),
            Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(f))) => {
                let addr = f.leader_node.map(|n| n.addr);
                Err(Status::failed_precondition(format!(
                    "not the leader of region {region}; leader: {:?} at {:?}",
                    f.leader_id, addr
                )))
            }
            Err(RaftError::APIError(e)) => Err(Status::unavailable(e.to_string())),
            Err(RaftError::Fatal(e)) => Err(stopped(e)),
        }
    }
}

// ---- Sending side ---------------------------------------------------------------------------

/// One lazily-connected tonic Channel per peer address, shared by all regions; every request
/// carries the cluster secret, over TLS with `tls-cluster`.
pub struct Channels {
    by_addr: Mutex<HashMap<String, Channel>>,
    auth: PeerAuth,
}

type Client = RaftTransportClient<InterceptedService<Channel, Stamp>>;

impl Channels {
    pub fn new(auth: PeerAuth) -> Arc<Channels> {
        Arc::new(Channels { by_addr: Mutex::default(), auth })
    }

    fn client(&self, addr: &str) -> Result<Client, Status> {
        Ok(RaftTransportClient::with_interceptor(self.channel(addr)?, self.auth.stamp())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE))
    }

    /// The channel to `addr` ("host:port"), created on first use. It connects on its first
    /// request and reconnects after a failure.
    fn channel(&self, addr: &str) -> Result<Channel, Status> {
        let mut by_addr = self.by_addr.lock().expect("channels lock");
        let channel = match by_addr.get(addr) {
            Some(c) => c.clone(),
            None => {
                let scheme = if self.auth.tls.is_some() { "https" } else { "http" };
                let bad = |e: tonic::transport::Error| Status::invalid_argument(format!("peer address {addr:?}: {e}"));
                let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}")).map_err(bad)?;
                if let Some(tls) = &self.auth.tls {
                    endpoint = endpoint.tls_config(tls.client.clone()).map_err(bad)?;
                }
                let channel = endpoint
                    .tcp_nodelay(true)
                    .connect_timeout(CONNECT_TIMEOUT)
                    .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
                    .keep_alive_timeout(KEEPALIVE_TIMEOUT)
                    .keep_alive_while_idle(true)
                    .http2_adaptive_window(true)
                    .connect_lazy();
                by_addr.insert(addr.to_string(), channel.clone());
                channel
            }
        };
        Ok(channel)
    }
}

fn with_deadline<T>(msg: T, deadline: Duration) -> Request<T> {
    let mut req = Request::new(msg);
    req.set_timeout(deadline);
    req
}

/// Asks the node at `addr` who it is.
pub async fn node_info(channels: &Channels, addr: &str) -> Result<pb::NodeInfo, Status> {
    let mut client = channels.client(addr)?;
    Ok(client.node_info(with_deadline(pb::NodeInfoRequest {}, QUERY_TIMEOUT)).await?.into_inner())
}

/// Asks the node at `addr` to let `me` join the cluster.
pub async fn join(channels: &Channels, addr: &str, me: pb::NodeInfo) -> Result<(), Status> {
    let mut client = channels.client(addr)?;
    client.join(with_deadline(pb::JoinRequest { node: Some(me) }, QUERY_TIMEOUT)).await?;
    Ok(())
}

/// Asks the leader at `addr` for a linearizable read point of `region` (openraft
/// `get_read_log_id` on the leader): returns the read log index; a follower then waits until it
/// has applied that index before reading locally. Errors: see `RaftTransport::read_index`.
pub async fn read_index(channels: &Channels, addr: &str, region: u64) -> Result<u64, Status> {
    let mut client = channels.client(addr)?;
    let req = with_deadline(pb::ReadIndexRequest { region_id: region }, QUERY_TIMEOUT);
    Ok(client.read_index(req).await?.into_inner().index)
}

/// Runs a region operation step on the node at `addr` (see `RegionOpRequest`), waiting up to
/// `deadline` (adding a learner waits for its catch-up).
pub async fn region_op(
    channels: &Channels,
    addr: &str,
    req: pb::RegionOpRequest,
    deadline: Duration,
) -> Result<pb::RegionOpResponse, Status> {
    let mut client = channels.client(addr)?;
    Ok(client.region_op(with_deadline(req, deadline)).await?.into_inner())
}

/// Sends an admin HTTP request to the node at `addr` (the meta leader, or a region's leader).
pub async fn admin_call(
    channels: &Channels,
    addr: &str,
    req: pb::AdminCallRequest,
) -> Result<pb::AdminCallResponse, Status> {
    let mut client = AdminClient::with_interceptor(channels.channel(addr)?, channels.auth.stamp());
    Ok(client.call(with_deadline(req, Duration::from_secs(30))).await?.into_inner())
}

/// Where this node reaches a replica: replica id -> "host:port" of its node's gRPC server, as
/// THIS node knows it (its own `--cluster` list, else the address the node announced in the
/// cluster map), not as the membership recorded it: each node may reach a peer at a different
/// address (NAT, or a proxy per link in the fault tests).
pub type Resolve = Arc<dyn Fn(u64) -> Option<String> + Send + Sync>;

/// The openraft network factory of one region: `new_client(target, node)` dials the address
/// `resolve` gives for `target` (else the membership's `node.addr`) over the shared channel for
/// it; every request carries the region id.
#[derive(Clone)]
pub struct GrpcNetwork {
    region: u64,
    channels: Arc<Channels>,
    resolve: Option<Resolve>,
}

impl GrpcNetwork {
    pub fn new(region: u64, channels: Arc<Channels>, resolve: Option<Resolve>) -> GrpcNetwork {
        GrpcNetwork { region, channels, resolve }
    }
}

impl RaftNetworkFactory<TypeConfig> for GrpcNetwork {
    type Network = GrpcPeer;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> GrpcPeer {
        let addr = self.resolve.as_ref().and_then(|r| r(target)).unwrap_or_else(|| node.addr.clone());
        GrpcPeer { region: self.region, client: self.channels.client(&addr).map_err(|s| s.message().to_string()) }
    }
}

/// One region's connection to one peer. An unusable address fails every RPC as Unreachable.
pub struct GrpcPeer {
    region: u64,
    client: Result<Client, String>,
}

impl GrpcPeer {
    fn client(&self) -> Result<Client, RPCError<TypeConfig>> {
        self.client.clone().map_err(|e| RPCError::Unreachable(Unreachable::from_string(e)))
    }
}

fn rpc_error(s: Status) -> RPCError<TypeConfig> {
    match s.code() {
        // tonic reports its own client-side deadline as Cancelled.
        Code::DeadlineExceeded | Code::Cancelled => RPCError::Network(NetworkError::new(&s)),
        _ => RPCError::Unreachable(Unreachable::new(&s)),
    }
}

fn undecodable(e: DecodeError) -> RPCError<TypeConfig> {
    RPCError::Unreachable(Unreachable::new(&e))
}

/// InstallSnapshot framing: the first chunk carries the region, the vote and the meta and no
/// pairs; then chunks of pairs of at most about `CHUNK_BYTES` each (in snapshot order); the last
/// chunk (possibly without pairs) has `done` set.
fn snapshot_chunks(region: u64, vote: &Vote, snapshot: Snapshot) -> Vec<pb::SnapshotChunk> {
    let mut chunks = vec![pb::SnapshotChunk {
        region_id: region,
        vote: Some(convert::vote_to_pb(vote)),
        meta: Some(convert::snapshot_meta_to_pb(&snapshot.meta)),
        ..Default::default()
    }];
    let (mut pairs, mut bytes) = (Vec::new(), 0);
    for kv in snapshot.snapshot.pairs {
        let size = kv.key.len() + kv.value.len() + 8;
        if !pairs.is_empty() && bytes + size > CHUNK_BYTES {
            chunks.push(pb::SnapshotChunk { pairs: std::mem::take(&mut pairs), ..Default::default() });
            bytes = 0;
        }
        bytes += size;
        pairs.push(kv);
    }
    chunks.push(pb::SnapshotChunk { pairs, done: true, ..Default::default() });
    chunks
}

impl RaftNetworkV2<TypeConfig> for GrpcPeer {
    type SnapshotData = pb::SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        let req = convert::append_request_to_pb(self.region, rpc);
        // `hard_ttl` (openraft passes the heartbeat interval) per started MiB: a heartbeat or a
        // small batch gets exactly `hard_ttl`, and a batch holding a big value gets time to
        // cross the wire and be flushed instead of timing out on every retry.
        let per_mib = 1 + req.encoded_len() / CHUNK_BYTES;
        let req = with_deadline(req, option.hard_ttl().saturating_mul(per_mib as u32));
        let resp = self.client()?.append_entries(req).await.map_err(rpc_error)?;
        convert::append_response_from_pb(&resp.into_inner()).map_err(undecodable)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        let req = with_deadline(convert::vote_request_to_pb(self.region, &rpc, false), option.hard_ttl());
        let resp = self.client()?.vote(req).await.map_err(rpc_error)?;
        convert::vote_response_from_pb(&resp.into_inner()).map_err(undecodable)
    }

    /// Asks the peer whether it would grant the vote, without it changing its own state.
    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        let req = with_deadline(convert::vote_request_to_pb(self.region, &rpc, true), option.hard_ttl());
        let resp = self.client()?.pre_vote(req).await.map_err(rpc_error)?;
        convert::vote_response_from_pb(&resp.into_inner()).map_err(undecodable)
    }

    /// Streams the snapshot in chunks (see `snapshot_chunks`). The peer answers once it has
    /// installed the whole snapshot, so the deadline is `hard_ttl` (openraft's
    /// `install_snapshot_timeout`) per chunk of about 1 MiB rather than for the whole call, as
    /// for a big AppendEntries.
    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let mut client = self.client()?;
        let chunks = snapshot_chunks(self.region, &vote, snapshot);
        let deadline = option.hard_ttl().saturating_mul(chunks.len() as u32);
        let req = with_deadline(futures::stream::iter(chunks), deadline);
        tokio::select! {
            resp = client.install_snapshot(req) => {
                let resp = resp.map_err(rpc_error)?.into_inner();
                Ok(convert::snapshot_response_from_pb(&resp).map_err(undecodable)?)
            }
            closed = cancel => Err(StreamingError::Closed(closed)),
        }
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        let req = with_deadline(convert::transfer_leader_request_to_pb(self.region, &req), option.hard_ttl());
        let resp = self.client()?.transfer_leader(req).await.map_err(rpc_error)?;
        convert::transfer_leader_response_from_pb(&resp.into_inner()).map_err(undecodable)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Instant;

    use bytes::Bytes;
    use openraft::async_runtime::watch::WatchReceiver;
    use openraft::error::ClientWriteError;
    use openraft::{Config, ServerState, SnapshotPolicy};
    use tokio::net::TcpListener;
    use tokio::sync::oneshot;

    use super::*;
    use crate::raft::region::raft_config;
    use crate::raft::Proposal;
    use crate::store::keys::SLOTS;
    use crate::store::log::LogStore;
    use crate::store::read::ReadCtx;
    use crate::store::sm::{self, StateMachine};
    use crate::store::Engine;

    const REGION: u64 = 7;
    const ALL: (u16, u32) = (0, SLOTS as u32);
    /// The clock of every test entry, and of the reads.
    const NOW: u64 = 1_000;
    const DEADLINE: Duration = Duration::from_secs(60);

    fn cmd(args: &[&str]) -> pb::Command {
        pb::Command { kind: 0, argv: args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect() }
    }

    /// Proposes one entry on the current leader of `nodes`, again while leadership moves (the
    /// test writes are idempotent); returns its log index.
    async fn write(nodes: &[&Node], commands: Vec<pb::Command>) -> u64 {
        let start = Instant::now();
        loop {
            assert!(start.elapsed() < DEADLINE, "no leader took the write");
            if let Some(id) = leader_of(nodes) {
                let raft = &nodes.iter().find(|n| n.id == id).unwrap().raft;
                let batch = pb::WriteBatch { now_ms: NOW, commands: commands.clone() };
                match raft.client_write(Proposal(batch)).await {
                    Ok(resp) => return resp.log_id.index(),
                    Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                        eprintln!("write on {id}: leadership moved: {f}")
                    }
                    Err(e) => panic!("write on {id}: {e}"),
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls `cond` every 20 ms until it holds; returns how long that took.
    async fn eventually(what: &str, mut cond: impl FnMut() -> bool) -> Duration {
        let start = Instant::now();
        while !cond() {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        start.elapsed()
    }

    fn get(engine: &Engine, key: &str) -> Option<Vec<u8>> {
        ReadCtx::new(engine, NOW, false).get(key.as_bytes()).unwrap().map(|v| v.body.to_vec())
    }

    fn metrics(raft: &Raft) -> openraft::RaftMetrics<TypeConfig> {
        raft.metrics().borrow_watched().clone()
    }

    /// A node's listener, bound before any node starts so every membership knows every address.
    struct Addr {
        listener: TcpListener,
        addr: String,
    }

    async fn bind() -> Addr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        Addr { listener, addr }
    }

    struct Node {
        id: u64,
        addr: String,
        engine: Arc<Engine>,
        raft: Raft,
        channels: Arc<Channels>,
        registry: Arc<Registry>,
        stop: Option<oneshot::Sender<()>>,
        server: tokio::task::JoinHandle<anyhow::Result<()>>,
        _dir: tempfile::TempDir,
        /// The state machine's applied preferred leader.
        preferred: Arc<std::sync::atomic::AtomicU64>,
    }

    impl Node {
        async fn start(id: u64, at: Addr, config: &Arc<Config>) -> Node {
            let dir = tempfile::tempdir().unwrap();
            let engine = Engine::open(dir.path()).unwrap();
            let info = pb::NodeInfo { node_id: id, grpc_addr: at.addr.clone(), ..Default::default() };
            let registry = Registry::new(info);
            let registry_for_server = registry.clone();
            let (stop, stopped) = oneshot::channel::<()>();
            let auth = PeerAuth::default();
            let server = tokio::spawn(async move {
                serve(at.listener, registry_for_server, &auth, async move {
                    let _ = stopped.await;
                })
                .await
            });
            let channels = Channels::new(PeerAuth::default());
            let network = GrpcNetwork::new(REGION, channels.clone(), None);
            let log = LogStore::new(engine.clone(), REGION);
            let sm = StateMachine::open(engine.clone(), REGION, ALL).unwrap();
            let preferred = sm.preferred_leader();
            let raft = Raft::new(id, config.clone(), network, log, sm).await.unwrap();
            registry.insert(REGION, raft.clone());
            Node { id, addr: at.addr, engine, raft, channels, registry, stop: Some(stop), server, _dir: dir, preferred }
        }

        async fn stop(mut self) {
            let _ = self.raft.shutdown().await;
            let _ = self.stop.take().unwrap().send(());
            self.server.await.unwrap().unwrap();
        }
    }

    fn members(addrs: &[&Addr]) -> BTreeMap<u64, BasicNode> {
        addrs.iter().enumerate().map(|(i, a)| (i as u64 + 1, BasicNode { addr: a.addr.clone() })).collect()
    }

    fn leader_of(nodes: &[&Node]) -> Option<u64> {
        nodes.iter().find(|n| metrics(&n.raft).state == ServerState::Leader).map(|n| n.id)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn three_nodes_replicate_and_elect_a_new_leader() {
        let config = Arc::new(raft_config().validate().unwrap());
        let addrs = [bind().await, bind().await, bind().await];
        let membership = members(&addrs.iter().collect::<Vec<_>>());
        let mut nodes = Vec::new();
        for (i, a) in addrs.into_iter().enumerate() {
            nodes.push(Node::start(i as u64 + 1, a, &config).await);
        }
        nodes[0].raft.initialize(membership).await.unwrap();
        let all: Vec<&Node> = nodes.iter().collect();
        let mut last = 0;
        for i in 0..20 {
            let (k, v) = (format!("k{i}"), format!("v{i}"));
            last = write(&all, vec![cmd(&["SET", &k, &v]), cmd(&["HSET", "h", &k, &v])]).await;
        }
        for n in &nodes {
            eventually("every node applies the writes", || {
                metrics(&n.raft).last_applied.is_some_and(|l| l.index() >= last)
            })
            .await;
            for i in 0..20 {
                assert_eq!(get(&n.engine, &format!("k{i}")), Some(format!("v{i}").into_bytes()), "node {}", n.id);
            }
            assert_eq!(n.engine.counts.total(ALL.0, ALL.1), (21, 0), "node {}", n.id);
        }

        // A follower's read goes through the leader's read index.
        eventually("a leader", || leader_of(&all).is_some()).await;
        let leader = &nodes[leader_of(&all).unwrap() as usize - 1];
        let follower = nodes.iter().find(|n| n.id != leader.id).unwrap();
        let index = read_index(&follower.channels, &leader.addr, REGION).await.unwrap();
        assert!(index >= last, "read index {index} < last write {last}");
        let refused = read_index(&leader.channels, &follower.addr, REGION).await.unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused}");

        // Leadership moves on request (TransferLeader RPC, then a leadership-transfer vote).
        let target = follower.id;
        leader.raft.trigger().transfer_leader(target).await.unwrap();
        let took = eventually("the transfer", || leader_of(&all) == Some(target)).await;
        eprintln!("leader transfer {} -> {target}: {took:?}", leader.id);

        // The leader stops: the others elect one of themselves.
        let old = target;
        nodes[old as usize - 1].raft.shutdown().await.unwrap();
        let survivors: Vec<&Node> = nodes.iter().filter(|n| n.id != old).collect();
        let took = eventually("a new leader", || leader_of(&survivors).is_some()).await;
        let new = leader_of(&survivors).unwrap();
        eprintln!("election after leader {old} stopped: {took:?}, new leader {new}");
        let index = write(&survivors, vec![cmd(&["SET", "after", "failover"])]).await;
        for n in &survivors {
            eventually("the survivors apply the new write", || {
                metrics(&n.raft).last_applied.is_some_and(|l| l.index() >= index)
            })
            .await;
            assert_eq!(get(&n.engine, "after").as_deref(), Some(&b"failover"[..]), "node {}", n.id);
        }
        for n in nodes {
            n.stop().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_replica_behind_the_purged_log_catches_up_by_snapshot() {
        let config = Config {
            snapshot_policy: SnapshotPolicy::LogsSinceLast(50),
            max_in_snapshot_log_to_keep: 0,
            purge_batch_size: 1,
            ..raft_config()
        };
        let config = Arc::new(config.validate().unwrap());
        let addrs = [bind().await, bind().await, bind().await];
        let membership = members(&addrs.iter().collect::<Vec<_>>());
        let [a1, a2, a3] = addrs;
        let n1 = Node::start(1, a1, &config).await;
        let n2 = Node::start(2, a2, &config).await;
        n1.raft.initialize(membership).await.unwrap();
        eventually("node 1 leads", || metrics(&n1.raft).state == ServerState::Leader).await;

        // Every column family and the expiring-key count get something.
        let mut last = 0;
        for i in 0..300 {
            let k = format!("k{i}");
            let mut batch = vec![cmd(&["SET", &k, &format!("v{i}")])];
            if i == 0 {
                // Region state besides data: the preferred leader must travel in the snapshot.
                let kind = pb::command::Kind::PreferLeader as i32;
                batch.push(pb::Command { kind, argv: vec![Bytes::from_static(b"2")] });
            }
            if i % 10 == 0 {
                batch.push(cmd(&["HSET", &format!("h{i}"), "f", "v"]));
                batch.push(cmd(&["ZADD", &format!("z{i}"), "1.5", "m"]));
                batch.push(cmd(&["SET", &format!("e{i}"), "v", "PXAT", "99999999999999"]));
            }
            last = write(&[&n1, &n2], batch).await;
        }
        eventually("the leader purges its log", || metrics(&n1.raft).purged.is_some_and(|p| p.index() >= 250)).await;
        eprintln!("leader log purged up to {:?}", metrics(&n1.raft).purged);

        // Node 3 can only get the first entries through InstallSnapshot.
        let n3 = Node::start(3, a3, &config).await;
        let took =
            eventually("node 3 catches up", || metrics(&n3.raft).last_applied.is_some_and(|l| l.index() >= last)).await;
        eprintln!("node 3 caught up in {took:?}");
        let m3 = metrics(&n3.raft);
        assert!(m3.snapshot.is_some_and(|s| s.index() >= 250), "node 3 installed a snapshot: {m3:?}");
        for i in 0..300 {
            assert_eq!(get(&n3.engine, &format!("k{i}")), Some(format!("v{i}").into_bytes()));
        }
        assert_eq!(n3.engine.counts.total(ALL.0, ALL.1), n1.engine.counts.total(ALL.0, ALL.1));
        assert_eq!(n3.preferred.load(std::sync::atomic::Ordering::Relaxed), 2, "preferred leader installed");
        assert_eq!(
            n3.engine.counts.total(ALL.0, ALL.1),
            (390, 30),
            "300 strings, 30 each of hashes, zsets, expiring keys"
        );
        // Byte for byte the same region on the leader and on node 3 once both are at the same
        // applied entry (no writes are in flight now).
        eventually("the leader has applied as far as node 3", || {
            metrics(&n1.raft).last_applied == metrics(&n3.raft).last_applied
        })
        .await;
        let (s1, s3) =
            (sm::read_region(&n1.engine, REGION, ALL).unwrap(), sm::read_region(&n3.engine, REGION, ALL).unwrap());
        assert_eq!(s1.meta, s3.meta);
        assert!(s1.snapshot == s3.snapshot, "region data differs");
        for cf in 0..4 {
            assert!(s1.snapshot.pairs.iter().any(|kv| kv.cf == cf), "no pair in cf {cf}");
        }
        for n in [n1, n2, n3] {
            n.stop().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn node_info_and_read_index_round_trip() {
        let config = Arc::new(raft_config().validate().unwrap());
        let at = bind().await;
        let membership = members(&[&at]);
        let node = Node::start(1, at, &config).await;
        node.raft.initialize(membership).await.unwrap();
        eventually("the node leads", || metrics(&node.raft).state == ServerState::Leader).await;

        let channels = Channels::new(PeerAuth::default());
        let info = node_info(&channels, &node.addr).await.unwrap();
        let term = metrics(&node.raft).current_term;
        let leads = vec![pb::RegionLead { region_id: REGION, term }];
        assert_eq!(info, pb::NodeInfo { node_id: 1, grpc_addr: node.addr.clone(), leads, ..Default::default() });
        // No join handler: refused, the node keeps serving.
        let joiner = pb::NodeInfo {
            node_id: 9,
            id40: "9".repeat(40),
            resp_port: 7009,
            grpc_addr: "127.0.0.1:1".into(),
            ..Default::default()
        };
        let refused = join(&channels, &node.addr, joiner).await;
        assert_eq!(refused.unwrap_err().code(), Code::Unavailable);
        // A Join without the node's identity and addresses is a bad request.
        let bad = join(&channels, &node.addr, pb::NodeInfo { node_id: 9, ..Default::default() }).await;
        assert_eq!(bad.unwrap_err().code(), Code::InvalidArgument);

        let index = write(&[&node], vec![cmd(&["SET", "k", "v"])]).await;
        assert!(read_index(&channels, &node.addr, REGION).await.unwrap() >= index);
        let unknown = read_index(&channels, &node.addr, REGION + 1).await.unwrap_err();
        assert_eq!(unknown.code(), Code::NotFound, "{unknown}");
        node.registry.remove(REGION);
        let removed = read_index(&channels, &node.addr, REGION).await.unwrap_err();
        assert_eq!(removed.code(), Code::NotFound, "{removed}");

        let addr = node.addr.clone();
        node.stop().await;
        let down = node_info(&channels, &addr).await.unwrap_err();
        assert_eq!(down.code(), Code::Unavailable, "{down}");
        assert_eq!(node_info(&channels, "no port").await.unwrap_err().code(), Code::InvalidArgument);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_without_the_cluster_secret_are_refused_before_raft() {
        let at = bind().await;
        let addr = at.addr.clone();
        let registry = Registry::new(pb::NodeInfo { node_id: 1, grpc_addr: addr.clone(), ..Default::default() });
        let auth = PeerAuth::new(Some("s3cret"), None).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            serve(at.listener, registry, &auth, async move {
                let _ = stopped.await;
            })
            .await
        });
        for secret in [None, Some("wrong"), Some("s3cre")] {
            let channels = Channels::new(PeerAuth::new(secret, None).unwrap());
            let refused = node_info(&channels, &addr).await.unwrap_err();
            assert_eq!(refused.code(), Code::Unauthenticated, "{secret:?}: {refused}");
            // Refused before the handler: a region that is not hosted would be NotFound.
            let refused = read_index(&channels, &addr, REGION).await.unwrap_err();
            assert_eq!(refused.code(), Code::Unauthenticated, "{secret:?}: {refused}");
        }
        let channels = Channels::new(PeerAuth::new(Some("s3cret"), None).unwrap());
        assert_eq!(node_info(&channels, &addr).await.unwrap().node_id, 1);
        assert_eq!(read_index(&channels, &addr, REGION).await.unwrap_err().code(), Code::NotFound);
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }

    #[test]
    fn snapshot_chunks_are_framed_by_size() {
        let lid = crate::raft::LogId::new(openraft::impls::leader_id_adv::LeaderId { term: 2, node_id: 1 }, 9);
        let vote =
            Vote { leader_id: openraft::impls::leader_id_adv::LeaderId { term: 2, node_id: 1 }, committed: true };
        let kv = |n: usize| pb::KeyValue { cf: 0, key: Bytes::from(vec![1; 8]), value: Bytes::from(vec![2; n]) };
        let pairs = vec![kv(600 << 10), kv(600 << 10), kv(3 << 20), kv(10), kv(10)];
        let meta = crate::raft::SnapshotMeta { last_log_id: Some(lid), last_membership: Default::default() };
        let snapshot = Snapshot { meta: meta.clone(), snapshot: pb::SnapshotData { pairs: pairs.clone() } };
        let chunks = snapshot_chunks(REGION, &vote, snapshot);
        let sizes: Vec<usize> = chunks.iter().map(|c| c.pairs.len()).collect();
        assert_eq!(sizes, vec![0, 1, 1, 1, 2]);
        assert_eq!(chunks[0].region_id, REGION);
        assert_eq!(convert::snapshot_meta_from_pb(chunks[0].meta.as_ref().unwrap()).unwrap(), meta);
        assert!(chunks.iter().rev().skip(1).all(|c| !c.done) && chunks.last().unwrap().done);
        let back: Vec<pb::KeyValue> = chunks.into_iter().flat_map(|c| c.pairs).collect();
        assert_eq!(back, pairs);
        let empty = Snapshot { meta, snapshot: pb::SnapshotData::default() };
        let chunks = snapshot_chunks(REGION, &vote, empty);
        assert_eq!(chunks.len(), 2);
        assert!(chunks[1].done && chunks[1].pairs.is_empty());
    }
}
