"""Durability: every acknowledged write survives `kill -9` and a restart on the same data dir.

Each test runs its own server (own data dir). Only writes that got a success reply are
expected; a write whose reply never came (connection killed) may or may not be there.
"""

import threading
import time

import redis

from helpers import wait_until

THREADS = 4
KEYS_PER_THREAD = 500  # 2000 keys in all
TTL_SECONDS = 3600


def mget_all(c, keys, batch=500):
    out = {}
    keys = list(keys)
    for i in range(0, len(keys), batch):
        chunk = keys[i:i + batch]
        out.update(zip(chunk, c.mget(chunk)))
    return out


def pttl_all(c, keys):
    with c.pipeline(transaction=False) as p:
        for k in keys:
            p.pttl(k)
        return dict(zip(keys, p.execute()))


class Writer(threading.Thread):
    """One client: unique keys (some with a TTL), a per-thread counter, a shared counter,
    one key overwritten again and again, and deletes of its own earlier keys."""

    def __init__(self, server, tid, n, protocol):
        super().__init__(daemon=True)
        self.server, self.tid, self.n, self.protocol = server, tid, n, protocol
        self.acked = {}          # key -> value (acknowledged SETs, minus acknowledged DELs)
        self.ttl_keys = set()    # acknowledged keys written with EX
        self.deleted = set()     # acknowledged deletes
        self.incrs = 0           # acknowledged INCRs of ctr:{tid}
        self.shared_incrs = 0    # acknowledged INCRs of ctr:shared
        self.last = None         # last acknowledged value of last:{tid}
        self.uncertain = []      # (op, key, value) whose reply never came
        self.error = None
        self.stop = threading.Event()

    def run(self):
        c = self.server.client(protocol=self.protocol, socket_timeout=30)
        op = None
        try:
            for i in range(self.n):
                if self.stop.is_set():
                    break
                key = f"dur:{self.tid}:{i}"
                value = f"value-{self.tid}-{i}-" + "x" * (i % 37)
                if i % 5 == 0:
                    op = ("SETEX", key, value)
                    assert c.set(key, value, ex=TTL_SECONDS) is True
                    self.ttl_keys.add(key)
                else:
                    op = ("SET", key, value)
                    assert c.set(key, value) is True
                self.acked[key] = value
                op = ("INCR", f"ctr:{self.tid}", None)
                assert c.incr(f"ctr:{self.tid}") == self.incrs + 1
                self.incrs += 1
                if i % 4 == 0:
                    op = ("INCR", "ctr:shared", None)
                    c.incr("ctr:shared")
                    self.shared_incrs += 1
                if i % 3 == 0:
                    op = ("SET", f"last:{self.tid}", str(i))
                    assert c.set(f"last:{self.tid}", str(i)) is True
                    self.last = str(i)
                if i % 10 == 9:
                    victim = f"dur:{self.tid}:{i - 7}"
                    op = ("DEL", victim, None)
                    assert c.delete(victim) == 1
                    self.acked.pop(victim)
                    self.ttl_keys.discard(victim)
                    self.deleted.add(victim)
                op = None
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            self.error = e
            if op is not None:
                self.uncertain.append(op)
        except Exception as e:  # a wrong reply: reported by the test
            self.error = e
        finally:
            c.close()


def start_writers(server, n, threads=THREADS):
    ws = [Writer(server, t, n, protocol=None if t % 2 == 0 else 2) for t in range(threads)]
    for w in ws:
        w.start()
    return ws


