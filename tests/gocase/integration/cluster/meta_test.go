package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// What /cluster says about the meta group and the replicas of each region.
type mapView struct {
	Meta struct {
		Leader     *int  `json:"leader"`
		MapVersion int   `json:"map_version"`
		MapNodes   []int `json:"map_nodes"`
		Members    []int
	} `json:"meta"`
	Regions []struct {
		ID       int
		Slots    []int
		Replicas []struct{ Replica, Node int }
	} `json:"regions"`
	Nodes []struct {
		ID   int
		ID40 string `json:"id40"`
		Port int
	} `json:"nodes"`
}

func getMapView(t *testing.T, adminPort int) mapView {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/cluster", adminPort))
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, 200, resp.StatusCode)
	var v mapView
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return v
}

// The cluster map lives in the meta group: every node has the same regions and replicas,
// replica ids come from the map (unique in the cluster, not the node ids), and a node that
// comes back while its peers are down still knows every node from its own replica of the map.
func TestClusterMapFromTheMetaGroup(t *testing.T) {
	c := util.StartCluster(t, 3, nil)
	ctx := context.Background()

	// The meta leader records each node's RESP identity once the node answers: poll for it.
	views := make([]mapView, 3)
	util.WaitFor(t, 30*time.Second, 50*time.Millisecond, func() bool {
		for i := range c.Nodes {
			views[i] = getMapView(t, c.AdminPorts[i])
			if views[i].Meta.MapVersion < 2 || len(views[i].Meta.MapNodes) != 3 {
				return false
			}
		}
		return true
	}, "every node has a map with every node's identity")
	seen := map[int]bool{}
	for _, r := range views[0].Regions {
		require.Len(t, r.Replicas, 3, "region %d has a replica on each node", r.ID)
		nodes := map[int]bool{}
		for _, x := range r.Replicas {
			require.False(t, seen[x.Replica], "replica id %d used twice", x.Replica)
			seen[x.Replica] = true
			nodes[x.Node] = true
		}
		require.Len(t, nodes, 3, "region %d: replicas on distinct nodes", r.ID)
	}
	require.Len(t, seen, 3*len(views[0].Regions))
	for i, v := range views {
		require.Equal(t, []int{1, 2, 3}, v.Meta.Members, "node %d: the meta group's voters", i+1)
		require.Equal(t, views[0].Regions, v.Regions, "node %d has the same map", i+1)
	}

	// Remember every node's identity, then stop all and start node 1 alone.
	before, err := c.Nodes[0].NewClient().ClusterNodes(ctx).Result()
	require.NoError(t, err)
	ids := map[string]string{} // "host:port" -> 40-hex id
	for _, l := range strings.Split(strings.TrimSpace(before), "\n") {
		f := strings.Fields(l)
		ids[strings.Split(f[1], "@")[0]] = f[0]
	}
	require.Len(t, ids, 3)
	for _, s := range c.Nodes {
		s.Close()
	}
	c.Nodes[0].Restart()
	rdb := c.Nodes[0].NewClient()
	defer func() { _ = rdb.Close() }()
	var alone string
	util.WaitFor(t, 30*time.Second, 50*time.Millisecond, func() bool {
		alone, err = rdb.ClusterNodes(ctx).Result()
		return err == nil && strings.Count(alone, "\n") == 3
	}, "node 1 lists the nodes of its map")
	lines := strings.Split(strings.TrimSpace(alone), "\n")
	sort.Strings(lines)
	for _, l := range lines {
		f := strings.Fields(l)
		addr := strings.Split(f[1], "@")[0]
		require.Equal(t, ids[addr], f[0], "the identity of %s survives with no peer up", addr)
		if addr != c.Nodes[0].Addr() {
			require.Contains(t, f[2], "fail", "a node that is down is flagged: %s", l)
		}
	}
	info, err := rdb.ClusterInfo(ctx).Result()
	require.NoError(t, err)
	require.Contains(t, info, "cluster_state:fail")

	// The others come back: the same map, and the cluster serves again.
	c.Nodes[1].Restart()
	c.Nodes[2].Restart()
	c.WaitReady()
	for i := range c.Nodes {
		require.Equal(t, views[0].Regions, getMapView(t, c.AdminPorts[i]).Regions)
	}
	cc := c.NewClusterClient()
	defer func() { _ = cc.Close() }()
	require.NoError(t, cc.Set(ctx, "after-restart", "v", 0).Err())
	require.Equal(t, "v", cc.Get(ctx, "after-restart").Val())
}

