//! The HTTP admin port (`--admin-port`): health, Prometheus metrics, the cluster view and
//! region leadership transfer, for operators and monitoring rather than Redis clients.
//!
//! A deliberately small HTTP/1.1 server over a tokio `TcpListener`: requests are tiny GETs and
//! POSTs with a Content-Length body (no chunked bodies), at most `MAX_REQUEST` bytes each,
//! keep-alive per HTTP/1.x defaults. Malformed input is answered with a 4xx and the connection
//! is closed; nothing a client sends can panic the server or grow its memory without bound.
//!
//! Endpoints: `GET /health`, `GET /metrics` (text format 0.0.4), `GET /cluster`,
//! `POST /admin/regions/{id}/leader` with `{"to": <node id>}`. With a cluster secret the POST
//! endpoints want `Authorization: Bearer <secret>` (401 without); the GETs stay open.

use std::fmt::{Display, Write as _};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::watch::WatchReceiver;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::clients::LATENCY_BUCKETS_US;
use crate::lifecycle;
use crate::node::Node;
use crate::raft::Region;

/// Largest request (head and body) accepted; larger ones get 413 / 431.
const MAX_REQUEST: usize = 64 << 10;
const MAX_HEADERS: usize = 100;
/// Admin connections served at once; more are answered 503 and closed.
const MAX_CONNECTIONS: usize = 64;
/// A connection idle (or sending a request) for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves the admin endpoints on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    node: Arc<Node>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Tells open keep-alive connections to close once shutdown resolves.
    let (stop_tx, stop_rx) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let (mut stream, _) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Per-connection failures and fd exhaustion: back off, keep serving.
                    tracing::warn!("admin accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let r = Response::error(503, "too many admin connections");
                let _ = stream.write_all(&r.encode(false)).await;
            });
            continue;
        };
        let (node, stop) = (node.clone(), stop_rx.clone());
        tokio::spawn(async move {
            let _ = serve_conn(stream, node, stop).await;
            drop(permit);
        });
    }
    let _ = stop_tx.send(true);
    Ok(())
}

async fn serve_conn(mut stream: TcpStream, node: Arc<Node>, mut stop: watch::Receiver<bool>) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        // Answer every complete request already read (pipelining) before reading more; so the
        // buffer holds at most one incomplete request (bounded by the parser) plus one chunk.
        match parse_request(&buf) {
            Parsed::Done(req, used) => {
                let resp = route(&node, &req, false).await;
                stream.write_all(&resp.encode(req.keep_alive)).await?;
                if !req.keep_alive {
                    return linger_close(stream).await;
                }
                buf.drain(..used);
                continue;
            }
            Parsed::Bad(status, msg) => {
                stream.write_all(&Response::error(status, msg).encode(false)).await?;
                return linger_close(stream).await;
            }
            Parsed::Incomplete => {}
        }
        let n = tokio::select! {
            r = tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut chunk)) => match r {
                Ok(r) => r?,
                Err(_) => return Ok(()),
            },
            _ = stop.wait_for(|s| *s) => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Closes after a final answer: shuts the write side, then discards what the client still
