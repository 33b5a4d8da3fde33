#!/usr/bin/env python3
"""The smart client (redraft) against redis-py's RedisCluster (+hiredis) on the same 3-node
RedRaft cluster started here (make bench-py).

Workloads: single SET, single GET, MGET of 10-50 keys spread over slots, MSET of 10-50 keys,
pipelines of 100 commands (50 SET + 50 GET) and of 100 GETs. Both clients run with the same number of threads
sharing one client object; runs are interleaved (redraft, redis-py, redis-py, redraft, ...) and
the table shows the median ops/s of each cell (an MGET/MSET or a pipeline counts as one op).

Usage: bench/router_bench.py --bin PATH [--runs 3] [--seconds 2] [--threads 4]
"""

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time

import redis
from redis.cluster import ClusterNode, RedisCluster

import redraft


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def cluster_ready(ports):
    views = []
    try:
        for p in ports:
            c = redis.Redis(port=p, decode_responses=True, protocol=2)
            if "cluster_state:ok" not in c.execute_command("CLUSTER", "INFO"):
                return False
            views.append(repr(c.execute_command("CLUSTER", "SLOTS")))
            c.close()
    except redis.RedisError:
        return False
    if len(set(views)) != 1:
        return False
    slots = redis.Redis(port=ports[0], protocol=2).execute_command("CLUSTER", "SLOTS")
    return len({m[0][1] for _, _, *m in slots}) == len(ports)


def start_cluster(binary, base):
    ports = free_ports(9)
    resp, grpc = ports[:3], ports[3:6]
    spec = ",".join(f"{i + 1}=127.0.0.1:{p}" for i, p in enumerate(grpc))
    procs = []
    for i in range(3):
        d = os.path.join(base, f"n{i + 1}")
        os.makedirs(d)
        log = open(os.path.join(d, "server.log"), "ab")
        procs.append(subprocess.Popen(
            [binary, "--port", str(resp[i]), "--bind", "127.0.0.1", "--data-dir", d,
             "--node-id", str(i + 1), "--grpc-port", str(grpc[i]), "--cluster", spec],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log))
        log.close()
    deadline = time.monotonic() + 90
    while not cluster_ready(resp):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            stop(procs)
            raise SystemExit(f"cluster did not become ready; logs under {base}")
        time.sleep(0.2)
    return resp, procs


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


KEYS = [f"bench:{i}" for i in range(10000)]


def workloads(kind):
    """name -> op(client, rnd); kind is 'redraft' or 'redis-py'."""
    cross_mget = (lambda c, ks: c.mget_nonatomic(ks))
    cross_mset = (lambda c, m: c.mset_nonatomic(m))

    def set_(c, rnd):
        c.set(rnd.choice(KEYS), "x" * 32)

    def get_(c, rnd):
        c.get(rnd.choice(KEYS))

    def mget_(c, rnd):
        cross_mget(c, rnd.sample(KEYS, rnd.randint(10, 50)))

    def mset_(c, rnd):
        cross_mset(c, {k: "y" * 32 for k in rnd.sample(KEYS, rnd.randint(10, 50))})

    def pipe_(c, rnd):
        p = c.pipeline() if kind == "redraft" else c.pipeline(transaction=False)
        for k in rnd.sample(KEYS, 50):
            p.set(k, "z" * 32)
        for k in rnd.sample(KEYS, 50):
            p.get(k)
        p.execute()

    def pipe_get(c, rnd):
        p = c.pipeline() if kind == "redraft" else c.pipeline(transaction=False)
        for k in rnd.sample(KEYS, 100):
            p.get(k)
        p.execute()

    return {"SET": set_, "GET": get_, "MGET 10-50 keys": mget_, "MSET 10-50 keys": mset_,
            "pipeline of 100": pipe_, "pipeline 100 GET": pipe_get}


def measure(client, op, seconds, threads):
    stop_at = time.monotonic() + seconds
    counts = [0] * threads
    errors = []

    def worker(i):
        rnd = random.Random(i)
        n = 0
        try:
            while time.monotonic() < stop_at:
                op(client, rnd)
                n += 1
        except Exception as e:  # noqa: BLE001 - reported after the run
            errors.append(repr(e))
        counts[i] = n

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise SystemExit(f"benchmark op failed: {errors[0]}")
    return sum(counts) / (time.monotonic() - started)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=4)
    a = ap.parse_args()
    try:
        import hiredis  # noqa: F401
        parser = "hiredis"
    except ImportError:
        parser = "pure-Python parser (hiredis not installed)"
    base = tempfile.mkdtemp(prefix="redraft-router-bench-")
    ports, procs = start_cluster(a.bin, base)
    try:
        clients = {
            "redraft": redraft.RedisCluster(startup_nodes=[("127.0.0.1", p) for p in ports]),
            "redis-py": RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", p) for p in ports]),
        }
        clients["redraft"].mset_nonatomic({k: "v" for k in KEYS})
        ops = {k: workloads(k) for k in clients}
        for name in clients:  # warm-up: connections open, topology loaded
            for op in ops[name].values():
                measure(clients[name], op, 0.2, a.threads)
        results = {}
        for run in range(a.runs):
            order = list(clients) if run % 2 == 0 else list(clients)[::-1]
            for w in ops["redraft"]:
                for name in order:
                    time.sleep(0.5)  # let the previous cell's writes settle (fsync, compaction)
                    r = measure(clients[name], ops[name][w], a.seconds, a.threads)
                    results.setdefault((w, name), []).append(r)
                    print(f"run {run + 1} {w:<16} {name:<8} {r:10.0f} ops/s", flush=True)
        print(f"\n{a.threads} threads per client, {a.runs} interleaved runs of {a.seconds:.0f} s, "
              f"median ops/s; redis-py {redis.__version__} with {parser}")
        print(f"| {'workload':<16} | {'redraft':>9} | {'redis-py':>9} | {'ratio':>6} |")
        print(f"|{'-' * 18}|{'-' * 11}|{'-' * 11}|{'-' * 8}|")
        for w in ops["redraft"]:
            m = statistics.median(results[(w, "redraft")])
            r = statistics.median(results[(w, "redis-py")])
            print(f"| {w:<16} | {m:9.0f} | {r:9.0f} | {m / r:5.2f}x |")
        for c in clients.values():
            c.close()
    finally:
        stop(procs)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
