"""Parameterized proof of Paxos agreement: any number of acceptors, values and ballots.

What is proved
--------------
Agreement (no two different values are chosen) for single-decree Paxos with the semantics of
``Paxos.tla`` (Lamport, "The Paxos Algorithm or How to Win a Turing Award"), for EVERY number
of acceptors, values and ballots and every family of quorums that pairwise intersect -- not
for one configuration.  The protocol is written in the decidable style of Ivy/mypyvy:

- uninterpreted sorts ``acceptor``, ``ballot``, ``value``, ``quorum``;
- ``le(ballot, ballot)`` with the axioms of a total order, and a constant ``minus1`` (the -1 of
  Paxos.tla: "no ballot") that is below every ballot; real ballots are the ones ``!= minus1``;
- a constant ``none`` of sort value (the ``None`` of Paxos.tla: "no value"); real values are
  the ones ``!= none``;
- ``member(acceptor, quorum)`` with the quorum-intersection axiom
  ``forall q1 q2. exists a. member(a, q1) & member(a, q2)`` (majorities are one such family);
- the acceptor variables as relations: ``bal_gt(a, r)`` is ``r < maxBal[a]`` (Ivy's
  ``left_rnd``; maxBal = -1 is the empty row), ``max_vbal(a, r)`` is ``maxVBal[a] = r`` and
  ``max_val(a, v)`` is ``maxVal[a] = v`` (-1 and None are the explicit elements above); the
  message set as four relations ``one_a(b)``, ``one_b(a, b, mbal, mval)`` (``mbal = minus1,
  mval = none`` when there is no vote), ``two_a(b, v)``, ``two_b(a, b, v)``.  (Functions
  acceptor -> ballot would close a cycle with SafeAt's ballot -> acceptor alternation.)
- ``Init``, and one transition formula per Paxos.tla action (Phase1a, Phase1b, Phase2a,
  Phase2b), each with explicit frame conditions for every symbol it leaves unchanged;
- ``Agreement``: ``chosen(v) = exists b q. forall a. member(a, q) -> two_b(a, b, v)`` and
  ``chosen(v1) & chosen(v2) -> v1 = v2``;
- an inductive invariant (``PaxosFormulas.invariant``), the standard one of the TLAPS proof
  of Paxos.tla, with ``SafeAt`` written in Ivy's stratified form (see ``two_a_safe``); each of
  its conjuncts is needed (the tests drop each in turn and get a counterexample).

z3 checks, each as its own query with a timeout: ``Init => C`` and ``Inv & T_action => C'``
for every conjunct ``C`` and action, and ``Inv => Agreement``.  Phase2a's guard as Paxos.tla
writes it ("every acceptor of Q sent a 1b for b": acceptor -> ballot) is the one unstratified
piece; so the induction queries use a stratified guard (promises and votes of Q, as in Ivy's
"Paxos made EPR"), and two more obligations prove, per case of the guard (no vote reported /
highest vote reported), that Paxos.tla's guard implies it under the alternation-free conjuncts
of the invariant.  Hence the proof covers Paxos.tla's Phase2a itself.  A query z3 gives up on is
reported ``unknown``, never as success.  Every query is checked to have a stratified
quantifier-alternation graph (its edges are quorum, ballot, value -> acceptor; no cycle), so
it lies in the decidable EPR fragment (finitely many Skolem terms) and z3's model-based
quantifier instantiation terminates on it: each query takes milliseconds, and a wrong
invariant or transition gives a finite counterexample to induction (``counterexample``).

What it assumes
---------------
- Pairwise-intersecting quorums (an axiom: checked on each small instance by the conformance
  check, where the quorums are the model's majorities; the ``minority-quorums`` variant fails it).
- The ballots are totally ordered (no arithmetic is needed: ``c < b`` replaces ``0..b-1``).
- The TLA+ semantics of the message set: it only grows, so re-sending is a stutter.
- The proof is about these formulas; what ties it to ``models/paxos.py`` is
  ``conform_paxos_param``: on small instances it maps every reachable state of the model to a
  finite structure of this vocabulary and checks (a) the initial state satisfies ``Init``,
  (b) every explored edge satisfies the formula of its action (or is a stutter), (c) every
  reachable state satisfies the invariant, and the formula's ``chosen``/``Agreement`` agree with
  the model's, (d) conversely, for a sample of reachable states, every successor the
  transition formulas allow on the finite structure (enumerated with z3) is the encoding of a
  concrete successor.  The abstraction is also checked to be injective and faithful (1a/2a are
  broadcast to every acceptor at once, a leader's ``proposed`` flag is "a 2a for my ballot was
  sent").  It fails on the planted-bug variants of the model, so it is not vacuous.

Verdicts: ``proved`` when every obligation is valid; ``unknown`` otherwise (a failed induction
step is a counterexample to induction, not a reachable violation, and a timeout is a timeout).
``violated`` is reserved for a reachable violation, which this engine never claims; the
explicit checker and BMC on ``models/paxos.py`` find those.

Run: ``python -m protoproof.proofs.paxos_param`` (prints one line per obligation and the
conformance results).
"""

from __future__ import annotations

import itertools
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ..checker.verdict import PROVED, UNKNOWN

ACCEPTOR, BALLOT, VALUE, QUORUM = "acceptor", "ballot", "value", "quorum"
SORTS = (ACCEPTOR, BALLOT, VALUE, QUORUM)

#: A term: a z3 expression (uninterpreted sorts), or on a finite structure an element index or
#: a z3 Int standing for an unknown element.
Term = Any
#: A formula: a z3 BoolRef or, when everything is known, a Python bool.
Form = Any
#: A formula, or a thunk computing it (evaluated only if needed on finite structures).
Lazy = Any

#: The state symbols, all relations: name -> argument sorts.
SIGNATURE: dict[str, tuple[str, ...]] = {
    "bal_gt": (ACCEPTOR, BALLOT),  # bal_gt(a, r): r < maxBal[a] (Ivy's left_rnd)
    "max_vbal": (ACCEPTOR, BALLOT),  # max_vbal(a, r): maxVBal[a] = r
    "max_val": (ACCEPTOR, VALUE),  # max_val(a, v): maxVal[a] = v
    "one_a": (BALLOT,),
    "one_b": (ACCEPTOR, BALLOT, BALLOT, VALUE),
    "two_a": (BALLOT, VALUE),
    "two_b": (ACCEPTOR, BALLOT, VALUE),
}
SYMBOLS = tuple(SIGNATURE)

