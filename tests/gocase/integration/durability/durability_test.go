package durability

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

const ttlSeconds = 3600

// keyState is what the test knows about one key after its writer stopped.
type keyState struct {
	value   string
	withTTL bool
	deleted bool
	unknown bool // the write was in flight when the server died: it may or may not have happened
}

type writerLog struct {
	keys      map[string]*keyState
	ctrKey    string
	ctrAcked  int64 // INCRs that got a reply
	ctrFlight bool  // an INCR was in flight at the crash
	acks      int
	err       error // a wrong reply (not a connection error)
}

// noteErr keeps a server error reply (a RESP error, not a broken connection) as a failure:
// only a write cut by the crash may have an unknown outcome.
func (l *writerLog) noteErr(err error) {
	var re redis.Error
	if errors.As(err, &re) && l.err == nil {
		l.err = fmt.Errorf("server error reply: %w", err)
	}
}

// runWriter issues sequential writes until ctx is done or a write fails, and logs every ack.
func runWriter(ctx context.Context, rdb *redis.Client, w int, acked *atomic.Int64, r *rand.Rand) *writerLog {
	log := &writerLog{keys: map[string]*keyState{}, ctrKey: fmt.Sprintf("ctr:{w%d}", w)}
	for i := 0; ctx.Err() == nil; i++ {
		key := fmt.Sprintf("key:%d:%d", w, i)
		switch {
		case i%10 == 9:
			// delete a key this writer set earlier
			victim := fmt.Sprintf("key:%d:%d", w, i-9)
			st := log.keys[victim]
			n, err := rdb.Del(context.Background(), victim).Result()
			if err != nil {
				st.unknown = true
				log.noteErr(err)
				return log
			}
			if n != 1 {
				log.err = fmt.Errorf("DEL %s replied %d, want 1", victim, n)
				return log
			}
			st.deleted = true
		case i%4 == 3:
			log.ctrFlight = true
			if err := rdb.Incr(context.Background(), log.ctrKey).Err(); err != nil {
				log.noteErr(err)
				return log
			}
			log.ctrFlight = false
			log.ctrAcked++
		default:
			st := &keyState{value: fmt.Sprintf("v-%d-%d-%s", w, i, util.RandString(r, 1+r.Intn(64), "abcdefghijklmnopqrstuvwxyz\x00\r\n")), withTTL: i%3 == 0}
			log.keys[key] = st
			var err error
			if st.withTTL {
				err = rdb.Set(context.Background(), key, st.value, ttlSeconds*time.Second).Err()
			} else {
				err = rdb.Set(context.Background(), key, st.value, 0).Err()
			}
			if err != nil {
				st.unknown = true
				log.noteErr(err)
				return log
			}
		}
		log.acks++
		acked.Add(1)
	}
	return log
}

func verify(t *testing.T, rdb *redis.Client, logs []*writerLog) {
	t.Helper()
	ctx := context.Background()
	present, maybe := 0, 0
	for _, log := range logs {
		require.NoError(t, log.err)
		for key, st := range log.keys {
			v, err := rdb.Get(ctx, key).Result()
			switch {
			case st.unknown:
				// absent, or present with exactly the value this writer last wrote
				if err == redis.Nil {
					continue
				}
				require.NoError(t, err)
				require.Equal(t, st.value, v, "in-flight write of %s must be all or nothing", key)
				maybe++
			case st.deleted:
				require.Equal(t, redis.Nil, err, "acknowledged DEL of %s was lost (value %q)", key, v)
			default:
				require.NoError(t, err, "acknowledged SET of %s was lost", key)
				require.Equal(t, st.value, v, "acknowledged SET of %s has the wrong value", key)
				present++
				ttl, err := rdb.TTL(ctx, key).Result()
				require.NoError(t, err)
				if st.withTTL {
					require.True(t, ttl > 0 && ttl <= ttlSeconds*time.Second, "TTL of %s after restart is %v", key, ttl)
				} else {
					require.Equal(t, time.Duration(-1), ttl, "%s must stay persistent", key)
				}
			}
		}
		if log.ctrAcked > 0 || log.ctrFlight {
			n, err := rdb.Get(ctx, log.ctrKey).Int64()
			if log.ctrAcked == 0 && err == redis.Nil {
				continue
			}
			require.NoError(t, err, "counter %s", log.ctrKey)
			hi := log.ctrAcked
			if log.ctrFlight {
				hi++
			}
			require.GreaterOrEqual(t, n, log.ctrAcked, "acknowledged INCRs of %s were lost", log.ctrKey)
			require.LessOrEqual(t, n, hi, "%s was incremented more often than requested", log.ctrKey)
			present++
		}
	}
	size, err := rdb.DBSize(ctx).Result()
	require.NoError(t, err)
	require.GreaterOrEqual(t, size, int64(present))
	require.LessOrEqual(t, size, int64(present+maybe+len(logs)))
}

