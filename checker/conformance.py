"""Conformance: the symbolic side means what the Python means, state by state.

Proofs and BMC talk about z3 formulas; users run the Python code.  This check ties the two on
every reachable state of a small instance and about a thousand random type-correct states
(induction quantifies over those too):

- actions: for every action instance, the models of ``T_a(s, Y)`` (enumerated with blocking
  clauses) must be exactly ``{a(s)}`` or nothing;
- formulas (``tie``): every property, strengthening conjunct and refinement mapping has, on
  ``s``, exactly the value its Python has;
- twins: z3 proves each twin relation equivalent to the forking run of the original function,
  so the syntax rewrite cannot change meaning silently.  The forking run is bounded by a path
  count (deterministic, never a clock); a twin whose forking run exceeds it is compared on
  the states of the model's twin domain (predicates from its proofs module, proved inductive
  here first, and the line says so), or else listed as skipped with the reason, and the
  verdict is then ``unknown``, never ``conforms``.

Verdicts: ``conforms`` (exit 0) when everything was compared and agreed; ``error`` (exit 4,
a model error) on any mismatch or a twin that differs; ``unknown`` (exit 3) when something
could not be compared.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ..models.base import Model
from . import interrupt
from .bmc import header_json
from .induction import _named
from .symbolic import (
    Encoded,
    PathExplosion,
    SymbolicModel,
    SymPath,
    b_and,
    domain,
    interrupted,
    predicate_formula,
    relation_formula,
    to_z3,
)
from .tie import (
    PROPERTY,
    STRENGTHENING,
    TWIN_DOMAIN,
    FormulaChecker,
    FormulaMismatch,
    SolverGaveUp,
    Tied,
    mappings,
    pin,
    predicates,
    random_states_of,
    reachable_states,
    solutions,
    tied,
)
from .twin import recording
from .verdict import CONFORMS, ERROR, PROVED, UNKNOWN

#: Paths a twin's forking version may take before its check is skipped (a count, not a clock).
TWIN_MAX_PATHS = 2000


@dataclass
class Mismatch:
    """One (state, action) where the relation and the Python function disagree."""

    source: str
    state: Any
    action: str
    concrete: Any
    symbolic: list[Any]

    def line(self) -> str:
        return (f"{self.action} on {self.source} state {self.state!r}: concrete -> {self.concrete!r}, "
                f"symbolic -> {self.symbolic!r}")


@dataclass
class TwinCheck:
    """Whether a twin's formula is z3-equivalent to the forking run of its function."""

    name: str
    result: str  # "equivalent", "differs", "skipped: <reason>"
    seconds: float
    paths: int = 0  # paths of the forking run (0 when it was not completed)
    #: Non-empty: compared only on states satisfying these twin-domain predicates; "equivalent"
    #: then also means they were proved inductive (so every reachable state satisfies them).
    domain: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        """What an "equivalent" claims beyond equivalence: the states it covers."""
        if not self.domain:
            return ""
        return f"on states satisfying {' & '.join(self.domain)} (proved inductive)"


