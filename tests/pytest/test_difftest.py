"""Randomized differential test: a seeded random mix of the 98 core commands (every string, key,
hash, set, list and sorted-set command with its options, MULTI/EXEC blocks with WATCH, DISCARD,
pipelines sent in one write, arity and syntax errors, number-parsing corners) sent to RedRaft
and to the reference redis-server 7.0.15, in RESP2 and RESP3, over a small keyspace (20 keys,
one hash tag: the reference runs in cluster mode) so commands hit existing data and every type
meets every command (WRONGTYPE paths included). FLUSHALL/FLUSHDB run rarely; of CLUSTER only
KEYSLOT (the other subcommands are node-specific).

Replies are compared byte for byte, except:
- reply order Redis leaves unspecified (SMEMBERS, SINTER/SUNION/SDIFF, HGETALL/HKEYS/HVALS):
  compared as multisets (the RESP type still has to match);
- SRANDMEMBER/HRANDFIELD: same reply shape, and RedRaft's picks checked by their properties
  (members of the collection, distinct for a positive count, values matching their fields);
- SPOP: RedRaft pops first; the reference pops too (same shape), then is made to remove
  exactly RedRaft's members so both keep the same state;
- HSCAN/SSCAN/ZSCAN: a full iteration on each server, the unions compared (RedRaft pages by
  COUNT, Redis returns small collections whole: cursors differ on purpose);
- TTL/PTTL: the same class (-2 missing, -1 no expiry, >= 0) and values within a tolerance.
  Every TTL set is far in the future, in the past (deleting the key), or 1 ms followed by a
  pause before the next command, so no key expires while commands race with it and the replies
  of EXPIRE ... GT/LT are deterministic.
Every CHECK_EVERY operations and at the end the whole state is compared: DBSIZE, and TYPE, the
whole value and the TTL class of every key. (Keys given a 1 ms TTL are gone for both before
the next command; RedRaft's DBSIZE still counts them until its active expiry removes them,
so a differing DBSIZE gets DBSIZE_SETTLE_S to converge.)

Sorted sets stay small (members of at most 64 bytes, at most 128 of them): Redis keeps those
listpack-encoded, whose undefined corners (lex ranges over mixed scores, -0, score text) RedRaft
reproduces byte for byte. Only documented differences are excluded: SCAN cursors and paging,
the order of set/hash listings, SRANDMEMBER/HRANDFIELD negative counts beyond 2^26 (never
generated: counts stay small), big-set ZSCAN score text, -0 in big sets.

REDRAFT_DIFF_OPS (default 10000: CI) operations in all, split evenly over the seeds of
REDRAFT_DIFF_SEEDS (default "1,2,3") and the two protocols; `make difftest` runs 100,000 over
seeds 1..5. The command sequence of a seed does not depend on the replies, the protocol or the
number of operations (it opens with every command once, then draws at random): a failure names
the seed, the protocol and the operation index, prints the last commands with both replies and
as one list (for `oracle.Differ.script`), and replays with
`REDRAFT_DIFF_SEEDS=<seed> REDRAFT_DIFF_OPS=<2 x (index + 1)> ... -k resp<2|3>`.
"""

import collections
import os
import random
import time

import pytest

from oracle import parse, unordered

TAG = "{d}"
KEYS = [f"{TAG}k{i}" for i in range(20)]
TYPES = ["string", "hash", "set", "list", "zset"]
# Key i prefers type TYPES[i % 5]: a command on a type picks a key of that type most of the time.
KEYS_OF = {t: [k for i, k in enumerate(KEYS) if TYPES[i % len(TYPES)] == t] for t in TYPES}

MEMBERS = ["a", "b", "c", "d", "e", "f", "g", "1", "2", "10", "-3", "", "a*", "é", "01",
           "9223372036854775807", "-", "]"]
ZMEMBERS = ["a", "b", "c", "d", "e", "f", "g", "1", "10", ""]
LONG = "L" * 80  # > 64 bytes: converts Redis hashes/sets to their hashtable encodings
VALUES = ["x", "y", "abc", "0", "1", "-1", "10", "3.5", "0.1", "1e3", "-2.5", "", "hello world",
          "9223372036854775807", "-9223372036854775808", b"\x00\xff\r\n", "  1", "1 "]
# Number-like corners, for INCR*/HINCRBY* on stored values (Redis parses them strictly; the
# float commands with strtold: long double range, hex, no spaces).
ODD_VALUES = ["+1", "-0", "00", "0x10", "1e309", "inf", "-inf", "nan", ".5", "5.", "1e-320",
              "1e400", "-1e400", "123456789012345678901234567890", "1.0e1", "1_000", "٣"]
SCORES = ["0", "1", "2", "-1", "1.5", "0.1", "3.3", "10", "-0", "inf", "-inf", "+inf", "1e20",
          "2.5", "-7", "100"]
ODD_SCORES = ["1.7976931348623157e308", "4.9e-324", "123456789012345678", "0.30000000000000004",
              "-1e-7", ".5", "+5", "0x10", "1e-310", "9007199254740993", "-0.0", "1E3"]
BAD_NUMBERS = ["abc", "", "1.5", " 1", "9223372036854775808", "-9223372036854775809", "0x10",
               "nan", "1e3", b"1\x00"]
EDGE_INTS = ["0", "-1", "9223372036854775807", "-9223372036854775808", "4611686018427387904",
             "-4611686018427387905"]
# Expiry times near the overflow limits (seconds * 1000, + now): accepted or "invalid expire time"
EDGE_TIMES = ["9223372036854775", "9223372036854", "9223370000000000", "9223370000000000000",
              "9223372036854775806", "-9223372036854775807"]
FLOATS = ["1", "-1", "0.1", "1.5", "-2.25", "3e2", "1e-5", "0", "10.5", "-0.3", "5.0e3"]
ODD_FLOATS = ["1e400", "-1e400", "0x10", "1e-320", "1e308", "-0", ".5", "5.", "+1.5", "1E2",
              "0.30000000000000004", "9223372036854775807", "1e-4940"]
BAD_FLOATS = ["abc", "", "inf", "-inf", "nan", "1.5.5", " 1", "1e400", "0x1p3", b"1\x00"]
SCORE_BOUNDS = ["-inf", "+inf", "inf", "0", "1", "(1", "2", "(2", "1.5", "(0", "-1", "(-1",
                "10", "(inf", "(-inf", "3.3", "100"]
BAD_SCORE_BOUNDS = ["abc", "((1", "[1", "", "nan", "(nan"]
LEX_BOUNDS = ["-", "+", "[a", "(a", "[b", "(c", "[d", "(e", "[g", "[1", "(10", "[", "("]
BAD_LEX_BOUNDS = ["a", "", "*", "-a", "+a"]
PATTERNS = ["*", "a*", "[a-c]", "?", "*1*", "x*", "[^a]*", "\\*", "1?", "a\\*", "[", "[a-",
            "\\", "[]a]", "[c-a]", "*\\", "a[", "[\\]]", "?*?", "**", "[!a]*", "[a-c-e]", "é",
            "?", "", "[é]", "*[0-9]", "\\a", "[a-]", "[^*-]", "[]-a]"]

