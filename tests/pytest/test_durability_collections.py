"""Durability of collections and transactions: no acknowledged HSET/HINCRBY, SADD/SREM,
RPUSH/LPOP, ZADD/ZINCRBY or MULTI/EXEC is lost when the server is killed with `kill -9` in the
middle of a concurrent run, restarted on the same data dir, and killed again.

Each writer thread keeps a model of what the server ACKNOWLEDGED. It stops at its first
connection error; the command then in flight (its reply never came) may or may not have been
applied, and the checks accept both outcomes for it, but a transaction is all or nothing.
"""

import threading

import pytest
import redis

from helpers import wait_until

THREADS = 6
# Writes acknowledged by every writer before the kill (each iteration is 6 to 9 commands).
MIN_ITERATIONS = 400
CONN_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


class Writer(threading.Thread):
    """One client (RESP3, no retries) writing its own keys and two shared counters.

    Per iteration i: HSET h f<i>, HINCRBY h n, SADD s m<i> (and SREM of an earlier member),
    RPUSH l <i> (and LPOP now and then), ZADD z m<i>, ZINCRBY z ctr, one MULTI/EXEC
    transaction over three keys of one hash tag, and HINCRBY/ZINCRBY of the shared keys.
    """

    def __init__(self, server, name, limit=None):
        super().__init__(daemon=True)
        self.server, self.name_, self.limit = server, name, limit
        self.hkey, self.skey, self.lkey, self.zkey = (f"{p}:{name}" for p in "hslz")
        tag = "{tx:" + name + "}"
        self.txh, self.txs, self.txz = f"{tag}h", f"{tag}s", f"{tag}z"
        # The model: only acknowledged effects.
        self.hash = {}           # h: field -> value (HSET)
        self.hincr = 0           # h: field n (HINCRBY 1 each)
        self.members = set()     # s: added and not removed
        self.removed = set()     # s: acknowledged SREMs
        self.list = []           # l: this writer is its only writer
        self.zset = {}           # z: member -> score (ZADD)
        self.zincr = 0           # z: member ctr (ZINCRBY 1 each)
        self.shared_h = 0        # HINCRBY h:shared all 1
        self.shared_z = 0        # ZINCRBY z:shared all 1
        self.tx = []             # iterations whose transaction was acknowledged
        self.iterations = 0
        self.uncertain = None    # the command whose reply never came
        self.error = None
        self.stop = threading.Event()

    def keys(self):
        return [self.hkey, self.skey, self.lkey, self.zkey, self.txh, self.txs, self.txz]

    def run(self):
        c = self.server.client(protocol=3, socket_timeout=30)
        op = None
        try:
            i = 0
            while not self.stop.is_set() and (self.limit is None or i < self.limit):
                field, value = f"f{i}", f"v{i}-" + "x" * (i % 23)
                op = ("HSET", field, value)
                assert c.hset(self.hkey, field, value) == 1
                self.hash[field] = value
                op = ("HINCRBY",)
                assert c.hincrby(self.hkey, "n", 1) == self.hincr + 1
                self.hincr += 1

                op = ("SADD", f"m{i}")
                assert c.sadd(self.skey, f"m{i}") == 1
                self.members.add(f"m{i}")
                if i % 3 == 2:
                    op = ("SREM", f"m{i - 1}")
                    assert c.srem(self.skey, f"m{i - 1}") == 1
                    self.members.discard(f"m{i - 1}")
                    self.removed.add(f"m{i - 1}")

                op = ("RPUSH", str(i))
                assert c.rpush(self.lkey, str(i)) == len(self.list) + 1
                self.list.append(str(i))
                if i % 4 == 3:
                    op = ("LPOP",)
                    assert c.lpop(self.lkey) == self.list[0]
                    self.list.pop(0)

                op = ("ZADD", f"m{i}", float(i))
                assert c.zadd(self.zkey, {f"m{i}": i}) == 1
                self.zset[f"m{i}"] = float(i)
                op = ("ZINCRBY",)
                assert c.zincrby(self.zkey, 1, "ctr") == self.zincr + 1
                self.zincr += 1

                op = ("TX", i)
                n = len(self.tx) + 1
                with c.pipeline(transaction=True) as p:
                    p.hincrby(self.txh, "n", 1)
                    p.hset(self.txh, f"k{i}", str(i))
                    p.sadd(self.txs, f"m{i}")
                    p.zincrby(self.txz, 1, "n")
                    assert p.execute() == [n, 1, 1, float(n)]
                self.tx.append(i)

                if i % 2 == 0:
                    op = ("SHARED_H",)
                    c.hincrby("h:shared", "all", 1)
                    self.shared_h += 1
                else:
                    op = ("SHARED_Z",)
                    c.zincrby("z:shared", 1, "all")
                    self.shared_z += 1
                op = None
                i += 1
                self.iterations = i
        except CONN_ERRORS as e:
            self.error = e
            self.uncertain = op
        except Exception as e:  # a wrong reply: reported by the test
            self.error = e
            self.uncertain = op
        finally:
            c.close()


