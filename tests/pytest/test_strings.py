"""The 19 string commands through redis-py, in RESP3 (redis-py's default) and RESP2.

Expected replies and error texts are Redis 7.0.15's.
"""

import time

import pytest

from helpers import assert_error

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def wrong_args(cmd):
    return f"ERR wrong number of arguments for '{cmd}' command"


NOT_INT = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
SYNTAX = "ERR syntax error"


# ---------------------------------------------------------------------------------- GET / SET
def test_set_get_roundtrip(r):
    assert r.get("missing") is None
    assert r.set("k", "v") is True
    assert r.get("k") == "v"
    assert r.set("k", "v2") is True
    assert r.get("k") == "v2"
    assert r.type("k") == "string"


def test_values_are_binary_safe(rb):
    value = bytes(range(256)) + b"\r\n\x00$3\r\n*1\r\n" + "ünï".encode()
    key = b"bin\x00\r\nkey\xff"
    assert rb.set(key, value) is True
    assert rb.get(key) == value
    assert rb.strlen(key) == len(value)
    assert rb.exists(key) == 1
    assert rb.get(b"bin") is None


def test_empty_value_and_empty_key(r):
    assert r.set("e", "") is True
    assert r.get("e") == ""
    assert r.strlen("e") == 0
    assert r.exists("e") == 1
    assert r.set("", "empty-key") is True
    assert r.get("") == "empty-key"


def test_large_value(rb):
    value = (b"0123456789abcdef" * 65536)[:1_000_003]  # ~1 MB, odd length
    assert rb.set("big", value) is True
    assert rb.get("big") == value
    assert rb.strlen("big") == len(value)


def test_integer_like_values_keep_their_bytes(r):
    for v in ["007", "-0", "+1", "1e3", " 1", "18446744073709551616"]:
        r.set("n", v)
        assert r.get("n") == v
        assert r.strlen("n") == len(v)


def test_set_ex_px(r):
    assert r.set("k", "v", ex=100) is True
    assert 99 <= r.ttl("k") <= 100
    assert r.set("k", "v", px=50_000) is True
    assert 49_000 <= r.pttl("k") <= 50_000
    assert r.get("k") == "v"


def test_set_exat_pxat(r):
    now = time.time()
    assert r.set("k", "v", exat=int(now) + 100) is True
    assert 98 <= r.ttl("k") <= 100
    assert r.set("k", "v", pxat=int(now * 1000) + 100_000) is True
    assert 98_000 <= r.pttl("k") <= 100_000


def test_set_with_past_exat_leaves_no_key(r):
    r.set("k", "old")
    assert r.set("k", "v", pxat=1) is True
    assert r.get("k") is None
    assert r.exists("k") == 0


def test_set_clears_ttl_unless_keepttl(r):
    r.set("k", "v", ex=100)
    r.set("k", "v2")
    assert r.ttl("k") == -1
    r.set("k", "v", ex=100)
    assert r.set("k", "v3", keepttl=True) is True
    assert 99 <= r.ttl("k") <= 100
    assert r.get("k") == "v3"
    # KEEPTTL on a key without a TTL keeps it persistent
    r.set("p", "1")
    r.set("p", "2", keepttl=True)
    assert r.ttl("p") == -1


def test_set_nx_xx(r):
    assert r.set("k", "1", xx=True) is None
    assert r.exists("k") == 0
    assert r.set("k", "1", nx=True) is True
    assert r.set("k", "2", nx=True) is None
    assert r.get("k") == "1"
    assert r.set("k", "3", xx=True) is True
    assert r.get("k") == "3"


def test_set_get_option(r):
    assert r.set("k", "1", get=True) is None
    assert r.get("k") == "1"
    assert r.set("k", "2", get=True) == "1"
    assert r.get("k") == "2"
    # NX + GET (allowed since 7.0): returns the old value and does not set
    assert r.set("k", "3", nx=True, get=True) == "2"
    assert r.get("k") == "2"
    assert r.set("new", "x", nx=True, get=True) is None
    assert r.get("new") == "x"
    # XX + GET on a missing key
    assert r.set("nokey", "x", xx=True, get=True) is None
    assert r.exists("nokey") == 0
    # GET with EX applies the TTL
    assert r.set("k", "4", ex=100, get=True) == "2"
    assert 99 <= r.ttl("k") <= 100


