// Package cluster runs a real 3-node redraft cluster on loopback and uses it the way Redis
// Cluster users do: go-redis ClusterClient, MOVED from a node that does not lead the slot,
// CROSSSLOT, replica reads after READONLY, and a leader killed and restarted under writes.
package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

var nodeLine = regexp.MustCompile(`^[0-9a-f]{40} 127\.0\.0\.1:\d+@\d+ (myself,)?master(,fail)? - 0 0 \d+ connected( \d+(-\d+)?)*$`)

func TestTopologyAndRouting(t *testing.T) {
	c := util.StartCluster(t, 3, nil)
	ctx := context.Background()

	t.Run("every node gives the same full topology", func(t *testing.T) {
		var ids []string
		for _, s := range c.Nodes {
			rdb := s.NewClient()
			slots, err := rdb.ClusterSlots(ctx).Result()
			require.NoError(t, err)
			next := 0
			for _, r := range slots {
				require.Equal(t, next, r.Start, "slot ranges are contiguous and ascending")
				require.Len(t, r.Nodes, 1, "a region lists its leader only (see CLUSTER SLOTS in the README)")
				next = r.End + 1
			}
			require.Equal(t, 16384, next, "all slots covered")

			nodes, err := rdb.ClusterNodes(ctx).Result()
			require.NoError(t, err)
			require.True(t, strings.HasSuffix(nodes, "\n"))
			lines := strings.Split(strings.TrimSuffix(nodes, "\n"), "\n")
			require.Len(t, lines, 3)
			myself := 0
			for _, l := range lines {
				require.Regexp(t, nodeLine, l)
				if strings.Contains(l, "myself") {
					myself++
				}
			}
			require.Equal(t, 1, myself)
			id, err := rdb.Do(ctx, "CLUSTER", "MYID").Text()
			require.NoError(t, err)
			require.Contains(t, nodes, id+" "+s.Addr()+"@")
			ids = append(ids, id)

			info, err := rdb.Info(ctx, "cluster").Result()
			require.NoError(t, err)
			require.Contains(t, info, "cluster_enabled:1")
			require.NoError(t, rdb.Close())
		}
		require.NotEqual(t, ids[0], ids[1])
		require.NotEqual(t, ids[1], ids[2])
	})

	t.Run("leaders spread over the nodes", func(t *testing.T) {
		util.WaitFor(t, 30*time.Second, 100*time.Millisecond, func() bool {
			rdb := c.Nodes[0].NewClient()
			defer func() { _ = rdb.Close() }()
			slots, err := rdb.ClusterSlots(ctx).Result()
			if err != nil {
				return false
			}
			leaders := map[string]bool{}
			for _, r := range slots {
				leaders[r.Nodes[0].Addr] = true
			}
			return len(leaders) == 3
		}, "every node leads a region")
	})

	t.Run("ClusterClient reads and writes keys in every part of the slot space", func(t *testing.T) {
		cc := c.NewClusterClient()
		defer func() { _ = cc.Close() }()
		for i := 0; i < 128; i++ {
			slot := i * 16384 / 128
			k := util.KeyInSlot(slot, "k"+strconv.Itoa(i))
			require.NoError(t, cc.Set(ctx, k, "v"+strconv.Itoa(i), 0).Err())
			require.Equal(t, "v"+strconv.Itoa(i), cc.Get(ctx, k).Val())
			require.EqualValues(t, 1, cc.Incr(ctx, k+":n").Val())
			require.EqualValues(t, 2, cc.Incr(ctx, k+":n").Val())
		}
		var total int64
		require.NoError(t, cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			n, err := m.DBSize(ctx).Result()
			atomic.AddInt64(&total, n)
			return err
		}))
		require.EqualValues(t, 256, total, "DBSIZE on each master counts the keys of its own slots")
	})

	t.Run("a node that does not lead the slot answers MOVED to the leader", func(t *testing.T) {
		k := util.KeyInSlot(42, "moved")
		leader := c.LeaderOf(42)
		other := c.NotLeaderOf(42)
		rdb := other.NewClient()
		defer func() { _ = rdb.Close() }()
		err := rdb.Set(ctx, k, "x", 0).Err()
		require.EqualError(t, err, fmt.Sprintf("MOVED 42 %s", leader.Addr()))
		err = rdb.Get(ctx, k).Err()
		require.EqualError(t, err, fmt.Sprintf("MOVED 42 %s", leader.Addr()))
		l := leader.NewClient()
		defer func() { _ = l.Close() }()
		require.NoError(t, l.Set(ctx, k, "x", 0).Err())
	})

	t.Run("inside MULTI a node that does not lead the slot answers MOVED and EXEC EXECABORT", func(t *testing.T) {
		// As Redis Cluster: the redirect comes when the command is queued, not at EXEC.
		k := util.KeyInSlot(43, "multi")
		leader := c.LeaderOf(43)
		other := c.NotLeaderOf(43).NewTCPClient()
		defer other.Close()
		require.Equal(t, "+OK\r\n", other.Do("MULTI"))
		require.Equal(t, fmt.Sprintf("-MOVED 43 %s\r\n", leader.Addr()), other.Do("SET", k, "x"))
		require.Equal(t, "+QUEUED\r\n", other.Do("PING"))
		require.Equal(t, "-EXECABORT Transaction discarded because of previous errors.\r\n", other.Do("EXEC"))
		l := leader.NewTCPClient()
		defer l.Close()
		require.Equal(t, "$-1\r\n", l.Do("GET", k), "nothing was applied")
	})

	t.Run("keys in different slots are CROSSSLOT", func(t *testing.T) {
		a, b := util.KeyInSlot(100, "a"), util.KeyInSlot(101, "b")
		rdb := c.LeaderOf(100).NewClient()
		defer func() { _ = rdb.Close() }()
		err := rdb.MSet(ctx, a, "1", b, "2").Err()
		require.EqualError(t, err, "CROSSSLOT Keys in request don't hash to the same slot")
	})

	t.Run("a leader transfer asked through the admin port sticks", func(t *testing.T) {
		// Region 1 holds slot 0. Ask its leader to hand it to another node.
		leader := c.LeaderOf(0)
		var from, to int
		for i, s := range c.Nodes {
			if s == leader {
				from = i
				to = (i + 1) % len(c.Nodes)
			}
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/admin/regions/1/leader", c.AdminPorts[from])
		resp, err := http.Post(url, "application/json", strings.NewReader(fmt.Sprintf(`{"to":%d}`, to+1)))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, string(body))
		util.WaitFor(t, 10*time.Second, 50*time.Millisecond, func() bool { return c.LeaderOf(0) == c.Nodes[to] },
			"node %d leads slot 0", to+1)
		// The leader balancer runs every second on every node: the operator's choice must hold.
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			require.Equal(t, c.Nodes[to].Addr(), c.LeaderOf(0).Addr(), "the transfer was undone")
			time.Sleep(100 * time.Millisecond)
		}
		// A node that does not lead the region forwards the request to the leader.
		url = fmt.Sprintf("http://127.0.0.1:%d/admin/regions/1/leader", c.AdminPorts[from])
		resp, err = http.Post(url, "application/json", strings.NewReader(fmt.Sprintf(`{"to":%d}`, from+1)))
		require.NoError(t, err)
		body, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, string(body))
		util.WaitFor(t, 10*time.Second, 50*time.Millisecond, func() bool { return c.LeaderOf(0) == c.Nodes[from] },
			"node %d leads slot 0 again", from+1)
	})

	t.Run("a node leading no region still answers a pipelined FLUSHALL in order", func(t *testing.T) {
		// Hand every region node 3 leads to node 1 (through the admin port), then pipeline
		// FLUSHALL and PING on node 3: each gets its own reply, FLUSHALL flushing nothing.
		k := util.KeyInSlot(5461, "kept") // region 3, led by node 3 unless moved
		require.NoError(t, c.LeaderOf(5461).NewClient().Set(ctx, k, "v", 0).Err())
		moved := 0
		for region := 1; region <= 6; region++ {
			first := (region - 1) * 16384 / 6
			if c.LeaderOf(first) != c.Nodes[2] {
				continue
			}
			url := fmt.Sprintf("http://127.0.0.1:%d/admin/regions/%d/leader", c.AdminPorts[2], region)
			resp, err := http.Post(url, "application/json", strings.NewReader(`{"to":1}`))
			require.NoError(t, err)
			_ = resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode)
			util.WaitFor(t, 10*time.Second, 50*time.Millisecond, func() bool { return c.LeaderOf(first) == c.Nodes[0] },
				"node 1 leads region %d", region)
			moved++
		}
		require.Greater(t, moved, 0, "node 3 led some region before")
		for region := 1; region <= 6; region++ {
			require.NotEqual(t, c.Nodes[2].Addr(), c.LeaderOf((region-1)*16384/6).Addr(), "node 3 still leads region %d", region)
		}
		raw := c.Nodes[2].NewTCPClient()
		defer raw.Close()
		raw.MustWrite(t, util.EncodeArgs("FLUSHALL")+util.EncodeArgs("PING"))
		raw.ExpectReply(t, "+OK\r\n", "+PONG\r\n")
		got, err := c.LeaderOf(5461).NewClient().Get(ctx, k).Result()
		require.NoError(t, err)
		require.Equal(t, "v", got, "a node without regions flushed nothing")
	})

	t.Run("a READONLY replica read sees every acknowledged write", func(t *testing.T) {
		slot := 9000
		leader := c.LeaderOf(slot)
		replica := c.NotLeaderOf(slot)
		w := leader.NewClient()
		defer func() { _ = w.Close() }()
		r := replica.NewClient()
		defer func() { _ = r.Close() }()
		require.NoError(t, r.ReadOnly(ctx).Err())
		k := util.KeyInSlot(slot, "ro")
		for i := 0; i < 200; i++ {
			require.NoError(t, w.Set(ctx, k, strconv.Itoa(i), 0).Err())
			// Read right after the write was acknowledged, on another node: never older.
			require.Equal(t, strconv.Itoa(i), r.Get(ctx, k).Val(), "replica read after write %d", i)
		}
		// Writes on a replica still go to the leader, READONLY or not.
		require.ErrorContains(t, r.Set(ctx, k, "no", 0).Err(), "MOVED")
	})
}

