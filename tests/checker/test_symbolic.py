"""Symbolic execution of the model's own functions: values, the path explorer, the twin, errors."""

from __future__ import annotations

import random
from typing import Any, NamedTuple

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.conformance import Checker
from protoproof.checker.symbolic import (
    Nondeterminism,
    PathExplosion,
    Sym,
    SymbolicError,
    SymbolicModel,
    SymSet,
    b_or,
    decode,
    domain,
    eq,
    explore,
    fresh,
    predicate_formula,
    to_z3,
    truth,
    variables,
)
from protoproof.checker.twin import twin
from protoproof.models.schema import Bool, Enum, Id, Int, OneOf, Record, Seq, SetOf, Tuple, Type, Union, Vec
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase

Color = Enum("Color", "red", "green", "blue")


class Rec(NamedTuple):
    flag: bool
    num: int
    color: str
    opt: Any
    vec: tuple[int, ...]
    pair: tuple[Any, ...]
    bag: frozenset[str]


REC = Record(
    Rec, flag=Bool, num=Int(-1, 3), color=Color, opt=OneOf(None, 0, 1), vec=Vec(Id("node", 3), 2),
    pair=Tuple(Bool, Color), bag=SetOf(["a", "b", "c"]),
)


def _solve(*fs: Any) -> z3.ModelRef | None:
    s = z3.Solver()
    s.add(*(to_z3(f) for f in fs))
    return s.model() if s.check() == z3.sat else None


# ----- values of every type -------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_a_fresh_value_pinned_to_a_concrete_one_decodes_back_to_it(seed: int) -> None:
    v = REC.sample(random.Random(seed))
    x = fresh(REC, "x")
    m = _solve(eq(REC, x, v), domain(REC, x))
    assert m is not None
    assert decode(REC, x, m) == v


def test_domain_constraints_bound_ints_and_nothing_else() -> None:
    x = fresh(REC, "x")
    assert _solve(domain(REC, x), x.num._int() == 4) is None
    assert _solve(domain(REC, x), x.num._int() == 3) is not None
    assert len(variables(REC, x)) == 1 + 1 + 1 + 1 + 2 + 2 + 3


def test_types_with_one_value_stay_concrete() -> None:
    assert fresh(OneOf(None), "x") is None
    assert fresh(SetOf([]), "x") == frozenset()
    assert fresh(Int(0, 0), "x") == 0


@pytest.mark.parametrize("ty", [Union(Int(0, 1), Bool), Seq(Union(Int(0, 1), Bool), 2)])
def test_types_without_an_encoding_are_refused_with_the_field_named(ty: Type) -> None:
    with pytest.raises(SymbolicError, match=r"field x\.payload"):
        fresh(ty, "x.payload")


def test_the_enumeration_of_a_type_is_exactly_the_models_of_its_domain() -> None:
    ty = Record(Rec, flag=Bool, num=Int(0, 1), color=OneOf("red"), opt=OneOf(None), vec=Vec(Id("n", 2), 1),
                pair=Tuple(Bool, OneOf("red")), bag=SetOf(["a"]))
    x = fresh(ty, "x")
    s = z3.Solver()
    s.add(to_z3(domain(ty, x)))
    found = set()
    while s.check() == z3.sat:
        v = decode(ty, x, s.model())
        found.add(v)
        s.add(z3.Not(to_z3(eq(ty, x, v))))
    assert found == set(ty.values())


# ----- the path explorer -------------------------------------------------------------------


def test_each_if_forks_and_each_path_carries_its_result() -> None:
    x = fresh(Int(0, 9), "n")

    def f(n: Any) -> str:
        if n > 5:
            return "big"
        if n > 2:
            return "medium"
        return "small"

    paths = explore(f, (x,), "f")
    assert [p.result for p in paths] == ["big", "medium", "small"]
    for p in paths:
        m = _solve(p.cond, domain(Int(0, 9), x))
        assert m is not None and f(decode(Int(0, 9), x, m)) == p.result


def test_a_condition_asked_twice_on_a_path_does_not_fork_again() -> None:
    x = fresh(Bool, "b")

    def f(b: Any) -> int:
        k = 0
        for _ in range(10):
            if b:
                k += 1
        return k

    assert sorted(p.result for p in explore(f, (x,), "f")) == [0, 10]


def test_impure_code_is_caught_on_replay() -> None:
    x = fresh(REC, "x")
    rng = random.Random(1)

    def f(s: Any) -> bool:
        return bool(s.flag) if rng.random() < 0.5 else bool(s.color == "red")

    with pytest.raises(Nondeterminism, match="impure"):
        for _ in range(20):
            explore(f, (x,), "impure")


