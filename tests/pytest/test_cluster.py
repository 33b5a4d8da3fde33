"""A real 3-node cluster on loopback used through redis-py's RedisCluster: topology, routing,
MOVED, CROSSSLOT, replica reads, and a leader killed with SIGKILL and restarted."""

import time

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from conftest import READY, cluster_ready
from helpers import key_in_slot, wait_until

def rc(nodes):
    return RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", n.port) for n in nodes],
                        decode_responses=True, protocol=3)


def leader_port(nodes, slot):
    for start, end, *members in nodes[0].client().execute_command("CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return members[0][1]
    raise AssertionError(f"slot {slot} not covered")


def test_redis_cluster_client_routes_every_slot(cluster):
    c = rc(cluster)
    for i in range(64):
        slot = i * 16384 // 64
        k = key_in_slot(slot, f"k{i}")
        assert c.set(k, i) is True
        assert c.get(k) == str(i)
        assert c.incr(k + "n") == 1
    # DBSIZE goes to every primary; each counts the keys of the slots it leads.
    assert c.dbsize(target_nodes=RedisCluster.PRIMARIES) == 128
    hashes = key_in_slot(77, "h")
    c.hset(hashes, mapping={"a": "1", "b": "2"})
    assert c.hgetall(hashes) == {"a": "1", "b": "2"}
    c.close()


def test_moved_and_crossslot_from_the_server(cluster):
    slot = 1234
    lp = leader_port(cluster, slot)
    other = next(n for n in cluster if n.port != lp)
    plain = other.client()
    # redis-py turns the reply `-MOVED <slot> <host:port>` into MovedError("<slot> <host:port>").
    with pytest.raises(redis.exceptions.MovedError, match=rf"^{slot} 127\.0\.0\.1:{lp}$"):
        plain.execute_command("SET", key_in_slot(slot, "m"), "1")
    leader = next(n for n in cluster if n.port == lp).client()
    # Likewise `-CROSSSLOT ...` becomes ClusterCrossSlotError with the text after the code.
    with pytest.raises(redis.exceptions.ClusterCrossSlotError, match="^Keys in request don't hash to the same slot$"):
        leader.execute_command("MSET", key_in_slot(slot, "a"), 1, key_in_slot(slot + 1, "b"), 2)


def test_replica_read_after_write_is_never_stale(cluster):
    slot = 3000
    lp = leader_port(cluster, slot)
    w = next(n for n in cluster if n.port == lp).client()
    r = next(n for n in cluster if n.port != lp).client()
    assert r.execute_command("READONLY") in ("OK", True)
    k = key_in_slot(slot, "ro")
    for i in range(100):
        w.set(k, i)
        assert r.get(k) == str(i)


def test_leader_killed_and_restarted_keeps_acknowledged_writes(cluster):
    c = rc(cluster)
    slot = 8000
    lp = leader_port(cluster, slot)
    victim = next(n for n in cluster if n.port == lp)
    acked = {}
    for i in range(200):
        k = key_in_slot((slot + 13 * i) % 16384, f"a{i}")
        c.set(k, i)
        acked[k] = str(i)
    victim.kill9()
    started = time.monotonic()
    survivors = [n for n in cluster if n is not victim]
    wait_until(lambda: cluster_ready(survivors), timeout=30, what="new leaders after the kill")
    print(f"new leaders {time.monotonic() - started:.2f}s after the kill")
    c.close()
    c = rc(survivors)
    for i in range(200, 400):
        k = key_in_slot((slot + 13 * i) % 16384, f"a{i}")
        c.set(k, i)
        acked[k] = str(i)
    victim.start()
    wait_until(lambda: cluster_ready(cluster), timeout=READY, what="restarted node rejoins")
    c.close()
    c = rc(cluster)
    for k, v in acked.items():
        assert c.get(k) == v, k
    c.close()
