"""Checker self-tests: the one search loop on tiny literal graphs, with exact expected numbers."""

from __future__ import annotations

import io
import itertools
import json
import os
import random
import re
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.explore import ModelError, Nondeterminism, Options, Result, explore
from protoproof.checker.path import replay
from protoproof.models.base import Action, Model, Refinement, always, require, sometimes, step, transition
from protoproof.models.schema import Int, Record, Type, Union, Vec
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase

# ----- a model whose transition relation is a literal graph -------------------------------


@dataclass(frozen=True)
class GraphConfig:
    edges: tuple[tuple[int, str, int], ...] = ()
    init: tuple[int, ...] = (0,)
    bad: tuple[int, ...] = ()
    goal: tuple[int, ...] = ()  # empty: every state is a goal
    size: int = 10


class Literal(Model[int]):
    """States are ints; an edge ``(s, label, t)`` is the action ``label(to=t)`` from ``s``."""

    name = "literal"
    Config = GraphConfig

    def _validate_config(self) -> None:
        self.edge_set = frozenset(self.config.edges)

    def schema(self) -> Type:
        return Int(0, self.config.size - 1)

    def init(self) -> list[int]:
        return list(self.config.init)

    def targets(self) -> range:
        return range(self.config.size)

    @transition(to="targets")
    def a(self, s: int, to: int) -> int:
        require((s, "a", to) in self.edge_set)
        return to

    @transition(to="targets")
    def b(self, s: int, to: int) -> int:
        require((s, "b", to) in self.edge_set)
        return to

    @transition(to="targets")
    def c(self, s: int, to: int) -> int:
        require((s, "c", to) in self.edge_set)
        return to

    @always
    def safe(self, s: int) -> bool:
        """No bad state is reachable."""
        return s not in self.config.bad

    @sometimes
    def goal_reached(self, s: int) -> bool:
        """A goal state is reachable."""
        return not self.config.goal or s in self.config.goal


def lit(edges: str, **kw: Any) -> Literal:
    """``lit("0a1 1b2")``: edges written as source, label, target."""
    parsed = tuple((int(s), lab, int(t)) for s, lab, t in re.findall(r"(\d+)([abc])(\d+)", edges))
    assert len(parsed) == len(edges.split())
    size = kw.pop("size", max([0, *(max(s, t) for s, _l, t in parsed), *kw.get("init", ())]) + 1)
    return Literal(GraphConfig(edges=parsed, size=size, **kw))


def chain(n: int, **kw: Any) -> Literal:
    return lit(" ".join(f"{i}a{i + 1}" for i in range(n - 1)), size=n, **kw)


DIAMOND = "0a1 0a2 1b3 2b3 3a4 3c0 4a4 5c0"


# ----- exact numbers ------------------------------------------------------------------------


def test_distinct_states_transitions_depth_and_coverage_are_exact() -> None:
    r = explore(lit(DIAMOND), record_graph=100)
    assert r.verdict == "exhausted"
    assert r.stats.distinct_states == 5  # 5 is unreachable
    assert r.stats.transitions == 7
    assert r.stats.depth == 3
    assert r.stats.coverage == {"a": 4, "b": 2, "c": 1}
    assert r.stats.never_fired == []
    assert r.graph is not None
    assert sorted(r.graph.states.values()) == [0, 1, 2, 3, 4]
    assert sorted((r.graph.states[x], a, r.graph.states[y]) for x, a, y in r.graph.edges) == [
        (0, "a(to=1)", 1), (0, "a(to=2)", 2), (1, "b(to=3)", 3), (2, "b(to=3)", 3),
        (3, "a(to=4)", 4), (3, "c(to=0)", 0), (4, "a(to=4)", 4),
    ]
    assert [r.graph.states[c] for c in r.graph.initial] == [0]


def test_never_fired_lists_the_families_no_reachable_state_enables() -> None:
    r = explore(lit("0a1 1a2 5c0 5b0"))
    assert r.stats.coverage == {"a": 2, "b": 0, "c": 0}
    assert r.stats.never_fired == ["b", "c"]


def test_depth_is_measured_from_the_nearest_initial_state() -> None:
    r = explore(chain(6, init=(0, 3)))
    assert (r.stats.distinct_states, r.stats.depth) == (6, 2)  # 0..2 from 0, 3..5 from 3
    r = explore(lit("0a1 0a1", init=(0, 0)))
    assert r.stats.distinct_states == 2  # duplicate initial states are one state


def test_the_graph_is_not_kept_beyond_record_graph_states() -> None:
    assert explore(chain(20), record_graph=19).graph is None
    assert explore(chain(20), record_graph=20).graph is not None
    assert explore(chain(20)).graph is None