def _one_of(got, allowed, what):
    assert got in allowed, \
        f"{what}: got {got!r:.600}, the acknowledged writes allow only {allowed!r:.1200}"


def verify(server, writers):
    """Check every writer's keys against its model; returns the whole state (a dict)."""
    c = server.client(protocol=3, socket_timeout=60)
    state = {}
    try:
        for w in writers:
            u = w.uncertain or ("",)

            # hash: the HSET fields with their values, and the exact HINCRBY count
            h = c.hgetall(w.hkey)
            state[w.hkey] = dict(h)
            n = int(h.pop("n", 0))
            _one_of(n, {w.hincr, w.hincr + (u[0] == "HINCRBY")}, f"HINCRBY {w.hkey} n")
            expected = dict(w.hash)
            if u[0] == "HSET" and u[1] in h:
                expected[u[1]] = u[2]
            lost = sorted(set(w.hash) - set(h))
            assert not lost, f"{w.hkey}: {len(lost)} acknowledged HSET fields lost, e.g. {lost[:5]}"
            assert h == expected, f"{w.hkey}: fields differ from the acknowledged HSETs"

            # set: added and not removed; a removed member must not come back
            s = c.smembers(w.skey)
            state[w.skey] = set(s)
            allowed = [w.members]
            if u[0] == "SADD":
                allowed.append(w.members | {u[1]})
            if u[0] == "SREM":
                allowed.append(w.members - {u[1]})
            lost = sorted(w.members - s - ({u[1]} if u[0] == "SREM" else set()))
            assert not lost, f"{w.skey}: {len(lost)} acknowledged SADD members lost, e.g. {lost[:5]}"
            back = sorted(s & w.removed)
            assert not back, f"{w.skey}: members removed by an acknowledged SREM came back: {back[:5]}"
            _one_of(s, allowed, w.skey)

            # list: exactly the acknowledged RPUSHes minus the acknowledged LPOPs, in order
            lst = c.lrange(w.lkey, 0, -1)
            state[w.lkey] = lst
            allowed = [w.list]
            if u[0] == "RPUSH":
                allowed.append(w.list + [u[1]])
            if u[0] == "LPOP":
                allowed.append(w.list[1:])
            _one_of(lst, allowed, w.lkey)

            # zset: ZADD members with their scores, ctr = the exact ZINCRBY count
            z = dict(c.zrange(w.zkey, 0, -1, withscores=True))
            state[w.zkey] = dict(z)
            ctr = z.pop("ctr", 0.0)
            _one_of(ctr, {float(w.zincr), float(w.zincr + (u[0] == "ZINCRBY"))}, f"ZINCRBY {w.zkey} ctr")
            expected = dict(w.zset)
            if u[0] == "ZADD" and u[1] in z:
                expected[u[1]] = u[2]
            lost = sorted(set(w.zset) - set(z))
            assert not lost, f"{w.zkey}: {len(lost)} acknowledged ZADD members lost, e.g. {lost[:5]}"
            assert z == expected, f"{w.zkey}: members or scores differ from the acknowledged ZADDs"

            # transactions: every acknowledged one whole; the one in flight whole or absent
            th = c.hgetall(w.txh)
            ts = c.smembers(w.txs)
            tz = dict(c.zrange(w.txz, 0, -1, withscores=True))
            state[w.txh], state[w.txs], state[w.txz] = dict(th), set(ts), dict(tz)
            committed = list(w.tx)
            if u[0] == "TX":
                i = u[1]
                in_h, in_s = f"k{i}" in th, f"m{i}" in ts
                assert in_h == in_s, \
                    f"transaction {i} of {w.name_} half applied: HSET {in_h}, SADD {in_s}"
                if in_h:
                    committed.append(i)
            for i in w.tx:
                assert th.get(f"k{i}") == str(i) and f"m{i}" in ts, \
                    f"acknowledged transaction {i} of {w.name_} lost: " \
                    f"HGET k{i} = {th.get(f'k{i}')!r}, SISMEMBER m{i} = {f'm{i}' in ts}"
            hn, zn = int(th.pop("n", 0)), tz.pop("n", 0.0)
            assert hn == len(committed), \
                f"HINCRBY {w.txh} n = {hn}, but {len(committed)} transactions committed"
            assert zn == float(len(committed)), \
                f"ZINCRBY {w.txz} n = {zn}, but {len(committed)} transactions committed"
            assert th == {f"k{i}": str(i) for i in committed}
            assert ts == {f"m{i}" for i in committed}
            assert tz == {}

        # the shared counters: all acknowledged increments, plus at most the ones in flight
        for key, kind, attr in [("h:shared", "SHARED_H", "shared_h"),
                                ("z:shared", "SHARED_Z", "shared_z")]:
            acked = sum(getattr(w, attr) for w in writers)
            in_flight = sum(1 for w in writers if w.uncertain and w.uncertain[0] == kind)
            got = c.hget(key, "all") if key[0] == "h" else c.zscore(key, "all")
            got = int(float(got)) if got is not None else 0
            state[key] = got
            assert acked <= got <= acked + in_flight, \
                f"{key} all = {got}: {acked} acknowledged increments (+{in_flight} in flight)"

        # nothing else: every key on the server is one of these
        keys = [k for w in writers for k in w.keys()] + ["h:shared", "z:shared"]
        # (one EXISTS per key: with --regions they are not all in one region)
        assert c.dbsize() == sum(c.exists(k) for k in keys), "keys nobody wrote"
        return state
    finally:
        c.close()


