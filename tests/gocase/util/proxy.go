package util

import (
	"fmt"
	"math/rand"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a userspace TCP proxy in front of one address (a peer's gRPC port, or a node's RESP
// port) that the test controls: it forwards (pass), holds every byte in both directions while
// keeping the sockets open (blackhole, as a network partition: TCP neither delivers nor fails),
// delays each chunk (fixed + jitter, order kept), closes the current connections (cut), or
// closes a client connection right after forwarding one of its requests (CutAfterForward).
type Proxy struct {
	ln     net.Listener
	target string

	mu        sync.Mutex
	cond      *sync.Cond
	blackhole bool
	refuse    bool
	delay     time.Duration
	jitter    time.Duration
	cutProb   float64
	rng       *rand.Rand
	conns     map[*proxyConn]struct{}
	closed    bool
	accepted  int
	cuts      int
	wg        sync.WaitGroup
}

type proxyConn struct {
	client, server net.Conn // server is guarded by Proxy.mu
	dead           bool     // guarded by Proxy.mu
	mute           bool     // nothing more is forwarded to the client; guarded by Proxy.mu
}

// closeConn closes both sockets of pc and wakes its goroutines held by a blackhole.
func (p *Proxy) closeConn(pc *proxyConn) {
	p.mu.Lock()
	already := pc.dead
	pc.dead = true
	server := pc.server
	p.cond.Broadcast()
	p.mu.Unlock()
	if already {
		return
	}
	_ = pc.client.Close()
	if server != nil {
		_ = server.Close()
	}
}

// NewProxy listens on a free loopback port and forwards every accepted connection to target.
// It is closed at the end of the test.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[*proxyConn]struct{}{}, rng: rand.New(rand.NewSource(1))}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.acceptLoop()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's listen address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Seed makes the proxy's random choices (jitter, CutAfterForward) derive from seed.
func (p *Proxy) Seed(seed int64) {
	p.mu.Lock()
	p.rng = rand.New(rand.NewSource(seed))
	p.mu.Unlock()
}

// Pass forwards everything again, without delay or cuts; bytes held by a blackhole flow on.
func (p *Proxy) Pass() {
	p.mu.Lock()
	p.blackhole, p.refuse = false, false
	p.delay, p.jitter, p.cutProb = 0, 0, 0
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Blackhole stops forwarding in both directions; sockets stay open and new connections are
// accepted but get nothing through, until Pass.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	p.blackhole = true
	p.mu.Unlock()
}

// Refuse closes every current connection and each new one at once, until Pass: the peer is
// down or rejects the traffic (a connection error at once, where a blackhole makes the
// sender wait for its timeout).
func (p *Proxy) Refuse() {
	p.mu.Lock()
	p.refuse = true
	p.mu.Unlock()
	p.Cut()
}

// Blackholed reports whether the proxy holds traffic.
func (p *Proxy) Blackholed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blackhole
}

// Delay holds each chunk for fixed ± a uniform jitter (never below 0), keeping the order of a
// connection's bytes.
func (p *Proxy) Delay(fixed, jitter time.Duration) {
	p.mu.Lock()
	p.delay, p.jitter = fixed, jitter
	p.mu.Unlock()
}

// CutAfterForward makes the proxy close a connection, with probability prob, right after it
// forwarded a chunk from the client to the target (a request sent, its reply never seen).
func (p *Proxy) CutAfterForward(prob float64) {
	p.mu.Lock()
	p.cutProb = prob
	p.mu.Unlock()
}

// Cut closes every current connection; new connections are accepted as before.
func (p *Proxy) Cut() {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.cuts += len(conns)
	p.mu.Unlock()
	for _, c := range conns {
		p.closeConn(c)
	}
}

// Stats is how many connections the proxy accepted and how many it cut.
func (p *Proxy) Stats() (accepted, cuts int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted, p.cuts
}

// Close stops listening and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.blackhole = false
	p.cond.Broadcast()
	p.mu.Unlock()
	_ = p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		pc := &proxyConn{client: c}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			return
		}
		if p.refuse {
			p.accepted++
			p.cuts++
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns[pc] = struct{}{}
		p.accepted++
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(pc)
	}
}

func (p *Proxy) serve(pc *proxyConn) {
	defer p.wg.Done()
	defer func() {
		p.closeConn(pc)
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
	}()
	// A blackholed link does not connect through either: wait before dialling.
	if !p.waitOpen(pc) {
		return
	}
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	pc.server = s
	dead := pc.dead
	p.mu.Unlock()
	if dead {
		_ = s.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.pump(pc, pc.client, s, true); done <- struct{}{} }()
	go func() { p.pump(pc, s, pc.client, false); done <- struct{}{} }()
	<-done
	p.closeConn(pc)
	<-done
}

// waitOpen blocks while the proxy is blackholed; false once the proxy or pc is closed.
func (p *Proxy) waitOpen(pc *proxyConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.blackhole && !p.closed && !pc.dead && !pc.mute {
		p.cond.Wait()
	}
	return !p.closed && !pc.dead && !pc.mute
}

type chunk struct {
	b  []byte
	at time.Time
}