/// sends for a moment (a bounded amount), so unread input does not turn the close into a reset
/// that could destroy the answer before the client reads it.
async fn linger_close(mut stream: TcpStream) -> std::io::Result<()> {
    stream.shutdown().await?;
    let mut sink = [0u8; 4096];
    let drain = async {
        let mut total = 0;
        while total < MAX_REQUEST * 16 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 requests and responses.

#[derive(Debug, PartialEq)]
struct Request {
    method: String,
    /// The path without its query string.
    path: String,
    body: Vec<u8>,
    keep_alive: bool,
    /// The `Authorization` header's value, if any.
    authorization: Option<String>,
}

#[derive(Debug, PartialEq)]
enum Parsed {
    /// A request and the number of bytes it took.
    Done(Request, usize),
    Incomplete,
    /// Refused: the status and why. The connection is closed after the answer.
    Bad(u16, &'static str),
}

/// Where the head ends: the index just past its blank line (`\r\n\r\n`, or bare `\n`s).
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'\n', &buf[i..]) {
        let nl = i + p;
        match buf.get(nl + 1..) {
            Some([b'\n', ..]) => return Some(nl + 2),
            Some([b'\r', b'\n', ..]) => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parses the first request in `buf`.
fn parse_request(buf: &[u8]) -> Parsed {
    let Some(end) = head_end(buf) else {
        return if buf.len() >= MAX_REQUEST { Parsed::Bad(431, "request head too large") } else { Parsed::Incomplete };
    };
    if end > MAX_REQUEST {
        return Parsed::Bad(431, "request head too large");
    }
    let Ok(head) = std::str::from_utf8(&buf[..end]) else { return Parsed::Bad(400, "request head is not UTF-8") };
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut parts = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parsed::Bad(400, "malformed request line");
    };
    if !is_token(method) {
        return Parsed::Bad(400, "malformed method");
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        v if v.starts_with("HTTP/") && v.len() == 8 => return Parsed::Bad(505, "only HTTP/1.0 and HTTP/1.1"),
        _ => return Parsed::Bad(400, "malformed HTTP version"),
    };
    // The absolute form (`http://host/path`) names the same resource as its path.
    let target = match target.strip_prefix("http://").or_else(|| target.strip_prefix("https://")) {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    if !target.starts_with('/') || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Parsed::Bad(400, "malformed request target");
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let mut content_length: Option<usize> = None;
    let mut keep_alive = !http10;
    let mut authorization = None;
    let mut headers = 0;
    for line in lines.take_while(|l| !l.is_empty()) {
        headers += 1;
        if headers > MAX_HEADERS {
            return Parsed::Bad(431, "too many headers");
        }
        // No whitespace before the colon, no obsolete line folding (RFC 9112 5.1, 5.2).
        let Some((name, value)) = line.split_once(':') else { return Parsed::Bad(400, "malformed header") };
        if !is_token(name) {
            return Parsed::Bad(400, "malformed header name");
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("content-length") {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Parsed::Bad(400, "malformed Content-Length");
            }
            // Too many digits to parse is also too large to accept.
            let n = value.parse::<usize>().unwrap_or(usize::MAX);
            if content_length.is_some_and(|c| c != n) {
                return Parsed::Bad(400, "conflicting Content-Length headers");
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Bad(501, "Transfer-Encoding is not supported; send Content-Length");
        } else if name.eq_ignore_ascii_case("connection") {
            for opt in value.split(',').map(|o| o.trim()) {
                if opt.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if opt.eq_ignore_ascii_case("keep-alive") && http10 {
                    keep_alive = true;
                }
            }
        }
    }
    let len = content_length.unwrap_or(0);
    if len > MAX_REQUEST - end {
        return Parsed::Bad(413, "request too large");
    }
    if buf.len() < end + len {
        return Parsed::Incomplete;
    }
    let body = buf[end..end + len].to_vec();
    let req = Request { method: method.to_string(), path: path.to_string(), body, keep_alive, authorization };
    Parsed::Done(req, end + len)
}

struct Response {
    status: u16,
    content_type: &'static str,
    body: String,
    /// The `Allow` header of a 405.
    allow: Option<&'static str>,
}

const JSON: &str = "application/json";

impl Response {
    fn json(status: u16, v: Value) -> Response {
        let mut body = v.to_string();
        body.push('\n');
        Response { status, content_type: JSON, body, allow: None }
    }

    fn error(status: u16, msg: &str) -> Response {
        Response::json(status, json!({ "error": msg }))
    }

    fn encode(&self, keep_alive: bool) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len()
        );
        if let Some(allow) = self.allow {
            let _ = write!(head, "Allow: {allow}\r\n");
        }
        head.push_str(if keep_alive { "\r\n" } else { "Connection: close\r\n\r\n" });
        let mut out = head.into_bytes();
        out.extend_from_slice(self.body.as_bytes());
        out
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

// ---------------------------------------------------------------------------------------------
// Endpoints.

/// An admin request another node forwarded over gRPC (`Admin.Call`): the peer passed the
/// cluster secret check, and the request is not forwarded again.
pub async fn call(node: &Node, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let req = Request {
        method: method.into(),
        path: path.into(),
        body: body.to_vec(),
        keep_alive: false,
        authorization: None,
    };
    let resp = route(node, &req, true).await;
    (resp.status, resp.body.into_bytes())
}

async fn route(node: &Node, req: &Request, forwarded: bool) -> Response {
    let segs: Vec<&str> = req.path.split('/').skip(1).collect();
    let get = req.method == "GET";
    let answer = |(status, v): lifecycle::api::Answer| Response::json(status, v);
    let (allow, resp) = match segs.as_slice() {
        ["health"] => ("GET", get.then(|| health(node))),
        ["metrics"] => ("GET", get.then(|| metrics_response(node))),
        ["cluster"] => ("GET", get.then(|| Response::json(200, cluster_view(node)))),
        ["admin", ..] if !get && !forwarded && !authorized(node, req) => {
            return Response::error(401, "this endpoint needs the header Authorization: Bearer <cluster secret>");
        }
        ["admin", "regions"] => ("GET", get.then(|| answer(lifecycle::api::regions(node)))),
        ["admin", "ops"] => ("GET", get.then(|| answer(lifecycle::api::op(node, None)))),
        ["admin", "ops", id] => ("GET", get.then(|| answer(lifecycle::api::op(node, Some(id))))),
        ["admin", "regions", id, "leader"] => {
            let resp =
                if req.method == "POST" { Some(transfer_leader(node, id, &req.body, forwarded).await) } else { None };
            ("POST", resp)
        }
        ["admin", "nodes", _] => ("DELETE", start_op(node, req, &segs, forwarded).await),
        ["admin", "regions", "merge"] | ["admin", "regions", _, "split" | "move"] | ["admin", "nodes"] => {
            ("POST", start_op(node, req, &segs, forwarded).await)
        }
        _ => return Response::error(404, "not found"),
    };
    resp.unwrap_or_else(|| Response { allow: Some(allow), ..Response::error(405, "method not allowed") })
}

/// A request that starts a region operation (None: wrong method).
async fn start_op(node: &Node, req: &Request, segs: &[&str], forwarded: bool) -> Option<Response> {
    let op = lifecycle::api::parse(&req.method, segs, &req.body)?;
    Some(match op {
        Ok(op) => {
            let (status, v) = lifecycle::api::start(node, op, &req.method, &req.path, &req.body, forwarded).await;
            Response::json(status, v)
        }
        Err(msg) => Response::error(400, msg.as_str()),
    })
}

/// With a cluster secret, the mutating endpoints want `Authorization: Bearer <secret>`.
fn authorized(node: &Node, req: &Request) -> bool {
    let Some(secret) = &node.config.cluster_secret else { return true };
    let given = req.authorization.as_deref().and_then(|a| a.strip_prefix("Bearer "));
    given.is_some_and(|g| crate::raft::auth::ct_eq(g.trim().as_bytes(), secret.as_bytes()))
}

/// 200 while every region's Raft runs; 503 with the stopped regions once one has stopped. A
/// storage error or a panic makes the process exit within 250 ms (region.rs), so this mostly
/// shows a region stopped while the node shuts down.
fn health(node: &Node) -> Response {
    let leaders = node.regions().iter().filter(|r| r.raft.is_leader()).count();
    let failed: Vec<Value> = node
        .regions()
        .iter()
        .chain(node.meta.as_ref())
        .filter_map(|r| match &r.raft.metrics().borrow_watched().running_state {
            Ok(()) => None,
            Err(e) => Some(json!({ "region": r.id, "error": e.to_string() })),
        })
        .collect();
    let status = if failed.is_empty() { 200 } else { 503 };
    let mut body = json!({
        "status": if failed.is_empty() { "ok" } else { "fatal" },
        "node_id": node.node_id,
        "mode": node.mode(),
        "regions": node.regions().len(),
        "leaders": leaders,
    });
    if !failed.is_empty() {
        body["failed"] = Value::Array(failed);
    }
    Response::json(status, body)
}

/// What the admin port shows of one region, read from one look at its Raft metrics.
struct RegionView {
    id: u64,
    /// Slots `[from, to]` (inclusive).
    slots: (u16, u16),
    /// This node's replica id in the region.
    me: u64,
    term: u64,
    last_log: u64,
    committed: u64,
    applied: u64,
    snapshot: u64,
    purged: u64,
    /// Node ids (not replica ids: those are the Raft group's own).
    leader: Option<u64>,
    is_leader: bool,
    voters: Vec<u64>,
    /// (replica id, node id) of every replica.
    replicas: Vec<(u64, u64)>,
}

fn region_view(r: &Region) -> RegionView {
    let m = r.raft.metrics().borrow_watched().clone();
    let mut voters: Vec<u64> = m.membership_config.membership().voter_ids().filter_map(|v| r.node_of(v)).collect();
    voters.sort_unstable();
    voters.dedup();
    let replicas = m.membership_config.membership().voter_ids().map(|v| (v, r.node_of(v).unwrap_or(0))).collect();
    RegionView {
        id: r.id,
        slots: (r.slots().0, r.slots().1.saturating_sub(1) as u16),
        me: r.node_of(m.id).unwrap_or(m.id),
        term: m.current_term,
        last_log: m.last_log_index.unwrap_or(0),
        committed: m.local_committed.map(|l| l.index()).unwrap_or(0),
        applied: m.last_applied.map(|l| l.index()).unwrap_or(0),
        snapshot: m.snapshot.map(|l| l.index()).unwrap_or(0),
        purged: m.purged.map(|l| l.index()).unwrap_or(0),
        leader: m.current_leader.and_then(|l| r.node_of(l)),
        is_leader: m.state.is_leader(),
        voters,
        replicas,
    }
}

fn cluster_view(node: &Node) -> Value {
    let views: Vec<RegionView> = node.regions().iter().map(|r| region_view(r)).collect();
    let regions: Vec<Value> = views
        .iter()
        .map(|v| {
            json!({
                "id": v.id,
                "slots": [v.slots.0, v.slots.1],
                "leader": v.leader,
                "term": v.term,
                "applied": v.applied,
                "members": v.voters,
                "replicas": v.replicas.iter().map(|(r, n)| json!({ "replica": r, "node": n })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let nodes: Vec<Value> = match &node.cluster {
        Some(c) => c
            .known()
            .into_iter()
            .map(|(id, p)| json!({ "id": id, "id40": p.id40, "host": p.host, "port": p.port }))
            .collect(),
        None => {
            let (host, port) = node.announce();
            let id = views.first().map_or(1, |v| v.me);
            vec![json!({ "id": id, "id40": node.node_id, "host": host, "port": port })]
        }
    };
    let meta = node.meta.as_ref().map(|m| {
        let v = region_view(m);
        let map = m.cluster_map().borrow().clone();
        // Nodes whose RESP identity the map has recorded.
        let known: Vec<u64> =
            map.iter().flat_map(|m| m.nodes.iter().filter(|n| !n.id40.is_empty()).map(|n| n.node_id)).collect();
        let version = map.map_or(0, |m| m.version);
        json!({ "leader": v.leader, "term": v.term, "members": v.voters, "map_version": version, "map_nodes": known })
    });
    json!({ "mode": node.mode(), "node_id": node.node_id, "regions": regions, "nodes": nodes, "meta": meta })
}

async fn transfer_leader(node: &Node, id: &str, body: &[u8], forwarded: bool) -> Response {
    let region = id.parse::<u64>().ok().and_then(|id| node.regions().into_iter().find(|r| r.id == id));
    if !forwarded && region.as_ref().is_none_or(|r| !r.raft.is_leader()) {
        // Asked on another node than the region's leader: forward to the leader.
        let target = node.cluster.as_ref().zip(id.parse::<u64>().ok()).and_then(|(c, id)| {
            let leader = c.claimed_leader(id).filter(|l| *l != c.my_id)?;
            Some((c, c.addr_of(leader)?))
        });
        if let Some((c, addr)) = target {
            let (status, v) =
                lifecycle::api::forward(c, &addr, "POST", &format!("/admin/regions/{id}/leader"), body).await;
            return Response::json(status, v);
        }
    }
    let Some(region) = region else {
        return Response::error(404, "no such region");
    };
    // Exactly `{"to": <u64>}` (serde would also take `[n]` for a struct, hence by hand).
    let to = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) if o.len() == 1 => o.get("to").and_then(Value::as_u64),
        _ => None,
    };
    let Some(to) = to else { return Response::error(400, "expected a JSON body {\"to\": <node id>}") };
    let v = region_view(&region);
    if !v.is_leader {
        return Response::json(409, json!({ "error": "not leader", "leader": v.leader }));
    }
    if !v.voters.contains(&to) {
        let msg = format!("node {to} is not a voter of region {}", v.id);
        return Response::json(400, json!({ "error": msg, "members": v.voters }));
    }
    // Recorded in the region's log first, so the leader balancer of the new leader keeps it.
    if let Err(e) = region.prefer_leader(to).await {
        return Response::error(503, &format!("recording the preferred leader failed: {e}"));
    }
    if to == v.me {
        // Already the leader: nothing to hand over.
        return Response::json(200, json!({ "ok": true }));
    }
    let Some(replica) = region.replica_on(to) else { return Response::error(500, "no replica on the target") };
    match region.raft.trigger().transfer_leader(replica).await {
        Ok(()) => Response::json(200, json!({ "ok": true })),
        Err(e) => Response::error(500, &format!("transfer failed: {e}")),
    }
}

fn metrics_response(node: &Node) -> Response {
    Response {
        status: 200,
        content_type: "text/plain; version=0.0.4; charset=utf-8",
        body: render_metrics(node),
        allow: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Prometheus text exposition format 0.0.4.

/// Builds an exposition. Every family is written whole (HELP, TYPE, then all its samples), as
/// the format requires a family's samples to be contiguous.
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family with a single unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// Label values escape backslash, double quote and line feed.
fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// HELP text escapes backslash and line feed.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn secs(usec: u64) -> f64 {
    usec as f64 / 1e6
}

fn render_metrics(node: &Node) -> String {
    let mut e = Exposition { out: String::with_capacity(16 << 10) };
    e.family("redraft_build_info", "gauge", "Build and identity of this node (always 1).");
    e.sample(
        "redraft_build_info",
        &[("version", env!("CARGO_PKG_VERSION")), ("node_id", &node.node_id), ("mode", node.mode())],
        1,
    );
    e.single("redraft_uptime_seconds", "gauge", "Seconds since the server started.", node.started.elapsed().as_secs());
    e.single("redraft_connected_clients", "gauge", "Connected RESP clients.", node.clients.len());
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    e.single(
        "redraft_connections_received_total",
        "counter",
        "RESP connections accepted.",
        load(&node.stats.connections_received),
    );
    e.single("redraft_expired_keys_total", "counter", "Keys deleted by expiry.", load(&node.stats.expired_keys));
    let (keys, expiring) = node.served_counts();
    e.single("redraft_keys", "gauge", "Keys in the regions this node serves.", keys);
    e.single("redraft_expiring_keys", "gauge", "Keys with a TTL in the regions this node serves.", expiring);

    let cmds = node.cmdstats.snapshot();
    e.family("redraft_commands_total", "counter", "Commands run, by command.");
    for c in &cmds {
        e.sample("redraft_commands_total", &[("cmd", c.name)], c.calls);
    }
    e.family("redraft_command_errors_total", "counter", "Commands that ran and answered an error, by command.");
    for c in &cmds {
        e.sample("redraft_command_errors_total", &[("cmd", c.name)], c.failed);
    }
    e.family(
        "redraft_command_rejected_total",
        "counter",
        "Commands refused before running (arity, authentication, CROSSSLOT), by command.",
    );
    for c in &cmds {
        e.sample("redraft_command_rejected_total", &[("cmd", c.name)], c.rejected);
    }
    e.family("redraft_errors_total", "counter", "Error replies, by error code (the reply's first word).");
    for (code, n) in node.cmdstats.errors() {
        e.sample("redraft_errors_total", &[("error", &code)], n);
    }
    e.family("redraft_command_duration_seconds", "histogram", "Time to run a command, by command.");
    let bounds: Vec<String> = LATENCY_BUCKETS_US.iter().map(|&us| secs(us).to_string()).collect();
    for c in cmds.iter().filter(|c| c.calls > 0) {
        // Buckets are kept per range; the exposition wants them cumulative, and `_count` equal
        // to the +Inf bucket, so both come from the same reads.
        let mut cum = 0;
        for (i, n) in c.buckets.iter().enumerate() {
            cum += n;
            let le = bounds.get(i).map_or("+Inf", |s| s.as_str());
            e.sample("redraft_command_duration_seconds_bucket", &[("cmd", c.name), ("le", le)], cum);
        }
        e.sample("redraft_command_duration_seconds_sum", &[("cmd", c.name)], secs(c.usec));
        e.sample("redraft_command_duration_seconds_count", &[("cmd", c.name)], cum);
    }

    let all = node.regions();
    let regions: Vec<(&Arc<Region>, RegionView)> = all.iter().map(|r| (r, region_view(r))).collect();
    let ids: Vec<String> = regions.iter().map(|(r, _)| r.id.to_string()).collect();
    type Get = fn(&Region, &RegionView) -> u64;
    let gauges: [(&str, &str, &str, Get); 11] = [
        ("redraft_raft_term", "gauge", "Current Raft term.", |_, v| v.term),
        ("redraft_raft_last_log_index", "gauge", "Index of the last log entry.", |_, v| v.last_log),
        ("redraft_raft_committed_index", "gauge", "Index of the last entry known committed here.", |_, v| v.committed),
        ("redraft_raft_applied_index", "gauge", "Index of the last entry applied here.", |_, v| v.applied),
        ("redraft_raft_snapshot_index", "gauge", "Index of the last entry in the snapshot.", |_, v| v.snapshot),
        ("redraft_raft_purged_index", "gauge", "Index of the last log entry purged.", |_, v| v.purged),
        ("redraft_raft_leader", "gauge", "Node id of the region's leader, 0 when none is known.", |_, v| {
            v.leader.unwrap_or(0)
        }),
        ("redraft_raft_is_leader", "gauge", "1 when this node leads the region.", |_, v| v.is_leader as u64),
        ("redraft_proposed_entries_total", "counter", "Log entries proposed by this node.", |r, _| {
            r.stats.entries.load(Ordering::Relaxed)
        }),
        ("redraft_proposed_commands_total", "counter", "Commands in the proposed entries.", |r, _| {
            r.stats.commands.load(Ordering::Relaxed)
        }),
        ("redraft_raft_voters", "gauge", "Voters of the region.", |_, v| v.voters.len() as u64),
    ];
    for (name, kind, help, get) in gauges {
        e.family(name, kind, &format!("{help} Per region."));
        for ((r, v), id) in regions.iter().zip(&ids) {
            e.sample(name, &[("region", id)], get(r, v));
        }
    }
    e.family(
        "redraft_commit_seconds_total",
        "counter",
        "Time from proposing an entry to its reply, summed. Per region.",
    );
    for ((r, _), id) in regions.iter().zip(&ids) {
        e.sample("redraft_commit_seconds_total", &[("region", id)], secs(r.stats.commit_usec.load(Ordering::Relaxed)));
    }

    let io = &node.engine.io.stats;
    e.single("redraft_wal_syncs_total", "counter", "WAL fsyncs by the IO thread (group commits).", load(&io.syncs));
    e.single(
        "redraft_wal_synced_requests_total",
        "counter",
        "Log appends and syncs made durable by those fsyncs.",
        load(&io.synced_requests),
    );
    e.single("redraft_wal_sync_seconds_total", "counter", "Time spent in WAL fsyncs.", secs(load(&io.sync_usec)));
    let applied = load(&io.applied_entries);
    e.single("redraft_applied_entries_total", "counter", "Log entries applied by the state machines.", applied);
    e.single("redraft_apply_seconds_total", "counter", "Time spent applying log entries.", secs(load(&io.apply_usec)));
    e.single(
        "redraft_snapshots_installed_total",
        "counter",
        "Snapshots installed from a leader (catch-up past the purged log).",
        load(&io.snapshots_installed),
    );
    let low = node.engine.disk.low().is_some() as u64;
    e.single("redraft_disk_low", "gauge", "1 while writes are refused for lack of disk space.", low);

    let (sst, live, memtables) = rocksdb_sizes(node);
    e.single("redraft_rocksdb_sst_bytes", "gauge", "Size of all SST files (rocksdb.total-sst-files-size).", sst);
    e.single(
        "redraft_rocksdb_live_data_bytes",
        "gauge",
        "Estimated live data (rocksdb.estimate-live-data-size).",
        live,
    );
    e.single(
        "redraft_rocksdb_memtable_bytes",
        "gauge",
        "Memtable memory (rocksdb.cur-size-all-mem-tables).",
        memtables,
    );
    e.single("redraft_rocksdb_wal_bytes", "gauge", "Size of the WAL files (*.log) in the data dir.", wal_bytes(node));
    e.out
}

/// SST, live-data and memtable bytes summed over every column family.
fn rocksdb_sizes(node: &Node) -> (u64, u64, u64) {
    let db = &node.engine.db;
    let prop = |cf: Option<&str>, name: &str| {
        let v = match cf {
            Some(cf) => db.property_int_value_cf(node.engine.cf(cf), name),
            None => db.property_int_value(name),
        };
        v.ok().flatten().unwrap_or(0)
    };
    // `None`: the default column family, which RocksDB always has (unused by the store).
    let cfs = std::iter::once(None).chain(crate::store::keys::ALL_CFS.iter().map(|c| Some(*c)));
    cfs.fold((0, 0, 0), |(s, l, m), cf| {
        (
            s + prop(cf, "rocksdb.total-sst-files-size"),
            l + prop(cf, "rocksdb.estimate-live-data-size"),
            m + prop(cf, "rocksdb.cur-size-all-mem-tables"),
        )
    })
}

/// RocksDB 11.8 has no WAL-size property: the WAL files are the `*.log` files of the DB dir
/// (live and recycled ones; the info log is `LOG`, not matched).
fn wal_bytes(node: &Node) -> u64 {
    let Ok(dir) = std::fs::read_dir(node.engine.db.path()) else { return 0 };
    dir.filter_map(Result::ok)
        .filter(|d| d.file_name().to_str().is_some_and(|n| n.ends_with(".log")))
        .filter_map(|d| d.metadata().ok())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(buf: &[u8]) -> (Request, usize) {
        match parse_request(buf) {
            Parsed::Done(r, n) => (r, n),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
        }
    }

    #[test]
    fn parses_get_and_post() {
        let (r, n) = done(b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /next");
        assert_eq!((r.method.as_str(), r.path.as_str(), r.keep_alive, n), ("GET", "/metrics", true, 38));
        assert!(r.body.is_empty());
        let req = b"POST /admin/regions/1/leader HTTP/1.1\r\ncontent-length: 8\r\n\r\n{\"to\":2}";
        let (r, n) = done(req);
        assert_eq!((r.body.as_slice(), n), (&b"{\"to\":2}"[..], req.len()));
        assert_eq!(r.authorization, None);
        let (r, _) = done(b"POST /admin/x HTTP/1.1\r\nauthorization:  Bearer s3 \r\n\r\n");
        assert_eq!(r.authorization.as_deref(), Some("Bearer s3"));
        // Bare LF line ends, HTTP/1.0 closes unless asked, absolute-form targets.
        let (r, _) = done(b"GET /health HTTP/1.0\n\n");
        assert!(!r.keep_alive);
        let (r, _) = done(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert!(r.keep_alive);
        let (r, _) = done(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(!r.keep_alive);
        let (r, _) = done(b"GET http://h:1/cluster HTTP/1.1\r\n\r\n");
        assert_eq!(r.path, "/cluster");
    }

    #[test]
    fn waits_for_the_whole_request() {
        assert_eq!(parse_request(b""), Parsed::Incomplete);
        assert_eq!(parse_request(b"GET /health HTTP/1.1\r\nHost: a\r\n"), Parsed::Incomplete);
        assert_eq!(parse_request(b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc"), Parsed::Incomplete);
    }

    #[test]
    fn refuses_bad_requests() {
        let bad: &[(&[u8], u16)] = &[
            (b"GARBAGE\r\n\r\n", 400),
            (b"GET /health\r\n\r\n", 400),
            (b"GET  /health HTTP/1.1\r\n\r\n", 400),
            (b"GET health HTTP/1.1\r\n\r\n", 400),
            (b"GET /health HTTP/2.0\r\n\r\n", 505),
            (b"GET /health FTP/1.1\r\n\r\n", 400),
            (b"G(T /health HTTP/1.1\r\n\r\n", 400),
            (b"GET /health HTTP/1.1\r\nno colon\r\n\r\n", 400),
            (b"GET /health HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            (b"GET /health HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
            (b"GET /h HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
            (b"GET /h HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
            (b"GET /h HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413),
            (b"GET /h HTTP/1.1\r\nContent-Length: 70000\r\n\r\n", 413),
            (b"POST /h HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
            (b"GET /\xff HTTP/1.1\r\n\r\n", 400),
        ];
        for (req, status) in bad {
            match parse_request(req) {
                Parsed::Bad(s, _) => assert_eq!(s, *status, "{:?}", String::from_utf8_lossy(req)),
                other => panic!("{:?} parsed as {other:?}", String::from_utf8_lossy(req)),
            }
        }
        let mut huge = b"GET /health HTTP/1.1\r\nX: ".to_vec();
        huge.resize(MAX_REQUEST, b'a');
        assert!(matches!(parse_request(&huge), Parsed::Bad(431, _)));
        let many: String = std::iter::once("GET / HTTP/1.1\r\n".to_string())
            .chain((0..=MAX_HEADERS).map(|i| format!("X-{i}: 1\r\n")))
            .chain(std::iter::once("\r\n".to_string()))
            .collect();
        assert!(matches!(parse_request(many.as_bytes()), Parsed::Bad(431, _)));
    }

    #[test]
    fn never_panics_on_prefixes_and_noise() {
        let req = b"POST /admin/regions/1/leader HTTP/1.1\r\nContent-Length: 8\r\n\r\n{\"to\":2}";
        for i in 0..req.len() {
            assert_eq!(parse_request(&req[..i]), Parsed::Incomplete, "prefix {i}");
        }
        let mut x: u32 = 12345;
        for _ in 0..2000 {
            let buf: Vec<u8> = (0..64)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    b"GET /\r\n :HTP1.0\xff"[(x >> 16) as usize % 16]
                })
                .collect();
            let _ = parse_request(&buf);
        }
    }

    #[test]
    fn response_encoding() {
        let r = Response::error(405, "method not allowed");
        let r = Response { allow: Some("GET"), ..r };
        let text = String::from_utf8(r.encode(false)).expect("utf-8");
        assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{text}");
        assert!(text.contains("\r\nAllow: GET\r\n") && text.contains("\r\nConnection: close\r\n\r\n{"), "{text}");
        let body = text.split("\r\n\r\n").nth(1).expect("body");
        assert!(text.contains(&format!("Content-Length: {}\r\n", body.len())));
    }

    #[test]
    fn prometheus_escaping() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_label("client|list"), "client|list");
        assert_eq!(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
    }

    #[test]
    fn prometheus_lines() {
        let mut e = Exposition { out: String::new() };
        e.family("m_total", "counter", "Things.\nMore");
        e.sample("m_total", &[("cmd", "set"), ("error", "x\"y")], 3);
        e.sample("m_total", &[], 0.5);
        e.single("g", "gauge", "G", 7);
        assert_eq!(
            e.out,
            "# HELP m_total Things.\\nMore\n# TYPE m_total counter\nm_total{cmd=\"set\",error=\"x\\\"y\"} 3\n\
             m_total 0.5\n# HELP g G\n# TYPE g gauge\ng 7\n"
        );
    }

    #[test]
    fn bucket_bounds_print_as_plain_decimals() {
        let printed: Vec<String> = LATENCY_BUCKETS_US.iter().map(|&us| secs(us).to_string()).collect();
        assert_eq!(printed.first().map(String::as_str), Some("0.00001"));
        assert_eq!(printed.last().map(String::as_str), Some("10"));
        assert!(printed.contains(&"0.0025".to_string()));
    }
}
