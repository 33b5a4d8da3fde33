"""The smart client (redraft, router-py) against a 3-node cluster: its slot function against
CLUSTER KEYSLOT, and every one of the 98 commands compared with what redis-py's RedisCluster
returns for the same calls; plus a standalone server."""

import random
import re

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

import redraft
from helpers import key_in_slot


def test_key_slot_matches_cluster_keyslot(cluster):
    rnd = random.Random(6)
    alphabet = b"{}ab\x00\xff\xc3x"
    keys = [b"", b"{}", b"{}x", b"x{}", b"{{}}", b"{a}{b}", b"a{b", b"a}b{c}", "ünï{cödé}".encode()]
    for _ in range(3000):
        n = rnd.randint(0, 24)
        if rnd.random() < 0.5:
            keys.append(bytes(rnd.choice(alphabet) for _ in range(n)))
        else:
            keys.append(bytes(rnd.getrandbits(8) for _ in range(n)))
    c = cluster[0].client(decode_responses=False)
    pipe = c.pipeline(transaction=False)
    for k in keys:
        pipe.execute_command("CLUSTER", "KEYSLOT", k)
    want = pipe.execute()
    c.close()
    got = [redraft.key_slot(k) for k in keys]
    assert got == want
    # str keys are hashed as their UTF-8 bytes
    assert redraft.key_slot("ünï{cödé}") == want[8]
    with redraft.RedisCluster(startup_nodes=[("127.0.0.1", cluster[1].port)]) as r:
        assert r.keyslot(b"{a}{b}") == want[5]


def _outcome(fn):
    try:
        return ("ok", fn())
    except (redis.RedisError, redraft.RedisError) as e:
        return ("error", type(e).__name__, str(e))


