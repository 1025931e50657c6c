"""Trace validation: replay what the real nodes did through the model, step by step.

Each node's trace (``Tracer``) lists its steps: the message received, its state before and
after, its effects, plus a ``boot`` line at every start.  The records of all nodes are merged
in time order (one machine, one clock; a send is recorded before its bytes leave, so every
receipt sorts after its send) and, per protocol instance, replayed through the model:

- a delivery must be an enabled ``deliver`` action of the model (the message was sent, the
  handler accepts it in the model's state of that node), a local step an enabled step;
- the node's recorded state before and after must equal the model's;
- a restart is the model's ``crash`` then ``recover``: the state the node came back with
  must be what the model's disk holds, i.e. what its last ``Persist`` wrote;
- every ``@always`` property of the model must hold after every step.

The first step that does not fit is reported with the reason.  2PC traces replay through
``DurableTwoPhase`` in full; Paxos KV traces check each slot's acceptor steps against the
model's acceptor handler, the disk on every restart, and the model's ``agreement`` (at most one
value with a quorum of 2b votes in one ballot) per slot.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models.actors import Envelope
from ..models.base import Action
from ..models.paxos import Acc
from .codec import from_wire


@dataclass
class Problem:
    step: int  # position in the merged trace (1-based)
    node: int
    inst: int
    what: str

    def __str__(self) -> str:
        return f"step {self.step} (node {self.node}, instance {self.inst}): {self.what}"


@dataclass
class Report:
    protocol: str
    steps: int = 0
    instances: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (f"trace fits the model: {self.steps} steps over {self.instances} instance(s) of "
                    f"{self.protocol} replayed, every invariant held")
        first = min(self.problems, key=lambda p: p.step)
        return f"trace does not fit the model: {first}"


def load(trace_dir: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    d = Path(trace_dir)
    meta = json.loads((d / "meta.json").read_text())
    recs: list[dict[str, Any]] = []
    for f in sorted(d.glob("node*.jsonl")):
        for line in f.read_text().splitlines():
            if line.strip():
                with contextlib.suppress(ValueError):  # a line cut by kill -9
                    recs.append(json.loads(line))
    recs.sort(key=lambda r: (r["t"], r["node"], r["seq"]))
    return meta, recs


def validate(trace_dir: str | Path) -> Report:
    meta, recs = load(trace_dir)
    proto = meta["protocol"]
    if proto == "twophase":
        return _validate_twophase(meta, recs)
    if proto == "paxos":
        return _validate_paxos(meta, recs)
    raise ValueError(f"no trace validation for protocol {proto!r}")


def _by_instance(recs: list[dict[str, Any]]) -> Iterator[tuple[int, list[tuple[int, dict[str, Any]]]]]:
    """Per instance, its records with their global step numbers, boots included everywhere."""
    groups: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    boots = []
    for k, r in enumerate(recs, 1):
        if r["kind"] == "boot":
            boots.append((k, r))
        else:
            groups[r["inst"]].append((k, r))
    for inst in sorted(groups):
        merged = sorted(groups[inst] + boots, key=lambda kr: kr[0])
        yield inst, merged


# ----- 2PC -----------------------------------------------------------------------------


def _validate_twophase(meta: dict[str, Any], recs: list[dict[str, Any]]) -> Report:
    from .tx import wire_type

    rms = int(meta["params"].get("rms", meta["nodes"] - 1))
    wire = wire_type(rms)
    report = Report("twophase", steps=len(recs))
    for inst, events in _by_instance(recs):
        report.instances += 1
        prob = _replay_2pc(inst, events, rms, wire)
        if prob is not None:
            report.problems.append(prob)
    return report


def _replay_2pc(inst: int, events: list[tuple[int, dict[str, Any]]], rms: int, wire: Any) -> Problem | None:
    from .tx import DurableTwoPhase

    booted: set[int] = set()
    crashes = 0
    for _k, r in events:
        if r["kind"] == "boot":
            if r["node"] in booted:
                crashes += 1
            booted.add(r["node"])
    model = DurableTwoPhase(rms=rms, max_crashes=crashes)
    steps = {(a.name, a.args): f for a, f in model._compiled()}
    invariants = model.invariants
    s = model.initial_states()[0]
    names = [n.name for n in model.node_list]
    types = [n.state_type() for n in model.node_list]
    booted.clear()
    # (node) -> recover record of the current boot, consumed at the boot
    pending_boot: dict[int, int] = {}
    last_persist: dict[int, int] = {}

    def state_of(i: int, j: Any) -> Any:
        return from_wire(types[i], j)

    for pos, (k, r) in enumerate(events):
        i = r["node"]
        kind = r["kind"]
        if kind == "boot":
            if i not in booted:
                booted.add(i)
                continue
            # the node crashed before this boot: the model's crash then recover
            for a in (Action("crash", (("node", names[i]),)), Action("recover", (("node", names[i]),))):
                t = steps[(a.name, a.args)](s)
                if t is None:
                    return Problem(k, i, inst, f"{a!r} is not enabled in the model")
                s = t
            rec = next((r2 for _k2, r2 in events[pos + 1:] if r2["node"] == i and r2["kind"] == "recover"
                        and r2["inst"] == inst and _same_boot(events, pos, r2)), None)
            got = state_of(i, rec["after"]) if rec is not None else model.node_list[i].on_start()[0]
            want = s.nodes[i]
            if got != want:
                where = f" (persisted at step {last_persist[i]})" if i in last_persist else ""
                return Problem(k, i, inst,
                               f"{names[i]} restarted with state {got!r}, but the model's disk holds "
                               f"{want!r}{where}: a Persist was lost — the node sent before it persisted")
            pending_boot[i] = k
            continue
        if kind == "recover":
            continue  # checked at its boot
        if kind == "start":
            if i in booted and r["after"] is not None and state_of(i, r["after"]) != s.nodes[i]:
                return Problem(k, i, inst, f"{names[i]} started this instance afresh as "
                                           f"{state_of(i, r['after'])!r}, but the model has it in "
                                           f"{s.nodes[i]!r}")
            continue
        if kind == "resend":
            msg = from_wire(wire, r["msg"])
            if Envelope(i, r["dst"], msg) not in s.net:
                return Problem(k, i, inst, f"{names[i]} re-sent {msg!r} to {names[r['dst']]}, which it never sent")
            continue
        before = state_of(i, r["before"])
        if before != s.nodes[i]:
            return Problem(k, i, inst, f"{names[i]} was in state {before!r} before this step, but the model "
                                       f"has {s.nodes[i]!r}")
        if kind == "deliver":
            msg = from_wire(wire, r["msg"])
            src = r["src"]
            a = Action("deliver", (("src", names[src]), ("dst", names[i]), ("msg", msg)))
            f = steps.get((a.name, a.args))
            if f is None:
                return Problem(k, i, inst, f"{a!r} is not an action of the model")
            t = f(s)
            if t is None:
                if i in s.down:
                    why = f"{names[i]} is down in the model"
                elif Envelope(src, i, msg) not in s.net:
                    why = f"{names[src]} never sent {msg!r} to {names[i]} (not in the model's network)"
                else:
                    why = f"the handler does not accept {msg!r} in state {s.nodes[i]!r}"
                return Problem(k, i, inst, f"{a!r} is not enabled: {why}")
        elif kind == "local":
            a = Action(r["label"], (("node", names[i]), *sorted((r.get("args") or {}).items())))
            f = steps.get((a.name, a.args))
            if f is None:
                return Problem(k, i, inst, f"{a!r} is not an action of the model")
            t = f(s)
            if t is None:
                return Problem(k, i, inst, f"{a!r} is not enabled: its guard is false in state {s.nodes[i]!r}")
        else:
            return Problem(k, i, inst, f"unknown record kind {kind!r}")
        after = state_of(i, r["after"])
        if after != t.nodes[i]:
            return Problem(k, i, inst, f"{names[i]} went to {after!r}, but the model's {a!r} gives {t.nodes[i]!r}")
        if any("persist" in e for e in r["effects"]):
            last_persist[i] = k
        s = t
        for p in invariants:
            if not p.fn(s):
                return Problem(k, i, inst, f"invariant {p.name} is violated after {a!r}: {p.doc}")
    return None


def _same_boot(events: list[tuple[int, dict[str, Any]]], boot_pos: int, rec: dict[str, Any]) -> bool:
    """``rec`` comes after the boot at ``boot_pos`` and before that node's next boot."""
    node = events[boot_pos][1]["node"]
    for _k, r in events[boot_pos + 1:]:
        if r is rec:
            return True
        if r["kind"] == "boot" and r["node"] == node:
            return False
    return False


