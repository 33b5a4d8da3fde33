"""A real 3-node cluster on loopback used through redis-py's RedisCluster: topology, routing,
MOVED, CROSSSLOT, replica reads, and a leader killed with SIGKILL and restarted."""

import time

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from conftest import free_ports
from helpers import key_in_slot, wait_until

READY = 60.0


def cluster_ready(nodes):
    """Every running node says cluster_state:ok, all give the same CLUSTER SLOTS, and every
    node leads some slots (the leader balancer is done: no leadership moves under a test)."""
    views = []
    for srv in nodes:
        try:
            c = srv.client()
            info = c.execute_command("CLUSTER", "INFO")
            if "cluster_state:ok" not in info:
                return False
            views.append(repr(c.execute_command("CLUSTER", "SLOTS")))
            c.close()
        except redis.RedisError:
            return False
    if len(set(views)) != 1:
        return False
    leaders = {members[0][1] for _, _, *members in nodes[0].client().execute_command("CLUSTER", "SLOTS")}
    return len(leaders) == len(nodes)


@pytest.fixture
def cluster(make_server):
    # RESP and gRPC ports of all three nodes picked together: no port handed out twice.
    ports = free_ports(6)
    resp, grpc = ports[:3], ports[3:]
    spec = ",".join(f"{i + 1}=127.0.0.1:{p}" for i, p in enumerate(grpc))
    nodes = [
        make_server(port=resp[i], extra_args=["--node-id", str(i + 1), "--grpc-port", str(grpc[i]), "--cluster", spec])
        for i in range(3)
    ]
    wait_until(lambda: cluster_ready(nodes), timeout=READY, what="cluster ready")
    return nodes


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