@dataclass
class ConformanceResult:
    model: Model[Any]
    checks: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    formula_mismatches: list[FormulaMismatch] = field(default_factory=list)
    formulas: list[str] = field(default_factory=list)
    formula_checks: int = 0
    reachable_states: int = 0
    #: Whether the reachable states compared are all of the instance's (not cut by ``max_reachable``).
    reachable_complete: bool = True
    interrupted: bool = False  # Ctrl-C ended the comparison: the counts say how far it got
    #: ``timeout`` seconds ran out before everything was compared (the counts say how far it got).
    timed_out: float | None = None
    random_states: int = 0
    twins: list[TwinCheck] = field(default_factory=list)
    twins_checked: bool = True
    #: Functions run without a twin (qualified name -> why), as twin.py reports them.
    fallbacks: dict[str, str] = field(default_factory=dict)
    #: (state, action) pairs whose successors z3 could not enumerate (not compared: ``unknown``).
    gave_up: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def skipped(self) -> list[TwinCheck]:
        return [t for t in self.twins if t.result.startswith("skipped")]

    @property
    def ok(self) -> bool:
        """Nothing disagreed (something may still not have been compared: see ``verdict``)."""
        return not self.mismatches and not self.formula_mismatches and not any(t.result == "differs"
                                                                              for t in self.twins)

    @property
    def verdict(self) -> str:
        if not self.ok:
            return ERROR
        if (self.skipped or not self.twins_checked or not self.reachable_complete or self.gave_up or self.interrupted
                or self.timed_out is not None):
            return UNKNOWN
        return CONFORMS

    @property
    def reason(self) -> str:
        if not self.ok:
            parts = []
            if self.mismatches:
                parts.append(f"{len(self.mismatches)} action mismatches")
            if self.formula_mismatches:
                parts.append(f"{len(self.formula_mismatches)} formula mismatches")
            differ = [t.name for t in self.twins if t.result == "differs"]
            if differ:
                parts.append(f"twins differ from their forking versions: {', '.join(differ)}")
            return "the symbolic side disagrees with the Python: " + "; ".join(parts)
        why = []
        if self.interrupted:
            why.append(f"interrupted ({interrupt.cause()}) after {self.reachable_states} reachable and "
                       f"{self.random_states} random states were compared")
        if self.timed_out is not None:
            why.append(f"the time ran out (--timeout {self.timed_out:g} s) after {self.reachable_states} reachable "
                       f"and {self.random_states} random states were compared"
                       + (", during the twin checks" if self.twins else ", before the twin checks"))
        if not self.reachable_complete and self.timed_out is None and not self.interrupted:
            why.append(f"only the first {self.reachable_states} reachable states were compared (--max-states)")
        if self.skipped:
            why.append(f"{len(self.skipped)} of {len(self.twins)} twin checks skipped")
        if not self.twins_checked:
            why.append("twin checks not run")
        if self.gave_up:
            why.append(f"z3 gave up on {len(self.gave_up)} (state, action) checks")
        return "; ".join(why)

    def to_lines(self) -> list[str]:
        head = (f"conform {self.model.display_name}: {self.verdict}"
                + (f" ({self.reason})" if self.reason else ""))
        lines = [head,
                 f"  actions: {self.checks} (state, action) checks over {self.reachable_states} reachable and "
                 f"{self.random_states} random states, {len(self.mismatches)} mismatches",
                 f"  formulas: {self.formula_checks} (state, formula) checks of {len(self.formulas)} properties, "
                 f"strengthening conjuncts and refinement mappings, {len(self.formula_mismatches)} mismatches",
                 f"  {self.elapsed_s:.2f}s"]
        for t in self.twins:
            if t.result != "equivalent" or t.domain:
                kind, _, why = t.result.partition(": ")
                lines.append(f"  twin {kind:<8} {t.seconds:7.4f}s  {t.name}" + (f": {why}" if why else "")
                             + (f" {t.where}" if t.domain else ""))
        n_eq = sum(t.result == "equivalent" for t in self.twins)
        n_dom = sum(t.result == "equivalent" and bool(t.domain) for t in self.twins)
        if self.twins_checked:
            lines.append(f"  {n_eq}/{len(self.twins)} twins proved equivalent to their forking versions"
                         + (f" ({n_dom} of them on the states of a proved invariant, named above)" if n_dom else ""))
        else:
            lines.append("  twins not checked")
        lines += [f"  no twin (runs forking): {name}: {why}" for name, why in self.fallbacks.items()]
        lines += ["  " + m.line() for m in self.mismatches[:20]]
        lines += ["  " + m.line() for m in self.formula_mismatches[:20]]
        lines += ["  not compared: " + g for g in self.gave_up[:20]]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            **header_json(self.model, "conform", self.verdict),
            "reason": self.reason or None,
            "checks": self.checks,
            "reachable_states": self.reachable_states,
            "reachable_complete": self.reachable_complete,
            "interrupted": self.interrupted,
            "timed_out": self.timed_out,
            "random_states": self.random_states,
            "mismatches": [
                {"source": m.source, "state": repr(m.state), "action": m.action, "concrete": repr(m.concrete),
                 "symbolic": [repr(y) for y in m.symbolic]}
                for m in self.mismatches
            ],
            "formulas": self.formulas,
            "formula_checks": self.formula_checks,
            "formula_mismatches": [m.to_json() for m in self.formula_mismatches],
            "twins": [{"name": t.name, "result": t.result, "seconds": round(t.seconds, 6), "paths": t.paths,
                       "domain": list(t.domain)} for t in self.twins],
            "twins_checked": self.twins_checked,
            "fallbacks": self.fallbacks,
            "skipped_twins": [{"name": t.name, "reason": t.result.removeprefix("skipped: ")} for t in self.skipped],
            "gave_up": self.gave_up,
            "elapsed_s": round(self.elapsed_s, 6),
        }


