//! The registry of connected clients (CLIENT LIST / CLIENT INFO) and the per-command and
//! per-error counters of INFO commandstats / errorstats (and of the admin port's /metrics,
//! which also reads the per-command latency histograms kept here).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::cmd::table::{CommandSpec, COMMANDS};
use crate::cmd::Session;

/// What CLIENT LIST shows of a connection; the connection refreshes it after each batch.
pub struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub fd: i32,
    pub created: Instant,
    state: Mutex<ClientState>,
}

struct ClientState {
    name: String,
    last_cmd: &'static str,
    resp: u8,
    readonly: bool,
    last_active: Instant,
}

impl ClientInfo {
    pub fn new(id: u64, addr: SocketAddr, laddr: SocketAddr, fd: i32) -> ClientInfo {
        let now = Instant::now();
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            created: now,
            state: Mutex::new(ClientState {
                name: String::new(),
                last_cmd: "NULL",
                resp: 2,
                readonly: false,
                last_active: now,
            }),
        }
    }

    /// Copies the session's visible state (once per batch of commands).
    pub fn refresh(&self, s: &Session) {
        let mut st = self.state.lock().expect("client state lock");
        st.name = s.name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        st.last_cmd = s.last_cmd;
        st.resp = s.proto;
        st.readonly = s.readonly;
        st.last_active = Instant::now();
    }

    /// One CLIENT LIST line (without the trailing newline), in Redis 7's field order.
    pub fn line(&self) -> String {
        let st = self.state.lock().expect("client state lock");
        let flags = if st.readonly { "r" } else { "N" };
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={flags} db=0 sub=0 psub=0 ssub=0 multi=-1 \
             qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} \
             user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            st.name,
            self.created.elapsed().as_secs(),
            st.last_active.elapsed().as_secs(),
            st.last_cmd,
            st.resp,
        )
    }
}

#[derive(Default)]
pub struct Clients {
    map: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
}

impl Clients {
    pub fn add(&self, c: Arc<ClientInfo>) {
        self.map.lock().expect("clients lock").insert(c.id, c);
    }

    pub fn remove(&self, id: u64) {
        self.map.lock().expect("clients lock").remove(&id);
    }

    pub fn len(&self) -> usize {
        self.map.lock().expect("clients lock").len()
    }

    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.map.lock().expect("clients lock").values().cloned().collect()
    }
}

/// Upper bounds, in microseconds, of the command latency histogram buckets: 1-2.5-5 steps
/// from 10us to 10s. A call slower than the last bound lands in the overflow (+Inf) bucket.
pub const LATENCY_BUCKETS_US: [u64; 19] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];
const BUCKETS: usize = LATENCY_BUCKETS_US.len() + 1;

/// Calls, time and errors of one command (INFO commandstats).
#[derive(Default)]
struct CmdStat {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    /// Calls per latency bucket (not cumulative); the last is the overflow bucket.
    buckets: [AtomicU64; BUCKETS],
}

/// One command's counters as read at one moment (/metrics).
pub struct CommandSnapshot {
    pub name: &'static str,
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Per-bucket (not cumulative) call counts, bounds `LATENCY_BUCKETS_US` then +Inf.
    pub buckets: [u64; BUCKETS],
}

/// The latency bucket of a call: the first whose bound is >= `usec`, else the overflow.
fn bucket_of(usec: u64) -> usize {
    LATENCY_BUCKETS_US.partition_point(|&b| b < usec)
}

pub struct CommandStats {
    by_index: Vec<CmdStat>,
    errors: Mutex<HashMap<String, u64>>,
    pub total_errors: AtomicU64,
}

impl Default for CommandStats {
    fn default() -> Self {
        CommandStats {
            by_index: COMMANDS.iter().map(|_| CmdStat::default()).collect(),
            errors: Mutex::new(HashMap::new()),
            total_errors: AtomicU64::new(0),
        }
    }
}

fn index_of(spec: &CommandSpec) -> usize {
    // Every spec is an element of COMMANDS, so its offset in the slice is its index.
    let base = COMMANDS.as_ptr() as usize;
    (spec as *const CommandSpec as usize - base) / std::mem::size_of::<CommandSpec>()
}

