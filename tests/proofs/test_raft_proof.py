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
from protoproof.models.raft import (
    CANDIDATE,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Entry,
    Raft,
    RequestVoteRequest,
    ServerState,
)
from protoproof.proofs import strengthening_for
from protoproof.proofs.raft import commit_strengthening, election_strengthening, log_strengthening, strengthening

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
    """The proof above implies this only if its relation is the Python model's actions, and ``prove``'s tie
    checks the formulas, not the actions: this is CI's check that the two agree here (about 25 s)."""
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


def _proved_from_the_cli(max_log: int, properties: str, servers: int = 2, *flags: str) -> dict[str, Any]:
    """``prove raft`` at 2 servers (or ``servers``), 2 values, terms 1..2: its JSON, asserted proved."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["prove", "raft", "--servers", str(servers), "--values", "2", "--max-term", "2", "--max-log",
                 str(max_log), "--property", properties, "--json", *flags], out, err)
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


@pytest.mark.slow
def test_log_matching_with_logs_of_two_entries_is_proved_at_three_servers_up_to_symmetry_from_the_cli() -> None:
    """148 consecution queries asked of 1,563; about 45 minutes on one core (README, Raft)."""
    r = _proved_from_the_cli(2, "log_matching", 3, "--symmetry")
    assert "predecessors_agree" in r["conjuncts"]
    assert r["symmetry"].startswith("symmetry: 905 of 1,563 consecution obligations are renamings of the 148 asked")


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


THREE: dict[str, Any] = {"servers": 3, "values": 2, "max_term": 2, "max_log": 1}  # the 3-server proof's bounds


@pytest.mark.parametrize("config", [COMMITS, pytest.param({**COMMITS, "servers": 3, "values": 2, "max_term": 3},
                                                          marks=pytest.mark.slow),  # about 15 s; CI: THREE
                                    THREE])
def test_the_commit_strengthening_holds_on_states_where_entries_are_committed(config: dict[str, Any]) -> None:
    model = Raft(**config)
    states = _walk_states(model, 40 if config["servers"] == 2 else 12, 50, seed=1)
    committed = [s for s in states if any(ls.commit_index for ls in s.nodes)]
    assert len(committed) > 10
    conjuncts = commit_strengthening(model)
    assert [f.__name__ for f in conjuncts if not all(f(s) for s in states)] == []


def test_the_commit_conjuncts_join_at_three_servers_and_not_at_four() -> None:
    """Proved at 2 and 3 servers; ``acked_are_protectors`` reads the leader and one acknowledging
    server as a majority, which they are not at 4."""
    three = {f.__name__ for f in strengthening(Raft(**THREE))}
    four = {f.__name__ for f in strengthening(Raft(**{**THREE, "servers": 4}))}
    commit = {f.__name__ for f in commit_strengthening(Raft(**COMMITS))}
    assert "committed_is_protected" in commit and commit <= three
    assert "no_second_leader" in four and not four & commit


@pytest.mark.slow
def test_the_commit_strengthening_holds_on_the_first_reachable_states_at_three_servers() -> None:
    """Breadth-first, one message in flight, no loss, duplication or restart: the first 20,000
    states, a few hundred of them with an entry committed (the whole space, 341,387 states with
    one value, takes most of an hour of Python)."""
    model = Raft(**THREE, max_messages=1, lossy=False, duplicating=False, restarts=False)
    states = reachable_states(model, 20_000)
    assert sum(1 for s in states if any(ls.commit_index for ls in s.nodes)) > 100
    conjuncts = commit_strengthening(model)
    assert [f.__name__ for f in conjuncts if not all(f(s) for s in states)] == []


# ----- counterexamples to induction at 3 servers, replayed on the Python ---------------------------


def _three_servers(model: Raft, nodes: list[dict[str, Any]], sends: list[tuple[int, int, Any]]) -> Any:
    """A 3-server state: each server's fields over a fresh follower of term 1 (next_index 2 for
    every peer where the server holds an entry), and ``sends`` (src, dst, message) in flight."""
    (s,) = model.initial_states()
    states: list[ServerState] = []
    for ls, fields in zip(s.nodes, nodes, strict=True):
        log = fields.get("log", ())
        states.append(ls._replace(**{"next_index": (len(log) + 1,) * 3, **fields}))
    return s._replace(nodes=tuple(states), net=model._net.add(s.net, [Envelope(*x) for x in sends]))


def _broken_conjuncts(model: Raft, s: Any) -> list[str]:
    """The conjuncts ``s`` breaks, of ElectionSafety's, LogMatching's and the commit conjuncts."""
    every = election_strengthening(model) + log_strengthening(model) + commit_strengthening(model)
    return [f.__name__ for f in every if not f(s)]


def test_without_entries_have_an_elected_leader_an_older_entry_becomes_protected_beside_a_newer_one() -> None:
    """s3 holds (2,1) and s1 (1,0) in term 2, but nobody was elected in term 2 (s1 and s3 voted for
    themselves, s2 is in term 1): every other conjunct holds, and once the leader of term 1's
    request gives s2 (1,0), s1 and s2 make it protected next to a newer entry."""
    model = Raft(**THREE)
    x = _three_servers(model, [
        {"current_term": 2, "voted_for": 0, "log": (Entry(1, 0),)},
        {"voted_for": 1, "votes_granted": frozenset({0}), "next_index": (1, 1, 1), "match_index": (0, 1, 0)},
        {"current_term": 2, "voted_for": 2, "log": (Entry(2, 1),), "match_index": (0, 0, 1)},
    ], [(0, 1, AppendEntriesRequest(1, 0, 0, (Entry(1, 0),), 0)), (2, 0, AppendEntriesRequest(2, 0, 0, (), 0))])
    assert _broken_conjuncts(model, x) == ["entries_have_an_elected_leader"]
    y = _deliver(model, x, 0, 1)
    assert y.nodes[1].log == (Entry(1, 0),) and "protected_is_newest" in _broken_conjuncts(model, y)


def test_without_vote_requests_in_their_term_a_stale_vote_request_claims_a_newly_protected_entry() -> None:
    """s1, in term 2, has a vote request in flight saying it holds an entry of term 1, but its log
    is empty and no newer entry exists to have replaced it.  Every other conjunct holds; once s2
    gets (1,1), s2 and s3 protect it, and the stale request claims it."""
    model = Raft(**THREE)
    x = _three_servers(model, [
        {"current_term": 2, "voted_for": 0, "next_index": (1, 1, 1)},
        {"voted_for": 1, "match_index": (0, 1, 0)},
        {"current_term": 2, "role": CANDIDATE, "voted_for": 1, "log": (Entry(1, 1),), "next_index": (1, 2, 2),
         "match_index": (0, 1, 1)},
    ], [(0, 1, AppendEntriesRequest(1, 0, 0, (Entry(1, 1),), 0)), (0, 1, RequestVoteRequest(2, 1, 1))])
    assert _broken_conjuncts(model, x) == ["vote_requests_in_their_term"]
    y = _deliver(model, x, 0, 1)
    assert y.nodes[1].log == (Entry(1, 1),) and "protected_vote_requests" in _broken_conjuncts(model, y)


def test_a_vote_stays_evidence_when_its_candidate_is_elected_or_restarts() -> None:
    """s2 holds (1,0) and voted for s1, which has no entry, in term 2.  Counted by a candidate, or
    in flight, that vote was the only evidence; s1's election or restart erased it and s2 became a
    protector of (1,0) beside s3 while s1 led without it (counterexamples to induction at 3
    servers).  Its ``voted_for`` keeps the evidence: both steps keep every conjunct."""
    model = Raft(**THREE)
    x = _three_servers(model, [
        {"current_term": 2, "role": CANDIDATE, "voted_for": 0, "votes_granted": frozenset({0, 1})},
        {"current_term": 2, "voted_for": 0, "log": (Entry(1, 0),), "match_index": (0, 1, 0)},
        {"voted_for": 1, "log": (Entry(1, 0),), "match_index": (0, 0, 1)},
    ], [(1, 0, AppendEntriesResponse(2, False, 0))])
    assert _broken_conjuncts(model, x) == []
    for step in ("become_leader", "restart"):
        y = next(t for a, t in model.successors(x) if a.name == step and dict(a.args)["node"] == "s1")
        assert _broken_conjuncts(model, y) == [], step


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
def test_state_machine_safety_is_proved_at_three_servers_up_to_symmetry_from_the_cli() -> None:
    """84 consecution queries asked, 423 covered by renaming, 237 actions never enabled; about
    25 minutes on one core (README, Raft)."""
    r = _proved_from_the_cli(1, "state_machine_safety,leader_completeness,log_matching", 3, "--symmetry")
    assert {"committed_is_protected", "entries_have_an_elected_leader"} <= set(r["conjuncts"])
    assert r["symmetry"].startswith("symmetry: 423 of 744 consecution obligations are renamings of the 84 asked")


@pytest.mark.slow
@pytest.mark.parametrize("drop", ["acked_are_protectors", "led_terms_locked"])
def test_removing_a_commit_conjunct_gives_a_counterexample_to_induction(drop: str) -> None:
    """(``requests_of_a_term_agree`` is not needed here since ``requests_describe_the_log`` reads every
    request of its sender's current term: without it this instance is proved.)"""
    model = Raft(**COMMITS)
    _not_inductive_without(model, drop, ["state_machine_safety", "leader_completeness"])
