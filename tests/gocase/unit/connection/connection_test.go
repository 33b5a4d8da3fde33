package connection

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// helloRe matches a HELLO reply in Redis 7 field order; group 1 is the client id.
// The values of `server` and `version` are not pinned (any non-empty bulk string).
func helloRe(proto int) *regexp.Regexp {
	head := `\*14\r\n`
	if proto == 3 {
		head = `%7\r\n`
	}
	return regexp.MustCompile(`^` + head +
		`\$6\r\nserver\r\n\$[1-9]\d*\r\n[^\r\n]+\r\n` +
		`\$7\r\nversion\r\n\$[1-9]\d*\r\n[^\r\n]+\r\n` +
		`\$5\r\nproto\r\n:` + strconv.Itoa(proto) + `\r\n` +
		`\$2\r\nid\r\n:(\d+)\r\n` +
		`\$4\r\nmode\r\n\$10\r\nstandalone\r\n` +
		`\$4\r\nrole\r\n\$6\r\nmaster\r\n` +
		`\$7\r\nmodules\r\n\*0\r\n$`)
}

func clientID(t *testing.T, c *util.TCPClient) int64 {
	t.Helper()
	r := c.Do("CLIENT", "ID")
	require.Regexp(t, `^:\d+\r\n$`, r)
	id, err := strconv.ParseInt(strings.TrimSuffix(r[1:], "\r\n"), 10, 64)
	require.NoError(t, err)
	return id
}

// infoField returns the value of `name:` in an INFO payload.
func infoField(t *testing.T, info, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `:([^\r\n]*)\r$`).FindStringSubmatch(info)
	require.NotNil(t, m, "INFO has no %s field:\n%s", name, info)
	return m[1]
}

// bulkPayload strips the RESP2 bulk header from a raw reply.
func bulkPayload(t *testing.T, raw string) string {
	t.Helper()
	require.True(t, strings.HasPrefix(raw, "$"), "not a bulk string: %q", raw)
	i := strings.Index(raw, "\r\n")
	n, err := strconv.Atoi(raw[1:i])
	require.NoError(t, err)
	body := raw[i+2:]
	require.Equal(t, n+2, len(body), "bulk length")
	return body[:n]
}

