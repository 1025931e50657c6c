"""Trace validation: replay what the real nodes did through the model, step by step.

Each node's trace (``Tracer``) lists its steps: the message received, its state before and
after, its effects, plus a ``boot`` line at every start.  The records of all nodes are merged
in time order (one machine, one clock; a send is recorded before its bytes leave, so every
receipt sorts after its send) and, per protocol instance, replayed through the model the trace
names (``meta.json``: the ``ActorSystem``'s dotted path and parameters), with the model's own
step functions:

- a delivery must be an enabled ``deliver`` of the model (the message was sent, the node's
  handler accepts it in the model's state of that node), a local step an enabled step;
- the node's recorded state before and after must equal the model's;
- a restart is the model's ``crash`` then ``recover``: the state the node came back with
  must be what the model's disk holds, i.e. what its last ``Persist`` wrote; a kill recorded by
  the process that killed the node (``environment.jsonl``, ``launcher.Cluster.kill``) is the
  model's ``crash`` at that time, so the node may stay down (the steps of the other nodes that
  rely on it being down, such as suspecting it, are then enabled in the model);
- an environment record (``env``: a partition put on the cluster, or an input handed to a node
  from outside the protocol such as its failure detector's suspicion, ``Host.deliver_now``) is the
  model's ``@environment`` action of that name and arguments, which must be enabled then (and
  give the node the state it recorded);
- every ``@always`` property of the model must hold after every step.

Compacted logs (``codec.Compacted``): a message may carry a log whose first ``k`` entries the
sender has compacted (``{"$compacted": k, "$add": [...]}``): they are the first ``k`` of the
sender's log in the replay, and the message so expanded must be one the model sent.  A
record marked ``repeat`` is a delivery handled to its end at once: it is replayed as the
model's handler handling the message again while it keeps it (``Keep``), every step checked.
A state whose log was compacted where the trace does not show it (a restart from a compacted
disk, an installed snapshot) writes it ``{"$front": k, "$add": [...]}``: its first ``k``
entries are the model's (the runtime no longer has them: what stands for them is the snapshot
of the state machine they built); its length and every later entry are checked.

The first step that does not fit is reported with the reason.  A line that is not JSON is an
error, except the last line of a node's file, which a kill -9 may cut: it is skipped and
reported (``Report.torn``).
"""

from __future__ import annotations

import inspect
import json
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models.actors import ActorSystem, Envelope, Keep, SysState
from ..models.environment import EnvState
from ..models.registry import RegistryError, resolve, where_raised
from ..models.types import SchemaError, shown
from .codec import Log, from_wire, to_wire
from .faults import ENVIRONMENT

