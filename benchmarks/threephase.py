"""3PC's termination protocol for real: seconds from a kill -9 of the coordinator until every
participant has decided, per phase the coordinator is killed in.

    .venv/bin/python benchmarks/threephase.py [--runs 5] [--rms 3]

Each run is a fresh cluster of real node processes (``--failures crash``: the perfect detector,
a refused connection, probed every 0.1 s), driven exactly as ``tests/impl/test_threephase.py``
drives it; the time covers detection, the reports to the backup and its decision (and, after a
pre-commit, its PreCommit round).  Under 2PC the same kill leaves the prepared RMs undecided
until the TM returns (the tests assert it for ``BOUND`` seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

from protoproof.impl.launcher import Cluster
from protoproof.tests.impl.test_threephase import PHASES, _kill_3pc_tm_in, kill_3pc_cluster


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--rms", type=int, default=3)
    args = p.parse_args(argv)
    print(f"| coordinator killed {'':12} | decided | min s | median s | max s |")
    print("|---|---|---|---|---|")
    for phase in PHASES:
        took, outcomes = [], set()
        for k in range(args.runs):
            with tempfile.TemporaryDirectory() as d:
                cfg = kill_3pc_cluster(Path(d) / "c", phase, args.rms, trace=False)
                with Cluster(cfg) as cluster:
                    cluster.start_all()
                    t, st = asyncio.run(asyncio.wait_for(_kill_3pc_tm_in(phase, cfg, cluster, 100 + k), 60))
            took.append(t)
            outcomes |= set(st.values())
        print(f"| {phase:30} | {'/'.join(sorted(outcomes))} | {min(took):.2f} | {statistics.median(took):.2f} "
              f"| {max(took):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
