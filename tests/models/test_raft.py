"""Raft (models/raft.py): raft.tla's actions as nodes, its bounds as a TLC constraint."""

from __future__ import annotations

import io
import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof import cli
from protoproof.checker.explore import explore
from protoproof.checker.verdict import BOUNDED, EXHAUSTED
from protoproof.models.actors import Envelope, SysState
from protoproof.models.base import Action
from protoproof.models.raft import (
    CANDIDATE,
    FOLLOWER,
    LEADER,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Entry,
    Raft,
    RequestVoteRequest,
    RequestVoteResponse,
    ServerState,
)

from .raft_tla import tla_raft


def _step(m: Raft, s: SysState, name: str, **args: Any) -> SysState | None:
    for a, t in m.successors(s):
        if a.name == name and all(dict(a.args).get(k) == v for k, v in args.items()):
            return t
    return None


def _with(m: Raft, s: SysState, i: int, **fields: Any) -> SysState:
    nodes = list(s.nodes)
    nodes[i] = nodes[i]._replace(**fields)
    return s._replace(nodes=tuple(nodes))


def _put(m: Raft, s: SysState, *envs: Envelope) -> SysState:
    return s._replace(net=m._net.add(s.net, list(envs)))


def test_the_initial_state_is_raft_tla_init() -> None:
    m = Raft(servers=3)
    (s,) = m.initial_states()
    assert all(ls == ServerState(1, FOLLOWER, None, (), 0, frozenset(), frozenset(), (1, 1, 1), (0, 0, 0))
               for ls in s.nodes)
    assert m.in_flight(s) == []


def test_a_candidate_sends_itself_a_vote_request_and_votes_for_itself() -> None:
    m = Raft(servers=3)
    (s,) = m.initial_states()
    s1 = _step(m, s, "timeout", node="s1")
    assert s1 is not None and s1.nodes[0].role == CANDIDATE and s1.nodes[0].current_term == 2
    s2 = _step(m, s1, "request_vote", node="s1", j="s1")
    assert s2 is not None and m.in_flight(s2) == [Envelope(0, 0, RequestVoteRequest(2, 0, 0))]
    s3 = _step(m, s2, "deliver", src="s1", dst="s1")
    assert s3 is not None and s3.nodes[0].voted_for == 0
    assert m.in_flight(s3) == [Envelope(0, 0, RequestVoteResponse(2, True))]


def test_a_shown_state_names_the_server_a_vote_went_to_as_the_actions_do() -> None:
    m = Raft(servers=3)
    (s,) = m.initial_states()
    steps: list[tuple[str, dict[str, str]]] = [
        ("timeout", {"node": "s1"}), ("request_vote", {"node": "s1", "j": "s2"}),
        ("deliver", {"src": "s1", "dst": "s2"}), ("deliver", {"src": "s1", "dst": "s2"}),  # UpdateTerm, then vote
        ("deliver", {"src": "s2", "dst": "s1"}),
    ]
    for name, args in steps:
        t = _step(m, s, name, **args)
        assert t is not None, name
        s = t
    shown = m.describe_state(s)
    assert s.nodes[1].voted_for == 0 and shown["s2.voted_for"] == "s1"  # the state keeps the id
    assert shown["s1.votes_granted"] == shown["s1.votes_responded"] == frozenset({"s2"})
    assert shown["s3.voted_for"] is None


def test_update_term_keeps_the_message_in_flight() -> None:
    """UpdateTerm changes the term and leaves ``messages`` unchanged (the Keep effect)."""
    m = Raft(servers=2, max_term=3)
    (s,) = m.initial_states()
    req = Envelope(1, 0, RequestVoteRequest(2, 0, 0))
    s = _put(m, s, req)
    t = _step(m, s, "deliver", src="s2", dst="s1")
    assert t is not None and t.nodes[0].current_term == 2 and t.nodes[0].voted_for is None
    assert m.in_flight(t) == [req]
    u = _step(m, t, "deliver", src="s2", dst="s1")
    assert u is not None and u.nodes[0].voted_for == 1
    assert m.in_flight(u) == [Envelope(0, 1, RequestVoteResponse(2, True))]


