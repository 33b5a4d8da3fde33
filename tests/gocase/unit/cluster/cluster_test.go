package cluster

import (
	"context"
	"fmt"
	"math/rand"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// The one-node cluster view of a standalone server, compared with redis-server 7.0.15 started
// with --cluster-enabled yes and CLUSTER ADDSLOTSRANGE 0 16383 (which leaves the ip empty when
// alone; RedRaft announces 127.0.0.1 or --announce-ip).

var idRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// myID returns CLUSTER MYID and checks its shape.
func myID(t *testing.T, c *util.TCPClient) string {
	t.Helper()
	r := c.Do("CLUSTER", "MYID")
	require.Regexp(t, `^\$40\r\n[0-9a-f]{40}\r\n$`, r)
	return r[5:45]
}

func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

// slotsReply is CLUSTER SLOTS of a node owning every slot; meta is "*0" (RESP2) or "%0" (RESP3).
func slotsReply(ip string, port int, id, meta string) string {
	return "*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n" + bulk(ip) + fmt.Sprintf(":%d\r\n", port) + bulk(id) + meta + "\r\n"
}

// nodesLine is the one CLUSTER NODES line; the bus port is the real port + 10000, as in
// Redis (an announced port does not move it).
func nodesLine(ip string, port, realPort int, id string) string {
	return fmt.Sprintf("%s %s:%d@%d myself,master - 0 0 0 connected 0-16383\n", id, ip, port, realPort+10000)
}

// shardsRe matches CLUSTER SHARDS of a node owning every slot; head is "*" (RESP2: maps as
// flat arrays of twice the length) or "%" (RESP3). replication-offset may be any integer.
func shardsRe(ip string, port int, id string, resp3 bool) *regexp.Regexp {
	outer, node := `\*4`, `\*14`
	if resp3 {
		outer, node = `%2`, `%7`
	}
	q := func(s string) string { return regexp.QuoteMeta(bulk(s)) }
	return regexp.MustCompile(`^\*1\r\n` + outer + `\r\n` +
		q("slots") + `\*2\r\n:0\r\n:16383\r\n` +
		q("nodes") + `\*1\r\n` + node + `\r\n` +
		q("id") + q(id) +
		q("port") + fmt.Sprintf(`:%d\r\n`, port) +
		q("ip") + q(ip) +
		q("endpoint") + q(ip) +
		q("role") + q("master") +
		q("replication-offset") + `:\d+\r\n` +
		q("health") + q("online") + `$`)
}

const clusterInfo = "cluster_state:ok\r\n" +
	"cluster_slots_assigned:16384\r\n" +
	"cluster_slots_ok:16384\r\n" +
	"cluster_slots_pfail:0\r\n" +
	"cluster_slots_fail:0\r\n" +
	"cluster_known_nodes:1\r\n" +
	"cluster_size:1\r\n" +
	"cluster_current_epoch:0\r\n" +
	"cluster_my_epoch:0\r\n" +
	"cluster_stats_messages_sent:0\r\n" +
	"cluster_stats_messages_received:0\r\n" +
	"total_cluster_links_buffer_limit_exceeded:0\r\n"

// checkView requires SLOTS, NODES, SHARDS (RESP2 and RESP3) to show one node id at ip:port
// owning all slots; it returns the id.
func checkView(t *testing.T, srv *util.Server, ip string, port int) string {
	t.Helper()
	c := srv.NewTCPClient()
	defer c.Close()
	id := myID(t, c)
	require.Equal(t, slotsReply(ip, port, id, "*0"), c.Do("CLUSTER", "SLOTS"))
	require.Equal(t, bulk(nodesLine(ip, port, srv.Port(), id)), c.Do("CLUSTER", "NODES"))
	r := c.Do("CLUSTER", "SHARDS")
	require.Regexp(t, shardsRe(ip, port, id, false), r)

	require.Contains(t, c.Do("HELLO", "3"), "proto")
	require.Equal(t, slotsReply(ip, port, id, "%0"), c.Do("CLUSTER", "SLOTS"))
	line := nodesLine(ip, port, srv.Port(), id)
	require.Equal(t, fmt.Sprintf("=%d\r\ntxt:%s\r\n", len(line)+4, line), c.Do("CLUSTER", "NODES"))
	r = c.Do("CLUSTER", "SHARDS")
	require.Regexp(t, shardsRe(ip, port, id, true), r)
	require.Equal(t, id, myID(t, c))
	return id
}

// Keys and slots computed by redis-server 7.0.15 (CLUSTER KEYSLOT).
var redisKeySlots = []struct {
	key  string
	slot int
}{
	{"", 0}, {"foo", 12182}, {"bar", 5061}, {"{user1000}.following", 3443}, {"{user1000}.followers", 3443},
	{"foo{}{bar}", 8363}, {"foo{{bar}}zap", 4015}, {"foo{bar}{zap}", 5061}, {"{}", 15257}, {"{", 4092},
	{"}", 12090}, {"{a", 10276}, {"a}", 5921}, {"}{a}", 15495}, {"{}a{b}", 16175}, {"a{b}c{d}", 3300},
	{"{{}}", 4092}, {"123456789", 12739}, {"key:1", 6657}, {"hello world", 15332},
}

func TestClusterView(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	defer srv.Close()
	ctx := context.Background()
	rdb := srv.NewClient()
	defer func() { require.NoError(t, rdb.Close()) }()

	var id string
	t.Run("SLOTS, NODES and SHARDS show one master owning 0-16383", func(t *testing.T) {
		id = checkView(t, srv, "127.0.0.1", srv.Port())
		require.Regexp(t, idRe, id)
	})

	t.Run("CLUSTER SLOTS through go-redis", func(t *testing.T) {
		for _, proto := range []int{2, 3} {
			cl := srv.NewClientWithOption(&redis.Options{Protocol: proto})
			slots, err := cl.ClusterSlots(ctx).Result()
			require.NoError(t, cl.Close())
			require.NoError(t, err, "RESP%d", proto)
			require.Len(t, slots, 1, "RESP%d", proto)
			require.Equal(t, 0, slots[0].Start, "RESP%d", proto)
			require.Equal(t, 16383, slots[0].End, "RESP%d", proto)
			require.Len(t, slots[0].Nodes, 1, "RESP%d", proto)
			require.Equal(t, id, slots[0].Nodes[0].ID, "RESP%d", proto)
			require.Equal(t, srv.Addr(), slots[0].Nodes[0].Addr, "RESP%d", proto)
			require.Empty(t, slots[0].Nodes[0].NetworkingMetadata, "RESP%d", proto)
		}
		shards, err := rdb.ClusterShards(ctx).Result()
		require.NoError(t, err)
		require.Len(t, shards, 1)
		require.Equal(t, []redis.SlotRange{{Start: 0, End: 16383}}, shards[0].Slots)
		require.Len(t, shards[0].Nodes, 1)
		n := shards[0].Nodes[0]
		require.Equal(t, id, n.ID)
		require.Equal(t, "127.0.0.1", n.IP)
		require.Equal(t, "127.0.0.1", n.Endpoint)
		require.EqualValues(t, srv.Port(), n.Port)
		require.Equal(t, "master", n.Role)
		require.Equal(t, "online", n.Health)
		require.GreaterOrEqual(t, n.ReplicationOffset, int64(0))
	})

	t.Run("CLUSTER INFO", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, bulk(clusterInfo), c.Do("CLUSTER", "INFO"))
		require.Contains(t, c.Do("HELLO", "3"), "proto")
		require.Equal(t, fmt.Sprintf("=%d\r\ntxt:%s\r\n", len(clusterInfo)+4, clusterInfo), c.Do("CLUSTER", "INFO"))
		info, err := rdb.ClusterInfo(ctx).Result()
		require.NoError(t, err)
		require.Equal(t, clusterInfo, info)
	})

	t.Run("CLUSTER MYID equals the id in NODES", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, id, myID(t, c))
		nodes, err := rdb.ClusterNodes(ctx).Result()
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(nodes, id+" "), "%q", nodes)
		require.Equal(t, "-ERR wrong number of arguments for 'cluster|myid' command\r\n", c.Do("CLUSTER", "MYID", "x"))
		require.Equal(t, "-ERR wrong number of arguments for 'cluster|slots' command\r\n", c.Do("CLUSTER", "SLOTS", "x"))
	})

	t.Run("CLUSTER KEYSLOT matches Redis", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		for _, ks := range redisKeySlots {
			require.Equal(t, ks.slot, util.KeySlot(ks.key), "test's own CRC16 of %q", ks.key)
			require.Equal(t, fmt.Sprintf(":%d\r\n", ks.slot), c.Do("CLUSTER", "KEYSLOT", ks.key), "key %q", ks.key)
		}
		r := rand.New(rand.NewSource(42))
		var pipe strings.Builder
		keys := make([]string, 500)
		for i := range keys {
			b := make([]byte, r.Intn(24))
			for j := range b {
				if r.Intn(5) == 0 {
					b[j] = "{}"[r.Intn(2)]
				} else {
					b[j] = byte(r.Intn(256))
				}
			}
			keys[i] = string(b)
			pipe.WriteString(util.EncodeArgs("CLUSTER", "KEYSLOT", keys[i]))
		}
		c.MustWrite(t, pipe.String())
		for _, k := range keys {
			got, err := c.ReadReply()
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf(":%d\r\n", util.KeySlot(k)), got, "CLUSTER KEYSLOT %q", k)
		}
		n, err := rdb.ClusterKeySlot(ctx, "{user1000}.following").Result()
		require.NoError(t, err)
		require.EqualValues(t, 3443, n)
		require.Equal(t, "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n", c.Do("CLUSTER", "KEYSLOT"))
		require.Equal(t, "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n", c.Do("CLUSTER", "KEYSLOT", "a", "b"))
	})

	t.Run("CLUSTER COUNTKEYSINSLOT and GETKEYSINSLOT", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.NoError(t, rdb.FlushAll(ctx).Err())
		slot, other := 7000, 7001
		inSlot := []string{util.KeyInSlot(slot, "a"), util.KeyInSlot(slot, "b"), util.KeyInSlot(slot, "c")}
		for _, k := range inSlot {
			require.NoError(t, rdb.Set(ctx, k, "v", 0).Err())
		}
		require.NoError(t, rdb.Set(ctx, util.KeyInSlot(other, "x"), "v", 0).Err())
		require.Equal(t, ":3\r\n", c.Do("CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(slot)))
		require.Equal(t, ":1\r\n", c.Do("CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(other)))
		require.Equal(t, ":0\r\n", c.Do("CLUSTER", "COUNTKEYSINSLOT", "0"))
		require.Equal(t, ":0\r\n", c.Do("CLUSTER", "COUNTKEYSINSLOT", "16383"))

		got, err := rdb.ClusterGetKeysInSlot(ctx, slot, 10).Result()
		require.NoError(t, err)
		sort.Strings(got)
		require.Equal(t, inSlot, got)
		got, err = rdb.ClusterGetKeysInSlot(ctx, slot, 2).Result()
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.Subset(t, inSlot, got)
		require.Equal(t, "*0\r\n", c.Do("CLUSTER", "GETKEYSINSLOT", strconv.Itoa(slot), "0"))
		require.Equal(t, "*0\r\n", c.Do("CLUSTER", "GETKEYSINSLOT", "0", "10"))
		require.Equal(t, "*1\r\n"+bulk(util.KeyInSlot(other, "x")), c.Do("CLUSTER", "GETKEYSINSLOT", strconv.Itoa(other), "5"))
		n, err := rdb.ClusterCountKeysInSlot(ctx, slot).Result()
		require.NoError(t, err)
		require.EqualValues(t, 3, n)

		require.NoError(t, rdb.Del(ctx, inSlot[0]).Err())
		require.Equal(t, ":2\r\n", c.Do("CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(slot)))

		for _, bad := range []string{"16384", "-1", "100000"} {
			require.Equal(t, "-ERR Invalid slot\r\n", c.Do("CLUSTER", "COUNTKEYSINSLOT", bad), "slot %s", bad)
		}
		for _, args := range [][]string{{"16384", "1"}, {"-1", "1"}, {"0", "-1"}} {
			require.Equal(t, "-ERR Invalid slot or number of keys\r\n",
				c.Do(append([]string{"CLUSTER", "GETKEYSINSLOT"}, args...)...), "GETKEYSINSLOT %q", args)
		}
		// Non-integer arguments: the integer error, as redis-server 7.0.15 replies.
		require.Equal(t, "-ERR value is not an integer or out of range\r\n", c.Do("CLUSTER", "COUNTKEYSINSLOT", "abc"))
		for _, args := range [][]string{{"abc", "1"}, {"0", "abc"}} {
			require.Equal(t, "-ERR value is not an integer or out of range\r\n",
				c.Do(append([]string{"CLUSTER", "GETKEYSINSLOT"}, args...)...), "GETKEYSINSLOT %q", args)
		}
		require.Equal(t, "-ERR wrong number of arguments for 'cluster|countkeysinslot' command\r\n", c.Do("CLUSTER", "COUNTKEYSINSLOT"))
		require.Equal(t, "-ERR wrong number of arguments for 'cluster|countkeysinslot' command\r\n", c.Do("CLUSTER", "COUNTKEYSINSLOT", "1", "2"))
		require.Equal(t, "-ERR wrong number of arguments for 'cluster|getkeysinslot' command\r\n", c.Do("CLUSTER", "GETKEYSINSLOT", "0"))
		require.Equal(t, "-ERR wrong number of arguments for 'cluster|getkeysinslot' command\r\n", c.Do("CLUSTER", "GETKEYSINSLOT", "0", "1", "2"))
		require.Equal(t, "+PONG\r\n", c.Do("PING"), "errors keep the connection open")
	})

	t.Run("READONLY, READWRITE and ASKING reply OK", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		for _, cmd := range []string{"READONLY", "READWRITE", "ASKING", "readonly", "asking"} {
			require.Equal(t, "+OK\r\n", c.Do(cmd), cmd)
		}
		require.Equal(t, "+OK\r\n", c.Do("SET", "after-readonly", "1"), "READONLY does not block writes on a master")
		require.Equal(t, "$1\r\n1\r\n", c.Do("GET", "after-readonly"))
		require.Equal(t, "-ERR wrong number of arguments for 'readonly' command\r\n", c.Do("READONLY", "x"))
		require.Equal(t, "-ERR wrong number of arguments for 'asking' command\r\n", c.Do("ASKING", "x"))
		require.NoError(t, rdb.ReadOnly(ctx).Err())
		require.NoError(t, rdb.ReadWrite(ctx).Err())
	})

	t.Run("INFO cluster says cluster_enabled:0", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "# Cluster\r\ncluster_enabled:0\r\n", util.BulkPayload(t, c.Do("INFO", "cluster")))
		require.Equal(t, "0", util.InfoField(t, util.BulkPayload(t, c.Do("INFO")), "cluster_enabled"))
	})
}

func TestClusterMyIDIsStable(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	c := srv.NewTCPClient()
	id := myID(t, c)
	c.Close()

	srv.Restart()
	c = srv.NewTCPClient()
	require.Equal(t, id, myID(t, c), "node id after a clean restart")
	c.Close()

	srv.Kill()
	srv.Restart()
	require.Equal(t, id, checkView(t, srv, "127.0.0.1", srv.Port()), "node id after SIGKILL and restart")

	other := util.StartServer(t, map[string]string{})
	c = other.NewTCPClient()
	require.NotEqual(t, id, myID(t, c), "another data dir is another node")
	c.Close()
	other.Close()
	srv.Close()
}

func TestClusterAnnounce(t *testing.T) {
	t.Run("announce-ip and announce-port", func(t *testing.T) {
		srv := util.StartServer(t, map[string]string{"announce-ip": "10.1.2.3", "announce-port": "7777"})
		defer srv.Close()
		checkView(t, srv, "10.1.2.3", 7777)
		// the server still serves on its real address
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+PONG\r\n", c.Do("PING"))
		require.Equal(t, bulk(clusterInfo), c.Do("CLUSTER", "INFO"))
	})
	t.Run("announce-port alone keeps the bind address", func(t *testing.T) {
		srv := util.StartServer(t, map[string]string{"announce-port": "7778"})
		defer srv.Close()
		checkView(t, srv, "127.0.0.1", 7778)
	})
	t.Run("announce-ip alone keeps the real port", func(t *testing.T) {
		srv := util.StartServer(t, map[string]string{"announce-ip": "192.168.77.5"})
		defer srv.Close()
		checkView(t, srv, "192.168.77.5", srv.Port())
	})
}
