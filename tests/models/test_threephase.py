"""Three-phase commit: safe with a perfect failure detector, broken by partitions, and its planted bugs."""

from __future__ import annotations

from typing import Any

import pytest

from protoproof.checker.explore import explore
from protoproof.checker.path import replay
from protoproof.checker.verdict import EXHAUSTED, VIOLATED
from protoproof.models.actors import Faults
from protoproof.models.tcommit import ABORTED, COMMITTED
from protoproof.models.threephase import PRECOMMITTED, ThreePhase

# Measured with `protoproof check threephase --rms N [--max-crashes K] --json` (distinct_states, depth).
CRASH = {(2, 1): (732, 19), (3, 1): (10550, 28), (2, 3): (6146, 23)}

PARTITION_ATOMICITY = [
    "vote_yes(node='rm0')",
    "vote_yes(node='rm1')",
    "deliver(src='rm0', dst='tm', msg=Yes(rm=0))",
    "deliver(src='rm1', dst='tm', msg=Yes(rm=1))",
    "precommit(node='tm')",
    "deliver(src='tm', dst='rm0', msg=PreCommit())",
    "deliver(src='rm0', dst='tm', msg=Ack(rm=0))",
    "split(groups=(('rm0', 'tm'), ('rm1',)))",
    "suspect(node='rm1', peer='rm0')",
    "suspect(node='rm1', peer='tm')",
    "decide(node='rm1')",
    "suspect(node='tm', peer='rm1')",
    "commit(node='tm')",
    "deliver(src='tm', dst='rm0', msg=DoCommit())",
]

BACKUP_COMMITS_FROM_WAIT = [
    "vote_yes(node='rm0')",
    "vote_no(node='rm1')",
    "crash(node='rm1')",
    "crash(node='tm')",
    "suspect(node='rm0', peer='rm1')",
    "suspect(node='rm0', peer='tm')",
    "decide(node='rm0')",
]

COMMIT_ON_TIMEOUT = [
    "vote_yes(node='rm0')",
    "vote_no(node='rm1')",
    "crash(node='tm')",
    "suspect(node='rm0', peer='tm')",
]


@pytest.mark.parametrize(("rms", "crashes"), sorted(CRASH))
def test_3pc_with_a_perfect_failure_detector_keeps_atomicity_and_refines_tcommit(rms: int, crashes: int) -> None:
    r = explore(ThreePhase(rms=rms, max_crashes=crashes))
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.depth) == CRASH[(rms, crashes)]
    assert set(r.examples) == {"all_committed", "all_aborted", "committed_by_backup"}
    assert r.stats.never_fired == []


def test_3pc_under_partitions_commits_on_one_side_after_precommit_and_aborts_on_the_other() -> None:
    model = ThreePhase(rms=2, max_crashes=0, failures="partition")
    r = explore(model, properties=["atomicity"])
    assert r.verdict == VIOLATED and r.path is not None
    assert r.path.action_reprs() == PARTITION_ATOMICITY
    last = replay(model, PARTITION_ATOMICITY)
    assert model.rm_states(last.last) == (COMMITTED, ABORTED)
    assert all(model.atomicity(s) for s in last.states[:-1])
    # rm0 was pre-committed on the coordinator's side before the split; rm1, cut off, aborted.
    before_split = last.states[PARTITION_ATOMICITY.index("split(groups=(('rm0', 'tm'), ('rm1',)))")]
    assert model.rm_states(before_split)[0] == PRECOMMITTED


def test_the_partition_counterexample_is_also_a_refinement_violation() -> None:
    r = explore(ThreePhase(rms=2, max_crashes=0, failures="partition"), properties=["refines_tcommit"])
    assert r.verdict == VIOLATED and r.path is not None and r.path.action_reprs() == PARTITION_ATOMICITY


@pytest.mark.parametrize(
    ("variant", "params", "path"),
    [
        ("backup-commits-from-wait", {"max_crashes": 2}, BACKUP_COMMITS_FROM_WAIT),
        ("commit-on-timeout", {}, COMMIT_ON_TIMEOUT),
    ],
)
def test_planted_bug_breaks_atomicity_with_its_exact_shortest_path(
    variant: str, params: dict[str, Any], path: list[str]
) -> None:
    model = ThreePhase(rms=2, **params).with_variant(variant)
    assert isinstance(model, ThreePhase) and {"atomicity", "refines_tcommit"} <= set(model.breaks)
    r = explore(model, properties=["atomicity"])
    assert r.verdict == VIOLATED and r.path is not None and r.path.action_reprs() == path
    assert set(model.rm_states(replay(model, path).last)) == {COMMITTED, ABORTED}
    assert explore(model, properties=["refines_tcommit"]).verdict == VIOLATED


def test_the_correct_protocol_survives_the_crashes_that_expose_the_backup_bug() -> None:
    assert explore(ThreePhase(rms=2, max_crashes=2)).verdict == EXHAUSTED


def test_crashes_are_crash_stop_with_no_recover_action_and_no_disk_in_the_state() -> None:
    model = ThreePhase(rms=2)
    assert "recover" not in model.action_families and "crash" in model.action_families
    assert not any(a.name == "recover" for a in model.actions())
    assert model.state_type.fields["disk"].size == 1  # type: ignore[attr-defined]
    assert Faults(max_crashes=1, recovery=False).keeps_disk is False


def test_a_perfect_failure_detector_suspects_only_crashed_nodes() -> None:
    model = ThreePhase(rms=2)
    s = model.initial_states()[0]
    assert [a for a, _t in model.successors(s) if a.name == "suspect"] == []
    down = next(t for a, t in model.successors(s) if repr(a) == "crash(node='tm')")
    assert sorted(repr(a) for a, _t in model.successors(down) if a.name == "suspect") == [
        "suspect(node='rm0', peer='tm')", "suspect(node='rm1', peer='tm')"]


def test_failures_must_be_crash_or_partition() -> None:
    with pytest.raises(ValueError, match="--failures must be 'crash' or 'partition'"):
        ThreePhase(failures="byzantine")


def test_the_partition_counterexample_is_drawn_with_the_split_and_the_abort_held_back() -> None:
    from protoproof.checker.render import sequence_chart

    model = ThreePhase(rms=2, max_crashes=0, failures="partition")
    dot = sequence_chart(replay(model, PARTITION_ATOMICITY), title="atomicity violated")
    assert dot.index("split(groups=") < dot.index("decide") < dot.index("DoCommit()")
    assert "from rm1: Abort()" in dot  # the backup's Abort never crossed the partition


def test_a_message_delivered_now_reaches_the_node_at_once_and_leaves_the_network_alone() -> None:
    from protoproof.models.actors import Envelope
    from protoproof.models.threephase import Suspect

    model = ThreePhase(rms=2)
    s = model.initial_states()[0]
    t = model.deliver_now(s, Envelope(0, 0, Suspect(2)))
    assert t is not None and t.net == s.net and t.nodes[0].suspects == frozenset({2})
    assert t.nodes[0].phase == ABORTED  # it had not voted
    assert model.deliver_now(t, Envelope(0, 0, Suspect(2))) is None  # already suspected: ignored
    down = s._replace(down=frozenset({0}))
    assert model.deliver_now(down, Envelope(0, 0, Suspect(2))) is None  # a down node takes nothing
