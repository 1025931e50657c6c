"""ElectionSafety of Raft proved by induction at fixed sizes, with the strengthening of proofs/raft.py."""

from __future__ import annotations

import io
import json
import random
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
from protoproof.models.actors import Envelope
from protoproof.models.raft import AppendEntriesRequest, Entry, Raft
from protoproof.proofs import strengthening_for
from protoproof.proofs.raft import commit_strengthening, log_strengthening, strengthening

SMALL: dict[str, Any] = {"servers": 2, "max_term": 2, "max_log": 0}


def test_election_safety_is_proved_by_induction_with_the_bag_bound() -> None:
    model = Raft(**SMALL)
    r = prove(model, strengthening_for(model), properties=["election_safety"])
    assert r.verdict == PROVED, r.reason
    assert BAG_BOUND in r.conjuncts  # a send into a full bag is proved unreachable too


def _not_inductive_without(model: Raft, drop: str, properties: list[str]) -> Any:
    """``prove`` with the strengthening less ``drop``: its result, asserted a counterexample to induction."""
    weak = [f for f in strengthening(model) if f.__name__ != drop]
    r = prove(model, weak, properties=properties)
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive"), r.reason
    return r


@pytest.mark.slow
def test_election_safety_is_proved_by_induction_at_three_servers() -> None:
    model = Raft(servers=3, max_term=2, max_log=0)
    assert prove(model, strengthening(model), properties=["election_safety"]).verdict == PROVED


@pytest.mark.parametrize("drop", ["leader_has_majority", "counted_is_vote", "response_is_vote"])
def test_removing_a_conjunct_gives_a_counterexample_to_induction(drop: str) -> None:
    model = Raft(**SMALL)
    r = _not_inductive_without(model, drop, ["election_safety"])
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
    assert len(strengthening(Raft(**LOGS))) == 16 + len(commit_strengthening(Raft(**LOGS)))


