"""Environment actions: clocks within a drift bound, partitions, a model's own environment steps."""

from __future__ import annotations

import ast
from typing import Any, NamedTuple

import pytest

from protoproof.checker.explore import explore
from protoproof.models.actors import Envelope, Faults, Node
from protoproof.models.base import Action, ModelDefinitionError, always, require, sometimes, step
from protoproof.models.environment import Clock, clock_of, environment, now
from protoproof.models.schema import Bool, Record, Type
from protoproof.models.tcommit import TCommit

from .envmodels import Deadline, Hi, LeakyPartitions, Leases, NoMargin, Talk, Talker, UnboundedDelay

# ----- clocks -------------------------------------------------------------------------


class BoundedLeases(Leases):
    """The lease model with the clock facility's own promises stated as properties."""

    @always
    def clocks_within_the_drift_bound(self, s: Any) -> bool:
        """Every clock a node reads is within ``drift`` of real time."""
        return all(abs(clock_of(s, n) - now(s)) <= self.config.drift for n in range(self.config.clients + 1))

    @step
    def clocks_are_monotonic(self, s: Any, a: Action, t: Any) -> bool:
        """No step sets real time or a clock back."""
        return now(t) >= now(s) and all(y >= x for x, y in zip(s.env.clocks, t.env.clocks, strict=True))

    @sometimes
    def a_clock_leads(self, s: Any) -> bool:
        return clock_of(s, 1) == now(s) + self.config.drift

    @sometimes
    def a_clock_lags(self, s: Any) -> bool:
        return clock_of(s, 1) == now(s) - self.config.drift and now(s) > 0


def test_clocks_stay_within_the_drift_bound_monotonic_and_reach_both_ends_of_it() -> None:
    r = explore(BoundedLeases())
    assert r.verdict == "exhausted" and not r.unreached()
    assert r.stats.distinct_states == 63_818


def test_lease_safety_holds_with_a_margin_covering_the_drift_bound() -> None:
    r = explore(Leases())
    assert r.verdict == "exhausted"
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (63_818, 180_165, 20)
    assert r.examples["second_grant"] is not None


def test_lease_safety_breaks_when_clients_ignore_the_drift_bound() -> None:
    r = explore(NoMargin())
    assert r.verdict == "violated" and r.property == "lease_safety"
    assert r.path is not None and len(r.path.actions) == 12
    assert "tick()" in map(repr, r.path.actions)
    text = r.path.to_text()
    assert "tick()  ->  now=1" in text and "clock(node='server0')  ->  clock.server0=" in text
    # With perfect clocks no margin is needed: the bug is the drift (a second grant needs time 5).
    perfect = explore(NoMargin(drift=0, max_time=5))
    assert perfect.verdict == "exhausted" and perfect.stats.distinct_states == 1_659
    # A margin below 4 * drift is not enough either.
    assert explore(Leases(margin=3)).property == "lease_safety"


def test_tick_and_clock_steps_are_actions_with_python_reprs_after_the_node_actions() -> None:
    m = Leases()
    names = [repr(a) for a in m.actions()]
    assert names[-4:] == ["tick()", "clock(node='server0')", "clock(node='client1')", "clock(node='client2')"]
    for a in names:
        ast.parse(a, mode="eval")
    assert m.action_families[-2:] == ["env.tick", "env.clock"]


def test_time_stops_at_max_time_and_a_clock_may_not_run_ahead_of_the_bound() -> None:
    m = Leases(max_time=1)
    s = m.initial_states()[0]
    tick, ahead = Action("tick"), Action("clock", (("node", "client1"),))
    s1 = m.step(s, ahead)
    assert s1 is not None and clock_of(s1, 1) == 1 and now(s1) == 0
    assert m.step(s1, ahead) is None  # two ahead of real time: beyond drift 1
    s2 = m.step(s1, tick)
    assert s2 is not None and now(s2) == 1 and s2.env.clocks == (0, 1, 0)
    assert m.step(s2, tick) is None  # max_time
    assert m.step(m.step(s2, ahead), ahead) is None  # type: ignore[arg-type]


def test_a_tick_drags_a_clock_that_would_fall_behind_the_bound() -> None:
    m = Leases()
    s1 = m.step(m.initial_states()[0], Action("tick"))
    assert s1 is not None and s1.env.clocks == (0, 0, 0)
    s2 = m.step(s1, Action("tick"))
    assert s2 is not None and now(s2) == 2 and s2.env.clocks == (1, 1, 1)