def test_a_path_explosion_names_the_function() -> None:
    x = fresh(Vec(Bool, 12), "v")

    def count(v: Any) -> int:
        return len([b for b in v if b])

    with pytest.raises(PathExplosion, match="count_true"):
        explore(count, (x,), "count_true", max_paths=100)


def test_a_pruned_exploration_follows_only_answers_consistent_with_the_background() -> None:
    x = fresh(Vec(Bool, 3), "v")
    at_most_one = z3.Sum(*[z3.If(to_z3(truth(b)), 1, 0) for b in x]) <= 1

    def count(v: Any) -> int:
        return sum(1 for b in v if b)

    assert len(explore(count, (x,), "count")) == 8
    paths = explore(count, (x,), "count", background=at_most_one, prune=True)
    assert sorted(p.result for p in paths) == [0, 1, 1, 1]
    for p in paths:  # every path is feasible, and together they cover the background's states
        assert _solve(p.cond, at_most_one) is not None
    s = z3.Solver()
    s.add(at_most_one, z3.Not(to_z3(b_or(*(p.cond for p in paths)))))
    assert s.check() == z3.unsat
    assert explore(count, (x,), "count", background=False, prune=True) == []


def test_an_exception_on_a_feasible_path_is_reported_with_the_function() -> None:
    x = fresh(Int(0, 3), "n")

    def f(n: Any) -> int:
        if n == 2:
            raise ValueError("boom")
        return 0

    with pytest.raises(SymbolicError, match=r"total_fn raised ValueError: boom"):
        explore(f, (x,), "total_fn")


# ----- unsupported constructs raise the documented errors ---------------------------------


def _run(fn: Any) -> None:
    explore(fn, (fresh(REC, "x"),), "model_fn")


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (lambda s: {s.color}, r"cannot be hashed.*field x\.color, in model_fn"),
        (lambda s: {s.num: 1}, r"cannot be hashed.*field x\.num"),
        (lambda s: (1, 2, 3, 4, 5)[s.num], r"indexing or range\(\) by a symbolic value.*field x\.num, in model_fn"),
        (lambda s: range(s.num), r"indexing.*x\.num"),
        (lambda s: list(s.bag), r"iterating over a symbolic set.*field x\.bag, in model_fn"),
        (lambda s: "d" in s.bag, r"'d' is not in the declared universe.*field x\.bag"),
        (lambda s: s.color in s.bag, r"set element .* is symbolic.*field x\.bag"),
        (lambda s: s.color == "grene", r"'grene' is not one of Color.*typo.*field x\.color"),
        (lambda s: s.color < "red", r"ordering.*enum.*x\.color"),
        (lambda s: s.flag == 1 and True, r"1 is not a bool.*x\.flag"),
        (lambda s: s.num == 1 & s.flag, r"& binds tighter than ==.*x\.flag"),
        (lambda s: s.bag | {"z"}, r"'z' is not in the declared universe"),
    ],
)
def test_unsupported_constructs_raise_an_error_naming_field_and_function(fn: Any, match: str) -> None:
    with pytest.raises(SymbolicError, match=match):
        _run(fn)


def test_set_operations_with_frozensets_on_either_side_stay_symbolic() -> None:
    x = fresh(REC, "x")
    assert isinstance(frozenset({"a"}) | x.bag, SymSet)
    assert isinstance(x.bag - {"a"}, SymSet)
    assert isinstance(frozenset({"a", "b"}) - x.bag, SymSet)
    assert isinstance(x.bag.union(["a"], {"b"}), SymSet)
    assert (x.bag | {"a", "b", "c"}).concrete() == frozenset({"a", "b", "c"})
    assert isinstance(x.bag == frozenset(), Sym)


# ----- the twin ----------------------------------------------------------------------------

N = 3
U = SetOf(range(N))


class S(NamedTuple):
    xs: tuple[int, ...]
    s: frozenset[int]
    c: str


STY = Record(S, xs=Vec(Int(0, 3), N), s=U, c=Color)


def quantifiers(st: S) -> bool:
    """all/any/sum with filters, in/not in, and/or/not."""
    return (
        all(i in st.s for i in range(N) if st.xs[i] > 1)
        and not any(st.xs[i] == 3 and i not in st.s for i in range(N))
        and (sum(1 for i in range(N) if i in st.s) >= 1 or st.c in ("red", "green"))
    )


def arithmetic(st: S) -> bool:
    """max/min, an if-expression, a chained comparison and len of a set."""
    return 1 <= max(st.xs) < 3 and (min(st.xs[0], st.xs[1]) if st.c == "red" else st.xs[2]) < 2 and len(st.s) != 2


def natural_pred(st: S) -> bool:
    return quantifiers(st) and arithmetic(st)


