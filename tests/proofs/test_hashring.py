"""z3 proves the ring's movement statements for every 64-bit placement, tied to the Python ring."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from protoproof import cli
from protoproof.checker.firstorder.result import INVALID, VALID
from protoproof.checker.verdict import ERROR, PROVED, PROVED_FORMULAS_ONLY, UNKNOWN, VIOLATED
from protoproof.models.hashring import Ring
from protoproof.models.hashring_model import HashRing, ModN, NoSkip
from protoproof.proofs import hashring
from protoproof.proofs.hashring import ENCODINGS, STATEMENTS, mod_n, no_skip, prove_hashring
from protoproof.proofs.hashring_tie import placements, tie_hashring


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_every_statement_is_proved_for_every_placement_and_tied_to_the_python_ring() -> None:
    r = prove_hashring(HashRing(nodes=2, vnodes=2, replicas=2))
    assert r.verdict == PROVED and r.tie is not None and r.tie.ok and r.tie.compared > 500
    assert [(o.name, o.result) for o in r.obligations] == [(name, VALID) for name in STATEMENTS]


@pytest.mark.slow
def test_the_default_ring_is_proved_with_three_nodes_two_tokens_each_and_two_replicas() -> None:
    r = prove_hashring(HashRing())
    assert r.verdict == PROVED and all(o.result == VALID for o in r.obligations)


def test_hash_mod_n_is_refuted_by_z3_and_the_refutation_replays_in_the_python_ring() -> None:
    r = prove_hashring(ModN(nodes=3, vnodes=1, replicas=1))
    assert r.verdict == VIOLATED and r.reason.startswith("join_moves fails")
    assert [o.result for o in r.obligations][:2] == [VALID, INVALID]
    assert r.counterexample[-1] == "the Python ring breaks join_moves there"


def test_a_preference_list_keeping_duplicate_nodes_is_refuted_by_z3() -> None:
    r = prove_hashring(NoSkip(nodes=2, vnodes=2, replicas=2))
    assert r.verdict == VIOLATED and r.obligations[0].result == INVALID
    assert r.counterexample[-1] == "the Python ring breaks distinct there"


def test_the_tie_catches_an_encoding_that_is_not_the_rings_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not tie_hashring(HashRing(nodes=3, vnodes=1), mod_n).ok
    assert not tie_hashring(NoSkip(nodes=2, vnodes=2), hashring.clockwise).ok
    assert tie_hashring(NoSkip(nodes=2, vnodes=2), no_skip).ok
    monkeypatch.setitem(ENCODINGS, Ring, mod_n)
    r = prove_hashring(HashRing(nodes=2, vnodes=1, replicas=1))
    assert r.verdict == ERROR and r.reason.startswith("the tie failed: tokens")


def test_the_tie_samples_ties_and_the_wrap_as_well_as_wide_positions() -> None:
    samples = placements(HashRing(nodes=3, vnodes=2), 30, seed=0)
    ties = [t for t, _m, _k in samples if len(set(t)) < len(t)]
    wrapping = [t for t, _m, _k in samples if max(t) > 1 << 63 and min(t) < 8]
    assert len(ties) >= 5 and len(wrapping) >= 5 and all(any(m) for _t, m, _k in samples)


def test_a_refutation_the_python_ring_does_not_confirm_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashring, "python_holds", lambda *a: True)
    r = prove_hashring(NoSkip(nodes=2, vnodes=2, replicas=2), tie=False)
    assert r.verdict == ERROR and "the encoding is wrong" in r.reason


def test_an_untied_proof_says_it_is_about_the_formulas_only() -> None:
    r = prove_hashring(HashRing(nodes=2, vnodes=1, replicas=1), tie=False)
    assert r.verdict == PROVED_FORMULAS_ONLY and "nothing is claimed about the Python ring" in "\n".join(r.to_lines())


def test_a_ring_class_without_an_encoding_is_not_proved() -> None:
    class Other(Ring[Any]):
        pass

    class OtherModel(HashRing):
        ring_class = Other

    r = prove_hashring(OtherModel(nodes=2, vnodes=1))
    assert r.verdict == UNKNOWN and "no z3 encoding of Other" in r.reason


def test_prove_hashring_from_the_cli_proves_refutes_and_refuses_induction_flags() -> None:
    code, out, _ = run("prove", "hashring", "--nodes", "2", "--vnodes", "1", "--replicas", "2")
    assert code == 0 and out.startswith("prove hashring (2 nodes, 1 vnodes, 2 replicas; every placement")
    assert ": proved" in out.splitlines()[0]
    code, out, _ = run("prove", "hashring", "--nodes", "2", "--vnodes", "2", "--variant", "no-skip", "--json")
    assert code == 1 and json.loads(out)["verdict"] == VIOLATED
    code, out, _ = run("prove", "hashring", "--nodes", "2", "--vnodes", "1", "--no-tie")
    assert code == 3 and "proved-formulas-only" in out
    code, _, err = run("prove", "hashring", "--k", "2")
    assert code == 2 and "--k: not used by hashring's prover" in err


def test_check_hashring_from_the_cli_is_exhausted_with_its_counts() -> None:
    code, out, _ = run("check", "hashring", "--nodes", "3", "--vnodes", "1", "--replicas", "2")
    assert code == 0 and "exhausted" in out
    assert "63 distinct states, 162 transitions, longest shortest path 2 steps" in out
    code, out, _ = run("check", "hashring", "--nodes", "3", "--vnodes", "1", "--variant", "mod-n")
    assert code == 1 and "VIOLATED: leaves_move_only_the_leavers_keys" in out


def test_bmc_and_conform_point_a_model_with_its_own_prover_to_prove() -> None:
    for command in (["bmc", "hashring", "--depth", "1"], ["conform", "hashring"]):
        code, _, err = run(*command, "--nodes", "2", "--vnodes", "1")
        assert code == 2 and "hashring does not run on z3 values; `protoproof prove hashring` proves" in err
        assert "Traceback" not in err
