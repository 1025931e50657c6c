"""Raft log compaction: snapshots bound the log table, survive a restart, catch a lagging server up."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from protoproof.impl import raft, raft_snapshot
from protoproof.impl.raft import LEADER, SERVICE, RaftKVClient, RaftKVNode
from protoproof.impl.raft_snapshot import SnapLog, compact, runs_of
from protoproof.impl.validate import validate
from protoproof.models.raft import Entry


def test_a_compacted_log_keeps_its_terms_and_is_sliced_from_its_base() -> None:
    log = tuple(Entry(t, k) for k, t in enumerate([1, 1, 2, 2, 2, 3, 4]))
    c = compact(log, 5, "{}")
    assert len(c) == 7 and c.base == 5 and c.tail == log[5:]
    assert [c[k].term for k in range(7)] == [e.term for e in log]  # terms of compacted entries too
    assert c[-1] == log[-1] and c[5:] == log[5:] and c[6:7] == log[6:7]
    assert c[:6] == SnapLog(5, c.runs, "{}", log[5:6]) and (c + (Entry(4, 9),)).tail == (*log[5:], Entry(4, 9))
    assert runs_of(c, 7) == ((0, 1), (2, 2), (5, 3), (6, 4))
    for bad in (lambda: c[2:4], lambda: c[0:3], lambda: list(c)):
        try:
            bad()
        except (IndexError, TypeError):
            continue
        raise AssertionError("a compacted entry's value was read")


def cluster(tmp_path: Path, every: int, trace: bool = True) -> Any:
    cfg = SERVICE.new_cluster(str(tmp_path / "raft"), {"servers": 3, "snapshot_every": every}, trace=trace)
    cfg.save()
    return cfg


async def write(cfg: Any, clients: int, ops: int, keys: int = 20, prefer: int = 0) -> None:
    async def client(c: int) -> None:
        kv = RaftKVClient(cfg, client_id=1000 + c, prefer=prefer, timeout=0.5, budget=60)
        try:
            for j in range(ops):
                await kv.put(f"k{(c * ops + j) % keys}", f"{c}-{j}")
        finally:
            await kv.close()

    await asyncio.gather(*(client(c) for c in range(clients)))


async def settled(nodes: list[RaftKVNode], timeout: float = 10.0) -> float:
    """Seconds until every server has applied the leader's whole log."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while loop.time() < t0 + timeout:
        leaders = [nd for nd in nodes if nd.role() == LEADER]
        if len(leaders) == 1 and all(nd.applied == len(leaders[0].s.log) for nd in nodes):
            return loop.time() - t0
        await asyncio.sleep(0.01)
    raise AssertionError(f"the servers did not converge: applied {[nd.applied for nd in nodes]}")


def test_with_snapshots_the_log_table_stays_bounded_and_the_trace_fits_the_model(tmp_path: Path) -> None:
    cfg = cluster(tmp_path, every=40)
    rows: list[int] = []
    bases: list[int] = []

    async def main() -> None:
        nodes = [RaftKVNode(cfg, i) for i in range(3)]
        for nd in nodes:
            await nd.start()
        try:
            await write(cfg, clients=4, ops=60)
            await settled(nodes)
            for nd in nodes:
                await nd.host.settle()
                rows.append(nd.store.count_entries())
                bases.append(nd.s.log.base if isinstance(nd.s.log, SnapLog) else 0)
            assert nodes[0].kv == nodes[1].kv == nodes[2].kv and len(nodes[0].kv) == 20
        finally:
            for nd in nodes:
                await nd.stop()

    asyncio.run(main())
    assert all(b >= 200 for b in bases), bases  # 240 writes (+ no-ops) applied, compacted every 40
    assert max(rows) <= 2 * 40 + 64, rows  # the table holds at most about two snapshots' worth
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()


async def away_and_back(cfg: Any, ops: int, then: Any) -> float:
    """A follower stops, 8 clients write ``ops`` each, it starts again from its disk; ``then(nodes,
    leader, back)`` runs while the cluster is up; returns the seconds from its restart to ``then``'s end."""
    nodes = [RaftKVNode(cfg, i) for i in range(3)]
    for nd in nodes:
        await nd.start()
    try:
        await write(cfg, clients=1, ops=1)
        leader = next(nd for nd in nodes if nd.role() == LEADER)
        away = next(nd for nd in nodes if nd is not leader)
        await away.stop()
        await write(cfg, clients=8, ops=ops, prefer=leader.id)
        back = nodes[away.id] = RaftKVNode(cfg, away.id)
        t0 = time.monotonic()
        await back.start()
        await then(nodes, leader, back)
        return time.monotonic() - t0
    finally:
        for nd in nodes:
            await nd.stop()


def test_a_server_back_from_far_behind_gets_a_snapshot_and_the_trace_fits_the_model(tmp_path: Path) -> None:
    cfg = cluster(tmp_path, every=100)

    async def then(nodes: list[RaftKVNode], leader: RaftKVNode, back: RaftKVNode) -> None:
        await settled(nodes)
        assert back.kv == leader.kv and isinstance(back.s.log, SnapLog)

    took = asyncio.run(away_and_back(cfg, 60, then))
    assert took < 2.0, took
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()
    installs = [line for f in cfg.trace_dir().glob("node*.jsonl") for line in f.read_text().splitlines()
                if '"repeat":true' in line]
    assert installs  # the server came back through a snapshot, replayed as the model's AppendEntries


def test_validation_catches_a_snapshot_install_that_is_not_the_models(tmp_path: Path, monkeypatch: Any) -> None:
    """A planted bug: the follower acknowledges the snapshot without taking it (its log stays short)."""

    def acknowledges_only(s: Any, j: int, m: Any) -> Any:
        out = raft_snapshot.install(s, j, m)
        return None if out is None else (out[0]._replace(log=s.log), out[1])

    monkeypatch.setattr(raft, "install", acknowledges_only)
    cfg = cluster(tmp_path, every=30)

    async def then(nodes: list[RaftKVNode], leader: RaftKVNode, back: RaftKVNode) -> None:
        await asyncio.sleep(0.5)

    asyncio.run(away_and_back(cfg, 10, then))
    r = validate(cfg.trace_dir())
    assert not r.ok and "AppendEntriesRequest" in r.summary(), r.summary()