def test_a_handler_gets_its_own_nodes_clock_as_now() -> None:
    m = Leases()
    s1 = m.step(m.initial_states()[0], Action("clock", (("node", "client2"),)))
    assert s1 is not None
    s = m.step(s1, Action("request", (("node", "client2"),)))
    assert s is not None and s.nodes[2].asked == 1 and s.nodes[1].asked == -1  # client2's clock, not now


def test_a_clock_reading_node_without_a_clock_is_a_definition_error() -> None:
    class NoClock(Leases):
        def clock(self) -> Clock | None:  # type: ignore[override]
            return None

    with pytest.raises(ModelDefinitionError, match=r"reads_clock.*clock\(\) returns None"):
        NoClock()


def test_describe_state_shows_real_time_and_the_clocks_nodes_read() -> None:
    m = Leases()
    d = m.describe_state(m.initial_states()[0])
    assert d["now"] == 0 and d["clock.client1"] == 0 and "partition" not in d


# ----- partitions ---------------------------------------------------------------------


def test_split_lists_every_way_to_cut_the_nodes_and_heal_joins_them() -> None:
    m = Talk()
    splits = [a for a in m.actions() if a.name == "split"]
    assert [repr(a) for a in splits] == [
        "split(groups=(('n0', 'n1'), ('n2',)))",
        "split(groups=(('n0', 'n2'), ('n1',)))",
        "split(groups=(('n0',), ('n1', 'n2')))",
        "split(groups=(('n0',), ('n1',), ('n2',)))",
    ]
    assert repr(m.actions()[-1]) == "heal()"
    assert m.action_families[-2:] == ["env.split", "env.heal"]


def test_a_message_across_a_partition_waits_until_it_heals() -> None:
    m = Talk()
    s = m.step(m.initial_states()[0], Action("hello", (("node", "n0"),)))
    assert s is not None
    cut = Action("split", (("groups", (("n0",), ("n1", "n2"))),))
    to_n1 = Action("deliver", (("src", "n0"), ("dst", "n1"), ("msg", Hi())))
    t = m.step(s, cut)
    assert t is not None and m.step(t, to_n1) is None
    assert Envelope(0, 1, Hi()) in m.in_flight(t)  # held, not lost
    assert m.describe_state(t)["partition"] == [["n0"], ["n1", "n2"]]
    healed = m.step(t, Action("heal"))
    assert healed is not None and m.step(healed, to_n1) is not None
    assert m.step(healed, cut) is None  # at most max_partitions splits in a run


def test_partitions_are_checked_and_pinned() -> None:
    r = explore(Talk())
    assert r.verdict == "exhausted" and not r.unreached()
    assert (r.stats.distinct_states, r.stats.transitions) == (30, 58)
    assert explore(Talk(partitions=0)).stats.distinct_states == 5


def test_a_partition_that_still_delivers_is_caught() -> None:
    r = explore(LeakyPartitions())
    assert r.verdict == "violated" and r.property == "nothing_crosses_a_partition"
    assert r.path is not None and [a.name for a in r.path.actions] == ["hello", "split", "deliver"]


def test_partitions_with_a_node_reading_its_inbox_are_a_definition_error() -> None:
    class Reader(Talker):
        reads_inbox = True

    class ReadingTalk(Talk):
        def nodes(self) -> list[Node[Any]]:
            return [Reader(k, self.config.n) for k in range(self.config.n)]

        def network(self) -> Any:
            from protoproof.models.actors import DuplicatingSet

            return DuplicatingSet()

    with pytest.raises(ModelDefinitionError, match=r"partitions .* reads_inbox"):
        ReadingTalk()


# ----- a model's own environment actions ---------------------------------------------


class Weather(NamedTuple):
    storm: bool


class StormyTalk(Talk):
    """A storm (the model's own environment value) holds every message while it lasts."""

    def faults(self) -> Faults:
        return Faults()

    def env_type(self) -> Type:
        return Record(Weather, storm=Bool)

    def env_init(self) -> Weather:
        return Weather(False)

    @environment(storm=(False, True))
    def weather(self, s: Any, storm: bool) -> Any:
        require(s.env.extra.storm != storm)
        return s._replace(env=s.env._replace(extra=Weather(storm)))

    @always
    def no_news_in_a_storm(self, s: Any) -> bool:
        """Nobody but node 0 has heard while a storm rages (false: a storm does not stop delivery)."""
        return not s.env.extra.storm or not any(s.nodes[1:])