// A writer keeps writing through a ClusterClient while the leader of its slots is killed with
// SIGKILL and later restarted. Every acknowledged write must survive; the regions must get a
// new leader within a generous bound (the measured time is logged).

func TestLeaderKillAndRestartUnderWrites(t *testing.T) {
	c := util.StartCluster(t, 3, nil)
	ctx := context.Background()
	const slot = 5000
	victim := c.LeaderOf(slot)

	var mu sync.Mutex
	acked := map[string]string{}
	var ackedIncr, uncertainIncr int64
	counter := util.KeyInSlot(slot, "ctr")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		cc := c.NewClusterClient()
		defer func() { _ = cc.Close() }()
		incr := newNoRetryIncr(c)
		defer incr.close()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// SET is idempotent: go-redis may retry it on a dropped connection.
			k := util.KeyInSlot((slot+i*37)%16384, "w"+strconv.Itoa(i))
			if err := cc.Set(ctx, k, strconv.Itoa(i), 0).Err(); err == nil {
				mu.Lock()
				acked[k] = strconv.Itoa(i)
				mu.Unlock()
			}
			if incr.do(ctx, counter) {
				atomic.AddInt64(&ackedIncr, 1)
			} else {
				atomic.AddInt64(&uncertainIncr, 1)
			}
		}
	}()
	// Let the writer get going, then kill the leader of its counter's slot.
	util.WaitFor(t, 30*time.Second, 10*time.Millisecond, func() bool { return atomic.LoadInt64(&ackedIncr) >= 200 }, "writes before the kill")
	killedAt := time.Now()
	victim.Kill()
	// While the victim's regions elect new leaders, a survivor answers a write for them at
	// once: MOVED (to the old or the new leader), CLUSTERDOWN or TRYAGAIN, UNCERTAIN for a
	// write proposed as leadership moved, or OK once it leads; never a hang. A plain client
	// without retries sees each answer.
	var survivor *util.Server
	for _, s := range c.Running() {
		survivor = s
	}
	seen := map[string]int{}
	var bad []string
	probeStop, probeDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(probeDone)
		plain := survivor.NewClient()
		defer func() { _ = plain.Close() }()
		probe := util.KeyInSlot(slot, "probe")
		for {
			select {
			case <-probeStop:
				return
			default:
			}
			t0 := time.Now()
			err := plain.Set(ctx, probe, "x", 0).Err()
			if d := time.Since(t0); d > 2*time.Second {
				bad = append(bad, fmt.Sprintf("a write took %v", d))
			}
			switch {
			case err == nil:
				seen["OK"]++
			case strings.HasPrefix(err.Error(), "MOVED "), err.Error() == "CLUSTERDOWN The cluster is down",
				strings.HasPrefix(err.Error(), "TRYAGAIN "), strings.HasPrefix(err.Error(), "UNCERTAIN "):
				seen[strings.Fields(err.Error())[0]]++
			default:
				bad = append(bad, err.Error())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	c.WaitLeadersOff(victim)
	took := time.Since(killedAt)
	close(probeStop)
	<-probeDone
	require.Empty(t, bad, "answers of a survivor during the election (%v)", seen)
	t.Logf("answers of a survivor during the election: %v", seen)
	t.Logf("the surviving nodes lead every region again %v after the kill", took)
	require.Less(t, took, 30*time.Second)
	before := atomic.LoadInt64(&ackedIncr)
	util.WaitFor(t, 30*time.Second, 10*time.Millisecond, func() bool { return atomic.LoadInt64(&ackedIncr) >= before+200 }, "writes continue after the kill")

	victim.Restart()
	took = c.WaitReady()
	t.Logf("the restarted node is part of the cluster again after %v", took)
	after := atomic.LoadInt64(&ackedIncr)
	util.WaitFor(t, 30*time.Second, 10*time.Millisecond, func() bool { return atomic.LoadInt64(&ackedIncr) >= after+200 }, "writes continue after the restart")
	close(stop)
	<-done

	cc := c.NewClusterClient()
	defer func() { _ = cc.Close() }()
	mu.Lock()
	defer mu.Unlock()
	require.Greater(t, len(acked), 600)
	for k, v := range acked {
		got, err := cc.Get(ctx, k).Result()
		require.NoError(t, err, "acknowledged key %s", k)
		require.Equal(t, v, got, "acknowledged key %s", k)
	}
	n, err := cc.Get(ctx, counter).Int64()
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, ackedIncr, "every acknowledged INCR applied")
	require.LessOrEqual(t, n, ackedIncr+uncertainIncr, "no INCR applied twice")

	// The restarted node caught up: its replicas hold the acknowledged writes (replica reads).
	r := victim.NewClient()
	defer func() { _ = r.Close() }()
	require.NoError(t, r.ReadOnly(ctx).Err())
	checked := 0
	for k, v := range acked {
		got, err := r.Get(ctx, k).Result()
		if err != nil && strings.HasPrefix(err.Error(), "MOVED") {
			continue
		}
		require.NoError(t, err)
		require.Equal(t, v, got)
		checked++
		if checked == 200 {
			break
		}
	}
	require.Greater(t, checked, 0)
}

