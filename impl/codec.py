"""The wire codec: length-prefixed, HMAC-authenticated JSON frames typed by the model's schema.

A frame is ``len (4 bytes) | src (4) | dst (4) | MAC (32) | body`` (integers big endian) where
``body`` is the JSON object ``{"s": src, "d": dst, "i": instance, "m": message}``.  Messages are
encoded *by their declared type* (a ``Union`` of message ``Record``s): decoding walks the same
type, so nothing that is not a declared message kind with in-range fields is ever built, and
the result is ``check``-ed again.  Never pickle: a peer can only make us build values the model
could have sent.

Who signs what (``Keys``): a frame between two nodes is signed with the *sender's* node key,
``HMAC(master, "node:<id>")``, so a node message verifies only as coming from the id whose key
signed it; every frame to or from a client is signed with that client's own key, bound to its
id, which cannot sign a frame between nodes nor one of another client.  The MAC also covers the
connection's nonce (chosen by the accepting side), the direction and the frame's position on
the connection (``Link``): a recorded frame replayed on another connection, or out of order on
the same one, does not verify.
"""

from __future__ import annotations

import hmac
import json
import struct
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ..models.schema import (
    Int,
    Record,
    SchemaError,
    Seq,
    SetOf,
    Tuple,
    Type,
    Union,
    Vec,
    _Finite,
)

#: Frames larger than this are refused before their body is read.
MAX_FRAME = 1 << 20
HEADER = struct.Struct(">I")
#: The addresses before the MAC: the key is chosen by them before anything else is read.
ADDR = struct.Struct(">II")
MAC_LEN = 32
#: What precedes the JSON body inside a frame (its length counts them).
PREFIX = ADDR.size + MAC_LEN
#: The nonce the accepting side of a connection sends first.
NONCE_LEN = 16


class FrameError(ValueError):
    """A frame that is not accepted: too big, unauthenticated, malformed or of an unknown kind."""


class Text(Type):
    """A string of at most ``max_len`` characters (runtime values such as KV commands).

    Not enumerable: only the runtime uses it, never the checker.
    """

    def __init__(self, max_len: int = 4096) -> None:
        self.max_len = max_len
        self.size = 0

    def contains(self, v: object) -> bool:
        return type(v) is str and len(v) <= self.max_len

    def describe(self) -> str:
        return f"a string of at most {self.max_len} characters"


class Compacted:
    """A log whose first ``base`` entries are compacted: replaced by ``front()``, a summary the
    service defines (a state machine's snapshot), with the entries after them in ``tail``.

    It stands for the same log as the tuple it replaced (a node's model state does not change
    when its log is compacted, only its representation), so ``len`` counts every entry and a
    slice from ``base`` on is a tuple.  A subclass says what reading a compacted entry gives
    (``compacted``) and how to rebuild itself from its stored parts (``restore``).
    """

    __slots__ = ("base", "tail")

    def __init__(self, base: int, tail: tuple[Any, ...]) -> None:
        self.base, self.tail = base, tail

    def front(self) -> Any:
        """The JSON summary of the compacted entries (persisted once per compaction)."""
        raise NotImplementedError

    @classmethod
    def restore(cls, base: int, front: Any, tail: tuple[Any, ...]) -> Compacted:
        raise NotImplementedError

    def compacted(self, index: int) -> Any:
        """Entry ``index`` (0-based, below ``base``), as far as it is still known."""
        raise IndexError(f"entry {index} of the log is compacted (the log starts at {self.base})")

    def with_tail(self, tail: tuple[Any, ...]) -> Compacted:
        """The same compacted prefix, followed by ``tail``."""
        raise NotImplementedError

    def same_front(self, other: object) -> bool:
        """``other`` is compacted at the same point with the same summary."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self.base + len(self.tail)

    def __getitem__(self, k: Any) -> Any:
        n = len(self)
        if isinstance(k, slice):
            start, stop, step = k.indices(n)
            if step != 1:
                raise IndexError("a compacted log is sliced with step 1 only")
            if start >= self.base:
                return self.tail[start - self.base : max(stop - self.base, 0)]
            if start == 0 and stop >= self.base:
                return self.with_tail(self.tail[: stop - self.base])
            raise IndexError(f"entries {start}..{stop - 1} of the log are compacted (it starts at {self.base})")
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError("log index out of range")
        return self.tail[k - self.base] if k >= self.base else self.compacted(k)

    def __add__(self, more: tuple[Any, ...]) -> Compacted:
        return self.with_tail(self.tail + tuple(more))

    def __iter__(self) -> Any:
        raise TypeError("a compacted log cannot be iterated from its start (slice it from its base)")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Compacted) and self.same_front(other) and self.tail == other.tail

    def __hash__(self) -> int:
        return hash((self.base, self.tail))

    def __repr__(self) -> str:
        return f"<log of {len(self)} entries, the first {self.base} compacted, then {self.tail!r}>"


def from_base(log: Any) -> int:
    """Where ``log`` (a tuple or a ``Compacted`` log) starts holding its entries."""
    return log.base if isinstance(log, Compacted) else 0


def log_change(old: Any, new: Any) -> int:
    """How many leading positions of ``new`` (a tuple or a ``Compacted`` log) need not be
    written where ``old`` is stored: those compacted in ``new``, and from there the entries the
    two share.  Never below ``new``'s base, so ``new[keep:]`` holds entries."""
    lo = from_base(new)
    if lo < from_base(old):
        return lo  # old's stored entries start later: write everything new holds
    if len(old) <= lo:
        return lo
    return lo + common_prefix(old[lo:], new[lo:])


