"""What a protocol is written in: definition errors with the fix, actions, properties, variants."""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.explore import ModelError, explore
from protoproof.models.base import (
    Action,
    Disabled,
    Model,
    ModelDefinitionError,
    NoConfig,
    always,
    require,
    sometimes,
    step,
    transition,
    variant,
)
from protoproof.models.schema import Bool, Enum, Int, Record, SchemaError, Type, Vec
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import (
    Abort,
    Commit,
    CommitOnMajority,
    CommitWithoutVotes,
    Prepared,
    TwoPhase,
    VolatileVote,
)

# ----- a small well-formed model --------------------------------------------------------

LIGHT = Enum("Light", "off", "on")


class Lights(NamedTuple):
    lit: tuple[str, ...]
    flips: int


@dataclass(frozen=True)
class LightsConfig:
    n: int = 2
    max_flips: int = 3


class Switchboard(Model[Lights]):
    """``n`` lights; flip one at a time, at most ``max_flips`` times."""

    name = "switchboard"
    Config = LightsConfig

    def _validate_config(self) -> None:
        if self.config.n < 1:
            raise ValueError("--n must be at least 1")

    def schema(self) -> Type:
        return Record(Lights, lit=Vec(LIGHT, self.config.n), flips=Int(0, self.config.max_flips))

    def init(self) -> list[Lights]:
        return [Lights(("off",) * self.config.n, 0)]

    def ids(self) -> range:
        return range(self.config.n)

    @transition(i="ids")
    def flip(self, s: Lights, i: int) -> Lights | None:
        require(s.flips < self.config.max_flips)
        new = "on" if s.lit[i] == "off" else "off"
        return Lights(s.lit[:i] + (new,) + s.lit[i + 1 :], s.flips + 1)

    @transition()
    def reset(self, s: Lights) -> Lights | None:
        if s.lit == ("off",) * self.config.n:
            return None
        return Lights(("off",) * self.config.n, s.flips)

    @always
    def flips_bounded(self, s: Lights) -> bool:
        """Never more flips than allowed.

        The second line of the docstring is not the description."""
        return s.flips <= self.config.max_flips

    @always("at_most_n_on")
    def not_too_many(self, s: Lights) -> bool:
        return s.lit.count("on") <= self.config.n

    @sometimes
    def all_on(self, s: Lights) -> bool:
        """Every light is on."""
        return all(x == "on" for x in s.lit)

    @step
    def flips_never_decrease(self, s: Lights, a: Action, t: Lights) -> bool:
        """The flip counter only grows."""
        return t.flips >= s.flips


@variant("reset-counts", breaks="flips_never_decrease")
class ResetCounts(Switchboard):
    """Reset zeroes the flip counter."""

    @transition()
    def reset(self, s: Lights) -> Lights | None:
        if s.lit == ("off",) * self.config.n:
            return None
        return Lights(("off",) * self.config.n, 0)


@variant("stuck", breaks=["all_on"])
class Stuck(Switchboard):
    @transition(i="ids")
    def flip(self, s: Lights, i: int) -> Lights | None:
        return None


# A model skeleton for definition errors: each test subclasses it with one mistake.
class Skeleton(Model[int]):
    def schema(self) -> Type:
        return Int(0, 3)

    def init(self) -> list[int]:
        return [0]

    @transition()
    def inc(self, s: int) -> int | None:
        return s + 1 if s < 3 else None

    @sometimes
    def three(self, s: int) -> bool:
        return s == 3


# ----- definition errors, each with the fix in the message ------------------------------


def test_a_transition_parameter_without_a_domain_is_a_definition_error_saying_how_to_declare_it() -> None:
    class NoDomain(Skeleton):
        @transition()
        def add(self, s: int, k: int) -> int:
            return s + k

    with pytest.raises(ModelDefinitionError, match=r"NoDomain\.add: parameter 'k' has no domain") as info:
        NoDomain()
    assert "@transition(k=...)" in str(info.value)


def test_a_domain_naming_no_parameter_is_a_definition_error() -> None:
    class Extra(Skeleton):
        @transition(k=range(2), j=range(2))
        def add(self, s: int, k: int) -> int:
            return s + k

    with pytest.raises(ModelDefinitionError, match=r"Extra\.add: domain 'j' names no parameter"):
        Extra()


def test_a_domain_that_cannot_be_evaluated_is_a_definition_error_naming_the_parameter() -> None:
    class Missing(Skeleton):
        @transition(k="no_such_attribute")
        def add(self, s: int, k: int) -> int:
            return s + k

    with pytest.raises(ModelDefinitionError, match=r"Missing\.add: the domain of 'k' could not be evaluated"):
        Missing()


