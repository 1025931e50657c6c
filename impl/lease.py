"""The lease lock as a service: the model's ``Master``, ``Storage`` and ``Client`` handlers on real nodes.

Node ids are the model's (``models/lease.py``): the master 0, the storage 1, the clients
``2 .. clients + 1``, the standby last.  Every state change is the model's step, run on the node's ``NodeClock``
(``tick_ms`` per model tick; offsets and rate skew from the fault plan), so a lease is counted
on the skewed clock the handlers read.  The service adds only scheduling around the steps:

- a client that wants the lock (``lock acquire``) tries the model's ``request`` every tick; the
  model's guard allows it only when the client does not believe it holds the lock and has no
  request younger than a lease, so it asks for the lock, or renews it (its token in the
  request) as soon as its own, margin-shortened lease ran out and before the master's did;
  ``lock release`` stops the requests, so the lease runs out (the model has no release
  message: the master frees the lock when the lease expires);
- with ``--failover 1`` a standby master (the last node) probes the master every tick; after
  ``SILENT_TICKS`` silent ones it holds the election on the dead master's behalf (the model's
  ``step_down`` of node 0, from the state the cell's database holds, ``node0/cell.json``,
  recorded in node 0's trace) and, once elected, grants nothing before its grace period ran;
- ``lock write`` runs the client's ``write`` step (enabled only while the client believes it
  holds the lock) and sends the ``Write`` it returns ``work_ms`` later: the time between the
  lease check and the write reaching the wire, which is the window a process pause hits;
- the storage answers every ``Write`` with whether the model's handler accepted it (with
  fencing, a token lower than the highest it accepted is refused) and keeps the list of what it
  accepted, for ``lock log``.

Traces replay through ``LeaseRun``: the model's nodes with unbounded times and tokens.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from ..models.actors import Envelope, Node, Send
from ..models.base import Refinement
from ..models.environment import Clock
from ..models.lease import Client, ClientState, Lease, LeaseParams, Master, Storage, Write, node_configs
from ..models.schema import Bool, Int, Record, Type, Union, message
from .argtypes import non_negative, positive_float
from .client import Endpoint, NoReply
from .cluster import ClusterConfig
from .codec import Frame, Log, from_wire, to_wire
from .host import Host, Tracer
from .service import ClientCommand, Option, Service, ServiceSpec
from .storage import Store

BIG = 2**53
#: Ticks without an answer from the master before the standby holds the election.
SILENT_TICKS = 3
log = logging.getLogger("protoproof.impl")
TIME = Int(0, BIG)


class LeaseRun(Lease):
    """The model a lease trace replays through: its nodes with unbounded clocks and tokens."""

    name = "lease-run"

    def params(self) -> LeaseParams:
        c = self.config
        return LeaseParams(c.lease, self.margin(), self.grace(), self.fencing(), TIME, TIME, TIME)

    def clock(self) -> Clock:
        return Clock(max_time=BIG, drift=BIG)

    def envelopes(self) -> list[Envelope]:
        return []  # unbounded: a replay adds what was sent, nothing is enumerated

    def refinements(self) -> list[Refinement]:
        return []


def run_params(p: dict[str, Any]) -> dict[str, Any]:
    """The model's configuration for the cluster parameters ``p``."""
    return {"clients": p["clients"], "lease": p["lease"], "margin": p["margin"], "fencing": bool(p["fencing"]),
            "failover": bool(p.get("failover", 0))}


# ----- service messages -----------------------------------------------------------------


@message
class AcquireReq:
    pass


@message
class ReleaseReq:
    pass


@message
class StatusReq:
    pass


@message
class Status:
    """A client's view: whether it believes it holds the lock, its token, its clock and lease end."""

    holds: bool
    token: int
    now: int
    until: int


@message
class WriteReq:
    work_ms: int


@message
class WriteDone:
    """The outcome of a write: ``token`` -1 when the client did not believe it held the lock;
    ``accepted`` whether the storage took it."""

    token: int
    accepted: bool


@message
class WriteAck:
    token: int
    accepted: bool


@message
class LogReq:
    pass


@message
class Accepted:
    """The tokens of the writes the storage accepted, in order, and of those it refused."""

    tokens: tuple[int, ...]
    refused: tuple[int, ...]


