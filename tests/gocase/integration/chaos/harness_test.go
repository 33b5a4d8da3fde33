package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redraft/redraft/tests/gocase/util"
)

const (
	// recoveryBound is what the test asserts for leader and write+read recovery after healing
	// (targets: 5 s and 10 s; the machine is shared).
	recoveryBound = 30 * time.Second
	// opBudget is how long one operation keeps retrying answers that guarantee nothing was
	// applied (MOVED, CLUSTERDOWN, TRYAGAIN, connection refused) before it gives up.
	opBudget = 10 * time.Second
	// clientTimeout is the per-request read/write timeout of most workload clients; a request
	// that times out is ambiguous.
	clientTimeout = 3 * time.Second
	// pinnedTimeout is that of the pinned clients: long enough to get the server's own answer
	// for a write it could not commit (UNCERTAIN) instead of a client timeout.
	pinnedTimeout = 10 * time.Second
)

// mix is the weight of each operation kind in a workload.
type mix struct{ set, get, rpush, incr int }

// workload keys: registers (SET/GET), lists (RPUSH) and counters (INCR), spread so that every
// region holds some of each.
type keys struct {
	registers, lists, counters []string
}

func newKeys() keys {
	var k keys
	for i := 0; i < 12; i++ {
		k.registers = append(k.registers, util.KeyInSlot((i*16384/12+101)%16384, "reg"+strconv.Itoa(i)))
	}
	for i := 0; i < 6; i++ {
		k.lists = append(k.lists, util.KeyInSlot((i*16384/6+1301)%16384, "list"+strconv.Itoa(i)))
		k.counters = append(k.counters, util.KeyInSlot((i*16384/6+2203)%16384, "ctr"+strconv.Itoa(i)))
	}
	return k
}

func (k keys) all() []string {
	var out []string
	out = append(out, k.registers...)
	out = append(out, k.lists...)
	return append(out, k.counters...)
}

// harness is one cluster under test: nodes() nodes, every peer link through a proxy, and (for
// client faults) a proxy in front of every node's RESP port.
type harness struct {
	t     *testing.T
	c     *util.Cluster
	net   *util.Net
	resp  map[string]*util.Proxy // node RESP address -> client proxy, when clients go through one
	hist  *History
	keys  keys
	seed  int64
	stop  atomic.Bool
	wg    sync.WaitGroup
	opsN  atomic.Int64
	errMu sync.Mutex
	errs  map[string]int // ambiguous error messages (first words) and how often
	// failover, set by faultOn, yields the failover time measured during the fault.
	failover  <-chan time.Duration
	faultDone chan struct{}
	healedAt  time.Time
	// disks[i] is node i's data dir, a small tmpfs of its own (scenarios with smallDisk).
	disks []string
	// victim is the node a snapshot scenario cut off; installedBefore its snapshot install
	// count read just before it was killed (0: not killed).
	victim          int
	installedBefore int64
	// misconf counts MISCONF answers (writes refused for lack of disk space).
	misconf atomic.Int64
	// checks are failures a scenario found about its own fault (e.g. the fault did not take).
	checkMu sync.Mutex
	checks  []string
}

// smallDiskBytes is the tmpfs size of a smallDisk scenario's nodes (RocksDB preallocates ~70
// MB of WAL at start).
const smallDiskBytes = 256 << 20

// fail records a scenario-specific failure.
func (h *harness) fail(format string, args ...interface{}) {
	h.checkMu.Lock()
	defer h.checkMu.Unlock()
	h.checks = append(h.checks, fmt.Sprintf(format, args...))
}

