"""`redraft.asyncio.RedisCluster`: the same client for asyncio code.

Each command runs the blocking native call on a small thread pool (`loop.run_in_executor`).
The native call releases the GIL for its whole network exchange, so the event loop keeps
running; a thread pool keeps one Rust I/O engine for both APIs instead of a second, tokio-based
one (pyo3-async-runtimes) whose per-call future bridging would cost about as much as the hop."""

import asyncio as _asyncio
from concurrent.futures import ThreadPoolExecutor

from . import ClusterNode, _Base, _conv_for, _exec_reply, _finish, _native_client
from . import ClusterPipeline as _SyncPipeline
from ._commands import Commands

__all__ = ["RedisCluster", "ClusterPipeline", "ClusterNode"]


class RedisCluster(_Base, Commands):
    """Coroutine version of redraft.RedisCluster (same constructor; `max_workers` threads carry
    the blocking calls, i.e. the number of commands in flight at once)."""

    def __init__(self, host=None, port=6379, startup_nodes=None, decode_responses=False,
                 read_from_replicas=False, socket_timeout=None, socket_connect_timeout=5.0,
                 max_redirects=16, retry_timeout=10.0, refresh_interval=5.0, username=None,
                 password=None, max_connections=32, max_workers=16, **kwargs):
        self.decode_responses = decode_responses
        self._c = _native_client(startup_nodes, host, port, decode_responses, read_from_replicas,
                                 socket_timeout, socket_connect_timeout, max_redirects,
                                 retry_timeout, refresh_interval, username, password,
                                 max_connections)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="redraft")

    async def _call(self, fn, *a):
        return await _asyncio.get_running_loop().run_in_executor(self._pool, fn, *a)

    async def _exec(self, conv, *args):
        r = await self._call(self._c.execute_args, args)
        return conv(r) if conv is not None else r

    async def execute_command(self, *args, **options):
        r = await self._call(self._c.execute_args, args)
        conv = _conv_for(args)
        return conv(r) if conv is not None else r

    async def mget_nonatomic(self, keys, *args):
        return await self.mget(keys, *args)

    async def mset_nonatomic(self, mapping):
        return await self.mset(mapping)

    def pipeline(self, transaction=None, shard_hint=None):
        return ClusterPipeline(self, bool(transaction))

    async def aclose(self):
        self._c.close()
        self._pool.shutdown(wait=False)

    close = aclose

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()


class ClusterPipeline(_SyncPipeline):
    """The queueing of redraft.ClusterPipeline, with a coroutine execute()."""

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self._stack = []

    async def execute(self, raise_on_error=True):
        stack, self._stack = self._stack, []
        if not stack:
            return []
        cmds = [a for a, _ in stack]
        if self.transaction:
            replies = _exec_reply(await self._client._call(self._client._c.execute_transaction, cmds))
        else:
            replies = await self._client._call(self._client._c.execute_many, cmds)
        return _finish(stack, replies, raise_on_error)
