// Package util starts the real redraft-server binary for end-to-end tests and gives tests
// go-redis and raw TCP clients connected to it.
package util

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

var binPath = flag.String("binPath", "", "path to the redraft-server binary (default: $REDRAFT_BIN)")

const (
	// ReadyLine is the prefix of the stdout line the server prints once it accepts clients.
	ReadyLine = "REDRAFT_READY"
	// StartTimeout bounds how long a server may take to print ReadyLine.
	StartTimeout = 60 * time.Second
	// StopTimeout bounds how long a server may take to exit after SIGTERM or SIGKILL.
	StopTimeout  = 30 * time.Second
	logTailBytes = 8 << 10
)

// BinPath returns the server binary under test: the -binPath flag, else $REDRAFT_BIN.
// It fails the test when neither is set or the file does not exist.
func BinPath(t testing.TB) string {
	t.Helper()
	p := *binPath
	if p == "" {
		p = os.Getenv("REDRAFT_BIN")
	}
	if p == "" {
		t.Fatalf("no server binary: pass -binPath=/path/to/redraft-server to go test " +
			"(e.g. go test ./... -binPath=$PWD/target/release/redraft-server) or set REDRAFT_BIN")
	}
	if !filepath.IsAbs(p) {
		t.Fatalf("server binary path %q must be absolute: go test runs each package in its own directory "+
			"(use e.g. -binPath=$PWD/target/release/redraft-server)", p)
	}
	abs := filepath.Clean(p)
	st, err := os.Stat(abs)
	if err != nil {
		t.Fatalf("server binary %q is not usable: %v", abs, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("server binary %q is not an executable file", abs)
	}
	return abs
}

// Server is one running (or stopped) redraft-server process with its own port and data dir.
type Server struct {
	t       testing.TB
	bin     string
	host    string
	port    int
	dataDir string
	logDir  string
	opts    map[string]string
	starts  int
	// confPath, when set, is passed as the first argument (a config file).
	confPath string
	// noDefaultFlags leaves out --port/--bind/--data-dir (the config file sets them).
	noDefaultFlags bool

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	stopped bool // stopped on purpose by Close or Kill
}

// StartServer starts the binary on a free port with a fresh data dir and waits for its
// readiness line. Extra opts are passed as `--key value`. The server is killed at the end
// of the test if the test did not stop it, and its log tails are printed if the test failed.
func StartServer(t testing.TB, opts map[string]string) *Server {
	t.Helper()
	s := newServer(t, opts)
	s.start()
	return s
}

// newServer prepares a Server (free port, fresh data and log dirs, cleanup) without starting it.
func newServer(t testing.TB, opts map[string]string) *Server {
	t.Helper()
	bin := BinPath(t)
	s := &Server{
		t:       t,
		bin:     bin,
		host:    "127.0.0.1",
		port:    freePort(t),
		dataDir: t.TempDir(),
		logDir:  t.TempDir(),
		opts:    map[string]string{},
	}
	for k, v := range opts {
		s.opts[k] = v
	}
	t.Cleanup(func() {
		if s.running() {
			s.killGroup()
			s.waitExit(StopTimeout)
		} else if s.exited != nil && !s.stopped {
			t.Errorf("server exited on its own during the test: %v", s.exitErr())
		}
		if t.Failed() {
			s.dumpLogs()
		}
	})
	return s
}

// Addr is host:port of the RESP listener.
func (s *Server) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// Host is the address the server binds.
func (s *Server) Host() string { return s.host }

// Port is the RESP port.
func (s *Server) Port() int { return s.port }

// DataDir is the server's data directory, kept across Restart.
func (s *Server) DataDir() string { return s.dataDir }

// Pid is the process id of the current server process.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

func (s *Server) args() []string { return s.argsWith(s.opts) }

func (s *Server) argsWith(opts map[string]string) []string {
	var args []string
	if s.confPath != "" {
		args = append(args, s.confPath)
	}
	if !s.noDefaultFlags {
		args = append(args, "--port", strconv.Itoa(s.port), "--bind", s.host, "--data-dir", s.dataDir)
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--"+k, opts[k])
	}
	return args
}

func (s *Server) start() {
	t := s.t
	t.Helper()
	s.starts++
	stderr, err := os.OpenFile(s.stderrPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	stdoutLog, err := os.OpenFile(s.stdoutPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	banner := fmt.Sprintf("=== gocase: start #%d: %s %s\n", s.starts, s.bin, strings.Join(s.args(), " "))
	_, _ = stderr.WriteString(banner)
	_, _ = stdoutLog.WriteString(banner)

	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(s.bin, s.args()...)
	cmd.Stdout = pw
	cmd.Stderr = stderr
	cmd.Stdin = nil
	// Own process group, so Kill also reaches anything the server spawned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		_ = stderr.Close()
		_ = stdoutLog.Close()
		t.Fatalf("cannot start %s: %v", s.bin, err)
	}
	_ = pw.Close()
	_ = stderr.Close()

	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd = cmd
	s.exited = exited
	s.waitErr = nil
	s.stopped = false
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(exited)
	}()

	ready := make(chan string, 1)
	go func() {
		defer func() { _ = stdoutLog.Close() }()
		defer func() { _ = pr.Close() }()
		r := bufio.NewReader(pr)
		signalled := false
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				_, _ = stdoutLog.WriteString(line)
				if !signalled && strings.HasPrefix(line, ReadyLine) {
					signalled = true
					ready <- strings.TrimRight(line, "\r\n")
				}
			}
			if err != nil {
				return
			}
		}
	}()

	deadline := time.NewTimer(StartTimeout)
	defer deadline.Stop()
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("server exited before printing %s: %v (server logs follow)", ReadyLine, s.exitErr())
	case <-deadline.C:
		s.killGroup()
		s.waitExit(StopTimeout)
		t.Fatalf("server did not print %s within %v (server logs follow)", ReadyLine, StartTimeout)
	}
}

