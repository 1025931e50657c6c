"""--checkpoint / --resume, and --memory: a saved, killed, resumed or spilled search counts the same."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from protoproof.checker.explore import Options, explore
from protoproof.checker.parallel import PartitionWorker, Scale
from protoproof.checker.visited import Runs, Wide
from protoproof.models.registry import protocol_for

CHECK = [sys.executable, "-m", "protoproof", "check", "twophase", "--json", "--quiet"]


def check(*args: str, timeout: float = 300) -> tuple[int, dict[str, Any], str]:
    p = subprocess.run([*CHECK, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, json.loads(p.stdout) if p.stdout.strip() else {}, p.stderr


def same(a: dict[str, Any], b: dict[str, Any]) -> None:
    for k in ("verdict", "property", "distinct_states", "transitions", "depth", "coverage"):
        assert a[k] == b[k], k


def test_a_search_killed_with_sigkill_resumes_with_the_same_counts_depth_and_verdict(tmp_path: Path) -> None:
    folder = str(tmp_path / "ck")
    manifest = os.path.join(folder, "manifest.json")
    # The scalar workers take seconds here (the vector ones a fraction of one: the run could end before
    # the kill); the resumed run below is on the vector workers, so a checkpoint crosses engines too.
    args = ["--rms", "6", "--workers", "2", "--engine", "scalar", "--checkpoint", folder, "--checkpoint-every", "0.001"]
    p = subprocess.Popen([*CHECK, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 200
        while time.monotonic() < deadline and p.poll() is None:
            if os.path.exists(manifest):
                with open(manifest) as f:
                    if json.load(f)["depth"] >= 8:
                        break
            time.sleep(0.01)
        assert p.poll() is None, "the run ended before it could be killed"
        p.send_signal(signal.SIGKILL)
    finally:
        p.wait(timeout=30)
    with open(manifest) as f:
        at = json.load(f)
    assert 8 <= at["depth"] < 19
    assert not survivors(folder), "the workers outlived their killed coordinator"
    code, resumed, err = check("--rms", "6", "--resume", folder)
    assert code == 0, err
    _, whole, _ = check("--rms", "6")
    same(resumed, whole)
    assert resumed["distinct_states"] == 50_816


def survivors(word: str, wait: float = 10.0) -> list[int]:
    """Processes whose command line holds ``word`` after at most ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for pid in os.listdir("/proc"):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if word.encode() in f.read():
                        found.append(int(pid))
            except (OSError, ValueError):
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_ctrl_c_writes_a_checkpoint_at_the_end_of_the_level_and_resumes(tmp_path: Path) -> None:
    folder = str(tmp_path / "ck")
    p = subprocess.Popen([*CHECK, "--rms", "6", "--workers", "2", "--engine", "scalar", "--checkpoint", folder],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(survivors(folder, wait=0)) < 3 and time.monotonic() < deadline:  # the workers are forked:
        time.sleep(0.05)  # the search has started (a Ctrl-C before it is Python's, not the search's)
    time.sleep(0.5)
    assert p.poll() is None, "the run ended before Ctrl-C"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    cut = json.loads(out)
    assert cut["verdict"] == "bounded" and cut["bound"].startswith("interrupted by Ctrl-C (checkpoint in"), err
    code, resumed, err = check("--rms", "6", "--resume", folder)
    assert code == 0, err
    assert resumed["distinct_states"] == 50_816 and resumed["depth"] == 19
    assert not survivors(folder)


def test_a_timeout_writes_a_checkpoint_that_resumes_to_the_end(tmp_path: Path) -> None:
    m = protocol_for("twophase").model_class()(rms=4)
    folder = str(tmp_path / "ck")
    cut = explore(m, Options(timeout=1e-9, scale=Scale(checkpoint=folder, checkpoint_every=1e9)))
    assert cut.verdict == "bounded" and cut.bound is not None and cut.bound.startswith("timeout")
    with open(os.path.join(folder, "manifest.json")) as f:
        assert json.load(f)["depth"] == 1  # written at the timeout, not by the period
    done = explore(m, Options(scale=Scale(workers=3, resume=folder, checkpoint=folder)))  # another number of workers
    whole = explore(m)
    a, b = done.stats, whole.stats
    assert (done.verdict, a.distinct_states, a.transitions, a.depth, a.coverage) == (
        whole.verdict, b.distinct_states, b.transitions, b.depth, b.coverage)
    assert {k: len(p.actions) for k, p in done.examples.items() if p} == {
        k: len(p.actions) for k, p in whole.examples.items() if p}


def test_a_checkpoint_of_other_parameters_is_refused_in_one_line(tmp_path: Path) -> None:
    folder = str(tmp_path / "ck")
    code, _d, _err = check("--rms", "3", "--checkpoint", folder, "--checkpoint-every", "0.001")
    assert code == 0
    code, _d, err = check("--rms", "4", "--resume", folder)
    assert code == 2 and "written by another model, other parameters or other checks" in err
    assert len(err.strip().splitlines()) == 1
    code, _d, err = check("--rms", "3", "--property", "atomicity", "--resume", folder)
    assert code == 2 and "other checks" in err
    code, _d, err = check("--rms", "3", "--resume", str(tmp_path / "nothing"))
    assert code == 2 and "no checkpoint there" in err


@pytest.mark.parametrize("name", ["twophase", "paxos"])
def test_a_tiny_memory_budget_spills_to_disk_and_counts_the_same(name: str) -> None:
    m = protocol_for(name).model_class()()
    whole = explore(m)
    tiny = explore(m, Options(scale=Scale(workers=1, memory_mb=0.001)))
    assert (tiny.verdict, tiny.stats.distinct_states, tiny.stats.transitions, tiny.stats.depth) == (
        whole.verdict, whole.stats.distinct_states, whole.stats.transitions, whole.stats.depth)
    assert "kept on disk" in tiny.engine
    roomy = explore(m, Options(scale=Scale(workers=1, memory_mb=100)))
    assert "kept on disk" not in roomy.engine


def test_visited_sets_spill_past_their_budget_and_still_find_every_code(tmp_path: Path) -> None:
    import numpy as np

    runs = Runs(budget=1000, spill_dir=str(tmp_path))
    for lo in range(0, 5000, 500):
        codes = np.arange(lo, lo + 500, dtype=np.int64) * 7
        runs.add(*runs.new(codes, codes + 1))
    assert runs.spilled and len(runs) == 5000 and runs.nbytes <= 1000 + 16 * 5000 // 2
    fresh, _ = runs.new(np.array([7, 8, 35_000], np.int64), np.zeros(3, np.int64))
    assert fresh.tolist() == [8, 35_000] and runs.parent(7 * 4999) == 7 * 4999 + 1
    wide = Wide(budget=1000, spill_dir=str(tmp_path))
    big = 1 << 100
    for lo in range(0, 300, 30):
        wide.add(wide.new({big + c: c - 1 for c in range(lo, lo + 30)}))
    assert wide.spilled and len(wide) == 300 and wide.parent(big + 5) == 4 and wide.parent(big) == -1
    assert wide.new({big + 3: 0, big + 300: 0}) == {big + 300: 0}
    runs.close()
    wide.close()


def test_a_worker_keeps_its_share_of_a_checkpoint_written_by_another_number_of_workers(tmp_path: Path) -> None:
    m = protocol_for("twophase").model_class()(rms=2)
    o = Options()
    one = PartitionWorker(m, o, 0, 1, None, None)
    one.seed([m.state_type.pack(s) for s in m.initial_states()])
    one.save(str(tmp_path), "t")
    halves = [PartitionWorker(m, o, i, 2, None, None) for i in range(2)]
    for w in halves:
        w.load(str(tmp_path), "t", 1, None)
    assert sum(len(w.visited) for w in halves) == len(one.visited) == 1
