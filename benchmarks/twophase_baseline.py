"""A straightforward hand-written BFS of TwoPhase.tla over plain tuples: the CPython yardstick.

One function per TLA+ action, called for every action instance (4N+2 of them), each
returning the next state or None; states are plain tuples
``(rm_states, tm_state, tm_prepared, msgs)`` in a ``set``, the frontier a ``deque``.  This is
how one writes a checker by hand for one protocol, with no framework at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

State = tuple[tuple[str, ...], str, frozenset[int], frozenset[tuple[Any, ...]]]
COMMIT = ("Commit",)
ABORT = ("Abort",)


def tm_rcv_prepared(s: State, rm: int) -> State | None:
    if s[1] == "init" and ("Prepared", rm) in s[3]:
        return (s[0], s[1], s[2] | {rm}, s[3])
    return None


def tm_commit(s: State, n: int) -> State | None:
    if s[1] == "init" and len(s[2]) == n:
        return (s[0], "committed", s[2], s[3] | {COMMIT})
    return None


def tm_abort(s: State) -> State | None:
    if s[1] == "init":
        return (s[0], "aborted", s[2], s[3] | {ABORT})
    return None


def _set(rm: tuple[str, ...], r: int, v: str) -> tuple[str, ...]:
    return rm[:r] + (v,) + rm[r + 1 :]


def rm_prepare(s: State, r: int) -> State | None:
    if s[0][r] == "working":
        return (_set(s[0], r, "prepared"), s[1], s[2], s[3] | {("Prepared", r)})
    return None


def rm_choose_to_abort(s: State, r: int) -> State | None:
    if s[0][r] == "working":
        return (_set(s[0], r, "aborted"), s[1], s[2], s[3])
    return None


def rm_rcv_commit(s: State, r: int) -> State | None:
    if COMMIT in s[3]:
        return (_set(s[0], r, "committed"), s[1], s[2], s[3])
    return None


def rm_rcv_abort(s: State, r: int) -> State | None:
    if ABORT in s[3]:
        return (_set(s[0], r, "aborted"), s[1], s[2], s[3])
    return None


def instances(n: int) -> list[tuple[Callable[..., State | None], tuple[int, ...]]]:
    out: list[tuple[Callable[..., State | None], tuple[int, ...]]] = []
    out += [(tm_rcv_prepared, (r,)) for r in range(n)]
    out += [(tm_commit, (n,)), (tm_abort, ())]
    for f in (rm_prepare, rm_choose_to_abort, rm_rcv_commit, rm_rcv_abort):
        out += [(f, (r,)) for r in range(n)]
    return out


def bfs(n: int) -> tuple[int, int, int]:
    """(distinct states, transitions, depth) of TwoPhase with ``n`` RMs."""
    init: State = (("working",) * n, "init", frozenset(), frozenset())
    acts = instances(n)
    seen = {init}
    frontier = deque([(init, 0)])
    transitions = depth = 0
    while frontier:
        s, d = frontier.popleft()
        if d > depth:
            depth = d
        for f, args in acts:
            t = f(s, *args)
            if t is None:
                continue
            transitions += 1
            if t not in seen:
                seen.add(t)
                frontier.append((t, d + 1))
    return len(seen), transitions, depth
