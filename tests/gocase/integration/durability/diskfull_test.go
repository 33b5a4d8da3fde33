package durability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// The small disks are 256 MB: RocksDB preallocates ~70 MB for its WAL file at start, and the
// filler then leaves a few tens of MB free.

// fillWithWrites SETs 8 KB values until a write is refused; it returns the acknowledged keys
// and the first error.
func fillWithWrites(t *testing.T, rdb *redis.Client, prefix string, max int) ([]string, error) {
	t.Helper()
	val := strings.Repeat("v", 8<<10)
	var acked []string
	for i := 0; i < max; i++ {
		k := fmt.Sprintf("%s:%d", prefix, i)
		if err := rdb.Set(context.Background(), k, val, 0).Err(); err != nil {
			return acked, err
		}
		acked = append(acked, k)
	}
	return acked, nil
}

func requireAllPresent(t *testing.T, rdb *redis.Client, keys []string) {
	t.Helper()
	for _, k := range keys {
		n, err := rdb.Exists(context.Background(), k).Result()
		require.NoError(t, err)
		require.EqualValues(t, 1, n, "acknowledged key %s lost", k)
	}
}

// startOnSmallDisk starts a server whose data dir is on a new 256 MB tmpfs (mounted at mnt)
// with the given reserve-disk-space, and a client of it.
func startOnSmallDisk(t *testing.T, reserve string) (string, *util.Server, *redis.Client) {
	mnt := t.TempDir()
	util.SmallDisk(t, mnt, 256<<20)
	srv := util.StartServer(t, map[string]string{"data-dir": filepath.Join(mnt, "data"), "reserve-disk-space": reserve})
	return mnt, srv, srv.NewClient()
}

// With the guard (reserve-disk-space), a data dir running out of space refuses writes with
// MISCONF, keeps serving reads, and takes writes again by itself once space is freed.
func TestDiskFullRefusesWritesThenRecovers(t *testing.T) {
	mnt, srv, rdb := startOnSmallDisk(t, "16mb")
	defer rdb.Close()
	ctx := context.Background()

	filler := util.FillDisk(t, mnt, 40<<20)
	acked, err := fillWithWrites(t, rdb, "k", 100000)
	require.Error(t, err, "writes never refused on a full disk")
	require.True(t, strings.HasPrefix(err.Error(), "MISCONF "), "refused with %q", err)
	require.NotEmpty(t, acked)
	free := util.FreeBytes(t, mnt)
	t.Logf("%d writes acknowledged, then %q; %d bytes free", len(acked), err, free)
	require.Greater(t, free, int64(1<<20), "the guard let the disk fill up")

	// Refused again (not OK) while full, whatever the command; reads still answer.
	require.ErrorContains(t, rdb.Set(ctx, "more", "x", 0).Err(), "MISCONF")
	require.ErrorContains(t, rdb.Del(ctx, acked[0]).Err(), "MISCONF")
	require.ErrorContains(t, rdb.Incr(ctx, "ctr").Err(), "MISCONF")
	require.Equal(t, strings.Repeat("v", 8<<10), rdb.Get(ctx, acked[len(acked)-1]).Val())
	info := rdb.Info(ctx, "persistence").Val()
	require.Contains(t, info, "disk_low:1")
	requireAllPresent(t, rdb, acked)

	// Space freed: writes resume without a restart.
	require.NoError(t, os.Remove(filler))
	start := time.Now()
	util.WaitFor(t, 10*time.Second, 20*time.Millisecond, func() bool {
		return rdb.Set(ctx, "after", "1", 0).Err() == nil
	}, "writes did not resume after space was freed")
	t.Logf("writes resumed %v after space was freed", time.Since(start))
	require.Contains(t, rdb.Info(ctx, "persistence").Val(), "disk_low:0")

	// Everything acknowledged survives a restart.
	srv.Restart()
	rdb2 := srv.NewClient()
	defer rdb2.Close()
	requireAllPresent(t, rdb2, append(acked, "after"))
}

// Without the guard, the log write that hits ENOSPC stops the server (it cannot write again
// until RocksDB is reopened): no write is acknowledged after it, and a restart once space is
// freed has every acknowledged write.
func TestDiskFullWithoutGuardExitsAndRestartsIntact(t *testing.T) {
	mnt, srv, rdb := startOnSmallDisk(t, "0")
	defer rdb.Close()

	filler := util.FillDisk(t, mnt, 24<<20)
	acked, err := fillWithWrites(t, rdb, "k", 100000)
	require.Error(t, err, "writes never failed on a full disk")
	t.Logf("%d writes acknowledged, then %q", len(acked), err)
	exit := srv.ExpectExit(20 * time.Second)
	require.Error(t, exit, "the server should exit with a failure status")
	require.Contains(t, srv.Stderr(), "stopped on a storage error")
	require.Contains(t, srv.Stderr(), "No space left on device")

	require.NoError(t, os.Remove(filler))
	srv.Restart()
	rdb2 := srv.NewClient()
	defer rdb2.Close()
	requireAllPresent(t, rdb2, acked)
	require.NoError(t, rdb2.Set(context.Background(), "after", "1", 0).Err())
}
