"""``--constraint``: a user's state constraint prunes the search, and the verdict says so."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.constraint import constrained
from protoproof.checker.errors import ConstraintFailed
from protoproof.checker.explore import Options, explore
from protoproof.checker.path import replay
from protoproof.checker.verdict import BOUNDED, EXHAUSTED, VIOLATED
from protoproof.models.base import Action, Model, always, require, sometimes, transition
from protoproof.models.schema import Int, Type
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase


def _bfs(model, constraint: str | None = None, **kw):  # type: ignore[no-untyped-def]
    return explore(model, Options(constraint=constraint, **kw))


def test_a_constraint_allowing_every_state_visits_them_all_but_ends_bounded_not_exhausted() -> None:
    plain = _bfs(TCommit(rms=3))
    assert plain.verdict == EXHAUSTED
    r = _bfs(TCommit(rms=3), "True")
    assert r.verdict == BOUNDED and "--constraint 'True'" in (r.bound or "")
    assert r.stats.distinct_states == plain.stats.distinct_states
    assert r.constraint == "True"


def test_an_unreached_sometimes_under_a_constraint_is_bounded_not_a_violation() -> None:
    # Without the constraint all_committed is reached; with it, no state may hold a committed RM.
    r = _bfs(TCommit(rms=3), "'committed' not in s.rm")
    assert r.verdict == BOUNDED and r.property is None
    assert "all_committed" in r.unreached()
    assert r.stats.distinct_states < _bfs(TCommit(rms=3)).stats.distinct_states


@settings(max_examples=12, deadline=None)
@given(k=st.integers(0, 3), rms=st.integers(2, 3))
def test_every_state_a_constrained_search_visits_satisfies_it_and_is_reachable(k: int, rms: int) -> None:
    text = f"sum(r == 'prepared' for r in s.rm) <= {k}"
    full = _bfs(TCommit(rms=rms), record_graph=10_000)
    part = _bfs(TCommit(rms=rms), text, record_graph=10_000)
    assert full.graph is not None and part.graph is not None
    reachable = set(full.graph.states.values())
    seen = list(part.graph.states.values())
    assert all(sum(r == "prepared" for r in s.rm) <= k for s in seen)
    assert set(seen) <= reachable
    assert (len(seen) == len(reachable)) == (k >= rms)


def test_a_violation_found_under_a_constraint_is_a_run_of_the_unconstrained_model() -> None:
    buggy = TwoPhase.variants_of()["commit-on-majority"]()
    r = _bfs(buggy, "s.nodes[2] == 'working'")  # rm2 never moves: a narrower search still finds the bug
    assert r.verdict == VIOLATED and r.path is not None
    assert all(s.nodes[2] == "working" for s in r.path.states)
    again = replay(buggy, r.path.action_reprs())  # the model itself, without the constraint
    assert again.states == r.path.states
    assert r.property == _bfs(buggy).property


def test_a_constraint_that_discards_a_violations_path_hides_it() -> None:
    buggy = TwoPhase.variants_of()["commit-on-majority"]()
    r = _bfs(buggy, "all(n != 'committed' for n in s.nodes[:-1])")  # no RM may commit
    assert r.verdict == BOUNDED


@pytest.mark.parametrize("opts", [{"symmetry": True}, {"deadlock": True}, {"properties": ["deadlock"]},
                                  {"engine": "vector"}])
def test_a_constraint_is_refused_where_its_answer_would_be_wrong(opts: dict[str, object]) -> None:
    with pytest.raises(KeyError, match="--constraint cannot be combined"):
        _bfs(TwoPhase(rms=2), "True", **opts)


def test_a_raising_constraint_names_the_expression_and_the_state() -> None:
    with pytest.raises(ConstraintFailed, match=r"--constraint 's.nope' raised AttributeError.*on the state SysState"):
        _bfs(TwoPhase(rms=2), "s.nope")


def test_constrained_model_keeps_the_name_variant_and_own_constraint() -> None:
    buggy = TwoPhase.variants_of()["commit-on-majority"]()
    m = constrained(buggy, "True")
    assert m.name == buggy.name and m.variant_name == buggy.variant_name and m.config == buggy.config


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "protoproof", *args], capture_output=True, text=True, timeout=120)


def test_the_cli_says_in_one_line_what_is_wrong_with_a_constraint() -> None:
    bad = _cli("check", "twophase", "--constraint", "s +")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "not a Python expression" in bad.stderr
    raising = _cli("check", "twophase", "--constraint", "s.nope")
    assert raising.returncode == 2 and raising.stderr.count("\n") == 1 and "AttributeError" in raising.stderr
    both = _cli("check", "twophase", "--constraint", "True", "--workers", "2")
    assert both.returncode == 2 and "cannot be combined" in both.stderr


def test_the_cli_reports_a_path_as_shortest_among_the_states_the_constraint_allows() -> None:
    r = _cli("check", "twophase", "--variant", "commit-on-majority", "--constraint", "s.nodes[2] == 'working'")
    assert r.returncode == 1
    assert "shortest counterexample" in r.stdout and "among the states --constraint" in r.stdout
    assert "engine: scalar (--constraint)" in r.stdout


def test_the_state_is_seen_inside_a_comprehension_of_the_expression() -> None:
    r = _bfs(TwoPhase(rms=2), "len([m for m in s.net if m != s.nodes[0]]) < 3")
    assert r.verdict == BOUNDED and r.stats.distinct_states > 1


def test_an_expression_that_is_not_a_truth_value_is_refused_not_taken_as_true() -> None:
    with pytest.raises(ConstraintFailed, match="not a truth value"):
        _bfs(TCommit(rms=2), "s.rm.count")


def test_a_constraint_raising_while_a_walk_is_shortened_keeps_the_path_found() -> None:
    buggy = TwoPhase.variants_of()["commit-on-majority"]()
    text = ("len(s.net) < 6 and (1/0 if s.nodes[3].state == 'committed' and s.nodes[2] == 'working' "
            "else True)")
    r = _bfs(buggy, text, strategy="dfs")
    assert r.verdict == VIOLATED and r.path is not None
    assert replay(buggy, r.path.action_reprs()).states == r.path.states


@dataclass(frozen=True)
class _HopConfig:
    top: int = 6


class _Hops(Model[int]):
    """A plain model that writes its own ``successors``, ``expander`` and ``step`` (a user's fast path)."""

    name = "hops"
    Config = _HopConfig

    def schema(self) -> Type:
        return Int(0, self.config.top)

    def init(self) -> list[int]:
        return [0]

    @transition(by=(1, 3))
    def hop(self, s: int, by: int) -> int:
        require(s + by <= self.config.top)
        return s + by

    def _hops(self, s: int) -> list[tuple[Action, int]]:
        return [(a, s + a.kwargs["by"]) for a in self.actions() if s + a.kwargs["by"] <= self.config.top]

    def successors(self, s: int) -> Iterator[tuple[Action, int]]:
        yield from self._hops(s)

    def expander(self) -> Callable[[int], list[tuple[Action, int]]]:
        return self._hops

    def step(self, s: int, action: Action) -> int | None:
        return dict(self._hops(s)).get(action)

    @always
    def below_five(self, s: int) -> bool:
        return s < 5

    @sometimes
    def moved(self, s: int) -> bool:
        return s > 0


def test_a_model_that_writes_its_own_successors_is_still_constrained() -> None:
    m = constrained(_Hops(), "s != 3")

    def self_action(by: int) -> Action:
        return next(a for a in m.actions() if a.kwargs["by"] == by)

    assert [t for _a, t in m.successors(0)] == [1] and [t for _a, t in m.expander()(0)] == [1]
    assert m.step(0, self_action(3)) is None and m.step(0, self_action(1)) == 1
    r = _bfs(_Hops(), "s < 3")
    assert r.verdict == BOUNDED and r.stats.distinct_states == 3  # 0, 1, 2
    found = _bfs(_Hops(), "s != 3")
    assert found.verdict == VIOLATED and 3 not in found.path.states
