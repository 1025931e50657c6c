"""3PC run for real beside 2PC: the coordinator killed with kill -9 in each phase.

Under 3PC the surviving participants run the termination protocol and decide within ``BOUND``
seconds, all alike; under 2PC the prepared RMs are still undecided after the same ``BOUND`` and
decide only once the TM is back.  Every run's trace is replayed through its model.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import pytest

from protoproof.impl.client import Endpoint
from protoproof.impl.cluster import ClusterConfig
from protoproof.impl.commands import add_commands, run_command
from protoproof.impl.faults import ENVIRONMENT, FaultInjector, FaultPlan, set_partition
from protoproof.impl.host import Tracer
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


def slow_link(cfg: ClusterConfig, dsts: range, kind: str) -> None:
    """Hold the coordinator's ``kind`` messages to ``dsts`` from the start (read by each node as it
    starts): the window in which the test kills it, without a race against the clock."""
    tm = int(cfg.params["rms"])
    FaultPlan(blocked=frozenset((tm, d) for d in dsts), hold_across=True, kinds=frozenset({kind})).save(cfg.directory)


def twophase_kill_cluster(directory: Path, some: bool, rms: int = 3) -> ClusterConfig:
    """A saved 2PC cluster (not started, traced) whose TM's Commit reaches all RMs but the last
    (``some``), or none should the TM decide before its kill."""
    cfg = twophase_cluster(str(directory), rms, trace=True, params={"decide_delay": 0.0 if some else 1.0})
    cfg.save()
    slow_link(cfg, range(rms - 1, rms) if some else range(rms), "Commit")
    return cfg


async def kill_2pc_tm(cfg: ClusterConfig, cluster: Cluster, tx: int, some: bool) -> tuple[float, float, set[str]]:
    """Run ``tx``, kill the TM once every RM voted (and, ``some``, all but the last committed),
    check that the RMs stay blocked for ``BOUND`` seconds, restart the TM; (seconds blocked,
    seconds from the restart (the process starting) until every RM decided, their outcomes)."""
    rms = int(cfg.params["rms"])
    ep = Endpoint(cfg, tx_wire(rms))
    try:
        await ep.send(rms, tx, Begin(frozenset()))
        want = [COMMITTED] * (rms - 1) + [PREPARED] if some else [PREPARED] * rms
        await wait_for(ep, rms, tx, lambda st: [st.get(r) for r in range(rms)] == want, 5)
        cluster.kill(rms)
        killed = time.monotonic()
        while time.monotonic() - killed < BOUND:
            st = await rm_states(ep, rms, tx)  # (an RM too slow to answer is left out)
            assert st.get(rms - 1, PREPARED) == PREPARED and set(st.values()) <= {PREPARED, COMMITTED}, st
            await asyncio.sleep(0.1)
        blocked = time.monotonic() - killed
        FaultPlan().save(cfg.directory)
        back = time.monotonic()
        cluster.start(rms)
        st = await wait_for(ep, rms, tx, lambda st: len(st) == rms and all(v in DECIDED for v in st.values()), 10)
        return blocked, time.monotonic() - back, set(st.values())
    finally:
        await ep.close()


@pytest.mark.parametrize("phase", ["after every yes vote", "after commit to some"])
def test_under_2pc_the_prepared_rms_block_until_the_killed_tm_returns(tmp_path: Path, phase: str) -> None:
    some = phase == "after commit to some"
    cfg = twophase_kill_cluster(tmp_path / "2pc", some)
    with Cluster(cfg) as cluster:
        cluster.start_all()
        blocked, _back, outcome = asyncio.run(asyncio.wait_for(kill_2pc_tm(cfg, cluster, 11, some), 60))
    assert blocked >= BOUND
    # The TM comes back undecided and presumes abort, or committed and says so again.
    assert outcome == {COMMITTED} if some else outcome in ({ABORTED}, {COMMITTED}), outcome
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()


# ----- 3PC: the coordinator killed in each phase -----------------------------------------


def _started(cfg: ClusterConfig, node: int, tx: int) -> bool:
    f = Tracer.file_of(cfg.trace_dir(), node)
    return f.exists() and f'"inst":{tx},"kind":"start"' in f.read_text()


async def kill_3pc_tm(phase: str, cfg: ClusterConfig, cluster: Cluster, tx: int) -> tuple[float, dict[int, str]]:
    """Run ``tx``, kill the coordinator in ``phase`` (``PHASES`` opened the window); (seconds from
    the kill until every participant decided, their final phases)."""
    rms = tm = int(cfg.params["rms"])
    ep = Endpoint(cfg, tpc_wire(rms))
    reached = {"before the votes": WORKING, "after every yes vote": PREPARED, "after pre-commit to some": PRECOMMITTED,
               "after do-commit to some": COMMITTED}[phase]
    want = [reached] * (rms - 1) + [reached if phase in ("before the votes", "after every yes vote") else
                                    PREPARED if phase == "after pre-commit to some" else PRECOMMITTED]
    try:
        await ep.send(tm, tx, Begin(frozenset()))
        if phase == "before the votes":  # every participant has the VoteReq; its vote is vote_delay_ms away
            deadline = time.monotonic() + 5
            while not all(_started(cfg, r, tx) for r in range(rms)):
                assert time.monotonic() < deadline, "the participants never started the transaction"
                await asyncio.sleep(0.01)
        await wait_for(ep, rms, tx, lambda st: [st.get(r) for r in range(rms)] == want, 5)
        cluster.kill(tm)
        killed = time.monotonic()
        st = await wait_for(ep, rms, tx, lambda st: len(st) == rms and all(v in DECIDED for v in st.values()),
                            BOUND + 5)
        return time.monotonic() - killed, st
    finally:
        await ep.close()


#: The phase the coordinator is killed in; the knobs and the slow link (message kind, to the last
#: participant or to all) that hold it there; what the termination protocol must decide (Skeen's
#: rules: a pre-committed survivor means commit, otherwise abort).
PHASES: dict[str, tuple[dict[str, int], tuple[str, str] | None, str]] = {
    "before the votes": ({"vote_delay_ms": 1500}, None, ABORTED),
    "after every yes vote": ({"pause_ms": 1000}, ("PreCommit", "all"), ABORTED),
    "after pre-commit to some": ({}, ("PreCommit", "last"), COMMITTED),
    "after do-commit to some": ({}, ("DoCommit", "last"), COMMITTED),
}


def kill_3pc_cluster(directory: Path, phase: str, rms: int = 3, partitions: bool = False) -> ClusterConfig:
    """A saved 3PC cluster (not started, traced) set up for a kill in ``phase`` (``partitions``:
    with the heartbeat detector)."""
    params, link, _outcome = PHASES[phase]
    cfg = threephase_cluster(str(directory), rms, trace=True, params={**params, "partitions": int(partitions)})
    cfg.save()
    if link is not None:
        slow_link(cfg, range(rms) if link[1] == "all" else range(rms - 1, rms), link[0])
    return cfg


@pytest.mark.parametrize("phase", list(PHASES))
def test_under_3pc_the_participants_decide_alike_within_the_bound_when_the_coordinator_is_killed(
        tmp_path: Path, phase: str) -> None:
    cfg = kill_3pc_cluster(tmp_path / "3pc", phase)
    with Cluster(cfg) as cluster:
        cluster.start_all()
        took, st = asyncio.run(asyncio.wait_for(kill_3pc_tm(phase, cfg, cluster, 21), 60))
    assert set(st.values()) == {PHASES[phase][2]}, st
    assert took < BOUND, f"the participants took {took:.2f}s to decide"
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()


def test_with_heartbeat_suspicion_the_participants_decide_once_the_killed_coordinator_falls_silent(
        tmp_path: Path) -> None:
    """``partitions=1``: the detector is heartbeat silence (500 ms), the trace is replayed through
    ``--failures partition``, where suspecting a crashed peer is allowed as well."""
    phase = "after pre-commit to some"
    cfg = kill_3pc_cluster(tmp_path / "3pc", phase, partitions=True)
    with Cluster(cfg) as cluster:
        cluster.start_all()
        took, st = asyncio.run(asyncio.wait_for(kill_3pc_tm(phase, cfg, cluster, 22), 60))
    assert set(st.values()) == {COMMITTED}, st
    assert 0.3 <= took < BOUND, f"the participants took {took:.2f}s to decide"  # silence: 0.5 s after a ping
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()


# ----- 3PC under a partition: the model's counterexample, for real ----------------------


def split_cluster(directory: Path, partitions: bool) -> ClusterConfig:
    """A saved 2-participant 3PC cluster (not started) whose coordinator's PreCommit to rm1 is
    held from the start: the PreCommit reaches rm0 and not rm1, whatever the timing."""
    cfg = threephase_cluster(str(directory), 2, trace=True, params={"partitions": int(partitions)})
    cfg.save()
    slow_link(cfg, range(1, 2), "PreCommit")
    return cfg


async def _split_after_precommit(cfg: ClusterConfig, tx: int, settle: float) -> tuple[dict[int, str], dict[int, str]]:
    """Run ``tx``; once rm0 is pre-committed, cut the cluster into {rm0, tm} | {rm1}; the
    participants' phases ``settle`` seconds later (or once both decided), then heal; and their
    phases once decided after the heal."""
    rms = tm = int(cfg.params["rms"])
    ep = Endpoint(cfg, tpc_wire(rms))
    partitions = bool(cfg.params.get("partitions"))
    groups = [[0, tm], [1]]
    try:
        await ep.send(tm, tx, Begin(frozenset()))
        await wait_for(ep, rms, tx, lambda st: st == {0: PRECOMMITTED, 1: PREPARED}, 5)
        if partitions:
            set_partition(cfg, groups)  # the model's split, recorded
        else:  # the crash model has no partitions: to it, the held frames are merely slow
            FaultPlan(blocked=FaultPlan.split(groups), hold_across=True).save(cfg.directory)
        deadline = time.monotonic() + settle
        during = await rm_states(ep, rms, tx)
        while time.monotonic() < deadline and not (len(during) == rms and set(during.values()) <= set(DECIDED)):
            await asyncio.sleep(0.1)
            during = await rm_states(ep, rms, tx)
        if partitions:
            set_partition(cfg, None)
        else:
            FaultPlan().save(cfg.directory)
        after = await wait_for(ep, rms, tx, lambda st: len(st) == rms and all(v in DECIDED for v in st.values()), 10)
        return during, after
    finally:
        await ep.close()


def test_a_partition_under_timeout_suspicion_makes_3pc_commit_on_one_side_and_abort_on_the_other(
        tmp_path: Path) -> None:
    """The model's shortest counterexample (``check threephase --rms 2 --failures partition``):
    rm0 pre-commits and acks, the cluster splits into {rm0, tm} | {rm1}, and each side suspects
    the other (heartbeat silence): the coordinator commits with rm0, rm1 as its own backup aborts.
    The run replays through the model step by step up to the step that breaks atomicity."""
    cfg = split_cluster(tmp_path / "split", partitions=True)
    with Cluster(cfg) as cluster:
        cluster.start_all()
        during, after = asyncio.run(asyncio.wait_for(_split_after_precommit(cfg, 31, 5.0), 60))
    assert during == after == {0: COMMITTED, 1: ABORTED}, (during, after)
    report = validate(cfg.trace_dir())
    assert not report.ok
    first = min(report.problems, key=lambda p: p.step)
    assert first.what.startswith("invariant atomicity is violated after"), report.summary()


@pytest.mark.slow
def test_the_same_partition_under_the_perfect_detector_blocks_3pc_until_it_heals_and_stays_atomic(
        tmp_path: Path) -> None:
    """With ``--failures crash``'s detector (a refused connection) nobody suspects a live node:
    the coordinator waits for rm1's Ack while the partition stands, then everyone commits."""
    cfg = split_cluster(tmp_path / "split", partitions=False)
    with Cluster(cfg) as cluster:
        cluster.start_all()
        during, after = asyncio.run(asyncio.wait_for(_split_after_precommit(cfg, 32, 3.0), 60))
    assert during == {0: PRECOMMITTED, 1: PREPARED}, during
    assert after == {0: COMMITTED, 1: COMMITTED}, after
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()