def common_prefix(old: tuple[Any, ...], new: tuple[Any, ...]) -> int:
    """How many leading entries ``old`` and ``new`` share (all of the shorter one, usually)."""
    n = min(len(old), len(new))
    if old[:n] == new[:n]:
        return n
    k = 0
    while old[k] == new[k]:
        k += 1
    return k


class Log(Type):
    """An unbounded sequence of ``elem`` values: a runtime log (a tuple that grows).

    Not enumerable: only the runtime uses it.  As a field of a node's durable state it is
    persisted incrementally (``Host``: appends and truncations, not a rewrite of the whole).
    ``compacted``: the ``Compacted`` class its values may also be (their compacted prefix is
    persisted as its ``front()``, and its stored entries deleted).
    """

    def __init__(self, elem: Type, compacted: type[Compacted] | None = None) -> None:
        self.elem = elem
        self.compacted = compacted
        self.size = 0

    def contains(self, v: object) -> bool:
        if self.compacted is not None and isinstance(v, self.compacted):
            return all(self.elem.contains(x) for x in v.tail)
        return type(v) is tuple and all(self.elem.contains(x) for x in v)

    def check(self, v: object, path: str = "state") -> None:
        if self.compacted is not None and isinstance(v, self.compacted):
            v = v.tail
        if type(v) is not tuple:
            raise SchemaError(f"{path} = {v!r} is not {self.describe()}")
        for k, x in enumerate(v):
            self.elem.check(x, f"{path}[{k}]")

    def describe(self) -> str:
        return f"a log of {self.elem.describe()}"


class Frame(NamedTuple):
    """One message on the wire: ``msg`` from node ``src`` to node ``dst``, for instance ``inst``."""

    src: int
    dst: int
    inst: int
    msg: Any


# ----- typed JSON ---------------------------------------------------------------------


def to_wire(t: Type, v: Any) -> Any:
    """``v`` (of type ``t``) as a JSON value; raises ``SchemaError`` if ``v`` is not a ``t``."""
    t.check(v, "value")
    return _enc(t, v)


def from_wire(t: Type, j: Any) -> Any:
    """The value of type ``t`` that ``j`` encodes; raises ``SchemaError`` on anything else."""
    v = _dec(t, j)
    t.check(v, "value")
    return v


def to_trace(t: Type, v: Any) -> Any:
    """``to_wire`` for a trace line, where a ``Compacted`` log may stand in a message or a state:
    it is written ``{"$compacted": base, "$add": [its entries from base on]}`` (never in a frame)."""
    return _enc(t, v)


