"""Parameterized proof of Raft's ElectionSafety: any number of servers and terms.

What is proved
--------------
ElectionSafety (at most one leader per term: ``leader(i) & leader(j) & currentTerm[i] =
currentTerm[j] => i = j``) for raft.tla's election (``models/raft.py``) with EVERY number of
servers and terms and any family of pairwise-intersecting quorums.  Logs play no part in who
wins an election except through RequestVote's up-to-date check, which only ever withholds a
vote; so the formulas forget logs, commit indexes, nextIndex/matchIndex and votesResponded, and
let a server grant or deny whenever raft.tla might (an over-approximation: every model step is
one of the formulas', which is what the proof needs).  Vocabulary (Ivy/mypyvy style):

- sorts ``node``, ``term``, ``quorum``; ``le(term, term)`` a total order, ``next(t, t2)``
  (t2 = t + 1, only ``lt(t, t2)`` is assumed), ``member(node, quorum)`` with the
  quorum-intersection axiom;
- ``cur(n, t)``: currentTerm[n] = t; ``candidate(n)``, ``leader(n)`` (a follower is neither);
  ``voted(n, c)``: votedFor[n] = c (no row: Nil); ``granted(c, n)``: n in votesGranted[c];
- the bag ``messages`` abstracted to its DOMAIN, per kind: ``rvq(src, dst, t)`` a RequestVote
  request, ``rvp(src, dst, t)`` a vote-granting response, ``msg(dst, t)`` any message to dst of
  term t.  Receiving or dropping one message (one copy of one element of the bag) may or may
  not remove its abstract tuple (``Formulas.take``); duplicating one changes no tuple.
- actions: Restart, Timeout, RequestVote, BecomeLeader, AppendEntries (the leader's send),
  Receive (raft.tla's sub-cases: UpdateTerm, a vote granted, a reply that grants nothing, a
  vote tallied, a message discarded, a candidate returning to follower), Drop.  ClientRequest,
  AdvanceCommitIndex, DuplicateMessage and a follower's log changes are stutters here.

The invariant (``RaftFormulas.invariant``) says that the evidence of a vote (a granting
response in flight; a voter in a candidate's or leader's votesGranted in its term) is at most
the voter's term, is its votedFor when in its current term, and names one candidate per voter
and term; a leader holds a quorum's votes.  Each conjunct is needed (the tests drop each).

The queries are those of ``checker/firstorder/prove.py``.  One conjunct, "a leader holds a
quorum's votes" (node -> quorum), with the intersection axiom (quorum -> node), makes the
quantifier alternation not stratified: those queries are outside EPR (z3 may in principle not
terminate; each is reported with its time, and marked), though z3 answers them in milliseconds.

What it assumes
---------------
Pairwise-intersecting quorums (majorities, checked on each tie instance); the formulas describe
``models/raft.py``: the tie (``raft_param_tie.py``) checks it on the instances of
``TIE_INSTANCES`` on every run, and the verdict is ``proved`` only if it holds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from ..checker.firstorder import (
    FULL,
    Conjunct,
    Form,
    Formulas,
    Instance,
    ParamProofResult,
    RelState,
    Signature,
    Term,
    Tie,
    Z3Logic,
    check_queries,
    describe,
    induction_queries,
    run_tie,
)
from ..checker.firstorder.formulas import quorums_intersect, total_order
from ..checker.firstorder.result import ConformResult, main_of, prove_tied
from ..checker.verdict import UNKNOWN

NODE, TERM, QUORUM = "node", "term", "quorum"
SORTS = (NODE, TERM, QUORUM)
SIGNATURE: dict[str, tuple[str, ...]] = {
    "cur": (NODE, TERM),
    "candidate": (NODE,),
    "leader": (NODE,),
    "voted": (NODE, NODE),
    "granted": (NODE, NODE),
    "rvq": (NODE, NODE, TERM),
    "rvp": (NODE, NODE, TERM),
    "msg": (NODE, TERM),
}
RAFT = Signature(SORTS, SIGNATURE)
State = RelState

ACTIONS = ("Restart", "Timeout", "RequestVote", "BecomeLeader", "AppendEntries", "Receive", "Drop")
#: Receive(i, j, tm, tc): i receives a message from j of term tm while in term tc.
ACTION_PARAMS: dict[str, list[str]] = {
    "Restart": [NODE],
    "Timeout": [NODE, TERM, TERM],
    "RequestVote": [NODE, NODE, TERM],
    "BecomeLeader": [NODE, QUORUM],
    "AppendEntries": [NODE, NODE, TERM],
    "Receive": [NODE, NODE, TERM, TERM],
    "Drop": [NODE, NODE, TERM],
}
#: Wrong transition formulas (planted bugs) the proof must not prove.
FORMULA_VARIANTS = ("vote-twice", "stale-leader")
COVERS = {"servers": "any", "terms": "any", "quorums": "pairwise intersecting", "logs": "abstracted"}


@dataclass
class Theory:
    """The immutable symbols: the term order, its successor, quorum membership."""

    le: Callable[[Term, Term], Form]
    lt: Callable[[Term, Term], Form]
    next: Callable[[Term, Term], Form]
    member: Callable[[Term, Term], Form]


def z3_vocabulary() -> tuple[dict[str, Any], Theory]:
    sorts = RAFT.z3_sorts()
    T = sorts[TERM]
    le = z3.Function("le", T, T, z3.BoolSort())
    nxt = z3.Function("next", T, T, z3.BoolSort())
    member = z3.Function("member", sorts[NODE], sorts[QUORUM], z3.BoolSort())
    return sorts, Theory(le=le, lt=lambda x, y: z3.And(le(x, y), x != y), next=nxt, member=member)


class RaftFormulas(Formulas):
    """Init, raft.tla's election as transition formulas, the invariant and ElectionSafety."""

    signature = RAFT
    actions = ACTIONS
    action_params = ACTION_PARAMS

    variants = FORMULA_VARIANTS
    th: Theory

    def axioms(self) -> list[tuple[str, Form]]:
        L, th = self.L, self.th
        return [
            *total_order(L, th.le, TERM),
            ("next_is_later", L.forall([TERM] * 2, lambda x, y: L.implies(th.next(x, y), lambda: th.lt(x, y)))),
            quorums_intersect(L, th.member, NODE, QUORUM),
        ]

    def init(self, s: State) -> Form:
        """Every server a follower in the first term (the least), no votes, no messages."""
        L, th = self.L, self.th
        N, T = NODE, TERM
        return L.and_(
            L.forall([N], lambda n: L.exists([T], lambda t: s.cur(n, t))),
            lambda: L.forall([N, T, T], lambda n, t, u: L.implies(s.cur(n, t), lambda: th.le(t, u))),
            lambda: L.forall([N], lambda n: L.and_(L.not_(s.candidate(n)), L.not_(s.leader(n)))),
            lambda: L.forall([N, N], lambda n, c: L.and_(L.not_(s.voted(n, c)), L.not_(s.granted(n, c)))),
            lambda: L.forall([N, N, T], lambda a, b, t: L.and_(L.not_(s.rvq(a, b, t)), L.not_(s.rvp(a, b, t)))),
            lambda: L.forall([N, T], lambda n, t: L.not_(s.msg(n, t))),
        )

    # ----- actions ------------------------------------------------------------------------
    def _clear(self, s: State, t: State, name: str, n: Term) -> Any:
        return self.assign(s, t, name, n, lambda *x: False)

    def restart(self, s: State, t: State, n: Term) -> Form:
        """Restart(n): a follower again, votesGranted emptied; term, vote and messages stay."""
        return self.L.and_(
            self.remove(s, t, "candidate", (n,)), self.remove(s, t, "leader", (n,)),
            self._clear(s, t, "granted", n),
            *self.unchanged_except(s, t, "candidate", "leader", "granted"))

    def timeout(self, s: State, t: State, n: Term, t0: Term, t1: Term) -> Form:
        """Timeout(n): a follower or candidate becomes a candidate of the next term, no vote."""
        L, th = self.L, self.th
        return L.and_(
            L.not_(s.leader(n)), lambda: s.cur(n, t0), lambda: th.next(t0, t1),
            self.assign(s, t, "cur", n, lambda x: L.eq(x, t1)),
            self.add(s, t, "candidate", (n,)),
            self._clear(s, t, "voted", n), self._clear(s, t, "granted", n),
            *self.unchanged_except(s, t, "cur", "candidate", "voted", "granted"))

    def request_vote(self, s: State, t: State, i: Term, j: Term, tc: Term) -> Form:
        """RequestVote(i, j): a candidate asks j for its vote in its term."""
        return self.L.and_(
            s.candidate(i), lambda: s.cur(i, tc),
            self.add(s, t, "rvq", (i, j, tc)), self.add(s, t, "msg", (j, tc)),
            *self.unchanged_except(s, t, "rvq", "msg"))

    def become_leader(self, s: State, t: State, i: Term, q: Term) -> Form:
        """BecomeLeader(i): a candidate granted the votes of quorum q leads."""
        L, th = self.L, self.th
        return L.and_(
            s.candidate(i),
            lambda: L.forall([NODE], lambda n: L.implies(th.member(n, q), lambda: s.granted(i, n))),
            self.remove(s, t, "candidate", (i,)), self.add(s, t, "leader", (i,)),
            *self.unchanged_except(s, t, "candidate", "leader"))

    def append_entries(self, s: State, t: State, i: Term, j: Term, tc: Term) -> Form:
        """AppendEntries(i, j): a leader sends j a request of its term."""
        L = self.L
        return L.and_(
            s.leader(i), lambda: s.cur(i, tc), lambda: L.ne(i, j),
            self.add(s, t, "msg", (j, tc)),
            *self.unchanged_except(s, t, "msg"))

    def _consumed(self, s: State, t: State, i: Term, j: Term, tm: Term, reply: tuple[Term, ...] | None,
                  *also: str) -> list[Any]:
        """The message from j to i of term tm is consumed (its tuples may go), ``reply`` sent."""
        return [self.take(s, t, "msg", (i, tm), reply), self.take(s, t, "rvq", (j, i, tm)),
                *(() if "rvp" in also else (self.take(s, t, "rvp", (j, i, tm)),)),
                *self.unchanged_except(s, t, "msg", "rvq", "rvp", *also)]

    def receive(self, s: State, t: State, i: Term, j: Term, tm: Term, tc: Term) -> Form:
        """Receive(m), m from j to i of term tm, i in term tc: raft.tla's sub-cases."""
        L, th = self.L, self.th

        def update_term() -> Form:  # the message stays
            stay = [] if self.variant == "stale-leader" else [self.remove(s, t, "leader", (i,))]
            return L.and_(
                th.lt(tc, tm), lambda: s.msg(i, tm),
                self.assign(s, t, "cur", i, lambda x: L.eq(x, tm)),
                self.remove(s, t, "candidate", (i,)), *stay, self._clear(s, t, "voted", i),
                *self.unchanged_except(s, t, "cur", "candidate", "voted",
                                       *(() if self.variant == "stale-leader" else ("leader",))))

        def grant() -> Form:  # HandleRequestVoteRequest, vote granted
            free = (True if self.variant == "vote-twice"
                    else lambda: L.or_(s.voted(i, j), lambda: L.forall([NODE], lambda c: L.not_(s.voted(i, c)))))
            return L.and_(
                L.eq(tm, tc), lambda: s.rvq(j, i, tm), free,
                self.assign(s, t, "voted", i, lambda x: L.eq(x, j)),
                self.take(s, t, "rvp", (i, j, tc), (i, j, tc)),
                *self._consumed(s, t, i, j, tm, (j, tc), "voted", "rvp"))

        def reply() -> Form:  # a request answered with no vote: any AppendEntries reply, a denied vote
            return L.and_(th.le(tm, tc), lambda: s.msg(i, tm), *self._consumed(s, t, i, j, tm, (j, tc)))

        def tally() -> Form:  # HandleRequestVoteResponse, a granted vote
            return L.and_(
                L.eq(tm, tc), lambda: s.rvp(j, i, tm),
                self.assign(s, t, "granted", i, lambda x: L.or_(s.granted(i, x), lambda: L.eq(x, j))),
                *self._consumed(s, t, i, j, tm, None, "granted"))

        def discard() -> Form:  # a stale response, a denied vote, an AppendEntries response
            return L.and_(s.msg(i, tm), *self._consumed(s, t, i, j, tm, None))

        def step_down() -> Form:  # a candidate hears from a leader of its term; the message stays
            return L.and_(
                L.eq(tm, tc), lambda: s.candidate(i), lambda: s.msg(i, tm),
                self.remove(s, t, "candidate", (i,)),
                *self.unchanged_except(s, t, "candidate"))

        return L.and_(s.cur(i, tc), lambda: L.or_(update_term, grant, reply, tally, discard, step_down))

    def drop(self, s: State, t: State, i: Term, j: Term, tm: Term) -> Form:
        """DropMessage(m): the network loses one copy of a message from j to i of term tm."""
        return self.L.and_(s.msg(i, tm), *self._consumed(s, t, i, j, tm, None))

    def step(self, name: str, s: State, t: State, *w: Term) -> Form:
        fns: dict[str, Callable[..., Form]] = {
            "Restart": self.restart, "Timeout": self.timeout, "RequestVote": self.request_vote,
            "BecomeLeader": self.become_leader, "AppendEntries": self.append_entries,
            "Receive": self.receive, "Drop": self.drop}
        fn = fns[name]
        return fn(s, t, *w)

    # ----- safety and the invariant ---------------------------------------------------------
    def safety(self, s: State) -> Form:
        """ElectionSafety: two leaders in one term are one server."""
        L = self.L
        return L.forall([NODE, NODE, TERM], lambda i, j, tc: L.implies(
            L.and_(s.leader(i), lambda: s.leader(j), lambda: s.cur(i, tc), lambda: s.cur(j, tc)),
            lambda: L.eq(i, j)))

    def invariant(self) -> list[Conjunct]:
        L, th = self.L, self.th
        N, T = NODE, TERM
        le, eq = th.le, L.eq

        def running(s: State, c: Term, tc: Term) -> Form:
            """c is a candidate or leader in term tc (its votesGranted are votes of tc)."""
            return L.and_(L.or_(s.candidate(c), lambda: s.leader(c)), lambda: s.cur(c, tc))

        def votes(s: State, j: Term, c: Term, tc: Term) -> Form:
            """Evidence that j voted for c in term tc, kept in the granted relation."""
            return L.and_(s.granted(c, j), lambda: running(s, c, tc))

        def cur_unique(s: State) -> Form:
            return L.forall([N, T, T], lambda n, t1, t2: L.implies(
                L.and_(s.cur(n, t1), lambda: s.cur(n, t2)), lambda: eq(t1, t2)))

        def voted_unique(s: State) -> Form:
            return L.forall([N, N, N], lambda n, c1, c2: L.implies(
                L.and_(s.voted(n, c1), lambda: s.voted(n, c2)), lambda: eq(c1, c2)))

        def rvp_not_future(s: State) -> Form:
            return L.forall([N, N, T, T], lambda j, c, tv, tj: L.implies(
                L.and_(s.rvp(j, c, tv), lambda: s.cur(j, tj)), lambda: le(tv, tj)))

        def rvp_is_vote(s: State) -> Form:
            return L.forall([N, N, T], lambda j, c, tv: L.implies(
                L.and_(s.rvp(j, c, tv), lambda: s.cur(j, tv)), lambda: s.voted(j, c)))

        def granted_not_future(s: State) -> Form:
            return L.forall([N, N, T, T], lambda j, c, tv, tj: L.implies(
                L.and_(votes(s, j, c, tv), lambda: s.cur(j, tj)), lambda: le(tv, tj)))

        def granted_is_vote(s: State) -> Form:
            return L.forall([N, N, T], lambda j, c, tv: L.implies(
                L.and_(votes(s, j, c, tv), lambda: s.cur(j, tv)), lambda: s.voted(j, c)))

        def rvp_unique(s: State) -> Form:
            return L.forall([N, N, N, T], lambda j, c1, c2, tv: L.implies(
                L.and_(s.rvp(j, c1, tv), lambda: s.rvp(j, c2, tv)), lambda: eq(c1, c2)))

        def rvp_granted_agree(s: State) -> Form:
            return L.forall([N, N, N, T], lambda j, c1, c2, tv: L.implies(
                L.and_(s.rvp(j, c1, tv), lambda: votes(s, j, c2, tv)), lambda: eq(c1, c2)))

        def granted_unique(s: State) -> Form:
            return L.forall([N, N, N, T], lambda j, c1, c2, tv: L.implies(
                L.and_(votes(s, j, c1, tv), lambda: votes(s, j, c2, tv)), lambda: eq(c1, c2)))

        def leader_has_quorum(s: State) -> Form:
            return L.forall([N], lambda i: L.implies(s.leader(i), lambda: L.exists([QUORUM], lambda q: L.forall(
                [N], lambda n: L.implies(th.member(n, q), lambda: s.granted(i, n))))))

        return [
            Conjunct("cur_unique", "currentTerm is a function", cur_unique),
            Conjunct("voted_unique", "votedFor is a function", voted_unique),
            Conjunct("rvp_not_future", "a granting response's term is at most its sender's", rvp_not_future),
            Conjunct("rvp_is_vote", "a granting response of the sender's term is its votedFor", rvp_is_vote),
            Conjunct("granted_not_future", "a vote a candidate/leader counts is of a term <= the voter's",
                     granted_not_future),
            Conjunct("granted_is_vote", "a vote a candidate/leader counts, in the voter's term, is its votedFor",
                     granted_is_vote),
            Conjunct("rvp_unique", "a voter sends granting responses to one candidate per term", rvp_unique),
            Conjunct("rvp_granted_agree", "a granting response and a counted vote of one voter and term name "
                     "one candidate", rvp_granted_agree),
            Conjunct("granted_unique", "two candidates/leaders of one term count no common voter", granted_unique),
            Conjunct("leader_has_quorum", "a leader's votesGranted holds a quorum", leader_has_quorum),
        ]


