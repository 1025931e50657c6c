"""The frontiers of the explicit search: breadth-first, depth-first and seeded random walks.

The search loop is the same for all three; only the order in which states are taken differs.
"""

from __future__ import annotations

import random


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


Frontier = BFS | DFS | Walks


def frontier(strategy: str, seed: int, walks: int, walk_depth: int, inits: list[int],
             walk_fresh: bool = False) -> Frontier:
    """The frontier of ``strategy`` (bfs, dfs or random; ``walk_fresh``: see ``Walks``)."""
    if strategy == "bfs":
        return BFS()
    if strategy == "dfs":
        return DFS()
    if strategy == "random":
        return Walks(seed, walks, walk_depth, inits, walk_fresh)
    raise ValueError(f"unknown strategy {strategy!r}: bfs, dfs or random")
