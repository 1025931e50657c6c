"""Bounded model checking with z3, from the model's own transition functions.

The relation ``T(X, Y)`` (the disjunction of every action instance's paths) is built once over
generic states and renamed per step, so depth ``k`` costs one substitution and one incremental
solver call.  The first depth at which some ``@always`` property can fail gives the shortest
violation; its states are decoded and replayed through the *concrete* transitions, so a
counterexample is shown exactly like the explicit checker's (text, JSON, graph).  A trace that
does not replay means the symbolic side disagrees with the Python code: that is reported as an
internal error, never as a result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ..models.base import Model
from . import interrupt
from .bmc_sat import CADICAL, SOLVERS, Z3, Unrolled, blast, frame_relation, state_bits
from .bmc_steps import AUTO, BvSteps, IntSteps, choose
from .errors import ConstraintError, ModelError, raising_step, refuse_false_non_bool
from .path import Path
from .symbolic import (
    BoolLike,
    Conjunct,
    SymbolicModel,
    b_not,
    b_or,
    check_reason,
    interrupted,
    safety_properties,
    to_z3,
)
from .tie import PROPERTY, SAMPLE_STATES, SymbolicMismatch, TieReport, predicates, tie_line, tie_sample, tied
from .verdict import BOUNDED, ERROR, UNKNOWN, VIOLATED


def config_json(model: Model[Any]) -> dict[str, Any]:
    try:
        return dataclasses.asdict(model.config)
    except TypeError:
        return {}


def header_json(model: Model[Any], engine: str, verdict: str) -> dict[str, Any]:
    """The fields every engine's JSON starts with (as ``protoproof check --json``)."""
    return {"model": model.display_name, "params": config_json(model), "variant": model.variant_name,
            "engine": engine, "verdict": verdict}


