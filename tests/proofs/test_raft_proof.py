"""ElectionSafety of Raft proved by induction at fixed sizes, with the strengthening of proofs/raft.py."""

from __future__ import annotations

from typing import Any

import pytest

from protoproof.checker.conformance import reachable_states
from protoproof.checker.induction import prove
from protoproof.checker.symbolic import BAG_BOUND
from protoproof.checker.verdict import PROVED, UNKNOWN
from protoproof.models.raft import Raft
from protoproof.proofs import strengthening_for
from protoproof.proofs.raft import strengthening

SMALL: dict[str, Any] = {"servers": 2, "max_term": 2, "max_log": 0}


def test_election_safety_is_proved_by_induction_with_the_bag_bound() -> None:
    model = Raft(**SMALL)
    r = prove(model, strengthening_for(model), properties=["election_safety"])
    assert r.verdict == PROVED, r.reason
    assert BAG_BOUND in r.conjuncts  # a send into a full bag is proved unreachable too


@pytest.mark.slow
def test_election_safety_is_proved_by_induction_at_three_servers() -> None:
    model = Raft(servers=3, max_term=2, max_log=0)
    assert prove(model, strengthening(model), properties=["election_safety"]).verdict == PROVED


@pytest.mark.parametrize("drop", ["leader_has_majority", "counted_is_vote", "response_is_vote"])
def test_removing_a_conjunct_gives_a_counterexample_to_induction(drop: str) -> None:
    model = Raft(**SMALL)
    weak = [f for f in strengthening(model) if f.__name__ != drop]
    r = prove(model, weak, properties=["election_safety"])
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive")
    assert r.cti is not None and r.cti.action is not None
    assert model.apply(r.cti.state, r.cti.action) == r.cti.next_state


def test_the_strengthening_holds_on_every_reachable_state() -> None:
    model = Raft(**SMALL)
    states = reachable_states(model, 100_000)
    assert all(f(s) for s in states for f in strengthening(model))


def test_a_leader_that_does_not_step_down_is_not_proved() -> None:
    buggy = Raft.variants_of()["stale-leader"](**SMALL)
    assert isinstance(buggy, Raft)
    r = prove(buggy, strengthening(buggy), properties=["election_safety"])
    assert r.verdict != PROVED
