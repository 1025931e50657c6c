"""2PC as real nodes: the TM killed between the votes and the decision; the planted runtime bug."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from protoproof.impl.client import Endpoint
from protoproof.impl.cluster import ClusterConfig
from protoproof.impl.launcher import Cluster
from protoproof.impl.tx import Begin, Status, StatusReq, TxClient, TxNode, twophase_cluster, wire_type
from protoproof.impl.validate import validate
from protoproof.models.tcommit import ABORTED, COMMITTED, PREPARED


async def rm_states(ep: Endpoint, rms: int, tx: int) -> dict[int, str]:
    out = {}
    for r in range(rms):
        try:
            def mine(f: Any, r: int = r) -> bool:
                return bool(f.src == r and f.inst == tx and type(f.msg) is Status)

            f = await ep.request(r, tx, StatusReq(), mine, 0.5)
            out[r] = f.msg.state
        except (TimeoutError, OSError):
            pass
    return out


async def wait_for(ep: Endpoint, rms: int, tx: int, pred, timeout: float) -> dict[int, str]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    st: dict[int, str] = {}
    while time.monotonic() < deadline:
        st = await rm_states(ep, rms, tx)
        if pred(st):
            return st
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition not reached within {timeout}s; RM states {st}")


def consistent(st: dict[int, str]) -> bool:
    return not (COMMITTED in st.values() and ABORTED in st.values())


def test_in_process_transactions_commit_and_abort_everywhere(tmp_path: Path) -> None:
    async def main() -> None:
        cfg = twophase_cluster(str(tmp_path / "tx"), 3)
        nodes = [TxNode(cfg, i) for i in range(4)]
        for nd in nodes:
            await nd.start()
        c = TxClient(cfg)
        try:
            _tx, d, st = await c.commit()
            assert d == COMMITTED and st == {0: COMMITTED, 1: COMMITTED, 2: COMMITTED}
            _tx, d, st = await c.commit(no=[2])
            assert d == ABORTED and st == {0: ABORTED, 1: ABORTED, 2: ABORTED}
        finally:
            await c.close()
            for nd in nodes:
                await nd.stop()

    asyncio.run(main())


def test_tm_killed_between_votes_and_decision_leaves_rms_consistent(tmp_path: Path) -> None:
    rms = 3
    cfg = twophase_cluster(str(tmp_path / "tx"), rms, trace=True, params={"decide_delay": 1.0})
    cfg.save()
    tm = rms

    async def main(cluster: Cluster) -> None:
        ep = Endpoint(cfg, wire_type(rms))
        try:
            tx = 42
            await ep.send(tm, tx, Begin(frozenset()))
            await wait_for(ep, rms, tx, lambda st: len(st) == rms and set(st.values()) == {PREPARED}, 5)
            cluster.kill(tm)  # every RM voted; the TM had not decided yet
            for _ in range(10):
                st = await rm_states(ep, rms, tx)
                assert consistent(st), st
                assert COMMITTED not in st.values()  # nobody can commit without the TM
                await asyncio.sleep(0.05)
            cluster.start(tm)
            st = await wait_for(ep, rms, tx, lambda st: len(st) == rms and PREPARED not in st.values(), 10)
            assert consistent(st), st
            assert set(st.values()) == {ABORTED}  # the restarted TM presumes abort
            # a new transaction after the restart commits everywhere
            c = TxClient(cfg)
            _t, d, st2 = await c.commit()
            await c.close()
            assert d == COMMITTED and set(st2.values()) == {COMMITTED} and len(st2) == rms
        finally:
            await ep.close()

    with Cluster(cfg) as cluster:
        cluster.start_all()
        asyncio.run(asyncio.wait_for(main(cluster), 60))
    assert cluster.kills == 1
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()


async def _crash_after_prepare(cfg: ClusterConfig, bug: bool) -> None:
    nodes = [TxNode(cfg, i, send_before_persist=bug and i == 0) for i in range(3)]
    for nd in nodes:
        await nd.start()
    c = TxClient(cfg)
    task = asyncio.get_running_loop().create_task(c.commit(tx=7, timeout=8))
    for _ in range(400):
        if nodes[0].host.states.get(7) == PREPARED:
            break
        await asyncio.sleep(0.002)
    await nodes[0].stop()  # crash rm0 right after it voted
    nodes[0] = TxNode(cfg, 0)
    await nodes[0].start()
    try:
        await task
    finally:
        await c.close()
        for nd in nodes:
            await nd.stop()


def test_trace_of_a_correct_host_crashing_after_its_vote_fits_the_model(tmp_path: Path) -> None:
    cfg = twophase_cluster(str(tmp_path / "ok"), 2, trace=True)
    asyncio.run(_crash_after_prepare(cfg, bug=False))
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()
    assert report.instances == 1 and report.steps > 5


def test_trace_validation_catches_a_host_that_sends_before_persisting(tmp_path: Path) -> None:
    cfg = twophase_cluster(str(tmp_path / "bug"), 2, trace=True)
    asyncio.run(_crash_after_prepare(cfg, bug=True))
    report = validate(cfg.trace_dir())
    assert not report.ok
    first = min(report.problems, key=lambda p: p.step)
    assert first.node == 0 and first.inst == 7
    assert "restarted with state 'working'" in first.what and "'prepared'" in first.what
    assert "sent before it persisted" in first.what


def test_trace_validation_catches_the_planted_bug_after_a_kill_9(tmp_path: Path) -> None:
    """The same bug in a real process: rm0 votes, is SIGKILLed before its late Persist lands."""
    rms = 2
    cfg = twophase_cluster(str(tmp_path / "tx"), rms, trace=True, params={"decide_delay": 2.0})
    cfg.save()

    async def main(cluster: Cluster) -> None:
        ep = Endpoint(cfg, wire_type(rms))
        try:
            await ep.send(rms, 5, Begin(frozenset()))
            await wait_for(ep, rms, 5, lambda st: st.get(0) == PREPARED, 5)
            cluster.kill(0)
            cluster.start(0)
        finally:
            await ep.close()

    with Cluster(cfg, env={"PROTOPROOF_SEND_BEFORE_PERSIST": "0"}) as cluster:
        cluster.start_all()
        asyncio.run(asyncio.wait_for(main(cluster), 30))
        time.sleep(0.3)
    report = validate(cfg.trace_dir())
    assert not report.ok
    first = min(report.problems, key=lambda p: p.step)
    assert first.node == 0 and "sent before it persisted" in first.what, report.summary()


class _Killed(Exception):
    """Stands for a kill -9 at one point of a step."""


async def _kill_at_the_vote_commit(cfg: ClusterConfig, after_commit: bool) -> None:
    nodes = [TxNode(cfg, i) for i in range(3)]
    for nd in nodes:
        await nd.start()
    store = nodes[0].host.store
    real_put = store.put

    def put(inst: int, value: Any, trace: dict[str, Any] | None = None,
            logs: dict[str, tuple[int, list[Any]]] | None = None) -> None:
        if value != "prepared":
            real_put(inst, value, trace, logs)
            return
        if after_commit:
            real_put(inst, value, trace, logs)
        raise _Killed  # the step goes no further: no trace line, no send

    store.put = put  # type: ignore[method-assign]
    c = TxClient(cfg)
    task = asyncio.get_running_loop().create_task(c.commit(tx=7, timeout=2))
    try:
        for _ in range(400):
            if nodes[0].host.states.get(7) == PREPARED:
                break
            await asyncio.sleep(0.002)
        assert nodes[0].host.states.get(7) == PREPARED
        await nodes[0].stop()
        nodes[0] = TxNode(cfg, 0)
        await nodes[0].start()
        assert nodes[0].host.states.get(7) == (PREPARED if after_commit else None)
    finally:
        task.cancel()
        await c.close()
        for nd in nodes:
            await nd.stop()


@pytest.mark.parametrize("after_commit", [False, True], ids=["before the commit", "after the commit"])
def test_a_kill_around_a_persist_leaves_a_trace_that_agrees_with_the_disk(tmp_path: Path, after_commit: bool) -> None:
    """The trace line of a persisting step is committed with it: a kill on either side of the
    sqlite commit leaves the step in both the trace and the disk, or in neither."""
    cfg = twophase_cluster(str(tmp_path / "cut"), 2, trace=True)
    asyncio.run(_kill_at_the_vote_commit(cfg, after_commit))
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()
    lines = (cfg.trace_dir() / "node0.jsonl").read_text().splitlines()
    voted = [json.loads(x) for x in lines if '"after":"prepared"' in x and '"inst":7' in x]
    assert len(voted) == (2 if after_commit else 0)  # the vote, and the recovery into it
