"""redis-py-style command methods shared by the sync client, its pipeline and the asyncio
client. Each method builds the arguments and names a reply conversion; `_exec(conv, *args)`
of the concrete class runs (or queues) the command."""

import datetime

from .exceptions import DataError


def _bool(r):
    return bool(r)


def _ok(r):
    return r == b"OK" or r == "OK"


def _float(r):
    return None if r is None else float(r)


def _set_result(r):
    return True if r is not None else None


def _set(r):
    return set(r) if r else set()


def _dict(r):
    if not r:
        return {}
    it = iter(r)
    return dict(zip(it, it))


def _pairs(r):
    if not r:
        return r
    it = iter(r)
    return list(zip(it, map(float, it)))


def _rank_score(r):
    if not r:
        return r
    return [r[0], float(r[1])]


def _scan(r):
    return int(r[0]), r[1]


def _hscan(r):
    return int(r[0]), _dict(r[1])


def _hscan_novalues(r):
    return int(r[0]), r[1] or []


def _zscan(r):
    return int(r[0]), _pairs(r[1]) or []


def _ping(r):
    return r == b"PONG" or r == "PONG"


def _text(r):
    return r.decode() if isinstance(r, bytes) else r


def _cluster_info(r):
    return dict(line.split(":", 1) for line in _text(r).splitlines() if line)


def _cluster_nodes(r):
    out = {}
    for line in _text(r).splitlines():
        if not line:
            continue
        f = line.split(" ")
        node_id, addr, flags, master_id, ping, pong, epoch, connected = f[:8]
        out[addr.split("@")[0]] = {
            "node_id": node_id, "flags": flags, "master_id": master_id,
            "last_ping_sent": ping, "last_pong_rcvd": pong, "epoch": epoch,
            "slots": [s.split("-") if "-" in s else [s] for s in f[8:]],
            "connected": connected == "connected",
        }
    return out


def _cluster_slots(r):
    out = {}
    for start, end, primary, *replicas in r:
        out[(start, end)] = {
            "primary": (_text(primary[0]), primary[1]),
            "replicas": [(_text(x[0]), x[1]) for x in replicas],
        }
    return out


def _secs(v):
    if isinstance(v, datetime.timedelta):
        return int(v.total_seconds())
    return v


def _ms(v):
    if isinstance(v, datetime.timedelta):
        return int(v.total_seconds() * 1000)
    return v


def _unix(v):
    if isinstance(v, datetime.datetime):
        return int(v.timestamp())
    return v


def _unix_ms(v):
    if isinstance(v, datetime.datetime):
        return int(v.timestamp() * 1000)
    return v


def _expire_flags(ex, px, exat, pxat):
    out = []
    if ex is not None:
        out += ["EX", _secs(ex)]
    if px is not None:
        out += ["PX", _ms(px)]
    if exat is not None:
        out += ["EXAT", _unix(exat)]
    if pxat is not None:
        out += ["PXAT", _unix_ms(pxat)]
    return out


def _cond(nx, xx, gt, lt):
    return [w for w, on in (("NX", nx), ("XX", xx), ("GT", gt), ("LT", lt)) if on]


def _flat(keys, args):
    if isinstance(keys, (bytes, str, int, float)):
        keys = [keys]
    else:
        keys = list(keys)
    return keys + list(args)


