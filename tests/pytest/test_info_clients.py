"""CLIENT LIST / CLIENT INFO in Redis 7's format (as redis-py parses them), and the INFO
sections operators scrape: Commandstats, Errorstats, Clients, Keyspace."""

import pytest
import redis

from helpers import RawConn, assert_error, key_in_slot, wait_until

# Redis 7.0.15's CLIENT LIST fields, in order.
REDIS7_FIELDS = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub",
                 "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp",
                 "obl", "oll", "omem", "tot-mem", "events", "cmd", "user", "redir", "resp"]

SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
            "Commandstats", "Errorstats", "Cluster", "Keyspace"]


def parse_line(line):
    fields = []
    for part in line.split(" "):
        k, sep, v = part.partition("=")
        assert sep, f"not key=value: {part!r} in {line!r}"
        fields.append((k, v))
    return fields


def client_lines(reply):
    """The lines of a CLIENT LIST / CLIENT INFO bulk reply; each must end in \\n."""
    text = reply.decode()
    assert text.endswith("\n"), reply
    return text[:-1].split("\n")


def addr_of(raw_conn):
    return "%s:%d" % raw_conn.sock.getsockname()[:2]


def by_id(entries):
    return {int(e["id"]): e for e in entries}


# ------------------------------------------------------------------------------ CLIENT LIST
def test_client_list_line_format(server):
    with RawConn(server) as a, RawConn(server) as b:
        assert b.call("CLIENT", "SETNAME", "bee") == b"+OK\r\n"
        reply = a.call("CLIENT", "LIST")
        assert reply.startswith(b"$"), reply
        body = reply.split(b"\r\n", 1)[1][:-2]
        lines = client_lines(body)
        assert len(lines) >= 2
        for line in lines:
            assert [k for k, _ in parse_line(line)] == REDIS7_FIELDS, line
        mine = [dict(parse_line(ln)) for ln in lines if dict(parse_line(ln))["addr"] == addr_of(a)]
        assert len(mine) == 1, lines
        me = mine[0]
        assert me["laddr"] == f"127.0.0.1:{server.port}"
        assert me["cmd"] == "client|list"
        assert (me["name"], me["db"], me["resp"], me["flags"], me["user"]) == \
            ("", "0", "2", "N", "default")
        assert me["age"].isdigit() and me["idle"].isdigit() and me["fd"].isdigit()
        # CLIENT INFO: the same one line, for the caller only
        info = a.call("CLIENT", "INFO")
        info_lines = client_lines(info.split(b"\r\n", 1)[1][:-2])
        assert len(info_lines) == 1
        fields = parse_line(info_lines[0])
        assert [k for k, _ in fields] == REDIS7_FIELDS
        assert dict(fields)["id"] == me["id"] and dict(fields)["cmd"] == "client|info"


def test_client_list_resp3_is_verbatim_text(server):
    with RawConn(server) as c:
        assert c.call("HELLO", "3").startswith(b"%")
        reply = c.call("CLIENT", "LIST")
        assert reply.startswith(b"=") and b"\r\ntxt:id=" in reply, reply
        reply = c.call("CLIENT", "INFO")
        assert reply.startswith(b"=") and b"\r\ntxt:id=" in reply and b" resp=3\n\r\n" in reply


def test_client_list_through_redis_py(server, r, protocol):
    assert r.client_setname("pytest-me") is True
    my_id = r.client_id()
    with RawConn(server) as alpha, RawConn(server) as beta:
        assert alpha.call("CLIENT", "SETNAME", "alpha") == b"+OK\r\n"
        assert alpha.call("PING") == b"+PONG\r\n"
        alpha_id = int(alpha.call("CLIENT", "ID")[1:-2])
        assert alpha.call("SET", "k", "v") == b"+OK\r\n"
        assert beta.call("HELLO", "3").startswith(b"%")
        beta_id = int(beta.call("CLIENT", "ID")[1:-2])
        assert beta.call("GET", "k") == b"$1\r\nv\r\n"

        entries = by_id(r.client_list())
        assert {my_id, alpha_id, beta_id} <= set(entries)
        me, a, b = entries[my_id], entries[alpha_id], entries[beta_id]
        assert (me["name"], me["db"], me["resp"], me["cmd"]) == \
            ("pytest-me", "0", str(protocol), "client|list")
        assert me["laddr"] == f"127.0.0.1:{server.port}"
        assert (a["name"], a["addr"], a["laddr"], a["db"], a["resp"], a["cmd"]) == \
            ("alpha", addr_of(alpha), f"127.0.0.1:{server.port}", "0", "2", "set")
        assert (b["name"], b["addr"], b["resp"], b["cmd"]) == ("", addr_of(beta), "3", "get")
        assert len({e["addr"] for e in entries.values()}) == len(entries)

        info = r.client_info()
        # (redis-py turns CLIENT INFO's numeric fields into ints)
        assert (int(info["id"]), info["name"], str(info["resp"]), info["cmd"], str(info["db"])) \
            == (my_id, "pytest-me", str(protocol), "client|info", "0")
        assert info["laddr"] == f"127.0.0.1:{server.port}"

    # closed connections leave the list
    wait_until(lambda: not ({alpha_id, beta_id} & set(by_id(r.client_list()))), timeout=10,
               what="closed clients to leave CLIENT LIST")
    assert my_id in by_id(r.client_list())


