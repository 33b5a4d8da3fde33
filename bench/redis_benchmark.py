#!/usr/bin/env python3
"""Side-by-side redis-benchmark of redraft-server and redis-server (make bench).

Servers: redraft (standalone, durable: every write is fsynced through the Raft log before the
reply), redis-server with `appendonly yes appendfsync always` (durable), and redis-server with
no persistence. Runs are interleaved (server A, B, C, A, B, C, ...) so that machine noise hits
all of them alike; the table reports the median of the runs of each cell.

Usage: bench/redis_benchmark.py --bin PATH [--runs 3] [--requests 100000] [--clients 50]
       [--regions 1,4] [--tests set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100]
"""

import argparse
import csv
import io
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ping(port, deadline=60.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not answer PING")


class Server:
    def __init__(self, name, argv_fn, ready_line=None):
        self.name, self.argv_fn, self.ready_line = name, argv_fn, ready_line
        self.proc = None

    def start(self):
        self.dir = tempfile.mkdtemp(prefix=f"bench-{self.name}-")
        self.port = free_port()
        self.proc = subprocess.Popen(self.argv_fn(self.port, self.dir), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        if self.ready_line:
            for line in self.proc.stdout:
                if line.startswith(self.ready_line):
                    break
            else:
                raise RuntimeError(f"{self.name} exited before ready")
        wait_ping(self.port)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def cluster_info_ok(port):
    """The node answers CLUSTER INFO with cluster_state:ok and CLUSTER NODES shows three nodes
    leading slots (the leader balancer has settled)."""
    try:
        info = subprocess.run(["redis-cli", "-p", str(port), "cluster", "info"], capture_output=True,
                              text=True, timeout=5).stdout
        nodes = subprocess.run(["redis-cli", "-p", str(port), "cluster", "nodes"], capture_output=True,
                               text=True, timeout=5).stdout
    except subprocess.TimeoutExpired:
        return False
    leading = [l for l in nodes.splitlines() if l.split()[8:]]
    return "cluster_state:ok" in info and len(leading) == 3


class Cluster:
    """Three redraft nodes on loopback (`redis-benchmark --cluster` against the first)."""
    cluster = True

    def __init__(self, name, binary):
        self.name, self.binary, self.procs = name, binary, []

    def start(self):
        self.dir = tempfile.mkdtemp(prefix=f"bench-{self.name}-")
        ports = [free_port() for _ in range(3)]
        grpc = [free_port() for _ in range(3)]
        spec = ",".join(f"{i + 1}=127.0.0.1:{g}" for i, g in enumerate(grpc))
        for i in range(3):
            argv = [self.binary, "--node-id", str(i + 1), "--port", str(ports[i]), "--grpc-port", str(grpc[i]),
                    "--data-dir", os.path.join(self.dir, f"n{i + 1}"), "--cluster", spec]
            self.procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.port = ports[0]
        end = time.time() + 60
        while not all(cluster_info_ok(p) for p in ports):
            if time.time() > end:
                raise RuntimeError("cluster did not become ready")
            time.sleep(0.1)

    def stop(self):
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_benchmark(port, test, pipeline, requests, clients, cluster=False):
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-c", str(clients), "-n", str(requests), "-r", "100000",
         "-d", "3", "-P", str(pipeline), "-t", test, "--csv", "-q"] + (["--cluster"] if cluster else []),
        check=True, capture_output=True, text=True).stdout
    # In --cluster mode redis-benchmark first lists the masters it found: the CSV starts at its header.
    out = out[out.index('"test"'):]
    rows = list(csv.DictReader(io.StringIO(out)))
    # LRANGE_* tests print their LPUSH prefill first: take the row of the test itself.
    row = next(r for r in rows if r["test"].upper().startswith(test.upper()))
    return float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--regions", default="1")
    ap.add_argument("--tests", default="set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100",
                    help="redis-benchmark -t names, in order (lpush before rpop keeps the list non-empty)")
    ap.add_argument("--cluster", action="store_true",
                    help="also a 3-node redraft cluster on loopback (SET and GET only)")
    a = ap.parse_args()

    servers = []
    for n in a.regions.split(","):
        extra = [] if n == "1" else ["--regions", n]
        servers.append(Server(f"redraft-r{n}" if n != "1" else "redraft",
                              lambda p, d, extra=extra: [a.bin, "--port", str(p), "--data-dir", d] + extra,
                              "REDRAFT_READY"))
    servers.append(Server("redis-always", lambda p, d: [
        "redis-server", "--port", str(p), "--dir", d, "--save", "", "--appendonly", "yes",
        "--appendfsync", "always", "--daemonize", "no", "--logfile", ""]))
    servers.append(Server("redis-nopersist", lambda p, d: [
        "redis-server", "--port", str(p), "--dir", d, "--save", "", "--appendonly", "no",
        "--daemonize", "no", "--logfile", ""]))

    if a.cluster:
        servers.append(Cluster("redraft-cluster", a.bin))
    cluster_tests = {"set", "get"}

    cells = [(t, p) for p in (1, 16) for t in a.tests.split(",")]
    results = {}  # (server, test, pipeline) -> [(rps, p50, p99)]
    for s in servers:
        s.start()
    try:
        for run in range(a.runs):
            for test, pipe in cells:
                for s in servers:
                    is_cluster = getattr(s, "cluster", False)
                    if is_cluster and test not in cluster_tests:
                        continue
                    r = run_benchmark(s.port, test, pipe, a.requests, a.clients, cluster=is_cluster)
                    results.setdefault((s.name, test, pipe), []).append(r)
                    print(f"run {run + 1} {s.name:16} {test.upper():5} -P {pipe:<2} {r[0]:>10.0f} ops/s "
                          f"p50 {r[1]:.3f} ms p99 {r[2]:.3f} ms", file=sys.stderr, flush=True)
    finally:
        for s in servers:
            s.stop()

    def med(name, test, pipe, i):
        if (name, test, pipe) not in results:
            return float("nan")
        return statistics.median(x[i] for x in results[(name, test, pipe)])

    names = [s.name for s in servers]
    print(f"\n{a.clients} clients, 3-byte values, -r 100000, {a.requests} requests, median of {a.runs} interleaved runs\n")
    print("| command | -P | " + " | ".join(f"{n} ops/s (p50/p99 ms)" for n in names) +
          " | redraft / redis-always | redraft / redis-nopersist |" + (" cluster / redraft |" if a.cluster else ""))
    print("|---|---|" + "---|" * len(names) + "---|---|" + ("---|" if a.cluster else ""))
    for test, pipe in cells:
        cols = [f"{med(n, test, pipe, 0):,.0f} ({med(n, test, pipe, 1):.2f}/{med(n, test, pipe, 2):.2f})" for n in names]
        rr = med(names[0], test, pipe, 0)
        cols = [c if "nan" not in c else "-" for c in cols]
        extra = ""
        if a.cluster:
            cl = med("redraft-cluster", test, pipe, 0)
            extra = " -" if cl != cl else f" {cl / rr:.2f}x |"
            extra = extra if extra.endswith("|") else extra + " |"
        print(f"| {test.upper()} | {pipe} | " + " | ".join(cols) +
              f" | {rr / med('redis-always', test, pipe, 0):.2f}x | {rr / med('redis-nopersist', test, pipe, 0):.2f}x |" + extra)


if __name__ == "__main__":
    main()
