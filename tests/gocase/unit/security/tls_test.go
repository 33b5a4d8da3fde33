package security

import (
	"context"
	"crypto/tls"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redraft/redraft/tests/gocase/util"
	"github.com/stretchr/testify/require"
)

func tlsClient(port int, conf *tls.Config) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), TLSConfig: conf,
		MaxRetries: -1, DialTimeout: 5 * time.Second})
}

// redisCli runs Debian's redis-cli against the TLS port; "" with ok=false when it is missing.
func redisCli(t *testing.T, args ...string) (string, bool) {
	bin, err := exec.LookPath("redis-cli")
	if err != nil {
		return "", false
	}
	out, _ := exec.Command(bin, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), true
}

// RESP over TLS on tls-port (client certificates required by default, as in Redis), the
// plain port still serving, and a plain-text client on the TLS port refused without harm.
func TestTLSPortServesVerifiedClients(t *testing.T) {
	certs := util.MakeCerts(t, "redraft-test-ca")
	port := util.FreePort(t)
	srv := util.StartServer(t, certs.ServerOpts(port))
	ctx := context.Background()

	rdb := tlsClient(port, certs.ClientTLS(t, true))
	defer func() { _ = rdb.Close() }()
	require.NoError(t, rdb.Set(ctx, "k", "over tls", 0).Err())
	require.Equal(t, "over tls", rdb.Get(ctx, "k").Val())
	conf := rdb.ConfigGet(ctx, "tls-*").Val()
	require.Equal(t, strconv.Itoa(port), conf["tls-port"])
	require.Equal(t, "yes", conf["tls-auth-clients"])
	require.Equal(t, certs.CA, conf["tls-ca-cert-file"])

	// The plain port serves the same data.
	plain := srv.NewClient()
	defer func() { _ = plain.Close() }()
	require.Equal(t, "over tls", plain.Get(ctx, "k").Val())

	// No client certificate: the handshake (or the first read) fails.
	anon := tlsClient(port, certs.ClientTLS(t, false))
	require.Error(t, anon.Ping(ctx).Err(), "a client without a certificate must be refused")
	_ = anon.Close()
	// A certificate from another CA is refused too.
	other := util.MakeCerts(t, "another-ca")
	stranger := certs.ClientTLS(t, false)
	pair, err := tls.LoadX509KeyPair(other.ClientCert, other.ClientKey)
	require.NoError(t, err)
	stranger.Certificates = []tls.Certificate{pair}
	bad := tlsClient(port, stranger)
	require.Error(t, bad.Ping(ctx).Err(), "a certificate from another CA must be refused")
	_ = bad.Close()

	// Plain text on the TLS port: no RESP answer, the connection ends, the server lives on.
	c, r := dial(t, "127.0.0.1", port)
	_, _ = c.Write([]byte("PING\r\n"))
	got, _ := readAll(c, r, 5*time.Second)
	require.NotContains(t, got, "PONG")
	require.Equal(t, "PONG", rdb.Ping(ctx).Val())
	require.Equal(t, "PONG", plain.Ping(ctx).Val())

	// redis-cli --tls, as an operator would use it.
	p := strconv.Itoa(port)
	out, ok := redisCli(t, "--tls", "--cacert", certs.CA, "--cert", certs.ClientCert, "--key", certs.ClientKey,
		"-h", "127.0.0.1", "-p", p, "GET", "k")
	if ok {
		require.Equal(t, "over tls", out)
		out, _ = redisCli(t, "--tls", "--cacert", certs.CA, "-h", "127.0.0.1", "-p", p, "PING")
		require.NotEqual(t, "PONG", out, "redis-cli without a client certificate must be refused")
	}
}

// tls-auth-clients no / optional: clients without a certificate are served; with port 0 only
// the TLS port listens.
func TestTLSClientCertificatesOptional(t *testing.T) {
	certs := util.MakeCerts(t, "redraft-test-ca")
	ctx := context.Background()
	for _, mode := range []string{"no", "optional"} {
		t.Run(mode, func(t *testing.T) {
			port := util.FreePort(t)
			opts := certs.ServerOpts(port)
			opts["tls-auth-clients"] = mode
			srv := util.StartServer(t, opts)
			anon := tlsClient(port, certs.ClientTLS(t, false))
			defer func() { _ = anon.Close() }()
			require.Equal(t, "PONG", anon.Ping(ctx).Val())
			withCert := tlsClient(port, certs.ClientTLS(t, true))
			defer func() { _ = withCert.Close() }()
			require.Equal(t, "PONG", withCert.Ping(ctx).Val())
			require.Equal(t, mode, anon.ConfigGet(ctx, "tls-auth-clients").Val()["tls-auth-clients"])
			_ = srv
		})
	}
	t.Run("port 0", func(t *testing.T) {
		port := util.FreePort(t)
		opts := certs.ServerOpts(port)
		opts["port"] = "0"
		srv := util.StartServer(t, opts)
		rdb := tlsClient(port, certs.ClientTLS(t, true))
		defer func() { _ = rdb.Close() }()
		require.Equal(t, "PONG", rdb.Ping(ctx).Val())
		plain := srv.NewClient()
		defer func() { _ = plain.Close() }()
		require.Error(t, plain.Ping(ctx).Err(), "port 0: no plain-text listener")
		// A TLS-only node sends cluster clients to its TLS port, not to port 0.
		slots := rdb.ClusterSlots(ctx).Val()
		require.Len(t, slots, 1)
		require.Equal(t, "127.0.0.1:"+strconv.Itoa(port), slots[0].Nodes[0].Addr)
	})
}

// Unusable TLS settings stop the start with a message naming the option (and file).
func TestBadTLSFilesRefuseToStart(t *testing.T) {
	certs := util.MakeCerts(t, "redraft-test-ca")
	missing := filepath.Join(t.TempDir(), "nope.pem")
	cases := []struct {
		name string
		opts map[string]string
		want string
	}{
		{"missing cert", map[string]string{"tls-cert-file": missing}, "tls-cert-file " + missing},
		{"missing key", map[string]string{"tls-key-file": missing}, "tls-key-file " + missing},
		{"missing CA", map[string]string{"tls-ca-cert-file": missing}, "tls-ca-cert-file " + missing},
		{"key of another cert", map[string]string{"tls-key-file": certs.ClientKey}, "tls-key-file"},
		{"cert is not PEM", map[string]string{"tls-cert-file": certs.Dir + "/server.ext"}, "tls-cert-file"},
		{"no CA for client auth", map[string]string{"tls-ca-cert-file": ""},
			"tls-ca-cert-file must be specified when tls-cluster or tls-auth-clients are enabled"},
		{"tls-cluster without --cluster", map[string]string{"tls-cluster": "yes"}, "--tls-cluster needs --cluster"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := certs.ServerOpts(util.FreePort(t))
			for k, v := range tc.opts {
				opts[k] = v
			}
			args := []string{"--port", strconv.Itoa(util.FreePort(t)), "--data-dir", t.TempDir()}
			for k, v := range opts {
				if v != "" {
					args = append(args, "--"+k, v)
				}
			}
			res := util.RunExpectingExit(t, args...)
			require.Positive(t, res.Code, "must exit non-zero: %s", res.Stderr)
			require.Contains(t, res.Stderr, tc.want)
		})
	}
	res := util.RunExpectingExit(t, "--port", "0", "--data-dir", t.TempDir())
	require.Contains(t, res.Stderr, "not listen anywhere")
}
