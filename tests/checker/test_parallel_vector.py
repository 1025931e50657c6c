"""Partition workers on the vector tables (``checker/parallel_vector.py``): the counts, depth,
verdict and counterexample of the scalar workers and of the one-core engines."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.explore import ModelError, Options, Result, explore
from protoproof.checker.parallel import PartitionWorker, Scale, _Search, worker_kind
from protoproof.checker.parallel_backends import Inline, backend
from protoproof.checker.parallel_vector import MAX_LOAD, HashedLevels, _least_parent, vector_reason
from protoproof.checker.path import replay
from protoproof.models.base import Model
from protoproof.models.registry import registered
from protoproof.models.twophase import TwoPhase

from .test_vector import _NetProps, _RaisingHandler, every_model


def figures(r: Result) -> tuple[Any, ...]:
    st_ = r.stats
    return (r.verdict, r.property, r.bound, st_.distinct_states, st_.transitions, st_.depth, st_.coverage,
            {k: None if p is None else p.states for k, p in r.examples.items()},
            None if r.path is None else (r.path.actions, r.path.states))


def workers(model: Model[Any], n: int, processes: bool = False, **kw: Any) -> Result:
    """A partitioned run over ``n`` workers: in this process unless ``processes`` (same code, no fork)."""
    o = Options(scale=Scale(workers=n), **kw)
    if processes:
        return explore(model, o)
    return _Search(model, o, o.scale, lambda m, q, sc, b, k: Inline(m, q, sc, b, None, k)).go()  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "variant"), every_model())
def test_vector_workers_give_the_scalar_workers_and_one_core_results_on_every_model_they_accept(
        name: str, variant: str | None) -> None:
    model = registered()[name].model_class()().with_variant(variant)
    why = vector_reason(model, Options())
    if why is not None:
        assert worker_kind(model, Options()) == (PartitionWorker, f"scalar ({why})")  # the result says why
        return
    vec2 = workers(model, 2)
    assert vec2.engine.startswith("vector, partitioned over 2")
    scal = workers(model, 2, engine="scalar")
    assert scal.engine.startswith("scalar (asked for)")
    assert figures(vec2) == figures(scal)  # the same least codes, hence the same counterexample
    assert figures(workers(model, 1)) == figures(vec2)
    one = explore(model, liveness=False)  # the one-core engine; liveness is not the workers' either
    if one.verdict == "exhausted":
        assert figures(vec2)[:7] == figures(one)[:7]
    else:  # whole levels are finished: the counts may go past where the one-core search stopped
        assert (vec2.verdict, vec2.property, vec2.stats.depth) == (one.verdict, one.property, one.stats.depth)
        assert (vec2.path is None) == (one.path is None)
        if vec2.path is not None and one.path is not None:
            assert len(vec2.path.actions) == len(one.path.actions)


@pytest.mark.parametrize("variant", ["commit-without-votes", "commit-on-majority"])
@pytest.mark.parametrize("props", [None, ["atomicity"], ["refines_tcommit"]])
def test_a_planted_2pc_bug_is_found_by_vector_workers_with_a_shortest_counterexample(
        variant: str, props: list[str] | None) -> None:
    m = TwoPhase(rms=4).with_variant(variant)
    one = explore(m, properties=props)
    assert one.verdict == "violated" and one.path is not None
    got = [workers(m, 1, properties=props), workers(m, 2, processes=True, properties=props),
           workers(m, 3, properties=props)]
    scal = workers(m, 2, engine="scalar", properties=props)
    for r in got:
        assert r.engine.startswith("vector")
        assert figures(r) == figures(scal)
        assert (r.property, r.stats.depth) == (one.property, one.stats.depth)
        assert r.path is not None and len(r.path.actions) == len(one.path.actions)
        replay(m, r.path.actions)  # a real run of the model


def test_vector_workers_in_processes_give_the_one_core_counts_on_2pc() -> None:
    m = TwoPhase(rms=5)
    one = explore(m)
    r = workers(m, 2, processes=True)
    assert r.engine == "vector, partitioned over 2 worker(s) (2 processes)"
    assert figures(r)[:7] == figures(one)[:7] and r.stats.distinct_states == 8_832
    # @sometimes examples: as short as the one-core search's (the least code of that level, not the first found)
    assert {k: len(p.states) for k, p in r.examples.items() if p} == \
        {k: len(p.states) for k, p in one.examples.items() if p}


@pytest.mark.parametrize("bound", [1, 4, 9])
def test_a_depth_bound_cuts_vector_workers_where_it_cuts_the_one_core_search(bound: int) -> None:
    one = explore(TwoPhase(rms=3), max_depth=bound)
    assert figures(workers(TwoPhase(rms=3), 2, max_depth=bound))[:6] == figures(one)[:6]


def test_deadlocks_and_network_reading_properties_on_vector_workers_match_the_scalar_workers() -> None:
    for m, kw in [(TwoPhase(rms=3), {"deadlock": True}), (_NetProps(rms=3), {})]:
        a, b = workers(m, 2, **kw), workers(m, 2, engine="scalar", **kw)
        assert a.engine.startswith("vector") and figures(a) == figures(b)


def test_a_handler_raising_in_a_vector_worker_is_reported_as_by_the_scalar_workers() -> None:
    def error(**kw: Any) -> tuple[str, Any, Any]:
        with pytest.raises(ModelError) as e:
            workers(_RaisingHandler(rms=2), 2, **kw)
        # the message, not str(): a state unpickled from a worker process may list a frozenset's
        # members in another order, so its repr can differ while the state is the same
        assert "in action deliver" in str(e.value) and "from state SysState" in str(e.value)
        return e.value.message, e.value.state, e.value.action

    assert vector_reason(_RaisingHandler(rms=2), Options()) is None
    want = error(engine="scalar")
    assert "ZeroDivisionError: planted" in want[0]
    assert error() == want  # the tables stop, the scalar expander reports it with its state and action
    assert error(processes=True) == want


def test_a_memory_budget_on_vector_workers_spills_to_disk_with_the_same_counts() -> None:
    m = TwoPhase(rms=5)
    one = explore(m)
    r = explore(m, Options(scale=Scale(workers=2, memory_mb=0.05)))
    assert r.engine.startswith("vector") and "kept on disk" in r.engine
    assert figures(r)[:7] == figures(one)[:7]


def test_the_engine_option_picks_the_workers_and_refuses_vector_where_it_does_not_apply() -> None:
    assert workers(TwoPhase(rms=2), 2, engine="scalar").engine.startswith("scalar (asked for), partitioned")
    assert workers(TwoPhase(rms=2, max_crashes=1), 2).engine.startswith("scalar (crashes are possible")
    with pytest.raises(KeyError, match="--engine vector cannot run this check: crashes are possible"):
        workers(TwoPhase(rms=2, max_crashes=1), 2, engine="vector")


def test_the_backend_builds_workers_of_the_class_it_is_given() -> None:
    from protoproof.checker.parallel_vector import VectorPartitionWorker

    m, o = TwoPhase(rms=2), Options()
    b = backend(m, o, Scale(workers=1), None, VectorPartitionWorker)
    try:
        assert all(isinstance(w, VectorPartitionWorker) for w in b.w)
    finally:
        b.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**62 - 1), max_size=300), max_size=8))
def test_the_hashed_visited_set_answers_membership_and_parents_like_a_dict(batches: list[list[int]]) -> None:
    v = HashedLevels()
    ref: dict[int, int] = {}
    for i, batch in enumerate(batches):
        codes = np.array(batch, np.int64)
        parents = np.arange(len(codes), dtype=np.int64) + 1000 * i
        c, p = v.new(*_least_parent(codes, parents))
        want: dict[int, int] = {}
        for code, par in zip(batch, parents.tolist(), strict=True):
            if code not in ref:
                want[code] = min(want.get(code, par), par)
        assert dict(zip(c.tolist(), p.tolist(), strict=True)) == want
        assert c.tolist() == sorted(want)
        v.add(c, p)
        ref.update(want)
        assert len(v) == len(ref) and v.set.count <= MAX_LOAD * len(v.set.table)
    for code, par in ref.items():
        assert v.parent(code) == par
    probe = np.array(list(ref)[:50] + [2**62 + 5], np.int64)
    assert v.fresh(probe).tolist() == [False] * (len(probe) - 1) + [True]
