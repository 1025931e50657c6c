"""The z3 backend on Paxos: unions, symbolic set elements, guarded comprehensions, BMC, conformance."""

from __future__ import annotations

from typing import Any

import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protoproof.checker.bmc import bmc
from protoproof.checker.conformance import Checker, conform
from protoproof.checker.path import replay
from protoproof.checker.symbolic import (
    DynSet,
    GList,
    SymbolicError,
    SymbolicModel,
    SymSet,
    decode,
    domain,
    eq,
    explore,
    fresh,
    predicate_formula,
    to_z3,
)
from protoproof.checker.twin import twin
from protoproof.checker.verdict import BOUNDED, VIOLATED
from protoproof.models.actors import Envelope
from protoproof.models.paxos import OneB, Paxos, TwoA
from protoproof.models.schema import Bool, Id, Int, OneOf, Record, SetOf, Union

MAYBE = Union(OneOf(None), Id("value", 3))


def _models(f: Any) -> Any:
    s = z3.Solver()
    s.add(to_z3(f))
    return s


def _one(fn: Any, *args: Any) -> Any:
    paths = explore(fn, args, "test_fn")
    assert len(paths) == 1
    return paths[0].result


# ----- Union leaves --------------------------------------------------------------------------


def test_a_union_of_leaves_is_one_code_and_enumerates_exactly_its_values() -> None:
    x = fresh(MAYBE, "x")
    s = _models(domain(MAYBE, x))
    found = set()
    while s.check() == z3.sat:
        v = decode(MAYBE, x, s.model())
        found.add(v)
        s.add(to_z3(eq(MAYBE, x, v)) == False)  # noqa: E712 - a z3 term
    assert found == {None, 0, 1, 2}


def test_union_equality_with_concrete_and_symbolic_values() -> None:
    x, y = fresh(MAYBE, "x"), fresh(MAYBE, "y")
    n = fresh(Id("value", 3), "n")
    for v in (None, 0, 2):
        s = _models(z3.And(to_z3(domain(MAYBE, x)), (x == v).t))
        assert s.check() == z3.sat and decode(MAYBE, x, s.model()) == v
    # symbolic union == symbolic union of the same type, and == a plain int leaf
    s = _models(z3.And((x == y).t, (y == 1).t))
    assert s.check() == z3.sat and decode(MAYBE, x, s.model()) == 1
    s = _models(z3.And((x == n).t, (n == 2).t, to_z3(domain(MAYBE, x))))
    assert s.check() == z3.sat and decode(MAYBE, x, s.model()) == 2
    assert _models(z3.And((x == n).t, (x == None).t)).check() == z3.unsat  # noqa: E711
    # a value outside the union is a typo, as for enums
    with pytest.raises(SymbolicError, match=r"'oops' is not .*field x"):
        _ = x == "oops"


def test_union_ordering_needs_integer_alternatives() -> None:
    x = fresh(MAYBE, "x")
    with pytest.raises(SymbolicError, match="not every alternative is an integer"):
        _ = x < 1
    ints = Union(OneOf(-1), Int(0, 3))
    y = fresh(ints, "y")
    s = _models(z3.And(to_z3(domain(ints, y)), (y < 0).t))
    assert s.check() == z3.sat and decode(ints, y, s.model()) == -1


def test_unions_that_python_compares_across_alternatives_are_still_refused() -> None:
    with pytest.raises(SymbolicError, match=r"field x\.p: .*no symbolic encoding"):
        fresh(Union(Int(0, 1), Bool), "x.p")


# ----- symbolic elements in sets, guarded comprehensions ----------------------------------------


def _paxos_net() -> tuple[Paxos, Any, SetOf]:
    m = Paxos(acceptors=3, values=2, max_ballot=1)
    ty = m.state_type.fields["net"]  # type: ignore[attr-defined]
    return m, fresh(ty, "net"), ty


