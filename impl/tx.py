"""A 2PC transaction service on the ``TwoPhase`` model's TM and RM handlers.

The model's nodes keep nothing across a crash (its RMs do not ``Persist``), which is fine for
the checker but not for a real RM: an RM that voted and forgot could then abort alone.
``DurableRM``/``DurableTM`` are the model nodes plus ``Persist`` before every send and a
``durable``/``on_recover`` that keep the whole local state (see the report: this belongs in
``models/twophase.py``).  ``DurableTwoPhase`` is the model the traces are validated against.

Each transaction is one instance of the protocol (instance id = transaction id).  Around
the model's steps the service adds only scheduling: the TM asks RMs to vote (``VoteReq``),
runs ``commit`` once it is enabled and ``abort`` on a timeout; an in-doubt RM asks the TM
again (``Inquire``) and the TM re-sends its decision (the same envelope, which the model's
duplicating network allows).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from typing import Any

from ..models.actors import Effect, Node
from ..models.schema import Bool, Enum, Id, Record, SetOf, Type, Union, message
from ..models.tcommit import ABORTED, COMMITTED, PREPARED, WORKING, RMState
from ..models.twophase import (
    INIT,
    Abort,
    Commit,
    ResourceManager,
    TransactionManager,
    TwoPhase,
    node_configs,
)
from .argtypes import non_negative, positive_float
from .client import Endpoint, NoReply
from .cluster import ClusterConfig
from .codec import Frame
from .service import ClientCommand, Option, Service, ServiceSpec

Out = tuple[Any, Sequence[Effect]] | None


# ----- durable nodes --------------------------------------------------------------------
# The model's RMs persist their vote and outcome, and its TM its decision, before telling
# anyone (models/twophase.py); these names are kept for the service code and its tests.

DurableRM = ResourceManager
DurableTM = TransactionManager
DurableTwoPhase = TwoPhase


# ----- service messages -----------------------------------------------------------------


@message
class Begin:
    """Client -> TM: run transaction ``inst``; the RMs in ``no`` vote no."""

    no: frozenset[int]


@message
class VoteReq:
    no: bool


@message
class Outcome:
    decision: str


@message
class StatusReq:
    pass


@message
class Status:
    state: str


@message
class Inquire:
    pass


TMStateType = Enum("TMState", INIT, COMMITTED, ABORTED)


def wire_type(rms: int) -> Type:
    model = TwoPhase(rms=rms).message_type()
    assert isinstance(model, Union)
    return Union(*model.alts, Record(Begin, no=SetOf(Id("node", rms))), Record(VoteReq, no=Bool),
                 Record(Outcome, decision=TMStateType), Record(StatusReq), Record(Status, state=RMState),
                 Record(Inquire))


class TxNode(Service):
    """The TM (node ``rms``) or an RM (nodes ``0..rms-1``) of a 2PC cluster."""

    decide_timeout = 1.5
    inquire_every = 0.5
    #: Transactions a client waits on (``open_requests``) before a new ``Begin`` is answered ``Busy``.
    max_inflight = 32

    def __init__(self, cfg: ClusterConfig, node_id: int, **kw: Any) -> None:
        self.rms = int(cfg.params.get("rms", len(cfg.nodes) - 1))
        self.tm = self.rms
        self.decide_delay = float(cfg.params.get("decide_delay", 0.0))
        super().__init__(cfg, node_id, **kw)
        self.waiting: dict[int, list[int]] = {}
        self.deadlines: dict[int, asyncio.TimerHandle] = {}
        self.inquiries: dict[int, asyncio.TimerHandle] = {}
        self.host.listeners.append(self._stepped)

    @property
    def is_tm(self) -> bool:
        return self.id == self.tm

    def make_node(self) -> Node[Any]:
        cfg = node_configs(self.rms)[self.id]
        return DurableTM(cfg) if self.is_tm else DurableRM(cfg)

    def model_message_type(self) -> Type:
        return TwoPhase(rms=self.rms).message_type()

    def wire_type(self) -> Type:
        return wire_type(self.rms)

    def open_requests(self) -> int:
        """The TM's undecided transactions with a client waiting (its retries are not more)."""
        return sum(1 for cs in self.waiting.values() if cs)

    # ----- TM -----
    def _decided(self, inst: int) -> str | None:
        s = self.host.states.get(inst)
        if s is None:
            return None
        if self.is_tm:
            return None if s.state == INIT else str(s.state)
        return str(s) if s in (COMMITTED, ABORTED) else None

    def _arm_abort(self, inst: int, delay: float) -> None:
        if inst not in self.deadlines:
            self.deadlines[inst] = asyncio.get_running_loop().call_later(delay, self._abort, inst)

    def _abort(self, inst: int) -> None:
        self.deadlines.pop(inst, None)
        self.host.step(inst, "abort")

    def _try_commit(self, inst: int) -> None:
        self.host.step(inst, "commit")

    def _stepped(self, inst: int, label: str) -> None:
        d = self._decided(inst)
        if d is None:
            if not self.is_tm and self.host.states.get(inst) == PREPARED:
                self._arm_inquiry(inst)
            return
        if self.is_tm:
            h = self.deadlines.pop(inst, None)
            if h is not None:
                h.cancel()
            for c in self.waiting.pop(inst, []):
                self.reply(c, inst, Outcome(d))
        else:
            h = self.inquiries.pop(inst, None)
            if h is not None:
                h.cancel()

    def on_recovered(self, insts: list[int]) -> None:
        for inst in insts:
            d = self._decided(inst)
            if self.is_tm:
                if d is None:
                    self._arm_abort(inst, self.decide_timeout)
                else:
                    self._announce(inst, range(self.rms))
            elif self.host.states.get(inst) == PREPARED:
                self._arm_inquiry(inst)

    def _announce(self, inst: int, rms: Sequence[int] | range) -> None:
        d = self._decided(inst)
        msg = Commit() if d == COMMITTED else Abort()
        for r in rms:
            self.host.resend(r, inst, msg)

    # ----- RM -----
    def _arm_inquiry(self, inst: int) -> None:
        if inst in self.inquiries:
            return

        def ask() -> None:
            self.inquiries.pop(inst, None)
            if self._decided(inst) is None:
                self.reply(self.tm, inst, Inquire())
                self._arm_inquiry(inst)

        self.inquiries[inst] = asyncio.get_running_loop().call_later(self.inquire_every, ask)

    # ----- frames -----
    def after_deliver(self, f: Frame) -> None:
        if self.is_tm and self._decided(f.inst) is None:
            if self.decide_delay > 0:
                asyncio.get_running_loop().call_later(self.decide_delay, self._try_commit, f.inst)
            else:
                self._try_commit(f.inst)

    def on_service(self, f: Frame) -> None:
        m, inst = f.msg, f.inst
        if self.is_tm and type(m) is Begin and f.src in self.cfg.client_ids:
            d = self._decided(inst)
            if d is not None:
                self.reply(f.src, inst, Outcome(d))
                return
            self.waiting.setdefault(inst, []).append(f.src)
            if not self.host.has(inst):
                self.host.state(inst)
                for r in range(self.rms):
                    self.reply(r, inst, VoteReq(r in m.no))
                self._arm_abort(inst, self.decide_timeout + self.decide_delay)
        elif self.is_tm and type(m) is Inquire and f.src < self.rms:
            if self._decided(inst) is not None:
                self._announce(inst, [f.src])
            elif inst not in self.deadlines:
                self._abort(inst)  # a TM that lost track of the transaction presumes abort
        elif not self.is_tm and type(m) is VoteReq and f.src == self.tm:
            self.host.step(inst, "choose_to_abort" if m.no else "prepare")
        elif not self.is_tm and type(m) is StatusReq:
            self.reply(f.src, inst, Status(self.host.states.get(inst, WORKING)))


