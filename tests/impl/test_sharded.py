"""The sharded KV store: the handoff model's nodes on real nodes, joins and leaves under writes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from protoproof.impl.cluster import ClusterConfig, load_cluster
from protoproof.impl.codec import Frame
from protoproof.impl.faults import FaultInjector, FaultPlan
from protoproof.impl.launcher import Cluster
from protoproof.impl.linearizability import Op, check
from protoproof.impl.service import Service, spec_for
from protoproof.impl.sharded import SERVICE, ShardedClient, ShardedNode, settle, sharded_cluster
from protoproof.impl.sharded_ring import bucket_of, change_membership, owners, read_rings
from protoproof.impl.validate import validate
from protoproof.models.handoff_nodes import Write
from protoproof.models.hashring import Ring


def new_cluster(tmp_path: Path, nodes: int = 3, spares: int = 1, variant: str | None = None,
                trace: bool = True) -> ClusterConfig:
    """A saved cluster (64 buckets), loaded as its nodes load it; ``variant``: a planted bug."""
    params = SERVICE.variant(variant) if variant else {}
    cfg = sharded_cluster(str(tmp_path / "sh"), nodes, spares, trace=trace, fsync=False, params=params)
    cfg.save()
    return load_cluster(cfg.directory, as_node=True)


@contextlib.asynccontextmanager
async def in_process(cfg: ClusterConfig, plans: dict[int, FaultPlan] | None = None,
                     budget: float = 60.0) -> AsyncIterator[tuple[list[ShardedNode], ShardedClient]]:
    """Every node of ``cfg`` started in this process (``plans``: a node's faults), and a client."""
    nodes = [ShardedNode(cfg, i, faults=FaultInjector((plans or {}).get(i, FaultPlan())))
             for i in range(len(cfg.nodes))]
    for nd in nodes:
        await nd.start()
    c = ShardedClient(cfg, budget=budget)
    try:
        yield nodes, c
    finally:
        await c.close()
        for nd in nodes:
            await nd.stop()


def moved_by_ring(cfg: ClusterConfig, keys: list[str], old: int, new: int) -> set[str]:
    """The keys whose bucket the ring versions ``old`` and ``new`` give to different nodes."""
    doc = read_rings(cfg.directory)
    b, v = doc["buckets"], doc["vnodes"]
    a, z = owners(doc["versions"][old], b, v), owners(doc["versions"][new], b, v)
    return {k for k in keys if a[bucket_of(k, b)] != z[bucket_of(k, b)]}


def test_the_sharded_store_runs_the_handoff_protocol() -> None:
    assert spec_for("sharded") is SERVICE
    assert spec_for("handoff") is SERVICE
    assert SERVICE.names({"nodes": 2, "spares": 1}) == ["s0", "s1", "s2", "config", "router"]


def test_the_fraction_of_keys_a_join_moves_matches_the_rings_share_for_the_joiner() -> None:
    """Buckets quantize the ring: the keys moved on a join are the joiner's share of the ring
    within the buckets' and the keys' sampling error (3 sigma)."""
    buckets, vnodes, n = 1024, 64, 4
    keys = [f"user{i}" for i in range(20000)]
    before, after = owners(range(n), buckets, vnodes), owners(range(n + 1), buckets, vnodes)
    moved = [k for k in keys if before[bucket_of(k, buckets)] != after[bucket_of(k, buckets)]]
    assert all(after[bucket_of(k, buckets)] == n for k in moved)  # only to the joiner
    share = Ring.of(range(n + 1), vnodes=vnodes).shares()[n]
    sigma = (share * (1 - share) / buckets) ** 0.5 + (share * (1 - share) / len(keys)) ** 0.5
    assert abs(len(moved) / len(keys) - share) < 3 * sigma
    assert abs(share - 1 / (n + 1)) < 0.05  # and the share is near the ideal 1/(n+1) with 64 vnodes


def test_in_process_join_and_leave_move_exactly_the_keys_the_ring_says_and_keep_every_write(
        tmp_path: Path) -> None:
    cfg = new_cluster(tmp_path)
    keys = [f"k{i}" for i in range(120)]

    async def main() -> tuple[list[set[str]], list[list[set[str]]], list[str | None]]:
        held: list[list[set[str]]] = []
        async with in_process(cfg) as (nodes, c):
            for k in keys[:80]:
                await c.put(k, f"v-{k}")
            held.append([set(nd._held()) for nd in nodes[:4]])
            change_membership(cfg.directory, range(4), True, None)  # s3 joins
            for k in keys[80:]:  # written while the handoff runs
                await c.put(k, f"v-{k}")
            await settle(cfg, 1, budget=30)
            held.append([set(nd._held()) for nd in nodes[:4]])
            change_membership(cfg.directory, range(4), False, 0)  # s0 leaves
            await settle(cfg, 2, budget=30)
            held.append([set(nd._held()) for nd in nodes[:4]])
            got = [await c.get(k) for k in keys]
        moved = []
        for before, after in itertools.pairwise(held):
            where = [{k: i for i, ks in enumerate(h) for k in ks} for h in (before, after)]
            moved.append({k for k in where[0] if where[0][k] != where[1].get(k)})
        return moved, held, got

    moved, held, got = asyncio.run(main())
    assert got == [f"v-{k}" for k in keys]
    # Every key is held by exactly one node, and only the keys the ring moves changed holder.
    for h in held:
        assert sum(len(ks) for ks in h) == len(set().union(*h))
    assert moved[0] == moved_by_ring(cfg, keys[:80], 0, 1) and moved[0]
    assert moved[1] == moved_by_ring(cfg, keys, 1, 2) and moved[1]
    assert held[1][3] >= moved[0] and not held[2][0]  # the joiner got them; the leaver kept none
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()


def test_a_crash_between_a_writes_row_and_its_model_step_leaves_the_acknowledged_value_readable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = new_cluster(tmp_path, 2, 0, trace=False)
    router = len(cfg.nodes) - 1

    async def main() -> str | None:
        async with in_process(cfg) as (nodes, c):
            await c.put("k", "acked")
            b = bucket_of("k", int(cfg.params["buckets"]))
            owner = nodes[0].params.owner(0, b)
            nd = nodes[owner]
            nd.payloads[99] = ("k", "never-acked")
            with monkeypatch.context() as m:  # the process dies right after the row, before the model's step
                m.setattr(Service, "on_frame", lambda self, f: None)
                nd.on_frame(Frame(router, owner, 0, Write(b, 99)))
            await nd.stop()
            nodes[owner] = ShardedNode(cfg, owner)
            await nodes[owner].start()
            return await c.get("k")

    assert asyncio.run(main()) == "acked"


def test_a_sharded_cluster_joins_a_node_from_the_cli_kv_reads_through_it_and_its_trace_validates(
        tmp_path: Path) -> None:
    d = tmp_path / "cli"
    pp = [sys.executable, "-m", "protoproof"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*pp, *args], capture_output=True, text=True, timeout=90)

    r = run("cluster", "sharded", "--dir", str(d), "--nodes", "2", "--spares", "1", "--detach", "--no-fsync",
            "--trace")
    assert r.returncode == 0, r.stderr
    try:
        for i in range(10):
            assert run("kv", "--cluster", str(d), "put", f"key{i}", f"val{i}").returncode == 0
        r = run("cluster", "sharded", "--dir", str(d), "--join")
        assert r.returncode == 0, r.stderr
        assert "ring version 1: s0, s1, s2" in r.stdout and "handoff to ring version 1 done" in r.stdout
        assert run("kv", "--cluster", str(d), "get", "key3").stdout.strip() == "val3"
        r = run("cluster", "sharded", "--dir", str(d), "--join")
        assert r.returncode == 2 and "every storage node is in the ring already" in r.stderr
        # A storage node restarts, and so do the router and the config service (their state is durable).
        assert run("cluster", "restart", "--dir", str(d), "--node", "0").returncode == 0
        assert run("kv", "--cluster", str(d), "get", "key4").stdout.strip() == "val4"
        for node in ("4", "3"):
            r = run("cluster", "restart", "--dir", str(d), "--node", node)
            assert r.returncode == 0, r.stderr
        assert run("kv", "--cluster", str(d), "put", "key4", "new4").returncode == 0
        assert run("kv", "--cluster", str(d), "get", "key4").stdout.strip() == "new4"
    finally:
        run("cluster", "stop", "--dir", str(d))
    r = run("validate", str(d / "trace"))
    assert r.returncode == 0 and "trace fits the model" in r.stdout, r.stdout