def test_set_options_are_case_insensitive(r):
    assert r.execute_command("SET", "k", "v", "ex", "100", "nx") is True
    assert 99 <= r.ttl("k") <= 100
    assert r.execute_command("set", "k", "w", "Px", "200000", "xX") is True
    assert r.get("k") == "w"
    assert 199_000 <= r.pttl("k") <= 200_000


def test_set_repeated_option_last_one_wins(r):
    # Redis 7.0 accepts the same expire option twice; the last value is used.
    assert r.execute_command("SET", "k", "v", "EX", "10", "EX", "200") is True
    assert 199 <= r.ttl("k") <= 200


@pytest.mark.parametrize("args,err", [
    (["SET", "k"], wrong_args("set")),
    (["SET"], wrong_args("set")),
    (["GET"], wrong_args("get")),
    (["GET", "a", "b"], wrong_args("get")),
    (["SET", "k", "v", "NX", "XX"], SYNTAX),
    (["SET", "k", "v", "EX", "10", "PX", "100"], SYNTAX),
    (["SET", "k", "v", "KEEPTTL", "EX", "10"], SYNTAX),
    (["SET", "k", "v", "EXAT", "10", "PXAT", "100"], SYNTAX),
    (["SET", "k", "v", "EX"], SYNTAX),
    (["SET", "k", "v", "FOO"], SYNTAX),
    (["SET", "k", "v", "EX", "abc"], NOT_INT),
    (["SET", "k", "v", "EX", "1.5"], NOT_INT),
    (["SET", "k", "v", "EX", "0"], "ERR invalid expire time in 'set' command"),
    (["SET", "k", "v", "EX", "-1"], "ERR invalid expire time in 'set' command"),
    (["SET", "k", "v", "PX", "0"], "ERR invalid expire time in 'set' command"),
    (["SET", "k", "v", "EXAT", "0"], "ERR invalid expire time in 'set' command"),
    (["SET", "k", "v", "EX", str(INT64_MAX)], "ERR invalid expire time in 'set' command"),
    (["SET", "k", "v", "PX", str(INT64_MAX)], "ERR invalid expire time in 'set' command"),
])
def test_set_errors(r, args, err):
    r.set("k", "orig")
    assert_error(lambda: r.execute_command(*args), err)
    assert r.get("k") == "orig"
    assert r.ttl("k") == -1


# ------------------------------------------------------------------- SETNX / SETEX / PSETEX
def test_setnx(r):
    assert r.setnx("k", "1") is True
    assert r.setnx("k", "2") is False
    assert r.get("k") == "1"
    assert_error(lambda: r.execute_command("SETNX", "k"), wrong_args("setnx"))


def test_setex_psetex(r):
    assert r.execute_command("SETEX", "k", 100, "v") is True
    assert r.get("k") == "v"
    assert 99 <= r.ttl("k") <= 100
    assert r.execute_command("PSETEX", "p", 100_000, "w") is True
    assert r.get("p") == "w"
    assert 99_000 <= r.pttl("p") <= 100_000
    # overwrites an existing value and TTL
    r.set("x", "old")
    r.execute_command("SETEX", "x", 50, "new")
    assert r.get("x") == "new"
    assert 49 <= r.ttl("x") <= 50


@pytest.mark.parametrize("args,err", [
    (["SETEX", "k", "0", "v"], "ERR invalid expire time in 'setex' command"),
    (["SETEX", "k", "-5", "v"], "ERR invalid expire time in 'setex' command"),
    (["SETEX", "k", "abc", "v"], NOT_INT),
    (["SETEX", "k", "10"], wrong_args("setex")),
    (["PSETEX", "k", "0", "v"], "ERR invalid expire time in 'psetex' command"),
    (["PSETEX", "k", "x", "v"], NOT_INT),
    (["PSETEX", "k", "10", "v", "extra"], wrong_args("psetex")),
])
def test_setex_errors(r, args, err):
    assert_error(lambda: r.execute_command(*args), err)
    assert r.exists("k") == 0


def test_setex_expires(r):
    r.execute_command("PSETEX", "k", 100, "v")
    time.sleep(0.25)
    assert r.get("k") is None


# ----------------------------------------------------------------------------- MGET / MSET
def test_mset_mget(r):
    assert r.mset({"a": "1", "b": "2", "c": "3"}) is True
    assert r.mget("a", "missing", "c", "b", "a") == ["1", None, "3", "2", "1"]
    assert r.mget("nothing") == [None]


