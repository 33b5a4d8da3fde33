package keys

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

func TestKeys(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()
	rdb := srv.NewClient()
	defer func() { require.NoError(t, rdb.Close()) }()
	c2 := srv.NewTCPClient()
	c3 := srv.NewTCPClient()
	require.Contains(t, c3.Do("HELLO", "3"), "proto\r\n:3\r\n")

	t.Run("DEL counts only the keys that existed", func(t *testing.T) {
		require.NoError(t, rdb.FlushDB(ctx).Err())
		require.NoError(t, rdb.MSet(ctx, "a", "1", "b", "2", "c", "3").Err())
		require.Equal(t, ":2\r\n", c2.Do("DEL", "a", "b", "nokey"))
		require.EqualValues(t, 0, rdb.Exists(ctx, "a", "b").Val())
		require.Equal(t, "3", rdb.Get(ctx, "c").Val())
		require.Equal(t, ":0\r\n", c2.Do("DEL", "a", "nokey"))
		require.Equal(t, ":1\r\n", c3.Do("DEL", "c", "c", "c"), "a repeated key is deleted (and counted) once")
		require.EqualValues(t, 0, rdb.DBSize(ctx).Val())
	})

	t.Run("UNLINK counts only the keys that existed", func(t *testing.T) {
		require.NoError(t, rdb.MSet(ctx, "u1", "1", "u2", "2").Err())
		require.Equal(t, ":2\r\n", c2.Do("UNLINK", "u1", "u2", "u3", "u1"))
		require.EqualValues(t, 0, rdb.Exists(ctx, "u1", "u2").Val())
		require.Equal(t, ":0\r\n", c2.Do("UNLINK", "u1"))
	})

	t.Run("DEL of many keys", func(t *testing.T) {
		require.NoError(t, rdb.FlushDB(ctx).Err())
		args := []string{"DEL"}
		pairs := []interface{}{}
		for i := 0; i < 1000; i++ {
			k := "many:" + strconv.Itoa(i)
			args = append(args, k)
			if i%2 == 0 {
				pairs = append(pairs, k, i)
			}
		}
		require.NoError(t, rdb.MSet(ctx, pairs...).Err())
		require.EqualValues(t, 500, rdb.DBSize(ctx).Val())
		require.Equal(t, ":500\r\n", c2.Do(args...))
		require.EqualValues(t, 0, rdb.DBSize(ctx).Val())
	})

	t.Run("EXISTS counts every argument, repeats included", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "e1", "v", 0).Err())
		require.NoError(t, rdb.Set(ctx, "e2", "", 0).Err())
		require.Equal(t, ":1\r\n", c2.Do("EXISTS", "e1"))
		require.Equal(t, ":0\r\n", c2.Do("EXISTS", "nokey"))
		require.Equal(t, ":2\r\n", c2.Do("EXISTS", "e1", "nokey", "e1"))
		require.Equal(t, ":3\r\n", c3.Do("EXISTS", "e1", "e2", "e1"))
		require.NoError(t, rdb.Del(ctx, "e1").Err())
		require.Equal(t, ":1\r\n", c2.Do("EXISTS", "e1", "e2"))
	})

	t.Run("TYPE", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "t", "v", 0).Err())
		require.Equal(t, "+string\r\n", c2.Do("TYPE", "t"))
		require.Equal(t, "+string\r\n", c3.Do("TYPE", "t"))
		require.NoError(t, rdb.Set(ctx, "tn", "12", 0).Err())
		require.NoError(t, rdb.Incr(ctx, "tn").Err())
		require.Equal(t, "+string\r\n", c2.Do("TYPE", "tn"))
		require.Equal(t, "+none\r\n", c2.Do("TYPE", "nokey"))
		require.Equal(t, "none", rdb.Type(ctx, "nokey").Val())
	})

	t.Run("key commands report wrong arity", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			name string
		}{
			{[]string{"DEL"}, "del"},
			{[]string{"UNLINK"}, "unlink"},
			{[]string{"EXISTS"}, "exists"},
			{[]string{"TYPE"}, "type"},
			{[]string{"TYPE", "a", "b"}, "type"},
			{[]string{"EXPIRE", "a"}, "expire"},
			{[]string{"PEXPIRE", "a"}, "pexpire"},
			{[]string{"EXPIREAT"}, "expireat"},
			{[]string{"PEXPIREAT", "a"}, "pexpireat"},
			{[]string{"TTL"}, "ttl"},
			{[]string{"PTTL", "a", "b"}, "pttl"},
			{[]string{"PERSIST"}, "persist"},
			{[]string{"PERSIST", "a", "b"}, "persist"},
			{[]string{"DBSIZE", "x"}, "dbsize"},
			{[]string{"GET"}, "get"},
			{[]string{"GET", "a", "b"}, "get"},
		} {
			want := fmt.Sprintf("-ERR wrong number of arguments for '%s' command\r\n", tc.name)
			require.Equal(t, want, c2.Do(tc.args...), "%q", tc.args)
		}
	})

	t.Run("command names are case-insensitive", func(t *testing.T) {
		require.Equal(t, "+OK\r\n", c2.Do("sEt", "ci", "v"))
		require.Equal(t, "$1\r\nv\r\n", c2.Do("get", "ci"))
		require.Equal(t, ":1\r\n", c2.Do("ExIsTs", "ci"))
		require.Equal(t, ":1\r\n", c2.Do("dEl", "ci"))
	})

	t.Run("keys are case-sensitive and binary-safe", func(t *testing.T) {
		require.NoError(t, rdb.FlushDB(ctx).Err())
		keys := []string{"key", "KEY", "Key", "key\x00", "\x00key", "key ", "", "\r\n"}
		for i, k := range keys {
			require.NoError(t, rdb.Set(ctx, k, i, 0).Err())
		}
		require.EqualValues(t, len(keys), rdb.DBSize(ctx).Val())
		for i, k := range keys {
			require.Equal(t, strconv.Itoa(i), rdb.Get(ctx, k).Val(), "key %q", k)
		}
		require.EqualValues(t, len(keys), rdb.Exists(ctx, keys...).Val())
		require.EqualValues(t, len(keys), rdb.Del(ctx, keys...).Val())
	})

	t.Run("DBSIZE follows writes and deletes", func(t *testing.T) {
		require.NoError(t, rdb.FlushDB(ctx).Err())
		require.Equal(t, ":0\r\n", c2.Do("DBSIZE"))
		for i := 0; i < 20; i++ {
			require.NoError(t, rdb.Set(ctx, fmt.Sprintf("d%d", i), i, 0).Err())
		}
		require.Equal(t, ":20\r\n", c2.Do("DBSIZE"))
		require.NoError(t, rdb.Set(ctx, "d0", "overwrite", 0).Err())
		require.Equal(t, ":20\r\n", c3.Do("DBSIZE"), "overwriting does not add a key")
		require.NoError(t, rdb.Del(ctx, "d0", "d1").Err())
		require.Equal(t, ":18\r\n", c2.Do("DBSIZE"))
		require.NoError(t, rdb.GetDel(ctx, "d2").Err())
		require.Equal(t, ":17\r\n", c2.Do("DBSIZE"))
	})

	t.Run("FLUSHDB and FLUSHALL remove every key", func(t *testing.T) {
		require.NoError(t, rdb.FlushDB(ctx).Err())
		for _, flush := range [][]string{{"FLUSHDB"}, {"FLUSHALL"}, {"FLUSHDB", "ASYNC"}, {"FLUSHDB", "SYNC"}, {"FLUSHALL", "async"}, {"FLUSHALL", "SYNC"}} {
			pairs := []interface{}{}
			for i := 0; i < 100; i++ {
				pairs = append(pairs, "f"+strconv.Itoa(i), i)
			}
			require.NoError(t, rdb.MSet(ctx, pairs...).Err())
			require.NoError(t, rdb.Set(ctx, "fttl", "v", time.Hour).Err())
			require.EqualValues(t, 101, rdb.DBSize(ctx).Val())
			require.Equal(t, "+OK\r\n", c2.Do(flush...), "%q", flush)
			require.EqualValues(t, 0, rdb.DBSize(ctx).Val(), "%q", flush)
			require.EqualValues(t, 0, rdb.Exists(ctx, "f0", "f99", "fttl").Val(), "%q", flush)
			require.Equal(t, ":-2\r\n", c2.Do("TTL", "fttl"))
			// the keyspace is usable right away
			require.NoError(t, rdb.Set(ctx, "f0", "again", 0).Err())
			require.Equal(t, "again", rdb.Get(ctx, "f0").Val())
			require.NoError(t, rdb.Del(ctx, "f0").Err())
		}
	})

	t.Run("FLUSHDB and FLUSHALL reject bad arguments", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "keep", "v", 0).Err())
		require.Equal(t, "-ERR syntax error\r\n", c2.Do("FLUSHDB", "foo"))
		require.Equal(t, "-ERR syntax error\r\n", c2.Do("FLUSHALL", "foo"))
		require.Equal(t, "v", rdb.Get(ctx, "keep").Val())
	})

	t.Run("a key deleted by DEL can be created again", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "again", "1", time.Hour).Err())
		require.NoError(t, rdb.Del(ctx, "again").Err())
		require.Equal(t, ":1\r\n", c2.Do("INCR", "again"))
		require.EqualValues(t, -1, rdb.TTL(ctx, "again").Val(), "a recreated key must not inherit the old TTL")
	})

	t.Run("unknown commands", func(t *testing.T) {
		require.Equal(t, "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n", c2.Do("FOO", "bar", "baz"))
		require.Equal(t, "-ERR unknown command 'foo', with args beginning with: \r\n", c2.Do("foo"))
		require.Equal(t, "-ERR unknown command 'HGETALL_NOPE', with args beginning with: 'k' \r\n", c3.Do("HGETALL_NOPE", "k"))
		require.EqualError(t, rdb.Do(ctx, "NOSUCHCMD", "a").Err(), "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' ")
		// the argument list is cut at 128 bytes of quoted arguments
		a200, a100, b50 := strings.Repeat("a", 200), strings.Repeat("a", 100), strings.Repeat("b", 50)
		require.Equal(t, "-ERR unknown command 'FOO', with args beginning with: '"+a200[:128]+"' \r\n", c2.Do("FOO", a200, "b"))
		require.Equal(t, "-ERR unknown command 'FOO', with args beginning with: '"+a100+"' '"+b50[:25]+"' \r\n", c2.Do("FOO", a100, b50, "c"))
		// the connection is still usable
		require.Equal(t, "+PONG\r\n", c2.Do("PING"))
	})
}
