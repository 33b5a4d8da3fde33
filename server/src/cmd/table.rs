//! THE command table. One entry per command (and per subcommand, named `cmd|sub`): arity with
//! Redis's sign convention, flags, key positions, docs and the handler. It drives arity errors,
//! key extraction, slot routing, the read/write path, apply dispatch and COMMAND output;
//! no other code matches on command names.

use std::collections::HashMap;
use std::sync::LazyLock;

use bytes::Bytes;

use super::{cluster, hash, keys, list, server, set, string, zset, ConnCtx};
use crate::error::CmdResult;
use crate::store::apply::ApplyCtx;
use crate::store::view::View;

/// Checks arguments and rewrites relative times into absolute ones on the leader, before the
/// command is proposed, so the logged command is deterministic. Syntax errors surface here.
pub type PrepareFn = fn(&[Bytes], u64) -> CmdResult<Vec<Bytes>>;
pub type ApplyFn = fn(&mut ApplyCtx, &[Bytes]) -> CmdResult;
pub type ReadFn = fn(&dyn View, &[Bytes]) -> CmdResult;
pub type ConnFn = fn(&mut ConnCtx, &[Bytes]) -> CmdResult;

#[derive(Clone, Copy)]
pub enum Handler {
    /// Reads the local state after a linearizable read barrier of the key's region.
    Read(ReadFn),
    /// Goes through Raft: `prepare` on the leader, `apply` on every replica.
    Write { prepare: Option<PrepareFn>, apply: ApplyFn },
    /// Connection and server commands: no keys, answered by this node.
    Conn(ConnFn),
    /// MULTI / EXEC / DISCARD / WATCH / UNWATCH: run by the connection (net/txn.rs).
    Txn(TxnOp),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnOp {
    Multi,
    Exec,
    Discard,
    Watch,
    Unwatch,
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
    /// Explicit key specs, for commands whose keys are not one range from `first_key`
    /// (several specs with different flags, or a `numkeys` argument). Empty = one spec derived
    /// from `first_key`/`last_key`/`step`.
    pub key_specs: &'static [KeySpec],
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    pub handler: Handler,
}

/// A Redis 7 key specification (begin_search is always `index` for our commands).
pub struct KeySpec {
    pub notes: &'static str,
    pub flags: &'static [&'static str],
    pub begin_index: i32,
    pub find: FindKeys,
}

pub enum FindKeys {
    /// Keys from the begin index to `lastkey` (relative; negative counts from the end).
    Range { lastkey: i32, keystep: i32, limit: i32 },
    /// The argument at `begin + keynumidx` says how many keys follow at `begin + firstkey`.
    Keynum { keynumidx: i32, firstkey: i32, keystep: i32 },
}

impl CommandSpec {
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

    /// Indexes of the key arguments of `argv`, including commands with a `numkeys`
    /// argument. A bad or out-of-range `numkeys` yields no keys (the command reports it).
    pub fn keys_of(&self, argv: &[Bytes]) -> Vec<usize> {
        if self.first_key > 0 || self.key_specs.is_empty() {
            return self.key_indexes(argv.len());
        }
        let mut out = Vec::new();
        for ks in self.key_specs {
            if let FindKeys::Keynum { keynumidx, firstkey, keystep } = ks.find {
                let at = (ks.begin_index + keynumidx) as usize;
                let Some(n) = argv.get(at).and_then(|a| super::args::parse_i64(a)) else { return Vec::new() };
                let first = (ks.begin_index + firstkey) as usize;
                if n <= 0 || first + (n as usize - 1) * keystep as usize >= argv.len() {
                    return Vec::new();
                }
                out.extend((0..n as usize).map(|j| first + j * keystep as usize));
            }
        }
        out
    }

