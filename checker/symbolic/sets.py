"""Symbolic collections: sets over a declared universe (``SymSet``), sets built by twins
(``DynSet``) and lists of guarded elements (``GList``), with the membership and equality tests
that look inside values that hold leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import z3

from ...models.schema import SetOf
from .leaves import BOOL, INT, Sym, _nm, _text_refusal
from .logic import BoolLike, SymbolicError, b_and, b_eq, b_not, b_or
from .search import _err, current_function, decide

# ----- sets ----------------------------------------------------------------------------


class Collection:
    """A symbolic collection (``SymSet``, ``GList``, ``SymSeq``): its membership or length is symbolic.

    Each says which elements may be in it (``pairs``: (condition, element)), whether it is
    non-empty and how many it holds as terms (``nonempty``, ``card``), membership as a formula
    (``has``) and equality with a concrete value (``match``), so the engine and the twin treat
    them alike without knowing each class.
    """

    __slots__ = ()
    name: str

    def pairs(self) -> list[tuple[BoolLike, Any]]:
        raise NotImplementedError

    def nonempty(self) -> BoolLike:
        raise NotImplementedError

    def card(self) -> Any:
        raise NotImplementedError

    def has(self, x: Any) -> BoolLike:
        raise NotImplementedError

    def match(self, u: Any) -> BoolLike:
        """``self == u`` as a formula, for ``u`` concrete."""
        raise NotImplementedError


class SymSet(Collection):
    """A set over a declared universe: one Python bool or z3 Bool per element.

    Supports what protocol code does with frozensets (``in``, ``|``, ``&``, ``-``, ``union``,
    ``==``, ``<=``) with frozensets on either side.  ``x in S`` forks (Python turns it into a
    bool); ``S.has(x)`` is the same test as a formula.  ``bool(S)`` forks on non-emptiness and
    ``len(S)`` on the size (at most ``|universe| + 1`` paths; the twin turns ``len`` into one
    term).  Iteration is refused: iterate the universe and test membership.
    """

    __slots__ = ("bits", "name", "ty")

    def __init__(self, ty: SetOf, bits: Sequence[BoolLike], name: str) -> None:
        self.ty, self.bits, self.name = ty, tuple(bits), name

    def _k(self, x: Any) -> int:
        if isinstance(x, (Sym, Collection)):
            raise _err(f"set element {x!r} is symbolic; set elements must be concrete", self.name)
        try:
            b = self.ty._bit.get(x)
        except SymbolicError:
            raise _err(f"set element {x!r} is symbolic here; use `x in S`, `S.has(x)` or `S | {{x}}`",
                       self.name) from None
        except TypeError:
            raise _err(f"{x!r} is not hashable, so it cannot be an element", self.name) from None
        if b is None or type(x) is not type(self.ty.universe[b.bit_length() - 1]):
            raise _err(f"{x!r} is not in the declared universe of this set", self.name)
        return b.bit_length() - 1

    def _matches(self, x: Any) -> list[BoolLike]:
        """For a symbolic element: per universe element, the formula "x is that element"."""
        if isinstance(x, (Sym, Collection)):
            if not isinstance(x, Sym):
                raise _err(f"set element {x!r} is symbolic; set elements must be concrete", self.name)
            out: list[BoolLike] = []
            for u in self.ty.universe:
                try:
                    out.append(x._eq(u))
                except SymbolicError as e:
                    raise _err(f"set element {x!r} is symbolic and not comparable with the universe "
                               f"element {u!r} ({e})", self.name) from None
            return out
        return [match(x, u) for u in self.ty.universe]

    def has(self, x: Any) -> BoolLike:
        if has_sym(x):
            return b_or(*(b_and(bit, m) for bit, m in zip(self.bits, self._matches(x), strict=True)
                          if m is not False and bit is not False))
        return self.bits[self._k(x)]

    def __contains__(self, x: Any) -> bool:
        return decide(self.has(x))

    def _add_symbolic(self, bits: list[BoolLike], x: Any) -> None:
        """Add an element with symbolic fields: each universe bit ORs "x is that element"."""
        ms = self._matches(x)
        inside = b_or(*ms)
        if inside is not True and not decide(inside):
            raise OutsideUniverse(f"{x!r} may lie outside the declared universe of {self.name} "
                                  "(declare every value its fields can take)")
        for k, m in enumerate(ms):
            if m is not False:
                bits[k] = b_or(bits[k], m)

    def _other_bits(self, other: Any) -> tuple[BoolLike, ...] | None:
        if isinstance(other, DynSet) and other.ty.universe != self.ty.universe:
            bits: list[BoolLike] = [False] * len(self.bits)
            for g, x in other.pairs():
                bits[self._k(x)] = g
            return tuple(bits)
        if isinstance(other, SymSet):
            if other.ty.universe != self.ty.universe:
                raise _err(f"sets over different universes ({other.name})", self.name)
            return other.bits
        if isinstance(other, (frozenset, set)):
            bits = [False] * len(self.bits)
            for x in other:
                bits[self._k(x)] = True
            return tuple(bits)
        return None

    def _elems(self, it: Iterable[Any]) -> tuple[BoolLike, ...]:
        got = self._other_bits(it)
        if got is not None:
            return got
        bits: list[BoolLike] = [False] * len(self.bits)
        for x in it:
            if has_sym(x):
                self._add_symbolic(bits, x)
            else:
                bits[self._k(x)] = True
        return tuple(bits)

    def _new(self, bits: Iterable[BoolLike]) -> SymSet:
        return SymSet(self.ty, tuple(bits), self.name)

    def union(self, *others: Iterable[Any]) -> SymSet:
        out = self
        for o in others:
            out = out._new(b_or(a, b) for a, b in zip(out.bits, self._elems(o), strict=True))
        return out

    def intersection(self, *others: Iterable[Any]) -> SymSet:
        out = self
        for o in others:
            out = out._new(b_and(a, b) for a, b in zip(out.bits, self._elems(o), strict=True))
        return out

    def difference(self, *others: Iterable[Any]) -> SymSet:
        out = self
        for o in others:
            out = out._new(b_and(a, b_not(b)) for a, b in zip(out.bits, self._elems(o), strict=True))
        return out

    def __or__(self, o: Any) -> SymSet:
        if self._other_bits(o) is None:
            return NotImplemented
        return self.union(o)

    __ror__ = __or__

    def __and__(self, o: Any) -> SymSet:
        if self._other_bits(o) is None:
            return NotImplemented
        return self.intersection(o)

    __rand__ = __and__

    def __sub__(self, o: Any) -> SymSet:
        if self._other_bits(o) is None:
            return NotImplemented
        return self.difference(o)

    def __rsub__(self, o: Any) -> SymSet:
        bits = self._other_bits(o)
        if bits is None:
            return NotImplemented
        return self._new(b_and(a, b_not(b)) for a, b in zip(bits, self.bits, strict=True))

    def eq(self, o: Any) -> BoolLike:
        bits = self._other_bits(o)
        if bits is None:
            return False
        return b_and(*(b_eq(a, b) for a, b in zip(self.bits, bits, strict=True)))

    def subset(self, o: Any) -> BoolLike:
        bits = self._other_bits(o)
        if bits is None:
            raise _err(f"<= between a set and {o!r}", self.name)
        return b_and(*(b_or(b_not(a), b) for a, b in zip(self.bits, bits, strict=True)))

    def __eq__(self, o: object) -> Any:
        r = self.eq(o)
        return r if isinstance(r, bool) else Sym(r, BOOL, None, f"({self.name} == {_nm(o)})")

    def __ne__(self, o: object) -> Any:
        r = b_not(self.eq(o))
        return r if isinstance(r, bool) else Sym(r, BOOL, None, f"({self.name} != {_nm(o)})")

    def __le__(self, o: Any) -> Any:
        r = self.subset(o)
        return r if isinstance(r, bool) else Sym(r, BOOL, None, f"({self.name} <= {_nm(o)})")

    def __ge__(self, o: Any) -> Any:
        bits = self._other_bits(o)
        if bits is None:
            raise _err(f">= between a set and {o!r}", self.name)
        r = b_and(*(b_or(b_not(b), a) for a, b in zip(self.bits, bits, strict=True)))
        return r if isinstance(r, bool) else Sym(r, BOOL, None, f"({self.name} >= {_nm(o)})")

    def nonempty(self) -> BoolLike:
        return b_or(*self.bits)

    def match(self, u: Any) -> BoolLike:
        return self.eq(u) if isinstance(u, frozenset) else False

    def card(self) -> Any:
        """The number of elements, as an int or a symbolic int (one term, no fork)."""
        if all(isinstance(b, bool) for b in self.bits):
            return sum(1 for b in self.bits if b)
        terms = [z3.If(b, z3.IntVal(1), z3.IntVal(0)) if not isinstance(b, bool) else z3.IntVal(int(b))
                 for b in self.bits]
        return Sym(z3.Sum(*terms), INT, None, f"len({self.name})")

    def __bool__(self) -> bool:
        return decide(self.nonempty())

    def __len__(self) -> int:
        c = self.card()
        if isinstance(c, int):
            return c
        n = len(self.bits)
        for k in range(n):
            if decide(c.t == k):
                return k
        return n

    def __iter__(self) -> Iterator[Any]:
        raise _err(
            "iterating over a symbolic set; iterate its declared universe and test membership "
            "(`for m in universe: if m in S`)",
            self.name,
        )

    def __hash__(self) -> int:
        raise _err("a symbolic set cannot be hashed", self.name)

    def __str__(self) -> str:
        raise _text_refusal(self.name)

    def __format__(self, spec: str) -> str:
        raise _text_refusal(self.name)

    def concrete(self) -> frozenset[Any] | None:
        """The set itself when every bit is a constant."""
        if all(isinstance(b, bool) for b in self.bits):
            return frozenset(x for x, b in zip(self.ty.universe, self.bits, strict=True) if b)
        return None

    def pairs(self) -> list[tuple[BoolLike, Any]]:
        """(membership, element) for every element that may be in the set (guarded iteration)."""
        return [(b, x) for x, b in zip(self.ty.universe, self.bits, strict=True) if b is not False]

    def image(self, elems: Iterable[Any], f: Callable[[Any], Any]) -> SymSet | frozenset[Any]:
        """``frozenset(f(x) for x in elems if x in self)`` as one set, without forking.

        Each ``f(x)`` is a member exactly when ``x`` is (or any ``x`` with the same image is):
        the same set Python builds, with the membership left symbolic instead of decided
        element by element (``ActorSystem.inbox`` on a symbolic message set).
        """
        return DynSet.make(((self.has(x), f(x)) for x in elems), f"{self.name}'")

    def __repr__(self) -> str:
        return f"SymSet({self.name})"


class OutsideUniverse(Exception):
    """A symbolic element may be outside a set's universe (an error unless the path is infeasible)."""