async def unsettled(cfg: ClusterConfig, node: int, ver: int) -> bool:
    """Wait until ``node`` is at ring version ``ver`` with a handoff under way; False after 20 s."""
    c = ShardedClient(cfg, timeout=1.0)
    try:
        for _ in range(400):
            st = await c.status(node)
            if st.ver >= ver:
                return not st.settled
            await asyncio.sleep(0.05)
        return False
    finally:
        await c.close()


async def write_load(cfg: ClusterConfig, history: list[Op], stop: asyncio.Event, clients: int = 3,
                     keys: int = 40) -> None:
    """Clients putting and getting a bounded key set until ``stop``: the history records each call."""
    t_start = time.monotonic()

    async def one(cid: int) -> None:
        c = ShardedClient(cfg, client_id=cfg.client_ids.start + cid, budget=60)
        n = 0
        try:
            while not stop.is_set():
                k = f"key{(n * 7 + cid) % keys}"
                t0 = time.monotonic() - t_start
                if n % 3 == 2:
                    v = await c.get(k)
                    history.append(Op(cid, "get", k, v, t0, time.monotonic() - t_start))
                else:
                    val = f"c{cid}-{n}"
                    await c.put(k, val)
                    history.append(Op(cid, "put", k, val, t0, time.monotonic() - t_start))
                n += 1
        finally:
            await c.close()

    await asyncio.gather(*(one(i) for i in range(clients)))