def run_writers(server, names, limit=None):
    ws = [Writer(server, name, limit) for name in names]
    for w in ws:
        w.start()
    return ws


@pytest.mark.parametrize("regions", [1, 4], ids=["1-region", "4-regions"])
def test_collections_and_transactions_survive_kill9(make_server, regions):
    server = make_server(extra_args=["--regions", str(regions)])
    writers = run_writers(server, [f"w{t}" for t in range(THREADS)])
    wait_until(lambda: all(w.iterations >= MIN_ITERATIONS for w in writers) or
               any(not w.is_alive() for w in writers), timeout=60,
               what=f"{MIN_ITERATIONS} acknowledged iterations per writer")
    assert all(w.is_alive() for w in writers), [(w.name_, w.error) for w in writers]
    server.kill9()
    for w in writers:
        w.join(timeout=60)
        assert not w.is_alive(), f"writer {w.name_} still running 60 s after the kill"
        assert isinstance(w.error, CONN_ERRORS), \
            f"writer {w.name_} ended with {w.error!r} during {w.uncertain!r}, " \
            f"expected a connection error from the kill"
        assert len(w.tx) >= MIN_ITERATIONS
    server.start()
    state = verify(server, writers)

    # The restarted server takes new writes; acknowledged just before another kill -9, they
    # are there after it, and the state written before the first kill is exactly the same.
    more = run_writers(server, [f"after{t}" for t in range(2)], limit=20)
    for w in more:
        w.join(timeout=60)
        assert not w.is_alive() and w.error is None, (w.name_, w.error, w.uncertain)
        assert w.iterations == 20
    # the shared counters moved on: the old writers' check must include the new increments
    for w in more:
        writers.append(w)
    state_after = verify(server, writers)
    server.kill9_and_restart()
    assert verify(server, writers) == state_after
    for key, value in state.items():
        if key not in ("h:shared", "z:shared"):
            assert state_after[key] == value, f"{key} changed between restarts"
    server.kill9_and_restart()
    assert verify(server, writers) == state_after
