"""List commands, compared with redis-server 7.0.15 in RESP2 and RESP3.

Multi-key commands use keys with one hash tag ({t}) because the reference runs in cluster mode.
"""

import random
import time

import pytest

from helpers import BIG_N

INT_EDGES = ["0", "1", "-1", "2", "-2", "4", "-5", "5", "6", "-6", "100", "-100",
             "9223372036854775807", "-9223372036854775808"]
BAD_INTS = ["abc", "1.5", "", " 1", "+1", "01", "9223372036854775808", "-9223372036854775809"]


def test_push_and_len(differ):
    differ.script([
        ["LPUSH", "l", "a"], ["LPUSH", "l", "b", "c"], ["RPUSH", "l", "d", "e", "f"],
        ["LLEN", "l"], ["LRANGE", "l", "0", "-1"], ["LLEN", "nokey"],
        ["RPUSH", "l"], ["LPUSH", "l"], ["LLEN"], ["LLEN", "l", "x"],
        ["TYPE", "l"], ["EXISTS", "l"],
        # binary-safe and empty elements
        ["RPUSH", "bin", "", "a\x00b", "\r\n", "\xff"], ["LRANGE", "bin", "0", "-1"],
        ["LINDEX", "bin", "0"], ["LPOS", "bin", "a\x00b"], ["LREM", "bin", "0", ""],
        ["LRANGE", "bin", "0", "-1"],
    ])


def test_pop(differ):
    differ.script([
        ["RPUSH", "l", "a", "b", "c", "d", "e", "f"],
        ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "2"], ["RPOP", "l", "1"], ["LRANGE", "l", "0", "-1"],
        ["LPOP", "l", "0"], ["RPOP", "l", "0"], ["LLEN", "l"],
        ["RPOP", "l", "100"], ["EXISTS", "l"],
        # missing key: null bulk without count, null array with any count (even 0)
        ["LPOP", "nokey"], ["RPOP", "nokey"], ["LPOP", "nokey", "0"], ["RPOP", "nokey", "3"],
        # count errors come before the key lookup
        ["LPOP", "nokey", "-1"], ["LPOP", "nokey", "abc"], ["RPOP", "l", "-1"],
        ["LPOP", "l", "1", "2"], ["RPOP", "l", "1", "2", "3"], ["LPOP"],
        ["RPUSH", "l", "x", "y", "z"],
        ["LPOP", "l", "9223372036854775807"], ["EXISTS", "l"],
        ["RPUSH", "l", "x", "y", "z"], ["RPOP", "l", "9223372036854775807"],
        ["RPUSH", "l", "x"], ["RPOP", "l", "9223372036854775808"], ["LPOP", "l", "-0"], ["LPOP", "l", "+1"],
        ["LPOP", "l", "1"], ["EXISTS", "l"],
    ])


def test_lindex_and_lset(differ):
    differ.same("RPUSH", "l", "a", "b", "c", "d", "e")
    for i in INT_EDGES + BAD_INTS:
        differ.same("LINDEX", "l", i)
        differ.same("LINDEX", "nokey", i)
    differ.script([
        ["LSET", "nokey", "0", "x"], ["LSET", "nokey", "abc", "x"],
        ["LSET", "l", "abc", "x"], ["LSET", "l", "5", "x"], ["LSET", "l", "-6", "x"],
        ["LSET", "l", "0", "first"], ["LSET", "l", "-1", "last"], ["LSET", "l", "2", "mid"],
        ["LSET", "l", "-2", ""], ["LSET", "l", "9223372036854775807", "x"],
        ["LSET", "l", "-9223372036854775808", "x"], ["LSET", "l", "1"],
        ["LRANGE", "l", "0", "-1"], ["LINDEX", "l", "4"], ["LINDEX", "l", "-5"],
    ])


