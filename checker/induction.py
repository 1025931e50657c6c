"""Inductive proofs with z3: Init ⇒ Inv, Inv ∧ T_a ⇒ Inv′ per action instance, Inv ⇒ Safety.

``Inv`` is the model's ``@always`` properties conjoined with a strengthening (ordinary Python
predicates, see ``proofs/``).  Consecution is asked once per action instance: each query is
small, and a failure names the action.  A failure is shown as a counterexample to induction
(CTI): a concrete state satisfying ``Inv``, the action, the concrete next state, and the
conjuncts it broke.  Every satisfiable query is confirmed by the Python code (the CTI replays,
the broken conjuncts are broken concretely); one that is not is a model error, never ignored.

The verdict is computed from the obligation list by one function (``verdict_of``): ``proved``
only when every obligation, base cases and the tie to the Python model included, is ok;
otherwise the worst failure decides: ``error`` (the symbolic side disagrees with the Python),
``violated`` (a reachable state breaks a safety property), ``unknown`` (not inductive, or the
solver gave up).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ..models.base import Action, Model
from ..models.schema import to_jsonable
from . import interrupt
from .bmc import header_json
from .path import Path
from .symbolic import (
    BoolLike,
    Conjunct,
    SymbolicModel,
    b_and,
    b_not,
    b_or,
    check_reason,
    interrupted,
    safety_properties,
    to_z3,
)
from .tie import (
    PROPERTY,
    SAMPLE_STATES,
    STRENGTHENING,
    SymbolicMismatch,
    TieReport,
    predicates,
    tie_line,
    tie_sample,
    tied,
)
from .verdict import ERROR, PROVED, UNKNOWN, VIOLATED

OK, FAILED, GAVE_UP = "ok", "failed", "unknown"

#: How bad a failed obligation is, worst first: the verdict is that of the worst failure.
_SEVERITY = (ERROR, VIOLATED, UNKNOWN)


@dataclass
class Obligation:
    """One solver query (or the tie to the Python model) and its outcome.

    A failed obligation says what it means for the verdict (``outcome``: ``violated``,
    ``unknown`` or ``error``) and why (``reason``); the verdict is computed from the list.
    """

    name: str
    action: str | None
    result: str
    seconds: float
    outcome: str = UNKNOWN
    reason: str = ""

    def line(self) -> str:
        return f"  {self.result:<8} {self.seconds:8.4f}s  {self.name}"


def verdict_of(obligations: Sequence[Obligation]) -> tuple[str, str]:
    """``proved`` only if there are obligations and every one is ok; else the worst failure's verdict."""
    if not obligations:
        return UNKNOWN, "no obligation was checked"
    bad = [o for o in obligations if o.result != OK]
    if not bad:
        return PROVED, ""
    worst = min(bad, key=lambda o: _SEVERITY.index(o.outcome) if o.outcome in _SEVERITY else len(_SEVERITY))
    return (worst.outcome if worst.outcome in _SEVERITY else UNKNOWN), worst.reason or f"{worst.name}: {worst.result}"


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
            "states": [to_jsonable(self.model.describe_state(s)) for s in self.states],
        }


