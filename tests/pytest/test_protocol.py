"""Raw-socket protocol tests: inline commands, pipelining, RESP3 reply types, malformed input,
QUIT / RESET, and requirepass. Expected bytes are Redis 7.0.15's."""

import re
import threading

import pytest
import redis

from conftest import new_server, no_retry
from helpers import RawConn, encode

PW = "s3cret-pw"

NOAUTH = b"-NOAUTH Authentication required.\r\n"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
HELLO_NOAUTH = (b"-NOAUTH HELLO must be called with the client already authenticated, otherwise "
                b"the HELLO AUTH <user> <pass> option can be used to authenticate the client and "
                b"select the RESP protocol version at the same time\r\n")


def hello_re(proto):
    """The HELLO reply, byte for byte except the server name, version and client id."""
    head = b"%7\r\n" if proto == 3 else b"\\*14\r\n"
    return re.compile(
        head +
        rb"\$6\r\nserver\r\n\$(\d+)\r\n[^\r\n]+\r\n"
        rb"\$7\r\nversion\r\n\$(\d+)\r\n[0-9.]+\r\n"
        rb"\$5\r\nproto\r\n:" + str(proto).encode() + rb"\r\n"
        rb"\$2\r\nid\r\n:(\d+)\r\n"
        rb"\$4\r\nmode\r\n\$10\r\nstandalone\r\n"
        rb"\$4\r\nrole\r\n\$6\r\nmaster\r\n"
        rb"\$7\r\nmodules\r\n\*0\r\n", re.S)


def assert_hello(reply, proto):
    assert hello_re(proto).fullmatch(reply), reply


@pytest.fixture
def conn(server):
    c = RawConn(server)
    yield c
    c.close()


# ---------------------------------------------------------------------------------- inline
def test_inline_commands(conn):
    assert conn.inline("PING") == b"+PONG\r\n"
    assert conn.inline("ping") == b"+PONG\r\n"
    conn.send(b"PING\n")  # a bare LF ends an inline command too
    assert conn.reply() == b"+PONG\r\n"
    assert conn.inline("ECHO hello") == b"$5\r\nhello\r\n"
    assert conn.inline("SET   k    v  ") == b"+OK\r\n"
    assert conn.inline("GET k") == b"$1\r\nv\r\n"
    assert conn.inline("EXISTS k k nokey") == b":2\r\n"


def test_inline_quoting(conn):
    assert conn.inline('SET k1 "hello world"') == b"+OK\r\n"
    assert conn.inline("GET k1") == b"$11\r\nhello world\r\n"
    assert conn.inline("SET k2 'single \"quoted\"'") == b"+OK\r\n"
    assert conn.inline("GET k2") == b'$15\r\nsingle "quoted"\r\n'
    assert conn.inline(r'SET k3 "tab\there\x41\n"') == b"+OK\r\n"
    assert conn.inline("GET k3") == b"$10\r\ntab\thereA\n\r\n"
    assert conn.inline('SET k4 ""') == b"+OK\r\n"
    assert conn.inline("STRLEN k4") == b":0\r\n"


def test_empty_lines_and_empty_multibulk_are_ignored(conn):
    conn.send(b"\r\n\r\n\n*0\r\n*-1\r\nPING\r\n")
    assert conn.reply() == b"+PONG\r\n"
    conn.send(encode("PING"))
    assert conn.reply() == b"+PONG\r\n"  # nothing extra was queued before it


def test_inline_and_multibulk_mixed_in_one_packet(conn):
    conn.send(b"PING\r\n" + encode("ECHO", "a b") + b"ECHO c\r\n" + encode("PING", "x"))
    assert conn.replies(4) == [b"+PONG\r\n", b"$3\r\na b\r\n", b"$1\r\nc\r\n", b"$1\r\nx\r\n"]


def test_empty_bulk_arguments(conn):
    assert conn.call("ECHO", "") == b"$0\r\n\r\n"
    assert conn.call("SET", "", "") == b"+OK\r\n"
    assert conn.call("GET", "") == b"$0\r\n\r\n"


