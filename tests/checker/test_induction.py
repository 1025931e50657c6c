"""Inductive proofs: obligations, CTIs replayed concretely, k-induction, the explicit cross-check."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest

from protoproof.checker.induction import prove
from protoproof.checker.inductive_explicit import check_inductive
from protoproof.checker.verdict import PROVED, UNKNOWN, VIOLATED
from protoproof.models.base import Model, always, sometimes, transition
from protoproof.models.schema import Int, Record
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase
from protoproof.proofs.twophase import strengthening


def test_tcommit_atomicity_is_inductive_on_its_own() -> None:
    r = prove(TCommit(rms=4))
    assert r.verdict == PROVED
    assert r.conjuncts == ["atomicity"]


def test_twophase_atomicity_alone_is_not_inductive_and_the_cti_replays() -> None:
    model = TwoPhase(rms=3)
    r = prove(model, strengthening=[])
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive")
    cti = r.cti
    assert cti is not None and cti.action is not None
    assert model.atomicity(cti.state) and not model.atomicity(cti.next_state)
    assert model.apply(cti.state, cti.action) == cti.next_state
    assert cti.broken == ["atomicity"]


def test_one_line_per_obligation_with_its_time() -> None:
    model = TwoPhase(rms=3)
    r = prove(model, strengthening(model))
    lines = r.to_lines()
    n_actions = len(model.actions())
    assert len(r.obligations) == n_actions + 3  # the tie, init, one per action, inv => safety
    assert sum("consecution" in line for line in lines) == n_actions
    assert all(o.result == "ok" and o.seconds >= 0 for o in r.obligations)
    d = json.loads(json.dumps(r.to_json()))
    assert d["verdict"] == PROVED and len(d["obligations"]) == n_actions + 3


def test_a_buggy_variant_is_not_proved_and_the_cti_names_the_action() -> None:
    bug = TwoPhase(rms=3).with_variant("commit-without-votes")
    r = prove(bug, strengthening(bug))  # type: ignore[arg-type]
    assert r.verdict != PROVED
    assert r.cti is not None and repr(r.cti.action) == "commit(node='tm')"


def test_k_induction_proves_what_one_step_cannot() -> None:
    m = _Lagging()
    one = prove(m, [])
    assert one.verdict == UNKNOWN and one.cti is not None and one.cti.state.y == 3
    two = prove(m, [], k=2)
    assert two.verdict == PROVED, two.to_lines()
    assert [o.name for o in two.obligations] == ["property conformance (16 states)", "init => inv", "base (depth < 2)",
                                                 "consecution (2-induction)", "inv => safety"]


def test_an_initial_state_that_violates_safety_is_a_violation() -> None:
    r = prove(TwoPhase(rms=2), strengthening=[lambda s: s.nodes[0] != "working"])
    assert r.verdict == UNKNOWN and "initial" in r.reason
    assert prove(_BadInit()).verdict == VIOLATED


@pytest.mark.parametrize("drop", range(7))
def test_the_explicit_check_and_z3_agree_on_each_weakened_strengthening(drop: int) -> None:
    model = TwoPhase(rms=2)
    conj = strengthening(model)
    weak = conj[:drop] + conj[drop + 1 :]
    explicit = check_inductive(model, weak)
    symbolic = prove(model, weak)
    assert explicit.verdict == symbolic.verdict == UNKNOWN
    assert explicit.cti is not None and symbolic.cti is not None


def test_the_explicit_check_accepts_the_full_strengthening_and_refuses_big_instances() -> None:
    r = check_inductive(TwoPhase(rms=2), strengthening(TwoPhase(rms=2)))
    assert r.verdict == PROVED and r.invariant_states > 0 and r.type_correct_states == TwoPhase(rms=2).state_type.size
    with pytest.raises(ValueError, match="smaller instance"):
        check_inductive(TwoPhase(rms=4), max_states=10_000)


class _C(NamedTuple):
    x: int
    y: int


class _Lagging(Model[Any]):
    """y alternates 0, 1; x copies y.  `x != 3` holds, but one step from (0, 3) breaks it."""

    name = "lagging"

    def schema(self) -> Record:
        return Record(_C, x=Int(0, 3), y=Int(0, 3))

    def init(self) -> list[Any]:
        return [_C(0, 0)]

    @transition()
    def tick(self, s: Any) -> Any:
        return _C(s.y, (s.y + 1) % 2)

    @always
    def small(self, s: Any) -> bool:
        return s.x != 3

    @sometimes
    def one(self, s: Any) -> bool:
        return s.x == 1


class _BadInit(_Lagging):
    name = "badinit"

    def init(self) -> list[Any]:
        return [_C(3, 0)]
