"""Sequences of symbolic length (``Seq(T, maxlen)``: logs): element slots and a length.

A ``SymSeq`` holds ``slots`` (values of the element type, concrete or symbolic) and a length
``n`` (an int or a z3 Int, at most the number of slots on every type-correct state); only the
first ``n`` slots are in the sequence, the others are "don't care" and are never compared.
Python code runs on it unchanged: ``len``, indexing by a concrete or symbolic index (guarded
by the bounds, like Python's ``IndexError``; a symbolic index reads the slots through an
``ite`` chain), slices with concrete or symbolic bounds, ``+`` (append, concatenation), ``==``,
``in`` and iteration (each slot guarded by ``k < n``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import z3

from .leaves import BOOL, INT, Sym, _text_refusal
from .logic import BoolLike, SymbolicError, b_and, b_not, b_or
from .search import _err, decide
from .sets import Collection, _value_eq

#: ``int | z3.ArithRef``: a length or an index, folded while it is concrete.
IntLike = Any


def _term(v: Any, name: str) -> IntLike:
    """An index or bound as an int or a z3 Int (a bool or non-int is a type error, as in Python)."""
    if isinstance(v, Sym):
        return v._int()
    if isinstance(v, int):
        return int(v)
    raise _err(f"sequence index {v!r} is not an integer", name)


def _if(c: BoolLike, a: IntLike, b: IntLike) -> IntLike:
    if c is True:
        return a
    if c is False:
        return b
    if isinstance(a, int) and isinstance(b, int) and a == b:
        return a
    return z3.If(c, a, b)


def _min(a: IntLike, b: IntLike) -> IntLike:
    return _if(a <= b, a, b)


def _max(a: IntLike, b: IntLike) -> IntLike:
    return _if(a <= b, b, a)


def _ite(c: BoolLike, a: Any, b: Any) -> Any:
    from .encoding import ite

    return ite(c, a, b)


class SymSeq(Collection):
    """A sequence whose length may be symbolic (see the module docstring)."""

    __slots__ = ("n", "name", "slots")

    def __init__(self, slots: Sequence[Any], n: IntLike, name: str = "seq") -> None:
        self.slots, self.n, self.name = tuple(slots), n, name

    @staticmethod
    def lift(x: Any, name: str = "seq") -> SymSeq:
        """A concrete tuple (or a ``SymSeq``) as a ``SymSeq``."""
        return x if isinstance(x, SymSeq) else SymSeq(tuple(x), len(x), name)

    # --- the length
    def card(self) -> Any:
        """The length as an int or a symbolic int (one term, no fork)."""
        return self.n if isinstance(self.n, int) else Sym(self.n, INT, None, f"len({self.name})")

    def __len__(self) -> int:
        if isinstance(self.n, int):
            return self.n
        for k in range(len(self.slots)):
            if decide(self.n == k):
                return k
        return len(self.slots)

    def nonempty(self) -> BoolLike:
        return self.n > 0

    def __bool__(self) -> bool:
        return decide(self.nonempty())

    # --- elements
    def pairs(self) -> list[tuple[BoolLike, Any]]:
        """(``k < n``, slot ``k``) for every slot that may be in the sequence (guarded iteration)."""
        out = []
        for k, v in enumerate(self.slots):
            g = k < self.n
            if g is False:
                break
            out.append((g, v))
        return out

    def __iter__(self) -> Iterator[Any]:
        for g, v in self.pairs():
            if g is not True and not decide(g):
                return
            yield v

    def has(self, x: Any) -> BoolLike:
        return b_or(*(b_and(g, _value_eq(x, v)) for g, v in self.pairs()))

    def __contains__(self, x: Any) -> bool:
        return decide(self.has(x))

    def match(self, u: Any) -> BoolLike:
        return self.eq(u)

    def select(self, j: IntLike) -> Any:
        """Slot ``j`` (an int or a z3 Int, within the slots on the paths that use it) as one value."""
        if isinstance(j, int):
            return self.slots[j]
        out = self.slots[-1]
        for k in range(len(self.slots) - 2, -1, -1):
            r = _ite(j == k, self.slots[k], out)
            if r is NotImplemented:  # slots of different shapes: fork instead
                for m, v in enumerate(self.slots):
                    if decide(j == m):
                        return v
                return self.slots[-1]
            out = r
        return out

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return self._slice(k)
        i = _term(k, self.name)
        j = i if isinstance(i, int) and i >= 0 else _if(i < 0, i + self.n, i)
        inside = b_and(j >= 0, j < self.n)
        if inside is False or (inside is not True and not decide(inside)) or not self.slots:
            raise IndexError("tuple index out of range")
        if isinstance(j, int) and j >= len(self.slots):
            raise IndexError("tuple index out of range")
        return self.select(j)

    def _bound(self, v: Any, default: IntLike) -> IntLike:
        """A slice bound clamped to ``0..n`` as Python does."""
        if v is None:
            return default
        b = _term(v, self.name)
        if isinstance(b, int) and b >= 0:
            return _min(b, self.n)
        return _min(_if(b < 0, _max(b + self.n, 0), b), self.n)

    def _slice(self, k: slice) -> SymSeq:
        if k.step is not None and not (type(k.step) is int and k.step == 1):
            raise _err("a slice with a step of a sequence of symbolic length", self.name)
        start, stop = self._bound(k.start, 0), self._bound(k.stop, self.n)
        n = _max(stop - start, 0)
        if isinstance(start, int):
            slots = self.slots[start:]
        else:
            slots = tuple(self.select(start + j) for j in range(len(self.slots)))
        return SymSeq(slots, n, f"{self.name}[..]")

    # --- building
    def __add__(self, o: Any) -> Any:
        if not isinstance(o, (tuple, SymSeq)):
            return NotImplemented
        b = SymSeq.lift(o)
        if isinstance(self.n, int):
            return SymSeq(self.slots[: self.n] + b.slots, self.n + b.n, self.name)
        if not b.slots:
            return self
        slots = []
        for k in range(len(self.slots) + len(b.slots)):
            tail = b.select(k - self.n)  # beyond b's slots: the last one, never in the result
            if k >= len(self.slots):
                slots.append(tail)
                continue
            r = _ite(k < self.n, self.slots[k], tail)
            if r is NotImplemented:
                raise _err("concatenating sequences whose elements have different shapes", self.name)
            slots.append(r)
        return SymSeq(slots, self.n + b.n, self.name)

    def __radd__(self, o: Any) -> Any:
        if not isinstance(o, tuple):
            return NotImplemented
        return SymSeq.lift(o) + self

    # --- comparisons
    def eq(self, o: Any) -> BoolLike:
        """``self == o`` as a formula: equal lengths, equal slots below the length."""
        if not isinstance(o, (tuple, SymSeq)):
            return False
        b = SymSeq.lift(o)
        same = [self.n == b.n]
        for k in range(max(len(self.slots), len(b.slots))):
            if k >= len(self.slots) or k >= len(b.slots):
                same.append(b_not(k < self.n) if k >= len(b.slots) else b_not(k < b.n))
                continue
            same.append(b_or(b_not(k < self.n), _value_eq(self.slots[k], b.slots[k])))
        return b_and(*same)

    def __eq__(self, o: object) -> Any:
        r = self.eq(o)
        return r if isinstance(r, bool) else Sym(r, BOOL, None, f"({self.name} == ..)")

    def __ne__(self, o: object) -> Any:
        r = b_not(self.eq(o))
        return r if isinstance(r, bool) else Sym(r, BOOL, None, f"({self.name} != ..)")

    def __lt__(self, o: Any) -> Any:
        raise _err("ordering of sequences of symbolic length; compare lengths or elements", self.name)

    __le__ = __gt__ = __ge__ = __lt__

    def __hash__(self) -> int:
        raise SymbolicError(f"a sequence of symbolic length cannot be hashed ({self.name}); keep hashed values "
                            "concrete")

    def __str__(self) -> str:
        raise _text_refusal(self.name)

    def __format__(self, spec: str) -> str:
        raise _text_refusal(self.name)

    def __repr__(self) -> str:
        return f"SymSeq({self.name})"


__all__ = ["SymSeq"]
