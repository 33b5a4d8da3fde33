package list

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

type errCase struct {
	args []string
	err  string
}

func TestList(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()
	cl := srv.NewClients()
	rdb, rdb2, c2, c3 := cl.RDB, cl.RDB2, cl.C2, cl.C3

	expectErr := func(t *testing.T, cases []errCase) {
		t.Helper()
		for _, tc := range cases {
			cl.ExpectErr(t, tc.err, tc.args...)
		}
	}
	fresh := func(t *testing.T, key string, values ...interface{}) {
		t.Helper()
		require.NoError(t, rdb.Del(ctx, key).Err())
		if len(values) > 0 {
			require.EqualValues(t, len(values), rdb.RPush(ctx, key, values...).Val())
		}
	}

	t.Run("LPUSH and RPUSH add at both ends and return the length", func(t *testing.T) {
		fresh(t, "l")
		require.EqualValues(t, 1, rdb.LPush(ctx, "l", "b").Val())
		require.EqualValues(t, 3, rdb.LPush(ctx, "l", "a1", "a0").Val())
		require.EqualValues(t, 5, rdb.RPush(ctx, "l", "c", "d").Val())
		require.Equal(t, []string{"a0", "a1", "b", "c", "d"}, rdb.LRange(ctx, "l", 0, -1).Val())
		require.EqualValues(t, 5, rdb.LLen(ctx, "l").Val())
		require.EqualValues(t, 0, rdb.LLen(ctx, "nokey").Val())
		require.Equal(t, "list", rdb.Type(ctx, "l").Val())
		require.Equal(t, ":6\r\n", c2.Do("RPUSH", "l", "e"))
	})

	t.Run("elements are binary safe", func(t *testing.T) {
		vals := []interface{}{"", "a\x00b", "\r\n", util.AllBytes()}
		fresh(t, "bin", vals...)
		got := rdb.LRange(ctx, "bin", 0, -1).Val()
		require.Len(t, got, len(vals))
		for i, v := range vals {
			require.Equal(t, v, got[i])
		}
		require.Equal(t, util.AllBytes(), rdb.LIndex(ctx, "bin", -1).Val())
		require.EqualValues(t, 1, rdb.LPos(ctx, "bin", "a\x00b", redis.LPosArgs{}).Val())
	})

	t.Run("LPOP and RPOP with and without count", func(t *testing.T) {
		fresh(t, "l", "a", "b", "c", "d", "e", "f")
		require.Equal(t, "a", rdb.LPop(ctx, "l").Val())
		require.Equal(t, "f", rdb.RPop(ctx, "l").Val())
		require.Equal(t, []string{"b", "c"}, rdb.LPopCount(ctx, "l", 2).Val())
		require.Equal(t, []string{"e", "d"}, rdb.RPopCount(ctx, "l", 5).Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "l").Val(), "an emptied list is deleted")
		fresh(t, "l", "x")
		require.Equal(t, "*0\r\n", c2.Do("LPOP", "l", "0"))
		require.Equal(t, "*0\r\n", c3.Do("RPOP", "l", "0"))
		require.EqualValues(t, 1, rdb.LLen(ctx, "l").Val())
		require.Equal(t, "*1\r\n$1\r\nx\r\n", c3.Do("RPOP", "l", "9223372036854775807"))
	})

	t.Run("popping a missing key: null bulk, or null array with a count", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "nokey").Err())
		require.Equal(t, "$-1\r\n", c2.Do("LPOP", "nokey"))
		require.Equal(t, "_\r\n", c3.Do("RPOP", "nokey"))
		require.Equal(t, "*-1\r\n", c2.Do("LPOP", "nokey", "0"))
		require.Equal(t, "*-1\r\n", c2.Do("RPOP", "nokey", "2"))
		require.Equal(t, "_\r\n", c3.Do("LPOP", "nokey", "2"))
		require.Equal(t, redis.Nil, rdb.LPop(ctx, "nokey").Err())
		require.Equal(t, redis.Nil, rdb2.RPopCount(ctx, "nokey", 3).Err())
		require.Equal(t, redis.Nil, rdb.LPopCount(ctx, "nokey", 3).Err())
		expectErr(t, []errCase{
			{[]string{"LPOP", "nokey", "-1"}, "ERR value is out of range, must be positive"},
			{[]string{"RPOP", "nokey", "abc"}, "ERR value is out of range, must be positive"},
			{[]string{"LPOP", "nokey", "1", "2"}, "ERR wrong number of arguments for 'lpop' command"},
			{[]string{"RPOP"}, "ERR wrong number of arguments for 'rpop' command"},
		})
	})

	t.Run("LINDEX and LSET with negative and out-of-range indexes", func(t *testing.T) {
		fresh(t, "l", "a", "b", "c")
		require.Equal(t, "a", rdb.LIndex(ctx, "l", 0).Val())
		require.Equal(t, "c", rdb.LIndex(ctx, "l", -1).Val())
		require.Equal(t, "a", rdb.LIndex(ctx, "l", -3).Val())
		require.Equal(t, redis.Nil, rdb.LIndex(ctx, "l", 3).Err())
		require.Equal(t, redis.Nil, rdb.LIndex(ctx, "l", -4).Err())
		require.Equal(t, "_\r\n", c3.Do("LINDEX", "nokey", "abc"), "a missing key is checked before the index")
		require.Equal(t, "$-1\r\n", c2.Do("LINDEX", "l", "9223372036854775807"))
		require.NoError(t, rdb.LSet(ctx, "l", 1, "B").Err())
		require.NoError(t, rdb.LSet(ctx, "l", -1, "C").Err())
		require.Equal(t, []string{"a", "B", "C"}, rdb.LRange(ctx, "l", 0, -1).Val())
		expectErr(t, []errCase{
			{[]string{"LINDEX", "l", "abc"}, "ERR value is not an integer or out of range"},
			{[]string{"LSET", "l", "3", "x"}, "ERR index out of range"},
			{[]string{"LSET", "l", "-4", "x"}, "ERR index out of range"},
			{[]string{"LSET", "l", "x", "x"}, "ERR value is not an integer or out of range"},
			{[]string{"LSET", "nokey", "x", "x"}, "ERR no such key"},
			{[]string{"LSET", "nokey", "0", "x"}, "ERR no such key"},
		})
	})

	t.Run("LRANGE clamps ranges like Redis", func(t *testing.T) {
		fresh(t, "l", "0", "1", "2", "3", "4")
		for _, tc := range []struct {
			start, stop int64
			want        []string
		}{
			{0, -1, []string{"0", "1", "2", "3", "4"}},
			{1, 2, []string{"1", "2"}},
			{-2, -1, []string{"3", "4"}},
			{-100, 1, []string{"0", "1"}},
			{3, 100, []string{"3", "4"}},
			{3, 1, []string{}},
			{5, 10, []string{}},
			{0, -6, []string{}},
			{-9223372036854775808, 9223372036854775807, []string{"0", "1", "2", "3", "4"}},
		} {
			require.Equal(t, tc.want, rdb.LRange(ctx, "l", tc.start, tc.stop).Val(), "%d %d", tc.start, tc.stop)
		}
		require.Equal(t, "*0\r\n", c3.Do("LRANGE", "nokey", "0", "-1"))
		expectErr(t, []errCase{
			{[]string{"LRANGE", "nokey", "a", "1"}, "ERR value is not an integer or out of range"},
			{[]string{"LRANGE", "l", "0", "9223372036854775808"}, "ERR value is not an integer or out of range"},
		})
	})

	t.Run("LINSERT before and after the first pivot", func(t *testing.T) {
		fresh(t, "l", "a", "b", "c", "b")
		require.EqualValues(t, 5, rdb.LInsertBefore(ctx, "l", "b", "x").Val())
		require.EqualValues(t, 6, rdb.LInsertAfter(ctx, "l", "b", "y").Val())
		require.EqualValues(t, 7, rdb.LInsertBefore(ctx, "l", "a", "first").Val())
		require.EqualValues(t, 8, rdb.LInsert(ctx, "l", "AFTER", "c", "z").Val())
		require.Equal(t, []string{"first", "a", "x", "b", "y", "c", "z", "b"}, rdb.LRange(ctx, "l", 0, -1).Val())
		require.EqualValues(t, -1, rdb.LInsertBefore(ctx, "l", "nope", "x").Val())
		require.EqualValues(t, 0, rdb.LInsertBefore(ctx, "nokey", "a", "x").Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "nokey").Val())
		expectErr(t, []errCase{
			{[]string{"LINSERT", "l", "MIDDLE", "a", "x"}, "ERR syntax error"},
			{[]string{"LINSERT", "nokey", "MIDDLE", "a", "x"}, "ERR syntax error"},
		})
		// long lists: inserting anywhere keeps every element in place
		want := make([]string, 0, 2001)
		args := make([]interface{}, 0, 2000)
		for i := 0; i < 2000; i++ {
			want = append(want, strconv.Itoa(i))
			args = append(args, strconv.Itoa(i))
		}
		fresh(t, "long", args...)
		for _, p := range []int{1500, 300, 1000} {
			require.NoError(t, rdb.LInsertAfter(ctx, "long", strconv.Itoa(p), "n"+strconv.Itoa(p)).Err())
			at := 0
			for i, v := range want {
				if v == strconv.Itoa(p) {
					at = i + 1
				}
			}
			want = append(want[:at], append([]string{"n" + strconv.Itoa(p)}, want[at:]...)...)
		}
		require.Equal(t, want, rdb.LRange(ctx, "long", 0, -1).Val())
	})

	t.Run("LREM from the head, from the tail, or all", func(t *testing.T) {
		for _, tc := range []struct {
			count int64
			want  []string
			n     int64
		}{
			{0, []string{"b", "c", "d"}, 4},
			{2, []string{"b", "c", "a", "d", "a"}, 2},
			{-2, []string{"a", "b", "a", "c", "d"}, 2},
			{-100, []string{"b", "c", "d"}, 4},
		} {
			fresh(t, "l", "a", "b", "a", "c", "a", "d", "a")
			require.Equal(t, tc.n, rdb.LRem(ctx, "l", tc.count, "a").Val(), "count %d", tc.count)
			require.Equal(t, tc.want, rdb.LRange(ctx, "l", 0, -1).Val(), "count %d", tc.count)
		}
		require.EqualValues(t, 0, rdb.LRem(ctx, "l", 0, "zz").Val())
		require.EqualValues(t, 0, rdb.LRem(ctx, "nokey", 0, "a").Val())
		fresh(t, "l", "x", "x")
		require.EqualValues(t, 2, rdb.LRem(ctx, "l", 0, "x").Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "l").Val())
		expectErr(t, []errCase{
			{[]string{"LREM", "nokey", "x", "a"}, "ERR value is not an integer or out of range"},
		})
	})

	t.Run("LTRIM keeps a range and deletes an emptied list", func(t *testing.T) {
		fresh(t, "l", "0", "1", "2", "3", "4")
		require.Equal(t, "OK", rdb.LTrim(ctx, "l", 1, -2).Val())
		require.Equal(t, []string{"1", "2", "3"}, rdb.LRange(ctx, "l", 0, -1).Val())
		require.Equal(t, "OK", rdb.LTrim(ctx, "l", -100, 100).Val())
		require.EqualValues(t, 3, rdb.LLen(ctx, "l").Val())
		require.Equal(t, "OK", rdb.LTrim(ctx, "l", 2, 1).Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "l").Val())
		require.Equal(t, "+OK\r\n", c2.Do("LTRIM", "nokey", "0", "1"))
		expectErr(t, []errCase{
			{[]string{"LTRIM", "nokey", "a", "1"}, "ERR value is not an integer or out of range"},
		})
	})

	t.Run("LPOS with RANK, COUNT and MAXLEN", func(t *testing.T) {
		fresh(t, "l", "a", "b", "c", "a", "b", "c", "a")
		require.EqualValues(t, 0, rdb.LPos(ctx, "l", "a", redis.LPosArgs{}).Val())
		require.EqualValues(t, 3, rdb.LPos(ctx, "l", "a", redis.LPosArgs{Rank: 2}).Val())
		require.EqualValues(t, 6, rdb.LPos(ctx, "l", "a", redis.LPosArgs{Rank: -1}).Val())
		require.EqualValues(t, 3, rdb.LPos(ctx, "l", "a", redis.LPosArgs{Rank: -2}).Val())
		require.Equal(t, redis.Nil, rdb.LPos(ctx, "l", "a", redis.LPosArgs{Rank: 4}).Err())
		require.Equal(t, redis.Nil, rdb.LPos(ctx, "l", "c", redis.LPosArgs{MaxLen: 2}).Err())
		require.EqualValues(t, 2, rdb.LPos(ctx, "l", "c", redis.LPosArgs{MaxLen: 3}).Val())
		require.EqualValues(t, 5, rdb.LPos(ctx, "l", "c", redis.LPosArgs{Rank: -1, MaxLen: 2}).Val())
		require.Equal(t, []int64{0, 3, 6}, rdb.LPosCount(ctx, "l", "a", 0, redis.LPosArgs{}).Val())
		require.Equal(t, []int64{3, 6}, rdb.LPosCount(ctx, "l", "a", 5, redis.LPosArgs{Rank: 2}).Val())
		require.Equal(t, []int64{6, 3}, rdb.LPosCount(ctx, "l", "a", 2, redis.LPosArgs{Rank: -1}).Val())
		require.Equal(t, []int64{0}, rdb.LPosCount(ctx, "l", "a", 0, redis.LPosArgs{MaxLen: 3}).Val())
		require.Equal(t, "*0\r\n", c3.Do("LPOS", "l", "zz", "COUNT", "0"))
		require.Equal(t, "_\r\n", c3.Do("LPOS", "l", "zz"))
		require.Equal(t, "$-1\r\n", c2.Do("LPOS", "nokey", "a"))
		require.Equal(t, "*0\r\n", c2.Do("LPOS", "nokey", "a", "COUNT", "1"))
		expectErr(t, []errCase{
			{[]string{"LPOS", "l", "a", "RANK", "0"}, "ERR RANK can't be zero: use 1 to start from the first match, " +
				"2 from the second ... or use negative to start from the end of the list"},
			{[]string{"LPOS", "l", "a", "RANK", "x"}, "ERR value is not an integer or out of range"},
			{[]string{"LPOS", "l", "a", "COUNT", "-1"}, "ERR COUNT can't be negative"},
			{[]string{"LPOS", "nokey", "a", "COUNT", "x"}, "ERR COUNT can't be negative"},
			{[]string{"LPOS", "l", "a", "MAXLEN", "-1"}, "ERR MAXLEN can't be negative"},
			{[]string{"LPOS", "l", "a", "RANK"}, "ERR syntax error"},
			{[]string{"LPOS", "l", "a", "FOO", "1"}, "ERR syntax error"},
		})
	})

	t.Run("LMOVE between lists and onto itself", func(t *testing.T) {
		fresh(t, "{t}a", "1", "2", "3")
		fresh(t, "{t}b")
		require.Equal(t, "1", rdb.LMove(ctx, "{t}a", "{t}b", "LEFT", "RIGHT").Val())
		require.Equal(t, "3", rdb.LMove(ctx, "{t}a", "{t}b", "RIGHT", "LEFT").Val())
		require.Equal(t, []string{"3", "1"}, rdb.LRange(ctx, "{t}b", 0, -1).Val())
		require.Equal(t, "3", rdb.LMove(ctx, "{t}b", "{t}b", "left", "right").Val())
		require.Equal(t, []string{"1", "3"}, rdb.LRange(ctx, "{t}b", 0, -1).Val())
		require.Equal(t, "2", rdb.LMove(ctx, "{t}a", "{t}a", "LEFT", "LEFT").Val(), "a one-element rotation")
		require.Equal(t, []string{"2"}, rdb.LRange(ctx, "{t}a", 0, -1).Val())
		require.Equal(t, "2", rdb.LMove(ctx, "{t}a", "{t}b", "RIGHT", "RIGHT").Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "{t}a").Val(), "the emptied source is deleted")
		require.Equal(t, redis.Nil, rdb.LMove(ctx, "{t}a", "{t}b", "LEFT", "LEFT").Err())
		require.Equal(t, "$-1\r\n", c2.Do("LMOVE", "{t}a", "{t}b", "LEFT", "LEFT"))
		require.Equal(t, "_\r\n", c3.Do("LMOVE", "{t}a", "{t}b", "LEFT", "LEFT"))
		require.NoError(t, rdb.Set(ctx, "{t}s", "str", 0).Err())
		expectErr(t, []errCase{
			{[]string{"LMOVE", "{t}b", "{t}s", "LEFT", "LEFT"}, util.WrongType},
			{[]string{"LMOVE", "{t}s", "{t}b", "LEFT", "LEFT"}, util.WrongType},
			{[]string{"LMOVE", "{t}b", "{t}a", "UP", "LEFT"}, "ERR syntax error"},
			{[]string{"LMOVE", "{t}b", "{t}a", "LEFT", "DOWN"}, "ERR syntax error"},
		})
		require.Equal(t, []string{"1", "3", "2"}, rdb.LRange(ctx, "{t}b", 0, -1).Val(), "nothing popped on WRONGTYPE")
		require.Equal(t, "$-1\r\n", c2.Do("LMOVE", "{t}a", "{t}s", "LEFT", "LEFT"), "a missing source wins")
	})

	t.Run("LMPOP pops from the first non-empty list", func(t *testing.T) {
		fresh(t, "{t}a")
		fresh(t, "{t}b", "1", "2", "3")
		key, vals, err := rdb.LMPop(ctx, "left", 2, "{t}a", "{t}b").Result()
		require.NoError(t, err)
		require.Equal(t, "{t}b", key)
		require.Equal(t, []string{"1", "2"}, vals)
		key, vals, err = rdb2.LMPop(ctx, "right", 10, "{t}a", "{t}b").Result()
		require.NoError(t, err)
		require.Equal(t, "{t}b", key)
		require.Equal(t, []string{"3"}, vals)
		require.EqualValues(t, 0, rdb.Exists(ctx, "{t}b").Val())
		require.Equal(t, redis.Nil, rdb.LMPop(ctx, "left", 1, "{t}a", "{t}b").Err())
		require.Equal(t, "*-1\r\n", c2.Do("LMPOP", "2", "{t}a", "{t}b", "LEFT"))
		require.Equal(t, "_\r\n", c3.Do("LMPOP", "2", "{t}a", "{t}b", "LEFT"))
		fresh(t, "{t}b", "x", "y")
		require.Equal(t, "*2\r\n$4\r\n{t}b\r\n*1\r\n$1\r\ny\r\n", c3.Do("LMPOP", "1", "{t}b", "RIGHT"))
		require.NoError(t, rdb.Set(ctx, "{t}s", "str", 0).Err())
		expectErr(t, []errCase{
			{[]string{"LMPOP", "2", "{t}s", "{t}b", "LEFT"}, util.WrongType},
			{[]string{"LMPOP", "0", "{t}b", "LEFT"}, "ERR numkeys should be greater than 0"},
			{[]string{"LMPOP", "x", "{t}b", "LEFT"}, "ERR numkeys should be greater than 0"},
			{[]string{"LMPOP", "1", "{t}b", "UP"}, "ERR syntax error"},
			{[]string{"LMPOP", "3", "{t}b", "LEFT"}, "ERR syntax error"},
			{[]string{"LMPOP", "1", "{t}b", "LEFT", "COUNT", "0"}, "ERR count should be greater than 0"},
			{[]string{"LMPOP", "1", "{t}b", "LEFT", "COUNT", "1", "COUNT", "1"}, "ERR syntax error"},
			{[]string{"LMPOP", "1", "{t}b"}, "ERR wrong number of arguments for 'lmpop' command"},
		})
		// a list before the wrong-type key is popped without looking further
		require.Equal(t, "*2\r\n$4\r\n{t}b\r\n*1\r\n$1\r\nx\r\n", c2.Do("LMPOP", "2", "{t}b", "{t}s", "LEFT"))
	})

	t.Run("WRONGTYPE on every list command against a string", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "s", "str", 0).Err())
		cases := []errCase{}
		for _, args := range [][]string{
			{"LPUSH", "s", "x"}, {"RPUSH", "s", "x"}, {"LPOP", "s"}, {"RPOP", "s", "1"}, {"LLEN", "s"},
			{"LINDEX", "s", "0"}, {"LRANGE", "s", "0", "-1"}, {"LPOS", "s", "x"}, {"LSET", "s", "0", "x"},
			{"LINSERT", "s", "BEFORE", "a", "b"}, {"LREM", "s", "0", "x"}, {"LTRIM", "s", "0", "1"},
			{"LMOVE", "s", "s", "LEFT", "LEFT"}, {"LMPOP", "1", "s", "LEFT"},
		} {
			cases = append(cases, errCase{args, util.WrongType})
		}
		expectErr(t, cases)
		require.Equal(t, "str", rdb.Get(ctx, "s").Val())
		fresh(t, "l", "a")
		require.EqualError(t, rdb.Get(ctx, "l").Err(), util.WrongType)
		require.EqualError(t, rdb.HGet(ctx, "l", "f").Err(), util.WrongType)
	})

	t.Run("a TTL survives list writes; an expired list is gone", func(t *testing.T) {
		fresh(t, "ttl", "a", "b", "c")
		require.True(t, rdb.Expire(ctx, "ttl", 100*time.Second).Val())
		require.NoError(t, rdb.RPush(ctx, "ttl", "d").Err())
		require.NoError(t, rdb.LPop(ctx, "ttl").Err())
		require.NoError(t, rdb.LSet(ctx, "ttl", 0, "B").Err())
		require.NoError(t, rdb.LInsertAfter(ctx, "ttl", "B", "x").Err())
		require.NoError(t, rdb.LRem(ctx, "ttl", 1, "x").Err())
		require.NoError(t, rdb.LTrim(ctx, "ttl", 0, 1).Err())
		require.NoError(t, rdb.LMove(ctx, "ttl", "ttl", "LEFT", "RIGHT").Err())
		require.Equal(t, []string{"c", "B"}, rdb.LRange(ctx, "ttl", 0, -1).Val())
		util.RequireTTLBetween(t, rdb, "ttl", 95, 100)
		fresh(t, "short", "a")
		require.True(t, rdb.PExpire(ctx, "short", 50*time.Millisecond).Val())
		time.Sleep(150 * time.Millisecond)
		require.EqualValues(t, 0, rdb.LLen(ctx, "short").Val())
		require.EqualValues(t, 1, rdb.RPush(ctx, "short", "new").Val())
		require.Equal(t, []string{"new"}, rdb.LRange(ctx, "short", 0, -1).Val())
		require.EqualValues(t, -1, rdb.TTL(ctx, "short").Val().Nanoseconds())
	})

	t.Run("a list built by a pipeline of pushes survives a restart", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "big").Err())
		pipe := rdb.Pipeline()
		const chunks, per = 20, 500
		for c := 0; c < chunks; c++ {
			vals := make([]interface{}, per)
			for i := range vals {
				vals[i] = fmt.Sprintf("e%d", c*per+i)
			}
			pipe.RPush(ctx, "big", vals...)
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
		require.NoError(t, rdb.LPush(ctx, "big", "head").Err())
		srv.Restart()
		r := srv.NewClient()
		defer func() { require.NoError(t, r.Close()) }()
		require.EqualValues(t, chunks*per+1, r.LLen(ctx, "big").Val())
		require.Equal(t, []string{"head", "e0", "e1"}, r.LRange(ctx, "big", 0, 2).Val())
		require.Equal(t, "e5000", r.LIndex(ctx, "big", 5001).Val())
		require.Equal(t, []string{"e9998", "e9999"}, r.LRange(ctx, "big", -2, -1).Val())
		require.EqualValues(t, 7001, r.LPos(ctx, "big", "e7000", redis.LPosArgs{Rank: -1}).Val())
	})
}
