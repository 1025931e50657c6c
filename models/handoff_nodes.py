"""The key handoff's nodes: storage nodes, the config service and the client, as pure handlers.

What ``models.handoff`` checks and the sharded store's runtime runs: each handler is a function
of (local state, message) to (new state, effects), configured by a value (``HandoffParams``:
the ring versions, the client's id, the bounds of its types).  A storage node's whole state is
durable (it persists every change before anything that depends on it is sent); the client's
and the config service's are volatile (neither crashes in the model).  The protocol is described
in ``models/handoff.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .actors import Broadcast, Effect, Node, NodeConfig, Persist, Send, peers
from .base import transition
from .schema import Enum, Int, OneOf, Record, SetOf, Type, Vec, message

Out = tuple[Any, Sequence[Effect]] | None

OWN = "own"  # the node holds the key and is its authority
SENDING = "sending"  # the node holds the key but handed it off: it waits for the new owner's ack
NONE = "none"  # the node does not hold the key
KeyState = Enum("KeyState", OWN, SENDING, NONE)

IDLE = "idle"
WRITING = "writing"
READING = "reading"
OpKind = Enum("OpKind", IDLE, WRITING, READING)

NO_READ = -1  # the client's ``got``: no read completed since its last operation began


@message
class NewRing:
    """Config service -> node or client: ring version ``ver`` is the current one."""

    ver: int


@message
class Write:
    """Client (or a forwarding node) -> node: operation ``op`` writes ``op`` to ``key``."""

    key: int
    op: int


@message
class Read:
    """Client (or a forwarding node) -> node: operation ``op`` reads ``key``."""

    key: int
    op: int


@message
class WriteAck:
    """Node -> client: write ``op`` of ``key`` is applied (durably)."""

    key: int
    op: int


@message
class ReadReply:
    """Node -> client: read ``op`` of ``key`` found ``val`` (the operation number of its write, 0: none)."""

    key: int
    op: int
    val: int


@message
class Transfer:
    """Old owner -> new owner, for ring version ``ver``: ``key`` holds ``val``; take it over."""

    ver: int
    key: int
    val: int


@message
class TransferAck:
    """New owner -> old owner: I hold ``key`` (of ring version ``ver``'s handoff) durably; drop it."""

    ver: int
    key: int


@message
class Settled:
    """Node -> config service: every handoff of ring version ``ver`` this node takes part in is done."""

    ver: int


class StoreState(NamedTuple):
    ver: int  # the ring version the node knows
    st: tuple[str, ...]  # per key: OWN, SENDING or NONE
    val: tuple[int, ...]  # per key: the operation number of the write it holds (0: none)


class ClientState(NamedTuple):
    ver: int  # the ring version the client routes by
    op: str  # IDLE, or the kind of the pending operation
    key: int  # the key of the pending (or last) operation
    n: int  # operations issued so far: the pending one's number
    acked: tuple[int, ...]  # per key: the number of the latest acknowledged write (0: none)
    got: int  # what the last read returned (NO_READ: none since the last operation began)


class ConfigState(NamedTuple):
    ver: int  # the current ring version
    done: frozenset[int]  # the storage nodes that reported their handoffs of ``ver`` done


@dataclass(frozen=True)
class HandoffParams:
    """What the nodes are told: the ring versions (owner of each key per version), the client's
    id, and the operation bound (``max_ops``: small in the model, ``2**53`` at run time, where a
    subclass may also override ``owner`` to look keys up on a real ring)."""

    rings: tuple[tuple[int, ...], ...]
    client: int
    max_ops: int

    @property
    def keys(self) -> range:
        return range(len(self.rings[0]))

    @property
    def version(self) -> Type:
        """The type of a ring version."""
        return Int(0, len(self.rings) - 1)

    @property
    def count(self) -> Type:
        """The type of an operation number (0: none)."""
        return Int(0, self.max_ops)

    def owner(self, ver: Any, key: int) -> int:
        """The owner of ``key`` in ring version ``ver`` (a branch per version: ``ver`` may be symbolic)."""
        for v, ring in enumerate(self.rings):
            if ver == v:
                return ring[key]
        raise ValueError(f"no ring version {ver!r}")


def ring_versions(nodes: int, keys: int, change: str, changes: int = 1) -> tuple[tuple[int, ...], ...]:
    """Owner of each key in each ring version: the last node joins (and takes the last key) or
    leaves (and its keys go round the others), then, with more changes, leaves and joins again in
    turn; every other key stays where it is."""
    last = nodes - 1
    without = tuple(k % last for k in range(keys))
    with_last = without[:-1] + (last,)
    pair = (without, with_last) if change == "join" else (with_last, without)
    return tuple(pair[v % 2] for v in range(changes + 1))


def replica_slots(prev: Sequence[int] | None, pref: Sequence[int]) -> tuple[int, ...]:
    """The nodes of a key's ``len(pref)`` replica slots, given its preference list ``pref`` and
    the slots of the version before (``prev``; None: the first version, slots in preference
    order).  A node in both keeps its slot and a newcomer takes a leaver's, so a membership change
    that changes the preference *set* by one node moves exactly one slot (one handoff) rather than
    shifting every position behind the newcomer."""
    if prev is None:
        return tuple(pref)
    if len(prev) != len(pref):
        raise ValueError(f"a preference list of {len(pref)} nodes for {len(prev)} replica slots")
    new = iter([n for n in pref if n not in prev])
    return tuple(n if n in pref else next(new) for n in prev)


def replica_versions(nodes: int, keys: int, change: str, changes: int, replicas: int) -> tuple[tuple[int, ...], ...]:
    """Owner of each *slot* in each ring version, for ``replicas`` replicas of each of ``keys`` keys:
    slot ``p * keys + k`` is replica ``p`` of key ``k`` (``replica_slots`` of its preference list:
    the owner ``ring_versions`` gives, then the next members in id order, cyclically).  Each slot is
    one key of the handoff protocol, so R replicas are R independent single-authority keys."""
    owner = ring_versions(nodes, keys, change, changes)
    members = (tuple(range(nodes - 1)), tuple(range(nodes)))
    without_first = change == "join"
    out: list[tuple[int, ...]] = []
    prev: list[tuple[int, ...] | None] = [None] * keys
    for v, ring in enumerate(owner):
        m = members[(v % 2) if without_first else 1 - v % 2]
        row: list[tuple[int, ...]] = []
        for k in range(keys):
            i = m.index(ring[k])
            pref = tuple(m[(i + j) % len(m)] for j in range(replicas))
            prev[k] = replica_slots(prev[k], pref)
            row.append(prev[k])  # type: ignore[arg-type]
        out.append(tuple(row[k][p] for p in range(replicas) for k in range(keys)))
    return tuple(out)


def at(t: tuple[Any, ...], k: int, x: Any) -> tuple[Any, ...]:
    """``t`` with position ``k`` replaced by ``x``."""
    return t[:k] + (x,) + t[k + 1:]


def node_configs(nodes: int, params: HandoffParams) -> list[NodeConfig]:
    """Storage nodes 0 .. nodes-1, the config service ``nodes``, the client ``nodes + 1``."""
    ids = peers(storage=range(nodes), config=(nodes,), client=(nodes + 1,))
    return ([NodeConfig(i, f"s{i}", ids, params) for i in range(nodes)]
            + [NodeConfig(nodes, "config", ids, params), NodeConfig(nodes + 1, "client", ids, params)])


class Storage(Node[StoreState]):
    role = "storage"

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.p: HandoffParams = config.params
        self.client = self.p.client
        self.config_id = config.ids("config")[0]

    def state_type(self) -> Type:
        p = self.p
        k = len(p.keys)
        return Record(StoreState, ver=p.version, st=Vec(KeyState, k), val=Vec(p.count, k))

    def on_start(self) -> tuple[StoreState, Sequence[Effect]]:
        p = self.p
        return StoreState(0, tuple(OWN if p.owner(0, k) == self.id else NONE for k in p.keys),
                          (0,) * len(p.keys)), ()

    # Every field survives a crash: each handler persists before it sends what depends on it.
    def disk_type(self) -> Type:
        return self.state_type()

    def durable(self, s: StoreState) -> StoreState:
        return s

    def on_recover(self, disk: StoreState) -> tuple[StoreState, Sequence[Effect]]:
        return disk, ()

    def keys(self) -> range:
        return self.p.keys

    @transition(k="keys")
    def stream(self, s: StoreState, k: int) -> Out:
        """Send a key being handed off to its new owner (first sends and retransmissions alike)."""
        dst = self.p.owner(s.ver, k)
        if s.st[k] != SENDING or dst == self.id or s.ver == 0:  # ver 0: unreachable (kept total)
            return None
        return self.streamed(s, k), (Send(dst, Transfer(s.ver, k, s.val[k])),)

    def streamed(self, s: StoreState, k: int) -> StoreState:
        """The state after sending key ``k``'s value: unchanged, the key is kept until acknowledged."""
        return s

    def applies(self, s: StoreState, k: int) -> bool:
        """Whether the node applies a write of ``k``: only as its authority."""
        return s.st[k] == OWN

    def answers(self, s: StoreState, k: int) -> bool:
        """Whether the node answers a read of ``k``: only as its authority."""
        return s.st[k] == OWN

    def received(self, s: StoreState, k: int, v: int) -> tuple[StoreState, Sequence[Effect]]:
        """Take over key ``k`` with value ``v``: persist, then acknowledge (``ack-before-persist`` differs)."""
        return StoreState(s.ver, at(s.st, k, OWN), at(s.val, k, v)), (Persist(),)

    def on_message(self, s: StoreState, src: int, msg: Any) -> Out:
        t = type(msg)
        if t is NewRing:
            return self.on_ring(s, msg.ver)
        if t is Transfer:
            k = msg.key
            if not self.takes(s, msg.ver):
                return None
            if s.st[k] == OWN:  # held already: acknowledge again (the ack may have been lost)
                return s, (Send(src, TransferAck(msg.ver, k)),)
            if s.st[k] == SENDING:
                return None
            ns, effects = self.received(s, k, msg.val)
            return ns, (*effects, Send(src, TransferAck(msg.ver, k)))
        if t is TransferAck:
            k = msg.key
            if s.st[k] != SENDING or msg.ver != s.ver:  # an ack of an earlier handoff of the key is no ack of this one
                return None
            return StoreState(s.ver, at(s.st, k, NONE), at(s.val, k, 0)), (Persist(),)
        if t is Write:
            k = msg.key
            if self.applies(s, k):
                if msg.op <= s.val[k]:  # applied already, or older than what it holds: acknowledge only
                    return s, (Send(self.client, WriteAck(k, msg.op)),)
                return (StoreState(s.ver, s.st, at(s.val, k, msg.op)),
                        (Persist(), Send(self.client, WriteAck(k, msg.op))))
            return self.forward(s, k, msg)
        if t is Read:
            k = msg.key
            if self.answers(s, k):
                return s, (Send(self.client, ReadReply(k, msg.op, s.val[k])),)
            return self.forward(s, k, msg)
        return None

    def takes(self, s: StoreState, ver: int) -> bool:
        """Whether the node takes a transfer of ring version ``ver``: not one of a version before its
        own, a late copy of a handoff that completed (the config service moves on only then)."""
        return ver >= s.ver

    @transition()
    def report(self, s: StoreState) -> Out:
        """Tell the config service that this node's handoffs of its ring version are done (it hands
        nothing off and holds every key it owns), so that the next change may start (sent again and
        again, as the runtime retransmits)."""
        if s.ver == 0 or s.ver + 1 >= len(self.p.rings) or not self.settledat(s):
            return None
        return s, (Send(self.config_id, Settled(s.ver)),)

    def settledat(self, s: StoreState) -> bool:
        """Whether the node hands nothing off and holds every key its ring gives it."""
        return all(s.st[k] != SENDING and (s.st[k] == OWN or self.p.owner(s.ver, k) != self.id) for k in self.p.keys)

    def on_ring(self, s: StoreState, ver: int) -> Out:
        """Adopt a newer ring: every key it owns that moves away is handed off."""
        if ver <= s.ver:
            return None
        st = tuple(SENDING if s.st[k] == OWN and self.p.owner(ver, k) != self.id else s.st[k] for k in self.p.keys)
        return StoreState(ver, st, s.val), (Persist(),)

    def forward(self, s: StoreState, k: int, msg: Any) -> Out:
        """Pass a request on to the key's owner in the ring this node knows; wait (no step) if that is us."""
        dst = self.p.owner(s.ver, k)
        if dst == self.id:
            return None  # the key is on its way here
        return s, (Send(dst, msg),)


class Client(Node[ClientState]):
    role = "client"

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.p: HandoffParams = config.params

    def state_type(self) -> Type:
        p = self.p
        k = len(p.keys)
        return Record(ClientState, ver=p.version, op=OpKind, key=Int(0, k - 1), n=p.count, acked=Vec(p.count, k),
                      got=Int(NO_READ, p.max_ops))

    def on_start(self) -> tuple[ClientState, Sequence[Effect]]:
        return ClientState(0, IDLE, 0, 0, (0,) * len(self.p.keys), NO_READ), ()

    def keys(self) -> range:
        return self.p.keys

    def request(self, s: ClientState, k: int) -> Any:
        """The pending operation's message (``k``, its key, given as a constant)."""
        return Write(k, s.n) if s.op == WRITING else Read(k, s.n)

    def begin(self, s: ClientState, kind: str, k: int) -> Out:
        if s.op != IDLE or s.n >= self.p.max_ops:
            return None
        t = ClientState(s.ver, kind, k, s.n + 1, s.acked, NO_READ)
        return t, (Send(self.p.owner(s.ver, k), self.request(t, k)),)

    @transition(k="keys")
    def write(self, s: ClientState, k: int) -> Out:
        """Write key ``k`` (the value is the operation's number), sent to its owner in the client's ring."""
        return self.begin(s, WRITING, k)

    @transition(k="keys")
    def read(self, s: ClientState, k: int) -> Out:
        """Read key ``k`` from its owner in the client's ring."""
        return self.begin(s, READING, k)

    @transition(k="keys")
    def retry(self, s: ClientState, k: int) -> Out:
        """Send the pending request (of key ``k``) again, to the owner in the ring the client knows now."""
        if s.op == IDLE or s.key != k or s.n == 0:  # n == 0: no request was made (unreachable; kept total)
            return None
        return s, (Send(self.p.owner(s.ver, k), self.request(s, k)),)

    def on_message(self, s: ClientState, src: int, msg: Any) -> Out:
        t = type(msg)
        if t is NewRing:
            if msg.ver <= s.ver:
                return None
            return ClientState(msg.ver, s.op, s.key, s.n, s.acked, s.got), ()
        if t is WriteAck:
            if s.op != WRITING or msg.op != s.n or msg.key != s.key:
                return None
            return ClientState(s.ver, IDLE, s.key, s.n, at(s.acked, msg.key, s.n), s.got), ()
        if t is ReadReply:
            if s.op != READING or msg.op != s.n or msg.key != s.key:
                return None
            return ClientState(s.ver, IDLE, s.key, s.n, s.acked, msg.val), ()
        return None


class ConfigService(Node[ConfigState]):
    role = "config"

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.p: HandoffParams = config.params
        self.storage = config.ids("storage")
        self.audience = (*self.storage, *config.ids("client"))

    def state_type(self) -> Type:
        # With one change nobody reports (``Storage.report``): the set stays empty, and its type says so.
        done = SetOf(Int(0, len(self.storage) - 1)) if len(self.p.rings) > 2 else OneOf(frozenset())
        return Record(ConfigState, ver=self.p.version, done=done)

    def on_start(self) -> tuple[ConfigState, Sequence[Effect]]:
        return ConfigState(0, frozenset()), ()

    def may_change(self, s: ConfigState) -> bool:
        """Whether the next change may start: the first at once, a later one once every storage node
        reported the handoffs of the current version done (one handoff at a time)."""
        return s.ver == 0 or all(i in s.done for i in self.storage)

    @transition()
    def change(self, s: ConfigState) -> Out:
        """Publish the next ring version (a membership change)."""
        if s.ver + 1 >= len(self.p.rings) or not self.may_change(s):
            return None
        return ConfigState(s.ver + 1, frozenset()), (Broadcast(self.audience, NewRing(s.ver + 1)),)

    def on_message(self, s: ConfigState, src: int, msg: Any) -> Out:
        if type(msg) is not Settled or msg.ver != s.ver or src in s.done:
            return None
        return ConfigState(s.ver, s.done | {src}), ()


__all__ = [
    "IDLE", "NONE", "NO_READ", "OWN", "READING", "SENDING", "WRITING", "Client", "ClientState", "ConfigService",
    "ConfigState", "HandoffParams", "KeyState", "NewRing", "OpKind", "Read", "ReadReply", "Settled", "Storage",
    "StoreState", "Transfer", "TransferAck", "Write", "WriteAck", "at", "node_configs", "replica_slots",
    "replica_versions", "ring_versions",
]
