"""Conformance: the symbolic relation equals the concrete successors; twins equal forking runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
import z3

from protoproof.checker.bmc import bmc
from protoproof.checker.conformance import check_twins, conform
from protoproof.checker.induction import prove
from protoproof.checker.symbolic import SymbolicError
from protoproof.checker.verdict import ERROR, PROVED, UNKNOWN, VIOLATED
from protoproof.models.base import always
from protoproof.models.tcommit import ABORTED, COMMITTED, TC, WORKING, TCommit
from protoproof.models.twophase import INIT, TM, TransactionManager, TwoPhase
from protoproof.proofs.twophase import strengthening


@pytest.mark.parametrize("model", [TwoPhase(rms=2), TCommit(rms=3)], ids=lambda m: f"{type(m).__name__}({m.config})")
def test_the_correct_models_conform_on_reachable_and_random_states(model: Any) -> None:
    r = conform(model, random_states=150, seed=3)
    assert r.ok, "\n".join(r.to_lines())
    assert r.reachable_states == len({*r_states(model)})
    assert r.random_states == 150
    assert r.checks == (r.reachable_states + 150) * len(model.actions())
    assert all(t.result == "equivalent" for t in r.twins)
    assert json.loads(json.dumps(r.to_json()))["verdict"] == "conforms"


def r_states(model: Any) -> list[Any]:
    from protoproof.checker.conformance import reachable_states

    return reachable_states(model, 10_000)


def test_conformance_fails_when_the_symbolic_side_runs_a_mutated_function() -> None:
    model = TwoPhase(rms=2)
    buggy = model.with_variant("commit-without-votes")
    fn = dict((repr(a), f) for a, f in buggy._compiled())["commit(node='tm')"]  # type: ignore[attr-defined]
    r = conform(model, random_states=50, overrides={"commit(node='tm')": fn}, twins=False)
    assert not r.ok
    assert {m.action for m in r.mismatches} == {"commit(node='tm')"}
    bad = r.mismatches[0]
    assert bad.concrete is None and len(bad.symbolic) == 1  # the mutant commits where 2PC may not


def test_a_mutated_tcommit_transition_is_caught_too() -> None:
    model = TCommit(rms=2)

    def abort_even_after_commit(s: Any) -> Any:
        return model._set(s, 0, "aborted")

    r = conform(model, random_states=30, overrides={"decide_abort(rm=0)": abort_even_after_commit}, twins=False)
    assert not r.ok and all(m.action == "decide_abort(rm=0)" for m in r.mismatches)


def test_every_twin_of_twophase_is_z3_equivalent_to_its_forking_version() -> None:
    checks = check_twins(TwoPhase(rms=3))
    # every action, atomicity, the two @sometimes properties, the refinement mapping
    assert len(checks) == len(TwoPhase(rms=3).actions()) + 4
    assert {c.result for c in checks} == {"equivalent"}
    assert [c.name for c in checks[-4:]] == ["atomicity", "all_committed", "all_aborted", "refines_tcommit"]


def test_conform_is_unknown_and_lists_the_skipped_twins_when_a_twin_budget_runs_out() -> None:
    r = conform(TCommit(rms=2), random_states=20, twin_max_paths=1)
    assert r.ok and r.skipped and r.verdict == UNKNOWN
    assert "skipped" in r.reason and r.to_lines()[0].startswith("conform tcommit: unknown")
    assert any(line.lstrip().startswith("twin skipped") and "path explosion" in line for line in r.to_lines())
    d = r.to_json()
    assert d["verdict"] == UNKNOWN and {t["name"] for t in d["skipped_twins"]} == {t.name for t in r.skipped}


def test_the_twin_budget_is_a_path_count_so_the_outcome_does_not_depend_on_load() -> None:
    a = [(t.name, t.result, t.paths) for t in check_twins(TCommit(rms=2), max_paths=3)]
    b = [(t.name, t.result, t.paths) for t in check_twins(TCommit(rms=2), max_paths=3)]
    assert a == b and any(res.startswith("skipped") for _n, res, _p in a)
    assert all(p <= 3 for _n, res, p in a if res == "equivalent")


def test_property_conformance_catches_a_property_whose_formula_differs_from_its_python() -> None:
    model = TwoPhase(rms=2)
    r = conform(model, random_states=100, overrides={"atomicity": lambda s: True}, twins=False)
    assert not r.mismatches and r.formula_mismatches
    assert {(m.kind, m.name) for m in r.formula_mismatches} == {("property", "atomicity")}
    bad = r.formula_mismatches[0]
    assert bad.python is False and bad.formula is True and not model.atomicity(bad.state)
    assert r.verdict == ERROR and "atomicity" in "\n".join(r.to_lines())


def test_a_strengthening_conjunct_whose_formula_differs_is_caught() -> None:
    model = TwoPhase(rms=2)
    conj = strengthening(model)
    name = conj[1].__name__
    r = conform(model, random_states=100, strengthening=conj, overrides={name: lambda s: False}, twins=False)
    assert {(m.kind, m.name) for m in r.formula_mismatches} == {("strengthening", name)}
    assert r.verdict == ERROR


def test_a_mismatching_refinement_mapping_is_caught() -> None:
    model = TwoPhase(rms=2)
    r = conform(model, random_states=50, overrides={"refines_tcommit": lambda s: TC((WORKING, WORKING))},
                twins=False)
    assert {(m.kind, m.name) for m in r.formula_mismatches} == {("refinement", "refines_tcommit")}
    bad = r.formula_mismatches[0]
    assert bad.python == model._to_tcommit(bad.state) and bad.formula == [TC((WORKING, WORKING))]
    assert r.verdict == ERROR


def test_every_formula_of_the_correct_models_is_checked_including_mappings_and_sometimes() -> None:
    model = TwoPhase(rms=2)
    r = conform(model, random_states=30, strengthening=strengthening(model), twins=False)
    assert r.formulas == (["property atomicity", "property all_committed", "property all_aborted"]
                          + [f"strengthening {f.__name__}" for f in strengthening(model)]
                          + ["refinement refines_tcommit"])
    assert r.formula_checks == (r.reachable_states + 30) * len(r.formulas) and not r.formula_mismatches
    assert r.verdict == UNKNOWN  # twins were not checked: not "conforms"


class _NoGuardTM(TransactionManager):
    def can_commit(self, s: TM) -> bool:
        return s.state == INIT


class SentinelTwoPhase(TwoPhase):
    """2PC with the TM's commit guard dropped, and atomicity written with `is` (the issue's example)."""

    name = "sentinel-2pc"
    tm_class = _NoGuardTM

    @always
    def atomicity(self, s: Any) -> bool:
        rms = self.rm_states(s)
        return not (any(r is ABORTED for r in rms) and any(r is COMMITTED for r in rms))


@pytest.mark.slow  # about 15 s; CI: the same model through check, prove, bmc and conform in tests/test_cli.py
def test_a_property_written_with_is_is_never_silently_true() -> None:
    # On z3 values `r is ABORTED` is False, and the property's formula became True: every engine agreed.
    model = SentinelTwoPhase(rms=3)
    try:
        r = conform(model, random_states=200, twins=False)
    except SymbolicError as e:  # the symbolic layer refuses the construct: as good, and loud
        assert "atomicity" in str(e)
        return
    names = {m.name for m in r.formula_mismatches}
    if names:
        assert names == {"atomicity"} and r.verdict == ERROR
    else:  # translated faithfully: then the formula is the property and the engines find the bug
        assert bmc(model, 4).verdict == VIOLATED
    assert prove(model, []).verdict != PROVED


class _GeneratorHelperTCommit(TCommit):
    """A property whose helper is a generator function: it has no twin and runs forking."""

    name = "generator-helper-tcommit"

    def decided(self, s: Any) -> Any:
        for r in s.rm:
            yield r in (COMMITTED, ABORTED)

    @always
    def not_all_working_and_decided(self, s: Any) -> bool:
        return not (all(r == WORKING for r in s.rm) and all(self.decided(s)))


def test_conform_lists_the_functions_that_run_without_a_twin() -> None:
    r = conform(_GeneratorHelperTCommit(rms=2), random_states=20, twins=False)
    names = [n for n in r.fallbacks if n.endswith("_GeneratorHelperTCommit.decided")]
    assert names and "generator" in r.fallbacks[names[0]]
    assert any("no twin (runs forking)" in line and "decided" in line for line in r.to_lines())
    assert r.to_json()["fallbacks"] == r.fallbacks


def test_a_state_that_cannot_be_pinned_is_an_error_not_an_agreement() -> None:
    from protoproof.checker.symbolic import SymbolicModel
    from protoproof.checker.tie import PROPERTY, FormulaChecker, SymbolicMismatch, predicates, tied

    model = TCommit(rms=2)
    sm = SymbolicModel(model)
    items = tied(PROPERTY, predicates(sm, PROPERTY, [(p.name, p.fn) for p in model.invariants], None))
    chk = FormulaChecker(sm, items)
    state = model.initial_states()[0]
    assert chk.check(state, "reachable") == []
    with pytest.raises(SymbolicMismatch, match="cannot be pinned"):
        chk.check(state, "reachable", [z3.BoolVal(False)])


# ----- twins compared on a proved twin domain ------------------------------------------------


@pytest.mark.slow  # about 25 s; CI: the same twins at 2 acceptors in test_conform_names_the_twin_domain_...
def test_every_paxos_twin_is_proved_equivalent_with_the_twin_domain_named_where_used() -> None:
    from protoproof.models.paxos import Paxos
    from protoproof.proofs.paxos import twin_domain

    model = Paxos()
    checks = check_twins(model, twin_domain=twin_domain(model))
    assert [t for t in checks if t.result != "equivalent"] == []
    names = ("acceptor_vote_below_promise", "one_b_once_per_ballot")
    # only the leaders' phase2a needs the domain; phase1a (it never reads its inbox) has one path
    assert {t.name for t in checks if t.domain} == {f"phase2a(node='b{b}', v={v})" for b in (0, 1) for v in (0, 1)}
    assert all(t.domain == names and t.where == f"on states satisfying {' & '.join(names)} (proved inductive)"
               for t in checks if t.domain)
    assert all(t.paths == 1 for t in checks if t.name.startswith("phase1a"))
    # deterministic: the same paths on every run (a count, never a clock)
    assert max(t.paths for t in checks if t.domain) <= 65


@pytest.mark.parametrize("max_ballot", [0, pytest.param(1, marks=pytest.mark.slow)])  # ballot 0: a third of the time
def test_a_twin_domain_that_is_not_inductive_does_not_make_a_twin_equivalent(max_ballot: int) -> None:
    from protoproof.models.paxos import OneB, Paxos

    model = Paxos(acceptors=2, max_ballot=max_ballot)  # a 1a is answered with a 1b at any size
    one_bs = [e for e in model.envelopes() if type(e.msg) is OneB]

    def no_acceptor_sent_a_1b(s: Any) -> bool:  # true initially, but a 1a is answered with a 1b
        return not any(e in s.net for e in one_bs)

    checks = check_twins(model, twin_domain=[no_acceptor_sent_a_1b])
    phase2a = [t for t in checks if t.name.startswith("phase2a")]
    assert phase2a and all(t.result.startswith("skipped: equivalent only on states satisfying no_acceptor_sent_a_1b")
                           and "not proved inductive" in t.result and not t.domain for t in phase2a)
    assert all(t.result == "equivalent" and not t.domain for t in checks if not t.name.startswith("phase2a"))


def test_without_a_twin_domain_the_exploding_paxos_twins_are_skipped_not_equivalent() -> None:
    from protoproof.models.paxos import Paxos

    checks = {t.name: t for t in check_twins(Paxos(), max_paths=100)}
    assert all(checks[f"phase2a(node='b{b}', v={v})"].result.startswith("skipped: path explosion")
               for b in (0, 1) for v in (0, 1))
    assert not any(t.domain for t in checks.values())
    assert checks["phase1a(node='b0')"].result == "equivalent"


def test_conform_names_the_twin_domain_and_ties_its_formulas() -> None:
    from protoproof.models.paxos import Paxos
    from protoproof.proofs.paxos import twin_domain

    model = Paxos(acceptors=2)
    r = conform(model, random_states=30, max_reachable=300, twin_domain=twin_domain(model))
    assert r.verdict == "conforms", "\n".join(r.to_lines())
    assert "twin domain one_b_once_per_ballot" in r.formulas
    lines = r.to_lines()
    assert any(line.lstrip().startswith("twin equivalent") and "phase2a(node='b1', v=0)" in line
               and line.endswith("on states satisfying acceptor_vote_below_promise & one_b_once_per_ballot "
                                 "(proved inductive)") for line in lines)
    d = json.loads(json.dumps(r.to_json()))
    assert {tuple(t["domain"]) for t in d["twins"]} == {(), ("acceptor_vote_below_promise", "one_b_once_per_ballot")}
    # as at 3 acceptors (slow, above): only phase2a needs the domain, phase1a has one path, path counts stay small
    assert {t["name"] for t in d["twins"] if t["domain"]} == {
        f"phase2a(node='b{b}', v={v})" for b in (0, 1) for v in (0, 1)}
    assert all(t["paths"] == 1 for t in d["twins"] if t["name"].startswith("phase1a"))
    assert max(t["paths"] for t in d["twins"] if t["domain"]) <= 65


class _GivesUp:
    """A solver that answers unknown, as z3 does on a timeout."""

    def check(self, *a: object) -> object:
        return z3.unknown

    def reason_unknown(self) -> str:
        return "timeout"


def test_a_solver_giving_up_on_an_enumeration_is_a_named_error_not_a_bare_runtime_error() -> None:
    from protoproof.checker.tie import SolverGaveUp, solutions

    with pytest.raises(SolverGaveUp, match=r"z3 gave up enumerating solutions \(timeout\); the comparison was not"):
        solutions(_GivesUp(), [], TCommit(rms=2).state_type, None)


def test_a_conformance_check_z3_gives_up_on_is_unknown_never_conforms(monkeypatch: pytest.MonkeyPatch) -> None:
    from protoproof.checker import conformance
    from protoproof.checker.tie import SolverGaveUp

    real = conformance.Checker.successors

    def gives_up_on_abort(self: Any, k: int, state: Any, fix: Any) -> list[Any]:
        if self.encoded[k].name == "decide_abort(rm=1)":
            raise SolverGaveUp("timeout")
        return real(self, k, state, fix)

    monkeypatch.setattr(conformance.Checker, "successors", gives_up_on_abort)
    r = conform(TCommit(rms=2), random_states=10)
    assert r.ok and r.verdict == UNKNOWN and r.gave_up, r.to_lines()
    assert all(g.startswith("decide_abort(rm=1) on ") and g.endswith("z3 gave up (timeout)") for g in r.gave_up)
    assert "z3 gave up on" in r.reason and r.to_json()["gave_up"] == r.gave_up


# ----- --timeout: the comparison ends with what it compared, verdict unknown -------------------


def test_conform_out_of_time_before_comparing_is_unknown_and_says_the_time_ran_out() -> None:
    r = conform(TCommit(rms=2), random_states=10, timeout=1e-6)
    assert r.ok and r.verdict == UNKNOWN and r.timed_out == 1e-6, r.to_lines()
    assert r.reachable_states == r.random_states == 0 and not r.reachable_complete and not r.twins_checked
    assert "the time ran out (--timeout 1e-06 s)" in r.reason and r.to_json()["timed_out"] == 1e-6


def test_conform_out_of_time_mid_comparison_keeps_its_counts_and_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    from protoproof.checker import conformance

    calls: list[float | None] = []

    def runs_out_at_the_sixth_state(deadline: float | None) -> None:
        calls.append(deadline)
        if len(calls) > 2 + 5:  # two checks around collecting the reachable states, then one per state
            raise conformance._OutOfTime

    monkeypatch.setattr(conformance, "_check_time", runs_out_at_the_sixth_state)
    r = conform(TCommit(rms=2), random_states=10, timeout=3600.0)
    assert r.verdict == UNKNOWN and r.timed_out == 3600.0 and r.reachable_states == 5 and r.random_states == 0
    assert r.checks == 5 * len(TCommit(rms=2).actions()) and not r.twins_checked
    assert "after 5 reachable and 0 random states were compared, before the twin checks" in r.reason


def test_twins_left_when_the_time_runs_out_are_skipped_never_equivalent() -> None:
    from protoproof.checker.conformance import OUT_OF_TIME

    twins = check_twins(TCommit(rms=2), deadline=0.0)  # long past
    assert twins and all(t.result == f"skipped: {OUT_OF_TIME}" for t in twins)


def test_conform_within_its_timeout_conforms_as_without_one() -> None:
    r = conform(TCommit(rms=2), random_states=20, timeout=3600.0)
    assert r.verdict == "conforms" and r.timed_out is None, r.to_lines()


def test_conform_timeout_from_the_cli_exits_unknown_saying_why() -> None:
    import io

    from protoproof import cli

    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["conform", "tcommit", "--rms", "2", "--timeout", "0.000001", "--json"], out, err)
    got = json.loads(out.getvalue())
    assert code == 3 and got["verdict"] == UNKNOWN and got["timed_out"] == 1e-6
    assert "the time ran out" in got["reason"]
    assert cli.main(["conform", "tcommit", "--timeout", "-1"], io.StringIO(), io.StringIO()) == 2
