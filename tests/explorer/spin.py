"""The explorer tests' smallest liveness bug: a lasso that `check` finds at once."""

from __future__ import annotations

from protoproof.models.base import Model, eventually, require, sometimes, transition
from protoproof.models.schema import Int, Type


class Spin(Model[int]):
    """Flips between 0 and 1 (fairly) and may finish at 2 (unfairly): `done` can be missed forever."""

    name = "spin-explorer-test"

    def schema(self) -> Type:
        return Int(0, 2)

    def init(self) -> list[int]:
        return [0]

    @transition(fair="weak")
    def flip(self, s: int) -> int:
        require(s < 2)
        return 1 - s

    @transition()
    def finish(self, s: int) -> int:
        require(s == 1)
        return 2

    @eventually
    def done(self, s: int) -> bool:
        return s == 2

    @sometimes
    def finished(self, s: int) -> bool:
        return s == 2