# ----- the proof ------------------------------------------------------------------------------

#: What ``prove raft --parameterized`` ties, cheapest first (a failure stops the tie there); see
#: ``raft_param_tie.py``: 1 server with terms 1..3 (a leader re-elected, stale messages) and 2
#: servers with terms 1..2 (both votes needed, a vote denied, a candidate stepping down), whole;
#: then 3 servers with terms 1..3 on 600 seeded random walks of 80 steps, the only instance where
#: a leader meets a higher term (2 servers with terms 1..3 are too many states to walk whole).
TIE_INSTANCES: tuple[Instance, ...] = (
    Instance.of(FULL, 0, servers=1, max_term=3, max_log=0),
    Instance.of(FULL, 0, servers=2, max_term=2, max_log=0),
    Instance.walking(600, 80, servers=3, max_term=3, max_log=0),
)


def prove_formulas(timeout_s: float = 60, without: Sequence[str] = (), variant: str | None = None,
                   stop_at_first_failure: bool = False) -> ParamProofResult:
    """The z3 obligations on the formulas alone: verdict ``proved`` or ``unknown``."""
    t0 = time.perf_counter()
    sorts, th = z3_vocabulary()
    P = RaftFormulas(Z3Logic(sorts), th, variant)
    s, t = RAFT.z3_state(sorts, ""), RAFT.z3_state(sorts, "'")
    conj = P.invariant()
    known = {c.name for c in conj}
    bad = [n for n in without if n not in known]
    if bad:
        raise KeyError(f"unknown conjunct {bad[0]!r}; conjuncts: {', '.join(sorted(known))}")
    conj = [c for c in conj if c.name not in without]
    result = ParamProofResult(UNKNOWN, "raft", COVERS, conjuncts=[c.name for c in conj], variant=variant,
                              timeout_s=timeout_s)
    queries = induction_queries(P, conj, s, t, "election_safety")
    check_queries(result, [f for _n, f in P.axioms()], queries, timeout_s, stop_at_first_failure,
                  describe(RAFT, sorts))
    result.elapsed_s = time.perf_counter() - t0
    return result


