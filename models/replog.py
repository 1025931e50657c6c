"""A toy replicated log: the spike for logs (``Seq``) in every engine, before Raft.

A leader appends entries to its log; each follower copies the leader's next entry onto its
own log and acknowledges the new length (``match``), or, if its log is not a prefix of the
leader's, truncates it to the longest common prefix (Raft's conflicting-suffix rule).  The
leader commits the entry at ``commit`` once every follower has acknowledged it, and may
retract its last entry while that entry is uncommitted (a leader change in Raft drops such an
entry), so a follower that copied it must truncate.  Safety: the committed prefix is never
retracted, and every follower's log agrees with the leader's on it.  The planted bug copies the
entry one position too early (an off-by-one index); the follower acknowledges it, the leader
commits it, and the followers disagree with the leader on a committed entry.

The state holds ``Seq`` values, so the z3 engines exercise a symbolic length, indexing by a
symbolic position (``leader[len(log)]``), slices with symbolic bounds and ``==`` on sequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .base import Model, always, sometimes, transition, variant
from .registry import Protocol
from .schema import Int, Record, Seq, Type, Vec


class RL(NamedTuple):
    leader: tuple[int, ...]
    logs: tuple[tuple[int, ...], ...]
    match: tuple[int, ...]  # the log length each follower acknowledged to the leader
    commit: int  # the leader's log[:commit] is committed


@dataclass(frozen=True)
class ReplogConfig:
    followers: int = 2
    maxlen: int = 2  # 3 has 10,739 states: `conform` compares them all and takes minutes
    values: int = 2


def is_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """``a`` is a prefix of ``b`` (written with ``len`` and a slice, so it runs on z3 as it is)."""
    return len(a) <= len(b) and b[: len(a)] == a


def common_prefix(a: tuple[int, ...], b: tuple[int, ...], maxlen: int) -> int:
    """The length of the longest common prefix of ``a`` and ``b`` (at most ``maxlen``)."""
    k = 0
    while k < maxlen and k < len(a) and k < len(b) and a[k] == b[k]:
        k += 1
    return k


class Replog(Model[RL]):
    """A leader's log replicated to followers that copy it entry by entry."""

    name = "replog"
    Config = ReplogConfig

    def _validate_config(self) -> None:
        c = self.config
        if c.followers < 1 or c.maxlen < 1 or c.values < 1:
            raise ValueError("--followers, --maxlen and --values must be at least 1")

    def schema(self) -> Type:
        c = self.config
        log = Seq(Int(0, c.values - 1), c.maxlen)
        return Record(RL, leader=log, logs=Vec(log, c.followers), match=Vec(Int(0, c.maxlen), c.followers),
                      commit=Int(0, c.maxlen))

    def follower_ids(self) -> range:
        return range(self.config.followers)

    def value_ids(self) -> range:
        return range(self.config.values)

    def init(self) -> list[RL]:
        n = self.config.followers
        return [RL((), ((),) * n, (0,) * n, 0)]

    @staticmethod
    def _set(s: RL, f: int, log: tuple[int, ...]) -> RL:
        """Follower ``f``'s log becomes ``log`` (its acknowledgement unchanged)."""
        return RL(s.leader, s.logs[:f] + (log,) + s.logs[f + 1 :], s.match, s.commit)

    @staticmethod
    def _acked(s: RL, f: int, log: tuple[int, ...]) -> RL:
        """Follower ``f``'s log becomes ``log`` and it acknowledges the new length."""
        return RL(s.leader, s.logs[:f] + (log,) + s.logs[f + 1 :],
                  s.match[:f] + (len(log),) + s.match[f + 1 :], s.commit)

    @transition(v="value_ids")
    def append(self, s: RL, v: int) -> RL | None:
        """The leader appends a value while its log has room."""
        if len(s.leader) >= self.config.maxlen:
            return None
        return RL(s.leader + (v,), s.logs, s.match, s.commit)

    @transition()
    def retract(self, s: RL) -> RL | None:
        """The leader drops its last entry while it is uncommitted; acknowledgements beyond it lapse."""
        n = len(s.leader)
        if n <= s.commit:
            return None
        return RL(s.leader[: n - 1], s.logs, tuple(m if m < n - 1 else n - 1 for m in s.match), s.commit)

    @transition()
    def commit_next(self, s: RL) -> RL | None:
        """The leader commits its next entry once every follower has acknowledged it."""
        if not (s.commit < len(s.leader) and all(m > s.commit for m in s.match)):
            return None
        return RL(s.leader, s.logs, s.match, s.commit + 1)

    def next_entry(self, s: RL, f: int) -> int:
        """The leader's entry that follower ``f`` copies next."""
        return s.leader[len(s.logs[f])]

    @transition(f="follower_ids")
    def copy(self, s: RL, f: int) -> RL | None:
        """Follower ``f`` copies the leader's next entry when its log is a shorter prefix."""
        log = s.logs[f]
        if not (len(log) < len(s.leader) and is_prefix(log, s.leader)):
            return None
        return self._acked(s, f, log + (self.next_entry(s, f),))

    @transition(f="follower_ids")
    def truncate(self, s: RL, f: int) -> RL | None:
        """Follower ``f`` drops the suffix that conflicts with the leader's log."""
        log = s.logs[f]
        if is_prefix(log, s.leader):
            return None
        return self._set(s, f, log[: common_prefix(log, s.leader, self.config.maxlen)])

    @always
    def committed_never_retracted(self, s: RL) -> bool:
        """The leader's log still holds every committed entry."""
        return s.commit <= len(s.leader)

    @always
    def followers_agree_on_committed(self, s: RL) -> bool:
        """Every follower's log holds the leader's committed prefix."""
        return all(is_prefix(s.leader[: s.commit], log) for log in s.logs)

    @sometimes
    def replicated(self, s: RL) -> bool:
        """Some follower holds a full log."""
        return any(len(log) == self.config.maxlen for log in s.logs)


@variant("copy-off-by-one", breaks="followers_agree_on_committed")
class CopyOffByOne(Replog):
    """The follower copies the entry before the one it needs (``leader[len(log) - 1]``)."""

    def next_entry(self, s: RL, f: int) -> int:
        return s.leader[len(s.logs[f]) - 1]


@variant("retract-committed", breaks="committed_never_retracted")
class RetractCommitted(Replog):
    """The leader retracts its last entry even when it is committed (the guard forgets ``commit``)."""

    @transition()
    def retract(self, s: RL) -> RL | None:
        n = len(s.leader)
        if n == 0:
            return None
        return RL(s.leader[: n - 1], s.logs, tuple(m if m < n - 1 else n - 1 for m in s.match), s.commit)


__all__ = ["RL", "CopyOffByOne", "Replog", "ReplogConfig", "RetractCommitted", "common_prefix", "is_prefix"]


#: The protocol's one declaration (see ``models.registry``).
PROTOCOL = Protocol("replog", f"{__name__}:Replog", summary="a toy replicated log: the Seq spike for Raft",
                    strengthening="protoproof.proofs.replog:strengthening",
                    service="protoproof.impl.replog:SERVICE")
