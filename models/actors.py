"""Networked protocols as nodes, lifted into a ``Model``: ``ActorSystem``.

``ActorSystem`` lifts nodes (``models/nodes.py``), a network semantics and a fault bound
(``models/networks.py``) into a ``Model`` whose actions are deliver / drop / duplicate /
timeout / crash / recover and the nodes' own steps, interpreting the handlers' effects
(``models/effects.py``).  The runtime interprets the very same effects as socket sends,
timers and sqlite writes.  Its fast path on packed codes is ``models/fastpath.py``.

Every public name of those modules stays importable from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, overload

from . import environment as _env
from .base import _FAIR, Action, Disabled, Model, ModelDefinitionError, marker_of
from .effects import (
    EFFECT_TYPES,
    BoundExceeded,
    Broadcast,
    CancelTimer,
    Effect,
    Envelope,
    Keep,
    Persist,
    Send,
    SetTimer,
    _message_of,
)
from .environment import Clock, sent_now  # a name, not _env.sent_now: see branches.source_def
from .fastpath import CACHE_LIMIT, packed_expander, packed_path_declined, state_expander
from .networks import BagNet, DuplicatingSet, Faults, FifoChannels, FifoNet, Network, UnorderedBag
from .nodes import Node, NodeConfig, NodeIds, peers
from .schema import Id, Int, OneOf, Record, SetOf, Tuple, Type, fields_of

__all__ = [
    "EFFECT_TYPES", "ActorSystem", "BagNet", "BoundExceeded", "Broadcast", "CancelTimer", "DuplicatingSet",
    "Effect", "Envelope", "Faults", "FifoChannels", "FifoNet", "Keep", "Network", "Node", "NodeConfig", "NodeIds",
    "Persist",
    "Send",
    "SetTimer", "Step", "StepInfo", "SysState", "UnorderedBag", "peers",
]

# ----- the lifted model ---------------------------------------------------------------


_NEW = tuple.__new__
_EVERY: Any = object()  # ``in_flight(s)``: no message named


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
    env: Any  # an EnvState: time, partitions, the model's environment value (None: none of them)


@dataclass(frozen=True)
class StepInfo:
    """What one step did, for sequence charts: who acted, what it received and sent."""

    kind: str  # "deliver", "local", "timeout", "crash", "recover", "drop", "duplicate", "env"
    node: int
    received: Envelope | None
    sent: tuple[Envelope, ...]
    label: str


#: An action instance of an actor system: the next state, or None when not enabled.
Step = Callable[..., "SysState | None"]


def constrained_step(f: Step, ok: Callable[[SysState], bool]) -> Step:
    """Step ``f``, not enabled where its successor fails the state constraint ``ok``."""

    def run(s: SysState, info: list[StepInfo] | None = None) -> SysState | None:
        t = f(s, info)
        return t if t is not None and ok(t) else None

    return run


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

    def clock(self) -> Clock | None:
        """Bounded discrete time for this system (None: no time); see ``models.environment.Clock``."""
        return None

    def env_type(self) -> Type | None:
        """The type of the model's own environment value ``s.env.extra`` (None: no such value)."""
        return None

    def env_init(self) -> Any:
        return None

    def envelopes(self) -> Sequence[Envelope] | None:
        """The messages that may ever be in flight; default: every message between any two nodes."""
        return None

    def constraint(self, s: SysState) -> bool:
        """TLC's state CONSTRAINT: a successor failing it is no state of the model (it is neither
        counted nor expanded nor checked; the step leading to it is not enabled).  Default: none.

        How a model bounds an unbounded protocol without touching its handlers (which the
        runtime shares); the successor it judges may lie outside the schema's bounds.
        """
        return True

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
        self._clock = self.clock()
        self._aging = self._clock is not None and self._clock.max_delay is not None
        _env.check_environment(self)
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
        # Without crashes nothing is ever read from disk or marked down, and without recovery nothing
        # is read from disk: those fields keep their initial value, and their types say so (one value).
        crashes = self._faults.max_crashes > 0
        disk = self._faults.keeps_disk
        disk_types = [n.disk_type() if disk else OneOf(n.durable(n.on_start()[0])) for n in self._nodes]
        return Record(
            SysState,
            nodes=Tuple(*(n.state_type() for n in self._nodes), index=index),
            net=net_type,
            timers=Tuple(*(SetOf(OneOf(*n.timers) if n.timers else OneOf(None), n.timers)
                           for n in self._nodes), index=index),
            down=SetOf(node_id) if crashes else OneOf(frozenset()),
            disk=Tuple(*(disk_types), index=index),
            crashes=Int(0, self._faults.max_crashes),
            env=_env.env_type(self),
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
            _env.env_init(self),
        )
        for n, (ls, effects) in zip(self._nodes, started, strict=True):
            s = self._apply_effects(s, n.id, ls, effects)[0]
        return [s]

    # ----- stepping -----
    def _check_result(self, n: Node[Any], handler: str, r: Any) -> tuple[Any, Sequence[Effect]]:
        if type(r) is not tuple or len(r) != 2 or type(r[1]) not in (tuple, list):
            raise ModelDefinitionError(
                f"{type(n).__name__}.{handler} must return (state, effects) with effects a tuple "
                f"of Send/Broadcast/SetTimer/CancelTimer/Persist/Keep, or None; got {r!r}"
            )
        return r

    def _apply_effects(
        self, s: SysState, i: int, ls: Any, effects: Sequence[Effect]
    ) -> tuple[SysState, tuple[Envelope, ...]]:
        nodes = s[0]
        nodes = nodes[:i] + (ls,) + nodes[i + 1 :]
        if not effects:
            return _NEW(SysState, (nodes, s[1], s[2], s[3], s[4], s[5], s[6])), ()
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
                if self._faults.keeps_disk:  # without crashes or recovery the disk is never read
                    disk = disk[:i] + (self._nodes[i].durable(ls),) + disk[i + 1 :]
            elif t is Keep:
                pass  # the delivery did not consume its message (``_deliver``)
            else:
                raise ModelDefinitionError(
                    f"{type(self._nodes[i]).__name__} returned {e!r} as an effect; effects are "
                    "Send, Broadcast, SetTimer, CancelTimer, Persist and Keep"
                )
        net = self._net.add(s.net, sent) if sent else s.net
        tm = s.timers if timers is s.timers[i] else s.timers[:i] + (timers,) + s.timers[i + 1 :]
        env = sent_now(self, s.env, tuple(sent)) if sent and self._aging else s.env
        return _NEW(SysState, (nodes, net, tm, s.down, disk, s.crashes, env)), tuple(sent)

    def _instances(self) -> list[tuple[Action, Step]]:
        """Every action instance with a function ``state -> (next state, StepInfo) | None``."""
        out: list[tuple[Action, Step]] = []
        fam = {name: k for k, name in enumerate(self.action_families)}
        net = self._net
        for n in self._nodes:
            for step_name, fn, insts in n.steps():
                named = n.named_params(step_name)
                for args in insts:
                    shown = tuple((k, self._nodes[v].name if k in named else v) for k, v in args)
                    out.append((
                        Action(step_name, (("node", n.name), *shown), fam[f"{n.role}.{step_name}"]),
                        self._local(n, step_name, fn, tuple(v for _k, v in args)),
                    ))
        for env in self._deliverable:
            dst = self._nodes[env.dst]
            a = Action("deliver", (("src", self._nodes[env.src].name), ("dst", dst.name), ("msg", env.msg)),
                       fam[f"{dst.role}.receive {type(env.msg).__name__}"])
            step = self._deliver(env)
            out.append((a, self._partitioned(step, env.src, env.dst) if self._faults.max_partitions else step))
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
            crashing = [n for n in self._nodes if self._faults.may_crash(n.role)]
            for n in crashing:
                out.append((Action("crash", (("node", n.name),), fam["crash"]), self._crash(n)))
            for n in crashing if self._faults.recovery else ():
                out.append((Action("recover", (("node", n.name),), fam["recover"]), self._recover(n)))
        return out + _env.env_instances(self, fam)

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
            fams += ["crash", "recover"] if self._faults.recovery else ["crash"]
        return fams + _env.env_families(self)

    def fairness(self) -> dict[str, str]:
        """By default, the node steps marked ``@transition(fair=...)``; deliveries and timeouts
        are made fair by family name in an override (``fair_steps`` gives every own step)."""
        out: dict[str, str] = {}
        for n in self._nodes:
            for step_name, _fn, _insts in n.steps():
                kind = marker_of(type(n), step_name, _FAIR)
                if kind is not None:
                    out[f"{n.role}.{step_name}"] = kind
        return out

    def fault_families(self) -> list[str]:
        """Message loss and duplication, crashes and partitions: never fair (recovery and healing may be)."""
        return [f for f in self.action_families if f in ("drop", "duplicate", "crash", "env.split")]

    def fair_steps(self, kind: str = "weak", roles: Sequence[str] | None = None) -> dict[str, str]:
        """A ``fairness()`` making every own step of the nodes (local steps, deliveries, timeouts)
        of ``roles`` (None: every role) fair: each node's instances separately."""
        mine = {n.role for n in self._nodes if roles is None or n.role in roles}
        return {f: kind for f in self.action_families if f.split(".", 1)[0] in mine and "." in f}

    def _partitioned(self, deliver: Step, src: int, dst: int) -> Step:
        """``deliver``, not enabled while a partition separates ``src`` from ``dst``."""
        return _env.across_partition(deliver, src, dst)

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
        clocked = n.reads_clock
        check, apply = self._check_result, self._apply_effects
        no_disk = not self._faults.keeps_disk
        if n.reads_inbox:
            return self._local_inbox(n, name, fn, args)

        def run(s: SysState, info: list[StepInfo] | None = None) -> SysState | None:
            if s[3] and i in s[3]:
                return None
            try:
                r = fn(s[0][i], *args) if not clocked else fn(s[0][i], *args, now=s[6][1][i])
            except Disabled:
                return None
            if r is None:
                return None
            if type(r) is tuple and len(r) == 2 and info is None and (
                r[1] == () or (no_disk and type(r[1]) is tuple and len(r[1]) == 1 and type(r[1][0]) is Persist)
            ):
                # The common case (a local change, no effect) without the general machinery.
                nodes = s[0]
                return _NEW(SysState, (nodes[:i] + (r[0],) + nodes[i + 1 :], s[1], s[2], s[3], s[4], s[5], s[6]))
            ls, effects = check(n, name, r)
            t, sent = apply(s, i, ls, effects)
            if info is not None:
                info.append(StepInfo("local", i, None, sent, name))
            return t

        return run

    def _local_inbox(self, n: Node[Any], name: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> Step:
        """A step that reads every message sent to the node so far (``Node.reads_inbox``)."""
        i = n.id
        clocked = n.reads_clock
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
                    if len(cache) >= CACHE_LIMIT:
                        cache.clear()
                    cache[net] = box
            try:
                r = fn(s[0][i], box, *args) if not clocked else fn(s[0][i], box, *args, now=s[6][1][i])
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

    def deliver_now(self, s: SysState, env: Envelope, info: list[StepInfo] | None = None) -> SysState | None:
        """``s`` after ``env`` is handed to its destination at once, not through the network.

        For ``@environment`` actions that give a node an input from outside the protocol (a
        failure detector's verdict): one step, so no state where the input waits in flight, and
        ``env`` need not be in the universe.  None when the node is down or ignores the message.
        """
        steps = self.__dict__.setdefault("_delivered_now", {})
        step = steps.get(env)
        if step is None:
            step = steps[env] = self._deliver(env, from_net=False)
        return step(s, info)

    def _deliver(self, env: Envelope, from_net: bool = True) -> Step:
        n = self._nodes[env.dst]
        net = self._net
        i, src, msg = env.dst, env.src, env.msg
        clocked = n.reads_clock
        on_message: Callable[..., Any] = n.on_message  # with ``now=`` for a clock-reading node
        label = type(msg).__name__
        check, apply = self._check_result, self._apply_effects
        as_set = type(net) is DuplicatingSet  # the common case, inlined
        keep = as_set or not from_net  # nothing is consumed: a grow-only set, or a delivery now
        no_disk = not self._faults.keeps_disk

        def run(s: SysState, info: list[StepInfo] | None = None) -> SysState | None:
            if from_net and (env not in s[1] if as_set else not net.deliverable(s[1], env)):
                return None
            if s[3] and i in s[3]:
                return None
            try:
                r = on_message(s[0][i], src, msg) if not clocked else on_message(s[0][i], src, msg, now=s[6][1][i])
            except Disabled:
                return None
            if r is None:
                return None
            if keep and type(r) is tuple and len(r) == 2 and info is None and (
                r[1] == () or (no_disk and type(r[1]) is tuple and len(r[1]) == 1 and type(r[1][0]) is Persist)
            ):
                nodes = s[0]
                return _NEW(SysState, (nodes[:i] + (r[0],) + nodes[i + 1 :], s[1], s[2], s[3], s[4], s[5], s[6]))
            ls, effects = check(n, "on_message", r)
            if not keep and not any(type(e) is Keep for e in effects):
                s = s._replace(net=net.consume(s.net, env))
            t, sent = apply(s, i, ls, effects)
            if info is not None:
                info.append(StepInfo("deliver", i, env, sent, label))
            return t

        return run

    def _timeout(self, n: Node[Any], timer: Any) -> Step:
        i = n.id
        clocked = n.reads_clock
        on_timeout: Callable[..., Any] = n.on_timeout

        def run(s: SysState, info: list[StepInfo] | None = None) -> SysState | None:
            if timer not in s.timers[i] or i in s.down:
                return None
            try:
                r = on_timeout(s.nodes[i], timer) if not clocked else on_timeout(s.nodes[i], timer, now=s[6][1][i])
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
            if type(self).constraint is not ActorSystem.constraint:
                inst = [(a, constrained_step(f, self.constraint)) for a, f in inst]
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
        return state_expander(self)

    def code_expander(self) -> Callable[[int], list[tuple[Action, int]]] | None:
        """``expander`` on packed codes, for systems on a ``DuplicatingSet`` without crashes or timers.

        Such a step changes one node's local state and sets bits of the message set, so its
        effect on the code is ``code + (new digit - old digit) * weight + new bits``.  That
        effect depends only on the node's own digit (and, for ``reads_inbox`` nodes, on the
        bits of its inbox), so each handler runs once per local state (per inbox), not once
        per global state.  Handlers are pure (the checker verifies that the same state gives
        the same successors), which makes this a cache, not an approximation.

        The machinery is in ``models/fastpath.py``; this says when it applies.
        """
        stype = self.state_type
        if self.general_path_reason() is not None or not isinstance(stype, Record):
            return None
        return packed_expander(self, stype)

    def general_path_reason(self) -> str | None:
        """Why ``code_expander`` declines (the checker reports it), or None when it applies."""
        return packed_path_declined(self)


    # ----- the vocabulary of properties: the same on every network, and on z3 values -----
    @overload
    def in_flight(self, s: SysState) -> list[Envelope]: ...

    @overload
    def in_flight(self, s: SysState, msg: Any, src: int | None = None, dst: int | None = None) -> bool: ...

    def in_flight(self, s: SysState, msg: Any = _EVERY, src: int | None = None,
                  dst: int | None = None) -> list[Envelope] | bool:
        """With ``msg``: whether it could still be delivered (from ``src``, to ``dst`` where given).
        Without: the messages in flight in ``s``, in the universe's order."""
        if msg is _EVERY:
            return self._net.in_flight(s.net)
        return self._net.has_in_flight(s[1], msg, src, dst)

    def sent(self, s: SysState, msg: Any, src: int | None = None, dst: int | None = None) -> bool:
        """Whether ``msg`` was ever sent (from ``src``, to ``dst`` where given).

        Only a network that keeps every sent message can say (the grow-only ``DuplicatingSet``);
        on the others this is a definition error that says what to use.
        """
        return self._net.sent(s[1], msg, src, dst)

    def delivered(self, s: SysState, msg: Any, src: int | None = None, dst: int | None = None) -> bool:
        """Whether ``msg`` was delivered, where the network records it (none of the shipped ones does)."""
        return self._net.delivered(s[1], msg, src, dst)

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
            if self._faults.keeps_disk:
                out.update({f"disk.{n.name}": s.disk[n.id] for n in self._nodes})
        out.update(_env.describe_env(self, s.env))
        return out
