"""Refusals: Python that would ask the engine's objects instead of the values.

``isinstance``/``type`` of a leaf, and ``str``/``repr``/``format``/``hash``/f-strings of
anything holding a leaf, set or list, raise ``SymbolicError`` saying what to write instead;
inside a raise or assert message they show the leaf's debug form.  ``_BUILTINS`` is the table
of builtins a twin calls in their place.
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable
from typing import Any

from ..symbolic import Collection, Sym, SymbolicError, current_function, has_sym
from .runtime import _all, _any, _bool, _fold, _frozenset, _len, _list, _range, _set, _show, _sum


def _leaf_name(v: Any) -> str:
    return v.name if isinstance(v, (Sym, Collection)) else repr(v)


def _isinstance(x: Any, classinfo: Any) -> Any:
    if isinstance(x, Sym):
        raise SymbolicError(
            f"isinstance cannot be decided on a z3 value ({x.name}, in {current_function()}): its Python type "
            "is fixed by the schema; compare with == against the constant (or `in` a tuple of constants), "
            "or give the record a tag field")
    return isinstance(x, classinfo)


def _type(*args: Any) -> Any:
    if len(args) == 1 and isinstance(args[0], Sym):
        raise SymbolicError(
            f"type() of a z3 value ({args[0].name}, in {current_function()}) is the engine's leaf class, not the "
            "value's type: compare with == against the enum constant, or use the schema / a tag field")
    return type(*args)


def _text_refusal(what: str, x: Any) -> SymbolicError:
    return SymbolicError(
        f"{what} of a symbolic value ({_leaf_name(x)}, in {current_function()}) would be the engine's text, not "
        "the value's: compare the value itself (== against the constant, `in`), not its text; "
        "formatting is fine only in exception messages")


def _str(*args: Any, **kw: Any) -> Any:
    if len(args) == 1 and not kw and has_sym(args[0]):
        raise _text_refusal("str()", args[0])
    return str(*args, **kw)


def _repr(x: Any) -> str:
    if has_sym(x):
        raise _text_refusal("repr()", x)
    return repr(x)


def _format(x: Any, spec: str = "") -> str:
    if has_sym(x):
        raise _text_refusal("format()", x)
    return format(x, spec)


def _hash(x: Any) -> int:
    if has_sym(x):
        raise SymbolicError(f"hash() of a symbolic value ({_leaf_name(x)}, in {current_function()}): keep hashed "
                            "values (set elements, dict keys, cache keys) concrete")
    return hash(x)


def _pp_fmt(x: Any) -> Any:
    """The value of an f-string field: refused if symbolic (its text would be the engine's)."""
    if has_sym(x):
        raise _text_refusal("f-string formatting", x)
    return x


def _pp_show(x: Any) -> Any:
    """An f-string field inside a raise/assert message: the debug form of a symbolic value."""
    return _show(x) if has_sym(x) else x


def _msg_str(*args: Any, **kw: Any) -> Any:
    return _show(args[0]) if len(args) == 1 and not kw and has_sym(args[0]) else str(*args, **kw)


def _msg_format(x: Any, spec: str = "") -> str:
    return _show(x) if has_sym(x) else format(x, spec)


_BUILTINS: dict[int, Callable[..., Any]] = {
    id(builtins.all): _all,
    id(builtins.any): _any,
    id(builtins.sum): _sum,
    id(builtins.len): _len,
    id(builtins.range): _range,
    id(builtins.frozenset): _frozenset,
    id(builtins.set): _set,
    id(builtins.list): _list,
    id(builtins.bool): _bool,
    id(builtins.max): _fold(operator.gt, builtins.max),
    id(builtins.min): _fold(operator.lt, builtins.min),
    id(builtins.isinstance): _isinstance,
    id(builtins.type): _type,
    id(builtins.str): _str,
    id(builtins.repr): _repr,
    id(builtins.format): _format,
    id(builtins.hash): _hash,
}
#: Inside a raise/assert message text goes only into an exception: show leaves, do not refuse.
_MSG_BUILTINS: dict[int, Callable[..., Any]] = {
    **_BUILTINS, id(builtins.str): _msg_str, id(builtins.repr): _show, id(builtins.format): _msg_format,
}