def _proved_from_the_cli(max_log: int, properties: str) -> dict[str, Any]:
    """``prove raft`` at 2 servers, 2 values, terms 1..2: its JSON, asserted proved."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["prove", "raft", "--servers", "2", "--values", "2", "--max-term", "2", "--max-log", str(max_log),
                 "--property", properties, "--json"], out, err)
    r: dict[str, Any] = json.loads(out.getvalue())
    assert code == 0 and r["verdict"] == PROVED, r
    return r


@pytest.mark.slow
def test_log_matching_is_proved_by_induction_from_the_cli() -> None:
    """23 minutes wall at a load average of 13 to 23 on 2 cores (79 s of CPU)."""
    r = _proved_from_the_cli(1, "log_matching")
    assert {BAG_BOUND, STEP_TOTAL, "no_second_leader"} <= set(r["conjuncts"])


@pytest.mark.slow
@pytest.mark.parametrize("drop", ["no_second_leader", "leader_has_its_entries", "log_terms_bounded"])
def test_removing_a_log_conjunct_gives_a_counterexample_to_induction(drop: str) -> None:
    model = Raft(**LOGS)
    _not_inductive_without(model, drop, ["log_matching"])


# ----- LogMatching with logs of two entries: predecessors_agree ----------------------------------

LOGS2: dict[str, Any] = {"servers": 2, "values": 2, "max_term": 2, "max_log": 2}


def _deliver(model: Raft, s: Any, src: int, dst: int) -> Any:
    return next(t for a, t in model.successors(s)
                if a.name == "deliver" and dict(a.args).get("src") == model.node_list[src].name
                and dict(a.args).get("dst") == model.node_list[dst].name)


def test_without_predecessors_agree_a_follower_accepts_an_entry_after_the_wrong_predecessor() -> None:
    """The CTI the conjunct rules out, replayed on the Python: s1 restarted after leading term 2
    with ((1,0), (2,0)); s2 holds (2,1) at index 1 and a request of term 2 puts (2,0) after a
    predecessor of term 2.  Every other conjunct holds, and accepting it breaks LogMatching."""
    model = Raft(**LOGS2)
    (s,) = model.initial_states()
    nodes = list(s.nodes)
    nodes[0] = nodes[0]._replace(current_term=2, voted_for=0, log=(Entry(1, 0), Entry(2, 0)))
    nodes[1] = nodes[1]._replace(current_term=2, voted_for=0, log=(Entry(2, 1),))
    req = AppendEntriesRequest(2, 1, 2, (Entry(2, 0),), 0)
    x = s._replace(nodes=tuple(nodes), net=model._net.add(s.net, [Envelope(0, 1, req)]))
    conjuncts = {f.__name__: f for f in strengthening(model)}
    assert [n for n, f in conjuncts.items() if not f(x)] == ["predecessors_agree"]
    assert model.log_matching(x)
    y = _deliver(model, x, 0, 1)
    assert y.nodes[1].log == (Entry(2, 1), Entry(2, 0)) and not model.log_matching(y)


def test_predecessors_agree_holds_on_the_reachable_states_with_two_entry_logs() -> None:
    model = Raft(**LOGS2)
    states = reachable_states(model, 20_000)  # the first two-entry logs appear after about 15,000
    states = [s for s in states if any(len(ls.log) == 2 for ls in s.nodes)]
    assert len(states) > 100
    assert all(f(s) for s in states for f in log_strengthening(model))


def test_predecessors_agree_joins_only_logs_of_two_entries_or_more() -> None:
    names = [f.__name__ for f in log_strengthening(Raft(**LOGS2))]
    assert names[-1] == "predecessors_agree" and len(names) == 9
    assert "predecessors_agree" not in [f.__name__ for f in log_strengthening(Raft(**LOGS))]


@pytest.mark.slow
def test_log_matching_is_proved_by_induction_with_logs_of_two_entries_from_the_cli() -> None:
    r = _proved_from_the_cli(2, "log_matching")
    assert {"predecessors_agree", "entries_unique", "no_second_leader"} <= set(r["conjuncts"])


# ----- StateMachineSafety and LeaderCompleteness with logs of one entry: commit_strengthening -----

COMMITS: dict[str, Any] = {"servers": 2, "values": 1, "max_term": 2, "max_log": 1}


def _walk_states(model: Raft, walks: int, steps: int, seed: int) -> set[Any]:
    """States of seeded random walks that mostly take the servers' own steps and deliveries (so
    that entries get committed), now and then a drop, duplicate, restart or timeout."""
    rng = random.Random(seed)
    noise = {"drop", "duplicate", "restart", "timeout"}
    seen: set[Any] = set()
    for _ in range(walks):
        (s,) = model.initial_states()
        for _ in range(steps):
            succ = list(model.successors(s))
            if not succ:
                break
            calm = [x for x in succ if x[0].name not in noise]
            s = rng.choice(calm if calm and rng.random() < 0.9 else succ)[1]
            seen.add(s)
    return seen


@pytest.mark.parametrize("config", [COMMITS, {**COMMITS, "servers": 3, "values": 2, "max_term": 3}])
def test_the_commit_strengthening_holds_on_states_where_entries_are_committed(config: dict[str, Any]) -> None:
    model = Raft(**config)
    states = _walk_states(model, 40 if config["servers"] == 2 else 12, 50, seed=1)
    committed = [s for s in states if any(ls.commit_index for ls in s.nodes)]
    assert len(committed) > 10
    conjuncts = commit_strengthening(model)
    assert [f.__name__ for f in conjuncts if not all(f(s) for s in states)] == []


def test_the_commit_conjuncts_are_left_out_at_three_servers_where_they_are_not_inductive() -> None:
    three = {f.__name__ for f in strengthening(Raft(**{**COMMITS, "servers": 3}))}
    commit = {f.__name__ for f in commit_strengthening(Raft(**COMMITS))}
    assert "no_second_leader" in three and "committed_is_protected" in commit and not three & commit


def test_the_commit_conjuncts_join_only_logs_of_one_entry() -> None:
    names = {f.__name__ for f in commit_strengthening(Raft(**COMMITS))}
    assert {"committed_is_protected", "acked_are_protectors", "protected_in_leaders"} <= names
    assert names <= {f.__name__ for f in strengthening(Raft(**COMMITS))}
    assert not names & {f.__name__ for f in strengthening(Raft(**LOGS2))}


@pytest.mark.slow
def test_state_machine_safety_is_proved_by_induction_from_the_cli() -> None:
    r = _proved_from_the_cli(1, "state_machine_safety,leader_completeness,log_matching")
    assert {"state_machine_safety", "leader_completeness", "committed_is_protected"} <= set(r["conjuncts"])


@pytest.mark.slow
@pytest.mark.parametrize("drop", ["acked_are_protectors", "requests_of_a_term_agree", "led_terms_locked"])
def test_removing_a_commit_conjunct_gives_a_counterexample_to_induction(drop: str) -> None:
    model = Raft(**COMMITS)
    _not_inductive_without(model, drop, ["state_machine_safety", "leader_completeness"])
