package limits

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redraft/redraft/tests/gocase/util"
)

// connectedClients reads connected_clients from INFO clients over c.
func connectedClients(t *testing.T, c *util.TCPClient) int {
	t.Helper()
	n, err := strconv.Atoi(util.InfoField(t, util.BulkPayload(t, c.Do("INFO", "clients")), "connected_clients"))
	require.NoError(t, err)
	return n
}

// settledClients waits until connected_clients gives the same reading twice in a row
// (connections closed earlier are gone) and returns it.
func settledClients(t *testing.T, c *util.TCPClient) int {
	t.Helper()
	return util.Settle(t, "connected_clients", func() int { return connectedClients(t, c) })
}

// drain reads c until the connection ends and returns how many bytes arrived and the error
// that ended it (io.EOF or a reset for a closed connection, a timeout if it stayed open).
func drain(c net.Conn, d time.Duration) (int64, error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 256<<10)
	var total int64
	for {
		n, err := c.Read(buf)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

func TestClientQueryBufferLimit(t *testing.T) {
	const limit = 64 << 10
	srv := util.StartServer(t, map[string]string{"client-query-buffer-limit": strconv.Itoa(limit)})
	defer srv.Close()
	other := srv.NewTCPClient()
	defer other.Close()
	require.Equal(t, "+OK\r\n", other.Do("SET", "other", "alive"))

	t.Run("a request under the limit works", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		v := strings.Repeat("a", limit/2)
		require.Equal(t, "+OK\r\n", c.Do("SET", "k-under", v))
		require.Equal(t, fmt.Sprintf("$%d\r\n%s\r\n", len(v), v), c.Do("GET", "k-under"))
	})

	t.Run("unparsed input over the limit closes the connection without a reply", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		require.Equal(t, "+PONG\r\n", c.Do("PING"))
		// a bulk of 200 KB announced, 128 KB of it sent: the request cannot be parsed yet
		_ = c.Write("*3\r\n$3\r\nSET\r\n$8\r\nk-over-1\r\n$204800\r\n" + strings.Repeat("x", 128<<10))
		c.ExpectClosed(t)
		require.Equal(t, "$5\r\nalive\r\n", other.Do("GET", "other"), "other clients keep working")
		require.Equal(t, "$-1\r\n", other.Do("GET", "k-over-1"))
	})

	t.Run("sent in small pieces", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		_ = c.Write("*3\r\n$3\r\nSET\r\n$8\r\nk-over-2\r\n$204800\r\n")
		chunk := strings.Repeat("y", 4096)
		var err error
		for sent := 0; sent < 128<<10 && err == nil; sent += len(chunk) {
			err = c.Write(chunk)
		}
		c.ExpectClosed(t)
		require.Equal(t, "+PONG\r\n", other.Do("PING"))
		require.Equal(t, "$-1\r\n", other.Do("GET", "k-over-2"))
	})

	t.Run("the limit is per client", func(t *testing.T) {
		// two clients each hold 40 KB of an unfinished request: 80 KB together, 40 KB each
		v := strings.Repeat("z", 48<<10)
		cs := []*util.TCPClient{srv.NewTCPClient(), srv.NewTCPClient()}
		for i, c := range cs {
			defer c.Close()
			req := util.EncodeArgs("SET", "k-per-client-"+strconv.Itoa(i), v)
			c.MustWrite(t, req[:40<<10])
		}
		// both connections still answer once their requests are complete
		for i, c := range cs {
			req := util.EncodeArgs("SET", "k-per-client-"+strconv.Itoa(i), v)
			c.MustWrite(t, req[40<<10:])
			c.ExpectReply(t, "+OK\r\n")
		}
		require.Equal(t, fmt.Sprintf("$%d\r\n%s\r\n", len(v), v), other.Do("GET", "k-per-client-1"))
	})
}

func TestMaxClients(t *testing.T) {
	const maxClients = 3
	srv := util.StartServer(t, map[string]string{"maxclients": strconv.Itoa(maxClients)})
	defer srv.Close()

	conns := make([]*util.TCPClient, maxClients)
	for i := range conns {
		conns[i] = srv.NewTCPClient()
		defer conns[i].Close()
		require.Equal(t, "+PONG\r\n", conns[i].Do("PING"), "connection %d of %d", i+1, maxClients)
	}
	// the connection count may lag behind a close; here every connection is still open
	require.Equal(t, maxClients, connectedClients(t, conns[0]))
	require.Equal(t, strconv.Itoa(maxClients), util.InfoField(t, util.BulkPayload(t, conns[0].Do("INFO", "clients")), "maxclients"))

	t.Run("one connection too many is refused with an error and closed", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			extra := srv.NewTCPClient()
			r, err := extra.ReadReply()
			require.NoError(t, err, "the refused connection must get an error reply first; got %q", r)
			require.Equal(t, "-ERR max number of clients reached\r\n", r)
			extra.ExpectClosed(t)
			extra.Close()
		}
		for i, c := range conns {
			require.Equal(t, "+PONG\r\n", c.Do("PING"), "connection %d still works", i+1)
		}
	})

	t.Run("after one closes, a new connection is accepted", func(t *testing.T) {
		conns[0].Close()
		var accepted *util.TCPClient
		util.WaitFor(t, 10*time.Second, 20*time.Millisecond, func() bool {
			c := srv.NewTCPClient()
			if c.Do("PING") == "+PONG\r\n" {
				accepted = c
				return true
			}
			c.Close()
			return false
		}, "no connection accepted after one of %d closed", maxClients)
		defer accepted.Close()
		require.Equal(t, "+OK\r\n", accepted.Do("SET", "k", "v"))
		require.Equal(t, "$1\r\nv\r\n", conns[1].Do("GET", "k"))
		// full again
		extra := srv.NewTCPClient()
		r, err := extra.ReadReply()
		require.NoError(t, err, "got %q", r)
		require.Equal(t, "-ERR max number of clients reached\r\n", r)
		extra.ExpectClosed(t)
	})
}

