"""Raft (Ongaro's dissertation spec ``raft.tla``), written as nodes: leader election and log replication.

The checked state is raft.tla's ``vars`` without its history variables (``elections``,
``allLogs``, ``voterLog``) and without the history fields of its messages (``mlog``): per
server ``currentTerm``, ``state``, ``votedFor``, ``log``, ``commitIndex``, ``votesResponded``,
``votesGranted``, ``nextIndex``, ``matchIndex`` (``ServerState``), and ``messages``, a bag
(message -> count) on an unordered network that loses and duplicates.  ``msource``/``mdest``
are the envelope's source and destination.  Every action of raft.tla is one step here:

- ``restart``, ``timeout``, ``request_vote(j)`` (also to itself: how a candidate votes for
  itself), ``become_leader``, ``client_request(v)``, ``advance_commit_index``,
  ``append_entries(j)``: a server's own steps (``Server``);
- ``Receive(m)``: the delivery of ``m`` (``Server.on_message``), with raft.tla's sub-cases
  (UpdateTerm, the handlers, DropStaleResponse); those that leave ``messages`` unchanged
  (UpdateTerm, a candidate returning to follower, a follower truncating or appending) answer
  with the ``Keep`` effect, so the message stays in flight;
- ``DuplicateMessage``/``DropMessage``: the network's ``duplicate``/``drop``.

raft.tla's ``WithoutMessage`` removes a message whose count reaches 0 from ``DOMAIN messages``
(this version of the spec, /work/wt/raft.tla), so a bag of counts over the universe of messages,
0 meaning absent, is the same state.

Bounds are TLC's state CONSTRAINT, with TLC's semantics (a successor that violates it is
neither counted nor expanded nor checked; ``ActorSystem.constraint``).  With ``--servers N
--values V --max-term T --max-log L --max-copies C``::

    (\\A i \\in Server : currentTerm[i] <= T /\\ Len(log[i]) <= L)
      /\\ (\\A m \\in DOMAIN messages : messages[m] <= C)

TLC on raft.tla with the history variables (and ``mlog``) removed, ``Server`` of N servers,
``Value`` of V values and CONSTRAINT as above must give the same distinct states and depth.

``max_entries`` (1 by default: exactly raft.tla) is how many entries an AppendEntries request
carries; the runtime batches more.  A follower handles k >= 1 entries as raft.tla handles one
(see ``Server.accept``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .actors import ActorSystem, Effect, Envelope, Keep, Node, NodeConfig, Persist, Send, SysState, UnorderedBag, peers
from .base import always, sometimes, transition
from .registry import Protocol
from .schema import Bool, Id, Int, OneOf, Record, Seq, SetOf, Type, Union, Vec, message

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"


class Entry(NamedTuple):
    """A log entry: the term of the leader that created it and the client's value."""

    term: int
    value: int


@message
class RequestVoteRequest:
    term: int
    last_log_term: int
    last_log_index: int


@message
class RequestVoteResponse:
    term: int
    vote_granted: bool


@message
class AppendEntriesRequest:
    term: int
    prev_log_index: int
    prev_log_term: int
    entries: tuple[Entry, ...]
    commit_index: int


@message
class AppendEntriesResponse:
    term: int
    success: bool
    match_index: int


class ServerState(NamedTuple):
    """One server's variables (raft.tla's per-server functions at this server)."""

    current_term: int
    role: str  # FOLLOWER, CANDIDATE or LEADER (raft.tla's ``state``)
    voted_for: int | None
    log: tuple[Entry, ...]
    commit_index: int
    votes_responded: frozenset[int]
    votes_granted: frozenset[int]
    next_index: tuple[int, ...]  # by server id
    match_index: tuple[int, ...]


class Disk(NamedTuple):
    """What a server keeps across a restart: currentTerm, votedFor and log."""

    current_term: int
    voted_for: int | None
    log: tuple[Entry, ...]


Out = tuple[ServerState, Sequence[Effect]] | None


