"""No amnesia: a node whose durable store was lost or damaged must not vote as if it had none.

A node that answered a quorum (promised, voted, acknowledged) and then restarts with a blank
store would answer again from nothing, and two quorums could then decide two values.  So:

- every store has an identity (``Store.incarnation``, in its meta table), and before the first
  durable write of a node a *marker* naming that identity is written in two places the
  database does not share: beside it (``nodeI/marker.json``) and in the cluster directory
  (``markers/nodeI.json``).  A node whose markers name a store it no longer has (the file was
  deleted, truncated to nothing, replaced, or its directory wiped) refuses to start;
- the store is checked at start: the WAL's shape before sqlite opens it (``wal_scan``), then
  ``PRAGMA quick_check``, then whether sqlite kept every committed transaction of the WAL
  (``wal_dropped``: it silently drops a damaged tail with the commits in it), then the
  markers.  A finding is kept (``refused.txt``), since closing sqlite erases a WAL's damage;
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

from .cluster import ClusterConfig, sh
from .storage import Store, StoreDamaged

DB_NAME = "state.sqlite3"
MARKER = "marker.json"
#: The meta key of a store whose node is still rejoining as a learner.
REJOINING = "rejoining"
#: Beside the store: why the node refused to start (it refuses again until it rejoins).
REFUSED_FILE = "refused.txt"


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
    body = json.dumps({"node": node_id, "incarnation": incarnation})
    for p in marker_files(cfg, node_id):
        _write_durably(p, body)


def wal_scan(db: Path) -> tuple[str | None, list[int]]:
    """Read the WAL beside ``db`` before sqlite does: why it is damaged (or None), and the
    numbers (1-based) of the commit frames of its current generation.

    Only the frame headers are read (their salts and commit marks).  A kill -9 leaves whole
    frames, or the header of the last one without its page (sqlite writes them apart), so a
    WAL cut anywhere else was cut afterwards.  Whether sqlite accepts those commits is asked
    of sqlite itself (``wal_dropped``), which checks every frame's checksum when it opens.
    """
    wal = db.with_name(db.name + "-wal")
    try:
        data = wal.read_bytes()
    except FileNotFoundError:
        return None, []
    if len(data) < 32:
        return (None if not data else f"{wal} is cut inside its header"), []
    magic = struct.unpack(">I", data[:4])[0]
    if magic not in (0x377F0682, 0x377F0683):
        return f"{wal} has no WAL header", []
    order = ">" if magic & 1 else "<"
    page = struct.unpack(">I", data[8:12])[0]
    frame = 24 + page
    if page < 512 or (len(data) - 32) % frame not in (0, 24):
        return f"{wal} is cut inside a frame (at byte {len(data)})", []
    salts = data[16:24]
    commits = []
    k, off = 0, 32
    while off + frame <= len(data) and data[off + 8:off + 16] == salts:
        k += 1
        if struct.unpack_from(f"{order}I", data, off + 4)[0] != 0:
            commits.append(k)
        off += frame
    return None, commits


def wal_dropped(db: Path, commits: list[int], store: Store) -> str | None:
    """After sqlite opened ``db`` and read it (``quick_check``): a commit frame it dropped, or None.

    sqlite rebuilds the WAL index (``-shm``) from the WAL's frames when the first connection
    opens it, stopping at the first frame whose checksum fails; ``mxFrame`` (offset 16 of the
    index header) is the last frame it kept.  A commit frame after it is a committed
    transaction (a promise, a vote) that sqlite would forget without a word.
    """
    if not commits:
        return None
    try:
        shm = store.wal_index(32)  # never read by opening and closing the file: ``Store.wal_index``
        kept = struct.unpack_from("=I", shm, 16)[0]
    except (OSError, struct.error):
        return f"{db}: cannot read its WAL index"
    lost = [c for c in commits if c > kept]
    if lost:
        return (f"{db.name}-wal has {len(lost)} committed transaction(s) that sqlite drops "
                f"(a damaged frame at or before frame {lost[0]})")
    return None


def refuse(cfg: ClusterConfig, node_id: int, what: str) -> Amnesia:
    return Amnesia(f"node {node_id}: {what}; it may have voted or acknowledged before, so it must not vote "
                   f"from a lost memory; rejoin it as a learner that catches up first: "
                   f"protoproof cluster rejoin --dir {sh(cfg.directory)} --node {node_id}")


def open_store(cfg: ClusterConfig, node_id: int, *, as_learner: bool = False) -> tuple[Store, bool]:
    """The node's checked store and whether it is (still) a learner; ``Amnesia`` if it must not start.

    ``as_learner``: set the present files aside (``lost-<time>/`` beside them) and start from a
    fresh store marked as rejoining; the service clears the mark once it has caught up."""
    db = db_path(cfg, node_id)
    if as_learner:
        set_aside(db)
        (cfg.node_dir(node_id) / REFUSED_FILE).unlink(missing_ok=True)
        fresh = Store(db, fsync=cfg.fsync)
        fresh.meta_put(REJOINING, "1")  # durable before the marker names this store
        fresh.claim()
        write_markers(cfg, node_id, fresh.incarnation)
        return fresh, True
    refused = cfg.node_dir(node_id) / REFUSED_FILE
    if refused.exists():  # an earlier start found this; checking again could find nothing
        raise refuse(cfg, node_id, refused.read_text(errors="replace").strip() + " (found at an earlier start)")
    problem, commits = wal_scan(db)
    store: Store | None = None
    if problem is None:
        try:
            store = Store(db, fsync=cfg.fsync)
        except StoreDamaged as e:
            problem = str(e)
    if store is not None and problem is None:
        problem = wal_dropped(db, commits, store)
        marked = read_markers(cfg, node_id)
        if problem is None and marked and store.found_incarnation not in marked:
            what = "is blank" if store.found_incarnation is None else "is another store than the one it wrote"
            problem = f"its store {db} {what} but its marker says it had state"
        if problem is None:
            if not marked:
                inc = store.incarnation
                store.before_first_write = lambda: write_markers(cfg, node_id, inc)
            return store, store.meta_get(REJOINING) == "1"
    # Remember the finding durably first: closing sqlite checkpoints what it kept and deletes the
    # WAL, after which the damage could no longer be seen.
    _write_durably(refused, problem or "")
    if store is not None:
        store.close()
    raise refuse(cfg, node_id, problem or "")


def store_intact(cfg: ClusterConfig, node_id: int) -> bool:
    """Whether node ``node_id`` (not running) would start from its store as it is: the check of
    ``open_store`` at start (its files, then the store against its markers).  A node that never
    wrote state and has no store is intact too.  A missing store is not created here (it would be
    blank, and refused if the markers say the node had state)."""
    if (cfg.node_dir(node_id) / REFUSED_FILE).exists():
        return False  # an earlier start found damage: refused again (``open_store``)
    if not db_path(cfg, node_id).exists():
        return not read_markers(cfg, node_id)
    try:
        store, _learner = open_store(cfg, node_id)
    except Amnesia:
        return False
    store.close()
    return True


def _write_durably(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


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