def test_stats_report_rate_and_peak_memory_when_asked() -> None:
    r = explore(chain(50), measure_memory=True)
    assert r.stats.elapsed_s > 0 and r.stats.states_per_s > 0
    assert r.stats.peak_memory_bytes is not None and r.stats.peak_memory_bytes > 0
    assert explore(chain(5)).stats.peak_memory_bytes is None


def test_a_progress_line_is_printed_on_long_runs() -> None:
    out = io.StringIO()
    explore(BigChain(), progress=out, progress_every=0.0, max_states=3000)
    lines = out.getvalue().splitlines()
    assert lines
    assert re.search(r"[\d,]+ states, [\d,]+ transitions, depth \d+", lines[-1]), lines[-1]


# ----- counterexamples -----------------------------------------------------------------


def test_bfs_returns_a_shortest_violation_with_its_path() -> None:
    r = explore(lit(DIAMOND, bad=(4,)))
    assert (r.verdict, r.property) == ("violated", "safe")
    assert r.path is not None
    assert r.path.action_reprs() == ["a(to=1)", "b(to=3)", "a(to=4)"]
    assert r.path.states == [0, 1, 3, 4]


LONG_AND_SHORT = "0a1 1a2 2a3 3a4 0b5 5a4"


def test_bfs_finds_the_short_violation_where_dfs_finds_a_long_one() -> None:
    bfs = explore(lit(LONG_AND_SHORT, bad=(4,)))
    dfs = explore(lit(LONG_AND_SHORT, bad=(4,)), strategy="dfs")
    assert bfs.path is not None and dfs.path is not None
    assert bfs.path.action_reprs() == ["b(to=5)", "a(to=4)"]
    assert dfs.verdict == "violated" and dfs.property == "safe" and dfs.strategy == "dfs"
    assert dfs.path.action_reprs() == ["a(to=1)", "a(to=2)", "a(to=3)", "a(to=4)"]
    assert dfs.path.states == replay(dfs.model, dfs.path.action_reprs()).states


def test_a_violating_initial_state_is_a_path_of_length_zero() -> None:
    r = explore(lit(DIAMOND, bad=(0,)))
    assert r.verdict == "violated" and r.path is not None
    assert (len(r.path), r.path.states) == (0, [0])


def test_sometimes_examples_are_shortest_paths() -> None:
    r = explore(lit(DIAMOND, goal=(3,)))
    assert r.verdict == "exhausted"
    p = r.examples["goal_reached"]
    assert p is not None and p.states == [0, 1, 3]
    assert r.unreached() == []


def test_an_unreached_sometimes_on_an_exhausted_run_is_a_violation_of_that_property() -> None:
    r = explore(lit(DIAMOND, goal=(5,)))
    assert (r.verdict, r.property, r.path) == ("violated", "goal_reached", None)
    assert r.unreached() == ["goal_reached"]
    assert r.examples == {"goal_reached": None}


def test_only_the_selected_properties_are_checked() -> None:
    r = explore(lit(DIAMOND, bad=(4,), goal=(5,)), properties=["safe"])
    assert (r.verdict, r.property) == ("violated", "safe")
    r = explore(lit(DIAMOND, bad=(4,), goal=(3,)), properties=["goal_reached"])
    assert r.verdict == "exhausted"
    with pytest.raises(KeyError, match="unknown property 'nope'; properties: deadlock, goal_reached, safe"):
        explore(lit(DIAMOND), properties=["nope"])


# ----- random walks ------------------------------------------------------------------------

WEB = " ".join(f"{i}a{(i + 1) % 30} {i}b{(7 * i + 3) % 30} {i}c{(11 * i + 5) % 30}" for i in range(30))


def walk(seed: int, **kw: Any) -> Result:
    return explore(lit(WEB, **kw), strategy="random", seed=seed, walks=4, walk_depth=15, record_graph=1000)


def test_random_walks_are_reproducible_with_a_seed_and_differ_with_another() -> None:
    one, again, other = walk(1), walk(1), walk(2)
    assert one.graph is not None and again.graph is not None and other.graph is not None
    assert one.graph.edges == again.graph.edges
    assert one.graph.edges != other.graph.edges
    assert len(one.graph.edges) == 4 * 16 * 3  # each walk expands depths 0..15, three successors each
    assert (one.verdict, one.bound) == ("bounded", "4 random walks of depth 15")


def test_random_walks_report_a_violation_with_a_real_path() -> None:
    hits = [walk(seed, bad=(17,)) for seed in range(5)]
    found = [r for r in hits if r.verdict == "violated"]
    assert found
    for r in found:
        assert r.path is not None and r.path.last == 17
        assert replay(r.model, r.path.action_reprs()).states == r.path.states


