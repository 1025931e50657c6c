"""No amnesia: a node whose durable store was lost or damaged must not vote as if it had none.

A node that answered a quorum (promised, voted, acknowledged) and then restarts with a blank
store would answer again from nothing, and two quorums could then decide two values.  So:

- every store has an identity (``Store.incarnation``, in its meta table), and before the first
  durable write of a node a *marker* naming that identity is written in two places the
  database does not share: beside it (``nodeI/marker.json``) and in the cluster directory
  (``markers/nodeI.json``).  A node whose markers name a store it no longer has (the file was
  deleted, truncated to nothing, replaced, or its directory wiped) refuses to start;
- the store is checked before sqlite may touch it: its WAL's frames (a frame of the current
  WAL generation whose checksum fails means a damaged tail, which sqlite would silently
  drop with the commits in it) and ``PRAGMA quick_check``;
- the refusal is one line that names the safe recovery: rejoin as a *learner*
  (``open_store(..., as_learner=True)``): the damaged files are set aside, a fresh store is
  marked "rejoining" (durably, first), and the service catches up from enough peers before
  it votes again (``Service.learner``, ``Service.rejoined``).  A learner that crashes before
  it is done restarts as a learner.
"""

from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path

from .cluster import ClusterConfig
from .storage import Store, StoreDamaged

DB_NAME = "state.sqlite3"
MARKER = "marker.json"
#: The meta key of a store whose node is still rejoining as a learner.
REJOINING = "rejoining"


class Amnesia(RuntimeError):
    """A node that must not start as a voter: one line, with the recovery to run."""


def db_path(cfg: ClusterConfig, node_id: int) -> Path:
    return cfg.node_dir(node_id) / DB_NAME


def marker_files(cfg: ClusterConfig, node_id: int) -> list[Path]:
    """Where the node's "has state" marker is kept: beside its store and in the cluster directory."""
    return [cfg.node_dir(node_id) / MARKER, cfg.directory / "markers" / f"node{node_id}.json"]


def read_markers(cfg: ClusterConfig, node_id: int) -> set[str]:
    """The store identities the node's markers name (empty: it never wrote durable state)."""
    out = set()
    for p in marker_files(cfg, node_id):
        try:
            out.add(str(json.loads(p.read_text())["incarnation"]))
        except FileNotFoundError:
            continue
        except (ValueError, KeyError, TypeError, OSError):
            out.add("(unreadable marker)")  # a damaged marker still says the node had state
    return out


def write_markers(cfg: ClusterConfig, node_id: int, incarnation: str) -> None:
    """Durably record that node ``node_id`` has state in the store ``incarnation`` (both places)."""
    body = json.dumps({"node": node_id, "incarnation": incarnation}).encode()
    for p in marker_files(cfg, node_id):
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, p)
        dfd = os.open(p.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def wal_problem(db: Path) -> str | None:
    """Why the WAL beside ``db`` is damaged, or None.

    A frame of the WAL's current generation (its salts match the header's) that is whole but
    fails the cumulative checksum cannot come from a kill -9 (frames are written in order and
    a cut one is short): the bytes changed after they were written, and sqlite would drop that
    commit and every later one without a word.  Likewise a WAL cut inside a frame.  A WAL cut at
    a frame boundary is not noticed.
    """
    wal = db.with_name(db.name + "-wal")
    try:
        data = wal.read_bytes()
    except FileNotFoundError:
        return None
    if len(data) < 32:
        return None if not data else f"{wal} is cut inside its header"
    magic = struct.unpack(">I", data[:4])[0]
    if magic not in (0x377F0682, 0x377F0683):
        return f"{wal} has no WAL header"
    order = ">" if magic & 1 else "<"
    page = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    s0, s1 = _checksum(order, data[:24], 0, 0)
    if (s0, s1) != struct.unpack(">II", data[24:32]):
        return f"{wal} has a damaged header"
    frame = 24 + page
    if (len(data) - 32) % frame not in (0, 24):
        # a kill -9 leaves whole frames, or a frame's header without its page (written apart)
        return f"{wal} is cut inside a frame (at byte {len(data)})"
    off = 32
    while off + frame <= len(data):
        head = data[off:off + 24]
        if head[8:16] != salts:
            return None  # the rest is an older generation's frames, unused
        s0, s1 = _checksum(order, head[:8], s0, s1)
        s0, s1 = _checksum(order, data[off + 24:off + frame], s0, s1)
        if (s0, s1) != struct.unpack(">II", head[16:24]):
            return f"{wal} has a damaged frame at byte {off}"
        off += frame
    return None


def _checksum(order: str, b: bytes, s0: int, s1: int) -> tuple[int, int]:
    """sqlite's WAL checksum (pairs of 32-bit words in the WAL's byte order), continued."""
    w = struct.unpack(f"{order}{len(b) // 4}I", b)
    m = 0xFFFFFFFF
    for k in range(0, len(w), 2):
        s0 = (s0 + w[k] + s1) & m
        s1 = (s1 + w[k + 1] + s0) & m
    return s0, s1


def refuse(cfg: ClusterConfig, node_id: int, what: str) -> Amnesia:
    return Amnesia(f"node {node_id}: {what}; it may have voted or acknowledged before, so it must not vote "
                   f"from a lost memory; rejoin it as a learner that catches up first: "
                   f"protoproof cluster rejoin --dir {cfg.directory} --node {node_id}")


def open_store(cfg: ClusterConfig, node_id: int, *, as_learner: bool = False) -> tuple[Store, bool]:
    """The node's checked store and whether it is (still) a learner; ``Amnesia`` if it must not start.

    ``as_learner``: set the present files aside (``lost-<time>/`` beside them) and start from a
    fresh store marked as rejoining; the service clears the mark once it has caught up."""
    db = db_path(cfg, node_id)
    if as_learner:
        set_aside(db)
        store = Store(db, fsync=cfg.fsync)
        store.meta_put(REJOINING, "1")  # durable before the marker names this store
        write_markers(cfg, node_id, store.incarnation)
        return store, True
    problem = wal_problem(db)
    if problem is not None:
        raise refuse(cfg, node_id, problem)
    try:
        store = Store(db, fsync=cfg.fsync)
    except StoreDamaged as e:
        raise refuse(cfg, node_id, str(e)) from None
    marked = read_markers(cfg, node_id)
    if marked and store.found_incarnation not in marked:
        store.close()
        what = "is blank" if store.found_incarnation is None else "is another store than the one it wrote"
        raise refuse(cfg, node_id, f"its store {db} {what} but its marker says it had state")
    if not marked:
        inc = store.incarnation
        store.before_first_write = lambda: write_markers(cfg, node_id, inc)
    return store, store.meta_get(REJOINING) == "1"


def set_aside(db: Path) -> Path | None:
    """Move the store's files (db, WAL, shared memory) into ``lost-<time>/`` beside them."""
    files = [p for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")) if p.exists()]
    if not files:
        return None
    dest = db.parent / f"lost-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    dest.mkdir(parents=True, exist_ok=True)
    for p in files:
        os.replace(p, dest / p.name)
    return dest