def test_a_declared_environment_action_is_an_action_of_the_system() -> None:
    m = StormyTalk()
    assert [repr(a) for a in m.actions()[-2:]] == ["weather(storm=False)", "weather(storm=True)"]
    assert m.action_families[-1] == "env.weather"
    r = explore(m)
    assert r.verdict == "violated" and r.property == "no_news_in_a_storm"
    assert r.path is not None and [repr(a) for a in r.path.actions][-1] in (
        "weather(storm=True)", "deliver(src='n0', dst='n1', msg=Hi())")
    assert m.describe_state(r.path.states[-1])["env"] == Weather(True)


def test_an_environment_parameter_without_a_domain_is_a_definition_error() -> None:
    class Bad(Talk):
        @environment()
        def gust(self, s: Any, strength: int) -> Any:
            return s

    with pytest.raises(ModelDefinitionError, match="gust: parameter 'strength' has no domain"):
        Bad()


# ----- which expansion path runs -------------------------------------------------------


class Quiet(Talk):
    def faults(self) -> Faults:
        return Faults()

    def network(self) -> Any:
        from protoproof.models.actors import DuplicatingSet

        return DuplicatingSet()


def test_the_checker_says_which_expansion_path_ran_and_why() -> None:
    assert explore(Quiet()).expansion == "packed codes"
    assert explore(Quiet(), symmetry=False, on_codes=False).expansion == "general: packed codes turned off"

    class WithPartitions(Quiet):
        def faults(self) -> Faults:
            return Faults(max_partitions=1)

    assert explore(WithPartitions()).expansion == "general: environment actions (env.split, env.heal)"
    assert explore(Leases(max_time=1)).expansion == "general: environment actions (env.tick, env.clock)"
    assert explore(Talk(partitions=0)).expansion.startswith("general: the network is unordered multiset")
    assert explore(TCommit()).expansion == "general: TCommit has no packed expander (Model.code_expander)"


def test_overriding_instances_is_reported_not_silently_slower() -> None:
    class Custom(Quiet):
        def _instances(self) -> Any:
            return super()._instances()

    r = explore(Custom())
    assert r.expansion == "general: Custom overrides _instances() (declare extra steps with @environment instead)"
    assert r.stats.distinct_states == explore(Quiet()).stats.distinct_states


def test_a_system_without_environment_has_one_environment_value() -> None:
    m = Quiet()
    assert m.state_type.fields["env"].size == 1  # type: ignore[attr-defined]
    assert not any(a.name in ("tick", "split", "heal") for a in m.actions())




# ----- bounded message delay -----------------------------------------------------------


def test_a_message_is_delivered_within_the_delay_bound() -> None:
    r = explore(Deadline())
    assert r.verdict == "exhausted" and not r.unreached()
    assert (r.stats.distinct_states, r.stats.transitions) == (24, 25)


def test_without_a_delay_bound_a_message_may_be_late() -> None:
    r = explore(UnboundedDelay())
    assert r.verdict == "violated" and r.property == "heard_in_time"
    assert r.path is not None and [repr(a) for a in r.path.actions] == [
        "hello(node='n0')", "tick()", "tick()"]


def test_a_tick_waits_for_a_message_that_is_due() -> None:
    m = Deadline()
    s = m.step(m.initial_states()[0], Action("hello", (("node", "n0"),)))
    assert s is not None and s.env.ages == (0,)
    t = m.step(s, Action("tick"))
    assert t is not None and t.env.ages == (1,)
    assert m.step(t, Action("tick")) is None  # the hi is due: deliver it first
    u = m.step(t, Action("deliver", (("src", "n0"), ("dst", "n1"), ("msg", Hi()))))
    assert u is not None
    v = m.step(u, Action("tick"))
    assert v is not None and v.env.ages == (0,)


def test_a_delay_bound_needs_a_bag_of_single_messages() -> None:
    class OnASet(Deadline):
        def network(self) -> Any:
            from protoproof.models.actors import DuplicatingSet

            return DuplicatingSet()

    with pytest.raises(ModelDefinitionError, match=r"max_delay.*UnorderedBag\(max_copies=1\)"):
        OnASet()