@pytest.mark.slow
def test_join_and_leave_under_writes_with_kill_9_during_the_handoff_lose_no_acknowledged_write(
        tmp_path: Path) -> None:
    cfg = new_cluster(tmp_path)
    history: list[Op] = []

    async def main(cluster: Cluster) -> dict[str, str | None]:
        stop = asyncio.Event()
        load = asyncio.create_task(write_load(cfg, history, stop))
        await asyncio.sleep(1.0)
        mid = []
        # The receiver is paused, so the old owner is caught mid-handoff (SENDING, not settled).
        cluster.pause(3)
        change_membership(cfg.directory, range(4), True, None)  # s3 joins
        mid.append(await unsettled(cfg, 0, 1))
        cluster.kill(0)  # an old owner, mid-handoff
        cluster.start(0)
        cluster.resume(3)
        await settle(cfg, 1, budget=60)
        # A leave needs every node's report first (one handoff at a time): the leaver is killed
        # as soon as it has learned the new ring (mid-handoff or just after it), then the receiver.
        change_membership(cfg.directory, range(4), False, 1)  # s1 leaves
        await unsettled(cfg, 1, 2)
        cluster.kill(1)
        cluster.start(1)
        cluster.kill(3)
        cluster.start(3)
        await settle(cfg, 2, budget=60)
        assert mid == [True]
        await asyncio.sleep(2.0)  # the load goes on after the handoffs (> 100 operations under load too)
        stop.set()
        await load
        c = ShardedClient(cfg)
        try:
            return {k: await c.get(k) for k in sorted({op.key for op in history})}
        finally:
            await c.close()

    with Cluster(cfg) as cluster:
        cluster.start_all()
        final = asyncio.run(main(cluster))
    assert len(history) > 100
    # Every key with an acknowledged write still has a value, and the final reads, after every
    # operation, are part of the history checked for linearizability: they see the latest write.
    assert all(final[op.key] is not None for op in history if op.kind == "put")
    end = max(op.ret or 0 for op in history) + 1
    history.extend(Op(99, "get", k, v, end, end + 0.1) for k, v in final.items())
    assert check(history).ok
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()


