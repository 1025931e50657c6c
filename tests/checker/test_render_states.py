"""State graphs of big models: the path and its neighbourhood, clustered by a field."""

from __future__ import annotations

import re
from pathlib import Path as FsPath
from typing import Any

import pytest

from protoproof.checker.explore import explore
from protoproof.checker.path import Path
from protoproof.checker.render import state_graph
from protoproof.checker.render_states import NEIGHBOURHOOD_ABOVE, PER_STATE, neighbourhood
from protoproof.cli import main
from protoproof.models.base import Model
from protoproof.models.twophase import TwoPhase

from .test_render import is_red, parse


@pytest.fixture(scope="module")
def big() -> tuple[Model[Any], Path]:
    model = TwoPhase(rms=3).with_variant("commit-on-majority")
    result = explore(model, properties=["atomicity"])
    assert result.path is not None and result.stats.distinct_states > NEIGHBOURHOOD_ABOVE
    return model, result.path


def test_the_states_graph_of_a_big_model_is_the_path_and_its_neighbourhood(big: tuple[Model[Any], Path]) -> None:
    model, path = big
    near = neighbourhood(model, path)
    steps = len(path.actions)
    assert len(near.graph.states) <= (steps + 1) * (PER_STATE + 1)  # at most N nodes, whatever the space
    assert len(near.graph.states) == 28 and near.hidden == 3
    chart = parse(state_graph(near.graph, path, model))
    red = [(a, b) for a, b, attrs in chart.edges if is_red(attrs)]
    assert len(red) == steps  # the whole path, in order, is there
    on_path = {model.state_type.pack(s) for s in path.states}
    one_step = {b for a, _label, b in near.graph.edges if a in on_path}
    assert set(near.graph.states) == on_path | one_step  # the path, and one step from it


def test_a_state_graph_clusters_its_states_by_a_field(big: tuple[Model[Any], Path]) -> None:
    model, path = big
    source = state_graph(neighbourhood(model, path).graph, path, model, cluster_by="tm.state")
    labels = re.findall(r'subgraph "cluster_\d+" \{\n\s+graph \[label="([^"]*)"', source)
    assert sorted(labels) == ["tm.state='aborted'", "tm.state='committed'", "tm.state='init'"]
    with pytest.raises(ValueError, match=r"no state has a field 'nope'.*tm\.state"):
        state_graph(neighbourhood(model, path).graph, path, model, cluster_by="nope")


def test_check_draws_the_neighbourhood_clustered_from_the_cli(tmp_path: FsPath) -> None:
    out = tmp_path / "g.dot"
    code = main(["check", "twophase", "--rms", "3", "--variant", "commit-on-majority", "--property", "atomicity",
                 "--graph", str(out), "--graph-kind", "states", "--cluster-by", "tm.state", "--quiet"])
    assert code == 1
    source = out.read_text()
    assert "atomicity violated at step 7: rm0 committed while rm2 aborted" in source
    assert "the path and its states' other successors (28 states; 3 more successors not drawn)" in source
    assert source.count('subgraph "cluster_') == 3


@pytest.mark.parametrize(("extra", "message"), [
    (["--cluster-by", "tm.state"], "--cluster-by needs --graph FILE"),
    (["--cluster-by", "nope", "--graph", "x.dot", "--graph-kind", "states"], "no such field; the fields are rm0"),
    (["--cluster-by", "tm.state", "--graph", "x.dot"], "add --graph-kind states"),
])
def test_a_wrong_cluster_by_is_refused_before_the_search(extra: list[str], message: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "twophase", *extra]) == 2
    assert message in capsys.readouterr().err
