"""Networked protocols as nodes: pure handlers returning ``(state, effects)``.

A node never touches a socket or a clock: its handlers (``on_start``, ``on_message``,
``on_timeout`` and guarded spontaneous steps marked ``@transition``) return the next local
state and a tuple of effect values.  ``ActorSystem`` lifts nodes, a network semantics (a
value) and a fault bound into a ``Model`` whose actions are deliver / drop / duplicate /
timeout / crash / recover and the nodes' own steps.  The runtime interprets the very same
effects as socket sends, timers and sqlite writes.

A handler returns ``None`` when the message or step does not apply in its state: the
corresponding action is then not enabled (the runtime ignores such a message).
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from .base import _TRANSITION, Action, Disabled, Model, ModelDefinitionError, domain_values, marker_of
from .schema import BagOf, Channels, Id, Int, OneOf, Record, SchemaError, Seq, SetOf, Tuple, Type, fields_of

L = TypeVar("L")

# ----- effects ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``msg`` to node ``dst``."""

    dst: int
    msg: Any


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send ``msg`` to each node in ``dsts`` (in that order)."""

    dsts: tuple[int, ...]
    msg: Any


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Arm a named timer; its expiry is the node's ``on_timeout(state, timer)``."""

    timer: Any


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer: Any


@dataclass(frozen=True, slots=True)
class Persist:
    """Make the durable part of the new state survive a crash, before any later send."""


Effect = Send | Broadcast | SetTimer | CancelTimer | Persist
EFFECT_TYPES = (Send, Broadcast, SetTimer, CancelTimer, Persist)


class Envelope(NamedTuple):
    """A message in flight."""

    src: int
    dst: int
    msg: Any


def _message_of(e: Envelope) -> Any:
    return e.msg


class BoundExceeded(Exception):
    """A network bound (channel capacity, copies of a message) would be exceeded."""


# ----- nodes --------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeConfig:
    """What a node is told about its world: its id and name, its peers' ids by role, the parameters.

    A value, not a reference to the system (Stateright's actors get ``peer_ids``): the
    ``ActorSystem`` and the runtime build the same kind of value, so a node runs unchanged in
    both.  ``params`` is whatever the protocol's nodes read (a frozen dataclass, say).
    """

    id: int
    name: str
    peers: tuple[tuple[str, tuple[int, ...]], ...] = ()
    params: Any = None

    def ids(self, role: str) -> tuple[int, ...]:
        """The ids of the nodes of ``role`` (a node is among them if it has that role)."""
        for r, ids in self.peers:
            if r == role:
                return ids
        raise KeyError(f"node {self.name} was given no peers of role {role!r} (it has {[r for r, _ in self.peers]})")


