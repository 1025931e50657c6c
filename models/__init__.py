"""The floor: what a protocol is written in, and the protocols.

Each protocol declares itself once, next to its model (a ``PROTOCOL`` constant); the built-in
ones are listed here and found through ``models.registry`` with entry points and registered
ones. ``MODELS`` is a derived view: command-line name -> model class of the built-ins.
"""

from __future__ import annotations

from typing import Any

from . import (
    consensus,
    handoff,
    hashring_model,
    lease,
    paxos,
    raft,
    replog,
    replog_nodes,
    tcommit,
    threephase,
    twophase,
)
from .base import Model
from .registry import Protocol

BUILTIN_PROTOCOLS: tuple[Protocol, ...] = (
    twophase.PROTOCOL,
    tcommit.PROTOCOL,
    paxos.PROTOCOL,
    consensus.PROTOCOL,
    lease.PROTOCOL,
    raft.PROTOCOL,
    replog.PROTOCOL,
    replog_nodes.PROTOCOL,
    threephase.PROTOCOL,
    hashring_model.PROTOCOL,
    handoff.PROTOCOL,
)

MODELS: dict[str, type[Model[Any]]] = {p.name: p.model_class() for p in BUILTIN_PROTOCOLS}

__all__ = ["BUILTIN_PROTOCOLS", "MODELS"]
