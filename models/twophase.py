"""Two-phase commit (Gray & Lamport, "Consensus on Transaction Commit"; ``TwoPhase.tla``).

A transaction manager (TM) and ``rms`` resource managers (RMs), written as nodes on the
unordered, duplicating network of the TLA+ spec: the message set only grows, so every sent
message can be received any number of times.  The semantics are exactly those of
``TwoPhase.tla`` (tlaplus/Examples, ``specifications/transaction_commit``):

- an RM prepares while working (sends ``Prepared(rm)``) or chooses to abort while working;
- the TM adds ``rm`` to ``prepared`` on receiving ``Prepared(rm)`` while ``init``; commits when
  ``init`` and every RM is prepared (sends ``Commit`` to all); aborts whenever ``init``;
- an RM receives ``Commit`` / ``Abort`` whenever that message exists, whatever its state.

The one representational difference is that a broadcast is one envelope per RM instead of
one message without an address; since all of them are added in one step and never removed,
reachable states correspond one to one, and the tests pin that the counts and depths equal
those of a direct transliteration of the TLA+ spec (TLC: 288 states for 3 RMs).

The TM is node ``rms`` and RM ``i`` is node ``i``, so ``Prepared(rm=i)`` names its sender.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .actors import ActorSystem, Broadcast, Effect, Envelope, Faults, Node, NodeConfig, Persist, Send, peers
from .base import Refinement, eventually, param, terminal, transition, variant
from .registry import Protocol
from .schema import Enum, Id, Record, SetOf, Type, Union, message
from .tcommit import ABORTED, COMMITTED, PREPARED, TC, WORKING, CommitProperties, RMState, TCommit

INIT = "init"
#: The most RMs ``check`` enumerates (the provers take any number).
ENUMERABLE_RMS = 12
TMState = Enum("TMState", INIT, COMMITTED, ABORTED)


@message
class Prepared:
    rm: int


@message
class Commit:
    pass


@message
class Abort:
    pass


class TM(NamedTuple):
    state: str
    prepared: frozenset[int]


Out = tuple[Any, Sequence[Effect]] | None


def node_configs(rms: int) -> list[NodeConfig]:
    """RM ``i`` is node ``i``, the TM node ``rms``: for the model and for the runtime alike."""
    ids = peers(rm=range(rms), tm=(rms,))
    return [NodeConfig(i, f"rm{i}", ids) for i in range(rms)] + [NodeConfig(rms, "tm", ids)]


class ResourceManager(Node[str]):
    role = "rm"
    symmetric = True

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.tm = config.ids("tm")[0]

    def state_type(self) -> Type:
        return RMState

    def on_start(self) -> tuple[str, Sequence[Effect]]:
        return WORKING, ()

    # An RM's vote and outcome survive a crash: it persists before it tells anyone.
    def disk_type(self) -> Type:
        return RMState

    def durable(self, s: str) -> str:
        return s

    def on_recover(self, disk: str) -> tuple[str, Sequence[Effect]]:
        return disk, ()

    @transition()
    def prepare(self, s: str) -> Out:
        if s != WORKING:
            return None
        return PREPARED, (Persist(), Send(self.tm, Prepared(self.id)))

    @transition()
    def choose_to_abort(self, s: str) -> Out:
        if s != WORKING:
            return None
        return ABORTED, (Persist(),)

    def on_message(self, s: str, src: int, msg: Any) -> Out:
        if type(msg) is Commit:
            return COMMITTED, (Persist(),)
        if type(msg) is Abort:  # pragma: no branch (an RM receives only Commit and Abort)
            return ABORTED, (Persist(),)
        return None


class TransactionManager(Node[TM]):
    role = "tm"

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.rm_ids = config.ids("rm")
        self.rms = len(self.rm_ids)

    def state_type(self) -> Type:
        return Record(TM, state=TMState, prepared=SetOf(Id("node", self.rms)))

    def on_start(self) -> tuple[TM, Sequence[Effect]]:
        return TM(INIT, frozenset()), ()

    # The decision survives a crash; the votes received before it do not (they are re-read).
    def disk_type(self) -> Type:
        return self.state_type()

    def durable(self, s: TM) -> TM:
        return s

    def on_recover(self, disk: TM) -> tuple[TM, Sequence[Effect]]:
        return disk, ()

    def can_commit(self, s: TM) -> bool:
        return s.state == INIT and len(s.prepared) == self.rms

    @transition()
    def commit(self, s: TM) -> Out:
        if not self.can_commit(s):
            return None
        return TM(COMMITTED, s.prepared), (Persist(), Broadcast(self.rm_ids, Commit()))

    @transition()
    def abort(self, s: TM) -> Out:
        if s.state != INIT:
            return None
        return TM(ABORTED, s.prepared), (Persist(), Broadcast(self.rm_ids, Abort()))

    def on_message(self, s: TM, src: int, msg: Any) -> Out:
        if type(msg) is not Prepared:  # pragma: no branch (a TM receives only Prepared)
            return None
        if s.state == INIT:
            return TM(s.state, s.prepared | {msg.rm}), ()
        return None


@dataclass(frozen=True)
class TwoPhaseConfig:
    rms: int = param(3, 1, None, "resource managers: check enumerates up to 12, prove takes any number")
    max_crashes: int = param(0, 0, None, "crashes in one run, each followed by a recovery from disk")


class TwoPhase(CommitProperties, ActorSystem):
    """Two-phase commit: a TM and ``rms`` RMs (TwoPhase.tla, as nodes)."""

    name = "twophase"
    Config = TwoPhaseConfig

    def enumeration_refusal(self) -> str | None:
        if self.config.rms > ENUMERABLE_RMS:
            return (f"--rms {self.config.rms} is too many to enumerate (2PC has 10,340,352 states at 9 RMs and "
                    f"grows about 6x per RM); `check` takes up to {ENUMERABLE_RMS}, `prove twophase --rms "
                    f"{self.config.rms}` has no such limit")
        return None

    def faults(self) -> Faults:
        return Faults(max_crashes=self.config.max_crashes)

    tm_class: type[TransactionManager] = TransactionManager
    rm_class: type[ResourceManager] = ResourceManager

    def nodes(self) -> list[Node[Any]]:
        *rms, tm = node_configs(self.config.rms)
        return [*(self.rm_class(c) for c in rms), self.tm_class(tm)]

    def message_type(self) -> Type:
        return Union(Record(Prepared, rm=Id("node", self.config.rms)), Record(Commit), Record(Abort))

    def envelopes(self) -> list[Envelope]:
        n = self.config.rms
        return (
            [Envelope(i, n, Prepared(i)) for i in range(n)]
            + [Envelope(n, i, Commit()) for i in range(n)]
            + [Envelope(n, i, Abort()) for i in range(n)]
        )

    def rm_states(self, s: Any) -> tuple[str, ...]:
        return s.nodes[: self.config.rms]

    def refinements(self) -> list[Refinement]:
        return [Refinement("refines_tcommit", TCommit(rms=self.config.rms), self._to_tcommit)]

    def _to_tcommit(self, s: Any) -> TC:
        return TC(self.rm_states(s))


class LiveTwoPhase(TwoPhase):
    """2PC with its liveness claim, opt-in so that ``twophase``'s own counts and verdicts stay put:
    every node's own steps weakly fair (crashes never; recovery is not fair either).  With
    ``--max-crashes 1`` it blocks: the TM crashes after the votes and the prepared RMs wait forever.

    ``protoproof check protoproof.models.twophase:LiveTwoPhase --rms 3 --max-crashes 1``
    """

    name = "twophase-live"

    def fairness(self) -> dict[str, str]:
        return self.fair_steps("weak")

    @eventually
    def nonblocking(self, s: Any) -> bool:
        """Every RM that has not crashed has committed or aborted."""
        return all(r in (COMMITTED, ABORTED) or i in s.down for i, r in enumerate(self.rm_states(s)))

    @terminal
    def finished(self, s: Any) -> bool:
        """A state with nothing left to do is a proper end once every live RM decided."""
        return self.nonblocking(s)


class _CommitWithoutVotesTM(TransactionManager):
    def can_commit(self, s: TM) -> bool:
        return s.state == INIT


class _MajorityTM(TransactionManager):
    def can_commit(self, s: TM) -> bool:
        return s.state == INIT and 2 * len(s.prepared) > self.rms


@variant("commit-without-votes", breaks=("atomicity", "refines_tcommit"))
class CommitWithoutVotes(TwoPhase):
    """The TM commits without waiting for any Prepared: an RM that chose to abort disagrees."""

    tm_class = _CommitWithoutVotesTM


@variant("commit-on-majority", breaks=("atomicity", "refines_tcommit"))
class CommitOnMajority(TwoPhase):
    """The TM commits once a majority of RMs prepared, as if 2PC were a quorum protocol."""

    tm_class = _MajorityTM


class _ForgetfulRM(ResourceManager):
    def prepare(self, s: str) -> Out:
        if s != WORKING:
            return None
        return PREPARED, (Send(self.tm, Prepared(self.id)),)  # no Persist: the vote is volatile


@variant("volatile-vote", breaks=("atomicity", "refines_tcommit"), defaults={"max_crashes": 1})
class VolatileVote(TwoPhase):
    """An RM votes Prepared without persisting it; after a crash it forgets and may abort.

    Only visible with crashes: its default is ``--max-crashes 1``.
    """

    rm_class = _ForgetfulRM


#: The protocol's one declaration (see ``models.registry``): proofs and runtime by dotted path.
PROTOCOL = Protocol(
    "twophase", f"{__name__}:TwoPhase",
    strengthening="protoproof.proofs.twophase:strengthening",
    service="protoproof.impl.tx:SERVICE",
)


__all__ = [
    "ABORTED",
    "COMMITTED",
    "INIT",
    "PREPARED",
    "PROTOCOL",
    "TM",
    "WORKING",
    "Abort",
    "Commit",
    "LiveTwoPhase",
    "Prepared",
    "TwoPhase",
    "TwoPhaseConfig",
    "node_configs",
]
