//! The Raft type configuration of a region group and the openraft type aliases. Apart from the
//! storage and the network (it needs only openraft, the prost messages and `Reply`), so the
//! conversions and their fuzz target build without RocksDB.

use std::fmt;

use super::pb;

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

pub type LogId = openraft::LogId<openraft::impls::leader_id_adv::LeaderId<u64, u64>>;
pub type Vote = openraft::impls::Vote<openraft::impls::leader_id_adv::LeaderId<u64, u64>>;
pub type Entry = <TypeConfig as openraft::RaftTypeConfig>::Entry;
pub type Membership = openraft::Membership<u64, openraft::BasicNode>;
pub type StoredMembership =
    openraft::StoredMembership<openraft::impls::leader_id_adv::LeaderId<u64, u64>, u64, openraft::BasicNode>;
pub type SnapshotMeta =
    openraft::SnapshotMeta<openraft::impls::leader_id_adv::LeaderId<u64, u64>, u64, openraft::BasicNode>;
