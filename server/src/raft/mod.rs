//! The thin layer over openraft: type configuration, prost conversions, the region handle.
//!
//! Everything else in the server talks to `Region`, not to openraft, so an openraft upgrade
//! touches this folder and `store/{log,sm}.rs` only.

pub mod auth;
pub mod convert;
pub mod grpc;
pub mod network;
pub mod region;

use std::fmt;

pub use region::Region;

pub mod pb {
    #![allow(clippy::all, clippy::pedantic)]
    tonic::include_proto!("redraft.v1");
}

/// The application payload of an entry: a batch of deterministic commands.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal(pub pb::WriteBatch);

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proposal(now={}, cmds={})", self.0.now_ms, self.0.commands.len())
    }
}

openraft::declare_raft_types!(
    /// Raft types of a region group.
    pub TypeConfig:
        D = Proposal,
        R = Vec<crate::resp::Reply>,
        NodeId = u64,
        Node = openraft::BasicNode,
);

pub type Raft = openraft::Raft<TypeConfig, crate::store::sm::StateMachine>;
pub type LogId = openraft::LogId<openraft::impls::leader_id_adv::LeaderId<u64, u64>>;
pub type Vote = openraft::impls::Vote<openraft::impls::leader_id_adv::LeaderId<u64, u64>>;
pub type Entry = <TypeConfig as openraft::RaftTypeConfig>::Entry;
pub type Membership = openraft::Membership<u64, openraft::BasicNode>;
pub type StoredMembership =
    openraft::StoredMembership<openraft::impls::leader_id_adv::LeaderId<u64, u64>, u64, openraft::BasicNode>;
pub type SnapshotMeta =
    openraft::SnapshotMeta<openraft::impls::leader_id_adv::LeaderId<u64, u64>, u64, openraft::BasicNode>;
