"""Explicit checking of Raft (a bag network) now against an earlier commit, in the same run.

Each column is ``python -m protoproof check raft ...`` in a fresh process: ``now`` is this
checkout; ``base`` is the commit ``--base`` (default 206f84b, before the checker kept local
steps' results and the bag its tally) extracted with ``git archive`` into a temporary folder.
Both must print the same result (verdict, distinct states, transitions, depth, coverage): only
the timing line may differ.  CPU time and peak RSS are the child's own (``os.wait4``), so they are
fair on a shared machine where wall time is not.  Runs are interleaved; ``--repeat`` keeps the
one with the least CPU per column.

    python benchmarks/raft.py                       # every configuration, 200,000 / all states
    python benchmarks/raft.py --config vote --max-states 60000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BASE = "206f84b"

#: name -> (arguments of ``check raft``, what it is)
CONFIGS: dict[str, tuple[list[str], str]] = {
    "vote": (["--variant", "vote-without-log-check", "--property", "leader_completeness"],
             "vote-without-log-check, leader_completeness (351 envelopes, one message in flight)"),
    "figure-8": (["--variant", "figure-8", "--property", "leader_completeness"],
                 "figure-8, leader_completeness (750 envelopes, one message in flight)"),
    "correct": (["--servers", "3", "--max-log", "0", "--max-messages", "1", "--no-lossy", "--no-duplicating"],
                "3 servers, max-log 0, one message in flight, every property and the refinement"),
}
TIMING = re.compile(r"^([\d,]+) distinct states, ([\d,]+) transitions, expanded to (\d+) steps.*$")


def run(pythonpath: str, args: list[str], timeout: float) -> dict[str, Any]:
    """One ``check raft`` in a fresh process: its result lines, wall and CPU seconds, peak RSS."""
    env = {**os.environ, "PYTHONPATH": pythonpath}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([sys.executable, "-m", "protoproof", "check", "raft", *args],
                                stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                raise SystemExit(f"check raft {' '.join(args)} took more than {timeout} s")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        lines = out.read().splitlines()
    counts = next((m for m in map(TIMING.match, lines) if m), None)
    if counts is None:
        raise SystemExit("no result line in:\n" + "\n".join(lines))
    states = int(counts.group(1).replace(",", ""))
    # The result without the timing: what both columns must agree on.
    same = [TIMING.sub(r"\1 distinct states, \2 transitions, depth \3", ln) for ln in lines]
    return {"states": states, "transitions": int(counts.group(2).replace(",", "")), "depth": int(counts.group(3)),
            "exit": proc.returncode, "same": same, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mib": usage.ru_maxrss / 1024, "verdict": lines[1].split(":")[0] if len(lines) > 1 else "?"}


def checkout(rev: str, into: Path) -> str:
    """``rev`` of this repository as an importable ``protoproof`` package under ``into``; its PYTHONPATH."""
    pkg = into / "protoproof"
    pkg.mkdir(parents=True)
    got = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=False)
    if got.returncode != 0:  # a shallow clone, an export without .git, a mistyped --base
        why = got.stderr.decode(errors="replace").strip().splitlines()
        sys.exit(f"benchmarks/raft.py: cannot extract the base commit {rev!r} ({why[-1] if why else 'git failed'}); "
                 "run it in a clone with the history (git fetch --unshallow), or name another with --base REV")
    archive = got.stdout
    subprocess.run(["tar", "-x", "-C", str(pkg)], input=archive, check=True)
    return str(into)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--config", choices=[*CONFIGS, "all"], default="all")
    p.add_argument("--max-states", type=int, default=200_000, help="for the variants (default 200000)")
    p.add_argument("--base", default=BASE, help=f"the commit to compare with (default {BASE})")
    p.add_argument("--repeat", type=int, default=1, help="interleaved runs per column; the least CPU is shown")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    args = p.parse_args()
    names = list(CONFIGS) if args.config == "all" else [args.config]
    with tempfile.TemporaryDirectory() as tmp:
        base_path = checkout(args.base, Path(tmp) / "base")
        now = Path(tmp) / "now"  # this checkout, importable as ``protoproof`` whatever its folder's name
        now.mkdir()
        (now / "protoproof").symlink_to(REPO)
        here = str(now)
        print(f"{'config':>8} {'column':>8} {'verdict':>9} {'distinct':>9} {'transitions':>11} {'depth':>5} "
              f"{'wall s':>7} {'cpu s':>7} {'states/cpu s':>12} {'peak MiB':>8} {'cpu x base':>10}")
        for name in names:
            extra, _what = CONFIGS[name]
            check_args = extra + (["--max-states", str(args.max_states)] if name != "correct" else [])
            best: dict[str, dict[str, Any]] = {}
            for _ in range(args.repeat):
                for column, path in (("base", base_path), ("now", here)):
                    r = run(path, check_args, args.timeout)
                    if column not in best or r["cpu"] < best[column]["cpu"]:
                        best[column] = r
            if best["base"]["same"] != best["now"]["same"] or best["base"]["exit"] != best["now"]["exit"]:
                raise SystemExit(f"{name}: the columns disagree:\n" + "\n".join(best["base"]["same"]) + "\n---\n"
                                 + "\n".join(best["now"]["same"]))
            for column in ("base", "now"):
                r = best[column]
                print(f"{name:>8} {column:>8} {r['verdict']:>9} {r['states']:>9,} {r['transitions']:>11,} "
                      f"{r['depth']:>5} {r['wall']:>7.1f} {r['cpu']:>7.2f} {r['states'] / r['cpu']:>12,.0f} "
                      f"{r['peak_mib']:>8.0f} {r['cpu'] / best['base']['cpu']:>10.2f}")
        print(f"base = {args.base}; now = this checkout; the variants with --max-states {args.max_states}")


if __name__ == "__main__":
    main()
