package info

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// CLIENT LIST / CLIENT INFO in the Redis 7 format and the INFO sections redis_exporter and
// other tools read, compared with redis-server 7.0.15.

// clientLineRe is one CLIENT LIST / CLIENT INFO line of Redis 7.0 (fields in Redis' order).
var clientLineRe = regexp.MustCompile(`^id=(\d+) addr=(\S+) laddr=(\S+) fd=\d+ name=(\S*) age=\d+ idle=\d+ flags=\S+ ` +
	`db=0 .*\bcmd=(\S+) user=default redir=-1 resp=([23])$`)

type clientLine struct {
	id                int64
	addr, laddr, name string
	cmd, resp         string
	fields            map[string]string
	raw               string
}

func parseClientLine(t *testing.T, line string) clientLine {
	t.Helper()
	m := clientLineRe.FindStringSubmatch(line)
	require.NotNil(t, m, "not a Redis 7 client line: %q", line)
	id, err := strconv.ParseInt(m[1], 10, 64)
	require.NoError(t, err)
	cl := clientLine{id: id, addr: m[2], laddr: m[3], name: m[4], cmd: m[5], resp: m[6], fields: map[string]string{}, raw: line}
	for _, f := range strings.Split(line, " ") {
		k, v, ok := strings.Cut(f, "=")
		require.True(t, ok, "field %q of %q is not key=value", f, line)
		cl.fields[k] = v
	}
	for _, k := range []string{"fd", "age", "idle", "sub", "psub", "multi", "qbuf", "obl", "oll", "omem", "tot-mem"} {
		if v, ok := cl.fields[k]; ok {
			_, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err, "%s=%q in %q", k, v, line)
		}
	}
	return cl
}

// clientLines splits a CLIENT LIST payload into lines; every line must end in \n.
func clientLines(t *testing.T, payload string) []clientLine {
	t.Helper()
	require.True(t, strings.HasSuffix(payload, "\n"), "CLIENT LIST must end in \\n: %q", payload)
	require.NotContains(t, payload, "\r", "CLIENT LIST lines end in \\n alone")
	var out []clientLine
	for _, l := range strings.Split(strings.TrimSuffix(payload, "\n"), "\n") {
		out = append(out, parseClientLine(t, l))
	}
	return out
}

func clientID(t *testing.T, c *util.TCPClient) int64 {
	t.Helper()
	r := c.Do("CLIENT", "ID")
	require.Regexp(t, `^:\d+\r\n$`, r)
	id, err := strconv.ParseInt(r[1:len(r)-2], 10, 64)
	require.NoError(t, err)
	return id
}

