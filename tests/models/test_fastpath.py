"""``state_expander`` builds a plain node's step from its handler's kept result: it must give exactly
the successors (actions, states, order) of running every action instance, on every actor system."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from protoproof.models import fastpath
from protoproof.models.actors import ActorSystem
from protoproof.models.raft import Raft
from protoproof.models.registry import registered


def first_mismatch(model: ActorSystem, states: int) -> str | None:
    """The first of ``states`` breadth-first states where the expander and ``successors`` differ."""
    expand = model.expander()
    seen = set(model.initial_states())
    todo = deque(seen)
    while todo and len(seen) < states:
        s = todo.popleft()
        fast, slow = expand(s), list(model.successors(s))
        if fast != slow:
            return f"in {s!r}: {fast!r} != {slow!r}"
        for _a, t in slow:
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return None


def actor_models() -> list[Any]:
    out = []
    for name, p in sorted(registered().items()):
        cls = p.model_class()
        if issubclass(cls, ActorSystem):
            out += [(name, v) for v in [None, *sorted(cls().variants())]]
    return out


@pytest.mark.parametrize(("name", "variant"), actor_models())
def test_the_expander_gives_every_actor_systems_successors(name: str, variant: str | None) -> None:
    model = registered()[name].model_class()().with_variant(variant)
    assert isinstance(model, ActorSystem)
    assert first_mismatch(model, 300) is None


@pytest.mark.parametrize("params", [{}, {"servers": 3, "max_log": 0, "max_messages": 1, "lossy": False,
                                         "duplicating": False}, {"max_copies": 2, "max_messages": 2}])
def test_the_expander_gives_rafts_successors_with_its_bag_constraint(params: dict[str, Any]) -> None:
    assert first_mismatch(Raft(**params), 1500) is None


def test_a_kept_result_that_forgets_a_send_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above can fail: a planner that drops what a step sends."""
    real = fastpath._planner

    def forgetful(system: ActorSystem, i: int) -> Any:
        plan = real(system, i)
        return lambda r: None if (p := plan(r)) is None else (p[0], ())

    monkeypatch.setattr(fastpath, "_planner", forgetful)
    assert first_mismatch(Raft(), 300) is not None


def test_a_handler_that_answers_differently_each_time_is_still_caught() -> None:
    """The kept results must not hide a nondeterministic handler: the checker's second look at
    its first states runs every action instance again."""
    import itertools

    from protoproof.checker.explore import Nondeterminism, explore
    from protoproof.models.actors import Send
    from protoproof.models.networks import UnorderedBag

    from .test_actors import Ping, Pinger, PingPong

    calls = itertools.count()

    class Flaky(Pinger):
        def ping(self, s: Any) -> Any:
            if s.sent >= self.pings:
                return None
            return s._replace(sent=s.sent + 1), (Send(self.peer, Ping(next(calls) % 2)),)

    with pytest.raises(Nondeterminism, match="is not deterministic"):
        explore(PingPong(UnorderedBag, pinger=Flaky))
