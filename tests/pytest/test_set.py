"""Set commands, compared with redis-server 7.0.15 in RESP2 and RESP3.

Replies whose order Redis leaves unspecified (SMEMBERS, SINTER, ...) are compared as multisets
(the RESP type, `~` set or `*` array, still has to match); random commands (SPOP,
SRANDMEMBER) are checked by their properties on both servers."""

import random
import threading
import time

import pytest

from oracle import parse

WRONGTYPE = b"WRONGTYPE Operation against a key holding the wrong kind of value"


def members(reply):
    """The members of a parsed array/set reply, as a list of bytes."""
    assert reply[0] in ("array", "set"), reply
    out = []
    for item in reply[1]:
        assert item[0] == "bulk", item
        out.append(item[1])
    return out


def both_parsed(differ, *args):
    mine, ref = differ.both(*args)
    return parse(mine)[0], parse(ref)[0]


def test_sadd_srem_scard_sismember(differ):
    differ.script([
        ["SADD", "s", "a", "b", "c"], ["SADD", "s", "a", "d", "d", "e"], ["SADD", "s", "a"],
        ["SCARD", "s"], ["SCARD", "nokey"],
        ["SISMEMBER", "s", "a"], ["SISMEMBER", "s", "zz"], ["SISMEMBER", "nokey", "a"],
        ["SMISMEMBER", "s", "a", "zz", "e", "a"], ["SMISMEMBER", "nokey", "a", "b"],
        ["SREM", "s", "a", "zz", "a", "b"], ["SREM", "s", "zz"], ["SREM", "nokey", "a"],
        ["SCARD", "s"], ["SISMEMBER", "s", "a"], ["TYPE", "s"],
        # binary-safe members, the empty member, integers (Redis's intset encoding)
        ["SADD", "bin", "", "\x00", "a\r\nb", "\xff\xfe", "ключ"],
        ["SISMEMBER", "bin", ""], ["SISMEMBER", "bin", "\x00"], ["SISMEMBER", "bin", "a\r\nb"],
        ["SCARD", "bin"], ["SREM", "bin", ""], ["SISMEMBER", "bin", ""], ["SCARD", "bin"],
        ["SADD", "ints", "1", "2", "-3", "01", "1"], ["SCARD", "ints"], ["SISMEMBER", "ints", "01"],
        ["SISMEMBER", "ints", "1.0"],
    ])
    for key in ("s", "bin", "ints", "nokey"):
        differ.same("SMEMBERS", key, order=False)


def test_smembers_types(differ):
    # RESP3: a set (~); RESP2: an array, also when the key is missing.
    differ.same("SMEMBERS", "nokey")
    differ.same("SADD", "s", "only")
    differ.same("SMEMBERS", "s")


def test_empty_set_is_deleted(differ):
    differ.script([
        ["SADD", "s", "a", "b"], ["SREM", "s", "a", "b"], ["EXISTS", "s"], ["TYPE", "s"],
        ["SCARD", "s"], ["SMEMBERS", "s"], ["DBSIZE"],
        ["SADD", "s", "x"], ["SPOP", "s"], ["EXISTS", "s"],
        ["SADD", "s", "x", "y"], ["SPOP", "s", "2"], ["EXISTS", "s"],
        ["SADD", "s", "x", "y"], ["SPOP", "s", "5"], ["EXISTS", "s"],
        ["SADD", "{t}a", "x"], ["SMOVE", "{t}a", "{t}b", "x"], ["EXISTS", "{t}a"], ["SMEMBERS", "{t}b"],
        ["DBSIZE"],
    ], order=False)


