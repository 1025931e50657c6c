"""Output that explains the bug: what a violated refinement claims and which abstract step was
missing, what "depth" means, and one JSON encoding of values for every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protoproof import cli
from protoproof.checker import render
from protoproof.models.messages import to_jsonable
from protoproof.models.twophase import TwoPhase
from protoproof.tests.test_cli import run


def test_a_refinement_violation_says_what_it_claims_and_which_abstract_step_is_missing() -> None:
    code, out, _ = run("check", "twophase", "--variant", "volatile-vote", "--json", "--quiet")
    d = json.loads(out)
    assert code == 1 and d["property"] == "refines_tcommit"
    assert d["property_doc"].startswith("every step of twophase maps to a step of tcommit or to no change")
    assert d["explanation"] == (
        "step 3 (recover(node='rm0')) changes the tcommit view (rm: ('prepared', 'working', 'working') -> "
        "('working', 'working', 'working')); tcommit has no step doing that from rm=('prepared', 'working', "
        "'working'): its steps there are prepare(rm=1), prepare(rm=2), decide_abort(rm=0), decide_abort(rm=1), "
        "decide_abort(rm=2)")
    code, out, _ = run("check", "twophase", "--variant", "volatile-vote", "--quiet")
    assert "why: step 3 (recover(node='rm0')) changes the tcommit view" in out


def test_a_deadlock_violation_says_what_a_deadlock_is() -> None:
    code, out, _ = run("check", "tcommit", "--deadlock", "--quiet")
    assert code == 1 and "VIOLATED: deadlock: a reachable state has no successor" in out


def test_depth_is_printed_as_steps_with_its_meaning() -> None:
    _code, out, _ = run("check", "twophase", "--quiet")
    assert "288 distinct states, 1,145 transitions, longest shortest path 10 steps," in out
    _code, out, _ = run("check", "twophase", "--variant", "volatile-vote", "--quiet")
    assert "shortest counterexample (3 steps)" in out and "expanded to 2 steps from the start" in out
    assert "depth 2" not in out


def test_sets_are_sorted_json_lists_in_check_and_bmc_alike() -> None:
    _code, out, _ = run("check", "twophase", "--variant", "commit-on-majority", "--json", "--quiet")
    checked = json.loads(out)["path"][-1]["state"]
    _code, out, _ = run("bmc", "twophase", "--variant", "commit-on-majority", "--depth", "8", "--json")
    bounded = json.loads(out)["path"][-1]["state"]
    assert isinstance(checked["tm.prepared"], list) and isinstance(bounded["tm.prepared"], list)
    assert "frozenset" not in json.dumps(checked) + json.dumps(bounded)


def test_the_json_encoding_of_a_state_is_plain_json_all_the_way_down() -> None:
    model = TwoPhase()
    s = model.initial_states()[0]
    got = to_jsonable({"flat": model.describe_state(s), "set": frozenset({2, 1}), "obj": object})
    assert json.loads(json.dumps(got)) == got
    assert got["set"] == [1, 2] and got["obj"] == repr(object)


def _failing_render(_dot: str, filename: str) -> str:
    raise RuntimeError(f"dot failed (exit 1) to render {filename}: out of memory")


def test_a_graph_that_cannot_be_drawn_is_reported_after_the_verdict_with_the_verdicts_exit_status(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "write_graph", _failing_render)
    code, out, err = run("check", "twophase", "--variant", "commit-on-majority", "--graph", str(tmp_path / "x.svg"),
                         "--quiet")
    assert code == 1 and "VIOLATED: refines_tcommit" in out
    assert err == f"protoproof: error: --graph: could not write it: dot failed (exit 1) to render {tmp_path}/x.svg: " \
                  "out of memory\n"
    code, out, err = run("bmc", "twophase", "--variant", "commit-on-majority", "--depth", "8", "--json",
                         "--graph", str(tmp_path / "x.svg"))
    d = json.loads(out)
    assert code == 1 and d["verdict"] == "violated" and d["output_errors"][0].startswith("--graph: could not write")


def test_a_replay_script_that_cannot_be_written_keeps_the_verdict(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "replay.py"
    target.mkdir()  # in the way once the run is over (the check before the run passed: it was not there)
    monkeypatch.setattr(cli, "_check_writable", lambda flag, filename: None)
    code, out, err = run("check", "twophase", "--variant", "commit-on-majority", "--replay", str(target),
                         "--json", "--quiet")
    d = json.loads(out)
    assert code == 1 and d["verdict"] == "violated" and "replay" in d
    assert err.startswith("protoproof: error: --replay: could not write it: [Errno 21] Is a directory")
