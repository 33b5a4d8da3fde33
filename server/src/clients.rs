//! The registry of connected clients (CLIENT LIST / CLIENT INFO) and the per-command and
//! per-error counters of INFO commandstats / errorstats.

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

/// Calls, time and errors of one command (INFO commandstats).
#[derive(Default)]
struct CmdStat {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
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
        let errors = self.errors.lock().expect("errorstats lock");
        let mut codes: Vec<_> = errors.iter().collect();
        codes.sort();
        for (code, n) in codes {
            let _ = write!(out, "errorstat_{code}:count={n}\r\n");
        }
    }
}
