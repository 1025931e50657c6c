"""A node: one role of a protocol, written as pure handlers returning ``(state, effects)``.

A node never touches a socket or a clock.  A handler returns ``None`` when the message or
step does not apply in its state: the corresponding action is then not enabled (the runtime
ignores such a message).
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from .base import _TRANSITION, ModelDefinitionError, domain_values, marker_of
from .effects import Effect, Envelope
from .schema import OneOf, Type

L = TypeVar("L")


class NodeIds(tuple[int, ...]):
    """Node ids as an action's domain: a step parameter drawn from one (``@transition(j="peers")``
    where ``self.peers`` is a ``NodeIds``) is labelled with the node's name in paths and pictures
    (``append_entries(node='s1', j='s2')``), while the handler still gets the id."""

    __slots__ = ()


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

    def ids(self, role: str) -> NodeIds:
        """The ids of the nodes of ``role`` (a node is among them if it has that role)."""
        for r, ids in self.peers:
            if r == role:
                return NodeIds(ids)
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
    #: Steps receive ``(state, inbox, **params)``, inbox = every message sent to this node so
    #: far.  Only on a ``DuplicatingSet`` (where nothing is consumed) is that exactly what the
    #: node has received, as in TLA+ specs whose actions read the message set.
    #: Per timer, the range ``(lo, hi)`` in seconds the runtime draws its delay from (uniformly,
    #: from an injectable seeded generator); the model ignores delays: any armed timer may fire.
    timer_ranges: ClassVar[dict[Any, tuple[float, float]]] = {}
    reads_inbox: ClassVar[bool] = False
    #: With ``reads_clock`` every handler but ``on_start``/``on_recover`` gets the node's clock as the
    #: keyword ``now=`` (``ActorSystem.clock()``; in the runtime, the host's injectable clock).
    reads_clock: ClassVar[bool] = False
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
            params = [p for p in list(inspect.signature(fn).parameters)[skip:] if not (self.reads_clock and p == "now")]
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

    def named_params(self, step: str) -> frozenset[str]:
        """The parameters of ``step`` whose domain names a ``NodeIds`` attribute: labelled by name."""
        domains = marker_of(type(self), step, _TRANSITION)
        return frozenset(p for p, d in domains.items()
                         if isinstance(d, str) and isinstance(getattr(self, d, None), NodeIds))