SET_COMMANDS = [
    ["SADD", "{t}str", "a"], ["SREM", "{t}str", "a"], ["SMEMBERS", "{t}str"],
    ["SISMEMBER", "{t}str", "a"], ["SMISMEMBER", "{t}str", "a"], ["SCARD", "{t}str"],
    ["SRANDMEMBER", "{t}str"], ["SRANDMEMBER", "{t}str", "2"], ["SRANDMEMBER", "{t}str", "-2"],
    ["SRANDMEMBER", "{t}str", "0"], ["SPOP", "{t}str"], ["SPOP", "{t}str", "1"], ["SPOP", "{t}str", "0"],
    ["SSCAN", "{t}str", "0"], ["SSCAN", "{t}str", "0", "COUNT", "0"],
    ["SINTER", "{t}str"], ["SINTER", "{t}set", "{t}str"], ["SINTER", "{t}nokey", "{t}str"],
    ["SUNION", "{t}str"], ["SUNION", "{t}set", "{t}str"], ["SUNION", "{t}nokey", "{t}str"],
    ["SDIFF", "{t}str"], ["SDIFF", "{t}set", "{t}str"], ["SDIFF", "{t}nokey", "{t}str"],
    ["SINTERCARD", "1", "{t}str"], ["SINTERCARD", "2", "{t}nokey", "{t}str"],
    ["SINTERCARD", "2", "{t}set", "{t}str", "LIMIT", "1"],
    ["SMOVE", "{t}str", "{t}set", "a"], ["SMOVE", "{t}set", "{t}str", "a"],
    ["SMOVE", "{t}set", "{t}str", "missing"], ["SMOVE", "{t}str", "{t}nokey", "a"],
    ["SINTERSTORE", "{t}d", "{t}str"], ["SINTERSTORE", "{t}d", "{t}nokey", "{t}str"],
    ["SUNIONSTORE", "{t}d", "{t}set", "{t}str"], ["SDIFFSTORE", "{t}d", "{t}set", "{t}str"],
    ["SDIFFSTORE", "{t}d", "{t}nokey", "{t}str"],
]


@pytest.mark.parametrize("other", [["SET", "{t}str", "x"], ["HSET", "{t}str", "f", "v"]],
                         ids=["string", "hash"])
def test_wrongtype_everywhere(differ, other):
    differ.same(*other)
    differ.same("SADD", "{t}set", "a", "b")
    differ.same("SET", "{t}d", "untouched")
    for cmd in SET_COMMANDS:
        mine = differ.same(*cmd)
        assert mine == ("err", WRONGTYPE), cmd
    # nothing was changed by the failed commands
    differ.script([["TYPE", "{t}str"], ["GET", "{t}d"], ["SCARD", "{t}set"], ["EXISTS", "{t}nokey"]])


def test_other_types_refuse_a_set(differ):
    differ.same("SADD", "s", "a")
    for cmd in [["GET", "s"], ["APPEND", "s", "x"], ["INCR", "s"], ["STRLEN", "s"],
                ["HGET", "s", "a"], ["HSET", "s", "a", "1"], ["HLEN", "s"]]:
        assert differ.same(*cmd) == ("err", WRONGTYPE), cmd
    differ.script([["TYPE", "s"], ["SET", "s", "now a string"], ["GET", "s"], ["SCARD", "s"],
                   ["DEL", "s"], ["SADD", "s", "b"], ["SMEMBERS", "s"]])


@pytest.mark.parametrize("cmd", [
    ["SADD"], ["SADD", "s"], ["SREM", "s"], ["SMEMBERS"], ["SMEMBERS", "s", "x"],
    ["SISMEMBER", "s"], ["SISMEMBER", "s", "a", "b"], ["SMISMEMBER", "s"], ["SCARD"],
    ["SCARD", "s", "x"], ["SRANDMEMBER"], ["SPOP"], ["SSCAN", "s"], ["SINTER"], ["SUNION"],
    ["SDIFF"], ["SINTERCARD", "1"], ["SMOVE", "{t}a", "{t}b"], ["SMOVE", "{t}a", "{t}b", "m", "x"],
    ["SINTERSTORE", "{t}d"], ["SUNIONSTORE", "{t}d"], ["SDIFFSTORE", "{t}d"],
])
def test_arity_errors(differ, cmd):
    reply = differ.same(*cmd)
    assert reply[0] == "err" and b"wrong number of arguments" in reply[1]


