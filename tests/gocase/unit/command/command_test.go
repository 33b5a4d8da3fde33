package command

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// node is one parsed RESP value together with its exact bytes.
type node struct {
	raw      string
	kind     byte
	text     string // simple/bulk payload or the number for integers
	children []node
}

// parseRESP parses one value from the start of s and returns it and the rest of s.
func parseRESP(t *testing.T, s string) (node, string) {
	t.Helper()
	i := strings.Index(s, "\r\n")
	require.GreaterOrEqual(t, i, 1, "truncated RESP: %q", s[:min(len(s), 80)])
	head, rest := s[:i], s[i+2:]
	n := node{kind: head[0], text: head[1:]}
	switch head[0] {
	case '+', '-', ':', '_', ',', '#', '(':
	case '$', '!', '=':
		l, err := strconv.Atoi(head[1:])
		require.NoError(t, err)
		if l >= 0 {
			n.text = rest[:l]
			rest = rest[l+2:]
		}
	case '*', '~', '%', '>':
		l, err := strconv.Atoi(head[1:])
		require.NoError(t, err)
		if head[0] == '%' {
			l *= 2
		}
		for j := 0; j < l; j++ {
			var c node
			c, rest = parseRESP(t, rest)
			n.children = append(n.children, c)
		}
	default:
		t.Fatalf("unknown RESP type in %q", head)
	}
	n.raw = s[:len(s)-len(rest)]
	return n, rest
}

func parseAll(t *testing.T, s string) node {
	t.Helper()
	n, rest := parseRESP(t, s)
	require.Empty(t, rest, "trailing bytes after the reply")
	return n
}

var containers = map[string]bool{"client": true, "command": true}

