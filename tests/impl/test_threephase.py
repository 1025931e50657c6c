"""3PC run for real beside 2PC: the coordinator killed with kill -9 in each phase.

Under 3PC the surviving participants run the termination protocol and decide within ``BOUND``
seconds, all alike; under 2PC the prepared RMs are still undecided after the same ``BOUND`` and
decide only once the TM is back.  Every run's trace is replayed through its model.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from protoproof.impl.client import Endpoint
from protoproof.impl.cluster import ClusterConfig
from protoproof.impl.faults import ENVIRONMENT, FaultPlan, record_environment, set_partition
from protoproof.impl.kv import paxos_cluster
from protoproof.impl.launcher import Cluster
from protoproof.impl.threephase import ThreePhaseClient, ThreePhaseNode, threephase_cluster
from protoproof.impl.threephase import wire_type as tpc_wire
from protoproof.impl.tx import Begin, twophase_cluster
from protoproof.impl.tx import wire_type as tx_wire
from protoproof.impl.validate import validate
from protoproof.models.tcommit import ABORTED, COMMITTED, PREPARED, WORKING
from protoproof.models.threephase import PRECOMMITTED
from protoproof.tests.impl.test_commands import run
from protoproof.tests.impl.test_tx import rm_states, wait_for

#: Seconds from the kill within which every surviving 3PC participant must have decided, and
#: during which every prepared 2PC RM must still be undecided.
BOUND = 2.0

DECIDED = (COMMITTED, ABORTED)


@pytest.mark.parametrize("phase", ["after every yes vote",
                                   pytest.param("after commit to some", marks=pytest.mark.slow)])
def test_under_2pc_the_prepared_rms_block_until_the_killed_tm_returns(tmp_path: Path, phase: str) -> None:
    rms, tx = 3, 11
    cfg = twophase_cluster(str(tmp_path / "2pc"), rms, trace=True, params={"decide_delay": 1.0})
    cfg.save()
    seen: dict[str, float] = {}
    # the last RM is left prepared, or every RM is
    outcome = COMMITTED if phase == "after commit to some" else ABORTED

    async def main(cluster: Cluster) -> None:
        ep = Endpoint(cfg, tx_wire(rms))
        try:
            await ep.send(rms, tx, Begin(frozenset()))
            await wait_for(ep, rms, tx, lambda st: len(st) == rms and set(st.values()) == {PREPARED}, 5)
            if phase == "after commit to some":  # the TM's frames to the last RM are held (a slow link)
                FaultPlan(blocked=frozenset({(rms, rms - 1)}), hold_across=True).save(cfg.directory)
                await wait_for(ep, rms, tx, lambda st: all(st.get(r) == COMMITTED for r in range(rms - 1)), 5)
            cluster.kill(rms)  # the TM had not decided, or its Commit reached only some RMs
            killed = time.monotonic()
            while time.monotonic() - killed < BOUND:
                st = await rm_states(ep, rms, tx)
                assert st[rms - 1] == PREPARED and all(st[r] in (PREPARED, outcome) for r in range(rms)), st
                await asyncio.sleep(0.1)
            seen["blocked"] = time.monotonic() - killed
            FaultPlan().save(cfg.directory)
            cluster.start(rms)
            back = time.monotonic()
            st = await wait_for(ep, rms, tx, lambda st: len(st) == rms and all(v in DECIDED for v in st.values()), 10)
            seen["after_restart"] = time.monotonic() - back
            # the TM comes back undecided and presumes abort, or committed and says so again
            assert set(st.values()) == {outcome}, st
        finally:
            await ep.close()

    with Cluster(cfg) as cluster:
        cluster.start_all()
        asyncio.run(asyncio.wait_for(main(cluster), 60))
    assert seen["blocked"] >= BOUND
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()


# ----- 3PC: the coordinator killed in each phase -----------------------------------------


async def _kill_3pc_tm_in(phase: str, cfg: ClusterConfig, cluster: Cluster, tx: int) -> tuple[float, dict[int, str]]:
    """Run ``tx``, kill the coordinator in ``phase``; (seconds from the kill until every
    participant decided, their final phases)."""
    rms = tm = int(cfg.params["rms"])
    ep = Endpoint(cfg, tpc_wire(rms))
    try:
        await ep.send(tm, tx, Begin(frozenset()))
        if phase == "before the votes":
            await asyncio.sleep(0.3)  # the VoteReqs arrived; the votes are vote_delay_ms away
            assert all(v == WORKING for v in (await rm_states(ep, rms, tx)).values())
        else:
            await wait_for(ep, rms, tx, lambda st: len(st) == rms and set(st.values()) == {PREPARED}, 5)
        if phase in ("after pre-commit to some", "after do-commit to some"):
            if phase == "after do-commit to some":
                await wait_for(ep, rms, tx, lambda st: set(st.values()) == {PRECOMMITTED}, 5)
            # the coordinator's frames to the last participant are held from now on (a slow link)
            FaultPlan(blocked=frozenset({(tm, rms - 1)}), hold_across=True).save(cfg.directory)
            reached = PRECOMMITTED if phase == "after pre-commit to some" else COMMITTED
            await wait_for(ep, rms, tx, lambda st: all(st.get(r) == reached for r in range(rms - 1)), 5)
            assert (await rm_states(ep, rms, tx))[rms - 1] != reached
        cluster.kill(tm)
        killed = time.monotonic()
        st = await wait_for(ep, rms, tx, lambda st: len(st) == rms and all(v in DECIDED for v in st.values()),
                            BOUND + 5)
        return time.monotonic() - killed, st
    finally:
        await ep.close()


#: The phase the coordinator is killed in, the knobs that open that window, and what the
#: termination protocol must decide (Skeen's rules: a pre-committed survivor means commit).
PHASES = {
    "before the votes": ({"vote_delay_ms": 1500}, ABORTED),
    "after every yes vote": ({"pause_ms": 1500}, ABORTED),
    "after pre-commit to some": ({"pause_ms": 1500}, COMMITTED),
    "after do-commit to some": ({"pause_ms": 1500}, COMMITTED),
}


@pytest.mark.parametrize("phase", list(PHASES))
def test_under_3pc_the_participants_decide_alike_within_the_bound_when_the_coordinator_is_killed(
        tmp_path: Path, phase: str) -> None:
    params, outcome = PHASES[phase]
    cfg = threephase_cluster(str(tmp_path / "3pc"), 3, trace=True, params=params)
    cfg.save()
    with Cluster(cfg) as cluster:
        cluster.start_all()
        took, st = asyncio.run(asyncio.wait_for(_kill_3pc_tm_in(phase, cfg, cluster, 21), 60))
    assert set(st.values()) == {outcome}, st
    assert took < BOUND, f"the participants took {took:.2f}s to decide"
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()


# ----- 3PC under a partition: the model's counterexample, for real ----------------------


async def _split_after_the_votes(cfg: ClusterConfig, groups: list[list[int]], tx: int,
                                 settle: float) -> tuple[dict[int, str], dict[int, str]]:
    """Run ``tx``; once every participant voted, cut the cluster into ``groups`` (the coordinator's
    PreCommit is ``pause_ms`` away); the participants' phases ``settle`` seconds later, then heal;
    and their phases once decided after the heal."""
    rms = tm = int(cfg.params["rms"])
    ep = Endpoint(cfg, tpc_wire(rms))
    partitions = bool(cfg.params.get("partitions"))
    try:
        await ep.send(tm, tx, Begin(frozenset()))
        await wait_for(ep, rms, tx, lambda st: len(st) == rms and set(st.values()) == {PREPARED}, 5)
        if partitions:
            set_partition(cfg, groups)  # the model's split, recorded
        else:  # the crash model has no partitions: to it, the held frames are merely slow
            FaultPlan(blocked=FaultPlan.split(groups), hold_across=True).save(cfg.directory)
        await asyncio.sleep(settle)
        during = await rm_states(ep, rms, tx)
        if partitions:
            set_partition(cfg, None)
        else:
            FaultPlan().save(cfg.directory)
        after = await wait_for(ep, rms, tx, lambda st: all(v in DECIDED for v in st.values()), 10)
        return during, after
    finally:
        await ep.close()


def test_a_partition_under_timeout_suspicion_makes_3pc_commit_on_one_side_and_abort_on_the_other(
        tmp_path: Path) -> None:
    """The model's shortest counterexample (``check threephase --rms 2 --failures partition``):
    rm0 and the coordinator on one side, rm1 on the other; rm0 pre-commits and acks, then each
    side suspects the other: the coordinator commits with rm0, rm1 as its own backup aborts.

    Timing: the cut is made while the coordinator waits ``pause_ms`` (1 s) before its PreCommit,
    so the PreCommit reaches rm0 and is held for rm1; suspicion takes ``suspect_after_ms`` (1.5 s)
    of silence, so the coordinator is already pre-committing when it suspects rm1 (with a
    shorter silence it would still be waiting for votes and abort: consistent)."""
    params = {"partitions": 1, "pause_ms": 1000, "suspect_after_ms": 1500}
    cfg = threephase_cluster(str(tmp_path / "split"), 2, trace=True, params=params)
    cfg.save()
    with Cluster(cfg) as cluster:
        cluster.start_all()
        st, _after = asyncio.run(asyncio.wait_for(_split_after_the_votes(cfg, [[0, 2], [1]], 31, 4.0), 60))
    assert st == {0: COMMITTED, 1: ABORTED}, st
    report = validate(cfg.trace_dir())
    assert not report.ok
    first = min(report.problems, key=lambda p: p.step)
    assert first.what.startswith("invariant atomicity is violated after"), report.summary()


@pytest.mark.slow
def test_the_same_partition_under_the_perfect_detector_blocks_3pc_until_it_heals_and_stays_atomic(
        tmp_path: Path) -> None:
    """With ``--failures crash``'s detector (a refused connection) nobody suspects a live node:
    the coordinator waits for rm1's Ack while the partition stands, then everyone commits."""
    cfg = threephase_cluster(str(tmp_path / "split"), 2, trace=True, params={"pause_ms": 1000})
    cfg.save()
    with Cluster(cfg) as cluster:
        cluster.start_all()
        during, after = asyncio.run(asyncio.wait_for(_split_after_the_votes(cfg, [[0, 2], [1]], 32, 4.0), 60))
    assert during == {0: PRECOMMITTED, 1: PREPARED}, during
    assert after == {0: COMMITTED, 1: COMMITTED}, after
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()