def test_ttl_survives_member_changes(differ):
    differ.script([
        ["SADD", "{t}s", "a", "b", "c", "d"], ["EXPIRE", "{t}s", "1000"],
        ["SADD", "{t}s", "e"], ["TTL", "{t}s"],
        ["SREM", "{t}s", "a"], ["TTL", "{t}s"],
        ["SPOP", "{t}s", "0"], ["TTL", "{t}s"],
        ["SMOVE", "{t}s", "{t}o", "b"], ["TTL", "{t}s"], ["TTL", "{t}o"],
        ["SADD", "{t}o", "x"], ["EXPIRE", "{t}o", "500"], ["SMOVE", "{t}s", "{t}o", "c"], ["TTL", "{t}o"],
        ["SMOVE", "{t}s", "{t}s", "d"], ["TTL", "{t}s"],
        ["SADD", "{t}s", "e"], ["TTL", "{t}s"],
    ])
    # A pop keeps the TTL of what is left.
    mine, ref = both_parsed(differ, "SPOP", "{t}s")
    assert mine[0] == ref[0] == "bulk"
    differ.script([["TTL", "{t}s"], ["SCARD", "{t}s"]])


def test_expired_set_is_gone(differ):
    differ.script([["SADD", "{t}s", "a", "b"], ["SADD", "{t}d", "z"], ["PEXPIRE", "{t}s", "30"]])
    time.sleep(0.1)
    differ.script([
        ["SCARD", "{t}s"], ["SISMEMBER", "{t}s", "a"], ["SMEMBERS", "{t}s"], ["SRANDMEMBER", "{t}s"],
        ["SRANDMEMBER", "{t}s", "3"], ["SSCAN", "{t}s", "0"], ["SINTER", "{t}s", "{t}d"],
        ["SUNION", "{t}s", "{t}d"], ["SDIFF", "{t}s", "{t}d"], ["SMOVE", "{t}s", "{t}d", "a"],
        ["SPOP", "{t}s"], ["SPOP", "{t}s", "2"], ["SREM", "{t}s", "a"], ["EXISTS", "{t}s"],
        # recreated from scratch: no old members, no TTL
        ["SADD", "{t}s", "c"], ["SMEMBERS", "{t}s"], ["TTL", "{t}s"],
    ])


def test_srandmember_errors_and_edges(differ):
    differ.script([
        ["SRANDMEMBER", "nokey"], ["SRANDMEMBER", "nokey", "0"], ["SRANDMEMBER", "nokey", "5"],
        ["SRANDMEMBER", "nokey", "-5"], ["SRANDMEMBER", "nokey", "x"],
        ["SRANDMEMBER", "nokey", "1.5"], ["SRANDMEMBER", "nokey", " 1"], ["SRANDMEMBER", "nokey", ""],
        ["SRANDMEMBER", "nokey", "-9223372036854775808"], ["SRANDMEMBER", "nokey", "9223372036854775808"],
        ["SRANDMEMBER", "nokey", "-9223372036854775807"], ["SRANDMEMBER", "nokey", "9223372036854775807"],
        ["SRANDMEMBER", "nokey", "1", "2"],
        ["SADD", "s", "a", "b", "c"],
        ["SRANDMEMBER", "s", "0"], ["SRANDMEMBER", "s", "1", "2"], ["SRANDMEMBER", "s", "x"],
        ["SRANDMEMBER", "s", "-9223372036854775808"],
    ])
    # count >= size: the whole set, as an array in both protocols
    for count in ("3", "4", "9223372036854775807"):
        differ.same("SRANDMEMBER", "s", count, order=False)
    differ.same("SCARD", "s")


# "big" is above RedRaft's exact-pick size: few random members are sought by hash there.
@pytest.mark.parametrize("content", [[str(i) for i in range(20)], [f"m{i}" for i in range(200)],
                                     [f"big{i}" for i in range(3000)]],
                         ids=["intset", "hashtable", "big"])
