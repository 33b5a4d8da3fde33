package protocol

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

func TestProtocol(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()
	rdb := srv.NewClient()
	defer func() { require.NoError(t, rdb.Close()) }()
	require.NoError(t, rdb.Set(ctx, "canary", "alive", 0).Err())

	// stillServing checks, on a fresh connection, that the server kept serving.
	stillServing := func(t *testing.T) {
		t.Helper()
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+PONG\r\n", c.Do("PING"))
		require.Equal(t, "$5\r\nalive\r\n", c.Do("GET", "canary"))
		require.Equal(t, "alive", rdb.Get(ctx, "canary").Val())
	}

	t.Run("malformed requests get a protocol error and the connection is closed", func(t *testing.T) {
		digits := strings.Repeat("1", 70000)
		for _, tc := range []struct {
			name, input, reply string
		}{
			{"huge multibulk length", "*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
			{"non-numeric multibulk length", "*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
			{"negative bulk length", "*1\r\n$-10\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
			{"null bulk in a request", "*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
			{"non-numeric bulk length", "*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
			{"bulk length over 512MB", "*1\r\n$2000000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
			{"bulk without $", "*1\r\nfoo\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n"},
			{"integer instead of bulk", "*2\r\n$3\r\nGET\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"},
			{"inline unbalanced double quote", "set \"k v\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
			{"inline unbalanced single quote", "set 'k v\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
			{"inline closing quote not followed by space", "SET a \"b\"c\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
			{"inline request over 64KB without newline", strings.Repeat("a", 70000), "-ERR Protocol error: too big inline request\r\n"},
			{"multibulk count over 64KB without newline", "*" + digits, "-ERR Protocol error: too big mbulk count string\r\n"},
			{"bulk count over 64KB without newline", "*1\r\n$" + digits, "-ERR Protocol error: too big bulk count string\r\n"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := srv.NewTCPClient()
				defer c.Close()
				c.MustWrite(t, tc.input)
				r, err := c.ReadReply()
				require.NoError(t, err, "got %q", r)
				require.Equal(t, tc.reply, r)
				c.ExpectClosed(t)
				stillServing(t)
			})
		}
	})

	t.Run("commands before a protocol error run, the ones after it do not", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "before", "after").Err())
		c := srv.NewTCPClient()
		defer c.Close()
		c.MustWrite(t, "SET before 1\r\nPING\r\n*1\r\nfoo\r\nSET after 1\r\n")
		c.ExpectReply(t, "+OK\r\n", "+PONG\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n")
		c.ExpectClosed(t)
		require.Equal(t, "1", rdb.Get(ctx, "before").Val())
		require.EqualValues(t, 0, rdb.Exists(ctx, "after").Val())
		stillServing(t)
	})

	t.Run("clients that disconnect in the middle of a request do not disturb the server", func(t *testing.T) {
		for _, partial := range []string{
			"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n",
			"*1000000\r\n",
			"*2\r\n$4\r\nECHO\r\n$500000000\r\nabc",
			"*1\r\n$4\r\nPI",
			"PING",
			"SET \"unterminated",
		} {
			c := srv.NewTCPClient()
			c.MustWrite(t, partial)
			c.ExpectNoReply(t, 100*time.Millisecond)
			c.Close()
		}
		stillServing(t)
		require.EqualValues(t, 0, rdb.Exists(ctx, "k").Val())
	})

	t.Run("inline commands", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		c.MustWrite(t, "PING\r\n")
		c.ExpectReply(t, "+PONG\r\n")
		c.MustWrite(t, "PING\n")
		c.ExpectReply(t, "+PONG\r\n")
		c.MustWrite(t, "ping hello\r\n")
		c.ExpectReply(t, "$5\r\nhello\r\n")
		c.MustWrite(t, "SET inl value\r\nGET inl\r\n")
		c.ExpectReply(t, "+OK\r\n", "$5\r\nvalue\r\n")
		c.MustWrite(t, "  SET   inl2    spaced   \r\n")
		c.ExpectReply(t, "+OK\r\n")
		require.Equal(t, "spaced", rdb.Get(ctx, "inl2").Val())
		c.MustWrite(t, "INCR inlctr\r\nINCRBY inlctr 9\r\n")
		c.ExpectReply(t, ":1\r\n", ":10\r\n")
	})

	t.Run("inline quoting and escapes", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		c.MustWrite(t, `SET "k v" "x\x41y\n\t\"q\""`+"\r\n")
		c.ExpectReply(t, "+OK\r\n")
		require.Equal(t, "xAy\n\t\"q\"", rdb.Get(ctx, "k v").Val())
		c.MustWrite(t, `SET 'single quoted' 'it\'s'`+"\r\n")
		c.ExpectReply(t, "+OK\r\n")
		require.Equal(t, "it's", rdb.Get(ctx, "single quoted").Val())
		c.MustWrite(t, `ECHO ""`+"\r\n")
		c.ExpectReply(t, "$0\r\n\r\n")
		require.NoError(t, rdb.Del(ctx, "k v", "single quoted").Err())
	})

	t.Run("empty lines and empty multibulks are ignored", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		c.MustWrite(t, "\r\n\r\n\nPING\r\n")
		c.ExpectReply(t, "+PONG\r\n")
		c.MustWrite(t, "*0\r\n*-1\r\nPING\r\n")
		c.ExpectReply(t, "+PONG\r\n")
		c.ExpectNoReply(t, 100*time.Millisecond)
	})

	t.Run("an empty command name is an unknown command", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "-ERR unknown command '', with args beginning with: \r\n", c.Do(""))
		require.Equal(t, "+PONG\r\n", c.Do("PING"))
	})

	t.Run("bulk strings are binary safe", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		v := "a\r\nb\x00c\r\n$3\r\n*1\r\n"
		require.Equal(t, "+OK\r\n", c.Do("SET", "bin\r\nkey", v))
		require.Equal(t, fmt.Sprintf("$%d\r\n%s\r\n", len(v), v), c.Do("GET", "bin\r\nkey"))
		require.Equal(t, fmt.Sprintf("$%d\r\n%s\r\n", len(v), v), c.Do("ECHO", v))
	})

	t.Run("pipelining: many commands in one write, replies in order", func(t *testing.T) {
		require.NoError(t, rdb.Del(ctx, "pctr").Err())
		c := srv.NewTCPClient()
		defer c.Close()
		var req strings.Builder
		var want []string
		for i := 0; i < 1000; i++ {
			k := "pipe:" + strconv.Itoa(i)
			v := strings.Repeat("v", i%50) + strconv.Itoa(i)
			req.WriteString(util.EncodeArgs("SET", k, v))
			want = append(want, "+OK\r\n")
			req.WriteString(util.EncodeArgs("INCR", "pctr"))
			want = append(want, fmt.Sprintf(":%d\r\n", i+1))
			req.WriteString(util.EncodeArgs("GET", k))
			want = append(want, fmt.Sprintf("$%d\r\n%s\r\n", len(v), v))
			if i%100 == 0 {
				req.WriteString(fmt.Sprintf("ECHO inline%d\r\n", i))
				want = append(want, fmt.Sprintf("$%d\r\ninline%d\r\n", len(fmt.Sprintf("inline%d", i)), i))
			}
		}
		// a GET late in the pipeline sees a SET made earlier in the same write
		req.WriteString(util.EncodeArgs("GET", "pipe:0"))
		want = append(want, "$1\r\n0\r\n")
		req.WriteString(util.EncodeArgs("DEL", "pipe:0"))
		want = append(want, ":1\r\n")
		req.WriteString(util.EncodeArgs("GET", "pipe:0"))
		want = append(want, "$-1\r\n")
		c.MustWrite(t, req.String())
		c.ExpectReply(t, want...)
		require.Equal(t, "1000", rdb.Get(ctx, "pctr").Val())
	})

	t.Run("pipelined errors do not break the pipeline", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		c.MustWrite(t, util.EncodeArgs("SET", "pe", "notanumber")+util.EncodeArgs("INCR", "pe")+
			util.EncodeArgs("GET")+util.EncodeArgs("NOSUCH")+util.EncodeArgs("GET", "pe"))
		c.ExpectReply(t, "+OK\r\n",
			"-ERR value is not an integer or out of range\r\n",
			"-ERR wrong number of arguments for 'get' command\r\n",
			"-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
			"$10\r\nnotanumber\r\n")
	})

	t.Run("split frames: a command written one byte at a time", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		req := util.EncodeArgs("SET", "split", "hello\r\nworld") + util.EncodeArgs("GET", "split") + "ECHO inline\r\n"
		for i := 0; i < len(req)-1; i++ {
			c.MustWrite(t, req[i:i+1])
			if i%8 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		c.ExpectReply(t, "+OK\r\n", "$12\r\nhello\r\nworld\r\n")
		// nothing may be answered before the last byte of the inline command
		c.ExpectNoReply(t, 100*time.Millisecond)
		c.MustWrite(t, req[len(req)-1:])
		c.ExpectReply(t, "$6\r\ninline\r\n")
	})

	t.Run("split frames: a large value written in chunks", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		v := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
		req := util.EncodeArgs("SET", "bigsplit", v)
		for off := 0; off < len(req); off += 7919 {
			end := off + 7919
			if end > len(req) {
				end = len(req)
			}
			c.MustWrite(t, req[off:end])
		}
		c.ExpectReply(t, "+OK\r\n")
		require.Equal(t, fmt.Sprintf("$%d\r\n%s\r\n", len(v), v), c.Do("GET", "bigsplit"))
		require.EqualValues(t, len(v), rdb.StrLen(ctx, "bigsplit").Val())
	})

	t.Run("many concurrent connections", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := 0; i < 32; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				cl := srv.NewClient()
				defer func() { _ = cl.Close() }()
				for j := 0; j < 50; j++ {
					k := fmt.Sprintf("conc:%d:%d", i, j)
					if err := cl.Set(ctx, k, j, 0).Err(); err != nil {
						errs <- err
						return
					}
					if v, err := cl.Get(ctx, k).Result(); err != nil || v != strconv.Itoa(j) {
						errs <- fmt.Errorf("GET %s = %q, %v", k, v, err)
						return
					}
					if err := cl.Incr(ctx, "conc:ctr").Err(); err != nil {
						errs <- err
						return
					}
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, "1600", rdb.Get(ctx, "conc:ctr").Val())
	})

	t.Run("RESP3 is per connection", func(t *testing.T) {
		c2 := srv.NewTCPClient()
		defer c2.Close()
		c3 := srv.NewTCPClient()
		defer c3.Close()
		require.True(t, strings.HasPrefix(c3.Do("HELLO", "3"), "%7\r\n"))
		require.Equal(t, "_\r\n", c3.Do("GET", "nokey"))
		require.Equal(t, "$-1\r\n", c2.Do("GET", "nokey"))
		require.True(t, strings.HasPrefix(c3.Do("HELLO", "2"), "*14\r\n"))
		require.Equal(t, "$-1\r\n", c3.Do("GET", "nokey"))
	})
}
