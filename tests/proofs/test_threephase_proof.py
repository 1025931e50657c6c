"""3PC on z3: atomicity under a perfect failure detector proved by induction; BMC finds the bugs."""

from __future__ import annotations

import pytest

from protoproof.checker.bmc import bmc
from protoproof.checker.conformance import reachable_states
from protoproof.checker.induction import prove
from protoproof.checker.verdict import PROVED, UNKNOWN, VIOLATED
from protoproof.models.tcommit import ABORTED, COMMITTED
from protoproof.models.threephase import ThreePhase
from protoproof.proofs import strengthening_for
from protoproof.proofs.threephase import strengthening

CONJUNCTS = [f.__name__ for f in strengthening(ThreePhase(rms=2))]


@pytest.mark.parametrize("rms", [2, pytest.param(3, marks=pytest.mark.slow)])  # 3 RMs: about 20 s
def test_atomicity_with_a_perfect_failure_detector_and_one_crash_is_proved_by_induction(rms: int) -> None:
    model = ThreePhase(rms=rms)
    r = prove(model, strengthening_for(model))
    assert r.verdict == PROVED, "\n".join(r.to_lines())
    assert r.conjuncts == ["atomicity", *CONJUNCTS]


@pytest.mark.parametrize("drop", CONJUNCTS)
def test_removing_any_one_conjunct_gives_a_counterexample_to_induction(drop: str) -> None:
    model = ThreePhase(rms=2)
    weak = [f for f in strengthening(model) if f.__name__ != drop]
    r = prove(model, weak, tie=0)
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive")
    cti = r.cti
    assert cti is not None and cti.action is not None and cti.broken
    assert model.apply(cti.state, cti.action) == cti.next_state
    assert all(f(cti.state) for f in weak) and model.atomicity(cti.state)


@pytest.mark.parametrize("rms", [2, 3])
def test_the_strengthening_holds_on_every_reachable_state(rms: int) -> None:
    model = ThreePhase(rms=rms)
    conj = strengthening(model)
    states = reachable_states(model, 20_000)
    assert len(states) == {2: 732, 3: 10550}[rms]
    assert all(f(s) for s in states for f in conj)


def test_the_strengthening_refuses_the_configurations_it_does_not_cover() -> None:
    with pytest.raises(ValueError, match="--max-crashes 0 or 1"):
        strengthening(ThreePhase(rms=2, max_crashes=2))
    with pytest.raises(ValueError, match="--failures crash"):
        strengthening(ThreePhase(rms=2, failures="partition"))


def test_bmc_finds_the_participant_that_commits_on_timeout_at_depth_4() -> None:
    model = ThreePhase(rms=2).with_variant("commit-on-timeout")
    assert isinstance(model, ThreePhase)
    r = bmc(model, 4, ["atomicity"])
    assert (r.verdict, r.depth_reached) == (VIOLATED, 4)
    assert r.path is not None and set(model.rm_states(r.path.last)) == {COMMITTED, ABORTED}


@pytest.mark.slow
def test_bmc_finds_the_partition_counterexample_at_the_explicit_checkers_depth() -> None:
    # Measured on a loaded 2-core machine: 465 s for the search (depth 13 alone 112 s), 574 s for this test.
    model = ThreePhase(rms=2, max_crashes=0, failures="partition")
    r = bmc(model, 14, ["atomicity"])
    assert (r.verdict, r.depth_reached) == (VIOLATED, 14)
    assert r.path is not None and model.rm_states(r.path.last) in {(COMMITTED, ABORTED), (ABORTED, COMMITTED)}
    assert any(a.name == "split" for a in r.path.actions)
