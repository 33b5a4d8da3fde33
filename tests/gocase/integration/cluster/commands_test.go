package cluster

// A differential test of the 98 core commands (docs/COMMANDS.md): the same sequence of
// commands runs through a go-redis ClusterClient against a real 3-node cluster and through a
// plain go-redis client against a standalone redraft server (one region, which behaves like a
// single Redis server), and every step must get the same reply (values and error strings).
// Multi-key commands use hash tags so their keys share a slot; each group of commands uses a
// slot of its own, spread so that every node leads some of them. Keyless commands (DBSIZE,
// FLUSHALL, FLUSHDB) are per node in a cluster, and go-redis sends them to one node: they are
// compared as the aggregate over the masters. Replies that legitimately differ (CLUSTER
// INFO/NODES/SLOTS, INFO, CLIENT ID, TIME) get assertions of their own; random replies (SPOP,
// SRANDMEMBER, HRANDFIELD) are compared by their properties, TTLs within a tolerance.

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// coreCommands is the 98 core commands of docs/COMMANDS.md, grouped as there (and as in
// tests/pytest/test_command_coverage.py).
var coreCommands = map[string][]string{
	"general": {"PING", "ECHO", "CLUSTER"},
	"keys": {"DEL", "UNLINK", "EXISTS", "TYPE", "EXPIRE", "EXPIREAT", "PEXPIRE", "PEXPIREAT",
		"TTL", "PTTL", "PERSIST", "FLUSHDB", "FLUSHALL"},
	"string": {"GET", "SET", "SETNX", "SETEX", "PSETEX", "MGET", "MSET", "GETSET", "GETDEL",
		"GETEX", "STRLEN", "APPEND", "GETRANGE", "SETRANGE", "INCR", "DECR", "INCRBY",
		"DECRBY", "INCRBYFLOAT"},
	"hash": {"HSET", "HGET", "HDEL", "HMSET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN",
		"HEXISTS", "HSETNX", "HINCRBY", "HINCRBYFLOAT", "HRANDFIELD", "HSCAN"},
	"set": {"SADD", "SREM", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SRANDMEMBER",
		"SPOP", "SSCAN", "SINTER", "SUNION", "SDIFF", "SINTERCARD", "SMOVE", "SINTERSTORE",
		"SUNIONSTORE", "SDIFFSTORE"},
	"list": {"LPUSH", "RPUSH", "LPOP", "RPOP", "LLEN", "LINDEX", "LRANGE", "LPOS", "LSET",
		"LINSERT", "LREM", "LTRIM", "LMOVE", "LMPOP"},
	"sorted set": {"ZADD", "ZREM", "ZSCORE", "ZRANK", "ZREVRANK", "ZCARD", "ZCOUNT", "ZRANGE",
		"ZRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZINCRBY", "ZRANGEBYLEX",
		"ZLEXCOUNT", "ZPOPMIN", "ZPOPMAX", "ZSCAN"},
}

func allCoreCommands() []string {
	var out []string
	for _, g := range coreCommands {
		out = append(out, g...)
	}
	sort.Strings(out)
	return out
}

func TestCoreCommandListIsTheNinetyEightOfCommandsMd(t *testing.T) {
	sizes := map[string]int{}
	for g, cmds := range coreCommands {
		sizes[g] = len(cmds)
	}
	require.Equal(t, map[string]int{"general": 3, "keys": 13, "string": 19, "hash": 15, "set": 17,
		"list": 14, "sorted set": 17}, sizes)
	all := allCoreCommands()
	distinct := map[string]bool{}
	for _, c := range all {
		distinct[c] = true
	}
	require.Len(t, all, 98)
	require.Len(t, distinct, 98)
}

// Tolerances of TTL-style replies: the two servers get the command a few milliseconds apart.
const (
	ttlTolerance  = 1    // seconds
	pttlTolerance = 1000 // milliseconds
)

// differ runs each command on the cluster (through cc) and on the standalone server (through
// sa) and records which commands were compared.
type differ struct {
	cc *redis.ClusterClient
	sa *redis.Client

	mu       sync.Mutex
	used     map[string]int
	compared int
}

