"""Message kinds (``@message``: an immutable record stored as ``(kind, *fields)``) and the
display helpers for state values (``fields_of``, ``to_jsonable``)."""

from __future__ import annotations

import dataclasses
import inspect
import operator
from typing import Any, TypeVar, dataclass_transform

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def message(cls: type[_T]) -> type[_T]:
    """Declare a message kind: an immutable record stored as the tuple ``(kind, *fields)``.

    Tuples hash and compare in C, which matters because the checker hashes every set of
    messages it meets; the leading kind keeps kinds with equal fields apart (two plain
    NamedTuples ``A(1) == B(1)``, and ``Commit() == Abort()`` when both are empty).
    """
    hints = inspect.get_annotations(cls)
    fields = tuple(n for n in hints if not n.startswith("_"))
    defaults = {n: cls.__dict__[n] for n in fields if n in cls.__dict__}
    kind = cls.__name__

    nfields = len(fields)

    def __new__(klass: type, *args: Any, **kwargs: Any) -> Any:
        if len(args) == nfields and not kwargs:  # the common case, kept fast
            return tuple.__new__(klass, (kind, *args))
        if len(args) > nfields:
            raise TypeError(f"{kind}() takes {len(fields)} arguments but {len(args)} were given")
        vals = list(args)
        for n in fields[len(args) :]:
            if n in kwargs:
                vals.append(kwargs.pop(n))
            elif n in defaults:
                vals.append(defaults[n])
            else:
                raise TypeError(f"{kind}() missing argument {n!r}")
        if kwargs:
            raise TypeError(f"{kind}() got an unexpected argument {next(iter(kwargs))!r}")
        return tuple.__new__(klass, (kind, *vals))

    def __repr__(self: tuple[Any, ...]) -> str:
        return f"{kind}({', '.join(f'{n}={v!r}' for n, v in zip(fields, self[1:], strict=True))})"

    ns: dict[str, Any] = {
        "__slots__": (),
        "__new__": __new__,
        "__repr__": __repr__,
        "__getnewargs__": lambda self: tuple(self[1:]),
        "__match_args__": fields,
        "__doc__": cls.__doc__,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "_fields": fields,
        "_kind": kind,
        "_asdict": lambda self: dict(zip(fields, self[1:], strict=True)),
    }
    for k, n in enumerate(fields):
        ns[n] = property(operator.itemgetter(k + 1), doc=f"field {n}")
    for attr, val in cls.__dict__.items():
        if attr not in ns and attr not in fields and not attr.startswith("__"):
            ns[attr] = val  # helper methods and constants of the message class
    return type(kind, (tuple,), ns)


def is_message(value: object) -> bool:
    return hasattr(type(value), "_kind") and isinstance(value, tuple)


def fields_of(value: Any) -> dict[str, Any]:
    """The named fields of a record value (NamedTuple or dataclass), for display."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    asdict = getattr(value, "_asdict", None)
    if callable(asdict):
        return dict(asdict())
    return {}


def to_jsonable(value: Any) -> Any:
    """The one JSON encoding of state values, used by every command's ``--json``: a record
    becomes an object (a dataclass or message tagged ``"$type"``), a set a sorted list, a tuple
    a list, a mapping an object with string keys, ``None``/bool/int/float/str themselves, and
    anything else its ``repr``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    f = fields_of(value)
    if f:
        out = {k: to_jsonable(v) for k, v in f.items()}
        if dataclasses.is_dataclass(value) or is_message(value):
            return {"$type": type(value).__name__, **out}
        return out
    if isinstance(value, (frozenset, set)):
        return sorted((to_jsonable(x) for x in value), key=repr)
    if isinstance(value, (tuple, list)):
        return [to_jsonable(x) for x in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return repr(value)
