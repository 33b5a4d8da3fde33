package security

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redraft/redraft/tests/gocase/util"
	"github.com/stretchr/testify/require"
)

const secret = "s3cret shared by the nodes"

// grpcNodeInfo calls RaftTransport/NodeInfo over HTTP/2 without TLS, with the secret header
// when given; it returns the grpc-status ("" when the call failed below gRPC).
func grpcNodeInfo(t *testing.T, port int, header string) string {
	t.Helper()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: &p}, Timeout: 10 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/redraft.v1.RaftTransport/NodeInfo", port)
	req, err := http.NewRequest("POST", url, bytes.NewReader([]byte{0, 0, 0, 0, 0}))
	require.NoError(t, err)
	req.Header.Set("content-type", "application/grpc")
	req.Header.Set("te", "trailers")
	if header != "" {
		req.Header.Set("x-redraft-secret", header)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Logf("NodeInfo: %v", err)
		return ""
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	status := resp.Header.Get("grpc-status")
	if status == "" {
		status = resp.Trailer.Get("grpc-status")
	}
	return status
}

func adminPost(t *testing.T, port int, auth string) int {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/admin/regions/1/leader", port)
	req, err := http.NewRequest("POST", url, strings.NewReader(`{"to": 1}`))
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func clusterNodes(t *testing.T, s *util.Server) int {
	rdb := s.NewClient()
	defer func() { _ = rdb.Close() }()
	nodes, err := rdb.ClusterNodes(context.Background()).Result()
	require.NoError(t, err)
	return strings.Count(nodes, "\n")
}

// A cluster whose nodes share a secret forms and serves; a node with a wrong or no secret
// cannot join (and is never listed); gRPC calls without the secret are UNAUTHENTICATED
// before any handler runs; the admin port's POSTs want the secret as a bearer token.
func TestClusterSecretKeepsStrangersOut(t *testing.T) {
	// The founders read the secret from a file (its first line); the joiner below gets it as a flag.
	file := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(file, []byte(secret+"\n"), 0o600))
	c := util.StartCluster(t, 3, map[string]string{"cluster-secret-file": file})
	ctx := context.Background()
	rdb := c.NewClusterClient()
	defer func() { _ = rdb.Close() }()
	for i := 0; i < 50; i++ {
		require.NoError(t, rdb.Set(ctx, "k"+strconv.Itoa(i), i, 0).Err())
	}
	for i := 0; i < 50; i++ {
		require.Equal(t, strconv.Itoa(i), rdb.Get(ctx, "k"+strconv.Itoa(i)).Val())
	}
	n1 := c.Nodes[0].NewClient()
	defer func() { _ = n1.Close() }()
	require.Contains(t, n1.ClusterInfo(ctx).Val(), "cluster_state:ok")
	conf := n1.ConfigGet(ctx, "cluster-secret*").Val()
	require.Equal(t, map[string]string{"cluster-secret": "(redacted)", "cluster-secret-file": file}, conf)

	// Raw gRPC: refused without or with a wrong secret (16 = UNAUTHENTICATED), served with it.
	g := c.GrpcPorts[0]
	require.Equal(t, "16", grpcNodeInfo(t, g, ""))
	require.Equal(t, "16", grpcNodeInfo(t, g, "wrong"))
	require.Equal(t, "0", grpcNodeInfo(t, g, secret))
	util.WaitFor(t, 5*time.Second, 50*time.Millisecond, func() bool {
		return strings.Contains(c.Nodes[0].Stderr(), "refused a gRPC request from 127.0.0.1:")
	}, "the refusal is logged")

	// Joining with a wrong or no secret: refused, the node stops with a clear error.
	for _, s := range []string{"wrong", ""} {
		args := []string{"--port", strconv.Itoa(util.FreePort(t)), "--bind", "127.0.0.1", "--data-dir", t.TempDir(),
			"--node-id", "4", "--grpc-port", strconv.Itoa(util.FreePort(t)), "--cluster", c.Spec}
		if s != "" {
			args = append(args, "--cluster-secret", s)
		}
		res := util.RunExpectingExit(t, args...)
		require.Positive(t, res.Code)
		require.Contains(t, res.Stderr, "cannot join the cluster:")
		require.Contains(t, res.Stderr, "refused this node's cluster secret")
	}
	res := util.RunExpectingExit(t, "--port", strconv.Itoa(util.FreePort(t)), "--data-dir", t.TempDir(),
		"--node-id", "4", "--grpc-port", "0", "--cluster", c.Spec, "--cluster-secret-file", file+".missing")
	require.Contains(t, res.Stderr, "cannot read cluster-secret-file "+file+".missing")
	for _, s := range c.Nodes {
		require.Equal(t, 3, clusterNodes(t, s), "a refused node must not be listed")
	}
	// The right secret joins.
	joined, _ := c.StartJoiningWith(4, map[string]string{"cluster-secret": secret})
	util.WaitFor(t, 30*time.Second, 100*time.Millisecond, func() bool { return clusterNodes(t, c.Nodes[0]) == 4 },
		"the node with the secret joins")
	joined.Close()

	// The admin port: POSTs want the secret, GETs stay open.
	a := c.AdminPorts[0]
	require.Equal(t, 401, adminPost(t, a, ""))
	require.Equal(t, 401, adminPost(t, a, "Bearer wrong"))
	require.Equal(t, 401, adminPost(t, a, secret))
	require.NotEqual(t, 401, adminPost(t, a, "Bearer "+secret))
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", a))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
}

// tls-cluster: the nodes talk gRPC over mutual TLS; the cluster forms and replicates, and a
// plain-text gRPC client gets nowhere.
func TestClusterOverMutualTLS(t *testing.T) {
	certs := util.MakeCerts(t, "redraft-cluster-ca")
	c := util.StartCluster(t, 3, map[string]string{
		"tls-cluster":      "yes",
		"tls-cert-file":    certs.ServerCert,
		"tls-key-file":     certs.ServerKey,
		"tls-ca-cert-file": certs.CA,
	})
	ctx := context.Background()
	rdb := c.NewClusterClient()
	defer func() { _ = rdb.Close() }()
	for i := 0; i < 50; i++ {
		require.NoError(t, rdb.Set(ctx, "k"+strconv.Itoa(i), i, 0).Err())
	}
	// A write through a node that does not lead the key's slot is MOVED to the leader, where
	// it is readable.
	key := "tls-moved"
	other := c.NotLeaderOf(util.KeySlot(key)).NewClient()
	defer func() { _ = other.Close() }()
	err := other.Set(ctx, key, "v", 0).Err()
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "MOVED "), err.Error())
	require.NoError(t, rdb.Set(ctx, key, "v", 0).Err())
	leader := c.LeaderOf(util.KeySlot(key)).NewClient()
	defer func() { _ = leader.Close() }()
	require.Equal(t, "v", leader.Get(ctx, key).Val())
	for _, s := range c.Nodes {
		n := s.NewClient()
		require.Contains(t, n.ClusterInfo(ctx).Val(), "cluster_state:ok")
		_ = n.Close()
	}
	require.Equal(t, "", grpcNodeInfo(t, c.GrpcPorts[0], ""), "plain HTTP/2 on a TLS gRPC port must fail")
}
