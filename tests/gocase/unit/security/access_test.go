// Package security covers who may talk to a server: the idle-client timeout, protected mode,
// TLS on the RESP and gRPC ports, and the cluster secret.
package security

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redraft/redraft/tests/gocase/util"
	"github.com/stretchr/testify/require"
)

// denied is Redis 7's refusal of a non-loopback client in protected mode, word for word.
const denied = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is " +
	"set for the default user. In this mode connections are only accepted from the loopback interface. If you " +
	"want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just " +
	"disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by " +
	"connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly " +
	"accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively " +
	"you can just disable the protected mode by editing the Redis configuration file, and setting the protected " +
	"mode option to 'no', and then restarting the server. 3) If you started the server manually just for " +
	"testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the " +
	"default user. NOTE: You only need to do one of the above things in order for the server to start " +
	"accepting connections from the outside.\r\n"

// dial connects to host:port and returns the connection with a reader.
func dial(t *testing.T, host string, port int) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, bufio.NewReader(c)
}

// readAll reads until the server closes the connection (or d passes) and tells which.
func readAll(c net.Conn, r *bufio.Reader, d time.Duration) (string, bool) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(r)
	return string(b), err == nil
}

func ping(c net.Conn, r *bufio.Reader) (string, error) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	return r.ReadString('\n')
}

// A client silent for longer than `timeout` seconds is closed without a reply; one that keeps
// talking is not; with the default (0) nobody is.
func TestIdleClientsAreClosedAfterTimeout(t *testing.T) {
	srv := util.StartServer(t, map[string]string{"timeout": "1"})
	rdb := srv.NewClient()
	defer func() { _ = rdb.Close() }()
	require.Equal(t, "1", rdb.ConfigGet(context.Background(), "timeout").Val()["timeout"])

	silent, sr := dial(t, "127.0.0.1", srv.Port())
	active, ar := dial(t, "127.0.0.1", srv.Port())
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		got, eof := readAll(silent, sr, 10*time.Second)
		if eof && got == "" {
			closed <- time.Since(start)
		}
		close(closed)
	}()
	for time.Since(start) < 3500*time.Millisecond {
		line, err := ping(active, ar)
		require.NoError(t, err, "the active client must stay connected")
		require.Equal(t, "+PONG\r\n", line)
		time.Sleep(300 * time.Millisecond)
	}
	took, ok := <-closed
	require.True(t, ok, "the silent client was not closed (or got bytes)")
	t.Logf("silent client closed after %v", took)
	require.GreaterOrEqual(t, took, 900*time.Millisecond)
	require.Less(t, took, 3500*time.Millisecond)

	// Default: no timeout.
	def := util.StartServer(t, nil)
	c, r := dial(t, "127.0.0.1", def.Port())
	_, eof := readAll(c, r, 2500*time.Millisecond)
	require.False(t, eof, "timeout 0 must not close an idle client")
	line, err := ping(c, r)
	require.NoError(t, err)
	require.Equal(t, "+PONG\r\n", line)
}

// nonLoopbackIP is an IPv4 address of this machine that is not loopback ("" if none).
func nonLoopbackIP(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	return ""
}

// redisDenied connects to a real redis-server (bound to every address, protected mode on)
// from ip and returns what it says; "" when redis-server is not installed.
func redisDenied(t *testing.T, ip string) string {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return ""
	}
	port := util.FreePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "0.0.0.0", "--protected-mode", "yes",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var c net.Conn
	util.WaitFor(t, 10*time.Second, 50*time.Millisecond, func() bool {
		c, err = net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), time.Second)
		return err == nil
	}, "redis-server does not accept connections")
	defer func() { _ = c.Close() }()
	got, _ := readAll(c, bufio.NewReader(c), 5*time.Second)
	return got
}

// Protected mode (the default), as in Redis 7: without a password, a client connecting from a
// non-loopback address gets Redis's -DENIED text and is closed; loopback clients are served;
// a password or `protected-mode no` lets everyone in.
func TestProtectedModeRefusesRemoteClientsWithoutPassword(t *testing.T) {
	ip := nonLoopbackIP(t)
	if ip == "" {
		t.Skip("this machine has no non-loopback IPv4 address")
	}
	if os.Getenv("REDRAFT_SKIP_REDIS_COMPARE") == "" {
		if want := redisDenied(t, ip); want != "" {
			require.Equal(t, want, denied, "redis-server's text differs")
		}
	}
	srv := util.StartServer(t, map[string]string{"bind": "0.0.0.0"})
	rdb := srv.NewClient()
	defer func() { _ = rdb.Close() }()
	ctx := context.Background()
	require.Equal(t, "yes", rdb.ConfigGet(ctx, "protected-mode").Val()["protected-mode"])
	before := util.InfoField(t, rdb.Info(ctx, "stats").Val(), "rejected_connections")

	c, r := dial(t, ip, srv.Port())
	got, eof := readAll(c, r, 5*time.Second)
	require.True(t, eof, "the connection must be closed")
	require.Equal(t, denied, got)
	// The refusal comes first, whatever the client sends.
	c, r = dial(t, ip, srv.Port())
	_, _ = c.Write([]byte("PING\r\n"))
	got, _ = readAll(c, r, 5*time.Second)
	require.Equal(t, denied, got)
	after := util.InfoField(t, rdb.Info(ctx, "stats").Val(), "rejected_connections")
	b, _ := strconv.Atoi(before)
	a, _ := strconv.Atoi(after)
	require.Equal(t, b+2, a, "each refusal is a rejected connection")

	// Loopback is always served.
	c, r = dial(t, "127.0.0.1", srv.Port())
	line, err := ping(c, r)
	require.NoError(t, err)
	require.Equal(t, "+PONG\r\n", line)

	for name, opts := range map[string]map[string]string{
		"with a password":    {"bind": "0.0.0.0", "requirepass": "pw"},
		"protected-mode off": {"bind": "0.0.0.0", "protected-mode": "no"},
	} {
		t.Run(name, func(t *testing.T) {
			s := util.StartServer(t, opts)
			c, r := dial(t, ip, s.Port())
			line, err := ping(c, r)
			require.NoError(t, err)
			if opts["requirepass"] != "" {
				require.Equal(t, "-NOAUTH Authentication required.\r\n", line)
				_, err = fmt.Fprintf(c, "AUTH pw\r\n")
				require.NoError(t, err)
				line, err = r.ReadString('\n')
				require.NoError(t, err)
				require.Equal(t, "+OK\r\n", line)
			} else {
				require.Equal(t, "+PONG\r\n", line)
			}
		})
	}
	require.True(t, strings.HasSuffix(denied, "\r\n"))
}