def test_client_list_filters(server, r):
    with RawConn(server) as a, RawConn(server) as b:
        a_id = int(a.call("CLIENT", "ID")[1:-2])
        b_id = int(b.call("CLIENT", "ID")[1:-2])
        my_id = r.client_id()
        assert set(by_id(r.client_list(client_id=[a_id]))) == {a_id}
        assert set(by_id(r.client_list(client_id=[a_id, my_id, 999999]))) == {a_id, my_id}
        assert {my_id, a_id, b_id} <= set(by_id(r.client_list(_type="normal")))
        for kind in ("master", "replica", "pubsub"):
            assert r.client_list(_type=kind) == [], kind
        # Ids below 1 are integers that match nothing (not an error), as in Redis 7.0.15.
        assert a.call("CLIENT", "LIST", "ID", "0", "-5") in (b"$0\r\n\r\n", b"=4\r\ntxt:\r\n")


@pytest.mark.parametrize("args", [
    ("CLIENT", "LIST", "TYPE", "nosuch"),
    ("CLIENT", "LIST", "ID", "abc"),
    ("CLIENT", "LIST", "ID"),
    ("CLIENT", "LIST", "TYPE"),
    ("CLIENT", "LIST", "nosuch"),
    ("CLIENT", "INFO", "x"),
], ids=lambda a: " ".join(a))
def test_client_list_errors_match_redis(server, reference_redis, args):
    with RawConn(reference_redis) as c:
        expected = c.call(*args)
    assert expected.startswith(b"-"), expected
    with RawConn(server) as c:
        assert c.call(*args) == expected


def test_client_list_shows_readonly_flag(server):
    with RawConn(server) as c, RawConn(server) as watcher:
        c_id = c.call("CLIENT", "ID")[1:-2].decode()
        assert c.call("READONLY") == b"+OK\r\n"

        def flags():
            body = watcher.call("CLIENT", "LIST", "ID", c_id).split(b"\r\n", 1)[1][:-2]
            return dict(parse_line(client_lines(body)[0]))["flags"]
        assert flags() == "r"
        assert c.call("READWRITE") == b"+OK\r\n"
        assert flags() == "N"


# ------------------------------------------------------------------------------------- INFO
def headers(text):
    return [line[2:] for line in text.split("\r\n") if line.startswith("# ")]


def test_info_sections(server):
    with RawConn(server) as c:
        everything = c.call("INFO", "everything").split(b"\r\n", 1)[1].decode()
        default = c.call("INFO").split(b"\r\n", 1)[1].decode()
    got = [h for h in headers(everything) if h in SECTIONS]
    assert got == SECTIONS, headers(everything)
    # the default set: all but Commandstats (Redis 7 leaves it to INFO all / everything)
    assert [h for h in headers(default) if h in SECTIONS and h != "Commandstats"] == \
        [s for s in SECTIONS if s != "Commandstats"], headers(default)


def cmdstat(c, name):
    return c.info("commandstats").get(f"cmdstat_{name}", {"calls": 0, "failed_calls": 0,
                                                           "rejected_calls": 0})


def errorstat(c, code):
    return c.info("errorstats").get(f"errorstat_{code}", {"count": 0})["count"]


def test_commandstats_count_calls(r):
    before = cmdstat(r, "get")
    for i in range(5):
        r.get(f"cs{i}")
    after = cmdstat(r, "get")
    assert after["calls"] - before["calls"] == 5
    assert set(after) >= {"calls", "usec", "usec_per_call", "rejected_calls", "failed_calls"}
    assert after["usec"] >= before.get("usec", 0)
    assert after["rejected_calls"] == before["rejected_calls"]
    assert after["failed_calls"] == before["failed_calls"]
    # subcommands are counted as `cmd|sub`
    list_before = cmdstat(r, "client|list")["calls"]
    r.client_list()
    assert cmdstat(r, "client|list")["calls"] == list_before + 1