#: A chain 0 -a-> 1 -a-> ... -a-> 12 where every state also steps back to 0 (b and c): as a restart does.
LADDER = " ".join(f"{i}a{i + 1} {i}b0 {i}c0" for i in range(12))


def test_fresh_walks_reach_a_deep_state_that_plain_walks_of_the_same_budget_miss() -> None:
    fresh = [explore(lit(LADDER, bad=(12,)), strategy="random", seed=s, walks=3, walk_depth=12, walk_fresh=True)
             for s in range(3)]
    assert all(r.verdict == "violated" and r.path is not None and len(r.path.states) == 13 for r in fresh)
    plain = [explore(lit(LADDER, bad=(12,)), strategy="random", seed=s, walks=3, walk_depth=12) for s in range(3)]
    assert all(r.verdict == "bounded" for r in plain)  # each walk climbs with chance 3**-12


def test_a_fresh_walk_takes_a_seen_successor_when_no_unseen_one_is_left() -> None:
    from protoproof.checker.frontiers import Walks

    w = Walks(0, 1, 5, [0], fresh=True)
    w.successors(0, [7], [3, 7, 9])
    assert w.pop() == (7, 1)
    w.successors(1, [], [3, 9])
    assert w.pop() in ((3, 2), (9, 2))


# ----- deadlock ----------------------------------------------------------------------------


def test_a_state_without_successors_is_a_deadlock_when_asked() -> None:
    r = explore(lit("0a1 1a2"), deadlock=True)
    assert (r.verdict, r.property) == ("violated", "deadlock")
    assert r.path is not None and r.path.states == [0, 1, 2]
    assert explore(lit("0a1 1a2")).verdict == "exhausted"
    assert explore(lit("0a1 1a2"), deadlock=True, properties=["safe"]).verdict == "exhausted"
    assert explore(lit("0a1 1a2"), deadlock=True, properties=["deadlock"]).property == "deadlock"


def test_a_self_loop_counts_as_a_successor() -> None:
    assert explore(lit("0a1 1a2 2b2"), deadlock=True).verdict == "exhausted"


# ----- budgets: bounded, never exhausted -------------------------------------------------


def test_max_states_gives_bounded_naming_the_bound() -> None:
    r = explore(chain(100, goal=(99,)), max_states=10)
    assert (r.verdict, r.bound, r.property) == ("bounded", "10 states", None)
    assert r.stats.distinct_states == 10
    assert explore(chain(10), max_states=11).verdict == "exhausted"


def test_max_depth_gives_bounded_naming_the_bound() -> None:
    for strategy in ("bfs", "dfs"):
        r = explore(chain(100, goal=(99,)), max_depth=5, strategy=strategy)
        assert (r.verdict, r.bound) == ("bounded", "depth 5"), strategy
        assert (r.stats.distinct_states, r.stats.depth) == (6, 5)


def test_a_depth_bound_that_cuts_nothing_leaves_the_run_exhausted() -> None:
    r = explore(chain(6), max_depth=5)
    assert (r.verdict, r.stats.distinct_states) == ("exhausted", 6)
    r = explore(lit("0a1 1a0"), max_depth=1)  # the state at the bound only leads back
    assert r.verdict == "exhausted"


def test_a_deadlock_at_the_depth_bound_is_still_found() -> None:
    r = explore(lit("0a1 1a2"), deadlock=True, max_depth=2)
    assert (r.verdict, r.property) == ("violated", "deadlock")


class ReturnsHome(Literal):
    @step
    def no_return_to_start(self, s: int, a: Action, t: int) -> bool:
        return t != 0


def test_steps_out_of_states_at_the_depth_bound_are_still_checked() -> None:
    m = ReturnsHome(GraphConfig(edges=((0, "a", 1), (1, "a", 0)), size=2))
    assert explore(m).verdict == "violated"
    r = explore(m, max_depth=1)  # 1 is at the bound; its only step, back to 0, breaks the property
    assert (r.verdict, r.property) == ("violated", "no_return_to_start")


def test_a_transition_raising_at_the_depth_bound_is_a_model_error() -> None:
    with pytest.raises(ModelError):
        explore(Boom(), max_depth=2)


def test_a_timeout_gives_bounded_naming_the_timeout() -> None:
    r = explore(BigChain(), timeout=0.2, progress_every=0.05)
    assert (r.verdict, r.bound) == ("bounded", "timeout 0.2s")
    assert 0.2 <= r.stats.elapsed_s < 1.5


def test_a_timeout_is_honoured_without_a_progress_interval() -> None:
    r = explore(BigChain(), timeout=0.2)
    assert r.verdict == "bounded"
    assert r.stats.elapsed_s < 1.0


