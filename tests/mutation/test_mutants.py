"""The mutation suite: every mutant of 2PC and Paxos is caught, every benign change is proved.

CI (the fast subset) runs ``check`` on every mutant at the mutant's configuration (it finds each
bug, so every mutant is caught in CI), and the other engines where they are cheap: ``CI_ENGINES``
names, per mutant, which of ``bmc`` (at the bug's depth), ``prove`` with and without the shipped
strengthening, and the parameterized proof tied to the mutant (Paxos) run beside ``check``, chosen
so that each engine still meets every kind of mistake and every protocol it applies to (a test
below pins that).  Every engine on every mutant, the tie on the benign changes that owe it, and the
deeper bmc runs are marked slow (``scripts/test.sh --all``).
The suite asserts a 100% score: a mutant that escapes fails its test, naming the engine that let
it through.  Nothing here is xfail: an escape is a bug in an engine.
"""

from __future__ import annotations

from typing import Any

import pytest

from protoproof.models.twophase import CommitWithoutVotes, TwoPhase
from protoproof.tests.mutation.catalogue import (
    BENIGN,
    BMC,
    BMC_ONCE,
    BMC_WAY,
    CHECK,
    GUARD,
    MUTANTS,
    PARAM,
    PROPERTY,
    PROVE,
    PROVE_BARE,
    PROVE_SYM,
    TWOPHASE_ENGINES,
    AcceptorVoteNotPersisted,
    Benign,
    Mutant,
)
from protoproof.tests.mutation.runner import (
    CAUGHT,
    ESCAPED,
    WOLF,
    run_benign,
    run_bmc,
    run_check,
    run_mutant,
    run_param,
)

FAST = (CHECK, BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_SYM, PROVE_BARE, PARAM)
_depths: dict[str, int | None] = {}


def _why(res: Any) -> str:
    return "; ".join(f"{c.engine}: {c.verdict} {c.detail}".strip() for c in res.escapes) or "check found nothing"


#: CI's engines beside ``check``, per mutant (``check`` runs on all: it finds every bug).  Each engine
#: meets, in CI, every kind of mistake and every protocol it applies to, where it is cheapest (seconds per
#: engine measured with ``runner.run_mutant``); the slow tests below run every engine on every mutant.
CI_ENGINES: dict[str, tuple[str, ...]] = {
    # ----- 2PC: one mutant of each kind -----
    "tm-commits-without-votes": (BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_SYM, PROVE_BARE),
    "tm-commits-on-majority": (BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_SYM, PROVE_BARE),
    "rm-commits-when-voting": (BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_SYM, PROVE_BARE),
    "rm-recovers-as-working": (BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_SYM, PROVE_BARE),
    "atomicity-written-with-is-not": (BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_SYM, PROVE_BARE),
    # a model error: well under a second
    "atomicity-written-with-isinstance": (BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_BARE),
    "atomicity-swallows-type-error": (BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_BARE),
    # ----- Paxos: the tie on every mutant where it is cheap (under a second: it stops at the first
    # instance), prove on a vote-selection bug (the kind only Paxos has), bmc on its cheapest bug -----
    "leader-picks-lowest-vote": (PROVE_BARE,),
    "leader-picks-any-vote": (PROVE_BARE,),
    "acceptor-reports-no-vote": (PROVE, PROVE_SYM, PROVE_BARE, PARAM),
    "leader-proposes-without-quorum": (BMC, BMC_ONCE, BMC_WAY, PROVE_BARE, PARAM),
    "leader-waits-for-one-1b-too-few": (PARAM,),
    "quorums-of-half": (PARAM,),
    "leader-proposes-twice": (PARAM,),
    "acceptor-accepts-below-promise": (PARAM,),
    "acceptor-does-not-record-promise": (PARAM,),
    "acceptor-lowers-promise": (PARAM,),
    "agreement-written-with-is-true": (PROVE_BARE, PARAM),
    # ----- the replicated log, as a spec and as nodes -----
    "log-copy-slice-start-off-by-one": (BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_BARE),
    "log-follower-appends-past-its-end": (BMC, BMC_ONCE, BMC_WAY, PROVE, PROVE_BARE),
}


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_caught(mutant: Mutant) -> None:
    """CI: ``check`` and the mutant's ``CI_ENGINES``; a mutant that escapes any of them fails."""
    res = run_mutant(mutant, (CHECK, *CI_ENGINES.get(mutant.name, ())), full_bmc=False)
    _depths[mutant.name] = res.depth
    assert res.caught, f"mutant {mutant.name} ({mutant.bug}) escapes: {_why(res)}"