def verify(server, writers, in_flight_allowed=False):
    """Check the server's state against what the writers had acknowledged."""
    c = server.client(protocol=2, socket_timeout=60)
    try:
        expected, ttl_keys, deleted = {}, set(), set()
        for w in writers:
            expected.update(w.acked)
            ttl_keys |= w.ttl_keys
            deleted |= w.deleted
        uncertain_keys = {op[1] for w in writers for op in w.uncertain}

        got = mget_all(c, expected)
        missing = [k for k, v in expected.items() if got[k] is None and k not in uncertain_keys]
        wrong = [(k, got[k], v) for k, v in expected.items()
                 if got[k] is not None and got[k] != v and k not in uncertain_keys]
        assert not missing, f"{len(missing)} acknowledged keys lost, e.g. {missing[:10]}"
        assert not wrong, f"{len(wrong)} keys with a wrong value, e.g. {wrong[:5]}"

        resurrected = [k for k in deleted if c.exists(k) and k not in uncertain_keys]
        assert not resurrected, f"deleted keys came back: {resurrected[:10]}"

        ttls = pttl_all(c, sorted(expected))
        no_ttl = [k for k in ttl_keys if not (0 < ttls[k] <= TTL_SECONDS * 1000)]
        assert not no_ttl, f"keys lost their TTL: {[(k, ttls[k]) for k in no_ttl[:10]]}"
        got_ttl = [k for k in expected if k not in ttl_keys and ttls[k] != -1
                   and k not in uncertain_keys]
        assert not got_ttl, f"keys gained a TTL: {got_ttl[:10]}"

        shared_expected = 0
        shared_in_flight = 0
        for w in writers:
            ctr = c.get(f"ctr:{w.tid}")
            in_flight = sum(1 for op in w.uncertain if op[:2] == ("INCR", f"ctr:{w.tid}"))
            shared_in_flight += sum(1 for op in w.uncertain if op[:2] == ("INCR", "ctr:shared"))
            value = int(ctr) if ctr is not None else 0
            assert w.incrs <= value <= w.incrs + in_flight, \
                f"ctr:{w.tid} = {value}, acknowledged INCRs = {w.incrs} (+{in_flight} in flight)"
            shared_expected += w.shared_incrs
            last = c.get(f"last:{w.tid}")
            if not any(op[1] == f"last:{w.tid}" for op in w.uncertain):
                assert last == w.last, f"last:{w.tid} = {last!r}, last acknowledged {w.last!r}"
        shared = int(c.get("ctr:shared") or 0)
        assert shared_expected <= shared <= shared_expected + shared_in_flight, \
            f"ctr:shared = {shared}, acknowledged INCRs = {shared_expected}"
        if not in_flight_allowed:
            # Exactly what was acknowledged: the keys, the counters and the 'last' keys.
            n_last = sum(1 for w in writers if w.last is not None)
            n_ctr = sum(1 for w in writers if w.incrs) + (1 if shared_expected else 0)
            assert c.dbsize() == len(expected) + n_last + n_ctr
        return c.dbsize()
    finally:
        c.close()


