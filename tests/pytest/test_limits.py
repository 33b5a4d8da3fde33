"""Connection limits: --maxclients, --client-output-buffer-limit, and how
--client-query-buffer-limit treats a long pipeline of small commands."""

import socket
import threading

import pytest
import redis

from helpers import RawConn, encode, wait_until

MAXCLIENTS_ERR = b"-ERR max number of clients reached\r\n"


def connected_clients(c):
    return c.info("clients")["connected_clients"]


# -------------------------------------------------------------------------------- maxclients
def try_client(srv):
    """A new connection that answers PING, or None if the server refused it."""
    c = RawConn(srv)
    try:
        reply = c.call("PING")
    except (ConnectionError, OSError):
        c.close()
        return None
    if reply == b"+PONG\r\n":
        return c
    assert reply == MAXCLIENTS_ERR, reply
    c.close()
    return None


def test_maxclients_refuses_the_extra_connection(make_server):
    srv = make_server(extra_args=["--maxclients", "3"])
    conns = [RawConn(srv) for _ in range(3)]
    try:
        for i, c in enumerate(conns):
            assert c.call("SET", f"k{i}", "v") == b"+OK\r\n"
        # connection 4: the error is sent at once (before any command), then it is closed
        for _ in range(5):
            with RawConn(srv) as extra:
                data, closed = extra.read_to_close()
                assert (data, closed) == (MAXCLIENTS_ERR, True)
        # the admitted ones are unaffected
        for i, c in enumerate(conns):
            assert c.call("GET", f"k{i}") == b"$1\r\nv\r\n"
        assert raw_info_field(conns[0], "clients", "connected_clients") == "3"

        # once one leaves, exactly one newcomer gets in
        conns.pop().close()
        newcomer = wait_until(lambda: try_client(srv), timeout=10,
                              what="a connection to be accepted after one closed")
        conns.append(newcomer)
        assert newcomer.call("GET", "k0") == b"$1\r\nv\r\n"
        with RawConn(srv) as extra:
            assert extra.read_to_close() == (MAXCLIENTS_ERR, True)
    finally:
        for c in conns:
            c.close()


def raw_info_field(conn, section, field):
    """One INFO field read through an existing raw connection (the server may be full)."""
    reply = conn.call("INFO", section)
    for line in reply.split(b"\r\n"):
        if line.startswith(field.encode() + b":"):
            return line.split(b":", 1)[1].decode()
    raise AssertionError(f"no {field} in {reply!r}")


def test_maxclients_with_redis_py(make_server):
    srv = make_server(extra_args=["--maxclients", "2"])
    a, b = srv.client(), srv.client()
    try:
        assert a.ping() is True and b.ping() is True
        c = srv.client()
        with pytest.raises(redis.ConnectionError) as ei:
            c.ping()
        assert "max number of clients reached" in str(ei.value)
        c.close()
        assert a.set("x", "1") is True and b.get("x") == "1"
    finally:
        a.close()
        b.close()
    # both gone: new clients are accepted again
    wait_until(lambda: try_ping(srv), timeout=10, what="redis-py to connect again")


def try_ping(srv):
    c = srv.client()
    try:
        return c.ping()
    except redis.ConnectionError:
        return False
    finally:
        c.close()


def test_maxclients_many_refused_connections_leave_no_trace(make_server):
    """Refused connections must not use up the slots: after 50 refusals, closing one admitted
    client admits exactly one more."""
    srv = make_server(extra_args=["--maxclients", "2"])
    conns = [RawConn(srv), RawConn(srv)]
    try:
        for c in conns:
            assert c.call("PING") == b"+PONG\r\n"
        refused = [RawConn(srv) for _ in range(50)]
        for r in refused:
            assert r.read_to_close() == (MAXCLIENTS_ERR, True)
            r.close()
        conns.pop().close()
        conns.append(wait_until(lambda: try_client(srv), timeout=10, what="a free slot"))
        with RawConn(srv) as extra:
            assert extra.read_to_close() == (MAXCLIENTS_ERR, True)
    finally:
        for c in conns:
            c.close()


# ------------------------------------------------------------------ client-output-buffer-limit
VALUE = b"x" * (256 * 1024)
LIMIT = 1 << 20


def test_output_buffer_limit_disconnects_a_client_that_does_not_read(make_server):
    srv = make_server(extra_args=["--client-output-buffer-limit", str(LIMIT)])
    bystander = srv.client(decode_responses=False)
    assert bystander.set("big", VALUE) is True
    assert connected_clients(bystander) == 1

    n = 400  # 100 MB of replies
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # little room in the kernel
    s.settimeout(10)
    s.connect(("127.0.0.1", srv.port))
    try:
        s.sendall(encode("PING"))
        assert s.recv(64) == b"+PONG\r\n"
        assert connected_clients(bystander) == 2
        s.sendall(encode("GET", "big") * n)
        wait_until(lambda: connected_clients(bystander) == 1, timeout=15,
                   what="the server to drop the client that does not read its replies")
        # what it did get is less than it asked for, then the connection is closed
        got = 0
        while True:
            try:
                chunk = s.recv(1 << 20)
            except ConnectionResetError:
                break
            except socket.timeout:
                pytest.fail(f"connection still open after {got} bytes of replies")
            if not chunk:
                break
            got += len(chunk)
            assert got < n * len(VALUE), "every reply arrived: the client was not disconnected"
    finally:
        s.close()
    # the server and the other client are fine
    assert bystander.get("big") == VALUE
    assert bystander.strlen("big") == len(VALUE)
    bystander.close()


def test_output_buffer_limit_spares_clients_that_read(make_server):
    srv = make_server(extra_args=["--client-output-buffer-limit", str(LIMIT)])
    c = srv.client(decode_responses=False)
    assert c.set("big", VALUE) is True
    for _ in range(20):  # 5 MB in all, one reply (under the limit) at a time
        assert c.get("big") == VALUE
    with c.pipeline(transaction=False) as p:  # 3 x 256 KB pending at most
        for _ in range(3):
            p.get("big")
        assert p.execute() == [VALUE] * 3
    assert c.ping() is True
    c.close()


# ------------------------------------------------------------------ client-query-buffer-limit
def test_query_buffer_limit_counts_unparsed_bytes_not_a_whole_pipeline(make_server):
    """20000 small pipelined commands (480 KB) to a server with a 64 KB query buffer limit:
    each command is parsed as it arrives, so the client is served, not disconnected (Redis
    behaves the same)."""
    srv = make_server(extra_args=["--client-query-buffer-limit", str(64 * 1024)])
    n = 20000
    with RawConn(srv, timeout=60) as c:
        got = []
        errors = []

        def reader():
            try:
                got.extend(c.replies(n))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        payload = b"".join(encode("INCR", f"ctr{i % 4}") for i in range(n))
        assert len(payload) > 7 * 64 * 1024
        c.send(payload)
        t.join(timeout=60)
        assert not t.is_alive(), f"only {len(got)} of {n} replies within 60 s"
        assert not errors, errors
        assert got == [b":%d\r\n" % (i // 4 + 1) for i in range(n)]
        assert c.call("MGET", "ctr0", "ctr3") == b"*2\r\n$4\r\n5000\r\n$4\r\n5000\r\n"
