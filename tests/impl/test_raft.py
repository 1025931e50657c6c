"""The Raft KV service in one process: redirect, batching, faults on the wire, trace validation."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from protoproof.impl.faults import FaultInjector, FaultPlan
from protoproof.impl.linearizability import Op, check
from protoproof.impl.raft import LEADER, KVRaft, KVServer, RaftKVClient, RaftKVNode, WideServer, raft_cluster
from protoproof.impl.validate import validate
from protoproof.models.raft import Entry


def test_the_runtimes_commit_index_step_equals_the_models() -> None:
    model = KVRaft(servers=5, max_entries=4)
    model.schema()
    rng = random.Random(7)
    for _ in range(2000):
        i = rng.randrange(5)
        wide = cast(WideServer, model.node(i))
        fast = KVServer(wide.config)
        term = rng.randint(1, 4)
        log = tuple(sorted(Entry(rng.randint(1, term), cast(Any, "v")) for _ in range(rng.randint(0, 6))))
        match = tuple(rng.randint(0, len(log) + 1) for _ in range(5))
        s = wide.on_start()[0]._replace(role=LEADER, current_term=term, log=log, match_index=match,
                                        commit_index=rng.randint(0, len(log)))
        assert fast.advance_commit_index(s) == wide.advance_commit_index(s), s


async def run_cluster(tmp_path: Path, body: Callable[[Any, list[RaftKVNode]], Awaitable[None]],
                      plans: list[FaultPlan] | None = None, node_class: type[RaftKVNode] = RaftKVNode) -> Any:
    cfg = raft_cluster(str(tmp_path / "raft"), 3, trace=True)
    cfg.save()
    faults = [FaultInjector(p, seed=k) for k, p in enumerate(plans)] if plans else [None] * 3
    nodes = [node_class(cfg, i, faults=faults[i]) for i in range(3)]
    for nd in nodes:
        await nd.start()
    try:
        await asyncio.wait_for(body(cfg, nodes), 60)
    finally:
        for nd in nodes:
            await nd.stop()
    return cfg


async def clients_write(cfg: Any, clients: int, ops: int, keys: int = 3, prefer: int = 0) -> list[Op]:
    """Each client puts and gets random keys; the history of all of them."""
    loop = asyncio.get_running_loop()
    history: list[Op] = []

    async def client(c: int) -> None:
        rng = random.Random(c)
        kv = RaftKVClient(cfg, client_id=1000 + c, prefer=prefer + c, timeout=0.4, budget=30)
        try:
            for j in range(ops):
                key = f"k{rng.randrange(keys)}"
                t0 = loop.time()
                if j % 3 == 2:
                    got = await kv.get(key)
                    history.append(Op(c, "get", key, got, t0, loop.time()))
                else:
                    await kv.put(key, f"{c}-{j}")
                    history.append(Op(c, "put", key, f"{c}-{j}", t0, loop.time()))
        finally:
            await kv.close()

    await asyncio.gather(*(client(c) for c in range(clients)))
    return history


async def settled(nodes: list[RaftKVNode], timeout: float = 5.0) -> None:
    """Wait until every server has applied the leader's whole log."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        leaders = [nd for nd in nodes if nd.role() == LEADER]
        if len(leaders) == 1 and all(nd.applied == len(leaders[0].s.log) for nd in nodes):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the servers did not converge")


def agree(nodes: list[RaftKVNode]) -> None:
    logs = [nd.s.log for nd in nodes]
    assert logs[0] == logs[1] == logs[2]
    assert nodes[0].kv == nodes[1].kv == nodes[2].kv


def test_a_raft_cluster_answers_through_its_leader_batches_and_its_trace_fits_the_model(tmp_path: Path) -> None:
    stats: dict[str, Any] = {}

    async def body(cfg: Any, nodes: list[RaftKVNode]) -> None:
        history = await clients_write(cfg, clients=6, ops=20)
        assert check(history).ok
        await settled(nodes)
        agree(nodes)
        leader = next(nd for nd in nodes if nd.role() == LEADER)
        stats["entries"] = len(leader.s.log)
        stats["commits"] = leader.host.commits

    cfg = asyncio.run(run_cluster(tmp_path, body))
    assert stats["commits"] < stats["entries"]  # group commit: fewer fsyncs than appended entries
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()
    import json

    sizes = [len(json.loads(line)["msg"]["entries"]) for f in cfg.trace_dir().glob("node*.jsonl")
             for line in f.read_text().splitlines() if '"AppendEntriesRequest"' in line and '"deliver"' in line]
    assert max(sizes) > 1  # batching: several client commands in one AppendEntries
    # A misfit of a local step names its peer as the checker's paths do (j='s2', not the id 1).
    for f in sorted(cfg.trace_dir().glob("node*.jsonl")):
        lines = f.read_text().splitlines()
        k = next((i for i, x in enumerate(lines) if '"label":"append_entries"' in x), None)
        if k is not None:
            rec = json.loads(lines[k])
            rec["after"] = dict(rec["before"], current_term=rec["before"]["current_term"] + 1)
            lines[k] = json.dumps(rec, separators=(",", ":"))
            f.write_text("\n".join(lines) + "\n")
            j = f"s{rec['args']['j'] + 1}"
            break
    r = validate(cfg.trace_dir())
    assert not r.ok and f"append_entries(node='s{rec['node'] + 1}', j='{j}')" in r.summary(), r.summary()


