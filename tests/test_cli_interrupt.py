"""Long commands show progress on a terminal and end on Ctrl-C with their partial, honest verdict.

Each test runs the command in a subprocess whose stderr is a pseudo-terminal, waits for a
progress line that says the work is under way, sends SIGINT, and reads the verdict."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty and SIGINT")


def interrupt_when(tmp_path: Path, needle: str, *argv: str, wait: float = 240,
                   sig: int = signal.SIGINT, timing: dict[str, float] | None = None) -> tuple[int, str, str]:
    """Run ``protoproof ARGV`` with stderr on a pty; ``sig`` (SIGINT) once ``needle`` shows on it.
    (exit status, stdout, what the terminal showed); ``timing`` gets "sent" and "ended" (monotonic)."""
    master, slave = pty.openpty()
    with (tmp_path / "stdout").open("w+") as out:
        p = subprocess.Popen([sys.executable, "-m", "protoproof", *argv], stdout=out, stderr=slave,
                             stdin=subprocess.DEVNULL)
        os.close(slave)
        seen, sent = b"", False
        deadline = time.monotonic() + wait
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                seen += chunk
                if not chunk and p.poll() is not None:
                    break
            elif p.poll() is not None:
                break
            if not sent and (needle.encode() in seen or time.monotonic() > deadline):
                p.send_signal(sig)
                sent = True
                if timing is not None:
                    timing["sent"] = time.monotonic()
        os.close(master)
        p.wait(timeout=60)
        if timing is not None:
            timing["ended"] = time.monotonic()
        out.seek(0)
        assert needle.encode() in seen, f"never saw {needle!r}: {seen.decode(errors='replace')}"
        return p.returncode, out.read(), seen.decode(errors="replace")


def test_ctrl_c_on_check_prints_the_partial_bounded_verdict_with_counts(tmp_path: Path) -> None:
    code, out, shown = interrupt_when(tmp_path, "states/s", "check", "paxos", "--max-ballot", "2")
    assert code == 3, out + shown
    assert "BOUNDED: no violation found within" in out and "(interrupted by Ctrl-C); this is not a proof" in out
    assert "distinct states" in out and "interrupted" not in shown.split("\n")[-1]


def test_ctrl_c_on_check_json_gives_a_bounded_json_object(tmp_path: Path) -> None:
    code, out, _ = interrupt_when(tmp_path, "states/s", "check", "paxos", "--max-ballot", "2", "--json")
    d: dict[str, Any] = json.loads(out)
    assert code == 3 and d["verdict"] == "bounded" and d["bound"].endswith("(interrupted by Ctrl-C)")
    assert 0 < d["distinct_states"] < 185_369 and d["transitions"] > 0


def test_sigterm_on_check_ends_it_as_ctrl_c_does_and_names_the_signal(tmp_path: Path) -> None:
    """``timeout 600 protoproof check ...`` (or a supervisor) keeps what was checked."""
    code, out, _ = interrupt_when(tmp_path, "states/s", "check", "paxos", "--max-ballot", "2", "--json",
                                  sig=signal.SIGTERM)
    d: dict[str, Any] = json.loads(out)
    assert code == 3 and d["verdict"] == "bounded" and d["bound"].endswith("(interrupted by SIGTERM)"), d
    assert 0 < d["distinct_states"] < 185_369


def test_sigterm_on_the_vector_engine_keeps_the_levels_finished(tmp_path: Path) -> None:
    code, out, _ = interrupt_when(tmp_path, "(vector)", "check", "twophase", "--rms", "9", "--json",
                                  sig=signal.SIGTERM)
    d: dict[str, Any] = json.loads(out)
    assert code == 3 and d["verdict"] == "bounded" and d["bound"].endswith("(interrupted by SIGTERM)"), d


def test_bmc_prints_each_depth_as_it_ends_and_ctrl_c_keeps_the_depths_checked(tmp_path: Path) -> None:
    code, out, shown = interrupt_when(tmp_path, "depth 3: no violation", "bmc", "twophase", "--rms", "4",
                                      "--depth", "60", "--json")
    d = json.loads(out)
    assert code == 3 and d["verdict"] == "bounded" and d["depth_reached"] >= 3
    assert d["reason"].startswith("interrupted (Ctrl-C) while checking depth")
    assert "building the z3 relation of twophase" in shown and "depth 0: no violation" in shown


def test_ctrl_c_on_prove_is_unknown_never_proved(tmp_path: Path) -> None:
    code, out, shown = interrupt_when(tmp_path, "building the z3 relation", "prove", "paxos", "--json")
    d = json.loads(out)
    assert code == 3 and d["verdict"] == "unknown", shown
    assert "interrupted (Ctrl-C)" in json.dumps(d)


def test_ctrl_c_on_conform_is_unknown_with_the_states_compared_so_far(tmp_path: Path) -> None:
    code, out, shown = interrupt_when(tmp_path, "collecting up to", "conform", "paxos", "--json")
    d = json.loads(out)
    assert code == 3 and d["verdict"] == "unknown", shown
    assert "interrupted" in d["reason"] and "--max-states" not in d["reason"]  # no bound was given


def test_no_progress_is_written_when_stderr_is_not_a_terminal() -> None:
    done = subprocess.run([sys.executable, "-m", "protoproof", "bmc", "twophase", "--depth", "3"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 3 and "depth   3:" in done.stdout
    assert "building the z3 relation" not in done.stderr and "no violation (" not in done.stderr


def test_ctrl_c_on_the_vector_engine_keeps_the_levels_finished(tmp_path: Path) -> None:
    code, out, _ = interrupt_when(tmp_path, "(vector)", "check", "twophase", "--rms", "9", "--json")
    d: dict[str, Any] = json.loads(out)
    assert code == 3 and d["verdict"] == "bounded" and d["bound"].endswith("(interrupted by Ctrl-C)"), d
    assert d["engine"] == "vector" and 0 < d["distinct_states"] < 10_340_352
