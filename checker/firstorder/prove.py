"""The z3 side of a parameterized proof: induction queries built from a protocol's
``Formulas``, each checked as its own query with a timeout and for stratification.

Queries: ``Init => C`` for every conjunct ``C``, ``Inv & T_action => C'`` for every action and
conjunct, ``Inv => Safety``, plus any a protocol adds (e.g. that a literal guard implies its
stratified form).  A query z3 gives up on is ``unknown``, never success; the first invalid one
is described as a finite counterexample to induction.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from ..verdict import PROVED, UNKNOWN
from .epr import alternation_edges, is_stratified
from .formulas import Conjunct, Formulas
from .logic import Form, RelState, Signature
from .result import INVALID, VALID, Obligation, ParamProofResult


@dataclass
class Query:
    """``hyps => goal``; ``states`` name the states a counterexample shows (``pre``, ``post``)."""

    name: str
    hyps: Sequence[Any]
    goal: Any
    states: Sequence[tuple[str, RelState]]


def induction_queries(P: Formulas, conj: Sequence[Conjunct], s: RelState, t: RelState, safety_name: str,
                      extra: Callable[[list[Form]], list[Query]] | None = None) -> list[Query]:
    """Initiation, consecution per (action, conjunct) and safety, in that order; ``extra``
    (given the invariant's formulas on ``s``) adds queries after initiation."""
    inv_s = [c.formula(s) for c in conj]
    init = P.init(s)
    queries = [Query(f"init => {c.name}", [init], c.formula(s), [("state", s)]) for c in conj]
    if extra is not None:
        queries += extra(inv_s)
    for act in P.actions:
        tr = P.induction_action(act, s, t)
        queries += [Query(f"{act} preserves {c.name}", [*inv_s, tr], c.formula(t), [("pre", s), ("post", t)])
                    for c in conj]
    queries.append(Query(f"inv => {safety_name}", inv_s, P.safety(s), [("state", s)]))
    return queries


def check_queries(result: ParamProofResult, axioms: Sequence[Form], queries: Sequence[Query], timeout_s: float,
                  stop_at_first_failure: bool,
                  describe: Callable[[Any, Sequence[tuple[str, RelState]]], list[str]]) -> ParamProofResult:
    """Each query with the axioms, as its own z3 query; ``result`` gets the obligations, the
    first counterexample (``describe(z3 model, states)``), and ``proved`` only if all are valid."""
    for q in queries:
        formulas = [*axioms, *q.hyps, z3.Not(q.goal)]
        strat = is_stratified(alternation_edges(formulas))
        solver = z3.Solver()
        solver.set("timeout", max(1, int(timeout_s * 1000)))
        solver.add(*formulas)
        q0 = time.perf_counter()
        r = solver.check()
        dt = time.perf_counter() - q0
        if r == z3.unsat:
            ob = Obligation(q.name, VALID, dt, strat)
        elif r == z3.sat:
            ob = Obligation(q.name, INVALID, dt, strat)
            if not result.counterexample:
                result.counterexample = [q.name, *describe(solver.model(), q.states)]
        else:
            ob = Obligation(q.name, UNKNOWN, dt, strat, detail=f"z3: {solver.reason_unknown()}")
        result.obligations.append(ob)
        if stop_at_first_failure and ob.result != VALID:
            break

    failed = [o for o in result.obligations if o.result != VALID]
    if not failed and len(result.obligations) == len(queries):
        result.verdict = PROVED
    else:
        first = failed[0]
        result.reason = ("not inductive: " if first.result == INVALID else "solver gave up: ") + first.name
    return result


def universe(m: Any, sorts: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The elements of each sort in the z3 model ``m``."""
    return {s: list(m.get_universe(z3s) or []) for s, z3s in sorts.items()}


def default_names(univ: Mapping[str, Sequence[Any]]) -> dict[str, str]:
    """Element names ``<first letter of the sort><k>`` (``n0``, ``t1``)."""
    return {str(x): f"{s[0]}{k}" for s, xs in univ.items() for k, x in enumerate(xs)}


def facts(m: Any, signature: Signature, univ: Mapping[str, Sequence[Any]], names: Mapping[str, str],
          states: Sequence[tuple[str, RelState]], limit: int = 60) -> list[str]:
    """One line per state: its true relation tuples in the z3 model ``m``, by element name."""
    def ev(x: Any) -> Any:
        return m.eval(x, model_completion=True)

    out = []
    for label, st in states:
        found = []
        for name, args in signature.relations.items():
            f = st.rel(name)
            for combo in itertools.product(*(univ[a] for a in args)):
                if z3.is_true(ev(f(*combo))):
                    found.append(f"{name}({', '.join(names[str(c)] for c in combo)})")
        if len(found) > limit:
            found = [*found[:limit], f"... ({len(found) - limit} more)"]
        out.append(f"{label}: " + ", ".join(found))
    return out


def describe(signature: Signature, sorts: Mapping[str, Any]) -> Callable[[Any, Sequence[tuple[str, RelState]]],
                                                                          list[str]]:
    """A plain counterexample printer: elements by sort, then each state's facts."""
    def run(m: Any, states: Sequence[tuple[str, RelState]]) -> list[str]:
        univ = universe(m, sorts)
        names = default_names(univ)
        head = "; ".join(f"{s}: {', '.join(names[str(x)] for x in xs)}" for s, xs in univ.items())
        return [head, *facts(m, signature, univ, names, states)]

    return run
