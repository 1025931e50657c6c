"""A protocol that lives only in tests/: the proof that a new protocol needs no edit elsewhere.

A leader chooses one value and announces it; followers adopt what they hear. It is a node
model (so the runtime can run it as a cluster), with a strengthening (so ``prove`` has work),
a planted bug and a declaration (``PROTOCOL``) that a test registers, or that an entry point
names, to give it every command of the tool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from protoproof.models.actors import ActorSystem, Broadcast, Effect, Envelope, Node
from protoproof.models.base import always, sometimes, transition, variant
from protoproof.models.registry import Protocol
from protoproof.models.schema import Id, Int, Record, SetOf, Type, Union, message


@message
class Announce:
    value: int


Out = tuple[Any, Sequence[Effect]] | None


class Leader(Node[frozenset[int]]):
    """State: the values it has chosen (one at most)."""

    role = "leader"

    def __init__(self, node_id: int, followers: int, values: int) -> None:
        super().__init__(node_id, "leader")
        self.followers, self.values = followers, values

    def state_type(self) -> Type:
        return SetOf(Id("value", self.values))

    def on_start(self) -> tuple[frozenset[int], Sequence[Effect]]:
        return frozenset(), ()

    def value_ids(self) -> range:
        return range(self.values)

    def may_choose(self, s: frozenset[int]) -> bool:
        return not s

    @transition(v="value_ids")
    def choose(self, s: frozenset[int], v: int) -> Out:
        if not self.may_choose(s):
            return None
        return s | {v}, (Broadcast(tuple(range(self.followers)), Announce(v)),)


class Follower(Node[frozenset[int]]):
    """State: the value it adopted (none yet, or one)."""

    role = "follower"
    symmetric = True

    def __init__(self, node_id: int, values: int) -> None:
        super().__init__(node_id)
        self.values = values

    def state_type(self) -> Type:
        return SetOf(Id("value", self.values))

    def on_start(self) -> tuple[frozenset[int], Sequence[Effect]]:
        return frozenset(), ()

    def on_message(self, s: frozenset[int], src: int, msg: Any) -> Out:
        if type(msg) is Announce:  # pragma: no branch (a follower receives only Announce)
            return frozenset({msg.value}), ()
        return None


@dataclass(frozen=True)
class ToyConfig:
    followers: int = 2
    values: int = 2


class Toy(ActorSystem):
    """A leader announces one value; every follower adopts the same one."""

    name = "toy"
    Config = ToyConfig
    leader_class: type[Leader] = Leader

    def nodes(self) -> list[Node[Any]]:
        n, v = self.config.followers, self.config.values
        followers: list[Node[Any]] = [Follower(i, v) for i in range(n)]
        return [*followers, self.leader_class(n, n, v)]

    def message_type(self) -> Type:
        return Union(Record(Announce, value=Int(0, self.config.values - 1)))

    def envelopes(self) -> list[Envelope]:
        n = self.config.followers
        return [Envelope(n, f, Announce(v)) for f in range(n) for v in range(self.config.values)]

    @always
    def agreement(self, s: Any) -> bool:
        """No two followers adopted different values."""
        adopted: frozenset[int] = frozenset()
        for f in range(self.config.followers):
            adopted = adopted | s.nodes[f]
        return len(adopted) <= 1

    @sometimes
    def all_adopted(self, s: Any) -> bool:
        """Every follower adopted a value."""
        return all(s.nodes[f] for f in range(self.config.followers))


class _FickleLeader(Leader):
    def may_choose(self, s: frozenset[int]) -> bool:
        return True


@variant("choose-twice", breaks="agreement")
class ChooseTwice(Toy):
    """The leader may choose (and announce) a second value."""

    leader_class = _FickleLeader


def strengthening(model: Toy) -> list[Callable[[Any], bool]]:
    """Agreement is not inductive alone (a stray Announce of another value breaks it)."""
    n, values = model.config.followers, range(model.config.values)

    def leader_chose_at_most_one(s: Any) -> bool:
        """The leader chose one value at most."""
        return len(s.nodes[n]) <= 1

    def announced_only_the_choice(s: Any) -> bool:
        """Every Announce sent carries the leader's choice."""
        return all(Envelope(n, f, Announce(v)) not in s.net or v in s.nodes[n] for f in range(n) for v in values)

    def adopted_only_the_choice(s: Any) -> bool:
        """A follower adopted only the leader's choice."""
        return all(s.nodes[f] <= s.nodes[n] for f in range(n))

    return [leader_chose_at_most_one, announced_only_the_choice, adopted_only_the_choice]


PROTOCOL = Protocol("toy", f"{__name__}:Toy", summary="a leader announces a value (a test protocol)",
                    strengthening=f"{__name__}:strengthening")