func (s *Server) running() bool {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

func (s *Server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitErr
}

func (s *Server) waitExit(d time.Duration) bool {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	select {
	case <-exited:
		return true
	case <-time.After(d):
		return false
	}
}

func (s *Server) killGroup() {
	s.mu.Lock()
	pid := s.cmd.Process.Pid
	s.mu.Unlock()
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = s.cmd.Process.Kill()
	}
}

// Close stops the server with SIGTERM and requires a clean exit (status 0) within StopTimeout.
// It fails the test if the server had already exited without being stopped (a crash).
func (s *Server) Close() {
	t := s.t
	t.Helper()
	if s.stopped {
		return
	}
	if !s.running() {
		s.stopped = true
		t.Fatalf("server exited on its own before Close: %v (server logs follow)", s.exitErr())
	}
	s.stopped = true
	s.mu.Lock()
	proc := s.cmd.Process
	s.mu.Unlock()
	if err := proc.Signal(syscall.SIGTERM); err != nil && s.running() {
		t.Fatalf("cannot send SIGTERM: %v", err)
	}
	if !s.waitExit(StopTimeout) {
		s.killGroup()
		s.waitExit(StopTimeout)
		t.Fatalf("server did not exit within %v after SIGTERM (server logs follow)", StopTimeout)
	}
	if err := s.exitErr(); err != nil {
		t.Fatalf("server did not exit cleanly after SIGTERM: %v (server logs follow)", err)
	}
}

// Kill stops the server with SIGKILL (no chance to flush anything) and waits for it to die.
// It fails the test if the server had already exited without being stopped (a crash).
func (s *Server) Kill() {
	t := s.t
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	if !s.running() {
		t.Fatalf("server exited on its own before Kill: %v (server logs follow)", s.exitErr())
	}
	s.killGroup()
	if !s.waitExit(StopTimeout) {
		t.Fatalf("server did not die within %v after SIGKILL", StopTimeout)
	}
}

