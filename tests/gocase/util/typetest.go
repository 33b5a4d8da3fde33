package util

import (
	"context"
	"sort"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// WrongType is Redis's error for an operation against a key of another type.
const WrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"

// Clients are the four connections a data-type test uses: go-redis in RESP3 (RDB) and RESP2
// (RDB2), and raw TCP connections in RESP2 (C2) and RESP3 (C3) for byte-exact replies.
// They are closed when the test ends.
type Clients struct {
	RDB, RDB2 *redis.Client
	C2, C3    *TCPClient
}

// NewClients opens the four connections of Clients.
func (s *Server) NewClients() *Clients {
	t := s.t
	t.Helper()
	c := &Clients{RDB: s.NewClient(), RDB2: s.NewRESP2Client(), C2: s.NewTCPClient(), C3: s.NewTCPClient()}
	require.Contains(t, c.C3.Do("HELLO", "3"), "proto\r\n:3\r\n")
	t.Cleanup(func() {
		_ = c.RDB.Close()
		_ = c.RDB2.Close()
		c.C2.Close()
		c.C3.Close()
	})
	return c
}

// ExpectErr checks that args fail with the error line err through go-redis and raw in RESP2
// and RESP3.
func (c *Clients) ExpectErr(t testing.TB, err string, args ...string) {
	t.Helper()
	require.EqualError(t, c.RDB.Do(context.Background(), Args(args...)...).Err(), err, "%q", args)
	require.Equal(t, "-"+err+"\r\n", c.C2.Do(args...), "%q (raw RESP2)", args)
	require.Equal(t, "-"+err+"\r\n", c.C3.Do(args...), "%q (raw RESP3)", args)
}

// Args turns strings into go-redis command arguments.
func Args(s ...string) []interface{} {
	out := make([]interface{}, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Sorted returns a sorted copy of s.
func Sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
