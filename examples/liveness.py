"""Liveness with fairness: starvation in a lock, blocking in 2PC, progress in Paxos.

User models (this file is not part of the package) that add liveness properties and fairness to
shipped models, each with the answer the checker gives and why:

    protoproof check examples/liveness.py:WeakMutex      # starvation: a lasso (weak fairness)
    protoproof check examples/liveness.py:StrongMutex    # no starvation under strong fairness
    protoproof check examples/liveness.py:LiveTwoPhase --rms 5                  # every RM decides
    protoproof check examples/liveness.py:LiveTwoPhase --rms 3 --max-crashes 1  # blocking: TM crash
    protoproof check examples/liveness.py:LivePaxos      # a value is chosen (ballots are bounded)
    protoproof check examples/liveness.py:LazyLeaderPaxos  # leaders not fair: nothing chosen, a lasso
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from protoproof.models.base import Model, eventually, leads_to, require, sometimes, transition
from protoproof.models.paxos import Paxos
from protoproof.models.schema import Bool, Enum, Record, Type, Vec
from protoproof.models.tcommit import ABORTED, COMMITTED
from protoproof.models.twophase import TwoPhase

IDLE, WAITING, CRITICAL = "idle", "waiting", "critical"
PC = Enum("PC", IDLE, WAITING, CRITICAL)


class LockState(NamedTuple):
    pc: tuple[str, ...]
    locked: bool


@dataclass(frozen=True)
class LockConfig:
    procs: int = 3


class WeakMutex(Model[LockState]):
    """A test-and-set lock (as examples/mutex.py) whose ``acquire`` and ``release`` are weakly
    fair: a waiting process may still starve, its ``acquire`` being enabled only while the lock
    is free, not continuously.  ``request`` is not fair: a process may stay idle."""

    name = "weak-mutex"
    Config = LockConfig

    def schema(self) -> Type:
        return Record(LockState, pc=Vec(PC, self.config.procs, index="proc"), locked=Bool)

    def processes(self) -> range:
        return range(self.config.procs)

    def init(self) -> list[LockState]:
        return [LockState((IDLE,) * self.config.procs, False)]

    @staticmethod
    def _set(s: LockState, p: int, pc: str, locked: bool) -> LockState:
        return LockState(s.pc[:p] + (pc,) + s.pc[p + 1:], locked)

    @transition(p="processes")
    def request(self, s: LockState, p: int) -> LockState:
        require(s.pc[p] == IDLE)
        return self._set(s, p, WAITING, s.locked)

    @transition(p="processes", fair="weak")
    def acquire(self, s: LockState, p: int) -> LockState:
        require(s.pc[p] == WAITING and not s.locked)
        return self._set(s, p, CRITICAL, True)

    @transition(p="processes", fair="weak")
    def release(self, s: LockState, p: int) -> LockState:
        require(s.pc[p] == CRITICAL)
        return self._set(s, p, IDLE, False)

    @sometimes
    def someone_enters(self, s: LockState) -> bool:
        return CRITICAL in s.pc

    def waiting(self, s: LockState) -> bool:
        return WAITING in s.pc

    @leads_to("waiting")
    def someone_gets_in(self, s: LockState) -> bool:
        """Whenever a process waits, some process is then in its critical section (holds)."""
        return CRITICAL in s.pc

    def first_waits(self, s: LockState) -> bool:
        return s.pc[0] == WAITING

    @leads_to("first_waits")
    def first_enters(self, s: LockState) -> bool:
        """Process 0, once waiting, enters its critical section (starvation-freedom for it)."""
        return s.pc[0] == CRITICAL


class StrongMutex(WeakMutex):
    """The same lock with ``acquire`` strongly fair: enabled infinitely often, so taken."""

    name = "strong-mutex"

    @transition(p="processes", fair="strong")
    def acquire(self, s: LockState, p: int) -> LockState:
        require(s.pc[p] == WAITING and not s.locked)
        return self._set(s, p, CRITICAL, True)


class LiveTwoPhase(TwoPhase):
    """2PC with every node's own steps weakly fair (crashes never are, recovery is not)."""

    name = "live-twophase"

    def fairness(self) -> dict[str, str]:
        return self.fair_steps("weak")

    @eventually
    def up_rms_decide(self, s: Any) -> bool:
        """Every RM that is up has committed or aborted: false when the TM crashes after the votes."""
        return all(r in (COMMITTED, ABORTED) or i in s.down for i, r in enumerate(self.rm_states(s)))


class LivePaxos(Paxos):
    """Paxos with every node's own steps weakly fair: a value is chosen, since with ballots
    bounded the highest ballot's leader cannot be preempted (with unbounded ballots, dueling
    leaders could go on forever: FLP)."""

    name = "live-paxos"

    def fairness(self) -> dict[str, str]:
        return self.fair_steps("weak")

    @eventually
    def decides(self, s: Any) -> bool:
        """Some value is chosen."""
        return bool(self.chosen(s))


class LazyLeaderPaxos(LivePaxos):
    """Only the acceptors' steps are fair: a leader may never start its ballot, and nothing is chosen."""

    name = "lazy-leader-paxos"

    def fairness(self) -> dict[str, str]:
        return self.fair_steps("weak", roles=["acceptor"])