func TestClientList(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()

	t.Run("CLIENT INFO describes this connection", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		id := clientID(t, c)
		payload := util.BulkPayload(t, c.Do("CLIENT", "INFO"))
		require.True(t, strings.HasSuffix(payload, "\n"), "CLIENT INFO ends in \\n: %q", payload)
		require.Equal(t, 1, strings.Count(payload, "\n"), "one line: %q", payload)
		cl := parseClientLine(t, strings.TrimSuffix(payload, "\n"))
		require.Equal(t, id, cl.id)
		require.Equal(t, c.Conn().LocalAddr().String(), cl.addr)
		require.Equal(t, srv.Addr(), cl.laddr)
		require.Equal(t, "", cl.name)
		require.Equal(t, "client|info", cl.cmd)
		require.Equal(t, "2", cl.resp)
		require.Equal(t, "N", cl.fields["flags"])
		require.Equal(t, "0", cl.fields["db"])

		require.Equal(t, "+OK\r\n", c.Do("CLIENT", "SETNAME", "info-conn"))
		require.Contains(t, c.Do("HELLO", "3"), "proto")
		r := c.Do("CLIENT", "INFO")
		require.True(t, strings.HasPrefix(r, "="), "CLIENT INFO is a verbatim string in RESP3: %q", r)
		cl = parseClientLine(t, strings.TrimSuffix(util.BulkPayload(t, r), "\n"))
		require.Equal(t, id, cl.id)
		require.Equal(t, "info-conn", cl.name)
		require.Equal(t, "3", cl.resp)
		require.Equal(t, "-ERR wrong number of arguments for 'client|info' command\r\n", c.Do("CLIENT", "INFO", "x"))
	})

	t.Run("CLIENT LIST shows every open connection", func(t *testing.T) {
		conns := make([]*util.TCPClient, 3)
		ids := make([]int64, 3)
		for i := range conns {
			conns[i] = srv.NewTCPClient()
			defer conns[i].Close()
			ids[i] = clientID(t, conns[i])
			require.Equal(t, "+OK\r\n", conns[i].Do("CLIENT", "SETNAME", fmt.Sprintf("conn-%d", i)))
		}
		require.Equal(t, "+PONG\r\n", conns[0].Do("PING"))
		require.Equal(t, "$-1\r\n", conns[1].Do("GET", "nokey"))
		lastCmd := []string{"ping", "get", "client|list"}

		// connections of the previous subtest may take a moment to go away
		var lines []clientLine
		util.WaitFor(t, 10*time.Second, 20*time.Millisecond, func() bool {
			lines = clientLines(t, util.BulkPayload(t, conns[2].Do("CLIENT", "LIST")))
			return len(lines) == len(conns)
		}, "CLIENT LIST must show exactly the %d open connections", len(conns))
		byID := map[int64]clientLine{}
		for _, l := range lines {
			_, dup := byID[l.id]
			require.False(t, dup, "id %d twice in CLIENT LIST", l.id)
			byID[l.id] = l
		}
		for i, c := range conns {
			l, ok := byID[ids[i]]
			require.True(t, ok, "connection %d (id %d) missing from CLIENT LIST:\n%v", i, ids[i], lines)
			require.Equal(t, c.Conn().LocalAddr().String(), l.addr, "addr of connection %d", i)
			require.Equal(t, srv.Addr(), l.laddr)
			require.Equal(t, fmt.Sprintf("conn-%d", i), l.name)
			require.Equal(t, lastCmd[i], l.cmd, "cmd of connection %d", i)
			require.Equal(t, "2", l.resp)
		}
		info := util.BulkPayload(t, conns[2].Do("INFO", "clients"))
		require.Equal(t, "3", util.InfoField(t, info, "connected_clients"), "CLIENT LIST and INFO agree")

		conns[0].Close()
		util.WaitFor(t, 10*time.Second, 20*time.Millisecond, func() bool {
			lines = clientLines(t, util.BulkPayload(t, conns[2].Do("CLIENT", "LIST")))
			return len(lines) == 2
		}, "a closed connection must leave CLIENT LIST")
		for _, l := range lines {
			require.NotEqual(t, ids[0], l.id)
		}
	})
}

// headers returns the `# Section` names of an INFO payload in order.
func headers(info string) []string {
	var out []string
	for _, l := range strings.Split(info, "\r\n") {
		if strings.HasPrefix(l, "# ") {
			out = append(out, l[2:])
		}
	}
	return out
}

// requireInOrder requires want to appear in got in this order (other names may come between).
func requireInOrder(t *testing.T, want, got []string, what string) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	require.Equal(t, len(want), i, "%s: sections %v must contain %v in this order", what, got, want)
}

var allSections = []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
	"Commandstats", "Errorstats", "Cluster", "Keyspace"}

var cmdstatRe = regexp.MustCompile(`^cmdstat_([a-z][a-z0-9_|-]*):calls=(\d+),usec=(\d+),usec_per_call=(\d+\.\d\d),rejected_calls=(\d+),failed_calls=(\d+)$`)

type cmdstat struct {
	calls, usec, rejected, failed int64
	perCall                       float64
}

