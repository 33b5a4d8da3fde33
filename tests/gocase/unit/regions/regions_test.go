package regions

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// `--regions N` splits the slot space into N contiguous regions, region i owning slots
// [i*16384/N, (i+1)*16384/N). Multi-key commands must stay within one region.

const crossSlot = "-CROSSSLOT Keys in request don't hash to the same slot\r\n"

// multiKey runs MSET, MGET, EXISTS, DEL and UNLINK over keys (in that order) and returns the raw
// replies by command name.
func multiKey(c *util.TCPClient, keys []string) map[string]string {
	mset := []string{"MSET"}
	for i, k := range keys {
		mset = append(mset, k, "v"+strconv.Itoa(i))
	}
	out := map[string]string{"MSET": c.Do(mset...)}
	for _, cmd := range []string{"MGET", "EXISTS", "DEL", "UNLINK"} {
		out[cmd] = c.Do(append([]string{cmd}, keys...)...)
	}
	return out
}

// requireCrossSlot requires every multi-key command over keys to fail with CROSSSLOT and to
// change nothing: keys that exist keep their values and no new key appears.
func requireCrossSlot(t *testing.T, c *util.TCPClient, keys []string) {
	t.Helper()
	// one key exists before, so a partial DEL or a partial MSET would show
	require.Equal(t, "+OK\r\n", c.Do("SET", keys[0], "before"))
	for cmd, r := range multiKey(c, keys) {
		require.Equal(t, crossSlot, r, "%s over slots %v", cmd, slotsOf(keys))
	}
	require.Equal(t, "$6\r\nbefore\r\n", c.Do("GET", keys[0]), "a rejected command must not touch %s", keys[0])
	for _, k := range keys[1:] {
		require.Equal(t, ":0\r\n", c.Do("EXISTS", k), "a rejected MSET must not write %s", k)
	}
	require.Equal(t, ":1\r\n", c.Do("DEL", keys[0]))
}

// requireSameRegionWorks requires the multi-key commands over keys (all in one region) to work.
func requireSameRegionWorks(t *testing.T, c *util.TCPClient, keys []string) {
	t.Helper()
	var mget strings.Builder
	fmt.Fprintf(&mget, "*%d\r\n", len(keys))
	for i := range keys {
		v := "v" + strconv.Itoa(i)
		fmt.Fprintf(&mget, "$%d\r\n%s\r\n", len(v), v)
	}
	mset := []string{"MSET"}
	for i, k := range keys {
		mset = append(mset, k, "v"+strconv.Itoa(i))
	}
	n := strconv.Itoa(len(keys))
	require.Equal(t, "+OK\r\n", c.Do(mset...), "MSET over slots %v", slotsOf(keys))
	require.Equal(t, mget.String(), c.Do(append([]string{"MGET"}, keys...)...), "MGET over slots %v", slotsOf(keys))
	require.Equal(t, ":"+n+"\r\n", c.Do(append([]string{"EXISTS"}, keys...)...), "EXISTS over slots %v", slotsOf(keys))
	require.Equal(t, ":"+n+"\r\n", c.Do(append([]string{"DEL"}, keys...)...), "DEL over slots %v", slotsOf(keys))
	require.Equal(t, ":0\r\n", c.Do(append([]string{"EXISTS"}, keys...)...))
	require.Equal(t, "+OK\r\n", c.Do(mset...))
	require.Equal(t, ":"+n+"\r\n", c.Do(append([]string{"UNLINK"}, keys...)...), "UNLINK over slots %v", slotsOf(keys))
}

func slotsOf(keys []string) []int {
	s := make([]int, len(keys))
	for i, k := range keys {
		s[i] = util.KeySlot(k)
	}
	return s
}

// regionKeys returns count keys per region of n, spread over each region's first, last and
// middle slots.
func regionKeys(n, count int, name string) [][]string {
	out := make([][]string, n)
	for r := 0; r < n; r++ {
		first, last := util.RegionRange(r, n)
		for i := 0; i < count; i++ {
			slot := first + i*(last-first)/max(count-1, 1)
			out[r] = append(out[r], util.KeyInSlot(slot, fmt.Sprintf("%s:%d:%d", name, r, i)))
		}
	}
	return out
}