ACTIONS = ("Phase1a", "Phase1b", "Phase2a", "Phase2b")

#: Wrong transition formulas, named after the model's planted bugs (``Paxos.with_variant``).
FORMULA_VARIANTS = ("accept-below-promise", "propose-twice", "ignore-votes")

VALID, INVALID = "valid", "invalid"


def _force(x: Lazy) -> Form:
    return x() if callable(x) else x


# ----- two logics: quantifiers over uninterpreted sorts, or over finite domains ----------


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
        xs = self._vars(sorts)
        return z3.ForAll(xs, _force(body(*xs)))

    def exists(self, sorts: Sequence[str], body: Callable[..., Lazy]) -> Form:
        xs = self._vars(sorts)
        return z3.Exists(xs, _force(body(*xs)))

    def and_(self, *xs: Lazy) -> Form:
        return z3.And([_force(x) for x in xs])

    def or_(self, *xs: Lazy) -> Form:
        return z3.Or([_force(x) for x in xs])

    def not_(self, x: Form) -> Form:
        return z3.Not(x)

    def implies(self, a: Form, b: Lazy) -> Form:
        return z3.Implies(a, _force(b))

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
        parts = []
        for combo in itertools.product(*(range(self.sizes[s]) for s in sorts)):
            r = _force(body(*combo))
            if r is True or r is False:
                if r is not universal:
                    return r
                continue
            parts.append(r)
        if not parts:
            return universal
        if len(parts) == 1:
            return parts[0]
        return z3.And(parts) if universal else z3.Or(parts)

    def forall(self, sorts: Sequence[str], body: Callable[..., Lazy]) -> Form:
        return self._quant(sorts, body, True)

    def exists(self, sorts: Sequence[str], body: Callable[..., Lazy]) -> Form:
        return self._quant(sorts, body, False)

    def _junction(self, xs: Sequence[Lazy], conj: bool) -> Form:
        parts = []
        for x in xs:
            r = _force(x)
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


# ----- the vocabulary ----------------------------------------------------------------


@dataclass
class Theory:
    """The immutable symbols: the ballot order, quorum membership, -1 and None."""

    le: Callable[[Term, Term], Form]
    lt: Callable[[Term, Term], Form]
    member: Callable[[Term, Term], Form]
    minus1: Term
    none: Term


@dataclass
class State:
    """One state's relations (see ``SIGNATURE``)."""

    bal_gt: Callable[[Term, Term], Form]
    max_vbal: Callable[[Term, Term], Form]
    max_val: Callable[[Term, Term], Form]
    one_a: Callable[[Term], Form]
    one_b: Callable[[Term, Term, Term, Term], Form]
    two_a: Callable[[Term, Term], Form]
    two_b: Callable[[Term, Term, Term], Form]


def _z3_vocabulary() -> tuple[dict[str, Any], Theory]:
    sorts = {s: z3.DeclareSort(s) for s in SORTS}
    B = sorts[BALLOT]
    le = z3.Function("le", B, B, z3.BoolSort())
    member = z3.Function("member", sorts[ACCEPTOR], sorts[QUORUM], z3.BoolSort())
    th = Theory(
        le=le,
        lt=lambda x, y: z3.And(le(x, y), x != y),
        member=member,
        minus1=z3.Const("minus1", B),
        none=z3.Const("none", sorts[VALUE]),
    )
    return sorts, th


def _z3_state(sorts: dict[str, Any], suffix: str) -> State:
    return State(**{name: z3.Function(name + suffix, *(sorts[a] for a in args), z3.BoolSort())
                     for name, args in SIGNATURE.items()})


# ----- the protocol ----------------------------------------------------------------------


@dataclass
class Conjunct:
    name: str
    doc: str
    formula: Callable[[State], Form]