def has_sym(x: Any) -> bool:
    """Whether a value holds a symbolic leaf, set or list anywhere inside (tuples, records)."""
    if isinstance(x, (Sym, Collection)):
        return True
    if isinstance(x, tuple):
        return any(has_sym(y) for y in x)
    return False


def match(x: Any, u: Any) -> BoolLike:
    """``x == u`` as a formula, for ``u`` concrete; a leaf value outside ``x``'s type is unequal."""
    if isinstance(x, Sym):
        try:
            return x._eq(u)
        except SymbolicError:
            return False
    if isinstance(x, Collection):
        return x.match(u)
    if isinstance(x, tuple):
        if type(x) is not type(u) or len(x) != len(u):
            return False
        acc: list[BoolLike] = []
        for a, b in zip(x, u, strict=True):
            r = match(a, b)
            if r is False:
                return False
            if r is not True:
                acc.append(r)
        return b_and(*acc)
    return type(x) is type(u) and x == u


class DynSet(SymSet):
    """A set of concrete values with symbolic membership and no declared universe.

    Built by a comprehension or ``frozenset(...)`` in a twin (``{m.acc for m in votes}``, the
    inbox of a node): its universe is whatever values may be in it, and comparisons with other
    sets widen it, since a value it never holds is simply not a member.
    """

    __slots__ = ()

    @staticmethod
    def make(pairs: Iterable[tuple[BoolLike, Any]], name: str = "set") -> SymSet | frozenset[Any]:
        guards: dict[Any, BoolLike] = {}
        for g, v in pairs:
            if g is False:
                continue
            if has_sym(v):
                raise SymbolicError(f"a set of symbolic values ({v!r}) in {current_function()}: set elements "
                                    "must be concrete (build a list, or test membership instead)")
            guards[v] = b_or(guards.get(v, False), g)
        if all(g is True for g in guards.values()):
            return frozenset(guards)
        return DynSet(SetOf(list(guards)), list(guards.values()), name)

    def _new(self, bits: Iterable[BoolLike]) -> SymSet:
        return DynSet(self.ty, tuple(bits), self.name)

    def _known(self, x: Any) -> bool:
        try:
            b = self.ty._bit.get(x)
        except (TypeError, SymbolicError):
            return False
        return b is not None and type(x) is type(self.ty.universe[b.bit_length() - 1])

    def _widen(self, xs: Iterable[Any]) -> DynSet:
        new = []
        seen = set()
        for x in xs:
            if not self._known(x) and x not in seen:
                new.append(x)
                seen.add(x)
        if not new:
            return self
        return DynSet(SetOf([*self.ty.universe, *new]), [*self.bits, *([False] * len(new))], self.name)

    def _pair(self, o: Any) -> tuple[DynSet, tuple[BoolLike, ...]] | None:
        if isinstance(o, SymSet):
            items: list[tuple[Any, BoolLike]] = list(zip(o.ty.universe, o.bits, strict=True))
        elif isinstance(o, (frozenset, set)):
            items = [(x, True) for x in o]
        else:
            return None
        a = self._widen(x for x, _b in items)
        ob: list[BoolLike] = [False] * len(a.bits)
        for x, b in items:
            k = a.ty._bit[x].bit_length() - 1
            ob[k] = b_or(ob[k], b)
        return a, tuple(ob)

    def _k(self, x: Any) -> int:
        if isinstance(x, (Sym, Collection)) or not self._known(x):
            return -1
        return SymSet._k(self, x)

    def has(self, x: Any) -> BoolLike:
        if has_sym(x):
            return b_or(*(b_and(bit, match(x, u)) for u, bit in zip(self.ty.universe, self.bits, strict=True)))
        k = self._k(x)
        return False if k < 0 else self.bits[k]

    def _other_bits(self, other: Any) -> tuple[BoolLike, ...] | None:
        p = self._pair(other)
        if p is None or p[0] is not self:
            return None
        return p[1]

    def _binary(self, o: Any, fn: Callable[[BoolLike, BoolLike], BoolLike]) -> Any:
        p = self._pair(o)
        if p is None:
            return NotImplemented
        a, ob = p
        return DynSet(a.ty, [fn(x, y) for x, y in zip(a.bits, ob, strict=True)], self.name)

    def union(self, *others: Iterable[Any]) -> SymSet:
        out: Any = self
        for o in others:
            if not isinstance(o, (SymSet, frozenset, set)):
                o = frozenset(o)
            out = out._binary(o, b_or)
        return out

    def intersection(self, *others: Iterable[Any]) -> SymSet:
        out: Any = self
        for o in others:
            out = out._binary(o if isinstance(o, (SymSet, frozenset, set)) else frozenset(o), b_and)
        return out

    def difference(self, *others: Iterable[Any]) -> SymSet:
        out: Any = self
        for o in others:
            out = out._binary(o if isinstance(o, (SymSet, frozenset, set)) else frozenset(o),
                              lambda x, y: b_and(x, b_not(y)))
        return out

    def __or__(self, o: Any) -> Any:
        return self._binary(o, b_or)

    __ror__ = __or__

    def __and__(self, o: Any) -> Any:
        return self._binary(o, b_and)

    __rand__ = __and__

    def __sub__(self, o: Any) -> Any:
        return self._binary(o, lambda x, y: b_and(x, b_not(y)))

    def __rsub__(self, o: Any) -> Any:
        return self._binary(o, lambda x, y: b_and(y, b_not(x)))

    def eq(self, o: Any) -> BoolLike:
        p = self._pair(o)
        if p is None:
            return False
        return b_and(*(b_eq(x, y) for x, y in zip(p[0].bits, p[1], strict=True)))

    def subset(self, o: Any) -> BoolLike:
        p = self._pair(o)
        if p is None:
            raise _err(f"<= between a set and {o!r}", self.name)
        return b_and(*(b_or(b_not(x), y) for x, y in zip(p[0].bits, p[1], strict=True)))

    def __ge__(self, o: Any) -> Any:
        p = self._pair(o)
        if p is None:
            raise _err(f">= between a set and {o!r}", self.name)
        r = b_and(*(b_or(b_not(y), x) for x, y in zip(p[0].bits, p[1], strict=True)))
        return r if isinstance(r, bool) else Sym(r, BOOL, None, f"({self.name} >= {_nm(o)})")

    def __iter__(self) -> Iterator[Any]:
        """Plain iteration forks on each element's membership (sound; comprehensions in twins do not)."""
        for b, x in self.pairs():
            if b is True or decide(b):
                yield x

    def __repr__(self) -> str:
        return f"DynSet({self.name}: {list(self.ty.universe)!r})"


