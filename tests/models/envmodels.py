"""Small models of the environment: leases on drifting clocks, and a greeting across partitions.

``Leases``: a lease server and clients whose clocks drift within a bound.

Clients ask the server (node 0) for a lease; the server grants it when the previous one has
run out on *its* clock (``expires = grant time + lease``).  A client counts its lease from the
time it *asked*, on its own clock, and believes it holds the lease while its clock is below
``asked + lease - margin``: a delayed grant only shortens the lease it believes in, so message
delay needs no bound.  The network is the grow-only set of the TLA+ specs (any message may be
received again, late); a grant echoes the ask time of its request, so a client takes only the
grant of its current request.  With clocks within ``drift`` of real time (``models.environment.Clock``),
the server's clock can lag by ``drift`` at the grant and lead by ``drift`` when it regrants, and
the client's clock can lead when it asks and lag later: ``margin >= 4 * drift`` keeps two
clients from believing in a lease at the same real time, which ``NoMargin`` (margin 0) breaks
as soon as ``drift >= 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from protoproof.models.actors import ActorSystem, Effect, Envelope, Faults, Node, Send, UnorderedBag
from protoproof.models.base import Action, always, require, sometimes, step, transition, variant
from protoproof.models.environment import Clock, clock_of
from protoproof.models.schema import Bool, Int, OneOf, Record, Type, Union

NONE = -1


class Request(NamedTuple):
    """A client asks for the lease at time ``at`` on its clock."""

    kind: str
    at: int


class Grant(NamedTuple):
    """The server grants the lease to the addressee, for its request made at ``at``."""

    kind: str
    at: int


def ask(at: int) -> Request:
    return Request("request", at)


def answer(at: int) -> Grant:
    return Grant("grant", at)


class ServerState(NamedTuple):
    holder: int
    expires: int  # on the server's clock
    grants: int


class ClientState(NamedTuple):
    asked: int  # the client's clock when it asked (NONE: not waiting)
    until: int  # it believes it holds the lease while its clock is below this


Out = tuple[Any, Sequence[Effect]] | None


class Server(Node[ServerState]):
    role = "server"
    reads_clock = True

    def __init__(self, node_id: int, lease: int, top: int, clients: int) -> None:
        super().__init__(node_id)
        self.lease, self.top, self.clients = lease, top, clients

    def state_type(self) -> Type:
        return Record(ServerState, holder=Int(NONE, self.clients), expires=Int(0, self.top + self.lease),
                      grants=Int(0, 2))

    def on_start(self) -> tuple[ServerState, Sequence[Effect]]:
        return ServerState(NONE, 0, 0), ()

    def on_message(self, s: ServerState, src: int, msg: Any, now: int = 0) -> Out:
        if msg.kind != "request" or (s.holder != NONE and now < s.expires):
            return None
        return ServerState(src, now + self.lease, min(s.grants + 1, 2)), (Send(src, answer(msg.at)),)


class Client(Node[ClientState]):
    role = "client"
    reads_clock = True

    def __init__(self, node_id: int, lease: int, margin: int, top: int) -> None:
        super().__init__(node_id)
        self.lease, self.margin, self.top = lease, margin, top

    def state_type(self) -> Type:
        return Record(ClientState, asked=Int(NONE, self.top), until=Int(0, self.top + self.lease))

    def on_start(self) -> tuple[ClientState, Sequence[Effect]]:
        return ClientState(NONE, 0), ()

    @transition()
    def request(self, s: ClientState, now: int = 0) -> Out:
        if s.asked != NONE or now < s.until:
            return None
        return s._replace(asked=now), (Send(0, ask(now)),)

    def on_message(self, s: ClientState, src: int, msg: Any, now: int = 0) -> Out:
        if msg.kind != "grant" or msg.at != s.asked:
            return None
        return ClientState(NONE, max(s.until, s.asked + self.lease - self.margin)), ()


class Leases(ActorSystem):
    """A lease server (node 0) and ``clients`` clients on clocks within ``drift`` of real time."""

    name = "leases"

    @dataclass(frozen=True)
    class Config:
        clients: int = 2
        lease: int = 5
        margin: int = 4
        drift: int = 1
        max_time: int = 4

    def nodes(self) -> list[Node[Any]]:
        c = self.config
        top = c.max_time + c.drift
        return [Server(0, c.lease, top, c.clients),
                *(Client(k, c.lease, self.margin(), top) for k in range(1, c.clients + 1))]

    def margin(self) -> int:
        return int(self.config.margin)

    def message_type(self) -> Type:
        times = Int(0, self.config.max_time + self.config.drift)
        return Union(Record(Request, kind=OneOf("request"), at=times), Record(Grant, kind=OneOf("grant"), at=times))

    def envelopes(self) -> Sequence[Envelope]:
        cs, times = range(1, self.config.clients + 1), range(self.config.max_time + self.config.drift + 1)
        return [*(Envelope(c, 0, ask(t)) for c in cs for t in times),
                *(Envelope(0, c, answer(t)) for c in cs for t in times)]

    def clock(self) -> Clock:
        return Clock(max_time=self.config.max_time, drift=self.config.drift)

    @always
    def lease_safety(self, s: Any) -> bool:
        """At any real time at most one client believes it holds a valid lease."""
        cs = range(1, self.config.clients + 1)
        return sum(1 for c in cs if clock_of(s, c) < s.nodes[c].until) <= 1

    @sometimes
    def second_grant(self, s: Any) -> bool:
        """The lease is granted a second time (after the first ran out on the server's clock)."""
        return s.nodes[0].grants >= 2


@variant("no-margin", breaks="lease_safety")
class NoMargin(Leases):
    """Clients believe in the full lease on their own clock: safe only with perfect clocks."""

    def margin(self) -> int:
        return 0


# ----- partitions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hi:
    pass


class Talker(Node[bool]):
    """Says hi once to every peer; remembers whether it heard one."""

    role = "talker"

    def __init__(self, node_id: int, n: int) -> None:
        super().__init__(node_id, f"n{node_id}")
        self.n = n

    def state_type(self) -> Type:
        return Bool

    def on_start(self) -> tuple[bool, Sequence[Effect]]:
        return False, ()

    @transition()
    def hello(self, s: bool) -> tuple[bool, Sequence[Effect]] | None:
        require(self.id == 0 and not s)
        return True, tuple(Send(d, Hi()) for d in range(1, self.n))

    def on_message(self, s: bool, src: int, msg: Any) -> tuple[bool, Sequence[Effect]] | None:
        return (True, ()) if not s else None


class Talk(ActorSystem):
    """Node 0 says hi to the others over a bag; partitions may cut them apart for a while."""

    name = "talk"

    @dataclass(frozen=True)
    class Config:
        n: int = 3
        partitions: int = 1

    def nodes(self) -> list[Node[Any]]:
        return [Talker(k, self.config.n) for k in range(self.config.n)]

    def message_type(self) -> Type:
        return Record(Hi)

    def network(self) -> UnorderedBag:
        return UnorderedBag(max_copies=1)

    def envelopes(self) -> Sequence[Envelope]:
        return [Envelope(0, d, Hi()) for d in range(1, self.config.n)]

    def faults(self) -> Faults:
        return Faults(max_partitions=self.config.partitions)

    @step
    def nothing_crosses_a_partition(self, s: Any, a: Action, t: Any) -> bool:
        """A message is never delivered between two groups of a partition."""
        if a.name != "deliver" or s.env is None or not s.env.groups:
            return True
        src, dst = (next(n.id for n in self._nodes if n.name == a.kwargs[k]) for k in ("src", "dst"))
        return bool(s.env.groups[src] == s.env.groups[dst])

    @sometimes
    def all_heard(self, s: Any) -> bool:
        return all(s.nodes)


class LeakyPartitions(Talk):
    """The mutant: a partition that still delivers."""

    def _partitioned(self, deliver: Any, src: int, dst: int) -> Any:
        return deliver


# ----- bounded message delay ------------------------------------------------------------


class SenderState(NamedTuple):
    sent_at: int  # NONE: not yet
    heard: bool


class Sender(Node[SenderState]):
    """Node 0 says hi once and notes when (on its clock); node 1 notes that it heard."""

    role = "sender"
    reads_clock = True

    def __init__(self, node_id: int, top: int) -> None:
        super().__init__(node_id, f"n{node_id}")
        self.top = top

    def state_type(self) -> Type:
        return Record(SenderState, sent_at=Int(NONE, self.top), heard=Bool)

    def on_start(self) -> tuple[SenderState, Sequence[Effect]]:
        return SenderState(NONE, False), ()

    @transition()
    def hello(self, s: SenderState, now: int = 0) -> tuple[SenderState, Sequence[Effect]] | None:
        require(self.id == 0 and s.sent_at == NONE)
        return s._replace(sent_at=now), (Send(1, Hi()),)

    def on_message(self, s: SenderState, src: int, msg: Any, now: int = 0) -> Any:
        return None if s.heard else (s._replace(heard=True), ())


class Deadline(ActorSystem):
    """A hi sent at time t is heard by time t + ``delay``: the network's delay bound, as a property."""

    name = "deadline"

    @dataclass(frozen=True)
    class Config:
        delay: int = 1
        max_time: int = 3

    def nodes(self) -> list[Node[Any]]:
        return [Sender(0, self.config.max_time), Sender(1, self.config.max_time)]

    def message_type(self) -> Type:
        return Record(Hi)

    def network(self) -> UnorderedBag:
        return UnorderedBag(max_copies=1)

    def envelopes(self) -> Sequence[Envelope]:
        return [Envelope(0, 1, Hi())]

    def clock(self) -> Clock:
        return Clock(max_time=self.config.max_time, max_delay=self.config.delay)

    @always
    def heard_in_time(self, s: Any) -> bool:
        """Once ``delay`` ticks have passed since the hi was sent, node 1 has heard it."""
        sent = s.nodes[0].sent_at
        return sent == NONE or s.env.now <= sent + self.config.delay or s.nodes[1].heard

    @sometimes
    def heard(self, s: Any) -> bool:
        return s.nodes[1].heard


@variant("unbounded-delay", breaks="heard_in_time")
class UnboundedDelay(Deadline):
    """The network's delay bound is not declared: a message may stay in flight for ever."""

    def clock(self) -> Clock:
        return Clock(max_time=self.config.max_time)
