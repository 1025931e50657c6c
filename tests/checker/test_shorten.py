"""Shortening a non-BFS counterexample (checker/shorten.py): the result is a real run from the same
initial state that breaks the same property, never longer, and 1-minimal on a toy model."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.explore import explore
from protoproof.checker.path import Path, ReplayError, replay
from protoproof.checker.shorten import shorten
from protoproof.checker.verdict import VIOLATED
from protoproof.models.base import Action

from .climb import Climb


def _run(model: Climb, moves: list[str]) -> Path:
    """The run of ``moves`` (names of actions), skipping the disabled ones, up to the top."""
    by_name = {a.name: a for a in model.actions()}
    states, acts = [model.initial_states()[0]], []
    for name in moves:
        t = model.step(states[-1], by_name[name])
        if t is None:
            continue
        states.append(t)
        acts.append(by_name[name])
        if not model.below_top(t):
            break
    return Path(model, states, acts)


def _removable(model: Climb, path: Path, prop: str) -> list[int]:
    """The steps of ``path`` that can be dropped one at a time, the rest still replaying to a violation."""
    out = []
    for k in range(len(path.actions)):
        rest: list[Action] = path.actions[:k] + path.actions[k + 1:]
        try:
            p = replay(model, rest)
        except ReplayError:
            continue
        if p.violation(prop) is not None:
            out.append(k)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["up", "down", "wiggle"]), max_size=40), st.integers(1, 6))
def test_a_shortened_counterexample_is_a_shorter_run_that_breaks_the_same_property(moves: list[str], top: int) -> None:
    model = Climb(top=top)
    path = _run(model, [*moves, *["up"] * top])  # it reaches the top at last
    assert path.violation("below_top") is not None
    short = shorten(model, path, "below_top", 30.0)
    again = replay(model, short.actions)  # a real run from the same initial state
    assert again.states[0] == path.states[0]
    assert again.violation("below_top") is not None
    assert len(short) <= len(path)
    assert len(short) == top  # 1-minimal here is shortest: only ups remain
    assert _removable(model, short, "below_top") == []


def test_shortening_keeps_the_property_the_search_reported() -> None:
    model = Climb(top=3)
    path = _run(model, ["wiggle", "up", "wiggle", "down", "up", "up", "wiggle", "up"])
    short = shorten(model, path, "below_top", 30.0)
    assert [a.name for a in short.actions] == ["up"] * 3
    assert short.violation("below_top") is not None


def test_a_path_that_does_not_break_the_property_is_returned_unchanged() -> None:
    model = Climb(top=3)
    path = _run(model, ["wiggle", "up"])  # breaks nothing
    assert shorten(model, path, "below_top", 30.0) is path


def test_a_random_walks_counterexample_is_shortened_and_says_so() -> None:
    r = explore(Climb(top=5), strategy="random", seed=3, walks=200, walk_depth=60, properties=["below_top"])
    assert r.verdict == VIOLATED and r.property == "below_top" and r.path is not None
    assert r.shortened_from is not None and r.shortened_from >= len(r.path) == 5
    assert r.path.violation("below_top") is not None


def test_breadth_first_and_shorten_off_leave_the_counterexample_alone() -> None:
    bfs = explore(Climb(top=5), properties=["below_top"])
    assert bfs.shortened_from is None and bfs.path is not None and len(bfs.path) == 5
    off = explore(Climb(top=5), strategy="random", seed=3, walks=200, walk_depth=60, properties=["below_top"],
                  shorten=0.0)
    assert off.shortened_from is None and off.path is not None
    assert off.path.violation("below_top") is not None

