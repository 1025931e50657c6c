"""Property conformance: each predicate's z3 formula means what its Python means, state by state.

The engines prove things about formulas; users wrote Python.  A Python construct that runs
differently on z3 values (``x is CONST``, ``isinstance``, an ``except`` that swallows the
engine's error) can silently turn a property into ``True``, and then every engine agrees with
itself and says ``proved``.  So every formula an engine relies on (an ``@always`` or
``@sometimes`` property, a strengthening conjunct, a refinement mapping) is compared with the
Python it came from: with the generic state X pinned to a concrete state, the formula must have
exactly the value the Python has (for a mapping: exactly one abstract state, the Python's,
compared through the abstract model's schema equality).  ``conform`` does this on every
reachable state of its instance and its random states; ``prove`` and ``bmc`` on a sample
before they may claim success.  A disagreement is a model error, never a verdict.

X is pinned by the same literals ``conform`` uses for the action relations (``pin``), and
solutions are enumerated by one function (``solutions``) for successors and mappings alike.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ..models.base import Model
from ..models.schema import Type
from .errors import ModelError, is_false
from .symbolic import (
    BoolLike,
    Conjunct,
    SymbolicModel,
    b_not,
    domain,
    eq,
    explore,
    fresh,
    interrupted,
    relation_formula,
    to_z3,
)

#: States of a ``prove``/``bmc`` sample: this many reachable (BFS order) and as many random ones.
SAMPLE_STATES = 200
SAMPLE_SEED = 0

PROPERTY, STRENGTHENING, REFINEMENT, TWIN_DOMAIN = "property", "strengthening", "refinement", "twin domain"


class SymbolicMismatch(AssertionError):
    """Internal error: the symbolic side disagrees with the Python code (a model error)."""


def pin(sm: SymbolicModel, state: Any) -> list[z3.BoolRef]:
    """Literals fixing the generic state X to ``state`` (as solver assumptions)."""
    f = sm.state_eq(sm.x, state)
    if isinstance(f, bool):
        return [] if f else [z3.BoolVal(False)]
    if z3.is_and(f):
        return list(f.children())
    return [f]


class SolverGaveUp(Exception):
    """z3 answered unknown while enumerating: nothing was compared (a comparison not made is
    ``unknown``, never agreement)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"z3 gave up enumerating solutions ({reason}); the comparison was not made")
        self.reason = reason


def solutions(solver: z3.Solver, fix: Sequence[z3.BoolRef], ty: Type, v: Any, limit: int = 64) -> list[Any]:
    """Every value of the symbolic ``v`` (of type ``ty``) in a model of ``solver`` under ``fix``.

    Enumerated with blocking clauses, at most ``limit + 1`` of them; ``SolverGaveUp`` if z3
    answers unknown.
    """
    out: list[Any] = []
    block: list[z3.BoolRef] = []
    while True:
        r = solver.check(*fix, *block)
        if r == z3.unsat:
            return out
        if r != z3.sat:
            if interrupted(solver):  # z3 caught a Ctrl-C: not a comparison that gave up
                raise KeyboardInterrupt
            raise SolverGaveUp(solver.reason_unknown() or "no reason given")
        val = _decode(ty, v, solver.model())
        out.append(val)
        block.append(to_z3(b_not(eq(ty, v, val))))
        if len(out) > limit:
            return out


def _decode(ty: Type, v: Any, m: z3.ModelRef) -> Any:
    from .symbolic import decode

    return decode(ty, v, m)


@dataclass
class Tied:
    """One formula to compare with its Python: a predicate over X, or a mapping's relation M(X, Z)."""

    kind: str  # PROPERTY, STRENGTHENING, REFINEMENT or TWIN_DOMAIN
    name: str
    fn: Callable[[Any], Any]
    formula: BoolLike
    z: Any = None  # a mapping's symbolic abstract state
    ty: Type | None = None  # a mapping's abstract schema

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass
class FormulaMismatch:
    """A state on which a formula and its Python disagree."""

    kind: str
    name: str
    source: str
    state: Any
    python: Any
    formula: Any

    def line(self) -> str:
        return (f"{self.kind} {self.name} on {self.source} state {self.state!r}: Python -> {self.python!r}, "
                f"z3 formula -> {self.formula!r}")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "source": self.source, "state": repr(self.state),
                "python": repr(self.python), "formula": repr(self.formula)}


