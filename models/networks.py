"""Network semantics and fault bounds: values that say how messages travel and what may fail.

The same node code runs on any of them: a grow-only set (the TLA+ specs' network), a
multiset that consumes delivered messages, or FIFO channels; each says how its in-flight
messages are represented in the state and how deliver / drop / duplicate change it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .base import ModelDefinitionError
from .effects import BoundExceeded, Envelope
from .schema import BagOf, Channels, Id, Record, SchemaError, Seq, SetOf, Type

_VOCABULARY = ("read it through the model: self.sent(s, msg, src=, dst=) (ever sent) or "
               "self.in_flight(s, msg, src=, dst=) (could still be delivered)")


class _OpaqueNet(tuple[Any, ...]):
    """The messages in flight of a network whose representation a property must not read raw.

    ``Envelope(...) in s.net`` on a tuple of counts or of queues would be silently False: it
    raises instead, naming the vocabulary that works on every network.
    """

    __slots__ = ()
    network = "this network"

    def __contains__(self, x: object) -> bool:
        raise ModelDefinitionError(f"`in s.net` on the net of {self.network} is always False; {_VOCABULARY}")

    def __iter__(self) -> Any:
        raise ModelDefinitionError(f"iterating s.net of {self.network} gives its representation, not "
                                   f"envelopes; {_VOCABULARY}, or model.in_flight(s) for the list")


class BagNet(_OpaqueNet):
    """An ``UnorderedBag``'s net: one count per envelope of the universe.

    No ``__slots__``: a bag built by ``UnorderedBag._bump`` carries ``_tally`` (its total and
    how many envelopes are at ``max_copies``, see ``UnorderedBag.tally``), so a state constraint
    on them costs O(1) per successor instead of a scan of every count of the universe.  Equality
    and hashing are the tuple's: the tally is a cache, not part of the value.
    """

    network = "an UnorderedBag (one count per envelope)"


class FifoNet(_OpaqueNet):
    """``FifoChannels``' net: one queue of messages per channel."""

    __slots__ = ()
    network = "FifoChannels (one queue per channel)"


#: ``UnorderedBag._bump`` keeps at most this many bumped bags (each holds a count per envelope).
_BUMPS_KEPT = 1 << 12


def _bag(items: Any) -> BagNet:
    return tuple.__new__(BagNet, items)


def _fifo(items: Any) -> FifoNet:
    return tuple.__new__(FifoNet, items)


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

    def present(self, net: Any) -> list[int]:
        """The positions in the universe of the envelopes deliverable in ``net``, in order."""
        return [k for k, e in enumerate(self.universe()) if self.deliverable(net, e)]

    # ----- the vocabulary of properties (``ActorSystem.sent`` / ``in_flight``) -----
    def universe(self) -> Sequence[Envelope]:
        raise NotImplementedError

    def matching(self, msg: Any, src: int | None, dst: int | None) -> list[Envelope]:
        """The envelopes of the universe carrying ``msg`` (from ``src``, to ``dst`` where given)."""
        cache: dict[Any, list[Envelope]] = self.__dict__.setdefault("_matching", {})
        key = (msg, src, dst)
        got = cache.get(key)
        if got is None:
            got = cache[key] = [e for e in self.universe() if e.msg == msg and type(e.msg) is type(msg)
                                and (src is None or e.src == src) and (dst is None or e.dst == dst)]
        return got

    def sent(self, net: Any, msg: Any, src: int | None, dst: int | None) -> bool:
        """Whether ``msg`` was ever sent: only a network that keeps every sent message can say."""
        raise ModelDefinitionError(
            f"a network that is {self.describe()} forgets delivered or dropped messages, so it cannot say "
            "what was ever sent: test in_flight(s, msg, ...) instead, or keep what was sent in the sender's state"
        )

    def has_in_flight(self, net: Any, msg: Any, src: int | None, dst: int | None) -> bool:
        """Whether ``msg`` could still be delivered (from ``src``, to ``dst`` where given)."""
        return any(self.deliverable(net, e) for e in self.matching(msg, src, dst))

    def delivered(self, net: Any, msg: Any, src: int | None, dst: int | None) -> bool:
        raise ModelDefinitionError(
            f"a network that is {self.describe()} does not record deliveries: keep what a node received "
            "in its state and test that"
        )


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

    def present(self, net: Any) -> list[int]:
        index = self._index
        return sorted(index[e] for e in net if e in index)

    def universe(self) -> Sequence[Envelope]:
        return list(self._index)

    def sent(self, net: Any, msg: Any, src: int | None, dst: int | None) -> bool:
        if self.lossy:
            return super().sent(net, msg, src, dst)
        return self.has_in_flight(net, msg, src, dst)

    def has_in_flight(self, net: Any, msg: Any, src: int | None, dst: int | None) -> bool:
        if src is not None and dst is not None:
            e = Envelope(src, dst, msg)
            if type(net) is frozenset:  # the explicit checker
                return e in net
            return e in self._index and e in net  # z3's symbolic set has bits for its universe only
        return any(e in net for e in self.matching(msg, src, dst))


