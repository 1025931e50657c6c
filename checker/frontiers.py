"""The frontiers of the explicit search: breadth-first, depth-first, seeded random walks (plain or
swarm) and novelty-pruned breadth-first search.

The search loop is the same for all of them; only the order in which states are taken (and, for
the novelty search, which states are expanded at all) differs.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from ..models.base import Action

#: A step out of a state: the action and its successor's code (the search's ``pairs``).
Steps = list[tuple[Action, int]]


class BFS:
    """Level by level, so ``depth`` is exact and the first violation found is a shortest one."""

    def __init__(self) -> None:
        self.cur: list[int] = []
        self.nxt: list[int] = []
        self.pos = 0
        self.depth = 0

    def push(self, code: int, depth: int) -> None:
        self.cur.append(code)

    def pop(self) -> tuple[int, int] | None:
        if self.pos == len(self.cur):
            if not self.nxt:
                return None
            self.cur, self.nxt, self.pos = self.nxt, [], 0
            self.depth += 1
        code = self.cur[self.pos]
        self.pos += 1
        return code, self.depth

    def successors(self, depth: int, fresh: list[int], every: list[int], steps: Steps | None = None) -> None:
        self.nxt.extend(fresh)


class DFS:
    def __init__(self) -> None:
        self.stack: list[tuple[int, int]] = []

    def push(self, code: int, depth: int) -> None:
        self.stack.append((code, depth))

    def pop(self) -> tuple[int, int] | None:
        return self.stack.pop() if self.stack else None

    def successors(self, depth: int, fresh: list[int], every: list[int], steps: Steps | None = None) -> None:
        self.stack.extend((c, depth + 1) for c in reversed(fresh))


class Walks:
    """Seeded random walks: each step follows one random successor, seen or not.

    With ``fresh``, a step follows a random successor never seen before where there is one (a
    seen one otherwise): walks then spend less of their length on states already explored,
    which reaches deep bugs sooner where most steps lead back (a restart, a re-sent message).
    Either way a walk only samples: finding nothing is ``bounded``."""

    def __init__(self, seed: int, walks: int, walk_depth: int, inits: list[int], fresh: bool = False) -> None:
        self.rng = random.Random(seed)
        self.left, self.walk_depth, self.inits = walks, walk_depth, inits
        self.fresh = fresh
        self.next: tuple[int, int] | None = None

    def push(self, code: int, depth: int) -> None:
        pass  # walks start from a random initial state in pop()

    def pop(self) -> tuple[int, int] | None:
        if self.next is None:
            if self.left <= 0:
                return None
            self.left -= 1
            return self.rng.choice(self.inits), 0
        item, self.next = self.next, None
        return item

    def successors(self, depth: int, fresh: list[int], every: list[int], steps: Steps | None = None) -> None:
        if every and depth + 1 <= self.walk_depth:
            self.next = (self.rng.choice(fresh if self.fresh and fresh else every), depth + 1)


def atoms(fields: dict[str, Any]) -> Iterable[Hashable]:
    """The atoms of a state for the novelty test: the state of each component (the fields of
    ``describe_state`` named ``component.field`` grouped by component, e.g. one server of a
    protocol; a field without a dot is a component of its own), and each element of a field
    whose value is a list (a network's messages in flight)."""
    parts: dict[str, list[Any]] = {}
    for k, v in fields.items():
        if isinstance(v, list):
            yield from ((k, repr(x)) for x in v)
            continue
        try:
            hash(v)
        except TypeError:
            v = repr(v)
        parts.setdefault(k.split(".", 1)[0], []).append((k, v))
    for name, kv in parts.items():
        yield (name, tuple(kv))


class Novelty(BFS):
    """Breadth-first search that expands only *novel* states: IW(k), the width-based search of
    classical planning (Lipovetzky and Geffner, "Width and Serialization of Classical Planning
    Problems", ECAI 2012).  A newly generated state is novel if some set of at most ``width``
    atoms (a component's state, or a message in flight: ``atoms``) holds in it and in no state
    generated before; the others are stored and checked, but not expanded.  IW(k) expands at most
    O(atoms^k) states, so it reaches depths that plain breadth-first search cannot, along paths
    on which each step makes some pair new (two servers' states never seen together, or a
    server's state with a message).  Every state it reports is reached by a real path; pruning
    makes it incomplete, so a run that pruned a state and found nothing is ``bounded``, never
    ``exhausted`` (one that pruned none visited what breadth-first search visits)."""

    def __init__(self, width: int, describe: Callable[[int], dict[str, Any]]) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"--width must be at least 1, not {width}")
        self.width, self.describe = width, describe
        self.ids: dict[Hashable, int] = {}
        self.seen: set[tuple[int, ...]] = set()
        self.pruned = 0

    def novel(self, code: int) -> bool:
        """Whether the state of ``code`` has a new set of at most ``width`` atoms; records them."""
        ids, seen = self.ids, self.seen
        mine = sorted({ids.setdefault(a, len(ids)) for a in atoms(self.describe(code))})
        new = [t for k in range(1, min(self.width, len(mine)) + 1) for t in itertools.combinations(mine, k)
               if t not in seen]
        seen.update(new)
        return bool(new)

    def push(self, code: int, depth: int) -> None:
        self.novel(code)
        super().push(code, depth)

    def successors(self, depth: int, fresh: list[int], every: list[int], steps: Steps | None = None) -> None:
        for c in fresh:
            if self.novel(c):
                self.nxt.append(c)
            else:
                self.pruned += 1