def scenario(c, t):
    """Calls every command through client c on keys tagged t; returns what each call gave."""
    out = []

    def rec(label, fn):
        out.append((label, _outcome(fn)))

    k = lambda n: f"{{{t}}}:{n}"  # noqa: E731
    S = sorted
    # general
    rec("ping", lambda: c.ping())
    # redis-py's RedisCluster needs a target node for ECHO; redraft sends it to any node
    kw = {"target_nodes": c.get_random_node()} if isinstance(c, RedisCluster) else {}
    rec("echo", lambda: c.echo("hello", **kw))
    rec("cluster_info", lambda: sorted(c.cluster_info().keys()) and c.cluster_info()["cluster_state"])
    rec("cluster_keyslot", lambda: c.cluster_keyslot("same{key}"))
    rec("cluster_slots", lambda: c.cluster_slots())
    # strings
    rec("set", lambda: c.set(k("s"), "v1"))
    rec("set nx", lambda: c.set(k("s"), "v2", nx=True))
    rec("set xx get", lambda: c.set(k("s"), "v3", xx=True, get=True))
    rec("set ex", lambda: c.set(k("e"), "x", ex=100))
    rec("set px keepttl", lambda: c.set(k("e"), "y", keepttl=True))
    rec("get", lambda: c.get(k("s")))
    rec("get missing", lambda: c.get(k("missing")))
    rec("setnx", lambda: (c.setnx(k("n"), 1), c.setnx(k("n"), 2)))
    rec("setex", lambda: c.setex(k("se"), 100, "a"))
    rec("psetex", lambda: c.psetex(k("pse"), 100000, "b"))
    rec("mget", lambda: c.mget([k("s"), k("n"), k("missing")]))
    rec("mset", lambda: c.mset({k("m1"): "1", k("m2"): "2"}))
    rec("getset", lambda: c.getset(k("m1"), "11"))
    rec("getdel", lambda: (c.getdel(k("m2")), c.get(k("m2"))))
    rec("getex", lambda: (c.getex(k("m1"), ex=50), c.getex(k("m1"), persist=True), c.ttl(k("m1"))))
    rec("strlen", lambda: c.strlen(k("s")))
    rec("append", lambda: c.append(k("s"), "++"))
    rec("getrange", lambda: c.getrange(k("s"), 0, 2))
    rec("setrange", lambda: c.setrange(k("s"), 1, "ZZ"))
    rec("incr", lambda: (c.incr(k("i")), c.incr(k("i"), 5)))
    rec("decr", lambda: (c.decr(k("i")), c.decr(k("i"), 2)))
    rec("incrby", lambda: c.incrby(k("i"), 10))
    rec("decrby", lambda: c.decrby(k("i"), 3))
    rec("incrbyfloat", lambda: c.incrbyfloat(k("f"), 2.5))
    rec("incr wrongtype", lambda: c.incr(k("s")))
    # hashes
    rec("hset", lambda: c.hset(k("h"), "a", "1", mapping={"b": "2", "c": "3"}))
    rec("hget", lambda: (c.hget(k("h"), "a"), c.hget(k("h"), "zz")))
    rec("hdel", lambda: c.hdel(k("h"), "c", "zz"))
    rec("hmset", lambda: c.hmset(k("h"), {"d": "4"}))
    rec("hmget", lambda: c.hmget(k("h"), ["a", "zz", "d"]))
    rec("hgetall", lambda: c.hgetall(k("h")))
    rec("hkeys", lambda: S(c.hkeys(k("h"))))
    rec("hvals", lambda: S(c.hvals(k("h"))))
    rec("hlen", lambda: c.hlen(k("h")))
    rec("hexists", lambda: (c.hexists(k("h"), "a"), c.hexists(k("h"), "zz")))
    rec("hsetnx", lambda: (c.hsetnx(k("h"), "a", "9"), c.hsetnx(k("h"), "e", "5")))
    rec("hincrby", lambda: c.hincrby(k("h"), "a", 41))
    rec("hincrbyfloat", lambda: c.hincrbyfloat(k("h"), "b", 0.5))
    rec("hrandfield", lambda: (c.hrandfield(k("h")) in c.hkeys(k("h")), S(c.hrandfield(k("h"), 10))))
    rec("hrandfield withvalues", lambda: len(c.hrandfield(k("h"), 10, withvalues=True)))
    rec("hscan", lambda: c.hscan(k("h"), 0, count=100))
    rec("hgetall wrongtype", lambda: c.hgetall(k("s")))
    # sets
    rec("sadd", lambda: (c.sadd(k("A"), "a", "b", "c", "d"), c.sadd(k("B"), "c", "d", "e")))
    rec("srem", lambda: c.srem(k("A"), "d", "zz"))
    rec("smembers", lambda: c.smembers(k("A")))
    rec("sismember", lambda: (c.sismember(k("A"), "a"), c.sismember(k("A"), "zz")))
    rec("smismember", lambda: c.smismember(k("A"), ["a", "zz", "c"]))
    rec("scard", lambda: c.scard(k("A")))
    rec("srandmember", lambda: (c.srandmember(k("A")) in c.smembers(k("A")), S(c.srandmember(k("A"), 10))))
    rec("spop", lambda: (c.sadd(k("P"), "x", "y"), S(c.spop(k("P"), 5)), c.spop(k("P"))))
    rec("sscan", lambda: (lambda r: (r[0], S(r[1])))(c.sscan(k("A"), 0, match="*", count=100)))
    rec("sinter", lambda: c.sinter([k("A"), k("B")]))
    rec("sunion", lambda: c.sunion(k("A"), k("B")))
    rec("sdiff", lambda: c.sdiff([k("A"), k("B")]))
    rec("sintercard", lambda: (c.sintercard(2, [k("A"), k("B")]), c.sintercard(2, [k("A"), k("B")], limit=1)))
    rec("smove", lambda: (c.smove(k("A"), k("B"), "a"), c.smove(k("A"), k("B"), "zz")))
    rec("sinterstore", lambda: (c.sinterstore(k("I"), [k("A"), k("B")]), c.smembers(k("I"))))
    rec("sunionstore", lambda: (c.sunionstore(k("U"), [k("A"), k("B")]), c.smembers(k("U"))))
    rec("sdiffstore", lambda: (c.sdiffstore(k("D"), [k("B"), k("A")]), c.smembers(k("D"))))
    # lists
    rec("lpush", lambda: c.lpush(k("L"), "c", "b", "a"))
    rec("rpush", lambda: c.rpush(k("L"), "d", "e", "a"))
    rec("lpop", lambda: (c.lpop(k("L")), c.lpop(k("L"), 1), c.lpop(k("nol"))))
    rec("rpop", lambda: (c.rpop(k("L")), c.rpop(k("L"), 2)))
    rec("llen", lambda: c.llen(k("L")))
    rec("lindex", lambda: (c.lindex(k("L"), 0), c.lindex(k("L"), 99)))
    rec("lrange", lambda: c.lrange(k("L"), 0, -1))
    rec("lpos", lambda: (c.rpush(k("L"), "c", "x", "c"), c.lpos(k("L"), "c"), c.lpos(k("L"), "c", rank=-1),
                         c.lpos(k("L"), "c", count=0), c.lpos(k("L"), "zz"), c.lpos(k("L"), "c", maxlen=1)))
    rec("lset", lambda: (c.lset(k("L"), 0, "B"), c.lrange(k("L"), 0, -1)))
    rec("lset out of range", lambda: c.lset(k("L"), 99, "x"))
    rec("linsert", lambda: (c.linsert(k("L"), "BEFORE", "x", "w"), c.linsert(k("L"), "AFTER", "zz", "y")))
    rec("lrem", lambda: c.lrem(k("L"), 0, "c"))
    rec("ltrim", lambda: (c.ltrim(k("L"), 0, 2), c.lrange(k("L"), 0, -1)))
    rec("lmove", lambda: (c.lmove(k("L"), k("L2"), "LEFT", "RIGHT"), c.lrange(k("L2"), 0, -1)))
    rec("lmpop", lambda: (c.lmpop(2, k("nol"), k("L"), direction="RIGHT", count=2), c.lmpop(1, k("nol"), direction="LEFT")))
    # sorted sets
    rec("zadd", lambda: c.zadd(k("Z"), {"a": 1, "b": 2, "c": 3, "d": 4.5}))
    rec("zadd incr", lambda: c.zadd(k("Z"), {"a": 10}, incr=True))
    rec("zadd nx ch", lambda: (c.zadd(k("Z"), {"a": 0, "e": 5}, nx=True), c.zadd(k("Z"), {"b": 7}, ch=True, gt=True)))
    rec("zrem", lambda: c.zrem(k("Z"), "e", "zz"))
    rec("zscore", lambda: (c.zscore(k("Z"), "a"), c.zscore(k("Z"), "zz")))
    rec("zrank", lambda: (c.zrank(k("Z"), "c"), c.zrank(k("Z"), "zz"), c.zrank(k("Z"), "c", withscore=True)))
    rec("zrevrank", lambda: (c.zrevrank(k("Z"), "c"), c.zrevrank(k("Z"), "c", withscore=True)))
    rec("zcard", lambda: c.zcard(k("Z")))
    rec("zcount", lambda: (c.zcount(k("Z"), "-inf", "+inf"), c.zcount(k("Z"), "(3", 10)))
    rec("zrange", lambda: (c.zrange(k("Z"), 0, -1), c.zrange(k("Z"), 0, 1, withscores=True),
                           c.zrange(k("Z"), 3, 10, byscore=True, withscores=True),
                           c.zrange(k("Z"), 10, 3, byscore=True, desc=True, offset=0, num=2)))
    rec("zrangebyscore", lambda: (c.zrangebyscore(k("Z"), 2, "+inf"), c.zrangebyscore(k("Z"), "-inf", 5, withscores=True),
                                  c.zrangebyscore(k("Z"), "-inf", "+inf", start=1, num=2)))
    rec("zrevrange", lambda: (c.zrevrange(k("Z"), 0, 1), c.zrevrange(k("Z"), 0, -1, withscores=True)))
    rec("zrevrangebyscore", lambda: c.zrevrangebyscore(k("Z"), "+inf", 3, withscores=True))
    rec("zincrby", lambda: c.zincrby(k("Z"), 2.5, "c"))
    rec("zrangebylex", lambda: (c.zadd(k("X"), {"a": 0, "b": 0, "c": 0, "d": 0}), c.zrangebylex(k("X"), "[b", "+"),
                                c.zrangebylex(k("X"), "-", "(c", start=0, num=1)))
    rec("zlexcount", lambda: c.zlexcount(k("X"), "-", "+"))
    rec("zpopmin", lambda: (c.zpopmin(k("Z")), c.zpopmin(k("Z"), 2)))
    rec("zpopmax", lambda: (c.zpopmax(k("Z")), c.zpopmax(k("nz"))))
    rec("zscan", lambda: c.zscan(k("X"), 0, count=100))
    rec("zadd bad float", lambda: c.zadd(k("Z"), {"a": "nan-ish"}))
    # keys
    rec("exists", lambda: c.exists(k("s"), k("h"), k("missing"), k("s")))
    rec("type", lambda: [c.type(k(n)) for n in ("s", "h", "A", "L2", "X", "missing")])
    rec("expire", lambda: (c.expire(k("s"), 100), c.expire(k("s"), 50, gt=True), c.expire(k("missing"), 10)))
    rec("ttl", lambda: (90 <= c.ttl(k("s")) <= 100, c.ttl(k("h")), c.ttl(k("missing"))))
    rec("pexpire", lambda: (c.pexpire(k("h"), 100000), c.pexpire(k("h"), 1, nx=True)))
    rec("pttl", lambda: (90000 <= c.pttl(k("h")) <= 100000, c.pttl(k("missing"))))
    rec("expireat", lambda: c.expireat(k("A"), 4102444800))
    rec("pexpireat", lambda: (c.pexpireat(k("B"), 4102444800000), 0 < c.ttl(k("B"))))
    rec("persist", lambda: (c.persist(k("A")), c.persist(k("A")), c.ttl(k("A"))))
    rec("delete", lambda: c.delete(k("s"), k("missing"), k("h")))
    rec("unlink", lambda: c.unlink(k("A"), k("B")))
    return out