# ------------------------------------------------------------------------------ pipelining
def test_pipelined_commands_answered_in_order(conn):
    cmds, expected = [], []
    for i in range(300):
        cmds.append(encode("SET", f"key:{i}", f"val:{i}"))
        expected.append(b"+OK\r\n")
        cmds.append(encode("INCR", "counter"))
        expected.append(b":%d\r\n" % (i + 1))
        cmds.append(encode("GET", f"key:{i}"))
        v = f"val:{i}".encode()
        expected.append(b"$%d\r\n%s\r\n" % (len(v), v))
        cmds.append(encode("GET", f"nokey:{i}"))
        expected.append(b"$-1\r\n")
    conn.send(b"".join(cmds))
    got = conn.replies(len(expected))
    assert got == expected


def test_large_pipeline_with_concurrent_reading(conn):
    """20k commands written while replies are read: the server must not deadlock or drop any."""
    n = 20_000
    payload = encode("INCR", "c") * n
    errors = []

    def writer():
        try:
            conn.sock.sendall(payload)
        except OSError as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=writer)
    t.start()
    conn.sock.settimeout(60)
    for i in range(1, n + 1):
        assert conn.reply() == b":%d\r\n" % i
    t.join(timeout=60)
    assert not errors
    assert conn.call("GET", "c") == b"$5\r\n20000\r\n"


def test_frames_split_byte_by_byte(conn):
    data = encode("SET", "split", "a value") + encode("GET", "split") + b"ECHO inline\r\n"
    for i in range(len(data)):
        conn.send(data[i:i + 1])
    assert conn.replies(3) == [b"+OK\r\n", b"$7\r\na value\r\n", b"$6\r\ninline\r\n"]


def test_big_bulk_argument(conn):
    value = bytes(range(256)) * 12_000  # ~3 MB, arrives in many TCP segments
    conn.sock.settimeout(60)
    assert conn.call("SET", "big", value) == b"+OK\r\n"
    assert conn.call("STRLEN", "big") == b":%d\r\n" % len(value)
    assert conn.call("GET", "big") == b"$%d\r\n%s\r\n" % (len(value), value)


# ----------------------------------------------------------------------- RESP2 reply bytes
def test_resp2_reply_bytes(conn):
    assert conn.call("GET", "nokey") == b"$-1\r\n"
    assert conn.call("SET", "k", "v") == b"+OK\r\n"
    assert conn.call("MGET", "k", "nokey") == b"*2\r\n$1\r\nv\r\n$-1\r\n"
    assert conn.call("SET", "k", "w", "NX") == b"$-1\r\n"
    assert conn.call("SET", "k", "w", "GET") == b"$1\r\nv\r\n"
    assert conn.call("TYPE", "k") == b"+string\r\n"
    assert conn.call("TYPE", "nokey") == b"+none\r\n"
    assert conn.call("TTL", "nokey") == b":-2\r\n"
    assert conn.call("INCRBYFLOAT", "f", "1.5") == b"$3\r\n1.5\r\n"
    assert conn.call("CLIENT", "GETNAME") == b"$-1\r\n"
    assert conn.call("PING", "msg") == b"$3\r\nmsg\r\n"
    assert re.fullmatch(rb"\*2\r\n\$10\r\n\d{10}\r\n\$(\d)\r\n\d{1,6}\r\n", conn.call("TIME"))
    assert_hello(conn.call("HELLO"), 2)
    assert_hello(conn.call("HELLO", "2"), 2)


def test_info_format(conn):
    conn.call("SET", "a", "1")
    conn.call("SET", "b", "2", "EX", "100")
    reply = conn.call("INFO")
    m = re.match(rb"\$(\d+)\r\n", reply)
    assert m
    body = reply[m.end():-2]
    assert int(m.group(1)) == len(body)
    text = body.decode()
    assert text.startswith("# Server\r\n")
    assert "\nredis_version:" in text
    for line in text.split("\r\n"):
        assert "\n" not in line and "\r" not in line
        assert line == "" or line.startswith("# ") or ":" in line, line
    assert "\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=" in text
    ks = conn.call("INFO", "keyspace")
    assert re.fullmatch(rb"\$\d+\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=\d+\r\n\r\n", ks)


