"""Key handoff on a consistent-hashing ring: moving keys between storage nodes without losing a write.

Storage nodes each own the keys the ring assigns them; a config service publishes ring versions;
a client routes each request by the ring version it knows, which may be stale, as may a node's.
On a membership change (one, from version 0 to 1) the old owner of each moving key hands it to
the new owner:

- on learning the new ring the old owner marks the key ``SENDING`` (durably) and from then on
  neither applies writes nor answers reads for it: it **forwards** them to the key's owner in
  the ring it knows; ``stream`` sends the key's value as ``Transfer`` (again and again, as the
  runtime retransmits);
- the new owner serves the key only once it holds it: it takes a ``Transfer`` by persisting the
  value and then acknowledging it (``TransferAck``); until then requests for the key wait at it
  (the message stays in flight), and a node that is not the owner in its ring forwards them;
- the old owner drops the key only on that acknowledgement.

Writes during the move are forwarded, not written to both: at every moment at most one node
applies writes of a key (``single_authority``), so the order of its writes is that node's order,
with no reconciliation of two copies.  A write carries its operation number and a node keeps
the higher one, so a duplicated or late message never takes a key back.

The ring is abstract: ``keys`` keys (a key stands for its range), owned in version 0 and 1 as
``ring_versions`` says: on ``--change join`` the last storage node joins and takes the last key,
on ``leave`` it leaves and gives its keys away; the other keys stay (minimal movement, which
``models.hashring`` proves of the real ring).  One client issues at most ``max_ops`` operations,
one at a time: a read must return the value of the latest acknowledged write of its key, which
for a sequential client is per-key linearizability (concurrent clients are not modelled: the bugs
here are about where a key's data is, not about racing writers).  Storage nodes may crash and recover: their
whole state is durable (each change is persisted before anything that depends on it is sent);
the client and the config service do not crash.  The network is the grow-only message set.

Properties: ``no_acked_write_lost``, ``reads_see_latest_write``, ``single_authority`` (safety),
``settled`` (``@always_eventually``, under weak fairness of the storage nodes', config
service's and recovery steps: the keys end owned by exactly the nodes the final ring says),
``handoff_during_writes`` (``@sometimes``).  Planted bugs: ``drop-before-ack``,
``route-reads-early``, ``stale-version-write``, ``ack-before-persist``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .actors import ActorSystem, Broadcast, Effect, Envelope, Faults, Node, NodeConfig, Persist, Send, peers
from .base import always, always_eventually, sometimes, transition, variant
from .registry import Protocol
from .schema import Enum, Int, Record, Type, Union, Vec, message

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
    """Old owner -> new owner: ``key`` holds ``val``; take it over."""

    key: int
    val: int


@message
class TransferAck:
    """New owner -> old owner: I hold ``key`` durably; drop it."""

    key: int


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


def ring_versions(nodes: int, keys: int, change: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Owner of each key before and after the change: the last node joins (and takes the last
    key) or leaves (and its keys go round the others); every other key stays where it is."""
    last = nodes - 1
    if change == "join":
        before = tuple(k % last for k in range(keys))
        return before, before[:-1] + (last,)
    after = tuple(k % last for k in range(keys))
    return tuple(last if k == keys - 1 else after[k] for k in range(keys)), after


def _at(t: tuple[Any, ...], k: int, x: Any) -> tuple[Any, ...]:
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
        if s.st[k] != SENDING or dst == self.id:
            return None
        return self.streamed(s, k), (Send(dst, Transfer(k, s.val[k])),)

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
        return StoreState(s.ver, _at(s.st, k, OWN), _at(s.val, k, v)), (Persist(),)

    def on_message(self, s: StoreState, src: int, msg: Any) -> Out:
        t = type(msg)
        if t is NewRing:
            return self.on_ring(s, msg.ver)
        if t is Transfer:
            k = msg.key
            if s.st[k] == OWN:  # held already: acknowledge again (the ack may have been lost)
                return s, (Send(src, TransferAck(k)),)
            if s.st[k] == SENDING:
                return None
            ns, effects = self.received(s, k, msg.val)
            return ns, (*effects, Send(src, TransferAck(k)))
        if t is TransferAck:
            k = msg.key
            if s.st[k] != SENDING:
                return None
            return StoreState(s.ver, _at(s.st, k, NONE), _at(s.val, k, 0)), (Persist(),)
        if t is Write:
            k = msg.key
            if self.applies(s, k):
                if msg.op <= s.val[k]:  # applied already, or older than what it holds: acknowledge only
                    return s, (Send(self.client, WriteAck(k, msg.op)),)
                return (StoreState(s.ver, s.st, _at(s.val, k, msg.op)),
                        (Persist(), Send(self.client, WriteAck(k, msg.op))))
            return self.forward(s, k, msg)
        if t is Read:
            k = msg.key
            if self.answers(s, k):
                return s, (Send(self.client, ReadReply(k, msg.op, s.val[k])),)
            return self.forward(s, k, msg)
        return None

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
            return ClientState(s.ver, IDLE, s.key, s.n, _at(s.acked, msg.key, s.n), s.got), ()
        if t is ReadReply:
            if s.op != READING or msg.op != s.n or msg.key != s.key:
                return None
            return ClientState(s.ver, IDLE, s.key, s.n, s.acked, msg.val), ()
        return None


