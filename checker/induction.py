"""Inductive proofs with z3: Init ⇒ Inv, Inv ∧ T_a ⇒ Inv′ per action instance, Inv ⇒ Safety.

``Inv`` is the model's ``@always`` properties conjoined with a strengthening (ordinary Python
predicates, see ``proofs/``).  Consecution is asked once per action instance: each query is
small, and a failure names the action.  A failure is shown as a counterexample to induction
(CTI): a concrete state satisfying ``Inv``, the action, the concrete next state, and the
conjuncts it broke.  The CTI is replayed through the concrete function first; a CTI that does
not replay is an internal error.  Verdicts: ``proved`` only when every obligation is unsat;
``unknown`` (with the reason) when the solver gave up or the invariant is not inductive;
``violated`` when an initial state breaks a safety property.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ..models.base import Action, Model
from ..models.schema import to_jsonable
from .bmc import SymbolicMismatch, header_json, jsonable
from .path import Path
from .symbolic import BoolLike, Conjunct, SymbolicModel, b_and, b_not, b_or, check_reason, safety_properties, to_z3
from .verdict import PROVED, UNKNOWN, VIOLATED

OK, FAILED, GAVE_UP = "ok", "failed", "unknown"


@dataclass
class Obligation:
    """One solver query and its outcome."""

    name: str
    action: str | None
    result: str
    seconds: float

    def line(self) -> str:
        return f"  {self.result:<8} {self.seconds:8.4f}s  {self.name}"


@dataclass
class Cti:
    """A counterexample to induction: states satisfying Inv, the action(s), and what broke."""

    obligation: str
    states: list[Any]
    actions: list[Action]
    broken: list[str]
    model: Model[Any]

    @property
    def state(self) -> Any:
        return self.states[-2] if len(self.states) > 1 else self.states[-1]

    @property
    def next_state(self) -> Any:
        return self.states[-1] if len(self.states) > 1 else None

    @property
    def action(self) -> Action | None:
        return self.actions[-1] if self.actions else None

    def to_lines(self) -> list[str]:
        out = [f"counterexample to induction ({self.obligation}); broken: {', '.join(self.broken)}"]
        describe = self.model.describe_state
        for k, s in enumerate(self.states):
            if k:
                out.append(f"  --{self.actions[k - 1]!r}-->")
            out.append("  " + ", ".join(f"{key}={v!r}" for key, v in describe(s).items()))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "obligation": self.obligation,
            "broken": self.broken,
            "actions": [repr(a) for a in self.actions],
            "states": [jsonable(to_jsonable(self.model.describe_state(s))) for s in self.states],
        }


@dataclass
class ProofResult:
    """The verdict and one line per obligation."""

    model: Model[Any]
    verdict: str
    obligations: list[Obligation] = field(default_factory=list)
    cti: Cti | None = None
    reason: str = ""
    conjuncts: list[str] = field(default_factory=list)
    k: int = 1
    build_s: float = 0.0
    elapsed_s: float = 0.0
    path: Path | None = None

    def to_lines(self) -> list[str]:
        head = f"prove {self.model.name}: {self.verdict}"
        if self.reason:
            head += f" ({self.reason})"
        lines = [head, f"  invariant: {' & '.join(self.conjuncts)}", f"  build {self.build_s:.3f}s"]
        lines += [o.line() for o in self.obligations]
        lines.append(f"  total {self.elapsed_s:.3f}s")
        if self.cti is not None:
            lines += self.cti.to_lines()
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            **header_json(self.model, "prove", self.verdict),
            "reason": self.reason or None,
            "k": self.k,
            "conjuncts": self.conjuncts,
            "obligations": [
                {"name": o.name, "action": o.action, "result": o.result, "seconds": round(o.seconds, 6)}
                for o in self.obligations
            ],
            "cti": self.cti.to_json() if self.cti is not None else None,
            "path": jsonable(self.path.to_json()) if self.path is not None else None,
            "build_s": round(self.build_s, 6),
            "elapsed_s": round(self.elapsed_s, 6),
        }


def _named(preds: Sequence[Callable[[Any], Any]]) -> list[tuple[str, Callable[[Any], Any]]]:
    out: list[tuple[str, Callable[[Any], Any]]] = []
    seen: set[str] = set()
    for k, p in enumerate(preds):
        name = getattr(p, "__name__", "") or f"conjunct{k}"
        if name == "<lambda>" or name in seen:
            name = f"{name}#{k}"
        seen.add(name)
        out.append((name, p))
    return out


def _broken(conj: Sequence[Conjunct], s: Any) -> list[str]:
    return [c.name for c in conj if not c.fn(s)]


def prove(
    model: Model[Any],
    strengthening: Sequence[Callable[[Any], Any]] | None = None,
    k: int = 1,
    properties: Sequence[str] | None = None,
) -> ProofResult:
    """Prove the ``@always`` properties by (k-)induction, with ``strengthening`` conjoined."""
    if k < 1:
        raise ValueError("k must be at least 1")
    t_start = time.perf_counter()
    if strengthening is None:
        strengthening = []  # the caller looks one up (proofs.strengthening_for): proofs sit above checker
    safety = safety_properties(model, properties)
    sm = SymbolicModel(model)
    props = [sm.predicate(n, f) for n, f in safety]
    extra = [sm.predicate(n, f) for n, f in _named(strengthening)]
    conj = props + extra
    inv = b_and(*(c.formula for c in conj))
    res = ProofResult(model, PROVED, conjuncts=[c.name for c in conj], k=k)
    res.build_s = time.perf_counter() - t_start
    inv_y = sm.at(inv, sm.yvars)  # Inv(Y): the same formula with X renamed to Y

    def record(name: str, action: str | None, r: z3.CheckSatResult, t0: float, solver: z3.Solver) -> str:
        result = OK if r == z3.unsat else FAILED if r == z3.sat else GAVE_UP
        res.obligations.append(Obligation(name, action, result, time.perf_counter() - t0))
        if result == GAVE_UP and res.verdict == PROVED:
            res.verdict, res.reason = UNKNOWN, f"{name}: {check_reason(solver)}"
        return result

    # Init => Inv
    t0 = time.perf_counter()
    s = z3.Solver()
    s.add(to_z3(b_or(*(sm.state_eq(sm.x, i) for i in model.initial_states()))), to_z3(b_not(inv)))
    if record("init => inv", None, s.check(), t0, s) == FAILED:
        x = sm.decode(sm.x, s.model())
        broken = _broken(conj, x)
        if not broken:
            raise SymbolicMismatch(f"internal error: initial state {x!r} satisfies every conjunct concretely")
        res.cti = Cti("init => inv", [x], [], broken, model)
        if any(b in {p.name for p in props} for b in broken):
            res.verdict, res.reason = VIOLATED, f"an initial state violates {broken[0]}"
            res.path = Path(model, [x])
        else:
            res.verdict, res.reason = UNKNOWN, f"strengthening false in an initial state: {', '.join(broken)}"

    if k == 1:
        _consecution(sm, conj, inv, inv_y, res, record)
    else:
        _k_induction(sm, conj, inv, k, res, record)

    # Inv => Safety
    t0 = time.perf_counter()
    s = z3.Solver()
    s.add(to_z3(sm.dom_x), to_z3(inv), to_z3(b_not(b_and(*(p.formula for p in props)))))
    if record("inv => safety", None, s.check(), t0, s) == FAILED and res.verdict == PROVED:
        x = sm.decode(sm.x, s.model())
        res.cti = Cti("inv => safety", [x], [], _broken(props, x), model)
        res.verdict, res.reason = UNKNOWN, "the invariant does not imply the safety properties"
    res.elapsed_s = time.perf_counter() - t_start
    return res


Record = Callable[[str, "str | None", z3.CheckSatResult, float, z3.Solver], str]


def _consecution(sm: SymbolicModel, conj: list[Conjunct], inv: BoolLike, inv_y: BoolLike, res: ProofResult,
                 record: Record) -> None:
    s = z3.Solver()
    s.add(to_z3(sm.dom_x), to_z3(inv), to_z3(b_not(inv_y)))
    for e in sm.actions:
        t0 = time.perf_counter()
        s.push()
        s.add(to_z3(e.formula))
        r = s.check()
        name = f"consecution {e.name}"
        if record(name, e.name, r, t0, s) == FAILED and res.cti is None:
            m = s.model()
            x, y = sm.decode(sm.x, m), sm.decode(sm.y, m)
            got = e.inst.concrete(x)
            if got != y:
                raise SymbolicMismatch(
                    f"internal error: the CTI for {e.name} does not replay: from {x!r} the concrete function "
                    f"gives {got!r}, the solver {y!r} (run `protoproof conform`)"
                )
            if _broken(conj, x):
                raise SymbolicMismatch(f"internal error: CTI state {x!r} breaks {_broken(conj, x)} concretely")
            broken = _broken(conj, y)
            res.cti = Cti(name, [x, y], [e.inst.action], broken, sm.model)
            if res.verdict == PROVED:
                res.verdict = UNKNOWN
                res.reason = f"not inductive: {e.name} breaks {', '.join(broken)}"
        s.pop()


def _k_induction(sm: SymbolicModel, conj: list[Conjunct], inv: BoolLike, k: int, res: ProofResult,
                 record: Record) -> None:
    from .bmc import replay_states

    trans = b_and(b_or(*(e.formula for e in sm.actions)), sm.dom_y)
    steps = [sm.step_vars(f"k{j}") for j in range(k + 1)]
    # base: no state within k-1 steps of an initial state breaks Inv
    t0 = time.perf_counter()
    s = z3.Solver()
    s.add(to_z3(b_or(*(sm.state_eq(steps[0][0], i) for i in sm.model.initial_states()))))
    for j in range(k - 1):
        s.add(to_z3(sm.at(trans, steps[j][1], steps[j + 1][1])))
    s.add(to_z3(b_or(*(b_not(sm.at(inv, steps[j][1])) for j in range(k)))))
    if record(f"base (depth < {k})", None, s.check(), t0, s) == FAILED and res.cti is None:
        m = s.model()
        states = [sm.decode(v, m) for v, _vs in steps[:k]]
        for j, st in enumerate(states):
            if _broken(conj, st):
                path = replay_states(sm.model, states[: j + 1])
                res.cti = Cti("base", path.states, path.actions, _broken(conj, st), sm.model)
                res.verdict, res.reason = VIOLATED, f"reachable in {j} steps: {', '.join(_broken(conj, st))}"
                res.path = path
                break
    # step: k consecutive Inv states, then one that breaks it
    t0 = time.perf_counter()
    s = z3.Solver()
    for j in range(k + 1):
        s.add(to_z3(sm.at(sm.dom_x, steps[j][1])))
        if j < k:
            s.add(to_z3(sm.at(inv, steps[j][1])), to_z3(sm.at(trans, steps[j][1], steps[j + 1][1])))
    s.add(to_z3(b_not(sm.at(inv, steps[k][1]))))
    if record(f"consecution ({k}-induction)", None, s.check(), t0, s) == FAILED and res.cti is None:
        m = s.model()
        states = [sm.decode(v, m) for v, _vs in steps]
        actions = []
        for a_state, b_state in itertools.pairwise(states):
            act = next((a for a, t in sm.model.successors(a_state) if t == b_state), None)
            if act is None:
                raise SymbolicMismatch(
                    f"internal error: k-induction CTI step {a_state!r} -> {b_state!r} does not replay")
            actions.append(act)
        res.cti = Cti(f"consecution ({k}-induction)", states, actions, _broken(conj, states[-1]), sm.model)
        if res.verdict == PROVED:
            res.verdict, res.reason = UNKNOWN, f"not {k}-inductive: breaks {', '.join(res.cti.broken)}"


__all__ = ["Cti", "Obligation", "ProofResult", "prove"]
