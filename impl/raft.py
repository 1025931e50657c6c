"""A replicated key-value store on Raft: the model's own ``Server`` handlers run every server.

Each server is a ``Host`` running ``models/raft.py``'s ``Server`` handlers (raft.tla's actions in
node form) on widened types: terms and indexes unbounded, values are KV commands (JSON text with
a unique id), logs unbounded (``Log``: persisted as appends and truncations).  What the service
adds decides only *when* to take which of the model's steps, and never changes a model state
except through them:

- elections: a follower or candidate whose deadline (drawn uniformly from ``election_s`` with
  the host's seeded generator, re-drawn on every heartbeat from its leader and every vote it
  grants) passes takes the model's ``timeout`` step, then ``request_vote`` to every peer that has
  not answered (again every ``resend_s``), and ``become_leader`` once a vote tally allows it;
- replication: a leader takes ``client_request`` for every command that arrived in one
  event-loop turn, then one ``append_entries(j)`` per follower, which carries up to
  ``max_entries`` entries (the node's parameter: the model checks 1 and 2, the runtime uses
  ``--max-entries``, default 64); ``advance_commit_index`` after every response;
- group commit (``Host.group_commit``): the Persists of one turn are one sqlite transaction (one
  fsync) run in the host's worker thread, and the messages of those steps go out after it; the
  steps taken meanwhile form the next batch;
- pipelining: up to ``window`` AppendEntries per follower may be unanswered.  The model moves
  ``nextIndex`` only on an answer, so every one of them starts at ``next_index[j]``: another is
  sent only when it reaches further than the unanswered ones (new entries arrived, up to
  ``max_entries``); after ``resend_s`` without any answer the follower is sent one again;
- heartbeats: an idle follower gets an (empty) ``append_entries`` every ``heartbeat_s``;
- a message the handler keeps (``Keep``: raft.tla's UpdateTerm, and an AppendEntries whose
  entries are appended before it is answered) is delivered again at once (``Host.deliver``);
- clients: a server that is not the leader answers ``Redirect`` with the leader it last heard
  from; reads and writes both go through the log (a read is a command whose result is computed
  when it is applied), which is what makes the history linearizable; a command applied twice
  (a client retried through a new leader) takes effect once (results are kept per command id);
  a committed command is answered at once (it is on the leader's disk: the leader sends an
  entry only after committing it);
- a new leader appends a no-op so that entries of earlier terms commit (raft.tla commits only
  entries of the leader's term).

Two handlers are replaced by equivalents checked against them (``KVServer``):
``advance_commit_index``, whose raft.tla form tries every index of the log, and
``client_request``, which appends with ``+`` (a compacted log cannot be unpacked from its start).

Restarts are the model's crash and recover (``on_recover`` from the durable term, vote and log,
read back from sqlite: 0.23 s for 20,000 entries); the KV state is rebuilt from the snapshot,
if any, then by applying the log again as the commit index advances.

Log compaction (``--snapshot-every N``, off by default; ``raft_snapshot``): once N applied
entries follow the log's base, the applied prefix is replaced by the KV state it built and the
terms of its entries (``SnapLog``, persisted with its entries' rows deleted in one commit); the
model's handlers run on it unchanged.  A follower whose ``next_index`` is at or below the
leader's base gets an ``InstallSnapshot``: in the model, the leader's ``send_snapshot(j, k)``
(its first k entries as one AppendEntries from index 1) and the follower's handling of it to
its end, which validation replays step by step.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..models.actors import ActorSystem, DuplicatingSet, Faults, Network, Node, Persist, Send
from ..models.base import param, transition
from ..models.raft import (
    CANDIDATE,
    FOLLOWER,
    LEADER,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Entry,
    Raft,
    RaftConfig,
    RequestVoteRequest,
    RequestVoteResponse,
    Server,
)
from ..models.schema import Int, OneOf, Record, Seq, Tuple, Type, Union, Vec, message
from .cluster import ClusterConfig
from .codec import MAX_FRAME, Frame, Log, Text, from_base
from .kv import (
    KVClient,
    Reply,
    Request,
    check_kv_args,
    execute,
    kv_arguments,
    kv_main,
    owned_by,
    parse_command,
)
from .raft_snapshot import InstallSnapshot, SnapLog, as_request, compact, from_snapshot, install, snapshot_text
from .service import ClientCommand, Option, Service, ServiceSpec

log = logging.getLogger("protoproof.impl")

BIG = 2**53
VALUE = Text(8192)


# ----- the model on run-time types ----------------------------------------------------------


def widen(t: Type, value: Type, log_of: Callable[[Type, Seq], Type]) -> Type:
    """``t`` with the model's small bounds lifted: ints (not node ids) up to ``BIG``, the model's
    values replaced by ``value`` (a field or tuple position named/typed as the value), and each
    ``Seq`` replaced by ``log_of(elem, seq)`` (a ``Log`` in states, a longer ``Seq`` in messages)."""
    if isinstance(t, Union):
        return Union(*(widen(a, value, log_of) for a in t.alts))
    if isinstance(t, Record):
        return Record(t.cls, **{n: value if n in ("value", "val", "v") else widen(ft, value, log_of)
                                for n, ft in t.fields.items()})
    if isinstance(t, Seq):
        return log_of(widen(t.elem, value, log_of), t)
    if isinstance(t, Vec):
        return Vec(widen(t.elem, value, log_of), t.n, t.index)
    if isinstance(t, Tuple):
        if len(t.parts) == 2 and isinstance(t.parts[0], Int):  # a log entry (term, value)
            return Tuple(widen(t.parts[0], value, log_of), value, index=t.index)
        return Tuple(*(widen(p, value, log_of) for p in t.parts), index=t.index)
    if type(t) is Int:
        return Int(t.lo, BIG)
    return t  # node ids, roles, sets of node ids, None


class WideServer(Server):
    """The model's ``Server`` on run-time types: the handlers are the model's, unchanged."""

    def state_type(self) -> Type:
        return widen(super().state_type(), VALUE, lambda e, _s: Log(e, SnapLog))

    def disk_type(self) -> Type:
        return widen(super().disk_type(), VALUE, lambda e, _s: Log(e, SnapLog))

    #: ``send_snapshot``'s ``k`` is the runtime's (where its log is compacted): replayed, not explored.
    snapshot_points = ()

    @transition(j="others", k="snapshot_points")
    def send_snapshot(self, s: Any, j: int, k: int) -> Any:
        """A leader sends j its first k entries as one AppendEntries from the start: raft.tla's
        AppendEntries(i, j) with nextIndex[j] taken as 1 and a batch of k (``raft_snapshot``).
        The runtime sends an ``InstallSnapshot`` for it, its log being compacted up to k."""
        if s.role != LEADER or not 1 <= k <= len(s.log):
            return None
        return s, (Send(j, AppendEntriesRequest(s.current_term, 0, 0, s.log[:k], min(s.commit_index, k))),)


class KVServer(WideServer):
    """The server the runtime runs: the model's handlers, with one step computed faster.

    raft.tla's AdvanceCommitIndex (the model's ``advance_commit_index``) tries every index of
    the log, which costs milliseconds per call once the log holds thousands of entries.  The
    same value is the (n//2+1)-th largest of the servers' match indexes (the leader's own: its
    log length), because "a quorum has index" only gets harder as the index grows.  Every
    traced run checks this step against the model's (``validate`` replays through
    ``WideServer``), and a test compares the two on random states.
    """

    def advance_commit_index(self, s: Any) -> Any:
        if s.role != LEADER:
            return None
        n_log = len(s.log)
        have = sorted((n_log if k == self.id else min(s.match_index[k], n_log) for k in self.server_ids),
                      reverse=True)
        top = have[len(have) // 2]  # held by (n//2 + 1) servers: a quorum
        commit = top if top >= 1 and self.commit_ok(s, top) else s.commit_index
        return s._replace(commit_index=commit), ()

    def client_request(self, s: Any, v: Any) -> Any:
        """The model's, appending with ``+`` (a compacted log cannot be unpacked from its start)."""
        if s.role != LEADER:
            return None
        return s._replace(log=s.log + (Entry(s.current_term, v),)), (Persist(),)


