"""A node protocol that lives only in tests/: a pinger and a ponger, model and runtime service.

The pinger sends ``Ping(k)`` for its ``k``-th round; the ponger answers ``Pong(k)`` once it has
durably recorded ``k``; the pinger counts a round on its ``Pong``.  Both persist what they
count, so ``acked <= answered + 1`` survives crashes.  Nothing outside tests/ names it: the
cluster file records ``SERVICE`` by its dotted path and traces name ``PingPong`` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from protoproof.impl.cluster import ClusterConfig
from protoproof.impl.codec import Frame
from protoproof.impl.service import Option, Service, ServiceSpec
from protoproof.models.actors import ActorSystem, Effect, Faults, Node, NodeConfig, Persist, Send, peers
from protoproof.models.base import always, sometimes, transition
from protoproof.models.schema import Int, Record, Type, Union, message

Out = tuple[Any, Sequence[Effect]] | None


@message
class Ping:
    n: int


@message
class Pong:
    n: int


def node_configs(pings: int) -> list[NodeConfig]:
    """Node 0 pings, node 1 pongs: the model and the service build the same values."""
    ids = peers(pinger=(0,), ponger=(1,))
    return [NodeConfig(0, "pinger", ids, pings), NodeConfig(1, "ponger", ids, pings)]


class _Counting(Node[int]):
    """Both roles keep one durable number and know the other's id."""

    other: str = ""

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.pings: int = config.params
        self.peer = config.ids(self.other)[0]

    def disk_type(self) -> Type:
        return self.state_type()

    def durable(self, s: int) -> int:
        return s

    def on_recover(self, disk: int) -> tuple[int, Sequence[Effect]]:
        return disk, ()


class Pinger(_Counting):
    """State: the rounds acknowledged."""

    role = "pinger"
    other = "ponger"

    def state_type(self) -> Type:
        return Int(0, self.pings)

    def on_start(self) -> tuple[int, Sequence[Effect]]:
        return 0, ()

    @transition()
    def ping(self, s: int) -> Out:
        if s >= self.pings:
            return None
        return s, (Send(self.peer, Ping(s)),)

    def on_message(self, s: int, src: int, msg: Any) -> Out:
        if type(msg) is Pong and msg.n == s:
            return s + 1, (Persist(),)
        return None


class Ponger(_Counting):
    """State: the highest round answered (-1: none)."""

    role = "ponger"
    other = "pinger"

    def state_type(self) -> Type:
        return Int(-1, self.pings - 1)

    def on_start(self) -> tuple[int, Sequence[Effect]]:
        return -1, ()

    def on_message(self, s: int, src: int, msg: Any) -> Out:
        if type(msg) is Ping and msg.n >= s:
            return msg.n, (Persist(), Send(self.peer, Pong(msg.n)))
        return None


@dataclass(frozen=True)
class PingPongConfig:
    pings: int = 2
    max_crashes: int = 0


class PingPong(ActorSystem):
    """A pinger and a ponger on the duplicating message set."""

    name = "pingpong"
    Config = PingPongConfig

    def faults(self) -> Faults:
        return Faults(max_crashes=self.config.max_crashes)

    def nodes(self) -> list[Node[Any]]:
        pinger, ponger = node_configs(self.config.pings)
        return [Pinger(pinger), Ponger(ponger)]

    def message_type(self) -> Type:
        n = Int(0, self.config.pings - 1)
        return Union(Record(Ping, n=n), Record(Pong, n=n))

    @always
    def never_ahead(self, s: Any) -> bool:
        """The pinger never counts a round the ponger has not answered."""
        return bool(s.nodes[0] <= s.nodes[1] + 1)

    @sometimes
    def all_acked(self, s: Any) -> bool:
        """Every round is acknowledged."""
        return bool(s.nodes[0] == self.config.pings)


# ----- the runtime service -----------------------------------------------------------------


@message
class Go:
    """Client -> pinger: run one round."""


@message
class CountReq:
    pass


@message
class Count:
    n: int


def wire_type(pings: int) -> Type:
    model = PingPong(pings=pings).message_type()
    assert isinstance(model, Union)
    return Union(*model.alts, Record(Go), Record(CountReq), Record(Count, n=Int(-1, pings)))


class PingNode(Service):
    def __init__(self, cfg: ClusterConfig, node_id: int, **kw: Any) -> None:
        self.pings = int(cfg.params["pings"])
        super().__init__(cfg, node_id, **kw)

    def make_node(self) -> Node[Any]:
        c = node_configs(self.pings)[self.id]
        return Pinger(c) if self.id == 0 else Ponger(c)

    def model_message_type(self) -> Type:
        return PingPong(pings=self.pings).message_type()

    def wire_type(self) -> Type:
        return wire_type(self.pings)

    def on_service(self, f: Frame) -> None:
        if f.src not in self.cfg.client_ids:
            return
        if type(f.msg) is Go and self.id == 0:
            self.host.step(f.inst, "ping")
        elif type(f.msg) is CountReq:
            self.reply(f.src, f.inst, Count(self.host.state(f.inst)))


SERVICE = ServiceSpec(
    name="pingpong",
    ref=f"{__name__}:SERVICE",
    node=PingNode,
    names=lambda p: ["pinger", "ponger"],
    model=lambda cfg: (f"{__name__}:PingPong", {"pings": int(cfg.params["pings"])}),
    options=(Option("pings", 3, 1, 20, "rounds per instance"),),
)