def test_mset_last_value_wins_and_clears_ttl(r):
    r.set("a", "old", ex=100)
    assert r.execute_command("MSET", "a", "1", "b", "2", "a", "3") in ("OK", True)
    assert r.get("a") == "3"
    assert r.ttl("a") == -1


@pytest.mark.parametrize("args,err", [
    (["MSET", "a"], wrong_args("mset")),
    (["MSET", "a", "1", "b"], wrong_args("mset")),
    (["MSET"], wrong_args("mset")),
    (["MGET"], wrong_args("mget")),
])
def test_mset_mget_errors(r, args, err):
    assert_error(lambda: r.execute_command(*args), err)
    assert r.exists("a") == 0


# ------------------------------------------------------------------- GETSET / GETDEL / GETEX
def test_getset(r):
    assert r.getset("k", "1") is None
    assert r.get("k") == "1"
    r.expire("k", 100)
    assert r.getset("k", "2") == "1"
    assert r.get("k") == "2"
    assert r.ttl("k") == -1  # GETSET discards the TTL


def test_getdel(r):
    r.set("k", "v", ex=100)
    assert r.getdel("k") == "v"
    assert r.exists("k") == 0
    assert r.getdel("k") is None
    assert_error(lambda: r.execute_command("GETDEL"), wrong_args("getdel"))


def test_getex(r):
    assert r.getex("missing") is None
    assert r.getex("missing", ex=10) is None
    assert r.exists("missing") == 0
    r.set("k", "v")
    assert r.getex("k") == "v"
    assert r.ttl("k") == -1
    assert r.getex("k", ex=100) == "v"
    assert 99 <= r.ttl("k") <= 100
    assert r.getex("k", px=50_000) == "v"
    assert 49_000 <= r.pttl("k") <= 50_000
    assert r.getex("k", exat=int(time.time()) + 200) == "v"
    assert 198 <= r.ttl("k") <= 200
    assert r.getex("k", pxat=int(time.time() * 1000) + 300_000) == "v"
    assert 298 <= r.ttl("k") <= 300
    assert r.getex("k") == "v"  # no option: TTL untouched
    assert 297 <= r.ttl("k") <= 300
    assert r.getex("k", persist=True) == "v"
    assert r.ttl("k") == -1


def test_getex_past_time_deletes(r):
    r.set("k", "v")
    assert r.execute_command("GETEX", "k", "PXAT", "1") == "v"
    assert r.exists("k") == 0


@pytest.mark.parametrize("args,err", [
    (["GETEX", "k", "EX", "0"], "ERR invalid expire time in 'getex' command"),
    (["GETEX", "k", "PX", "-1"], "ERR invalid expire time in 'getex' command"),
    (["GETEX", "k", "EX", "x"], NOT_INT),
    (["GETEX", "k", "EX", "10", "PX", "100"], SYNTAX),
    (["GETEX", "k", "PERSIST", "EX", "10"], SYNTAX),
    (["GETEX", "k", "EX"], SYNTAX),
    (["GETEX", "k", "KEEPTTL"], SYNTAX),
    (["GETEX", "k", "FOO"], SYNTAX),
    (["GETEX"], wrong_args("getex")),
])
def test_getex_errors(r, args, err):
    r.set("k", "v")
    assert_error(lambda: r.execute_command(*args), err)
    assert r.ttl("k") == -1


# ------------------------------------------------------------------------ STRLEN / APPEND
def test_strlen(r):
    assert r.strlen("missing") == 0
    r.set("k", "hello")
    assert r.strlen("k") == 5
    r.set("u", "ünï")
    assert r.strlen("u") == len("ünï".encode())
    assert_error(lambda: r.execute_command("STRLEN"), wrong_args("strlen"))


def test_append(r):
    assert r.append("k", "Hello") == 5
    assert r.append("k", " World") == 11
    assert r.get("k") == "Hello World"
    assert r.append("k", "") == 11
    assert r.append("e", "") == 0
    assert r.exists("e") == 1  # APPEND creates the key even with an empty value
    assert r.get("e") == ""


def test_append_keeps_ttl_and_works_on_numbers(r):
    r.set("k", "1", ex=100)
    assert r.append("k", "2") == 2
    assert 99 <= r.ttl("k") <= 100
    assert r.incr("k") == 13