# ----------------------------------------------------------------------- RESP3 reply bytes
def test_resp3_reply_types(conn):
    assert_hello(conn.call("HELLO", "3"), 3)
    assert conn.call("GET", "nokey") == b"_\r\n"
    assert conn.call("SET", "k", "v") == b"+OK\r\n"
    assert conn.call("GET", "k") == b"$1\r\nv\r\n"
    assert conn.call("MGET", "k", "nokey") == b"*2\r\n$1\r\nv\r\n_\r\n"
    assert conn.call("SET", "k", "w", "NX") == b"_\r\n"
    assert conn.call("SET", "new", "w", "GET") == b"_\r\n"
    assert conn.call("GETDEL", "nokey") == b"_\r\n"
    assert conn.call("GETEX", "nokey") == b"_\r\n"
    assert conn.call("GETSET", "nokey2", "x") == b"_\r\n"
    assert conn.call("CLIENT", "GETNAME") == b"_\r\n"
    assert conn.call("EXISTS", "k") == b":1\r\n"
    assert conn.call("TTL", "k") == b":-1\r\n"
    assert conn.call("TYPE", "k") == b"+string\r\n"
    assert conn.call("ECHO", "e") == b"$1\r\ne\r\n"
    # Redis 7.0 answers INCRBYFLOAT with a bulk string, not a RESP3 double (',').  None of the
    # commands in scope returns a double in 7.0.
    assert conn.call("INCRBYFLOAT", "f", "1.5") == b"$3\r\n1.5\r\n"
    assert conn.call("SET", "k", "v", "XX", "FOO") == b"-ERR syntax error\r\n"
    assert conn.call("HELLO") == conn.call("HELLO", "3")  # stays in RESP3
    assert_hello(conn.call("HELLO"), 3)


def test_resp3_info_is_a_verbatim_string(conn):
    conn.call("HELLO", "3")
    reply = conn.call("INFO", "server")
    m = re.match(rb"=(\d+)\r\ntxt:", reply)
    assert m, reply[:40]
    assert int(m.group(1)) == len(reply) - m.end() + 4 - 2  # 'txt:' + body, excluding CRLF
    assert reply[m.end():].startswith(b"# Server\r\n")
    assert reply.endswith(b"\r\n")


def test_resp3_command_info_uses_sets(conn):
    conn.call("HELLO", "3")
    reply = conn.call("COMMAND", "INFO", "get")
    assert reply.startswith(
        b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        b"~3\r\n+@read\r\n+@string\r\n+@fast\r\n"), reply
    conn.call("HELLO", "2")
    reply = conn.call("COMMAND", "INFO", "get")
    assert reply.startswith(
        b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        b"*3\r\n+@read\r\n+@string\r\n+@fast\r\n"), reply


def test_hello_switches_back_to_resp2(conn):
    assert_hello(conn.call("HELLO", "3"), 3)
    assert conn.call("GET", "nokey") == b"_\r\n"
    assert_hello(conn.call("HELLO", "2"), 2)
    assert conn.call("GET", "nokey") == b"$-1\r\n"
    assert conn.call("MGET", "nokey") == b"*1\r\n$-1\r\n"


def test_resp3_is_per_connection(server, conn):
    conn.call("HELLO", "3")
    with RawConn(server) as other:
        assert other.call("GET", "nokey") == b"$-1\r\n"
    assert conn.call("GET", "nokey") == b"_\r\n"


def test_hello_id_matches_client_id(conn):
    m = hello_re(3).fullmatch(conn.call("HELLO", "3"))
    assert m
    assert conn.call("CLIENT", "ID") == b":%s\r\n" % m.group(3)


