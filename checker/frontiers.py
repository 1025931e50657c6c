"""The frontiers of the explicit search: breadth-first, depth-first, seeded random walks and
novelty-pruned breadth-first search.

The search loop is the same for all of them; only the order in which states are taken (and, for
the novelty search, which states are expanded at all) differs.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Hashable, Iterable
from typing import Any


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

    def successors(self, depth: int, fresh: list[int], every: list[int]) -> None:
        self.nxt.extend(fresh)


class DFS:
    def __init__(self) -> None:
        self.stack: list[tuple[int, int]] = []

    def push(self, code: int, depth: int) -> None:
        self.stack.append((code, depth))

    def pop(self) -> tuple[int, int] | None:
        return self.stack.pop() if self.stack else None

    def successors(self, depth: int, fresh: list[int], every: list[int]) -> None:
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

    def successors(self, depth: int, fresh: list[int], every: list[int]) -> None:
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

    def successors(self, depth: int, fresh: list[int], every: list[int]) -> None:
        for c in fresh:
            if self.novel(c):
                self.nxt.append(c)
            else:
                self.pruned += 1


Frontier = BFS | DFS | Walks | Novelty


def frontier(strategy: str, seed: int, walks: int, walk_depth: int, inits: list[int],
             walk_fresh: bool = False, width: int = 2,
             describe: Callable[[int], dict[str, Any]] | None = None) -> Frontier:
    """The frontier of ``strategy`` (bfs, dfs, random or novelty; ``walk_fresh``: see ``Walks``;
    ``width`` and ``describe``, a state's fields by its code: see ``Novelty``)."""
    if strategy == "bfs":
        return BFS()
    if strategy == "dfs":
        return DFS()
    if strategy == "random":
        return Walks(seed, walks, walk_depth, inits, walk_fresh)
    if strategy == "novelty":
        if describe is None:
            raise ValueError("the novelty search needs the states' fields")
        return Novelty(width, describe)
    raise ValueError(f"unknown strategy {strategy!r}: bfs, dfs, random or novelty")