def test_two_properties_with_the_same_name_are_a_definition_error_naming_both_methods() -> None:
    class Twice(Skeleton):
        @always("three")
        def small(self, s: int) -> bool:
            return s < 4

    with pytest.raises(ModelDefinitionError, match="two properties are named 'three'") as info:
        Twice()
    assert "three" in str(info.value) and "small" in str(info.value)
    assert "give one another name" in str(info.value)


def test_overriding_a_property_method_keeps_one_property_of_that_name() -> None:
    class Override(Skeleton):
        @sometimes
        def three(self, s: int) -> bool:
            return s == 2

    m = Override()
    assert [p.name for p in m.properties] == ["three"]
    assert m.properties[0].fn(2) is True


def test_a_model_without_sometimes_is_a_definition_error_explaining_why_one_is_needed() -> None:
    class Vacuous(Model[int]):
        def schema(self) -> Type:
            return Int(0, 1)

        def init(self) -> list[int]:
            return [0]

        @transition()
        def go(self, s: int) -> int:
            return 1

        @always
        def fine(self, s: int) -> bool:
            return True

    with pytest.raises(ModelDefinitionError, match="declares no @sometimes property") as info:
        Vacuous()
    assert "vacuous" in str(info.value)


def test_a_model_without_transitions_is_a_definition_error() -> None:
    class Inert(Model[int]):
        def schema(self) -> Type:
            return Int(0, 1)

        def init(self) -> list[int]:
            return [0]

        @sometimes
        def zero(self, s: int) -> bool:
            return s == 0

    with pytest.raises(ModelDefinitionError, match="declares no @transition"):
        Inert()


@pytest.mark.parametrize("frozen", [False, None])
def test_a_config_that_is_not_a_frozen_dataclass_is_a_definition_error(frozen: bool | None) -> None:
    if frozen is None:
        class Plain:
            n: int = 1
        cfg: type = Plain
    else:
        @dataclass
        class Mutable:
            n: int = 1
        cfg = Mutable

    class Bad(Skeleton):
        Config = cfg

    fix = r"Bad\.Config must be a frozen dataclass \(@dataclass\(frozen=True\)\)"
    with pytest.raises(ModelDefinitionError, match=fix):
        Bad()


@pytest.mark.parametrize("schema", [int, (Int(0, 3),), None, "Int(0, 3)"])
def test_schema_not_returning_a_type_is_a_definition_error(schema: Any) -> None:
    class Untyped(Skeleton):
        def schema(self) -> Any:
            return schema

    with pytest.raises(ModelDefinitionError, match=r"Untyped\.schema\(\) must return a schema Type"):
        Untyped()


def test_a_model_missing_schema_or_init_is_a_definition_error() -> None:
    class NoSchema(Model[int]):
        @transition()
        def go(self, s: int) -> int:
            return s

        @sometimes
        def x(self, s: int) -> bool:
            return True

    with pytest.raises(ModelDefinitionError, match=r"NoSchema must define schema\(\)"):
        NoSchema()

    class NoInit(NoSchema):
        def schema(self) -> Type:
            return Int(0, 1)

    with pytest.raises(ModelDefinitionError, match=r"NoInit must define init\(\)"):
        NoInit().initial_states()


def test_an_init_returning_no_state_is_a_definition_error() -> None:
    class Empty(Skeleton):
        def init(self) -> list[int]:
            return []

    with pytest.raises(ModelDefinitionError, match=r"Empty\.init\(\) returned no state"):
        Empty().initial_states()


# ----- initial states must be well typed and hashable ------------------------------------


def test_an_initial_state_outside_the_schema_is_rejected() -> None:
    class OutOfRange(Skeleton):
        def init(self) -> list[int]:
            return [0, 7]

    with pytest.raises(SchemaError, match=r"initial state = 7 is not an int in 0\.\.3"):
        OutOfRange().initial_states()
    with pytest.raises(ModelError, match="outside the schema"):
        explore(OutOfRange())


def test_an_unhashable_initial_state_is_rejected_with_the_fix() -> None:
    class Listy(Model[Any]):
        def schema(self) -> Type:
            return Vec(Bool, 2)

        def init(self) -> list[Any]:
            return [[False, True]]

        @transition()
        def go(self, s: Any) -> Any:
            return s

        @sometimes
        def x(self, s: Any) -> bool:
            return True

    with pytest.raises(SchemaError, match="is not hashable") as info:
        Listy().initial_states()
    assert "use tuples and frozensets" in str(info.value)
    with pytest.raises(ModelError):
        explore(Listy())


def test_check_state_accepts_well_typed_states_and_names_what_is_checked() -> None:
    m = Switchboard()
    m.check_state(Lights(("on", "off"), 1))
    with pytest.raises(SchemaError, match=r"next state\.lit\[0\] = 'of'"):
        m.check_state(Lights(("of", "off"), 1), "next state")


