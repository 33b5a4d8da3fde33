package regionops

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// workload runs writers and readers through a go-redis ClusterClient while region operations
// happen. Each worker owns its keys (spread over every slot range) and SETs each to the next
// number of its own sequence, one write at a time, so it knows what every read must return:
// the last acknowledged number, or a later one it attempted whose write failed without an
// answer (its outcome is unknown). A read below the acknowledged number is a stale read; a
// final value below it is a lost write. SET of a fixed value, unlike INCR, may be retried by
// the client after a dropped connection (go-redis does) without changing the outcome.
type workload struct {
	cc      *redis.ClusterClient
	workers int
	keys    [][]string
	acked   []map[string]int64
	unsure  []map[string]int64
	stale   []string
	mu      sync.Mutex
	ops     atomic.Int64
	errs    atomic.Int64
	lat     [][]time.Duration
	stop    chan struct{}
	wg      sync.WaitGroup
	lastErr atomic.Value
}

func startWorkload(t *testing.T, cc *redis.ClusterClient, prefix string, workers, keysPerWorker int) *workload {
	w := &workload{cc: cc, workers: workers, stop: make(chan struct{})}
	for g := 0; g < workers; g++ {
		var ks []string
		for i := 0; i < keysPerWorker; i++ {
			ks = append(ks, fmt.Sprintf("%s:%d:key:%d", prefix, g, i))
		}
		w.keys = append(w.keys, ks)
		w.acked = append(w.acked, map[string]int64{})
		w.unsure = append(w.unsure, map[string]int64{})
		w.lat = append(w.lat, nil)
	}
	for g := 0; g < workers; g++ {
		w.wg.Add(1)
		go w.run(g)
	}
	return w
}

func (w *workload) run(g int) {
	defer w.wg.Done()
	ctx := context.Background()
	r := rand.New(rand.NewSource(int64(g)))
	var seq int64
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		k := w.keys[g][r.Intn(len(w.keys[g]))]
		seq++
		start := time.Now()
		err := w.cc.Set(ctx, k, seq, 0).Err()
		w.lat[g] = append(w.lat[g], time.Since(start))
		w.ops.Add(1)
		if err != nil {
			w.errs.Add(1)
			w.lastErr.Store(err.Error())
			w.unsure[g][k] = seq
		} else {
			w.acked[g][k], w.unsure[g][k] = seq, 0
		}
		k = w.keys[g][r.Intn(len(w.keys[g]))]
		start = time.Now()
		s, err := w.cc.Get(ctx, k).Result()
		w.lat[g] = append(w.lat[g], time.Since(start))
		w.ops.Add(1)
		if errors.Is(err, redis.Nil) {
			s, err = "0", nil
		}
		if err != nil {
			w.errs.Add(1)
			w.lastErr.Store(err.Error())
			continue
		}
		got, _ := strconv.ParseInt(s, 10, 64)
		if lo, hi := w.acked[g][k], max(w.acked[g][k], w.unsure[g][k]); got != lo && (got < lo || got > hi) {
			w.note(fmt.Sprintf("GET %s = %d, acknowledged %d, attempted up to %d (stale or lost)", k, got, lo, hi))
		}
	}
}

func (w *workload) note(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stale = append(w.stale, s)
}

// stats is the client-visible error rate and latency percentiles since the last call.
type stats struct {
	ops, errs     int64
	p50, p99, max time.Duration
}

func (s stats) String() string {
	return fmt.Sprintf("%d ops, %d errors (%.3f%%), p50 %v, p99 %v, max %v", s.ops, s.errs,
		100*float64(s.errs)/float64(max(s.ops, 1)), s.p50.Round(10*time.Microsecond), s.p99.Round(10*time.Microsecond),
		s.max.Round(time.Millisecond))
}

// finish stops the workers, checks every key's final value and that no read was stale, and
// returns the run's figures.
func (w *workload) finish(t *testing.T) stats {
	t.Helper()
	close(w.stop)
	w.wg.Wait()
	w.mu.Lock()
	require.Empty(t, w.stale, "stale reads")
	w.mu.Unlock()
	ctx := context.Background()
	for g := 0; g < w.workers; g++ {
		for _, k := range w.keys[g] {
			var s string
			var err error
			for i := 0; i < 50; i++ {
				if s, err = w.cc.Get(ctx, k).Result(); err == nil || errors.Is(err, redis.Nil) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if errors.Is(err, redis.Nil) {
				s, err = "0", nil
			}
			require.NoError(t, err, "final read of %s", k)
			got, _ := strconv.ParseInt(s, 10, 64)
			lo, hi := w.acked[g][k], max(w.acked[g][k], w.unsure[g][k])
			require.True(t, got >= lo && got <= hi, "%s = %d, acknowledged %d, attempted up to %d: lost write", k, got, lo, hi)
		}
	}
	var all []time.Duration
	for _, l := range w.lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	st := stats{ops: w.ops.Load(), errs: w.errs.Load()}
	if n := len(all); n > 0 {
		st.p50, st.p99, st.max = all[n/2], all[n*99/100], all[n-1]
	}
	if e, ok := w.lastErr.Load().(string); ok {
		t.Logf("last client error: %s", e)
	}
	return st
}
