"""The toy replicated log as nodes: a leader replicating its log to followers by messages.

The system-level ``Replog`` (``models/replog.py``) copies an entry by reading the leader's log
directly.  Here the leader and the followers are ``Node``s on the grow-only message set, so a
message may arrive any number of times and arbitrarily late.  That is where a naive design
breaks: a follower acknowledges an entry, the leader retracts it and appends another in its
place, and the old acknowledgement, delivered late, lets the leader commit what the follower
no longer holds (``late-ack``).  The design that makes this impossible:

- the leader has an ``epoch``; every retraction starts a new one and forgets every
  acknowledgement (``match`` back to zeros), and entries are sent as ``Append(epoch, idx, val)``;
- a follower appends only entries of its own epoch, at the end of its log, and acknowledges
  ``Ack(epoch, length)`` after persisting; the leader counts only current-epoch acks;
- a follower learns of a new epoch from ``NewEpoch(epoch, commit)`` and cuts its log to the
  leader's commit index then.  That is safe however many epochs it skipped: the leader commits
  only with every follower's current-epoch ack, so every commit happened at an epoch the
  follower had already reached, and its log up to ``commit`` is the committed prefix.

Besides the two safety properties of ``Replog``, the system refines ``CommittedLog``: the
leader's committed prefix only ever grows by one entry (checked explicitly, step by step).
The leader sends entries and epoch announcements in steps of their own (``send_entry``,
``announce``), which the runtime (``impl/replog.py``) also uses to retransmit what was lost.
Nodes are configured by a value (``LogParams``): the model's bounded types here, the runtime's
unbounded log and epochs there, the same handlers in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .actors import ActorSystem, Effect, Envelope, Faults, Node, NodeConfig, Persist, Send, peers
from .base import Model, Refinement, always, sometimes, transition, variant
from .registry import Protocol
from .replog import is_prefix
from .schema import Int, Record, Seq, Type, Union, Vec, message

Out = tuple[Any, Sequence[Effect]] | None


@message
class Append:
    """Leader -> follower: entry ``idx`` of the leader's log in ``epoch`` is ``val``."""

    epoch: int
    idx: int
    val: Any


@message
class NewEpoch:
    """Leader -> follower: the leader is in ``epoch`` (it retracted entries), ``commit`` entries are committed."""

    epoch: int
    commit: int


@message
class Ack:
    """Follower -> leader: in ``epoch`` my log holds the leader's first ``length`` entries."""

    epoch: int
    length: int


class LeaderState(NamedTuple):
    epoch: int
    log: tuple[Any, ...]
    commit: int  # log[:commit] is committed
    match: tuple[int, ...]  # per follower, the longest length it acknowledged in this epoch


class FollowerState(NamedTuple):
    epoch: int
    log: tuple[Any, ...]


@dataclass(frozen=True)
class LogParams:
    """What the nodes are told: their types and bounds (the model's are small, the runtime's not).

    ``entry`` is the type of an entry, ``log`` of a log of them (``Seq`` in the model,
    ``impl.codec.Log`` at run time), ``length`` of an index or length, ``epoch`` of an epoch;
    ``maxlen``/``max_epoch`` bound ``append``/``retract``; ``values`` are the values ``append`` is
    checked with (at run time the client's, nothing to enumerate).
    """

    entry: Type
    log: Type
    length: Type
    epoch: Type
    maxlen: int
    max_epoch: int
    values: tuple[Any, ...]


def model_params(maxlen: int, values: int, max_epoch: int) -> LogParams:
    entry = Int(0, values - 1)
    return LogParams(entry, Seq(entry, maxlen), Int(0, maxlen), Int(0, max_epoch), maxlen, max_epoch,
                     tuple(range(values)))


def node_configs(followers: int, params: LogParams) -> list[NodeConfig]:
    """The leader is node 0, follower ``k`` node ``k + 1``: for the model and the runtime alike."""
    ids = peers(leader=(0,), follower=range(1, followers + 1))
    return [NodeConfig(0, "leader", ids, params)] + [NodeConfig(k, f"f{k - 1}", ids, params)
                                                    for k in range(1, followers + 1)]


