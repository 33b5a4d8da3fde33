"""The one-node cluster view of a standalone server: CLUSTER SLOTS / NODES / SHARDS / INFO /
MYID / KEYSLOT / COUNTKEYSINSLOT / GETKEYSINSLOT, READONLY / READWRITE / ASKING, the announced
address, and redis-py's RedisCluster against one node.

Replies are compared with a real redis-server 7.0.15 started with --cluster-enabled yes and
CLUSTER ADDSLOTSRANGE 0 16383 (fixture `reference_redis`). The one intended difference: a lone
Redis node does not know its own IP and leaves it empty; RedRaft announces 127.0.0.1 (its
--bind) or --announce-ip."""

import random
import re
import shutil
import subprocess

import pytest
from redis.cluster import RedisCluster
from redis.crc import key_slot

from conftest import no_retry
from helpers import RawConn, call_raw, key_in_slot, region_bounds

ID_RE = re.compile(r"[0-9a-f]{40}")


def bulk(s):
    if isinstance(s, str):
        s = s.encode()
    return b"$%d\r\n%s\r\n" % (len(s), s)


def verbatim(s, proto):
    """A text reply: bulk string in RESP2, verbatim `txt:` string in RESP3."""
    s = s.encode()
    return bulk(s) if proto == 2 else b"=%d\r\ntxt:%s\r\n" % (len(s) + 4, s)


def raw(srv, proto):
    c = RawConn(srv)
    if proto == 3:
        assert c.call("HELLO", "3").startswith(b"%")
    return c


def slots_reply(ip, port, node_id, proto):
    return (b"*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n" + bulk(ip) + b":%d\r\n" % port + bulk(node_id)
            + (b"%0\r\n" if proto == 3 else b"*0\r\n"))


def nodes_line(ip, port, bus_port, node_id):
    return f"{node_id} {ip}:{port}@{bus_port} myself,master - 0 0 0 connected 0-16383\n"


def shards_re(ip, port, node_id, proto):
    """CLUSTER SHARDS, byte for byte except the replication offset (any integer)."""
    if proto == 3:
        outer, inner = b"%2\r\n", b"%7\r\n"
    else:
        outer, inner = b"*4\r\n", b"*14\r\n"
    head = (b"*1\r\n" + outer + bulk("slots") + b"*2\r\n:0\r\n:16383\r\n" + bulk("nodes")
            + b"*1\r\n" + inner + bulk("id") + bulk(node_id) + bulk("port") + b":%d\r\n" % port
            + bulk("ip") + bulk(ip) + bulk("endpoint") + bulk(ip) + bulk("role") + bulk("master")
            + bulk("replication-offset"))
    tail = bulk("health") + bulk("online")
    return re.compile(re.escape(head) + rb":\d+\r\n" + re.escape(tail), re.S)


def myid(srv):
    with RawConn(srv) as c:
        reply = c.call("CLUSTER", "MYID")
    m = re.fullmatch(rb"\$40\r\n([0-9a-f]{40})\r\n", reply)
    assert m, reply
    return m.group(1).decode()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def proto(request):
    return request.param


# ----------------------------------------------------------------------- topology replies
def test_cluster_slots(server, reference_redis, proto):
    ref_id, our_id = myid(reference_redis), myid(server)
    with raw(reference_redis, proto) as c:
        assert c.call("CLUSTER", "SLOTS") == slots_reply("", reference_redis.port, ref_id, proto)
    with raw(server, proto) as c:
        assert c.call("CLUSTER", "SLOTS") == slots_reply("127.0.0.1", server.port, our_id, proto)


def test_cluster_nodes(server, reference_redis, proto):
    ref_id, our_id = myid(reference_redis), myid(server)
    ref_port, port = reference_redis.port, server.port
    with raw(reference_redis, proto) as c:
        assert c.call("CLUSTER", "NODES") == \
            verbatim(nodes_line("", ref_port, ref_port + 10000, ref_id), proto)
    with raw(server, proto) as c:
        assert c.call("CLUSTER", "NODES") == \
            verbatim(nodes_line("127.0.0.1", port, port + 10000, our_id), proto)


def test_cluster_shards(server, reference_redis, proto):
    ref_id, our_id = myid(reference_redis), myid(server)
    with raw(reference_redis, proto) as c:
        reply = c.call("CLUSTER", "SHARDS")
        assert shards_re("", reference_redis.port, ref_id, proto).fullmatch(reply), reply
    with raw(server, proto) as c:
        reply = c.call("CLUSTER", "SHARDS")
        assert shards_re("127.0.0.1", server.port, our_id, proto).fullmatch(reply), reply


