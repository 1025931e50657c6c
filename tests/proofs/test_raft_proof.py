"""ElectionSafety of Raft proved by induction at fixed sizes, with the strengthening of proofs/raft.py."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from protoproof.checker.conformance import reachable_states
from protoproof.checker.induction import prove
from protoproof.checker.symbolic import BAG_BOUND, STEP_TOTAL
from protoproof.checker.symbolic.encoding import domain, fresh
from protoproof.checker.symbolic.search import explore
from protoproof.checker.twin import twin
from protoproof.checker.verdict import PROVED, UNKNOWN
from protoproof.cli import main
from protoproof.models.raft import Raft
from protoproof.proofs import strengthening_for
from protoproof.proofs.raft import log_strengthening, strengthening

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


# ----- LogMatching (entry uniqueness) with logs of one entry -------------------------------------

LOGS: dict[str, Any] = {"servers": 2, "values": 2, "max_term": 2, "max_log": 1}


def test_the_log_strengthening_holds_on_every_reachable_state_it_meets() -> None:
    model = Raft(**LOGS)
    states = reachable_states(model, 1500)
    conjuncts = log_strengthening(model)
    assert len(conjuncts) == 8
    assert all(f(s) for s in states for f in conjuncts)


def test_the_log_conjuncts_that_read_entries_are_one_formula_each_at_three_servers() -> None:
    """Read as ``len(log) >= k and log[k - 1] == e``, an entry forks the exploration on the log's
    length, and ``entries_unique`` exploded at 3 servers; the slice spelling is one path."""
    model = Raft(**{**LOGS, "servers": 3})
    ty = model.state_type
    x = fresh(ty, "x")
    paths = {f.__name__: len(explore(twin(f), (x,), f.__name__, background=domain(ty, x)))
             for f in log_strengthening(model) if f.__name__ != "log_terms_bounded"}
    assert paths == dict.fromkeys(paths, 1) and "entries_unique" in paths and "no_second_leader" in paths


def test_the_log_conjuncts_join_the_strengthening_only_when_there_are_logs() -> None:
    assert len(strengthening(Raft(**SMALL))) == 8
    assert len(strengthening(Raft(**LOGS))) == 16


@pytest.mark.slow
def test_log_matching_is_proved_by_induction_from_the_cli() -> None:
    """23 minutes wall at a load average of 13 to 23 on 2 cores (79 s of CPU)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["prove", "raft", "--servers", "2", "--values", "2", "--max-term", "2", "--max-log", "1",
                 "--property", "log_matching", "--json"], out, err)
    r = json.loads(out.getvalue())
    assert code == 0 and r["verdict"] == PROVED, r
    assert {BAG_BOUND, STEP_TOTAL, "no_second_leader"} <= set(r["conjuncts"])


@pytest.mark.slow
@pytest.mark.parametrize("drop", ["no_second_leader", "leader_has_its_entries", "log_terms_bounded"])
def test_removing_a_log_conjunct_gives_a_counterexample_to_induction(drop: str) -> None:
    model = Raft(**LOGS)
    weak = [f for f in strengthening(model) if f.__name__ != drop]
    r = prove(model, weak, properties=["log_matching"])
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive")
