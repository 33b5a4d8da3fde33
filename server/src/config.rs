//! Server configuration: `redraft-server [redraft.conf] [--option value ...]`.
//!
//! The config file uses Redis's syntax (`key value` lines, `#` comments, quoted values) and
//! Redis's key names where one exists (`dir` is the data dir). Its entries become flags placed
//! before the command line's, so a flag given on the command line overrides the file.

use std::path::PathBuf;

use clap::{ArgAction, Parser};

use crate::resp::codec::split_args;

#[derive(Parser, Debug, Clone)]
#[command(name = "redraft-server", version, args_override_self = true)]
#[command(about = "RedRaft: a strongly consistent, Redis-compatible store")]
pub struct Config {
    /// RESP (Redis protocol) port.
    #[arg(long, default_value_t = 6379)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Where RocksDB keeps the Raft log and the data (config file: `dir`).
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Split the slot space into this many regions (Raft groups) in this process. Fixed when
    /// the data dir is created (default 1); later starts use the recorded count. In a cluster:
    /// the count the cluster map is created with (default 2 x founders), when the node that
    /// creates it has the flag.
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
    /// Most clients connected at once; more are refused with an error.
    #[arg(long, default_value_t = 10000)]
    pub maxclients: usize,
    /// Largest bulk string a client may send (proto-max-bulk-len), e.g. 512mb.
    #[arg(long, default_value = "512mb", value_parser = parse_memory)]
    pub proto_max_bulk_len: usize,
    /// A client whose unparsed input exceeds this is disconnected, e.g. 1gb.
    #[arg(long, default_value = "1gb", value_parser = parse_memory)]
    pub client_query_buffer_limit: usize,
    /// A client whose pending replies exceed this is disconnected, e.g. 256mb.
    #[arg(long, default_value = "1gb", value_parser = parse_memory)]
    pub client_output_buffer_limit: usize,
    /// Cluster mode: this node's id (not 0). A founder's id is in `--cluster`; a node whose id
    /// is not joins the running cluster those founders formed.
    #[arg(long)]
    pub node_id: Option<u64>,
    /// Cluster mode: the founding nodes, `id=host:grpc_port,...`, each as this node reaches it.
    /// Without it the server runs standalone.
    #[arg(long, value_parser = parse_cluster)]
    pub cluster: Option<Voters>,
    /// Cluster mode: the port of the gRPC server other nodes reach (Raft and cluster RPCs).
    #[arg(long)]
    pub grpc_port: Option<u16>,
    /// The port of the HTTP admin server (/health, /metrics, /cluster, /admin/...); none
    /// when unset.
    #[arg(long)]
    pub admin_port: Option<u16>,
    /// Writes are refused (-MISCONF) while the data dir's file system has less than this free,
    /// so RocksDB never fails a log write for lack of space; 0 turns the guard off.
    #[arg(long, default_value = "256mb", value_parser = parse_memory)]
    pub reserve_disk_space: usize,
    /// A region records a snapshot point every this many log entries; the log before it (less
    /// a twentieth) is purged, and a replica that falls further behind catches up from a
    /// snapshot.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub snapshot_entries: u64,
    /// Cluster mode: the meta leader splits a region holding more keys than this, at the slot
    /// that halves its keys (0: never).
    #[arg(long, default_value_t = 1_000_000)]
    pub region_split_keys: u64,
    /// Cluster mode: the meta leader splits a region taking more writes per second than this,
    /// sustained over three checks (15 s) (0: never).
    #[arg(long, default_value_t = 0)]
    pub region_split_qps: u64,
    /// Cluster mode: the meta leader merges two adjacent regions that both hold fewer keys than
    /// this and take under 100 writes/s (0: never, the default: a new cluster's regions are
    /// empty and would merge at once).
    #[arg(long, default_value_t = 0)]
    pub region_merge_keys: u64,
    /// Cluster mode: the meta leader moves replicas from the node holding the most to the node
    /// holding the fewest while they differ by two or more (e.g. onto a node that joined).
    #[arg(long, default_value = "no", value_parser = parse_yes_no, action = ArgAction::Set)]
    pub balance_replicas: bool,
    /// Close a client idle for more than this many seconds (0: never), like Redis's `timeout`.
    #[arg(long, default_value_t = 0)]
    pub timeout: u64,
    /// Without `requirepass`, serve only clients connecting from a loopback address (Redis's
    /// protected mode); others get a `-DENIED` error and are closed.
    #[arg(long, default_value = "yes", value_parser = parse_yes_no, action = ArgAction::Set)]
    pub protected_mode: bool,
    /// Cluster mode: a shared secret every gRPC request between nodes must carry; requests
    /// without it are refused. Also required (as `Authorization: Bearer <secret>`) by the admin
    /// port's POST endpoints.
    #[arg(long)]
    pub cluster_secret: Option<String>,
    /// Cluster mode: read the cluster secret from this file (its first line).
    #[arg(long)]
    pub cluster_secret_file: Option<PathBuf>,
    /// RESP over TLS on this port (0: none). The plain `--port` keeps serving unless it is 0.
    #[arg(long, default_value_t = 0)]
    pub tls_port: u16,
    /// PEM certificate chain this node presents (RESP TLS port, and gRPC with `--tls-cluster`).
    #[arg(long)]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `--tls-cert-file`.
    #[arg(long)]
    pub tls_key_file: Option<PathBuf>,
    /// PEM CA certificates that client certificates (and, with `--tls-cluster`, peers) must
    /// chain to.
    #[arg(long)]
    pub tls_ca_cert_file: Option<PathBuf>,
    /// Whether TLS clients must present a certificate signed by the CA: yes, no or optional.
    #[arg(long, default_value = "yes", value_enum, ignore_case = true)]
    pub tls_auth_clients: TlsAuthClients,
    /// Cluster mode: node-to-node gRPC over mutual TLS (every node presents its certificate
    /// and verifies its peers' against `--tls-ca-cert-file`).
    #[arg(long, default_value = "no", value_parser = parse_yes_no, action = ArgAction::Set)]
    pub tls_cluster: bool,
    /// How often the active expiry task looks for expired keys, in ms.
    #[arg(long, default_value_t = 100)]
    pub active_expire_interval_ms: u64,
    /// The config file given as the first argument (absolute), if any.
    #[arg(skip)]
    pub config_file: Option<PathBuf>,
}