def test_a_follower_truncates_then_appends_then_acknowledges_one_entry_per_step() -> None:
    m = Raft(servers=2, max_term=3, max_log=2)
    (s,) = m.initial_states()
    s = _with(m, s, 0, current_term=3, log=(Entry(1, 0), Entry(2, 0)))
    req = Envelope(1, 0, AppendEntriesRequest(3, 1, 1, (Entry(3, 0),), 2))
    s = _put(m, s, req)
    t = _step(m, s, "deliver", src="s2", dst="s1")  # conflict: drop the last entry, keep the request
    assert t is not None and t.nodes[0].log == (Entry(1, 0),) and m.in_flight(t) == [req]
    u = _step(m, t, "deliver", src="s2", dst="s1")  # no conflict: append
    assert u is not None and u.nodes[0].log == (Entry(1, 0), Entry(3, 0)) and m.in_flight(u) == [req]
    v = _step(m, u, "deliver", src="s2", dst="s1")  # done: commit and acknowledge
    assert v is not None and v.nodes[0].commit_index == 2
    assert m.in_flight(v) == [Envelope(0, 1, AppendEntriesResponse(3, True, 2))]


def test_a_successor_beyond_the_bounds_is_no_state() -> None:
    """TLC's constraint: the timeout past --max-term, and a second copy past --max-copies, are not enabled."""
    m = Raft(servers=2, max_term=2)
    (s,) = m.initial_states()
    s = _with(m, s, 0, current_term=2)
    assert _step(m, s, "timeout", node="s1") is None
    assert _step(m, s, "timeout", node="s2") is not None
    s = _with(m, s, 0, role=CANDIDATE)
    sent = _step(m, s, "request_vote", node="s1", j="s2")
    assert sent is not None
    assert _step(m, sent, "request_vote", node="s1", j="s2") is None  # the same request again: 2 copies
    assert _step(m, sent, "duplicate") is None


def test_a_leader_commits_only_an_entry_of_its_term() -> None:
    m = Raft(servers=3, max_term=3, max_log=2)
    (s,) = m.initial_states()
    s = _with(m, s, 0, current_term=3, role=LEADER, log=(Entry(2, 0),), match_index=(0, 1, 0))
    t = _step(m, s, "advance_commit_index", node="s1")
    assert t is not None and t.nodes[0].commit_index == 0
    s = _with(m, s, 0, log=(Entry(2, 0), Entry(3, 0)), match_index=(0, 2, 0))
    t = _step(m, s, "advance_commit_index", node="s1")
    assert t is not None and t.nodes[0].commit_index == 2


def test_raft_actions_are_raft_tla_families() -> None:
    fams = Raft().action_families
    assert fams == [
        "server.restart", "server.timeout", "server.request_vote", "server.become_leader", "server.client_request",
        "server.advance_commit_index", "server.append_entries", "server.receive RequestVoteRequest",
        "server.receive RequestVoteResponse", "server.receive AppendEntriesRequest",
        "server.receive AppendEntriesResponse", "drop", "duplicate",
    ]
    assert isinstance(Raft().actions()[0], Action)


# ----- counts against the independent transliteration of raft.tla (tests/models/raft_tla.py) -----

#: (servers, values, max_term, max_log, max_copies) -> (distinct states, depth), as raft_tla.tla_raft gives.
RAFT_TLA = {
    (1, 1, 2, 1, 1): (36, 10),
    (1, 1, 2, 1, 2): (187, 16),
    (1, 2, 2, 2, 1): (122, 11),
    (1, 2, 3, 2, 1): (1774, 19),
}
RAFT_TLA_SLOW = {
    (1, 1, 3, 2, 2): (20842, 30),
    (2, 1, 2, 0, 1): (53253, 30),
}