// A data dir made by a standalone server (or by a cluster version without the meta group)
// is refused in cluster mode with a clear error, and the other way round.
func TestDataDirModeIsChecked(t *testing.T) {
	s := util.StartServer(t, nil)
	dir := s.DataDir()
	s.Close()
	res := util.RunExpectingExit(t, "--data-dir", dir, "--port", strconv.Itoa(util.FreePort(t)), "--node-id", "1", "--grpc-port", "0",
		"--cluster", "1=127.0.0.1:1")
	require.NotEqual(t, 0, res.Code)
	require.Contains(t, res.Stderr, "a cluster node needs a new data dir")

	c := util.StartCluster(t, 3, nil)
	node := c.Nodes[0]
	node.Close()
	res = util.RunExpectingExit(t, "--data-dir", node.DataDir(), "--port", strconv.Itoa(util.FreePort(t)))
	require.NotEqual(t, 0, res.Code)
	require.Contains(t, res.Stderr, "belongs to a cluster node")
}

// A node whose --node-id is not among the founders joins: the meta leader records it in the
// map and makes it a learner of the meta group. It leads no region, yet every node lists it,
// it sends clients to the leaders (MOVED), a cluster client seeded with it alone works, it
// comes back after a restart without joining again, and its id cannot be taken by another node.
func TestNodeJoinsARunningCluster(t *testing.T) {
	c := util.StartCluster(t, 3, nil)
	ctx := context.Background()
	joined, admin := c.StartJoining(4)

	util.WaitFor(t, 30*time.Second, 50*time.Millisecond, func() bool {
		for _, s := range append(c.Running(), joined) {
			nodes, err := s.NewClient().ClusterNodes(ctx).Result()
			if err != nil || strings.Count(nodes, "\n") != 4 || !strings.Contains(nodes, joined.Addr()+"@") {
				return false
			}
		}
		return true
	}, "every node lists the joined node")
	v := getMapView(t, admin)
	require.Equal(t, []int{1, 2, 3}, v.Meta.Members, "a joined node is a learner, not a voter, of the meta group")
	require.Contains(t, v.Meta.MapNodes, 4)
	require.Empty(t, v.Regions, "no replica moved to it yet")

	slot := 1234
	key := util.KeyInSlot(slot, "joined")
	rdb := joined.NewClient()
	defer func() { _ = rdb.Close() }()
	// Compared again until they agree: the leader may move between the two reads.
	var moved, want string
	util.WaitFor(t, 30*time.Second, 50*time.Millisecond, func() bool {
		moved = fmt.Sprint(rdb.Set(ctx, key, "v", 0).Err())
		want = fmt.Sprintf("MOVED %d %s", slot, c.LeaderOf(slot).Addr())
		return moved == want
	}, "the joined node redirects to the leader")
	t.Logf("the joined node answered %q", moved)

	cc := util.NewClusterClientFor([]string{joined.Addr()})
	defer func() { _ = cc.Close() }()
	for i := 0; i < 50; i++ {
		k := fmt.Sprintf("via-joined-%d", i)
		require.NoError(t, cc.Set(ctx, k, i, 0).Err())
		require.Equal(t, strconv.Itoa(i), cc.Get(ctx, k).Val())
	}

	joined.Restart()
	util.WaitFor(t, 30*time.Second, 50*time.Millisecond, func() bool {
		err := rdb.Get(ctx, key).Err()
		return err != nil && strings.HasPrefix(err.Error(), "MOVED ")
	}, "the restarted joined node redirects again")
	nodes, err := rdb.ClusterNodes(ctx).Result()
	require.NoError(t, err)
	require.Equal(t, 4, strings.Count(nodes, "\n"))

	res := util.RunExpectingExit(t, "--data-dir", t.TempDir(), "--port", strconv.Itoa(util.FreePort(t)), "--node-id", "4",
		"--grpc-port", "0", "--cluster", c.Spec)
	require.NotEqual(t, 0, res.Code)
	require.Contains(t, res.Stderr, "cannot join the cluster: node id 4 belongs to node ")
}
