"""No amnesia from the command line, and for the Raft KV (generic: every service's store is checked).

``protoproof cluster rejoin --dir D --node I`` is the recovery the refusal names; a Raft server
that lost its log, term and vote refuses to start too, and rejoins the same way.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from protoproof.impl import lifecycle
from protoproof.impl.kv import KVClient, paxos_cluster
from protoproof.impl.launcher import REFUSED, Cluster
from protoproof.impl.raft import RaftKVClient, raft_cluster
from protoproof.impl.validate import validate

PY = [sys.executable, "-m", "protoproof.impl"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PY, *args], capture_output=True, text=True, timeout=60)


def rejoined(directory: Path) -> bool:
    db = sqlite3.connect(directory / "state.sqlite3")
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'rejoining'").fetchone()
    finally:
        db.close()
    return row is not None and row[0] == "0"


def wipe(directory: Path) -> None:
    for p in directory.glob("state.sqlite3*"):
        p.unlink()


def test_cluster_rejoin_brings_back_a_kv_node_that_lost_its_store(tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    cfg.save()
    d = str(cfg.directory)

    async def put_get(prefer: int, put: bool) -> str | None:
        kv = KVClient(cfg, client_id=1001, prefer=prefer, timeout=1.0, budget=20.0)
        try:
            if put:
                await kv.put("color", "blue")
            return await kv.get("color")
        finally:
            await kv.close()

    with Cluster(cfg) as cl:
        cl.start_all()
        assert asyncio.run(put_get(0, True)) == "blue"
        cl.kill(1)
        wipe(cfg.node_dir(1))
        r = cli("cluster", "restart", "--dir", d, "--node", "1")
        assert r.returncode != 0 and "cluster rejoin --dir" in r.stderr and "Traceback" not in r.stderr
        r = cli("cluster", "rejoin", "--dir", d)
        assert r.returncode == 2 and "rejoin needs the node" in r.stderr
        lifecycle.hold(cfg, 1)  # as `cluster stop --node 1` marks it: the rejoined node is no longer held
        try:
            r = cli("cluster", "rejoin", "--dir", d, "--node", "1")
            assert r.returncode == 0 and "node 1 rejoining as a learner" in r.stdout, r.stderr
            assert not lifecycle.held(cfg, 1)
            assert asyncio.run(put_get(1, False)) == "blue"  # answered once it has rejoined
        finally:
            cli("cluster", "stop", "--dir", d, "--node", "1")


def test_a_raft_server_that_lost_its_log_and_vote_refuses_to_start_then_rejoins_as_a_learner(tmp_path: Path) -> None:
    cfg = raft_cluster(str(tmp_path / "raft"), 3, trace=True)
    cfg.save()

    async def writes(prefer: int, n: int, check: int) -> list[str | None]:
        kv = RaftKVClient(cfg, client_id=1000, prefer=prefer, timeout=0.5, budget=20)
        try:
            for k in range(n):
                await kv.put(f"k{k}", "v")
            return [await kv.get(f"k{k}") for k in range(check)]
        finally:
            await kv.close()

    with Cluster(cfg) as cl:
        cl.start_all()
        asyncio.run(writes(0, 5, 0))
        cl.kill(1)
        wipe(cfg.node_dir(1))
        with pytest.raises(RuntimeError, match="must not vote"):
            cl.start(1)
        assert cl.procs[1].returncode == REFUSED
        try:
            r = cli("cluster", "rejoin", "--dir", str(cfg.directory), "--node", "1")
            assert r.returncode == 0 and "node 1 rejoining as a learner" in r.stdout, r.stderr
            deadline = time.monotonic() + 20
            while not rejoined(cfg.node_dir(1)):  # caught up: it votes again
                assert time.monotonic() < deadline, "the learner did not rejoin"
                time.sleep(0.1)
            cl.kill(2)  # the rejoined server is now needed for every quorum
            assert asyncio.run(writes(1, 7, 7)) == ["v"] * 7
        finally:
            cli("cluster", "stop", "--dir", str(cfg.directory), "--node", "1")
    # The model has no amnesia: the run does not validate, and validate says why (it blamed the
    # runtime: "a Persist was lost -- the node sent before it persisted", with the whole log).
    rep = validate(cfg.trace_dir())
    assert not rep.ok and "s2 restarted with a state the model's disk does not hold: it rejoined after losing its " \
        "store" in rep.summary(), rep.summary()


def _files(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (a node's), by its relative path, but its log."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name != "node.log"}


def test_rejoin_of_a_single_raft_server_is_refused_before_anything_is_moved(tmp_path: Path) -> None:
    d = str(tmp_path / "one")
    assert cli("cluster", "raft", "--servers", "1", "--dir", d, "--detach").returncode == 0
    try:
        assert cli("kv", "--cluster", d, "put", "a", "1").returncode == 0
    finally:
        assert cli("cluster", "stop", "--dir", d).returncode == 0
    node0 = Path(d) / "node0"
    before = _files(node0)
    r = cli("cluster", "rejoin", "--dir", d, "--node", "0")  # its store is intact: refused, untouched
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "nothing was changed" in r.stderr, r.stderr
    assert _files(node0) == before and not list(node0.glob("lost-*"))
    wipe(node0)  # lost: still refused, for it has no peer to catch up from, and its marker is kept
    before = _files(node0)
    r = cli("cluster", "rejoin", "--dir", d, "--node", "0")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "no peer to rejoin from" in r.stderr and "nothing was changed" in r.stderr
    assert _files(node0) == before and not list(node0.glob("lost-*"))


def test_a_single_raft_server_still_serves_after_a_refused_rejoin(tmp_path: Path) -> None:
    d = str(tmp_path / "one")
    assert cli("cluster", "raft", "--servers", "1", "--dir", d, "--detach").returncode == 0
    try:
        assert cli("kv", "--cluster", d, "put", "a", "1").returncode == 0
        assert cli("cluster", "stop", "--dir", d).returncode == 0
        assert cli("cluster", "rejoin", "--dir", d, "--node", "0").returncode == 2
        r = cli("cluster", "raft", "--dir", d, "--detach")
        assert r.returncode == 0, r.stdout + r.stderr
        assert cli("kv", "--cluster", d, "get", "a").stdout.strip() == "1"
    finally:
        cli("cluster", "stop", "--dir", d)


def test_rejoin_of_a_healthy_stopped_node_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    d = str(tmp_path / "raft")
    assert cli("cluster", "raft", "--dir", d, "--detach").returncode == 0
    try:
        assert cli("kv", "--cluster", d, "put", "a", "1").returncode == 0
        assert cli("cluster", "stop", "--dir", d, "--node", "1").returncode == 0
        node1 = Path(d) / "node1"
        before = _files(node1)
        r = cli("cluster", "rejoin", "--dir", d, "--node", "1")
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert "store is intact" in r.stderr and "nothing was changed" in r.stderr
        assert _files(node1) == before and not list(node1.glob("lost-*"))
        r = cli("cluster", "restart", "--dir", d, "--node", "1")  # it starts as it is
        assert r.returncode == 0 and "node 1 restarted" in r.stdout, r.stderr
    finally:
        cli("cluster", "stop", "--dir", d)
