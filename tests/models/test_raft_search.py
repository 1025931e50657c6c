"""Raft's planted bugs found by search, not only replayed: each variant at its default parameters,
with the search README "### Raft" documents (a seeded random walk that prefers unseen states:
breadth-first search does not reach these depths in minutes on this machine).

The searches take minutes (slow); the fast tests replay the path each one found
(``raft_found_paths.py``, from its ``--json`` output) and check that it breaks the property,
where the correct Raft at the same parameters refuses a step or keeps the property.
"""

from __future__ import annotations

from typing import Any

import pytest

from protoproof.checker.explore import explore
from protoproof.checker.path import ReplayError, replay
from protoproof.checker.verdict import BOUNDED, VIOLATED
from protoproof.models.raft import Raft

from .raft_found_paths import FOUND

#: variant -> (the property its search finds broken, the search: ``check --strategy random --walk-fresh ...``).
SEARCHES: dict[str, tuple[str, dict[str, Any]]] = {
    "stale-leader": ("election_safety", {"seed": 0, "walks": 1_000_000, "walk_depth": 40}),
    "volatile-vote": ("election_safety", {"seed": 0, "walks": 1_000_000, "walk_depth": 30}),
    "vote-without-log-check": ("leader_completeness", {"seed": 0, "walks": 1_000_000, "walk_depth": 36}),
    "no-prev-check": ("log_matching", {"seed": 0, "walks": 1_000_000, "walk_depth": 50}),
    "figure-8": ("leader_completeness", {"seed": 0, "walks": 1_000_000, "walk_depth": 60}),
}


def _variant(name: str) -> Raft:
    m = Raft.variants_of()[name]()  # at its own default parameters
    assert isinstance(m, Raft)
    return m


def _search(model: Raft, timeout: float, **budget: Any) -> Any:
    return explore(model, strategy="random", walk_fresh=True, timeout=timeout, **budget)


@pytest.mark.parametrize("variant", sorted(FOUND))
def test_the_path_its_search_found_breaks_the_property_at_its_last_step(variant: str) -> None:
    prop, _search_opts = SEARCHES[variant]
    buggy = _variant(variant)
    assert prop in buggy.breaks
    path = replay(buggy, FOUND[variant])
    check = getattr(buggy, prop)
    assert all(check(s) for s in path.states[:-1]) and not check(path.last)
    try:
        state = replay(Raft(buggy.config), FOUND[variant]).last
    except ReplayError:
        return  # the correct Raft cannot take these steps
    assert getattr(Raft(buggy.config), prop)(state)


@pytest.mark.parametrize("variant", sorted(FOUND))
def test_the_correct_raft_at_a_variants_defaults_is_not_found_violating_by_a_short_search(variant: str) -> None:
    _prop, opts = SEARCHES[variant]
    r = _search(Raft(_variant(variant).config), 60.0, **{**opts, "walks": 50})  # a CI-sized share of the budget
    assert r.verdict == BOUNDED and r.property is None


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(FOUND))
def test_the_documented_search_finds_the_planted_bug(variant: str) -> None:
    prop, opts = SEARCHES[variant]
    r = _search(_variant(variant), 900.0, **opts)
    assert r.verdict == VIOLATED and r.property in _variant(variant).breaks, r.verdict
    assert r.path is not None and not getattr(r.model, r.property)(r.path.last)
    assert r.property == prop  # the one README names


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(FOUND))
def test_the_documented_search_finds_nothing_in_the_correct_raft(variant: str) -> None:
    _prop, opts = SEARCHES[variant]
    r = _search(Raft(_variant(variant).config), 300.0, **opts)
    assert r.verdict == BOUNDED and r.property is None
