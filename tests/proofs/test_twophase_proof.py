"""The 2PC atomicity strengthening: proved for 3..10 RMs, and no conjunct is decorative."""

from __future__ import annotations

import pytest

from protoproof.checker.induction import prove
from protoproof.checker.verdict import PROVED, UNKNOWN
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase
from protoproof.proofs import strengthening_for
from protoproof.proofs.twophase import strengthening

CONJUNCTS = [f.__name__ for f in strengthening(TwoPhase(rms=3))]


@pytest.mark.parametrize("rms", [3, 4, 5, 7, 10])
def test_atomicity_is_proved_by_induction(rms: int) -> None:
    r = prove(TwoPhase(rms=rms), strengthening_for(TwoPhase(rms=rms)))
    assert r.verdict == PROVED, "\n".join(r.to_lines())
    assert r.conjuncts == ["atomicity", *CONJUNCTS]


@pytest.mark.slow
@pytest.mark.parametrize("rms", [6, 8, 9])
def test_atomicity_is_proved_for_the_other_sizes(rms: int) -> None:
    assert prove(TwoPhase(rms=rms), strengthening_for(TwoPhase(rms=rms))).verdict == PROVED


@pytest.mark.parametrize("drop", CONJUNCTS)
def test_removing_any_one_conjunct_gives_a_counterexample_to_induction(drop: str) -> None:
    model = TwoPhase(rms=3)
    weak = [f for f in strengthening(model) if f.__name__ != drop]
    r = prove(model, weak)
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive")
    cti = r.cti
    assert cti is not None and cti.action is not None and cti.broken
    assert model.apply(cti.state, cti.action) == cti.next_state
    assert all(f(cti.state) for f in weak) and model.atomicity(cti.state)


def test_the_strengthening_is_found_by_model_name() -> None:
    assert [f.__name__ for f in strengthening_for(TwoPhase(rms=4)) or []] == CONJUNCTS
    assert strengthening_for(TCommit(rms=3)) is None


def test_the_strengthening_holds_on_every_reachable_state() -> None:
    from protoproof.checker.conformance import reachable_states

    model = TwoPhase(rms=3)
    conj = strengthening(model)
    states = reachable_states(model, 10_000)
    assert len(states) == 288
    assert all(f(s) for s in states for f in conj)
