"""Raft's planted bugs found by search, not only replayed: a variant at its default parameters,
with the search README "### Raft" documents: plain breadth-first search, ``check raft --variant V``,
where the variant's bounds let it reach the bug (then the path is a shortest one within them), else
seeded swarm walks (``--strategy swarm``: each walk leaves out random action kinds and weighs the rest),
whose path is then shortened by delta debugging.

The slow searches take minutes; the fast tests replay the path each one found (``raft_found_paths.py``,
from its ``--json`` output) and check that it breaks the property, where the correct Raft at the same
parameters refuses a step or keeps the property; the quickest search runs in full as a fast test.
"""

from __future__ import annotations

from typing import Any

import pytest

from protoproof.checker.constraint import predicate
from protoproof.checker.explore import explore
from protoproof.checker.path import Path, ReplayError, replay
from protoproof.checker.shorten import shorten
from protoproof.checker.verdict import BOUNDED, EXHAUSTED, VIOLATED
from protoproof.models.raft import Raft

from .raft_found_paths import BMC_CONSTRAINED, BMC_WAYPOINTS, CONSTRAINED, FOUND, SWARMED, WALKED

#: variant -> (the property its search finds broken, the search's options; {}: breadth-first search).
SEARCHES: dict[str, tuple[str, dict[str, Any]]] = {
    "stale-leader": ("election_safety", {}),
    "volatile-vote": ("election_safety", {}),
    "vote-without-log-check": ("leader_completeness", {}),  # 25 steps, depth 24 expanded: minutes
    "no-prev-check": ("state_machine_safety", {}),  # 29 steps, depth 28 expanded: minutes
    # 51 steps under a driver (``check --constraint``): plain BFS reaches depth 16 of them in 2 minutes
    "figure-8": ("leader_completeness", {"constraint": CONSTRAINED["figure-8"][0]}),
}
#: Quicker searches than breadth-first that find a longer path (README's table), variant -> options.
SWARM: dict[str, dict[str, Any]] = {
    # seed 0: 41 steps, shortened to 31; shorten's budget generous so load cannot cut it
    "no-prev-check": {"strategy": "swarm", "walk_fresh": True, "walks": 1_000_000, "walk_depth": 60,
                      "shorten": 120.0},
}
#: The searches that finish in about a second (measured under load: 0.4 s).
FAST = ("stale-leader",)
# figure-8: README "### Raft" gives the searches tried and what they reached; BFS finds it under a
# user constraint (CONSTRAINED); test_raft_bugs.py shows it by a written scenario too.


def _variant(name: str) -> Raft:
    m = Raft.variants_of()[name]()  # at its own default parameters
    assert isinstance(m, Raft)
    return m


def _search(model: Raft, timeout: float, prop: str, **opts: Any) -> Any:
    return explore(model, timeout=timeout, properties=[prop], **opts)


@pytest.mark.parametrize("variant,found", [*((v, FOUND) for v in sorted(FOUND)),
                                           *((v, SWARMED) for v in sorted(SWARMED))])
def test_the_path_its_search_found_breaks_the_property_at_its_last_step(variant: str,
                                                                        found: dict[str, list[str]]) -> None:
    _breaks_at_its_end_where_raft_does_not(variant, found[variant])


def _breaks_at_its_end_where_raft_does_not(variant: str, actions: list[str]) -> Path:
    """The variant's run of ``actions``, checked: its property fails at the last state only, and the
    correct Raft at the same parameters refuses a step or keeps the property."""
    prop, _search_opts = SEARCHES[variant]
    buggy = _variant(variant)
    assert prop in buggy.breaks
    path = replay(buggy, actions)
    check = getattr(buggy, prop)
    assert all(check(s) for s in path.states[:-1]) and not check(path.last)
    try:
        state = replay(Raft(buggy.config), actions).last
    except ReplayError:
        return path  # the correct Raft cannot take these steps
    assert getattr(Raft(buggy.config), prop)(state)
    return path


@pytest.mark.parametrize("variant", sorted(WALKED))
def test_a_walks_counterexample_shortens_to_a_run_that_still_breaks_the_property(variant: str) -> None:
    prop, _opts = SEARCHES[variant]
    buggy = _variant(variant)
    walked = replay(buggy, WALKED[variant])
    short = shorten(buggy, walked, prop, 60.0)  # 0.3 s measured under load
    assert len(short) <= 25 < len(walked)  # the written scenario's length, from the walk's 35
    again = replay(buggy, short.actions)
    assert again.violation(prop) is not None and all(getattr(buggy, prop)(s) for s in again.states[:-1])


@pytest.mark.parametrize("variant", FAST)
def test_breadth_first_search_finds_the_planted_bug_by_its_shortest_path(variant: str) -> None:
    prop, opts = SEARCHES[variant]
    r = _search(_variant(variant), 60.0, prop, **opts)
    assert r.verdict == VIOLATED and r.property == prop
    assert r.path is not None and len(r.path.actions) == len(FOUND[variant])


@pytest.mark.parametrize("variant", FAST)
def test_the_correct_raft_at_a_variants_defaults_is_exhausted_without_a_violation(variant: str) -> None:
    prop, opts = SEARCHES[variant]
    r = _search(Raft(_variant(variant).config), 60.0, prop, **opts)
    assert r.verdict == EXHAUSTED and r.property is None


