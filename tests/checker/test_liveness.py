"""Liveness under fairness on small hand-made models whose answers are known."""

from __future__ import annotations

from typing import Any

import pytest

from protoproof.checker.explore import explore
from protoproof.checker.path import LOOP_MARK, replay
from protoproof.models.base import (
    Model,
    ModelDefinitionError,
    always_eventually,
    eventually,
    leads_to,
    require,
    sometimes,
    terminal,
    transition,
)
from protoproof.models.schema import Int


class Ring(Model[int]):
    """0 -> 1 -> 0 forever (weakly fair steps), unless ``leave`` (enabled at 1 only) goes to 2."""

    def schema(self) -> Int:
        return Int(0, 2)

    def init(self) -> list[int]:
        return [0]

    @transition(fair="weak")
    def go(self, s: int) -> int:
        require(s == 0)
        return 1

    @transition(fair="weak")
    def back(self, s: int) -> int:
        require(s == 1)
        return 0

    @transition()
    def leave(self, s: int) -> int:
        require(s == 1)
        return 2

    @sometimes
    def left(self, s: int) -> bool:
        return s == 2

    @eventually
    def reaches_two(self, s: int) -> bool:
        """Every fair behaviour gets to 2."""
        return s == 2

    @terminal
    def done(self, s: int) -> bool:
        return s == 2


class WeakRing(Ring):
    @transition(fair="weak")
    def leave(self, s: int) -> int:
        require(s == 1)
        return 2


class StrongRing(Ring):
    @transition(fair="strong")
    def leave(self, s: int) -> int:
        require(s == 1)
        return 2


class Spin(Ring):
    """0 spins on itself (weakly fair); ``leave`` is enabled at 0 all along the spin."""

    @transition(fair="weak")
    def go(self, s: int) -> int:
        require(s == 0)
        return 0

    @transition()
    def leave(self, s: int) -> int:
        require(s == 0)
        return 2


class WeakSpin(Spin):
    @transition(fair="weak")
    def leave(self, s: int) -> int:
        require(s == 0)
        return 2


def test_a_fair_cycle_whose_exit_is_continuously_enabled_and_weakly_fair_is_not_reported() -> None:
    r = explore(WeakSpin())
    assert r.verdict == "exhausted"
    assert "checked on the full graph: reaches_two" in r.liveness


def test_a_cycle_whose_exit_is_not_fair_is_reported_as_a_lasso() -> None:
    r = explore(Spin())
    assert (r.verdict, r.property) == ("violated", "reaches_two")
    assert r.path is not None
    assert r.path.action_reprs() == ["go()"]
    assert r.path.loop_start == 0
    assert r.path.violation("reaches_two") is not None


def test_weak_fairness_misses_an_exit_enabled_only_intermittently_and_strong_fairness_takes_it() -> None:
    weak = explore(WeakRing())
    assert (weak.verdict, weak.property) == ("violated", "reaches_two")
    assert weak.path is not None and weak.path.action_reprs() == ["go()", "back()"]
    assert weak.path.loop_start == 0
    assert explore(StrongRing()).verdict == "exhausted"


class Detour(StrongRing):
    """StrongRing (0 <-> 1, a strongly fair ``leave`` from 1 to 2) with a detour 0 <-> 3: a
    behaviour keeping to the detour never sees ``leave`` enabled, so strong fairness allows it."""

    def schema(self) -> Int:
        return Int(0, 3)

    @transition(fair="weak")
    def detour(self, s: int) -> int:
        require(s in (0, 3))
        return 3 - s


def test_strong_fairness_does_not_save_a_loop_that_avoids_the_states_enabling_the_exit() -> None:
    r = explore(Detour())
    assert (r.verdict, r.property) == ("violated", "reaches_two")
    assert r.path is not None
    assert r.path.action_reprs() == ["detour()", "detour()"]
    assert r.path.loop_start == 0


def test_the_loop_is_marked_in_the_text_and_returns_to_its_start() -> None:
    r = explore(WeakRing())
    assert r.path is not None
    text = r.path.to_text().splitlines()
    assert text[1] == LOOP_MARK
    assert text[-1].strip() == "back to state 0, forever"
    assert r.path.states[-1] == r.path.states[r.path.loop_start or 0]


class Stop(Model[int]):
    """0 -> 1 and stops (no action at 1); 0 -> 2 is the other way, fair."""

    def schema(self) -> Int:
        return Int(0, 2)

    def init(self) -> list[int]:
        return [0]

    @transition()
    def halt(self, s: int) -> int:
        require(s == 0)
        return 1

    @transition(fair="weak")
    def finish(self, s: int) -> int:
        require(s == 0)
        return 2

    @sometimes
    def finished(self, s: int) -> bool:
        return s == 2

    @eventually
    def reaches_two(self, s: int) -> bool:
        return s == 2


