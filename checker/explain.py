"""Why a counterexample violates its property: the step that made it false, and the reason.

A picture or a report of a bug should say more than "atomicity violated": which step broke it
and what is wrong in the state it reached ("rm0 committed while rm2 aborted", from the model's
``@explains`` hook), and, for a refinement, which abstract step the concrete step would need and
why none exists (the abstract states before and after, and what the abstract model could do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models.base import LIVENESS
from .checks import explain_refinement
from .path import Path


@dataclass(frozen=True)
class RefinementGap:
    """A concrete step that maps to no abstract step: ``before -?-> after`` in the abstract model."""

    step: int  # 1-based: path.actions[step - 1] is the concrete step
    action: str
    before: Any  # the abstract state of path.states[step - 1]
    after: Any  # the abstract state of path.states[step]
    enabled: list[tuple[str, Any]]  # the abstract actions enabled in ``before``, with their targets


def refinement_gap(path: Path, prop: str) -> RefinementGap | None:
    """The first step of ``path`` that the refinement ``prop`` cannot match; None if every step
    matches (or ``prop`` is no refinement of the model)."""
    for r in path.model.refinements():
        if r.name != prop:
            continue
        for k, (s, t) in enumerate(zip(path.states, path.states[1:], strict=False), 1):
            x, y = r.mapping(s), r.mapping(t)
            succ = list(r.abstract.successors(x))
            if x != y and all(u != y for _a, u in succ):
                return RefinementGap(k, repr(path.actions[k - 1]), x, y, [(repr(a), u) for a, u in succ])
    return None


def falsifying_step(path: Path, prop: str) -> int | None:
    """The step (1-based) after which ``prop`` stays false to the end of ``path``: for an invariant
    the step into the first state of the final violating stretch, for a step property or a
    refinement the offending step; None for liveness, an unknown name, or a path that does
    not violate ``prop`` at its end."""
    model = path.model
    for p in model.properties:
        if p.name != prop or p.kind in LIVENESS:
            continue
        if p.kind == "always":
            if p.fn(path.states[-1]):
                return None
            k = len(path.states) - 1
            while k > 0 and not p.fn(path.states[k - 1]):
                k -= 1
            return k or None
        if p.kind == "step" and path.actions:
            return len(path.actions) if not p.fn(path.states[-2], path.actions[-1], path.states[-1]) else None
        return None
    gap = refinement_gap(path, prop)
    return gap.step if gap is not None else None


def reason(path: Path, prop: str) -> str | None:
    """Why ``prop`` is false at the end of ``path``, in one line: the model's ``@explains`` hook on
    the violating state, else the generic reason (``Path.violation``); None if it is not violated."""
    k = falsifying_step(path, prop)
    if k is not None:
        why = path.model.explain(prop, path.states[k])
        if why:
            return why
    gap = refinement_gap(path, prop)
    if gap is not None:
        return _gap_text(path, prop, gap)
    try:
        return path.violation(prop)
    except Exception:  # an unknown name or a lasso helper's failure: no reason, no crash
        return None


def chart_title(path: Path, prop: str, model_name: str) -> str:
    """A picture's title: the model, the property and why it fails; for a refinement also the
    abstract states and steps (several lines)."""
    k = falsifying_step(path, prop)
    head = f"{model_name}: {prop} violated"
    if k is not None:
        head += f" at step {k}"
    gap = refinement_gap(path, prop)
    if gap is not None:
        return "\n".join([head, *(part.strip() for part in _gap_text(path, prop, gap).split(";"))])
    why = reason(path, prop)
    return f"{head}: {why}" if why else head


def _gap_text(path: Path, prop: str, gap: RefinementGap) -> str:
    """``explain_refinement``'s words on the gap's step (the path cut there)."""
    cut = Path(path.model, path.states[: gap.step + 1], path.actions[: gap.step])
    return explain_refinement(path.model, prop, cut) or f"step {gap.step} maps to no abstract step"


__all__ = ["RefinementGap", "chart_title", "falsifying_step", "reason", "refinement_gap"]