def test_errorstats_and_failed_calls(r):
    errs = errorstat(r, "ERR")
    incr = cmdstat(r, "incr")
    assert r.set("notanumber", "abc") is True
    assert_error(lambda: r.execute_command("INCR", "notanumber"),  # (r.incr sends INCRBY)
                 "ERR value is not an integer or out of range")
    assert errorstat(r, "ERR") == errs + 1
    after = cmdstat(r, "incr")
    assert (after["calls"], after["failed_calls"], after["rejected_calls"]) == \
        (incr["calls"] + 1, incr["failed_calls"] + 1, incr["rejected_calls"])

    # wrong arity: rejected before running, counted as rejected_calls, not calls
    get = cmdstat(r, "get")
    assert_error(lambda: r.execute_command("GET"),
                 "ERR wrong number of arguments for 'get' command")
    after = cmdstat(r, "get")
    assert (after["calls"], after["rejected_calls"]) == (get["calls"], get["rejected_calls"] + 1)
    assert errorstat(r, "ERR") == errs + 2

    # unknown command: an ERR too
    with pytest.raises(redis.ResponseError):
        r.execute_command("NOSUCHCOMMAND")
    assert errorstat(r, "ERR") == errs + 3


def test_errorstats_keyed_by_error_code(make_server):
    srv = make_server(extra_args=["--regions", "4"])
    c = srv.client()
    before = errorstat(c, "CROSSSLOT")
    assert_error(lambda: c.mget(key_in_slot(0), key_in_slot(16383)),
                 "CROSSSLOT Keys in request don't hash to the same slot")
    assert_error(lambda: c.delete(key_in_slot(0), key_in_slot(16383)),
                 "CROSSSLOT Keys in request don't hash to the same slot")
    assert errorstat(c, "CROSSSLOT") == before + 2
    c.close()


def test_info_clients_connected(server, r):
    base = r.info("clients")["connected_clients"]
    conns = [RawConn(server) for _ in range(3)]
    try:
        for c in conns:
            assert c.call("PING") == b"+PONG\r\n"
        assert r.info("clients")["connected_clients"] == base + 3
    finally:
        for c in conns:
            c.close()
    wait_until(lambda: r.info("clients")["connected_clients"] == base, timeout=10,
               what="connected_clients to drop back")


def test_info_keyspace_in_default_info(r):
    assert "db0" not in r.info()
    r.set("a", "1")
    r.set("b", "2", ex=1000)
    r.set("c", "3")
    db0 = r.info()["db0"]
    assert (db0["keys"], db0["expires"]) == (3, 1)
    assert isinstance(db0["avg_ttl"], int)
    r.delete("b")
    db0 = r.info("keyspace")["db0"]
    assert (db0["keys"], db0["expires"]) == (2, 0)


def stats_snapshot(conn):
    """{cmdstat_x: (calls, rejected_calls, failed_calls), errorstat_X: count} via a raw conn."""
    out = {}
    for section in ("commandstats", "errorstats"):
        body = conn.call("INFO", section).split(b"\r\n", 1)[1].decode()
        for line in body.split("\r\n"):
            if line.startswith("cmdstat_") or line.startswith("errorstat_"):
                name, _, fields = line.partition(":")
                f = dict(kv.split("=") for kv in fields.split(","))
                out[name] = (int(f["count"]),) if "count" in f else \
                    (int(f["calls"]), int(f["rejected_calls"]), int(f["failed_calls"]))
    return out


def stats_delta(srv, args):
    with RawConn(srv) as c:
        assert c.call("SET", "strkey", "abc") == b"+OK\r\n"
        before = stats_snapshot(c)
        reply = c.call(*args)
        after = stats_snapshot(c)
    delta = {}
    for name, values in after.items():
        if name == "cmdstat_info":
            continue
        old = before.get(name, (0,) * len(values))
        d = tuple(a - b for a, b in zip(values, old))
        if any(d):
            delta[name] = d
    return reply, delta


@pytest.mark.parametrize("args", [
    ("INCR", "strkey"),
    ("GET",),
    ("GET", "strkey"),
    ("NOSUCHCOMMAND", "x"),
    ("CLIENT", "NOSUCH"),
    ("CLIENT", "SETNAME"),
    ("CLIENT", "SETNAME", "bad name"),
    ("CLUSTER", "COUNTKEYSINSLOT", "99999"),
    ("CLUSTER",),
], ids=lambda a: " ".join(a))
def test_stats_counting_matches_redis(server, reference_redis, args):
    """calls / rejected_calls / failed_calls and errorstat counts move as in Redis 7.0.15."""
    ref_reply, ref_delta = stats_delta(reference_redis, args)
    reply, delta = stats_delta(server, args)
    assert reply == ref_reply
    assert delta == ref_delta