def test_cluster_info_matches_redis(server, reference_redis, proto):
    with raw(reference_redis, proto) as c:
        expected = c.call("CLUSTER", "INFO")
    assert b"cluster_state:ok\r\n" in expected
    with raw(server, proto) as c:
        assert c.call("CLUSTER", "INFO") == expected


def test_cluster_info_lines(r):
    text = r.execute_command("CLUSTER", "INFO")
    assert text.endswith("\r\n")
    info = dict(line.split(":", 1) for line in text[:-2].split("\r\n"))
    assert info["cluster_state"] == "ok"
    assert (info["cluster_slots_assigned"], info["cluster_slots_ok"]) == ("16384", "16384")
    assert (info["cluster_known_nodes"], info["cluster_size"]) == ("1", "1")
    assert info["cluster_current_epoch"] == info["cluster_my_epoch"]


def test_node_id_is_the_same_everywhere_and_stable(make_server):
    srv = make_server()
    node_id = myid(srv)
    assert ID_RE.fullmatch(node_id)
    c = srv.client(protocol=2)
    assert call_raw(c, "CLUSTER", "SLOTS")[0][2][2] == node_id
    assert call_raw(c, "CLUSTER", "NODES").split(" ")[0] == node_id
    assert call_raw(c, "CLUSTER", "SHARDS")[0][3][0][1] == node_id
    c.close()

    srv.stop_and_check()
    srv.start()
    assert myid(srv) == node_id, "node id changed across a clean restart"
    srv.kill9_and_restart()
    assert myid(srv) == node_id, "node id changed across kill -9"

    other = make_server()
    assert myid(other) != node_id, "two data dirs got the same node id"


# ---------------------------------------------------------------------------------- KEYSLOT
def keyslot_samples(n=3000, seed=20240611):
    rnd = random.Random(seed)
    alnum = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-."
    braces = b"{}{}{}ab\x00\xff\r\n "

    def word(alphabet, lo, hi):
        return bytes(rnd.choice(alphabet) for _ in range(rnd.randint(lo, hi)))

    keys = [b"", b"{", b"}", b"{}", b"}{", b"{{}}", b"{a}", b"a{}b", b"foo{}{bar}",
            b"foo{{bar}}zap", b"foo{bar}{zap}", b"{user1000}.following", b"{user1000}.followers",
            b"123456789", "ключ{тег}".encode(), b"\x00{\x00}\x00"]
    while len(keys) < n:
        kind = rnd.randrange(5)
        if kind == 0:
            keys.append(word(alnum, 0, 24))
        elif kind == 1:
            keys.append(word(bytes(range(256)), 0, 40))
        elif kind == 2:  # a hash tag, possibly empty, with anything around it
            keys.append(word(alnum, 0, 6) + b"{" + word(alnum, 0, 6) + b"}" + word(braces, 0, 8))
        elif kind == 3:  # brace soup
            keys.append(word(braces, 1, 12))
        else:  # same tag, different rest: all must share a slot
            keys.append(b"{tag%d}" % rnd.randrange(50) + word(alnum, 0, 10))
    return keys


def keyslots(client, keys):
    with client.pipeline(transaction=False) as p:
        for k in keys:
            p.execute_command("CLUSTER", "KEYSLOT", k)
        return p.execute()


def test_keyslot_matches_redis(server, reference_redis):
    keys = keyslot_samples()
    ref = reference_redis.client(protocol=2, decode_responses=False)
    ours = server.client(decode_responses=False)
    try:
        expected = keyslots(ref, keys)
        got = keyslots(ours, keys)
    finally:
        ref.close()
        ours.close()
    assert all(0 <= s < 16384 for s in expected)
    assert expected == [key_slot(k) for k in keys]  # the reference and redis-py agree
    mismatches = [(k, e, g) for k, e, g in zip(keys, expected, got) if e != g]
    assert not mismatches, f"{len(mismatches)} of {len(keys)} differ, e.g. {mismatches[:5]}"


def test_keyslot_known_values(r):
    def keyslot(k):
        return r.execute_command("CLUSTER", "KEYSLOT", k)
    # CRC16-XMODEM("123456789") = 0x31C3 (the Redis Cluster specification's check value)
    assert keyslot("123456789") == 0x31C3 % 16384 == 12739
    assert keyslot("foo") == 12182
    assert keyslot("{foo}bar") == keyslot("foo")
    assert keyslot("{}foo") == key_slot(b"{}foo") != keyslot("foo")
    assert keyslot("") == 0