def test_adding_a_record_with_symbolic_fields_sets_the_matching_universe_bits() -> None:
    m, _net, ty = _paxos_net()
    acc = fresh(m.acc_type, "a0")
    empty = SymSet(ty, [False] * len(ty.universe), "net")

    def send(acc: Any) -> Any:
        return empty.union([Envelope(0, m.leader(1), OneB(0, 1, acc.max_vbal, acc.max_val))])

    paths = explore(send, (acc,), "send", background=domain(m.acc_type, acc))
    assert len(paths) == 1  # the "outside the universe" path is infeasible and dropped
    got = paths[0].result
    s = _models(z3.And(to_z3(domain(m.acc_type, acc)), (acc.max_vbal == 0).t, (acc.max_val == 1).t))
    assert s.check() == z3.sat
    assert decode(ty, got, s.model()) == frozenset({Envelope(0, m.leader(1), OneB(0, 1, 0, 1))})
    # membership of a symbolic element is a disjunction over the universe
    member = got.has(Envelope(0, m.leader(1), OneB(0, 1, acc.max_vbal, acc.max_val)))
    assert _models(z3.And(to_z3(domain(m.acc_type, acc)), z3.Not(to_z3(member)))).check() == z3.unsat


def test_a_symbolic_element_outside_the_universe_is_an_error_naming_it() -> None:
    ty = SetOf(Record(Envelope, src=Id("n", 2), dst=Id("n", 2), msg=Int(0, 1)),
               [Envelope(0, 1, 0)], name="net")
    x = fresh(Int(0, 1), "x")
    empty = SymSet(ty, [False], "net")
    with pytest.raises(SymbolicError, match=r"may lie outside the declared universe"):
        explore(lambda x: empty.union([Envelope(0, 1, x)]), (x,), "send", background=domain(Int(0, 1), x))


def test_a_twin_comprehension_over_a_symbolic_set_builds_guarded_values_without_forking() -> None:
    m, net, ty = _paxos_net()
    leader = m.node(m.leader(1))

    def promises(net: Any) -> Any:
        box = frozenset(e.msg for e in m._inbox_universe[leader.id] if e in net)
        ones = [x for x in box if type(x) is OneB and x.bal == 1]
        return {x.acc for x in ones} == frozenset({0, 1})

    paths = explore(twin(promises), (net,), "promises")
    assert len(paths) == 1
    f = predicate_formula(paths)
    # the formula is exactly: acceptors 0 and 1 sent some 1b for ballot 1, acceptor 2 none
    for sent, want in (({0, 1}, True), ({0}, False), ({0, 1, 2}, False)):
        val = frozenset(Envelope(a, m.leader(1), OneB(a, 1, -1, None)) for a in sent)
        s = _models(z3.And(to_z3(eq(ty, net, val)), z3.Not(to_z3(f)) if want else to_z3(f)))
        assert s.check() == z3.unsat
        assert promises(val) is want


def test_guarded_collections_are_explicit_about_what_they_cannot_do() -> None:
    g = GList([(z3.Bool("p"), 1), (True, 2)])
    with pytest.raises(SymbolicError, match="indexing a list whose length is symbolic"):
        _ = g[fresh(Int(0, 1), "k")]
    # a concrete index forks on which elements are present, as Python's indexing would read them
    assert sorted(p.result for p in explore(lambda g: g[-1], (g,), "last")) == [2, 2]
    assert sorted(p.result for p in explore(lambda g: g[0], (g,), "first")) == [1, 2]
    with pytest.raises(SymbolicError, match="set of symbolic values"):
        DynSet.make([(True, fresh(Int(0, 1), "x"))])
    assert DynSet.make([(True, 1), (True, 2)]) == frozenset({1, 2})
    # plain iteration is sound: it forks on each condition
    assert sorted(len(p.result) for p in explore(lambda g: list(iter(g)), (g,), "it")) == [1, 2]


# ----- BMC on the planted bugs -------------------------------------------------------------------

#: The two at depth 12 take 15-20 s each: slow (CI: the same test at depths 9 and 8).
BUGS = [pytest.param("ignore-votes", 12, marks=pytest.mark.slow),
        pytest.param("accept-below-promise", 12, marks=pytest.mark.slow), ("propose-twice", 9), ("minority-quorums", 8)]


