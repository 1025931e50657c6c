"""Generic trace validation: any node protocol's run, replayed through its model's own steps."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from protoproof.impl.kv import KVClient, KVNode, paxos_cluster
from protoproof.impl.validate import TraceError, load, validate
from protoproof.tests.protocols.pingpong import SERVICE, PingNode


def pingpong_trace(tmp_path: Path, rounds: int = 2) -> Path:
    """An in-process pingpong run with tracing; its trace directory."""
    cfg = SERVICE.new_cluster(tmp_path / "pp", {"pings": 3}, trace=True)

    async def main() -> None:
        nodes = [PingNode(cfg, i) for i in range(2)]
        for nd in nodes:
            await nd.start()
        try:
            for k in range(rounds):
                assert nodes[0].host.step(0, "ping")
                for _ in range(400):
                    await asyncio.sleep(0.005)
                    if nodes[0].host.state(0) > k:
                        break
                assert nodes[0].host.state(0) == k + 1
        finally:
            for nd in nodes:
                await nd.stop()

    asyncio.run(main())
    return cfg.trace_dir()


def rewrite(path: Path, keep: Callable[[str], bool]) -> None:
    lines = path.read_text().splitlines()
    path.write_text("".join(x + "\n" for x in lines if keep(x)))


def test_a_run_of_any_node_protocol_replays_through_its_model(tmp_path: Path) -> None:
    d = pingpong_trace(tmp_path)
    meta = json.loads((d / "meta.json").read_text())
    assert meta["model"] == "protoproof.tests.protocols.pingpong:PingPong" and meta["params"] == {"pings": 3}
    report = validate(d)
    assert report.ok, report.summary()
    assert "pingpong" in report.summary() and report.steps >= 6


def test_a_recorded_state_the_model_does_not_give_is_named_at_its_step(tmp_path: Path) -> None:
    d = pingpong_trace(tmp_path)
    f = d / "node1.jsonl"
    lines = f.read_text().splitlines()
    k = next(i for i, x in enumerate(lines) if '"kind":"deliver"' in x)
    rec = json.loads(lines[k])
    rec["after"] = 2  # the ponger claims it answered round 2 on Ping(0)
    lines[k] = json.dumps(rec, separators=(",", ":"))
    f.write_text("\n".join(lines) + "\n")
    report = validate(d)
    assert not report.ok
    first = min(report.problems, key=lambda p: p.step)
    assert first.node == 1 and "went to 2, but the model's deliver" in first.what and "gives 0" in first.what


def test_a_message_no_recorded_step_sent_is_named(tmp_path: Path) -> None:
    d = pingpong_trace(tmp_path, rounds=1)
    rewrite(d / "node0.jsonl", lambda x: '"label":"ping"' not in x)  # the pinger's step is gone
    report = validate(d)
    assert not report.ok
    assert "pinger never sent Ping(n=0) to ponger" in report.summary(), report.summary()


def test_a_corrupt_trace_line_is_an_error(tmp_path: Path) -> None:
    d = pingpong_trace(tmp_path)
    f = d / "node1.jsonl"
    lines = f.read_text().splitlines()
    lines[1] = lines[1][: len(lines[1]) // 2]
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceError, match=r"node1.jsonl:2: not a JSON record"):
        validate(d)


def test_a_trace_line_missing_a_field_is_a_one_line_error_naming_file_and_line(tmp_path: Path) -> None:
    d = pingpong_trace(tmp_path)
    f = d / "node1.jsonl"
    lines = f.read_text().splitlines()
    rec = json.loads(lines[1])
    del rec["seq"]
    lines[1] = json.dumps(rec)
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceError, match=r"node1.jsonl:2: the record lacks seq"):
        validate(d)


def test_validate_json_reports_the_torn_last_line(tmp_path: Path) -> None:
    from protoproof.cli import main

    d = pingpong_trace(tmp_path)
    with (d / "node1.jsonl").open("a") as out:
        out.write('{"t":1,"node":1,"ki')
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["validate", str(d), "--json"]) == 0
    got = json.loads(buf.getvalue())
    assert got["ok"] and got["torn"] == ["node1.jsonl: '{\"t\":1,\"node\":1,\"ki'"]


def test_a_torn_last_line_is_skipped_and_reported(tmp_path: Path) -> None:
    d = pingpong_trace(tmp_path)
    f = d / "node1.jsonl"
    with f.open("a") as out:
        out.write('{"t":1,"node":1,"ki')  # what a kill -9 in the middle of a write leaves
    report = validate(d)
    assert report.ok, report.summary()
    assert len(report.torn) == 1 and "1 torn last line(s) skipped" in report.summary()


def test_kv_proposer_steps_are_replayed_through_the_models_leader(tmp_path: Path) -> None:
    cfg = paxos_cluster(str(tmp_path / "kv"), 3, trace=True)

    async def main() -> None:
        nodes = [KVNode(cfg, i) for i in range(3)]
        for nd in nodes:
            await nd.start()
        try:
            kv = KVClient(cfg, prefer=0)
            await kv.put("x", "1")
            await kv.close()
        finally:
            for nd in nodes:
                await nd.stop()

    asyncio.run(main())
    d = cfg.trace_dir()
    text = (d / "node0.jsonl").read_text()
    assert '"label":"phase1a"' in text and '"label":"phase2a"' in text
    assert validate(d).ok
    rewrite(d / "node0.jsonl", lambda x: '"label":"phase2a"' not in x)  # a 2a nobody proposed
    report = validate(d)
    assert not report.ok
    assert "never sent TwoA" in report.summary(), report.summary()


def _edit_first(f: Path, kind: str, change: Callable[[dict[str, object]], object]) -> None:
    """Apply ``change`` to the first record of ``kind`` in ``f``."""
    lines = f.read_text().splitlines()
    k = next(i for i, x in enumerate(lines) if f'"kind":"{kind}"' in x)
    rec = json.loads(lines[k])
    change(rec)
    lines[k] = json.dumps(rec, separators=(",", ":"))
    f.write_text("\n".join(lines) + "\n")


def _not_utf8(d: Path) -> None:
    f = d / "node1.jsonl"
    lines = f.read_bytes().split(b"\n")
    lines[1] = b"\xb6\xff" + lines[1]
    f.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize("damage,needle", [
    (lambda d: (d / "meta.json").write_text("[1]"), r"meta.json: a JSON object is expected, not list"),
    (lambda d: (d / "meta.json").write_text("{not json"), r"meta.json: not JSON"),
    (lambda d: (d / "meta.json").write_text(json.dumps({**json.loads((d / "meta.json").read_text()),
                                                       "params": {"pings": "x"}})),
     r"meta.json: the parameters \{'pings': 'x'\} do not configure"),
    (_not_utf8, r"node1.jsonl:2: not a JSON record"),
    (lambda d: [f.unlink() for f in d.glob("node*.jsonl")], r"no node traces \(node\*.jsonl\)"),
    (lambda d: _edit_first(d / "node1.jsonl", "deliver", lambda r: r.pop("src")),
     r"step \d+ \(node 1, instance \d+\): replaying the record raised KeyError: 'src'"),
    (lambda d: _edit_first(d / "node1.jsonl", "deliver", lambda r: r.update(t=str(r["t"]))),
     r"node1.jsonl:\d+: the record's t must be integers"),
])
def test_a_damaged_trace_or_meta_is_a_one_line_error_not_a_traceback(
    tmp_path: Path, damage: Callable[[Path], object], needle: str,
) -> None:
    # Each of these raised an exception from inside the replay (AttributeError, TypeError,
    # UnicodeDecodeError) or, without node files, said the trace fits.
    d = pingpong_trace(tmp_path, rounds=1)
    damage(d)
    with pytest.raises(TraceError, match=needle) as e:
        validate(d)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("change,needle", [
    (lambda r: r.update(after="x"), "the record holds a value the model does not have: "),
    (lambda r: r.update(node=7), "node 7 recorded a deliver step, but the model has nodes 0..1"),
])
def test_a_record_outside_the_model_is_a_misfit_at_its_step(
    tmp_path: Path, change: Callable[[dict[str, object]], object], needle: str,
) -> None:
    # A state no value of the model's types was reported as "the request does not fit the
    # protocol's messages" (exit 2); a record of a node the model lacks was skipped.
    d = pingpong_trace(tmp_path, rounds=1)
    _edit_first(d / "node1.jsonl", "deliver", change)
    report = validate(d)
    assert not report.ok and needle in report.summary(), report.summary()


def test_an_unrecorded_kill_9_then_a_restart_then_recorded_kills_fit_the_model(tmp_path: Path) -> None:
    """A kill -9 from outside leaves no record: the restart's boot is the model's crash, and the
    recorded kills of ``cluster stop`` after it are crashes too (the budget once counted one)."""
    from protoproof.impl.launcher import Cluster
    from protoproof.impl.raft import RaftKVClient, raft_cluster

    cfg = raft_cluster(str(tmp_path / "raft"), 3, trace=True)
    cfg.save()

    async def put(key: str) -> None:
        kv = RaftKVClient(cfg, client_id=1200 + ord(key) - ord("a"), timeout=0.4, budget=30)
        await kv.put(key, "v")
        await kv.close()

    with Cluster(cfg) as cluster:
        cluster.start_all()
        asyncio.run(put("a"))
        cluster.kill(1, record=False)  # as `kill -9` from a shell
        asyncio.run(put("b"))
        cluster.start(1)
        asyncio.run(put("c"))
        for i in range(3):  # as `cluster stop` does
            cluster.kill(i)
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()
    from protoproof.impl.validate import _crashes

    _meta, recs, _torn = load(cfg.trace_dir())
    assert _crashes(recs) == {0: 1, 1: 2, 2: 1}


def test_a_missing_node_trace_is_named_not_blamed_on_the_nodes_that_heard_from_it(tmp_path: Path) -> None:
    # Without node0.jsonl the replay said "pinger never sent Ping(n=0) to ponger": a protocol misfit.
    d = pingpong_trace(tmp_path, rounds=1)
    (d / "node0.jsonl").unlink()
    with pytest.raises(TraceError, match=r"no record of pinger \(node0\.jsonl is missing or empty\), yet other "
                                         r"nodes received its messages: the trace is incomplete"):
        validate(d)