def peers(**by_role: Sequence[int]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """``NodeConfig.peers`` from keyword arguments: ``peers(acceptor=range(3), leader=(3, 4))``."""
    return tuple((role, tuple(ids)) for role, ids in by_role.items())


class Node(Generic[L]):
    """One role of a protocol; subclass it and write pure handlers."""

    #: Role name, e.g. ``"rm"``; nodes of one role with ``symmetric = True`` are interchangeable.
    role: ClassVar[str] = "node"
    symmetric: ClassVar[bool] = False
    #: Names of the timers this role may arm (their universe).
    timers: ClassVar[tuple[Any, ...]] = ()
    #: Per timer, the range ``(lo, hi)`` in seconds the runtime draws its delay from (uniformly,
    #: from an injectable seeded generator); the model ignores delays: any armed timer may fire.
    timer_ranges: ClassVar[dict[Any, tuple[float, float]]] = {}
    #: Steps receive ``(state, inbox, **params)``, inbox = every message sent to this node so
    #: far.  Only on a ``DuplicatingSet`` (where nothing is consumed) is that exactly what the
    #: node has received, as in TLA+ specs whose actions read the message set.
    reads_inbox: ClassVar[bool] = False
    #: With ``reads_inbox``: the message types its steps read (None: all).  The inbox holds only
    #: these, so a message it never reads is not an input of its steps (and the z3 backend's
    #: forking run does not branch on it).
    inbox_types: ClassVar[tuple[type, ...] | None] = None

    def in_inbox(self, e: Envelope) -> bool:
        """Whether envelope ``e`` is in this node's inbox once sent (with ``reads_inbox``)."""
        return e.dst == self.id and (self.inbox_types is None or type(e.msg) in self.inbox_types)

    def __init__(self, config: NodeConfig | int, name: str | None = None) -> None:
        if not isinstance(config, NodeConfig):
            config = NodeConfig(config, name or f"{self.role}{config}")
        self.config = config
        self.id = config.id
        self.name = config.name

    def state_type(self) -> Type:
        raise ModelDefinitionError(f"{type(self).__name__} must define state_type()")

    def on_start(self) -> tuple[L, Sequence[Effect]]:
        raise ModelDefinitionError(f"{type(self).__name__} must define on_start()")

    def on_message(self, s: L, src: int, msg: Any) -> tuple[L, Sequence[Effect]] | None:
        return None

    def on_timeout(self, s: L, timer: Any) -> tuple[L, Sequence[Effect]] | None:
        return None

    # Durability: what survives a crash.  The default keeps nothing and restarts afresh.
    def disk_type(self) -> Type:
        return OneOf(None)

    def durable(self, s: L) -> Any:
        return None

    def on_recover(self, disk: Any) -> tuple[L, Sequence[Effect]]:
        return self.on_start()

    def steps(self) -> list[tuple[str, Callable[..., Any], list[tuple[tuple[str, Any], ...]]]]:
        """The role's spontaneous steps with their parameter instances, in definition order."""
        names: list[str] = []
        for klass in reversed(type(self).__mro__):
            for attr, val in klass.__dict__.items():
                if callable(val) and hasattr(val, _TRANSITION) and attr not in names:
                    names.append(attr)
        out = []
        for attr in names:
            fn = getattr(self, attr)
            domains = marker_of(type(self), attr, _TRANSITION)
            skip = 2 if self.reads_inbox else 1  # state (and inbox)
            params = list(inspect.signature(fn).parameters)[skip:]
            missing = [p for p in params if p not in domains]
            if missing:
                raise ModelDefinitionError(
                    f"{type(self).__name__}.{attr}: parameter {missing[0]!r} has no domain; "
                    f"write @transition({missing[0]}=...) with a finite iterable or a node attribute name"
                )
            values = [domain_values(self, attr, p, domains[p]) for p in params]
            insts = [tuple(zip(params, combo, strict=True)) for combo in itertools.product(*values)]
            out.append((attr, fn, insts))
        return out


# ----- network semantics --------------------------------------------------------------


class Network:
    """How messages travel.  A value: the same node code runs on any of them."""

    lossy: bool = False

    def describe(self) -> str:
        raise NotImplementedError

    def type(self, universe: Sequence[Envelope], env_type: Type) -> Type:
        raise NotImplementedError

    def empty(self) -> Any:
        raise NotImplementedError

    def add(self, net: Any, envs: Sequence[Envelope]) -> Any:
        raise NotImplementedError

    def deliverable(self, net: Any, env: Envelope) -> bool:
        raise NotImplementedError

    def consume(self, net: Any, env: Envelope) -> Any:
        raise NotImplementedError

    def can_duplicate(self, net: Any, env: Envelope) -> bool:
        return False

    def duplicate(self, net: Any, env: Envelope) -> Any:
        raise NotImplementedError

    def in_flight(self, net: Any) -> list[Envelope]:
        raise NotImplementedError


class DuplicatingSet(Network):
    """A set of messages that only grows: any sent message may be received any number of times.

    This is the network of the TLA+ specifications (``msgs' = msgs \\cup {m}``).  With
    ``lossy=True`` a message may also be lost for good.
    """

    def __init__(self, lossy: bool = False) -> None:
        self.lossy = lossy
        self._index: dict[Envelope, int] = {}

    def describe(self) -> str:
        return "unordered, duplicating" + (", lossy" if self.lossy else "")

    def type(self, universe: Sequence[Envelope], env_type: Type) -> Type:
        self._index = {e: k for k, e in enumerate(universe)}
        return SetOf(env_type, universe, name="envelopes")

    def empty(self) -> frozenset[Envelope]:
        return frozenset()

    def add(self, net: Any, envs: Sequence[Envelope]) -> Any:
        return net.union(envs)

    def deliverable(self, net: Any, env: Envelope) -> bool:
        return env in net

    def consume(self, net: Any, env: Envelope) -> Any:
        return net

    def drop(self, net: Any, env: Envelope) -> Any:
        return net - {env}

    def in_flight(self, net: Any) -> list[Envelope]:
        return sorted(net, key=self._index.__getitem__)


class UnorderedBag(Network):
    """A multiset: a delivered message is consumed; at most ``max_copies`` of one in flight."""

    def __init__(self, max_copies: int = 1, lossy: bool = False, duplicating: bool = False) -> None:
        self.max_copies, self.lossy, self.duplicating = max_copies, lossy, duplicating
        self._index: dict[Envelope, int] = {}
        self._universe: Sequence[Envelope] = ()

    def describe(self) -> str:
        extra = (", lossy" if self.lossy else "") + (", duplicating" if self.duplicating else "")
        return f"unordered multiset (at most {self.max_copies} copies){extra}"

    def type(self, universe: Sequence[Envelope], env_type: Type) -> Type:
        self._universe = list(universe)
        self._index = {e: k for k, e in enumerate(universe)}
        return BagOf(env_type, universe, self.max_copies)

    def empty(self) -> tuple[int, ...]:
        return (0,) * len(self._universe)

    def _bump(self, net: Any, env: Envelope, by: int) -> Any:
        try:
            k = self._index[env]
        except KeyError:
            raise SchemaError(f"{env!r} is not in the declared message universe") from None
        c = net[k] + by
        if c > self.max_copies:
            raise BoundExceeded(
                f"{env!r} would have {c} copies in flight (max_copies={self.max_copies}); raise the bound"
            )
        return net[:k] + (c,) + net[k + 1 :]

    def add(self, net: Any, envs: Sequence[Envelope]) -> Any:
        for e in envs:
            net = self._bump(net, e, 1)
        return net

    def deliverable(self, net: Any, env: Envelope) -> bool:
        return net[self._index[env]] > 0

    def consume(self, net: Any, env: Envelope) -> Any:
        return self._bump(net, env, -1)

    def drop(self, net: Any, env: Envelope) -> Any:
        return self._bump(net, env, -1)

    def can_duplicate(self, net: Any, env: Envelope) -> bool:
        return self.duplicating and 0 < net[self._index[env]] < self.max_copies

    def duplicate(self, net: Any, env: Envelope) -> Any:
        return self._bump(net, env, 1)

    def in_flight(self, net: Any) -> list[Envelope]:
        return [e for e, c in zip(self._universe, net, strict=True) for _ in range(c)]


class FifoChannels(Network):
    """One FIFO queue per (src, dst) pair, holding at most ``capacity`` messages."""

    def __init__(self, capacity: int = 2, lossy: bool = False) -> None:
        self.capacity, self.lossy = capacity, lossy
        self._channels: list[tuple[int, int]] = []
        self._chan: dict[tuple[int, int], int] = {}

    def describe(self) -> str:
        return f"FIFO per channel (capacity {self.capacity})" + (", lossy" if self.lossy else "")

    def type(self, universe: Sequence[Envelope], env_type: Type) -> Type:
        self._channels = sorted({(e.src, e.dst) for e in universe})
        self._chan = {c: k for k, c in enumerate(self._channels)}
        msg_type = env_type.fields["msg"] if isinstance(env_type, Record) else env_type
        src = env_type.fields["src"] if isinstance(env_type, Record) else None
        space = src.space if isinstance(src, Id) else "node"
        return Channels(self._channels, Seq(msg_type, self.capacity), space)

    def empty(self) -> tuple[tuple[Any, ...], ...]:
        return ((),) * len(self._channels)

    def add(self, net: Any, envs: Sequence[Envelope]) -> Any:
        for e in envs:
            k = self._chan.get((e.src, e.dst))
            if k is None:
                raise SchemaError(f"{e!r} is not in the declared message universe")
            q = net[k]
            if len(q) >= self.capacity:
                raise BoundExceeded(
                    f"channel {e.src}->{e.dst} would hold {len(q) + 1} messages "
                    f"(capacity={self.capacity}); raise the bound"
                )
            net = net[:k] + (q + (e.msg,),) + net[k + 1 :]
        return net

    def deliverable(self, net: Any, env: Envelope) -> bool:
        k = self._chan.get((env.src, env.dst))
        return k is not None and bool(net[k]) and net[k][0] == env.msg

    def consume(self, net: Any, env: Envelope) -> Any:
        k = self._chan[(env.src, env.dst)]
        return net[:k] + (net[k][1:],) + net[k + 1 :]

    def drop(self, net: Any, env: Envelope) -> Any:
        return self.consume(net, env)

    def in_flight(self, net: Any) -> list[Envelope]:
        return [Envelope(s, d, m) for (s, d), q in zip(self._channels, net, strict=True) for m in q]


@dataclass(frozen=True)
class Faults:
    """Bounded faults: at most ``max_crashes`` crashes in a run (each node may recover)."""

    max_crashes: int = 0


# ----- the lifted model ---------------------------------------------------------------


_NEW = tuple.__new__


class _Unusual(Exception):
    """Something the packed expander does not handle; the general path reports it."""


_CACHE_LIMIT = 1 << 18


class _Label(str):
    """A string shown without quotes in counterexamples."""

    def __repr__(self) -> str:
        return str(self)


class SysState(NamedTuple):
    """The global state of an actor system."""

    nodes: tuple[Any, ...]
    net: Any
    timers: tuple[frozenset[Any], ...]
    down: frozenset[int]
    disk: tuple[Any, ...]
    crashes: int


@dataclass(frozen=True)
class StepInfo:
    """What one step did, for sequence charts: who acted, what it received and sent."""

    kind: str  # "deliver", "local", "timeout", "crash", "recover", "drop", "duplicate"
    node: int
    received: Envelope | None
    sent: tuple[Envelope, ...]
    label: str


#: An action instance of an actor system: the next state, or None when not enabled.
Step = Callable[..., "SysState | None"]


class ActorSystem(Model[SysState]):
    """Nodes + network + faults as a ``Model``.  Subclasses build ``nodes()`` from the config."""

    #: The message kinds (a ``Union`` of ``Record``s), used for the schema and the codec.
    def message_type(self) -> Type:
        raise ModelDefinitionError(f"{type(self).__name__} must define message_type()")

    def nodes(self) -> list[Node[Any]]:
        raise ModelDefinitionError(f"{type(self).__name__} must define nodes()")

    def network(self) -> Network:
        return DuplicatingSet()

    def faults(self) -> Faults:
        return Faults()

    def envelopes(self) -> Sequence[Envelope] | None:
        """The messages that may ever be in flight; default: every message between any two nodes."""
        return None

    # -----
    def schema(self) -> Type:
        self._nodes = self.nodes()
        for k, n in enumerate(self._nodes):
            if n.id != k:
                raise ModelDefinitionError(f"node {n.name} has id {n.id} but is listed at position {k}")
        names = [n.name for n in self._nodes]
        if len(set(names)) != len(names):
            raise ModelDefinitionError(f"node names must be distinct: {names}")
        self._by_name = {n.name: n for n in self._nodes}
        for n in self._nodes:
            for timer, (lo, hi) in n.timer_ranges.items():
                if timer not in n.timers or not 0 <= lo <= hi:
                    raise ModelDefinitionError(f"{type(n).__name__}.timer_ranges[{timer!r}] = ({lo}, {hi}): each "
                                               "must be a timer of `timers` with 0 <= lo <= hi (seconds)")
        self._net = self.network()
        self._faults = self.faults()
        k = len(self._nodes)
        node_id = Id("node", k)
        msg_type = self.message_type()
        env_type = Record(Envelope, src=node_id, dst=node_id, msg=msg_type)
        universe = self.envelopes()
        if universe is None:
            universe = [
                Envelope(s, d, m)
                for s in range(k)
                for d in range(k)
                if s != d
                for m in msg_type.values()
            ]
        self._universe = list(universe)
        self._msg_type = msg_type
        self._inbox_universe = [[e for e in self._universe if n.in_inbox(e)] for n in self._nodes]
        # Nodes that read their inbox are not sent their messages one by one.
        self._deliverable = [e for e in self._universe if not self._nodes[e.dst].reads_inbox]
        if any(n.reads_inbox for n in self._nodes) and not isinstance(self._net, DuplicatingSet):
            raise ModelDefinitionError(
                "nodes with reads_inbox = True read every message sent to them so far, which is only "
                "their knowledge on a DuplicatingSet network; keep the received messages in the node's "
                "state for other networks"
            )
        net_type = self._net.type(self._universe, env_type)
        index = "node" if self._symmetric_groups() else None
        # Without crashes nothing is ever read from disk or marked down: those fields keep
        # their initial value, and their types say so (one value each).
        crashes = self._faults.max_crashes > 0
        disk_types = [n.disk_type() if crashes else OneOf(n.durable(n.on_start()[0])) for n in self._nodes]
        return Record(
            SysState,
            nodes=Tuple(*(n.state_type() for n in self._nodes), index=index),
            net=net_type,
            timers=Tuple(*(SetOf(OneOf(*n.timers) if n.timers else OneOf(None), n.timers)
                           for n in self._nodes), index=index),
            down=SetOf(node_id) if crashes else OneOf(frozenset()),
            disk=Tuple(*(disk_types), index=index),
            crashes=Int(0, self._faults.max_crashes),
        )

    def _symmetric_groups(self) -> list[list[int]]:
        groups: dict[tuple[type, str], list[int]] = {}
        for n in self._nodes:
            if n.symmetric:
                groups.setdefault((type(n), n.role), []).append(n.id)
        return list(groups.values())

    def symmetry(self) -> dict[str, list[list[int]]] | None:
        groups = self._symmetric_groups()
        return {"node": groups} if groups else None

    def node(self, key: int | str) -> Node[Any]:
        return self._nodes[key] if isinstance(key, int) else self._by_name[key]

    @property
    def node_list(self) -> list[Node[Any]]:
        return list(self._nodes)

    def init(self) -> Iterable[SysState]:
        started = [self._check_result(n, "on_start", n.on_start()) for n in self._nodes]
        s = SysState(
            tuple(ls for ls, _e in started),
            self._net.empty(),
            tuple(frozenset() for _n in self._nodes),
            frozenset(),
            tuple(n.durable(ls) for n, (ls, _e) in zip(self._nodes, started, strict=True)),
            0,
        )
        for n, (ls, effects) in zip(self._nodes, started, strict=True):
            s = self._apply_effects(s, n.id, ls, effects)[0]
        return [s]

    # ----- stepping -----
    def _check_result(self, n: Node[Any], handler: str, r: Any) -> tuple[Any, Sequence[Effect]]:
        if type(r) is not tuple or len(r) != 2 or type(r[1]) not in (tuple, list):
            raise ModelDefinitionError(
                f"{type(n).__name__}.{handler} must return (state, effects) with effects a tuple "
                f"of Send/Broadcast/SetTimer/CancelTimer/Persist, or None; got {r!r}"
            )
        return r

    def _apply_effects(
        self, s: SysState, i: int, ls: Any, effects: Sequence[Effect]
    ) -> tuple[SysState, tuple[Envelope, ...]]:
        nodes = s[0]
        nodes = nodes[:i] + (ls,) + nodes[i + 1 :]
        if not effects:
            return _NEW(SysState, (nodes, s[1], s[2], s[3], s[4], s[5])), ()
        sent: list[Envelope] = []
        timers = s.timers[i]
        disk = s.disk
        for e in effects:
            t = type(e)
            if t is Send:
                sent.append(Envelope(i, e.dst, e.msg))  # type: ignore[union-attr]
            elif t is Broadcast:
                sent.extend([Envelope(i, d, e.msg) for d in e.dsts])  # type: ignore[union-attr]
            elif t is SetTimer:
                timers = timers | {e.timer}  # type: ignore[union-attr]
            elif t is CancelTimer:
                timers = timers - {e.timer}  # type: ignore[union-attr]
            elif t is Persist:
                if self._faults.max_crashes:  # without crashes the disk is never read
                    disk = disk[:i] + (self._nodes[i].durable(ls),) + disk[i + 1 :]
            else:
                raise ModelDefinitionError(
                    f"{type(self._nodes[i]).__name__} returned {e!r} as an effect; effects are "
                    "Send, Broadcast, SetTimer, CancelTimer and Persist"
                )
        net = self._net.add(s.net, sent) if sent else s.net
        tm = s.timers if timers is s.timers[i] else s.timers[:i] + (timers,) + s.timers[i + 1 :]
        return _NEW(SysState, (nodes, net, tm, s.down, disk, s.crashes)), tuple(sent)

    def _instances(self) -> list[tuple[Action, Step]]:
        """Every action instance with a function ``state -> (next state, StepInfo) | None``."""
        out: list[tuple[Action, Step]] = []
        fam = {name: k for k, name in enumerate(self.action_families)}
        net = self._net
        for n in self._nodes:
            for step_name, fn, insts in n.steps():
                for args in insts:
                    out.append((
                        Action(step_name, (("node", n.name), *args), fam[f"{n.role}.{step_name}"]),
                        self._local(n, step_name, fn, tuple(v for _k, v in args)),
                    ))
        for env in self._deliverable:
            dst = self._nodes[env.dst]
            a = Action("deliver", (("src", self._nodes[env.src].name), ("dst", dst.name), ("msg", env.msg)),
                       fam[f"{dst.role}.receive {type(env.msg).__name__}"])
            out.append((a, self._deliver(env)))
        for n in self._nodes:
            for timer in n.timers:
                out.append((Action("timeout", (("node", n.name), ("timer", timer)), fam[f"{n.role}.timeout"]),
                            self._timeout(n, timer)))
        if net.lossy:
            for env in self._universe:
                a = Action("drop", (("src", self._nodes[env.src].name), ("dst", self._nodes[env.dst].name),
                                    ("msg", env.msg)), fam["drop"])
                out.append((a, self._drop(env)))
        if isinstance(net, UnorderedBag) and net.duplicating:
            for env in self._universe:
                a = Action("duplicate", (("src", self._nodes[env.src].name), ("dst", self._nodes[env.dst].name),
                                         ("msg", env.msg)), fam["duplicate"])
                out.append((a, self._duplicate(env)))
        if self._faults.max_crashes:
            for n in self._nodes:
                out.append((Action("crash", (("node", n.name),), fam["crash"]), self._crash(n)))
            for n in self._nodes:
                out.append((Action("recover", (("node", n.name),), fam["recover"]), self._recover(n)))
        return out

    @property
    def action_families(self) -> list[str]:
        fams: list[str] = []
        for n in self._nodes:
            for step_name, _fn, _insts in n.steps():
                f = f"{n.role}.{step_name}"
                if f not in fams:
                    fams.append(f)
        for env in self._deliverable:
            f = f"{self._nodes[env.dst].role}.receive {type(env.msg).__name__}"
            if f not in fams:
                fams.append(f)
        for n in self._nodes:
            if n.timers and f"{n.role}.timeout" not in fams:
                fams.append(f"{n.role}.timeout")
        if self._net.lossy:
            fams.append("drop")
        if isinstance(self._net, UnorderedBag) and self._net.duplicating:
            fams.append("duplicate")
        if self._faults.max_crashes:
            fams += ["crash", "recover"]
        return fams

    def inbox(self, s: SysState, i: int) -> frozenset[Any]:
        """The messages in flight to node ``i`` (what it has received, on a duplicating network),
        of its ``inbox_types``.

        On a symbolic message set (the z3 backend) the inbox is the set's own membership bits
        for the envelopes addressed to ``i`` (``net.image``), so building it asks nothing: run
        forking, a step that never reads its inbox has one path, not one per possible inbox.
        """
        net, mine = s[1], self._inbox_universe[i]
        if type(net) is not frozenset:  # duck-typed: models/ does not import the checker
            return net.image(mine, _message_of)
        return frozenset(e.msg for e in mine if e in net)

    def _local(self, n: Node[Any], name: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> Step:
        i = n.id
        check, apply = self._check_result, self._apply_effects
        no_disk = not self._faults.max_crashes
        if n.reads_inbox:
            return self._local_inbox(n, name, fn, args)

        def run(s: SysState, info: list[StepInfo] | None = None) -> SysState | None:
            if s[3] and i in s[3]:
                return None
            try:
                r = fn(s[0][i], *args)
            except Disabled:
                return None
            if r is None:
                return None
            if type(r) is tuple and len(r) == 2 and info is None and (
                r[1] == () or (no_disk and type(r[1]) is tuple and len(r[1]) == 1 and type(r[1][0]) is Persist)
            ):
                # The common case (a local change, no effect) without the general machinery.
                nodes = s[0]
                return _NEW(SysState, (nodes[:i] + (r[0],) + nodes[i + 1 :], s[1], s[2], s[3], s[4], s[5]))
            ls, effects = check(n, name, r)
            t, sent = apply(s, i, ls, effects)
            if info is not None:
                info.append(StepInfo("local", i, None, sent, name))
            return t

        return run

    def _local_inbox(self, n: Node[Any], name: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> Step:
        """A step that reads every message sent to the node so far (``Node.reads_inbox``)."""
        i = n.id
        inbox = self.inbox
        cache: dict[Any, frozenset[Any]] = {}

        def run(s: SysState, info: list[StepInfo] | None = None) -> SysState | None:
            if s[3] and i in s[3]:
                return None
            net = s[1]
            concrete = type(net) is frozenset  # a symbolic set (z3 backend) is neither hashed nor cached
            box = cache.get(net) if concrete else None
            if box is None:
                box = inbox(s, i)
                if concrete:
                    if len(cache) >= _CACHE_LIMIT:
                        cache.clear()
                    cache[net] = box
            try:
                r = fn(s[0][i], box, *args)
            except Disabled:
                return None
            if r is None:
                return None
            ls, effects = self._check_result(n, name, r)
            t, sent = self._apply_effects(s, i, ls, effects)
            if info is not None:
                info.append(StepInfo("local", i, None, sent, name))
            return t

        return run

    def _deliver(self, env: Envelope) -> Step:
        n = self._nodes[env.dst]
        net = self._net
        i, src, msg = env.dst, env.src, env.msg
        on_message = n.on_message
        label = type(msg).__name__
        check, apply = self._check_result, self._apply_effects
        as_set = type(net) is DuplicatingSet  # the common case, inlined
        no_disk = not self._faults.max_crashes

        def run(s: SysState, info: list[StepInfo] | None = None) -> SysState | None:
            if as_set:
                if env not in s[1]:
                    return None
            elif not net.deliverable(s[1], env):
                return None
            if s[3] and i in s[3]:
                return None
            try:
                r = on_message(s[0][i], src, msg)
            except Disabled:
                return None
            if r is None:
                return None
            if as_set and type(r) is tuple and len(r) == 2 and info is None and (
                r[1] == () or (no_disk and type(r[1]) is tuple and len(r[1]) == 1 and type(r[1][0]) is Persist)
            ):
                nodes = s[0]
                return _NEW(SysState, (nodes[:i] + (r[0],) + nodes[i + 1 :], s[1], s[2], s[3], s[4], s[5]))
            ls, effects = check(n, "on_message", r)
            if not as_set:
                s = s._replace(net=net.consume(s.net, env))
            t, sent = apply(s, i, ls, effects)
            if info is not None:
                info.append(StepInfo("deliver", i, env, sent, label))
            return t

        return run

    def _timeout(self, n: Node[Any], timer: Any) -> Step:
        i = n.id

        def run(s: SysState, info: list[StepInfo] | None = None) -> SysState | None:
            if timer not in s.timers[i] or i in s.down:
                return None
            try:
                r = n.on_timeout(s.nodes[i], timer)
            except Disabled:
                return None
            if r is None:
                return None
            ls, effects = self._check_result(n, "on_timeout", r)
            s = s._replace(timers=s.timers[:i] + (s.timers[i] - {timer},) + s.timers[i + 1 :])
            t, sent = self._apply_effects(s, i, ls, effects)
            if info is not None:
                info.append(StepInfo("timeout", i, None, sent, f"timeout {timer!r}"))
            return t

        return run

    def _drop(self, env: Envelope) -> Step:
        net = self._net

        def run(s: SysState, info: list[StepInfo] | None = None) -> SysState | None:
            if not net.deliverable(s.net, env):
                return None
            if info is not None:
                info.append(StepInfo("drop", env.dst, env, (), "drop"))
            return s._replace(net=net.drop(s.net, env))  # type: ignore[attr-defined]

        return run

    def _duplicate(self, env: Envelope) -> Step:
        net = self._net

        def run(s: SysState, info: list[StepInfo] | None = None) -> SysState | None:
            if not net.can_duplicate(s.net, env):
                return None
            if info is not None:
                info.append(StepInfo("duplicate", env.dst, env, (), "duplicate"))
            return s._replace(net=net.duplicate(s.net, env))

        return run

    def _crash(self, n: Node[Any]) -> Step:
        i = n.id

        def run(s: SysState, info: list[StepInfo] | None = None) -> SysState | None:
            if i in s.down or s.crashes >= self._faults.max_crashes:
                return None
            if info is not None:
                info.append(StepInfo("crash", i, None, (), "crash"))
            return s._replace(
                down=s.down | {i},
                timers=s.timers[:i] + (frozenset(),) + s.timers[i + 1 :],
                crashes=s.crashes + 1,
            )

        return run

    def _recover(self, n: Node[Any]) -> Step:
        i = n.id

        def run(s: SysState, info: list[StepInfo] | None = None) -> SysState | None:
            if i not in s.down:
                return None
            ls, effects = self._check_result(n, "on_recover", n.on_recover(s.disk[i]))
            t = s._replace(down=s.down - {i})
            t, sent = self._apply_effects(t, i, ls, effects)
            if info is not None:
                info.append(StepInfo("recover", i, None, sent, "recover"))
            return t

        return run

    def __init__(self, config: Any = None, **params: Any) -> None:
        super().__init__(config, **params)
        self._compiled()  # node steps and their domains are checked now, not at the first step

    # ----- the Model interface -----
    def _compiled(self) -> list[tuple[Action, Step]]:
        inst = self.__dict__.get("_inst")
        if inst is None:
            inst = self._instances()
            self.__dict__["_inst"] = inst
        return inst

    def _collect_actions(self) -> list[Any]:
        return []

    def actions(self) -> list[Action]:
        return [a for a, _f in self._compiled()]

    def step(self, s: SysState, action: Action) -> SysState | None:
        table = self.__dict__.get("_by_action")
        if table is None:
            table = dict(self._compiled())
            self.__dict__["_by_action"] = table
        t: SysState | None = table[action](s)
        return t

    def successors(self, s: SysState) -> Iterator[tuple[Action, SysState]]:
        for a, f in self._compiled():
            t = f(s)
            if t is not None:
                yield a, t

    def expander(self) -> Callable[[SysState], list[tuple[Action, SysState]]]:
        """The instances in ``_compiled()`` order, but deliveries looked up per network value.

        Many states share their messages in flight, so which deliveries are enabled is
        computed once per distinct network value instead of testing every envelope of the
        universe in every state.
        """
        inst = self._compiled()
        k = sum(len(insts) for n in self._nodes for _name, _fn, insts in n.steps())
        before, deliveries = inst[:k], inst[k : k + len(self._deliverable)]
        after = inst[k + len(self._deliverable) :]
        assert all(a.name == "deliver" for a, _f in deliveries)
        universe, net_sem = self._deliverable, self._net
        cache: dict[Any, list[tuple[Action, Step]]] = {}

        def expand(s: SysState) -> list[tuple[Action, SysState]]:
            out = []
            for a, f in before:
                t = f(s)
                if t is not None:
                    out.append((a, t))
            net = s[1]
            ready = cache.get(net)
            if ready is None:
                ready = [d for env, d in zip(universe, deliveries, strict=True) if net_sem.deliverable(net, env)]
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[net] = ready
            for a, f in ready:
                t = f(s)
                if t is not None:
                    out.append((a, t))
            for a, f in after:
                t = f(s)
                if t is not None:
                    out.append((a, t))
            return out

        return expand

    def code_expander(self) -> Callable[[int], list[tuple[Action, int]]] | None:
        """``expander`` on packed codes, for systems on a ``DuplicatingSet`` without crashes or timers.

        Such a step changes one node's local state and sets bits of the message set, so its
        effect on the code is ``code + (new digit - old digit) * weight + new bits``.  That
        effect depends only on the node's own digit (and, for ``reads_inbox`` nodes, on the
        bits of its inbox), so each handler runs once per local state (per inbox), not once
        per global state.  Handlers are pure (the checker verifies that the same state gives
        the same successors), which makes this a cache, not an approximation.

        Anything unusual while filling the cache (a handler that raises, a local state or a
        message outside the schema, a timer) propagates: the checker then re-runs that state
        through ``expander`` to report it with its state and action.
        """
        stype = self.state_type
        net_sem = self._net
        if (
            type(net_sem) is not DuplicatingSet
            or self._faults.max_crashes
            or any(n.timers for n in self._nodes)
            or not isinstance(stype, Record)
            or stype.cls is not SysState
            or any(p.size != 1 for p in stype.parts[2:])
            or type(self).expander is not ActorSystem.expander
            or type(self)._instances is not ActorSystem._instances
        ):
            return None
        nodes_t, net_t = stype.parts[0], stype.parts[1]
        assert isinstance(nodes_t, Tuple) and isinstance(net_t, SetOf)
        ns = nodes_t.size
        sizes = [p.size for p in nodes_t.parts]
        weights = list(nodes_t._radix)
        bit_of = {e: k for k, e in enumerate(net_t.universe)}
        packers = [p.packer(True) for p in nodes_t.parts]
        unpackers = [p.unpacker(True) for p in nodes_t.parts]
        check = self._check_result
        Entry = tuple[Action, int, int]  # action, change of the code's node part, bits sent

        def entry(n: Node[Any], handler: str, a: Action, d: int, fn: Callable[..., Any], *args: Any) -> Entry | None:
            """What running ``fn`` in local state ``d`` does to a code (None: not enabled)."""
            try:
                r = fn(*args)
            except Disabled:
                return None
            if r is None:
                return None
            ls, effects = check(n, handler, r)
            sent: list[Envelope] = []
            for e in effects:
                t = type(e)
                if t is Send:
                    sent.append(Envelope(n.id, e.dst, e.msg))  # type: ignore[union-attr]
                elif t is Broadcast:
                    sent.extend(Envelope(n.id, dst, e.msg) for dst in e.dsts)  # type: ignore[union-attr]
                elif t is not Persist and t is not CancelTimer:  # no disk, no timers: no-ops
                    raise _Unusual(f"{e!r} as an effect")
            mask = net_t.pack(frozenset(sent)) if sent else 0
            return a, (packers[n.id](ls) - d) * weights[n.id], mask

        def local_steps(n: Node[Any], acts: list[Action]) -> Callable[[int, int], list[Entry]]:
            steps = [(name, fn, tuple(v for _k, v in args)) for name, fn, insts in n.steps() for args in insts]
            mine = [(k, e.msg) for e, k in bit_of.items() if n.in_inbox(e)]

            def compute(d: int, net: int) -> list[Entry]:
                ls = unpackers[n.id](d)
                lead = (ls, frozenset(m for k, m in mine if net >> k & 1)) if n.reads_inbox else (ls,)
                out = [entry(n, name, a, d, fn, *lead, *args) for (name, fn, args), a in zip(steps, acts, strict=True)]
                return [x for x in out if x is not None]

            return compute

        # Node steps, in the order of ``_compiled()``: (node, inbox bits, cache, compute).
        inst = self._compiled()
        locals_: list[tuple[int, int, dict[Any, list[Entry]], Callable[[int, int], list[Entry]]]] = []
        pos = 0
        for n in self._nodes:
            count = sum(len(insts) for _name, _fn, insts in n.steps())
            if count:
                inbox_bits = sum(1 << k for e, k in bit_of.items() if n.in_inbox(e)) if n.reads_inbox else 0
                locals_.append((n.id, inbox_bits, {}, local_steps(n, [a for a, _f in inst[pos : pos + count]])))
            pos += count

        def delivery(env: Envelope, a: Action) -> Callable[[int], Entry | None]:
            n = self._nodes[env.dst]
            return lambda d: entry(n, "on_message", a, d, n.on_message, unpackers[n.id](d), env.src, env.msg)

        # Deliveries by bit of the message set: (destination, compute, cache); drops for lossy sets.
        Ready = tuple[int, Callable[[int], Entry | None], dict[int, Entry | None]]
        dels: dict[int, Ready] = {bit_of[e]: (e.dst, delivery(e, a), {})
                for e, (a, _f) in zip(self._deliverable, inst[pos : pos + len(self._deliverable)], strict=True)}
        drops = [a for a, _f in inst if a.name == "drop"] if net_sem.lossy else []
        ready_cache: dict[int, list[Ready]] = {}
        limit = _CACHE_LIMIT

        def ready_for(net: int) -> list[Ready]:
            ready = []
            for k, (i, compute, cache) in sorted(dels.items()):
                if net >> k & 1:
                    ready.append((i, compute, cache))
            if len(ready_cache) >= limit:
                ready_cache.clear()
            ready_cache[net] = ready
            return ready

        def expand(code: int) -> list[tuple[Action, int]]:
            net, rest = divmod(code, ns)
            digits = []
            for r in sizes:
                rest, d = divmod(rest, r)
                digits.append(d)
            out = []
            for i, inbox_bits, cache, compute in locals_:
                key = (digits[i], net & inbox_bits) if inbox_bits else digits[i]
                ents = cache.get(key)
                if ents is None:
                    ents = compute(digits[i], net)
                    if len(cache) >= limit:
                        cache.clear()
                    cache[key] = ents
                for a, dn, mask in ents:
                    out.append((a, code + dn + ((net | mask) - net) * ns if mask else code + dn))
            ready = ready_cache.get(net)
            if ready is None:
                ready = ready_for(net)
            for dst, deliver, known in ready:
                d = digits[dst]
                try:
                    hit = known[d]
                except KeyError:
                    hit = known[d] = deliver(d)
                if hit is not None:
                    a, dn, mask = hit
                    out.append((a, code + dn + ((net | mask) - net) * ns if mask else code + dn))
            for k, a in enumerate(drops):
                if net >> k & 1:
                    out.append((a, code - (ns << k)))
            return out

        return expand

    def in_flight(self, s: SysState) -> list[Envelope]:
        """The messages in flight in ``s``, in the universe's order."""
        return self._net.in_flight(s.net)

    def envelope_label(self, e: Envelope) -> str:
        return _Label(f"{self._nodes[e.src].name}->{self._nodes[e.dst].name}: {e.msg!r}")

    def step_info(self, s: SysState, action: Action) -> StepInfo:
        """Re-run one action and say what it did (for sequence charts)."""
        for a, f in self._compiled():
            if a == action:
                info: list[StepInfo] = []
                if f(s, info) is None:
                    raise ValueError(f"{action!r} is not enabled in {s!r}")
                return info[0]
        raise ValueError(f"no action {action!r}")

    def describe_state(self, s: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n in self._nodes:
            ls = s.nodes[n.id]
            fields = fields_of(ls)
            if fields:
                out.update({f"{n.name}.{k}": v for k, v in fields.items()})
            else:
                out[n.name] = ls
        out["net"] = [self.envelope_label(e) for e in self._net.in_flight(s.net)]
        if any(s.timers):
            out["timers"] = {self._nodes[k].name: sorted(t, key=repr) for k, t in enumerate(s.timers) if t}
        if self._faults.max_crashes:
            out["down"] = sorted(self._nodes[k].name for k in s.down)
            out.update({f"disk.{n.name}": s.disk[n.id] for n in self._nodes})
        return out
