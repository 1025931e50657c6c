"""What every service node shares: a host, a transport, a store, and the frame dispatch.

Frames whose message is one of the model's kinds go to ``Host.deliver`` (the verified
handler); the others are the service's own (client requests, replies, catch-up) and go to
``on_service``.  A service never changes a model state except through the host.

A protocol's runtime is one ``ServiceSpec`` value in its own runtime module (``SERVICE``): how
to build a node's ``Service``, the cluster's parameters and node names, the model its traces
are validated against, and its client subcommands.  The cluster file records where the spec
lives, so the generic launcher, commands and validator never name a protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models.actors import Node
from ..models.registry import RegistryError, is_spec, registered, resolve
from ..models.schema import Record, Type, Union
from .cluster import ClusterConfig, new_cluster
from .codec import Codec, Frame
from .faults import FaultInjector, record_environment
from .host import Host, Tracer
from .recovery import REJOINING, open_store
from .storage import Store
from .transport import Transport

log = logging.getLogger("protoproof.impl")


def kinds(t: Type) -> frozenset[type]:
    """The message classes of a ``Union`` of message records."""
    alts = t.alts if isinstance(t, Union) else (t,)
    return frozenset(a.cls for a in alts if isinstance(a, Record))


@dataclass(frozen=True)
class Option:
    """A whole-number cluster parameter: ``protoproof cluster NAME --<name> V`` (``lo <= V <= hi``)."""

    name: str
    default: int
    lo: int
    hi: int
    help: str = ""


@dataclass(frozen=True)
class ClientCommand:
    """A client subcommand (``kv``, ``tx``): its arguments and what it does on a loaded cluster."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, ClusterConfig], Awaitable[int]]
    #: Checks of the arguments alone (``ValueError``), run before anything touches the cluster:
    #: a mistyped command is told so even when the cluster is down.
    check: Callable[[argparse.Namespace], None] | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """A protocol's runtime, declared once next to its service (``SERVICE`` in its runtime module).

    ``ref``: where this value lives (``"package.module:SERVICE"``), recorded in the cluster file so
    that a node process can rebuild it; ``node``: ``(cfg, node_id, **kw) -> Service``; ``names``:
    the node names for the cluster parameters; ``model``: the ``ActorSystem`` traces replay through,
    as ``(dotted path, constructor params)`` for a cluster.
    """

    name: str
    ref: str
    node: Callable[..., Service]
    names: Callable[[Mapping[str, Any]], list[str]]
    model: Callable[[ClusterConfig], tuple[str, dict[str, Any]]]
    options: tuple[Option, ...] = ()
    commands: tuple[ClientCommand, ...] = field(default=())
    #: Planted bugs the runtime can run (``cluster NAME --variant V``), as the options they set:
    #: the model's variant of the same name is what the runtime then shows for real.
    variants: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    #: ``cluster NAME --dir D --join`` / ``--leave I`` on a running cluster: ``(cfg, join, node)
    #: -> exit status`` (None: the service's membership is fixed).
    membership: Callable[[ClusterConfig, bool, int | None], Coroutine[Any, Any, int]] | None = None

    def variant(self, name: str) -> dict[str, int]:
        """The option values of variant ``name``; a one-line error naming the known ones."""
        if name not in self.variants:
            known = ", ".join(sorted(self.variants)) or "none"
            raise ValueError(f"--variant {name}: {self.name} has no such runtime variant (known: {known})")
        return dict(self.variants[name])

    def params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The cluster parameters: each option's default overridden by ``given`` (bounds checked)."""
        out = {o.name: o.default for o in self.options}
        out.update(given)
        for o in self.options:
            v = out[o.name]
            if not isinstance(v, int) or not o.lo <= v <= o.hi:
                raise ValueError(f"--{o.name.replace('_', '-')} must be between {o.lo} and {o.hi}")
        return out

    def new_cluster(self, directory: str | Path, params: Mapping[str, Any] | None = None, *,
                    fsync: bool = True, trace: bool = False) -> ClusterConfig:
        """A fresh configuration of this service (not yet saved)."""
        p = self.params(params or {})
        return new_cluster(directory, self.name, self.names(p), fsync=fsync, trace=trace, params=p,
                           service=self.ref)


def load_spec(ref: str) -> ServiceSpec:
    """The ``ServiceSpec`` at a dotted path (or ``file.py:attr``), with a one-line error."""
    try:
        obj = resolve(ref)
    except RegistryError as e:
        raise ValueError(str(e)) from None
    if not isinstance(obj, ServiceSpec):
        raise ValueError(f"{ref} is a {type(obj).__name__}, not a ServiceSpec (declare SERVICE = ServiceSpec(...))")
    return obj


