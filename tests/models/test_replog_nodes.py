"""The replicated log as nodes: epochs keep a late acknowledgement from committing a retracted entry."""

from __future__ import annotations

import pytest

from protoproof.checker.bmc import bmc
from protoproof.checker.explore import explore
from protoproof.checker.induction import prove
from protoproof.checker.verdict import BOUNDED, EXHAUSTED, PROVED, VIOLATED
from protoproof.models.actors import Persist, Send
from protoproof.models.replog_nodes import (
    Ack,
    Append,
    FollowerState,
    KeepRetracted,
    LateAck,
    LeaderState,
    NewEpoch,
    ReplogNodes,
    RetractCommitted,
    VolatileFollower,
)
from protoproof.proofs import strengthening_for
from protoproof.proofs.replog_nodes import strengthening


def test_the_node_form_is_exhausted_with_its_pinned_counts() -> None:
    r = explore(ReplogNodes(followers=1))
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (2562, 12940, 19)


def test_the_node_form_with_a_follower_crash_is_exhausted_with_its_pinned_counts() -> None:
    r = explore(ReplogNodes(followers=1, max_crashes=1))
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (11210, 55042, 22)


def test_every_step_of_the_node_form_fires_and_an_entry_is_committed_after_a_retraction() -> None:
    m = ReplogNodes(followers=1)
    r = explore(m)
    assert all(n > 0 for n in r.stats.coverage.values()), r.stats.coverage
    assert set(r.stats.coverage) >= {"leader.retract", "leader.announce", "follower.receive NewEpoch"}
    assert not r.unreached()  # committed_after_a_retraction and replicated are both reached


def test_the_node_form_refines_the_committed_log_and_a_leader_retracting_a_committed_entry_does_not() -> None:
    assert [r.name for r in ReplogNodes().refinements()] == ["refines_committed_log"]
    r = explore(RetractCommitted(followers=1))
    assert r.verdict == VIOLATED and r.property in ("refines_committed_log", "committed_never_retracted")
    r = explore(RetractCommitted(followers=1), properties=["refines_committed_log"])
    assert r.verdict == VIOLATED and r.property == "refines_committed_log"


def test_a_late_ack_of_an_earlier_epoch_is_not_counted() -> None:
    m = ReplogNodes(followers=1)
    leader = m.node("leader")
    s = LeaderState(1, (1,), 0, (0,))  # retracted an entry in epoch 0, appended 1 in its place
    assert leader.on_message(s, 1, Ack(0, 1)) is None
    assert leader.on_message(s, 1, Ack(1, 1)) == (LeaderState(1, (1,), 0, (1,)), ())


def test_a_follower_cuts_its_log_to_the_announced_commit_and_appends_only_in_its_epoch() -> None:
    m = ReplogNodes(followers=1)
    f = m.node("f0")
    s = FollowerState(0, (0, 1))
    r = f.on_message(s, 0, NewEpoch(1, 1))
    assert r is not None and r[0] == FollowerState(1, (0,)) and r[1] == (Persist(), Send(0, Ack(1, 1)))
    t = r[0]
    assert f.on_message(t, 0, Append(0, 1, 0)) is None  # an entry of the epoch it left
    assert f.on_message(t, 0, NewEpoch(1, 0)) is None  # an epoch it is already in
    assert f.on_message(t, 0, Append(1, 1, 0)) == (FollowerState(1, (0, 0)), (Persist(), Send(0, Ack(1, 2))))


@pytest.mark.parametrize("followers", [1, 2])
def test_check_finds_the_late_ack_bug(followers: int) -> None:
    r = explore(LateAck(followers=followers))
    assert r.verdict == VIOLATED and r.property == "followers_agree_on_committed"
    assert r.path is not None and len(r.path) == (7 if followers == 1 else 10)
    labels = [a.name for a in r.path.actions]
    assert labels.index("retract") < labels.index("commit_next")


def test_bmc_finds_the_late_ack_bug_at_its_depth() -> None:
    r = bmc(LateAck(followers=1), 8)
    assert r.verdict == VIOLATED and r.property == "followers_agree_on_committed" and r.depth_reached == 7
    assert r.path is not None and not ReplogNodes(followers=1).followers_agree_on_committed(r.path.last)


def test_check_finds_a_follower_that_keeps_retracted_entries() -> None:
    r = explore(KeepRetracted(followers=1))
    assert r.verdict == VIOLATED and r.property == "followers_agree_on_committed"


def test_a_follower_that_acknowledges_before_persisting_is_found_only_with_crashes() -> None:
    assert explore(VolatileFollower(followers=1, max_crashes=0)).verdict == EXHAUSTED
    r = explore(VolatileFollower(followers=1, max_crashes=1))
    assert r.verdict == VIOLATED and r.property == "followers_agree_on_committed"
    assert r.path is not None and "crash" in [a.name for a in r.path.actions]


def test_bmc_of_the_node_form_is_clean_to_its_depth() -> None:
    r = bmc(ReplogNodes(followers=1), 6)
    assert r.verdict == BOUNDED and r.depth_reached == 6


def test_the_node_form_is_proved_by_induction_with_its_strengthening() -> None:
    model = ReplogNodes()
    conjuncts = strengthening_for(model)
    assert conjuncts is not None and len(conjuncts) == 5
    r = prove(model, conjuncts)
    assert r.verdict == PROVED, r.to_lines()


CONJUNCTS = [f.__name__ for f in strengthening(ReplogNodes(followers=1))]


@pytest.mark.parametrize("drop", CONJUNCTS)
def test_removing_any_one_conjunct_gives_a_counterexample_to_induction(drop: str) -> None:
    model = ReplogNodes(followers=1)
    r = prove(model, [f for f in strengthening(model) if f.__name__ != drop])
    assert r.verdict != PROVED


def test_the_strengthening_holds_on_every_reachable_state() -> None:
    from protoproof.checker.conformance import reachable_states

    model = ReplogNodes(followers=1)
    conjuncts = strengthening(model)
    states = reachable_states(model, 10_000)
    assert len(states) == 2562
    assert all(f(s) for s in states for f in conjuncts)


@pytest.mark.parametrize("variant", [LateAck, KeepRetracted])
def test_induction_refutes_the_planted_bugs(variant: type[ReplogNodes]) -> None:
    model = variant(followers=1)
    assert prove(model, strengthening(model)).verdict != PROVED


@pytest.mark.slow  # about 20 s (a few minutes at maxlen 2)
def test_the_node_form_conforms_on_a_small_instance() -> None:
    from protoproof.checker.conformance import conform
    from protoproof.checker.verdict import CONFORMS

    r = conform(ReplogNodes(followers=1, maxlen=1), random_states=100)
    assert r.verdict == CONFORMS, r.to_lines()
    assert not r.mismatches and not r.formula_mismatches and all(t.result == "equivalent" for t in r.twins)
