"""The tracked state of ``vector_props``: nodes that note which are read, a network that refuses use.

Apart from ``vector_props`` (which needs numpy) so that ``code_view``, on every check's import
path, can use them without loading numpy (``protoproof --help`` stays quick).
"""

from __future__ import annotations

from typing import Any


class _Read(BaseException):
    """A function of the state used the network."""


class _Poison:
    """Stands for the network: every use raises ``_Read``."""

    __slots__ = ()

    def __getattribute__(self, name: str) -> Any:
        raise _Read


def _refuse(*_a: Any, **_k: Any) -> Any:
    raise _Read


for _name in ("eq", "ne", "lt", "le", "gt", "ge", "hash", "iter", "len", "contains", "bool", "getitem",
              "and", "or", "sub", "xor", "rand", "ror", "rsub", "rxor", "rshift", "lshift", "int", "index",
              "float", "str", "repr", "format", "reversed", "add", "radd", "mul", "rmul", "setattr"):
    setattr(_Poison, f"__{_name}__", _refuse)

POISON = _Poison()


class _Tracked(tuple):
    """The nodes' local states, noting which ones are read."""

    reads: set[int]

    def __new__(cls, items: tuple[Any, ...], reads: set[int]) -> _Tracked:
        t = super().__new__(cls, items)
        t.reads = reads
        return t

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            self.reads.update(range(*i.indices(len(self))))
        else:
            self.reads.add(range(len(self))[i])
        return super().__getitem__(i)

    def __radd__(self, other: Any) -> Any:  # called before tuple.__add__(other, self), which reads in C
        self.reads.update(range(len(self)))
        return other + tuple.__add__((), self)


def _reading_all(name: str) -> Any:
    base = getattr(tuple, name)

    def method(self: _Tracked, *args: Any) -> Any:
        self.reads.update(range(len(self)))
        return base(self, *args)

    return method


for _name in ("__iter__", "__contains__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__",
              "__add__", "__mul__", "__rmul__", "__repr__", "count", "index"):
    setattr(_Tracked, _name, _reading_all(_name))