@pytest.mark.parametrize("variant", sorted(FOUND))
def test_the_correct_raft_at_a_variants_defaults_is_not_found_violating_by_a_short_search(variant: str) -> None:
    prop, opts = SEARCHES[variant]
    share = {**opts, "max_states": 5_000}  # a CI-sized share of the search
    r = _search(Raft(_variant(variant).config), 60.0, prop, **share)
    assert r.verdict in (BOUNDED, EXHAUSTED) and r.property is None


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(FOUND))
def test_the_documented_search_finds_the_planted_bug(variant: str) -> None:
    prop, opts = SEARCHES[variant]
    r = _search(_variant(variant), 2400.0, prop, **opts)  # no-prev-check: 882 s wall under load
    assert r.verdict == VIOLATED and r.property == prop, r.verdict  # the one README names
    assert r.path is not None and not getattr(r.model, r.property)(r.path.last)
    # breadth-first (a shortest path), the novelty search and seeded walks are deterministic: the path recorded
    assert r.path.action_reprs() == FOUND[variant]


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(FOUND))
def test_the_documented_search_finds_nothing_in_the_correct_raft(variant: str) -> None:
    prop, opts = SEARCHES[variant]
    r = _search(Raft(_variant(variant).config), 300.0, prop, **opts)
    assert r.verdict in (BOUNDED, EXHAUSTED) and r.property is None


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(SWARM))
def test_swarm_walks_find_the_planted_bug_by_the_recorded_path(variant: str) -> None:
    prop, _bfs = SEARCHES[variant]
    r = _search(_variant(variant), 1200.0, prop, **SWARM[variant])
    assert r.verdict == VIOLATED and r.property == prop, r.verdict
    assert r.path is not None and r.path.action_reprs() == SWARMED[variant]  # seeded: deterministic


@pytest.mark.parametrize("variant", sorted(CONSTRAINED))
def test_the_path_found_under_a_constraint_keeps_it_and_breaks_the_property_only_at_its_end(variant: str) -> None:
    from protoproof.checker.constraint import predicate

    text, actions = CONSTRAINED[variant]
    _prop, opts = SEARCHES[variant]
    assert opts["constraint"] == text
    path = _breaks_at_its_end_where_raft_does_not(variant, actions)  # the model's own steps
    allowed = predicate(path.model, text)
    assert all(allowed(s) for s in path.states)  # the constraint only chose among them


@pytest.mark.parametrize("variant", sorted(BMC_CONSTRAINED))
def test_the_path_bmc_found_under_a_constraint_keeps_it_and_breaks_the_property_at_its_shortest_length(
        variant: str) -> None:
    from protoproof.checker.constraint import predicate

    text, actions = BMC_CONSTRAINED[variant]
    path = _breaks_at_its_end_where_raft_does_not(variant, actions)
    allowed = predicate(path.model, text)
    assert all(allowed(s) for s in path.states)
    if variant in FOUND:  # breadth-first search without the constraint: no shorter path exists at all
        assert len(actions) == len(FOUND[variant])


@pytest.mark.parametrize("variant", sorted(BMC_WAYPOINTS))
def test_the_path_bmc_found_through_waypoints_keeps_the_constraint_passes_each_in_order_and_breaks_at_its_end(
        variant: str) -> None:
    text, ways, actions = BMC_WAYPOINTS[variant]
    path = _breaks_at_its_end_where_raft_does_not(variant, actions)
    allowed = predicate(path.model, text)
    assert all(allowed(s) for s in path.states)
    k = 0
    for w in ways:  # each waypoint holds at some state, after the previous one's
        ok = predicate(path.model, w, "--waypoint")
        k = next(i for i in range(k, len(path.states)) if ok(path.states[i]))
    assert k < len(path.states) - 1  # the last waypoint before the violation


@pytest.mark.parametrize("variant", sorted(CONSTRAINED))
def test_a_constrained_search_that_sees_all_it_may_is_bounded_where_the_plain_one_is_exhausted(variant: str) -> None:
    _prop, opts = SEARCHES[variant]
    small = Raft(servers=2, max_term=3, max_log=0, max_messages=1, lossy=False, duplicating=False, restarts=False)
    plain = explore(small, properties=["election_safety"])
    assert plain.verdict == EXHAUSTED
    two_servers = opts["constraint"].replace("s.nodes[1]", "s.nodes[0]")  # s1 only votes
    r = explore(small, properties=["election_safety"], constraint=two_servers)
    assert r.verdict == BOUNDED and r.property is None and r.constraint is not None
    assert 0 < r.stats.distinct_states < plain.stats.distinct_states


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(CONSTRAINED))
def test_breadth_first_search_under_the_constraint_finds_the_recorded_path(variant: str) -> None:
    prop, opts = SEARCHES[variant]
    r = _search(_variant(variant), 2400.0, prop, **opts)  # figure-8: about 5 minutes on a quiet core
    assert r.verdict == VIOLATED and r.property == prop, r.verdict
    assert r.path is not None and r.path.action_reprs() == CONSTRAINED[variant][1]
