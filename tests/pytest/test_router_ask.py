"""ASK handling against a real redis-server 7 cluster (RedRaft does not send ASK): a slot in
MIGRATING / IMPORTING state with a key moved by MIGRATE, then the migration finished (MOVED)."""

import os
import shutil
import subprocess
import time

import pytest
import redis

import redraft
from conftest import free_cluster_port
from helpers import key_in_slot, wait_until

RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]


@pytest.fixture
def redis_cluster(workdir):
    binary = shutil.which(os.environ.get("REDIS_SERVER_BIN", "redis-server"))
    if binary is None:
        pytest.fail("redis-server not found (Debian: apt-get install redis-server)")
    procs, clients = [], []
    base = os.path.join(workdir, f"ask-{time.monotonic_ns()}")
    try:
        ports = []
        for i in range(3):
            d = os.path.join(base, str(i))
            os.makedirs(d)
            p = free_cluster_port()
            while p in ports:
                p = free_cluster_port()
            ports.append(p)
            procs.append(subprocess.Popen(
                [binary, "--port", str(p), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no",
                 "--daemonize", "no", "--dir", d, "--logfile", os.path.join(d, "redis.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for p in ports:
            c = redis.Redis(port=p, decode_responses=True, protocol=2)
            wait_until(lambda: _pings(c), timeout=20, what=f"redis-server on {p}")
            clients.append(c)
        for c, (lo, hi) in zip(clients, RANGES):
            assert c.execute_command("CLUSTER", "ADDSLOTSRANGE", lo, hi)
        for p in ports[1:]:
            clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", p)
        wait_until(lambda: all(_cluster_ok(c) for c in clients), timeout=30, what="redis cluster ok")
        yield ports, clients
    finally:
        for c in clients:
            c.close()
        for pr in procs:
            pr.terminate()
            pr.wait(timeout=20)


def _pings(c):
    try:
        return c.ping()
    except redis.ConnectionError:
        return False


def _cluster_ok(c):
    info = c.execute_command("CLUSTER", "INFO")
    slots = c.execute_command("CLUSTER", "SLOTS")
    return "cluster_state:ok" in info and "cluster_known_nodes:3" in info and len(slots) == 3


def test_ask_during_migration_then_moved(redis_cluster):
    ports, (a, b, c_) = redis_cluster
    slot = 1000  # served by the first node
    k, k2, k3 = (f"{{{key_in_slot(slot, 'ask')}}}{s}" for s in ("moved", "stays", "new"))
    r = redraft.RedisCluster(startup_nodes=[("127.0.0.1", ports[2])], decode_responses=True,
                             retry_timeout=1.0)
    try:
        assert r.get_node_from_key(k).port == ports[0]
        assert r.set(k, "v1") is True and r.set(k2, "v2") is True
        a_id, b_id = a.execute_command("CLUSTER", "MYID"), b.execute_command("CLUSTER", "MYID")
        assert b.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", a_id)
        assert a.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", b_id)
        assert a.execute_command("MIGRATE", "127.0.0.1", ports[1], k, 0, 5000) == "OK"
        # the source answers ASK for the key it no longer has
        with pytest.raises(redis.ResponseError, match=f"^{slot} 127.0.0.1:{ports[1]}$"):
            redis.Redis(port=ports[0], decode_responses=True).get(k)
        asks = r.stats()["ask"]
        assert r.get(k) == "v1"                      # ASKING + GET on the target
        assert r.stats()["ask"] == asks + 1
        assert r.get(k2) == "v2"                     # still on the source
        assert r.set(k3, "v3") is True               # a new key goes to the target via ASK
        assert b.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 2
        assert a.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 1
        # ASK does not change the slot map
        assert r.get_node_from_key(k).port == ports[0]
        p = r.pipeline()
        p.get(k).get(k2).get(k3).set(k2, "v2b")
        assert p.execute() == ["v1", "v2", "v3", True]
        # keys of one request split between source and target: TRYAGAIN, retried until
        # retry_timeout, then raised
        started = time.monotonic()
        with pytest.raises(redraft.TryAgainError):
            r.mget([k, k2])
        assert 0.9 < time.monotonic() - started < 5
        # finish the migration: the source now answers MOVED and the client's map follows
        assert a.execute_command("MIGRATE", "127.0.0.1", ports[1], k2, 0, 5000) == "OK"
        for node in (b, a, c_):
            assert node.execute_command("CLUSTER", "SETSLOT", slot, "NODE", b_id)
        assert r.mget([k, k2, k3]) == ["v1", "v2b", "v3"]
        assert r.get_node_from_key(k).port == ports[1]
    finally:
        r.close()


def test_commands_outside_the_key_table_are_routed_by_command_info(redis_cluster):
    """OBJECT ENCODING has its key at argument 2 and BITOP at 2..: neither is in the client's
    table, so it asks COMMAND INFO once and routes them straight to the key's node (a route
    by the first argument would be answered MOVED)."""
    ports, _ = redis_cluster
    owner = lambda slot: next(i for i, (lo, hi) in enumerate(RANGES) if lo <= slot <= hi)  # noqa: E731
    words = {owner(redraft.key_slot(w)) for w in ("ENCODING", "AND")}
    target = next(i for i in range(3) if i not in words)
    tag = key_in_slot(RANGES[target][0] + 7, "ci")
    r = redraft.RedisCluster(startup_nodes=[("127.0.0.1", ports[(target + 1) % 3])],
                             decode_responses=True)
    try:
        k, a, b = (f"{{{tag}}}{s}" for s in ("k", "a", "b"))
        assert r.set(k, "hello") is True and r.set(a, "\x0f") and r.set(b, "\x03")
        moved = r.stats()["moved"]
        assert r.execute_command("OBJECT", "ENCODING", k) == "embstr"
        assert r.execute_command("BITOP", "AND", f"{{{tag}}}dst", a, b) == 1
        assert r.get(f"{{{tag}}}dst") == "\x03"
        assert r.stats()["moved"] == moved
    finally:
        r.close()
