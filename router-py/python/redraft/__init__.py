"""RedRaft's smart cluster client.

    import redraft
    r = redraft.RedisCluster(host="127.0.0.1", port=7001)
    r.set("k", "v"); print(r.get("k"))

Slot routing, MOVED / ASK / TRYAGAIN / CLUSTERDOWN handling, connection pools, RESP parsing
and all network I/O run in Rust (`redraft._native`) with the GIL released; this module adds
redis-py-style methods and reply conversions on top.
"""

from . import _native
from ._commands import CALLBACKS, Commands, _set_result
from .exceptions import (AskError, AuthenticationError, BusyLoadingError, ClusterCrossSlotError,
                         ClusterDownError, ClusterError, ConnectionError, DataError,
                         ExecAbortError, MovedError, NoPermissionError, ReadOnlyError,
                         RedisError, ResponseError, TimeoutError, TryAgainError,
                         UncertainWriteError, WatchError)

__all__ = [
    "key_slot", "RedisCluster", "ClusterNode", "ClusterPipeline", "RedisError", "ConnectionError",
    "TimeoutError", "ResponseError", "DataError", "ClusterError", "ClusterDownError",
    "ClusterCrossSlotError", "TryAgainError", "MovedError", "AskError", "BusyLoadingError",
    "AuthenticationError", "ReadOnlyError", "NoPermissionError", "ExecAbortError",
    "UncertainWriteError", "WatchError",
]

key_slot = _native.key_slot


def _conv_for(args):
    name = args[0].upper() if isinstance(args[0], str) else args[0].decode().upper()
    if name == "SET":
        if any(isinstance(a, (str, bytes)) and str(a if isinstance(a, str) else a.decode("latin-1")).upper() == "GET"
               for a in args[3:]):
            return None
        return _set_result
    return CALLBACKS.get(name)


class ClusterNode:
    """One node of the topology (host, port, server_type "primary" or "replica")."""

    def __init__(self, host, port, server_type=None):
        self.host = host
        self.port = int(port)
        self.name = f"{host}:{self.port}"
        self.server_type = server_type

    def __repr__(self):
        return f"ClusterNode(host={self.host!r}, port={self.port}, server_type={self.server_type!r})"

    def __eq__(self, other):
        return isinstance(other, ClusterNode) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


def _seeds(startup_nodes, host, port):
    nodes = []
    for n in startup_nodes or []:
        if isinstance(n, ClusterNode):
            nodes.append((n.host, n.port))
        elif hasattr(n, "host") and hasattr(n, "port"):
            nodes.append((n.host, int(n.port)))
        else:
            h, p = n
            nodes.append((h, int(p)))
    if host is not None:
        nodes.append((host, int(port or 6379)))
    if not nodes:
        nodes.append(("127.0.0.1", int(port or 6379)))
    return nodes


def _native_client(startup_nodes, host, port, decode_responses, read_from_replicas,
                   socket_timeout, socket_connect_timeout, max_redirects, retry_timeout,
                   refresh_interval, username, password, max_connections):
    return _native.Client(
        _seeds(startup_nodes, host, port), decode_responses=decode_responses,
        read_from_replicas=read_from_replicas, socket_timeout=socket_timeout,
        socket_connect_timeout=socket_connect_timeout, max_redirects=max_redirects,
        retry_timeout=retry_timeout, refresh_interval=refresh_interval, username=username,
        password=password, max_idle=max_connections)


class _Base:
    def keyslot(self, key):
        return _native.key_slot(key)

    def get_nodes(self):
        return [ClusterNode(*a.rsplit(":", 1), "primary" if primary else "replica")
                for a, primary in self._c.nodes()]

    def get_node(self, host=None, port=None, node_name=None):
        name = node_name or f"{host}:{port}"
        return next((n for n in self.get_nodes() if n.name == name), None)

    def get_primaries(self):
        return [n for n in self.get_nodes() if n.server_type == "primary"]

    def get_node_from_key(self, key, replica=False):
        owner = self._c.slot_owner(_native.key_slot(key))
        if owner is None:
            return None
        addr = owner[1][0] if replica and owner[1] else owner[0]
        return ClusterNode(*addr.rsplit(":", 1), "replica" if addr != owner[0] else "primary")

    def refresh_topology(self):
        self._c.refresh()

    def stats(self):
        """Counters since the client was made: commands sent (resends included), MOVED and ASK
        redirects followed, TRYAGAIN/CLUSTERDOWN/LOADING retries, topology loads, connections."""
        return dict(self._c.stats())