# ------------------------------------------------------------------- GETRANGE / SETRANGE
@pytest.mark.parametrize("start,end,expected", [
    (0, 3, "This"),
    (-3, -1, "ing"),
    (0, -1, "This is a string"),
    (10, 100, "string"),
    (5, 3, ""),
    (-100, 3, "This"),
    (100, 200, ""),
    (-1, -1, "g"),
    (0, 0, "T"),
    (-100, -50, "T"),  # Redis 7.0 quirk: both ends clamp to 0 (changed in later versions)
    (INT64_MIN, INT64_MAX, "This is a string"),
])
def test_getrange(r, start, end, expected):
    r.set("k", "This is a string")
    assert r.getrange("k", start, end) == expected


def test_getrange_missing_and_errors(r):
    assert r.getrange("missing", 0, -1) == ""
    r.set("k", "v")
    assert_error(lambda: r.execute_command("GETRANGE", "k", "a", "1"), NOT_INT)
    assert_error(lambda: r.execute_command("GETRANGE", "k", "0", "1.5"), NOT_INT)
    assert_error(lambda: r.execute_command("GETRANGE", "k", "0"), wrong_args("getrange"))


def test_setrange(rb):
    rb.set("k", "Hello World")
    assert rb.setrange("k", 6, "Redis") == 11
    assert rb.get("k") == b"Hello Redis"
    assert rb.setrange("k", 9, "Raft!") == 14
    assert rb.get("k") == b"Hello RedRaft!"
    # padding with zero bytes, on an existing and on a missing key
    assert rb.setrange("p", 5, "x") == 6
    assert rb.get("p") == b"\x00" * 5 + b"x"
    assert rb.setrange("k", 16, "!") == 17
    assert rb.get("k") == b"Hello RedRaft!\x00\x00!"


def test_setrange_empty_value(r):
    assert r.setrange("missing", 5, "") == 0
    assert r.exists("missing") == 0  # not created
    r.set("k", "abc")
    assert r.setrange("k", 10, "") == 3  # no padding for an empty value
    assert r.get("k") == "abc"


def test_setrange_keeps_ttl(r):
    r.set("k", "abc", ex=100)
    r.setrange("k", 1, "X")
    assert r.get("k") == "aXc"
    assert 99 <= r.ttl("k") <= 100