# ----- Paxos KV ------------------------------------------------------------------------


def _validate_paxos(meta: dict[str, Any], recs: list[dict[str, Any]]) -> Report:
    from .kv import ACC_TYPE, DurableAcceptor, node_config, wire_type

    n = int(meta["nodes"])
    wire = wire_type(n)
    accs = [DurableAcceptor(node_config(n, i)) for i in range(n)]
    quorums = accs[0].quorum_list
    report = Report("paxos", steps=len(recs))
    for inst, events in _by_instance(recs):
        report.instances += 1
        state: dict[int, Acc] = {}
        disk: dict[int, Acc] = {}
        booted: set[int] = set()
        votes: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        chosen: set[str] = set()
        prob = None
        for pos, (k, r) in enumerate(events):
            i = r["node"]
            if r["kind"] == "boot":
                if i in booted:
                    rec = next((r2 for _k2, r2 in events[pos + 1:] if r2["node"] == i and r2["kind"] == "recover"
                                and _same_boot(events, pos, r2)), None)
                    got = from_wire(ACC_TYPE, rec["after"]) if rec is not None else accs[i].on_start()[0]
                    want = disk.get(i, accs[i].on_start()[0])
                    if got != want:
                        prob = Problem(k, i, inst, f"a{i} restarted with {got!r}, but its last Persist wrote "
                                                   f"{want!r}: the node sent before it persisted")
                        break
                    state[i] = got
                booted.add(i)
                continue
            if r["kind"] in ("recover", "resend"):
                continue
            cur = state.get(i, accs[i].on_start()[0])
            if r["kind"] == "start":
                state[i] = cur
                continue
            before = from_wire(ACC_TYPE, r["before"])
            if before != cur:
                prob = Problem(k, i, inst, f"a{i} was in {before!r} before this step; the replay has {cur!r}")
                break
            msg = from_wire(wire, r["msg"])
            res = accs[i].on_message(cur, r["src"], msg)
            if res is None:
                prob = Problem(k, i, inst, f"the model's acceptor does not accept {msg!r} in state {cur!r}")
                break
            after = from_wire(ACC_TYPE, r["after"])
            if after != res[0]:
                prob = Problem(k, i, inst, f"a{i} went to {after!r}; the model's acceptor gives {res[0]!r}")
                break
            state[i] = after
            if any("persist" in e for e in r["effects"]):
                disk[i] = after
            for e in r["effects"]:
                if "msg" in e:
                    m: Any = from_wire(wire, e["msg"])  # values are command strings here
                    if type(m).__name__ == "TwoB":  # (not `is TwoB`: the model types val as an int)
                        acc, bal, val = m.acc, m.bal, m.val
                        votes[bal][val].add(acc)
                        if any(q <= votes[bal][val] for q in quorums):
                            chosen.add(val)
            if len(chosen) > 1:
                prob = Problem(k, i, inst, f"agreement is violated: {sorted(chosen)} are all chosen")
                break
        if prob is not None:
            report.problems.append(prob)
    return report
