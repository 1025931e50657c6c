"""The novelty search (``--strategy novelty``, IW(k) in checker/frontiers.py): it finds planted bugs
that breadth-first search finds, checks the states it does not expand, and is ``bounded`` whenever it
pruned a state -- ``exhausted`` only when it expanded everything, as breadth-first search does."""

from __future__ import annotations

from typing import Any

import pytest

from protoproof.checker.explore import explore
from protoproof.checker.verdict import BOUNDED, EXHAUSTED, VIOLATED
from protoproof.models.base import Model
from protoproof.models.raft import Raft

from .climb import Climb
from .planted import BUGS, finds_what_breadth_first_search_finds


@pytest.mark.parametrize(("cls", "variant"), BUGS, ids=[v for _c, v in BUGS])
def test_the_novelty_search_finds_a_planted_bug_breadth_first_search_finds(cls: type[Model[Any]], variant: str) -> None:
    finds_what_breadth_first_search_finds(cls, variant, strategy="novelty")


def test_a_state_the_novelty_search_does_not_expand_is_still_checked() -> None:
    # Width 1: (1, 1) makes neither x=1 nor y=1 new once (1, 0) and (0, 1) were generated.
    r = explore(Climb(top=4, bad=(1, 1)), strategy="novelty", width=1, properties=["not_bad"])
    assert r.verdict == VIOLATED and r.property == "not_bad"
    assert r.path is not None and r.path.last == (1, 1)


def test_a_novelty_search_that_pruned_a_state_is_bounded_never_exhausted() -> None:
    r = explore(Climb(top=4), strategy="novelty", width=1, properties=["not_bad"])
    assert r.verdict == BOUNDED and r.bound is not None and "novelty" in r.bound
    assert r.stats.distinct_states < explore(Climb(top=4), properties=["not_bad"]).stats.distinct_states
    correct = Raft(servers=2, max_term=2, max_log=0, max_messages=1, lossy=False, duplicating=False, restarts=False)
    r = explore(correct, strategy="novelty", properties=["election_safety"])
    assert r.verdict == BOUNDED and r.property is None


def test_a_novelty_search_that_pruned_nothing_is_exhausted_like_breadth_first_search() -> None:
    # Width 2 on two components: a new pair is a new state, so nothing is pruned.
    iw = explore(Climb(top=4), strategy="novelty", width=2, properties=["not_bad"])
    bfs = explore(Climb(top=4), properties=["not_bad"])
    assert iw.verdict == bfs.verdict == EXHAUSTED
    assert iw.stats.distinct_states == bfs.stats.distinct_states


def test_a_width_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="width"):
        explore(Climb(top=2), strategy="novelty", width=0)
