"""The ring's movement properties, checked on every small placement (``protoproof check hashring``).

The state is where each node's ``vnodes`` tokens sit on a ring of ``positions`` slots (chosen
once, in the initial state: a node that leaves and rejoins hashes to the same places) and which
nodes are members; the actions are ``join(node)`` and ``leave(node)`` (the last member stays).
The ring of a state is the library's ``Ring`` (``models.hashring``) with those token positions,
so the code checked is the code the runtime routes with.  Keys are the positions
``0..positions-1``: a key between two slots behaves like the next slot, so they are every key.
Node 0's first token is fixed at position 0: rotating every token leaves the ring's cyclic order,
so every property, unchanged, and this divides the initial states by ``positions`` without losing
a placement.  Ties (two tokens on one slot) are allowed and broken by ``(node, vnode)``, as in
``Ring``; with ``positions`` = nodes × vnodes (the default) every strict order of the tokens occurs too.

What holds, per key and per membership change (R = ``replicas``; a preference list is the
first R distinct nodes clockwise, or every member if fewer):

- a join of ``j`` moves a key only to ``j``; a leave of ``j`` moves only the keys ``j`` owned;
- on a join, ``j`` enters the preference list at one position and the list's last member drops out
  when the list was full: ``new == (old[:i] + [j] + old[i:])[:R]`` for some ``i``;
- on a leave, ``j`` drops out and the next distinct node clockwise (the old list's R+1-th) is
  appended: ``new == [x for x in old_of(R+1) if x != j][:R]``;
- every preference list holds ``min(R, members)`` distinct nodes.

``proofs/hashring.py`` proves the same statements for every placement of 64-bit positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, NamedTuple

from .base import Action, Model, always, require, sometimes, step, transition, variant
from .hashring import Ring
from .hashring_baselines import ModNRing
from .registry import Protocol
from .schema import Bool, Int, Record, Type, Vec


class HR(NamedTuple):
    tokens: tuple[int, ...]  # node n's i-th token sits at tokens[n * vnodes + i]
    member: tuple[bool, ...]


@dataclass(frozen=True)
class HashRingConfig:
    nodes: int = 3
    vnodes: int = 2
    replicas: int = 2
    positions: int = 0  # 0: nodes * vnodes


# ----- the statements, per key: the model's properties and the z3 proof's tie share them ----------

def distinct_at(ring: Ring[int], k: int, r: int) -> bool:
    """The preference list of ``k`` holds ``min(r, members)`` distinct nodes."""
    pref = ring.preference_at(k, r)
    return len(set(pref)) == len(pref) == min(r, len(ring))


def join_moves_only_to(old: Ring[int], new: Ring[int], j: int, k: int) -> bool:
    """After ``j`` joined, ``k`` is owned by its old owner or by ``j``."""
    return new.owner_at(k) in (old.owner_at(k), j)


def leave_moves_only_from(old: Ring[int], new: Ring[int], j: int, k: int) -> bool:
    """After ``j`` left, a key ``j`` did not own keeps its owner."""
    return old.owner_at(k) == j or new.owner_at(k) == old.owner_at(k)


def join_inserts_once(old: Ring[int], new: Ring[int], j: int, k: int, r: int) -> bool:
    """``new == (old[:i] + [j] + old[i:])[:r]`` for some ``i``."""
    before, after = old.preference_at(k, r), new.preference_at(k, r)
    return any(after == (before[:i] + (j,) + before[i:])[:r] for i in range(len(before) + 1))


def leave_drops_and_appends(old: Ring[int], new: Ring[int], j: int, k: int, r: int) -> bool:
    """``new == [x for x in old_of(r + 1) if x != j][:r]``."""
    return new.preference_at(k, r) == tuple(x for x in old.preference_at(k, r + 1) if x != j)[:r]


@lru_cache(maxsize=1 << 16)
def ring_of(ring_class: type[Any], vnodes: int, tokens: tuple[int, ...],
            member: tuple[bool, ...]) -> Ring[int]:
    """The ring of the members, node ``n``'s ``i``-th token at ``tokens[n * vnodes + i]``."""
    return ring_class.of([n for n, m in enumerate(member) if m], vnodes=vnodes,
                         place=lambda n, i: tokens[n * vnodes + i])


class NoSkipRing(Ring[int]):
    """A planted bug: the preference list is the owners of the next R tokens, duplicates kept."""

    def preference_at(self, pos: int, r: int) -> tuple[int, ...]:
        start, toks = self.successor(pos), self.tokens
        return tuple(toks[(start + i) % len(toks)].node for i in range(min(r, len(toks))))


