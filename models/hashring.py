"""A consistent-hashing ring with weighted virtual nodes (Karger et al. 1997; Dynamo 2007).

Each physical node owns ``round(weight * vnodes)`` tokens (at least one) on a ring of 2**64
positions; a key belongs to the first token clockwise from the key's position (a token at the
key's own position counts), and its preference list is the first R *distinct* physical nodes met
walking clockwise from there.  Tokens are kept sorted, so a lookup is one ``bisect`` (O(log n));
ties between equal positions (never seen with a 64-bit hash, common in the small model) are
broken by ``(node, token index)``, a strict total order, so the ring is a function of its members.

The hash is ``hashlib.blake2b`` with an 8-byte digest, read as a big-endian 64-bit position:
stable across processes and Python versions (unlike ``hash``, which is salted per process), in
the standard library (xxhash would be a compiled dependency), and fast enough: the hash is about
40% of an ``owner(key)`` (``benchmarks/hashing.py``: 1.8 of 4.5 µs, under a load average of 10
on 2 cores), so even a free hash would make a lookup less than twice as fast.

A ``Ring`` is immutable: ``add`` and ``remove`` return a new ring whose ``version`` is one
more, so a handoff can tell ring versions apart and compare them with ``ranges_moving`` (which
arcs change preference list, from which nodes to which) or ``moved_keys``.  Token positions
come from ``place(node, i)``: the hash of ``f"{node}#{i}"`` by default, explicit positions in the
model (``models.hashring_model``) that checks these properties on every small placement.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

#: The number of positions on the ring.
RING_SIZE = 1 << 64

#: Node ids: all nodes of one ring are strings, or all are ints (they are ordered for ties).
N = TypeVar("N", str, int)


def position(data: str | bytes | int) -> int:
    """The ring position of a key or token name: 64 bits of blake2b, stable everywhere."""
    raw = data.encode() if isinstance(data, str) else str(data).encode() if isinstance(data, int) else data
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


def token_position(node: str | int, index: int) -> int:
    """Where a node's ``index``-th virtual node sits: the hash of ``"node#index"``."""
    return position(f"{node}#{index}")


class Token(NamedTuple, Generic[N]):
    """One virtual node; tokens sort by position, then node, then vnode number."""

    pos: int
    node: N
    vnode: int


class Move(NamedTuple, Generic[N]):
    """An arc of key positions ``(start, end]`` (clockwise, wrapping past 2**64; ``start == end``
    is the whole ring) whose preference list is ``before`` in the old ring, ``after`` in the new."""

    start: int
    end: int
    before: tuple[N, ...]
    after: tuple[N, ...]

    def contains(self, pos: int) -> bool:
        span = (self.end - self.start) % RING_SIZE or RING_SIZE
        return (pos - self.start - 1) % RING_SIZE < span

    @property
    def gained(self) -> tuple[N, ...]:
        """Nodes that must receive this arc's keys (in ``after``, not in ``before``)."""
        return tuple(n for n in self.after if n not in self.before)

    @property
    def lost(self) -> tuple[N, ...]:
        """Nodes that may drop this arc's keys once the gainers hold them."""
        return tuple(n for n in self.before if n not in self.after)


def _tokens_of(node: N, weight: float, vnodes: int, place: Callable[[N, int], int]) -> list[Token[N]]:
    return [Token(place(node, i), node, i) for i in range(max(1, round(weight * vnodes)))]


