"""The sharded KV store with R > 1 replicas and a restartable router and config service (issue 14)."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from protoproof.impl.cluster import ClusterConfig, load_cluster
from protoproof.impl.faults import FaultPlan
from protoproof.impl.launcher import Cluster
from protoproof.impl.linearizability import Op, check
from protoproof.impl.sharded import SERVICE, ShardedClient, ShardedNode, settle, sharded_cluster
from protoproof.impl.sharded_ring import bucket_of, change_membership, read_rings, slot_of, slot_owners
from protoproof.impl.validate import validate

from .test_sharded import in_process, unsettled, write_load


def new_cluster(tmp_path: Path, nodes: int = 3, spares: int = 1, replicas: int = 2, trace: bool = True,
                params: dict[str, int] | None = None) -> ClusterConfig:
    """A saved cluster of 64 buckets with ``replicas`` replicas each, loaded as its nodes load it."""
    cfg = sharded_cluster(str(tmp_path / "sh"), nodes, spares, trace=trace, fsync=False,
                          params={"replicas": replicas, **(params or {})})
    cfg.save()
    return load_cluster(cfg.directory, as_node=True)


def slots_by_ring(cfg: ClusterConfig, keys: list[str], ver: int) -> set[tuple[int, int, str]]:
    """(node, slot, key) for each replica slot of each key, as ring version ``ver`` places them."""
    doc = read_rings(cfg.directory)
    b, r = doc["buckets"], doc["replicas"]
    own = slot_owners(doc["versions"][:ver + 1], b, doc["vnodes"], r)[ver]
    return {(own[slot_of(p, bucket_of(k, b), b)], slot_of(p, bucket_of(k, b), b), k) for k in keys for p in range(r)}


def held(nodes: list[ShardedNode], storage: int) -> set[tuple[int, int, str]]:
    return {(i, s, k) for i in range(storage) for s, k in nodes[i].held_slots()}


async def restart(nodes: list[ShardedNode], cfg: ClusterConfig, i: int) -> None:
    """Stop node ``i`` (its memory is gone, as with a kill) and start it again from its disk."""
    await nodes[i].stop()
    nodes[i] = ShardedNode(cfg, i)
    await nodes[i].start()


def test_two_replicas_join_and_leave_with_the_router_and_config_restarted_mid_handoff_keep_every_write(
        tmp_path: Path) -> None:
    """R = 2: every key on the two nodes of its slots; a join and a leave move exactly the slots
    the ring's preference lists predict, while the router and the config service are restarted
    during the join's handoff and writes go on; afterwards every write reads back and the trace
    fits the model."""
    cfg = new_cluster(tmp_path)
    config, router = 4, 5
    keys = [f"k{i}" for i in range(60)]

    async def main() -> tuple[list[set[tuple[int, int, str]]], list[str | None]]:
        seen = []
        async with in_process(cfg) as (nodes, c):
            for k in keys[:40]:
                await c.put(k, f"v-{k}")
            seen.append(held(nodes, 4))
            change_membership(cfg.directory, range(4), True, None)  # s3 joins
            async def more() -> None:  # written while the handoff runs and the router restarts
                for k in keys[40:]:
                    await c.put(k, f"v-{k}")

            writes = asyncio.create_task(more())
            await asyncio.sleep(0.3)
            await restart(nodes, cfg, router)
            await restart(nodes, cfg, config)
            await writes
            await settle(cfg, 1, budget=60)
            seen.append(held(nodes, 4))
            change_membership(cfg.directory, range(4), False, 0)  # s0 leaves
            await asyncio.sleep(0.2)
            await restart(nodes, cfg, config)
            await settle(cfg, 2, budget=60)
            seen.append(held(nodes, 4))
            got = [await c.get(k) for k in keys]
        return seen, got

    seen, got = asyncio.run(main())
    assert got == [f"v-{k}" for k in keys]
    assert seen == [slots_by_ring(cfg, keys[:40], 0), slots_by_ring(cfg, keys, 1), slots_by_ring(cfg, keys, 2)]
    for s in seen:  # each key on two distinct nodes
        assert all(len({n for n, _s, k2 in s if k2 == k}) == 2 for k in {k for _n, _s, k in s})
    where = [{(s, k): n for n, s, k in h} for h in seen]
    moved = [{sk: (a[sk], b[sk]) for sk in a if a[sk] != b[sk]} for a, b in itertools.pairwise(where)]
    # Minimal movement: the join moves slots only to the joiner, the leave only away from the leaver.
    assert moved[0] and all(new == 3 for _old, new in moved[0].values())
    assert moved[1] and all(old == 0 for old, _new in moved[1].values())
    assert not any(n == 0 for n, _s, _k in seen[2])
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()


def test_a_router_killed_between_the_replicas_of_a_put_finishes_it_after_its_restart(tmp_path: Path) -> None:
    """The router's request in progress is durable: a put whose write to replica 1 cannot get
    through is in progress (replica 0 acknowledged) when the router stops; the restarted router
    writes replica 1 and answers the client's retry (not running the put again: exactly once),
    and both replicas then hold the value."""
    cfg = new_cluster(tmp_path, 2, 0)
    router, b = 3, bucket_of("k", 64)
    own = slot_owners([[0, 1]], 64, 64, 2)[0]
    second = own[slot_of(1, b, 64)]
    plans = {router: FaultPlan(blocked=frozenset({(router, second)}), kinds=frozenset({"Write"}))}

    async def main() -> tuple[str | None, set[tuple[int, int, str]], int]:
        async with in_process(cfg, plans) as (nodes, c):
            put = asyncio.create_task(c.put("k", "v"))
            while nodes[router].st().n < 2:  # replica 0's write acknowledged, replica 1's begun
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            assert not put.done()
            await restart(nodes, cfg, router)  # without the fault: the new router gets through
            await put
            return await c.get("k"), held(nodes, 2), nodes[router].st().n

    got, where, ops = asyncio.run(main())
    assert got == "v" and ops == 3  # the put's two model writes, then the get's read
    assert where == {(own[slot_of(p, b, 64)], slot_of(p, b, 64), "k") for p in range(2)}
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()


def test_a_planted_volatile_router_loses_an_acknowledged_write_after_its_restart(tmp_path: Path) -> None:
    """The router before issue 14 kept its state in memory: restarted, it numbers operations from
    1 again, the storage nodes acknowledge its next write as one they hold already, and a read
    returns the older value.  The linearizability checker and trace validation both catch it."""
    cfg = new_cluster(tmp_path, 2, 0, params=SERVICE.variant("volatile-router"))
    router = 3
    history: list[Op] = []

    async def main() -> None:
        async with in_process(cfg) as (nodes, c):
            for v in ("a", "b", "c"):
                t0 = time.monotonic()
                await c.put("k", v)
                history.append(Op(0, "put", "k", v, t0, time.monotonic()))
            await restart(nodes, cfg, router)
            t0 = time.monotonic()
            await c.put("k", "d")
            history.append(Op(0, "put", "k", "d", t0, time.monotonic()))
            t0 = time.monotonic()
            history.append(Op(0, "get", "k", await c.get("k"), t0, time.monotonic()))

    asyncio.run(main())
    assert history[-1].value != "d"
    assert not check(history).ok
    assert not validate(cfg.trace_dir()).ok


@pytest.mark.parametrize(("params", "message"), [
    ({"nodes": 2, "replicas": 3}, "--replicas 3: a bucket's preference list needs that many nodes"),
    ({"nodes": 2, "replicas": 6}, "--replicas must be between 1 and 5"),
])
def test_more_replicas_than_nodes_is_a_one_line_error(tmp_path: Path, params: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SERVICE.new_cluster(tmp_path / "x", params)


def test_a_leave_that_would_leave_fewer_members_than_replicas_is_refused(tmp_path: Path) -> None:
    cfg = new_cluster(tmp_path, 2, 0, trace=False)
    ShardedNode(cfg, 0)  # writes ring version 0
    with pytest.raises(ValueError, match="fewer members than the 2 replicas"):
        change_membership(cfg.directory, range(2), False, 0)


def predicted_counts(cfg: ClusterConfig, keys: list[str], ver: int) -> list[int]:
    """How many (slot, key) pairs ring version ``ver`` puts on each storage node."""
    got = [0] * (len(cfg.nodes) - 2)
    for n, _s, _k in slots_by_ring(cfg, keys, ver):
        got[n] += 1
    return got


@pytest.mark.slow
def test_two_replicas_join_and_leave_under_writes_with_kill_9_of_storage_router_and_config_lose_nothing(
        tmp_path: Path) -> None:
    """Real processes, R = 2, three clients writing: a join with the joiner paused (its senders
    stuck mid-handoff), then kill -9 of one sender, the router and the config service; a leave
    with kill -9 of the router, the leaver and the joiner.  Afterwards every acknowledged write
    reads back, the history (with the final reads) is linearizable, each node holds exactly the
    slots the ring's preference lists give it, and the trace fits the model."""
    cfg = new_cluster(tmp_path)
    config, router, joiner = 4, 5, 3
    history: list[Op] = []

    async def main(cluster: Cluster) -> tuple[dict[str, str | None], list[int]]:
        stop = asyncio.Event()
        load = asyncio.create_task(write_load(cfg, history, stop))
        await asyncio.sleep(1.0)
        cluster.pause(joiner)
        change_membership(cfg.directory, range(4), True, None)  # s3 joins
        doc = read_rings(cfg.directory)
        old, new = slot_owners(doc["versions"], doc["buckets"], doc["vnodes"], 2)
        sender = next(a for a, b in zip(old, new, strict=True) if b == joiner and a != b)
        assert await unsettled(cfg, sender, 1)  # mid-handoff: it cannot finish while the joiner is paused
        for i in (sender, router, config):
            cluster.kill(i)
            cluster.start(i)
        cluster.resume(joiner)
        await settle(cfg, 1, budget=90)
        await asyncio.sleep(1.0)  # writes go on (the router is serial: they stalled behind the paused joiner)
        change_membership(cfg.directory, range(4), False, 1)  # s1 leaves
        await unsettled(cfg, 1, 2)
        for i in (router, 1, joiner):
            cluster.kill(i)
            cluster.start(i)
        await settle(cfg, 2, budget=90)
        for _ in range(600):  # writes go on after the handoffs until 100 operations are recorded (at most 60 s)
            if len(history) >= 100:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await load
        c = ShardedClient(cfg)
        try:
            final = {k: await c.get(k) for k in sorted({op.key for op in history})}
            counts = [(await c.status(i)).keys for i in range(4)]
        finally:
            await c.close()
        return final, counts

    with Cluster(cfg) as cluster:
        cluster.start_all()
        final, counts = asyncio.run(main(cluster))
    assert len(history) >= 100
    assert all(final[op.key] is not None for op in history if op.kind == "put")
    end = max(op.ret or 0 for op in history) + 1
    history.extend(Op(99, "get", k, v, end, end + 0.1) for k, v in final.items())
    assert check(history).ok
    assert counts == predicted_counts(cfg, [k for k, v in final.items() if v is not None], 2)
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(0, 30), min_size=3, max_size=8), st.integers(1, 3), st.data())
def test_a_join_or_leave_moves_at_most_one_replica_slot_of_each_bucket_to_the_joiner_or_from_the_leaver(
        members: set[int], r: int, data: st.DataObject) -> None:
    """Preference lists on the ring change by at most one node per membership change, so with
    stable slots at most one of a bucket's R slots moves, and only to the joiner / from the leaver."""
    buckets = 32
    before = sorted(members)
    if data.draw(st.booleans()):
        changed = data.draw(st.integers(31, 40))
        after = sorted([*before, changed])
    else:
        changed = data.draw(st.sampled_from(before))
        after = [n for n in before if n != changed]
    assume(len(after) >= r)  # a leave below R is refused (change_membership)
    old, new = slot_owners([before, after], buckets, 16, r)
    for b in range(buckets):
        moves = [(old[slot_of(p, b, buckets)], new[slot_of(p, b, buckets)]) for p in range(r)]
        moves = [m for m in moves if m[0] != m[1]]
        assert len(moves) <= 1 and all(changed in m for m in moves)
        assert len({new[slot_of(p, b, buckets)] for p in range(r)}) == r  # R distinct nodes
