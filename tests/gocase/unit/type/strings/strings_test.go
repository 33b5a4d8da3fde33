package strings

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
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

func TestString(t *testing.T) {
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

	t.Run("SET and GET an item", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "x", "foobar", 0).Err())
		require.Equal(t, "foobar", rdb.Get(ctx, "x").Val())
		require.Equal(t, "+OK\r\n", c2.Do("SET", "x", "second"))
		require.Equal(t, "$6\r\nsecond\r\n", c2.Do("GET", "x"))
		require.Equal(t, "$6\r\nsecond\r\n", c3.Do("GET", "x"))
	})

	t.Run("SET and GET an empty item", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "x", "", 0).Err())
		require.Equal(t, "$0\r\n\r\n", c2.Do("GET", "x"))
		require.EqualValues(t, 1, rdb.Exists(ctx, "x").Val())
	})

	t.Run("GET of a missing key is a null: $-1 in RESP2, _ in RESP3", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "nokey").Err())
		require.Equal(t, "$-1\r\n", c2.Do("GET", "nokey"))
		require.Equal(t, "_\r\n", c3.Do("GET", "nokey"))
		require.Equal(t, redis.Nil, rdb.Get(ctx, "nokey").Err())
		require.Equal(t, redis.Nil, rdb2.Get(ctx, "nokey").Err())
	})

	t.Run("SET and GET binary-safe keys and values", func(t *testing.T) {
		keys := []string{"k\x00ey", "k\r\ney", "k ey", "ключ", "\xff\xfe", util.AllBytes()}
		for i, k := range keys {
			v := fmt.Sprintf("%d:%s", i, util.AllBytes())
			require.NoError(t, rdb.Set(ctx, k, v, 0).Err())
			require.Equal(t, v, rdb.Get(ctx, k).Val(), "key %q", k)
			require.EqualValues(t, len(v), rdb.StrLen(ctx, k).Val())
		}
		require.EqualValues(t, len(keys), rdb.Del(ctx, keys...).Val())
	})

	t.Run("SET and GET big values", func(t *testing.T) {
		r := rand.New(rand.NewSource(1))
		for _, n := range []int{16 << 10, 100000, 1 << 20, 4 << 20} {
			v := util.RandString(r, n, "abcdefghijklmnopqrstuvwxyz0123456789\x00\r\n")
			require.NoError(t, rdb.Set(ctx, "big", v, 0).Err())
			got := rdb.Get(ctx, "big").Val()
			require.Equal(t, len(v), len(got))
			require.True(t, v == got, "value of %d bytes differs", n)
		}
	})

	t.Run("SET 1000 numeric keys in a pipeline and read them back", func(t *testing.T) {
		require.NoError(t, rdb.FlushDB(ctx).Err())
		pipe := rdb.Pipeline()
		for i := 0; i < 1000; i++ {
			pipe.Set(ctx, strconv.Itoa(i), i, 0)
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
		pipe = rdb.Pipeline()
		cmds := make([]*redis.StringCmd, 1000)
		for i := 0; i < 1000; i++ {
			cmds[i] = pipe.Get(ctx, strconv.Itoa(i))
		}
		_, err = pipe.Exec(ctx)
		require.NoError(t, err)
		for i, cmd := range cmds {
			require.Equal(t, strconv.Itoa(i), cmd.Val())
		}
		require.EqualValues(t, 1000, rdb.DBSize(ctx).Val())
	})

	t.Run("SET NX only sets a missing key", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "nx").Err())
		require.Equal(t, "+OK\r\n", c2.Do("SET", "nx", "1", "NX"))
		require.Equal(t, "$-1\r\n", c2.Do("SET", "nx", "2", "NX"))
		require.Equal(t, "_\r\n", c3.Do("SET", "nx", "2", "NX"))
		require.Equal(t, "1", rdb.Get(ctx, "nx").Val())
		ok, err := rdb.SetNX(ctx, "nx", "3", 0).Result()
		require.NoError(t, err)
		require.False(t, ok)
	})

	t.Run("SET XX only overwrites an existing key", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "xx").Err())
		require.Equal(t, "$-1\r\n", c2.Do("SET", "xx", "1", "XX"))
		require.Equal(t, "_\r\n", c3.Do("SET", "xx", "1", "XX"))
		require.EqualValues(t, 0, rdb.Exists(ctx, "xx").Val())
		require.NoError(t, rdb.Set(ctx, "xx", "old", 0).Err())
		require.Equal(t, "+OK\r\n", c2.Do("SET", "xx", "new", "XX"))
		require.Equal(t, "new", rdb.Get(ctx, "xx").Val())
	})

	t.Run("SET GET returns the old value", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "sg").Err())
		require.Equal(t, "$-1\r\n", c2.Do("SET", "sg", "v1", "GET"))
		require.Equal(t, "$2\r\nv1\r\n", c2.Do("SET", "sg", "v2", "GET"))
		require.Equal(t, "$2\r\nv2\r\n", c3.Do("SET", "sg", "v3", "GET"))
		require.Equal(t, "v3", rdb.Get(ctx, "sg").Val())
		v, err := rdb.SetArgs(ctx, "sg", "v4", redis.SetArgs{Get: true}).Result()
		require.NoError(t, err)
		require.Equal(t, "v3", v)
	})

	t.Run("SET NX GET and SET XX GET", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "sg").Err())
		// NX GET on a missing key: sets it, replies null
		require.Equal(t, "$-1\r\n", c2.Do("SET", "sg", "a", "NX", "GET"))
		require.Equal(t, "a", rdb.Get(ctx, "sg").Val())
		// NX GET on an existing key: does not set, replies the current value
		require.Equal(t, "$1\r\na\r\n", c2.Do("SET", "sg", "b", "NX", "GET"))
		require.Equal(t, "a", rdb.Get(ctx, "sg").Val())
		// XX GET on an existing key: sets, replies the old value
		require.Equal(t, "$1\r\na\r\n", c2.Do("SET", "sg", "c", "XX", "GET"))
		require.Equal(t, "c", rdb.Get(ctx, "sg").Val())
		// XX GET on a missing key: nothing set, null
		require.Equal(t, "_\r\n", c3.Do("SET", "sg-missing", "c", "XX", "GET"))
		require.EqualValues(t, 0, rdb.Exists(ctx, "sg-missing").Val())
	})

	t.Run("SET EX PX EXAT PXAT set a TTL", func(t *testing.T) {
		require.Equal(t, "+OK\r\n", c2.Do("SET", "e", "v", "EX", "100"))
		util.RequireTTLBetween(t, rdb, "e", 99, 100)
		require.Equal(t, "+OK\r\n", c2.Do("SET", "e", "v", "PX", "100000"))
		util.RequirePTTLBetween(t, rdb, "e", 95000, 100000)
		at := time.Now().Unix() + 200
		require.Equal(t, "+OK\r\n", c2.Do("SET", "e", "v", "EXAT", strconv.FormatInt(at, 10)))
		util.RequireTTLBetween(t, rdb, "e", 195, 200)
		atMs := time.Now().UnixMilli() + 300000
		require.Equal(t, "+OK\r\n", c2.Do("SET", "e", "v", "PXAT", strconv.FormatInt(atMs, 10)))
		util.RequirePTTLBetween(t, rdb, "e", 295000, 300000)
		require.Equal(t, "v", rdb.Get(ctx, "e").Val())
	})

	t.Run("SET options are case-insensitive", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "ci").Err())
		require.Equal(t, "+OK\r\n", c2.Do("set", "ci", "v", "ex", "100", "nx"))
		util.RequireTTLBetween(t, rdb, "ci", 99, 100)
		require.Equal(t, "$1\r\nv\r\n", c2.Do("SeT", "ci", "w", "Px", "5000", "xX", "gEt"))
		util.RequirePTTLBetween(t, rdb, "ci", 4000, 5000)
	})

	t.Run("SET with an expire time in the past deletes the key", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "past", "old", 0).Err())
		require.Equal(t, "+OK\r\n", c2.Do("SET", "past", "v", "EXAT", "1"))
		require.EqualValues(t, 0, rdb.Exists(ctx, "past").Val())
		require.NoError(t, rdb.Set(ctx, "past", "old", 0).Err())
		require.Equal(t, "$3\r\nold\r\n", c2.Do("SET", "past", "v", "PXAT", "1", "GET"))
		require.EqualValues(t, 0, rdb.Exists(ctx, "past").Val())
	})

	t.Run("SET without KEEPTTL clears the TTL, KEEPTTL keeps it", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "kt", "a", 100*time.Second).Err())
		require.Equal(t, "+OK\r\n", c2.Do("SET", "kt", "b", "KEEPTTL"))
		util.RequireTTLBetween(t, rdb, "kt", 99, 100)
		require.Equal(t, "b", rdb.Get(ctx, "kt").Val())
		require.Equal(t, "+OK\r\n", c2.Do("SET", "kt", "c"))
		require.EqualValues(t, -1, rdb.TTL(ctx, "kt").Val())
	})

	t.Run("SET repeated options are accepted", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "rep", "v", 0).Err())
		require.Equal(t, "+OK\r\n", c2.Do("SET", "rep", "v", "EX", "10", "EX", "10"))
		require.Equal(t, "+OK\r\n", c2.Do("SET", "rep", "v", "XX", "XX"))
		require.Equal(t, "$1\r\nv\r\n", c2.Do("SET", "rep", "w", "GET", "GET"))
		require.Equal(t, "$-1\r\n", c2.Do("SET", "rep", "v", "NX", "NX"))
	})

	t.Run("SET option errors", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
		expectErr(t, []errCase{
			{[]string{"SET", "k", "v", "EX", "0"}, "ERR invalid expire time in 'set' command"},
			{[]string{"SET", "k", "v", "EX", "-1"}, "ERR invalid expire time in 'set' command"},
			{[]string{"SET", "k", "v", "PX", "0"}, "ERR invalid expire time in 'set' command"},
			{[]string{"SET", "k", "v", "EXAT", "0"}, "ERR invalid expire time in 'set' command"},
			{[]string{"SET", "k", "v", "PXAT", "-5"}, "ERR invalid expire time in 'set' command"},
			{[]string{"SET", "k", "v", "EX", "99999999999999999"}, "ERR invalid expire time in 'set' command"},
			{[]string{"SET", "k", "v", "EX", "abc"}, "ERR value is not an integer or out of range"},
			{[]string{"SET", "k", "v", "PX", "1.5"}, "ERR value is not an integer or out of range"},
			{[]string{"SET", "k", "v", "EX"}, "ERR syntax error"},
			{[]string{"SET", "k", "v", "EX", "10", "PX", "10"}, "ERR syntax error"},
			{[]string{"SET", "k", "v", "EX", "10", "KEEPTTL"}, "ERR syntax error"},
			{[]string{"SET", "k", "v", "KEEPTTL", "PXAT", "10"}, "ERR syntax error"},
			{[]string{"SET", "k", "v", "NX", "XX"}, "ERR syntax error"},
			{[]string{"SET", "k", "v", "FOO"}, "ERR syntax error"},
			{[]string{"SET", "k", "v", "NX", "10"}, "ERR syntax error"},
			{[]string{"SET", "k"}, "ERR wrong number of arguments for 'set' command"},
			{[]string{"SET"}, "ERR wrong number of arguments for 'set' command"},
		})
		require.Equal(t, "v", rdb.Get(ctx, "k").Val(), "a failed SET must not change the key")
		require.EqualValues(t, -1, rdb.TTL(ctx, "k").Val())
	})

	t.Run("SETNX", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "snx").Err())
		require.Equal(t, ":1\r\n", c2.Do("SETNX", "snx", "a"))
		require.Equal(t, ":0\r\n", c2.Do("SETNX", "snx", "b"))
		require.Equal(t, "a", rdb.Get(ctx, "snx").Val())
		expectErr(t, []errCase{
			{[]string{"SETNX", "snx"}, "ERR wrong number of arguments for 'setnx' command"},
			{[]string{"SETNX", "snx", "a", "b"}, "ERR wrong number of arguments for 'setnx' command"},
		})
	})

	t.Run("SETNX against an expired volatile key", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "snxexp", "old", 50*time.Millisecond).Err())
		time.Sleep(150 * time.Millisecond)
		require.Equal(t, ":1\r\n", c2.Do("SETNX", "snxexp", "new"))
		require.Equal(t, "new", rdb.Get(ctx, "snxexp").Val())
		require.EqualValues(t, -1, rdb.TTL(ctx, "snxexp").Val())
	})

	t.Run("SETEX and PSETEX", func(t *testing.T) {
		require.Equal(t, "+OK\r\n", c2.Do("SETEX", "se", "100", "v1"))
		require.Equal(t, "v1", rdb.Get(ctx, "se").Val())
		util.RequireTTLBetween(t, rdb, "se", 99, 100)
		require.Equal(t, "+OK\r\n", c2.Do("PSETEX", "se", "50000", "v2"))
		require.Equal(t, "v2", rdb.Get(ctx, "se").Val())
		util.RequirePTTLBetween(t, rdb, "se", 45000, 50000)
		require.NoError(t, rdb.Set(ctx, "se", "keep", 0).Err())
		expectErr(t, []errCase{
			{[]string{"SETEX", "se", "0", "v"}, "ERR invalid expire time in 'setex' command"},
			{[]string{"SETEX", "se", "-5", "v"}, "ERR invalid expire time in 'setex' command"},
			{[]string{"PSETEX", "se", "0", "v"}, "ERR invalid expire time in 'psetex' command"},
			{[]string{"PSETEX", "se", "-1", "v"}, "ERR invalid expire time in 'psetex' command"},
			{[]string{"SETEX", "se", "abc", "v"}, "ERR value is not an integer or out of range"},
			{[]string{"PSETEX", "se", "1.5", "v"}, "ERR value is not an integer or out of range"},
			{[]string{"SETEX", "se", "10"}, "ERR wrong number of arguments for 'setex' command"},
			{[]string{"PSETEX", "se", "10", "v", "x"}, "ERR wrong number of arguments for 'psetex' command"},
		})
		require.Equal(t, "keep", rdb.Get(ctx, "se").Val())
		require.EqualValues(t, -1, rdb.TTL(ctx, "se").Val())
	})

	t.Run("MGET returns values and nulls in order", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "m1", "m2", "m3").Err())
		require.NoError(t, rdb.MSet(ctx, "m1", "a", "m3", "c").Err())
		require.Equal(t, "*4\r\n$1\r\na\r\n$-1\r\n$1\r\nc\r\n$1\r\na\r\n", c2.Do("MGET", "m1", "m2", "m3", "m1"))
		require.Equal(t, "*4\r\n$1\r\na\r\n_\r\n$1\r\nc\r\n$1\r\na\r\n", c3.Do("MGET", "m1", "m2", "m3", "m1"))
		vals, err := rdb.MGet(ctx, "m1", "m2", "m3").Result()
		require.NoError(t, err)
		require.Equal(t, []interface{}{"a", nil, "c"}, vals)
		expectErr(t, []errCase{{[]string{"MGET"}, "ERR wrong number of arguments for 'mget' command"}})
	})

	t.Run("MSET sets every pair, last duplicate wins, clears TTLs", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "ms1", "old", 100*time.Second).Err())
		require.Equal(t, "+OK\r\n", c2.Do("MSET", "ms1", "a", "ms2", "b", "ms3", "c", "ms2", "B"))
		require.Equal(t, []interface{}{"a", "B", "c"}, rdb.MGet(ctx, "ms1", "ms2", "ms3").Val())
		require.EqualValues(t, -1, rdb.TTL(ctx, "ms1").Val())
		expectErr(t, []errCase{
			{[]string{"MSET"}, "ERR wrong number of arguments for 'mset' command"},
			{[]string{"MSET", "ms1"}, "ERR wrong number of arguments for 'mset' command"},
			{[]string{"MSET", "ms1", "x", "ms2"}, "ERR wrong number of arguments for 'mset' command"},
		})
		require.Equal(t, []interface{}{"a", "B"}, rdb.MGet(ctx, "ms1", "ms2").Val(), "a failed MSET must change nothing")
	})

	t.Run("GETSET returns the old value and clears the TTL", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "gs").Err())
		require.Equal(t, "$-1\r\n", c2.Do("GETSET", "gs", "a"))
		require.Equal(t, "_\r\n", c3.Do("GETSET", "gs2-missing", "a"))
		require.NoError(t, rdb.Expire(ctx, "gs", 100*time.Second).Err())
		require.Equal(t, "$1\r\na\r\n", c2.Do("GETSET", "gs", "b"))
		require.Equal(t, "b", rdb.Get(ctx, "gs").Val())
		require.EqualValues(t, -1, rdb.TTL(ctx, "gs").Val())
		expectErr(t, []errCase{
			{[]string{"GETSET", "gs"}, "ERR wrong number of arguments for 'getset' command"},
			{[]string{"GETSET", "gs", "a", "b"}, "ERR wrong number of arguments for 'getset' command"},
		})
	})

	t.Run("GETDEL returns the value and deletes the key", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "gd", "v", 100*time.Second).Err())
		require.Equal(t, "$1\r\nv\r\n", c2.Do("GETDEL", "gd"))
		require.EqualValues(t, 0, rdb.Exists(ctx, "gd").Val())
		require.Equal(t, "$-1\r\n", c2.Do("GETDEL", "gd"))
		require.Equal(t, "_\r\n", c3.Do("GETDEL", "gd"))
		expectErr(t, []errCase{
			{[]string{"GETDEL"}, "ERR wrong number of arguments for 'getdel' command"},
			{[]string{"GETDEL", "a", "b"}, "ERR wrong number of arguments for 'getdel' command"},
		})
	})

	t.Run("GETEX without options does not touch the TTL", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "ge", "v", 100*time.Second).Err())
		require.Equal(t, "$1\r\nv\r\n", c2.Do("GETEX", "ge"))
		util.RequireTTLBetween(t, rdb, "ge", 99, 100)
		require.NoError(t, rdb.Set(ctx, "ge2", "v", 0).Err())
		require.Equal(t, "$1\r\nv\r\n", c2.Do("GETEX", "ge2"))
		require.EqualValues(t, -1, rdb.TTL(ctx, "ge2").Val())
	})

	t.Run("GETEX EX PX EXAT PXAT PERSIST", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "ge", "v", 0).Err())
		require.Equal(t, "$1\r\nv\r\n", c2.Do("GETEX", "ge", "EX", "1000"))
		util.RequireTTLBetween(t, rdb, "ge", 999, 1000)
		require.Equal(t, "$1\r\nv\r\n", c2.Do("GETEX", "ge", "px", "50000"))
		util.RequirePTTLBetween(t, rdb, "ge", 45000, 50000)
		require.Equal(t, "$1\r\nv\r\n", c2.Do("GETEX", "ge", "EXAT", strconv.FormatInt(time.Now().Unix()+500, 10)))
		util.RequireTTLBetween(t, rdb, "ge", 495, 500)
		require.Equal(t, "$1\r\nv\r\n", c2.Do("GETEX", "ge", "PXAT", strconv.FormatInt(time.Now().UnixMilli()+600000, 10)))
		util.RequireTTLBetween(t, rdb, "ge", 595, 600)
		require.Equal(t, "$1\r\nv\r\n", c2.Do("GETEX", "ge", "PERSIST"))
		require.EqualValues(t, -1, rdb.TTL(ctx, "ge").Val())
		v, err := rdb.GetEx(ctx, "ge", 30*time.Second).Result()
		require.NoError(t, err)
		require.Equal(t, "v", v)
		util.RequireTTLBetween(t, rdb, "ge", 29, 30)
	})

	t.Run("GETEX on a missing key is null and creates nothing", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "gemiss").Err())
		require.Equal(t, "$-1\r\n", c2.Do("GETEX", "gemiss", "EX", "10"))
		require.Equal(t, "_\r\n", c3.Do("GETEX", "gemiss", "PERSIST"))
		require.EqualValues(t, 0, rdb.Exists(ctx, "gemiss").Val())
	})

	t.Run("GETEX with a past EXAT deletes the key", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "gepast", "v", 0).Err())
		require.Equal(t, "$1\r\nv\r\n", c2.Do("GETEX", "gepast", "EXAT", "1"))
		require.EqualValues(t, 0, rdb.Exists(ctx, "gepast").Val())
	})

	t.Run("GETEX errors", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "ge", "v", 0).Err())
		expectErr(t, []errCase{
			{[]string{"GETEX"}, "ERR wrong number of arguments for 'getex' command"},
			{[]string{"GETEX", "ge", "EX", "0"}, "ERR invalid expire time in 'getex' command"},
			{[]string{"GETEX", "ge", "PX", "-1"}, "ERR invalid expire time in 'getex' command"},
			{[]string{"GETEX", "ge", "EXAT", "0"}, "ERR invalid expire time in 'getex' command"},
			{[]string{"GETEX", "ge", "PXAT", "-1"}, "ERR invalid expire time in 'getex' command"},
			{[]string{"GETEX", "ge", "EX", "abc"}, "ERR value is not an integer or out of range"},
			{[]string{"GETEX", "ge", "EX"}, "ERR syntax error"},
			{[]string{"GETEX", "ge", "FOO"}, "ERR syntax error"},
			{[]string{"GETEX", "ge", "PERSIST", "EX", "10"}, "ERR syntax error"},
			{[]string{"GETEX", "ge", "PX", "100", "PERSIST"}, "ERR syntax error"},
			{[]string{"GETEX", "ge", "EX", "10", "PX", "10"}, "ERR syntax error"},
		})
		require.EqualValues(t, -1, rdb.TTL(ctx, "ge").Val())
	})

	t.Run("STRLEN counts bytes", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "sl", "hello", 0).Err())
		require.Equal(t, ":5\r\n", c2.Do("STRLEN", "sl"))
		require.NoError(t, rdb.Set(ctx, "sl", "\xc3\xa9t\xc3\xa9", 0).Err())
		require.Equal(t, ":5\r\n", c2.Do("STRLEN", "sl"))
		require.NoError(t, rdb.Set(ctx, "sl", "-12345", 0).Err())
		require.Equal(t, ":6\r\n", c2.Do("STRLEN", "sl"))
		require.Equal(t, ":0\r\n", c2.Do("STRLEN", "sl-missing"))
		expectErr(t, []errCase{
			{[]string{"STRLEN"}, "ERR wrong number of arguments for 'strlen' command"},
			{[]string{"STRLEN", "a", "b"}, "ERR wrong number of arguments for 'strlen' command"},
		})
	})

	t.Run("APPEND creates and extends, returning the new length", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "ap").Err())
		require.Equal(t, ":5\r\n", c2.Do("APPEND", "ap", "hello"))
		require.Equal(t, ":11\r\n", c2.Do("APPEND", "ap", " world"))
		require.Equal(t, ":11\r\n", c2.Do("APPEND", "ap", ""))
		require.Equal(t, "hello world", rdb.Get(ctx, "ap").Val())
		require.Equal(t, ":13\r\n", c2.Do("APPEND", "ap", "\x00\n"))
		require.Equal(t, "hello world\x00\n", rdb.Get(ctx, "ap").Val())
		require.NoError(t, rdb.Set(ctx, "apn", "1", 0).Err())
		require.NoError(t, rdb.Incr(ctx, "apn").Err())
		require.Equal(t, ":3\r\n", c2.Do("APPEND", "apn", "00"))
		require.Equal(t, "200", rdb.Get(ctx, "apn").Val())
		expectErr(t, []errCase{
			{[]string{"APPEND", "ap"}, "ERR wrong number of arguments for 'append' command"},
		})
	})

	t.Run("APPEND fuzzing", func(t *testing.T) {
		r := rand.New(rand.NewSource(2))
		require.NoError(t, rdb.Del(ctx, "apf").Err())
		var want strings.Builder
		for i := 0; i < 200; i++ {
			chunk := util.RandString(r, r.Intn(40), util.AllBytes())
			want.WriteString(chunk)
			n, err := rdb.Append(ctx, "apf", chunk).Result()
			require.NoError(t, err)
			require.EqualValues(t, want.Len(), n)
		}
		require.Equal(t, want.String(), rdb.Get(ctx, "apf").Val())
	})

	t.Run("APPEND keeps the TTL", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "apttl", "a", 100*time.Second).Err())
		require.NoError(t, rdb.Append(ctx, "apttl", "b").Err())
		util.RequireTTLBetween(t, rdb, "apttl", 99, 100)
	})

	t.Run("GETRANGE", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "gr", "Hello World", 0).Err())
		for _, tc := range []struct {
			start, end, want string
		}{
			{"0", "-1", "Hello World"},
			{"0", "4", "Hello"},
			{"6", "10", "World"},
			{"-5", "-1", "World"},
			{"-3", "-2", "rl"},
			{"0", "100", "Hello World"},
			{"5", "3", ""},
			{"-1", "-5", ""},
			{"-25", "-28", ""}, // both negative and start > end: empty before clamping
			{"20", "30", ""},
			{"-100", "-50", "H"}, // Redis 7.0 clamps both to 0
			{"0", "-100", "H"},   // Redis 7.0 clamps end to 0
			{"10", "10", "d"},
			{"0", "0", "H"},
			{"-9223372036854775808", "9223372036854775807", "Hello World"},
		} {
			want := fmt.Sprintf("$%d\r\n%s\r\n", len(tc.want), tc.want)
			require.Equal(t, want, c2.Do("GETRANGE", "gr", tc.start, tc.end), "GETRANGE gr %s %s", tc.start, tc.end)
		}
		require.Equal(t, "$0\r\n\r\n", c2.Do("GETRANGE", "gr-missing", "0", "-1"))
		require.Equal(t, "$0\r\n\r\n", c3.Do("GETRANGE", "gr-missing", "0", "-1"))
		require.NoError(t, rdb.Set(ctx, "gre", "", 0).Err())
		require.Equal(t, "$0\r\n\r\n", c2.Do("GETRANGE", "gre", "0", "-1"))
		require.NoError(t, rdb.Set(ctx, "grn", "1234", 0).Err())
		require.NoError(t, rdb.IncrBy(ctx, "grn", 1).Err())
		require.Equal(t, "$2\r\n23\r\n", c2.Do("GETRANGE", "grn", "1", "2"))
		expectErr(t, []errCase{
			{[]string{"GETRANGE", "gr", "a", "1"}, "ERR value is not an integer or out of range"},
			{[]string{"GETRANGE", "gr", "0", "9223372036854775808"}, "ERR value is not an integer or out of range"},
			{[]string{"GETRANGE", "gr", "0"}, "ERR wrong number of arguments for 'getrange' command"},
			{[]string{"GETRANGE", "gr", "0", "1", "2"}, "ERR wrong number of arguments for 'getrange' command"},
		})
	})

	t.Run("GETRANGE fuzzing against a local model", func(t *testing.T) {
		r := rand.New(rand.NewSource(3))
		for i := 0; i < 100; i++ {
			s := util.RandString(r, r.Intn(30), "abcdefghij")
			require.NoError(t, rdb.Set(ctx, "grf", s, 0).Err())
			start, end := int64(r.Intn(80)-40), int64(r.Intn(80)-40)
			got, err := rdb.GetRange(ctx, "grf", start, end).Result()
			require.NoError(t, err)
			require.Equal(t, redis70GetRange(s, start, end), got, "GETRANGE %q %d %d", s, start, end)
		}
	})

	t.Run("SETRANGE", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "sr", "Hello World", 0).Err())
		require.Equal(t, ":11\r\n", c2.Do("SETRANGE", "sr", "6", "Redis"))
		require.Equal(t, "Hello Redis", rdb.Get(ctx, "sr").Val())
		require.Equal(t, ":13\r\n", c2.Do("SETRANGE", "sr", "10", "!!!"))
		require.Equal(t, "Hello Redi!!!", rdb.Get(ctx, "sr").Val())
		require.Equal(t, ":13\r\n", c2.Do("SETRANGE", "sr", "0", ""))
		require.Equal(t, ":13\r\n", c2.Do("SETRANGE", "sr", "536870911", ""), "empty value: length only, no offset check")

		require.NoError(t, rdb.Del(ctx, "srn").Err())
		require.Equal(t, ":7\r\n", c2.Do("SETRANGE", "srn", "5", "ab"))
		require.Equal(t, "\x00\x00\x00\x00\x00ab", rdb.Get(ctx, "srn").Val())
		require.Equal(t, ":0\r\n", c2.Do("SETRANGE", "srmiss", "0", ""))
		require.Equal(t, ":0\r\n", c2.Do("SETRANGE", "srmiss", "100", ""))
		require.EqualValues(t, 0, rdb.Exists(ctx, "srmiss").Val(), "SETRANGE with an empty value must not create the key")

		require.NoError(t, rdb.Set(ctx, "srint", "1234", 0).Err())
		require.NoError(t, rdb.Incr(ctx, "srint").Err())
		require.Equal(t, ":4\r\n", c2.Do("SETRANGE", "srint", "1", "9"))
		require.Equal(t, "1935", rdb.Get(ctx, "srint").Val())

		require.NoError(t, rdb.Set(ctx, "srttl", "abc", 100*time.Second).Err())
		require.Equal(t, ":3\r\n", c2.Do("SETRANGE", "srttl", "0", "x"))
		util.RequireTTLBetween(t, rdb, "srttl", 99, 100)

		expectErr(t, []errCase{
			{[]string{"SETRANGE", "sr", "-1", "x"}, "ERR offset is out of range"},
			{[]string{"SETRANGE", "sr", "536870912", "x"}, "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
			{[]string{"SETRANGE", "sr", "536870911", "xx"}, "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
			{[]string{"SETRANGE", "srmiss", "9223372036854775807", "x"}, "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
			{[]string{"SETRANGE", "sr", "abc", "x"}, "ERR value is not an integer or out of range"},
			{[]string{"SETRANGE", "sr", "0"}, "ERR wrong number of arguments for 'setrange' command"},
		})
		require.EqualValues(t, 0, rdb.Exists(ctx, "srmiss").Val())
		require.Equal(t, "Hello Redi!!!", rdb.Get(ctx, "sr").Val())
	})

	t.Run("SETRANGE fuzzing against a local model", func(t *testing.T) {
		r := rand.New(rand.NewSource(4))
		require.NoError(t, rdb.Del(ctx, "srf").Err())
		model := []byte{}
		for i := 0; i < 150; i++ {
			off := r.Intn(64)
			v := util.RandString(r, r.Intn(10), "xyz\x00")
			if len(v) > 0 && off+len(v) > len(model) {
				model = append(model, make([]byte, off+len(v)-len(model))...)
			}
			copy(model[off:], v)
			n, err := rdb.SetRange(ctx, "srf", int64(off), v).Result()
			require.NoError(t, err)
			require.EqualValues(t, len(model), n)
		}
		require.Equal(t, string(model), rdb.Get(ctx, "srf").Val())
	})

	t.Run("INCR DECR INCRBY DECRBY", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "ctr").Err())
		require.Equal(t, ":1\r\n", c2.Do("INCR", "ctr"))
		require.Equal(t, ":2\r\n", c2.Do("INCR", "ctr"))
		require.Equal(t, ":27\r\n", c2.Do("INCRBY", "ctr", "25"))
		require.Equal(t, ":26\r\n", c2.Do("DECR", "ctr"))
		require.Equal(t, ":-4\r\n", c2.Do("DECRBY", "ctr", "30"))
		require.Equal(t, ":-14\r\n", c2.Do("INCRBY", "ctr", "-10"))
		require.Equal(t, ":0\r\n", c2.Do("DECRBY", "ctr", "-14"))
		require.Equal(t, "0", rdb.Get(ctx, "ctr").Val())
		require.Equal(t, ":-1\r\n", c2.Do("DECR", "ctr-new"))
		require.Equal(t, ":-5\r\n", c2.Do("DECRBY", "ctr-new2", "5"))
		require.Equal(t, ":7\r\n", c3.Do("INCRBY", "ctr-new3", "7"))
	})

	t.Run("INCR works on a value set as a string", func(t *testing.T) {
		for _, v := range []string{"0", "-1", "17179869184", "-9223372036854775807", "9223372036854775806"} {
			require.NoError(t, rdb.Set(ctx, "ctr", v, 0).Err())
			n, _ := strconv.ParseInt(v, 10, 64)
			require.Equal(t, fmt.Sprintf(":%d\r\n", n+1), c2.Do("INCR", "ctr"), "INCR of %q", v)
			require.Equal(t, strconv.FormatInt(n+1, 10), rdb.Get(ctx, "ctr").Val())
		}
	})

	t.Run("INCR and friends keep the TTL", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "ctrttl", "10", 100*time.Second).Err())
		require.NoError(t, rdb.Incr(ctx, "ctrttl").Err())
		require.NoError(t, rdb.DecrBy(ctx, "ctrttl", 3).Err())
		require.NoError(t, rdb.IncrByFloat(ctx, "ctrttl", 1.5).Err())
		util.RequireTTLBetween(t, rdb, "ctrttl", 99, 100)
		require.Equal(t, "9.5", rdb.Get(ctx, "ctrttl").Val())
	})

	t.Run("INCR against values that are not canonical integers", func(t *testing.T) {
		for _, v := range []string{"", "abc", "1.5", "007", "+1", " 1", "1 ", "-0", "0x10", "1e3", "9223372036854775808", "-9223372036854775809", "12\x00"} {
			require.NoError(t, rdb.Set(ctx, "bad", v, 0).Err())
			for _, cmd := range [][]string{{"INCR", "bad"}, {"DECR", "bad"}, {"INCRBY", "bad", "1"}, {"DECRBY", "bad", "1"}} {
				require.Equal(t, "-ERR value is not an integer or out of range\r\n", c2.Do(cmd...), "%q on %q", cmd, v)
			}
			require.Equal(t, v, rdb.Get(ctx, "bad").Val(), "the value must be unchanged")
		}
	})

	t.Run("INCRBY DECRBY with a bad increment", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "ctr", "1", 0).Err())
		expectErr(t, []errCase{
			{[]string{"INCRBY", "ctr", "1.5"}, "ERR value is not an integer or out of range"},
			{[]string{"INCRBY", "ctr", "abc"}, "ERR value is not an integer or out of range"},
			{[]string{"INCRBY", "ctr", ""}, "ERR value is not an integer or out of range"},
			{[]string{"DECRBY", "ctr", "9223372036854775808"}, "ERR value is not an integer or out of range"},
			{[]string{"INCR"}, "ERR wrong number of arguments for 'incr' command"},
			{[]string{"DECR", "ctr", "x"}, "ERR wrong number of arguments for 'decr' command"},
			{[]string{"INCRBY", "ctr"}, "ERR wrong number of arguments for 'incrby' command"},
			{[]string{"DECRBY", "ctr", "1", "2"}, "ERR wrong number of arguments for 'decrby' command"},
		})
		require.Equal(t, "1", rdb.Get(ctx, "ctr").Val())
	})

	t.Run("INCR DECR overflow is an error and changes nothing", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "ov", "9223372036854775807", 0).Err())
		expectErr(t, []errCase{
			{[]string{"INCR", "ov"}, "ERR increment or decrement would overflow"},
			{[]string{"INCRBY", "ov", "1"}, "ERR increment or decrement would overflow"},
			{[]string{"DECRBY", "ov", "-1"}, "ERR increment or decrement would overflow"},
		})
		require.Equal(t, "9223372036854775807", rdb.Get(ctx, "ov").Val())
		require.NoError(t, rdb.Set(ctx, "ov", "-9223372036854775808", 0).Err())
		expectErr(t, []errCase{
			{[]string{"DECR", "ov"}, "ERR increment or decrement would overflow"},
			{[]string{"DECRBY", "ov", "1"}, "ERR increment or decrement would overflow"},
			{[]string{"INCRBY", "ov", "-1"}, "ERR increment or decrement would overflow"},
		})
		require.Equal(t, "-9223372036854775808", rdb.Get(ctx, "ov").Val())
		require.NoError(t, rdb.Set(ctx, "ov", "1", 0).Err())
		expectErr(t, []errCase{
			{[]string{"DECRBY", "ov", "-9223372036854775808"}, "ERR decrement would overflow"},
		})
		require.Equal(t, ":-9223372036854775806\r\n", c2.Do("DECRBY", "ov", "9223372036854775807"))
		require.Equal(t, ":-9223372036854775808\r\n", c2.Do("DECRBY", "ov", "2"))
		require.Equal(t, ":-1\r\n", c2.Do("INCRBY", "ov", "9223372036854775807"))
	})

	t.Run("INCRBYFLOAT", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "fl").Err())
		require.Equal(t, "$3\r\n2.5\r\n", c2.Do("INCRBYFLOAT", "fl", "2.5"))
		require.Equal(t, "2.5", rdb.Get(ctx, "fl").Val())
		require.Equal(t, "$3\r\n3.5\r\n", c3.Do("INCRBYFLOAT", "fl", "1"), "INCRBYFLOAT replies a bulk string in RESP3 too")
		require.Equal(t, "$4\r\n3.25\r\n", c2.Do("INCRBYFLOAT", "fl", "-0.25"))
		v, err := rdb.IncrByFloat(ctx, "fl", 10).Result()
		require.NoError(t, err)
		require.Equal(t, 13.25, v)
	})

	t.Run("INCRBYFLOAT result formatting", func(t *testing.T) {
		for _, tc := range []struct{ start, incr, want string }{
			{"10.50", "0.1", "10.6"},
			{"5", "0", "5"},
			{"5.0", "-5", "0"},
			{"3", "-3.0000", "0"},
			{"3.0e3", "200", "3200"},
			{"1", "1.0e10", "10000000001"},
			{"1", "5.0e3", "5001"},
			{"0", "0.0000001", "0.0000001"},
			{"5", "1e-5", "5.00001"},
			{"17179869184", "1.5", "17179869185.5"},
			{"-1", "-1.5", "-2.5"},
		} {
			require.NoError(t, rdb.Set(ctx, "flf", tc.start, 0).Err())
			want := fmt.Sprintf("$%d\r\n%s\r\n", len(tc.want), tc.want)
			require.Equal(t, want, c2.Do("INCRBYFLOAT", "flf", tc.incr), "%s + %s", tc.start, tc.incr)
			require.Equal(t, tc.want, rdb.Get(ctx, "flf").Val())
		}
	})

	t.Run("INCRBYFLOAT parses with strtold and computes in long double like Redis 7.0", func(t *testing.T) {
		// Redis 7.0 parses with strtold, adds in `long double` and prints %.17Lf without trailing zeros.
		for _, tc := range []struct{ start, incr, want string }{
			{"1.5", "0x10", "17.5"},
			{"0.1", "0.2", "0.3"},
			{"10.6", "-5e3", "-4989.39999999999999991"},
			{"5", "1.23456789012345678", "6.23456789012345678"},
		} {
			require.NoError(t, rdb.Set(ctx, "fll", tc.start, 0).Err())
			want := fmt.Sprintf("$%d\r\n%s\r\n", len(tc.want), tc.want)
			require.Equal(t, want, c2.Do("INCRBYFLOAT", "fll", tc.incr), "%s + %s", tc.start, tc.incr)
		}
	})

	t.Run("INCRBYFLOAT errors", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "fle", "1.5", 0).Err())
		expectErr(t, []errCase{
			{[]string{"INCRBYFLOAT", "fle", "abc"}, "ERR value is not a valid float"},
			{[]string{"INCRBYFLOAT", "fle", ""}, "ERR value is not a valid float"},
			{[]string{"INCRBYFLOAT", "fle", "1.5e"}, "ERR value is not a valid float"},
			{[]string{"INCRBYFLOAT", "fle", " 1"}, "ERR value is not a valid float"},
			{[]string{"INCRBYFLOAT", "fle", "nan"}, "ERR value is not a valid float"},
			{[]string{"INCRBYFLOAT", "fle", "inf"}, "ERR increment would produce NaN or Infinity"},
			{[]string{"INCRBYFLOAT", "fle", "-inf"}, "ERR increment would produce NaN or Infinity"},
			{[]string{"INCRBYFLOAT", "fle"}, "ERR wrong number of arguments for 'incrbyfloat' command"},
			{[]string{"INCRBYFLOAT", "fle", "1", "2"}, "ERR wrong number of arguments for 'incrbyfloat' command"},
		})
		require.Equal(t, "1.5", rdb.Get(ctx, "fle").Val())
		for _, v := range []string{"abc", " 1", "1 ", "", "1.5.5"} {
			require.NoError(t, rdb.Set(ctx, "fle", v, 0).Err())
			require.Equal(t, "-ERR value is not a valid float\r\n", c2.Do("INCRBYFLOAT", "fle", "1"), "value %q", v)
			require.Equal(t, v, rdb.Get(ctx, "fle").Val())
		}
	})
}

// redis70GetRange is Redis 7.0's getrangeCommand index arithmetic.
func redis70GetRange(s string, start, end int64) string {
	n := int64(len(s))
	if start < 0 && end < 0 && start > end {
		return ""
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		return ""
	}
	return s[start : end+1]
}
