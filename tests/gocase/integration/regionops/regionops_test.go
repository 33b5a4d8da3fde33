// Package regionops tests the region lifecycle: split, move, merge, leader transfer, node add
// and remove, each while a go-redis ClusterClient writes and reads (no acknowledged write may
// be lost, no read may be stale), and a kill -9 in the middle of each operation.
package regionops

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

const opDeadline = 2 * time.Minute

// fourNodes starts 3 founding nodes (3 regions) and a 4th that joins; returns the cluster, the
// 4th node and every admin port (the 4th's last).
func fourNodes(t *testing.T) (*util.Cluster, *util.Server, []int) {
	c := util.StartCluster(t, 3, map[string]string{"regions": "3"})
	joined, admin := c.StartJoining(4)
	ports := append(append([]int{}, c.AdminPorts...), admin)
	util.WaitFor(t, 30*time.Second, 50*time.Millisecond, func() bool {
		v := util.Regions(t, ports[0])
		return len(v.Nodes) == 4 && v.Nodes[3].Up
	}, "node 4 joins")
	return c, joined, ports
}

// mapConsistent checks the map covers every slot once and that every node's CLUSTER SLOTS
// shows the same ranges as the map (polled: nodes follow the map within moments).
func mapConsistent(t *testing.T, c *util.Cluster, ports []int, extra ...*util.Server) util.AdminView {
	t.Helper()
	var v util.AdminView
	util.WaitFor(t, 60*time.Second, 100*time.Millisecond, func() bool {
		v = util.Regions(t, ports[0])
		next := 0
		for _, r := range v.Regions {
			if r.Slots[0] != next || r.Op != nil {
				return false
			}
			next = r.Slots[1] + 1
		}
		if next != 16384 {
			return false
		}
		for _, s := range append(c.Running(), extra...) {
			rdb := s.NewClient()
			slots, err := rdb.ClusterSlots(context.Background()).Result()
			_ = rdb.Close()
			if err != nil || len(slots) != len(v.Regions) {
				return false
			}
			for i, r := range slots {
				if r.Start != v.Regions[i].Slots[0] || r.End != v.Regions[i].Slots[1] {
					return false
				}
			}
		}
		return true
	}, "the map covers every slot once and every node's CLUSTER SLOTS follows it")
	return v
}

func ctlPath(t *testing.T) string {
	return filepath.Join(filepath.Dir(util.BinPath(t)), "redraft-ctl")
}