@dataclass
class ProofResult:
    """One line per obligation; the verdict is computed from them (``verdict_of``), never set."""

    model: Model[Any]
    obligations: list[Obligation] = field(default_factory=list)
    cti: Cti | None = None
    conjuncts: list[str] = field(default_factory=list)
    k: int = 1
    build_s: float = 0.0
    elapsed_s: float = 0.0
    path: Path | None = None
    tie: TieReport | None = None
    symmetry: str | None = None  # what the reduction covered (``prove(symmetry=True)``)

    @property
    def verdict(self) -> str:
        return verdict_of(self.obligations)[0]

    @property
    def reason(self) -> str:
        return verdict_of(self.obligations)[1]

    def to_lines(self) -> list[str]:
        head = f"prove {self.model.display_name}: {self.verdict}"
        if self.reason:
            head += f" ({self.reason})"
        lines = [head, "  " + tie_line(self.model, self.tie), f"  invariant: {' & '.join(self.conjuncts)}",
                 f"  build {self.build_s:.3f}s"]
        if self.symmetry:
            lines.append(f"  {self.symmetry}")
        lines += [o.line() for o in self.obligations]
        if self.tie is not None:
            lines += ["  " + m.line() for m in self.tie.mismatches[:10]]
        lines.append(f"  total {self.elapsed_s:.3f}s")
        if self.cti is not None:
            lines += self.cti.to_lines()
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            **header_json(self.model, "prove", self.verdict),
            "reason": self.reason or None,
            "tied": tie_line(self.model, self.tie),
            "tie": self.tie.to_json() if self.tie is not None else None,
            "k": self.k,
            "symmetry": self.symmetry,
            "conjuncts": self.conjuncts,
            "obligations": [
                {"name": o.name, "action": o.action, "result": o.result, "seconds": round(o.seconds, 6),
                 "outcome": None if o.result == OK else o.outcome, "reason": o.reason or None}
                for o in self.obligations
            ],
            "cti": self.cti.to_json() if self.cti is not None else None,
            "path": self.path.to_json() if self.path is not None else None,
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
    *,
    tie: int = SAMPLE_STATES,
    overrides: Mapping[str, Callable[[Any], Any]] | None = None,
    progress: Callable[[str], None] | None = None,
    symmetry: bool = False,
) -> ProofResult:
    """Prove the ``@always`` properties by (k-)induction, with ``strengthening`` conjoined.

    The first obligation ties every conjunct's formula to its Python on ``tie`` reachable and
    ``tie`` random states (0: not tied, and the result says so); if it fails, nothing else is
    asked.  ``overrides`` (conjunct name -> function) replaces a conjunct's symbolic side (tests).
    ``progress`` gets a line per phase and per obligation as it ends.  ``symmetry`` (1-induction
    only) asks one consecution query per orbit of actions under the model's renamings and covers
    the others by renaming (``induction_symmetry``).  Ctrl-C (or z3 interrupted
    from the keyboard) ends the proof with the obligations checked so far and verdict ``unknown``.
    """
    note = progress or (lambda _line: None)
    res = ProofResult(model, k=k)
    t_start = time.perf_counter()
    try:
        return _prove(model, strengthening, k, properties, tie, overrides, note, res, symmetry)
    except KeyboardInterrupt:
        why = f"interrupted ({interrupt.cause()})"
        res.obligations.append(Obligation(why, None, GAVE_UP, 0.0,
                                          reason=f"{why}: the remaining obligations were not checked"))
        res.elapsed_s = time.perf_counter() - t_start
        return res


