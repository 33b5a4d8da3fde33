package hash

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

// numbered is prefix0..prefix(n-1) mapped to "v0".."v(n-1)".
func numbered(prefix string, n int) map[string]string {
	out := make(map[string]string, n)
	for i := 0; i < n; i++ {
		out[prefix+strconv.Itoa(i)] = "v" + strconv.Itoa(i)
	}
	return out
}

// pairs flattens a field->value map into HSET arguments.
func pairs(m map[string]string) []interface{} {
	out := make([]interface{}, 0, 2*len(m))
	for f, v := range m {
		out = append(out, f, v)
	}
	return out
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return util.Sorted(out)
}

func valuesOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return util.Sorted(out)
}

func TestHash(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()
	cl := srv.NewClients()
	rdb, rdb2, c2, c3 := cl.RDB, cl.RDB2, cl.C2, cl.C3

	expectErr := cl.ExpectErr
	// the same raw reply in RESP2 and RESP3
	expectBoth := func(t *testing.T, reply string, args ...string) {
		t.Helper()
		require.Equal(t, reply, c2.Do(args...), "%q (raw RESP2)", args)
		require.Equal(t, reply, c3.Do(args...), "%q (raw RESP3)", args)
	}
	reset := func(t *testing.T, key string, fields map[string]string) {
		t.Helper()
		require.NoError(t, rdb.Del(ctx, key).Err())
		if len(fields) > 0 {
			require.EqualValues(t, len(fields), rdb.HSet(ctx, key, pairs(fields)...).Val())
		}
	}

	t.Run("HSET HGET HMSET HMGET HLEN HEXISTS HDEL", func(t *testing.T) {
		reset(t, "h", nil)
		require.EqualValues(t, 2, rdb.HSet(ctx, "h", "a", "1", "b", "2").Val())
		// an existing field is overwritten and not counted
		require.EqualValues(t, 1, rdb.HSet(ctx, "h", "a", "3", "c", "4").Val())
		require.Equal(t, "3", rdb.HGet(ctx, "h", "a").Val())
		require.Equal(t, "hash", rdb.Type(ctx, "h").Val())
		// the same field twice in one HSET: added once, the last value wins
		require.Equal(t, ":1\r\n", c2.Do("HSET", "h", "d", "x", "d", "y"))
		require.Equal(t, "$1\r\ny\r\n", c3.Do("HGET", "h", "d"))
		require.Equal(t, ":0\r\n", c3.Do("HSET", "h", "d", "z"))
		require.Equal(t, "z", rdb.HGet(ctx, "h", "d").Val())

		require.Equal(t, "$1\r\n3\r\n", c2.Do("HGET", "h", "a"))
		require.Equal(t, "$-1\r\n", c2.Do("HGET", "h", "zz"))
		require.Equal(t, "_\r\n", c3.Do("HGET", "h", "zz"))
		require.Equal(t, "_\r\n", c3.Do("HGET", "nokey", "a"))
		require.Equal(t, redis.Nil, rdb.HGet(ctx, "h", "zz").Err())
		require.Equal(t, redis.Nil, rdb2.HGet(ctx, "nokey", "a").Err())

		require.EqualValues(t, 4, rdb.HLen(ctx, "h").Val())
		require.EqualValues(t, 0, rdb.HLen(ctx, "nokey").Val())
		expectBoth(t, ":4\r\n", "HLEN", "h")
		require.True(t, rdb.HExists(ctx, "h", "a").Val())
		require.False(t, rdb.HExists(ctx, "h", "zz").Val())
		require.False(t, rdb.HExists(ctx, "nokey", "a").Val())
		expectBoth(t, ":1\r\n", "HEXISTS", "h", "b")
		expectBoth(t, ":0\r\n", "HEXISTS", "h", "B")

		// HMSET replies OK in both protocols
		expectBoth(t, "+OK\r\n", "HMSET", "h", "p", "q", "r", "s")
		require.True(t, rdb.HMSet(ctx, "h", "t", "u").Val())
		require.Equal(t, "q", rdb.HGet(ctx, "h", "p").Val())
		require.EqualValues(t, 7, rdb.HLen(ctx, "h").Val())

		// HMGET: a null per missing field, in order
		require.Equal(t, []interface{}{"3", nil, "2"}, rdb.HMGet(ctx, "h", "a", "zz", "b").Val())
		require.Equal(t, []interface{}{nil, nil}, rdb2.HMGet(ctx, "nokey", "a", "b").Val())
		require.Equal(t, "*3\r\n$1\r\n3\r\n$-1\r\n$1\r\nq\r\n", c2.Do("HMGET", "h", "a", "zz", "p"))
		require.Equal(t, "*3\r\n$1\r\n3\r\n_\r\n$1\r\nq\r\n", c3.Do("HMGET", "h", "a", "zz", "p"))
		require.Equal(t, "*2\r\n_\r\n_\r\n", c3.Do("HMGET", "nokey", "a", "b"))

		// HDEL counts the fields that were there (a repeated field once)
		require.EqualValues(t, 2, rdb.HDel(ctx, "h", "a", "zz", "b", "a").Val())
		require.EqualValues(t, 0, rdb.HDel(ctx, "h", "a").Val())
		require.EqualValues(t, 0, rdb.HDel(ctx, "nokey", "a").Val())
		require.Equal(t, ":1\r\n", c2.Do("HDEL", "h", "p", "p"))
		require.Equal(t, ":0\r\n", c3.Do("HDEL", "h", "p", "p"))
		require.False(t, rdb.HExists(ctx, "h", "a").Val())
		require.Equal(t, map[string]string{"c": "4", "d": "z", "r": "s", "t": "u"}, rdb.HGetAll(ctx, "h").Val())
	})

	t.Run("HGETALL is a map in RESP3 and a flat array in RESP2", func(t *testing.T) {
		reset(t, "g", nil)
		require.Equal(t, "*0\r\n", c2.Do("HGETALL", "g"))
		require.Equal(t, "%0\r\n", c3.Do("HGETALL", "g"))
		require.Empty(t, rdb.HGetAll(ctx, "g").Val())
		rdb.HSet(ctx, "g", "f", "v")
		require.Equal(t, "*2\r\n$1\r\nf\r\n$1\r\nv\r\n", c2.Do("HGETALL", "g"))
		require.Equal(t, "%1\r\n$1\r\nf\r\n$1\r\nv\r\n", c3.Do("HGETALL", "g"))
		rdb.HSet(ctx, "g", "field2", "")
		r2, r3 := c2.Do("HGETALL", "g"), c3.Do("HGETALL", "g")
		require.Contains(t, []string{
			"*4\r\n$1\r\nf\r\n$1\r\nv\r\n$6\r\nfield2\r\n$0\r\n\r\n",
			"*4\r\n$6\r\nfield2\r\n$0\r\n\r\n$1\r\nf\r\n$1\r\nv\r\n",
		}, r2)
		require.Equal(t, "%2\r\n"+r2[len("*4\r\n"):], r3, "the same pairs in the same order")
		// go-redis reads both shapes into the same map
		want := map[string]string{"f": "v", "field2": ""}
		require.Equal(t, want, rdb.HGetAll(ctx, "g").Val())
		require.Equal(t, want, rdb2.HGetAll(ctx, "g").Val())
		// the raw value through Do: a map in RESP3, a flat list in RESP2
		m, ok := rdb.Do(ctx, "HGETALL", "g").Val().(map[interface{}]interface{})
		require.True(t, ok, "RESP3 HGETALL is a map, got %T", rdb.Do(ctx, "HGETALL", "g").Val())
		require.Equal(t, map[interface{}]interface{}{"f": "v", "field2": ""}, m)
		l, ok := rdb2.Do(ctx, "HGETALL", "g").Val().([]interface{})
		require.True(t, ok, "RESP2 HGETALL is an array")
		require.Len(t, l, 4)
	})

	t.Run("HKEYS HVALS HGETALL list the fields in the same order", func(t *testing.T) {
		fields := numbered("k", 200)
		reset(t, "kv", fields)
		require.Equal(t, fields, rdb.HGetAll(ctx, "kv").Val())
		require.Equal(t, fields, rdb2.HGetAll(ctx, "kv").Val())
		keys := rdb.HKeys(ctx, "kv").Val()
		vals := rdb.HVals(ctx, "kv").Val()
		require.Equal(t, keysOf(fields), util.Sorted(keys))
		require.Equal(t, valuesOf(fields), util.Sorted(vals))
		require.Len(t, vals, len(keys))
		for i, k := range keys {
			require.Equal(t, fields[k], vals[i], "HKEYS[%d]=%q but HVALS[%d]=%q", i, k, i, vals[i])
		}
		require.Equal(t, keys, rdb2.HKeys(ctx, "kv").Val())
		require.Equal(t, vals, rdb2.HVals(ctx, "kv").Val())
		// arrays in both protocols; empty for a missing key
		expectBoth(t, "*0\r\n", "HKEYS", "nokey")
		expectBoth(t, "*0\r\n", "HVALS", "nokey")
		reset(t, "one", map[string]string{"f": "v"})
		expectBoth(t, "*1\r\n$1\r\nf\r\n", "HKEYS", "one")
		expectBoth(t, "*1\r\n$1\r\nv\r\n", "HVALS", "one")
	})

	t.Run("binary-safe fields and values", func(t *testing.T) {
		fields := map[string]string{
			"":              "empty field",
			"\x00":          "\x00\x00",
			"a\r\nb":        "c\r\nd",
			"ключ":          "значение",
			util.AllBytes(): util.AllBytes() + util.AllBytes(),
			"empty value":   "",
		}
		reset(t, "bin", fields)
		for f, v := range fields {
			require.Equal(t, v, rdb.HGet(ctx, "bin", f).Val(), "%q", f)
			require.True(t, rdb.HExists(ctx, "bin", f).Val(), "%q", f)
		}
		require.Equal(t, fields, rdb.HGetAll(ctx, "bin").Val())
		require.Equal(t, fields, rdb2.HGetAll(ctx, "bin").Val())
		require.Equal(t, "$4\r\nc\r\nd\r\n", c2.Do("HGET", "bin", "a\r\nb"))
		require.Equal(t, "$0\r\n\r\n", c3.Do("HGET", "bin", "empty value"))
		require.EqualValues(t, len(fields), rdb.HDel(ctx, "bin", keysOf(fields)...).Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "bin").Val())
	})

	t.Run("an emptied hash is deleted", func(t *testing.T) {
		reset(t, "e", map[string]string{"a": "1", "b": "2"})
		require.EqualValues(t, 1, rdb.HDel(ctx, "e", "a").Val())
		require.EqualValues(t, 1, rdb.Exists(ctx, "e").Val())
		require.EqualValues(t, 1, rdb.HDel(ctx, "e", "b", "zz").Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "e").Val())
		require.Equal(t, "none", rdb.Type(ctx, "e").Val())
		require.EqualValues(t, 0, rdb.HLen(ctx, "e").Val())
		require.Equal(t, "%0\r\n", c3.Do("HGETALL", "e"))
		// the name is free for any type now
		require.NoError(t, rdb.Set(ctx, "e", "str", 0).Err())
		require.Equal(t, "str", rdb.Get(ctx, "e").Val())
		require.EqualValues(t, 1, rdb.Del(ctx, "e").Val())
		// and a new hash under the name starts empty
		require.EqualValues(t, 1, rdb.HSet(ctx, "e", "x", "1").Val())
		require.Equal(t, map[string]string{"x": "1"}, rdb.HGetAll(ctx, "e").Val())
		require.Equal(t, "hash", rdb.Type(ctx, "e").Val())
	})

	t.Run("WRONGTYPE on every hash command and from other types", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "str", "x", 0).Err())
		reset(t, "hw", map[string]string{"f": "1"})
		for _, args := range [][]string{
			{"HSET", "str", "a", "1"}, {"HGET", "str", "a"}, {"HDEL", "str", "a"},
			{"HMSET", "str", "a", "1"}, {"HMGET", "str", "a"}, {"HGETALL", "str"},
			{"HKEYS", "str"}, {"HVALS", "str"}, {"HLEN", "str"}, {"HEXISTS", "str", "a"},
			{"HSETNX", "str", "a", "1"}, {"HINCRBY", "str", "a", "1"},
			{"HINCRBYFLOAT", "str", "a", "1"}, {"HRANDFIELD", "str"}, {"HRANDFIELD", "str", "2"},
			{"HRANDFIELD", "str", "-2", "WITHVALUES"}, {"HSCAN", "str", "0"},
			{"GET", "hw"}, {"INCR", "hw"}, {"APPEND", "hw", "x"}, {"SADD", "hw", "x"},
			{"LPUSH", "hw", "x"}, {"ZADD", "hw", "1", "x"}, {"SMEMBERS", "hw"},
		} {
			expectErr(t, util.WrongType, args...)
		}
		require.Equal(t, "x", rdb.Get(ctx, "str").Val())
		require.Equal(t, map[string]string{"f": "1"}, rdb.HGetAll(ctx, "hw").Val())
		require.EqualError(t, rdb.HSet(ctx, "str", "a", "1").Err(), util.WrongType)
		require.EqualError(t, rdb2.HGetAll(ctx, "str").Err(), util.WrongType)
		// argument errors are found before the type (as Redis does)
		expectErr(t, "ERR value is not an integer or out of range", "HINCRBY", "str", "a", "x")
		expectErr(t, "ERR value is not a valid float", "HINCRBYFLOAT", "str", "a", "x")
		expectErr(t, "ERR value is not an integer or out of range", "HRANDFIELD", "str", "x")
		expectErr(t, "ERR invalid cursor", "HSCAN", "str", "x")
		// SET replaces a hash
		require.NoError(t, rdb.Set(ctx, "hw", "now a string", 0).Err())
		require.Equal(t, "now a string", rdb.Get(ctx, "hw").Val())
		expectErr(t, util.WrongType, "HGET", "hw", "f")
	})

	t.Run("arity errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"HSET", "h"}, {"HSET", "h", "a"}, {"HSET", "h", "a", "1", "b"},
			{"HGET", "h"}, {"HGET", "h", "a", "b"}, {"HDEL", "h"},
			{"HMSET", "h", "a"}, {"HMSET", "h", "a", "1", "b"}, {"HMGET", "h"},
			{"HGETALL"}, {"HGETALL", "h", "x"}, {"HKEYS"}, {"HKEYS", "h", "x"},
			{"HVALS"}, {"HVALS", "h", "x"}, {"HLEN"}, {"HLEN", "h", "x"},
			{"HEXISTS", "h"}, {"HEXISTS", "h", "a", "b"},
			{"HSETNX", "h", "a"}, {"HSETNX", "h", "a", "b", "c"},
			{"HINCRBY", "h", "a"}, {"HINCRBY", "h", "a", "1", "2"},
			{"HINCRBYFLOAT", "h", "a"}, {"HINCRBYFLOAT", "h", "a", "1", "2"},
			{"HRANDFIELD"}, {"HSCAN", "h"},
		} {
			expectErr(t, fmt.Sprintf("ERR wrong number of arguments for '%s' command", strings.ToLower(args[0])), args...)
		}
	})

	t.Run("a failed HSET or HMSET changes nothing", func(t *testing.T) {
		reset(t, "f", map[string]string{"a": "1"})
		expectErr(t, "ERR wrong number of arguments for 'hset' command", "HSET", "f", "a", "2", "b")
		expectErr(t, "ERR wrong number of arguments for 'hmset' command", "HMSET", "f", "c", "3", "d")
		require.Equal(t, map[string]string{"a": "1"}, rdb.HGetAll(ctx, "f").Val())
		expectErr(t, "ERR wrong number of arguments for 'hset' command", "HSET", "fresh", "a")
		require.EqualValues(t, 0, rdb.Exists(ctx, "fresh").Val())
	})

	t.Run("HSETNX", func(t *testing.T) {
		reset(t, "nx", nil)
		require.True(t, rdb.HSetNX(ctx, "nx", "a", "1").Val())
		require.Equal(t, "hash", rdb.Type(ctx, "nx").Val())
		require.False(t, rdb.HSetNX(ctx, "nx", "a", "2").Val())
		require.Equal(t, "1", rdb.HGet(ctx, "nx", "a").Val())
		require.Equal(t, ":0\r\n", c2.Do("HSETNX", "nx", "a", "3"))
		require.Equal(t, ":1\r\n", c2.Do("HSETNX", "nx", "b", "3"))
		require.Equal(t, ":0\r\n", c3.Do("HSETNX", "nx", "b", "4"))
		require.Equal(t, ":1\r\n", c3.Do("HSETNX", "nx", "", ""))
		require.Equal(t, map[string]string{"a": "1", "b": "3", "": ""}, rdb.HGetAll(ctx, "nx").Val())
	})

	t.Run("HINCRBY", func(t *testing.T) {
		reset(t, "n", nil)
		// a missing field counts from 0, a missing key is created
		require.EqualValues(t, 5, rdb.HIncrBy(ctx, "n", "c", 5).Val())
		require.Equal(t, "hash", rdb.Type(ctx, "n").Val())
		require.EqualValues(t, -2, rdb.HIncrBy(ctx, "n", "c", -7).Val())
		require.Equal(t, ":8\r\n", c2.Do("HINCRBY", "n", "c", "10"))
		require.Equal(t, ":0\r\n", c3.Do("HINCRBY", "n", "c", "-8"))
		require.Equal(t, "0", rdb.HGet(ctx, "n", "c").Val())
		// a value set by HSET is counted on
		rdb.HSet(ctx, "n", "s", "41")
		require.EqualValues(t, 42, rdb2.HIncrBy(ctx, "n", "s", 1).Val())
		require.Equal(t, "42", rdb.HGet(ctx, "n", "s").Val())
		// exact at the limits, then overflow in both directions
		rdb.HSet(ctx, "n", "max", "9223372036854775806", "min", "-9223372036854775807")
		require.Equal(t, ":9223372036854775807\r\n", c2.Do("HINCRBY", "n", "max", "1"))
		require.Equal(t, ":-9223372036854775808\r\n", c3.Do("HINCRBY", "n", "min", "-1"))
		expectErr(t, "ERR increment or decrement would overflow", "HINCRBY", "n", "max", "1")
		expectErr(t, "ERR increment or decrement would overflow", "HINCRBY", "n", "min", "-1")
		expectErr(t, "ERR increment or decrement would overflow", "HINCRBY", "n", "min", "-9223372036854775808")
		expectErr(t, "ERR increment or decrement would overflow", "HINCRBY", "n", "max", "9223372036854775807")
		require.Equal(t, "9223372036854775807", rdb.HGet(ctx, "n", "max").Val())
		require.Equal(t, "-9223372036854775808", rdb.HGet(ctx, "n", "min").Val())
		// a bad increment
		for _, bad := range []string{"x", "1.5", "", " 1", "9223372036854775808", "1e3"} {
			expectErr(t, "ERR value is not an integer or out of range", "HINCRBY", "n", "c", bad)
		}
		// a field that is not an integer
		rdb.HSet(ctx, "n", "str", "abc", "sp", " 1", "empty", "", "fl", "1.5", "huge", "9223372036854775808")
		for _, f := range []string{"str", "sp", "empty", "fl", "huge"} {
			expectErr(t, "ERR hash value is not an integer", "HINCRBY", "n", f, "1")
		}
		require.Equal(t, "abc", rdb.HGet(ctx, "n", "str").Val())
		require.Equal(t, "0", rdb.HGet(ctx, "n", "c").Val())
		// a failed HINCRBY on a missing key creates nothing
		expectErr(t, "ERR value is not an integer or out of range", "HINCRBY", "fresh", "c", "x")
		require.EqualValues(t, 0, rdb.Exists(ctx, "fresh").Val())
	})

	t.Run("HINCRBYFLOAT replies a bulk string in RESP2 and RESP3", func(t *testing.T) {
		reset(t, "fl", nil)
		require.Equal(t, "$4\r\n10.5\r\n", c2.Do("HINCRBYFLOAT", "fl", "v", "10.5"))
		require.Equal(t, "hash", rdb.Type(ctx, "fl").Val())
		require.Equal(t, "$4\r\n10.6\r\n", c3.Do("HINCRBYFLOAT", "fl", "v", "0.1"))
		require.Equal(t, "$22\r\n5010.60000000000000009\r\n", c2.Do("HINCRBYFLOAT", "fl", "v", "5.0e3"))
		require.Equal(t, "$1\r\n0\r\n", c3.Do("HINCRBYFLOAT", "fl", "v", "-5010.6"))
		require.Equal(t, "$2\r\n16\r\n", c2.Do("HINCRBYFLOAT", "fl", "v", "0x10"))
		require.Equal(t, "$10\r\n16.0000123\r\n", c3.Do("HINCRBYFLOAT", "fl", "v", "1.23e-5"))
		require.Equal(t, "16.0000123", rdb.HGet(ctx, "fl", "v").Val())
		require.Equal(t, "$4\r\n-0.5\r\n", c2.Do("HINCRBYFLOAT", "fl", "w", "-0.5"))
		require.Equal(t, "$4\r\n-0.2\r\n", c3.Do("HINCRBYFLOAT", "fl", "w", "0.3"))
		// integers and floats on the same field
		require.Equal(t, "$1\r\n7\r\n", c2.Do("HINCRBYFLOAT", "fl", "i", "7"))
		require.Equal(t, ":10\r\n", c3.Do("HINCRBY", "fl", "i", "3"))
		require.Equal(t, "$5\r\n10.25\r\n", c2.Do("HINCRBYFLOAT", "fl", "i", "0.25"))
		expectErr(t, "ERR hash value is not an integer", "HINCRBY", "fl", "i", "1")
		// go-redis parses the bulk string as a float in both protocols
		require.Equal(t, 11.75, rdb.HIncrByFloat(ctx, "fl", "i", 1.5).Val())
		require.Equal(t, 12.0, rdb2.HIncrByFloat(ctx, "fl", "i", 0.25).Val())
		require.Equal(t, "12", rdb.HGet(ctx, "fl", "i").Val())
		// big values are written out in full (no exponent)
		rdb.HSet(ctx, "fl", "big", "1.7976931348623157e308")
		big := "359538626972463139991842093548208868096772893888658356970628841530353257046248792709403737216774171128857586838851041378617416726902272110715794556052955234146997955372576789671236326588091188869859074894581254961338834769297758245552436667197907705664206565009503223382416235440319971852753604933726679072768"
		require.Equal(t, fmt.Sprintf("$%d\r\n%s\r\n", len(big), big), c3.Do("HINCRBYFLOAT", "fl", "big", "1.7976931348623157e308"))
		require.Equal(t, big, rdb.HGet(ctx, "fl", "big").Val())
	})

	t.Run("HINCRBYFLOAT errors", func(t *testing.T) {
		reset(t, "fe", map[string]string{"f": "1.5", "s": "abc", "sp": " 1", "empty": "", "huge": "1e4932"})
		for _, bad := range []string{"abc", "nan", " 1", "1 ", "", "1e4933", "1.5.5"} {
			expectErr(t, "ERR value is not a valid float", "HINCRBYFLOAT", "fe", "f", bad)
		}
		for _, bad := range []string{"inf", "-inf", "+inf", "Infinity"} {
			expectErr(t, "ERR value is NaN or Infinity", "HINCRBYFLOAT", "fe", "f", bad)
		}
		for _, f := range []string{"s", "sp", "empty"} {
			expectErr(t, "ERR hash value is not a float", "HINCRBYFLOAT", "fe", f, "1")
		}
		expectErr(t, "ERR increment would produce NaN or Infinity", "HINCRBYFLOAT", "fe", "huge", "1e4932")
		require.Equal(t, map[string]string{"f": "1.5", "s": "abc", "sp": " 1", "empty": "", "huge": "1e4932"},
			rdb.HGetAll(ctx, "fe").Val(), "failed increments change nothing")
		expectErr(t, "ERR value is not a valid float", "HINCRBYFLOAT", "fresh", "f", "x")
		expectErr(t, "ERR value is NaN or Infinity", "HINCRBYFLOAT", "fresh", "f", "inf")
		require.EqualValues(t, 0, rdb.Exists(ctx, "fresh").Val())
	})

	t.Run("TTL survives field changes", func(t *testing.T) {
		reset(t, "t", map[string]string{"a": "1", "b": "2", "c": "3"})
		require.True(t, rdb.Expire(ctx, "t", 100*time.Second).Val())
		require.EqualValues(t, 1, rdb.HSet(ctx, "t", "d", "4").Val())
		util.RequireTTLBetween(t, rdb, "t", 99, 100)
		require.EqualValues(t, 0, rdb.HSet(ctx, "t", "a", "overwritten").Val())
		require.True(t, rdb.HMSet(ctx, "t", "e", "5").Val())
		require.True(t, rdb.HSetNX(ctx, "t", "f", "6").Val())
		require.EqualValues(t, 1, rdb.HIncrBy(ctx, "t", "n", 1).Val())
		require.Equal(t, 1.5, rdb.HIncrByFloat(ctx, "t", "x", 1.5).Val())
		require.EqualValues(t, 2, rdb.HDel(ctx, "t", "b", "c").Val())
		util.RequireTTLBetween(t, rdb, "t", 99, 100)
		require.Equal(t, "overwritten", rdb.HGet(ctx, "t", "a").Val())
		// reads do not touch it
		rdb.HGetAll(ctx, "t")
		rdb.HRandField(ctx, "t", 2)
		rdb.HScan(ctx, "t", 0, "", 10)
		util.RequireTTLBetween(t, rdb, "t", 99, 100)
		// deleting the last field deletes the key and its TTL: a new hash has none
		require.EqualValues(t, 6, rdb.HDel(ctx, "t", "a", "d", "e", "f", "n", "x").Val())
		require.EqualValues(t, -2, rdb.TTL(ctx, "t").Val())
		require.EqualValues(t, 1, rdb.HSet(ctx, "t", "y", "1").Val())
		require.EqualValues(t, -1, rdb.TTL(ctx, "t").Val())
		// PERSIST then HSET: still no TTL
		require.True(t, rdb.Expire(ctx, "t", 100*time.Second).Val())
		require.True(t, rdb.Persist(ctx, "t").Val())
		rdb.HSet(ctx, "t", "z", "2")
		require.EqualValues(t, -1, rdb.TTL(ctx, "t").Val())
	})

	t.Run("an expired hash is gone and recreated fresh", func(t *testing.T) {
		reset(t, "x", numbered("f", 20))
		require.True(t, rdb.PExpire(ctx, "x", 20*time.Millisecond).Val())
		time.Sleep(60 * time.Millisecond)
		require.EqualValues(t, 0, rdb.HLen(ctx, "x").Val())
		require.Equal(t, redis.Nil, rdb.HGet(ctx, "x", "f1").Err())
		require.False(t, rdb.HExists(ctx, "x", "f1").Val())
		require.Equal(t, "%0\r\n", c3.Do("HGETALL", "x"))
		require.Equal(t, "$-1\r\n", c2.Do("HRANDFIELD", "x"))
		// a write after the expiry starts a new, empty hash without a TTL
		require.EqualValues(t, 1, rdb.HSet(ctx, "x", "f1", "new").Val())
		require.Equal(t, map[string]string{"f1": "new"}, rdb.HGetAll(ctx, "x").Val())
		require.EqualValues(t, -1, rdb.TTL(ctx, "x").Val())
		// the same for HINCRBY over an expired counter
		require.True(t, rdb.PExpire(ctx, "x", 20*time.Millisecond).Val())
		time.Sleep(60 * time.Millisecond)
		require.EqualValues(t, 1, rdb.HIncrBy(ctx, "x", "c", 1).Val())
		require.Equal(t, map[string]string{"c": "1"}, rdb.HGetAll(ctx, "x").Val())
	})

	t.Run("HRANDFIELD", func(t *testing.T) {
		fields := numbered("f", 50)
		reset(t, "r", fields)
		for i := 0; i < 10; i++ {
			f := rdb.HRandField(ctx, "r", 1).Val()
			require.Len(t, f, 1)
			require.Contains(t, fields, f[0])
			one := rdb.Do(ctx, "HRANDFIELD", "r").Val()
			require.Contains(t, fields, one)
		}
		// a positive count: distinct fields, at most the hash's size
		got := rdb.HRandField(ctx, "r", 10).Val()
		require.Len(t, got, 10)
		seen := map[string]bool{}
		for _, f := range got {
			require.Contains(t, fields, f)
			require.False(t, seen[f], "repeated %q with a positive count", f)
			seen[f] = true
		}
		require.Equal(t, keysOf(fields), util.Sorted(rdb.HRandField(ctx, "r", 50).Val()))
		require.Equal(t, keysOf(fields), util.Sorted(rdb.HRandField(ctx, "r", 1000).Val()))
		// a negative count: exactly that many, repeats allowed
		rep := rdb.HRandField(ctx, "r", -200).Val()
		require.Len(t, rep, 200)
		distinct := map[string]bool{}
		for _, f := range rep {
			require.Contains(t, fields, f)
			distinct[f] = true
		}
		require.Less(t, len(distinct), 200)
		require.EqualValues(t, 50, rdb.HLen(ctx, "r").Val())

		// WITHVALUES: each field with its own value, in both protocols
		for _, c := range []*redis.Client{rdb, rdb2} {
			for _, count := range []int{7, 50, 80, -30} {
				kvs := c.HRandFieldWithValues(ctx, "r", count).Val()
				n := count
				if n > 50 {
					n = 50
				} else if n < 0 {
					n = -n
				}
				require.Len(t, kvs, n, "count %d", count)
				uniq := map[string]bool{}
				for _, kv := range kvs {
					require.Equal(t, fields[kv.Key], kv.Value, "field %q", kv.Key)
					uniq[kv.Key] = true
				}
				if count > 0 {
					require.Len(t, uniq, n, "count %d: no repeats", count)
				}
			}
		}
		// the reply shape: pairs (arrays of 2) in RESP3, a flat array in RESP2
		v3, ok := rdb.Do(ctx, "HRANDFIELD", "r", "5", "WITHVALUES").Val().([]interface{})
		require.True(t, ok)
		require.Len(t, v3, 5)
		for _, p := range v3 {
			pair, ok := p.([]interface{})
			require.True(t, ok, "RESP3 WITHVALUES element is %T, want a 2-element array", p)
			require.Len(t, pair, 2)
			require.Equal(t, fields[pair[0].(string)], pair[1])
		}
		v2, ok := rdb2.Do(ctx, "HRANDFIELD", "r", "5", "WITHVALUES").Val().([]interface{})
		require.True(t, ok)
		require.Len(t, v2, 10)
		for i := 0; i < 10; i += 2 {
			f, ok := v2[i].(string)
			require.True(t, ok, "RESP2 WITHVALUES element is %T, want a string", v2[i])
			require.Equal(t, fields[f], v2[i+1])
		}

		// byte-exact with a one-field hash
		reset(t, "r1", map[string]string{"f": "v"})
		expectBoth(t, "$1\r\nf\r\n", "HRANDFIELD", "r1")
		expectBoth(t, "*1\r\n$1\r\nf\r\n", "HRANDFIELD", "r1", "5")
		expectBoth(t, "*3\r\n$1\r\nf\r\n$1\r\nf\r\n$1\r\nf\r\n", "HRANDFIELD", "r1", "-3")
		require.Equal(t, "*2\r\n$1\r\nf\r\n$1\r\nv\r\n", c2.Do("HRANDFIELD", "r1", "1", "WITHVALUES"))
		require.Equal(t, "*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n", c3.Do("HRANDFIELD", "r1", "1", "WITHVALUES"))
		require.Equal(t, "*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nf\r\n$1\r\nv\r\n", c2.Do("HRANDFIELD", "r1", "-2", "withvalues"))
		require.Equal(t, "*2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n", c3.Do("HRANDFIELD", "r1", "-2", "WithValues"))
		expectBoth(t, "*0\r\n", "HRANDFIELD", "r1", "0")
		expectBoth(t, "*0\r\n", "HRANDFIELD", "r1", "0", "WITHVALUES")
		// a missing key: a null without a count, an empty array with one
		require.Equal(t, "$-1\r\n", c2.Do("HRANDFIELD", "nokey"))
		require.Equal(t, "_\r\n", c3.Do("HRANDFIELD", "nokey"))
		require.Equal(t, redis.Nil, rdb.Do(ctx, "HRANDFIELD", "nokey").Err())
		expectBoth(t, "*0\r\n", "HRANDFIELD", "nokey", "3")
		expectBoth(t, "*0\r\n", "HRANDFIELD", "nokey", "-3", "WITHVALUES")
		require.Empty(t, rdb.HRandField(ctx, "nokey", 3).Val())

		// errors
		expectErr(t, "ERR value is not an integer or out of range", "HRANDFIELD", "r", "x")
		expectErr(t, "ERR value is not an integer or out of range", "HRANDFIELD", "r", "1.5")
		expectErr(t, "ERR syntax error", "HRANDFIELD", "r", "1", "bad")
		expectErr(t, "ERR syntax error", "HRANDFIELD", "r", "1", "WITHVALUES", "extra")
		expectErr(t, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
			"HRANDFIELD", "r", "-9223372036854775808")
		expectErr(t, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
			"HRANDFIELD", "r", "-9223372036854775808", "WITHVALUES")
		expectErr(t, "ERR value is out of range", "HRANDFIELD", "r", "9223372036854775807", "WITHVALUES")
		expectErr(t, "ERR value is out of range", "HRANDFIELD", "r", "-4611686018427387904", "WITHVALUES")
		expectErr(t, "ERR value is out of range", "HRANDFIELD", "nokey", "-4611686018427387904", "WITHVALUES")
		// RedRaft bounds a reply with repetitions (Redis 7.0.15 would try to build it and run
		// out of memory); a huge positive count is just the whole hash.
		expectErr(t, "ERR count is out of range: at most 67108864 members are returned with repetitions",
			"HRANDFIELD", "r", "-4611686018427387903", "WITHVALUES")
		expectErr(t, "ERR count is out of range: at most 67108864 members are returned with repetitions",
			"HRANDFIELD", "r", "-9223372036854775807")
		require.Len(t, rdb.HRandField(ctx, "r", 1<<62).Val(), 50)
	})

	t.Run("HSCAN returns every field exactly once", func(t *testing.T) {
		fields := map[string]string{}
		for i := 0; i < 1000; i++ {
			fields["field:"+strconv.Itoa(i)] = "value:" + strconv.Itoa(i)
		}
		reset(t, "sc", fields)
		for _, c := range []*redis.Client{rdb, rdb2} {
			for _, count := range []int64{0, 1, 10, 333} {
				seen := map[string]int{}
				var cursor uint64
				calls := 0
				for {
					kvs, next, err := c.HScan(ctx, "sc", cursor, "", count).Result()
					require.NoError(t, err)
					calls++
					require.Zero(t, len(kvs)%2, "HSCAN returns field/value pairs")
					for i := 0; i < len(kvs); i += 2 {
						seen[kvs[i]]++
						require.Equal(t, fields[kvs[i]], kvs[i+1], "value of %q", kvs[i])
					}
					if cursor = next; cursor == 0 {
						break
					}
					require.Less(t, calls, 5000, "HSCAN does not terminate (COUNT %d)", count)
				}
				require.Len(t, seen, 1000, "COUNT %d", count)
				for f, n := range seen {
					require.Equal(t, 1, n, "%q returned %d times (COUNT %d)", f, n, count)
				}
				if count == 1 {
					require.Greater(t, calls, 500)
				}
				if count == 333 {
					require.GreaterOrEqual(t, calls, 3)
				}
			}
		}
		// MATCH filters what is returned
		matched := map[string]string{}
		var cursor uint64
		for {
			kvs, next, err := rdb.HScan(ctx, "sc", cursor, "field:99*", 50).Result()
			require.NoError(t, err)
			for i := 0; i < len(kvs); i += 2 {
				matched[kvs[i]] = kvs[i+1]
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		require.Equal(t, []string{"field:99", "field:990", "field:991", "field:992", "field:993",
			"field:994", "field:995", "field:996", "field:997", "field:998", "field:999"}, keysOf(matched))
		require.Equal(t, "value:995", matched["field:995"])
		// the reply: [cursor as a bulk string, flat field/value array] in both protocols
		reset(t, "sc1", map[string]string{"f": "v"})
		expectBoth(t, "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n", "HSCAN", "sc1", "0")
		expectBoth(t, "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n", "HSCAN", "sc1", "0", "MATCH", "f", "COUNT", "100")
		expectBoth(t, "*2\r\n$1\r\n0\r\n*0\r\n", "HSCAN", "sc1", "0", "match", "x*")
		// a missing key: one empty page; a cursor past the end: the end
		expectBoth(t, "*2\r\n$1\r\n0\r\n*0\r\n", "HSCAN", "nokey", "0")
		expectBoth(t, "*2\r\n$1\r\n0\r\n*0\r\n", "HSCAN", "sc1", "18446744073709551615")
		// errors
		expectErr(t, "ERR invalid cursor", "HSCAN", "sc", "x")
		expectErr(t, "ERR invalid cursor", "HSCAN", "sc", "1.5")
		expectErr(t, "ERR invalid cursor", "HSCAN", "sc", "18446744073709551616")
		expectErr(t, "ERR syntax error", "HSCAN", "sc", "0", "COUNT", "0")
		expectErr(t, "ERR value is not an integer or out of range", "HSCAN", "sc", "0", "COUNT", "x")
		expectErr(t, "ERR syntax error", "HSCAN", "sc", "0", "MATCH")
		expectErr(t, "ERR syntax error", "HSCAN", "sc", "0", "NOPE", "1")
	})

	t.Run("HSCAN with concurrent HSET and HDEL", func(t *testing.T) {
		stable := numbered("stable:", 300)
		reset(t, "cc", stable)
		churn := numbered("churn:", 100)
		require.EqualValues(t, 100, rdb.HSet(ctx, "cc", pairs(churn)...).Val())
		writer := srv.NewClient()
		defer writer.Close()
		seen := map[string]bool{}
		var cursor uint64
		i := 0
		for {
			kvs, next, err := rdb.HScan(ctx, "cc", cursor, "", 7).Result()
			require.NoError(t, err)
			for j := 0; j < len(kvs); j += 2 {
				seen[kvs[j]] = true
				if v, ok := stable[kvs[j]]; ok {
					require.Equal(t, v, kvs[j+1])
				}
			}
			require.NoError(t, writer.HSet(ctx, "cc", fmt.Sprintf("new:%d", i), "x").Err())
			require.NoError(t, writer.HDel(ctx, "cc", fmt.Sprintf("churn:%d", i%100)).Err())
			i++
			if cursor = next; cursor == 0 {
				break
			}
		}
		for f := range stable {
			require.True(t, seen[f], "stable field %q never returned", f)
		}
	})

	t.Run("hashes survive a restart", func(t *testing.T) {
		fields := numbered("k", 100)
		reset(t, "keep", fields)
		require.EqualValues(t, 10, rdb.HDel(ctx, "keep", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9").Val())
		require.EqualValues(t, 7, rdb.HIncrBy(ctx, "keep", "ctr", 7).Val())
		require.True(t, rdb.Expire(ctx, "keep", 1000*time.Second).Val())
		before := rdb.HGetAll(ctx, "keep").Val()
		require.Len(t, before, 91)
		srv.Restart()
		r := srv.NewClient()
		defer r.Close()
		require.Equal(t, before, r.HGetAll(ctx, "keep").Val())
		require.EqualValues(t, 91, r.HLen(ctx, "keep").Val())
		require.EqualValues(t, 8, r.HIncrBy(ctx, "keep", "ctr", 1).Val())
		util.RequireTTLBetween(t, r, "keep", 900, 1000)
	})
}
