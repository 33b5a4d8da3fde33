package zset

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

func TestZSet(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()
	cl := srv.NewClients()
	rdb, rdb2, c2, c3 := cl.RDB, cl.RDB2, cl.C2, cl.C3

	expectErr := cl.ExpectErr
	z := func(score float64, member string) redis.Z { return redis.Z{Score: score, Member: member} }
	reset := func(t *testing.T, key string, members ...redis.Z) {
		t.Helper()
		require.NoError(t, rdb.Del(ctx, key).Err())
		if len(members) > 0 {
			require.EqualValues(t, len(members), rdb.ZAdd(ctx, key, members...).Val())
		}
	}

	t.Run("ZADD adds and updates, ZCARD and ZSCORE read back", func(t *testing.T) {
		reset(t, "z")
		require.EqualValues(t, 3, rdb.ZAdd(ctx, "z", z(1, "a"), z(2, "b"), z(3, "c")).Val())
		require.EqualValues(t, 1, rdb.ZAdd(ctx, "z", z(10, "a"), z(4, "d")).Val())
		require.EqualValues(t, 4, rdb.ZCard(ctx, "z").Val())
		require.Equal(t, 10.0, rdb.ZScore(ctx, "z", "a").Val())
		require.Equal(t, 10.0, rdb2.ZScore(ctx, "z", "a").Val())
		require.Equal(t, redis.Nil, rdb.ZScore(ctx, "z", "nope").Err())
		require.Equal(t, redis.Nil, rdb.ZScore(ctx, "nokey", "a").Err())
		require.EqualValues(t, 0, rdb.ZCard(ctx, "nokey").Val())
		require.Equal(t, "zset", rdb.Type(ctx, "z").Val())
		// the same member twice in one command: added, then updated
		require.Equal(t, ":1\r\n", c2.Do("ZADD", "z", "1", "x", "2", "x"))
		require.Equal(t, 2.0, rdb.ZScore(ctx, "z", "x").Val())
	})

	t.Run("ZADD NX XX GT LT CH", func(t *testing.T) {
		reset(t, "z", z(10, "a"), z(10, "b"))
		require.EqualValues(t, 1, rdb.ZAddNX(ctx, "z", z(1, "a"), z(1, "c")).Val())
		require.Equal(t, 10.0, rdb.ZScore(ctx, "z", "a").Val())
		require.EqualValues(t, 0, rdb.ZAddXX(ctx, "z", z(5, "a"), z(1, "nope")).Val())
		require.Equal(t, 5.0, rdb.ZScore(ctx, "z", "a").Val())
		require.Equal(t, redis.Nil, rdb.ZScore(ctx, "z", "nope").Err())
		require.EqualValues(t, 1, rdb.ZAddArgs(ctx, "z", redis.ZAddArgs{GT: true, Ch: true, Members: []redis.Z{z(1, "a"), z(20, "b")}}).Val())
		require.EqualValues(t, 1, rdb.ZAddArgs(ctx, "z", redis.ZAddArgs{LT: true, Ch: true, Members: []redis.Z{z(1, "a"), z(30, "b")}}).Val())
		require.Equal(t, []redis.Z{z(1, "a"), z(1, "c"), z(20, "b")}, rdb.ZRangeWithScores(ctx, "z", 0, -1).Val())
		require.EqualValues(t, 2, rdb.ZAddArgs(ctx, "z", redis.ZAddArgs{Ch: true, Members: []redis.Z{z(1, "a"), z(2, "c"), z(3, "new")}}).Val())
		// GT and LT only limit updates: new members are added
		require.EqualValues(t, 1, rdb.ZAddGT(ctx, "z", z(-100, "low")).Val())
		require.EqualValues(t, 0, rdb.ZAddArgs(ctx, "z", redis.ZAddArgs{XX: true, GT: true, Members: []redis.Z{z(0, "a"), z(1, "missing")}}).Val())
		require.Equal(t, 1.0, rdb.ZScore(ctx, "z", "a").Val())
		// XX on a missing key creates nothing
		require.EqualValues(t, 0, rdb.ZAddXX(ctx, "fresh", z(1, "a")).Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "fresh").Val())
	})

	t.Run("ZADD INCR and ZINCRBY", func(t *testing.T) {
		reset(t, "z")
		require.Equal(t, 1.5, rdb.ZAddArgsIncr(ctx, "z", redis.ZAddArgs{Members: []redis.Z{z(1.5, "a")}}).Val())
		require.Equal(t, 4.0, rdb.ZAddArgsIncr(ctx, "z", redis.ZAddArgs{Members: []redis.Z{z(2.5, "a")}}).Val())
		require.Equal(t, 3.0, rdb.ZIncrBy(ctx, "z", -1, "a").Val())
		require.Equal(t, 5.0, rdb.ZIncrBy(ctx, "z", 5, "b").Val())
		// INCR that changes nothing replies a null
		err := rdb.ZAddArgsIncr(ctx, "z", redis.ZAddArgs{NX: true, Members: []redis.Z{z(1, "a")}}).Err()
		require.Equal(t, redis.Nil, err)
		require.Equal(t, "$-1\r\n", c2.Do("ZADD", "z", "XX", "INCR", "1", "missing"))
		require.Equal(t, "_\r\n", c3.Do("ZADD", "z", "GT", "INCR", "-1", "a"))
		require.Equal(t, "$1\r\n4\r\n", c2.Do("ZADD", "z", "GT", "INCR", "1", "a"))
		require.Equal(t, ",5\r\n", c3.Do("ZINCRBY", "z", "1", "a"))
		require.Equal(t, "$18\r\n5.0999999999999996\r\n", c2.Do("ZINCRBY", "z", "0.1", "a"))
		// infinities and NaN results
		require.Equal(t, math.Inf(1), rdb.ZIncrBy(ctx, "z", math.Inf(1), "i").Val())
		expectErr(t, "ERR resulting score is not a number (NaN)", "ZINCRBY", "z", "-inf", "i")
		expectErr(t, "ERR resulting score is not a number (NaN)", "ZADD", "z", "INCR", "-inf", "i")
		require.Equal(t, ",inf\r\n", c3.Do("ZSCORE", "z", "i"))
		require.Equal(t, "$3\r\ninf\r\n", c2.Do("ZSCORE", "z", "i"))
		expectErr(t, "ERR value is not a valid float", "ZINCRBY", "z", "abc", "a")
		expectErr(t, "ERR value is not a valid float", "ZINCRBY", "z", "nan", "a")
	})

	t.Run("ZADD errors", func(t *testing.T) {
		reset(t, "z")
		expectErr(t, "ERR wrong number of arguments for 'zadd' command", "ZADD", "z", "1")
		expectErr(t, "ERR syntax error", "ZADD", "z", "1", "a", "2")
		expectErr(t, "ERR syntax error", "ZADD", "z", "NX", "1")
		expectErr(t, "ERR XX and NX options at the same time are not compatible", "ZADD", "z", "NX", "XX", "1", "a")
		expectErr(t, "ERR GT, LT, and/or NX options at the same time are not compatible", "ZADD", "z", "GT", "LT", "1", "a")
		expectErr(t, "ERR GT, LT, and/or NX options at the same time are not compatible", "ZADD", "z", "NX", "GT", "1", "a")
		expectErr(t, "ERR INCR option supports a single increment-element pair", "ZADD", "z", "INCR", "1", "a", "2", "b")
		expectErr(t, "ERR value is not a valid float", "ZADD", "z", "1", "a", "x", "b")
		expectErr(t, "ERR value is not a valid float", "ZADD", "z", "nan", "a")
		// nothing was written by a failed ZADD
		require.EqualValues(t, 0, rdb.Exists(ctx, "z").Val())
	})

	t.Run("-0 is stored as 0 and INCR replies the computed score", func(t *testing.T) {
		reset(t, "z")
		require.Equal(t, ":1\r\n", c2.Do("ZADD", "z", "-0", "a"))
		require.Equal(t, "$1\r\n0\r\n", c2.Do("ZSCORE", "z", "a"))
		require.Equal(t, "$2\r\n-0\r\n", c2.Do("ZINCRBY", "z", "-0", "b"))
		require.Equal(t, ",0\r\n", c3.Do("ZSCORE", "z", "b"))
		require.Equal(t, ":0\r\n", c2.Do("ZADD", "z", "CH", "0", "a"))
	})

	t.Run("ZREM removes and an emptied zset is deleted", func(t *testing.T) {
		reset(t, "z", z(1, "a"), z(2, "b"), z(3, "c"))
		require.EqualValues(t, 2, rdb.ZRem(ctx, "z", "a", "nope", "b", "a").Val())
		require.EqualValues(t, 1, rdb.ZCard(ctx, "z").Val())
		require.EqualValues(t, 0, rdb.ZRem(ctx, "nokey", "a").Val())
		require.EqualValues(t, 1, rdb.ZRem(ctx, "z", "c").Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "z").Val())
		require.Equal(t, "none", rdb.Type(ctx, "z").Val())
		expectErr(t, "ERR wrong number of arguments for 'zrem' command", "ZREM", "z")
	})

	t.Run("ZRANK and ZREVRANK", func(t *testing.T) {
		reset(t, "z", z(1, "a"), z(2, "b"), z(2, "c"), z(3, "d"))
		for i, m := range []string{"a", "b", "c", "d"} {
			require.EqualValues(t, i, rdb.ZRank(ctx, "z", m).Val(), m)
			require.EqualValues(t, 3-i, rdb.ZRevRank(ctx, "z", m).Val(), m)
		}
		require.Equal(t, redis.Nil, rdb.ZRank(ctx, "z", "nope").Err())
		require.Equal(t, redis.Nil, rdb2.ZRevRank(ctx, "nokey", "a").Err())
		require.Equal(t, "$-1\r\n", c2.Do("ZRANK", "z", "nope"))
		require.Equal(t, "_\r\n", c3.Do("ZREVRANK", "z", "nope"))
		expectErr(t, "ERR wrong number of arguments for 'zrank' command", "ZRANK", "z", "a", "WITHSCORE")
	})

	t.Run("ZRANGE and ZREVRANGE by index", func(t *testing.T) {
		reset(t, "z", z(1, "a"), z(2, "b"), z(3, "c"), z(4, "d"), z(5, "e"))
		require.Equal(t, []string{"a", "b", "c", "d", "e"}, rdb.ZRange(ctx, "z", 0, -1).Val())
		require.Equal(t, []string{"d", "e"}, rdb.ZRange(ctx, "z", -2, -1).Val())
		require.Equal(t, []string{"a", "b"}, rdb.ZRange(ctx, "z", -100, 1).Val())
		require.Equal(t, []string{}, rdb.ZRange(ctx, "z", 3, 1).Val())
		require.Equal(t, []string{}, rdb.ZRange(ctx, "z", 5, 10).Val())
		require.Equal(t, []string{"e", "d"}, rdb.ZRevRange(ctx, "z", 0, 1).Val())
		require.Equal(t, []string{"b", "a"}, rdb.ZRevRange(ctx, "z", -2, 100).Val())
		require.Equal(t, []redis.Z{z(5, "e"), z(4, "d")}, rdb.ZRevRangeWithScores(ctx, "z", 0, 1).Val())
		require.Equal(t, []redis.Z{z(1, "a"), z(2, "b")}, rdb2.ZRangeWithScores(ctx, "z", 0, 1).Val())
		require.Equal(t, []string{"c", "b"}, rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: "z", Start: 2, Stop: 3, Rev: true}).Val())
		// WITHSCORES: nested pairs in RESP3, a flat array in RESP2
		require.Equal(t, "*1\r\n*2\r\n$1\r\na\r\n,1\r\n", c3.Do("ZRANGE", "z", "0", "0", "WITHSCORES"))
		require.Equal(t, "*2\r\n$1\r\na\r\n$1\r\n1\r\n", c2.Do("ZRANGE", "z", "0", "0", "WITHSCORES"))
		require.Equal(t, "*0\r\n", c3.Do("ZRANGE", "nokey", "0", "-1"))
		expectErr(t, "ERR value is not an integer or out of range", "ZRANGE", "z", "a", "1")
		expectErr(t, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
			"ZRANGE", "z", "0", "1", "LIMIT", "0", "1")
		expectErr(t, "ERR syntax error", "ZREVRANGE", "z", "0", "1", "REV")
		expectErr(t, "ERR syntax error", "ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX")
	})

	t.Run("ZRANGEBYSCORE, ZREVRANGEBYSCORE and ZCOUNT", func(t *testing.T) {
		reset(t, "z", z(1, "a"), z(2, "b"), z(3, "c"), z(4, "d"), z(5, "e"), z(math.Inf(-1), "ninf"), z(math.Inf(1), "pinf"))
		require.Equal(t, []string{"b", "c", "d"}, rdb.ZRangeByScore(ctx, "z", &redis.ZRangeBy{Min: "(1", Max: "4"}).Val())
		require.Equal(t, []string{"c", "d"}, rdb.ZRangeByScore(ctx, "z", &redis.ZRangeBy{Min: "-inf", Max: "+inf", Offset: 3, Count: 2}).Val())
		require.Equal(t, []string{"pinf", "e", "d"}, rdb.ZRevRangeByScore(ctx, "z", &redis.ZRangeBy{Min: "(3", Max: "+inf"}).Val())
		require.Equal(t, []redis.Z{z(4, "d"), z(3, "c")}, rdb.ZRevRangeByScoreWithScores(ctx, "z", &redis.ZRangeBy{Min: "1", Max: "(5", Offset: 0, Count: 2}).Val())
		require.Equal(t, []redis.Z{z(math.Inf(-1), "ninf")}, rdb2.ZRangeByScoreWithScores(ctx, "z", &redis.ZRangeBy{Min: "-inf", Max: "(1"}).Val())
		require.Equal(t, []string{"d", "c"}, rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: "z", Start: "(5", Stop: 2, ByScore: true, Rev: true, Offset: 0, Count: 2}).Val())
		require.Equal(t, []string{}, rdb.ZRangeByScore(ctx, "z", &redis.ZRangeBy{Min: "5", Max: "1"}).Val())
		require.Equal(t, "*0\r\n", c2.Do("ZRANGEBYSCORE", "z", "1", "5", "LIMIT", "-1", "2"))
		require.Equal(t, "*1\r\n$1\r\ne\r\n", c2.Do("ZRANGEBYSCORE", "z", "1", "5", "LIMIT", "4", "-1"))
		require.EqualValues(t, 7, rdb.ZCount(ctx, "z", "-inf", "+inf").Val())
		require.EqualValues(t, 3, rdb.ZCount(ctx, "z", "(1", "(5").Val())
		require.EqualValues(t, 0, rdb.ZCount(ctx, "nokey", "0", "1").Val())
		expectErr(t, "ERR min or max is not a float", "ZCOUNT", "z", "x", "1")
		expectErr(t, "ERR min or max is not a float", "ZRANGEBYSCORE", "z", "1", "nan")
		expectErr(t, "ERR syntax error", "ZRANGEBYSCORE", "z", "1", "2", "LIMIT", "1")
		expectErr(t, "ERR value is not an integer or out of range", "ZRANGEBYSCORE", "z", "1", "2", "LIMIT", "x", "1")
	})

	t.Run("ZRANGEBYLEX and ZLEXCOUNT", func(t *testing.T) {
		reset(t, "z", z(0, "a"), z(0, "b"), z(0, "c"), z(0, "d"), z(0, "e"))
		require.Equal(t, []string{"b", "c"}, rdb.ZRangeByLex(ctx, "z", &redis.ZRangeBy{Min: "[b", Max: "(d"}).Val())
		require.Equal(t, []string{"a", "b", "c", "d", "e"}, rdb.ZRangeByLex(ctx, "z", &redis.ZRangeBy{Min: "-", Max: "+"}).Val())
		require.Equal(t, []string{"c", "d"}, rdb.ZRangeByLex(ctx, "z", &redis.ZRangeBy{Min: "-", Max: "+", Offset: 2, Count: 2}).Val())
		require.Equal(t, []string{"c", "b", "a"}, rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: "z", Start: "[c", Stop: "-", ByLex: true, Rev: true}).Val())
		require.EqualValues(t, 3, rdb.ZLexCount(ctx, "z", "(a", "[d").Val())
		require.EqualValues(t, 0, rdb.ZLexCount(ctx, "z", "+", "-").Val())
		require.EqualValues(t, 0, rdb.ZLexCount(ctx, "nokey", "-", "+").Val())
		expectErr(t, "ERR min or max not valid string range item", "ZLEXCOUNT", "z", "a", "+")
		expectErr(t, "ERR min or max not valid string range item", "ZRANGEBYLEX", "z", "-", "+x")
		expectErr(t, "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
			"ZRANGEBYLEX", "z", "-", "+", "WITHSCORES")
	})

	t.Run("ZPOPMIN and ZPOPMAX", func(t *testing.T) {
		reset(t, "z", z(1, "a"), z(2, "b"), z(3, "c"), z(4, "d"), z(5, "e"))
		require.Equal(t, []redis.Z{z(1, "a")}, rdb.ZPopMin(ctx, "z").Val())
		require.Equal(t, []redis.Z{z(5, "e"), z(4, "d")}, rdb.ZPopMax(ctx, "z", 2).Val())
		// without count: one flat pair in both protocols; with count: nested pairs in RESP3
		require.Equal(t, "*2\r\n$1\r\nb\r\n,2\r\n", c3.Do("ZPOPMIN", "z"))
		require.Equal(t, "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n", c3.Do("ZPOPMIN", "z", "1"))
		require.EqualValues(t, 0, rdb.Exists(ctx, "z").Val())
		require.Equal(t, "*0\r\n", c3.Do("ZPOPMIN", "z"))
		require.Equal(t, "*0\r\n", c2.Do("ZPOPMAX", "z", "3"))
		reset(t, "z", z(1, "a"), z(2, "b"))
		require.Equal(t, "*0\r\n", c2.Do("ZPOPMAX", "z", "0"))
		require.Equal(t, []redis.Z{z(1, "a"), z(2, "b")}, rdb2.ZPopMin(ctx, "z", 10).Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "z").Val())
		expectErr(t, "ERR value is out of range, must be positive", "ZPOPMIN", "z", "-1")
		expectErr(t, "ERR value is out of range, must be positive", "ZPOPMAX", "z", "x")
		expectErr(t, "ERR syntax error", "ZPOPMIN", "z", "1", "2")
	})

	t.Run("ZSCAN iterates every member once", func(t *testing.T) {
		reset(t, "z")
		want := map[string]float64{}
		var ms []redis.Z
		for i := 0; i < 500; i++ {
			m := fmt.Sprintf("m%03d", i)
			want[m] = float64(i) / 2
			ms = append(ms, z(float64(i)/2, m))
		}
		require.EqualValues(t, 500, rdb.ZAdd(ctx, "z", ms...).Val())
		got := map[string]float64{}
		var cursor uint64
		calls := 0
		for {
			page, next, err := rdb.ZScan(ctx, "z", cursor, "", 50).Result()
			require.NoError(t, err)
			require.Zero(t, len(page)%2)
			for i := 0; i < len(page); i += 2 {
				_, dup := got[page[i]]
				require.False(t, dup, "member %q returned twice", page[i])
				s, err := strconv.ParseFloat(page[i+1], 64)
				require.NoError(t, err)
				got[page[i]] = s
			}
			calls++
			if next == 0 {
				break
			}
			cursor = next
		}
		require.Equal(t, want, got)
		require.Greater(t, calls, 5)
		page, next, err := rdb.ZScan(ctx, "z", 0, "m49*", 1000).Result()
		require.NoError(t, err)
		require.Zero(t, next)
		keys := []string{}
		for i := 0; i < len(page); i += 2 {
			keys = append(keys, page[i])
		}
		sort.Strings(keys)
		require.Equal(t, []string{"m490", "m491", "m492", "m493", "m494", "m495", "m496", "m497", "m498", "m499"}, keys)
		require.Equal(t, "*2\r\n$1\r\n0\r\n*0\r\n", c3.Do("ZSCAN", "nokey", "0"))
		expectErr(t, "ERR invalid cursor", "ZSCAN", "z", "x")
		expectErr(t, "ERR syntax error", "ZSCAN", "z", "0", "COUNT", "0")
	})

	t.Run("WRONGTYPE for every command on another type", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "s", "x", 0).Err())
		for _, args := range [][]string{
			{"ZADD", "s", "1", "a"}, {"ZINCRBY", "s", "1", "a"}, {"ZREM", "s", "a"}, {"ZSCORE", "s", "a"},
			{"ZRANK", "s", "a"}, {"ZREVRANK", "s", "a"}, {"ZCARD", "s"}, {"ZCOUNT", "s", "0", "1"},
			{"ZRANGE", "s", "0", "1"}, {"ZRANGEBYSCORE", "s", "0", "1"}, {"ZREVRANGE", "s", "0", "1"},
			{"ZREVRANGEBYSCORE", "s", "1", "0"}, {"ZRANGEBYLEX", "s", "-", "+"}, {"ZLEXCOUNT", "s", "-", "+"},
			{"ZPOPMIN", "s"}, {"ZPOPMAX", "s", "1"}, {"ZSCAN", "s", "0"},
		} {
			expectErr(t, util.WrongType, args...)
		}
		reset(t, "z", z(1, "a"))
		expectErr(t, util.WrongType, "GET", "z")
		expectErr(t, util.WrongType, "HGET", "z", "a")
	})

	t.Run("TTL survives member changes and an expired zset is gone", func(t *testing.T) {
		reset(t, "z", z(1, "a"), z(2, "b"), z(3, "c"))
		require.True(t, rdb.Expire(ctx, "z", 100*time.Second).Val())
		require.EqualValues(t, 1, rdb.ZAdd(ctx, "z", z(4, "d")).Val())
		require.Equal(t, 2.0, rdb.ZIncrBy(ctx, "z", 1, "a").Val())
		require.EqualValues(t, 1, rdb.ZRem(ctx, "z", "b").Val())
		require.Len(t, rdb.ZPopMax(ctx, "z").Val(), 1)
		util.RequireTTLBetween(t, rdb, "z", 99, 100)
		require.NoError(t, rdb.PExpire(ctx, "z", 50*time.Millisecond).Err())
		util.WaitFor(t, 5*time.Second, 20*time.Millisecond, func() bool {
			return rdb.ZCard(ctx, "z").Val() == 0
		}, "the zset expires")
		require.Equal(t, []string{}, rdb.ZRange(ctx, "z", 0, -1).Val())
		require.EqualValues(t, 0, rdb.ZAddXX(ctx, "z", z(1, "a")).Val())
		require.EqualValues(t, 1, rdb.ZAdd(ctx, "z", z(1, "fresh")).Val())
		require.Equal(t, []string{"fresh"}, rdb.ZRange(ctx, "z", 0, -1).Val())
		require.EqualValues(t, -1, rdb.TTL(ctx, "z").Val())
	})

	t.Run("a pipeline of writes and reads sees its own writes", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "p").Err())
		pipe := rdb.Pipeline()
		add := pipe.ZAdd(ctx, "p", z(1, "a"), z(2, "b"))
		incr := pipe.ZIncrBy(ctx, "p", 5, "a")
		rng := pipe.ZRangeWithScores(ctx, "p", 0, -1)
		pop := pipe.ZPopMax(ctx, "p")
		card := pipe.ZCard(ctx, "p")
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 2, add.Val())
		require.Equal(t, 6.0, incr.Val())
		require.Equal(t, []redis.Z{z(2, "b"), z(6, "a")}, rng.Val())
		require.Equal(t, []redis.Z{z(6, "a")}, pop.Val())
		require.EqualValues(t, 1, card.Val())
	})

	t.Run("a large zset answers bounded ranges", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "big").Err())
		const n = 20000
		pipe := rdb.Pipeline()
		for i := 0; i < n; i += 500 {
			ms := make([]redis.Z, 0, 500)
			for j := i; j < i+500; j++ {
				ms = append(ms, z(float64(n-j), fmt.Sprintf("m%05d", j)))
			}
			pipe.ZAdd(ctx, "big", ms...)
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
		require.EqualValues(t, n, rdb.ZCard(ctx, "big").Val())
		require.Equal(t, []string{"m19999", "m19998", "m19997"}, rdb.ZRange(ctx, "big", 0, 2).Val())
		require.Equal(t, []string{"m00000"}, rdb.ZRevRange(ctx, "big", 0, 0).Val())
		require.Equal(t, []string{"m10000", "m09999"}, rdb.ZRange(ctx, "big", 9999, 10000).Val())
		require.Equal(t, []string{"m09994", "m09993"}, rdb.ZRangeByScore(ctx, "big", &redis.ZRangeBy{Min: "(10000", Max: "+inf", Offset: 5, Count: 2}).Val())
		require.EqualValues(t, 19990, rdb.ZRank(ctx, "big", "m00009").Val())
		require.EqualValues(t, 9, rdb.ZRevRank(ctx, "big", "m00009").Val())
		require.EqualValues(t, 101, rdb.ZCount(ctx, "big", "100", "200").Val())
	})
}
