"""The generic runtime: services found through the registry, a protocol that lives only in tests/."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from protoproof.impl.client import Endpoint
from protoproof.impl.cluster import ClusterConfig, load_cluster
from protoproof.impl.codec import NONCE_LEN
from protoproof.impl.launcher import Cluster
from protoproof.impl.service import ServiceSpec, known_specs, load_spec, spec_for
from protoproof.impl.validate import model_of, validate
from protoproof.tests.protocols.pingpong import SERVICE, Count, CountReq, Go, wire_type


def test_a_protocol_name_and_a_dotted_path_give_the_same_service() -> None:
    assert spec_for("paxos") is load_spec("protoproof.impl.kv:SERVICE")
    assert spec_for("twophase").commands[0].name == "tx"
    assert spec_for("protoproof.tests.protocols.pingpong:SERVICE") is SERVICE
    with pytest.raises(ValueError, match="no runtime service"):
        spec_for("tcommit")
    with pytest.raises(ValueError, match="not a ServiceSpec"):
        load_spec("protoproof.tests.protocols.pingpong:PingPong")


async def _rounds(cfg: ClusterConfig, inst: int, rounds: int, timeout: float = 10.0) -> int:
    """Ask the pinger for ``rounds`` more rounds of ``inst``; its count at the end."""
    ep = Endpoint(cfg, wire_type(int(cfg.params["pings"])))

    def count(f: Any) -> bool:
        return bool(f.inst == inst and type(f.msg) is Count)

    try:
        f = await ep.request(0, inst, CountReq(), count, 2.0)
        target = f.msg.n + rounds
        deadline = time.monotonic() + timeout
        while f.msg.n < target and time.monotonic() < deadline:
            await ep.send(0, inst, Go())
            await asyncio.sleep(0.05)
            f = await ep.request(0, inst, CountReq(), count, 2.0)
        return int(f.msg.n)
    finally:
        await ep.close()


@pytest.mark.parametrize("spec", [s for s in known_specs() if s.name != "sharded"], ids=lambda s: s.name)
def test_a_cluster_names_its_nodes_as_its_model_does(spec: ServiceSpec, tmp_path: Path) -> None:
    """``cluster`` prints these names and ``validate`` the model's: one node, one name (sharded's
    model is per shard, built from its rings, not from a new cluster)."""
    cfg = spec.new_cluster(tmp_path / "c", {o.name: o.default for o in spec.options}, trace=True)
    ref, params = spec.model(cfg)
    model = model_of({"model": ref, "params": params}, 0)
    assert [n.name for n in cfg.nodes] == [n.name for n in model.node_list][:len(cfg.nodes)]


def test_a_node_protocol_defined_in_tests_runs_as_a_cluster_and_its_trace_validates(tmp_path: Path) -> None:
    cfg = SERVICE.new_cluster(tmp_path / "pp", {"pings": 4}, trace=True)
    cfg.save()
    assert load_cluster(cfg.directory).service == "protoproof.tests.protocols.pingpong:SERVICE"
    with Cluster(cfg) as cluster:
        cluster.start_all()
        assert asyncio.run(_rounds(cfg, 1, 2)) == 2
        cluster.kill(1)  # the ponger, kill -9, then back from its disk
        cluster.start(1)
        assert asyncio.run(_rounds(cfg, 1, 2)) == 4
        assert asyncio.run(_rounds(cfg, 2, 1)) == 1
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()
    assert report.instances == 2 and report.steps >= 15


def test_validation_of_a_tests_protocol_catches_a_node_that_sends_before_persisting(tmp_path: Path) -> None:
    cfg = SERVICE.new_cluster(tmp_path / "bug", {"pings": 3}, trace=True)
    cfg.save()
    with Cluster(cfg, env={"PROTOPROOF_SEND_BEFORE_PERSIST": "1"}) as cluster:
        cluster.start_all()
        assert asyncio.run(_rounds(cfg, 5, 1)) == 1
        cluster.kill(1)  # before its late Persist lands
        cluster.start(1)
    report = validate(cfg.trace_dir())
    assert not report.ok
    first = min(report.problems, key=lambda p: p.step)
    assert first.node == 1 and "sent before it persisted" in first.what, report.summary()


def test_a_tests_protocol_gets_cluster_and_validate_from_the_command_line(tmp_path: Path) -> None:
    d = tmp_path / "cli"
    py = [sys.executable, "-m", "protoproof.impl"]
    ref = "protoproof.tests.protocols.pingpong:SERVICE"
    r = subprocess.run([*py, "cluster", ref, "--param", "pings=2", "--dir", str(d), "--trace", "--detach"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    try:
        assert "pinger (node 0) listening on" in r.stdout
        assert asyncio.run(_rounds(load_cluster(d), 0, 2)) == 2
    finally:
        r2 = subprocess.run([*py, "cluster", ref, "--dir", str(d), "--stop"], capture_output=True, text=True,
                            timeout=60)
    assert r2.returncode == 0, r2.stderr
    time.sleep(0.3)
    r = subprocess.run([*py, "validate", str(d / "trace")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "fits the model" in r.stdout and "pingpong" in r.stdout, r.stdout + r.stderr


def test_a_service_spec_checks_its_cluster_parameters(tmp_path: Path) -> None:
    assert isinstance(SERVICE, ServiceSpec)
    with pytest.raises(ValueError, match="--pings must be between 1 and 20"):
        SERVICE.new_cluster(tmp_path / "x", {"pings": 0})
    cfg = SERVICE.new_cluster(tmp_path / "x", {})
    assert cfg.params == {"pings": 3} and [n.name for n in cfg.nodes] == ["pinger", "ponger"]


def test_two_requests_racing_on_a_fresh_endpoint_share_one_connection(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = SERVICE.new_cluster(tmp_path / "race", {"pings": 2})
    opened: list[asyncio.StreamWriter] = []

    class Writer:
        def is_closing(self) -> bool:
            return False

        def close(self) -> None:
            pass

    async def slow_open(host: str, port: int) -> tuple[asyncio.StreamReader, Any]:
        await asyncio.sleep(0.05)  # both callers are inside _conn before either connection exists
        w = Writer()
        opened.append(w)  # type: ignore[arg-type]
        r = asyncio.StreamReader()
        r.feed_data(b"n" * NONCE_LEN)  # the node speaks first: its connection nonce
        return r, w

    monkeypatch.setattr(asyncio, "open_connection", slow_open)

    async def race() -> None:
        ep = Endpoint(cfg, wire_type(2))
        a, b = await asyncio.gather(ep._conn(0), ep._conn(0))
        assert a[0] is b[0] and len(opened) == 1
        await ep.close()

    asyncio.run(race())


def test_the_raft_runtime_model_takes_sizes_beyond_the_checkers_ranges() -> None:
    """The checker's ranges (at most 5 servers, 4 entries a request) are not a cluster's: a trace
    of 7 servers batching 64 entries must still find its model."""
    from protoproof.impl.raft import KVRaft

    m = KVRaft(servers=7, max_entries=64)
    assert len(m.node_list) == 7 and m.config.max_entries == 64
    with pytest.raises(ValueError, match="--servers must be at least 1"):
        KVRaft(servers=0)
