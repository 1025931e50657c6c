"""Yardsticks for the ring (``models.hashring``): hash mod N, jump hash and rendezvous hashing.

- ``ModNRing``: the node at ``position(key) mod n`` in sorted order.  It balances perfectly and
  moves almost every key on a membership change (n/(n+1) of them on a join): the classic
  mistake consistent hashing fixes, and the planted bug ``mod-n`` of the model.
- ``JumpHash`` (Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm", 2014):
  no table, O(log n) expected steps, ideal balance and movement, but buckets are numbered, so
  only the last bucket can leave (a general leave renumbers, and moves far more).
- ``Rendezvous`` (Thaler & Ravishankar, highest random weight, 1998): each node scores the key
  and the highest scores win; ideal balance and movement, O(n) per lookup.

All three answer ``owner``, ``owner_at`` (of a ring position), ``preference_list``, ``add`` and
``remove`` like ``Ring``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .hashring import N, Ring, position

MASK64 = (1 << 64) - 1


class ModNRing(Ring[N]):
    """Hash mod N over the ring's members (sorted): balanced, but not consistent."""

    def owner_at(self, pos: int) -> N:
        return self.preference_at(pos, 1)[0]

    def preference_at(self, pos: int, r: int) -> tuple[N, ...]:
        nodes = self.nodes
        if not nodes:
            raise LookupError("the ring is empty: add a node first")
        return tuple(nodes[(pos + i) % len(nodes)] for i in range(min(r, len(nodes))))


def jump(key: int, buckets: int) -> int:
    """Lamping & Veach's jump consistent hash: the bucket in ``0..buckets-1`` of a 64-bit key."""
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & MASK64
        j = int((b + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return b


def mix64(x: int) -> int:
    """SplitMix64's finaliser: a cheap, well-mixed 64-bit hash of a 64-bit value."""
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & MASK64
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & MASK64
    return x ^ (x >> 31)


@dataclass(frozen=True)
class JumpHash:
    """Jump hash over numbered buckets ``nodes[0..n-1]``; only the last node may leave."""

    nodes: tuple[str, ...]

    def owner_at(self, pos: int) -> str:
        return self.nodes[jump(pos, len(self.nodes))]

    def owner(self, key: str | bytes | int) -> str:
        return self.owner_at(position(key))

    def preference_list(self, key: str | bytes | int, r: int) -> tuple[str, ...]:
        """The owner, then the owners with the chosen buckets removed (a common extension)."""
        pos, left, out = position(key), list(self.nodes), list[str]()
        while left and len(out) < r:
            out.append(left.pop(jump(pos, len(left))))
            pos = mix64(pos)
        return tuple(out)

    def add(self, node: str) -> JumpHash:
        return JumpHash((*self.nodes, node))

    def remove(self, node: str) -> JumpHash:
        if not self.nodes or node != self.nodes[-1]:
            raise ValueError(f"jump hash can remove only its last bucket ({self.nodes[-1:]}), not {node!r}")
        return JumpHash(self.nodes[:-1])


@dataclass(frozen=True)
class Rendezvous:
    """Highest random weight: ``score(node, key) = mix64(position(key) ^ position(node))``."""

    nodes: tuple[str, ...]
    _seeds: tuple[tuple[int, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_seeds", tuple((position(n), n) for n in self.nodes))

    def owner_at(self, pos: int) -> str:
        return max(self._seeds, key=lambda s: mix64(pos ^ s[0]))[1]

    def owner(self, key: str | bytes | int) -> str:
        return self.owner_at(position(key))

    def preference_list(self, key: str | bytes | int, r: int) -> tuple[str, ...]:
        pos = position(key)
        return tuple(n for _s, n in sorted(self._seeds, key=lambda s: -mix64(pos ^ s[0]))[:r])

    def add(self, node: str) -> Rendezvous:
        return Rendezvous((*self.nodes, node))

    def remove(self, node: str) -> Rendezvous:
        return Rendezvous(tuple(n for n in self.nodes if n != node))


__all__ = ["JumpHash", "ModNRing", "Rendezvous", "jump", "mix64"]
