"""``bmc --waypoint``: bounded model checking from one waypoint to the next.

A bug 50 steps deep is out of reach of one unrolling (each depth of a large relation costs
minutes, and the solver's work grows with the depth), but it is often the end of a story its
user can tell in a few chapters: a leader with an entry, a rival leader with another, a commit, an
election.  Each ``--waypoint EXPR`` is one chapter's end, a Python expression over the state ``s``
(as ``--constraint``).  The search runs a leg at a time: the shortest run (depth by depth, up to
``--depth`` steps) from the initial states to a state satisfying the first waypoint *or breaking a
property*, then from that one state to the next waypoint, and so on; the last leg looks for a
violation only.  What a user gains is depth: four legs of 13 steps are four cheap unrollings,
where one of 52 steps is not.

What the verdict promises.  A violation found is a real run: the legs are joined, replayed
through the concrete transitions from an initial state, judged by the Python properties and
shortened by delta debugging; it is not proved shortest.  Where a leg reaches nothing, the
verdict is ``unknown``: each leg starts from one state the previous leg chose, so a miss says
nothing of the runs through the other states satisfying the waypoint, let alone the runs
through none.  A waypoint, like a TLC ``CONSTRAINT`` or a P test driver, is guidance from
someone who knows where to look, and the result names it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ..models.base import Model
from . import interrupt
from .bmc_sat import CADICAL, Template, Unrolled, blast, frame_relation
from .bmc_steps import BvSteps, IntSteps
from .errors import ConstraintError
from .symbolic import BoolLike, Conjunct, SymbolicModel, b_not, b_or, check_reason, interrupted, to_z3
from .tie import SymbolicMismatch
from .verdict import ERROR, UNKNOWN, VIOLATED

_BAD, _WAY = "⟨bad⟩", "⟨waypoint⟩"
#: How many times, in all, a search may go back and take another state for a waypoint when a later
#: leg reached nothing from the first one it took (``bmc(waypoint_tries=)``, ``--waypoint-tries``).
TRIES = 4


@dataclass
class Waypoint:
    """One ``--waypoint``: its text, its Python predicate and its formula over the generic state."""

    text: str
    conjunct: Conjunct


class _Missed(Exception):
    """A leg that reached nothing within the depth (``reason`` says why, for ``unknown``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _leg_z3(enc: IntSteps, start: BoolLike, bad: BoolLike, way: BoolLike | None, blocked: Sequence[Any],
            depth: int, per_depth: list[float], note: Callable[[str], None], once: bool = False) -> list[Any] | None:
    """The shortest run from ``start`` to a state where ``bad`` or ``way`` holds and which is none of
    ``blocked`` (states tried before), decoded; None: none within ``depth``.  z3, one incremental
    query per depth; ``once``: one query for every depth (a run, not proved shortest)."""
    sm = enc.sm
    solver = enc.solver()
    v, orig, vs = enc.step("s0")
    solver.add(enc.formula(start, vs), to_z3(enc.state_ok(orig)))
    steps: list[tuple[Any, list[z3.ExprRef]]] = [(v, vs)]
    target = bad if way is None else b_or(bad, way)

    def hit(varsk: list[z3.ExprRef]) -> list[z3.BoolRef]:
        return [enc.formula(target, varsk), *(z3.Not(enc.formula(sm.state_eq(sm.x, b), varsk)) for b in blocked)]

    if once:  # as ``bmc --one-query``: step k+1 only if on[k+1], so a run may end at any depth
        on = [z3.BoolVal(True), *(z3.Bool(f"⟨on {k}⟩") for k in range(1, depth + 1))]
        for k in range(depth):
            interrupt.check()
            nv, norig, nvars = enc.step(f"s{k + 1}")
            solver.add(z3.Implies(on[k + 1], z3.And(on[k], enc.formula(sm.transition(), steps[-1][1], nvars),
                                                    to_z3(enc.state_ok(norig)))))
            steps.append((nv, nvars))
        t0 = time.perf_counter()
        hits = [z3.And(on[k], *hit(vs)) for k, (_v, vs) in enumerate(steps)]
        solver.add(z3.Or(*hits))
        r = solver.check()
        per_depth.append(time.perf_counter() - t0)
        if r == z3.sat:
            m = solver.model()
            first = next(k for k, h in enumerate(hits) if z3.is_true(m.eval(h, model_completion=True)))
            return [enc.decode(u, m) for u, _vs in steps[:first + 1]]
        if r == z3.unknown and interrupted(solver):
            raise KeyboardInterrupt
        if r == z3.unknown:
            raise _Missed(check_reason(solver))
        return None
    for k in range(depth + 1):
        interrupt.check()
        t0 = time.perf_counter()
        varsk = steps[-1][1]
        solver.push()
        solver.add(*hit(varsk))
        r = solver.check()
        if r == z3.sat:
            m = solver.model()
            per_depth.append(time.perf_counter() - t0)
            return [enc.decode(u, m) for u, _vs in steps]
        solver.pop()
        if r == z3.unknown and interrupted(solver):
            raise KeyboardInterrupt
        if r == z3.unknown:
            raise _Missed(check_reason(solver))
        if k < depth:
            nv, norig, nvars = enc.step(f"s{k + 1}")
            solver.add(enc.formula(sm.transition(), varsk, nvars), to_z3(enc.state_ok(norig)))
            steps.append((nv, nvars))
        per_depth.append(time.perf_counter() - t0)
        note(f"  depth {k}: not yet ({per_depth[-1]:.3f}s)")
    return None


class _SatLegs:
    """The templates every CaDiCaL leg shares, bit-blasted once: a step, "some property fails",
    and each waypoint."""

    def __init__(self, enc: BvSteps, bad: BoolLike, ways: Sequence[BoolLike]) -> None:
        self.enc = enc
        bx, by, sm = enc.bx, enc.by, enc.sm
        rel = frame_relation([enc.formula(a.formula, bx, by) for a in sm.actions],
                             [enc.formula(sm.dom_y, bx, by), enc.formula(sm.constraint_y, bx, by)], bx, by)
        self.step = blast([rel, to_z3(enc.state_ok(sm.yvars))], [bx, by])
        self.bad = blast([z3.Bool(_BAD) == enc.formula(bad, bx)], [bx], marks=[_BAD])
        self.ways = [blast([z3.Bool(_WAY) == enc.formula(w, bx)], [bx], marks=[_WAY]) for w in ways]

    def start(self, f: BoolLike) -> Template:
        return blast([self.enc.formula(f, self.enc.bx), to_z3(self.enc.state_ok(self.enc.sm.xvars))], [self.enc.bx])

    def other_than(self, b: Any, n: int) -> Template:
        """Mark ``⟨other n⟩``: the state is not ``b`` (as a state: the same formula as z3's)."""
        mark = f"⟨other {n}⟩"
        f = z3.Not(self.enc.formula(self.enc.sm.state_eq(self.enc.sm.x, b), self.enc.bx))
        return blast([z3.Bool(mark) == f], [self.enc.bx], marks=[mark])

    def leg(self, start: BoolLike, way: int | None, blocked: Sequence[Any], depth: int, per_depth: list[float],
            note: Callable[[str], None], once: bool = False) -> list[Any] | None:
        """``_leg_z3`` on CaDiCaL: each depth asks "bad or the waypoint, and no state tried before"
        under one assumption."""
        from .bmc import _read_step

        others = [self.other_than(b, n) for n, b in enumerate(blocked)]
        u = Unrolled()
        try:
            u.add(self.start(start), [0])
            if once:
                return self._once(u, way, others, depth, per_depth)
            for k in range(depth + 1):
                interrupt.check()
                t0 = time.perf_counter()
                hits, fresh = self._hits(u, k, way, others)
                ask = u.fresh()
                u.solver.append_formula([[-ask, *hits], *([-ask, f] for f in fresh)])
                if u.solve([ask]):
                    true = u.true_vars()
                    per_depth.append(time.perf_counter() - t0)
                    return [_read_step(self.enc, u, true, i) for i in range(k + 1)]
                u.solver.add_clause([-hits[0]])  # no violation within k steps: a fact for the deeper queries
                if k < depth:
                    u.add(self.step, [k, k + 1])
                per_depth.append(time.perf_counter() - t0)
                note(f"  depth {k}: not yet ({per_depth[-1]:.3f}s)")
            return None
        finally:
            u.solver.delete()

    def _hits(self, u: Unrolled, k: int, way: int | None, others: Sequence[Template]) -> tuple[list[int], list[int]]:
        """Step ``k``'s marks: (bad, the waypoint), and "not the n-th state tried" for each n."""
        u.add(self.bad, [k, k])
        hits = [u.var(k, _BAD)]
        if way is not None:
            u.add(self.ways[way], [k, k])
            hits.append(u.var(k, _WAY))
        for other in others:
            u.add(other, [k, k])
        return hits, [u.var(k, f"⟨other {n}⟩") for n in range(len(others))]

    def _once(self, u: Unrolled, way: int | None, others: Sequence[Template], depth: int,
              per_depth: list[float]) -> list[Any] | None:
        """``leg`` as one query for every depth (``bmc --one-query``'s guarded unrolling)."""
        from .bmc import _read_step

        on = [u.fresh() for _ in range(depth + 1)]
        u.solver.add_clause([on[0]])
        hit = []
        for k in range(depth + 1):
            interrupt.check()
            hits, fresh = self._hits(u, k, way, others)
            h = u.fresh()  # h: the run reaches step k, which is bad or the waypoint, and no state tried
            u.solver.append_formula([[-h, on[k]], [-h, *hits], *([-h, f] for f in fresh)])
            hit.append(h)
            if k < depth:
                u.add(self.step, [k, k + 1], guard=on[k + 1])
                u.solver.add_clause([-on[k + 1], on[k]])
        some = u.fresh()
        u.solver.add_clause([-some, *hit])
        t0 = time.perf_counter()
        found = u.solve([some])
        per_depth.append(time.perf_counter() - t0)
        if not found:
            return None
        true = u.true_vars()
        first = min(k for k in range(depth + 1) if hit[k] in true)
        return [_read_step(self.enc, u, true, i) for i in range(first + 1)]


@dataclass
class _Search:
    """The state of one search through the waypoints (``through_waypoints``)."""

    model: Model[Any]
    sm: SymbolicModel
    enc: IntSteps
    props: Sequence[Conjunct]
    ways: Sequence[Waypoint]
    depth: int
    sat: _SatLegs | None
    note: Callable[[str], None]
    #: States to try again for a waypoint, in all, once a later leg reached nothing from the first.
    tries: int
    #: Each leg one query for every depth up to ``depth`` (``--one-query``), not one per depth.
    once: bool = False
    bad: BoolLike = True
    per_depth: list[float] = field(default_factory=list)
    reached: list[int] = field(default_factory=list)
    retried: int = 0
    #: Where the search first reached nothing, and the waypoints' steps on the way there.
    missed: str = ""
    missed_steps: list[int] = field(default_factory=list)

    def _qualifies(self, s: Any, way: Waypoint | None, blocked: Sequence[Any]) -> bool:
        """In Python: ``s`` breaks a property, or is a state for ``way`` not tried before."""
        return (any(not p.fn(s) for p in self.props)
                or (way is not None and s not in blocked and bool(way.conjunct.fn(s))))

    def legs(self, i: int, run: list[Any]) -> list[Any] | None:
        """A run through waypoints ``i``.. from ``run``'s last state (the initial states when ``run``
        is empty) to a violation; None when none was found, ``missed`` saying where it failed first."""
        way = self.ways[i] if i < len(self.ways) else None
        goal = f"waypoint {i + 1} ({way.text!r}) or a violation" if way else "a violation"
        where = "the initial states" if not run else f"the state of waypoint {i} (step {len(run) - 1})"
        start = self.sm.initial() if not run else self.sm.state_eq(self.sm.x, run[-1])
        blocked: list[Any] = []
        while True:
            again = f" (a state other than the {len(blocked)} tried)" if blocked else ""
            self.note(f"leg {i + 1}: {goal}{again}, within {self.depth} steps of {where}")
            if self.sat is not None:
                leg = self.sat.leg(start, i if way else None, blocked, self.depth, self.per_depth, self.note,
                                   self.once)
            else:
                leg = _leg_z3(self.enc, start, self.bad, way.conjunct.formula if way else None, blocked, self.depth,
                              self.per_depth, self.note, self.once)
            if leg is None:
                what = f"waypoint {i + 1} ({way.text!r}) was not reached" if way else "no violation was found"
                if not self.missed:
                    self.missed = f"{what} within {self.depth} steps of {where}{again}"
                    self.missed_steps = list(self.reached)
                return None
            if self.once:  # one query's run may pass a state that qualifies before the one it ends in
                leg = leg[:next((k + 1 for k, t in enumerate(leg) if self._qualifies(t, way, blocked)), len(leg))]
            whole = [*run, *leg[1:]] if run else leg
            last = whole[-1]
            if any(not p.fn(last) for p in self.props):
                return whole
            if way is None or not way.conjunct.fn(last):
                raise SymbolicMismatch(f"internal error: the solver's state for {goal} satisfies neither in "
                                       f"Python: {last!r}")
            self.reached.append(len(whole) - 1)
            self.note(f"waypoint {i + 1} reached at step {len(whole) - 1}")
            found = self.legs(i + 1, whole)
            if found is not None:
                return found
            self.reached.pop()
            if self.retried >= self.tries:
                return None
            self.retried += 1
            blocked.append(last)


def through_waypoints(model: Model[Any], sm: SymbolicModel, enc: IntSteps, props: Sequence[Conjunct],
                      ways: Sequence[Waypoint], depth: int, solver: str, build_s: float, t_start: float,
                      note: Callable[[str], None], tries: int = TRIES, once: bool = False) -> Any:
    """The search of the module's docstring; a ``BmcResult``."""
    from .bmc import BmcResult

    search = _Search(model, sm, enc, props, ways, depth, None, note, tries, once,
                     b_or(*[b_not(p.formula) for p in props]))

    def unknown(reason: str, steps: list[int]) -> BmcResult:
        r = BmcResult(model, UNKNOWN, None, None, 0, search.per_depth, build_s, time.perf_counter() - t_start,
                      reason=reason)
        r.waypoint_steps = list(steps)
        return r

    try:
        if solver == CADICAL:
            assert isinstance(enc, BvSteps)
            t0 = time.perf_counter()
            search.sat = _SatLegs(enc, search.bad, [w.conjunct.formula for w in ways])
            note(f"bit-blasted once for CaDiCaL in {time.perf_counter() - t0:.1f}s: a step is "
                 f"{len(search.sat.step.clauses):,} clauses")
        run = search.legs(0, [])
    except KeyboardInterrupt:
        return unknown(f"interrupted ({interrupt.cause()}) in leg {len(search.reached) + 1} of {len(ways) + 1}",
                       search.reached)
    except _Missed as e:
        return unknown(f"{e.reason} in leg {len(search.reached) + 1} of {len(ways) + 1}", search.reached)
    if run is None:
        tried = f"; {search.retried} other state{'s' * (search.retried != 1)} tried for earlier waypoints"
        return unknown(f"{search.missed}, and no violation on the way{tried if search.retried else ''}; --waypoint "
                       "searches only runs through the states it chose, so this proves nothing", search.missed_steps)
    return _violation(model, props, run, search.per_depth, build_s, t_start, search.reached)


def _violation(model: Model[Any], props: Sequence[Conjunct], run: list[Any], per_depth: list[float],
               build_s: float, t_start: float, reached: list[int]) -> Any:
    from .bmc import SHORTEN_S, BmcResult, judge
    from .shorten import shorten

    path, broken, error = judge(model, props, run)
    found = len(path)
    if error is None:
        with contextlib.suppress(ConstraintError):  # a constraint raised on a state off the run
            path = shorten(model, path, broken.name, SHORTEN_S)
    r = BmcResult(model, VIOLATED if error is None else ERROR, broken.name, path, len(path), per_depth, build_s,
                  time.perf_counter() - t_start, reason=error or "",
                  shortened_from=found if len(path) < found else None)
    r.waypoint_steps = list(reached)
    return r


__all__ = ["Waypoint", "through_waypoints"]
