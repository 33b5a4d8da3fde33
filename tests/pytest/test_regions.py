"""`--regions N`: the slot space split into N contiguous regions ([i*16384/N, (i+1)*16384/N)),
each its own Raft group in the one process. Multi-key commands must stay inside one region
(else CROSSSLOT, with no partial effect); node-wide commands (DBSIZE, FLUSHALL, INFO keyspace)
see every region; the region count is fixed when the data dir is created."""

import pytest
import redis

from helpers import SLOTS, assert_error, key_in_slot, region_bounds, wait_until

CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"


def region_keys(n, per_region=2):
    """per_region keys in each region of `--regions n`, all in different slots: the first at
    the region's first slot, the last at its last slot, others in between."""
    out = []
    for start, end in region_bounds(n):
        slots = [start, end - 1] + [start + (end - start) * j // per_region
                                    for j in range(1, per_region - 1)]
        out.append([key_in_slot(s) for s in slots[:per_region]])
    return out


def start4(make_server):
    return make_server(extra_args=["--regions", "4"])


def assert_crossslot(c, *args):
    assert_error(lambda: c.execute_command(*args), CROSSSLOT)


@pytest.mark.parametrize("protocol", [3, 2], ids=["resp3", "resp2"])
def test_multikey_across_regions_is_crossslot(make_server, protocol):
    srv = start4(make_server)
    c = srv.client(protocol=protocol)
    regions = region_keys(4)
    for a, b in [(0, 1), (0, 3), (1, 2), (2, 3)]:
        ka, kb = regions[a][0], regions[b][-1]
        assert_crossslot(c, "MSET", ka, "1", kb, "2")
        assert c.get(ka) is None and c.get(kb) is None, "a refused MSET wrote something"
        assert c.set(ka, "a") is True and c.set(kb, "b") is True
        assert_crossslot(c, "MGET", ka, kb)
        assert_crossslot(c, "EXISTS", ka, kb)
        assert_crossslot(c, "DEL", ka, kb)
        assert_crossslot(c, "UNLINK", kb, ka)
        assert_crossslot(c, "MSET", ka, "x", ka, "y", kb, "z")
        # nothing was deleted or overwritten by the refused commands
        assert (c.get(ka), c.get(kb)) == ("a", "b")
        assert c.delete(ka) == 1 and c.delete(kb) == 1
    c.close()


def test_crossslot_with_repeated_and_many_keys(make_server):
    srv = start4(make_server)
    c = srv.client()
    r0, r1 = region_keys(4)[0], region_keys(4)[1]
    # the odd key out may come anywhere in the argument list
    for args in (["MGET", r0[0], r0[0], r0[1], r1[0]],
                 ["MGET", r1[0], r0[0], r0[1]],
                 ["EXISTS", r0[0], r0[1], r0[0], r1[1], r0[0]]):
        assert_crossslot(c, *args)
    c.close()


def test_multikey_within_one_region(make_server):
    srv = start4(make_server)
    c = srv.client()
    for keys in region_keys(4, per_region=3):
        assert len({redis.crc.key_slot(k.encode()) for k in keys}) == 3  # different slots
        assert c.mset({k: f"v-{k}" for k in keys}) is True
        assert c.mget(keys) == [f"v-{k}" for k in keys]
        assert c.exists(*keys, keys[0]) == 4
        assert c.unlink(keys[0]) == 1
        assert c.delete(*keys) == 2
        assert c.mget(keys) == [None, None, None]
    c.close()


def test_region_boundaries_are_exact(make_server):
    """--regions 3 does not divide 16384: regions are [0,5461), [5461,10922), [10922,16384)."""
    srv = make_server(extra_args=["--regions", "3"])
    assert region_bounds(3) == [(0, 5461), (5461, 10922), (10922, 16384)]
    c = srv.client()
    k = key_in_slot
    for a, b in [(0, 5460), (5461, 10921), (10922, 16383), (1, 5459)]:
        assert c.mset({k(a): "1", k(b): "2"}) is True, (a, b)
        assert c.mget(k(a), k(b)) == ["1", "2"]
    for a, b in [(5460, 5461), (10921, 10922), (0, 16383), (0, 10922)]:
        assert_crossslot(c, "MGET", k(a), k(b))
        assert_crossslot(c, "DEL", k(b), k(a))
    c.close()