def spec_for(name: str) -> ServiceSpec:
    """A protocol name (looked up in the registry) or a dotted path to a ``ServiceSpec``."""
    if is_spec(name):
        return load_spec(name)
    try:
        known = registered()
    except RegistryError as e:  # a plugin that does not load, say
        raise ValueError(str(e)) from None
    p = known.get(name)
    if p is None:
        # A service may be named apart from the protocol it runs.
        named = [s for s in known_specs() if s.name == name]
        if named:
            return named[0]
        raise ValueError(f"unknown protocol {name!r}; protocols that run as a cluster: {_runnable()} "
                         "(or a dotted path to a ServiceSpec)")
    if p.service is None:
        raise ValueError(f"protocol {name!r} has no runtime service; protocols that run as a cluster: {_runnable()}")
    return load_spec(p.service) if isinstance(p.service, str) else _checked(p.service)


def _runnable() -> str:
    """The names ``cluster`` takes: the protocols with a service, and services named apart from theirs."""
    with_service = {n for n, q in registered().items() if q.service is not None}
    return ", ".join(sorted(with_service | {s.name for s in known_specs()}))


def _checked(obj: Any) -> ServiceSpec:
    if not isinstance(obj, ServiceSpec):
        raise ValueError(f"{obj!r} is not a ServiceSpec")
    return obj


def known_specs() -> list[ServiceSpec]:
    """The services of every registered protocol that has one, in registry order."""
    return [spec_for(name) for name, p in registered().items() if p.service is not None]


def service_of(cfg: ClusterConfig) -> ServiceSpec:
    """The service a cluster file names (older files name only the protocol)."""
    return load_spec(cfg.service) if cfg.service else spec_for(cfg.protocol)


