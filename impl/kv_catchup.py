"""Catch-up, compaction and learner rejoin for the Paxos KV store (``KVNode`` mixes this in).

- Catch-up in batches: a node asks one peer for the decided log from its first unapplied slot
  (``LogReq``); the peer answers with up to ``BATCH_BYTES`` of contiguous decided values in one
  frame (``Decided``), and the node asks for the next batch as soon as one arrives, writing each
  batch in one transaction.  Behind a peer's snapshot it gets the snapshot first (``Snap``).
- Compaction: every ``compact_every`` applied slots the state machine (the KV map and the
  recent command ids that make a command decided twice take effect once) becomes the snapshot,
  and the log entries, acceptor states and durable rows below it are dropped.  A Paxos message
  for a slot a node has decided is answered with the decision instead of a vote (so its
  acceptor, which may have forgotten that slot, never votes there again).
- Learner rejoin (``Service.learner``, ``recovery``): a node whose store was lost votes in no
  slot until it has caught up from a set of peers that meets every quorum it belongs to (for
  3 nodes: both others); from their reports it rebuilds, per undecided slot, the highest
  promise and the highest vote among them.  Any value chosen with its lost vote was also voted
  by one of those peers, with every higher vote for the same value (Paxos's invariant), so the
  rebuilt vote carries it; the rebuilt promise is at least any ballot a live proposer used.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Iterable
from typing import Any

from ..models.paxos import Acc
from ..models.schema import Bool, Int, OneOf, Record, Seq, Type, Union, message
from .codec import Frame, Text
from .storage import Store

log = logging.getLogger("protoproof.impl")

BIG = 2**53
#: Encoded bytes of decided values per ``Decided`` frame (frames are at most 1 MiB; one value
#: encodes to at most 8192 * 12 bytes, so a batch always has room for one).
BATCH_BYTES = 512 * 1024
BATCH_MAX = 4096
#: Characters of snapshot text per ``Snap`` frame (ASCII JSON: a frame's escaping at most doubles it).
SNAP_CHUNK = 100_000
#: Command ids kept in a snapshot for "decided twice takes effect once".
DEDUP = 8192


@message
class LogReq:
    """Send me the decided log from slot ``inst`` (the frame's instance) on."""


@message
class StateReq:
    """A rejoining learner's request (from slot ``inst``): the whole decided log from there, the
    acceptor state of every undecided slot, then ``StateEnd``; in one turn, so they agree."""


@message
class Decided:
    first: int
    vals: tuple[str, ...]
    more: bool


@message
class Snap:
    base: int
    part: int
    parts: int
    text: str


@message
class AccState:
    max_bal: int
    max_vbal: int
    max_val: str | None


@message
class StateEnd:
    next: int


def catchup_types(value: Type) -> list[Type]:
    """The wire records of the catch-up messages (``value``: a decided value's type)."""
    return [Record(LogReq), Record(StateReq),
            Record(Decided, first=Int(0, BIG), vals=Seq(value, BATCH_MAX), more=Bool),
            Record(Snap, base=Int(0, BIG), part=Int(0, 10_000), parts=Int(1, 10_000), text=Text(SNAP_CHUNK)),
            Record(AccState, max_bal=Int(-1, BIG), max_vbal=Int(-1, BIG), max_val=Union(OneOf(None), value)),
            Record(StateEnd, next=Int(0, BIG))]


class CatchUp:
    """The catch-up half of ``KVNode``: needs its log, KV map, results, host, store and quorums."""

    id: int
    n: int
    log: dict[int, str]
    kv: dict[str, str]
    results: dict[str, str | None]
    applied: int
    seen: dict[int, int]
    quorums: Any
    host: Any
    store: Any
    learner: bool
    compact_every = 4096

    def catchup_init(self) -> None:
        #: Slots below ``base`` are in the snapshot: no log entry, no acceptor state.
        self.base = 0
        #: The snapshot as stored (kept here: the store is not read while a group commit runs).
        self.snapshot_text: str | None = None
        self.caught_up = asyncio.Event()
        self._snap_parts: dict[int, list[str | None]] = {}
        self._reports: dict[int, dict[int, AccState]] = {}
        self._answered: dict[int, dict[int, AccState]] = {}

    # ----- given by the service (``Service``, ``KVNode``; it comes first in the bases) -----
    def reply(self, dst: int, inst: int, msg: Any) -> None:
        raise NotImplementedError

    def _apply(self) -> None:
        raise NotImplementedError

    def rejoined(self) -> None:
        raise NotImplementedError

    def halt(self, why: str) -> None:
        raise NotImplementedError

    # ----- recovery from the own disk -----
    def load_snapshot(self) -> None:
        j = self.store.meta_get("snapshot")
        if j is not None:
            self.snapshot_text = j
            self._install(json.loads(j))

    def _install(self, snap: dict[str, Any]) -> None:
        base = int(snap["base"])
        if base <= self.applied:
            return
        self.kv = dict(snap["kv"])
        self.results = dict(snap["results"])
        self.applied = self.base = base
        for s in [s for s in self.log if s < base]:
            del self.log[s]
        self.host.forget(base)

    def peers(self) -> list[int]:
        return [i for i in range(self.n) if i != self.id]

    def ask(self, peer: int | None = None) -> None:
        """Ask one peer (a random one by default) for the decided log from the first unapplied slot."""
        ps = self.peers()
        if ps:
            self.reply(peer if peer is not None else random.choice(ps), self.applied, LogReq())

    # ----- serving a catch-up -----
    def send_log(self, dst: int, first: int, whole: bool = False) -> int:
        """The decided log from ``first`` on: one batch (``whole``: every batch up to the first
        slot not decided here) after the snapshot if ``first`` is below it.  Returns the slot
        after the last one sent."""
        if first < self.base:
            snap = self.snapshot_text
            if snap is not None:
                parts = [snap[k:k + SNAP_CHUNK] for k in range(0, len(snap), SNAP_CHUNK)]
                base = int(json.loads(snap)["base"])
                for k, text in enumerate(parts):
                    self.reply(dst, 0, Snap(base, k, len(parts), text))
                first = base
        while True:
            vals: list[str] = []
            size, s = 0, first
            while s in self.log and size < BATCH_BYTES and len(vals) < BATCH_MAX:
                v = self.log[s]
                vals.append(v)
                size += len(json.dumps(v)) + 1  # as the frame will carry it
                s += 1
            more = s in self.log
            self.reply(dst, first, Decided(first, tuple(vals), more))
            if not (whole and more):
                return s
            first = s

    def send_state(self, dst: int, first: int) -> None:
        """A learner's ``StateReq``: the log, the acceptor state of every slot it did not get
        decided (after a hole in the log too), the end."""
        sent = self.send_log(dst, first, whole=True)
        for slot, st in list(self.host.states.items()):
            if slot >= self.base and (slot not in self.log or slot >= sent) and isinstance(st, Acc) \
                    and st.max_bal >= 0:
                self.reply(dst, slot, AccState(st.max_bal, st.max_vbal, st.max_val))  # type: ignore[arg-type]
        self.reply(dst, 0, StateEnd(max(self.log, default=-1) + 1))

    # ----- receiving -----
    def on_catchup(self, f: Frame) -> bool:
        """Handle a catch-up frame from a node; False if it is not one."""
        m = f.msg
        if type(m) is LogReq:
            self.send_log(f.src, f.inst)
        elif type(m) is StateReq:
            self.send_state(f.src, f.inst)
        elif type(m) is Decided:
            self.learn_batch(m.first, m.vals)
            if m.more and not self.learner:
                self.ask(f.src)  # the next batch at once
            elif not m.more:
                self.caught_up.set()
        elif type(m) is Snap:
            self._snap_part(m)
        elif type(m) is AccState:
            self._reports.setdefault(f.src, {})[f.inst] = m
        elif type(m) is StateEnd:
            self._answered[f.src] = self._reports.pop(f.src, {})
            if self.learner:
                self._try_rejoin()
        else:
            return False
        return True

    def learn_batch(self, first: int, vals: Iterable[str]) -> None:
        """Learn consecutive decided slots; the new ones are written in one transaction."""
        new = []
        for k, v in enumerate(vals):
            slot = first + k
            if slot < self.base:
                continue
            old = self.log.get(slot)
            if old is None:
                self.log[slot] = v
                new.append((slot, v))
            elif old != v:
                self.halt(f"slot {slot} decided twice: {old!r} then {v!r}")
                return
        if new:
            self.host.stage(Store.log_statements(new))  # one transaction (the group's)
            self._apply()

    def _snap_part(self, m: Snap) -> None:
        if m.base <= self.applied:
            return
        got = self._snap_parts.setdefault(m.base, [None] * m.parts)
        if len(got) != m.parts or m.part >= m.parts:
            return
        got[m.part] = m.text
        if all(p is not None for p in got):
            del self._snap_parts[m.base]
            text = "".join(p for p in got if p is not None)
            self.host.stage(Store.compact_statements(m.base, {"snapshot": text}))
            self.snapshot_text = text
            self._install(json.loads(text))
            self._apply()

    # ----- compaction -----
    def maybe_compact(self) -> None:
        """Snapshot the state machine and drop what lies below it, every ``compact_every`` slots."""
        if self.applied - self.base < self.compact_every or self.learner:
            return
        base = self.applied
        if len(self.results) > DEDUP:
            self.results = dict(list(self.results.items())[-DEDUP:])
        snap = json.dumps({"base": base, "kv": self.kv, "results": self.results})
        self.host.stage(Store.compact_statements(base, {"snapshot": snap}))
        self.snapshot_text = snap
        for s in [s for s in self.log if s < base]:
            del self.log[s]
        for s in [s for s in self.seen if s < base]:
            del self.seen[s]
        self.host.forget(base)
        self.base = base

    # ----- rejoining as a learner -----
    def request_state(self) -> None:
        for p in self.peers():
            self.reply(p, self.applied, StateReq())

    def _try_rejoin(self) -> None:
        """Rebuild the undecided slots' acceptor states and vote again, once the peers that
        answered meet every quorum this node is in."""
        got = set(self._answered)
        if not all((q - {self.id}) & got for q in self.quorums if self.id in q):
            return
        rebuilt: dict[int, Acc] = {}
        for reports in self._answered.values():
            for slot, r in reports.items():
                if slot in self.log or slot < self.base:
                    continue
                old = rebuilt.get(slot, Acc(-1, -1, None))
                vote = (r.max_vbal, r.max_val) if r.max_vbal > old.max_vbal else (old.max_vbal, old.max_val)
                rebuilt[slot] = Acc(max(old.max_bal, r.max_bal), vote[0], vote[1])  # type: ignore[arg-type]
        for slot, a in sorted(rebuilt.items()):
            self.host.adopt(slot, a)
        self.rejoined()
        log.warning("node %s: caught up to slot %s from nodes %s; %s undecided slot(s) rebuilt",
                    self.id, self.applied, sorted(got), len(rebuilt))
