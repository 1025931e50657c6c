"""The Raft KV store as real processes: kill -9 of the leader under load, a restart after a long absence."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from protoproof.impl.launcher import Cluster
from protoproof.impl.linearizability import Op, check
from protoproof.impl.raft import RaftKVClient, raft_cluster
from protoproof.impl.validate import validate

pytestmark = pytest.mark.slow


def logs(directory: Path, n: int) -> list[list[Any]]:
    """Each server's durable log, read from its sqlite file."""
    out = []
    for i in range(n):
        db = sqlite3.connect(directory / f"node{i}" / "state.sqlite3")
        out.append([json.loads(v) for (v,) in db.execute("SELECT value FROM entries ORDER BY idx")])
        db.close()
    return out


async def find_leader(cfg: Any) -> int:
    kv = RaftKVClient(cfg, client_id=1200, timeout=0.4, budget=20)
    try:
        await kv.put("probe", "x")
        return kv.node
    finally:
        await kv.close()


async def converge(cfg: Any) -> None:
    """One more acknowledged write, then time for every server to catch up."""
    kv = RaftKVClient(cfg, client_id=1201, timeout=0.4, budget=20)
    await kv.put("last", "x")
    await kv.close()
    await asyncio.sleep(1.0)


def test_writes_resume_within_two_seconds_after_kill_9_of_the_leader_under_load(tmp_path: Path) -> None:
    cfg = raft_cluster(str(tmp_path / "raft"), 3, trace=True)
    cfg.save()
    history: list[Op] = []
    acked: dict[str, str] = {}
    gaps: list[float] = []

    async def main(cluster: Cluster) -> None:
        loop = asyncio.get_running_loop()
        leader = await find_leader(cfg)
        killed_at: list[float] = []

        async def client(c: int) -> None:
            kv = RaftKVClient(cfg, client_id=1000 + c, prefer=leader, timeout=0.3, budget=30)
            try:
                for j in range(60):
                    key, val = f"k{c}-{j}", f"v{j}"
                    t0 = loop.time()
                    await kv.put(key, val)
                    t1 = loop.time()
                    history.append(Op(c, "put", key, val, t0, t1))
                    acked[key] = val
                    if killed_at and not gaps and t0 > killed_at[0]:
                        gaps.append(t1 - killed_at[0])  # the first write sent after the kill, acknowledged
            finally:
                await kv.close()

        async def kill_leader() -> None:
            while len(history) < 100:
                await asyncio.sleep(0.01)
            leader = await find_leader(cfg)  # the leader now, under load
            cluster.kill(leader)
            killed_at.append(loop.time())
            await asyncio.sleep(2.5)
            cluster.start(leader)

        await asyncio.gather(kill_leader(), *(client(c) for c in range(8)))
        await converge(cfg)
        kv = RaftKVClient(cfg, client_id=1202, timeout=0.4, budget=20)
        for key, val in list(acked.items())[::7]:
            t0 = loop.time()
            got = await kv.get(key)
            history.append(Op(99, "get", key, got, t0, loop.time()))
            assert got == val, f"acknowledged write {key}={val} lost"
        await kv.close()

    with Cluster(cfg) as cluster:
        cluster.start_all()
        asyncio.run(main(cluster))
    assert gaps and gaps[0] < 2.0, f"writes resumed {gaps} s after the kill"
    assert check(history).ok
    ls = logs(cfg.directory, 3)
    assert ls[0] == ls[1] == ls[2] and len(ls[0]) > 480
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()


def test_a_server_back_after_a_long_absence_catches_up(tmp_path: Path) -> None:
    cfg = raft_cluster(str(tmp_path / "raft"), 3, trace=False)
    cfg.save()

    async def main(cluster: Cluster) -> float:
        leader = await find_leader(cfg)
        away = (leader + 1) % 3
        cluster.kill(away)

        async def client(c: int) -> None:
            kv = RaftKVClient(cfg, client_id=1000 + c, prefer=leader, timeout=0.4, budget=30)
            for j in range(150):
                await kv.put(f"k{c}-{j}", "v")
            await kv.close()

        await asyncio.gather(*(client(c) for c in range(8)))
        cluster.start(away)
        t0 = time.monotonic()
        while len(logs(cfg.directory, 3)[away]) < len(logs(cfg.directory, 3)[leader]):
            await asyncio.sleep(0.1)
            assert time.monotonic() - t0 < 10, "the restarted server did not catch up"
        return time.monotonic() - t0

    with Cluster(cfg) as cluster:
        cluster.start_all()
        took = asyncio.run(main(cluster))
    ls = logs(cfg.directory, 3)
    assert len(ls[0]) > 1200 and ls[0] == ls[1] == ls[2]
    assert took < 3.0
