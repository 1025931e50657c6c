"""The decidable fragment: a query whose quantifier-alternation graph over sorts has no cycle.

An edge ``s -> t`` means an existential of sort t under a universal of sort s (after prenex
and Skolem form: a Skolem function s -> t), or a function symbol from s to t.  Without a cycle
only finitely many ground terms exist (EPR-style), so z3's model-based quantifier
instantiation terminates, and a failed query comes with a finite counterexample.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import z3


def alternation_edges(formulas: Sequence[Any]) -> set[tuple[str, str]]:
    """The sort edges of the conjunction of ``formulas`` (as asserted): ``s -> t`` when an
    existential of sort t is under a universal of sort s (after moving to prenex/Skolem form),
    or a function maps s to t.  No cycle => finitely many ground terms (EPR-style, decidable)."""
    edges: set[tuple[str, str]] = set()
    seen: set[tuple[int, int, tuple[str, ...]]] = set()

    def walk(e: Any, pol: int, univ: tuple[str, ...]) -> None:
        key = (e.get_id(), pol, univ)
        if key in seen:
            return
        seen.add(key)
        if z3.is_quantifier(e):
            sorts = tuple(e.var_sort(i).name() for i in range(e.num_vars()))
            forall = e.is_forall()
            if pol == 0 or (forall == (pol == 1)):
                inner = tuple(sorted(set(univ) | set(sorts)))
            else:
                inner = univ
            if pol == 0 or (forall != (pol == 1)):
                edges.update((u, s) for u in univ for s in sorts)
            walk(e.body(), pol, inner)
            return
        if not z3.is_app(e):
            return
        k = e.decl().kind()
        kids = e.children()
        if k == z3.Z3_OP_NOT:
            walk(kids[0], -pol, univ)
        elif k == z3.Z3_OP_IMPLIES:
            walk(kids[0], -pol, univ)
            walk(kids[1], pol, univ)
        elif k in (z3.Z3_OP_AND, z3.Z3_OP_OR):
            for c in kids:
                walk(c, pol, univ)
        elif k in (z3.Z3_OP_EQ, z3.Z3_OP_ITE, z3.Z3_OP_XOR, z3.Z3_OP_DISTINCT, z3.Z3_OP_IFF):
            for c in kids:
                walk(c, 0, univ)
        else:
            d = e.decl()
            if k == z3.Z3_OP_UNINTERPRETED and d.arity() > 0 and d.range() != z3.BoolSort():
                edges.update((d.domain(i).name(), d.range().name()) for i in range(d.arity()))
            for c in kids:
                walk(c, pol, univ)

    for f in formulas:
        walk(f, 1, ())
    return edges


def is_stratified(edges: set[tuple[str, str]]) -> bool:
    """The sort graph has no cycle (self-loops included)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}

    def cyclic(n: str) -> bool:
        state[n] = 1
        for m in graph.get(n, ()):
            if state.get(m) == 1 or (state.get(m) is None and cyclic(m)):
                return True
        state[n] = 2
        return False

    return not any(state.get(n) is None and cyclic(n) for n in list(graph))