func TestDurability(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()

	t.Run("acknowledged writes survive SIGKILL during a write load", func(t *testing.T) {
		const writers, target = 4, 600
		var acked atomic.Int64
		loadCtx, stop := context.WithCancel(context.Background())
		defer stop()
		logs := make([]*writerLog, writers)
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				rdb := srv.NewClient()
				defer func() { _ = rdb.Close() }()
				logs[w] = runWriter(loadCtx, rdb, w, &acked, rand.New(rand.NewSource(int64(w))))
			}(w)
		}
		util.WaitFor(t, 120*time.Second, 5*time.Millisecond, func() bool { return acked.Load() >= target },
			"only %d writes were acknowledged", acked.Load())
		// crash with writes still in flight
		srv.Kill()
		stop()
		wg.Wait()
		t.Logf("%d writes acknowledged before SIGKILL", acked.Load())

		srv.Restart()
		rdb := srv.NewClient()
		defer func() { require.NoError(t, rdb.Close()) }()
		verify(t, rdb, logs)
		require.NoError(t, rdb.Set(ctx, "after-restart", "ok", 0).Err(), "the restarted server accepts writes")
		require.Equal(t, "ok", rdb.Get(ctx, "after-restart").Val())
	})

	t.Run("every acknowledged INCR survives repeated SIGKILL and restart", func(t *testing.T) {
		total := int64(0)
		for cycle := 0; cycle < 3; cycle++ {
			rdb := srv.NewClient()
			if cycle > 0 {
				n, err := rdb.Get(ctx, "cycles:ctr").Int64()
				require.NoError(t, err)
				require.Equal(t, total, n, "after restart #%d", cycle)
			}
			for i := 0; i < 50; i++ {
				n, err := rdb.Incr(ctx, "cycles:ctr").Result()
				require.NoError(t, err)
				total++
				require.Equal(t, total, n)
			}
			require.NoError(t, rdb.Set(ctx, fmt.Sprintf("cycles:%d", cycle), cycle, 0).Err())
			require.NoError(t, rdb.Close())
			srv.Kill()
			srv.Restart()
		}
		rdb := srv.NewClient()
		defer func() { require.NoError(t, rdb.Close()) }()
		require.Equal(t, strconv.FormatInt(total, 10), rdb.Get(ctx, "cycles:ctr").Val())
		for cycle := 0; cycle < 3; cycle++ {
			require.Equal(t, strconv.Itoa(cycle), rdb.Get(ctx, fmt.Sprintf("cycles:%d", cycle)).Val())
		}
	})

	t.Run("an acknowledged FLUSHALL and later writes survive SIGKILL", func(t *testing.T) {
		rdb := srv.NewClient()
		pipe := rdb.Pipeline()
		for i := 0; i < 100; i++ {
			pipe.Set(ctx, fmt.Sprintf("flush:%d", i), i, 0)
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
		require.NoError(t, rdb.FlushAll(ctx).Err())
		require.NoError(t, rdb.Set(ctx, "post-flush", "1", 0).Err())
		require.NoError(t, rdb.Close())
		srv.Kill()
		srv.Restart()
		rdb = srv.NewClient()
		defer func() { require.NoError(t, rdb.Close()) }()
		require.EqualValues(t, 1, rdb.DBSize(ctx).Val())
		require.Equal(t, "1", rdb.Get(ctx, "post-flush").Val())
	})

	t.Run("expiry deadlines are absolute: keys that expired while the server was down are gone", func(t *testing.T) {
		rdb := srv.NewClient()
		require.NoError(t, rdb.FlushAll(ctx).Err())
		require.NoError(t, rdb.Set(ctx, "short", "v", 1500*time.Millisecond).Err())
		require.NoError(t, rdb.Set(ctx, "long", "v", 1000*time.Second).Err())
		require.NoError(t, rdb.Set(ctx, "forever", "v", 0).Err())
		setAt := time.Now()
		require.NoError(t, rdb.Close())
		srv.Kill()
		if d := time.Until(setAt.Add(2 * time.Second)); d > 0 {
			time.Sleep(d)
		}
		srv.Restart()
		rdb = srv.NewClient()
		defer func() { require.NoError(t, rdb.Close()) }()
		require.Equal(t, redis.Nil, rdb.Get(ctx, "short").Err())
		require.Equal(t, time.Duration(-2), rdb.TTL(ctx, "short").Val())
		ttl := rdb.TTL(ctx, "long").Val()
		require.True(t, ttl > 900*time.Second && ttl <= 1000*time.Second-time.Since(setAt)+time.Second,
			"the TTL must keep counting down across restarts, got %v", ttl)
		require.Equal(t, time.Duration(-1), rdb.TTL(ctx, "forever").Val())
		util.WaitFor(t, 10*time.Second, 50*time.Millisecond, func() bool { return rdb.DBSize(ctx).Val() == 2 },
			"DBSIZE is %d, want 2 once the expired key is removed", rdb.DBSize(ctx).Val())
	})

	t.Run("a clean shutdown keeps everything", func(t *testing.T) {
		rdb := srv.NewClient()
		require.NoError(t, rdb.FlushAll(ctx).Err())
		want := map[string]string{}
		pipe := rdb.Pipeline()
		for i := 0; i < 300; i++ {
			k, v := fmt.Sprintf("clean:%d", i), fmt.Sprintf("value-%d", i*i)
			want[k] = v
			pipe.Set(ctx, k, v, 0)
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
		require.NoError(t, rdb.Set(ctx, "clean:ttl", "t", time.Hour).Err())
		require.NoError(t, rdb.Close())
		srv.Close() // SIGTERM: must exit 0
		srv.Restart()
		rdb = srv.NewClient()
		defer func() { require.NoError(t, rdb.Close()) }()
		require.EqualValues(t, 301, rdb.DBSize(ctx).Val())
		for k, v := range want {
			require.Equal(t, v, rdb.Get(ctx, k).Val(), k)
		}
		util.RequireTTLBetween(t, rdb, "clean:ttl", 3500, 3600)
	})
}
