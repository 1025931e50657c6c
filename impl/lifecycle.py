"""Which node processes of a cluster directory are running, and starting, stopping, restarting them.

Each node writes ``nodeI/node.pid`` once it listens; a pid counts as that node only while the
process lives and its command line is the launcher's for this directory and id (a recycled pid,
or a stale file after kill -9, does not).  A foreground supervisor writes ``supervisor.pid`` the
same way.  So ``cluster --detach`` run twice starts only what is missing, ``--stop`` reports what
it really stopped, and ``restart --node I`` finds the one process to replace.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from .cluster import ClusterConfig

PID_FILE = "node.pid"
SUPERVISOR_FILE = "supervisor.pid"
#: Beside a node's pid file: ``cluster stop --node I`` stopped it, so a foreground supervisor
#: leaves it stopped (rather than restarting it as a crash) until ``cluster restart``.
STOPPED_FILE = "stopped"
LAUNCHER = "protoproof.impl.launcher"


def write_pid(path: Path) -> None:
    """Record this process's pid (written atomically: a reader never sees half a file)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid()}))
    os.replace(tmp, path)


def _pid_in(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cmdline(pid: int) -> list[str] | None:
    """The process's argv, or None when it is gone (or not ours to read); [] where /proc is absent."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        if not Path("/proc/self").exists():  # no /proc: fall back to "the pid is alive"
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return None
            except PermissionError:
                return []
            return []
        return None
    except OSError:
        return None
    argv = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    return argv or None  # an empty command line: a zombie (dead, not yet reaped)


def _is_node(pid: int, cfg: ClusterConfig, i: int) -> bool:
    argv = _cmdline(pid)
    if argv is None:
        return False
    if not argv:
        return True  # cannot tell without /proc: trust a live pid
    if _zombie(pid):
        return False
    return LAUNCHER in argv and argv[-1] == str(i) and str(cfg.directory) in argv


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] == "Z"
    return False


def node_pid(cfg: ClusterConfig, i: int) -> int | None:
    """Node ``i``'s live process, or None."""
    pid = _pid_in(cfg.node_dir(i) / PID_FILE)
    return pid if pid is not None and _is_node(pid, cfg, i) else None


def running(cfg: ClusterConfig) -> dict[int, int]:
    """Node id -> pid of every node of ``cfg`` that is running."""
    out: dict[int, int] = {}
    for n in cfg.nodes:
        pid = node_pid(cfg, n.id)
        if pid is not None:
            out[n.id] = pid
    return out


def supervisor_pid(cfg: ClusterConfig) -> int | None:
    """The foreground ``cluster`` process supervising ``cfg``'s nodes, if one is running."""
    pid = _pid_in(cfg.directory / SUPERVISOR_FILE)
    if pid is None or pid == os.getpid():
        return None
    argv = _cmdline(pid)
    if argv is None or _zombie(pid):
        return None
    return pid if not argv or any("cluster" in a for a in argv) else None


def port_taken(host: str, port: int) -> bool:
    """Something accepts connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.3):
        return True
    return False


def refusing(cfg: ClusterConfig) -> list[str]:
    """The addresses of ``cfg``'s nodes that refuse connections (every one: the cluster is down)."""
    out = []
    for n in cfg.nodes:
        try:
            with socket.create_connection((n.host, n.port), timeout=1.0):
                pass
        except ConnectionRefusedError:
            out.append(n.address)
        except OSError:
            pass  # a timeout or another error: maybe alive but slow; not "refused"
    return out


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _cmdline(pid) is None or _zombie(pid):
            return True
        time.sleep(0.05)
    return False


def terminate(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM (after SIGCONT: a paused process would not see it); SIGKILL if it outlives ``timeout``."""
    for sig in (signal.SIGCONT, signal.SIGTERM):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    if not wait_gone(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_gone(pid, 2.0)


@dataclass(frozen=True)
class Stopped:
    supervisor: int | None
    nodes: dict[int, int]
    not_running: list[int]

    def summary(self) -> str:
        parts = []
        if self.supervisor is not None:
            parts.append(f"stopped the supervisor (pid {self.supervisor})")
        if self.nodes:
            parts.append(f"stopped {len(self.nodes)} node(s): "
                         + ", ".join(f"node {i} (pid {p})" for i, p in sorted(self.nodes.items())))
        if self.not_running:
            parts.append("not running: " + ", ".join(f"node {i}" for i in self.not_running))
        if self.supervisor is None and not self.nodes:
            return "nothing was running"
        return "; ".join(parts)


def hold(cfg: ClusterConfig, i: int) -> None:
    """Mark node ``i`` as stopped on purpose: a supervisor does not restart it (``held``)."""
    cfg.node_dir(i).mkdir(parents=True, exist_ok=True)
    (cfg.node_dir(i) / STOPPED_FILE).touch()


def release(cfg: ClusterConfig, i: int) -> None:
    """Undo ``hold``: a supervisor starts node ``i`` again once it sees it is not running."""
    with contextlib.suppress(FileNotFoundError):
        (cfg.node_dir(i) / STOPPED_FILE).unlink()


def held(cfg: ClusterConfig, i: int) -> bool:
    """Node ``i`` was stopped by ``cluster stop --node`` and not restarted since."""
    return (cfg.node_dir(i) / STOPPED_FILE).exists()


def stop(cfg: ClusterConfig, only: int | None = None) -> Stopped:
    """Stop the supervisor (unless one node is named) and the running nodes; say which were not running.
    A node named alone is marked first (``hold``), so a foreground supervisor does not restart it."""
    sup = None
    if only is None:
        sup = supervisor_pid(cfg)
    before = running(cfg)
    if sup is not None:
        terminate(sup, timeout=10.0)  # it stops its own nodes
    ids = [n.id for n in cfg.nodes] if only is None else [only]
    if only is not None:
        hold(cfg, only)  # before it dies: a supervisor that sees it gone sees the mark too
    stopped: dict[int, int] = {}
    for i in ids:
        pid = node_pid(cfg, i)
        if pid is not None:
            terminate(pid)
        if i in before:
            stopped[i] = before[i]
    return Stopped(sup, stopped, [i for i in ids if i not in before])
