"""The hashing benchmark: its tables, and what it says without matplotlib."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from protoproof.benchmarks import hashing


def test_the_hashing_benchmark_prints_balance_movement_and_lookup_beside_the_yardsticks(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert hashing.main(["--keys", "3000", "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert all(f"## {t}" in out for t in ("balance", "movement", "lookup")) and "plot:" not in out
    rows = {tuple(line.split()[:2]): line.split() for line in out.splitlines() if line.startswith(("ring (", "mod N"))}
    mod_n_join, ring_join = float(rows["mod", "N"][3]), float(rows["ring", "(100"][4])
    assert mod_n_join > 0.8 and ring_join < 0.2  # mod N moves almost everything, the ring about 1/(n+1)


def test_without_matplotlib_the_plot_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    msg = hashing.plot(tmp_path / "h.png")
    assert "pip install 'protoproof[bench]'" in msg and not (tmp_path / "h.png").exists()