// info reads a numeric field of node i's INFO (-1 when the node does not answer).
func (h *harness) info(i int, section, field string) int64 {
	c := redis.NewClient(&redis.Options{Addr: h.c.Nodes[i].Addr(), MaxRetries: -1, DialTimeout: time.Second,
		ReadTimeout: 2 * time.Second, DisableIdentity: true})
	defer c.Close()
	s, err := c.Info(context.Background(), section).Result()
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// healing marks the moment the fault starts to heal (a restart begins, links pass again).
func (h *harness) healing() {
	h.healedAt = time.Now()
	h.hist.event("healing")
}

// faultOn starts measuring how long the other nodes take to lead every region without victim.
func (h *harness) faultOn(victim int) {
	h.faultDone = make(chan struct{})
	h.failover = h.watchFailover(victim, h.faultDone)
}

// faultOff ends that measurement (the fault is about to heal).
func (h *harness) faultOff() { close(h.faultDone) }

// hold keeps the fault on victim for d while measuring failover, then heals it with heal
// (recovery is measured from there).
func (h *harness) hold(victim int, d time.Duration, heal func()) {
	h.faultOn(victim)
	time.Sleep(d)
	h.faultOff()
	h.healing()
	heal()
}

func newHarness(t *testing.T, seed int64, sc scenario) *harness {
	clientProxies := sc.clientProxies
	var prepare func(i int, dataDir string)
	var disks []string
	if sc.smallDisk {
		prepare = func(i int, dataDir string) {
			util.SmallDisk(t, dataDir, smallDiskBytes)
			disks = append(disks, dataDir)
		}
	}
	c, nw := util.StartProxiedClusterPrepared(t, nodes(), sc.opts, prepare)
	nw.Seed(seed)
	h := &harness{t: t, c: c, net: nw, hist: newHistory(), keys: newKeys(), seed: seed, errs: map[string]int{}, disks: disks}
	// Every node leads some region (WaitReady), so it has dialled every peer, and only
	// through the proxies: a fault on a link then reaches the Raft traffic.
	for i := range c.Nodes {
		for j := range c.Nodes {
			if i != j {
				if accepted, _ := nw.Link(i, j).Stats(); accepted == 0 {
					t.Fatalf("node %d never connected to node %d through its proxy", i+1, j+1)
				}
			}
		}
	}
	if clientProxies {
		h.resp = map[string]*util.Proxy{}
		for i, s := range c.Nodes {
			p := util.NewProxy(t, s.Addr())
			p.Seed(seed*100 + int64(i))
			h.resp[s.Addr()] = p
		}
	}
	return h
}

// dialAddr is where a client connects to reach the node whose RESP address is addr.
func (h *harness) dialAddr(addr string) string {
	if p, ok := h.resp[addr]; ok {
		return p.Addr()
	}
	return addr
}

// router is one workload client: a plain go-redis client per node with retries off, and its
// own slot -> leader cache filled from MOVED answers.
type router struct {
	h       *harness
	id      int
	rng     *rand.Rand
	clients map[string]*redis.Client
	leader  map[int]string
	// pin, when set, is the node every operation is first sent to (MOVED is followed from
	// there): a client that keeps asking a node cut off from the others, as a stale reader.
	pin string
}

func (h *harness) newRouter(id int, seed int64) *router {
	return &router{h: h, id: id, rng: rand.New(rand.NewSource(seed)), clients: map[string]*redis.Client{}, leader: map[int]string{}}
}

func (r *router) client(addr string) *redis.Client {
	if c, ok := r.clients[addr]; ok {
		return c
	}
	timeout := clientTimeout
	if r.pin != "" {
		timeout = pinnedTimeout
	}
	c := redis.NewClient(&redis.Options{
		Addr:        r.h.dialAddr(addr),
		Protocol:    2,
		MaxRetries:  -1,
		PoolSize:    1,
		DialTimeout: time.Second,
		// A refused dial is safe to retry (nothing sent), but the router picks the next node.
		DialerRetries:      1,
		DialerRetryTimeout: 20 * time.Millisecond,
		ReadTimeout:        timeout,
		WriteTimeout:       timeout,
		DisableIdentity:    true,
	})
	r.clients[addr] = c
	return c
}

func (r *router) close() {
	for _, c := range r.clients {
		_ = c.Close()
	}
}

func (r *router) randomNode() string {
	nodes := r.h.c.Nodes
	return nodes[r.rng.Intn(len(nodes))].Addr()
}

// notApplied reports whether err guarantees the command was not applied, and where to send
// it next ("" = same node after a pause).
func (r *router) notApplied(err error, addr string) (bool, string) {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "MOVED "):
		f := strings.Fields(msg)
		if len(f) == 3 {
			return true, f[2]
		}
	case strings.HasPrefix(msg, "CLUSTERDOWN"), strings.HasPrefix(msg, "TRYAGAIN"):
		return true, ""
	case strings.HasPrefix(msg, "MISCONF"):
		// Refused before proposing: the data dir is low on space.
		r.h.misconf.Add(1)
		return true, ""
	case strings.Contains(msg, "connect: connection refused"):
		// The dial failed: nothing was sent. Try another node.
		for {
			if n := r.randomNode(); n != addr {
				return true, n
			}
		}
	}
	return false, ""
}