def test_a_suspicion_of_a_coordinator_the_trace_never_killed_does_not_fit_the_crash_model(tmp_path: Path) -> None:
    """The kill record is what lets the participants' suspicion fit ``--failures crash``: without
    it the same run is named at the first suspicion, as a detector mistaking a live node.  (And
    a client learns the outcome from the participants when the coordinator is gone.)"""
    rms, tx = 2, 5
    cfg = threephase_cluster(str(tmp_path / "inproc"), rms, trace=True, params={"pause_ms": 1000})

    async def main() -> dict[int, str]:
        nodes = [ThreePhaseNode(cfg, i) for i in range(rms + 1)]
        for nd in nodes:
            await nd.start()
        ep = Endpoint(cfg, tpc_wire(rms))
        try:
            await ep.send(rms, tx, Begin(frozenset()))
            await wait_for(ep, rms, tx, lambda st: len(st) == rms and set(st.values()) == {PREPARED}, 5)
            record_environment(cfg.trace_dir(), "crash", rms)
            await nodes[rms].stop()  # its port closes, as at a kill -9
            st = await wait_for(ep, rms, tx, lambda st: all(v in DECIDED for v in st.values()), 5)
            # a client asking for the outcome gets it from the participants
            c = ThreePhaseClient(cfg, tm_budget=0.3)
            try:
                assert await c.commit(tx=tx, timeout=3) == (tx, ABORTED, {0: ABORTED, 1: ABORTED})
            finally:
                await c.close()
            return st
        finally:
            await ep.close()
            for nd in nodes[:rms]:
                await nd.stop()

    st = asyncio.run(asyncio.wait_for(main(), 30))
    assert st == {0: ABORTED, 1: ABORTED}
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()
    (cfg.trace_dir() / ENVIRONMENT).unlink()
    report = validate(cfg.trace_dir())
    first = min(report.problems, key=lambda p: p.step)
    assert "recorded suspect(node='rm" in first.what and "peer='tm'" in first.what, report.summary()
    assert "which the model does not allow here (nodes down: none)" in first.what


def test_a_threephase_cluster_runs_tx_from_the_command_line_and_its_trace_fits_the_model(tmp_path: Path) -> None:
    d = tmp_path / "tx3"
    r = run("cluster", "threephase", "--rms", "3", "--dir", str(d), "--trace", "--detach")
    assert r.returncode == 0, r.stderr
    try:
        r = run("tx", "--cluster", str(d), "commit")
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines()[0].endswith(": committed")
        assert [ln.split()[-1] for ln in r.stdout.splitlines()[1:]] == ["committed"] * 3
        r = run("tx", "--cluster", str(d), "commit", "--no", "2")
        assert r.returncode == 0 and r.stdout.splitlines()[0].endswith(": aborted"), r.stdout + r.stderr
    finally:
        assert run("cluster", "threephase", "--dir", str(d), "--stop").returncode == 0
    r = run("validate", str(d / "trace"))
    assert r.returncode == 0 and "2 instance(s) of threephase" in r.stdout, r.stdout + r.stderr
    paxos_cluster(str(tmp_path / "kv"), 3).save()
    r = run("tx", "--cluster", str(tmp_path / "kv"), "commit")
    assert r.returncode == 2 and "needs a twophase or threephase cluster" in r.stderr, r.stderr