@dataclass(frozen=True)
class RaftParams:
    """What a Raft server is told besides its peers (``NodeConfig.params``).

    ``values``: the client values a leader may append (the model's domain of
    ``client_request``); ``max_entries``: entries per AppendEntries request; ``state_type`` and
    ``disk_type``: the server's bounded types (the model's; the runtime does not bound them).
    """

    values: Sequence[Any]
    max_entries: int = 1
    state_type: Type | None = None
    disk_type: Type | None = None


def last_term(log: tuple[Entry, ...]) -> int:
    """The term of the last entry of ``log``, 0 if it is empty (raft.tla's LastTerm)."""
    return log[-1].term if log else 0


class Server(Node[ServerState]):
    """A Raft server: raft.tla's actions at one server, as pure handlers."""

    role = "server"
    symmetric = True

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.params: RaftParams = config.params
        self.server_ids = config.ids("server")
        self.others = tuple(j for j in self.server_ids if j != self.id)
        self.n = len(self.server_ids)

    def values(self) -> Sequence[Any]:
        return self.params.values

    def quorum(self, voters: frozenset[int]) -> bool:
        """A majority of the servers (raft.tla's Quorum)."""
        return 2 * len(voters) > self.n

    # ----- state, restart ------------------------------------------------------------
    def state_type(self) -> Type:
        assert self.params.state_type is not None, "the model gives its servers a state type"
        return self.params.state_type

    def disk_type(self) -> Type:
        assert self.params.disk_type is not None, "the model gives its servers a disk type"
        return self.params.disk_type

    def volatile(self, disk: Disk) -> ServerState:
        """A follower holding ``disk``'s persistent state and fresh volatile state."""
        n = self.n
        return ServerState(disk.current_term, FOLLOWER, disk.voted_for, disk.log, 0, frozenset(), frozenset(),
                           (1,) * n, (0,) * n)

    def on_start(self) -> tuple[ServerState, Sequence[Effect]]:
        return self.volatile(Disk(1, None, ())), ()

    def durable(self, s: ServerState) -> Disk:
        return Disk(s.current_term, s.voted_for, s.log)

    def on_recover(self, disk: Disk) -> tuple[ServerState, Sequence[Effect]]:
        return self.volatile(disk), ()

    @transition()
    def restart(self, s: ServerState) -> Out:
        """Restart(i): everything but currentTerm, votedFor and log is lost."""
        return self.on_recover(self.durable(s))

    # ----- a server's own steps --------------------------------------------------------
    @transition()
    def timeout(self, s: ServerState) -> Out:
        """Timeout(i): a follower or candidate starts an election in the next term."""
        if s.role == LEADER:
            return None
        return s._replace(current_term=s.current_term + 1, role=CANDIDATE, voted_for=None,
                          votes_responded=frozenset(), votes_granted=frozenset()), (Persist(),)

    @transition(j="server_ids")
    def request_vote(self, s: ServerState, j: int) -> Out:
        """RequestVote(i, j): a candidate asks j (itself too) for its vote."""
        if s.role != CANDIDATE or j in s.votes_responded:
            return None
        return s, (Send(j, RequestVoteRequest(s.current_term, last_term(s.log), len(s.log))),)

    @transition()
    def become_leader(self, s: ServerState) -> Out:
        """BecomeLeader(i): a candidate granted a quorum's votes leads."""
        if s.role != CANDIDATE or not self.quorum(s.votes_granted):
            return None
        n = self.n
        return s._replace(role=LEADER, next_index=(len(s.log) + 1,) * n, match_index=(0,) * n), ()

    @transition(v="values")
    def client_request(self, s: ServerState, v: Any) -> Out:
        """ClientRequest(i, v): a leader appends v in its term."""
        if s.role != LEADER:
            return None
        return s._replace(log=(*s.log, Entry(s.current_term, v))), (Persist(),)

    def commit_ok(self, s: ServerState, index: int) -> bool:
        """A leader commits by counting replicas only entries of its own term (Raft's Figure 8)."""
        return s.log[index - 1].term == s.current_term

    @transition()
    def advance_commit_index(self, s: ServerState) -> Out:
        """AdvanceCommitIndex(i): the highest index a quorum holds, if it is of the leader's term."""
        if s.role != LEADER:
            return None
        me, match = self.id, s.match_index
        agree = [index for index in range(1, len(s.log) + 1)
                 if self.quorum(frozenset(k for k in self.server_ids if k == me or match[k] >= index))]
        commit = s.commit_index
        if agree and self.commit_ok(s, agree[-1]):
            commit = agree[-1]
        return s._replace(commit_index=commit), ()

    @transition(j="others")
    def append_entries(self, s: ServerState, j: int) -> Out:
        """AppendEntries(i, j): a leader sends j the entries from nextIndex[j] on (at most
        ``max_entries``; raft.tla sends at most one)."""
        if s.role != LEADER:
            return None
        nxt = s.next_index[j]
        prev = nxt - 1
        prev_term = s.log[prev - 1].term if prev > 0 else 0
        last = min(len(s.log), nxt + self.params.max_entries - 1)
        entries = s.log[prev:last]
        msg = AppendEntriesRequest(s.current_term, prev, prev_term, entries, min(s.commit_index, last))
        return s, (Send(j, msg),)

    # ----- Receive(m) ------------------------------------------------------------------
    def on_message(self, s: ServerState, src: int, msg: Any) -> Out:
        if msg.term > s.current_term:
            return self.update_term(s, msg.term), (Persist(), Keep())
        kind = type(msg)
        if kind is RequestVoteRequest:
            return self.on_request_vote(s, src, msg)
        if kind is AppendEntriesRequest:
            return self.on_append_entries(s, src, msg)
        if msg.term < s.current_term:
            return s, ()  # DropStaleResponse
        if kind is RequestVoteResponse:
            return self.on_vote(s, src, msg)
        return self.on_append_response(s, src, msg)

    def update_term(self, s: ServerState, term: int) -> ServerState:
        """UpdateTerm: a newer term makes the server a follower of that term (the message stays)."""
        return s._replace(current_term=term, role=FOLLOWER, voted_for=None)

    def log_ok_for_vote(self, s: ServerState, m: Any) -> bool:
        """The candidate's log is at least as up-to-date as this server's."""
        mine = last_term(s.log)
        return m.last_log_term > mine or (m.last_log_term == mine and m.last_log_index >= len(s.log))

    def on_request_vote(self, s: ServerState, j: int, m: Any) -> Out:
        """HandleRequestVoteRequest (m.mterm <= currentTerm)."""
        grant = m.term == s.current_term and self.log_ok_for_vote(s, m) and s.voted_for in (None, j)
        reply = Send(j, RequestVoteResponse(s.current_term, grant))
        if grant:
            return s._replace(voted_for=j), (Persist(), reply)
        return s, (reply,)

    def on_vote(self, s: ServerState, j: int, m: Any) -> Out:
        """HandleRequestVoteResponse (m.mterm = currentTerm; tallied whatever the server's role)."""
        granted = s.votes_granted | {j} if m.vote_granted else s.votes_granted
        return s._replace(votes_responded=s.votes_responded | {j}, votes_granted=granted), ()

    def log_ok_for_append(self, s: ServerState, m: Any) -> bool:
        """The follower's log holds the request's previous entry."""
        prev = m.prev_log_index
        return prev == 0 or (0 < prev <= len(s.log) and s.log[prev - 1].term == m.prev_log_term)

    def on_append_entries(self, s: ServerState, j: int, m: Any) -> Out:
        """HandleAppendEntriesRequest (m.mterm <= currentTerm)."""
        if m.term < s.current_term or (s.role == FOLLOWER and not self.log_ok_for_append(s, m)):
            return s, (Send(j, AppendEntriesResponse(s.current_term, False, 0)),)
        if s.role == CANDIDATE:
            return s._replace(role=FOLLOWER), (Keep(),)  # return to follower state
        if s.role == FOLLOWER:
            return self.accept(s, j, m)
        return None  # a leader of the same term: raft.tla has no case for it

    def accept(self, s: ServerState, j: int, m: Any) -> Out:
        """The follower's log holds the previous entry.  With p the number of the request's
        entries already in the log: all of them (the request is done: commit and acknowledge),
        a conflicting entry at p (drop the log's last entry), or the log ends at p (append the
        rest).  The two changes keep the message, which is handled again.  For one entry this
        is raft.tla's accept case; for more, the same as one request per entry."""
        log, entries, index = s.log, m.entries, m.prev_log_index + 1
        p = 0
        while p < len(entries) and index + p <= len(log) and log[index + p - 1].term == entries[p].term:
            p += 1
        if p == len(entries):
            reply = AppendEntriesResponse(s.current_term, True, m.prev_log_index + len(entries))
            return s._replace(commit_index=m.commit_index), (Send(j, reply),)
        if index + p <= len(log):
            return s._replace(log=log[:-1]), (Persist(), Keep())
        return s._replace(log=log + entries[p:]), (Persist(), Keep())

    def on_append_response(self, s: ServerState, j: int, m: Any) -> Out:
        """HandleAppendEntriesResponse (m.mterm = currentTerm)."""
        nxt, match = list(s.next_index), list(s.match_index)
        if m.success:
            nxt[j], match[j] = m.match_index + 1, m.match_index
        else:
            nxt[j] = max(nxt[j] - 1, 1)
        return s._replace(next_index=tuple(nxt), match_index=tuple(match)), ()


