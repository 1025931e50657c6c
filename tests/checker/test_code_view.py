"""Refinements and properties evaluated on packed codes (``checker/code_view.py``) against the same
checks on decoded states: the same counts, verdict, coverage and counterexample."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.code_view import CodeView, GaveUp, code_layout_of
from protoproof.checker.explore import Result, explore
from protoproof.models.base import Model, always
from protoproof.models.paxos import Paxos, TwoB
from protoproof.models.registry import registered

from .test_vector import same_run


def both(model: Model[Any], **kw: Any) -> tuple[Result, Result]:
    """On codes, then on decoded states (both on the scalar engine)."""
    return explore(model, engine="scalar", **kw), explore(model, engine="scalar", code_views=False, **kw)


def every_model() -> list[Any]:
    return [(name, v) for name, p in sorted(registered().items())
            for v in [None, *sorted(p.model_class()().variants())]]


@pytest.mark.parametrize(("name", "variant"), every_model())
def test_checks_on_codes_give_the_decoded_states_result_on_every_model(name: str, variant: str | None) -> None:
    model = registered()[name].model_class()().with_variant(variant)
    same_run(*both(model, max_states=2000, liveness=False))


@pytest.mark.parametrize("variant", [None, "ignore-votes", "accept-below-promise", "propose-twice",
                                     "minority-quorums"])
@pytest.mark.parametrize("props", [None, ["agreement"], ["refines_consensus"], ["value_chosen"]])
def test_paxos_and_its_planted_bugs_give_the_same_result_on_codes(variant: str | None,
                                                                  props: list[str] | None) -> None:
    a, b = both(Paxos(max_ballot=1).with_variant(variant), properties=props, max_states=20000)
    if variant is not None and props != ["value_chosen"]:
        assert a.verdict == "violated"
    same_run(a, b)


def paxos_view(fn_name: str) -> tuple[Paxos, CodeView, Any]:
    m = Paxos(max_ballot=1)
    stype = m.state_type
    layout = code_layout_of(stype)
    assert layout is not None
    unpack = stype.unpacker(memo=False)
    fn = m.refinements()[0].mapping if fn_name == "mapping" else getattr(m, fn_name)
    return m, CodeView(fn, layout, unpack, verify=False), unpack


@pytest.mark.parametrize("fn_name", ["mapping", "agreement", "value_chosen"])
@given(data=st.data())
@settings(max_examples=30, deadline=None)
def test_a_code_view_equals_the_function_on_the_decoded_state(fn_name: str, data: st.DataObject) -> None:
    m, view, unpack = paxos_view(fn_name)
    fn = m.refinements()[0].mapping if fn_name == "mapping" else getattr(m, fn_name)
    codes = data.draw(st.lists(st.integers(0, m.state_type.size - 1), min_size=1, max_size=20))
    for c in codes:
        assert view.value(c) == fn(unpack(c))


def test_paxos_chosen_reads_only_the_2b_message_bits() -> None:
    _m, view, _unpack = paxos_view("mapping")
    view.value(0)
    layout = view.lay
    asked = [e for e, k in layout.index.items() if view.mask >> k & 1]
    assert len(asked) == 3 * 2 * 2 and all(type(e.msg) is TwoB for e in asked)  # acceptors × ballots × values
    assert view.nodes == []


class _CountsMessages(Paxos):
    @always
    def few_2bs(self, s: Any) -> bool:
        """Planted: iterates the network (a view cannot say), false once a 2b is in flight."""
        return not any(type(e.msg) is TwoB for e in s.net)


class _TellsViewsApart(Paxos):
    @always
    def real_network(self, s: Any) -> bool:
        """Planted: true on every real state, false on a view's network (which is no frozenset)."""
        return type(s.net) is frozenset


def test_a_property_iterating_the_network_is_checked_on_decoded_states() -> None:
    m = _CountsMessages(max_ballot=1)
    _m, view, _unpack = paxos_view("agreement")
    view.fn = m.few_2bs
    with pytest.raises(GaveUp):
        view.value(0)
    a, b = both(m, properties=["few_2bs"])
    assert a.verdict == "violated" and a.property == "few_2bs"
    same_run(a, b)


def test_a_property_telling_a_view_from_a_real_network_is_caught_and_checked_on_states() -> None:
    a, b = both(_TellsViewsApart(max_ballot=1))
    assert a.verdict == "exhausted"
    same_run(a, b)


class _TellsViewsApartLate(Paxos):
    @always
    def all_voted_in_2_only_on_views(self, s: Any) -> bool:
        """Planted: reads every node (thousands of cache keys); once every acceptor voted in ballot 2,
        false on a real network and true on a view's (which is no frozenset)."""
        if s.nodes[:] and not all(a.max_vbal == 2 for a in s.nodes[:3]):
            return True
        return type(s.net) is not frozenset


def test_a_property_telling_a_view_apart_only_on_deep_states_is_caught_by_checking_every_evaluation() -> None:
    # Compared only on the first 200 evaluations, the view was exhausted (185,369 states) here.
    a, b = both(_TellsViewsApartLate(max_ballot=2), properties=["all_voted_in_2_only_on_views"])
    assert b.verdict == "violated" and b.stats.distinct_states == 1710
    same_run(a, b)
