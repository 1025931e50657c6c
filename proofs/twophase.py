"""The inductive strengthening of 2PC atomicity (TCConsistent), in the model's own vocabulary.

Atomicity alone is not inductive: a state where an RM is prepared, another aborted and a
Commit is in flight satisfies it, and one delivery breaks it.  Each conjunct below rules out one
kind of such unreachable state; ``prove`` checks that atomicity together with all of them is
preserved by every action instance, and the tests check that dropping any single one yields a
counterexample to induction (so none is decorative).

The predicates are plain Python over ``SysState``: RM ``r`` is ``s.nodes[r]`` (an ``RMState``),
the TM is ``s.nodes[n]`` (``TM(state, prepared)``), and ``model.sent(s, msg, src, dst)`` says
whether a message was ever sent (on any network that can say).  The prover runs them on z3
values through their twins; ``inductive_explicit`` runs them concretely.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.twophase import ABORTED, COMMITTED, WORKING, Abort, Commit, Prepared, TwoPhase

Predicate = Callable[[Any], bool]


def strengthening(model: TwoPhase) -> list[Predicate]:
    """The conjuncts that make atomicity inductive for ``model``'s number of RMs."""
    n = model.config.rms
    tm = n
    rms = range(n)

    def commit_sent_only_by_committed_tm(s: Any) -> bool:
        """A Commit is in flight only once the TM has committed."""
        return s.nodes[tm].state == COMMITTED or not any(model.sent(s, Commit(), tm, r) for r in rms)

    def abort_sent_only_by_aborted_tm(s: Any) -> bool:
        """An Abort is in flight only once the TM has aborted."""
        return s.nodes[tm].state == ABORTED or not any(model.sent(s, Abort(), tm, r) for r in rms)

    def committed_tm_heard_every_rm(s: Any) -> bool:
        """The TM commits only after every RM's Prepared reached it."""
        return s.nodes[tm].state != COMMITTED or all(r in s.nodes[tm].prepared for r in rms)

    def tm_prepared_only_from_messages(s: Any) -> bool:
        """The TM counts an RM as prepared only if that RM sent Prepared."""
        return all(r not in s.nodes[tm].prepared or model.sent(s, Prepared(r), r, tm) for r in rms)

    def prepared_sent_only_after_working(s: Any) -> bool:
        """An RM that sent Prepared is no longer working."""
        return all(not model.sent(s, Prepared(r), r, tm) or s.nodes[r] != WORKING for r in rms)

    def committed_rm_received_commit(s: Any) -> bool:
        """An RM commits only on a Commit addressed to it."""
        return all(s.nodes[r] != COMMITTED or model.sent(s, Commit(), tm, r) for r in rms)

    def aborted_rm_received_abort_or_never_prepared(s: Any) -> bool:
        """An aborted RM either got an Abort or aborted on its own before voting."""
        return all(
            s.nodes[r] != ABORTED or model.sent(s, Abort(), tm, r) or not model.sent(s, Prepared(r), r, tm)
            for r in rms
        )

    return [
        commit_sent_only_by_committed_tm,
        abort_sent_only_by_aborted_tm,
        committed_tm_heard_every_rm,
        tm_prepared_only_from_messages,
        prepared_sent_only_after_working,
        committed_rm_received_commit,
        aborted_rm_received_abort_or_never_prepared,
    ]


__all__ = ["strengthening"]
