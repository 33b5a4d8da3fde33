"""MULTI / EXEC / DISCARD / WATCH / UNWATCH, compared with redis-server 7.0.15 where the
reply can be compared, plus redis-py's transactional pipeline and the regions rules."""

import time

import pytest
import redis

from helpers import RawConn, assert_error


def test_exec_runs_the_queue_in_order(differ):
    differ.script([
        ["MULTI"], ["SET", "{t}a", "1"], ["INCR", "{t}a"], ["GET", "{t}a"],
        ["HSET", "{t}h", "f", "v"], ["HGET", "{t}h", "f"], ["PING"], ["ECHO", "x"], ["EXEC"],
        ["GET", "{t}a"],
    ])


def test_empty_and_discarded_transactions(differ):
    differ.script([
        ["MULTI"], ["EXEC"],
        ["MULTI"], ["SET", "{t}a", "1"], ["DISCARD"], ["EXISTS", "{t}a"],
        ["EXEC"], ["DISCARD"],
        ["MULTI"], ["MULTI"], ["WATCH", "{t}a"], ["SET", "{t}a", "2"], ["EXEC"], ["GET", "{t}a"],
    ])


def test_queue_errors_abort_exec(differ):
    differ.script([
        ["MULTI"], ["SET", "{t}a", "1"], ["NOSUCHCOMMAND"], ["EXEC"], ["EXISTS", "{t}a"],
        ["MULTI"], ["SET", "{t}a"], ["SET", "{t}b", "1"], ["EXEC"], ["EXISTS", "{t}b"],
    ])


def test_runtime_errors_do_not_stop_the_others(differ):
    differ.script([
        ["SET", "{t}s", "x"],
        ["MULTI"], ["INCR", "{t}s"], ["HSET", "{t}s", "f", "v"], ["SET", "{t}a", "1", "EX", "nope"],
        ["SET", "{t}b", "2"], ["INCRBY", "{t}b", "3"], ["EXEC"],
        ["GET", "{t}b"], ["EXISTS", "{t}a"],
    ])


def _second(differ, server, reference_redis):
    """Second connections to both servers (another client)."""
    return RawConn(server), RawConn(reference_redis)


@pytest.mark.parametrize("touch", [
    ["SET", "{t}w", "other"],
    ["SET", "{t}w", "same"],          # same value: still a modification
    ["EXPIRE", "{t}w", "100"],
    ["DEL", "{t}w"],
    ["APPEND", "{t}w", "x"],
    ["FLUSHALL"],
])
def test_watch_aborts_when_another_client_touches_the_key(differ, server, reference_redis, touch):
    other = _second(differ, server, reference_redis)
    try:
        differ.same("SET", "{t}w", "same")
        differ.same("WATCH", "{t}w")
        for c in other:
            c.call(*touch)
        differ.script([["MULTI"], ["SET", "{t}x", "1"], ["EXEC"], ["EXISTS", "{t}x"]])
    finally:
        for c in other:
            c.close()


def test_watch_collections_field_changes(differ, server, reference_redis):
    other = _second(differ, server, reference_redis)
    try:
        differ.same("HSET", "{t}h", "f", "1", "g", "2")
        differ.same("WATCH", "{t}h")
        for c in other:
            assert c.call("HSET", "{t}h", "f", "changed") == b":0\r\n"
        differ.script([["MULTI"], ["HGET", "{t}h", "f"], ["EXEC"]])
    finally:
        for c in other:
            c.close()


def test_watch_untouched_key_and_non_affected_flushall(differ, server, reference_redis):
    other = _second(differ, server, reference_redis)
    try:
        differ.script([["SET", "{t}w", "1"], ["WATCH", "{t}w", "{t}missing"],
                       ["MULTI"], ["INCR", "{t}w"], ["EXEC"]])
        # FLUSHALL does not touch a watched key that did not exist.
        differ.same("WATCH", "{t}missing")
        for c in other:
            c.call("FLUSHALL")
        differ.script([["MULTI"], ["PING"], ["EXEC"]])
    finally:
        for c in other:
            c.close()