def _untag(v, tag):
    """v with the scenario's hash tag replaced, so replies naming keys compare equal."""
    if isinstance(v, bytes):
        return v.replace(tag.encode(), b"T")
    if isinstance(v, str):
        return v.replace(tag, "T")
    if isinstance(v, (list, tuple)):
        return type(v)(_untag(x, tag) for x in v)
    return v


def _compare(cluster, decode):
    nodes = [ClusterNode("127.0.0.1", n.port) for n in cluster]
    ref = RedisCluster(startup_nodes=nodes, decode_responses=decode)
    mine = redraft.RedisCluster(startup_nodes=[(n.host, n.port) for n in nodes], decode_responses=decode)
    try:
        want = _untag(scenario(ref, f"ref{decode}"), f"ref{decode}")
        got = _untag(scenario(mine, f"rdf{decode}"), f"rdf{decode}")
        assert [g[0] for g in got] == [w[0] for w in want]
        for (label, g), (_, w) in zip(got, want):
            assert g == w, label
        return mine, ref
    except BaseException:
        mine.close()
        ref.close()
        raise


def test_every_command_like_redis_py(cluster):
    for decode in (False, True):
        mine, ref = _compare(cluster, decode)
        mine.close()
        ref.close()
    mine = redraft.RedisCluster(startup_nodes=[("127.0.0.1", n.port) for n in cluster], decode_responses=True)
    ref = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", n.port) for n in cluster], decode_responses=True)
    try:
        # the commands whose replies depend on the node asked
        assert re.fullmatch(r"[0-9a-f]{40}", mine.cluster_myid())
        assert set(mine.cluster_nodes()) == {f"127.0.0.1:{n.port}" for n in cluster}
        assert len(mine.cluster_shards()) == len(mine.cluster_slots()) >= 3
        assert mine.cluster_info()["cluster_known_nodes"] == "3"
        # DBSIZE goes to every primary and is summed, FLUSHALL / FLUSHDB to every primary
        keys = [key_in_slot(s, "db") for s in range(0, 16384, 512)]
        assert mine.mset_nonatomic({k: "1" for k in keys}) is True
        assert mine.dbsize() == ref.dbsize(target_nodes=RedisCluster.PRIMARIES) > len(keys)
        assert mine.flushdb() is True
        assert mine.dbsize() == 0 and ref.get(keys[0]) is None
        assert mine.set("x", "1") is True and mine.flushall() is True
        assert mine.dbsize() == 0
    finally:
        mine.close()
        ref.close()