// The chain a newcomer runs with the CLI on a 4-node cluster under load: split a region, move
// a replica of the new region to the node that joined, merge the two back, transfer the
// leadership. Nothing acknowledged is lost, no read is stale, and the client-visible error
// rate and latency of each step are reported.
func TestSplitMoveMergeLeaderUnderLoad(t *testing.T) {
	c, joined, ports := fourNodes(t)
	cc := c.NewClusterClient()
	defer func() { _ = cc.Close() }()
	w := startWorkload(t, cc, "w1", 8, 64)
	admin := fmt.Sprintf("127.0.0.1:%d", ports[1])
	time.Sleep(time.Second)

	v := util.Regions(t, ports[0])
	parent := v.RegionOfSlot(1000)
	first, last := 0, 0
	for _, r := range v.Regions {
		if r.ID == parent {
			first, last = r.Slots[0], r.Slots[1]
		}
	}
	at := (first + last + 1) / 2
	out, err := exec.Command(ctlPath(t), "--admin", admin, "split", fmt.Sprint(parent), fmt.Sprint(at)).CombinedOutput()
	require.NoError(t, err, "redraft-ctl split: %s", out)
	require.Contains(t, string(out), "done in", string(out))
	t.Logf("redraft-ctl split:\n%s", out)
	v = mapConsistent(t, c, ports, joined)
	child := v.RegionOfSlot(at)
	require.NotEqual(t, parent, child, "slot %d is in a new region", at)
	require.Equal(t, v.RegionNodes(parent), v.RegionNodes(child), "the new region starts on the same replicas")

	from := v.RegionNodes(child)[0]
	out, err = exec.Command(ctlPath(t), "--admin", admin, "move", fmt.Sprint(child), fmt.Sprint(from), "4").CombinedOutput()
	require.NoError(t, err, "redraft-ctl move: %s", out)
	t.Logf("redraft-ctl move:\n%s", out)
	v = mapConsistent(t, c, ports, joined)
	require.Contains(t, v.RegionNodes(child), 4)
	require.NotContains(t, v.RegionNodes(child), from)

	out, err = exec.Command(ctlPath(t), "--admin", admin, "merge", fmt.Sprint(parent), fmt.Sprint(child)).CombinedOutput()
	require.NoError(t, err, "redraft-ctl merge: %s", out)
	t.Logf("redraft-ctl merge:\n%s", out)
	v = mapConsistent(t, c, ports, joined)
	require.Equal(t, parent, v.RegionOfSlot(at))
	require.Equal(t, parent, v.RegionOfSlot(first))
	require.Equal(t, 3, len(v.Regions))

	// Leader transfer, asked on the joined node, which hosts no replica of it: forwarded.
	nodes := v.RegionNodes(parent)
	to := nodes[len(nodes)-1]
	out, err = exec.Command(ctlPath(t), "--admin", fmt.Sprintf("127.0.0.1:%d", ports[3]), "leader", fmt.Sprint(parent),
		fmt.Sprint(to)).CombinedOutput()
	require.NoError(t, err, "redraft-ctl leader: %s", out)
	util.WaitFor(t, 30*time.Second, 100*time.Millisecond, func() bool {
		for _, r := range util.Regions(t, ports[0]).Regions {
			if r.ID == parent {
				return r.Leader != nil && *r.Leader == to
			}
		}
		return false
	}, "node %d leads region %d", to, parent)

	st := w.finish(t)
	t.Logf("workload during split, move, merge and leader transfer: %v", st)
	require.Less(t, float64(st.errs), 0.01*float64(st.ops), "client-visible errors")
}

// Each operation alone under load, with the client-visible error rate and p99 measured over
// the operation (the README's figures come from this test's log).
func TestSplitAndMoveErrorRateAndLatency(t *testing.T) {
	c, joined, ports := fourNodes(t)
	cc := c.NewClusterClient()
	defer func() { _ = cc.Close() }()
	baseline := startWorkload(t, cc, "w2", 8, 64)
	time.Sleep(3 * time.Second)
	t.Logf("baseline (no operation), 3 s: %v", baseline.finish(t))

	v := util.Regions(t, ports[0])
	parent := v.RegionOfSlot(0)
	w := startWorkload(t, cc, "w3", 8, 64)
	time.Sleep(500 * time.Millisecond)
	op := util.WaitOp(t, ports, util.StartOp(t, ports[0], "POST", fmt.Sprintf("/admin/regions/%d/split", parent),
		`{"at_slot": 2000}`), opDeadline)
	took := util.RequireDone(t, op)
	time.Sleep(500 * time.Millisecond)
	t.Logf("split took %v; workload during it: %v", took, w.finish(t))

	v = mapConsistent(t, c, ports, joined)
	child := v.RegionOfSlot(2000)
	from := v.RegionNodes(child)[1]
	w = startWorkload(t, cc, "w4", 8, 64)
	time.Sleep(500 * time.Millisecond)
	op = util.WaitOp(t, ports, util.StartOp(t, ports[2], "POST", fmt.Sprintf("/admin/regions/%d/move", child),
		fmt.Sprintf(`{"from": %d, "to": 4}`, from)), opDeadline)
	took = util.RequireDone(t, op)
	time.Sleep(500 * time.Millisecond)
	t.Logf("move took %v; workload during it: %v", took, w.finish(t))
	mapConsistent(t, c, ports, joined)
}

