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
  ``prove_paxos_param`` (and ``prove paxos --parameterized``) before the proof on every run, on
  the instances of ``TIE_INSTANCES`` (``paxos_param_tie.py`` says what it checks where).

The machinery (logics, frame conditions, the stratification check, the queries, the tie's walk,
the verdicts) is ``checker/firstorder``; this module is the Paxos vocabulary, its formulas and
configuration.  Verdicts are those of ``checker/firstorder/result.py``: ``proved`` needs the
tie and every obligation, ``error`` is a failed tie, ``unknown`` a counterexample to induction
or a timeout; ``violated`` is never claimed here (the explicit checker and BMC find those).

Run: ``python -m protoproof.proofs.paxos_param`` (the tie, then one line per obligation).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import z3

from ..checker.firstorder.epr import alternation_edges, is_stratified
from ..checker.firstorder.formulas import Conjunct, Formulas, quorums_intersect, total_order
from ..checker.firstorder.logic import FiniteLogic, Form, Lazy, Logic, RelState, Signature, Term, Z3Logic
from ..checker.firstorder.prove import Query, check_queries, facts, induction_queries, universe
from ..checker.firstorder.result import EDGES, FULL, INVALID, VALID, ParamProofResult, Tie, main_of, prove_tied
from ..checker.firstorder.tie import run_tie, source_commit
from ..checker.verdict import PROVED_FORMULAS_ONLY, UNKNOWN

if TYPE_CHECKING:
    from .paxos_param_tie import ConformResult, Struct, conform_paxos_param

__all__ = [  # what other modules and tests import from here (the generic names re-exported)
    "ACCEPTOR", "ACTIONS", "ACTION_PARAMS", "ACTION_SENDS", "BALLOT", "EDGES", "FORMULA_VARIANTS", "FULL",
    "INVALID", "PROVED_FORMULAS_ONLY", "QUORUM", "SIGNATURE", "SORTS", "SYMBOLS", "TIE_INSTANCES", "VALID",
    "VALUE", "ConformResult", "Conjunct", "FiniteLogic", "Logic", "ParamProofResult", "PaxosFormulas", "State",
    "Struct", "Theory", "Tie", "TieInstance", "Z3Logic", "alternation_edges", "conform_paxos_param",
    "is_stratified", "prove_paxos_param", "source_commit", "tie_paxos_param",
]

#: Names of ``paxos_param_tie`` (which imports this module) importable from here, on first use.
_TIE_NAMES = ("ConformResult", "Struct", "conform_paxos_param")


def __getattr__(name: str) -> Any:
    if name in _TIE_NAMES:
        from . import paxos_param_tie

        return getattr(paxos_param_tie, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


ACCEPTOR, BALLOT, VALUE, QUORUM = "acceptor", "ballot", "value", "quorum"
SORTS = (ACCEPTOR, BALLOT, VALUE, QUORUM)

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
PAXOS = Signature(SORTS, SIGNATURE)
#: One state's relations (see ``SIGNATURE``), as attributes: ``s.two_b(a, b, v)``.
State = RelState

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

#: What the proof covers (the JSON ``params``; the ``any`` ones make the headline).
COVERS = {"acceptors": "any", "values": "any", "ballots": "any", "quorums": "pairwise intersecting"}


# ----- the vocabulary ----------------------------------------------------------------


@dataclass
class Theory:
    """The immutable symbols: the ballot order, quorum membership, -1 and None."""

    le: Callable[[Term, Term], Form]
    lt: Callable[[Term, Term], Form]
    member: Callable[[Term, Term], Form]
    minus1: Term
    none: Term


def _z3_vocabulary() -> tuple[dict[str, Any], Theory]:
    sorts = PAXOS.z3_sorts()
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
    return PAXOS.z3_state(sorts, suffix)


# ----- the protocol ----------------------------------------------------------------------


class PaxosFormulas(Formulas):
    """Init, the four actions, the invariant and agreement, over any ``Logic``."""

    signature = PAXOS
    actions = ACTIONS
    action_params = ACTION_PARAMS

    variants = FORMULA_VARIANTS
    th: Theory

    def __init__(self, logic: Logic, theory: Theory, variant: str | None = None) -> None:
        super().__init__(logic, theory, variant)

    # ----- axioms -----
    def axioms(self) -> list[tuple[str, Form]]:
        L, th = self.L, self.th
        return [
            *total_order(L, th.le, BALLOT),
            ("minus1_least", L.forall([BALLOT], lambda x: th.le(th.minus1, x))),
            quorums_intersect(L, th.member, ACCEPTOR, QUORUM),
        ]

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
            self.add(s, t, "one_a", (b,)),
            *self.unchanged_except(s, t, "one_a"))

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
            self.assign(s, t, "bal_gt", a, lambda x: th.lt(x, b)),
            self.add(s, t, "one_b", (a, b, vb, vv)),
            *self.unchanged_except(s, t, "bal_gt", "one_b"))

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
            self.add(s, t, "two_a", (b, v)),
            *self.unchanged_except(s, t, "two_a"))

    def phase2b(self, s: State, t: State, a: Term, b: Term, v: Term) -> Form:
        """Phase2b(a): on a 2a(b, v) with b >= maxBal[a] (``~(b < maxBal[a])``), vote:
        maxBal[a] := b, maxVBal[a] := b, maxVal[a] := v, send 2b(a, b, v)."""
        L, th = self.L, self.th
        if self.variant == "accept-below-promise":
            # No promise check, and maxBal[a] := max(b, maxBal[a]) (as the model's planted bug).
            def guard(a: Term, b: Term) -> Lazy:
                return True

            def bal(a: Term, b: Term) -> Lazy:
                return self.assign(s, t, "bal_gt", a, lambda x: L.or_(s.bal_gt(a, x), lambda: th.lt(x, b)))
        else:
            def guard(a: Term, b: Term) -> Lazy:
                return lambda: L.not_(s.bal_gt(a, b))

            def bal(a: Term, b: Term) -> Lazy:
                return self.assign(s, t, "bal_gt", a, lambda x: th.lt(x, b))

        return L.and_(
            s.two_a(b, v),
            guard(a, b),
            bal(a, b),
            self.assign(s, t, "max_vbal", a, lambda x: L.eq(x, b)),
            self.assign(s, t, "max_val", a, lambda x: L.eq(x, v)),
            self.add(s, t, "two_b", (a, b, v)),
            *self.unchanged_except(s, t, "bal_gt", "max_vbal", "max_val", "two_b"))

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

    def induction_action(self, name: str, s: State, t: State) -> Form:
        """The induction queries use Phase2a's stratified guard (``guard_cases``)."""
        return self.action(name, s, t, stratified=True)

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

    def safety(self, s: State) -> Form:
        return self.agreement(s)

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