def wire_type(clients: int) -> Type:
    model = LeaseRun(clients=clients).message_type()
    assert isinstance(model, Union)
    return Union(*model.alts, Record(AcquireReq), Record(ReleaseReq), Record(StatusReq),
                 Record(Status, holds=Bool, token=Int(-1, BIG), now=TIME, until=TIME),
                 Record(WriteReq, work_ms=Int(0, 600_000)), Record(WriteDone, token=Int(-1, BIG), accepted=Bool),
                 Record(WriteAck, token=TIME, accepted=Bool), Record(LogReq),
                 Record(Accepted, tokens=Log(TIME), refused=Log(TIME)))


class LeaseNode(Service):
    """The master (node 0), the storage (node 1) or a client (nodes 2..) of a lease-lock cluster."""

    def __init__(self, cfg: ClusterConfig, node_id: int, **kw: Any) -> None:
        p = cfg.params
        self.clients = int(p["clients"])
        self.model = LeaseRun(**run_params(p))
        self.failover = bool(p.get("failover", 0))
        self.configs = node_configs(self.clients, self.failover, self.model.params())
        self.node_cfg = self.configs[node_id]
        super().__init__(cfg, node_id, **kw)
        self.tick = int(p["tick_ms"]) / 1000.0
        self.host.clock.tick_s = self.tick
        self.wanting = False
        self.accepted: list[int] = []
        self.refused: list[int] = []
        #: Client: per token of a write in flight, who asked for it.
        self.writers: dict[int, list[int]] = {}
        self._ticker: asyncio.TimerHandle | None = None
        #: Standby: ticks the master has not answered a probe; the election's host for node 0.
        self.silent = 0
        self.elected: Host[Any] | None = None

    def open_requests(self) -> int:
        """A client node's writes sent to the storage and not yet acknowledged (``WriteReq``s)."""
        return sum(len(ws) for ws in self.writers.values())

    @property
    def role(self) -> str:
        if self.id == 0:
            return "master"
        if self.failover and self.id == self.clients + 2:
            return "standby"
        return "storage" if self.id == 1 else "client"

    def make_node(self) -> Node[Any]:
        if self.role in ("master", "standby"):
            return Master(self.node_cfg)
        return Storage(self.node_cfg) if self.id == 1 else Client(self.node_cfg)

    def model_message_type(self) -> Type:
        return self.model.message_type()

    def wire_type(self) -> Type:
        return wire_type(self.clients)

    def on_recovered(self, insts: list[int]) -> None:
        self.host.state(0)
        if self.role == "master" and self.failover:
            self._save_cell()
        if self.role in ("client", "standby"):
            self._schedule()

    # ----- master and standby: the cell's database and the election -----
    def cell_file(self) -> Path:
        """The master's state as the cell's replicated database holds it (the standby reads it)."""
        return self.cfg.node_dir(0) / "cell.json"

    def _save_cell(self) -> None:
        tmp = self.cell_file().with_suffix(".tmp")
        tmp.write_text(json.dumps(to_wire(self.host.state_type, self.host.state(0))))
        tmp.replace(self.cell_file())

    def after_deliver(self, f: Frame) -> None:
        if self.role == "master" and self.failover:
            self._save_cell()

    def _watch(self) -> None:
        """Standby: probe the master each tick; after ``silent_ticks`` without an answer hold the election."""
        if self.elected is not None or self.host.state(0).active:
            return
        addr = self.cfg.node(0)

        async def probe() -> None:
            try:
                _r, w = await asyncio.wait_for(asyncio.open_connection(addr.host, addr.port), self.tick)
                w.close()
                self.silent = 0
            except (OSError, TimeoutError):
                self.silent += 1
                if self.silent >= SILENT_TICKS and self.elected is None:
                    self._elect()

        asyncio.get_running_loop().create_task(probe())

    def _elect(self) -> None:
        """The election, on the dead master's behalf: its ``step_down`` from the state the cell's
        database holds, recorded in its trace, whose ``Elected`` the standby receives."""
        cfg0 = self.configs[0]
        tracer = Tracer(self.cfg.trace_dir(), 0) if self.cfg.trace else None
        store = Store(self.cfg.node_dir(self.id) / "election.sqlite3", fsync=False)
        h: Host[Any] = Host(Master(cfg0), store, self.wire, tracer=tracer, clock=self.host.clock)
        h.states[0] = from_wire(h.state_type, json.loads(self.cell_file().read_text()))
        h.attach(self.transport)
        self.elected = h
        if not h.step(0, "step_down"):
            log.warning("the dead master's state says it is not serving; no election")
    # ----- client -----
    def _schedule(self) -> None:
        self._ticker = asyncio.get_running_loop().call_later(self.tick, self._on_tick)

    def _on_tick(self) -> None:
        if self.role == "standby":
            self._watch()
        elif self.wanting:
            self.host.step(0, "request")  # the model's guard says when
        self._schedule()

    def status(self) -> Status:
        s: ClientState = self.host.state(0)
        now = self.host.clock.now()
        return Status(s.token > 0 and now < s.until, s.token, now, s.until)

    def _write(self, src: int, work_ms: int) -> None:
        effects = self.host.traced_step(0, "write")
        if effects is None:
            self.reply(src, 0, WriteDone(-1, False))
            return
        for e in effects:
            assert isinstance(e, Send) and type(e.msg) is Write
            self.writers.setdefault(e.msg.token, []).append(src)
            asyncio.get_running_loop().call_later(work_ms / 1000.0, self.reply, e.dst, 0, e.msg)

    # ----- storage -----
    def on_frame(self, f: Frame) -> None:
        if self.role == "storage" and type(f.msg) is Write and f.src in self.transport.addrs:
            ok = self.host.deliver(f.src, 0, f.msg)
            (self.accepted if ok else self.refused).append(f.msg.token)
            self.reply(f.src, 0, WriteAck(f.msg.token, ok))
            return
        super().on_frame(f)

    def on_service(self, f: Frame) -> None:
        m, src = f.msg, f.src
        if self.role == "storage" and type(m) is LogReq:
            self.reply(src, 0, Accepted(tuple(self.accepted), tuple(self.refused)))
        elif self.role != "client":
            return
        elif type(m) is WriteAck and src == 1:
            for who in self.writers.pop(m.token, []):
                self.reply(who, 0, WriteDone(m.token, m.accepted))
        elif src not in self.cfg.client_ids:
            return
        elif type(m) is AcquireReq:
            self.wanting = True
            self.host.step(0, "request")
            self.reply(src, 0, self.status())
        elif type(m) is ReleaseReq:
            self.wanting = False
            self.reply(src, 0, self.status())
        elif type(m) is StatusReq:
            self.reply(src, 0, self.status())
        elif type(m) is WriteReq:
            self._write(src, m.work_ms)

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        if self.elected is not None:
            self.elected.close()
            self.elected.store.close()
        await super().stop()


