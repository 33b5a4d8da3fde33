package util

import (
	"bufio"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echoServer echoes every line back and counts the lines it received.
func echoServer(t *testing.T) (string, *int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	var lines int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				r := bufio.NewReader(c)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					atomic.AddInt64(&lines, 1)
					if _, err := c.Write([]byte(l)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), &lines
}

func dialProxy(t *testing.T, p *Proxy) (net.Conn, *bufio.Reader) {
	c, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, bufio.NewReader(c)
}

// roundTrip sends a line and waits up to d for its echo.
func roundTrip(c net.Conn, r *bufio.Reader, line string, d time.Duration) (string, error) {
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	_ = c.SetReadDeadline(time.Now().Add(d))
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	l, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return l[:len(l)-1], nil
}

func TestProxy(t *testing.T) {
	addr, lines := echoServer(t)

	t.Run("pass forwards both ways", func(t *testing.T) {
		p := NewProxy(t, addr)
		c, r := dialProxy(t, p)
		got, err := roundTrip(c, r, "hello", 2*time.Second)
		require.NoError(t, err)
		require.Equal(t, "hello", got)
	})

	t.Run("blackhole holds bytes with the socket open, pass lets them through", func(t *testing.T) {
		p := NewProxy(t, addr)
		c, r := dialProxy(t, p)
		_, err := roundTrip(c, r, "before", 2*time.Second)
		require.NoError(t, err)
		p.Blackhole()
		before := atomic.LoadInt64(lines)
		_, err = roundTrip(c, r, "held", 300*time.Millisecond)
		require.Error(t, err)
		require.True(t, err.(net.Error).Timeout(), "the socket stays open: %v", err)
		require.Equal(t, before, atomic.LoadInt64(lines), "nothing reached the server")
		// A new connection is accepted but nothing goes through.
		c2, r2 := dialProxy(t, p)
		_, err = roundTrip(c2, r2, "new", 300*time.Millisecond)
		require.Error(t, err)
		p.Pass()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		l, err := r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "held\n", l)
		_ = c2.SetReadDeadline(time.Now().Add(2 * time.Second))
		l, err = r2.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "new\n", l)
	})

	t.Run("delay adds latency each way and keeps order", func(t *testing.T) {
		p := NewProxy(t, addr)
		p.Seed(7)
		p.Delay(100*time.Millisecond, 20*time.Millisecond)
		c, r := dialProxy(t, p)
		start := time.Now()
		for _, w := range []string{"a", "b", "c"} {
			_, err := c.Write([]byte(w + "\n"))
			require.NoError(t, err)
		}
		for _, w := range []string{"a", "b", "c"} {
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			l, err := r.ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, w+"\n", l)
		}
		require.GreaterOrEqual(t, time.Since(start), 160*time.Millisecond)
		p.Pass()
		start = time.Now()
		_, err := roundTrip(c, r, "fast", 2*time.Second)
		require.NoError(t, err)
		require.Less(t, time.Since(start), 150*time.Millisecond)
	})

	t.Run("cut closes current connections and allows new ones", func(t *testing.T) {
		p := NewProxy(t, addr)
		c, r := dialProxy(t, p)
		_, err := roundTrip(c, r, "x", 2*time.Second)
		require.NoError(t, err)
		p.Cut()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = r.ReadString('\n')
		require.ErrorIs(t, err, io.EOF)
		c2, r2 := dialProxy(t, p)
		got, err := roundTrip(c2, r2, "y", 2*time.Second)
		require.NoError(t, err)
		require.Equal(t, "y", got)
		accepted, cuts := p.Stats()
		require.Equal(t, 2, accepted)
		require.Equal(t, 1, cuts)
	})

	t.Run("cut after forward delivers the request and drops the reply", func(t *testing.T) {
		p := NewProxy(t, addr)
		c, r := dialProxy(t, p)
		p.CutAfterForward(1)
		before := atomic.LoadInt64(lines)
		_, err := roundTrip(c, r, "once", 2*time.Second)
		require.Error(t, err)
		WaitFor(t, 2*time.Second, 10*time.Millisecond, func() bool { return atomic.LoadInt64(lines) == before+1 },
			"the request reached the server")
	})

	t.Run("a blackholed connection can be cut", func(t *testing.T) {
		p := NewProxy(t, addr)
		c, r := dialProxy(t, p)
		// The dial returns once the kernel queued the connection: wait until the proxy has it,
		// or Cut would find nothing to cut.
		WaitFor(t, 2*time.Second, 5*time.Millisecond, func() bool { a, _ := p.Stats(); return a == 1 },
			"the proxy accepted the connection")
		p.Blackhole()
		_, err := c.Write([]byte("z\n"))
		require.NoError(t, err)
		p.Cut()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = r.ReadString('\n')
		require.Error(t, err)
		ne, ok := err.(net.Error)
		require.False(t, ok && ne.Timeout(), "closed (EOF or reset), not held: %v", err)
	})
}

func TestNetPartitions(t *testing.T) {
	addr, _ := echoServer(t)
	nw := NewNet(t, []string{addr, addr, addr})
	held := func() [3][3]bool {
		var out [3][3]bool
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				if i != j {
					out[i][j] = nw.Link(i, j).Blackholed()
				}
			}
		}
		return out
	}
	nw.Isolate(1)
	require.Equal(t, [3][3]bool{{false, true, false}, {true, false, true}, {false, true, false}}, held())
	nw.Heal()
	require.Equal(t, [3][3]bool{}, held())
	nw.Partition([]int{0, 2}, []int{1})
	require.Equal(t, [3][3]bool{{false, true, false}, {true, false, true}, {false, true, false}}, held())
	nw.Heal()
	nw.Bridge(0, 1, 2)
	require.Equal(t, [3][3]bool{{false, true, false}, {true, false, false}, {false, false, false}}, held())
	nw.Heal()
	// Traffic goes through every link again.
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			if i != j {
				c, r := dialProxy(t, nw.Link(i, j))
				got, err := roundTrip(c, r, "ok", 2*time.Second)
				require.NoError(t, err)
				require.Equal(t, "ok", got)
			}
		}
	}
}
