"""The asyncio host: runs a model ``Node``'s very handlers and interprets their effects.

One host serves one node id and any number of *instances* of the node's protocol (a log
slot, a transaction), each with its own local state; instance 0 is the single-instance
case the checker explores.  Effects are interpreted in the order the handler returned them:

- ``Persist``: the instance's ``durable(state)`` is written to sqlite and committed (fsync)
  *before* the host looks at the next effect, so a ``Send`` after it never overtakes it; a
  ``Log`` field of a durable record is written as its change (entries appended from the first
  one that differs, the rest truncated), not rewritten whole;
- ``Send``/``Broadcast``: frames through the transport (to itself: delivered on the loop);
- ``SetTimer``/``CancelTimer``: ``loop.call_later`` handles keyed by (instance, timer); the delay
  is drawn from the node's declared ``timer_ranges`` with the host's generator (``rng``: seed
  it, or inject one, for reproducible runs), else taken from ``timer_delays`` (default 1 s).

With ``group_commit`` the Persists of one event-loop turn are committed together (one
transaction, one fsync, in the host's worker thread while the loop goes on; the steps taken
meanwhile form the next batch) and every send and trace line from the first pending Persist on
waits for that commit: what the model allows, since a crash before it is a crash before those
steps.  While a commit runs, nothing else may use the host's store: a service's own
writes go into the next group's transaction (``stage``).

Every step can be recorded (``Tracer``): received message, state before, state after and
effects, which is what ``validate`` replays through the model.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from ..models.actors import Broadcast, CancelTimer, Effect, Keep, Node, Persist, Send, SetTimer
from ..models.base import Disabled
from ..models.schema import Record, Type
from .clock import NodeClock
from .codec import Compacted, Frame, Log, from_wire, log_change, to_trace, to_wire
from .storage import Store
from .transport import Transport

L = TypeVar("L")
log = logging.getLogger("protoproof.impl")


class Tracer:
    """Appends one JSON line per step to ``<dir>/node<id>.jsonl`` (flushed, so kill -9 keeps it)."""

    def __init__(self, directory: str | Path, node_id: int) -> None:
        self.path = self.file_of(directory, node_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.f: IO[str] = open(self.path, "a")  # noqa: SIM115 - kept open for the node's life
        self.seq = 0

    @staticmethod
    def file_of(directory: str | Path, node_id: int) -> Path:
        return Path(directory) / f"node{node_id}.jsonl"

    def stamp(self, rec: dict[str, Any]) -> dict[str, Any]:
        """Give ``rec`` its sequence number (before it is stored anywhere)."""
        self.seq += 1
        rec["seq"] = self.seq
        return rec

    def write(self, rec: dict[str, Any]) -> None:
        if "seq" not in rec:
            self.stamp(rec)
        self.f.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self.f.flush()

    def restore(self, recs: list[dict[str, Any]]) -> int:
        """Append those of ``recs`` the file does not have: a kill -9 after the sqlite commit
        of a step (or of a group commit's steps, ``Host.group_commit``) and before their trace
        lines.  Only those can be missing (the loop writes them right after the commit).
        Returns how many were appended."""
        if not recs:
            return 0
        with open(self.path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 65536))
            tail = f.read()
        last: tuple[int, int] = (-1, -1)
        for line in reversed(tail.splitlines()):
            try:
                j = json.loads(line)
                last = (int(j["t"]), int(j.get("seq", 0)))
                break
            except (ValueError, KeyError, TypeError):
                continue  # a line cut by kill -9, or a partial first line of the tail
        missing = [r for r in recs if (r["t"], r["seq"]) > last]
        if missing and tail and not tail.endswith(b"\n"):
            self.f.write("\n")  # end a line cut by kill -9
        for r in missing:
            self.write(r)
        return len(missing)

    def close(self) -> None:
        self.f.close()


def last_time(path: str | Path) -> tuple[int, bytes]:
    """The time of the last whole record of a trace file (-1: none), and the file's tail."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 65536))
        tail = f.read()
    for line in reversed(tail.splitlines()):
        try:
            return int(json.loads(line)["t"]), tail
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by kill -9, or a partial first line of the tail
    return -1, tail


class Host(Generic[L]):
    """One node: its handler object, its instances' states, its disk and its transport."""

    def __init__(self, node: Node[L], store: Store, msg_type: Type, *,
                 state_type: Type | None = None, disk_type: Type | None = None,
                 tracer: Tracer | None = None, timer_delays: Mapping[Any, float] | None = None,
                 send_before_persist: bool = False, persist_delay: float = 0.2,
                 rng: random.Random | None = None, incremental: bool = True,
                 clock: NodeClock | None = None, group_commit: bool = False) -> None:
        self.node, self.store, self.msg_type = node, store, msg_type
        #: What a ``reads_clock`` node's handlers get as ``now=`` (injectable: offsets, rate skew).
        self.clock = clock if clock is not None else NodeClock()
        self.id = node.id
        self.state_type = state_type if state_type is not None else node.state_type()
        self.disk_type = disk_type if disk_type is not None else node.disk_type()
        self.tracer = tracer
        self.timer_delays = dict(timer_delays or {})
        self.rng = rng if rng is not None else random.Random()
        #: Durable ``Log`` fields persisted as changes (``incremental=False``: rewritten whole).
        dt = self.disk_type
        self.log_fields = [n for n, ft in zip(dt.names, dt.parts, strict=True) if isinstance(ft, Log)] \
            if incremental and isinstance(dt, Record) else []
        self._persisted: dict[tuple[int, str], tuple[Any, ...]] = {}
        st = self.state_type
        self.state_logs = incremental and isinstance(st, Record) and any(isinstance(p, Log) for p in st.parts)
        self.states: dict[int, L] = {}
        self.timers: dict[tuple[int, Any], asyncio.TimerHandle] = {}
        self.transport: Transport | None = None
        #: The planted runtime bug: send first, persist a little later (a crash in between loses it).
        self.send_before_persist = send_before_persist
        self.persist_delay = persist_delay
        self.listeners: list[Callable[[int, str], None]] = []
        #: Group commit: the Persists of one event-loop turn in one transaction (``flush``).
        self.group_commit = group_commit
        self._pending: dict[int, L] = {}
        self._held_traces: list[dict[str, Any]] = []
        self._held_sends: list[tuple[int, int, Any]] = []
        self._held_after: list[Callable[[], None]] = []
        #: The service's own writes (a decided log, a snapshot) for the next group's transaction.
        self._staged: list[tuple[str, list[tuple[Any, ...]]]] = []
        self._flush_handle: asyncio.Handle | None = None
        self._committing: asyncio.Future[None] | None = None
        self._worker: ThreadPoolExecutor | None = None
        self.commits = 0
        self.steps = 0
        self.closed = False

    def attach(self, transport: Transport) -> None:
        self.transport = transport

    # ----- instances -----
    def has(self, inst: int) -> bool:
        return inst in self.states

    def state(self, inst: int) -> L:
        """The instance's state, started with ``on_start`` on first use."""
        s = self.states.get(inst)
        if s is None:
            s0, effects = self.node.on_start()
            self.states[inst] = s0
            rec = self._record(inst, "start", "start", None, s0, effects)
            self._interpret(inst, s0, effects, rec)
            return s0
        return s

    def recover(self) -> list[int]:
        """Rebuild every instance found on disk through ``on_recover``; returns their ids."""
        out = []
        if self.tracer is not None:
            self.tracer.restore(self.store.last_traced())
            boot: dict[str, Any] = {"t": time.time_ns(), "node": self.id, "inst": -1, "kind": "boot"}
            if self.node.reads_clock:  # how to read this node's clock at any trace time (``validate``)
                c = self.clock
                boot["clock"] = {**c.to_json(), "zero_ns": boot["t"] - round((c.source() - c.start) * 1e9)}
            self.tracer.write(boot)
        for inst, j in sorted(self.store.load().items()):
            fronts = {}
            for name in self.log_fields:
                front = self.store.front(inst, name)
                base = 0 if front is None else front[0]
                j[name] = self.store.entries(inst, name)[: j[name]["$len"] - base]
                if front is not None:
                    fronts[name] = front
            disk = from_wire(self.disk_type, j)
            for name, (base, front) in fronts.items():
                ft = self.disk_type.fields[name]  # type: ignore[attr-defined]
                disk = disk._replace(**{name: ft.compacted.restore(base, front, getattr(disk, name))})
            for name in self.log_fields:
                self._persisted[(inst, name)] = getattr(disk, name)
            s, effects = self.node.on_recover(disk)
            self.states[inst] = s
            rec = self._record(inst, "recover", "recover", None, s, effects, disk=j if not fronts else None)
            self._interpret(inst, s, effects, rec)
            out.append(inst)
        return out

    # ----- steps -----
    def deliver(self, src: int, inst: int, msg: Any) -> bool:
        """Run ``on_message``; False when the model's handler does not accept it in this state.

        A handler that answers ``Keep`` leaves the message in flight (the model handles it in
        several steps): it is delivered again at once, until a step consumes it, is not enabled,
        or keeps it without changing the state (a model that would loop).
        """
        ok = False
        while True:
            before = self.state(inst)
            try:
                r = self.node.on_message(before, src, msg, **(clk := self._now()))
            except Disabled:
                return ok
            if r is None:
                return ok
            self._commit(inst, "deliver", type(msg).__name__, before, r, src=src, msg=msg, **clk)
            ok = True
            if not any(type(e) is Keep for e in r[1]) or r[0] == before:
                return True

    def step(self, inst: int, name: str, **args: Any) -> bool:
        """Run the spontaneous step ``name`` (a ``@transition`` of the node); False if disabled."""
        before = self.state(inst)
        try:
            r = getattr(self.node, name)(before, **args, **(clk := self._now()))
        except Disabled:
            return False
        if r is None:
            return False
        self._commit(inst, "local", name, before, r, args=args, **clk)
        return True

    def deliver_whole(self, src: int, inst: int, msg: Any, after: L, effects: Sequence[Effect]) -> None:
        """A model message handled to its end by the service itself: ``after`` and ``effects``
        are what ``deliver``'s loop would reach (the handler keeping and handling it again),
        computed at once because the message holds a compacted log the handler cannot read
        entry by entry.  One record (``repeat``), which validation replays as that loop."""
        before = self.state(inst)
        self._commit(inst, "deliver", type(msg).__name__, before, (after, effects), src=src, msg=msg, repeat=True)

    def compact(self, inst: int, state: L) -> None:
        """Replace the instance's state by ``state``, the same state with a log compacted
        (``Compacted``), and persist it: not a step (the model state does not change), so no
        trace line; the next steps' lines refer to entries from the base on."""
        self.adopt(inst, state)

    def forget(self, below: int) -> int:
        """Drop the in-memory states of instances below ``below`` (their disk goes with the
        service's own compaction, ``Store.compact_statements``); returns how many were dropped."""
        gone = [i for i in self.states if i < below]
        for i in [i for i in self._pending if i < below]:
            del self._pending[i]  # not written after the compaction that drops its row
        for i in gone:
            del self.states[i]
            for name in self.log_fields:
                self._persisted.pop((i, name), None)
        return len(gone)

    def adopt(self, inst: int, state: L) -> None:
        """Make ``state`` the instance's state and persist it, outside any step (no trace line):
        a compaction, or a state rebuilt from peers by a node that lost its store."""
        self.states[inst] = state
        disk = self.node.durable(state)
        if self.group_commit and not self.send_before_persist:
            self._pending[inst] = state
            self._schedule_flush()
        else:
            j, logs = self._disk(inst, disk)
            self.store.put(inst, j, logs=logs)

    def traced_step(self, inst: int, name: str, inbox: frozenset[Any] = frozenset(),
                    **args: Any) -> Sequence[Effect] | None:
        """Run step ``name``, record it, and hand its effects back instead of interpreting them.

        For a service that sends them itself (a proposer that delivers to its own acceptor
        first); the step must leave the state as it is (nothing to persist).  ``inbox``: what a
        ``reads_inbox`` node's step reads.  None: the step is not enabled.
        """
        before = self.state(inst)
        fn = getattr(self.node, name)
        clk = self._now()
        try:
            r = fn(before, inbox, **args, **clk) if self.node.reads_inbox else fn(before, **args, **clk)
        except Disabled:
            return None
        if r is None:
            return None
        after, effects = r
        if after != before or any(isinstance(e, Persist) for e in effects):
            raise ValueError(f"{type(self.node).__name__}.{name} changes the state; run it with step()")
        self.steps += 1
        rec = self._record(inst, "local", name, before, after, effects, args=args, **clk)
        if rec is not None and self.group_commit and self._holding():
            self._held_traces.append(rec)  # after the held lines of earlier steps, in order
        else:
            self._trace(rec)
        return effects

    def deliver_now(self, inst: int, action: str, args: Mapping[str, Any], msg: Any) -> bool:
        """Hand ``msg`` to the node from outside the protocol (its failure detector's verdict), as
        the model's environment action ``action(**args)`` does (``ActorSystem.deliver_now``); recorded
        as that action.  False when the handler does not accept it in this state."""
        before = self.state(inst)
        try:
            r = self.node.on_message(before, self.id, msg, **(clk := self._now()))
        except Disabled:
            return False
        if r is None:
            return False
        self._commit(inst, "env", action, before, r, src=self.id, msg=msg, args=dict(args), **clk)
        return True

    def _fire(self, inst: int, timer: Any) -> None:
        self.timers.pop((inst, timer), None)
        before = self.state(inst)
        try:
            r = self.node.on_timeout(before, timer, **(clk := self._now()))
        except Disabled:
            return
        if r is not None:
            self._commit(inst, "timeout", repr(timer), before, r, timer=timer, **clk)

    def _now(self) -> dict[str, int]:
        """``{"now": clock}`` for a node that reads its clock, else nothing (the model's own keyword)."""
        return {"now": self.clock.now()} if self.node.reads_clock else {}

    def resend(self, dst: int, inst: int, msg: Any) -> None:
        """Send a message the node sent before (a retransmission: the same model envelope)."""
        if self.tracer is not None:
            self.tracer.write({"t": time.time_ns(), "node": self.id, "inst": inst, "kind": "resend",
                               "dst": dst, "msg": to_wire(self.msg_type, msg)})
        self._send(dst, inst, msg)

    def _commit(self, inst: int, kind: str, label: str, before: L,
                r: tuple[L, Sequence[Effect]], **info: Any) -> None:
        after, effects = r
        self.states[inst] = after
        self.steps += 1
        rec = self._record(inst, kind, label, before, after, effects, **info)
        self._interpret(inst, after, effects, rec)
        for f in self.listeners:
            f(inst, label)

    def _record(self, inst: int, kind: str, label: str, before: Any, after: Any,
                effects: Sequence[Effect], **info: Any) -> dict[str, Any] | None:
        """The step's trace record; ``_interpret`` writes it (after a Persist, before any send)."""
        if self.tracer is None:
            return None
        rec: dict[str, Any] = {"t": time.time_ns(), "node": self.id, "inst": inst, "kind": kind, "label": label,
                               "before": None if before is None else self._state_json(before, None, is_before=True),
                               "after": self._state_json(after, before),
                               "effects": [self._effect_json(e) for e in effects]}
        if "msg" in info:
            rec["src"], rec["msg"] = info["src"], to_trace(self.msg_type, info["msg"])
        if info.get("repeat"):
            rec["repeat"] = True
        if "args" in info:
            rec["args"] = info["args"]
        if "timer" in info:
            rec["timer"] = repr(info["timer"])
        if info.get("disk") is not None:
            rec["disk"] = info["disk"]
        if "now" in info:
            rec["now"] = info["now"]  # the clock the handler read, for replaying the step
        return self.tracer.stamp(rec)

    def _state_json(self, v: Any, before: Any, *, is_before: bool = False) -> Any:
        """A state for the trace; its ``Log`` fields as changes, so a line costs what the step did.

        The state before a step: a log as ``{"$len": n}`` (the replay has its entries); a state
        after ``before`` (None: a start or a recovery, a change from nothing): a log as
        ``{"$keep": k, "$add": [...]}``.
        """
        st = self.state_type
        if not self.state_logs:
            return to_wire(st, v)
        assert isinstance(st, Record)
        j: dict[str, Any] = {"$": st._kind} if st._kind is not None else {}
        for name, ft in zip(st.names, st.parts, strict=True):
            x = getattr(v, name)
            if not isinstance(ft, Log):
                j[name] = to_wire(ft, x)
            elif is_before:
                j[name] = {"$len": len(x)}
            elif isinstance(x, Compacted) and (before is None or not _same_front(getattr(before, name), x)):
                # compacted here, not by a step before: the replay's model has those entries
                j[name] = {"$front": x.base, "$add": [to_wire(ft.elem, e) for e in x.tail]}
            else:
                keep = 0 if before is None else log_change(getattr(before, name), x)
                j[name] = {"$keep": keep, "$add": [to_wire(ft.elem, e) for e in x[keep:]]}
        return j

    def _effect_json(self, e: Effect) -> dict[str, Any]:
        if isinstance(e, Send):
            return {"send": [e.dst], "msg": to_trace(self.msg_type, e.msg)}
        if isinstance(e, Broadcast):
            return {"send": list(e.dsts), "msg": to_trace(self.msg_type, e.msg)}
        if isinstance(e, Persist):
            return {"persist": True}
        if isinstance(e, SetTimer):
            return {"set_timer": repr(e.timer)}
        if isinstance(e, CancelTimer):
            return {"cancel_timer": repr(e.timer)}
        return {"keep": True}

    def _interpret(self, inst: int, state: L, effects: Sequence[Effect], rec: dict[str, Any] | None) -> None:
        """Run the effects in order.  The step's trace line ``rec`` is committed with its first
        Persist and written before its first send, so after a kill -9 the trace and the disk
        agree: a step whose Persist was lost is not in the trace, and sent nothing."""
        if self.group_commit and not self.send_before_persist:
            self._interpret_grouped(inst, state, effects, rec)
            return
        deferred = []
        for e in effects:
            if isinstance(e, Persist):
                disk, logs = self._disk(inst, self.node.durable(state))
                if self.send_before_persist:
                    deferred.append((disk, logs))
                else:
                    self.store.put(inst, disk, trace=rec, logs=logs)  # committed (fsync) before the next effect
                    rec = self._trace(rec)
            elif isinstance(e, (Send, Broadcast)):
                rec = self._trace(rec)
                for d in (e.dsts if isinstance(e, Broadcast) else (e.dst,)):
                    self._send(d, inst, e.msg)
            else:
                self._timer_effect(inst, e)
        self._trace(rec)
        for disk, logs in deferred:
            asyncio.get_running_loop().call_later(self.persist_delay, self._late_put, inst, disk, logs)

    def _timer_effect(self, inst: int, e: Effect) -> None:
        if isinstance(e, Keep):
            pass  # the message stays in flight: ``deliver`` delivers it again
        elif isinstance(e, SetTimer):
            self._set_timer(inst, e.timer)
        elif isinstance(e, CancelTimer):
            h = self.timers.pop((inst, e.timer), None)
            if h is not None:
                h.cancel()
        else:
            raise TypeError(f"{type(self.node).__name__} returned {e!r} as an effect")

    # ----- group commit -----
    def _interpret_grouped(self, inst: int, state: L, effects: Sequence[Effect], rec: dict[str, Any] | None) -> None:
        """``_interpret`` with the Persists of one event-loop turn committed together.

        A Persist notes the state to write (the one at this Persist: what the model's disk
        holds, not a later one); from the first pending Persist on, every send and trace line
        is held until ``flush`` has committed the batch (one transaction, one fsync), then
        released in order.  A kill -9 before that commit loses the batch's steps and every
        message they sent, which is the model's crash before those steps; after it, the trace
        lines are restored from the commit (``Tracer.restore``).
        """
        for e in effects:
            if isinstance(e, Persist):
                self._pending[inst] = state
                if rec is not None:
                    self._held_traces.append(rec)
                    rec = None
                self._schedule_flush()
            elif isinstance(e, (Send, Broadcast)):
                if self._holding():
                    if rec is not None:
                        self._held_traces.append(rec)
                        rec = None
                    for d in (e.dsts if isinstance(e, Broadcast) else (e.dst,)):
                        self._held_sends.append((d, inst, e.msg))
                else:
                    rec = self._trace(rec)
                    for d in (e.dsts if isinstance(e, Broadcast) else (e.dst,)):
                        self._send(d, inst, e.msg)
            else:
                self._timer_effect(inst, e)
        if rec is not None:
            if self._holding():
                self._held_traces.append(rec)
            else:
                self._trace(rec)

    def _schedule_flush(self) -> None:
        if self._flush_handle is None and self._committing is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self.flush)

    def _holding(self) -> bool:
        return bool(self._pending) or bool(self._staged) or self._committing is not None

    def stage(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        """A service's own durable write (``Store``'s ``*_statements``: a decided slot, a
        snapshot): with group commit, part of the next group's transaction, and every send and
        ``after_commit`` from now on waits for that commit; without it, committed now (one
        transaction, one fsync).  Never a write of its own beside a group commit: the store's
        one connection may be in the worker's transaction."""
        if self.group_commit and not self.send_before_persist:
            self._staged.extend(statements)
            self._schedule_flush()
        else:
            self.store.write_batch(statements)

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once what the steps so far persisted is on disk (now, if nothing is pending):
        a service's reply that reveals a step's result must not overtake the step's commit."""
        if self._holding():
            self._held_after.append(fn)
        else:
            fn()

    def flush(self) -> None:
        """Start committing the pending Persists in one transaction, in the host's worker thread
        (the loop goes on handling messages meanwhile; their steps form the next batch); when it
        is done, write the held trace lines and send the held messages, in the order the steps
        produced them."""
        self._flush_handle = None
        if self.closed or not (self._pending or self._staged) or self._committing is not None:
            return
        items = []
        for inst, st in self._pending.items():
            disk, logs = self._disk(inst, self.node.durable(st))
            items.append((inst, disk, logs))
        self._pending.clear()
        traces = list(self._held_traces) if self.tracer is not None else []
        held = (self._held_traces, self._held_sends, self._held_after)
        self._held_traces, self._held_sends, self._held_after = [], [], []
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix=f"commit-{self.id}")
        statements = self.store.batch(items, traces) + self._staged  # serialised here: the thread holds the GIL little
        self._staged = []
        fut = asyncio.get_running_loop().run_in_executor(self._worker, self.store.write_batch, statements)
        self._committing = fut
        fut.add_done_callback(lambda f: self._committed(f, held))

    def _committed(self, fut: asyncio.Future[None], held: tuple[list[Any], list[Any], list[Any]]) -> None:
        self._committing = None
        if self.closed:
            return  # a crash while committing: nothing after it happened
        exc = fut.exception()
        if exc is not None:
            log.error("node %s: a group commit failed (%s); the node stops", self.id, exc)
            self.close()
            return
        self.commits += 1
        self._release(*held)
        if self._pending or self._staged:
            self.flush()
        else:  # steps that persisted nothing waited only for this commit
            held = (self._held_traces, self._held_sends, self._held_after)
            self._held_traces, self._held_sends, self._held_after = [], [], []
            self._release(*held)

    def _release(self, traces: list[dict[str, Any]], sends: list[tuple[int, int, Any]],
                 after: list[Callable[[], None]]) -> None:
        for r in traces:
            self._trace(r)
        for d, inst, msg in sends:
            self._send(d, inst, msg)
        for fn in after:
            fn()

    async def settle(self) -> None:
        """Wait until no group commit is pending or running (a closed host: until the running
        one is done, so its store can be closed)."""
        while True:
            if self._committing is not None:
                await asyncio.wait([self._committing])
            elif (self._pending or self._staged) and not self.closed:
                self.flush()
            else:
                return

    def _trace(self, rec: dict[str, Any] | None) -> dict[str, Any] | None:
        """Write the step's trace line if it is not written yet; None: it is now."""
        if rec is not None and self.tracer is not None:
            self.tracer.write(rec)
        return None

    def _late_put(self, inst: int, disk: Any, logs: dict[str, tuple[Any, ...]] | None) -> None:
        if not self.closed:
            self.store.put(inst, disk, logs=logs)

    def _disk(self, inst: int, d: Any) -> tuple[Any, dict[str, tuple[Any, ...]] | None]:
        """The durable value's JSON, its ``Log`` fields as ``{"$len": n}`` plus their changes."""
        if not self.log_fields:
            return to_wire(self.disk_type, d), None
        dt = self.disk_type
        assert isinstance(dt, Record)
        if type(d) is not dt.cls:
            raise TypeError(f"{type(self.node).__name__}.durable returned {d!r}, not a {dt.cls.__name__}")
        j: dict[str, Any] = {"$": dt._kind} if dt._kind is not None else {}
        logs: dict[str, tuple[Any, ...]] = {}
        for name, ft in zip(dt.names, dt.parts, strict=True):
            v = getattr(d, name)
            if not isinstance(ft, Log):
                j[name] = to_wire(ft, v)
                continue
            old = self._persisted.get((inst, name), ())
            keep = log_change(old, v)
            added = [to_wire(ft.elem, x) for x in v[keep:]]
            if isinstance(v, Compacted) and not _same_front(old, v):
                logs[name] = (keep, added, v.base, v.front())  # compacted since: drop the entries before base
            else:
                logs[name] = (keep, added)
            self._persisted[(inst, name)] = v
            j[name] = {"$len": len(v)}
        return j, logs

    def _send(self, dst: int, inst: int, msg: Any) -> None:
        if self.transport is None:
            raise RuntimeError("host has no transport attached")
        self.transport.send(Frame(self.id, dst, inst, msg))

    def _set_timer(self, inst: int, timer: Any) -> None:
        key = (inst, timer)
        old = self.timers.pop(key, None)
        if old is not None:
            old.cancel()
        span = self.node.timer_ranges.get(timer)
        delay = self.rng.uniform(*span) if span is not None else self.timer_delays.get(timer, 1.0)
        self.timers[key] = asyncio.get_running_loop().call_later(delay, self._fire, inst, timer)

    def close(self) -> None:
        """Stop timers (a crash: in-memory state is simply dropped with the host)."""
        self.closed = True
        if self._worker is not None:
            self._worker.shutdown(wait=False)
        for h in self.timers.values():
            h.cancel()
        self.timers.clear()
        if self.tracer is not None:
            self.tracer.close()


def _same_front(old: Any, new: Any) -> bool:
    """``new`` is compacted exactly as ``old`` (or neither is)."""
    if isinstance(new, Compacted):
        return isinstance(old, Compacted) and old.same_front(new)
    return not isinstance(old, Compacted)