def test_a_deadlock_where_the_property_never_held_is_a_lasso_that_stutters() -> None:
    r = explore(Stop())
    assert (r.verdict, r.property) == ("violated", "reaches_two")
    assert r.path is not None and r.path.action_reprs() == ["halt()"]
    assert r.path.loop_start == 1  # the last state: it stays there
    assert "stays in this state forever" in r.path.to_text()
    assert r.path.violation("reaches_two") is not None


def test_a_behaviour_may_stop_where_only_unfair_actions_are_enabled() -> None:
    """TLA+'s stuttering: an action that is not fair may never happen, even if it is the only one."""
    r = explore(Ring())  # go and back are fair, leave is not: stuck nowhere, but looping forever
    assert r.path is not None and r.path.loop_start == 0 and len(r.path) == 2

    class Lazy(Ring):
        @transition()
        def go(self, s: int) -> int:
            require(s == 0)
            return 1

    r = explore(Lazy())
    assert (r.verdict, r.property) == ("violated", "reaches_two")
    assert r.path is not None and r.path.action_reprs() == [] and r.path.loop_start == 0
    assert r.path.violation("reaches_two") is not None
    assert replay(WeakRing(), [], loop_start=0).violation("reaches_two") is None  # go is fair there


def test_a_terminal_state_is_no_deadlock_but_an_unmarked_end_is() -> None:
    assert explore(WeakSpin(), deadlock=True).verdict == "exhausted"
    r = explore(Stop(), deadlock=True, liveness=False)
    assert (r.verdict, r.property) == ("violated", "deadlock")
    assert replay(WeakSpin(), ["leave()"]).violation("deadlock") is None
    assert replay(Stop(), ["halt()"]).violation("deadlock") is not None


class Requests(Model[tuple[int, int]]):
    """A request (``req``) is served by a weakly fair ``serve``; ``idle`` spins while nothing is asked."""

    def schema(self) -> Any:
        from protoproof.models.schema import Tuple

        return Tuple(Int(0, 1), Int(0, 1))

    def init(self) -> list[tuple[int, int]]:
        return [(0, 0)]

    @transition()
    def ask(self, s: tuple[int, int]) -> tuple[int, int]:
        require(s == (0, 0))
        return (1, 0)

    @transition(fair="weak")
    def serve(self, s: tuple[int, int]) -> tuple[int, int]:
        require(s[0] == 1)
        return (0, 1)

    @transition()
    def reset(self, s: tuple[int, int]) -> tuple[int, int]:
        require(s == (0, 1))
        return (0, 0)

    @transition()
    def idle(self, s: tuple[int, int]) -> tuple[int, int]:
        return s

    @sometimes
    def served(self, s: tuple[int, int]) -> bool:
        return s[1] == 1

    @leads_to("asked")
    def answered(self, s: tuple[int, int]) -> bool:
        """Every request is served."""
        return s[1] == 1

    def asked(self, s: tuple[int, int]) -> bool:
        return s[0] == 1


class LazyRequests(Requests):
    @transition()
    def serve(self, s: tuple[int, int]) -> tuple[int, int]:
        require(s[0] == 1)
        return (0, 1)


def test_leads_to_holds_when_the_answer_is_weakly_fair_and_fails_when_it_is_not() -> None:
    assert explore(Requests()).verdict == "exhausted"
    r = explore(LazyRequests())
    assert (r.verdict, r.property) == ("violated", "answered")
    assert r.path is not None
    assert r.path.action_reprs() == ["ask()"]
    assert r.path.loop_start == 1  # serve is not fair: the behaviour may stop after the request
    assert r.path.violation("answered") is not None
    # Stopping before the request is no violation: P ~> Q only judges from a P state on.
    assert replay(LazyRequests(), [], loop_start=0).violation("answered") is None


class Pulse(Requests):
    @always_eventually
    def pulses(self, s: tuple[int, int]) -> bool:
        """A request is served infinitely often (false: nobody has to ask)."""
        return s[1] == 1


def test_always_eventually_is_violated_by_a_fair_loop_after_any_prefix() -> None:
    r = explore(Pulse(), properties=["pulses"])
    assert (r.verdict, r.property) == ("violated", "pulses")
    assert r.path is not None
    assert r.path.action_reprs() == [] and r.path.loop_start == 0  # nothing fair is enabled at the start
    assert r.path.violation("pulses") is not None
    # after a request is served once, the loop that never serves again is still a violation
    again = replay(Pulse(), ["ask()", "serve()", "reset()", "idle()"], loop_start=3)
    assert again.violation("pulses") is not None
    assert replay(Pulse(), ["ask()", "serve()", "reset()"], loop_start=0).violation("pulses") is None


