"""Environment actions: system-level steps that belong to no node (time passing, partitions).

An ``ActorSystem`` state has one ``env`` part: ``None`` (one value, so free of cost) unless the
system declares what moves it, and then an ``EnvState``: real time ``now``, each node's clock,
the ages of messages in flight, the current partition and a model's own environment value.

- ``clock()`` returning a ``Clock``: the ``tick()`` action advances real time, ``clock(node=...)``
  advances one node's clock, within the declared drift bound; nodes with ``reads_clock = True``
  get their clock as the keyword ``now=`` in every handler but ``on_start``/``on_recover`` (no
  wall clock in a transition); ``Clock(max_delay=d)`` also bounds message delay;
- ``faults()`` returning ``Faults(max_partitions=k)``: ``split(groups=...)`` cuts the nodes into
  groups (at most ``k`` times in a run) and ``heal()`` joins them; a message between groups
  stays in flight, undelivered, while the partition stands;
- methods marked ``@environment(param=domain, ...)``: ``(self, s, **params) -> next state |
  None``, guarded with ``require`` like a ``@transition``; they may read the whole state and
  change ``s.env.extra`` (typed by ``env_type()``, initially ``env_init()``) or the network.

They come after every node action, in that order (tick, clocks, split, heal, then the
``@environment`` methods in definition order), with action reprs that are valid Python
(``split(groups=(('a',), ('b', 'c')))``).  The functions below build them for
``ActorSystem._instances``; the explicit checker, the z3 backend and the sequence chart run them
as they run any action.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from .base import Action, Disabled, ModelDefinitionError, marker_of, parameter_combos
from .networks import UnorderedBag
from .schema import Int, OneOf, Record, Tuple, Type

if TYPE_CHECKING:
    from .actors import ActorSystem

_ENVIRONMENT = "_pp_environment"


def environment(
    **domains: str | Type | Callable[[Any], Iterable[Any]] | Iterable[Any],
) -> Callable[[Callable[..., Any]], Any]:
    """Mark an ``ActorSystem`` method ``(self, s, **params) -> next state | None`` as an environment action.

    Each parameter needs a finite domain, as for ``@transition``.
    """

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, _ENVIRONMENT, dict(domains))
        return fn

    return mark


@dataclass(frozen=True)
class Clock:
    """Bounded discrete time: real time ``now`` in ``0..max_time`` and one clock per node.

    The drift bound is a *skew* bound: at every real time each clock of a node that reads its
    clock is within ``drift`` ticks of ``now`` (``|clock_i - now| <= drift``), and clocks are
    monotonic.  ``tick()`` advances ``now`` by one and drags every clock that would fall more
    than ``drift`` behind; ``clock(node=n)`` advances one clock by one while it stays at most
    ``drift`` ahead.  Every monotonic unit-step clock within the bound is a run, so a property
    proved here holds for any rates whose accumulated error stays within ``drift`` over
    ``max_time``.  A skew bound rather than a rate bound because it is what lease arguments use
    (a lease is safe when its margin covers the skew between two clocks and the message delay),
    it needs no fractions, and a rate bound ``rho`` over ``max_time`` implies skew
    ``rho * max_time``.  Nodes that do not read their clock keep ``clock == now``.

    ``max_delay``: messages are delivered (or dropped) within that many ticks.  Each message in
    flight has an age, 0 when sent, one more at each tick; a tick is not enabled while a message
    of age ``max_delay`` is in flight.  It needs an ``UnorderedBag(max_copies=1)`` network (one
    age per message of the universe) and no symmetry reduction.
    """

    max_time: int
    drift: int = 0
    max_delay: int | None = None

    def __post_init__(self) -> None:
        if self.max_time < 0 or self.drift < 0:
            raise ModelDefinitionError(f"{self}: max_time and drift must be >= 0")

    def floor(self, now: Any) -> Any:
        """The lowest a clock may read at real time ``now`` (a tick drags a clock up to it)."""
        return now - self.drift

    def may_advance(self, clock: Any, now: Any) -> Any:
        """Whether a clock reading ``clock`` may step to ``clock + 1`` at real time ``now``."""
        return clock + 1 <= now + self.drift


class EnvState(NamedTuple):
    """The environment's part of an actor system's state."""

    now: int
    clocks: tuple[int, ...]
    ages: tuple[int, ...]  # ticks each message of the universe has been in flight (``Clock.max_delay``)
    groups: tuple[int, ...]  # partition: nodes with equal labels can talk; () when there are none
    splits: int  # partitions so far
    extra: Any  # the model's own environment value (``ActorSystem.env_type``)


def uses_env(sys: ActorSystem) -> bool:
    """Whether ``SysState.env`` is an ``EnvState``; without time, partitions or a model's own
    environment it is ``None``: one value, so it costs nothing (a check of ``None`` when packed)."""
    return bool(sys._clock or sys._faults.max_partitions or sys.env_type() is not None or _declared(sys))


def env_type(sys: ActorSystem) -> Type:
    """The schema of ``SysState.env``."""
    if not uses_env(sys):
        return OneOf(None)
    n = len(sys._nodes)
    clock, parts = sys._clock, sys._faults.max_partitions
    extra = sys.env_type()
    return Record(
        EnvState,
        now=Int(0, clock.max_time) if clock else OneOf(0),
        clocks=Tuple(*(Int(0, clock.max_time + clock.drift) for _n in range(n)), index="node")
        if clock else OneOf(()),
        ages=Tuple(*(Int(0, clock.max_delay) for _e in sys._universe))
        if clock and clock.max_delay is not None else OneOf(()),
        groups=Tuple(*(Int(0, n - 1) for _n in range(n)), index="node") if parts else OneOf(()),
        splits=Int(0, parts) if parts else OneOf(0),
        extra=extra if extra is not None else OneOf(None),
    )


def env_init(sys: ActorSystem) -> EnvState | None:
    if not uses_env(sys):
        return None
    n, clock = len(sys._nodes), sys._clock
    return EnvState(0, (0,) * n if clock else (),
                    (0,) * len(sys._universe) if clock and clock.max_delay is not None else (),
                    (0,) * n if sys._faults.max_partitions else (), 0, sys.env_init())


def check_environment(sys: ActorSystem) -> None:
    """Definition errors of the environment, with the fix."""
    if sys._faults.max_partitions and any(n.reads_inbox for n in sys._nodes):
        raise ModelDefinitionError(
            "partitions (Faults.max_partitions) cannot hold back messages a reads_inbox node reads: keep "
            "received messages in the node's state and set reads_inbox = False"
        )
    if any(n.reads_clock for n in sys._nodes) and sys._clock is None:
        raise ModelDefinitionError(
            f"{', '.join(n.name for n in sys._nodes if n.reads_clock)} read their clock (reads_clock = True) "
            f"but {type(sys).__name__}.clock() returns None; return Clock(max_time=..., drift=...)"
        )
    if sys._clock is not None and sys._clock.max_delay is not None:
        net = sys._net
        if not isinstance(net, UnorderedBag) or net.max_copies != 1:
            raise ModelDefinitionError(
                f"Clock(max_delay=...) ages each message in flight, which needs UnorderedBag(max_copies=1) "
                f"as {type(sys).__name__}.network(), not {net.describe()}"
            )
        if sys._symmetric_groups():
            raise ModelDefinitionError(
                "Clock(max_delay=...) keeps ages by message, which a renaming of node ids does not move yet: "
                "set symmetric = False on the nodes"
            )
    extra = sys.env_type()
    if extra is not None:
        extra.check(sys.env_init(), f"{type(sys).__name__}.env_init()")


def _group_labels(n: int) -> Iterator[tuple[int, ...]]:
    """Every way to cut ``n`` nodes into at least two groups, as labels in first-appearance order."""
    def grow(prefix: tuple[int, ...], top: int) -> Iterator[tuple[int, ...]]:
        if len(prefix) == n:
            if top >= 1:
                yield prefix
            return
        for g in range(top + 2):
            yield from grow(prefix + (g,), max(top, g))

    if n:
        yield from grow((0,), 0)


def env_families(sys: ActorSystem) -> list[str]:
    """Coverage families of the environment actions, in ``env_instances`` order."""
    fams: list[str] = []
    if sys._clock is not None:
        fams.append("env.tick")
        if sys._clock.drift and any(n.reads_clock for n in sys._nodes):
            fams.append("env.clock")
    if sys._faults.max_partitions:
        fams += ["env.split", "env.heal"]
    fams += [f"env.{name}" for name, _fn, _insts in _declared(sys)]
    return fams


def has_environment(sys: ActorSystem) -> bool:
    """Whether the system has environment actions (its ``env`` part can change)."""
    return bool(env_families(sys))


def _declared(sys: ActorSystem) -> list[tuple[str, Callable[..., Any], list[tuple[tuple[str, Any], ...]]]]:
    """The ``@environment`` methods with their parameter instances, in definition order."""
    out = []
    for attr, _fn in sys._ordered(_ENVIRONMENT):
        fn = getattr(sys, attr)
        params = list(inspect.signature(fn).parameters)[1:]  # the state
        out.append((attr, fn, parameter_combos(sys, attr, params, marker_of(type(sys), attr, _ENVIRONMENT),
                                               "environment")))
    return out


Step = Callable[..., Any]


def env_instances(sys: ActorSystem, fam: dict[str, int]) -> list[tuple[Action, Step]]:
    """The environment's action instances with their step functions (after the nodes' actions)."""
    from .actors import StepInfo

    lane = len(sys._nodes)  # the sequence chart's environment lane
    out: list[tuple[Action, Step]] = []
    clock = sys._clock
    if clock is not None:
        out.append((Action("tick", (), fam["env.tick"]), _tick(clock, sys, StepInfo, lane)))
        if "env.clock" in fam:
            for n in sys._nodes:
                if n.reads_clock:
                    out.append((Action("clock", (("node", n.name),), fam["env.clock"]),
                                _clock_step(clock, n.id, StepInfo, lane)))
    if sys._faults.max_partitions:
        names = [n.name for n in sys._nodes]
        for labels in _group_labels(len(names)):
            groups = tuple(tuple(names[i] for i, g in enumerate(labels) if g == k) for k in range(max(labels) + 1))
            out.append((Action("split", (("groups", groups),), fam["env.split"]),
                        _split(labels, sys._faults.max_partitions, StepInfo, lane)))
        out.append((Action("heal", (), fam["env.heal"]), _heal(len(names), StepInfo, lane)))
    for name, fn, insts in _declared(sys):
        for args in insts:
            out.append((Action(name, args, fam[f"env.{name}"]),
                        _declared_step(fn, tuple(v for _k, v in args), name, StepInfo, lane)))
    return out


def _tick(clock: Clock, sys: ActorSystem, info_cls: Any, lane: int) -> Step:
    top, floor = clock.max_time, clock.floor
    drifting = tuple(bool(n.reads_clock) for n in sys._nodes)
    if clock.max_delay is not None:
        return _aging_tick(clock, drifting, info_cls, lane)

    def tick(s: Any, info: list[Any] | None = None) -> Any:
        e = s.env
        if e.now >= top:
            return None
        now = e.now + 1
        low = floor(now)
        clocks = tuple(max(c, low) if d else now for c, d in zip(e.clocks, drifting, strict=True))
        if info is not None:
            info.append(info_cls("env", lane, None, (), "tick"))
        return s._replace(env=e._replace(now=now, clocks=clocks))

    return tick


def _aging_tick(clock: Clock, drifting: tuple[bool, ...], info_cls: Any, lane: int) -> Step:
    """``tick`` with message ages: not while a message is due; ages of messages in flight grow."""
    top, floor, due = clock.max_time, clock.floor, clock.max_delay

    def tick(s: Any, info: list[Any] | None = None) -> Any:
        e, net = s.env, s.net[:]  # the bag's counts, as a plain tuple (its net refuses iteration)
        if e.now >= top or any(c > 0 and a >= due for c, a in zip(net, e.ages, strict=True)):
            return None
        now = e.now + 1
        low = floor(now)
        clocks = tuple(max(c, low) if d else now for c, d in zip(e.clocks, drifting, strict=True))
        ages = tuple(a + 1 if c > 0 else 0 for c, a in zip(net, e.ages, strict=True))
        if info is not None:
            info.append(info_cls("env", lane, None, (), "tick"))
        return s._replace(env=e._replace(now=now, clocks=clocks, ages=ages))

    return tick


def sent_now(sys: ActorSystem, e: EnvState, sent: tuple[Any, ...]) -> EnvState:
    """``e`` with the ages of the messages just ``sent`` set to 0 (``Clock.max_delay``)."""
    index = sys._net._index  # type: ignore[attr-defined]  # an UnorderedBag (``check_environment``)
    ages = list(e.ages)
    for env in sent:
        ages[index[env]] = 0
    return e._replace(ages=tuple(ages))


def _clock_step(clock: Clock, i: int, info_cls: Any, lane: int) -> Step:
    may_advance, top = clock.may_advance, clock.max_time + clock.drift

    def advance(s: Any, info: list[Any] | None = None) -> Any:
        e = s.env
        c = e.clocks[i] + 1
        if c > top or not may_advance(e.clocks[i], e.now):
            return None
        if info is not None:
            info.append(info_cls("env", lane, None, (), f"clock -> {c}"))
        return s._replace(env=e._replace(clocks=e.clocks[:i] + (c,) + e.clocks[i + 1 :]))

    return advance


def _split(labels: tuple[int, ...], bound: int, info_cls: Any, lane: int) -> Step:
    def split(s: Any, info: list[Any] | None = None) -> Any:
        e = s.env
        if e.splits >= bound or any(g != 0 for g in e.groups):
            return None
        if info is not None:
            info.append(info_cls("env", lane, None, (), "split"))
        return s._replace(env=e._replace(groups=labels, splits=e.splits + 1))

    return split


def _heal(n: int, info_cls: Any, lane: int) -> Step:
    joined = (0,) * n

    def heal(s: Any, info: list[Any] | None = None) -> Any:
        e = s.env
        if all(g == 0 for g in e.groups):
            return None
        if info is not None:
            info.append(info_cls("env", lane, None, (), "heal"))
        return s._replace(env=e._replace(groups=joined))

    return heal


def _declared_step(fn: Callable[..., Any], args: tuple[Any, ...], name: str, info_cls: Any, lane: int) -> Step:
    def run(s: Any, info: list[Any] | None = None) -> Any:
        try:
            t = fn(s, *args)
        except Disabled:
            return None
        if t is not None and info is not None:
            info.append(info_cls("env", lane, None, (), name))
        return t

    return run


def across_partition(deliver: Step, src: int, dst: int) -> Step:
    """``deliver`` of a message from ``src`` to ``dst``, not enabled while a partition separates them."""

    def run(s: Any, info: list[Any] | None = None) -> Any:
        g = s.env.groups
        if g[src] != g[dst]:
            return None
        return deliver(s, info)

    return run


def describe_env(sys: ActorSystem, e: EnvState | None) -> dict[str, Any]:
    """The environment's fields for display (only those the system uses)."""
    out: dict[str, Any] = {}
    if e is None:
        return out
    if sys._clock is not None:
        out["now"] = e.now
        out.update({f"clock.{n.name}": e.clocks[n.id] for n in sys._nodes if n.reads_clock})
    if sys._faults.max_partitions:
        names = [n.name for n in sys._nodes]
        out["partition"] = [[names[i] for i, g in enumerate(e.groups) if g == k] for k in range(max(e.groups) + 1)]
    if sys.env_type() is not None:
        out["env"] = e.extra
    return out


def now(s: Any) -> Any:
    """Real time in state ``s`` of a clocked system (for properties: "at any real time ...")."""
    return s.env.now


def clock_of(s: Any, node: int) -> Any:
    """Node ``node``'s clock in state ``s`` (what its handlers read as ``now``)."""
    return s.env.clocks[node]


__all__ = [
    "Clock", "EnvState", "across_partition", "clock_of", "describe_env", "env_families",
    "env_init", "env_instances", "env_type", "environment", "has_environment", "now",
]