def test_lrange_every_range(differ):
    differ.same("RPUSH", "l", "a", "b", "c", "d", "e")
    for s in INT_EDGES:
        for e in INT_EDGES:
            differ.same("LRANGE", "l", s, e)
    differ.same("LRANGE", "nokey", "0", "-1")
    for bad in BAD_INTS:
        differ.same("LRANGE", "l", bad, "1")
        differ.same("LRANGE", "l", "0", bad)
        differ.same("LRANGE", "nokey", bad, "1")
    differ.same("LRANGE", "l", "0")


def test_linsert(differ):
    differ.script([
        ["RPUSH", "l", "a", "b", "c", "b", "d"],
        ["LINSERT", "l", "BEFORE", "a", "x0"], ["LRANGE", "l", "0", "-1"],
        ["LINSERT", "l", "AFTER", "d", "x1"], ["LRANGE", "l", "0", "-1"],
        ["LINSERT", "l", "before", "b", "x2"], ["LRANGE", "l", "0", "-1"],
        ["LINSERT", "l", "after", "b", "x3"], ["LRANGE", "l", "0", "-1"],
        ["LINSERT", "l", "AfTeR", "c", "x4"], ["LRANGE", "l", "0", "-1"],
        ["LINSERT", "l", "BEFORE", "x1", "x5"], ["LRANGE", "l", "0", "-1"],
        ["LINSERT", "l", "BEFORE", "zz", "x"], ["LINSERT", "l", "AFTER", "", "x"],
        ["LINSERT", "l", "MIDDLE", "a", "x"], ["LINSERT", "nokey", "MIDDLE", "a", "x"],
        ["LINSERT", "nokey", "BEFORE", "a", "x"], ["EXISTS", "nokey"],
        ["LINSERT", "l", "BEFORE", "a"], ["LLEN", "l"], ["LRANGE", "l", "0", "-1"],
    ])
    # Inserting at every position of a longer list moves either side.
    differ.same("RPUSH", "p", *[str(i) for i in range(40)])
    for i in range(0, 40, 3):
        differ.same("LINSERT", "p", "BEFORE" if i % 2 else "AFTER", str(i), f"n{i}")
    differ.same("LRANGE", "p", "0", "-1")


def test_lrem(differ):
    base = ["a", "b", "a", "c", "a", "b", "a", "d", "a"]
    for count in ["0", "1", "2", "-1", "-2", "3", "-4", "5", "-5", "100", "-100",
                  "9223372036854775807", "-9223372036854775808"]:
        differ.same("DEL", "l")
        differ.same("RPUSH", "l", *base)
        differ.same("LREM", "l", count, "a")
        differ.same("LRANGE", "l", "0", "-1")
        differ.same("LREM", "l", count, "b")
        differ.same("LRANGE", "l", "0", "-1")
    differ.script([
        ["LREM", "l", "0", "zz"], ["LREM", "nokey", "0", "a"], ["LREM", "nokey", "abc", "a"],
        ["LREM", "l", "abc", "a"], ["LREM", "l", "1.0", "a"], ["LREM", "l", "1"],
        ["DEL", "l"], ["RPUSH", "l", "x", "x", "x"], ["LREM", "l", "0", "x"], ["EXISTS", "l"],
        ["RPUSH", "l", "x", "y", "x"], ["LREM", "l", "-2", "x"], ["LRANGE", "l", "0", "-1"],
        ["LREM", "l", "1", "y"], ["EXISTS", "l"],
    ])
    # Matches spread over a longer list: either side gets compacted.
    rng = random.Random(7)
    items = [rng.choice("abc") for _ in range(60)]
    for count in ["2", "-3", "0"]:
        differ.same("DEL", "r")
        differ.same("RPUSH", "r", *items)
        for v in "abc":
            differ.same("LREM", "r", count, v)
            differ.same("LRANGE", "r", "0", "-1")


def test_ltrim_every_range(differ):
    for s in INT_EDGES:
        for e in INT_EDGES:
            differ.same("DEL", "l")
            differ.same("RPUSH", "l", "a", "b", "c", "d", "e")
            differ.same("LTRIM", "l", s, e)
            differ.same("LRANGE", "l", "0", "-1")
            differ.same("EXISTS", "l")
    differ.script([
        ["LTRIM", "nokey", "0", "1"], ["LTRIM", "nokey", "a", "1"], ["EXISTS", "nokey"],
        ["LTRIM", "l", "0", "abc"], ["LTRIM", "l", "x", "1"], ["LTRIM", "l", "0"],
    ])


