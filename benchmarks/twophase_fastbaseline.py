"""The fast straightforward hand-written BFS of TwoPhase.tla: the yardstick of issue 17.

One ``successors(s)`` function builds every successor tuple inline (no function call per action
instance); states are plain tuples ``(rm_states, tm_state, tm_prepared, msgs)`` in a ``set``, the
frontier a ``deque``.  ``twophase_baseline.py`` is the slower style (one function per action
instance); the targets are measured against this one.
"""

from __future__ import annotations

from collections import deque
from typing import Any

State = tuple[tuple[str, ...], str, frozenset[int], frozenset[Any]]
COMMIT = ("Commit",)
ABORT = ("Abort",)


def successors(s: State, n: int, prepared_msg: list[tuple[str, int]]) -> list[State]:
    rm, tm, tmp, msgs = s
    out: list[State] = []
    if tm == "init":
        for r in range(n):
            if prepared_msg[r] in msgs:
                out.append((rm, tm, tmp | {r}, msgs))
        if len(tmp) == n:
            out.append((rm, "committed", tmp, msgs | {COMMIT}))
        out.append((rm, "aborted", tmp, msgs | {ABORT}))
    commit, abort = COMMIT in msgs, ABORT in msgs
    for r in range(n):
        v = rm[r]
        if v == "working":
            out.append((rm[:r] + ("prepared",) + rm[r + 1 :], tm, tmp, msgs | {prepared_msg[r]}))
            out.append((rm[:r] + ("aborted",) + rm[r + 1 :], tm, tmp, msgs))
        if commit:
            out.append((rm[:r] + ("committed",) + rm[r + 1 :], tm, tmp, msgs))
        if abort:
            out.append((rm[:r] + ("aborted",) + rm[r + 1 :], tm, tmp, msgs))
    return out


def bfs(n: int) -> tuple[int, int, int]:
    """(distinct states, transitions, depth) of TwoPhase with ``n`` RMs (a step whose guard holds
    counts as a transition even when it changes nothing, as in TLC and the model)."""
    init: State = (("working",) * n, "init", frozenset(), frozenset())
    prepared_msg = [("Prepared", r) for r in range(n)]
    seen = {init}
    frontier = deque([(init, 0)])
    transitions = depth = 0
    while frontier:
        s, d = frontier.popleft()
        if d > depth:
            depth = d
        for t in successors(s, n, prepared_msg):
            transitions += 1
            if t not in seen:
                seen.add(t)
                frontier.append((t, d + 1))
    return len(seen), transitions, depth
