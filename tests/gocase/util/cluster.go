package util

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// ClusterReadyTimeout bounds how long a new or recovering cluster may take until every node
// reports cluster_state:ok and all nodes give the same CLUSTER SLOTS.
const ClusterReadyTimeout = 60 * time.Second

// Cluster is n real redraft-server processes on loopback forming one cluster: node i has
// --node-id i+1, its own RESP and gRPC ports and data dir.
type Cluster struct {
	t     testing.TB
	Nodes []*Server
	// AdminPorts[i] is the HTTP admin port of Nodes[i].
	AdminPorts []int
	// GrpcPorts[i] is the Raft (gRPC) port of Nodes[i].
	GrpcPorts []int
	// Spec is a --cluster list of the founding nodes' direct gRPC addresses (for a node that
	// joins later).
	Spec string
}

// StartCluster starts n nodes with `--cluster 1=127.0.0.1:g1,...` (extra opts are passed to
// every node) and waits until the cluster is ready (see WaitReady).
func StartCluster(t testing.TB, n int, opts map[string]string) *Cluster {
	t.Helper()
	return startCluster(t, n, opts, nil, nil)
}

// StartProxiedCluster is StartCluster with every peer link through a proxy: node i's
// --cluster names, for each other node j, the address of Net.Link(i, j), which forwards to
// j's gRPC port (a node dials a peer where its own list says; its own entry is what it
// announces).
func StartProxiedCluster(t testing.TB, n int, opts map[string]string) (*Cluster, *Net) {
	t.Helper()
	return StartProxiedClusterPrepared(t, n, opts, nil)
}

// StartProxiedClusterPrepared is StartProxiedCluster calling prepare(i, dataDir) for every node
// before any node starts (e.g. to mount a small file system on its data dir).
func StartProxiedClusterPrepared(t testing.TB, n int, opts map[string]string, prepare func(i int, dataDir string)) (*Cluster, *Net) {
	t.Helper()
	var nw *Net
	c := startCluster(t, n, opts, func(grpcPorts []int) func(i, j int) string {
		var targets []string
		for _, g := range grpcPorts {
			targets = append(targets, fmt.Sprintf("127.0.0.1:%d", g))
		}
		nw = NewNet(t, targets)
		return func(i, j int) string { return nw.Link(i, j).Addr() }
	}, prepare)
	return c, nw
}

// startCluster starts n nodes; peers, when set, gives the address node i lists for node j.
func startCluster(t testing.TB, n int, opts map[string]string, peers func(grpcPorts []int) func(i, j int) string,
	prepare func(i int, dataDir string)) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	// Every port of every node picked together, so none is handed out twice, and held until
	// the proxies (if any) listen, so no proxy gets one of them.
	ports, release := reservePorts(t, 3*n)
	defer release()
	grpcPorts, adminPorts, respPorts := ports[:n], ports[n:2*n], ports[2*n:]
	c.GrpcPorts = grpcPorts
	peer := func(i, j int) string { return fmt.Sprintf("127.0.0.1:%d", grpcPorts[j]) }
	if peers != nil {
		via := peers(grpcPorts)
		peer = func(i, j int) string {
			if i == j {
				return fmt.Sprintf("127.0.0.1:%d", grpcPorts[j])
			}
			return via(i, j)
		}
	}
	release()
	var direct []string
	for j := range grpcPorts {
		direct = append(direct, fmt.Sprintf("%d=127.0.0.1:%d", j+1, grpcPorts[j]))
	}
	c.Spec = strings.Join(direct, ",")
	for i := 0; i < n; i++ {
		var list []string
		for j := range grpcPorts {
			list = append(list, fmt.Sprintf("%d=%s", j+1, peer(i, j)))
		}
		admin := adminPorts[i]
		c.AdminPorts = append(c.AdminPorts, admin)
		o := map[string]string{
			"node-id":    strconv.Itoa(i + 1),
			"grpc-port":  strconv.Itoa(grpcPorts[i]),
			"admin-port": strconv.Itoa(admin),
			"cluster":    strings.Join(list, ","),
		}
		for k, v := range opts {
			o[k] = v
		}
		s := newServer(t, o)
		s.port = respPorts[i]
		c.Nodes = append(c.Nodes, s)
	}
	if prepare != nil {
		for i, s := range c.Nodes {
			prepare(i, s.dataDir)
		}
	}
	// A node is ready as soon as it serves RESP; it does not wait for its peers.
	for _, s := range c.Nodes {
		s.start()
	}
	c.WaitReady()
	return c
}

// StartJoining starts a node that is not a founder: --node-id id with the founders' --cluster
// list, so it asks them to join. It is not added to Nodes (it leads no region); the second
// value is its admin port.
func (c *Cluster) StartJoining(id int) (*Server, int) {
	c.t.Helper()
	return c.StartJoiningWith(id, nil)
}

// StartJoiningWith is StartJoining with extra options (e.g. the cluster secret).
func (c *Cluster) StartJoiningWith(id int, opts map[string]string) (*Server, int) {
	c.t.Helper()
	ports := freePorts(c.t, 3)
	o := map[string]string{
		"node-id":    strconv.Itoa(id),
		"grpc-port":  strconv.Itoa(ports[0]),
		"admin-port": strconv.Itoa(ports[1]),
		"cluster":    c.Spec,
	}
	for k, v := range opts {
		o[k] = v
	}
	s := newServer(c.t, o)
	s.port = ports[2]
	s.start()
	return s, ports[1]
}