class HashRing(Model[HR]):
    """Joins and leaves on a consistent-hashing ring: minimal movement, preference lists."""

    name = "hashring"
    Config = HashRingConfig
    #: The ring implementation checked (a planted bug swaps it).
    ring_class: ClassVar[type[Ring[Any]]] = Ring

    def _validate_config(self) -> None:
        c = self.config
        for flag, v, lo in (("--nodes", c.nodes, 2), ("--vnodes", c.vnodes, 1), ("--replicas", c.replicas, 1),
                            ("--positions", c.positions, 0)):
            if v < lo:
                raise ValueError(f"{flag} must be at least {lo}, not {v}")

    @property
    def positions(self) -> int:
        return self.config.positions or self.config.nodes * self.config.vnodes

    def schema(self) -> Type:
        c = self.config
        return Record(HR, tokens=Vec(Int(0, self.positions - 1), c.nodes * c.vnodes), member=Vec(Bool, c.nodes))

    def node_ids(self) -> range:
        return range(self.config.nodes)

    def keys(self) -> range:
        return range(self.positions)

    def init(self) -> list[HR]:
        every = Int(0, self.positions - 1)
        rest = Vec(every, self.config.nodes * self.config.vnodes - 1)
        return [HR((0, *t), (True,) * self.config.nodes) for t in rest.values()]

    def ring(self, s: HR) -> Ring[int]:
        return self.ring_at(s.tokens, s.member)

    def ring_at(self, tokens: tuple[int, ...], member: tuple[bool, ...]) -> Ring[int]:
        """The ring of ``member`` with these token positions (any ints: the prover's are 64-bit)."""
        ring_class: Any = self.ring_class  # a class is hashable (mypy reads Ring's __hash__ as an instance's)
        return ring_of(ring_class, self.config.vnodes, tokens, member)

    @transition(node="node_ids")
    def join(self, s: HR, node: int) -> HR:
        require(not s.member[node])
        return s._replace(member=s.member[:node] + (True,) + s.member[node + 1:])

    @transition(node="node_ids")
    def leave(self, s: HR, node: int) -> HR:
        require(s.member[node] and sum(s.member) >= 2)
        return s._replace(member=s.member[:node] + (False,) + s.member[node + 1:])

    # ----- properties -----------------------------------------------------------------------
    def _each_key(self, s: HR, a: Action, t: HR, kind: str, holds: Any, *r: int) -> bool:
        if a.name != kind:
            return True
        old, new, j = self.ring(s), self.ring(t), a.kwargs["node"]
        return all(holds(old, new, j, k, *r) for k in self.keys())

    @always
    def preference_lists_are_distinct(self, s: HR) -> bool:
        """Every key's preference list holds min(R, members) distinct nodes."""
        ring = self.ring(s)
        return all(distinct_at(ring, k, self.config.replicas) for k in self.keys())

    @step
    def joins_move_keys_only_to_the_new_node(self, s: HR, a: Action, t: HR) -> bool:
        """A join moves a key only to the node that joined."""
        return self._each_key(s, a, t, "join", join_moves_only_to)

    @step
    def leaves_move_only_the_leavers_keys(self, s: HR, a: Action, t: HR) -> bool:
        """A leave moves only the keys the leaving node owned."""
        return self._each_key(s, a, t, "leave", leave_moves_only_from)

    @step
    def a_join_enters_each_list_at_one_position(self, s: HR, a: Action, t: HR) -> bool:
        """On a join the new node enters a preference list at one position; a full list's last
        node drops out; nothing else changes."""
        return self._each_key(s, a, t, "join", join_inserts_once, self.config.replicas)

    @step
    def a_leave_drops_the_leaver_and_appends_the_next_node(self, s: HR, a: Action, t: HR) -> bool:
        """On a leave the leaver drops out of a preference list and the next distinct node
        clockwise is appended; nothing else changes."""
        return self._each_key(s, a, t, "leave", leave_drops_and_appends, self.config.replicas)

    @sometimes
    def a_node_is_out(self, s: HR) -> bool:
        """A node has left (so joins and leaves both happened)."""
        return not all(s.member)

    @sometimes
    def one_node_owns_every_key(self, s: HR) -> bool:
        """A single member is left holding the whole ring."""
        return sum(s.member) == 1


@variant("mod-n", breaks=("joins_move_keys_only_to_the_new_node", "leaves_move_only_the_leavers_keys"))
class ModN(HashRing):
    """Hash mod N: a join or leave renumbers the nodes and moves keys between old members."""

    ring_class = ModNRing


@variant("no-skip", breaks="preference_lists_are_distinct")
class NoSkip(HashRing):
    """The preference list takes the next R tokens without skipping a node already in it."""

    ring_class = NoSkipRing


#: The protocol's one declaration (see ``models.registry``).
PROTOCOL = Protocol("hashring", f"{__name__}:HashRing",
                    summary="a consistent-hashing ring's joins and leaves: minimal movement, preference lists",
                    prover="protoproof.proofs.hashring:prove_hashring")

__all__ = ["HR", "PROTOCOL", "HashRing", "HashRingConfig", "ModN", "NoSkip", "NoSkipRing", "distinct_at",
           "join_inserts_once", "join_moves_only_to", "leave_drops_and_appends", "leave_moves_only_from",
           "ring_of"]
