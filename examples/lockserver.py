"""A lock server and its clients, as nodes that exchange messages.

A node model, written as a user of protoproof would write one (this file is not part of the
package). The server grants the lock to one client at a time, numbering each grant (an epoch, a
fencing token); the client holds the lock until it releases it. The network is the TLA+ one
(``DuplicatingSet``): a sent message may be delivered any number of times, so an old Grant can
arrive again long after its holder released the lock. A client therefore takes a Grant only if
its epoch is newer than any it has seen. The planted bug ``ignore-epoch`` takes every Grant.

    protoproof check examples/lockserver.py:LockServer --clients 3
    protoproof check examples/lockserver.py:LockServer --variant ignore-epoch --graph cex.svg
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from protoproof.models.actors import ActorSystem, Effect, Envelope, Node, Send
from protoproof.models.base import always, sometimes, transition, variant
from protoproof.models.schema import Bool, Enum, Int, Record, Type, Union, message

IDLE, HOLDING = "idle", "holding"
Status = Enum("Status", IDLE, HOLDING)


@message
class Grant:
    epoch: int


@message
class Release:
    epoch: int


Out = tuple[Any, Sequence[Effect]] | None  # a handler's result: (next state, effects); None: not enabled


class Cl(NamedTuple):
    status: str
    epoch: int  # the newest grant this client has taken (0: none yet)


class Client(Node[Cl]):
    role = "client"
    symmetric = True  # clients are interchangeable (--symmetry may rename them)

    def __init__(self, node_id: int, server: int, max_epoch: int) -> None:
        super().__init__(node_id)
        self.server, self.max_epoch = server, max_epoch

    def state_type(self) -> Type:
        return Record(Cl, status=Status, epoch=Int(0, self.max_epoch))

    def on_start(self) -> tuple[Cl, Sequence[Effect]]:
        return Cl(IDLE, 0), ()

    def fresh(self, s: Cl, msg: Grant) -> bool:
        return msg.epoch > s.epoch

    def on_message(self, s: Cl, src: int, msg: Any) -> Out:
        if type(msg) is Grant and self.fresh(s, msg):
            return Cl(HOLDING, msg.epoch), ()
        return None

    @transition()
    def release(self, s: Cl) -> Out:
        if s.status != HOLDING:
            return None
        return Cl(IDLE, s.epoch), (Send(self.server, Release(s.epoch)),)


class Srv(NamedTuple):
    epoch: int  # grants made so far
    busy: bool  # the last grant is not released yet


class Server(Node[Srv]):
    role = "server"

    def __init__(self, node_id: int, clients: int, max_epoch: int) -> None:
        super().__init__(node_id, "server")
        self.clients, self.max_epoch = clients, max_epoch

    def state_type(self) -> Type:
        return Record(Srv, epoch=Int(0, self.max_epoch), busy=Bool)

    def on_start(self) -> tuple[Srv, Sequence[Effect]]:
        return Srv(0, False), ()

    def client_ids(self) -> range:
        return range(self.clients)

    @transition(c="client_ids")
    def grant(self, s: Srv, c: int) -> Out:
        if s.busy or s.epoch == self.max_epoch:
            return None
        return Srv(s.epoch + 1, True), (Send(c, Grant(s.epoch + 1)),)

    def on_message(self, s: Srv, src: int, msg: Any) -> Out:
        if type(msg) is Release and msg.epoch == s.epoch:  # an old Release again is ignored
            return Srv(s.epoch, False), ()
        return None


@dataclass(frozen=True)
class LockServerConfig:
    clients: int = 3
    max_epoch: int = 3  # grants in a run (the bound that keeps the state space finite)


class LockServer(ActorSystem):
    """A lock server with fencing epochs: at most one client holds the lock."""

    name = "lockserver"
    Config = LockServerConfig
    client_class: type[Client] = Client

    def _validate_config(self) -> None:
        if not 1 <= self.config.clients <= 6:
            raise ValueError("--clients must be between 1 and 6")
        if not 1 <= self.config.max_epoch <= 6:
            raise ValueError("--max-epoch must be between 1 and 6")

    def nodes(self) -> list[Node[Any]]:
        n, e = self.config.clients, self.config.max_epoch
        clients: list[Node[Any]] = [self.client_class(i, n, e) for i in range(n)]
        return [*clients, Server(n, n, e)]

    # The z3 engines run every handler on every type-correct state, also unreachable ones such as
    # a client holding epoch 0: the messages it could send there must be declared too.
    def message_type(self) -> Type:
        epoch = Int(0, self.config.max_epoch)
        return Union(Record(Grant, epoch=epoch), Record(Release, epoch=epoch))

    def envelopes(self) -> list[Envelope]:
        n, epochs = self.config.clients, range(self.config.max_epoch + 1)
        return ([Envelope(n, c, Grant(e)) for c in range(n) for e in epochs if e > 0]
                + [Envelope(c, n, Release(e)) for c in range(n) for e in epochs])

    def holders(self, s: Any) -> list[int]:
        return [c for c in range(self.config.clients) if s.nodes[c].status == HOLDING]

    @always
    def one_holder(self, s: Any) -> bool:
        """At most one client holds the lock."""
        return len(self.holders(s)) <= 1

    @sometimes
    def handed_on(self, s: Any) -> bool:
        """A client holds the lock from a second grant (it changed hands at least once)."""
        return any(s.nodes[c].epoch >= 2 for c in self.holders(s))


class _TrustingClient(Client):
    def fresh(self, s: Cl, msg: Grant) -> bool:
        return s.status == IDLE  # any Grant will do, however old


@variant("ignore-epoch", breaks="one_holder")
class IgnoreEpoch(LockServer):
    """A client takes any Grant sent to it, also one from an earlier epoch delivered again."""

    client_class = _TrustingClient