# ----- parameters and configuration -----------------------------------------------------


def test_keyword_parameters_build_the_config() -> None:
    m = Switchboard(n=3)
    assert m.config == LightsConfig(n=3, max_flips=3)
    assert Switchboard(LightsConfig(1, 1)).config == LightsConfig(1, 1)
    assert Skeleton().config == NoConfig()


def test_an_unknown_parameter_raises_type_error_naming_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"Switchboard has no parameter 'lights'; parameters: max_flips, n"):
        Switchboard(lights=3)
    with pytest.raises(TypeError, match=r"TCommit has no parameter 'rmz'; parameters: rms"):
        TCommit(rmz=3)
    with pytest.raises(TypeError, match="parameters: none"):
        Skeleton(k=1)


def test_a_config_and_keyword_parameters_together_are_refused() -> None:
    with pytest.raises(TypeError, match="either a config or keyword parameters"):
        Switchboard(LightsConfig(), n=2)


def test_a_bad_parameter_value_is_rejected_by_validate_config() -> None:
    with pytest.raises(ValueError, match="--n must be at least 1"):
        Switchboard(n=0)
    with pytest.raises(ValueError, match="--rms must be at least 1"):
        TCommit(rms=0)


# ----- actions ------------------------------------------------------------------------


def test_actions_are_enumerated_in_declaration_and_domain_order() -> None:
    m = Switchboard(n=3)
    assert [repr(a) for a in m.actions()] == ["flip(i=0)", "flip(i=1)", "flip(i=2)", "reset()"]
    assert m.action_families == ["flip", "reset"]
    assert [a.family for a in m.actions()] == [0, 0, 0, 1]


def test_every_kind_of_domain_is_accepted() -> None:
    class Domains(Skeleton):
        pair = (10, 20)

        def method(self) -> list[str]:
            return ["x", "y"]

        @transition(a="pair", b="method", c=Bool, d=lambda m: range(m.config_size()), e=[None])
        def combo(self, s: int, a: int, b: str, c: bool, d: int, e: None) -> None:
            return None

        def config_size(self) -> int:
            return 1

    reprs = [repr(a) for a in Domains().actions() if a.name == "combo"]
    assert reprs[:3] == [
        "combo(a=10, b='x', c=False, d=0, e=None)",
        "combo(a=10, b='x', c=True, d=0, e=None)",
        "combo(a=10, b='y', c=False, d=0, e=None)",
    ]
    assert len(reprs) == 2 * 2 * 2 * 1 * 1


def test_a_subclass_override_keeps_the_place_of_the_action() -> None:
    assert [repr(a) for a in ResetCounts().actions()] == ["flip(i=0)", "flip(i=1)", "reset()"]


def test_require_false_and_returning_none_both_disable_an_action() -> None:
    with pytest.raises(Disabled):
        require(False)
    require(True)
    m = Switchboard(n=2, max_flips=1)
    s0 = m.initial_states()[0]
    assert [repr(a) for a, _t in m.successors(s0)] == ["flip(i=0)", "flip(i=1)"]  # reset returns None
    s1 = m.apply(s0, Action("flip", (("i", 0),)))
    assert s1 == Lights(("on", "off"), 1)
    assert [repr(a) for a, _t in m.successors(s1)] == ["reset()"]  # require(flips < 1) fails
    assert m.apply(s1, Action("flip", (("i", 1),))) is None


def _caught_disabled() -> Disabled:
    try:
        require(False)
    except Disabled as e:
        return e
    raise AssertionError("require(False) did not raise")


def test_require_raises_without_a_traceback_that_grows_with_every_raise() -> None:
    for _ in range(500):
        e = _caught_disabled()
    depth, tb = 0, e.__traceback__
    while tb is not None:
        depth, tb = depth + 1, tb.tb_next
    assert depth <= 2  # the catching frame and require's own, not one pair per earlier raise
    try:
        raise KeyError("handled")
    except KeyError:
        inside = _caught_disabled()
    assert _caught_disabled().__context__ is None and inside.__context__ is not None


def test_expander_gives_the_same_successors_as_successors() -> None:
    m = Switchboard(n=3)
    expand = m.expander()
    s = Lights(("on", "off", "on"), 2)
    assert expand(s) == list(m.successors(s))


def test_action_equality_ignores_the_family_index() -> None:
    assert Action("go", (("x", 1),), 0) == Action("go", (("x", 1),), 5)
    assert hash(Action("go", (("x", 1),), 0)) == hash(Action("go", (("x", 1),), 5))
    assert Action("go", (("x", 1),)) != Action("go", (("x", 2),))
    assert Action("go", (("x", 1), ("y", 2))).kwargs == {"x": 1, "y": 2}


