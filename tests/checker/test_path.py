"""Path.violation: the check a replay script runs, for every kind of violation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import pytest

from protoproof.checker.explore import explore
from protoproof.checker.path import ReplayError, replay
from protoproof.models.base import Action, Model, Refinement, always, require, sometimes, step, transition
from protoproof.models.schema import Int, Record, Type


class N(NamedTuple):
    x: int


@dataclass(frozen=True)
class UpConfig:
    top: int = 3


class Up(Model[N]):
    """Counts up to ``top`` (and may jump by two), then stops."""

    name = "up"
    Config = UpConfig

    def schema(self) -> Type:
        return Record(N, x=Int(0, self.config.top + 1))

    def init(self) -> list[N]:
        return [N(0)]

    @transition(by=(1, 2))
    def inc(self, s: N, by: int) -> N:
        require(s.x < self.config.top)
        return N(s.x + by)

    def refinements(self) -> list[Refinement]:
        return [Refinement("refines_steps_of_one", Ones(top=self.config.top + 1), lambda s: s)]

    @always
    def within_top(self, s: N) -> bool:
        return s.x <= self.config.top

    @step
    def one_at_a_time(self, s: N, a: Action, t: N) -> bool:
        return t.x == s.x + 1

    @sometimes
    def at_top(self, s: N) -> bool:
        return s.x == self.config.top


class Ones(Up):
    """The abstract spec: steps of one only."""

    name = "ones"

    def refinements(self) -> list[Refinement]:
        return []

    @transition(by=(1,))
    def inc(self, s: N, by: int) -> N:
        require(s.x < self.config.top)
        return N(s.x + by)


def test_each_kind_of_violation_is_recognised_at_the_end_of_the_run() -> None:
    m = Up()
    jump = replay(m, ["inc(by=2)"])
    assert jump.violation("one_at_a_time") == "one_at_a_time fails on the last step, inc(by=2)"
    assert jump.violation("refines_steps_of_one") == (
        "refines_steps_of_one: the last step inc(by=2) maps to N(x=2), no step of the abstract model from N(x=0)")
    assert jump.violation("within_top") is None and jump.violation("deadlock") is None
    over = replay(m, ["inc(by=2)", "inc(by=2)"])
    assert over.violation("within_top") == "within_top is false in the last state"
    assert over.violation("deadlock") == "deadlock: no action is enabled at the end"
    calm = replay(m, ["inc(by=1)"])
    assert [calm.violation(p) for p in ("one_at_a_time", "refines_steps_of_one", "within_top")] == [None] * 3


def test_a_name_that_is_no_property_is_an_error_listing_them() -> None:
    with pytest.raises(ReplayError, match="'nope' is no property of Up; its properties: within_top, "
                                          "one_at_a_time, at_top, refines_steps_of_one, deadlock"):
        replay(Up(), []).violation("nope")


@pytest.mark.parametrize("prop", ["one_at_a_time", "refines_steps_of_one", "within_top"])
def test_the_checkers_counterexample_script_reproduces_each_kind(prop: str) -> None:
    r = explore(Up(), properties=[prop])
    assert r.verdict == "violated" and r.path is not None
    scope: dict[str, object] = {}
    script = r.path.to_python(prop).replace("print(", "str(")  # quiet
    exec(compile(script, "<replay>", "exec"), scope)  # the script imports this module's Up
    assert scope["why"] is not None and str(scope["why"]).startswith(prop)
