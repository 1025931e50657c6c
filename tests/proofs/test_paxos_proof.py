"""Paxos agreement proved with z3 from the model's own functions, and every conjunct is needed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protoproof.checker.induction import prove
from protoproof.checker.verdict import PROVED, UNKNOWN
from protoproof.models.paxos import Paxos
from protoproof.proofs import strengthening_for
from protoproof.proofs.paxos import strengthening

CONJUNCTS = [p.__name__ for p in strengthening(Paxos())]


def test_the_strengthening_is_registered_for_paxos() -> None:
    got = strengthening_for(Paxos())
    assert got is not None and [p.__name__ for p in got] == CONJUNCTS
    assert len(CONJUNCTS) == 7


@pytest.mark.parametrize(
    "cfg",
    [
        (3, 2, 1),
        pytest.param((3, 2, 2), marks=pytest.mark.slow),  # about 10 s each; CI: (2,3,2), (2,2,3) and 3 acceptors
        (2, 3, 2),
        (2, 2, 3),  # ballots 0..3 at 2 acceptors (about 6 s of CPU)
        pytest.param((3, 3, 3), marks=pytest.mark.slow),  # about 15 s
        pytest.param((4, 2, 2), marks=pytest.mark.slow),
        pytest.param((5, 2, 3), marks=pytest.mark.slow),
    ],
    ids=lambda c: "acc{}-val{}-bal0..{}".format(*c),
)
def test_agreement_is_proved_at_several_sizes(cfg: tuple[int, int, int]) -> None:
    n, v, b = cfg
    model = Paxos(acceptors=n, values=v, max_ballot=b)
    r = prove(model, strengthening(model))
    assert r.verdict == PROVED, "\n".join(r.to_lines())
    assert r.cti is None
    assert r.conjuncts == ["agreement", *CONJUNCTS]
    assert all(o.result == "ok" for o in r.obligations)
    # one consecution per action instance: leaders' phase1a/phase2a and every delivery to an acceptor
    assert sum(o.name.startswith("consecution") for o in r.obligations) == len(model.actions())


@pytest.mark.slow
def test_agreement_is_proved_at_five_acceptors_three_values_ballots_0_to_3() -> None:
    # Its time is a figure of benchmarks/paxos.py, not an assertion here.
    model = Paxos(acceptors=5, values=3, max_ballot=3)
    r = prove(model, strengthening(model))
    assert r.verdict == PROVED


@pytest.mark.parametrize("dropped", CONJUNCTS)
def test_dropping_any_conjunct_leaves_a_counterexample_to_induction(dropped: str) -> None:
    model = Paxos(acceptors=3, values=2, max_ballot=1)
    kept = [p for p in strengthening(model) if p.__name__ != dropped]
    r = prove(model, kept)
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive")
    cti = r.cti
    assert cti is not None and cti.action is not None and cti.broken
    # the CTI is concrete: its first state satisfies the invariant, the step is the model's, the next breaks it
    inv: list[Any] = [p.fn for p in model.invariants] + kept
    assert all(p(cti.state) for p in inv)
    assert model.step(cti.state, cti.action) == cti.next_state
    assert not all(p(cti.next_state) for p in inv)


@pytest.mark.parametrize("dropped", [c if c == "two_a_is_safe" else pytest.param(c, marks=pytest.mark.slow)
                                     for c in CONJUNCTS])  # CI: one, and every conjunct at ballots 0..1 above
def test_dropping_any_conjunct_fails_with_more_ballots_too(dropped: str) -> None:
    model = Paxos(acceptors=3, values=2, max_ballot=2)
    r = prove(model, [p for p in strengthening(model) if p.__name__ != dropped])
    assert r.verdict == UNKNOWN and r.cti is not None


def test_the_strengthening_holds_on_every_reachable_state_of_a_small_instance() -> None:
    from protoproof.checker.conformance import reachable_states

    model = Paxos(acceptors=2, values=2, max_ballot=1)
    states = reachable_states(model, 100_000)
    assert len(states) > 100
    preds = strengthening(model)
    for s in states:
        assert all(p(s) for p in preds), [p.__name__ for p in preds if not p(s)]


@pytest.mark.parametrize("variant", ["ignore-votes", "propose-twice", "accept-below-promise", "minority-quorums"])
def test_the_proof_fails_on_each_planted_bug(variant: str) -> None:
    model = Paxos(acceptors=3, values=2, max_ballot=1).with_variant(variant)
    r = prove(model, strengthening(model))  # type: ignore[arg-type]
    assert r.verdict != PROVED and r.cti is not None


def test_the_proof_result_is_json() -> None:
    model = Paxos(acceptors=3, values=2, max_ballot=1)
    d = json.loads(json.dumps(prove(model, strengthening(model)).to_json()))
    assert d["verdict"] == PROVED and d["model"] == "paxos"
    assert d["params"] == {"acceptors": 3, "values": 2, "max_ballot": 1, "max_crashes": 0}


# ----- the twin domain: the states on which conform compares the leaders' twins -------------


@pytest.mark.parametrize("params", [{}, {"max_crashes": 1}, {"acceptors": 2, "values": 3, "max_ballot": 2}],
                         ids=["default", "crashes", "acc2-val3-bal0..2"])
def test_the_twin_domain_is_inductive_by_itself(params: dict[str, int]) -> None:
    from protoproof.proofs import twin_domain_for

    model = Paxos(**params)
    r = prove(model, twin_domain_for(model), properties=[])
    assert r.verdict == PROVED, "\n".join(r.to_lines())
    assert r.conjuncts == ["acceptor_vote_below_promise", "one_b_once_per_ballot"]


def test_the_twin_domain_is_not_inductive_when_an_acceptor_forgets_its_promise() -> None:
    from protoproof.models.paxos import VolatileAcceptor
    from protoproof.proofs.paxos import twin_domain

    model = VolatileAcceptor(max_crashes=1)
    r = prove(model, twin_domain(model), properties=[])
    assert r.verdict == UNKNOWN and r.cti is not None and "one_b_once_per_ballot" in r.cti.broken
