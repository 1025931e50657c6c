"""Liveness from the command line: the lasso in text, JSON, replay scripts and charts; its limits."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from protoproof import cli
from protoproof.checker.render import LOOP_LABEL

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = f"{ROOT}/examples/liveness.py"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_two_phase_commit_blocks_when_the_tm_crashes_after_the_votes() -> None:
    code, out, _ = run("check", f"{EXAMPLE}:LiveTwoPhase", "--rms", "3", "--max-crashes", "1", "--json", "--quiet")
    d = json.loads(out)
    assert code == 1 and d["verdict"] == "violated" and d["property"] == "up_rms_decide"
    steps = [s["action"] for s in d["path"][1:]]
    assert steps == ["prepare(node='rm0')", "prepare(node='rm1')", "prepare(node='rm2')", "crash(node='tm')"]
    assert d["loop_start"] == 4  # it stays in the last state: only the (unfair) recovery is enabled
    live = d["liveness"]
    assert live["edges"] == d["transitions"] == 8029 and live["bytes_per_edge"] == 8.0
    assert live["store_bytes"] > live["edge_bytes"] == 8 * 8029


def test_two_phase_commit_decides_without_crashes_under_weak_fairness() -> None:
    code, out, _ = run("check", f"{EXAMPLE}:LiveTwoPhase", "--rms", "3", "--quiet")
    assert code == 0
    assert "no violation: every reachable state was visited (exhausted)" in out
    assert "liveness: checked on the full graph: up_rms_decide" in out
    assert "1,145 edges kept at 8 B/edge" in out


def test_a_lasso_is_printed_with_its_loop_and_replayed_by_the_script(tmp_path: Path) -> None:
    script = tmp_path / "replay.py"
    code, out, _ = run("check", f"{EXAMPLE}:WeakMutex", "--quiet", "--replay", str(script))
    assert code == 1
    assert "VIOLATED: first_enters" in out
    assert "a fair behaviour that never satisfies it: 1 step, then a loop of 3 steps repeated forever:" in out
    lines = out.splitlines()
    before_loop = lines[lines.index("     -- loop starts here --") - 1]
    assert before_loop.endswith("request(p=0)  ->  pc=('waiting', 'idle', 'idle')")
    assert "     back to state 1, forever" in lines
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "first_enters never holds from state 1 on" in done.stdout


def test_strong_fairness_removes_the_starvation() -> None:
    code, out, _ = run("check", f"{EXAMPLE}:StrongMutex", "--quiet")
    assert code == 0 and "exhausted" in out


def test_the_charts_mark_the_loop(tmp_path: Path) -> None:
    states = tmp_path / "states.dot"
    code, _, _ = run("check", f"{EXAMPLE}:WeakMutex", "--quiet", "--graph", str(states))
    assert code == 1
    dot = states.read_text()
    assert f'xlabel="{LOOP_LABEL}"' in dot
    chart = tmp_path / "chart.dot"
    code, _, _ = run("check", f"{EXAMPLE}:LiveTwoPhase", "--rms", "2", "--max-crashes", "1", "--quiet",
                     "--graph", str(chart))
    assert code == 1
    assert "stays here forever (no fair action is enabled)" in chart.read_text()


def test_naming_a_liveness_property_with_symmetry_is_refused_and_otherwise_it_is_skipped_with_a_note() -> None:
    code, _, err = run("check", f"{EXAMPLE}:LiveTwoPhase", "--rms", "2", "--symmetry", "--property",
                       "up_rms_decide", "--quiet")
    assert code == 2 and "not checked under --symmetry" in err
    code, out, _ = run("check", f"{EXAMPLE}:LiveTwoPhase", "--rms", "2", "--symmetry", "--quiet")
    assert code == 0
    assert "liveness: not checked under --symmetry" in out


def test_a_depth_bound_never_gives_a_liveness_ok_but_a_lasso_inside_it_is_real() -> None:
    code, out, _ = run("check", f"{EXAMPLE}:LiveTwoPhase", "--rms", "3", "--max-depth", "3", "--json", "--quiet")
    d = json.loads(out)
    assert code == 3 and d["verdict"] == "bounded"
    assert d["liveness"]["note"].startswith("no fair lasso in the explored part")
    code, out, _ = run("check", f"{EXAMPLE}:LiveTwoPhase", "--rms", "3", "--max-crashes", "1", "--max-depth", "4",
                       "--json", "--quiet")
    d = json.loads(out)
    assert code == 1 and d["verdict"] == "violated" and d["loop_start"] == 4


def test_no_liveness_keeps_no_edges() -> None:
    code, out, _ = run("check", f"{EXAMPLE}:LiveTwoPhase", "--rms", "3", "--max-crashes", "1", "--no-liveness",
                       "--json", "--quiet")
    d = json.loads(out)
    assert code == 0 and d["liveness"]["edges"] == 0 and d["liveness"]["note"].startswith("not checked")


def test_bmc_and_prove_say_they_do_not_check_liveness() -> None:
    code, out, _ = run("bmc", f"{EXAMPLE}:LiveTwoPhase", "--rms", "2", "--depth", "2")
    assert code == 3 and "not checked by bmc: liveness up_rms_decide" in out
    code, out, err = run("prove", f"{EXAMPLE}:LiveTwoPhase", "--rms", "2", "--json")
    assert json.loads(out)["verdict"] in {"proved", "unknown", "violated"}
    assert "not checked by prove: liveness up_rms_decide" in err
    code, _out, err = run("bmc", f"{EXAMPLE}:LiveTwoPhase", "--rms", "2", "--depth", "2",
                          "--property", "up_rms_decide")
    assert code == 2 and "no @always property 'up_rms_decide'" in err


def test_prove_says_it_does_not_check_the_refinement() -> None:
    code, out, _ = run("prove", "twophase", "--rms", "2")
    assert code == 0 and "not checked by prove: refinement refines_tcommit" in out
