"""Key-space commands and expiry through redis-py, in RESP3 (redis-py's default) and RESP2.

Expected replies and error texts are Redis 7.0.15's.
"""

import time

import pytest

from helpers import assert_error, wait_until

INT64_MAX = 2**63 - 1


def wrong_args(cmd):
    return f"ERR wrong number of arguments for '{cmd}' command"


NOT_INT = "ERR value is not an integer or out of range"


# --------------------------------------------------------------------- DEL / UNLINK / EXISTS
@pytest.mark.parametrize("cmd", ["delete", "unlink"])
def test_del_unlink(r, cmd):
    r.mset({"a": "1", "b": "2", "c": "3"})
    fn = getattr(r, cmd)
    assert fn("missing") == 0
    assert fn("a", "missing", "b") == 2
    assert r.exists("a", "b", "c") == 1
    assert fn("c", "c") == 1  # a repeated key counts once
    assert r.dbsize() == 0


def test_del_removes_ttl_state(r):
    r.set("k", "v", ex=100)
    assert r.delete("k") == 1
    r.set("k", "v2")
    assert r.ttl("k") == -1


def test_exists_counts_repeats(r):
    r.set("a", "1")
    assert r.exists("a") == 1
    assert r.exists("missing") == 0
    assert r.exists("a", "a", "missing", "a") == 3


def test_type(r):
    r.set("s", "v")
    assert r.type("s") == "string"
    r.incr("n")
    assert r.type("n") == "string"
    assert r.type("missing") == "none"


@pytest.mark.parametrize("args,err", [
    (["DEL"], wrong_args("del")),
    (["UNLINK"], wrong_args("unlink")),
    (["EXISTS"], wrong_args("exists")),
    (["TYPE"], wrong_args("type")),
    (["TYPE", "a", "b"], wrong_args("type")),
    (["TTL"], wrong_args("ttl")),
    (["PTTL", "a", "b"], wrong_args("pttl")),
    (["PERSIST"], wrong_args("persist")),
    (["EXPIRE", "k"], wrong_args("expire")),
    (["PEXPIREAT", "k"], wrong_args("pexpireat")),
    (["DBSIZE", "x"], wrong_args("dbsize")),
    (["FLUSHALL", "foo"], "ERR syntax error"),
    (["FLUSHDB", "ASYNC", "SYNC"], "ERR syntax error"),
])
def test_key_command_errors(r, args, err):
    r.set("k", "v")
    assert_error(lambda: r.execute_command(*args), err)
    assert r.get("k") == "v"


# ------------------------------------------------------------------------------ TTL / PTTL
def test_ttl_pttl_missing_and_persistent(r):
    assert r.ttl("missing") == -2
    assert r.pttl("missing") == -2
    r.set("k", "v")
    assert r.ttl("k") == -1
    assert r.pttl("k") == -1


def test_expire_and_ttl(r):
    r.set("k", "v")
    assert r.expire("k", 100) is True
    assert 99 <= r.ttl("k") <= 100
    assert 99_000 <= r.pttl("k") <= 100_000
    assert r.expire("missing", 100) is False
    assert r.exists("missing") == 0


def test_pexpire(r):
    r.set("k", "v")
    assert r.pexpire("k", 123_456) is True
    assert 122_000 <= r.pttl("k") <= 123_456
    assert r.ttl("k") in (122, 123)


def test_ttl_rounds_to_nearest_second(r):
    r.set("k", "v")
    # PEXPIRE and TTL in one pipeline: one round trip, so the rounding has ~400 ms of slack.
    p = r.pipeline(transaction=False)
    p.pexpire("k", 1900)
    p.ttl("k")
    assert p.execute()[1] == 2  # Redis rounds (ttl + 500) / 1000
    p = r.pipeline(transaction=False)
    p.pexpire("k", 1400)
    p.ttl("k")
    assert p.execute()[1] == 1


