"""Hash commands, compared with redis-server 7.0.15 in RESP2 and RESP3."""

from helpers import BIG_N, rss_kb

def test_hash_basics(differ):
    differ.script([
        ["HSET", "h", "a", "1", "b", "2"],
        ["HSET", "h", "a", "3", "c", "4"],
        ["HGET", "h", "a"], ["HGET", "h", "zz"], ["HGET", "nokey", "a"],
        ["HLEN", "h"], ["HLEN", "nokey"],
        ["HEXISTS", "h", "a"], ["HEXISTS", "h", "x"],
        ["HMGET", "h", "a", "x", "b"], ["HMGET", "nokey", "a"],
        ["HDEL", "h", "a", "x"], ["HLEN", "h"],
        ["HSETNX", "h", "b", "9"], ["HSETNX", "h", "n", "9"], ["HGET", "h", "n"],
        ["HMSET", "h", "p", "q"],
        ["HSET", "h", "odd"], ["HSET", "h", "a", "1", "b"], ["HMSET", "h", "a"],
    ])
    differ.same("HGETALL", "h", order=False)
    differ.same("HKEYS", "h", order=False)
    differ.same("HVALS", "h", order=False)
    differ.same("HGETALL", "nokey")


def test_hash_empty_is_deleted_and_wrongtype(differ):
    differ.script([
        ["HSET", "h", "a", "1"], ["HDEL", "h", "a"], ["EXISTS", "h"], ["TYPE", "h"],
        ["SET", "s", "x"], ["HSET", "s", "a", "1"], ["HGET", "s", "a"], ["HGETALL", "s"],
        ["HSET", "h2", "f", "v"], ["GET", "h2"], ["TYPE", "h2"], ["SET", "h2", "now a string"],
        ["GET", "h2"], ["HGET", "h2", "f"], ["DEL", "h2"], ["HSET", "h2", "g", "1"], ["HGETALL", "h2"],
    ])


def test_hash_incr(differ):
    differ.script([
        ["HINCRBY", "h", "n", "5"], ["HINCRBY", "h", "n", "-7"], ["HINCRBY", "h", "n", "x"],
        ["HSET", "h", "s", "abc"], ["HINCRBY", "h", "s", "1"],
        ["HSET", "h", "big", "9223372036854775807"], ["HINCRBY", "h", "big", "1"],
        ["HINCRBYFLOAT", "h", "f", "1.5"], ["HINCRBYFLOAT", "h", "f", "0.1"],
        ["HINCRBYFLOAT", "h", "s", "1"], ["HINCRBYFLOAT", "h", "f", "abc"],
        ["HINCRBYFLOAT", "h", "f", "inf"], ["HINCRBYFLOAT", "h", "n", "2.5e3"],
    ])


def test_hash_ttl_survives_field_changes(differ):
    differ.script([
        ["HSET", "h", "a", "1"], ["EXPIRE", "h", "100"], ["HSET", "h", "b", "2"], ["TTL", "h"],
        ["HDEL", "h", "a"], ["TTL", "h"], ["HINCRBY", "h", "n", "1"], ["TTL", "h"],
        ["PERSIST", "h"], ["TTL", "h"], ["PEXPIRE", "h", "100000", "NX"], ["TTL", "h"],
        ["HDEL", "h", "b", "n"], ["TTL", "h"], ["EXISTS", "h"],
        ["HSET", "h", "x", "1"], ["EXPIRE", "h", "0"], ["EXISTS", "h"], ["HGET", "h", "x"],
    ])


def test_hash_expires(server, protocol):
    r = server.client(protocol=protocol)
    r.hset("h", mapping={f"f{i}": i for i in range(50)})
    r.pexpire("h", 50)
    import time
    deadline = time.monotonic() + 10
    while r.exists("h") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert r.exists("h") == 0 and r.hlen("h") == 0 and r.hgetall("h") == {}
    # A new hash under the same name starts empty: the old fields are gone.
    r.hset("h", "new", "1")
    assert r.hgetall("h") == {"new": "1"}


def test_hrandfield(differ, server, protocol):
    r = server.client(protocol=protocol)
    fields = {f"f{i}": str(i) for i in range(20)}
    r.hset("h", mapping=fields)
    for _ in range(20):
        assert r.hrandfield("h") in fields
    for count in (1, 5, 20, 25):
        got = r.hrandfield("h", count)
        assert len(got) == min(count, 20) and len(set(got)) == len(got) and set(got) <= set(fields)
    got = r.hrandfield("h", -30)
    assert len(got) == 30 and set(got) <= set(fields)
    pairs = r.hrandfield("h", 3, withvalues=True)
    flat = [x for p in pairs for x in p] if protocol == 3 else pairs
    assert len(flat) == 6
    for f, v in zip(flat[::2], flat[1::2]):
        assert fields[f] == v
    assert r.hrandfield("nokey") is None
    assert r.hrandfield("nokey", 3) == []
    differ.script([
        ["HRANDFIELD", "nokey"], ["HRANDFIELD", "nokey", "3"], ["HRANDFIELD", "nokey", "0"],
        ["HSET", "one", "f", "v"], ["HRANDFIELD", "one"], ["HRANDFIELD", "one", "1", "WITHVALUES"],
        ["HRANDFIELD", "one", "-2"], ["HRANDFIELD", "one", "-2", "WITHVALUES"],
        ["HRANDFIELD", "one", "0"], ["HRANDFIELD", "one", "x"], ["HRANDFIELD", "one", "1", "bad"],
        ["HRANDFIELD", "one", "1", "WITHVALUES", "extra"],
        ["SET", "s", "x"], ["HRANDFIELD", "s"],
    ])


