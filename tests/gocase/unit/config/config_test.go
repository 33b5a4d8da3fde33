package config

import (
	"context"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// `redraft-server /path/redraft.conf [--flag value ...]`: Redis config syntax, flags override
// the file, CONFIG GET reports the effective values.

// knownKeys are the settings CONFIG GET must report.
var knownKeys = []string{
	"port", "bind", "dir", "requirepass", "maxclients", "regions", "proto-max-bulk-len",
	"client-query-buffer-limit", "client-output-buffer-limit", "announce-ip", "announce-port",
	"timeout", "protected-mode", "cluster-secret", "cluster-secret-file", "tls-port", "tls-cert-file",
	"tls-key-file", "tls-ca-cert-file", "tls-auth-clients", "tls-cluster",
}

// configGet runs CONFIG GET pattern over a RESP2 connection and returns the pairs.
func configGet(t *testing.T, c *util.TCPClient, pattern string) map[string]string {
	t.Helper()
	require.NoError(t, c.WriteArgs("CONFIG", "GET", pattern))
	head, err := c.ReadLine()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(head, "*"), "CONFIG GET %s in RESP2 must be a flat array, got %q", pattern, head)
	n, err := strconv.Atoi(head[1:])
	require.NoError(t, err)
	require.Zero(t, n%2, "CONFIG GET %s: odd array length %d", pattern, n)
	out := map[string]string{}
	for i := 0; i < n/2; i++ {
		var kv [2]string
		for j := range kv {
			r, err := c.ReadReply()
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(r, "$"), "CONFIG GET %s: element %q is not a bulk string", pattern, r)
			kv[j] = util.BulkPayload(t, r)
		}
		_, dup := out[kv[0]]
		require.False(t, dup, "CONFIG GET %s: %q twice", pattern, kv[0])
		out[kv[0]] = kv[1]
	}
	return out
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { require.NoError(t, l.Close()) }()
	return l.Addr().(*net.TCPAddr).Port
}

