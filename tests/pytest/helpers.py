"""Raw RESP helpers and small utilities shared by the test modules."""

import os
import socket
import time

import pytest
import redis


def encode(*args):
    """A RESP multibulk command."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RawConn:
    """A plain socket that reads whole RESP2/RESP3 replies and returns their exact bytes."""

    def __init__(self, server, timeout=10):
        self.sock = server.connect(timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def call(self, *args):
        """Send one command (multibulk) and return the raw bytes of its reply."""
        self.send(encode(*args))
        return self.reply()

    def inline(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.reply()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError(f"server closed the connection; unparsed bytes: {self.buf!r}")
        self.buf += data

    def _line(self, pos):
        while True:
            i = self.buf.find(b"\r\n", pos)
            if i >= 0:
                return i
            self._fill()

    def _need(self, n):
        while len(self.buf) < n:
            self._fill()

    def _skip(self, pos):
        """Return the position just after the reply starting at pos."""
        self._need(pos + 1)
        t = self.buf[pos:pos + 1]
        end = self._line(pos)
        head = self.buf[pos + 1:end]
        after = end + 2
        if t in b"+-:_,#(":
            return after
        n = int(head)
        if t in b"$=!":
            if n < 0:
                return after
            self._need(after + n + 2)
            assert self.buf[after + n:after + n + 2] == b"\r\n", self.buf[pos:after + n + 2]
            return after + n + 2
        if t in b"*~>%|":
            if n < 0:
                return after
            count = n * 2 if t in b"%|" else n
            p = after
            for _ in range(count):
                p = self._skip(p)
            if t == b"|":  # an attribute precedes the real reply
                p = self._skip(p)
            return p
        raise AssertionError(f"not a RESP reply type {t!r} in {self.buf[pos:pos + 80]!r}")

    def reply(self):
        end = self._skip(0)
        out, self.buf = self.buf[:end], self.buf[end:]
        return out

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def read_to_close(self, timeout=10):
        """Read until the server closes the connection; returns (bytes, closed)."""
        self.sock.settimeout(timeout)
        data, self.buf = self.buf, b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return data, False
            except ConnectionResetError:
                return data, True
            if not chunk:
                return data, True
            data += chunk
        return data, False


def call_raw(client, *args):
    """Send a command through a redis-py client without redis-py's reply callback."""
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        client.connection_pool.release(conn)


# Error codes that redis-py strips from the message (it keeps the code in `status_code`).
_STRIPPED_CODES = {"ERR", "OOM", "WRONGPASS", "EXECABORT", "LOADING", "NOSCRIPT", "READONLY",
                   "NOAUTH", "NOPERM", "ASK", "TRYAGAIN", "MOVED", "CLUSTERDOWN", "CROSSSLOT",
                   "MASTERDOWN"}


def assert_error(fn, full, exc_type=redis.ResponseError):
    """Run fn and check the server's error reply; `full` is Redis's complete error line
    without the leading '-', e.g. "ERR syntax error"."""
    with pytest.raises(exc_type) as ei:
        fn()
    code = full.split(" ")[0]
    if code in _STRIPPED_CODES:
        assert (ei.value.status_code, str(ei.value)) == (code, full[len(code) + 1:])
    else:
        assert str(ei.value) == full
    return ei.value


def wait_until(pred, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


SLOTS = 16384
_slot_keys = {}


def key_in_slot(slot, prefix="k"):
    """A key (str) whose CLUSTER KEYSLOT is `slot` (no hash tag), found by search and cached."""
    from redis.crc import key_slot
    want = (prefix, slot)
    if want not in _slot_keys:
        i = 0
        while want not in _slot_keys:
            k = f"{prefix}:{i}"
            _slot_keys.setdefault((prefix, key_slot(k.encode())), k)
            i += 1
    return _slot_keys[want]


def region_bounds(n):
    """The slot ranges [start, end) of `--regions n`: [i*16384/n, (i+1)*16384/n)."""
    return [(i * SLOTS // n, (i + 1) * SLOTS // n) for i in range(n)]


# Members of the "big collection" tests: 200,000 in CI; `make heavy` runs them with 1,000,000.
BIG_N = int(os.environ.get("REDRAFT_BIG_N", "200000"))


def rss_kb(server):
    """The resident memory of a running server process, in KB (from /proc)."""
    with open(f"/proc/{server.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS line")
