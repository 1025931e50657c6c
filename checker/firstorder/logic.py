"""Formulas written once, read two ways: quantified over z3 uninterpreted sorts (the proof) or
expanded over the finite domains of a small instance (the tie to the model).

A protocol's formulas call the connectives of a ``Logic`` and the relations of a ``RelState``;
with ``Z3Logic`` and ``z3_state`` they build the quantified formulas z3 proves for every size,
with ``FiniteLogic`` and ``Struct.state`` (``tie.py``) the same code evaluates on one finite
structure, so what is proved and what is checked against the model cannot drift apart.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import z3

#: A term: a z3 expression (uninterpreted sorts), or on a finite structure an element index or
#: a z3 Int standing for an unknown element.
Term = Any
#: A formula: a z3 BoolRef or, when everything is known, a Python bool.
Form = Any
#: A formula, or a thunk computing it (evaluated only if needed on finite structures).
Lazy = Any


def force(x: Lazy) -> Form:
    """The formula of ``x``, calling it if it is a thunk."""
    return x() if callable(x) else x


class Logic:
    """Connectives and quantifiers; formulas are written once against this interface."""

    def forall(self, sorts: Sequence[str], body: Callable[..., Lazy]) -> Form:
        raise NotImplementedError

    def exists(self, sorts: Sequence[str], body: Callable[..., Lazy]) -> Form:
        raise NotImplementedError

    def and_(self, *xs: Lazy) -> Form:
        raise NotImplementedError

    def or_(self, *xs: Lazy) -> Form:
        raise NotImplementedError

    def not_(self, x: Form) -> Form:
        raise NotImplementedError

    def implies(self, a: Form, b: Lazy) -> Form:
        return self.or_(self.not_(a), b)

    def iff(self, a: Form, b: Form) -> Form:
        raise NotImplementedError

    @staticmethod
    def eq(x: Term, y: Term) -> Form:
        return x == y

    def ne(self, x: Term, y: Term) -> Form:
        return self.not_(self.eq(x, y))


class Z3Logic(Logic):
    """Quantifiers over z3 uninterpreted sorts: the parameterized proof."""

    def __init__(self, sorts: dict[str, Any]) -> None:
        self.sorts = sorts
        self._fresh = itertools.count()

    def _vars(self, sorts: Sequence[str]) -> list[Any]:
        return [z3.Const(f"{s[0].upper()}{next(self._fresh)}", self.sorts[s]) for s in sorts]

    def forall(self, sorts: Sequence[str], body: Callable[..., Lazy]) -> Form:
        if not sorts:  # z3 has no quantifier without variables (a 0-ary relation's frame)
            return force(body())
        xs = self._vars(sorts)
        return z3.ForAll(xs, force(body(*xs)))

    def exists(self, sorts: Sequence[str], body: Callable[..., Lazy]) -> Form:
        if not sorts:
            return force(body())
        xs = self._vars(sorts)
        return z3.Exists(xs, force(body(*xs)))

    def and_(self, *xs: Lazy) -> Form:
        return z3.And([force(x) for x in xs])

    def or_(self, *xs: Lazy) -> Form:
        return z3.Or([force(x) for x in xs])

    def not_(self, x: Form) -> Form:
        return z3.Not(x)

    def implies(self, a: Form, b: Lazy) -> Form:
        return z3.Implies(a, force(b))

    def iff(self, a: Form, b: Form) -> Form:
        return a == b


class FiniteLogic(Logic):
    """Quantifiers expanded over finite domains (elements are indices ``0..size-1``).

    When every symbol is known, formulas evaluate to Python bools (direct evaluation); unknown
    post-state symbols are z3 variables, and the result is a quantifier-free z3 formula.
    """

    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes

    def _quant(self, sorts: Sequence[str], body: Callable[..., Lazy], universal: bool) -> Form:
        """``body`` at every tuple of elements, folded as a conjunction or disjunction."""
        return self._junction(itertools.starmap(body, itertools.product(*(range(self.sizes[s]) for s in sorts))),
                              universal)

    def forall(self, sorts: Sequence[str], body: Callable[..., Lazy]) -> Form:
        return self._quant(sorts, body, True)

    def exists(self, sorts: Sequence[str], body: Callable[..., Lazy]) -> Form:
        return self._quant(sorts, body, False)

    def _junction(self, xs: Iterable[Lazy], conj: bool) -> Form:
        """Short-circuits on a Python bool; what stays unknown is one z3 ``And``/``Or``."""
        parts = []
        for x in xs:
            r = force(x)
            if r is True or r is False:
                if r is not conj:
                    return r
                continue
            parts.append(r)
        if not parts:
            return conj
        if len(parts) == 1:
            return parts[0]
        return z3.And(parts) if conj else z3.Or(parts)

    def and_(self, *xs: Lazy) -> Form:
        return self._junction(xs, True)

    def or_(self, *xs: Lazy) -> Form:
        return self._junction(xs, False)

    def not_(self, x: Form) -> Form:
        if x is True or x is False:
            return not x
        return z3.Not(x)

    def iff(self, a: Form, b: Form) -> Form:
        if b is True or b is False:
            a, b = b, a
        if a is True or a is False:
            if b is True or b is False:
                return a is b
            return b if a else z3.Not(b)
        return a == b


# ----- the state vocabulary: relations over sorts -------------------------------------------


class Signature:
    """A protocol's sorts and its state relations (name -> argument sorts), in a fixed order.

    Every state symbol is a relation: a function into a sort would add a sort edge to the
    alternation graph (``epr.py``), and most protocols' variables fit as relations anyway
    (``max_vbal(a, r)`` for ``maxVBal[a] = r``).
    """

    def __init__(self, sorts: Sequence[str], relations: Mapping[str, Sequence[str]]) -> None:
        self.sorts = tuple(sorts)
        self.relations: dict[str, tuple[str, ...]] = {n: tuple(args) for n, args in relations.items()}
        for name, args in self.relations.items():
            if not name.isidentifier() or name in _RESERVED:
                raise ValueError(f"relation name {name!r} must be an identifier other than {', '.join(_RESERVED)}")
            unknown = [a for a in args if a not in self.sorts]
            if unknown:
                raise ValueError(f"relation {name} has an undeclared sort {unknown[0]!r}; sorts: {', '.join(sorts)}")
        self.names = tuple(self.relations)

    def z3_sorts(self) -> dict[str, Any]:
        """One z3 uninterpreted sort per sort."""
        return {s: z3.DeclareSort(s) for s in self.sorts}

    def z3_state(self, sorts: Mapping[str, Any], suffix: str) -> RelState:
        """The relations as z3 functions named ``name + suffix`` (``""`` for pre, ``"'"`` for post)."""
        return RelState({name: z3.Function(name + suffix, *(sorts[a] for a in args), z3.BoolSort())
                         for name, args in self.relations.items()})


_RESERVED = ("sets", "rel")


class RelState:
    """One state's relations, read as attributes (``s.two_b(a, b, v)``).

    ``sets``, on a finite structure, holds each relation's true tuples (all within the
    domains), so that a frame condition is one set comparison instead of a quantifier
    expanded tuple by tuple (``Formulas.same``).
    """

    def __init__(self, relations: Mapping[str, Callable[..., Form]],
                 sets: dict[str, frozenset[tuple[int, ...]]] | None = None) -> None:
        self.__dict__.update(relations)
        self.sets = sets

    def rel(self, name: str) -> Callable[..., Form]:
        """The relation called ``name``."""
        fn: Callable[..., Form] = self.__dict__[name]
        return fn

    def __getattr__(self, name: str) -> Callable[..., Form]:  # only for names not set above
        raise AttributeError(f"this state has no relation {name!r}")
