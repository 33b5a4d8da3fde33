"""Hash commands, compared with redis-server 7.0.15 in RESP2 and RESP3."""


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
