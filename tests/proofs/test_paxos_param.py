"""The parameterized Paxos proof: proved, no conjunct decorative, wrong transitions fail, and
the formulas conform to models/paxos.py (and not to its planted-bug variants)."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import pytest
import z3

from protoproof.checker.verdict import ERROR, PROVED, UNKNOWN
from protoproof.models.paxos import Leader, Paxos
from protoproof.proofs import paxos_param
from protoproof.proofs.paxos_param import (
    ACCEPTOR,
    ACTION_PARAMS,
    ACTIONS,
    BALLOT,
    EDGES,
    FORMULA_VARIANTS,
    INVALID,
    PROVED_FORMULAS_ONLY,
    QUORUM,
    SIGNATURE,
    SYMBOLS,
    VALID,
    VALUE,
    FiniteLogic,
    PaxosFormulas,
    Struct,
    Theory,
    TieInstance,
    Z3Logic,
    _z3_state,
    _z3_vocabulary,
    alternation_edges,
    conform_paxos_param,
    is_stratified,
    prove_paxos_param,
    source_commit,
    tie_paxos_param,
)

#: The tie CI runs where a test needs a tied proof (the full ``TIE_INSTANCES`` take about a
#: minute and run in the slow tests and in every ``prove paxos --parameterized``).
CI_TIE = (TieInstance(2, 2, 1, converse_sample=30), TieInstance(3, 2, 0, converse_sample=30))
#: The smallest instance where a quorum's 1bs report votes of two ballots with different values.
TWO_VOTE_BALLOTS = TieInstance(3, 2, 2, EDGES)


def _conjuncts() -> list[str]:
    sorts, th = _z3_vocabulary()
    return [c.name for c in PaxosFormulas(Z3Logic(sorts), th).invariant()]


CONJUNCTS = _conjuncts()


def test_agreement_is_proved_for_any_number_of_acceptors_values_and_ballots() -> None:
    r = prove_paxos_param(timeout_s=60, instances=CI_TIE)
    assert r.verdict == PROVED and r.formulas == PROVED, "\n".join(r.to_lines())
    assert r.tie is not None and r.tie.ok and [x.ok for x in r.tie.instances] == [True, True]
    assert r.conjuncts == CONJUNCTS
    assert all(o.result == VALID and o.stratified for o in r.obligations)
    names = [o.name for o in r.obligations]
    assert names[0] == f"init => {CONJUNCTS[0]}" and names[-1] == "inv => agreement"
    assert all(f"{a} preserves {c}" in names for a in ACTIONS for c in CONJUNCTS)
    assert sum(n.startswith("Phase2a guard => stratified guard") for n in names) == 2
    lines = r.to_lines()
    assert lines[0].endswith(": proved") and len(lines) == len(r.obligations) + 3 + 1 + len(CI_TIE)
    js = r.to_json()
    assert js["verdict"] == PROVED and len(js["obligations"]) == len(r.obligations)
    assert js["tied"] is True and js["tie"]["model_class"] == "protoproof.models.paxos:Paxos"
    json.dumps(js)


def test_without_the_tie_the_verdict_is_proved_for_the_formulas_only() -> None:
    r = prove_paxos_param(tie=False)
    assert r.verdict == PROVED_FORMULAS_ONLY and r.formulas == PROVED and r.tie is None
    assert "proved for the formulas only" in r.to_lines()[0] and "tie: not run" in r.to_lines()[1]
    js = r.to_json()
    assert js["verdict"] == "proved-formulas-only" and js["tied"] is False and js["tie"] is None


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
    r = prove_paxos_param(timeout_s=30, without=[drop], tie=False)
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive")
    assert any(o.result == INVALID for o in r.obligations)
    assert r.counterexample and r.counterexample[0] == r.reason.removeprefix("not inductive: ")


@pytest.mark.parametrize("variant", FORMULA_VARIANTS)
def test_a_wrong_transition_makes_the_proof_fail(variant: str) -> None:
    r = prove_paxos_param(timeout_s=30, variant=variant, tie=False)
    assert r.verdict == UNKNOWN, "\n".join(r.to_lines())
    failed = {o.name for o in r.obligations if o.result == INVALID}
    expected = {"accept-below-promise": "Phase2b preserves", "propose-twice": "Phase2a preserves two_a_unique",
                "ignore-votes": "Phase2a preserves two_a_safe"}[variant]
    assert any(n.startswith(expected) for n in failed), failed


def test_unknown_conjunct_is_an_error() -> None:
    with pytest.raises(KeyError):
        prove_paxos_param(without=["no_such_conjunct"], tie=False)


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
    r = conform_paxos_param(2, 2, 1, variant=variant, converse_sample=10, max_mismatches=10**6)
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
    r = prove_paxos_param(timeout_s=1, stop_at_first_failure=True, tie=False)
    assert r.verdict == UNKNOWN and r.reason.startswith("solver gave up")
    assert r.obligations[0].result == UNKNOWN and "timeout" in r.obligations[0].line()


# ----- the tie on every run: wrong vote selection, planted bugs, the model's commit ----------


class _LowestVoteLeader(Leader):
    def value_ok(self, votes: list[Any], v: int) -> bool:
        return not votes or any(m.mval == v and all(m.mbal <= mm.mbal for mm in votes) for m in votes)


class _AnyVoteLeader(Leader):
    def value_ok(self, votes: list[Any], v: int) -> bool:
        return not votes or any(m.mval == v for m in votes)


class LowestVotePaxos(Paxos):
    """A leader proposes the value of the lowest reported vote (agreement breaks in 17 steps)."""

    leader_class = _LowestVoteLeader


class AnyVotePaxos(Paxos):
    """A leader proposes the value of any reported vote."""

    leader_class = _AnyVoteLeader


WRONG_VOTE_SELECTION = [LowestVotePaxos, AnyVotePaxos]


@pytest.mark.parametrize("cls", WRONG_VOTE_SELECTION)
def test_a_wrong_vote_selection_passes_the_tie_below_three_ballots(cls: type[Paxos]) -> None:
    """Why the tie needs ballots 0..2: with two, a 1b reports at most one vote ballot."""
    assert conform_paxos_param(3, 2, 1, scope=EDGES, model_class=cls).ok


@pytest.mark.parametrize("cls", [LowestVotePaxos, pytest.param(AnyVotePaxos, marks=pytest.mark.slow)])
def test_a_leader_not_taking_the_highest_reported_vote_fails_the_tie_and_is_not_proved(cls: type[Paxos]) -> None:
    """About 25 s each: CI runs the lowest vote (the any-vote leader fails on the same phase2a edges)."""
    r = prove_paxos_param(model_class=cls, instances=(TWO_VOTE_BALLOTS,))
    assert r.verdict == ERROR and r.formulas == PROVED, "\n".join(r.to_lines())
    assert r.reason.startswith("the tie failed") and cls.__qualname__ in r.reason
    assert r.tie is not None and not r.tie.ok
    bad = r.tie.instances[0]
    assert bad.mismatches and all(m.startswith("(b) edge phase2a(") for m in bad.mismatches)
    assert "satisfies no transition formula" in bad.mismatches[0]
    assert r.to_json()["tied"] is False


@pytest.mark.slow
@pytest.mark.parametrize("cls", WRONG_VOTE_SELECTION)
def test_the_default_tie_catches_a_wrong_vote_selection(cls: type[Paxos]) -> None:
    """The whole default tie (CI runs ``TWO_VOTE_BALLOTS`` alone, above)."""
    r = prove_paxos_param(model_class=cls)
    assert r.verdict == ERROR and r.tie is not None
    assert [x.ok for x in r.tie.instances] == [True] * (len(r.tie.instances) - 1) + [False]
    assert r.tie.instances[-1].acceptors == 3 and r.tie.instances[-1].max_ballot == 2


@pytest.mark.slow
def test_the_default_tie_passes_on_the_model() -> None:
    """Every default instance, including 3 acceptors, 2 values, ballots 0..2 (about a minute)."""
    r = prove_paxos_param()
    assert r.verdict == PROVED, "\n".join(r.to_lines())
    assert r.tie is not None and len(r.tie.instances) == len(paxos_param.TIE_INSTANCES)
    big = r.tie.instances[-1]
    assert (big.acceptors, big.values, big.max_ballot) == (3, 2, 2) and big.checks["states"] == 185_369
    assert big.checks["edges"] == 1_316_583


def test_a_failed_tie_with_stop_at_first_failure_skips_the_proof() -> None:
    r = prove_paxos_param(model_class=Paxos.variants_of()["ignore-votes"], stop_at_first_failure=True)
    assert r.verdict == ERROR and r.tie is not None and not r.tie.ok and not r.obligations
    assert [x.ok for x in r.tie.instances] == [True, False] and r.tie.not_run


def test_the_crash_instance_needs_acceptors_that_persist() -> None:
    assert conform_paxos_param(2, 2, 1, scope=EDGES, max_crashes=1).ok
    r = conform_paxos_param(2, 2, 1, scope=EDGES, max_crashes=1, variant="volatile-acceptor")
    assert r.mismatches and r.mismatches[0].startswith("(b) edge recover(")


def test_a_tie_mismatch_stops_the_walk_after_the_first_mismatches() -> None:
    r = conform_paxos_param(2, 2, 1, variant="ignore-votes", max_mismatches=3)
    assert r.stopped and len(r.mismatches) == 3 and "invariant_states" not in r.checks


def test_the_tie_names_the_model_class_and_its_commit() -> None:
    tie = tie_paxos_param(LowestVotePaxos, instances=(TieInstance(1, 1, 0),))
    assert tie.ok and tie.model == f"{__name__}:LowestVotePaxos"
    path, commit, dirty = source_commit(LowestVotePaxos)
    assert path.endswith("test_paxos_param.py") and tie.commit == commit
    assert commit == "unknown" or (len(commit) == 40 and dirty is not None)


def test_the_commit_is_unknown_without_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    path, commit, dirty = source_commit(Paxos)
    assert path.endswith("paxos.py") and commit == "unknown" and dirty is None


def test_frame_conditions_on_sets_agree_with_the_expanded_quantifiers() -> None:
    """The finite-structure shortcut (``State.sets``) decides every action step as the
    quantifiers expanded over the domains do, on random pairs of nearby structures."""
    sizes = {ACCEPTOR: 2, BALLOT: 3, VALUE: 3, QUORUM: 1}
    th = Theory(le=lambda x, y: x <= y, lt=lambda x, y: x < y, member=lambda a, q: True, minus1=0, none=0)
    P = PaxosFormulas(FiniteLogic(sizes), th)
    rng = random.Random(1)
    domain = {n: list(itertools.product(*(range(sizes[a]) for a in SIGNATURE[n]))) for n in SYMBOLS}

    def rand() -> Struct:
        return Struct(tuple(frozenset(x for x in domain[n] if rng.random() < 0.3) for n in SYMBOLS))

    def near(st: Struct) -> Struct:
        rels = list(st.rels)
        k = rng.randrange(len(rels))
        rels[k] = rels[k] ^ {rng.choice(domain[SYMBOLS[k]])}
        return Struct(tuple(rels))

    results = []
    for _ in range(300):
        pre = rand()
        post = near(pre) if rng.random() < 0.7 else near(near(pre))
        for act in ACTIONS:
            for _k in range(3):
                w = tuple(rng.randrange(sizes[x]) for x in ACTION_PARAMS[act])
                fast = P.step(act, pre.state(), post.state(), *w)
                slow = P.step(act, pre.state(sets=False), post.state(sets=False), *w)
                assert fast is slow, (act, w, pre, post)
                results.append(fast)
    assert results.count(True) > 0 and results.count(False) > 0


@pytest.mark.slow
def test_the_largest_tie_instance_takes_the_highest_of_two_vote_ballots_both_ways() -> None:
    """At 3 acceptors, 2 values, ballots 0..2 (about 40 s) a leader sees 1bs reporting votes of
    two ballots with different values, and proposes and refuses values on them."""
    outcomes: set[bool] = set()

    class Recording(Leader):
        def value_ok(self, votes: list[Any], v: int) -> bool:
            ok = super().value_ok(votes, v)
            if len({m.mbal for m in votes}) >= 2 and len({m.mval for m in votes}) >= 2:
                outcomes.add(ok)
            return ok

    class RecordingPaxos(Paxos):
        leader_class = Recording

    assert conform_paxos_param(3, 2, 2, scope=EDGES, model_class=RecordingPaxos).ok
    assert outcomes == {True, False}
    outcomes.clear()
    assert conform_paxos_param(3, 2, 1, scope=EDGES, model_class=RecordingPaxos).ok
    assert outcomes == set()
