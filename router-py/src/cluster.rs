//! The cluster client core: topology from CLUSTER SLOTS, one connection pool per node, routing
//! by slot, MOVED / ASK / TRYAGAIN / CLUSTERDOWN / LOADING handling, per-slot splitting of
//! multi-key commands and per-node pipelining. Blocking std I/O: the Python layer calls it with
//! the GIL released, and commands for several nodes are written to every node before any reply
//! is read, so nodes work in parallel without a thread per request.

use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::keys::{self, Fanout, Keys, Split, SLOTS};
use crate::resp::{self, Value};

/// Fewest milliseconds between two topology refreshes.
const MIN_REFRESH_MS: u64 = 100;
/// A request larger than this is written by a helper thread while replies are read, so neither
/// side can block on a full socket buffer.
const BIG_REQUEST: usize = 1 << 20;
const NO_SHARD: u32 = u32::MAX;

pub struct Options {
    pub seeds: Vec<String>,
    pub connect_timeout: Option<Duration>,
    pub socket_timeout: Option<Duration>,
    pub max_redirects: u32,
    pub read_from_replicas: bool,
    /// How long TRYAGAIN / CLUSTERDOWN / LOADING / refused connections are retried.
    pub retry_timeout: Duration,
    pub refresh_interval: Duration,
    pub username: Option<Vec<u8>>,
    pub password: Option<Vec<u8>>,
    pub max_idle: usize,
}

#[derive(Debug, Clone)]
pub enum Error {
    /// No connection could be made: nothing was sent.
    Connect(String),
    /// The connection failed after the request was (possibly) sent.
    Io(String),
    Timeout(String),
    /// Keys of a command that cannot be split hash to different slots.
    CrossSlot(String),
    /// Too many redirects, no usable topology, bad arguments.
    Cluster(String),
}

pub type Reply = Result<Value, Error>;

// ----- connections ---------------------------------------------------------------------------

pub struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

fn io_err(e: io::Error, addr: &str) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout(format!("timeout reading from {addr}")),
        _ => Error::Io(format!("{addr}: {e}")),
    }
}

impl Conn {
    fn open(addr: &str, o: &Options, readonly: bool) -> Result<Conn, Error> {
        let fail = |e: io::Error| Error::Connect(format!("connecting to {addr}: {e}"));
        let sa = addr
            .to_socket_addrs()
            .map_err(fail)?
            .next()
            .ok_or_else(|| Error::Connect(format!("{addr}: no address")))?;
        let s = match o.connect_timeout {
            Some(t) => TcpStream::connect_timeout(&sa, t),
            None => TcpStream::connect(sa),
        }
        .map_err(fail)?;
        s.set_nodelay(true).map_err(fail)?;
        s.set_read_timeout(o.socket_timeout).map_err(fail)?;
        s.set_write_timeout(o.socket_timeout).map_err(fail)?;
        let w = s.try_clone().map_err(fail)?;
        let mut c = Conn { r: BufReader::with_capacity(64 << 10, s), w };
        let mut hello: Vec<Vec<Vec<u8>>> = Vec::new();
        if let Some(pw) = &o.password {
            let mut a = vec![b"AUTH".to_vec()];
            a.extend(o.username.clone());
            a.push(pw.clone());
            hello.push(a);
        }
        if readonly {
            hello.push(vec![b"READONLY".to_vec()]);
        }
        for cmd in hello {
            let mut buf = Vec::new();
            resp::encode_into(&mut buf, &cmd);
            c.w.write_all(&buf).map_err(fail)?;
            match resp::read_value(&mut c.r).map_err(fail)? {
                Value::Error(e) => {
                    return Err(Error::Connect(format!("{addr}: {}", String::from_utf8_lossy(&e))));
                }
                _ => continue,
            }
        }
        Ok(c)
    }

    /// False once the server closed the connection (or sent something unasked for).
    fn usable(&self) -> bool {
        if !self.r.buffer().is_empty() {
            return false;
        }
        let s = self.r.get_ref();
        if s.set_nonblocking(true).is_err() {
            return false;
        }
        let mut b = [0u8; 1];
        let ok = matches!(s.peek(&mut b), Err(ref e) if e.kind() == io::ErrorKind::WouldBlock);
        ok && s.set_nonblocking(false).is_ok()
    }
}

struct Node {
    addr: String,
    idle: Mutex<Vec<Conn>>,
    idle_ro: Mutex<Vec<Conn>>,
}

impl Node {
    fn pool(&self, ro: bool) -> &Mutex<Vec<Conn>> {
        if ro {
            &self.idle_ro
        } else {
            &self.idle
        }
    }

    fn get(&self, o: &Options, ro: bool, stats: &Stats) -> Result<Conn, Error> {
        loop {
            let c = self.pool(ro).lock().unwrap().pop();
            match c {
                Some(c) if c.usable() => return Ok(c),
                Some(_) => continue,
                None => {
                    stats.connects.fetch_add(1, Ordering::Relaxed);
                    return Conn::open(&self.addr, o, ro);
                }
            }
        }
    }

    fn put(&self, c: Conn, ro: bool, max_idle: usize) {
        let mut p = self.pool(ro).lock().unwrap();
        if p.len() < max_idle {
            p.push(c);
        }
    }
}

// ----- topology ------------------------------------------------------------------------------

#[derive(Clone)]
struct Shard {
    primary: String,
    replicas: Vec<String>,
}