def test_srandmember_properties(differ, content):
    differ.same("SADD", "s", *content)
    universe = {m.encode() for m in content}
    n = len(content)
    for _ in range(20):
        mine, ref = both_parsed(differ, "SRANDMEMBER", "s")
        for r in (mine, ref):
            assert r[0] == "bulk" and r[1] in universe
    for count in (1, 2, 5, n - 1):
        for r in both_parsed(differ, "SRANDMEMBER", "s", count):
            got = members(r)
            assert r[0] == "array"
            assert len(got) == count and len(set(got)) == count and set(got) <= universe
    for count in (-1, -5, -(3 * n)):
        for r in both_parsed(differ, "SRANDMEMBER", "s", count):
            got = members(r)
            assert r[0] == "array" and len(got) == -count and set(got) <= universe
    # repeats do happen with a negative count larger than the set
    got = members(both_parsed(differ, "SRANDMEMBER", "s", -(3 * n))[0])
    assert len(set(got)) < len(got)
    # and every member comes up eventually (not always the same few)
    seen = set()
    for _ in range(10):
        seen |= set(members(both_parsed(differ, "SRANDMEMBER", "s", -n)[0]))
    assert len(seen) > n // 2
    # a read: nothing changed
    differ.same("SCARD", "s")
    differ.same("SMEMBERS", "s", order=False)


def test_spop_errors_and_edges(differ):
    differ.script([
        ["SPOP", "nokey"], ["SPOP", "nokey", "0"], ["SPOP", "nokey", "3"], ["SPOP", "nokey", "-1"],
        ["SPOP", "nokey", "x"], ["SPOP", "nokey", ""], ["SPOP", "nokey", "1.0"],
        ["SPOP", "nokey", "9223372036854775808"], ["SPOP", "nokey", "-9223372036854775808"],
        ["SPOP", "nokey", "1", "2"], ["SPOP", "s", "1", "2"],
        ["SET", "str", "x"], ["SPOP", "str", "-1"], ["SPOP", "str", "0"], ["SPOP", "str", "x"],
        ["SADD", "s", "a", "b", "c"], ["SPOP", "s", "0"], ["SPOP", "s", "-1"], ["SPOP", "s", "a"],
        ["SCARD", "s"],
    ])
    # count >= size pops the whole set (a set reply in RESP3) and deletes the key
    differ.same("SPOP", "s", "3", order=False)
    differ.script([["EXISTS", "s"], ["SADD", "s", "a", "b", "c"]])
    differ.same("SPOP", "s", "9223372036854775807", order=False)
    differ.same("EXISTS", "s")


@pytest.mark.parametrize("content", [[str(i) for i in range(30)], [f"m{i}" for i in range(300)],
                                     [f"big{i}" for i in range(3000)]],
                         ids=["intset", "hashtable", "big"])
def test_spop_properties(differ, content):
    differ.same("SADD", "s", *content)
    universe = {m.encode() for m in content}
    left = {"mine": set(universe), "ref": set(universe)}

    def pop(*args):
        mine, ref = both_parsed(differ, "SPOP", "s", *args)
        return {"mine": mine, "ref": ref}

    for _ in range(5):
        for who, r in pop().items():
            assert r[0] == "bulk" and r[1] in left[who]
            left[who].discard(r[1])
    for count in (1, 3, 7):
        for who, r in pop(count).items():
            got = members(r)
            assert len(got) == count and len(set(got)) == count and set(got) <= left[who]
            left[who] -= set(got)
    # both servers now hold exactly what was not popped
    mine, ref = both_parsed(differ, "SMEMBERS", "s")
    assert set(members(mine)) == left["mine"] and set(members(ref)) == left["ref"]
    differ.same("SCARD", "s")
    # popping the rest with a larger count empties and deletes the set
    for who, r in pop(len(content)).items():
        assert set(members(r)) == left[who]
    differ.script([["EXISTS", "s"], ["SCARD", "s"], ["SPOP", "s"], ["SPOP", "s", "1"]])


def test_spop_one_by_one_drains_everything(differ):
    differ.same("SADD", "s", *[f"x{i}" for i in range(40)])
    popped = {"mine": [], "ref": []}
    for _ in range(40):
        mine, ref = both_parsed(differ, "SPOP", "s")
        popped["mine"].append(mine[1])
        popped["ref"].append(ref[1])
    for got in popped.values():
        assert sorted(got) == sorted(f"x{i}".encode() for i in range(40))
    differ.script([["SPOP", "s"], ["EXISTS", "s"]])


