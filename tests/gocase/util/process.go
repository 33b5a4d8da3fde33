package util

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// StartServerWithConfig writes conf to a file and starts the binary as
// `redraft-server FILE [--port P --bind H --data-dir D] [--key value ...]`.
// In conf, ${PORT}, ${BIND} and ${DIR} stand for the server's port, bind address and data dir.
// With defaultFlags the usual --port/--bind/--data-dir flags follow the file (and so override
// it); without them the file must set port, bind and dir itself.
func StartServerWithConfig(t testing.TB, conf string, defaultFlags bool, opts map[string]string) *Server {
	t.Helper()
	s := newServer(t, opts)
	s.confPath = s.WriteConfig(conf)
	s.noDefaultFlags = !defaultFlags
	s.start()
	return s
}

// WriteConfig writes conf (with ${PORT}, ${BIND} and ${DIR} replaced by this server's values)
// to a new file in the server's log dir and returns its path.
func (s *Server) WriteConfig(conf string) string {
	s.t.Helper()
	conf = strings.NewReplacer("${PORT}", strconv.Itoa(s.port), "${BIND}", s.host, "${DIR}", s.dataDir).Replace(conf)
	f, err := os.CreateTemp(s.logDir, "redraft-*.conf")
	require.NoError(s.t, err)
	_, err = f.WriteString(conf)
	require.NoError(s.t, err)
	require.NoError(s.t, f.Close())
	return f.Name()
}

// RestartWithOpts stops the server (see Restart) and starts it again on the same port and data
// dir with opts replacing the extra `--key value` options.
func (s *Server) RestartWithOpts(opts map[string]string) {
	s.t.Helper()
	s.Close()
	s.opts = map[string]string{}
	for k, v := range opts {
		s.opts[k] = v
	}
	s.start()
}

// ArgsWith is the command line (without the binary) this server would be started with if its
// extra options were opts.
func (s *Server) ArgsWith(opts map[string]string) []string { return s.argsWith(opts) }

// ExitResult is how a server process that was expected to refuse to start ended.
type ExitResult struct {
	Err    error // the exec error: nil for exit status 0
	Code   int   // exit status (-1 when killed by a signal)
	Stdout string
	Stderr string
}

// RunExpectingExit runs the server binary with args and waits for it to exit on its own within
// StartTimeout. It fails the test if the server prints its readiness line (it started) or
// does not exit in time; the process is killed in both cases.
func RunExpectingExit(t testing.TB, args ...string) ExitResult {
	t.Helper()
	bin := BinPath(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	cmd.Stdin = nil
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	kill := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

	ready := make(chan struct{}, 1)
	var out strings.Builder
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			out.WriteString(line)
			if strings.HasPrefix(line, ReadyLine) {
				ready <- struct{}{}
			}
			if err != nil {
				return
			}
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-readDone // Wait closes the pipe: read it to the end first
		exited <- cmd.Wait()
	}()
	timer := time.NewTimer(StartTimeout)
	defer timer.Stop()
	select {
	case err := <-exited:
		res := ExitResult{Err: err, Code: cmd.ProcessState.ExitCode(), Stdout: out.String(), Stderr: stderr.String()}
		return res
	case <-ready:
		kill()
		<-exited
		t.Fatalf("%s %s started (printed %s) but was expected to refuse to start\nstderr:\n%s",
			filepath.Base(bin), strings.Join(args, " "), ReadyLine, stderr.String())
	case <-timer.C:
		kill()
		<-exited
		t.Fatalf("%s %s neither started nor exited within %v\nstderr:\n%s",
			filepath.Base(bin), strings.Join(args, " "), StartTimeout, stderr.String())
	}
	return ExitResult{}
}

// ExpectExit waits up to d for the server to exit on its own (e.g. on a storage failure) and
// returns its exit error (nil for status 0); it fails the test if the server is still running.
// The server then counts as stopped, so Restart starts it again.
func (s *Server) ExpectExit(d time.Duration) error {
	s.t.Helper()
	if !s.waitExit(d) {
		s.t.Fatalf("server still running %v after it was expected to exit", d)
	}
	s.stopped = true
	return s.exitErr()
}
