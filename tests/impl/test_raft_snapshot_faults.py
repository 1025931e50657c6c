"""Snapshots with real processes: kill -9 of a compacted server, 5,000 writes while a server is down."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest

from protoproof.impl.launcher import Cluster
from protoproof.impl.raft import SERVICE, RaftKVClient
from protoproof.impl.validate import validate

from .test_raft_faults import find_leader as leader_of
from .test_raft_snapshot import write

pytestmark = pytest.mark.slow


def stored(directory: Path, i: int) -> tuple[int, int, int]:
    """Server i's (entry rows, compacted base, durable log length) read from its sqlite file."""
    db = sqlite3.connect(directory / f"node{i}" / "state.sqlite3")
    try:
        rows = db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        front = db.execute("SELECT base FROM fronts").fetchone()
        (disk,) = db.execute("SELECT value FROM durable").fetchone()
        return int(rows), 0 if front is None else int(front[0]), int(json.loads(disk)["log"]["$len"])
    finally:
        db.close()


def test_a_server_back_after_5000_writes_catches_up_by_snapshot_within_two_seconds(tmp_path: Path) -> None:
    # untraced: replaying a trace costs time linear in the log per step (quadratic here); the
    # kill -9 test below validates a compacted cluster's trace
    cfg = SERVICE.new_cluster(str(tmp_path / "raft"), {"servers": 3, "snapshot_every": 500}, trace=False)
    cfg.save()

    async def main(cluster: Cluster) -> float:
        leader = await leader_of(cfg)
        away = (leader + 1) % 3
        cluster.kill(away)
        await write(cfg, clients=32, ops=157, keys=10**6, prefer=leader)  # 5,024 writes
        cluster.start(away)
        t0 = time.monotonic()
        while stored(cfg.directory, away)[2] < stored(cfg.directory, leader)[2] - 64:
            await asyncio.sleep(0.02)
            assert time.monotonic() - t0 < 10, "the restarted server did not catch up"
        took = time.monotonic() - t0
        print(f"caught up in {took:.2f} s")
        kv = RaftKVClient(cfg, client_id=1250, prefer=away, timeout=0.5, budget=20)
        assert await kv.get("k5023") == "31-156"  # through the leader, after the server is back
        await kv.close()
        return took

    with Cluster(cfg) as cluster:
        cluster.start_all()
        took = asyncio.run(main(cluster))
    assert took < 2.0, f"caught up in {took:.2f} s"
    for i in range(3):
        rows, base, n = stored(cfg.directory, i)
        assert n > 5000 and base > 4000 and rows <= 2 * 500 + 64, (i, rows, base, n)


def test_a_compacted_server_killed_9_recovers_its_snapshot_and_the_trace_fits(tmp_path: Path) -> None:
    cfg = SERVICE.new_cluster(str(tmp_path / "raft"), {"servers": 3, "snapshot_every": 100}, trace=True)
    cfg.save()

    async def main(cluster: Cluster) -> None:
        leader = await leader_of(cfg)
        await write(cfg, clients=8, ops=60, keys=10**6, prefer=leader)
        cluster.kill(leader)  # a compacted leader, killed -9 under no load
        await asyncio.sleep(0.3)
        cluster.start(leader)
        new = await leader_of(cfg)
        await write(cfg, clients=8, ops=30, keys=10**6, prefer=new)
        kv = RaftKVClient(cfg, client_id=1250, timeout=0.5, budget=20)
        assert await kv.get("k400") == "6-40" and await kv.get("k239") == "7-29"  # from the snapshot, then the log
        await kv.close()
        await asyncio.sleep(1.0)

    with Cluster(cfg) as cluster:
        cluster.start_all()
        asyncio.run(main(cluster))
    for i in range(3):
        rows, base, n = stored(cfg.directory, i)
        assert base >= 600 and rows <= 2 * 100 + 64, (i, rows, base, n)
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()
