"""The Paxos KV with group commit: no message leaves a node before the state it depends on is
committed, checked at every send against what the store has really committed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from protoproof.impl.codec import Frame
from protoproof.impl.kv import Decide, KVClient, KVNode, Reply, paxos_cluster
from protoproof.impl.service import Service
from protoproof.models.paxos import OneA, OneB, TwoA, TwoB


class Committed:
    """What one node's store has committed (recorded when a write returns), and every send that
    went out before the state it depends on was in it."""

    def __init__(self, node: KVNode) -> None:
        self.node = node
        self.acc: dict[int, dict[str, Any]] = {}
        self.log: dict[int, str] = {}
        self.early: list[str] = []
        self.sends = 0
        store, transport = node.store, node.transport
        write_batch, put, send = store.write_batch, store.put, transport.send

        def recording_write_batch(statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
            write_batch(statements)
            for sql, rows in statements:
                if sql.startswith("INSERT OR REPLACE INTO durable"):
                    self.acc.update((i, json.loads(v)) for i, v in rows)
                elif sql.startswith("INSERT OR REPLACE INTO log"):
                    self.log.update(rows)

        def recording_put(inst: int, value: Any, trace: Any = None, logs: Any = None) -> None:
            put(inst, value, trace, logs)
            self.acc[inst] = value

        def checked_send(f: Frame) -> None:
            self.sends += 1
            why = self.premature(f)
            if why:
                self.early.append(why)
            send(f)

        store.write_batch = recording_write_batch  # type: ignore[method-assign]
        store.put = recording_put  # type: ignore[method-assign]
        transport.send = checked_send  # type: ignore[method-assign]

    def premature(self, f: Frame) -> str | None:
        """Why ``f`` must not leave yet (None: what it reveals is committed here)."""
        m, a = f.msg, self.acc.get(f.inst, {"max_bal": -1, "max_vbal": -1})
        if type(m) in (OneA, TwoA, OneB) and a["max_bal"] < m.bal:
            return f"{type(m).__name__} ballot {m.bal} for slot {f.inst} before promise {m.bal} was committed"
        if type(m) is TwoB and a["max_vbal"] < m.bal:
            return f"TwoB ballot {m.bal} for slot {f.inst} before the vote was committed"
        if type(m) is Decide and f.inst not in self.log:
            return f"Decide for slot {f.inst} before the slot was committed"
        if type(m) is Reply and not any(json.loads(v)["id"] == m.cid for v in self.log.values()):
            return f"Reply to {m.cid} before its command's slot was committed"
        return None


class EagerKV(KVNode):
    """The planted bug: the service's own messages (a proposer's 1a/2a, replies) sent at once,
    not after the group commit of what they depend on."""

    def reply(self, dst: int, inst: int, msg: Any) -> None:
        Service.reply(self, dst, inst, msg)


async def run_load(tmp_path: Path, node_class: type[KVNode], group_commit: bool, clients: int,
                   puts: int) -> list[Committed]:
    cfg = paxos_cluster(str(tmp_path / f"kv-{node_class.__name__}-{group_commit}"), 3, group_commit=group_commit)
    nodes = [node_class(cfg, i) for i in range(3)]
    for nd in nodes:
        await nd.start()
    seen = [Committed(nd) for nd in nodes]
    try:
        async def client(c: int) -> None:
            kv = KVClient(cfg, client_id=1000 + c, prefer=c, timeout=1.0, budget=20.0)
            try:
                for j in range(puts):
                    await kv.put(f"k{j % 3}", f"c{c}-{j}")
                assert await kv.get(f"k{(puts - 1) % 3}") is not None
            finally:
                await kv.close()

        await asyncio.gather(*(client(c) for c in range(clients)))
        for nd in nodes:
            await nd.host.settle()
    finally:
        for nd in nodes:
            await nd.stop()
    return seen


# Without group commit every fsync stalls the one event loop the three nodes share here: fewer clients.
@pytest.mark.parametrize(("group_commit", "clients"), [(True, 6), (False, 2)])
def test_no_paxos_kv_message_leaves_a_node_before_the_state_it_depends_on_is_committed(
        tmp_path: Path, group_commit: bool, clients: int) -> None:
    seen = asyncio.run(run_load(tmp_path, KVNode, group_commit, clients=clients, puts=4))
    assert all(s.sends > 0 for s in seen)
    early = [w for s in seen for w in s.early]
    assert not early, early[:5]
    if group_commit:  # proposers on three nodes at once: some commits carry several steps
        assert any(s.node.host.commits < s.node.host.steps for s in seen)


def test_a_proposer_that_sends_before_its_group_commit_is_caught(tmp_path: Path) -> None:
    seen = asyncio.run(run_load(tmp_path, EagerKV, True, clients=1, puts=1))
    early = [w for s in seen for w in s.early]
    assert any(w.startswith("OneA") for w in early), early[:5]
