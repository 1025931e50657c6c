"""What the explicit checker raises when the model, not the search, is at fault.

Every piece of model code the search runs (actions, properties, step properties, refinement
mappings, the abstract model) raises through ``model_error`` so the report names what raised,
the state and the action, with the model's traceback: exit 4, never a usage error.
"""

from __future__ import annotations

import traceback
from typing import Any

from ..models.base import Action, Disabled, Model


class ModelError(Exception):
    """The model raised (or produced an ill-typed state) while being checked."""

    def __init__(self, message: str, state: Any, action: Action | None, tb: str, in_state: bool = False) -> None:
        super().__init__(message)
        self.message, self.state, self.action, self.traceback = message, state, action, tb
        #: ``state`` is where the failing code ran (a property), reached by ``action`` if known;
        #: otherwise it is the state ``action`` (a step) started from.
        self.in_state = in_state

    def __reduce__(self) -> tuple[Any, ...]:  # raised in a worker process, re-raised by the coordinator
        return type(self), (self.message, self.state, self.action, self.traceback, self.in_state)

    def __str__(self) -> str:
        if self.in_state:
            by = f"\n  reached by action {self.action!r}" if self.action is not None else ""
            return f"{self.message}\n  in state {self.state!r}{by}"
        where = f"action {self.action!r}" if self.action is not None else "an initial state"
        state = f"\n  from state {self.state!r}" if self.state is not None else ""
        return f"{self.message}\n  in {where}{state}"


class ConstraintError(Exception):
    """The user's ``--constraint`` expression raised on a state (``checker/constraint.py``)."""


class ConstraintFailed(ModelError):
    """A ``ConstraintError`` met while stepping: the user's expression is at fault, not the model."""


class Nondeterminism(Exception):
    """Re-running the model did not reproduce a transition it produced before."""


def model_error(what: str, e: Exception, s: Any, a: Action | None, in_state: bool = False) -> ModelError:
    """``e``, raised by the model code ``what`` (e.g. ``property safe``) in ``s`` (by ``a``), as a model error."""
    if isinstance(e, ConstraintError):
        return ConstraintFailed(str(e), s, a, "")
    return ModelError(f"{what} raised {type(e).__name__}: {e}", s, a, "".join(traceback.format_exception(e)),
                      in_state)


def is_false(v: Any) -> bool:
    """``False`` itself, or numpy's (``numpy.bool`` in numpy 2, ``numpy.bool_`` before)."""
    return v is False or (type(v).__module__ == "numpy" and type(v).__name__ in ("bool", "bool_") and not v)


def refuse_false_non_bool(name: str, v: Any, s: Any, a: Action | None) -> None:
    """Called with a property's false value: one that is not ``False`` (``None`` from a missing
    ``return``, 0, an empty set) is refused, as TLC refuses a non-Boolean invariant, rather than
    reported as a violation."""
    if not is_false(v):
        raise ModelError(f"property {name} returned {v!r}, not True or False (a missing return?)", s, a, "",
                         in_state=True)


def raising_step(model: Model[Any], s: Any) -> tuple[Action, Exception] | None:
    """The first action whose step raises in ``s``, with its exception, run one by one so a report can
    name it (the checker's expanders run them all at once); None if none raises."""
    for a in model.actions():
        try:
            model.step(s, a)
        except Disabled:
            continue
        except Exception as e:
            return a, e
    return None
