"""The examples in examples/ work with every command, as the README shows them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from protoproof import cli

ROOT = Path(__file__).resolve().parents[1]
MUTEX = f"{ROOT}/examples/mutex.py:Mutex"
LOCKSERVER = f"{ROOT}/examples/lockserver.py:LockServer"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_the_mutex_example_runs_from_the_shell_by_its_relative_path() -> None:
    env = dict(os.environ)
    done = subprocess.run([sys.executable, "-m", "protoproof", "check", "examples/mutex.py:Mutex", "--quiet"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("model mutex (procs=3)\nno violation: every reachable state was visited")


def test_the_mutex_example_is_checked_and_its_planted_bug_drawn_and_replayed(tmp_path: Path) -> None:
    code, out, _ = run("check", MUTEX, "--json", "--quiet")
    d = json.loads(out)
    assert code == 0 and (d["distinct_states"], d["transitions"], d["depth"]) == (20, 48, 4)
    graph, script = tmp_path / "cex.dot", tmp_path / "replay.py"
    code, out, _ = run("check", MUTEX, "--variant", "check-then-set", "--quiet", "--graph", str(graph),
                       "--replay", str(script))
    assert code == 1 and "shortest counterexample (6 steps):" in out
    dot = graph.read_text()
    assert dot.startswith("digraph \"state graph of mutex\"") and "label=\"acquire(p=1)\", color=\"red\"" in dot
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "mutual_exclusion is false in the last state" in done.stdout, done.stderr


def test_the_mutex_example_gets_bmc_prove_with_its_strengthening_and_conform() -> None:
    code, out, _ = run("bmc", MUTEX, "--variant", "check-then-set", "--depth", "6")
    assert code == 1 and out.startswith("bmc mutex: violated (mutual_exclusion at depth 6)")
    code, out, _ = run("prove", MUTEX)
    assert code == 0 and out.startswith("prove mutex: proved") and "mutual_exclusion & locked_iff_someone_inside" in out
    code, out, _ = run("conform", MUTEX, "--random", "50")
    assert code == 0 and out.startswith("conform mutex: conforms")


def test_the_lockserver_example_is_checked_and_its_stale_grant_found_by_both_engines(tmp_path: Path) -> None:
    code, out, _ = run("check", LOCKSERVER, "--json", "--quiet")
    d = json.loads(out)
    assert code == 0 and (d["verdict"], d["distinct_states"]) == ("exhausted", 157)
    chart = tmp_path / "cex.dot"
    code, out, _ = run("check", LOCKSERVER, "--variant", "ignore-epoch", "--quiet", "--graph", str(chart))
    assert code == 1 and "shortest counterexample (7 steps):" in out
    assert "4. deliver(src='server', dst='client0', msg=Grant(epoch=1))  ->  client0.status='holding'" in out
    assert "sequence chart of lockserver" in chart.read_text()
    code, out, _ = run("bmc", LOCKSERVER, "--variant", "ignore-epoch", "--depth", "7")
    assert code == 1 and out.startswith("bmc lockserver: violated (one_holder at depth 7)")
    code, out, _ = run("conform", LOCKSERVER, "--random", "50")
    assert code == 0 and out.startswith("conform lockserver: conforms")
