"""The abstract consensus spec (Lamport, ``Consensus.tla``).

``chosen`` starts empty and may become one value, once.  Paxos (``models.paxos``) and, later,
Raft refine it: seen through the set of values they have chosen, every step they take is a
step of this spec or changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .base import Model, always, param, sometimes, transition
from .registry import Protocol
from .schema import Id, Record, SetOf, Type


class CS(NamedTuple):
    chosen: frozenset[int]


@dataclass(frozen=True)
class ConsensusConfig:
    values: int = param(2, 1, None, "values that may be chosen")


class Consensus(Model[CS]):
    """Consensus: at most one value is ever chosen."""

    name = "consensus"
    Config = ConsensusConfig

    def schema(self) -> Type:
        return Record(CS, chosen=SetOf(Id("value", self.config.values)))

    def symmetry(self) -> dict[str, list[list[int]]]:
        return {"value": [list(range(self.config.values))]}

    def value_ids(self) -> range:
        return range(self.config.values)

    def init(self) -> list[CS]:
        return [CS(frozenset())]

    @transition(v="value_ids")
    def choose(self, s: CS, v: int) -> CS | None:
        if s.chosen:
            return None
        return CS(frozenset({v}))

    @always
    def at_most_one_chosen(self, s: CS) -> bool:
        """No two different values are chosen."""
        return len(s.chosen) <= 1

    @sometimes
    def some_value_chosen(self, s: CS) -> bool:
        """A value is chosen."""
        return bool(s.chosen)


#: The protocol's one declaration (see ``models.registry``).
PROTOCOL = Protocol("consensus", f"{__name__}:Consensus")