func TestConfigFileSetsEverything(t *testing.T) {
	conf := `# RedRaft test configuration
# (comments and blank lines are ignored)

port ${PORT}
bind ${BIND}
dir "${DIR}"

requirepass "pass word#1"
maxclients 50
regions 4
proto-max-bulk-len 1048576
client-query-buffer-limit 2097152
client-output-buffer-limit 4194304
announce-ip 10.9.8.7
announce-port 7000
`
	srv := util.StartServerWithConfig(t, conf, false, nil)
	defer srv.Close()

	c := srv.NewTCPClient()
	defer c.Close()
	require.Equal(t, "-NOAUTH Authentication required.\r\n", c.Do("GET", "k"), "requirepass from the file")
	require.Equal(t, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", c.Do("AUTH", "pass"))
	require.Equal(t, "+OK\r\n", c.Do("AUTH", "pass word#1"), "the quoted value keeps its space and #")

	got := configGet(t, c, "*")
	for k, want := range map[string]string{
		"port":                       strconv.Itoa(srv.Port()),
		"bind":                       "127.0.0.1",
		"dir":                        srv.DataDir(),
		"requirepass":                "pass word#1",
		"maxclients":                 "50",
		"regions":                    "4",
		"proto-max-bulk-len":         "1048576",
		"client-query-buffer-limit":  "2097152",
		"client-output-buffer-limit": "4194304",
		"announce-ip":                "10.9.8.7",
		"announce-port":              "7000",
	} {
		require.Contains(t, got, k, "CONFIG GET * has no %s", k)
		require.Equal(t, want, got[k], "CONFIG GET %s", k)
	}

	t.Run("the settings take effect", func(t *testing.T) {
		entries, err := os.ReadDir(srv.DataDir())
		require.NoError(t, err)
		require.NotEmpty(t, entries, "the data lives in dir from the file")
		require.Equal(t, "+OK\r\n", c.Do("MSET", "{a}1", "1", "{a}2", "2"))
		require.Equal(t, "-CROSSSLOT Keys in request don't hash to the same slot\r\n",
			c.Do("MSET", util.KeyInSlot(4095, "a"), "1", util.KeyInSlot(4096, "b"), "2"), "regions 4 from the file")
		// The bus port follows the real port (+10000), as in Redis; the announced port does not move it.
		require.Contains(t, util.BulkPayload(t, c.Do("CLUSTER", "NODES")),
			fmt.Sprintf(" 10.9.8.7:7000@%d myself,master ", srv.Port()+10000))
		require.Equal(t, "50", util.InfoField(t, util.BulkPayload(t, c.Do("INFO", "clients")), "maxclients"))

		big := srv.NewTCPClient()
		defer big.Close()
		require.Equal(t, "+OK\r\n", big.Do("AUTH", "pass word#1"))
		require.NoError(t, big.Write("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n"))
		big.ExpectReply(t, "-ERR Protocol error: invalid bulk length\r\n")
		big.ExpectClosed(t)
	})

	// the file is read again on restart
	c.Close()
	srv.Restart()
	c = srv.NewTCPClient()
	require.Equal(t, "-NOAUTH Authentication required.\r\n", c.Do("GET", "{a}1"))
	require.Equal(t, "+OK\r\n", c.Do("AUTH", "pass word#1"))
	require.Equal(t, "$1\r\n1\r\n", c.Do("GET", "{a}1"), "data from dir survives the restart")
}

func TestFlagsOverrideTheFile(t *testing.T) {
	filePort := freePort(t)
	fileDir := filepath.Join(t.TempDir(), "file-dir")
	conf := fmt.Sprintf(`port %d
dir %s
requirepass filepw
maxclients 7
announce-ip 10.0.0.1
announce-port 7001
`, filePort, fileDir)
	srv := util.StartServerWithConfig(t, conf, true, map[string]string{"requirepass": "flagpw", "announce-ip": "10.0.0.2"})
	defer srv.Close()
	require.NotEqual(t, filePort, srv.Port())

	c := srv.NewTCPClient()
	defer c.Close()
	require.Equal(t, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", c.Do("AUTH", "filepw"))
	require.Equal(t, "+OK\r\n", c.Do("AUTH", "flagpw"))
	got := configGet(t, c, "*")
	require.Equal(t, strconv.Itoa(srv.Port()), got["port"], "--port wins over the file")
	require.Equal(t, srv.DataDir(), got["dir"], "--data-dir wins over the file's dir")
	require.Equal(t, "flagpw", got["requirepass"])
	require.Equal(t, "10.0.0.2", got["announce-ip"])
	require.Equal(t, "7001", got["announce-port"], "the file still sets what no flag overrides")
	require.Equal(t, "7", got["maxclients"], "the file still sets what no flag overrides")
	require.Contains(t, util.BulkPayload(t, c.Do("CLUSTER", "NODES")), fmt.Sprintf(" 10.0.0.2:7001@%d ", srv.Port()+10000))

	_, err := os.Stat(fileDir)
	require.True(t, os.IsNotExist(err), "the file's dir must not be used when --data-dir is given (stat: %v)", err)
	d, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(filePort)), time.Second)
	if err == nil {
		_ = d.Close()
		t.Fatalf("something listens on the file's port %d although --port %d was given", filePort, srv.Port())
	}
}

func TestBadConfigFileRefusesToStart(t *testing.T) {
	for _, tc := range []struct {
		name, conf, mention string
	}{
		{"unknown key", "port 0\nno-such-option yes\n", "no-such-option"},
		{"unknown key after valid ones", "maxclients 10\n# comment\nsave-me-please 1\n", "save-me-please"},
		{"not a number", "maxclients lots\n", "maxclients"},
		{"unbalanced quotes", "requirepass \"abc\n", ""},
		{"missing value", "maxclients\n", "maxclients"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			confPath := filepath.Join(dir, "redraft.conf")
			require.NoError(t, os.WriteFile(confPath, []byte(tc.conf), 0o644))
			res := util.RunExpectingExit(t, confPath, "--port", strconv.Itoa(util.FreePort(t)), "--bind", "127.0.0.1", "--data-dir", filepath.Join(dir, "data"))
			require.Positive(t, res.Code, "a refusal is an exit code, not a crash (signal): must exit non-zero (%v)", res.Err)
			require.NotEmpty(t, strings.TrimSpace(res.Stderr), "stderr must say why")
			require.Contains(t, res.Stderr, tc.mention, "stderr must name the offending key")
		})
	}
	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		res := util.RunExpectingExit(t, filepath.Join(dir, "nope.conf"), "--port", strconv.Itoa(util.FreePort(t)), "--data-dir", filepath.Join(dir, "data"))
		require.Positive(t, res.Code, "a refusal is an exit code, not a crash (signal): must exit non-zero (%v)", res.Err)
		require.NotEmpty(t, strings.TrimSpace(res.Stderr))
	})
}

