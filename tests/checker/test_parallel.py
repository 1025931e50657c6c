"""The partitioned search (--workers): the counts, depth and verdicts of the ordinary search."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from protoproof.checker.explore import ModelError, Options, Result, explore
from protoproof.checker.parallel import Scale, owner, owners
from protoproof.checker.path import replay
from protoproof.models.base import Model, always, require, sometimes, transition
from protoproof.models.registry import protocol_for
from protoproof.models.schema import Int, Type


def build(name: str, variant: str | None = None, **params: Any) -> Model[Any]:
    cls = protocol_for(name).model_class()
    if variant is not None:
        cls = cls.variants_of()[variant]
    return cls(**params)


def figures(r: Result) -> tuple[Any, ...]:
    st = r.stats
    return (r.verdict, r.property, st.distinct_states, st.transitions, st.depth, st.coverage,
            {k: None if p is None else len(p.actions) for k, p in r.examples.items()})


def test_workers_give_the_counts_depth_and_verdict_of_the_ordinary_search_on_2pc() -> None:
    m = build("twophase", rms=4)
    plain = explore(m)
    assert plain.verdict == "exhausted" and plain.stats.distinct_states == 1568
    for n in (1, 2, 3):
        r = explore(m, Options(scale=Scale(workers=n)))
        assert figures(r) == figures(plain), n
        assert f"partitioned over {n} worker(s)" in r.engine


def test_workers_give_the_counts_of_the_ordinary_search_on_paxos_wide_codes() -> None:
    m = build("paxos")
    assert m.state_type.size.bit_length() > 64  # codes beyond int64: the dict path of the workers
    plain = explore(m)
    r = explore(m, Options(scale=Scale(workers=2)))
    assert figures(r) == figures(plain)
    assert r.stats.distinct_states == 3921


@pytest.mark.parametrize(("name", "variant", "opts"), [
    ("paxos", "ignore-votes", {}),  # a refinement (step) check fails
    ("paxos", "minority-quorums", {"properties": ["agreement"]}),  # an invariant fails
    ("replog", "retract-committed", {}),
    ("tcommit", None, {"deadlock": True}),
    ("replog", None, {"deadlock": True}),
])
def test_a_planted_bug_gives_a_counterexample_as_short_as_the_ordinary_search(
        name: str, variant: str | None, opts: dict[str, Any]) -> None:
    m = build(name, variant)
    plain = explore(m, **opts)
    assert plain.verdict == "violated" and plain.path is not None
    got = [explore(m, Options(scale=Scale(workers=n), **opts)) for n in (1, 2)]
    for r in got:
        assert (r.verdict, r.property, r.stats.depth) == (plain.verdict, plain.property, plain.stats.depth)
        assert r.path is not None and len(r.path.actions) == len(plain.path.actions)
        if r.property != "deadlock":
            replay(m, r.path.actions)  # a real run of the model
    # Whole levels are completed: the counts do not depend on the number of workers.
    assert figures(got[0]) == figures(got[1])
    assert got[0].path is not None and got[1].path is not None
    assert got[0].path.states == got[1].path.states  # the least violating code: the same counterexample


def test_the_depth_bound_is_kept_by_the_workers() -> None:
    m = build("twophase", rms=3)
    plain = explore(m, max_depth=5)
    r = explore(m, Options(max_depth=5, scale=Scale(workers=2)))
    assert figures(r)[:5] == figures(plain)[:5] and r.bound == plain.bound == "depth 5"


def test_the_owner_of_a_code_is_the_same_on_ints_and_on_int64_arrays() -> None:
    codes = [0, 1, 7, 2**31, 2**40 + 3, 2**61 - 1, 2**62 + 17, 2**63 - 1]
    for n in (1, 2, 3, 5):
        assert owners(np.array(codes, np.int64), n).tolist() == [owner(c, n) for c in codes]
    shares = np.bincount(owners(np.arange(10_000, dtype=np.int64) * 36, 2))
    assert min(shares) > 4_500  # structured codes (multiples of a digit's weight) spread evenly


def test_a_strategy_other_than_bfs_is_refused_by_the_workers() -> None:
    with pytest.raises(KeyError, match="--strategy dfs"):
        explore(build("twophase", rms=2), Options(strategy="dfs", scale=Scale(workers=2)))


def test_workers_from_the_cli_report_the_counts_of_the_ordinary_check() -> None:
    def run(*extra: str) -> dict[str, Any]:
        p = subprocess.run([sys.executable, "-m", "protoproof", "check", "twophase", "--rms", "3", "--json", *extra],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        d: dict[str, Any] = json.loads(p.stdout)
        return d

    plain, two = run(), run("--workers", "2")
    for k in ("verdict", "distinct_states", "transitions", "depth", "coverage"):
        assert two[k] == plain[k], k
    assert "2 processes" in two["engine"]


def test_workers_check_a_symmetry_reduced_search_as_the_ordinary_one() -> None:
    m = build("twophase", rms=3)
    plain = explore(m, symmetry=True)
    r = explore(m, Options(symmetry=True, scale=Scale(workers=2)))
    assert figures(r) == figures(plain) and r.symmetry


def test_workers_do_not_exhaust_a_search_whose_transition_symmetry_is_assumed() -> None:
    from protoproof.tests.checker.test_symmetry import Backwards

    r = explore(Backwards(rms=7), Options(symmetry=True, properties=["atomicity"], scale=Scale(workers=2)))
    assert r.verdict == "bounded" and r.bound is not None and "symmetry assumed, not proved" in r.bound


@dataclass(frozen=True)
class CountConfig:
    top: int = 6


class Counter(Model[int]):
    """A counter that steps by 1 or 2 and raises at 5: a model error found inside a worker."""

    name = "counter"
    Config = CountConfig

    def schema(self) -> Type:
        return Int(0, self.config.top)

    def init(self) -> list[int]:
        return [0]

    @transition()
    def step1(self, s: int) -> int:
        require(s < self.config.top)
        if s == 5:
            raise ValueError("five")
        return s + 1

    @transition()
    def step2(self, s: int) -> int:
        require(s + 2 <= self.config.top)
        return s + 2

    @always
    def small(self, s: int) -> bool:
        return s < 10

    @sometimes
    def top_reached(self, s: int) -> bool:
        return s == self.config.top


def test_a_model_raising_in_a_worker_process_is_reported_as_a_model_error() -> None:
    with pytest.raises(ModelError, match="ValueError: five") as plain:
        explore(Counter())
    with pytest.raises(ModelError, match="ValueError: five") as got:
        explore(Counter(), Options(scale=Scale(workers=2)))
    assert got.value.state == plain.value.state == 5 and got.value.action == plain.value.action