def test_lpos(differ):
    differ.same("RPUSH", "l", "a", "b", "c", "a", "b", "c", "a", "x", "a")
    opts = [
        [], ["RANK", "1"], ["RANK", "2"], ["RANK", "4"], ["RANK", "5"], ["RANK", "-1"], ["RANK", "-3"],
        ["RANK", "-9"], ["COUNT", "0"], ["COUNT", "1"], ["COUNT", "2"], ["COUNT", "10"],
        ["MAXLEN", "0"], ["MAXLEN", "1"], ["MAXLEN", "3"], ["MAXLEN", "4"], ["MAXLEN", "100"],
        ["RANK", "2", "COUNT", "2"], ["RANK", "-2", "COUNT", "0"], ["RANK", "-1", "MAXLEN", "1"],
        ["RANK", "-1", "MAXLEN", "2", "COUNT", "0"], ["COUNT", "0", "MAXLEN", "5"],
        ["rank", "3", "count", "1", "maxlen", "9"], ["COUNT", "1", "COUNT", "3"], ["RANK", "-1", "RANK", "1"],
        ["RANK", "9223372036854775807"], ["RANK", "-9223372036854775807"],
        ["RANK", "-9223372036854775808"], ["RANK", "-9223372036854775808", "COUNT", "1"],
        ["RANK", "-9223372036854775808", "COUNT", "0"],
        ["COUNT", "9223372036854775807"], ["MAXLEN", "9223372036854775807"],
    ]
    for o in opts:
        for elem in ["a", "b", "x", "zz"]:
            differ.same("LPOS", "l", elem, *o)
        differ.same("LPOS", "nokey", "a", *o)
    errors = [
        ["RANK", "0"], ["RANK", "abc"], ["RANK", "9223372036854775808"], ["COUNT", "-1"], ["COUNT", "abc"],
        ["MAXLEN", "-1"], ["MAXLEN", "x"], ["FOO"], ["FOO", "1"], ["RANK"], ["COUNT"], ["MAXLEN"],
        ["COUNT", "-1", "RANK", "0"], ["RANK", "1", "COUNT"], ["COUNT", "1", "BAR", "1"],
    ]
    for o in errors:
        differ.same("LPOS", "l", "a", *o)
        differ.same("LPOS", "nokey", "a", *o)
    differ.same("LPOS", "l")


def test_lmove(differ):
    a, b = "{t}a", "{t}b"
    for src_side in ["LEFT", "RIGHT"]:
        for dst_side in ["LEFT", "RIGHT"]:
            differ.script([
                ["DEL", a, b], ["RPUSH", a, "1", "2", "3"], ["RPUSH", b, "x"],
                ["LMOVE", a, b, src_side, dst_side], ["LRANGE", a, "0", "-1"], ["LRANGE", b, "0", "-1"],
                # rotation of one list
                ["LMOVE", a, a, src_side, dst_side], ["LRANGE", a, "0", "-1"],
                # the destination is created; the emptied source is deleted
                ["DEL", b], ["LMOVE", a, b, src_side, dst_side], ["LMOVE", a, b, src_side, dst_side],
                ["EXISTS", a], ["LRANGE", b, "0", "-1"],
                # a one-element list rotating onto itself survives
                ["LMOVE", b, b, src_side, dst_side], ["LMOVE", b, b, dst_side, src_side],
                ["LPOP", b], ["LMOVE", b, b, src_side, dst_side], ["LRANGE", b, "0", "-1"],
            ])
    differ.script([
        ["DEL", a, b], ["SET", "{t}s", "str"], ["RPUSH", a, "1"],
        ["LMOVE", "{t}nokey", b, "LEFT", "RIGHT"], ["EXISTS", b],
        ["LMOVE", "{t}nokey", "{t}s", "LEFT", "RIGHT"],
        ["LMOVE", a, "{t}s", "LEFT", "RIGHT"], ["LRANGE", a, "0", "-1"],
        ["LMOVE", "{t}s", a, "LEFT", "RIGHT"],
        ["LMOVE", a, b, "UP", "LEFT"], ["LMOVE", a, b, "LEFT", "DOWN"], ["LMOVE", "{t}nokey", b, "UP", "LEFT"],
        ["LMOVE", a, b, "left", "Right"], ["LRANGE", b, "0", "-1"], ["LMOVE", a, b, "LEFT"],
    ])


