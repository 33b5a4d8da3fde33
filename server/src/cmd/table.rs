//! THE command table. One entry per command (and per subcommand, named `cmd|sub`): arity with
//! Redis's sign convention, flags, key positions, docs and the handler. It drives arity errors,
//! key extraction, slot routing, the read/write path, apply dispatch and COMMAND output;
//! no other code matches on command names.

use std::collections::HashMap;
use std::sync::LazyLock;

use bytes::Bytes;

use super::{cluster, keys, server, string, ConnCtx};
use crate::error::CmdResult;
use crate::store::apply::ApplyCtx;
use crate::store::read::ReadCtx;

/// Checks arguments and rewrites relative times into absolute ones on the leader, before the
/// command is proposed, so the logged command is deterministic. Syntax errors surface here.
pub type PrepareFn = fn(&[Bytes], u64) -> CmdResult<Vec<Bytes>>;
pub type ApplyFn = fn(&mut ApplyCtx, &[Bytes]) -> CmdResult;
pub type ReadFn = fn(&ReadCtx, &[Bytes]) -> CmdResult;
pub type ConnFn = fn(&mut ConnCtx, &[Bytes]) -> CmdResult;

#[derive(Clone, Copy)]
pub enum Handler {
    /// Reads the local state after a linearizable read barrier of the key's region.
    Read(ReadFn),
    /// Goes through Raft: `prepare` on the leader, `apply` on every replica.
    Write { prepare: Option<PrepareFn>, apply: ApplyFn },
    /// Connection and server commands: no keys, answered by this node.
    Conn(ConnFn),
}

pub struct CommandSpec {
    /// Lower case; subcommands are `container|sub`.
    pub name: &'static str,
    pub arity: i32,
    pub flags: &'static [&'static str],
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub acl: &'static [&'static str],
    pub tips: &'static [&'static str],
    /// Key-spec flags (COMMAND INFO), for commands with keys.
    pub key_flags: &'static [&'static str],
    pub key_notes: &'static str,
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    pub handler: Handler,
}

impl CommandSpec {
    pub fn apply_fn(&self) -> Option<ApplyFn> {
        match self.handler {
            Handler::Write { apply, .. } => Some(apply),
            _ => None,
        }
    }

    pub fn has_flag(&self, f: &str) -> bool {
        self.flags.contains(&f)
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a >= 0 && argc == a as usize) || (a < 0 && argc >= (-a) as usize)
    }

    /// Indexes of the key arguments of `argv` (positions from the table).
    pub fn key_indexes(&self, argc: usize) -> Vec<usize> {
        if self.first_key <= 0 {
            return Vec::new();
        }
        let last = if self.last_key < 0 { argc as i32 + self.last_key } else { self.last_key };
        let mut out = Vec::new();
        let mut i = self.first_key;
        while i <= last && (i as usize) < argc {
            out.push(i as usize);
            i += self.step.max(1);
        }
        out
    }

    pub fn has_subcommands(&self) -> bool {
        SUBCOMMAND_CONTAINERS.contains(&self.name)
    }

    pub fn subcommands(&self) -> Vec<&'static CommandSpec> {
        let prefix = format!("{}|", self.name);
        let mut v: Vec<_> = COMMANDS.iter().filter(|c| c.name.starts_with(&prefix)).collect();
        v.sort_by_key(|c| c.name);
        v
    }
}

const NONE: &[&str] = &[];

/// A command with no keys.
#[allow(clippy::too_many_arguments)]
const fn nokey(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    acl: &'static [&'static str],
    tips: &'static [&'static str],
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    handler: Handler,
) -> CommandSpec {
    keyed(name, arity, flags, (0, 0, 0), acl, tips, NONE, group, since, summary, complexity, handler)
}

/// A command with keys at `first..=last` every `step`.
#[allow(clippy::too_many_arguments)]
const fn keyed(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    (first_key, last_key, step): (i32, i32, i32),
    acl: &'static [&'static str],
    tips: &'static [&'static str],
    key_flags: &'static [&'static str],
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key,
        last_key,
        step,
        acl,
        tips,
        key_flags,
        key_notes: "",
        group,
        since,
        summary,
        complexity,
        handler,
    }
}

const fn w(apply: ApplyFn) -> Handler {
    Handler::Write { prepare: None, apply }
}

