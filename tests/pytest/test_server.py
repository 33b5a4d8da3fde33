"""Connection and server commands through redis-py (HELLO, AUTH, CLIENT, SELECT, PING, ECHO,
INFO, DBSIZE, TIME, COMMAND), in RESP3 (redis-py's default) and RESP2."""

import re
import time

import pytest
import redis

from helpers import assert_error, call_raw


def wrong_args(cmd):
    return f"ERR wrong number of arguments for '{cmd}' command"


def as_dict(reply):
    """HELLO / map replies: a dict in RESP3, a flat list of pairs in RESP2."""
    if isinstance(reply, dict):
        return reply
    assert isinstance(reply, list) and len(reply) % 2 == 0, reply
    return dict(zip(reply[::2], reply[1::2]))


# ------------------------------------------------------------------------------ PING / ECHO
def test_ping_echo(r):
    assert r.ping() is True
    assert call_raw(r, "PING", "hello") == "hello"
    assert r.echo("hi there") == "hi there"
    assert r.echo("") == ""
    assert_error(lambda: r.execute_command("PING", "a", "b"), wrong_args("ping"))
    assert_error(lambda: r.execute_command("ECHO"), wrong_args("echo"))


def test_echo_binary(rb):
    payload = b"\x00\r\n\xff" * 100
    assert rb.echo(payload) == payload


def test_unknown_command(r):
    assert_error(lambda: r.execute_command("NOSUCHCMD", "a", "b"),
                 "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' ")
    assert_error(lambda: r.execute_command("nosuchcmd"),
                 "ERR unknown command 'nosuchcmd', with args beginning with: ")


# ------------------------------------------------------------------------------------ HELLO
def test_default_protocol_is_resp3(server):
    c = server.client()  # redis-py 8 defaults to RESP3 and sends HELLO 3 on connect
    try:
        hello = c.execute_command("HELLO")
        assert isinstance(hello, dict)
        assert hello["proto"] == 3
        assert c.get("missing") is None
    finally:
        c.close()


def test_hello_reply(r, protocol):
    hello = as_dict(r.execute_command("HELLO"))
    assert set(hello) == {"server", "version", "proto", "id", "mode", "role", "modules"}
    assert hello["proto"] == protocol
    assert hello["id"] == r.client_id()
    assert hello["mode"] == "standalone"
    assert hello["role"] == "master"
    assert hello["modules"] == []
    assert isinstance(hello["server"], str) and hello["server"]
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", hello["version"])
    assert m and int(m.group(1)) >= 7, hello["version"]


def test_hello_setname(r, protocol):
    hello = as_dict(r.execute_command("HELLO", protocol, "SETNAME", "hello-name"))
    assert hello["proto"] == protocol
    assert r.client_getname() == "hello-name"


def test_hello_auth_without_requirepass(r, protocol):
    # the default user has no password: any password is accepted for it
    hello = as_dict(r.execute_command("HELLO", protocol, "AUTH", "default", "whatever"))
    assert hello["proto"] == protocol


@pytest.mark.parametrize("args,err", [
    (["HELLO", "4"], "NOPROTO unsupported protocol version"),
    (["HELLO", "1"], "NOPROTO unsupported protocol version"),
    (["HELLO", "abc"], "ERR Protocol version is not an integer or out of range"),
    (["HELLO", "3", "FOO"], "ERR Syntax error in HELLO option 'FOO'"),
    (["HELLO", "3", "SETNAME"], "ERR Syntax error in HELLO option 'SETNAME'"),
    (["HELLO", "3", "AUTH", "default"], "ERR Syntax error in HELLO option 'AUTH'"),
    (["HELLO", "3", "SETNAME", "a b"],
     "ERR Client names cannot contain spaces, newlines or special characters."),
])
def test_hello_errors(r, args, err):
    assert_error(lambda: r.execute_command(*args), err)
    assert r.get("missing") is None  # connection still usable, protocol unchanged
    assert r.client_getname() is None


# ------------------------------------------------------------------------------------- AUTH
def test_auth_without_requirepass(r):
    assert_error(lambda: r.execute_command("AUTH", "foo"),
                 "ERR AUTH <password> called without any password configured for the default "
                 "user. Are you sure your configuration is correct?",
                 exc_type=redis.AuthenticationError)
    assert r.execute_command("AUTH", "default", "anything") is True
    assert_error(lambda: r.execute_command("AUTH", "nosuchuser", "pw"),
                 "WRONGPASS invalid username-password pair or user is disabled.",
                 exc_type=redis.AuthenticationError)
    assert r.ping() is True