def test_unwatch_discard_and_exec_forget_watched_keys(differ, server, reference_redis):
    other = _second(differ, server, reference_redis)
    try:
        for forget in (["UNWATCH"], ["MULTI"], ["EXEC"]):
            differ.same("WATCH", "{t}w")
            if forget == ["MULTI"]:
                differ.script([["MULTI"], ["DISCARD"]])
            elif forget == ["EXEC"]:
                differ.script([["MULTI"], ["EXEC"]])
            else:
                differ.same(*forget)
            for c in other:
                c.call("SET", "{t}w", "changed")
            differ.script([["MULTI"], ["PING"], ["EXEC"]])
    finally:
        for c in other:
            c.close()


def test_watch_sees_expiry(differ):
    """A watched key that expires before EXEC aborts the transaction (Redis 7)."""
    differ.same("SET", "{t}e", "v", "PX", "100")
    differ.same("WATCH", "{t}e")
    time.sleep(0.3)
    differ.script([["MULTI"], ["PING"], ["EXEC"]])


def test_reset_leaves_multi(differ):
    differ.script([["MULTI"], ["SET", "{t}a", "1"]])
    mine, ref = differ.both("RESET")
    assert mine == ref == b"+RESET\r\n"
    # RESET went back to RESP2 on both.
    differ.protocol = 2
    differ.script([["EXEC"], ["EXISTS", "{t}a"]])


def test_redis_py_transactional_pipeline(server, protocol):
    r = server.client(protocol=protocol)
    r.flushall()
    with r.pipeline() as p:
        p.set("a", 1).incr("a").hset("h", mapping={"f": "v"}).hgetall("h").get("a")
        assert p.execute() == [True, 2, 1, {"f": "v"}, "2"]

    def add_one(pipe):
        v = int(pipe.get("a"))
        pipe.multi()
        pipe.set("a", v + 1)

    assert r.transaction(add_one, "a") == [True]
    assert r.get("a") == "3"

    # A concurrent change makes EXEC fail: redis-py raises WatchError.
    with r.pipeline() as p:
        p.watch("a")
        r.set("a", 100)
        p.multi()
        p.set("a", 0)
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("a") == "100"


def test_concurrent_watch_increments_are_exact(server):
    """Optimistic increments from several clients: every successful EXEC counts once."""
    import threading

    r = server.client(protocol=3)
    r.set("counter", 0)
    done = []

    def worker():
        c = server.client(protocol=3)
        ok = 0
        while ok < 30:
            with c.pipeline() as p:
                try:
                    p.watch("counter")
                    v = int(p.get("counter"))
                    p.multi()
                    p.set("counter", v + 1)
                    p.execute()
                    ok += 1
                except redis.WatchError:
                    pass
        done.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sum(done) == 120
    assert r.get("counter") == "120"


def test_transactions_need_one_region(make_server):
    srv = make_server(extra_args=["--regions", "4"])
    r = srv.client(protocol=3)
    # Keys "a" (slot 15495) and "b" (slot 3300) are in different regions of 4.
    p = r.pipeline()
    p.set("a", 1).set("b", 2)
    with pytest.raises(redis.exceptions.ClusterCrossSlotError):
        p.execute()
    assert r.exists("a") == 0 and r.exists("b") == 0
    # One hash tag: one region.
    p = r.pipeline()
    p.set("{u}a", 1).set("{u}b", 2).mget("{u}a", "{u}b")
    assert p.execute() == [True, True, ["1", "2"]]
    # A cross-region command inside MULTI is refused when queued.
    c = RawConn(srv)
    try:
        assert c.call("MULTI") == b"+OK\r\n"
        assert c.call("MSET", "a", "1", "b", "2").startswith(b"-CROSSSLOT")
        assert c.call("EXEC") == b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    finally:
        c.close()


def test_exec_errors_without_multi(r):
    assert_error(lambda: r.execute_command("EXEC"), "ERR EXEC without MULTI")
    assert_error(lambda: r.execute_command("DISCARD"), "ERR DISCARD without MULTI")
