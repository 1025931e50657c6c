"""The inductive strengthening of Raft's ElectionSafety at a fixed size, in the model's vocabulary.

The conjuncts are those of the parameterized proof (``raft_param.py``), read on the concrete
state: a granting RequestVote response in flight (``model.in_flight``) or a vote a
candidate/leader counts (``votes_granted``) is evidence of a vote; that evidence is of a term
at most the voter's, is the voter's ``voted_for`` in its current term, and names one candidate
per voter and term; a leader holds a majority of votes.  ``prove raft`` checks that they and
the ``@always`` properties asked for are inductive on every action instance of the instance's
bounds (terms, logs and copies bounded by the model's CONSTRAINT), so what is proved is the
instance, never more.

With logs (``--max-log`` > 0) the log conjuncts of ``log_strengthening`` join them: they are
written for logs of one entry (entry uniqueness: one term and index name one value, the part
of LogMatching such logs can break); with longer logs LogMatching also needs the requests'
``prev_log_term`` to agree with the logs, which is not here.  StateMachineSafety has no strengthening (it needs
LeaderCompleteness and what commit indices and match indices say): ``bmc`` bounds it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.raft import (
    CANDIDATE,
    LEADER,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Entry,
    Raft,
    RequestVoteResponse,
)

Predicate = Callable[[Any], bool]


def strengthening(model: Raft) -> list[Predicate]:
    """ElectionSafety's strengthening, and with logs (``max_log > 0``) LogMatching's on top of it."""
    return election_strengthening(model) + (log_strengthening(model) if model.config.max_log > 0 else [])


def election_strengthening(model: Raft) -> list[Predicate]:
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


def log_strengthening(model: Raft) -> list[Predicate]:
    """The log conjuncts (entry uniqueness, the first half of LogMatching, and what the steps need).

    An entry of term t is created only by the leader of t (``client_request``) and copied
    otherwise, so: the leader of t holds every entry of term t that exists, in a log or in a
    request in flight (``leader_has_its_entries``); one (term, index) names one value
    (``entries_unique``); and once an entry of term t exists, nobody else can still win term t:
    a majority is *locked* against every would-be candidate c (``no_second_leader``) -- the
    voter is past t, or in t with a vote for another server, and has no granting response to c
    of t in flight nor is counted by c in t.  That is the election history (raft.tla's
    ``elections``) read off the current state, which the model does not keep.  The rest keep
    the steps inside their domain: log terms at most the owner's term (else a RequestVote leaves
    the message universe: ``bag_bound``), a leader's next_index at most its log's length + 1, and
    what a success response or a request of the leader's term says about its log (else
    ``append_entries`` indexes past the log: ``steps_total``).
    """
    c = model.config
    n = c.servers
    servers = range(n)
    terms = range(1, c.max_term + 1)
    indices = range(1, c.max_log + 1)
    values = range(c.values)
    pairs = [(i, j) for i in servers for j in servers if i != j]
    requests = [m for m in model.messages() if isinstance(m, AppendEntriesRequest)]
    carried: dict[tuple[int, int, int], list[Any]] = {}  # (term, index, value) -> requests carrying it
    for m in requests:
        for p, e in enumerate(m.entries):
            carried.setdefault((e.term, m.prev_log_index + 1 + p, e.value), []).append(m)
    successes = [m for m in model.messages() if isinstance(m, AppendEntriesResponse) and m.success]

    def exists(s: Any, t: int, k: int, v: int) -> bool:
        """Entry (t, v) is at index k of some log or of some request in flight.

        ``e in log[k - 1:k]``, not ``len(log) >= k and log[k - 1] == e``: indexing a log of
        symbolic length forks the exploration on its length, and at 3 servers the conjuncts
        that read entries exceeded the path budget; the slice is one formula."""
        e = Entry(t, v)
        return (any(e in s.nodes[i].log[k - 1:k] for i in servers)
                or any(model.in_flight(s, m, i, j) for m in carried.get((t, k, v), []) for i, j in pairs))

    def exists_term(s: Any, t: int) -> bool:
        return any(exists(s, t, k, v) for k in indices for v in values)

    def granted(s: Any, j: int, t: int, c: int) -> bool:
        return model.in_flight(s, RequestVoteResponse(t, True), j, c)

    def locked(s: Any, j: int, t: int, c: int) -> bool:
        """j can never give c its vote of term t."""
        nj, nc = s.nodes[j], s.nodes[c]
        counted = (nc.role == CANDIDATE or nc.role == LEADER) and nc.current_term == t and j in nc.votes_granted
        return (not granted(s, j, t, c) and not counted
                and (nj.current_term > t or (nj.current_term == t and nj.voted_for not in (None, c))))

    def log_terms_bounded(s: Any) -> bool:
        """A log's entries are of terms at most its owner's current term."""
        return all(e.term <= s.nodes[i].current_term for i in servers for e in s.nodes[i].log)

    def next_index_bounded(s: Any) -> bool:
        """A leader's next_index is at most its log's length + 1."""
        return all(s.nodes[i].role != LEADER or s.nodes[i].next_index[j] <= len(s.nodes[i].log) + 1
                   for i in servers for j in servers)

    def success_within_leader_log(s: Any) -> bool:
        """A success response of a leader's term acknowledges no more than the leader's log."""
        return all(s.nodes[i].role != LEADER or s.nodes[i].current_term != m.term
                   or m.match_index <= len(s.nodes[i].log) or not model.in_flight(s, m, j, i)
                   for m in successes for i, j in pairs)

    def request_within_leader_log(s: Any) -> bool:
        """A request of a leader's term reaches no further than the leader's log."""
        return all(s.nodes[i].role != LEADER or s.nodes[i].current_term != m.term
                   or m.prev_log_index + len(m.entries) <= len(s.nodes[i].log) or not model.in_flight(s, m, i, j)
                   for m in requests for i, j in pairs)

    def appends_from_leaders(s: Any) -> bool:
        """A request of term t (and a success response to it) is from (to) the leader of t: its
        server is past t, or in t and no candidate."""
        def led(i: int, t: int) -> bool:
            ni = s.nodes[i]
            return ni.current_term > t or (ni.current_term == t and ni.role != CANDIDATE)

        return (all(led(i, m.term) or not model.in_flight(s, m, i, j) for m in requests for i, j in pairs)
                and all(led(i, m.term) or not model.in_flight(s, m, j, i) for m in successes for i, j in pairs))

    def leader_has_its_entries(s: Any) -> bool:
        """The leader of term t holds every entry of term t that exists, at its index."""
        return all(s.nodes[ld].role != LEADER or s.nodes[ld].current_term != t or not exists(s, t, k, v)
                   or Entry(t, v) in s.nodes[ld].log[k - 1:k]
                   for ld in servers for t in terms for k in indices for v in values)

    def entries_unique(s: Any) -> bool:
        """One term and index name one value, in logs and requests alike."""
        return all(not exists(s, t, k, v1) or not exists(s, t, k, v2)
                   for t in terms for k in indices for v1 in values for v2 in values if v1 < v2)

    def no_second_leader(s: Any) -> bool:
        """Once an entry of term t exists, any server that could still lead t is locked out by a majority."""
        return all(not exists_term(s, t) or s.nodes[c].current_term > t
                   or (s.nodes[c].current_term == t and s.nodes[c].role != CANDIDATE)
                   or 2 * sum(1 for j in servers if locked(s, j, t, c)) > n
                   for t in terms for c in servers)

    return [log_terms_bounded, next_index_bounded, appends_from_leaders, success_within_leader_log,
            request_within_leader_log, leader_has_its_entries, entries_unique, no_second_leader]


__all__ = ["election_strengthening", "log_strengthening", "strengthening"]
