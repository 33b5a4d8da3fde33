"""The config file (`redraft-server /path/redraft.conf [--flag value ...]`, Redis syntax, flags
override the file), CONFIG GET / CONFIG SET, and clean start / stop around bad configs."""

import fnmatch
import os
import signal

import pytest

from helpers import RawConn, assert_error, key_in_slot

CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"

# CONFIG GET keys with fixed values (asked by tools such as redis-benchmark).
FIXED = {"save": "", "appendonly": "no", "databases": "1"}


def as_dict(reply):
    if isinstance(reply, dict):
        return reply
    assert isinstance(reply, list) and len(reply) % 2 == 0, reply
    return dict(zip(reply[::2], reply[1::2]))


def full_config(srv):
    return (f"# RedRaft test configuration\n"
            f"\n"
            f"port {srv.port}\n"
            f"bind 127.0.0.1\n"
            f"dir {srv.data_dir}\n"
            f"   # an indented comment\n"
            f'requirepass "pw with space"\n'
            f"maxclients 50\n"
            f"regions 4\n"
            f"proto-max-bulk-len 1000000\n"
            f"client-query-buffer-limit 2000000\n"
            f"client-output-buffer-limit 3000000\n"
            f"announce-ip 10.9.8.7\n"
            f"announce-port 7001\n")


# ----------------------------------------------------------------------------- config file
def test_config_file_sets_every_option(make_server):
    # no --port/--bind/--data-dir: everything comes from the file
    srv = make_server(config_text=full_config, cli_base=False)
    assert os.listdir(srv.data_dir), "nothing was written to the configured dir"
    with RawConn(srv) as c:
        assert c.call("GET", "k") == b"-NOAUTH Authentication required.\r\n"
        assert c.call("AUTH", "pw with space") == b"+OK\r\n"
        # proto-max-bulk-len 1000000
        c.send(b"*2\r\n$3\r\nGET\r\n$1000001\r\n")
        data, closed = c.read_to_close()
        assert (data, closed) == (b"-ERR Protocol error: invalid bulk length\r\n", True)
    c = srv.client(password="pw with space")
    try:
        conf = c.config_get("*")
        expected = {"port": str(srv.port), "bind": "127.0.0.1", "dir": srv.data_dir,
                    "requirepass": "pw with space", "maxclients": "50", "regions": "4",
                    "proto-max-bulk-len": "1000000", "client-query-buffer-limit": "2000000",
                    "client-output-buffer-limit": "3000000", "announce-ip": "10.9.8.7",
                    "announce-port": "7001", **FIXED}
        assert {k: conf.get(k) for k in expected} == expected
        # regions 4: keys in different regions are CROSSSLOT
        assert_error(lambda: c.mget(key_in_slot(0), key_in_slot(16383)), CROSSSLOT)
        slots = c.execute_command("CLUSTER", "NODES")
        assert " 10.9.8.7:7001@" in slots
        assert c.info("clients")["maxclients"] == 50
        assert c.set("persisted", "1") is True
    finally:
        c.close()
    # the file is read again on restart; the data is in the configured dir
    srv.stop_and_check()
    srv.start()
    c = srv.client(password="pw with space")
    assert c.get("persisted") == "1"
    c.close()


def test_info_shows_the_config_file(make_server):
    # Redis: INFO server `config_file:` is the absolute path of the file it was started with
    srv = make_server(config_text="maxclients 100\n")
    c = srv.client()
    assert c.info("server")["config_file"] == srv.config_path
    c.close()


def test_flags_override_the_file(make_server):
    srv = make_server(
        # the file's port and dir would not work (port 1 is privileged): the flags win
        config_text="port 1\ndir /nonexistent/redraft\nrequirepass a\nmaxclients 5\n"
                    "announce-port 7001\n",
        extra_args=["--requirepass", "b", "--maxclients", "7"])
    with RawConn(srv) as c:
        assert c.call("AUTH", "a") == \
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        assert c.call("AUTH", "b") == b"+OK\r\n"
    c = srv.client(password="b")
    conf = c.config_get("*")
    assert (conf["port"], conf["dir"], conf["requirepass"], conf["maxclients"]) == \
        (str(srv.port), srv.data_dir, "b", "7")
    assert conf["announce-port"] == "7001"  # not overridden: the file's value stays
    c.close()


