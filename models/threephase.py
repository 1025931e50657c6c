"""Three-phase commit (Skeen, "Nonblocking Commit Protocols", SIGMOD 1981) with its termination protocol.

A coordinator and ``rms`` participants, as nodes on the unordered, duplicating network of the
2PC model.  The coordinator's CanCommit is the initial state (every participant has been asked):

- a participant votes ``Yes`` (working -> prepared, 2PC's "prepared") or ``No`` (-> aborted);
- the coordinator aborts on a ``No``; once every participant voted ``Yes`` it sends ``PreCommit``;
  a participant that gets it is pre-committed and sends ``Ack``; once every participant acked (or
  is suspected) the coordinator commits and sends ``DoCommit``;
- failure detection is an environment action ``suspect(node=a, peer=b)``: it hands ``a`` the
  message ``Suspect(b)`` at once (``ActorSystem.deliver_now``: not through the network, so a partition
  cannot hold it back; the runtime's failure detector gives the node the same message).
  ``failures="crash"`` is a perfect detector: it fires only when ``b`` is down.
  ``failures="partition"`` is a timeout-based one under partitions: it also fires while a
  partition separates ``a`` from ``b`` (``Faults``' split and heal);
- a node ignores every message from a peer it suspects (a suspected peer is out of the run);
- the coordinator aborts when it suspects a participant before it pre-committed;
- termination protocol: a participant that suspects the coordinator aborts if it has not voted,
  and reports its state to the backup coordinator, the lowest-numbered participant it does not
  suspect (again whenever it suspects its backup).  The backup, once it has its own state and a
  report from every participant it does not suspect, applies Skeen's rules: any aborted -> abort;
  any committed -> commit; any pre-committed -> pre-commit all, then commit once every
  unsuspected participant acked; otherwise abort.

Crashes are crash-stop (``Faults(recovery=False)``): a crashed node never returns, so the
disk is not part of the model's state (the nodes still persist their phase, for the runtime).
The participant's phase reuses 2PC's values (``prepared`` is the wait state) plus ``precommitted``;
seen through ``refines_tcommit`` a pre-committed participant is prepared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .actors import ActorSystem, Broadcast, Effect, Envelope, Faults, Node, NodeConfig, Persist, Send, peers
from .base import Refinement, eventually, require, sometimes, terminal, transition, variant
from .environment import environment
from .registry import Protocol
from .schema import Enum, Id, Record, SetOf, Type, Union, message
from .tcommit import ABORTED, COMMITTED, PREPARED, TC, WORKING, CommitProperties, TCommit

PRECOMMITTED = "precommitted"
Phase = Enum("Phase", WORKING, PREPARED, PRECOMMITTED, COMMITTED, ABORTED)
DECIDED = (COMMITTED, ABORTED)

INIT = "init"
PRECOMMITTING = "precommitting"
CoordPhase = Enum("CoordPhase", INIT, PRECOMMITTING, COMMITTED, ABORTED)

IDLE = "idle"
DONE = "done"
Stage = Enum("Stage", IDLE, PRECOMMITTING, DONE)  # a participant's part as backup coordinator

CRASH = "crash"
PARTITION = "partition"


@message
class Yes:
    rm: int


@message
class No:
    rm: int


@message
class PreCommit:
    pass


@message
class Ack:
    rm: int


@message
class DoCommit:
    pass


@message
class Abort:
    pass


@message
class Report:
    """A participant's phase, sent to its backup coordinator."""

    rm: int
    phase: str


@message
class Suspect:
    """The failure detector's verdict on ``peer``, handed to the node that suspects it."""

    peer: int


class Part(NamedTuple):
    """A participant: its phase, whom it suspects, and its state as a backup coordinator."""

    phase: str
    suspects: frozenset[int]
    heard: frozenset[int]  # participants whose Report arrived
    seen: frozenset[str]  # the phases those reports named
    stage: str
    acks: frozenset[int]  # participants that acked this backup's PreCommit