class Checker:
    """Compares the concrete successors of one state with the models of each action relation."""

    def __init__(self, sm: SymbolicModel, overrides: Mapping[str, Callable[[Any], Any]] | None = None) -> None:
        self.sm = sm
        self.encoded: list[Encoded] = []
        for e in sm.actions:
            fn = (overrides or {}).get(e.name)
            self.encoded.append(sm.encode(e.inst, fn) if fn is not None else e)
        self.gave_up: list[str] = []  # one line per (state, action) z3 could not enumerate
        self.solvers = []
        for e in self.encoded:
            s = z3.Solver()
            s.add(to_z3(e.formula), to_z3(sm.dom_y))
            self.solvers.append(s)

    def successors(self, k: int, state: Any, fix: list[z3.BoolRef]) -> list[Any]:
        """Every Y with ``T_k(state, Y)`` (``fix`` pins X to ``state``), enumerated with blocking clauses."""
        return solutions(self.solvers[k], fix, self.sm.ty, self.sm.y)

    def check(self, state: Any, source: str, fix: list[z3.BoolRef] | None = None) -> list[Mismatch]:
        bad = []
        fix = pin(self.sm, state) if fix is None else fix
        for k, e in enumerate(self.encoded):
            concrete = e.inst.concrete(state)
            try:
                sym = self.successors(k, state, fix)
            except SolverGaveUp as g:
                self.gave_up.append(f"{e.name} on {source} state {state!r}: z3 gave up ({g.reason})")
                continue
            if sym != ([] if concrete is None else [concrete]):
                bad.append(Mismatch(source, state, e.name, concrete, sym))
        return bad


def check_twins(model: Model[Any], sm: SymbolicModel | None = None, max_paths: int | None = None,
                twin_domain: Sequence[Callable[[Any], Any]] | None = None,
                deadline: float | None = None) -> list[TwinCheck]:
    """z3-equivalence of every action's and property's twin with the forking run of the original.

    The forking run of a function may have exponentially many paths (a leader reading its
    inbox forks on every message): after ``max_paths`` paths it is reported as skipped, with
    the reason, never as equivalent.  The budget is a path count, so the outcome does not
    depend on the machine's load.

    ``twin_domain`` (predicates a model declares in its proofs module, ``twin_domain_for``):
    a forking run that exceeds the budget is explored again on the states satisfying them
    only (infeasible answers pruned by z3) and compared there.  Such a result counts as
    equivalent only if the predicates are proved inductive (Init => D, D & T_a => D' for
    every action, ``prove`` with D as the whole invariant) and every action's twin is
    equivalent on D or everywhere: then T_twin = T_fork on D, so D is inductive for the real
    transitions, every reachable state satisfies it, and on those the twin is the function.
    Otherwise it is skipped with the reason.
    """
    from .symbolic import explore

    max_paths = TWIN_MAX_PATHS if max_paths is None else max_paths
    sm = sm or SymbolicModel(model)
    out = []
    base = b_and(sm.dom_x, sm.dom_y)
    named = _named(twin_domain or [])
    dnames = tuple(n for n, _f in named)
    restrict: Any = b_and(*(sm.predicate(n, f).formula for n, f in named)) if named else True
    pairs: list[tuple[str, Any, Callable[[bool], tuple[Any, int]]]] = []

    def paths_of(fn: Callable[[Any], Any], name: str, restricted: bool) -> list[SymPath]:
        if restricted:
            return explore(fn, (sm.x,), name, max_paths, b_and(sm.dom_x, restrict), prune=True)
        return explore(fn, (sm.x,), name, max_paths, sm.dom_x)

    def forked_action(e: Encoded, restricted: bool) -> tuple[Any, int]:
        paths = paths_of(e.inst.forking, e.name, restricted)
        return relation_formula(sm.ty, paths, sm.y), len(paths)

    def forked(name: str, fn: Callable[[Any], Any], restricted: bool) -> tuple[Any, int]:
        paths = paths_of(fn, name, restricted)
        return predicate_formula(paths), len(paths)

    def forked_mapping(m: Tied, fn: Callable[[Any], Any], restricted: bool) -> tuple[Any, int]:
        assert m.ty is not None
        paths = paths_of(fn, m.name, restricted)
        return relation_formula(m.ty, paths, m.z), len(paths)

    actions = {e.name for e in sm.actions}
    for e in sm.actions:
        pairs.append((e.name, e.formula, functools.partial(forked_action, e)))
    # Properties and mappings; not strengthening conjuncts: any inductive formula serves as one,
    # so a proof's soundness does not rest on their twins (their formulas are still tied).
    for p in [*model.invariants, *model.sometimes_properties]:
        pairs.append((p.name, sm.predicate(p.name, p.fn).formula, functools.partial(forked, p.name, p.fn)))
    for m, ref in zip(mappings(sm), model.refinements(), strict=True):
        base = b_and(base, domain(m.ty, m.z)) if m.ty is not None else base
        pairs.append((m.name, m.formula, functools.partial(forked_mapping, m, ref.mapping)))
    for name, f1, mk in pairs:
        t0 = time.perf_counter()
        if deadline is not None and t0 >= deadline:
            out.append(TwinCheck(name, f"skipped: {OUT_OF_TIME}", 0.0))
            continue
        restricted = False
        try:
            f2, n = mk(False)
        except PathExplosion as e:
            if not named:
                out.append(TwinCheck(name, f"skipped: {e}", time.perf_counter() - t0))
                continue
            restricted = True
            try:
                f2, n = mk(True)
            except PathExplosion as e2:
                out.append(TwinCheck(name, f"skipped: {e2} (also on states satisfying {' & '.join(dnames)})",
                                     time.perf_counter() - t0))
                continue
        s = z3.Solver()
        s.add(to_z3(base), to_z3(f1) != to_z3(f2))
        if restricted:
            s.add(to_z3(restrict))
        r = s.check()
        if r == z3.unknown and interrupted(s):
            raise KeyboardInterrupt
        result = "equivalent" if r == z3.unsat else "differs" if r == z3.sat else f"skipped: {s.reason_unknown()}"
        out.append(TwinCheck(name, result, time.perf_counter() - t0, n, dnames if restricted else ()))
    on_domain = [t for t in out if t.domain and t.result == "equivalent"]
    if on_domain:
        why = _domain_unproved(model, named, [t for t in out if t.name in actions])
        if why:
            for t in on_domain:
                t.result = f"skipped: equivalent only on states satisfying {' & '.join(dnames)}, {why}"
                t.domain = ()
    return out


