"""3PC's termination protocol for real, beside 2PC's blocking: the coordinator killed with kill -9.

    .venv/bin/python benchmarks/threephase.py [--runs 5]

Each run is a fresh cluster of real node processes (3 participants), driven exactly as
``tests/impl/test_threephase.py`` drives it.  3PC rows (``--failures crash``: the perfect
detector, a refused connection, probed every 0.1 s): seconds from the kill until every
participant has decided; this covers detection, the reports to the backup and its decision (and,
after a pre-commit, its PreCommit round).  2PC rows: the prepared RMs stay undecided for
``BOUND`` seconds (asserted), then the TM is restarted: seconds from the restart until every RM
has decided.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from protoproof.impl.launcher import Cluster
from protoproof.tests.impl.test_threephase import (
    BOUND,
    PHASES,
    kill_2pc_tm,
    kill_3pc_cluster,
    kill_3pc_tm,
    twophase_kill_cluster,
)


def row(name: str, runs: int, one: Callable[[Path, int], tuple[float, set[str]]]) -> None:
    took, outcomes = [], set()
    for k in range(runs):
        with tempfile.TemporaryDirectory() as d:
            t, out = one(Path(d), 100 + k)
        took.append(t)
        outcomes |= out
    print(f"| {name} | {'/'.join(sorted(outcomes))} | {min(took):.2f} | {statistics.median(took):.2f} "
          f"| {max(took):.2f} |", flush=True)


def three(phase: str) -> Callable[[Path, int], tuple[float, set[str]]]:
    def one(d: Path, tx: int) -> tuple[float, set[str]]:
        cfg = kill_3pc_cluster(d / "c", phase)
        with Cluster(cfg) as cluster:
            cluster.start_all()
            t, st = asyncio.run(asyncio.wait_for(kill_3pc_tm(phase, cfg, cluster, tx), 60))
        return t, set(st.values())

    return one


def two(some: bool) -> Callable[[Path, int], tuple[float, set[str]]]:
    def one(d: Path, tx: int) -> tuple[float, set[str]]:
        cfg = twophase_kill_cluster(d / "c", some)
        with Cluster(cfg) as cluster:
            cluster.start_all()
            _blocked, back, out = asyncio.run(asyncio.wait_for(kill_2pc_tm(cfg, cluster, tx, some), 60))
        return back, out

    return one


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    print("| coordinator killed | decided | min s | median s | max s |")
    print("|---|---|---|---|---|")
    for phase in PHASES:
        row(f"3PC, {phase}: kill -> all decided", args.runs, three(phase))
    for some in (False, True):
        phase = "after commit to some" if some else "after every yes vote"
        row(f"2PC, {phase}: undecided for {BOUND:g} s, restart -> all decided", args.runs, two(some))
    return 0


if __name__ == "__main__":
    sys.exit(main())