func (d *differ) record(args []interface{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.used[strings.ToUpper(fmt.Sprint(args[0]))]++
	d.compared++
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// both runs args on the cluster and on the standalone server, requires the same error (or
// none) and returns the two replies.
func (d *differ) both(t *testing.T, args ...interface{}) (onCluster, onStandalone interface{}, err error) {
	t.Helper()
	ctx := context.Background()
	cv, cerr := d.cc.Do(ctx, args...).Result()
	sv, serr := d.sa.Do(ctx, args...).Result()
	require.Equal(t, errText(serr), errText(cerr), "%v: the cluster's error differs from the standalone server's", args)
	d.record(args)
	return cv, sv, serr
}

// same requires the same reply (value or error) from the cluster and the standalone server
// and returns it.
func (d *differ) same(t *testing.T, args ...interface{}) interface{} {
	t.Helper()
	cv, sv, _ := d.both(t, args...)
	require.Equal(t, sv, cv, "%v: the cluster's reply differs from the standalone server's", args)
	return sv
}

// sameErr is same for a command that must fail on both with want.
func (d *differ) sameErr(t *testing.T, want string, args ...interface{}) {
	t.Helper()
	_, _, err := d.both(t, args...)
	require.EqualError(t, err, want, "%v", args)
}

// sameWithin requires integer replies (TTL, PTTL) within tol of each other; negative replies
// (no key, no expiry) must be equal. It returns the standalone reply.
func (d *differ) sameWithin(t *testing.T, tol int64, args ...interface{}) int64 {
	t.Helper()
	cv, sv, err := d.both(t, args...)
	require.NoError(t, err, "%v", args)
	c, s := cv.(int64), sv.(int64)
	if c < 0 || s < 0 {
		require.Equal(t, s, c, "%v", args)
	} else {
		require.InDelta(t, s, c, float64(tol), "%v: cluster %d, standalone %d", args, c, s)
	}
	return s
}

// sameProperty runs args on both and requires check to hold for each reply (random replies).
func (d *differ) sameProperty(t *testing.T, check func(t *testing.T, reply interface{}), args ...interface{}) (onCluster, onStandalone interface{}) {
	t.Helper()
	cv, sv, err := d.both(t, args...)
	require.NoError(t, err, "%v", args)
	check(t, cv)
	check(t, sv)
	return cv, sv
}

// sameTx runs the same transaction (one slot) through cc.TxPipelined and sa.TxPipelined and
// requires the same reply, or the same error, for every queued command.
func (d *differ) sameTx(t *testing.T, queue ...[]interface{}) {
	t.Helper()
	ctx := context.Background()
	fill := func(p redis.Pipeliner) error {
		for _, args := range queue {
			p.Do(ctx, args...)
		}
		return nil
	}
	ccmds, cerr := d.cc.TxPipelined(ctx, fill)
	scmds, serr := d.sa.TxPipelined(ctx, fill)
	require.Len(t, ccmds, len(queue))
	require.Len(t, scmds, len(queue))
	if strings.HasPrefix(errText(serr), "EXECABORT") {
		// For an EXEC refused because queueing failed, go-redis' ClusterClient returns the
		// queueing error and the plain client EXEC's EXECABORT; the per-command errors
		// compared below carry both.
		require.Equal(t, errText(queueingErr(scmds)), errText(cerr), "transaction %v", queue)
	} else {
		require.Equal(t, errText(serr), errText(cerr), "transaction %v", queue)
	}
	for i, args := range queue {
		cv, cerr := ccmds[i].(*redis.Cmd).Result()
		sv, serr := scmds[i].(*redis.Cmd).Result()
		require.Equal(t, errText(serr), errText(cerr), "transaction step %d %v", i, args)
		require.Equal(t, sv, cv, "transaction step %d %v", i, args)
		d.record(args)
	}
}

// queueingErr is the first error of a command that was refused while queueing (not EXECABORT).
func queueingErr(cmds []redis.Cmder) error {
	for _, c := range cmds {
		if err := c.Err(); err != nil && !strings.HasPrefix(err.Error(), "EXECABORT") {
			return err
		}
	}
	return nil
}

// strs turns an array reply into strings.
func strs(t *testing.T, reply interface{}) []string {
	t.Helper()
	arr, ok := reply.([]interface{})
	require.True(t, ok, "not an array: %#v", reply)
	out := make([]string, len(arr))
	for i, v := range arr {
		out[i], ok = v.(string)
		require.True(t, ok, "not a string: %#v", v)
	}
	return out
}

func toArgs(s []string) []interface{} {
	out := make([]interface{}, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// requireMembersOf requires every element of got to be one of from, and returns how many
// distinct elements got holds.
func requireMembersOf(t *testing.T, got []string, from []string) int {
	t.Helper()
	distinct := map[string]bool{}
	for _, g := range got {
		require.Contains(t, from, g)
		distinct[g] = true
	}
	return len(distinct)
}

// sameSummedOverMasters runs an integer command (DBSIZE) on every master of the cluster and
// requires the sum of their replies to be the standalone server's reply. go-redis sends a
// keyless command to one node only: the aggregate is the test's to make.
func (d *differ) sameSummedOverMasters(t *testing.T, args ...interface{}) int64 {
	t.Helper()
	ctx := context.Background()
	var total int64
	require.NoError(t, d.cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.Do(ctx, args...).Int64()
		atomic.AddInt64(&total, n)
		return err
	}), "%v on the masters", args)
	want, err := d.sa.Do(ctx, args...).Int64()
	require.NoError(t, err, "%v on the standalone server", args)
	require.Equal(t, want, total, "%v: the masters' replies add up to the standalone reply", args)
	d.record(args)
	return want
}

// sameOnEveryMaster runs a keyless command (FLUSHALL) on every master of the cluster and
// requires each master's reply to be the standalone server's reply.
func (d *differ) sameOnEveryMaster(t *testing.T, args ...interface{}) {
	t.Helper()
	ctx := context.Background()
	want, err := d.sa.Do(ctx, args...).Result()
	require.NoError(t, err, "%v on the standalone server", args)
	var mu sync.Mutex
	replies := map[string]interface{}{}
	require.NoError(t, d.cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		v, err := m.Do(ctx, args...).Result()
		mu.Lock()
		replies[m.Options().Addr] = v
		mu.Unlock()
		return err
	}), "%v on the masters", args)
	require.NotEmpty(t, replies)
	for addr, v := range replies {
		require.Equal(t, want, v, "%v on master %s", args, addr)
	}
	d.record(args)
}

// requireSameKey requires key to have the same type, value and deadline (within
// pttlTolerance) on the leader l and on the follower f (a READONLY client).
func requireSameKey(t *testing.T, l, f *redis.Client, key string) {
	t.Helper()
	ctx := context.Background()
	typ := l.Type(ctx, key).Val()
	require.Equal(t, typ, f.Type(ctx, key).Val(), "TYPE %s", key)
	read := map[string][]interface{}{
		"string": {"GET", key},
		"hash":   {"HGETALL", key},
		"set":    {"SMEMBERS", key},
		"list":   {"LRANGE", key, 0, -1},
		"zset":   {"ZRANGE", key, 0, -1, "WITHSCORES"},
	}[typ]
	require.NotNil(t, read, "TYPE %s is %q", key, typ)
	want, err := l.Do(ctx, read...).Result()
	require.NoError(t, err, "%v on the leader", read)
	got, err := f.Do(ctx, read...).Result()
	require.NoError(t, err, "%v on a follower", read)
	require.Equal(t, want, got, "%v on a follower", read)
	lt, err := l.Do(ctx, "PTTL", key).Int64()
	require.NoError(t, err)
	ft, err := f.Do(ctx, "PTTL", key).Int64()
	require.NoError(t, err)
	if lt < 0 || ft < 0 {
		require.Equal(t, lt, ft, "PTTL %s", key)
	} else {
		require.InDelta(t, lt, ft, pttlTolerance, "PTTL %s", key)
	}
}

var keyspaceLine = regexp.MustCompile(`(?m)^db0:keys=(\d+),expires=(\d+),`)

// keyspaceCounts is the keys= and expires= of db0 in INFO keyspace (0, 0 without a db0 line).
func keyspaceCounts(ctx context.Context, rdb *redis.Client) (keys, expires int64, err error) {
	info, err := rdb.Info(ctx, "keyspace").Result()
	if err != nil {
		return 0, 0, err
	}
	m := keyspaceLine.FindStringSubmatch(info)
	if m == nil {
		return 0, 0, nil
	}
	keys, _ = strconv.ParseInt(m[1], 10, 64)
	expires, _ = strconv.ParseInt(m[2], 10, 64)
	return keys, expires, nil
}

// requireLeadersOnEveryNode requires the slots to be led by every node of the cluster.
func requireLeadersOnEveryNode(t *testing.T, c *util.Cluster, slots []int) {
	t.Helper()
	leaders := map[string]bool{}
	for _, s := range slots {
		leaders[c.LeaderOf(s).Addr()] = true
	}
	require.Len(t, leaders, len(c.Nodes), "the command groups' slots are led by %v", leaders)
}