def _family(m: Mutant) -> str:
    return str(getattr(m.model, "name", m.model.__name__))


def test_ci_runs_each_engine_on_every_kind_of_mutant_and_every_protocol_it_applies_to() -> None:
    """What CI leaves out is repetition: each engine keeps a mutant of each kind and of each protocol."""
    def applies(m: Mutant, e: str) -> bool:
        return e in m.engines and (e not in (BMC, BMC_ONCE, BMC_WAY) or m.bmc_in_ci)

    assert set(CI_ENGINES) <= {m.name for m in MUTANTS}
    assert all(applies(m, e) for m in MUTANTS for e in CI_ENGINES.get(m.name, ())), "an engine CI cannot run"
    for e in FAST:
        ci = [m for m in MUTANTS if e == CHECK or e in CI_ENGINES.get(m.name, ())]
        for facet in (_family, lambda m: m.kind):
            missing = {facet(m) for m in MUTANTS if applies(m, e)} - {facet(m) for m in ci}
            assert not missing, f"CI runs {e} on no mutant of {sorted(missing)}"


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_caught_by_every_fast_engine(mutant: Mutant) -> None:
    """Every engine on every mutant (bmc where ``bmc_in_ci``; the deeper ones below)."""
    res = run_mutant(mutant, FAST, full_bmc=False)
    _depths[mutant.name] = res.depth
    assert res.caught, f"mutant {mutant.name} ({mutant.bug}) escapes: {_why(res)}"


SLOW_BMC = [m for m in MUTANTS if BMC in m.engines and not m.bmc_in_ci]


@pytest.mark.slow
@pytest.mark.parametrize("mutant", SLOW_BMC, ids=lambda m: m.name)
def test_mutant_caught_by_bmc(mutant: Mutant) -> None:
    depth = _depths.get(mutant.name)
    if depth is None:
        cell, depth = run_check(mutant.build(), mutant.breaks)
        assert depth is not None, f"check does not catch {mutant.name}: {cell.verdict} {cell.detail}"
    cell = run_bmc(mutant.build(), mutant.breaks, depth, mutant.bmc_cap, mutant.kind)
    assert cell.outcome == CAUGHT, f"bmc lets {mutant.name} escape: {cell.verdict} {cell.detail}"


def _refuted(res: Any) -> str:
    return "; ".join(f"{c.engine}: {c.verdict} {c.detail}".strip() for c in res.cells.values() if c.outcome == WOLF)


@pytest.mark.parametrize("benign", BENIGN, ids=lambda b: b.name)
def test_benign_mutant_proved(benign: Benign) -> None:
    """CI: ``check`` and ``prove`` on every benign change; the tie, where owed, in the slow test below."""
    res = run_benign(benign, (CHECK, PROVE, PROVE_SYM), informational=False)  # shown-only answers: the script
    assert res.ok, f"benign mutant {benign.name} ({benign.change}) is refuted: {_refuted(res)}"


#: The benign changes the tie must prove (45-70 s each: the whole default tie).
BENIGN_PARAM = [b for b in BENIGN if PARAM in b.must_prove]


@pytest.mark.slow
@pytest.mark.parametrize("benign", BENIGN_PARAM, ids=lambda b: b.name)
def test_benign_mutant_proved_by_the_tie(benign: Benign) -> None:
    res = run_benign(benign, (PARAM,), informational=False)
    assert res.ok, f"the tie refutes benign mutant {benign.name} ({benign.change}): {_refuted(res)}"


@pytest.mark.slow
@pytest.mark.parametrize("benign", BENIGN, ids=lambda b: b.name)
def test_benign_mutant_not_refuted_by_bmc(benign: Benign) -> None:
    res = run_benign(benign, (BMC, BMC_ONCE, BMC_WAY))
    assert res.ok, f"bmc refutes benign mutant {benign.name} ({benign.change}): {_refuted(res)}"