def test_a_planted_drop_before_ack_run_for_real_is_caught_by_trace_validation(tmp_path: Path) -> None:
    cfg = new_cluster(tmp_path, 2, 1, "drop-before-ack")

    async def main() -> None:
        async with in_process(cfg) as (_nodes, c):
            for i in range(20):
                await c.put(f"k{i}", f"v{i}")
            change_membership(cfg.directory, range(3), True, None)
            await settle(cfg, 1, budget=30)

    asyncio.run(main())
    r = validate(cfg.trace_dir())
    assert not r.ok and "stream" in str(r.problems[0]), r.summary()


def test_a_planted_stale_version_write_is_applied_by_the_old_owner_and_caught_by_trace_validation(
        tmp_path: Path) -> None:
    cfg = new_cluster(tmp_path, 2, 1, "stale-version-write")
    config, router, joiner = 3, 4, 2
    buckets = int(cfg.params["buckets"])
    before, after = owners([0, 1], buckets, 64), owners([0, 1, 2], buckets, 64)
    key = next(f"k{i}" for i in range(1000) if after[bucket_of(f"k{i}", buckets)] == joiner)
    old = before[bucket_of(key, buckets)]
    # The router never hears of ring 1 (a stale client), and the old owner's transfer never gets
    # through: the key stays SENDING at the old owner, where the stale router's write goes.
    plans = {config: FaultPlan(blocked=frozenset({(config, router)}), kinds=frozenset({"NewRing"})),
             old: FaultPlan(blocked=frozenset({(old, joiner)}), kinds=frozenset({"Transfer"}))}

    async def main() -> None:
        async with in_process(cfg, plans, budget=5) as (_nodes, c):
            await c.put(key, "before")
            change_membership(cfg.directory, range(3), True, None)
            assert await unsettled(cfg, old, 1)
            # The correct old owner forwards it, to wait at the joiner: no ack (NoReply after 5 s).
            await c.put(key, "after")

    asyncio.run(main())
    r = validate(cfg.trace_dir())
    assert not r.ok, r.summary()


def test_a_planted_route_reads_early_returns_a_stale_read_that_validation_and_lincheck_catch(
        tmp_path: Path) -> None:
    cfg = new_cluster(tmp_path, 3, 1, "route-reads-early")
    keys = [f"k{i}" for i in range(60)]
    history: list[Op] = []

    async def main(cluster: Cluster) -> None:
        c = ShardedClient(cfg, budget=10)
        try:
            for k in keys:
                t0 = time.monotonic()
                await c.put(k, f"v-{k}")
                history.append(Op(0, "put", k, f"v-{k}", t0, time.monotonic()))
            doc = read_rings(cfg.directory)
            old = owners(doc["versions"][0], doc["buckets"], doc["vnodes"])
            change_membership(cfg.directory, range(4), True, None)
            moving = sorted(moved_by_ring(cfg, keys, 0, 1))
            src = old[bucket_of(moving[0], doc["buckets"])]
            cluster.pause(src)  # the old owner holds the key back: the new owner must wait for it
            for i in (3, len(cfg.nodes) - 1):
                while (await c.status(i)).ver < 1:
                    await asyncio.sleep(0.05)
            t0 = time.monotonic()
            got = await c.get(moving[0])
            history.append(Op(0, "get", moving[0], got, t0, time.monotonic()))
            cluster.resume(src)
        finally:
            await c.close()

    with Cluster(cfg) as cluster:
        cluster.start_all()
        asyncio.run(main(cluster))
    assert not check(history).ok  # the read missed the acknowledged write
    assert not validate(cfg.trace_dir()).ok
