"""The runtime's commands end to end, as a user runs them (``python -m protoproof.impl ...``)."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

from protoproof.impl.commands import add_commands, commands
from protoproof.impl.launcher import wait_listening

PY = [sys.executable, "-m", "protoproof.impl"]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PY, *args], capture_output=True, text=True, timeout=timeout)


def start_cluster(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    p = subprocess.Popen([*PY, "cluster", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 20
    assert p.stdout is not None
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.startswith("running"):
            return p, lines
    p.kill()
    p.wait(5)
    raise AssertionError(f"cluster did not start: {lines}")


def stop_cluster(p: subprocess.Popen[str], directory: Path) -> None:
    p.send_signal(signal.SIGINT)  # what Ctrl-C does
    try:
        p.wait(15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)


def ports_closed(lines: list[str]) -> bool:
    addrs = [ln.split(" on ")[1] for ln in lines if " listening on " in ln]
    return not any(wait_listening(a.split(":")[0], int(a.split(":")[1]), 0.1) for a in addrs)


def test_the_commands_register_on_a_parser() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_commands(sub)
    args = parser.parse_args(["kv", "--cluster", "d", "put", "color", "blue"])
    assert (args.command, args.op, args.key, args.value) == ("kv", "put", "color", "blue")
    assert set(commands()) == {"cluster", "kv", "lock", "replog", "tx", "validate"}


def test_paxos_cluster_put_get_and_ctrl_c(tmp_path: Path) -> None:
    d = tmp_path / "data"
    p, lines = start_cluster("paxos", "--nodes", "3", "--dir", str(d))
    try:
        assert sum("listening on 127.0.0.1:" in ln for ln in lines) == 3
        r = run("kv", "--cluster", str(d), "put", "color", "blue")
        assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
        r = run("kv", "--cluster", str(d), "get", "color")
        assert r.returncode == 0 and r.stdout.strip() == "blue", r.stderr
        r = run("kv", "--cluster", str(d), "get", "absent")
        assert r.returncode == 1
    finally:
        stop_cluster(p, d)
    assert p.returncode == 0
    assert ports_closed(lines)
    # the data survives a full restart of the cluster
    p, lines = start_cluster("paxos", "--dir", str(d))
    try:
        r = run("kv", "--cluster", str(d), "get", "color")
        assert r.stdout.strip() == "blue", r.stderr
    finally:
        stop_cluster(p, d)


def test_raft_cluster_serves_kv_through_its_leader_and_its_trace_validates(tmp_path: Path) -> None:
    d = tmp_path / "raft"
    p, lines = start_cluster("raft", "--servers", "3", "--max-entries", "16", "--dir", str(d), "--trace")
    try:
        assert sum("listening on 127.0.0.1:" in ln for ln in lines) == 3
        r = run("kv", "--cluster", str(d), "put", "color", "blue")  # the client finds the leader
        assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
        r = run("kv", "--cluster", str(d), "get", "color")
        assert r.returncode == 0 and r.stdout.strip() == "blue", r.stderr
    finally:
        stop_cluster(p, d)
    r = run("validate", str(d / "trace"))
    assert r.returncode == 0 and "fits the model" in r.stdout, r.stdout + r.stderr


def test_twophase_cluster_tx_commit_and_validate(tmp_path: Path) -> None:
    d = tmp_path / "tx"
    p, _lines = start_cluster("twophase", "--rms", "3", "--dir", str(d), "--trace")
    try:
        r = run("tx", "--cluster", str(d), "commit")
        assert r.returncode == 0, r.stderr
        assert "committed" in r.stdout.splitlines()[0]
        assert [ln.split()[-1] for ln in r.stdout.splitlines()[1:]] == ["committed"] * 3
        r = run("tx", "--cluster", str(d), "commit", "--no", "1")
        assert "aborted" in r.stdout.splitlines()[0]
    finally:
        stop_cluster(p, d)
    r = run("validate", str(d / "trace"))
    assert r.returncode == 0 and "fits the model" in r.stdout, r.stdout + r.stderr
    r = run("kv", "--cluster", str(d), "get", "x")
    assert r.returncode == 2 and "twophase cluster" in r.stderr


def test_detach_then_stop(tmp_path: Path) -> None:
    d = tmp_path / "det"
    r = run("cluster", "paxos", "--nodes", "1", "--dir", str(d), "--detach")
    assert r.returncode == 0, r.stderr
    try:
        r2 = run("kv", "--cluster", str(d), "put", "a", "b")
        assert r2.returncode == 0, r2.stderr
    finally:
        r3 = run("cluster", "paxos", "--dir", str(d), "--stop")  # the old spelling of `cluster stop`
    assert r3.returncode == 0
    assert "stopped 1 node(s)" in r3.stdout