# ------------------------------------------------------------------------------------ CLIENT
def test_client_setname_getname(r):
    assert r.client_getname() is None
    assert r.client_setname("my-conn") is True
    assert r.client_getname() == "my-conn"
    assert r.client_setname("") is True  # clears the name
    assert r.client_getname() is None


@pytest.mark.parametrize("name", ["a b", "a\nb", "tab\there"])
def test_client_setname_rejects_bad_names(r, name):
    assert_error(lambda: r.client_setname(name),
                 "ERR Client names cannot contain spaces, newlines or special characters.")
    assert r.client_getname() is None


def test_client_id(server, r):
    a = r.client_id()
    assert isinstance(a, int) and a > 0
    assert r.client_id() == a  # same connection
    other = server.client(protocol=2)
    try:
        b = other.client_id()
    finally:
        other.close()
    assert b > a  # ids are increasing


def test_client_setinfo(r):
    # Sent by redis-py / go-redis on connect (a Redis 7.2 command; errors are ignored by them).
    # Redis 7.2 answers +OK (7.0.15 predates the command); read the reply without callbacks.
    assert call_raw(r, "CLIENT", "SETINFO", "LIB-NAME", "redraft-tests") in (b"OK", "OK")
    assert call_raw(r, "CLIENT", "SETINFO", "lib-ver", "1.2.3") in (b"OK", "OK")
    assert_error(lambda: r.execute_command("CLIENT", "SETINFO", "LIB-NAME", "has space"),
                 "ERR lib-name cannot contain spaces, newlines or special characters.")


@pytest.mark.parametrize("args,err", [
    (["CLIENT"], wrong_args("client")),
    (["CLIENT", "NOSUCHSUB"], "ERR unknown subcommand 'NOSUCHSUB'. Try CLIENT HELP."),
    # redis-py 8 sends this on every RESP3 connection and ignores an error reply
    (["CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", "internal-ip"],
     "ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP."),
    (["CLIENT", "SETNAME"], wrong_args("client|setname")),
    (["CLIENT", "SETNAME", "a", "b"], wrong_args("client|setname")),
    (["CLIENT", "GETNAME", "x"], wrong_args("client|getname")),
    (["CLIENT", "ID", "x"], wrong_args("client|id")),
])
def test_client_errors(r, args, err):
    assert_error(lambda: r.execute_command(*args), err)
    assert r.ping() is True


# ------------------------------------------------------------------------------------ SELECT
def test_select(r):
    assert r.execute_command("SELECT", "0") is True
    r.set("k", "v")
    assert r.get("k") == "v"
    assert_error(lambda: r.execute_command("SELECT", "-1"), "ERR DB index is out of range")
    assert_error(lambda: r.execute_command("SELECT", "abc"),
                 "ERR value is not an integer or out of range")
    assert_error(lambda: r.execute_command("SELECT"), wrong_args("select"))
    assert r.get("k") == "v"


# ------------------------------------------------------------------------------ TIME / INFO
def test_time(r):
    before = time.time()
    secs, micros = r.time()
    after = time.time()
    assert 0 <= micros <= 999_999
    assert before - 2 <= secs + micros / 1e6 <= after + 2
    assert_error(lambda: r.execute_command("TIME", "x"), wrong_args("time"))


def test_info(server, r):
    info = r.info()
    assert "redis_version" in info
    assert info["tcp_port"] == server.port
    assert info["connected_clients"] >= 1
    assert isinstance(info["uptime_in_seconds"], int)
    server_section = r.info("server")
    assert server_section["tcp_port"] == server.port
    assert "connected_clients" not in server_section  # only the asked section


def test_info_keyspace(r):
    assert r.info("keyspace") == {}
    r.set("a", "1")
    r.set("b", "2", ex=100)
    r.set("c", "3", px=100_000)
    db0 = r.info("keyspace")["db0"]
    assert db0["keys"] == 3
    assert db0["expires"] == 2
    assert "avg_ttl" in db0


def test_info_unknown_section_is_empty(r):
    assert r.info("nosuchsection") == {}


