"""Environment actions on z3 (bmc, conformance) and in the sequence chart and the CLI's JSON."""

from __future__ import annotations

import io
import json
from typing import Any

from protoproof import cli
from protoproof.checker.bmc import bmc
from protoproof.checker.conformance import conform
from protoproof.checker.explore import explore
from protoproof.checker.path import Path
from protoproof.checker.render import sequence_chart
from protoproof.models.actors import DuplicatingSet
from protoproof.models.base import Action, always

from ..models.envmodels import Leases, NoMargin, Talk
from ..models.test_environment import StormyTalk
from .test_render import parse


class SetTalk(Talk):
    """``Talk`` on the grow-only set, so every step is total on every type-correct state (z3)."""

    def network(self) -> Any:
        return DuplicatingSet()


def test_bmc_finds_the_lease_bug_of_clients_ignoring_the_drift_bound() -> None:
    small = NoMargin(lease=2, max_time=2)  # the default size takes ~25 s at depth 12
    assert explore(small).path is not None
    r = bmc(small, 9, ["lease_safety"])
    assert r.verdict == "violated" and r.path is not None and len(r.path.actions) == 9
    names = [a.name for a in r.path.actions]
    assert "tick" in names and "clock" in names
    assert not small.lease_safety(r.path.states[-1])  # replayed concretely


class ApartTalk(SetTalk):
    @always
    def never_apart(self, s: Any) -> bool:
        """n1 and n2 are always in one group (false: a partition may cut them apart)."""
        return not s.env.groups or s.env.groups[1] == s.env.groups[2]

    @always
    def one_group_before_any_split(self, s: Any) -> bool:
        """Until the first split every node is in group 0."""
        return s.env.splits > 0 or all(g == 0 for g in s.env.groups)


def test_bmc_runs_split_and_heal_like_any_action() -> None:
    r = bmc(ApartTalk(), 2, ["never_apart"])
    assert r.verdict == "violated" and r.path is not None
    [a] = r.path.actions
    assert a.name == "split" and not any({"n1", "n2"} <= set(g) for g in a.kwargs["groups"])
    assert bmc(ApartTalk(), 3, ["one_group_before_any_split"]).verdict == "bounded"


def test_the_clocked_relation_conforms_to_the_python_steps() -> None:
    r = conform(Leases(clients=1, max_time=2, lease=2, margin=0), random_states=200)
    assert r.ok and r.reachable_complete and r.reachable_states == 462


def test_partitions_and_declared_environment_actions_conform() -> None:
    assert conform(SetTalk(), random_states=200).ok

    class StormySetTalk(StormyTalk):
        def network(self) -> Any:
            return DuplicatingSet()

    assert conform(StormySetTalk(), random_states=200).ok


def test_a_wrong_symbolic_tick_is_a_conformance_mismatch() -> None:
    m = Leases(clients=1, max_time=2, lease=2, margin=0)

    def tick_twice(s: Any, info: Any = None) -> Any:
        t = m.step(s, Action("tick"))
        return None if t is None else m.step(t, Action("tick"))

    r = conform(m, random_states=50, max_reachable=100, overrides={"tick()": tick_twice})
    assert not r.ok


def test_the_sequence_chart_draws_environment_steps_on_their_own_lane() -> None:
    res = explore(NoMargin())
    assert res.path is not None
    dot = parse(sequence_chart(res.path))
    assert dot.nodes["environment@0"]["label"] == "environment"
    ticks = [k for k, a in enumerate(res.path.actions, 1) if a.name == "tick"]
    point = dot.nodes[f"environment@{ticks[0]}"]
    assert point["shape"] == "cds" and point["label"] == "tick"
    clock_row = next(k for k, a in enumerate(res.path.actions, 1) if a.name == "clock")
    assert dot.nodes[f"environment@{clock_row}"]["label"].startswith("clock")


def test_the_sequence_chart_labels_a_split_with_its_groups() -> None:
    m = Talk()
    s0 = m.initial_states()[0]
    a, b = Action("hello", (("node", "n0"),)), Action("split", (("groups", (("n0",), ("n1", "n2"))),))
    s1 = m.step(s0, a)
    assert s1 is not None
    s2 = m.step(s1, b)
    assert s2 is not None
    dot = parse(sequence_chart(Path(m, [s0, s1, s2], [a, b])))
    assert "groups=(('n0',), ('n1', 'n2'))" in dot.nodes["environment@2"]["label"]


def test_check_json_names_the_expansion_path() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["check", "twophase", "--rms", "2", "--json"], out, err) == 0
    assert json.loads(out.getvalue())["expansion"] == "packed codes"
    out = io.StringIO()
    cli.main(["check", "twophase", "--rms", "2", "--symmetry", "--json"], out, err)
    assert json.loads(out.getvalue())["expansion"] == "general: symmetry reduction"


