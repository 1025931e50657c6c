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
- The proof is about these formulas; what ties it to ``models/paxos.py`` is the tie, run by
  ``prove_paxos_param`` (and ``prove paxos --parameterized``) before the proof on every run:
  ``conform_paxos_param`` maps every reachable state of the model class on small instances to
  a finite structure of this vocabulary and checks (enc) the abstraction is injective and
  faithful (1a/2a are broadcast to every acceptor at once, a leader's ``proposed`` flag is "a 2a
  for my ballot was sent"), (a) the initial state satisfies ``Init``, (b) every edge satisfies
  the formula of its action (or is a stutter), (c) every reachable state satisfies the
  invariant, and the formula's ``chosen``/``Agreement`` agree with the model's, (d) conversely,
  for a sample of reachable states, every successor the transition formulas allow on the
  finite structure (enumerated with z3) is the encoding of a concrete successor.
  ``TIE_INSTANCES`` says which checks run at which size: all of them up to 3 acceptors,
  2 values, ballots 0..1; (enc), (a) and (b) at 3 acceptors, 2 values, ballots 0..2 (185,369
  states), the smallest size where a quorum's 1bs report votes of two ballots with different
  values, so that a leader taking the lowest or any reported vote fails (b); and with one
  crash, where recovery must be a stutter (acceptors and leaders persist).  Together they take
  every guard of the model's handlers both ways.  Every planted-bug variant of the model fails
  the tie.  On a finite structure (b) evaluates an action's formula at the parameters the
  edge's message gives (else the whole existential) and decides frame conditions by comparing
  sets; both are exact (``State.sets``).

Verdicts: ``proved`` when the tie held and every obligation is valid; ``proved-formulas-only``
when the obligations are valid and the tie was not run (nothing is claimed about the model);
``error`` when the tie found a mismatch (the formulas do not describe the model: a model error,
whatever the obligations say); ``unknown`` otherwise (a failed induction step is a
counterexample to induction, not a reachable violation, and a timeout is a timeout).
``violated`` is reserved for a reachable violation, which this engine never claims; the
explicit checker and BMC on ``models/paxos.py`` find those.

Run: ``python -m protoproof.proofs.paxos_param`` (the tie, then one line per obligation).
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

from ..checker.verdict import ERROR, EXIT_BY_VERDICT, PROVED, PROVED_FORMULAS_ONLY, UNKNOWN

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
#: Each action's parameters (an existential over them is the transition formula): Phase1b's are
#: the acceptor, the ballot, a ballot r with maxBal[a] <= r < b, and the vote it reports.
ACTION_PARAMS: dict[str, list[str]] = {
    "Phase1a": [BALLOT],
    "Phase1b": [ACCEPTOR, BALLOT, BALLOT, BALLOT, VALUE],
    "Phase2a": [BALLOT, VALUE],
    "Phase2b": [ACCEPTOR, BALLOT, VALUE],
}
#: The relation each action adds its message to.
ACTION_SENDS = {"Phase1a": "one_a", "Phase1b": "one_b", "Phase2a": "two_a", "Phase2b": "two_b"}

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
    #: On a finite structure: each relation's true tuples (all within the domains), so that a
    #: frame condition is one set comparison instead of a quantifier expanded tuple by tuple.
    sets: dict[str, frozenset[tuple[int, ...]]] | None = None


def _state_of(looks: Sequence[Callable[..., Form]], sets: dict[str, frozenset[tuple[int, ...]]] | None = None) -> State:
    """A State from its relations in ``SYMBOLS`` order."""
    bal_gt, max_vbal, max_val, one_a, one_b, two_a, two_b = looks
    return State(bal_gt, max_vbal, max_val, one_a, one_b, two_a, two_b, sets=sets)


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
    # On two finite structures (``State.sets``) each is decided by comparing the relations as
    # sets, which is what the quantified formula says when every tuple lies in the domains;
    # ``test_frame_conditions_on_sets_agree_with_the_expanded_quantifiers`` pins the equivalence.
    def _same(self, s: State, t: State, names: Iterable[str]) -> list[Lazy]:
        L = self.L
        out: list[Lazy] = []
        for name in names:
            if s.sets is not None and t.sets is not None:
                out.append(s.sets[name] == t.sets[name])
                continue
            f, g, args = getattr(s, name), getattr(t, name), SIGNATURE[name]
            out.append(lambda f=f, g=g, args=args: L.forall(args, lambda *x: L.iff(g(*x), f(*x))))
        return out

    def _unchanged_except(self, s: State, t: State, *changed: str) -> list[Lazy]:
        return self._same(s, t, [n for n in SYMBOLS if n not in changed])

    def _send(self, s: State, t: State, name: str, msg: tuple[Term, ...]) -> Lazy:
        """``name' = name \\cup {msg}``."""
        L = self.L
        if s.sets is not None and t.sets is not None and all(type(m) is int for m in msg):
            ss, ts = s.sets, t.sets
            return lambda: ts[name] == ss[name] | {msg}
        f, g = getattr(s, name), getattr(t, name)
        return lambda: L.forall(SIGNATURE[name], lambda *x: L.iff(
            g(*x), L.or_(f(*x), lambda: L.and_(*(L.eq(xi, mi) for xi, mi in zip(x, msg))))))

    def _assign(self, s: State, t: State, name: str, a0: Term, new: Callable[[Term], Form]) -> Lazy:
        """Acceptor a0's row of ``name`` becomes ``new``, the other rows stay."""
        L = self.L
        f, g = getattr(s, name), getattr(t, name)

        def expanded() -> Form:
            return L.forall(SIGNATURE[name], lambda a, x: L.and_(
                L.implies(L.eq(a, a0), lambda: L.iff(g(a, x), new(x))),
                L.implies(L.ne(a, a0), lambda: L.iff(g(a, x), f(a, x)))))

        if s.sets is None or t.sets is None or type(a0) is not int or not isinstance(L, FiniteLogic):
            return expanded
        ss, ts, size = s.sets, t.sets, L.sizes[SIGNATURE[name][1]]

        def on_sets() -> Form:
            row = [_force(new(x)) for x in range(size)]
            if not all(r is True or r is False for r in row):
                return expanded()
            want = {(a0, x) for x, r in enumerate(row) if r}
            return ts[name] == frozenset(e for e in ss[name] if e[0] != a0) | want

        return on_sets

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

    def phase1a(self, s: State, t: State, b: Term) -> Form:
        """Phase1a(b): send 1a(b), b a ballot."""
        L, th = self.L, self.th
        return L.and_(
            L.ne(b, th.minus1),
            self._send(s, t, "one_a", (b,)),
            *self._unchanged_except(s, t, "one_a"))

    def phase1b(self, s: State, t: State, a: Term, b: Term, r: Term, vb: Term, vv: Term) -> Form:
        """Phase1b(a): on a 1a(b) with b > maxBal[a], set maxBal[a] := b and send
        1b(a, b, maxVBal[a], maxVal[a]).  ``b > maxBal[a]`` is ``exists r < b. ~(r < maxBal[a])``."""
        L, th = self.L, self.th
        return L.and_(
            s.one_a(b),
            lambda: th.lt(r, b),
            lambda: L.not_(s.bal_gt(a, r)),
            lambda: s.max_vbal(a, vb),
            lambda: s.max_val(a, vv),
            self._assign(s, t, "bal_gt", a, lambda x: th.lt(x, b)),
            self._send(s, t, "one_b", (a, b, vb, vv)),
            *self._unchanged_except(s, t, "bal_gt", "one_b"))

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
            # The vote (a0, mb0, v) first: on finite structures it rules out most witnesses at once.
            return L.and_(self._voted(s, b, q, a0, mb0, v), lambda: reported(b, q), lambda: L.forall(
                [A, B, V], lambda a, mb, mv: L.implies(self._voted(s, b, q, a, mb, mv), lambda: th.le(mb, mb0))))

        return [
            ("no vote reported", [], no_votes,
             lambda b, v, q: L.and_(promised(b, q), lambda: silent(b, q, None))),
            ("highest vote reported", [A, B], highest,
             lambda b, v, q, a0, mb0: L.and_(promised(b, q), lambda: s.two_a(mb0, v), lambda: silent(b, q, mb0))),
        ]

    def phase2a(self, s: State, t: State, b: Term, v: Term, stratified: bool = False) -> Form:
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

        return L.and_(
            L.ne(b, th.minus1),
            lambda: L.ne(v, th.none),
            lambda: L.forall([VALUE], lambda w: L.not_(s.two_a(b, w))) if fresh else True,
            lambda: guard(b, v),
            self._send(s, t, "two_a", (b, v)),
            *self._unchanged_except(s, t, "two_a"))

    def phase2b(self, s: State, t: State, a: Term, b: Term, v: Term) -> Form:
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

        return L.and_(
            s.two_a(b, v),
            guard(a, b),
            bal(a, b),
            self._assign(s, t, "max_vbal", a, lambda x: L.eq(x, b)),
            self._assign(s, t, "max_val", a, lambda x: L.eq(x, v)),
            self._send(s, t, "two_b", (a, b, v)),
            *self._unchanged_except(s, t, "bal_gt", "max_vbal", "max_val", "two_b"))

    def step(self, name: str, s: State, t: State, *w: Term, stratified: bool = False) -> Form:
        """The body of action ``name`` with its parameters ``w`` (sorts ``ACTION_PARAMS[name]``)."""
        if name == "Phase2a":
            b, v = w
            return self.phase2a(s, t, b, v, stratified=stratified)
        if name == "Phase1a":
            return self.phase1a(s, t, *w)
        if name == "Phase1b":
            return self.phase1b(s, t, *w)
        return self.phase2b(s, t, *w)

    def action(self, name: str, s: State, t: State, stratified: bool = False) -> Form:
        """``exists w. step(name, s, t, w)``: the transition formula of one Paxos.tla action."""
        return self.L.exists(ACTION_PARAMS[name], lambda *w: self.step(name, s, t, *w, stratified=stratified))

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
    """The verdict, one line per obligation, and the tie to the model (``None``: not run)."""

    verdict: str
    obligations: list[Obligation] = field(default_factory=list)
    conjuncts: list[str] = field(default_factory=list)
    reason: str = ""
    variant: str | None = None
    timeout_s: float = 60.0
    elapsed_s: float = 0.0
    counterexample: list[str] = field(default_factory=list)
    formulas: str = UNKNOWN  # the verdict on the formulas alone: proved or unknown
    tie: Tie | None = None

    def to_lines(self) -> list[str]:
        head = "prove paxos (parameterized: any number of acceptors, values, ballots): " + self.verdict
        if self.variant:
            head += f" [formula variant {self.variant}]"
        if self.reason:
            head += f" ({self.reason})"
        lines = [head]
        if self.tie is None:
            lines.append("  tie: not run (--no-tie): the verdict is about the formulas; nothing is claimed "
                         "about the model")
        else:
            lines += self.tie.to_lines()
        lines.append(f"  invariant: {' & '.join(self.conjuncts)}")
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
            "formulas": self.formulas,
            "tied": self.tie is not None and self.tie.ok,
            "tie": None if self.tie is None else self.tie.to_json(),
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


def _prove_formulas(timeout_s: float, without: Sequence[str], variant: str | None,
                    stop_at_first_failure: bool) -> ParamProofResult:
    """The z3 obligations on the formulas alone: verdict ``proved`` or ``unknown``."""
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

    def state(self, sets: bool = True) -> State:
        """The relations as lookups; ``sets=False`` hides the sets (frame conditions expanded)."""

        def look(rel: frozenset[tuple[int, ...]]) -> Callable[..., bool]:
            return lambda *x: x in rel

        return _state_of([look(r) for r in self.rels], dict(zip(SYMBOLS, self.rels, strict=True)) if sets else None)

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

        return _state_of([look(self.vars[n]) for n in SYMBOLS])

    def decode(self, m: Any) -> Struct:
        def true(x: Any) -> bool:
            return bool(z3.is_true(m.eval(x, model_completion=True)))

        return Struct(tuple(frozenset(k for k, x in self.vars[n].items() if true(x)) for n in SYMBOLS))

    def block(self, st: Struct) -> Any:
        """A clause excluding ``st``."""
        return z3.Or([z3.Not(x) if k in rel else x
                      for n, rel in zip(SYMBOLS, st.rels) for k, x in self.vars[n].items()])


#: Check names, in the order they run: (enc) the abstraction is faithful and injective,
#: (a) Init, (b) every edge is its action's formula or a stutter, (c) the invariant, chosen and
#: agreement on every reachable state, (d) every successor the formulas allow is concrete.
FULL, EDGES = "full", "edges"


@dataclass
class ConformResult:
    """Counts of what was checked, and every mismatch found (empty: the model conforms)."""

    acceptors: int
    values: int
    max_ballot: int
    variant: str | None
    formula_variant: str | None
    model: str = ""
    scope: str = FULL
    max_crashes: int = 0
    checks: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    stopped: bool = False
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def ballots(self) -> int:
        return self.max_ballot + 1

    def instance(self) -> str:
        crashes = f", {self.max_crashes} crash" if self.max_crashes else ""
        return f"{self.acceptors} acceptors, {self.values} values, ballots 0..{self.max_ballot}{crashes}"

    def checked(self) -> str:
        return "(enc) (a) (b) (c) (d)" if self.scope == FULL else "(enc) (a) (b)"

    def to_lines(self) -> list[str]:
        what = f"acceptors={self.acceptors} values={self.values} max_ballot={self.max_ballot}"
        if self.max_crashes:
            what += f" max_crashes={self.max_crashes}"
        if self.variant:
            what += f" model variant {self.variant}"
        if self.formula_variant:
            what += f" formula variant {self.formula_variant}"
        head = f"conform paxos_param ({what}): {'ok' if self.ok else f'{len(self.mismatches)} mismatches'}"
        lines = [head, f"  model {self.model}, checks {self.checked()}",
                 "  " + ", ".join(f"{k} {v}" for k, v in self.checks.items()), f"  {self.elapsed_s:.2f}s"]
        lines += [f"  MISMATCH {m}" for m in self.mismatches]
        if self.stopped:
            lines.append(f"  (stopped after the first {len(self.mismatches)} mismatches)")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "model": "paxos",
            "engine": "conform-parameterized",
            "model_class": self.model,
            "params": {"acceptors": self.acceptors, "values": self.values, "max_ballot": self.max_ballot,
                       "max_crashes": self.max_crashes},
            "variant": self.variant,
            "formula_variant": self.formula_variant,
            "scope": self.scope,
            "checked": self.checked(),
            "ok": self.ok,
            "checks": self.checks,
            "mismatches": self.mismatches,
            "stopped": self.stopped,
            "elapsed_s": round(self.elapsed_s, 6),
        }