class PaxosFormulas:
    """Init, the four actions, the invariant and agreement, over any ``Logic``."""

    def __init__(self, logic: Logic, theory: Theory, variant: str | None = None) -> None:
        if variant is not None and variant not in FORMULA_VARIANTS:
            raise ValueError(f"unknown formula variant {variant!r}; variants: {', '.join(FORMULA_VARIANTS)}")
        self.L, self.th, self.variant = logic, theory, variant

    # ----- axioms -----
    def axioms(self) -> list[tuple[str, Form]]:
        L, th = self.L, self.th
        le, eq = th.le, L.eq
        B = [BALLOT]
        return [
            ("le_reflexive", L.forall(B, lambda x: le(x, x))),
            ("le_transitive", L.forall(B * 3, lambda x, y, z: L.implies(L.and_(le(x, y), le(y, z)), le(x, z)))),
            ("le_antisymmetric", L.forall(B * 2, lambda x, y: L.implies(L.and_(le(x, y), le(y, x)), eq(x, y)))),
            ("le_total", L.forall(B * 2, lambda x, y: L.or_(le(x, y), le(y, x)))),
            ("minus1_least", L.forall(B, lambda x: le(th.minus1, x))),
            ("quorum_intersection", L.forall([QUORUM, QUORUM], lambda q1, q2: L.exists(
                [ACCEPTOR], lambda a: L.and_(th.member(a, q1), th.member(a, q2))))),
        ]

    # ----- frame conditions -----
    def _same(self, s: State, t: State, names: Iterable[str]) -> list[Lazy]:
        L = self.L
        out: list[Lazy] = []
        for name in names:
            f, g, args = getattr(s, name), getattr(t, name), SIGNATURE[name]
            out.append(lambda f=f, g=g, args=args: L.forall(args, lambda *x: L.iff(g(*x), f(*x))))
        return out

    def _unchanged_except(self, s: State, t: State, *changed: str) -> list[Lazy]:
        return self._same(s, t, [n for n in SYMBOLS if n not in changed])

    def _send(self, s: State, t: State, name: str, msg: tuple[Term, ...]) -> Lazy:
        """``name' = name \\cup {msg}``."""
        L = self.L
        f, g = getattr(s, name), getattr(t, name)
        return lambda: L.forall(SIGNATURE[name], lambda *x: L.iff(
            g(*x), L.or_(f(*x), lambda: L.and_(*(L.eq(xi, mi) for xi, mi in zip(x, msg))))))

    def _assign(self, s: State, t: State, name: str, a0: Term, new: Callable[[Term], Form]) -> Lazy:
        """Acceptor a0's row of ``name`` becomes ``new``, the other rows stay."""
        L = self.L
        f, g = getattr(s, name), getattr(t, name)
        return lambda: L.forall(SIGNATURE[name], lambda a, x: L.and_(
            L.implies(L.eq(a, a0), lambda: L.iff(g(a, x), new(x))),
            L.implies(L.ne(a, a0), lambda: L.iff(g(a, x), f(a, x)))))

    # ----- Init and the actions of Paxos.tla -----
    def init(self, s: State) -> Form:
        """maxBal = maxVBal = [a |-> -1], maxVal = [a |-> None], msgs = {}."""
        L, th = self.L, self.th
        A, B, V = ACCEPTOR, BALLOT, VALUE
        return L.and_(
            L.forall([A, B], lambda a, r: L.not_(s.bal_gt(a, r))),
            lambda: L.forall([A, B], lambda a, r: L.iff(s.max_vbal(a, r), L.eq(r, th.minus1))),
            lambda: L.forall([A, V], lambda a, v: L.iff(s.max_val(a, v), L.eq(v, th.none))),
            lambda: L.forall([B], lambda b: L.not_(s.one_a(b))),
            lambda: L.forall([A, B, B, V], lambda a, b, mb, mv: L.not_(s.one_b(a, b, mb, mv))),
            lambda: L.forall([B, V], lambda b, v: L.not_(s.two_a(b, v))),
            lambda: L.forall([A, B, V], lambda a, b, v: L.not_(s.two_b(a, b, v))),
        )

    def phase1a(self, s: State, t: State) -> Form:
        """Phase1a(b): send 1a(b), b a ballot."""
        L, th = self.L, self.th
        return L.exists([BALLOT], lambda b: L.and_(
            L.ne(b, th.minus1),
            self._send(s, t, "one_a", (b,)),
            *self._unchanged_except(s, t, "one_a")))

    def phase1b(self, s: State, t: State) -> Form:
        """Phase1b(a): on a 1a(b) with b > maxBal[a], set maxBal[a] := b and send
        1b(a, b, maxVBal[a], maxVal[a]).  ``b > maxBal[a]`` is ``exists r < b. ~(r < maxBal[a])``."""
        L, th = self.L, self.th
        return L.exists([ACCEPTOR, BALLOT, BALLOT, BALLOT, VALUE], lambda a, b, r, vb, vv: L.and_(
            s.one_a(b),
            lambda: th.lt(r, b),
            lambda: L.not_(s.bal_gt(a, r)),
            lambda: s.max_vbal(a, vb),
            lambda: s.max_val(a, vv),
            self._assign(s, t, "bal_gt", a, lambda x: th.lt(x, b)),
            self._send(s, t, "one_b", (a, b, vb, vv)),
            *self._unchanged_except(s, t, "bal_gt", "one_b")))

    def _quorum_reported(self, s: State, b: Term, q: Term) -> Form:
        """Every acceptor of q sent a 1b for ballot b."""
        L, th = self.L, self.th
        return L.forall([ACCEPTOR], lambda a: L.implies(th.member(a, q), lambda: L.exists(
            [BALLOT, VALUE], lambda mb, mv: s.one_b(a, b, mb, mv))))

    def _voted(self, s: State, b: Term, q: Term, a: Term, mb: Term, mv: Term) -> Form:
        """a is in q and its 1b for b reports a vote (mb, mv)."""
        L, th = self.L, self.th
        return L.and_(th.member(a, q), lambda: s.one_b(a, b, mb, mv), lambda: L.ne(mb, th.minus1))

    def guard_cases(self, s: State) -> list[tuple[str, list[str], Callable[..., Form], Callable[..., Form]]]:
        """Phase2a's quorum guard as cases ``(name, witness sorts, tla(b, v, q, *w), epr(b, v, q, *w))``.

        ``tla`` is Paxos.tla's condition on the 1b messages (``forall a in q. exists 1b``: an
        acceptor -> ballot edge that, with SafeAt's ballot -> acceptor edge, would make the
        induction queries unstratified).  ``epr`` is a stratified condition on promises and
        votes (as in Ivy's "Paxos made EPR"); ``tla => epr`` under the universal conjuncts of
        the invariant is its own (stratified) obligation, so the proof covers Paxos.tla's action.
        """
        L, th = self.L, self.th
        A, B, V = ACCEPTOR, BALLOT, VALUE

        def reported(b: Term, q: Term) -> Form:
            return self._quorum_reported(s, b, q)

        def promised(b: Term, q: Term) -> Form:
            """Every acceptor of q has maxBal >= b."""
            return L.forall([A, B], lambda n, r: L.implies(
                L.and_(th.member(n, q), lambda: th.lt(r, b)), lambda: s.bal_gt(n, r)))

        def silent(b: Term, q: Term, lo: Term | None) -> Form:
            """No acceptor of q voted at a ballot c with lo < c < b (any c < b if lo is None)."""
            return L.forall([A, B, V], lambda n, c, w: L.implies(
                L.and_(th.member(n, q), lambda: th.lt(c, b), lambda: True if lo is None else th.lt(lo, c)),
                lambda: L.not_(s.two_b(n, c, w))))

        if self.variant == "ignore-votes":
            return [("any value", [], lambda b, v, q: reported(b, q), lambda b, v, q: promised(b, q))]

        def no_votes(b: Term, v: Term, q: Term) -> Form:
            return L.and_(reported(b, q), lambda: L.forall(
                [A, B, V], lambda a, mb, mv: L.not_(self._voted(s, b, q, a, mb, mv))))

        def highest(b: Term, v: Term, q: Term, a0: Term, mb0: Term) -> Form:
            return L.and_(reported(b, q), lambda: self._voted(s, b, q, a0, mb0, v), lambda: L.forall(
                [A, B, V], lambda a, mb, mv: L.implies(self._voted(s, b, q, a, mb, mv), lambda: th.le(mb, mb0))))

        return [
            ("no vote reported", [], no_votes,
             lambda b, v, q: L.and_(promised(b, q), lambda: silent(b, q, None))),
            ("highest vote reported", [A, B], highest,
             lambda b, v, q, a0, mb0: L.and_(promised(b, q), lambda: s.two_a(mb0, v), lambda: silent(b, q, mb0))),
        ]

    def phase2a(self, s: State, t: State, stratified: bool = False) -> Form:
        """Phase2a(b, v): no 2a for b yet, a quorum's 1bs for b all received, v safe by them.

        ``stratified=True`` gives the form used in the induction queries (``guard_cases``)."""
        L, th = self.L, self.th
        fresh = self.variant != "propose-twice"
        cases = self.guard_cases(s)
        k = 1 if stratified else 0

        def guard(b: Term, v: Term) -> Form:
            return L.exists([QUORUM], lambda q: L.or_(*(
                (lambda c=c: L.exists(c[1], lambda *w: c[2 + k](b, v, q, *w)) if c[1] else c[2 + k](b, v, q))
                for c in cases)))

        return L.exists([BALLOT, VALUE], lambda b, v: L.and_(
            L.ne(b, th.minus1),
            lambda: L.ne(v, th.none),
            lambda: L.forall([VALUE], lambda w: L.not_(s.two_a(b, w))) if fresh else True,
            lambda: guard(b, v),
            self._send(s, t, "two_a", (b, v)),
            *self._unchanged_except(s, t, "two_a")))

    def phase2b(self, s: State, t: State) -> Form:
        """Phase2b(a): on a 2a(b, v) with b >= maxBal[a] (``~(b < maxBal[a])``), vote:
        maxBal[a] := b, maxVBal[a] := b, maxVal[a] := v, send 2b(a, b, v)."""
        L, th = self.L, self.th
        if self.variant == "accept-below-promise":
            # No promise check, and maxBal[a] := max(b, maxBal[a]) (as the model's planted bug).
            def guard(a: Term, b: Term) -> Lazy:
                return True

            def bal(a: Term, b: Term) -> Lazy:
                return self._assign(s, t, "bal_gt", a, lambda x: L.or_(s.bal_gt(a, x), lambda: th.lt(x, b)))
        else:
            def guard(a: Term, b: Term) -> Lazy:
                return lambda: L.not_(s.bal_gt(a, b))

            def bal(a: Term, b: Term) -> Lazy:
                return self._assign(s, t, "bal_gt", a, lambda x: th.lt(x, b))

        return L.exists([ACCEPTOR, BALLOT, VALUE], lambda a, b, v: L.and_(
            s.two_a(b, v),
            guard(a, b),
            bal(a, b),
            self._assign(s, t, "max_vbal", a, lambda x: L.eq(x, b)),
            self._assign(s, t, "max_val", a, lambda x: L.eq(x, v)),
            self._send(s, t, "two_b", (a, b, v)),
            *self._unchanged_except(s, t, "bal_gt", "max_vbal", "max_val", "two_b")))

    def action(self, name: str, s: State, t: State, stratified: bool = False) -> Form:
        if name == "Phase2a":
            return self.phase2a(s, t, stratified)
        return {"Phase1a": self.phase1a, "Phase1b": self.phase1b, "Phase2b": self.phase2b}[name](s, t)

    # ----- safety -----
    def chosen(self, s: State, v: Term) -> Form:
        """Some quorum voted v in one ballot."""
        L, th = self.L, self.th
        return L.exists([BALLOT, QUORUM], lambda b, q: L.forall(
            [ACCEPTOR], lambda a: L.implies(th.member(a, q), lambda: s.two_b(a, b, v))))

    def agreement(self, s: State) -> Form:
        L = self.L
        return L.forall([VALUE, VALUE], lambda v1, v2: L.implies(
            L.and_(self.chosen(s, v1), lambda: self.chosen(s, v2)), lambda: L.eq(v1, v2)))

    def invariant(self) -> list[Conjunct]:
        """The inductive strengthening; every conjunct is needed (tests drop each in turn)."""
        L, th = self.L, self.th
        A, B, V, Q = ACCEPTOR, BALLOT, VALUE, QUORUM
        le, lt, eq, ne = th.le, th.lt, L.eq, L.ne

        def bal_gt_down(s: State) -> Form:
            return L.forall([A, B, B], lambda a, r, r2: L.implies(
                L.and_(s.bal_gt(a, r), lambda: le(r2, r)), lambda: s.bal_gt(a, r2)))

        def acc_voted_last(s: State) -> Form:
            return L.forall([A, B, V], lambda a, vb, vv: L.implies(
                L.and_(s.max_vbal(a, vb), lambda: s.max_val(a, vv), lambda: ne(vb, th.minus1)),
                lambda: s.two_b(a, vb, vv)))

        def votes_at_most_vbal(s: State) -> Form:
            return L.forall([A, B, V, B], lambda a, b, v, vb: L.implies(
                L.and_(s.two_b(a, b, v), lambda: s.max_vbal(a, vb)), lambda: le(b, vb)))

        def votes_at_most_bal(s: State) -> Form:
            return L.forall([A, B, V, B], lambda a, b, v, r: L.implies(
                L.and_(s.two_b(a, b, v), lambda: lt(r, b)), lambda: s.bal_gt(a, r)))

        def one_b_at_most_promise(s: State) -> Form:
            return L.forall([A, B, B, V, B], lambda a, b, mb, mv, r: L.implies(
                L.and_(s.one_b(a, b, mb, mv), lambda: lt(r, b)), lambda: s.bal_gt(a, r)))

        def one_b_reports_vote(s: State) -> Form:
            return L.forall([A, B, B, V], lambda a, b, mb, mv: L.implies(
                L.and_(s.one_b(a, b, mb, mv), lambda: ne(mb, th.minus1)), lambda: s.two_b(a, mb, mv)))

        def one_b_no_vote_between(s: State) -> Form:
            return L.forall([A, B, B, V, B, V], lambda a, b, mb, mv, c, v: L.implies(
                L.and_(s.one_b(a, b, mb, mv), lambda: s.two_b(a, c, v), lambda: lt(mb, c)), lambda: le(b, c)))

        def two_a_real(s: State) -> Form:
            return L.forall([B, V], lambda b, v: L.implies(
                s.two_a(b, v), lambda: L.and_(ne(b, th.minus1), lambda: ne(v, th.none))))

        def two_a_unique(s: State) -> Form:
            return L.forall([B, V, V], lambda b, v1, v2: L.implies(
                L.and_(s.two_a(b, v1), lambda: s.two_a(b, v2)), lambda: eq(v1, v2)))

        def two_a_safe(s: State) -> Form:
            return L.forall([B, V, B, V, Q], lambda b, v, c, w, q: L.implies(
                L.and_(s.two_a(b, v), lambda: lt(c, b), lambda: ne(w, v)),
                lambda: L.exists([A], lambda a: L.and_(
                    th.member(a, q), lambda: s.bal_gt(a, c), lambda: L.not_(s.two_b(a, c, w))))))

        def two_b_has_two_a(s: State) -> Form:
            return L.forall([A, B, V], lambda a, b, v: L.implies(s.two_b(a, b, v), lambda: s.two_a(b, v)))

        return [
            Conjunct("bal_gt_down", "bal_gt(a, .) is downward closed (it is {r : r < maxBal[a]})", bal_gt_down),
            Conjunct("acc_voted_last", "an acceptor with maxVBal >= 0 sent 2b(a, maxVBal, maxVal)", acc_voted_last),
            Conjunct("votes_at_most_vbal", "every 2b of a is at a ballot <= maxVBal[a]", votes_at_most_vbal),
            Conjunct("votes_at_most_bal", "every 2b of a is at a ballot <= maxBal[a]", votes_at_most_bal),
            Conjunct("one_b_at_most_promise", "a 1b(a, b, ...) has b <= maxBal[a]", one_b_at_most_promise),
            Conjunct("one_b_reports_vote", "a 1b(a, b, mbal, mval) with mbal >= 0 reports a's 2b(a, mbal, mval)",
                     one_b_reports_vote),
            Conjunct("one_b_no_vote_between", "a 1b(a, b, mbal, _): a cast no vote at a ballot in (mbal, b)",
                     one_b_no_vote_between),
            Conjunct("two_a_real", "a 2a(b, v) has a real ballot and value (b >= 0, v != None)", two_a_real),
            Conjunct("two_a_unique", "at most one 2a per ballot", two_a_unique),
            Conjunct("two_a_safe", "SafeAt(b, v) for a 2a(b, v), Ivy's form: for every c < b, value w != v and "
                     "quorum q, some a in q has maxBal[a] > c and did not vote w in c (w is not choosable in c)",
                     two_a_safe),
            Conjunct("two_b_has_two_a", "a 2b(a, b, v) has the 2a(b, v)", two_b_has_two_a),
        ]