class Leader(Node[LeaderState]):
    role = "leader"

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.p: LogParams = config.params
        self.followers = config.ids("follower")

    def state_type(self) -> Type:
        p = self.p
        return Record(LeaderState, epoch=p.epoch, log=p.log, commit=p.length,
                      match=Vec(p.length, len(self.followers)))

    def on_start(self) -> tuple[LeaderState, Sequence[Effect]]:
        return LeaderState(0, (), 0, (0,) * len(self.followers)), ()

    # The log, epoch and commit index survive a crash; acknowledgements are asked for again.
    def disk_type(self) -> Type:
        return self.state_type()

    def durable(self, s: LeaderState) -> LeaderState:
        return LeaderState(s.epoch, s.log, s.commit, (0,) * len(self.followers))

    def on_recover(self, disk: LeaderState) -> tuple[LeaderState, Sequence[Effect]]:
        return disk, ()

    def value_ids(self) -> tuple[Any, ...]:
        return self.p.values

    def positions(self) -> range:
        return range(self.p.maxlen if self.p.values else 0)  # at run time: the runtime's, not enumerated

    @transition(v="value_ids")
    def append(self, s: LeaderState, v: Any) -> Out:
        """Append a value while the log has room."""
        if len(s.log) >= self.p.maxlen:
            return None
        return LeaderState(s.epoch, s.log + (v,), s.commit, s.match), (Persist(),)

    @transition()
    def retract(self, s: LeaderState) -> Out:
        """Drop the last, uncommitted entry; a new epoch starts and every acknowledgement lapses."""
        n = len(s.log)
        if not self.may_retract(s) or s.epoch >= self.p.max_epoch:
            return None
        return LeaderState(s.epoch + 1, s.log[: n - 1], s.commit, (0,) * len(self.followers)), (Persist(),)

    def may_retract(self, s: LeaderState) -> bool:
        """Whether the last entry may be dropped: only while it is uncommitted."""
        return len(s.log) > s.commit

    @transition(f="followers", idx="positions")
    def send_entry(self, s: LeaderState, f: int, idx: int) -> Out:
        """Send follower ``f`` entry ``idx`` of the log (first sends and retransmissions alike)."""
        if idx >= len(s.log):
            return None
        return s, (Send(f, Append(s.epoch, idx, s.log[idx])),)

    @transition(f="followers")
    def announce(self, s: LeaderState, f: int) -> Out:
        """Tell follower ``f`` the epoch and the commit index (after a retraction)."""
        if s.epoch == 0:
            return None
        return s, (Send(f, NewEpoch(s.epoch, s.commit)),)

    @transition()
    def commit_next(self, s: LeaderState) -> Out:
        """Commit the next entry once every follower acknowledged it in this epoch."""
        if not (s.commit < len(s.log) and all(m > s.commit for m in s.match)):
            return None
        return LeaderState(s.epoch, s.log, s.commit + 1, s.match), (Persist(),)

    def counts(self, s: LeaderState, ack: Ack) -> bool:
        """Whether the leader takes this acknowledgement into account: only in its epoch."""
        return bool(ack.epoch == s.epoch)

    def on_message(self, s: LeaderState, src: int, msg: Any) -> Out:
        if type(msg) is not Ack or not self.counts(s, msg):
            return None
        k = self.followers.index(src)
        if msg.length <= s.match[k]:
            return None
        return LeaderState(s.epoch, s.log, s.commit, s.match[:k] + (msg.length,) + s.match[k + 1:]), ()


