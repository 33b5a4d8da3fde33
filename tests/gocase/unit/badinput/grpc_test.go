package badinput

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redraft/redraft/tests/gocase/util"
	"github.com/stretchr/testify/require"
)

// pbVarint, pbBytes and pbUint encode protobuf fields (enough for the requests below).
func pbVarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func pbBytes(field int, v []byte) []byte {
	b := pbVarint(nil, uint64(field)<<3|2)
	b = pbVarint(b, uint64(len(v)))
	return append(b, v...)
}

func pbUint(field int, v uint64) []byte { return pbVarint(pbVarint(nil, uint64(field)<<3), v) }

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

const missingRegion = 987654

// Well-formed requests for a region that does not exist (Join has no region: it claims an
// existing node id with another identity).
func wellFormed(method string) []byte {
	vote := pbBytes(2, pbBytes(1, concat(pbUint(1, 7), pbUint(2, 1))))
	switch method {
	case "AppendEntries":
		return concat(pbUint(1, missingRegion), vote, pbBytes(5, pbUint(2, 3)))
	case "Vote":
		return concat(pbUint(1, missingRegion), vote, pbBytes(3, pbUint(2, 3)))
	case "InstallSnapshot":
		meta := pbBytes(3, concat(pbBytes(1, pbUint(2, 3)), pbBytes(3, []byte("snap"))))
		return concat(pbUint(1, missingRegion), vote, meta, pbUint(5, 1))
	case "Join":
		node := concat(pbUint(1, 1), pbBytes(2, []byte(strings.Repeat("f", 40))),
			pbBytes(3, []byte("127.0.0.1")), pbUint(4, 1), pbBytes(5, []byte("127.0.0.1:1")))
		return pbBytes(1, node)
	}
	panic(method)
}

// grpcFrame is a gRPC length-prefixed message with the length declared.
func grpcFrame(declared uint32, body []byte) []byte {
	b := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], declared)
	return append(b, body...)
}

// h2cClient speaks HTTP/2 without TLS (prior knowledge), as gRPC does.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}, Timeout: 15 * time.Second}
}

// grpcCall POSTs body to method and returns the grpc-status ("" when the call failed at the
// HTTP level).
func grpcCall(t *testing.T, hc *http.Client, port int, method string, body []byte) string {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/redraft.v1.RaftTransport/%s", port, method)
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("content-type", "application/grpc")
	req.Header.Set("te", "trailers")
	resp, err := hc.Do(req)
	if err != nil {
		t.Logf("%s: %v", method, err)
		return ""
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	status := resp.Header.Get("grpc-status")
	msg := resp.Header.Get("grpc-message")
	if status == "" {
		status, msg = resp.Trailer.Get("grpc-status"), resp.Trailer.Get("grpc-message")
	}
	t.Logf("%s: HTTP %d grpc-status %q %q", method, resp.StatusCode, status, msg)
	return status
}

// rawSend writes b on a new connection to port and reads whatever comes back until the peer
// closes or a deadline passes (a refused connection is fine too).
func rawSend(t *testing.T, port int, b []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Logf("dial %d: %v", port, err)
		return
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(b); err != nil {
		t.Logf("write to %d: %v", port, err)
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	got, _ := io.ReadAll(io.LimitReader(c, 4096))
	t.Logf("port %d answered %d bytes: %q", port, len(got), got[:min(len(got), 120)])
}

func randomBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// Garbage on a node's gRPC (Raft transport) and admin ports: rejected, and the cluster keeps
// working.
func TestGarbageOnClusterPorts(t *testing.T) {
	c := util.StartCluster(t, 3, nil)
	target := 1
	gport, aport := c.GrpcPorts[target], c.AdminPorts[target]

	rawSend(t, gport, randomBytes(1, 64<<10))
	rawSend(t, gport, []byte("POST /redraft.v1.RaftTransport/Vote HTTP/1.1\r\nHost: x\r\n"+
		"Content-Type: application/grpc\r\nContent-Length: 5\r\n\r\n\x00\x00\x00\x00\x00"))
	rawSend(t, gport, []byte("PRI * HTTP/2.0\r\n\r\nSM"))
	rawSend(t, gport, append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), randomBytes(2, 4096)...))

	hc := h2cClient()
	defer hc.CloseIdleConnections()
	for i, m := range []string{"AppendEntries", "Vote", "Join", "InstallSnapshot"} {
		// 0xff starts no valid protobuf field (wire type 7): undecodable.
		junk := append([]byte{0xff}, randomBytes(int64(10+i), 300)...)
		cases := map[string][]byte{
			"random protobuf":       grpcFrame(uint32(len(junk)), junk),
			"length beyond body":    grpcFrame(1000, junk[:10]),
			"length 4 GiB":          grpcFrame(0xffffffff, junk[:10]),
			"truncated prefix":      {0, 0, 0},
			"well-formed, no owner": grpcFrame(uint32(len(wellFormed(m))), wellFormed(m)),
		}
		for name, body := range cases {
			st := grpcCall(t, hc, gport, m, body)
			if m == "Join" && name == "well-formed, no owner" {
				// Node 1 is a founder: the meta leader may refuse (another identity) or
				// keep the founders' address and accept; the map must not change (below).
				continue
			}
			require.NotEqual(t, "0", st, "%s with %s accepted", m, name)
		}
	}

	// The same Join at every node, so the meta leader gets it too: refused (another identity
	// claims founder 1) or accepted without a change; the map is checked below.
	for i, p := range c.GrpcPorts {
		st := grpcCall(t, hc, p, "Join", grpcFrame(uint32(len(wellFormed("Join"))), wellFormed("Join")))
		t.Logf("Join claiming node 1 at node %d: grpc-status %q", i+1, st)
	}

	// The admin port: random bytes, an oversized header.
	rawSend(t, aport, randomBytes(3, 64<<10))
	rawSend(t, aport, []byte("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 1<<20)+"\r\n\r\n"))
	rawSend(t, aport, []byte("GET /"+strings.Repeat("a", 1<<20)+" HTTP/1.1\r\nHost: x\r\n\r\n"))

	for i, s := range c.Nodes {
		require.NoError(t, syscall.Kill(s.Pid(), 0), "node %d", i+1)
	}
	require.Len(t, c.Running(), 3)
	t.Logf("cluster ready again after %v", c.WaitReady())
	for i, p := range c.AdminPorts {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", p))
		require.NoError(t, err, "node %d /health", i+1)
		_ = resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, "node %d /health", i+1)
	}
	// The claimed identity appears nowhere: not in /cluster, not in CLUSTER NODES.
	fake := strings.Repeat("f", 40)
	for i, s := range c.Nodes {
		rdb := s.NewClient()
		nodes, err := rdb.ClusterNodes(context.Background()).Result()
		_ = rdb.Close()
		require.NoError(t, err)
		require.NotContains(t, nodes, fake, "node %d CLUSTER NODES", i+1)
	}
	for i, p := range c.AdminPorts {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/cluster", p))
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.NotContains(t, string(b), fake, "node %d /cluster: %s", i+1, b)
	}
	cc := c.NewClusterClient()
	defer func() { _ = cc.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 10; i++ {
		k := fmt.Sprintf("after-garbage-%d", i)
		require.NoError(t, cc.Set(ctx, k, i, 0).Err())
		v, err := cc.Get(ctx, k).Int()
		require.NoError(t, err)
		require.Equal(t, i, v)
	}
}
