"""``bmc --solver cadical``: the relation bit-blasted once and unrolled in CaDiCaL finds what z3
finds, at the same shortest depth, says ``bounded`` where z3 does, and its frame encoding is the
relation it replaces."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker import bmc_sat, bmc_steps
from protoproof.checker.bmc import SymbolicMismatch, bmc
from protoproof.checker.bmc_steps import BvSteps, choose
from protoproof.checker.symbolic import SymbolicModel, safety_properties
from protoproof.checker.symbolic.bitvec import BvRefused
from protoproof.checker.tie import PROPERTY, predicates
from protoproof.checker.verdict import BOUNDED, UNKNOWN, VIOLATED
from protoproof.models.base import Model
from protoproof.models.paxos import Paxos
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase

from .test_bmc_constraint import SMALL, OneInFlight


@pytest.mark.parametrize(("model", "depth"), [
    (TwoPhase(rms=3).with_variant("commit-without-votes"), 3),
    (TwoPhase(rms=3).with_variant("commit-on-majority"), 7),
    (OneInFlight(**SMALL, max_messages=2), 3),
    (Paxos.variants_of()["minority-quorums"](), 8),
], ids=["2pc-commit-without-votes", "2pc-commit-on-majority", "raft-two-in-flight", "paxos-minority-quorums"])
def test_cadical_finds_the_violation_z3_finds_at_the_same_shortest_depth(model: Model[Any], depth: int) -> None:
    sat = bmc(model, depth + 2, tie=0, solver="cadical")
    z = bmc(model, depth + 2, tie=0)
    assert sat.verdict == z.verdict == VIOLATED
    assert sat.depth_reached == z.depth_reached == depth
    assert sat.path is not None and len(sat.path) == depth  # replayed through the concrete steps
    assert sat.property == z.property


@pytest.mark.parametrize(("model", "depth", "props"), [
    (TwoPhase(rms=3), 7, None),
    (TCommit(rms=3), 6, None),
    (OneInFlight(**SMALL, max_messages=1), 4, ["one_in_flight"]),
], ids=["2pc", "tcommit", "raft-one-in-flight"])
def test_cadical_says_bounded_where_z3_does(model: Model[Any], depth: int, props: list[str] | None) -> None:
    r = bmc(model, depth, props, tie=0, solver="cadical")
    z = bmc(model, depth, props, tie=0)
    assert r.verdict == z.verdict == BOUNDED and r.depth_reached == z.depth_reached == depth
    assert len(r.per_depth_s) == depth + 1
    assert r.encoding.startswith("bit-vectors") and r.solver == "cadical" and z.solver == "z3"
    assert "solved by CaDiCaL" in "\n".join(r.to_lines()) and json.loads(json.dumps(r.to_json()))["solver"] == "cadical"


def test_an_unknown_solver_is_refused_not_taken_for_z3() -> None:
    with pytest.raises(ValueError, match="solver 'minisat': one of z3, cadical"):
        bmc(TwoPhase(rms=2), 2, solver="minisat")


def test_an_error_inside_the_solver_thread_reaches_the_caller_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    from pysat.solvers import Solver

    def fail(*_a: Any, **_k: Any) -> Any:
        raise MemoryError("CaDiCaL ran out of memory")

    monkeypatch.setattr(Solver, "solve_limited", fail)
    with pytest.raises(MemoryError, match="CaDiCaL ran out of memory"):
        bmc(TwoPhase(rms=2), 3, tie=0, solver="cadical")


@given(budget=st.integers(bmc_sat.Unrolled.SLICE_MIN, bmc_sat.Unrolled.SLICE_MAX),
       took=st.floats(0, 600, allow_nan=False), later=st.floats(0, 600, allow_nan=False))
def test_a_call_into_cadical_is_sized_toward_a_second_so_a_signal_waits_about_that_long(
        budget: int, took: float, later: float) -> None:
    u = bmc_sat.Unrolled
    nxt = u.next_budget(budget, took)
    assert u.SLICE_MIN <= nxt <= u.SLICE_MAX
    assert budget // 4 - 1 <= nxt <= 2 * budget  # a call's time varies: no jump on one sample
    if took > 2 * u.SLICE_S:
        assert nxt < budget or nxt == u.SLICE_MIN  # slow calls shrink the next one
    if took < u.SLICE_S / 2:
        assert nxt > budget or nxt == u.SLICE_MAX  # quick ones grow it
    if later >= took:
        assert u.next_budget(budget, later) <= nxt  # slower never asks for more


def _pigeons(n: int) -> list[list[int]]:
    """n+1 pigeons in n holes (unsatisfiable, and hard for resolution: many conflicts)."""
    x = [[i * n + j + 1 for j in range(n)] for i in range(n + 1)]
    out = [row[:] for row in x]
    for j in range(n):
        out += [[-x[a][j], -x[b][j]] for a in range(n + 1) for b in range(a + 1, n + 1)]
    return out


def test_cadical_answers_across_many_calls_and_each_is_resized_by_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, float]] = []
    real = bmc_sat.Unrolled.next_budget.__func__  # type: ignore[attr-defined]

    def spy(cls: type[bmc_sat.Unrolled], budget: int, took: float) -> int:
        seen.append((budget, took))
        return int(real(cls, budget, took))

    monkeypatch.setattr(bmc_sat.Unrolled, "SLICE", 100)
    monkeypatch.setattr(bmc_sat.Unrolled, "next_budget", classmethod(spy))
    u = bmc_sat.Unrolled()
    for c in _pigeons(7):
        u.solver.add_clause(c)
    u.top = 7 * 8
    assert u.solve([]) is False  # the answer of one uninterrupted call
    assert len(seen) > 1 and seen[0][0] == 100
    assert all(b2 == real(bmc_sat.Unrolled, b, t) for (b, t), (b2, _) in pairwise(seen))


def _relation(model: Model[Any]) -> tuple[BvSteps, SymbolicModel]:
    sm = SymbolicModel(model, split_constraint=True)
    props = predicates(sm, PROPERTY, safety_properties(model, None), None)
    trans = sm.transition()
    enc, why = choose(model, sm, [sm.initial(), trans, *(p.formula for p in props)], trans, bmc_steps.AUTO)
    assert isinstance(enc, BvSteps), why
    return enc, sm


def _same_relation(enc: BvSteps, actions: list[z3.BoolRef]) -> None:
    """``frame_relation(actions)`` with its selector projected out equals ``Or(actions)``."""
    bx, by = enc.bx, enc.by
    framed = bmc_sat.frame_relation(actions, [], bx, by)
    plain = z3.Or(*actions)
    s = z3.SolverFor("QF_BV")
    s.add(framed, z3.Not(plain))
    assert s.check() == z3.unsat, "the frame encoding allows a step the relation does not"
    n = len(bmc_sat.paths_of(actions))
    sel = bmc_sat.selector(n)
    s = z3.SolverFor("QF_BV")
    s.add(plain, z3.Not(z3.Or(*(z3.substitute(framed, (sel, z3.BitVecVal(k, sel.size()))) for k in range(n)))))
    assert s.check() == z3.unsat, "the frame encoding loses a step of the relation"


@pytest.mark.parametrize("model", [TwoPhase(rms=3), TwoPhase(rms=2).with_variant("commit-on-majority"),
                                   OneInFlight(**SMALL, max_messages=2)], ids=["2pc", "2pc-bug", "raft"])
def test_the_frame_encoding_is_the_relation_it_replaces(model: Model[Any]) -> None:
    enc, sm = _relation(model)
    _same_relation(enc, [enc.formula(a.formula, enc.bx, enc.by) for a in sm.actions])


_TWOPHASE, _TWOPHASE_SM = _relation(TwoPhase(rms=3))
_ACTIONS = [_TWOPHASE.formula(a.formula, _TWOPHASE.bx, _TWOPHASE.by) for a in _TWOPHASE_SM.actions]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, len(_ACTIONS) - 1), min_size=1, max_size=6, unique=True))
def test_any_set_of_actions_keeps_its_relation_under_the_frame_encoding(picked: list[int]) -> None:
    _same_relation(_TWOPHASE, [_ACTIONS[i] for i in picked])


def test_a_frame_that_forgets_to_keep_a_variable_gives_a_trace_the_replay_refuses(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken encoding must not become a verdict: its spurious trace fails the concrete replay."""
    real = bmc_sat.frame_relation

    def no_frame(actions: Any, rest: Any, xs: Any, ys: Any) -> z3.BoolRef:
        return _drop_frame(real(actions, rest, xs, ys))

    monkeypatch.setattr("protoproof.checker.bmc.frame_relation", no_frame)
    with pytest.raises(SymbolicMismatch):
        bmc(TwoPhase(rms=3), 6, tie=0, solver="cadical")


def _drop_frame(f: z3.BoolRef) -> z3.BoolRef:
    """``frame_relation``'s formula without its frame conditions (the ``Or``s that keep ``y = x``)."""
    return z3.And(*(c for c in f.children() if not z3.is_or(c)))


def test_cadical_without_bit_vectors_is_unknown_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: Any, **_k: Any) -> Any:
        raise BvRefused("the next value of y may be 1..4, outside its declared range 0..3")

    monkeypatch.setattr(bmc_steps, "plan", refuse)
    r = bmc(TwoPhase(rms=3).with_variant("commit-on-majority"), 8, tie=0, solver="cadical")
    assert r.verdict == UNKNOWN and r.path is None
    assert "--solver cadical needs the bit-vector encoding" in r.reason and "outside its declared" in r.reason
    assert json.loads(json.dumps(r.to_json()))["verdict"] == UNKNOWN