def _call_shape(name: str) -> dict[str, Any]:
    return {name: lambda **kw: (name, kw)}


ARG_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.tuples(inner, inner) | st.frozensets(st.integers(-3, 3), max_size=3),
    max_leaves=4,
)


IDENTS = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda n: not keyword.iskeyword(n))


@settings(max_examples=100, deadline=None)
@given(name=IDENTS, args=st.dictionaries(IDENTS, ARG_VALUES, max_size=3))
def test_action_repr_is_python_that_evaluates_to_the_same_name_and_arguments(name: str, args: dict[str, Any]) -> None:
    a = Action(name, tuple(args.items()))
    assert eval(repr(a), _call_shape(name)) == (name, args)


def test_actor_action_reprs_evaluate_with_the_message_classes_in_scope() -> None:
    m = TwoPhase(rms=2)
    scope = {"Prepared": Prepared, "Commit": Commit, "Abort": Abort}
    for a in m.actions():
        got = eval(repr(a), {**scope, **_call_shape(a.name)})
        assert got == (a.name, a.kwargs)
    assert "deliver(src='rm0', dst='tm', msg=Prepared(rm=0))" in [repr(a) for a in m.actions()]


# ----- properties -----------------------------------------------------------------------


def test_properties_are_collected_by_kind_with_names_and_first_doc_lines() -> None:
    m = Switchboard()
    assert [(p.name, p.kind) for p in m.properties] == [
        ("flips_bounded", "always"), ("at_most_n_on", "always"), ("all_on", "sometimes"),
        ("flips_never_decrease", "step"),
    ]
    assert [p.name for p in m.invariants] == ["flips_bounded", "at_most_n_on"]
    assert [p.name for p in m.sometimes_properties] == ["all_on"]
    assert [p.name for p in m.step_properties] == ["flips_never_decrease"]
    docs = {p.name: p.doc for p in m.properties}
    assert docs["flips_bounded"] == "Never more flips than allowed."
    assert docs["at_most_n_on"] == ""
    assert m.invariants[0].fn(Lights(("off", "off"), 3)) is True


# ----- variants ----------------------------------------------------------------------


def test_variants_register_on_their_base_model_with_what_they_break() -> None:
    assert Switchboard.variants_of() == {"reset-counts": ResetCounts, "stuck": Stuck}
    assert ResetCounts.variants_of() == Switchboard.variants_of()
    assert ResetCounts.variant_name == "reset-counts" and ResetCounts.breaks == ("flips_never_decrease",)
    assert Stuck.breaks == ("all_on",)
    assert Switchboard.variant_name is None
    assert TwoPhase.variants_of() == {
        "commit-without-votes": CommitWithoutVotes, "commit-on-majority": CommitOnMajority,
        "volatile-vote": VolatileVote,
    }


def test_with_variant_builds_the_variant_with_the_same_config() -> None:
    m = Switchboard(n=3, max_flips=2)
    v = m.with_variant("reset-counts")
    assert type(v) is ResetCounts and v.config == m.config
    assert m.with_variant(None) is m
    assert type(v.with_variant("stuck")) is Stuck
    with pytest.raises(KeyError):
        m.with_variant("no-such-variant")


def test_a_variant_built_by_its_class_alone_gets_the_parameters_its_bug_needs() -> None:
    assert VolatileVote.variant_defaults == {"max_crashes": 1}
    assert VolatileVote().config.max_crashes == 1  # as `check twophase --variant volatile-vote`
    assert TwoPhase.variants_of()["volatile-vote"]().config.max_crashes == 1
    assert VolatileVote(max_crashes=2).config.max_crashes == 2  # a given parameter wins
    assert TwoPhase().config.max_crashes == 0
    r = explore(VolatileVote())
    assert r.verdict == "violated"


def test_a_variant_breaks_what_it_says_and_the_correct_model_does_not() -> None:
    assert explore(Switchboard()).verdict == "exhausted"
    r = explore(Switchboard().with_variant("reset-counts"))
    assert (r.verdict, r.property) == ("violated", "flips_never_decrease")


def test_two_variants_with_one_name_are_a_definition_error() -> None:
    with pytest.raises(ModelDefinitionError, match="two variants named 'stuck'"):
        @variant("stuck", breaks="all_on")
        class AlsoStuck(Switchboard):
            pass


def test_a_variant_must_subclass_a_model() -> None:
    with pytest.raises(ModelDefinitionError, match="must subclass a model"):
        @variant("orphan", breaks="x")
        class Orphan(Model[int]):
            pass
