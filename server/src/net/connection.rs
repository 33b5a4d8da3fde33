//! One client connection: read, parse every complete request, execute them in order, write
//! the replies.
//!
//! Pipelining: the writes among the requests read together are proposed as ONE Raft entry
//! (per region) instead of one round trip each. Before any read or server command the
//! pending writes are committed and applied, so a later read sees the connection's earlier
//! writes, and replies always go out in request order.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::clients::ClientInfo;
use crate::cmd::table::{self, CommandSpec, Handler};
use crate::cmd::{ConnCtx, Session};
use crate::error::CmdError;
use crate::node::Node;
use crate::raft::{pb, Region};
use crate::resp::codec::{Limits, Parser};
use crate::resp::Reply;
use crate::store::keys::key_slot;
use crate::store::read::ReadCtx;

use super::txn;

/// At most this many requests are executed per read batch (bounds per-connection memory).
const MAX_BATCH: usize = 1024;
/// Pending writes are proposed once they reach this many bytes of arguments.
const MAX_PROPOSAL_BYTES: usize = 4 << 20;

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A write waiting to be proposed: its region and rewritten argv, and where its reply goes.
struct PendingWrite {
    region: Arc<Region>,
    argv: Vec<Bytes>,
    slot: usize,
}

/// Serves one client on `stream` (TCP, or TLS over TCP) until it leaves, errs or idles out.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    node: &Node,
    mut stream: S,
    mut session: Session,
    info: &ClientInfo,
) {
    // Redis's `timeout`: a client waited on for longer than this is closed without a reply.
    let idle = (node.config.timeout > 0).then(|| std::time::Duration::from_secs(node.config.timeout));
    let mut inbuf = BytesMut::with_capacity(16 * 1024);
    let mut out = BytesMut::with_capacity(16 * 1024);
    let mut parser = Parser::default();
    loop {
        let mut batch: Vec<Vec<Bytes>> = Vec::new();
        let mut proto_err = None;
        let mut stopped_early = false;
        loop {
            let limits = Limits {
                max_bulk: node.config.proto_max_bulk_len,
                unauthenticated: !session.authenticated,
                ..Limits::default()
            };
            match parser.parse(&mut inbuf, limits) {
                Ok(Some(argv)) => {
                    if !argv.is_empty() {
                        batch.push(argv);
                    }
                    // Before AUTH the limits change after each command: run them one by one.
                    if batch.len() >= MAX_BATCH || (!session.authenticated && !batch.is_empty()) {
                        stopped_early = true;
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    proto_err = Some(e);
                    break;
                }
            }
        }
        if !batch.is_empty() {
            let overflow = execute(node, &mut session, info, batch, &mut out).await;
            info.refresh(&session);
            if overflow {
                // Redis closes a client over its output buffer limit without sending more.
                tracing::warn!(client = session.id, "closing client: output buffer limit reached");
                return;
            }
        }
        // After QUIT nothing else is answered, a protocol error included.
        if let (Some(e), false) = (&proto_err, session.close) {
            Reply::Error(e.reply_text()).encode(session.proto, &mut out);
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
            if out.capacity() > 1 << 20 {
                out = BytesMut::with_capacity(16 * 1024);
            }
        }
        if proto_err.is_some() || session.close {
            let _ = stream.shutdown().await;
            return;
        }
        if stopped_early {
            continue;
        }
        if inbuf.is_empty() && inbuf.capacity() > 1 << 20 {
            // Give back the memory of a big request once it is consumed.
            inbuf = BytesMut::with_capacity(16 * 1024);
        }
        let read = match idle {
            None => stream.read_buf(&mut inbuf).await,
            Some(idle) => match tokio::time::timeout(idle, stream.read_buf(&mut inbuf)).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::debug!(client = session.id, "closing client: idle for {}s", idle.as_secs());
                    return;
                }
            },
        };
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if inbuf.len() > node.config.client_query_buffer_limit {
            // Redis closes such a client without a reply.
            tracing::warn!(client = session.id, bytes = inbuf.len(), "closing client: query buffer limit reached");
            return;
        }
    }
}