def tie_raft_param(model_class: type | None = None, *, formula_variant: str | None = None,
                   instances: Sequence[Instance] | None = None,
                   progress: Callable[[str], None] | None = None) -> Tie[ConformResult]:
    """``conform_raft_param`` on each instance (default ``TIE_INSTANCES``), stopping at the first mismatch."""
    from ..models.raft import Raft
    from .raft_param_tie import conform_raft_param

    cls = Raft if model_class is None else model_class

    def one(inst: Instance) -> ConformResult:
        return conform_raft_param(inst, formula_variant=formula_variant, model_class=cls)

    return run_tie(cls, TIE_INSTANCES if instances is None else instances, one, progress)


def prove_raft_param(timeout_s: float = 60, *, without: Sequence[str] = (), variant: str | None = None,
                     stop_at_first_failure: bool = False, tie: bool = True, model_class: type | None = None,
                     instances: Sequence[Instance] | None = None,
                     progress: Callable[[str], None] | None = None) -> ParamProofResult:
    """ElectionSafety for any number of servers and terms, tied to the model (as
    ``proofs/paxos_param.prove_paxos_param``: ``proved`` needs the tie and every obligation)."""
    return prove_tied(
        "raft", COVERS,
        (lambda: tie_raft_param(model_class, formula_variant=variant, instances=instances, progress=progress))
        if tie else None,
        lambda: prove_formulas(timeout_s, without, variant, stop_at_first_failure),
        variant=variant, timeout_s=timeout_s, stop_at_first_failure=stop_at_first_failure)


def main(argv: Sequence[str] | None = None) -> int:
    return main_of(prove_raft_param)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
