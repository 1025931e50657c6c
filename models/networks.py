"""Network semantics and fault bounds: values that say how messages travel and what may fail.

The same node code runs on any of them: a grow-only set (the TLA+ specs' network), a
multiset that consumes delivered messages, or FIFO channels; each says how its in-flight
messages are represented in the state and how deliver / drop / duplicate change it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .effects import BoundExceeded, Envelope
from .schema import BagOf, Channels, Id, Record, SchemaError, Seq, SetOf, Type


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
    """Bounded faults: at most ``max_crashes`` crashes in a run (each node may recover), and at
    most ``max_partitions`` partitions (``split`` the nodes into groups, later ``heal``)."""

    max_crashes: int = 0
    max_partitions: int = 0