@dataclass(frozen=True)
class RaftConfig:
    servers: int = 2
    values: int = 1
    max_term: int = 2
    max_log: int = 1
    max_copies: int = 1
    max_entries: int = 1


class Raft(ActorSystem):
    """Raft (raft.tla) as servers on a lossy, duplicating bag network, bounded by a TLC constraint."""

    name = "raft"
    Config = RaftConfig
    server_class: type[Server] = Server

    def _validate_config(self) -> None:
        c = self.config
        if not 1 <= c.servers <= 5:
            raise ValueError("--servers must be between 1 and 5")
        if not 1 <= c.values <= 3:
            raise ValueError("--values must be between 1 and 3")
        if not 1 <= c.max_term <= 6:
            raise ValueError("--max-term must be between 1 and 6")
        if not 0 <= c.max_log <= 4:
            raise ValueError("--max-log must be between 0 and 4")
        if not 1 <= c.max_copies <= 3:
            raise ValueError("--max-copies must be between 1 and 3")
        if not 1 <= c.max_entries <= 4:
            raise ValueError("--max-entries must be between 1 and 4")

    def network(self) -> UnorderedBag:
        # One copy of room beyond the bound: the successor that exceeds it is built, then
        # discarded by the constraint (as TLC does), instead of raising BoundExceeded.
        return UnorderedBag(max_copies=self.config.max_copies + 1, lossy=True, duplicating=True)

    def constraint(self, s: SysState) -> bool:
        c = self.config
        return (all(ls.current_term <= c.max_term and len(ls.log) <= c.max_log for ls in s.nodes)
                and max(s.net[:], default=0) <= c.max_copies)

    # ----- types and the message universe ------------------------------------------------
    def entry_type(self) -> Type:
        c = self.config
        return Record(Entry, term=Int(1, c.max_term), value=Id("value", c.values))

    def nodes(self) -> list[Node[Any]]:
        c = self.config
        n, node = c.servers, Id("node", c.servers)
        log = Seq(self.entry_type(), c.max_log)
        term = Int(1, c.max_term)
        voted = Union(OneOf(None), node)
        state = Record(
            ServerState, current_term=term, role=OneOf(FOLLOWER, CANDIDATE, LEADER), voted_for=voted, log=log,
            commit_index=Int(0, c.max_log), votes_responded=SetOf(node), votes_granted=SetOf(node),
            next_index=Vec(Int(1, c.max_log + 1), n, index="node"), match_index=Vec(Int(0, c.max_log), n, index="node"),
        )
        disk = Record(Disk, current_term=term, voted_for=voted, log=log)
        params = RaftParams(range(c.values), c.max_entries, state, disk)
        ids = peers(server=range(n))
        return [self.server_class(NodeConfig(i, f"s{i + 1}", ids, params)) for i in range(n)]

    def message_type(self) -> Type:
        c = self.config
        term, index = Int(0, c.max_term), Int(0, c.max_log)
        return Union(
            Record(RequestVoteRequest, term=term, last_log_term=term, last_log_index=index),
            Record(RequestVoteResponse, term=term, vote_granted=Bool),
            Record(AppendEntriesRequest, term=term, prev_log_index=index, prev_log_term=term,
                   entries=Seq(self.entry_type(), c.max_entries), commit_index=index),
            Record(AppendEntriesResponse, term=term, success=Bool, match_index=index),
        )

    def messages(self) -> list[Any]:
        """Every message a server in the bounds can send (fields as they relate in raft.tla)."""
        c = self.config
        values, terms = range(c.values), range(1, c.max_term + 1)
        out: list[Any] = []
        for t in terms:
            out += [RequestVoteRequest(t, llt, lli) for lli in range(c.max_log + 1)
                    for llt in ([0] if lli == 0 else range(1, t + 1))]
            out += [RequestVoteResponse(t, g) for g in (False, True)]
            for prev in range(c.max_log + 1):
                for prev_term in [0] if prev == 0 else range(1, t + 1):
                    for k in range(min(c.max_entries, c.max_log - prev) + 1):
                        for entries in itertools.product([Entry(et, v) for et in range(1, t + 1) for v in values],
                                                         repeat=k):
                            out += [AppendEntriesRequest(t, prev, prev_term, entries, ci)
                                    for ci in range(prev + k + 1)]
            out += [AppendEntriesResponse(t, False, 0)]
            out += [AppendEntriesResponse(t, True, mi) for mi in range(c.max_log + 1)]
        return out

    def envelopes(self) -> list[Envelope]:
        n = range(self.config.servers)
        votes = (RequestVoteRequest, RequestVoteResponse)  # also to itself
        return [Envelope(i, j, m) for m in self.messages() for i in n for j in n
                if i != j or type(m) in votes]

    # ----- properties ------------------------------------------------------------------
    @always
    def election_safety(self, s: SysState) -> bool:
        """At most one leader per term."""
        terms = [ls.current_term for ls in s.nodes if ls.role == LEADER]
        return len(terms) == len(set(terms))

    @always
    def log_matching(self, s: SysState) -> bool:
        """Two logs with an entry of the same term at one index agree up to that index."""
        logs = [ls.log for ls in s.nodes]
        for a, b in itertools.combinations(logs, 2):
            for n in range(min(len(a), len(b)), 0, -1):
                if a[n - 1].term == b[n - 1].term:
                    if a[:n] != b[:n]:
                        return False
                    break
        return True

    @always
    def leader_completeness(self, s: SysState) -> bool:
        """A leader's log holds every entry a server of its term or an earlier one knows committed."""
        for ld in s.nodes:
            if ld.role == LEADER:
                for ls in s.nodes:
                    if ls.current_term <= ld.current_term and ld.log[: ls.commit_index] != ls.log[: ls.commit_index]:
                        return False
        return True

    @always
    def state_machine_safety(self, s: SysState) -> bool:
        """Servers apply the same entry at each index: their committed prefixes agree."""
        nodes = s.nodes
        if any(ls.commit_index > len(ls.log) for ls in nodes):
            return False
        for a, b in itertools.combinations(nodes, 2):
            k = min(a.commit_index, b.commit_index)
            if a.log[:k] != b.log[:k]:
                return False
        return True

    @sometimes
    def entry_committed(self, s: SysState) -> bool:
        """Some server knows an entry committed."""
        return any(ls.commit_index > 0 for ls in s.nodes)

    @sometimes
    def leader_in_term_2(self, s: SysState) -> bool:
        """A leader is elected in term 2."""
        return any(ls.role == LEADER and ls.current_term == 2 for ls in s.nodes)


#: The protocol's one declaration (see ``models.registry``).
PROTOCOL = Protocol("raft", f"{__name__}:Raft", summary="Raft (raft.tla): leader election and log replication",
                    service="protoproof.impl.raft:SERVICE")
