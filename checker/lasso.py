"""Whether a lasso (a ``Path`` with a ``loop_start``) violates a liveness property, judged on its
own states: what a replayed counterexample is checked against, independently of the search."""

from __future__ import annotations

from typing import Any

from ..models.base import Property
from .path import Path


def lasso_violation(path: Path, prop: Property) -> str | None:
    """Why the behaviour ``path`` describes violates ``prop`` under the model's fairness, in one
    line; None if it does not (not a lasso, an unfair loop, or the property met on it)."""
    k = path.loop_start
    if k is None:
        return None
    model, states, actions = path.model, path.states, path.actions
    looping = k < len(actions)
    if looping and states[-1] != states[k]:
        return None  # the loop does not return to its start
    if not looping and _unfair(model, states[-1:], []) is not None:
        return None  # it stops where a fair action is enabled: no fair behaviour stops there
    q = prop.fn
    if prop.kind == "eventually":
        if any(q(s) for s in states):
            return None
        start = 0
    elif prop.kind == "always_eventually":
        if any(q(s) for s in states[k:]):
            return None
        start = k
    else:
        premise = prop.premise
        assert premise is not None
        start = next((j for j in range(len(states))
                      if premise(states[j]) and not any(q(s) for s in states[min(j, k):])), -1)
        if start < 0:
            return None
    if looping and _unfair(model, states[k:-1], actions[k:]) is not None:
        return None
    where = "stops" if not looping else f"loops from state {k}"
    return f"{prop.name} never holds from state {start} on: the fair behaviour {where} without it"


def _unfair(model: Any, loop_states: list[Any], loop_actions: list[Any]) -> str | None:
    """The first fair action instance the loop starves, or None (the loop is fair)."""
    by_family = model.fairness_by_family()
    taken = set(loop_actions)
    enabled = [{a for a, _t in model.successors(s) if by_family[a.family] is not None} for s in loop_states]
    everywhere = set.intersection(*enabled) if enabled else set()
    somewhere = set().union(*enabled)
    for a in sorted(somewhere - taken, key=repr):
        kind = by_family[a.family]
        if kind == "strong" or (kind == "weak" and a in everywhere):
            return repr(a)
    return None
