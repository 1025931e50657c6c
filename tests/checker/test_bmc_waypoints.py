"""``bmc --waypoint``: BMC leg by leg, from one waypoint's state to the next.

A violation must be a replayed run that passes through every waypoint and says it is not proved
shortest; a leg that reaches nothing must end ``unknown``, never ``bounded``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.bmc import bmc
from protoproof.checker.constraint import predicate
from protoproof.checker.path import replay
from protoproof.checker.verdict import BOUNDED, UNKNOWN, VIOLATED
from protoproof.models.base import Model, always, sometimes, transition
from protoproof.models.schema import Int, Record
from protoproof.models.twophase import TwoPhase

BUGGY = TwoPhase.variants_of()["commit-on-majority"]  # shortest violation of atomicity: 7 steps
SOLVERS = ["z3", "cadical"]
TWO_VOTES = "len(s.nodes[3].prepared) == 2"  # the TM holds two votes: 4 steps in
NEVER = "len(s.nodes[3].prepared) == 4"  # three RMs: never


def _atomicity_broken(s: object) -> bool:
    atomicity = next(p for p in BUGGY().properties if p.name == "atomicity")
    return not atomicity.fn(s)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("once", [False, True], ids=["depth-by-depth", "one-query"])
def test_a_waypoint_reaches_a_violation_deeper_than_the_depth(solver: str, once: bool) -> None:
    """Depth 4 alone is bounded; 4 steps to the waypoint, then 3 to the violation, are two legs of
    at most 4 (with ``one_query``, each leg one query for every depth up to 4)."""
    assert bmc(BUGGY(), 4, ["atomicity"], tie=0, solver=solver).verdict == BOUNDED
    r = bmc(BUGGY(), 4, ["atomicity"], tie=0, solver=solver, waypoints=[TWO_VOTES], one_query=once)
    assert r.verdict == VIOLATED and r.path is not None and len(r.path) > 4
    assert r.waypoint_steps == [4] and r.one_query is once
    assert replay(BUGGY(), r.path.action_reprs()).states == r.path.states
    assert _atomicity_broken(r.path.last)
    head = r.to_lines()[0]
    assert "found through 1 waypoint" in head and "not proved shortest" in head
    js = r.to_json()
    assert js["shortest"] is False and js["waypoints"] == [{"expression": TWO_VOTES, "step": 4}]


class _AB(NamedTuple):
    a: int
    b: int


class _Backtrack(Model[_AB]):
    """``a`` counts up while ``b`` is 0, then ``b`` counts up; the violation is a == 2 and b == 3.
    Waypoint "b == 1" is first reached at (1, 1), from which a stays 1: the search must go back
    and take (2, 1), one step deeper."""

    def schema(self) -> Record:
        return Record(_AB, a=Int(0, 2), b=Int(0, 3))

    def init(self) -> list[_AB]:
        return [_AB(0, 0)]

    @transition()
    def inc_a(self, s: _AB) -> _AB | None:
        return _AB(s.a + 1, s.b) if s.b == 0 and s.a < 2 else None

    @transition()
    def inc_b(self, s: _AB) -> _AB | None:
        return _AB(s.a, s.b + 1) if s.a != 0 and s.b < 3 else None

    @always
    def not_both_full(self, s: _AB) -> bool:
        return not (s.a == 2 and s.b == 3)

    @sometimes
    def moved(self, s: _AB) -> bool:
        return s.a > 0


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_leg_that_reaches_nothing_sends_the_search_back_for_another_state(solver: str) -> None:
    ways = ["s.a != 0", "s.b == 1"]
    r = bmc(_Backtrack(), 3, tie=0, solver=solver, waypoints=ways)
    assert r.verdict == VIOLATED and r.path is not None and r.path.last == _AB(2, 3)
    assert r.waypoint_steps == [1, 3]  # (1, 0) at step 1; then (2, 1), not the first-found (1, 1)
    assert [r.path.states[k] for k in r.waypoint_steps] == [_AB(1, 0), _AB(2, 1)]
    stuck = bmc(_Backtrack(), 3, tie=0, solver=solver, waypoints=ways, waypoint_tries=0)
    assert stuck.verdict == UNKNOWN and stuck.path is None
    assert "no violation was found within 3 steps of the state of waypoint 2 (step 2)" in stuck.reason


@pytest.mark.parametrize("solver", SOLVERS)
def test_each_waypoint_holds_at_the_step_the_result_names(solver: str) -> None:
    ways = ["len(s.nodes[3].prepared) == 1", TWO_VOTES]
    r = bmc(BUGGY(), 3, ["atomicity"], tie=0, solver=solver, waypoints=ways)
    assert r.verdict == VIOLATED and r.path is not None and r.waypoint_steps == [2, 4]
    assert r.shortened_from is None  # 7 steps, the shortest: each state below is the legs' own
    for w, k in zip(ways, r.waypoint_steps, strict=True):
        ok = predicate(BUGGY(), w, "--waypoint")
        assert ok(r.path.states[k]) and not any(ok(s) for s in r.path.states[:k])  # shortest legs: first there
    lines = "\n".join(r.to_lines())
    for i, w in enumerate(ways):
        assert f"waypoint {i + 1} ({w}): step {r.waypoint_steps[i]}" in lines


@settings(max_examples=10, deadline=None)
@given(depth=st.integers(0, 9), solver=st.sampled_from(SOLVERS))
def test_a_waypoint_every_state_satisfies_is_plain_bmc_from_the_initial_state(depth: int, solver: str) -> None:
    """``True`` is reached at step 0, so the last leg is depth-by-depth BMC from the one initial
    state: the same verdict, the same shortest length -- or ``unknown`` where BMC says ``bounded``
    (with no second try: a second try would start from another state)."""
    plain = bmc(BUGGY(), depth, ["atomicity"], tie=0, solver=solver)
    way = bmc(BUGGY(), depth, ["atomicity"], tie=0, solver=solver, waypoints=["True"], waypoint_tries=0)
    assert way.waypoint_steps == [0]
    if plain.verdict == VIOLATED:
        assert way.verdict == VIOLATED and way.path is not None and plain.path is not None
        assert len(way.path) == len(plain.path)
    else:
        assert plain.verdict == BOUNDED and way.verdict == UNKNOWN and way.path is None
        assert f"no violation was found within {depth} steps of the state of waypoint 1" in way.reason


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_missed_waypoint_is_unknown_never_bounded(solver: str) -> None:
    r = bmc(BUGGY(), 2, ["atomicity"], tie=0, solver=solver, waypoints=[TWO_VOTES])
    assert r.verdict == UNKNOWN and r.path is None and r.waypoint_steps == []
    assert "waypoint 1 ('len(s.nodes[3].prepared) == 2') was not reached within 2 steps" in r.reason
    assert "proves nothing" in r.reason
    assert any(line.endswith("): not reached") for line in r.to_lines())


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_violation_before_the_waypoint_ends_the_search(solver: str) -> None:
    r = bmc(BUGGY(), 7, ["atomicity"], tie=0, solver=solver, waypoints=[NEVER])
    assert r.verdict == VIOLATED and r.path is not None and len(r.path) == 7 and r.waypoint_steps == []
    assert _atomicity_broken(r.path.last)


def test_an_interrupted_waypoint_search_is_unknown() -> None:
    def stop(line: str) -> None:
        if line.startswith("leg 2"):
            raise KeyboardInterrupt

    r = bmc(BUGGY(), 4, ["atomicity"], tie=0, waypoints=[TWO_VOTES], progress=stop)
    assert r.verdict == UNKNOWN and "interrupted" in r.reason and "leg 2 of 2" in r.reason
    assert r.waypoint_steps == [4]


@pytest.mark.parametrize("solver", SOLVERS)
def test_one_query_legs_exclude_the_states_tried_and_go_back_as_depth_by_depth_does(solver: str) -> None:
    """With ``one_query`` a leg's run may end anywhere up to the depth: the search still cuts it at
    the first state that is new for the waypoint, and a miss still sends it back; ``b`` only grows,
    so whichever state for "a != 0" it takes first, the one it keeps is (2, 0) or one from it."""
    r = bmc(_Backtrack(), 5, tie=0, solver=solver, waypoints=["s.a != 0", "s.b == 1"], one_query=True)
    assert r.verdict == VIOLATED and r.path is not None and r.path.last == _AB(2, 3)
    at = [r.path.states[k] for k in r.waypoint_steps] if r.shortened_from is None else None
    assert at is None or (at[0].a != 0 and at[1] == _AB(2, 1))
    assert "each leg one query" in r.to_lines()[0]
    # within 4 steps the violation (5 steps) is out of leg 1's reach, and from (1, 1) out of all reach
    stuck = bmc(_Backtrack(), 4, tie=0, solver=solver, waypoints=["s.a == 1 and s.b == 1"], one_query=True,
                waypoint_tries=0)
    assert stuck.verdict == UNKNOWN and stuck.waypoint_steps == [2]
    assert "no violation was found within 4 steps of the state of waypoint 1" in stuck.reason


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "protoproof", *argv], capture_output=True, text=True, timeout=300)


def test_the_cli_searches_through_waypoints_and_writes_them_in_json() -> None:
    p = _cli("bmc", "twophase", "--variant", "commit-on-majority", "--depth", "4", "--waypoint", TWO_VOTES, "--json")
    assert p.returncode == 1, p.stderr
    js = json.loads(p.stdout)
    assert js["verdict"] == VIOLATED and js["waypoints"] == [{"expression": TWO_VOTES, "step": 4}]
    assert js["shortest"] is False and len(js["path"]) == 8


@pytest.mark.parametrize("argv, message", [
    (["--engine", "pdr"], "--waypoint: only for --engine bmc (pdr does not unroll)"),
    (["--depth", "3", "--waypoint-tries", "-1"], "argument --waypoint-tries: expected a whole number, not '-1'"),
])
def test_the_cli_refuses_waypoints_where_they_mean_nothing_in_one_line(argv: list[str], message: str) -> None:
    p = _cli("bmc", "twophase", *argv, "--waypoint", TWO_VOTES)
    assert p.returncode == 2 and p.stderr.strip().splitlines()[-1].endswith(message), p.stderr
    assert "Traceback" not in p.stderr


def test_waypoint_tries_without_a_waypoint_is_refused_in_one_line() -> None:
    p = _cli("bmc", "twophase", "--depth", "3", "--waypoint-tries", "2")
    assert p.returncode == 2 and p.stderr.strip().splitlines()[-1].endswith("--waypoint-tries: only with --waypoint")


def test_a_waypoint_that_raises_is_one_line_naming_the_flag() -> None:
    p = _cli("bmc", "twophase", "--depth", "3", "--waypoint", "s.nodes[9] == 1")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert "--waypoint 's.nodes[9] == 1' raised IndexError" in last