def test_config_file_syntax(make_server):
    srv = make_server(config_text=(
        "\n"
        "# comment line\n"
        "   \t\n"
        "  requirepass first  \n"               # repeated key: the last one counts
        "REQUIREPASS 'single quoted \"x\"'\r\n"  # key names are case-insensitive; CRLF
        'requirepass   "tab\\there \\"q\\" \\x41"\n'  # escapes in double quotes
        "Maxclients 60\n"))
    password = 'tab\there "q" A'
    with RawConn(srv) as c:
        assert c.call("AUTH", "first") == \
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        assert c.call("AUTH", "single quoted \"x\"") == \
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        assert c.call("AUTH", password) == b"+OK\r\n"
        assert c.call("CONFIG", "GET", "maxclients") == b"*2\r\n$10\r\nmaxclients\r\n$2\r\n60\r\n"


def test_config_value_may_start_with_a_dash(make_server):
    srv = make_server(config_text='requirepass "-starts-with-dash"\n')
    with RawConn(srv) as c:
        assert c.call("AUTH", "-starts-with-dash") == b"+OK\r\n"


def test_empty_requirepass_in_the_file_means_no_password(make_server):
    # Redis: `requirepass ""` turns authentication off
    srv = make_server(config_text='requirepass ""\n')
    with RawConn(srv) as c:
        assert c.call("SET", "k", "v") == b"+OK\r\n"


@pytest.mark.parametrize("line, key", [
    ("maxmemory 1gb", "maxmemory"),
    ("appendonly yes", "appendonly"),
    ("no-such-option 1", "no-such-option"),
    ("daemonize no", "daemonize"),
])
def test_unknown_key_refuses_to_start(make_server, line, key):
    srv = make_server(config_text=f"# fine so far\nport 6379\n{line}\nmaxclients 10\n",
                      start=False)
    code, out, err = srv.run_to_exit()
    assert code > 0  # a refusal, not a crash by signal (negative code)
    assert "REDRAFT_READY" not in out
    assert key in err, f"stderr does not name {key!r}: {err!r}"


@pytest.mark.parametrize("text", [
    "port notaport\n",
    "port 70000\n",
    "maxclients -1\n",
    "maxclients many\n",
    "proto-max-bulk-len lots\n",
    "requirepass\n",
    "bind\n",
    "requirepass a b\n",
    'requirepass "unbalanced\n',
])
def test_bad_value_refuses_to_start(make_server, text):
    srv = make_server(config_text=text, start=False)
    code, out, err = srv.run_to_exit()
    assert code > 0, f"started with {text!r}"
    assert "REDRAFT_READY" not in out
    assert err.strip(), "no message on stderr"


def test_missing_config_file_refuses_to_start(make_server):
    srv = make_server(start=False)
    srv.config_path = os.path.join(os.path.dirname(srv.data_dir), "does-not-exist.conf")
    code, out, err = srv.run_to_exit()
    assert code > 0  # a refusal, not a crash by signal (negative code)
    assert "REDRAFT_READY" not in out
    assert "does-not-exist.conf" in err, err


# ------------------------------------------------------------------------------- CONFIG GET
@pytest.fixture
def configured(make_server):
    return make_server(extra_args=[
        "--maxclients", "123", "--proto-max-bulk-len", "3456789",
        "--client-query-buffer-limit", "2345678", "--client-output-buffer-limit", "4567890",
        "--announce-ip", "10.0.0.1", "--announce-port", "7002", "--regions", "2"])


@pytest.mark.parametrize("protocol", [3, 2], ids=["resp3", "resp2"])
def test_config_get_all(configured, protocol):
    srv = configured
    c = srv.client(protocol=protocol)
    conf = c.config_get("*")
    c.close()
    assert isinstance(conf, dict)
    expected = {"port": str(srv.port), "bind": "127.0.0.1", "dir": srv.data_dir,
                "requirepass": "", "maxclients": "123", "regions": "2",
                "proto-max-bulk-len": "3456789", "client-query-buffer-limit": "2345678",
                "client-output-buffer-limit": "4567890", "announce-ip": "10.0.0.1",
                "announce-port": "7002", **FIXED}
    assert {k: conf.get(k) for k in expected} == expected
    assert all(isinstance(v, str) for v in conf.values()), conf