class Coord(NamedTuple):
    phase: str
    votes: frozenset[int]
    acks: frozenset[int]
    suspects: frozenset[int]


Out = tuple[Any, Sequence[Effect]] | None


def node_configs(rms: int) -> list[NodeConfig]:
    """Participant ``i`` is node ``i``, the coordinator node ``rms`` (as in 2PC): model and runtime alike."""
    ids = peers(rm=range(rms), tm=(rms,))
    return [NodeConfig(i, f"rm{i}", ids) for i in range(rms)] + [NodeConfig(rms, "tm", ids)]


def skeen_rule(seen: frozenset[str], own: str, otherwise: str = ABORTED) -> str:
    """Skeen's termination rule on the reported phases and the backup's own: where it moves everyone."""
    if ABORTED in seen or own == ABORTED:
        return ABORTED
    if COMMITTED in seen or own == COMMITTED:
        return COMMITTED
    if PRECOMMITTED in seen or own == PRECOMMITTED:
        return PRECOMMITTED  # pre-commit all, then commit
    return otherwise


class Participant(Node[Part]):
    role = "rm"

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.tm = config.ids("tm")[0]
        self.rm_ids = config.ids("rm")
        self.others = tuple(q for q in self.rm_ids if q != self.id)

    def state_type(self) -> Type:
        ids = Id("node", len(self.rm_ids) + 1)
        rm = SetOf(ids, self.others)
        return Record(Part, phase=Phase, suspects=SetOf(ids, (*self.others, self.tm)), heard=rm,
                      seen=SetOf(Phase, (PREPARED, PRECOMMITTED, COMMITTED, ABORTED)), stage=Stage, acks=rm)

    def on_start(self) -> tuple[Part, Sequence[Effect]]:
        return Part(WORKING, frozenset(), frozenset(), frozenset(), IDLE, frozenset()), ()

    # The phase survives a crash (the runtime's storage; crash-stop models never read it).
    def disk_type(self) -> Type:
        return Phase

    def durable(self, s: Part) -> str:
        return s.phase

    def on_recover(self, disk: str) -> tuple[Part, Sequence[Effect]]:
        return Part(disk, frozenset(), frozenset(), frozenset(), IDLE, frozenset()), ()

    def rule(self, s: Part) -> str:
        return skeen_rule(s.seen, s.phase)

    @transition()
    def vote_yes(self, s: Part) -> Out:
        if s.phase != WORKING:
            return None
        return s._replace(phase=PREPARED), (Persist(), Send(self.tm, Yes(self.id)))

    @transition()
    def vote_no(self, s: Part) -> Out:
        if s.phase != WORKING:
            return None
        return s._replace(phase=ABORTED), (Persist(), Send(self.tm, No(self.id)))

    def backup(self, suspects: frozenset[int]) -> int:
        """The lowest-numbered participant this one does not suspect (itself at the latest)."""
        for q in self.rm_ids:
            if q == self.id or q not in suspects:
                return q
        return self.id  # pragma: no cover (a participant never suspects itself)

    def is_backup(self, s: Part) -> bool:
        return self.tm in s.suspects and self.backup(s.suspects) == self.id

    def complete(self, s: Part, got: frozenset[int]) -> bool:
        """Whether every participant but this one is in ``got`` or suspected."""
        return all(q in got or q in s.suspects for q in self.others)

    @transition()
    def decide(self, s: Part) -> Out:
        """As backup, with every unsuspected participant's report: apply the termination rule."""
        if not (s.stage == IDLE and self.is_backup(s) and self.complete(s, s.heard)):
            return None
        to = self.rule(s)
        if to == PRECOMMITTED:
            return (s._replace(phase=PRECOMMITTED, stage=PRECOMMITTING),
                    (Persist(), Broadcast(self.others, PreCommit())))
        return self._finish(s, to)

    @transition()
    def commit(self, s: Part) -> Out:
        """As backup, once every unsuspected participant acked the PreCommit: commit."""
        if not (s.stage == PRECOMMITTING and self.complete(s, s.acks)):
            return None
        return self._finish(s, COMMITTED)

    def _finish(self, s: Part, to: str) -> Out:
        msg = DoCommit() if to == COMMITTED else Abort()
        return s._replace(phase=to, stage=DONE), (Persist(), Broadcast(self.others, msg))

    def on_message(self, s: Part, src: int, msg: Any) -> Out:
        if type(msg) is Suspect:
            return self.on_suspect(s, msg.peer)
        if src in s.suspects:
            return None
        if type(msg) is PreCommit:
            if s.phase not in (PREPARED, PRECOMMITTED):
                return None
            return s._replace(phase=PRECOMMITTED), (Persist(), Send(src, Ack(self.id)))
        if type(msg) is DoCommit:
            if s.phase not in (PREPARED, PRECOMMITTED):
                return None
            return s._replace(phase=COMMITTED), (Persist(),)
        if type(msg) is Abort:
            if s.phase in DECIDED:
                return None
            return s._replace(phase=ABORTED), (Persist(),)
        if type(msg) is Report:
            if s.stage != IDLE or (msg.rm in s.heard and msg.phase in s.seen):
                return None
            return s._replace(heard=s.heard | {msg.rm}, seen=s.seen | {msg.phase}), ()
        if type(msg) is Ack:  # pragma: no branch (a participant receives nothing else)
            if s.stage != PRECOMMITTING or msg.rm in s.acks:
                return None
            return s._replace(acks=s.acks | {msg.rm}), ()
        return None

    def on_suspect(self, s: Part, peer: int) -> Out:
        """The failure detector suspects ``peer``: start (or move) the termination protocol."""
        if peer in s.suspects:
            return None
        suspects = s.suspects | {peer}
        phase = ABORTED if self.tm in suspects and s.phase == WORKING else s.phase  # it never voted
        t = s._replace(phase=phase, suspects=suspects)
        if self.tm not in suspects:
            return t, ()
        to = self.backup(suspects)
        if to == self.id or (self.tm in s.suspects and to == self.backup(s.suspects)):
            return t, (Persist(),)
        return t, (Persist(), Send(to, Report(self.id, phase)))