@dataclass
class BmcResult:
    """What ``bmc`` found: a replayed violation, or none up to ``depth_reached``."""

    model: Model[Any]
    verdict: str
    property: str | None
    path: Path | None
    depth_reached: int
    per_depth_s: list[float] = field(default_factory=list)
    build_s: float = 0.0
    elapsed_s: float = 0.0
    reason: str = ""
    tie: TieReport | None = None
    #: How the states were written for z3 ("integers", "bit-vectors (6-bit integers)"), and why
    #: integers were kept when bit-vectors were not proved sound.
    encoding: str = ""
    encoding_note: str = ""
    #: Which SAT back end answered: "z3" or "cadical" (``bmc_sat``).
    solver: str = Z3
    #: The user's ``--constraint``: every step's successor satisfied it, so "shortest" and "no
    #: violation" speak of the states it allows only.
    constraint: str | None = None
    #: ``--one-query``: every step was unrolled first and one query asked for a violation at any
    #: depth up to ``--depth``; a violation so found is not proved shortest.
    one_query: bool = False
    asked_depth: int = 0
    #: How long that one query took (unrolling excluded), and the length of the path it found
    #: before ``shorten`` (None: not shortened).
    query_s: float = 0.0
    shortened_from: int | None = None
    #: ``--waypoint``: the expressions, in order, and the step of the run at which each was reached
    #: (``bmc_waypoints``); a violation so found is not proved shortest.
    waypoints: list[str] = field(default_factory=list)
    waypoint_steps: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            **header_json(self.model, "bmc", self.verdict),
            "tie": self.tie.to_json() if self.tie is not None else None,
            "property": self.property,
            "depth": self.depth_reached,
            "depth_reached": self.depth_reached,
            "per_depth_s": [round(t, 6) for t in self.per_depth_s],
            "build_s": round(self.build_s, 6),
            "elapsed_s": round(self.elapsed_s, 6),
            "reason": self.reason or None,
            "encoding": self.encoding or None,
            "encoding_note": self.encoding_note or None,
            "solver": self.solver,
            "constraint": self.constraint,
            "one_query": self.one_query,
            "query_s": round(self.query_s, 6) if self.one_query else None,
            "shortest": self.verdict == VIOLATED and not self.one_query and not self.waypoints,
            "shortened_from": self.shortened_from,
            "waypoints": [{"expression": w, "step": self.waypoint_steps[i] if i < len(self.waypoint_steps) else None}
                          for i, w in enumerate(self.waypoints)],
            "path": self.path.to_json() if self.path is not None else None,
        }

    def to_lines(self) -> list[str]:
        head = f"bmc {self.model.display_name}: {self.verdict}"
        among = f" among the states --constraint {self.constraint!r} allows" if self.constraint else ""
        shortened = f"; shortened from {self.shortened_from} steps" if self.shortened_from is not None else ""
        if self.verdict == VIOLATED and self.waypoints:
            n = len(self.waypoints)
            each = ", each leg one query" if self.one_query else ""
            head += (f" ({self.property} at depth {self.depth_reached}, found through {n} waypoint{'s' * (n > 1)}"
                     f"{each}{among}: not proved shortest{shortened})")
        elif self.verdict == VIOLATED and self.one_query:
            head += (f" ({self.property} at depth {self.depth_reached}, found by one query for every depth up to "
                     f"{self.asked_depth}{among}: not proved shortest{shortened})")
        elif self.verdict == VIOLATED:
            head += f" ({self.property} at depth {self.depth_reached}" + (f", shortest{among}" if among else "") + ")"
        elif self.verdict == BOUNDED:
            head += f" (no violation up to depth {self.depth_reached}{among} on {self.encoding}; not a proof)"
            if self.reason:
                head += f" [{self.reason}]"
            if self.tie is None:
                head += " [formulas not tied to the model]"
        else:
            head += f" ({self.reason})"
        lines = [head, "  " + tie_line(self.model, self.tie)]
        if self.encoding:
            lines.append(f"  encoding: {self.encoding}" + (f" ({self.encoding_note})" if self.encoding_note else "")
                         + ("; solved by CaDiCaL" if self.solver == CADICAL else ""))
        lines.append(f"  build {self.build_s:.3f}s, total {self.elapsed_s:.3f}s")
        if self.tie is not None:
            lines += ["  " + m.line() for m in self.tie.mismatches[:10]]
        for i, w in enumerate(self.waypoints):
            at = f"step {self.waypoint_steps[i]}" if i < len(self.waypoint_steps) else "not reached"
            lines.append(f"  waypoint {i + 1} ({w}): {at}")
        if not self.waypoints:  # a leg's depths start again from 0: the list would mislead
            lines += [f"  depth {k:>3}: {t:.3f}s" for k, t in enumerate(self.per_depth_s)]
        if self.one_query and self.query_s:
            lines.append(f"  one query for depths 0..{self.asked_depth}: {self.query_s:.3f}s")
        if self.path is not None:
            lines.append(self.path.to_text())
        return lines


def replay_states(model: Model[Any], states: Sequence[Any]) -> Path:
    """The concrete path through decoded states (``SymbolicMismatch`` if a step is not a transition)."""
    inits = model.initial_states()
    if states[0] not in inits:
        raise SymbolicMismatch(f"internal error: the solver's initial state {states[0]!r} is not an initial state")
    actions = []
    for k, (s, t) in enumerate(itertools.pairwise(states)):
        for a, u in model.successors(s):
            if u == t:
                actions.append(a)
                break
        else:
            raise SymbolicMismatch(
                f"internal error: step {k + 1} of the solver's trace ({s!r} -> {t!r}) is no concrete "
                "transition; the symbolic relation disagrees with the Python code (run `protoproof conform`)"
            )
    return Path(model, list(states), actions)


def step_error(model: Model[Any], broken: Conjunct, s: Any) -> str | None:
    """The model error a broken engine obligation (``bag_bound``, ``steps_total``) stands for, as ``check``
    reports it (exit 4): a reachable state in which a step raises, or sends beyond the bag's bound, is a
    bug in the model, not a violated property.  None for a property of the model's, whatever its name,
    and when no step raises in ``s``."""
    found = raising_step(model, s) if broken.engine else None
    if found is None:
        return None
    a, e = found
    return f"the model raised {type(e).__name__}: {e} in action {a!r} at the last state of this path"