# ------------------------------------------------------------- COUNTKEYSINSLOT / GETKEYSINSLOT
def test_countkeysinslot_and_getkeysinslot(r):
    slot = key_slot(b"tag")
    keys = [f"{{tag}}:{i}" for i in range(5)]
    assert r.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0
    assert r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 10) == []
    assert r.mset({k: "v" for k in keys}) is True
    other = key_in_slot((slot + 1) % 16384)
    assert r.set(other, "x") is True
    assert r.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 5
    assert sorted(r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 10)) == keys
    assert sorted(r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 5)) == keys
    some = r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 2)
    assert len(some) == 2 and set(some) <= set(keys)
    assert r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 0) == []
    assert r.execute_command("CLUSTER", "GETKEYSINSLOT", (slot + 1) % 16384, 10) == [other]
    assert r.delete(keys[0], keys[1]) == 2
    assert r.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 3
    assert sorted(r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 10)) == keys[2:]
    assert r.flushall() is True
    assert r.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0


def test_slot_commands_at_the_edges(r):
    for slot in (0, 16383):
        k = key_in_slot(slot)
        assert r.set(k, "v") is True
        assert r.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 1
        assert r.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 9223372036854775807) == [k]


@pytest.mark.parametrize("args", [
    ("CLUSTER", "COUNTKEYSINSLOT", "16384"),
    ("CLUSTER", "COUNTKEYSINSLOT", "-1"),
    ("CLUSTER", "COUNTKEYSINSLOT", "abc"),
    ("CLUSTER", "COUNTKEYSINSLOT", "99999999999999999999"),
    ("CLUSTER", "COUNTKEYSINSLOT", "01"),
    ("CLUSTER", "COUNTKEYSINSLOT", ""),
    ("CLUSTER", "COUNTKEYSINSLOT"),
    ("CLUSTER", "COUNTKEYSINSLOT", "1", "2"),
    ("CLUSTER", "GETKEYSINSLOT", "0", "-1"),
    ("CLUSTER", "GETKEYSINSLOT", "16384", "1"),
    ("CLUSTER", "GETKEYSINSLOT", "-1", "1"),
    ("CLUSTER", "GETKEYSINSLOT", "x", "1"),
    ("CLUSTER", "GETKEYSINSLOT", "1", "x"),
    ("CLUSTER", "GETKEYSINSLOT", "1", "99999999999999999999"),
    ("CLUSTER", "GETKEYSINSLOT", "1"),
    ("CLUSTER", "KEYSLOT"),
    ("CLUSTER", "KEYSLOT", "a", "b"),
    ("CLUSTER", "MYID", "x"),
    ("CLUSTER", "SLOTS", "x"),
    ("CLUSTER", "NODES", "x"),
    ("CLUSTER", "INFO", "x"),
    ("CLUSTER", "SHARDS", "x"),
    ("CLUSTER", "NOSUCH"),
    ("CLUSTER",),
    ("READONLY", "x"),
    ("READWRITE", "x"),
    ("ASKING", "x"),
], ids=lambda a: " ".join(a) or "empty")
def test_cluster_errors_match_redis(server, reference_redis, args):
    with RawConn(reference_redis) as c:
        expected = c.call(*args)
    assert expected.startswith(b"-"), expected
    with RawConn(server) as c:
        assert c.call(*args) == expected
        assert c.call("PING") == b"+PONG\r\n"


# ----------------------------------------------------------------- READONLY / READWRITE / ASKING
def test_readonly_readwrite_asking(r):
    for cmd in ("READONLY", "READWRITE", "ASKING", "READONLY"):
        assert call_raw(r, cmd) in ("OK", b"OK")
    # a primary serves reads and writes whatever the flag
    conn = r.connection_pool.get_connection()
    try:
        for cmd in (("READONLY",), ("SET", "k", "1"), ("GET", "k"), ("READWRITE",),
                    ("INCR", "k"), ("ASKING",), ("GET", "k")):
            conn.send_command(*cmd)
        replies = [conn.read_response() for _ in range(7)]
    finally:
        r.connection_pool.release(conn)
    assert [x.decode() if isinstance(x, bytes) else x for x in replies] == \
        ["OK", "OK", "1", "OK", 2, "OK", "2"]


# -------------------------------------------------------------------- announced address
def test_announce_ip_and_port(make_server, proto):
    srv = make_server(extra_args=["--announce-ip", "10.1.2.3", "--announce-port", "7777"])
    node_id = myid(srv)
    with raw(srv, proto) as c:
        assert c.call("CLUSTER", "SLOTS") == slots_reply("10.1.2.3", 7777, node_id, proto)
        body = c.call("CLUSTER", "NODES").split(b"\r\n", 1)[1]
        assert body.startswith((b"txt:" if proto == 3 else b"") +
                               f"{node_id} 10.1.2.3:7777@".encode()), body
        reply = c.call("CLUSTER", "SHARDS")
        assert shards_re("10.1.2.3", 7777, node_id, proto).fullmatch(reply), reply
    # the server still listens on its real port only; the announced one is for clients
    c = srv.client()
    assert c.ping() is True
    c.close()


