"""PDR (z3's Spacer): violations found without unrolling are replayed; invariants re-checked before `proved`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import pytest
import z3

from protoproof.checker.explore import explore
from protoproof.checker.path import replay
from protoproof.checker.pdr import pdr, recheck
from protoproof.checker.symbolic import SymbolicModel, b_and, b_or
from protoproof.checker.verdict import ERROR, PROVED, UNKNOWN, VIOLATED
from protoproof.models.base import Model, always, sometimes, transition
from protoproof.models.schema import Int, Record
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase


class _C(NamedTuple):
    x: int
    y: int


@dataclass(frozen=True)
class _CounterConfig:
    top: int = 40
    bad: int | None = 30


class _Counter(Model[Any]):
    """x counts up to ``top``; y follows x one step behind.  ``x != bad`` breaks after ``bad`` steps;
    ``y <= x`` holds (inductive with the domain)."""

    name = "counter"
    Config = _CounterConfig

    @property
    def top(self) -> int:
        return int(self.config.top)

    @property
    def bad(self) -> int | None:
        return self.config.bad

    def schema(self) -> Record:
        return Record(_C, x=Int(0, self.top), y=Int(0, self.top))

    def init(self) -> list[Any]:
        return [_C(0, 0)]

    @transition()
    def tick(self, s: Any) -> Any:
        if s.x >= self.top:
            return None
        return _C(s.x + 1, s.x)

    @always
    def not_bad(self, s: Any) -> bool:
        return self.bad is None or s.x != self.bad

    @always
    def behind(self, s: Any) -> bool:
        return s.y <= s.x

    @sometimes
    def at_top(self, s: Any) -> bool:
        return s.x == self.top


def _replays(model: Model[Any], r: Any) -> None:
    assert r.path is not None and r.depth == len(r.path.actions)
    again = replay(model, r.path.action_reprs())
    assert again.states == r.path.states
    prop = next(p.fn for p in model.invariants if p.name == r.property)
    assert not prop(again.last)


@pytest.mark.parametrize("variant", ["commit-without-votes", "commit-on-majority"])
def test_pdr_finds_each_twophase_planted_bug_and_its_path_replays(variant: str) -> None:
    model = TwoPhase(rms=3).with_variant(variant)
    r = pdr(model)
    assert r.verdict == VIOLATED and r.property == "atomicity"
    _replays(model, r)
    bfs = explore(model, properties=["atomicity"]).path
    assert bfs is not None and len(bfs) <= len(r.path.actions)  # type: ignore[union-attr]


def test_pdr_finds_a_deep_violation_without_a_depth_and_replays_it() -> None:
    model = _Counter(top=40, bad=30)
    r = pdr(model, ["not_bad"])
    assert r.verdict == VIOLATED and r.property == "not_bad" and r.depth == 30
    _replays(model, r)


@pytest.mark.parametrize("model", [TCommit(rms=3), _Counter(top=40, bad=None)], ids=["tcommit", "counter"])
def test_pdr_proves_a_correct_model_only_with_its_invariant_rechecked(model: Model[Any]) -> None:
    r = pdr(model)
    assert r.verdict == PROVED, r.to_lines()
    assert [o.result for o in r.recheck] == ["ok", "ok", "ok"] and r.invariant is not None
    assert "re-checked outside Spacer" in "\n".join(r.to_lines())


@pytest.mark.parametrize(("wrong", "failing"), [
    (lambda sm: z3.BoolVal(True), "safety"),  # inductive, but does not imply the property
    (lambda sm: z3.And(sm.xvars[0] == 0, sm.xvars[1] == 0), "consecution"),  # initially, not after a step
    (lambda sm: z3.And(sm.xvars[1] <= sm.xvars[0], sm.xvars[0] >= 1), "initiation"),  # inductive, not initial
])
def test_an_invariant_that_does_not_recheck_is_not_reported_proved(wrong: Any, failing: str) -> None:
    model = _Counter(top=6, bad=None)
    sm = SymbolicModel(model, split_constraint=True)
    r = pdr(model, invariant_hook=lambda _f: wrong(sm))
    assert r.verdict == UNKNOWN and "did not re-check" in r.reason and "not a proof" in r.reason
    assert [o.name.split(":")[0] for o in r.recheck if o.result != "ok"] == [failing]


def test_recheck_accepts_the_invariant_that_is_inductive() -> None:
    model = _Counter(top=6, bad=None)
    sm = SymbolicModel(model, split_constraint=True)
    x, y = sm.xvars
    init = b_or(*(sm.state_eq(sm.x, s) for s in model.initial_states()))
    good = b_and(*(sm.predicate(p.name, p.fn).formula for p in model.invariants))
    assert [o.result for o in recheck(sm, cast(z3.BoolRef, y <= x), init, sm.transition(), good)] == ["ok"] * 3


def test_spacer_running_out_of_time_is_unknown_with_the_reason() -> None:
    r = pdr(TwoPhase(rms=3, max_crashes=1).with_variant("volatile-vote"), timeout_s=0.001)
    assert r.verdict == UNKNOWN and r.reason.startswith("Spacer gave up") and r.path is None


def _always_true(s: Any) -> bool:
    return True


def test_a_property_formula_that_is_not_its_python_is_an_error_before_spacer_runs() -> None:
    r = pdr(TwoPhase(rms=2), overrides={"atomicity": _always_true})
    assert r.verdict == ERROR and "atomicity" in r.reason and r.query_s == 0.0


def test_unknown_property_names_are_refused() -> None:
    with pytest.raises(KeyError, match="no @always property"):
        pdr(TwoPhase(rms=2), ["agreement"])


def test_the_json_has_the_engine_the_path_and_the_recheck() -> None:
    d = json.loads(json.dumps(pdr(TwoPhase(rms=3).with_variant("commit-without-votes")).to_json()))
    assert d["engine"] == "pdr" and d["verdict"] == VIOLATED and d["depth"] == len(d["path"]) - 1
    ok = json.loads(json.dumps(pdr(TCommit(rms=2)).to_json()))
    assert ok["verdict"] == PROVED and [o["result"] for o in ok["recheck"]] == ["ok"] * 3
