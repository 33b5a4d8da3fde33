// Package chaos is RedRaft's fault suite: a 3-node (REDRAFT_CHAOS_NODES) cluster with every peer link through a
// proxy the test controls, concurrent clients without automatic retries recording a history,
// one fault scenario injected and healed, then the checks: no acknowledged write lost,
// per-key linearizability (porcupine), lists and counters applied exactly once, recovery.
//
// `go test` runs the short tier (a few scenarios, one seed, ~12 s of traffic each);
// REDRAFT_CHAOS=full runs every scenario with the seeds 1,2,3 (or REDRAFT_CHAOS_SEEDS) and
// 30 s of traffic, and prints a summary table.
package chaos

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redraft/redraft/tests/gocase/util"
)

// A scenario injects one fault during the workload and heals it.
type scenario struct {
	name string
	// short: part of the default (CI) run.
	short bool
	mix   mix
	// clientProxies puts a proxy in front of every node's RESP port.
	clientProxies bool
	// fault injects the fault, waits out its duration and heals (calling h.healing as the
	// healing begins: recovery is measured from there); all choices come from rng.
	fault func(h *harness, rng *rand.Rand)
	// opts are extra flags of every node.
	opts map[string]string
	// smallDisk puts every node's data dir on a small tmpfs of its own (h.disks).
	smallDisk bool
	// after, when set, checks at the end that the fault did what it is meant to (h.fail).
	after func(h *harness)
}

var (
	mixDefault = mix{set: 35, get: 35, rpush: 15, incr: 15}
	mixCounter = mix{set: 20, get: 20, rpush: 20, incr: 40}
	mixList    = mix{set: 20, get: 20, rpush: 45, incr: 15}
	mixOnce    = mix{set: 10, get: 10, rpush: 40, incr: 40}
)

// plusOne turns node indexes into node ids.
func plusOne(idx []int) []int {
	out := make([]int, len(idx))
	for i, x := range idx {
		out[i] = x + 1
	}
	return out
}

// nodes is the cluster size: 3, or REDRAFT_CHAOS_NODES (make chaos also runs 5).
func nodes() int {
	if s := os.Getenv("REDRAFT_CHAOS_NODES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 3 {
			panic(fmt.Sprintf("REDRAFT_CHAOS_NODES=%q: a number of nodes, at least 3", s))
		}
		return n
	}
	return 3
}

// between is a random duration in [lo, hi].
func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int63n(int64(hi-lo)+1))
}

