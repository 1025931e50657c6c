"""protoproof.testing: the helpers a user pins verdicts with fail whenever the promise is not kept."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from protoproof.checker.verdict import BOUNDED, CONFORMS, EXHAUSTED, PROVED
from protoproof.models.base import Model, always, require, sometimes, transition
from protoproof.models.registry import model_class
from protoproof.models.schema import Int, Record, Type
from protoproof.testing import assert_conforms, assert_proved, assert_safe, assert_violates

MUTEX_FILE = Path(__file__).resolve().parents[1] / "examples" / "mutex.py"


@pytest.fixture(scope="module")
def Mutex() -> type[Model[Any]]:
    return model_class(f"{MUTEX_FILE}:Mutex")


def test_assert_safe_passes_an_exhausted_clean_run_and_returns_it(Mutex: type[Model[Any]]) -> None:
    r = assert_safe(Mutex(procs=3))
    assert r.verdict == EXHAUSTED and r.stats.distinct_states == 20


def test_assert_safe_fails_with_the_rendered_counterexample(Mutex: type[Model[Any]]) -> None:
    with pytest.raises(AssertionError) as e:
        assert_safe(Mutex(procs=2).with_variant("check-then-set"))
    text = str(e.value)
    assert text.startswith("mutex(procs=2, variant check-then-set): mutual_exclusion violated: At most one")
    assert "counterexample (6 steps):" in text and "6. acquire(p=1)  ->  pc=('critical', 'critical')" in text
    assert "path = replay(model, [" in text  # the run as a script to paste


def test_assert_safe_fails_a_bounded_run_unless_the_caller_allows_it(Mutex: type[Model[Any]]) -> None:
    with pytest.raises(AssertionError, match=r"bounded, not checked: no violation within 5 states"):
        assert_safe(Mutex(procs=3), max_states=5)
    assert assert_safe(Mutex(procs=3), max_states=5, allow_bounded=True).verdict == BOUNDED


class C(NamedTuple):
    x: int


@dataclass(frozen=True)
class CounterConfig:
    limit: int = 3


class Counter(Model[C]):
    """Counts up to ``limit``; claims (wrongly) to reach ``limit + 1``."""

    name = "counter"
    Config = CounterConfig

    def schema(self) -> Type:
        return Record(C, x=Int(0, self.config.limit + 1))

    def init(self) -> list[C]:
        return [C(0)]

    @transition()
    def inc(self, s: C) -> C:
        require(s.x < self.config.limit)
        return C(s.x + 1)

    @always
    def below_limit(self, s: C) -> bool:
        return s.x < self.config.limit

    @sometimes
    def past_limit(self, s: C) -> bool:
        return s.x > self.config.limit


def test_assert_safe_fails_a_sometimes_property_that_is_never_reached() -> None:
    with pytest.raises(AssertionError, match=r"past_limit violated \(@sometimes: reached in no reachable state\)"):
        assert_safe(Counter(), properties=["past_limit"])


def test_assert_violates_returns_the_shortest_counterexample_of_the_depth_asked(
        Mutex: type[Model[Any]]) -> None:
    path = assert_violates(Mutex(procs=2).with_variant("check-then-set"), "mutual_exclusion", depth=6)
    assert path is not None and len(path) == 6
    assert assert_violates(Counter(limit=2), "below_limit", depth=2) is not None
    assert assert_violates(Counter(), "past_limit") is None


def test_assert_violates_fails_when_the_property_holds_or_the_depth_differs(
        Mutex: type[Model[Any]]) -> None:
    with pytest.raises(AssertionError, match=r"expected mutual_exclusion to be violated, but it holds \(every "
                                             r"reachable state was visited, 20 states\)"):
        assert_violates(Mutex(procs=3), "mutual_exclusion")
    with pytest.raises(AssertionError, match="the shortest violation of below_limit has 3 steps, not 2"):
        assert_violates(Counter(limit=3), "below_limit", depth=2)
    with pytest.raises(AssertionError, match="searched within 2 states only"):
        assert_violates(Counter(limit=3), "below_limit", max_states=2)


def test_assert_proved_uses_the_strengthening_the_models_module_declares(Mutex: type[Model[Any]]) -> None:
    assert assert_proved(Mutex(procs=3)).verdict == PROVED
    with pytest.raises(AssertionError, match=r"prove mutex: unknown \(not inductive: acquire\(p=0\) breaks "
                                             r"mutual_exclusion\)"):
        assert_proved(Mutex(procs=3), strengthening=[])


def test_assert_conforms_passes_only_when_every_comparison_ran_and_agreed(
        Mutex: type[Model[Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    assert assert_conforms(Mutex(procs=2), random_states=20).verdict == CONFORMS
    from protoproof.checker import conformance

    monkeypatch.setattr(conformance, "TWIN_MAX_PATHS", 1)  # a twin is skipped: the verdict is unknown
    with pytest.raises(AssertionError, match=r"conform mutex: unknown"):
        assert_conforms(Mutex(procs=2), random_states=20)