def _prove(model: Model[Any], strengthening: Sequence[Callable[[Any], Any]] | None, k: int,
           properties: Sequence[str] | None, tie: int, overrides: Mapping[str, Callable[[Any], Any]] | None,
           note: Callable[[str], None], res: ProofResult, symmetry: bool = False) -> ProofResult:
    if k < 1:
        raise ValueError("k must be at least 1")
    if symmetry and k != 1:
        raise ValueError("symmetry reduces the consecution queries of 1-induction only (k = 1)")
    if symmetry:
        check_group(model)
    t_start = time.perf_counter()
    if strengthening is None:
        strengthening = []  # the caller looks one up (proofs.strengthening_for): proofs sit above checker
    safety = safety_properties(model, properties)
    note(f"building the z3 relation of {model.display_name} from its transitions")
    sm = SymbolicModel(model)
    props = predicates(sm, PROPERTY, safety, overrides)
    extra = predicates(sm, STRENGTHENING, _named(strengthening), overrides)
    props += sm.bound_conjuncts()  # a send into a full bag is an error: proved unreachable like a property
    conj = props + extra
    inv = b_and(*(c.formula for c in conj))
    res.conjuncts = [c.name for c in conj]
    res.build_s = time.perf_counter() - t_start
    if tie:
        note(f"built in {res.build_s:.1f}s; tying {len(conj)} conjuncts to their Python on {tie} + {tie} states")
        res.tie = rep = tie_sample(sm, tied(PROPERTY, props) + tied(STRENGTHENING, extra), tie)
        o = Obligation(f"property conformance ({rep.states} states)", None, OK if rep.ok else FAILED, rep.seconds)
        if rep.mismatches:
            o.outcome, o.reason = ERROR, f"a conjunct's z3 formula is not its Python: {rep.mismatches[0].line()}"
        elif rep.model_raised:
            o.outcome, o.reason = ERROR, f"a reachable state of the sample: {rep.error}"
        elif rep.error:
            o.result, o.reason = GAVE_UP, rep.summary()
        res.obligations.append(o)
        if rep.mismatches or rep.model_raised:  # the queries would be about formulas that are not the model's
            res.elapsed_s = time.perf_counter() - t_start
            return res
    inv_y = sm.at(inv, sm.yvars)  # Inv(Y): the same formula with X renamed to Y
    names = {p.name for p in props}

    def record(name: str, action: str | None, r: z3.CheckSatResult, t0: float, solver: z3.Solver) -> Obligation:
        interrupt.check()
        result = OK if r == z3.unsat else FAILED if r == z3.sat else GAVE_UP
        o = Obligation(name, action, result, time.perf_counter() - t0)
        if result == GAVE_UP:
            o.reason = f"{name}: {check_reason(solver)}"
        res.obligations.append(o)
        if result == GAVE_UP and interrupted(solver):
            raise KeyboardInterrupt  # z3 caught the Ctrl-C itself: end as the user asked
        note(o.line().strip())
        return o

    # Init => Inv
    t0 = time.perf_counter()
    s = z3.Solver()
    s.add(to_z3(sm.initial()), to_z3(b_not(inv)))
    o = record("init => inv", None, s.check(), t0, s)
    if o.result == FAILED:
        x = sm.decode(sm.x, s.model())
        broken = _broken(conj, x)
        if not broken:
            _mismatch(o, f"initial state {x!r} breaks the invariant's formula but satisfies every conjunct "
                         "concretely")
        elif any(b in names for b in broken):
            o.outcome, o.reason = VIOLATED, f"an initial state violates {next(b for b in broken if b in names)}"
            res.cti, res.path = Cti("init => inv", [x], [], broken, model), Path(model, [x])
        else:
            o.outcome, o.reason = UNKNOWN, f"strengthening false in an initial state: {', '.join(broken)}"
            res.cti = Cti("init => inv", [x], [], broken, model)

    if k == 1:
        covered: set[int] = set()
        if symmetry:
            from .induction_symmetry import covers

            cv = covers(sm, inv, record, note)
            covered, res.symmetry = cv.skipped(), cv.summary(len(sm.actions))
        _consecution(sm, conj, inv, inv_y, res, record, skip=covered)
    else:
        _k_induction(sm, conj, names, inv, k, res, record)

    # Inv => Safety
    t0 = time.perf_counter()
    s = z3.Solver()
    s.add(to_z3(sm.dom_x), to_z3(inv), to_z3(b_not(b_and(*(p.formula for p in props)))))
    o = record("inv => safety", None, s.check(), t0, s)
    if o.result == FAILED:
        x = sm.decode(sm.x, s.model())
        if _broken(extra, x) or not _broken(props, x):
            _mismatch(o, f"state {x!r} satisfies the invariant's formula and breaks the safety formula, "
                         "but not concretely")
        else:
            o.outcome, o.reason = UNKNOWN, "the invariant does not imply the safety properties"
            res.cti = res.cti or Cti("inv => safety", [x], [], _broken(props, x), model)
    res.elapsed_s = time.perf_counter() - t_start
    return res


def check_group(model: Model[Any]) -> None:
    """Before anything is built: a model whose renamings a cover can be looked up among."""
    from .symmetry import Canonicalizer, SymmetryError
    from .symmetry_proof import GROUP_LIMIT, group_size

    try:
        size = group_size(Canonicalizer(model))
    except SymmetryError as e:
        raise ValueError(f"symmetry: {e}") from None
    if size > GROUP_LIMIT:
        raise ValueError(f"symmetry: the group has {size:,} renamings, more than the {GROUP_LIMIT} a cover is "
                         "looked up among; prove without symmetry, or with fewer interchangeable ids")


def _mismatch(o: Obligation, what: str) -> None:
    """A satisfiable query that the Python code does not confirm: a model error, never ignored."""
    o.outcome = ERROR
    o.reason = f"{o.name}: {what}; the symbolic side disagrees with the Python code (run `protoproof conform`)"


Record = Callable[[str, "str | None", z3.CheckSatResult, float, z3.Solver], Obligation]