class Config(Node[ConfigState]):
    role = "config"

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.p: HandoffParams = config.params
        self.audience = (*config.ids("storage"), *config.ids("client"))

    def state_type(self) -> Type:
        return Record(ConfigState, ver=self.p.version)

    def on_start(self) -> tuple[ConfigState, Sequence[Effect]]:
        return ConfigState(0), ()

    @transition()
    def change(self, s: ConfigState) -> Out:
        """Publish the next ring version (the membership change)."""
        if s.ver + 1 >= len(self.p.rings):
            return None
        return ConfigState(s.ver + 1), (Broadcast(self.audience, NewRing(s.ver + 1)),)


@dataclass(frozen=True)
class HandoffConfig:
    nodes: int = 2  # storage nodes
    keys: int = 1  # keys (each stands for a range of the ring)
    change: str = "join"  # the membership change: the last node joins, or leaves
    max_ops: int = 2  # the client's operations (reads and writes)
    max_crashes: int = 0  # storage-node crashes (each may recover)


class Handoff(ActorSystem):
    """Storage nodes hand keys off across one ring change while a client reads and writes."""

    name = "handoff"
    Config = HandoffConfig

    storage_class: type[Storage] = Storage

    def _validate_config(self) -> None:
        c = self.config
        if c.nodes < 2 or c.keys < 1 or c.max_ops < 1:
            raise ValueError("--nodes must be at least 2, --keys and --max-ops at least 1")
        if c.max_crashes < 0:
            raise ValueError("--max-crashes must be at least 0")
        if c.change not in ("join", "leave"):
            raise ValueError(f"--change {c.change}: give join or leave")

    def params(self) -> HandoffParams:
        c = self.config
        return HandoffParams(ring_versions(c.nodes, c.keys, c.change), c.nodes + 1, c.max_ops)

    def faults(self) -> Faults:
        return Faults(max_crashes=self.config.max_crashes, crash_roles=("storage",))

    def nodes(self) -> list[Node[Any]]:
        cfgs = node_configs(self.config.nodes, self.params())
        return [*(self.storage_class(c) for c in cfgs[:-2]), Config(cfgs[-2]), Client(cfgs[-1])]

    def message_type(self) -> Type:
        p = self.params()
        key, op, val = Int(0, len(p.keys) - 1), Int(1, p.max_ops), Int(0, p.max_ops)
        return Union(Record(NewRing, ver=Int(1, len(p.rings) - 1)), Record(Write, key=key, op=op),
                     Record(Read, key=key, op=op), Record(WriteAck, key=key, op=op),
                     Record(ReadReply, key=key, op=op, val=val), Record(Transfer, key=key, val=val),
                     Record(TransferAck, key=key))

    def envelopes(self) -> list[Envelope]:
        """Rings from the config service; requests from the client and forwarded between nodes;
        replies to the client; transfers and their acks between nodes."""
        c = self.config
        storage, config, client = range(c.nodes), c.nodes, c.nodes + 1
        msgs = list(self.message_type().values())
        out = [Envelope(config, d, m) for d in (*storage, client) for m in msgs if type(m) is NewRing]
        for d in storage:
            for src in (client, *(i for i in storage if i != d)):
                out += [Envelope(src, d, m) for m in msgs if type(m) in (Write, Read)]
            out += [Envelope(i, d, m) for i in storage if i != d for m in msgs if type(m) in (Transfer, TransferAck)]
            out += [Envelope(d, client, m) for m in msgs if type(m) in (WriteAck, ReadReply)]
        return out

    def fairness(self) -> dict[str, str]:
        """The storage nodes' and config service's steps and deliveries, and recovery: weakly fair
        (the client may stop at any time; crashes are never fair)."""
        fair = self.fair_steps("weak", roles=("storage", "config"))
        if self.config.max_crashes:
            fair["recover"] = "weak"
        return fair

    # ----- properties -----
    def storage_ids(self) -> range:
        return range(self.config.nodes)

    def key_ids(self) -> range:
        return range(self.config.keys)

    def client_state(self, s: Any) -> ClientState:
        cs: ClientState = s.nodes[self.config.nodes + 1]
        return cs

    @always
    def no_acked_write_lost(self, s: Any) -> bool:
        """Every key's latest acknowledged write is held by some storage node (on its disk if it is down)."""
        c = self.client_state(s)
        return all(any((s.disk[i].val[k] if i in s.down else s.nodes[i].val[k]) >= c.acked[k]
                       for i in self.storage_ids()) for k in self.key_ids())

    @always
    def reads_see_latest_write(self, s: Any) -> bool:
        """A completed read returned its key's latest acknowledged write (the client is sequential)."""
        c = self.client_state(s)
        return all(c.got == NO_READ or c.key != k or c.got == c.acked[k] for k in self.key_ids())

    @always
    def single_authority(self, s: Any) -> bool:
        """At most one storage node owns (applies writes of, answers reads of) each key."""
        return all(not (s.nodes[i].st[k] == OWN and s.nodes[j].st[k] == OWN)
                   for k in self.key_ids() for i in self.storage_ids() for j in self.storage_ids() if i < j)

    @always_eventually
    def settled(self, s: Any) -> bool:
        """Every key is owned by exactly the node the config service's ring says, and held by no other."""
        p = self.params()
        ver = s.nodes[self.config.nodes].ver
        return all(s.nodes[i].st[k] == (OWN if i == p.owner(ver, k) else NONE)
                   for i in self.storage_ids() for k in self.key_ids())

    @sometimes
    def handoff_during_writes(self, s: Any) -> bool:
        """A key was handed off with a write in it, its old owner dropped it, and a later write was
        acknowledged: a handoff completed while writes continued."""
        c = self.client_state(s)
        before, after = self.params().rings
        return any(s.nodes[before[k]].st[k] == NONE and s.nodes[after[k]].st[k] == OWN
                   and any(self.sent(s, Transfer(k, v)) and 0 < v < c.acked[k] for v in range(1, self.config.max_ops))
                   for k in self.key_ids() if before[k] != after[k])