# ----- quantifier alternation (stratification) -------------------------------------------


def alternation_edges(formulas: Sequence[Any]) -> set[tuple[str, str]]:
    """The sort edges of the conjunction of ``formulas`` (as asserted): ``s -> t`` when an
    existential of sort t is under a universal of sort s (after moving to prenex/Skolem form),
    or a function maps s to t.  No cycle => finitely many ground terms (EPR-style, decidable)."""
    edges: set[tuple[str, str]] = set()
    seen: set[tuple[int, int, tuple[str, ...]]] = set()

    def walk(e: Any, pol: int, univ: tuple[str, ...]) -> None:
        key = (e.get_id(), pol, univ)
        if key in seen:
            return
        seen.add(key)
        if z3.is_quantifier(e):
            sorts = tuple(e.var_sort(i).name() for i in range(e.num_vars()))
            forall = e.is_forall()
            if pol == 0 or (forall == (pol == 1)):
                inner = tuple(sorted(set(univ) | set(sorts)))
            else:
                inner = univ
            if pol == 0 or (forall != (pol == 1)):
                edges.update((u, s) for u in univ for s in sorts)
            walk(e.body(), pol, inner)
            return
        if not z3.is_app(e):
            return
        k = e.decl().kind()
        kids = e.children()
        if k == z3.Z3_OP_NOT:
            walk(kids[0], -pol, univ)
        elif k == z3.Z3_OP_IMPLIES:
            walk(kids[0], -pol, univ)
            walk(kids[1], pol, univ)
        elif k in (z3.Z3_OP_AND, z3.Z3_OP_OR):
            for c in kids:
                walk(c, pol, univ)
        elif k in (z3.Z3_OP_EQ, z3.Z3_OP_ITE, z3.Z3_OP_XOR, z3.Z3_OP_DISTINCT, z3.Z3_OP_IFF):
            for c in kids:
                walk(c, 0, univ)
        else:
            d = e.decl()
            if k == z3.Z3_OP_UNINTERPRETED and d.arity() > 0 and d.range() != z3.BoolSort():
                edges.update((d.domain(i).name(), d.range().name()) for i in range(d.arity()))
            for c in kids:
                walk(c, pol, univ)

    for f in formulas:
        walk(f, 1, ())
    return edges