// Running is the nodes that have not been stopped.
func (c *Cluster) Running() []*Server {
	var out []*Server
	for _, s := range c.Nodes {
		if s.running() && !s.stopped {
			out = append(out, s)
		}
	}
	return out
}

// WaitReady polls the running nodes until each says cluster_state:ok, they all give the same
// CLUSTER SLOTS and every running node leads some slots (the leader balancer has settled, so
// no leadership moves under the test); it returns how long that took.
func (c *Cluster) WaitReady() time.Duration {
	c.t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < ClusterReadyTimeout {
		if ok, why := c.agree(); ok {
			return time.Since(start)
		} else {
			last = why
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("cluster not ready within %v: %s", ClusterReadyTimeout, last)
	return 0
}

func (c *Cluster) agree() (bool, string) {
	ctx := context.Background()
	var first string
	for _, s := range c.Running() {
		rdb := s.NewClient()
		info, err := rdb.ClusterInfo(ctx).Result()
		if err != nil {
			_ = rdb.Close()
			return false, fmt.Sprintf("%s: CLUSTER INFO: %v", s.Addr(), err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			_ = rdb.Close()
			return false, fmt.Sprintf("%s: %s", s.Addr(), strings.ReplaceAll(info, "\r\n", " "))
		}
		slots, err := rdb.Do(ctx, "CLUSTER", "SLOTS").Result()
		_ = rdb.Close()
		if err != nil {
			return false, fmt.Sprintf("%s: CLUSTER SLOTS: %v", s.Addr(), err)
		}
		view := fmt.Sprint(slots)
		leaders := map[string]bool{}
		for _, r := range slots.([]interface{}) {
			leaders[fmt.Sprint(r.([]interface{})[2].([]interface{})[1])] = true
		}
		if len(leaders) != len(c.Running()) {
			return false, fmt.Sprintf("%s: %d nodes lead slots, %d run", s.Addr(), len(leaders), len(c.Running()))
		}
		if first == "" {
			first = view
		} else if view != first {
			return false, fmt.Sprintf("views differ: %s vs %s", first, view)
		}
	}
	return true, ""
}

// WaitLeadersOff polls until the running nodes agree (see WaitReady) and none of them lists
// `gone` as the leader of any slot range; it returns how long that took.
func (c *Cluster) WaitLeadersOff(gone *Server) time.Duration {
	c.t.Helper()
	start := time.Now()
	for time.Since(start) < ClusterReadyTimeout {
		if ok, _ := c.agree(); ok && !c.leads(gone) {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("%s still listed as a leader after %v", gone.Addr(), ClusterReadyTimeout)
	return 0
}

func (c *Cluster) leads(s *Server) bool {
	rdb := c.Running()[0].NewClient()
	defer func() { _ = rdb.Close() }()
	slots, err := rdb.ClusterSlots(context.Background()).Result()
	if err != nil {
		return true
	}
	for _, r := range slots {
		if len(r.Nodes) > 0 && r.Nodes[0].Addr == s.Addr() {
			return true
		}
	}
	return false
}

// Addrs is the RESP address of every running node.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, s := range c.Running() {
		out = append(out, s.Addr())
	}
	return out
}

// NewClusterClient returns a go-redis ClusterClient seeded with every node (RESP3), with
// go-redis' own redirect and retry handling left on. go-redis reloads the topology on MOVED
// and otherwise only every ClusterStateReloadInterval (60 s by default): a dead leader's
// address is not a MOVED, so a client of a cluster that fails over in seconds wants a short
// interval, as here.
func (c *Cluster) NewClusterClient() *redis.ClusterClient {
	var addrs []string
	for _, s := range c.Nodes {
		addrs = append(addrs, s.Addr())
	}
	return NewClusterClientFor(addrs)
}

// NewClusterClientFor is NewClusterClient's client seeded with addrs only.
func NewClusterClientFor(addrs []string) *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:        addrs,
		Protocol:     3,
		DialTimeout:  5 * time.Second,
		ReadTimeout:  20 * time.Second,
		WriteTimeout: 20 * time.Second,
		MaxRedirects: 8,
		// Seconds-fast failover wants a client that rereads the topology as fast.
		ClusterStateReloadInterval: time.Second,
	})
}

// LeaderOf is the node that leads `slot` according to the first running node's CLUSTER SLOTS.
func (c *Cluster) LeaderOf(slot int) *Server {
	c.t.Helper()
	ctx := context.Background()
	rdb := c.Running()[0].NewClient()
	defer func() { _ = rdb.Close() }()
	slots, err := rdb.ClusterSlots(ctx).Result()
	require.NoError(c.t, err)
	for _, r := range slots {
		if r.Start <= slot && slot <= r.End {
			for _, s := range c.Nodes {
				if s.Addr() == r.Nodes[0].Addr {
					return s
				}
			}
		}
	}
	c.t.Fatalf("no leader listed for slot %d", slot)
	return nil
}

// NotLeaderOf is a running node other than the leader of `slot`.
func (c *Cluster) NotLeaderOf(slot int) *Server {
	c.t.Helper()
	l := c.LeaderOf(slot)
	for _, s := range c.Running() {
		if s != l {
			return s
		}
	}
	c.t.Fatalf("no follower of slot %d is running", slot)
	return nil
}
