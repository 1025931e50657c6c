"""What the explorer computes for a page, without HTTP: permalinks, properties, loading a
counterexample, random steps, and every registered model's first page."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from protoproof.checker.path import replay
from protoproof.checker.render_files import ROUTE_MARK
from protoproof.cli import main
from protoproof.explorer.session import (
    ExplorerError,
    Page,
    build,
    load,
    model_names,
    parse_query,
    random_extension,
    view,
)
from protoproof.models.registry import Protocol, registered, registration

from .spin import Spin

TWOPHASE = Page("twophase", "commit-on-majority", (("rms", "3"),), ())


def _page(query: str) -> Page:
    return parse_query(parse_qs(query, keep_blank_values=True), model_names("twophase"))


def _prop(v: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in v["properties"] if p["name"] == name)


def test_a_permalink_names_the_model_its_parameters_and_the_path_by_action_indices() -> None:
    page = _page("model=twophase&variant=commit-on-majority&rms=3&path=0.2.4")
    assert page == Page("twophase", "commit-on-majority", (("rms", "3"),), (0, 2, 4))
    assert _page(page.query()) == page
    v = view(page)
    # each index picks among the actions enabled at that point, as the previous page listed them
    for k in range(3):
        before = view(Page(page.model, page.variant, page.params, page.path[:k]))
        assert v["steps"][k]["action"] == before["actions"][page.path[k]]["label"]
    assert v["steps"][0]["action"] == "prepare(node='rm0')"
    assert {p["name"]: p["value"] for p in v["params"]} == {"rms": 3, "max_crashes": 0}
    assert v["query"] == page.query() and _page(v["actions"][0]["query"]).path == (0, 2, 4, 0)


def test_a_url_names_only_registered_models_or_the_served_one_never_a_file() -> None:
    with pytest.raises(ExplorerError, match="unknown model"):
        _page("model=/tmp/evil.py:Evil&path=")
    assert "tests/x.py:M" in model_names("tests/x.py:M")
    for bad, why in (("variant=x", "names no model"), ("model=twophase&path=1.x", "action indices"),
                     ("model=twophase&path=-1", "not negative")):
        with pytest.raises(ExplorerError, match=why):
            _page(bad)


def test_a_wrong_parameter_or_an_action_index_out_of_range_is_a_one_line_error() -> None:
    with pytest.raises(ExplorerError, match="--rms takes int values"):
        view(_page("model=twophase&rms=x&path="))
    with pytest.raises(ExplorerError, match=r"no parameter|unknown option"):
        view(_page("model=twophase&nodes=3&path="))
    with pytest.raises(ExplorerError, match="step 2: action index 99 but only"):
        view(_page("model=twophase&rms=3&path=0.99"))


def test_the_planted_2pc_bug_turns_atomicity_false_at_its_last_step(cex: dict[str, Any]) -> None:
    model = build(TWOPHASE.model, TWOPHASE.variant, TWOPHASE.params)
    actions = [s["action"] for s in cex["path"][1:]]
    page = load(cex, "twophase", model_names("twophase"))
    assert page.model == "twophase" and page.variant == "commit-on-majority"
    assert replay(model, actions).states == replay(model, [s["action"] for s in view(page)["steps"]]).states
    before = view(Page(page.model, page.variant, page.params, page.path[:-1]))
    after = view(page)
    assert _prop(before, "atomicity")["value"] is True and _prop(after, "atomicity")["value"] is False
    assert _prop(after, "atomicity")["first_false"] == len(actions)
    assert _prop(after, "all_aborted")["value"] is False and _prop(after, "all_aborted")["first_false"] is None
    assert after["chart"]["svg"].startswith("<svg") and len(after["chart"]["svg"]) > len(before["chart"]["svg"])
    assert [f["field"] for f in after["state"] if f["changed"]] == ["rm0"]  # the step that broke it


def test_a_refinement_failure_says_which_step_and_why() -> None:
    v = view(_page("model=twophase&variant=commit-on-majority&rms=3&path=0.0.3.4.2.2"))
    r = _prop(v, "refines_tcommit")
    assert r["value"] is False and r["first_false"] == 6 and "no step of the abstract model" in r["note"]


def test_loading_refuses_what_is_not_a_counterexample_of_a_model_here(cex: dict[str, Any]) -> None:
    allowed = model_names("twophase")
    with pytest.raises(ExplorerError, match="not a counterexample"):
        load({"verdict": "exhausted"}, "twophase", allowed)
    with pytest.raises(ExplorerError, match="of model 'nosuch'"):
        load({**cex, "model": "nosuch"}, "twophase", allowed)
    broken = {**cex, "path": [*cex["path"][:2], {"action": "commit(node='tm')"}]}
    with pytest.raises(ExplorerError, match="step 2: commit\\(node='tm'\\) is not enabled"):
        load(broken, "twophase", allowed)


def test_random_steps_extend_the_path_reproducibly_by_seed() -> None:
    model = build(TWOPHASE.model, TWOPHASE.variant, TWOPHASE.params)
    start = Page(TWOPHASE.model, TWOPHASE.variant, TWOPHASE.params, (0,))
    a = random_extension(start, model, 5, seed=3)
    assert a[:1] == [0] and len(a) == 6 and a == random_extension(start, model, 5, seed=3)
    assert {tuple(random_extension(start, model, 5, seed=s)) for s in range(6)} != {tuple(a)}
    plain = Page("tcommit", None, (("rms", "2"),), ())
    long = random_extension(plain, build(plain.model, None, plain.params), 500, seed=1)
    end = view(Page(plain.model, None, plain.params, tuple(long)))
    assert len(long) < 500 and end["actions"] == []  # it stops where no action is enabled
    # and calls that a deadlock exactly as `check --deadlock` would (TCommit declares no @terminal)
    path = replay(build(plain.model, None, plain.params), [s["action"] for s in end["steps"]])
    assert end["deadlock"] is (path.violation("deadlock") is not None) is True


def test_a_plain_model_shows_its_path_as_steps_without_a_chart() -> None:
    v = view(_page("model=tcommit&rms=2&path=0"))
    assert v["chart"]["svg"] is None and "not an actor model" in v["chart"]["note"]
    assert len(v["text"]) == 2 and v["steps"][0]["action"] in v["text"][1]


@pytest.mark.parametrize("name", sorted(registered()))
def test_every_registered_model_shows_its_first_page_and_a_step(name: str) -> None:
    v = view(Page(name, None, (), ()))
    assert v["state"] and v["properties"] and v["actions"]
    kinds = {p["kind"] for p in v["properties"]}
    assert "sometimes" in kinds and all(p["value"] is not False for p in v["properties"] if p["kind"] == "always")
    step = view(Page(name, None, (), (0,)))
    assert step["steps"][0]["action"] == v["actions"][0]["label"]


def test_a_path_too_long_to_chart_is_shown_as_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    from protoproof.explorer import session

    monkeypatch.setattr(session, "CHART_MAX_STEPS", 2)
    assert view(_page("model=twophase&rms=3&path=0.0"))["chart"]["svg"] is not None
    v = view(_page("model=twophase&rms=3&path=0.0.0"))
    assert v["chart"]["svg"] is None and "over 2 steps" in v["chart"]["note"] and len(v["text"]) == 4


def test_a_liveness_counterexample_loads_as_a_lasso_that_violates_the_property() -> None:
    with registration(Protocol("spin-explorer-test", Spin)):
        out = io.StringIO()
        assert main(["check", "spin-explorer-test", "--json", "--quiet"], out=out, err=io.StringIO()) == 1
        data = json.loads(out.getvalue())
        assert data["property"] == "done" and data["loop_start"] is not None
        page = load(data, "spin-explorer-test", model_names("spin-explorer-test"))
        assert page.loop == data["loop_start"] and f"loop={page.loop}" in page.query()
        lasso = view(parse_query(parse_qs(page.query(), keep_blank_values=True), model_names("spin-explorer-test")))
        done = _prop(lasso, "done")
        assert done["value"] is False and "done" in done["note"] and lasso["loop"] == page.loop
        assert any("loop" in line for line in lasso["text"])
        plain = view(Page(page.model, page.variant, page.params, page.path))  # the same steps, not a lasso
        assert _prop(plain, "done")["value"] is None and "loop" not in plain["query"]
        assert all("loop" not in a["query"] for a in lasso["actions"])  # a step of one's own leaves the lasso
    with pytest.raises(ExplorerError, match="loop '5'"):
        _page("model=twophase&path=0.0&loop=5")


def test_the_explorer_chart_routes_its_arrows_as_check_graph_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's chart goes through the same two-pass drawing as ``check --graph`` (arrows around boxes)."""
    import protoproof.explorer.session as session

    drawn: list[str] = []
    real = session.layout

    def spy(src: str, fmt: str) -> Any:
        drawn.append(src)
        return real(src, fmt)

    monkeypatch.setattr(session, "layout", spy)
    v = view(_page("model=twophase&variant=commit-on-majority&rms=3&path=0.0.3.4.2.2"))
    assert v["chart"]["svg"] is not None, v["chart"]["note"]
    assert len(drawn) == 1 and ROUTE_MARK in drawn[0]