/// Executes requests in order, appending each reply to `out`. Returns true, with nothing
/// appended, when the replies outgrew the client output buffer limit.
async fn execute(
    node: &Node,
    session: &mut Session,
    info: &ClientInfo,
    batch: Vec<Vec<Bytes>>,
    out: &mut BytesMut,
) -> bool {
    let mut replies: Vec<Option<Reply>> = Vec::with_capacity(batch.len());
    // The protocol each reply is encoded in: the one in force when its command ran (HELLO and
    // RESET switch it in the middle of a pipeline).
    let mut protos: Vec<u8> = Vec::with_capacity(batch.len());
    let mut pending: Vec<PendingWrite> = Vec::new();
    let mut pending_bytes = 0usize;
    // Regions (by id) whose read barrier this batch passed since its last write.
    let mut read_barrier_done: Vec<u64> = Vec::new();
    // Per reply: the command it answers (for INFO commandstats) and the time it took.
    let mut ran: Vec<Option<&'static CommandSpec>> = Vec::with_capacity(batch.len());
    let mut usecs: Vec<u64> = Vec::with_capacity(batch.len());
    let mut out_bytes = 0usize;
    let mut overflow = false;
    for argv in batch {
        node.stats.commands_processed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let slot = replies.len();
        replies.push(None);
        protos.push(session.proto);
        ran.push(None);
        usecs.push(0);
        let spec = match check(session, &argv) {
            Ok(s) => s,
            Err((e, spec)) => {
                if let Some(spec) = spec {
                    node.cmdstats.reject(spec);
                }
                // A command refused inside MULTI makes EXEC fail.
                if let Some(m) = session.multi.as_mut() {
                    m.failed = true;
                }
                replies[slot] = Some(e.to_reply());
                continue;
            }
        };
        session.last_cmd = spec.name;
        if session.multi.is_some() && !spec.runs_immediately_in_multi() {
            replies[slot] = Some(txn::queue(node, session, spec, argv));
            continue;
        }
        let started = std::time::Instant::now();
        match spec.handler {
            Handler::Write { prepare, .. } => {
                let keys = spec.keys_of(&argv);
                // A keyless write (FLUSHALL) goes to every region.
                let region = match keys.is_empty() {
                    true => None,
                    false => match node.region_of_keys(keys.iter().map(|&i| &argv[i][..])) {
                        Ok(r) => match node.check_leader(&r, key_slot(&argv[keys[0]])) {
                            Ok(()) => Some(r),
                            Err(e) => {
                                replies[slot] = Some(e.to_reply());
                                continue;
                            }
                        },
                        Err(e) => {
                            node.cmdstats.reject(spec);
                            replies[slot] = Some(e.to_reply());
                            continue;
                        }
                    },
                };
                ran[slot] = Some(spec);
                let argv = match prepare {
                    Some(p) => match p(&argv, now_ms()) {
                        Ok(a) => a,
                        Err(e) => {
                            replies[slot] = Some(e.to_reply());
                            continue;
                        }
                    },
                    None => argv,
                };
                pending_bytes += argv.iter().map(|a| a.len()).sum::<usize>();
                match region {
                    Some(region) => pending.push(PendingWrite { region, argv, slot }),
                    None => {
                        let served = node.served_regions();
                        if served.is_empty() {
                            // A cluster node leading no region has no slots to flush, like a
                            // Redis Cluster master without slots: OK, and the reply keeps its place.
                            replies[slot] = Some(Reply::OK);
                            continue;
                        }
                        for region in served {
                            pending.push(PendingWrite { region, argv: argv.clone(), slot });
                        }
                    }
                }
                if pending.len() >= MAX_BATCH || pending_bytes >= MAX_PROPOSAL_BYTES {
                    flush(node, &mut pending, &mut replies, &mut usecs).await;
                    pending_bytes = 0;
                    read_barrier_done.clear();
                }
            }
            Handler::Read(f) => {
                if !pending.is_empty() {
                    flush(node, &mut pending, &mut replies, &mut usecs).await;
                    pending_bytes = 0;
                    read_barrier_done.clear();
                }
                let keys = spec.keys_of(&argv);
                let region = match node.region_of_keys(keys.iter().map(|&i| &argv[i][..])) {
                    Ok(r) => r,
                    Err(e) => {
                        node.cmdstats.reject(spec);
                        replies[slot] = Some(e.to_reply());
                        continue;
                    }
                };
                ran[slot] = Some(spec);
                if keys.is_empty() && node.cluster.is_some() {
                    // No key was found (every read names keys; a bad numkeys leaves none): no
                    // region to route to, and the handler answers the argument error itself.
                } else {
                    let kslot = keys.first().map(|&i| key_slot(&argv[i])).unwrap_or(0);
                    if !read_barrier_done.contains(&region.id) {
                        if let Err(e) = node.read_barrier(&region, kslot, session.readonly).await {
                            replies[slot] = Some(e.to_reply());
                            continue;
                        }
                        read_barrier_done.push(region.id);
                    } else if !region.serves(kslot) {
                        // A split or merge applied since this batch's barrier.
                        let e = CmdError::TryAgain("Region changed (split, merge or move), try again".into());
                        replies[slot] = Some(e.to_reply());
                        continue;
                    }
                }
                // Several keys, or a collection's header and members, are read from one RocksDB
                // snapshot, so the reply is one state.
                let consistent = keys.len() > 1 || !matches!(spec.group, "string" | "generic");
                let ctx = ReadCtx::new(&region.engine, now_ms(), consistent);
                replies[slot] = Some(f(&ctx, &argv).unwrap_or_else(|e| e.to_reply()));
                usecs[slot] = started.elapsed().as_micros() as u64;
            }
            Handler::Txn(op) => {
                if !pending.is_empty() {
                    flush(node, &mut pending, &mut replies, &mut usecs).await;
                    pending_bytes = 0;
                }
                // EXEC's writes and WATCH's reads change what later reads must wait for.
                read_barrier_done.clear();
                ran[slot] = Some(spec);
                replies[slot] = Some(txn::run(node, session, info, op, &argv).await.unwrap_or_else(|e| e.to_reply()));
                usecs[slot] = started.elapsed().as_micros() as u64;
            }
            Handler::Conn(f) => {
                if !pending.is_empty() {
                    flush(node, &mut pending, &mut replies, &mut usecs).await;
                    pending_bytes = 0;
                    read_barrier_done.clear();
                }
                ran[slot] = Some(spec);
                // CLIENT LIST / INFO show this connection as of this command.
                info.refresh(session);
                let mut ctx = ConnCtx { session: &mut *session, node };
                replies[slot] = Some(f(&mut ctx, &argv).unwrap_or_else(|e| e.to_reply()));
                usecs[slot] = started.elapsed().as_micros() as u64;
                protos[slot] = session.proto;
                if session.close {
                    break;
                }
            }
        }
        out_bytes += replies[slot].as_ref().map(Reply::approx_len).unwrap_or(0);
        if out_bytes > node.config.client_output_buffer_limit {
            overflow = true;
            session.close = true;
            break;
        }
    }
    if !pending.is_empty() {
        flush(node, &mut pending, &mut replies, &mut usecs).await;
    }
    for ((r, spec), usec) in replies.iter().zip(&ran).zip(&usecs) {
        let failed = matches!(r, Some(Reply::Error(_)));
        if let Some(Reply::Error(text)) = r {
            node.cmdstats.error_reply(text);
        }
        if let Some(spec) = spec {
            node.cmdstats.record(spec, *usec, failed);
        }
    }
    if overflow {
        return true;
    }
    for (r, proto) in replies.into_iter().zip(protos) {
        if let Some(r) = r {
            r.encode(proto, out);
        }
    }
    false
}