def test_a_replayed_lasso_script_still_violates_its_property() -> None:
    r = explore(LazyRequests())
    assert r.path is not None
    script = r.path.to_python(r.property)
    assert "loop_start=1" in script
    again = replay(LazyRequests(), r.path.action_reprs(), loop_start=r.path.loop_start)
    assert again.violation("answered") is not None
    # the same steps without the loop are no counterexample, nor is a loop starving a fair step
    assert replay(LazyRequests(), r.path.action_reprs()).violation("answered") is None
    assert replay(Requests(), ["ask()", "idle()"], loop_start=1).violation("answered") is None
    assert replay(LazyRequests(), ["ask()", "idle()"], loop_start=1).violation("answered") is not None


def test_liveness_is_not_checked_under_symmetry_and_the_result_says_so() -> None:
    from protoproof.models.twophase import TwoPhase

    class Decides(TwoPhase):
        @eventually
        def tm_decides(self, s: Any) -> bool:
            return bool(s.nodes[-1].state != "init")

    r = explore(Decides(rms=2), symmetry=True)
    assert r.verdict == "exhausted"
    assert r.liveness.startswith("not checked under --symmetry")
    assert r.stats.edges_stored == 0


def test_a_fair_fault_is_a_definition_error() -> None:
    from protoproof.models.twophase import TwoPhase

    class FairCrash(TwoPhase):
        def fairness(self) -> dict[str, str]:
            return {"crash": "weak"}

    with pytest.raises(ModelDefinitionError, match=r"'crash' is a fault .* cannot be fair"):
        FairCrash(rms=2, max_crashes=1).fairness_by_family()


def test_fairness_naming_no_family_is_a_definition_error() -> None:
    class Typo(Ring):
        def fairness(self) -> dict[str, str]:
            return {"leav": "weak"}

    with pytest.raises(ModelDefinitionError, match="'leav' is no action family"):
        explore(Typo())


def test_an_unknown_fairness_kind_is_a_definition_error() -> None:
    with pytest.raises(ModelDefinitionError, match="'weak' or 'strong'"):
        transition(fair="eventually")


def test_fair_steps_makes_every_own_step_fair_but_no_fault_and_a_node_step_can_be_marked_fair() -> None:
    from protoproof.models.twophase import ResourceManager, TwoPhase

    class Fair(TwoPhase):
        def fairness(self) -> dict[str, str]:
            return self.fair_steps("strong", roles=["tm"])

    m = Fair(rms=2, max_crashes=1)
    assert m.fairness() == {"tm.commit": "strong", "tm.abort": "strong", "tm.receive Prepared": "strong"}
    assert m.fault_families() == ["crash"]
    assert TwoPhase(rms=2).fairness() == {}

    class EagerRM(ResourceManager):
        @transition(fair="weak")
        def prepare(self, s: str) -> Any:
            return super().prepare(s)

    class Eager(TwoPhase):
        rm_class = EagerRM

    fams = Eager(rms=2).action_families
    assert Eager(rms=2).fairness_by_family()[fams.index("rm.prepare")] == "weak"


class Clock(Model[int]):
    """A cycle through 20,000 states (deeper than Python's recursion limit), fair steps."""

    def schema(self) -> Int:
        return Int(0, 19_999)

    def init(self) -> list[int]:
        return [0]

    @transition(fair="weak")
    def tick(self, s: int) -> int:
        return (s + 1) % 20_000

    @sometimes
    def wrapped(self, s: int) -> bool:
        return s == 19_999

    @always_eventually
    def at_noon(self, s: int) -> bool:
        return s == 12_000

    @eventually
    def never(self, s: int) -> bool:
        return s < 0


def test_a_cycle_longer_than_the_recursion_limit_is_searched_without_recursion() -> None:
    r = explore(Clock())
    assert (r.verdict, r.property) == ("violated", "never")
    assert r.path is not None and r.path.loop_start == 0 and len(r.path) == 20_000
    assert explore(Clock(), properties=["at_noon"]).verdict == "exhausted"


class NeverAsked(Requests):
    def asked(self, s: tuple[int, int]) -> bool:
        return False  # the premise never holds: "every request is served" is then true of nothing


def test_a_leads_to_whose_premise_never_holds_is_reported_vacuous() -> None:
    r = explore(NeverAsked())
    assert r.verdict == "exhausted"
    assert "VACUOUS: the premise of answered holds in no reachable state" in r.liveness
    assert "VACUOUS" not in explore(Requests()).liveness


def test_the_lease_lock_at_its_defaults_says_its_liveness_property_is_vacuous() -> None:
    from protoproof.models.lease import Lease, LeaseConfig

    # No crash is allowed at the defaults, so "the holder crashed" never happens (a shorter
    # horizon than the default 4 keeps the test quick; the default run says the same).
    r = explore(Lease(LeaseConfig(max_time=2)), properties=["another_acquires"])
    assert "VACUOUS: the premise of another_acquires" in r.liveness
