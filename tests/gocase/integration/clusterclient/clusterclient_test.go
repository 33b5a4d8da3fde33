package clusterclient

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// go-redis' ClusterClient pointed at a standalone server: it discovers the one-node view with
// CLUSTER SLOTS and routes every slot to that node.

func newClusterClient(srv *util.Server, opt *redis.ClusterOptions) *redis.ClusterClient {
	o := *opt
	o.Addrs = []string{srv.Addr()}
	if o.MaxRetries == 0 {
		o.MaxRetries = -1
	}
	o.DialTimeout = 10 * time.Second
	o.ReadTimeout = 20 * time.Second
	o.WriteTimeout = 20 * time.Second
	return redis.NewClusterClient(&o)
}

func exercise(t *testing.T, srv *util.Server, cc *redis.ClusterClient, regions int, prefix string) {
	ctx := context.Background()

	t.Run("topology", func(t *testing.T) {
		slots, err := cc.ClusterSlots(ctx).Result()
		require.NoError(t, err)
		require.Len(t, slots, 1)
		require.Equal(t, 0, slots[0].Start)
		require.Equal(t, 16383, slots[0].End)
		require.Equal(t, srv.Addr(), slots[0].Nodes[0].Addr)
		masters := 0
		require.NoError(t, cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			masters++
			return c.Ping(ctx).Err()
		}))
		require.Equal(t, 1, masters)
	})

	t.Run("SET, GET and INCR on keys across all slots", func(t *testing.T) {
		for i := 0; i < 64; i++ {
			slot := i * 16384 / 64
			k := util.KeyInSlot(slot, prefix+"k"+strconv.Itoa(i))
			require.NoError(t, cc.Set(ctx, k, "v"+strconv.Itoa(i), 0).Err(), "SET %q (slot %d)", k, slot)
			require.Equal(t, "v"+strconv.Itoa(i), cc.Get(ctx, k).Val())
			ctr := util.KeyInSlot(16383-slot, prefix+"ctr"+strconv.Itoa(i))
			for j := 1; j <= 3; j++ {
				n, err := cc.Incr(ctx, ctr).Result()
				require.NoError(t, err)
				require.EqualValues(t, j, n)
			}
		}
		require.Equal(t, redis.Nil, cc.Get(ctx, prefix+"missing").Err())
	})

	t.Run("MGET and MSET within one slot", func(t *testing.T) {
		keys := []string{"{" + prefix + "user}:a", "{" + prefix + "user}:b", "{" + prefix + "user}:c"}
		require.NoError(t, cc.MSet(ctx, keys[0], "1", keys[1], "2", keys[2], "3").Err())
		vals, err := cc.MGet(ctx, keys[0], keys[1], keys[2], "{"+prefix+"user}:none").Result()
		require.NoError(t, err)
		require.Equal(t, []interface{}{"1", "2", "3", nil}, vals)
		n, err := cc.Del(ctx, keys...).Result()
		require.NoError(t, err)
		require.EqualValues(t, 3, n)
	})

	// go-redis sends a multi-key command as it is (its default policy table does not split MGET
	// per slot), so the server decides: one region takes any keys, several regions take keys
	// of one region only, like Redis Cluster with one slot range per region.
	multi := func(t *testing.T, slots []int) error {
		var keys []string
		var pairs []interface{}
		for _, slot := range slots {
			k := util.KeyInSlot(slot, prefix+"multi")
			keys = append(keys, k)
			pairs = append(pairs, k, "s"+strconv.Itoa(slot))
		}
		if err := cc.MSet(ctx, pairs...).Err(); err != nil {
			for _, k := range keys {
				require.Equal(t, redis.Nil, cc.Get(ctx, k).Err(), "a failed MSET must write nothing (%q)", k)
			}
			return err
		}
		vals, err := cc.MGet(ctx, keys...).Result()
		require.NoError(t, err)
		for i := range keys {
			require.Equal(t, pairs[2*i+1], vals[i], "MGET value of %q", keys[i])
		}
		n, err := cc.Exists(ctx, keys...).Result()
		require.NoError(t, err)
		require.EqualValues(t, len(keys), n)
		n, err = cc.Del(ctx, keys...).Result()
		require.NoError(t, err)
		require.EqualValues(t, len(keys), n)
		return nil
	}
	t.Run("MGET, MSET, EXISTS and DEL over different slots of one region", func(t *testing.T) {
		first, last := util.RegionRange(regions-1, regions)
		require.NoError(t, multi(t, []int{first, (first + last) / 2, last}))
	})
	t.Run("MGET, MSET, EXISTS and DEL across regions", func(t *testing.T) {
		err := multi(t, []int{0, 4095, 4096, 9000, 12288, 16383})
		if regions == 1 {
			require.NoError(t, err, "one region takes any keys in one command")
		} else {
			require.Error(t, err)
			require.Equal(t, "CROSSSLOT Keys in request don't hash to the same slot", err.Error())
		}
	})

	t.Run("pipeline", func(t *testing.T) {
		const n = 200
		pipe := cc.Pipeline()
		sets := make([]*redis.StatusCmd, n)
		for i := 0; i < n; i++ {
			sets[i] = pipe.Set(ctx, fmt.Sprintf("%spipe:%d", prefix, i), i, 0)
		}
		incrs := make([]*redis.IntCmd, n)
		for i := 0; i < n; i++ {
			incrs[i] = pipe.Incr(ctx, fmt.Sprintf("%spipe:%d", prefix, i))
		}
		gets := make([]*redis.StringCmd, n)
		for i := 0; i < n; i++ {
			gets[i] = pipe.Get(ctx, fmt.Sprintf("%spipe:%d", prefix, i))
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
		for i := 0; i < n; i++ {
			require.NoError(t, sets[i].Err())
			require.EqualValues(t, i+1, incrs[i].Val())
			require.Equal(t, strconv.Itoa(i+1), gets[i].Val())
		}
		cmds, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := 0; i < n; i++ {
				p.Get(ctx, fmt.Sprintf("%spipe:%d", prefix, i))
			}
			return nil
		})
		require.NoError(t, err)
		require.Len(t, cmds, n)
		for i, cmd := range cmds {
			require.Equal(t, strconv.Itoa(i+1), cmd.(*redis.StringCmd).Val())
		}
	})

	t.Run("the plain client sees the same data", func(t *testing.T) {
		rdb := srv.NewClient()
		defer func() { require.NoError(t, rdb.Close()) }()
		require.Equal(t, "3", rdb.Get(ctx, util.KeyInSlot(16383, prefix+"ctr0")).Val())
		require.Equal(t, "200", rdb.Get(ctx, prefix+"pipe:199").Val())
	})
}

func TestClusterClient(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    map[string]string
		regions int
	}{
		{"one region", map[string]string{}, 1},
		{"four regions", map[string]string{"regions": "4"}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := util.StartServer(t, tc.opts)
			defer srv.Close()
			for _, cfg := range []struct {
				name string
				opt  redis.ClusterOptions
			}{
				{"RESP3", redis.ClusterOptions{}},
				{"RESP2", redis.ClusterOptions{Protocol: 2}},
				{"ReadOnly", redis.ClusterOptions{ReadOnly: true}},
			} {
				t.Run(cfg.name, func(t *testing.T) {
					cc := newClusterClient(srv, &cfg.opt)
					defer func() { require.NoError(t, cc.Close()) }()
					exercise(t, srv, cc, tc.regions, cfg.name+":")
				})
			}
		})
	}
}