var scenarios = []scenario{
	{name: "baseline", short: true, mix: mixDefault, fault: func(h *harness, rng *rand.Rand) {
		h.hist.event("no fault")
		h.healing()
	}},
	{name: "leader-crash", short: true, mix: mixDefault, fault: func(h *harness, rng *rand.Rand) {
		i := h.leaderNode(rng)
		down := between(rng, time.Second, 3*time.Second)
		h.hist.event("SIGKILL node %d (a region leader), restart after %v", i+1, down)
		h.c.Nodes[i].Kill()
		h.hold(i, down, func() {
			h.c.Nodes[i].Restart()
			h.hist.event("node %d restarted", i+1)
		})
	}},
	{name: "leader-isolated", short: true, mix: mixDefault, fault: func(h *harness, rng *rand.Rand) {
		i := h.leaderNode(rng)
		d := between(rng, 2*time.Second, 5*time.Second)
		h.hist.event("blackhole every link of node %d (a region leader) for %v", i+1, d)
		h.net.Isolate(i)
		h.hold(i, d, h.net.Heal)
	}},
	{name: "partition-minority", mix: mixDefault, fault: func(h *harness, rng *rand.Rand) {
		perm := rng.Perm(len(h.c.Nodes))
		d := between(rng, 3*time.Second, 6*time.Second)
		minority, majority := perm[:(len(perm)-1)/2], perm[(len(perm)-1)/2:]
		h.hist.event("partition %v | %v for %v", plusOne(minority), plusOne(majority), d)
		h.net.Partition(minority, majority)
		h.hold(perm[0], d, h.net.Heal)
	}},
	{name: "bridge", mix: mixDefault, fault: func(h *harness, rng *rand.Rand) {
		perm := rng.Perm(len(h.c.Nodes))
		d := between(rng, 4*time.Second, 8*time.Second)
		h.hist.event("bridge: %d and %d cut from each other, both reach %d, for %v", perm[0]+1, perm[1]+1, perm[2]+1, d)
		h.net.Bridge(perm[0], perm[1], perm[2])
		time.Sleep(d)
		h.healing()
		h.net.Heal()
	}},
	{name: "leader-pause", mix: mixDefault, fault: func(h *harness, rng *rand.Rand) {
		i := h.leaderNode(rng)
		d := between(rng, 3*time.Second, 5*time.Second)
		h.hist.event("SIGSTOP node %d (a region leader) for %v", i+1, d)
		h.c.Nodes[i].Pause()
		h.hold(i, d, h.c.Nodes[i].Resume)
	}},
	{name: "flaky", short: true, mix: mixCounter, fault: func(h *harness, rng *rand.Rand) {
		d := between(rng, 4*time.Second, 6*time.Second)
		h.hist.event("every link delayed 75±50 ms with random cuts for %v", d)
		h.net.Delay(75*time.Millisecond, 50*time.Millisecond)
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			time.Sleep(between(rng, 200*time.Millisecond, 700*time.Millisecond))
			perm := rng.Perm(len(h.c.Nodes))
			h.net.CutLink(perm[0], perm[1])
		}
		h.healing()
		h.net.Heal()
	}},
	{name: "rolling-crash", mix: mixList, fault: func(h *harness, rng *rand.Rand) {
		end := time.Now().Add(12 * time.Second)
		h.hist.event("for 12 s: SIGKILL a random node, restart it after 0.3-1.5 s, wait 0.5-2.5 s")
		for {
			i := rng.Intn(len(h.c.Nodes))
			h.hist.event("SIGKILL node %d", i+1)
			h.c.Nodes[i].Kill()
			time.Sleep(between(rng, 300*time.Millisecond, 1500*time.Millisecond))
			last := !time.Now().Before(end)
			if last {
				h.healing()
			}
			h.c.Nodes[i].Restart()
			if last {
				return
			}
			time.Sleep(between(rng, 500*time.Millisecond, 2500*time.Millisecond))
		}
	}},
	{name: "kill-all", mix: mixList, fault: func(h *harness, rng *rand.Rand) {
		down := between(rng, 500*time.Millisecond, 2*time.Second)
		h.hist.event("SIGKILL every node, restart after %v", down)
		for _, s := range h.c.Nodes {
			s.Kill()
		}
		time.Sleep(down)
		h.healing()
		for _, i := range rng.Perm(len(h.c.Nodes)) {
			h.c.Nodes[i].Restart()
		}
	}},
	// A node cut off while the others snapshot and purge the log it needs: it catches up from
	// a snapshot (asserted with its install counter). Its links refuse connections: over a
	// blackholed link the leader's append is in flight until it times out, and a leader never
	// purges a log range a replication is using, so the follower would catch up from the log.
	{name: "snapshot-catchup", short: true, mix: mixDefault, opts: snapshotOpts, fault: func(h *harness, rng *rand.Rand) {
		downWhilePurging(h, rng)
	}, after: snapshotInstalled},
	// The same, and the node is killed while it catches up, then restarted.
	{name: "snapshot-kill", mix: mixDefault, opts: snapshotOpts, fault: func(h *harness, rng *rand.Rand) {
		i := downWhilePurging(h, rng)
		time.Sleep(between(rng, 0, 400*time.Millisecond))
		h.installedBefore = h.info(i, "persistence", "raft_snapshots_installed")
		h.hist.event("SIGKILL node %d while it catches up (%d snapshots installed so far), restart", i+1, h.installedBefore)
		h.c.Nodes[i].Kill()
		time.Sleep(between(rng, 200*time.Millisecond, time.Second))
		h.c.Nodes[i].Restart()
	}, after: snapshotInstalled},
	// A region leader's data dir runs low on space: it refuses writes (MISCONF, never OK) and
	// replication into it until the space is freed, then goes on by itself.
	{name: "disk-full", mix: mixDefault, smallDisk: true, opts: map[string]string{"reserve-disk-space": "48mb"},
		fault: func(h *harness, rng *rand.Rand) {
			i := h.leaderNode(rng)
			d := between(rng, 3*time.Second, 5*time.Second)
			h.hist.event("fill node %d's disk (a region leader) to below its reserve for %v", i+1, d)
			filler := util.FillDisk(h.t, h.disks[i], 24<<20)
			deadline := time.Now().Add(5 * time.Second)
			for h.info(i, "persistence", "disk_low") != 1 {
				if time.Now().After(deadline) {
					h.fail("node %d: disk_low never became 1 with its disk filled", i+1)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(d)
			h.healing()
			if err := os.Remove(filler); err != nil {
				h.fail("remove the filler: %v", err)
			}
		}, after: func(h *harness) {
			// The fault must have reached the clients: writes to the full node's regions refused.
			if n := h.misconf.Load(); n == 0 {
				h.fail("no client was answered MISCONF while a leader's disk was full")
			} else {
				h.t.Logf("%d writes refused with MISCONF (then retried)", n)
			}
		}},
	{name: "client-cut", mix: mixOnce, clientProxies: true, fault: func(h *harness, rng *rand.Rand) {
		d := between(rng, 4*time.Second, 6*time.Second)
		h.hist.event("client sockets cut after a forwarded request (p=0.15) for %v", d)
		for _, p := range h.resp {
			p.CutAfterForward(0.15)
		}
		time.Sleep(d)
		h.healing()
		for _, p := range h.resp {
			p.Pass()
		}
	}},
}

var snapshotOpts = map[string]string{"snapshot-entries": "40"}

// downWhilePurging refuses every link of a random node for 4-6 s, and longer if needed until
// another node has purged the log past its last entry in some region (its /metrics), then
// heals; it returns the node.
func downWhilePurging(h *harness, rng *rand.Rand) int {
	i := rng.Intn(len(h.c.Nodes))
	h.victim = i
	d := between(rng, 4*time.Second, 6*time.Second)
	h.hist.event("refuse every link of node %d for %v while the others purge their logs", i+1, d)
	h.net.Down(i)
	h.faultOn(i)
	time.Sleep(d)
	for deadline := time.Now().Add(30 * time.Second); !h.purgedPast(i) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	h.hist.event("purged past node %d: %v", i+1, h.purgedPast(i))
	h.faultOff()
	h.healing()
	h.net.Heal()
	return i
}

// snapshotInstalled requires the victim to have caught up from a snapshot at least once.
func snapshotInstalled(h *harness) {
	n := h.info(h.victim, "persistence", "raft_snapshots_installed")
	if n < 0 {
		h.fail("node %d does not answer INFO", h.victim+1)
		return
	}
	if h.installedBefore > 0 {
		n += h.installedBefore
	}
	if n < 1 {
		h.fail("node %d installed no snapshot: the scenario did not reach the purged log", h.victim+1)
	} else {
		h.t.Logf("node %d installed %d snapshots", h.victim+1, n)
	}
}

// result is one line of the summary table.
type result struct {
	scenario                string
	seed                    int64
	ops, acked, ambiguous   int
	leaderRec, writeReadRec time.Duration
	failover                time.Duration // -1: not measured or not reached during the fault
	failed                  int
	cut                     int
	ok                      bool
	note                    string
}

var (
	resultsMu sync.Mutex
	results   []result
)

// workers is the number of concurrent clients; the first three send every operation first
// to node 1, 2 and 3 respectively (with a 10 s timeout), the others to the leader they last
// saw (3 s).
const workers = 6

func runScenario(t *testing.T, sc scenario, seed int64, traffic time.Duration) {
	rng := rand.New(rand.NewSource(seed))
	h := newHarness(t, seed, sc)
	res := result{scenario: sc.name, seed: seed, failover: -1}
	defer func() {
		res.ok = !t.Failed()
		resultsMu.Lock()
		results = append(results, res)
		resultsMu.Unlock()
	}()
	h.startWorkers(workers, sc.mix)
	t0 := time.Now()
	time.Sleep(traffic / 4)
	sc.fault(h, rng)
	h.hist.event("healed")
	if h.failover != nil {
		res.failover = <-h.failover
		if res.failover >= 0 {
			t.Logf("the other nodes agreed on new leaders for every region %v after the fault began", res.failover)
		} else {
			t.Logf("the other nodes did not agree on new leaders for every region while the fault lasted")
		}
	}
	var failures []string
	leader, writeRead, err := h.recovery()
	res.leaderRec, res.writeReadRec = leader, writeRead
	if err != nil {
		failures = append(failures, "recovery: "+err.Error())
	} else {
		t.Logf("recovery after healing: leaders agreed in %v, write+read on every key's slot in %v", leader, writeRead)
		h.hist.event("recovered: leaders %v, write+read %v", leader, writeRead)
	}
	if rest := traffic - time.Since(t0); rest > 0 {
		time.Sleep(rest)
	}
	h.stopWorkers()
	if err == nil {
		if err := h.finalReads(); err != nil {
			failures = append(failures, err.Error())
		}
	}
	if sc.after != nil {
		sc.after(h)
	}
	h.checkMu.Lock()
	failures = append(failures, h.checks...)
	h.checkMu.Unlock()
	for i, s := range h.c.Nodes {
		if !h.isRunning(s) {
			failures = append(failures, fmt.Sprintf("node %d is not running at the end", i+1))
		}
	}
	ops := h.hist.Ops()
	res.ops, res.acked, res.ambiguous, res.failed = counts(ops)
	h.errMu.Lock()
	t.Logf("%d operations: %d acknowledged, %d ambiguous (%v), %d surely not applied", res.ops, res.acked, res.ambiguous, h.errs, res.failed)
	h.errMu.Unlock()
	for _, p := range h.resp {
		_, c := p.Stats()
		res.cut += c
	}
	if res.acked == 0 {
		failures = append(failures, "no operation was acknowledged")
	}
	if err == nil {
		failures = append(failures, checkAll(ops)...)
	}
	if len(failures) > 0 {
		res.note = failures[0]
		path, serr := h.hist.save(sc.name, seed, failures)
		if serr != nil {
			t.Logf("could not save the history: %v", serr)
		}
		t.Errorf("scenario %s seed %d: %d failures (history and seed saved to %s):\n%s",
			sc.name, seed, len(failures), path, summarize(failures, 20))
	}
	if leader > recoveryBound || writeRead > recoveryBound {
		t.Errorf("recovery took longer than %v", recoveryBound)
	}
}

func seeds(full bool) []int64 {
	if s := os.Getenv("REDRAFT_CHAOS_SEEDS"); s != "" {
		var out []int64
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				panic(fmt.Sprintf("REDRAFT_CHAOS_SEEDS: %v", err))
			}
			out = append(out, n)
		}
		return out
	}
	if full {
		return []int64{1, 2, 3}
	}
	return []int64{1}
}

