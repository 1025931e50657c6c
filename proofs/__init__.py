"""Inductive strengthenings, one module per protocol, looked up by model name.

A strengthening is a list of ordinary Python predicates over the model's state; the prover
conjoins them with the model's ``@always`` properties and checks that the conjunction is
inductive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.base import Model


def strengthening_for(model: Model[Any]) -> list[Callable[[Any], bool]] | None:
    """The known strengthening of ``model``'s safety properties, or None if there is none."""
    if model.name == "twophase":
        from .twophase import strengthening

        return strengthening(model)  # type: ignore[arg-type]
    if model.name == "paxos":
        from .paxos import strengthening as paxos_strengthening

        return paxos_strengthening(model)  # type: ignore[arg-type]
    return None


__all__ = ["strengthening_for"]