def is_stratified(edges: set[tuple[str, str]]) -> bool:
    """The sort graph has no cycle (self-loops included)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}

    def cyclic(n: str) -> bool:
        state[n] = 1
        for m in graph.get(n, ()):
            if state.get(m) == 1 or (state.get(m) is None and cyclic(m)):
                return True
        state[n] = 2
        return False

    return not any(state.get(n) is None and cyclic(n) for n in list(graph))


# ----- the parameterized proof -----------------------------------------------------------


@dataclass
class Obligation:
    name: str
    result: str  # valid | invalid | unknown
    seconds: float
    stratified: bool = True
    detail: str = ""

    def line(self) -> str:
        s = f"  {self.name:<48} {self.result:<8} {self.seconds:7.3f}s"
        if not self.stratified:
            s += "  (quantifier alternation not stratified)"
        if self.detail:
            s += f"  {self.detail}"
        return s


@dataclass
class ParamProofResult:
    """The verdict and one line per obligation."""

    verdict: str
    obligations: list[Obligation] = field(default_factory=list)
    conjuncts: list[str] = field(default_factory=list)
    reason: str = ""
    variant: str | None = None
    timeout_s: float = 60.0
    elapsed_s: float = 0.0
    counterexample: list[str] = field(default_factory=list)

    def to_lines(self) -> list[str]:
        head = "prove paxos (parameterized: any number of acceptors, values, ballots): " + self.verdict
        if self.variant:
            head += f" [formula variant {self.variant}]"
        if self.reason:
            head += f" ({self.reason})"
        lines = [head, f"  invariant: {' & '.join(self.conjuncts)}"]
        lines += [o.line() for o in self.obligations]
        lines.append(f"  total {self.elapsed_s:.3f}s ({len(self.obligations)} z3 queries, "
                     f"timeout {self.timeout_s:g}s each)")
        if self.counterexample:
            lines.append("  counterexample to induction (first failing obligation):")
            lines += ["    " + x for x in self.counterexample]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "model": "paxos",
            "engine": "prove-parameterized",
            "params": {"acceptors": "any", "values": "any", "ballots": "any", "quorums": "pairwise intersecting"},
            "variant": self.variant,
            "verdict": self.verdict,
            "reason": self.reason or None,
            "conjuncts": self.conjuncts,
            "obligations": [
                {"name": o.name, "result": o.result, "seconds": round(o.seconds, 6), "stratified": o.stratified}
                for o in self.obligations
            ],
            "counterexample": self.counterexample or None,
            "timeout_s": self.timeout_s,
            "elapsed_s": round(self.elapsed_s, 6),
        }


def _describe_model(m: Any, sorts: dict[str, Any], th: Theory, states: list[tuple[str, State]],
                    limit: int = 60) -> list[str]:
    """A z3 model of the vocabulary as readable facts (ballots listed in their order)."""
    univ = {s: list(m.get_universe(sorts[s]) or []) for s in SORTS}

    def ev(x: Any) -> Any:
        return m.eval(x, model_completion=True)

    unsorted = univ[BALLOT]
    bal = sorted(unsorted, key=lambda x: sum(1 for y in unsorted if z3.is_true(ev(th.le(y, x)))))
    names: dict[str, str] = {}
    real = [x for x in bal if not z3.is_true(ev(x == th.minus1))]
    for x in bal:
        names[str(x)] = "-1"
    for k, x in enumerate(real):
        names[str(x)] = f"b{k}"
    real_v = [x for x in univ[VALUE] if not z3.is_true(ev(x == th.none))]
    for x in univ[VALUE]:
        names[str(x)] = "None"
    for k, x in enumerate(real_v):
        names[str(x)] = f"v{k}"
    for k, x in enumerate(univ[ACCEPTOR]):
        names[str(x)] = f"a{k}"
    for k, x in enumerate(univ[QUORUM]):
        names[str(x)] = f"q{k}"

    out = [f"ballots in order: {', '.join(names[str(x)] for x in bal)}; values: "
           f"{', '.join(names[str(x)] for x in univ[VALUE])}"]
    out.append("quorums: " + "; ".join(
        f"{names[str(q)]}={{{', '.join(names[str(a)] for a in univ[ACCEPTOR] if z3.is_true(ev(th.member(a, q))))}}}"
        for q in univ[QUORUM]))
    for label, st in states:
        facts = []
        for name, args in SIGNATURE.items():
            f = getattr(st, name)
            for combo in itertools.product(*(univ[a] for a in args)):
                if z3.is_true(ev(f(*combo))):
                    facts.append(f"{name}({', '.join(names[str(c)] for c in combo)})")
        if len(facts) > limit:
            facts = [*facts[:limit], f"... ({len(facts) - limit} more)"]
        out.append(f"{label}: " + ", ".join(facts))
    return out


def prove_paxos_param(timeout_s: float = 60, *, without: Sequence[str] = (), variant: str | None = None,
                      stop_at_first_failure: bool = False) -> ParamProofResult:
    """Prove agreement for any number of acceptors, values and ballots.

    ``timeout_s`` bounds each z3 query; ``without`` drops invariant conjuncts by name and
    ``variant`` uses a wrong transition formula (``FORMULA_VARIANTS``): both are for showing
    that the proof is not vacuous.
    """
    t0 = time.perf_counter()
    sorts, th = _z3_vocabulary()
    L = Z3Logic(sorts)
    P = PaxosFormulas(L, th, variant)
    s, t = _z3_state(sorts, ""), _z3_state(sorts, "'")
    axioms = [f for _n, f in P.axioms()]
    conj = P.invariant()
    known = {c.name for c in conj}
    bad = [n for n in without if n not in known]
    if bad:
        raise KeyError(f"unknown conjunct {bad[0]!r}; conjuncts: {', '.join(sorted(known))}")
    conj = [c for c in conj if c.name not in without]
    inv_s = [c.formula(s) for c in conj]
    result = ParamProofResult(UNKNOWN, conjuncts=[c.name for c in conj], variant=variant, timeout_s=timeout_s)

    queries: list[tuple[str, list[Any], Any, list[tuple[str, State]]]] = []
    init = P.init(s)
    for c in conj:
        queries.append((f"init => {c.name}", [init], c.formula(s), [("state", s)]))
    # Phase2a's guard as Paxos.tla writes it implies its stratified form (per case, with the
    # case's parameters as constants), under the conjuncts without quantifier alternation.
    flat = [f for c, f in zip(conj, inv_s, strict=True) if not alternation_edges([c.formula(s)])]
    for case, wsorts, tla, epr in P.guard_cases(s):
        b0, v0, q0 = (z3.Const(f"{n}0", sorts[x]) for n, x in (("b", BALLOT), ("v", VALUE), ("q", QUORUM)))
        w0 = [z3.Const(f"w{k}", sorts[x]) for k, x in enumerate(wsorts)]
        queries.append((f"Phase2a guard => stratified guard ({case})", [*flat, tla(b0, v0, q0, *w0)],
                        epr(b0, v0, q0, *w0), [("state", s)]))
    for act in ACTIONS:
        tr = P.action(act, s, t, stratified=True)
        for c in conj:
            queries.append((f"{act} preserves {c.name}", [*inv_s, tr], c.formula(t), [("pre", s), ("post", t)]))
    queries.append(("inv => agreement", inv_s, P.agreement(s), [("state", s)]))

    for name, hyps, goal, states in queries:
        formulas = [*axioms, *hyps, z3.Not(goal)]
        strat = is_stratified(alternation_edges(formulas))
        solver = z3.Solver()
        solver.set("timeout", max(1, int(timeout_s * 1000)))
        solver.add(*formulas)
        q0 = time.perf_counter()
        r = solver.check()
        dt = time.perf_counter() - q0
        if r == z3.unsat:
            ob = Obligation(name, VALID, dt, strat)
        elif r == z3.sat:
            ob = Obligation(name, INVALID, dt, strat)
            if not result.counterexample:
                result.counterexample = [name, *_describe_model(solver.model(), sorts, th, states)]
        else:
            ob = Obligation(name, UNKNOWN, dt, strat, detail=f"z3: {solver.reason_unknown()}")
        result.obligations.append(ob)
        if stop_at_first_failure and ob.result != VALID:
            break

    failed = [o for o in result.obligations if o.result != VALID]
    if not failed and len(result.obligations) == len(queries):
        result.verdict = PROVED
    else:
        first = failed[0]
        result.reason = ("not inductive: " if first.result == INVALID else "solver gave up: ") + first.name
    result.elapsed_s = time.perf_counter() - t0
    return result


# ----- conformance with models/paxos.py on small instances -------------------------------


@dataclass(frozen=True)
class Struct:
    """A finite structure of the state vocabulary: the true tuples of each relation, in
    ``SYMBOLS`` order.  Element indices: acceptor a is a; ballot k is b = k - 1 and value k is
    v = k - 1, index 0 standing for -1 / None; quorum k is the model's k-th quorum."""

    rels: tuple[frozenset[tuple[int, ...]], ...]

    def state(self) -> State:
        def look(rel: frozenset[tuple[int, ...]]) -> Callable[..., bool]:
            return lambda *x: x in rel

        return State(*(look(r) for r in self.rels))

    def __repr__(self) -> str:
        return "{" + "; ".join(f"{n}: {sorted(r)}" for n, r in zip(SYMBOLS, self.rels)) + "}"


