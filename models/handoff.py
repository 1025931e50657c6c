"""Key handoff on a consistent-hashing ring: moving keys between storage nodes without losing a write.

Storage nodes each own the keys the ring assigns them; a config service publishes ring versions;
a client routes each request by the ring version it knows, which may be stale, as may a node's.
On a membership change the old owner of each moving key hands it to the new owner:

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

Successive changes (``--changes 2``: the key goes there and back) need two more rules: the config
service publishes the next ring only once every node reported its handoffs of the current one
done (``Settled``; one handoff at a time), and transfers and their acks carry the ring version,
so that a late copy of an earlier handoff is neither taken (``unversioned-transfer``) nor counted.

Replication (``--replicas R``): each key has R *slots*, slot ``p`` being its ``p``-th replica, and
each slot is one key of this protocol with its own owner per version (``replica_versions``: the
key's preference list of R distinct nodes, a node that stays keeping its slot, a newcomer taking
a leaver's, so a change that alters the preference set by one node moves one slot).  What is
checked for R > 1 is therefore exactly the R = 1 protocol over R x keys slots: single authority
*per slot*, no acknowledged write of a slot lost, a read of a slot sees that slot's latest
acknowledged write.  That a replicated write is acknowledged only once every one of its R slots
acknowledged it, and that reads go to slot 0 (R_q = 1, W = R), is the runtime's composition
(``impl/sharded.py``), not a step of this model.

The ring is abstract: ``keys`` keys (a key stands for its range), owned in each version as
``ring_versions`` says: on ``--change join`` the last storage node joins and takes the last key,
on ``leave`` it leaves and gives its keys away; the other keys stay (minimal movement, which
``models.hashring`` proves of the real ring).  One client issues at most ``max_ops`` operations,
one at a time: a read must return the value of the latest acknowledged write of its key, which
for a sequential client is per-key linearizability (concurrent clients are not modelled: the bugs
here are about where a key's data is, not about racing writers).  Storage nodes may crash and
recover: their whole state is durable (each change is persisted before anything that depends on
it is sent); the client and the config service do not crash.  The network is the grow-only
message set.

Properties: ``no_acked_write_lost``, ``reads_see_latest_write``, ``single_authority`` (safety),
``settled`` (``@always_eventually``, under weak fairness of the storage nodes', config
service's and recovery steps: the keys end owned by exactly the nodes the final ring says),
``handoff_during_writes`` (``@sometimes``).  Planted bugs: ``drop-before-ack``,
``route-reads-early``, ``stale-version-write``, ``ack-before-persist``, ``unversioned-transfer``,
``ungated-change``.
"""


from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .actors import ActorSystem, Effect, Envelope, Faults, Node
from .base import always, always_eventually, sometimes, variant
from .handoff_nodes import (
    IDLE,
    NO_READ,
    NONE,
    OWN,
    READING,
    SENDING,
    WRITING,
    Client,
    ClientState,
    ConfigService,
    ConfigState,
    HandoffParams,
    NewRing,
    Read,
    ReadReply,
    Settled,
    Storage,
    StoreState,
    Transfer,
    TransferAck,
    Write,
    WriteAck,
    at,
    node_configs,
    replica_versions,
    ring_versions,
)
from .registry import Protocol
from .schema import Int, Record, Type, Union


@dataclass(frozen=True)
class HandoffConfig:
    nodes: int = 2  # storage nodes
    keys: int = 1  # keys (each stands for a range of the ring)
    change: str = "join"  # the membership change: the last node joins, or leaves
    changes: int = 1  # how many changes (after the first, the last node leaves and joins in turn)
    max_ops: int = 2  # the client's operations (reads and writes)
    max_crashes: int = 0  # storage-node crashes (each may recover)
    replicas: int = 1  # replicas of each key: R slots per key, each a key of the protocol (``replica_versions``)