// do runs one command for the key's slot: it follows MOVED and waits out CLUSTERDOWN/TRYAGAIN
// and refused dials (all guarantee nothing was applied) for up to opBudget; any other error is
// returned as ambiguous. It never resends a command that may have been applied.
func (r *router) do(ctx context.Context, key string, args ...interface{}) (interface{}, string, error) {
	slot := util.KeySlot(key)
	addr, ok := r.leader[slot]
	if !ok {
		addr = r.randomNode()
	}
	if r.pin != "" {
		addr = r.pin
	}
	deadline := time.Now().Add(opBudget)
	var last error
	moved := 0
	for time.Now().Before(deadline) {
		res, err := r.client(addr).Do(ctx, args...).Result()
		if err == nil || errors.Is(err, redis.Nil) {
			r.leader[slot] = addr
			return res, StatusOK, err
		}
		last = err
		safe, next := r.notApplied(err, addr)
		if !safe {
			delete(r.leader, slot)
			return nil, StatusAmbiguous, err
		}
		if next != "" {
			addr = next
			r.leader[slot] = addr
		}
		// A first MOVED is followed at once; more in a row (nodes that disagree while
		// leadership moves) and the other answers are retried after a pause.
		moved++
		if !strings.HasPrefix(err.Error(), "MOVED ") {
			moved = 0
		}
		if moved != 1 {
			time.Sleep(time.Duration(20+r.rng.Intn(40)) * time.Millisecond)
		}
	}
	return nil, StatusFail, last
}

// worker runs random operations from m until the harness stops, recording each.
func (h *harness) worker(id int, m mix) {
	defer h.wg.Done()
	r := h.newRouter(id, h.seed*1000+int64(id))
	if id < len(h.c.Nodes) {
		r.pin = h.c.Nodes[id].Addr()
	}
	defer r.close()
	ctx := context.Background()
	total := m.set + m.get + m.rpush + m.incr
	for seq := 0; !h.stop.Load(); seq++ {
		n := r.rng.Intn(total)
		op := Op{Client: id}
		var args []interface{}
		switch {
		case n < m.set:
			op.Kind, op.Key, op.Value = "set", h.keys.registers[r.rng.Intn(len(h.keys.registers))], fmt.Sprintf("c%d-%d", id, seq)
			args = []interface{}{"SET", op.Key, op.Value}
		case n < m.set+m.get:
			op.Kind, op.Key = "get", h.keys.registers[r.rng.Intn(len(h.keys.registers))]
			args = []interface{}{"GET", op.Key}
		case n < m.set+m.get+m.rpush:
			op.Kind, op.Key, op.Value = "rpush", h.keys.lists[r.rng.Intn(len(h.keys.lists))], fmt.Sprintf("c%d-%d", id, seq)
			args = []interface{}{"RPUSH", op.Key, op.Value}
		default:
			op.Kind, op.Key = "incr", h.keys.counters[r.rng.Intn(len(h.keys.counters))]
			args = []interface{}{"INCR", op.Key}
		}
		op.Call = h.hist.now()
		res, status, err := r.do(ctx, op.Key, args...)
		op.Return = h.hist.now()
		op.Status = status
		if err != nil && !errors.Is(err, redis.Nil) {
			op.Err = err.Error()
			if status == StatusAmbiguous {
				h.noteErr(err)
			}
		}
		if status == StatusOK {
			h.record(&op, res, err)
		}
		if status == StatusAmbiguous && op.Kind == "get" {
			continue // an unanswered read tells nothing
		}
		h.hist.add(op)
		h.opsN.Add(1)
	}
}

// record stores a successful reply in op.
func (h *harness) record(op *Op, res interface{}, err error) {
	switch op.Kind {
	case "get":
		if errors.Is(err, redis.Nil) {
			op.Nil = true
		} else {
			op.Result = fmt.Sprint(res)
		}
	case "rpush", "incr":
		if n, ok := res.(int64); ok {
			op.Int = n
		}
		op.Result = fmt.Sprint(res)
	case "lrange":
		if l, ok := res.([]interface{}); ok {
			for _, e := range l {
				op.Elements = append(op.Elements, fmt.Sprint(e))
			}
		}
	}
}

func (h *harness) noteErr(err error) {
	msg := err.Error()
	f := strings.Fields(msg)
	switch {
	case strings.HasPrefix(msg, "UNCERTAIN"):
		msg = "UNCERTAIN"
	case strings.Contains(msg, "i/o timeout"):
		msg = "i/o timeout"
	case len(f) > 0 && strings.Contains(msg, ": "):
		msg = msg[strings.LastIndex(msg, ": ")+2:]
	}
	h.errMu.Lock()
	h.errs[msg]++
	h.errMu.Unlock()
}

// quietLogger drops go-redis' own log lines (refused dials while a node is down are expected).
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...interface{}) {}

func init() { redis.SetLogger(quietLogger{}) }

