"""Raft's servers (raft.tla's per-server actions as pure handlers), its messages and state.

What the model (``models/raft.py``) and the runtime both run.  A handler returns the next state
and its effects, or None where raft.tla's action is not enabled.  ``Persist`` marks a change of
currentTerm, votedFor or log (the runtime writes them before it sends); ``Keep`` leaves the
received message in flight where raft.tla's receive step leaves ``messages`` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .actors import Effect, Keep, Node, NodeConfig, NodeIds, Persist, Send
from .base import transition
from .schema import Type, message

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
    ``disk_type``: the server's bounded types (the model's; the runtime does not bound them);
    ``restarts``: whether ``restart`` is one of the server's steps (raft.tla's Restart; a model
    may leave it out of Next).
    """

    values: Sequence[Any]
    max_entries: int = 1
    state_type: Type | None = None
    disk_type: Type | None = None
    restarts: bool = True


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
        self.others = NodeIds(j for j in self.server_ids if j != self.id)
        self.n = len(self.server_ids)

    def values(self) -> Sequence[Any]:
        return self.params.values

    def steps(self) -> list[tuple[str, Callable[..., Any], list[tuple[tuple[str, Any], ...]]]]:
        """The own steps, without ``restart`` where the model leaves raft.tla's Restart out of Next."""
        out = super().steps()
        return out if self.params.restarts else [st for st in out if st[0] != "restart"]

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
        if len(log) != m.prev_log_index + p:
            return None  # not reached (logOk holds); raft.tla has no case for it
        return s._replace(log=log + entries[p:]), (Persist(), Keep())

    def on_append_response(self, s: ServerState, j: int, m: Any) -> Out:
        """HandleAppendEntriesResponse (m.mterm = currentTerm)."""
        nxt, match = list(s.next_index), list(s.match_index)
        if m.success:
            nxt[j], match[j] = m.match_index + 1, m.match_index
        else:
            nxt[j] = max(nxt[j] - 1, 1)
        return s._replace(next_index=tuple(nxt), match_index=tuple(match)), ()
