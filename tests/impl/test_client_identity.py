"""Client ids are authenticated one by one: a client's key is bound to its id, so it cannot
send as another client (nor as a node), cannot reuse another client's command ids, and a
client from before per-client keys is told why it is refused."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.impl.__main__ import main
from protoproof.impl.client import Endpoint
from protoproof.impl.cluster import ClientKeyOutdated, ClusterConfig, add_client, load_cluster, load_credentials
from protoproof.impl.codec import LEGACY_LABEL, Codec, Frame, FrameError, Keys, derive
from protoproof.impl.kv import Decide, KVClient, KVNode, Reply, Request, paxos_cluster, wire_type
from protoproof.impl.transport import connect
from protoproof.models.schema import SchemaError

from .test_abuse_identity import SignsWith, run_cluster

WIRE = wire_type(3)
PY = [sys.executable, "-m", "protoproof.impl"]


def put(cid: str, k: str, v: str) -> Request:
    return Request(json.dumps({"id": cid, "op": "put", "k": k, "v": v}))


@settings(max_examples=40, deadline=None)
@given(a=st.integers(1000, 1255 + 1024), b=st.integers(1000, 1255 + 1024))
def test_a_frame_signed_with_one_clients_key_does_not_verify_as_another_client(a: int, b: int) -> None:
    cfg = paxos_cluster("/nonexistent-cluster", 3)
    ids = cfg.all_ids
    node = Codec(WIRE, cfg.keys, ids)
    me = Codec(WIRE, Keys([0, 1, 2], None, own=(a, cfg.keys.client_key(a))), ids)  # type: ignore[arg-type]
    assert node.decode(me.encode(Frame(a, 0, 0, put(f"{a}:x", "k", "v")))).src == a
    if b != a:
        with pytest.raises(SchemaError, match="no key"):
            me.encode(Frame(b, 0, 0, put(f"{b}:x", "k", "v")))  # it holds no key for b
        forged = Codec(WIRE, SignsWith(cfg.keys.client_key(a)), ids).encode(Frame(b, 0, 0, put(f"{b}:x", "k", "v")))
        with pytest.raises(FrameError, match="HMAC"):
            node.decode(forged)


def test_the_pool_key_of_cluster_json_signs_pool_ids_only_not_an_issued_client(tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    cfg.save()
    cid, path = add_client(cfg, "alice")
    assert cid not in cfg.pool_ids and cid in cfg.client_ids
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    view = load_cluster(tmp_path / "kv")  # what every holder of cluster.json has
    assert view.keys.client_key(1000) == cfg.keys.client_key(1000)
    assert view.keys.client_key(cid) is None
    alice = load_credentials(view, path)
    assert alice.keys.client_key(cid) == cfg.keys.client_key(cid)
    assert add_client(cfg, "alice") == (cid, path)  # issued again: the same id and key
    assert add_client(cfg, "bob")[0] == cid + 1
    with pytest.raises(ValueError, match="client name"):
        add_client(cfg, "../evil")
    with pytest.raises(ValueError, match="master secret"):
        add_client(view, "carol")


def test_client_a_cannot_send_a_request_as_client_b_nor_reuse_b_s_command_ids(tmp_path: Path) -> None:
    async def body(cfg: ClusterConfig, nodes: list[KVNode]) -> None:
        _bid, bpath = add_client(load_cluster(cfg.directory, as_node=True), "bob")
        _aid, apath = add_client(load_cluster(cfg.directory, as_node=True), "alice")
        view = load_cluster(cfg.directory)
        bob = KVClient(load_credentials(view, bpath), prefer=0)
        await bob.put("account", "bob's")
        alice_cfg = load_credentials(view, apath)
        assert alice_cfg.credentials is not None
        aid, akey = alice_cfg.credentials
        bid = bob.ep.id
        # 1. as bob, signed with alice's key: rejected, and the connection closed after three
        addr = cfg.node(0)
        r, w, link, _back = await connect(addr.host, addr.port)
        forger = Codec(WIRE, SignsWith(akey), view.all_ids)
        for k in range(3):
            w.write(forger.encode(Frame(bid, 0, 0, put(f"{bid}:forged{k}", "account", "alice's")), link))
        await w.drain()
        assert await asyncio.wait_for(r.read(), 5) == b""
        w.close()
        # 2. as bob with the pool's key of cluster.json: it holds no key for bob
        with pytest.raises(SchemaError, match="no key"):
            await Endpoint(view, WIRE, bid).send(0, 0, put(f"{bid}:pool", "account", "pool's"))
        # 3. as herself, with one of bob's command ids (to read his result or shadow his retry): refused
        ep = Endpoint(alice_cfg, WIRE)
        assert ep.id == aid
        replies: list[Frame] = []

        def record(f: Frame) -> bool:
            replies.append(f)
            return False

        ep.waiters.append((record, asyncio.get_running_loop().create_future()))
        await ep.send(0, 0, put(f"{bid}:stolen", "account", "alice's"))
        await asyncio.sleep(0.5)
        assert not any(type(f.msg) is Reply for f in replies)
        assert nodes[0].transport.rejected == 4
        assert await bob.get("account") == "bob's"
        assert all("alice's" not in v for nd in nodes for v in nd.log.values())
        await bob.close()
        await ep.close()

    run_cluster(tmp_path, body)


def test_a_node_message_signed_with_an_issued_clients_key_is_rejected(tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    cfg.save()
    _cid, path = add_client(cfg, "alice")
    alice = load_credentials(load_cluster(tmp_path / "kv"), path)
    assert alice.credentials is not None
    node = Codec(WIRE, cfg.keys, cfg.all_ids)
    with pytest.raises(SchemaError, match="no key"):
        Codec(WIRE, alice.keys, cfg.all_ids).encode(Frame(1, 0, 0, Decide("x")))
    forged = Codec(WIRE, SignsWith(alice.credentials[1]), cfg.all_ids).encode(Frame(1, 0, 0, Decide("x")))
    with pytest.raises(FrameError, match="HMAC"):
        node.decode(forged)


def test_a_client_signing_with_the_old_shared_key_is_refused_with_the_reason(tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3)
    node = Codec(WIRE, cfg.keys, cfg.all_ids)
    old = Codec(WIRE, SignsWith(derive(cfg.secret, LEGACY_LABEL)), cfg.all_ids)
    with pytest.raises(FrameError, match="shared client key of an older protoproof"):
        node.decode(old.encode(Frame(1000, 0, 0, put("1000:x", "k", "v"))))


def test_a_cluster_file_with_the_old_shared_client_key_gets_one_line_and_add_client_upgrades_it(
        tmp_path: Path) -> None:
    d = tmp_path / "kv"
    cfg = paxos_cluster(str(d), 3)
    cfg.save()
    j = json.loads((d / "cluster.json").read_text())
    del j["client_pool_key"]
    j["client_key"] = derive(cfg.secret, LEGACY_LABEL).hex()  # what cluster.json held before
    (d / "cluster.json").write_text(json.dumps(j))
    with pytest.raises(ClientKeyOutdated, match="shared by every client"):
        load_cluster(d)
    r = subprocess.run([*PY, "kv", "--cluster", str(d), "get", "k"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "add-client" in r.stderr, r.stderr
    assert load_cluster(d, as_node=True).keys.pool == cfg.keys.pool  # nodes are not affected
    r = subprocess.run([*PY, "cluster", "add-client", "--dir", str(d), "--name", "ops"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert load_cluster(d).keys.pool == cfg.keys.pool


def test_add_client_and_kv_with_its_credentials_work_end_to_end(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    async def body(cfg: ClusterConfig, nodes: list[KVNode]) -> None:
        d = str(cfg.directory)

        async def cli(*args: str) -> tuple[int, str]:  # the commands, in a thread (each runs its own loop)
            rc = await asyncio.to_thread(main, list(args))
            return rc, capsys.readouterr().out

        rc, out = await cli("cluster", "add-client", "alice", "--dir", d)
        assert rc == 0 and "id 1256" in out, out
        cred = str(cfg.directory / "clients" / "alice.json")
        assert await cli("kv", "--cluster", d, "--credentials", cred, "put", "k", "v") == (0, "ok\n")
        assert await cli("kv", "--cluster", d, "get", "k") == (0, "v\n")  # the default pool still works
        assert any('"id": "1256:' in v for nd in nodes for v in nd.log.values())

    run_cluster(tmp_path, body)


def test_add_client_and_credentials_mistakes_get_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "c"
    paxos_cluster(str(d), 3).save()
    for args, says in ((["kv", "--cluster", str(d), "--credentials", str(d / "nope.json"), "get", "k"],
                        "no such credentials file"),
                       (["cluster", "status", "alice", "--dir", str(d)], "add-client only"),
                       (["cluster", "add-client", "--dir", str(d)], "needs the client's name"),
                       (["cluster", "add-client", "a b", "--dir", str(d)], "client name")):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err, err