def test_a_suspicion_of_a_coordinator_the_trace_never_killed_does_not_fit_the_crash_model(tmp_path: Path) -> None:
    """The kill record is what lets the participants' suspicion fit ``--failures crash``: without
    it the same run is named at the first suspicion, as a detector mistaking a live node.  (And
    a client learns the outcome from the participants when the coordinator is gone.)"""
    rms, tx = 2, 5
    cfg = threephase_cluster(str(tmp_path / "inproc"), rms, trace=True)
    held = FaultInjector(FaultPlan(blocked=frozenset((rms, r) for r in range(rms)), hold_across=True,
                                   kinds=frozenset({"PreCommit"})))

    async def main() -> dict[int, str]:
        nodes = [ThreePhaseNode(cfg, i, faults=held if i == rms else None) for i in range(rms + 1)]
        for nd in nodes:
            await nd.start()
        ep = Endpoint(cfg, tpc_wire(rms))
        try:
            await ep.send(rms, tx, Begin(frozenset()))
            await wait_for(ep, rms, tx, lambda st: len(st) == rms and set(st.values()) == {PREPARED}, 5)
            await nodes[rms].stop()  # recorded as the model's crash; its port closes, as at a kill -9
            st = await wait_for(ep, rms, tx, lambda st: len(st) == rms and all(v in DECIDED for v in st.values()), 5)
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