class _DropBeforeAck(Storage):
    def streamed(self, s: StoreState, k: int) -> StoreState:
        return StoreState(s.ver, _at(s.st, k, NONE), _at(s.val, k, 0))


@variant("drop-before-ack", breaks="no_acked_write_lost")
class DropBeforeAck(Handoff):
    """The old owner deletes a key as soon as it has sent it, before the new owner persisted it.

    While the transfer is in flight no node holds the key's acknowledged writes."""

    storage_class = _DropBeforeAck


class _RouteReadsEarly(Storage):
    def answers(self, s: StoreState, k: int) -> bool:
        return s.st[k] == OWN or (s.st[k] == NONE and self.p.owner(s.ver, k) == self.id)


@variant("route-reads-early", breaks="reads_see_latest_write")
class RouteReadsEarly(Handoff):
    """The new owner answers reads of a key its ring gives it before the transfer arrived.

    It returns what it has, not the latest acknowledged write."""

    storage_class = _RouteReadsEarly


class _StaleVersionWrite(Storage):
    def applies(self, s: StoreState, k: int) -> bool:
        return s.st[k] != NONE  # while it still holds the key, though it handed it off


@variant("stale-version-write", breaks=("no_acked_write_lost", "reads_see_latest_write"))
class StaleVersionWrite(Handoff):
    """The old owner applies a write of a key it has handed off (it still holds it).

    The new owner took the value sent before, and the acknowledged write goes with the old copy."""

    storage_class = _StaleVersionWrite


class _AckBeforePersist(Storage):
    def received(self, s: StoreState, k: int, v: int) -> tuple[StoreState, Sequence[Effect]]:
        return StoreState(s.ver, _at(s.st, k, OWN), _at(s.val, k, v)), ()


@variant("ack-before-persist", breaks="no_acked_write_lost")
class AckBeforePersist(Handoff):
    """The new owner acknowledges a transfer it holds only in memory, not on disk.

    The old owner drops the key, the new owner crashes and recovers without it.  Needs
    ``--max-crashes 1`` (its default here)."""

    @dataclass(frozen=True)
    class Config(HandoffConfig):
        max_crashes: int = 1

    storage_class = _AckBeforePersist


__all__ = [
    "IDLE", "NONE", "OWN", "PROTOCOL", "READING", "SENDING", "WRITING", "AckBeforePersist", "Client",
    "ClientState", "Config", "ConfigState", "DropBeforeAck", "Handoff", "HandoffConfig", "HandoffParams", "NewRing",
    "Read", "ReadReply", "RouteReadsEarly", "StaleVersionWrite", "Storage", "StoreState", "Transfer", "TransferAck",
    "Write", "WriteAck", "node_configs", "ring_versions",
]

PROTOCOL = Protocol("handoff", f"{__name__}:Handoff",
                    summary="moving keys between storage nodes across a ring change without losing a write",
                    strengthening="protoproof.proofs.handoff:strengthening")
