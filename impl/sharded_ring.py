"""The sharded store's ring versions, as the handoff model's nodes see them at run time.

The model (``models/handoff.py``) speaks of keys that each stand for a range of the ring, and
of ring versions given as "owner of each key".  The runtime makes that concrete:

- a model key is a **bucket**: user keys hash (``hashring.position``) into ``buckets`` fixed
  buckets, and bucket ``b`` sits on the ring at ``position("bucket-b")`` (Dynamo's fixed
  partitions): its owner in a ring version is ``Ring.owner`` of that position;
- a ring version is a membership (storage node ids) over the real ``hashring.Ring`` with
  ``vnodes`` virtual nodes each.  The versions are kept in ``rings.json`` in the cluster
  directory, appended to by ``cluster sharded --join/--leave`` and read by every node: the
  config service publishes a version (``NewRing``) only once it is in the file, so a node
  that learns a version always finds it there.

``RingHistory`` is the ``rings`` of ``HandoffParams`` (a sequence of owner tuples, one per
version), so the model's handlers run unchanged; ``ShardedRun`` is the model a trace replays
through: ``Handoff`` with these rings and unbounded operation numbers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from ..models.actors import Effect, Envelope, Faults, Node, Persist
from ..models.base import Refinement, transition
from ..models.handoff import Handoff, HandoffConfig
from ..models.handoff_nodes import (
    Client,
    ClientState,
    ConfigService,
    ConfigState,
    HandoffParams,
    NewRing,
    Read,
    ReadReply,
    Settled,
    Transfer,
    TransferAck,
    Write,
    WriteAck,
    node_configs,
    replica_slots,
)
from ..models.hashring import Ring, position
from ..models.schema import Int, Record, SetOf, Type, Union

BIG = 2**53
RINGS_FILE = "rings.json"


def bucket_of(key: str, buckets: int) -> int:
    """The bucket (model key) of a user key."""
    return position(key) % buckets


def bucket_point(b: int) -> str:
    """What bucket ``b``'s ring position is the hash of."""
    return f"bucket-{b}"


def owners(members: Sequence[int], buckets: int, vnodes: int) -> tuple[int, ...]:
    """The owner of each bucket on the ring of ``members``."""
    ring = Ring.of(members, vnodes=vnodes)
    return tuple(ring.owner(bucket_point(b)) for b in range(buckets))


def preferences(members: Sequence[int], buckets: int, vnodes: int, replicas: int) -> list[tuple[int, ...]]:
    """Each bucket's preference list: the ``replicas`` distinct nodes after its point on the ring."""
    ring = Ring.of(members, vnodes=vnodes)
    return [ring.preference_list(bucket_point(b), replicas) for b in range(buckets)]


def slot_of(replica: int, bucket: int, buckets: int) -> int:
    """The model key of replica ``replica`` of ``bucket``: slot ``replica * buckets + bucket``."""
    return replica * buckets + bucket


def slot_owners(versions: Sequence[Sequence[int]], buckets: int, vnodes: int,
                replicas: int) -> list[tuple[int, ...]]:
    """The owner of each slot (``slot_of``) in each ring version: the buckets' preference lists
    with stable slots (``replica_slots``: a node that stays keeps its slot).  With one replica,
    ``owners`` of each version."""
    if replicas == 1:
        return [owners(m, buckets, vnodes) for m in versions]
    out: list[tuple[int, ...]] = []
    prev: list[tuple[int, ...] | None] = [None] * buckets
    for m in versions:
        prev = [replica_slots(a, pref) for a, pref in zip(prev, preferences(m, buckets, vnodes, replicas),
                                                            strict=True)]
        out.append(tuple(prev[b][p] for p in range(replicas) for b in range(buckets)))  # type: ignore[index]
    return out


def write_rings(directory: Path, doc: dict[str, Any]) -> None:
    """Replace ``rings.json`` atomically (readers see the old or the new file, never a torn one)."""
    tmp = directory / f".{RINGS_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, directory / RINGS_FILE)


