"""Sorted-set commands, compared with redis-server 7.0.15 in RESP2 and RESP3.

Sets of at most 128 members of at most 64 bytes are listpack-encoded in Redis: for those even
its undefined corners (lex ranges over mixed scores, -0 scores) are compared byte for byte.
"""

import random
import threading
import time

from helpers import RawConn, call_raw, BIG_N, rss_kb
from oracle import parse

WRONGTYPE = b"WRONGTYPE Operation against a key holding the wrong kind of value"


def zadd_all(differ, key, pairs, chunk=50):
    """ZADD (score, member) pairs to both servers, comparing replies."""
    for i in range(0, len(pairs), chunk):
        args = []
        for s, m in pairs[i:i + chunk]:
            args += [str(s), m]
        differ.same("ZADD", key, *args)


# ---------------------------------------------------------------- ZADD / ZINCRBY / ZREM

def test_zadd_basics_and_replies(differ):
    differ.script([
        ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        ["ZADD", "z", "1", "a", "5", "b", "4", "d"],
        ["ZADD", "z", "1", "x", "2", "x"],
        ["ZCARD", "z"], ["ZCARD", "nokey"],
        ["ZSCORE", "z", "b"], ["ZSCORE", "z", "x"], ["ZSCORE", "z", "nope"], ["ZSCORE", "nokey", "a"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["TYPE", "z"], ["EXISTS", "z"],
        ["ZADD", "z", "CH", "1", "a", "9", "b", "7", "e"],
        ["ZADD", "z", "ch", "nx", "1", "a", "9", "f"],
        ["ZADD", "z", "XX", "CH", "100", "a", "9", "g"],
        ["ZADD", "z", "XX", "1", "a", "9", "g"],
        ["ZADD", "z", "NX", "5", "a", "9", "h"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    ])


def test_zadd_gt_lt(differ):
    differ.script([
        ["ZADD", "z", "10", "a", "10", "b", "10", "c"],
        ["ZADD", "z", "GT", "CH", "5", "a", "15", "b", "1", "new"],
        ["ZADD", "z", "LT", "CH", "5", "a", "15", "c", "2", "new2"],
        ["ZADD", "z", "XX", "GT", "CH", "20", "a", "30", "missing"],
        ["ZADD", "z", "XX", "LT", "CH", "1", "b", "30", "missing"],
        ["ZADD", "z", "GT", "10", "c"], ["ZADD", "z", "GT", "CH", "10", "c"],
        ["ZADD", "z", "LT", "CH", "10", "c"],
        ["ZADD", "z", "GT", "INCR", "-1", "a"], ["ZADD", "z", "GT", "INCR", "1", "a"],
        ["ZADD", "z", "LT", "INCR", "1", "a"], ["ZADD", "z", "LT", "INCR", "-1.5", "a"],
        ["ZADD", "z", "GT", "INCR", "0", "a"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZADD", "newkey", "GT", "1", "a"], ["ZADD", "newkey2", "LT", "CH", "1", "a"],
        ["ZADD", "newkey3", "XX", "1", "a"], ["EXISTS", "newkey3"],
        ["ZADD", "newkey3", "XX", "INCR", "1", "a"], ["EXISTS", "newkey3"],
    ])


def test_zadd_incr(differ):
    differ.script([
        ["ZADD", "z", "INCR", "1.5", "a"], ["ZADD", "z", "INCR", "1.5", "a"],
        ["ZADD", "z", "incr", "ch", "-3", "a"],
        ["ZADD", "z", "NX", "INCR", "1", "a"], ["ZADD", "z", "NX", "INCR", "1", "b"],
        ["ZADD", "z", "XX", "INCR", "1", "c"], ["ZADD", "z", "XX", "INCR", "1", "b"],
        ["ZADD", "z", "INCR", "0.1", "c"], ["ZADD", "z", "INCR", "0.2", "c"],
        ["ZADD", "z", "INCR", "1e308", "d"], ["ZADD", "z", "INCR", "1e308", "d"],
        ["ZADD", "z", "INCR", "inf", "e"], ["ZADD", "z", "INCR", "inf", "e"],
        ["ZADD", "z", "INCR", "-inf", "e"], ["ZSCORE", "z", "e"],
        ["ZADD", "z", "INCR", "+inf", "f"], ["ZADD", "z", "INCR", "-inf", "f"],
        ["ZADD", "z", "-inf", "g"], ["ZADD", "z", "INCR", "+inf", "g"], ["ZSCORE", "z", "g"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    ])


def test_zincrby(differ):
    differ.script([
        ["ZINCRBY", "z", "1", "a"], ["ZINCRBY", "z", "2.5", "a"], ["ZINCRBY", "z", "-10", "a"],
        ["ZINCRBY", "z", "0x10", "b"], ["ZINCRBY", "z", "1e-5", "c"], ["ZINCRBY", "z", "0.1", "c"],
        ["ZINCRBY", "z", "abc", "a"], ["ZINCRBY", "z", "nan", "a"], ["ZINCRBY", "z", "", "a"],
        ["ZINCRBY", "z", " 1", "a"], ["ZINCRBY", "z", "1 ", "a"], ["ZINCRBY", "z", "1e999", "a"],
        ["ZINCRBY", "z", "inf", "i"], ["ZINCRBY", "z", "-inf", "i"], ["ZINCRBY", "z", "inf", "i"],
        ["ZINCRBY", "z", "-inf", "j"], ["ZINCRBY", "z", "+inf", "j"],
        ["ZINCRBY", "z", "nx", "1"], ["ZINCRBY", "z", "incr", "a"], ["ZINCRBY", "z", "1", "a", "b"],
        ["ZINCRBY", "z", "1"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["SET", "s", "x"], ["ZINCRBY", "s", "1", "a"], ["ZINCRBY", "s", "x", "a"],
        ["ZINCRBY", "fresh", "3", "m"], ["ZSCORE", "fresh", "m"], ["ZCARD", "fresh"],
    ])


def test_zadd_errors_in_redis_order(differ):
    differ.script([
        ["ZADD", "z"], ["ZADD", "z", "1"], ["ZADD", "z", "1", "a", "2"],
        ["ZADD", "z", "NX", "1"], ["ZADD", "z", "NX", "XX", "1"], ["ZADD", "z", "nx", "xx"],
        ["ZADD", "z", "NX", "XX", "1", "a"], ["ZADD", "z", "XX", "NX", "GT", "1", "a"],
        ["ZADD", "z", "NX", "GT", "1", "a"], ["ZADD", "z", "NX", "LT", "1", "a"],
        ["ZADD", "z", "GT", "LT", "1", "a"], ["ZADD", "z", "INCR", "1", "a", "2", "b"],
        ["ZADD", "z", "INCR", "NX", "XX", "1", "a", "2", "b"],
        ["ZADD", "z", "GT", "LT", "INCR", "1", "a", "2", "b"],
        ["ZADD", "z", "INCR", "x", "a", "2", "b"],
        ["ZADD", "z", "1", "a", "x", "b"], ["ZADD", "z", "nan", "a"], ["ZADD", "z", "NaN", "a"],
        ["ZADD", "z", "", "a"], ["ZADD", "z", " 1", "a"], ["ZADD", "z", "1 ", "a"],
        ["ZADD", "z", "1e999", "a"], ["ZADD", "z", "-1e999", "a"], ["ZADD", "z", "1e-999", "a"],
        ["ZADD", "z", "x", "1", "a"], ["ZADD", "z", "1", "a", "CH"], ["ZADD", "z", "CH", "CH", "1", "a"],
        ["EXISTS", "z"],
        ["SET", "s", "v"],
        ["ZADD", "s", "1", "a"], ["ZADD", "s", "x", "a"], ["ZADD", "s", "NX", "XX", "1", "a"],
        ["ZADD", "s", "XX", "1", "a"], ["GET", "s"],
        ["HSET", "h", "f", "v"], ["ZADD", "h", "1", "a"], ["ZREM", "h", "a"],
    ])


def test_score_parsing_and_formatting(differ):
    scores = ["0", "1", "-1", "1.5", "0.1", "-0.1", "1e20", "1.5e-7", "123456789012345678",
              "3.0e-5", "0x1p-3", "0X10", "1E3", ".5", "5.", "+7", "-inf", "+inf", "inf",
              "-Infinity", "INF", "4503599627370495", "4503599627370496", "9007199254740993",
              "1e-310", "2.2250738585072014e-308", "1.7976931348623157e308"]
    for i, s in enumerate(scores):
        differ.same("ZADD", "z", s, f"m{i}")
        differ.same("ZSCORE", "z", f"m{i}")
    differ.same("ZRANGE", "z", "0", "-1", "WITHSCORES")
    differ.same("ZSCAN", "z", "0", "COUNT", "1000", order=False)


def test_negative_zero(differ):
    differ.script([
        ["ZADD", "z", "-0", "a"], ["ZSCORE", "z", "a"],
        ["ZADD", "z", "0", "b", "-0.0", "c"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZADD", "z", "CH", "-0", "b"], ["ZADD", "z", "CH", "0", "a"],
        ["ZADD", "z", "INCR", "-0", "new"], ["ZSCORE", "z", "new"],
        ["ZINCRBY", "z", "-0", "a"], ["ZINCRBY", "z", "-0", "new2"], ["ZINCRBY", "z", "0", "new2"],
        ["ZADD", "z", "-1", "neg"], ["ZINCRBY", "z", "1", "neg"], ["ZSCORE", "z", "neg"],
        ["ZRANGEBYSCORE", "z", "-0", "0", "WITHSCORES"], ["ZRANGEBYSCORE", "z", "(-0", "+inf"],
        ["ZRANGEBYSCORE", "z", "-inf", "(0"], ["ZCOUNT", "z", "0", "-0"],
        ["ZPOPMIN", "z", "2"],
    ])
    differ.same("ZSCAN", "z", "0", order=False)


def test_zrem_and_empty_key_deletion(differ):
    differ.script([
        ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        ["ZREM", "z", "a", "x", "a"], ["ZCARD", "z"], ["ZREM", "z", "nope"],
        ["ZREM", "z", "b", "c"], ["EXISTS", "z"], ["TYPE", "z"], ["ZCARD", "z"],
        ["ZRANGE", "z", "0", "-1"], ["ZREM", "z", "a"], ["ZREM", "nokey", "a"], ["ZREM", "z"],
        ["ZADD", "z", "5", "q"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZPOPMIN", "z"], ["EXISTS", "z"],
        ["ZADD", "z", "1", "a", "2", "b"], ["ZPOPMAX", "z", "5"], ["EXISTS", "z"],
    ])


def test_wrongtype_everywhere(differ):
    differ.same("SET", "s", "x")
    differ.same("HSET", "h", "f", "v")
    for key in ("s", "h"):
        differ.script([
            ["ZADD", key, "1", "a"], ["ZINCRBY", key, "1", "a"], ["ZREM", key, "a"],
            ["ZSCORE", key, "a"], ["ZRANK", key, "a"], ["ZREVRANK", key, "a"], ["ZCARD", key],
            ["ZCOUNT", key, "0", "1"], ["ZCOUNT", key, "x", "1"],
            ["ZRANGE", key, "0", "1"], ["ZRANGE", key, "x", "1"], ["ZRANGE", key, "0", "1", "LIMIT", "0", "1"],
            ["ZRANGEBYSCORE", key, "0", "1"], ["ZRANGEBYSCORE", key, "a", "1"],
            ["ZREVRANGE", key, "0", "1"], ["ZREVRANGEBYSCORE", key, "1", "0"],
            ["ZRANGEBYLEX", key, "-", "+"], ["ZRANGEBYLEX", key, "a", "+"],
            ["ZLEXCOUNT", key, "-", "+"], ["ZLEXCOUNT", key, "x", "+"],
            ["ZPOPMIN", key], ["ZPOPMAX", key, "2"], ["ZPOPMIN", key, "-1"], ["ZPOPMIN", key, "1", "2"],
            ["ZSCAN", key, "0"], ["ZSCAN", key, "x"], ["ZSCAN", key, "0", "COUNT", "0"],
        ])
    differ.script([["GET", "s"], ["HGETALL", "h"]])
    differ.same("ZADD", "z", "1", "a")
    differ.script([["GET", "z"], ["HGET", "z", "a"], ["APPEND", "z", "x"], ["INCR", "z"]])


def test_arity_errors(differ):
    differ.script([
        ["ZADD", "z", "1"], ["ZREM", "z"], ["ZSCORE", "z"], ["ZSCORE", "z", "a", "b"],
        ["ZRANK", "z"], ["ZRANK", "z", "a", "WITHSCORE"], ["ZREVRANK", "z", "a", "b"],
        ["ZCARD"], ["ZCARD", "z", "y"], ["ZCOUNT", "z", "1"], ["ZCOUNT", "z", "1", "2", "3"],
        ["ZRANGE", "z", "1"], ["ZRANGEBYSCORE", "z", "1"], ["ZREVRANGE", "z", "1"],
        ["ZREVRANGEBYSCORE", "z", "1"], ["ZINCRBY", "z", "1"], ["ZRANGEBYLEX", "z", "-"],
        ["ZLEXCOUNT", "z", "-"], ["ZPOPMIN"], ["ZPOPMAX"], ["ZSCAN", "z"],
    ])


# ---------------------------------------------------------------- point reads

def test_zscore_zrank_zrevrank(differ):
    differ.same("ZADD", "z", "1", "a", "2", "b", "2", "c", "3", "d", "-5", "e", "inf", "f")
    for m in ["a", "b", "c", "d", "e", "f", "nope", ""]:
        differ.script([["ZSCORE", "z", m], ["ZRANK", "z", m], ["ZREVRANK", "z", m]])
    differ.script([["ZRANK", "nokey", "a"], ["ZREVRANK", "nokey", "a"], ["ZSCORE", "nokey", "a"]])


def test_binary_members(differ):
    members = ["", " ", "a\x00b", "a\x00", "\r\n", "é", "\xff", "x" * 64, "a" * 10]
    for i, m in enumerate(members):
        differ.same("ZADD", "z", "1", m)
        differ.same("ZADD", "w", str(i), m)
    differ.script([
        ["ZRANGE", "z", "0", "-1"], ["ZRANGE", "w", "0", "-1", "WITHSCORES"],
        ["ZRANGEBYLEX", "z", "-", "+"], ["ZRANGEBYLEX", "z", "[a", "(b"], ["ZRANGEBYLEX", "z", "(", "[a\x00"],
        ["ZLEXCOUNT", "z", "[", "+"], ["ZLEXCOUNT", "z", "(", "+"],
        ["ZSCORE", "z", "a\x00b"], ["ZRANK", "z", "a\x00"], ["ZREVRANK", "w", ""],
        ["ZREM", "z", "", "a\x00b"], ["ZRANGE", "z", "0", "-1"],
    ])


# ---------------------------------------------------------------- ranges

def test_zrange_by_rank(differ):
    zadd_all(differ, "z", [(i % 4, f"m{i}") for i in range(9)])
    idx = ["0", "1", "-1", "-2", "3", "8", "9", "100", "-100", "-9", "-10",
           "9223372036854775807", "-9223372036854775808"]
    for start in idx:
        for stop in idx:
            differ.same("ZRANGE", "z", start, stop)
            differ.same("ZREVRANGE", "z", start, stop, "WITHSCORES")
    differ.script([
        ["ZRANGE", "z", "0", "-1", "REV"], ["ZRANGE", "z", "1", "3", "REV", "WITHSCORES"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES", "WITHSCORES"], ["ZRANGE", "z", "0", "-1", "withscores", "rev"],
        ["ZRANGE", "z", "0", "-1", "LIMIT", "0", "-1"], ["ZRANGE", "z", "0", "2", "LIMIT", "5", "-1", "REV"],
        ["ZRANGE", "nokey", "0", "-1"], ["ZREVRANGE", "nokey", "0", "-1", "WITHSCORES"],
        ["ZRANGE", "z", "0", "9223372036854775808"], ["ZRANGE", "z", "a", "1"], ["ZRANGE", "z", "1", "1.0"],
        ["ZRANGE", "z", "01", "2"], ["ZRANGE", "z", "+1", "2"], ["ZRANGE", "nokey", "x", "1"],
    ])


def test_zrange_rank_on_a_big_set(differ):
    # > 128 members: a skiplist in Redis; walks from both ends here.
    zadd_all(differ, "big", [((i * 37) % 301, f"m{i:03d}") for i in range(301)], chunk=100)
    for start, stop in [(0, 9), (-10, -1), (140, 160), (-160, -140), (0, -1), (290, 400), (-400, 5), (150, 150)]:
        differ.same("ZRANGE", "big", str(start), str(stop), "WITHSCORES")
        differ.same("ZREVRANGE", "big", str(start), str(stop))
        differ.same("ZRANGE", "big", str(start), str(stop), "REV", "WITHSCORES")
    for m in ["m000", "m150", "m300", "m007"]:
        differ.script([["ZRANK", "big", m], ["ZREVRANK", "big", m], ["ZSCORE", "big", m]])


def test_zrange_syntax_errors(differ):
    zadd_all(differ, "z", [(1, "a"), (2, "b"), (3, "c")])
    for key in ("z", "nokey"):
        differ.script([
            ["ZRANGE", key, "0", "-1", "LIMIT", "0", "1"], ["ZRANGE", key, "0", "-1", "LIMIT", "0"],
            ["ZRANGE", key, "0", "-1", "LIMIT", "x", "1"], ["ZRANGE", key, "0", "-1", "LIMIT", "0", "y"],
            ["ZRANGE", key, "[a", "[b", "BYLEX", "WITHSCORES"], ["ZRANGE", key, "0", "1", "REV", "REV"],
            ["ZRANGE", key, "0", "1", "BYSCORE", "BYLEX"], ["ZRANGE", key, "0", "1", "BYSCORE", "BYSCORE"],
            ["ZRANGE", key, "0", "1", "FOO"], ["ZRANGE", key, "0", "1", "BYLEX"],
            ["ZRANGE", key, "a", "1", "BYSCORE"], ["ZRANGE", key, "0", "1", "WITHSCORES", "LIMIT", "0", "1"],
            ["ZRANGE", key, "(1", "+inf", "BYSCORE", "LIMIT", "0", "1", "BYLEX"],
            ["ZRANGE", key, "0", "1", "LIMIT", "x", "1", "BYLEX", "WITHSCORES"],
            ["ZRANGE", key, "[a", "[b", "WITHSCORES", "BYLEX", "LIMIT", "x", "1"],
            ["ZRANGE", key, "[a", "[b", "WITHSCORES", "BYLEX", "LIMIT", "0", "1"],
            ["ZREVRANGE", key, "0", "1", "REV"], ["ZREVRANGE", key, "0", "1", "BYSCORE"],
            ["ZREVRANGE", key, "0", "1", "LIMIT", "0", "1"], ["ZREVRANGE", key, "0", "1", "LIMIT", "0", "-1"],
            ["ZRANGEBYSCORE", key, "0", "1", "REV"], ["ZRANGEBYSCORE", key, "0", "1", "BYSCORE"],
            ["ZRANGEBYSCORE", key, "0", "1", "BYLEX"], ["ZRANGEBYSCORE", key, "0", "1", "LIMIT"],
            ["ZRANGEBYSCORE", key, "0", "1", "LIMIT", "1"], ["ZRANGEBYSCORE", key, "0", "1", "WITHSCORE"],
            ["ZREVRANGEBYSCORE", key, "1", "0", "REV"], ["ZREVRANGEBYSCORE", key, "x", "0"],
            ["ZRANGEBYLEX", key, "-", "+", "WITHSCORES"], ["ZRANGEBYLEX", key, "-", "+", "REV"],
            ["ZRANGEBYLEX", key, "-", "+", "BYLEX"], ["ZRANGEBYLEX", key, "-", "+", "LIMIT", "0", "x"],
        ])


SCORE_ITEMS = ["-inf", "+inf", "inf", "-1", "0", "(0", "1", "(1", "1.5", "(1.5", "2", "(2", "3", "(3",
               "10", "(10", "(-inf", "(+inf", "", "(", " 2", "2 ", "0x2", "1e999", "(-1e999", "nan",
               "(nan", "abc", "((1", "1\x00junk", "-0", "(-0", "+2", ".5e1"]


def test_score_ranges(differ):
    zadd_all(differ, "z", [(1, "a"), (1, "b"), (1.5, "c"), (2, "d"), (3, "e"), (3, "f"), (10, "g"),
                           ("-inf", "n"), ("inf", "p"), (-1, "q")])
    for lo in SCORE_ITEMS:
        for hi in SCORE_ITEMS:
            differ.same("ZCOUNT", "z", lo, hi)
            differ.same("ZRANGEBYSCORE", "z", lo, hi)
            differ.same("ZREVRANGEBYSCORE", "z", hi, lo, "WITHSCORES")
    differ.script([["ZCOUNT", "nokey", "0", "1"], ["ZCOUNT", "nokey", "x", "1"],
                   ["ZRANGEBYSCORE", "nokey", "0", "1"], ["ZRANGEBYSCORE", "nokey", "0", "x"]])


LIMITS = [("0", "-1"), ("0", "0"), ("0", "1"), ("1", "2"), ("2", "100"), ("9", "1"), ("10", "1"),
          ("100", "1"), ("-1", "1"), ("-1", "-1"), ("1", "-5"), ("3", "0"),
          ("9223372036854775807", "1"), ("0", "9223372036854775807")]


def test_score_ranges_with_limit(differ):
    zadd_all(differ, "z", [(i // 2, f"m{i}") for i in range(10)])
    for lo, hi in [("-inf", "+inf"), ("1", "3"), ("(1", "(4"), ("2", "2"), ("5", "1")]:
        for off, cnt in LIMITS:
            differ.same("ZRANGEBYSCORE", "z", lo, hi, "LIMIT", off, cnt)
            differ.same("ZRANGEBYSCORE", "z", lo, hi, "WITHSCORES", "LIMIT", off, cnt)
            differ.same("ZREVRANGEBYSCORE", "z", hi, lo, "LIMIT", off, cnt, "WITHSCORES")
            differ.same("ZRANGE", "z", lo, hi, "BYSCORE", "LIMIT", off, cnt)
            differ.same("ZRANGE", "z", hi, lo, "BYSCORE", "REV", "LIMIT", off, cnt, "WITHSCORES")
    differ.script([
        ["ZRANGE", "z", "1", "3", "BYSCORE", "REV"], ["ZRANGE", "z", "3", "1", "REV", "BYSCORE"],
        ["ZRANGEBYSCORE", "z", "0", "10", "LIMIT", "1", "2", "LIMIT", "3", "1"],
    ])


def test_score_ranges_on_a_big_set(differ):
    zadd_all(differ, "big", [((i * 7) % 200 / 4, f"m{i:03d}") for i in range(300)], chunk=100)
    for lo, hi in [("-inf", "+inf"), ("10", "20"), ("(10", "(20"), ("49.75", "+inf"), ("-inf", "(0.25")]:
        differ.same("ZCOUNT", "big", lo, hi)
        differ.same("ZRANGEBYSCORE", "big", lo, hi, "WITHSCORES")
        for off, cnt in [("0", "5"), ("17", "3"), ("290", "50"), ("-1", "5"), ("5", "-1")]:
            differ.same("ZRANGEBYSCORE", "big", lo, hi, "LIMIT", off, cnt)
            differ.same("ZREVRANGEBYSCORE", "big", hi, lo, "LIMIT", off, cnt, "WITHSCORES")


LEX_ITEMS = ["-", "+", "[a", "(a", "[b", "(b", "[bb", "(bb", "[c", "(c", "[d", "(d", "[z", "(z", "[", "(",
             "a", "", "+a", "-a", "[\x00", "-\x00x"]


def test_lex_ranges_equal_scores(differ):
    zadd_all(differ, "z", [(0, m) for m in ["a", "b", "ba", "bb", "bc", "c", "cc", "d", ""]])
    for lo in LEX_ITEMS:
        for hi in LEX_ITEMS:
            differ.same("ZLEXCOUNT", "z", lo, hi)
            differ.same("ZRANGEBYLEX", "z", lo, hi)
            differ.same("ZRANGE", "z", hi, lo, "BYLEX", "REV")
    for off, cnt in LIMITS:
        differ.same("ZRANGEBYLEX", "z", "[b", "+", "LIMIT", off, cnt)
        differ.same("ZRANGE", "z", "(c", "-", "BYLEX", "REV", "LIMIT", off, cnt)
    differ.script([["ZLEXCOUNT", "nokey", "-", "+"], ["ZLEXCOUNT", "nokey", "x", "+"],
                   ["ZRANGEBYLEX", "nokey", "-", "+"], ["ZRANGEBYLEX", "nokey", "-", "x"]])


def test_lex_ranges_big_set_equal_scores(differ):
    members = [f"{w}{i}" for i, w in enumerate(random.Random(3).choices(["a", "b", "ca", "cb", "d"], k=400))]
    zadd_all(differ, "big", [(7, m) for m in members], chunk=100)
    for lo, hi in [("-", "+"), ("[b", "(c"), ("(ca1", "[cb"), ("[d", "+"), ("-", "(a5"), ("[e", "+")]:
        differ.same("ZLEXCOUNT", "big", lo, hi)
        differ.same("ZRANGEBYLEX", "big", lo, hi)
        differ.same("ZRANGEBYLEX", "big", lo, hi, "LIMIT", "3", "7")
        differ.same("ZRANGE", "big", hi, lo, "BYLEX", "REV", "LIMIT", "10", "20")


def test_lex_ranges_mixed_scores_like_redis_listpack(differ):
    # Redis leaves lex ranges over different scores unspecified; small sets behave like its
    # listpack walk (first member >= min in score order, then until one is > max).
    zadd_all(differ, "z", [(1, "c"), (2, "a"), (3, "e"), (4, "b"), (5, "d"), (6, "f")])
    for lo in ["-", "+", "[a", "(b", "[c", "[d", "(e", "[f", "[g"]:
        for hi in ["-", "+", "[a", "(b", "[c", "[d", "(e", "[f", "[g"]:
            differ.same("ZLEXCOUNT", "z", lo, hi)
            differ.same("ZRANGEBYLEX", "z", lo, hi)
            differ.same("ZRANGEBYLEX", "z", lo, hi, "LIMIT", "1", "2")
            differ.same("ZRANGE", "z", hi, lo, "BYLEX", "REV")
            differ.same("ZRANGE", "z", hi, lo, "BYLEX", "REV", "LIMIT", "2", "-1")


def test_random_ranges_against_redis(differ):
    rnd = random.Random(20240601)
    for round_ in range(4):
        key = f"r{round_}"
        n = rnd.randint(1, 120)
        pairs = [(rnd.choice(["0", "1", "2", "-1", "2.5", "-inf", "+inf", "1e10"]),
                  "".join(rnd.choices("abc", k=rnd.randint(0, 3)))) for _ in range(n)]
        zadd_all(differ, key, pairs)
        items = ["-inf", "+inf", "0", "(0", "1", "(1", "2", "(2.5", "-1", "(1e10"]
        lex = ["-", "+", "[a", "(a", "[ab", "(b", "[c", "(cc", "["]
        for _ in range(60):
            off, cnt = str(rnd.randint(-1, 5)), str(rnd.randint(-1, 6))
            lo, hi = rnd.choice(items), rnd.choice(items)
            differ.same("ZRANGEBYSCORE", key, lo, hi, "WITHSCORES", "LIMIT", off, cnt)
            differ.same("ZREVRANGEBYSCORE", key, hi, lo, "LIMIT", off, cnt)
            differ.same("ZCOUNT", key, lo, hi)
            lo, hi = rnd.choice(lex), rnd.choice(lex)
            differ.same("ZRANGEBYLEX", key, lo, hi, "LIMIT", off, cnt)
            differ.same("ZRANGE", key, hi, lo, "BYLEX", "REV", "LIMIT", off, cnt)
            differ.same("ZLEXCOUNT", key, lo, hi)
            a, b = str(rnd.randint(-n - 2, n + 2)), str(rnd.randint(-n - 2, n + 2))
            differ.same("ZRANGE", key, a, b, "WITHSCORES")
            differ.same("ZREVRANGE", key, a, b)
        differ.same("ZRANGE", key, "0", "-1", "WITHSCORES")
        for m in {m for _, m in pairs}:
            differ.script([["ZRANK", key, m], ["ZREVRANK", key, m]])


# ---------------------------------------------------------------- ZPOPMIN / ZPOPMAX

def test_zpop_reply_shapes(differ):
    zadd_all(differ, "z", [(1, "a"), (2, "b"), (3, "c"), (3, "d"), (5, "e"), (0.5, "f")])
    differ.script([
        ["ZPOPMIN", "z"], ["ZPOPMAX", "z"], ["ZPOPMIN", "z", "1"], ["ZPOPMAX", "z", "2"],
        ["ZPOPMIN", "z", "0"], ["ZPOPMAX", "z", "0"], ["ZCARD", "z"],
        ["ZPOPMIN", "z", "10"], ["EXISTS", "z"],
        ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "3"], ["ZPOPMIN", "z", "0"],
        ["ZPOPMIN", "nokey"], ["ZPOPMAX", "nokey", "1"],
    ])


def test_zpop_errors(differ):
    differ.same("ZADD", "z", "1", "a")
    differ.script([
        ["ZPOPMIN", "z", "-1"], ["ZPOPMAX", "z", "x"], ["ZPOPMIN", "z", "1.5"],
        ["ZPOPMIN", "z", "9223372036854775808"], ["ZPOPMAX", "z", "1", "2"], ["ZPOPMIN", "z", "x", "y"],
        ["ZPOPMIN", "nokey", "-1"], ["ZPOPMIN", "nokey", "1", "2"], ["ZPOPMAX", "z", "9223372036854775807"],
        ["ZPOPMIN", "z"], ["EXISTS", "z"],
    ])


def test_zpop_big_set(differ):
    zadd_all(differ, "big", [((i * 13) % 250, f"m{i:03d}") for i in range(250)], chunk=125)
    differ.script([["ZPOPMIN", "big", "7"], ["ZPOPMAX", "big", "9"], ["ZPOPMIN", "big"],
                   ["ZPOPMAX", "big"], ["ZCARD", "big"], ["ZRANGE", "big", "0", "4", "WITHSCORES"],
                   ["ZPOPMAX", "big", "1000"], ["EXISTS", "big"]])


# ---------------------------------------------------------------- ZSCAN

def test_zscan_small_and_errors(differ):
    zadd_all(differ, "z", [(1, "a"), (2.5, "b"), (0.1, "c"), ("inf", "d"), (-3, "key:1"), (1e20, "key:2")])
    differ.same("ZSCAN", "z", "0", order=False)
    differ.same("ZSCAN", "z", "0", "MATCH", "key:*", order=False)
    differ.same("ZSCAN", "z", "0", "match", "*", "count", "100", order=False)
    differ.same("ZSCAN", "z", "0", "MATCH", "nomatch*")
    differ.same("ZSCAN", "z", "", order=False)
    differ.script([
        ["ZSCAN", "z", "x"], ["ZSCAN", "z", " 0"], ["ZSCAN", "z", "0 "], ["ZSCAN", "z", "1.5"],
        ["ZSCAN", "z", "18446744073709551616"], ["ZSCAN", "z", "+"], ["ZSCAN", "z", "-"],
        ["ZSCAN", "z", "0", "COUNT", "0"], ["ZSCAN", "z", "0", "COUNT", "-1"], ["ZSCAN", "z", "0", "COUNT", "x"],
        ["ZSCAN", "z", "0", "COUNT"], ["ZSCAN", "z", "0", "MATCH"], ["ZSCAN", "z", "0", "FOO", "bar"],
        ["ZSCAN", "z", "0", "TYPE", "zset"],
        ["ZSCAN", "nokey", "0"], ["ZSCAN", "nokey", "0", "COUNT", "0"], ["ZSCAN", "nokey", "0", "FOO"],
        ["ZSCAN", "nokey", "x"],
    ])


def full_zscan(conn, key, count=10, match=None):
    """Every (member, score) of a complete ZSCAN iteration (with repeats), and the call count."""
    cursor, seen, calls = b"0", [], 0
    while True:
        args = ["ZSCAN", key, cursor] + (["MATCH", match] if match else []) + ["COUNT", str(count)]
        v = parse(conn.call(*args))[0]
        assert v[0] == "array" and len(v[1]) == 2, v
        cursor = v[1][0][1]
        flat = [x[1] for x in v[1][1][1]]
        seen += list(zip(flat[::2], flat[1::2]))
        calls += 1
        if cursor == b"0":
            return seen, calls


def test_zscan_full_iteration(server):
    with RawConn(server) as c:
        members = [f"m{i}".encode() for i in range(1000)]
        for i in range(0, 1000, 100):
            args = []
            for j in range(i, i + 100):
                args += [str(j / 4), members[j]]
            assert c.call("ZADD", "z", *args) == b":100\r\n"
        seen, calls = full_zscan(c, "z", count=25)
        assert sorted(m for m, _ in seen) == sorted(members), "every member exactly once"
        assert all(float(s) == int(m[1:]) / 4 for m, s in seen)
        assert calls > 1000 // 25 - 5
        seen, _ = full_zscan(c, "z", count=100, match="m1*")
        assert sorted(m for m, _ in seen) == sorted(m for m in members if m.startswith(b"m1"))


def test_zscan_while_members_change(server):
    """Members present for the whole iteration are returned at least once while others are
    added and removed concurrently."""
    stable = [f"s{i}".encode() for i in range(600)]
    with RawConn(server) as c:
        for i in range(0, 600, 200):
            args = []
            for j in range(i, i + 200):
                args += [str(j), stable[j]]
            c.call("ZADD", "z", *args)
    stop = threading.Event()
    errors = []
    ops = [0]

    def churn():
        rnd = random.Random(5)
        with RawConn(server) as w:
            n = 0
            while not stop.is_set():
                n += 1
                ops[0] = n
                r1 = w.call("ZADD", "z", str(rnd.random() * 600), f"tmp{n}")
                r2 = w.call("ZREM", "z", f"tmp{rnd.randint(1, n)}")
                r3 = w.call("ZINCRBY", "z", "0", stable[rnd.randrange(600)])
                if not (r1.startswith(b":") and r2.startswith(b":") and r3.startswith(b"$")):
                    errors.append((r1, r2, r3))

    t = threading.Thread(target=churn)
    t.start()
    try:
        with RawConn(server) as c:
            for _ in range(3):
                seen, _ = full_zscan(c, "z", count=20)
                got = {m for m, _ in seen}
                missing = [m for m in stable if m not in got]
                assert not missing, f"{len(missing)} stable members missed, e.g. {missing[:5]}"
                time.sleep(0.05)
    finally:
        stop.set()
        t.join()
    assert not errors, errors[:3]
    assert ops[0] > 20, "the writer changed the set while the scans ran"


# ---------------------------------------------------------------- expiry, pipelines

def test_ttl_survives_member_changes(differ):
    differ.script([
        ["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["EXPIRE", "z", "1000"],
        ["ZADD", "z", "4", "d"], ["ZINCRBY", "z", "1", "a"], ["ZREM", "z", "b"], ["ZPOPMIN", "z"],
        ["ZADD", "z", "XX", "9", "c"],
    ])
    mine, ref = differ.both("TTL", "z")
    assert mine in (b":999\r\n", b":1000\r\n") and ref in (b":999\r\n", b":1000\r\n"), (mine, ref)
    differ.script([["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["PERSIST", "z"], ["TTL", "z"]])


def test_expired_zset_is_gone(differ):
    differ.script([["ZADD", "z", "1", "a", "2", "b"], ["PEXPIRE", "z", "50"]])
    time.sleep(0.3)
    differ.script([
        ["ZCARD", "z"], ["ZSCORE", "z", "a"], ["ZRANGE", "z", "0", "-1"], ["ZSCAN", "z", "0"],
        ["EXISTS", "z"], ["ZADD", "z", "XX", "5", "a"], ["ZADD", "z", "NX", "5", "c"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["TTL", "z"],
    ])


def test_pipelined_writes_and_reads(differ):
    differ.pipeline(
        ["ZADD", "p", "1", "a", "2", "b"], ["ZINCRBY", "p", "5", "a"], ["ZRANGE", "p", "0", "-1", "WITHSCORES"],
        ["ZREM", "p", "b"], ["ZPOPMAX", "p", "1"], ["ZCARD", "p"], ["EXISTS", "p"],
        ["ZADD", "p", "3", "x", "1", "y"], ["ZRANK", "p", "x"], ["ZADD", "p", "0", "x"],
        ["ZRANGEBYSCORE", "p", "-inf", "+inf", "WITHSCORES"], ["ZPOPMIN", "p"], ["ZRANGE", "p", "0", "-1"],
    )


def test_multi_key_tags_and_key_reuse(differ):
    # A key dropped and recreated as a zset never sees its old members.
    differ.script([
        ["ZADD", "{t}a", "1", "x", "2", "y"], ["DEL", "{t}a"], ["ZADD", "{t}a", "3", "z"],
        ["ZRANGE", "{t}a", "0", "-1", "WITHSCORES"], ["SET", "{t}a", "str"], ["ZADD", "{t}a", "1", "q"],
        ["DEL", "{t}a"], ["ZADD", "{t}a", "1", "q"], ["ZRANGE", "{t}a", "0", "-1"],
        ["ZADD", "{t}b", "1", "x"], ["DEL", "{t}a", "{t}b"], ["EXISTS", "{t}a", "{t}b"],
    ])


# ---------------------------------------------------------------- a large set

def test_large_zset(server):
    n = BIG_N
    per_cmd = 1000
    c = server.client(protocol=2, decode_responses=False)
    try:
        score = {}
        with c.pipeline(transaction=False) as p:
            for i in range(0, n, per_cmd):
                args = []
                for j in range(i, i + per_cmd):
                    s = (j * 7919) % 200003 - 100000
                    score[b"m%06d" % j] = s
                    args += [s, b"m%06d" % j]
                p.execute_command("ZADD", "big", *args)
            replies = p.execute()
        assert replies == [per_cmd] * (n // per_cmd)
        order = sorted(score, key=lambda m: (score[m], m))
        assert call_raw(c, "ZCARD", "big") == n
        assert call_raw(c, "ZRANGE", "big", 0, 9) == order[:10]
        got = call_raw(c, "ZRANGE", "big", 0, 2, "WITHSCORES")
        assert got == [x for m in order[:3] for x in (m, str(score[m]).encode())]
        assert call_raw(c, "ZREVRANGE", "big", 0, 0) == [order[-1]]
        assert call_raw(c, "ZRANGE", "big", -3, -1) == order[-3:]
        assert call_raw(c, "ZRANGE", "big", 100000, 100004) == order[100000:100005]
        assert call_raw(c, "ZRANGEBYSCORE", "big", "(0", "+inf", "LIMIT", 5, 3) == \
            [m for m in order if score[m] > 0][5:8]
        assert call_raw(c, "ZREVRANGEBYSCORE", "big", "-50000", "-inf", "LIMIT", 2, 4) == \
            [m for m in reversed(order) if score[m] <= -50000][2:6]
        assert call_raw(c, "ZCOUNT", "big", "-1000", "1000") == sum(-1000 <= s <= 1000 for s in score.values())
        assert call_raw(c, "ZSCORE", "big", b"m123456") == str(score[b"m123456"]).encode()
        low = order[123]
        assert call_raw(c, "ZRANK", "big", low) == 123
        assert call_raw(c, "ZREVRANK", "big", order[-42]) == 41
        with RawConn(server) as raw:
            seen, calls = full_zscan(raw, "big", count=1000)
        assert len(seen) == n, "every member exactly once"
        assert {m for m, _ in seen} == set(score)
        assert all(int(s) == score[m] for m, s in seen)
        assert calls >= n // 1000
        assert call_raw(c, "ZPOPMIN", "big", 2) == [x for m in order[:2] for x in (m, str(score[m]).encode())]
        assert call_raw(c, "ZCARD", "big") == n - 2
        # Bounded commands on the big set keep server memory flat; DEL is one write.
        before = rss_kb(server)
        for _ in range(50):
            call_raw(c, "ZRANGE", "big", 0, 9)
            call_raw(c, "ZCARD", "big")
            call_raw(c, "ZSCAN", "big", 0, "COUNT", 10)
        assert rss_kb(server) - before < 64 * 1024, "bounded commands must not load the set"
        assert call_raw(c, "DEL", "big") == 1
        assert call_raw(c, "ZCARD", "big") == 0 and call_raw(c, "ZRANGE", "big", 0, -1) == []
        assert call_raw(c, "ZADD", "big", 1, "x") == 1
        assert call_raw(c, "ZRANGE", "big", 0, -1) == [b"x"]
    finally:
        c.close()
