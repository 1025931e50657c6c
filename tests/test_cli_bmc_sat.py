"""``bmc --solver cadical`` from the command line: the same report as z3's, Ctrl-C inside CaDiCaL
keeps the depths checked (its bad input: ``test_cli_pdr.py``)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from .test_cli_interrupt import interrupt_when
from .test_cli_pdr import run


def test_cadical_reports_the_shortest_violation_replayed_as_json() -> None:
    code, out, _ = run("bmc", "twophase", "--variant", "commit-on-majority", "--depth", "9", "--solver", "cadical",
                       "--json")
    d = json.loads(out)
    assert code == 1 and d["verdict"] == "violated" and d["depth_reached"] == 7
    assert d["encoding"].startswith("bit-vectors") and len(d["path"]) == 8


def test_cadical_on_a_correct_model_is_bounded_never_verified() -> None:
    code, out, _ = run("bmc", "twophase", "--rms", "3", "--depth", "6", "--solver", "cadical")
    assert code == 3 and out.startswith("bmc twophase: bounded")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty and SIGINT")
def test_ctrl_c_inside_cadical_keeps_the_depths_checked(tmp_path: Path) -> None:
    """Paxos at ballots 0..2: depth 12 alone takes seconds, so the signal lands inside CaDiCaL
    (which holds the GIL; a worker thread runs it in slices, see ``bmc_sat.Unrolled.solve``)."""
    code, out, shown = interrupt_when(tmp_path, "depth 11: no violation", "bmc", "paxos", "--max-ballot", "2",
                                      "--depth", "40", "--solver", "cadical", "--json", sig=signal.SIGINT)
    d = json.loads(out)
    assert code == 3 and d["verdict"] == "bounded" and d["depth_reached"] >= 11, d
    assert d["reason"].startswith("interrupted (Ctrl-C) while checking depth"), d
    assert "bit-blasted once for CaDiCaL" in shown