func TestChaos(t *testing.T) {
	full := os.Getenv("REDRAFT_CHAOS") == "full"
	traffic := 12 * time.Second
	if full {
		traffic = 30 * time.Second
	}
	if s := os.Getenv("REDRAFT_CHAOS_TRAFFIC"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("REDRAFT_CHAOS_TRAFFIC: %v", err)
		}
		traffic = d
	}
	for _, sc := range scenarios {
		if !full && !sc.short {
			continue
		}
		for _, seed := range seeds(full) {
			t.Run(fmt.Sprintf("%s/seed=%d", sc.name, seed), func(t *testing.T) {
				runScenario(t, sc, seed, traffic)
			})
		}
	}
	printSummary(t)
}

func printSummary(t *testing.T) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-20s %5s %7s %7s %9s %6s %10s %9s %12s %6s  %s\n", "scenario", "seed", "ops", "acked", "ambiguous", "failed",
		"failover s", "leader s", "write+read s", "result", "first failure")
	for _, r := range results {
		verdict := "PASS"
		if !r.ok {
			verdict = "FAIL"
		}
		fo := "-"
		if r.failover >= 0 {
			fo = fmt.Sprintf("%.2f", r.failover.Seconds())
		}
		fmt.Fprintf(&b, "%-20s %5d %7d %7d %9d %6d %10s %9.2f %12.2f %6s  %s\n", r.scenario, r.seed, r.ops, r.acked, r.ambiguous, r.failed,
			fo, r.leaderRec.Seconds(), r.writeReadRec.Seconds(), verdict, r.note)
	}
	t.Log(b.String())
	fmt.Print(b.String())
}
