"""The runtime's environment: an injectable clock handlers read, and partitions that hold frames."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from protoproof.impl.clock import NodeClock
from protoproof.impl.codec import Frame
from protoproof.impl.faults import FaultInjector, FaultPlan
from protoproof.impl.host import Host
from protoproof.impl.kv import KVClient, KVNode, paxos_cluster
from protoproof.impl.launcher import Cluster
from protoproof.impl.storage import Store
from protoproof.models.actors import Effect, Node
from protoproof.models.base import transition
from protoproof.models.paxos import OneA
from protoproof.models.schema import Int, OneOf, Type

from .test_kv import decided_logs


class Stamp(Node[int]):
    """Remembers the clock it read at its last step."""

    reads_clock = True

    def state_type(self) -> Type:
        return Int(0, 10**6)

    def on_start(self) -> tuple[int, Sequence[Effect]]:
        return 0, ()

    @transition()
    def stamp(self, s: int, now: int = -1) -> tuple[int, Sequence[Effect]]:
        return now, ()


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_skewed_clock_is_what_a_handler_sees(tmp_path: Path) -> None:
    wall = FakeTime()
    fast = NodeClock(tick_s=0.5, offset_s=2.0, rate=1.5, source=wall)
    host: Host[Any] = Host(Stamp(0), Store(tmp_path / "s.sqlite3"), OneOf(None), clock=fast)
    assert host.step(0, "stamp") and host.state(0) == 4  # 2 s ahead: 4 ticks of 0.5 s
    wall.t += 10.0  # 10 s of wall time run as 15 s on this node
    assert host.step(0, "stamp") and host.state(0) == (2 + 15) // 0.5
    honest: Host[Any] = Host(Stamp(1), Store(tmp_path / "t.sqlite3"), OneOf(None),
                             clock=NodeClock(tick_s=0.5, source=wall))
    wall.t += 1.0
    assert honest.step(0, "stamp") and honest.state(0) == 2
    host.close()
    honest.close()


def test_a_clock_is_never_below_zero_and_rejects_a_stopped_rate() -> None:
    assert NodeClock(offset_s=-5.0, source=FakeTime()).now() == 0
    try:
        NodeClock(rate=0.0)
    except ValueError as e:
        assert "rate" in str(e)
    else:
        raise AssertionError("a clock with rate 0 was accepted")


def test_a_split_blocks_every_pair_between_groups_and_no_pair_within_one() -> None:
    pairs = FaultPlan.split([[0], [1, 2], [3]])
    assert (0, 1) in pairs and (2, 0) in pairs and (3, 2) in pairs and (0, 3) in pairs
    assert (1, 2) not in pairs and (2, 1) not in pairs
    assert FaultPlan.partition([0], [1, 2]) == FaultPlan.split([[0], [1, 2]])


def test_a_frame_across_a_partition_is_held_and_sent_when_it_heals(tmp_path: Path) -> None:
    inj = FaultInjector(FaultPlan(blocked=FaultPlan.split([[0], [1, 2]]), hold_across=True))
    out: list[Frame] = []
    inj.on_heal = out.append
    a, b, c = Frame(0, 1, 0, OneA(0)), Frame(1, 0, 0, OneA(1)), Frame(1, 2, 0, OneA(0))
    assert inj.route(a) == [] and inj.route(b) == [] and inj.route(c) == [0.0]
    assert inj.parked == [a, b] and inj.dropped == 0
    inj.set_plan(FaultPlan(blocked=FaultPlan.split([[0, 1], [2]]), hold_across=True))
    assert out == [a, b] and inj.parked == []
    plan = FaultPlan(blocked=FaultPlan.split([[0], [1]]), hold_across=True)
    plan.save(tmp_path)
    inj.reload(tmp_path)
    assert inj.plan == plan


def test_a_partition_between_real_processes_holds_frames_until_it_heals(tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    cfg.save()
    FaultPlan(blocked=FaultPlan.split([[0], [1, 2]]), hold_across=True).save(cfg.directory)

    async def put() -> None:
        kv = KVClient(cfg, prefer=1, timeout=1.0, budget=20)
        try:
            await kv.put("p", "1")
        finally:
            await kv.close()

    with Cluster(cfg) as cluster:
        cluster.start_all()
        asyncio.run(asyncio.wait_for(put(), 60))
        time.sleep(1.0)
        logs = decided_logs(cfg.directory, 3)
        assert logs[1] and not logs[0], "node 0 learned a decision across the partition"
        FaultPlan().save(cfg.directory)  # heal: the nodes pick it up within 0.5 s
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and decided_logs(cfg.directory, 3)[0] != logs[1]:
            time.sleep(0.2)
    assert decided_logs(cfg.directory, 3)[0] == logs[1]
    held = [(cfg.directory / f"node{i}" / "node.log").read_text() for i in range(3)]
    assert any("sending" in t and "held frame" in t for t in held), "no node sent held frames on healing"


def test_a_plans_clock_skews_reach_each_nodes_host(tmp_path: Path) -> None:
    plan = FaultPlan(clocks={1: (2.0, 1.5)})
    plan.save(tmp_path)
    inj = FaultInjector()
    inj.reload(tmp_path)
    assert inj.plan == plan
    skewed, plain = inj.node_clock(1), inj.node_clock(0)
    assert (skewed.offset_s, skewed.rate) == (2.0, 1.5) and (plain.offset_s, plain.rate) == (0.0, 1.0)
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    node = KVNode(cfg, 1, faults=inj)
    try:
        assert (node.host.clock.offset_s, node.host.clock.rate) == (2.0, 1.5)
    finally:
        node.host.close()
        node.store.close()