def test_expireat_pexpireat(r):
    r.set("k", "v")
    at = int(time.time()) + 1000
    assert r.expireat("k", at) is True
    assert 998 <= r.ttl("k") <= 1000
    at_ms = int(time.time() * 1000) + 500_000
    assert r.pexpireat("k", at_ms) is True
    assert 498_000 <= r.pttl("k") <= 500_000
    assert r.expireat("missing", at) is False


@pytest.mark.parametrize("args", [
    ["EXPIRE", "k", "-1"],
    ["EXPIRE", "k", "0"],
    ["PEXPIRE", "k", "-100"],
    ["EXPIREAT", "k", "1"],
    ["PEXPIREAT", "k", "1000"],
    ["EXPIREAT", "k", "-5"],
])
def test_expire_in_the_past_deletes(r, args):
    r.set("k", "v")
    assert r.execute_command(*args) == 1
    assert r.exists("k") == 0
    assert r.get("k") is None
    assert r.ttl("k") == -2


def test_expire_nx_xx(r):
    r.set("k", "v")
    assert r.expire("k", 100, xx=True) is False  # no TTL yet
    assert r.ttl("k") == -1
    assert r.expire("k", 100, nx=True) is True
    assert r.expire("k", 200, nx=True) is False  # already has one
    assert 99 <= r.ttl("k") <= 100
    assert r.expire("k", 200, xx=True) is True
    assert 199 <= r.ttl("k") <= 200
    assert r.expire("missing", 10, nx=True) is False


def test_expire_gt_lt(r):
    r.set("k", "v")
    # a key without TTL counts as an infinite TTL
    assert r.expire("k", 100, gt=True) is False
    assert r.ttl("k") == -1
    assert r.expire("k", 100, lt=True) is True
    assert r.expire("k", 50, lt=True) is True
    assert r.expire("k", 60, lt=True) is False
    assert 49 <= r.ttl("k") <= 50
    assert r.expire("k", 40, gt=True) is False
    assert r.expire("k", 60, gt=True) is True
    assert 59 <= r.ttl("k") <= 60
    assert r.pexpire("k", 70_000, gt=True) is True
    assert r.pexpire("k", 65_000, gt=True) is False
    at = int(time.time()) + 30
    assert r.expireat("k", at, lt=True) is True
    assert r.expireat("k", at + 100, lt=True) is False
    assert r.pexpireat("k", (at + 100) * 1000, gt=True) is True
    assert 128 <= r.ttl("k") <= 130


def test_expire_xx_gt_combined(r):
    r.set("k", "v")
    assert r.execute_command("EXPIRE", "k", "100", "XX", "GT") == 0
    r.expire("k", 50)
    assert r.execute_command("EXPIRE", "k", "100", "XX", "GT") == 1
    assert 99 <= r.ttl("k") <= 100
    assert r.execute_command("EXPIRE", "k", "10", "nx", "NX") == 0  # repeated, case-insensitive


@pytest.mark.parametrize("args,err", [
    (["EXPIRE", "k", "10", "NX", "XX"],
     "ERR NX and XX, GT or LT options at the same time are not compatible"),
    (["EXPIRE", "k", "10", "NX", "GT"],
     "ERR NX and XX, GT or LT options at the same time are not compatible"),
    (["PEXPIRE", "k", "10", "LT", "NX"],
     "ERR NX and XX, GT or LT options at the same time are not compatible"),
    (["EXPIRE", "k", "10", "GT", "LT"],
     "ERR GT and LT options at the same time are not compatible"),
    (["EXPIREAT", "k", "10", "FOO"], "ERR Unsupported option FOO"),
    (["EXPIRE", "k", "abc"], NOT_INT),
    (["EXPIRE", "k", "1.5"], NOT_INT),
    (["PEXPIREAT", "k", ""], NOT_INT),
    (["EXPIRE", "k", str(INT64_MAX)], "ERR invalid expire time in 'expire' command"),
    (["EXPIRE", "k", str(-(2**63))], "ERR invalid expire time in 'expire' command"),
    (["PEXPIRE", "k", str(INT64_MAX)], "ERR invalid expire time in 'pexpire' command"),
    (["EXPIREAT", "k", str(INT64_MAX)], "ERR invalid expire time in 'expireat' command"),
])
def test_expire_errors(r, args, err):
    r.set("k", "v")
    assert_error(lambda: r.execute_command(*args), err)
    assert r.ttl("k") == -1
    assert r.get("k") == "v"