@dataclass(frozen=True)
class KVRaftConfig(RaftConfig):
    # The checker's ranges (RaftConfig's) are not a run's: a cluster has up to Option("servers")'s
    # servers and batches up to its max_entries; the other bounds do not apply to a run.
    servers: int = param(2, 1, None, "servers")
    values: int = 1
    max_term: int = 2
    max_log: int = 1
    max_copies: int = 1
    max_entries: int = param(1, 1, None, "entries per AppendEntries request")
    max_crashes: int = 0


class KVRaft(Raft):
    """The model a KV trace replays through: ``KVServer`` nodes, commands as values, no bounds.

    The model's servers and properties; its messages with every field widened, on a network
    that may deliver a message again (raft.tla may duplicate any message before it is received:
    the same runs), whose messages are not enumerated (a replay adds what was sent).  A kill -9
    and restart is the model's crash and recover (``max_crashes``, set by the validator): the
    server comes back with its last Persist, which is raft.tla's Restart.
    """

    name = "kv-raft"
    Config = KVRaftConfig
    server_class: type[Server] = WideServer
    constraint = ActorSystem.constraint  # the bounds are the checker's; a run has none

    def network(self) -> Network:  # type: ignore[override]  # Raft's says UnorderedBag, too narrow
        return DuplicatingSet()

    def faults(self) -> Faults:
        return Faults(max_crashes=self.config.max_crashes)

    def message_type(self) -> Type:
        """The replay's messages: AppendEntries of any length (``send_snapshot``'s batch)."""
        return widen(super().message_type(), VALUE, lambda e, _s: Log(e))

    def wire_message_type(self) -> Type:
        """The frames' model messages: AppendEntries of at most ``max_entries`` entries."""
        return model_message_type(Raft.message_type(self), self.config.max_entries)

    def envelopes(self) -> list[Any]:
        return []

    def symmetry(self) -> dict[str, list[list[int]]] | None:
        return None


