"""The lease lock on real processes: fencing tokens hold against process pauses and clock skew.

Times: ``tick_ms`` 50, so a lease of 20 ticks is a second; the model's ``lease_safety`` and
``storage_safety`` are checked on every trace by ``validate``.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from protoproof.impl.cluster import ClusterConfig
from protoproof.impl.faults import FaultPlan
from protoproof.impl.launcher import Cluster
from protoproof.impl.lease import SERVICE, LeaseNode, LockClient, lease_cluster
from protoproof.impl.service import spec_for
from protoproof.impl.validate import validate

PARAMS = {"lease": 20, "margin": 5, "tick_ms": 50}


def test_the_lease_protocol_runs_as_the_lease_service() -> None:
    assert spec_for("lease") is SERVICE
    assert SERVICE.names({"clients": 2}) == ["master", "storage", "c0", "c1"]
    assert SERVICE.names({"clients": 1, "failover": 1}) == ["master", "storage", "c0", "standby"]


def test_in_process_one_holder_at_a_time_and_the_next_one_gets_a_higher_token(tmp_path: Path) -> None:
    cfg = lease_cluster(str(tmp_path / "ll"), 2, trace=True, fsync=False, params=PARAMS)

    async def main() -> tuple[list[object], tuple[int, ...]]:
        nodes = [LeaseNode(cfg, i) for i in range(4)]
        for nd in nodes:
            await nd.start()
        c = LockClient(cfg)
        try:
            a = await c.acquire(0)
            out: list[object] = [a.token, (await c.write(0)).accepted, (await c.write(1)).token]
            await c.want(1)
            await asyncio.sleep(1.5)  # longer than a lease: client 0's renewals keep client 1 out
            out += [(await c.status(0)).token, (await c.status(1)).holds]
            await c.release(0)
            b = await c.acquire(1)
            out += [b.token, (await c.status(0)).holds, (await c.write(1)).accepted, (await c.write(0)).token]
            return out, (await c.log()).tokens
        finally:
            await c.close()
            for nd in nodes:
                await nd.stop()

    out, tokens = asyncio.run(main())
    assert out == [1, True, -1, 1, False, 2, False, True, -1]
    assert tokens == (1, 2)
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()


async def checked(cfg: ClusterConfig, node: int) -> None:
    """Wait until ``node``'s trace shows its lease check for a write (the model's ``write`` step)."""
    path = cfg.trace_dir() / f"node{node}.jsonl"
    for _ in range(500):
        if path.exists() and '"label":"write"' in path.read_text():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"node {node} never ran its write step")


def paused_write(tmp_path: Path, variant: str | None) -> tuple[ClusterConfig, bool, tuple[int, ...], tuple[int, ...]]:
    """Client 0 checks its lease and starts a write, is SIGSTOPped past its lease, client 1 takes
    the lock and writes, client 0 is SIGCONTed and its write goes out: (cluster, whether the
    storage took the stale write, accepted tokens, refused tokens)."""
    preset = SERVICE.variant(variant) if variant else {}
    cfg = lease_cluster(str(tmp_path / "ll"), 2, trace=True, fsync=False, params={**PARAMS, **preset})
    cfg.save()

    async def main(cluster: Cluster) -> tuple[bool, tuple[int, ...], tuple[int, ...]]:
        c, d = LockClient(cfg, client_id=1000, timeout=5), LockClient(cfg, client_id=1001, timeout=5)
        try:
            assert (await c.acquire(0)).token == 1
            stale = asyncio.ensure_future(c.write(0, work_ms=1000))  # checked now, on the wire 1 s later
            await checked(cfg, 2)
            cluster.pause(2)
            t0 = time.monotonic()
            st = await d.acquire(1, budget=10)  # the master lets client 0's lease run out first
            assert st.token == 2 and time.monotonic() - t0 > 0.5
            assert (await d.write(1)).accepted
            cluster.resume(2)
            done = await stale
            assert done.token == 1
            log = await d.log()
            return done.accepted, log.tokens, log.refused
        finally:
            await c.close()
            await d.close()

    with Cluster(cfg) as cluster:
        cluster.start_all()
        took, tokens, refused = asyncio.run(main(cluster))
    return cfg, took, tokens, refused


def test_with_fencing_a_client_paused_past_its_lease_has_its_write_refused(tmp_path: Path) -> None:
    cfg, took, tokens, refused = paused_write(tmp_path, None)
    assert not took
    assert tokens == (2,) and refused == (1,)
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()
    assert [i for i, _sec in report.pauses] == [2] and report.pauses[0][1] > 0.5
    assert "node 2 paused" in report.summary()


def test_without_fencing_the_paused_client_s_stale_write_is_accepted_as_the_model_predicts(tmp_path: Path) -> None:
    cfg, took, tokens, refused = paused_write(tmp_path, "no-fencing")
    assert took
    assert tokens == (2, 1) and refused == ()
    report = validate(cfg.trace_dir())
    assert not report.ok
    assert "invariant storage_safety is violated" in report.summary()


def skewed(tmp_path: Path, rate: float) -> tuple[ClusterConfig, bool, tuple[int, ...], tuple[int, ...]]:
    """Client 0's clock runs at ``rate``; it takes the lock, stops renewing, and keeps writing while
    it believes it holds it; client 1 takes the lock when the master's lease ran out.  (cluster,
    whether both believed at once, accepted, refused)."""
    cfg = lease_cluster(str(tmp_path / "ll"), 2, trace=True, fsync=False, params=PARAMS)
    cfg.save()
    FaultPlan(clocks={2: (0.0, rate)}).save(cfg.directory)

    async def main() -> tuple[bool, tuple[int, ...], tuple[int, ...]]:
        c = LockClient(cfg, client_id=1000, timeout=5)
        try:
            await c.acquire(0)
            await c.release(0)
            both = False
            await c.want(1)
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                a, b = await c.status(0), await c.status(1)
                both = both or (a.holds and b.holds)
                if b.holds:
                    await c.write(1)
                if a.holds:
                    await c.write(0)
                if b.holds and not a.holds:
                    break
                await asyncio.sleep(0.05)
            log = await c.log()
            return both, log.tokens, log.refused
        finally:
            await c.close()

    with Cluster(cfg) as cluster:
        cluster.start_all()
        out = asyncio.run(main())
    return cfg, *out


def test_a_client_clock_skewed_within_the_margin_keeps_the_lease_safe(tmp_path: Path) -> None:
    cfg, both, tokens, refused = skewed(tmp_path, 0.9)
    assert not both and refused == ()
    assert tokens[0] == 1 and tokens[-1] == 2 and list(tokens) == sorted(tokens)
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()


def test_a_client_clock_at_half_speed_breaks_lease_safety_and_fencing_still_guards_the_storage(
        tmp_path: Path) -> None:
    cfg, both, tokens, refused = skewed(tmp_path, 0.5)
    assert both  # client 0 still believed in its lease while client 1 held the lock
    assert list(tokens) == sorted(tokens) and 2 in tokens
    assert refused and set(refused) == {1}  # client 0's writes after client 1's were fenced off
    report = validate(cfg.trace_dir())
    assert not report.ok
    assert "invariant lease_safety is violated" in report.summary()


def test_after_the_master_is_killed_the_standby_grants_only_once_the_grace_period_has_run(tmp_path: Path) -> None:
    cfg = lease_cluster(str(tmp_path / "ll"), 2, trace=True, fsync=False, params={**PARAMS, "failover": 1})
    cfg.save()

    async def main(cluster: Cluster) -> tuple[int, int, float]:
        c = LockClient(cfg, client_id=1000, timeout=5)
        try:
            old = (await c.acquire(0)).token
            await asyncio.sleep(0.3)
            cluster.kill(0, record=False)  # the model has the master's death as step_down
            t0 = time.monotonic()
            new = (await c.acquire(0, budget=15)).token
            while new == old:  # the old lease can still be running on the client's clock
                await asyncio.sleep(0.05)
                new = (await c.status(0)).token
            took = time.monotonic() - t0
            assert (await c.write(0)).accepted
            return old, new, took
        finally:
            await c.close()

    with Cluster(cfg) as cluster:
        cluster.start_all()
        old, new, took = asyncio.run(main(cluster))
    assert (old, new) == (1, 2)
    assert took >= PARAMS["lease"] * PARAMS["tick_ms"] / 1000  # the grace period: a whole lease
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()
    standby = cfg.trace_dir() / f"node{cfg.nodes[-1].id}.jsonl"
    elected = [json.loads(line) for line in standby.read_text().splitlines()]
    at = next(r["now"] for r in elected if r.get("label") == "Elected")
    first = next(r["now"] for r in elected if r.get("label") == "Request" and r["after"]["token"] == 2)
    assert first >= at + PARAMS["lease"]
