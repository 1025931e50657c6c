"""Checkpoints of a partitioned search, written between levels and read back by ``--resume``.

A checkpoint is one part file per worker (its visited codes with their parents, and its share of
the frontier) and a manifest naming them with the counts so far.  Every file is written to a
temporary name, flushed to disk and renamed, and the manifest last, so a process killed at any
moment leaves the previous checkpoint or the new one whole; part files of older checkpoints are
removed only after the new manifest is in place.  The manifest carries a fingerprint of the model,
its parameters and the checks, so a checkpoint is never continued by another check.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import pickle
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from ..models.base import Model

MANIFEST = "manifest.json"
VERSION = 1


def fingerprint(model: Model[Any], o: Any) -> str:
    """What a resumed search must share with the one that wrote the checkpoint."""
    cls = type(model)
    what = [
        VERSION, f"{cls.__module__}.{cls.__qualname__}", model.name, repr(getattr(model, "config", None)),
        model.state_type.size, [repr(a) for a in _actions(model)],
        o.properties, o.deadlock, o.symmetry, o.max_depth, o.on_codes,
    ]
    return hashlib.sha256(repr(what).encode()).hexdigest()[:32]


def _actions(model: Model[Any]) -> list[Any]:
    try:
        return model.actions()
    except Exception:  # actions that depend on the state: the class and parameters identify it
        return []


def new_tag(depth: int) -> str:
    return f"d{depth}-{uuid.uuid4().hex[:8]}"


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either the old file or the new one, whole."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _sync_dir(os.path.dirname(os.path.abspath(path)))


def _sync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _part(folder: str, tag: str, index: int) -> str:
    return os.path.join(folder, f"part-{tag}-{index}.pkl")


def save_part(folder: str, tag: str, index: int, visited: Iterable[tuple[Any, Any]], frontier: list[int]) -> None:
    """One worker's share: its visited (codes, parents) chunks and its frontier."""
    os.makedirs(folder, exist_ok=True)
    data = {"visited": list(visited), "frontier": frontier}
    atomic_write(_part(folder, tag, index), pickle.dumps(data, protocol=5))


def load_parts(folder: str, tag: str, parts: int) -> Iterator[tuple[list[int], list[int], list[int]]]:
    """Every part's (codes, parents, frontier), chunk by chunk (each worker keeps what it owns)."""
    for i in range(parts):
        with open(_part(folder, tag, i), "rb") as f:
            data = pickle.load(f)
        for codes, parents in data["visited"]:
            yield _ints(codes), _ints(parents), []
        yield [], [], list(data["frontier"])


def _ints(a: Any) -> list[int]:
    return a.tolist() if hasattr(a, "tolist") else list(a)


def write_manifest(folder: str, m: dict[str, Any]) -> None:
    """Make the checkpoint ``m['tag']`` the current one, then remove the older parts."""
    atomic_write(os.path.join(folder, MANIFEST), json.dumps(m, indent=1).encode())
    for path in glob.glob(os.path.join(folder, "part-*.pkl")):
        if not os.path.basename(path).startswith(f"part-{m['tag']}-"):
            os.remove(path)


def read_manifest(folder: str, want: str) -> dict[str, Any]:
    """The current checkpoint in ``folder``; a KeyError (a one-line usage error) if it is not there
    or was written by another model, other parameters or other checks."""
    path = os.path.join(folder, MANIFEST)
    if not os.path.isfile(path):
        raise KeyError(f"--resume {folder}: no checkpoint there (no {MANIFEST}); write one with --checkpoint {folder}")
    with open(path) as f:
        m: dict[str, Any] = json.load(f)
    if m.get("fingerprint") != want:
        raise KeyError(f"--resume {folder}: the checkpoint was written by another model, other parameters or other "
                       "checks; resume with the same command line that wrote it")
    m["examples"] = {k: v for k, v in m["examples"].items()}
    return m