def model_message_type(t: Type, max_entries: int) -> Type:
    return widen(t, VALUE, lambda e, _s: Seq(e, max_entries))


@message
class Redirect:
    """Not the leader: ``leader`` is the one this server last heard from (-1: none known)."""

    cid: str
    leader: int


@message
class TermReq:
    """A rejoining learner (its store was lost) asks a peer for its term and commit index."""


@message
class TermRep:
    """A voter's answer to ``TermReq``: its current term and commit index."""

    term: int
    commit: int


def wire_type(model: Type, n: int) -> Type:
    assert isinstance(model, Union)
    big = Int(0, BIG)
    return Union(*model.alts, Record(Request, cmd=VALUE), Record(Reply, cid=Text(64), result=Union(OneOf(None), VALUE)),
                 Record(Redirect, cid=Text(64), leader=Int(-1, n - 1)),
                 Record(InstallSnapshot, term=big, index=big, runs=Log(Tuple(big, big)), state=Text(MAX_FRAME),
                        commit=big),
                 Record(TermReq), Record(TermRep, term=big, commit=big))


#: The store's meta key of the highest term a rejoined server may have voted in before it lost
#: its store: it grants no vote in that term or any earlier one.
VOTE_FLOOR = "vote_floor"


# ----- the server ---------------------------------------------------------------------------


