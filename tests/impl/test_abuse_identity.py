"""Clients cannot pose as nodes: what a client holds (cluster.json) signs client frames only,
a node message verifies only under its sender's key, and a frame replayed on another
connection does not verify."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from protoproof.impl.client import Endpoint
from protoproof.impl.cluster import KEYS_FILE, ClusterConfig, load_cluster
from protoproof.impl.codec import Codec, Frame, FrameError, Keys, Link
from protoproof.impl.kv import Decide, KVClient, KVNode, paxos_cluster, wire_type
from protoproof.impl.kv_catchup import LogReq
from protoproof.impl.transport import connect
from protoproof.models.schema import SchemaError

WIRE = wire_type(3)
CMD = json.dumps({"id": "forged", "op": "put", "k": "bank", "v": "stolen"})


class SignsWith(Keys):
    """A forger's keys: every frame signed with one key, whatever its addresses."""

    def __init__(self, key: bytes | None) -> None:
        assert key is not None
        super().__init__([], key)
        self.key = key

    def for_frame(self, src: int, dst: int) -> bytes | None:
        return self.key


def run_cluster(tmp_path: Path, body: Callable[[ClusterConfig, list[KVNode]], Awaitable[None]]) -> None:
    async def main() -> None:
        cfg = paxos_cluster(str(tmp_path / "kv"), 3, fsync=False)
        cfg.save()
        nodes = [KVNode(cfg, i) for i in range(3)]
        for nd in nodes:
            await nd.start()
        try:
            await body(cfg, nodes)
        finally:
            for nd in nodes:
                await nd.stop()

    asyncio.run(asyncio.wait_for(main(), 120))