// A node that joined is given replicas (POST /admin/nodes), then removed (DELETE): its
// replicas move to the other nodes first, then it leaves the map; under load throughout.
func TestAddAndRemoveNodeUnderLoad(t *testing.T) {
	c, joined, ports := fourNodes(t)
	cc := c.NewClusterClient()
	defer func() { _ = cc.Close() }()
	w := startWorkload(t, cc, "w5", 6, 64)

	op := util.WaitOp(t, ports, util.StartOp(t, ports[3], "POST", "/admin/nodes", `{"id": 4}`), opDeadline)
	util.RequireDone(t, op)
	v := mapConsistent(t, c, ports, joined)
	var on4 int
	for _, n := range v.Nodes {
		if n.ID == 4 {
			on4 = n.Replicas
		}
	}
	require.GreaterOrEqual(t, on4, 2, "node 4 took its share of the 9 replicas")

	op = util.WaitOp(t, ports, util.StartOp(t, ports[0], "DELETE", "/admin/nodes/4", ""), opDeadline)
	util.RequireDone(t, op)
	v = mapConsistent(t, c, ports, joined)
	require.Len(t, v.Nodes, 3)
	for _, r := range v.Regions {
		require.NotContains(t, v.RegionNodes(r.ID), 4)
		require.Len(t, r.Replicas, 3)
	}
	util.WaitFor(t, 30*time.Second, 100*time.Millisecond, func() bool {
		rdb := c.Nodes[0].NewClient()
		defer func() { _ = rdb.Close() }()
		nodes, err := rdb.ClusterNodes(context.Background()).Result()
		return err == nil && strings.Count(nodes, "\n") == 3
	}, "CLUSTER NODES no longer lists node 4")
	st := w.finish(t)
	t.Logf("workload during add-node and remove-node: %v", st)
}

// A node is killed (kill -9) in the middle of each operation and restarted: the operation
// finishes (a new meta leader resumes it), the map is consistent and no write is lost.
func TestKillDuringOperations(t *testing.T) {
	c, joined, ports := fourNodes(t)
	cc := c.NewClusterClient()
	defer func() { _ = cc.Close() }()
	w := startWorkload(t, cc, "w6", 6, 64)
	byID := func(id int) *util.Server {
		if id == 4 {
			return joined
		}
		return c.Nodes[id-1]
	}
	metaLeader := func() int {
		_, b := util.AdminCall(t, ports[0], "GET", "/cluster", "")
		var v struct {
			Meta struct {
				Leader int `json:"leader"`
			} `json:"meta"`
		}
		require.NoError(t, json.Unmarshal(b, &v))
		return v.Meta.Leader
	}
	alive := func(skip int) int {
		for i, p := range ports {
			if i+1 != skip {
				return p
			}
		}
		return ports[0]
	}
	killAndRestart := func(id int, after time.Duration) {
		time.Sleep(after)
		s := byID(id)
		s.Kill()
		time.Sleep(300 * time.Millisecond)
		s.Restart()
	}

	// Split, killing the meta leader (which drives it) right after it starts.
	v := util.Regions(t, ports[0])
	parent := v.RegionOfSlot(100)
	victim := metaLeader()
	id := util.StartOp(t, alive(victim), "POST", fmt.Sprintf("/admin/regions/%d/split", parent), `{"at_slot": 3000}`)
	killAndRestart(victim, 20*time.Millisecond)
	util.RequireDone(t, util.WaitOp(t, ports, id, opDeadline))
	v = mapConsistent(t, c, ports, joined)
	child := v.RegionOfSlot(3000)
	require.NotEqual(t, parent, child)

	// Move, killing the node the replica moves to while it receives the snapshot.
	from := v.RegionNodes(child)[0]
	id = util.StartOp(t, ports[0], "POST", fmt.Sprintf("/admin/regions/%d/move", child), fmt.Sprintf(`{"from": %d, "to": 4}`, from))
	killAndRestart(4, 50*time.Millisecond)
	util.RequireDone(t, util.WaitOp(t, ports, id, opDeadline))
	v = mapConsistent(t, c, ports, joined)
	require.Contains(t, v.RegionNodes(child), 4)

	// Merge, killing a node that hosts both regions while the source is frozen or merging.
	both := 0
	for _, n := range v.RegionNodes(parent) {
		for _, m := range v.RegionNodes(child) {
			if n == m && n != metaLeader() {
				both = n
			}
		}
	}
	require.NotZero(t, both)
	id = util.StartOp(t, alive(both), "POST", "/admin/regions/merge", fmt.Sprintf(`{"left": %d, "right": %d}`, parent, child))
	killAndRestart(both, 100*time.Millisecond)
	util.RequireDone(t, util.WaitOp(t, ports, id, opDeadline))
	v = mapConsistent(t, c, ports, joined)
	require.Equal(t, parent, v.RegionOfSlot(3000))

	st := w.finish(t)
	t.Logf("workload during the three operations with a kill -9 each: %v", st)
}