/// Looks the command up and checks arity, then authentication (Redis's order: an unknown
/// command or a wrong arity is reported even before AUTH). A container's subcommand is
/// resolved here, once: the result is the spec to run.
/// An error names the command it refused, when the command exists.
fn check(session: &Session, argv: &[Bytes]) -> Result<&'static CommandSpec, (CmdError, Option<&'static CommandSpec>)> {
    let Some(spec) = table::lookup(&argv[0]) else {
        return Err((CmdError::unknown_command(&argv[0], &argv[1..]), None));
    };
    check_known(session, spec, argv)
}

fn check_known(
    session: &Session,
    spec: &'static CommandSpec,
    argv: &[Bytes],
) -> Result<&'static CommandSpec, (CmdError, Option<&'static CommandSpec>)> {
    if !spec.arity_ok(argv.len()) {
        return Err((CmdError::WrongArity(spec.name.to_string()), Some(spec)));
    }
    // Redis checks the subcommand and its arity before authentication too. A refusal is
    // counted against the subcommand; an unknown subcommand only as an error.
    if argv.len() >= 2 && spec.has_subcommands() {
        match table::lookup_sub(spec.name, &argv[1]) {
            None => {
                let sub = String::from_utf8_lossy(&argv[1]).into_owned();
                return Err((CmdError::UnknownSubcommand { cmd: spec.name.to_uppercase(), sub }, None));
            }
            Some(sub) if !sub.arity_ok(argv.len()) => {
                return Err((CmdError::WrongArity(sub.name.to_string()), Some(sub)));
            }
            Some(sub) => {
                if !session.authenticated && !spec.has_flag("no_auth") {
                    return Err((CmdError::NoAuth, Some(sub)));
                }
                // Dispatch, stats and CLIENT LIST's cmd= use the subcommand itself.
                return Ok(sub);
            }
        }
    }
    if !session.authenticated && !spec.has_flag("no_auth") {
        return Err((CmdError::NoAuth, Some(spec)));
    }
    Ok(spec)
}

