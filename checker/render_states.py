"""A readable state graph of a big model: the path and its immediate neighbourhood.

Drawing a whole state space of more than a few dozen states gives a strip tens of thousands
of points wide that nobody can read.  Around a counterexample, what matters is the path and
what else each of its states could have done: so this builds a small ``Graph`` of the path's
states, each with (up to ``per_state``) of its successors, from the model itself (no recorded
graph needed, so it works on a space of any size).  ``render.state_graph`` draws it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..models.base import Model
from .explore import Graph
from .path import Path

#: Above this many states a whole state graph is replaced by the path's neighbourhood.
NEIGHBOURHOOD_ABOVE = 60
#: At most this many successors of each path state besides its path step are drawn.
PER_STATE = 4


@dataclass
class Neighbourhood:
    """The path's states and their successors as a ``Graph``, and how many successors were left out."""

    graph: Graph
    hidden: int  # successors not drawn (beyond ``per_state`` for some path state)

    def caption(self) -> str:
        """A line for the picture's title saying what is drawn."""
        more = f"; {self.hidden} more successors not drawn" if self.hidden else ""
        return f"the path and its states' other successors ({len(self.graph.states)} states{more})"


def neighbourhood(model: Model[Any], path: Path, key: Callable[[Any], int] | None = None,
                  per_state: int = PER_STATE) -> Neighbourhood:
    """The states of ``path``, each with its path step and up to ``per_state`` other successors.

    ``key`` codes states as the explorer did (``Canonicalizer(model).key`` under symmetry), so
    ``state_graph`` finds the path's states with the same ``key``.
    """
    code_of = key if key is not None else model.state_type.pack
    states: dict[int, Any] = {}
    edges: list[tuple[int, str, int]] = []
    seen_edges: set[tuple[int, str, int]] = set()
    hidden = 0

    def add(a: int, label: str, b: int, s: Any) -> None:
        states.setdefault(b, s)
        if (a, label, b) not in seen_edges:
            seen_edges.add((a, label, b))
            edges.append((a, label, b))

    codes = [code_of(s) for s in path.states]
    for c, s in zip(codes, path.states, strict=True):
        states.setdefault(c, s)
    for k, (c, s) in enumerate(zip(codes, path.states, strict=True)):
        on_path = (repr(path.actions[k]), codes[k + 1]) if k < len(path.actions) else None
        if on_path is not None:
            add(c, on_path[0], on_path[1], path.states[k + 1])
        others = [(repr(a), t) for a, t in model.successors(s)]
        others = [(label, t) for label, t in others if (label, code_of(t)) != on_path]
        for label, t in others[:per_state]:
            add(c, label, code_of(t), t)
        hidden += max(0, len(others) - per_state)
    return Neighbourhood(Graph(states, edges, [codes[0]]), hidden)


def cluster_values(model: Model[Any], states: dict[int, Any], field: str) -> dict[int, str]:
    """Each state's ``field=value`` (from ``describe_state``), the clusters of ``state_graph``.

    Raises ``ValueError`` naming the fields there are when no state has ``field``.
    """
    out: dict[int, str] = {}
    fields: dict[str, None] = {}
    for c, s in states.items():
        d = model.describe_state(s)
        fields.update(dict.fromkeys(d))
        if field in d:
            out[c] = f"{field}={d[field]!r}"
    if states and not out:
        raise ValueError(f"no state has a field {field!r} to cluster by; its fields: {', '.join(fields)}")
    return out


__all__ = ["NEIGHBOURHOOD_ABOVE", "PER_STATE", "Neighbourhood", "cluster_values", "neighbourhood"]
