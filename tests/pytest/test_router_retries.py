"""The smart client's retry rules, against a scripted fake server (no cluster support, so every
slot is that server): what is resent (TRYAGAIN, reads whose connection dropped) and what never
is (RedRaft's UNCERTAIN, writes whose connection dropped), the redirect cap on a MOVED loop, and
the retry deadline."""

import socket
import threading
import time

import pytest

import redraft


class FakeServer:
    """Answers each command with handler(args) -> bytes (None: close the connection)."""

    def __init__(self, handler):
        self.handler = handler
        self.calls = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        f = conn.makefile("rb")
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                assert line[:1] == b"*", line
                args = []
                for _ in range(int(line[1:])):
                    n = int(f.readline()[1:])
                    args.append(f.read(n + 2)[:-2])
                if args[0].upper() == b"CLUSTER":
                    conn.sendall(b"-ERR This instance has cluster support disabled\r\n")
                    continue
                self.calls.append(args)
                out = self.handler(args, self)
                if out is None:
                    return
                conn.sendall(out)
        finally:
            f.close()
            conn.close()

    def count(self, name):
        return sum(1 for a in self.calls if a[0].upper() == name)

    def close(self):
        self.sock.close()


def client(srv, **kw):
    return redraft.RedisCluster(host="127.0.0.1", port=srv.port, **kw)


def test_uncertain_write_is_raised_and_never_resent():
    srv = FakeServer(lambda a, s: b"-UNCERTAIN write proposed but not confirmed\r\n")
    c = client(srv)
    with pytest.raises(redraft.UncertainWriteError, match="^UNCERTAIN write proposed") as e:
        c.set("k", "v")
    assert isinstance(e.value, redraft.ResponseError)
    assert srv.count(b"SET") == 1
    c.close()
    srv.close()


def test_tryagain_is_retried_until_it_succeeds():
    def h(a, s):
        return b"-TRYAGAIN later\r\n" if s.count(b"GET") <= 3 else b"$1\r\nx\r\n"
    srv = FakeServer(h)
    c = client(srv)
    assert c.get("k") == b"x"
    assert srv.count(b"GET") == 4
    assert c.stats()["retried"] == 3
    c.close()
    srv.close()


def test_clusterdown_gives_up_at_the_retry_deadline():
    srv = FakeServer(lambda a, s: b"-CLUSTERDOWN no leader\r\n")
    c = client(srv, retry_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(redraft.ClusterDownError, match="^no leader$"):
        c.set("k", "v")
    assert 0.45 < time.monotonic() - started < 3
    assert srv.count(b"SET") >= 3
    c.close()
    srv.close()


def test_moved_loop_stops_at_the_redirect_cap():
    srv = FakeServer(lambda a, s: f"-MOVED 1 127.0.0.1:{s.port}\r\n".encode())
    c = client(srv, max_redirects=4, retry_timeout=30)
    started = time.monotonic()
    with pytest.raises(redraft.ClusterError, match="too many redirects"):
        c.get("k")
    assert srv.count(b"GET") == 5
    assert time.monotonic() - started < 10
    c.close()
    srv.close()


def test_dropped_connection_resends_reads_but_not_writes():
    def h(a, s):
        if a[0] == b"INCRBY":
            return None
        return None if s.count(b"GET") == 1 else b"$2\r\nok\r\n"
    srv = FakeServer(h)
    c = client(srv)
    with pytest.raises(redraft.ConnectionError):
        c.incr("n")
    assert srv.count(b"INCRBY") == 1
    assert c.get("k") == b"ok"
    assert srv.count(b"GET") == 2
    c.close()
    srv.close()


def test_pipeline_resends_only_tryagain_entries():
    def h(a, s):
        key = a[1] if len(a) > 1 else b""
        if key == b"b" and s.count(b"GET") <= 3:
            return b"-TRYAGAIN\r\n"
        return b"$%d\r\n%s\r\n" % (len(key), key)
    srv = FakeServer(h)
    c = client(srv)
    p = c.pipeline()
    p.get("a").get("b").get("c")
    assert p.execute() == [b"a", b"b", b"c"]
    assert [x[1] for x in srv.calls] == [b"a", b"b", b"c", b"b"]
    c.close()
    srv.close()
