"""The parameterized proof of Raft's ElectionSafety (proofs/raft_param.py) and its tie to models/raft.py."""

from __future__ import annotations

import json

import pytest

from protoproof.checker.firstorder import FULL, WALKS, Instance
from protoproof.checker.verdict import ERROR, PROVED, PROVED_FORMULAS_ONLY, UNKNOWN
from protoproof.models.raft import StaleLeader, VolatileVote
from protoproof.proofs.raft_param import (
    FORMULA_VARIANTS,
    TIE_INSTANCES,
    RaftFormulas,
    prove_formulas,
    prove_raft_param,
)
from protoproof.proofs.raft_param_tie import conform_raft_param

ONE_SERVER = Instance.of(FULL, 0, servers=1, max_term=3, max_log=0)


def test_election_safety_is_proved_for_any_number_of_servers_by_the_formulas() -> None:
    r = prove_formulas(timeout_s=30)
    assert r.verdict == PROVED
    assert r.obligations and all(o.result == "valid" for o in r.obligations)
    assert r.obligations[-1].name == "inv => election_safety"


def _conjuncts() -> list[str]:
    from protoproof.checker.firstorder import FiniteLogic
    from protoproof.proofs.raft_param import Theory

    th = Theory(le=lambda x, y: x <= y, lt=lambda x, y: x < y, next=lambda x, y: y == x + 1, member=lambda a, q: True)
    return [c.name for c in RaftFormulas(FiniteLogic({"node": 1, "term": 1, "quorum": 1}), th).invariant()]


@pytest.mark.parametrize("name", _conjuncts())
def test_each_conjunct_of_the_raft_election_invariant_is_needed(name: str) -> None:
    r = prove_formulas(timeout_s=30, without=[name], stop_at_first_failure=True)
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive") and r.counterexample


@pytest.mark.parametrize("variant", FORMULA_VARIANTS)
def test_a_wrong_election_formula_is_not_proved(variant: str) -> None:
    r = prove_formulas(timeout_s=30, variant=variant, stop_at_first_failure=True)
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive")


def test_the_election_formulas_describe_the_raft_model_on_one_server() -> None:
    r = conform_raft_param(ONE_SERVER)
    assert r.ok, r.mismatches
    assert r.checks["states"] == 172 and r.checks["edges"] == 818 and r.checks["invariant_states"] == 172
    assert r.checked() == "(enc) (a) (b) (c), (d) on the initial states only" and r.checks["converse_states"] == 1


def test_a_model_that_forgets_its_vote_on_restart_fails_the_election_tie() -> None:
    r = conform_raft_param(ONE_SERVER, model_class=VolatileVote)
    assert not r.ok and any(m.startswith("(b) edge restart(") for m in r.mismatches)


def test_a_failed_election_tie_makes_the_verdict_error_and_no_tie_proves_formulas_only() -> None:
    bad = prove_raft_param(timeout_s=30, model_class=VolatileVote, instances=[ONE_SERVER])
    assert bad.verdict == ERROR and bad.formulas == PROVED
    untied = prove_raft_param(timeout_s=30, tie=False)
    assert untied.verdict == PROVED_FORMULAS_ONLY and untied.tie is None
    tied = prove_raft_param(timeout_s=30, instances=[ONE_SERVER])
    assert tied.verdict == PROVED and tied.tie is not None and tied.tie.ok


def test_a_leader_that_does_not_step_down_fails_the_election_tie_on_random_walks() -> None:
    walks = TIE_INSTANCES[-1]
    assert walks.scope == WALKS
    assert not conform_raft_param(walks, model_class=StaleLeader, max_mismatches=1).ok


@pytest.mark.slow
def test_prove_raft_parameterized_from_the_cli_is_tied_and_proved() -> None:
    """The default tie (about 90 s here), then the proof."""
    import io

    from protoproof.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(["prove", "raft", "--parameterized", "--json"], out, err)
    r = json.loads(out.getvalue())
    assert code == 0 and r["verdict"] == PROVED and r["tied"] is True
    assert [i["checked"] for i in r["tie"]["instances"]][-1] == "(enc) (a) (b) on random walks"