OPS = int(os.environ.get("REDRAFT_DIFF_OPS", "10000"))
SEEDS = [int(s) for s in os.environ.get("REDRAFT_DIFF_SEEDS", "1,2,3").split(",") if s.strip()]
PROTOCOLS = 2
OPS_PER_CASE = max(1, OPS // (len(SEEDS) * PROTOCOLS))
CHECK_EVERY = 250
HISTORY = 20
TTL_TOLERANCE_S = 5
PTTL_TOLERANCE_MS = 5000
MAX_SCAN_CALLS = 2000
DBSIZE_SETTLE_S = 3

# Comparison kinds of one reply.
EXACT, UNORDERED, PAIRS, TTL, SPOP, SRAND, HRAND, SCAN = (
    "exact", "unordered", "pairs", "ttl", "spop", "srand", "hrand", "scan")
IN_MULTI = (EXACT, UNORDERED, PAIRS, TTL)


def _score_pos(bound):
    """Where a score bound sits on the line, to order two of them (bad ones anywhere)."""
    try:
        return float(bound[1:] if bound.startswith("(") else bound)
    except ValueError:
        return 0.0


def _lex_pos(bound):
    return {"-": "", "+": "\U0010ffff"}.get(bound, bound[1:])


class Op:
    __slots__ = ("args", "kind", "queued", "ops", "pause")

    def __init__(self, args, kind=EXACT, queued=None, ops=None, pause=0.0):
        self.args = [a if isinstance(a, bytes) else str(a) for a in args]
        self.kind = kind
        self.queued = queued  # EXEC: (kind, name) of the queued commands, in order
        self.ops = ops  # a pipeline: its commands, sent in one write
        self.pause = pause  # seconds to wait after the command (a 1 ms TTL runs out)


class Gen:
    """The seeded command generator. Its choices never depend on replies, so a seed always
    produces the same sequence."""

    def __init__(self, seed, t0):
        self.r = random.Random(seed)
        self.t0 = t0  # unix seconds: absolute expiry times are t0 + offset

    # ----- argument pools --------------------------------------------------------------
    def p(self, prob):
        return self.r.random() < prob

    def key(self, t=None):
        if t is not None and self.p(0.9):
            return self.r.choice(KEYS_OF[t])
        return self.r.choice(KEYS)

    def keys(self, t, lo=1, hi=3):
        return [self.key(t) for _ in range(self.r.randint(lo, hi))]

    def member(self):
        if self.p(0.01):
            return LONG
        return self.r.choice(MEMBERS)

    def members(self, lo, hi):
        return [self.member() for _ in range(self.r.randint(lo, hi))]

    def zmember(self):
        return self.r.choice(ZMEMBERS)  # short: zsets stay listpack in Redis

    def value(self):
        if self.p(0.02):
            return LONG
        if self.p(0.06):
            return self.r.choice(ODD_VALUES)
        return self.r.choice(VALUES)

    def small_int(self, lo=-5, hi=10):
        if self.p(0.03):
            return self.r.choice(BAD_NUMBERS + EDGE_INTS)
        return str(self.r.randint(lo, hi))

    def count(self, hi=3):
        """A count of a pop or random pick: small, sometimes 0, negative or bad."""
        if self.p(0.04):
            return self.r.choice(BAD_NUMBERS + ["-1", "-5", "0", "9223372036854775807"])
        return str(self.r.randint(0, hi))

    def incr(self):
        if self.p(0.05):
            return self.r.choice(BAD_NUMBERS + EDGE_INTS)
        return str(self.r.randint(-20, 20))

    def float_incr(self):
        if self.p(0.05):
            return self.r.choice(BAD_FLOATS)
        if self.p(0.06):
            return self.r.choice(ODD_FLOATS)
        return self.r.choice(FLOATS)

    def score(self):
        if self.p(0.03):
            return self.r.choice(["abc", "", "nan", "(1", "1e400"])
        if self.p(0.04):
            return self.r.choice(ODD_SCORES)
        return self.r.choice(SCORES)

    def rel_seconds(self):
        """A relative TTL in seconds: far in the future, sometimes 0/negative/out of range."""
        if self.p(0.06):
            return self.r.choice(["0", "-1", "-100"] + BAD_NUMBERS + EDGE_INTS + EDGE_TIMES)
        return str(self.r.randint(1000, 10_000_000))

    def rel_ms(self):
        if self.p(0.06):
            return self.r.choice(["0", "-1", "-100000"] + BAD_NUMBERS + EDGE_INTS + EDGE_TIMES)
        return str(self.r.randint(1_000_000, 10_000_000_000))

    def abs_seconds(self):
        """An absolute unix time: far in the future, or in the past (deletes the key)."""
        if self.p(0.06):
            return self.r.choice(["0", "-1", "1"] + BAD_NUMBERS + EDGE_INTS + EDGE_TIMES)
        if self.p(0.15):
            return str(self.t0 - self.r.randint(1, 10_000_000))
        return str(self.t0 + self.r.randint(1000, 10_000_000))

    def abs_ms(self):
        if self.p(0.06):
            return self.r.choice(["0", "-1", "1"] + BAD_NUMBERS + EDGE_INTS + EDGE_TIMES)
        if self.p(0.15):
            return str(self.t0 * 1000 - self.r.randint(1, 10_000_000_000))
        return str(self.t0 * 1000 + self.r.randint(1_000_000, 10_000_000_000))

    def index(self):
        if self.p(0.03):
            return self.r.choice(BAD_NUMBERS + EDGE_INTS)
        return str(self.r.randint(-8, 8))

    def side(self):
        if self.p(0.02):
            return self.r.choice(["UP", "", "MIDDLE"])
        return self.r.choice(["LEFT", "RIGHT", "left", "right"])

    def shuffle(self, groups):
        self.r.shuffle(groups)
        return [a for g in groups for a in g]

    # ----- commands --------------------------------------------------------------------
    # Each returns (args, kind); args[0] is the command name.

    def c_ping(self, name=None):
        return ["PING"] + ([self.value()] if self.p(0.5) else []), EXACT

    def c_echo(self, name=None):
        return ["ECHO", self.value()], EXACT

    def c_cluster_keyslot(self, name=None):
        if self.p(0.05):  # an unknown subcommand
            sub = self.r.choice(["NOSUCH", "keyslots", ""])
            return ["CLUSTER", sub] + self.keys(None, 0, 1), EXACT
        k = self.key() if self.p(0.7) else self.r.choice(["", "{", "{}", "a{b}c", "{d}", "foo"])
        return ["CLUSTER", self.r.choice(["KEYSLOT", "keyslot"]), k], EXACT

    def c_del(self, name=None):
        return [name] + self.keys(None, 1, 3), EXACT

    def c_exists(self, name=None):
        return ["EXISTS"] + self.keys(None, 1, 4), EXACT

    def c_type(self, name=None):
        return ["TYPE", self.key()], EXACT

    def expire_opts(self):
        opts = []
        for _ in range(self.r.choice([0, 0, 0, 1, 1, 2])):
            opts.append(self.r.choice(["NX", "XX", "GT", "LT", "nx", "gt"]))
        if self.p(0.01):
            opts.append("FOO")
        return opts

    def c_expire(self, name=None):
        t = {"EXPIRE": self.rel_seconds, "PEXPIRE": self.rel_ms, "EXPIREAT": self.abs_seconds,
             "PEXPIREAT": self.abs_ms}[name]()
        return [name, self.key(), t] + self.expire_opts(), EXACT

    def c_ttl(self, name=None):
        return [name, self.key()], TTL

    def c_persist(self, name=None):
        return ["PERSIST", self.key()], EXACT

    # strings
    def c_get(self, name=None):
        return ["GET", self.key("string")], EXACT

    def c_set(self, name=None):
        groups = []
        exp = self.r.choice([None, None, "EX", "PX", "EXAT", "PXAT", "KEEPTTL"])
        if exp == "EX":
            groups.append(["EX", self.rel_seconds()])
        elif exp == "PX":
            groups.append(["PX", self.rel_ms()])
        elif exp == "EXAT":
            groups.append(["EXAT", self.abs_seconds()])
        elif exp == "PXAT":
            groups.append(["PXAT", self.abs_ms()])
        elif exp == "KEEPTTL":
            groups.append(["KEEPTTL"])
        cond = self.r.choice([None, None, "NX", "XX"])
        if cond:
            groups.append([cond])
        if self.p(0.25):
            groups.append(["GET"])
        if self.p(0.02):  # conflicting or unknown options
            groups.append([self.r.choice(["NX", "XX", "EX", "KEEPTTL", "PX", "FOO", "GET"])]
                          + ([self.rel_seconds()] if self.p(0.5) else []))
        return ["SET", self.key("string"), self.value()] + self.shuffle(groups), EXACT

    def c_setnx(self, name=None):
        return ["SETNX", self.key("string"), self.value()], EXACT

    def c_setex(self, name=None):
        if name == "SETEX":
            return ["SETEX", self.key("string"), self.rel_seconds(), self.value()], EXACT
        return ["PSETEX", self.key("string"), self.rel_ms(), self.value()], EXACT

    def c_mget(self, name=None):
        return ["MGET"] + self.keys("string", 1, 4), EXACT

    def c_mset(self, name=None):
        args = ["MSET"]
        for _ in range(self.r.randint(1, 3)):
            args += [self.key("string"), self.value()]
        return args, EXACT

    def c_getset(self, name=None):
        return ["GETSET", self.key("string"), self.value()], EXACT

    def c_getdel(self, name=None):
        return ["GETDEL", self.key("string")], EXACT

    def c_getex(self, name=None):
        opt = self.r.choice([[], [], ["EX", self.rel_seconds()], ["PX", self.rel_ms()],
                             ["EXAT", self.abs_seconds()], ["PXAT", self.abs_ms()], ["PERSIST"]])
        if self.p(0.03):
            opt = opt + self.r.choice([["PERSIST"], ["EX", "100"], ["FOO"], ["KEEPTTL"]])
        return ["GETEX", self.key("string")] + opt, EXACT

    def c_strlen(self, name=None):
        return ["STRLEN", self.key("string")], EXACT

    def c_append(self, name=None):
        return ["APPEND", self.key("string"), self.value()], EXACT

    def c_getrange(self, name=None):
        return ["GETRANGE", self.key("string"), self.index(), self.index()], EXACT

    def c_setrange(self, name=None):
        if self.p(0.04):
            off = self.r.choice(["-1", "abc", "536870912", "9223372036854775807"])
        else:
            off = str(self.r.randint(0, 12))
        return ["SETRANGE", self.key("string"), off, self.value()], EXACT

    def c_incr(self, name=None):
        if name in ("INCR", "DECR"):
            return [name, self.key("string")], EXACT
        if name == "INCRBYFLOAT":
            return [name, self.key("string"), self.float_incr()], EXACT
        return [name, self.key("string"), self.incr()], EXACT

    # hashes
    def c_hset(self, name=None):
        args = [name, self.key("hash")]
        for _ in range(self.r.randint(1, 3)):
            args += [self.member(), self.value()]
        return args, EXACT

    def c_hget(self, name=None):
        return ["HGET", self.key("hash"), self.member()], EXACT

    def c_hdel(self, name=None):
        return ["HDEL", self.key("hash")] + self.members(1, 3), EXACT

    def c_hmget(self, name=None):
        return ["HMGET", self.key("hash")] + self.members(1, 4), EXACT

    def c_hgetall(self, name=None):
        return [name, self.key("hash")], PAIRS if name == "HGETALL" else UNORDERED

    def c_hlen(self, name=None):
        return ["HLEN", self.key("hash")], EXACT

    def c_hexists(self, name=None):
        return ["HEXISTS", self.key("hash"), self.member()], EXACT

    def c_hsetnx(self, name=None):
        return ["HSETNX", self.key("hash"), self.member(), self.value()], EXACT

    def c_hincrby(self, name=None):
        return ["HINCRBY", self.key("hash"), self.member(), self.incr()], EXACT

    def c_hincrbyfloat(self, name=None):
        return ["HINCRBYFLOAT", self.key("hash"), self.member(), self.float_incr()], EXACT

    def c_hrandfield(self, name=None):
        args = ["HRANDFIELD", self.key("hash")]
        if self.p(0.7):
            args.append(self.count(hi=8) if self.p(0.6) else str(-self.r.randint(1, 8)))
            if self.p(0.4):
                args.append("WITHVALUES" if self.p(0.95) else "WITHSCORES")
        return args, HRAND

    def scan_opts(self):
        groups = []
        if self.p(0.4):
            groups.append(["MATCH", self.r.choice(PATTERNS)])
        if self.p(0.6):
            groups.append(["COUNT", str(self.r.randint(1, 12))])
        if self.p(0.03):
            groups.append(self.r.choice([["COUNT", "0"], ["COUNT", "x"], ["COUNT", "-1"],
                                         ["FOO", "1"], ["MATCH"], ["TYPE", "string"],
                                         ["NOVALUES"]]))
        return self.shuffle(groups)

    def c_scan(self, name=None):
        t = {"HSCAN": "hash", "SSCAN": "set", "ZSCAN": "zset"}[name]
        cursor = "0" if self.p(0.97) else self.r.choice(["abc", "-", "1.5", " 0"])
        return [name, self.key(t), cursor] + self.scan_opts(), SCAN

    # sets
    def c_sadd(self, name=None):
        return [name, self.key("set")] + [self.member() for _ in range(self.r.randint(1, 5))], EXACT

    def c_smembers(self, name=None):
        return ["SMEMBERS", self.key("set")], UNORDERED

    def c_sismember(self, name=None):
        if name == "SISMEMBER":
            return ["SISMEMBER", self.key("set"), self.member()], EXACT
        return ["SMISMEMBER", self.key("set")] + self.members(1, 4), EXACT

    def c_scard(self, name=None):
        return ["SCARD", self.key("set")], EXACT

    def c_srandmember(self, name=None):
        args = ["SRANDMEMBER", self.key("set")]
        if self.p(0.7):
            args.append(self.count(hi=8) if self.p(0.6) else str(-self.r.randint(1, 8)))
        return args, SRAND

    def c_spop(self, name=None):
        args = ["SPOP", self.key("set")]
        if self.p(0.6):
            args.append(self.count(hi=4))
        return args, SPOP

    def c_setop(self, name=None):
        return [name] + self.keys("set", 1, 3), UNORDERED

    def c_sintercard(self, name=None):
        ks = self.keys("set", 1, 3)
        n = str(len(ks))
        if self.p(0.05):
            # never 1 < numkeys <= the arguments left: the reference (Redis Cluster) would
            # read LIMIT ... as keys in other slots and answer CROSSSLOT
            n = self.r.choice(["0", "-1", "abc", "100", "9223372036854775807"])
        args = ["SINTERCARD", n] + ks
        if self.p(0.4):
            args += ["LIMIT", self.r.choice(["0", "1", "2", "3", "-1", "x"])]
        return args, EXACT

    def c_smove(self, name=None):
        return ["SMOVE", self.key("set"), self.key("set"), self.member()], EXACT

    def c_setopstore(self, name=None):
        return [name, self.key("set")] + self.keys("set", 1, 3), EXACT

    # lists
    def c_push(self, name=None):
        n = self.r.randint(1, 5) if self.p(0.95) else 20  # now and then a longer list
        return [name, self.key("list")] + [self.member() for _ in range(n)], EXACT

    def c_pop(self, name=None):
        args = [name, self.key("list")]
        if self.p(0.5):
            args.append(self.count())
        return args, EXACT

    def c_llen(self, name=None):
        return ["LLEN", self.key("list")], EXACT

    def c_lindex(self, name=None):
        return ["LINDEX", self.key("list"), self.index()], EXACT

    def c_lrange(self, name=None):
        return ["LRANGE", self.key("list"), *self.rank_range()], EXACT

    def c_lpos(self, name=None):
        groups = []
        if self.p(0.4):
            groups.append(["RANK", self.r.choice(["1", "2", "-1", "-2", "3", "0", "x",
                                                  "-9223372036854775808"])])
        if self.p(0.4):
            groups.append(["COUNT", self.r.choice(["0", "1", "2", "5", "-1"])])
        if self.p(0.3):
            groups.append(["MAXLEN", self.r.choice(["0", "1", "3", "10", "-1"])])
        if self.p(0.02):
            groups.append(["FOO"])
        return ["LPOS", self.key("list"), self.member()] + self.shuffle(groups), EXACT

    def c_lset(self, name=None):
        return ["LSET", self.key("list"), self.index(), self.member()], EXACT

    def c_linsert(self, name=None):
        where = self.r.choice(["BEFORE", "AFTER", "before"] + (["MIDDLE"] if self.p(0.05) else []))
        return ["LINSERT", self.key("list"), where, self.member(), self.member()], EXACT

    def c_lrem(self, name=None):
        return ["LREM", self.key("list"), self.small_int(-3, 3), self.member()], EXACT

    def c_ltrim(self, name=None):
        return ["LTRIM", self.key("list"), self.index(), str(self.r.randint(-1, 12))], EXACT

    def c_lmove(self, name=None):
        return ["LMOVE", self.key("list"), self.key("list"), self.side(), self.side()], EXACT

    def c_lmpop(self, name=None):
        ks = self.keys("list", 1, 3)
        n = str(len(ks))
        if self.p(0.05):
            n = self.r.choice(["0", "-1", "abc", "100"])  # as in SINTERCARD
        args = ["LMPOP", n] + ks + [self.side()]
        if self.p(0.5):
            args += ["COUNT", self.count()]
        return args, EXACT

    # sorted sets
    def c_zadd(self, name=None):
        opts = []
        for _ in range(self.r.choice([0, 0, 1, 1, 2, 3])):
            opts.append(self.r.choice(["NX", "XX", "GT", "LT", "CH", "INCR", "ch"]))
        args = ["ZADD", self.key("zset")] + opts
        n = 1 if ("INCR" in opts and self.p(0.9)) else self.r.randint(1, 4)
        for _ in range(n):
            args += [self.score(), self.zmember()]
        if self.p(0.01):
            args.append(self.zmember())  # odd score/member list
        return args, EXACT

    def c_zrem(self, name=None):
        return ["ZREM", self.key("zset")] + [self.zmember() for _ in range(self.r.randint(1, 3))], \
            EXACT

    def c_zscore(self, name=None):
        return ["ZSCORE", self.key("zset"), self.zmember()], EXACT

    def c_zrank(self, name=None):
        args = [name, self.key("zset"), self.zmember()]
        if self.p(0.02):
            args.append("WITHSCORE")
        return args, EXACT

    def c_zcard(self, name=None):
        return ["ZCARD", self.key("zset")], EXACT

    def score_bound(self):
        if self.p(0.03):
            return self.r.choice(BAD_SCORE_BOUNDS)
        return self.r.choice(SCORE_BOUNDS)

    def lex_bound(self):
        if self.p(0.03):
            return self.r.choice(BAD_LEX_BOUNDS)
        return self.r.choice(LEX_BOUNDS)

    def score_range(self, rev=False):
        """min, max (max, min for rev): ordered most of the time, so ranges are not empty."""
        a, b = self.score_bound(), self.score_bound()
        if self.p(0.75):
            a, b = sorted([a, b], key=_score_pos)
            if rev:
                a, b = b, a
        return a, b

    def lex_range(self, rev=False):
        a, b = self.lex_bound(), self.lex_bound()
        if self.p(0.75):
            a, b = sorted([a, b], key=_lex_pos)
            if rev:
                a, b = b, a
        return a, b

    def rank_range(self):
        if self.p(0.2):
            return self.index(), self.index()
        return str(self.r.randint(-8, 3)), str(self.r.randint(-3, 8))

    def limit(self):
        return ["LIMIT", self.small_int(-1, 4), self.small_int(-1, 5)]

    def c_zcount(self, name=None):
        if name == "ZCOUNT":
            return ["ZCOUNT", self.key("zset"), *self.score_range()], EXACT
        return ["ZLEXCOUNT", self.key("zset"), *self.lex_range()], EXACT

    def c_zrange(self, name=None):
        by = self.r.choice([None, None, "BYSCORE", "BYLEX"])
        rev = self.p(0.3)
        if by == "BYSCORE":
            lo, hi = self.score_range(rev)
        elif by == "BYLEX":
            lo, hi = self.lex_range(rev)
        else:
            lo, hi = self.rank_range()
        groups = [[by]] if by else []
        if rev:
            groups.append(["REV"])
        if self.p(0.3 if by else 0.03):
            groups.append(self.limit())
        if self.p(0.4 if by != "BYLEX" else 0.03):
            groups.append(["WITHSCORES"])
        return ["ZRANGE", self.key("zset"), lo, hi] + self.shuffle(groups), EXACT

    def c_zrangebyscore(self, name=None):
        groups = []
        if self.p(0.4):
            groups.append(["WITHSCORES"])
        if self.p(0.3):
            groups.append(self.limit())
        bounds = self.score_range(rev=name == "ZREVRANGEBYSCORE")
        return [name, self.key("zset"), *bounds] + self.shuffle(groups), EXACT

    def c_zrevrange(self, name=None):
        args = ["ZREVRANGE", self.key("zset"), *self.rank_range()]
        if self.p(0.4):
            args.append("WITHSCORES")
        return args, EXACT

    def c_zincrby(self, name=None):
        inc = self.score() if self.p(0.7) else self.float_incr()
        return ["ZINCRBY", self.key("zset"), inc, self.zmember()], EXACT

    def c_zrangebylex(self, name=None):
        args = ["ZRANGEBYLEX", self.key("zset"), *self.lex_range()]
        if self.p(0.3):
            args += self.limit()
        return args, EXACT

    def c_zpop(self, name=None):
        args = [name, self.key("zset")]
        if self.p(0.5):
            args.append(self.count())
        return args, EXACT

    # ----- the table -------------------------------------------------------------------
    def table(self):
        """(builder, weight, the command names it builds: one is picked evenly)."""
        return [
            (self.c_ping, 1, ["PING"]), (self.c_echo, 1, ["ECHO"]),
            (self.c_cluster_keyslot, 1, ["CLUSTER"]),
            (self.c_del, 3, ["DEL", "UNLINK"]), (self.c_exists, 2, ["EXISTS"]),
            (self.c_type, 2, ["TYPE"]),
            (self.c_expire, 6, ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"]),
            (self.c_ttl, 3, ["TTL", "PTTL"]), (self.c_persist, 2, ["PERSIST"]),
            (self.c_get, 3, ["GET"]), (self.c_set, 6, ["SET"]), (self.c_setnx, 1, ["SETNX"]),
            (self.c_setex, 2, ["SETEX", "PSETEX"]), (self.c_mget, 2, ["MGET"]),
            (self.c_mset, 2, ["MSET"]), (self.c_getset, 1, ["GETSET"]),
            (self.c_getdel, 1, ["GETDEL"]), (self.c_getex, 2, ["GETEX"]),
            (self.c_strlen, 1, ["STRLEN"]), (self.c_append, 2, ["APPEND"]),
            (self.c_getrange, 2, ["GETRANGE"]), (self.c_setrange, 2, ["SETRANGE"]),
            (self.c_incr, 6, ["INCR", "DECR", "INCRBY", "DECRBY", "INCRBYFLOAT"]),
            (self.c_hset, 6, ["HSET", "HMSET"]), (self.c_hget, 2, ["HGET"]),
            (self.c_hdel, 2, ["HDEL"]), (self.c_hmget, 2, ["HMGET"]),
            (self.c_hgetall, 3, ["HGETALL", "HKEYS", "HVALS"]), (self.c_hlen, 1, ["HLEN"]),
            (self.c_hexists, 1, ["HEXISTS"]), (self.c_hsetnx, 1, ["HSETNX"]),
            (self.c_hincrby, 2, ["HINCRBY"]), (self.c_hincrbyfloat, 2, ["HINCRBYFLOAT"]),
            (self.c_hrandfield, 2, ["HRANDFIELD"]),
            (self.c_scan, 4, ["HSCAN", "SSCAN", "ZSCAN"]),
            (self.c_sadd, 7, ["SADD", "SREM"]), (self.c_smembers, 2, ["SMEMBERS"]),
            (self.c_sismember, 2, ["SISMEMBER", "SMISMEMBER"]), (self.c_scard, 1, ["SCARD"]),
            (self.c_srandmember, 2, ["SRANDMEMBER"]), (self.c_spop, 2, ["SPOP"]),
            (self.c_setop, 3, ["SINTER", "SUNION", "SDIFF"]),
            (self.c_sintercard, 2, ["SINTERCARD"]), (self.c_smove, 2, ["SMOVE"]),
            (self.c_setopstore, 3, ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]),
            (self.c_push, 6, ["LPUSH", "RPUSH"]), (self.c_pop, 3, ["LPOP", "RPOP"]),
            (self.c_llen, 1, ["LLEN"]), (self.c_lindex, 2, ["LINDEX"]),
            (self.c_lrange, 2, ["LRANGE"]), (self.c_lpos, 2, ["LPOS"]), (self.c_lset, 2, ["LSET"]),
            (self.c_linsert, 2, ["LINSERT"]), (self.c_lrem, 2, ["LREM"]),
            (self.c_ltrim, 2, ["LTRIM"]), (self.c_lmove, 2, ["LMOVE"]),
            (self.c_lmpop, 2, ["LMPOP"]),
            (self.c_zadd, 9, ["ZADD"]), (self.c_zrem, 2, ["ZREM"]), (self.c_zscore, 2, ["ZSCORE"]),
            (self.c_zrank, 2, ["ZRANK", "ZREVRANK"]), (self.c_zcard, 1, ["ZCARD"]),
            (self.c_zcount, 2, ["ZCOUNT", "ZLEXCOUNT"]), (self.c_zrange, 4, ["ZRANGE"]),
            (self.c_zrangebyscore, 2, ["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]),
            (self.c_zrevrange, 1, ["ZREVRANGE"]), (self.c_zincrby, 2, ["ZINCRBY"]),
            (self.c_zrangebylex, 2, ["ZRANGEBYLEX"]), (self.c_zpop, 2, ["ZPOPMIN", "ZPOPMAX"]),
        ]

    def build(self, builder, name, multi_ok):
        args, kind = builder(name)
        if multi_ok and kind not in IN_MULTI:
            return None
        if self.p(0.02) and kind in IN_MULTI:
            # arity/syntax errors: drop the last argument or add one
            if len(args) > 1 and self.p(0.6):
                args = args[:-1]
            else:
                args = args + [self.key()]  # a key: variadic key lists take it too
        if self.p(0.05):
            args = [self.r.choice([args[0].lower(), args[0].capitalize()])] + args[1:]
        return Op(args, kind)

    def one(self, multi_ok):
        """One command; multi_ok: only kinds that can be compared inside an EXEC reply."""
        while True:
            builder, _, names = self.r.choices(self._table, self._weights)[0]
            op = self.build(builder, self.r.choice(names), multi_ok)
            if op is not None:
                return op

    def ops(self):
        """The endless operation stream (MULTI blocks yield several ops). It opens with every
        command once, in a seeded order, so even a short run covers them all; then random."""
        self._table = self.table()
        self._weights = [w for _, w, _ in self._table]
        first = [(b, n) for b, _, names in self._table for n in names]
        self.r.shuffle(first)
        for i, (builder, name) in enumerate(first):
            yield self.build(builder, name, False)
            if i == len(first) // 3:
                yield self.flush("FLUSHDB")
            elif i == len(first) // 2:
                yield from self.multi_block(discard=False)
                yield self.pipeline()
            elif i == 2 * len(first) // 3:
                yield self.flush("FLUSHALL")
            elif i % 10 == 5:
                yield self.short_ttl()
        while True:
            x = self.r.random()
            if x < 0.0007:
                yield self.flush()
            elif x < 0.03:
                yield from self.multi_block()
            elif x < 0.06:
                yield self.pipeline()
            elif x < 0.065:
                yield self.short_ttl()
            else:
                yield self.one(multi_ok=False)

    def touch(self, k):
        """A write to a watched key; many change nothing (Redis then keeps the WATCH)."""
        m, v = self.member(), self.value()
        return Op(self.r.choice([
            ["SET", k, v], ["SET", k, v, "NX"], ["SET", k, v, "XX"], ["APPEND", k, ""],
            ["INCR", k], ["DEL", k], ["EXPIRE", k, self.rel_seconds()],
            ["EXPIRE", k, self.rel_seconds(), "NX"], ["EXPIRE", k, self.rel_seconds(), "XX"],
            ["PERSIST", k], ["GETEX", k], ["GETEX", k, "PERSIST"], ["SETRANGE", k, "0", ""],
            ["HSET", k, m, v], ["HSETNX", k, m, v], ["HDEL", k, m], ["HINCRBY", k, m, "0"],
            ["SADD", k, m], ["SREM", k, m], ["SMOVE", k, k, m], ["SPOP", k, "0"],
            ["SINTERSTORE", k, k], ["SUNIONSTORE", k, self.key()],
            ["LPUSH", k, m], ["LREM", k, "0", m], ["LTRIM", k, "0", "-1"], ["LSET", k, "0", m],
            ["LMOVE", k, k, "LEFT", "RIGHT"], ["LPOP", k, "0"], ["LINSERT", k, "BEFORE", m, m],
            ["ZADD", k, self.score(), self.zmember()], ["ZADD", k, "XX", "1", self.zmember()],
            ["ZINCRBY", k, "0", self.zmember()], ["ZREM", k, self.zmember()],
            ["ZPOPMIN", k, "0"], ["GET", k], ["TYPE", k],
        ]))

    def short_ttl(self):
        """A 1 ms TTL, then a pause: the key is gone on both servers (Redis deletes it lazily,
        on the next access) before the next command, which may write it again."""
        k, v = self.key(), self.value()
        return Op(self.r.choice([
            ["PEXPIRE", k, "1"], ["PEXPIRE", k, "1", "XX"], ["PEXPIRE", k, "1", "LT"],
            ["SET", k, v, "PX", "1"], ["SET", k, v, "PX", "1", "GET"], ["PSETEX", k, "1", v],
            ["GETEX", k, "PX", "1"], ["SET", k, v, "PX", "1", "NX"],
        ]), pause=0.01)

    def flush(self, name=None):
        return Op([name or self.r.choice(["FLUSHALL", "FLUSHDB"])]
                  + ([self.r.choice(["SYNC", "ASYNC"])] if self.p(0.3) else []))

    def pipeline(self):
        """2..12 commands (whole MULTI blocks too) sent in one write: RedRaft batches a
        pipeline's writes, and each command must still see the ones before it."""
        ops, n = [], self.r.randint(2, 12)
        while len(ops) < n:
            if self.p(0.1):
                ops += list(self.multi_block(in_pipeline=True))
            else:
                ops.append(self.one(multi_ok=True))
        return Op(["PIPELINE"], "pipe", ops=ops)

    def multi_block(self, in_pipeline=False, discard=True):
        if self.p(0.3):
            watched = self.keys(None, 1, 3)
            yield Op(["WATCH"] + watched)
            if self.p(0.3):
                # may touch a watched key: EXEC aborts
                yield self.one(multi_ok=in_pipeline)
            if self.p(0.5):
                yield self.touch(self.r.choice(watched))
            if self.p(0.1):
                yield Op(["UNWATCH"])
        yield Op(["MULTI"])
        queued = []
        for _ in range(self.r.randint(0, 6)):
            if self.p(0.02):
                # not queued: WATCH and MULTI answer an error at once (EXEC still runs), an
                # unknown command makes EXEC fail with EXECABORT
                yield Op(self.r.choice([["WATCH", self.key()], ["MULTI"], ["NOSUCHCMD", "x"]]))
                continue
            if self.p(0.01):
                op = self.flush()
            else:
                op = self.one(multi_ok=True)
            queued.append((op.kind, op.args[0]))
            yield Op(op.args, EXACT)  # +QUEUED or a queueing error
        if discard and self.p(0.1):
            yield Op(["DISCARD"])
        else:
            yield Op(["EXEC"], "exec", queued=queued)


# ------------------------------------------------------------------------------ comparison

class Mismatch(Exception):
    pass


def show(raw, limit=300):
    r = repr(raw)
    return r if len(r) <= limit else r[:limit] + f"... ({len(raw)} bytes)"


def pairs_canon(v):
    """HGETALL-like replies: a RESP3 map, or a RESP2 flat array of field, value."""
    if v[0] == "array" and len(v[1]) % 2 == 0:
        items = v[1]
        return ("pairs", tuple(sorted(zip(items[::2], items[1::2]), key=repr)))
    return unordered(v)


def ttl_ok(cmd, a, b):
    if a == b:
        return True
    if a[0] != "int" or b[0] != "int":
        return False
    x, y = a[1], b[1]
    if x < 0 or y < 0:
        return False  # -1/-2 must be identical
    tol = PTTL_TOLERANCE_MS if cmd.upper() == "PTTL" else TTL_TOLERANCE_S
    return abs(x - y) <= tol


def same_value(kind, cmd, mine_raw, ref_raw):
    """mine/ref: raw reply bytes of one command (or one EXEC element) of the given kind."""
    if kind == EXACT:
        return mine_raw == ref_raw
    a, b = parse(mine_raw)[0], parse(ref_raw)[0]
    if kind == UNORDERED:
        return unordered(a) == unordered(b)
    if kind == PAIRS:
        return pairs_canon(a) == pairs_canon(b)
    if kind == TTL:
        return ttl_ok(cmd, a, b)
    raise AssertionError(kind)


def elements(raw):
    """The raw bytes of each element of an array reply (None if not an array)."""
    if raw[:1] != b"*" or raw.startswith(b"*-1"):
        return None
    end = raw.index(b"\r\n")
    n = int(raw[1:end])
    pos, out = end + 2, []
    for _ in range(n):
        _, nxt = parse(raw, pos)
        out.append(raw[pos:nxt])
        pos = nxt
    return out


def shape(v):
    """A parsed reply with its strings blanked: RESP types and lengths only."""
    if v[0] in ("array", "set", "push"):
        return (v[0], tuple(shape(i) for i in v[1]))
    if v[0] == "map":
        return ("map", tuple((shape(k), shape(x)) for k, x in v[1]))
    if v[0] == "bulk":
        return ("bulk",)
    return v


def flat_strings(v):
    """Every bulk string of a reply, depth first."""
    if v[0] == "bulk":
        return [v[1]]
    if v[0] in ("array", "set", "push"):
        return [s for i in v[1] for s in flat_strings(i)]
    if v[0] == "map":
        return [s for k, x in v[1] for s in flat_strings(k) + flat_strings(x)]
    return []


def int_arg(s):
    try:
        return int(s)
    except (TypeError, ValueError):
        return None


class Run:
    def __init__(self, differ, seed, protocol, n_ops):
        self.d = differ
        self.seed = seed
        self.protocol = protocol
        self.n_ops = n_ops
        self.t0 = int(time.time())
        self.history = collections.deque(maxlen=HISTORY)
        self.index = -1
        self.counts = collections.Counter()

    # ----- reporting -------------------------------------------------------------------
    def fail(self, what, args=None, mine=None, ref=None):
        lines = [f"difftest mismatch: seed={self.seed} RESP{self.protocol} "
                 f"operation #{self.index} of {self.n_ops} (t0={self.t0})",
                 f"  {what}"]
        if args is not None:
            lines.append(f"  command: {list(args)!r}")
        if mine is not None or ref is not None:
            lines.append(f"  redraft:   {show(mine)}")
            lines.append(f"  reference: {show(ref)}")
        lines.append(f"  the last {len(self.history)} commands, oldest first (the first may "
                     f"depend on older state):")
        for i, a, m, r in self.history:
            lines.append(f"    #{i} {a!r}")
            lines.append(f"         redraft {show(m, 160)} | reference {show(r, 160)}")
        lines.append("  the same commands as one list: "
                     + repr([a for _, a, _, _ in self.history]))
        lines.append(f"  replay: REDRAFT_DIFF_SEEDS={self.seed} "
                     f"REDRAFT_DIFF_OPS={2 * (self.index + 1)} REDRAFT_BIN=... python3 -m pytest "
                     f"-q tests/pytest/test_difftest.py -k resp{self.protocol}")
        raise Mismatch("\n".join(lines))

    def remember(self, args, mine, ref):
        self.history.append((self.index, list(args), mine, ref))

    # ----- one operation ---------------------------------------------------------------
    def run_op(self, op):
        args = op.args
        if op.kind != "pipe":
            self.counts[args[0].upper() if isinstance(args[0], str) else args[0]] += 1
        handler = {SPOP: self.do_spop, SRAND: self.do_srand, HRAND: self.do_hrand,
                   SCAN: self.do_scan, "exec": self.do_exec, "pipe": self.do_pipe}.get(op.kind)
        if handler is not None:
            return handler(op)
        mine, ref = self.d.both(*args)
        self.remember(args, mine, ref)
        self.compare(op, mine, ref)

    def compare(self, op, mine, ref, where=""):
        if op.kind == "exec":
            return self.compare_exec(op, mine, ref, where)
        if not same_value(op.kind, op.args[0], mine, ref):
            self.fail(f"replies differ ({op.kind}){where}", op.args, mine, ref)

    def do_pipe(self, op):
        from helpers import encode
        data = b"".join(encode(*o.args) for o in op.ops)
        self.d.mine.send(data)
        self.d.ref.send(data)
        mine, ref = self.d.mine.replies(len(op.ops)), self.d.ref.replies(len(op.ops))
        first = self.index
        for i, (o, a, b) in enumerate(zip(op.ops, mine, ref)):
            self.index = first + i
            self.counts[o.args[0].upper()] += 1
            self.remember(o.args, a, b)
        for i, (o, a, b) in enumerate(zip(op.ops, mine, ref)):
            self.index = first + i
            self.compare(o, a, b, f" (command {i + 1} of a pipeline of {len(op.ops)}, "
                                  f"operations #{first}..#{first + len(op.ops) - 1})")
        self.index = first + len(op.ops) - 1

    def do_exec(self, op):
        mine, ref = self.d.both(*op.args)
        self.remember(op.args, mine, ref)
        self.compare_exec(op, mine, ref)

    def compare_exec(self, op, mine, ref, where=""):
        if mine == ref:
            return
        me, re_ = elements(mine), elements(ref)
        if me is None or re_ is None or len(me) != len(re_) or len(me) != len(op.queued):
            self.fail(f"EXEC replies differ{where}", op.args, mine, ref)
        for i, ((kind, cmd), a, b) in enumerate(zip(op.queued, me, re_)):
            if not same_value(kind, cmd, a, b):
                self.fail(f"EXEC element {i} ({cmd}, {kind}) differs{where}", op.args, mine, ref)

    def do_spop(self, op):
        args = op.args
        key = args[1]
        mine = self.d.mine.call(*args)
        pm = parse(mine)[0]
        popped = flat_strings(pm)
        if pm[0] == "err" or not popped:
            ref = self.d.ref.call(*args)
            self.remember(args, mine, ref)
            if mine != ref:
                self.fail("SPOP replies differ", args, mine, ref)
            return
        # RedRaft popped: they must have been distinct members of the reference's set too.
        check = parse(self.d.ref.call("SMISMEMBER", key, *popped))[0]
        if check != ("array", [("int", 1)] * len(popped)) or len(set(popped)) != len(popped):
            self.remember(args, mine, None)
            self.fail(f"SPOP popped non-members or repeats (reference SMISMEMBER {check!r})",
                      args, mine, None)
        ref = self.d.ref.call(*args)
        self.remember(args, mine, ref)
        pr = parse(ref)[0]
        if shape(pm) != shape(pr):
            self.fail("SPOP reply shapes differ", args, mine, ref)
        ref_popped = flat_strings(pr)
        if sorted(ref_popped) != sorted(popped):
            # Make the reference lose exactly RedRaft's members. Both pops took the same number
            # of members; fewer than all (else they would be the same), so the key survives
            # with its TTL.
            self.d.ref.call("SADD", key, *ref_popped)
            got = parse(self.d.ref.call("SREM", key, *popped))[0]
            if got != ("int", len(popped)):
                self.fail(f"SPOP fix-up on the reference removed {got!r}", args, mine, ref)

    def _rand_common(self, op):
        args = op.args
        mine, ref = self.d.both(*args)
        self.remember(args, mine, ref)
        pm, pr = parse(mine)[0], parse(ref)[0]
        if pm[0] == "err" or pr[0] == "err" or shape(pm) != shape(pr):
            if mine != ref:
                self.fail(f"{args[0].upper()} replies differ (errors or shapes)", args, mine, ref)
            return None, None
        count = int_arg(args[2]) if len(args) > 2 else None
        return pm, count

    def do_srand(self, op):
        pm, count = self._rand_common(op)
        if pm is None or pm[0] == "null":
            return
        members = set(flat_strings(parse(self.d.ref.call("SMEMBERS", op.args[1]))[0]))
        got = flat_strings(pm)
        bad = [m for m in got if m not in members]
        if not members:  # missing key: the reply is empty, and equal to the reference's
            return
        if bad or (count is not None and count >= 0 and
                   (len(set(got)) != len(got) or len(got) != min(count, len(members)))) or (
                count is not None and count < 0 and len(got) != -count):
            self.fail(f"SRANDMEMBER picks are wrong (members {sorted(members)!r})", op.args,
                      self.history[-1][2], self.history[-1][3])

    def do_hrand(self, op):
        pm, count = self._rand_common(op)
        if pm is None or pm[0] == "null":
            return
        hv = parse(self.d.ref.call("HGETALL", op.args[1]))[0]
        flat = flat_strings(hv)
        fields = dict(zip(flat[::2], flat[1::2]))
        if not fields:  # missing key: the reply is empty, and equal to the reference's
            return
        withvalues = len(op.args) > 3
        got = flat_strings(pm)
        if withvalues:
            picks = list(zip(got[::2], got[1::2]))
            ok = all(f in fields and fields[f] == v for f, v in picks)
            names = [f for f, _ in picks]
        else:
            names = got
            ok = all(f in fields for f in names)
        if count is not None and count >= 0:
            ok = ok and len(set(names)) == len(names) == min(count, len(fields))
        elif count is not None:
            ok = ok and len(names) == -count
        if not ok:
            self.fail(f"HRANDFIELD picks are wrong (hash {fields!r})", op.args,
                      self.history[-1][2], self.history[-1][3])

    def full_scan(self, conn, args):
        """(first raw reply, set of items or None if the first reply is an error)."""
        name = args[0].upper()
        first, items, cursor, calls = None, set(), args[2], 0
        while True:
            raw = conn.call(args[0], args[1], cursor, *args[3:])
            if first is None:
                first = raw
            v = parse(raw)[0]
            if v[0] == "err":
                return first, None if calls == 0 else ("error mid-iteration", raw)
            if not (v[0] == "array" and len(v[1]) == 2 and v[1][0][0] == "bulk"
                    and v[1][1][0] == "array"):
                return first, ("malformed page", raw)
            flat = [x[1] for x in v[1][1][1]]
            if name == "SSCAN":
                items.update(flat)
            else:
                if len(flat) % 2:
                    return first, ("odd page", raw)
                items.update(zip(flat[::2], flat[1::2]))
            cursor = v[1][0][1]
            calls += 1
            if cursor == b"0":
                return first, items
            if calls > MAX_SCAN_CALLS:
                return first, ("no end after %d calls" % calls, raw)

    def do_scan(self, op):
        args = op.args
        mine_first, mine_items = self.full_scan(self.d.mine, args)
        ref_first, ref_items = self.full_scan(self.d.ref, args)
        self.remember(args, mine_first, ref_first)
        if mine_items is None or ref_items is None:
            if mine_first != ref_first:
                self.fail("SCAN replies differ", args, mine_first, ref_first)
            return
        if isinstance(mine_items, tuple) or isinstance(ref_items, tuple):
            self.fail(f"SCAN iteration failed: redraft {mine_items!r} reference {ref_items!r}",
                      args, mine_first, ref_first)
        if mine_items != ref_items:
            self.fail(f"SCAN unions differ: only redraft {sorted(mine_items - ref_items)!r}, "
                      f"only reference {sorted(ref_items - mine_items)!r}", args,
                      mine_first, ref_first)

    # ----- whole state -----------------------------------------------------------------
    def pipeline(self, conn, commands):
        from helpers import encode
        conn.send(b"".join(encode(*c) for c in commands))
        return conn.replies(len(commands))

    def both_pipeline(self, commands):
        return self.pipeline(self.d.mine, commands), self.pipeline(self.d.ref, commands)

    def check_state(self, when):
        cmds = [["TYPE", k] for k in KEYS] + [["DBSIZE"]]
        mine, ref = self.both_pipeline(cmds)
        # DBSIZE counts keys whose TTL ran out until they are removed: Redis removes them on
        # access (the TYPEs above), RedRaft in its active expiry (every 100 ms by default).
        deadline = time.monotonic() + DBSIZE_SETTLE_S
        while mine[-1] != ref[-1] and mine[:-1] == ref[:-1] and time.monotonic() < deadline:
            time.sleep(0.05)
            mine[-1], ref[-1] = self.d.mine.call("DBSIZE"), self.d.ref.call("DBSIZE")
        for c, a, b in zip(cmds, mine, ref):
            if a != b:
                self.fail(f"state check ({when}): {c[0]} differs", c, a, b)
        reads = []
        for k, t in zip(KEYS, ref):
            t = parse(t)[0][1].decode()
            if t == "none":
                continue
            reads.append((["PTTL", k], TTL))
            reads.append({
                "string": (["GET", k], EXACT),
                "hash": (["HGETALL", k], PAIRS),
                "set": (["SMEMBERS", k], UNORDERED),
                "list": (["LRANGE", k, "0", "-1"], EXACT),
                "zset": (["ZRANGE", k, "0", "-1", "WITHSCORES"], EXACT),
            }[t])
        mine, ref = self.both_pipeline([c for c, _ in reads])
        for (c, kind), a, b in zip(reads, mine, ref):
            if not same_value(kind, c[0], a, b):
                self.fail(f"state check ({when}): {c[0]} {c[1]} differs", c, a, b)

    def go(self, gen):
        stream = gen.ops()
        done, in_multi, check_due = 0, False, False
        try:
            while done < self.n_ops:
                op = next(stream)
                self.index += 1
                self.run_op(op)  # a pipeline moves self.index to its last command
                if op.pause:
                    time.sleep(op.pause)
                for o in op.ops or [op]:
                    done += 1
                    name = o.args[0].upper()
                    if name == "MULTI":
                        in_multi = True
                    elif name in ("EXEC", "DISCARD"):
                        in_multi = False
                    check_due = check_due or done % CHECK_EVERY == 0
                if check_due and not in_multi:  # never queue the reads in a transaction
                    self.check_state(f"after operation #{self.index}")
                    check_due = False
            self.finish()
        except Mismatch:
            raise
        except Exception as e:  # a dead connection, a malformed reply: report where
            self.fail(f"{type(e).__name__}: {e}")

    def finish(self):
        self.d.both("MULTI")  # an unfinished transaction can't be left open: close it
        self.d.both("DISCARD")
        self.check_state("at the end")


def _cases():
    return [pytest.param(s, id=f"seed{s}") for s in SEEDS]


@pytest.mark.timeout(max(180, OPS_PER_CASE // 20))
@pytest.mark.parametrize("seed", _cases())
def test_random_commands_match_redis(differ, protocol, seed):
    run = Run(differ, seed, protocol, OPS_PER_CASE)
    gen = Gen(seed, run.t0)
    failure = None
    try:
        run.go(gen)
    except Mismatch as e:
        failure = str(e)
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    # The stream opens with every generated command once: none can silently drop out.
    seen = {c.upper() for c in run.counts}
    if OPS_PER_CASE >= 200:
        missing = [n for n in CORE_GENERATED if n not in seen]
        assert not missing, f"never generated in {OPS_PER_CASE} operations: {missing}"


# The 98 core commands (CLUSTER as CLUSTER KEYSLOT: the other subcommands are node-specific),
# and the transaction commands.
CORE_GENERATED = """PING ECHO CLUSTER DEL UNLINK EXISTS TYPE EXPIRE EXPIREAT PEXPIRE PEXPIREAT TTL
PTTL PERSIST GET SET SETNX SETEX PSETEX MGET MSET GETSET GETDEL GETEX STRLEN APPEND GETRANGE
SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT HSET HGET HDEL HMSET HMGET HGETALL HKEYS HVALS HLEN
HEXISTS HSETNX HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN SADD SREM SMEMBERS SISMEMBER SMISMEMBER
SCARD SRANDMEMBER SPOP SSCAN SINTER SUNION SDIFF SINTERCARD SMOVE SINTERSTORE SUNIONSTORE
SDIFFSTORE LPUSH RPUSH LPOP RPOP LLEN LINDEX LRANGE LPOS LSET LINSERT LREM LTRIM LMOVE LMPOP ZADD
ZREM ZSCORE ZRANK ZREVRANK ZCARD ZCOUNT ZRANGE ZRANGEBYSCORE ZREVRANGE ZREVRANGEBYSCORE ZINCRBY
ZRANGEBYLEX ZLEXCOUNT ZPOPMIN ZPOPMAX ZSCAN MULTI EXEC FLUSHALL FLUSHDB""".split()