class Handoff(ActorSystem):
    """Storage nodes hand keys off across ring changes while a client reads and writes."""

    name = "handoff"
    Config = HandoffConfig

    storage_class: type[Storage] = Storage
    config_class: type[ConfigService] = ConfigService

    def _validate_config(self) -> None:
        c = self.config
        if c.nodes < 2 or c.keys < 1 or c.max_ops < 1:
            raise ValueError("--nodes must be at least 2, --keys and --max-ops at least 1")
        if c.max_crashes < 0 or c.changes < 1:
            raise ValueError("--max-crashes must be at least 0, --changes at least 1")
        if not 1 <= c.replicas <= c.nodes - 1:
            raise ValueError(f"--replicas {c.replicas}: give 1 to {c.nodes - 1} (the smaller ring's members)")
        if c.change not in ("join", "leave"):
            raise ValueError(f"--change {c.change}: give join or leave")

    def params(self) -> HandoffParams:
        c = self.config
        rings = (ring_versions(c.nodes, c.keys, c.change, c.changes) if c.replicas == 1
                 else replica_versions(c.nodes, c.keys, c.change, c.changes, c.replicas))
        return HandoffParams(rings, c.nodes + 1, c.max_ops)

    def faults(self) -> Faults:
        return Faults(max_crashes=self.config.max_crashes, crash_roles=("storage",))

    def nodes(self) -> list[Node[Any]]:
        cfgs = node_configs(self.config.nodes, self.params())
        return [*(self.storage_class(c) for c in cfgs[:-2]), self.config_class(cfgs[-2]), Client(cfgs[-1])]

    def message_type(self) -> Type:
        p = self.params()
        key, op, val, new = Int(0, len(p.keys) - 1), Int(1, p.max_ops), Int(0, p.max_ops), Int(1, len(p.rings) - 1)
        kinds = [Record(NewRing, ver=new), Record(Write, key=key, op=op), Record(Read, key=key, op=op),
                 Record(WriteAck, key=key, op=op), Record(ReadReply, key=key, op=op, val=val),
                 Record(Transfer, ver=new, key=key, val=val), Record(TransferAck, ver=new, key=key)]
        if len(p.rings) > 2:  # the last version is never reported: no change follows it
            kinds.append(Record(Settled, ver=Int(1, len(p.rings) - 2)))
        return Union(*kinds)

    def envelopes(self) -> list[Envelope]:
        """Rings from the config service and reports to it; requests from the client and forwarded
        between nodes; replies to the client; transfers and their acks between nodes."""
        c = self.config
        storage, config, client = range(c.nodes), c.nodes, c.nodes + 1
        msgs = list(self.message_type().values())
        out = [Envelope(config, d, m) for d in (*storage, client) for m in msgs if type(m) is NewRing]
        for d in storage:
            for src in (client, *(i for i in storage if i != d)):
                out += [Envelope(src, d, m) for m in msgs if type(m) in (Write, Read)]
            out += [Envelope(i, d, m) for i in storage if i != d for m in msgs if type(m) in (Transfer, TransferAck)]
            out += [Envelope(d, client, m) for m in msgs if type(m) in (WriteAck, ReadReply)]
            out += [Envelope(d, config, m) for m in msgs if type(m) is Settled]
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
        """The protocol's keys: ``keys`` keys, times ``replicas`` slots each."""
        return range(self.config.keys * self.config.replicas)

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
        before, after = self.params().rings[:2]
        return any(s.nodes[before[k]].st[k] == NONE and s.nodes[after[k]].st[k] == OWN
                   and any(self.sent(s, Transfer(1, k, v)) and 0 < v < c.acked[k]
                           for v in range(1, self.config.max_ops))
                   for k in self.key_ids() if before[k] != after[k])


class _DropBeforeAck(Storage):
    def streamed(self, s: StoreState, k: int) -> StoreState:
        return StoreState(s.ver, at(s.st, k, NONE), at(s.val, k, 0))


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
        return StoreState(s.ver, at(s.st, k, OWN), at(s.val, k, v)), ()


@variant("ack-before-persist", breaks="no_acked_write_lost")
class AckBeforePersist(Handoff):
    """The new owner acknowledges a transfer it holds only in memory, not on disk.

    The old owner drops the key, the new owner crashes and recovers without it.  Needs
    ``--max-crashes 1`` (its default here)."""

    @dataclass(frozen=True)
    class Config(HandoffConfig):
        max_crashes: int = 1

    storage_class = _AckBeforePersist


class _UnversionedTransfer(Storage):
    def takes(self, s: StoreState, ver: int) -> bool:
        return True  # a transfer of any handoff, however old


@variant("unversioned-transfer", breaks="single_authority")
class UnversionedTransfer(Handoff):
    """A node takes a transfer without looking at its ring version.

    A late copy of an earlier handoff makes it the key's owner again, beside the node it handed
    the key back to.  Needs two changes (``--changes 2``, its default here): the key goes there and back."""

    @dataclass(frozen=True)
    class Config(HandoffConfig):
        changes: int = 2

    storage_class = _UnversionedTransfer


class _UngatedConfig(ConfigService):
    def may_change(self, s: ConfigState) -> bool:
        return True


@variant("ungated-change", breaks="settled")
class UngatedChange(Handoff):
    """The config service publishes the next ring while handoffs of the last one are under way.

    A node handing a key off learns that the key comes back to it and waits for it forever.
    Needs two changes (``--changes 2``, its default here; about 800,000 states, 2 minutes)."""

    @dataclass(frozen=True)
    class Config(HandoffConfig):
        changes: int = 2

    config_class = _UngatedConfig


__all__ = [
    "IDLE", "NONE", "OWN", "PROTOCOL", "READING", "SENDING", "WRITING", "AckBeforePersist", "Client", "ClientState",
    "ConfigService", "ConfigState", "DropBeforeAck", "Handoff", "HandoffConfig", "HandoffParams", "NewRing", "Read",
    "ReadReply", "RouteReadsEarly", "Settled", "StaleVersionWrite", "Storage", "StoreState", "Transfer",
    "TransferAck", "UngatedChange", "UnversionedTransfer", "Write", "WriteAck", "node_configs", "ring_versions",
]

PROTOCOL = Protocol("handoff", f"{__name__}:Handoff",
                    summary="moving keys between storage nodes across ring changes without losing a write",
                    strengthening="protoproof.proofs.handoff:strengthening",
                    service="protoproof.impl.sharded:SERVICE")