class RedisCluster(_Base, Commands):
    """A cluster client with redis-py's RedisCluster interface for the commands RedRaft serves.

    Also works against a single server without cluster support (every slot is that server).
    Timeouts are in seconds (None: wait forever); `retry_timeout` bounds how long TRYAGAIN,
    CLUSTERDOWN, LOADING and refused connections are retried; a write that may have been
    applied (connection lost after sending, or RedRaft's UNCERTAIN) is never resent."""

    def __init__(self, host=None, port=6379, startup_nodes=None, decode_responses=False,
                 read_from_replicas=False, socket_timeout=None, socket_connect_timeout=5.0,
                 max_redirects=16, retry_timeout=10.0, refresh_interval=5.0, username=None,
                 password=None, max_connections=32, **kwargs):
        self.decode_responses = decode_responses
        self._c = _native_client(startup_nodes, host, port, decode_responses, read_from_replicas,
                                 socket_timeout, socket_connect_timeout, max_redirects,
                                 retry_timeout, refresh_interval, username, password,
                                 max_connections)
        self._x = self._c.execute

    def _exec(self, conv, *args):
        r = self._x(*args)
        return conv(r) if conv is not None else r

    def execute_command(self, *args, **options):
        r = self._x(*args)
        conv = _conv_for(args)
        return conv(r) if conv is not None else r

    def mget_nonatomic(self, keys, *args):
        """MGET over any keys: split per slot, sent in parallel, values in key order."""
        return self.mget(keys, *args)

    def mset_nonatomic(self, mapping):
        """MSET over any keys: one MSET per slot, sent in parallel; True when all succeeded."""
        return self.mset(mapping)

    def pipeline(self, transaction=None, shard_hint=None):
        """transaction=True: the commands run as one MULTI/EXEC; all their keys must hash to
        one slot (else ClusterCrossSlotError before anything is sent)."""
        return ClusterPipeline(self, bool(transaction))

    def close(self):
        self._c.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ClusterPipeline(Commands):
    """Queues commands; execute() sends them grouped per node (all nodes at once) and returns
    the replies in order. Only entries answered MOVED / ASK / TRYAGAIN / CLUSTERDOWN are sent
    again; multi-key commands over several slots are split like outside a pipeline. With
    transaction=True they run as one MULTI/EXEC in one slot instead."""

    def __init__(self, client, transaction=False):
        self._client = client
        self._stack = []
        self.transaction = transaction

    def _exec(self, conv, *args):
        self._stack.append((args, conv))
        return self

    def execute_command(self, *args, **options):
        self._stack.append((args, _conv_for(args)))
        return self

    def __len__(self):
        return len(self._stack)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.reset()

    def reset(self):
        self._stack = []

    def execute(self, raise_on_error=True):
        stack, self._stack = self._stack, []
        if not stack:
            return []
        if self.transaction:
            replies = _exec_reply(self._client._c.execute_transaction([a for a, _ in stack]))
        else:
            replies = self._client._c.execute_many([a for a, _ in stack])
        return _finish(stack, replies, raise_on_error)


def _exec_reply(r):
    if r is None:
        raise WatchError("Watched variable changed.")
    return r


def _finish(stack, replies, raise_on_error):
    out = []
    first_error = None
    for (args, conv), r in zip(stack, replies):
        if isinstance(r, Exception):
            if first_error is None:
                first_error = r
        elif conv is not None:
            r = conv(r)
        out.append(r)
    if raise_on_error and first_error is not None:
        raise first_error
    return out