def predicates(sm: SymbolicModel, kind: str, named: Sequence[tuple[str, Callable[[Any], Any]]],
               overrides: Mapping[str, Callable[[Any], Any]] | None = None) -> list[Conjunct]:
    """The formulas of named predicates, as the engines build them.

    ``overrides`` (name -> function) makes the symbolic side run another function: how the
    tests show that a wrong formula is caught.
    """
    out = []
    for name, fn in named:
        other = (overrides or {}).get(name)
        if other is None:
            out.append(sm.predicate(name, fn))
        else:
            c = sm.predicate(name, other)
            out.append(Conjunct(name, fn, c.formula, c.paths))
    return out


def tied(kind: str, conj: Sequence[Conjunct]) -> list[Tied]:
    return [Tied(kind, c.name, c.fn, c.formula) for c in conj]


def mappings(sm: SymbolicModel, overrides: Mapping[str, Callable[[Any], Any]] | None = None) -> list[Tied]:
    """Each refinement mapping as the relation M(X, Z): Z is what the mapping returns on X."""
    from .twin import twin

    out = []
    for ref in sm.model.refinements():
        ty = ref.abstract.state_type
        z = fresh(ty, f"{ref.name}.abstract")
        fn = (overrides or {}).get(ref.name) or ref.mapping
        paths = explore(twin(fn), (sm.x,), ref.name, sm.max_paths, sm.dom_x)
        formula = relation_formula(ty, paths, z)
        out.append(Tied(REFINEMENT, ref.name, ref.mapping, formula, z, ty))
    return out


class FormulaChecker:
    """Evaluates each tied formula with X pinned to a concrete state, and compares with Python."""

    def __init__(self, sm: SymbolicModel, items: Sequence[Tied]) -> None:
        self.sm = sm
        self.items = list(items)
        self.solvers: list[tuple[z3.Solver, z3.BoolRef | None]] = []
        self._pinning = z3.Solver()
        for it in self.items:
            s = z3.Solver()
            if it.ty is None:
                v = z3.Bool(f"tie:{it.label}")
                s.add(v == to_z3(it.formula))
                self.solvers.append((s, v))
            else:
                s.add(to_z3(it.formula), to_z3(domain(it.ty, it.z)))
                self.solvers.append((s, None))

    def check(self, state: Any, source: str, fix: Sequence[z3.BoolRef] | None = None) -> list[FormulaMismatch]:
        fix = pin(self.sm, state) if fix is None else fix
        if self.items and self._pinning.check(*fix) != z3.sat:  # else every query is unsat: "agrees"
            raise SymbolicMismatch(f"the state cannot be pinned in z3 (is it type-correct?): {state!r}")
        bad = []
        for it, (s, v) in zip(self.items, self.solvers, strict=True):
            try:
                py = it.fn(state)
            except Exception as e:  # a predicate must be total on type-correct states
                bad.append(FormulaMismatch(it.kind, it.name, source, state, f"raised {type(e).__name__}: {e}", "?"))
                continue
            if v is None:
                assert it.ty is not None
                try:
                    got = solutions(s, fix, it.ty, it.z, limit=1)
                except SolverGaveUp as e:  # as for a predicate below: not compared, so not agreed
                    bad.append(FormulaMismatch(it.kind, it.name, source, state, py, f"unknown ({e.reason})"))
                    continue
                if got != [py]:
                    bad.append(FormulaMismatch(it.kind, it.name, source, state, py, got))
                continue
            if not py and not is_false(py):  # None from a missing return, 0, an empty set
                bad.append(FormulaMismatch(it.kind, it.name, source, state, py,
                                           "not compared: the Python gave no truth value (a missing return?)"))
                continue
            truth = bool(py)
            r = s.check(*fix, z3.Not(v) if truth else v)
            if r == z3.sat:
                bad.append(FormulaMismatch(it.kind, it.name, source, state, truth, not truth))
            elif r != z3.unsat:
                if interrupted(s):
                    raise KeyboardInterrupt
                bad.append(FormulaMismatch(it.kind, it.name, source, state, truth, f"unknown ({s.reason_unknown()})"))
        return bad


