"""Errors of the symbolic engine and boolean helpers that fold constants.

Constants stay Python bools so that a formula that is decided while it is built never reaches
z3; the helpers build terms through the C API (``_mk``) because this is the hot path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import z3

#: ``bool | z3.BoolRef``: constants stay Python bools (z3 has no type hints, so this is ``Any``).
BoolLike: TypeAlias = Any


class SymbolicError(Exception):
    """A construct that cannot run on symbolic values; the message names the field and the function.

    A direct ``Exception`` subclass on purpose: model code commonly wraps its own logic in
    ``except TypeError:`` / ``ValueError`` / ``LookupError`` / ``ArithmeticError``, and such a
    handler must never swallow the refusal and let the formula silently mean something else.
    Engine code that probes hashability of values which may hold leaves catches both.
    """


class Nondeterminism(SymbolicError):
    """A function asked different questions when re-run with the same answers (impure code)."""


class PathExplosion(SymbolicError):
    """A function has more paths than ``max_paths``; the message names it and says how to fix it."""


# ----- boolean helpers with constant folding -------------------------------------------


def _mk(fn: Callable[..., Any], xs: list[Any]) -> z3.BoolRef:
    """``And``/``Or`` of z3 Bools without z3py's per-argument coercion (the hot path of building)."""
    ctx = xs[0].ctx
    arr = (z3.Ast * len(xs))(*[x.as_ast() for x in xs])
    return z3.BoolRef(fn(ctx.ref(), len(xs), arr), ctx)


def b_and(*xs: BoolLike) -> BoolLike:
    out: list[Any] = []
    for x in xs:
        if x is True:
            continue
        if x is False:
            return False
        out.append(x)
    if not out:
        return True
    return out[0] if len(out) == 1 else _mk(z3.Z3_mk_and, out)


def b_or(*xs: BoolLike) -> BoolLike:
    out: list[Any] = []
    for x in xs:
        if x is False:
            continue
        if x is True:
            return True
        out.append(x)
    if not out:
        return False
    return out[0] if len(out) == 1 else _mk(z3.Z3_mk_or, out)


def b_not(x: BoolLike) -> BoolLike:
    if isinstance(x, bool):
        return not x
    ctx = x.ctx
    return z3.BoolRef(z3.Z3_mk_not(ctx.ref(), x.as_ast()), ctx)


def b_eq(a: BoolLike, b: BoolLike) -> BoolLike:
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    if isinstance(a, bool):
        return b if a else z3.Not(b)
    if isinstance(b, bool):
        return a if b else z3.Not(a)
    return a == b


def b_ite(c: BoolLike, a: Any, b: Any) -> Any:
    if c is True:
        return a
    if c is False:
        return b
    return z3.If(c, a, b)


def to_z3(x: BoolLike) -> z3.BoolRef:
    if isinstance(x, bool):
        return z3.BoolVal(x)
    return x