// Bad requests are refused with a clear error and change nothing.
func TestOperationRequestsAreChecked(t *testing.T) {
	c := util.StartCluster(t, 3, map[string]string{"regions": "3"})
	p := c.AdminPorts[0]
	v := util.Regions(t, p)
	before := v.MapVersion
	r1, r2, r3 := v.Regions[0].ID, v.Regions[1].ID, v.Regions[2].ID
	cases := []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"POST", fmt.Sprintf("/admin/regions/%d/split", r1), `{"at_slot": 0}`, 400, "the split slot must be in 1-5460"},
		{"POST", fmt.Sprintf("/admin/regions/%d/split", r1), `{"at_slot": 9000}`, 400, "the split slot must be in"},
		{"POST", fmt.Sprintf("/admin/regions/%d/split", r1), `{"at_slot": 16384}`, 400, "out of range"},
		{"POST", fmt.Sprintf("/admin/regions/%d/split", r1), `{"at": 5}`, 400, `expected a JSON body`},
		{"POST", "/admin/regions/99/split", `{"at_slot": 5}`, 404, "no region 99"},
		{"POST", "/admin/regions/merge", fmt.Sprintf(`{"left": %d, "right": %d}`, r1, r3), 400, "are not adjacent"},
		{"POST", "/admin/regions/merge", fmt.Sprintf(`{"left": %d, "right": %d}`, r2, r1), 400, "are not adjacent"},
		{"POST", fmt.Sprintf("/admin/regions/%d/move", r1), `{"from": 1, "to": 2}`, 400, "already has a replica on node 2"},
		{"POST", fmt.Sprintf("/admin/regions/%d/move", r1), `{"from": 1, "to": 7}`, 404, "no node 7"},
		{"DELETE", "/admin/nodes/1", "", 400, "founding node"},
		{"GET", "/admin/regions/1/split", "", 405, "method not allowed"},
		{"GET", "/admin/ops/12345", "", 404, "no operation 12345"},
	}
	for _, tc := range cases {
		status, body := util.AdminCall(t, p, tc.method, tc.path, tc.body)
		require.Equal(t, tc.status, status, "%s %s %s: %s", tc.method, tc.path, tc.body, body)
		require.Contains(t, string(body), tc.msg, "%s %s %s", tc.method, tc.path, tc.body)
	}
	require.Equal(t, before, util.Regions(t, p).MapVersion, "refused requests change nothing")

	// One operation per region at a time: a second one is refused while the first runs.
	id := util.StartOp(t, p, "POST", fmt.Sprintf("/admin/regions/%d/split", r2), `{"at_slot": 6000}`)
	status, body := util.AdminCall(t, p, "POST", fmt.Sprintf("/admin/regions/%d/split", r2), `{"at_slot": 7000}`)
	op := util.WaitOp(t, c.AdminPorts, id, opDeadline)
	util.RequireDone(t, op)
	if status != 202 {
		require.Equal(t, 409, status, string(body))
		require.Contains(t, string(body), "is busy with operation")
	} else {
		var r struct {
			Op uint64 `json:"op"`
		}
		require.NoError(t, json.Unmarshal(body, &r))
		// The first one finished before the second arrived: the second runs on its own.
		util.RequireDone(t, util.WaitOp(t, c.AdminPorts, r.Op, opDeadline))
	}
}

