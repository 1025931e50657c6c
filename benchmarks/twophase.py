"""Explicit checking of two-phase commit: the cost of the model API and of the engine.

Four columns, each measured in its own fresh process so peak memory is its own:

  (a) a straightforward hand-written BFS of TwoPhase.tla over plain tuples (the yardstick,
      ``benchmarks/twophase_baseline.py``);
  (b) a minimal BFS over the model's own transition functions (``TwoPhase.expander()``,
      a ``set`` of states): the cost of writing 2PC as nodes on a network;
  (c) the full engine, ``explore`` with the invariant and the ``@sometimes`` properties,
      coverage, exact packed states and parent links to rebuild shortest counterexamples
      (``protoproof check twophase --property atomicity,all_committed,all_aborted``);
  (d) the same plus the step-by-step refinement check against TCommit (the default of
      ``protoproof check twophase``);
  (e) column (c) on states only (``Options.on_codes=False``): the general path, which the
      engine takes where a model offers no ``code_expander`` (crashes, timers, bags, FIFO,
      symmetry).

Columns (c) and (d) expand packed codes (``ActorSystem.code_expander``): a step's effect on
the code depends only on the acting node's local state, so each handler runs once per local
state and a successor costs a few integer operations.

Memory is the growth of peak RSS during the search, divided by the distinct states.

    python benchmarks/twophase.py              # 3..7 RMs
    python benchmarks/twophase.py --rms 3 8    # 3..8 RMs (1.7M states; several minutes)
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import resource
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(column: str, n: int) -> dict[str, Any]:
    """Run one column for ``n`` RMs in this process."""
    spec = importlib.util.spec_from_file_location("twophase_baseline", HERE / "twophase_baseline.py")
    assert spec is not None and spec.loader is not None
    base = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(base)

    from protoproof.checker.explore import explore
    from protoproof.models.twophase import TwoPhase

    model = TwoPhase(rms=n)
    explore(TwoPhase(rms=2))  # warm imports and code paths
    base.bfs(2)
    gc.collect()
    before = _rss()
    t0 = time.perf_counter()
    if column == "a":
        states, transitions, depth = base.bfs(n)
    elif column == "b":
        expand = model.expander()
        init = model.initial_states()[0]
        seen = {init}
        queue = deque([init])
        transitions = 0
        while queue:
            s = queue.popleft()
            for _a, t in expand(s):
                transitions += 1
                if t not in seen:
                    seen.add(t)
                    queue.append(t)
        states, depth = len(seen), -1
    else:
        props = None if column == "d" else ["atomicity", "all_committed", "all_aborted"]
        r = explore(model, properties=props, on_codes=column != "e")
        assert r.verdict == "exhausted", r.verdict
        states, transitions, depth = r.stats.distinct_states, r.stats.transitions, r.stats.depth
    elapsed = time.perf_counter() - t0
    grown = max(_rss() - before, 0)
    return {"column": column, "rms": n, "states": states, "transitions": transitions, "depth": depth,
            "seconds": elapsed, "peak_bytes": grown}


def run_child(column: str, n: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", column, str(n)],
                          capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--rms", nargs=2, type=int, default=[3, 7], metavar=("FROM", "TO"))
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]))))
        return
    cols = ["a", "b", "c", "d", "e"]
    print(f"{'RMs':>3} {'col':>3} {'distinct':>10} {'seconds':>8} {'states/s':>10} {'peak MB':>8} "
          f"{'B/state':>8} {'ratio/a':>8}")
    for n in range(args.rms[0], args.rms[1] + 1):
        rows = {c: run_child(c, n) for c in cols}
        counts = {r["states"] for r in rows.values()}
        if len(counts) != 1:
            raise SystemExit(f"columns disagree on the state count at {n} RMs: {rows}")
        for c in cols:
            r = rows[c]
            rate = r["states"] / r["seconds"] if r["seconds"] else 0.0
            ratio = r["seconds"] / rows["a"]["seconds"]
            print(f"{n:>3} {c:>3} {r['states']:>10,} {r['seconds']:>8.2f} {rate:>10,.0f} "
                  f"{r['peak_bytes'] / 1e6:>8.1f} {r['peak_bytes'] / r['states']:>8.0f} {ratio:>8.2f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
