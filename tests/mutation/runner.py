"""Run the engines on a mutant and decide, engine by engine, whether it was caught.

One runner serves the CI test (``tests/mutation/test_mutants.py``) and the printed report
(``benchmarks/mutants.py``).  The engines are called through their Python API, as ``cli.py``
calls them.  The rule, per engine (a mutant is caught iff ``check`` catches it and no other
engine lets it escape):

- ``check``: ``explore`` restricted to the broken property finds a violation with a path.  That
  path's length is the bug's depth.  Anything else (exhausted, bounded, a model error except on a
  PROPERTY mutant, see below) is an escape.
- ``bmc``: ``bmc`` at the bug's depth answers ``violated``.  ``bounded`` at that depth is an escape.
  A mutant whose bug lies deeper than its ``bmc_cap`` (what z3 affords) is unrolled on CaDiCaL
  (``bmc --solver cadical``) instead, to the full depth.  ``bmc-once``: the same with
  ``--one-query`` (every step unrolled, one query for a violation at any depth).  ``bmc-way``: the
  same with ``--waypoint True`` (each leg to the bug's depth: BMC from the initial state leg 1 took).
- ``prove`` (with ``proofs.strengthening_for``), ``prove-sym`` (the same, ``symmetry=True``) and
  ``prove-bare`` (no strengthening): anything but ``proved`` is a catch.  A buggy model must never
  be proved, whatever the strengthening, and a renaming must never cover a query that fails.
- ``param``: ``prove_paxos_param(model_class=...)`` must not answer ``proved``; an engine without
  the ``model_class`` keyword has no tie to the model, which is an escape.
- A z3 engine that raises a model error (``SymbolicError``, ``SymbolicMismatch``,
  ``ModelDefinitionError``) catches only a PROPERTY mutant: refusing a property it cannot
  evaluate is the right answer there; for any other mutant the engine failed to find the bug.

A benign mutant must be exhausted by ``check`` (every property, refinements included), not be
violated by ``bmc`` (nor ``bmc-once``, nor ``bmc-way``), and be ``proved`` by each engine in its
``must_prove`` (``prove`` there means ``prove-sym`` too, where the model declares a symmetry).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from protoproof.checker.bmc import SymbolicMismatch, bmc
from protoproof.checker.bmc_sat import CADICAL, Z3
from protoproof.checker.explore import ModelError, Nondeterminism, Options, explore
from protoproof.checker.induction import prove
from protoproof.checker.symbolic import SymbolicError
from protoproof.checker.verdict import BOUNDED, ERROR, EXHAUSTED, PROVED, UNKNOWN, VIOLATED
from protoproof.models.base import Model, ModelDefinitionError
from protoproof.proofs import strengthening_for

from .catalogue import (
    BMC,
    BMC_ONCE,
    BMC_WAY,
    CHECK,
    ENGINES,
    PARAM,
    PROPERTY,
    PROVE,
    PROVE_BARE,
    PROVE_SYM,
    Benign,
    Mutant,
)

#: Outcomes of one engine on one mutant.
CAUGHT, ESCAPED, CAPPED, NOT_RUN = "caught", "ESCAPED", "capped", "-"
#: Outcomes on a benign mutant.
OK, WOLF, INFO = "ok", "NOT OK", "info"

ENGINE_ERRORS: tuple[type[Exception], ...] = (SymbolicError, SymbolicMismatch, ModelDefinitionError)


@dataclass
class Cell:
    """What one engine said about one mutant, and whether that counts as a catch."""

    engine: str
    outcome: str
    verdict: str
    detail: str = ""
    seconds: float = 0.0

    #: A ``prove`` catch that says nothing: the unmutated model is not proved there either.
    vacuous: str = ""

    def short(self) -> str:
        star = "*" if self.vacuous else ""
        return f"{self.outcome}{star} ({self.verdict})" if self.outcome != NOT_RUN else NOT_RUN


@dataclass
class MutantResult:
    mutant: Mutant
    cells: dict[str, Cell] = field(default_factory=dict)
    depth: int | None = None  # length of check's shortest counterexample

    @property
    def caught(self) -> bool:
        check = self.cells.get(CHECK)
        return (check is not None and check.outcome == CAUGHT
                and not any(c.outcome == ESCAPED for c in self.cells.values()))

    @property
    def escapes(self) -> list[Cell]:
        return [c for c in self.cells.values() if c.outcome == ESCAPED]

    @property
    def capped(self) -> list[Cell]:
        return [c for c in self.cells.values() if c.outcome == CAPPED]


@dataclass
class BenignResult:
    benign: Benign
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(c.outcome == WOLF for c in self.cells.values())


def _error_cell(engine: str, e: Exception | str, kind: str, t0: float) -> Cell:
    """A model error (raised, or an ``error`` verdict): a catch only for a property mutant.

    An engine's formula disagreeing with the Python says nothing about a guard mutant's bug.
    """
    text = str(e).strip().split("\n")[0][:160]
    detail = text if isinstance(e, str) else f"{type(e).__name__}: {text}"
    outcome = CAUGHT if kind == PROPERTY else ESCAPED
    return Cell(engine, outcome, ERROR, detail, time.perf_counter() - t0)


# ----- one engine each ----------------------------------------------------------------


def run_check(model: Model[Any], prop: str, kind: str = "") -> tuple[Cell, int | None]:
    """``check`` restricted to ``prop`` (so the path is that property's shortest counterexample).

    A model error catches a PROPERTY mutant only (a checker may refuse ``x is CONST``); it has no
    depth, so bmc is then not run.
    """
    t0 = time.perf_counter()
    try:
        r = explore(model, Options(properties=[prop]))
    except (ModelError, Nondeterminism, ModelDefinitionError) as e:
        return _error_cell(CHECK, e, kind, t0), None
    dt = time.perf_counter() - t0
    states = f"{r.stats.distinct_states:,} states"
    if r.verdict == VIOLATED and r.path is not None and r.property == prop:
        return Cell(CHECK, CAUGHT, VIOLATED, f"{prop} in {len(r.path)} steps, {states}", dt), len(r.path)
    return Cell(CHECK, ESCAPED, r.verdict, f"{states}" + (f", {r.property}" if r.property else ""), dt), None


#: ``bmc-way``'s waypoint: every state satisfies it, so leg 1 ends at step 0.
WAY_EVERYWHERE = "True"


def run_bmc(model: Model[Any], prop: str, depth: int, cap: int | None, kind: str, one_query: bool = False,
            waypoint: bool = False) -> Cell:
    """``bmc`` unrolled to the bug's depth: on z3 up to ``cap``, on CaDiCaL beyond it.

    check's counterexample is a shortest one, so an unrolling shallower than ``depth`` cannot
    find the bug.  The caps were set when z3 unrolled on integers (Paxos with a crash at depth 14:
    562 s; at depth 17: no answer in 9 minutes); on bit-vectors z3 takes 11.5 s and 168 s there,
    CaDiCaL 7.6 s and 37 s (``benchmarks/bmc_solvers.py --deep``).
    """
    solver = Z3 if cap is None or depth <= cap else CADICAL
    engine = BMC_ONCE if one_query else BMC_WAY if waypoint else BMC
    t0 = time.perf_counter()
    try:
        r = bmc(model, depth, [prop], solver=solver, one_query=one_query,
                waypoints=[WAY_EVERYWHERE] if waypoint else ())
    except ENGINE_ERRORS as e:
        return _error_cell(engine, e, kind, t0)
    if r.verdict == ERROR:
        return _error_cell(engine, r.reason or "error", kind, t0)
    dt = time.perf_counter() - t0
    on = f" on CaDiCaL (beyond z3's cap of {cap})" if solver == CADICAL else ""
    if r.verdict == VIOLATED:
        return Cell(engine, CAUGHT, VIOLATED, f"{r.property} at depth {r.depth_reached}{on}", dt)
    return Cell(engine, ESCAPED, r.verdict, f"depth {depth}{on}" + (f": {r.reason}" if r.reason else ""), dt)


def run_prove(model: Model[Any], kind: str, bare: bool, symmetry: bool = False) -> Cell:
    """``prove`` with the shipped strengthening (up to ``symmetry``), or with none (``bare``)."""
    engine = PROVE_BARE if bare else PROVE_SYM if symmetry else PROVE
    t0 = time.perf_counter()
    try:
        strengthening = [] if bare else (strengthening_for(model) or [])
        r = prove(model, strengthening, symmetry=symmetry)
    except ENGINE_ERRORS as e:
        return _error_cell(engine, e, kind, t0)
    if r.verdict == ERROR:
        return _error_cell(engine, r.reason or "error", kind, t0)
    dt = time.perf_counter() - t0
    outcome = ESCAPED if r.verdict == PROVED else CAUGHT
    return Cell(engine, outcome, r.verdict, r.reason, dt)


_controls: dict[tuple[type[Model[Any]], tuple[tuple[str, int], ...]], str] = {}


def unmutated(model_class: type[Model[Any]]) -> type[Model[Any]]:
    """The shipped model a mutant changes (the registered model of the same name)."""
    from protoproof.models import MODELS

    base = MODELS.get(model_class.name)
    if base is None or not issubclass(model_class, base):
        raise ValueError(f"{model_class.__name__} is no subclass of a registered model")
    return base


def control_verdict(model_class: type[Model[Any]], params: dict[str, int]) -> str:
    """``prove``'s verdict on the unmutated model at ``params`` (memoized)."""
    base = unmutated(model_class)
    key = (base, tuple(sorted(params.items())))
    if key not in _controls:
        model = base(**params)
        _controls[key] = prove(model, strengthening_for(model) or []).verdict
    return _controls[key]


def run_param(model_class: type[Model[Any]], kind: str,
              prover: Callable[..., Any] | None = None) -> Cell:
    """``prove paxos --parameterized`` tied to ``model_class``; no tie at all is an escape."""
    if prover is None:
        from protoproof.proofs.paxos_param import prove_paxos_param

        prover = prove_paxos_param
    call: Callable[..., Any] = prover  # a prover without the model tie has no such keyword: an escape
    t0 = time.perf_counter()
    try:
        r = call(model_class=model_class, stop_at_first_failure=True)
    except ENGINE_ERRORS as e:
        return _error_cell(PARAM, e, kind, t0)
    except TypeError as e:
        if "model_class" not in str(e):
            raise
        return Cell(PARAM, ESCAPED, "no tie", "parameterized: engine has no model tie yet",
                    time.perf_counter() - t0)
    dt = time.perf_counter() - t0
    # An `error` here is the tie failing: the formulas do not describe the mutant, for any kind.
    outcome = ESCAPED if r.verdict == PROVED else CAUGHT
    return Cell(PARAM, outcome, r.verdict, r.reason, dt)


# ----- a mutant, a benign change --------------------------------------------------------


def run_mutant(m: Mutant, engines: Sequence[str] | None = None, *, full_bmc: bool = True,
               ignore_caps: bool = False) -> MutantResult:
    """Every applicable engine in ``engines`` (default: all of them) on ``m``.

    ``check`` always runs first: the other engines need its depth, and a mutant ``check``
    does not catch is an escape whatever the rest say.  ``full_bmc=False`` leaves bmc to the
    mutants that allow it in CI (``Mutant.bmc_in_ci``); ``ignore_caps`` unrolls every bmc on z3 to
    the bug's depth, however long that takes (else CaDiCaL takes over beyond a mutant's cap).
    """
    want = [e for e in (engines or ENGINES) if e in m.engines]
    res = MutantResult(m)
    cell, depth = run_check(m.build(), m.breaks, m.kind)
    res.cells[CHECK], res.depth = cell, depth
    if cell.outcome != CAUGHT:
        return res
    for e in want:
        if e in (BMC, BMC_ONCE, BMC_WAY) and (full_bmc or m.bmc_in_ci):
            cap = None if ignore_caps else m.bmc_cap
            res.cells[e] = (run_bmc(m.build(), m.breaks, depth, cap, m.kind, one_query=e == BMC_ONCE,
                                    waypoint=e == BMC_WAY)
                            if depth is not None else
                            Cell(e, CAPPED, "not run", "check raised a model error: no depth to unroll to"))
        elif e in (PROVE, PROVE_SYM, PROVE_BARE):
            res.cells[e] = cell = run_prove(m.build(), m.kind, bare=e == PROVE_BARE, symmetry=e == PROVE_SYM)
            if e == PROVE and cell.outcome == CAUGHT and (v := control_verdict(m.model, m.params)) != PROVED:
                cell.vacuous = f"the unmutated model is {v} at this configuration too"
        elif e == PARAM:
            res.cells[PARAM] = run_param(m.model, m.kind)
    return res


def run_benign(b: Benign, engines: Sequence[str] | None = None, informational: bool = True) -> BenignResult:
    """``check`` must exhaust ``b``, ``bmc`` find nothing, and each engine of ``must_prove`` prove it.

    ``informational=False`` skips the engines whose answer is only shown (``b.reported``).
    """
    want = list(engines or ENGINES)
    res = BenignResult(b)
    if CHECK in want:
        t0 = time.perf_counter()
        r = explore(b.build())
        res.cells[CHECK] = Cell(CHECK, OK if r.verdict == EXHAUSTED else WOLF, r.verdict,
                                f"{r.stats.distinct_states:,} states" + (f", {r.property}" if r.property else ""),
                                time.perf_counter() - t0)
    for e in (BMC, BMC_ONCE, BMC_WAY):
        if e in want:
            t0 = time.perf_counter()
            br = bmc(b.build(), b.bmc_depth, one_query=e == BMC_ONCE,
                     waypoints=[WAY_EVERYWHERE] if e == BMC_WAY else ())
            # through waypoints nothing found is ``unknown``: only a violation (or an error) refutes
            fine = br.verdict == BOUNDED or (e == BMC_WAY and br.verdict == UNKNOWN)
            res.cells[e] = Cell(e, OK if fine else WOLF, br.verdict, f"depth {b.bmc_depth}", time.perf_counter() - t0)
    for e in (PROVE, PROVE_SYM, PARAM):
        owed = PROVE if e == PROVE_SYM else e  # up to symmetry where the model declares one
        if e not in want or (owed not in b.must_prove and (owed not in b.reported or not informational)):
            continue
        if e == PROVE_SYM and not b.build().symmetry():
            continue
        if e in (PROVE, PROVE_SYM):
            t0 = time.perf_counter()
            pr = prove(b.build(), strengthening_for(b.build()) or [], symmetry=e == PROVE_SYM)
            cell = Cell(e, "", pr.verdict, pr.reason, time.perf_counter() - t0)
        else:
            cell = run_param(b.model, "benign")
        if owed in b.must_prove:
            cell.outcome = OK if cell.verdict == PROVED else WOLF
        else:
            cell.outcome, cell.detail = INFO, f"{cell.detail} (not required: {b.reported[owed]})".strip()
        res.cells[e] = cell
    return res


# ----- the report -----------------------------------------------------------------------


def score(results: Sequence[MutantResult]) -> tuple[int, int]:
    """(caught, total)."""
    return sum(1 for r in results if r.caught), len(results)


def vacuous_proofs(results: Sequence[MutantResult]) -> list[tuple[str, str]]:
    """(mutant, why) for each ``prove`` catch that the unmutated model shares."""
    return [(r.mutant.name, c.vacuous) for r in results for c in r.cells.values() if c.vacuous]


def table(results: Sequence[MutantResult]) -> list[str]:
    """A markdown table: one row per mutant, one column per engine."""
    head = ["mutant", "kind", "config", "breaks", "depth", *ENGINES, "caught"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        m = r.mutant
        cfg = ",".join(f"{k}={v}" for k, v in m.params.items())
        cells = [r.cells[e].short() if e in r.cells else ("n/a" if e not in m.engines else NOT_RUN)
                 for e in ENGINES]
        lines.append("| " + " | ".join([m.name, m.kind, cfg, m.breaks, str(r.depth or "-"), *cells,
                                        "yes" if r.caught else "NO"]) + " |")
    return lines


def benign_table(results: Sequence[BenignResult]) -> list[str]:
    head = ["benign mutant", "config", CHECK, BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_SYM, PARAM, "ok"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cfg = ",".join(f"{k}={v}" for k, v in r.benign.params.items())
        cells = [f"{r.cells[e].outcome} ({r.cells[e].verdict})" if e in r.cells else NOT_RUN
                 for e in (CHECK, BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_SYM, PARAM)]
        lines.append("| " + " | ".join([r.benign.name, cfg, *cells, "yes" if r.ok else "NO"]) + " |")
    return lines


__all__ = [
    "CAPPED",
    "CAUGHT",
    "ESCAPED",
    "OK",
    "WOLF",
    "BenignResult",
    "Cell",
    "MutantResult",
    "benign_table",
    "run_benign",
    "run_bmc",
    "run_check",
    "run_mutant",
    "run_param",
    "run_prove",
    "score",
    "table",
    "unmutated",
    "vacuous_proofs",
]