class GList(Collection):
    """A list whose elements are present under conditions: ``[m for m in inbox if m.bal == b]``.

    Built by list comprehensions in twins over symbolic sets or with symbolic conditions.
    ``all/any/sum/len``, ``in`` and comprehensions over it build one term; plain iteration
    forks on each element's condition (sound, but exponential: prefer the generator forms).
    """

    __slots__ = ("items", "name")

    def __init__(self, items: Iterable[tuple[BoolLike, Any]], name: str = "list") -> None:
        self.items = tuple((g, v) for g, v in items if g is not False)
        self.name = name

    def pairs(self) -> list[tuple[BoolLike, Any]]:
        return list(self.items)

    def nonempty(self) -> BoolLike:
        return b_or(*(g for g, _v in self.items))

    def match(self, u: Any) -> BoolLike:
        return u is self  # Python's == on an object without __eq__

    def card(self) -> Any:
        if all(isinstance(g, bool) for g, _v in self.items):
            return len(self.items)
        terms = [z3.If(g, z3.IntVal(1), z3.IntVal(0)) if not isinstance(g, bool) else z3.IntVal(int(g))
                 for g, _v in self.items]
        return Sym(z3.Sum(*terms), INT, None, f"len({self.name})")

    def has(self, x: Any) -> BoolLike:
        return b_or(*(b_and(g, match(x, v) if not has_sym(v) else _value_eq(x, v)) for g, v in self.items))

    def __contains__(self, x: Any) -> bool:
        return decide(self.has(x))

    def __bool__(self) -> bool:
        return decide(self.nonempty())

    def __len__(self) -> int:
        c = self.card()
        if isinstance(c, int):
            return c
        for k in range(len(self.items)):
            if decide(c.t == k):
                return k
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        for g, v in self.items:
            if g is True or decide(g):
                yield v

    def __add__(self, o: Any) -> GList:
        if isinstance(o, GList):
            return GList([*self.items, *o.items], self.name)
        if isinstance(o, list):
            return GList([*self.items, *((True, v) for v in o)], self.name)
        return NotImplemented

    def __radd__(self, o: Any) -> GList:
        if isinstance(o, list):
            return GList([*((True, v) for v in o), *self.items], self.name)
        return NotImplemented

    def __getitem__(self, k: Any) -> Any:
        """``xs[k]`` with a concrete index or slice: forks on which elements are present (as plain
        iteration does; sound, exponential in the number of guarded elements)."""
        if isinstance(k, bool) or not isinstance(k, (int, slice)):
            raise SymbolicError(f"indexing a list whose length is symbolic ({self.name}, in {current_function()}) "
                                "by a symbolic index; use all/any/sum/max/min over it")
        return [v for g, v in self.items if g is True or decide(g)][k]  # no __len__: it would fork too

    def __hash__(self) -> int:
        raise SymbolicError(f"a symbolic list cannot be hashed ({self.name}, in {current_function()})")

    def __str__(self) -> str:
        raise _text_refusal(self.name)

    def __format__(self, spec: str) -> str:
        raise _text_refusal(self.name)

    def __repr__(self) -> str:
        return f"GList({self.name}: {[v for _g, v in self.items]!r})"


def _value_eq(a: Any, b: Any) -> BoolLike:
    """Python ``==`` on two values either of which may hold symbolic leaves."""
    if isinstance(b, Sym) and not isinstance(a, Sym):
        a, b = b, a
    if isinstance(a, Sym):
        try:
            return a._eq(b)
        except SymbolicError:
            if isinstance(b, Sym):
                raise
            return False
    if isinstance(a, tuple) and isinstance(b, tuple):
        if type(a) is not type(b) or len(a) != len(b):
            return False
        return b_and(*(_value_eq(x, y) for x, y in zip(a, b, strict=True)))
    return match(a, b) if has_sym(a) else (match(b, a) if has_sym(b) else a == b)


def truth(v: Any) -> BoolLike:
    """Python truthiness of a concrete or symbolic value, without forking."""
    if isinstance(v, Sym):
        return v._truth()
    if isinstance(v, Collection):
        return v.nonempty()
    if isinstance(v, z3.BoolRef):
        return v
    return bool(v)