def _status_of(tx: int, rm: int) -> Callable[[Frame], bool]:
    return lambda f: f.inst == tx and f.src == rm and type(f.msg) is Status


class TxClient:
    """Runs transactions: ask the TM, then read every RM's state for that transaction."""

    def __init__(self, cfg: ClusterConfig, client_id: int | None = None, wire: Type | None = None) -> None:
        self.cfg = cfg
        self.rms = int(cfg.params.get("rms", len(cfg.nodes) - 1))
        self.ep = Endpoint(cfg, wire if wire is not None else wire_type(self.rms), client_id)

    @staticmethod
    def new_tx() -> int:
        return random.randrange(1, 2**53)

    async def commit(self, no: Sequence[int] = (), tx: int | None = None,
                     timeout: float = 20.0) -> tuple[int, str, dict[int, str]]:
        """(transaction id, TM decision, final state per RM)."""
        tx = tx if tx is not None else self.new_tx()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        decision = None
        while decision is None:
            if loop.time() > deadline:
                raise NoReply(f"the TM did not decide transaction {tx} within {timeout}s")
            try:
                f = await self.ep.request(self.rms, tx, Begin(frozenset(no)),
                                          lambda f: f.inst == tx and type(f.msg) is Outcome, 2.0)
                decision = f.msg.decision
            except (TimeoutError, OSError):
                await asyncio.sleep(0.2)
        states: dict[int, str] = {}
        deadline = min(deadline, loop.time() + 5.0)  # an RM that never voted may never learn
        while len(states) < self.rms and loop.time() < deadline:
            for r in range(self.rms):
                if r in states:
                    continue
                try:
                    f = await self.ep.request(r, tx, StatusReq(),
                                              _status_of(tx, r), 1.0)
                except (TimeoutError, OSError):
                    continue
                if f.msg.state in (COMMITTED, ABORTED):
                    states[r] = f.msg.state
            if len(states) < self.rms:
                await asyncio.sleep(0.1)
        return tx, decision, states

    async def status(self, tx: int) -> dict[int, str]:
        out = {}
        for r in range(self.rms):
            try:
                f = await self.ep.request(r, tx, StatusReq(),
                                          _status_of(tx, r), 1.0)
                out[r] = f.msg.state
            except (TimeoutError, OSError):
                pass
        return out

    async def close(self) -> None:
        await self.ep.close()


