"""KV write throughput and latency: 3-node Paxos over loopback vs a single-node sqlite baseline.

    .venv/bin/python benchmarks/runtime.py [--writes 600] [--clients 4]

Each row does the same writes (unique keys, 16-byte values) from ``--clients`` concurrent
clients.  The Paxos rows run real node processes (one per node) and the real client over TCP;
"fsync" is sqlite ``synchronous=FULL`` on every node, "no fsync" is ``synchronous=OFF``.  The
baseline rows write to one local sqlite file, one transaction per write, no network: the
difference is the cost of replication (two round trips, 3x the durable writes).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from protoproof.impl.kv import KVClient, paxos_cluster
from protoproof.impl.launcher import Cluster


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


async def kv_load(cfg, writes: int, clients: int) -> list[float]:  # type: ignore[no-untyped-def]
    lat: list[float] = []
    per = writes // clients

    async def one(c: int) -> None:
        kv = KVClient(cfg, client_id=1000 + c, prefer=0)
        try:
            await kv.put("warmup", "x")
            for j in range(per):
                t0 = time.perf_counter()
                await kv.put(f"key-{c}-{j}", f"value-{j:010d}")
                lat.append(time.perf_counter() - t0)
        finally:
            await kv.close()

    await asyncio.gather(*(one(c) for c in range(clients)))
    return lat


def bench_cluster(tmp: Path, fsync: bool, writes: int, clients: int) -> tuple[float, list[float]]:
    cfg = paxos_cluster(str(tmp / f"kv-{fsync}"), 3, fsync=fsync)
    cfg.save()
    with Cluster(cfg) as cluster:
        cluster.start_all()
        t0 = time.perf_counter()
        lat = asyncio.run(kv_load(cfg, writes, clients))
        elapsed = time.perf_counter() - t0
    return elapsed, lat


def bench_sqlite(tmp: Path, fsync: bool, writes: int) -> tuple[float, list[float]]:
    db = sqlite3.connect(str(tmp / f"base-{fsync}.sqlite3"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'OFF'}")
    db.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)")
    lat = []
    t0 = time.perf_counter()
    for j in range(writes):
        t = time.perf_counter()
        db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (f"key-{j}", f"value-{j:010d}"))
        lat.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed, lat


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--writes", type=int, default=600)
    ap.add_argument("--clients", type=int, default=4)
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="pp-bench-") as d:
        tmp = Path(d)
        for fsync in (True, False):
            el, lat = bench_cluster(tmp, fsync, a.writes, a.clients)
            rows.append((f"3-node Paxos KV, {'fsync' if fsync else 'no fsync'}", a.clients, len(lat), el, lat))
        for fsync in (True, False):
            el, lat = bench_sqlite(tmp, fsync, a.writes)
            rows.append((f"1-node sqlite baseline, {'fsync' if fsync else 'no fsync'}", 1, len(lat), el, lat))
    print(f"{'configuration':40} {'clients':>7} {'writes':>7} {'writes/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, c, n, el, lat in rows:
        print(f"{name:40} {c:>7} {n:>7} {n / el:>10.0f} {statistics.median(lat) * 1e3:>8.2f} "
              f"{pct(lat, 0.99) * 1e3:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
