"""A user's state constraint on a search (TLC's ``CONSTRAINT``, a P test driver's restriction).

Deep bugs are reached by guiding the search, not only by enumerating: a TLC user adds a
``CONSTRAINT``, a P user writes a test driver that serialises what may happen.  ``--constraint``
is that guidance, as a Python expression over the state ``s``: a successor that does not satisfy
it is discarded (neither counted, nor checked, nor expanded), exactly as a model's own
``ActorSystem.constraint``.  Every step of a path found this way is the model's own step, so a
violation is a real run; but the search saw only part of the state space, so "every reachable
state was checked" is no longer true and an exhausted search ends ``bounded`` (``explore``).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from types import CodeType
from typing import Any

from ..models.actors import ActorSystem, SysState
from ..models.base import Model
from .errors import ConstraintError


def compile_constraint(text: str, flag: str = "--constraint") -> CodeType:
    """The expression compiled once; ``ValueError`` with one line saying what is wrong (``flag``: the
    option that gave it, for the message)."""
    if not text.strip():
        raise ValueError(f"{flag}: the expression is empty")
    try:
        tree = ast.parse(text, f"<{flag}>", "eval")
    except SyntaxError as e:
        raise ValueError(f"{flag} {text!r} is not a Python expression: {e.msg}") from None
    _IsAsEquality(text, flag).visit(tree)
    return compile(ast.fix_missing_locations(tree), f"<{flag}>", "eval")


#: The names ``is`` and ``is not`` are rewritten to (see ``_IsAsEquality``).
_IS, _IS_NOT = "_pp_constraint_is", "_pp_constraint_is_not"


class _IsAsEquality(ast.NodeTransformer):
    """``a is b`` as the twins read it: identity on concrete values (what ``check`` has always
    done), equality where ``bmc`` gives a z3 value -- plain ``is`` there is never true, so ``x is
    None`` would silently exclude every state and BMC would say ``bounded`` where ``check`` finds
    the violation."""

    def __init__(self, text: str, flag: str) -> None:
        self.text, self.flag = text, flag

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if not any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
            return node
        if len(node.ops) > 1:
            raise ValueError(f"{self.flag} {self.text!r}: a chained comparison with `is` or `is not`; "
                             "write it as two comparisons joined by `and`")
        name = _IS if isinstance(node.ops[0], ast.Is) else _IS_NOT
        return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=[node.left, node.comparators[0]], keywords=[])


def _symbolic_truth(v: Any) -> bool:
    """A Boolean or integer z3 leaf: what the expression gives when ``bmc`` runs it on z3 values
    (``bool()`` of it then forks the symbolic path, as a model's own condition does)."""
    from .symbolic.leaves import BOOL, INT, Sym

    return isinstance(v, Sym) and v.kind in (BOOL, INT)


def predicate(model: Model[Any], text: str, flag: str = "--constraint") -> Callable[[Any], bool]:
    """``text`` as a predicate on states; names resolve in the model's module (its constants)."""
    code = compile_constraint(text, flag)
    module = sys.modules.get(type(model).__module__)
    scope: dict[str, Any] = dict(vars(module)) if module is not None else {}
    for k in ("__loader__", "__spec__", "__file__"):  # else a traceback shows the module's lines as the expression's
        scope.pop(k, None)
    from .twin.runtime import _pp_is, _pp_is_not

    scope[_IS], scope[_IS_NOT] = _pp_is, _pp_is_not

    def ok(s: Any) -> bool:
        scope["s"] = s  # a global, not a local: a comprehension or generator in the expression sees it too
        try:
            v = eval(code, scope)
        except Exception as e:
            raise ConstraintError(f"{flag} {text!r} raised {type(e).__name__}: {e}; on the state {s!r}") from e
        if not isinstance(v, (bool, int)) and not _symbolic_truth(v):  # a method not called, a lambda: a slip
            raise ConstraintError(f"{flag} {text!r} gave {v!r}, not a truth value; on the state {s!r}")
        return bool(v)

    return ok


def constrained(model: Model[Any], text: str) -> Model[Any]:
    """A copy of ``model`` whose steps are disabled where the successor fails ``text``."""
    ok = predicate(model, text)
    base = type(model)
    attrs: dict[str, Any] = {"__module__": base.__module__, "__doc__": base.__doc__, "__qualname__": base.__qualname__,
                             "code_expander": lambda self: None,
                             "general_path_reason": lambda self: "--constraint"}
    if isinstance(model, ActorSystem):
        own = type(model).constraint

        def constraint(self: ActorSystem, s: SysState) -> bool:
            return bool(own(self, s)) and ok(s)

        def search_constraint(self: ActorSystem, s: SysState) -> bool:
            return ok(s)

        attrs["constraint"] = constraint
        attrs["search_constraint"] = search_constraint  # the user's alone (SymbolicModel's split)
        # The model's own, without the user's (SymbolicModel's split), as the model wrote it: a
        # wrapper's closure would hide it from the twins, and run plainly it forks on every count
        attrs["model_constraint"] = own
    else:
        attrs.update(_own_steps_filtered(base, ok))
    cls = type(base.__name__, (base,), attrs)
    m: Model[Any] = cls(model.config)
    if not isinstance(model, ActorSystem):
        m._actions = [(name, _filtered(fn, ok), insts) for name, fn, insts in m._actions]
    return m


def _own_steps_filtered(base: type[Model[Any]], ok: Callable[[Any], bool]) -> dict[str, Any]:
    """Filters for the ways of stepping that ``base`` writes itself instead of ``Model``'s: those
    do not go through ``_actions`` (filtered below, for the symbolic engines), so the constraint
    would be silently ignored by the explicit search."""
    out: dict[str, Any] = {}
    if base.successors is not Model.successors:
        def successors(self: Model[Any], s: Any) -> Any:
            return ((a, t) for a, t in base.successors(self, s) if ok(t))

        out["successors"] = successors
    if base.expander is not Model.expander:
        def expander(self: Model[Any]) -> Callable[[Any], list[tuple[Any, Any]]]:
            own = base.expander(self)
            return lambda s: [(a, t) for a, t in own(s) if ok(t)]

        out["expander"] = expander
    if base.step is not Model.step:
        out["step"] = _filtered(base.step, ok)  # passes (self, s, action) through, filters the result
    return out


def _filtered(fn: Callable[..., Any], ok: Callable[[Any], bool]) -> Callable[..., Any]:
    def step(s: Any, *args: Any) -> Any:
        t = fn(s, *args)
        return t if t is not None and ok(t) else None

    return step


__all__ = ["ConstraintError", "compile_constraint", "constrained", "predicate"]