const fn wp(prepare: PrepareFn, apply: ApplyFn) -> Handler {
    Handler::Write { prepare: Some(prepare), apply }
}

const RO_FAST: &[&str] = &["readonly", "fast"];
const W: &[&str] = &["write"];
const W_FAST: &[&str] = &["write", "fast"];
const W_OOM: &[&str] = &["write", "denyoom"];
const W_OOM_FAST: &[&str] = &["write", "denyoom", "fast"];
const CONN_NOAUTH: &[&str] = &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"];
const KS_W_SLOW: &[&str] = &["@keyspace", "@write", "@slow"];
const KS_W_FAST: &[&str] = &["@keyspace", "@write", "@fast"];
const KS_R_FAST: &[&str] = &["@keyspace", "@read", "@fast"];
const S_R_FAST: &[&str] = &["@read", "@string", "@fast"];
const S_W_FAST: &[&str] = &["@write", "@string", "@fast"];
const S_W_SLOW: &[&str] = &["@write", "@string", "@slow"];
const FAST_CONN: &[&str] = &["@fast", "@connection"];
const SLOW_CONN: &[&str] = &["@slow", "@connection"];
const MULTI_SUM: &[&str] = &["request_policy:multi_shard", "response_policy:agg_sum"];
const ALL_OK: &[&str] = &["request_policy:all_shards", "response_policy:all_succeeded"];
const RW_ACCESS_UPDATE: &[&str] = &["RW", "access", "update"];
const RW_UPDATE: &[&str] = &["RW", "update"];
const RO_ACCESS: &[&str] = &["RO", "access"];
const ONE: (i32, i32, i32) = (1, 1, 1);
const ALL: (i32, i32, i32) = (1, -1, 1);

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    // --- general ---
    nokey("ping", -1, &["fast"], FAST_CONN, ALL_OK, "connection", "1.0.0", "Ping the server", "O(1)", Handler::Conn(server::ping)),
    nokey("echo", 2, &["loading", "stale", "fast"], FAST_CONN, NONE, "connection", "1.0.0", "Echo the given string", "O(1)", Handler::Conn(server::echo)),
    // --- keys ---
    keyed("del", -2, W, ALL, KS_W_SLOW, MULTI_SUM, &["RM", "delete"], "generic", "1.0.0", "Delete a key", "O(N) where N is the number of keys that will be removed.", w(keys::del)),
    keyed("unlink", -2, W_FAST, ALL, KS_W_FAST, MULTI_SUM, &["RM", "delete"], "generic", "4.0.0", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", "O(1) for each key removed regardless of its size.", w(keys::del)),
    keyed("exists", -2, RO_FAST, ALL, KS_R_FAST, MULTI_SUM, &["RO"], "generic", "1.0.0", "Determine if a key exists", "O(N) where N is the number of keys to check.", Handler::Read(keys::exists)),
    keyed("type", 2, RO_FAST, ONE, KS_R_FAST, NONE, &["RO"], "generic", "1.0.0", "Determine the type stored at key", "O(1)", Handler::Read(keys::type_)),
    keyed("expire", -3, W_FAST, ONE, KS_W_FAST, NONE, RW_UPDATE, "generic", "1.0.0", "Set a key's time to live in seconds", "O(1)", wp(keys::prepare_expire, keys::pexpireat)),
    keyed("expireat", -3, W_FAST, ONE, KS_W_FAST, NONE, RW_UPDATE, "generic", "1.2.0", "Set the expiration for a key as a UNIX timestamp", "O(1)", wp(keys::prepare_expire, keys::pexpireat)),
    keyed("pexpire", -3, W_FAST, ONE, KS_W_FAST, NONE, RW_UPDATE, "generic", "2.6.0", "Set a key's time to live in milliseconds", "O(1)", wp(keys::prepare_expire, keys::pexpireat)),
    keyed("pexpireat", -3, W_FAST, ONE, KS_W_FAST, NONE, RW_UPDATE, "generic", "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "O(1)", wp(keys::prepare_expire, keys::pexpireat)),
    keyed("ttl", 2, RO_FAST, ONE, KS_R_FAST, &["nondeterministic_output"], RO_ACCESS, "generic", "1.0.0", "Get the time to live for a key in seconds", "O(1)", Handler::Read(keys::ttl)),
    keyed("pttl", 2, RO_FAST, ONE, KS_R_FAST, &["nondeterministic_output"], RO_ACCESS, "generic", "2.6.0", "Get the time to live for a key in milliseconds", "O(1)", Handler::Read(keys::pttl)),
    keyed("persist", 2, W_FAST, ONE, KS_W_FAST, NONE, RW_UPDATE, "generic", "2.2.0", "Remove the expiration from a key", "O(1)", w(keys::persist)),
    nokey("flushdb", -1, W, &["@keyspace", "@write", "@slow", "@dangerous"], ALL_OK, "server", "1.0.0", "Remove all keys from the current database", "O(N) where N is the number of keys in the selected database", wp(keys::prepare_flush, keys::flush)),
    nokey("flushall", -1, W, &["@keyspace", "@write", "@slow", "@dangerous"], ALL_OK, "server", "1.0.0", "Remove all keys from all databases", "O(N) where N is the total number of keys in all databases", wp(keys::prepare_flush, keys::flush)),
    // --- strings ---
    keyed("get", 2, RO_FAST, ONE, S_R_FAST, NONE, RO_ACCESS, "string", "1.0.0", "Get the value of a key", "O(1)", Handler::Read(string::get)),
    CommandSpec { key_notes: "RW and ACCESS due to the optional `GET` argument", ..keyed("set", -3, W_OOM, ONE, S_W_SLOW, NONE, &["RW", "access", "update", "variable_flags"], "string", "1.0.0", "Set the string value of a key", "O(1)", wp(string::prepare_set, string::set))},
    keyed("setnx", 3, W_OOM_FAST, ONE, S_W_FAST, NONE, &["OW", "insert"], "string", "1.0.0", "Set the value of a key, only if the key does not exist", "O(1)", w(string::setnx)),
    keyed("setex", 4, W_OOM, ONE, S_W_SLOW, NONE, &["OW", "update"], "string", "2.0.0", "Set the value and expiration of a key", "O(1)", wp(string::prepare_setex, string::set)),
    keyed("psetex", 4, W_OOM, ONE, S_W_SLOW, NONE, &["OW", "update"], "string", "2.6.0", "Set the value and expiration in milliseconds of a key", "O(1)", wp(string::prepare_setex, string::set)),
    keyed("mget", -2, RO_FAST, ALL, S_R_FAST, &["request_policy:multi_shard"], RO_ACCESS, "string", "1.0.0", "Get the values of all the given keys", "O(N) where N is the number of keys to retrieve.", Handler::Read(string::mget)),
    keyed("mset", -3, W_OOM, (1, -1, 2), S_W_SLOW, &["request_policy:multi_shard", "response_policy:all_succeeded"], &["OW", "update"], "string", "1.0.1", "Set multiple keys to multiple values", "O(N) where N is the number of keys to set.", wp(string::prepare_mset, string::mset)),
    keyed("getset", 3, W_OOM_FAST, ONE, S_W_FAST, NONE, RW_ACCESS_UPDATE, "string", "1.0.0", "Set the string value of a key and return its old value", "O(1)", w(string::getset)),
    keyed("getdel", 2, W_FAST, ONE, S_W_FAST, NONE, &["RW", "access", "delete"], "string", "6.2.0", "Get the value of a key and delete the key", "O(1)", w(string::getdel)),
    CommandSpec { key_notes: "RW and UPDATE because it changes the TTL", ..keyed("getex", -2, W_FAST, ONE, S_W_FAST, NONE, RW_ACCESS_UPDATE, "string", "6.2.0", "Get the value of a key and optionally set its expiration", "O(1)", wp(string::prepare_getex, string::getex))},
    keyed("strlen", 2, RO_FAST, ONE, S_R_FAST, NONE, &["RO"], "string", "2.2.0", "Get the length of the value stored in a key", "O(1)", Handler::Read(string::strlen)),
    keyed("append", 3, W_OOM_FAST, ONE, S_W_FAST, NONE, &["RW", "insert"], "string", "2.0.0", "Append a value to a key", "O(1)", w(string::append)),
    keyed("getrange", 4, &["readonly"], ONE, &["@read", "@string", "@slow"], NONE, RO_ACCESS, "string", "2.4.0", "Get a substring of the string stored at a key", "O(N) where N is the length of the returned string.", Handler::Read(string::getrange)),
    keyed("setrange", 4, W_OOM, ONE, S_W_SLOW, NONE, RW_UPDATE, "string", "2.2.0", "Overwrite part of a string at key starting at the specified offset", "O(1), not counting the time taken to copy the new string in place.", w(string::setrange)),
    keyed("incr", 2, W_OOM_FAST, ONE, S_W_FAST, NONE, RW_ACCESS_UPDATE, "string", "1.0.0", "Increment the integer value of a key by one", "O(1)", w(string::incr)),
    keyed("decr", 2, W_OOM_FAST, ONE, S_W_FAST, NONE, RW_ACCESS_UPDATE, "string", "1.0.0", "Decrement the integer value of a key by one", "O(1)", w(string::decr)),
    keyed("incrby", 3, W_OOM_FAST, ONE, S_W_FAST, NONE, RW_ACCESS_UPDATE, "string", "1.0.0", "Increment the integer value of a key by the given amount", "O(1)", w(string::incrby)),
    keyed("decrby", 3, W_OOM_FAST, ONE, S_W_FAST, NONE, RW_ACCESS_UPDATE, "string", "1.0.0", "Decrement the integer value of a key by the given number", "O(1)", w(string::decrby)),
    keyed("incrbyfloat", 3, W_OOM_FAST, ONE, S_W_FAST, NONE, RW_ACCESS_UPDATE, "string", "2.6.0", "Increment the float value of a key by the given amount", "O(1)", w(string::incrbyfloat)),
    // --- cluster ---
    nokey("cluster", -2, NONE, &["@slow"], NONE, "cluster", "3.0.0", "A container for cluster commands", "Depends on subcommand.", Handler::Conn(server::subcommand)),
    nokey("cluster|info", 2, &["stale"], &["@slow"], &["nondeterministic_output"], "cluster", "3.0.0", "Provides info about Redis Cluster node state", "O(1)", Handler::Conn(cluster::info)),
    nokey("cluster|nodes", 2, &["stale"], &["@slow"], &["nondeterministic_output"], "cluster", "3.0.0", "Get Cluster config for the node", "O(N) where N is the total number of Cluster nodes", Handler::Conn(cluster::nodes)),
    nokey("cluster|slots", 2, &["stale"], &["@slow"], &["nondeterministic_output"], "cluster", "3.0.0", "Get array of Cluster slot to node mappings", "O(N) where N is the total number of Cluster nodes", Handler::Conn(cluster::slots)),
    nokey("cluster|shards", 2, &["stale"], &["@slow"], &["nondeterministic_output"], "cluster", "7.0.0", "Get array of cluster slots to node mappings", "O(N) where N is the total number of cluster nodes", Handler::Conn(cluster::shards)),
    nokey("cluster|myid", 2, &["stale"], &["@slow"], NONE, "cluster", "3.0.0", "Return the node id", "O(1)", Handler::Conn(cluster::myid)),
    nokey("cluster|keyslot", 3, &["stale"], &["@slow"], NONE, "cluster", "3.0.0", "Returns the hash slot of the specified key", "O(N) where N is the number of bytes in the key", Handler::Conn(cluster::keyslot)),
    nokey("cluster|countkeysinslot", 3, &["stale"], &["@slow"], NONE, "cluster", "3.0.0", "Return the number of local keys in the specified hash slot", "O(1)", Handler::Conn(cluster::countkeysinslot)),
    nokey("cluster|getkeysinslot", 4, &["stale"], &["@slow"], &["nondeterministic_output"], "cluster", "3.0.0", "Return local key names in the specified hash slot", "O(log(N)) where N is the number of requested keys", Handler::Conn(cluster::getkeysinslot)),
    nokey("readonly", 1, &["loading", "stale", "fast"], FAST_CONN, NONE, "cluster", "3.0.0", "Enables read queries for a connection to a cluster replica node", "O(1)", Handler::Conn(cluster::readonly)),
    nokey("readwrite", 1, &["loading", "stale", "fast"], FAST_CONN, NONE, "cluster", "3.0.0", "Disables read queries for a connection to a cluster replica node", "O(1)", Handler::Conn(cluster::readwrite)),
    nokey("asking", 1, &["fast"], FAST_CONN, NONE, "cluster", "3.0.0", "Sent by cluster clients after an -ASK redirect", "O(1)", Handler::Conn(cluster::asking)),
    // --- connection and server ---
    nokey("hello", -1, CONN_NOAUTH, FAST_CONN, NONE, "connection", "6.0.0", "Handshake with Redis", "O(1)", Handler::Conn(server::hello)),
    nokey("auth", -2, CONN_NOAUTH, FAST_CONN, NONE, "connection", "1.0.0", "Authenticate to the server", "O(N) where N is the number of passwords defined for the user", Handler::Conn(server::auth)),
    nokey("client", -2, NONE, &["@slow"], NONE, "connection", "2.4.0", "A container for client connection commands", "Depends on subcommand.", Handler::Conn(server::subcommand)),
    nokey("client|id", 2, &["noscript", "loading", "stale"], SLOW_CONN, NONE, "connection", "5.0.0", "Returns the client ID for the current connection", "O(1)", Handler::Conn(server::client_id)),
    nokey("client|getname", 2, &["noscript", "loading", "stale"], SLOW_CONN, NONE, "connection", "2.6.9", "Get the current connection name", "O(1)", Handler::Conn(server::client_getname)),
    nokey("client|setname", 3, &["noscript", "loading", "stale"], SLOW_CONN, NONE, "connection", "2.6.9", "Set the current connection name", "O(1)", Handler::Conn(server::client_setname)),
    nokey("client|list", -2, &["admin", "noscript", "loading", "stale"], &["@admin", "@slow", "@dangerous", "@connection"], &["nondeterministic_output"], "connection", "2.4.0", "Get the list of client connections", "O(N) where N is the number of client connections", Handler::Conn(server::client_list)),
    nokey("client|info", 2, &["noscript", "loading", "stale"], SLOW_CONN, &["nondeterministic_output"], "connection", "6.2.0", "Returns information about the current client connection.", "O(1)", Handler::Conn(server::client_info)),
    nokey("client|setinfo", 4, &["noscript", "loading", "stale"], SLOW_CONN, NONE, "connection", "7.2.0", "Set client or connection specific info", "O(1)", Handler::Conn(server::client_setinfo)),
    nokey("config", -2, NONE, &["@slow"], NONE, "server", "2.0.0", "A container for server configuration commands", "Depends on subcommand.", Handler::Conn(server::subcommand)),
    nokey("config|get", -3, &["admin", "noscript", "loading", "stale"], &["@admin", "@slow", "@dangerous"], NONE, "server", "2.0.0", "Get the values of configuration parameters", "O(N) when N is the number of configuration parameters provided", Handler::Conn(server::config_get)),
    nokey("config|set", -4, &["admin", "noscript", "loading", "stale"], &["@admin", "@slow", "@dangerous"], &["request_policy:all_nodes", "response_policy:all_succeeded"], "server", "2.0.0", "Set configuration parameters to the given values", "O(N) when N is the number of configuration parameters provided", Handler::Conn(server::config_set)),
    nokey("select", 2, &["loading", "stale", "fast"], FAST_CONN, NONE, "connection", "1.0.0", "Change the selected database for the current connection", "O(1)", Handler::Conn(server::select)),
    nokey("quit", -1, CONN_NOAUTH, FAST_CONN, NONE, "connection", "1.0.0", "Close the connection", "O(1)", Handler::Conn(server::quit)),
    nokey("reset", 1, CONN_NOAUTH, FAST_CONN, NONE, "connection", "6.2.0", "Reset the connection", "O(1)", Handler::Conn(server::reset)),
    nokey("info", -1, &["loading", "stale"], &["@slow", "@dangerous"], &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], "server", "1.0.0", "Get information and statistics about the server", "O(1)", Handler::Conn(server::info)),
    nokey("dbsize", 1, RO_FAST, KS_R_FAST, &["request_policy:all_shards", "response_policy:agg_sum"], "server", "1.0.0", "Return the number of keys in the selected database", "O(1)", Handler::Conn(server::dbsize)),
    nokey("time", 1, &["loading", "stale", "fast"], &["@fast"], &["nondeterministic_output"], "server", "2.6.0", "Return the current server time", "O(1)", Handler::Conn(server::time)),
    nokey("command", -1, &["loading", "stale"], SLOW_CONN, &["nondeterministic_output_order"], "server", "2.8.13", "Get array of Redis command details", "O(N) where N is the total number of Redis commands", Handler::Conn(super::command::command)),
    nokey("command|count", 2, &["loading", "stale"], SLOW_CONN, NONE, "server", "2.8.13", "Get total number of Redis commands", "O(1)", Handler::Conn(super::command::count)),
    nokey("command|info", -2, &["loading", "stale"], SLOW_CONN, &["nondeterministic_output_order"], "server", "2.8.13", "Get array of specific Redis command details, or all when no argument is given.", "O(N) where N is the number of commands to look up", Handler::Conn(super::command::info)),
    nokey("command|docs", -2, &["loading", "stale"], SLOW_CONN, &["nondeterministic_output_order"], "server", "7.0.0", "Get array of specific Redis command documentation", "O(N) where N is the number of commands to look up", Handler::Conn(super::command::docs)),
    nokey("command|getkeys", -4, &["loading", "stale"], SLOW_CONN, NONE, "server", "2.8.13", "Extract keys given a full Redis command", "O(N) where N is the number of arguments to the command", Handler::Conn(super::command::getkeys)),
    nokey("command|list", -2, &["loading", "stale"], SLOW_CONN, &["nondeterministic_output_order"], "server", "7.0.0", "Get an array of Redis command names", "O(N) where N is the total number of Redis commands", Handler::Conn(super::command::list)),
];

