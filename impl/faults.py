"""Fault injection, as one component between a host and its transport (never in the protocol).

``FaultInjector.route(frame)`` says what happens to an outgoing frame: the list of delays
after which a copy is sent (``[]`` drops it, two entries duplicate it, random delays reorder).
Partitions block chosen (src, dst) pairs.  ``hold=True`` parks every frame in ``held`` so a
test can deliver, drop or duplicate them one by one (the model-based tests).  Process kills
are in ``launcher.Cluster`` (``kill``/``restart``), which owns the processes.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .codec import Frame

FAULTS_FILE = "faults.json"


@dataclass
class FaultPlan:
    """Probabilities and delays; a value, so a cluster can read it from ``faults.json``."""

    drop: float = 0.0
    duplicate: float = 0.0
    delay_ms: tuple[float, float] = (0.0, 0.0)
    #: Directed pairs that cannot talk; ``partition([0], [1, 2])`` fills both directions.
    blocked: frozenset[tuple[int, int]] = frozenset()

    @staticmethod
    def partition(side_a: list[int], side_b: list[int]) -> frozenset[tuple[int, int]]:
        return frozenset({(a, b) for a in side_a for b in side_b} | {(b, a) for a in side_a for b in side_b})

    def to_json(self) -> dict[str, Any]:
        return {"drop": self.drop, "duplicate": self.duplicate, "delay_ms": list(self.delay_ms),
                "blocked": sorted([list(p) for p in self.blocked])}

    @classmethod
    def from_json(cls, j: dict[str, Any]) -> FaultPlan:
        lo, hi = j.get("delay_ms", (0.0, 0.0))
        return cls(float(j.get("drop", 0.0)), float(j.get("duplicate", 0.0)), (float(lo), float(hi)),
                   frozenset((int(a), int(b)) for a, b in j.get("blocked", [])))

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

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def route(self, f: Frame) -> list[float]:
        """Delays (seconds) after which to send a copy of ``f``; empty means dropped or held."""
        p = self.plan
        if self.hold:
            self.held.append(f)
            return []
        if (f.src, f.dst) in p.blocked:
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
            self.plan = FaultPlan.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            self.plan = FaultPlan()
        except (ValueError, TypeError):
            pass  # a half-written file: keep the previous plan