def test_lmpop(differ):
    a, b, c = "{t}a", "{t}b", "{t}c"
    differ.script([
        ["RPUSH", b, "1", "2", "3", "4", "5"], ["RPUSH", c, "x"],
        ["LMPOP", "1", a, "LEFT"], ["LMPOP", "2", a, b, "LEFT"], ["LMPOP", "2", a, b, "RIGHT"],
        ["LMPOP", "3", a, b, c, "left", "COUNT", "2"], ["LMPOP", "3", a, b, c, "RIGHT", "count", "1"],
        ["LMPOP", "2", a, b, "LEFT", "COUNT", "100"], ["EXISTS", b],
        ["LMPOP", "3", a, b, c, "RIGHT", "COUNT", "9223372036854775807"], ["EXISTS", c],
        ["LMPOP", "3", a, b, c, "LEFT"],
        ["RPUSH", c, "y"], ["SET", "{t}s", "v"],
        ["LMPOP", "2", "{t}s", c, "LEFT"], ["LMPOP", "2", c, "{t}s", "LEFT"], ["LMPOP", "2", a, "{t}s", "LEFT"],
        ["RPUSH", c, "z"],
        # argument errors, all before any key is looked at
        ["LMPOP", "0", c, "LEFT"], ["LMPOP", "-1", c, "LEFT"], ["LMPOP", "abc", c, "LEFT"],
        ["LMPOP", "1", c, "MIDDLE"], ["LMPOP", "1", c, "LEFT", "COUNT", "0"],
        ["LMPOP", "1", c, "LEFT", "COUNT", "-1"], ["LMPOP", "1", c, "LEFT", "COUNT", "x"],
        ["LMPOP", "1", c, "LEFT", "COUNT"], ["LMPOP", "1", c, "LEFT", "COUNT", "1", "COUNT", "1"],
        ["LMPOP", "1", c, "LEFT", "FOO"], ["LMPOP", "4", a, c, "LEFT"], ["LMPOP", "5", a, b, "LEFT"],
        ["LMPOP", "1", c], ["LMPOP", "1"], ["LMPOP", "1", "{t}s", "MIDDLE"],
        ["LRANGE", c, "0", "-1"],
    ])


def test_wrongtype(differ):
    s, t = "{t}s", "{t}l"
    differ.same("SET", s, "str")
    differ.same("RPUSH", t, "a", "b")
    for cmd in [
        ["LPUSH", s, "x"], ["RPUSH", s, "x"], ["LPOP", s], ["RPOP", s], ["LPOP", s, "2"], ["RPOP", s, "0"],
        ["LLEN", s], ["LINDEX", s, "0"], ["LINDEX", s, "abc"], ["LRANGE", s, "0", "-1"],
        ["LPOS", s, "x"], ["LPOS", s, "x", "COUNT", "0"], ["LSET", s, "0", "x"], ["LSET", s, "abc", "x"],
        ["LINSERT", s, "BEFORE", "a", "b"], ["LREM", s, "0", "x"], ["LTRIM", s, "0", "1"],
        ["LMOVE", s, t, "LEFT", "LEFT"], ["LMOVE", t, s, "LEFT", "LEFT"], ["LMOVE", s, s, "LEFT", "LEFT"],
        ["LMPOP", "1", s, "LEFT"], ["LMPOP", "2", s, t, "LEFT"],
        # a list is the wrong type for the other families
        ["GET", t], ["INCR", t], ["APPEND", t, "x"], ["HGET", t, "f"], ["HSET", t, "f", "v"],
    ]:
        differ.same(*cmd)
    differ.script([["GET", s], ["LRANGE", t, "0", "-1"], ["TYPE", t]])


