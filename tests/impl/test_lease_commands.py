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
    r = run("cluster", "lease", "--dir", d, "--detach", "--trace", "--clients", "2", "--lease", "10",
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