// startWorkers starts n workload clients; they are stopped at the latest when the test ends.
func (h *harness) startWorkers(n int, m mix) {
	h.t.Cleanup(h.stopWorkers)
	for i := 0; i < n; i++ {
		h.wg.Add(1)
		go h.worker(i, m)
	}
}

// stopWorkers waits for every client to finish its current operation.
func (h *harness) stopWorkers() {
	h.stop.Store(true)
	h.wg.Wait()
}

// regionView is a region as one node's admin port shows it.
type regionView struct {
	ID     uint64  `json:"id"`
	Leader *uint64 `json:"leader"`
	Term   uint64  `json:"term"`
}

func (h *harness) regions(i int) ([]regionView, error) {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/cluster", h.c.AdminPorts[i]))
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var v struct {
		Regions []regionView `json:"regions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, err
	}
	return v.Regions, nil
}

// leadersAgreed reports whether every node is running and every node hosting a region (all
// of them in a 3-node cluster; 3 of 5 in a 5-node one) shows the same leader (a running node)
// and term for it.
func (h *harness) leadersAgreed() (bool, string) {
	type lt struct{ leader, term uint64 }
	first := map[uint64]lt{}
	from := map[uint64]int{}
	for i, s := range h.c.Nodes {
		if !h.isRunning(s) {
			return false, fmt.Sprintf("node %d not running", i+1)
		}
		rs, err := h.regions(i)
		if err != nil {
			return false, fmt.Sprintf("node %d: %v", i+1, err)
		}
		if len(rs) == 0 {
			return false, fmt.Sprintf("node %d: no regions", i+1)
		}
		for _, r := range rs {
			if r.Leader == nil {
				return false, fmt.Sprintf("node %d: region %d has no leader", i+1, r.ID)
			}
			v := lt{*r.Leader, r.Term}
			f, seen := first[r.ID]
			if !seen {
				first[r.ID], from[r.ID] = v, i
				continue
			}
			if f != v {
				return false, fmt.Sprintf("region %d: node %d says leader %d term %d, node %d says leader %d term %d",
					r.ID, from[r.ID]+1, f.leader, f.term, i+1, v.leader, v.term)
			}
		}
	}
	// The node everyone names is in the leader state (not just remembered as the leader of
	// the last term, as a restarted node's view can be).
	named := map[int]int{}
	for _, v := range first {
		named[int(v.leader)-1]++
	}
	for i := range h.c.Nodes {
		n, err := h.leading(i)
		if err != nil {
			return false, fmt.Sprintf("node %d: %v", i+1, err)
		}
		if n != named[i] {
			return false, fmt.Sprintf("node %d is leader of %d regions, named leader of %d", i+1, n, named[i])
		}
	}
	return true, ""
}

// leading is how many regions node i is the Raft leader of (its /health).
func (h *harness) leading(i int) (int, error) {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/health", h.c.AdminPorts[i]))
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	var v struct {
		Status  string `json:"status"`
		Leaders int    `json:"leaders"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return 0, err
	}
	if v.Status != "ok" {
		return 0, fmt.Errorf("health %q", v.Status)
	}
	return v.Leaders, nil
}

// raftGauge reads a per-region gauge of node i's /metrics: region id -> value.
func (h *harness) raftGauge(i int, name string) map[string]int64 {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", h.c.AdminPorts[i]))
	if err != nil {
		return nil
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil
	}
	out := map[string]int64{}
	prefix := name + `{region="`
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		id, val, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64); err == nil {
			out[id] = n
		}
	}
	return out
}

// purgedPast reports whether another node, leading some region the victim hosts, has purged the
// log beyond the victim's last entry: the victim can then only catch up from a snapshot.
func (h *harness) purgedPast(victim int) bool {
	last := h.raftGauge(victim, "redraft_raft_last_log_index")
	for j := range h.c.Nodes {
		if j == victim {
			continue
		}
		// On the region's leader: a follower that purged does not make the leader send a
		// snapshot (the leader may still hold the entries).
		leads := h.raftGauge(j, "redraft_raft_is_leader")
		for region, purged := range h.raftGauge(j, "redraft_raft_purged_index") {
			if l, ok := last[region]; ok && purged > l && leads[region] == 1 {
				return true
			}
		}
	}
	return false
}

func (h *harness) isRunning(s *util.Server) bool {
	for _, r := range h.c.Running() {
		if r == s {
			return true
		}
	}
	return false
}

