"""The strengthening of the replicated log's prefix property (``models.replog``).

``logs_are_prefixes`` is already inductive on its own: an append keeps every prefix a prefix,
a copy extends a prefix by the leader's next entry, and a truncation is never enabled on a
state where it holds.  The conjunct below states the length bound a reader of the proof
expects (no follower is ahead of the leader); it is implied by the property, and ``prove``
checks it with the property, so the registry path for a strengthening is exercised on ``Seq``
state as for 2PC and Paxos.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.replog import RL, Replog

Predicate = Callable[[Any], bool]


def strengthening(model: Replog) -> list[Predicate]:
    """The conjuncts proved together with ``logs_are_prefixes``."""

    def no_follower_ahead_of_the_leader(s: RL) -> bool:
        """Every follower's log is at most as long as the leader's."""
        return all(len(log) <= len(s.leader) for log in s.logs)

    return [no_follower_ahead_of_the_leader]


__all__ = ["strengthening"]
