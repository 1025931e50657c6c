"""The replicated log on real nodes: a follower killed mid-stream recovers its log from sqlite and catches up."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from protoproof.impl.cluster import ClusterConfig
from protoproof.impl.launcher import Cluster
from protoproof.impl.replog import SERVICE, ReplogClient, ReplogNode, replog_cluster
from protoproof.impl.service import spec_for
from protoproof.impl.validate import validate


def log_rows(cfg: ClusterConfig, node: int) -> list[tuple[int, int, str]]:
    """``(rowid, idx, value)`` of a node's stored log entries, read from its sqlite file directly."""
    db = sqlite3.connect(cfg.node_dir(node) / "state.sqlite3")
    try:
        return [(r, i, json.loads(v)) for r, i, v in
                db.execute("SELECT rowid, idx, value FROM entries WHERE field = 'log' ORDER BY idx")]
    finally:
        db.close()


def test_the_replog_protocol_runs_as_the_replog_service() -> None:
    assert spec_for("replog") is SERVICE
    assert SERVICE.names({"followers": 2}) == ["leader", "f0", "f1"]


def test_in_process_appends_are_committed_everywhere_and_a_retraction_is_cut_from_the_followers(
        tmp_path: Path) -> None:
    cfg = replog_cluster(str(tmp_path / "rl"), 2, trace=True, fsync=False)

    async def main() -> list[tuple[int, int, tuple[str, ...]]]:
        nodes = [ReplogNode(cfg, i) for i in range(3)]
        for nd in nodes:
            await nd.start()
        c = ReplogClient(cfg)
        try:
            assert [await c.append(f"v{k}") for k in range(4)] == [0, 1, 2, 3]
            assert nodes[0].host.step(0, "append", v="doomed")  # appended, never sent: retracted below
            r = await c.retract()
            assert (r.done, r.epoch, r.length) == (True, 1, 4)
            assert not (await c.retract()).done  # every entry is committed
            assert await c.append("after") == 4
            return [(e.epoch, e.commit, e.log) for e in [await c.read(i) for i in range(3)]]
        finally:
            await c.close()
            for nd in nodes:
                await nd.stop()

    logs = asyncio.run(main())
    want = ("v0", "v1", "v2", "v3", "after")
    assert logs == [(1, 5, want), (1, -1, want), (1, -1, want)]
    assert [i for _r, i, _v in log_rows(cfg, 1)] == [0, 1, 2, 3, 4]  # one row per entry
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()


def test_a_follower_killed_mid_stream_recovers_its_log_from_sqlite_and_catches_up(tmp_path: Path) -> None:
    cfg = replog_cluster(str(tmp_path / "rl"), 2, trace=True)
    cfg.save()
    victim = 2
    before: list[tuple[int, int, str]] = []

    async def writer(c: ReplogClient, name: str, n: int) -> list[int]:
        return [await c.append(f"{name}-{k}", budget=60) for k in range(n)]

    async def main(cluster: Cluster) -> list[tuple[int, int, tuple[str, ...]]]:
        clients = [ReplogClient(cfg, client_id=1000 + j) for j in range(4)]
        reader = clients.pop()  # an endpoint of its own: a first request races no other on its connection
        try:
            tasks = [asyncio.ensure_future(writer(c, f"w{j}", 15)) for j, c in enumerate(clients)]
            while len((await reader.read(0)).log) < 12:
                await asyncio.sleep(0.01)
            cluster.kill(victim)  # while the writers keep appending
            assert not all(t.done() for t in tasks)  # at most one append per writer was pending: 15 of 45
            before.extend(log_rows(cfg, victim))
            await asyncio.sleep(0.5)
            assert (await reader.read(0)).commit <= len(before)  # nothing commits without the victim
            cluster.start(victim)
            done = await asyncio.gather(*tasks)
            assert sorted(i for idxs in done for i in idxs) == list(range(45))  # each append committed once
            return [(e.epoch, e.commit, e.log) for e in [await reader.read(i) for i in range(3)]]
        finally:
            for c in [*clients, reader]:
                await c.close()

    with Cluster(cfg) as cluster:
        cluster.start_all()
        logs = asyncio.run(asyncio.wait_for(main(cluster), 120))
    assert cluster.kills == 1
    leader_log = logs[0][2]
    assert logs[0][1] == len(leader_log) == 45
    assert all(log[: len(leader_log)] == leader_log for _e, _c, log in logs[1:])  # committed entries agree
    assert len(before) >= 9  # 12 appended, at most one pending per writer
    after = log_rows(cfg, victim)
    assert after[: len(before)] == before  # the entries stored before the kill: the same rows, not rewritten
    assert [v for _r, _i, v in after] == list(leader_log)
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()
    assert report.instances == 1


