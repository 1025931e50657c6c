"""The cluster file: who the nodes are, where they listen, the shared secret, the service.

``cluster.json`` in the cluster directory is the single source of truth for every process:
nodes accept frames only from ids listed here (nodes and the declared client id range), and
only over loopback.  It holds the HMAC secret, so it is written with mode 0600.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLUSTER_FILE = "cluster.json"
LOOPBACK = "127.0.0.1"
#: Client ids are ``CLIENT_BASE .. CLIENT_BASE + clients - 1``.
CLIENT_BASE = 1000


@dataclass(frozen=True)
class NodeAddr:
    id: int
    name: str
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ClusterConfig:
    """Everything a node or client needs to join a cluster."""

    protocol: str  # the protocol's name, for messages
    nodes: tuple[NodeAddr, ...]
    secret: bytes
    clients: int = 256
    fsync: bool = True
    trace: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    directory: Path = Path(".")
    #: Where the protocol's ``ServiceSpec`` lives (``"package.module:SERVICE"`` or ``"file.py:SERVICE"``):
    #: a node process rebuilds its service from it, so the runtime needs no protocol name.
    service: str = ""

    @property
    def node_ids(self) -> list[int]:
        return [n.id for n in self.nodes]

    @property
    def client_ids(self) -> range:
        return range(CLIENT_BASE, CLIENT_BASE + self.clients)

    @property
    def all_ids(self) -> list[int]:
        return [*self.node_ids, *self.client_ids]

    def node(self, i: int) -> NodeAddr:
        return self.nodes[i]

    def node_dir(self, i: int) -> Path:
        return self.directory / f"node{i}"

    def trace_dir(self) -> Path:
        return self.directory / "trace"

    def to_json(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "nodes": [{"id": n.id, "name": n.name, "host": n.host, "port": n.port} for n in self.nodes],
            "secret": self.secret.hex(),
            "clients": self.clients,
            "fsync": self.fsync,
            "trace": self.trace,
            "params": self.params,
            "service": self.service,
        }

    def save(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / CLUSTER_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.to_json(), f, indent=2)
        os.replace(tmp, path)
        return path


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports the kernel reports free on loopback (held open together, then freed)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def new_cluster(directory: str | Path, protocol: str, names: list[str], *, fsync: bool = True,
                trace: bool = False, params: dict[str, Any] | None = None, service: str = "") -> ClusterConfig:
    """A fresh configuration on loopback with free ports and a random secret (not yet saved)."""
    ports = free_ports(len(names))
    nodes = tuple(NodeAddr(k, name, LOOPBACK, p) for k, (name, p) in enumerate(zip(names, ports, strict=True)))
    return ClusterConfig(protocol, nodes, secrets.token_bytes(32), fsync=fsync, trace=trace,
                         params=dict(params or {}), directory=Path(directory).resolve(), service=service)


def load_cluster(directory: str | Path) -> ClusterConfig:
    """Read ``cluster.json``; ``ValueError`` in one line naming the path on any problem."""
    d = Path(directory).resolve()
    path = d / CLUSTER_FILE
    if not path.is_file():
        raise ValueError(f"{d} holds no cluster (no {CLUSTER_FILE}); start one with: "
                         f"protoproof cluster PROTOCOL --dir {directory}")
    try:
        j = json.loads(path.read_text())
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a cluster file (not text)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a cluster file (invalid JSON at line {e.lineno}: {e.msg})") from None
    if not isinstance(j, dict):
        raise ValueError(f"{path}: not a cluster file (a JSON object is expected)")
    try:
        nodes = tuple(NodeAddr(int(n["id"]), str(n["name"]), str(n["host"]), int(n["port"])) for n in j["nodes"])
        cfg = ClusterConfig(str(j["protocol"]), nodes, bytes.fromhex(j["secret"]), int(j.get("clients", 256)),
                            bool(j.get("fsync", True)), bool(j.get("trace", False)), dict(j.get("params", {})), d,
                            str(j.get("service", "")))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: not a cluster file ({e})") from None
    for k, n in enumerate(cfg.nodes):
        if n.id != k:
            raise ValueError(f"{path}: node {n.name} has id {n.id} but is listed at position {k}")
        if n.host != LOOPBACK:
            raise ValueError(f"{path}: node {n.name} listens on {n.host}; only {LOOPBACK} is supported")
    return cfg
