"""How long a node process takes to start: the CPU seconds of ``import protoproof.impl.launcher`` in a
fresh interpreter, and the seconds from ``Popen`` to listening of node 0 of a 3-node Paxos cluster.

    python scripts/startup_time.py [RUNS]

Prints the minimum and the median over RUNS (default 7).  Run it with and without
``PYTHONDONTWRITEBYTECODE=1`` / ``PYTHONPYCACHEPREFIX`` to see what compiling the package costs.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time

from protoproof.impl.cluster import new_cluster
from protoproof.impl.launcher import Cluster


def import_cpu() -> float:
    """User + system seconds of a child that only imports the node's entry module."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", "import protoproof.impl.launcher"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def node_start() -> float:
    with tempfile.TemporaryDirectory() as d:
        cfg = new_cluster(d, "paxos", ["a", "b", "c"])
        cfg.save()
        with Cluster(cfg) as c:
            t = time.monotonic()
            c.start(0)
            return time.monotonic() - t


def summary(name: str, xs: list[float]) -> str:
    xs = sorted(xs)
    return f"{name}: min {xs[0]:.2f} s, median {xs[len(xs) // 2]:.2f} s over {len(xs)}"


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(summary("import protoproof.impl.launcher (CPU)", [import_cpu() for _ in range(runs)]))
    print(summary("node start (Popen to listening)", [node_start() for _ in range(runs)]))