def _full_hscan(r, key, **kw):
    """Every (field, value) of a full HSCAN iteration, as a list (repeats kept)."""
    seen, cursor, calls = [], 0, 0
    while True:
        cursor, items = r.hscan(key, cursor, **kw)
        seen.extend(items.items())
        calls += 1
        if cursor == 0:
            return seen, calls


def test_hscan(differ, server, protocol):
    r = server.client(protocol=protocol)
    fields = {f"field:{i}": str(i) for i in range(1000)}
    r.hset("h", mapping=fields)
    seen, calls = _full_hscan(r, "h", count=50)
    assert dict(seen) == fields and len(seen) == 1000 and calls >= 20
    seen, _ = _full_hscan(r, "h", match="field:1*", count=100)
    assert {f for f, _ in seen} == {f for f in fields if f.startswith("field:1")}
    differ.script([
        ["HSCAN", "nokey", "0"], ["HSET", "s", "a", "1"], ["HSCAN", "s", "abc"],
        ["HSCAN", "s", "0", "COUNT", "0"], ["HSCAN", "s", " 1"], ["HSCAN", "s", "1.5"], ["HSCAN", "s", "0", "COUNT", "x"],
        ["HSCAN", "s", "0", "MATCH"], ["HSCAN", "s", "0", "NOPE", "1"],
        ["HSCAN", "s", "0"], ["HSCAN", "s", "0", "MATCH", "a*", "COUNT", "10"],
        ["SET", "str", "x"], ["HSCAN", "str", "0"],
    ])


def test_hscan_cursor_is_read_like_strtoul(server):
    r = server.client(protocol=3)
    r.hset("h", "a", "1")
    # Redis accepts a signed cursor (strtoul wraps it); far past the end there is nothing left.
    assert r.execute_command("HSCAN", "h", "-1")[0] == 0
    assert r.execute_command("HSCAN", "h", "18446744073709551615")[0] == 0


def test_hscan_returns_stable_members_while_others_change(server):
    """Redis's guarantee: a field present for the whole iteration is returned at least once."""
    r = server.client(protocol=3)
    stable = {f"s{i}": "1" for i in range(500)}
    r.hset("h", mapping=stable)
    seen, cursor, i = set(), 0, 0
    while True:
        cursor, items = r.hscan("h", cursor, count=20)
        seen.update(items)
        # Another client adds and removes fields during the iteration.
        r.hset("h", mapping={f"t{i}-{j}": "x" for j in range(10)})
        r.hdel("h", *[f"t{i - 1}-{j}" for j in range(10)])
        i += 1
        if cursor == 0:
            break
    assert set(stable) <= seen


def test_hscan_cursor_survives_restart(make_server):
    srv = make_server()
    r = srv.client(protocol=3)
    fields = {f"f{i}": str(i) for i in range(300)}
    r.hset("h", mapping=fields)
    cursor, items = r.hscan("h", 0, count=100)
    seen = dict(items)
    srv.stop()
    srv.start()
    r = srv.client(protocol=3)
    while cursor != 0:
        cursor, items = r.hscan("h", cursor, count=100)
        seen.update(items)
    assert seen == fields


def test_big_hash_is_served_without_loading_it(make_server):
    """BIG_N fields (200,000 in CI): bounded operations stay bounded, DEL is one write, memory stays flat."""
    srv = make_server()
    r = srv.client(protocol=3)
    n, chunk = BIG_N, 5_000
    for start in range(0, n, chunk):
        r.hset("big", mapping={f"f{i:07d}": f"v{i}" for i in range(start, start + chunk)})
    assert r.hlen("big") == n
    assert r.hget("big", "f0123456") == "v123456"
    cursor, items = r.hscan("big", 0, count=10)
    assert cursor != 0 and 10 <= len(items) <= 12

    before = rss_kb(srv)
    for _ in range(50):
        r.hscan("big", 0, count=10)
        r.hlen("big")
        r.hrandfield("big")
    assert rss_kb(srv) - before < 64 * 1024, "bounded commands must not load the hash"
    assert r.delete("big") == 1
    assert r.exists("big") == 0 and r.hlen("big") == 0 and r.hget("big", "f0000001") is None
    r.hset("big", "x", "y")
    assert r.hgetall("big") == {"x": "y"}
