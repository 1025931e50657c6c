"""protoproof: distributed protocols written once, model-checked, proved with z3 and run for real.

The public API is small: write a model with ``models.base`` and ``models.schema`` (or nodes
with ``models.actors``), check it with ``checker.explore.explore``.

The names below are imported on first use, not with the package: a node process
(``python -m protoproof.impl.launcher``) then loads the runtime without the checker and numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checker.explore import Options, Result, explore
    from .models.base import (
        Action,
        Model,
        always,
        always_eventually,
        eventually,
        leads_to,
        require,
        sometimes,
        terminal,
        transition,
        variant,
    )

#: Public name -> the module that defines it.
_LAZY = {
    **dict.fromkeys(("Options", "Result", "explore"), ".checker.explore"),
    **dict.fromkeys(("Action", "Model", "always", "always_eventually", "eventually", "leads_to", "require",
                     "sometimes", "terminal", "transition", "variant"), ".models.base"),
}


def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first asked for (PEP 562)."""
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value
    return value


__all__ = ["Action", "Model", "Options", "Result", "always", "always_eventually", "eventually", "explore",
           "leads_to", "require", "sometimes", "terminal", "transition", "variant"]
__version__ = "0.1.0"