@pytest.mark.slow  # 18 s: every command is a fresh process
def test_the_replog_commands_append_read_retract_and_validate_as_a_user_runs_them(tmp_path: Path) -> None:
    d = tmp_path / "rl"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "protoproof.impl", *args], capture_output=True, text=True,
                              timeout=60)

    r = run("cluster", "replog", "--followers", "2", "--dir", str(d), "--detach", "--trace")
    assert r.returncode == 0, r.stderr
    try:
        assert [run("replog", "--cluster", str(d), "append", v).stdout for v in ("a", "b")] == \
            ["committed at index 0\n", "committed at index 1\n"]
        follower = run("replog", "--cluster", str(d), "read", "--node", "2").stdout
        assert follower == "f1: epoch 0, 2 entries\n0\ta\n1\tb\n"
        assert run("replog", "--cluster", str(d), "read").stdout.startswith("leader: epoch 0, 2 entries, 2 committed\n")
        assert run("replog", "--cluster", str(d), "retract").stdout.startswith("nothing to retract")
    finally:
        assert run("cluster", "replog", "--dir", str(d), "--stop").returncode == 0
    r = run("validate", str(d / "trace"))
    assert r.returncode == 0 and "fits the model" in r.stdout, r.stdout + r.stderr


def test_trace_validation_catches_a_follower_that_acknowledges_before_persisting(tmp_path: Path) -> None:
    """The runtime's planted bug on a follower: it sends its Ack first and persists 0.2 s later; a crash in
    between loses an entry the leader counted (and may have committed)."""
    cfg = replog_cluster(str(tmp_path / "bug"), 1, trace=True, fsync=False)

    async def main() -> None:
        nodes = [ReplogNode(cfg, 0), ReplogNode(cfg, 1, send_before_persist=True)]
        for nd in nodes:
            await nd.start()
        c = ReplogClient(cfg)
        try:
            assert await c.append("lost") == 0  # committed on the follower's early Ack
            await nodes[1].stop()  # crash before its Persist lands
            nodes[1] = ReplogNode(cfg, 1)
            await nodes[1].start()
            assert (await c.read(1)).log == ()  # the committed entry is gone from the follower
        finally:
            await c.close()
            for nd in nodes:
                await nd.stop()

    asyncio.run(main())
    report = validate(cfg.trace_dir())
    assert not report.ok
    first = min(report.problems, key=lambda p: p.step)
    assert first.node == 1 and "sent before it persisted" in first.what, report.summary()


def test_a_restarted_leader_recovers_its_log_and_commit_index_and_keeps_appending(tmp_path: Path) -> None:
    cfg = replog_cluster(str(tmp_path / "rl"), 2, trace=True, fsync=False)

    async def main() -> list[tuple[str, ...]]:
        nodes = [ReplogNode(cfg, i) for i in range(3)]
        for nd in nodes:
            await nd.start()
        c = ReplogClient(cfg)
        try:
            for k in range(3):
                await c.append(f"v{k}")
            await nodes[0].stop()
            nodes[0] = ReplogNode(cfg, 0)
            await nodes[0].start()
            e = await c.read(0)
            assert (e.epoch, e.commit, e.log) == (0, 3, ("v0", "v1", "v2"))  # acks are asked for again
            assert await c.append("after") == 3
            return [(await c.read(i)).log for i in range(3)]
        finally:
            await c.close()
            for nd in nodes:
                await nd.stop()

    assert asyncio.run(main()) == [("v0", "v1", "v2", "after")] * 3
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()
