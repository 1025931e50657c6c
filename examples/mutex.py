"""A test-and-set lock: ``procs`` processes share one critical section.

A plain model, written as a user of protoproof would write one (this file is not part of the
package). Each process is idle, waiting or critical; it enters by taking the lock in one atomic
step and leaves by releasing it. The planted bug ``check-then-set`` splits "see the lock free"
from "take it", so two processes can both see it free and both enter.

    protoproof check examples/mutex.py:Mutex --procs 3
    protoproof check examples/mutex.py:Mutex --variant check-then-set
    protoproof prove examples/mutex.py:Mutex          # uses the strengthening declared below
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from protoproof.models.base import Model, always, require, sometimes, transition, variant
from protoproof.models.registry import Protocol
from protoproof.models.schema import Bool, Enum, Record, Type, Vec

IDLE, WAITING, CRITICAL = "idle", "waiting", "critical"
PC = Enum("PC", IDLE, WAITING, CRITICAL)


class MutexState(NamedTuple):
    pc: tuple[str, ...]  # each process's program counter
    locked: bool


@dataclass(frozen=True)
class MutexConfig:
    procs: int = 3  # becomes the command-line option --procs


class Mutex(Model[MutexState]):
    """A test-and-set lock: at most one process is ever in its critical section."""

    name = "mutex"
    Config = MutexConfig

    def _validate_config(self) -> None:
        if not 1 <= self.config.procs <= 8:
            raise ValueError("--procs must be between 1 and 8")

    def schema(self) -> Type:
        return Record(MutexState, pc=Vec(PC, self.config.procs, index="proc"), locked=Bool)

    def symmetry(self) -> dict[str, list[list[int]]]:
        return {"proc": [list(range(self.config.procs))]}  # processes are interchangeable

    def processes(self) -> range:
        return range(self.config.procs)

    def init(self) -> list[MutexState]:
        return [MutexState((IDLE,) * self.config.procs, False)]

    @staticmethod
    def _set(s: MutexState, p: int, pc: str, locked: bool) -> MutexState:
        return MutexState(s.pc[:p] + (pc,) + s.pc[p + 1:], locked)

    @transition(p="processes")
    def request(self, s: MutexState, p: int) -> MutexState:
        require(s.pc[p] == IDLE)
        return self._set(s, p, WAITING, s.locked)

    @transition(p="processes")
    def acquire(self, s: MutexState, p: int) -> MutexState:
        require(s.pc[p] == WAITING and not s.locked)
        return self._set(s, p, CRITICAL, True)

    @transition(p="processes")
    def release(self, s: MutexState, p: int) -> MutexState:
        require(s.pc[p] == CRITICAL)
        return self._set(s, p, IDLE, False)

    @always
    def mutual_exclusion(self, s: MutexState) -> bool:
        """At most one process is in its critical section."""
        return sum(1 for pc in s.pc if pc == CRITICAL) <= 1

    @sometimes
    def someone_enters(self, s: MutexState) -> bool:
        """Some process reaches its critical section (the model is not vacuous)."""
        return any(pc == CRITICAL for pc in s.pc)


CHECKED = "checked"  # the planted bug's extra step: saw the lock free, has not taken it yet


@variant("check-then-set", breaks="mutual_exclusion")
class CheckThenSet(Mutex):
    """Seeing the lock free and taking it are two steps: two processes can both get in."""

    def schema(self) -> Type:
        pc = Enum("PC", IDLE, WAITING, CHECKED, CRITICAL)
        return Record(MutexState, pc=Vec(pc, self.config.procs, index="proc"), locked=Bool)

    @transition(p="processes")
    def check(self, s: MutexState, p: int) -> MutexState:
        require(s.pc[p] == WAITING and not s.locked)
        return self._set(s, p, CHECKED, s.locked)

    @transition(p="processes")
    def acquire(self, s: MutexState, p: int) -> MutexState:
        require(s.pc[p] == CHECKED)  # the lock is not looked at again
        return self._set(s, p, CRITICAL, True)


def strengthening(model: Mutex) -> list[Callable[[MutexState], bool]]:
    """What makes mutual exclusion inductive: on its own it is not (two waiting processes, the
    lock free and one of them already inside is a state it allows, and one step breaks it)."""

    def locked_iff_someone_inside(s: MutexState) -> bool:
        """The lock is held exactly when some process is in its critical section."""
        return s.locked == any(pc == CRITICAL for pc in s.pc)

    return [locked_iff_someone_inside]


#: What `protoproof prove` finds for a model of this file (no registration needed).
PROTOCOL = Protocol("mutex", Mutex, strengthening=strengthening)
