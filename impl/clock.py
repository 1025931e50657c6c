"""Model time on the wall clock: what a node's handlers get as ``now`` in the runtime.

A model with a ``Clock`` counts time in ticks; a running node reads its tick count from a
``NodeClock``: ``now() = floor((offset + rate * elapsed) / tick)``, with ``elapsed`` read from an
injectable source (``time.monotonic`` by default, so a wall-clock jump does not move it).  Fault
tests give a node an offset and a rate skew, which is how the model's drift is reproduced for
real; a node's handlers read nothing else, so a skewed clock is exactly what they see.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class NodeClock:
    """One node's clock, in model ticks of ``tick_s`` seconds, ``offset_s`` ahead and running at ``rate``."""

    tick_s: float = 1.0
    offset_s: float = 0.0
    rate: float = 1.0
    source: Callable[[], float] = time.monotonic
    start: float = field(default=math.nan)

    def __post_init__(self) -> None:
        if self.tick_s <= 0 or self.rate <= 0:
            raise ValueError(f"tick_s and rate must be > 0 (got tick_s={self.tick_s}, rate={self.rate})")
        if math.isnan(self.start):
            self.start = self.source()

    def seconds(self) -> float:
        """This node's idea of the seconds since the cluster started."""
        return self.offset_s + self.rate * (self.source() - self.start)

    def now(self) -> int:
        """The model's ``now``: whole ticks on this node's clock (never below 0)."""
        return max(0, math.floor(self.seconds() / self.tick_s))

    def to_json(self) -> dict[str, Any]:
        return {"tick_s": self.tick_s, "offset_s": self.offset_s, "rate": self.rate}

    @classmethod
    def from_json(cls, j: dict[str, Any], source: Callable[[], float] = time.monotonic) -> NodeClock:
        return cls(float(j.get("tick_s", 1.0)), float(j.get("offset_s", 0.0)), float(j.get("rate", 1.0)), source)
