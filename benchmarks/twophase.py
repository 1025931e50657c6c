"""Explicit checking of two-phase commit against hand-written BFSes, each column in a fresh process.

Columns (``--columns`` picks some):

  fast        the fast straightforward hand-written BFS (``twophase_fastbaseline.py``): one
              ``successors(s)`` building every successor tuple inline, a ``set``, a ``deque``;
              the yardstick of the ratios;
  slow        the older hand-written BFS calling one function per action instance
              (``twophase_baseline.py``);
  vector      ``protoproof check twophase --property atomicity`` (the engine: one invariant,
              shortest counterexamples kept) on the vector engine, the default;
  vector+ref  default ``protoproof check twophase``: every property and the refinement check
              against TCommit, on the vector engine;
  scalar, scalar+ref
              the same two on the scalar engine (``--engine scalar``);
  vector-wN, vector+ref-wN, scalar-wN, scalar+ref-wN
              the same on the partitioned search over N workers (``--workers N``: N processes,
              in this process for N = 1); their CPU time includes the workers', their memory is
              the coordinator's peak plus N times the largest worker's (an upper bound), and a
              line after the rows gives each one's speed-up over ``-w1`` and over the one-core
              column where those are measured too;
  spin        Spin, where installed (it is not on this machine: the column says so).

Each figure is the minimum over ``--repeat`` interleaved runs (by wall time); the CPU time of
the search is shown too, the fairer figure on a loaded machine; memory is the child's peak RSS
(``ru_maxrss``, the interpreter and numpy included).  Every column must agree on the counts.

    python benchmarks/twophase.py --rms 3 7
    python benchmarks/twophase.py --rms 8 8 --repeat 1
    python benchmarks/twophase.py --rms 8 8 --columns vector,vector-w1,vector-w2
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COLUMNS = ("fast", "slow", "vector", "vector+ref", "scalar", "scalar+ref")
#: A partitioned column: an engine column and the number of workers.
WORKERS = re.compile(r"^(vector|vector\+ref|scalar|scalar\+ref)-w([1-9][0-9]*)$")


def _valid(column: str) -> bool:
    return column in COLUMNS or WORKERS.match(column) is not None


def _module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def measure(column: str, n: int) -> dict[str, Any]:
    """Run one column for ``n`` RMs in this process."""
    if column in ("fast", "slow"):
        base = _module("twophase_fastbaseline" if column == "fast" else "twophase_baseline")
        base.bfs(2)
        t0, c0 = time.perf_counter(), time.process_time()
        states, transitions, depth = base.bfs(n)
    else:
        from protoproof.checker.explore import Options, explore
        from protoproof.checker.parallel import Scale
        from protoproof.models.twophase import TwoPhase

        m = WORKERS.match(column)
        base, workers = (m.group(1), int(m.group(2))) if m else (column, 0)
        engine = base.split("+")[0]
        props = None if base.endswith("+ref") else ["atomicity"]

        def options() -> Options:
            return Options(engine=engine, properties=props, scale=Scale(workers=workers) if workers else None)

        explore(TwoPhase(rms=2), options())  # warm imports and code paths
        t0, c0 = time.perf_counter(), time.process_time()
        k0 = _children_cpu()
        r = explore(TwoPhase(rms=n), options())
        assert r.verdict == "exhausted" and r.engine.startswith(engine), (r.verdict, r.engine)
        states, transitions, depth = r.stats.distinct_states, r.stats.transitions, r.stats.depth
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if WORKERS.match(column) and workers > 1:  # the worker processes (joined by now)
        cpu += _children_cpu() - k0
        rss += workers * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {"column": column, "rms": n, "states": states, "transitions": transitions, "depth": depth,
            "seconds": elapsed, "cpu": cpu, "peak_bytes": rss}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_child(column: str, n: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", column, str(n)],
                          capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--rms", nargs=2, type=int, default=[3, 7], metavar=("FROM", "TO"))
    p.add_argument("--columns", default=",".join(COLUMNS), help="comma-separated, from " + ", ".join(COLUMNS))
    p.add_argument("--repeat", type=int, default=1, help="interleaved runs per column; the minimum is shown")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]))))
        return
    cols = args.columns.split(",")
    bad = [c for c in cols if not _valid(c)]
    if bad:
        raise SystemExit(f"unknown column {bad[0]!r}; columns: {', '.join(COLUMNS)}, or one of them "
                         "but fast/slow with -wN (N workers)")
    if "fast" not in cols:
        cols.insert(0, "fast")
    print(f"{'RMs':>3} {'column':>11} {'distinct':>11} {'transitions':>12} {'seconds':>8} {'states/s':>10} "
          f"{'peak MiB':>8} {'x fast':>7} {'cpu s':>7} {'cpu x fast':>10}")
    for n in range(args.rms[0], args.rms[1] + 1):
        rows: dict[str, dict[str, Any]] = {}
        for _ in range(args.repeat):
            for c in cols:
                r = run_child(c, n)
                if c not in rows or r["seconds"] < rows[c]["seconds"]:
                    rows[c] = r
        counts = {(r["states"], r["transitions"]) for r in rows.values()}
        if len(counts) != 1:
            raise SystemExit(f"columns disagree on the counts at {n} RMs: {rows}")
        for c in cols:
            r = rows[c]
            rate = r["states"] / r["seconds"] if r["seconds"] else 0.0
            ratio, cpu_ratio = r["seconds"] / rows["fast"]["seconds"], r["cpu"] / rows["fast"]["cpu"]
            print(f"{n:>3} {c:>11} {r['states']:>11,} {r['transitions']:>12,} {r['seconds']:>8.2f} {rate:>10,.0f} "
                  f"{r['peak_bytes'] / 2**20:>8.0f} {ratio:>7.2f} {r['cpu']:>7.2f} {cpu_ratio:>10.2f}")
        for c in cols:
            m = WORKERS.match(c)
            if m is None:
                continue
            for ref in (f"{m.group(1)}-w1", m.group(1)):
                if ref in rows and ref != c:
                    a, b = rows[ref], rows[c]
                    print(f"{n:>3} {c} over {ref}: {a['seconds'] / b['seconds']:.2f}x faster (wall), "
                          f"CPU time x{b['cpu'] / a['cpu']:.2f}")
        print(f"{n:>3} {'spin':>11} " + ("installed, not measured here (no Promela model shipped)"
                                         if shutil.which("spin") else "not installed"))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