class Service:
    """Base of a service node; subclasses build ``self.host`` in ``make_host``."""

    #: Commit the Persists of one event-loop turn together (``Host.group_commit``): one fsync
    #: for a batch of steps, their messages sent after it.
    group_commit = False
    #: Client requests in progress (``open_requests``) above which a new one is answered ``Busy``
    #: rather than taken: a burst gets a prompt "retry later" instead of a collapse.
    max_inflight = 8
    #: The service can rejoin a node that lost its store as a learner (``learner``): it catches
    #: up from its peers, then calls ``rejoined``.  Without it such a node can only be refused.
    rejoins = False

    @classmethod
    def rejoin_refusal(cls, cfg: ClusterConfig, node_id: int) -> str | None:
        """Why node ``node_id`` cannot rejoin as a learner (``rejoins``), or None if it can.
        Asked before anything is set aside (``cluster rejoin``, and at start as a learner), so a
        refused rejoin leaves the node's files as they were.  A learner catches up from its peers:
        a cluster with none but it has no one to catch up from."""
        if not cls.rejoins:
            return (f"a {cfg.protocol} node cannot rejoin as a learner (the service has no catch-up "
                    "for it); restore its store from a backup, or re-create the cluster")
        if not any(n.id != node_id for n in cfg.nodes):
            return (f"a single {cfg.protocol} server that lost its store has no peer to rejoin from; "
                    "restore its store from a backup")
        return None

    def __init__(self, cfg: ClusterConfig, node_id: int, *, faults: FaultInjector | None = None,
                 send_before_persist: bool = False, store: Store | None = None, as_learner: bool = False) -> None:
        self.cfg, self.id = cfg, node_id
        self.wire = self.wire_type()
        self.model_kinds = kinds(self.model_message_type())
        if not cfg.secret:
            raise ValueError("a node needs the cluster's master secret (load the cluster with as_node=True)")
        self.codec = Codec(self.wire, cfg.keys, cfg.all_ids)
        why_not = self.rejoin_refusal(cfg, node_id) if as_learner else None
        if why_not is not None:  # before open_store sets the store aside
            raise ValueError(why_not)
        #: A learner neither votes nor serves (model messages are not delivered to it) until
        #: ``rejoined``: its store was lost, and what it promised or voted must first be
        #: rebuilt from its peers.  Checked at start (``recovery.open_store``).
        self.learner = False
        if store is None:
            store, self.learner = open_store(cfg, node_id, as_learner=as_learner)
            why_not = self.rejoin_refusal(cfg, node_id) if self.learner else None
            if why_not is not None:  # still a learner from an earlier rejoin that cannot finish
                store.close()
                raise ValueError(why_not)
        self.store = store
        #: Why the node stopped serving (``halt``), or None.
        self.halted: str | None = None
        self.on_halt: Callable[[], None] | None = None
        self.faults = faults if faults is not None else FaultInjector()
        tracer = Tracer(cfg.trace_dir(), node_id) if cfg.trace else None
        self.host: Host[Any] = Host(self.make_node(), self.store, self.wire, state_type=self.state_type(),
                                    disk_type=self.disk_type(), tracer=tracer,
                                    send_before_persist=send_before_persist, clock=self.faults.node_clock(node_id),
                                    group_commit=self.group_commit)
        addrs = {n.id: (n.host, n.port) for n in cfg.nodes}
        self.transport = Transport(node_id, self.codec, addrs, self.on_frame, self.faults)
        self.transport.admit = self.admit
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

    def open_requests(self) -> int:
        """Client requests taken and not yet finished (a service that tracks them says how many)."""
        return 0

    def admit(self, f: Frame) -> bool:
        """Take this client frame now?  No: the transport answers ``Busy``."""
        return self.open_requests() < self.max_inflight

    # ----- running -----
    async def start(self) -> None:
        """Recover from disk, then listen."""
        if self.cfg.trace:
            model, params = service_of(self.cfg).model(self.cfg)
            meta = self.cfg.trace_dir() / "meta.json"
            meta.write_text(json.dumps({"protocol": self.cfg.protocol, "nodes": len(self.cfg.nodes),
                                        "model": model, "params": params}))
        insts = self.host.recover()
        await self.transport.listen()
        self.started = True
        self.on_recovered(insts)

    def on_frame(self, f: Frame) -> None:
        if self.halted is not None:
            return
        if type(f.msg) in self.model_kinds and f.src in self.transport.addrs:
            if self.learner:
                return  # it does not vote until it has caught up (``rejoined``)
            self.host.deliver(f.src, f.inst, f.msg)
            self.after_deliver(f)
        else:
            self.on_service(f)

    def halt(self, why: str) -> None:
        """Stop serving at once and end the process non-zero: the node saw something that only a
        broken replica could (two values decided for one slot); serving on would spread it."""
        if self.halted is not None:
            return
        self.halted = why
        log.critical("node %s halts: %s", self.id, why)
        self.host.close()
        if self.on_halt is not None:
            self.on_halt()

    def rejoined(self) -> None:
        """A learner has caught up and rebuilt what it needs to vote safely: from now on it votes
        (the mark is cleared durably, so a restart after this is a normal one)."""
        # staged: committed with (or after) the rebuilt states ``adopt`` wrote, never before them
        self.host.stage(Store.meta_statements({REJOINING: "0"}))
        self.learner = False
        log.warning("node %s: rejoined the cluster as a voter", self.id)

    def reply(self, dst: int, inst: int, msg: Any) -> None:
        self.transport.send(Frame(self.id, dst, inst, msg))

    async def stop(self) -> None:
        """Stop like a crash as far as memory goes; the disk is closed cleanly.  With tracing on,
        the stop is recorded as the model's crash before the port closes, so whatever a peer does
        on noticing it (a failure detector's suspicion) comes after it in the trace."""
        self.host.close()
        await self.host.settle()  # a group commit running in the host's thread still uses the store
        if self.cfg.trace and self.started:
            record_environment(self.cfg.trace_dir(), "crash", self.id)
        await self.transport.close()
        self.store.close()


async def run_forever(svc: Service, stop: asyncio.Event, reload_every: float = 0.5,
                      on_ready: Callable[[], None] | None = None) -> None:
    """Serve until ``stop`` is set, re-reading ``faults.json`` from the cluster directory.

    ``on_ready`` runs once the node listens (the launcher writes its pid file there, so a
    supervisor tells "our node is up" from "something else holds the port").  A node that
    halts (``Service.halt``) sets ``stop``."""
    svc.on_halt = stop.set
    await svc.start()
    if on_ready is not None:
        on_ready()
    db = svc.store.path
    kept = db.exists()
    try:
        while not stop.is_set():
            if kept and not db.exists():  # deleted under it (`rm -rf` of the cluster directory)
                svc.halt(f"its store {db} was deleted: what it acknowledged from now on would not survive "
                         "a restart")
                break
            svc.faults.reload(svc.cfg.directory)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), reload_every)
    finally:
        await svc.stop()
