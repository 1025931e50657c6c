"""3PC's point: with a perfect failure detector the live participants always decide; 2PC blocks."""

from __future__ import annotations

from typing import Any

import pytest

from protoproof.checker.explore import explore
from protoproof.checker.verdict import EXHAUSTED, VIOLATED
from protoproof.models.tcommit import PREPARED
from protoproof.models.threephase import ThreePhase
from protoproof.models.twophase import LiveTwoPhase, TwoPhase


@pytest.mark.parametrize(("rms", "crashes"), [(2, 1), (3, 1), (2, 3)])
def test_3pc_with_a_perfect_failure_detector_is_nonblocking(rms: int, crashes: int) -> None:
    r = explore(ThreePhase(rms=rms, max_crashes=crashes))
    assert r.verdict == EXHAUSTED
    assert r.liveness.startswith("checked on the full graph") and "nonblocking" in r.liveness


def test_2pc_with_a_crashing_tm_is_safe_but_blocks_after_every_rm_prepared() -> None:
    model = LiveTwoPhase(rms=3, max_crashes=1)
    assert explore(model, properties=["atomicity"]).verdict == EXHAUSTED
    r = explore(model)
    assert (r.verdict, r.property) == (VIOLATED, "nonblocking")
    assert r.path is not None
    assert r.path.action_reprs() == [
        "prepare(node='rm0')", "prepare(node='rm1')", "prepare(node='rm2')", "crash(node='tm')"]
    assert r.path.loop_start == 4  # stays there: recovery is not fair, nothing fair is enabled
    assert model.rm_states(r.path.last) == (PREPARED,) * 3


def test_2pc_without_crashes_is_nonblocking_and_twophase_itself_declares_no_liveness() -> None:
    assert explore(LiveTwoPhase(rms=3)).verdict == EXHAUSTED
    assert TwoPhase(rms=3).liveness_properties == []
    assert explore(TwoPhase(rms=3)).stats.distinct_states == 288


def test_a_backup_that_waits_for_crashed_participants_blocks_3pc() -> None:
    model = ThreePhase(rms=2, max_crashes=2).with_variant("backup-waits-for-all")
    assert explore(model, properties=["atomicity"]).verdict == EXHAUSTED
    r = explore(model)
    assert (r.verdict, r.property) == (VIOLATED, "nonblocking")
    assert r.path is not None and r.path.action_reprs() == [
        "vote_yes(node='rm0')", "crash(node='rm1')", "crash(node='tm')",
        "suspect(node='rm0', peer='rm1')", "suspect(node='rm0', peer='tm')"]
    assert r.path.loop_start == 5  # rm0, the backup, waits forever for the crashed rm1's report
    assert explore(ThreePhase(rms=2, max_crashes=2)).verdict == EXHAUSTED  # the correct backup decides


class _LazyDetector(ThreePhase):
    """3PC whose failure detector need not ever suspect a crashed node (not fair)."""

    def fairness(self) -> dict[str, Any]:
        return self.fair_steps("weak")


def test_without_a_fair_failure_detector_3pc_blocks_when_the_coordinator_crashes() -> None:
    r = explore(_LazyDetector(rms=2))
    assert (r.verdict, r.property) == (VIOLATED, "nonblocking")
    assert r.path is not None and "crash(node='tm')" in r.path.action_reprs()
