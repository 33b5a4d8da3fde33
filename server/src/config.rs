//! Server configuration from the command line.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug, Clone)]
#[command(name = "redraft-server", version, about = "RedRaft: a strongly consistent, Redis-compatible store")]
pub struct Config {
    /// RESP (Redis protocol) port.
    #[arg(long, default_value_t = 6379)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Where RocksDB keeps the Raft log and the data.
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Split the slot space into this many regions (Raft groups) in this process. Fixed when
    /// the data dir is created (default 1); later starts use the recorded count.
    #[arg(long)]
    pub regions: Option<u16>,
    /// The IP this node advertises to clients (CLUSTER SLOTS/NODES, MOVED); default: --bind,
    /// or 127.0.0.1 when bound to a wildcard address.
    #[arg(long)]
    pub announce_ip: Option<String>,
    /// The RESP port this node advertises; default: --port.
    #[arg(long)]
    pub announce_port: Option<u16>,
    /// Require clients to AUTH with this password (user `default`).
    #[arg(long)]
    pub requirepass: Option<String>,
    /// Largest bulk string a client may send (proto-max-bulk-len).
    #[arg(long, default_value_t = 512 * 1024 * 1024)]
    pub proto_max_bulk_len: usize,
    /// A client whose unparsed input exceeds this many bytes is disconnected.
    #[arg(long, default_value_t = 1024 * 1024 * 1024)]
    pub client_query_buffer_limit: usize,
    /// How often the active expiry task looks for expired keys, in ms.
    #[arg(long, default_value_t = 100)]
    pub active_expire_interval_ms: u64,
}
