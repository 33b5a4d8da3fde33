"""Shared fixtures for the RedRaft end-to-end suite.

Every test talks to the real server binary named by the REDRAFT_BIN environment variable
(`--port N --bind 127.0.0.1 --data-dir DIR [--requirepass PW]`, prints a line starting with
`REDRAFT_READY` on stdout when it accepts connections, exits 0 on SIGTERM, logs on stderr).
"""

import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

READY_PREFIX = "REDRAFT_READY"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
LOG_TAIL_BYTES = 6000

# Every server started in this session, so a failing test can show their logs.
_ALL_SERVERS = []


def _redraft_bin():
    return os.environ.get("REDRAFT_BIN", "").strip()


def pytest_configure(config):
    binary = _redraft_bin()
    if not binary:
        raise pytest.UsageError(
            "REDRAFT_BIN is not set: point it at the redraft server binary, e.g. "
            "REDRAFT_BIN=$PWD/target/release/redraft-server python -m pytest tests/pytest"
        )
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise pytest.UsageError(f"REDRAFT_BIN={binary!r} is not an executable file")


def free_ports(n):
    """n distinct free ports: all bound at once, so none of them is handed out twice."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def no_retry():
    """redis-py retries on connection errors by default; the suite must see every failure."""
    return Retry(NoBackoff(), 0)


class RedraftServer:
    """One RedRaft process on a fixed data dir; can be stopped, killed and restarted."""

    def __init__(self, data_dir, log_path, requirepass=None, port=None, extra_args=(),
                 config_path=None, cli_base=True):
        self.binary = _redraft_bin()
        self.data_dir = data_dir
        self.log_path = log_path
        self.requirepass = requirepass
        self.extra_args = list(extra_args)
        self.port = port or free_port()
        # A config file passed as the first argument (`redraft-server FILE [--flag value ...]`).
        self.config_path = config_path
        # False: leave out --port/--bind/--data-dir (the config file must set them).
        self.cli_base = cli_base
        self.proc = None
        self.starts = 0
        # nodeid (or nodeid prefix, e.g. a module) of the tests that use it; None: everyone
        self.owner = None
        self._stdout_thread = None
        _ALL_SERVERS.append(self)

    # ----- lifecycle -------------------------------------------------------------------
    def args(self):
        a = [self.binary]
        if self.config_path is not None:
            a.append(self.config_path)
        if self.cli_base:
            a += ["--port", str(self.port), "--bind", "127.0.0.1", "--data-dir", self.data_dir]
        if self.requirepass is not None:
            a += ["--requirepass", self.requirepass]
        return a + self.extra_args

    def _log_line(self, text):
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(f"\n===== [test harness {time.strftime('%H:%M:%S')}] {text} =====\n")

    def start(self, timeout=READY_TIMEOUT):
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        self.starts += 1
        args = self.args()
        self._log_line(f"start #{self.starts}: {' '.join(args)}")
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log)
        finally:
            log.close()
        lines = queue.Queue()
        proc = self.proc
        log_path = self.log_path

        def pump():
            # Forward every stdout line to the queue (until READY) and to the log file, and keep
            # draining so the server can never block on a full stdout pipe.
            for raw in iter(proc.stdout.readline, b""):
                lines.put(raw)
                with open(log_path, "ab") as f:
                    f.write(b"[stdout] " + raw)
            lines.put(None)

        self._stdout_thread = threading.Thread(target=pump, daemon=True)
        self._stdout_thread.start()

        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._abort()
                self.proc = None  # a failed start is reported here, not again by stop()
                raise RuntimeError(
                    f"server did not print {READY_PREFIX} within {timeout:.0f}s; "
                    f"stdout so far: {seen!r}\n{self.log_tail()}")
            try:
                raw = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if raw is None:
                code = self.proc.wait(timeout=10)
                self.proc = None  # a failed start is reported here, not again by stop()
                raise RuntimeError(
                    f"server exited with code {code} before printing {READY_PREFIX}; "
                    f"stdout: {seen!r}\n{self.log_tail()}")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            seen.append(line)
            if line.startswith(READY_PREFIX):
                return self

    def run_to_exit(self, timeout=30):
        """Run the binary in the foreground with this server's arguments, for a start that must
        fail (bad flags or config). Returns (exit code, stdout, stderr) as text; a process
        still running after `timeout` is killed and fails the test."""
        assert not self.alive(), "server already running"
        args = self.args()
        self._log_line(f"run to exit: {' '.join(args)}")
        try:
            done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"{' '.join(args)} still running after {timeout}s (expected it to exit); "
                        f"stdout: {e.stdout!r} stderr: {e.stderr!r}")
        out = done.stdout.decode("utf-8", "replace")
        err = done.stderr.decode("utf-8", "replace")
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(f"[exit code {done.returncode}]\n[stdout] {out}\n[stderr] {err}\n")
        return done.returncode, out, err

    def _abort(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM; returns the exit code (the caller asserts it is 0)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._log_line("SIGTERM")
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._log_line(f"still running {STOP_TIMEOUT:.0f}s after SIGTERM: SIGKILL")
                self.proc.kill()
                self.proc.wait(timeout=10)
                return "did not exit within %.0fs of SIGTERM" % STOP_TIMEOUT
        if self._stdout_thread is not None:
            self._stdout_thread.join(timeout=5)
        return self.proc.returncode

    def stop_and_check(self):
        code = self.stop()
        assert code == 0, f"server did not exit cleanly on SIGTERM: {code}\n{self.log_tail()}"

    def kill9(self):
        assert self.alive(), f"server not running before kill -9\n{self.log_tail()}"
        self._log_line("SIGKILL")
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self._stdout_thread is not None:
            self._stdout_thread.join(timeout=5)

    def kill9_and_restart(self):
        """kill -9, then start again on the same port and data dir."""
        self.kill9()
        return self.start()

    # ----- clients ---------------------------------------------------------------------
    def client(self, protocol=None, decode_responses=True, password=None, **kw):
        kw.setdefault("socket_timeout", 30)
        kw.setdefault("socket_connect_timeout", 10)
        if password is None and self.requirepass is not None:
            password = self.requirepass
        kwargs = dict(host="127.0.0.1", port=self.port, decode_responses=decode_responses,
                      password=password, retry=no_retry(), **kw)
        if protocol is not None:
            kwargs["protocol"] = protocol
        return redis.Redis(**kwargs)

    def connect(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def log_tail(self, n=LOG_TAIL_BYTES):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - n))
                data = f.read().decode("utf-8", "replace")
        except OSError as e:
            return f"(no log: {e})"
        return f"--- {self.log_path} (last {n} bytes) ---\n{data}"


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="redraft-pytest-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def new_server(workdir, name, requirepass=None, owner=None, extra_args=(), config_text=None,
               cli_base=True, start=True, port=None):
    """A server with its own data dir under workdir/<name>/, started unless start=False.

    config_text: the text of a config file written to workdir/<name>/redraft.conf and passed
    as the first argument; a callable gets the RedraftServer (for its port and data_dir) and
    returns the text. cli_base=False leaves out --port/--bind/--data-dir."""
    safe = "".join(c if c.isalnum() else "_" for c in name)[:80]
    base = os.path.join(workdir, safe)
    n = 0
    while os.path.exists(base + (f"_{n}" if n else "")):
        n += 1
    base += f"_{n}" if n else ""
    os.makedirs(os.path.join(base, "data"))
    srv = RedraftServer(os.path.join(base, "data"), os.path.join(base, "server.log"),
                        requirepass=requirepass, extra_args=extra_args, cli_base=cli_base, port=port)
    srv.owner = owner
    if config_text is not None:
        srv.config_path = os.path.join(base, "redraft.conf")
        text = config_text(srv) if callable(config_text) else config_text
        with open(srv.config_path, "w", encoding="utf-8") as f:
            f.write(text)
    if start:
        srv.start()
    return srv


@pytest.fixture
def make_server(workdir, request):
    """Factory for private servers (own data dir); each is stopped at the end of the test with
    SIGTERM and must exit 0."""
    made = []

    def make(requirepass=None, extra_args=(), config_text=None, cli_base=True, start=True, port=None):
        srv = new_server(workdir, request.node.name, requirepass=requirepass,
                         owner=request.node.nodeid, extra_args=extra_args,
                         config_text=config_text, cli_base=cli_base, start=start, port=port)
        made.append(srv)
        return srv

    yield make
    errors = []
    for srv in made:
        code = srv.stop()
        if code not in (0, None):
            errors.append(f"exit code {code!r} after SIGTERM\n{srv.log_tail()}")
    assert not errors, "\n".join(errors)


@pytest.fixture(scope="session")
def _shared_server(workdir):
    srv = new_server(workdir, "shared")
    yield srv
    srv.stop_and_check()


@pytest.fixture
def server(_shared_server):
    """The shared server, emptied with FLUSHALL before the test.

    If an earlier test crashed it, it is restarted and this test fails loudly (so the crash is
    never silent) while later tests still get a working server.
    """
    srv = _shared_server
    if not srv.alive():
        code = srv.proc.returncode if srv.proc is not None else "(never started)"
        tail = srv.log_tail()
        srv.start()
        pytest.fail(f"the shared RedRaft server had died (exit code {code}) before this test; "
                    f"restarted it.\n{tail}")
    c = srv.client(protocol=2)
    try:
        assert c.flushall() is True
    finally:
        c.close()
    return srv


@pytest.fixture(params=[3, 2], ids=["resp3", "resp2"])
def protocol(request):
    return request.param


@pytest.fixture
def r(server, protocol):
    """redis-py client (decode_responses=True): redis-py's default protocol (RESP3 in 8.x), and
    RESP2."""
    c = server.client(protocol=None if protocol == 3 else 2)
    yield c
    c.close()


@pytest.fixture
def rb(server, protocol):
    """Like `r` but returns bytes."""
    c = server.client(protocol=None if protocol == 3 else 2, decode_responses=False)
    yield c
    c.close()


# A 3-node cluster on loopback (also used by the smart-client suites).
READY = 60.0


def cluster_ready(nodes):
    """Every running node says cluster_state:ok, all give the same CLUSTER SLOTS, and every
    node leads some slots (the leader balancer is done: no leadership moves under a test)."""
    views = []
    for srv in nodes:
        try:
            c = srv.client()
            info = c.execute_command("CLUSTER", "INFO")
            if "cluster_state:ok" not in info:
                return False
            views.append(repr(c.execute_command("CLUSTER", "SLOTS")))
            c.close()
        except redis.RedisError:
            return False
    if len(set(views)) != 1:
        return False
    leaders = {members[0][1] for _, _, *members in nodes[0].client().execute_command("CLUSTER", "SLOTS")}
    return len(leaders) == len(nodes)


@pytest.fixture
def cluster(make_server):
    # RESP, gRPC and admin ports of all three nodes picked together: no port handed out twice.
    ports = free_ports(9)
    resp, grpc, admin = ports[:3], ports[3:6], ports[6:]
    spec = ",".join(f"{i + 1}=127.0.0.1:{p}" for i, p in enumerate(grpc))
    nodes = [
        make_server(port=resp[i], extra_args=["--node-id", str(i + 1), "--grpc-port", str(grpc[i]),
                                              "--admin-port", str(admin[i]), "--cluster", spec])
        for i in range(3)
    ]
    for n, a in zip(nodes, admin):
        n.admin_port = a
    _wait_until(lambda: cluster_ready(nodes), timeout=READY, what="cluster ready")
    return nodes


def _wait_until(pred, timeout, what):
    from helpers import wait_until
    return wait_until(pred, timeout=timeout, what=what)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in _ALL_SERVERS:
            if srv.owner is not None and not item.nodeid.startswith(srv.owner):
                continue
            rep.sections.append((f"redraft server log ({srv.log_path})", srv.log_tail()))


# ----------------------------------------------------------------------------------------------
# The reference: a real redis-server 7.0.15 in cluster mode owning every slot.
REDIS_SERVER_BIN = os.environ.get("REDIS_SERVER_BIN", "redis-server")


def free_cluster_port():
    """A free port p <= 55535 whose cluster bus port p+10000 is free too (Redis needs both)."""
    rnd = random.Random()
    for _ in range(200):
        p = rnd.randint(20000, 55535)
        socks = []
        try:
            for port in (p, p + 10000):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port pair for the reference redis-server")


class ReferenceRedis:
    def __init__(self, base):
        self.port = free_cluster_port()
        self.dir = base
        self.log_path = os.path.join(base, "redis.log")
        self.proc = None

    def start(self):
        binary = shutil.which(REDIS_SERVER_BIN)
        if binary is None:
            pytest.fail(f"{REDIS_SERVER_BIN} not found: the reference redis-server is needed "
                        f"(Debian: apt-get install redis-server), or set REDIS_SERVER_BIN")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--logfile", self.log_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_TIMEOUT
        c = self.client(protocol=2)
        try:
            while True:
                assert self.proc.poll() is None, f"redis-server exited: {self._log()}"
                try:
                    c.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            assert c.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            # a lone node turns cluster_state:ok a moment after it owns every slot
            while "cluster_state:ok" not in c.execute_command("CLUSTER", "INFO"):
                assert time.monotonic() < deadline, "reference redis never reached cluster_state:ok"
                time.sleep(0.05)
        finally:
            c.close()
        return self

    def _log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-LOG_TAIL_BYTES:]
        except OSError as e:
            return f"(no log: {e})"

    def client(self, protocol=None, decode_responses=True, **kw):
        kw.setdefault("socket_timeout", 30)
        kw.setdefault("socket_connect_timeout", 10)
        kwargs = dict(host="127.0.0.1", port=self.port, decode_responses=decode_responses,
                      retry=no_retry(), **kw)
        if protocol is not None:
            kwargs["protocol"] = protocol
        return redis.Redis(**kwargs)

    def connect(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def reference_redis(workdir):
    """A real redis-server (REDIS_SERVER_BIN, default `redis-server`) with --cluster-enabled yes
    and CLUSTER ADDSLOTSRANGE 0 16383: the byte-for-byte reference for the cluster view."""
    base = os.path.join(workdir, "reference-redis")
    os.makedirs(base)
    ref = ReferenceRedis(base)
    try:
        yield ref.start()
    finally:
        ref.stop()


@pytest.fixture
def differ(server, reference_redis, protocol):
    """A Differ (oracle.py): both servers emptied, one connection to each in `protocol`."""
    from oracle import Differ
    d = Differ(server, reference_redis, protocol)
    yield d
    d.close()
