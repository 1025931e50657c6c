"""Shortening a counterexample that a non-breadth-first search found (a walk's, a novelty search's).

Delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing Input", TSE
2002) on the path's actions: drop a chunk of consecutive steps, replay the rest from the same
initial state, skipping the steps that are no longer enabled (the send of a dropped request takes
its delivery with it), and keep what was taken if the property is still broken -- at its end, or
already at an earlier step, where the path is then cut.  What is kept is a real run of the model.
Chunks halve down to single steps; the result is 1-minimal (no single step can be dropped) when the
time budget allows, but not proved shortest: only breadth-first search proves that.
"""

from __future__ import annotations

import time
from typing import Any

from ..models.base import LIVENESS, Action, Model
from .path import Path

__all__ = ["shorten"]


def _breaks(model: Model[Any], prev: Any, a: Action | None, t: Any, prop: str) -> bool:
    """Whether ``prop`` is broken in ``t`` (or by the step ``prev -a-> t``)."""
    tail = Path(model, [t]) if a is None else Path(model, [prev, t], [a])
    return tail.violation(prop) is not None


def _replay(model: Model[Any], init: Any, actions: list[Action], prop: str) -> Path | None:
    """The path of those of ``actions`` that are enabled where they come, from ``init``, cut at
    the first step that breaks ``prop``; None if ``prop`` is never broken."""
    states, taken = [init], []
    for a in actions:
        t = model.step(states[-1], a)
        if t is None:
            continue
        states.append(t)
        taken.append(a)
        if _breaks(model, states[-2], a, t, prop):
            return Path(model, states, taken)
    return None


def shortenable(model: Model[Any], path: Path, prop: str) -> bool:
    """Only a finite counterexample to a safety property (not a lasso) is shortened."""
    kinds = {p.name: p.kind for p in model.properties}
    return path.loop_start is None and kinds.get(prop) not in LIVENESS and bool(path.actions)


def shorten(model: Model[Any], path: Path, prop: str, budget_s: float) -> Path:
    """A path no longer than ``path`` from its initial state that still breaks ``prop`` (see the
    module's docstring); ``path`` itself if no step could be dropped within ``budget_s`` seconds."""
    if not shortenable(model, path, prop) or budget_s <= 0:
        return path
    deadline = time.perf_counter() + budget_s
    init = path.states[0]
    best = _replay(model, init, list(path.actions), prop)
    if best is None or len(best.actions) > len(path.actions):  # it should replay: leave it as it is
        return path
    n = 2
    while len(best.actions) >= 2:
        acts = best.actions
        chunk = -(-len(acts) // n)
        dropped = False
        for start in range(0, len(acts), chunk):
            if time.perf_counter() >= deadline:
                return best
            got = _replay(model, init, acts[:start] + acts[start + chunk:], prop)
            if got is not None:
                best, dropped = got, True
                n = max(n - 1, 2)
                break
        if not dropped:
            if chunk == 1:
                break
            n = min(2 * n, len(acts))
    return best
