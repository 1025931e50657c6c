"""The cluster lifecycle tells the truth: detach twice, stop, restart one node, a node that cannot start."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from protoproof.impl.cluster import load_cluster
from protoproof.impl.lifecycle import running

PY = [sys.executable, "-m", "protoproof.impl"]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PY, *args], capture_output=True, text=True, timeout=timeout)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def pid_of(d: Path, i: int) -> int:
    return int(json.loads((d / f"node{i}" / "node.pid").read_text())["pid"])


def test_detach_again_after_a_kill_starts_only_the_dead_node_and_stop_reports_the_truth(tmp_path: Path) -> None:
    d = tmp_path / "c"
    assert run("cluster", "paxos", "--dir", str(d), "--detach").returncode == 0
    try:
        first = {i: pid_of(d, i) for i in range(3)}
        os.kill(first[1], signal.SIGKILL)
        time.sleep(0.3)
        r = run("cluster", "paxos", "--dir", str(d), "--detach")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "node 0) already running" in r.stdout and "node 2) already running" in r.stdout
        now = running(load_cluster(d))
        assert now[0] == first[0] and now[2] == first[2] and now[1] != first[1]  # the originals serve on
        assert run("kv", "--cluster", str(d), "put", "k", "v").returncode == 0
        for i in range(3):
            assert "already in use" not in (d / f"node{i}" / "node.log").read_text()
    finally:
        stop = run("cluster", "stop", "--dir", str(d))
    assert stop.returncode == 0
    assert "stopped 3 node(s)" in stop.stdout, stop.stdout
    assert not any(alive(p) for p in now.values())
    again = run("cluster", "stop", "--dir", str(d))
    assert again.stdout.strip() == "nothing was running"


def test_restart_one_node_replaces_only_that_process_and_it_serves(tmp_path: Path) -> None:
    d = tmp_path / "c"
    assert run("cluster", "paxos", "--dir", str(d), "--detach").returncode == 0
    try:
        before = {i: pid_of(d, i) for i in range(3)}
        assert run("kv", "--cluster", str(d), "put", "k", "v1").returncode == 0
        r = run("cluster", "restart", "--dir", str(d), "--node", "2")
        assert r.returncode == 0, r.stderr
        assert f"node 2 restarted (pid {before[2]} -> pid" in r.stdout
        after = running(load_cluster(d))
        assert after[0] == before[0] and after[1] == before[1] and after[2] != before[2]
        assert not alive(before[2])
        get = run("kv", "--cluster", str(d), "get", "k")
        assert get.stdout.strip() == "v1"
    finally:
        run("cluster", "stop", "--dir", str(d))


def test_a_node_that_cannot_start_is_reported_and_the_healthy_ones_keep_serving(tmp_path: Path) -> None:
    d = tmp_path / "c"
    # Create the cluster, stop it, then hold node 1's port with a foreign listener.
    assert run("cluster", "paxos", "--dir", str(d), "--detach").returncode == 0
    assert run("cluster", "stop", "--dir", str(d)).returncode == 0
    port = load_cluster(d).node(1).port
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", port))
    squatter.listen()
    p = subprocess.Popen([*PY, "cluster", "paxos", "--dir", str(d)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert p.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
            if line.startswith("running"):
                break
        assert any("node 1) did not start" in ln and "taken by another process" in ln for ln in lines), lines
        assert p.poll() is None  # the supervisor carries on
        assert set(running(load_cluster(d))) == {0, 2}
        assert run("kv", "--cluster", str(d), "put", "k", "v").returncode == 0  # a majority serves
    finally:
        squatter.close()
        p.send_signal(signal.SIGINT)
        p.wait(20)
    assert not running(load_cluster(d))


def supervised(*args: str) -> subprocess.Popen[str]:
    """``cluster paxos ARGS`` in the foreground, once it says its nodes are running."""
    p = subprocess.Popen([*PY, "cluster", "paxos", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    assert p.stdout is not None
    for line in p.stdout:
        if line.startswith("running"):
            break
    return p


def test_detach_refuses_while_a_foreground_supervisor_runs_the_cluster(tmp_path: Path) -> None:
    d = tmp_path / "c"
    p = supervised("--nodes", "1", "--dir", str(d))
    try:
        r = run("cluster", "paxos", "--dir", str(d), "--detach")
        assert r.returncode == 2
        assert "supervised by a running `protoproof cluster`" in r.stderr and r.stderr.count("\n") == 1
        stop = run("cluster", "stop", "--dir", str(d))
        assert "stopped the supervisor" in stop.stdout
        p.wait(20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
    assert not running(load_cluster(d))


def test_kv_against_a_stopped_cluster_fails_at_once_with_one_line(tmp_path: Path) -> None:
    d = tmp_path / "my c"  # the commands the hints print paste as they are (the space was two words)
    start = run("cluster", "paxos", "--dir", str(d), "--detach")
    assert start.returncode == 0
    assert shlex.split(start.stdout.split("stop with: ")[1]) == ["protoproof", "cluster", "stop", "--dir", str(d)]
    assert run("cluster", "stop", "--dir", str(d)).returncode == 0
    t0 = time.monotonic()
    r = run("kv", "--cluster", str(d), "get", "k")
    assert time.monotonic() - t0 < 10  # not the 30 s timeout
    assert r.returncode == 3
    assert "no node of the cluster" in r.stderr and "is running" in r.stderr and r.stderr.count("\n") == 1
    hint = shlex.split(r.stderr.split("start it with: ")[1])
    assert hint == ["protoproof", "cluster", "paxos", "--dir", str(d), "--detach"]


def test_bad_cluster_files_and_requests_get_one_line_and_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("kv", "--cluster", str(empty), "get", "k")
    assert (r.returncode, r.stderr.count("\n")) == (2, 1) and "holds no cluster" in r.stderr
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "cluster.json").write_text("{not json")
    r = run("kv", "--cluster", str(garbage), "get", "k")
    assert (r.returncode, r.stderr.count("\n")) == (2, 1) and "not a cluster file" in r.stderr
    r = run("cluster", "restart", "--dir", str(empty), "--node", "1")
    assert (r.returncode, r.stderr.count("\n")) == (2, 1) and "holds no cluster" in r.stderr


def test_an_oversized_value_and_a_missing_rm_get_one_line_and_exit_2(tmp_path: Path) -> None:
    kv = tmp_path / "kv"
    tx = tmp_path / "tx"
    assert run("cluster", "paxos", "--nodes", "1", "--dir", str(kv), "--detach").returncode == 0
    assert run("cluster", "twophase", "--dir", str(tx), "--detach").returncode == 0
    try:
        r = run("kv", "--cluster", str(kv), "put", "k", "x" * 8192)
        assert (r.returncode, r.stderr.count("\n")) == (2, 1), r.stderr
        assert "over the 8,192 a request carries" in r.stderr and len(r.stderr) < 400
        # The bound is on the JSON text: 1,400 Cyrillic letters are 8,400 characters there (it printed the
        # escaped command and "is not a string of at most 8192 characters").
        r = run("kv", "--cluster", str(kv), "put", "k", "я" * 1400)
        assert r.returncode == 2 and "a non-ASCII character takes 6" in r.stderr, r.stderr
        assert run("kv", "--cluster", str(kv), "put", "k", "я" * 1300).returncode == 0
        r = run("tx", "--cluster", str(tx), "commit", "--no", "3")
        assert (r.returncode, r.stderr.count("\n")) == (2, 1), r.stderr
        assert "--no 3: the cluster's RMs are 0..2" in r.stderr
    finally:
        run("cluster", "stop", "--dir", str(kv))
        run("cluster", "stop", "--dir", str(tx))


def test_a_node_stopped_alone_stays_stopped_under_a_foreground_supervisor_until_restarted(tmp_path: Path) -> None:
    d = tmp_path / "fg"
    p = supervised("--dir", str(d))
    try:
        assert set(running(load_cluster(d))) == {0, 1, 2}
        stop = run("cluster", "stop", "--dir", str(d), "--node", "2")
        assert "stopped 1 node(s): node 2" in stop.stdout and "leaves node 2 stopped" in stop.stdout, stop.stdout
        time.sleep(3)  # the supervisor polls every 0.2 s and would restart a crashed node at once
        assert set(running(load_cluster(d))) == {0, 1}
        r = run("cluster", "restart", "--dir", str(d), "--node", "2")
        assert r.returncode == 0 and "node 2 restarted" in r.stdout, r.stdout + r.stderr
        assert set(running(load_cluster(d))) == {0, 1, 2}
        assert run("cluster", "stop", "--dir", str(d)).returncode == 0
        out = p.communicate(timeout=20)[0]
        assert "node 2 exited; restarting it" not in out and "leaving it stopped" in out, out
    finally:
        if p.poll() is None:
            run("cluster", "stop", "--dir", str(d))
            p.wait(20)
    assert not running(load_cluster(d))


def test_deleting_a_running_cluster_directory_stops_its_nodes(tmp_path: Path) -> None:
    """`rm -rf` of a detached cluster: each node sees its store gone and halts, rather than
    acknowledging writes that no restart could find (and running on, orphaned)."""
    d = tmp_path / "c"
    assert run("cluster", "paxos", "--dir", str(d), "--detach").returncode == 0
    pids = {i: pid_of(d, i) for i in range(3)}
    try:
        shutil.rmtree(d)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for p in pids.values()):
            time.sleep(0.1)
        assert not any(alive(p) for p in pids.values())
    finally:
        for p in pids.values():
            if alive(p):
                os.kill(p, signal.SIGKILL)