class Follower(Node[FollowerState]):
    role = "follower"

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.p: LogParams = config.params
        self.leader = config.ids("leader")[0]

    def state_type(self) -> Type:
        return Record(FollowerState, epoch=self.p.epoch, log=self.p.log)

    def on_start(self) -> tuple[FollowerState, Sequence[Effect]]:
        return FollowerState(0, ()), ()

    # A follower's log and epoch survive a crash: it persists before it acknowledges.
    def disk_type(self) -> Type:
        return self.state_type()

    def durable(self, s: FollowerState) -> FollowerState:
        return s

    def on_recover(self, disk: FollowerState) -> tuple[FollowerState, Sequence[Effect]]:
        return disk, ()

    def cut(self, log: tuple[Any, ...], commit: int) -> tuple[Any, ...]:
        """What a follower keeps of its log on a new epoch: the committed prefix."""
        return log[:commit]

    def on_message(self, s: FollowerState, src: int, msg: Any) -> Out:
        if type(msg) is NewEpoch:
            if msg.epoch <= s.epoch:
                return None
            log = self.cut(s.log, msg.commit)
            return FollowerState(msg.epoch, log), (Persist(), Send(self.leader, Ack(msg.epoch, len(log))))
        if type(msg) is Append:
            if msg.epoch != s.epoch or msg.idx > len(s.log):
                return None
            if msg.idx < len(s.log):  # held already: acknowledge again (the ack may have been lost)
                return s, (Send(self.leader, Ack(s.epoch, len(s.log))),)
            log = s.log + (msg.val,)
            return FollowerState(s.epoch, log), (Persist(), Send(self.leader, Ack(s.epoch, len(log))))
        return None


@dataclass(frozen=True)
class CommittedLogConfig:
    maxlen: int = 2
    values: int = 2


class CommittedLog(Model[tuple[int, ...]]):
    """What a replicated log promises its clients: entries are committed one at a time, in order, and a
    committed entry never changes or goes away (the state is the committed prefix)."""

    name = "committed-log"
    Config = CommittedLogConfig

    def schema(self) -> Type:
        return Seq(Int(0, self.config.values - 1), self.config.maxlen)

    def init(self) -> list[tuple[int, ...]]:
        return [()]

    def value_ids(self) -> range:
        return range(self.config.values)

    @transition(v="value_ids")
    def commit(self, s: tuple[int, ...], v: int) -> tuple[int, ...] | None:
        """The next entry is committed with value ``v``."""
        if len(s) >= self.config.maxlen:
            return None
        return s + (v,)

    @sometimes
    def full(self, s: tuple[int, ...]) -> bool:
        """Every position is committed."""
        return len(s) == self.config.maxlen


@dataclass(frozen=True)
class ReplogNodesConfig:
    followers: int = 2
    maxlen: int = 2
    values: int = 2
    max_epoch: int = 1  # how many retractions (each starts an epoch)
    max_crashes: int = 0


class ReplogNodes(ActorSystem):
    """The replicated log as a leader and followers exchanging epoch-stamped messages."""

    name = "replog-nodes"
    Config = ReplogNodesConfig

    leader_class: type[Leader] = Leader
    follower_class: type[Follower] = Follower

    def _validate_config(self) -> None:
        c = self.config
        if c.followers < 1 or c.maxlen < 1 or c.values < 1:
            raise ValueError("--followers, --maxlen and --values must be at least 1")
        if c.max_epoch < 0 or c.max_crashes < 0:
            raise ValueError("--max-epoch and --max-crashes must be at least 0")

    def params(self) -> LogParams:
        c = self.config
        return model_params(c.maxlen, c.values, c.max_epoch)

    def faults(self) -> Faults:
        return Faults(max_crashes=self.config.max_crashes)

    def nodes(self) -> list[Node[Any]]:
        leader, *followers = node_configs(self.config.followers, self.params())
        return [self.leader_class(leader), *(self.follower_class(c) for c in followers)]

    def message_type(self) -> Type:
        p = self.params()
        return Union(Record(Append, epoch=p.epoch, idx=Int(0, max(p.maxlen - 1, 0)), val=p.entry),
                     Record(NewEpoch, epoch=p.epoch, commit=p.length), Record(Ack, epoch=p.epoch, length=p.length))

    def envelopes(self) -> list[Envelope]:
        """Only leader -> follower entries and announcements and follower -> leader acks."""
        c = self.config
        msgs = list(self.message_type().values())
        out = []
        for f in range(1, c.followers + 1):
            out += [Envelope(0, f, m) for m in msgs if type(m) is Append]
            out += [Envelope(0, f, m) for m in msgs if type(m) is NewEpoch and m.epoch > 0]
            out += [Envelope(f, 0, m) for m in msgs if type(m) is Ack and (m.length > 0 or m.epoch > 0)]
        return out

    def refinements(self) -> list[Refinement]:
        c = self.config
        return [Refinement("refines_committed_log", CommittedLog(maxlen=c.maxlen, values=c.values), self.committed)]

    def committed(self, s: Any) -> tuple[Any, ...]:
        """The leader's committed prefix: what the abstract ``CommittedLog`` holds."""
        ls = self.leader_state(s)
        return ls.log[: ls.commit]

    def leader_state(self, s: Any) -> LeaderState:
        ls: LeaderState = s.nodes[0]
        return ls

    def follower_logs(self, s: Any) -> tuple[tuple[Any, ...], ...]:
        return tuple(f.log for f in s.nodes[1:])

    @always
    def committed_never_retracted(self, s: Any) -> bool:
        """The leader's log still holds every committed entry."""
        ls = self.leader_state(s)
        return ls.commit <= len(ls.log)

    @always
    def followers_agree_on_committed(self, s: Any) -> bool:
        """Every follower's log holds the leader's committed prefix."""
        ls = self.leader_state(s)
        return all(is_prefix(ls.log[: ls.commit], log) for log in self.follower_logs(s))

    @sometimes
    def committed_after_a_retraction(self, s: Any) -> bool:
        """An entry was committed in a later epoch."""
        ls = self.leader_state(s)
        return ls.epoch > 0 and ls.commit == len(ls.log) > 0

    @sometimes
    def replicated(self, s: Any) -> bool:
        """Some follower holds a full log."""
        return any(len(log) == self.config.maxlen for log in self.follower_logs(s))