class LockClient:
    """Drives the client nodes of a lease cluster: acquire, release, write, and read the storage's log."""

    def __init__(self, cfg: ClusterConfig, client_id: int | None = None, timeout: float = 2.0) -> None:
        self.cfg = cfg
        self.ep = Endpoint(cfg, wire_type(int(cfg.params["clients"])), client_id)
        self.timeout = timeout

    def node(self, client: int) -> int:
        """The node id of client ``client`` (0-based)."""
        n = int(self.cfg.params["clients"])
        if not 0 <= client < n:
            raise ValueError(f"--client must be between 0 and {n - 1}")
        return client + 2

    async def _status(self, node: int, msg: Any) -> Status:
        f = await self.ep.request(node, 0, msg, lambda f: f.src == node and type(f.msg) is Status, self.timeout)
        st: Status = f.msg
        return st

    async def status(self, client: int) -> Status:
        return await self._status(self.node(client), StatusReq())

    async def want(self, client: int) -> Status:
        """Make client ``client`` ask for the lock (and keep asking) without waiting for it."""
        return await self._status(self.node(client), AcquireReq())

    async def acquire(self, client: int, budget: float = 30.0) -> Status:
        """Ask until client ``client`` believes it holds the lock (``NoReply`` after ``budget`` s)."""
        node = self.node(client)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        st = await self._status(node, AcquireReq())
        while not st.holds:
            if loop.time() > deadline:
                raise NoReply(f"client {client} did not get the lock within {budget}s")
            await asyncio.sleep(0.05)
            st = await self._status(node, StatusReq())
        return st

    async def release(self, client: int) -> Status:
        return await self._status(self.node(client), ReleaseReq())

    async def write(self, client: int, work_ms: int = 0) -> WriteDone:
        node = self.node(client)
        f = await self.ep.request(node, 0, WriteReq(work_ms), lambda f: f.src == node and type(f.msg) is WriteDone,
                                  self.timeout + work_ms / 1000.0)
        d: WriteDone = f.msg
        return d

    async def log(self) -> Accepted:
        f = await self.ep.request(1, 0, LogReq(), lambda f: f.src == 1 and type(f.msg) is Accepted, self.timeout)
        a: Accepted = f.msg
        return a

    async def close(self) -> None:
        await self.ep.close()


