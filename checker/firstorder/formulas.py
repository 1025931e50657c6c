"""What a protocol writes for a parameterized proof: ``Formulas`` (axioms, Init, one formula
per action, the invariant's conjuncts, safety), with the frame conditions written once here.

Each action is a body over its parameters (``step(name, s, t, *w)``, sorts in
``action_params``); its transition formula is the existential over them (``action``).  The
frame helpers (``same``, ``add``, ``remove``, ``assign``) give every symbol an action leaves
alone or changes in a standard way its formula; on two finite structures (``RelState.sets``)
each is decided by comparing sets, which is what the quantified formula says when every tuple
lies in the domains (``tests/checker/test_firstorder.py`` pins the equivalence).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .logic import FiniteLogic, Form, Lazy, Logic, RelState, Signature, Term, force


@dataclass
class Conjunct:
    """One named conjunct of an inductive invariant."""

    name: str
    doc: str
    formula: Callable[[RelState], Form]


class Formulas:
    """A protocol's formulas over any ``Logic``; subclasses set the class variables and write
    ``init``, ``step``, ``invariant`` and ``safety`` (and ``axioms`` for a theory)."""

    signature: ClassVar[Signature]
    #: Action names, in the order their obligations are listed.
    actions: ClassVar[tuple[str, ...]]
    #: Each action's parameter sorts (its transition formula is an existential over them).
    action_params: ClassVar[Mapping[str, Sequence[str]]]

    #: Names of wrong transition formulas (planted bugs) a subclass accepts as ``variant``.
    variants: ClassVar[tuple[str, ...]] = ()

    def __init__(self, logic: Logic, theory: Any = None, variant: str | None = None) -> None:
        if variant is not None and variant not in self.variants:
            raise ValueError(f"unknown formula variant {variant!r}; variants: {', '.join(self.variants)}")
        self.L, self.th, self.variant = logic, theory, variant
        self._rows: dict[str, list[tuple[int, ...]]] = {}  # each relation's rows, for ``assign``

    # ----- what a protocol writes -----
    def axioms(self) -> list[tuple[str, Form]]:
        """Named axioms of the immutable symbols (none by default)."""
        return []

    def init(self, s: RelState) -> Form:
        raise NotImplementedError

    def step(self, name: str, s: RelState, t: RelState, *w: Term) -> Form:
        """The body of action ``name`` at parameters ``w`` (sorts ``action_params[name]``)."""
        raise NotImplementedError

    def invariant(self) -> list[Conjunct]:
        raise NotImplementedError

    def safety(self, s: RelState) -> Form:
        raise NotImplementedError

    # ----- derived -----
    def action(self, name: str, s: RelState, t: RelState) -> Form:
        """``exists w. step(name, s, t, w)``: the transition formula of one action."""
        return self.L.exists(self.action_params[name], lambda *w: self.step(name, s, t, *w))

    def induction_action(self, name: str, s: RelState, t: RelState) -> Form:
        """The transition formula the induction queries use (an equivalent stratified form
        where the literal one is not, proved equivalent by obligations of the protocol's own)."""
        return self.action(name, s, t)

    # ----- frame conditions -----
    def same(self, s: RelState, t: RelState, names: Iterable[str]) -> list[Lazy]:
        """``name' = name`` for each of ``names``."""
        L, sig = self.L, self.signature.relations
        out: list[Lazy] = []
        for name in names:
            if s.sets is not None and t.sets is not None:
                out.append(s.sets[name] == t.sets[name])
                continue
            f, g, args = s.rel(name), t.rel(name), sig[name]
            out.append(lambda f=f, g=g, args=args: L.forall(args, lambda *x: L.iff(g(*x), f(*x))))
        return out

    def unchanged_except(self, s: RelState, t: RelState, *changed: str) -> list[Lazy]:
        """The frame: every relation but ``changed`` stays."""
        return self.same(s, t, [n for n in self.signature.names if n not in changed])

    def add(self, s: RelState, t: RelState, name: str, tup: tuple[Term, ...]) -> Lazy:
        """``name' = name | {tup}`` (a message sent to a grow-only set, say)."""
        return self._update(s, t, name, tup, True)

    def remove(self, s: RelState, t: RelState, name: str, tup: tuple[Term, ...]) -> Lazy:
        """``name' = name - {tup}`` (a message received and consumed, say)."""
        return self._update(s, t, name, tup, False)

    def take(self, s: RelState, t: RelState, name: str, gone: tuple[Term, ...],
             added: tuple[Term, ...] | None = None) -> Lazy:
        """``name'`` is ``name`` with ``added`` in and ``gone`` perhaps out: one copy of a bag's
        message consumed, where ``name`` abstracts the bag (the tuple stays while another copy,
        or another message with the same abstraction, is in flight), and a reply perhaps sent."""
        L = self.L
        if (s.sets is not None and t.sets is not None and all(type(m) is int for m in gone)
                and (added is None or all(type(m) is int for m in added))):
            ss, ts, plus = s.sets[name], t.sets[name], frozenset() if added is None else frozenset({added})
            return lambda: (ss - {gone}) | plus <= ts <= ss | plus
        f, g = s.rel(name), t.rel(name)

        def at(x: tuple[Term, ...], tup: tuple[Term, ...]) -> Lazy:
            return lambda: L.and_(*(L.eq(xi, mi) for xi, mi in zip(x, tup, strict=True)))

        def new(x: tuple[Term, ...]) -> Lazy:
            return False if added is None else at(x, added)

        # x' iff x is the reply, or x was in and (x is not the consumed tuple, or x stays)
        return lambda: L.forall(self.signature.relations[name], lambda *x: L.iff(g(*x), L.or_(
            new(x), lambda: L.and_(f(*x), lambda: L.or_(lambda: L.not_(force(at(x, gone))), g(*x))))))

    def _update(self, s: RelState, t: RelState, name: str, tup: tuple[Term, ...], present: bool) -> Lazy:
        L = self.L
        if s.sets is not None and t.sets is not None and all(type(m) is int for m in tup):
            ss, ts = s.sets, t.sets
            if present:
                return lambda: ts[name] == ss[name] | {tup}
            return lambda: ts[name] == ss[name] - {tup}
        f, g = s.rel(name), t.rel(name)

        def at(x: tuple[Term, ...]) -> Lazy:
            return lambda: L.and_(*(L.eq(xi, mi) for xi, mi in zip(x, tup, strict=True)))

        if present:
            return lambda: L.forall(self.signature.relations[name], lambda *x: L.iff(g(*x), L.or_(f(*x), at(x))))
        return lambda: L.forall(self.signature.relations[name], lambda *x: L.iff(
            g(*x), L.and_(f(*x), lambda: L.not_(force(at(x))))))

    def assign(self, s: RelState, t: RelState, name: str, a0: Term, new: Callable[..., Form]) -> Lazy:
        """Row ``a0`` of ``name`` (its first argument) becomes ``new(*rest)``, the other rows stay."""
        L = self.L
        f, g = s.rel(name), t.rel(name)
        args = self.signature.relations[name]

        def expanded() -> Form:
            return L.forall(args, lambda a, *x: L.and_(
                L.implies(L.eq(a, a0), lambda: L.iff(g(a, *x), new(*x))),
                L.implies(L.ne(a, a0), lambda: L.iff(g(a, *x), f(a, *x)))))

        if s.sets is None or t.sets is None or type(a0) is not int or not isinstance(L, FiniteLogic):
            return expanded
        ss, ts = s.sets, t.sets
        rows = self._rows.get(name)
        if rows is None:
            rows = self._rows[name] = list(itertools.product(*(range(L.sizes[a]) for a in args[1:])))

        def on_sets() -> Form:
            row = [force(new(*x)) for x in rows]
            if not all(r is True or r is False for r in row):
                return expanded()
            want = {(a0, *x) for x, r in zip(rows, row, strict=True) if r}
            return ts[name] == frozenset(e for e in ss[name] if e[0] != a0) | want

        return on_sets


def total_order(L: Logic, le: Callable[[Term, Term], Form], sort: str) -> list[tuple[str, Form]]:
    """The axioms of a total order ``le`` on ``sort``."""
    S = [sort]
    return [
        ("le_reflexive", L.forall(S, lambda x: le(x, x))),
        ("le_transitive", L.forall(S * 3, lambda x, y, z: L.implies(L.and_(le(x, y), le(y, z)), le(x, z)))),
        ("le_antisymmetric", L.forall(S * 2, lambda x, y: L.implies(L.and_(le(x, y), le(y, x)), L.eq(x, y)))),
        ("le_total", L.forall(S * 2, lambda x, y: L.or_(le(x, y), le(y, x)))),
    ]


def quorums_intersect(L: Logic, member: Callable[[Term, Term], Form], elem: str, quorum: str) -> tuple[str, Form]:
    """Any two quorums share a member: ``forall q1 q2. exists a. member(a, q1) & member(a, q2)``."""
    return ("quorum_intersection", L.forall([quorum, quorum], lambda q1, q2: L.exists(
        [elem], lambda a: L.and_(member(a, q1), member(a, q2)))))