def _counts(cfg: tuple[int, int, int, int, int]) -> tuple[str, int, int]:
    n, v, t, lg, c = cfg
    props = [p for p in ("election_safety", "log_matching", "leader_completeness", "state_machine_safety")]
    r = explore(Raft(servers=n, values=v, max_term=t, max_log=lg, max_copies=c), properties=props)
    return r.verdict, r.stats.distinct_states, r.stats.depth


@pytest.mark.parametrize("cfg", sorted(RAFT_TLA))
def test_raft_has_exactly_the_states_and_depth_of_raft_tla(cfg: tuple[int, int, int, int, int]) -> None:
    assert _counts(cfg) == (EXHAUSTED, *RAFT_TLA[cfg])
    assert RAFT_TLA[cfg] == tla_raft(*cfg)


@pytest.mark.slow
@pytest.mark.parametrize("cfg", sorted(RAFT_TLA_SLOW))
def test_raft_has_exactly_the_states_and_depth_of_raft_tla_at_larger_sizes(cfg: tuple[int, int, int, int, int]) -> None:
    assert _counts(cfg) == (EXHAUSTED, *RAFT_TLA_SLOW[cfg])
    assert RAFT_TLA_SLOW[cfg] == tla_raft(*cfg)


#: (servers, values, max_term, max_log, max_copies), (lossy, duplicating, restarts) -> (distinct states, depth):
#: raft.tla whose Next omits DropMessage / DuplicateMessage / Restart where the switch is False.
RAFT_TLA_SWITCHED = {
    ((1, 2, 3, 2, 1), (False, True, True)): (1684, 19),
    ((1, 2, 3, 2, 1), (True, True, False)): (481, 15),
    ((1, 2, 3, 2, 1), (False, False, False)): (463, 15),
    ((1, 1, 3, 2, 2), (True, False, True)): (6901, 27),
    ((1, 1, 3, 2, 2), (False, False, False)): (1532, 22),
}
RAFT_TLA_SWITCHED_SLOW = {
    ((1, 1, 3, 2, 2), (False, True, True)): (19705, 30),
    ((2, 1, 2, 0, 1), (False, False, False)): (10881, 27),
    ((2, 1, 2, 0, 1), (True, True, False)): (15895, 27),
}
Switches = tuple[bool, bool, bool]


def _switched(cfg: tuple[int, int, int, int, int], sw: Switches) -> tuple[str, int, int, tuple[int, int]]:
    n, v, t, lg, c = cfg
    lossy, dup, restarts = sw
    r = explore(Raft(servers=n, values=v, max_term=t, max_log=lg, max_copies=c, lossy=lossy, duplicating=dup,
                     restarts=restarts), properties=["election_safety"])
    tla = tla_raft(*cfg, drop=lossy, duplicate=dup, restart=restarts)
    return r.verdict, r.stats.distinct_states, r.stats.depth, tla


@pytest.mark.parametrize(("cfg", "sw"), sorted(RAFT_TLA_SWITCHED))
def test_raft_without_loss_duplication_or_restarts_has_the_states_of_raft_tla_without_them(
        cfg: tuple[int, int, int, int, int], sw: Switches) -> None:
    want = RAFT_TLA_SWITCHED[(cfg, sw)]
    assert _switched(cfg, sw) == (EXHAUSTED, *want, want)


@pytest.mark.slow
@pytest.mark.parametrize(("cfg", "sw"), sorted(RAFT_TLA_SWITCHED_SLOW))
def test_raft_without_loss_duplication_or_restarts_has_the_states_of_raft_tla_at_larger_sizes(
        cfg: tuple[int, int, int, int, int], sw: Switches) -> None:
    want = RAFT_TLA_SWITCHED_SLOW[(cfg, sw)]
    assert _switched(cfg, sw) == (EXHAUSTED, *want, want)


#: Three servers, cut at a depth (their whole spaces take minutes): (cfg, switches, depth) -> (distinct, depth).
RAFT_TLA_THREE = {
    ((3, 1, 2, 0, 1), (False, False, False), 6): (1130, 6),
    ((3, 1, 2, 1, 1), (True, True, True), 5): (719, 5),
}


