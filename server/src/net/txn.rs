//! MULTI / EXEC / DISCARD / WATCH / UNWATCH.
//!
//! Queued commands stay on the connection until EXEC. EXEC proposes them as one contiguous
//! block of a Raft entry, led by an `EXEC` check command carrying the WATCHed keys and the
//! modification stamps they had: every replica applies the block atomically (one WriteBatch)
//! or, when a stamp changed, skips it — the same decision everywhere, because stamps are data.
//! Reads queued in MULTI run inside the entry and see the transaction's own writes.
//! Connection commands queued in MULTI (PING, ECHO, ...) run on this node once the entry is
//! applied. All keys of a transaction (and its WATCHed keys) must be in one region.

use std::sync::Arc;

use bytes::Bytes;

use super::connection::now_ms;
use crate::clients::ClientInfo;
use crate::cmd::table::{CommandSpec, ConnFn, Handler, TxnOp};
use crate::cmd::{ConnCtx, Session};
use crate::error::{CmdError, CmdResult};
use crate::node::Node;
use crate::raft::{pb, Region};
use crate::resp::Reply;
use crate::store::keys::key_slot;
use crate::store::read::ReadCtx;

pub struct Multi {
    pub queued: Vec<(&'static CommandSpec, Vec<Bytes>)>,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    pub failed: bool,
}

pub struct Watched {
    pub key: Bytes,
    pub region: u64,
    /// The key's stamp when watched (0: missing or expired).
    pub stamp: u64,
}

/// Queues a command inside MULTI (its keys must be in one region, as in Redis Cluster). In a
/// cluster, a command for a slot this node does not lead gets MOVED (or CLUSTERDOWN) here and
/// EXEC then EXECABORT, as Redis Cluster answers; EXEC checks the leader again.
pub fn queue(node: &Node, session: &mut Session, spec: &'static CommandSpec, argv: Vec<Bytes>) -> Reply {
    let keys = spec.keys_of(&argv);
    let multi = session.multi.as_mut().expect("inside MULTI");
    let routed = node.region_of_keys(keys.iter().map(|&i| &argv[i][..])).and_then(|r| match keys.first() {
        Some(&k) => node.check_leader(&r, key_slot(&argv[k])),
        None => Ok(()),
    });
    if let Err(e) = routed {
        multi.failed = true;
        return e.to_reply();
    }
    multi.queued.push((spec, argv));
    Reply::Status("QUEUED")
}

/// Runs one of the transaction commands.
pub async fn run(node: &Node, session: &mut Session, info: &ClientInfo, op: TxnOp, argv: &[Bytes]) -> CmdResult {
    match op {
        TxnOp::Multi => {
            if session.multi.is_some() {
                return Err(CmdError::MultiNested);
            }
            session.multi = Some(Multi { queued: Vec::new(), failed: false });
            Ok(Reply::OK)
        }
        TxnOp::Discard => {
            if session.multi.take().is_none() {
                return Err(CmdError::DiscardWithoutMulti);
            }
            session.watched.clear();
            Ok(Reply::OK)
        }
        TxnOp::Unwatch => {
            session.watched.clear();
            Ok(Reply::OK)
        }
        TxnOp::Watch => watch(node, session, argv).await,
        TxnOp::Exec => exec(node, session, info).await,
    }
}

async fn watch(node: &Node, session: &mut Session, argv: &[Bytes]) -> CmdResult {
    if session.multi.is_some() {
        return Err(CmdError::WatchInMulti);
    }
    let region = node.region_of_keys(argv[1..].iter().map(|k| &k[..]))?;
    node.read_barrier(&region, key_slot(&argv[1]), false).await?;
    let ctx = ReadCtx::new(&region.engine, now_ms(), true);
    for key in &argv[1..] {
        let stamp = ctx.get(key)?.map(|v| v.stamp).unwrap_or(0);
        session.watched.push(Watched { key: key.clone(), region: region.id, stamp });
    }
    Ok(Reply::OK)
}

/// How one queued command gets its reply.
enum Step {
    /// The i-th command of the proposed block.
    Logged(usize),
    /// A connection command, run after the block.
    Local(ConnFn, Vec<Bytes>),
    Done(Reply),
}

async fn exec(node: &Node, session: &mut Session, info: &ClientInfo) -> CmdResult {
    let Some(multi) = session.multi.take() else { return Err(CmdError::ExecWithoutMulti) };
    // EXEC forgets the watched keys whatever happens.
    let watched = std::mem::take(&mut session.watched);
    if multi.failed {
        return Err(CmdError::ExecAbort);
    }
    let mut steps = Vec::with_capacity(multi.queued.len());
    let mut block: Vec<Vec<Bytes>> = Vec::new();
    // The region of the transaction's keys, by id (WATCH recorded ids) and handle.
    let mut region: Option<u64> = None;
    let mut handle: Option<Arc<Region>> = None;
    let mut same_region = |r: u64| -> CmdResult<()> {
        match region {
            Some(x) if x != r => Err(CmdError::CrossSlot),
            _ => {
                region = Some(r);
                Ok(())
            }
        }
    };
    for w in &watched {
        same_region(w.region)?;
    }
    let now = now_ms();
    let mut first_key: Option<Bytes> = None;
    for (spec, argv) in multi.queued {
        let logged = match spec.handler {
            Handler::Write { prepare: Some(p), .. } => match p(&argv, now) {
                Ok(a) => a,
                Err(e) => {
                    steps.push(Step::Done(e.to_reply()));
                    continue;
                }
            },
            Handler::Write { prepare: None, .. } | Handler::Read(_) => argv,
            Handler::Conn(f) => {
                steps.push(Step::Local(f, argv));
                continue;
            }
            // UNWATCH inside MULTI (the others never queue): the check is already decided.
            Handler::Txn(_) => {
                steps.push(Step::Done(Reply::OK));
                continue;
            }
        };
        let keys = spec.keys_of(&logged);
        if keys.is_empty() {
            // A keyless write (FLUSHALL) touches every region.
            if node.regions().len() > 1 || node.cluster.is_some() {
                return Err(CmdError::CrossSlot);
            }
            let first = node.regions().first().cloned().ok_or(CmdError::ClusterDown)?;
            same_region(first.id)?;
            handle = Some(first);
        } else {
            let r = node.region_of_keys(keys.iter().map(|&i| &logged[i][..]))?;
            same_region(r.id)?;
            handle = Some(r);
            if first_key.is_none() {
                first_key = Some(logged[keys[0]].clone());
            }
        }
        steps.push(Step::Logged(block.len()));
        block.push(logged);
    }
    let mut results: Vec<Option<Reply>> = Vec::new();
    if !block.is_empty() || !watched.is_empty() {
        let mut check = Vec::with_capacity(1 + 2 * watched.len());
        check.push(Bytes::from(block.len().to_string()));
        for w in &watched {
            check.push(w.key.clone());
            check.push(Bytes::from(w.stamp.to_string()));
        }
        let mut commands = Vec::with_capacity(block.len() + 1);
        commands.push(pb::Command { kind: pb::command::Kind::Exec as i32, argv: check });
        commands.extend(block.into_iter().map(|argv| pb::Command { kind: pb::command::Kind::Client as i32, argv }));
        node.stats.write_batches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The region: the queued commands', else the WATCHed keys' (routed again: the layout
        // may have changed since WATCH; a region that no longer serves them refuses in apply).
        let first_key = watched.first().map(|w| &w.key).or(first_key.as_ref());
        let target = match (handle, first_key) {
            (Some(r), _) => r,
            (None, Some(k)) => node.region_of_keys(std::iter::once(&k[..]))?,
            (None, None) => node.regions().first().cloned().ok_or(CmdError::ClusterDown)?,
        };
        if region.is_some_and(|id| id != target.id) {
            return Err(CmdError::TryAgain("Region changed (split, merge or move), try again".into()));
        }
        // MOVED before anything is proposed; the slot of the transaction's first key.
        node.check_leader(&target, first_key.map(|k| key_slot(k)).unwrap_or(0))?;
        let mut replies = target.propose(commands).await?.into_iter();
        match replies.next() {
            Some(Reply::NilArray) => return Ok(Reply::NilArray),
            Some(Reply::Error(e)) => return Err(CmdError::Other(e)),
            _ => results = replies.map(Some).collect(),
        }
    }
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        out.push(match step {
            Step::Logged(i) => results.get_mut(i).and_then(Option::take).unwrap_or(Reply::Nil),
            Step::Done(r) => r,
            Step::Local(f, argv) => {
                info.refresh(session);
                let mut ctx = ConnCtx { session: &mut *session, node };
                f(&mut ctx, &argv).unwrap_or_else(|e| e.to_reply())
            }
        });
    }
    Ok(Reply::Array(out))
}
