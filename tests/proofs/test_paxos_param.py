"""The parameterized Paxos proof: proved, no conjunct decorative, wrong transitions fail, and
the formulas conform to models/paxos.py (and not to its planted-bug variants)."""

from __future__ import annotations

import json

import pytest
import z3

from protoproof.checker.verdict import PROVED, UNKNOWN
from protoproof.proofs.paxos_param import (
    ACTIONS,
    FORMULA_VARIANTS,
    INVALID,
    VALID,
    PaxosFormulas,
    Z3Logic,
    _z3_state,
    _z3_vocabulary,
    alternation_edges,
    conform_paxos_param,
    is_stratified,
    prove_paxos_param,
)


def _conjuncts() -> list[str]:
    sorts, th = _z3_vocabulary()
    return [c.name for c in PaxosFormulas(Z3Logic(sorts), th).invariant()]


CONJUNCTS = _conjuncts()


def test_agreement_is_proved_for_any_number_of_acceptors_values_and_ballots() -> None:
    r = prove_paxos_param(timeout_s=60)
    assert r.verdict == PROVED, "\n".join(r.to_lines())
    assert r.conjuncts == CONJUNCTS
    assert all(o.result == VALID and o.stratified for o in r.obligations)
    names = [o.name for o in r.obligations]
    assert names[0] == f"init => {CONJUNCTS[0]}" and names[-1] == "inv => agreement"
    assert all(f"{a} preserves {c}" in names for a in ACTIONS for c in CONJUNCTS)
    assert sum(n.startswith("Phase2a guard => stratified guard") for n in names) == 2
    lines = r.to_lines()
    assert lines[0].endswith(": proved") and len(lines) == len(r.obligations) + 3
    js = r.to_json()
    assert js["verdict"] == PROVED and len(js["obligations"]) == len(r.obligations)
    json.dumps(js)


def test_every_query_is_stratified_but_the_literal_phase2a_guard_is_not() -> None:
    sorts, th = _z3_vocabulary()
    P = PaxosFormulas(Z3Logic(sorts), th)
    s, t = _z3_state(sorts, ""), _z3_state(sorts, "'")
    axioms = [f for _n, f in P.axioms()]
    inv = [c.formula(s) for c in P.invariant()]
    for a in ACTIONS:
        assert is_stratified(alternation_edges([*axioms, *inv, P.action(a, s, t, stratified=True)]))
    # Paxos.tla's "every acceptor of Q sent a 1b" is acceptor -> ballot; SafeAt is ballot -> acceptor.
    literal = alternation_edges([*axioms, *inv, P.action("Phase2a", s, t)])
    assert ("acceptor", "ballot") in literal and ("ballot", "acceptor") in literal
    assert not is_stratified(literal)


@pytest.mark.parametrize("drop", CONJUNCTS)
def test_removing_any_one_conjunct_makes_an_obligation_fail(drop: str) -> None:
    r = prove_paxos_param(timeout_s=30, without=[drop])
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive")
    assert any(o.result == INVALID for o in r.obligations)
    assert r.counterexample and r.counterexample[0] == r.reason.removeprefix("not inductive: ")


@pytest.mark.parametrize("variant", FORMULA_VARIANTS)
def test_a_wrong_transition_makes_the_proof_fail(variant: str) -> None:
    r = prove_paxos_param(timeout_s=30, variant=variant)
    assert r.verdict == UNKNOWN, "\n".join(r.to_lines())
    failed = {o.name for o in r.obligations if o.result == INVALID}
    expected = {"accept-below-promise": "Phase2b preserves", "propose-twice": "Phase2a preserves two_a_unique",
                "ignore-votes": "Phase2a preserves two_a_safe"}[variant]
    assert any(n.startswith(expected) for n in failed), failed


def test_unknown_conjunct_is_an_error() -> None:
    with pytest.raises(KeyError):
        prove_paxos_param(without=["no_such_conjunct"])


@pytest.mark.parametrize("cfg", [(1, 1, 0), (2, 2, 1), (3, 2, 0)])
def test_the_formulas_conform_to_the_model(cfg: tuple[int, int, int]) -> None:
    r = conform_paxos_param(*cfg, converse_sample=60)
    assert r.ok, "\n".join(r.to_lines())
    assert r.checks["states"] == r.checks["invariant_states"] > 0
    assert r.checks["edges"] > r.checks["stutters"] and r.checks["converse_successors"] > 0
    json.dumps(r.to_json())


@pytest.mark.slow
@pytest.mark.parametrize("cfg", [(3, 1, 1), (3, 2, 1)])
def test_the_formulas_conform_to_the_model_on_larger_instances(cfg: tuple[int, int, int]) -> None:
    r = conform_paxos_param(*cfg, converse_sample=100)
    assert r.ok, "\n".join(r.to_lines())


@pytest.mark.parametrize(
    ("variant", "kind"),
    [("accept-below-promise", "(b)"), ("propose-twice", "(b)"), ("ignore-votes", "(b)"),
     ("minority-quorums", "axiom quorum_intersection")],
)
def test_conformance_fails_on_every_planted_bug(variant: str, kind: str) -> None:
    r = conform_paxos_param(2, 2, 1, variant=variant, converse_sample=10)
    assert not r.ok
    assert any(m.startswith(kind) for m in r.mismatches), "\n".join(r.to_lines())
    # The bug is also visible as a reachable state outside the invariant.
    assert any(m.startswith("(c)") for m in r.mismatches)


@pytest.mark.parametrize("variant", FORMULA_VARIANTS)
def test_the_wrong_formula_is_exactly_the_buggy_model(variant: str) -> None:
    """With the matching wrong formula, (a), (b) and (d) pass: only the invariant fails."""
    r = conform_paxos_param(2, 2, 1, variant=variant, formula_variant=variant, converse_sample=20)
    assert r.mismatches and all(m.startswith("(c)") for m in r.mismatches)


def test_the_converse_check_catches_a_too_permissive_formula() -> None:
    """The correct model against Phase2b without its promise check: only (d) can see it."""
    r = conform_paxos_param(2, 2, 1, formula_variant="accept-below-promise", converse_sample=60)
    assert r.mismatches and all(m.startswith("(d) Phase2b allows") for m in r.mismatches)


def test_a_solver_that_gives_up_is_unknown_never_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    real = z3.Solver

    class GivesUp:
        def __init__(self) -> None:
            self.s = real()

        def set(self, *a: object) -> None:
            pass

        def add(self, *a: object) -> None:
            pass

        def check(self) -> object:
            return z3.unknown

        def reason_unknown(self) -> str:
            return "timeout"

    monkeypatch.setattr(z3, "Solver", GivesUp)
    r = prove_paxos_param(timeout_s=1, stop_at_first_failure=True)
    assert r.verdict == UNKNOWN and r.reason.startswith("solver gave up")
    assert r.obligations[0].result == UNKNOWN and "timeout" in r.obligations[0].line()
