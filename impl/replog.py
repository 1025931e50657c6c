"""The replicated log as a service: the model's ``Leader`` and ``Follower`` handlers on real nodes.

Node 0 is the leader, nodes ``1..n`` the followers (``models/replog_nodes.py``).  Every state
change is the model's step; the service adds only scheduling around them:

- a client's ``AppendReq(val)`` is the leader's ``append``, then ``send_entry`` to every
  follower; the client is answered once the entry is committed (``commit_next`` runs after
  every acknowledgement);
- every ``tick`` the leader retransmits to a follower that has not acknowledged its whole log:
  ``announce`` (after a retraction) and ``send_entry`` of the first entry it lacks.  A follower
  that holds the entry acknowledges its whole log again, so a restarted follower is caught up
  from what it recovered, not from scratch;
- ``RetractReq`` is the leader's ``retract`` (a new epoch), then ``announce`` to every follower.

Logs are ``impl.codec.Log`` fields of the durable states: a follower's append writes one sqlite
row, a cut deletes the tail (``Host``), and trace lines record the change, not the log.  The
traces replay through ``ReplogRun``: the model's nodes with the runtime's unbounded types.
"""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from typing import Any

from ..models.actors import Envelope, Node
from ..models.base import Refinement
from ..models.replog_nodes import (
    Ack,
    Append,
    Follower,
    Leader,
    LeaderState,
    LogParams,
    NewEpoch,
    ReplogNodes,
    node_configs,
)
from ..models.schema import Bool, Int, Record, Type, Union, message
from .argtypes import non_negative, positive_float
from .client import Endpoint, NoReply
from .cluster import ClusterConfig
from .codec import Frame, Log, Text
from .service import ClientCommand, Option, Service, ServiceSpec

BIG = 2**53
ENTRY = Text(4096)
#: The nodes' parameters at run time: entries are the clients' strings; logs and epochs unbounded.
RUN_PARAMS = LogParams(ENTRY, Log(ENTRY), Int(0, BIG), Int(0, BIG), BIG, BIG, ())


class ReplogRun(ReplogNodes):
    """The model a replicated-log trace replays through: its nodes with ``RUN_PARAMS``."""

    name = "replog-run"

    def params(self) -> LogParams:
        return RUN_PARAMS

    def message_type(self) -> Type:
        p = RUN_PARAMS
        return Union(Record(Append, epoch=p.epoch, idx=p.length, val=p.entry),
                     Record(NewEpoch, epoch=p.epoch, commit=p.length), Record(Ack, epoch=p.epoch, length=p.length))

    def envelopes(self) -> list[Envelope]:
        return []  # unbounded: a replay adds what was sent, nothing is enumerated

    def refinements(self) -> list[Refinement]:
        return []  # CommittedLog is declared over a bounded set of values


# ----- service messages -----------------------------------------------------------------


@message
class AppendReq:
    val: str


@message
class AppendOk:
    """The entry is committed at ``idx``; -1: it was retracted before it was committed."""

    idx: int


@message
class ReadReq:
    pass


@message
class Entries:
    """A node's log; ``commit`` is the leader's commit index (-1 from a follower: it does not know)."""

    epoch: int
    commit: int
    log: tuple[str, ...]


@message
class RetractReq:
    pass


@message
class Retracted:
    """Whether the leader retracted its last entry, and its epoch and log length after the request."""

    done: bool
    epoch: int
    length: int


def wire_type(followers: int) -> Type:
    model = ReplogRun(followers=followers).message_type()
    assert isinstance(model, Union)
    return Union(*model.alts, Record(AppendReq, val=ENTRY), Record(AppendOk, idx=Int(-1, BIG)), Record(ReadReq),
                 Record(Entries, epoch=Int(0, BIG), commit=Int(-1, BIG), log=Log(ENTRY)), Record(RetractReq),
                 Record(Retracted, done=Bool, epoch=Int(0, BIG), length=Int(0, BIG)))