/// Commands that are containers of `name|sub` entries.
static SUBCOMMAND_CONTAINERS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut v: Vec<&'static str> = COMMANDS.iter().filter_map(|c| c.name.split_once('|').map(|(c, _)| c)).collect();
    v.dedup();
    v
});

static BY_NAME: LazyLock<HashMap<&'static str, &'static CommandSpec>> =
    LazyLock::new(|| COMMANDS.iter().map(|c| (c.name, c)).collect());

/// Looks a command up by name, case-insensitively, without allocating for short names.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    for (i, &c) in name.iter().enumerate() {
        buf[i] = c.to_ascii_lowercase();
    }
    let s = std::str::from_utf8(&buf[..name.len()]).ok()?;
    BY_NAME.get(s).copied()
}

/// Looks up `container|sub`.
pub fn lookup_sub(container: &str, sub: &[u8]) -> Option<&'static CommandSpec> {
    let name = format!("{}|{}", container, String::from_utf8_lossy(sub).to_ascii_lowercase());
    BY_NAME.get(name.as_str()).copied()
}

/// Top-level commands (not subcommands), in table order.
pub fn top_level() -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter().filter(|c| !c.name.contains('|'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_unique() {
        assert_eq!(lookup(b"GeT").unwrap().name, "get");
        assert!(lookup(b"nope").is_none());
        assert!(lookup(&[b'a'; 40]).is_none());
        assert_eq!(BY_NAME.len(), COMMANDS.len(), "duplicate command names");
    }

    #[test]
    fn key_positions() {
        let mset = lookup(b"mset").unwrap();
        assert_eq!(mset.key_indexes(5), vec![1, 3]);
        let del = lookup(b"del").unwrap();
        assert_eq!(del.key_indexes(4), vec![1, 2, 3]);
        assert!(lookup(b"ping").unwrap().key_indexes(2).is_empty());
    }

    #[test]
    fn arity() {
        let get = lookup(b"get").unwrap();
        assert!(get.arity_ok(2) && !get.arity_ok(3) && !get.arity_ok(1));
        let set = lookup(b"set").unwrap();
        assert!(set.arity_ok(3) && set.arity_ok(9) && !set.arity_ok(2));
    }

    #[test]
    fn every_write_has_write_flag_and_every_read_readonly() {
        for c in COMMANDS {
            match c.handler {
                Handler::Write { .. } => assert!(c.has_flag("write"), "{}", c.name),
                Handler::Read(_) => assert!(c.has_flag("readonly"), "{}", c.name),
                Handler::Conn(_) => assert!(!c.has_flag("write"), "{}", c.name),
            }
        }
    }
}
