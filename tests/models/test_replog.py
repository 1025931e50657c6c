"""The toy replicated log: ``Seq`` state checked explicitly, by BMC, by induction and by conformance."""

from __future__ import annotations

import io

from protoproof import cli
from protoproof.checker.bmc import bmc
from protoproof.checker.conformance import conform
from protoproof.checker.explore import explore
from protoproof.checker.induction import prove
from protoproof.checker.verdict import BOUNDED, CONFORMS, EXHAUSTED, PROVED, VIOLATED
from protoproof.models.replog import RL, CopyOffByOne, Replog, RetractCommitted, common_prefix, is_prefix
from protoproof.proofs import strengthening_for


def test_is_prefix_and_common_prefix_are_what_they_say() -> None:
    assert is_prefix((), (1,)) and is_prefix((1, 0), (1, 0, 1)) and not is_prefix((0,), (1,))
    assert not is_prefix((1, 0, 1), (1, 0))
    assert common_prefix((1, 0, 1), (1, 1), 3) == 1 and common_prefix((1,), (1, 0), 3) == 1


def test_the_replicated_log_is_exhausted_with_its_pinned_counts() -> None:
    r = explore(Replog())
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (819, 2564, 14)


def test_truncate_fires_in_the_correct_model_after_a_retraction() -> None:
    r = explore(Replog())
    assert all(r.stats.coverage[a] > 0 for a in ("append", "retract", "commit_next", "copy", "truncate"))


def test_the_leader_retracts_only_an_uncommitted_entry_and_the_follower_truncates_it() -> None:
    m = Replog(followers=1)
    s = RL((0,), ((0,),), (1,), 0)
    back = m.retract(s)
    assert back == RL((), ((0,),), (0,), 0)  # the acknowledgement beyond the log lapses
    assert m.truncate(back, 0) == RL((), ((),), (0,), 0)
    assert m.retract(RL((0,), ((0,),), (1,), 1)) is None  # committed: never retracted


def test_check_finds_the_off_by_one_copy_once_it_is_committed() -> None:
    r = explore(CopyOffByOne())
    assert r.verdict == VIOLATED and r.property == "followers_agree_on_committed"
    assert r.path is not None and len(r.path) == 5


def test_bmc_finds_the_off_by_one_copy_at_its_depth_and_replays_it() -> None:
    r = bmc(CopyOffByOne(), 6)
    assert r.verdict == VIOLATED and r.property == "followers_agree_on_committed" and r.depth_reached == 5
    assert r.path is not None and len(r.path) == 5
    assert not Replog().followers_agree_on_committed(r.path.last)  # the replayed last state breaks it
    assert r.path.states[0] == RL((), ((), ()), (0, 0), 0)


def test_bmc_of_the_correct_replicated_log_is_clean_to_its_depth() -> None:
    r = bmc(Replog(), 4)
    assert r.verdict == BOUNDED and r.depth_reached == 4


def test_the_prefix_property_is_proved_by_induction_with_its_strengthening() -> None:
    model = Replog()
    strengthening = strengthening_for(model)
    assert strengthening is not None and len(strengthening) == 2
    r = prove(model, strengthening)
    assert r.verdict == PROVED, r.to_lines()


def test_induction_refutes_the_off_by_one_copy() -> None:
    model = CopyOffByOne()
    r = prove(model, strengthening_for(model))
    assert r.verdict != PROVED


def test_the_replicated_log_conforms_on_a_small_instance() -> None:
    r = conform(Replog(followers=1, maxlen=2), random_states=100)
    assert r.verdict == CONFORMS, r.to_lines()
    assert not r.mismatches and not r.formula_mismatches and all(t.result == "equivalent" for t in r.twins)


def test_check_replog_runs_from_the_cli() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["check", "replog", "--variant", "copy-off-by-one"], out, err) == 1
    assert "followers_agree_on_committed" in out.getvalue()


def test_retracting_a_committed_entry_is_found_by_check_bmc_and_induction() -> None:
    r = explore(RetractCommitted())
    assert r.verdict == VIOLATED and r.property == "committed_never_retracted"
    assert r.path is not None and len(r.path) == 5  # append, copy, copy, commit, retract
    b = bmc(RetractCommitted(), len(r.path))
    assert b.verdict == VIOLATED and b.property == "committed_never_retracted" and b.depth_reached == len(r.path)
    model = RetractCommitted()
    assert prove(model, strengthening_for(model)).verdict != PROVED