class RaftKVNode(Service):
    """One server of the Raft KV store: the model's ``Server``, its timers, its state machine."""

    group_commit = True
    #: A server that lost its store rejoins as a learner (``cluster rejoin``): see ``on_frame``.
    rejoins = True
    #: Commands waiting to be applied (``open_requests``) before a new one is answered ``Busy``:
    #: the batches of one turn make a higher cap than the Paxos KV's pay.
    max_inflight = 64
    election_s = (0.3, 0.6)
    heartbeat_s = 0.05
    resend_s = 0.2
    tick_s = 0.01
    #: AppendEntries requests a follower may have unanswered (pipelining).
    window = 4

    def __init__(self, cfg: ClusterConfig, node_id: int, **kw: Any) -> None:
        self.n = len(cfg.nodes)
        self.max_entries = int(cfg.params.get("max_entries", 64))
        #: Compact the log once this many applied entries follow its base (0: never).
        self.snapshot_every = int(cfg.params.get("snapshot_every", 0))
        self.snap_sent: dict[int, float] = {}
        self.model = KVRaft(servers=self.n, max_entries=self.max_entries)
        self.model.schema()
        self.peer_ids = [j for j in range(self.n) if j != node_id]
        super().__init__(cfg, node_id, **kw)
        self.kv: dict[str, str] = {}
        self.results: dict[str, str | None] = {}
        self.waiting: dict[str, int] = {}  # command id -> the client to answer once it is applied
        self.applied = 0
        self.leader_hint = -1
        #: Per follower, when its unanswered AppendEntries requests left (oldest first), and the
        #: highest index the last one carried.
        self.inflight: dict[int, list[float]] = {j: [] for j in self.peer_ids}
        self.sent_upto: dict[int, int] = {j: 0 for j in self.peer_ids}
        self.last_sent: dict[int, float] = {}
        self.last_reply: dict[int, float] = {}
        self.vote_sent = 0.0
        self.deadline = 0.0
        self.replicate_soon = False
        self._tick: asyncio.TimerHandle | None = None
        self.was_leader = False
        #: No vote is granted in a term at or below this one (``VOTE_FLOOR``; -1: none).
        self.vote_floor = int(self.store.meta_get(VOTE_FLOOR) or -1)
        #: A learner's rejoin: the peers' answers to ``TermReq`` (term, commit index), the
        #: highest term they report once they cover every quorum (None: not yet), and the task
        #: that makes it a voter once it holds the leader's log.
        self.term_reports: dict[int, tuple[int, int]] = {}
        self.rejoin_term: int | None = None
        self.rejoin_commit = 0
        self.probe_sent = -1e9
        self._rejoining: asyncio.Task[None] | None = None

    def make_node(self) -> Node[Any]:
        return KVServer(self.model.node(self.id).config)

    def model_message_type(self) -> Type:
        return self.model.wire_message_type()

    def wire_type(self) -> Type:
        return wire_type(self.model_message_type(), self.n)

    # ----- reading the model's state -----
    @property
    def s(self) -> Any:
        return self.host.state(0)

    def role(self) -> str:
        return str(self.s.role)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _reset_deadline(self) -> None:
        self.deadline = self._now() + self.host.rng.uniform(*self.election_s)

    # ----- the model's steps -----
    def _step(self, name: str, **args: Any) -> bool:
        ok = self.host.step(0, name, **args)
        if ok:
            self._after_step()
        return ok

    def _after_step(self) -> None:
        """What follows any step: apply newly committed entries; notice leadership changes."""
        s = self.s
        if s.commit_index > self.applied:
            self._apply(s)
        leader = str(s.role) == LEADER
        if leader and not self.was_leader:
            self.was_leader = True
            self.leader_hint = self.id
            self._forget_inflight()
            self._propose(json.dumps({"id": f"noop-{s.current_term}-{self.id}", "op": "noop"}))
        elif not leader and self.was_leader:
            self.was_leader = False
            self.leader_hint = -1
            self._forget_inflight()

    def _propose(self, cmd: str) -> bool:
        """The model's ``client_request`` with ``cmd``; replication follows in this turn."""
        if not self.host.step(0, "client_request", v=cmd):
            return False
        if not self.replicate_soon:
            self.replicate_soon = True
            asyncio.get_running_loop().call_soon(self._replicate_all)
        return True

    def _forget_inflight(self) -> None:
        for j in self.peer_ids:
            self.inflight[j] = []
            self.sent_upto[j] = 0

    def _replicate_all(self) -> None:
        self.replicate_soon = False
        for j in self.peer_ids:
            if self._news(j) and len(self.inflight[j]) < self.window:
                self._append_entries(j)
        if not self.peer_ids:  # alone: nothing answers, the leader's own log is the quorum
            self._step("advance_commit_index")

    def _upto(self, j: int) -> int:
        """The last index an AppendEntries to ``j`` would carry now."""
        s = self.s
        return min(len(s.log), s.next_index[j] + self.max_entries - 1)

    def _news(self, j: int) -> bool:
        """Whether an AppendEntries to ``j`` would carry an entry none of the unanswered ones did
        (they all start at ``next_index[j]``: another one is worth sending only if it reaches further)."""
        return self._upto(j) > self.sent_upto[j]

    def _append_entries(self, j: int) -> None:
        """The model's ``append_entries(j)``: the entries from ``next_index[j]`` on, which may
        repeat some of an unanswered request's (the model moves ``next_index`` on answers only).
        If those are compacted, a snapshot instead (one per ``resend_s``)."""
        s = self.s
        base = from_base(s.log)
        if s.next_index[j] <= base:
            now = self._now()
            if now - self.snap_sent.get(j, -1e9) < self.resend_s:
                return
            effects = self.host.traced_step(0, "send_snapshot", j=j, k=base)
            if effects is None:
                return
            log_ = s.log
            m = InstallSnapshot(s.current_term, base, log_.runs, log_.snap, min(s.commit_index, base))
            self.host.after_commit(lambda: self.reply(j, 0, m))
            self.snap_sent[j] = now
            self.inflight[j].append(now)
            self.last_sent[j] = now
            self.sent_upto[j] = base
            return
        if self.host.step(0, "append_entries", j=j):
            now = self._now()
            self.inflight[j].append(now)
            self.last_sent[j] = now
            self.sent_upto[j] = self._upto(j)

    def _apply(self, s: Any) -> None:
        """Apply the log up to the commit index to the KV map; answer the clients waiting here."""
        upto = min(s.commit_index, len(s.log))
        for k in range(self.applied, upto):
            cid = execute(json.loads(s.log[k][1]), self.kv, self.results)
            client = self.waiting.pop(cid, None)
            if client is not None:
                self._answer(client, cid)
        self.applied = max(self.applied, upto)
        if self.snapshot_every and self.applied - from_base(s.log) >= self.snapshot_every:
            self._compact()

    def _compact(self) -> None:
        """Replace the applied prefix of the log by the KV state it built (durable with it)."""
        s = self.s
        upto = min(self.applied, len(s.log))
        self.host.compact(0, s._replace(log=compact(s.log, upto, snapshot_text(self.kv, self.results))))

    def _answer(self, client: int, cid: str) -> None:
        """Answer with an applied command's result.  It is committed, hence on this server's disk
        already when another server counted towards it (the leader sends an entry only after its
        own commit of it): no need to wait for the group commit in progress.  Alone, the leader
        counts only itself, so it waits."""
        reply = Reply(cid, self.results[cid])
        if self.n > 1:
            self.reply(client, 0, reply)
        else:
            self.host.after_commit(lambda: self.reply(client, 0, reply))

    # ----- time -----
    def on_recovered(self, insts: list[int]) -> None:
        log_ = self.host.state(0).log
        if isinstance(log_, SnapLog):  # the state machine starts from the snapshot
            self.kv, self.results = from_snapshot(log_.snap)
            self.applied = log_.base
        self._reset_deadline()
        self._tick = asyncio.get_running_loop().call_later(self.tick_s, self.tick)

    def tick(self) -> None:
        self._tick = asyncio.get_running_loop().call_later(self.tick_s, self.tick)
        now = self._now()
        role = self.role()
        if role == LEADER:
            for j in self.peer_ids:
                out = self.inflight[j]
                if out and now - max(out[0], self.last_reply.get(j, 0.0)) > self.resend_s:
                    out.clear()  # no answer at all for a while: lost, or the follower is down
                    self._append_entries(j)
                elif not out and now - self.last_sent.get(j, 0.0) >= self.heartbeat_s:
                    self._append_entries(j)
            return
        if self.learner:  # it starts no election until it has rejoined
            if self.rejoin_term is None and now - self.probe_sent > self.resend_s:
                self.probe_sent = now
                for j in self.peer_ids:
                    if j not in self.term_reports:
                        self.reply(j, 0, TermReq())
            return
        if now >= self.deadline:
            self._reset_deadline()
            if self._step("timeout"):
                self._request_votes()
        elif role == CANDIDATE and now - self.vote_sent > self.resend_s:
            self._request_votes()

    def _request_votes(self) -> None:
        self.vote_sent = self._now()
        for j in range(self.n):  # itself too: how a candidate votes for itself in raft.tla
            self.host.step(0, "request_vote", j=j)

    def _become_leader(self) -> None:
        if self.role() == CANDIDATE:
            self._step("become_leader")

    # ----- frames -----
    def after_deliver(self, f: Frame) -> None:
        m, s = f.msg, self.s
        t = type(m)
        if t is AppendEntriesRequest:
            if m.term == s.current_term and str(s.role) == FOLLOWER:
                self.leader_hint = f.src
                self._reset_deadline()
        elif t is RequestVoteRequest:
            if s.voted_for == f.src and m.term == s.current_term:
                self._reset_deadline()
        elif t is RequestVoteResponse:
            self._become_leader()
        elif t is AppendEntriesResponse and str(s.role) == LEADER:
            j, out = f.src, self.inflight[f.src]
            self.last_reply[j] = self._now()
            if out:
                out.pop(0)
            self.host.step(0, "advance_commit_index")
            s = self.s
            if s.next_index[j] <= len(s.log) and len(out) < self.window and (not out or self._news(j)):
                self._append_entries(j)
        self._after_step()

    # ----- rejoining after a lost store -----
    def on_frame(self, f: Frame) -> None:
        """A server that lost its store (a learner, ``recovery``) forgot its term, its vote and the
        entries it acknowledged.  It must not vote in a term it may have voted in, nor acknowledge
        a stale leader's entries, nor elect a candidate lacking entries it helped commit.  So it
        first asks its peers for their terms (``TermReq``) until the peers that answered meet
        every quorum it belongs to (in 3 servers: both others); the highest term M they report is
        at least any term it ever voted or acknowledged in (that quorum's other members knew it).
        Then it takes AppendEntries (and snapshots) of terms >= M only, by the model's own
        handler, so each acknowledgement it sends is one its disk keeps, and never a vote; once
        it holds a leader's whole log (every entry committed before, by Leader Completeness) it
        records M as ``VOTE_FLOOR`` durably and votes again, never in a term <= M."""
        m = f.msg
        if f.src in self.transport.addrs and type(m) in self.model_kinds:
            if type(m) is RequestVoteRequest and m.term <= self.vote_floor:
                return  # it may have voted in that term before it lost its store
            if self.learner:
                if self.halted is None and self.rejoin_term is not None and type(m) is AppendEntriesRequest \
                        and m.term >= self.rejoin_term:
                    self.host.deliver(f.src, f.inst, m)
                    self.after_deliver(f)
                    self._caught_up(m)
                return
        super().on_frame(f)

    def _term_report(self, src: int, m: Any) -> None:
        if not self.learner or self.rejoin_term is not None:
            return
        self.term_reports[src] = (m.term, m.commit)
        # every majority quorum holding this server meets the peers that answered
        if len(self.term_reports) <= self.n - (self.n // 2 + 1):
            return
        self.rejoin_term = max(t for t, _c in self.term_reports.values())
        self.rejoin_commit = max(c for _t, c in self.term_reports.values())
        log.warning("node %s: rejoining; peers %s report term %s and commit index %s; it takes entries of "
                    "term >= %s and votes only in later terms", self.id, sorted(self.term_reports),
                    self.rejoin_term, self.rejoin_commit, self.rejoin_term)

    def _caught_up(self, m: Any) -> None:
        """Whether the learner now holds the whole log of the leader that sent ``m`` (it carried
        the leader's last entries: fewer than ``max_entries``), committed as far as the peers
        reported: then it becomes a voter."""
        s = self.s
        if self._rejoining is not None or m.term != s.current_term or len(m.entries) >= self.max_entries:
            return
        idx = m.prev_log_index
        node = self.host.node
        assert isinstance(node, Server)
        if len(s.log) < idx + len(m.entries) or not node.log_ok_for_append(s, m):
            return
        if idx + len(m.entries) > from_base(s.log) and any(
                s.log[idx + p].term != e.term for p, e in enumerate(m.entries) if idx + p >= from_base(s.log)):
            return
        if s.commit_index < self.rejoin_commit:
            return
        self._rejoining = asyncio.get_running_loop().create_task(self._become_voter())

    async def _become_voter(self) -> None:
        await self.host.settle()  # nothing of the store is in the commit thread's hands now
        assert self.rejoin_term is not None
        self.store.meta_put(VOTE_FLOOR, str(self.rejoin_term))  # durable before it may vote
        self.vote_floor = self.rejoin_term
        self.rejoined()
        self._reset_deadline()
        log.warning("node %s: caught up to index %s (commit %s) in term %s; it votes in terms > %s",
                    self.id, len(self.s.log), self.s.commit_index, self.s.current_term, self.vote_floor)

    def on_service(self, f: Frame) -> None:
        m = f.msg
        if type(m) is TermReq and f.src in self.transport.addrs and f.src != self.id:
            if not self.learner:
                self.reply(f.src, 0, TermRep(self.s.current_term, self.s.commit_index))
            return
        if type(m) is TermRep and f.src in self.transport.addrs:
            self._term_report(f.src, m)
            return
        if type(m) is InstallSnapshot and f.src in self.transport.addrs and f.src != self.id:
            if self.learner and (self.rejoin_term is None or m.term < self.rejoin_term):
                return  # a learner takes a leader's snapshot only in a term it knows is current
            self._install(f.src, m)
            return
        if type(m) is not Request or f.src not in self.cfg.client_ids:
            return
        cmd = parse_command(m.cmd)
        if cmd is None or not owned_by(cmd, f.src):
            self.transport._reject(f.src, "malformed KV command, or a command id of another client")
            return
        cid = cmd["id"]
        if cid in self.results:
            self._answer(f.src, cid)
        elif self.role() != LEADER:
            self.reply(f.src, 0, Redirect(cid, self.leader_hint))
        elif cid not in self.waiting:
            self.waiting[cid] = f.src
            if not self._propose(m.cmd):
                del self.waiting[cid]
                self.reply(f.src, 0, Redirect(cid, -1))
        else:
            self.waiting[cid] = f.src  # a retry while the first copy is in the log: answer when applied

    def open_requests(self) -> int:
        """Commands taken and not yet applied and answered (a retry of one is not another)."""
        return len(self.waiting)

    def _install(self, src: int, m: Any) -> None:
        """A leader's snapshot: the model's handling of the AppendEntries it stands for, to its end
        (``raft_snapshot.install``); the state machine restarts from it if the log was replaced."""
        s = self.s
        out = install(s, src, m)
        if out is None:
            return
        after, effects = out
        self.host.deliver_whole(src, 0, as_request(m), after, effects)
        if isinstance(after.log, SnapLog) and after.log is not s.log and after.log.base > self.applied:
            self.kv, self.results = from_snapshot(m.state)
            self.applied = after.log.base
        if m.term == after.current_term and str(after.role) == FOLLOWER:
            self.leader_hint = src
            self._reset_deadline()
        self._after_step()

    async def stop(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
        if self._rejoining is not None:
            self._rejoining.cancel()
            await asyncio.gather(self._rejoining, return_exceptions=True)
        await super().stop()


# ----- the client ---------------------------------------------------------------------------


class RaftKVClient(KVClient):
    """``put``/``get`` with a unique id per command, sent to the leader.

    A ``Redirect`` names the leader (go there at once) or none (an election is on: wait a
    little, try the next server); no answer within ``timeout`` moves on to the next server.  A
    retried command keeps its id, so it takes effect once.
    """

    answers = (Reply, Redirect)
    retry_pause = 0.0

    def __init__(self, cfg: ClusterConfig, client_id: int | None = None, prefer: int = 0,
                 timeout: float = 0.5, budget: float = 60.0) -> None:
        super().__init__(cfg, client_id, prefer, timeout, budget)

    def wire(self) -> Type:
        return client_wire_type(self.cfg)

    async def redirected(self, answer: Any) -> None:
        if answer.leader >= 0 and answer.leader != self.node:
            self.node = answer.leader
        else:
            self.node = (self.node + 1) % self.n
            await asyncio.sleep(0.02)


def client_wire_type(cfg: ClusterConfig) -> Type:
    return _wire_type(len(cfg.nodes), _max_entries(cfg))


@functools.lru_cache(maxsize=8)
def _wire_type(n: int, max_entries: int) -> Type:
    """The wire type of a cluster (built once per shape: many clients share it)."""
    return wire_type(KVRaft(servers=n, max_entries=max_entries).wire_message_type(), n)


def _max_entries(cfg: ClusterConfig) -> int:
    return int(cfg.params.get("max_entries", 64))


async def _kv(args: Any, cfg: ClusterConfig) -> int:
    return await kv_main(RaftKVClient(cfg, budget=args.timeout), args)


#: The Raft KV store as a runtime service (``protoproof cluster raft --servers 3``, ``protoproof kv``).
SERVICE = ServiceSpec(
    name="raft",
    ref=f"{__name__}:SERVICE",
    node=RaftKVNode,
    names=lambda p: [f"s{i + 1}" for i in range(p["servers"])],  # the model's names (raft.tla counts from 1)
    model=lambda cfg: (f"{__name__}:KVRaft", {"servers": len(cfg.nodes), "max_entries": _max_entries(cfg)}),
    options=(Option("servers", 3, 1, 9, "number of Raft servers"),
             Option("max_entries", 64, 1, 4096, "entries per AppendEntries (the model's max_entries)"),
             Option("snapshot_every", 0, 0, 10**9,
                    "compact the log into a snapshot every N applied entries (0: never)")),
    commands=(ClientCommand("kv", "put/get on a Raft KV cluster", kv_arguments, _kv, check_kv_args),),
)


def raft_cluster(directory: str, servers: int = 3, **kw: Any) -> ClusterConfig:
    return SERVICE.new_cluster(directory, {"servers": servers}, **kw)