def _consecution(sm: SymbolicModel, conj: list[Conjunct], inv: BoolLike, inv_y: BoolLike, res: ProofResult,
                 record: Record, skip: set[int] | None = None) -> None:
    s = z3.Solver()
    s.add(to_z3(sm.dom_x), to_z3(inv), to_z3(b_not(inv_y)))
    for i, e in enumerate(sm.actions):
        if skip and i in skip:
            continue  # covered by renaming an asked query, or never enabled (induction_symmetry)
        t0 = time.perf_counter()
        s.push()
        s.add(to_z3(e.formula))
        r = s.check()
        name = f"consecution {e.name}"
        o = record(name, e.name, r, t0, s)
        if o.result == FAILED:
            m = s.model()
            x, y = sm.decode(sm.x, m), sm.decode(sm.y, m)
            got = e.inst.concrete(x)
            broken = _broken(conj, y)
            if got != y:
                _mismatch(o, f"from {x!r} the concrete function gives {got!r}, the solver {y!r}")
            elif _broken(conj, x):
                _mismatch(o, f"CTI state {x!r} breaks {_broken(conj, x)} concretely")
            elif not broken:
                _mismatch(o, f"next state {y!r} satisfies every conjunct concretely")
            else:
                o.outcome, o.reason = UNKNOWN, f"not inductive: {e.name} breaks {', '.join(broken)}"
                res.cti = res.cti or Cti(name, [x, y], [e.inst.action], broken, sm.model)
        s.pop()


def _k_induction(sm: SymbolicModel, conj: list[Conjunct], names: set[str], inv: BoolLike, k: int,
                 res: ProofResult, record: Record) -> None:
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
    o = record(f"base (depth < {k})", None, s.check(), t0, s)
    if o.result == FAILED:
        m = s.model()
        states = [sm.decode(v, m) for v, _vs in steps[:k]]
        first = next((j for j, st in enumerate(states) if _broken(conj, st)), None)
        if first is None:
            _mismatch(o, f"the solver's run {states!r} breaks the invariant's formula but no conjunct concretely")
        else:
            j = first
            try:
                path = replay_states(sm.model, states[: j + 1])
            except SymbolicMismatch as e:
                _mismatch(o, str(e))
            else:
                broken = _broken(conj, states[j])
                if any(b in names for b in broken):
                    o.outcome, o.reason = VIOLATED, f"reachable in {j} steps: {', '.join(broken)}"
                    res.path = res.path or path
                else:
                    o.outcome, o.reason = UNKNOWN, f"strengthening false {j} steps from the start: {', '.join(broken)}"
                res.cti = res.cti or Cti("base", path.states, path.actions, broken, sm.model)
    # step: k consecutive Inv states, then one that breaks it
    t0 = time.perf_counter()
    s = z3.Solver()
    for j in range(k + 1):
        s.add(to_z3(sm.at(sm.dom_x, steps[j][1])))
        if j < k:
            s.add(to_z3(sm.at(inv, steps[j][1])), to_z3(sm.at(trans, steps[j][1], steps[j + 1][1])))
    s.add(to_z3(b_not(sm.at(inv, steps[k][1]))))
    o = record(f"consecution ({k}-induction)", None, s.check(), t0, s)
    if o.result == FAILED:
        m = s.model()
        states = [sm.decode(v, m) for v, _vs in steps]
        actions = []
        for a_state, b_state in itertools.pairwise(states):
            act = next((a for a, t in sm.model.successors(a_state) if t == b_state), None)
            if act is None:
                _mismatch(o, f"CTI step {a_state!r} -> {b_state!r} is no concrete transition")
                return
            actions.append(act)
        broken = _broken(conj, states[-1])
        if any(_broken(conj, st) for st in states[:-1]) or not broken:
            _mismatch(o, f"the CTI {states!r} does not break the invariant exactly at its last state concretely")
            return
        o.outcome, o.reason = UNKNOWN, f"not {k}-inductive: breaks {', '.join(broken)}"
        res.cti = res.cti or Cti(f"consecution ({k}-induction)", states, actions, broken, sm.model)


__all__ = ["Cti", "Obligation", "ProofResult", "prove", "verdict_of"]