impl CommandStats {
    /// A command that ran: `failed` when its reply was an error.
    pub fn record(&self, spec: &CommandSpec, usec: u64, failed: bool) {
        let s = &self.by_index[index_of(spec)];
        s.calls.fetch_add(1, Ordering::Relaxed);
        s.usec.fetch_add(usec, Ordering::Relaxed);
        s.buckets[bucket_of(usec)].fetch_add(1, Ordering::Relaxed);
        if failed {
            s.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A command refused before running (arity, authentication, CROSSSLOT).
    pub fn reject(&self, spec: &CommandSpec) {
        self.by_index[index_of(spec)].rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an error reply by its code (the first word: ERR, WRONGTYPE, ...).
    pub fn error_reply(&self, text: &str) {
        let code = text.split(' ').next().unwrap_or("ERR");
        self.total_errors.fetch_add(1, Ordering::Relaxed);
        *self.errors.lock().expect("errorstats lock").entry(code.to_string()).or_default() += 1;
    }

    /// The counters of every command that has been called or rejected, in table order. Each
    /// counter is read on its own: under load `calls` and the bucket sum may differ by the
    /// calls being recorded at that moment.
    pub fn snapshot(&self) -> Vec<CommandSnapshot> {
        COMMANDS
            .iter()
            .zip(&self.by_index)
            .filter_map(|(spec, s)| {
                let calls = s.calls.load(Ordering::Relaxed);
                let rejected = s.rejected.load(Ordering::Relaxed);
                if calls == 0 && rejected == 0 {
                    return None;
                }
                Some(CommandSnapshot {
                    name: spec.name,
                    calls,
                    usec: s.usec.load(Ordering::Relaxed),
                    rejected,
                    failed: s.failed.load(Ordering::Relaxed),
                    buckets: std::array::from_fn(|i| s.buckets[i].load(Ordering::Relaxed)),
                })
            })
            .collect()
    }

    /// Error replies by code, sorted by code.
    pub fn errors(&self) -> Vec<(String, u64)> {
        let mut codes: Vec<(String, u64)> =
            self.errors.lock().expect("errorstats lock").iter().map(|(c, n)| (c.clone(), *n)).collect();
        codes.sort();
        codes
    }

    pub fn write_commandstats(&self, out: &mut String) {
        for (spec, s) in COMMANDS.iter().zip(&self.by_index) {
            let calls = s.calls.load(Ordering::Relaxed);
            let rejected = s.rejected.load(Ordering::Relaxed);
            if calls == 0 && rejected == 0 {
                continue;
            }
            let usec = s.usec.load(Ordering::Relaxed);
            let per = if calls == 0 { 0.0 } else { usec as f64 / calls as f64 };
            let _ = write!(
                out,
                "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={}\r\n",
                spec.name,
                s.failed.load(Ordering::Relaxed)
            );
        }
    }

    pub fn write_errorstats(&self, out: &mut String) {
        for (code, n) in self.errors() {
            let _ = write!(out, "errorstat_{code}:count={n}\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(10), 0);
        assert_eq!(bucket_of(11), 1);
        assert_eq!(bucket_of(1_000), 6);
        assert_eq!(bucket_of(10_000_000), LATENCY_BUCKETS_US.len() - 1);
        assert_eq!(bucket_of(10_000_001), LATENCY_BUCKETS_US.len());
        assert!(LATENCY_BUCKETS_US.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn record_fills_histogram() {
        let st = CommandStats::default();
        let set = COMMANDS.iter().find(|c| c.name == "set").expect("set");
        st.record(set, 5, false);
        st.record(set, 300, true);
        st.record(set, u64::MAX, false);
        let snap = st.snapshot();
        let s = snap.iter().find(|c| c.name == "set").expect("set recorded");
        assert_eq!((s.calls, s.failed), (3, 1));
        assert_eq!(s.buckets.iter().sum::<u64>(), 3);
        assert_eq!((s.buckets[0], s.buckets[5], s.buckets[BUCKETS - 1]), (1, 1, 1));
        assert_eq!(snap.len(), 1);
    }
}