def test_a_follower_redirects_the_client_to_the_leader(tmp_path: Path) -> None:
    async def body(cfg: Any, nodes: list[RaftKVNode]) -> None:
        kv = RaftKVClient(cfg, client_id=1000, timeout=0.4, budget=10)
        await kv.put("x", "1")
        leader = next(nd.id for nd in nodes if nd.role() == LEADER)
        follower = RaftKVClient(cfg, client_id=1001, prefer=(leader + 1) % 3, timeout=0.4, budget=10)
        assert await follower.get("x") == "1"
        assert follower.retries == 1 and follower.node == leader  # one Redirect, then the leader
        await kv.close()
        await follower.close()

    asyncio.run(run_cluster(tmp_path, body))


def test_raft_kv_stays_linearizable_and_valid_under_message_loss_duplication_and_delay(tmp_path: Path) -> None:
    plan = FaultPlan(drop=0.1, duplicate=0.2, delay_ms=(0.0, 5.0))

    async def body(cfg: Any, nodes: list[RaftKVNode]) -> None:
        history = await clients_write(cfg, clients=4, ops=15)
        assert check(history).ok
        assert sum(nd.faults.dropped for nd in nodes) > 0 and sum(nd.faults.duplicated for nd in nodes) > 0
        for nd in nodes:
            nd.faults.plan = FaultPlan()
        await settled(nodes)
        agree(nodes)

    cfg = asyncio.run(run_cluster(tmp_path, body, plans=[plan] * 3))
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()


def test_a_partitioned_leader_is_replaced_and_rejoins_as_a_follower(tmp_path: Path) -> None:
    async def body(cfg: Any, nodes: list[RaftKVNode]) -> None:
        kv = RaftKVClient(cfg, client_id=1000, timeout=0.4, budget=20)
        await kv.put("p", "1")
        old = next(nd for nd in nodes if nd.role() == LEADER)
        others = [nd.id for nd in nodes if nd is not old]
        cut = FaultPlan(blocked=FaultPlan.partition([old.id], others))
        for nd in nodes:
            nd.faults.set_plan(cut)
        await kv.put("p", "2")  # the majority elects a new leader
        new = next(nd for nd in nodes if nd.role() == LEADER and nd is not old)
        assert new.s.current_term > old.s.current_term
        for nd in nodes:
            nd.faults.set_plan(FaultPlan())
        await settled(nodes)
        assert old.role() != LEADER and old.kv == {"p": "2"}
        agree(nodes)
        await kv.close()

    cfg = asyncio.run(run_cluster(tmp_path, body))
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()


class CountsOneReplica(KVServer):
    """A planted runtime bug: the leader commits what it holds itself, without a quorum."""

    def advance_commit_index(self, s: Any) -> Any:
        if s.role != LEADER:
            return None
        return s._replace(commit_index=len(s.log)), ()


class BuggyNode(RaftKVNode):
    def make_node(self) -> Any:
        return CountsOneReplica(self.model.node(self.id).config)


def test_validation_catches_a_runtime_step_that_is_not_the_models(tmp_path: Path) -> None:
    async def body(cfg: Any, nodes: list[RaftKVNode]) -> None:
        kv = RaftKVClient(cfg, client_id=1000, timeout=0.4, budget=10)
        await kv.put("x", "1")
        await kv.close()
        leader = next(nd for nd in nodes if nd.role() == LEADER)
        for nd in nodes:
            nd.faults.set_plan(FaultPlan(delay_ms=(30.0, 30.0)))
        leader._propose('{"id": "a", "op": "put", "k": "a", "v": "1"}')
        await asyncio.sleep(0.01)  # its AppendEntries is out; the answer takes 30 ms
        leader._propose('{"id": "b", "op": "put", "k": "b", "v": "1"}')
        await asyncio.sleep(0.3)  # the first answer arrives while the leader holds an unreplicated entry

    cfg = asyncio.run(run_cluster(tmp_path, body, plans=[FaultPlan()] * 3, node_class=BuggyNode))
    r = validate(cfg.trace_dir())
    assert not r.ok and "advance_commit_index" in r.summary(), r.summary()


def test_a_single_server_cluster_commits_alone_after_its_disk_write(tmp_path: Path) -> None:
    cfg = raft_cluster(str(tmp_path / "one"), 1, trace=True)
    cfg.save()

    async def main() -> None:
        nd = RaftKVNode(cfg, 0)
        await nd.start()
        kv = RaftKVClient(cfg, client_id=1000, timeout=0.4, budget=10)
        try:
            await kv.put("a", "1")
            assert await kv.get("a") == "1"
            assert nd.host.commits >= 2  # the answers waited for the commits (no follower to count)
        finally:
            await kv.close()
            await nd.stop()

    asyncio.run(main())
    r = validate(cfg.trace_dir())
    assert r.ok, r.summary()