class BigChain(Model[int]):
    """A chain of a billion states: no run finishes it."""

    def schema(self) -> Type:
        return Int(0, 10**9)

    def init(self) -> list[int]:
        return [0]

    @transition()
    def inc(self, s: int) -> int:
        return s + 1

    @sometimes
    def end(self, s: int) -> bool:
        return s == 10**9


# ----- a differential check against a plain BFS on random graphs ---------------------------

EDGES = st.lists(st.tuples(st.integers(0, 7), st.sampled_from("abc"), st.integers(0, 7)), max_size=20)


@settings(max_examples=80, deadline=None)
@given(edges=EDGES, bad=st.sets(st.integers(1, 7), max_size=2))
def test_bfs_agrees_with_a_plain_breadth_first_search(edges: list[tuple[int, str, int]], bad: set[int]) -> None:
    m = Literal(GraphConfig(edges=tuple(edges), size=8, bad=tuple(sorted(bad))))
    dist = {0: 0}
    queue = deque([0])
    while queue:
        s = queue.popleft()
        for x, _lab, y in sorted(set(edges)):
            if x == s and y not in dist:
                dist[y] = dist[s] + 1
                queue.append(y)
    reached_bad = [s for s in dist if s in bad]
    r = explore(m, deadlock=False)
    if reached_bad:
        assert r.verdict == "violated" and r.path is not None
        assert len(r.path) == min(dist[s] for s in reached_bad)
        assert r.path.last in bad
    else:
        assert r.verdict == "exhausted"
        assert r.stats.distinct_states == len(dist)
        assert r.stats.depth == max(dist.values())
        assert r.stats.transitions == len({e for e in edges if e[0] in dist})
        sinks = [s for s in dist if not any(x == s for x, _l, _y in edges)]
        d = explore(m, deadlock=True)
        assert (d.verdict == "violated") == bool(sinks)
        if sinks:
            assert d.path is not None and d.path.last in sinks


# ----- models that misbehave ---------------------------------------------------------------


def _inc_or_boom(s: int) -> int:
    if s == 2:
        raise ZeroDivisionError("boom at two")
    return s + 1


class Boom(Model[int]):
    def schema(self) -> Type:
        return Int(0, 5)

    def init(self) -> list[int]:
        return [0]

    @transition()
    def inc(self, s: int) -> int:
        return _inc_or_boom(s)

    @sometimes
    def two(self, s: int) -> bool:
        return s == 2


def test_a_transition_that_raises_is_a_model_error_naming_the_action_and_state_with_the_traceback() -> None:
    with pytest.raises(ModelError) as info:
        explore(Boom())
    e = info.value
    assert repr(e.action) == "inc()"
    assert e.state == 2
    assert isinstance(e.__cause__, ZeroDivisionError)
    assert "ZeroDivisionError: boom at two" in e.traceback and "in inc" in e.traceback
    assert "in action inc()" in str(e) and "from state 2" in str(e)


def test_the_raising_action_is_named_even_when_a_disabled_action_comes_first() -> None:
    class GuardedBoom(Model[int]):
        def schema(self) -> Type:
            return Int(0, 5)

        def init(self) -> list[int]:
            return [0]

        @transition()
        def noop(self, s: int) -> None:
            require(False)

        @transition()
        def inc(self, s: int) -> int:
            return _inc_or_boom(s)

        @sometimes
        def two(self, s: int) -> bool:
            return s == 2

    assert [repr(a) for a in GuardedBoom().actions()] == ["noop()", "inc()"]
    with pytest.raises(ModelError) as info:
        explore(GuardedBoom())
    assert repr(info.value.action) == "inc()"


def test_a_property_that_raises_is_a_model_error_naming_the_property() -> None:
    class BadProp(Boom):
        @transition()
        def inc(self, s: int) -> int | None:
            return s + 1 if s < 5 else None

        @always
        def picky(self, s: int) -> bool:
            return 1 // (3 - s) >= 0

    with pytest.raises(ModelError, match="property picky raised ZeroDivisionError") as info:
        explore(BadProp())
    assert info.value.state == 3 and repr(info.value.action) == "inc()"


@pytest.mark.parametrize("bad", [6, "three", True, 2.0])
def test_a_transition_producing_an_ill_typed_state_is_a_model_error(bad: Any) -> None:
    class IllTyped(Boom):
        @transition()
        def inc(self, s: int) -> Any:
            return bad if s == 3 else s + 1

    with pytest.raises(ModelError, match="the next state is outside the schema") as info:
        explore(IllTyped())
    assert info.value.state == 3 and repr(info.value.action) == "inc()"


_TICKS = itertools.count()


