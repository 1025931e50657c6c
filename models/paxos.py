"""Single-decree Paxos (Lamport; ``Paxos.tla`` from "The Paxos Algorithm or How to Win a Turing Award").

Acceptor nodes and one leader node per ballot, on the unordered, duplicating message set of the
TLA+ spec.  Variables and actions are those of ``Paxos.tla``:

- acceptor ``a`` holds ``max_bal`` (-1 at first), ``max_vbal`` (-1) and ``max_val`` (None);
- ``phase1a`` (leader of ballot b): send 1a(b) to the acceptors; always enabled;
- acceptor on 1a(b) with ``b > max_bal``: promise (``max_bal := b``) and send 1b(a, b, max_vbal,
  max_val) to the leader of b;
- ``phase2a(v)`` (leader of ballot b): no 2a for b was sent yet, some quorum Q all sent 1b for b,
  and either none of their 1bs carries a vote or ``v`` is the value of the one with the highest
  ``mbal``: send 2a(b, v) to the acceptors;
- acceptor on 2a(b, v) with ``b >= max_bal``: accept (``max_bal := max_vbal := b``,
  ``max_val := v``) and send 2b(a, b, v) to the leader of b.

Simplifications, each preserving the reachable states one to one: a message of the TLA+ set
is here one envelope per addressee, all sent in the same step; a leader reads the 1b messages
sent to it from the message set (``reads_inbox``: on a duplicating network that is exactly what
it has received; ``inbox_types``: its 1bs, not the 2bs sent to it), as Phase2a reads ``msgs``;
a leader's ``proposed`` flag equals "a 2a for my ballot is in the message set".  Quorums are
the majorities unless ``quorums()`` is overridden by any pairwise-intersecting family (checked
at construction).

Checked: ``protoproof check paxos --acceptors 3 --values 2 --max-ballot 1`` gives the same
distinct states and depth as an independent transliteration of Paxos.tla (pinned in
tests/models/test_paxos.py for several configurations).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from .actors import ActorSystem, Broadcast, Effect, Envelope, Faults, Node, NodeConfig, Persist, Send, peers
from .base import ModelDefinitionError, Refinement, always, explains, param, sometimes, transition, variant
from .consensus import CS, Consensus
from .registry import Protocol
from .schema import Bool, Id, Int, OneOf, Record, Type, Union, message


@message
class OneA:
    bal: int


@message
class OneB:
    acc: int
    bal: int
    mbal: int
    mval: int | None


@message
class TwoA:
    bal: int
    val: int


@message
class TwoB:
    acc: int
    bal: int
    val: int


class Acc(NamedTuple):
    max_bal: int
    max_vbal: int
    max_val: int | None


class Ldr(NamedTuple):
    proposed: bool


Out = tuple[Any, Sequence[Effect]] | None
L = TypeVar("L")


@dataclass(frozen=True)
class PaxosParams:
    """What a Paxos node is told besides its peers (``NodeConfig.params``).

    ``quorums``: the pairwise-intersecting sets of acceptor ids; ``values``: the values a leader
    may propose (the model's domain of ``phase2a``); ``acc_type``: the acceptor's state type
    (the model bounds ballots and values, the runtime does not).
    """

    quorums: tuple[frozenset[int], ...]
    values: Sequence[Any]
    acc_type: Type


def majorities(n: int) -> tuple[frozenset[int], ...]:
    """The majorities of acceptors ``0..n-1``: Paxos's default quorums."""
    return tuple(frozenset(q) for q in itertools.combinations(range(n), n // 2 + 1))


class PaxosNode(Node[L]):
    """What acceptors and leaders read from their configuration.

    Peers by role: ``acceptor`` (every acceptor id) and ``leader`` (the leader of ballot ``b`` is
    ``leader[b % len(leader)]``: the model gives one leader per ballot, the runtime's n nodes
    take turns).
    """

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.params: PaxosParams = config.params
        self.acceptor_ids = config.ids("acceptor")
        self.leader_ids = config.ids("leader")
        self.quorum_list = self.params.quorums

    def leader(self, ballot: int) -> int:
        return self.leader_ids[ballot % len(self.leader_ids)]


class Acceptor(PaxosNode[Acc]):
    role = "acceptor"
    symmetric = True

    def state_type(self) -> Type:
        return self.params.acc_type

    def on_start(self) -> tuple[Acc, Sequence[Effect]]:
        return Acc(-1, -1, None), ()

    def accepts(self, s: Acc, bal: int) -> bool:
        return bal >= s.max_bal

    # Promises and votes survive a crash: an acceptor persists before it answers.
    def disk_type(self) -> Type:
        return self.params.acc_type

    def durable(self, s: Acc) -> Acc:
        return s

    def on_recover(self, disk: Acc) -> tuple[Acc, Sequence[Effect]]:
        return disk, ()

    def persist(self) -> tuple[Effect, ...]:
        return (Persist(),)

    def on_message(self, s: Acc, src: int, msg: Any) -> Out:
        if type(msg) is OneA:
            if msg.bal > s.max_bal:
                reply = OneB(self.id, msg.bal, s.max_vbal, s.max_val)
                return Acc(msg.bal, s.max_vbal, s.max_val), (*self.persist(), Send(self.leader(msg.bal), reply))
            return None
        if type(msg) is TwoA:  # pragma: no branch (an acceptor receives only 1a and 2a)
            if self.accepts(s, msg.bal):
                vote = TwoB(self.id, msg.bal, msg.val)
                return (Acc(max(msg.bal, s.max_bal), msg.bal, msg.val),
                        (*self.persist(), Send(self.leader(msg.bal), vote)))
            return None
        return None


class Leader(PaxosNode[Ldr]):
    """The proposer of one ballot."""

    role = "leader"
    reads_inbox = True
    inbox_types = (OneB,)  # a leader reads its 1bs; the 2bs sent to it are read by `chosen` only

    def __init__(self, config: NodeConfig, ballot: int) -> None:
        super().__init__(config)
        self.bal = ballot

    def state_type(self) -> Type:
        return Record(Ldr, proposed=Bool)

    def on_start(self) -> tuple[Ldr, Sequence[Effect]]:
        return Ldr(False), ()

    # A leader remembers across a crash that it proposed (else it could propose twice).
    def disk_type(self) -> Type:
        return self.state_type()

    def durable(self, s: Ldr) -> Ldr:
        return s

    def on_recover(self, disk: Ldr) -> tuple[Ldr, Sequence[Effect]]:
        return disk, ()

    def values(self) -> Sequence[Any]:
        return self.params.values

    @transition()
    def phase1a(self, s: Ldr, inbox: frozenset[Any]) -> Out:
        return s, (Broadcast(self.acceptor_ids, OneA(self.bal)),)

    def may_propose(self, s: Ldr) -> bool:
        return not s.proposed

    def value_ok(self, votes: list[Any], v: int) -> bool:
        """v is free (no vote reported) or the value of a vote with the highest ballot."""
        return not votes or any(m.mval == v and all(m.mbal >= mm.mbal for mm in votes) for m in votes)

    @transition(v="values")
    def phase2a(self, s: Ldr, inbox: frozenset[Any], v: int) -> Out:
        if not self.may_propose(s):
            return None
        ones = [m for m in inbox if type(m) is OneB and m.bal == self.bal]  # pragma: no branch (inbox: own-ballot 1bs)
        if any(self.quorum_allows(ones, q, v) for q in self.quorum_list):
            return Ldr(True), (Persist(), Broadcast(self.acceptor_ids, TwoA(self.bal, v)))
        return None

    def quorum_allows(self, ones: list[Any], q: frozenset[int], v: int) -> bool:
        """Every acceptor of q sent a 1b for this ballot, and v agrees with the votes they report."""
        q1b = [m for m in ones if m.acc in q]
        return {m.acc for m in q1b} == q and self.value_ok([m for m in q1b if m.mbal >= 0], v)


@dataclass(frozen=True)
class PaxosConfig:
    acceptors: int = param(3, 1, 9, "acceptors; a quorum is a majority")
    values: int = param(2, 1, 5, "values a leader may propose")
    max_ballot: int = param(1, 0, 6, "ballots 0..max-ballot, one leader each")
    max_crashes: int = param(0, 0, None, "crashes in one run, each followed by a recovery from disk")


class Paxos(ActorSystem):
    """Single-decree Paxos: acceptors and ballot leaders (Paxos.tla, as nodes).
    The default (ballots 0..1) is fast but never tests "take the highest vote": a 1b reports
    at most one vote ballot there.  --max-ballot 2, with 3 acceptors (with 2, every quorum holds
    them all) and 2 values, takes every condition both ways (`check paxos --max-ballot 2
    --branches`: 185,369 states, about a minute).
    """

    name = "paxos"
    Config = PaxosConfig
    acceptor_class: type[Acceptor] = Acceptor
    leader_class: type[Leader] = Leader
    #: Buggy variants may use non-intersecting quorums; the correct protocol may not.
    check_quorums = True

    def faults(self) -> Faults:
        return Faults(max_crashes=self.config.max_crashes)

    # ----- configuration-derived vocabulary -----
    def quorums(self) -> list[frozenset[int]]:
        """The majorities of the acceptors (override with any pairwise-intersecting family)."""
        return list(majorities(self.config.acceptors))

    def leader(self, ballot: int) -> int:
        return self.config.acceptors + ballot

    def nodes(self) -> list[Node[Any]]:
        c = self.config
        self.acceptor_ids = tuple(range(c.acceptors))
        self.quorum_list = self.quorums()
        if self.check_quorums:
            for q1, q2 in itertools.combinations(self.quorum_list, 2):
                if not q1 & q2:
                    raise ModelDefinitionError(
                        f"quorums {sorted(q1)} and {sorted(q2)} do not intersect: Paxos needs every two "
                        "quorums to share an acceptor"
                    )
        val = Union(OneOf(None), Id("value", c.values))
        self.acc_type = Record(Acc, max_bal=Int(-1, c.max_ballot), max_vbal=Int(-1, c.max_ballot), max_val=val)
        ids = peers(acceptor=self.acceptor_ids, leader=[self.leader(b) for b in self.ballots()])
        params = PaxosParams(tuple(self.quorum_list), range(c.values), self.acc_type)
        acceptors: list[Node[Any]] = [self.acceptor_class(NodeConfig(a, f"a{a}", ids, params))
                                      for a in range(c.acceptors)]
        leaders: list[Node[Any]] = [self.leader_class(NodeConfig(self.leader(b), f"b{b}", ids, params), b)
                                    for b in self.ballots()]
        return acceptors + leaders

    def ballots(self) -> range:
        return range(self.config.max_ballot + 1)

    def message_type(self) -> Type:
        c = self.config
        acc, bal = Id("node", c.acceptors), Int(0, c.max_ballot)
        val = Id("value", c.values)
        return Union(
            Record(OneA, bal=bal),
            Record(OneB, acc=acc, bal=bal, mbal=Int(-1, c.max_ballot), mval=Union(OneOf(None), val)),
            Record(TwoA, bal=bal, val=val),
            Record(TwoB, acc=acc, bal=bal, val=val),
        )

    def envelopes(self) -> list[Envelope]:
        c = self.config
        acceptors, values, ballots = range(c.acceptors), range(c.values), self.ballots()
        out = [Envelope(self.leader(b), a, OneA(b)) for b in ballots for a in acceptors]
        votes: list[tuple[int, int | None]] = [(-1, None)] + [(mb, v) for mb in range(c.max_ballot + 1) for v in values]
        # Never sent, but of the declared type: the z3 backend runs Phase1b on every type-correct
        # acceptor state (an acceptor whose max_vbal and max_val disagree), so they are declared.
        votes += [(-1, v) for v in values] + [(mb, None) for mb in range(c.max_ballot + 1)]
        out += [Envelope(a, self.leader(b), OneB(a, b, mb, mv)) for a in acceptors for b in ballots
                for mb, mv in votes]
        out += [Envelope(self.leader(b), a, TwoA(b, v)) for b in ballots for v in values for a in acceptors]
        out += [Envelope(a, self.leader(b), TwoB(a, b, v)) for a in acceptors for b in ballots for v in values]
        return out

    def symmetry(self) -> dict[str, list[list[int]]] | None:
        sym = dict(super().symmetry() or {})
        sym["value"] = [list(range(self.config.values))]
        return sym

    # ----- what is chosen -----
    def chosen(self, s: Any) -> frozenset[int]:
        """Values v for which some quorum sent 2b(a, b, v) for one ballot b."""
        net = s.net
        concrete = type(net) is frozenset  # the z3 backend passes a symbolic set: no cache
        cache = self.__dict__.setdefault("_chosen_cache", {})
        got: frozenset[int] | None = cache.get(net) if concrete else None
        if got is not None:
            return got
        got = frozenset(v for v in range(self.config.values) if any(self.chosen_at(net, b, v) for b in self.ballots()))
        if concrete:
            if len(cache) >= 1 << 16:
                cache.clear()
            cache[net] = got
        return got

    def chosen_at(self, net: Any, b: int, v: int) -> bool:
        """Some quorum sent 2b(a, b, v)."""
        sent = self._net.sent
        voters = frozenset(a for a in self.acceptor_ids if sent(net, TwoB(a, b, v), a, self.leader(b)))
        return any(q <= voters for q in self.quorum_list)

    def refinements(self) -> list[Refinement]:
        return [Refinement("refines_consensus", Consensus(values=self.config.values), self._to_consensus)]

    def _to_consensus(self, s: Any) -> CS:
        return CS(self.chosen(s))

    @always
    def agreement(self, s: Any) -> bool:
        """No two different values are chosen."""
        return len(self.chosen(s)) <= 1

    @explains("agreement")
    def _why_disagree(self, s: Any) -> str:
        names = [n.name for n in self.node_list]
        sent = self._net.sent
        how = []
        for v in sorted(self.chosen(s)):
            for b in self.ballots():
                if self.chosen_at(s.net, b, v):
                    voters = [names[a] for a in self.acceptor_ids if sent(s.net, TwoB(a, b, v), a, self.leader(b))]
                    how.append(f"{v} (ballot {b}, by {'+'.join(voters)})")
                    break
        return "two values chosen: " + " and ".join(how)

    @sometimes
    def value_chosen(self, s: Any) -> bool:
        """Some value is chosen."""
        return bool(self.chosen(s))


# ----- planted bugs --------------------------------------------------------------------


class _VoteIgnoringLeader(Leader):
    def value_ok(self, votes: list[Any], v: int) -> bool:
        return True


class _EagerAcceptor(Acceptor):
    def accepts(self, s: Acc, bal: int) -> bool:
        return True


class _TwiceLeader(Leader):
    def may_propose(self, s: Ldr) -> bool:
        return True


@variant("ignore-votes", breaks=("agreement", "refines_consensus"))
class IgnoreVotes(Paxos):
    """A leader ignores the votes reported in 1b messages and proposes any value."""

    leader_class = _VoteIgnoringLeader


@variant("accept-below-promise", breaks=("agreement", "refines_consensus"))
class AcceptBelowPromise(Paxos):
    """An acceptor accepts a 2a whose ballot is below the one it promised."""

    acceptor_class = _EagerAcceptor


@variant("propose-twice", breaks=("agreement", "refines_consensus"))
class ProposeTwice(Paxos):
    """A leader proposes a second value in the same ballot."""

    leader_class = _TwiceLeader


class _VolatileAcceptor(Acceptor):
    def persist(self) -> tuple[Effect, ...]:
        return ()  # promises and votes live in memory only


@variant("volatile-acceptor", breaks=("agreement", "refines_consensus"), defaults={"max_crashes": 1})
class VolatileAcceptor(Paxos):
    """An acceptor keeps its promise and vote in memory only; after a crash it forgets them.

    Only visible with crashes: its default is ``--max-crashes 1``.
    """

    acceptor_class = _VolatileAcceptor


@variant("minority-quorums", breaks=("agreement", "refines_consensus"))
class MinorityQuorums(Paxos):
    """Any single acceptor is taken for a quorum: two quorums need not intersect."""

    check_quorums = False

    def quorums(self) -> list[frozenset[int]]:
        return [frozenset({a}) for a in range(self.config.acceptors)]


#: The protocol's one declaration (see ``models.registry``): proofs and runtime by dotted path.
PROTOCOL = Protocol(
    "paxos", f"{__name__}:Paxos",
    strengthening="protoproof.proofs.paxos:strengthening",
    twin_domain="protoproof.proofs.paxos:twin_domain",
    parameterized="protoproof.proofs.paxos_param:prove_paxos_param",
    service="protoproof.impl.kv:SERVICE",
)
