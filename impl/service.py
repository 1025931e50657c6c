"""What every service node shares: a host, a transport, a store, and the frame dispatch.

Frames whose message is one of the model's kinds go to ``Host.deliver`` (the verified
handler); the others are the service's own (client requests, replies, catch-up) and go to
``on_service``.  A service never changes a model state except through the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from ..models.actors import Node
from ..models.schema import Record, Type, Union
from .cluster import ClusterConfig
from .codec import Codec, Frame
from .faults import FaultInjector
from .host import Host, Tracer
from .storage import Store
from .transport import Transport

log = logging.getLogger("protoproof.impl")


def kinds(t: Type) -> frozenset[type]:
    """The message classes of a ``Union`` of message records."""
    alts = t.alts if isinstance(t, Union) else (t,)
    return frozenset(a.cls for a in alts if isinstance(a, Record))


class Service:
    """Base of a service node; subclasses build ``self.host`` in ``make_host``."""

    def __init__(self, cfg: ClusterConfig, node_id: int, *, faults: FaultInjector | None = None,
                 send_before_persist: bool = False, store: Store | None = None) -> None:
        self.cfg, self.id = cfg, node_id
        self.wire = self.wire_type()
        self.model_kinds = kinds(self.model_message_type())
        self.codec = Codec(self.wire, cfg.secret, cfg.all_ids)
        self.store = store if store is not None else Store(cfg.node_dir(node_id) / "state.sqlite3", fsync=cfg.fsync)
        self.faults = faults if faults is not None else FaultInjector()
        tracer = Tracer(cfg.trace_dir(), node_id) if cfg.trace else None
        self.host: Host[Any] = Host(self.make_node(), self.store, self.wire, state_type=self.state_type(),
                                    disk_type=self.disk_type(), tracer=tracer,
                                    send_before_persist=send_before_persist, clock=self.faults.node_clock(node_id))
        addrs = {n.id: (n.host, n.port) for n in cfg.nodes}
        self.transport = Transport(node_id, self.codec, addrs, self.on_frame, self.faults)
        self.host.attach(self.transport)
        self.started = False

    # ----- to define -----
    def make_node(self) -> Node[Any]:
        raise NotImplementedError

    def model_message_type(self) -> Type:
        raise NotImplementedError

    def wire_type(self) -> Type:
        raise NotImplementedError

    def state_type(self) -> Type | None:
        return None

    def disk_type(self) -> Type | None:
        return None

    def on_service(self, f: Frame) -> None:
        pass

    def after_deliver(self, f: Frame) -> None:
        pass

    def on_recovered(self, insts: list[int]) -> None:
        pass

    # ----- running -----
    async def start(self) -> None:
        """Recover from disk, then listen."""
        if self.cfg.trace:
            meta = self.cfg.trace_dir() / "meta.json"
            meta.write_text(json.dumps({"protocol": self.cfg.protocol, "nodes": len(self.cfg.nodes),
                                        "params": self.cfg.params}))
        insts = self.host.recover()
        await self.transport.listen()
        self.started = True
        self.on_recovered(insts)

    def on_frame(self, f: Frame) -> None:
        if type(f.msg) in self.model_kinds and f.src in self.transport.addrs:
            self.host.deliver(f.src, f.inst, f.msg)
            self.after_deliver(f)
        else:
            self.on_service(f)

    def reply(self, dst: int, inst: int, msg: Any) -> None:
        self.transport.send(Frame(self.id, dst, inst, msg))

    async def stop(self) -> None:
        """Stop like a crash as far as memory goes; the disk is closed cleanly."""
        self.host.close()
        await self.transport.close()
        self.store.close()


async def run_forever(svc: Service, stop: asyncio.Event, reload_every: float = 0.5) -> None:
    """Serve until ``stop`` is set, re-reading ``faults.json`` from the cluster directory."""
    await svc.start()
    try:
        while not stop.is_set():
            svc.faults.reload(svc.cfg.directory)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), reload_every)
    finally:
        await svc.stop()