def test_acknowledged_writes_survive_kill9(make_server):
    server = make_server()
    writers = start_writers(server, KEYS_PER_THREAD)
    for w in writers:
        w.join(timeout=150)
        assert not w.is_alive(), "writer did not finish in 150 s"
        assert w.error is None, f"writer {w.tid} failed: {w.error!r}"
    total = sum(len(w.acked) for w in writers)
    assert total == THREADS * (KEYS_PER_THREAD - KEYS_PER_THREAD // 10)
    size_before = verify(server, writers)

    server.kill9_and_restart()
    assert verify(server, writers) == size_before

    # replaying the same data again must not apply anything twice (INCR counters exact)
    server.kill9_and_restart()
    assert verify(server, writers) == size_before

    # a clean stop keeps everything as well
    server.stop_and_check()
    server.start()
    assert verify(server, writers) == size_before


def test_kill9_during_writes(make_server):
    server = make_server()
    writers = start_writers(server, 100_000)
    # let at least 1000 writes be acknowledged, then kill the server under load
    wait_until(lambda: sum(len(w.acked) for w in writers) >= 1000 or
               any(not w.is_alive() for w in writers), timeout=120,
               what="1000 acknowledged writes")
    assert all(w.is_alive() for w in writers), [w.error for w in writers]
    server.kill9()
    for w in writers:
        w.join(timeout=60)
        assert not w.is_alive()
        assert isinstance(w.error, (redis.ConnectionError, redis.TimeoutError, OSError)), \
            f"writer {w.tid} ended with {w.error!r}, expected a connection error from the kill"
    server.start()
    verify(server, writers, in_flight_allowed=True)
    # the restarted server takes new writes, and they survive another kill -9
    c = server.client()
    try:
        assert c.set("after-restart", "yes") is True
        assert c.incr("ctr:0") >= 1
        ctr0 = c.get("ctr:0")
    finally:
        c.close()
    server.kill9_and_restart()
    c = server.client()
    try:
        assert c.get("after-restart") == "yes"
        assert c.get("ctr:0") == ctr0
    finally:
        c.close()


def test_mutations_replay_exactly(make_server):
    """A sequence of non-idempotent writes gives the same state after kill -9 + restart."""
    server = make_server()
    c = server.client()
    try:
        for i in range(50):
            c.append("app", "ab")
            c.incrby("ib", 7)
            c.decr("dc")
            c.incrbyfloat("fl", "0.5")
            c.setrange("sr", i, chr(ord("a") + i % 26))
        c.set("gs", "0")
        for i in range(1, 21):
            assert c.getset("gs", str(i)) == str(i - 1)
        c.mset({"m1": "one", "m2": "two", "m3": "three"})
        c.set("gd", "gone")
        assert c.getdel("gd") == "gone"
        c.set("nx", "first")
        assert c.set("nx", "second", nx=True) is None
        assert c.set("xx-missing", "x", xx=True) is None
        c.set("p", "persist-me", ex=100)
        c.persist("p")
        c.set("ex", "v")
        ex_set_at = time.monotonic()
        c.expire("ex", 500, nx=True)
        c.expire("ex", 9000, nx=True)  # no effect
        c.set("unl", "x")
        c.unlink("unl")
        expected = {
            "app": "ab" * 50, "ib": str(7 * 50), "dc": "-50", "fl": "25",
            "sr": "".join(chr(ord("a") + i % 26) for i in range(50)), "gs": "20",
            "m1": "one", "m2": "two", "m3": "three", "nx": "first", "p": "persist-me",
            "ex": "v",
        }
        assert mget_all(c, expected) == expected
        assert c.dbsize() == len(expected)
    finally:
        c.close()

    for _ in range(2):
        server.kill9_and_restart()
        c = server.client()
        try:
            assert mget_all(c, expected) == expected
            assert c.dbsize() == len(expected)
            assert c.exists("gd", "xx-missing", "unl") == 0
            assert c.ttl("p") == -1
            # The TTL kept counting down through the restarts (1 s of rounding slack).
            elapsed = time.monotonic() - ex_set_at
            assert 500 - elapsed - 1 <= c.ttl("ex") <= 500
        finally:
            c.close()


def test_expiry_and_flush_survive_restart(make_server):
    server = make_server()
    c = server.client()
    try:
        for i in range(100):
            c.set(f"old:{i}", "x")
        assert c.flushall() is True
        c.set("short", "v", px=300)
        c.set("long", "v", ex=TTL_SECONDS)
        c.set("at", "v", exat=int(time.time()) + 1000)
        c.set("plain", "v")
        set_at = time.monotonic()
    finally:
        c.close()
    server.kill9()
    # make sure the short TTL has passed in wall-clock time before the server is back
    time.sleep(max(0.0, 0.6 - (time.monotonic() - set_at)))
    server.start()
    c = server.client()
    try:
        assert c.get("short") is None, "an expired key came back after restart"
        assert c.exists("short") == 0
        assert TTL_SECONDS - 60 <= c.ttl("long") <= TTL_SECONDS
        assert 940 <= c.ttl("at") <= 1000
        assert c.ttl("plain") == -1
        assert c.exists(*[f"old:{i}" for i in range(100)]) == 0
        wait_until(lambda: c.dbsize() == 3, timeout=10, what="DBSIZE 3 (flushed, expired)")
    finally:
        c.close()


def test_clean_shutdown_keeps_data(make_server):
    server = make_server()
    c = server.client()
    try:
        c.mset({f"k{i}": f"v{i}" for i in range(300)})
        c.set("t", "v", ex=TTL_SECONDS)
    finally:
        c.close()
    server.stop_and_check()
    server.start()
    c = server.client()
    try:
        assert c.mget([f"k{i}" for i in range(300)]) == [f"v{i}" for i in range(300)]
        assert 0 < c.ttl("t") <= TTL_SECONDS
        assert c.dbsize() == 301
    finally:
        c.close()


def test_concurrent_writes_share_entries_and_wal_syncs(make_server):
    """Group commit: writes of concurrent clients are merged into shared Raft entries and made
    durable by shared WAL syncs (INFO persistence counters), not one fsync per write."""
    server = make_server()
    n_threads, per_thread = 16, 100
    errors = []

    def writer(t):
        c = server.client()
        try:
            for i in range(per_thread):
                assert c.set(f"gc:{t}:{i}", "v") is True
        except Exception as e:  # kept and asserted below
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    c = server.client()
    try:
        info = c.info("persistence")
        assert c.dbsize() == n_threads * per_thread
    finally:
        c.close()
    writes = n_threads * per_thread
    assert info["raft_commands_proposed"] >= writes
    # Fewer entries than writes: concurrent clients shared entries...
    assert info["raft_entries_proposed"] < writes, info
    # ...and fewer fsyncs than entries+writes would need one by one.
    assert info["raft_wal_syncs"] < writes, info