/// Config-file keys and the flag each one sets.
const FILE_KEYS: &[(&str, &str)] = &[
    ("port", "--port"),
    ("bind", "--bind"),
    ("dir", "--data-dir"),
    ("regions", "--regions"),
    ("announce-ip", "--announce-ip"),
    ("announce-port", "--announce-port"),
    ("requirepass", "--requirepass"),
    ("maxclients", "--maxclients"),
    ("proto-max-bulk-len", "--proto-max-bulk-len"),
    ("client-query-buffer-limit", "--client-query-buffer-limit"),
    ("client-output-buffer-limit", "--client-output-buffer-limit"),
    ("active-expire-interval-ms", "--active-expire-interval-ms"),
    ("reserve-disk-space", "--reserve-disk-space"),
    ("snapshot-entries", "--snapshot-entries"),
    ("region-split-keys", "--region-split-keys"),
    ("region-split-qps", "--region-split-qps"),
    ("region-merge-keys", "--region-merge-keys"),
    ("balance-replicas", "--balance-replicas"),
    ("timeout", "--timeout"),
    ("protected-mode", "--protected-mode"),
    ("cluster-secret", "--cluster-secret"),
    ("cluster-secret-file", "--cluster-secret-file"),
    ("tls-port", "--tls-port"),
    ("tls-cert-file", "--tls-cert-file"),
    ("tls-key-file", "--tls-key-file"),
    ("tls-ca-cert-file", "--tls-ca-cert-file"),
    ("tls-auth-clients", "--tls-auth-clients"),
    ("tls-cluster", "--tls-cluster"),
    ("node-id", "--node-id"),
    ("cluster", "--cluster"),
    ("grpc-port", "--grpc-port"),
    ("admin-port", "--admin-port"),
];

/// `tls-auth-clients`: whether a TLS client must present a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsAuthClients {
    Yes,
    No,
    Optional,
}

impl TlsAuthClients {
    fn name(self) -> &'static str {
        match self {
            TlsAuthClients::Yes => "yes",
            TlsAuthClients::No => "no",
            TlsAuthClients::Optional => "optional",
        }
    }
}

/// Redis's booleans: `yes` or `no` (any case).
pub fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!("'{s}' is not yes or no")),
    }
}

