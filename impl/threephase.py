"""A 3PC transaction service on the ``ThreePhase`` model's coordinator and participant handlers.

It shares with the 2PC service (``impl/tx.py``) the client's messages (``Begin``, ``VoteReq``,
``Outcome``, ``StatusReq``, ``Status``), the ``tx`` command and the participant's storage: one
sqlite row per transaction holding its phase (2PC's values plus ``precommitted``).  Each
transaction is one instance of the protocol.  Around the model's steps the service adds only
scheduling:

- the coordinator asks the participants to vote (``VoteReq``) and runs ``precommit`` and
  ``commit`` as soon as they are enabled (``pause_ms`` later: a test knob to kill it between
  phases); a participant votes on ``VoteReq`` (``vote_delay_ms`` later, the same kind of knob);
- a failure detector per node: ``Probe`` (a peer's port refuses connections: the model's
  ``--failures crash``) or, with ``partitions=1``, ``Detector`` (heartbeat silence, so a
  partition makes a live peer suspected: ``--failures partition``).  Each suspicion is the
  model's ``suspect(node, peer)`` environment action, recorded, and its ``Suspect`` message
  handed to every transaction the node knows (and to each it learns of later);
- a participant that is the backup coordinator runs ``decide`` and ``commit`` once enabled, and
  asks the participants it has no report from (``ReportReq``): one that never heard of the
  transaction starts it then, and, suspecting the coordinator, aborts and reports, as the model's
  participant that never voted.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import Any

from ..models.actors import Node
from ..models.schema import Bool, Enum, Id, Record, SetOf, Type, Union, message
from ..models.tcommit import ABORTED, COMMITTED, WORKING
from ..models.threephase import (
    CRASH,
    DECIDED,
    IDLE,
    PARTITION,
    Coordinator,
    Participant,
    Phase,
    Suspect,
    ThreePhase,
    node_configs,
)
from .client import NoReply
from .cluster import ClusterConfig
from .codec import Frame
from .detector import Detector, Probe
from .service import ClientCommand, Option, Service, ServiceSpec
from .tx import Begin, Outcome, Status, StatusReq, TxClient, VoteReq, print_tx, tx_arguments

Decision = Enum("Decision", COMMITTED, ABORTED)


@message
class ReportReq:
    """Backup -> participant: report your phase of this transaction."""


@message
class Alive:
    """A heartbeat (``partitions=1``): any frame proves its sender alive."""


@functools.cache
def model_messages(rms: int) -> Union:
    t = ThreePhase(rms=rms).message_type()
    assert isinstance(t, Union)
    return t


def wire_type(rms: int) -> Type:
    return Union(*model_messages(rms).alts, Record(Begin, no=SetOf(Id("node", rms))), Record(VoteReq, no=Bool),
                 Record(Outcome, decision=Decision), Record(StatusReq), Record(Status, state=Phase),
                 Record(ReportReq), Record(Alive))


def _seconds(cfg: ClusterConfig, name: str, default_ms: int) -> float:
    return int(cfg.params.get(name, default_ms)) / 1000.0


class ThreePhaseNode(Service):
    """The coordinator (node ``rms``) or a participant (nodes ``0..rms-1``) of a 3PC cluster."""

    ask_every = 0.2
    #: Transactions a client waits on (``open_requests``) before a new ``Begin`` is answered ``Busy``.
    max_inflight = 32

    def __init__(self, cfg: ClusterConfig, node_id: int, **kw: Any) -> None:
        self.rms = int(cfg.params.get("rms", len(cfg.nodes) - 1))
        self.tm = self.rms
        self.pause = _seconds(cfg, "pause_ms", 0)
        self.vote_delay = _seconds(cfg, "vote_delay_ms", 0)
        super().__init__(cfg, node_id, **kw)
        self.waiting: dict[int, list[int]] = {}
        self.asking: dict[int, asyncio.TimerHandle] = {}
        self.host.listeners.append(self._stepped)
        others = {n.id: (n.host, n.port) for n in cfg.nodes if n.id != node_id}
        self.detector: Detector | Probe
        if int(cfg.params.get("partitions", 0)):
            self.detector = Detector(list(others), self._ping, self._suspect, every=0.1,
                                     after=_seconds(cfg, "suspect_after_ms", 500))
        else:
            self.detector = Probe(others, self._suspect, every=0.1)

    @property
    def is_tm(self) -> bool:
        return self.id == self.tm

    def open_requests(self) -> int:
        """The coordinator's undecided transactions with a client waiting."""
        return sum(1 for cs in self.waiting.values() if cs)

    def make_node(self) -> Node[Any]:
        c = node_configs(self.rms)[self.id]
        return Coordinator(c) if self.is_tm else Participant(c)

    def model_message_type(self) -> Type:
        return model_messages(self.rms)

    def wire_type(self) -> Type:
        return wire_type(self.rms)

    async def start(self) -> None:
        await super().start()
        self.detector.start()

    async def stop(self) -> None:
        self.detector.stop()
        await super().stop()

    # ----- the failure detector -----
    def _ping(self, peer: int) -> None:
        self.reply(peer, 0, Alive())

    def _suspect(self, peer: int) -> None:
        for inst in list(self.host.states):
            self._hand_suspect(inst, peer)

    def _hand_suspect(self, inst: int, peer: int) -> None:
        """The model's ``suspect(node=me, peer=peer)``: its ``Suspect`` handed to this node."""
        if peer in self.host.states[inst].suspects:
            return
        names = self.cfg.nodes
        self.host.deliver_now(inst, "suspect", {"node": names[self.id].name, "peer": names[peer].name}, Suspect(peer))
        self._advance(inst)

    def _open(self, inst: int) -> None:
        """Start transaction ``inst`` here, with what the detector already suspects."""
        if self.host.has(inst):
            return
        self.host.state(inst)
        for peer in sorted(self.detector.suspected):
            self._hand_suspect(inst, peer)

    # ----- scheduling the model's steps -----
    def _advance(self, inst: int) -> None:
        """Run whichever of this node's own steps became enabled (after ``pause`` on the coordinator)."""
        if self.is_tm:
            if self.pause > 0:
                asyncio.get_running_loop().call_later(self.pause, self._tm_steps, inst)
            else:
                self._tm_steps(inst)
        else:
            self.host.step(inst, "decide")
            self.host.step(inst, "commit")
            self._ask_reports(inst)

    def _tm_steps(self, inst: int) -> None:
        if not self.host.closed:
            self.host.step(inst, "precommit")
            self.host.step(inst, "commit")

    def _stepped(self, inst: int, label: str) -> None:
        if self.is_tm and self.host.states[inst].phase in DECIDED:
            for c in self.waiting.pop(inst, []):
                self.reply(c, inst, Outcome(self.host.states[inst].phase))

    def _ask_reports(self, inst: int) -> None:
        """As backup still missing reports: ask the participants they would come from, until it decides."""
        s = self.host.states[inst]
        node = self.host.node
        assert isinstance(node, Participant)
        missing = [q for q in node.others if q not in s.heard and q not in s.suspects]
        if not (s.stage == IDLE and node.is_backup(s) and missing) or inst in self.asking:
            return
        for q in missing:
            self.reply(q, inst, ReportReq())

        def again() -> None:
            self.asking.pop(inst, None)
            if not self.host.closed:
                self._ask_reports(inst)

        self.asking[inst] = asyncio.get_running_loop().call_later(self.ask_every, again)

    # ----- frames -----
    def on_frame(self, f: Frame) -> None:
        self.detector.heard(f.src)
        if type(f.msg) is Suspect:
            return  # only this node's own detector hands out suspicions
        super().on_frame(f)

    def after_deliver(self, f: Frame) -> None:
        self._advance(f.inst)

    def on_service(self, f: Frame) -> None:
        m, inst = f.msg, f.inst
        if self.is_tm and type(m) is Begin and f.src in self.cfg.client_ids:
            self._begin(f.src, inst, m.no)
        elif not self.is_tm and type(m) is VoteReq and f.src == self.tm:
            self._open(inst)
            vote = "vote_no" if m.no else "vote_yes"
            if self.vote_delay > 0:
                asyncio.get_running_loop().call_later(self.vote_delay, self._vote, inst, vote)
            else:
                self._vote(inst, vote)
        elif not self.is_tm and type(m) is ReportReq and f.src < self.rms:
            self._open(inst)  # a transaction it never heard of: started now, suspicions handed in
        elif not self.is_tm and type(m) is StatusReq:
            s = self.host.states.get(inst)
            self.reply(f.src, inst, Status(WORKING if s is None else s.phase))

    def _vote(self, inst: int, vote: str) -> None:
        if not self.host.closed:
            self.host.step(inst, vote)

    def _begin(self, client: int, inst: int, no: frozenset[int]) -> None:
        s = self.host.states.get(inst)
        if s is not None and s.phase in DECIDED:
            self.reply(client, inst, Outcome(s.phase))
            return
        self.waiting.setdefault(inst, []).append(client)
        self._open(inst)
        votes = self.host.states[inst].votes
        for r in range(self.rms):
            if r not in votes:  # asked again when a client retries: the request is the service's
                self.reply(r, inst, VoteReq(r in no))


