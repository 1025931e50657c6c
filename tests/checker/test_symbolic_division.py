"""``//`` and ``%`` on z3 values: Python's rounding for every sign, and a zero divisor raises on its path."""

from __future__ import annotations

from typing import NamedTuple

import z3
from hypothesis import given
from hypothesis import strategies as st

from protoproof.checker.bmc import bmc
from protoproof.checker.induction import prove
from protoproof.checker.symbolic.leaves import _floordiv, _mod
from protoproof.checker.verdict import ERROR
from protoproof.models.base import Model, always, sometimes, transition
from protoproof.models.schema import Int, Record, Type


@given(st.integers(-60, 60), st.integers(-9, 9).filter(bool))
def test_floor_division_and_modulo_round_as_python_does(a: int, b: int) -> None:
    x = z3.Int("x")
    q, r = _floordiv(x, b), _mod(x, b)
    assert z3.simplify(z3.substitute(q, (x, z3.IntVal(a)))).as_long() == a // b
    assert z3.simplify(z3.substitute(r, (x, z3.IntVal(a)))).as_long() == a % b


class S(NamedTuple):
    x: int
    y: int


class _DividesByThreeMinusX(Model[S]):
    """x climbs 0..5; the step out of x = 3 divides by zero, and x < 3 divides by a negative number."""

    def schema(self) -> Type:
        return Record(S, x=Int(0, 5), y=Int(-20, 20))

    def init(self) -> list[S]:
        return [S(0, 0)]

    @transition()
    def inc(self, s: S) -> S | None:
        if s.x >= 5:
            return None
        return S(s.x + 1, (7 - 3 * s.x) // (s.x - 3) + 7 % (3 - s.x) - 0 * (6 // (3 - s.x)))

    @always
    def bounded_y(self, s: S) -> bool:
        return -20 <= s.y <= 20

    @sometimes
    def top(self, s: S) -> bool:
        return s.x == 5


def test_bmc_reports_the_division_by_zero_at_its_step_not_an_internal_error() -> None:
    r = bmc(_DividesByThreeMinusX(), 6, tie=0)
    assert r.verdict == ERROR and "ZeroDivisionError" in r.reason, "\n".join(r.to_lines())
    assert r.path is not None and r.path.last.x == 3  # its steps divide by -3, -2, -1: replayed on the Python


def test_a_model_raising_on_a_state_the_tie_reaches_is_an_error_for_prove() -> None:
    r = prove(_DividesByThreeMinusX(), properties=["bounded_y"])
    assert r.verdict == ERROR and "ZeroDivisionError" in r.reason


def test_a_literal_divisor_asks_nothing_and_adds_no_rounding_terms() -> None:
    x = z3.Int("x")
    assert str(_floordiv(x, z3.IntVal(2))) == "x/2" and str(_mod(x, z3.IntVal(5))) == "x%5"