/// The voters of `--cluster`: `(node id, gRPC "host:port")`, sorted by id.
#[derive(Clone, Debug, PartialEq)]
pub struct Voters(pub Vec<(u64, String)>);

/// `id=host:port,...` -> voters: ids unique and non-zero, addresses with a port.
pub fn parse_cluster(s: &str) -> Result<Voters, String> {
    let mut out: Vec<(u64, String)> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, addr) = part.split_once('=').ok_or_else(|| format!("'{part}' is not id=host:port"))?;
        let id: u64 = id.trim().parse().map_err(|_| format!("'{id}' is not a node id"))?;
        if id == 0 {
            return Err("node ids start at 1".into());
        }
        let addr = addr.trim();
        match addr.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
            _ => return Err(format!("'{addr}' is not host:port")),
        }
        if out.iter().any(|(i, _)| *i == id) {
            return Err(format!("node id {id} appears twice"));
        }
        out.push((id, addr.to_string()));
    }
    if out.is_empty() {
        return Err("no nodes given".into());
    }
    out.sort();
    Ok(Voters(out))
}

/// Redis's memory sizes: a number with an optional unit (k=1000, kb=1024, m, mb, g, gb).
pub fn parse_memory(s: &str) -> Result<usize, String> {
    let lower = s.to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("invalid size '{s}'"))?;
    let mul: usize = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(format!("invalid size unit in '{s}'")),
    };
    n.checked_mul(mul).ok_or_else(|| format!("size '{s}' is too large"))
}

/// Turns a config file's text into flags. Unknown keys are an error naming the key and line.
pub fn file_to_flags(text: &str, path: &str) -> Result<Vec<String>, String> {
    let mut flags = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let args = split_args(line.as_bytes()).ok_or_else(|| format!("{path}:{}: unbalanced quotes", i + 1))?;
        let key = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let Some((_, flag)) = FILE_KEYS.iter().find(|(k, _)| *k == key) else {
            return Err(format!("{path}:{}: unknown configuration key '{key}'", i + 1));
        };
        if args.len() != 2 {
            return Err(format!("{path}:{}: '{key}' takes exactly one value", i + 1));
        }
        // `--flag=value`, so a value starting with '-' is not taken for a flag.
        flags.push(format!("{flag}={}", String::from_utf8_lossy(&args[1])));
    }
    Ok(flags)
}

impl Config {
    /// Parses the command line, reading a config file given as the first argument.
    pub fn load() -> Result<Config, String> {
        let mut args: Vec<String> = std::env::args().collect();
        let mut argv = vec![args.remove(0)];
        let mut config_file = None;
        if let Some(first) = args.first().filter(|a| !a.starts_with('-')) {
            let path = first.clone();
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read config file {path}: {e}"))?;
            argv.extend(file_to_flags(&text, &path)?);
            config_file = Some(std::fs::canonicalize(&path).unwrap_or_else(|_| PathBuf::from(&path)));
            args.remove(0);
        }
        argv.extend(args);
        match Config::try_parse_from(argv) {
            Ok(mut c) => {
                c.config_file = config_file;
                c.check_cluster()?;
                // As in Redis, an empty password means no password.
                if c.requirepass.as_deref() == Some("") {
                    c.requirepass = None;
                }
                c.read_cluster_secret()?;
                c.check_tls()?;
                Ok(c)
            }
            // --help, --version and usage errors: clap prints them and picks the exit code.
            Err(e) => e.exit(),
        }
    }

    /// Cluster flags are all-or-nothing: `--cluster` needs `--node-id` and `--grpc-port`; those
    /// two without `--cluster` are a mistake worth stopping for.
    fn check_cluster(&self) -> Result<(), String> {
        match &self.cluster {
            None => {
                if self.node_id.is_some() || self.grpc_port.is_some() {
                    return Err("--node-id and --grpc-port need --cluster".into());
                }
            }
            Some(_) => {
                // A --node-id not in --cluster joins the cluster those founders formed.
                if self.node_id.ok_or("--cluster needs --node-id")? == 0 {
                    return Err("--node-id must not be 0".into());
                }
                if self.grpc_port.is_none() {
                    return Err("--cluster needs --grpc-port".into());
                }
            }
        }
        Ok(())
    }

