"""The inductive strengthening of 3PC atomicity under crash-stop failures with a perfect detector.

At a fixed size with at most one crash (``--max-crashes 1``, the default).  The idea, as Skeen
argues it: a commit decision and an abort decision never coexist (``no_commit_and_abort``), and
a pre-committed participant rules out any abort (``precommitted_rules_out_abort``): the backup
coordinator aborts only when no report it holds names a pre-committed or committed participant,
and a report stays true while the backup has not acted, because a participant that suspects the
coordinator ignores it from then on.  The other conjuncts say where each message, vote, report
and acknowledgement comes from.  The tests check that dropping any single conjunct yields a
counterexample to induction (none is decorative).

With one crash the backup is always participant 0: a node suspects only crashed nodes
(``suspects_only_crashed``) and at most ``crashes`` nodes are down, so once the coordinator is
down every participant is up.  The predicates are plain Python over ``SysState``; the prover runs
them on z3 values through their twins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.tcommit import ABORTED, COMMITTED, PREPARED, WORKING
from ..models.threephase import (
    DONE,
    IDLE,
    INIT,
    PRECOMMITTED,
    PRECOMMITTING,
    Abort,
    Ack,
    DoCommit,
    No,
    PreCommit,
    Report,
    ThreePhase,
    Yes,
)

Predicate = Callable[[Any], bool]
REPORTED = (PREPARED, PRECOMMITTED, COMMITTED, ABORTED)


def strengthening(model: ThreePhase) -> list[Predicate]:
    """The conjuncts that make atomicity inductive for ``model``'s size (at most one crash)."""
    if model.config.max_crashes > 1 or model.config.failures != "crash":
        raise ValueError("the 3PC strengthening covers --failures crash with --max-crashes 0 or 1")
    n = model.config.rms
    tm = n
    rms = range(n)
    nodes = range(n + 1)
    sent = model.sent

    def part(s: Any, r: int) -> Any:
        return s.nodes[r]

    def abortish(s: Any) -> bool:
        return (s.nodes[tm].phase == ABORTED or any(part(s, r).phase == ABORTED for r in rms)
                or any(sent(s, Abort(), src, r) for src in nodes for r in rms if src != r))

    def commitish(s: Any) -> bool:
        return (s.nodes[tm].phase == COMMITTED or any(part(s, r).phase == COMMITTED for r in rms)
                or any(sent(s, DoCommit(), src, r) for src in nodes for r in rms if src != r))

    def at_most_crashes_down(s: Any) -> bool:
        """Crash-stop: each node down was one crash."""
        return sum(1 for i in nodes if i in s.down) <= s.crashes

    def suspects_only_crashed(s: Any) -> bool:
        """The perfect failure detector: a suspected node is down."""
        return (all(q in s.down or q not in part(s, r).suspects for r in rms for q in nodes if q != r)
                and all(r in s.down or r not in s.nodes[tm].suspects for r in rms))

    def no_commit_and_abort(s: Any) -> bool:
        """No commit decision (taken or in flight) beside an abort decision."""
        return not (commitish(s) and abortish(s))

    def precommitted_rules_out_abort(s: Any) -> bool:
        """While a participant is pre-committed no abort decision exists."""
        return not (any(part(s, r).phase == PRECOMMITTED for r in rms) and abortish(s))

    def abort_after_precommit_only_once_all_suspect(s: Any) -> bool:
        """Beside a pre-committing coordinator, an abort decision exists only once every participant
        suspects the coordinator (the backup aborted, with everyone's report)."""
        return not (s.nodes[tm].phase in (PRECOMMITTING, COMMITTED) and abortish(s)) or all(
            tm in part(s, r).suspects for r in rms)

    def working_rules_out_progress(s: Any) -> bool:
        """While a participant has not voted, the coordinator has not moved on and no backup acted."""
        return not any(part(s, r).phase == WORKING for r in rms) or (
            s.nodes[tm].phase in (INIT, ABORTED)
            and all(part(s, q).stage == IDLE and part(s, q).phase not in (PRECOMMITTED, COMMITTED) for q in rms))

    def yes_from_voters(s: Any) -> bool:
        """A Yes comes from a participant that left the working phase and did not vote No."""
        return all(not sent(s, Yes(r), r, tm) or (part(s, r).phase != WORKING and not sent(s, No(r), r, tm))
                   for r in rms)

    def no_from_aborted(s: Any) -> bool:
        """A No comes from an aborted participant."""
        return all(not sent(s, No(r), r, tm) or part(s, r).phase == ABORTED for r in rms)

    def aborted_for_a_reason(s: Any) -> bool:
        """A participant aborted by voting No, on an Abort, unvoted on suspecting the coordinator,
        or as the backup that decided so."""
        return all(part(s, r).phase != ABORTED or sent(s, No(r), r, tm) or part(s, r).stage == DONE
                   or (tm in part(s, r).suspects and not sent(s, Yes(r), r, tm))
                   or any(sent(s, Abort(), src, r) for src in nodes if src != r) for r in rms)

    def committed_for_a_reason(s: Any) -> bool:
        """A participant committed on a DoCommit or as the backup that decided."""
        return all(part(s, r).phase != COMMITTED or part(s, r).stage == DONE
                   or any(sent(s, DoCommit(), src, r) for src in nodes if src != r) for r in rms)

    def tm_votes_from_messages(s: Any) -> bool:
        return all(r not in s.nodes[tm].votes or sent(s, Yes(r), r, tm) for r in rms)

    def tm_acks_from_messages(s: Any) -> bool:
        return all(r not in s.nodes[tm].acks or sent(s, Ack(r), r, tm) for r in rms)

    def tm_committed_with_every_ack(s: Any) -> bool:
        return s.nodes[tm].phase != COMMITTED or all(
            r in s.nodes[tm].acks or r in s.nodes[tm].suspects for r in rms)

    def tm_messages_follow_its_phase(s: Any) -> bool:
        """PreCommit, DoCommit and Abort from the coordinator match its phase."""
        c = s.nodes[tm].phase
        return all((not sent(s, PreCommit(), tm, r) or c in (PRECOMMITTING, COMMITTED))
                   and (not sent(s, DoCommit(), tm, r) or c == COMMITTED)
                   and (not sent(s, Abort(), tm, r) or c == ABORTED) for r in rms)

    def acks_from_precommitted(s: Any) -> bool:
        """An Ack comes from a participant that is pre-committed or committed."""
        return all(not sent(s, Ack(r), r, d) or part(s, r).phase in (PRECOMMITTED, COMMITTED)
                   for r in rms for d in nodes if d != r)

    def backup_messages_follow_its_stage(s: Any) -> bool:
        """A participant sends PreCommit, DoCommit or Abort only as a backup that decided."""
        def ok(b: Any, r: int, bid: int) -> bool:
            return ((not sent(s, PreCommit(), bid, r) or (b.stage == PRECOMMITTING and b.phase == PRECOMMITTED)
                     or (b.stage == DONE and b.phase == COMMITTED))
                    and (not sent(s, DoCommit(), bid, r) or (b.stage == DONE and b.phase == COMMITTED))
                    and (not sent(s, Abort(), bid, r) or (b.stage == DONE and b.phase == ABORTED)))
        return all(ok(part(s, b), r, b) for b in rms for r in rms if r != b)

    def backup_stage_follows_suspicion(s: Any) -> bool:
        """A participant acts as backup only once it suspects the coordinator, with its phase to match."""
        return all(part(s, b).stage == IDLE or (
            tm in part(s, b).suspects and all(q in part(s, b).suspects for q in rms if q < b)
            and (part(s, b).stage != PRECOMMITTING or part(s, b).phase == PRECOMMITTED)
            and (part(s, b).stage != DONE or part(s, b).phase in (COMMITTED, ABORTED))) for b in rms)

    def reports_after_suspicion(s: Any) -> bool:
        """A participant reports only once it suspects the coordinator."""
        return all(not sent(s, Report(r, p), r, b) or tm in part(s, r).suspects
                   for r in rms for b in rms if b != r for p in REPORTED)

    def reports_go_to_the_backup(s: Any) -> bool:
        """A participant reports to a backup numbered below it, having suspected every participant below that."""
        return all(not sent(s, Report(r, p), r, b) or (b < r and all(q in part(s, r).suspects for q in rms if q < b))
                   for r in rms for b in rms if b != r for p in REPORTED)

    def precommitted_for_a_reason(s: Any) -> bool:
        """A participant pre-committed on a PreCommit or as the backup that decided so."""
        return all(part(s, r).phase != PRECOMMITTED or part(s, r).stage == PRECOMMITTING
                   or any(sent(s, PreCommit(), src, r) for src in nodes if src != r) for r in rms)

    def reports_stay_true_until_the_backup_acts(s: Any) -> bool:
        """A report names its sender's phase while the backup it went to has not decided."""
        return all(not sent(s, Report(r, p), r, b) or part(s, b).stage != IDLE or part(s, r).phase == p
                   for r in rms for b in rms if b != r for p in REPORTED)

    def heard_from_reports(s: Any) -> bool:
        """The backup heard from a participant only through its report, whose phase it has seen."""
        return all(r not in part(s, b).heard or any(sent(s, Report(r, p), r, b) and p in part(s, b).seen
                                                    for p in REPORTED)
                   for b in rms for r in rms if r != b)

    def seen_from_reports(s: Any) -> bool:
        """A phase the backup has seen is in a report from a participant it heard from."""
        return all(p not in part(s, b).seen or any(r in part(s, b).heard and sent(s, Report(r, p), r, b)
                                                   for r in rms if r != b)
                   for b in rms for p in REPORTED)

    return [
        at_most_crashes_down,
        suspects_only_crashed,
        no_commit_and_abort,
        precommitted_rules_out_abort,
        abort_after_precommit_only_once_all_suspect,
        working_rules_out_progress,
        yes_from_voters,
        no_from_aborted,
        aborted_for_a_reason,
        committed_for_a_reason,
        tm_votes_from_messages,
        tm_acks_from_messages,
        tm_committed_with_every_ack,
        tm_messages_follow_its_phase,
        acks_from_precommitted,
        backup_messages_follow_its_stage,
        backup_stage_follows_suspicion,
        reports_after_suspicion,
        reports_go_to_the_backup,
        precommitted_for_a_reason,
        reports_stay_true_until_the_backup_acts,
        heard_from_reports,
        seen_from_reports,
    ]


__all__ = ["strengthening"]
