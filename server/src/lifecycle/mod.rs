//! Region lifecycle: regions split, merge and move between nodes while clients keep working.
//!
//! - `ops`: the operations, recorded in the cluster map and driven by the meta leader.
//! - `replicas`: which replicas a node runs, following the map and what its regions applied.
//! - `auto`: the split checker, the merge of small idle neighbours and the replica balancer.
//! - Here: the node's side of an operation step (`RegionOp`), and admin calls forwarded by
//!   other nodes (`Admin.Call`).
//!
//! The commands a step proposes (SPLIT, FREEZE, MERGE) are applied by the region's state
//! machine (store/sm.rs), which changes the region's range in the same WriteBatch as its
//! applied index; a command routed to a region that no longer serves its slots is refused
//! there, identically on every replica, so it has no effect and the client may retry it.

pub mod api;
pub mod auto;
pub mod ops;
pub mod replicas;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::watch::WatchReceiver;
use openraft::BasicNode;
use tonic::Status;

use crate::node::Node;
use crate::raft::grpc::Lifecycle;
use crate::raft::pb::{self, region_op_request::Kind as Op};
use crate::raft::{Proposal, Region};
use crate::resp::Reply;

#[tonic::async_trait]
impl Lifecycle for Node {
    async fn region_op(&self, req: pb::RegionOpRequest) -> Result<pb::RegionOpResponse, Status> {
        let region = self
            .regions()
            .into_iter()
            .find(|r| r.id == req.region_id)
            .ok_or_else(|| Status::not_found(format!("region {} is not hosted here", req.region_id)))?;
        let kind = Op::try_from(req.kind).map_err(|_| Status::invalid_argument("unknown region op"))?;
        tracing::debug!("region {}: {kind:?}", region.id);
        if kind != Op::Status && !region.raft.is_leader() {
            return Err(Status::failed_precondition(format!("not the leader of region {}", region.id)));
        }
        let mut out = pb::RegionOpResponse::default();
        match kind {
            Op::Status => {}
            Op::Propose => {
                let command = req.command.ok_or_else(|| Status::invalid_argument("no command"))?;
                let lifecycle = [pb::command::Kind::Split, pb::command::Kind::Freeze, pb::command::Kind::Merge];
                if !lifecycle.iter().any(|k| *k as i32 == command.kind) {
                    return Err(Status::invalid_argument("only SPLIT, FREEZE and MERGE are proposed this way"));
                }
                // An entry of its own: the commands of one entry apply with the range it had when
                // the entry began (a FLUSHALL merged after a SPLIT would drop the new region's
                // slots).
                let batch = pb::WriteBatch { now_ms: crate::net::connection::now_ms(), commands: vec![command] };
                let written = region.raft.client_write(Proposal(batch)).await;
                tracing::debug!("region {}: proposed: {:?}", region.id, written.as_ref().map(|r| &r.data));
                match written.map_err(|e| Status::unavailable(e.to_string()))?.data.pop() {
                    Some(Reply::Error(e)) => out.error = e,
                    Some(Reply::Int(i)) => out.index = i as u64,
                    _ => {}
                }
            }
            Op::Compact => compact(&region).await?,
            Op::AddLearner => {
                let addr = self.cluster.as_ref().and_then(|c| c.addr_of(req.node_id)).unwrap_or_default();
                let node = BasicNode { addr };
                region
                    .raft
                    .add_learner(req.replica_id, node, true)
                    .await
                    .map_err(|e| Status::unavailable(e.to_string()))?;
            }
            Op::SetVoters => {
                let voters: BTreeSet<u64> = req.voters.iter().copied().collect();
                if voters.is_empty() {
                    return Err(Status::invalid_argument("no voters"));
                }
                region.raft.change_membership(voters, false).await.map_err(|e| Status::unavailable(e.to_string()))?;
            }
            Op::RemoveLearner => {
                let change = openraft::ChangeMembers::RemoveNodes([req.replica_id].into_iter().collect());
                let m = region.raft.metrics().borrow_watched().clone();
                if m.membership_config.membership().learner_ids().any(|l| l == req.replica_id) {
                    region
                        .raft
                        .change_membership(change, false)
                        .await
                        .map_err(|e| Status::unavailable(e.to_string()))?;
                }
            }
            Op::TransferLeader => {
                region
                    .raft
                    .trigger()
                    .transfer_leader(req.replica_id)
                    .await
                    .map_err(|e| Status::unavailable(e.to_string()))?;
            }
        }
        let m = region.raft.metrics().borrow_watched().clone();
        let membership = m.membership_config.membership();
        out.applied = m.last_applied.map_or(0, |l| l.index());
        out.range = Some(region.shared.range.to_pb());
        out.is_leader = m.state.is_leader();
        out.voters = membership.voter_ids().collect();
        out.learners = membership.learner_ids().collect();
        let (from, to) = region.slots();
        (out.keys, out.split_slot) = self.engine.counts.halving(from, to);
        out.commands = region.stats.commands.load(std::sync::atomic::Ordering::Relaxed);
        Ok(out)
    }

    async fn admin_call(&self, req: pb::AdminCallRequest) -> pb::AdminCallResponse {
        let (status, body) = crate::admin::call(self, &req.method, &req.path, &req.body).await;
        pb::AdminCallResponse { status: status as u32, body: body.into() }
    }
}

/// Records a snapshot point at the applied index and purges the log up to it, so a replica
/// added next starts from a snapshot.
pub(crate) async fn compact(region: &Region) -> Result<(), Status> {
    let unavailable = |e: String| Status::unavailable(e);
    let applied = region.raft.metrics().borrow_watched().last_applied.map_or(0, |l| l.index());
    region.raft.trigger().snapshot().await.map_err(|e| unavailable(e.to_string()))?;
    let snapshot = region
        .raft
        .wait(Some(Duration::from_secs(30)))
        .metrics(|m| m.snapshot.is_some_and(|s| s.index() >= applied), "snapshot point")
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .snapshot
        .map_or(0, |s| s.index());
    region.raft.trigger().purge_log(snapshot).await.map_err(|e| unavailable(e.to_string()))?;
    region
        .raft
        .wait(Some(Duration::from_secs(30)))
        .metrics(|m| m.purged.is_some_and(|p| p.index() >= snapshot), "log purge")
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    Ok(())
}

/// Sets the node up to serve region operation steps and forwarded admin calls.
pub fn serve(node: &Arc<Node>) {
    if let Some(c) = &node.cluster {
        let weak: std::sync::Weak<dyn Lifecycle> = Arc::downgrade(&(node.clone() as Arc<dyn Lifecycle>));
        c.registry.handle_lifecycle(weak);
    }
}