def test_announced_bus_port_follows_the_real_port(make_server):
    """Redis derives the bus port in CLUSTER NODES from its own port (port + 10000), not from
    cluster-announce-port (checked against redis-server 7.0.15 with --cluster-announce-port):
    `<id> 10.1.2.3:7777@<real port + 10000> ...`."""
    srv = make_server(extra_args=["--announce-ip", "10.1.2.3", "--announce-port", "7777"])
    node_id = myid(srv)
    with raw(srv, 2) as c:
        assert c.call("CLUSTER", "NODES") == \
            verbatim(nodes_line("10.1.2.3", 7777, srv.port + 10000, node_id), 2)


def test_announce_ip_alone_keeps_the_real_port(make_server):
    srv = make_server(extra_args=["--announce-ip", "192.0.2.7"])
    node_id = myid(srv)
    with raw(srv, 2) as c:
        assert c.call("CLUSTER", "SLOTS") == slots_reply("192.0.2.7", srv.port, node_id, 2)
        assert c.call("CLUSTER", "NODES") == \
            verbatim(nodes_line("192.0.2.7", srv.port, srv.port + 10000, node_id), 2)


def test_regions_still_show_one_node_owning_every_slot(make_server):
    srv = make_server(extra_args=["--regions", "4"])
    node_id = myid(srv)
    with raw(srv, 2) as c:
        assert c.call("CLUSTER", "SLOTS") == slots_reply("127.0.0.1", srv.port, node_id, 2)
        assert c.call("CLUSTER", "NODES") == \
            verbatim(nodes_line("127.0.0.1", srv.port, srv.port + 10000, node_id), 2)
        assert b"cluster_state:ok\r\n" in c.call("CLUSTER", "INFO")


# ------------------------------------------------------------------ redis-py RedisCluster
@pytest.mark.parametrize("regions", [1, 4])
@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_redis_py_cluster_client(make_server, regions, protocol):
    srv = make_server(extra_args=["--regions", str(regions)])
    rc = RedisCluster(host="127.0.0.1", port=srv.port, protocol=protocol,
                      decode_responses=True, socket_timeout=30, retry=no_retry())
    try:
        nodes = rc.get_nodes()
        assert [(n.host, n.port, n.server_type) for n in nodes] == \
            [("127.0.0.1", srv.port, "primary")]
        # keys in every quarter of the slot space (every region with --regions 4)
        keys = [key_in_slot(start) for start, _ in region_bounds(4)] + \
               [key_in_slot(end - 1) for _, end in region_bounds(4)]
        for i, k in enumerate(keys):
            assert rc.set(k, f"v{i}") is True
            assert rc.get(k) == f"v{i}"
        assert rc.incr("counter") == 1
        assert rc.incrby("counter", 41) == 42
        assert rc.mget_nonatomic(keys + ["missing"]) == [f"v{i}" for i in range(len(keys))] + [None]
        assert rc.mset_nonatomic({k: "m" for k in keys}) == [True] * len(keys)  # one MSET per slot
        assert rc.mget_nonatomic(keys) == ["m"] * len(keys)
        with rc.pipeline() as p:
            for i, k in enumerate(keys):
                p.set(k, f"p{i}")
                p.incr(f"{{{k}}}:n")
                p.get(k)
            out = p.execute()
        assert out == [x for i in range(len(keys)) for x in (True, 1, f"p{i}")]
        assert rc.exists(*keys) == len(keys)
        assert rc.delete(*keys) == len(keys)
        assert rc.mget_nonatomic(keys) == [None] * len(keys)
        assert rc.cluster_keyslot("foo") == key_slot(b"foo")
        assert rc.dbsize() == 1 + len(keys)  # counter + the {k}:n counters
    finally:
        rc.close()


# ----------------------------------------------------------------- standalone is no cluster
@pytest.mark.parametrize("regions", [1, 4])
def test_standalone_reports_cluster_disabled(make_server, regions):
    """The issue's rule for standalone: INFO says cluster_enabled:0 (CLUSTER SLOTS still
    answers), so `redis-cli --cluster check` refuses the node as a non-cluster node. The check
    passing is the multi-node cluster's job."""
    cli = shutil.which("redis-cli")
    assert cli, "redis-cli not found (Debian: apt-get install redis-tools)"
    srv = make_server(extra_args=["--regions", str(regions)])
    c = srv.client()
    assert c.info("cluster")["cluster_enabled"] == 0
    c.close()
    done = subprocess.run([cli, "--cluster", "check", f"127.0.0.1:{srv.port}"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "is not configured as a cluster node" in done.stdout + done.stderr, done.stdout