def kind(a: Action) -> tuple[Hashable, ...]:
    """An action's kind for swarm walks: its family (the receive of a message type is a family of
    its own) with its scalar arguments (which node, which peer), without its message's contents."""
    return (a.family, *(v for _k, v in a.args if isinstance(v, (str, int, bool))))


class Swarm(Walks):
    """Swarm random walks (Groce et al., "Swarm Testing", ISSTA 2012; Holzmann's swarm
    verification): each walk draws its own configuration, so that walks differ in what they do,
    not only in their coin flips.  A kind of action (``kind``: e.g. one server's timeout, the
    delivery of one message type from one node to another) is, for the whole walk, left out with
    probability ``omit`` (taken only where nothing else is enabled: an always-enabled step, such as
    a timeout, then no longer crowds out the slow progress of a protocol) or else given a weight
    drawn log-uniformly from ``2**-spread .. 2**spread``; a step follows a successor with
    probability proportional to its action's weight (among the never-seen ones first, with
    ``fresh``).  Weights are drawn in the order kinds are met, from the run's one seeded generator,
    so a run is reproducible from ``--seed``.  ``changes``: that many random depths of each walk at
    which a new configuration is drawn, as PCT's priority-change points (Burckhardt et al., ASPLOS
    2010); 0 by default and not on the command line: in the measurements the README gives, they
    found no bug that plain swarm walks missed.  Like every walk it samples: finding nothing is
    ``bounded``."""

    def __init__(self, seed: int, walks: int, walk_depth: int, inits: list[int], fresh: bool = False,
                 omit: float = 0.5, spread: float = 4.0, changes: int = 0) -> None:
        super().__init__(seed, walks, walk_depth, inits, fresh)
        self.omit, self.spread, self.changes = omit, spread, changes
        self.weights: dict[tuple[Hashable, ...], float] = {}
        self.change_at: set[int] = set()

    def pop(self) -> tuple[int, int] | None:
        if self.next is None:
            self.weights = {}  # a new walk: a new configuration
            if self.changes:
                depths = range(1, self.walk_depth)
                self.change_at = set(self.rng.sample(depths, min(self.changes, len(depths))))
        return super().pop()

    def weight(self, a: Action) -> float:
        k = kind(a)
        w = self.weights.get(k)
        if w is None:
            rng = self.rng
            w = self.weights[k] = 0.0 if rng.random() < self.omit else 2.0 ** rng.uniform(-self.spread, self.spread)
        return w

    def successors(self, depth: int, fresh: list[int], every: list[int], steps: Steps | None = None) -> None:
        if not every or depth + 1 > self.walk_depth:
            return
        if steps is None:  # no actions to weigh: a plain walk's step
            super().successors(depth, fresh, every)
            return
        if depth + 1 in self.change_at:
            self.weights = {}  # a change point: a new configuration from here on
        new = set(fresh) if self.fresh and fresh else None
        cands = [(a, c) for a, c in steps if new is None or c in new]
        ws = [self.weight(a) for a, _c in cands]
        if sum(ws) > 0:
            pick = self.rng.choices(cands, weights=ws)[0]
        else:  # only left-out kinds are enabled
            pick = self.rng.choice(cands)
        self.next = (pick[1], depth + 1)


Frontier = BFS | DFS | Walks | Novelty


def frontier(strategy: str, seed: int, walks: int, walk_depth: int, inits: list[int],
             walk_fresh: bool = False, width: int = 2,
             describe: Callable[[int], dict[str, Any]] | None = None) -> Frontier:
    """The frontier of ``strategy`` (bfs, dfs, random, swarm or novelty; ``walk_fresh``: see ``Walks``;
    ``width`` and ``describe``, a state's fields by its code: see ``Novelty``)."""
    if strategy == "bfs":
        return BFS()
    if strategy == "dfs":
        return DFS()
    if strategy == "random":
        return Walks(seed, walks, walk_depth, inits, walk_fresh)
    if strategy == "swarm":
        return Swarm(seed, walks, walk_depth, inits, walk_fresh)
    if strategy == "novelty":
        if describe is None:
            raise ValueError("the novelty search needs the states' fields")
        return Novelty(width, describe)
    raise ValueError(f"unknown strategy {strategy!r}: bfs, dfs, random, swarm or novelty")