def reachable_states(model: Model[Any], limit: int, timeout: float | None = None) -> list[Any]:
    """The first ``limit`` reachable states of an instance (BFS order), from the explicit checker
    (fewer if ``timeout`` seconds run out first: the caller compares the clock)."""
    from .explore import Options
    from .explore import explore as search

    # The recorded graph also holds the successors of the last states expanded (all reachable).
    res = search(model, Options(properties=[], record_graph=limit * 1000, max_states=limit, check_determinism=0,
                                timeout=timeout))
    if res.graph is None:
        raise ValueError(f"could not record {limit} reachable states of {model.name}")
    return list(res.graph.states.values())[:limit]


def random_states_of(model: Model[Any], n: int, seed: int) -> list[Any]:
    """``n`` type-correct states drawn from the schema's sampler (mostly unreachable ones)."""
    rng = random.Random(seed)
    ty = model.state_type
    return [ty.sample(rng) for _ in range(n)]


@dataclass
class TieReport:
    """What a sample tie compared: the states, the formulas, every mismatch, or why it could not run."""

    states: int = 0
    reachable: int = 0
    formulas: list[str] = field(default_factory=list)
    mismatches: list[FormulaMismatch] = field(default_factory=list)
    error: str = ""
    #: The error is the model's own (it raised, or stepped outside its schema, on a state the
    #: sample reached): a model error, not a tie that could not run.
    model_raised: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error and not self.mismatches

    def summary(self) -> str:
        if self.error:
            return f"property conformance could not run: {self.error}"
        return (f"property conformance on {self.states} states ({self.reachable} reachable, "
                f"{self.states - self.reachable} random) x {len(self.formulas)} formulas, "
                f"{len(self.mismatches)} mismatches")

    def to_json(self) -> dict[str, Any]:
        return {"states": self.states, "reachable_states": self.reachable, "formulas": self.formulas,
                "error": self.error or None, "mismatches": [m.to_json() for m in self.mismatches],
                "seconds": round(self.seconds, 6)}


def tie_line(model: Model[Any], rep: TieReport | None) -> str:
    """What a ``prove``/``bmc`` result was tied to, said on every run (DESIGN 4: nothing untied)."""
    action = "action conformance not run (run `protoproof conform` on the same model)"
    if rep is None:
        return f"NOT tied to the model: property conformance not run; {action}"
    if rep.error:
        return f"NOT tied to the model: {rep.summary()}; {action}"
    return f"tied to the model: {rep.summary()}; {action}"


def tie_sample(sm: SymbolicModel, items: Sequence[Tied], n: int = SAMPLE_STATES,
               seed: int = SAMPLE_SEED) -> TieReport:
    """Property conformance on the first ``n`` reachable states and ``n`` random ones.

    Run by ``prove`` and ``bmc`` before they may claim success; deterministic (BFS order and a
    fixed seed).  A sample that cannot be built is reported, never skipped silently.
    """
    t0 = time.perf_counter()
    rep = TieReport(formulas=[it.label for it in items])
    try:
        reach = reachable_states(sm.model, n)
        seen = set(reach)
        sample = [("reachable", s) for s in reach]
        for s in random_states_of(sm.model, n, seed):  # distinct, and not already compared
            if s not in seen:
                seen.add(s)
                sample.append(("random", s))
    except Exception as e:  # the explicit search raised: the sample, and so the tie, is missing
        rep.error = f"{type(e).__name__}: {e}"
        rep.model_raised = isinstance(e, ModelError)
        rep.seconds = time.perf_counter() - t0
        return rep
    chk = FormulaChecker(sm, items)
    for source, s in sample:
        rep.mismatches += chk.check(s, source)
    rep.states, rep.reachable = len(sample), sum(src == "reachable" for src, _s in sample)
    rep.seconds = time.perf_counter() - t0
    return rep


__all__ = [
    "FormulaChecker",
    "FormulaMismatch",
    "SolverGaveUp",
    "SymbolicMismatch",
    "TieReport",
    "Tied",
    "mappings",
    "pin",
    "predicates",
    "random_states_of",
    "reachable_states",
    "solutions",
    "tie_line",
    "tie_sample",
    "tied",
]