func TestConnection(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()
	rdb := srv.NewClient()
	defer func() { require.NoError(t, rdb.Close()) }()

	t.Run("PING and ECHO", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+PONG\r\n", c.Do("PING"))
		require.Equal(t, "$5\r\nhello\r\n", c.Do("PING", "hello"))
		require.Equal(t, "$0\r\n\r\n", c.Do("PING", ""))
		require.Equal(t, "$3\r\na\x00b\r\n", c.Do("ECHO", "a\x00b"))
		require.Equal(t, "-ERR wrong number of arguments for 'ping' command\r\n", c.Do("PING", "a", "b"))
		require.Equal(t, "-ERR wrong number of arguments for 'echo' command\r\n", c.Do("ECHO"))
		require.Equal(t, "-ERR wrong number of arguments for 'echo' command\r\n", c.Do("ECHO", "a", "b"))
		require.Contains(t, c.Do("HELLO", "3"), "proto")
		require.Equal(t, "+PONG\r\n", c.Do("PING"))
		require.Equal(t, "$1\r\nx\r\n", c.Do("PING", "x"))
		require.Equal(t, "PONG", rdb.Ping(ctx).Val())
	})

	t.Run("HELLO 3 replies a map with proto, id, mode, role and modules", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		id := clientID(t, c)
		r := c.Do("HELLO", "3")
		m := helloRe(3).FindStringSubmatch(r)
		require.NotNil(t, m, "HELLO 3 reply: %q", r)
		require.Equal(t, strconv.FormatInt(id, 10), m[1], "HELLO id must equal CLIENT ID")
		// HELLO without a version reports the current protocol
		r = c.Do("HELLO")
		require.NotNil(t, helloRe(3).FindStringSubmatch(r), "HELLO reply: %q", r)
		// RESP3 from now on
		require.Equal(t, "_\r\n", c.Do("GET", "nokey"))
	})

	t.Run("HELLO 2 replies a flat array and switches back to RESP2", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		r := c.Do("HELLO", "2")
		require.NotNil(t, helloRe(2).FindStringSubmatch(r), "HELLO 2 reply: %q", r)
		r = c.Do("HELLO")
		require.NotNil(t, helloRe(2).FindStringSubmatch(r), "HELLO reply on a fresh connection: %q", r)
		require.NotNil(t, helloRe(3).FindStringSubmatch(c.Do("HELLO", "3")))
		require.Equal(t, "_\r\n", c.Do("GET", "nokey"))
		require.NotNil(t, helloRe(2).FindStringSubmatch(c.Do("HELLO", "2")))
		require.Equal(t, "$-1\r\n", c.Do("GET", "nokey"))
	})

	t.Run("HELLO through go-redis", func(t *testing.T) {
		m, err := rdb.Do(ctx, "HELLO", "3").Result()
		require.NoError(t, err)
		hello, ok := m.(map[interface{}]interface{})
		require.True(t, ok, "HELLO 3 must be a map, got %T", m)
		require.EqualValues(t, 3, hello["proto"])
		require.Equal(t, "standalone", hello["mode"])
		require.Equal(t, "master", hello["role"])
		require.Equal(t, []interface{}{}, hello["modules"])
		require.NotEmpty(t, hello["server"])
		require.NotEmpty(t, hello["version"])
		id, err := rdb.ClientID(ctx).Result()
		require.NoError(t, err)
		require.Positive(t, id)
	})

	t.Run("HELLO errors leave the protocol unchanged", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		for _, tc := range []struct {
			args []string
			err  string
		}{
			{[]string{"HELLO", "4"}, "-NOPROTO unsupported protocol version\r\n"},
			{[]string{"HELLO", "1"}, "-NOPROTO unsupported protocol version\r\n"},
			{[]string{"HELLO", "0"}, "-NOPROTO unsupported protocol version\r\n"},
			{[]string{"HELLO", "abc"}, "-ERR Protocol version is not an integer or out of range\r\n"},
			{[]string{"HELLO", "3", "FOO"}, "-ERR Syntax error in HELLO option 'FOO'\r\n"},
			{[]string{"HELLO", "3", "AUTH", "default"}, "-ERR Syntax error in HELLO option 'AUTH'\r\n"},
			{[]string{"HELLO", "3", "SETNAME"}, "-ERR Syntax error in HELLO option 'SETNAME'\r\n"},
			{[]string{"HELLO", "3", "SETNAME", "a b"}, "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"},
		} {
			require.Equal(t, tc.err, c.Do(tc.args...), "%q", tc.args)
			require.Equal(t, "$-1\r\n", c.Do("GET", "nokey"), "still RESP2 after %q", tc.args)
		}
		require.Equal(t, "$-1\r\n", c.Do("CLIENT", "GETNAME"))
	})

	t.Run("HELLO SETNAME sets the connection name", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.NotNil(t, helloRe(3).FindStringSubmatch(c.Do("HELLO", "3", "SETNAME", "myconn")))
		require.Equal(t, "$6\r\nmyconn\r\n", c.Do("CLIENT", "GETNAME"))
	})

	t.Run("HELLO AUTH default with any password works without requirepass", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.NotNil(t, helloRe(3).FindStringSubmatch(c.Do("HELLO", "3", "AUTH", "default", "whatever")))
		require.Equal(t, "+OK\r\n", c.Do("AUTH", "default", "whatever"))
		require.Equal(t, "-ERR AUTH <password> called without any password configured for the default user. "+
			"Are you sure your configuration is correct?\r\n", c.Do("AUTH", "pw"))
		require.Equal(t, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", c.Do("AUTH", "nosuchuser", "pw"))
		require.Equal(t, "+PONG\r\n", c.Do("PING"))
	})

	t.Run("CLIENT ID is unique and increasing", func(t *testing.T) {
		c1 := srv.NewTCPClient()
		defer c1.Close()
		c2 := srv.NewTCPClient()
		defer c2.Close()
		id1, id2 := clientID(t, c1), clientID(t, c2)
		require.Greater(t, id2, id1)
		require.Equal(t, id1, clientID(t, c1), "stable for a connection")
		require.Equal(t, fmt.Sprintf(":%d\r\n", id1), c1.Do("CLIENT", "id"))
	})

	t.Run("CLIENT SETNAME and GETNAME", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		other := srv.NewTCPClient()
		defer other.Close()
		require.Equal(t, "$-1\r\n", c.Do("CLIENT", "GETNAME"))
		require.Equal(t, "+OK\r\n", c.Do("CLIENT", "SETNAME", "conn-1"))
		require.Equal(t, "$6\r\nconn-1\r\n", c.Do("CLIENT", "GETNAME"))
		require.Equal(t, "$-1\r\n", other.Do("client", "getname"), "names are per connection")
		for _, bad := range []string{"a b", "a\nb", "a\rb", "\x01", "caf\xc3\xa9"} {
			require.Equal(t, "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
				c.Do("CLIENT", "SETNAME", bad), "name %q", bad)
		}
		require.Equal(t, "$6\r\nconn-1\r\n", c.Do("CLIENT", "GETNAME"))
		require.Equal(t, "+OK\r\n", c.Do("CLIENT", "SETNAME", ""))
		require.Equal(t, "$-1\r\n", c.Do("CLIENT", "GETNAME"))
		require.Contains(t, c.Do("HELLO", "3"), "proto")
		require.Equal(t, "_\r\n", c.Do("CLIENT", "GETNAME"))
		require.Equal(t, "-ERR wrong number of arguments for 'client|setname' command\r\n", c.Do("CLIENT", "SETNAME"))
		require.Equal(t, "-ERR wrong number of arguments for 'client|setname' command\r\n", c.Do("CLIENT", "SETNAME", "a", "b"))
		require.Equal(t, "-ERR wrong number of arguments for 'client|getname' command\r\n", c.Do("CLIENT", "GETNAME", "x"))
		require.Equal(t, "-ERR wrong number of arguments for 'client|id' command\r\n", c.Do("CLIENT", "ID", "x"))
		require.Equal(t, "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n", c.Do("CLIENT", "FOO"))
		require.Equal(t, "-ERR wrong number of arguments for 'client' command\r\n", c.Do("CLIENT"))

		named := srv.NewClientWithOption(&redis.Options{ClientName: "gocase-named"})
		defer func() { require.NoError(t, named.Close()) }()
		require.Equal(t, "gocase-named", named.ClientGetName(ctx).Val())
	})

	t.Run("CLIENT SETINFO LIB-NAME and LIB-VER", func(t *testing.T) {
		// Redis 7.2 semantics (7.0.15 has no CLIENT SETINFO); clients send it on connect.
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+OK\r\n", c.Do("CLIENT", "SETINFO", "LIB-NAME", "go-redis"))
		require.Equal(t, "+OK\r\n", c.Do("CLIENT", "SETINFO", "lib-ver", "9.23.0"))
		require.True(t, strings.HasPrefix(c.Do("CLIENT", "SETINFO", "NO-SUCH-ATTR", "x"), "-ERR "))
		require.True(t, strings.HasPrefix(c.Do("CLIENT", "SETINFO", "LIB-NAME"), "-ERR "))
		require.Equal(t, "+PONG\r\n", c.Do("PING"))
	})

	t.Run("SELECT 0 works, any other database is out of range", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.NoError(t, rdb.Set(ctx, "sel", "v", 0).Err())
		require.Equal(t, "+OK\r\n", c.Do("SELECT", "0"))
		require.Equal(t, "-ERR DB index is out of range\r\n", c.Do("SELECT", "1"))
		require.Equal(t, "-ERR DB index is out of range\r\n", c.Do("SELECT", "15"))
		require.Equal(t, "-ERR DB index is out of range\r\n", c.Do("SELECT", "-1"))
		require.Equal(t, "-ERR value is not an integer or out of range\r\n", c.Do("SELECT", "abc"))
		require.Equal(t, "-ERR wrong number of arguments for 'select' command\r\n", c.Do("SELECT"))
		require.Equal(t, "$1\r\nv\r\n", c.Do("GET", "sel"), "still on db 0")
		db0 := srv.NewClientWithOption(&redis.Options{DB: 0})
		defer func() { require.NoError(t, db0.Close()) }()
		require.Equal(t, "v", db0.Get(ctx, "sel").Val())
	})

	t.Run("QUIT replies OK and closes the connection", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		c.MustWrite(t, util.EncodeArgs("PING")+util.EncodeArgs("QUIT")+util.EncodeArgs("SET", "afterquit", "1"))
		c.ExpectReply(t, "+PONG\r\n", "+OK\r\n")
		c.ExpectClosed(t)
		require.EqualValues(t, 0, rdb.Exists(ctx, "afterquit").Val(), "commands after QUIT must not run")
	})

	t.Run("RESET restores the connection defaults", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		id := clientID(t, c)
		require.Contains(t, c.Do("HELLO", "3", "SETNAME", "before-reset"), "proto")
		require.Equal(t, "+RESET\r\n", c.Do("RESET"))
		require.Equal(t, "$-1\r\n", c.Do("CLIENT", "GETNAME"), "RESET clears the name and returns to RESP2")
		require.Equal(t, "$-1\r\n", c.Do("GET", "nokey"))
		require.Equal(t, id, clientID(t, c), "RESET keeps the client id")
		require.Equal(t, "-ERR wrong number of arguments for 'reset' command\r\n", c.Do("RESET", "x"))
	})

	t.Run("DBSIZE", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.NoError(t, rdb.FlushDB(ctx).Err())
		require.Equal(t, ":0\r\n", c.Do("DBSIZE"))
		require.NoError(t, rdb.MSet(ctx, "a", 1, "b", 2, "c", 3).Err())
		require.Equal(t, ":3\r\n", c.Do("DBSIZE"))
		require.EqualValues(t, 3, rdb.DBSize(ctx).Val())
		require.Equal(t, "-ERR wrong number of arguments for 'dbsize' command\r\n", c.Do("DBSIZE", "x"))
	})

	t.Run("TIME", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		re := regexp.MustCompile(`^\*2\r\n\$\d+\r\n(\d+)\r\n\$\d+\r\n(\d+)\r\n$`)
		before := time.Now()
		r := c.Do("TIME")
		after := time.Now()
		m := re.FindStringSubmatch(r)
		require.NotNil(t, m, "TIME reply %q", r)
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		usec, _ := strconv.ParseInt(m[2], 10, 64)
		require.Less(t, usec, int64(1000000))
		require.GreaterOrEqual(t, usec, int64(0))
		got := time.Unix(sec, usec*1000)
		require.WithinRange(t, got, before.Add(-2*time.Second), after.Add(2*time.Second))
		require.Contains(t, c.Do("HELLO", "3"), "proto")
		require.NotNil(t, re.FindStringSubmatch(c.Do("TIME")), "TIME is an array of two bulk strings in RESP3 too")
		tm, err := rdb.Time(ctx).Result()
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), tm, 5*time.Second)
		require.Equal(t, "-ERR wrong number of arguments for 'time' command\r\n", c.Do("TIME", "x"))
	})

	t.Run("INFO has Server, Clients and Keyspace sections in Redis format", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		info := bulkPayload(t, c.Do("INFO"))
		require.NotContains(t, strings.ReplaceAll(info, "\r\n", ""), "\n", "INFO lines must end with CRLF")
		require.NotContains(t, strings.ReplaceAll(info, "\r\n", ""), "\r", "INFO lines must end with CRLF")
		require.True(t, strings.HasPrefix(info, "# Server\r\n"), "INFO starts with # Server: %q", info[:min(len(info), 40)])
		require.Contains(t, info, "\r\n# Clients\r\n")
		require.Contains(t, info, "\r\n# Keyspace\r\n")
		for _, line := range strings.Split(strings.TrimSuffix(info, "\r\n"), "\r\n") {
			if line == "" || strings.HasPrefix(line, "# ") {
				continue
			}
			require.Regexp(t, `^[^:\s]+:`, line, "INFO line must be key:value")
		}
	})

	t.Run("INFO server", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		info := bulkPayload(t, c.Do("INFO", "server"))
		require.True(t, strings.HasPrefix(info, "# Server\r\n"), "%q", info)
		require.NotContains(t, info, "# Clients")
		require.NotContains(t, info, "# Keyspace")
		require.NotEmpty(t, infoField(t, info, "redis_version"))
		require.Equal(t, "standalone", infoField(t, info, "redis_mode"))
		require.Regexp(t, `^[0-9a-f]{40}$`, infoField(t, info, "run_id"))
		require.Equal(t, strconv.Itoa(srv.Port()), infoField(t, info, "tcp_port"))
		up, err := strconv.Atoi(infoField(t, info, "uptime_in_seconds"))
		require.NoError(t, err)
		require.GreaterOrEqual(t, up, 0)
		upper := bulkPayload(t, c.Do("INFO", "SeRvEr"))
		require.True(t, strings.HasPrefix(upper, "# Server\r\n"), "section names are case-insensitive")
		require.Equal(t, infoField(t, info, "run_id"), infoField(t, upper, "run_id"))
	})

	t.Run("INFO clients counts connections", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		count := func() int {
			info := bulkPayload(t, c.Do("INFO", "clients"))
			require.True(t, strings.HasPrefix(info, "# Clients\r\n"), "%q", info)
			require.NotContains(t, info, "# Server")
			n, err := strconv.Atoi(infoField(t, info, "connected_clients"))
			require.NoError(t, err)
			return n
		}
		// Connections of earlier subtests may still be closing while we count, which moves the
		// baseline under us; such an attempt is repeated. The property must hold exactly once:
		// three more connections are counted as three more, and their close drops them again.
		counted := false
		for attempt := 0; attempt < 5 && !counted; attempt++ {
			base := util.Settle(t, "connected_clients", count)
			require.GreaterOrEqual(t, base, 1)
			extra := make([]*util.TCPClient, 3)
			for i := range extra {
				extra[i] = srv.NewTCPClient()
				require.Equal(t, "+PONG\r\n", extra[i].Do("PING"))
			}
			withExtra := count()
			for _, e := range extra {
				e.Close()
			}
			if withExtra != base+3 {
				t.Logf("attempt %d: %d connected with three more, baseline %d: another connection closed meanwhile", attempt, withExtra, base)
				continue
			}
			util.WaitFor(t, 10*time.Second, 20*time.Millisecond, func() bool { return count() <= base },
				"connected_clients did not drop back to %d", base)
			counted = true
		}
		require.True(t, counted, "three more connections were never counted as three more")
	})

	t.Run("INFO keyspace", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.NoError(t, rdb.FlushDB(ctx).Err())
		require.Equal(t, "# Keyspace\r\n", bulkPayload(t, c.Do("INFO", "keyspace")), "no db line for an empty database")
		require.NoError(t, rdb.MSet(ctx, "a", 1, "b", 2, "c", 3).Err())
		require.NoError(t, rdb.Expire(ctx, "a", time.Hour).Err())
		require.Regexp(t, `^# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=\d+\r\n$`, bulkPayload(t, c.Do("INFO", "keyspace")))
		require.Contains(t, rdb.Info(ctx, "keyspace").Val(), "db0:keys=3,expires=1,")
	})

	t.Run("INFO with several sections, unknown sections", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		info := bulkPayload(t, c.Do("INFO", "server", "keyspace"))
		require.True(t, strings.HasPrefix(info, "# Server\r\n"))
		require.Contains(t, info, "\r\n# Keyspace\r\n")
		require.NotContains(t, info, "# Clients")
		require.Equal(t, "$0\r\n\r\n", c.Do("INFO", "nosuchsection"))
	})

	t.Run("INFO is a verbatim string in RESP3", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.NoError(t, rdb.FlushDB(ctx).Err())
		require.Contains(t, c.Do("HELLO", "3"), "proto")
		require.Equal(t, "=16\r\ntxt:# Keyspace\r\n\r\n", c.Do("INFO", "keyspace"))
		info, err := rdb.Info(ctx, "server").Result()
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(info, "# Server\r\n"), "%q", info)
	})
}