@pytest.mark.slow
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


def test_tx_is_one_command_for_both_commit_services_and_names_them_on_another_cluster(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["tx", "--help"])
    assert "(a twophase or threephase cluster)" in " ".join(capsys.readouterr().out.split())
    paxos_cluster(str(tmp_path / "kv"), 3).save()
    assert run_command(parser.parse_args(["tx", "--cluster", str(tmp_path / "kv"), "commit"])) == 2
    assert "is a paxos cluster; tx needs a twophase or threephase cluster" in capsys.readouterr().err


def test_a_restarted_3pc_node_is_named_by_validation_as_outside_the_crash_stop_model(tmp_path: Path) -> None:
    cfg = threephase_cluster(str(tmp_path / "again"), 2, trace=True)

    async def main() -> None:
        nodes = [ThreePhaseNode(cfg, i) for i in range(3)]
        for nd in nodes:
            await nd.start()
        c = ThreePhaseClient(cfg)
        try:
            assert (await c.commit(tx=3))[1] == COMMITTED
            await nodes[0].stop()
            nodes[0] = ThreePhaseNode(cfg, 0)  # the same node, back from its disk
            await nodes[0].start()
        finally:
            await c.close()
            for nd in nodes:
                await nd.stop()

    asyncio.run(asyncio.wait_for(main(), 30))
    report = validate(cfg.trace_dir())
    first = min(report.problems, key=lambda p: p.step)
    assert "rm0 restarted, but the model's crashes are crash-stop" in first.what, report.summary()