// The split checker splits a region past --region-split-keys at the slot that halves its keys;
// --region-merge-keys merges small idle neighbours; --balance-replicas moves replicas onto a
// node that joined. Every key written stays readable.
func TestAutomaticSplitMergeAndBalance(t *testing.T) {
	ctx := context.Background()
	c := util.StartCluster(t, 3, map[string]string{"regions": "3", "region-split-keys": "300", "balance-replicas": "yes"})
	ports := c.AdminPorts
	cc := c.NewClusterClient()
	defer func() { _ = cc.Close() }()
	// 800 keys in the first region (slots 0-5460): it must split, twice or more.
	var keys []string
	for i := 0; len(keys) < 800; i++ {
		k := fmt.Sprintf("auto:%d", i)
		if util.KeySlot(k) < 5461 {
			keys = append(keys, k)
			require.NoError(t, cc.Set(ctx, k, i, 0).Err())
		}
	}
	util.WaitFor(t, 90*time.Second, 200*time.Millisecond, func() bool {
		v := util.Regions(t, ports[0])
		first := 0
		for _, r := range v.Regions {
			if r.Slots[1] < 5461 {
				first++
			}
		}
		return first >= 3
	}, "the split checker splits the full region until each part holds at most 300 keys")
	v := mapConsistent(t, c, ports)
	t.Logf("regions after the split checker: %d", len(v.Regions))
	for _, k := range keys {
		require.NoError(t, cc.Get(ctx, k).Err(), k)
	}

	// A node joins: the balancer gives it replicas.
	joined, admin := c.StartJoining(4)
	ports = append(append([]int{}, ports...), admin)
	util.WaitFor(t, 120*time.Second, 200*time.Millisecond, func() bool {
		for _, n := range util.Regions(t, ports[0]).Nodes {
			if n.ID == 4 && n.Replicas >= 2 {
				return true
			}
		}
		return false
	}, "the replica balancer moves replicas onto the node that joined")
	mapConsistent(t, c, ports, joined)
	for _, k := range keys {
		require.NoError(t, cc.Get(ctx, k).Err(), k)
	}
}

// With --region-merge-keys, the empty regions of a new cluster merge until one is left.
func TestAutomaticMergeOfSmallRegions(t *testing.T) {
	c := util.StartCluster(t, 3, map[string]string{"regions": "4", "region-merge-keys": "100"})
	util.WaitFor(t, 90*time.Second, 200*time.Millisecond, func() bool {
		return len(util.Regions(t, c.AdminPorts[0]).Regions) == 1
	}, "the four empty regions merge into one")
	mapConsistent(t, c, c.AdminPorts)
	cc := c.NewClusterClient()
	defer func() { _ = cc.Close() }()
	require.NoError(t, cc.Set(context.Background(), "after-merges", "v", 0).Err())
	require.Equal(t, "v", cc.Get(context.Background(), "after-merges").Val())
}

// With --region-split-qps, a region taking more writes per second than that for three checks
// in a row is split (the key count alone would not: --region-split-keys is off).
func TestAutomaticSplitUnderLoad(t *testing.T) {
	ctx := context.Background()
	c := util.StartCluster(t, 3, map[string]string{"regions": "3", "region-split-keys": "0", "region-split-qps": "50"})
	cc := c.NewClusterClient()
	defer func() { _ = cc.Close() }()
	var hot []string
	for i := 0; len(hot) < 64; i++ {
		if k := fmt.Sprintf("hot:%d", i); util.KeySlot(k) < 5461 {
			hot = append(hot, k)
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = cc.Set(ctx, hot[i%len(hot)], i, 0).Err()
		}
	}()
	start := time.Now()
	util.WaitFor(t, 90*time.Second, 200*time.Millisecond, func() bool {
		return len(util.Regions(t, c.AdminPorts[0]).Regions) >= 4
	}, "the region taking the writes is split")
	t.Logf("split for load %v after the writes began", time.Since(start).Round(100*time.Millisecond))
	close(stop)
	<-done
	v := mapConsistent(t, c, c.AdminPorts)
	require.NotEqual(t, v.RegionOfSlot(0), v.RegionOfSlot(5460), "the loaded region (slots 0-5460) was the one split")
	for _, k := range hot {
		require.NoError(t, cc.Get(ctx, k).Err(), k)
	}
}
