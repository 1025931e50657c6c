"""Node processes: one per node, started from the cluster directory; kill -9 and restart.

``python -m protoproof.impl.launcher DIR ID`` runs node ``ID`` of the cluster in ``DIR`` until
SIGTERM/SIGINT.  ``Cluster`` starts, kills (SIGKILL: no cleanup, like a power cut), pauses
(SIGSTOP, then SIGCONT: a process frozen while its clock runs on) and restarts such processes and always
stops what it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from .cluster import ClusterConfig, load_cluster
from .faults import FaultInjector, record_environment
from .host import Tracer, last_time
from .lifecycle import PID_FILE, node_pid, port_taken, write_pid
from .recovery import Amnesia, db_path
from .service import Service, run_forever, service_of
from .storage import committed_trace_time
from .validate import PAUSES_FILE


def make_service(cfg: ClusterConfig, node_id: int, **kw: Any) -> Service:
    """Node ``node_id``'s service, built by the ``ServiceSpec`` the cluster file names."""
    return service_of(cfg).node(cfg, node_id, **kw)


#: Exit status of a node that refuses to start (its store was lost or damaged) or that halted.
REFUSED, HALTED = 3, 4


async def serve(directory: str | Path, node_id: int, as_learner: bool = False) -> int:
    cfg = load_cluster(directory, as_node=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bug = os.environ.get("PROTOPROOF_SEND_BEFORE_PERSIST") == str(node_id)
    faults = FaultInjector()
    faults.reload(cfg.directory)  # clock skews are read at start
    try:
        svc = make_service(cfg, node_id, faults=faults, send_before_persist=bug, as_learner=as_learner)
    except Amnesia as e:
        print(f"protoproof: refusing to start: {e}", file=sys.stderr, flush=True)
        return REFUSED
    except ValueError as e:  # e.g. --as-learner for a service that cannot rejoin
        print(f"protoproof: error: {e}", file=sys.stderr, flush=True)
        return 2
    pidfile = cfg.node_dir(node_id) / PID_FILE
    try:
        await run_forever(svc, stop, on_ready=lambda: write_pid(pidfile))
    finally:
        with contextlib.suppress(OSError):
            pidfile.unlink()
    return 0 if svc.halted is None else HALTED


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    learner = "--as-learner" in args
    args = [a for a in args if a != "--as-learner"]
    if len(args) != 2:
        print("usage: python -m protoproof.impl.launcher CLUSTER_DIR NODE_ID [--as-learner]", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format=f"%(asctime)s node{args[1]} %(levelname)s %(message)s")
    return asyncio.run(serve(args[0], int(args[1]), learner))


class StartError(RuntimeError):
    """A node process that did not come up; the message names the node and its log's last line."""


def last_log_line(path: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        if lines:
            return lines[-1].strip()
    return "(its log is empty)"


def wait_listening(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return True
        time.sleep(0.05)
    return False


class Cluster:
    """The processes of a cluster directory; a context manager that stops them all."""

    def __init__(self, cfg: ClusterConfig, env: dict[str, str] | None = None) -> None:
        self.cfg = cfg
        self.env = {**os.environ, **(env or {})}
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.logs: dict[int, IO[bytes]] = {}
        self.kills = 0
        self.pauses = 0

    def start(self, i: int, wait: float = 10.0, as_learner: bool = False) -> None:
        """Start node ``i`` (unless this object already runs it) and, with ``wait``, until it listens.
        ``as_learner``: its store is set aside and it rejoins as a learner (``recovery``).

        Refuses (``StartError``) when another process already runs node ``i`` or holds its port,
        rather than starting a duplicate that dies with "address already in use"."""
        if i in self.procs and self.procs[i].poll() is None:
            return
        n = self.cfg.node(i)
        other = node_pid(self.cfg, i)
        if other is not None:
            raise StartError(f"node {i} is already running (pid {other})")
        if port_taken(n.host, n.port):
            raise StartError(f"node {i}'s address {n.address} is taken by another process")
        d = self.cfg.node_dir(i)
        d.mkdir(parents=True, exist_ok=True)
        logf = self.logs.get(i) or open(d / "node.log", "ab")  # noqa: SIM115 - closed in stop_all
        self.logs[i] = logf
        self.procs[i] = subprocess.Popen(
            [sys.executable, "-m", "protoproof.impl.launcher", *(["--as-learner"] if as_learner else []),
             str(self.cfg.directory), str(i)],  # the id last: ``lifecycle`` recognises its nodes so
            stdout=logf, stderr=logf, env=self.env, start_new_session=True)
        if wait:
            self.wait_ready(i, wait)

    def wait_ready(self, i: int, timeout: float) -> None:
        """Until node ``i``'s process has written its pid file (it listens); ``StartError`` if it died."""
        p = self.procs[i]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if p.poll() is not None:
                log = self.cfg.node_dir(i) / "node.log"
                raise StartError(f"node {i} exited with status {p.returncode} while starting: "
                                 f"{last_log_line(log)} (see {log})")
            if node_pid(self.cfg, i) == p.pid:
                return
            time.sleep(0.05)
        raise StartError(f"node {i} did not listen on {self.cfg.node(i).address} within {timeout}s; "
                         f"see {self.cfg.node_dir(i) / 'node.log'}")

    def start_all(self, wait: float = 10.0) -> None:
        for n in self.cfg.nodes:
            self.start(n.id, wait=0)
        if wait:
            for n in self.cfg.nodes:
                self.wait_ready(n.id, wait)

    def start_some(self, ids: list[int], wait: float = 10.0) -> dict[int, str]:
        """Start each of ``ids``; the ones that failed, with why (the others keep running)."""
        failed: dict[int, str] = {}
        for i in ids:
            try:
                self.start(i, wait=0)
            except StartError as e:
                failed[i] = str(e)
        for i in ids:
            if i not in failed:
                try:
                    self.wait_ready(i, wait)
                except StartError as e:
                    failed[i] = str(e)
        return failed

    def kill(self, i: int, record: bool = True) -> None:
        """SIGKILL: the process gets no chance to flush or close anything.

        With tracing on, the kill is recorded (``faults.ENVIRONMENT``): trace validation replays it
        as the model's crash.  ``record=False`` where the model has the death as another step
        (a master whose death the model has as its stepping down, the standby's election taking it).
        """
        p = self.procs.get(i)
        if p is not None and p.poll() is None:
            before = time.time_ns()
            p.kill()
            p.wait(5)
            self.kills += 1
            if self.cfg.trace and record:
                # Stamped when it died, as near as can be known: after its last step and no later
                # than the kill (a peer may notice the death before wait() returns).
                # Its last step may be committed to its store and not yet in its trace file.
                own = Tracer.file_of(self.cfg.trace_dir(), i)
                last = max(last_time(own)[0] if own.exists() else -1,
                           committed_trace_time(db_path(self.cfg, i)))
                record_environment(self.cfg.trace_dir(), "crash", i, t=max(before, last + 1))

    def pause(self, i: int) -> None:
        """SIGSTOP: the process is frozen mid-step (a GC pause, a swapped-out VM); its clock runs on."""
        p = self.procs.get(i)
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGSTOP)
            self.pauses += 1
            self._note(i, "pause")

    def resume(self, i: int) -> None:
        """SIGCONT: the process carries on from where it stopped, unaware of the gap."""
        p = self.procs.get(i)
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGCONT)
            self._note(i, "resume")

    def _note(self, i: int, kind: str) -> None:
        """Record a pause or resume in the trace directory (``validate`` reports them with the run)."""
        if self.cfg.trace:
            d = self.cfg.trace_dir()
            d.mkdir(parents=True, exist_ok=True)
            with open(d / PAUSES_FILE, "a") as f:
                f.write(json.dumps({"t": time.time_ns(), "node": i, "kind": kind}) + "\n")

    def restart(self, i: int) -> None:
        self.kill(i)
        self.start(i)

    def alive(self, i: int) -> bool:
        p = self.procs.get(i)
        return p is not None and p.poll() is None

    def stop_all(self, timeout: float = 5.0) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)  # a paused process would not see the SIGTERM
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in self.procs.values():
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for f in self.logs.values():
            f.close()
        self.logs.clear()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


if __name__ == "__main__":
    sys.exit(main())
