//! Hash slots (CRC16-XMODEM & 16383 with Redis Cluster hash tags) and a static table of which
//! arguments of a command are keys, so routing needs no COMMAND round trip.

pub const SLOTS: usize = 16384;

/// The slot of a key: if it holds `{...}` with non-empty content between the first `{` and the
/// first `}` after it, only that content is hashed.
pub fn key_slot(key: &[u8]) -> u16 {
    let mut k = key;
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                k = &key[open + 1..open + 1 + len];
            }
        }
    }
    crc16::State::<crc16::XMODEM>::calculate(k) & (SLOTS as u16 - 1)
}

/// Where a command's keys are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Keys {
    /// No key: any node.
    None,
    /// Arguments first..=last (last < 0 counts from the end) every `step`.
    Range(usize, isize, usize),
    /// The number of keys is at `numkeys_at`, keys follow it; `extra_first`: argument 1 is a key too.
    NumKeys { numkeys_at: usize, extra_first: bool },
}

/// How replies of a command split per slot are put back together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Split {
    /// MGET: values concatenated in key order.
    Concat,
    /// MSET: every part must answer OK.
    AllOk,
    /// DEL / UNLINK / EXISTS / TOUCH: integer sum.
    Sum,
}

/// Commands sent to every primary rather than to one node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fanout {
    AllOk,
    Sum,
}

pub struct Spec {
    pub keys: Keys,
    /// Does not write: may go to a replica (READONLY) and be resent after a connection error.
    pub readonly: bool,
    pub split: Option<Split>,
    pub fanout: Option<Fanout>,
}

const fn spec(keys: Keys, readonly: bool) -> Spec {
    Spec { keys, readonly, split: None, fanout: None }
}

const FIRST: Keys = Keys::Range(1, 1, 1);
const ALL: Keys = Keys::Range(1, -1, 1);

