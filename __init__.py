"""protoproof: distributed protocols written once, model-checked, proved with z3 and run for real.

The public API is small: write a model with ``models.base`` and ``models.schema`` (or nodes
with ``models.actors``), check it with ``checker.explore.explore``.
"""

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

__all__ = ["Action", "Model", "Options", "Result", "always", "always_eventually", "eventually", "explore",
           "leads_to", "require", "sometimes", "terminal", "transition", "variant"]
__version__ = "0.1.0"