def test_sscan_errors_and_argument_order(differ):
    differ.script([
        # a missing key answers an empty scan whatever the options
        ["SSCAN", "nokey", "0"], ["SSCAN", "nokey", "0", "COUNT", "0"], ["SSCAN", "nokey", "0", "foo"],
        ["SSCAN", "nokey", "0", "MATCH"], ["SSCAN", "nokey", "x"], ["SSCAN", "nokey", " 1"],
        ["SSCAN", "nokey", "1 "],
        # the cursor is parsed like C strtoul
        ["SSCAN", "nokey", "-1"], ["SSCAN", "nokey", "+1"], ["SSCAN", "nokey", ""], ["SSCAN", "nokey", "-"],
        ["SSCAN", "nokey", "-0"], ["SSCAN", "nokey", "18446744073709551615"],
        ["SSCAN", "nokey", "18446744073709551616"], ["SSCAN", "nokey", "-18446744073709551616"],
        ["SSCAN", "nokey", "1\x00junk"], ["SSCAN", "nokey", "\t1"],
        ["SADD", "s", "a", "b", "c"],
        ["SSCAN", "s", "x"], ["SSCAN", "s", "0", "COUNT", "0"], ["SSCAN", "s", "0", "COUNT", "-1"],
        ["SSCAN", "s", "0", "COUNT", "x"], ["SSCAN", "s", "0", "COUNT"], ["SSCAN", "s", "0", "MATCH"],
        ["SSCAN", "s", "0", "foo", "bar"], ["SSCAN", "s", "0", "TYPE", "string"],
        ["SSCAN", "s", "0", "MATCH", "a", "COUNT"],
        ["SET", "str", "x"], ["SSCAN", "str", "0"], ["SSCAN", "str", "x"], ["SSCAN", "str", "0", "COUNT", "0"],
    ])


def test_sscan_small_sets_in_one_call(differ):
    # With fewer members than COUNT, one call returns everything and cursor 0.
    differ.same("SADD", "s", *[f"m{i}" for i in range(8)])
    differ.same("SADD", "n", *[str(i) for i in range(8)])
    for key in ("s", "n"):
        differ.same("SSCAN", key, "0", order=False)
        differ.same("SSCAN", key, "0", "COUNT", "100", order=False)
        differ.same("SSCAN", key, "0", "MATCH", "*", order=False)
        differ.same("SSCAN", key, "0", "MATCH", "*1*", order=False)
        differ.same("SSCAN", key, "0", "match", "m[2-4]", "count", "50", order=False)
        differ.same("SSCAN", key, "0", "MATCH", "nothing", order=False)
        differ.same("SSCAN", key, "0", "COUNT", "20", "MATCH", "*3", "COUNT", "30", order=False)


def full_sscan(conn, key, count=None, match=None, during=None):
    """Every member returned by a full SSCAN iteration (with repeats), and the calls made."""
    cursor = b"0"
    out = []
    calls = 0
    while True:
        args = ["SSCAN", key, cursor]
        if match is not None:
            args += ["MATCH", match]
        if count is not None:
            args += ["COUNT", str(count)]
        r = parse(conn.call(*args))[0]
        calls += 1
        assert r[0] == "array" and len(r[1]) == 2, r
        cursor = r[1][0][1]
        out += members(r[1][1])
        if during is not None:
            during(calls)
        if cursor == b"0":
            return out, calls
        assert calls < 100000


@pytest.mark.parametrize("count", [None, 1, 7, 1000])
def test_sscan_full_iteration(differ, count):
    universe = [f"member:{i}" for i in range(500)]
    differ.same("SADD", "s", *universe)
    got, calls = full_sscan(differ.mine, "s", count=count)
    assert sorted(set(got)) == sorted(m.encode() for m in universe)
    # a stable set: each member exactly once, and COUNT bounds the work per call
    assert len(got) == len(universe)
    if count is not None and count < len(universe):
        assert calls >= len(universe) // max(count, 1) // 2
    ref_got, _ = full_sscan(differ.ref, "s", count=count)
    assert sorted(set(ref_got)) == sorted(set(got))


