"""Durable node state in sqlite3: what ``Persist`` writes and what a restart reads back.

WAL with ``synchronous=FULL`` makes every commit durable (fsync) before ``put`` returns, and
the host only sends the messages that follow a ``Persist`` after ``put`` returned: that is the
whole contract the model's crash/recover actions assume.  ``fsync=False`` (``synchronous=OFF``)
exists only for the benchmark's "without fsync" column.

Opening a store runs ``PRAGMA quick_check`` (``StoreDamaged``) and writes nothing; the store's
identity (``incarnation``) is written before its first durable write, so that a node can tell
its own store from a blank or replaced one (``recovery``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


class StoreDamaged(RuntimeError):
    """The sqlite file cannot be trusted (not a database, or ``PRAGMA quick_check`` failed)."""


class Store:
    """A per-node sqlite file with three tables: durable states, a decided log, metadata."""

    def __init__(self, path: str | Path, fsync: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        try:
            self._open(fsync)
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise StoreDamaged(f"{self.path} is damaged ({e})") from None
        #: The store's identity, ``None`` if the file had none (blank or from before identities):
        #: a node compares it with its marker to notice a lost or replaced file (``recovery``).
        self.found_incarnation = self.meta_get("incarnation")
        self.incarnation = self.found_incarnation or uuid.uuid4().hex
        #: Called once, before the first durable write of this process (``recovery`` writes the
        #: node's "has state" marker there, so a store lost after that write is noticed).
        self.before_first_write: Callable[[], None] | None = None
        self._claimed = False
        self.writes = 0
        #: The WAL index file, once read (``wal_index``): open until the connection is closed.
        self._shm_fd: int | None = None

    def claim(self) -> None:
        """Before the first durable write: the store's identity is written (opening a store
        writes nothing, so checking a damaged one cannot overwrite the damage), then
        ``before_first_write`` runs."""
        if self._claimed:
            return
        self._claimed = True
        if self.found_incarnation is None:
            self.meta_put("incarnation", self.incarnation)
            self.found_incarnation = self.incarnation
        f, self.before_first_write = self.before_first_write, None
        if f is not None:
            f()

    def _open(self, fsync: bool) -> None:
        row = self.db.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {row[0] if row else 'no answer'}")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'OFF'}")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS durable (inst INTEGER PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS log (slot INTEGER PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS traced (inst INTEGER PRIMARY KEY, rec TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS entries (inst INTEGER NOT NULL, field TEXT NOT NULL, idx INTEGER NOT NULL,
                                                value TEXT NOT NULL, PRIMARY KEY (inst, field, idx));
            CREATE TABLE IF NOT EXISTS fronts (inst INTEGER NOT NULL, field TEXT NOT NULL, base INTEGER NOT NULL,
                                               value TEXT NOT NULL, PRIMARY KEY (inst, field));
            """
        )

    def put(self, inst: int, value: Any, trace: dict[str, Any] | None = None,
            logs: dict[str, tuple[Any, ...]] | None = None) -> None:
        """Durably record the JSON ``value`` as instance ``inst``'s disk (committed on return).

        ``trace``: the trace record of the step that persists, committed in the same
        transaction, so a kill -9 cannot keep the one without the other (see ``last_traced``).
        ``logs``: per log field, ``(keep, added)``: the stored entries from ``keep`` on are
        replaced by ``added`` (an append, a truncation, or both), in the same transaction;
        ``(keep, added, base, front)``: besides, the log is compacted up to ``base`` (its stored
        entries before it are deleted, ``front`` is what stands for them: ``front``).
        """
        if trace is None and not logs:
            self.claim()
            self.db.execute("INSERT OR REPLACE INTO durable VALUES (?, ?)", (inst, json.dumps(value)))
            self.writes += 1
        else:
            self.put_batch([(inst, value, logs)], [trace] if trace is not None else [])

    def put_batch(self, items: list[tuple[int, Any, dict[str, tuple[Any, ...]] | None]],
                  traces: list[dict[str, Any]]) -> None:
        """Several instances' disks (with their log changes) in one transaction: one fsync.

        ``traces``: the trace records of the steps written here, in order, kept together so a
        kill -9 right after the commit loses none of them (``last_traced``).
        """
        self.write_batch(self.batch(items, traces))

    @staticmethod
    def batch(items: list[tuple[int, Any, dict[str, tuple[Any, ...]] | None]],
              traces: list[dict[str, Any]]) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """``put_batch``'s statements with their rows, serialised: the Python half of the work,
        so that a thread running ``write_batch`` holds the GIL little (sqlite releases it)."""
        out: list[tuple[str, list[tuple[Any, ...]]]] = []
        for inst, value, logs in items:
            out.append(("INSERT OR REPLACE INTO durable VALUES (?, ?)", [(inst, json.dumps(value))]))
            for name, change in (logs or {}).items():
                keep, added = change[0], change[1]
                if len(change) == 4:
                    out.append(("DELETE FROM entries WHERE inst = ? AND field = ? AND idx < ?",
                                [(inst, name, change[2])]))
                    out.append(("INSERT OR REPLACE INTO fronts VALUES (?, ?, ?, ?)",
                                [(inst, name, change[2], json.dumps(change[3]))]))
                out.append(("DELETE FROM entries WHERE inst = ? AND field = ? AND idx >= ?", [(inst, name, keep)]))
                out.append(("INSERT INTO entries VALUES (?, ?, ?, ?)",
                            [(inst, name, keep + k, json.dumps(x)) for k, x in enumerate(added)]))
        if traces:
            out.append(("DELETE FROM traced", [()]))
            out.append(("INSERT INTO traced VALUES (?, ?)", [(0, json.dumps(traces))]))
        return out

    @staticmethod
    def log_statements(items: list[tuple[int, str]]) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """Decided slots, as statements for ``write_batch`` (or a host's group commit, ``Host.stage``)."""
        return [("INSERT OR REPLACE INTO log VALUES (?, ?)", list(items))]

    @staticmethod
    def meta_statements(meta: dict[str, str]) -> list[tuple[str, list[tuple[Any, ...]]]]:
        return [("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))]

    @staticmethod
    def compact_statements(base: int, meta: dict[str, str]) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """``compact_below``'s statements: the meta (the snapshot), then every row below ``base`` gone."""
        return Store.meta_statements(meta) + [(f"DELETE FROM {t} WHERE {c} < ?", [(base,)])
                                              for t, c in (("log", "slot"), ("durable", "inst"),
                                                           ("entries", "inst"), ("fronts", "inst"))]

    def write_batch(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        """Run ``batch``'s statements in one transaction (one fsync)."""
        self.claim()
        with self._transaction():
            for sql, rows in statements:
                self.db.executemany(sql, rows)
        self.writes += 1

    def entries(self, inst: int, name: str) -> list[Any]:
        """The stored entries of instance ``inst``'s log field ``name``, in order (from its base,
        if it is compacted: ``front``)."""
        rows = self.db.execute("SELECT value FROM entries WHERE inst = ? AND field = ? ORDER BY idx", (inst, name))
        return [json.loads(v) for (v,) in rows]

    def front(self, inst: int, name: str) -> tuple[int, Any] | None:
        """``(base, front)`` of a compacted log field: how many leading entries it has compacted
        and what stands for them; None if it never was."""
        row = self.db.execute("SELECT base, value FROM fronts WHERE inst = ? AND field = ?", (inst, name)).fetchone()
        return None if row is None else (int(row[0]), json.loads(row[1]))

    def count_entries(self) -> int:
        """How many log entries are stored (every instance and field)."""
        return int(self.db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One commit (one fsync) for several statements, or none of them."""
        self.db.execute("BEGIN")
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def last_traced(self) -> list[dict[str, Any]]:
        """The trace records committed with the last write that had any, in order (empty if none)."""
        recs = _traced(self.db.execute("SELECT rec FROM traced").fetchall())
        return sorted(recs, key=lambda r: (r["t"], r["seq"]))

    def put_many(self, items: list[tuple[int, Any]]) -> None:
        """Several instances in one transaction (one fsync)."""
        self.claim()
        with self._transaction():
            self.db.executemany("INSERT OR REPLACE INTO durable VALUES (?, ?)",
                                [(i, json.dumps(v)) for i, v in items])
        self.writes += 1

    def load(self) -> dict[int, Any]:
        return {i: json.loads(v) for i, v in self.db.execute("SELECT inst, value FROM durable")}

    def log_put(self, slot: int, value: str) -> None:
        self.claim()
        self.db.execute("INSERT OR REPLACE INTO log VALUES (?, ?)", (slot, value))

    def log_put_many(self, items: list[tuple[int, str]]) -> None:
        """Several decided slots in one transaction (one fsync): a catch-up batch."""
        self.claim()
        with self._transaction():
            self.db.executemany("INSERT OR REPLACE INTO log VALUES (?, ?)", items)

    def compact_below(self, base: int, meta: dict[str, str]) -> None:
        """Forget instances and decided slots below ``base`` (what stands for them goes in
        ``meta``, in the same transaction: a snapshot)."""
        self.write_batch(self.compact_statements(base, meta))

    def log_load(self) -> dict[int, str]:
        return dict(self.db.execute("SELECT slot, value FROM log"))

    def meta_get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def meta_put(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def wal_index(self, n: int) -> bytes:
        """The first ``n`` bytes of the WAL index (``-shm``) of this open store.

        Read through a file descriptor that stays open until the store is closed: closing any
        descriptor of the ``-shm`` file would release every POSIX lock this process holds on it,
        sqlite's included (its "some connection is using the index" lock).  Another process
        opening the database (a reader) would then take itself for the only one, truncate the
        index, and this process would die of SIGBUS at its next access to the mapped index."""
        if self._shm_fd is None:
            self._shm_fd = os.open(self.path.with_name(self.path.name + "-shm"), os.O_RDONLY)
        return os.pread(self._shm_fd, n, 0)

    def close(self) -> None:
        self.db.close()
        if self._shm_fd is not None:  # after sqlite's own descriptors: releasing locks is harmless now
            os.close(self._shm_fd)
            self._shm_fd = None


def committed_trace_time(path: str | Path) -> int:
    """The latest time of a trace record committed in the store at ``path`` (-1: none, or no store
    readable), read-only.  A kill -9 between a step's commit and its trace line leaves the record
    only here (the node appends it to its trace file at its next start, ``Tracer.restore``)."""
    if not Path(path).exists():
        return -1
    try:
        db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=2)
        try:
            rows = db.execute("SELECT rec FROM traced").fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return -1
    return max((int(r["t"]) for r in _traced(rows)), default=-1)


def _traced(rows: list[tuple[str]]) -> list[dict[str, Any]]:
    """The records of the ``traced`` table's rows: a list is a batch; a record, an older file's."""
    recs: list[dict[str, Any]] = []
    for (r,) in rows:
        j = json.loads(r)
        recs.extend(j if isinstance(j, list) else [j])
    return recs
