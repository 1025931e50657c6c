"""Conformance: the symbolic relation has exactly the concrete successors, state by state.

Proofs and BMC talk about the z3 relation; users run the Python code.  This check ties the two:
for every reachable state of a small instance and about a thousand random type-correct states
(induction quantifies over those too), and for every action instance, the models of
``T_a(s, Y)`` (enumerated with blocking clauses) must be exactly ``{a(s)}`` or nothing.  It also
asks z3 whether each twin relation is equivalent to the forking run of the original function,
so the syntax rewrite cannot change meaning silently.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import z3

from ..models.base import Model
from .bmc import header_json
from .symbolic import (
    Encoded,
    PathExplosion,
    SymbolicModel,
    b_and,
    b_not,
    predicate_formula,
    relation_formula,
    to_z3,
)
from .verdict import UNKNOWN, VIOLATED

EXHAUSTED_OK = "conforms"


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
    result: str  # "equivalent", "differs", "skipped: ..."
    seconds: float


@dataclass
class ConformanceResult:
    model: Model[Any]
    checks: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    reachable_states: int = 0
    random_states: int = 0
    twins: list[TwinCheck] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches and not any(t.result == "differs" for t in self.twins)

    @property
    def verdict(self) -> str:
        if self.ok:
            return EXHAUSTED_OK if not any(t.result.startswith("skipped") for t in self.twins) else UNKNOWN
        return VIOLATED

    def to_lines(self) -> list[str]:
        lines = [f"conform {self.model.name}: {'ok' if self.ok else 'MISMATCH'} — {self.checks} (state, action) "
                 f"checks over {self.reachable_states} reachable and {self.random_states} random states, "
                 f"{len(self.mismatches)} mismatches, {self.elapsed_s:.2f}s"]
        lines += [f"  twin {t.result:<11} {t.seconds:7.4f}s  {t.name}" for t in self.twins if t.result != "equivalent"]
        n_eq = sum(t.result == "equivalent" for t in self.twins)
        lines.append(f"  {n_eq}/{len(self.twins)} twins proved equivalent to their forking versions")
        lines += ["  " + m.line() for m in self.mismatches[:20]]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            **header_json(self.model, "conform", self.verdict),
            "checks": self.checks,
            "reachable_states": self.reachable_states,
            "random_states": self.random_states,
            "mismatches": [
                {"source": m.source, "state": repr(m.state), "action": m.action, "concrete": repr(m.concrete),
                 "symbolic": [repr(y) for y in m.symbolic]}
                for m in self.mismatches
            ],
            "twins": [{"name": t.name, "result": t.result, "seconds": round(t.seconds, 6)} for t in self.twins],
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
        self.solvers = []
        for e in self.encoded:
            s = z3.Solver()
            s.add(to_z3(e.formula), to_z3(sm.dom_y))
            self.solvers.append(s)

    def successors(self, k: int, state: Any, fix: list[z3.BoolRef]) -> list[Any]:
        """Every Y with ``T_k(state, Y)`` (``fix`` pins X to ``state``), enumerated with blocking clauses."""
        sm, s = self.sm, self.solvers[k]
        out: list[Any] = []
        block: list[z3.BoolRef] = []
        while True:
            r = s.check(*fix, *block)
            if r == z3.unsat:
                return out
            if r != z3.sat:
                raise RuntimeError(f"solver gave up enumerating successors: {s.reason_unknown()}")
            y = sm.decode(sm.y, s.model())
            out.append(y)
            block.append(to_z3(b_not(sm.state_eq(sm.y, y))))
            if len(out) > 64:
                return out

    def check(self, state: Any, source: str) -> list[Mismatch]:
        bad = []
        fix = _literals(self.sm.state_eq(self.sm.x, state))
        for k, e in enumerate(self.encoded):
            concrete = e.inst.concrete(state)
            sym = self.successors(k, state, fix)
            if sym != ([] if concrete is None else [concrete]):
                bad.append(Mismatch(source, state, e.name, concrete, sym))
        return bad


def _literals(f: Any) -> list[z3.BoolRef]:
    if isinstance(f, bool):
        return [] if f else [z3.BoolVal(False)]
    if z3.is_and(f):
        return list(f.children())
    return [f]


def reachable_states(model: Model[Any], limit: int) -> list[Any]:
    """The reachable states of a small instance, from the explicit checker's search."""
    from .explore import Options, explore

    # The recorded graph also holds the successors of the last states expanded (all reachable).
    res = explore(model, Options(properties=[], record_graph=limit * 1000, max_states=limit, check_determinism=0))
    if res.graph is None:
        raise ValueError(f"could not record {limit} reachable states of {model.name}")
    return list(res.graph.states.values())[:limit]