var vmRe = regexp.MustCompile(`(?m)^(VmRSS|VmHWM):\s+(\d+) kB$`)

// memKB returns VmRSS and VmHWM (peak RSS) of pid in kB.
func memKB(t *testing.T, pid int) (rss, hwm int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, m := range vmRe.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseInt(m[2], 10, 64)
		if m[1] == "VmRSS" {
			rss = v
		} else {
			hwm = v
		}
	}
	require.Positive(t, rss)
	require.Positive(t, hwm)
	return rss, hwm
}

func TestClientOutputBufferLimit(t *testing.T) {
	const (
		limit     = 1 << 20
		valueSize = 512 << 10
		gets      = 100
	)
	srv := util.StartServer(t, map[string]string{"client-output-buffer-limit": strconv.Itoa(limit)})
	defer srv.Close()
	ctx := context.Background()
	rdb := srv.NewClient()
	defer func() { require.NoError(t, rdb.Close()) }()
	value := strings.Repeat("v", valueSize)
	require.NoError(t, rdb.Set(ctx, "big", value, 0).Err())

	control := srv.NewTCPClient()
	defer control.Close()
	bigReply := fmt.Sprintf("$%d\r\n%s\r\n", valueSize, value)
	require.Equal(t, bigReply, control.Do("GET", "big"), "a reader gets a reply below the limit")

	// victim opens a connection, pipelines `gets` GETs of the big value and does not read.
	victim := func() net.Conn {
		c := srv.NewTCPClient()
		require.Equal(t, "+PONG\r\n", c.Do("PING"))
		c.MustWrite(t, strings.Repeat(util.EncodeArgs("GET", "big"), gets))
		return c.Conn()
	}
	full := int64(gets * len(bigReply))

	t.Run("a client that does not read its replies is disconnected", func(t *testing.T) {
		base := settledClients(t, control)
		v := victim()
		util.WaitFor(t, 20*time.Second, 20*time.Millisecond, func() bool { return connectedClients(t, control) == base },
			"the client with %d MB of pending replies was not disconnected (limit %d bytes)", full>>20, limit)
		n, err := drain(v, 20*time.Second)
		require.True(t, isClosed(err), "the connection must be closed, read ended with %v after %d bytes", err, n)
		require.Less(t, n, full, "the client must not get all its replies")
		require.Equal(t, bigReply, control.Do("GET", "big"), "other clients keep working")
		require.Equal(t, "+PONG\r\n", control.Do("PING"))
	})

	t.Run("memory stays bounded under several such clients", func(t *testing.T) {
		const victims = 8 // 8 x 100 x 512 KB = 400 MB of replies if nothing were dropped
		base := settledClients(t, control)
		rss0, _ := memKB(t, srv.Pid())
		conns := make([]net.Conn, victims)
		for i := range conns {
			conns[i] = victim()
		}
		util.WaitFor(t, 30*time.Second, 20*time.Millisecond, func() bool { return connectedClients(t, control) == base },
			"the clients with pending replies were not all disconnected")
		var wg sync.WaitGroup
		errs := make([]error, victims)
		for i, c := range conns {
			wg.Add(1)
			go func(i int, c net.Conn) {
				defer wg.Done()
				n, err := drain(c, 20*time.Second)
				if !isClosed(err) {
					errs[i] = fmt.Errorf("victim %d: read ended with %v after %d bytes", i, err, n)
				} else if n >= full {
					errs[i] = fmt.Errorf("victim %d got all %d bytes of its replies", i, n)
				}
			}(i, c)
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		_, hwm := memKB(t, srv.Pid())
		growth := hwm - rss0
		t.Logf("server RSS before %d MB, peak after %d MB", rss0>>10, hwm>>10)
		require.Less(t, growth, int64(200<<10), "peak RSS grew by %d MB while %d clients piled up %d MB of replies",
			growth>>10, victims, victims*full>>20)
		require.Equal(t, bigReply, control.Do("GET", "big"))
	})

	t.Run("a client that reads its replies is not disconnected", func(t *testing.T) {
		c := srv.NewTCPClient()
		defer c.Close()
		r := bufio.NewReaderSize(c.Conn(), 1<<20)
		for i := 0; i < 20; i++ {
			c.MustWrite(t, util.EncodeArgs("GET", "big"))
			_ = c.Conn().SetReadDeadline(time.Now().Add(20 * time.Second))
			buf := make([]byte, len(bigReply))
			_, err := io.ReadFull(r, buf)
			require.NoError(t, err, "GET %d", i)
			require.Equal(t, bigReply, string(buf))
		}
	})
}