class Coordinator(Node[Coord]):
    role = "tm"

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.rm_ids = config.ids("rm")

    def state_type(self) -> Type:
        rm = SetOf(Id("node", len(self.rm_ids) + 1), self.rm_ids)
        return Record(Coord, phase=CoordPhase, votes=rm, acks=rm, suspects=rm)

    def on_start(self) -> tuple[Coord, Sequence[Effect]]:
        return Coord(INIT, frozenset(), frozenset(), frozenset()), ()

    def disk_type(self) -> Type:
        return CoordPhase

    def durable(self, s: Coord) -> str:
        return s.phase

    def on_recover(self, disk: str) -> tuple[Coord, Sequence[Effect]]:
        return Coord(disk, frozenset(), frozenset(), frozenset()), ()

    @transition()
    def precommit(self, s: Coord) -> Out:
        """Every participant voted Yes: send PreCommit."""
        if not (s.phase == INIT and all(r in s.votes for r in self.rm_ids)):
            return None
        return s._replace(phase=PRECOMMITTING), (Persist(), Broadcast(self.rm_ids, PreCommit()))

    def may_commit(self, s: Coord) -> bool:
        return s.phase == PRECOMMITTING and all(r in s.acks or r in s.suspects for r in self.rm_ids)

    @transition()
    def commit(self, s: Coord) -> Out:
        """Every participant acked the PreCommit or is suspected: send DoCommit."""
        if not self.may_commit(s):
            return None
        return s._replace(phase=COMMITTED), (Persist(), Broadcast(self.rm_ids, DoCommit()))

    def _abort(self, s: Coord) -> Out:
        return s._replace(phase=ABORTED), (Persist(), Broadcast(self.rm_ids, Abort()))

    def on_message(self, s: Coord, src: int, msg: Any) -> Out:
        if type(msg) is Suspect:
            if msg.peer in s.suspects:
                return None
            t = s._replace(suspects=s.suspects | {msg.peer})
            return self._abort(t) if s.phase == INIT else (t, ())
        if src in s.suspects:
            return None
        if type(msg) is Yes:
            if s.phase != INIT or msg.rm in s.votes:
                return None
            return s._replace(votes=s.votes | {msg.rm}), ()
        if type(msg) is No:
            return self._abort(s) if s.phase == INIT else None
        if type(msg) is Ack:  # pragma: no branch (a coordinator receives nothing else)
            if s.phase != PRECOMMITTING or msg.rm in s.acks:
                return None
            return s._replace(acks=s.acks | {msg.rm}), ()
        return None


