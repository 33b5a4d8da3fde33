package set

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func TestSet(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()
	cl := srv.NewClients()
	rdb, rdb2, c2, c3 := cl.RDB, cl.RDB2, cl.C2, cl.C3

	expectErr := cl.ExpectErr

	t.Run("SADD SCARD SISMEMBER SMISMEMBER SREM", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "s").Err())
		require.EqualValues(t, 3, rdb.SAdd(ctx, "s", "a", "b", "c").Val())
		require.EqualValues(t, 1, rdb.SAdd(ctx, "s", "a", "d", "d").Val())
		require.EqualValues(t, 0, rdb.SAdd(ctx, "s", "a").Val())
		require.EqualValues(t, 4, rdb.SCard(ctx, "s").Val())
		require.EqualValues(t, 0, rdb.SCard(ctx, "nokey").Val())
		require.True(t, rdb.SIsMember(ctx, "s", "a").Val())
		require.False(t, rdb.SIsMember(ctx, "s", "zz").Val())
		require.False(t, rdb.SIsMember(ctx, "nokey", "a").Val())
		require.Equal(t, []bool{true, false, true}, rdb.SMIsMember(ctx, "s", "a", "zz", "d").Val())
		require.Equal(t, []bool{false, false}, rdb.SMIsMember(ctx, "nokey", "a", "b").Val())
		require.Equal(t, "*2\r\n:1\r\n:0\r\n", c2.Do("SMISMEMBER", "s", "a", "zz"))
		require.Equal(t, "*2\r\n:1\r\n:0\r\n", c3.Do("SMISMEMBER", "s", "a", "zz"))
		require.EqualValues(t, 2, rdb.SRem(ctx, "s", "a", "zz", "b", "a").Val())
		require.EqualValues(t, 0, rdb.SRem(ctx, "nokey", "a").Val())
		require.Equal(t, []string{"c", "d"}, util.Sorted(rdb.SMembers(ctx, "s").Val()))
	})

	t.Run("SMEMBERS is a set in RESP3 and an array in RESP2", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "one").Err())
		require.Equal(t, "*0\r\n", c2.Do("SMEMBERS", "one"))
		require.Equal(t, "~0\r\n", c3.Do("SMEMBERS", "one"))
		require.EqualValues(t, 1, rdb.SAdd(ctx, "one", "m").Val())
		require.Equal(t, "*1\r\n$1\r\nm\r\n", c2.Do("SMEMBERS", "one"))
		require.Equal(t, "~1\r\n$1\r\nm\r\n", c3.Do("SMEMBERS", "one"))
		require.Equal(t, []string{"m"}, rdb2.SMembers(ctx, "one").Val())
	})

	t.Run("binary-safe members", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "bin").Err())
		ms := []string{"", "\x00", "a\r\nb", util.AllBytes(), "ключ"}
		require.EqualValues(t, len(ms), rdb.SAdd(ctx, "bin", util.Args(ms...)...).Val())
		for _, m := range ms {
			require.True(t, rdb.SIsMember(ctx, "bin", m).Val(), "%q", m)
		}
		require.Equal(t, util.Sorted(ms), util.Sorted(rdb.SMembers(ctx, "bin").Val()))
	})

	t.Run("an emptied set is deleted", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "e").Err())
		rdb.SAdd(ctx, "e", "a", "b")
		require.EqualValues(t, 2, rdb.SRem(ctx, "e", "a", "b").Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "e").Val())
		require.Equal(t, "none", rdb.Type(ctx, "e").Val())
		rdb.SAdd(ctx, "e", "x")
		require.Equal(t, "set", rdb.Type(ctx, "e").Val())
		require.Equal(t, "x", rdb.SPop(ctx, "e").Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "e").Val())
	})

	t.Run("WRONGTYPE on every set command and from other types", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "{w}str", "x", 0).Err())
		rdb.Del(ctx, "{w}set")
		rdb.SAdd(ctx, "{w}set", "a")
		for _, args := range [][]string{
			{"SADD", "{w}str", "a"}, {"SREM", "{w}str", "a"}, {"SMEMBERS", "{w}str"},
			{"SISMEMBER", "{w}str", "a"}, {"SMISMEMBER", "{w}str", "a"}, {"SCARD", "{w}str"},
			{"SRANDMEMBER", "{w}str"}, {"SRANDMEMBER", "{w}str", "-3"}, {"SPOP", "{w}str"},
			{"SPOP", "{w}str", "0"}, {"SSCAN", "{w}str", "0"}, {"SINTER", "{w}nokey", "{w}str"},
			{"SUNION", "{w}set", "{w}str"}, {"SDIFF", "{w}str"}, {"SINTERCARD", "2", "{w}nokey", "{w}str"},
			{"SMOVE", "{w}set", "{w}str", "missing"}, {"SMOVE", "{w}str", "{w}set", "a"},
			{"SINTERSTORE", "{w}d", "{w}str"}, {"SUNIONSTORE", "{w}d", "{w}set", "{w}str"},
			{"SDIFFSTORE", "{w}d", "{w}nokey", "{w}str"},
			{"GET", "{w}set"}, {"HGET", "{w}set", "a"}, {"INCR", "{w}set"},
		} {
			expectErr(t, util.WrongType, args...)
		}
		require.Equal(t, "x", rdb.Get(ctx, "{w}str").Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "{w}d").Val())
		err := rdb.SAdd(ctx, "{w}str", "a").Err()
		require.EqualError(t, err, util.WrongType)
	})

	t.Run("arity errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"SADD", "s"}, {"SREM", "s"}, {"SMEMBERS"}, {"SISMEMBER", "s"}, {"SMISMEMBER", "s"},
			{"SCARD"}, {"SRANDMEMBER"}, {"SPOP"}, {"SSCAN", "s"}, {"SINTER"}, {"SUNION"}, {"SDIFF"},
			{"SINTERCARD", "1"}, {"SMOVE", "{a}1", "{a}2"}, {"SINTERSTORE", "d"}, {"SUNIONSTORE", "d"},
			{"SDIFFSTORE", "d"},
		} {
			expectErr(t, fmt.Sprintf("ERR wrong number of arguments for '%s' command", strings.ToLower(args[0])), args...)
		}
	})

	t.Run("TTL survives member changes", func(t *testing.T) {
		rdb.Del(ctx, "{t}s", "{t}o")
		rdb.SAdd(ctx, "{t}s", "a", "b", "c", "d")
		require.True(t, rdb.Expire(ctx, "{t}s", 100*time.Second).Val())
		rdb.SAdd(ctx, "{t}s", "e")
		rdb.SRem(ctx, "{t}s", "a")
		rdb.SPop(ctx, "{t}s")
		rdb.SMove(ctx, "{t}s", "{t}o", "b")
		rdb.SMove(ctx, "{t}s", "{t}o", "c")
		util.RequireTTLBetween(t, rdb, "{t}s", 99, 100)
		require.EqualValues(t, -1, rdb.TTL(ctx, "{t}o").Val())
		// one member popped, the others moved or left: none lost
		require.EqualValues(t, 3, rdb.SCard(ctx, "{t}s").Val()+rdb.SCard(ctx, "{t}o").Val())
	})

	t.Run("an expired set is gone and recreated fresh", func(t *testing.T) {
		rdb.Del(ctx, "x")
		rdb.SAdd(ctx, "x", "a", "b")
		require.True(t, rdb.PExpire(ctx, "x", 20*time.Millisecond).Val())
		time.Sleep(60 * time.Millisecond)
		require.EqualValues(t, 0, rdb.SCard(ctx, "x").Val())
		require.False(t, rdb.SIsMember(ctx, "x", "a").Val())
		require.EqualValues(t, 1, rdb.SAdd(ctx, "x", "c").Val())
		require.Equal(t, []string{"c"}, rdb.SMembers(ctx, "x").Val())
		require.EqualValues(t, -1, rdb.TTL(ctx, "x").Val())
	})

	t.Run("SRANDMEMBER", func(t *testing.T) {
		rdb.Del(ctx, "r")
		ms := numbered("m", 50)
		rdb.SAdd(ctx, "r", util.Args(ms...)...)
		all := map[string]bool{}
		for _, m := range ms {
			all[m] = true
		}
		for i := 0; i < 10; i++ {
			require.True(t, all[rdb.SRandMember(ctx, "r").Val()])
		}
		got := rdb.SRandMemberN(ctx, "r", 10).Val()
		require.Len(t, got, 10)
		seen := map[string]bool{}
		for _, m := range got {
			require.True(t, all[m])
			require.False(t, seen[m], "repeated %q with a positive count", m)
			seen[m] = true
		}
		require.Equal(t, util.Sorted(ms), util.Sorted(rdb.SRandMemberN(ctx, "r", 50).Val()))
		require.Equal(t, util.Sorted(ms), util.Sorted(rdb.SRandMemberN(ctx, "r", 1000).Val()))
		rep := rdb.SRandMemberN(ctx, "r", -200).Val()
		require.Len(t, rep, 200)
		distinct := map[string]bool{}
		for _, m := range rep {
			require.True(t, all[m])
			distinct[m] = true
		}
		require.Less(t, len(distinct), 200)
		require.EqualValues(t, 50, rdb.SCard(ctx, "r").Val())
		// arrays (not sets) in both protocols; nulls for a missing key
		require.Equal(t, "*0\r\n", c2.Do("SRANDMEMBER", "r", "0"))
		require.Equal(t, "*0\r\n", c3.Do("SRANDMEMBER", "nokey", "5"))
		require.Equal(t, "$-1\r\n", c2.Do("SRANDMEMBER", "nokey"))
		require.Equal(t, "_\r\n", c3.Do("SRANDMEMBER", "nokey"))
		require.Equal(t, redis.Nil, rdb.SRandMember(ctx, "nokey").Err())
		rdb.Del(ctx, "r1")
		rdb.SAdd(ctx, "r1", "only")
		require.Equal(t, "*3\r\n$4\r\nonly\r\n$4\r\nonly\r\n$4\r\nonly\r\n", c3.Do("SRANDMEMBER", "r1", "-3"))
		require.Equal(t, "*1\r\n$4\r\nonly\r\n", c3.Do("SRANDMEMBER", "r1", "7"))
		expectErr(t, "ERR value is not an integer or out of range", "SRANDMEMBER", "r", "x")
		expectErr(t, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
			"SRANDMEMBER", "r", "-9223372036854775808")
		expectErr(t, "ERR syntax error", "SRANDMEMBER", "r", "1", "2")
	})

	t.Run("SPOP", func(t *testing.T) {
		rdb.Del(ctx, "p")
		ms := numbered("p", 40)
		rdb.SAdd(ctx, "p", util.Args(ms...)...)
		popped := map[string]bool{}
		one := rdb.SPop(ctx, "p").Val()
		require.Contains(t, ms, one)
		popped[one] = true
		many := rdb.SPopN(ctx, "p", 9).Val()
		require.Len(t, many, 9)
		for _, m := range many {
			require.Contains(t, ms, m)
			require.False(t, popped[m], "popped %q twice", m)
			popped[m] = true
		}
		require.EqualValues(t, 30, rdb.SCard(ctx, "p").Val())
		for m := range popped {
			require.False(t, rdb.SIsMember(ctx, "p", m).Val())
		}
		rest := rdb.SPopN(ctx, "p", 100).Val()
		require.Len(t, rest, 30)
		for _, m := range rest {
			require.False(t, popped[m])
		}
		require.EqualValues(t, 0, rdb.Exists(ctx, "p").Val())
		// replies: bulk / null, and a set in RESP3 for a count
		require.Equal(t, "$-1\r\n", c2.Do("SPOP", "p"))
		require.Equal(t, "_\r\n", c3.Do("SPOP", "p"))
		require.Equal(t, "*0\r\n", c2.Do("SPOP", "p", "3"))
		require.Equal(t, "~0\r\n", c3.Do("SPOP", "p", "3"))
		rdb.SAdd(ctx, "p", "a")
		require.Equal(t, "~0\r\n", c3.Do("SPOP", "p", "0"))
		require.Equal(t, "~1\r\n$1\r\na\r\n", c3.Do("SPOP", "p", "1"))
		rdb.SAdd(ctx, "p", "a")
		require.Equal(t, "*1\r\n$1\r\na\r\n", c2.Do("SPOP", "p", "5"))
		require.Equal(t, redis.Nil, rdb.SPop(ctx, "p").Err())
		for _, bad := range []string{"-1", "x", "9223372036854775808"} {
			expectErr(t, "ERR value is out of range, must be positive", "SPOP", "p", bad)
		}
		expectErr(t, "ERR syntax error", "SPOP", "p", "1", "2")
	})

	t.Run("SSCAN", func(t *testing.T) {
		rdb.Del(ctx, "sc")
		ms := numbered("member:", 1000)
		rdb.SAdd(ctx, "sc", util.Args(ms...)...)
		for _, count := range []int64{0, 1, 10, 333} {
			seen := map[string]int{}
			var cursor uint64
			calls := 0
			for {
				var keys []string
				var err error
				if count == 0 {
					keys, cursor, err = rdb.SScan(ctx, "sc", cursor, "", 0).Result()
				} else {
					keys, cursor, err = rdb.SScan(ctx, "sc", cursor, "", count).Result()
				}
				require.NoError(t, err)
				calls++
				for _, k := range keys {
					seen[k]++
				}
				if cursor == 0 {
					break
				}
			}
			require.Len(t, seen, 1000, "COUNT %d", count)
			for k, n := range seen {
				require.Equal(t, 1, n, "%q returned %d times (COUNT %d)", k, n, count)
			}
			if count == 1 {
				require.Greater(t, calls, 500)
			}
		}
		// MATCH filters what is returned
		var matched []string
		var cursor uint64
		for {
			keys, next, err := rdb.SScan(ctx, "sc", cursor, "member:99*", 50).Result()
			require.NoError(t, err)
			matched = append(matched, keys...)
			if cursor = next; cursor == 0 {
				break
			}
		}
		require.Equal(t, []string{"member:99", "member:990", "member:991", "member:992", "member:993",
			"member:994", "member:995", "member:996", "member:997", "member:998", "member:999"}, util.Sorted(matched))
		// a missing key: one empty page, whatever the options
		require.Equal(t, "*2\r\n$1\r\n0\r\n*0\r\n", c3.Do("SSCAN", "nokey", "0", "COUNT", "0"))
		expectErr(t, "ERR invalid cursor", "SSCAN", "sc", "x")
		expectErr(t, "ERR syntax error", "SSCAN", "sc", "0", "COUNT", "0")
		expectErr(t, "ERR value is not an integer or out of range", "SSCAN", "sc", "0", "COUNT", "x")
		expectErr(t, "ERR syntax error", "SSCAN", "sc", "0", "MATCH")
	})

	t.Run("SSCAN with concurrent SADD and SREM", func(t *testing.T) {
		rdb.Del(ctx, "cc")
		stable := numbered("stable:", 300)
		rdb.SAdd(ctx, "cc", util.Args(stable...)...)
		rdb.SAdd(ctx, "cc", util.Args(numbered("churn:", 100)...)...)
		writer := srv.NewClient()
		defer writer.Close()
		seen := map[string]bool{}
		var cursor uint64
		i := 0
		for {
			keys, next, err := rdb.SScan(ctx, "cc", cursor, "", 7).Result()
			require.NoError(t, err)
			for _, k := range keys {
				seen[k] = true
			}
			require.NoError(t, writer.SAdd(ctx, "cc", fmt.Sprintf("new:%d", i)).Err())
			require.NoError(t, writer.SRem(ctx, "cc", fmt.Sprintf("churn:%d", i%100)).Err())
			i++
			if cursor = next; cursor == 0 {
				break
			}
		}
		for _, m := range stable {
			require.True(t, seen[m], "stable member %q never returned", m)
		}
	})

	t.Run("SINTER SUNION SDIFF", func(t *testing.T) {
		rdb.Del(ctx, "{a}1", "{a}2", "{a}3")
		rdb.SAdd(ctx, "{a}1", "1", "2", "3", "4", "x")
		rdb.SAdd(ctx, "{a}2", "3", "4", "5", "x")
		rdb.SAdd(ctx, "{a}3", "4", "x", "y")
		require.Equal(t, []string{"3", "4", "x"}, util.Sorted(rdb.SInter(ctx, "{a}1", "{a}2").Val()))
		require.Equal(t, []string{"4", "x"}, util.Sorted(rdb.SInter(ctx, "{a}1", "{a}2", "{a}3").Val()))
		require.Empty(t, rdb.SInter(ctx, "{a}1", "{a}nokey").Val())
		require.Equal(t, []string{"1", "2", "3", "4", "5", "x", "y"}, util.Sorted(rdb.SUnion(ctx, "{a}1", "{a}2", "{a}3", "{a}nokey").Val()))
		require.Equal(t, []string{"1", "2"}, util.Sorted(rdb.SDiff(ctx, "{a}1", "{a}2").Val()))
		require.Equal(t, []string{"1", "2", "3"}, util.Sorted(rdb.SDiff(ctx, "{a}1", "{a}3", "{a}nokey").Val()))
		require.Empty(t, rdb.SDiff(ctx, "{a}1", "{a}1").Val())
		require.Empty(t, rdb.SDiff(ctx, "{a}nokey", "{a}1").Val())
		require.Equal(t, "~0\r\n", c3.Do("SINTER", "{a}1", "{a}nokey"))
		require.Equal(t, "*0\r\n", c2.Do("SUNION", "{a}nokey"))
		require.Equal(t, "~1\r\n$1\r\ny\r\n", c3.Do("SDIFF", "{a}3", "{a}1"))
		require.Equal(t, "*1\r\n$1\r\ny\r\n", c2.Do("SDIFF", "{a}3", "{a}1"))
		require.Equal(t, []string{"4", "x"}, util.Sorted(rdb2.SInter(ctx, "{a}3", "{a}1").Val()))
	})

	t.Run("SINTERCARD", func(t *testing.T) {
		rdb.Del(ctx, "{a}1", "{a}2")
		rdb.SAdd(ctx, "{a}1", util.Args(numbered("", 100)...)...)
		rdb.SAdd(ctx, "{a}2", util.Args(numbered("", 50)...)...)
		require.EqualValues(t, 50, rdb.SInterCard(ctx, 0, "{a}1", "{a}2").Val())
		require.EqualValues(t, 10, rdb.SInterCard(ctx, 10, "{a}1", "{a}2").Val())
		require.EqualValues(t, 50, rdb.SInterCard(ctx, 1000, "{a}1", "{a}2").Val())
		require.EqualValues(t, 100, rdb.SInterCard(ctx, 0, "{a}1").Val())
		require.EqualValues(t, 0, rdb.SInterCard(ctx, 0, "{a}1", "{a}nokey").Val())
		require.Equal(t, ":3\r\n", c3.Do("SINTERCARD", "2", "{a}1", "{a}2", "limit", "3"))
		expectErr(t, "ERR numkeys should be greater than 0", "SINTERCARD", "0", "{a}1")
		expectErr(t, "ERR numkeys should be greater than 0", "SINTERCARD", "x", "{a}1")
		expectErr(t, "ERR Number of keys can't be greater than number of args", "SINTERCARD", "3", "{a}1", "{a}2")
		expectErr(t, "ERR LIMIT can't be negative", "SINTERCARD", "1", "{a}1", "LIMIT", "-1")
		expectErr(t, "ERR syntax error", "SINTERCARD", "1", "{a}1", "LIMIT")
		expectErr(t, "ERR syntax error", "SINTERCARD", "1", "{a}1", "{a}2")
	})

	t.Run("SINTERSTORE SUNIONSTORE SDIFFSTORE", func(t *testing.T) {
		rdb.Del(ctx, "{a}1", "{a}2", "{a}d")
		rdb.SAdd(ctx, "{a}1", "1", "2", "3")
		rdb.SAdd(ctx, "{a}2", "2", "3", "4")
		// over a string with a TTL: replaced by a set without TTL
		require.NoError(t, rdb.Set(ctx, "{a}d", "str", 100*time.Second).Err())
		require.EqualValues(t, 2, rdb.SInterStore(ctx, "{a}d", "{a}1", "{a}2").Val())
		require.Equal(t, "set", rdb.Type(ctx, "{a}d").Val())
		require.EqualValues(t, -1, rdb.TTL(ctx, "{a}d").Val())
		require.Equal(t, []string{"2", "3"}, util.Sorted(rdb.SMembers(ctx, "{a}d").Val()))
		// over a set: the old members are gone
		require.EqualValues(t, 4, rdb.SUnionStore(ctx, "{a}d", "{a}1", "{a}2").Val())
		require.Equal(t, []string{"1", "2", "3", "4"}, util.Sorted(rdb.SMembers(ctx, "{a}d").Val()))
		require.EqualValues(t, 1, rdb.SDiffStore(ctx, "{a}d", "{a}1", "{a}2").Val())
		require.Equal(t, []string{"1"}, rdb.SMembers(ctx, "{a}d").Val())
		// the destination is also a source
		require.EqualValues(t, 4, rdb.SUnionStore(ctx, "{a}d", "{a}d", "{a}nokey", "{a}2").Val())
		require.Equal(t, []string{"1", "2", "3", "4"}, util.Sorted(rdb.SMembers(ctx, "{a}d").Val()))
		// an empty result deletes the destination
		require.EqualValues(t, 0, rdb.SInterStore(ctx, "{a}d", "{a}1", "{a}nokey").Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "{a}d").Val())
		require.NoError(t, rdb.HSet(ctx, "{a}d", "f", "v").Err())
		require.EqualValues(t, 0, rdb.SDiffStore(ctx, "{a}d", "{a}1", "{a}1").Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "{a}d").Val())
		// a big destination is replaced completely
		rdb.SAdd(ctx, "{a}d", util.Args(numbered("old", 500)...)...)
		require.EqualValues(t, 3, rdb.SInterStore(ctx, "{a}d", "{a}1").Val())
		require.Equal(t, []string{"1", "2", "3"}, util.Sorted(rdb.SMembers(ctx, "{a}d").Val()))
		require.False(t, rdb.SIsMember(ctx, "{a}d", "old7").Val())
	})

	t.Run("SMOVE", func(t *testing.T) {
		rdb.Del(ctx, "{m}a", "{m}b", "{m}s")
		rdb.SAdd(ctx, "{m}a", "1", "2", "3")
		rdb.Set(ctx, "{m}s", "x", 0)
		require.False(t, rdb.SMove(ctx, "{m}nokey", "{m}s", "1").Val())
		require.True(t, rdb.SMove(ctx, "{m}a", "{m}b", "1").Val())
		require.False(t, rdb.SMove(ctx, "{m}a", "{m}b", "1").Val())
		require.Equal(t, []string{"1"}, rdb.SMembers(ctx, "{m}b").Val())
		require.True(t, rdb.SMove(ctx, "{m}a", "{m}a", "2").Val())
		require.False(t, rdb.SMove(ctx, "{m}a", "{m}a", "zz").Val())
		rdb.SAdd(ctx, "{m}b", "2")
		require.True(t, rdb.SMove(ctx, "{m}a", "{m}b", "2").Val())
		require.Equal(t, []string{"1", "2"}, util.Sorted(rdb.SMembers(ctx, "{m}b").Val()))
		require.True(t, rdb.SMove(ctx, "{m}a", "{m}b", "3").Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "{m}a").Val())
		expectErr(t, util.WrongType, "SMOVE", "{m}b", "{m}s", "1")
		expectErr(t, util.WrongType, "SMOVE", "{m}b", "{m}s", "missing")
		expectErr(t, util.WrongType, "SMOVE", "{m}s", "{m}b", "1")
		require.Equal(t, ":0\r\n", c2.Do("SMOVE", "{m}nokey", "{m}s", "1"))
		require.EqualValues(t, 3, rdb.SCard(ctx, "{m}b").Val())
	})

	t.Run("sets survive a restart", func(t *testing.T) {
		rdb.Del(ctx, "keep")
		ms := numbered("k", 100)
		rdb.SAdd(ctx, "keep", util.Args(ms...)...)
		rdb.SPopN(ctx, "keep", 10)
		before := util.Sorted(rdb.SMembers(ctx, "keep").Val())
		require.Len(t, before, 90)
		srv.Restart()
		r := srv.NewClient()
		defer r.Close()
		require.Equal(t, before, util.Sorted(r.SMembers(ctx, "keep").Val()))
		require.EqualValues(t, 90, r.SCard(ctx, "keep").Val())
	})
}
