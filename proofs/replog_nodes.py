"""The strengthening of the node-form replicated log's safety properties (``models.replog_nodes``).

``followers_agree_on_committed`` is not inductive alone: a commit needs every follower to hold
the entry, a follower's append needs the entry to be the leader's, a cut on a new epoch needs
the announced commit index to be the leader's current one (it cannot have grown while a follower
lagged an epoch behind).  Each conjunct says what one kind of message or
acknowledgement promises; the epoch is what keeps a promise of an earlier epoch from counting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models.replog import is_prefix
from ..models.replog_nodes import Ack, Append, NewEpoch, ReplogNodes

Predicate = Callable[[Any], bool]


def strengthening(model: ReplogNodes) -> list[Predicate]:
    """The conjuncts proved together with the two safety properties."""
    followers = range(1, model.config.followers + 1)
    universe = [e for e in model._universe]
    appends = [e for e in universe if type(e.msg) is Append]
    epochs = [e for e in universe if type(e.msg) is NewEpoch]
    acks = [e for e in universe if type(e.msg) is Ack]

    def followers_trail_the_leader(s: Any) -> bool:
        """No follower is in a later epoch than the leader, and one in its epoch holds a prefix of its log."""
        ls = s.nodes[0]
        return all(s.nodes[f].epoch <= ls.epoch and (s.nodes[f].epoch != ls.epoch or is_prefix(s.nodes[f].log, ls.log))
                   for f in followers)

    def acknowledged_lengths_are_held(s: Any) -> bool:
        """A follower counted as holding ``match`` entries is in the leader's epoch and holds them."""
        ls = s.nodes[0]
        return all(ls.match[f - 1] == 0 or (s.nodes[f].epoch == ls.epoch and ls.match[f - 1] <= len(s.nodes[f].log))
                   for f in followers)

    def entries_of_this_epoch_are_the_leaders(s: Any) -> bool:
        """An entry sent in the leader's epoch is the one its log holds at that position."""
        ls = s.nodes[0]
        return all(not model.in_flight(s, e.msg, e.src, e.dst) or e.msg.epoch < ls.epoch
                   or (e.msg.epoch == ls.epoch and e.msg.idx < len(ls.log) and ls.log[e.msg.idx] == e.msg.val)
                   for e in appends)

    def announced_commits_are_current(s: Any) -> bool:
        """An epoch announcement a follower has yet to adopt carries the leader's commit index as it is
        now: the leader commits only once every follower is in its epoch."""
        ls = s.nodes[0]
        return all(not model.in_flight(s, e.msg, e.src, e.dst)
                   or (e.msg.epoch <= ls.epoch and (e.msg.epoch <= s.nodes[e.dst].epoch or e.msg.commit == ls.commit))
                   for e in epochs)

    def acks_of_this_epoch_are_held(s: Any) -> bool:
        """An acknowledgement in the leader's epoch comes from a follower in that epoch holding that many."""
        ls = s.nodes[0]
        return all(not model.in_flight(s, e.msg, e.src, e.dst) or e.msg.epoch < ls.epoch
                   or (e.msg.epoch == ls.epoch and s.nodes[e.src].epoch == ls.epoch
                       and e.msg.length <= len(s.nodes[e.src].log)) for e in acks)

    return [followers_trail_the_leader, acknowledged_lengths_are_held, entries_of_this_epoch_are_the_leaders,
            announced_commits_are_current, acks_of_this_epoch_are_held]


__all__ = ["strengthening"]