def test_the_suite_has_every_kind_of_mutant_and_enough_of_them() -> None:
    kinds = {m.kind for m in MUTANTS}
    assert kinds >= {GUARD, PROPERTY, "quorum", "vote selection", "state regression", "persistence"}
    assert len(MUTANTS) >= 25 and len(BENIGN) >= 3
    assert len({m.name for m in MUTANTS} | {b.name for b in BENIGN}) == len(MUTANTS) + len(BENIGN)


# ----- the runner itself ---------------------------------------------------------------


def test_a_planted_bug_is_reported_caught_by_every_engine() -> None:
    m = Mutant("sanity-commit-without-votes", "the shipped variant", CommitWithoutVotes, {"rms": 2},
               "atomicity", GUARD, TWOPHASE_ENGINES)
    res = run_mutant(m)
    assert res.caught and res.depth == 3
    assert {e: c.outcome for e, c in res.cells.items()} == {e: CAUGHT for e in TWOPHASE_ENGINES}


def test_a_mutant_identical_to_the_correct_model_is_reported_escaping() -> None:
    m = Mutant("sanity-no-change", "nothing changed", TwoPhase, {"rms": 2}, "atomicity", GUARD, TWOPHASE_ENGINES)
    res = run_mutant(m)
    assert not res.caught
    assert res.cells[CHECK].outcome == ESCAPED and res.cells[CHECK].verdict == "exhausted"


def test_cadical_catches_the_paxos_crash_mutant_beyond_z3s_cap_at_its_depth_14() -> None:
    """z3 on integers took 562 s to this depth (the reason for the cap); CaDiCaL takes 8 s."""
    m = next(m for m in MUTANTS if m.model is AcceptorVoteNotPersisted)
    assert m.bmc_cap is not None and m.bmc_cap < 14
    cell = run_bmc(m.build(), m.breaks, 14, m.bmc_cap, m.kind)
    assert cell.outcome == CAUGHT and "at depth 14 on CaDiCaL" in cell.detail, cell.detail


def test_a_bug_beyond_z3s_bmc_cap_is_unrolled_on_cadical_to_its_depth() -> None:
    model = CommitWithoutVotes(rms=2)
    cell = run_bmc(model, "atomicity", 3, 2, GUARD)
    assert cell.outcome == CAUGHT and cell.detail == "atomicity at depth 3 on CaDiCaL (beyond z3's cap of 2)"
    assert run_bmc(model, "atomicity", 3, None, GUARD).outcome == CAUGHT
    assert run_bmc(TwoPhase(rms=2), "atomicity", 3, None, GUARD).outcome == ESCAPED


def test_a_parameterized_engine_without_a_model_tie_lets_every_mutant_escape() -> None:
    def untied(timeout_s: float = 60, *, stop_at_first_failure: bool = False) -> Any:
        raise AssertionError("unreachable: the call must fail on the model_class keyword")

    cell = run_param(TwoPhase, GUARD, prover=untied)
    assert cell.outcome == ESCAPED and cell.verdict == "no tie"


def test_a_z3_model_error_catches_only_a_property_mutant() -> None:
    from protoproof.checker.symbolic import SymbolicError

    def refuses(**_kw: Any) -> Any:
        raise SymbolicError("`is` on a symbolic value")

    assert run_param(TwoPhase, PROPERTY, prover=refuses).outcome == CAUGHT
    assert run_param(TwoPhase, GUARD, prover=refuses).outcome == ESCAPED


def test_prove_answering_proved_is_an_escape_and_a_shared_failure_is_marked_vacuous() -> None:
    from protoproof.tests.mutation.runner import control_verdict, run_prove

    assert run_prove(TwoPhase(rms=2), GUARD, bare=False).outcome == ESCAPED
    assert control_verdict(CommitWithoutVotes, {"rms": 2}) == "proved"
    assert control_verdict(CommitWithoutVotes, {"rms": 2, "max_crashes": 1}) != "proved"
