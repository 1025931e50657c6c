"""``protoproof cluster lease`` and ``protoproof lock`` as a user runs them, each command a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PY = [sys.executable, "-m", "protoproof.impl"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PY, *args], capture_output=True, text=True, timeout=60)


def test_lock_commands_acquire_write_release_and_the_next_holder_writes_with_a_higher_token(tmp_path: Path) -> None:
    d = str(tmp_path / "ll")
    r = run("cluster", "lease", "--dir", d, "--detach", "--trace", "--clients", "2", "--lease", "50",
            "--margin", "3", "--tick-ms", "100")
    assert r.returncode == 0, r.stderr
    try:
        out = [run("lock", "--cluster", d, *a) for a in (
            ["acquire", "--client", "0"], ["write", "--client", "0"], ["write", "--client", "1"],
            ["release", "--client", "0"], ["acquire", "--client", "1"], ["write", "--client", "1"], ["log"])]
    finally:
        assert run("cluster", "lease", "--dir", d, "--stop").returncode == 0
    assert [p.returncode for p in out] == [0, 0, 1, 0, 0, 0, 0], [p.stderr for p in out]
    assert "token 1" in out[0].stdout and "written with token 1" in out[1].stdout
    assert "does not hold the lock" in out[2].stderr
    assert "token 2" in out[4].stdout and "written with token 2" in out[5].stdout
    assert out[6].stdout.strip() == "accepted tokens: 1 2; refused: -"
    v = run("validate", str(tmp_path / "ll" / "trace"))
    assert v.returncode == 0 and "trace fits the model" in v.stdout, v.stdout + v.stderr


def test_the_no_fencing_variant_starts_a_cluster_whose_storage_does_not_fence(tmp_path: Path) -> None:
    import json

    d = str(tmp_path / "nf")
    r = run("cluster", "lease", "--dir", d, "--detach", "--variant", "no-fencing", "--lease", "50", "--margin", "3")
    assert r.returncode == 0, r.stderr
    try:
        assert json.loads((tmp_path / "nf" / "cluster.json").read_text())["params"]["fencing"] == 0
        out = [run("lock", "--cluster", d, *a) for a in (["acquire", "--client", "0"], ["write", "--client", "0"])]
    finally:
        run("cluster", "stop", "--dir", d)
    assert [p.returncode for p in out] == [0, 0], [p.stderr for p in out]
    clash = run("cluster", "lease", "--dir", str(tmp_path / "y"), "--variant", "no-fencing", "--fencing", "1")
    assert clash.returncode == 2 and "drop --fencing" in clash.stderr


def test_an_unknown_runtime_variant_gets_one_line_naming_the_known_ones(tmp_path: Path) -> None:
    r = run("cluster", "lease", "--dir", str(tmp_path / "x"), "--variant", "no-such")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "known: no-fencing" in r.stderr
    assert not (tmp_path / "x").exists()