def test_sscan_full_iteration_with_match(differ):
    differ.same("SADD", "s", *[f"k{i}" for i in range(300)])
    got, _ = full_sscan(differ.mine, "s", count=10, match="k1*")
    ref, _ = full_sscan(differ.ref, "s", count=10, match="k1*")
    assert sorted(set(got)) == sorted(set(ref))
    assert len(set(got)) == 1 + 10 + 100  # k1, k10..k19, k100..k199


def test_sscan_with_concurrent_changes(differ):
    """Members present for the whole iteration come back at least once, while other members
    are added and removed between the calls (through another connection)."""
    stable = [f"stable:{i}" for i in range(300)]
    for conn in (differ.mine, differ.ref):
        conn.call("SADD", "s", *stable)
        conn.call("SADD", "s", *[f"churn:{i}" for i in range(100)])
        rng = random.Random(7)

        def churn(calls, conn=conn, rng=rng):
            adds = [f"new:{calls}:{j}" for j in range(5)]
            conn.call("SADD", "s", *adds)
            conn.call("SREM", "s", *[f"churn:{rng.randrange(100)}" for _ in range(5)])

        got, _ = full_sscan(conn, "s", count=15, during=churn)
        assert set(m.encode() for m in stable) <= set(got)
        # whatever it returned was a member at some point
        assert all(m.startswith((b"stable:", b"churn:", b"new:")) for m in got)


def test_sscan_concurrent_writer_thread(server, differ):
    """The same with a real concurrent writer on its own connection."""
    stable = [f"s{i}" for i in range(400)]
    differ.mine.call("SADD", "s", *stable)
    stop = threading.Event()
    errors = []

    def writer():
        c = server.client(protocol=2)
        try:
            i = 0
            while not stop.is_set():
                c.sadd("s", f"w{i}")
                if i % 3 == 0:
                    c.srem("s", f"w{i // 2}")
                i += 1
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            c.close()

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(3):
            got, _ = full_sscan(differ.mine, "s", count=20)
            assert set(m.encode() for m in stable) <= set(got)
    finally:
        stop.set()
        t.join()
    assert not errors


def test_sinter_sunion_sdiff(differ):
    differ.script([
        ["SADD", "{t}a", "1", "2", "3", "4", "x"], ["SADD", "{t}b", "3", "4", "5", "x"],
        ["SADD", "{t}c", "4", "x", "y"], ["SADD", "{t}e", "zz"],
    ])
    for args in [
        ["{t}a"], ["{t}a", "{t}b"], ["{t}b", "{t}a"], ["{t}a", "{t}b", "{t}c"], ["{t}a", "{t}a"],
        ["{t}a", "{t}nokey"], ["{t}nokey", "{t}a"], ["{t}nokey"], ["{t}a", "{t}e"], ["{t}c", "{t}b", "{t}a", "{t}c"],
    ]:
        for cmd in ("SINTER", "SUNION", "SDIFF"):
            differ.same(cmd, *args, order=False)


def test_set_algebra_on_big_sets(differ):
    a = [f"m{i}" for i in range(0, 600)]
    b = [f"m{i}" for i in range(300, 900, 2)]
    c = [str(i) for i in range(100)] + [f"m{i}" for i in range(0, 1000, 3)]
    differ.script([["SADD", "{t}a", *a], ["SADD", "{t}b", *b], ["SADD", "{t}c", *c]])
    for args in [["{t}a", "{t}b"], ["{t}a", "{t}b", "{t}c"], ["{t}c", "{t}a"], ["{t}b", "{t}c", "{t}a"]]:
        for cmd in ("SINTER", "SUNION", "SDIFF"):
            differ.same(cmd, *args, order=False)
        differ.same("SINTERCARD", len(args), *args)
        for store in ("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"):
            differ.same(store, "{t}d", *args)
            differ.same("SMEMBERS", "{t}d", order=False)
            differ.same("SCARD", "{t}d")


