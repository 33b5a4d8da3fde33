"""The smart client (router-py) while regions split, move and merge under it: every write it
was told succeeded is there afterwards, every read returns the last acknowledged value, and the
client follows the new layout (MOVED, TRYAGAIN) without an error reaching the application."""

import json
import threading
import time
import urllib.request

import redraft
from helpers import wait_until

UNCERTAIN = (redraft.ConnectionError, redraft.TimeoutError, redraft.UncertainWriteError)


def call(port, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, json.loads(r.read())


def run_op(port, path, body):
    status, answer = call(port, "POST", path, body)
    assert status == 202, answer
    op = answer["op"]
    state = {}

    def finished():
        nonlocal state
        state = call(port, "GET", f"/admin/ops/{op}")[1]
        return state["state"] != "running"

    wait_until(finished, timeout=120, what=f"operation {op}")
    assert state["state"] == "done", state
    return state


def region_of_slot(port, slot):
    for r in call(port, "GET", "/admin/regions")[1]["regions"]:
        if r["slots"][0] <= slot <= r["slots"][1]:
            return r
    raise AssertionError(f"no region holds slot {slot}")


def test_split_and_merge_under_the_smart_client(cluster):
    port = cluster[0].admin_port
    c = redraft.RedisCluster(startup_nodes=[("127.0.0.1", n.port) for n in cluster], decode_responses=True)
    acked, unsure, stale, errors = {}, {}, [], []
    stop = threading.Event()

    def worker(w):
        i = 0
        while not stop.is_set():
            k = f"rp:{w}:{i % 200}"
            i += 1
            try:
                assert c.set(k, i) is True
                acked[k], unsure[k] = i, None
            except UNCERTAIN as e:
                unsure[k] = i
                errors.append(repr(e))
            except redraft.RedisError as e:
                errors.append(repr(e))
            try:
                got = c.get(k)
            except redraft.RedisError as e:
                errors.append(repr(e))
                continue
            if got is not None and int(got) != acked.get(k) and int(got) != unsure.get(k):
                stale.append((k, got, acked.get(k)))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        parent = region_of_slot(port, 100)
        at = (parent["slots"][0] + parent["slots"][1] + 1) // 2
        run_op(port, f"/admin/regions/{parent['id']}/split", {"at_slot": at})
        child = region_of_slot(port, at)
        assert child["id"] != parent["id"]
        time.sleep(0.5)
        run_op(port, "/admin/regions/merge", {"left": parent["id"], "right": child["id"]})
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert region_of_slot(port, at)["id"] == parent["id"]
    assert not stale, stale[:5]
    assert not errors, errors[:5]
    for k, v in acked.items():
        got = c.get(k)
        assert got is not None and int(got) in (v, unsure.get(k)), (k, got, v)
