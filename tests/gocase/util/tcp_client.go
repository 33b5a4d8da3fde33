package util

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TCPClient is a raw RESP connection: tests write exact bytes and compare exact reply bytes.
// Methods that can fail a test take the caller's t, so failures land in the right (sub)test.
type TCPClient struct {
	c       net.Conn
	r       *bufio.Reader
	timeout time.Duration
}

// Conn is the underlying connection.
func (c *TCPClient) Conn() net.Conn { return c.c }

// Close closes the connection.
func (c *TCPClient) Close() { _ = c.c.Close() }

// Write sends raw bytes.
func (c *TCPClient) Write(s string) error {
	_ = c.c.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := io.WriteString(c.c, s)
	return err
}

// MustWrite sends raw bytes and fails the test on error.
func (c *TCPClient) MustWrite(t testing.TB, s string) {
	t.Helper()
	require.NoError(t, c.Write(s))
}

// EncodeArgs encodes args as a RESP multibulk request.
func EncodeArgs(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// WriteArgs sends one command as a RESP multibulk request.
func (c *TCPClient) WriteArgs(args ...string) error { return c.Write(EncodeArgs(args...)) }

// ReadLine reads one CRLF-terminated line and returns it without the CRLF.
func (c *TCPClient) ReadLine() (string, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(c.timeout))
	line, err := c.r.ReadString('\n')
	if err != nil {
		return line, err
	}
	if !strings.HasSuffix(line, "\r\n") {
		return line, fmt.Errorf("line not terminated by CRLF: %q", line)
	}
	return strings.TrimSuffix(line, "\r\n"), nil
}

// ReadReply reads one complete RESP2/RESP3 reply and returns its exact bytes.
func (c *TCPClient) ReadReply() (string, error) {
	var b strings.Builder
	err := c.readReply(&b)
	return b.String(), err
}

func (c *TCPClient) readReply(b *strings.Builder) error {
	line, err := c.ReadLine()
	if err != nil {
		b.WriteString(line)
		return err
	}
	b.WriteString(line)
	b.WriteString("\r\n")
	if line == "" {
		return fmt.Errorf("empty reply line")
	}
	switch line[0] {
	case '+', '-', ':', '_', ',', '#', '(':
		return nil
	case '$', '!', '=':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return fmt.Errorf("bad bulk length in %q", line)
		}
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		_ = c.c.SetReadDeadline(time.Now().Add(c.timeout))
		if _, err := io.ReadFull(c.r, buf); err != nil {
			b.Write(buf)
			return err
		}
		b.Write(buf)
		if string(buf[n:]) != "\r\n" {
			return fmt.Errorf("bulk payload not terminated by CRLF: %q", buf)
		}
		return nil
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return fmt.Errorf("bad aggregate length in %q", line)
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			if err := c.readReply(b); err != nil {
				return err
			}
		}
		if line[0] == '|' { // attributes precede the actual reply
			return c.readReply(b)
		}
		return nil
	default:
		return fmt.Errorf("unknown RESP type byte in %q", line)
	}
}

// ExpectReply reads one reply per expected value and requires each to equal it byte for byte.
func (c *TCPClient) ExpectReply(t testing.TB, expected ...string) {
	t.Helper()
	for _, e := range expected {
		r, err := c.ReadReply()
		require.NoError(t, err, "reading a reply, expected %q, got so far %q", e, r)
		require.Equal(t, e, r)
	}
}

// Do sends one command and returns its raw reply. It never fails the test by itself: an I/O
// error comes back as a "<io error ...>" string, which no expected reply equals.
func (c *TCPClient) Do(args ...string) string {
	if err := c.WriteArgs(args...); err != nil {
		return fmt.Sprintf("<io error writing %q: %v>", args, err)
	}
	r, err := c.ReadReply()
	if err != nil {
		return fmt.Sprintf("<io error reading the reply to %q: %v; got so far %q>", args, err, r)
	}
	return r
}

// ExpectClosed requires the server to close the connection: a read returns EOF (or a reset)
// within the timeout and no further bytes are pending.
func (c *TCPClient) ExpectClosed(t testing.TB) {
	t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(c.timeout))
	buf := make([]byte, 512)
	n, err := c.r.Read(buf)
	require.Error(t, err, "expected the server to close the connection, got %q", buf[:n])
	require.Zero(t, n, "unexpected bytes before close: %q", buf[:n])
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("server did not close the connection within %v", c.timeout)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("unexpected error while waiting for close: %v", err)
	}
}

// ExpectNoReply requires that nothing arrives within d (the connection stays open and silent).
func (c *TCPClient) ExpectNoReply(t testing.TB, d time.Duration) {
	t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	n, err := c.r.Read(buf)
	require.Zero(t, n, "unexpected bytes: %q", buf[:n])
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "expected a read timeout, got %v", err)
}
