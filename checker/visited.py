"""The visited codes of one partition of a search, with each one's parent, in little memory.

A dict of Python ints costs about 100 bytes a state; here codes that fit an int64 are kept as
sorted numpy runs (code and parent: 16 bytes a state), merged like an LSM tree so that a level's
candidates are looked up with a few ``searchsorted``.  Wider codes (a hundred bits and more) stay in a
dict.  Past a memory budget the runs are written to disk and memory-mapped (wide codes go to
sqlite), so a large search slows down instead of dying: the counts are the same either way.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np

#: Codes below this fit an int64 run.
INT64_LIMIT = 1 << 63
#: Estimated bytes of one dict entry (int code -> int parent) of a wide code.
WIDE_ENTRY_BYTES = 160


class Visited:
    """What ``PartitionWorker`` needs of a visited set: filter candidates, add, look parents up."""

    spilled: bool = False

    # ``new(...)`` (the candidates not visited yet) and ``add(...)`` take (codes, parents) arrays
    # for ``Runs`` and a dict code -> parent for ``Wide``.

    def parent(self, code: int) -> int:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def items(self) -> Iterator[tuple[Any, Any]]:
        """(codes, parents) chunks, for a checkpoint."""
        raise NotImplementedError

    def close(self) -> None:
        """Remove the spill files."""


def visited_set(size: int, budget: int | None, spill_dir: str | None = None) -> Visited:
    """A visited set for codes below ``size``, spilling to disk past ``budget`` bytes (None: never)."""
    if size <= INT64_LIMIT:
        return Runs(budget, spill_dir)
    return Wide(budget, spill_dir)


class Runs(Visited):
    """Sorted int64 runs of codes with their parents; runs are merged when a newer one is as large."""

    def __init__(self, budget: int | None, spill_dir: str | None) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []
        self.n = 0
        self.budget, self.spill_dir = budget, spill_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._files = 0

    def __len__(self) -> int:
        return self.n

    def new(self, codes: np.ndarray, parents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The codes (and their parents) not visited yet."""
        if not len(codes) or not self.runs:
            return codes, parents
        seen = np.zeros(len(codes), bool)
        for rc, _rp in self.runs:
            i = np.searchsorted(rc, codes)
            i[i == len(rc)] = 0
            seen |= rc[i] == codes
        return codes[~seen], parents[~seen]

    def add(self, codes: np.ndarray, parents: np.ndarray) -> None:
        if not len(codes):
            return
        order = np.argsort(codes)
        run = (codes[order], parents[order])
        self.n += len(codes)
        while self.runs and len(self.runs[-1][0]) <= len(run[0]):
            oc, op = self.runs.pop()
            c, p = np.concatenate([oc, run[0]]), np.concatenate([op, run[1]])
            order = np.argsort(c, kind="stable")
            run = (c[order], p[order])
        self.runs.append(self._store(run))

    def _store(self, run: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The run, memory-mapped from disk once the budget is spent."""
        if self.budget is None or self.nbytes + run[0].nbytes + run[1].nbytes <= self.budget:
            return run
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="protoproof-visited-", dir=self.spill_dir)
        self.spilled = True
        out = []
        for a in run:
            self._files += 1
            name = os.path.join(self._tmp.name, f"run{self._files}.npy")
            np.save(name, a)
            out.append(np.load(name, mmap_mode="r"))
        return out[0], out[1]

    @property
    def nbytes(self) -> int:
        """Bytes of the runs held in memory (not those memory-mapped from disk)."""
        return sum(a.nbytes for run in self.runs for a in run if not isinstance(a, np.memmap))

    def parent(self, code: int) -> int:
        for rc, rp in self.runs:
            i = int(np.searchsorted(rc, code))
            if i < len(rc) and int(rc[i]) == code:
                return int(rp[i])
        raise KeyError(code)

    def items(self) -> Iterator[tuple[Any, Any]]:
        for rc, rp in self.runs:
            yield np.asarray(rc), np.asarray(rp)

    def close(self) -> None:
        self.runs = []
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class Wide(Visited):
    """Codes wider than int64: a dict, moved into an sqlite table on disk once the budget is spent."""

    def __init__(self, budget: int | None, spill_dir: str | None) -> None:
        self.mem: dict[int, int] = {}
        self.budget, self.spill_dir = budget, spill_dir
        self.db: sqlite3.Connection | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.on_disk = 0

    def __len__(self) -> int:
        return len(self.mem) + self.on_disk

    def new(self, cand: dict[int, int]) -> dict[int, int]:
        mem = self.mem
        out = {c: p for c, p in cand.items() if c not in mem}
        if self.db is None or not out:
            return out
        keys = list(out)
        for lo in range(0, len(keys), 500):
            part = [_blob(c) for c in keys[lo : lo + 500]]
            q = f"SELECT code FROM v WHERE code IN ({','.join('?' * len(part))})"
            for (b,) in self.db.execute(q, part):
                out.pop(_int(b), None)
        return out

    def add(self, new: dict[int, int]) -> None:
        self.mem.update(new)
        if self.budget is not None and len(self.mem) * WIDE_ENTRY_BYTES > self.budget:
            self._spill()

    def _spill(self) -> None:
        if self.db is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="protoproof-visited-", dir=self.spill_dir)
            self.db = sqlite3.connect(os.path.join(self._tmp.name, "visited.sqlite"))
            self.db.execute("PRAGMA journal_mode=OFF")
            self.db.execute("PRAGMA synchronous=OFF")
            self.db.execute("CREATE TABLE v (code BLOB PRIMARY KEY, parent BLOB) WITHOUT ROWID")
        self.db.executemany("INSERT INTO v VALUES (?, ?)", ((_blob(c), _blob(p)) for c, p in self.mem.items()))
        self.db.commit()
        self.on_disk += len(self.mem)
        self.mem = {}
        self.spilled = True

    def parent(self, code: int) -> int:
        if code in self.mem:
            return self.mem[code]
        if self.db is not None:
            row = self.db.execute("SELECT parent FROM v WHERE code = ?", (_blob(code),)).fetchone()
            if row is not None:
                return _int(row[0])
        raise KeyError(code)

    def items(self) -> Iterator[tuple[Any, Any]]:
        if self.db is not None:
            cur = self.db.execute("SELECT code, parent FROM v")
            while True:
                rows = cur.fetchmany(1 << 16)
                if not rows:
                    break
                yield [_int(c) for c, _p in rows], [_int(p) for _c, p in rows]
        yield list(self.mem), list(self.mem.values())

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _blob(c: int) -> bytes:
    """A code as bytes, equal exactly when the codes are (also the parent -1 of an initial state)."""
    return pickle.dumps(c, protocol=5) if c < 0 else c.to_bytes((c.bit_length() + 8) // 8 or 1, "big")


def _int(b: bytes) -> int:
    return pickle.loads(b) if b[:1] == b"\x80" else int.from_bytes(b, "big")