// noRetryIncr sends INCR to the node it believes leads the key, follows MOVED and waits out
// CLUSTERDOWN/TRYAGAIN (nothing was proposed then), and never resends after any other error:
// a client retry after a dropped connection could apply the INCR twice, which would hide
// whether the server did.
type noRetryIncr struct {
	c       *util.Cluster
	clients map[string]*redis.Client
	target  string
}

func newNoRetryIncr(c *util.Cluster) *noRetryIncr {
	return &noRetryIncr{c: c, clients: map[string]*redis.Client{}, target: c.Nodes[0].Addr()}
}

func (n *noRetryIncr) client(addr string) *redis.Client {
	if cl, ok := n.clients[addr]; ok {
		return cl
	}
	for _, s := range n.c.Nodes {
		if s.Addr() == addr {
			n.clients[addr] = s.NewClient()
		}
	}
	return n.clients[addr]
}

// do reports whether the INCR was acknowledged.
func (n *noRetryIncr) do(ctx context.Context, key string) bool {
	for attempt := 0; attempt < 100; attempt++ {
		err := n.client(n.target).Incr(ctx, key).Err()
		if err == nil {
			return true
		}
		msg := err.Error()
		switch {
		case strings.HasPrefix(msg, "MOVED "):
			n.target = strings.Fields(msg)[2]
		case strings.HasPrefix(msg, "CLUSTERDOWN"), strings.HasPrefix(msg, "TRYAGAIN"):
			time.Sleep(20 * time.Millisecond)
		case strings.Contains(msg, "connection refused"):
			// Never sent: try the next node.
			for i, s := range n.c.Nodes {
				if s.Addr() == n.target {
					n.target = n.c.Nodes[(i+1)%len(n.c.Nodes)].Addr()
					break
				}
			}
		default:
			return false
		}
	}
	return false
}

func (n *noRetryIncr) close() {
	for _, cl := range n.clients {
		_ = cl.Close()
	}
}