@pytest.mark.parametrize(("cfg", "sw", "depth"), sorted(RAFT_TLA_THREE))
def test_three_servers_have_the_states_of_raft_tla_within_a_depth(cfg: tuple[int, int, int, int, int],
                                                                 sw: Switches, depth: int) -> None:
    n, v, t, lg, c = cfg
    lossy, dup, restarts = sw
    r = explore(Raft(servers=n, values=v, max_term=t, max_log=lg, max_copies=c, lossy=lossy, duplicating=dup,
                     restarts=restarts), max_depth=depth)
    want = RAFT_TLA_THREE[(cfg, sw, depth)]
    assert (r.verdict, r.stats.distinct_states, r.stats.depth) == (BOUNDED, *want)
    assert tla_raft(*cfg, drop=lossy, duplicate=dup, restart=restarts, max_depth=depth) == want


#: (servers, values, max_term, max_log, max_copies), (lossy, duplicating, restarts), max_messages ->
#: (distinct states, depth): raft.tla whose CONSTRAINT also bounds BagCardinality(messages).
RAFT_TLA_IN_FLIGHT = {
    ((1, 2, 3, 2, 1), (True, True, True), 1): (169, 14),
    ((1, 2, 3, 2, 2), (True, True, True), 2): (2300, 20),
    ((1, 1, 3, 2, 2), (True, True, True), 2): (859, 20),
    ((2, 1, 2, 0, 1), (True, True, True), 2): (7741, 22),
    ((2, 1, 2, 1, 1), (False, False, False), 2): (3576, 31),
    ((2, 1, 3, 1, 1), (False, False, False), 1): (2152, 35),
}


@pytest.mark.parametrize(("cfg", "sw", "most"), sorted(RAFT_TLA_IN_FLIGHT))
def test_raft_bounding_the_messages_in_flight_has_the_states_of_raft_tla_with_bag_cardinality_bounded(
        cfg: tuple[int, int, int, int, int], sw: Switches, most: int) -> None:
    n, v, t, lg, c = cfg
    r = explore(Raft(servers=n, values=v, max_term=t, max_log=lg, max_copies=c, lossy=sw[0], duplicating=sw[1],
                     restarts=sw[2], max_messages=most), properties=["election_safety"])
    want = RAFT_TLA_IN_FLIGHT[(cfg, sw, most)]
    assert (r.verdict, r.stats.distinct_states, r.stats.depth) == (EXHAUSTED, *want)
    assert tla_raft(*cfg, drop=sw[0], duplicate=sw[1], restart=sw[2], max_messages=most) == want


def test_a_bound_on_messages_in_flight_is_a_cli_option_and_none_leaves_the_space_unbounded() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["check", "raft", "--servers", "1", "--values", "2", "--max-term", "3", "--max-log", "2",
                     "--max-messages", "1", "--quiet", "--json"], out, err)
    got = json.loads(out.getvalue())
    assert code == 0 and (got["distinct_states"], got["depth"]) == RAFT_TLA_IN_FLIGHT[((1, 2, 3, 2, 1),
                                                                                         (True, True, True), 1)]
    assert Raft(servers=1, values=2, max_term=3, max_log=2).config.max_messages is None
    r = explore(Raft(servers=1, values=2, max_term=3, max_log=2, max_messages=None))
    assert (r.stats.distinct_states, r.stats.depth) == RAFT_TLA[(1, 2, 3, 2, 1)]
    for bad in ("-1", "65", "x"):
        code = cli.main(["check", "raft", "--max-messages", bad], io.StringIO(), err := io.StringIO())
        assert code == 2 and "--max-messages" in err.getvalue() and "Traceback" not in err.getvalue()