@pytest.mark.parametrize(("variant", "depth"), BUGS)
def test_bmc_finds_each_planted_paxos_bug_at_the_explicit_checkers_depth_and_it_replays(
        variant: str, depth: int) -> None:
    model = Paxos(acceptors=3, values=2, max_ballot=1).with_variant(variant)
    r = bmc(model, depth)
    assert r.verdict == VIOLATED and r.property == "agreement"
    assert r.depth_reached == depth
    assert r.path is not None and len(r.path) == depth
    again = replay(model, r.path.action_reprs())
    assert again.states == r.path.states
    assert isinstance(model, Paxos) and len(model.chosen(again.last)) == 2


def test_bmc_finds_nothing_in_correct_paxos_below_the_first_bugs_depth() -> None:
    r = bmc(Paxos(acceptors=3, values=2, max_ballot=1), 7)
    assert r.verdict == BOUNDED


# ----- conformance --------------------------------------------------------------------------------


@pytest.mark.slow  # about 10 s; CI: test_conformance.py's conform of this instance with its twins
def test_conformance_passes_on_a_small_paxos_instance() -> None:
    r = conform(Paxos(acceptors=2, values=2, max_ballot=1), random_states=100, max_reachable=250, twins=False)
    assert r.ok and not r.mismatches
    assert r.reachable_states > 50 and r.random_states == 100


@pytest.mark.slow  # about 15 s; CI: conform catching a mutated action of 2PC and of TCommit (test_conformance.py)
def test_conformance_fails_when_an_action_accepts_below_its_promise() -> None:
    model = Paxos(acceptors=2, values=2, max_ballot=1)
    bad = Paxos(acceptors=2, values=2, max_ballot=1).with_variant("accept-below-promise")
    name = "deliver(src='b0', dst='a0', msg=TwoA(bal=0, val=1))"
    assert isinstance(bad, Paxos)
    mutated = dict((repr(a), f) for a, f in bad._compiled())[name]
    r = conform(model, random_states=100, max_reachable=250, overrides={name: mutated}, twins=False)
    assert not r.ok
    assert {m.action for m in r.mismatches} == {name}
    # every mismatch is a state where a0 promised ballot 1 and the mutant accepts ballot 0 anyway
    assert all(m.concrete is None and m.state.nodes[0].max_bal == 1 for m in r.mismatches)


def test_twins_of_the_acceptor_steps_and_agreement_are_equivalent_to_their_forking_runs() -> None:
    from protoproof.checker.conformance import check_twins

    checks = {c.name: c.result for c in check_twins(Paxos(acceptors=2, values=2, max_ballot=1), max_paths=300)}
    assert checks["agreement"] == "equivalent"
    assert all(r == "equivalent" for n, r in checks.items() if n.startswith("deliver"))
    # a leader reads its whole inbox: the forking run has exponentially many paths, so it is skipped
    assert all(r.startswith("skipped") or r == "equivalent" for r in checks.values())


# ----- Hypothesis: symbolic relation and predicates == concrete, on generated states -----------------

SMALL = Paxos(acceptors=2, values=2, max_ballot=1)
_SM = SymbolicModel(SMALL)
_CHK = Checker(_SM)
_AGREEMENT = _SM.predicate("agreement", next(p.fn for p in SMALL.invariants if p.name == "agreement"))


def _paxos_states() -> Any:
    ty = SMALL.state_type
    univ = ty.fields["net"].universe  # type: ignore[attr-defined]

    @st.composite
    def gen(draw: Any) -> Any:
        s = ty.unpack(draw(st.integers(0, ty.size - 1)))
        # bias towards states with many messages (the sampler's nets are uniform subsets)
        extra = draw(st.sets(st.sampled_from([e for e in univ if type(e.msg) in (OneB, TwoA)]), max_size=6))
        return s._replace(net=s.net | frozenset(extra))

    return gen()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_paxos_states())
def test_symbolic_successors_and_agreement_equal_the_concrete_ones_on_generated_states(state: Any) -> None:
    assert _CHK.check(state, "hypothesis") == []
    s = z3.Solver()
    s.add(to_z3(_SM.state_eq(_SM.x, state)), z3.Not(to_z3(_AGREEMENT.formula)) if SMALL.agreement(state)
          else to_z3(_AGREEMENT.formula))
    assert s.check() == z3.unsat