    /// `--cluster-secret-file` becomes the secret (its first line); an empty secret is none.
    fn read_cluster_secret(&mut self) -> Result<(), String> {
        if let Some(path) = &self.cluster_secret_file {
            if self.cluster_secret.is_some() {
                return Err("give --cluster-secret or --cluster-secret-file, not both".into());
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read cluster-secret-file {}: {e}", path.display()))?;
            self.cluster_secret = Some(text.lines().next().unwrap_or("").to_string());
        }
        if self.cluster_secret.as_deref() == Some("") {
            self.cluster_secret = None;
        }
        if self.cluster_secret.is_some() && self.cluster.is_none() {
            return Err("--cluster-secret needs --cluster".into());
        }
        Ok(())
    }

    /// TLS needs a certificate and key; client authentication and `tls-cluster` need a CA (the
    /// files themselves are read at start, see `net::tls`). Listening nowhere is a mistake.
    fn check_tls(&self) -> Result<(), String> {
        if self.port == 0 && self.tls_port == 0 {
            return Err("configured to not listen anywhere (port 0 and no tls-port)".into());
        }
        if self.tls_cluster && self.cluster.is_none() {
            return Err("--tls-cluster needs --cluster".into());
        }
        if self.tls_port == 0 && !self.tls_cluster {
            return Ok(());
        }
        if self.tls_cert_file.is_none() || self.tls_key_file.is_none() {
            return Err("TLS (tls-port or tls-cluster) needs tls-cert-file and tls-key-file".into());
        }
        let auth = self.tls_port != 0 && self.tls_auth_clients != TlsAuthClients::No;
        if (auth || self.tls_cluster) && self.tls_ca_cert_file.is_none() {
            // Redis's words, less its options we do not have.
            return Err("tls-ca-cert-file must be specified when tls-cluster or tls-auth-clients are enabled".into());
        }
        Ok(())
    }

    /// `(name, value)` of every key CONFIG GET knows, in config-file names.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        vec![
            ("port", self.port.to_string()),
            ("bind", self.bind.clone()),
            ("dir", self.data_dir.display().to_string()),
            ("regions", self.regions.map(|r| r.to_string()).unwrap_or_default()),
            ("announce-ip", opt(&self.announce_ip)),
            ("announce-port", self.announce_port.unwrap_or(0).to_string()),
            ("requirepass", opt(&self.requirepass)),
            ("maxclients", self.maxclients.to_string()),
            ("proto-max-bulk-len", self.proto_max_bulk_len.to_string()),
            ("client-query-buffer-limit", self.client_query_buffer_limit.to_string()),
            ("client-output-buffer-limit", self.client_output_buffer_limit.to_string()),
            ("active-expire-interval-ms", self.active_expire_interval_ms.to_string()),
            ("reserve-disk-space", self.reserve_disk_space.to_string()),
            ("snapshot-entries", self.snapshot_entries.to_string()),
            ("region-split-keys", self.region_split_keys.to_string()),
            ("region-split-qps", self.region_split_qps.to_string()),
            ("region-merge-keys", self.region_merge_keys.to_string()),
            ("balance-replicas", yes_no(self.balance_replicas)),
            ("timeout", self.timeout.to_string()),
            ("protected-mode", yes_no(self.protected_mode)),
            // Never shown: a RESP client must not learn what opens the Raft port.
            ("cluster-secret", if self.cluster_secret.is_some() { "(redacted)" } else { "" }.into()),
            ("cluster-secret-file", path(&self.cluster_secret_file)),
            ("tls-port", self.tls_port.to_string()),
            ("tls-cert-file", path(&self.tls_cert_file)),
            ("tls-key-file", path(&self.tls_key_file)),
            ("tls-ca-cert-file", path(&self.tls_ca_cert_file)),
            ("tls-auth-clients", self.tls_auth_clients.name().into()),
            ("tls-cluster", yes_no(self.tls_cluster)),
            ("node-id", self.node_id.map(|n| n.to_string()).unwrap_or_default()),
            (
                "cluster",
                self.cluster
                    .as_ref()
                    .map(|c| c.0.iter().map(|(i, a)| format!("{i}={a}")).collect::<Vec<_>>().join(","))
                    .unwrap_or_default(),
            ),
            ("grpc-port", self.grpc_port.map(|n| n.to_string()).unwrap_or_default()),
            ("admin-port", self.admin_port.map(|n| n.to_string()).unwrap_or_default()),
            ("cluster-enabled", if self.cluster.is_some() { "yes" } else { "no" }.into()),
            // Asked by tools such as redis-benchmark; durability here comes from the Raft log.
            ("save", String::new()),
            ("appendonly", "no".into()),
            ("databases", "1".into()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("512mb"), Ok(512 << 20));
        assert_eq!(parse_memory("1k"), Ok(1000));
        assert_eq!(parse_memory("1KB"), Ok(1024));
        assert_eq!(parse_memory("42"), Ok(42));
        assert!(parse_memory("12xb").is_err());
        assert!(parse_memory("").is_err());
    }

