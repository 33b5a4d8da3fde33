"""Differential testing: the same command to RedRaft and to the reference redis-server 7.0.15,
replies compared byte for byte (or as multisets where Redis's order is unspecified)."""

from helpers import RawConn, encode


def parse(buf, pos=0):
    """Parse one RESP2/RESP3 reply from bytes: returns (value, next_pos). Values are tagged
    tuples so RESP types stay distinguishable: ("bulk", b"..."), ("int", 1), ("array", [...]),
    ("set", [...]), ("map", [(k, v), ...]), ("double", b"1.5"), ("null",), ("err", b"...")."""
    t = buf[pos:pos + 1]
    end = buf.index(b"\r\n", pos)
    head = buf[pos + 1:end]
    after = end + 2
    if t == b"+":
        return ("status", head), after
    if t == b"-":
        return ("err", head), after
    if t == b":":
        return ("int", int(head)), after
    if t == b",":
        return ("double", head), after
    if t == b"#":
        return ("bool", head), after
    if t == b"_":
        return ("null",), after
    n = int(head)
    if t in (b"$", b"="):
        if n < 0:
            return ("null",), after
        return ("bulk", buf[after:after + n]), after + n + 2
    if n < 0:
        return ("null",), after
    kind = {b"*": "array", b"~": "set", b"%": "map", b">": "push"}[t]
    items = []
    p = after
    for _ in range(n * 2 if kind == "map" else n):
        v, p = parse(buf, p)
        items.append(v)
    if kind == "map":
        items = list(zip(items[::2], items[1::2]))
    return (kind, items), p


def unordered(v):
    """A reply with the order of every array, set and map (recursively) made irrelevant."""
    if v[0] in ("array", "set", "push"):
        return (v[0], tuple(sorted((unordered(i) for i in v[1]), key=repr)))
    if v[0] == "map":
        return ("map", tuple(sorted(((unordered(k), unordered(x)) for k, x in v[1]), key=repr)))
    return v


class Differ:
    """Runs commands on RedRaft and the reference, in one protocol (2 or 3)."""

    def __init__(self, server, reference, protocol):
        self.mine = RawConn(server)
        self.ref = RawConn(reference)
        self.protocol = protocol
        for c in (self.mine, self.ref):
            if protocol == 3:
                c.call("HELLO", "3")
            c.call("FLUSHALL")

    def close(self):
        self.mine.close()
        self.ref.close()

    def both(self, *args):
        """The raw replies (mine, reference) to one command."""
        return self.mine.call(*args), self.ref.call(*args)

    def same(self, *args, order=True):
        """Assert both servers reply the same bytes (order=False: same elements in any order);
        returns the parsed reply."""
        mine, ref = self.both(*args)
        if order:
            assert mine == ref, f"{args!r} (RESP{self.protocol}):\n mine: {mine!r}\n  ref: {ref!r}"
        else:
            a, b = unordered(parse(mine)[0]), unordered(parse(ref)[0])
            assert a == b, f"{args!r} (RESP{self.protocol}), any order:\n mine: {mine!r}\n  ref: {ref!r}"
        return parse(mine)[0]

    def script(self, commands, order=True):
        """`same` for each command of a list (each a list/tuple of arguments)."""
        return [self.same(*c, order=order) for c in commands]

    def pipeline(self, *commands):
        """Send several commands in one write to each server; assert identical reply bytes."""
        data = b"".join(encode(*c) for c in commands)
        self.mine.send(data)
        self.ref.send(data)
        mine, ref = self.mine.replies(len(commands)), self.ref.replies(len(commands))
        for c, a, b in zip(commands, mine, ref):
            assert a == b, f"{c!r} (RESP{self.protocol}):\n mine: {a!r}\n  ref: {b!r}"
        return mine