def test_dbsize_flush_and_keyspace_span_regions(make_server):
    srv = start4(make_server)
    c = srv.client()
    keys = [k for region in region_keys(4, per_region=3) for k in region]
    for i, key in enumerate(keys):
        assert c.set(key, "v", ex=1000 if i % 2 else None) is True
    assert c.dbsize() == 12
    db0 = c.info("keyspace")["db0"]
    assert (db0["keys"], db0["expires"]) == (12, 6)
    for key in keys:
        assert c.execute_command("CLUSTER", "COUNTKEYSINSLOT",
                                 redis.crc.key_slot(key.encode())) == 1
        assert c.execute_command("CLUSTER", "GETKEYSINSLOT",
                                 redis.crc.key_slot(key.encode()), 10) == [key]
    assert c.flushall() is True
    assert c.dbsize() == 0
    assert c.info("keyspace") == {}
    assert c.mget(keys[:3]) == [None] * 3
    assert c.get(keys[-1]) is None
    for key in keys:
        assert c.set(key, "again") is True
    assert c.dbsize() == 12
    assert c.flushdb() is True
    assert c.dbsize() == 0
    assert all(c.get(k) is None for k in keys)
    c.close()


def test_active_expiry_in_every_region(make_server):
    srv = start4(make_server)
    c = srv.client()
    keys = [k for region in region_keys(4) for k in region]
    for key in keys:
        assert c.set(key, "v", px=150) is True
    assert c.set("persistent", "p") is True
    # Without touching the keys: the active expiry of each region must remove them.
    wait_until(lambda: c.dbsize() == 1, timeout=10, what="every region's keys to expire")
    assert c.get("persistent") == "p"
    c.close()


def test_restart_keeps_data_and_region_count(make_server):
    srv = start4(make_server)
    c = srv.client()
    regions = region_keys(4)
    for i, keys in enumerate(regions):
        assert c.mset({k: f"r{i}" for k in keys}) is True
    assert c.incr(regions[2][0] + ":ctr") == 1
    c.close()

    # 1. clean restart without --regions: the recorded count (4) is used
    srv.stop_and_check()
    srv.extra_args = []
    srv.start()
    c = srv.client()
    assert c.dbsize() == 9
    for i, keys in enumerate(regions):
        assert c.mget(keys) == [f"r{i}"] * len(keys)
    assert_crossslot(c, "MGET", regions[0][0], regions[1][0])
    assert_crossslot(c, "MGET", regions[2][1], regions[3][0])
    c.close()

    # 2. kill -9 and restart with the same --regions 4
    srv.kill9()
    srv.extra_args = ["--regions", "4"]
    srv.start()
    c = srv.client()
    assert c.dbsize() == 9
    assert c.incr(regions[2][0] + ":ctr") == 2
    for i, keys in enumerate(regions):
        assert c.mget(keys) == [f"r{i}"] * len(keys)
    assert_crossslot(c, "DEL", regions[3][1], regions[0][1])
    c.close()


@pytest.mark.parametrize("created, reopened", [(4, 2), (4, 1), (4, 8), (None, 4), (1, 2)],
                         ids=["4-then-2", "4-then-1", "4-then-8", "default-then-4", "1-then-2"])
def test_restart_with_a_different_region_count_fails(make_server, created, reopened):
    srv = make_server(extra_args=["--regions", str(created)] if created else [])
    c = srv.client()
    assert c.set("survivor", "yes") is True
    c.close()
    srv.stop_and_check()

    srv.extra_args = ["--regions", str(reopened)]
    code, out, err = srv.run_to_exit()
    assert code > 0, f"started with --regions {reopened} on a {created or 1}-region data dir"
    assert "REDRAFT_READY" not in out
    assert err.strip(), "no message on stderr"
    assert "regions" in err.lower(), err

    # the refused start changed nothing: the original count still opens, with the data
    srv.extra_args = ["--regions", str(created)] if created else []
    srv.start()
    c = srv.client()
    assert c.get("survivor") == "yes"
    assert c.dbsize() == 1
    c.close()


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "99999"])
def test_invalid_region_count_is_refused_and_leaves_the_dir_usable(make_server, bad):
    srv = make_server(extra_args=["--regions", bad], start=False)
    code, out, err = srv.run_to_exit()
    assert code > 0, f"started with --regions {bad}"
    assert "REDRAFT_READY" not in out
    assert err.strip(), "no message on stderr"
    # A refused start must not record anything that keeps the data dir from opening later.
    srv.extra_args = ["--regions", "4"]
    srv.start()
    c = srv.client()
    assert c.set(key_in_slot(0), "a") is True
    assert_crossslot(c, "MGET", key_in_slot(0), key_in_slot(SLOTS - 1))
    c.close()


def test_default_single_region_accepts_any_keys(r):
    keys = [key_in_slot(s) for s in (0, 4095, 4096, 8191, 8192, 12288, 16383)]
    assert r.mset({k: k for k in keys}) is True
    assert r.mget(keys) == keys
    assert r.exists(*keys) == len(keys)
    assert r.delete(*keys[:3]) == 3
    assert r.unlink(*keys) == 4
    assert r.dbsize() == 0
