"""Runtime timers: delays drawn from the range a node declares, by a seeded, injectable generator."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from protoproof.impl.host import Host
from protoproof.impl.storage import Store
from protoproof.models.actors import ActorSystem, Effect, Node, SetTimer
from protoproof.models.base import ModelDefinitionError, always, sometimes
from protoproof.models.schema import Int, OneOf, Type


class Ticker(Node[int]):
    """Counts its timeouts and re-arms its timer up to three times."""

    role = "ticker"
    timers = ("tick",)
    timer_ranges: ClassVar[dict[Any, tuple[float, float]]] = {"tick": (0.01, 0.03)}

    def state_type(self) -> Type:
        return Int(0, 3)

    def on_start(self) -> tuple[int, Sequence[Effect]]:
        return 0, (SetTimer("tick"),)

    def on_timeout(self, s: int, timer: Any) -> tuple[int, Sequence[Effect]] | None:
        return s + 1, ((SetTimer("tick"),) if s + 1 < 3 else ())


class Recording(random.Random):
    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.drawn: list[tuple[float, float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        x = super().uniform(a, b)
        self.drawn.append((a, b, x))
        return x


def run(tmp_path: Path, seed: int) -> tuple[int, list[tuple[float, float, float]]]:
    rng = Recording(seed)

    async def main() -> int:
        host: Host[int] = Host(Ticker(0), Store(tmp_path / f"s{seed}.sqlite3"), OneOf(None), rng=rng)
        host.state(0)
        for _ in range(100):
            await asyncio.sleep(0.01)
            if host.state(0) == 3:
                break
        host.close()
        host.store.close()
        return host.state(0)

    return asyncio.run(main()), rng.drawn


def test_a_timer_delay_is_drawn_from_the_nodes_declared_range_by_the_injected_generator(tmp_path: Path) -> None:
    fired, drawn = run(tmp_path, seed=7)
    assert fired == 3 and len(drawn) == 3
    assert all(lo == 0.01 and hi == 0.03 and lo <= x <= hi for lo, hi, x in drawn)
    assert len({x for _lo, _hi, x in drawn}) == 3  # randomised, not one fixed delay
    assert run(tmp_path, seed=7)[1] == drawn  # seeded: the same delays again


def test_the_model_ignores_timer_delays_and_rejects_a_range_for_an_undeclared_timer() -> None:
    class One(ActorSystem):
        node_class: type[Node[Any]] = Ticker

        def nodes(self) -> list[Node[Any]]:
            return [self.node_class(0)]

        def message_type(self) -> Type:
            return OneOf(None)

        def envelopes(self) -> list[Any]:
            return []

        @always
        def bounded(self, s: Any) -> bool:
            return bool(s.nodes[0] <= 3)

        @sometimes
        def done(self, s: Any) -> bool:
            return bool(s.nodes[0] == 3)

    m = One()
    s = m.initial_states()[0]
    assert s.timers == (frozenset({"tick"}),)  # armed, whatever its delay
    assert [a.name for a, _t in m.successors(s)] == ["timeout"]

    class Stray(Ticker):
        timer_ranges: ClassVar[dict[Any, tuple[float, float]]] = {"tock": (0.0, 1.0)}

    class Bad(One):
        node_class = Stray

    with pytest.raises(ModelDefinitionError, match=r"timer_ranges\['tock'\]"):
        Bad()
