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
of LogMatching such logs can break); from two entries on, ``predecessors_agree`` adds the other
half (an entry's term and index fix its predecessor's term).  With logs of one entry at 2
servers the conjuncts of ``commit_strengthening`` (StateMachineSafety, LeaderCompleteness) join
too; with longer logs or more servers StateMachineSafety has no strengthening here.
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
    RequestVoteRequest,
    RequestVoteResponse,
    last_term,
)

Predicate = Callable[[Any], bool]


def strengthening(model: Raft) -> list[Predicate]:
    """ElectionSafety's strengthening, with logs (``max_log > 0``) LogMatching's on top of it, and
    with logs of one entry at 2 and 3 servers StateMachineSafety's and LeaderCompleteness's
    (``commit_strengthening``, proved at both sizes; ``prove --symmetry`` at 3).  Not at 4 or more:
    ``acked_are_protectors`` reads the leader and one acknowledging server as a majority."""
    c = model.config
    return (election_strengthening(model) + (log_strengthening(model) if c.max_log > 0 else [])
            + (commit_strengthening(model) if c.max_log == 1 and c.servers <= 3 else []))


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
    # (term, index, term of the entry before it) -> requests carrying such an entry after such a predecessor
    preceded: dict[tuple[int, int, int], list[Any]] = {}
    for m in requests:
        for p, e in enumerate(m.entries):
            k = m.prev_log_index + 1 + p
            if k >= 2:
                before = m.prev_log_term if p == 0 else m.entries[p - 1].term
                preceded.setdefault((e.term, k, before), []).append(m)

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

    def follows(s: Any, t: int, k: int, p: int) -> bool:
        """An entry of term t at index k >= 2 follows one of term p, in some log or request in flight."""
        return (any(Entry(p, u) in s.nodes[i].log[k - 2:k - 1] and Entry(t, v) in s.nodes[i].log[k - 1:k]
                    for i in servers for u in values for v in values)
                or any(model.in_flight(s, m, i, j) for m in preceded.get((t, k, p), []) for i, j in pairs))

    def predecessors_agree(s: Any) -> bool:
        """An entry's term and index fix its predecessor's term (the second half of LogMatching:
        the leader of t appends after its own last entry, and a follower accepts only after a
        matching ``prev_log_term``)."""
        return all(not follows(s, t, k, p1) or not follows(s, t, k, p2)
                   for t in terms for k in indices if k >= 2 for p1 in terms for p2 in terms if p1 < p2)

    out = [log_terms_bounded, next_index_bounded, appends_from_leaders, success_within_leader_log,
           request_within_leader_log, leader_has_its_entries, entries_unique, no_second_leader]
    return out + ([predecessors_agree] if c.max_log > 1 else [])