    #[test]
    fn config_file_becomes_flags_and_flags_override() {
        let flags = file_to_flags("# comment\nport 7000\ndir \"/tmp/a b\"\n\nrequirepass secret\n", "f").unwrap();
        assert_eq!(flags, vec!["--port=7000", "--data-dir=/tmp/a b", "--requirepass=secret"]);
        let mut argv = vec!["redraft-server".to_string()];
        argv.extend(flags);
        argv.extend(["--port".to_string(), "7001".to_string()]);
        let c = Config::try_parse_from(argv).unwrap();
        assert_eq!(c.port, 7001);
        assert_eq!(c.requirepass.as_deref(), Some("secret"));
        let e = file_to_flags("port 1\nmaxmemory 1gb\n", "redraft.conf").unwrap_err();
        assert_eq!(e, "redraft.conf:2: unknown configuration key 'maxmemory'");
        assert!(file_to_flags("port\n", "f").is_err());
    }

    #[test]
    fn access_options_parse_and_are_checked() {
        let parse = |args: &[&str]| {
            let mut argv = vec!["redraft-server"];
            argv.extend(args);
            Config::try_parse_from(argv)
        };
        let c = parse(&[]).unwrap();
        assert_eq!((c.timeout, c.protected_mode, c.tls_port, c.tls_cluster), (0, true, 0, false));
        assert_eq!(c.tls_auth_clients, TlsAuthClients::Yes);
        let flags = file_to_flags("protected-mode no\ntimeout 30\ntls-auth-clients OPTIONAL\n", "f").unwrap();
        let c = parse(&flags.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        assert_eq!((c.timeout, c.protected_mode, c.tls_auth_clients), (30, false, TlsAuthClients::Optional));
        assert!(parse(&["--protected-mode", "maybe"]).is_err());
        let tls = ["--tls-port", "6380", "--tls-cert-file", "c", "--tls-key-file", "k"];
        let err = parse(&tls).unwrap().check_tls().unwrap_err();
        assert!(err.contains("tls-ca-cert-file must be specified"), "{err}");
        let mut no_auth = tls.to_vec();
        no_auth.extend(["--tls-auth-clients", "no"]);
        assert_eq!(parse(&no_auth).unwrap().check_tls(), Ok(()));
        assert!(parse(&["--tls-port", "6380"]).unwrap().check_tls().unwrap_err().contains("tls-cert-file"));
        assert!(parse(&["--port", "0"]).unwrap().check_tls().unwrap_err().contains("not listen anywhere"));
        assert!(parse(&["--tls-cluster", "yes"]).unwrap().check_tls().unwrap_err().contains("needs --cluster"));
        let mut c = parse(&["--cluster-secret", ""]).unwrap();
        assert_eq!((c.read_cluster_secret(), c.cluster_secret), (Ok(()), None));
        let mut c = parse(&["--cluster-secret", "s"]).unwrap();
        assert!(c.read_cluster_secret().unwrap_err().contains("needs --cluster"));
    }

    #[test]
    fn cluster_list() {
        let c = parse_cluster("2=127.0.0.1:5002, 1=h:5001").unwrap();
        assert_eq!(c.0, vec![(1, "h:5001".to_string()), (2, "127.0.0.1:5002".to_string())]);
        assert!(parse_cluster("1=h:5001,1=h:5002").unwrap_err().contains("twice"));
        assert!(parse_cluster("0=h:1").is_err());
        assert!(parse_cluster("1=h").is_err());
        assert!(parse_cluster("x=h:1").is_err());
        assert!(parse_cluster("").is_err());
    }
}
