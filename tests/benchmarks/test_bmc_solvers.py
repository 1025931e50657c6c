"""The BMC solver benchmark's ``--slices`` comparison: same answers, and the baseline really is fixed."""

from __future__ import annotations

import pytest

from protoproof.benchmarks import bmc_solvers
from protoproof.checker.bmc_sat import Unrolled


def test_fixed_and_sized_cadical_calls_agree_and_the_table_gives_the_ratio(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert bmc_solvers.main(["--slices", "--only", "2pc commit-on-majority"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| 2pc"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == cells[5] == "violated at 7" and float(cells[8]) > 0


def test_the_fixed_baseline_pins_every_call_and_gives_the_sizing_back() -> None:
    before = Unrolled.SLICE, Unrolled.SLICE_MIN, Unrolled.SLICE_MAX
    with bmc_solvers._fixed_slices(20_000):
        assert Unrolled.next_budget(Unrolled.SLICE, 600.0) == Unrolled.next_budget(Unrolled.SLICE, 0.0) == 20_000
    assert before == (Unrolled.SLICE, Unrolled.SLICE_MIN, Unrolled.SLICE_MAX)


def test_two_comparisons_at_once_are_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        bmc_solvers.main(["--slices", "--one-query"])
    assert e.value.code == 2
    assert "give one" in capsys.readouterr().err
