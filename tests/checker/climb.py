"""A toy model for the checker's tests of shortening and of the novelty search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from protoproof.models.base import Model, always, require, sometimes, transition
from protoproof.models.schema import Int, Record, Type


class XY(NamedTuple):
    x: int
    y: int


@dataclass(frozen=True)
class ClimbConfig:
    top: int = 6
    bad: tuple[int, int] | None = None  # a state that breaks ``not_bad``


class Climb(Model[XY]):
    """``x`` climbs to ``top`` by ``up`` and falls by ``down``; ``y`` is a distraction (``wiggle``).
    ``below_top`` breaks when ``x`` reaches ``top`` (the shortest run: ``top`` ups); ``y_small``
    breaks when ``y`` reaches 3."""

    name = "climb"
    Config = ClimbConfig

    def schema(self) -> Type:
        t = self.config.top
        return Record(XY, x=Int(0, t), y=Int(0, 3))

    def init(self) -> list[XY]:
        return [XY(0, 0)]

    @transition()
    def up(self, s: XY) -> XY:
        require(s.x < self.config.top)
        return s._replace(x=s.x + 1)

    @transition()
    def down(self, s: XY) -> XY:
        require(s.x > 0)
        return s._replace(x=s.x - 1)

    @transition()
    def wiggle(self, s: XY) -> XY:
        return s._replace(y=(s.y + 1) % 3)

    @always
    def below_top(self, s: XY) -> bool:
        """x has not reached the top."""
        return s.x < self.config.top

    @always
    def not_bad(self, s: XY) -> bool:
        """The state is not ``bad``."""
        return s != self.config.bad

    @always
    def y_small(self, s: XY) -> bool:
        """y stays below 3 (it always does: wiggle wraps at 3)."""
        return s.y < 3

    @sometimes
    def wiggled(self, s: XY) -> bool:
        """y moved."""
        return s.y > 0