def test_multi_key_commands_split_per_slot(cluster):
    nodes = [("127.0.0.1", n.port) for n in cluster]
    with redraft.RedisCluster(startup_nodes=nodes, decode_responses=True) as c:
        keys = [key_in_slot(s, "mk") for s in range(7, 16384, 331)]
        assert len({c.keyslot(k) for k in keys}) == len(keys)
        assert c.mset({k: f"v{i}" for i, k in enumerate(keys)}) is True
        # in key order, duplicates and missing keys included
        ask = keys[::-1] + ["nokey", keys[3]]
        assert c.mget(ask) == [f"v{keys.index(k)}" for k in keys[::-1]] + [None, "v3"]
        assert c.exists(*keys, keys[0], "nokey") == len(keys) + 1
        assert c.delete(*keys[:10]) == 10
        assert c.unlink(*keys) == len(keys) - 10
        assert c.mget_nonatomic(keys) == [None] * len(keys)
        # atomic multi-key commands over several slots fail before anything is sent
        with pytest.raises(redraft.ClusterCrossSlotError, match="SINTERSTORE"):
            c.sinterstore(keys[0], [keys[1], keys[2]])
        assert c.exists(keys[0]) == 0
        with pytest.raises(redraft.ClusterCrossSlotError):
            c.smove(keys[0], keys[1], "m")
        # the same keys with one hash tag go to one slot and need no split
        tagged = [f"{{t}}{k}" for k in keys]
        assert c.mset_nonatomic({k: k for k in tagged}) is True
        assert c.sunionstore("{t}dst", tagged[:0] + ["{t}none"]) == 0
        assert c.mget(tagged) == tagged
        # transactions: one MULTI/EXEC in one slot
        p = c.pipeline(transaction=True)
        p.set("{tx}a", 1).incr("{tx}a").get("{tx}a").sadd("{tx}s", "m").smembers("{tx}s")
        assert p.execute() == [True, 2, "2", 1, {"m"}]
        p = c.pipeline(transaction=True)
        p.set("{tx}a", 5).set("{other}b", 1)
        with pytest.raises(redraft.ClusterCrossSlotError):
            p.execute()
        assert c.get("{tx}a") == "2" and c.exists("{other}b") == 0
        # a command refused while queueing aborts the whole transaction
        p = c.pipeline(transaction=True)
        p.set("{tx}a", 9).execute_command("SET", "{tx}a")
        with pytest.raises(redraft.ResponseError, match="wrong number of arguments"):
            p.execute()
        assert c.get("{tx}a") == "2"
        # an error at run time is that command's result
        p = c.pipeline(transaction=True)
        p.incr("{tx}a").lpush("{tx}a", "x").get("{tx}a")
        out = p.execute(raise_on_error=False)
        assert out[0] == 3 and isinstance(out[1], redraft.ResponseError) and out[2] == "3"
        # a command the key table does not know is routed by its first argument
        with pytest.raises(redraft.ResponseError, match="^unknown command 'NOSUCHCMD'"):
            c.execute_command("NOSUCHCMD", keys[0])


