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

and, with ``--max-messages M`` (no such conjunct without it), also
``/\\ BagCardinality(messages) <= M`` (the messages in flight, every copy counted; module Bags).
The constraint is part of every step (``ActorSystem`` disables a step whose successor fails
it), so ``check``, ``bmc`` and ``prove`` all apply it, ``--max-messages`` included, with the same
meaning (``tests/checker/test_bmc_constraint.py``).

TLC on raft.tla with the history variables (and ``mlog``) removed, ``Server`` of N servers,
``Value`` of V values and CONSTRAINT as above must give the same distinct states and depth.

``--no-lossy``, ``--no-duplicating`` and ``--no-restarts`` (``lossy``, ``duplicating``,
``restarts`` False) take raft.tla's ``DropMessage``, ``DuplicateMessage`` and ``Restart``
disjuncts out of ``Next``: the TLC configuration is then ``Next`` without them (e.g.
``\\/ \\E m \\in DOMAIN messages : Receive(m)`` but no ``DropMessage(m)`` disjunct), the rest as
above.  The planted bugs' variants default to the smallest such configuration that shows them
(three of them also to ``--max-messages 1``).

``max_entries`` (1 by default: exactly raft.tla) is how many entries an AppendEntries request
carries; the runtime batches more.  A follower handles k >= 1 entries as raft.tla handles one
(see ``Server.accept``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, NamedTuple

from .actors import ActorSystem, BagNet, Envelope, Node, NodeConfig, SysState, UnorderedBag, peers
from .base import Model, Refinement, always, explains, param, sometimes, transition, variant
from .raft_nodes import (
    CANDIDATE,
    FOLLOWER,
    LEADER,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Disk,
    Entry,
    RaftParams,
    RequestVoteRequest,
    RequestVoteResponse,
    Server,
    ServerState,
    last_term,
)
from .registry import Protocol
from .schema import Bool, Id, Int, OneOf, Record, Seq, SetOf, Type, Union, Vec


class RL(NamedTuple):
    """The abstract replicated log, seen from each server: the prefix it has applied."""

    applied: tuple[tuple[Entry, ...], ...]


@dataclass(frozen=True)
class ReplicatedLogConfig:
    servers: int = 2
    values: int = 1
    max_term: int = 2
    max_log: int = 1


def comparable(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """One of ``a`` and ``b`` is a prefix of the other."""
    k = min(len(a), len(b))
    return a[:k] == b[:k]


class ReplicatedLog(Model[RL]):
    """A replicated log as its servers apply it: a server's applied prefix grows by entries that
    agree with what every server has applied, or rewinds to a prefix of itself (a restart
    forgets the commit index; a stale request may lower it) — an applied entry is never changed.
    """

    name = "replicated-log"
    Config = ReplicatedLogConfig

    def schema(self) -> Type:
        c = self.config
        entry = Record(Entry, term=Int(1, c.max_term), value=Id("value", c.values))
        return Record(RL, applied=Vec(Seq(entry, c.max_log), c.servers, index="node"))

    def symmetry(self) -> dict[str, list[list[int]]]:
        c = self.config
        return {"node": [list(range(c.servers))], "value": [list(range(c.values))]}

    def server_ids(self) -> range:
        return range(self.config.servers)

    def logs(self) -> list[tuple[Entry, ...]]:
        c = self.config
        entries = [Entry(t, v) for t in range(1, c.max_term + 1) for v in range(c.values)]
        return [log for n in range(1, c.max_log + 1) for log in itertools.product(entries, repeat=n)]

    def lengths(self) -> range:
        return range(self.config.max_log)

    def init(self) -> list[RL]:
        return [RL(((),) * self.config.servers)]

    @transition(i="server_ids", log="logs")
    def apply(self, s: RL, i: int, log: tuple[Entry, ...]) -> RL | None:
        """Server i applies entries: its applied prefix grows to ``log``, which agrees with every server's."""
        mine = s.applied[i]
        if len(log) <= len(mine) or log[: len(mine)] != mine or not all(comparable(log, a) for a in s.applied):
            return None
        return RL(s.applied[:i] + (log,) + s.applied[i + 1 :])

    @transition(i="server_ids", k="lengths")
    def rewind(self, s: RL, i: int, k: int) -> RL | None:
        """Server i forgets what it applied beyond the first k entries."""
        if k >= len(s.applied[i]):
            return None
        return RL(s.applied[:i] + (s.applied[i][:k],) + s.applied[i + 1 :])

    @always
    def agree(self, s: RL) -> bool:
        """The servers' applied prefixes agree."""
        return all(comparable(a, b) for a, b in itertools.combinations(s.applied, 2))

    @sometimes
    def applied_an_entry(self, s: RL) -> bool:
        """Some server applied an entry."""
        return any(s.applied)


@dataclass(frozen=True)
class RaftConfig:
    # The ranges are the checker's reach; the runtime's servers are unbounded.
    servers: int = param(2, 1, 5, "servers")
    values: int = param(1, 1, 3, "client values")
    max_term: int = param(2, 1, 6, "highest term (the constraint's currentTerm <= T)")
    max_log: int = param(1, 0, 4, "longest log (the constraint's Len(log) <= L)")
    max_copies: int = param(1, 1, 3, "copies of one message in flight")
    max_messages: int | None = param(None, 0, 64, "messages in flight, all copies counted", none="no bound")
    max_entries: int = param(1, 1, 4, "entries per AppendEntries request")
    lossy: bool = True
    duplicating: bool = True
    restarts: bool = True


class Raft(ActorSystem):
    """Raft (raft.tla) as servers on a lossy, duplicating bag network, bounded by a TLC constraint."""

    name = "raft"
    Config = RaftConfig
    server_class: type[Server] = Server

    def network(self) -> UnorderedBag:
        # One copy of room beyond the bound: the successor that exceeds it is built, then
        # discarded by the constraint (as TLC does), instead of raising BoundExceeded.
        c = self.config
        return UnorderedBag(max_copies=c.max_copies + 1, lossy=c.lossy, duplicating=c.duplicating,
                            bound=c.max_copies)

    def constraint(self, s: SysState) -> bool:
        c = self.config
        max_term, max_log = c.max_term, c.max_log
        for ls in s.nodes:
            if ls.current_term > max_term or len(ls.log) > max_log:
                return False
        net = s.net
        bag = self._net
        if type(net) is BagNet and type(bag) is UnorderedBag and bag.max_copies == c.max_copies + 1:
            # Counts are at most max_copies + 1 (see network()): the bag's tally says in O(1)
            # whether one is above the bound, and how many messages are in flight.
            total, over = bag.tally(net)
            return not over and (c.max_messages is None or total <= c.max_messages)
        counts = net[:]  # the z3 backend's bag: counts may be formulas
        return all(k <= c.max_copies for k in counts) and (c.max_messages is None or sum(counts) <= c.max_messages)

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
        params = RaftParams(range(c.values), c.max_entries, state, disk, restarts=c.restarts)
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

    def symmetry(self) -> dict[str, list[list[int]]] | None:
        sym = dict(super().symmetry() or {})
        sym["value"] = [list(range(self.config.values))]
        return sym

    def describe_state(self, s: Any) -> dict[str, Any]:
        """As raft.tla's TLC traces read: a vote names its server (``s1.voted_for='s2'``,
        ``votes_granted={'s1', 's2'}``), as the actions do, not its 0-based id."""
        out = super().describe_state(s)
        names = [n.name for n in self._nodes]
        for key, v in out.items():
            field = key.rsplit(".", 1)[-1]
            if field == "voted_for" and isinstance(v, int):
                out[key] = names[v]
            elif field in ("votes_responded", "votes_granted") and isinstance(v, frozenset):
                out[key] = frozenset(names[i] for i in v)
        return out

    # ----- refinement and properties -------------------------------------------------------
    def refinements(self) -> list[Refinement]:
        c = self.config
        spec = ReplicatedLog(servers=c.servers, values=c.values, max_term=c.max_term, max_log=c.max_log)
        return [Refinement("refines_replicated_log", spec, self.applied)]

    def applied(self, s: SysState) -> RL:
        """Each server's committed prefix (what it may apply)."""
        return RL(tuple(ls.log[: ls.commit_index] for ls in s.nodes))

    # ----- properties ------------------------------------------------------------------
    @always
    def election_safety(self, s: SysState) -> bool:
        """At most one leader per term (pairwise, so that it is one formula on z3)."""
        ns = s.nodes
        return all(ns[i].role != LEADER or ns[j].role != LEADER or ns[i].current_term != ns[j].current_term
                   for i in range(len(ns)) for j in range(i))

    @explains("election_safety")
    def _why_two_leaders(self, s: SysState) -> str:
        names = [n.name for n in self.node_list]
        for a in s.nodes:
            both = [names[j] for j, b in enumerate(s.nodes)
                    if a.role == LEADER and b.role == LEADER and b.current_term == a.current_term]
            if len(both) > 1:
                return f"{' and '.join(both)} are both leaders of term {a.current_term}"
        return ""

    @always
    def log_matching(self, s: SysState) -> bool:
        """Two logs with an entry of the same term at one index agree up to that index."""
        logs = [ls.log for ls in s.nodes]
        for i in range(len(logs)):  # index loops, not itertools.combinations: the twin takes these
            for j in range(i):
                a, b = logs[j], logs[i]
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
        for i in range(len(nodes)):
            for j in range(i):
                a, b = nodes[j], nodes[i]
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


__all__ = [
    "CANDIDATE", "FOLLOWER", "LEADER", "RL", "AppendEntriesRequest", "AppendEntriesResponse", "Disk", "Entry",
    "Figure8", "NoPrevCheck", "Raft", "RaftConfig", "RaftParams", "ReplicatedLog", "RequestVoteRequest",
    "RequestVoteResponse", "Server", "ServerState", "StaleLeader", "VolatileVote", "VoteWithoutLogCheck", "last_term",
]

#: The protocol's one declaration (see ``models.registry``).
PROTOCOL = Protocol("raft", f"{__name__}:Raft", summary="Raft (raft.tla): leader election and log replication",
                    parameterized="protoproof.proofs.raft_param:prove_raft_param",
                    service="protoproof.impl.raft:SERVICE",
                    strengthening="protoproof.proofs.raft:strengthening")


# ----- planted bugs --------------------------------------------------------------------
# Each variant's defaults are the smallest bounds that show its bug, with message loss,
# duplication and restarts off where the bug does not need them (they only widen the search),
# and one message in flight at a time (``max_messages``: the written scenarios in
# tests/models/test_raft_bugs.py need no more); README "### Raft" gives the search that finds
# each one.  ``protoproof list raft`` shows them.
_QUIET = {"max_messages": 1, "lossy": False, "duplicating": False, "restarts": False}


class _Figure8Server(Server):
    def commit_ok(self, s: ServerState, index: int) -> bool:
        return True  # counts replicas of an entry of an earlier term too


@variant("figure-8", breaks=("state_machine_safety", "leader_completeness"),
         defaults={"servers": 3, "max_term": 5, **_QUIET})
class Figure8(Raft):
    """A leader commits an entry of an earlier term once a quorum holds it (Figure 8 of the paper).

    A later leader without the entry overwrites it.  Needs 3 servers and terms up to 5: the entry
    of term 2, a rival entry of term 3, the commit in term 4, the rival's leader in term 5.  Four
    terms do not show it: the committed entry's term, the rival entry's term (newer, or the rival
    loses the vote of the server holding the entry), the commit's term (later than the entry's: the
    bug) and the rival's election are four leaders' terms, and term 1 has no leader.  Its runs are
    about 51 steps: breadth-first search finds it under a driver constraint (``check --constraint``,
    README "### Raft"), no blind search here does."""

    server_class = _Figure8Server


class _NoLogCheckServer(Server):
    def log_ok_for_vote(self, s: ServerState, m: Any) -> bool:
        return True


@variant("vote-without-log-check", breaks=("leader_completeness", "state_machine_safety"),
         defaults={"servers": 3, "max_term": 3, **_QUIET})
class VoteWithoutLogCheck(Raft):
    """A server grants its vote without checking that the candidate's log is up to date."""

    server_class = _NoLogCheckServer


class _VolatileVoteServer(Server):
    def volatile(self, disk: Disk) -> ServerState:
        return super().volatile(disk._replace(voted_for=None))  # votedFor is not persisted


# restarts stay: the bug needs one
@variant("volatile-vote", breaks=("election_safety",),
         defaults={"servers": 3, "max_log": 0, **_QUIET, "restarts": True})
class VolatileVote(Raft):
    """votedFor is not kept across a restart: a restarted server votes twice in one term."""

    server_class = _VolatileVoteServer


class _NoPrevCheckServer(Server):
    def log_ok_for_append(self, s: ServerState, m: Any) -> bool:
        return True


@variant("no-prev-check", breaks=("state_machine_safety", "log_matching"),
         defaults={"servers": 3, "max_term": 3, **_QUIET})
class NoPrevCheck(Raft):
    """A follower accepts an AppendEntries request without matching prevLogIndex/prevLogTerm."""

    server_class = _NoPrevCheckServer


class _StaleLeaderServer(Server):
    def update_term(self, s: ServerState, term: int) -> ServerState:
        role = LEADER if s.role == LEADER else FOLLOWER
        return s._replace(current_term=term, role=role, voted_for=None)


@variant("stale-leader", breaks=("election_safety",),
         defaults={"max_term": 3, "max_log": 0, **_QUIET})
class StaleLeader(Raft):
    """A leader that learns of a higher term adopts it but does not step down."""

    server_class = _StaleLeaderServer