// Pause stops the server's process group with SIGSTOP (it keeps its sockets, answers nothing).
func (s *Server) Pause() {
	s.t.Helper()
	s.signalGroup(syscall.SIGSTOP)
}

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() {
	s.t.Helper()
	s.signalGroup(syscall.SIGCONT)
}

func (s *Server) signalGroup(sig syscall.Signal) {
	s.mu.Lock()
	pid := s.cmd.Process.Pid
	s.mu.Unlock()
	if err := syscall.Kill(-pid, sig); err != nil {
		s.t.Fatalf("cannot send %v to %s: %v", sig, s.Addr(), err)
	}
}

// Restart starts the server again on the same port with the same data dir and options.
// A server that was not stopped is first stopped with Close (SIGTERM, clean exit required).
func (s *Server) Restart() {
	s.t.Helper()
	s.Close()
	s.start()
}

func (s *Server) stderrPath() string { return filepath.Join(s.logDir, "stderr.log") }
func (s *Server) stdoutPath() string { return filepath.Join(s.logDir, "stdout.log") }

func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot open %s: %v)", path, err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	off := st.Size() - n
	if off < 0 {
		off = 0
	}
	_, _ = f.Seek(off, io.SeekStart)
	b, _ := io.ReadAll(f)
	prefix := ""
	if off > 0 {
		prefix = "...\n"
	}
	return prefix + string(b)
}

func (s *Server) logTails() string {
	return fmt.Sprintf("--- server stdout (tail) ---\n%s\n--- server stderr (tail) ---\n%s\n--- end of server logs ---",
		tail(s.stdoutPath(), logTailBytes/4), tail(s.stderrPath(), logTailBytes))
}

func (s *Server) dumpLogs() {
	s.t.Logf("server %s (data dir %s) logs:\n%s", s.Addr(), s.dataDir, s.logTails())
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// freePorts returns n distinct free ports, all bound at once so none is handed out twice.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports, release := reservePorts(t, n)
	release()
	return ports
}

// reservePorts binds n distinct free ports and keeps them bound until release is called
// (release may be called more than once).
func reservePorts(t testing.TB, n int) ([]int, func()) {
	t.Helper()
	var ports []int
	var ls []net.Listener
	release := func() {
		for _, l := range ls {
			_ = l.Close()
		}
		ls = nil
	}
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			release()
			t.Fatalf("no free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, release
}

// NewClient returns a go-redis client speaking RESP3 (go-redis' default handshake: HELLO 3).
func (s *Server) NewClient() *redis.Client {
	return s.NewClientWithOption(&redis.Options{})
}

// NewRESP2Client returns a go-redis client speaking RESP2 (handshake HELLO 2).
func (s *Server) NewRESP2Client() *redis.Client {
	return s.NewClientWithOption(&redis.Options{Protocol: 2})
}

// NewClientWithOption returns a go-redis client with the given options; Addr is filled in,
// Protocol defaults to 3, and automatic retries are off so that server errors surface.
func (s *Server) NewClientWithOption(opt *redis.Options) *redis.Client {
	o := *opt
	o.Addr = s.Addr()
	if o.Protocol == 0 {
		o.Protocol = 3
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = -1
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 20 * time.Second
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 20 * time.Second
	}
	return redis.NewClient(&o)
}

// NewTCPClient opens a raw TCP connection for protocol-level tests.
func (s *Server) NewTCPClient() *TCPClient {
	s.t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr(), 10*time.Second)
	require.NoError(s.t, err)
	tc := &TCPClient{c: c, r: bufio.NewReader(c), timeout: 20 * time.Second}
	s.t.Cleanup(func() { _ = c.Close() })
	return tc
}

// FreePort returns a port that was free a moment ago on 127.0.0.1.
func FreePort(t testing.TB) int { return freePort(t) }

func itoa(n int) string { return strconv.Itoa(n) }

// Stderr is what the server has logged so far.
func (s *Server) Stderr() string {
	b, _ := os.ReadFile(s.stderrPath())
	return string(b)
}
