"""Fault injection, as one component between a host and its transport (never in the protocol).

``FaultInjector.route(frame)`` says what happens to an outgoing frame: the list of delays
after which a copy is sent (``[]`` drops it, two entries duplicate it, random delays reorder).
Partitions block chosen (src, dst) pairs (``FaultPlan.split`` cuts the nodes into groups): a
frame across one is dropped, or with ``hold_across`` held until the partition heals and then
sent, which is the model's partition (``Faults(max_partitions=...)``: a message between groups
stays in flight while the partition stands).  ``hold=True`` parks every frame in ``held`` so a
test can deliver, drop or duplicate them one by one (the model-based tests).  Process kills
are in ``launcher.Cluster`` (``kill``/``restart``), which owns the processes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clock import NodeClock
from .cluster import ClusterConfig
from .codec import Frame

FAULTS_FILE = "faults.json"
log = logging.getLogger("protoproof.impl")


#: Environment events recorded by whoever controls the environment (kills, partitions), in the trace directory.
ENVIRONMENT = "environment.jsonl"


def record_environment(trace_dir: str | Path, kind: str, node: int = -1, t: int | None = None,
                       **fields: Any) -> None:
    """Append an environment event to the trace (``kind``: ``crash``, or ``env`` with the model's
    action ``label`` and ``args``), stamped ``t`` (now): trace validation replays it at that time."""
    rec = {"t": time.time_ns() if t is None else t, "node": node, "inst": -1, "kind": kind, "seq": 0, **fields}
    with open(Path(trace_dir) / ENVIRONMENT, "a") as f:
        f.write(json.dumps(rec, separators=(",", ":")) + "\n")


@dataclass
class FaultPlan:
    """Probabilities and delays; a value, so a cluster can read it from ``faults.json``."""

    drop: float = 0.0
    duplicate: float = 0.0
    delay_ms: tuple[float, float] = (0.0, 0.0)
    #: Directed pairs that cannot talk; ``partition([0], [1, 2])`` fills both directions.
    blocked: frozenset[tuple[int, int]] = frozenset()
    #: Hold frames across a partition until it heals (the model's partition), instead of dropping them.
    hold_across: bool = False
    #: Clock skew per node id: ``(offset_s, rate)`` of its ``NodeClock``, read when the node starts.
    clocks: dict[int, tuple[float, float]] = field(default_factory=dict)
    #: Message kinds (class names) the blocked pairs stop; empty: every frame.  A slow link for one
    #: kind of message only (a coordinator's PreCommit to one participant), set before the run.
    kinds: frozenset[str] = frozenset()

    def blocks(self, f: Frame) -> bool:
        """Whether ``f`` is stopped: between blocked nodes, and of a blocked kind."""
        return (f.src, f.dst) in self.blocked and (not self.kinds or type(f.msg).__name__ in self.kinds)

    @staticmethod
    def partition(side_a: list[int], side_b: list[int]) -> frozenset[tuple[int, int]]:
        return FaultPlan.split([side_a, side_b])

    @staticmethod
    def split(groups: list[list[int]]) -> frozenset[tuple[int, int]]:
        """The pairs a partition into ``groups`` blocks: every pair of nodes in different groups."""
        return frozenset((a, b) for g in groups for h in groups if g is not h for a in g for b in h)

    def to_json(self) -> dict[str, Any]:
        return {"drop": self.drop, "duplicate": self.duplicate, "delay_ms": list(self.delay_ms),
                "blocked": sorted([list(p) for p in self.blocked]), "hold_across": self.hold_across,
                "clocks": {str(k): list(v) for k, v in sorted(self.clocks.items())}, "kinds": sorted(self.kinds)}

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> FaultPlan:
        lo, hi = j.get("delay_ms", (0.0, 0.0))
        return cls(float(j.get("drop", 0.0)), float(j.get("duplicate", 0.0)), (float(lo), float(hi)),
                   frozenset((int(a), int(b)) for a, b in j.get("blocked", [])), bool(j.get("hold_across", False)),
                   {int(k): (float(o), float(r)) for k, (o, r) in j.get("clocks", {}).items()},
                   frozenset(str(k) for k in j.get("kinds", [])))

    def save(self, directory: str | Path) -> None:
        p = Path(directory) / FAULTS_FILE
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json()))
        tmp.replace(p)


@dataclass
class FaultInjector:
    plan: FaultPlan = field(default_factory=FaultPlan)
    seed: int | None = None
    hold: bool = False
    held: list[Frame] = field(default_factory=list)
    dropped: int = 0
    duplicated: int = 0
    #: Frames held across a partition (``FaultPlan.hold_across``), in the order they were sent.
    parked: list[Frame] = field(default_factory=list)
    #: Called with each parked frame whose partition healed (the transport sends it).
    on_heal: Callable[[Frame], None] | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def node_clock(self, node_id: int, tick_s: float = 1.0) -> NodeClock:
        """The clock node ``node_id`` runs on under this plan (skewed where ``plan.clocks`` says)."""
        offset, rate = self.plan.clocks.get(node_id, (0.0, 1.0))
        return NodeClock(tick_s, offset, rate)

    def set_plan(self, plan: FaultPlan) -> None:
        """Switch to ``plan``; parked frames no longer blocked go out, oldest first."""
        self.plan = plan
        if not self.parked or self.on_heal is None:
            return
        go = [f for f in self.parked if not plan.blocks(f)]
        if go:
            self.parked = [f for f in self.parked if plan.blocks(f)]
            log.warning("partition healed: sending %d held frame(s)", len(go))
            for f in go:
                self.on_heal(f)

    def route(self, f: Frame) -> list[float]:
        """Delays (seconds) after which to send a copy of ``f``; empty means dropped or held."""
        p = self.plan
        if self.hold:
            self.held.append(f)
            return []
        if p.blocked and p.blocks(f):
            if p.hold_across:
                self.parked.append(f)
            else:
                self.dropped += 1
            return []
        if p.drop and self.rng.random() < p.drop:
            self.dropped += 1
            return []
        copies = 1
        if p.duplicate and self.rng.random() < p.duplicate:
            copies = 2
            self.duplicated += 1
        lo, hi = p.delay_ms
        return [self.rng.uniform(lo, hi) / 1000.0 if hi > 0 else 0.0 for _ in range(copies)]

    def reload(self, directory: str | Path) -> None:
        """Pick up a changed ``faults.json`` (tests change partitions while processes run)."""
        path = Path(directory) / FAULTS_FILE
        try:
            self.set_plan(FaultPlan.from_json(json.loads(path.read_text())))
        except FileNotFoundError:
            self.set_plan(FaultPlan())
        except (ValueError, TypeError):
            pass  # a half-written file: keep the previous plan
        except OSError:
            pass  # out of file descriptors for a moment (EMFILE): keep the plan, read it next time


def set_partition(cfg: ClusterConfig, groups: list[list[int]] | None, plan: FaultPlan | None = None) -> FaultPlan:
    """Cut the running cluster into ``groups`` (None: heal it), holding frames across the cut as the
    model's partition does; with tracing on, recorded as the model's ``split``/``heal``.

    The nodes pick the plan up within their reload period (``service.run_forever``), so the
    record's time is when the cut was asked for: do it while no model message crosses it.
    """
    base = plan if plan is not None else FaultPlan()
    new = dataclasses.replace(base, blocked=FaultPlan.split(groups) if groups else frozenset(), hold_across=True)
    new.save(cfg.directory)
    if cfg.trace:
        if groups:
            record_environment(cfg.trace_dir(), "env", label="split", args={"groups": _model_groups(cfg, groups)})
        else:
            record_environment(cfg.trace_dir(), "env", label="heal", args={})
    return new


def _model_groups(cfg: ClusterConfig, groups: list[list[int]]) -> list[list[str]]:
    """``groups`` as the model's ``split`` names them: by node name, in order of first node id."""
    label = {i: k for k, g in enumerate(groups) for i in g}
    ids = sorted(label)
    order = list(dict.fromkeys(label[i] for i in ids))
    return [[cfg.nodes[i].name for i in ids if label[i] == k] for k in order]
