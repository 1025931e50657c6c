"""The strengthening of the replicated log's safety properties (``models.replog``).

``followers_agree_on_committed`` is not inductive alone: a commit step needs every follower to
hold the entry it commits, which the property does not say of uncommitted entries.  The
conjuncts state what each acknowledgement promises: an acknowledged length is at most the
leader's and the follower's, the follower agrees with the leader up to it (so a truncation to
the common prefix never drops it), and the commit index is at most every acknowledgement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.replog import RL, Replog

Predicate = Callable[[Any], bool]


def strengthening(model: Replog) -> list[Predicate]:
    """The conjuncts proved together with the two safety properties."""
    followers = model.follower_ids()

    def acknowledged_prefixes_agree(s: RL) -> bool:
        """Each follower holds the leader's log up to the length it acknowledged."""
        return all(s.match[f] <= len(s.leader) and s.match[f] <= len(s.logs[f])
                   and s.logs[f][: s.match[f]] == s.leader[: s.match[f]] for f in followers)

    def commit_is_acknowledged(s: RL) -> bool:
        """Nothing is committed beyond what every follower acknowledged."""
        return all(s.commit <= s.match[f] for f in followers)

    return [acknowledged_prefixes_agree, commit_is_acknowledged]


__all__ = ["strengthening"]
