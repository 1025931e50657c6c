"""``bmc --one-query``: every step unrolled, then one query for a violation at any depth.

"No violation" must mean what depth-by-depth BMC means (every depth up to ``--depth``), and a
violation must be a replayed run that says it is not proved shortest."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.bmc import bmc
from protoproof.checker.path import replay
from protoproof.checker.verdict import BOUNDED, UNKNOWN, VIOLATED
from protoproof.models.twophase import TwoPhase

from .test_bmc import _Named

BUGGY = TwoPhase.variants_of()["commit-on-majority"]  # shortest violation of atomicity: 7 steps
SOLVERS = ["z3", "cadical"]


@settings(max_examples=12, deadline=None)
@given(depth=st.integers(0, 10), solver=st.sampled_from(SOLVERS))
def test_one_query_agrees_with_depth_by_depth_on_whether_a_violation_exists(depth: int, solver: str) -> None:
    each = bmc(BUGGY(), depth, ["atomicity"], tie=0, solver=solver)
    once = bmc(BUGGY(), depth, ["atomicity"], tie=0, solver=solver, one_query=True)
    assert once.verdict == each.verdict and once.one_query
    if once.verdict == BOUNDED:
        assert once.depth_reached == depth and once.path is None
    else:
        assert once.path is not None and each.path is not None
        assert len(each.path) <= len(once.path) <= depth  # no shorter than the shortest, within the bound
        assert replay(BUGGY(), once.path.action_reprs()).states == once.path.states
        atomicity = next(p for p in BUGGY().properties if p.name == "atomicity")
        assert not atomicity.fn(once.path.last)


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_violation_in_a_state_with_no_successor_is_found_below_the_asked_depth(solver: str) -> None:
    """``_Named`` stops at x == 3, the violation: no run reaches depth 6, so a query asked at the last
    depth only would find nothing and say "no violation up to depth 6"."""
    r = bmc(_Named(), 6, ["steps_total"], tie=0, solver=solver, one_query=True)
    assert r.verdict == VIOLATED and r.depth_reached == 3 and r.path is not None and len(r.path) == 3


def test_a_violation_found_by_one_query_says_it_is_not_proved_shortest() -> None:
    r = bmc(BUGGY(), 10, ["atomicity"], tie=0, one_query=True)
    head = r.to_lines()[0]
    assert r.verdict == VIOLATED and "found by one query for every depth up to 10" in head
    assert "not proved shortest" in head and ", shortest" not in head
    js = r.to_json()
    assert js["one_query"] is True and js["shortest"] is False and js["query_s"] is not None
    plain = bmc(BUGGY(), 10, ["atomicity"], tie=0).to_json()
    assert plain["shortest"] is True and plain["one_query"] is False


def test_an_interrupted_one_query_has_checked_no_depth() -> None:
    def stop(line: str) -> None:
        if line.startswith("unrolled"):
            raise KeyboardInterrupt

    r = bmc(BUGGY(), 10, ["atomicity"], tie=0, one_query=True, progress=stop)
    assert r.verdict == UNKNOWN and "before the one query for every depth answered" in r.reason


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "protoproof", *argv], capture_output=True, text=True, timeout=300)


def test_the_cli_runs_one_query_and_refuses_it_with_pdr_in_one_line() -> None:
    p = _cli("bmc", "twophase", "--variant", "commit-on-majority", "--depth", "9", "--one-query", "--json")
    assert p.returncode == 1, p.stderr
    assert json.loads(p.stdout)["one_query"] is True
    bad = _cli("bmc", "twophase", "--engine", "pdr", "--one-query")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].endswith(
        "--one-query: only for --engine bmc (pdr does not unroll)")
