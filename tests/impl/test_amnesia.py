"""No amnesia: a KV node whose store was lost or damaged refuses to vote, and rejoins safely.

Each case: acknowledged writes on a 3-node Paxos KV, kill -9 of node 1, its store damaged,
node 2 down as well.  Today's code restarted node 1 as a blank acceptor: with node 0 it then
formed a quorum that had forgotten every write ("not found"), and later decided other values
in the same slots.  Now node 1 refuses (exit 3, one line naming ``cluster rejoin``); rejoined as a
learner it neither votes nor serves until both others have answered, and then every
acknowledged write reads back from every node, the history is linearizable and the nodes'
decided logs agree.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from protoproof.impl.client import NoReply
from protoproof.impl.cluster import ClusterConfig
from protoproof.impl.codec import Frame
from protoproof.impl.kv import KVClient, KVNode, paxos_cluster
from protoproof.impl.kv_catchup import AccState, StateEnd
from protoproof.impl.launcher import REFUSED, Cluster
from protoproof.impl.linearizability import Op, check
from protoproof.impl.recovery import wal_dropped
from protoproof.impl.service import run_forever
from protoproof.impl.storage import Store
from protoproof.models.paxos import Acc

KEYS = [f"k{i}" for i in range(6)]


async def acked_puts(cfg: ClusterConfig, rounds: int, history: list[Op]) -> dict[str, str]:
    """Sequential puts through node 0; the last acknowledged value of each key."""
    loop = asyncio.get_running_loop()
    last: dict[str, str] = {}
    kv = KVClient(cfg, client_id=1001, prefer=0, timeout=1.0, budget=20.0)
    try:
        for r in range(rounds):
            for k in KEYS:
                v = f"{k}-{r}"
                t0 = loop.time()
                await kv.put(k, v)
                history.append(Op(1, "put", k, v, t0, loop.time()))
                last[k] = v
    finally:
        await kv.close()
    return last


async def reads(cfg: ClusterConfig, prefer: int, budget: float, history: list[Op], client: int) -> int:
    """A get of every key through node ``prefer``, one client per key at once (recorded); how
    many were answered."""
    loop = asyncio.get_running_loop()

    async def get(c: int, k: str) -> int:
        kv = KVClient(cfg, client_id=c, prefer=prefer, timeout=0.5, budget=budget)
        try:
            t0 = loop.time()
            got = await kv.get(k)
        except NoReply:
            return 0  # a get without an answer constrains nothing
        finally:
            await kv.close()
        history.append(Op(c, "get", k, got, t0, loop.time()))
        return 1

    return sum(await asyncio.gather(*(get(client + 10 * j, k) for j, k in enumerate(KEYS))))


def damage(cfg: ClusterConfig, i: int, how: str) -> None:
    db = cfg.node_dir(i) / "state.sqlite3"
    wal = db.with_name(db.name + "-wal")
    if how == "deleted":
        for p in (db, wal, db.with_name(db.name + "-shm")):
            p.unlink(missing_ok=True)
    elif how == "truncated":
        os.truncate(db, db.stat().st_size // 2)
    elif how == "wal_cut":
        os.truncate(wal, wal.stat().st_size - 1000)
    elif how == "wal_tail_damaged":
        data = bytearray(wal.read_bytes())
        data[-100:-50] = b"\xff" * 50
        wal.write_bytes(bytes(data))
    else:
        raise AssertionError(how)


def decided_logs(cfg: ClusterConfig) -> list[dict[int, str]]:
    out = []
    for i in range(len(cfg.nodes)):
        db = sqlite3.connect(cfg.node_dir(i) / "state.sqlite3")
        out.append(dict(db.execute("SELECT slot, value FROM log")))
        db.close()
    return out


@pytest.mark.parametrize("how", ["deleted", "truncated", "wal_cut", "wal_tail_damaged"])
def test_a_kv_node_that_lost_its_store_refuses_to_vote_and_rejoins_as_a_learner_losing_no_write(
        tmp_path: Path, how: str) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    cfg.save()
    history: list[Op] = []
    with Cluster(cfg) as cl:
        cl.start_all()
        last = asyncio.run(acked_puts(cfg, 3, history))
        if how == "truncated":  # its data in the database file itself, not only in the WAL
            db = sqlite3.connect(cfg.node_dir(1) / "state.sqlite3")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
        cl.kill(1)
        damage(cfg, 1, how)
        cl.kill(2)  # one other node down: node 0 and a blank node 1 would be a quorum
        with pytest.raises(RuntimeError, match=r"cluster rejoin --dir \S+ --node 1"):
            cl.start(1)
        assert cl.procs[1].returncode == REFUSED
        log_line = (cfg.node_dir(1) / "node.log").read_text().strip().splitlines()[-1]
        assert "must not vote" in log_line and "Traceback" not in log_line
        with pytest.raises(RuntimeError, match=r"found at an earlier start"):
            cl.start(1)  # checking erased the WAL's damage; the finding was kept

        cl.start(1, as_learner=True)
        # node 1 does not vote yet, so nothing is decided and nothing wrong is read
        assert asyncio.run(reads(cfg, 0, 1.5, history, 1002)) == 0
        cl.start(2)
        for i in range(3):
            assert asyncio.run(reads(cfg, i, 20.0, history, 1003 + i)) == len(KEYS)
        for k in KEYS:
            assert [o.value for o in history if o.kind == "get" and o.key == k][-3:] == [last[k]] * 3
        assert "rejoined the cluster as a voter" in (cfg.node_dir(1) / "node.log").read_text()
        cl.kill(1)
        cl.start(1)  # rejoined: a normal restart from its new store
    verdict = check(history)
    assert verdict.ok, f"history not linearizable on key {verdict.key}"
    logs = decided_logs(cfg)
    for slot in set().union(*logs):
        assert len({lg[slot] for lg in logs if slot in lg}) == 1, f"slot {slot} decided differently"


def test_a_kv_node_that_sees_a_slot_decided_twice_halts_instead_of_serving(tmp_path: Path) -> None:
    async def main() -> KVNode:
        cfg = paxos_cluster(str(tmp_path / "kv"), 3)
        node = KVNode(cfg, 0)
        stop = asyncio.Event()
        run = asyncio.create_task(run_forever(node, stop))
        await asyncio.sleep(0.2)
        node.learn(0, '{"id": "a", "op": "put", "k": "x", "v": "1"}')
        node.learn(0, '{"id": "b", "op": "put", "k": "x", "v": "2"}')
        await asyncio.wait_for(run, 5)  # it stops serving by itself
        return node

    node = asyncio.run(main())
    assert node.halted is not None and "slot 0 decided twice" in node.halted
    assert node.kv == {"x": "1"}


def test_a_rejoining_learner_that_crashes_before_it_caught_up_is_still_a_learner(tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    cfg.save()
    a = KVNode(cfg, 1, as_learner=True)
    assert a.learner
    a.store.close()  # a crash before ``rejoined``
    b = KVNode(cfg, 1)
    assert b.learner

    async def rejoin() -> None:  # the mark is cleared in the next group commit
        b.rejoined()
        await b.host.settle()

    asyncio.run(rejoin())
    b.store.close()
    assert not KVNode(cfg, 1).learner


def test_a_learner_rebuilds_each_undecided_slot_from_the_highest_promise_and_vote_once_its_peers_cover_its_quorums(
        tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    node = KVNode(cfg, 1, as_learner=True)

    async def main() -> None:
        node.on_catchup(Frame(0, 1, 5, AccState(7, 4, "A")))
        node.on_catchup(Frame(0, 1, 6, AccState(3, -1, None)))
        node.on_catchup(Frame(0, 1, 0, StateEnd(0)))
        assert node.learner  # node 0 alone: a quorum {1, 2} would have no witness
        node.on_catchup(Frame(2, 1, 5, AccState(9, 6, "B")))
        node.on_catchup(Frame(2, 1, 0, StateEnd(0)))
        assert not node.learner
        assert node.host.states[5] == Acc(9, 6, "B") and node.host.states[6] == Acc(3, -1, None)
        await node.host.settle()  # the group commit its votes wait for
        assert node.store.load()[5] == {"max_bal": 9, "max_vbal": 6, "max_val": "B"}

    asyncio.run(main())
    node.store.close()
    again = KVNode(cfg, 1)
    assert not again.learner
    again.store.close()


def _dms_free(shm: Path) -> bool:
    """Whether another process could lock sqlite's "a connection uses this index" byte (128) of ``shm``."""
    code = ("import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\n"
            "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 128)")
    return subprocess.run([sys.executable, "-c", code, str(shm)], capture_output=True, timeout=30).returncode == 0


def test_checking_the_wal_at_start_keeps_sqlites_lock_on_its_index(tmp_path: Path) -> None:
    # The check read the -shm with open/read/close; closing it dropped this process's POSIX locks on
    # the file, sqlite's included, so the next process to open the database truncated the index and
    # the node died of SIGBUS (a restarted Raft follower stopped catching up, test_raft_faults).
    st = Store(tmp_path / "s.sqlite3")
    try:
        st.put(0, {"x": 1})
        shm = tmp_path / "s.sqlite3-shm"
        assert not _dms_free(shm)  # sqlite holds it while the connection is open
        assert wal_dropped(st.path, [1], st) is None
        assert not _dms_free(shm)
        shm.read_bytes()  # what the check did: now the lock is gone
        assert _dms_free(shm)
    finally:
        st.close()