struct Topo {
    slots: Vec<u32>,
    shards: Vec<Shard>,
}

impl Topo {
    fn empty() -> Topo {
        Topo { slots: vec![NO_SHARD; SLOTS], shards: Vec::new() }
    }
}

// ----- requests ------------------------------------------------------------------------------

/// One command as sent to one node.
pub struct Part {
    pub args: Vec<Vec<u8>>,
    pub slot: Option<u16>,
    /// A fixed node (commands sent to every primary).
    pub node: Option<String>,
    pub readonly: bool,
}

/// How the replies of a job's parts make its result.
pub enum Agg {
    One,
    /// MGET: (positions of each part's keys in the reply), total number of keys.
    Concat(Vec<Vec<usize>>, usize),
    AllOk,
    Sum,
}

/// One user command: one part, or one per slot / per primary.
pub struct Job {
    pub parts: Vec<Part>,
    pub agg: Agg,
}

enum Outcome {
    Value(Value),
    /// Nothing was sent (connect failed).
    NotSent(Error),
    /// Sent, then the connection failed: the command may or may not have run.
    Lost(Error),
}

struct Group {
    addr: String,
    ro: bool,
    /// (part index, send ASKING first)
    items: Vec<(usize, bool)>,
}

#[derive(Default)]
struct PartState {
    ask: Option<String>,
    redirects: u32,
    visited: Vec<String>,
}

/// Counters of what the client did, for tests and monitoring.
#[derive(Default)]
pub struct Stats {
    /// Commands written to a server (resends included, ASKING not).
    pub sent: AtomicU64,
    pub moved: AtomicU64,
    pub ask: AtomicU64,
    /// TRYAGAIN / CLUSTERDOWN / LOADING answers that were retried.
    pub retried: AtomicU64,
    /// Completed topology loads.
    pub refreshes: AtomicU64,
    /// Connections opened.
    pub connects: AtomicU64,
}

/// What COMMAND INFO said about commands missing from the static table.
type Learned = HashMap<Vec<u8>, Option<KeyInfo>>;
/// (first key, last key, step, read-only) as COMMAND INFO gives them.
type KeyInfo = (i64, i64, i64, bool);

pub struct Cluster {
    pub stats: Stats,
    learned: RwLock<Learned>,
    o: Options,
    topo: RwLock<Topo>,
    nodes: RwLock<HashMap<String, Arc<Node>>>,
    /// False against a server without cluster support: every slot is the seed.
    cluster_mode: AtomicBool,
    refresh_lock: Mutex<()>,
    refreshing: AtomicBool,
    born: Instant,
    last_refresh_ms: AtomicU64,
    rr: AtomicUsize,
    rng: AtomicU64,
    closed: AtomicBool,
}

fn upper(a: &[u8]) -> Vec<u8> {
    a.to_ascii_uppercase()
}

fn err_code(e: &[u8]) -> &[u8] {
    e.split(|&b| b == b' ').next().unwrap_or(b"")
}

/// "MOVED 3999 127.0.0.1:6381" -> (3999, "127.0.0.1:6381")
fn parse_redirect(e: &[u8]) -> Option<(u16, String)> {
    let t = std::str::from_utf8(e).ok()?;
    let mut it = t.split(' ');
    it.next()?;
    let slot = it.next()?.parse::<u16>().ok()?;
    let addr = it.next()?.to_string();
    Some((slot, addr))
}

fn host_of(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(h, _)| h)
}