def _domain_unproved(model: Model[Any], named: Sequence[tuple[str, Callable[[Any], Any]]],
                     action_checks: Sequence[TwinCheck]) -> str:
    """Why twin checks restricted to the twin domain may not count ("" if they may)."""
    from .induction import prove

    names = " & ".join(n for n, _f in named)
    open_ = [t.name for t in action_checks if t.result != "equivalent"]
    if open_:
        return (f"and {names} can be proved inductive for the real transitions only when every action's twin "
                f"is equivalent, which {', '.join(open_[:3])}{' ...' if len(open_) > 3 else ''} is not")
    # The tie of these formulas to their Python is conform's (on every state it compares).
    r = prove(model, [f for _n, f in named], properties=[], tie=0)
    if r.verdict != PROVED:
        return f"which is not proved inductive ({r.verdict}: {r.reason})"
    return ""


def conform(
    model: Model[Any],
    random_states: int = 1000,
    seed: int = 0,
    *,
    max_reachable: int = 20_000,
    strengthening: Sequence[Callable[[Any], Any]] | None = None,
    overrides: Mapping[str, Callable[[Any], Any]] | None = None,
    twins: bool = True,
    twin_max_paths: int | None = None,
    twin_domain: Sequence[Callable[[Any], Any]] | None = None,
    progress: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> ConformanceResult:
    """Compare the symbolic side with the Python on reachable and random states.

    Actions (relation vs successors) and formulas (every ``@always``/``@sometimes`` property,
    ``strengthening`` conjunct and refinement mapping vs its Python) are compared on each
    state, with X pinned once per state for both.  ``twin_max_paths`` bounds each twin's
    forking run (default ``TWIN_MAX_PATHS``); ``twin_domain`` (the model's, from
    ``proofs.twin_domain_for``) lets a twin whose forking run exceeds it be compared on the
    states of a proved invariant (``check_twins``); its predicates are tied like the
    strengthening's.  ``overrides`` (action repr, or a property,
    conjunct or mapping name -> function) makes the symbolic side run another function than
    the model's, which is how the tests show that the check can fail.
    ``progress`` gets a line per phase and every few seconds; Ctrl-C ends the comparison with
    what was compared so far (verdict ``unknown`` unless a mismatch was already found), and so
    does ``timeout`` seconds running out (checked between states and between twins, beside the
    Ctrl-C check: a single z3 query is not cut short).
    """
    note = progress or (lambda _line: None)
    t0 = time.perf_counter()
    deadline = None if timeout is None else t0 + timeout
    note(f"building the z3 relation of {model.display_name} from its transitions")
    with recording() as fallbacks:  # every function that runs without a twin, listed in the report
        sm = SymbolicModel(model)
        chk = Checker(sm, overrides)
        props = [(p.name, p.fn) for p in model.invariants] + [(p.name, p.fn) for p in model.sometimes_properties]
        items = tied(PROPERTY, predicates(sm, PROPERTY, props, overrides))
        items += tied(STRENGTHENING, predicates(sm, STRENGTHENING, _named(strengthening or []), overrides))
        items += tied(TWIN_DOMAIN, predicates(sm, TWIN_DOMAIN, _named(twin_domain or []), overrides))
        items += mappings(sm, overrides)
    fchk = FormulaChecker(sm, items)
    res = ConformanceResult(model, formulas=[it.label for it in items], twins_checked=twins, fallbacks=fallbacks)
    note(f"built in {time.perf_counter() - t0:.1f}s; collecting up to {max_reachable:,} reachable states")
    try:
        _check_time(deadline)
        left = None if deadline is None else max(deadline - time.perf_counter(), 0.001)
        reach = reachable_states(model, max_reachable + 1, timeout=left)
        _check_time(deadline)  # the collection may have been cut short: not all of them, maybe
        res.reachable_complete = len(reach) <= max_reachable and not interrupt.requested()  # a Ctrl-C ends
        # the search early with the states it had: fewer than all, though under the bound
        reach = reach[:max_reachable]
    except _OutOfTime:
        res.reachable_complete, res.timed_out, res.twins_checked = False, timeout, False
        res.elapsed_s = time.perf_counter() - t0
        return res
    rand = random_states_of(model, random_states, seed)
    try:
        _compare(res, chk, fchk, sm, len(items), (("reachable", reach), ("random", rand)), note, deadline)
        if twins:
            note("comparing each twin with its forking version")
            res.twins = check_twins(model, sm, twin_max_paths, twin_domain, deadline=deadline)
            if any(t.result == f"skipped: {OUT_OF_TIME}" for t in res.twins):
                res.timed_out = timeout
    except KeyboardInterrupt:
        res.interrupted = True
        res.twins_checked = res.twins_checked and bool(res.twins)
    except _OutOfTime:
        res.timed_out = timeout
        res.twins_checked = res.twins_checked and bool(res.twins)
    res.gave_up = chk.gave_up
    res.elapsed_s = time.perf_counter() - t0
    return res


OUT_OF_TIME = "the time ran out (--timeout)"


class _OutOfTime(Exception):
    """``conform``'s ``timeout`` ran out (raised between states or twins, as Ctrl-C is)."""


def _check_time(deadline: float | None) -> None:
    if deadline is not None and time.perf_counter() >= deadline:
        raise _OutOfTime


def _compare(res: ConformanceResult, chk: Checker, fchk: FormulaChecker, sm: SymbolicModel, n_items: int,
             sources: Sequence[tuple[str, Sequence[Any]]], note: Callable[[str], None],
             deadline: float | None = None) -> None:
    """Compare actions and formulas on each state; the counts in ``res`` stay true if interrupted
    or out of time (``deadline``, a ``time.perf_counter()`` value)."""
    total = sum(len(states) for _src, states in sources)
    done, next_note = 0, time.perf_counter() + 2.0
    for source, states in sources:
        for s in states:
            interrupt.check()
            _check_time(deadline)
            fix = pin(sm, s)
            res.mismatches += chk.check(s, source, fix)
            res.checks += len(chk.encoded)
            res.formula_mismatches += fchk.check(s, source, fix)
            res.formula_checks += n_items
            if source == "reachable":
                res.reachable_states += 1
            else:
                res.random_states += 1
            done += 1
            if time.perf_counter() >= next_note:
                next_note = time.perf_counter() + 2.0
                note(f"{done:,} of {total:,} states compared ({source}), "
                     f"{len(res.mismatches) + len(res.formula_mismatches)} mismatches")


__all__ = ["Checker", "ConformanceResult", "Mismatch", "check_twins", "conform", "random_states_of", "reachable_states"]