// leaderOfMost is a node (index) that leads at least one region, chosen by rng.
func (h *harness) leaderNode(rng *rand.Rand) int {
	h.t.Helper()
	deadline := time.Now().Add(recoveryBound)
	for time.Now().Before(deadline) {
		rs, err := h.regions(0)
		if err == nil {
			var ids []int
			seen := map[int]bool{}
			for _, r := range rs {
				if r.Leader != nil && !seen[int(*r.Leader)] {
					seen[int(*r.Leader)] = true
					ids = append(ids, int(*r.Leader)-1)
				}
			}
			if len(ids) > 0 {
				sort.Ints(ids)
				return ids[rng.Intn(len(ids))]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.t.Fatalf("no region leader known within %v", recoveryBound)
	return 0
}

// watchFailover polls, from now until done is closed, for the nodes other than victim to
// agree on a leader other than victim for every region; it returns how long that took, or -1
// if it did not happen before done.
func (h *harness) watchFailover(victim int, done <-chan struct{}) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		for {
			if h.failedOver(victim) {
				out <- time.Since(start)
				return
			}
			select {
			case <-done:
				out <- -1
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return out
}

func (h *harness) failedOver(victim int) bool {
	type lt struct{ leader, term uint64 }
	first := map[uint64]lt{}
	for i := range h.c.Nodes {
		if i == victim {
			continue
		}
		rs, err := h.regions(i)
		if err != nil || len(rs) == 0 {
			return false
		}
		for _, r := range rs {
			if r.Leader == nil || int(*r.Leader)-1 == victim {
				return false
			}
			v := lt{*r.Leader, r.Term}
			if f, seen := first[r.ID]; seen && f != v {
				return false
			}
			first[r.ID] = v
		}
	}
	return true
}

// recovery measures, from the start of the healing, how long until every region has an agreed
// leader, and until a write plus a read succeeds in the slot of every workload key (on a
// probe key of the same slot, so the workload's history is untouched).
func (h *harness) recovery() (leader, writeRead time.Duration, err error) {
	start := h.healedAt
	if start.IsZero() {
		return 0, 0, fmt.Errorf("the scenario did not mark its healing")
	}
	var why string
	for {
		ok, w := h.leadersAgreed()
		if ok {
			leader = time.Since(start)
			break
		}
		why = w
		if time.Since(start) > recoveryBound {
			return 0, 0, fmt.Errorf("no agreed leader for every region %v after healing: %s", recoveryBound, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := h.newRouter(-1, h.seed)
	defer r.close()
	ctx := context.Background()
	for i, k := range h.keys.all() {
		probe := util.KeyInSlot(util.KeySlot(k), "probe")
		v := fmt.Sprintf("p%d-%d", i, time.Now().UnixNano())
		for {
			_, st, err := r.do(ctx, probe, "SET", probe, v)
			if st == StatusOK {
				got, st2, err2 := r.do(ctx, probe, "GET", probe)
				if st2 == StatusOK && err2 == nil && got == v {
					break
				}
				err = fmt.Errorf("GET %s: %v %v", probe, got, err2)
			}
			if time.Since(start) > recoveryBound {
				return leader, 0, fmt.Errorf("write+read on the slot of %s not done %v after healing: %v", k, recoveryBound, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return leader, time.Since(start), nil
}

// finalReads reads every key once the cluster has recovered (reads may be retried: they
// change nothing) and adds them to the history.
func (h *harness) finalReads() error {
	r := h.newRouter(-2, h.seed)
	defer r.close()
	ctx := context.Background()
	read := func(kind, key string, args ...interface{}) error {
		deadline := time.Now().Add(recoveryBound)
		for {
			op := Op{Client: -2, Kind: kind, Key: key, Final: true, Call: h.hist.now()}
			res, st, err := r.do(ctx, key, args...)
			op.Return = h.hist.now()
			if st == StatusOK {
				op.Status = StatusOK
				h.record(&op, res, err)
				h.hist.add(op)
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("final %s %s: %v", kind, key, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, k := range h.keys.registers {
		if err := read("get", k, "GET", k); err != nil {
			return err
		}
	}
	for _, k := range h.keys.counters {
		if err := read("get", k, "GET", k); err != nil {
			return err
		}
	}
	for _, k := range h.keys.lists {
		if err := read("lrange", k, "LRANGE", k, 0, -1); err != nil {
			return err
		}
	}
	return nil
}

// counts is the number of operations, acknowledged, ambiguous and failed, in the workload.
func counts(ops []Op) (total, acked, ambiguous, failed int) {
	for _, op := range ops {
		if op.Final {
			continue
		}
		total++
		switch op.Status {
		case StatusOK:
			acked++
		case StatusAmbiguous:
			ambiguous++
		case StatusFail:
			failed++
		}
	}
	return
}