def bmc(model: Model[Any], depth: int, properties: Sequence[str] | None = None, *, tie: int = SAMPLE_STATES,
        overrides: Mapping[str, Callable[[Any], Any]] | None = None,
        progress: Callable[[str], None] | None = None, encoding: str = AUTO, solver: str = Z3,
        constraint: str | None = None, one_query: bool = False, waypoints: Sequence[str] = (),
        waypoint_tries: int | None = None) -> BmcResult:
    """The shortest violation of an ``@always`` property within ``depth`` steps, replayed concretely.

    First the properties' formulas are tied to their Python on ``tie`` reachable and ``tie``
    random states (0: not tied, and the result says so): a clean bounded run means nothing if a
    formula is not the property.  A mismatch is a model error (verdict ``error``).
    ``overrides`` (property name -> function) replaces a property's symbolic side (for tests).
    ``progress`` gets a line per phase and per depth as it ends.  Ctrl-C (or z3 interrupted from
    the keyboard) ends the run ``bounded`` at the last depth fully checked.
    ``encoding``: ``auto`` unrolls on bit-vectors when ``symbolic.bitvec`` proves that no value
    leaves their width (else on integers, and the result says why); ``int`` always on integers.
    ``solver``: ``z3``, or ``cadical`` (``bmc_sat``: the bit-vector relation bit-blasted once and
    unrolled in CaDiCaL; it needs the bit-vector encoding, else the verdict is ``unknown``).
    ``constraint``: a Python expression over the state ``s`` (``check --constraint``, TLC's
    CONSTRAINT): a step whose successor fails it is not taken, on z3 values as in the explicit
    search; a violation found is a run of the model, "no violation" covers the allowed states only.
    ``one_query``: unroll every step first, then ask once for a violation at any depth up to
    ``depth`` instead of once per depth: the unsatisfiable queries of the shallower depths, which
    dominate a deep search, are never asked.  "No violation" means the same; a violation found is
    not proved shortest (it is shortened by delta debugging, ``shorten``, and says so), and an
    interrupted run has checked no depth.
    ``waypoints``: Python expressions over ``s``, searched for leg by leg (``bmc_waypoints``); a
    violation so found is a real run, not proved shortest, and a miss is ``unknown``.  With
    ``one_query``, each leg is one query for every depth up to ``depth``.
    ``waypoint_tries``: how many times in all the search may take another state for a waypoint when
    a later leg reached nothing (default ``bmc_waypoints.TRIES``).
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver {solver!r}: one of {', '.join(SOLVERS)}")
    if constraint is not None:
        from .constraint import constrained

        model = constrained(model, constraint)  # ValueError: an expression that does not compile
    note = progress or (lambda _line: None)
    t_start = time.perf_counter()
    note(f"building the z3 relation of {model.display_name} from its transitions")
    sm = SymbolicModel(model, split_constraint=True)
    props = predicates(sm, PROPERTY, safety_properties(model, properties), overrides)
    trans = sm.transition()
    build_s = time.perf_counter() - t_start
    if tie:
        note(f"built in {build_s:.1f}s; tying the properties' formulas to their Python on {tie} + {tie} states")
    rep = tie_sample(sm, tied(PROPERTY, props), tie) if tie else None
    if rep is not None and rep.mismatches:
        return BmcResult(model, ERROR, None, None, 0, [], build_s, time.perf_counter() - t_start,
                         reason=f"a property's z3 formula is not its Python: {rep.mismatches[0].line()}", tie=rep)
    checked = [*props, *sm.bound_conjuncts()]
    init = sm.initial()
    ways = _waypoints(model, sm, waypoints)
    steps, why = choose(model, sm, [init, trans, *(p.formula for p in checked), *(w.conjunct.formula for w in ways)],
                        trans, encoding)
    note(f"unrolling on {steps.description}" + (f" ({why})" if why else ""))
    if solver == CADICAL and not isinstance(steps, BvSteps):
        result = BmcResult(model, UNKNOWN, None, None, 0, [], build_s, time.perf_counter() - t_start,
                           reason=f"--solver cadical needs the bit-vector encoding, and integers were kept ({why})")
    elif ways:
        from .bmc_waypoints import TRIES, through_waypoints

        result = through_waypoints(model, sm, steps, checked, ways, depth, solver, build_s, t_start, note,
                                   TRIES if waypoint_tries is None else waypoint_tries, one_query)
    else:
        unroll = _unroll_sat if solver == CADICAL else _unroll
        result = _search(model, steps, checked, trans, init, depth, build_s, t_start, note, unroll, one_query)
    result.tie = rep
    result.encoding, result.encoding_note = steps.description, why
    result.solver, result.constraint = solver, constraint
    result.one_query, result.asked_depth = one_query, depth
    result.waypoints = list(waypoints)
    if result.verdict == BOUNDED and rep is not None and rep.model_raised:  # deeper than the unrolling
        result.verdict, result.reason = ERROR, f"a reachable state of the tie's sample: {rep.error}"
    elif result.verdict == BOUNDED and rep is not None and rep.error:
        result.verdict, result.reason = UNKNOWN, rep.summary()
    return result


def _waypoints(model: Model[Any], sm: SymbolicModel, texts: Sequence[str]) -> list[Any]:
    """Each ``--waypoint`` as its Python predicate and its formula (run on z3 values, as ``--constraint``)."""
    if not texts:
        return []
    from .bmc_waypoints import Waypoint
    from .constraint import predicate

    return [Waypoint(t, sm.predicate(f"--waypoint {i + 1}", predicate(model, t, "--waypoint"), use_twin=False))
            for i, t in enumerate(texts)]


def _search(model: Model[Any], steps: Any, props: Sequence[Conjunct], trans: BoolLike, init: BoolLike,
            depth: int, build_s: float, t_start: float, note: Callable[[str], None],
            unroll: Callable[..., BmcResult], one_query: bool) -> BmcResult:
    per_depth: list[float] = []
    try:
        return unroll(model, steps, props, trans, init, depth, build_s, t_start, note, per_depth, one_query)
    except KeyboardInterrupt:
        return _interrupted(model, per_depth, build_s, t_start, one_query)


def _interrupted(model: Model[Any], per_depth: list[float], build_s: float, t_start: float,
                 one_query: bool = False) -> BmcResult:
    """The honest end of an interrupted search: bounded by the depths fully checked, if any."""
    done = len(per_depth) - 1
    why = f"interrupted ({interrupt.cause()}) while checking depth {done + 1}"
    if one_query:  # one query for every depth: none is checked before it answers
        why = f"interrupted ({interrupt.cause()}) before the one query for every depth answered"
    if done < 0:
        return BmcResult(model, UNKNOWN, None, None, 0, per_depth, build_s, time.perf_counter() - t_start,
                         reason=why + "; no depth was checked")
    return BmcResult(model, BOUNDED, None, None, done, per_depth, build_s, time.perf_counter() - t_start,
                     reason=why)


def _unroll(model: Model[Any], enc: IntSteps, props: Sequence[Conjunct], trans: BoolLike, init: BoolLike,
            depth: int, build_s: float, t_start: float, note: Callable[[str], None],
            per_depth: list[float], one_query: bool = False) -> BmcResult:
    solver = enc.solver()
    v0, _orig0, vars0 = enc.step("s0")
    solver.add(enc.formula(init, vars0), to_z3(enc.state_ok(_orig0)))
    steps: list[tuple[Any, list[z3.ExprRef]]] = [(v0, vars0)]
    if one_query:  # a run may end at any depth (a state without successors too): step k+1 only if "on"
        on = [z3.BoolVal(True), *(z3.Bool(f"⟨on {k}⟩") for k in range(1, depth + 1))]
        for k in range(depth):
            interrupt.check()
            nv, norig, nvars = enc.step(f"s{k + 1}")
            solver.add(z3.Implies(on[k + 1], z3.And(on[k], to_z3(enc.formula(trans, steps[-1][1], nvars)),
                                                    to_z3(enc.state_ok(norig)))))
            steps.append((nv, nvars))
        bads = [z3.And(on[k], to_z3(b_or(*[b_not(enc.formula(p.formula, vs)) for p in props])))
                for k, (_v, vs) in enumerate(steps)]
        note(f"unrolled {depth} steps; one query for a violation at any depth up to {depth}")
        t0 = time.perf_counter()
        solver.add(z3.Or(*bads))
        r = solver.check()
        if r == z3.sat:
            m = solver.model()
            first = next(k for k, b in enumerate(bads) if z3.is_true(m.eval(b, model_completion=True)))
            states = [enc.decode(v, m) for v, _vs in steps[:first + 1]]
            return _found_once(model, props, states, time.perf_counter() - t0, build_s, t_start)
        if r == z3.unknown and interrupted(solver):
            raise KeyboardInterrupt
        return _none_once(model, depth, None if r == z3.unsat else check_reason(solver), time.perf_counter() - t0,
                          build_s, t_start)
    for k in range(depth + 1):
        interrupt.check()
        t0 = time.perf_counter()
        _vk, varsk = steps[-1]
        bad: list[BoolLike] = [b_not(enc.formula(p.formula, varsk)) for p in props]
        solver.push()
        solver.add(to_z3(b_or(*bad)))
        r = solver.check()
        if r == z3.sat:
            m = solver.model()
            states = [enc.decode(v, m) for v, _vs in steps]
            solver.pop()
            per_depth.append(time.perf_counter() - t0)
            return _found(model, props, states, k, per_depth, build_s, t_start)
        solver.pop()
        if r == z3.unknown and interrupted(solver):
            raise KeyboardInterrupt  # z3 caught the Ctrl-C itself: end as the user asked
        if r == z3.unknown:
            per_depth.append(time.perf_counter() - t0)
            return BmcResult(model, UNKNOWN, None, None, k, per_depth, build_s, time.perf_counter() - t_start,
                             reason=check_reason(solver))
        if k < depth:
            nv, norig, nvars = enc.step(f"s{k + 1}")
            solver.add(enc.formula(trans, varsk, nvars), to_z3(enc.state_ok(norig)))
            steps.append((nv, nvars))
        per_depth.append(time.perf_counter() - t0)
        note(f"depth {k}: no violation ({per_depth[-1]:.3f}s)")
    return BmcResult(model, BOUNDED, None, None, depth, per_depth, build_s, time.perf_counter() - t_start)


def judge(model: Model[Any], props: Sequence[Conjunct], states: Sequence[Any]) -> tuple[Path, Conjunct, str | None]:
    """A solver's trace, replayed through the concrete transitions and judged by the Python properties:
    the path, the first property its last state breaks, and the model error that stands for it (None:
    a violation).  A trace that is no run, or breaks nothing, is the symbolic side's error."""
    path = replay_states(model, states)
    broken = [p for p in props if not p.fn(path.last)]
    if not broken:
        raise SymbolicMismatch(
            f"internal error: the solver's trace ends in a state satisfying every property: {path.last!r}"
        )
    try:
        refuse_false_non_bool(broken[0].name, broken[0].fn(path.last), path.last, None)
    except ModelError as e:
        return path, broken[0], e.message
    return path, broken[0], step_error(model, broken[0], path.last)


