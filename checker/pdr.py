"""Safety by IC3/PDR: z3's Spacer engine over constrained Horn clauses, from the model's own relation.

The clauses are the relation ``bmc`` builds (``SymbolicModel(model, split_constraint=True)``: the
steps, the type's domain and the state constraint on the successor), with the ``@always``
properties and the engines' bound obligations as the query::

    Inv(X) <- Init(X);   Inv(Y) <- Inv(X) & T(X, Y);   false <- Inv(X) & not P(X)

Spacer neither unrolls nor stops at a depth: it answers ``sat`` (some reachable state breaks P)
or ``unsat`` (with an inductive invariant), or gives up.  Neither answer is taken on trust:

- ``sat``: the derivation's number of steps ``k`` is read off the rules along its trace, one
  bounded query at exactly that depth gives the states, and they are replayed through the
  *concrete* transitions (``bmc.replay_states``); only a replayed path is a violation.
- ``unsat``: the invariant Spacer returns is re-checked by plain solver queries outside Spacer
  (initiation, consecution under T and the constraint, implication of P); ``proved`` only when all
  three hold, otherwise "no violation found by PDR" under verdict ``unknown``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ..models.base import Model
from . import interrupt
from .bmc import header_json, judge
from .induction import FAILED, GAVE_UP, OK, Obligation, verdict_of
from .path import Path
from .symbolic import BoolLike, Conjunct, SymbolicModel, b_and, b_not, b_or, check_reason, safety_properties, to_z3
from .tie import PROPERTY, SAMPLE_STATES, SymbolicMismatch, TieReport, predicates, tie_line, tie_sample, tied
from .verdict import ERROR, PROVED, UNKNOWN, VIOLATED

#: The rule names Spacer reports along a counterexample's trace.
INIT_RULE, STEP_RULE, BAD_RULE = "init", "step", "bad"

NOT_RECHECKED = "no violation found by PDR; the invariant was not re-checked"


@dataclass
class PdrResult:
    """What PDR answered: a replayed violation, a re-checked invariant (proved), or why neither."""

    model: Model[Any]
    verdict: str
    property: str | None = None
    path: Path | None = None
    build_s: float = 0.0
    query_s: float = 0.0
    trace_s: float = 0.0
    elapsed_s: float = 0.0
    reason: str = ""
    tie: TieReport | None = None
    invariant: str | None = None
    recheck: list[Obligation] = field(default_factory=list)
    #: The counterexample's steps (Spacer's derivation length; not proved shortest).
    depth: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **header_json(self.model, "pdr", self.verdict),
            "tie": self.tie.to_json() if self.tie is not None else None,
            "property": self.property,
            "depth": self.depth,
            "build_s": round(self.build_s, 6),
            "query_s": round(self.query_s, 6),
            "trace_s": round(self.trace_s, 6),
            "elapsed_s": round(self.elapsed_s, 6),
            "reason": self.reason or None,
            "invariant": self.invariant,
            "recheck": [{"name": o.name, "result": o.result, "seconds": round(o.seconds, 6),
                         "reason": o.reason or None} for o in self.recheck],
            "path": self.path.to_json() if self.path is not None else None,
        }

    def to_lines(self) -> list[str]:
        head = f"pdr {self.model.display_name}: {self.verdict}"
        if self.verdict == VIOLATED:
            head += f" ({self.property} after {self.depth} steps; not proved shortest)"
        elif self.reason:
            head += f" ({self.reason})"
        lines = [head, "  " + tie_line(self.model, self.tie),
                 f"  build {self.build_s:.3f}s, spacer {self.query_s:.3f}s, trace {self.trace_s:.3f}s, "
                 f"total {self.elapsed_s:.3f}s"]
        if self.tie is not None:
            lines += ["  " + m.line() for m in self.tie.mismatches[:10]]
        if self.recheck:
            lines.append("  the invariant Spacer returned, re-checked outside Spacer:")
            lines += ["  " + o.line() for o in self.recheck]
        if self.path is not None:
            lines.append(self.path.to_text())
        return lines


def pdr(model: Model[Any], properties: Sequence[str] | None = None, *, timeout_s: float | None = None,
        tie: int = SAMPLE_STATES, overrides: Mapping[str, Callable[[Any], Any]] | None = None,
        invariant_hook: Callable[[z3.BoolRef], z3.BoolRef] | None = None,
        progress: Callable[[str], None] | None = None) -> PdrResult:
    """Whether some reachable state breaks an ``@always`` property, by Spacer, with its answer checked.

    ``timeout_s`` bounds Spacer's query (``unknown`` when it runs out).  ``tie`` and ``overrides``
    as in ``bmc``.  ``invariant_hook`` replaces the invariant Spacer returned before it is
    re-checked (tests: a wrong invariant must not be called proved).  Ctrl-C ends the run
    ``unknown``, naming the interrupt.
    """
    note = progress or (lambda _line: None)
    t_start = time.perf_counter()
    res = PdrResult(model, UNKNOWN)
    try:
        return _pdr(model, properties, timeout_s, tie, overrides, invariant_hook, note, res, t_start)
    except KeyboardInterrupt:
        if res.query_s < 0:  # interrupted during Spacer's query: the time it ran
            res.query_s += time.perf_counter()
        res.verdict, res.path, res.property = UNKNOWN, None, None
        res.reason = f"interrupted ({interrupt.cause()}); no answer from PDR"
        res.elapsed_s = time.perf_counter() - t_start
        return res


def _pdr(model: Model[Any], properties: Sequence[str] | None, timeout_s: float | None, tie: int,
         overrides: Mapping[str, Callable[[Any], Any]] | None,
         invariant_hook: Callable[[z3.BoolRef], z3.BoolRef] | None, note: Callable[[str], None],
         res: PdrResult, t_start: float) -> PdrResult:
    note(f"building the z3 relation of {model.display_name} from its transitions")
    sm = SymbolicModel(model, split_constraint=True)
    props = [*predicates(sm, PROPERTY, safety_properties(model, properties), overrides), *sm.bound_conjuncts()]
    trans = sm.transition()
    res.build_s = time.perf_counter() - t_start
    if tie:
        note(f"built in {res.build_s:.1f}s; tying the properties' formulas to their Python on {tie} + {tie} states")
        rep = res.tie = tie_sample(sm, tied(PROPERTY, props), tie)
        if rep.mismatches:
            res.verdict = ERROR
            res.reason = f"a property's z3 formula is not its Python: {rep.mismatches[0].line()}"
            res.elapsed_s = time.perf_counter() - t_start
            return res
    init = sm.initial()
    good = b_and(*(p.formula for p in props))
    interrupt.check()
    note("asking Spacer (IC3/PDR over Horn clauses)")
    t0 = time.perf_counter()
    res.query_s = -t0
    fp, inv, bad = _clauses(sm, init, trans, good, timeout_s)
    answer, why = _query(fp, bad, timeout_s)
    res.query_s = time.perf_counter() - t0
    if answer == z3.sat:
        note(f"Spacer: a violation ({res.query_s:.1f}s); finding its states and replaying them")
        _counterexample(sm, fp, init, trans, props, res)
    elif answer == z3.unsat:
        note(f"Spacer: no violation ({res.query_s:.1f}s); re-checking its invariant")
        _recheck_answer(sm, fp, inv, init, trans, good, invariant_hook, res)
    else:
        res.verdict, res.reason = UNKNOWN, f"Spacer gave up: {why}"
    if res.verdict == PROVED and res.tie is not None and res.tie.error:
        res.verdict, res.reason = UNKNOWN, res.tie.summary()
    res.elapsed_s = time.perf_counter() - t_start
    return res


def _clauses(sm: SymbolicModel, init: BoolLike, trans: BoolLike, good: BoolLike,
             timeout_s: float | None) -> tuple[z3.Fixedpoint, z3.FuncDeclRef, z3.BoolRef]:
    fp = z3.Fixedpoint()
    fp.set(engine="spacer")
    if timeout_s is not None:
        fp.set(timeout=max(1, int(timeout_s * 1000)))
    inv = z3.Function("Inv", *(v.sort() for v in sm.xvars), z3.BoolSort())
    bad = z3.Function("Bad", z3.BoolSort())
    fp.register_relation(inv, bad)
    fp.declare_var(*sm.xvars, *sm.yvars)
    fp.rule(inv(*sm.xvars), to_z3(init), name=INIT_RULE)
    fp.rule(inv(*sm.yvars), [inv(*sm.xvars), to_z3(sm.dom_x), to_z3(trans)], name=STEP_RULE)
    fp.rule(bad(), [inv(*sm.xvars), to_z3(sm.dom_x), to_z3(b_not(good))], name=BAD_RULE)
    return fp, inv, bad()


def _query(fp: z3.Fixedpoint, bad: z3.BoolRef, timeout_s: float | None) -> tuple[z3.CheckSatResult, str]:
    """Spacer's answer; a signal interrupts the query (``interrupt.z3_interruptible``) and z3 raises
    "canceled", as it does when the timeout runs out (told apart by the time spent)."""
    t0 = time.perf_counter()
    try:
        with interrupt.z3_interruptible():
            r = fp.query(bad)
    except z3.Z3Exception as e:
        msg = str(e.value if hasattr(e, "value") else e)
        if timeout_s is not None and time.perf_counter() - t0 >= timeout_s and not interrupt.requested():
            return z3.unknown, f"the timeout ran out ({timeout_s:g} s; z3: {msg})"
        if "canceled" in msg or "interrupted" in msg:
            interrupt.request()
            raise KeyboardInterrupt from None
        return z3.unknown, msg
    interrupt.check()
    return r, fp.reason_unknown() if r == z3.unknown else ""


def _counterexample(sm: SymbolicModel, fp: z3.Fixedpoint, init: BoolLike, trans: BoolLike,
                    props: Sequence[Conjunct], res: PdrResult) -> None:
    """The states of Spacer's derivation: its length from the rules along the trace, the states from
    one bounded query at exactly that length, replayed through the concrete transitions."""
    t0 = time.perf_counter()
    got = fp.get_rule_names_along_trace()
    names = [str(n) for n in (got if isinstance(got, list) else str(got).split(";"))]
    k = names.count(STEP_RULE)
    if names.count(BAD_RULE) != 1 or names.count(INIT_RULE) != 1:
        raise SymbolicMismatch(f"internal error: Spacer's trace has the rules {names}, not init, steps and bad")
    s = z3.Solver()
    steps = [sm.step_vars(f"p{j}") for j in range(k + 1)]
    s.add(to_z3(sm.at(init, steps[0][1])))
    for j in range(k):
        s.add(to_z3(sm.at(trans, steps[j][1], steps[j + 1][1])))
    s.add(to_z3(b_or(*(b_not(sm.at(p.formula, steps[k][1])) for p in props))))
    r = s.check()
    res.trace_s = time.perf_counter() - t0
    if r == z3.unknown:
        if "interrupted" in check_reason(s) or "canceled" in check_reason(s):
            raise KeyboardInterrupt
        res.verdict = UNKNOWN
        res.reason = (f"Spacer found a violation after {k} steps, but the solver gave up finding its states "
                      f"({check_reason(s)}); nothing replayed, so nothing is claimed")
        return
    if r == z3.unsat:
        raise SymbolicMismatch(f"internal error: Spacer's derivation has {k} steps, but no run of {k} steps "
                               "breaks a property")
    m = s.model()
    path, broken, error = judge(sm.model, props, [sm.decode(v, m) for v, _vs in steps])
    res.verdict, res.property, res.path, res.depth = VIOLATED, broken.name, path, k
    if error is not None:
        res.verdict, res.reason = ERROR, error


def _recheck_answer(sm: SymbolicModel, fp: z3.Fixedpoint, inv: z3.FuncDeclRef, init: BoolLike, trans: BoolLike,
                    good: BoolLike, hook: Callable[[z3.BoolRef], z3.BoolRef] | None, res: PdrResult) -> None:
    try:
        body = fp.get_cover_delta(-1, inv)
        formula = z3.substitute_vars(body, *sm.xvars)
    except z3.Z3Exception as e:
        res.verdict, res.reason = UNKNOWN, f"{NOT_RECHECKED} (Spacer gave no invariant: {e})"
        return
    if hook is not None:
        formula = hook(formula)
    res.invariant = str(formula)
    res.recheck = recheck(sm, formula, init, trans, good)
    verdict, why = verdict_of(res.recheck)
    if verdict == PROVED:
        res.verdict, res.reason = PROVED, ""
    else:
        res.verdict = UNKNOWN
        res.reason = f"no violation found by PDR, but its invariant did not re-check ({why}); not a proof"


def recheck(sm: SymbolicModel, invariant: z3.BoolRef, init: BoolLike, trans: BoolLike,
            good: BoolLike) -> list[Obligation]:
    """Initiation, consecution and safety of ``invariant`` (over X), each one plain solver query.

    ``trans`` is the whole relation with the constraint on Y; reachable states are in the type's
    domain (initial states are, and ``trans`` keeps Y in it), so the domain is assumed of X."""
    inv_y = sm.at(invariant, sm.yvars)
    queries = [
        ("initiation: init => inv", [to_z3(init), z3.Not(invariant)]),
        ("consecution: inv & T => inv'", [to_z3(sm.dom_x), invariant, to_z3(trans), z3.Not(to_z3(inv_y))]),
        ("safety: inv => properties", [to_z3(sm.dom_x), invariant, z3.Not(to_z3(good))]),
    ]
    out = []
    for name, fs in queries:
        interrupt.check()
        t0 = time.perf_counter()
        s = z3.Solver()
        s.add(*fs)
        r = s.check()
        if r == z3.unknown and ("interrupted" in check_reason(s) or "canceled" in check_reason(s)):
            raise KeyboardInterrupt
        result = OK if r == z3.unsat else FAILED if r == z3.sat else GAVE_UP
        o = Obligation(name, None, result, time.perf_counter() - t0)
        if result == FAILED:
            o.reason = f"{name} fails"
        elif result == GAVE_UP:
            o.reason = f"{name}: {check_reason(s)}"
        out.append(o)
    return out


__all__ = ["NOT_RECHECKED", "PdrResult", "pdr", "recheck"]