def test_switched_off_faults_leave_their_actions_out() -> None:
    fams = Raft(lossy=False, duplicating=False, restarts=False).action_families
    assert "drop" not in fams and "duplicate" not in fams and "server.restart" not in fams
    assert {"drop", "duplicate", "server.restart"} <= set(Raft().action_families)


def test_fault_switches_are_cli_flags_with_a_negated_form() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["check", "raft", "--servers", "1", "--values", "2", "--max-term", "3", "--max-log", "2",
                     "--no-restarts", "--lossy", "--duplicating", "false", "--quiet", "--json"], out, err)
    got = json.loads(out.getvalue())
    want = RAFT_TLA_SWITCHED[((1, 2, 3, 2, 1), (True, True, False))]
    assert code == 0 and (got["distinct_states"], got["depth"]) == want
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["check", "raft", "--servers", "1", "--no-lossy", "--no-duplicating", "--no-restarts",
                     "--values", "2", "--max-term", "3", "--max-log", "2", "--quiet", "--json"], out, err)
    got = json.loads(out.getvalue())
    want = RAFT_TLA_SWITCHED[((1, 2, 3, 2, 1), (False, False, False))]
    assert code == 0 and (got["distinct_states"], got["depth"]) == want


@pytest.mark.parametrize("max_term", [2, pytest.param(3, marks=pytest.mark.slow)])  # 970 states; 3: 10 s or more
def test_every_action_fires_and_every_example_is_reached(max_term: int) -> None:
    r = explore(Raft(servers=1, values=2, max_term=max_term, max_log=2, max_copies=2))
    assert r.verdict == EXHAUSTED and r.unreached() == []
    assert [f for f in r.stats.never_fired if f != "server.append_entries"] == []  # no peer to send to


# ----- symmetry --------------------------------------------------------------------------


def _orbits(model: Raft, graph_states: Any) -> int:
    t, n, v = model.state_type, model.config.servers, model.config.values
    return len({
        min(t.pack(t.permute(s, {"node": list(pn), "value": list(pv)}))
            for pn in itertools.permutations(range(n)) for pv in itertools.permutations(range(v)))
        for s in graph_states.values()
    })


def test_symmetry_over_values_counts_orbits() -> None:
    model = Raft(servers=1, values=2, max_term=3, max_log=2)
    full = explore(model, record_graph=10_000, properties=[])
    assert full.graph is not None and full.stats.distinct_states == 1774
    r = explore(model, symmetry=True)
    assert r.verdict == EXHAUSTED and r.stats.distinct_states == _orbits(model, full.graph.states) == 973


@pytest.mark.slow
def test_symmetry_over_servers_counts_orbits() -> None:
    model = Raft(servers=2, values=1, max_term=2, max_log=0)
    full = explore(model, record_graph=60_000, properties=[])
    assert full.graph is not None and full.stats.distinct_states == 53253
    r = explore(model, symmetry=True, properties=["election_safety", "log_matching"])
    assert r.verdict == EXHAUSTED and r.stats.distinct_states == _orbits(model, full.graph.states) == 26729


# ----- random runs -----------------------------------------------------------------------

SAFETY = ("election_safety", "log_matching", "leader_completeness", "state_machine_safety")


@settings(max_examples=25, deadline=None)
@given(max_entries=st.sampled_from([1, 2]), choices=st.lists(st.integers(0, 10_000), min_size=1, max_size=60))
def test_random_runs_of_three_servers_keep_every_invariant_and_refine_the_log(max_entries: int,
                                                                            choices: list[int]) -> None:
    model = Raft(servers=3, values=2, max_term=4, max_log=2, max_copies=2, max_entries=max_entries)
    (ref,) = model.refinements()
    spec_steps = {}
    s = model.initial_states()[0]
    for c in choices:
        succ = list(model.successors(s))
        if not succ:
            break
        t = succ[c % len(succ)][1]
        x, y = ref.mapping(s), ref.mapping(t)
        if x != y:
            if x not in spec_steps:
                spec_steps[x] = {u for _a, u in ref.abstract.successors(x)}
            assert y in spec_steps[x]
        s = t
        assert all(getattr(model, p)(s) for p in SAFETY)


