"""Every one of the 98 core commands (docs/COMMANDS.md) has an end-to-end test, and the server
lists all of them in COMMAND.

"An end-to-end test" here: the command's name appears as a command in a test file, i.e. as a
quoted string ("HSET" or 'hset', any case) in tests/pytest/test_*.py or
tests/gocase/**/*_test.go, or as a go-redis method call (`.HSet(`) in the Go tests. A quoted
name used as a map key (`"hset": ...`, the COMMAND INFO tables of test_server.py and
gocase/unit/command) is data, not a test. The randomized differential test (test_difftest.py)
and this file do not count: each command needs a test of its own.
"""

import functools
import glob
import os
import re

import pytest

from helpers import RawConn
from oracle import parse

# The 98 core commands, grouped as in COMMANDS.md.
CORE_COMMANDS = {
    "general": ["PING", "ECHO", "CLUSTER"],
    "keys": ["DEL", "UNLINK", "EXISTS", "TYPE", "EXPIRE", "EXPIREAT", "PEXPIRE", "PEXPIREAT",
             "TTL", "PTTL", "PERSIST", "FLUSHDB", "FLUSHALL"],
    "string": ["GET", "SET", "SETNX", "SETEX", "PSETEX", "MGET", "MSET", "GETSET", "GETDEL",
               "GETEX", "STRLEN", "APPEND", "GETRANGE", "SETRANGE", "INCR", "DECR", "INCRBY",
               "DECRBY", "INCRBYFLOAT"],
    "hash": ["HSET", "HGET", "HDEL", "HMSET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN",
             "HEXISTS", "HSETNX", "HINCRBY", "HINCRBYFLOAT", "HRANDFIELD", "HSCAN"],
    "set": ["SADD", "SREM", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SRANDMEMBER",
            "SPOP", "SSCAN", "SINTER", "SUNION", "SDIFF", "SINTERCARD", "SMOVE", "SINTERSTORE",
            "SUNIONSTORE", "SDIFFSTORE"],
    "list": ["LPUSH", "RPUSH", "LPOP", "RPOP", "LLEN", "LINDEX", "LRANGE", "LPOS", "LSET",
             "LINSERT", "LREM", "LTRIM", "LMOVE", "LMPOP"],
    "sorted set": ["ZADD", "ZREM", "ZSCORE", "ZRANK", "ZREVRANK", "ZCARD", "ZCOUNT", "ZRANGE",
                   "ZRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZINCRBY", "ZRANGEBYLEX",
                   "ZLEXCOUNT", "ZPOPMIN", "ZPOPMAX", "ZSCAN"],
}
ALL = [c for group in CORE_COMMANDS.values() for c in group]

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NOT_COUNTED = {"test_command_coverage.py", "test_difftest.py"}


def test_the_list_is_the_98_of_commands_md():
    sizes = {g: len(c) for g, c in CORE_COMMANDS.items()}
    assert sizes == {"general": 3, "keys": 13, "string": 19, "hash": 15, "set": 17, "list": 14,
                     "sorted set": 17}
    assert len(ALL) == len(set(ALL)) == 98


@functools.lru_cache(maxsize=None)
def _test_files():
    py = [f for f in glob.glob(os.path.join(HERE, "test_*.py"))
          if os.path.basename(f) not in NOT_COUNTED]
    go = glob.glob(os.path.join(REPO, "tests", "gocase", "**", "*_test.go"), recursive=True)
    assert py and go, f"no test files found under {HERE} / {REPO}/tests/gocase"
    out = {}
    for f in sorted(py + go):
        with open(f, encoding="utf-8", errors="replace") as fh:
            out[os.path.relpath(f, REPO)] = fh.read()
    return out


def _tested_in(name, files):
    # not a map key (`"get": ...`): the COMMAND INFO tables name every command as data
    quoted = re.compile(r"""(["'])%s\1(?!\s*:)""" % re.escape(name), re.IGNORECASE)
    method = re.compile(r"\.%s\(" % re.escape(name), re.IGNORECASE)
    return [path for path, text in files.items()
            if quoted.search(text) or (path.endswith(".go") and method.search(text))]


@pytest.mark.parametrize("name", ALL)
def test_core_command_has_an_end_to_end_test(name):
    assert _tested_in(name, _test_files()), (
        f"{name} has no end-to-end test: its name appears as a command (quoted \"{name}\", or a "
        f"go-redis call like .{name.capitalize()}(), in no file of tests/pytest/test_*.py "
        f"(besides {', '.join(sorted(NOT_COUNTED))}) or tests/gocase/**/*_test.go")


def test_command_lists_every_core_command(server):
    with RawConn(server) as c:
        count = parse(c.call("COMMAND", "COUNT"))[0]
        listed = parse(c.call("COMMAND", "LIST"))[0]
        info = parse(c.call("COMMAND", "INFO", *ALL))[0]
    assert count[0] == "int" and listed[0] == "array", (count, listed)
    names = [n[1].decode().upper() for n in listed[1]]
    missing = [c for c in ALL if c not in names]
    assert not missing, f"COMMAND LIST lacks {missing}"
    assert count[1] == len(names) == len(set(names)) >= 98, \
        f"COMMAND COUNT {count[1]}, COMMAND LIST {len(names)} names"
    # COMMAND INFO: one entry per name asked, in order, each starting with that name
    assert info[0] == "array" and len(info[1]) == len(ALL), info
    for name, entry in zip(ALL, info[1]):
        assert entry[0] == "array" and entry[1][0] == ("bulk", name.lower().encode()), \
            f"COMMAND INFO {name}: {entry!r}"