func TestCommand(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()
	rdb := srv.NewClient()
	defer func() { require.NoError(t, rdb.Close()) }()
	c2 := srv.NewTCPClient()
	c3 := srv.NewTCPClient()
	require.Contains(t, c3.Do("HELLO", "3"), "proto")

	names := make([]string, 0, len(redis7CommandInfo))
	for name := range redis7CommandInfo {
		names = append(names, name)
	}
	sort.Strings(names)

	t.Run("COMMAND INFO matches Redis 7.0.15 byte for byte", func(t *testing.T) {
		for _, name := range names {
			want := redis7CommandInfo[name]
			t.Run(strings.ReplaceAll(name, "|", "_"), func(t *testing.T) {
				require.Equal(t, "*1\r\n"+want.resp2, c2.Do("COMMAND", "INFO", name), "RESP2")
				require.Equal(t, "*1\r\n"+want.resp3, c3.Do("COMMAND", "INFO", name), "RESP3")
			})
		}
	})

	t.Run("COMMAND INFO of the containers CLIENT and COMMAND", func(t *testing.T) {
		for _, tc := range []struct {
			name, head string
		}{
			// name, arity, flags, first, last, step, acl categories, tips, key specs, then subcommands
			{"client", "*10\r\n$6\r\nclient\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n"},
			{"command", "*10\r\n$7\r\ncommand\r\n:-1\r\n*2\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*1\r\n$29\r\nnondeterministic_output_order\r\n*0\r\n"},
		} {
			r := c2.Do("COMMAND", "INFO", tc.name)
			top := parseAll(t, r)
			require.Len(t, top.children, 1)
			entry := top.children[0]
			require.Len(t, entry.children, 10, "%s entry", tc.name)
			head := ""
			for _, c := range entry.children[:9] {
				head += c.raw
			}
			require.Equal(t, tc.head, "*10\r\n"+head, "%s: the first nine fields", tc.name)
			subs := map[string]string{}
			for _, sub := range entry.children[9].children {
				subs[sub.children[0].text] = sub.raw
			}
			for _, name := range names {
				if strings.HasPrefix(name, tc.name+"|") {
					require.Contains(t, subs, name, "%s must list subcommand %s", tc.name, name)
					require.Equal(t, redis7CommandInfo[name].resp2, subs[name], name)
				}
			}
		}
	})

	t.Run("COMMAND INFO with several names, unknown names and any case", func(t *testing.T) {
		want := "*3\r\n" + redis7CommandInfo["get"].resp2 + "$-1\r\n" + redis7CommandInfo["set"].resp2
		require.Equal(t, want, c2.Do("COMMAND", "INFO", "GET", "nosuchcommand", "sEt"))
		want3 := "*3\r\n" + redis7CommandInfo["get"].resp3 + "_\r\n" + redis7CommandInfo["set"].resp3
		require.Equal(t, want3, c3.Do("command", "info", "get", "nosuchcommand", "SET"))
	})

	t.Run("COMMAND lists every command with 10-field entries, COMMAND COUNT agrees", func(t *testing.T) {
		all := parseAll(t, c2.Do("COMMAND"))
		require.Equal(t, byte('*'), all.kind)
		count := c2.Do("COMMAND", "COUNT")
		require.Equal(t, fmt.Sprintf(":%d\r\n", len(all.children)), count)
		byName := map[string]string{}
		for _, e := range all.children {
			require.Equal(t, byte('*'), e.kind)
			require.Len(t, e.children, 10, "entry %q", e.raw[:min(len(e.raw), 60)])
			name := e.children[0].text
			require.Equal(t, strings.ToLower(name), name, "command names are lower case")
			require.NotContains(t, byName, name, "duplicate entry")
			byName[name] = e.raw
		}
		for _, name := range names {
			if strings.Contains(name, "|") {
				continue
			}
			require.Contains(t, byName, name)
			require.Equal(t, redis7CommandInfo[name].resp2, byName[name], "COMMAND entry for %s", name)
		}
		for name := range containers {
			require.Contains(t, byName, name)
		}
		// COMMAND INFO without names is the same list
		require.Equal(t, len(all.children), len(parseAll(t, c2.Do("COMMAND", "INFO")).children))
	})

	t.Run("go-redis can load the command table", func(t *testing.T) {
		cmds, err := rdb.Command(ctx).Result()
		require.NoError(t, err)
		get := cmds["get"]
		require.NotNil(t, get)
		require.EqualValues(t, 2, get.Arity)
		require.EqualValues(t, 1, get.FirstKeyPos)
		require.EqualValues(t, 1, get.LastKeyPos)
		require.EqualValues(t, 1, get.StepCount)
		require.True(t, get.ReadOnly)
		require.ElementsMatch(t, []string{"readonly", "fast"}, get.Flags)
		mset := cmds["mset"]
		require.NotNil(t, mset)
		require.EqualValues(t, -3, mset.Arity)
		require.EqualValues(t, -1, mset.LastKeyPos)
		require.EqualValues(t, 2, mset.StepCount)
		require.False(t, mset.ReadOnly)
		require.NotNil(t, cmds["del"].CommandPolicy, "DEL carries request/response policy tips")
	})

	t.Run("COMMAND GETKEYS", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want []string
		}{
			{[]string{"GET", "k"}, []string{"k"}},
			{[]string{"SET", "k", "v", "EX", "10"}, []string{"k"}},
			{[]string{"mset", "a", "1", "b", "2", "c", "3"}, []string{"a", "b", "c"}},
			{[]string{"MSET", "a", "1", "b"}, []string{"a", "b"}},
			{[]string{"DEL", "a", "b", "c"}, []string{"a", "b", "c"}},
			{[]string{"MGET", "a", "b"}, []string{"a", "b"}},
			{[]string{"EXPIRE", "k", "10", "NX"}, []string{"k"}},
			{[]string{"GETEX", "k", "PERSIST"}, []string{"k"}},
			{[]string{"SETRANGE", "k", "0", "v"}, []string{"k"}},
		} {
			var want strings.Builder
			fmt.Fprintf(&want, "*%d\r\n", len(tc.want))
			for _, k := range tc.want {
				fmt.Fprintf(&want, "$%d\r\n%s\r\n", len(k), k)
			}
			args := append([]string{"COMMAND", "GETKEYS"}, tc.args...)
			require.Equal(t, want.String(), c2.Do(args...), "%q", tc.args)
		}
		for _, tc := range []struct {
			args []string
			err  string
		}{
			{[]string{"GET", "a", "b"}, "ERR Invalid number of arguments specified for command"},
			{[]string{"SET", "k"}, "ERR Invalid number of arguments specified for command"},
			{[]string{"PING", "x"}, "ERR The command has no key arguments"},
			{[]string{"ECHO", "x"}, "ERR The command has no key arguments"},
			{[]string{"NOSUCH", "a"}, "ERR Invalid command specified"},
			{[]string{"GET"}, "ERR wrong number of arguments for 'command|getkeys' command"},
			{[]string{}, "ERR wrong number of arguments for 'command|getkeys' command"},
		} {
			args := append([]string{"COMMAND", "GETKEYS"}, tc.args...)
			require.Equal(t, "-"+tc.err+"\r\n", c2.Do(args...), "%q", tc.args)
		}
	})

	t.Run("COMMAND errors", func(t *testing.T) {
		require.Equal(t, "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n", c2.Do("COMMAND", "FOO"))
		require.Equal(t, "-ERR wrong number of arguments for 'command|count' command\r\n", c2.Do("COMMAND", "COUNT", "x"))
		require.Regexp(t, regexp.MustCompile(`^:[1-9]\d*\r\n$`), c3.Do("COMMAND", "COUNT"))
	})
}
