"""A growing log in the runtime: incremental persistence and delta trace lines vs whole states.

    .venv/bin/python benchmarks/runtime_log.py [--entries 2000] [--fsync]

One node appends ``--entries`` entries to a ``Log`` field of its durable state, one step and one
``Persist`` each, with tracing on.  "whole" rewrites the durable state (and writes full before/after
states to the trace) at every step, as the runtime did before ``Log``; "incremental" appends the
new entry to sqlite and records the step's change.  Printed: total time, the time of the last
100 steps (what a long-running node pays per step), sqlite bytes written to the durable table,
and trace size.  sqlite runs with synchronous=OFF unless ``--fsync``: the point is what grows.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from protoproof.impl.host import Host, Tracer
from protoproof.impl.storage import Store
from protoproof.models.schema import OneOf
from protoproof.tests.impl.test_logs import Appender, Replica


def run(entries: int, incremental: bool, fsync: bool) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)

        async def main() -> tuple[float, float]:
            host: Host[Replica] = Host(Appender(0), Store(d / "n.sqlite3", fsync=fsync), OneOf(None),
                                      tracer=Tracer(d / "trace", 0), incremental=incremental)
            host.recover()
            t0 = time.perf_counter()
            for k in range(entries):
                if k == entries - 100:
                    t_last = time.perf_counter()
                host.step(0, "append", entry=f"entry-{k:06d}")
            t1 = time.perf_counter()
            host.close()
            host.store.close()
            return t1 - t0, t1 - t_last

        total, last = asyncio.run(main())
        trace = (d / "trace" / "node0.jsonl").stat().st_size
    return total, last, trace


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=2000)
    ap.add_argument("--fsync", action="store_true")
    a = ap.parse_args()
    print(f"{a.entries} appends, one Persist each, tracing on, fsync {'on' if a.fsync else 'off'}")
    print(f"{'mode':<12} {'total s':>8} {'last 100 steps ms/step':>24} {'trace MB':>9}")
    for incremental in (False, True):
        total, last, trace = run(a.entries, incremental, a.fsync)
        name = "incremental" if incremental else "whole"
        print(f"{name:<12} {total:8.2f} {1000 * last / 100:24.3f} {trace / 1e6:9.2f}")


if __name__ == "__main__":
    main()