class Clocky(Model[int]):
    def schema(self) -> Type:
        return Int(0, 10**9)

    def init(self) -> list[int]:
        return [0]

    @transition()
    def tick(self, s: int) -> int:
        return next(_TICKS) % 10**9

    @sometimes
    def any_state(self, s: int) -> bool:
        return True


def test_a_transition_reading_a_global_counter_raises_nondeterminism() -> None:
    with pytest.raises(Nondeterminism, match="is not deterministic"):
        explore(Clocky())


def test_a_transition_using_randomness_raises_nondeterminism() -> None:
    class Dice(Clocky):
        @transition()
        def tick(self, s: int) -> int:
            return random.randrange(10**9)

    with pytest.raises(Nondeterminism, match="must not use randomness"):
        explore(Dice())


def test_an_init_that_changes_between_calls_is_caught_when_rebuilding_a_path() -> None:
    class Drifting(Literal):
        def init(self) -> list[int]:
            return [next(_TICKS) % 2]  # 0, 1, 0, 1, ... on successive calls

    m = Drifting(GraphConfig(edges=((0, "a", 1), (1, "a", 0)), size=2, bad=(0, 1)))
    with pytest.raises(Nondeterminism, match="init"):
        explore(m)


# ----- step properties and refinements ------------------------------------------------------


