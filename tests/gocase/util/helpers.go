package util

import (
	"context"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// RandString returns n random bytes drawn from alphabet.
func RandString(r *rand.Rand, n int, alphabet string) string {
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < n; i++ {
		b.WriteByte(alphabet[r.Intn(len(alphabet))])
	}
	return b.String()
}

// AllBytes is every byte value 0..255 once, for binary-safety tests.
func AllBytes() string {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
}

// RequireTTLBetween requires TTL key to be within [lo, hi] seconds.
func RequireTTLBetween(t testing.TB, rdb *redis.Client, key string, lo, hi int64) {
	t.Helper()
	v, err := rdb.Do(context.Background(), "TTL", key).Int64()
	require.NoError(t, err)
	require.GreaterOrEqual(t, v, lo, "TTL %s", key)
	require.LessOrEqual(t, v, hi, "TTL %s", key)
}

// RequirePTTLBetween requires PTTL key to be within [lo, hi] milliseconds.
func RequirePTTLBetween(t testing.TB, rdb *redis.Client, key string, lo, hi int64) {
	t.Helper()
	v, err := rdb.Do(context.Background(), "PTTL", key).Int64()
	require.NoError(t, err)
	require.GreaterOrEqual(t, v, lo, "PTTL %s", key)
	require.LessOrEqual(t, v, hi, "PTTL %s", key)
}

// WaitFor polls cond every tick until it is true or the deadline passes, then fails with msg.
func WaitFor(t testing.TB, deadline, tick time.Duration, cond func() bool, msg string, args ...interface{}) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		if cond() {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out after %v: "+msg, append([]interface{}{deadline}, args...)...)
		}
		time.Sleep(tick)
	}
}

// Settle polls read until it gives the same value twice in a row (e.g. connected_clients once
// connections closed earlier are gone) and returns that value.
func Settle(t testing.TB, what string, read func() int) int {
	t.Helper()
	base, prev := -1, read()
	WaitFor(t, 10*time.Second, 50*time.Millisecond, func() bool {
		n := read()
		if n == prev {
			base = n
			return true
		}
		prev = n
		return false
	}, "%s does not settle", what)
	return base
}