// pump copies src to dst chunk by chunk, holding chunks while blackholed and until their
// delivery time when delayed; a reader and a writer goroutine, so delay adds latency only.
func (p *Proxy) pump(pc *proxyConn, src, dst net.Conn, fromClient bool) {
	q := make(chan chunk, 1024)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for c := range q {
			if d := time.Until(c.at); d > 0 {
				time.Sleep(d)
			}
			if !p.waitOpen(pc) {
				p.closeConn(pc)
				return
			}
			// The cut is decided before the request goes out, so no reply slips back.
			cut := fromClient && p.shouldCut(pc)
			if _, err := dst.Write(c.b); err != nil || cut {
				p.closeConn(pc)
				return
			}
		}
	}()
	var last time.Time
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			at := time.Now().Add(p.chunkDelay())
			if at.Before(last) {
				at = last
			}
			last = at
			select {
			case q <- chunk{b: buf[:n], at: at}:
			case <-writerDone:
				return
			}
		}
		if err != nil {
			close(q)
			<-writerDone
			return
		}
	}
}

func (p *Proxy) chunkDelay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.delay
	if p.jitter > 0 {
		d += time.Duration(p.rng.Int63n(int64(2*p.jitter+1))) - p.jitter
	}
	if d < 0 {
		d = 0
	}
	return d
}

// shouldCut draws whether to cut pc after its next request; if so, pc is muted at once.
func (p *Proxy) shouldCut(pc *proxyConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cutProb > 0 && p.rng.Float64() < p.cutProb {
		p.cuts++
		pc.mute = true
		p.cond.Broadcast()
		return true
	}
	return false
}

// Net is a proxy for every directed peer link of an n-node cluster: Link(i, j) carries node
// i's connection to node j (i's requests and j's replies). Nodes are numbered from 0.
type Net struct {
	n     int
	links [][]*Proxy
}

// NewNet creates the n*(n-1) link proxies; targets[j] is node j's real peer address.
func NewNet(t testing.TB, targets []string) *Net {
	t.Helper()
	n := len(targets)
	nw := &Net{n: n, links: make([][]*Proxy, n)}
	for i := 0; i < n; i++ {
		nw.links[i] = make([]*Proxy, n)
		for j := 0; j < n; j++ {
			if i != j {
				nw.links[i][j] = NewProxy(t, targets[j])
			}
		}
	}
	return nw
}

// Link is the proxy node i dials to reach node j.
func (nw *Net) Link(i, j int) *Proxy { return nw.links[i][j] }

// Seed derives every link's random choices from seed.
func (nw *Net) Seed(seed int64) {
	for _, p := range nw.all() {
		seed++
		p.Seed(seed)
	}
}

func (nw *Net) all() []*Proxy {
	var out []*Proxy
	for i := range nw.links {
		for j := range nw.links[i] {
			if i != j {
				out = append(out, nw.links[i][j])
			}
		}
	}
	return out
}

// Sever blackholes both directions between nodes i and j.
func (nw *Net) Sever(i, j int) {
	nw.links[i][j].Blackhole()
	nw.links[j][i].Blackhole()
}

// Isolate severs node i from every other node.
func (nw *Net) Isolate(i int) {
	for j := 0; j < nw.n; j++ {
		if j != i {
			nw.Sever(i, j)
		}
	}
}

// Down refuses every link to and from node i (see Proxy.Refuse).
func (nw *Net) Down(i int) {
	for j := 0; j < nw.n; j++ {
		if j != i {
			nw.links[i][j].Refuse()
			nw.links[j][i].Refuse()
		}
	}
}

// Partition severs every pair of nodes that are not in the same group; nodes in no group are
// cut off from everyone.
func (nw *Net) Partition(groups ...[]int) {
	group := make([]int, nw.n)
	for i := range group {
		group[i] = -1 - i
	}
	for g, members := range groups {
		for _, m := range members {
			group[m] = g
		}
	}
	for i := 0; i < nw.n; i++ {
		for j := i + 1; j < nw.n; j++ {
			if group[i] != group[j] {
				nw.Sever(i, j)
			}
		}
	}
}

// Bridge is the non-transitive partition: a and b cannot reach each other, and both reach
// bridge (and the rest of the nodes, if any, reach everyone).
func (nw *Net) Bridge(a, b, bridge int) {
	if a == b || a == bridge || b == bridge {
		panic(fmt.Sprintf("Bridge(%d, %d, %d): three distinct nodes", a, b, bridge))
	}
	nw.Sever(a, b)
}

// Delay delays every link (see Proxy.Delay).
func (nw *Net) Delay(fixed, jitter time.Duration) {
	for _, p := range nw.all() {
		p.Delay(fixed, jitter)
	}
}

// CutLink closes the current connections of both directions between i and j.
func (nw *Net) CutLink(i, j int) {
	nw.links[i][j].Cut()
	nw.links[j][i].Cut()
}

// Heal makes every link pass again (no blackhole, no delay, no cuts).
func (nw *Net) Heal() {
	for _, p := range nw.all() {
		p.Pass()
	}
}
