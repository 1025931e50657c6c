"""The abstract transaction-commit spec (Gray & Lamport, ``TCommit.tla``).

Each resource manager (RM) is working, prepared, committed or aborted.  An RM may prepare
while working; it may commit once it is prepared and every RM is prepared or committed; it
may abort while working or prepared as long as no RM has committed.  Two-phase commit
(``models.twophase``) and, later, three-phase commit refine this spec: every step they take,
seen through their RM states, is a step of TCommit or changes nothing.

Decide is split into ``decide_commit`` and ``decide_abort``; the successors are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .base import Model, always, explains, param, sometimes, transition
from .registry import Protocol
from .schema import Enum, Record, Type, Vec

WORKING = "working"
PREPARED = "prepared"
COMMITTED = "committed"
ABORTED = "aborted"
RMState = Enum("RMState", WORKING, PREPARED, COMMITTED, ABORTED)


class TC(NamedTuple):
    rm: tuple[str, ...]


@dataclass(frozen=True)
class TCommitConfig:
    rms: int = param(3, 1, None, "resource managers")


def consistent(rm: tuple[str, ...]) -> bool:
    """No RM has committed while another has aborted."""
    return not (ABORTED in rm and COMMITTED in rm)


def _names(items: list[str]) -> str:
    """``rm0``, ``rm0 and rm1``, ``rm0, rm1 and rm2``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class CommitProperties:
    """The properties every commit protocol states over its RMs' phases (``rm_states``):
    TCommit, 2PC and 3PC share them, so they state the same thing by construction."""

    def rm_states(self, s: Any) -> tuple[str, ...]:
        raise NotImplementedError

    @always
    def atomicity(self, s: Any) -> bool:
        """No RM committed while another aborted (TCConsistent)."""
        return consistent(self.rm_states(s))

    @explains("atomicity")
    def _why_not_atomic(self, s: Any) -> str:
        rms = self.rm_states(s)
        done = [f"rm{i}" for i, r in enumerate(rms) if r == COMMITTED]
        gone = [f"rm{i}" for i, r in enumerate(rms) if r == ABORTED]
        return f"{_names(done)} committed while {_names(gone)} aborted"

    @sometimes
    def all_committed(self, s: Any) -> bool:
        """Every RM committed."""
        return all(r == COMMITTED for r in self.rm_states(s))

    @sometimes
    def all_aborted(self, s: Any) -> bool:
        """Every RM aborted."""
        return all(r == ABORTED for r in self.rm_states(s))


class TCommit(CommitProperties, Model[TC]):
    """Transaction commit, as the specification every commit protocol must refine."""

    name = "tcommit"
    Config = TCommitConfig

    def schema(self) -> Type:
        return Record(TC, rm=Vec(RMState, self.config.rms, index="rm"))

    def symmetry(self) -> dict[str, list[list[int]]]:
        return {"rm": [list(range(self.config.rms))]}

    def rm_ids(self) -> range:
        return range(self.config.rms)

    def rm_states(self, s: TC) -> tuple[str, ...]:
        return s.rm

    def init(self) -> list[TC]:
        return [TC((WORKING,) * self.config.rms)]

    @staticmethod
    def _set(s: TC, rm: int, v: str) -> TC:
        return TC(s.rm[:rm] + (v,) + s.rm[rm + 1 :])

    @transition(rm="rm_ids")
    def prepare(self, s: TC, rm: int) -> TC | None:
        if s.rm[rm] != WORKING:
            return None
        return self._set(s, rm, PREPARED)

    @transition(rm="rm_ids")
    def decide_commit(self, s: TC, rm: int) -> TC | None:
        if not (s.rm[rm] == PREPARED and all(r in (PREPARED, COMMITTED) for r in s.rm)):
            return None
        return self._set(s, rm, COMMITTED)

    @transition(rm="rm_ids")
    def decide_abort(self, s: TC, rm: int) -> TC | None:
        if not (s.rm[rm] in (WORKING, PREPARED) and all(r != COMMITTED for r in s.rm)):
            return None
        return self._set(s, rm, ABORTED)


#: The protocol's one declaration (see ``models.registry``).
PROTOCOL = Protocol("tcommit", f"{__name__}:TCommit")