func TestAuth(t *testing.T) {
	const pass = "s3cret-pw"
	srv := util.StartServer(t, map[string]string{"requirepass": pass})
	defer srv.Close()
	ctx := context.Background()
	const noauth = "-NOAUTH Authentication required.\r\n"
	const wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"

	t.Run("commands before AUTH get NOAUTH", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		for _, args := range [][]string{
			{"PING"}, {"GET", "k"}, {"SET", "k", "v"}, {"DBSIZE"}, {"INFO"}, {"CLIENT", "ID"},
			{"SELECT", "0"}, {"ECHO", "x"}, {"COMMAND", "COUNT"}, {"FLUSHALL"},
		} {
			require.Equal(t, noauth, c.Do(args...), "%q", args)
		}
		require.Equal(t, "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "+
			"HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol "+
			"version at the same time\r\n", c.Do("HELLO", "3"))
		require.Equal(t, "-ERR unknown command 'NOSUCH', with args beginning with: \r\n", c.Do("NOSUCH"))
	})

	t.Run("QUIT is allowed before AUTH", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+OK\r\n", c.Do("QUIT"))
		c.ExpectClosed(t)
	})

	t.Run("wrong passwords get WRONGPASS", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, wrongpass, c.Do("AUTH", "wrong"))
		require.Equal(t, wrongpass, c.Do("AUTH", "default", "wrong"))
		require.Equal(t, wrongpass, c.Do("AUTH", "someone", pass))
		require.Equal(t, wrongpass, c.Do("HELLO", "3", "AUTH", "default", "wrong"))
		require.Equal(t, "-ERR wrong number of arguments for 'auth' command\r\n", c.Do("AUTH"))
		require.Equal(t, "-ERR syntax error\r\n", c.Do("AUTH", "a", "b", "c"))
		require.Equal(t, noauth, c.Do("PING"), "still not authenticated")
	})

	t.Run("AUTH with the right password", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+OK\r\n", c.Do("AUTH", pass))
		require.Equal(t, "+PONG\r\n", c.Do("PING"))
		require.Equal(t, "+OK\r\n", c.Do("SET", "authed", "yes"))
		require.Equal(t, wrongpass, c.Do("AUTH", "wrong"))
		require.Equal(t, "$3\r\nyes\r\n", c.Do("GET", "authed"), "a failed re-AUTH keeps the session authenticated")

		c2 := srv.NewTCPClient()
		defer c2.Close()
		require.Equal(t, "+OK\r\n", c2.Do("AUTH", "default", pass))
		require.Equal(t, "$3\r\nyes\r\n", c2.Do("GET", "authed"))
	})

	t.Run("HELLO 3 AUTH SETNAME authenticates and switches protocol at once", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		r := c.Do("HELLO", "3", "AUTH", "default", pass, "SETNAME", "authed-conn")
		require.NotNil(t, helloRe(3).FindStringSubmatch(r), "%q", r)
		require.Equal(t, "$11\r\nauthed-conn\r\n", c.Do("CLIENT", "GETNAME"))
		require.Equal(t, "_\r\n", c.Do("GET", "nokey"))
	})

	t.Run("RESET deauthenticates", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+OK\r\n", c.Do("AUTH", pass))
		require.Equal(t, "+PONG\r\n", c.Do("PING"))
		require.Equal(t, "+RESET\r\n", c.Do("RESET"))
		require.Equal(t, noauth, c.Do("PING"))
	})

	t.Run("go-redis with and without the password", func(t *testing.T) {
		good := srv.NewClientWithOption(&redis.Options{Password: pass})
		defer func() { require.NoError(t, good.Close()) }()
		require.NoError(t, good.Set(ctx, "gr", "1", 0).Err())
		require.Equal(t, "1", good.Get(ctx, "gr").Val())
		good2 := srv.NewClientWithOption(&redis.Options{Password: pass, Protocol: 2})
		defer func() { require.NoError(t, good2.Close()) }()
		require.Equal(t, "1", good2.Get(ctx, "gr").Val())

		bad := srv.NewClientWithOption(&redis.Options{Password: "nope"})
		defer func() { _ = bad.Close() }()
		require.ErrorContains(t, bad.Ping(ctx).Err(), "WRONGPASS invalid username-password pair or user is disabled.")

		none := srv.NewClientWithOption(&redis.Options{})
		defer func() { _ = none.Close() }()
		require.EqualError(t, none.Ping(ctx).Err(), "NOAUTH Authentication required.")
	})

	t.Run("unauthenticated clients cannot send big requests", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		c.MustWrite(t, "*11\r\n")
		c.ExpectReply(t, "-ERR Protocol error: unauthenticated multibulk length\r\n")
		c.ExpectClosed(t)

		c = srv.NewTCPClient()
		defer c.Close()
		c.MustWrite(t, "*2\r\n$4\r\nAUTH\r\n$16385\r\n")
		c.ExpectReply(t, "-ERR Protocol error: unauthenticated bulk length\r\n")
		c.ExpectClosed(t)

		// at the limits: accepted
		c = srv.NewTCPClient()
		defer c.Close()
		c.MustWrite(t, util.EncodeArgs("SET", "a", "b", "c", "d", "e", "f", "g", "h", "i"))
		c.ExpectReply(t, noauth)
		c.MustWrite(t, util.EncodeArgs("AUTH", strings.Repeat("x", 16384)))
		c.ExpectReply(t, wrongpass)

		// after AUTH the limits are gone
		require.Equal(t, "+OK\r\n", c.Do("AUTH", pass))
		args := []string{"MSET"}
		for i := 0; i < 20; i++ {
			args = append(args, fmt.Sprintf("big%d", i), strings.Repeat("v", 20000))
		}
		require.Equal(t, "+OK\r\n", c.Do(args...))
		require.Equal(t, fmt.Sprintf("$20000\r\n%s\r\n", strings.Repeat("v", 20000)), c.Do("GET", "big19"))
	})
}