class _LateAckLeader(Leader):
    def counts(self, s: LeaderState, ack: Ack) -> bool:
        return True  # an acknowledgement of any epoch counts


@variant("late-ack", breaks="followers_agree_on_committed")
class LateAck(ReplogNodes):
    """The leader counts acks of earlier epochs: a late ack of a retracted entry commits its replacement.

    The follower acknowledged the retracted entry, not the one appended in its place, which it does
    not hold."""

    leader_class = _LateAckLeader


class _KeepRetractedFollower(Follower):
    def cut(self, log: tuple[Any, ...], commit: int) -> tuple[Any, ...]:
        return log  # keeps the retracted suffix


@variant("keep-retracted", breaks="followers_agree_on_committed")
class KeepRetracted(ReplogNodes):
    """A follower adopts a new epoch without cutting its log, so it keeps retracted entries.

    It then acknowledges a retracted entry as if it were the leader's new one."""

    follower_class = _KeepRetractedFollower


class _RetractCommittedLeader(Leader):
    def may_retract(self, s: LeaderState) -> bool:
        return len(s.log) > 0  # forgets the commit index


@variant("retract-committed", breaks=("committed_never_retracted", "refines_committed_log"))
class RetractCommitted(ReplogNodes):
    """The leader retracts its last entry even when it is committed."""

    leader_class = _RetractCommittedLeader


class _VolatileFollower(Follower):
    def on_message(self, s: FollowerState, src: int, msg: Any) -> Out:
        r = super().on_message(s, src, msg)
        return None if r is None else (r[0], tuple(e for e in r[1] if type(e) is not Persist))


@variant("volatile-follower", breaks="followers_agree_on_committed", defaults={"max_crashes": 1})
class VolatileFollower(ReplogNodes):
    """A follower acknowledges without persisting; after a crash it has forgotten committed entries.

    Only visible with crashes: its default is ``--max-crashes 1``.
    """

    follower_class = _VolatileFollower


__all__ = [
    "PROTOCOL", "Ack", "Append", "CommittedLog", "CommittedLogConfig", "Follower", "FollowerState",
    "KeepRetracted", "LateAck", "Leader", "LeaderState", "LogParams", "NewEpoch", "ReplogNodes",
    "ReplogNodesConfig", "RetractCommitted", "VolatileFollower", "model_params", "node_configs",
]


#: The node form's declaration (see ``models.registry``); the runtime is the ``replog`` protocol's.
PROTOCOL = Protocol("replog-nodes", f"{__name__}:ReplogNodes",
                    summary="the replicated log as leader and follower nodes with epochs",
                    strengthening="protoproof.proofs.replog_nodes:strengthening")