def test_empty_lists_are_deleted(differ):
    a, b = "{t}a", "{t}b"
    differ.script([
        ["RPUSH", a, "x"], ["LPOP", a], ["EXISTS", a], ["TYPE", a],
        ["RPUSH", a, "x", "y"], ["RPOP", a, "5"], ["EXISTS", a],
        ["RPUSH", a, "x", "x"], ["LREM", a, "0", "x"], ["EXISTS", a],
        ["RPUSH", a, "x", "y"], ["LTRIM", a, "5", "10"], ["EXISTS", a],
        ["RPUSH", a, "x", "y"], ["LTRIM", a, "1", "0"], ["EXISTS", a],
        ["RPUSH", a, "x"], ["LMOVE", a, b, "LEFT", "RIGHT"], ["EXISTS", a],
        ["LMPOP", "1", b, "LEFT", "COUNT", "3"], ["EXISTS", b], ["DBSIZE"],
        # a deleted list comes back fresh
        ["RPUSH", a, "new"], ["LRANGE", a, "0", "-1"], ["SET", a, "now a string"], ["GET", a],
        ["DEL", a], ["LPUSH", a, "again"], ["LRANGE", a, "0", "-1"],
    ])


def test_ttl_survives_list_changes(server, reference_redis, protocol):
    """EXPIRE on a list lasts through pushes, pops, LSET, LINSERT, LREM, LTRIM and LMOVE."""
    for srv in (server, reference_redis):
        r = srv.client(protocol=protocol)
        try:
            r.flushall()
            r.rpush("{t}l", "a", "b", "c", "d")
            assert r.expire("{t}l", 1000)
            r.lpush("{t}l", "z")
            r.rpush("{t}l", "y")
            r.lpop("{t}l")
            r.rpop("{t}l", 1)
            r.lset("{t}l", 0, "A")
            r.linsert("{t}l", "AFTER", "b", "b2")
            r.lrem("{t}l", 1, "c")
            r.ltrim("{t}l", 0, 2)
            r.lmove("{t}l", "{t}l", "LEFT", "RIGHT")
            assert r.lrange("{t}l", 0, -1) == ["b", "b2", "A"]
            assert 990 <= r.ttl("{t}l") <= 1000
            # the destination of LMOVE keeps its own (absent) TTL
            r.lmove("{t}l", "{t}dst", "LEFT", "LEFT")
            assert r.ttl("{t}dst") == -1
            assert 990 <= r.ttl("{t}l") <= 1000
            # an expired list is gone for every command, and a push starts a new one
            r.rpush("{t}gone", "a", "b")
            assert r.pexpire("{t}gone", 50)
            time.sleep(0.2)
            assert r.llen("{t}gone") == 0
            assert r.lpos("{t}gone", "a") is None
            assert r.lmove("{t}gone", "{t}dst", "LEFT", "LEFT") is None
            assert r.rpush("{t}gone", "c") == 1
            assert r.lrange("{t}gone", 0, -1) == ["c"]
            assert r.ttl("{t}gone") == -1
        finally:
            r.close()