def _enc(t: Type, v: Any) -> Any:
    if isinstance(t, Union):
        for a in t.alts:
            if a.contains(v):
                return _enc(a, v)
        kind = v[0] if isinstance(v, tuple) and v else None  # a message holding a compacted log
        for a in t.alts:
            if isinstance(a, Record) and a._kind is not None and a._kind == kind:
                return _enc(a, v)
        raise SchemaError(f"{v!r} is not {t.describe()}")
    if isinstance(t, Record):
        items = t._items(v)
        out = {n: _enc(ft, x) for n, ft, x in zip(t.names, t.parts, items, strict=True)}
        if t._kind is not None:
            out["$"] = t._kind
        return out
    if isinstance(t, (Tuple, Vec, Seq, Log)):
        if isinstance(v, Compacted):
            return {"$compacted": v.base, "$add": _enc(t, v.tail)}
        elems = t.parts if isinstance(t, (Tuple, Vec)) else [t.elem] * len(v)
        return [_enc(et, x) for et, x in zip(elems, v, strict=True)]
    if isinstance(t, SetOf):
        if t.elem is None:
            return sorted((x for x in v), key=repr)
        return sorted((_enc(t.elem, x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    return v  # leaves: ints, strings, None, bools


def _dec(t: Type, j: Any) -> Any:
    if isinstance(t, Union):
        if isinstance(j, dict) and "$" in j:
            for a in t.alts:
                if isinstance(a, Record) and a._kind == j["$"]:
                    return _dec(a, j)
            raise SchemaError(f"unknown message kind {j['$']!r}")
        for a in t.alts:
            try:
                v = _dec(a, j)
            except SchemaError:
                continue
            if a.contains(v):
                return v
        raise SchemaError(f"{_short(j)} is not {t.describe()}")
    if isinstance(t, Record):
        if not isinstance(j, dict):
            raise SchemaError(f"{_short(j)} is not a {t.cls.__name__}")
        extra = set(j) - set(t.names) - {"$"}
        if extra or j.get("$") != t._kind or any(n not in j for n in t.names):
            raise SchemaError(f"{_short(j)} does not have the fields of {t.cls.__name__}")
        vals = [_dec(ft, j[n]) for n, ft in zip(t.names, t.parts, strict=True)]
        return t.cls(*vals)
    if isinstance(t, (Tuple, Vec)):
        if not isinstance(j, list) or len(j) != len(t.parts):
            raise SchemaError(f"{_short(j)} is not {t.describe()}")
        return tuple(_dec(et, x) for et, x in zip(t.parts, j, strict=True))
    if isinstance(t, (Seq, Log)):
        if not isinstance(j, list) or (isinstance(t, Seq) and len(j) > t.maxlen):
            raise SchemaError(f"{_short(j)} is not {t.describe()}")
        return tuple(_dec(t.elem, x) for x in j)
    if isinstance(t, SetOf):
        if not isinstance(j, list) or len(j) > len(t.universe):
            raise SchemaError(f"{_short(j)} is not {t.describe()}")
        if t.elem is None:
            return frozenset(_hashable(x) for x in j)
        return frozenset(_dec(t.elem, x) for x in j)
    if isinstance(t, _Finite):
        for x in t._values:
            if type(x) is type(j) and x == j:
                return x
        raise SchemaError(f"{_short(j)} is not {t.describe()}")
    if isinstance(t, Int):
        if type(j) is not int or not t.lo <= j <= t.hi:
            raise SchemaError(f"{_short(j)} is not {t.describe()}")
        return j
    if isinstance(t, Text):
        if not t.contains(j):
            raise SchemaError(f"{_short(j)} is not {t.describe()}")
        return j
    raise SchemaError(f"the codec cannot decode values of type {t.describe()}")


def _hashable(x: Any) -> Any:
    if isinstance(x, list):
        return tuple(_hashable(y) for y in x)
    if isinstance(x, dict):
        raise SchemaError("objects cannot be set elements")
    return x


def _short(j: Any) -> str:
    s = repr(j)
    return s if len(s) <= 80 else s[:77] + "..."


def widen(t: Type, field: Callable[[str, Type], Type | None]) -> Type:
    """The type ``t`` with record fields replaced where ``field(name, type)`` returns a type.

    The runtime keeps the model's message kinds and field names but needs wider domains
    (unbounded ballots, command strings as values) than the checker's small finite ones.
    """
    if isinstance(t, Union):
        return Union(*(widen(a, field) for a in t.alts))
    if isinstance(t, Record):
        fields = {}
        for n, ft in t.fields.items():
            new = field(n, ft)
            fields[n] = new if new is not None else widen(ft, field)
        return Record(t.cls, **fields)
    return t


# ----- frames -------------------------------------------------------------------------


def derive(master: bytes, label: str) -> bytes:
    """A key derived from the cluster's master secret (``label``: ``"node:3"``, ``"client:2000"``)."""
    return hmac.digest(master, label.encode(), "sha256")


#: What the client keys of the default pool derive from (``Keys.pool``), itself derived from the master.
POOL_LABEL = "client-pool"
#: The one client key every client shared before client keys were bound to ids (refused now).
LEGACY_LABEL = "client"


class Keys:
    """The keys one process holds, each bound to the id it signs for.

    A frame between two nodes is signed with the sender's node key ``HMAC(master, "node:<id>")``;
    a frame between a node and client ``c`` with ``c``'s own key, so a client's frames verify
    only as coming from the id its key was issued for.  Client keys: for an id of the default pool
    (``pool_ids``), ``HMAC(pool, "client:<c>")`` where ``pool`` = ``HMAC(master, "client-pool")``
    is what ``cluster.json`` hands to every holder of it; for any other client id (issued by
    ``cluster add-client``), ``HMAC(master, "client:<c>")``, which only its credentials file
    holds.  Nodes hold the master and derive every key on demand.  ``master=None`` is a
    client's view: ``pool`` and/or ``own`` (one ``(id, key)``), no node key."""

    def __init__(self, nodes: Iterable[int], pool: bytes | None, master: bytes | None = None, *,
                 pool_ids: Iterable[int] = (), own: tuple[int, bytes] | None = None) -> None:
        for k in (pool, master, None if own is None else own[1]):
            if k is not None and len(k) < 16:
                raise ValueError("the cluster secret must be at least 16 bytes")
        self.nodes = frozenset(nodes)
        self.master = master
        self.pool = pool if pool is not None or master is None else derive(master, POOL_LABEL)
        self.pool_ids = frozenset(pool_ids)
        self.own = own
        self._node: dict[int, bytes] = {}
        self._client: dict[int, bytes] = {}

    @classmethod
    def from_master(cls, master: bytes, nodes: Iterable[int], pool_ids: Iterable[int] = ()) -> Keys:
        return cls(nodes, None, master, pool_ids=pool_ids)

    def client_view(self) -> Keys:
        """What a holder of the cluster file has: the pool's key (and its own, if any)."""
        return Keys(self.nodes, self.pool, pool_ids=self.pool_ids, own=self.own)

    def client_key(self, c: int) -> bytes | None:
        """Client ``c``'s key, if this process holds it (None: it cannot sign or check as ``c``)."""
        if self.own is not None and self.own[0] == c:
            return self.own[1]
        k = self._client.get(c)
        if k is None:
            if c in self.pool_ids and self.pool is not None:
                k = derive(self.pool, f"client:{c}")
            elif self.master is not None:
                k = derive(self.master, f"client:{c}")
            else:
                return None
            if len(self._client) < 65536:
                self._client[c] = k
        return k

    def legacy(self) -> bytes | None:
        """The shared client key of clusters from before client keys were bound to ids (nodes
        only, to say why such a client's frames are refused)."""
        return None if self.master is None else derive(self.master, LEGACY_LABEL)

    def for_frame(self, src: int, dst: int) -> bytes | None:
        """The key a frame from ``src`` to ``dst`` is signed with (None: not held here)."""
        if src in self.nodes:
            if dst not in self.nodes:
                return self.client_key(dst)
            k = self._node.get(src)
            if k is None and self.master is not None:
                k = self._node[src] = derive(self.master, f"node:{src}")
            return k
        return self.client_key(src)


class Link:
    """One direction of one connection: its nonce, its direction and the next frame's position.

    Sender and receiver each keep one and advance it per frame; frames on a TCP connection
    arrive in order and whole, so the positions agree unless a frame was replayed or dropped.
    """

    __slots__ = ("prefix", "seq")

    def __init__(self, nonce: bytes, inbound: bool) -> None:
        self.prefix = (b">" if inbound else b"<") + nonce
        self.seq = 0

    def tag(self) -> bytes:
        """What the MAC covers besides the frame, for the current position."""
        return self.prefix + self.seq.to_bytes(8, "big")


class Busy(NamedTuple):
    """A node's answer to a client frame it did not take (overloaded): frame ``seq`` of the
    client's connection was dropped unread and may be sent again, later."""

    seq: int


class Codec:
    """Encode and decode frames of one cluster: its message type, its keys, its node ids.

    ``keys`` may be a master secret (bytes): then every id in ``nodes`` (default: all of ``ids``)
    is a node.  ``link``: the connection direction a frame is sealed for or read from (None: a
    frame outside any connection, as the unit tests use)."""

    def __init__(self, msg_type: Type, keys: Keys | bytes, ids: Iterable[int], max_frame: int = MAX_FRAME,
                 nodes: Iterable[int] | None = None) -> None:
        self.ids = frozenset(ids)
        if not isinstance(keys, Keys):
            keys = Keys.from_master(keys, self.ids if nodes is None else nodes)
        self.keys = keys
        self.msg_type = msg_type
        self.max_frame = max_frame
        self.inst_type = Int(0, 2**53)

    def body(self, f: Frame) -> bytes:
        """The JSON body of a frame; raises ``SchemaError`` on an ill-typed frame."""
        for name, v in (("src", f.src), ("dst", f.dst)):
            if v not in self.ids:
                raise SchemaError(f"{name} {v!r} is not a node of this cluster")
        self.inst_type.check(f.inst, "inst")
        if type(f.msg) is Busy:
            payload: dict[str, Any] = {"s": f.src, "d": f.dst, "i": f.inst, "busy": f.msg.seq}
        else:
            payload = {"s": f.src, "d": f.dst, "i": f.inst, "m": to_wire(self.msg_type, f.msg)}
        body = json.dumps(payload, separators=(",", ":")).encode()
        if PREFIX + len(body) > self.max_frame:
            raise SchemaError(f"frame of {PREFIX + len(body)} bytes exceeds the limit of {self.max_frame}")
        return body

    def seal(self, src: int, dst: int, body: bytes, link: Link | None = None) -> bytes:
        """The bytes of a frame (header included) carrying ``body``, signed for ``link``'s next
        position (which it takes); raises ``SchemaError`` without the key it needs."""
        key = self.keys.for_frame(src, dst)
        if key is None:
            raise SchemaError(f"this process holds no key to sign a frame from node {src} to node {dst}")
        addr = ADDR.pack(src, dst)
        tag = b"" if link is None else link.tag()
        if link is not None:
            link.seq += 1
        mac = hmac.digest(key, tag + addr + body, "sha256")
        return HEADER.pack(PREFIX + len(body)) + addr + mac + body

    def encode(self, f: Frame, link: Link | None = None) -> bytes:
        """The bytes of a frame (header included); raises ``SchemaError`` on an ill-typed frame."""
        return self.seal(f.src, f.dst, self.body(f), link)

    def check_length(self, n: int) -> None:
        if n > self.max_frame or n < PREFIX + 2:
            raise FrameError(f"frame length {n} outside {PREFIX + 2}..{self.max_frame}")

    def decode_body(self, data: bytes, link: Link | None = None) -> Frame:
        """The frame in ``data`` (without its 4-byte header), read at ``link``'s next position
        (which it takes, accepted or not); raises ``FrameError`` if rejected."""
        tag = b"" if link is None else link.tag()
        if link is not None:
            link.seq += 1
        self.check_length(len(data))
        src, dst = ADDR.unpack_from(data)
        if src not in self.ids:
            raise FrameError(f"unknown sender {_short(src)}")
        if dst not in self.ids:
            raise FrameError(f"unknown addressee {_short(dst)}")
        key = self.keys.for_frame(src, dst)
        if key is None:
            raise FrameError(f"a frame between nodes {src} and {dst}, which this process holds no key for")
        mac, body = data[ADDR.size : PREFIX], data[PREFIX:]
        if not hmac.compare_digest(mac, hmac.digest(key, tag + data[: ADDR.size] + body, "sha256")):
            old = self.keys.legacy() if src not in self.keys.nodes else None
            if old is not None and hmac.compare_digest(mac, hmac.digest(old, tag + data[: ADDR.size] + body,
                                                                        "sha256")):
                raise FrameError(f"client {src} signs with the shared client key of an older protoproof; "
                                 "clients now need a key bound to their id (upgrade the client)")
            raise FrameError("bad HMAC (not signed with the sender's key for this connection)")
        try:
            j = json.loads(body)
        except (ValueError, RecursionError) as e:
            raise FrameError(f"not JSON: {type(e).__name__}") from None
        if not isinstance(j, dict) or not ({"s", "d", "i", "m"} == set(j) or {"s", "d", "i", "busy"} == set(j)):
            raise FrameError("not a frame object")
        inst = j["i"]
        if j["s"] != src or j["d"] != dst or type(j["s"]) is not int or type(j["d"]) is not int:
            raise FrameError("addresses in the body differ from the signed ones")
        if not self.inst_type.contains(inst):
            raise FrameError(f"bad instance {_short(inst)}")
        if "busy" in j:
            seq = j["busy"]
            if src not in self.keys.nodes or dst in self.keys.nodes or type(seq) is not int or seq < 0:
                raise FrameError("a busy answer that is not a node's to a client")
            return Frame(src, dst, inst, Busy(seq))
        try:
            msg = from_wire(self.msg_type, j["m"])
        except (SchemaError, TypeError, ValueError, RecursionError) as e:
            raise FrameError(f"bad message: {e}") from None
        return Frame(src, dst, inst, msg)

    def decode(self, data: bytes, link: Link | None = None) -> Frame:
        """The frame in ``data`` including its 4-byte header."""
        if len(data) < HEADER.size:
            raise FrameError("truncated header")
        (n,) = HEADER.unpack_from(data)
        if n != len(data) - HEADER.size:
            raise FrameError(f"length {n} does not match the {len(data) - HEADER.size} bytes that follow")
        return self.decode_body(data[HEADER.size :], link)
