package regionops

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// How long moving a replica of a region holding REDRAFT_MOVE_MB megabytes takes (32 in CI;
// `make move-bench` runs 1024): the region is filled with 64 KiB values, then a replica moves
// to a node that joined (log compaction, a streamed snapshot, catch-up, promotion, removal of
// the old replica). Every value must then be on the new node.
func TestMoveTimeByRegionSize(t *testing.T) {
	mb := 32
	if v := os.Getenv("REDRAFT_MOVE_MB"); v != "" {
		var err error
		mb, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	// Three nodes' copies plus their logs, twice over, must fit.
	var fs syscall.Statfs_t
	require.NoError(t, syscall.Statfs(os.TempDir(), &fs))
	free := fs.Bavail * uint64(fs.Bsize)
	need := uint64(mb) << 20 * 12
	require.Greater(t, free, need, "%d MB free in %s, the run needs about %d MB", free>>20, os.TempDir(), need>>20)

	c, joined, ports := fourNodes(t)
	ctx := context.Background()
	cc := c.NewClusterClient()
	defer func() { _ = cc.Close() }()
	v := util.Regions(t, ports[0])
	region := v.RegionOfSlot(100)
	value := strings.Repeat("x", 64<<10)
	n := mb * 16
	tag := util.SlotTag(100)
	start := time.Now()
	for i := 0; i < n; i += 16 {
		pipe := cc.Pipeline()
		for j := i; j < i+16 && j < n; j++ {
			pipe.Set(ctx, fmt.Sprintf("{%s}big:%d", tag, j), value, 0)
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
	}
	t.Logf("wrote %d MB (%d values of 64 KiB) in %v", mb, n, time.Since(start).Round(time.Millisecond))

	from := v.RegionNodes(region)[1]
	op := util.WaitOp(t, ports, util.StartOp(t, ports[0], "POST", fmt.Sprintf("/admin/regions/%d/move", region),
		fmt.Sprintf(`{"from": %d, "to": 4}`, from)), 30*time.Minute)
	took := util.RequireDone(t, op)
	t.Logf("moving a replica of a %d MB region took %v", mb, took)
	mapConsistent(t, c, ports, joined)

	// Every value is on the new node: read them there as a replica read (READONLY).
	rdb := joined.NewClient()
	defer func() { _ = rdb.Close() }()
	require.NoError(t, rdb.ReadOnly(ctx).Err())
	for i := 0; i < n; i += max(1, n/200) {
		// Retried while the new replica has not heard from its leader yet (CLUSTERDOWN), as a
		// cluster client would.
		var got string
		var err error
		for try := 0; try < 100; try++ {
			got, err = rdb.Get(ctx, fmt.Sprintf("{%s}big:%d", tag, i)).Result()
			if err == nil || !strings.HasPrefix(err.Error(), "CLUSTERDOWN") {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		require.NoError(t, err)
		require.Equal(t, len(value), len(got))
	}
}
