//! TEMP STUB (not committed)
#![allow(dead_code, unused)]
use super::pb;
use std::sync::Arc;
pub struct Registry;
impl Registry {
    pub fn new(info: pb::NodeInfo) -> Arc<Registry> {
        Arc::new(Registry)
    }
    pub fn insert(&self, region: u64, raft: crate::raft::Raft) {}
    pub fn remove(&self, region: u64) {}
}
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: Arc<Registry>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    todo!()
}
pub struct Channels;
impl Channels {
    pub fn new() -> Arc<Channels> {
        Arc::new(Channels)
    }
}
pub type GrpcNetwork = super::network::NoPeers;
impl super::network::NoPeers {
    pub fn new(region: u64, channels: Arc<Channels>) -> Self {
        super::network::NoPeers
    }
}
pub async fn node_info(channels: &Channels, addr: &str) -> Result<pb::NodeInfo, tonic::Status> {
    todo!()
}
pub async fn read_index(channels: &Channels, addr: &str, region: u64) -> Result<u64, tonic::Status> {
    todo!()
}