# ----------------------------------------------------------------------------------- COMMAND
# (arity, flags, first key, last key, step, acl categories) from Redis 7.0.15
COMMAND_TABLE = {
    "del": (-2, ["write"], 1, -1, 1, ["@keyspace", "@slow", "@write"]),
    "unlink": (-2, ["fast", "write"], 1, -1, 1, ["@fast", "@keyspace", "@write"]),
    "exists": (-2, ["fast", "readonly"], 1, -1, 1, ["@fast", "@keyspace", "@read"]),
    "type": (2, ["fast", "readonly"], 1, 1, 1, ["@fast", "@keyspace", "@read"]),
    "expire": (-3, ["fast", "write"], 1, 1, 1, ["@fast", "@keyspace", "@write"]),
    "expireat": (-3, ["fast", "write"], 1, 1, 1, ["@fast", "@keyspace", "@write"]),
    "pexpire": (-3, ["fast", "write"], 1, 1, 1, ["@fast", "@keyspace", "@write"]),
    "pexpireat": (-3, ["fast", "write"], 1, 1, 1, ["@fast", "@keyspace", "@write"]),
    "ttl": (2, ["fast", "readonly"], 1, 1, 1, ["@fast", "@keyspace", "@read"]),
    "pttl": (2, ["fast", "readonly"], 1, 1, 1, ["@fast", "@keyspace", "@read"]),
    "persist": (2, ["fast", "write"], 1, 1, 1, ["@fast", "@keyspace", "@write"]),
    "flushdb": (-1, ["write"], 0, 0, 0, ["@dangerous", "@keyspace", "@slow", "@write"]),
    "flushall": (-1, ["write"], 0, 0, 0, ["@dangerous", "@keyspace", "@slow", "@write"]),
    "get": (2, ["fast", "readonly"], 1, 1, 1, ["@fast", "@read", "@string"]),
    "set": (-3, ["denyoom", "write"], 1, 1, 1, ["@slow", "@string", "@write"]),
    "setnx": (3, ["denyoom", "fast", "write"], 1, 1, 1, ["@fast", "@string", "@write"]),
    "setex": (4, ["denyoom", "write"], 1, 1, 1, ["@slow", "@string", "@write"]),
    "psetex": (4, ["denyoom", "write"], 1, 1, 1, ["@slow", "@string", "@write"]),
    "mget": (-2, ["fast", "readonly"], 1, -1, 1, ["@fast", "@read", "@string"]),
    "mset": (-3, ["denyoom", "write"], 1, -1, 2, ["@slow", "@string", "@write"]),
    "getset": (3, ["denyoom", "fast", "write"], 1, 1, 1, ["@fast", "@string", "@write"]),
    "getdel": (2, ["fast", "write"], 1, 1, 1, ["@fast", "@string", "@write"]),
    "getex": (-2, ["fast", "write"], 1, 1, 1, ["@fast", "@string", "@write"]),
    "strlen": (2, ["fast", "readonly"], 1, 1, 1, ["@fast", "@read", "@string"]),
    "append": (3, ["denyoom", "fast", "write"], 1, 1, 1, ["@fast", "@string", "@write"]),
    "getrange": (4, ["readonly"], 1, 1, 1, ["@read", "@slow", "@string"]),
    "setrange": (4, ["denyoom", "write"], 1, 1, 1, ["@slow", "@string", "@write"]),
    "incr": (2, ["denyoom", "fast", "write"], 1, 1, 1, ["@fast", "@string", "@write"]),
    "decr": (2, ["denyoom", "fast", "write"], 1, 1, 1, ["@fast", "@string", "@write"]),
    "incrby": (3, ["denyoom", "fast", "write"], 1, 1, 1, ["@fast", "@string", "@write"]),
    "decrby": (3, ["denyoom", "fast", "write"], 1, 1, 1, ["@fast", "@string", "@write"]),
    "incrbyfloat": (3, ["denyoom", "fast", "write"], 1, 1, 1, ["@fast", "@string", "@write"]),
    "ping": (-1, ["fast"], 0, 0, 0, ["@connection", "@fast"]),
    "echo": (2, ["fast", "loading", "stale"], 0, 0, 0, ["@connection", "@fast"]),
    "dbsize": (1, ["fast", "readonly"], 0, 0, 0, ["@fast", "@keyspace", "@read"]),
}