/// An error a cluster client retries on its own (nothing was proposed).
fn is_retryable(r: &Reply) -> bool {
    matches!(r, Reply::Error(e) if e.starts_with("TRYAGAIN") || e.starts_with("MOVED") || e.starts_with("CLUSTERDOWN"))
}

/// Proposes the pending writes, one entry per region, and files their replies.
async fn flush(node: &Node, pending: &mut Vec<PendingWrite>, replies: &mut [Option<Reply>], usecs: &mut [u64]) {
    let started = std::time::Instant::now();
    let n = pending.len().max(1) as u64;
    let mut by_region: Vec<(Arc<Region>, Vec<PendingWrite>)> = Vec::new();
    for p in pending.drain(..) {
        match by_region.iter_mut().find(|(r, _)| r.id == p.region.id) {
            Some((_, writes)) => writes.push(p),
            None => by_region.push((p.region.clone(), vec![p])),
        }
    }
    let futures = by_region.into_iter().map(|(region, writes)| async move {
        let commands: Vec<pb::Command> = writes
            .iter()
            .map(|w| pb::Command { kind: pb::command::Kind::Client as i32, argv: w.argv.clone() })
            .collect();
        node.stats.write_batches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = region.propose(commands).await;
        (writes, result)
    });
    for (writes, result) in futures::future::join_all(futures).await {
        // Each write is charged an equal share of the proposal's time.
        let share = started.elapsed().as_micros() as u64 / n;
        for w in &writes {
            usecs[w.slot] = share;
        }
        // A keyless write (FLUSHALL) runs in every region: the first error wins, except that a
        // write applied in one region and refused as retryable in another is UNCERTAIN (a
        // client retry would apply it twice where it did run).
        let partly =
            || CmdError::Uncertain("the write ran in some regions and was refused in others".into()).to_reply();
        match result {
            Ok(rs) => {
                for (w, r) in writes.into_iter().zip(rs) {
                    match &replies[w.slot] {
                        Some(existing) if is_retryable(existing) => replies[w.slot] = Some(partly()),
                        Some(existing) if existing.is_error() => {}
                        _ => replies[w.slot] = Some(r),
                    }
                }
            }
            Err(e) => {
                for w in writes {
                    match &replies[w.slot] {
                        Some(existing) if !existing.is_error() && is_retryable(&e.to_reply()) => {
                            replies[w.slot] = Some(partly())
                        }
                        Some(existing) if existing.is_error() && !is_retryable(existing) => {}
                        _ => replies[w.slot] = Some(e.to_reply()),
                    }
                }
            }
        }
    }
}