def test_the_cluster_file_holds_only_the_client_key_and_the_master_is_readable_by_the_owner_only(
        tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    cfg.save()
    text = (tmp_path / "kv" / "cluster.json").read_text()
    assert cfg.secret.hex() not in text and "secret" not in json.loads(text)
    assert stat.S_IMODE(os.stat(tmp_path / "kv" / KEYS_FILE).st_mode) == 0o600
    client = load_cluster(tmp_path / "kv")
    assert client.secret == b"" and client.keys.master is None and client.keys.pool == cfg.keys.pool
    assert load_cluster(tmp_path / "kv", as_node=True).secret == cfg.secret
    with pytest.raises(ValueError, match="master secret"):
        KVNode(client, 0)  # a client's view cannot run a node
    (tmp_path / "kv" / KEYS_FILE).unlink()
    with pytest.raises(ValueError, match=f"{KEYS_FILE} is missing"):
        load_cluster(tmp_path / "kv", as_node=True)


def test_a_cluster_file_from_before_the_split_gives_clients_the_client_key_only(tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    j = cfg.to_json()
    del j["client_pool_key"]
    j["secret"] = cfg.secret.hex()  # what cluster.json held before
    (tmp_path / "kv").mkdir()
    (tmp_path / "kv" / "cluster.json").write_text(json.dumps(j))
    client, node = load_cluster(tmp_path / "kv"), load_cluster(tmp_path / "kv", as_node=True)
    assert client.secret == b"" and client.keys.pool == cfg.keys.pool and node.secret == cfg.secret
    del j["secret"]
    (tmp_path / "kv" / "cluster.json").write_text(json.dumps(j))
    with pytest.raises(ValueError, match="no client key"):  # neither key nor master
        load_cluster(tmp_path / "kv")


def test_a_client_key_cannot_sign_a_frame_between_nodes() -> None:
    keys = Keys.from_master(b"m" * 32, [0, 1, 2])
    client = Codec(WIRE, keys.client_view(), [0, 1, 2, 1000])
    with pytest.raises(SchemaError, match="no key"):
        client.encode(Frame(1, 0, 0, Decide(CMD)))
    node = Codec(WIRE, keys, [0, 1, 2, 1000])
    # signed with the client key (a codec that takes every id for a client) as if from node 1
    forged = Codec(WIRE, SignsWith(keys.pool), [0, 1, 2, 1000]).encode(Frame(1, 0, 0, Decide(CMD)))
    with pytest.raises(FrameError, match="HMAC"):
        node.decode(forged)
    # node 2's key does not sign for node 1
    class NodeTwo(Keys):
        def for_frame(self, src: int, dst: int) -> bytes | None:
            return super().for_frame(2, dst)

    as_two = Codec(WIRE, NodeTwo([0, 1, 2], None, b"m" * 32), [0, 1, 2, 1000])
    with pytest.raises(FrameError, match="HMAC"):
        node.decode(as_two.encode(Frame(1, 0, 0, Decide(CMD))))
    assert node.decode(node.encode(Frame(1, 0, 0, Decide(CMD)))).msg == Decide(CMD)


def test_a_frame_replayed_on_another_connection_or_position_does_not_verify() -> None:
    node = Codec(WIRE, b"m" * 32, [0, 1, 2, 1000], nodes=[0, 1, 2])
    a = Link(b"a" * 16, inbound=True)
    data = node.encode(Frame(1, 0, 7, Decide(CMD)), a)
    assert node.decode(data, Link(b"a" * 16, inbound=True)).msg == Decide(CMD)
    with pytest.raises(FrameError, match="HMAC"):
        node.decode(data, Link(b"b" * 16, inbound=True))  # another connection
    later = Link(b"a" * 16, inbound=True)
    later.seq = 1
    with pytest.raises(FrameError, match="HMAC"):
        node.decode(data, later)  # the same connection, replayed after it
    with pytest.raises(FrameError, match="HMAC"):
        node.decode(data, Link(b"a" * 16, inbound=False))  # reflected back to its sender


def test_a_forged_decide_from_a_client_is_rejected_and_not_learned(tmp_path: Path) -> None:
    async def body(cfg: ClusterConfig, nodes: list[KVNode]) -> None:
        view = load_cluster(cfg.directory)  # what `protoproof kv` reads: the client key only
        addr = cfg.node(0)
        # 1. as node 1, signed with the client key: rejected (bad MAC), connection closed after three
        r, w, link, _back = await connect(addr.host, addr.port)
        forger = Codec(WIRE, SignsWith(view.keys.pool), view.all_ids)
        for _ in range(3):
            w.write(forger.encode(Frame(1, 0, 0, Decide(CMD)), link))
        await w.drain()
        assert await asyncio.wait_for(r.read(), 5) == b""
        w.close()
        # 2. as itself, properly signed: a client's Decide is not a node's, and is ignored
        ep = Endpoint(view, WIRE, 1000)
        await ep.send(0, 0, Decide(CMD))
        await ep.send(0, 0, Decide(CMD))
        await asyncio.sleep(0.5)
        assert nodes[0].transport.rejected == 3
        assert all(0 not in nd.log for nd in nodes)
        c = KVClient(view)
        await c.put("bank", "honest")
        assert await c.get("bank") == "honest"
        await asyncio.sleep(1.5)  # catch-up rounds: nothing forged to spread
        assert all("stolen" not in v for nd in nodes for v in nd.log.values())
        await c.close()
        await ep.close()

    run_cluster(tmp_path, body)


def test_two_thousand_signed_logreqs_from_a_client_leave_the_node_responsive(tmp_path: Path) -> None:
    async def body(cfg: ClusterConfig, nodes: list[KVNode]) -> None:
        view = load_cluster(cfg.directory)
        # A long try: the flooded node may take seconds to drain its queue on a loaded machine; a
        # retry would go to another node and no longer show that this one answers.
        c = KVClient(view, prefer=0, timeout=10.0)
        for k in range(300):  # a log for LogReq to ask for
            await c.put(f"k{k}", "v")
        ep = Endpoint(view, WIRE, 1001)
        sent_before = nodes[0].transport.sent
        for k in range(2000):  # as itself: a catch-up request is a node's, and is ignored
            await ep.send(0, k % 300, LogReq())
        forger = Codec(WIRE, SignsWith(view.keys.pool), view.all_ids)
        addr = cfg.node(0)
        sent = 0
        while sent < 2000:  # as node 1, signed with the client key: closed after three each time
            r, w, link, _back = await connect(addr.host, addr.port)
            w.write(b"".join(forger.encode(Frame(1, 0, (sent + j) % 300, LogReq()), link) for j in range(3)))
            sent += 3
            await w.drain()
            assert await asyncio.wait_for(r.read(), 5) == b""
            w.close()
        assert nodes[0].transport.rejected == sent
        t0 = time.monotonic()
        await c.put("after", "flood")
        assert await c.get("after") == "flood"
        assert time.monotonic() - t0 < 10 and c.retries == 0
        # the node answered none of them (a catch-up request is a node's)
        assert nodes[0].transport.sent - sent_before < 200
        await c.close()
        await ep.close()

    run_cluster(tmp_path, body)