def test_multikey_across_slots_and_regions(make_server):
    """RedRaft refuses multi-key commands across regions only (not across slots of one region,
    where it answers like a standalone redis-server 7.0.15); a refused LMOVE/LMPOP changes
    nothing."""
    from test_regions import CROSSSLOT, region_keys
    from helpers import RawConn
    srv = make_server(extra_args=["--regions", "4"])
    r0, r1 = region_keys(4)[0], region_keys(4)[1]
    with RawConn(srv) as c:
        assert c.call("RPUSH", r0[0], "x", "y") == b":2\r\n"
        # same region, different slots: served, as by standalone Redis
        assert c.call("LMOVE", r0[0], r0[1], "LEFT", "RIGHT") == b"$1\r\nx\r\n"
        assert c.call("LMPOP", "2", r0[1], r0[0], "LEFT") == (
            b"*2\r\n$%d\r\n%s\r\n*1\r\n$1\r\nx\r\n" % (len(r0[1]), r0[1].encode()))
        # across regions: CROSSSLOT and no change
        assert c.call("LMOVE", r0[0], r1[0], "LEFT", "RIGHT") == b"-" + CROSSSLOT.encode() + b"\r\n"
        assert c.call("LMPOP", "2", r1[0], r0[0], "LEFT") == b"-" + CROSSSLOT.encode() + b"\r\n"
        assert c.call("LRANGE", r0[0], "0", "-1") == b"*1\r\n$1\r\ny\r\n"
        assert c.call("EXISTS", r1[0]) == b":0\r\n"
        # a bad numkeys names no keys: refused with the errors of Redis, nothing written
        numkeys = b"-ERR numkeys should be greater than 0\r\n"
        assert c.call("LMPOP", "0", r0[0], "LEFT") == numkeys
        assert c.call("LMPOP", "x", r0[0], "LEFT") == numkeys
        assert c.call("LMPOP", "3", r0[0], "LEFT") == b"-ERR syntax error\r\n"
        assert c.call("LRANGE", r0[0], "0", "-1") == b"*1\r\n$1\r\ny\r\n"
        assert c.call("DBSIZE") == b":1\r\n"


def test_random_commands_match_redis(differ):
    """A seeded random mix of every list write and read on two lists, byte for byte."""
    rng = random.Random(20240601)
    a, b = "{t}a", "{t}b"
    vals = ["v0", "v1", "v2", "v3"]

    def idx(n=8):
        return str(rng.randint(-n, n))

    for _ in range(700):
        k = rng.choice([a, b])
        other = b if k == a else a
        v = rng.choice(vals)
        cmd = rng.choice([
            lambda: ["RPUSH", k] + rng.sample(vals, rng.randint(1, 3)),
            lambda: ["LPUSH", k] + rng.sample(vals, rng.randint(1, 3)),
            lambda: ["LPOP", k] + ([str(rng.randint(0, 3))] if rng.random() < 0.5 else []),
            lambda: ["RPOP", k] + ([str(rng.randint(0, 3))] if rng.random() < 0.5 else []),
            lambda: ["LINDEX", k, idx()],
            lambda: ["LSET", k, idx(), v],
            lambda: ["LRANGE", k, idx(), idx()],
            lambda: ["LINSERT", k, rng.choice(["BEFORE", "AFTER"]), v, rng.choice(vals)],
            lambda: ["LREM", k, str(rng.randint(-2, 2)), v],
            lambda: ["LTRIM", k, idx(), idx(12)],
            lambda: ["LPOS", k, v, "RANK", str(rng.choice([1, 2, -1, -2])), "COUNT", str(rng.randint(0, 2)),
                     "MAXLEN", str(rng.randint(0, 6))],
            lambda: ["LPOS", k, v] + (["RANK", str(rng.choice([1, 2, -1, -3]))] if rng.random() < 0.5 else []),
            lambda: ["LMOVE", k, rng.choice([k, other]), rng.choice(["LEFT", "RIGHT"]), rng.choice(["LEFT", "RIGHT"])],
            lambda: ["LMPOP", "2", k, other, rng.choice(["LEFT", "RIGHT"]), "COUNT", str(rng.randint(1, 3))],
            lambda: ["LLEN", k],
        ])()
        differ.same(*cmd)
        if rng.random() < 0.2:
            differ.same("LRANGE", k, "0", "-1")
    differ.same("LRANGE", a, "0", "-1")
    differ.same("LRANGE", b, "0", "-1")


