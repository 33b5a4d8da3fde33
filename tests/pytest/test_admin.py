"""The HTTP admin port (--admin-port) read with urllib after redis-py traffic: /health and
/metrics (Prometheus text format 0.0.4)."""

import json
import re
import urllib.error
import urllib.request

import pytest
import redis

from conftest import free_port

# name, optional {label="value",...} (values with \\, \" and \n escapes), value
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                    r'(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)$')


def fetch(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        return resp.status, resp.headers.get("Content-Type"), resp.read().decode()


def samples(text):
    """{(name, labels text): value} of an exposition; every line must be a comment or a sample."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def test_admin_health_and_metrics(make_server):
    admin = free_port()
    srv = make_server(extra_args=["--admin-port", str(admin), "--regions", "2"])
    r = srv.client()
    try:
        # redis-py's handshake has an error of its own (CLIENT MAINT_NOTIFICATIONS is unknown
        # to Redis 7.0): error counts are compared with a scrape taken after it.
        r.ping()
        err_key = ("redraft_errors_total", '{error="ERR"}')
        errors_before = samples(fetch(admin, "/metrics")[2]).get(err_key, 0)
        for i in range(10):
            assert r.set(f"k{i}", i) is True
        assert r.incr("k0") == 1  # redis-py sends INCRBY k0 1
        r.set("s", "abc")
        with pytest.raises(redis.ResponseError):
            r.incr("s")
        myid = r.execute_command("CLUSTER", "MYID")
    finally:
        r.close()

    status, ctype, body = fetch(admin, "/health")
    assert status == 200 and ctype == "application/json"
    assert json.loads(body) == {"status": "ok", "node_id": myid, "mode": "standalone",
                                "regions": 2, "leaders": 2}

    status, ctype, body = fetch(admin, "/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    m = samples(body)
    assert m[("redraft_commands_total", '{cmd="set"}')] == 11
    assert m[("redraft_commands_total", '{cmd="incrby"}')] == 2
    assert m[("redraft_command_errors_total", '{cmd="incrby"}')] == 1
    assert m[err_key] == errors_before + 1
    assert m[("redraft_command_duration_seconds_count", '{cmd="set"}')] == 11
    assert m[("redraft_command_duration_seconds_bucket", '{cmd="set",le="+Inf"}')] == 11
    assert m[("redraft_keys", "")] == 11
    for region in ("1", "2"):
        assert m[("redraft_raft_is_leader", f'{{region="{region}"}}')] == 1
        assert m[("redraft_raft_applied_index", f'{{region="{region}"}}')] >= 1

    with pytest.raises(urllib.error.HTTPError) as e:
        fetch(admin, "/nope")
    assert e.value.code == 404
