"""Lease safety for all timings (z3 over the reals), its counterexamples, and its tie to the model."""

from __future__ import annotations

import io
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
import z3

from protoproof.checker.explore import explore
from protoproof.checker.verdict import EXHAUSTED, PROVED, PROVED_FORMULAS_ONLY, VIOLATED
from protoproof.cli import main
from protoproof.models.lease import FailoverWithoutGrace, Lease, NoFencing, NoMargin, RenewAfterExpiry
from protoproof.proofs.lease_real import (
    ConditionError,
    _supremum,
    find_counterexample,
    parse_condition,
    prove_formulas,
    prove_lease_param,
    symbolic_params,
)
from protoproof.proofs.lease_real_tie import tie_lease_real


@pytest.mark.parametrize("clients", [2, 3])
def test_lease_safety_is_proved_for_every_timing_with_margin_at_least_four_drifts(clients: int) -> None:
    obs, ok = prove_formulas(clients, "margin >= 4*drift")
    assert ok and all(o.result == "holds" for o in obs)


def test_a_margin_below_four_drifts_gives_a_concrete_timing_counterexample() -> None:
    assert not prove_formulas(2, "margin >= 3*drift")[1]
    run = find_counterexample(2, "margin >= 3*drift")
    assert run and run[0].startswith("lease L = ") and "margin M = " in run[0]
    assert run[-1].startswith("two clients believe")
    assert find_counterexample(2, "margin >= 4*drift") == []  # the condition is what stops it


@pytest.mark.parametrize("bug", ["renew-after-expiry", "no-grace"])
def test_the_planted_bugs_break_the_real_valued_proof_with_a_run(bug: str) -> None:
    kw = {"bug": "renew-after-expiry"} if bug == "renew-after-expiry" else {"grace_is_lease": False}
    assert not prove_formulas(2, "margin >= 4*drift", **kw)[1]
    assert find_counterexample(2, "margin >= 4*drift", **kw)


def test_a_condition_that_is_not_linear_is_refused_with_the_fix() -> None:
    with pytest.raises(ConditionError, match="linear"):
        parse_condition("margin >= drift*drift", symbolic_params())


def test_the_relation_is_tied_to_the_lease_model() -> None:
    r = tie_lease_real(Lease)
    assert r.ok and all(i.states > 0 and i.edges > 0 for i in r.instances)
    assert tie_lease_real(NoFencing).ok  # fencing is not in the relation: lease safety does not need it


@pytest.mark.parametrize("cls", [NoMargin, FailoverWithoutGrace, RenewAfterExpiry])
def test_each_planted_lease_bug_fails_the_tie(cls: type) -> None:
    assert not tie_lease_real(cls).ok


def test_prove_lease_parameterized_is_proved_and_untied_is_formulas_only() -> None:
    assert prove_lease_param().verdict == PROVED
    assert prove_lease_param(tie=False).verdict == PROVED_FORMULAS_ONLY
    weak = prove_lease_param(tie=False, condition="margin >= 2*drift")
    assert weak.verdict == VIOLATED and weak.counterexample


def test_prove_lease_parameterized_from_the_cli_prints_the_condition_and_a_weakened_one_a_run() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["prove", "lease", "--parameterized", "--no-tie", "--condition", "margin >= 3*drift"],
                out=out, err=err) != 0
    assert "the condition: margin >= 3*drift" in out.getvalue() and "two clients believe" in out.getvalue()
    bad = io.StringIO()
    assert main(["prove", "lease", "--parameterized", "--condition", "margin >= drift*drift"], out=out, err=bad) != 0
    assert "linear" in bad.getvalue()


# (lease, drift, margin, max_time): the explicit checker and z3 answer the same question on the same
# numbers.  z3 first tries the induction with exactly these values (safe for every run, every time);
# failing that, it looks for a run of the relation in whole ticks within the horizon (the discrete
# model's runs), up to GRID_DEPTH steps.  The two sides must agree: the checker finds a violation
# exactly where z3 finds such a run.  (Where z3 finds none, its side is bounded by GRID_DEPTH.)
GRID_FAST = [(2, 0, 0, 2), (1, 0, 0, 2), (2, 1, 1, 1), (1, 1, 0, 1)]
GRID_SLOW = [(2, 1, 0, 2), (3, 1, 1, 2), (2, 1, 2, 2), (3, 1, 3, 3), (2, 1, 4, 2), (3, 1, 2, 2), (2, 0, 1, 3)]
GRID_DEPTH = 14


def _agree(lease: int, drift: int, margin: int, max_time: int) -> None:
    r = explore(Lease(lease=lease, drift=drift, margin=margin, max_time=max_time), properties=["lease_safety"])
    assert r.verdict in (EXHAUSTED, VIOLATED)
    cond = f"lease == {lease} and drift == {drift} and margin == {margin}"
    _obs, proved = prove_formulas(2, cond, timeout_s=60)
    run = [] if proved else find_counterexample(2, cond, depth=GRID_DEPTH, horizon=max_time, timeout_s=120)
    assert (r.verdict == VIOLATED) == bool(run), (r.verdict, proved, run)
    if proved:  # the induction at these numbers is the general condition's instance
        assert margin >= 4 * drift


@pytest.mark.parametrize("lease,drift,margin,max_time", GRID_FAST)
def test_the_discrete_checker_and_z3_agree_on_the_same_numbers(lease: int, drift: int, margin: int,
                                                               max_time: int) -> None:
    _agree(lease, drift, margin, max_time)


@pytest.mark.slow
@pytest.mark.parametrize("lease,drift,margin,max_time", GRID_SLOW)
def test_the_discrete_checker_and_z3_agree_on_a_wider_grid(lease: int, drift: int, margin: int,
                                                          max_time: int) -> None:
    _agree(lease, drift, margin, max_time)


def test_z3_finds_the_smallest_safe_margin_four_drifts_and_proves_it_from_the_cli() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["prove", "lease", "--parameterized", "--no-tie", "--smallest-margin"], out=out, err=err) == 3
    text = out.getvalue()
    assert "drift 1: a run breaks lease safety for every margin below 4 (the supremum is not reached)" in text
    assert "drift 2: a run breaks lease safety for every margin below 8 (the supremum is not reached)" in text
    assert "the least safe margin is 4*drift: margin >= 4*drift is proved by induction" in text
    bad = io.StringIO()
    assert main(["prove", "lease", "--smallest-margin"], out=io.StringIO(), err=bad) == 2
    assert "--smallest-margin only applies to --parameterized" in bad.getvalue()


BOUNDS: list[tuple[Callable[[Any], Any], str, Fraction | None]] = [
    (lambda x: x < 8, "8 (not reached)", Fraction(8)), (lambda x: 2 * x < 8, "4 (not reached)", Fraction(4)),
    (lambda x: x <= Fraction(15, 2), "15/2", Fraction(15, 2)), (lambda x: x > 0, "unbounded", None)]


@pytest.mark.parametrize("bound,text,value", BOUNDS)
def test_the_supremum_is_read_from_z3s_triple_not_its_printed_form(bound: Callable[[Any], Any], text: str,
                                                                    value: Fraction | None) -> None:
    x = z3.Real("x")
    opt = z3.Optimize()
    opt.add(bound(x))
    h = opt.maximize(x)
    assert opt.check() == z3.sat
    assert _supremum(opt, h) == (text, value)