class ReplogNode(Service):
    """The leader (node 0) or a follower (nodes ``1..followers``) of a replicated-log cluster."""

    tick = 0.2

    def __init__(self, cfg: ClusterConfig, node_id: int, **kw: Any) -> None:
        self.followers = len(cfg.nodes) - 1
        self.node_cfg = node_configs(self.followers, RUN_PARAMS)[node_id]
        super().__init__(cfg, node_id, **kw)
        #: Leader: per log position, the clients waiting for it with the value they appended.
        self.waiting: dict[int, list[tuple[int, str]]] = defaultdict(list)
        self._ticker: asyncio.TimerHandle | None = None

    @property
    def is_leader(self) -> bool:
        return self.id == 0

    def make_node(self) -> Node[Any]:
        return Leader(self.node_cfg) if self.id == 0 else Follower(self.node_cfg)

    def model_message_type(self) -> Type:
        return ReplogRun(followers=self.followers).message_type()

    def wire_type(self) -> Type:
        return wire_type(self.followers)

    def leader(self) -> LeaderState:
        s: LeaderState = self.host.state(0)
        return s

    # ----- leader -----
    def on_recovered(self, insts: list[int]) -> None:
        self.host.state(0)
        if self.is_leader:
            self._schedule()

    def _schedule(self) -> None:
        self._ticker = asyncio.get_running_loop().call_later(self.tick, self._retransmit)

    def _retransmit(self) -> None:
        s = self.leader()
        for k, f in enumerate(range(1, self.followers + 1)):
            if s.match[k] < len(s.log):
                self.host.step(0, "announce", f=f)  # not enabled in epoch 0
                self.host.step(0, "send_entry", f=f, idx=s.match[k])
        self._schedule()

    def _acknowledged(self, src: int, before: LeaderState) -> None:
        """After an ack from ``src``: commit what is now acknowledged everywhere, and if the ack
        counted, send ``src`` the next entry it lacks at once (only then: a re-ack of an entry
        already counted triggers nothing, or acks and sends would feed each other)."""
        while self.host.step(0, "commit_next"):
            pass
        s = self.leader()
        k = src - 1
        if s.match[k] > before.match[k] and s.match[k] < len(s.log):
            self.host.step(0, "send_entry", f=src, idx=s.match[k])
        self._answer(s)

    def _answer(self, s: LeaderState) -> None:
        for idx in sorted(self.waiting):
            if idx >= s.commit and idx < len(s.log):
                continue
            for client, val in self.waiting.pop(idx):
                ok = idx < s.commit and s.log[idx] == val
                self.reply(client, 0, AppendOk(idx if ok else -1))

    def on_frame(self, f: Frame) -> None:
        if self.is_leader and type(f.msg) is Ack and f.src in self.transport.addrs:
            before = self.leader()
            if self.host.deliver(f.src, 0, f.msg):
                self._acknowledged(f.src, before)
            return
        super().on_frame(f)

    def on_service(self, f: Frame) -> None:
        m = f.msg
        if type(m) is ReadReq:
            s = self.host.state(0)
            self.reply(f.src, 0, Entries(s.epoch, s.commit if self.is_leader else -1, s.log))
        elif not self.is_leader or f.src not in self.cfg.client_ids:
            return
        elif type(m) is AppendReq:
            if self.host.step(0, "append", v=m.val):
                idx = len(self.leader().log) - 1
                self.waiting[idx].append((f.src, m.val))
                for dst in range(1, self.followers + 1):
                    self.host.step(0, "send_entry", f=dst, idx=idx)
        elif type(m) is RetractReq:
            done = self.host.step(0, "retract")
            if done:
                for dst in range(1, self.followers + 1):
                    self.host.step(0, "announce", f=dst)
                self._answer(self.leader())
            s = self.leader()
            self.reply(f.src, 0, Retracted(done, s.epoch, len(s.log)))

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        await super().stop()