// commandstats parses INFO commandstats.
func commandstats(t *testing.T, c *util.TCPClient) map[string]cmdstat {
	t.Helper()
	info := util.BulkPayload(t, c.Do("INFO", "commandstats"))
	require.True(t, strings.HasPrefix(info, "# Commandstats\r\n"), "%q", info)
	out := map[string]cmdstat{}
	for _, l := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(info, "# Commandstats\r\n"), "\r\n"), "\r\n") {
		if l == "" {
			continue
		}
		m := cmdstatRe.FindStringSubmatch(l)
		require.NotNil(t, m, "bad commandstats line %q", l)
		var s cmdstat
		s.calls, _ = strconv.ParseInt(m[2], 10, 64)
		s.usec, _ = strconv.ParseInt(m[3], 10, 64)
		s.perCall, _ = strconv.ParseFloat(m[4], 64)
		s.rejected, _ = strconv.ParseInt(m[5], 10, 64)
		s.failed, _ = strconv.ParseInt(m[6], 10, 64)
		if s.calls > 0 {
			require.InDelta(t, float64(s.usec)/float64(s.calls), s.perCall, 0.0051, "usec_per_call of %q", l)
		} else {
			require.Zero(t, s.perCall, "%q", l)
		}
		_, dup := out[m[1]]
		require.False(t, dup, "%s twice", m[1])
		out[m[1]] = s
	}
	return out
}

var errorstatRe = regexp.MustCompile(`^errorstat_([A-Z][A-Z0-9_-]*):count=(\d+)$`)

// errorstats parses INFO errorstats.
func errorstats(t *testing.T, c *util.TCPClient) map[string]int64 {
	t.Helper()
	info := util.BulkPayload(t, c.Do("INFO", "errorstats"))
	require.True(t, strings.HasPrefix(info, "# Errorstats\r\n"), "%q", info)
	out := map[string]int64{}
	for _, l := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(info, "# Errorstats\r\n"), "\r\n"), "\r\n") {
		if l == "" {
			continue
		}
		m := errorstatRe.FindStringSubmatch(l)
		require.NotNil(t, m, "bad errorstats line %q", l)
		out[m[1]], _ = strconv.ParseInt(m[2], 10, 64)
	}
	return out
}