def test_config_get_reply_types(configured):
    with RawConn(configured) as c:
        assert c.call("CONFIG", "GET", "maxclients") == b"*2\r\n$10\r\nmaxclients\r\n$3\r\n123\r\n"
        assert c.call("CONFIG", "GET", "nosuchkey") == b"*0\r\n"
        assert c.call("HELLO", "3").startswith(b"%")
        assert c.call("CONFIG", "GET", "maxclients") == b"%1\r\n$10\r\nmaxclients\r\n$3\r\n123\r\n"
        assert c.call("CONFIG", "GET", "nosuchkey") == b"%0\r\n"
        assert c.call("CONFIG", "GET", "save") == b"%1\r\n$4\r\nsave\r\n$0\r\n\r\n"


@pytest.mark.parametrize("pattern, must", [
    ("*port*", {"port", "announce-port"}),
    ("p?rt", {"port"}),
    ("client-*-limit", {"client-query-buffer-limit", "client-output-buffer-limit"}),
    ("announce-*", {"announce-ip", "announce-port"}),
    ("[rd]*", {"regions", "dir", "requirepass", "databases"}),
    ("nosuch*", set()),
    ("", set()),
])
def test_config_get_glob(server, pattern, must):
    c = server.client()
    conf = c.config_get(pattern)
    c.close()
    assert must <= set(conf), conf
    assert all(fnmatch.fnmatchcase(k, pattern) for k in conf), conf


def test_config_get_several_patterns(configured):
    # Redis 7: CONFIG GET parameter [parameter ...]
    c = configured.client(protocol=2)
    conf = as_dict(c.execute_command("CONFIG", "GET", "maxclients", "announce-*", "maxclients"))
    assert conf == {"maxclients": "123", "announce-ip": "10.0.0.1", "announce-port": "7002"}
    c.close()


def test_config_get_errors(r):
    assert_error(lambda: r.execute_command("CONFIG"),
                 "ERR wrong number of arguments for 'config' command")
    assert_error(lambda: r.execute_command("CONFIG", "GET"),
                 "ERR wrong number of arguments for 'config|get' command")
    assert_error(lambda: r.execute_command("CONFIG", "NOSUCH"),
                 "ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP.")


@pytest.mark.parametrize("args", [
    ("CONFIG", "SET", "maxclients", "5"),
    ("CONFIG", "SET", "requirepass", "x"),
    ("CONFIG", "SET", "no-such-option", "1"),
])
def test_config_set_is_refused(server, args):
    with RawConn(server) as c:
        reply = c.call(*args)
        assert reply.startswith(b"-ERR "), reply
        assert c.call("CONFIG", "GET", "requirepass") == \
            b"*2\r\n$11\r\nrequirepass\r\n$0\r\n\r\n"
        assert c.call("PING") == b"+PONG\r\n"
    with RawConn(server) as c:  # nothing changed: no password now
        assert c.call("PING") == b"+PONG\r\n"


def test_config_get_regions_shows_the_recorded_count(make_server):
    srv = make_server(extra_args=["--regions", "4"])
    srv.stop_and_check()
    srv.extra_args = []
    srv.start()
    c = srv.client()
    assert c.config_get("regions") == {"regions": "4"}
    c.close()


def test_config_needs_auth(make_server):
    srv = make_server(requirepass="pw")
    with RawConn(srv) as c:
        assert c.call("CONFIG", "GET", "requirepass") == b"-NOAUTH Authentication required.\r\n"


# --------------------------------------------------------------------------- start and stop
def test_sigterm_right_after_ready_exits_cleanly(make_server):
    """A SIGTERM that arrives just after REDRAFT_READY must still be a clean shutdown (exit 0),
    not death by the signal: a supervisor may stop a freshly started server at once."""
    srv = make_server(start=False)
    for i in range(20):
        srv.start()
        srv.proc.send_signal(signal.SIGTERM)
        code = srv.proc.wait(timeout=30)
        srv.proc = None  # judged here; the fixture's stop() must not report it again
        assert code == 0, f"start {i + 1}: exit code {code} for a SIGTERM just after READY" \
                          f"\n{srv.log_tail()}"
