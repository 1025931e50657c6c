"""The inductive strengthening of Paxos agreement, in the model's own vocabulary.

What this proves: for ONE configuration of ``models/paxos.py`` at a time (a number of acceptors,
values and ballots ``0..max_ballot``, majority quorums or the model's ``quorums()``), that
agreement (no two different values are chosen) holds in every reachable state.  ``protoproof
prove paxos --acceptors 5 --values 3 --max-ballot 3`` checks, with z3, from the model's own
transition functions (acceptor handlers, ``Leader.phase1a``/``phase2a``, the network):

- Init => Inv, Inv /\\ T_a => Inv' for every action instance a, and Inv => agreement,

where Inv is agreement together with the conjuncts below.  Any number of acceptors, values and
ballots at once is the business of ``proofs/paxos_param.py`` (the parameterized proof).

The conjuncts are the invariant of Lamport's TLAPS proof of ``Paxos.tla`` ("The Paxos Algorithm
or How to Win a Turing Award"), split so that each is needed (the tests drop each one and get a
counterexample to induction):

- an acceptor's variables agree with its votes (``acceptor_state_matches_its_votes``), and it
  never voted above ``max_vbal`` (``votes_at_most_max_vbal``);
- a 1b message reports the acceptor's promise and its last vote, with no vote in between
  (``one_b_reports_promise_and_last_vote``);
- a 2a message is unique per ballot (``one_two_a_per_ballot``) and safe (``two_a_is_safe``:
  SafeAt, every earlier ballot has a quorum each of whose members voted for the value or can
  no longer vote there); a leader that has not proposed sent no 2a
  (``unproposed_leader_sent_no_two_a``);
- a 2b message (a vote) has a matching 2a (``vote_has_matching_two_a``).

The predicates are plain Python over ``SysState``: acceptor ``a`` is ``s.nodes[a]`` (``Acc``),
the leader of ballot ``b`` is ``s.nodes[model.leader(b)]`` (``Ldr``), and ``model.sent(s, msg,
src, dst)`` says whether a message was ever sent.  The prover runs them on z3 values through their twins; the explicit
checker (``prove --explicit``) runs them concretely.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.paxos import OneB, Paxos, TwoA, TwoB

Predicate = Callable[[Any], bool]


def strengthening(model: Paxos) -> list[Predicate]:
    """The conjuncts that make agreement inductive for ``model``'s configuration."""
    c = model.config
    acceptors = range(c.acceptors)
    ballots = range(c.max_ballot + 1)
    values = range(c.values)
    quorums = model.quorum_list
    leader = model.leader
    # the (mbal, mval) a 1b may report, as declared by the model (the universe of its messages)
    reports = sorted({(e.msg.mbal, e.msg.mval) for e in model.envelopes() if type(e.msg) is OneB},
                     key=lambda r: (r[0], -1 if r[1] is None else r[1]))

    def voted(s: Any, a: int, b: int, v: int) -> Any:
        """Acceptor a sent 2b(a, b, v) (Paxos.tla's VotedFor)."""
        return model.sent(s, TwoB(a, b, v), a, leader(b))

    def voted_at(s: Any, a: int, b: int) -> Any:
        return any(voted(s, a, b, v) for v in values)

    def two_a(s: Any, b: int, v: int) -> Any:
        """The leader of ballot b sent 2a(b, v) (to some acceptor)."""
        return any(model.sent(s, TwoA(b, v), leader(b), a) for a in acceptors)

    def one_b(s: Any, a: int, b: int, mb: int, mv: int | None) -> Any:
        return model.sent(s, OneB(a, b, mb, mv), a, leader(b))

    def safe_at(s: Any, b: int, v: int) -> Any:
        """Paxos.tla's SafeAt(b, v): no value other than v is or can be chosen below b."""
        return all(
            any(all(voted(s, a, c2, v) or (s.nodes[a].max_bal > c2 and not voted_at(s, a, c2)) for a in q)
                for q in quorums)
            for c2 in range(b)
        )

    def acceptor_state_matches_its_votes(s: Any) -> bool:
        """max_val is None exactly when max_vbal is -1; max_vbal <= max_bal; the last vote was sent."""
        return all(
            (s.nodes[a].max_val in values) == (s.nodes[a].max_vbal >= 0)
            and s.nodes[a].max_vbal <= s.nodes[a].max_bal
            and (s.nodes[a].max_vbal < 0
                 or any(s.nodes[a].max_vbal == b and s.nodes[a].max_val == v and voted(s, a, b, v)
                        for b in ballots for v in values))
            for a in acceptors
        )

    def votes_at_most_max_vbal(s: Any) -> bool:
        """An acceptor never voted in a ballot above its max_vbal."""
        return all(not voted_at(s, a, b) or b <= s.nodes[a].max_vbal for a in acceptors for b in ballots)

    def one_b_reports_promise_and_last_vote(s: Any) -> bool:
        """1b(a, b, mb, mv): b <= max_bal[a]; (mb, mv) is (-1, None) or a vote a sent; none in between."""
        return all(
            not one_b(s, a, b, mb, mv)
            or (b <= s.nodes[a].max_bal
                and ((mb == -1 and mv is None) or (mb >= 0 and mv is not None and voted(s, a, mb, mv)))
                and not any(voted_at(s, a, c2) for c2 in range(mb + 1, b)))
            for a in acceptors for b in ballots for mb, mv in reports
        )

    def one_two_a_per_ballot(s: Any) -> bool:
        """At most one value is proposed in a ballot."""
        return all(not (two_a(s, b, v) and two_a(s, b, w)) for b in ballots for v in values for w in values
                   if v < w)

    def two_a_is_safe(s: Any) -> bool:
        """A proposed value is safe at its ballot (SafeAt)."""
        return all(not two_a(s, b, v) or safe_at(s, b, v) for b in ballots for v in values)

    def unproposed_leader_sent_no_two_a(s: Any) -> bool:
        """A leader that has not proposed sent no 2a."""
        return all(s.nodes[leader(b)].proposed or not any(two_a(s, b, v) for v in values) for b in ballots)

    def vote_has_matching_two_a(s: Any) -> bool:
        """An acceptor votes 2b(a, b, v) only on a 2a(b, v) sent to it."""
        return all(not voted(s, a, b, v) or model.sent(s, TwoA(b, v), leader(b), a)
                   for a in acceptors for b in ballots for v in values)

    return [
        acceptor_state_matches_its_votes,
        votes_at_most_max_vbal,
        one_b_reports_promise_and_last_vote,
        one_two_a_per_ballot,
        two_a_is_safe,
        unproposed_leader_sent_no_two_a,
        vote_has_matching_two_a,
    ]