func TestClusterClientMatchesStandaloneOnEveryCoreCommand(t *testing.T) {
	start := time.Now()
	c := util.StartCluster(t, 3, nil)
	standalone := util.StartServer(t, nil)
	ctx := context.Background()
	cc := c.NewClusterClient()
	defer func() { _ = cc.Close() }()
	sa := standalone.NewClient()
	defer func() { _ = sa.Close() }()
	d := &differ{cc: cc, sa: sa, used: map[string]int{}}

	// One slot per group, spread over the slot space: the six regions of a 3-node cluster
	// each get at least one, so all three nodes serve some.
	groups := []string{"strings", "keys", "hash", "set", "list", "zset", "tx", "misc"}
	slot := map[string]int{}
	var slots []int
	for i, g := range groups {
		slot[g] = (2*i + 1) * util.SlotCount / (2 * len(groups))
		slots = append(slots, slot[g])
	}
	// key is a key of group g: every key of a group hashes to the group's slot.
	key := func(g, name string) string { return util.KeyInSlot(slot[g], g+":"+name) }

	t.Run("the command groups are spread over every node", func(t *testing.T) {
		requireLeadersOnEveryNode(t, c, slots)
	})

	t.Run("strings", func(t *testing.T) {
		k, n, f := key("strings", "k"), key("strings", "n"), key("strings", "f")
		d.same(t, "GET", k)
		d.same(t, "SET", k, "hello")
		d.same(t, "GET", k)
		d.same(t, "SET", k, "world", "XX", "GET")
		d.same(t, "SET", k, "nope", "NX")
		d.same(t, "SET", k, "nope", "NX", "GET")
		d.same(t, "SETNX", k, "nope")
		d.same(t, "SETNX", key("strings", "fresh"), "yes")
		d.sameErr(t, "ERR syntax error", "SET", k, "v", "NX", "XX")
		d.sameErr(t, "ERR wrong number of arguments for 'get' command", "GET", k, "extra")

		d.same(t, "SET", k, "v", "EX", 100)
		d.sameWithin(t, ttlTolerance, "TTL", k)
		d.same(t, "SET", k, "v2", "KEEPTTL")
		d.sameWithin(t, ttlTolerance, "TTL", k)
		d.same(t, "SET", k, "v", "PX", 100000)
		d.sameWithin(t, pttlTolerance, "PTTL", k)
		at := time.Now().Add(time.Hour)
		d.same(t, "SET", k, "v", "EXAT", at.Unix())
		d.sameWithin(t, ttlTolerance, "TTL", k)
		d.same(t, "SET", k, "v", "PXAT", at.UnixMilli())
		d.sameWithin(t, pttlTolerance, "PTTL", k)
		d.same(t, "SETEX", k, 100, "setex")
		d.sameWithin(t, ttlTolerance, "TTL", k)
		d.sameErr(t, "ERR invalid expire time in 'setex' command", "SETEX", k, 0, "v")
		d.same(t, "PSETEX", k, 100000, "psetex")
		d.sameWithin(t, pttlTolerance, "PTTL", k)
		d.same(t, "GET", k)

		d.same(t, "GETEX", k, "EX", 200)
		d.sameWithin(t, ttlTolerance, "TTL", k)
		d.same(t, "GETEX", k, "PX", 200000)
		d.sameWithin(t, pttlTolerance, "PTTL", k)
		d.same(t, "GETEX", k, "EXAT", at.Unix())
		d.same(t, "GETEX", k, "PXAT", at.UnixMilli())
		d.sameWithin(t, pttlTolerance, "PTTL", k)
		d.same(t, "GETEX", k, "PERSIST")
		d.same(t, "TTL", k)
		d.same(t, "GETEX", k)
		d.same(t, "GETEX", key("strings", "missing"))

		a, b, missing := key("strings", "a"), key("strings", "b"), key("strings", "missing")
		d.same(t, "MSET", a, "1", b, "2")
		d.same(t, "MGET", a, b, missing, k)
		d.sameErr(t, "ERR wrong number of arguments for 'mset' command", "MSET", a, "1", b)
		d.same(t, "GETSET", a, "10")
		d.same(t, "GETSET", missing, "m")
		d.same(t, "GETDEL", missing)
		d.same(t, "GETDEL", missing)
		d.same(t, "STRLEN", a)
		d.same(t, "STRLEN", missing)
		d.same(t, "APPEND", a, "0 and more")
		d.same(t, "APPEND", missing, "new")
		d.same(t, "GETRANGE", a, 0, 3)
		d.same(t, "GETRANGE", a, -4, -1)
		d.same(t, "GETRANGE", a, 100, 200)
		d.same(t, "SETRANGE", a, 3, "XYZ")
		d.same(t, "SETRANGE", key("strings", "padded"), 5, "tail")
		d.same(t, "GET", key("strings", "padded"))
		d.sameErr(t, "ERR offset is out of range", "SETRANGE", a, -1, "x")

		d.same(t, "INCR", n)
		d.same(t, "INCRBY", n, 41)
		d.same(t, "DECR", n)
		d.same(t, "DECRBY", n, 50)
		d.same(t, "INCRBY", n, -3)
		d.sameErr(t, "ERR value is not an integer or out of range", "INCR", a)
		d.sameErr(t, "ERR value is not an integer or out of range", "INCRBY", n, "x")
		d.same(t, "SET", n, strconv.FormatInt(1<<62+(1<<62-1), 10))
		d.sameErr(t, "ERR increment or decrement would overflow", "INCR", n)
		d.same(t, "INCRBYFLOAT", f, "10.5")
		d.same(t, "INCRBYFLOAT", f, "-0.25")
		d.same(t, "INCRBYFLOAT", f, "5.0e3")
		d.same(t, "GET", f)
		d.sameErr(t, "ERR value is not a valid float", "INCRBYFLOAT", f, "abc")
		d.sameErr(t, "ERR value is not a valid float", "INCRBYFLOAT", a, "1")

		bin := key("strings", "bin")
		d.same(t, "SET", bin, util.AllBytes())
		d.same(t, "GET", bin)
		d.same(t, "STRLEN", bin)
		// A value bigger than gRPC's default 4 MiB message limit, replicated to two followers.
		big := strings.Repeat(util.AllBytes(), 5<<20/256)
		d.same(t, "SET", bin, big)
		d.same(t, "STRLEN", bin)
		d.same(t, "GETRANGE", bin, 5<<20-300, -1)
		d.same(t, "APPEND", bin, "!")
		d.same(t, "SET", key("strings", "ttl"), "v", "EX", 1000)

		d.same(t, "HSET", key("strings", "hash"), "f", "v")
		d.sameErr(t, "WRONGTYPE Operation against a key holding the wrong kind of value", "GET", key("strings", "hash"))
		d.sameErr(t, "WRONGTYPE Operation against a key holding the wrong kind of value", "APPEND", key("strings", "hash"), "x")
	})

	t.Run("keys and expiry", func(t *testing.T) {
		s, h, st, l, z := key("keys", "s"), key("keys", "h"), key("keys", "st"), key("keys", "l"), key("keys", "z")
		none := key("keys", "none")
		d.same(t, "SET", s, "v")
		d.same(t, "HSET", h, "f", "v")
		d.same(t, "SADD", st, "m")
		d.same(t, "RPUSH", l, "e")
		d.same(t, "ZADD", z, 1, "m")
		for _, k := range []string{s, h, st, l, z, none} {
			d.same(t, "TYPE", k)
		}
		d.same(t, "EXISTS", s, h, none, s)
		d.same(t, "EXISTS", none)

		d.same(t, "TTL", s)
		d.same(t, "TTL", none)
		d.same(t, "PTTL", s)
		d.same(t, "PTTL", none)
		d.same(t, "EXPIRE", s, 100)
		d.sameWithin(t, ttlTolerance, "TTL", s)
		d.same(t, "EXPIRE", s, 50, "GT")
		d.same(t, "EXPIRE", s, 500, "GT")
		d.same(t, "EXPIRE", s, 1000, "LT")
		d.same(t, "EXPIRE", s, 400, "LT")
		d.same(t, "EXPIRE", s, 300, "NX")
		d.same(t, "EXPIRE", h, 300, "XX")
		d.same(t, "EXPIRE", h, 300, "NX")
		d.same(t, "EXPIRE", h, 600, "XX")
		d.sameWithin(t, ttlTolerance, "TTL", s)
		d.sameWithin(t, ttlTolerance, "TTL", h)
		d.same(t, "EXPIRE", none, 100)
		d.sameErr(t, "ERR NX and XX, GT or LT options at the same time are not compatible", "EXPIRE", s, 10, "NX", "XX")
		d.sameErr(t, "ERR value is not an integer or out of range", "EXPIRE", s, "soon")

		at := time.Now().Add(2 * time.Hour)
		d.same(t, "EXPIREAT", st, at.Unix())
		d.sameWithin(t, ttlTolerance, "TTL", st)
		d.same(t, "EXPIREAT", st, at.Add(time.Hour).Unix(), "GT")
		d.sameWithin(t, ttlTolerance, "TTL", st)
		d.same(t, "PEXPIRE", l, 250000)
		d.sameWithin(t, pttlTolerance, "PTTL", l)
		d.same(t, "PEXPIRE", l, 500000, "LT")
		d.same(t, "PEXPIREAT", z, at.UnixMilli())
		d.sameWithin(t, pttlTolerance, "PTTL", z)
		d.same(t, "PEXPIREAT", z, at.UnixMilli(), "XX")
		d.same(t, "PEXPIREAT", none, at.UnixMilli())

		d.same(t, "PERSIST", s)
		d.same(t, "PERSIST", s)
		d.same(t, "PERSIST", none)
		d.same(t, "TTL", s)

		// A past deadline deletes the key at once.
		d.same(t, "EXPIREAT", h, 1)
		d.same(t, "EXISTS", h)
		d.same(t, "TYPE", h)

		// A key with a 1 ms TTL is gone (passive expiry) once both servers say so.
		gone := key("keys", "gone")
		d.same(t, "SET", gone, "v", "PX", 1)
		util.WaitFor(t, 10*time.Second, 5*time.Millisecond, func() bool {
			return cc.Exists(ctx, gone).Val() == 0 && sa.Exists(ctx, gone).Val() == 0
		}, "a 1 ms key expires on both")
		d.same(t, "GET", gone)
		d.same(t, "TTL", gone)

		d.same(t, "DEL", s, st, none, s)
		d.same(t, "UNLINK", l, z, none)
		d.same(t, "EXISTS", s, st, l, z)
		d.same(t, "DEL", none)
		kept := key("keys", "kept")
		d.same(t, "SET", kept, "v")
		d.same(t, "PEXPIREAT", kept, at.UnixMilli())
	})

	t.Run("hashes", func(t *testing.T) {
		h, missing := key("hash", "h"), key("hash", "missing")
		fields := []string{"a", "b", "c", "d", "e"}
		d.same(t, "HSET", h, "a", "1", "b", "2", "c", "3")
		d.same(t, "HSET", h, "c", "30", "d", "4")
		d.same(t, "HMSET", h, "e", "5", "a", "10")
		d.sameErr(t, "ERR wrong number of arguments for 'hset' command", "HSET", h, "a")
		d.same(t, "HGET", h, "a")
		d.same(t, "HGET", h, "zz")
		d.same(t, "HGET", missing, "a")
		d.same(t, "HMGET", h, "a", "zz", "e")
		d.same(t, "HGETALL", h)
		d.same(t, "HGETALL", missing)
		d.same(t, "HKEYS", h)
		d.same(t, "HVALS", h)
		d.same(t, "HLEN", h)
		d.same(t, "HLEN", missing)
		d.same(t, "HEXISTS", h, "b")
		d.same(t, "HEXISTS", h, "zz")
		d.same(t, "HSETNX", h, "b", "nope")
		d.same(t, "HSETNX", h, "f", "6")
		fields = append(fields, "f")
		d.same(t, "HINCRBY", h, "b", 40)
		d.same(t, "HINCRBY", h, "new", -7)
		fields = append(fields, "new")
		d.same(t, "HSET", h, "g", "x")
		fields = append(fields, "g")
		d.sameErr(t, "ERR hash value is not an integer", "HINCRBY", h, "g", 1)
		d.same(t, "HINCRBYFLOAT", h, "b", "0.5")
		d.same(t, "HINCRBYFLOAT", h, "fl", "-1.25e2")
		fields = append(fields, "fl")
		d.sameErr(t, "ERR hash value is not a float", "HINCRBYFLOAT", h, "g", "1")
		d.same(t, "HDEL", h, "g", "zz", "fl")
		fields = fields[:len(fields)-2]
		d.same(t, "HGETALL", h)

		values := map[string]string{}
		for _, f := range fields {
			values[f] = sa.HGet(ctx, h, f).Val()
			require.Equal(t, values[f], cc.HGet(ctx, h, f).Val(), "field %s", f)
		}
		d.sameProperty(t, func(t *testing.T, r interface{}) {
			require.Contains(t, fields, r)
		}, "HRANDFIELD", h)
		d.sameProperty(t, func(t *testing.T, r interface{}) {
			got := strs(t, r)
			require.Len(t, got, 3)
			require.Equal(t, 3, requireMembersOf(t, got, fields), "a positive count gives distinct fields")
		}, "HRANDFIELD", h, 3)
		d.sameProperty(t, func(t *testing.T, r interface{}) {
			require.Equal(t, sorted(fields), sorted(strs(t, r)), "a count above the size gives every field")
		}, "HRANDFIELD", h, 100)
		d.sameProperty(t, func(t *testing.T, r interface{}) {
			got := strs(t, r)
			require.Len(t, got, 20, "a negative count gives that many, repeats allowed")
			requireMembersOf(t, got, fields)
		}, "HRANDFIELD", h, -20)
		d.sameProperty(t, func(t *testing.T, r interface{}) {
			pairs := r.([]interface{})
			require.Len(t, pairs, 4)
			for _, p := range pairs {
				fv := strs(t, p)
				require.Len(t, fv, 2)
				require.Equal(t, values[fv[0]], fv[1], "WITHVALUES pairs a field with its value")
			}
		}, "HRANDFIELD", h, -4, "WITHVALUES")
		d.same(t, "HRANDFIELD", missing)
		d.same(t, "HRANDFIELD", missing, 3)

		d.same(t, "HSCAN", h, 0)
		d.same(t, "HSCAN", h, 0, "MATCH", "[a-c]", "COUNT", 100)
		big := key("hash", "big")
		var args []interface{}
		for i := 0; i < 300; i++ {
			args = append(args, "f"+strconv.Itoa(i), i)
		}
		d.same(t, append([]interface{}{"HSET", big}, args...)...)
		cursor := int64(0)
		for steps := 0; ; steps++ {
			require.Less(t, steps, 300, "HSCAN terminates")
			r := d.same(t, "HSCAN", big, cursor, "COUNT", 50).([]interface{})
			next, err := strconv.ParseInt(r[0].(string), 10, 64)
			require.NoError(t, err)
			if next == 0 {
				break
			}
			cursor = next
		}
		d.same(t, "SET", key("hash", "str"), "v")
		d.sameErr(t, "WRONGTYPE Operation against a key holding the wrong kind of value", "HGET", key("hash", "str"), "f")
		d.sameErr(t, "WRONGTYPE Operation against a key holding the wrong kind of value", "HSET", key("hash", "str"), "f", "v")
	})

	t.Run("sets", func(t *testing.T) {
		a, b, c3, dst, missing := key("set", "a"), key("set", "b"), key("set", "c"), key("set", "dst"), key("set", "missing")
		d.same(t, "SADD", a, "1", "2", "3", "4", "x", "y")
		d.same(t, "SADD", a, "1", "z")
		d.same(t, "SADD", b, "3", "4", "5", "x")
		d.same(t, "SADD", c3, "4", "x", "q")
		d.same(t, "SREM", a, "z", "nope")
		d.same(t, "SMEMBERS", a)
		d.same(t, "SMEMBERS", missing)
		d.same(t, "SISMEMBER", a, "x")
		d.same(t, "SISMEMBER", a, "nope")
		d.same(t, "SMISMEMBER", a, "1", "nope", "y")
		d.same(t, "SCARD", a)
		d.same(t, "SCARD", missing)
		d.same(t, "SINTER", a, b, c3)
		d.same(t, "SINTER", a, missing)
		d.same(t, "SUNION", a, b, c3)
		d.same(t, "SDIFF", a, b)
		d.same(t, "SDIFF", a, b, c3)
		d.same(t, "SINTERCARD", 2, a, b)
		d.same(t, "SINTERCARD", 3, a, b, c3, "LIMIT", 1)
		d.sameErr(t, "ERR numkeys should be greater than 0", "SINTERCARD", 0, a)
		d.same(t, "SINTERSTORE", dst, a, b)
		d.same(t, "SMEMBERS", dst)
		d.same(t, "SUNIONSTORE", dst, a, b, c3)
		d.same(t, "SMEMBERS", dst)
		d.same(t, "SDIFFSTORE", dst, a, c3)
		d.same(t, "SMEMBERS", dst)
		d.same(t, "SDIFFSTORE", dst, missing, a)
		d.same(t, "EXISTS", dst)
		d.same(t, "SMOVE", a, b, "1")
		d.same(t, "SMOVE", a, b, "1")
		d.same(t, "SMOVE", a, missing, "2")
		d.same(t, "SMEMBERS", a)
		d.same(t, "SMEMBERS", b)
		d.same(t, "SMEMBERS", missing)

		members := strs(t, d.same(t, "SMEMBERS", a))
		d.sameProperty(t, func(t *testing.T, r interface{}) {
			require.Contains(t, members, r)
		}, "SRANDMEMBER", a)
		d.sameProperty(t, func(t *testing.T, r interface{}) {
			got := strs(t, r)
			require.Len(t, got, 2)
			require.Equal(t, 2, requireMembersOf(t, got, members))
		}, "SRANDMEMBER", a, 2)
		d.sameProperty(t, func(t *testing.T, r interface{}) {
			require.Equal(t, sorted(members), sorted(strs(t, r)))
		}, "SRANDMEMBER", a, 100)
		d.sameProperty(t, func(t *testing.T, r interface{}) {
			got := strs(t, r)
			require.Len(t, got, 10)
			requireMembersOf(t, got, members)
		}, "SRANDMEMBER", a, -10)
		d.same(t, "SRANDMEMBER", missing)

		// SPOP takes random members: each side must pop members of the set, and popping the
		// rest must give back exactly the set, after which both sides agree again.
		onCluster, onStandalone := d.sameProperty(t, func(t *testing.T, r interface{}) {
			require.Contains(t, members, r)
		}, "SPOP", a)
		rest := len(members) - 1
		restCluster, restStandalone := d.sameProperty(t, func(t *testing.T, r interface{}) {
			require.Len(t, strs(t, r), rest)
		}, "SPOP", a, rest)
		require.Equal(t, sorted(members), sorted(append(strs(t, restCluster), onCluster.(string))))
		require.Equal(t, sorted(members), sorted(append(strs(t, restStandalone), onStandalone.(string))))
		d.same(t, "EXISTS", a)
		d.same(t, "SPOP", a)
		d.same(t, "SPOP", a, 3)

		// From here on the two sides of `popped` differ (random pops); the replica check
		// below requires the cluster's followers to have popped what their leader popped.
		popped := key("set", "popped")
		var twenty []string
		for i := 0; i < 20; i++ {
			twenty = append(twenty, "p"+strconv.Itoa(i))
		}
		d.same(t, append([]interface{}{"SADD", popped}, toArgs(twenty)...)...)
		d.sameProperty(t, func(t *testing.T, r interface{}) {
			require.Equal(t, 5, requireMembersOf(t, strs(t, r), twenty))
		}, "SPOP", popped, 5)
		d.sameProperty(t, func(t *testing.T, r interface{}) {
			require.Contains(t, twenty, r)
		}, "SPOP", popped)
		d.same(t, "SCARD", popped)

		big := key("set", "big")
		var args []interface{}
		for i := 0; i < 300; i++ {
			args = append(args, "m"+strconv.Itoa(i))
		}
		d.same(t, append([]interface{}{"SADD", big}, args...)...)
		d.same(t, "SSCAN", big, 0)
		d.same(t, "SSCAN", big, 0, "MATCH", "m1*", "COUNT", 1000)
		cursor := "0"
		for steps := 0; ; steps++ {
			require.Less(t, steps, 300, "SSCAN terminates")
			r := d.same(t, "SSCAN", big, cursor, "COUNT", 64).([]interface{})
			if cursor = r[0].(string); cursor == "0" {
				break
			}
		}
		d.same(t, "SET", key("set", "str"), "v")
		d.sameErr(t, "WRONGTYPE Operation against a key holding the wrong kind of value", "SADD", key("set", "str"), "m")
		d.sameErr(t, "WRONGTYPE Operation against a key holding the wrong kind of value", "SINTER", b, key("set", "str"))
	})

	t.Run("lists", func(t *testing.T) {
		l, o, missing := key("list", "l"), key("list", "o"), key("list", "missing")
		d.same(t, "RPUSH", l, "a", "b", "c", "b", "d", "b")
		d.same(t, "LPUSH", l, "z", "y")
		d.same(t, "LLEN", l)
		d.same(t, "LLEN", missing)
		d.same(t, "LRANGE", l, 0, -1)
		d.same(t, "LRANGE", l, -3, 100)
		d.same(t, "LINDEX", l, 2)
		d.same(t, "LINDEX", l, -1)
		d.same(t, "LINDEX", l, 100)
		d.same(t, "LPOS", l, "b")
		d.same(t, "LPOS", l, "b", "RANK", 2)
		d.same(t, "LPOS", l, "b", "RANK", -1)
		d.same(t, "LPOS", l, "b", "COUNT", 0)
		d.same(t, "LPOS", l, "b", "COUNT", 2, "MAXLEN", 5)
		d.same(t, "LPOS", l, "nope")
		d.sameErr(t, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list", "LPOS", l, "b", "RANK", 0)
		d.same(t, "LSET", l, 0, "Z")
		d.same(t, "LSET", l, -1, "B")
		d.sameErr(t, "ERR index out of range", "LSET", l, 100, "x")
		d.sameErr(t, "ERR no such key", "LSET", missing, 0, "x")
		d.same(t, "LINSERT", l, "BEFORE", "c", "before-c")
		d.same(t, "LINSERT", l, "AFTER", "c", "after-c")
		d.same(t, "LINSERT", l, "AFTER", "nope", "x")
		d.same(t, "LINSERT", missing, "AFTER", "c", "x")
		d.same(t, "LRANGE", l, 0, -1)
		d.same(t, "LREM", l, 1, "b")
		d.same(t, "LREM", l, -1, "B")
		d.same(t, "RPUSH", l, "r", "r", "r")
		d.same(t, "LREM", l, 0, "r")
		d.same(t, "LRANGE", l, 0, -1)
		d.same(t, "LTRIM", l, 1, -2)
		d.same(t, "LRANGE", l, 0, -1)
		d.same(t, "LMOVE", l, o, "LEFT", "RIGHT")
		d.same(t, "LMOVE", l, o, "RIGHT", "LEFT")
		d.same(t, "LMOVE", l, l, "LEFT", "RIGHT")
		d.same(t, "LMOVE", missing, o, "LEFT", "LEFT")
		d.same(t, "LRANGE", l, 0, -1)
		d.same(t, "LRANGE", o, 0, -1)
		d.same(t, "LPOP", l)
		d.same(t, "RPOP", l)
		d.same(t, "LPOP", l, 2)
		d.same(t, "RPOP", o, 5)
		d.same(t, "LPOP", missing)
		d.same(t, "LPOP", missing, 2)
		d.same(t, "RPOP", missing)
		d.same(t, "RPUSH", o, "1", "2", "3", "4", "5")
		d.same(t, "LMPOP", 2, missing, o, "LEFT")
		d.same(t, "LMPOP", 2, o, l, "RIGHT", "COUNT", 2)
		d.same(t, "LMPOP", 1, missing, "LEFT")
		d.sameErr(t, "ERR syntax error", "LMPOP", 1, o, "UP")
		d.same(t, "LRANGE", o, 0, -1)
		d.same(t, "LRANGE", l, 0, -1)
		d.same(t, "SET", key("list", "str"), "v")
		d.sameErr(t, "WRONGTYPE Operation against a key holding the wrong kind of value", "LPUSH", key("list", "str"), "x")
		d.sameErr(t, "WRONGTYPE Operation against a key holding the wrong kind of value", "LMOVE", o, key("list", "str"), "LEFT", "LEFT")
	})

	t.Run("sorted sets", func(t *testing.T) {
		z, missing := key("zset", "z"), key("zset", "missing")
		d.same(t, "ZADD", z, 1, "a", 2, "b", 3, "c", 4, "d", 5, "e")
		d.same(t, "ZADD", z, "NX", 10, "a", 6, "f")
		d.same(t, "ZADD", z, "XX", "CH", 1.5, "a", 7, "nope")
		d.same(t, "ZADD", z, "GT", "CH", 1, "b", 2.5, "b")
		d.same(t, "ZADD", z, "LT", 9, "c")
		d.same(t, "ZADD", z, "INCR", 0.25, "d")
		d.same(t, "ZADD", z, "NX", "INCR", 1, "d")
		d.sameErr(t, "ERR XX and NX options at the same time are not compatible", "ZADD", z, "NX", "XX", 1, "a")
		d.sameErr(t, "ERR value is not a valid float", "ZADD", z, "one", "a")
		d.same(t, "ZADD", key("zset", "lex"), 0, "alpha", 0, "beta", 0, "delta", 0, "gamma", 0, "omega")
		d.same(t, "ZSCORE", z, "d")
		d.same(t, "ZSCORE", z, "nope")
		d.same(t, "ZRANK", z, "c")
		d.same(t, "ZRANK", z, "nope")
		d.same(t, "ZREVRANK", z, "c")
		d.same(t, "ZCARD", z)
		d.same(t, "ZCARD", missing)
		d.same(t, "ZCOUNT", z, "-inf", "+inf")
		d.same(t, "ZCOUNT", z, "(1.5", 4.25)
		d.sameErr(t, "ERR min or max is not a float", "ZCOUNT", z, "low", 3)
		d.same(t, "ZRANGE", z, 0, -1)
		d.same(t, "ZRANGE", z, 0, -1, "WITHSCORES")
		d.same(t, "ZRANGE", z, "(2", "+inf", "BYSCORE", "LIMIT", 1, 2, "WITHSCORES")
		d.same(t, "ZRANGE", z, "+inf", "-inf", "BYSCORE", "REV")
		d.same(t, "ZRANGE", key("zset", "lex"), "[beta", "(omega", "BYLEX")
		d.same(t, "ZRANGE", key("zset", "lex"), "+", "-", "BYLEX", "REV", "LIMIT", 0, 2)
		d.same(t, "ZRANGEBYSCORE", z, 2, 5)
		d.same(t, "ZRANGEBYSCORE", z, "-inf", "(5", "WITHSCORES", "LIMIT", 1, 3)
		d.same(t, "ZREVRANGE", z, 0, 2)
		d.same(t, "ZREVRANGE", z, 1, -1, "WITHSCORES")
		d.same(t, "ZREVRANGEBYSCORE", z, "+inf", 2)
		d.same(t, "ZREVRANGEBYSCORE", z, 5, "(1.5", "WITHSCORES", "LIMIT", 0, 2)
		d.same(t, "ZINCRBY", z, 10, "a")
		d.same(t, "ZINCRBY", z, -0.5, "new")
		d.sameErr(t, "ERR value is not a valid float", "ZINCRBY", z, "x", "a")
		d.same(t, "ZRANGEBYLEX", key("zset", "lex"), "-", "+")
		d.same(t, "ZRANGEBYLEX", key("zset", "lex"), "(alpha", "[gamma", "LIMIT", 1, 5)
		d.sameErr(t, "ERR min or max not valid string range item", "ZRANGEBYLEX", key("zset", "lex"), "alpha", "+")
		d.same(t, "ZLEXCOUNT", key("zset", "lex"), "[beta", "+")
		d.same(t, "ZLEXCOUNT", key("zset", "lex"), "-", "(delta")
		d.same(t, "ZREM", z, "e", "nope")
		d.same(t, "ZREM", missing, "a")
		d.same(t, "ZPOPMIN", z)
		d.same(t, "ZPOPMIN", z, 2)
		d.same(t, "ZPOPMAX", z)
		d.same(t, "ZPOPMAX", z, 10)
		d.same(t, "ZPOPMAX", missing)
		d.same(t, "EXISTS", z)

		big := key("zset", "big")
		var args []interface{}
		for i := 0; i < 300; i++ {
			args = append(args, i%17, "m"+strconv.Itoa(i))
		}
		d.same(t, append([]interface{}{"ZADD", big}, args...)...)
		d.same(t, "ZSCAN", big, 0)
		d.same(t, "ZSCAN", big, 0, "MATCH", "m2?", "COUNT", 1000)
		cursor := "0"
		for steps := 0; ; steps++ {
			require.Less(t, steps, 300, "ZSCAN terminates")
			r := d.same(t, "ZSCAN", big, cursor, "COUNT", 64).([]interface{})
			if cursor = r[0].(string); cursor == "0" {
				break
			}
		}
		d.same(t, "SET", key("zset", "str"), "v")
		d.sameErr(t, "WRONGTYPE Operation against a key holding the wrong kind of value", "ZADD", key("zset", "str"), 1, "m")
	})

	t.Run("MULTI/EXEC through TxPipelined on one slot", func(t *testing.T) {
		n, s, l := key("tx", "n"), key("tx", "s"), key("tx", "l")
		d.sameTx(t,
			[]interface{}{"SET", s, "v"},
			[]interface{}{"INCR", n},
			[]interface{}{"INCRBY", n, 10},
			[]interface{}{"APPEND", s, "+"},
			[]interface{}{"RPUSH", l, "a", "b"},
			[]interface{}{"LRANGE", l, 0, -1},
			[]interface{}{"MGET", s, n},
		)
		// A command failing at EXEC fails alone; the others still apply.
		d.sameTx(t,
			[]interface{}{"INCR", s},
			[]interface{}{"LPUSH", s, "x"},
			[]interface{}{"DECR", n},
			[]interface{}{"GET", n},
		)
		d.same(t, "GET", n)
		d.same(t, "GET", s)
		// An error while queueing (wrong arity) discards the whole transaction: EXECABORT.
		d.sameTx(t,
			[]interface{}{"SET", s, "discarded"},
			[]interface{}{"GET", s, "extra"},
			[]interface{}{"INCR", n},
		)
		d.same(t, "GET", n)
		d.same(t, "GET", s)
	})

	t.Run("WATCH through Watch on one slot", func(t *testing.T) {
		k := key("tx", "watched")
		d.same(t, "SET", k, "1")
		incr := func(rdb redis.Cmdable, watch func(context.Context, func(*redis.Tx) error, ...string) error, interfere bool) (string, error) {
			var got string
			err := watch(ctx, func(tx *redis.Tx) error {
				v, err := tx.Get(ctx, k).Int()
				if err != nil {
					return err
				}
				if interfere {
					if err := rdb.Set(ctx, k, "100", 0).Err(); err != nil {
						return err
					}
				}
				cmds, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, k, v+1, 0)
					p.Get(ctx, k)
					return nil
				})
				if err == nil {
					got = cmds[1].(*redis.StringCmd).Val()
				}
				return err
			}, k)
			return got, err
		}
		cv, cerr := incr(cc, cc.Watch, false)
		sv, serr := incr(sa, sa.Watch, false)
		require.NoError(t, cerr)
		require.NoError(t, serr)
		require.Equal(t, sv, cv)
		require.Equal(t, "2", cv)

		// A write by another connection between WATCH and EXEC aborts the transaction.
		_, cerr = incr(cc, cc.Watch, true)
		_, serr = incr(sa, sa.Watch, true)
		require.ErrorIs(t, cerr, redis.TxFailedErr)
		require.ErrorIs(t, serr, redis.TxFailedErr)
		d.same(t, "GET", k)
	})

	t.Run("connection and server commands", func(t *testing.T) {
		d.same(t, "PING")
		d.same(t, "PING", "hello")
		d.same(t, "ECHO", "hello")
		d.same(t, "ECHO", util.AllBytes())
		d.sameErr(t, "ERR wrong number of arguments for 'echo' command", "ECHO")
		d.same(t, "COMMAND", "COUNT")
		d.same(t, "COMMAND", "INFO", "get", "mset", "lmpop", "nosuchcommand")
		d.same(t, "COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2")
		d.same(t, "SELECT", 0)
		d.sameErr(t, "ERR DB index is out of range", "SELECT", 1)
		d.sameErr(t, "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' ", "NOSUCHCOMMAND", "x")

		clusterInfo, err := cc.Info(ctx, "cluster").Result()
		require.NoError(t, err)
		require.Contains(t, clusterInfo, "cluster_enabled:1")
		standaloneInfo, err := sa.Info(ctx, "cluster").Result()
		require.NoError(t, err)
		require.Contains(t, standaloneInfo, "cluster_enabled:0")

		for name, rdb := range map[string]redis.Cmdable{"cluster": cc, "standalone": sa} {
			id, err := rdb.ClientID(ctx).Result()
			require.NoError(t, err, name)
			require.Positive(t, id, "%s: CLIENT ID", name)
			now, err := rdb.Time(ctx).Result()
			require.NoError(t, err, name)
			require.WithinDuration(t, time.Now(), now, 5*time.Second, "%s: TIME", name)
		}
	})

	t.Run("CLUSTER subcommands", func(t *testing.T) {
		tagged := key("misc", "x")
		d.same(t, "SET", tagged, "1")
		d.same(t, "SET", key("misc", "y"), "2")
		d.same(t, "CLUSTER", "KEYSLOT", tagged)
		d.same(t, "CLUSTER", "KEYSLOT", "no tag at all")
		// go-redis routes COUNTKEYSINSLOT and GETKEYSINSLOT to the slot's node when they are
		// spelled in lower case with an int slot (it matches args[0] == "cluster").
		d.same(t, "cluster", "countkeysinslot", slot["misc"])
		d.same(t, "cluster", "countkeysinslot", slot["misc"]+1)
		onCluster, onStandalone, err := d.both(t, "cluster", "getkeysinslot", slot["misc"], 10)
		require.NoError(t, err)
		require.Equal(t, sorted(strs(t, onStandalone)), sorted(strs(t, onCluster)))
		require.Equal(t, sorted([]string{tagged, key("misc", "y")}), sorted(strs(t, onCluster)))

		// Replies that describe the topology differ by design: three nodes against one.
		info, err := cc.ClusterInfo(ctx).Result()
		require.NoError(t, err)
		require.Contains(t, info, "cluster_state:ok")
		require.Contains(t, info, "cluster_known_nodes:3")
		require.Contains(t, info, "cluster_slots_assigned:16384")
		info, err = sa.ClusterInfo(ctx).Result()
		require.NoError(t, err)
		require.Contains(t, info, "cluster_known_nodes:1")

		ranges, err := cc.ClusterSlots(ctx).Result()
		require.NoError(t, err)
		masters, covered := map[string]bool{}, 0
		for _, r := range ranges {
			covered += r.End - r.Start + 1
			masters[r.Nodes[0].Addr] = true
		}
		require.Equal(t, util.SlotCount, covered)
		require.Len(t, masters, 3)
		ranges, err = sa.ClusterSlots(ctx).Result()
		require.NoError(t, err)
		require.Len(t, ranges, 1)
		require.Equal(t, []int{0, util.SlotCount - 1}, []int{ranges[0].Start, ranges[0].End})

		nodes, err := cc.ClusterNodes(ctx).Result()
		require.NoError(t, err)
		require.Len(t, strings.Split(strings.TrimSuffix(nodes, "\n"), "\n"), 3)
		myid, err := cc.Do(ctx, "CLUSTER", "MYID").Text()
		require.NoError(t, err)
		require.Regexp(t, "^[0-9a-f]{40}$", myid)
		require.Contains(t, nodes, myid)
		shards, err := cc.ClusterShards(ctx).Result()
		require.NoError(t, err)
		require.NotEmpty(t, shards)
	})

	t.Run("every follower holds what its leader holds", func(t *testing.T) {
		// Raft replicates the logged form of each write (absolute deadlines, SPOP's seed):
		// READONLY reads on the followers see the leader's keys, values and deadlines.
		for _, g := range groups {
			leader := c.LeaderOf(slot[g])
			l := leader.NewClient()
			keys, err := l.ClusterGetKeysInSlot(ctx, slot[g], 100000).Result()
			require.NoError(t, err)
			require.NotEmpty(t, keys, "group %s left keys", g)
			for _, s := range c.Nodes {
				if s == leader {
					continue
				}
				f := s.NewClientWithOption(&redis.Options{OnConnect: func(ctx context.Context, cn *redis.Conn) error {
					return cn.ReadOnly(ctx).Err()
				}})
				for _, k := range keys {
					requireSameKey(t, l, f, k)
				}
				require.NoError(t, f.Close())
			}
			require.NoError(t, l.Close())
		}
	})

	t.Run("the slot's leader answers MULTI/EXEC byte for byte like the standalone server", func(t *testing.T) {
		k := key("tx", "raw")
		onLeader, onStandalone := c.LeaderOf(slot["tx"]).NewTCPClient(), standalone.NewTCPClient()
		for _, args := range [][]string{
			{"MULTI"}, {"SET", k, "1"}, {"INCRBY", k, "41"}, {"LPUSH", k, "x"}, {"GET", k}, {"EXEC"},
			{"MULTI"}, {"SET", k, "lost"}, {"GET", k, "extra"}, {"EXEC"}, {"GET", k},
			{"MULTI"}, {"MULTI"}, {"WATCH", k}, {"DISCARD"}, {"DISCARD"}, {"EXEC"},
			{"WATCH", k}, {"MULTI"}, {"GET", k}, {"EXEC"}, {"UNWATCH"},
			{"MULTI"}, {"CLUSTER", "KEYSLOT", k}, {"EXEC"},
		} {
			require.Equal(t, onStandalone.Do(args...), onLeader.Do(args...), "%v", args)
		}
	})

	t.Run("keyless commands agree as the aggregate over the masters", func(t *testing.T) {
		require.Positive(t, d.sameSummedOverMasters(t, "DBSIZE"))
		// INFO keyspace: the masters' db0 keys= and expires= add up to the standalone ones.
		wantKeys, wantExpires, err := keyspaceCounts(ctx, sa)
		require.NoError(t, err)
		require.Positive(t, wantExpires)
		var keys, expires int64
		require.NoError(t, cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			k, e, err := keyspaceCounts(ctx, m)
			atomic.AddInt64(&keys, k)
			atomic.AddInt64(&expires, e)
			return err
		}))
		require.Equal(t, []int64{wantKeys, wantExpires}, []int64{keys, expires}, "db0 keys and expires")
		d.sameOnEveryMaster(t, "FLUSHDB")
		require.Zero(t, d.sameSummedOverMasters(t, "DBSIZE"))
		for i := 0; i < 12; i++ {
			d.same(t, "SET", util.KeyInSlot(i*util.SlotCount/12+3, "again"+strconv.Itoa(i)), i)
		}
		require.EqualValues(t, 12, d.sameSummedOverMasters(t, "DBSIZE"))
		d.sameOnEveryMaster(t, "FLUSHALL")
		require.Zero(t, d.sameSummedOverMasters(t, "DBSIZE"))
		d.same(t, "GET", util.KeyInSlot(3, "again0"))
	})

	t.Run("every core command was compared", func(t *testing.T) {
		for _, name := range allCoreCommands() {
			t.Run(name, func(t *testing.T) {
				d.mu.Lock()
				n := d.used[name]
				d.mu.Unlock()
				require.Positive(t, n, "%s was never run through the ClusterClient and compared with the standalone server", name)
			})
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		core := 0
		for _, name := range allCoreCommands() {
			if d.used[name] > 0 {
				core++
			}
		}
		t.Logf("%d steps compared, %d distinct commands, %d of the 98 core commands, in %v",
			d.compared, len(d.used), core, time.Since(start).Round(time.Millisecond))
	})
}