func TestFourRegions(t *testing.T) {
	const n = 4
	srv := util.StartServer(t, map[string]string{"regions": strconv.Itoa(n)})
	defer srv.Close()
	ctx := context.Background()
	rdb := srv.NewClient()
	defer func() { require.NoError(t, rdb.Close()) }()

	t.Run("the test's region arithmetic", func(t *testing.T) {
		for _, tc := range []struct{ slot, region int }{{0, 0}, {4095, 0}, {4096, 1}, {8191, 1}, {8192, 2}, {12287, 2}, {12288, 3}, {16383, 3}} {
			require.Equal(t, tc.region, util.RegionOf(tc.slot, n), "slot %d", tc.slot)
		}
	})

	t.Run("multi-key commands across regions get CROSSSLOT", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		for _, pair := range [][2]int{{4095, 4096}, {8191, 8192}, {12287, 12288}, {0, 16383}, {100, 9000}} {
			requireCrossSlot(t, c, []string{util.KeyInSlot(pair[0], "a"), util.KeyInSlot(pair[1], "b")})
		}
		// three keys, only the last one elsewhere
		requireCrossSlot(t, c, []string{util.KeyInSlot(10, "a"), util.KeyInSlot(20, "b"), util.KeyInSlot(5000, "c")})
		// plain keys: foo is slot 12182 (region 2), bar is slot 5061 (region 1)
		requireCrossSlot(t, c, []string{"foo", "bar"})
		require.Equal(t, "+PONG\r\n", c.Do("PING"), "the connection stays usable")
	})

	t.Run("CROSSSLOT through go-redis", func(t *testing.T) {
		err := rdb.MSet(ctx, "foo", "1", "bar", "2").Err()
		require.Error(t, err)
		require.Equal(t, "CROSSSLOT Keys in request don't hash to the same slot", err.Error())
		require.Error(t, rdb.MGet(ctx, "foo", "bar").Err())
		require.Error(t, rdb.Del(ctx, "foo", "bar").Err())
		require.Error(t, rdb.Exists(ctx, "foo", "bar").Err())
		require.Equal(t, redis.Nil, rdb.Get(ctx, "foo").Err())
	})

	t.Run("multi-key commands within one region work", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		// same hash tag
		requireSameRegionWorks(t, c, []string{"{user1}:a", "{user1}:b", "{user1}:c"})
		// different slots of one region, including its first and last slot
		for r := 0; r < n; r++ {
			first, last := util.RegionRange(r, n)
			keys := []string{util.KeyInSlot(first, "a"), util.KeyInSlot(first+1, "b"), util.KeyInSlot((first+last)/2, "c"), util.KeyInSlot(last, "d")}
			requireSameRegionWorks(t, c, keys)
		}
		// plain keys that happen to share a region: foo (slot 12182) and a key in slot 9000 (region 2)
		requireSameRegionWorks(t, c, []string{"foo", util.KeyInSlot(9000, "x")})
		vals, err := rdb.MGet(ctx, "{t}1", "{t}2").Result()
		require.NoError(t, err)
		require.Equal(t, []interface{}{nil, nil}, vals)
	})

	t.Run("single-key commands work in every region", func(t *testing.T) {
		for r, keys := range regionKeys(n, 3, "single") {
			for _, k := range keys {
				require.NoError(t, rdb.Set(ctx, k, "x", 0).Err(), "region %d key %q", r, k)
				require.Equal(t, "x", rdb.Get(ctx, k).Val())
				require.EqualValues(t, 2, rdb.Append(ctx, k, "y").Val())
				require.NoError(t, rdb.Expire(ctx, k, time.Hour).Err())
				util.RequireTTLBetween(t, rdb, k, 3500, 3600)
				require.EqualValues(t, 1, rdb.Del(ctx, k).Val())
			}
		}
	})

	t.Run("DBSIZE, INFO keyspace and FLUSHALL cover every region", func(t *testing.T) {
		require.NoError(t, rdb.FlushAll(ctx).Err())
		all := regionKeys(n, 3, "flush")
		total := 0
		for _, keys := range all {
			for i, k := range keys {
				if i == 0 {
					require.NoError(t, rdb.Set(ctx, k, "v", time.Hour).Err())
				} else {
					require.NoError(t, rdb.Set(ctx, k, "v", 0).Err())
				}
				total++
			}
		}
		require.EqualValues(t, total, rdb.DBSize(ctx).Val())
		info := rdb.Info(ctx, "keyspace").Val()
		require.Contains(t, info, fmt.Sprintf("db0:keys=%d,expires=%d,", total, n))
		require.NoError(t, rdb.FlushAll(ctx).Err())
		require.EqualValues(t, 0, rdb.DBSize(ctx).Val())
		for _, keys := range all {
			for _, k := range keys {
				require.Equal(t, redis.Nil, rdb.Get(ctx, k).Err(), "FLUSHALL left %q (slot %d)", k, util.KeySlot(k))
			}
		}
		// FLUSHDB too
		for _, keys := range all {
			require.NoError(t, rdb.Set(ctx, keys[1], "v", 0).Err())
		}
		require.EqualValues(t, n, rdb.DBSize(ctx).Val())
		require.NoError(t, rdb.FlushDB(ctx).Err())
		require.EqualValues(t, 0, rdb.DBSize(ctx).Val())
		for _, keys := range all {
			require.Equal(t, redis.Nil, rdb.Get(ctx, keys[1]).Err(), "FLUSHDB left %q", keys[1])
		}
	})

	t.Run("the cluster view still shows one node owning 0-16383", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Regexp(t, `^\*1\r\n\*3\r\n:0\r\n:16383\r\n\*4\r\n\$9\r\n127\.0\.0\.1\r\n:`+strconv.Itoa(srv.Port())+`\r\n\$40\r\n[0-9a-f]{40}\r\n\*0\r\n$`,
			c.Do("CLUSTER", "SLOTS"))
		nodes := util.BulkPayload(t, c.Do("CLUSTER", "NODES"))
		require.Regexp(t, `^[0-9a-f]{40} 127\.0\.0\.1:\d+@\d+ myself,master - 0 0 0 connected 0-16383\n$`, nodes)
		require.Equal(t, "cluster_state:ok", strings.SplitN(util.BulkPayload(t, c.Do("CLUSTER", "INFO")), "\r\n", 2)[0])
	})
}

