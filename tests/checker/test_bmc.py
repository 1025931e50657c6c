"""Bounded model checking from the model's own functions: shortest violations, replayed concretely."""

from __future__ import annotations

import json
from typing import NamedTuple

import pytest

from protoproof.checker.bmc import SymbolicMismatch, bmc, replay_states
from protoproof.checker.errors import ModelError
from protoproof.checker.explore import explore
from protoproof.checker.path import replay
from protoproof.checker.pdr import pdr
from protoproof.checker.verdict import BOUNDED, ERROR, VIOLATED
from protoproof.models.base import Model, always, sometimes, transition
from protoproof.models.schema import Int, Record
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase


class _Count(NamedTuple):
    x: int


@pytest.mark.parametrize(("variant", "depth"), [("commit-without-votes", 3), ("commit-on-majority", 7)])
def test_bmc_finds_each_planted_bug_at_its_shortest_depth_and_the_trace_replays(variant: str, depth: int) -> None:
    model = TwoPhase(rms=3).with_variant(variant)
    r = bmc(model, 10)
    assert r.verdict == VIOLATED
    assert r.property == "atomicity"
    assert r.depth_reached == depth
    assert r.path is not None and len(r.path) == depth
    again = replay(model, r.path.action_reprs())
    assert again.states == r.path.states
    atomicity = next(p.fn for p in model.invariants if p.name == "atomicity")
    assert not atomicity(again.last)
    # the explicit checker's BFS agrees on the shortest depth
    bfs = explore(model, properties=["atomicity"]).path
    assert bfs is not None and len(bfs) == depth


def test_a_depth_budget_below_the_bug_reports_bounded_not_verified() -> None:
    r = bmc(TwoPhase(rms=3).with_variant("commit-on-majority"), 6)
    assert r.verdict == BOUNDED
    assert r.path is None and r.depth_reached == 6
    assert len(r.per_depth_s) == 7


@pytest.mark.parametrize("model", [TwoPhase(rms=3), TwoPhase(rms=4), TCommit(rms=3)],
                         ids=lambda m: f"{type(m).__name__}({m.config})")
def test_bmc_finds_nothing_in_the_correct_models(model: TwoPhase) -> None:
    r = bmc(model, 8)
    assert r.verdict == BOUNDED
    assert r.property is None


def test_the_bug_is_found_at_the_same_depth_with_more_rms() -> None:
    assert bmc(TwoPhase(rms=5).with_variant("commit-without-votes"), 4).depth_reached == 3


def test_the_result_is_json_with_the_replayed_path() -> None:
    r = bmc(TwoPhase(rms=3).with_variant("commit-without-votes"), 5)
    d = json.loads(json.dumps(r.to_json()))
    assert d["verdict"] == VIOLATED and d["property"] == "atomicity" and d["depth_reached"] == 3
    assert d["params"] == {"rms": 3, "max_crashes": 0} and d["variant"] == "commit-without-votes"
    assert [step["action"] for step in d["path"]][1:] == r.path.action_reprs()  # type: ignore[union-attr]
    assert set(d) >= {"per_depth_s", "build_s", "elapsed_s"}


def test_a_trace_that_is_not_a_run_of_the_python_code_is_an_internal_error() -> None:
    model = TwoPhase(rms=2)
    s0 = model.initial_states()[0]
    bogus = s0._replace(nodes=("committed", *s0.nodes[1:]))
    with pytest.raises(SymbolicMismatch, match="no concrete transition"):
        replay_states(model, [s0, bogus])


def test_unknown_property_names_are_refused() -> None:
    with pytest.raises(KeyError, match="no @always property"):
        bmc(TwoPhase(rms=2), 2, properties=["agreement"])


def test_bmc_is_not_bounded_clean_when_a_property_formula_is_not_its_python() -> None:
    r = bmc(TwoPhase(rms=2), 4, overrides={"atomicity": lambda s: True})
    assert r.verdict == "error" and "atomicity" in r.reason and r.tie is not None and r.tie.mismatches
    clean = bmc(TwoPhase(rms=2), 2)
    assert clean.verdict == "bounded" and clean.tie is not None and clean.tie.ok
    assert "tied to the model: property conformance on" in "\n".join(clean.to_lines())
    assert "formulas not tied" in bmc(TwoPhase(rms=2), 2, tie=0).to_lines()[0]


class _Raising(Model[_Count]):
    """Counts up; its step raises at x == 3: a bug in the model, which every engine must call one."""

    def schema(self) -> Record:
        return Record(_Count, x=Int(0, 5))

    def init(self) -> list[_Count]:
        return [_Count(0)]

    @transition()
    def inc(self, s: _Count) -> _Count | None:
        if s.x >= 5:
            return None
        return _Count((1, 2, 3)[s.x])  # IndexError at x == 3

    @always
    def small(self, s: _Count) -> bool:
        return s.x <= 5

    @sometimes
    def moved(self, s: _Count) -> bool:
        return s.x > 0


def test_a_reachable_raising_step_is_a_model_error_for_bmc_and_pdr_as_for_check() -> None:
    with pytest.raises(ModelError, match="IndexError"):
        explore(_Raising())
    for r in (bmc(_Raising(), 6), pdr(_Raising(), timeout_s=60)):
        assert r.verdict == ERROR, r.verdict
        assert "raised IndexError" in r.reason and "inc()" in r.reason
        assert r.path is not None and r.path.last == _Count(3)


class _Named(_Raising):
    """No raising step (``inc`` stops at 3), and a property of its own called ``steps_total``."""

    @transition()
    def inc(self, s: _Count) -> _Count | None:
        return _Count(s.x + 1) if s.x < 3 else None

    @always
    def steps_total(self, s: _Count) -> bool:
        return s.x < 3


def test_a_property_of_the_model_named_like_an_engine_obligation_is_still_a_violation() -> None:
    for r in (bmc(_Named(), 6, ["steps_total"]), pdr(_Named(), ["steps_total"], timeout_s=60)):
        assert r.verdict == VIOLATED and r.property == "steps_total", r.verdict
