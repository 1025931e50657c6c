"""Fault injection: its routing decisions, and the KV store under drops, duplicates, delays, partitions."""

from __future__ import annotations

import asyncio
from pathlib import Path

from protoproof.impl.codec import Frame
from protoproof.impl.faults import FaultInjector, FaultPlan
from protoproof.impl.kv import KVClient, KVNode, paxos_cluster
from protoproof.impl.linearizability import Op, check
from protoproof.models.paxos import OneA, OneB


def test_routing_drops_duplicates_delays_and_blocks() -> None:
    f = Frame(0, 1, 0, OneA(0))
    assert FaultInjector().route(f) == [0.0]
    assert FaultInjector(FaultPlan(drop=1.0)).route(f) == []
    assert len(FaultInjector(FaultPlan(duplicate=1.0)).route(f)) == 2
    delays = FaultInjector(FaultPlan(delay_ms=(5, 10)), seed=1).route(f)
    assert len(delays) == 1 and 0.005 <= delays[0] <= 0.010
    blocked = FaultInjector(FaultPlan(blocked=FaultPlan.partition([0], [1, 2])))
    assert blocked.route(f) == [] and blocked.route(Frame(1, 0, 0, OneA(0))) == []
    assert blocked.route(Frame(1, 2, 0, OneA(0))) == [0.0]
    held = FaultInjector(hold=True)
    assert held.route(f) == [] and held.held == [f]


def test_a_blocked_pair_limited_to_some_kinds_holds_only_frames_of_those_kinds() -> None:
    inj = FaultInjector(FaultPlan(blocked=frozenset({(0, 1)}), hold_across=True, kinds=frozenset({"OneA"})))
    healed: list[Frame] = []
    inj.on_heal = healed.append
    assert inj.route(Frame(0, 1, 0, OneA(0))) == [] and len(inj.parked) == 1
    assert inj.route(Frame(0, 1, 0, OneB(1, 0, 0, None))) == [0.0]  # another kind passes
    inj.set_plan(FaultPlan())
    assert healed == [Frame(0, 1, 0, OneA(0))] and inj.parked == []


def test_a_plan_round_trips_through_its_file(tmp_path: Path) -> None:
    plan = FaultPlan(0.1, 0.2, (1.0, 3.0), FaultPlan.partition([0], [2]), kinds=frozenset({"OneA", "TwoA"}))
    plan.save(tmp_path)
    inj = FaultInjector()
    inj.reload(tmp_path)
    assert inj.plan == plan
    (tmp_path / "faults.json").unlink()
    inj.reload(tmp_path)
    assert inj.plan == FaultPlan()


def test_kv_stays_linearizable_and_in_agreement_under_drops_duplicates_and_delays(tmp_path: Path) -> None:
    async def main() -> None:
        cfg = paxos_cluster(str(tmp_path / "kv"), 3)
        plan = FaultPlan(drop=0.15, duplicate=0.2, delay_ms=(0.0, 8.0))
        injectors = [FaultInjector(plan, seed=i) for i in range(3)]
        nodes = [KVNode(cfg, i, faults=injectors[i]) for i in range(3)]
        for nd in nodes:
            await nd.start()
        loop = asyncio.get_running_loop()
        history: list[Op] = []

        async def client(c: int) -> None:
            kv = KVClient(cfg, client_id=1000 + c, prefer=c % 3, timeout=0.8, budget=30)
            for j in range(15):
                t0 = loop.time()
                await kv.put("k", f"{c}-{j}")
                history.append(Op(c, "put", "k", f"{c}-{j}", t0, loop.time()))
                t0 = loop.time()
                got = await kv.get("k")
                history.append(Op(c, "get", "k", got, t0, loop.time()))
            await kv.close()

        try:
            await asyncio.wait_for(asyncio.gather(*(client(c) for c in range(3))), 120)
            assert sum(i.dropped for i in injectors) > 0 and sum(i.duplicated for i in injectors) > 0
            assert check(history).ok
            await asyncio.sleep(1.5)  # catch-up
            assert all(nd.disagreements == 0 for nd in nodes)
            for slot in set().union(*(nd.log for nd in nodes)):
                assert len({nd.log[slot] for nd in nodes if slot in nd.log}) == 1
        finally:
            for nd in nodes:
                await nd.stop()

    asyncio.run(main())


def test_a_partitioned_node_is_routed_around_and_catches_up_after_healing(tmp_path: Path) -> None:
    async def main() -> None:
        cfg = paxos_cluster(str(tmp_path / "kv"), 3)
        cut = FaultPlan(blocked=FaultPlan.partition([0], [1, 2]))
        injectors = [FaultInjector(cut) for _ in range(3)]
        nodes = [KVNode(cfg, i, faults=injectors[i]) for i in range(3)]
        for nd in nodes:
            await nd.start()
        try:
            kv = KVClient(cfg, prefer=0, timeout=0.5, budget=20)
            await kv.put("p", "1")  # node 0 has no quorum: the client moves on to node 1
            assert kv.retries >= 1
            assert await kv.get("p") == "1"
            assert nodes[0].applied == 0
            for inj in injectors:
                inj.plan = FaultPlan()
            for _ in range(100):
                if nodes[0].applied >= nodes[1].applied:
                    break
                await asyncio.sleep(0.05)
            assert nodes[0].applied == nodes[1].applied and nodes[0].kv == {"p": "1"}
            await kv.close()
        finally:
            for nd in nodes:
                await nd.stop()

    asyncio.run(main())