@pytest.mark.parametrize("args,err", [
    (["SETRANGE", "k", "-1", "x"], "ERR offset is out of range"),
    (["SETRANGE", "k", "abc", "x"], NOT_INT),
    (["SETRANGE", "k", "536870912", "x"],
     "ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
    (["SETRANGE", "k", "536870911", "xx"],
     "ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
    (["SETRANGE", "k", "0"], wrong_args("setrange")),
])
def test_setrange_errors(r, args, err):
    r.set("k", "abc")
    assert_error(lambda: r.execute_command(*args), err)
    assert r.get("k") == "abc"


def test_setrange_huge_offset_on_missing_key_is_an_error(r):
    assert_error(lambda: r.execute_command("SETRANGE", "m", str(INT64_MAX), "x"),
                 "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert r.exists("m") == 0


# ------------------------------------------------------------------------ INCR family
def test_incr_decr(r):
    assert r.incr("c") == 1
    assert r.incr("c") == 2
    assert r.decr("c") == 1
    assert r.decr("d") == -1
    assert r.incrby("c", 10) == 11
    assert r.incrby("c", -20) == -9
    assert r.decrby("c", 5) == -14
    assert r.decrby("c", -14) == 0
    assert r.get("c") == "0"
    assert r.get("d") == "-1"


def test_incr_on_existing_values(r):
    r.set("c", "41")
    assert r.incr("c") == 42
    r.set("c", "-5")
    assert r.incrby("c", 5) == 0
    assert r.get("c") == "0"
    r.set("c", str(INT64_MAX - 1))
    assert r.incr("c") == INT64_MAX
    r.set("c", str(INT64_MIN + 1))
    assert r.decr("c") == INT64_MIN


def test_incr_keeps_ttl(r):
    r.set("c", "1", ex=100)
    assert r.incr("c") == 2
    assert 99 <= r.ttl("c") <= 100
    r.incrbyfloat("c", 0.5)
    assert 99 <= r.ttl("c") <= 100


@pytest.mark.parametrize("value", ["abc", "1.5", " 1", "1 ", "", "+1", "0x10",
                                   "9223372036854775808", "-9223372036854775809", "1e3"])
def test_incr_on_non_integer_value(r, value):
    r.set("c", value)
    assert_error(lambda: r.incr("c"), NOT_INT)
    assert_error(lambda: r.decrby("c", 2), NOT_INT)
    assert r.get("c") == value


@pytest.mark.parametrize("args,err", [
    (["INCRBY", "c", "abc"], NOT_INT),
    (["INCRBY", "c", "1.0"], NOT_INT),
    (["INCRBY", "c", "9223372036854775808"], NOT_INT),
    (["DECRBY", "c", ""], NOT_INT),
    (["INCR"], wrong_args("incr")),
    (["INCR", "a", "b"], wrong_args("incr")),
    (["DECR"], wrong_args("decr")),
    (["INCRBY", "c"], wrong_args("incrby")),
    (["DECRBY", "c", "1", "2"], wrong_args("decrby")),
])
def test_incr_argument_errors(r, args, err):
    assert_error(lambda: r.execute_command(*args), err)
    assert r.exists("c") == 0


def test_incr_overflow(r):
    over = "ERR increment or decrement would overflow"
    r.set("c", str(INT64_MAX))
    assert_error(lambda: r.incr("c"), over)
    assert_error(lambda: r.incrby("c", 1), over)
    assert_error(lambda: r.decrby("c", -1), over)
    assert r.get("c") == str(INT64_MAX)
    r.set("c", str(INT64_MIN))
    assert_error(lambda: r.decr("c"), over)
    assert_error(lambda: r.incrby("c", -1), over)
    assert r.get("c") == str(INT64_MIN)


def test_decrby_int64_min(r):
    # negating INT64_MIN would overflow: Redis 7.0 rejects it before touching the key
    r.set("c", "0")
    assert_error(lambda: r.decrby("c", INT64_MIN), "ERR decrement would overflow")
    assert r.get("c") == "0"
    assert r.incrby("c", INT64_MIN) == INT64_MIN


# ------------------------------------------------------------------------ INCRBYFLOAT
@pytest.mark.parametrize("start,incr,expected", [
    (None, "1.5", "1.5"),
    ("10.50", "0.1", "10.6"),
    ("5.0e3", "2.0e2", "5200"),
    ("0.1", "0.2", "0.3"),  # Redis 7.0 computes in long double: not 0.30000000000000004
    ("1", "-1", "0"),
    ("3", "1.5", "4.5"),
    ("10", "-0.25", "9.75"),
    (None, "1e-5", "0.00001"),
    ("1", "1e20", "100000000000000000000"),  # 17 significant digits (long double)
    (None, "3.0", "3"),
    (None, "-0", "0"),
    ("  1.5", "1", None),  # leading space: not a valid float
])
def test_incrbyfloat_values_and_format(r, start, incr, expected):
    if start is not None:
        r.set("f", start)
    if expected is None:
        assert_error(lambda: r.execute_command("INCRBYFLOAT", "f", incr), NOT_FLOAT)
        assert r.get("f") == start
        return
    assert r.incrbyfloat("f", incr) == float(expected)
    assert r.get("f") == expected  # the stored string, formatted like Redis 7.0


@pytest.mark.parametrize("start,incr,err", [
    ("abc", "1", NOT_FLOAT),
    ("1", "abc", NOT_FLOAT),
    ("1", "", NOT_FLOAT),
    ("1", "inf", "ERR increment would produce NaN or Infinity"),
    ("1", "-inf", "ERR increment would produce NaN or Infinity"),
    ("1", "nan", NOT_FLOAT),
])
def test_incrbyfloat_errors(r, start, incr, err):
    r.set("f", start)
    assert_error(lambda: r.execute_command("INCRBYFLOAT", "f", incr), err)
    assert r.get("f") == start


def test_incrbyfloat_arity(r):
    assert_error(lambda: r.execute_command("INCRBYFLOAT", "f"), wrong_args("incrbyfloat"))


def test_incr_then_incrbyfloat_then_incr(r):
    r.incr("n")
    assert r.incrbyfloat("n", "1.5") == 2.5
    assert_error(lambda: r.incr("n"), NOT_INT)
    assert r.incrbyfloat("n", "0.5") == 3.0
    assert r.get("n") == "3"
    assert r.incr("n") == 4
