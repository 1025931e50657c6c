"""`protoproof bmc --engine pdr`: Spacer from the command line, printed and drawn like bmc's paths."""

from __future__ import annotations

import io
import json
import shutil
import signal
import sys
from pathlib import Path

import pytest

from protoproof import cli

from .test_cli_interrupt import interrupt_when


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_pdr_reports_a_replayed_violation_as_json_with_exit_1() -> None:
    code, out, _ = run("bmc", "twophase", "--variant", "commit-without-votes", "--engine", "pdr", "--json")
    d = json.loads(out)
    assert code == 1 and d["engine"] == "pdr" and d["verdict"] == "violated" and d["property"] == "atomicity"
    assert d["depth"] == len(d["path"]) - 1 >= 3


def test_pdr_proves_a_correct_model_with_exit_0_and_says_the_invariant_was_rechecked() -> None:
    code, out, _ = run("bmc", "tcommit", "--rms", "3", "--engine", "pdr")
    assert code == 0 and out.startswith("pdr tcommit: proved") and "re-checked outside Spacer" in out


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz")
def test_pdr_draws_its_path_like_bmc(tmp_path: Path) -> None:
    f = tmp_path / "p.svg"
    code, _out, _ = run("bmc", "twophase", "--variant", "commit-without-votes", "--engine", "pdr", "--graph", str(f))
    assert code == 1 and f.read_text().lstrip().startswith(("<?xml", "<svg"))


@pytest.mark.parametrize(("argv", "message"), [
    (["--engine", "pdr", "--depth", "3"], "--depth: not used by --engine pdr"),
    ([], "--depth is required"),
    (["--depth", "3", "--timeout", "5"], "--timeout: only for --engine pdr"),
    (["--engine", "pdr", "--property", "agreement"], "no @always property 'agreement'"),
    (["--engine", "ic3"], "invalid choice"),
    (["--engine", "pdr", "--encoding", "int"], "--encoding: only for --engine bmc"),
    (["--engine", "pdr", "--solver", "cadical"], "--solver: only for --engine bmc"),
    (["--depth", "3", "--solver", "cadical", "--encoding", "int"], "--solver cadical: needs the bit-vector"),
    (["--depth", "3", "--solver", "minisat"], "invalid choice"),
])
def test_bad_bmc_or_pdr_input_is_one_line_and_exit_2(argv: list[str], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code, _out, err = run("bmc", "twophase", *argv)
    except SystemExit as e:  # argparse's own errors
        code, err = int(e.code or 0), capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty and SIGINT")
def test_ctrl_c_during_spacer_ends_unknown_and_names_the_interrupt(tmp_path: Path) -> None:
    code, out, _ = interrupt_when(tmp_path, "asking Spacer", "bmc", "twophase", "--max-crashes", "1",
                                  "--variant", "volatile-vote", "--engine", "pdr", "--json", sig=signal.SIGINT)
    d = json.loads(out)
    assert code == 3 and d["verdict"] == "unknown" and d["reason"].startswith("interrupted (Ctrl-C)"), d


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGTERM")
def test_sigterm_during_spacer_ends_unknown_and_names_the_signal(tmp_path: Path) -> None:
    """Python runs the SIGTERM handler only after z3's call returns: the query is interrupted for it
    (uninterrupted, this query runs for about 50 s of CPU).  Timed from the signal to the exit: the
    whole run once took 34 s of a 30 s bound under a loaded CI, before Spacer was even asked."""
    timing: dict[str, float] = {}
    code, out, _ = interrupt_when(tmp_path, "asking Spacer", "bmc", "twophase", "--max-crashes", "1",
                                  "--variant", "volatile-vote", "--engine", "pdr", "--json", sig=signal.SIGTERM,
                                  timing=timing)
    d = json.loads(out)
    assert code == 3 and d["verdict"] == "unknown" and d["reason"].startswith("interrupted (SIGTERM)"), d
    assert timing["ended"] - timing["sent"] < 20, timing