def _found(model: Model[Any], props: Sequence[Conjunct], states: list[Any], k: int, per_depth: list[float],
           build_s: float, t_start: float) -> BmcResult:
    path, broken, error = judge(model, props, states)
    return BmcResult(model, VIOLATED if error is None else ERROR, broken.name, path, k, per_depth,
                     build_s, time.perf_counter() - t_start, reason=error or "")


#: Seconds ``--one-query`` gives delta debugging to shorten the path its query found.
SHORTEN_S = 10.0


def _found_once(model: Model[Any], props: Sequence[Conjunct], states: list[Any], query_s: float, build_s: float,
                t_start: float) -> BmcResult:
    """``_found`` for ``--one-query``: the trace ends at its first bad state, and is shortened."""
    from .shorten import shorten

    path, broken, error = judge(model, props, states)
    found = len(path)
    if error is None:
        with contextlib.suppress(ConstraintError):  # the user's --constraint raised on a state off the run
            path = shorten(model, path, broken.name, SHORTEN_S)
    return BmcResult(model, VIOLATED if error is None else ERROR, broken.name, path, len(path), [], build_s,
                     time.perf_counter() - t_start, reason=error or "", query_s=query_s,
                     shortened_from=found if len(path) < found else None)


def _none_once(model: Model[Any], depth: int, unknown: str | None, query_s: float, build_s: float,
               t_start: float) -> BmcResult:
    """No violation at any depth up to ``depth`` (or the solver's ``unknown``: then no depth is checked)."""
    if unknown is not None:
        return BmcResult(model, UNKNOWN, None, None, 0, [], build_s, time.perf_counter() - t_start,
                         reason=unknown + "; --one-query checks every depth at once, so none was checked",
                         query_s=query_s)
    return BmcResult(model, BOUNDED, None, None, depth, [], build_s, time.perf_counter() - t_start, query_s=query_s)