class Commands:
    # ----- general ---------------------------------------------------------------------
    def ping(self, message=None):
        if message is not None:
            return self._exec(None, "PING", message)
        return self._exec(_ping, "PING")

    def echo(self, value):
        return self._exec(None, "ECHO", value)

    def cluster_info(self):
        return self._exec(_cluster_info, "CLUSTER", "INFO")

    def cluster_nodes(self):
        return self._exec(_cluster_nodes, "CLUSTER", "NODES")

    def cluster_slots(self):
        return self._exec(_cluster_slots, "CLUSTER", "SLOTS")

    def cluster_shards(self):
        return self._exec(None, "CLUSTER", "SHARDS")

    def cluster_myid(self):
        return self._exec(None, "CLUSTER", "MYID")

    def cluster_keyslot(self, key):
        return self._exec(None, "CLUSTER", "KEYSLOT", key)

    def dbsize(self):
        return self._exec(None, "DBSIZE")

    def flushdb(self, asynchronous=False):
        return self._exec(_ok, "FLUSHDB", *(["ASYNC"] if asynchronous else []))

    def flushall(self, asynchronous=False):
        return self._exec(_ok, "FLUSHALL", *(["ASYNC"] if asynchronous else []))

    # ----- keys ------------------------------------------------------------------------
    def delete(self, *names):
        return self._exec(None, "DEL", *names)

    def unlink(self, *names):
        return self._exec(None, "UNLINK", *names)

    def exists(self, *names):
        return self._exec(None, "EXISTS", *names)

    def touch(self, *names):
        return self._exec(None, "TOUCH", *names)

    def type(self, name):
        return self._exec(None, "TYPE", name)

    def expire(self, name, time, nx=False, xx=False, gt=False, lt=False):
        return self._exec(_bool, "EXPIRE", name, _secs(time), *_cond(nx, xx, gt, lt))

    def pexpire(self, name, time, nx=False, xx=False, gt=False, lt=False):
        return self._exec(_bool, "PEXPIRE", name, _ms(time), *_cond(nx, xx, gt, lt))

    def expireat(self, name, when, nx=False, xx=False, gt=False, lt=False):
        return self._exec(_bool, "EXPIREAT", name, _unix(when), *_cond(nx, xx, gt, lt))

    def pexpireat(self, name, when, nx=False, xx=False, gt=False, lt=False):
        return self._exec(_bool, "PEXPIREAT", name, _unix_ms(when), *_cond(nx, xx, gt, lt))

    def ttl(self, name):
        return self._exec(None, "TTL", name)

    def pttl(self, name):
        return self._exec(None, "PTTL", name)

    def persist(self, name):
        return self._exec(_bool, "PERSIST", name)

    # ----- strings ---------------------------------------------------------------------
    def get(self, name):
        return self._exec(None, "GET", name)

    def set(self, name, value, ex=None, px=None, nx=False, xx=False, keepttl=False, get=False,
            exat=None, pxat=None):
        pieces = [name, value]
        if nx:
            pieces.append("NX")
        elif xx:
            pieces.append("XX")
        if get:
            pieces.append("GET")
        pieces += _expire_flags(ex, px, exat, pxat)
        if keepttl:
            pieces.append("KEEPTTL")
        return self._exec(None if get else _set_result, "SET", *pieces)

    def setnx(self, name, value):
        return self._exec(_bool, "SETNX", name, value)

    def setex(self, name, time, value):
        return self._exec(_bool, "SETEX", name, _secs(time), value)

    def psetex(self, name, time_ms, value):
        return self._exec(_bool, "PSETEX", name, _ms(time_ms), value)

    def mget(self, keys, *args):
        return self._exec(None, "MGET", *_flat(keys, args))

    def mset(self, mapping):
        items = []
        for k, v in mapping.items():
            items += [k, v]
        return self._exec(_ok, "MSET", *items)

    def getset(self, name, value):
        return self._exec(None, "GETSET", name, value)

    def getdel(self, name):
        return self._exec(None, "GETDEL", name)

    def getex(self, name, ex=None, px=None, exat=None, pxat=None, persist=False):
        if len([o for o in (ex, px, exat, pxat) if o is not None]) + bool(persist) > 1:
            raise DataError("``ex``, ``px``, ``exat``, ``pxat``, and ``persist`` are mutually exclusive.")
        pieces = _expire_flags(ex, px, exat, pxat) + (["PERSIST"] if persist else [])
        return self._exec(None, "GETEX", name, *pieces)

    def strlen(self, name):
        return self._exec(None, "STRLEN", name)

    def append(self, key, value):
        return self._exec(None, "APPEND", key, value)

    def getrange(self, key, start, end):
        return self._exec(None, "GETRANGE", key, start, end)

    def setrange(self, name, offset, value):
        return self._exec(None, "SETRANGE", name, offset, value)

    def incr(self, name, amount=1):
        return self._exec(None, "INCRBY", name, amount)

    def incrby(self, name, amount=1):
        return self._exec(None, "INCRBY", name, amount)

    def decr(self, name, amount=1):
        return self._exec(None, "DECRBY", name, amount)

    def decrby(self, name, amount=1):
        return self._exec(None, "DECRBY", name, amount)

    def incrbyfloat(self, name, amount=1.0):
        return self._exec(float, "INCRBYFLOAT", name, amount)

    # ----- hashes ----------------------------------------------------------------------
    def hset(self, name, key=None, value=None, mapping=None, items=None):
        if key is None and not mapping and not items:
            raise DataError("'hset' with no key value pairs")
        pieces = []
        if items:
            pieces += list(items)
        if key is not None:
            pieces += [key, value]
        if mapping:
            for k, v in mapping.items():
                pieces += [k, v]
        return self._exec(None, "HSET", name, *pieces)

    def hget(self, name, key):
        return self._exec(None, "HGET", name, key)

    def hdel(self, name, *keys):
        return self._exec(None, "HDEL", name, *keys)

    def hmset(self, name, mapping):
        if not mapping:
            raise DataError("'hmset' with 'mapping' of length 0")
        pieces = []
        for k, v in mapping.items():
            pieces += [k, v]
        return self._exec(_bool, "HMSET", name, *pieces)

    def hmget(self, name, keys, *args):
        return self._exec(None, "HMGET", name, *_flat(keys, args))

    def hgetall(self, name):
        return self._exec(_dict, "HGETALL", name)

    def hkeys(self, name):
        return self._exec(None, "HKEYS", name)

    def hvals(self, name):
        return self._exec(None, "HVALS", name)

    def hlen(self, name):
        return self._exec(None, "HLEN", name)

    def hexists(self, name, key):
        return self._exec(_bool, "HEXISTS", name, key)

    def hsetnx(self, name, key, value):
        return self._exec(None, "HSETNX", name, key, value)

    def hincrby(self, name, key, amount=1):
        return self._exec(None, "HINCRBY", name, key, amount)

    def hincrbyfloat(self, name, key, amount=1.0):
        return self._exec(float, "HINCRBYFLOAT", name, key, amount)

    def hrandfield(self, key, count=None, withvalues=False):
        params = []
        if count is not None:
            params.append(count)
        if withvalues:
            params.append("WITHVALUES")
        return self._exec(None, "HRANDFIELD", key, *params)

    def hscan(self, name, cursor=0, match=None, count=None, no_values=None):
        pieces = [name, cursor]
        if match is not None:
            pieces += ["MATCH", match]
        if count is not None:
            pieces += ["COUNT", count]
        if no_values:
            pieces.append("NOVALUES")
        return self._exec(_hscan_novalues if no_values else _hscan, "HSCAN", *pieces)

    # ----- sets ------------------------------------------------------------------------
    def sadd(self, name, *values):
        return self._exec(None, "SADD", name, *values)

    def srem(self, name, *values):
        return self._exec(None, "SREM", name, *values)

    def smembers(self, name):
        return self._exec(_set, "SMEMBERS", name)

    def sismember(self, name, value):
        return self._exec(None, "SISMEMBER", name, value)

    def smismember(self, name, values, *args):
        return self._exec(None, "SMISMEMBER", name, *_flat(values, args))

    def scard(self, name):
        return self._exec(None, "SCARD", name)

    def srandmember(self, name, number=None):
        return self._exec(None, "SRANDMEMBER", name, *([number] if number is not None else []))

    def spop(self, name, count=None):
        return self._exec(None, "SPOP", name, *([count] if count is not None else []))

    def sscan(self, name, cursor=0, match=None, count=None):
        pieces = [name, cursor]
        if match is not None:
            pieces += ["MATCH", match]
        if count is not None:
            pieces += ["COUNT", count]
        return self._exec(_scan, "SSCAN", *pieces)

    def sinter(self, keys, *args):
        return self._exec(_set, "SINTER", *_flat(keys, args))

    def sunion(self, keys, *args):
        return self._exec(_set, "SUNION", *_flat(keys, args))

    def sdiff(self, keys, *args):
        return self._exec(_set, "SDIFF", *_flat(keys, args))

    def sintercard(self, numkeys, keys, limit=0):
        return self._exec(None, "SINTERCARD", numkeys, *keys, "LIMIT", limit)

    def smove(self, src, dst, value):
        return self._exec(_bool, "SMOVE", src, dst, value)

    def sinterstore(self, dest, keys, *args):
        return self._exec(None, "SINTERSTORE", dest, *_flat(keys, args))

    def sunionstore(self, dest, keys, *args):
        return self._exec(None, "SUNIONSTORE", dest, *_flat(keys, args))

    def sdiffstore(self, dest, keys, *args):
        return self._exec(None, "SDIFFSTORE", dest, *_flat(keys, args))

    # ----- lists -----------------------------------------------------------------------
    def lpush(self, name, *values):
        return self._exec(None, "LPUSH", name, *values)

    def rpush(self, name, *values):
        return self._exec(None, "RPUSH", name, *values)

    def lpop(self, name, count=None):
        return self._exec(None, "LPOP", name, *([count] if count is not None else []))

    def rpop(self, name, count=None):
        return self._exec(None, "RPOP", name, *([count] if count is not None else []))

    def llen(self, name):
        return self._exec(None, "LLEN", name)

    def lindex(self, name, index):
        return self._exec(None, "LINDEX", name, index)

    def lrange(self, name, start, end):
        return self._exec(None, "LRANGE", name, start, end)

    def lpos(self, name, value, rank=None, count=None, maxlen=None):
        pieces = [name, value]
        if rank is not None:
            pieces += ["RANK", rank]
        if count is not None:
            pieces += ["COUNT", count]
        if maxlen is not None:
            pieces += ["MAXLEN", maxlen]
        return self._exec(None, "LPOS", *pieces)

    def lset(self, name, index, value):
        return self._exec(_ok, "LSET", name, index, value)

    def linsert(self, name, where, refvalue, value):
        return self._exec(None, "LINSERT", name, where, refvalue, value)

    def lrem(self, name, count, value):
        return self._exec(None, "LREM", name, count, value)

    def ltrim(self, name, start, end):
        return self._exec(_ok, "LTRIM", name, start, end)

    def lmove(self, first_list, second_list, src="LEFT", dest="RIGHT"):
        return self._exec(None, "LMOVE", first_list, second_list, src, dest)

    def lmpop(self, num_keys, *args, direction=None, count=1):
        pieces = [num_keys, *args, direction]
        if count != 1:
            pieces += ["COUNT", count]
        return self._exec(None, "LMPOP", *pieces)

    # ----- sorted sets -----------------------------------------------------------------
    def zadd(self, name, mapping, nx=False, xx=False, ch=False, incr=False, gt=False, lt=False):
        if not mapping:
            raise DataError("ZADD requires at least one element/score pair")
        if nx and xx:
            raise DataError("ZADD allows either 'nx' or 'xx', not both")
        if gt and lt:
            raise DataError("ZADD allows either 'gt' or 'lt', not both")
        if incr and len(mapping) != 1:
            raise DataError("ZADD option 'incr' only works when passing a single element/score pair")
        pieces = [w for w, on in (("NX", nx), ("XX", xx), ("CH", ch), ("INCR", incr),
                                  ("GT", gt), ("LT", lt)) if on]
        for member, score in mapping.items():
            pieces += [score, member]
        return self._exec(_float if incr else None, "ZADD", name, *pieces)

    def zrem(self, name, *values):
        return self._exec(None, "ZREM", name, *values)

    def zscore(self, name, value):
        return self._exec(_float, "ZSCORE", name, value)

    def zrank(self, name, value, withscore=False):
        if withscore:
            return self._exec(_rank_score, "ZRANK", name, value, "WITHSCORE")
        return self._exec(None, "ZRANK", name, value)

    def zrevrank(self, name, value, withscore=False):
        if withscore:
            return self._exec(_rank_score, "ZREVRANK", name, value, "WITHSCORE")
        return self._exec(None, "ZREVRANK", name, value)

    def zcard(self, name):
        return self._exec(None, "ZCARD", name)

    def zcount(self, name, min, max):
        return self._exec(None, "ZCOUNT", name, min, max)

    def zrange(self, name, start, end, desc=False, withscores=False, score_cast_func=float,
               byscore=False, bylex=False, offset=None, num=None):
        if byscore and bylex:
            raise DataError("``byscore`` and ``bylex`` can not be specified together.")
        if (offset is None) != (num is None):
            raise DataError("``offset`` and ``num`` must both be specified.")
        if bylex and withscores:
            raise DataError("``withscores`` not supported in combination with ``bylex``.")
        pieces = [name, start, end]
        if byscore:
            pieces.append("BYSCORE")
        if bylex:
            pieces.append("BYLEX")
        if desc:
            pieces.append("REV")
        if offset is not None:
            pieces += ["LIMIT", offset, num]
        if withscores:
            pieces.append("WITHSCORES")
        return self._exec(_pairs if withscores else None, "ZRANGE", *pieces)

    def zrangebyscore(self, name, min, max, start=None, num=None, withscores=False,
                      score_cast_func=float):
        if (start is None) != (num is None):
            raise DataError("``start`` and ``num`` must both be specified")
        pieces = [name, min, max]
        if start is not None:
            pieces += ["LIMIT", start, num]
        if withscores:
            pieces.append("WITHSCORES")
        return self._exec(_pairs if withscores else None, "ZRANGEBYSCORE", *pieces)

    def zrevrange(self, name, start, end, withscores=False, score_cast_func=float):
        pieces = [name, start, end] + (["WITHSCORES"] if withscores else [])
        return self._exec(_pairs if withscores else None, "ZREVRANGE", *pieces)

    def zrevrangebyscore(self, name, max, min, start=None, num=None, withscores=False,
                         score_cast_func=float):
        if (start is None) != (num is None):
            raise DataError("``start`` and ``num`` must both be specified")
        pieces = [name, max, min]
        if start is not None:
            pieces += ["LIMIT", start, num]
        if withscores:
            pieces.append("WITHSCORES")
        return self._exec(_pairs if withscores else None, "ZREVRANGEBYSCORE", *pieces)

    def zincrby(self, name, amount, value):
        return self._exec(_float, "ZINCRBY", name, amount, value)

    def zrangebylex(self, name, min, max, start=None, num=None):
        if (start is None) != (num is None):
            raise DataError("``start`` and ``num`` must both be specified")
        pieces = [name, min, max] + (["LIMIT", start, num] if start is not None else [])
        return self._exec(None, "ZRANGEBYLEX", *pieces)

    def zlexcount(self, name, min, max):
        return self._exec(None, "ZLEXCOUNT", name, min, max)

    def zpopmin(self, name, count=None):
        return self._exec(_pairs, "ZPOPMIN", name, *([count] if count is not None else []))

    def zpopmax(self, name, count=None):
        return self._exec(_pairs, "ZPOPMAX", name, *([count] if count is not None else []))

    def zscan(self, name, cursor=0, match=None, count=None, score_cast_func=float):
        pieces = [name, cursor]
        if match is not None:
            pieces += ["MATCH", match]
        if count is not None:
            pieces += ["COUNT", count]
        return self._exec(_zscan, "ZSCAN", *pieces)


# Reply conversions applied by execute_command, by upper-cased command name (redis-py applies
# its response callbacks there too).
CALLBACKS = {
    **dict.fromkeys(["EXPIRE", "EXPIREAT", "PEXPIRE", "PEXPIREAT", "PERSIST", "HEXISTS", "HMSET",
                     "SETNX", "SETEX", "PSETEX", "SMOVE"], _bool),
    **dict.fromkeys(["FLUSHALL", "FLUSHDB", "LSET", "LTRIM", "MSET", "READONLY", "READWRITE",
                     "ASKING"], _ok),
    **dict.fromkeys(["INCRBYFLOAT", "HINCRBYFLOAT"], float),
    **dict.fromkeys(["ZSCORE", "ZINCRBY"], _float),
    **dict.fromkeys(["SMEMBERS", "SINTER", "SUNION", "SDIFF"], _set),
    **dict.fromkeys(["ZPOPMIN", "ZPOPMAX"], _pairs),
    "HGETALL": _dict,
    "PING": _ping,
    "SSCAN": _scan,
    "HSCAN": _hscan,
    "ZSCAN": _zscan,
}