func TestConfigGet(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()
	port := strconv.Itoa(srv.Port())

	t.Run("CONFIG GET port in RESP2 and RESP3", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		pair := fmt.Sprintf("$4\r\nport\r\n$%d\r\n%s\r\n", len(port), port)
		require.Equal(t, "*2\r\n"+pair, c.Do("CONFIG", "GET", "port"))
		require.Equal(t, "*0\r\n", c.Do("CONFIG", "GET", "no-such-*"))
		require.Contains(t, c.Do("HELLO", "3"), "proto")
		require.Equal(t, "%1\r\n"+pair, c.Do("CONFIG", "GET", "port"))
		require.Equal(t, "%0\r\n", c.Do("CONFIG", "GET", "no-such-*"))
	})

	t.Run("CONFIG GET * has every key and the values tools expect", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		got := configGet(t, c, "*")
		for _, k := range knownKeys {
			require.Contains(t, got, k)
		}
		require.Equal(t, port, got["port"])
		require.Equal(t, "127.0.0.1", got["bind"])
		require.Equal(t, srv.DataDir(), got["dir"])
		require.Equal(t, "", got["requirepass"])
		// no --regions given: CONFIG GET shows the count in effect
		require.Equal(t, "1", got["regions"])
		require.Equal(t, "536870912", got["proto-max-bulk-len"])
		// Redis 7's defaults of the access-control settings.
		for k, v := range map[string]string{"timeout": "0", "protected-mode": "yes", "tls-port": "0",
			"tls-auth-clients": "yes", "tls-cluster": "no", "cluster-secret": "", "tls-cert-file": ""} {
			require.Equal(t, v, got[k], k)
		}
		for _, k := range []string{"maxclients", "client-query-buffer-limit", "client-output-buffer-limit"} {
			n, err := strconv.ParseInt(got[k], 10, 64)
			require.NoError(t, err, "%s = %q", k, got[k])
			require.GreaterOrEqual(t, n, int64(0), k)
		}
		require.Equal(t, "", got["save"])
		require.Equal(t, "no", got["appendonly"])
		require.Equal(t, "1", got["databases"])
		require.Equal(t, map[string]string{"save": ""}, configGet(t, c, "save"))
		require.Equal(t, map[string]string{"appendonly": "no"}, configGet(t, c, "appendonly"))
		require.Equal(t, map[string]string{"databases": "1"}, configGet(t, c, "databases"))
	})

	t.Run("glob patterns", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		all := configGet(t, c, "*")
		for _, pattern := range []string{"*max*", "client-*-limit", "p?rt", "?ort", "announce-*", "[pd]*", "*-len", "regions"} {
			got := configGet(t, c, pattern)
			want := map[string]string{}
			for k, v := range all {
				if ok, err := path.Match(pattern, k); err == nil && ok {
					want[k] = v
				}
			}
			require.NotEmpty(t, want, "pattern %q matches nothing in the test's own view", pattern)
			require.Equal(t, want, got, "CONFIG GET %s", pattern)
		}
		require.Equal(t, map[string]string{"maxclients": all["maxclients"], "proto-max-bulk-len": "536870912"},
			filterKnown(configGet(t, c, "*max*")))
	})

	t.Run("CONFIG GET through go-redis", func(t *testing.T) {
		for _, proto := range []int{2, 3} {
			rdb := srv.NewClientWithOption(&redis.Options{Protocol: proto})
			got, err := rdb.ConfigGet(ctx, "port").Result()
			require.NoError(t, rdb.Close())
			require.NoError(t, err, "RESP%d", proto)
			require.Equal(t, map[string]string{"port": port}, got, "RESP%d", proto)
		}
	})

	t.Run("CONFIG SET is refused", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		for _, args := range [][]string{{"maxclients", "5"}, {"port", "1"}, {"save", ""}} {
			r := c.Do(append([]string{"CONFIG", "SET"}, args...)...)
			require.True(t, strings.HasPrefix(r, "-ERR "), "CONFIG SET %q replied %q", args, r)
		}
		require.Equal(t, "*2\r\n$4\r\nport\r\n"+fmt.Sprintf("$%d\r\n%s\r\n", len(port), port), c.Do("CONFIG", "GET", "port"))
		require.NotEqual(t, "5", configGet(t, c, "maxclients")["maxclients"])
		require.Equal(t, "+PONG\r\n", c.Do("PING"))
	})

	t.Run("arity", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "-ERR wrong number of arguments for 'config|get' command\r\n", c.Do("CONFIG", "GET"))
		require.Equal(t, "-ERR wrong number of arguments for 'config' command\r\n", c.Do("CONFIG"))
	})
}

// filterKnown keeps the keys of knownKeys (the server may report more settings than the contract).
func filterKnown(m map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range knownKeys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}
