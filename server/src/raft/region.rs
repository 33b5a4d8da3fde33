//! A region: a slot range served by one Raft group. The handle commands use to write
//! (propose a batch, get one reply per command) and to read (a linearizable barrier).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, Config, ReadPolicy, SnapshotPolicy};

use super::network::NoPeers;
use super::{pb, Proposal, Raft};
use crate::error::CmdError;
use crate::resp::Reply;
use crate::store::log::LogStore;
use crate::store::sm::StateMachine;
use crate::store::Engine;

pub struct Region {
    pub id: u64,
    /// Slots `[from, to)`.
    pub slots: (u16, u32),
    pub raft: Raft,
    pub engine: Arc<Engine>,
}

/// Raft timing and log retention of a region.
pub fn raft_config() -> Config {
    Config {
        cluster_name: "redraft".into(),
        heartbeat_interval: 250,
        election_timeout_min: 1000,
        election_timeout_max: 2000,
        enable_pre_vote: Some(true),
        // The state is in RocksDB: a "snapshot" only records the applied point, after which the
        // log up to it can be purged.
        snapshot_policy: SnapshotPolicy::LogsSinceLast(20_000),
        max_in_snapshot_log_to_keep: 1000,
        purge_batch_size: 4096,
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
        let raft = Raft::new(replica_id, config, NoPeers, log, sm).await?;
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
        Ok(Arc::new(Region { id, slots, raft, engine }))
    }

    /// Proposes one batch of deterministic commands; returns one reply per command, in order.
    pub async fn propose(&self, batch: pb::WriteBatch) -> Result<Vec<Reply>, CmdError> {
        match self.raft.client_write(Proposal(batch)).await {
            Ok(resp) => Ok(resp.data),
            // Rejected before the entry was appended: safe to retry elsewhere.
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => {
                Err(CmdError::TryAgain("Region leader is changing, try again".into()))
            }
            Err(e) => Err(CmdError::Uncertain(e.to_string())),
        }
    }

    /// Waits until a read on the local state is linearizable (leader lease, then local apply).
    pub async fn read_barrier(&self) -> Result<(), CmdError> {
        self.raft
            .ensure_linearizable(ReadPolicy::LeaseRead)
            .await
            .map(|_| ())
            .map_err(|_| CmdError::TryAgain("Region leader is changing, try again".into()))
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
            let replies = region
                .propose(pb::WriteBatch {
                    now_ms: 1000,
                    commands: vec![cmd(&["SET", "a", "1"]), cmd(&["INCR", "a"]), cmd(&["INCR", "nope", "x"])],
                })
                .await
                .unwrap();
            assert_eq!(replies[0], Reply::OK);
            assert_eq!(replies[1], Reply::Int(2));
            assert!(replies[2].is_error(), "arity is checked before proposing; apply still answers");
            region.read_barrier().await.unwrap();
            let v = crate::store::read::ReadCtx::new(&engine, 1000, false).get(b"a").unwrap().unwrap();
            assert_eq!(&v.body[..], b"2");
            assert_eq!(engine.counts.total(0, SLOTS as u32), (1, 0));
            region.raft.shutdown().await.unwrap();
        }
        // Reopen: the applied state and the counts come back from RocksDB.
        let (engine, region) = open(dir.path()).await;
        region.read_barrier().await.unwrap();
        let v = crate::store::read::ReadCtx::new(&engine, 1000, false).get(b"a").unwrap().unwrap();
        assert_eq!(&v.body[..], b"2");
        assert_eq!(engine.counts.total(0, SLOTS as u32), (1, 0));
        let r = region.propose(pb::WriteBatch { now_ms: 2000, commands: vec![cmd(&["INCR", "a"])] }).await.unwrap();
        assert_eq!(r[0], Reply::Int(3));
        region.raft.shutdown().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expiry_uses_the_entry_clock_and_flush_resets_counts() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, region) = open(dir.path()).await;
        let r = region
            .propose(pb::WriteBatch {
                now_ms: 1000,
                commands: vec![
                    cmd(&["SET", "t", "v", "PXAT", "1500"]),
                    cmd(&["SET", "p", "v"]),
                    cmd(&["SET", "gone", "v", "PXAT", "900"]),
                ],
            })
            .await
            .unwrap();
        assert_eq!(r, vec![Reply::OK, Reply::OK, Reply::OK]);
        assert_eq!(engine.counts.total(0, SLOTS as u32), (2, 1), "a past expiry stores nothing");
        // At t=1600 the key has expired: a sweep entry deletes it on apply.
        region
            .propose(pb::WriteBatch {
                now_ms: 1600,
                commands: vec![pb::Command {
                    kind: pb::command::Kind::ExpireSweep as i32,
                    argv: vec!["t".into(), "p".into()],
                }],
            })
            .await
            .unwrap();
        assert_eq!(engine.counts.total(0, SLOTS as u32), (1, 0));
        let r = region
            .propose(pb::WriteBatch {
                now_ms: 1700,
                commands: vec![cmd(&["SET", "x", "1"]), cmd(&["FLUSHALL"]), cmd(&["SET", "y", "1"])],
            })
            .await
            .unwrap();
        assert_eq!(r, vec![Reply::OK, Reply::OK, Reply::OK]);
        assert_eq!(engine.counts.total(0, SLOTS as u32), (1, 0));
        let rd = crate::store::read::ReadCtx::new(&engine, 1700, true);
        assert!(rd.get(b"x").unwrap().is_none() && rd.get(b"p").unwrap().is_none());
        assert!(rd.get(b"y").unwrap().is_some());
        region.raft.shutdown().await.unwrap();
    }
}