_ACTION_OF_EDGE = (("phase1a(", "Phase1a"), ("phase2a(", "Phase2a"), ("msg=OneA(", "Phase1b"), ("msg=TwoA(", "Phase2b"))


def _edge_action(label: str) -> str | None:
    for key, act in _ACTION_OF_EDGE:
        if key in label:
            return act
    return None


def _witnesses(kind: str, pre: Struct, post: Struct) -> list[tuple[int, ...]]:
    """Parameters of ``kind`` that may explain the edge: the message it added (and for Phase1b
    each ballot r with maxBal[a] <= r < b).  Only a shortcut: an edge none of them explains is
    decided by the full existential."""
    i = SYMBOLS.index(ACTION_SENDS[kind])
    added = post.rels[i] - pre.rels[i]
    if kind != "Phase1b":
        return sorted(added)
    bal_gt = pre.rels[SYMBOLS.index("bal_gt")]
    return [(a, b, r, vb, vv) for a, b, vb, vv in sorted(added) for r in range(b) if (a, r) not in bal_gt]


def model_name(cls: type) -> str:
    """``module:qualname`` of a model class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def conform_paxos_param(acceptors: int = 3, values: int = 2, max_ballot: int = 1, *, variant: str | None = None,
                        formula_variant: str | None = None, converse_sample: int = 150, seed: int = 0,
                        max_successors: int = 64, scope: str = FULL, max_mismatches: int = 20,
                        max_crashes: int = 0, model_class: type | None = None) -> ConformResult:
    """Tie the parameterized formulas to a Paxos model on one small instance.

    ``model_class`` is the ``Paxos`` subclass tied (default ``models.paxos.Paxos``), ``variant``
    one of its planted-bug variants, ``formula_variant`` a wrong transition formula.
    ``scope=EDGES`` checks only the encoding, (a) and (b) (for instances too large for the
    invariant on every state).  ``converse_sample`` reachable states (all if fewer; always the
    initial one) get check (d).  The walk stops after ``max_mismatches`` mismatches.
    ``max_crashes`` > 0 checks that crash and recovery are stutters (the acceptors persist);
    only with ``scope=EDGES``, since a down acceptor has fewer successors than the formulas allow.
    """
    from ..models.paxos import OneA, OneB, Paxos, TwoA, TwoB

    t0 = time.perf_counter()
    cls = Paxos if model_class is None else model_class
    if not (isinstance(cls, type) and issubclass(cls, Paxos)):
        raise TypeError(f"model_class must be a subclass of models.paxos.Paxos, not {cls!r}")
    if scope not in (FULL, EDGES):
        raise ValueError(f"scope must be {FULL!r} or {EDGES!r}, not {scope!r}")
    if max_crashes and scope != EDGES:
        raise ValueError("max_crashes > 0 needs scope=EDGES: a down acceptor does less than the formulas allow")
    model: Any = cls(acceptors=acceptors, values=values, max_ballot=max_ballot, max_crashes=max_crashes)
    if variant is not None:
        model = model.with_variant(variant)
    res = ConformResult(acceptors, values, max_ballot, variant, formula_variant, model_name(type(model)), scope,
                        max_crashes)
    stype = model.state_type
    pack, unpack = stype.packer(memo=False), stype.unpacker(memo=False)
    expand_code = model.code_expander()
    if expand_code is None:  # no fast path for this model (e.g. an overridden expander): run it on states
        expand = model.expander()

        def expand_code(c: int) -> list[tuple[Any, int]]:
            return [(a, pack(t)) for a, t in expand(unpack(c))]

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

    def encode_net(s: Any) -> tuple[frozenset[tuple[int, ...]], ...]:
        """one_a, one_b, two_a, two_b and the ballots with a 2a, from the message set."""
        one_a, one_b, two_a, two_b = set(), set(), set(), set()
        one_a_to: dict[int, set[int]] = {}
        two_a_to: dict[tuple[int, int], set[int]] = {}
        for e in s.net:
            m = e.msg
            if type(m) is OneA:
                one_a.add((m.bal + 1,))
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
                miss.append(f"(enc) envelope {e!r} is not one the encoding expects, in {s!r}")
        full = set(range(n))
        for b, dsts in one_a_to.items():
            if dsts != full:
                miss.append(f"(enc) 1a({b}) sent to {sorted(dsts)} only, not to every acceptor, in {s!r}")
        for bv, dsts in two_a_to.items():
            if dsts != full:
                miss.append(f"(enc) 2a{bv} sent to {sorted(dsts)} only, not to every acceptor, in {s!r}")
        proposed = frozenset((b,) for b, _v in two_a_to)
        return tuple(intern(frozenset(intern(x) for x in r)) for r in (one_a, one_b, two_a, two_b, proposed))

    shared: dict[Any, Any] = {}  # one copy of each tuple and relation (185k states fit in memory)

    def intern(x: Any) -> Any:
        return shared.setdefault(x, x)

    def encode(s: Any) -> Struct:
        one_a, one_b, two_a, two_b, proposed = encode_net(s)
        for b in range(ballots):
            if s.nodes[leader(b)].proposed != ((b,) in proposed):
                miss.append(f"(enc) leader b{b}: proposed={s.nodes[leader(b)].proposed} but 2a for b{b} sent: "
                            f"{(b,) in proposed}, in {s!r}")
        if any(s.timers):
            miss.append(f"(enc) timers in a Paxos state: {s!r}")
        accs = s.nodes[:n]
        mine = (
            frozenset(intern((a, r)) for a in range(n) for r in range(accs[a].max_bal + 1)),
            frozenset(intern((a, accs[a].max_vbal + 1)) for a in range(n)),
            frozenset(intern((a, 0 if accs[a].max_val is None else accs[a].max_val + 1)) for a in range(n)),
        )
        return Struct((*(intern(r) for r in mine), one_a, one_b, two_a, two_b))

    enc: dict[int, Struct] = {}

    # A down node is an idle one (Paxos.tla has no crashes): crash and recovery must be stutters,
    # which holds when a node's durable state is all of its state.  The encoding forgets only
    # which nodes are down and what is on disk; injectivity is checked with those put back.
    inverse: dict[tuple[Struct, Any, Any, Any], int] = {}

    def visit(c: int) -> None:
        s = unpack(c)
        st = enc[c] = encode(s)
        other = inverse.setdefault((st, s.down, s.crashes, s.disk), c)
        if other != c:
            miss.append(f"(enc) two reachable states have the same encoding: {unpack(other)!r} and {unpack(c)!r}")

    # (a) Init.
    initial = list(dict.fromkeys(pack(s) for s in model.initial_states()))
    for c in initial:
        visit(c)
        if P.init(enc[c].state()) is not True:
            miss.append(f"(a) initial state {unpack(c)!r} does not satisfy Init")
    res.checks["initial"] = len(initial)

    # (b) Every edge is an action of the formulas (the one of its kind), or a stutter; the walk
    # visits every reachable state (breadth first, on packed codes as the explicit checker does).
    kinds: dict[Any, str | None] = {}
    queue, edges, stutters = list(initial), 0, 0
    i = 0
    while i < len(queue) and len(miss) < max_mismatches:
        src = queue[i]
        i += 1
        pre = enc[src]
        ps = pre.state()
        try:
            pairs = expand_code(src)
        except Exception as e:  # reported as a mismatch: the tie cannot vouch for a model that raises
            miss.append(f"(b) the model raised {type(e).__name__}: {e} expanding {unpack(src)!r}")
            break
        for a, dst in pairs:
            edges += 1
            if dst not in enc:
                visit(dst)
                queue.append(dst)
            post = enc[dst]
            if dst == src or post == pre:
                stutters += 1
                continue
            kind = kinds.get(a, "")
            if kind == "":
                kind = kinds[a] = _edge_action(repr(a))
            if kind is not None:
                qs = post.state()
                if any(P.step(kind, ps, qs, *w) is True for w in _witnesses(kind, pre, post)):
                    continue
                if P.action(kind, ps, qs) is True:
                    continue
            others = [x for x in ACTIONS if x != kind and P.action(x, pre.state(), post.state()) is True]
            miss.append(f"(b) edge {a!r} from {unpack(src)!r} satisfies "
                        + (f"{others} but not {kind}" if others else "no transition formula"))
    res.checks["states"] = len(enc)
    res.checks["edges"] = edges
    res.checks["stutters"] = stutters
    if len(miss) >= max_mismatches:
        res.stopped = True
    if scope == EDGES or res.stopped:
        res.elapsed_s = time.perf_counter() - t0
        return res

    # (c) The invariant on every reachable state; chosen and agreement as in the model.
    conj = P.invariant()
    inv_checked = 0
    for c, st in enc.items():
        if len(miss) >= max_mismatches:
            break
        inv_checked += 1
        ss, s = st.state(), unpack(c)
        for cj in conj:
            if cj.formula(ss) is not True:
                miss.append(f"(c) invariant conjunct {cj.name} fails on reachable state {s!r}")
        chosen = frozenset(v for v in range(values) if P.chosen(ss, v + 1) is True)
        if chosen != model.chosen(s):
            miss.append(f"(c) chosen = {sorted(chosen)} by the formula but {sorted(model.chosen(s))} "
                        f"in the model, state {s!r}")
        if (P.agreement(ss) is True) != model.agreement(s):
            miss.append(f"(c) agreement differs between formula and model on {s!r}")
    res.checks["invariant_states"] = inv_checked

    # (d) Conversely: every successor the formulas allow is the encoding of a concrete successor.
    rng = random.Random(seed)
    codes = sorted(enc)
    sample = codes if len(codes) <= converse_sample else sorted(
        set(initial) | set(rng.sample(codes, converse_sample)))
    allowed_total = converse_checked = 0
    for c in sample:
        if len(miss) >= max_mismatches:
            break
        converse_checked += 1
        pre = enc[c]
        ok_post = {enc[d] for _a, d in expand_code(c)} | {pre}
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
                    miss.append(f"(d) {act} allows a successor of {unpack(c)!r} that the model does not "
                                f"have: {st!r}")
                solver.add(unknown.block(st))
            allowed_total += found
    res.checks["converse_states"] = converse_checked
    res.checks["converse_successors"] = allowed_total
    res.stopped = len(miss) >= max_mismatches
    res.elapsed_s = time.perf_counter() - t0
    return res


# ----- the tie: the formulas describe the model, checked on every run -----------------------


@dataclass(frozen=True)
class TieInstance:
    """One instance the tie runs: its size, and ``scope`` (``FULL``: checks (enc) (a)-(d);
    ``EDGES``: (enc) (a) (b) only, for instances too large for the invariant on every state)."""

    acceptors: int
    values: int
    max_ballot: int
    scope: str = FULL
    max_crashes: int = 0
    converse_sample: int = 100

    def __str__(self) -> str:
        crashes = f", {self.max_crashes} crash" if self.max_crashes else ""
        return f"{self.acceptors} acceptors, {self.values} values, ballots 0..{self.max_ballot}{crashes}"


#: What ``prove paxos --parameterized`` ties, cheapest first (a failure stops the tie there).
#: Ballots 0..1 take each guard both ways (promise, accept, propose once, a quorum's 1bs, v free
#: or the reported vote's); 3 acceptors give overlapping majorities; one crash makes recovery a
#: stutter only if acceptors and leaders persist; 3 acceptors, 2 values, ballots 0..2 are the
#: smallest where a quorum's 1bs report votes of two ballots with different values, so only
#: there is "the highest reported vote" told apart from the lowest or any one.
TIE_INSTANCES: tuple[TieInstance, ...] = (
    TieInstance(1, 1, 0),
    TieInstance(2, 2, 1),
    TieInstance(3, 2, 0),
    TieInstance(2, 2, 1, EDGES, max_crashes=1),
    TieInstance(3, 2, 1, converse_sample=60),
    TieInstance(3, 2, 2, EDGES),
)


def source_commit(cls: type) -> tuple[str, str, bool | None]:
    """``(source file, git commit, dirty)`` of a class: ``"unknown"`` and ``None`` when the file
    is not in a git checkout or git is missing; dirty when the file differs from the commit."""
    import inspect
    import os
    import subprocess

    try:
        path = inspect.getsourcefile(cls) or "unknown"
    except TypeError:
        return "unknown", "unknown", None
    if path == "unknown":
        return path, "unknown", None

    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(["git", "-C", os.path.dirname(path), *args], capture_output=True, text=True,
                               timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return path, "unknown", None
    status = git("status", "--porcelain", "--", os.path.basename(path))
    return path, commit, None if status is None else bool(status)


@dataclass
class Tie:
    """The tie of the formulas to one model class: where its source is, and each instance run."""

    model: str
    source: str
    commit: str
    dirty: bool | None
    instances: list[ConformResult] = field(default_factory=list)
    not_run: list[TieInstance] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.instances) and all(r.ok for r in self.instances) and not self.not_run

    def commit_text(self) -> str:
        if self.commit == "unknown":
            return "commit unknown (not a git checkout)"
        return f"commit {self.commit}" + (" dirty (the file differs from the commit)" if self.dirty else "")

    def to_lines(self, mismatches: int = 5) -> list[str]:
        lines = [f"  tie: model {self.model} ({self.source}, {self.commit_text()}): "
                 f"{'ok' if self.ok else 'FAILED'}, {self.elapsed_s:.1f}s"]
        for r in self.instances:
            c = r.checks
            lines.append(f"  tie {r.instance()}: {r.checked()}: {c.get('states', 0):,} states, "
                         f"{c.get('edges', 0):,} edges checked, {len(r.mismatches)} mismatches"
                         f"{' (stopped at the first ones)' if r.stopped else ''}, {r.elapsed_s:.1f}s")
            lines += [f"    MISMATCH {m}" for m in r.mismatches[:mismatches]]
        lines += [f"  tie {x}: not run (the tie stopped at the mismatch above)" for x in self.not_run]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "model_class": self.model,
            "source": self.source,
            "commit": self.commit,
            "dirty": self.dirty,
            "ok": self.ok,
            "instances": [
                {"acceptors": r.acceptors, "values": r.values, "ballots": r.ballots, "max_ballot": r.max_ballot,
                 "max_crashes": r.max_crashes, "scope": r.scope, "checked": r.checked(),
                 "states": r.checks.get("states", 0), "edges": r.checks.get("edges", 0), "checks": r.checks,
                 "mismatches": len(r.mismatches), "first_mismatches": r.mismatches[:5], "stopped": r.stopped,
                 "elapsed_s": round(r.elapsed_s, 6)}
                for r in self.instances
            ],
            "not_run": [str(x) for x in self.not_run],
            "elapsed_s": round(self.elapsed_s, 6),
        }


def tie_paxos_param(model_class: type | None = None, *, formula_variant: str | None = None,
                    instances: Sequence[TieInstance] | None = None,
                    progress: Callable[[str], None] | None = None) -> Tie:
    """Run ``conform_paxos_param`` on each instance (default ``TIE_INSTANCES``) in turn,
    stopping at the first mismatch."""
    from ..models.paxos import Paxos

    if instances is None:
        instances = TIE_INSTANCES

    t0 = time.perf_counter()
    cls = Paxos if model_class is None else model_class
    tie = Tie(model_name(cls), *source_commit(cls))
    for k, inst in enumerate(instances):
        if progress is not None:
            progress(f"tie {inst} ({inst.scope}) ...")
        r = conform_paxos_param(inst.acceptors, inst.values, inst.max_ballot, formula_variant=formula_variant,
                                converse_sample=inst.converse_sample, scope=inst.scope,
                                max_crashes=inst.max_crashes, model_class=cls)
        tie.instances.append(r)
        if not r.ok:
            tie.not_run = list(instances[k + 1:])
            break
    tie.elapsed_s = time.perf_counter() - t0
    return tie


def prove_paxos_param(timeout_s: float = 60, *, without: Sequence[str] = (), variant: str | None = None,
                      stop_at_first_failure: bool = False, tie: bool = True, model_class: type | None = None,
                      instances: Sequence[TieInstance] | None = None,
                      progress: Callable[[str], None] | None = None) -> ParamProofResult:
    """Prove agreement for any number of acceptors, values and ballots, tied to the model.

    First the tie (``tie_paxos_param``): the formulas describe ``model_class`` (a ``Paxos``
    subclass, default ``models.paxos.Paxos``) on ``instances``; then the z3 obligations.
    ``proved`` needs both; ``tie=False`` gives at best ``proved-formulas-only``; a tie mismatch
    gives ``error`` (the formulas do not describe the model: a model error, exit status 4).
    ``timeout_s`` bounds each z3 query; ``without`` drops invariant conjuncts by name and
    ``variant`` uses a wrong transition formula (``FORMULA_VARIANTS``, tied as it is): both are
    for showing that the proof is not vacuous.
    """
    t0 = time.perf_counter()
    tied = tie_paxos_param(model_class, formula_variant=variant, instances=instances,
                           progress=progress) if tie else None
    if tied is not None and not tied.ok and stop_at_first_failure:
        result = ParamProofResult(UNKNOWN, variant=variant, timeout_s=timeout_s)
    else:
        result = _prove_formulas(timeout_s, without, variant, stop_at_first_failure)
    result.formulas, result.tie = result.verdict, tied
    if tied is not None and not tied.ok:
        bad = next(r for r in tied.instances if not r.ok)
        result.verdict = ERROR
        crash = f" --max-crashes {bad.max_crashes}" if bad.max_crashes else ""
        result.reason = (f"the tie failed: the formulas do not describe {tied.model} at {bad.instance()}; "
                         f"`protoproof check paxos --acceptors {bad.acceptors} --values {bad.values} --max-ballot "
                         f"{bad.max_ballot}{crash}` on it looks for a reachable violation")
    elif result.formulas == PROVED and tied is None:
        result.verdict = PROVED_FORMULAS_ONLY
        result.reason = "proved for the formulas only: the tie to the model was not run"
    result.elapsed_s = time.perf_counter() - t0
    return result


def main(argv: Sequence[str] | None = None) -> int:
    r = prove_paxos_param(progress=lambda line: print(line, file=sys.stderr, flush=True))
    print("\n".join(r.to_lines()))
    return EXIT_BY_VERDICT[r.verdict]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
