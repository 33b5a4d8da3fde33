"""The smart client while the cluster changes under it: a leader killed with SIGKILL during a
write loop, every region's leader moved through the admin API while clients (plain commands
and pipelines) run, and the asyncio client across the same."""

import asyncio
import json
import threading
import time
import urllib.request

import redraft
import redraft.asyncio
from conftest import READY, cluster_ready
from helpers import key_in_slot, wait_until

# Outcomes of a write that may or may not have been applied: never counted as acknowledged.
UNCERTAIN = (redraft.ConnectionError, redraft.TimeoutError, redraft.UncertainWriteError)


def client(nodes, **kw):
    return redraft.RedisCluster(startup_nodes=[("127.0.0.1", n.port) for n in nodes],
                                decode_responses=True, **kw)


def http(port, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def regions(node):
    """{region id: (leader node id, [member node ids])} as one node sees them."""
    return {r["id"]: (r["leader"], r["members"]) for r in http(node.admin_port, "/cluster")["regions"]}


def test_leader_killed_during_write_loop(cluster):
    c = client(cluster)
    owner = c.get_node_from_key(key_in_slot(5000, "w"))
    victim = next(n for n in cluster if n.port == owner.port)
    acked, uncertain = {}, []
    killed_at = None
    i = 0
    started = time.monotonic()
    while i < 1500 and time.monotonic() - started < 60:
        k = key_in_slot((i * 37) % 16384, "w")
        try:
            assert c.set(k, i) is True
            acked[k] = str(i)
        except UNCERTAIN as e:
            uncertain.append((k, repr(e)))
        i += 1
        if i == 300:
            victim.kill9()
            killed_at = time.monotonic()
    assert killed_at is not None and i == 1500, f"loop stopped at {i}"
    # The client rode through the election: only writes in flight at the kill are uncertain
    # (a single-threaded loop has at most one), everything else was acknowledged.
    assert len(uncertain) <= 2, uncertain
    for k, v in acked.items():
        assert c.get(k) == v, k
    victim.start()
    wait_until(lambda: cluster_ready(cluster), timeout=READY, what="restarted node rejoins")
    assert c.mget(list(acked)) == list(acked.values())
    c.close()


def transfer_all(cluster):
    """Moves every region's leadership to another member; returns how many moved."""
    by_id = {i + 1: n for i, n in enumerate(cluster)}
    moved = 0
    for rid, (leader, members) in regions(cluster[0]).items():
        to = next(m for m in members if m != leader)
        http(by_id[leader].admin_port, f"/admin/regions/{rid}/leader", {"to": to})
        moved += 1
    return moved


def test_moved_storm_with_clients_and_pipelines(cluster):
    c = client(cluster)
    before = regions(cluster[0])
    stop = threading.Event()
    errors, counts = [], {"set": 0, "pipe": 0}

    def writer(tag):
        n = 0
        while not stop.is_set():
            k = key_in_slot((n * 101) % 16384, tag)
            try:
                assert c.set(k, n) is True
                assert c.get(k) == str(n)
                counts["set"] += 1
            except UNCERTAIN:
                pass
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            n += 1

    def piper():
        n = 0
        while not stop.is_set():
            p = c.pipeline()
            keys = [key_in_slot((n * 7 + j * 331) % 16384, "p") for j in range(50)]
            for j, k in enumerate(keys):
                p.set(k, n + j)
            p.mget(keys)
            try:
                out = p.execute()
                assert out[:-1] == [True] * 50 and out[-1] == [str(n + j) for j in range(50)]
                counts["pipe"] += 1
            except UNCERTAIN:
                pass
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
            n += 1

    tx = {"acked": 0, "uncertain": 0}

    def transactions():
        # MULTI/EXEC of two INCRs in one slot: both or neither, never twice
        while not stop.is_set():
            p = c.pipeline(transaction=True)
            p.incr("{tx}a").incr("{tx}b")
            try:
                a, b = p.execute()
                assert a == b
                tx["acked"] += 1
            except UNCERTAIN:
                tx["uncertain"] += 1
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

    threads = [threading.Thread(target=writer, args=(f"s{t}",)) for t in range(2)]
    threads.append(threading.Thread(target=piper))
    threads.append(threading.Thread(target=transactions))
    for t in threads:
        t.start()
    try:
        for _ in range(2):
            base = dict(counts)
            snap = regions(cluster[0])
            assert transfer_all(cluster) == len(before)
            # every region got a new leader, as every node sees it: the clients' maps are stale
            wait_until(lambda: all(regions(n)[r][0] not in (None, 0, snap[r][0])
                                   for n in cluster for r in snap),
                       timeout=20, what="new leaders")
            wait_until(lambda: counts["set"] > base["set"] + 50 and counts["pipe"] > base["pipe"] + 5,
                       timeout=30, what="clients progressing after the transfer")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert errors == []
    assert c.stats()["moved"] > 0
    a, b = int(c.get("{tx}a")), int(c.get("{tx}b"))
    assert a == b and tx["acked"] <= a <= tx["acked"] + tx["uncertain"], (a, b, tx)
    c.close()


def test_pipeline_with_stale_topology_is_rerouted(cluster):
    """A client whose slot map is stale gets MOVED for part of a pipeline; only those entries
    are sent again and the replies stay in order."""
    # no periodic reload during the test: the maps stay stale until a MOVED
    c = client(cluster, refresh_interval=60)
    c2 = client(cluster, refresh_interval=60)
    old = regions(cluster[0])
    keys = [key_in_slot(s, "pr") for s in range(0, 16384, 97)]
    transfer_all(cluster)
    # the client has not reloaded yet: its map still names the old leaders
    wait_until(lambda: all(regions(n)[r][0] != old[r][0] for n in cluster for r in old),
               timeout=20, what="leaders moved")
    p = c.pipeline()
    for i, k in enumerate(keys):
        p.set(k, i)
    for k in keys:
        p.get(k)
    before = c.stats()
    out = p.execute()
    after = c.stats()
    assert out == [True] * len(keys) + [str(i) for i in range(len(keys))]
    d = {k: after[k] - before[k] for k in after}
    # every region changed leader, so some entries were redirected; each redirect or retry is
    # exactly one resend: the others went out once
    assert d["moved"] > 0
    assert d["sent"] == 2 * len(keys) + d["moved"] + d["ask"] + d["retried"]
    c.close()
    # a transaction on the second client, whose map is stale too, is sent again whole
    p = c2.pipeline(transaction=True)
    p.set("{pt}x", "1").incr("{pt}x")
    assert p.execute() == [True, 2]
    assert c2.stats()["moved"] >= 1
    c2.close()


def test_asyncio_client(cluster):
    async def main():
        c = redraft.asyncio.RedisCluster(startup_nodes=[("127.0.0.1", n.port) for n in cluster],
                                         decode_responses=True)
        keys = [key_in_slot(s, "as") for s in range(0, 16384, 1024)]
        assert await asyncio.gather(*(c.set(k, i) for i, k in enumerate(keys))) == [True] * len(keys)
        assert await c.mget(keys) == [str(i) for i in range(len(keys))]
        assert await c.incr("as-n", 5) == 5
        assert await c.hgetall("nohash") == {}
        # The generic entry point converts replies like the named methods do.
        assert await c.execute_command("SET", "as-raw", "v") is True
        assert await c.execute_command("HSET", "as-h", "f", "1") == 1
        assert await c.execute_command("HGETALL", "as-h") == {"f": "1"}
        async with c.pipeline(transaction=True) as tx:
            tx.incr("as-tx").incr("as-tx")
            assert await tx.execute() == [1, 2]
        p = c.pipeline()
        p.get(keys[0]).delete(*keys).exists(*keys)
        assert await p.execute() == ["0", len(keys), 0]
        try:
            await c.lpush("as-n", "x")
            raise AssertionError("expected WRONGTYPE")
        except redraft.ResponseError as e:
            assert str(e).startswith("WRONGTYPE")
        await c.aclose()

    asyncio.run(main())
