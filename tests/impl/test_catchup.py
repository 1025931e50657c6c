"""Fast catch-up and compaction of the Paxos KV store (in one process, three nodes).

Today's catch-up sent 256 slots per 0.5 s tick, so a node that missed 3,000 writes needed at
least 6 s before it could answer, and every node kept every slot's log entry and acceptor
state for ever.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from protoproof.impl.cluster import ClusterConfig
from protoproof.impl.codec import MAX_FRAME, Frame
from protoproof.impl.kv import KVClient, KVNode, paxos_cluster


async def puts(cfg: ClusterConfig, writes: int, clients: int, prefer: int = 0) -> dict[str, str]:
    """``writes`` puts through node ``prefer`` from concurrent clients; the last value of each key."""
    last: dict[str, str] = {}

    async def one(c: int) -> None:
        kv = KVClient(cfg, client_id=1000 + c, prefer=prefer, timeout=2.0, budget=30.0)
        try:
            for j in range(writes // clients):
                await kv.put(f"k{c}", f"v{c}-{j}")
                last[f"k{c}"] = f"v{c}-{j}"
        finally:
            await kv.close()

    await asyncio.gather(*(one(c) for c in range(clients)))
    return last


async def started(cfg: ClusterConfig, i: int, compact_every: int | None = None) -> KVNode:
    nd = KVNode(cfg, i)
    if compact_every is not None:
        nd.compact_every = compact_every
    await nd.start()
    return nd


async def read_back(cfg: ClusterConfig, prefer: int, last: dict[str, str]) -> int:
    """Every key's last value, read through node ``prefer``; how often the client went elsewhere."""
    kv = KVClient(cfg, client_id=1200, prefer=prefer, timeout=10.0, budget=10.0)
    try:
        for k, v in sorted(last.items()):
            assert await kv.get(k) == v
        return kv.retries
    finally:
        await kv.close()


def rows(cfg: ClusterConfig, i: int, table: str) -> int:
    db = sqlite3.connect(cfg.node_dir(i) / "state.sqlite3")
    try:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        db.close()


def test_a_kv_node_restarted_after_missing_3000_writes_answers_within_two_seconds(tmp_path: Path) -> None:
    async def main() -> float:
        cfg = paxos_cluster(str(tmp_path / "kv"), 3, fsync=False)
        nodes = [await started(cfg, i) for i in range(3)]
        await nodes[2].stop()
        try:
            last = await puts(cfg, 3000, 16)
            t0 = time.perf_counter()
            late = await started(cfg, 2)
            assert await read_back(cfg, 2, {"k7": last["k7"]}) == 0  # answered by the restarted node
            took = time.perf_counter() - t0
            await late.stop()
            return took
        finally:
            for nd in nodes[:2]:
                await nd.stop()

    took = asyncio.run(main())
    assert took < 2.0, f"the restarted node answered after {took:.2f} s"


def test_a_kv_node_compacts_its_log_into_a_snapshot_and_a_node_behind_it_installs_the_snapshot(
        tmp_path: Path) -> None:
    async def main() -> None:
        cfg = paxos_cluster(str(tmp_path / "kv"), 3, fsync=False)
        nodes = [await started(cfg, i, compact_every=100) for i in range(3)]
        await nodes[2].stop()
        try:
            last = await puts(cfg, 480, 8)
            for nd in nodes[:2]:
                assert nd.applied >= 480
                assert nd.base >= 400 and len(nd.log) < 100 and len(nd.host.states) < 100 and len(nd.seen) < 100
            late = await started(cfg, 2, compact_every=100)  # its log ends before the others' snapshots
            assert await read_back(cfg, 2, last) == 0
            assert late.base >= 400 and len(late.log) < 100
            await late.stop()
        finally:
            for nd in nodes[:2]:
                await nd.stop()
        for i in range(3):
            assert rows(cfg, i, "log") < 100 and rows(cfg, i, "durable") < 100

    asyncio.run(main())


def test_a_kv_node_restarted_from_its_own_snapshot_serves_what_it_had(tmp_path: Path) -> None:
    async def main() -> None:
        cfg = paxos_cluster(str(tmp_path / "kv"), 3, fsync=False)
        nodes = [await started(cfg, i, compact_every=50) for i in range(3)]
        try:
            last = await puts(cfg, 200, 4)
            await nodes[0].stop()
            again = nodes[0] = await started(cfg, 0, compact_every=50)
            assert again.base >= 150 and again.applied >= 200 and again.kv == last  # from its own disk
            await read_back(cfg, 0, last)
        finally:
            for nd in nodes:
                await nd.stop()

    asyncio.run(main())


def test_catch_up_batches_of_the_longest_non_ascii_values_fit_in_frames(tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    node = KVNode(cfg, 0)
    value = "\U0001f600" * 8192  # 12 bytes each in a frame (a surrogate pair, escaped)
    for slot in range(300):
        node.log[slot] = value
    sent: list[Frame] = []
    node.reply = lambda dst, inst, msg: sent.append(Frame(0, dst, inst, msg))  # type: ignore[method-assign]
    assert node.send_log(1, 0, whole=True) == 300
    assert sum(len(f.msg.vals) for f in sent) == 300 and len(sent) > 1
    for f in sent:
        assert len(node.codec.encode(f)) <= MAX_FRAME
    node.store.close()