@dataclass(frozen=True)
class Ring(Generic[N]):
    """An immutable ring: ``Ring.of(["a", "b", "c"], vnodes=100)``, then ``ring.add("d")``."""

    weights: tuple[tuple[N, float], ...] = ()
    vnodes: int = 100
    version: int = 0
    place: Callable[[N, int], int] = field(default=token_position, compare=False, repr=False)
    tokens: tuple[Token[N], ...] = field(init=False, compare=False, repr=False)
    nodes: tuple[N, ...] = field(init=False, compare=False, repr=False)
    _positions: list[int] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.vnodes < 1:
            raise ValueError(f"vnodes must be at least 1, not {self.vnodes}")
        names = [n for n, _w in self.weights]
        if len(set(names)) != len(names):
            raise ValueError(f"a node appears twice in the ring: {names}")
        for n, w in self.weights:
            if not w > 0:
                raise ValueError(f"node {n!r} has weight {w}; weights must be positive")
        toks = sorted(t for n, w in self.weights for t in _tokens_of(n, w, self.vnodes, self.place))
        object.__setattr__(self, "tokens", tuple(toks))
        object.__setattr__(self, "nodes", tuple(names))
        object.__setattr__(self, "_positions", [t.pos for t in toks])

    @classmethod
    def of(cls, nodes: Iterable[N] | Mapping[N, float], vnodes: int = 100,
           place: Callable[[N, int], int] = token_position) -> Ring[N]:
        """A ring of ``nodes`` (weight 1 each, or a mapping node -> weight), version 0."""
        pairs = nodes.items() if isinstance(nodes, Mapping) else ((n, 1.0) for n in nodes)
        return cls(tuple(sorted((n, float(w)) for n, w in pairs)), vnodes, 0, place)

    # ----- membership ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.weights)

    def __contains__(self, node: object) -> bool:
        return node in self.nodes

    def add(self, node: N, weight: float = 1) -> Ring[N]:
        """A new ring (``version + 1``) with ``node`` joined."""
        if node in self:
            raise ValueError(f"node {node!r} is already in the ring")
        added: tuple[tuple[N, float], ...] = ((node, float(weight)),)
        return self._with(tuple(sorted(self.weights + added)))

    def remove(self, node: N) -> Ring[N]:
        """A new ring (``version + 1``) without ``node``."""
        if node not in self:
            raise ValueError(f"node {node!r} is not in the ring; nodes: {list(self.nodes)}")
        return self._with(tuple(p for p in self.weights if p[0] != node))

    def _with(self, weights: tuple[tuple[N, float], ...]) -> Ring[N]:
        return type(self)(weights, self.vnodes, self.version + 1, self.place)

    # ----- lookup -------------------------------------------------------------------------
    def successor(self, pos: int) -> int:
        """The index in ``tokens`` of the first token at or clockwise after ``pos``."""
        if not self.tokens:
            raise LookupError("the ring is empty: add a node first")
        i = bisect.bisect_left(self._positions, pos)
        return 0 if i == len(self._positions) else i

    def owner_at(self, pos: int) -> N:
        """The node owning ring position ``pos``."""
        return self.tokens[self.successor(pos)].node

    def preference_at(self, pos: int, r: int) -> tuple[N, ...]:
        """The first ``r`` distinct nodes clockwise from ``pos`` (all nodes if fewer)."""
        start, toks, want = self.successor(pos), self.tokens, min(r, len(self.weights))
        out: list[N] = []
        for k in range(len(toks)):
            n = toks[(start + k) % len(toks)].node
            if n not in out:
                out.append(n)
                if len(out) == want:
                    break
        return tuple(out)

    def owner(self, key: str | bytes | int) -> N:
        """The node that owns ``key``."""
        return self.owner_at(position(key))

    def preference_list(self, key: str | bytes | int, r: int) -> tuple[N, ...]:
        """The ``r`` distinct nodes that replicate ``key``, the owner first."""
        return self.preference_at(position(key), r)

    def arcs(self) -> list[tuple[int, int]]:
        """The arcs ``(start, end]`` between consecutive token positions: the preference list is
        the same for every position of one arc (a single position means the whole ring)."""
        ps = sorted(set(self._positions))
        return [(ps[i - 1], ps[i]) for i in range(len(ps))]

    def shares(self) -> dict[N, float]:
        """The fraction of the ring each node owns (its expected fraction of uniform keys)."""
        out = dict.fromkeys(self.nodes, 0.0)
        for start, end in self.arcs():
            out[self.owner_at(end)] += ((end - start) % RING_SIZE or RING_SIZE) / RING_SIZE
        return out


def ranges_moving(old: Ring[N], new: Ring[N], replicas: int = 1) -> list[Move[N]]:
    """The arcs whose preference list (of ``replicas`` nodes) differs between two rings, merged
    where neighbours agree: what a handoff streams, from ``before`` to ``after``."""
    bounds = sorted({t.pos for t in old.tokens} | {t.pos for t in new.tokens})
    out: list[Move[N]] = []
    for i, end in enumerate(bounds):
        start = bounds[i - 1]
        before, after = old.preference_at(end, replicas), new.preference_at(end, replicas)
        if before == after:
            continue
        if out and out[-1].end == start and (out[-1].before, out[-1].after) == (before, after):
            out[-1] = out[-1]._replace(end=end)
        else:
            out.append(Move(start, end, before, after))
    if len(out) > 1 and out[0].start == out[-1].end and out[0][2:] == out[-1][2:]:
        out[0] = out[0]._replace(start=out.pop().start)  # the arc that wraps past 2**64
    return out


def moved_keys(old: Ring[N], new: Ring[N], keys: Iterable[str | bytes | int],
               replicas: int = 1) -> list[str | bytes | int]:
    """The keys whose preference list (of ``replicas`` nodes) differs between the two rings."""
    return [k for k in keys if old.preference_list(k, replicas) != new.preference_list(k, replicas)]


__all__ = ["RING_SIZE", "Move", "Ring", "Token", "moved_keys", "position", "ranges_moving", "token_position"]
