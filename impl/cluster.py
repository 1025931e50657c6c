"""The cluster file: who the nodes are, where they listen, the default client keys, the service.

``cluster.json`` in the cluster directory is the single source of truth for every process:
nodes accept frames only from ids listed here (nodes and the declared client id range), and
only over loopback.  It holds the key of the default client *pool* (``Keys``: each pool id's
key derives from it), which signs client requests and nothing else; the master secret the node
keys derive from is in ``nodes.key`` beside it, which only node processes read
(``load_cluster(..., as_node=True)``).  A client issued by ``cluster add-client`` gets an id
outside the pool and a key bound to it in ``clients/NAME.json``, which no one else holds
(``load_credentials``).  All are written with mode 0600.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shlex
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .codec import POOL_LABEL, Keys, derive

CLUSTER_FILE = "cluster.json"
#: The master secret (hex), read by node processes only.
KEYS_FILE = "nodes.key"
LOOPBACK = "127.0.0.1"
#: The default pool's client ids are ``CLIENT_BASE .. CLIENT_BASE + clients - 1``; the ids issued
#: one by one (``cluster add-client``) are the ``MAX_NAMED`` after them.
CLIENT_BASE = 1000
MAX_NAMED = 1024
#: Issued client ids by name (no keys: those are derived from the master when issued).
CLIENTS_FILE = "clients.json"


def sh(x: object) -> str:
    """``x`` as one shell word, for the commands a hint tells the user to paste."""
    return shlex.quote(str(x))


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
    #: The master secret node keys derive from; empty in a client's view of the cluster.
    secret: bytes
    clients: int = 256
    fsync: bool = True
    trace: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    directory: Path = Path(".")
    #: Where the protocol's ``ServiceSpec`` lives (``"package.module:SERVICE"`` or ``"file.py:SERVICE"``):
    #: a node process rebuilds its service from it, so the runtime needs no protocol name.
    service: str = ""
    #: The key of the default client pool (derived from ``secret`` when that is known).
    client_key: bytes = b""
    #: A client's own id and key (``load_credentials``), or None.
    credentials: tuple[int, bytes] | None = None

    @property
    def keys(self) -> Keys:
        """The keys this configuration holds (a client's view: the pool's key, its own if any)."""
        pool = self.client_key or derive(self.secret, POOL_LABEL)
        return Keys(self.node_ids, pool, self.secret or None, pool_ids=self.pool_ids, own=self.credentials)

    @property
    def node_ids(self) -> list[int]:
        return [n.id for n in self.nodes]

    @property
    def client_ids(self) -> range:
        """Every id a client may have: the pool, then the ids issued one by one."""
        return range(CLIENT_BASE, CLIENT_BASE + self.clients + MAX_NAMED)

    @property
    def pool_ids(self) -> range:
        """The default pool: any holder of ``cluster.json`` can sign as each of these."""
        return range(CLIENT_BASE, CLIENT_BASE + self.clients)

    @property
    def named_ids(self) -> range:
        """The ids ``cluster add-client`` issues, each with a key only its credentials file holds."""
        return range(CLIENT_BASE + self.clients, CLIENT_BASE + self.clients + MAX_NAMED)

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
            "client_pool_key": self.keys.pool.hex(),  # type: ignore[union-attr]
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
        if self.secret:
            keys = self.directory / KEYS_FILE
            ktmp = keys.with_suffix(".tmp")
            fd = os.open(ktmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(self.secret.hex() + "\n")
            os.replace(ktmp, keys)
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


class ClientKeyOutdated(ValueError):
    """A cluster file from before client keys were bound to ids (one line, with the fix)."""


def load_cluster(directory: str | Path, as_node: bool = False) -> ClusterConfig:
    """Read ``cluster.json`` (and, ``as_node``, the master secret in ``nodes.key``); ``ValueError``
    in one line naming the path on any problem.  A client's view holds the client key only, also
    from a file written before the keys were split (which holds the master as ``secret``; saving
    the configuration again moves it to ``nodes.key``)."""
    d = Path(directory).resolve()
    path = d / CLUSTER_FILE
    if not path.is_file():
        raise ValueError(f"{d} holds no cluster (no {CLUSTER_FILE}); start one with: "
                         f"protoproof cluster PROTOCOL --dir {sh(directory)}")
    try:
        j = json.loads(path.read_text())
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a cluster file (not text)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a cluster file (invalid JSON at line {e.lineno}: {e.msg})") from None
    if not isinstance(j, dict):
        raise ValueError(f"{path}: not a cluster file (a JSON object is expected)")
    master = _master(d) if as_node and "secret" not in j else b""
    try:
        nodes = tuple(NodeAddr(int(n["id"]), str(n["name"]), str(n["host"]), int(n["port"])) for n in j["nodes"])
        old = bytes.fromhex(j["secret"]) if "secret" in j else b""
        secret = (old or master) if as_node else b""
        if "client_pool_key" in j:
            client = bytes.fromhex(j["client_pool_key"])
        elif old or secret:
            client = derive(old or secret, POOL_LABEL)
        elif "client_key" in j:
            raise ClientKeyOutdated(
                f"{path} holds one client key shared by every client, from before client keys were bound "
                f"to ids, and the nodes refuse it; rewrite it with: protoproof cluster add-client NAME --dir {sh(d)}")
        else:
            client = b""
        if len(client) < 16:
            raise ValueError("no client key of at least 16 bytes (client_pool_key)")
        cfg = ClusterConfig(str(j["protocol"]), nodes, secret, int(j.get("clients", 256)),
                            bool(j.get("fsync", True)), bool(j.get("trace", False)), dict(j.get("params", {})), d,
                            str(j.get("service", "")), client)
    except ClientKeyOutdated:
        raise
    except KeyError as e:  # str(KeyError) is the bare name: "('nodes')" told a reader nothing
        raise ValueError(f"{path}: not a cluster file (no {e} field)") from None
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: not a cluster file ({e})") from None
    for k, n in enumerate(cfg.nodes):
        if n.id != k:
            raise ValueError(f"{path}: node {n.name} has id {n.id} but is listed at position {k}")
        if n.host != LOOPBACK:
            raise ValueError(f"{path}: node {n.name} listens on {n.host}; only {LOOPBACK} is supported")
    return cfg


def _master(d: Path) -> bytes:
    kpath = d / KEYS_FILE
    try:
        secret = bytes.fromhex(kpath.read_text().strip())
    except FileNotFoundError:
        raise ValueError(f"a node needs the cluster's master secret, and {kpath} is missing") from None
    except ValueError:
        raise ValueError(f"{kpath} does not hold a hex secret") from None
    if len(secret) < 16:
        raise ValueError(f"{kpath} holds a secret shorter than 16 bytes")
    return secret


# ----- clients issued one by one ----------------------------------------------------------------


def add_client(cfg: ClusterConfig, name: str) -> tuple[int, Path]:
    """Issue client ``name`` (again: the same id) an id outside the pool and the key bound to it,
    written to ``DIR/clients/NAME.json`` (mode 0600); ``cfg`` must hold the master secret.  The
    cluster file is saved again (which also moves one from before per-client keys to the pool)."""
    if not cfg.secret:
        raise ValueError(f"issuing a client key needs the master secret in {cfg.directory / KEYS_FILE}")
    if not name or len(name) > 64 or not all(ch.isalnum() or ch in "-_." for ch in name) or name[0] == ".":
        raise ValueError(f"client name {name!r}: use 1-64 letters, digits, '-', '_' or '.'")
    reg_path = cfg.directory / CLIENTS_FILE
    try:
        reg = json.loads(reg_path.read_text()) if reg_path.exists() else {}
        if not isinstance(reg, dict) or not all(isinstance(v, int) for v in reg.values()):
            raise ValueError("not an object of ids")
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{reg_path}: not a client registry ({e})") from None
    if name in reg:
        cid = reg[name]
    else:
        free = [i for i in cfg.named_ids if i not in set(reg.values())]
        if not free:
            raise ValueError(f"all {MAX_NAMED} client ids of the cluster in {cfg.directory} are issued")
        cid = reg[name] = free[0]
        _write_private(reg_path, json.dumps(reg, indent=2, sort_keys=True))
    key = cfg.keys.client_key(cid)
    assert key is not None
    out = cfg.directory / "clients" / f"{name}.json"
    out.parent.mkdir(mode=0o700, exist_ok=True)
    _write_private(out, json.dumps({"name": name, "id": cid, "key": key.hex()}, indent=2))
    cfg.save()
    return cid, out


def load_credentials(cfg: ClusterConfig, path: str | Path) -> ClusterConfig:
    """``cfg`` acting as the client whose credentials file is ``path`` (``add_client``); a
    one-line ``ValueError`` naming the file on any problem."""
    p = Path(path)
    try:
        j = json.loads(p.read_text())
        cid, key = int(j["id"]), bytes.fromhex(j["key"])
    except FileNotFoundError:
        raise ValueError(f"{p}: no such credentials file (issue one with: protoproof cluster add-client "
                         f"NAME --dir {sh(cfg.directory)})") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, OSError) as e:
        raise ValueError(f"{p}: not a client credentials file ({type(e).__name__}: {e})") from None
    if cid not in cfg.client_ids or len(key) < 16:
        raise ValueError(f"{p}: client id {cid} or its key does not belong to the cluster in {cfg.directory}")
    return dataclasses.replace(cfg, credentials=(cid, key))


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)