class ThreePhaseClient(TxClient):
    """``TxClient`` for 3PC; when the coordinator is gone, the decision is the participants'."""

    def __init__(self, cfg: ClusterConfig, client_id: int | None = None, tm_budget: float = 3.0) -> None:
        super().__init__(cfg, client_id, wire=wire_type(int(cfg.params.get("rms", len(cfg.nodes) - 1))))
        self.tm_budget = tm_budget

    async def commit(self, no: Sequence[int] = (), tx: int | None = None,
                     timeout: float = 20.0) -> tuple[int, str, dict[int, str]]:
        tx = tx if tx is not None else self.new_tx()
        try:
            return await super().commit(no, tx, min(timeout, self.tm_budget))
        except NoReply:
            pass
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout - self.tm_budget)
        while True:
            states = await self.status(tx)
            decided = {r: v for r, v in states.items() if v in DECIDED}
            late = loop.time() > deadline
            if decided and len(decided) == len(states) and len(set(decided.values())) == 1 and (
                    len(states) == self.rms or late):  # by the deadline, whoever answers
                return tx, next(iter(decided.values())), decided
            if late:
                raise NoReply(f"the coordinator did not answer and the participants did not decide transaction "
                              f"{tx} within {timeout}s (their phases: {states})")
            await asyncio.sleep(0.1)


