//! The thin layer over openraft: type configuration, prost conversions, the region handle.
//!
//! Everything else in the server talks to `Region`, not to openraft, so an openraft upgrade
//! touches this folder and `store/{log,sm}.rs` only.

pub mod auth;
pub mod convert;
pub mod grpc;
pub mod network;
pub mod region;
pub mod types;

pub use region::Region;
pub use types::{Entry, LogId, Proposal, SnapshotMeta, StoredMembership, TypeConfig, Vote};

pub mod pb {
    #![allow(clippy::all, clippy::pedantic)]
    tonic::include_proto!("redraft.v1");
}

pub type Raft = openraft::Raft<TypeConfig, crate::store::sm::StateMachine>;
