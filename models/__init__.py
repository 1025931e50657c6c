"""The floor: what a protocol is written in, and the protocols.

``MODELS`` maps each command-line name to its model class; buggy variants hang off each
model (``Model.variants_of()``).
"""

from __future__ import annotations

from typing import Any

from .base import Model
from .consensus import Consensus
from .paxos import Paxos
from .replog import Replog
from .tcommit import TCommit
from .twophase import TwoPhase

MODELS: dict[str, type[Model[Any]]] = {
    TwoPhase.name: TwoPhase,
    TCommit.name: TCommit,
    Paxos.name: Paxos,
    Consensus.name: Consensus,
    Replog.name: Replog,
}

__all__ = ["MODELS"]
