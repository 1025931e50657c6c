"""A Raft server that lost its store rejoins as a learner: it learns the cluster's term from
enough peers, takes the leader's log without voting, then votes only in later terms."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from protoproof.impl.codec import Frame
from protoproof.impl.launcher import Cluster
from protoproof.impl.linearizability import Op, check
from protoproof.impl.raft import VOTE_FLOOR, RaftKVClient, RaftKVNode, raft_cluster
from protoproof.models.raft import AppendEntriesRequest, RequestVoteRequest

from .test_raft_faults import find_leader, logs

PY = [sys.executable, "-m", "protoproof.impl"]


def wipe(directory: Path) -> None:
    for p in directory.glob("state.sqlite3*"):
        p.unlink()


def meta(directory: Path, key: str) -> str | None:
    db = sqlite3.connect(directory / "state.sqlite3")
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()
    return None if row is None else str(row[0])


async def until(cond: Any, timeout: float, what: str) -> float:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, what
        await asyncio.sleep(0.05)
    return time.monotonic() - t0


@pytest.mark.slow
def test_a_raft_leader_killed_and_wiped_under_load_rejoins_and_then_counts_for_a_quorum(tmp_path: Path) -> None:
    cfg = raft_cluster(str(tmp_path / "raft"), 3)
    cfg.save()
    d = str(cfg.directory)
    history: list[Op] = []
    acked: dict[str, str] = {}
    figures: dict[str, float] = {}

    async def main(cluster: Cluster) -> None:
        loop = asyncio.get_running_loop()
        leader = await find_leader(cfg)
        done = asyncio.Event()

        async def client(c: int) -> None:
            kv = RaftKVClient(cfg, client_id=1000 + c, prefer=leader, timeout=0.3, budget=30)
            j = 0
            try:
                while not done.is_set():
                    key, val = f"k{c}-{j}", f"v{j}"
                    t0 = loop.time()
                    await kv.put(key, val)
                    history.append(Op(c, "put", key, val, t0, loop.time()))
                    acked[key] = val
                    j += 1
            finally:
                await kv.close()

        async def faults() -> None:
            await until(lambda: len(acked) >= 60, 20, "no load")
            victim = await find_leader(cfg)
            cluster.kill(victim)  # kill -9 of the leader, then its store is deleted
            wipe(cfg.node_dir(victim))
            await until(lambda: len(acked) >= 120, 20, "writes did not resume")
            r = await asyncio.to_thread(subprocess.run, [*PY, "cluster", "restart", "--dir", d, "--node",
                                                         str(victim)], capture_output=True, text=True, timeout=60)
            assert r.returncode != 0 and "cluster rejoin" in r.stderr, r.stdout + r.stderr
            t0 = time.monotonic()
            r = await asyncio.to_thread(subprocess.run, [*PY, "cluster", "rejoin", "--dir", d, "--node", str(victim)],
                                        capture_output=True, text=True, timeout=60)
            assert r.returncode == 0 and "rejoining as a learner" in r.stdout, r.stdout + r.stderr
            vdir = cfg.node_dir(victim)
            await until(lambda: meta(vdir, "rejoining") == "0", 20, "the learner did not rejoin")
            figures["rejoin_s"] = time.monotonic() - t0
            floor = meta(vdir, VOTE_FLOOR)
            assert floor is not None and int(floor) >= 1
            # now it must count: with another original server down, it is half of every quorum
            other = (victim + 1) % 3
            cluster.kill(other)
            before = len(acked)
            await until(lambda: len(acked) >= before + 40, 30, "no write was acknowledged by the rejoined server")
            done.set()
            cluster.start(other)

        await asyncio.gather(faults(), *(client(c) for c in range(4)))
        kv = RaftKVClient(cfg, client_id=1100, timeout=0.4, budget=20)
        await kv.put("last", "x")
        for key, val in list(acked.items())[::5]:
            t0 = loop.time()
            got = await kv.get(key)
            history.append(Op(99, "get", key, got, t0, loop.time()))
            assert got == val, f"acknowledged write {key}={val} lost"
        await kv.close()
        await asyncio.sleep(1.0)  # the restarted server catches up

    with Cluster(cfg) as cluster:
        cluster.start_all()
        try:
            asyncio.run(asyncio.wait_for(main(cluster), 120))
        finally:
            subprocess.run([*PY, "cluster", "stop", "--dir", d], capture_output=True, timeout=60)
    assert check(history).ok
    ls = logs(cfg.directory, 3)
    assert ls[0] == ls[1] == ls[2] and len(ls[0]) > len(acked)
    print(f"\nrejoined (voter again) {figures['rejoin_s']:.2f} s after `cluster rejoin`; {len(acked)} acked writes")


def test_a_raft_learner_grants_no_vote_and_takes_no_stale_entries_and_a_voter_respects_its_floor(
        tmp_path: Path) -> None:
    cfg = raft_cluster(str(tmp_path / "raft"), 3, fsync=False)
    cfg.save()

    async def main() -> None:
        from protoproof.impl.cluster import load_cluster

        node_cfg = load_cluster(cfg.directory, as_node=True)
        learner = RaftKVNode(node_cfg, 0, as_learner=True)
        await learner.start()
        try:
            assert learner.learner
            before = learner.s
            learner.on_frame(Frame(1, 0, 0, RequestVoteRequest(7, 0, 0)))
            learner.on_frame(Frame(1, 0, 0, AppendEntriesRequest(7, 0, 0, (), 0)))  # term unknown yet
            assert learner.s == before
            from protoproof.impl.raft import TermRep
            learner.on_service(Frame(1, 0, 0, TermRep(7, 0)))
            assert learner.rejoin_term is None  # one peer of two: node 2 may know a later term
            learner.on_service(Frame(2, 0, 0, TermRep(9, 0)))
            assert learner.rejoin_term == 9
            learner.on_frame(Frame(1, 0, 0, AppendEntriesRequest(8, 0, 0, (), 0)))  # a stale leader
            learner.on_frame(Frame(1, 0, 0, RequestVoteRequest(10, 0, 0)))
            assert learner.s == before
            learner.on_frame(Frame(2, 0, 0, AppendEntriesRequest(9, 0, 0, (), 0)))  # the leader's whole log
            assert learner.s.current_term == 9
            await asyncio.sleep(0.1)
            assert not learner.learner and learner.vote_floor == 9
            learner.on_frame(Frame(1, 0, 0, RequestVoteRequest(9, 0, 0)))
            assert learner.s.voted_for is None  # it may have voted in term 9 before
            learner.on_frame(Frame(1, 0, 0, RequestVoteRequest(10, 0, 0)))
            assert learner.s.current_term == 10 and learner.s.voted_for == 1
        finally:
            await learner.stop()
        again = RaftKVNode(node_cfg, 0)  # the floor is durable
        assert not again.learner and again.vote_floor == 9
        again.store.close()

    asyncio.run(main())


@pytest.mark.parametrize("servers", [1])
def test_a_single_raft_server_cannot_rejoin_from_no_peer(tmp_path: Path, servers: int) -> None:
    cfg = raft_cluster(str(tmp_path / "raft"), servers)
    cfg.save()
    from protoproof.impl.cluster import load_cluster

    with pytest.raises(ValueError, match="no peer to rejoin from"):
        RaftKVNode(load_cluster(cfg.directory, as_node=True), 0, as_learner=True)
