"""Liveness checking against plain safety checking of the same configurations, in the same run.

For each job the model of ``examples/liveness.py`` is checked twice with ``explore``: with its
liveness properties (the edge store is kept and the fair-cycle search runs after the search)
and with ``liveness=False`` (safety only, no edges kept).  Prints the verdict, the distinct
states, the edges kept, the bytes per edge of the packed edge arrays and of the whole store (per
state index and id map included), the fair-cycle search's own time, both wall times and their
ratio.  Each timing is the minimum of ``--repeat`` runs.

    python benchmarks/liveness.py
    python benchmarks/liveness.py --repeat 3 --big     # adds 2PC at 5 RMs with a crash (70,656 states)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from protoproof.checker.explore import Result, explore
from protoproof.models.registry import resolve

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "liveness.py"

#: (label, class in examples/liveness.py, parameters, only with --big)
JOBS: list[tuple[str, str, dict[str, int], bool]] = [
    ("2PC 5 RMs, weak fairness", "LiveTwoPhase", {"rms": 5}, False),
    ("2PC 3 RMs, 1 crash (blocks)", "LiveTwoPhase", {"rms": 3, "max_crashes": 1}, False),
    ("2PC 5 RMs, 1 crash (blocks)", "LiveTwoPhase", {"rms": 5, "max_crashes": 1}, True),
    ("Paxos 3/2/0..1, weak fairness", "LivePaxos", {}, False),
    ("Paxos 3/2/0..1, leaders unfair", "LazyLeaderPaxos", {}, False),
    ("mutex 3, weak (starves)", "WeakMutex", {}, False),
    ("mutex 3, strong", "StrongMutex", {}, False),
]


def timed(model: Any, repeat: int, **kw: Any) -> tuple[Result, float]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = explore(model, **kw)
        best = min(best, time.perf_counter() - t)
    assert result is not None
    return result, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--big", action="store_true", help="also the jobs of more than a few seconds")
    args = ap.parse_args()
    head = (f"{'job':32} {'verdict':>9} {'property':>15} {'states':>8} {'edges':>8} {'B/edge':>6} {'store B/edge':>12} "
            f"{'SCC s':>6} {'live s':>7} {'safety s':>8} {'ratio':>6}")
    print(head)
    print("-" * len(head))
    for label, cls, params, big in JOBS:
        if big and not args.big:
            continue
        model = resolve(f"{EXAMPLE}:{cls}")(**params)
        live, t_live = timed(model, args.repeat)
        safe, t_safe = timed(model, args.repeat, liveness=False)
        assert safe.stats.distinct_states == live.stats.distinct_states or live.verdict == "violated"
        st = live.stats
        store = st.liveness_bytes / st.edges_stored if st.edges_stored else 0.0
        print(f"{label:32} {live.verdict:>9} {live.property or '-':>15} {st.distinct_states:>8,} "
              f"{st.edges_stored:>8,} {st.bytes_per_edge:>6.1f} {store:>12.1f} {st.liveness_s:>6.2f} "
              f"{t_live:>7.2f} {t_safe:>8.2f} {t_live / t_safe:>6.2f}")


if __name__ == "__main__":
    main()