class Counter(Model[int]):
    """Counts to 5 by one; ``skip`` jumps from 1 to 4."""

    def schema(self) -> Type:
        return Int(0, 5)

    def init(self) -> list[int]:
        return [0]

    @transition()
    def inc(self, s: int) -> int | None:
        return s + 1 if s < 5 else None

    @sometimes
    def five(self, s: int) -> bool:
        return s == 5

    def refinements(self) -> list[Refinement]:
        return [Refinement("halves", Halves(), lambda s: s // 2)]


class SkippingCounter(Counter):
    @transition()
    def skip(self, s: int) -> int | None:
        return 4 if s == 1 else None


class Halves(Model[int]):
    """The abstract spec: 0, 1, 2 counting by one."""

    def schema(self) -> Type:
        return Int(0, 2)

    def init(self) -> list[int]:
        return [0]

    @transition()
    def inc(self, s: int) -> int | None:
        return s + 1 if s < 2 else None

    @sometimes
    def two(self, s: int) -> bool:
        return s == 2


def test_a_refinement_that_holds_leaves_the_run_exhausted() -> None:
    assert explore(Counter()).verdict == "exhausted"
    assert explore(TwoPhase(rms=2)).verdict == "exhausted"  # twophase refines tcommit


def test_a_refinement_that_fails_names_the_exact_violating_step() -> None:
    r = explore(SkippingCounter())
    assert (r.verdict, r.property) == ("violated", "halves")
    assert r.path is not None
    assert r.path.states == [0, 1, 4]
    assert r.path.action_reprs() == ["inc()", "skip()"]


def test_a_refinement_whose_initial_state_maps_outside_the_abstract_init_fails_at_once() -> None:
    class Shifted(Counter):
        def init(self) -> list[int]:
            return [2]

    r = explore(Shifted())
    assert (r.verdict, r.property) == ("violated", "halves")
    assert r.path is not None and r.path.states == [2]


def test_twophase_variants_break_their_refinement_of_tcommit() -> None:
    r = explore(TwoPhase(rms=2).with_variant("commit-without-votes"), properties=["refines_tcommit"])
    assert (r.verdict, r.property) == ("violated", "refines_tcommit")
    assert r.path is not None
    x, y = r.path.states[-2], r.path.states[-1]
    ref = r.model.refinements()[0]
    abstract, tx, ty = ref.abstract, ref.mapping(x), ref.mapping(y)
    assert isinstance(abstract, TCommit)
    assert tx != ty and ty not in [t for _a, t in abstract.successors(tx)]


class Jumpy(Counter):
    @transition()
    def jump(self, s: int) -> int | None:
        return s + 2 if s in (2, 3) else None

    @step
    def by_one(self, s: int, a: Action, t: int) -> bool:
        """Every step adds one."""
        return t == s + 1

    def refinements(self) -> list[Refinement]:
        return []


def test_a_step_property_violation_ends_with_the_violating_step() -> None:
    r = explore(Jumpy())
    assert (r.verdict, r.property) == ("violated", "by_one")
    assert r.path is not None
    assert r.path.action_reprs() == ["inc()", "inc()", "jump()"]
    assert r.path.states == [0, 1, 2, 4]


def test_a_step_property_is_checked_on_steps_into_already_seen_states() -> None:
    m = ReturnsHome(GraphConfig(edges=((0, "a", 1), (1, "a", 2), (2, "b", 0)), size=3))
    r = explore(m)
    assert (r.verdict, r.property) == ("violated", "no_return_to_start")
    assert r.path is not None and r.path.states == [0, 1, 2, 0]


# ----- exact deduplication and determinism -------------------------------------------------


class A(NamedTuple):
    x: int


class B(NamedTuple):
    x: int


class Box(NamedTuple):
    slot: tuple[Any, ...]


class KindSwap(Model[Box]):
    """Two states that differ only in the class of the value in their slot."""

    def schema(self) -> Type:
        return Record(Box, slot=Vec(Union(Record(A, x=Int(0, 1)), Record(B, x=Int(0, 1))), 1))

    def init(self) -> list[Box]:
        return [Box((A(0),))]

    @transition()
    def swap(self, s: Box) -> Box | None:
        return Box((B(0),)) if type(s.slot[0]) is A else None

    @sometimes
    def swapped(self, s: Box) -> bool:
        return type(s.slot[0]) is B


def test_states_differing_only_in_a_record_class_are_two_states() -> None:
    r = explore(KindSwap())
    assert r.stats.distinct_states == 2
    assert r.verdict == "exhausted"


def test_explore_accepts_an_options_object_and_rejects_an_unknown_strategy() -> None:
    r = explore(lit(DIAMOND), Options(strategy="dfs"))
    assert r.strategy == "dfs" and r.stats.distinct_states == 5
    with pytest.raises(ValueError, match="unknown strategy 'sideways'"):
        explore(lit(DIAMOND), strategy="sideways")


_SCRIPT = """
import json
from protoproof.checker.explore import explore
from protoproof.models.twophase import TwoPhase
out = {}
for variant in (None, "commit-on-majority"):
    r = explore(TwoPhase(rms=3).with_variant(variant))
    out[str(variant)] = [r.verdict, r.property, r.stats.distinct_states, r.stats.transitions, r.stats.depth,
                         r.stats.coverage, r.path.action_reprs() if r.path else None,
                         {k: p.action_reprs() if p else None for k, p in r.examples.items()}]
print(json.dumps(out, sort_keys=True))
"""


def test_counts_and_paths_do_not_depend_on_the_hash_seed() -> None:
    runs = []
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True,
                              timeout=120, check=True)
        runs.append(json.loads(done.stdout))
    assert runs[0] == runs[1]
    assert runs[0]["None"][:5] == ["exhausted", None, 288, runs[0]["None"][3], 10]
    assert runs[0]["commit-on-majority"][0] == "violated"
    assert runs[0]["commit-on-majority"][1] in ("atomicity", "refines_tcommit")


# ----- a model's expander on packed codes ------------------------------------------------------


class OnCodes(Literal):
    """The literal graph, also offering successors on codes (an Int state's code is the int)."""

    def code_expander(self) -> Any:
        expand = self.expander()
        return lambda code: [(a, t) for a, t in expand(code)]


def test_a_model_expanding_codes_is_checked_exactly_as_on_states() -> None:
    cfg = lit(DIAMOND, bad=(4,)).config
    fast, slow = explore(OnCodes(cfg)), explore(Literal(cfg))
    assert fast.verdict == slow.verdict == "violated"
    assert fast.path is not None and slow.path is not None
    assert fast.path.states == slow.path.states == [0, 1, 3, 4]
    assert fast.stats.coverage == slow.stats.coverage


def test_an_expander_on_codes_that_disagrees_with_the_states_is_caught() -> None:
    class Wrong(OnCodes):
        def code_expander(self) -> Any:
            right = super().code_expander()
            return lambda code: [(a, (t + 1) % self.config.size) for a, t in right(code)]

    with pytest.raises(Nondeterminism, match="on packed codes and on states"):
        explore(Wrong(lit(DIAMOND).config))


def test_an_expander_on_codes_that_raises_where_the_states_do_not_is_reported_as_a_checker_bug() -> None:
    class Broken(OnCodes):
        def code_expander(self) -> Any:
            def expand(code: int) -> Any:
                raise KeyError(code)

            return expand

    with pytest.raises(RuntimeError, match="protoproof bug: expanding 0 on packed codes raised KeyError"):
        explore(Broken(lit(DIAMOND).config))


def test_expansion_on_codes_can_be_switched_off() -> None:
    class Broken(OnCodes):
        def code_expander(self) -> Any:
            raise AssertionError("not asked for")

    r = explore(Broken(lit(DIAMOND).config), on_codes=False)
    assert r.verdict == "exhausted" and r.stats.distinct_states == 5  # 0..4; nothing leads to 5


# ----- model code that raises in a check: a model error (exit 4), never a usage error -------


def _key_error_at(s: int, at: int) -> int:
    if s == at:
        raise KeyError(f"no entry for {s}")  # the CLI once reported a KeyError as a usage error (exit 2)
    return s


class RaisingStep(Counter):
    """A ``@step`` property that raises on the step out of 2."""

    name = "raising-step"

    def refinements(self) -> list[Refinement]:
        return []

    @step
    def grows(self, s: int, a: Action, t: int) -> bool:
        return _key_error_at(s, 2) < t


class RaisingMapping(Counter):
    """A refinement whose mapping raises on state 3."""

    name = "raising-mapping"

    def refinements(self) -> list[Refinement]:
        return [Refinement("halves", Halves(), lambda s: _key_error_at(s, 3) // 2)]


class RaisingInitMapping(Counter):
    """A refinement whose mapping raises on the initial state (``init_ok``)."""

    name = "raising-init-mapping"

    def refinements(self) -> list[Refinement]:
        return [Refinement("halves", Halves(), lambda s: _key_error_at(s, 0) // 2)]


def _check_from_the_cli(monkeypatch: pytest.MonkeyPatch, model: type[Model[Any]], *argv: str) -> tuple[int, str]:
    from protoproof import cli
    from protoproof.models.registry import Protocol, registration

    out, err = io.StringIO(), io.StringIO()
    with registration(Protocol(model.name, model)):
        code = cli.main(["check", model.name, *argv], out, err)
    return code, err.getvalue()


def test_a_step_property_that_raises_is_a_model_error_naming_it_with_state_action_and_traceback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = _check_from_the_cli(monkeypatch, RaisingStep)
    assert code == 4
    assert "step property grows raised KeyError: 'no entry for 2'" in err
    assert "in action inc()" in err and "from state 2" in err
    assert "Traceback" in err and "in _key_error_at" in err


def test_a_refinement_mapping_that_raises_is_a_model_error_naming_the_refinement(
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = _check_from_the_cli(monkeypatch, RaisingMapping)
    assert code == 4
    assert "the refinement mapping of halves raised KeyError: 'no entry for 3'" in err
    assert "in action inc()" in err and "from state 2" in err  # the step 2 -> 3 maps 3
    assert "Traceback" in err and "in _key_error_at" in err


def test_a_refinement_mapping_that_raises_on_an_initial_state_is_a_model_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = _check_from_the_cli(monkeypatch, RaisingInitMapping)
    assert code == 4
    assert "the refinement mapping of halves raised KeyError: 'no entry for 0'" in err
    assert "in an initial state" in err and "from state 0" in err
    assert "Traceback" in err and "in _key_error_at" in err


def test_an_abstract_model_that_raises_is_a_model_error_naming_it() -> None:
    class BadHalves(Halves):
        @transition()
        def inc(self, s: int) -> int | None:
            raise ValueError("abstract boom")

    class Refines(Counter):
        def refinements(self) -> list[Refinement]:
            return [Refinement("halves", BadHalves(), lambda s: s // 2)]

    with pytest.raises(ModelError, match=r"the abstract model .* of halves raised ValueError: abstract boom") as info:
        explore(Refines())
    assert info.value.state == 1 and repr(info.value.action) == "inc()"


class _Climb(Counter):
    """0 -> 1 -> ... -> 5, with properties a test adds."""

    def refinements(self) -> list[Refinement]:
        return []


class _NoReturnAbove2(_Climb):
    @always
    def small(self, s: int) -> bool:
        if s < 3:
            return True
        return None  # type: ignore[return-value]  # the slip: a branch without a truth value


class _EmptySetAsFalse(_Climb):
    @always
    def small(self, s: int) -> bool:
        return frozenset() if s == 4 else True  # type: ignore[return-value]


class _SometimesNone(_Climb):
    @sometimes
    def never(self, s: int) -> bool:
        return None  # type: ignore[return-value]


class _RaisingAtFour(_Climb):
    @always
    def small(self, s: int) -> bool:
        return _key_error_at(s, 4) >= 0


@pytest.mark.parametrize(("cls", "value", "state"), [(_NoReturnAbove2, None, 3), (_EmptySetAsFalse, frozenset(), 4),
                                                     (_SometimesNone, None, 0)])
def test_a_property_giving_no_truth_value_is_a_model_error_not_a_violation(cls: type[Model[int]], value: Any,
                                                                           state: int) -> None:
    with pytest.raises(ModelError) as info:
        explore(cls())
    assert f"returned {value!r}, not True or False" in str(info.value) and info.value.state == state


class _TwoPhaseNoReturn(TwoPhase):
    @always
    def tm_undecided(self, s: Any) -> bool:
        if s.nodes[-1].state == "init":
            return True
        return None  # type: ignore[return-value]


@pytest.mark.parametrize("engine", ["scalar", "vector"])
def test_a_property_giving_none_is_a_model_error_on_every_engine(engine: str) -> None:
    with pytest.raises(ModelError, match="property tm_undecided returned None, not True or False"):
        explore(_TwoPhaseNoReturn(), Options(engine=engine))


def test_a_property_giving_none_is_an_error_for_bmc_and_prove_too() -> None:
    from protoproof.checker.bmc import bmc
    from protoproof.checker.induction import prove
    from protoproof.checker.verdict import ERROR

    r = bmc(_NoReturnAbove2(), 5, ["small"])
    assert r.verdict == ERROR and "no truth value" in r.reason
    assert prove(_NoReturnAbove2(), properties=["small"]).verdict == ERROR


def test_a_raising_property_names_the_state_it_ran_in_and_the_action_that_reached_it() -> None:
    with pytest.raises(ModelError) as info:
        explore(_RaisingAtFour())
    text = str(info.value)
    assert "property small raised KeyError" in text
    assert "in state 4\n  reached by action inc()" in text and "from state" not in text


@pytest.mark.parametrize("kw", [{"max_states": 0}, {"max_states": -5}, {"timeout": -1}, {"timeout": 0},
                                {"max_depth": -1}, {"walks": 0}])
def test_a_budget_the_command_line_refuses_is_refused_by_the_api_too(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=f"Options.{next(iter(kw))} must be"):
        explore(TwoPhase(), **kw)


def test_an_unknown_variant_names_the_variants() -> None:
    with pytest.raises(KeyError, match="TwoPhase has no variant 'nope'; variants: commit-on-majority"):
        TwoPhase().with_variant("nope")


class _ForgetfulDeepDown(Model[int]):
    """0 -> 1 -> ... -> 3000ish; from 1500 on, a step's result depends on how often it was called
    (a hidden counter: what randomness or a clock does), so expanding a state twice differs."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def schema(self) -> Type:
        return Int(0, 6001)

    def init(self) -> list[int]:
        return [0]

    @transition()
    def inc(self, s: int) -> int | None:
        self.calls += 1
        if s >= 3000:
            return None
        return s + 1 + (self.calls % 2 if s >= 1500 else 0)

    @sometimes
    def far(self, s: int) -> bool:
        return s > 2000


def test_a_step_that_differs_when_rerun_is_caught_beyond_the_first_states_checked() -> None:
    with pytest.raises(Nondeterminism, match=r"not deterministic: expanding \d+ .*inc\(\) -> \d+.*then.*inc\(\) -> "):
        explore(_ForgetfulDeepDown(), Options(engine="scalar"))


class _InitOneState(_Climb):
    def init(self) -> list[int]:
        return 0  # type: ignore[return-value]  # the slip: a state, not a list of them


class _InitNothing(_Climb):
    def init(self) -> list[int]:
        return None  # type: ignore[return-value]


@pytest.mark.parametrize(("cls", "said"), [(_InitOneState, "returned 0: it must return a list of initial states ([0])"),
                                           (_InitNothing, "returned None: it must return a list of initial states")])
def test_init_returning_a_state_or_nothing_says_it_must_return_a_list(cls: type[Model[int]], said: str) -> None:
    from protoproof.models.base import ModelDefinitionError

    with pytest.raises(ModelDefinitionError, match=re.escape(said)):
        explore(cls())


def test_a_raising_steps_traceback_is_printed_once() -> None:
    with pytest.raises(ModelError) as info:
        explore(Boom())
    assert info.value.traceback.count("Traceback") == 1 and "During handling" not in info.value.traceback


class _NumpyTruth(_Climb):
    @always
    def small(self, s: int) -> bool:
        import numpy as np

        return np.int64(s) < 3  # type: ignore[return-value]  # numpy's bool: a truth value


def test_a_property_giving_numpys_false_is_a_violation_not_a_model_error() -> None:
    r = explore(_NumpyTruth())
    assert r.verdict == "violated" and r.property == "small" and r.path is not None and r.path.last == 3


class _NestedStates(_Climb):
    """States are tuples: a tuple of states is itself shaped like one."""

    def schema(self) -> Type:
        from protoproof.models.schema import Seq

        return Seq(Seq(Int(0, 1), 1), 2)

    def init(self) -> list[Any]:
        return ((),)  # type: ignore[return-value]  # one initial state, (), in a tuple

    @transition()
    def inc(self, s: Any) -> Any:
        return None

    @sometimes
    def five(self, s: Any) -> bool:
        return s == ()


def test_init_returning_a_tuple_of_states_that_is_also_a_state_is_taken_as_the_states() -> None:
    assert explore(_NestedStates()).verdict == "exhausted"
