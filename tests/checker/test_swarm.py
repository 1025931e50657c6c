"""Swarm walks (``--strategy swarm``, ``Swarm`` in checker/frontiers.py): each walk leaves out a
random set of action kinds and weighs the rest, so some walks never take an always-enabled step that
undoes progress; they find the planted bugs breadth-first search finds, are reproducible from the
seed, and finding nothing is ``bounded``, never ``exhausted``, even where every state was visited."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protoproof.checker.explore import explore
from protoproof.checker.frontiers import Swarm, kind
from protoproof.checker.verdict import BOUNDED, VIOLATED
from protoproof.models.base import Action, Model
from protoproof.models.twophase import TwoPhase

from .climb import Climb
from .planted import BUGS, finds_what_breadth_first_search_finds
from .test_explore import lit


@pytest.mark.parametrize(("cls", "variant"), BUGS, ids=[v for _c, v in BUGS])
def test_swarm_walks_find_a_planted_bug_breadth_first_search_finds(cls: type[Model[Any]], variant: str) -> None:
    finds_what_breadth_first_search_finds(cls, variant, strategy="swarm", walks=3000, walk_depth=40)


def test_swarm_walks_that_find_nothing_are_bounded_even_when_they_saw_every_state() -> None:
    small = lit("0a1 1a2 2b0")
    assert explore(small).verdict == "exhausted"
    r = explore(small, strategy="swarm", walks=50, walk_depth=10)
    assert r.stats.distinct_states == 3
    assert r.verdict == BOUNDED and r.bound == "50 swarm walks of depth 10" and r.property is None
    assert explore(TwoPhase(), strategy="swarm", walks=200, walk_depth=30).verdict == BOUNDED


def test_swarm_walks_climb_where_steps_that_undo_progress_defeat_plain_walks() -> None:
    # x must climb to 24 in at most 40 steps, with ``down`` and ``wiggle`` (always enabled, like a
    # timeout) beside ``up``: a plain walk drifts nowhere; a swarm walk that left ``down`` out climbs
    # (measured on 300 seeds of one walk: 21% of swarm walks reached the top, no plain walk did).
    for seed in range(3):
        sw = explore(Climb(top=24), strategy="swarm", seed=seed, walks=30, walk_depth=40, properties=["below_top"])
        assert sw.verdict == VIOLATED and sw.path is not None and sw.path.last.x == 24
        plain = explore(Climb(top=24), strategy="random", seed=seed, walks=30, walk_depth=40,
                        properties=["below_top"])
        assert plain.verdict == BOUNDED


def test_swarm_walks_are_reproducible_from_the_seed() -> None:
    runs = [explore(TwoPhase.variants_of()["commit-on-majority"](), strategy="swarm", seed=s, walks=3000,
                    walk_depth=40, shorten=0) for s in (5, 5, 6)]
    assert all(r.verdict == VIOLATED and r.path is not None for r in runs)
    paths = [r.path.action_reprs() for r in runs if r.path is not None]
    assert paths[0] == paths[1] and paths[0] != paths[2]


def _steps(*names: str) -> list[tuple[Action, int]]:
    return [(Action(n, (("node", "s1"),), family=i), 10 + i) for i, n in enumerate(names)]


def test_a_left_out_kind_is_taken_only_where_nothing_else_is_enabled() -> None:
    w = Swarm(0, 1, 5, [0])
    assert w.pop() == (0, 0)
    steps = _steps("timeout", "deliver")
    w.weights = {kind(steps[0][0]): 0.0, kind(steps[1][0]): 1.0}
    for _ in range(20):
        w.successors(0, [], [c for _a, c in steps], steps)
        assert w.pop() == (11, 1)
    w.successors(0, [], [10], steps[:1])  # only the left-out kind is enabled
    assert w.pop() == (10, 1)


def test_a_kinds_weight_holds_for_the_whole_walk_and_is_drawn_again_for_the_next() -> None:
    w = Swarm(3, 50, 2, [0])
    steps = _steps("timeout", "deliver", "request")
    seen = []
    for _ in range(50):
        assert w.pop() == (0, 0)
        w.successors(0, [], [c for _a, c in steps], steps)
        first = dict(w.weights)
        w.pop()
        w.successors(1, [], [c for _a, c in steps], steps)
        assert w.weights == first  # the same configuration within a walk
        w.pop()
        w.successors(2, [], [c for _a, c in steps], steps)  # at the walk's depth: it ends
        seen.append(tuple(sorted(first.values())))
    assert len(set(seen)) > 10 and any(0.0 in s for s in seen) and any(0.0 not in s for s in seen)


def test_a_change_point_draws_a_new_configuration_within_the_walk() -> None:
    w = Swarm(1, 1, 3, [0], changes=2)  # change points at depths 1 and 2: the only two there are
    steps = _steps("timeout", "deliver", "request")
    assert w.pop() == (0, 0) and w.change_at == {1, 2}
    w.successors(0, [], [c for _a, c in steps], steps)
    first = dict(w.weights)
    w.pop()
    w.successors(1, [], [c for _a, c in steps], steps)
    assert w.weights != first


def test_an_actions_kind_is_its_family_with_its_scalar_arguments_not_its_message() -> None:
    a = Action("deliver", (("src", "s1"), ("dst", "s2"), ("msg", ("RequestVote", 2))), family=6)
    b = Action("deliver", (("src", "s1"), ("dst", "s2"), ("msg", ("RequestVote", 3))), family=6)
    assert kind(a) == kind(b) == (6, "s1", "s2")
    assert kind(Action("timeout", (("node", "s1"),), family=0)) != kind(Action("timeout", (("node", "s2"),)))


def test_the_command_line_runs_swarm_walks_and_says_bounded_when_they_find_nothing() -> None:
    from protoproof.tests.test_cli import run

    code, out, _ = run("check", "twophase", "--variant", "commit-on-majority", "--strategy", "swarm", "--walks", "500",
                       "--walk-depth", "20", "--json")
    d = json.loads(out)
    assert code == 1 and d["strategy"] == "swarm" and d["verdict"] == "violated"
    code, out, _ = run("check", "twophase", "--strategy", "swarm", "--walks", "50", "--walk-depth", "20")
    assert code == 3 and "BOUNDED: no violation found within 50 swarm walks of depth 20" in out