# ----- the parameterized proof -----------------------------------------------------------


def _describe_model(m: Any, sorts: dict[str, Any], th: Theory, states: Sequence[tuple[str, State]],
                    limit: int = 60) -> list[str]:
    """A z3 model of the vocabulary as readable facts (ballots listed in their order)."""
    univ = universe(m, sorts)

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
    return out + facts(m, PAXOS, univ, names, states, limit)


def _prove_formulas(timeout_s: float, without: Sequence[str], variant: str | None,
                    stop_at_first_failure: bool) -> ParamProofResult:
    """The z3 obligations on the formulas alone: verdict ``proved`` or ``unknown``."""
    t0 = time.perf_counter()
    sorts, th = _z3_vocabulary()
    P = PaxosFormulas(Z3Logic(sorts), th, variant)
    s, t = _z3_state(sorts, ""), _z3_state(sorts, "'")
    axioms = [f for _n, f in P.axioms()]
    conj = P.invariant()
    known = {c.name for c in conj}
    bad = [n for n in without if n not in known]
    if bad:
        raise KeyError(f"unknown conjunct {bad[0]!r}; conjuncts: {', '.join(sorted(known))}")
    conj = [c for c in conj if c.name not in without]
    result = ParamProofResult(UNKNOWN, "paxos", COVERS, conjuncts=[c.name for c in conj], variant=variant,
                              timeout_s=timeout_s)

    def guard_queries(inv_s: list[Form]) -> list[Query]:
        """Phase2a's guard as Paxos.tla writes it implies its stratified form (per case, with the
        case's parameters as constants), under the conjuncts without quantifier alternation."""
        flat = [f for c, f in zip(conj, inv_s, strict=True) if not alternation_edges([c.formula(s)])]
        out = []
        for case, wsorts, tla, epr in P.guard_cases(s):
            b0, v0, q0 = (z3.Const(f"{n}0", sorts[x]) for n, x in (("b", BALLOT), ("v", VALUE), ("q", QUORUM)))
            w0 = [z3.Const(f"w{k}", sorts[x]) for k, x in enumerate(wsorts)]
            out.append(Query(f"Phase2a guard => stratified guard ({case})", [*flat, tla(b0, v0, q0, *w0)],
                             epr(b0, v0, q0, *w0), [("state", s)]))
        return out

    queries = induction_queries(P, conj, s, t, "agreement", extra=guard_queries)
    check_queries(result, axioms, queries, timeout_s, stop_at_first_failure,
                  lambda m, states: _describe_model(m, sorts, th, states))
    result.elapsed_s = time.perf_counter() - t0
    return result


# ----- the tie: the formulas describe models/paxos.py on small instances -------------------


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

    def model_params(self) -> dict[str, int]:
        crashes = {"max_crashes": self.max_crashes} if self.max_crashes else {}
        return {"acceptors": self.acceptors, "values": self.values, "max_ballot": self.max_ballot, **crashes}

    def to_json(self) -> dict[str, Any]:
        return {"acceptors": self.acceptors, "values": self.values, "ballots": self.max_ballot + 1,
                "max_ballot": self.max_ballot, "max_crashes": self.max_crashes}

    def label(self) -> str:
        crashes = f" max_crashes={self.max_crashes}" if self.max_crashes else ""
        return f"acceptors={self.acceptors} values={self.values} max_ballot={self.max_ballot}{crashes}"


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

def tie_paxos_param(model_class: type | None = None, *, formula_variant: str | None = None,
                    instances: Sequence[TieInstance] | None = None,
                    progress: Callable[[str], None] | None = None) -> Tie[ConformResult]:
    """Run ``conform_paxos_param`` on each instance (default ``TIE_INSTANCES``) in turn,
    stopping at the first mismatch."""
    from ..models.paxos import Paxos
    from .paxos_param_tie import conform_paxos_param

    cls = Paxos if model_class is None else model_class

    def one(inst: TieInstance) -> ConformResult:
        return conform_paxos_param(inst.acceptors, inst.values, inst.max_ballot, formula_variant=formula_variant,
                                   converse_sample=inst.converse_sample, scope=inst.scope,
                                   max_crashes=inst.max_crashes, model_class=cls)

    return run_tie(cls, TIE_INSTANCES if instances is None else instances, one, progress)


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
    return prove_tied(
        "paxos", COVERS,
        (lambda: tie_paxos_param(model_class, formula_variant=variant, instances=instances, progress=progress))
        if tie else None,
        lambda: _prove_formulas(timeout_s, without, variant, stop_at_first_failure),
        variant=variant, timeout_s=timeout_s, stop_at_first_failure=stop_at_first_failure)


def main(argv: Sequence[str] | None = None) -> int:
    return main_of(prove_paxos_param)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
