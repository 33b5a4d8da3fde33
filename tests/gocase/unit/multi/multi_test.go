package multi

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

func TestMulti(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()
	rdb := srv.NewClient()
	defer func() { require.NoError(t, rdb.Close()) }()

	t.Run("TxPipelined runs the queue atomically and returns every reply", func(t *testing.T) {
		require.NoError(t, rdb.FlushAll(ctx).Err())
		cmds, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "a", "1", 0)
			p.Incr(ctx, "a")
			p.HSet(ctx, "h", "f", "v")
			p.HGetAll(ctx, "h")
			p.Get(ctx, "a")
			return nil
		})
		require.NoError(t, err)
		require.Len(t, cmds, 5)
		require.Equal(t, int64(2), cmds[1].(*redis.IntCmd).Val())
		require.Equal(t, map[string]string{"f": "v"}, cmds[3].(*redis.MapStringStringCmd).Val())
		require.Equal(t, "2", cmds[4].(*redis.StringCmd).Val())
	})

	t.Run("errors inside EXEC are per command", func(t *testing.T) {
		require.NoError(t, rdb.FlushAll(ctx).Err())
		require.NoError(t, rdb.Set(ctx, "s", "x", 0).Err())
		cmds, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, "s")
			p.Set(ctx, "b", "1", 0)
			return nil
		})
		require.Error(t, err)
		require.EqualError(t, cmds[0].Err(), "ERR value is not an integer or out of range")
		require.NoError(t, cmds[1].Err())
		require.Equal(t, "1", rdb.Get(ctx, "b").Val())
	})

	t.Run("queue errors abort with EXECABORT", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+OK\r\n", c.Do("MULTI"))
		require.Equal(t, "+QUEUED\r\n", c.Do("SET", "q", "1"))
		require.Equal(t, "-ERR wrong number of arguments for 'get' command\r\n", c.Do("GET"))
		require.Equal(t, "-EXECABORT Transaction discarded because of previous errors.\r\n", c.Do("EXEC"))
		require.Equal(t, int64(0), rdb.Exists(ctx, "q").Val())
	})

	t.Run("WATCH: a concurrent write aborts EXEC with a null reply", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "w", "1", 0).Err())
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+OK\r\n", c.Do("WATCH", "w"))
		require.NoError(t, rdb.Set(ctx, "w", "1", 0).Err())
		require.Equal(t, "+OK\r\n", c.Do("MULTI"))
		require.Equal(t, "+QUEUED\r\n", c.Do("SET", "w", "mine"))
		require.Equal(t, "*-1\r\n", c.Do("EXEC"))
		require.Equal(t, "1", rdb.Get(ctx, "w").Val())
		// RESP3 aborted EXEC is a null.
		c3 := srv.NewTCPClient()
		defer c3.Close()
		require.Contains(t, c3.Do("HELLO", "3"), "proto")
		require.Equal(t, "+OK\r\n", c3.Do("WATCH", "w"))
		require.NoError(t, rdb.Del(ctx, "w").Err())
		require.Equal(t, "+OK\r\n", c3.Do("MULTI"))
		require.Equal(t, "_\r\n", c3.Do("EXEC"))
	})

	t.Run("Watch helper: optimistic increments from many clients are exact", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "counter", "0", 0).Err())
		const workers, each = 4, 25
		var wg sync.WaitGroup
		for i := 0; i < workers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for done := 0; done < each; {
					err := rdb.Watch(ctx, func(tx *redis.Tx) error {
						v, err := tx.Get(ctx, "counter").Int()
						if err != nil {
							return err
						}
						_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
							p.Set(ctx, "counter", strconv.Itoa(v+1), 0)
							return nil
						})
						return err
					}, "counter")
					if errors.Is(err, redis.TxFailedErr) {
						continue
					}
					require.NoError(t, err)
					done++
				}
			}()
		}
		wg.Wait()
		require.Equal(t, strconv.Itoa(workers*each), rdb.Get(ctx, "counter").Val())
	})

	t.Run("a watched key that expires aborts EXEC", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, "e", "v", 100*time.Millisecond).Err())
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+OK\r\n", c.Do("WATCH", "e"))
		util.WaitFor(t, 5*time.Second, 20*time.Millisecond, func() bool {
			return rdb.Exists(ctx, "e").Val() == 0
		}, "key e expires")
		require.Equal(t, "+OK\r\n", c.Do("MULTI"))
		require.Equal(t, "+QUEUED\r\n", c.Do("PING"))
		require.Equal(t, "*-1\r\n", c.Do("EXEC"))
	})

	t.Run("transactions survive a restart like any write", func(t *testing.T) {
		require.NoError(t, rdb.FlushAll(ctx).Err())
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "t1", "a", 0)
			p.HSet(ctx, "t2", "f", "b")
			return nil
		})
		require.NoError(t, err)
		srv.Kill()
		srv.Restart()
		r2 := srv.NewClient()
		defer func() { require.NoError(t, r2.Close()) }()
		require.Equal(t, "a", r2.Get(ctx, "t1").Val())
		require.Equal(t, "b", r2.HGet(ctx, "t2", "f").Val())
	})
}