impl Cluster {
    pub fn connect(o: Options) -> Result<Arc<Cluster>, Error> {
        if o.seeds.is_empty() {
            return Err(Error::Cluster("no startup nodes".into()));
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let seed = now.as_nanos() as u64 ^ ((std::process::id() as u64) << 32);
        let c = Arc::new(Cluster {
            stats: Stats::default(),
            learned: RwLock::new(HashMap::new()),
            o,
            topo: RwLock::new(Topo::empty()),
            nodes: RwLock::new(HashMap::new()),
            cluster_mode: AtomicBool::new(true),
            refresh_lock: Mutex::new(()),
            refreshing: AtomicBool::new(false),
            born: Instant::now(),
            last_refresh_ms: AtomicU64::new(0),
            rr: AtomicUsize::new(0),
            rng: AtomicU64::new(seed | 1),
            closed: AtomicBool::new(false),
        });
        c.rng.fetch_add(&*c as *const Cluster as u64, Ordering::Relaxed);
        c.refresh(true)?;
        Ok(c)
    }

    fn now_ms(&self) -> u64 {
        self.born.elapsed().as_millis() as u64 + 1
    }

    fn rand(&self) -> u64 {
        // xorshift64*, shared; races only make it more random
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn node(&self, addr: &str) -> Arc<Node> {
        if let Some(n) = self.nodes.read().unwrap().get(addr) {
            return n.clone();
        }
        let mut w = self.nodes.write().unwrap();
        w.entry(addr.to_string())
            .or_insert_with(|| {
                Arc::new(Node { addr: addr.to_string(), idle: Mutex::new(Vec::new()), idle_ro: Mutex::new(Vec::new()) })
            })
            .clone()
    }

    pub fn is_cluster(&self) -> bool {
        self.cluster_mode.load(Ordering::Relaxed)
    }

    // ----- topology ----------------------------------------------------------------------

    /// Reloads CLUSTER SLOTS from the seeds and known nodes in random order. One refresh runs
    /// at a time; a caller that waited for a running refresh uses its result; unless `force`,
    /// refreshes closer together than MIN_REFRESH_MS are skipped.
    pub fn refresh(&self, force: bool) -> Result<(), Error> {
        let asked = self.now_ms();
        let _g = self.refresh_lock.lock().unwrap();
        let last = self.last_refresh_ms.load(Ordering::Acquire);
        if last > asked || (!force && last != 0 && asked.saturating_sub(last) < MIN_REFRESH_MS) {
            return Ok(());
        }
        let mut cands: Vec<String> = self.o.seeds.clone();
        {
            let t = self.topo.read().unwrap();
            for s in &t.shards {
                for a in std::iter::once(&s.primary).chain(&s.replicas) {
                    if !cands.contains(a) {
                        cands.push(a.clone());
                    }
                }
            }
        }
        for i in (1..cands.len()).rev() {
            let j = (self.rand() % (i as u64 + 1)) as usize;
            cands.swap(i, j);
        }
        let mut last_err = Error::Connect("no node answered CLUSTER SLOTS".into());
        for addr in &cands {
            match self.fetch_slots(addr) {
                Ok(topo) => {
                    self.install(topo);
                    self.stats.refreshes.fetch_add(1, Ordering::Relaxed);
                    self.last_refresh_ms.store(self.now_ms(), Ordering::Release);
                    return Ok(());
                }
                Err(e) => last_err = e,
            }
        }
        self.last_refresh_ms.store(self.now_ms(), Ordering::Release);
        Err(last_err)
    }

    /// Refresh on a helper thread unless one is running already.
    fn refresh_bg(self: &Arc<Self>) {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new().name("redraft-refresh".into()).spawn(move || {
            let _ = me.refresh(false);
            me.refreshing.store(false, Ordering::Release);
        });
        if spawned.is_err() {
            self.refreshing.store(false, Ordering::Release);
        }
    }

    /// Sends `CLUSTER <sub>` to `addr` on a pooled connection and reads the reply.
    fn cluster_query(&self, addr: &str, sub: &[u8]) -> Result<Value, Error> {
        let node = self.node(addr);
        let mut c = node.get(&self.o, false, &self.stats)?;
        let mut buf = Vec::new();
        resp::encode_into(&mut buf, &[b"CLUSTER".to_vec(), sub.to_vec()]);
        c.w.write_all(&buf).map_err(|e| io_err(e, addr))?;
        let v = resp::read_value(&mut c.r).map_err(|e| io_err(e, addr))?;
        node.put(c, false, self.o.max_idle);
        Ok(v)
    }

    fn fetch_slots(&self, addr: &str) -> Result<Topo, Error> {
        let ranges = match self.cluster_query(addr, b"SLOTS")? {
            Value::Array(r) => r,
            Value::Error(e) => {
                let t = String::from_utf8_lossy(&e).to_string();
                // A server without cluster support: every slot lives on this node.
                if t.contains("cluster support disabled") || t.starts_with("ERR unknown command") {
                    self.cluster_mode.store(false, Ordering::Relaxed);
                    return Ok(Topo {
                        slots: vec![0; SLOTS],
                        shards: vec![Shard { primary: addr.to_string(), replicas: Vec::new() }],
                    });
                }
                return Err(Error::Cluster(format!("CLUSTER SLOTS on {addr}: {t}")));
            }
            _ => return Err(Error::Cluster(format!("CLUSTER SLOTS on {addr}: unexpected reply"))),
        };
        let mut topo = Topo::empty();
        let mut by_primary: HashMap<String, u32> = HashMap::new();
        let node_addr = |v: &Value| -> Option<String> {
            let Value::Array(f) = v else { return None };
            let host = match f.first()? {
                Value::Data(h) if !h.is_empty() && h != b"?" => String::from_utf8_lossy(h).to_string(),
                _ => host_of(addr).to_string(),
            };
            let Value::Int(port) = f.get(1)? else { return None };
            Some(format!("{host}:{port}"))
        };
        for r in &ranges {
            let Value::Array(f) = r else { continue };
            let (Some(Value::Int(start)), Some(Value::Int(end))) = (f.first(), f.get(1)) else { continue };
            let Some(primary) = f.get(2).and_then(node_addr) else { continue };
            let replicas: Vec<String> = f[3..].iter().filter_map(node_addr).collect();
            let idx = *by_primary.entry(primary.clone()).or_insert_with(|| {
                topo.shards.push(Shard { primary, replicas: Vec::new() });
                topo.shards.len() as u32 - 1
            });
            for rep in replicas {
                if !topo.shards[idx as usize].replicas.contains(&rep) {
                    topo.shards[idx as usize].replicas.push(rep);
                }
            }
            for s in (*start).max(0)..=(*end).min(SLOTS as i64 - 1) {
                topo.slots[s as usize] = idx;
            }
        }
        if topo.shards.is_empty() {
            return Err(Error::Cluster(format!("CLUSTER SLOTS on {addr}: no slot is served")));
        }
        self.cluster_mode.store(true, Ordering::Relaxed);
        if self.o.read_from_replicas && topo.shards.iter().all(|s| s.replicas.is_empty()) {
            // RedRaft lists only each region's leader in CLUSTER SLOTS; its followers (which
            // serve READONLY reads) are in CLUSTER SHARDS.
            let _ = self.add_shard_replicas(addr, &mut topo);
        }
        Ok(topo)
    }

    fn add_shard_replicas(&self, addr: &str, topo: &mut Topo) -> Result<(), Error> {
        let Value::Array(shards) = self.cluster_query(addr, b"SHARDS")? else { return Ok(()) };
        let field = |m: &[Value], name: &[u8]| -> Option<Value> {
            m.chunks(2).find(|kv| matches!(&kv[0], Value::Data(k) if k == name)).and_then(|kv| kv.get(1).cloned())
        };
        for sh in &shards {
            let Value::Array(m) = sh else { continue };
            let (Some(Value::Array(ranges)), Some(Value::Array(nodes))) = (field(m, b"slots"), field(m, b"nodes"))
            else {
                continue;
            };
            let Some(Value::Int(first)) = ranges.first() else { continue };
            let idx = topo.slots[(*first).clamp(0, SLOTS as i64 - 1) as usize];
            if idx == NO_SHARD {
                continue;
            }
            for n in &nodes {
                let Value::Array(nm) = n else { continue };
                let is_replica = matches!(field(nm, b"role"), Some(Value::Data(r)) if r == b"replica");
                let online = !matches!(field(nm, b"health"), Some(Value::Data(h)) if h != b"online");
                let ip = match field(nm, b"ip").or_else(|| field(nm, b"endpoint")) {
                    Some(Value::Data(h)) if !h.is_empty() => String::from_utf8_lossy(&h).to_string(),
                    _ => host_of(addr).to_string(),
                };
                let Some(Value::Int(port)) = field(nm, b"port") else { continue };
                let a = format!("{ip}:{port}");
                let shard = &mut topo.shards[idx as usize];
                if is_replica && online && a != shard.primary && !shard.replicas.contains(&a) {
                    shard.replicas.push(a);
                }
            }
        }
        Ok(())
    }

    fn install(&self, topo: Topo) {
        let keep: Vec<String> = topo
            .shards
            .iter()
            .flat_map(|s| std::iter::once(s.primary.clone()).chain(s.replicas.iter().cloned()))
            .chain(self.o.seeds.iter().cloned())
            .collect();
        *self.topo.write().unwrap() = topo;
        // Pools of nodes that left the cluster are closed.
        self.nodes.write().unwrap().retain(|a, _| keep.contains(a));
    }

    /// MOVED: the slot now belongs to `addr`.
    fn patch(&self, slot: u16, addr: &str) {
        let mut t = self.topo.write().unwrap();
        let idx = match t.shards.iter().position(|s| s.primary == addr) {
            Some(i) => i as u32,
            None => {
                t.shards.push(Shard { primary: addr.to_string(), replicas: Vec::new() });
                t.shards.len() as u32 - 1
            }
        };
        t.slots[slot as usize] = idx;
    }

    pub fn slot_owner(&self, slot: u16) -> Option<(String, Vec<String>)> {
        let t = self.topo.read().unwrap();
        let i = *t.slots.get(slot as usize)?;
        t.shards.get(i as usize).map(|s| (s.primary.clone(), s.replicas.clone()))
    }

    /// (address, is primary) of every node in the topology.
    pub fn all_nodes(&self) -> Vec<(String, bool)> {
        let t = self.topo.read().unwrap();
        let mut out: Vec<(String, bool)> = Vec::new();
        for s in &t.shards {
            if !out.iter().any(|(a, _)| a == &s.primary) {
                out.push((s.primary.clone(), true));
            }
            for r in &s.replicas {
                if !out.iter().any(|(a, _)| a == r) {
                    out.push((r.clone(), false));
                }
            }
        }
        out
    }

    /// Primaries that serve at least one slot.
    fn primaries(&self) -> Vec<String> {
        let t = self.topo.read().unwrap();
        let mut used = vec![false; t.shards.len()];
        for &s in &t.slots {
            if s != NO_SHARD {
                used[s as usize] = true;
            }
        }
        let mut out: Vec<String> = Vec::new();
        for (i, s) in t.shards.iter().enumerate() {
            if used[i] && !out.contains(&s.primary) {
                out.push(s.primary.clone());
            }
        }
        out
    }

    // ----- planning ----------------------------------------------------------------------

    /// Key positions of a command missing from the static table, from COMMAND INFO (asked once
    /// per command, then cached). If that fails, the first argument is taken as the key.
    fn learned_spec(self: &Arc<Self>, args: &[Vec<u8>]) -> keys::Spec {
        let guess = keys::Spec {
            keys: if args.len() > 1 { Keys::Range(1, 1, 1) } else { Keys::None },
            readonly: false,
            split: None,
            fanout: None,
        };
        if !self.is_cluster() {
            return guess;
        }
        let mut info = self.command_info(&args[0].to_ascii_lowercase());
        // Container commands (OBJECT ENCODING key, ...) describe their keys per subcommand.
        if let (Some(Some((0, _, _, _))), Some(sub)) = (info, args.get(1)) {
            let mut full = args[0].to_ascii_lowercase();
            full.push(b'|');
            full.extend(sub.to_ascii_lowercase());
            info = self.command_info(&full);
        }
        match info {
            Some(Some((first, last, step, readonly))) => keys::Spec {
                keys: if first > 0 {
                    Keys::Range(first as usize, last as isize, step.max(1) as usize)
                } else {
                    Keys::None
                },
                readonly,
                split: None,
                fanout: None,
            },
            _ => guess,
        }
    }

    /// (first key, last key, step, read-only) from COMMAND INFO; Some(None): the server does
    /// not know the command; None: no answer (not cached).
    fn command_info(self: &Arc<Self>, name: &[u8]) -> Option<Option<KeyInfo>> {
        if let Some(v) = self.learned.read().unwrap().get(name) {
            return Some(*v);
        }
        let ask = Part {
            args: vec![b"COMMAND".to_vec(), b"INFO".to_vec(), name.to_vec()],
            slot: None,
            node: None,
            readonly: true,
        };
        let reply = self.run_parts(&[ask]).pop()?;
        let Ok(Value::Array(entries)) = reply else { return None };
        let parsed = match entries.first() {
            Some(Value::Array(e)) if e.len() >= 6 => {
                let readonly = matches!(&e[2], Value::Array(f)
                    if f.iter().any(|x| matches!(x, Value::Data(d) if d.eq_ignore_ascii_case(b"readonly"))));
                match (&e[3], &e[4], &e[5]) {
                    (Value::Int(a), Value::Int(b), Value::Int(c)) => Some((*a, *b, *c, readonly)),
                    _ => None,
                }
            }
            _ => None,
        };
        self.learned.write().unwrap().insert(name.to_vec(), parsed);
        Some(parsed)
    }

    /// Turns one command into the parts to send and how to combine their replies.
    pub fn plan(self: &Arc<Self>, args: Vec<Vec<u8>>) -> Result<Job, Error> {
        if args.is_empty() {
            return Err(Error::Cluster("empty command".into()));
        }
        let name = upper(&args[0]);
        let spec = match keys::lookup(&name) {
            Some(s) => s,
            None => self.learned_spec(&args),
        };
        let cluster = self.is_cluster();
        if let (Some(f), true) = (spec.fanout, cluster) {
            let parts: Vec<Part> = self
                .primaries()
                .into_iter()
                .map(|n| Part { args: args.clone(), slot: None, node: Some(n), readonly: spec.readonly })
                .collect();
            let agg = match f {
                Fanout::AllOk => Agg::AllOk,
                Fanout::Sum => Agg::Sum,
            };
            return Ok(Job { parts, agg });
        }
        let pos = keys::key_positions(spec.keys, &args);
        if pos.is_empty() {
            return Ok(one(Part { args, slot: None, node: None, readonly: spec.readonly }));
        }
        let slots: Vec<u16> = pos.iter().map(|&i| keys::key_slot(&args[i])).collect();
        let first = slots[0];
        if !cluster || slots.iter().all(|&s| s == first) {
            return Ok(one(Part { args, slot: Some(first), node: None, readonly: spec.readonly }));
        }
        let Some(split) = spec.split else {
            let mut uniq = slots.clone();
            uniq.sort_unstable();
            uniq.dedup();
            return Err(Error::CrossSlot(format!(
                "CROSSSLOT Keys in request don't hash to the same slot: {} touches slots {:?} and the client cannot split it",
                String::from_utf8_lossy(&args[0]),
                uniq
            )));
        };
        // Group keys by slot in order of first appearance.
        let mut order: Vec<u16> = Vec::new();
        let mut groups: HashMap<u16, Vec<usize>> = HashMap::new();
        for (k, &s) in slots.iter().enumerate() {
            groups
                .entry(s)
                .or_insert_with(|| {
                    order.push(s);
                    Vec::new()
                })
                .push(k);
        }
        let pair = matches!(split, Split::AllOk);
        let mut parts = Vec::with_capacity(order.len());
        let mut positions = Vec::with_capacity(order.len());
        for s in order {
            let ks = &groups[&s];
            let mut a = Vec::with_capacity(1 + ks.len() * if pair { 2 } else { 1 });
            a.push(args[0].clone());
            for &k in ks {
                a.push(args[pos[k]].clone());
                if pair {
                    match args.get(pos[k] + 1) {
                        Some(v) => a.push(v.clone()),
                        None => return Err(Error::Cluster("wrong number of arguments for 'mset' command".into())),
                    }
                }
            }
            parts.push(Part { args: a, slot: Some(s), node: None, readonly: spec.readonly });
            positions.push(ks.clone());
        }
        let agg = match split {
            Split::Concat => Agg::Concat(positions, slots.len()),
            Split::AllOk => Agg::AllOk,
            Split::Sum => Agg::Sum,
        };
        Ok(Job { parts, agg })
    }

    // ----- execution ---------------------------------------------------------------------

    /// Runs every job (all parts of all jobs in one round per node) and returns one result each.
    pub fn run(self: &Arc<Self>, jobs: Vec<Result<Job, Error>>) -> Vec<Reply> {
        if self.closed.load(Ordering::Relaxed) {
            return jobs.iter().map(|_| Err(Error::Cluster("client is closed".into()))).collect();
        }
        let due = self.last_refresh_ms.load(Ordering::Relaxed) + self.o.refresh_interval.as_millis() as u64;
        if self.is_cluster() && self.now_ms() > due {
            self.refresh_bg();
        }
        let mut parts = Vec::new();
        let mut spans = Vec::with_capacity(jobs.len());
        let mut aggs = Vec::with_capacity(jobs.len());
        for j in jobs {
            match j {
                Ok(j) => {
                    spans.push(Ok((parts.len(), j.parts.len())));
                    parts.extend(j.parts);
                    aggs.push(j.agg);
                }
                Err(e) => {
                    spans.push(Err(e));
                    aggs.push(Agg::One);
                }
            }
        }
        let mut replies: Vec<Option<Reply>> = self.run_parts(&parts).into_iter().map(Some).collect();
        spans
            .into_iter()
            .zip(aggs)
            .map(|(span, agg)| {
                let (start, n) = span?;
                let rs: Vec<Reply> = replies[start..start + n].iter_mut().map(|r| r.take().unwrap()).collect();
                aggregate(agg, rs)
            })
            .collect()
    }

    fn target(&self, p: &Part) -> Result<(String, bool), Error> {
        if let Some(n) = &p.node {
            return Ok((n.clone(), false));
        }
        let t = self.topo.read().unwrap();
        let idx = match p.slot {
            Some(s) => t.slots[s as usize],
            None => {
                // keyless: any primary that serves slots
                let mut used: Vec<u32> = Vec::new();
                for &s in &t.slots {
                    if s != NO_SHARD && !used.contains(&s) {
                        used.push(s);
                    }
                }
                if used.is_empty() {
                    NO_SHARD
                } else {
                    used[(self.rand() % used.len() as u64) as usize]
                }
            }
        };
        let Some(shard) = t.shards.get(idx as usize) else {
            return Err(Error::Cluster(format!("slot {} is not served by any node", p.slot.unwrap_or(0))));
        };
        if self.o.read_from_replicas && p.readonly && p.slot.is_some() && !shard.replicas.is_empty() {
            let i = self.rr.fetch_add(1, Ordering::Relaxed) % (shard.replicas.len() + 1);
            if i > 0 {
                return Ok((shard.replicas[i - 1].clone(), true));
            }
        }
        Ok((shard.primary.clone(), false))
    }

    fn backoff(&self, attempt: u32, deadline: Instant) {
        let base = (5u64 << attempt.min(7)).min(400);
        let ms = base / 2 + self.rand() % (base / 2 + 1);
        let left = deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(Duration::from_millis(ms).min(left));
    }

    fn run_parts(self: &Arc<Self>, parts: &[Part]) -> Vec<Reply> {
        let n = parts.len();
        let mut out: Vec<Option<Reply>> = (0..n).map(|_| None).collect();
        let mut st: Vec<PartState> = (0..n).map(|_| PartState::default()).collect();
        let mut pending: Vec<usize> = (0..n).collect();
        let deadline = Instant::now() + self.o.retry_timeout;
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let mut groups: Vec<Group> = Vec::new();
            let mut index: HashMap<(String, bool), usize> = HashMap::new();
            let mut retry = Vec::new();
            let (mut wait, mut refresh) = (false, false);
            for &i in &pending {
                let asking = st[i].ask.take();
                let (addr, ro) = match asking.clone() {
                    Some(a) => (a, false),
                    None => match self.target(&parts[i]) {
                        Ok(t) => t,
                        Err(e) => {
                            if Instant::now() < deadline {
                                retry.push(i);
                                wait = true;
                                refresh = true;
                            } else {
                                out[i] = Some(Err(e));
                            }
                            continue;
                        }
                    },
                };
                let g = *index.entry((addr.clone(), ro)).or_insert_with(|| {
                    groups.push(Group { addr, ro, items: Vec::new() });
                    groups.len() - 1
                });
                groups[g].items.push((i, asking.is_some()));
            }
            let outcomes = self.exchange(&groups, parts);
            for (g, results) in groups.iter().zip(outcomes) {
                for (&(i, _), o) in g.items.iter().zip(results) {
                    let now_ok = Instant::now() < deadline;
                    match o {
                        Outcome::Value(Value::Error(e)) => {
                            let code = err_code(&e);
                            if code == b"MOVED" || code == b"ASK" {
                                let Some((slot, addr)) = parse_redirect(&e) else {
                                    out[i] = Some(Ok(Value::Error(e)));
                                    continue;
                                };
                                st[i].redirects += 1;
                                if st[i].redirects > self.o.max_redirects {
                                    out[i] = Some(Err(Error::Cluster(format!(
                                        "too many redirects ({}), last: {}",
                                        self.o.max_redirects,
                                        String::from_utf8_lossy(&e)
                                    ))));
                                    continue;
                                }
                                if code == b"MOVED" {
                                    self.stats.moved.fetch_add(1, Ordering::Relaxed);
                                    self.patch(slot, &addr);
                                    self.refresh_bg();
                                    // Sent back to a node seen before (or to itself): the
                                    // nodes disagree for now, so wait and re-read the topology.
                                    if addr == g.addr || st[i].visited.contains(&addr) {
                                        wait = true;
                                    }
                                    st[i].visited.push(g.addr.clone());
                                } else {
                                    self.stats.ask.fetch_add(1, Ordering::Relaxed);
                                    st[i].ask = Some(addr);
                                }
                                retry.push(i);
                            } else if code == b"TRYAGAIN" || code == b"CLUSTERDOWN" || code == b"LOADING" {
                                if now_ok {
                                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                                    retry.push(i);
                                    wait = true;
                                    refresh |= code == b"CLUSTERDOWN";
                                } else {
                                    out[i] = Some(Ok(Value::Error(e)));
                                }
                            } else {
                                out[i] = Some(Ok(Value::Error(e)));
                            }
                        }
                        Outcome::Value(v) => out[i] = Some(Ok(v)),
                        Outcome::NotSent(e) => {
                            if now_ok {
                                retry.push(i);
                                wait = true;
                                refresh = true;
                            } else {
                                out[i] = Some(Err(e));
                            }
                        }
                        Outcome::Lost(e) => {
                            // A write that may have run is never resent.
                            if parts[i].readonly && now_ok && !matches!(e, Error::Timeout(_)) {
                                retry.push(i);
                                wait = true;
                                refresh = true;
                            } else {
                                out[i] = Some(Err(e));
                            }
                        }
                    }
                }
            }
            pending = retry;
            if pending.is_empty() {
                break;
            }
            if refresh {
                let _ = self.refresh(false);
            }
            if wait {
                self.backoff(attempt, deadline);
                attempt += 1;
            }
        }
        out.into_iter().map(|r| r.unwrap_or_else(|| Err(Error::Cluster("no reply".into())))).collect()
    }

    /// Sends every group's commands to its node, then reads the replies: the nodes work at once.
    fn exchange(&self, groups: &[Group], parts: &[Part]) -> Vec<Vec<Outcome>> {
        let n: usize = groups.iter().map(|g| g.items.len()).sum();
        self.stats.sent.fetch_add(n as u64, Ordering::Relaxed);
        let bufs: Vec<Vec<u8>> = groups
            .iter()
            .map(|g| {
                let mut b = Vec::new();
                for &(i, asking) in &g.items {
                    if asking {
                        resp::encode_into(&mut b, &[b"ASKING".to_vec()]);
                    }
                    resp::encode_into(&mut b, &parts[i].args);
                }
                b
            })
            .collect();
        if bufs.iter().any(|b| b.len() > BIG_REQUEST) && groups.len() > 1 {
            return std::thread::scope(|s| {
                let hs: Vec<_> =
                    groups.iter().zip(&bufs).map(|(g, b)| s.spawn(move || self.exchange_group(g, b))).collect();
                hs.into_iter().map(|h| h.join().expect("exchange thread")).collect()
            });
        }
        if groups.len() == 1 {
            return vec![self.exchange_group(&groups[0], &bufs[0])];
        }
        // phase 1: write to every node
        let mut sent: Vec<Result<(Arc<Node>, Conn), Outcome>> = Vec::with_capacity(groups.len());
        for (g, b) in groups.iter().zip(&bufs) {
            let node = self.node(&g.addr);
            sent.push(match node.get(&self.o, g.ro, &self.stats) {
                Err(e) => Err(Outcome::NotSent(e)),
                Ok(mut c) => match c.w.write_all(b) {
                    Ok(()) => Ok((node, c)),
                    Err(e) => Err(Outcome::Lost(io_err(e, &g.addr))),
                },
            });
        }
        // phase 2: read every reply
        groups
            .iter()
            .zip(sent)
            .map(|(g, s)| match s {
                Err(o) => g.items.iter().map(|_| clone_outcome(&o)).collect(),
                Ok((node, c)) => self.read_group(g, node, c),
            })
            .collect()
    }

    fn exchange_group(&self, g: &Group, buf: &[u8]) -> Vec<Outcome> {
        let node = self.node(&g.addr);
        let mut c = match node.get(&self.o, g.ro, &self.stats) {
            Ok(c) => c,
            Err(e) => return g.items.iter().map(|_| Outcome::NotSent(e.clone())).collect(),
        };
        if buf.len() <= BIG_REQUEST {
            if let Err(e) = c.w.write_all(buf) {
                let e = io_err(e, &g.addr);
                return g.items.iter().map(|_| Outcome::Lost(e.clone())).collect();
            }
            return self.read_group(g, node, c);
        }
        // A writer thread sends while this one reads.
        let mut w = match c.w.try_clone() {
            Ok(w) => w,
            Err(e) => {
                let e = io_err(e, &g.addr);
                return g.items.iter().map(|_| Outcome::NotSent(e.clone())).collect();
            }
        };
        std::thread::scope(|s| {
            let h = s.spawn(move || w.write_all(buf));
            let res = self.read_group(g, node, c);
            let _ = h.join();
            res
        })
    }

    fn read_group(&self, g: &Group, node: Arc<Node>, mut c: Conn) -> Vec<Outcome> {
        let mut out = Vec::with_capacity(g.items.len());
        for &(_, asking) in &g.items {
            if asking {
                if let Err(e) = resp::read_value(&mut c.r) {
                    let e = io_err(e, &g.addr);
                    out.resize_with(g.items.len(), || Outcome::Lost(e.clone()));
                    return out;
                }
            }
            match resp::read_value(&mut c.r) {
                Ok(v) => out.push(Outcome::Value(v)),
                Err(e) => {
                    let e = io_err(e, &g.addr);
                    out.resize_with(g.items.len(), || Outcome::Lost(e.clone()));
                    return out;
                }
            }
        }
        node.put(c, g.ro, self.o.max_idle);
        out
    }

    /// MULTI, the commands and EXEC on the node serving their one slot. A MOVED, ASK, TRYAGAIN,
    /// CLUSTERDOWN or LOADING answer while queueing makes EXEC abort (nothing ran), so the whole
    /// transaction is sent again (ASK: once the migration is over, after backoff). Returns EXEC's
    /// reply (Nil when a WATCH aborted it) or the first error a command got while queueing.
    pub fn run_transaction(self: &Arc<Self>, cmds: Vec<Vec<Vec<u8>>>) -> Reply {
        let mut slot: Option<u16> = None;
        for a in &cmds {
            if a.is_empty() {
                return Err(Error::Cluster("empty command".into()));
            }
            let spec = match keys::lookup(&upper(&a[0])) {
                Some(s) => s,
                None => self.learned_spec(a),
            };
            for p in keys::key_positions(spec.keys, a) {
                let s = keys::key_slot(&a[p]);
                match slot {
                    Some(x) if x != s && self.is_cluster() => {
                        return Err(Error::CrossSlot(format!(
                            "CROSSSLOT Keys in request don't hash to the same slot: a transaction touches slots {x} and {s}"
                        )));
                    }
                    _ => slot = Some(s),
                }
            }
        }
        let mut buf = Vec::new();
        resp::encode_into(&mut buf, &[b"MULTI".to_vec()]);
        for a in &cmds {
            resp::encode_into(&mut buf, a);
        }
        resp::encode_into(&mut buf, &[b"EXEC".to_vec()]);
        let deadline = Instant::now() + self.o.retry_timeout;
        let (mut redirects, mut attempt) = (0u32, 0u32);
        let mut visited: Vec<String> = Vec::new();
        loop {
            let part = Part { args: Vec::new(), slot, node: None, readonly: false };
            let addr = match self.target(&part) {
                Ok((a, _)) => a,
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => {
                    let _ = self.refresh(false);
                    self.backoff(attempt, deadline);
                    attempt += 1;
                    continue;
                }
            };
            let node = self.node(&addr);
            let mut c = match node.get(&self.o, false, &self.stats) {
                Ok(c) => c,
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => {
                    let _ = self.refresh(false);
                    self.backoff(attempt, deadline);
                    attempt += 1;
                    continue;
                }
            };
            self.stats.sent.fetch_add(cmds.len() as u64 + 2, Ordering::Relaxed);
            c.w.write_all(&buf).map_err(|e| io_err(e, &addr))?;
            let mut replies = Vec::with_capacity(cmds.len() + 2);
            for _ in 0..cmds.len() + 2 {
                replies.push(resp::read_value(&mut c.r).map_err(|e| io_err(e, &addr))?);
            }
            node.put(c, false, self.o.max_idle);
            let exec = replies.pop().expect("EXEC reply");
            let errors: Vec<Vec<u8>> = replies
                .into_iter()
                .chain(std::iter::once(exec.clone()))
                .filter_map(|v| if let Value::Error(e) = v { Some(e) } else { None })
                .collect();
            let redirect = errors.iter().find(|e| err_code(e) == b"MOVED").and_then(|e| parse_redirect(e));
            let transient =
                errors.iter().find(|e| matches!(err_code(e), b"ASK" | b"TRYAGAIN" | b"CLUSTERDOWN" | b"LOADING"));
            if let Some((s, to)) = redirect {
                self.stats.moved.fetch_add(1, Ordering::Relaxed);
                redirects += 1;
                if redirects > self.o.max_redirects {
                    return Err(Error::Cluster(format!("too many redirects ({})", self.o.max_redirects)));
                }
                self.patch(s, &to);
                self.refresh_bg();
                if to == addr || visited.contains(&to) {
                    self.backoff(attempt, deadline);
                    attempt += 1;
                }
                visited.push(addr);
                continue;
            }
            if let Some(e) = transient {
                if Instant::now() >= deadline {
                    return Ok(Value::Error(e.clone()));
                }
                self.stats.retried.fetch_add(1, Ordering::Relaxed);
                self.backoff(attempt, deadline);
                attempt += 1;
                continue;
            }
            // A command refused while queueing (syntax, arity) aborts EXEC: report that error.
            if let Some(e) = errors.into_iter().find(|e| err_code(e) != b"EXECABORT") {
                return Ok(Value::Error(e));
            }
            return Ok(exec);
        }
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.nodes.write().unwrap().clear();
    }
}

fn clone_outcome(o: &Outcome) -> Outcome {
    match o {
        Outcome::Value(v) => Outcome::Value(v.clone()),
        Outcome::NotSent(e) => Outcome::NotSent(e.clone()),
        Outcome::Lost(e) => Outcome::Lost(e.clone()),
    }
}

fn one(p: Part) -> Job {
    Job { parts: vec![p], agg: Agg::One }
}

fn aggregate(agg: Agg, mut rs: Vec<Reply>) -> Reply {
    if let Agg::One = agg {
        return rs.pop().unwrap_or(Err(Error::Cluster("no reply".into())));
    }
    // The first failure of any part is the result.
    for r in &rs {
        match r {
            Err(e) => return Err(e.clone()),
            Ok(Value::Error(e)) => return Ok(Value::Error(e.clone())),
            _ => {}
        }
    }
    match agg {
        Agg::One => unreachable!(),
        Agg::Sum => {
            let mut n = 0i64;
            for r in rs {
                if let Ok(Value::Int(i)) = r {
                    n += i;
                }
            }
            Ok(Value::Int(n))
        }
        Agg::AllOk => Ok(Value::Data(b"OK".to_vec())),
        Agg::Concat(positions, total) => {
            let mut vals: Vec<Value> = vec![Value::Nil; total];
            for (r, pos) in rs.into_iter().zip(positions) {
                if let Ok(Value::Array(items)) = r {
                    for (v, p) in items.into_iter().zip(pos) {
                        vals[p] = v;
                    }
                }
            }
            Ok(Value::Array(vals))
        }
    }
}