func TestInfo(t *testing.T) {
	srv := util.StartServer(t, map[string]string{"regions": "4"})
	defer srv.Close()
	ctx := context.Background()
	rdb := srv.NewClient()
	defer func() { require.NoError(t, rdb.Close()) }()

	t.Run("INFO all and INFO everything have every section", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+OK\r\n", c.Do("SET", "k", "v"))
		for _, arg := range []string{"all", "everything", "ALL"} {
			info := util.BulkPayload(t, c.Do("INFO", arg))
			requireInOrder(t, allSections, headers(info), "INFO "+arg)
			require.NotContains(t, strings.ReplaceAll(info, "\r\n", ""), "\n", "INFO lines end in CRLF")
			require.Regexp(t, `(?m)^cmdstat_set:calls=\d+,`, info, "INFO %s includes commandstats", arg)
		}
	})

	t.Run("INFO without arguments", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		info := util.BulkPayload(t, c.Do("INFO"))
		requireInOrder(t, []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Cluster", "Keyspace"},
			headers(info), "INFO")
		for _, f := range []struct{ name, re string }{
			{"redis_version", `^\d+\.\d+\.\d+$`},
			{"run_id", `^[0-9a-f]{40}$`},
			{"tcp_port", `^` + strconv.Itoa(srv.Port()) + `$`},
			{"uptime_in_seconds", `^\d+$`},
			{"connected_clients", `^[1-9]\d*$`},
			{"used_memory", `^[1-9]\d*$`},
			{"role", `^master$`},
			{"used_cpu_sys", `^\d+\.\d+$`},
			{"used_cpu_user", `^\d+\.\d+$`},
			{"total_commands_processed", `^[1-9]\d*$`},
			{"total_connections_received", `^[1-9]\d*$`},
			{"loading", `^0$`},
			{"cluster_enabled", `^0$`},
		} {
			require.Regexp(t, f.re, util.InfoField(t, info, f.name), "INFO field %s", f.name)
		}
	})

	t.Run("commandstats counts calls", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		before := commandstats(t, c)
		for i := 0; i < 3; i++ {
			require.Equal(t, "$-1\r\n", c.Do("GET", "cs-missing"))
		}
		require.Equal(t, "+OK\r\n", c.Do("SET", "cs-k", "1"))
		require.Equal(t, "+OK\r\n", c.Do("SET", "cs-k", "2"))
		clientID(t, c)
		after := commandstats(t, c)
		require.Equal(t, before["get"].calls+3, after["get"].calls, "cmdstat_get calls")
		require.Equal(t, before["set"].calls+2, after["set"].calls, "cmdstat_set calls")
		require.GreaterOrEqual(t, after["get"].usec, before["get"].usec)
		require.Equal(t, before["client|id"].calls+1, after["client|id"].calls, "subcommands are counted as cmdstat_client|id")
		require.Positive(t, after["info"].calls, "INFO itself is counted")
		// other connections' commands count too
		v, err := rdb.Get(ctx, "cs-k").Result()
		require.NoError(t, err)
		require.Equal(t, "2", v)
		require.Equal(t, after["get"].calls+1, commandstats(t, c)["get"].calls, "a GET from another connection")
	})

	t.Run("commandstats counts rejected and failed calls like Redis 7", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+OK\r\n", c.Do("SET", "cs-str", "abc"))
		before := commandstats(t, c)
		require.Equal(t, "-ERR wrong number of arguments for 'get' command\r\n", c.Do("GET"))
		require.Equal(t, "-ERR value is not an integer or out of range\r\n", c.Do("INCR", "cs-str"))
		after := commandstats(t, c)
		require.Equal(t, before["get"].rejected+1, after["get"].rejected, "an arity error is a rejected call")
		require.Equal(t, before["get"].calls, after["get"].calls, "a rejected call is not a call")
		require.Equal(t, before["incr"].failed+1, after["incr"].failed, "an error from the command is a failed call")
		require.Equal(t, before["incr"].calls+1, after["incr"].calls, "a failed call is still a call")
	})

	t.Run("errorstats counts error replies by prefix", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		before := errorstats(t, c)
		require.True(t, strings.HasPrefix(c.Do("NOSUCHCOMMAND"), "-ERR unknown command"))
		require.Equal(t, "-ERR wrong number of arguments for 'get' command\r\n", c.Do("GET"))
		require.Equal(t, "-CROSSSLOT Keys in request don't hash to the same slot\r\n",
			c.Do("MSET", util.KeyInSlot(0, "a"), "1", util.KeyInSlot(16383, "b"), "2"))
		after := errorstats(t, c)
		require.Equal(t, before["ERR"]+2, after["ERR"], "errorstat_ERR")
		require.Equal(t, before["CROSSSLOT"]+1, after["CROSSSLOT"], "errorstat_CROSSSLOT")
		info := util.BulkPayload(t, c.Do("INFO", "errorstats"))
		require.Regexp(t, `(?m)^errorstat_ERR:count=\d+\r$`, info)
	})

	t.Run("Keyspace and Cluster sections", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+OK\r\n", c.Do("FLUSHALL"))
		require.Equal(t, "+OK\r\n", c.Do("SET", util.KeyInSlot(1, "a"), "1"))
		require.Equal(t, "+OK\r\n", c.Do("SET", util.KeyInSlot(16000, "b"), "2", "EX", "1000"))
		info := util.BulkPayload(t, c.Do("INFO", "keyspace"))
		m := regexp.MustCompile(`^# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=(\d+)\r\n$`).FindStringSubmatch(info)
		require.NotNil(t, m, "%q", info)
		// Redis estimates avg_ttl by sampling (0 until sampled); when set, it is in ms
		if avg, _ := strconv.ParseInt(m[1], 10, 64); avg != 0 {
			require.LessOrEqual(t, avg, int64(1000*1000), "avg_ttl is in ms")
			require.Greater(t, avg, int64(500*1000), "avg_ttl is in ms")
		}
		require.Equal(t, "# Cluster\r\ncluster_enabled:0\r\n", util.BulkPayload(t, c.Do("INFO", "cluster")))
	})
}