@dataclass(frozen=True)
class ThreePhaseConfig:
    rms: int = 3
    max_crashes: int = 1
    failures: str = CRASH  # "crash": a perfect failure detector; "partition": suspicion across a partition


class ThreePhase(CommitProperties, ActorSystem):
    """Three-phase commit with Skeen's termination protocol: a coordinator and ``rms`` participants."""

    name = "threephase"
    Config = ThreePhaseConfig

    def _validate_config(self) -> None:
        c = self.config
        if not 1 <= c.rms <= 8:
            raise ValueError("--rms must be between 1 and 8")
        if not 0 <= c.max_crashes <= c.rms + 1:
            raise ValueError("--max-crashes must be between 0 and the number of nodes")
        if c.failures not in (CRASH, PARTITION):
            raise ValueError(f"--failures must be {CRASH!r} or {PARTITION!r}, not {c.failures!r}")

    def faults(self) -> Faults:
        c = self.config
        return Faults(max_crashes=c.max_crashes, recovery=False,
                      max_partitions=1 if c.failures == PARTITION else 0)

    tm_class: type[Coordinator] = Coordinator
    rm_class: type[Participant] = Participant

    def nodes(self) -> list[Node[Any]]:
        *rms, tm = node_configs(self.config.rms)
        return [*(self.rm_class(c) for c in rms), self.tm_class(tm)]

    def message_type(self) -> Type:
        n = self.config.rms
        rm, node = Id("node", n), Id("node", n + 1)
        return Union(Record(Yes, rm=rm), Record(No, rm=rm), Record(PreCommit), Record(Ack, rm=rm),
                     Record(DoCommit), Record(Abort), Record(Report, rm=rm, phase=Phase),
                     Record(Suspect, peer=node))

    def envelopes(self) -> list[Envelope]:
        n = self.config.rms
        rms, tm = range(n), n
        bk = [(b, r) for b in rms for r in rms if b != r]  # backup b and participant r
        return (
            [Envelope(r, tm, Yes(r)) for r in rms] + [Envelope(r, tm, No(r)) for r in rms]
            + [Envelope(tm, r, m) for m in (PreCommit(), DoCommit(), Abort()) for r in rms]
            + [Envelope(b, r, m) for m in (PreCommit(), DoCommit(), Abort()) for b, r in bk]
            + [Envelope(r, tm, Ack(r)) for r in rms] + [Envelope(r, b, Ack(r)) for b, r in bk]
            + [Envelope(r, b, Report(r, p)) for b, r in bk for p in (PREPARED, PRECOMMITTED, COMMITTED, ABORTED)]
        )

    # ----- the failure detector -----
    def node_names(self) -> list[str]:
        return [n.name for n in self.node_list]

    def may_suspect(self, s: Any, node: int, peer: int) -> bool:
        """A perfect detector suspects only crashed peers; under partitions, also unreachable ones."""
        if self.config.failures == PARTITION:
            return peer in s.down or s.env.groups[node] != s.env.groups[peer]
        return peer in s.down

    @environment(node="node_names", peer="node_names")
    def suspect(self, s: Any, node: str, peer: str) -> Any:
        """``node``'s failure detector suspects ``peer``."""
        a, b = self.node(node).id, self.node(peer).id
        require(a != b and self.may_suspect(s, a, b))
        return self.deliver_now(s, Envelope(a, a, Suspect(b)))

    # ----- properties -----
    def rm_states(self, s: Any) -> tuple[str, ...]:
        return tuple(p.phase for p in s.nodes[: self.config.rms])

    def refinements(self) -> list[Refinement]:
        return [Refinement("refines_tcommit", TCommit(rms=self.config.rms), self._to_tcommit)]

    def _to_tcommit(self, s: Any) -> TC:
        return TC(tuple(PREPARED if p == PRECOMMITTED else p for p in self.rm_states(s)))

    # ----- liveness: 3PC's point -----
    def fairness(self) -> dict[str, str]:
        """Every node's own steps and deliveries are weakly fair, and so is the failure detector
        (a crashed or cut-off peer is eventually suspected); crashes and partitions never are."""
        return {**self.fair_steps("weak"), "env.suspect": "weak"}

    @eventually
    def nonblocking(self, s: Any) -> bool:
        """Every participant that has not crashed has committed or aborted."""
        return all(r in s.down or s.nodes[r].phase in DECIDED for r in range(self.config.rms))

    @terminal
    def finished(self, s: Any) -> bool:
        """A state with nothing left to do is a proper end once every live participant decided."""
        return self.nonblocking(s)

    @sometimes
    def committed_by_backup(self, s: Any) -> bool:
        """The coordinator crashed before committing and the termination protocol committed."""
        return s.nodes[self.config.rms].phase != COMMITTED and any(r == COMMITTED for r in self.rm_states(s))


