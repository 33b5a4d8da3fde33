package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// The HTTP admin port (--admin-port): /health, /metrics (Prometheus text format 0.0.4),
// /cluster, POST /admin/regions/{id}/leader, and how it answers bad HTTP.

// adminServer is a standalone server with its admin port on a free port.
type adminServer struct {
	*util.Server
	base string // http://127.0.0.1:PORT
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func start(t *testing.T, regions int) *adminServer {
	t.Helper()
	port := freePort(t)
	srv := util.StartServer(t, map[string]string{"admin-port": strconv.Itoa(port), "regions": strconv.Itoa(regions)})
	return &adminServer{Server: srv, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// do sends one request and returns the status, the headers and the body.
func (s *adminServer) do(t *testing.T, method, path, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := httpClient.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func (s *adminServer) getJSON(t *testing.T, path string, into interface{}) {
	t.Helper()
	code, hdr, body := s.do(t, "GET", path, "")
	require.Equal(t, 200, code, body)
	require.Equal(t, "application/json", hdr.Get("Content-Type"))
	require.NoError(t, json.Unmarshal([]byte(body), into), body)
}

// ---- a small parser of the Prometheus text exposition format 0.0.4 ----------------------

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

type exposition struct {
	types   map[string]string // family -> counter, gauge, histogram, ...
	samples []sample
}

var metricNameRe = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// parseLabels reads `{k="v",...}` at the start of s; returns the labels and the rest.
func parseLabels(s string) (map[string]string, string, error) {
	labels := map[string]string{}
	if !strings.HasPrefix(s, "{") {
		return labels, s, nil
	}
	s = s[1:]
	for {
		if strings.HasPrefix(s, "}") {
			return labels, s[1:], nil
		}
		eq := strings.Index(s, "=")
		if eq <= 0 || !metricNameRe.MatchString(s[:eq]) || len(s) < eq+2 || s[eq+1] != '"' {
			return nil, "", fmt.Errorf("bad label at %q", s)
		}
		key := s[:eq]
		s = s[eq+2:]
		var v strings.Builder
		closed := false
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '\\' {
				if i+1 == len(s) {
					return nil, "", fmt.Errorf("dangling escape")
				}
				switch s[i+1] {
				case '\\':
					v.WriteByte('\\')
				case '"':
					v.WriteByte('"')
				case 'n':
					v.WriteByte('\n')
				default:
					return nil, "", fmt.Errorf("bad escape \\%c", s[i+1])
				}
				i++
				continue
			}
			if c == '"' {
				s = s[i+1:]
				closed = true
				break
			}
			v.WriteByte(c)
		}
		if !closed {
			return nil, "", fmt.Errorf("unterminated label value")
		}
		if _, dup := labels[key]; dup {
			return nil, "", fmt.Errorf("duplicate label %s", key)
		}
		labels[key] = v.String()
		if strings.HasPrefix(s, ",") {
			s = s[1:]
		} else if !strings.HasPrefix(s, "}") {
			return nil, "", fmt.Errorf("expected , or } at %q", s)
		}
	}
}

// familyOf is the family a sample name belongs to, given the declared types.
func familyOf(types map[string]string, name string) string {
	if _, ok := types[name]; ok {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base := strings.TrimSuffix(name, suffix); base != name && types[base] == "histogram" {
			return base
		}
	}
	return ""
}

// parseExposition parses and validates a whole exposition: every sample belongs to a family
// declared by a TYPE line, a family's lines are contiguous and declared once.
func parseExposition(t *testing.T, text string) *exposition {
	t.Helper()
	e := &exposition{types: map[string]string{}}
	require.True(t, strings.HasSuffix(text, "\n"), "an exposition ends with a line feed")
	done := map[string]bool{}
	current := ""
	enter := func(family string, line string) {
		if family != current {
			require.False(t, done[family], "family %s is not contiguous (line %q)", family, line)
			if current != "" {
				done[current] = true
			}
			current = family
		}
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		require.NotEmpty(t, line, "blank line in the exposition")
		if strings.HasPrefix(line, "#") {
			f := strings.SplitN(line, " ", 4)
			require.GreaterOrEqual(t, len(f), 3, "comment line %q", line)
			require.Contains(t, []string{"HELP", "TYPE"}, f[1], "comment line %q", line)
			require.Regexp(t, metricNameRe, f[2])
			enter(f[2], line)
			if f[1] == "TYPE" {
				require.Len(t, f, 4, line)
				require.Contains(t, []string{"counter", "gauge", "histogram", "summary", "untyped"}, f[3])
				_, dup := e.types[f[2]]
				require.False(t, dup, "TYPE of %s declared twice", f[2])
				e.types[f[2]] = f[3]
			}
			continue
		}
		end := strings.IndexAny(line, "{ ")
		require.Greater(t, end, 0, "sample line %q", line)
		name := line[:end]
		require.Regexp(t, metricNameRe, name)
		labels, rest, err := parseLabels(line[end:])
		require.NoError(t, err, "sample line %q", line)
		fields := strings.Fields(rest)
		require.True(t, len(fields) == 1 || len(fields) == 2, "sample line %q", line)
		v, err := strconv.ParseFloat(fields[0], 64)
		require.NoError(t, err, "value of %q", line)
		family := familyOf(e.types, name)
		require.NotEmpty(t, family, "sample %q without a TYPE line before it", line)
		enter(family, line)
		key := name + fmt.Sprint(sortedLabels(labels))
		require.False(t, seen[key], "duplicate sample %q", line)
		seen[key] = true
		e.samples = append(e.samples, sample{name: name, labels: labels, value: v})
	}
	return e
}

func sortedLabels(l map[string]string) []string {
	var out []string
	for k, v := range l {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// get is the value of the sample `name` whose labels include want; ok false when absent.
func (e *exposition) get(name string, want map[string]string) (float64, bool) {
	for _, s := range e.samples {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range want {
			if s.labels[k] != v {
				match = false
				break
			}
		}
		if match {
			return s.value, true
		}
	}
	return 0, false
}

// value is get with absent meaning 0 (a counter not yet shown).
func (e *exposition) value(name string, want map[string]string) float64 {
	v, _ := e.get(name, want)
	return v
}

func (e *exposition) all(name string) []sample {
	var out []sample
	for _, s := range e.samples {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

func (s *adminServer) metrics(t *testing.T) *exposition {
	t.Helper()
	code, hdr, body := s.do(t, "GET", "/metrics", "")
	require.Equal(t, 200, code, body)
	require.True(t, strings.HasPrefix(hdr.Get("Content-Type"), "text/plain; version=0.0.4"), hdr.Get("Content-Type"))
	return parseExposition(t, body)
}

func cmd(name string) map[string]string { return map[string]string{"cmd": name} }

// ---- tests ----------------------------------------------------------------------------------

func TestExpositionParser(t *testing.T) {
	e := parseExposition(t, "# HELP a_total x\n# TYPE a_total counter\n"+
		`a_total{cmd="s\"e\\t\n",b="1"} 3`+"\n# TYPE h histogram\n"+
		`h_bucket{le="+Inf"} 2`+"\nh_sum 0.5\nh_count 2\n")
	require.Equal(t, 3.0, e.value("a_total", map[string]string{"cmd": "s\"e\\t\n"}))
	require.Equal(t, 2.0, e.value("h_count", nil))
	inf, ok := e.get("h_bucket", map[string]string{"le": "+Inf"})
	require.True(t, ok)
	require.Equal(t, 2.0, inf)
	for _, bad := range []string{`{b="1}`, `{b=1}`, `{b="\x"}`, `{b="1" }`, `{="1"}`, `{b="1",b="2"}`} {
		_, _, err := parseLabels(bad)
		require.Error(t, err, bad)
	}
}

func TestHealth(t *testing.T) {
	s := start(t, 4)
	var h struct {
		Status  string `json:"status"`
		NodeID  string `json:"node_id"`
		Mode    string `json:"mode"`
		Regions int    `json:"regions"`
		Leaders int    `json:"leaders"`
	}
	s.getJSON(t, "/health", &h)
	require.Equal(t, "ok", h.Status)
	require.Regexp(t, `^[0-9a-f]{40}$`, h.NodeID)
	rdb := s.NewClient()
	defer func() { _ = rdb.Close() }()
	myid, err := rdb.Do(context.Background(), "CLUSTER", "MYID").Text()
	require.NoError(t, err)
	require.Equal(t, myid, h.NodeID, "/health shows the node id of CLUSTER MYID")
	require.Equal(t, "standalone", h.Mode)
	require.Equal(t, 4, h.Regions)
	require.Equal(t, 4, h.Leaders, "a standalone node leads every region")
}

func TestMetricsCommandCounters(t *testing.T) {
	s := start(t, 1)
	ctx := context.Background()
	rdb := s.NewClient()
	defer func() { _ = rdb.Close() }()
	require.NoError(t, rdb.Ping(ctx).Err())
	before := s.metrics(t)

	const sets = 37
	for i := 0; i < sets; i++ {
		require.NoError(t, rdb.Set(ctx, fmt.Sprintf("k%d", i), "v", 0).Err())
	}
	// Deliberate failures: INCR of a non-integer (ERR), LPUSH on a string (WRONGTYPE).
	require.NoError(t, rdb.Set(ctx, "str", "abc", 0).Err())
	require.ErrorContains(t, rdb.Incr(ctx, "str").Err(), "ERR value is not an integer")
	require.ErrorContains(t, rdb.LPush(ctx, "str", "x").Err(), "WRONGTYPE")
	after := s.metrics(t)

	diff := func(name string, labels map[string]string) float64 {
		return after.value(name, labels) - before.value(name, labels)
	}
	require.Equal(t, float64(sets+1), diff("redraft_commands_total", cmd("set")))
	require.Equal(t, 0.0, diff("redraft_command_errors_total", cmd("set")))
	require.Equal(t, 1.0, diff("redraft_commands_total", cmd("incr")))
	require.Equal(t, 1.0, diff("redraft_command_errors_total", cmd("incr")))
	require.Equal(t, 1.0, diff("redraft_command_errors_total", cmd("lpush")))
	require.Equal(t, 1.0, diff("redraft_errors_total", map[string]string{"error": "ERR"}))
	require.Equal(t, 1.0, diff("redraft_errors_total", map[string]string{"error": "WRONGTYPE"}))
	require.Equal(t, float64(sets+1), after.value("redraft_keys", nil))
	require.GreaterOrEqual(t, after.value("redraft_connected_clients", nil), 1.0)

	// Types of the families the dashboards use.
	for name, typ := range map[string]string{
		"redraft_commands_total": "counter", "redraft_command_errors_total": "counter",
		"redraft_errors_total": "counter", "redraft_command_duration_seconds": "histogram",
		"redraft_connected_clients": "gauge", "redraft_keys": "gauge", "redraft_expiring_keys": "gauge",
		"redraft_raft_applied_index": "gauge", "redraft_wal_syncs_total": "counter",
		"redraft_rocksdb_sst_bytes": "gauge", "redraft_rocksdb_live_data_bytes": "gauge",
		"redraft_rocksdb_wal_bytes": "gauge",
	} {
		require.Equal(t, typ, after.types[name], name)
	}
	require.Greater(t, after.value("redraft_rocksdb_wal_bytes", nil), 0.0, "writes are in the WAL")
	require.Greater(t, after.value("redraft_wal_syncs_total", nil), before.value("redraft_wal_syncs_total", nil))
	require.Greater(t, after.value("redraft_applied_entries_total", nil), before.value("redraft_applied_entries_total", nil))

	// Every command's histogram: bounds increasing up to +Inf, cumulative counts,
	// +Inf == _count == redraft_commands_total.
	for _, c := range []string{"set", "incr", "lpush", "ping"} {
		var les []float64
		var counts []float64
		for _, b := range after.all("redraft_command_duration_seconds_bucket") {
			if b.labels["cmd"] != c {
				continue
			}
			le, err := strconv.ParseFloat(b.labels["le"], 64)
			require.NoError(t, err, "le %q", b.labels["le"])
			les = append(les, le)
			counts = append(counts, b.value)
		}
		require.GreaterOrEqual(t, len(les), 10, "buckets of %s", c)
		require.True(t, math.IsInf(les[len(les)-1], 1), "the last bucket of %s is +Inf", c)
		require.Equal(t, 0.00001, les[0])
		require.Equal(t, 10.0, les[len(les)-2])
		for i := 1; i < len(les); i++ {
			require.Greater(t, les[i], les[i-1], "bucket bounds of %s increase", c)
			require.GreaterOrEqual(t, counts[i], counts[i-1], "buckets of %s are cumulative", c)
		}
		count := after.value("redraft_command_duration_seconds_count", cmd(c))
		require.Equal(t, counts[len(counts)-1], count, "+Inf bucket of %s equals _count", c)
		require.Equal(t, after.value("redraft_commands_total", cmd(c)), count, "_count of %s", c)
		sum, ok := after.get("redraft_command_duration_seconds_sum", cmd(c))
		require.True(t, ok, "_sum of %s", c)
		require.GreaterOrEqual(t, sum, 0.0, "_sum of %s", c)
	}
	// Microsecond resolution: a PING may take "0", a replicated SET does not.
	require.Greater(t, after.value("redraft_command_duration_seconds_sum", cmd("set")), 0.0)
	require.Equal(t, float64(sets+1),
		after.value("redraft_command_duration_seconds_count", cmd("set"))-
			before.value("redraft_command_duration_seconds_count", cmd("set")))
}

func TestRegionGauges(t *testing.T) {
	const n = 4
	s := start(t, n)
	ctx := context.Background()
	rdb := s.NewClient()
	defer func() { _ = rdb.Close() }()
	before := s.metrics(t)
	perRegion := []string{
		"redraft_raft_term", "redraft_raft_last_log_index", "redraft_raft_committed_index",
		"redraft_raft_applied_index", "redraft_raft_leader", "redraft_raft_is_leader",
		"redraft_raft_snapshot_index", "redraft_proposed_entries_total", "redraft_proposed_commands_total",
	}
	for _, name := range perRegion {
		require.Len(t, before.all(name), n, name)
		for r := 1; r <= n; r++ {
			_, ok := before.get(name, map[string]string{"region": strconv.Itoa(r)})
			require.True(t, ok, "%s{region=%q}", name, strconv.Itoa(r))
		}
	}
	// Three writes into every region.
	for r := 0; r < n; r++ {
		first, _ := util.RegionRange(r, n)
		for i := 0; i < 3; i++ {
			require.NoError(t, rdb.Set(ctx, util.KeyInSlot(first+i, "k"), "v", 0).Err())
		}
	}
	after := s.metrics(t)
	for r := 1; r <= n; r++ {
		l := map[string]string{"region": strconv.Itoa(r)}
		require.Equal(t, 1.0, after.value("redraft_raft_is_leader", l))
		require.Equal(t, 1.0, after.value("redraft_raft_leader", l), "a standalone region's leader is replica 1")
		require.GreaterOrEqual(t, after.value("redraft_raft_term", l), 1.0)
		applied := after.value("redraft_raft_applied_index", l)
		require.GreaterOrEqual(t, applied-before.value("redraft_raft_applied_index", l), 1.0,
			"applied index of region %d grows after writes", r)
		require.LessOrEqual(t, applied, after.value("redraft_raft_committed_index", l))
		require.LessOrEqual(t, after.value("redraft_raft_committed_index", l), after.value("redraft_raft_last_log_index", l))
		require.Equal(t, 3.0, after.value("redraft_proposed_commands_total", l)-before.value("redraft_proposed_commands_total", l))
		require.GreaterOrEqual(t, after.value("redraft_proposed_entries_total", l)-before.value("redraft_proposed_entries_total", l), 1.0)
	}
}

type clusterView struct {
	Mode    string `json:"mode"`
	NodeID  string `json:"node_id"`
	Regions []struct {
		ID      int     `json:"id"`
		Slots   []int   `json:"slots"`
		Leader  *uint64 `json:"leader"`
		Term    uint64  `json:"term"`
		Applied uint64  `json:"applied"`
		Members []int   `json:"members"`
	} `json:"regions"`
	Nodes []struct {
		ID   int    `json:"id"`
		ID40 string `json:"id40"`
		Host string `json:"host"`
		Port int    `json:"port"`
	} `json:"nodes"`
}

func TestClusterView(t *testing.T) {
	s := start(t, 4)
	var v clusterView
	s.getJSON(t, "/cluster", &v)
	require.Equal(t, "standalone", v.Mode)
	require.Regexp(t, `^[0-9a-f]{40}$`, v.NodeID)
	require.Len(t, v.Regions, 4)
	next := 0
	for i, r := range v.Regions {
		require.Equal(t, i+1, r.ID)
		require.Len(t, r.Slots, 2)
		require.Equal(t, next, r.Slots[0], "region %d starts where the previous ended", r.ID)
		require.GreaterOrEqual(t, r.Slots[1], r.Slots[0])
		first, last := util.RegionRange(i, 4)
		require.Equal(t, []int{first, last}, r.Slots)
		next = r.Slots[1] + 1
		require.NotNil(t, r.Leader)
		require.Equal(t, uint64(1), *r.Leader)
		require.GreaterOrEqual(t, r.Term, uint64(1))
		require.Equal(t, []int{1}, r.Members)
	}
	require.Equal(t, 16384, next, "the regions cover slots 0..16383")
	require.Len(t, v.Nodes, 1)
	require.Equal(t, 1, v.Nodes[0].ID)
	require.Equal(t, v.NodeID, v.Nodes[0].ID40)
	require.Equal(t, s.Port(), v.Nodes[0].Port)
	require.Equal(t, "127.0.0.1", v.Nodes[0].Host)
}

func TestLeaderTransfer(t *testing.T) {
	s := start(t, 2)
	path := "/admin/regions/1/leader"
	code, _, body := s.do(t, "POST", path, `{"to": 2}`)
	require.Equal(t, 400, code, body)
	var e map[string]interface{}
	require.NoError(t, json.Unmarshal([]byte(body), &e))
	require.Contains(t, e["error"], "not a voter", "a standalone region has one voter")

	// To itself: already the leader, nothing to do.
	code, _, body = s.do(t, "POST", path, `{"to": 1}`)
	require.Equal(t, 200, code, body)
	require.JSONEq(t, `{"ok":true}`, body)

	for _, bad := range []string{"", "{", `{"to":"x"}`, `{"to":-1}`, `{"from":1}`, `[1]`} {
		code, _, body = s.do(t, "POST", path, bad)
		require.Equal(t, 400, code, "body %q: %s", bad, body)
	}
	for _, p := range []string{"/admin/regions/3/leader", "/admin/regions/0/leader", "/admin/regions/x/leader"} {
		code, _, body = s.do(t, "POST", p, `{"to": 1}`)
		require.Equal(t, 404, code, "%s: %s", p, body)
	}
	code, hdr, _ := s.do(t, "GET", path, "")
	require.Equal(t, 405, code)
	require.Equal(t, "POST", hdr.Get("Allow"))

	var h struct {
		Leaders int `json:"leaders"`
	}
	s.getJSON(t, "/health", &h)
	require.Equal(t, 2, h.Leaders, "still leading both regions")
}

// rawHTTP sends raw bytes on a new connection and reads until the server closes it.
func rawHTTP(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, req)
	require.NoError(t, err)
	b, err := io.ReadAll(c)
	require.NoError(t, err, "the server closes the connection after its answer")
	return string(b)
}

func statusOf(t *testing.T, raw string) int {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	require.NoError(t, err, "answer %q", raw)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestHTTPErrorsAndKeepServing(t *testing.T) {
	s := start(t, 1)
	addr := strings.TrimPrefix(s.base, "http://")
	code, _, _ := s.do(t, "GET", "/nope", "")
	require.Equal(t, 404, code)
	code, _, _ = s.do(t, "GET", "/", "")
	require.Equal(t, 404, code)
	for _, p := range []string{"/health", "/metrics", "/cluster"} {
		code, hdr, _ := s.do(t, "POST", p, "{}")
		require.Equal(t, 405, code, p)
		require.Equal(t, "GET", hdr.Get("Allow"), p)
		code, _, _ = s.do(t, "DELETE", p, "")
		require.Equal(t, 405, code, p)
	}

	for _, tc := range []struct {
		req    string
		status int
	}{
		{"GARBAGE\r\n\r\n", 400},
		{"GET /health\r\n\r\n", 400},
		{"GET /health HTTP/1.1\r\nno colon here\r\n\r\n", 400},
		{"GET /health HTTP/1.1\r\nContent-Length: nope\r\n\r\n", 400},
		{"GET /health HTTP/9.9\r\n\r\n", 505},
		{"POST /admin/regions/1/leader HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n" + strings.Repeat("x", 70000), 413},
		{"GET /health HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 70000) + "\r\n\r\n", 431},
		{"\x00\x01\x02\xff\r\n\r\n", 400},
	} {
		raw := rawHTTP(t, addr, tc.req)
		require.Equal(t, tc.status, statusOf(t, raw), "request %.40q", tc.req)
	}

	// Keep-alive: two pipelined requests on one connection, the second closes it.
	raw := rawHTTP(t, addr, "GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /cluster HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	r := bufio.NewReader(strings.NewReader(raw))
	for _, want := range []string{`"status":"ok"`, `"regions":[`} {
		resp, err := http.ReadResponse(r, nil)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, string(b), want)
	}
	// A client that goes away mid-request does not disturb the server.
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, _ = io.WriteString(c, "POST /admin/regions/1/leader HTTP/1.1\r\nContent-Length: 50\r\n\r\n{\"to\"")
	_ = c.Close()

	// Still serving RESP and HTTP.
	ctx := context.Background()
	rdb := s.NewClient()
	defer func() { _ = rdb.Close() }()
	require.NoError(t, rdb.Set(ctx, "after", "bad-http", 0).Err())
	require.Equal(t, "bad-http", rdb.Get(ctx, "after").Val())
	code, _, body := s.do(t, "GET", "/health", "")
	require.Equal(t, 200, code, body)
	m := s.metrics(t)
	require.Equal(t, 1.0, m.value("redraft_commands_total", cmd("get")))
}
