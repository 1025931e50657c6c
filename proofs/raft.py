"""The inductive strengthening of Raft's ElectionSafety at a fixed size, in the model's vocabulary.

The conjuncts are those of the parameterized proof (``raft_param.py``), read on the concrete
state: a granting RequestVote response in flight (``model.in_flight``) or a vote a
candidate/leader counts (``votes_granted``) is evidence of a vote; that evidence is of a term
at most the voter's, is the voter's ``voted_for`` in its current term, and names one candidate
per voter and term; a leader holds a majority of votes.  ``prove raft`` checks that they and
the ``@always`` properties asked for are inductive on every action instance of the instance's
bounds (terms, logs and copies bounded by the model's CONSTRAINT), so what is proved is the
instance, never more.  LogMatching and StateMachineSafety have no strengthening here: ``prove``
reports their counterexample to induction, and ``bmc`` bounds them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.raft import CANDIDATE, LEADER, Raft, RequestVoteResponse

Predicate = Callable[[Any], bool]


def strengthening(model: Raft) -> list[Predicate]:
    """ElectionSafety's strengthening for ``model``'s servers and terms."""
    n = model.config.servers
    servers = range(n)
    terms = range(1, model.config.max_term + 1)

    def granted(s: Any, j: int, t: int, c: int) -> bool:
        """A response granting j's vote of term t to c is in flight."""
        return model.in_flight(s, RequestVoteResponse(t, True), j, c)

    def counts(s: Any, j: int, c: int) -> bool:
        """c, a candidate or leader, counts j's vote (of c's current term)."""
        ls = s.nodes[c]
        return (ls.role == CANDIDATE or ls.role == LEADER) and j in ls.votes_granted

    def response_not_future(s: Any) -> bool:
        """A granting response's term is at most its sender's current term."""
        return all(not granted(s, j, t, c) or t <= s.nodes[j].current_term
                   for j in servers for c in servers for t in terms)

    def response_is_vote(s: Any) -> bool:
        """A granting response of its sender's current term names the sender's voted_for."""
        return all(not granted(s, j, t, c) or s.nodes[j].current_term != t or s.nodes[j].voted_for == c
                   for j in servers for c in servers for t in terms)

    def counted_not_future(s: Any) -> bool:
        """A vote a candidate/leader counts is of a term at most the voter's."""
        return all(not counts(s, j, c) or s.nodes[c].current_term <= s.nodes[j].current_term
                   for j in servers for c in servers)

    def counted_is_vote(s: Any) -> bool:
        """A counted vote of the voter's current term is the voter's voted_for."""
        return all(not counts(s, j, c) or s.nodes[c].current_term != s.nodes[j].current_term
                   or s.nodes[j].voted_for == c for j in servers for c in servers)

    def responses_unique(s: Any) -> bool:
        """A voter's granting responses of one term go to one candidate."""
        return all(not granted(s, j, t, c1) or not granted(s, j, t, c2)
                   for j in servers for t in terms for c1 in servers for c2 in servers if c1 < c2)

    def response_and_count_agree(s: Any) -> bool:
        """A granting response and a counted vote of one voter and term name one candidate."""
        return all(not granted(s, j, t, c1) or not counts(s, j, c2) or s.nodes[c2].current_term != t
                   for j in servers for t in terms for c1 in servers for c2 in servers if c1 != c2)

    def counts_unique(s: Any) -> bool:
        """Two candidates/leaders of one term count no common voter."""
        return all(not counts(s, j, c1) or not counts(s, j, c2)
                   or s.nodes[c1].current_term != s.nodes[c2].current_term
                   for j in servers for c1 in servers for c2 in servers if c1 < c2)

    def leader_has_majority(s: Any) -> bool:
        """A leader counts the votes of a majority."""
        return all(s.nodes[c].role != LEADER or 2 * len(s.nodes[c].votes_granted) > n for c in servers)

    return [response_not_future, response_is_vote, counted_not_future, counted_is_vote, responses_unique,
            response_and_count_agree, counts_unique, leader_has_majority]


__all__ = ["strengthening"]