class _WaitCommitParticipant(Participant):
    def rule(self, s: Part) -> str:
        return skeen_rule(s.seen, s.phase, otherwise=COMMITTED)


@variant("backup-commits-from-wait", breaks=("atomicity", "refines_tcommit"), defaults={"max_crashes": 2})
class BackupCommitsFromWait(ThreePhase):
    """The termination protocol commits when the backup knows only waiting (prepared) participants."""

    rm_class = _WaitCommitParticipant


class _TimeoutCommitParticipant(Participant):
    def on_suspect(self, s: Part, peer: int) -> Out:
        if peer == self.tm and s.phase == PREPARED:
            return s._replace(phase=COMMITTED, suspects=s.suspects | {peer}), (Persist(),)
        return super().on_suspect(s, peer)


@variant("commit-on-timeout", breaks=("atomicity", "refines_tcommit"))
class CommitOnTimeout(ThreePhase):
    """A participant waiting for the PreCommit commits when it times out on the coordinator."""

    rm_class = _TimeoutCommitParticipant


class _PatientBackup(Participant):
    def complete(self, s: Part, got: frozenset[int]) -> bool:
        return all(q in got for q in self.others)  # a crashed participant never reports


@variant("backup-waits-for-all", breaks="nonblocking", defaults={"max_crashes": 2})
class BackupWaitsForAll(ThreePhase):
    """The backup waits for a report from every participant, crashed ones included: 3PC blocks."""

    rm_class = _PatientBackup


#: The protocol's one declaration (see ``models.registry``): the proof by dotted path.
PROTOCOL = Protocol(
    "threephase", f"{__name__}:ThreePhase",
    summary="three-phase commit with Skeen's termination protocol (--failures crash|partition)",
    strengthening="protoproof.proofs.threephase:strengthening",
    service="protoproof.impl.threephase:SERVICE",
)


__all__ = [
    "CRASH", "PARTITION", "PRECOMMITTED", "PROTOCOL", "Abort", "Ack", "BackupCommitsFromWait", "BackupWaitsForAll",
    "CommitOnTimeout", "Coord", "Coordinator", "DoCommit", "No", "Part", "Participant", "PreCommit", "Report",
    "Suspect", "ThreePhase", "ThreePhaseConfig", "Yes", "node_configs", "skeen_rule",
]