def twin_domain(model: Paxos) -> list[Predicate]:
    """The states on which ``conform`` compares a leader's twins with its forking run.

    A leader's ``phase2a`` reads the 1bs of its ballot: 9 declared reports from each of 3
    acceptors at the default size, so its forking run (the original code on z3 values, one
    path per combination) has 2^27 paths.  On the states below an acceptor sent at most one
    1b per ballot, reporting no vote or a vote of an earlier ballot: at most 4^3 paths.
    ``conform`` proves these predicates inductive *by themselves* before such a check counts.
    Not strengthening conjuncts: the benign mutant that answers a duplicate 1a again (a
    second 1b for its ballot, after a vote) must still be proved; ``conform`` reports its
    leader twins as not compared instead.
    """
    c = model.config
    acceptors, ballots, values = range(c.acceptors), range(c.max_ballot + 1), range(c.values)
    crashes = c.max_crashes > 0
    one_bs = [e for e in model.envelopes() if type(e.msg) is OneB]
    ok = {(a, b): [e for e in one_bs if e.msg.acc == a and e.msg.bal == b
                   and ((e.msg.mbal == -1 and e.msg.mval is None) or (0 <= e.msg.mbal < b and e.msg.mval in values))]
          for a in acceptors for b in ballots}
    bad = [e for e in one_bs if e not in ok[e.msg.acc, e.msg.bal]]

    def acceptor_vote_below_promise(s: Any) -> bool:
        """max_vbal <= max_bal, and max_val is a value exactly when max_vbal >= 0 (on disk too)."""
        return all(
            st.max_vbal <= st.max_bal and (st.max_vbal >= 0) == (st.max_val is not None)
            for a in acceptors for st in ((s.nodes[a], s.disk[a]) if crashes else (s.nodes[a],))
        )

    def one_b_once_per_ballot(s: Any) -> bool:
        """An acceptor sent at most one 1b per ballot b, none above its promise (nor its disk's), and
        it reports no vote or a vote of a ballot below b."""
        return not any(model.sent(s, e.msg, e.src, e.dst) for e in bad) and all(
            sum(1 for e in ok[a, b] if model.sent(s, e.msg, e.src, e.dst)) <= 1
            and (not any(model.sent(s, e.msg, e.src, e.dst) for e in ok[a, b])
                 or (b <= s.nodes[a].max_bal and (not crashes or b <= s.disk[a].max_bal)))
            for a in acceptors for b in ballots
        )

    return [acceptor_vote_below_promise, one_b_once_per_ballot]


__all__ = ["strengthening", "twin_domain"]