_BAD = "⟨bad⟩"


class _Values:
    """Bits read back from CaDiCaL, as the ``eval`` of a z3 model over one step's variables."""

    def __init__(self, vals: dict[str, z3.ExprRef]) -> None:
        self.vals = vals

    def eval(self, t: z3.ExprRef, model_completion: bool = False) -> z3.ExprRef:
        return self.vals[t.decl().name()]


def _read_step(enc: BvSteps, u: Unrolled, true: set[int], k: int) -> Any:
    v, _orig, bvars = enc.step(f"s{k}")
    return enc.decode(v, _Values(u.values(k, bvars, true)))


def _unroll_sat(model: Model[Any], enc: BvSteps, props: Sequence[Conjunct], trans: BoolLike, init: BoolLike,
                depth: int, build_s: float, t_start: float, note: Callable[[str], None],
                per_depth: list[float], one_query: bool = False) -> BmcResult:
    """``_unroll`` on CaDiCaL.  ``trans`` is not used as such: the same relation is rebuilt from its
    parts (``sm.actions``, the successor's type and constraint) in ``frame_relation``'s form."""
    t0 = time.perf_counter()
    bx, by = enc.bx, enc.by
    sm = enc.sm
    rel = frame_relation([enc.formula(a.formula, bx, by) for a in sm.actions],
                         [enc.formula(sm.dom_y, bx, by), enc.formula(sm.constraint_y, bx, by)], bx, by)
    step = blast([rel, to_z3(enc.state_ok(sm.yvars))], [bx, by])
    start = blast([enc.formula(init, bx), to_z3(enc.state_ok(sm.xvars))], [bx])
    bad = blast([z3.Bool(_BAD) == to_z3(b_or(*[b_not(enc.formula(p.formula, bx)) for p in props]))], [bx],
                marks=[_BAD])
    note(f"bit-blasted once for CaDiCaL in {time.perf_counter() - t0:.1f}s: a step is "
         f"{len(step.clauses):,} clauses over {len(state_bits(bx)):,} state bits")
    u = Unrolled()
    u.add(start, [0])
    if one_query:  # a run may end at any depth (a state without successors too): step k+1 only if on[k+1]
        on = [u.fresh() for _ in range(depth + 1)]
        u.solver.add_clause([on[0]])
        hit = [u.fresh() for _ in range(depth + 1)]  # hit[k]: on at k, and bad there
        for k in range(depth + 1):
            interrupt.check()
            u.add(bad, [k, k])
            u.solver.append_formula([[-hit[k], on[k]], [-hit[k], u.var(k, _BAD)]])
            if k < depth:
                u.add(step, [k, k + 1], guard=on[k + 1])
                u.solver.add_clause([-on[k + 1], on[k]])
        some = u.fresh()
        u.solver.add_clause([-some, *hit])
        note(f"unrolled {depth} steps; one query for a violation at any depth up to {depth}")
        t0 = time.perf_counter()
        if u.solve([some]):
            true = u.true_vars()
            first = min(k for k in range(depth + 1) if on[k] in true and u.var(k, _BAD) in true)
            states = [_read_step(enc, u, true, i) for i in range(first + 1)]
            return _found_once(model, props, states, time.perf_counter() - t0, build_s, t_start)
        return _none_once(model, depth, None, time.perf_counter() - t0, build_s, t_start)
    for k in range(depth + 1):
        interrupt.check()
        t0 = time.perf_counter()
        u.add(bad, [k, k])
        flag = u.var(k, _BAD)
        if u.solve([flag]):
            true = u.true_vars()
            states = [_read_step(enc, u, true, i) for i in range(k + 1)]
            per_depth.append(time.perf_counter() - t0)
            return _found(model, props, states, k, per_depth, build_s, t_start)
        u.solver.add_clause([-flag])  # no violation within k steps: a fact for the deeper queries
        if k < depth:
            u.add(step, [k, k + 1])
        per_depth.append(time.perf_counter() - t0)
        note(f"depth {k}: no violation ({per_depth[-1]:.3f}s)")
    return BmcResult(model, BOUNDED, None, None, depth, per_depth, build_s, time.perf_counter() - t_start)


__all__ = ["BmcResult", "SymbolicMismatch", "bmc", "judge", "replay_states"]