# ---------------------------------------------------------------------------- error bytes
@pytest.mark.parametrize("args,expected", [
    (["NOSUCHCMD", "a", "b"], b"-ERR unknown command 'NOSUCHCMD', with args beginning with: "
                              b"'a' 'b' \r\n"),
    (["nosuch"], b"-ERR unknown command 'nosuch', with args beginning with: \r\n"),
    (["GET"], b"-ERR wrong number of arguments for 'get' command\r\n"),
    (["gEt", "a", "b"], b"-ERR wrong number of arguments for 'get' command\r\n"),
    (["SET", "k", "v", "NX", "XX"], b"-ERR syntax error\r\n"),
    (["INCRBY", "k", "x"], b"-ERR value is not an integer or out of range\r\n"),
    (["INCRBYFLOAT", "k", "x"], b"-ERR value is not a valid float\r\n"),
    (["HELLO", "4"], b"-NOPROTO unsupported protocol version\r\n"),
    (["CLIENT", "SETNAME", "a b"],
     b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"),
    (["SELECT", "-1"], b"-ERR DB index is out of range\r\n"),
    (["EXPIRE", "k", "1", "GT", "LT"],
     b"-ERR GT and LT options at the same time are not compatible\r\n"),
])
def test_error_reply_bytes(conn, args, expected):
    assert conn.call(*args) == expected
    assert conn.call("PING") == b"+PONG\r\n"


def test_unknown_command_args_are_truncated(conn):
    long_arg = "x" * 200
    reply = conn.call("NOSUCHCMD", long_arg)
    assert reply == (b"-ERR unknown command 'NOSUCHCMD', with args beginning with: '"
                     + b"x" * 128 + b"' \r\n")


def test_unknown_command_name_with_dollar_is_inline(conn):
    # A line starting with '$' outside a multibulk is just an inline command named '$abc'.
    assert conn.inline("$abc") == b"-ERR unknown command '$abc', with args beginning with: \r\n"
    assert conn.inline("PING") == b"+PONG\r\n"


# ---------------------------------------------------------------------------- malformed
MALFORMED = [
    ("huge-multibulk", b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    ("bad-multibulk", b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    ("bad-bulk-len", b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    ("negative-bulk-len", b"*1\r\n$-10\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    ("huge-bulk-len", b"*1\r\n$2000000000\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    ("expected-dollar", b"*1\r\nfoo\r\n", b"-ERR Protocol error: expected '$', got 'f'\r\n"),
    ("unbalanced-double-quote", b'set "k v\r\n',
     b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    ("unbalanced-single-quote", b"set k 'v\r\n",
     b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    ("quote-not-followed-by-space", b'set k "v"x\r\n',
     b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    ("too-big-inline", b"a" * 70_000, b"-ERR Protocol error: too big inline request\r\n"),
    ("too-big-mbulk-count", b"*" + b"1" * 70_000,
     b"-ERR Protocol error: too big mbulk count string\r\n"),
]


@pytest.mark.parametrize("data,expected", [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_input_errors_and_closes(server, data, expected):
    with RawConn(server) as bystander:
        assert bystander.call("SET", "bystander", "still-here") == b"+OK\r\n"
        with RawConn(server) as bad:
            # a valid command in the same packet is answered first
            bad.send(encode("PING") + data)
            got, closed = bad.read_to_close(timeout=10)
            assert got == b"+PONG\r\n" + expected
            assert closed, "the server must close the connection after a protocol error"
        # an already-open connection keeps working, and so does a new one
        assert bystander.call("GET", "bystander") == b"$10\r\nstill-here\r\n"
    with RawConn(server) as fresh:
        assert fresh.call("PING") == b"+PONG\r\n"
    assert server.alive()


def test_half_sent_command_then_disconnect(server):
    for data in [b"*3\r\n$3\r\nSET\r\n$1\r\nk", b"*2\r\n$3\r\nGET\r\n$100\r\nabc", b"GET k"]:
        with RawConn(server) as c:
            c.send(data)
    with RawConn(server) as c:
        assert c.call("EXISTS", "k") == b":0\r\n"
    assert server.alive()


# -------------------------------------------------------------------------- QUIT / RESET
def test_quit_closes_after_reply(conn):
    conn.send(b"PING\r\nQUIT\r\nPING\r\n")
    got, closed = conn.read_to_close()
    assert got == b"+PONG\r\n+OK\r\n"
    assert closed


def test_reset(conn):
    assert_hello(conn.call("HELLO", "3"), 3)
    assert conn.call("CLIENT", "SETNAME", "before-reset") == b"+OK\r\n"
    assert conn.call("RESET") == b"+RESET\r\n"
    assert conn.call("GET", "nokey") == b"$-1\r\n"  # back to RESP2
    assert conn.call("CLIENT", "GETNAME") == b"$-1\r\n"  # name cleared
    assert conn.call("RESET", "x") == b"-ERR wrong number of arguments for 'reset' command\r\n"


# ----------------------------------------------------------------------------- requirepass
@pytest.fixture(scope="module")
def auth_server(workdir, request):
    srv = new_server(workdir, "requirepass", requirepass=PW, owner=request.node.nodeid)
    yield srv
    srv.stop_and_check()


@pytest.fixture
def aconn(auth_server):
    c = RawConn(auth_server)
    yield c
    c.close()


def test_noauth_before_auth(aconn):
    for args in [["GET", "k"], ["SET", "k", "v"], ["PING"], ["ECHO", "x"], ["DBSIZE"],
                 ["CLIENT", "ID"], ["SELECT", "0"], ["INFO"]]:
        assert aconn.call(*args) == NOAUTH, args
    # the command lookup comes first: unknown commands and bad arity are reported as such
    assert aconn.call("NOSUCHCMD") == \
        b"-ERR unknown command 'NOSUCHCMD', with args beginning with: \r\n"
    assert aconn.call("GET") == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert aconn.inline("PING") == NOAUTH
    assert aconn.call("HELLO", "3") == HELLO_NOAUTH
    assert aconn.call("HELLO") == HELLO_NOAUTH


def test_wrong_password(aconn):
    assert aconn.call("AUTH", "wrong") == WRONGPASS
    assert aconn.call("AUTH", "default", "wrong") == WRONGPASS
    assert aconn.call("AUTH", "someone", PW) == WRONGPASS
    assert aconn.call("HELLO", "3", "AUTH", "default", "wrong") == WRONGPASS
    assert aconn.call("GET", "k") == NOAUTH  # still not authenticated
    assert aconn.call("AUTH") == b"-ERR wrong number of arguments for 'auth' command\r\n"
    assert aconn.call("AUTH", "a", "b", "c") == b"-ERR syntax error\r\n"


def test_auth_password(aconn):
    assert aconn.call("AUTH", PW) == b"+OK\r\n"
    assert aconn.call("SET", "authed", "1") == b"+OK\r\n"
    assert aconn.call("GET", "authed") == b"$1\r\n1\r\n"
    assert aconn.call("AUTH", "wrong") == WRONGPASS
    assert aconn.call("GET", "authed") == b"$1\r\n1\r\n"  # a failed re-AUTH keeps the session


def test_auth_default_user_password(aconn):
    assert aconn.call("AUTH", "default", PW) == b"+OK\r\n"
    assert aconn.call("PING") == b"+PONG\r\n"


def test_hello_auth(aconn):
    assert_hello(aconn.call("HELLO", "3", "AUTH", "default", PW), 3)
    assert aconn.call("GET", "nokey") == b"_\r\n"
    assert aconn.call("PING") == b"+PONG\r\n"


def test_hello_auth_setname(aconn):
    assert_hello(aconn.call("HELLO", "2", "AUTH", "default", PW, "SETNAME", "n1"), 2)
    assert aconn.call("CLIENT", "GETNAME") == b"$2\r\nn1\r\n"


def test_quit_allowed_before_auth(aconn):
    aconn.send(b"QUIT\r\nPING\r\n")
    got, closed = aconn.read_to_close()
    assert got == b"+OK\r\n"
    assert closed


def test_reset_deauthenticates(aconn):
    assert aconn.call("AUTH", PW) == b"+OK\r\n"
    assert aconn.call("RESET") == b"+RESET\r\n"
    assert aconn.call("GET", "k") == NOAUTH


@pytest.mark.parametrize("data,expected", [
    (b"*11\r\n", b"-ERR Protocol error: unauthenticated multibulk length\r\n"),
    (b"*2\r\n$16385\r\n", b"-ERR Protocol error: unauthenticated bulk length\r\n"),
], ids=["multibulk-over-10", "bulk-over-16k"])
def test_unauthenticated_big_requests_are_refused(auth_server, aconn, data, expected):
    aconn.send(data)
    got, closed = aconn.read_to_close()
    assert got == expected
    assert closed
    with RawConn(auth_server) as c:
        assert c.call("AUTH", PW) == b"+OK\r\n"
        # the same sizes are fine once authenticated
        assert c.call("MSET", *["k"] * 10) == b"+OK\r\n"
        assert c.call("SET", "big", "x" * 16385) == b"+OK\r\n"
        assert c.call("STRLEN", "big") == b":16385\r\n"


def test_unauthenticated_limits_are_inclusive(aconn):
    # exactly 10 args and a 16384-byte bulk are still read (then refused with NOAUTH)
    assert aconn.call("MGET", *["k"] * 9) == NOAUTH
    assert aconn.call("GET", "k" * 16384) == NOAUTH


@pytest.mark.parametrize("protocol", [None, 2], ids=["resp3", "resp2"])
def test_redis_py_with_password(auth_server, protocol):
    c = auth_server.client(protocol=protocol)  # passes the password
    try:
        assert c.set("py", "1") is True
        assert c.get("py") == "1"
    finally:
        c.close()
    bad = auth_server.client(protocol=protocol, password="nope")
    with pytest.raises(redis.AuthenticationError) as ei:
        bad.ping()
    assert str(ei.value) == "invalid username-password pair or user is disabled."
    bad.close()


@pytest.mark.parametrize("protocol,message", [
    (None, HELLO_NOAUTH[len("-NOAUTH "):-2].decode()),
    (2, "Authentication required."),
], ids=["resp3", "resp2"])
def test_redis_py_without_password(auth_server, protocol, message):
    kwargs = {"protocol": protocol} if protocol else {}
    c = redis.Redis(host="127.0.0.1", port=auth_server.port, socket_timeout=10,
                    retry=no_retry(), **kwargs)
    with pytest.raises(redis.AuthenticationError) as ei:
        c.ping()
    assert str(ei.value) == message
    c.close()


# --------------------------------------------------------------- regressions from review
def test_nul_byte_ends_an_inline_line(server, conn):
    # Redis parses an inline line as a C string. A NUL used to make the splitter loop forever.
    conn.send(b"PING\x00 x\r\n")
    assert conn.reply() == b"+PONG\r\n"
    conn.send(b"\x00\r\nPING\r\n")
    assert conn.reply() == b"+PONG\r\n"
    with RawConn(server) as other:
        assert other.call("PING") == b"+PONG\r\n"


def test_protocol_switch_mid_pipeline_keeps_earlier_replies(conn):
    # Each reply is encoded in the protocol in force when its command ran.
    conn.send(encode("GET", "missing") + encode("HELLO", "3") + encode("GET", "missing") +
              encode("HELLO", "2") + encode("GET", "missing"))
    r = conn.replies(5)
    assert r[0] == b"$-1\r\n"
    assert_hello(r[1], 3)
    assert r[2] == b"_\r\n"
    assert_hello(r[3], 2)
    assert r[4] == b"$-1\r\n"


def test_quit_then_garbage_answers_only_ok(server):
    with RawConn(server) as c:
        c.send(encode("QUIT") + b"*1\r\nfoo\r\n")
        data, closed = c.read_to_close()
        assert closed
        assert data == b"+OK\r\n"


def test_getex_checks_the_key_before_the_expire_value(conn):
    assert conn.call("GETEX", "missing", "EX", "0") == b"$-1\r\n"
    assert conn.call("GETEX", "missing", "EX", "abc") == b"$-1\r\n"
    assert conn.call("SET", "gx", "v") == b"+OK\r\n"
    assert conn.call("GETEX", "gx", "EX", "0") == b"-ERR invalid expire time in 'getex' command\r\n"
    assert conn.call("GETEX", "gx", "EX", "abc") == b"-ERR value is not an integer or out of range\r\n"
    assert conn.call("GETEX", "gx", "EX") == b"-ERR syntax error\r\n"
    assert conn.call("GETEX", "gx", "PERSIST", "EX", "1") == b"-ERR syntax error\r\n"


def test_subcommand_errors_come_before_noauth(aconn):
    assert aconn.call("CLIENT", "FOO") == b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"
    assert aconn.call("CLIENT", "SETNAME") == \
        b"-ERR wrong number of arguments for 'client|setname' command\r\n"
    assert aconn.call("CLIENT", "ID") == NOAUTH


def test_query_buffer_limit_closes_only_that_client(make_server):
    srv = make_server(extra_args=["--client-query-buffer-limit", str(1 << 20)])
    with RawConn(srv) as bystander, RawConn(srv) as c:
        assert bystander.call("SET", "k", "v") == b"+OK\r\n"
        # A 4 MB bulk is legal (under proto-max-bulk-len) but exceeds this 1 MB query buffer.
        c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$4194304\r\n")
        closed = False
        try:
            for _ in range(64):
                c.send(b"a" * 65536)
        except OSError:
            closed = True
        data, eof = c.read_to_close()
        assert closed or eof
        assert data == b""
        assert bystander.call("GET", "k") == b"$1\r\nv\r\n"
        assert bystander.call("EXISTS", "x") == b":0\r\n"