async def _tx(args: Any, cfg: ClusterConfig) -> int:
    return await print_tx(args, ThreePhaseClient(cfg))


def _model(cfg: ClusterConfig) -> tuple[str, dict[str, Any]]:
    failures = PARTITION if int(cfg.params.get("partitions", 0)) else CRASH
    return "protoproof.models.threephase:ThreePhase", {"rms": int(cfg.params["rms"]), "failures": failures}


#: 3PC as a runtime service (``protoproof cluster threephase --rms 3``, ``protoproof tx``).
SERVICE = ServiceSpec(
    name="threephase",
    ref=f"{__name__}:SERVICE",
    node=ThreePhaseNode,
    names=lambda p: [f"rm{i}" for i in range(p["rms"])] + ["tm"],
    model=_model,
    options=(Option("rms", 3, 1, 8, "number of participants"),
             Option("partitions", 0, 0, 1, "1: suspect a peer by heartbeat silence, so a partition can make a live "
                                           "peer suspected (the model's --failures partition); 0: only a peer whose "
                                           "process is gone (--failures crash)")),
    commands=(ClientCommand("tx", "run one 3PC transaction on a threephase cluster", tx_arguments, _tx),),
)


def threephase_cluster(directory: str, rms: int, **kw: Any) -> ClusterConfig:
    params = {"rms": rms, **kw.pop("params", {})}
    return SERVICE.new_cluster(directory, params, **kw)