@pytest.mark.parametrize("pred", [quantifiers, arithmetic, natural_pred])
def test_the_twin_of_a_predicate_takes_one_path_and_means_the_same_as_the_forking_original(pred: Any) -> None:
    x = fresh(STY, "x")
    tw = explore(twin(pred), (x,), pred.__name__)
    assert len(tw) == 1
    if pred is natural_pred:
        return  # its forking run multiplies the other two (thousands of paths)
    fork = explore(pred, (x,), pred.__name__)
    assert len(fork) > 10
    s = z3.Solver()
    s.add(to_z3(domain(STY, x)), to_z3(predicate_formula(fork)) != to_z3(predicate_formula(tw)))
    assert s.check() == z3.unsat


@settings(max_examples=200, deadline=None)
@given(st.integers(0, STY.size - 1))
def test_the_twin_agrees_with_python_on_concrete_states(code: int) -> None:
    v = STY.unpack(code)
    assert twin(natural_pred)(v) == natural_pred(v)


def test_the_twin_leaves_concrete_semantics_of_and_or_alone() -> None:
    def f(a: Any, b: Any) -> Any:
        return (a and b, a or b, b if a else None, 1 < a <= b)

    for a, b in [(0, 2), (3, 0), (2, 5), (4, 4)]:
        assert twin(f)(a, b) == f(a, b)


# ----- the protocols -----------------------------------------------------------------------


@pytest.mark.parametrize("model_cls", [TwoPhase, TCommit])
def test_path_counts_per_action_stay_small_and_do_not_grow_with_the_number_of_rms(model_cls: Any) -> None:
    def counts(n: int) -> dict[str, int]:
        return SymbolicModel(model_cls(rms=n)).path_counts()

    small, big = counts(3), counts(8)
    assert max(big.values()) <= 4
    by_family_small = {k.split("(")[0]: v for k, v in small.items()}
    by_family_big = {k.split("(")[0]: v for k, v in big.items()}
    assert by_family_small == by_family_big


def test_without_the_twin_the_commit_guard_forks_once_per_possible_vote_count() -> None:
    few = SymbolicModel(TwoPhase(rms=3), use_twin=False).path_counts()["commit(node='tm')"]
    many = SymbolicModel(TwoPhase(rms=6), use_twin=False).path_counts()["commit(node='tm')"]
    # len(prepared) forks over 0..n (without crashes `down` is a constant: no fork on it)
    assert many - few == 3


PROTO = TwoPhase(rms=2)
PROTO_SM = SymbolicModel(PROTO)
PROTO_CHECK = Checker(PROTO_SM)
PROTO_INV = [(p.name, p.fn, PROTO_SM.predicate(p.name, p.fn).formula) for p in PROTO.properties if p.kind != "step"]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, PROTO.state_type.size - 1))
def test_symbolic_successors_and_properties_equal_the_concrete_ones_on_generated_states(code: int) -> None:
    s = PROTO.state_type.unpack(code)
    assert PROTO_CHECK.check(s, "hypothesis") == []
    fix = to_z3(eq(PROTO.state_type, PROTO_SM.x, s))
    for name, fn, f in PROTO_INV:
        m = _solve(fix, f)
        assert (m is not None) == bool(fn(s)), name


class _InterruptedSolver:
    """A solver whose check z3 cut short, as when Ctrl-C arrives inside it."""

    def __init__(self, why: str) -> None:
        self.why = why

    def check(self) -> z3.CheckSatResult:
        return z3.unknown

    def reason_unknown(self) -> str:
        return self.why


@pytest.mark.parametrize("why", ["canceled", "interrupted from keyboard"])
def test_ctrl_c_inside_a_feasibility_check_is_the_interrupt_not_a_feasible_branch(why: str) -> None:
    from protoproof.checker import interrupt
    from protoproof.checker.symbolic.search import maybe

    try:
        with pytest.raises(KeyboardInterrupt):
            maybe(_InterruptedSolver(why))
        assert interrupt.requested()  # the engine's next check() ends the run too
    finally:
        interrupt._requested = False  # reset the flag for the next tests
    assert maybe(_InterruptedSolver("timeout")) is True  # any other unknown keeps the branch (sound)


def test_a_ctrl_c_whose_exception_was_swallowed_ends_the_relations_build() -> None:
    # Building a large model's relation takes minutes; a Ctrl-C lost inside a z3 __del__ left it running.
    from protoproof.checker import interrupt

    interrupt.request()
    try:
        with pytest.raises(KeyboardInterrupt):
            SymbolicModel(TwoPhase(rms=2))
    finally:
        interrupt._requested = False  # reset the flag for the next tests
    assert SymbolicModel(TwoPhase(rms=2)).path_counts()  # and builds as before once it is cleared