def test_pipelined_writes(differ):
    """Many list writes in one pipeline (batched into shared Raft entries) stay in order."""
    cmds = [("RPUSH", "l", str(i)) for i in range(50)]
    cmds += [("LINSERT", "l", "BEFORE", str(i), f"b{i}") for i in range(0, 50, 7)]
    cmds += [("LREM", "l", "1", str(i)) for i in range(0, 50, 5)]
    cmds += [("LPOP", "l", "2"), ("RPOP", "l"), ("LSET", "l", "3", "s"), ("LRANGE", "l", "0", "-1"),
             ("LMOVE", "l", "l", "RIGHT", "LEFT"), ("LTRIM", "l", "1", "-2"), ("LRANGE", "l", "0", "-1")]
    differ.pipeline(*cmds)


BIG = BIG_N
CHUNK = 2_000


@pytest.fixture
def big_list(server):
    """A BIG_N-element (200,000 in CI) list built with pipelined RPUSH of 2,000 elements per command."""
    r = server.client(protocol=2)
    p = r.pipeline(transaction=False)
    for start in range(0, BIG, CHUNK):
        p.rpush("big", *[f"e{i}" for i in range(start, start + CHUNK)])
    replies = p.execute()
    assert replies == list(range(CHUNK, BIG + 1, CHUNK))
    yield r
    r.close()


def test_big_list(big_list):
    r = big_list
    mid = BIG // 2
    assert r.llen("big") == BIG
    assert r.lindex("big", 0) == "e0"
    assert r.lindex("big", -1) == f"e{BIG - 1}"
    assert r.lindex("big", mid) == f"e{mid}"
    assert r.lindex("big", BIG) is None
    assert r.lrange("big", 0, 9) == [f"e{i}" for i in range(10)]
    assert r.lrange("big", -10, -1) == [f"e{i}" for i in range(BIG - 10, BIG)]
    assert r.lrange("big", mid - 2, mid + 2) == [f"e{i}" for i in range(mid - 2, mid + 3)]
    assert r.lpos("big", f"e{BIG - 3}", rank=-1) == BIG - 3
    assert r.lpos("big", f"e{mid}", maxlen=10) is None
    # LRANGE of 10 elements must not read the whole list: time it against a full read.
    t0 = time.perf_counter()
    for _ in range(20):
        r.lrange("big", mid, mid + 9)
    ten = (time.perf_counter() - t0) / 20
    t0 = time.perf_counter()
    assert len(r.lrange("big", 0, -1)) == BIG
    full = time.perf_counter() - t0
    print(f"LRANGE of 10: {ten * 1000:.2f} ms, whole list: {full * 1000:.1f} ms")
    assert ten * 50 < full, f"LRANGE of 10 took {ten:.4f}s, the whole list {full:.4f}s"
    # LSET at both ends and in the middle
    assert r.lset("big", 0, "first")
    assert r.lset("big", -1, "last")
    assert r.lset("big", mid, "middle")
    assert r.lrange("big", 0, 1) == ["first", "e1"]
    assert r.lrange("big", -2, -1) == [f"e{BIG - 2}", "last"]
    assert r.lrange("big", mid - 1, mid + 1) == [f"e{mid - 1}", "middle", f"e{mid + 1}"]
    # pops and pushes at both ends, then an insert near the end and a trim
    assert r.lpop("big", 3) == ["first", "e1", "e2"]
    assert r.rpop("big", 2) == ["last", f"e{BIG - 2}"]
    assert r.lpush("big", "L") == BIG - 4
    assert r.rpush("big", "R") == BIG - 3
    assert r.linsert("big", "AFTER", f"e{BIG - 4}", "ins") == BIG - 2
    assert r.lrange("big", -4, -1) == [f"e{BIG - 4}", "ins", f"e{BIG - 3}", "R"]
    assert r.lindex("big", mid - 2) == "middle"
    assert r.ltrim("big", 1, -2)
    assert r.llen("big") == BIG - 4
    assert r.lindex("big", 0) == "e3"
    assert r.lindex("big", -1) == f"e{BIG - 3}"
    assert r.ltrim("big", 1, 0)
    assert r.exists("big") == 0