    /// Inside MULTI, these run at once instead of being queued (Redis: EXEC, DISCARD, MULTI,
    /// WATCH, QUIT, RESET).
    pub fn runs_immediately_in_multi(&self) -> bool {
        matches!(self.handler, Handler::Txn(op) if op != TxnOp::Unwatch) || matches!(self.name, "quit" | "reset")
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
        key_specs: &[],
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
    keyed("msetnx", -3, W_OOM, (1, -1, 2), S_W_SLOW, &["request_policy:multi_shard", "response_policy:agg_min"], &["OW", "insert"], "string", "1.0.1", "Set multiple keys to multiple values, only if none of the keys exist", "O(N) where N is the number of keys to set.", wp(string::prepare_mset, string::msetnx)),
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
    // --- hash ---
    keyed("hset", -4, &["write", "denyoom", "fast"], (1, 1, 1), &["@write", "@hash", "@fast"], &[], &["RW", "update"], "hash", "2.0.0", "Set the string value of a hash field", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", wp(hash::prepare_hset, hash::hset)),
    keyed("hget", 3, &["readonly", "fast"], (1, 1, 1), &["@read", "@hash", "@fast"], &[], &["RO", "access"], "hash", "2.0.0", "Get the value of a hash field", "O(1)", Handler::Read(hash::hget)),
    keyed("hdel", -3, &["write", "fast"], (1, 1, 1), &["@write", "@hash", "@fast"], &[], &["RW", "delete"], "hash", "2.0.0", "Delete one or more hash fields", "O(N) where N is the number of fields to be removed.", w(hash::hdel)),
    keyed("hmset", -4, &["write", "denyoom", "fast"], (1, 1, 1), &["@write", "@hash", "@fast"], &[], &["RW", "update"], "hash", "2.0.0", "Set multiple hash fields to multiple values", "O(N) where N is the number of fields being set.", wp(hash::prepare_hset, hash::hmset)),
    keyed("hmget", -3, &["readonly", "fast"], (1, 1, 1), &["@read", "@hash", "@fast"], &[], &["RO", "access"], "hash", "2.0.0", "Get the values of all the given hash fields", "O(N) where N is the number of fields being requested.", Handler::Read(hash::hmget)),
    keyed("hgetall", 2, &["readonly"], (1, 1, 1), &["@read", "@hash", "@slow"], &["nondeterministic_output_order"], &["RO", "access"], "hash", "2.0.0", "Get all the fields and values in a hash", "O(N) where N is the size of the hash.", Handler::Read(hash::hgetall)),
    keyed("hkeys", 2, &["readonly"], (1, 1, 1), &["@read", "@hash", "@slow"], &["nondeterministic_output_order"], &["RO", "access"], "hash", "2.0.0", "Get all the fields in a hash", "O(N) where N is the size of the hash.", Handler::Read(hash::hkeys)),
    keyed("hvals", 2, &["readonly"], (1, 1, 1), &["@read", "@hash", "@slow"], &["nondeterministic_output_order"], &["RO", "access"], "hash", "2.0.0", "Get all the values in a hash", "O(N) where N is the size of the hash.", Handler::Read(hash::hvals)),
    keyed("hlen", 2, &["readonly", "fast"], (1, 1, 1), &["@read", "@hash", "@fast"], &[], &["RO"], "hash", "2.0.0", "Get the number of fields in a hash", "O(1)", Handler::Read(hash::hlen)),
    keyed("hexists", 3, &["readonly", "fast"], (1, 1, 1), &["@read", "@hash", "@fast"], &[], &["RO"], "hash", "2.0.0", "Determine if a hash field exists", "O(1)", Handler::Read(hash::hexists)),
    keyed("hsetnx", 4, &["write", "denyoom", "fast"], (1, 1, 1), &["@write", "@hash", "@fast"], &[], &["RW", "insert"], "hash", "2.0.0", "Set the value of a hash field, only if the field does not exist", "O(1)", w(hash::hsetnx)),
    keyed("hincrby", 4, &["write", "denyoom", "fast"], (1, 1, 1), &["@write", "@hash", "@fast"], &[], &["RW", "access", "update"], "hash", "2.0.0", "Increment the integer value of a hash field by the given number", "O(1)", w(hash::hincrby)),
    keyed("hincrbyfloat", 4, &["write", "denyoom", "fast"], (1, 1, 1), &["@write", "@hash", "@fast"], &[], &["RW", "access", "update"], "hash", "2.6.0", "Increment the float value of a hash field by the given amount", "O(1)", w(hash::hincrbyfloat)),
    keyed("hrandfield", -2, &["readonly"], (1, 1, 1), &["@read", "@hash", "@slow"], &["nondeterministic_output"], &["RO", "access"], "hash", "6.2.0", "Get one or multiple random fields from a hash", "O(N) where N is the number of fields returned", Handler::Read(hash::hrandfield)),
    keyed("hscan", -3, &["readonly"], (1, 1, 1), &["@read", "@hash", "@slow"], &["nondeterministic_output"], &["RO", "access"], "hash", "2.8.0", "Incrementally iterate hash fields and associated values", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", Handler::Read(hash::hscan)),
    // --- set ---
    keyed("sadd", -3, &["write", "denyoom", "fast"], (1, 1, 1), &["@write", "@set", "@fast"], &[], &["RW", "insert"], "set", "1.0.0", "Add one or more members to a set", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", w(set::sadd)),
    keyed("srem", -3, &["write", "fast"], (1, 1, 1), &["@write", "@set", "@fast"], &[], &["RW", "delete"], "set", "1.0.0", "Remove one or more members from a set", "O(N) where N is the number of members to be removed.", w(set::srem)),
    keyed("smembers", 2, &["readonly"], (1, 1, 1), &["@read", "@set", "@slow"], &["nondeterministic_output_order"], &["RO", "access"], "set", "1.0.0", "Get all the members in a set", "O(N) where N is the set cardinality.", Handler::Read(set::smembers)),
    keyed("sismember", 3, &["readonly", "fast"], (1, 1, 1), &["@read", "@set", "@fast"], &[], &["RO"], "set", "1.0.0", "Determine if a given value is a member of a set", "O(1)", Handler::Read(set::sismember)),
    keyed("smismember", -3, &["readonly", "fast"], (1, 1, 1), &["@read", "@set", "@fast"], &[], &["RO", "access"], "set", "6.2.0", "Returns the membership associated with the given elements for a set", "O(N) where N is the number of elements being checked for membership", Handler::Read(set::smismember)),
    keyed("scard", 2, &["readonly", "fast"], (1, 1, 1), &["@read", "@set", "@fast"], &[], &["RO"], "set", "1.0.0", "Get the number of members in a set", "O(1)", Handler::Read(set::scard)),
    keyed("srandmember", -2, &["readonly"], (1, 1, 1), &["@read", "@set", "@slow"], &["nondeterministic_output"], &["RO", "access"], "set", "1.0.0", "Get one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", Handler::Read(set::srandmember)),
    keyed("spop", -2, &["write", "fast"], (1, 1, 1), &["@write", "@set", "@fast"], &["nondeterministic_output"], &["RW", "access", "delete"], "set", "1.0.0", "Remove and return one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", wp(set::prepare_spop, set::spop)),
    keyed("sscan", -3, &["readonly"], (1, 1, 1), &["@read", "@set", "@slow"], &["nondeterministic_output"], &["RO", "access"], "set", "2.8.0", "Incrementally iterate Set elements", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", Handler::Read(set::sscan)),
    keyed("sinter", -2, &["readonly"], (1, -1, 1), &["@read", "@set", "@slow"], &["nondeterministic_output_order"], &["RO", "access"], "set", "1.0.0", "Intersect multiple sets", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", Handler::Read(set::sinter)),
    keyed("sunion", -2, &["readonly"], (1, -1, 1), &["@read", "@set", "@slow"], &["nondeterministic_output_order"], &["RO", "access"], "set", "1.0.0", "Add multiple sets", "O(N) where N is the total number of elements in all given sets.", Handler::Read(set::sunion)),
    keyed("sdiff", -2, &["readonly"], (1, -1, 1), &["@read", "@set", "@slow"], &["nondeterministic_output_order"], &["RO", "access"], "set", "1.0.0", "Subtract multiple sets", "O(N) where N is the total number of elements in all given sets.", Handler::Read(set::sdiff)),
    CommandSpec { key_specs: &[KeySpec { notes: "", flags: &["RO", "access"], begin_index: 1, find: FindKeys::Keynum { keynumidx: 0, firstkey: 1, keystep: 1 } }], ..keyed("sintercard", -3, &["readonly", "movablekeys"], (0, 0, 0), &["@read", "@set", "@slow"], &[], NONE, "set", "7.0.0", "Intersect multiple sets and return the cardinality of the result", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", Handler::Read(set::sintercard)) },
    CommandSpec { key_specs: &[KeySpec { notes: "", flags: &["RW", "access", "delete"], begin_index: 1, find: FindKeys::Range { lastkey: 0, keystep: 1, limit: 0 } }, KeySpec { notes: "", flags: &["RW", "insert"], begin_index: 2, find: FindKeys::Range { lastkey: 0, keystep: 1, limit: 0 } }], ..keyed("smove", 4, &["write", "fast"], (1, 2, 1), &["@write", "@set", "@fast"], &[], NONE, "set", "1.0.0", "Move a member from one set to another", "O(1)", w(set::smove)) },
    CommandSpec { key_specs: &[KeySpec { notes: "", flags: &["RW", "update"], begin_index: 1, find: FindKeys::Range { lastkey: 0, keystep: 1, limit: 0 } }, KeySpec { notes: "", flags: &["RO", "access"], begin_index: 2, find: FindKeys::Range { lastkey: -1, keystep: 1, limit: 0 } }], ..keyed("sinterstore", -3, &["write", "denyoom"], (1, -1, 1), &["@write", "@set", "@slow"], &[], NONE, "set", "1.0.0", "Intersect multiple sets and store the resulting set in a key", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", w(set::sinterstore)) },
    CommandSpec { key_specs: &[KeySpec { notes: "", flags: &["OW", "update"], begin_index: 1, find: FindKeys::Range { lastkey: 0, keystep: 1, limit: 0 } }, KeySpec { notes: "", flags: &["RO", "access"], begin_index: 2, find: FindKeys::Range { lastkey: -1, keystep: 1, limit: 0 } }], ..keyed("sunionstore", -3, &["write", "denyoom"], (1, -1, 1), &["@write", "@set", "@slow"], &[], NONE, "set", "1.0.0", "Add multiple sets and store the resulting set in a key", "O(N) where N is the total number of elements in all given sets.", w(set::sunionstore)) },
    CommandSpec { key_specs: &[KeySpec { notes: "", flags: &["OW", "update"], begin_index: 1, find: FindKeys::Range { lastkey: 0, keystep: 1, limit: 0 } }, KeySpec { notes: "", flags: &["RO", "access"], begin_index: 2, find: FindKeys::Range { lastkey: -1, keystep: 1, limit: 0 } }], ..keyed("sdiffstore", -3, &["write", "denyoom"], (1, -1, 1), &["@write", "@set", "@slow"], &[], NONE, "set", "1.0.0", "Subtract multiple sets and store the resulting set in a key", "O(N) where N is the total number of elements in all given sets.", w(set::sdiffstore)) },
    // --- list ---
    keyed("lpush", -3, &["write", "denyoom", "fast"], (1, 1, 1), &["@write", "@list", "@fast"], &[], &["RW", "insert"], "list", "1.0.0", "Prepend one or multiple elements to a list", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", w(list::lpush)),
    keyed("rpush", -3, &["write", "denyoom", "fast"], (1, 1, 1), &["@write", "@list", "@fast"], &[], &["RW", "insert"], "list", "1.0.0", "Append one or multiple elements to a list", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", w(list::rpush)),
    keyed("lpop", -2, &["write", "fast"], (1, 1, 1), &["@write", "@list", "@fast"], &[], &["RW", "access", "delete"], "list", "1.0.0", "Remove and get the first elements in a list", "O(N) where N is the number of elements returned", wp(list::prepare_pop, list::lpop)),
    keyed("rpop", -2, &["write", "fast"], (1, 1, 1), &["@write", "@list", "@fast"], &[], &["RW", "access", "delete"], "list", "1.0.0", "Remove and get the last elements in a list", "O(N) where N is the number of elements returned", wp(list::prepare_pop, list::rpop)),
    keyed("llen", 2, &["readonly", "fast"], (1, 1, 1), &["@read", "@list", "@fast"], &[], &["RO"], "list", "1.0.0", "Get the length of a list", "O(1)", Handler::Read(list::llen)),
    keyed("lindex", 3, &["readonly"], (1, 1, 1), &["@read", "@list", "@slow"], &[], &["RO", "access"], "list", "1.0.0", "Get an element from a list by its index", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", Handler::Read(list::lindex)),
    keyed("lrange", 4, &["readonly"], (1, 1, 1), &["@read", "@list", "@slow"], &[], &["RO", "access"], "list", "1.0.0", "Get a range of elements from a list", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", Handler::Read(list::lrange)),
    keyed("lpos", -3, &["readonly"], (1, 1, 1), &["@read", "@list", "@slow"], &[], &["RO", "access"], "list", "6.0.6", "Return the index of matching elements on a list", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", Handler::Read(list::lpos)),
    keyed("lset", 4, &["write", "denyoom"], (1, 1, 1), &["@write", "@list", "@slow"], &[], &["RW", "update"], "list", "1.0.0", "Set the value of an element in a list by its index", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", w(list::lset)),
    keyed("linsert", 5, &["write", "denyoom"], (1, 1, 1), &["@write", "@list", "@slow"], &[], &["RW", "insert"], "list", "2.2.0", "Insert an element before or after another element in a list", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", wp(list::prepare_linsert, list::linsert)),
    keyed("lrem", 4, &["write"], (1, 1, 1), &["@write", "@list", "@slow"], &[], &["RW", "delete"], "list", "1.0.0", "Remove elements from a list", "O(N+M) where N is the length of the list and M is the number of elements removed.", wp(list::prepare_lrem, list::lrem)),
    keyed("ltrim", 4, &["write"], (1, 1, 1), &["@write", "@list", "@slow"], &[], &["RW", "delete"], "list", "1.0.0", "Trim a list to the specified range", "O(N) where N is the number of elements to be removed by the operation.", wp(list::prepare_ltrim, list::ltrim)),
    CommandSpec { key_specs: &[KeySpec { notes: "", flags: &["RW", "access", "delete"], begin_index: 1, find: FindKeys::Range { lastkey: 0, keystep: 1, limit: 0 } }, KeySpec { notes: "", flags: &["RW", "insert"], begin_index: 2, find: FindKeys::Range { lastkey: 0, keystep: 1, limit: 0 } }], ..keyed("lmove", 5, &["write", "denyoom"], (1, 2, 1), &["@write", "@list", "@slow"], &[], NONE, "list", "6.2.0", "Pop an element from a list, push it to another list and return it", "O(1)", wp(list::prepare_lmove, list::lmove)) },
    CommandSpec { key_specs: &[KeySpec { notes: "", flags: &["RW", "access", "delete"], begin_index: 1, find: FindKeys::Keynum { keynumidx: 0, firstkey: 1, keystep: 1 } }], ..keyed("lmpop", -4, &["write", "movablekeys"], (0, 0, 0), &["@write", "@list", "@slow"], &[], NONE, "list", "7.0.0", "Pop elements from a list", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", wp(list::prepare_lmpop, list::lmpop)) },
    // --- zset ---
    keyed("zadd", -4, &["write", "denyoom", "fast"], (1, 1, 1), &["@write", "@sortedset", "@fast"], &[], &["RW", "update"], "sorted-set", "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", wp(zset::prepare_zadd, zset::zadd)),
    keyed("zrem", -3, &["write", "fast"], (1, 1, 1), &["@write", "@sortedset", "@fast"], &[], &["RW", "delete"], "sorted-set", "1.2.0", "Remove one or more members from a sorted set", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", w(zset::zrem)),
    keyed("zscore", 3, &["readonly", "fast"], (1, 1, 1), &["@read", "@sortedset", "@fast"], &[], &["RO", "access"], "sorted-set", "1.2.0", "Get the score associated with the given member in a sorted set", "O(1)", Handler::Read(zset::zscore)),
    keyed("zrank", 3, &["readonly", "fast"], (1, 1, 1), &["@read", "@sortedset", "@fast"], &[], &["RO", "access"], "sorted-set", "2.0.0", "Determine the index of a member in a sorted set", "O(log(N))", Handler::Read(zset::zrank)),
    keyed("zrevrank", 3, &["readonly", "fast"], (1, 1, 1), &["@read", "@sortedset", "@fast"], &[], &["RO", "access"], "sorted-set", "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low", "O(log(N))", Handler::Read(zset::zrevrank)),
    keyed("zcard", 2, &["readonly", "fast"], (1, 1, 1), &["@read", "@sortedset", "@fast"], &[], &["RO"], "sorted-set", "1.2.0", "Get the number of members in a sorted set", "O(1)", Handler::Read(zset::zcard)),
    keyed("zcount", 4, &["readonly", "fast"], (1, 1, 1), &["@read", "@sortedset", "@fast"], &[], &["RO", "access"], "sorted-set", "2.0.0", "Count the members in a sorted set with scores within the given values", "O(log(N)) with N being the number of elements in the sorted set.", Handler::Read(zset::zcount)),
    keyed("zrange", -4, &["readonly"], (1, 1, 1), &["@read", "@sortedset", "@slow"], &[], &["RO", "access"], "sorted-set", "1.2.0", "Return a range of members in a sorted set", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", Handler::Read(zset::zrange)),
    keyed("zrangebyscore", -4, &["readonly"], (1, 1, 1), &["@read", "@sortedset", "@slow"], &[], &["RO", "access"], "sorted-set", "1.0.5", "Return a range of members in a sorted set, by score", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", Handler::Read(zset::zrangebyscore)),
    keyed("zrevrange", -4, &["readonly"], (1, 1, 1), &["@read", "@sortedset", "@slow"], &[], &["RO", "access"], "sorted-set", "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", Handler::Read(zset::zrevrange)),
    keyed("zrevrangebyscore", -4, &["readonly"], (1, 1, 1), &["@read", "@sortedset", "@slow"], &[], &["RO", "access"], "sorted-set", "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", Handler::Read(zset::zrevrangebyscore)),
    keyed("zincrby", 4, &["write", "denyoom", "fast"], (1, 1, 1), &["@write", "@sortedset", "@fast"], &[], &["RW", "access", "update"], "sorted-set", "1.2.0", "Increment the score of a member in a sorted set", "O(log(N)) where N is the number of elements in the sorted set.", wp(zset::prepare_zincrby, zset::zincrby)),
    keyed("zrangebylex", -4, &["readonly"], (1, 1, 1), &["@read", "@sortedset", "@slow"], &[], &["RO", "access"], "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", Handler::Read(zset::zrangebylex)),
    keyed("zlexcount", 4, &["readonly", "fast"], (1, 1, 1), &["@read", "@sortedset", "@fast"], &[], &["RO", "access"], "sorted-set", "2.8.9", "Count the number of members in a sorted set between a given lexicographical range", "O(log(N)) with N being the number of elements in the sorted set.", Handler::Read(zset::zlexcount)),
    keyed("zpopmin", -2, &["write", "fast"], (1, 1, 1), &["@write", "@sortedset", "@fast"], &[], &["RW", "access", "delete"], "sorted-set", "5.0.0", "Remove and return members with the lowest scores in a sorted set", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", wp(zset::prepare_zpop, zset::zpopmin)),
    keyed("zpopmax", -2, &["write", "fast"], (1, 1, 1), &["@write", "@sortedset", "@fast"], &[], &["RW", "access", "delete"], "sorted-set", "5.0.0", "Remove and return members with the highest scores in a sorted set", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", wp(zset::prepare_zpop, zset::zpopmax)),
    keyed("zscan", -3, &["readonly"], (1, 1, 1), &["@read", "@sortedset", "@slow"], &["nondeterministic_output"], &["RO", "access"], "sorted-set", "2.8.0", "Incrementally iterate sorted sets elements and associated scores", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", Handler::Read(zset::zscan)),
    // --- multi ---
    nokey("multi", 1, &["noscript", "loading", "stale", "fast", "allow_busy"], &["@fast", "@transaction"], &[], "transactions", "1.2.0", "Mark the start of a transaction block", "O(1)", Handler::Txn(TxnOp::Multi)),
    nokey("exec", 1, &["noscript", "loading", "stale", "skip_slowlog"], &["@slow", "@transaction"], &[], "transactions", "1.2.0", "Execute all commands issued after MULTI", "Depends on commands in the transaction", Handler::Txn(TxnOp::Exec)),
    nokey("discard", 1, &["noscript", "loading", "stale", "fast", "allow_busy"], &["@fast", "@transaction"], &[], "transactions", "2.0.0", "Discard all commands issued after MULTI", "O(N), when N is the number of queued commands", Handler::Txn(TxnOp::Discard)),
    keyed("watch", -2, &["noscript", "loading", "stale", "fast", "allow_busy"], (1, -1, 1), &["@fast", "@transaction"], &[], &["RO"], "transactions", "2.2.0", "Watch the given keys to determine execution of the MULTI/EXEC block", "O(1) for every key.", Handler::Txn(TxnOp::Watch)),
    nokey("unwatch", 1, &["noscript", "loading", "stale", "fast", "allow_busy"], &["@fast", "@transaction"], &[], "transactions", "2.2.0", "Forget about all watched keys", "O(1)", Handler::Txn(TxnOp::Unwatch)),
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
                Handler::Conn(_) | Handler::Txn(_) => assert!(!c.has_flag("write"), "{}", c.name),
            }
        }
    }
}