# arity only, for the connection / server commands
COMMAND_ARITY = {"hello": -1, "auth": -2, "client": -2, "select": 2, "quit": -1, "reset": 1,
                 "info": -1, "time": 1, "command": -1}


def test_command_info_data_commands(r):
    info = r.execute_command("COMMAND", "INFO", *COMMAND_TABLE)
    for name, (arity, flags, first, last, step, acl) in COMMAND_TABLE.items():
        got = info.get(name)
        assert got is not None, f"COMMAND INFO has no entry for {name}"
        assert got["name"] == name
        assert (got["arity"], sorted(got["flags"]), got["first_key_pos"], got["last_key_pos"],
                got["step_count"], sorted(got["acl_categories"])) == \
            (arity, flags, first, last, step, acl), name
        assert "key_specifications" in got and "subcommands" in got and "tips" in got


def test_command_info_connection_commands(r):
    info = r.execute_command("COMMAND", "INFO", *COMMAND_ARITY)
    for name, arity in COMMAND_ARITY.items():
        assert info[name]["arity"] == arity, name


def test_command_info_unknown_is_null(rb):
    reply = call_raw(rb, "COMMAND", "INFO", "nosuchcommand", "get")
    assert len(reply) == 2
    assert reply[0] is None
    assert reply[1][0] == b"get" and reply[1][1] == 2


def test_command_count_matches_command(r):
    count = r.command_count()
    table = r.command()
    assert count == len(table)
    for name in list(COMMAND_TABLE) + list(COMMAND_ARITY):
        assert name in table, f"COMMAND does not list {name}"


@pytest.mark.parametrize("args,keys", [
    (["SET", "a", "b"], ["a"]),
    (["SET", "a", "b", "EX", "10", "NX"], ["a"]),
    (["GET", "k"], ["k"]),
    (["MSET", "a", "1", "b", "2"], ["a", "b"]),
    (["MGET", "a", "b", "c"], ["a", "b", "c"]),
    (["DEL", "x", "y"], ["x", "y"]),
    (["EXPIRE", "k", "10", "NX"], ["k"]),
    (["getex", "k", "PERSIST"], ["k"]),
])
def test_command_getkeys(r, args, keys):
    assert r.command_getkeys(*args) == keys


@pytest.mark.parametrize("args,err", [
    (["COMMAND", "GETKEYS", "PING", "x"], "ERR The command has no key arguments"),
    (["COMMAND", "GETKEYS", "NOSUCH", "a"], "ERR Invalid command specified"),
    (["COMMAND", "GETKEYS", "GET", "a", "b"],
     "ERR Invalid number of arguments specified for command"),
    (["COMMAND", "GETKEYS"], wrong_args("command|getkeys")),
    (["COMMAND", "COUNT", "x"], wrong_args("command|count")),
    (["COMMAND", "NOSUCHSUB"], "ERR unknown subcommand 'NOSUCHSUB'. Try COMMAND HELP."),
])
def test_command_errors(r, args, err):
    assert_error(lambda: r.execute_command(*args), err)



def _docs(conn, *names):
    """COMMAND DOCS as {name: {field: value}} (bytes) from a raw RESP2 reply."""
    flat = call_raw(conn, "COMMAND", "DOCS", *names)
    return {name: dict(zip(fields[::2], fields[1::2])) for name, fields in zip(flat[::2], flat[1::2])}


def test_command_docs_come_from_the_table_and_match_redis(server, reference_redis):
    """redis-cli's hints use COMMAND DOCS: summary, since and group as Redis 7.0.15 gives them."""
    names = [b"get", b"set", b"expire", b"incrbyfloat", b"hello", b"dbsize"]
    mine = redis.Redis(port=server.port, protocol=2)
    ref = redis.Redis(port=reference_redis.port, protocol=2)
    try:
        got, want = _docs(mine, *names), _docs(ref, *names)
        assert set(got) == set(names)
        for n in names:
            for field in (b"summary", b"since", b"group"):
                assert got[n][field] == want[n][field], (n, field)
            assert got[n][b"complexity"]
        # A container lists its subcommands' docs; unknown names are left out.
        subs = _docs(mine, b"client")[b"client"][b"subcommands"]
        assert {b"client|id", b"client|setname"} <= set(subs[::2])
        assert call_raw(mine, "COMMAND", "DOCS", "nosuchcommand") == []
    finally:
        mine.close()
        ref.close()
