"""Log compaction for the Raft KV service: a log whose committed prefix is a snapshot.

A server that has applied its log up to ``k`` may replace entries 1..k by the KV state they
built (``SnapLog``): their terms stay known (as runs, a handful of numbers), their values do
not.  The model's handlers run on it unchanged as long as they read only terms below the base
(``last_term``, the previous-entry and conflict checks); the leader sends a follower whose
``nextIndex`` is at or below its base an ``InstallSnapshot`` instead.

What that is in the model: the leader's step ``send_snapshot(j, k)`` (``WideServer``) is
raft.tla's AppendEntries(i, j) with ``nextIndex[j]`` taken as 1 and a batch of ``k`` entries:
``AppendEntriesRequest(term, 0, 0, log[1..k], min(commitIndex, k))``; the follower's
``install`` is the model's handling of that request to its end (UpdateTerm, a candidate
stepping down, truncating to the longest matching prefix, appending, acknowledging ``k``),
computed at once, recorded as one ``repeat`` record that validation replays step by step.
"""

from __future__ import annotations

import json
from typing import Any

from ..models.actors import Effect, Persist, Send
from ..models.raft import CANDIDATE, FOLLOWER, LEADER, AppendEntriesRequest, AppendEntriesResponse, Entry
from ..models.schema import message
from .codec import Compacted, from_base

Runs = tuple[tuple[int, int], ...]  # (first 0-based index, term) for the compacted entries, increasing


class SnapLog(Compacted):
    """A Raft log compacted up to ``base``: the terms of entries 1..base as ``runs``, the KV
    state machine after them as ``snap`` (JSON text), then the entries after them."""

    __slots__ = ("runs", "snap")

    def __init__(self, base: int, runs: Runs, snap: str, tail: tuple[Any, ...] = ()) -> None:
        super().__init__(base, tail)
        self.runs, self.snap = runs, snap

    def front(self) -> Any:
        return {"runs": [list(r) for r in self.runs], "state": self.snap}

    @classmethod
    def restore(cls, base: int, front: Any, tail: tuple[Any, ...]) -> SnapLog:
        return cls(base, tuple((int(a), int(b)) for a, b in front["runs"]), str(front["state"]), tail)

    def compacted(self, index: int) -> Any:
        """Entry ``index`` as far as it is known: its term (the value is in the snapshot)."""
        return Entry(term_at(self.runs, index), None)  # type: ignore[arg-type]  # the value is compacted

    def with_tail(self, tail: tuple[Any, ...]) -> SnapLog:
        return SnapLog(self.base, self.runs, self.snap, tail)

    def same_front(self, other: object) -> bool:
        return (isinstance(other, SnapLog) and self.base == other.base and self.runs == other.runs
                and self.snap == other.snap)


def runs_of(log: Any, upto: int) -> Runs:
    """The term runs of entries ``[0, upto)`` of ``log`` (a tuple or a ``SnapLog``)."""
    base = from_base(log)
    runs = [r for r in log.runs if r[0] < upto] if isinstance(log, SnapLog) else []
    for k in range(base, upto):
        t = log[k].term
        if not runs or runs[-1][1] != t:
            runs.append((k, t))
    return tuple(runs)


def compact(log: Any, upto: int, snap: str) -> SnapLog:
    """``log`` with its first ``upto`` entries (applied: ``snap`` is the state they built) compacted."""
    return SnapLog(upto, runs_of(log, upto), snap, log[upto:])


def term_at(runs: Runs, index: int) -> int:
    """The term of entry ``index`` (0-based) in ``runs``."""
    term = 0
    for start, t in runs:
        if start > index:
            break
        term = t
    return term


@message
class InstallSnapshot:
    """The leader's log up to ``index`` as a snapshot: the terms (``runs``), the KV state
    (``state``), and the commit index the model's request carries (``commit``)."""

    term: int
    index: int
    runs: tuple[tuple[int, int], ...]
    state: str
    commit: int


def as_request(m: Any) -> Any:
    """The model's AppendEntries request an ``InstallSnapshot`` stands for (its entries compacted)."""
    entries: Any = SnapLog(m.index, tuple(m.runs), m.state)  # stands for the leader's first m.index entries
    return AppendEntriesRequest(m.term, 0, 0, entries, m.commit)


def install(s: Any, j: int, m: Any) -> tuple[Any, list[Effect]] | None:
    """The follower's state and effects once the model has handled ``as_request(m)`` to its end
    (what ``Server.on_message`` reaches, message kept and handled again, from ``s``); None where
    the model's handler does not take it (a leader of the same term)."""
    effects: list[Effect] = []
    if m.term > s.current_term:  # UpdateTerm
        s = s._replace(current_term=m.term, role=FOLLOWER, voted_for=None)
        effects.append(Persist())
    if m.term < s.current_term:
        return s, [*effects, Send(j, AppendEntriesResponse(s.current_term, False, 0))]
    if s.role == LEADER:
        return None
    if s.role == CANDIDATE:
        s = s._replace(role=FOLLOWER)
    log, k = s.log, m.index
    p, n = 0, min(k, len(log))
    while p < n and log[p].term == term_at(m.runs, p):
        p += 1
    if p < k:  # the model truncates to the matching prefix and appends the rest: the leader's first k
        s = s._replace(log=SnapLog(k, tuple(m.runs), m.state))
        if not effects:
            effects.append(Persist())
    s = s._replace(commit_index=m.commit)
    return s, [*effects, Send(j, AppendEntriesResponse(s.current_term, True, k))]


def snapshot_text(kv: dict[str, str], results: dict[str, str | None]) -> str:
    """The KV state machine as a snapshot."""
    return json.dumps({"kv": kv, "results": results}, separators=(",", ":"))


def from_snapshot(text: str) -> tuple[dict[str, str], dict[str, str | None]]:
    j = json.loads(text)
    return dict(j["kv"]), dict(j["results"])