async def _tx(args: Any, cfg: ClusterConfig) -> int:
    return await print_tx(args, TxClient(cfg))


async def print_tx(args: Any, c: TxClient) -> int:
    """Run ``tx commit`` with client ``c`` and print the decision and every RM's state."""
    bad = [r for r in args.no if not 0 <= r < c.rms]
    if bad:
        await c.close()
        raise ValueError(f"--no {bad[0]}: the cluster's RMs are 0..{c.rms - 1}")
    try:
        tx, decision, states = await c.commit(no=args.no, timeout=args.timeout)
    finally:
        await c.close()
    print(f"transaction {tx}: {decision}")
    for r in range(c.rms):
        print(f"  rm{r}: {states.get(r, 'unknown (no answer)')}")
    return 0 if len(states) == c.rms else 1


def tx_arguments(p: Any) -> None:
    p.add_argument("action", choices=["commit"])
    p.add_argument("--no", type=non_negative, action="append", default=[], metavar="RM", help="this RM votes no")
    p.add_argument("--timeout", type=positive_float, default=20.0)


#: 2PC as a runtime service (``protoproof cluster twophase --rms 3``, ``protoproof tx``).
SERVICE = ServiceSpec(
    name="twophase",
    ref=f"{__name__}:SERVICE",
    node=TxNode,
    names=lambda p: [f"rm{i}" for i in range(p["rms"])] + ["tm"],
    model=lambda cfg: ("protoproof.models.twophase:TwoPhase", {"rms": int(cfg.params["rms"])}),
    options=(Option("rms", 3, 1, 12, "number of resource managers"),),
    commands=(ClientCommand("tx", "run one 2PC transaction on a twophase cluster", tx_arguments, _tx),),
)


def twophase_cluster(directory: str, rms: int, **kw: Any) -> ClusterConfig:
    params = {"rms": rms, **kw.pop("params", {})}
    return SERVICE.new_cluster(directory, params, **kw)
