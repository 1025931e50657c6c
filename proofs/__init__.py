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
    if model.name == "replog":
        from .replog import strengthening as replog_strengthening

        return replog_strengthening(model)  # type: ignore[arg-type]
    return None


def twin_domain_for(model: Model[Any]) -> list[Callable[[Any], bool]]:
    """Predicates on whose states ``conform`` may compare a twin whose forking run explodes.

    ``conform`` proves them inductive on their own before such a comparison counts (see
    ``checker.conformance.check_twins``); no model needs one unless listed here.
    """
    if model.name == "paxos":
        from .paxos import twin_domain

        return twin_domain(model)  # type: ignore[arg-type]
    return []


__all__ = ["strengthening_for", "twin_domain_for"]