def test_replica_reads(cluster):
    """read_from_replicas: reads go to followers too (READONLY connections) and still see the
    latest acknowledged write; writes go to the leader."""
    nodes = [("127.0.0.1", n.port) for n in cluster]
    with redraft.RedisCluster(startup_nodes=nodes, decode_responses=True, read_from_replicas=True) as c:
        # RedRaft's CLUSTER SLOTS names only leaders: the followers come from CLUSTER SHARDS
        types = [(n.name, n.server_type) for n in c.get_nodes()]
        assert {t for _, t in types} == {"primary", "replica"}, types
        assert c.get_node_from_key("r", replica=True).server_type == "replica"
        before = {n.port: n.client().info("commandstats").get("cmdstat_get", {}).get("calls", 0)
                  for n in cluster}
        for i in range(200):
            k = key_in_slot((i * 83) % 16384, "rr")
            assert c.set(k, i) is True
            assert c.get(k) == str(i)
        after = {n.port: n.client().info("commandstats").get("cmdstat_get", {}).get("calls", 0)
                 for n in cluster}
        # every node served some of the GETs, over READONLY connections among them
        assert all(after[p] > before[p] for p in after), (before, after)
        readonly = sum(n.client().info("commandstats").get("cmdstat_readonly", {}).get("calls", 0)
                       for n in cluster)
        assert readonly >= 1


def test_standalone_server(server):
    with redraft.RedisCluster(host="127.0.0.1", port=server.port) as c:
        assert c.set("a", "1") is True and c.set("b", "2") is True
        assert c.mget("a", "b", "c") == [b"1", b"2", None]
        p = c.pipeline()
        p.incr("n").incr("n").get("n")
        assert p.execute() == [1, 2, b"2"]
        assert c.delete("a", "b") == 2
        with pytest.raises(redraft.ResponseError, match="^WRONGTYPE"):
            c.set("s", "x") and c.lpush("s", "y")