func TestThreeRegionBoundaries(t *testing.T) {
	// 16384/3 is not whole: regions [0,5461), [5461,10922), [10922,16384)
	srv := util.StartServer(t, map[string]string{"regions": "3"})
	defer srv.Close()
	c := srv.NewTCPClient()
	defer c.Close()
	for r, want := range [][2]int{{0, 5460}, {5461, 10921}, {10922, 16383}} {
		first, last := util.RegionRange(r, 3)
		require.Equal(t, want, [2]int{first, last}, "test's region arithmetic")
		requireSameRegionWorks(t, c, []string{util.KeyInSlot(first, "a"), util.KeyInSlot(last, "b")})
	}
	requireCrossSlot(t, c, []string{util.KeyInSlot(5460, "a"), util.KeyInSlot(5461, "b")})
	requireCrossSlot(t, c, []string{util.KeyInSlot(10921, "a"), util.KeyInSlot(10922, "b")})
}

func TestOneRegionAcceptsAnyKeys(t *testing.T) {
	for _, opts := range []map[string]string{{}, {"regions": "1"}} {
		t.Run(fmt.Sprintf("opts %v", opts), func(t *testing.T) {
			srv := util.StartServer(t, opts)
			defer srv.Close()
			c := srv.NewTCPClient()
			defer c.Close()
			requireSameRegionWorks(t, c, []string{util.KeyInSlot(0, "a"), util.KeyInSlot(8192, "b"), util.KeyInSlot(16383, "c")})
			requireSameRegionWorks(t, c, []string{"foo", "bar", "baz", "key:1"})
		})
	}
}