def check_twins(model: Model[Any], sm: SymbolicModel | None = None, max_paths: int = 2000,
                budget_s: float = 5.0) -> list[TwinCheck]:
    """z3-equivalence of every action's and property's twin with the forking run of the original.

    The forking run of a function may have exponentially many paths (a leader reading its
    inbox forks on every message): after ``max_paths`` paths or ``budget_s`` seconds it is
    reported as skipped, never as equivalent.
    """
    from .symbolic import explore

    sm = sm or SymbolicModel(model)
    out = []
    base = b_and(sm.dom_x, sm.dom_y)
    pairs: list[tuple[str, Any, Callable[[], Any]]] = []

    def forked_action(e: Encoded) -> Any:
        paths = explore(e.inst.forking, (sm.x,), e.name, max_paths, sm.dom_x,
                        deadline=time.perf_counter() + budget_s)
        return relation_formula(sm.ty, paths, sm.y)

    def forked(name: str, fn: Callable[[Any], Any]) -> Any:
        paths = explore(fn, (sm.x,), name, max_paths, sm.dom_x, deadline=time.perf_counter() + budget_s)
        return predicate_formula(paths)

    for e in sm.actions:
        pairs.append((e.name, e.formula, functools.partial(forked_action, e)))
    for p in model.invariants:
        pairs.append((p.name, sm.predicate(p.name, p.fn).formula, functools.partial(forked, p.name, p.fn)))
    for name, f1, mk in pairs:
        t0 = time.perf_counter()
        try:
            f2 = mk()
        except PathExplosion as e:
            out.append(TwinCheck(name, f"skipped: {e}", time.perf_counter() - t0))
            continue
        s = z3.Solver()
        s.add(to_z3(base), to_z3(f1) != to_z3(f2))
        r = s.check()
        result = "equivalent" if r == z3.unsat else "differs" if r == z3.sat else f"skipped: {s.reason_unknown()}"
        out.append(TwinCheck(name, result, time.perf_counter() - t0))
    return out


def conform(
    model: Model[Any],
    random_states: int = 1000,
    seed: int = 0,
    *,
    max_reachable: int = 20_000,
    overrides: Mapping[str, Callable[[Any], Any]] | None = None,
    twins: bool = True,
) -> ConformanceResult:
    """Compare the symbolic relation with the concrete successors on reachable and random states.

    ``overrides`` (action repr -> function) makes the symbolic side run another function than
    the model's, which is how the tests show that the check can fail.
    """
    t0 = time.perf_counter()
    sm = SymbolicModel(model)
    chk = Checker(sm, overrides)
    res = ConformanceResult(model)
    reach = reachable_states(model, max_reachable)
    rand = random_states_of(model, random_states, seed)
    res.reachable_states, res.random_states = len(reach), len(rand)
    for source, states in (("reachable", reach), ("random", rand)):
        for s in states:
            res.mismatches += chk.check(s, source)
            res.checks += len(chk.encoded)
    if twins:
        res.twins = check_twins(model, sm)
    res.elapsed_s = time.perf_counter() - t0
    return res


def random_states_of(model: Model[Any], n: int, seed: int) -> list[Any]:
    """``n`` type-correct states drawn from the schema's sampler (mostly unreachable ones)."""
    rng = random.Random(seed)
    ty = model.state_type
    return [ty.sample(rng) for _ in range(n)]


def relation_of(sm: SymbolicModel, fn: Callable[[Any], Any], label: str) -> Any:
    """The relation of an arbitrary function over ``sm``'s X and Y (for tests)."""
    from .symbolic import explore

    return relation_formula(sm.ty, explore(fn, (sm.x,), label, sm.max_paths, sm.dom_x), sm.y)


def predicate_of(sm: SymbolicModel, fn: Callable[[Any], Any], label: str) -> Any:
    from .symbolic import explore

    return predicate_formula(explore(fn, (sm.x,), label, sm.max_paths, sm.dom_x))


__all__ = ["Checker", "ConformanceResult", "Mismatch", "check_twins", "conform", "random_states_of", "reachable_states"]