class NotInUniverse(SchemaError):
    """A send of an envelope outside the network's declared universe (a model error when reached)."""


class UnorderedBag(Network):
    """A multiset: a delivered message is consumed; at most ``max_copies`` of one in flight."""

    def __init__(self, max_copies: int = 1, lossy: bool = False, duplicating: bool = False,
                 bound: int | None = None) -> None:
        self.max_copies, self.lossy, self.duplicating = max_copies, lossy, duplicating
        #: The copies a model's state constraint allows, where ``max_copies`` leaves room beyond
        #: it (a successor over the bound is built, then discarded, as TLC does): what users see.
        self.bound = bound
        self._index: dict[Envelope, int] = {}
        self._universe: Sequence[Envelope] = ()
        self._bumps: dict[tuple[int, int, int], tuple[BagNet, BagNet]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_bumps": {}}  # a cache: not sent to another process

    def describe(self) -> str:
        extra = (", lossy" if self.lossy else "") + (", duplicating" if self.duplicating else "")
        n = self.max_copies if self.bound is None else self.bound
        return f"unordered multiset (at most {n} {'copy' if n == 1 else 'copies'} of a message){extra}"

    def type(self, universe: Sequence[Envelope], env_type: Type) -> Type:
        self._universe = list(universe)
        self._index = {e: k for k, e in enumerate(universe)}
        return BagOf(env_type, universe, self.max_copies, BagNet)

    def empty(self) -> tuple[int, ...]:
        return _bag((0,) * len(self._universe))

    def universe(self) -> Sequence[Envelope]:
        return self._universe

    def tally(self, net: tuple[int, ...]) -> tuple[int, int]:
        """(messages in flight, every copy counted; envelopes with ``max_copies`` copies) of ``net``.

        Kept by ``_bump`` from its argument's tally in O(1); counted once (and kept) for a bag
        built otherwise (the initial one, a decoded or renamed state).  Kept with the bound it
        counted at, so a bag read by a network of another bound is counted again.
        """
        top = self.max_copies
        try:
            got: tuple[int, int, int] | None = net.__dict__.get("_tally")
        except AttributeError:  # a plain tuple of counts (a state replayed from the z3 backend's model)
            got = None
        if got is None or got[0] != top:
            counts = net[:]
            got = (top, sum(counts), counts.count(top))
            if type(net) is BagNet:
                net.__dict__["_tally"] = got
        return got[1], got[2]

    def _bump(self, net: Any, env: Envelope, by: int) -> Any:
        if type(net) is not BagNet:
            bump = getattr(net, "bump", None)
            if bump is not None:  # the z3 backend's bag (checker/symbolic/bags.py): counts by formulas
                return bump(self._universe, env, by, self.max_copies, self._index)
        k = self._index.get(env)
        if k is None:
            raise NotInUniverse(f"{env!r} is not in the declared message universe")
        # The bags of the states being expanded are mostly the same few objects (a decoded
        # state's bag is the unpacker's memo), so the bumps are kept by the bag's identity: the
        # entry holds the bag, so its id is not reused while the entry lives.
        key = (id(net), k, by)
        bumps = self._bumps
        got = bumps.get(key)
        if got is not None and got[0] is net:
            return got[1]
        old = net[k]
        c = old + by
        top = self.max_copies
        if c > top:
            raise BoundExceeded(f"{env!r} would have {c} copies in flight (max_copies={top}); raise the bound")
        total, full = self.tally(net)
        out = _bag(net[:k] + (c,) + net[k + 1 :])
        out.__dict__["_tally"] = (top, total + by, full + (c == top) - (old == top))
        if len(bumps) >= _BUMPS_KEPT:
            bumps.clear()
        bumps[key] = (net, out)
        return out

    def add(self, net: Any, envs: Sequence[Envelope]) -> Any:
        for e in envs:
            net = self._bump(net, e, 1)
        return net

    def deliverable(self, net: Any, env: Envelope) -> bool:
        return net[self._index[env]] > 0

    def present(self, net: Any) -> list[int]:
        return [k for k, c in enumerate(net[:]) if c]

    def consume(self, net: Any, env: Envelope) -> Any:
        return self._bump(net, env, -1)

    def drop(self, net: Any, env: Envelope) -> Any:
        return self._bump(net, env, -1)

    def can_duplicate(self, net: Any, env: Envelope) -> bool:
        return self.duplicating and 0 < net[self._index[env]] < self.max_copies

    def duplicate(self, net: Any, env: Envelope) -> Any:
        return self._bump(net, env, 1)

    def in_flight(self, net: Any) -> list[Envelope]:
        return [e for e, c in zip(self._universe, net[:], strict=True) for _ in range(c)]


class FifoChannels(Network):
    """One FIFO queue per (src, dst) pair, holding at most ``capacity`` messages."""

    def __init__(self, capacity: int = 2, lossy: bool = False) -> None:
        self.capacity, self.lossy = capacity, lossy
        self._channels: list[tuple[int, int]] = []
        self._chan: dict[tuple[int, int], int] = {}
        self._universe: list[Envelope] = []

    def describe(self) -> str:
        return f"FIFO per channel (capacity {self.capacity})" + (", lossy" if self.lossy else "")

    def type(self, universe: Sequence[Envelope], env_type: Type) -> Type:
        self._channels = sorted({(e.src, e.dst) for e in universe})
        self._chan = {c: k for k, c in enumerate(self._channels)}
        msg_type = env_type.fields["msg"] if isinstance(env_type, Record) else env_type
        src = env_type.fields["src"] if isinstance(env_type, Record) else None
        space = src.space if isinstance(src, Id) else "node"
        self._universe = list(universe)
        return Channels(self._channels, Seq(msg_type, self.capacity), space, FifoNet)

    def empty(self) -> tuple[tuple[Any, ...], ...]:
        return _fifo(((),) * len(self._channels))

    def universe(self) -> Sequence[Envelope]:
        return self._universe

    def has_in_flight(self, net: Any, msg: Any, src: int | None, dst: int | None) -> bool:
        return any(msg in net[self._chan[(e.src, e.dst)]] for e in self.matching(msg, src, dst))

    def add(self, net: Any, envs: Sequence[Envelope]) -> Any:
        for e in envs:
            k = self._chan.get((e.src, e.dst))
            if k is None:
                raise NotInUniverse(f"{e!r} is not in the declared message universe")
            q = net[k]
            if len(q) >= self.capacity:
                raise BoundExceeded(
                    f"channel {e.src}->{e.dst} would hold {len(q) + 1} messages "
                    f"(capacity={self.capacity}); raise the bound"
                )
            net = _fifo(net[:k] + (q + (e.msg,),) + net[k + 1 :])
        return net

    def deliverable(self, net: Any, env: Envelope) -> bool:
        k = self._chan.get((env.src, env.dst))
        return k is not None and bool(net[k]) and net[k][0] == env.msg

    def consume(self, net: Any, env: Envelope) -> Any:
        k = self._chan[(env.src, env.dst)]
        return _fifo(net[:k] + (net[k][1:],) + net[k + 1 :])

    def drop(self, net: Any, env: Envelope) -> Any:
        return self.consume(net, env)

    def in_flight(self, net: Any) -> list[Envelope]:
        return [Envelope(s, d, m) for (s, d), q in zip(self._channels, net[:], strict=True) for m in q]


@dataclass(frozen=True)
class Faults:
    """Bounded faults: at most ``max_crashes`` crashes in a run (each node may recover), and at
    most ``max_partitions`` partitions (``split`` the nodes into groups, later ``heal``).

    ``recovery=False`` is crash-stop: a crashed node stays down, so there is no ``recover``
    action and nothing is ever read from a disk (the disk is not part of the state).
    ``crash_roles`` limits which nodes may crash to those roles (None: any node), so a model can
    ask about a client's crash without paying for every server's.
    """

    max_crashes: int = 0
    max_partitions: int = 0
    recovery: bool = True
    crash_roles: tuple[str, ...] | None = None

    def may_crash(self, role: str) -> bool:
        """Whether a node of ``role`` may crash."""
        return self.max_crashes > 0 and (self.crash_roles is None or role in self.crash_roles)

    @property
    def keeps_disk(self) -> bool:
        """Whether a crashed node may recover and read its disk (else the disk is never read)."""
        return self.max_crashes > 0 and self.recovery
