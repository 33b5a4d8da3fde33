package expire

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

func TestExpire(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()
	rdb := srv.NewClient()
	defer func() { require.NoError(t, rdb.Close()) }()
	c := srv.NewTCPClient()

	now := func() int64 { return time.Now().Unix() }
	nowMs := func() int64 { return time.Now().UnixMilli() }
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }

	t.Run("EXPIRE sets a TTL and replies 1, 0 for a missing key", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "x", "foobar", 0).Err())
		require.Equal(t, ":1\r\n", c.Do("EXPIRE", "x", "100"))
		util.RequireTTLBetween(t, rdb, "x", 99, 100)
		util.RequirePTTLBetween(t, rdb, "x", 95000, 100000)
		require.Equal(t, "foobar", rdb.Get(ctx, "x").Val())
		require.Equal(t, ":0\r\n", c.Do("EXPIRE", "nokey", "100"))
		require.EqualValues(t, 0, rdb.Exists(ctx, "nokey").Val())
	})

	t.Run("EXPIRE can update the TTL of a volatile key", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "x", "v", 100*time.Second).Err())
		require.Equal(t, ":1\r\n", c.Do("EXPIRE", "x", "200"))
		util.RequireTTLBetween(t, rdb, "x", 199, 200)
		require.Equal(t, ":1\r\n", c.Do("EXPIRE", "x", "50"))
		util.RequireTTLBetween(t, rdb, "x", 49, 50)
	})

	t.Run("PEXPIRE EXPIREAT PEXPIREAT", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "x", "v", 0).Err())
		require.Equal(t, ":1\r\n", c.Do("PEXPIRE", "x", "100000"))
		util.RequirePTTLBetween(t, rdb, "x", 95000, 100000)
		require.Equal(t, ":1\r\n", c.Do("EXPIREAT", "x", itoa(now()+200)))
		util.RequireTTLBetween(t, rdb, "x", 195, 200)
		require.Equal(t, ":1\r\n", c.Do("PEXPIREAT", "x", itoa(nowMs()+300000)))
		util.RequirePTTLBetween(t, rdb, "x", 295000, 300000)
		require.Equal(t, ":0\r\n", c.Do("PEXPIRE", "nokey", "100"))
		require.Equal(t, ":0\r\n", c.Do("EXPIREAT", "nokey", itoa(now()+100)))
		require.Equal(t, ":0\r\n", c.Do("PEXPIREAT", "nokey", itoa(nowMs()+100)))
	})

	t.Run("TTL rounds to the nearest second", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "x", "v", 0).Err())
		// 2900 ms (minus a little elapsed time) rounds to 3; truncation would give 2.
		c.MustWrite(t, util.EncodeArgs("PEXPIRE", "x", "2900")+util.EncodeArgs("TTL", "x"))
		c.ExpectReply(t, ":1\r\n", ":3\r\n")
	})

	t.Run("TTL and PTTL of a missing key and of a persistent key", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "persistent", "v", 0).Err())
		require.Equal(t, ":-2\r\n", c.Do("TTL", "nokey"))
		require.Equal(t, ":-2\r\n", c.Do("PTTL", "nokey"))
		require.Equal(t, ":-1\r\n", c.Do("TTL", "persistent"))
		require.Equal(t, ":-1\r\n", c.Do("PTTL", "persistent"))
	})

	t.Run("EXPIRE with a non-positive or past time deletes the key", func(t *testing.T) {
		for _, args := range [][]string{
			{"EXPIRE", "x", "0"},
			{"EXPIRE", "x", "-1"},
			{"PEXPIRE", "x", "0"},
			{"PEXPIRE", "x", "-100"},
			{"EXPIREAT", "x", "1"},
			{"EXPIREAT", "x", itoa(now() - 10)},
			{"PEXPIREAT", "x", "0"},
			{"PEXPIREAT", "x", itoa(nowMs() - 1000)},
			{"EXPIRE", "x", "-1", "NX"},
		} {
			require.NoError(t, rdb.Set(ctx, "x", "v", 0).Err())
			before := rdb.DBSize(ctx).Val()
			require.Equal(t, ":1\r\n", c.Do(args...), "%q", args)
			require.EqualValues(t, 0, rdb.Exists(ctx, "x").Val(), "%q", args)
			require.Equal(t, ":-2\r\n", c.Do("TTL", "x"))
			require.Equal(t, before-1, rdb.DBSize(ctx).Val(), "%q must remove the key from DBSIZE", args)
		}
	})

	t.Run("EXPIRE errors", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "x", "v", 0).Err())
		for _, tc := range []struct {
			args []string
			err  string
		}{
			{[]string{"EXPIRE", "x", "abc"}, "ERR value is not an integer or out of range"},
			{[]string{"EXPIRE", "x", "1.5"}, "ERR value is not an integer or out of range"},
			{[]string{"PEXPIRE", "x", ""}, "ERR value is not an integer or out of range"},
			{[]string{"EXPIRE", "x", "9223372036854775808"}, "ERR value is not an integer or out of range"},
			{[]string{"EXPIRE", "x", "9223372036854775807"}, "ERR invalid expire time in 'expire' command"},
			{[]string{"EXPIRE", "x", "9223372036854775"}, "ERR invalid expire time in 'expire' command"},
			{[]string{"EXPIRE", "x", "-9223372036854775808"}, "ERR invalid expire time in 'expire' command"},
			{[]string{"PEXPIRE", "x", "9223372036854775807"}, "ERR invalid expire time in 'pexpire' command"},
			{[]string{"EXPIREAT", "x", "9223372036854775807"}, "ERR invalid expire time in 'expireat' command"},
			{[]string{"EXPIRE", "x", "100", "NX", "XX"}, "ERR NX and XX, GT or LT options at the same time are not compatible"},
			{[]string{"EXPIRE", "x", "100", "NX", "GT"}, "ERR NX and XX, GT or LT options at the same time are not compatible"},
			{[]string{"PEXPIRE", "x", "100", "LT", "NX"}, "ERR NX and XX, GT or LT options at the same time are not compatible"},
			{[]string{"EXPIRE", "x", "100", "GT", "LT"}, "ERR GT and LT options at the same time are not compatible"},
			{[]string{"EXPIREAT", "x", itoa(now() + 100), "LT", "GT"}, "ERR GT and LT options at the same time are not compatible"},
			{[]string{"EXPIRE", "x", "100", "FOO"}, "ERR Unsupported option FOO"},
			{[]string{"PEXPIREAT", "x", "100", "nx", "bar"}, "ERR Unsupported option bar"},
			{[]string{"EXPIRE", "x", "1", "2", "3"}, "ERR Unsupported option 2"},
			{[]string{"EXPIRE", "x"}, "ERR wrong number of arguments for 'expire' command"},
		} {
			require.Equal(t, "-"+tc.err+"\r\n", c.Do(tc.args...), "%q", tc.args)
		}
		require.Equal(t, "v", rdb.Get(ctx, "x").Val())
		require.Equal(t, ":-1\r\n", c.Do("TTL", "x"), "failed EXPIREs must leave the key persistent")
	})

	t.Run("EXPIRE NX and XX", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "x", "v", 0).Err())
		require.Equal(t, ":0\r\n", c.Do("EXPIRE", "x", "100", "XX"), "XX on a persistent key")
		require.Equal(t, ":-1\r\n", c.Do("TTL", "x"))
		require.Equal(t, ":1\r\n", c.Do("EXPIRE", "x", "100", "NX"), "NX on a persistent key")
		util.RequireTTLBetween(t, rdb, "x", 99, 100)
		require.Equal(t, ":0\r\n", c.Do("EXPIRE", "x", "200", "NX"), "NX on a volatile key")
		util.RequireTTLBetween(t, rdb, "x", 99, 100)
		require.Equal(t, ":1\r\n", c.Do("EXPIRE", "x", "200", "xx"), "XX on a volatile key")
		util.RequireTTLBetween(t, rdb, "x", 199, 200)
		require.Equal(t, ":0\r\n", c.Do("EXPIRE", "nokey", "100", "NX"))
		ok, err := rdb.ExpireNX(ctx, "x", time.Hour).Result()
		require.NoError(t, err)
		require.False(t, ok)
		ok, err = rdb.ExpireXX(ctx, "x", time.Hour).Result()
		require.NoError(t, err)
		require.True(t, ok)
		util.RequireTTLBetween(t, rdb, "x", 3599, 3600)
	})

	t.Run("EXPIRE GT and LT", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "x", "v", 0).Err())
		// a persistent key counts as an infinite TTL
		require.Equal(t, ":0\r\n", c.Do("EXPIRE", "x", "100", "GT"))
		require.Equal(t, ":-1\r\n", c.Do("TTL", "x"))
		require.Equal(t, ":1\r\n", c.Do("EXPIRE", "x", "100", "LT"))
		util.RequireTTLBetween(t, rdb, "x", 99, 100)
		require.Equal(t, ":1\r\n", c.Do("EXPIRE", "x", "200", "GT"))
		util.RequireTTLBetween(t, rdb, "x", 199, 200)
		require.Equal(t, ":0\r\n", c.Do("EXPIRE", "x", "50", "GT"))
		util.RequireTTLBetween(t, rdb, "x", 199, 200)
		require.Equal(t, ":1\r\n", c.Do("PEXPIRE", "x", "10000", "LT"))
		util.RequirePTTLBetween(t, rdb, "x", 5000, 10000)
		require.Equal(t, ":0\r\n", c.Do("PEXPIRE", "x", "50000", "lt"))
		util.RequirePTTLBetween(t, rdb, "x", 5000, 10000)
		require.Equal(t, ":1\r\n", c.Do("EXPIREAT", "x", itoa(now()+1000), "GT"))
		require.Equal(t, ":0\r\n", c.Do("PEXPIREAT", "x", itoa(nowMs()+10000), "GT"))
		require.Equal(t, ":1\r\n", c.Do("PEXPIREAT", "x", itoa(nowMs()+20000), "LT"))
		util.RequirePTTLBetween(t, rdb, "x", 15000, 20000)
		// XX combines with GT/LT
		require.Equal(t, ":1\r\n", c.Do("EXPIRE", "x", "3000", "GT", "XX"))
		util.RequireTTLBetween(t, rdb, "x", 2999, 3000)
		require.Equal(t, ":0\r\n", c.Do("EXPIRE", "nokey", "100", "LT"))
	})

	t.Run("PERSIST", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "x", "v", 100*time.Second).Err())
		require.Equal(t, ":1\r\n", c.Do("PERSIST", "x"))
		require.Equal(t, ":-1\r\n", c.Do("TTL", "x"))
		require.Equal(t, ":0\r\n", c.Do("PERSIST", "x"))
		require.Equal(t, ":0\r\n", c.Do("PERSIST", "nokey"))
		require.Equal(t, "v", rdb.Get(ctx, "x").Val())
	})

	t.Run("which writes keep or clear the TTL", func(t *testing.T) {
		type step struct {
			name  string
			args  []string
			keeps bool
		}
		for _, s := range []step{
			{"SET", []string{"SET", "w", "v2"}, false},
			{"SET KEEPTTL", []string{"SET", "w", "v2", "KEEPTTL"}, true},
			{"SET XX", []string{"SET", "w", "v2", "XX"}, false},
			{"SET NX on existing", []string{"SET", "w", "v2", "NX"}, true},
			{"SETNX on existing", []string{"SETNX", "w", "v2"}, true},
			{"MSET", []string{"MSET", "w", "v2", "other", "o"}, false},
			{"GETSET", []string{"GETSET", "w", "v2"}, false},
			{"APPEND", []string{"APPEND", "w", "x"}, true},
			{"SETRANGE", []string{"SETRANGE", "w", "0", "x"}, true},
			{"GET", []string{"GET", "w"}, true},
			{"GETEX", []string{"GETEX", "w"}, true},
			{"GETRANGE", []string{"GETRANGE", "w", "0", "-1"}, true},
			{"STRLEN", []string{"STRLEN", "w"}, true},
		} {
			require.NoError(t, rdb.Set(ctx, "w", "1", 0).Err())
			require.NoError(t, rdb.Expire(ctx, "w", 100*time.Second).Err())
			r := c.Do(s.args...)
			require.False(t, strings.HasPrefix(r, "-"), "%s: %q", s.name, r)
			ttl := rdb.TTL(ctx, "w").Val()
			if s.keeps {
				require.True(t, ttl > 98*time.Second && ttl <= 100*time.Second, "%s must keep the TTL, TTL is %v", s.name, ttl)
			} else {
				require.EqualValues(t, -1, ttl, "%s must clear the TTL", s.name)
			}
		}
		for _, args := range [][]string{{"INCR", "n"}, {"DECR", "n"}, {"INCRBY", "n", "5"}, {"DECRBY", "n", "5"}, {"INCRBYFLOAT", "n", "1.5"}} {
			require.NoError(t, rdb.Set(ctx, "n", "10", 100*time.Second).Err())
			r := c.Do(args...)
			require.False(t, strings.HasPrefix(r, "-"), "%q: %q", args, r)
			util.RequireTTLBetween(t, rdb, "n", 99, 100)
		}
	})

	t.Run("passive expiry: a key with PX 100 is gone once it expires", func(t *testing.T) {
		require.Equal(t, "+OK\r\n", c.Do("SET", "px", "v", "PX", "100"))
		require.Equal(t, "$1\r\nv\r\n", c.Do("GET", "px"))
		time.Sleep(250 * time.Millisecond)
		require.Equal(t, "$-1\r\n", c.Do("GET", "px"))
		require.Equal(t, ":0\r\n", c.Do("EXISTS", "px"))
		require.Equal(t, ":-2\r\n", c.Do("TTL", "px"))
		require.Equal(t, ":-2\r\n", c.Do("PTTL", "px"))
		require.Equal(t, "+none\r\n", c.Do("TYPE", "px"))
	})

	t.Run("expired keys are invisible to every command", func(t *testing.T) {
		setExpired := func(k string) {
			require.Equal(t, "+OK\r\n", c.Do("SET", k, "10", "PX", "50"))
		}
		for i := 0; i < 16; i++ {
			setExpired(fmt.Sprintf("gone%d", i))
		}
		time.Sleep(200 * time.Millisecond)
		require.Equal(t, "$-1\r\n", c.Do("GETDEL", "gone0"))
		require.Equal(t, "$-1\r\n", c.Do("GETEX", "gone1", "PERSIST"))
		require.Equal(t, "$-1\r\n", c.Do("GETSET", "gone2", "new"))
		require.Equal(t, "new", rdb.Get(ctx, "gone2").Val())
		require.EqualValues(t, -1, rdb.TTL(ctx, "gone2").Val())
		require.Equal(t, ":1\r\n", c.Do("INCR", "gone3"), "INCR starts from 0, not from the expired value")
		require.Equal(t, ":3\r\n", c.Do("APPEND", "gone4", "abc"))
		require.Equal(t, ":0\r\n", c.Do("STRLEN", "gone5"))
		require.Equal(t, ":0\r\n", c.Do("DEL", "gone6"))
		require.Equal(t, ":0\r\n", c.Do("UNLINK", "gone6b"))
		require.Equal(t, ":0\r\n", c.Do("EXPIRE", "gone7", "100"))
		require.Equal(t, ":0\r\n", c.Do("PERSIST", "gone8"))
		require.Equal(t, "*2\r\n$-1\r\n$-1\r\n", c.Do("MGET", "gone9", "gone10"))
		require.Equal(t, "$0\r\n\r\n", c.Do("GETRANGE", "gone11", "0", "-1"))
		require.Equal(t, "+OK\r\n", c.Do("SET", "gone12", "x", "NX"))
		require.Equal(t, "$-1\r\n", c.Do("SET", "gone13", "x", "XX"))
		require.EqualValues(t, 0, rdb.Exists(ctx, "gone13").Val())
		require.Equal(t, ":1\r\n", c.Do("SETNX", "gone14", "x"))
		require.Equal(t, "$1\r\n1\r\n", c.Do("INCRBYFLOAT", "gone15", "1"))
	})

	t.Run("SET KEEPTTL on an expired key does not resurrect the TTL", func(t *testing.T) {
		require.Equal(t, "+OK\r\n", c.Do("SET", "kt", "v", "PX", "50"))
		time.Sleep(150 * time.Millisecond)
		require.Equal(t, "+OK\r\n", c.Do("SET", "kt", "v2", "KEEPTTL"))
		require.Equal(t, ":-1\r\n", c.Do("TTL", "kt"))
		require.Equal(t, "v2", rdb.Get(ctx, "kt").Val())
	})

	t.Run("active expiry: keys with a short TTL that are never read disappear from DBSIZE", func(t *testing.T) {
		require.NoError(t, rdb.FlushDB(ctx).Err())
		pipe := rdb.Pipeline()
		for i := 0; i < 50; i++ {
			pipe.Set(ctx, fmt.Sprintf("keep:%d", i), i, 0)
		}
		for i := 0; i < 200; i++ {
			pipe.Set(ctx, fmt.Sprintf("short:%d", i), i, time.Duration(100+i)*time.Millisecond)
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 250, rdb.DBSize(ctx).Val())
		start := time.Now()
		util.WaitFor(t, 10*time.Second, 50*time.Millisecond, func() bool {
			return rdb.DBSize(ctx).Val() == 50
		}, "DBSIZE stayed at %d instead of dropping to 50", rdb.DBSize(ctx).Val())
		t.Logf("active expiry removed 200 keys in %v", time.Since(start))
		for i := 0; i < 50; i++ {
			require.Equal(t, strconv.Itoa(i), rdb.Get(ctx, fmt.Sprintf("keep:%d", i)).Val())
		}
	})

	t.Run("INFO keyspace counts keys with an expiry", func(t *testing.T) {
		require.NoError(t, rdb.FlushDB(ctx).Err())
		require.NoError(t, rdb.MSet(ctx, "a", 1, "b", 2, "c", 3).Err())
		require.NoError(t, rdb.Expire(ctx, "a", time.Hour).Err())
		require.NoError(t, rdb.Set(ctx, "d", 4, time.Hour).Err())
		info := rdb.Info(ctx, "keyspace").Val()
		require.Contains(t, info, "db0:keys=4,expires=2,avg_ttl=")
		require.NoError(t, rdb.Persist(ctx, "a").Err())
		require.Contains(t, rdb.Info(ctx, "keyspace").Val(), "db0:keys=4,expires=1,avg_ttl=")
	})

	t.Run("expiry works through go-redis helpers", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "gr", "v", 0).Err())
		ok, err := rdb.Expire(ctx, "gr", 10*time.Second).Result()
		require.NoError(t, err)
		require.True(t, ok)
		ttl, err := rdb.PTTL(ctx, "gr").Result()
		require.NoError(t, err)
		require.True(t, ttl > 9*time.Second && ttl <= 10*time.Second, "PTTL %v", ttl)
		ok, err = rdb.ExpireGT(ctx, "gr", 5*time.Second).Result()
		require.NoError(t, err)
		require.False(t, ok)
		require.Equal(t, time.Duration(-2), rdb.TTL(ctx, "nokey").Val())
		require.Equal(t, redis.Nil, rdb.Get(ctx, "nokey").Err())
	})
}