def init_rings(directory: Path, members: Sequence[int], buckets: int, vnodes: int, replicas: int = 1) -> None:
    """Write version 0 if there is no ``rings.json`` yet (every node calls this at start)."""
    if not (directory / RINGS_FILE).exists():
        write_rings(directory, {"buckets": buckets, "vnodes": vnodes, "replicas": replicas,
                                "versions": [list(members)]})


def read_rings(directory: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((directory / RINGS_FILE).read_text())
    return doc


def change_membership(directory: Path, storage: Sequence[int], join: bool, node: int | None) -> list[int]:
    """Append the next ring version: the first storage node not in the ring joins (``join``), or
    ``node`` leaves.  Returns the new membership; a one-line ``ValueError`` when it cannot."""
    doc = read_rings(directory)
    cur = list(doc["versions"][-1])
    if join:
        spare = [i for i in storage if i not in cur]
        if not spare:
            raise ValueError(f"every storage node is in the ring already ({len(storage)} nodes); "
                             "create the cluster with more --spares to join more")
        new = sorted([*cur, spare[0] if node is None else node])
        if node is not None and node not in spare:
            raise ValueError(f"node {node} cannot join: it is in the ring or no storage node (spares: {spare})")
    else:
        if node not in cur:
            raise ValueError(f"--leave {node}: not a member of the ring (members: {cur})")
        if len(cur) == 1:
            raise ValueError("the last member of the ring cannot leave")
        if len(cur) <= int(doc.get("replicas", 1)):
            raise ValueError(f"--leave {node}: the ring would have fewer members than the {doc['replicas']} "
                             "replicas of each bucket")
        new = [i for i in cur if i != node]
    doc["versions"].append(new)
    write_rings(directory, doc)
    return new


class RingHistory(Sequence[tuple[int, ...]]):
    """The ring versions in ``rings.json``, as owner tuples (re-read when the file changes)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._stamp: tuple[int, int] | None = None
        self._members: list[list[int]] = []
        self._owners: dict[int, tuple[int, ...]] = {}
        self.buckets = self.vnodes = 0
        self.replicas = 1
        self._load()

    def _load(self) -> None:
        st = os.stat(self.directory / RINGS_FILE)
        stamp = (st.st_mtime_ns, st.st_ino)
        if stamp == self._stamp:
            return
        doc = read_rings(self.directory)
        self.buckets, self.vnodes = int(doc["buckets"]), int(doc["vnodes"])
        self.replicas = int(doc.get("replicas", 1))
        members = [list(m) for m in doc["versions"]]
        if members[:len(self._members)] != self._members:
            self._owners.clear()  # only appends are expected; anything else: start over
        self._members, self._stamp = members, stamp

    def members(self, ver: int) -> list[int]:
        if ver >= len(self._members):
            self._load()
        return self._members[ver]

    def __len__(self) -> int:
        self._load()
        return len(self._members)

    @overload
    def __getitem__(self, ver: int) -> tuple[int, ...]: ...

    @overload
    def __getitem__(self, ver: slice) -> Sequence[tuple[int, ...]]: ...

    def __getitem__(self, ver: int | slice) -> Any:
        if isinstance(ver, slice):
            return [self[v] for v in range(*ver.indices(len(self)))]
        if ver < 0:
            ver += len(self)
        out = self._owners.get(ver)
        if out is None:
            self.members(ver)
            for v, o in enumerate(slot_owners(self._members[:ver + 1], self.buckets, self.vnodes, self.replicas)):
                self._owners[v] = o  # slots depend on the versions before (``replica_slots``)
            out = self._owners[ver]
        return out

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        return (self[v] for v in range(len(self)))


@dataclass(frozen=True, eq=False)
class RunParams(HandoffParams):
    """``HandoffParams`` with the ring versions of ``rings.json`` and no bound on operations."""

    def owner(self, ver: Any, key: int) -> int:
        return self.rings[ver][key]

    @property
    def keys(self) -> range:
        if isinstance(self.rings, RingHistory):
            return range(self.rings.buckets * self.rings.replicas)
        return super().keys

    @property
    def version(self) -> Type:
        return Int(0, BIG)


def run_params(directory: str | Path, storage: int) -> RunParams:
    """The nodes' parameters: storage nodes ``0..storage-1``, the config service, then the router."""
    return RunParams(RingHistory(directory), storage + 1, BIG)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ShardedConfig(HandoffConfig):
    directory: str = ""  # the cluster directory (its rings.json)


def persisted(out: Any, before: Any) -> Any:
    """A handler's result with a ``Persist`` first whenever it changes the state."""
    if out is None or out[0] == before:
        return out
    return out[0], (Persist(), *out[1])


class RunClient(Client):
    """The model's client made durable for the router: every state change is persisted before
    anything that depends on it is sent, so a kill -9 and restart leaves the state the node had
    after its last step, with every message it sent still in the network (the model's network is
    a grow-only set): to the other nodes indistinguishable from a pause.  The checked model's
    client does not crash; this is why the runtime's may."""

    def disk_type(self) -> Type:
        return self.state_type()

    def durable(self, s: ClientState) -> ClientState:
        return s

    def on_recover(self, disk: ClientState) -> tuple[ClientState, Sequence[Effect]]:
        return disk, ()

    def begin(self, s: ClientState, kind: str, k: int) -> Any:
        return persisted(super().begin(s, kind, k), s)

    def on_message(self, s: ClientState, src: int, msg: Any) -> Any:
        return persisted(super().on_message(s, src, msg), s)


class RunConfigService(ConfigService):
    """The config service made durable (as ``RunClient``: persisted before it sends), with its
    report set typed for any number of ring versions (the model's type says "no reports" while
    there are two versions; at run time a third may come)."""

    def state_type(self) -> Type:
        return Record(ConfigState, ver=self.p.version, done=SetOf(Int(0, len(self.storage) - 1)))

    def disk_type(self) -> Type:
        return self.state_type()

    def durable(self, s: ConfigState) -> ConfigState:
        return s

    def on_recover(self, disk: ConfigState) -> tuple[ConfigState, Sequence[Effect]]:
        return disk, ()

    @transition()
    def change(self, s: ConfigState) -> Any:
        return persisted(super().change(s), s)

    def on_message(self, s: ConfigState, src: int, msg: Any) -> Any:
        return persisted(super().on_message(s, src, msg), s)


class ShardedRun(Handoff):
    """The model a sharded-store trace replays through: ``Handoff`` with ``rings.json``'s ring
    versions over ``keys`` buckets, and unbounded operation numbers."""

    name = "sharded-run"
    Config = ShardedConfig
    config_class = RunConfigService

    def params(self) -> HandoffParams:
        return run_params(self.config.directory, self.config.nodes)

    def message_type(self) -> Type:
        return run_message_type(self.config.keys)

    def nodes(self) -> list[Node[Any]]:
        """The model's nodes, with the durable client (the router) and config service."""
        *rest, _client = super().nodes()
        return [*rest, RunClient(node_configs(self.config.nodes, self.params())[-1])]

    def faults(self) -> Faults:
        """Any node may crash and recover: the router's and config service's state is durable too."""
        return Faults(max_crashes=self.config.max_crashes, crash_roles=("storage", "config", "client"))

    def envelopes(self) -> list[Envelope]:
        return []  # unbounded: a replay adds what was sent, nothing is enumerated

    def refinements(self) -> list[Refinement]:
        return []


def run_message_type(buckets: int) -> Type:
    key, op, ver = Int(0, buckets - 1), Int(0, BIG), Int(0, BIG)
    return Union(Record(NewRing, ver=ver), Record(Write, key=key, op=op), Record(Read, key=key, op=op),
                 Record(WriteAck, key=key, op=op), Record(ReadReply, key=key, op=op, val=op),
                 Record(Transfer, ver=ver, key=key, val=op), Record(TransferAck, ver=ver, key=key),
                 Record(Settled, ver=ver))


__all__ = ["BIG", "RINGS_FILE", "RingHistory", "RunClient", "RunConfigService", "RunParams", "ShardedRun", "bucket_of",
           "bucket_point", "change_membership", "init_rings", "owners", "persisted", "preferences", "read_rings",
           "run_message_type", "run_params", "slot_of", "slot_owners"]