def test_sintercard(differ):
    differ.script([
        ["SADD", "{t}a", "1", "2", "3", "4"], ["SADD", "{t}b", "3", "4", "5"], ["SET", "{t}s", "x"],
        ["SINTERCARD", "2", "{t}a", "{t}b"], ["SINTERCARD", "1", "{t}a"], ["SINTERCARD", "1", "{t}nokey"],
        ["SINTERCARD", "2", "{t}a", "{t}nokey"], ["SINTERCARD", "3", "{t}a", "{t}b", "{t}a"],
        ["SINTERCARD", "2", "{t}a", "{t}b", "LIMIT", "1"], ["SINTERCARD", "2", "{t}a", "{t}b", "limit", "0"],
        ["SINTERCARD", "2", "{t}a", "{t}b", "LIMIT", "2"], ["SINTERCARD", "2", "{t}a", "{t}b", "LIMIT", "100"],
        ["SINTERCARD", "1", "{t}a", "LIMIT", "3"], ["SINTERCARD", "1", "{t}a", "LIMIT", "1", "LIMIT", "0"],
        ["SINTERCARD", "1", "{t}a", "LIMIT", "9223372036854775807"],
        # errors, in Redis's order
        ["SINTERCARD", "0", "{t}a"], ["SINTERCARD", "-1", "{t}a"], ["SINTERCARD", "x", "{t}a"],
        ["SINTERCARD", "", "{t}a"], ["SINTERCARD", "9223372036854775808", "{t}a"],
        ["SINTERCARD", "3", "{t}a", "{t}b"], ["SINTERCARD", "2", "{t}a"],
        ["SINTERCARD", "2", "{t}a", "{t}b", "LIMIT", "-1"], ["SINTERCARD", "2", "{t}a", "{t}b", "LIMIT", "x"],
        ["SINTERCARD", "2", "{t}a", "{t}b", "LIMIT", "9223372036854775808"],
        ["SINTERCARD", "2", "{t}a", "{t}b", "LIMIT"], ["SINTERCARD", "2", "{t}a", "{t}b", "foo"],
        ["SINTERCARD", "1", "{t}a", "{t}b"], ["SINTERCARD", "2", "{t}nokey", "{t}s"],
        ["SINTERCARD", "2", "{t}nokey", "{t}s", "LIMIT", "-1"], ["SINTERCARD", "1", "{t}s", "foo"],
    ])


