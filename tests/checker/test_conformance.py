"""Conformance: the symbolic relation equals the concrete successors; twins equal forking runs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protoproof.checker.conformance import check_twins, conform
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase


@pytest.mark.parametrize("model", [TwoPhase(rms=2), TCommit(rms=3)], ids=repr)
def test_the_correct_models_conform_on_reachable_and_random_states(model: Any) -> None:
    r = conform(model, random_states=150, seed=3)
    assert r.ok, "\n".join(r.to_lines())
    assert r.reachable_states == len({*r_states(model)})
    assert r.random_states == 150
    assert r.checks == (r.reachable_states + 150) * len(model.actions())
    assert all(t.result == "equivalent" for t in r.twins)
    assert json.loads(json.dumps(r.to_json()))["verdict"] == "conforms"


def r_states(model: Any) -> list[Any]:
    from protoproof.checker.conformance import reachable_states

    return reachable_states(model, 10_000)


def test_conformance_fails_when_the_symbolic_side_runs_a_mutated_function() -> None:
    model = TwoPhase(rms=2)
    buggy = model.with_variant("commit-without-votes")
    fn = dict((repr(a), f) for a, f in buggy._compiled())["commit(node='tm')"]  # type: ignore[attr-defined]
    r = conform(model, random_states=50, overrides={"commit(node='tm')": fn}, twins=False)
    assert not r.ok
    assert {m.action for m in r.mismatches} == {"commit(node='tm')"}
    bad = r.mismatches[0]
    assert bad.concrete is None and len(bad.symbolic) == 1  # the mutant commits where 2PC may not


def test_a_mutated_tcommit_transition_is_caught_too() -> None:
    model = TCommit(rms=2)

    def abort_even_after_commit(s: Any) -> Any:
        return model._set(s, 0, "aborted")

    r = conform(model, random_states=30, overrides={"decide_abort(rm=0)": abort_even_after_commit}, twins=False)
    assert not r.ok and all(m.action == "decide_abort(rm=0)" for m in r.mismatches)


def test_every_twin_of_twophase_is_z3_equivalent_to_its_forking_version() -> None:
    checks = check_twins(TwoPhase(rms=3))
    assert len(checks) == len(TwoPhase(rms=3).actions()) + 1
    assert {c.result for c in checks} == {"equivalent"}