# ----- batches of entries (max_entries > 1: the runtime's AppendEntries) ----------------------


def test_a_leader_sends_up_to_max_entries_and_a_follower_appends_them_in_one_step() -> None:
    m = Raft(servers=2, max_term=3, max_log=3, max_entries=2)
    (s,) = m.initial_states()
    log = (Entry(2, 0), Entry(2, 0), Entry(3, 0))
    s = _with(m, s, 0, current_term=3, role=LEADER, log=log, commit_index=1, next_index=(4, 1))
    s = _with(m, s, 1, current_term=3, log=(Entry(2, 0),))
    sent = _step(m, s, "append_entries", node="s1", j="s2")
    req = Envelope(0, 1, AppendEntriesRequest(3, 0, 0, log[:2], 1))
    assert sent is not None and m.in_flight(sent) == [req]
    t = _step(m, sent, "deliver", src="s1", dst="s2")  # the first entry is there: append the second
    assert t is not None and t.nodes[1].log == log[:2] and m.in_flight(t) == [req]
    u = _step(m, t, "deliver", src="s1", dst="s2")
    assert u is not None and u.nodes[1].commit_index == 1
    assert m.in_flight(u) == [Envelope(1, 0, AppendEntriesResponse(3, True, 2))]


def test_a_batch_whose_second_entry_conflicts_drops_the_followers_last_entry() -> None:
    m = Raft(servers=2, max_term=3, max_log=3, max_entries=2)
    (s,) = m.initial_states()
    s = _with(m, s, 1, current_term=3, log=(Entry(2, 0), Entry(2, 0), Entry(2, 0)))
    req = Envelope(0, 1, AppendEntriesRequest(3, 0, 0, (Entry(2, 0), Entry(3, 0)), 0))
    t = _step(m, _put(m, s, req), "deliver", src="s1", dst="s2")
    assert t is not None and t.nodes[1].log == (Entry(2, 0), Entry(2, 0)) and m.in_flight(t) == [req]


@pytest.mark.slow
def test_two_servers_with_batches_of_two_entries_break_no_invariant_within_a_bound() -> None:
    r = explore(Raft(servers=2, max_term=2, max_log=2, max_entries=2), properties=list(SAFETY),
                max_states=300_000)
    assert r.verdict in (EXHAUSTED, BOUNDED) and r.property is None


@pytest.mark.parametrize(("opt", "value"), [("servers", 0), ("max_term", 7), ("max_log", -1), ("max_entries", 0)])
def test_bad_parameters_are_rejected_naming_the_flag(opt: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"--{opt.replace('_', '-')} must be between"):
        Raft(**{opt: value})


def test_raft_is_checked_from_the_cli_with_its_bounds() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["check", "raft", "--servers", "1", "--values", "2", "--max-term", "3", "--max-log", "2",
                     "--quiet", "--json"], out, err)
    got = json.loads(out.getvalue())
    assert code == 0 and got["verdict"] == EXHAUSTED
    assert (got["distinct_states"], got["depth"]) == RAFT_TLA[(1, 2, 3, 2, 1)]


@pytest.mark.slow  # about 15 s; CI: three servers against Raft.tla within a depth, the bag bound at two servers
def test_three_servers_with_one_message_in_flight_have_the_states_of_raft_tla_exhausted() -> None:
    """The 3-server space is exhausted whole once BagCardinality(messages) <= 1 (about 7 s each side)."""
    r = explore(Raft(servers=3, values=1, max_term=2, max_log=0, max_copies=1, lossy=False, duplicating=False,
                     restarts=False, max_messages=1), properties=["election_safety"])
    assert (r.verdict, r.stats.distinct_states, r.stats.depth) == (EXHAUSTED, 61805, 39)
    assert tla_raft(3, 1, 2, 0, 1, drop=False, duplicate=False, restart=False, max_messages=1) == (61805, 39)