def test_persist(r):
    r.set("k", "v", ex=100)
    assert r.persist("k") is True
    assert r.ttl("k") == -1
    assert r.persist("k") is False
    assert r.persist("missing") is False
    assert r.get("k") == "v"


# --------------------------------------------------------------------------- expiry in action
def test_passive_expiry(r):
    r.set("k", "v", px=100)
    r.set("keep", "v")
    assert r.get("k") == "v"
    time.sleep(0.3)
    assert r.get("k") is None
    assert r.exists("k", "keep") == 1
    assert r.ttl("k") == -2
    assert r.pttl("k") == -2
    assert r.type("k") == "none"
    assert r.strlen("k") == 0
    assert r.persist("k") is False


def test_expired_key_is_recreated_fresh(r):
    r.set("c", "10", px=100)
    time.sleep(0.3)
    assert r.incr("c") == 1  # the expired value is gone, not 11
    assert r.ttl("c") == -1
    r.set("s", "abc", px=100)
    time.sleep(0.3)
    assert r.append("s", "x") == 1
    assert r.set("s2", "v", px=100) is True
    time.sleep(0.3)
    assert r.set("s2", "w", nx=True) is True  # NX sees an expired key as missing


def test_active_expiry_reclaims_keys(r):
    """Keys that are never touched again disappear by themselves (DBSIZE drops)."""
    with r.pipeline(transaction=False) as p:
        for i in range(200):
            p.set(f"vol:{i}", "x", px=200)
        for i in range(20):
            p.set(f"keep:{i}", "x")
        p.execute()
    assert r.dbsize() >= 20
    wait_until(lambda: r.dbsize() == 20, timeout=10, what="active expiry to reach DBSIZE 20")
    assert r.exists(*[f"keep:{i}" for i in range(20)]) == 20


def test_expire_deadline_is_absolute(r):
    r.set("k", "v")
    r.pexpire("k", 5000)
    time.sleep(0.4)
    left = r.pttl("k")
    # The deadline does not move: at least the time slept has gone from it.
    assert 0 < left <= 4650


def test_overwrite_clears_ttl_but_keeps_with_keepttl(r):
    r.set("k", "v", ex=100)
    r.set("k", "w")
    assert r.ttl("k") == -1
    r.set("k", "v", ex=100)
    r.mset({"k": "x"})
    assert r.ttl("k") == -1


# ------------------------------------------------------------------- FLUSHDB / FLUSHALL / DBSIZE
@pytest.mark.parametrize("args", [["FLUSHDB"], ["FLUSHALL"], ["FLUSHDB", "ASYNC"],
                                  ["FLUSHALL", "SYNC"], ["flushall", "async"]])
def test_flush(r, args):
    for i in range(50):
        r.set(f"k{i}", i, ex=1000 if i % 2 else None)
    assert r.dbsize() == 50
    assert r.execute_command(*args) is True
    assert r.dbsize() == 0
    assert r.get("k1") is None
    assert r.ttl("k1") == -2
    r.set("k1", "new")
    assert r.ttl("k1") == -1


def test_dbsize(r):
    assert r.dbsize() == 0
    r.set("a", "1")
    r.set("b", "2", ex=100)
    assert r.dbsize() == 2
    r.set("a", "3")
    assert r.dbsize() == 2
    r.delete("a")
    assert r.dbsize() == 1