def commit_strengthening(model: Raft) -> list[Predicate]:
    """StateMachineSafety's and LeaderCompleteness's conjuncts, for logs of one entry (``max_log == 1``).

    An entry of term t at index 1 is *protected* when a majority of servers are its protectors:
    each holds it and has granted no vote of a later term to a candidate without it (no granting
    response in flight, not counted, not its ``voted_for`` in its term).  A protected entry
    cannot be lost: every vote of a later term goes to a log holding it (the voter's up-to-date
    check reads the request, and a candidate's requests describe its log), so every leader of
    term >= t holds it, no entry of a later term can be made (the leader's one slot is taken),
    and no request of term >= t carries another entry at index 1, so no holder truncates it.
    What makes it protected is the
    commit: a commit index, or a request's commit index, of 1 on an entry of term t
    (``committed``) implies a majority of protectors, because the leader of t commits only its
    own term's entry with a majority of ``match_index`` >= 1, and a success response or a
    match_index of the leader of t comes from a server that held the leader's entry in term t
    (``acked_are_protectors``).  That last step holds at 2 and 3 servers, where the leader and
    one server that acknowledged are a majority; with 5 a minority of protectors may lose the
    entry, so this is a strengthening for these sizes, proved only where ``prove`` says so.

    At 3 servers a step can make an entry protected that was not, and the conjuncts must then
    already exclude what a protected entry excludes.  Three pieces of evidence survive what
    erases the others: a vote is also the voter's ``voted_for`` (a candidate's restart, its
    election or a dropped response erase the count and the response); a request of its sender's
    current term describes the sender's log whatever its role (a leader's restart leaves its log
    and its requests); and an entry or a request that says index 1 is of term t means some server
    was elected in t by a majority that still says so (``entries_have_an_elected_leader``): its
    voters' logs were empty when they voted, so they protect no older entry.  A vote request of
    a server still in its term says what the server holds unless a newer entry replaced it
    (``vote_requests_in_their_term``), so that an old entry newly protected has no stale vote
    request claiming it from a server that lost it.
    """
    c = model.config
    n = c.servers
    servers = range(n)
    terms = range(1, c.max_term + 1)
    values = range(c.values)
    pairs = [(i, j) for i in servers for j in servers if i != j]
    msgs = model.messages()
    requests = [m for m in msgs if isinstance(m, AppendEntriesRequest)]
    vote_requests = [m for m in msgs if isinstance(m, RequestVoteRequest)]

    def first_term(m: AppendEntriesRequest) -> int | None:
        """The term the request says its sender holds at index 1 (None: it says nothing)."""
        if m.prev_log_index >= 1:
            return m.prev_log_term
        return m.entries[0].term if m.entries else None

    def first_entry(m: AppendEntriesRequest) -> Entry | None:
        return m.entries[0] if m.prev_log_index == 0 and m.entries else None

    def holds(s: Any, j: int, t: int) -> bool:
        """j's log holds an entry of term t at index 1."""
        return any(Entry(t, v) in s.nodes[j].log[0:1] for v in values)

    def granted(s: Any, j: int, t: int, cand: int) -> bool:
        return model.in_flight(s, RequestVoteResponse(t, True), j, cand)

    def sent(s: Any, m: Any) -> bool:
        return any(model.in_flight(s, m, i, j) for i, j in pairs)

    def protector(s: Any, j: int, t: int) -> bool:
        """j holds the entry of term t and has given no candidate without it a vote of a later term:
        no granting response in flight, none counted, and not j's ``voted_for`` in j's term (the one
        piece of evidence that a restart, a drop or the candidate's election does not erase)."""
        def gave(cand: int, tt: int) -> bool:
            nc, nj = s.nodes[cand], s.nodes[j]
            return (granted(s, j, tt, cand) or (nc.current_term == tt and nc.role == CANDIDATE
                                                 and j in nc.votes_granted)
                    or (nj.current_term == tt and nj.voted_for == cand))
        return holds(s, j, t) and all(holds(s, cand, t) or not gave(cand, tt)
                                      for tt in terms if tt > t for cand in servers)

    def protected(s: Any, t: int) -> bool:
        return 2 * sum(1 for j in servers if protector(s, j, t)) > n

    def committed(s: Any, t: int) -> bool:
        """A commit index of 1 on an entry of term t, at a server or in a request in flight."""
        return (any(s.nodes[i].commit_index >= 1 and holds(s, i, t) for i in servers)
                or any(sent(s, m) for m in requests if m.commit_index >= 1 and first_term(m) == t))

    def vote_requests_not_future(s: Any) -> bool:
        """A vote request's term is at most its candidate's current term."""
        return all(m.term <= s.nodes[i].current_term or not model.in_flight(s, m, i, j)
                   for m in vote_requests for i in servers for j in servers)

    def grants_not_future(s: Any) -> bool:
        """A granting response's term is at most its candidate's current term."""
        return all(t <= s.nodes[cand].current_term or not granted(s, j, t, cand)
                   for t in terms for j in servers for cand in servers)

    def vote_requests_describe_the_log(s: Any) -> bool:
        """A candidate's vote requests of its term carry its log's last term and length."""
        return all(s.nodes[i].current_term != m.term or s.nodes[i].role != CANDIDATE
                   or (len(s.nodes[i].log) == m.last_log_index and last_term(s.nodes[i].log) == m.last_log_term)
                   or not model.in_flight(s, m, i, j)
                   for m in vote_requests for i in servers for j in servers)

    def requests_describe_the_log(s: Any) -> bool:
        """A request of its sender's current term says what the sender holds at index 1: the leader
        of the term sent it, and in that term nobody else can change its log, also after a
        restart made it a follower."""
        def agrees(i: int, m: AppendEntriesRequest) -> bool:
            e, t = first_entry(m), first_term(m)
            if e is not None:
                return e in s.nodes[i].log[0:1]
            return t is None or holds(s, i, t)
        return all(s.nodes[i].current_term != m.term or agrees(i, m)
                   or not model.in_flight(s, m, i, j) for m in requests for i, j in pairs)

    stale = [m for m in requests if (ft := first_term(m)) is not None and ft < m.term]
    carrying: dict[int, list[AppendEntriesRequest]] = {}  # term -> requests carrying an entry of it at index 1
    for m in requests:
        if (e := first_entry(m)) is not None:
            carrying.setdefault(e.term, []).append(m)

    def stale_requests(s: Any) -> bool:
        """A request of term T that says index 1 is of an earlier term: no entry of term T is at index 1
        (the leader of T holds its own entry from its creation on, and its requests say so)."""
        return all(not sent(s, m) or not (any(holds(s, i, m.term) for i in servers)
                                          or any(sent(s, r) for r in carrying.get(m.term, [])))
                   for m in stale)

    def candidates_hold_older_entries(s: Any) -> bool:
        """A candidate's log holds only entries of earlier terms than its own (entries of its term
        are made by that term's leader), and so do its vote requests."""
        return (all(s.nodes[i].role != CANDIDATE or last_term(s.nodes[i].log) < s.nodes[i].current_term
                    for i in servers)
                and all(m.last_log_term < m.term or not model.in_flight(s, m, i, j)
                        for m in vote_requests for i in servers for j in servers))

    def protected_vote_requests(s: Any) -> bool:
        """A vote request in flight whose log looks as up to date as a protected entry comes from a
        server holding it (a protector's up-to-date check reads the request, not the log)."""
        return all(not protected(s, t) or not model.in_flight(s, m, i, j) or (m.last_log_term == t and holds(s, i, t))
                   for t in terms for m in vote_requests if m.last_log_index >= 1 and m.last_log_term >= t
                   for i in servers for j in servers)

    def could_lead(s: Any, cand: int, t: int) -> bool:
        nc = s.nodes[cand]
        return nc.current_term < t or (nc.current_term == t and nc.role == CANDIDATE)

    def locked(s: Any, j: int, t: int, cand: int) -> bool:
        """j can never give cand its vote of term t (as in ``log_strengthening``)."""
        nj, nc = s.nodes[j], s.nodes[cand]
        counted = (nc.role == CANDIDATE or nc.role == LEADER) and nc.current_term == t and j in nc.votes_granted
        return (not granted(s, j, t, cand) and not counted
                and (nj.current_term > t or (nj.current_term == t and nj.voted_for not in (None, cand))))

    def led(s: Any, t: int) -> bool:
        """Term t has a leader, or had one: a request of term t is in flight."""
        return (any(s.nodes[i].role == LEADER and s.nodes[i].current_term == t for i in servers)
                or any(sent(s, m) for m in requests if m.term == t))

    def led_terms_locked(s: Any) -> bool:
        """Once term t has had a leader, anyone who could still win t is locked out by a majority
        (``no_second_leader``'s lock, from the election on rather than from the first entry)."""
        return all(not led(s, t) or not could_lead(s, cand, t)
                   or 2 * sum(1 for j in servers if locked(s, j, t, cand)) > n
                   for t in terms for cand in servers)

    def requests_from_the_leader(s: Any) -> bool:
        """A request of term t in flight is from the leader of t, if t has one now."""
        return all(not model.in_flight(s, m, i, j) or s.nodes[ld].role != LEADER or s.nodes[ld].current_term != m.term
                   for m in requests for i, j in pairs for ld in servers if ld != i)

    def one_sender_per_term(s: Any) -> bool:
        """The requests of one term in flight come from one server (the term's leader)."""
        by_term = [[m for m in requests if m.term == t] for t in terms]
        return all(not model.in_flight(s, m1, i1, j1) or not model.in_flight(s, m2, i2, j2)
                   for ms in by_term for m1 in ms for m2 in ms for i1, j1 in pairs for i2, j2 in pairs if i1 < i2)

    def requests_of_a_term_agree(s: Any) -> bool:
        """The requests of one term in flight that say what index 1 holds say the same term (the
        leader's first entry, once there, stays)."""
        said = [m for m in requests if first_term(m) is not None]
        return all(not sent(s, m1) or not sent(s, m2)
                   for m1 in said for m2 in said if m1.term == m2.term and first_term(m1) < first_term(m2))  # type: ignore[operator]

    def newer_exists(s: Any, t: int) -> bool:
        """An entry of a term later than t is at index 1 of a log or of a request in flight."""
        return (any(holds(s, i, tt) for tt in terms if tt > t for i in servers)
                or any(sent(s, m) for tt in terms if tt > t for m in carrying.get(tt, [])))

    def vote_requests_in_their_term(s: Any) -> bool:
        """A vote request in flight from a server still in the request's term says an entry the
        server holds at index 1, unless an entry of a later term exists: in its term a server's log
        changes only through that term's leader, which replaces an entry only by its own, newer one
        (with logs of one entry and terms up to 2: the candidate's entry is of term 1, a
        different entry of term 1 does not exist)."""
        return all(s.nodes[i].current_term != m.term or holds(s, i, m.last_log_term)
                   or newer_exists(s, m.last_log_term) or not model.in_flight(s, m, i, j)
                   for m in vote_requests if m.last_log_index >= 1 for i in servers for j in servers)

    def said(s: Any, t: int) -> bool:
        """Index 1 is of term t in some log or in what some request in flight says."""
        return any(holds(s, i, t) for i in servers) or any(sent(s, m) for m in requests if first_term(m) == t)

    def entries_have_an_elected_leader(s: Any) -> bool:
        """Once index 1 is said to be of term t, some server ld was elected in t: a majority is past
        t or voted for ld in t, and ld is past t or holds its entry of t (only ld leads t, so
        nobody truncates it).  The election a leader's restart does not erase: with it, the
        voters of the leader of a later term, whose logs were empty when they voted for a leader
        that made an entry, are no protectors of an older entry."""
        def elected(ld: int, t: int) -> bool:
            return ((s.nodes[ld].current_term > t or holds(s, ld, t))
                    and 2 * sum(1 for j in servers if s.nodes[j].current_term > t
                                or (s.nodes[j].current_term == t and s.nodes[j].voted_for == ld)) > n)
        return all(not said(s, t) or any(elected(ld, t) for ld in servers) for t in terms)

    def commit_within_log(s: Any) -> bool:
        """A commit index is at most its log's length (part of ``state_machine_safety``, here too so
        that the conjuncts stay inductive when only another property is asked)."""
        return all(s.nodes[i].commit_index <= len(s.nodes[i].log) for i in servers)

    def match_index_bounded(s: Any) -> bool:
        """A leader's match_index is at most its log's length."""
        return all(s.nodes[i].role != LEADER or s.nodes[i].match_index[j] <= len(s.nodes[i].log)
                   for i in servers for j in servers)

    def acked_are_protectors(s: Any) -> bool:
        """A server the leader of t counts as holding its entry of term t (match_index, or a success
        response in flight) protects it."""
        def acked(i: int, j: int, t: int) -> bool:
            return (s.nodes[i].match_index[j] >= 1
                    or model.in_flight(s, AppendEntriesResponse(t, True, 1), j, i))
        return all(s.nodes[i].role != LEADER or s.nodes[i].current_term != t or not holds(s, i, t)
                   or not acked(i, j, t) or protector(s, j, t)
                   for t in terms for i, j in pairs)

    def committed_is_protected(s: Any) -> bool:
        """An entry committed anywhere is protected."""
        return all(not committed(s, t) or protected(s, t) for t in terms)

    def protected_is_newest(s: Any) -> bool:
        """Nothing at index 1 is of a later term than a protected entry."""
        return all(not protected(s, t) or not (
                       any(holds(s, i, tt) for i in servers)
                       or any(sent(s, m) for m in requests if first_term(m) == tt))
                   for t in terms for tt in terms if tt > t)

    def protected_in_leaders(s: Any) -> bool:
        """Every leader of a term >= t holds a protected entry of term t."""
        return all(not protected(s, t) or s.nodes[ld].role != LEADER or s.nodes[ld].current_term < t
                   or holds(s, ld, t) for t in terms for ld in servers)

    def protected_not_overwritten(s: Any) -> bool:
        """No request of term >= t says index 1 holds another term than a protected entry's t."""
        return all(not protected(s, t) or not sent(s, m)
                   for t in terms for m in requests
                   if m.term >= t and first_term(m) is not None and first_term(m) != t)

    return [vote_requests_not_future, grants_not_future, vote_requests_describe_the_log, requests_describe_the_log,
            stale_requests, candidates_hold_older_entries, protected_vote_requests, led_terms_locked,
            requests_from_the_leader, one_sender_per_term, requests_of_a_term_agree, commit_within_log,
            match_index_bounded, acked_are_protectors, committed_is_protected, protected_is_newest,
            protected_in_leaders, protected_not_overwritten, vote_requests_in_their_term,
            entries_have_an_elected_leader]


__all__ = ["commit_strengthening", "election_strengthening", "log_strengthening", "strengthening"]
