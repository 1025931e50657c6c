"""The bit-vector translation's soundness argument: accepted only when no value can wrap around."""

from __future__ import annotations

from typing import Any

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.symbolic.bitvec import BvRefused, Translator, plan

X, Y = z3.Int("x"), z3.Int("y")
RANGES = {X.get_id(): (0, 3), Y.get_id(): (0, 3)}


def test_a_relation_that_bounds_its_successor_is_accepted_at_the_smallest_width() -> None:
    t = z3.And(Y == X + 1, Y <= 3)  # x + 1 reaches 4: four bits signed
    p = plan([t], RANGES, t, [Y])
    assert p.width == 4


def test_a_term_that_needs_more_bits_than_allowed_is_refused() -> None:
    t = z3.And(Y == X, X * X * X * X * X > 100)  # 3**5 = 243: nine bits signed
    assert plan([t], RANGES, t, [Y]).width == 9
    with pytest.raises(BvRefused, match=r"x\*x\*x\*x\*x ranges over 0..243 \(over 8 bits"):
        plan([t], RANGES, t, [Y], max_width=8)


def test_a_next_value_outside_its_declared_range_is_refused() -> None:
    t = Y == X + 1  # x = 3 steps to 4: outside 0..3, and nothing in the relation forbids it
    with pytest.raises(BvRefused, match=r"next value of y may be 1..4, outside its declared range 0..3"):
        plan([t], RANGES, t, [Y])


def test_a_next_value_the_relation_does_not_bound_is_refused() -> None:
    t = Y > X
    with pytest.raises(BvRefused, match="does not bound the next value of y"):
        plan([t], RANGES, t, [Y])


def test_a_bound_must_hold_on_every_branch_of_a_disjunction() -> None:
    ok = z3.Or(z3.And(X < 3, Y == X), Y == 0)
    assert plan([ok], RANGES, ok, [Y]).width == 3
    one_branch = z3.Or(z3.And(Y == X, Y <= 3), Y == X + 2)
    with pytest.raises(BvRefused, match=r"may be 0\.\.5"):
        plan([one_branch], RANGES, one_branch, [Y])


def test_a_next_value_defined_by_another_next_value_is_not_a_bound() -> None:
    z = z3.Int("z")
    ranges = {**RANGES, z.get_id(): (0, 3)}
    t = z3.And(z + 0 == Y, z == Y)  # circular: y and z are unbounded together
    with pytest.raises(BvRefused, match="does not bound"):
        plan([t], ranges, t, [Y, z])


def test_a_variable_without_a_declared_range_and_unsupported_operators_are_refused() -> None:
    w = z3.Int("w")
    t = z3.And(Y == X, w > 0)
    with pytest.raises(BvRefused, match="w has no declared range"):
        plan([t], RANGES, t, [Y])
    d = z3.And(Y == X, X / 2 == 1)
    with pytest.raises(BvRefused, match="div"):
        plan([d], RANGES, d, [Y])


def test_enumeration_codes_stay_below_the_sort_size() -> None:
    colour, (red, green, blue) = z3.EnumSort("BvColour", ["red", "green", "blue"])
    c = z3.Const("c", colour)
    t = z3.And(Y == X, c != red)
    tr = Translator(plan([t], RANGES, t, [Y]))
    s = z3.Solver()
    s.add(tr(t), tr(c != blue), tr.range_of(c))  # without the range, z3 may pick the fourth code (below)
    assert s.check() == z3.sat and tr.back(c, s.model()).eq(green)
    s = z3.Solver()
    s.add(tr(t), tr(c != blue), tr(c != green))
    assert s.check() == z3.sat  # two bits hold a fourth code, which no colour has ...
    s.add(tr.range_of(c))
    assert s.check() == z3.unsat  # ... and which every step's variables exclude


# ----- Hypothesis: an accepted term has the same value on bit-vectors as on integers ----------------

VARS = [z3.Int(f"v{k}") for k in range(3)]


def _terms() -> st.SearchStrategy[Any]:
    leaf = st.one_of(st.sampled_from(VARS), st.integers(-40, 40).map(z3.IntVal))

    def extend(sub: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.tuples(sub, sub).map(lambda p: p[0] + p[1]),
            st.tuples(sub, sub).map(lambda p: p[0] - p[1]),
            st.tuples(sub, st.integers(-9, 9)).map(lambda p: p[0] * p[1]),
            sub.map(lambda a: -a),
            st.tuples(sub, sub, sub, sub).map(lambda p: z3.If(p[0] <= p[1], p[2], p[3])),
        )

    return st.recursive(leaf, extend, max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(_terms(), st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 60)), min_size=3, max_size=3),
       st.integers(4, 12), st.data())
def test_an_accepted_term_has_its_integer_value_on_bit_vectors(term: Any, spans: list[tuple[int, int]],
                                                             max_width: int, data: st.DataObject) -> None:
    ranges = {v.get_id(): (lo, lo + n) for v, (lo, n) in zip(VARS, spans, strict=True)}
    f = term == term
    try:
        p = plan([f], ranges, True, [], max_width=max_width, current_vars=VARS)
    except BvRefused:
        return
    values = [data.draw(st.integers(lo, lo + n)) for lo, n in spans]
    want = z3.simplify(z3.substitute(term, *zip(VARS, map(z3.IntVal, values), strict=True))).as_long()
    tr = Translator(p)
    bv = [tr.var(v) for v in VARS]
    pairs = [(b, z3.BitVecVal(x, b.size())) for b, x in zip(bv, values, strict=True)]
    got = z3.simplify(z3.substitute(tr(term), *pairs))
    assert got.as_signed_long() == want
    assert p.width <= max_width