class _Unknown:
    """Post-state relations as z3 Bools over a finite structure (for enumerating successors)."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.vars = {name: {combo: z3.Bool(f"{name}'{list(combo)}")
                            for combo in itertools.product(*(range(sizes[a]) for a in args))}
                     for name, args in SIGNATURE.items()}

    def state(self) -> State:
        def look(table: dict[tuple[int, ...], Any]) -> Callable[..., Any]:
            return lambda *x: table[x]

        return State(*(look(self.vars[n]) for n in SYMBOLS))

    def decode(self, m: Any) -> Struct:
        def true(x: Any) -> bool:
            return bool(z3.is_true(m.eval(x, model_completion=True)))

        return Struct(tuple(frozenset(k for k, x in self.vars[n].items() if true(x)) for n in SYMBOLS))

    def block(self, st: Struct) -> Any:
        """A clause excluding ``st``."""
        return z3.Or([z3.Not(x) if k in rel else x
                      for n, rel in zip(SYMBOLS, st.rels) for k, x in self.vars[n].items()])


@dataclass
class ConformResult:
    """Counts of what was checked, and every mismatch found (empty: the model conforms)."""

    acceptors: int
    values: int
    max_ballot: int
    variant: str | None
    formula_variant: str | None
    checks: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_lines(self) -> list[str]:
        what = f"acceptors={self.acceptors} values={self.values} max_ballot={self.max_ballot}"
        if self.variant:
            what += f" model variant {self.variant}"
        if self.formula_variant:
            what += f" formula variant {self.formula_variant}"
        head = f"conform paxos_param ({what}): {'ok' if self.ok else f'{len(self.mismatches)} mismatches'}"
        lines = [head, "  " + ", ".join(f"{k} {v}" for k, v in self.checks.items()), f"  {self.elapsed_s:.2f}s"]
        lines += [f"  MISMATCH {m}" for m in self.mismatches[:20]]
        if len(self.mismatches) > 20:
            lines.append(f"  ... {len(self.mismatches) - 20} more")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "model": "paxos",
            "engine": "conform-parameterized",
            "params": {"acceptors": self.acceptors, "values": self.values, "max_ballot": self.max_ballot},
            "variant": self.variant,
            "formula_variant": self.formula_variant,
            "ok": self.ok,
            "checks": self.checks,
            "mismatches": self.mismatches,
            "elapsed_s": round(self.elapsed_s, 6),
        }


_ACTION_OF_EDGE = (("phase1a(", "Phase1a"), ("phase2a(", "Phase2a"), ("msg=OneA(", "Phase1b"), ("msg=TwoA(", "Phase2b"))


def _edge_action(label: str) -> str | None:
    for key, act in _ACTION_OF_EDGE:
        if key in label:
            return act
    return None


def conform_paxos_param(acceptors: int = 3, values: int = 2, max_ballot: int = 1, *, variant: str | None = None,
                        formula_variant: str | None = None, converse_sample: int = 150, seed: int = 0,
                        max_successors: int = 64) -> ConformResult:
    """Tie the parameterized formulas to ``models.paxos.Paxos`` on one small instance.

    ``variant`` selects a planted-bug variant of the model; ``formula_variant`` a wrong
    transition formula.  ``converse_sample`` reachable states (all if fewer; always the
    initial one) get check (d).
    """
    from ..checker.explore import explore
    from ..models.paxos import OneA, OneB, Paxos, TwoA, TwoB

    t0 = time.perf_counter()
    res = ConformResult(acceptors, values, max_ballot, variant, formula_variant)
    model: Any = Paxos(acceptors=acceptors, values=values, max_ballot=max_ballot)
    if variant is not None:
        model = model.with_variant(variant)
    r = explore(model, properties=[], record_graph=1 << 22)
    graph = r.graph
    if graph is None:
        raise RuntimeError("the instance is too large to record its graph")
    n, ballots = acceptors, max_ballot + 1
    quorums = list(model.quorum_list)
    sizes = {ACCEPTOR: n, BALLOT: ballots + 1, VALUE: values + 1, QUORUM: len(quorums)}
    L = FiniteLogic(sizes)
    qsets = [frozenset(q) for q in quorums]
    th = Theory(le=lambda x, y: x <= y, lt=lambda x, y: x < y, member=lambda a, q: a in qsets[q], minus1=0, none=0)
    P = PaxosFormulas(L, th, formula_variant)
    miss = res.mismatches

    # The theory: the instance's ballots and quorums satisfy the axioms.
    for name, ok in P.axioms():
        if ok is not True:
            miss.append(f"axiom {name} fails on this instance (quorums {[sorted(q) for q in qsets]})")

    # The abstraction, checked to be faithful (nothing of the concrete state is lost).
    leader = model.leader

    def encode(s: Any) -> Struct:
        accs = s.nodes[:n]
        one_a, one_b, two_a, two_b = set(), set(), set(), set()
        one_a_to: dict[int, set[int]] = {}
        two_a_to: dict[tuple[int, int], set[int]] = {}
        for e in s.net:
            m = e.msg
            if type(m) is OneA:
                one_a.add(m.bal + 1)
                one_a_to.setdefault(m.bal, set()).add(e.dst)
                ok = e.src == leader(m.bal)
            elif type(m) is OneB:
                one_b.add((m.acc, m.bal + 1, m.mbal + 1, 0 if m.mval is None else m.mval + 1))
                ok = e.src == m.acc and e.dst == leader(m.bal)
            elif type(m) is TwoA:
                two_a.add((m.bal + 1, m.val + 1))
                two_a_to.setdefault((m.bal, m.val), set()).add(e.dst)
                ok = e.src == leader(m.bal)
            elif type(m) is TwoB:
                two_b.add((m.acc, m.bal + 1, m.val + 1))
                ok = e.src == m.acc and e.dst == leader(m.bal)
            else:
                ok = False
            if not ok:
                miss.append(f"envelope {e!r} is not one the encoding expects")
        full = set(range(n))
        for b, dsts in one_a_to.items():
            if dsts != full:
                miss.append(f"1a({b}) sent to {sorted(dsts)} only, not to every acceptor")
        for bv, dsts in two_a_to.items():
            if dsts != full:
                miss.append(f"2a{bv} sent to {sorted(dsts)} only, not to every acceptor")
        for b in range(ballots):
            if s.nodes[leader(b)].proposed != any(bb == b for bb, _v in two_a_to):
                miss.append(f"leader b{b}: proposed={s.nodes[leader(b)].proposed} but 2a for b{b} sent: "
                            f"{any(bb == b for bb, _v in two_a_to)}")
        if any(s.timers) or s.down or s.crashes:
            miss.append("timers, crashes or down nodes in a Paxos state")
        nb = ballots + 1
        rels: dict[str, set[Any]] = {
            "bal_gt": {(a, r) for a in range(n) for r in range(nb) if r < accs[a].max_bal + 1},
            "max_vbal": {(a, accs[a].max_vbal + 1) for a in range(n)},
            "max_val": {(a, 0 if accs[a].max_val is None else accs[a].max_val + 1) for a in range(n)},
            "one_a": {(b,) for b in one_a}, "one_b": one_b, "two_a": two_a, "two_b": two_b,
        }
        return Struct(tuple(frozenset(rels[name]) for name in SYMBOLS))

    enc: dict[int, Struct] = {c: encode(s) for c, s in graph.states.items()}
    inverse: dict[Struct, int] = {}
    for c, st in enc.items():
        if st in inverse:
            miss.append(f"two reachable states have the same encoding: {graph.states[inverse[st]]!r} and "
                        f"{graph.states[c]!r}")
        inverse[st] = c
    res.checks["states"] = len(enc)

    # (a) Init.
    for c in graph.initial:
        if P.init(enc[c].state()) is not True:
            miss.append(f"(a) initial state {graph.states[c]!r} does not satisfy Init")
    res.checks["initial"] = len(graph.initial)

    # (c) The invariant on every reachable state; chosen and agreement as in the model.
    conj = P.invariant()
    for c, st in enc.items():
        ss = st.state()
        for cj in conj:
            if cj.formula(ss) is not True:
                miss.append(f"(c) invariant conjunct {cj.name} fails on reachable state {graph.states[c]!r}")
        chosen = frozenset(v for v in range(values) if P.chosen(ss, v + 1) is True)
        if chosen != model.chosen(graph.states[c]):
            miss.append(f"(c) chosen = {sorted(chosen)} by the formula but {sorted(model.chosen(graph.states[c]))} "
                        f"in the model, state {graph.states[c]!r}")
        if (P.agreement(ss) is True) != model.agreement(graph.states[c]):
            miss.append(f"(c) agreement differs between formula and model on {graph.states[c]!r}")
    res.checks["invariant_states"] = len(enc)

    # (b) Every edge is an action of the formulas (the one of its kind), or a stutter.
    succ: dict[int, set[Struct]] = {}
    edges = stutters = 0
    for src, label, dst in graph.edges:
        succ.setdefault(src, set()).add(enc[dst])
        edges += 1
        pre, post = enc[src], enc[dst]
        if pre == post:
            stutters += 1
            continue
        kind = _edge_action(label)
        if kind is not None and P.action(kind, pre.state(), post.state()) is True:
            continue
        others = [a for a in ACTIONS if a != kind and P.action(a, pre.state(), post.state()) is True]
        miss.append(f"(b) edge {label} from {graph.states[src]!r} satisfies "
                    + (f"{others} but not {kind}" if others else "no transition formula"))
    res.checks["edges"] = edges
    res.checks["stutters"] = stutters

    # (d) Conversely: every successor the formulas allow is the encoding of a concrete successor.
    rng = random.Random(seed)
    codes = sorted(enc)
    sample = codes if len(codes) <= converse_sample else sorted(
        set(graph.initial) | set(rng.sample(codes, converse_sample)))
    allowed_total = 0
    for c in sample:
        pre = enc[c]
        ok_post = succ.get(c, set()) | {pre}
        for act in ACTIONS:
            unknown = _Unknown(sizes)
            solver = z3.Solver()
            f = P.action(act, pre.state(), unknown.state())
            if f is False:
                continue
            solver.add(f)
            found = 0
            while found < max_successors and solver.check() == z3.sat:
                st = unknown.decode(solver.model())
                found += 1
                if st not in ok_post:
                    miss.append(f"(d) {act} allows a successor of {graph.states[c]!r} that the model does not "
                                f"have: {st!r}")
                solver.add(unknown.block(st))
            allowed_total += found
    res.checks["converse_states"] = len(sample)
    res.checks["converse_successors"] = allowed_total
    res.elapsed_s = time.perf_counter() - t0
    return res


def main(argv: Sequence[str] | None = None) -> int:
    r = prove_paxos_param()
    print("\n".join(r.to_lines()))
    for cfg in ((2, 2, 1), (3, 1, 1), (3, 2, 0)):
        cr = conform_paxos_param(*cfg)
        print("\n".join(cr.to_lines()))
    return 0 if r.verdict == PROVED else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
