"""This tree against a baseline tree on the CLI's standard jobs: same verdicts and counts, and the time ratio.

Run: ``python benchmarks/refactor.py --baseline DIR`` where DIR is a checkout of an older commit
(``git worktree add --detach /tmp/base <commit>``).  Each job runs as ``python -m protoproof ...
--json`` in a fresh process, alternating baseline and this tree, ``--repeat`` times (the minimum
wall time counts).  Prints one row per job: verdict and distinct states (or proof obligations) of
each tree, wall seconds of each, and new/baseline.  Exit status 1 when a verdict or a count
differs: a refactor must not change what the tool says.  ``--quick`` runs the jobs under ten
seconds only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

# (label, CLI arguments, slow): each job prints one JSON object with a verdict.
JOBS: list[tuple[str, list[str], bool]] = [
    ("check 2PC, 7 RMs", ["check", "twophase", "--rms", "7"], False),
    ("check 2PC, 5 RMs, symmetry", ["check", "twophase", "--rms", "5", "--symmetry"], False),
    ("check 2PC, 3 RMs, 2 crashes", ["check", "twophase", "--rms", "3", "--max-crashes", "2"], False),
    ("check Paxos 3/2/0..1", ["check", "paxos"], False),
    ("check Paxos 4/2/0..1", ["check", "paxos", "--acceptors", "4"], False),
    ("check Paxos 3/2/0..2, symmetry", ["check", "paxos", "--max-ballot", "2", "--symmetry"], True),
    ("bmc 2PC, 5 RMs, depth 10", ["bmc", "twophase", "--rms", "5", "--depth", "10"], False),
    ("bmc Paxos minority-quorums, depth 8",
     ["bmc", "paxos", "--variant", "minority-quorums", "--depth", "8"], False),
    ("prove 2PC, 10 RMs", ["prove", "twophase", "--rms", "10"], False),
    ("prove Paxos 5/2/0..3", ["prove", "paxos", "--acceptors", "5", "--max-ballot", "3"], True),
    ("prove Paxos parameterized, no tie", ["prove", "paxos", "--parameterized", "--no-tie"], False),
    ("conform 2PC, 3 RMs", ["conform", "twophase", "--rms", "3"], True),
]


@dataclass
class Run:
    verdict: str
    count: str
    seconds: float


def _pythonpath(tree: Path, tmp: Path, name: str) -> str:
    """A folder in which ``tree`` is importable as ``protoproof`` (the repository root is the package)."""
    d = tmp / name
    d.mkdir()
    (d / "protoproof").symlink_to(tree.resolve())
    return str(d)


def _count(out: dict[str, object]) -> str:
    for key in ("distinct_states", "obligations", "checks", "depth"):
        v = out.get(key)
        if isinstance(v, list):
            return f"{len(v)} obligations"
        if v is not None:
            return f"depth {v}" if key == "depth" else str(v)
    return "-"


def run(pythonpath: str, args: list[str]) -> Run:
    env = dict(os.environ, PYTHONPATH=pythonpath)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "protoproof", *args, "--json"], env=env, capture_output=True,
                       text=True, check=False)
    seconds = time.perf_counter() - t0
    try:
        out = json.loads(p.stdout)
    except json.JSONDecodeError:
        return Run(f"no JSON (exit {p.returncode}): {p.stderr.strip().splitlines()[-1:]}", "-", seconds)
    return Run(str(out.get("verdict")), _count(out), seconds)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--baseline", required=True, type=Path, help="a checkout of the commit to compare with")
    ap.add_argument("--repeat", type=int, default=1, help="runs per job and tree (the fastest counts)")
    ap.add_argument("--quick", action="store_true", help="leave out the jobs marked slow")
    args = ap.parse_args(argv)
    if not (args.baseline / "cli.py").is_file():
        print(f"refactor: {args.baseline} is not a protoproof checkout (no cli.py)", file=sys.stderr)
        return 2
    bad = 0
    print("| job | verdict | count | baseline s | this tree s | ratio |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        old, new = _pythonpath(args.baseline, tmp, "old"), _pythonpath(HERE, tmp, "new")
        for label, cli, slow in JOBS:
            if slow and args.quick:
                continue
            olds, news = [], []
            for _ in range(args.repeat):
                olds.append(run(old, cli))
                news.append(run(new, cli))
            o, n = olds[0], news[0]
            to, tn = min(r.seconds for r in olds), min(r.seconds for r in news)
            same = (o.verdict, o.count) == (n.verdict, n.count)
            bad += not same
            verdict = o.verdict if o.verdict == n.verdict else f"{o.verdict} → **{n.verdict}**"
            count = o.count if o.count == n.count else f"{o.count} → **{n.count}**"
            print(f"| {label} | {verdict} | {count} | {to:.2f} | {tn:.2f} | {tn / to:.2f} |", flush=True)
    if bad:
        print(f"\n{bad} job(s) changed their verdict or count", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
