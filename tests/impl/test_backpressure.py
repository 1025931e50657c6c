"""Every service reports its client requests in progress, so a burst beyond ``max_inflight`` is
answered "busy" (never silence) and the client library retries those until they get in.

Each test runs one service in process with a small cap on the node the burst goes to, sends a
burst of requests that do not retry (``busy_retry=False``), then the same through the
service's client, which retries."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from protoproof.impl.client import Endpoint, Overloaded
from protoproof.impl.codec import Frame
from protoproof.impl.kv import Reply, Request
from protoproof.impl.lease import LeaseNode, LockClient, WriteDone, WriteReq, lease_cluster
from protoproof.impl.lease import wire_type as lease_wire
from protoproof.impl.raft import LEADER, RaftKVClient, RaftKVNode, raft_cluster
from protoproof.impl.service import Service
from protoproof.impl.threephase import ThreePhaseClient, ThreePhaseNode, threephase_cluster
from protoproof.impl.threephase import wire_type as threephase_wire
from protoproof.impl.tx import Begin, Outcome, TxClient, TxNode, twophase_cluster
from protoproof.impl.tx import wire_type as tx_wire

Ask = Callable[[Endpoint, int], Awaitable[Frame]]


async def burst(cfg: Any, wire: Any, ask: Callable[[Endpoint, int], Awaitable[Frame]], n: int) -> dict[str, int]:
    """``n`` concurrent requests from 4 endpoints, none retried on "busy": how they were answered."""
    eps = [Endpoint(cfg, wire, 1000 + k) for k in range(4)]
    got = {"answer": 0, "busy": 0, "silence": 0}

    async def one(k: int) -> None:
        try:
            await ask(eps[k % len(eps)], k)
            got["answer"] += 1
        except Overloaded:
            got["busy"] += 1
        except TimeoutError:
            got["silence"] += 1

    try:
        await asyncio.gather(*(one(k) for k in range(n)))
    finally:
        for ep in eps:
            await ep.close()
    return got


async def started(nodes: list[Service]) -> None:
    for nd in nodes:
        await nd.start()


async def stopped(nodes: list[Service]) -> None:
    for nd in nodes:
        await nd.stop()


def flooded(got: dict[str, int], n: int) -> None:
    assert got["silence"] == 0 and got["answer"] + got["busy"] == n, got
    assert got["answer"] >= 2 and got["busy"] > 0, got


def test_a_burst_at_the_raft_leader_gets_busy_answers_and_retried_puts_all_succeed(tmp_path: Path) -> None:
    cfg = raft_cluster(str(tmp_path / "raft"), 3, fsync=False)

    async def main() -> None:
        nodes = [RaftKVNode(cfg, i) for i in range(3)]
        await started(nodes)  # type: ignore[arg-type]
        try:
            loop = asyncio.get_running_loop()
            end = loop.time() + 30
            while not any(nd.role() == LEADER for nd in nodes):
                assert loop.time() < end, "no leader was elected"
                await asyncio.sleep(0.05)
            leader = next(nd for nd in nodes if nd.role() == LEADER)
            leader.max_inflight = 2

            async def put(ep: Endpoint, k: int) -> Frame:
                cid = f"{ep.id}:{uuid.uuid4().hex}"  # command ids are bound to their client
                cmd = json.dumps({"id": cid, "op": "put", "k": f"k{k}", "v": "v"})
                return await ep.request(leader.id, 0, Request(cmd), lambda f: type(f.msg) is Reply and f.msg.cid == cid,
                                        5.0, busy_retry=False)

            flooded(await burst(cfg, leader.wire, put, 24), 24)
            cs = [RaftKVClient(cfg, client_id=1100 + k, prefer=leader.id) for k in range(12)]
            await asyncio.gather(*(c.put(f"r{k}", "v") for k, c in enumerate(cs)))
            assert sum(c.ep.busy for c in cs) > 0
            assert await cs[0].get("r11") == "v"
            for c in cs:
                await c.close()
        finally:
            await stopped(nodes)  # type: ignore[arg-type]

    asyncio.run(main())


def _begin(tm: int) -> Ask:
    async def ask(ep: Endpoint, k: int) -> Frame:
        tx = 1 + k
        return await ep.request(tm, tx, Begin(frozenset()), lambda f: f.inst == tx and type(f.msg) is Outcome, 5.0,
                                busy_retry=False)
    return ask


@pytest.mark.parametrize("protocol", ["2pc", "3pc"])
def test_a_burst_of_transactions_gets_busy_answers_and_retried_ones_all_commit(tmp_path: Path, protocol: str) -> None:
    if protocol == "2pc":  # the TM: each transaction waits 0.3 s for its decision
        cfg = twophase_cluster(str(tmp_path / "tx"), 2, fsync=False, params={"decide_delay": 0.3})
        node, wire, client = TxNode, tx_wire(2), TxClient
    else:  # the coordinator: each transaction pauses 0.3 s before its phases
        cfg = threephase_cluster(str(tmp_path / "3pc"), 2, fsync=False, params={"pause_ms": 300})
        node, wire, client = ThreePhaseNode, threephase_wire(2), ThreePhaseClient  # type: ignore[assignment]

    async def main() -> None:
        nodes = [node(cfg, i) for i in range(3)]
        nodes[2].max_inflight = 2
        await started(nodes)  # type: ignore[arg-type]
        try:
            flooded(await burst(cfg, wire, _begin(2), 10), 10)
            cs = [client(cfg, client_id=1100 + k) for k in range(6)]
            outcomes = await asyncio.gather(*(c.commit(tx=100 + k) for k, c in enumerate(cs)))
            assert [d for _tx, d, _st in outcomes] == ["committed"] * 6
            assert sum(c.ep.busy for c in cs) > 0
            for c in cs:
                await c.close()
        finally:
            await stopped(nodes)  # type: ignore[arg-type]

    asyncio.run(main())


def test_a_burst_of_lease_writes_gets_busy_answers_and_retried_writes_all_complete(tmp_path: Path) -> None:
    cfg = lease_cluster(str(tmp_path / "ll"), 1, fsync=False, params={"lease": 40, "margin": 5, "tick_ms": 50})

    async def main() -> None:
        nodes = [LeaseNode(cfg, i) for i in range(3)]
        nodes[2].max_inflight = 2  # client c0: each write works 300 ms before it reaches the storage
        await started(nodes)  # type: ignore[arg-type]
        lock = LockClient(cfg, client_id=1099)
        try:
            assert (await lock.acquire(0)).holds

            async def write(ep: Endpoint, k: int) -> Frame:
                return await ep.request(2, 0, WriteReq(300), lambda f: f.src == 2 and type(f.msg) is WriteDone, 5.0,
                                        busy_retry=False)

            flooded(await burst(cfg, lease_wire(1), write, 8), 8)
            cs = [LockClient(cfg, client_id=1100 + k) for k in range(4)]
            done = await asyncio.gather(*(c.write(0, 300) for c in cs))
            assert all(d.accepted for d in done), done
            assert sum(c.ep.busy for c in cs) > 0
            for c in cs:
                await c.close()
        finally:
            await lock.close()
            await stopped(nodes)  # type: ignore[arg-type]

    asyncio.run(main())