@pytest.mark.parametrize("store", ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"])
def test_store_commands(differ, store):
    differ.script([
        ["SADD", "{t}a", "1", "2", "3", "4", "q"], ["SADD", "{t}b", "3", "4", "5", "q"], ["SET", "{t}s", "x"],
        # into a missing key
        [store, "{t}d", "{t}a", "{t}b"], ["TYPE", "{t}d"], ["TTL", "{t}d"],
        # over a string with a TTL: replaced, TTL gone
        ["SET", "{t}d", "str", "EX", "100"], [store, "{t}d", "{t}a", "{t}b"], ["TYPE", "{t}d"], ["TTL", "{t}d"],
        # over a hash
        ["DEL", "{t}d"], ["HSET", "{t}d", "f", "v"], [store, "{t}d", "{t}b", "{t}a"], ["TYPE", "{t}d"],
        ["HGET", "{t}d", "f"],
        # over a set with a TTL: old members gone
        ["DEL", "{t}d"], ["SADD", "{t}d", "old1", "old2"], ["EXPIRE", "{t}d", "100"],
        [store, "{t}d", "{t}a", "{t}b"], ["SISMEMBER", "{t}d", "old1"], ["TTL", "{t}d"],
        # an empty result deletes the destination, whatever it was
        ["SET", "{t}d", "x"], [store, "{t}d", "{t}nokey"], ["EXISTS", "{t}d"],
        ["SADD", "{t}d", "z"], [store, "{t}d", "{t}nokey", "{t}nokey2"], ["EXISTS", "{t}d"],
        [store, "{t}d", "{t}nokey"], ["EXISTS", "{t}d"],
        # a WRONGTYPE source leaves the destination alone
        ["SADD", "{t}d", "keep"], [store, "{t}d", "{t}a", "{t}s"], [store, "{t}d", "{t}nokey", "{t}s"],
        [store, "{t}d", "{t}s"], ["SMEMBERS", "{t}d"], ["TYPE", "{t}s"],
        # the destination is a source
        ["SADD", "{t}e", "3", "9"], [store, "{t}e", "{t}e", "{t}a"], ["SCARD", "{t}e"],
        [store, "{t}a", "{t}a", "{t}a"], ["SCARD", "{t}a"], ["EXISTS", "{t}a"],
        # the destination may be the string itself
        [store, "{t}s", "{t}b"], ["TYPE", "{t}s"],
    ])
    for key in ("{t}d", "{t}e", "{t}a", "{t}s"):
        differ.same("SMEMBERS", key, order=False)


def test_store_replaces_a_big_destination(differ):
    # a destination with many members is dropped with range deletions: none may survive
    differ.script([
        ["SADD", "{t}d", *[f"old{i}" for i in range(200)]], ["SADD", "{t}a", *[f"n{i}" for i in range(50)]],
        ["SUNIONSTORE", "{t}d", "{t}a", "{t}d"], ["SCARD", "{t}d"],
        ["SINTERSTORE", "{t}d", "{t}a", "{t}a"], ["SCARD", "{t}d"], ["SISMEMBER", "{t}d", "old5"],
        ["SMISMEMBER", "{t}d", "old0", "old199", "n0", "n49"],
        ["SADD", "{t}d", *[f"old{i}" for i in range(200)]], ["SDIFFSTORE", "{t}d", "{t}d", "{t}a"],
        ["SCARD", "{t}d"], ["SISMEMBER", "{t}d", "n1"], ["SISMEMBER", "{t}d", "old1"],
    ])
    differ.same("SMEMBERS", "{t}d", order=False)
    differ.same("SSCAN", "{t}d", "0", "COUNT", "1000", order=False)


def test_smove(differ):
    differ.script([
        ["SADD", "{t}a", "1", "2", "3"], ["SET", "{t}s", "x"],
        ["SMOVE", "{t}nokey", "{t}s", "1"], ["SMOVE", "{t}nokey", "{t}a", "1"],
        ["SMOVE", "{t}a", "{t}s", "1"], ["SMOVE", "{t}a", "{t}s", "99"], ["SMOVE", "{t}s", "{t}a", "1"],
        ["SMOVE", "{t}s", "{t}nokey", "1"], ["SMOVE", "{t}s", "{t}s", "1"],
        ["SMOVE", "{t}a", "{t}a", "1"], ["SMOVE", "{t}a", "{t}a", "99"],
        ["SMOVE", "{t}a", "{t}b", "99"], ["EXISTS", "{t}b"],
        ["SMOVE", "{t}a", "{t}b", "1"], ["SMEMBERS", "{t}b"], ["SCARD", "{t}a"],
        ["SADD", "{t}b", "2"], ["SMOVE", "{t}a", "{t}b", "2"], ["SCARD", "{t}b"], ["SCARD", "{t}a"],
        ["SMOVE", "{t}a", "{t}b", "3"], ["EXISTS", "{t}a"], ["SCARD", "{t}b"],
        ["SMOVE", "{t}b", "{t}c", ""], ["SADD", "{t}b", ""], ["SMOVE", "{t}b", "{t}c", ""], ["SMEMBERS", "{t}c"],
    ])
    differ.same("SMEMBERS", "{t}b", order=False)


def test_pipelined_set_commands(differ):
    # several writes in one Raft entry see each other's changes
    differ.pipeline(
        ["SADD", "{t}a", "1", "2", "3"], ["SREM", "{t}a", "2"], ["SMOVE", "{t}a", "{t}b", "3"],
        ["SADD", "{t}b", "4"], ["SUNIONSTORE", "{t}c", "{t}a", "{t}b"], ["SCARD", "{t}c"],
        ["SINTERSTORE", "{t}d", "{t}c", "{t}b"], ["SPOP", "{t}d", "0"], ["SDIFFSTORE", "{t}c", "{t}c", "{t}d"],
        ["SMEMBERS", "{t}c"], ["SISMEMBER", "{t}d", "4"], ["SREM", "{t}d", "3", "4"], ["EXISTS", "{t}d"],
    )
