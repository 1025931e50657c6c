"""Inductive strengthenings, one module per protocol, found through the protocol registry.

A strengthening is a list of ordinary Python predicates over the model's state; the prover
conjoins them with the model's ``@always`` properties and checks that the conjunction is
inductive. A protocol names its own (``Protocol.strengthening``, a dotted path or a function
``model -> predicates``), so nothing here knows a protocol by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.base import Model, ModelDefinitionError
from ..models.registry import Protocol, protocol_of, where_raised


def strengthening_for(model: Model[Any], protocol: Protocol | None = None) -> list[Callable[[Any], bool]] | None:
    """The declared strengthening of ``model``'s safety properties, or None if there is none.

    ``protocol`` defaults to the one the model's class belongs to (``registry.protocol_of``).
    """
    p = protocol if protocol is not None else protocol_of(model)
    return None if p is None or p.strengthening is None else _predicates(p, "strengthening", model)


def twin_domain_for(model: Model[Any], protocol: Protocol | None = None) -> list[Callable[[Any], bool]]:
    """Predicates on whose states ``conform`` may compare a twin whose forking run explodes.

    ``conform`` proves them inductive on their own before such a comparison counts (see
    ``checker.conformance.check_twins``); a protocol needs one only if it declares ``twin_domain``.
    """
    p = protocol if protocol is not None else protocol_of(model)
    return [] if p is None or p.twin_domain is None else _predicates(p, "twin_domain", model)


def _predicates(p: Protocol, part: str, model: Model[Any]) -> list[Callable[[Any], bool]]:
    """Call the protocol's ``part`` on the model; a failure is the protocol's definition error."""
    fn = p.load(part)
    try:
        return list(fn(model))
    except Exception as e:
        raise ModelDefinitionError(f"the {part} of protocol {p.name} raised {where_raised(e)}") from None


__all__ = ["strengthening_for", "twin_domain_for"]