async def _lock(args: Any, cfg: ClusterConfig) -> int:
    c = LockClient(cfg, timeout=args.timeout)
    try:
        if args.op == "acquire":
            st = await c.acquire(args.client, budget=args.timeout)
            print(f"client {args.client} holds the lock: token {st.token}, "
                  f"until {st.until} on its clock (now {st.now})")
        elif args.op == "release":
            st = await c.release(args.client)
            print(f"client {args.client} stopped renewing; its lease (token {st.token}) runs out at {st.until}")
        elif args.op == "write":
            d = await c.write(args.client, args.work_ms)
            if d.token < 0:
                print(f"client {args.client} does not hold the lock; nothing written", file=sys.stderr)
                return 1
            if not d.accepted:
                print(f"the storage refused the write with token {d.token} (fenced: a newer token was written)",
                      file=sys.stderr)
                return 1
            print(f"written with token {d.token}")
        elif args.op == "status":
            st = await c.status(args.client)
            print(f"client {args.client}: {'holds' if st.holds else 'does not hold'} the lock; token {st.token}, "
                  f"lease until {st.until}, clock {st.now}")
        else:
            a = await c.log()
            print(f"accepted tokens: {' '.join(map(str, a.tokens)) or '-'}; refused: "
                  f"{' '.join(map(str, a.refused)) or '-'}")
        return 0
    except TimeoutError:
        raise NoReply(f"the cluster did not answer within {args.timeout}s") from None
    finally:
        await c.close()


def _lock_arguments(p: Any) -> None:
    p.add_argument("op", choices=["acquire", "release", "write", "status", "log"])
    p.add_argument("--client", type=non_negative, default=0, help="which client node (0-based)")
    p.add_argument("--work-ms", type=non_negative, default=0,
                   help="write: milliseconds between the lease check and the write leaving the client")
    p.add_argument("--timeout", type=positive_float, default=10.0)


#: The lease lock as a runtime service (``protoproof cluster lease --clients 2``, ``protoproof lock``).
SERVICE = ServiceSpec(
    name="lease",
    ref=f"{__name__}:SERVICE",
    node=LeaseNode,
    names=lambda p: ["master", "storage"] + [f"c{k}" for k in range(p["clients"])] + ["standby"] * p.get("failover", 0),
    model=lambda cfg: (f"{__name__}:LeaseRun", run_params(cfg.params)),
    options=(Option("clients", 2, 1, 8, "number of lock clients"),
             Option("lease", 20, 1, 10_000, "lease length in ticks"),
             Option("margin", 5, 0, 10_000, "the clients' safety margin in ticks"),
             Option("tick_ms", 100, 1, 10_000, "milliseconds per model tick"),
             Option("fencing", 1, 0, 1, "1: the storage rejects tokens lower than one it accepted"),
             Option("failover", 0, 0, 1, "1: a standby master takes over when the master dies")),
    commands=(ClientCommand("lock", "acquire / release / write through a lease-lock cluster's clients",
                            _lock_arguments, _lock),),
    variants={"no-fencing": {"fencing": 0}},
)


def lease_cluster(directory: str, clients: int = 2, **kw: Any) -> ClusterConfig:
    return SERVICE.new_cluster(directory, {"clients": clients, **kw.pop("params", {})}, **kw)


__all__ = ["SERVICE", "LeaseNode", "LeaseRun", "LockClient", "lease_cluster", "wire_type"]