Events = list[tuple[int, dict[str, Any]]]
#: Process pauses the launcher recorded, next to the nodes' traces.
PAUSES_FILE = "pauses.jsonl"
#: The fields every recorded step carries (the merge orders by them, the replay groups by them).
RECORD_FIELDS = ("t", "node", "seq", "kind", "inst")


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
    #: Last lines cut by a kill -9 (``file: text``), skipped.
    torn: list[str] = field(default_factory=list)
    #: Process pauses (SIGSTOP .. SIGCONT) during the run: ``(node, seconds)``.  The replay needs
    #: nothing from them (a paused node takes no step; its clock runs on); they say what was tested.
    pauses: list[tuple[int, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        cut = f" ({len(self.torn)} torn last line(s) skipped: {'; '.join(self.torn)})" if self.torn else ""
        if self.pauses:
            cut += f" ({', '.join(f'node {i} paused {sec:.1f} s' for i, sec in self.pauses)})"
        if self.ok:
            return (f"trace fits the model: {self.steps} steps over {self.instances} instance(s) of "
                    f"{self.protocol} replayed, every invariant held{cut}")
        first = min(self.problems, key=lambda p: p.step)
        return f"trace does not fit the model: {first}{cut}"


class TraceError(ValueError):
    """A trace that cannot be read (a corrupt line, no meta): one line with the file."""


def load(trace_dir: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """``(meta, records in time order, torn last lines)``."""
    d = Path(trace_dir)
    meta_file = d / "meta.json"
    if not meta_file.exists():
        if (d / "cluster.json").exists():  # the cluster's directory, not its trace's
            hint = (f"the trace of the cluster in {d} is {d / 'trace'}" if (d / "trace" / "meta.json").exists()
                    else f"the cluster in {d} was started without --trace")
            raise TraceError(f"{meta_file}: no such file; {hint}")
        raise TraceError(f"{meta_file}: no such file; is {d} a trace directory (cluster --trace)?")
    try:
        meta = json.loads(meta_file.read_bytes())
    except ValueError as e:  # not UTF-8 (UnicodeDecodeError is a ValueError) or not JSON
        raise TraceError(f"{meta_file}: not JSON ({e}); the trace is damaged") from None
    if not isinstance(meta, dict):
        raise TraceError(f"{meta_file}: a JSON object is expected, not {type(meta).__name__}; the trace is damaged")
    nodes = sorted(d.glob("node*.jsonl"))
    if not nodes:
        raise TraceError(f"{d}: no node traces (node*.jsonl) next to meta.json: nothing to validate")
    recs: list[dict[str, Any]] = []
    torn: list[str] = []
    for f in [*nodes, *sorted(d.glob(ENVIRONMENT))]:
        lines = f.read_bytes().split(b"\n")
        for k, raw in enumerate(lines, 1):
            line = raw.decode("utf-8", errors="replace")
            if not line.strip():
                continue
            try:
                rec = json.loads(raw)  # bytes that are not UTF-8 make it fail like any damage
            except ValueError:
                if k == len(lines):  # the last line, without its newline: cut by kill -9
                    torn.append(f"{f.name}: {line[:60]!r}")
                    continue
                raise TraceError(f"{f}:{k}: not a JSON record ({line[:60]!r}); the trace is damaged") from None
            missing = [n for n in RECORD_FIELDS if n not in rec] if isinstance(rec, dict) else list(RECORD_FIELDS)
            if missing:
                raise TraceError(f"{f}:{k}: the record lacks {', '.join(missing)} ({line[:60]!r}); "
                                 "the trace is damaged")
            wrong = [n for n in ("t", "node", "seq") if type(rec[n]) is not int]
            if wrong:  # the merge sorts by them
                raise TraceError(f"{f}:{k}: the record's {', '.join(wrong)} must be integers ({line[:60]!r}); "
                                 "the trace is damaged")
            recs.append(rec)
    recs.sort(key=lambda r: (r["t"], r["node"], r["seq"]))
    return meta, recs, torn


def model_of(meta: dict[str, Any], crashes: int, fewer: int | None = None) -> ActorSystem:
    """The model the trace names, allowing ``crashes`` crashes if its configuration has a bound
    (``fewer`` if its configuration refuses that many: the replay then names the crash too many)."""
    ref = meta.get("model")
    if not isinstance(ref, str):
        raise TraceError("meta.json names no model; the trace was recorded by an older version")
    try:
        cls = resolve(ref)
    except RegistryError as e:
        raise TraceError(str(e)) from None
    if not (isinstance(cls, type) and issubclass(cls, ActorSystem)):
        raise TraceError(f"{ref} is not an ActorSystem: only node protocols have traces")
    params = meta.get("params", {})
    if not isinstance(params, dict):
        raise TraceError(f"meta.json: params must be a JSON object, not {params!r}")
    try:
        return _configured(cls, params, crashes, fewer)
    except (TypeError, ValueError) as e:  # a hand-edited meta.json: unknown names, wrong types or ranges
        raise TraceError(f"meta.json: the parameters {params} do not configure {ref}: {e}") from None


def _configured(cls: type[ActorSystem], params: dict[str, Any], crashes: int, fewer: int | None) -> ActorSystem:
    fields = getattr(cls.Config, "__dataclass_fields__", {})
    if "max_crashes" not in fields:
        return cls(**params)
    try:
        return cls(**{**params, "max_crashes": crashes})
    except ValueError:
        if fewer is None:
            raise
        return cls(**{**params, "max_crashes": fewer})


def validate(trace_dir: str | Path) -> Report:
    meta, recs, torn = load(trace_dir)
    crashes = _crashes(recs)
    model = model_of(meta, sum(crashes.values()), fewer=sum(1 for n in crashes.values() if n))
    report = Report(str(meta.get("protocol", model.name)), steps=len(recs), torn=torn,
                    pauses=pauses(trace_dir))
    replay = Replay(model)
    cluster = Path(trace_dir).resolve().parent  # a cluster's trace is its trace/ folder
    replay.rejoined = {i for i in range(len(replay.names)) if any((cluster / f"node{i}").glob("lost-*"))}
    heard = {r["src"] for r in recs if r["kind"] == "deliver" and type(r.get("src")) is int}
    booted = {r["node"] for r in recs if r["kind"] in ("boot", "start")}  # a node's own file begins so
    silent = sorted(i for i in heard - booted if 0 <= i < len(replay.names))
    if silent:  # else its messages are "never sent" and the replay blames the nodes that got them
        i = silent[0]
        raise TraceError(f"{trace_dir}: no record of {replay.names[i]} (node{i}.jsonl is missing or empty), yet "
                         "other nodes received its messages: the trace is incomplete; copy the trace directory whole")
    for inst, events in _by_instance(recs):
        report.instances += 1
        try:
            prob = replay.run(inst, events)
        except SchemaError as e:  # a recorded state or message that is no value of the model's types
            k, i = replay.at
            prob = Problem(k, i, inst, f"the record holds a value the model does not have: {e}")
        except (KeyError, IndexError, TypeError, AttributeError) as e:  # a record of the wrong shape
            k, i = replay.at
            raise TraceError(f"step {k} (node {i}, instance {inst}): replaying the record raised "
                             f"{where_raised(e)}; is the trace damaged?") from None
        if prob is not None:
            report.problems.append(prob)
    return report


def _crashes(recs: list[dict[str, Any]]) -> dict[int, int]:
    """Per node, the crashes its replay takes (as ``Replay.run`` does): each recorded kill, and each
    boot after the first that no recorded kill preceded (a kill -9 leaves no record)."""
    out: dict[int, int] = defaultdict(int)
    booted: set[int] = set()
    down: set[int] = set()
    for r in recs:
        i = r["node"]
        if r["kind"] == "crash":
            out[i] += 1
            down.add(i)
        elif r["kind"] == "boot":
            if i in booted and i not in down:
                out[i] += 1
            booted.add(i)
            down.discard(i)
    return out


def pauses(trace_dir: str | Path) -> list[tuple[int, float]]:
    """``(node, seconds)`` of each pause the launcher recorded (``Cluster.pause``/``resume``)."""
    path = Path(trace_dir) / PAUSES_FILE
    if not path.exists():
        return []
    out, since = [], {}
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if r["kind"] == "pause":
            since[r["node"]] = r["t"]
        elif r["node"] in since:
            out.append((r["node"], (r["t"] - since.pop(r["node"])) / 1e9))
    return out


def _by_instance(recs: list[dict[str, Any]]) -> Iterator[tuple[int, Events]]:
    """Per instance, its records with their global step numbers, boots and the records of no one
    instance (kills, partitions) included everywhere."""
    groups: dict[int, Events] = defaultdict(list)
    boots = []
    for k, r in enumerate(recs, 1):
        if r["kind"] in ("boot", "crash") or r["inst"] == -1:
            boots.append((k, r))
        else:
            groups[r["inst"]].append((k, r))
    for inst in sorted(groups):
        merged = sorted(groups[inst] + boots, key=lambda kr: kr[0])
        yield inst, merged


def _fronts(j: Any) -> bool:
    """A recorded state has a log compacted where the trace does not show it (``$front``)."""
    return isinstance(j, dict) and any(isinstance(v, dict) and "$front" in v for v in j.values())


def _set_clock(s: SysState, i: int, v: int) -> SysState:
    """``s`` with node ``i``'s clock at ``v``: what its handler read (the record's ``now``)."""
    e = s.env
    if not isinstance(e, EnvState) or not e.clocks:
        return s
    return s._replace(env=e._replace(clocks=e.clocks[:i] + (v,) + e.clocks[i + 1:]))


def _clocks_at(s: SysState, t_ns: int, clocks: dict[int, dict[str, Any]]) -> SysState:
    """``s`` with every clock-reading node's clock read at wall time ``t_ns`` (from its boot's
    record of the clock), so a property over all clocks ("at most one node believes it holds
    the lock") is checked at that real time, not at each node's last step; never backwards."""
    for i, c in clocks.items():
        secs = c["offset_s"] + c["rate"] * (t_ns - c["zero_ns"]) / 1e9
        v = max(0, math.floor(secs / c["tick_s"]))
        e = s.env
        if isinstance(e, EnvState) and e.clocks and v > e.clocks[i]:
            s = _set_clock(s, i, v)
    return s


def _same_boot(events: Events, boot_pos: int, rec: dict[str, Any]) -> bool:
    """``rec`` comes after the boot at ``boot_pos`` and before that node's next boot."""
    node = events[boot_pos][1]["node"]
    for _k, r in events[boot_pos + 1:]:
        if r is rec:
            return True
        if r["kind"] == "boot" and r["node"] == node:
            return False
    return False


class Replay:
    """One model, replayed from its initial state once per protocol instance."""

    def __init__(self, model: ActorSystem) -> None:
        self.model = model
        #: The record being replayed: (step, node), for an error that names it.
        self.at: tuple[int, int] = (0, -1)
        self.nodes = model.node_list
        self.names = [n.name for n in self.nodes]
        #: Nodes that rejoined after losing their store (``cluster rejoin`` left a ``lost-*`` folder):
        #: the model has no amnesia, so their restart cannot fit it.
        self.rejoined: set[int] = set()
        self.types = [n.state_type() for n in self.nodes]
        self.msg_type = model.message_type()
        self.invariants = model.invariants
        self.init: SysState = model.initial_states()[0]
        self.steps = {n.id: {name: fn for name, fn, _insts in n.steps()} for n in self.nodes}
        envs = {f for f, name in enumerate(model.action_families) if name.startswith("env.")}
        #: The environment's action instances, by name and JSON arguments.
        self.env_steps = {(a.name, _args_key(dict(a.args))): step for a, step in model._compiled() if a.family in envs}

    def state(self, i: int, j: Any) -> Any:
        return from_wire(self.types[i], j)

    @staticmethod
    def expand(j: Any, base: Any, model: Any = None) -> Any:
        """A recorded state's JSON with its log changes (``Host._state_json``) applied to ``base``,
        the JSON of the node's previous state in this instance (None: nothing before); a
        ``$front`` takes its compacted entries from ``model``, the JSON of the model's state."""
        if not isinstance(j, dict):
            return j
        out = dict(j)
        for name, v in j.items():
            if isinstance(v, dict) and ("$len" in v or "$keep" in v):
                prev = base[name] if isinstance(base, dict) and isinstance(base.get(name), list) else []
                out[name] = prev[: v["$len"]] if "$len" in v else prev[: v["$keep"]] + list(v["$add"])
            elif isinstance(v, dict) and "$front" in v:
                have = model[name] if isinstance(model, dict) and isinstance(model.get(name), list) else []
                if len(have) < v["$front"]:
                    raise TraceError(f"a log compacted up to {v['$front']} where the model's has {len(have)} entries")
                out[name] = have[: v["$front"]] + list(v["$add"])
        return out

    def model_json(self, i: int, state: Any) -> Any:
        return to_wire(self.types[i], state)

    def expand_msg(self, j: Any, src: int, full: dict[int, Any]) -> Any:
        """A message's JSON with its compacted logs expanded from the sender's log in the replay."""
        if isinstance(j, dict) and "$compacted" in j:
            t = self.types[src]
            names = [n for n, ft in getattr(t, "fields", {}).items() if isinstance(ft, Log)]
            have = full.get(src, {}).get(names[0], []) if len(names) == 1 else []
            if len(have) < j["$compacted"]:
                raise TraceError(f"a message holds a log compacted up to {j['$compacted']} but its sender's "
                                 f"log has {len(have)} entries in the replay")
            return have[: j["$compacted"]] + list(j["$add"])
        if isinstance(j, dict):
            return {k: self.expand_msg(v, src, full) for k, v in j.items()}
        return j

    def msg(self, j: Any) -> Any:
        return from_wire(self.msg_type, j)

    def run(self, inst: int, events: Events) -> Problem | None:
        s = self.init
        booted: set[int] = set()
        down: set[int] = set()  # nodes a recorded kill took down, not booted since
        last_persist: dict[int, int] = {}
        full: dict[int, Any] = {}  # per node, the JSON of its last recorded state (logs expanded)
        names, m = self.names, self.model
        clocks: dict[int, dict[str, Any]] = {}  # per clock-reading node, its clock as its last boot recorded it
        for pos, (k, r) in enumerate(events):
            i, kind = r["node"], r["kind"]
            self.at = (k, i)
            if not 0 <= i < len(self.nodes) and kind != "env":  # env: the environment's own may name none
                return Problem(k, i, inst, f"node {i} recorded a {kind} step, but the model has nodes "
                                           f"0..{len(self.nodes) - 1}")
            if kind == "crash":
                t = m._crash(self.nodes[i])(s)
                if t is None:
                    return Problem(k, i, inst, f"{names[i]} was killed, but the model allows no crash of it here")
                s = t
                down.add(i)
                continue
            if kind == "boot" and "clock" in r:
                clocks[i] = r["clock"]
            if kind == "boot":
                if i not in booted:
                    booted.add(i)
                    continue
                t, prob = self._restart(s, inst, events, pos, last_persist, killed=i in down)
                if prob is not None:
                    return prob
                s = t
                down.discard(i)
                full.pop(i, None)
                continue
            if kind == "recover":
                full[i] = self.expand(r["after"], None, self.model_json(i, s.nodes[i]))
                continue  # checked at its boot
            if kind == "start":
                full[i] = self.expand(r["after"], None)
                if i in booted and r["after"] is not None and self.state(i, full[i]) != s.nodes[i]:
                    return Problem(k, i, inst, f"{names[i]} started this instance afresh as "
                                               f"{self.state(i, full[i])!r}, but the model has it in {s.nodes[i]!r}")
                continue
            if kind == "env" and r.get("before") is None:  # the environment's own: a partition
                t, what, prob = self._environment(s, k, inst, r)
                if prob is not None:
                    return prob
                assert t is not None
                s = t
                for p in self.invariants:
                    if not p.fn(s):
                        return Problem(k, i, inst, f"invariant {p.name} is violated after {what}: {p.doc}")
                continue
            if kind == "resend":
                msg = self.msg(self.expand_msg(r["msg"], i, full))
                if not m._net.deliverable(s.net, Envelope(i, r["dst"], msg)):
                    return Problem(k, i, inst, f"{names[i]} re-sent {msg!r} to {names[r['dst']]}, which it never sent")
                continue
            before_j = self.expand(r["before"], full.get(i))
            before = self.state(i, before_j)
            if before != s.nodes[i]:
                return Problem(k, i, inst, f"{names[i]} was in state {before!r} before this step, but the model "
                                           f"has {s.nodes[i]!r}")
            nxt, what, prob = self._step(s, k, inst, r, full)
            if prob is not None:
                return prob
            assert nxt is not None
            model_j = self.model_json(i, nxt.nodes[i]) if _fronts(r["after"]) else None
            full[i] = self.expand(r["after"], before_j, model_j)
            after = self.state(i, full[i])
            if after != nxt.nodes[i]:
                return Problem(k, i, inst, f"{names[i]} went to {after!r}, but the model's {what} gives "
                                           f"{nxt.nodes[i]!r}")
            if any("persist" in e for e in r["effects"]):
                last_persist[i] = k
            s = _clocks_at(nxt, r["t"], clocks)
            for p in self.invariants:
                if not p.fn(s):
                    return Problem(k, i, inst, f"invariant {p.name} is violated after {what}: {p.doc}")
        return None

    def _step(self, s: SysState, k: int, inst: int, r: dict[str, Any],
              full: dict[int, Any]) -> tuple[SysState | None, str, Problem | None]:
        """The model's step for record ``r``: (next state, its description, or the problem)."""
        m, i, names = self.model, r["node"], self.names
        n = self.nodes[i]
        if "now" in r:
            s = _set_clock(s, i, int(r["now"]))
        if r["kind"] == "deliver":
            src = r["src"]
            msg = self.msg(self.expand_msg(r["msg"], src, full))
            what = f"deliver(src={names[src]}, dst={names[i]}, msg={msg!r})"
            t = m._deliver(Envelope(src, i, msg))(s)
            if t is not None and r.get("repeat"):
                t, prob = self._repeat(s, t, k, inst, r, src, msg)
                if prob is not None:
                    return None, what, prob
            if t is None:
                if i in s.down:
                    why = f"{names[i]} is down in the model"
                elif not m._net.deliverable(s.net, Envelope(src, i, msg)):
                    why = f"{names[src]} never sent {msg!r} to {names[i]} (not in the model's network)"
                else:
                    why = f"the handler does not accept {msg!r} in state {s.nodes[i]!r}"
                return None, what, Problem(k, i, inst, f"{what} is not enabled: {why}")
            return t, what, None
        if r["kind"] == "local":
            label, args = r["label"], r.get("args") or {}
            fn = self.steps[i].get(label)
            named = n.named_params(label) if fn is not None else frozenset()
            shown = [(a, names[v] if a in named and isinstance(v, int) and 0 <= v < len(names) else v)
                     for a, v in args.items()]
            what = f"{label}({', '.join(f'{a}={v!r}' for a, v in [('node', names[i]), *shown])})"
            if fn is None:
                return None, what, Problem(k, i, inst, f"{what} is not an action of the model")
            skip = 2 if n.reads_inbox else 1
            params = [p for p in list(inspect.signature(fn).parameters)[skip:] if not (n.reads_clock and p == "now")]
            if set(params) != set(args):
                return None, what, Problem(k, i, inst, f"{what}: the model's step takes {params}")
            t = m._local(n, label, fn, tuple(args[p] for p in params))(s)
            if t is None:
                return None, what, Problem(k, i, inst, f"{what} is not enabled: its guard is false in state "
                                                       f"{s.nodes[i]!r}")
            return t, what, None
        if r["kind"] == "timeout":
            timer = next((x for x in n.timers if repr(x) == r["label"]), None)
            what = f"timeout(node={names[i]}, timer={r['label']})"
            t = None if timer is None else m._timeout(n, timer)(s)
            if t is None:
                return None, what, Problem(k, i, inst, f"{what} is not enabled in the model")
            return t, what, None
        if r["kind"] == "env":
            return self._environment(s, k, inst, r)
        return None, r["kind"], Problem(k, i, inst, f"unknown record kind {r['kind']!r}")

    def _environment(self, s: SysState, k: int, inst: int,
                     r: dict[str, Any]) -> tuple[SysState | None, str, Problem | None]:
        """The model's environment action record ``r`` names, which must be enabled in ``s``."""
        label, args = r["label"], r.get("args") or {}
        what = f"{label}({', '.join(f'{a}={v!r}' for a, v in args.items())})"
        who = self.names[r["node"]] if 0 <= r["node"] < len(self.names) else "the environment"
        step = self.env_steps.get((label, _args_key(args)))
        if step is None:
            return None, what, Problem(k, r["node"], inst, f"{who} recorded {what}, which is not an environment "
                                                            "action of the model")
        t = step(s)
        if t is None:
            down = ", ".join(self.names[d] for d in sorted(s.down)) or "none"
            return None, what, Problem(k, r["node"], inst, f"{who} recorded {what}, which the model does not "
                                                            f"allow here (nodes down: {down})")
        return t, what, None

    def _repeat(self, s: SysState, t: SysState, k: int, inst: int, r: dict[str, Any], src: int,
                msg: Any) -> tuple[SysState, Problem | None]:
        """The deliveries of ``msg`` after the first (``t``), as ``Host.deliver`` loops: again
        while the handler keeps it and changes the state; the invariants after each."""
        i = r["node"]
        n, m = self.nodes[i], self.model
        for _ in range(1_000_000):
            out = n.on_message(s.nodes[i], src, msg)
            if out is None or not any(type(e) is Keep for e in out[1]) or out[0] == s.nodes[i]:
                return t, None
            for p in self.invariants:
                if not p.fn(t):
                    return t, Problem(k, i, inst, f"invariant {p.name} is violated while {self.names[i]} handles "
                                                  f"{msg!r}: {p.doc}")
            u = m._deliver(Envelope(src, i, msg))(t)
            if u is None:
                return t, None
            s, t = t, u
        return t, Problem(k, i, inst, f"{self.names[i]} handles {msg!r} without end")

    def _restart(self, s: SysState, inst: int, events: Events, pos: int, last_persist: dict[int, int],
                 killed: bool = False) -> tuple[SysState, Problem | None]:
        """A boot after a boot: the model's crash (unless a recorded kill was it) then recover, and
        the state the node came back with."""
        m, names = self.model, self.names
        k, r = events[pos]
        i = r["node"]
        n = self.nodes[i]
        if not m._faults.recovery:
            return s, Problem(k, i, inst, f"{names[i]} restarted, but the model's crashes are crash-stop "
                                          "(Faults(recovery=False)): a crashed node never comes back")
        for step in (m._recover(n),) if killed else (m._crash(n), m._recover(n)):
            t: SysState | None = step(s)
            if t is None:
                return s, Problem(k, i, inst, f"{names[i]} restarted, but the model allows no further crash "
                                              "(its configuration has no max_crashes)")
            s = t
        rec = next((r2 for _k2, r2 in events[pos + 1:] if r2["node"] == i and r2["kind"] == "recover"
                    and _same_boot(events, pos, r2)), None)
        got = self.state(i, self.expand(rec["after"], None, self.model_json(i, s.nodes[i]))) \
            if rec is not None else n.on_start()[0]
        want = s.nodes[i]
        if got != want and i in self.rejoined:
            return s, Problem(k, i, inst, f"{names[i]} restarted with a state the model's disk does not hold: it "
                                          "rejoined after losing its store (a lost-* folder in its directory), and "
                                          "the model has no amnesia, so a run with a rejoin does not validate")
        if got != want:
            where = f" (persisted at step {last_persist[i]})" if i in last_persist else ""
            return s, Problem(k, i, inst, f"{names[i]} restarted with state {shown(got, 300)}, but the model's disk "
                                          f"holds {shown(want, 300)}{where}: a Persist was lost — the node sent "
                                          "before it persisted")
        return s, None


def _args_key(args: dict[str, Any]) -> str:
    """Action arguments as canonical JSON (tuples and lists alike), to match a record's."""
    return json.dumps(args, sort_keys=True, default=list)


__all__ = ["PAUSES_FILE", "Problem", "Replay", "Report", "TraceError", "load", "model_of", "pauses", "validate"]