func TestRegionsSurviveRestart(t *testing.T) {
	const n = 4
	srv := util.StartServer(t, map[string]string{"regions": strconv.Itoa(n)})
	ctx := context.Background()
	all := regionKeys(n, 4, "durable")
	write := func(round int) {
		rdb := srv.NewClient()
		defer func() { require.NoError(t, rdb.Close()) }()
		for r, keys := range all {
			for i, k := range keys {
				v := fmt.Sprintf("r%d-%d-%d", round, r, i)
				if i == 0 {
					require.NoError(t, rdb.Set(ctx, k, v, time.Hour).Err())
				} else {
					require.NoError(t, rdb.Set(ctx, k, v, 0).Err())
				}
			}
			// and a multi-key write within the region
			require.NoError(t, rdb.MSet(ctx, keys[1], fmt.Sprintf("r%d-%d-1", round, r), keys[2], fmt.Sprintf("r%d-%d-2", round, r)).Err())
		}
	}
	check := func(round int, what string) {
		t.Helper()
		rdb := srv.NewClient()
		defer func() { require.NoError(t, rdb.Close()) }()
		require.EqualValues(t, n*len(all[0]), rdb.DBSize(ctx).Val(), "DBSIZE %s", what)
		for r, keys := range all {
			vals, err := rdb.MGet(ctx, keys...).Result()
			require.NoError(t, err, "MGET within region %d %s", r, what)
			for i := range keys {
				require.Equal(t, fmt.Sprintf("r%d-%d-%d", round, r, i), vals[i], "%s of region %d %s", keys[i], r, what)
			}
			util.RequireTTLBetween(t, rdb, keys[0], 3000, 3600)
		}
		c := srv.NewTCPClient()
		defer c.Close()
		// still split into n regions
		requireCrossSlot(t, c, []string{util.KeyInSlot(4095, "x"), util.KeyInSlot(4096, "y")})
		requireSameRegionWorks(t, c, []string{util.KeyInSlot(4096, "x"), util.KeyInSlot(8191, "y")})
	}

	write(1)
	srv.Restart()
	check(1, "after a clean restart")

	write(2)
	srv.Kill()
	srv.Restart()
	check(2, "after SIGKILL and restart")

	// the region count is recorded in the data dir
	write(3)
	srv.RestartWithOpts(map[string]string{})
	check(3, "after a restart without --regions")

	// a different count is refused, and the refusal leaves the data dir intact
	srv.Close()
	for _, other := range []string{"1", "2", "8"} {
		res := util.RunExpectingExit(t, srv.ArgsWith(map[string]string{"regions": other})...)
		require.Positive(t, res.Code, "a refusal is an exit code, not a crash (signal): --regions %s on a %d-region data dir must exit non-zero (%v)", other, n, res.Err)
		require.Contains(t, strings.ToLower(res.Stderr), "regions", "--regions %s: stderr must say why:\n%s", other, res.Stderr)
	}
	srv.RestartWithOpts(map[string]string{"regions": strconv.Itoa(n)})
	check(3, "after refused starts")
	srv.Close()
}

func TestDefaultDataDirRefusesOtherRegionCount(t *testing.T) {
	srv := util.StartServer(t, map[string]string{})
	ctx := context.Background()
	rdb := srv.NewClient()
	require.NoError(t, rdb.MSet(ctx, "foo", "1", "bar", "2").Err())
	require.NoError(t, rdb.Close())
	srv.Close()

	res := util.RunExpectingExit(t, srv.ArgsWith(map[string]string{"regions": "4"})...)
	require.Positive(t, res.Code, "a refusal is an exit code, not a crash (signal): --regions 4 on a data dir created with one region must exit non-zero (%v)", res.Err)
	require.Contains(t, strings.ToLower(res.Stderr), "regions", "stderr must say why:\n%s", res.Stderr)

	srv.RestartWithOpts(map[string]string{"regions": "1"})
	rdb = srv.NewClient()
	defer func() { require.NoError(t, rdb.Close()) }()
	vals, err := rdb.MGet(ctx, "foo", "bar").Result()
	require.NoError(t, err, "still one region: any keys in one command")
	require.Equal(t, []interface{}{"1", "2"}, vals)
	srv.Close()
}

func TestInvalidRegionCountRefusesToStart(t *testing.T) {
	for _, bad := range []string{"0", "-1", "abc"} {
		res := util.RunExpectingExit(t, "--port", strconv.Itoa(util.FreePort(t)), "--bind", "127.0.0.1", "--data-dir", t.TempDir(), "--regions", bad)
		require.Positive(t, res.Code, "a refusal is an exit code, not a crash (signal): --regions %s must exit non-zero (%v)", bad, res.Err)
		require.NotEmpty(t, strings.TrimSpace(res.Stderr), "--regions %s: stderr must say why", bad)
	}
}
