"""The schema's base: ``Type`` (a finite type, a bijection onto ``range(size)``) and its leaves.

Leaves are explicit finite value lists (``Enum``, ``OneOf``, ``Bool``) and integer ranges
(``Int``, and ``Id``: a node id that symmetry reduction renames).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

#: A permutation of node ids per id space: ``perm["node"][i]`` is the new id of node ``i``.
Perm = Mapping[str, Sequence[int]]

#: Memo tables stop growing beyond this many entries (they are only a cache).
_MEMO_LIMIT = 1 << 16


class SchemaError(TypeError):
    """A value is outside its declared type; the message names the path to it."""


def shown(v: object, limit: int = 80) -> str:
    """``repr(v)``, cut to ``limit`` characters: an error about an 8 KB value stays one line."""
    r = repr(v)
    return r if len(r) <= limit else f"{r[:limit]}... ({len(r):,} characters)"


class Type:
    """A finite type: a bijection between its values and ``range(size)``."""

    size: int

    def contains(self, v: object) -> bool:
        raise NotImplementedError

    def check(self, v: object, path: str = "state") -> None:
        """Raise ``SchemaError`` naming the offending path if ``v`` is not of this type."""
        if not self.contains(v):
            raise SchemaError(f"{path} = {shown(v)} is not {self.describe()}")

    def pack(self, v: Any) -> int:
        raise NotImplementedError

    def unpack(self, code: int) -> Any:
        raise NotImplementedError

    def memo_safe(self) -> bool:
        """Whether values that Python finds equal always have the same code.

        Memo tables are keyed by Python equality, so they are used only where this holds; it
        fails where two alternatives of a ``Union`` may hold equal values (plain NamedTuples
        of two classes with equal fields, ``True`` and ``1``).
        """
        return True

    def packer(self, memo: bool = True) -> Callable[[Any], int]:
        """``pack`` as a fast function (the explicit checker calls it for every transition).

        ``memo`` lets containers remember codes of values they saw (a cache, bounded).
        """
        return self.pack

    def unpacker(self, memo: bool = True) -> Callable[[int], Any]:
        return self.unpack

    def values(self) -> Iterator[Any]:
        for code in range(self.size):
            yield self.unpack(code)

    def sample(self, rng: random.Random) -> Any:
        return self.unpack(rng.randrange(self.size))

    def permute(self, v: Any, perm: Perm) -> Any:
        """The value with every node id renamed by ``perm`` (identity for leaves)."""
        return v

    def spaces(self) -> frozenset[str]:
        """The id spaces this type mentions: ``permute`` is the identity outside them."""
        return frozenset()

    def view(self, v: Any, space: str, i: int) -> Any:
        """A permutation-invariant summary of ``v`` from the standpoint of id ``i``.

        ``view(permute(v, p), space, p[i]) == view(v, space, i)`` for every permutation
        ``p`` of ``space``; symmetry reduction sorts ids by it.
        """
        return self.pack(v)

    def describe(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.describe()


def _has_numbers(v: object) -> bool:
    """Whether ``v`` holds a number, which Python may find equal to one of another type."""
    if isinstance(v, (bool, int, float, complex)):
        return True
    if isinstance(v, (tuple, frozenset)):
        return any(_has_numbers(x) for x in v)
    return False


def _same_kind(a: object, b: object) -> bool:
    """Values compare equal across types in Python (``True == 1``); the schema does not."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return all(_same_kind(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[call-overload]
    return True


class _Finite(Type):
    """A leaf with an explicit list of values, encoded by position."""

    def __init__(self, values: Sequence[Any]) -> None:
        vals = list(values)
        if not vals:
            raise ValueError(f"{type(self).__name__} needs at least one value")
        self._values = tuple(vals)
        self._index: dict[Any, int] = {}
        for k, x in enumerate(vals):
            try:
                hash(x)
            except TypeError as e:
                raise ValueError(f"{type(self).__name__} value {x!r} is not hashable") from e
            if x in self._index:
                raise ValueError(f"{type(self).__name__} value {x!r} is listed twice")
            self._index[x] = k
        self.size = len(vals)
        # Only numbers (also inside tuples) can be equal across types (True == 1); strings cannot.
        self._strict = not all(x is None or isinstance(x, str) for x in vals)

    def packer(self, memo: bool = True) -> Callable[[Any], int]:
        if self._strict:
            return self.pack
        idx, describe = self._index, self.describe

        def pack(v: Any) -> int:
            try:
                return idx[v]
            except (KeyError, TypeError):
                raise SchemaError(f"{v!r} is not {describe()}") from None

        return pack

    def unpacker(self, memo: bool = True) -> Callable[[int], Any]:
        return self._values.__getitem__

    def contains(self, v: object) -> bool:
        try:
            k = self._index.get(v)
        except TypeError:
            return False
        return k is not None and _same_kind(self._values[k], v)

    def pack(self, v: Any) -> int:
        try:
            k = self._index[v]
        except (KeyError, TypeError):
            raise SchemaError(f"{v!r} is not {self.describe()}") from None
        if not _same_kind(self._values[k], v):
            raise SchemaError(f"{v!r} is not {self.describe()}")
        return k

    def unpack(self, code: int) -> Any:
        return self._values[code]

    def values(self) -> Iterator[Any]:
        return iter(self._values)


class Enum(_Finite):
    """Named constants (conventionally module-level ``str`` constants)."""

    def __init__(self, name: str, *values: Any) -> None:
        super().__init__(values)
        self.name = name

    def describe(self) -> str:
        return f"one of {self.name}({', '.join(map(repr, self._values))})"


class OneOf(_Finite):
    """Any finite set of hashable constants, e.g. ``OneOf(None, 0, 1)``."""

    def __init__(self, *values: Any) -> None:
        super().__init__(values)

    def describe(self) -> str:
        return f"one of {{{', '.join(map(repr, self._values))}}}"


class BoolType(_Finite):
    def __init__(self) -> None:
        super().__init__((False, True))

    def describe(self) -> str:
        return "a bool"


Bool = BoolType()


class Int(Type):
    """An integer in ``lo..hi`` (both included)."""

    def __init__(self, lo: int, hi: int) -> None:
        if hi < lo:
            raise ValueError(f"Int({lo}, {hi}): empty range")
        self.lo, self.hi = lo, hi
        self.size = hi - lo + 1

    def contains(self, v: object) -> bool:
        return type(v) is int and self.lo <= v <= self.hi

    def pack(self, v: Any) -> int:
        if type(v) is not int or not self.lo <= v <= self.hi:
            raise SchemaError(f"{v!r} is not {self.describe()}")
        return v - self.lo

    def unpack(self, code: int) -> int:
        return code + self.lo

    def values(self) -> Iterator[int]:
        return iter(range(self.lo, self.hi + 1))

    def describe(self) -> str:
        return f"an int in {self.lo}..{self.hi}"


class Id(Int):
    """A node id in ``0..n-1`` of an id space; symmetry reduction renames these."""

    def __init__(self, space: str, n: int) -> None:
        super().__init__(0, n - 1)
        self.space = space

    def permute(self, v: Any, perm: Perm) -> Any:
        p = perm.get(self.space)
        return v if p is None else p[v]

    def spaces(self) -> frozenset[str]:
        return frozenset((self.space,))

    def view(self, v: Any, space: str, i: int) -> Any:
        # Ids of other spaces may be renamed too: a view must not depend on their names.
        if space == self.space:
            return 0 if v == i else 1
        return -1

    def describe(self) -> str:
        return f"a {self.space} id in 0..{self.hi}"