/// The spec of a command by its upper-cased name; None when the table does not know it.
pub fn lookup(name: &[u8]) -> Option<Spec> {
    let s = match name {
        // reads of one key
        b"GET" | b"STRLEN" | b"GETRANGE" | b"SUBSTR" | b"HGET" | b"HMGET" | b"HGETALL" | b"HKEYS" | b"HVALS"
        | b"HLEN" | b"HEXISTS" | b"HRANDFIELD" | b"HSCAN" | b"HSTRLEN" | b"SMEMBERS" | b"SISMEMBER" | b"SMISMEMBER"
        | b"SCARD" | b"SRANDMEMBER" | b"SSCAN" | b"LLEN" | b"LINDEX" | b"LRANGE" | b"LPOS" | b"ZSCORE" | b"ZMSCORE"
        | b"ZRANK" | b"ZREVRANK" | b"ZCARD" | b"ZCOUNT" | b"ZRANGE" | b"ZRANGEBYSCORE" | b"ZREVRANGE"
        | b"ZREVRANGEBYSCORE" | b"ZRANGEBYLEX" | b"ZREVRANGEBYLEX" | b"ZLEXCOUNT" | b"ZSCAN" | b"ZRANDMEMBER"
        | b"TYPE" | b"TTL" | b"PTTL" | b"EXPIRETIME" | b"PEXPIRETIME" | b"GETBIT" | b"BITCOUNT" | b"BITPOS"
        | b"DUMP" => spec(FIRST, true),
        // writes of one key
        b"SET" | b"SETNX" | b"SETEX" | b"PSETEX" | b"GETSET" | b"GETDEL" | b"GETEX" | b"APPEND" | b"SETRANGE"
        | b"INCR" | b"DECR" | b"INCRBY" | b"DECRBY" | b"INCRBYFLOAT" | b"HSET" | b"HDEL" | b"HMSET" | b"HSETNX"
        | b"HINCRBY" | b"HINCRBYFLOAT" | b"SADD" | b"SREM" | b"SPOP" | b"LPUSH" | b"RPUSH" | b"LPUSHX" | b"RPUSHX"
        | b"LPOP" | b"RPOP" | b"LSET" | b"LINSERT" | b"LREM" | b"LTRIM" | b"ZADD" | b"ZREM" | b"ZINCRBY"
        | b"ZPOPMIN" | b"ZPOPMAX" | b"ZREMRANGEBYSCORE" | b"ZREMRANGEBYRANK" | b"ZREMRANGEBYLEX" | b"EXPIRE"
        | b"EXPIREAT" | b"PEXPIRE" | b"PEXPIREAT" | b"PERSIST" | b"SETBIT" | b"RESTORE" => spec(FIRST, false),
        // multi-key reads and writes that must stay in one slot
        b"SINTER" | b"SUNION" | b"SDIFF" => spec(ALL, true),
        b"SINTERSTORE" | b"SUNIONSTORE" | b"SDIFFSTORE" | b"WATCH" => spec(ALL, false),
        b"SMOVE" | b"LMOVE" | b"RPOPLPUSH" | b"RENAME" | b"RENAMENX" | b"COPY" => spec(Keys::Range(1, 2, 1), false),
        b"SINTERCARD" | b"ZINTERCARD" => spec(Keys::NumKeys { numkeys_at: 1, extra_first: false }, true),
        b"LMPOP" | b"ZMPOP" => spec(Keys::NumKeys { numkeys_at: 1, extra_first: false }, false),
        b"ZUNIONSTORE" | b"ZINTERSTORE" | b"ZDIFFSTORE" => {
            spec(Keys::NumKeys { numkeys_at: 2, extra_first: true }, false)
        }
        b"ZUNION" | b"ZINTER" | b"ZDIFF" => spec(Keys::NumKeys { numkeys_at: 1, extra_first: false }, true),
        b"MSETNX" => spec(Keys::Range(1, -1, 2), false),
        // split per slot by the client
        b"MGET" => Spec { split: Some(Split::Concat), ..spec(ALL, true) },
        b"EXISTS" => Spec { split: Some(Split::Sum), ..spec(ALL, true) },
        b"DEL" | b"UNLINK" | b"TOUCH" => Spec { split: Some(Split::Sum), ..spec(ALL, false) },
        b"MSET" => Spec { split: Some(Split::AllOk), ..spec(Keys::Range(1, -1, 2), false) },
        // every primary
        b"FLUSHALL" | b"FLUSHDB" => Spec { fanout: Some(Fanout::AllOk), ..spec(Keys::None, false) },
        b"DBSIZE" => Spec { fanout: Some(Fanout::Sum), ..spec(Keys::None, true) },
        // keyless, any node
        b"PING" | b"ECHO" | b"CLUSTER" | b"INFO" | b"TIME" | b"COMMAND" | b"CLIENT" | b"CONFIG" | b"HELLO"
        | b"LASTSAVE" | b"MEMORY" | b"SLOWLOG" | b"LATENCY" | b"RANDOMKEY" | b"SCAN" | b"KEYS" => {
            spec(Keys::None, true)
        }
        _ => return None,
    };
    Some(s)
}

/// Indices (into args, 0 = command name) of the keys.
pub fn key_positions(keys: Keys, args: &[Vec<u8>]) -> Vec<usize> {
    let nargs = args.len();
    match keys {
        Keys::None => Vec::new(),
        Keys::Range(first, last, step) => {
            let last = if last < 0 { nargs as isize + last } else { last.min(nargs as isize - 1) };
            (first as isize..=last).step_by(step).map(|i| i as usize).collect()
        }
        Keys::NumKeys { numkeys_at, extra_first } => {
            let mut out = Vec::new();
            if extra_first && nargs > 1 {
                out.push(1);
            }
            // A malformed count routes by the keys found so far; the server reports the error.
            let n = args
                .get(numkeys_at)
                .and_then(|a| std::str::from_utf8(a).ok())
                .and_then(|t| t.parse::<usize>().ok())
                .unwrap_or(0);
            out.extend((numkeys_at + 1..nargs).take(n));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis_examples() {
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b""), 0);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
    }

    #[test]
    fn key_positions_of_ranges() {
        let args = |n: usize| vec![b"x".to_vec(); n];
        assert_eq!(key_positions(Keys::Range(1, -1, 2), &args(5)), vec![1, 3]);
        assert_eq!(key_positions(Keys::Range(1, 2, 1), &args(4)), vec![1, 2]);
        assert_eq!(key_positions(FIRST, &args(2)), vec![1]);
        let mut a = args(6);
        a[2] = b"2".to_vec();
        let nk = Keys::NumKeys { numkeys_at: 2, extra_first: true };
        assert_eq!(key_positions(nk, &a), vec![1, 3, 4]);
    }
}