class ReplogClient:
    """Appends through the leader (answered once committed), reads any node's log, retracts."""

    def __init__(self, cfg: ClusterConfig, client_id: int | None = None, timeout: float = 2.0) -> None:
        self.cfg = cfg
        self.ep = Endpoint(cfg, wire_type(len(cfg.nodes) - 1), client_id)
        self.timeout = timeout

    async def append(self, val: str, budget: float = 30.0) -> int:
        """The index ``val`` was committed at (-1: retracted first).  Retried until ``budget``: a retry
        after a lost answer may append the value twice."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        while loop.time() < deadline:
            try:
                f = await self.ep.request(0, 0, AppendReq(val), lambda f: type(f.msg) is AppendOk, budget)
                idx: int = f.msg.idx
                return idx
            except (TimeoutError, OSError):
                await asyncio.sleep(0.1)
        raise NoReply(f"the leader did not commit {val!r} within {budget}s")

    async def read(self, node: int = 0) -> Entries:
        f = await self.ep.request(node, 0, ReadReq(), lambda f: f.src == node and type(f.msg) is Entries,
                                  self.timeout)
        e: Entries = f.msg
        return e

    async def retract(self) -> Retracted:
        f = await self.ep.request(0, 0, RetractReq(), lambda f: type(f.msg) is Retracted, self.timeout)
        r: Retracted = f.msg
        return r

    async def close(self) -> None:
        await self.ep.close()


async def _replog(args: Any, cfg: ClusterConfig) -> int:
    c = ReplogClient(cfg, timeout=args.timeout)
    try:
        if args.op != "append" and args.value is not None:
            raise ValueError(f"replog {args.op} takes no value; drop {args.value!r}")
        if args.op == "append":
            if args.value is None:
                raise ValueError("replog append needs a value")
            idx = await c.append(args.value, budget=args.timeout)
            if idx < 0:
                print(f"{args.value!r} was retracted before it was committed", file=sys.stderr)
                return 1
            print(f"committed at index {idx}")
        elif args.op == "retract":
            r = await c.retract()
            what = "retracted the last entry" if r.done else "nothing to retract (every entry is committed)"
            print(f"{what}: epoch {r.epoch}, log length {r.length}")
        else:
            e = await c.read(args.node)
            who = cfg.nodes[args.node].name
            commit = f", {e.commit} committed" if e.commit >= 0 else ""
            print(f"{who}: epoch {e.epoch}, {len(e.log)} entries{commit}")
            for k, v in enumerate(e.log):
                print(f"{k}\t{v}{'' if e.commit < 0 or k < e.commit else '  (uncommitted)'}")
        return 0
    except TimeoutError:
        raise NoReply(f"node {args.node if args.op == 'read' else 0} did not answer within {args.timeout}s") from None
    finally:
        await c.close()


def _replog_arguments(p: Any) -> None:
    p.add_argument("op", choices=["append", "read", "retract"])
    p.add_argument("value", nargs="?")
    p.add_argument("--node", type=non_negative, default=0, help="read this node's log (0: the leader)")
    p.add_argument("--timeout", type=positive_float, default=10.0)


#: The replicated log as a runtime service (``protoproof cluster replog --followers 2``, ``protoproof replog``).
SERVICE = ServiceSpec(
    name="replog",
    ref=f"{__name__}:SERVICE",
    node=ReplogNode,
    names=lambda p: ["leader"] + [f"f{k}" for k in range(p["followers"])],
    model=lambda cfg: (f"{__name__}:ReplogRun", {"followers": len(cfg.nodes) - 1}),
    options=(Option("followers", 2, 1, 8, "number of followers"),),
    commands=(ClientCommand("replog", "append to / read / retract a replicated-log cluster's log",
                            _replog_arguments, _replog),),
)


def replog_cluster(directory: str, followers: int, **kw: Any) -> ClusterConfig:
    return SERVICE.new_cluster(directory, {"followers": followers, **kw.pop("params", {})}, **kw)


__all__ = ["SERVICE", "ReplogClient", "ReplogNode", "ReplogRun", "replog_cluster", "wire_type"]
