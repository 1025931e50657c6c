"""Two-phase commit: the state space of TwoPhase.tla, the planted bugs, refinement of TCommit."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.explore import explore
from protoproof.checker.path import replay
from protoproof.checker.verdict import EXHAUSTED, VIOLATED
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase

# Measured with `protoproof check twophase --rms N --json` (distinct_states, depth in steps);
# TLC reports 288 distinct states for 3 RMs and a search depth one larger (it counts states).
TWOPHASE = {1: (12, 4), 2: (56, 7), 3: (288, 10), 4: (1568, 13), 5: (8832, 16)}
TWOPHASE_SLOW = {6: (50816, 19), 7: (296448, 22)}
TCOMMIT = {1: (4, 2), 2: (12, 4), 3: (34, 6), 4: (96, 8), 5: (274, 10)}
ORBITS = {1: 12, 2: 34, 3: 80, 4: 166, 5: 314}


def tla_twophase(n: int) -> tuple[int, int]:
    """An independent line-by-line transliteration of TwoPhase.tla: (distinct states, depth)."""
    init: tuple[Any, ...] = (("working",) * n, "init", frozenset(), frozenset())
    seen, level, depth = {init}, [init], 0
    while level:
        nxt = []
        for rm, tm, tmp, msgs in level:
            succ = []
            for r in range(n):
                if tm == "init" and ("Prepared", r) in msgs:
                    succ.append((rm, tm, tmp | {r}, msgs))
            if tm == "init" and tmp == frozenset(range(n)):
                succ.append((rm, "committed", tmp, msgs | {("Commit",)}))
            if tm == "init":
                succ.append((rm, "aborted", tmp, msgs | {("Abort",)}))
            for r in range(n):
                def upd(v: str, r: int = r, rm: tuple[str, ...] = rm) -> tuple[str, ...]:
                    return rm[:r] + (v,) + rm[r + 1 :]
                if rm[r] == "working":
                    succ.append((upd("prepared"), tm, tmp, msgs | {("Prepared", r)}))
                    succ.append((upd("aborted"), tm, tmp, msgs))
                if ("Commit",) in msgs:
                    succ.append((upd("committed"), tm, tmp, msgs))
                if ("Abort",) in msgs:
                    succ.append((upd("aborted"), tm, tmp, msgs))
            for t in succ:
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        if nxt:
            depth += 1
        level = nxt
    return len(seen), depth


@pytest.mark.parametrize("n", sorted(TWOPHASE))
def test_twophase_has_exactly_the_states_and_depth_of_twophase_tla(n: int) -> None:
    r = explore(TwoPhase(rms=n))
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.depth) == TWOPHASE[n] == tla_twophase(n)
    assert r.unreached() == []


@pytest.mark.slow
@pytest.mark.parametrize("n", sorted(TWOPHASE_SLOW))
def test_twophase_state_counts_for_larger_configurations(n: int) -> None:
    r = explore(TwoPhase(rms=n))
    assert (r.stats.distinct_states, r.stats.depth) == TWOPHASE_SLOW[n] == tla_twophase(n)


def test_tlc_count_for_three_rms_is_288() -> None:
    assert explore(TwoPhase(rms=3)).stats.distinct_states == 288


@pytest.mark.parametrize("n", sorted(TCOMMIT))
def test_tcommit_state_counts_and_depths_are_pinned(n: int) -> None:
    r = explore(TCommit(rms=n))
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.depth) == TCOMMIT[n]


@pytest.mark.parametrize("n", [pytest.param(n, marks=pytest.mark.slow) if n == 5 else n  # 5 RMs: CI runs 1-4
                               for n in sorted(ORBITS)])
def test_symmetry_reports_the_number_of_orbits(n: int) -> None:
    r = explore(TwoPhase(rms=n), symmetry=True)
    assert r.verdict == EXHAUSTED
    assert r.stats.distinct_states == ORBITS[n]
    assert r.stats.depth == TWOPHASE[n][1]


def test_every_action_fires_in_the_correct_model() -> None:
    r = explore(TwoPhase(rms=3))
    assert r.stats.never_fired == []
    assert r.stats.coverage["tm.commit"] == 1  # one path to the single commit decision state


def test_twophase_refines_tcommit_at_every_step() -> None:
    for n in (1, 2, 3, 4):
        r = explore(TwoPhase(rms=n), properties=["refines_tcommit"])
        assert r.verdict == EXHAUSTED


COMMIT_WITHOUT_VOTES_ATOMICITY = [
    "choose_to_abort(node='rm0')",
    "commit(node='tm')",
    "deliver(src='tm', dst='rm1', msg=Commit())",
]
COMMIT_WITHOUT_VOTES_REFINEMENT = ["commit(node='tm')", "deliver(src='tm', dst='rm0', msg=Commit())"]
COMMIT_ON_MAJORITY_ATOMICITY = [
    "prepare(node='rm0')",
    "prepare(node='rm1')",
    "choose_to_abort(node='rm2')",
    "deliver(src='rm0', dst='tm', msg=Prepared(rm=0))",
    "deliver(src='rm1', dst='tm', msg=Prepared(rm=1))",
    "commit(node='tm')",
    "deliver(src='tm', dst='rm0', msg=Commit())",
]
COMMIT_ON_MAJORITY_REFINEMENT = [
    "prepare(node='rm0')",
    "prepare(node='rm1')",
    "deliver(src='rm0', dst='tm', msg=Prepared(rm=0))",
    "deliver(src='rm1', dst='tm', msg=Prepared(rm=1))",
    "commit(node='tm')",
    "deliver(src='tm', dst='rm0', msg=Commit())",
]


@pytest.mark.parametrize(
    ("variant", "prop", "path"),
    [
        ("commit-without-votes", "atomicity", COMMIT_WITHOUT_VOTES_ATOMICITY),
        ("commit-without-votes", "refines_tcommit", COMMIT_WITHOUT_VOTES_REFINEMENT),
        ("commit-on-majority", "atomicity", COMMIT_ON_MAJORITY_ATOMICITY),
        ("commit-on-majority", "refines_tcommit", COMMIT_ON_MAJORITY_REFINEMENT),
    ],
)
def test_planted_bug_is_found_with_its_exact_shortest_path(variant: str, prop: str, path: list[str]) -> None:
    model = TwoPhase(rms=3).with_variant(variant)
    assert isinstance(model, TwoPhase) and prop in model.breaks
    r = explore(model, properties=[prop])
    assert r.verdict == VIOLATED and r.property == prop
    assert r.path is not None and r.path.action_reprs() == path
    # The path replays through the model's transitions and ends in a violating state.
    again = replay(model, path)
    if prop == "atomicity":
        assert not model.atomicity(again.last)
        assert all(model.atomicity(s) for s in again.states[:-1])


def test_all_properties_together_stop_at_the_shallowest_violation() -> None:
    r = explore(TwoPhase(rms=3).with_variant("commit-without-votes"))
    assert (r.property, len(r.path or [])) == ("refines_tcommit", 2)


def test_planted_bug_depth_does_not_depend_on_symmetry() -> None:
    for variant, length in (("commit-without-votes", 3), ("commit-on-majority", 7)):
        r = explore(TwoPhase(rms=3).with_variant(variant), properties=["atomicity"], symmetry=True)
        assert r.verdict == VIOLATED and r.path is not None and len(r.path) == length
        assert isinstance(r.model, TwoPhase) and not r.model.atomicity(r.path.last)


def test_commit_without_votes_breaks_atomicity_at_depth_3_for_any_size() -> None:
    for n in (2, 3, 4, 5):
        r = explore(TwoPhase(rms=n).with_variant("commit-without-votes"), properties=["atomicity"])
        assert r.path is not None and len(r.path) == 3


def test_both_sometimes_properties_are_reached() -> None:
    r = explore(TwoPhase(rms=3))
    assert set(r.examples) == {"all_committed", "all_aborted"}
    committed = r.examples["all_committed"]
    aborted = r.examples["all_aborted"]
    assert committed is not None and aborted is not None
    # Shortest runs: 3 prepares, 3 votes received, commit, 3 deliveries; abort + 3 deliveries.
    assert len(committed) == 10 and len(aborted) == 3


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=200), max_size=25))
def test_random_runs_keep_atomicity_and_map_to_tcommit_steps(choices: list[int]) -> None:
    model = TwoPhase(rms=3)
    tc = TCommit(rms=3)
    s: Any = model.initial_states()[0]
    for c in choices:
        succ = list(model.successors(s))
        if not succ:
            break
        _a, t = succ[c % len(succ)]
        x, y = model.rm_states(s), model.rm_states(t)
        assert x == y or any(u.rm == y for _b, u in tc.successors(tc.init()[0]._replace(rm=x)))
        assert model.atomicity(t)
        s = t


def test_rms_must_be_positive() -> None:
    with pytest.raises(ValueError, match="--rms"):
        TwoPhase(rms=0)


def test_durable_votes_keep_atomicity_across_crashes() -> None:
    r = explore(TwoPhase(rms=2, max_crashes=2))
    assert r.verdict == EXHAUSTED and r.stats.never_fired == []


def test_a_vote_that_is_not_persisted_breaks_atomicity_after_a_crash() -> None:
    model = TwoPhase(rms=2, max_crashes=1).with_variant("volatile-vote")
    r = explore(model, properties=["atomicity"])
    assert r.verdict == VIOLATED and r.path is not None
    assert [a.name for a in r.path.actions][-3:] == ["crash", "recover", "choose_to_abort"]
    # Without crashes the same bug is invisible: volatile and durable state never differ.
    assert explore(TwoPhase(rms=2).with_variant("volatile-vote"), properties=["atomicity"]).verdict == EXHAUSTED


def test_crash_fields_cost_nothing_without_crashes() -> None:
    assert TwoPhase(rms=3).state_type.size == TwoPhase(rms=3, max_crashes=0).state_type.size
    assert explore(TwoPhase(rms=3)).stats.distinct_states == 288



def test_the_rm_cap_of_enumeration_is_checks_alone() -> None:
    with pytest.raises(KeyError, match=r"--rms 13 is too many to enumerate.*`prove twophase --rms 13`"):
        explore(TwoPhase(rms=13))
    assert explore(TwoPhase(rms=13), max_states=1000).verdict == "bounded"  # a bounded run is no enumeration
    assert TwoPhase(rms=12).enumeration_refusal() is None


@pytest.mark.slow
def test_the_prover_takes_more_rms_than_check_enumerates() -> None:
    import io

    from protoproof import cli

    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["prove", "twophase", "--rms", "13"], out, err) == 0, err.getvalue()
    assert "proved" in out.getvalue()
