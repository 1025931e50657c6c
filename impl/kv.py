"""A replicated key-value store on multi-instance Paxos: one single-decree instance per log slot.

Every node is an acceptor running the model's verified ``Acceptor`` handlers (one instance
per slot, its promise and vote made durable before it answers) and a proposer.  The model's
leaders read their inbox; a real proposer has to collect 1b replies itself, so it keeps them
per (slot, ballot) and then asks the model's very ``Leader.phase2a`` for the 2a — the value
rule (free, or the vote with the highest ballot) is the verified one, not a copy.

Values are commands (JSON text with a unique id); the log is applied in slot order and a
command decided in two slots (a client retried through another proposer) takes effect once.
Reads go through the log too, which is what makes the history linearizable.

Ballots: proposer ``i`` uses ballots ``b`` with ``b % n == i``, always above every ballot it has
seen for the slot and above its own acceptor's promise; it delivers its own 1a to its own
acceptor first, so that promise (durable) also keeps it from reusing a ballot after a crash.

The runtime's protocol declaration is ``SERVICE`` (the ``kv`` client command, the cluster's
``--nodes``), and its traces replay through ``KVPaxos``: the model's Paxos messages, acceptor
and leader steps on n nodes that each accept and, by turns, lead (``KVPeer``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sys
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..models.actors import Broadcast, Effect, Envelope, Node, NodeConfig, Persist, Send, peers
from ..models.base import Refinement, transition
from ..models.paxos import Acc, Acceptor, Ldr, Leader, OneA, OneB, Paxos, PaxosParams, TwoA, TwoB, majorities
from ..models.schema import Int, OneOf, Record, Type, Union, message
from .argtypes import positive_float
from .client import Endpoint, NoReply
from .cluster import ClusterConfig
from .codec import Frame, Text, widen
from .kv_catchup import CatchUp, catchup_types
from .service import ClientCommand, Option, Service, ServiceSpec
from .storage import Store

log = logging.getLogger("protoproof.impl")

BIG = 2**53
VALUE = Text(8192)


#: An acceptor's state at run time: ballots are unbounded, values are commands.
ACC_TYPE = Record(Acc, max_bal=Int(-1, BIG), max_vbal=Int(-1, BIG), max_val=Union(OneOf(None), VALUE))


def node_config(n: int, i: int) -> NodeConfig:
    """Node ``i`` of ``n``: every node is an acceptor and, by turns, the leader (ballot ``b``: node ``b % n``)."""
    ids = peers(acceptor=range(n), leader=range(n))
    return NodeConfig(i, f"a{i}", ids, PaxosParams(majorities(n), (), ACC_TYPE))


Out = tuple[Any, Sequence[Effect]] | None


class KVPeer(Acceptor):
    """A KV node as the model sees it: the model's acceptor, and the leader of ballots ``b % n == id``.

    Its leader steps are the model's ``Leader.phase1a``/``phase2a`` for the given ballot, reading
    the 1bs sent to it (``reads_inbox``); "already proposed in this ballot" is, as in the model,
    "a 2a of this ballot is in the message set" (the proposer sends its 2a to itself too).  The
    steps leave the acceptor state alone: the runtime calls them, records them and sends their
    messages itself (``Host.traced_step``); the validator replays them through ``KVPaxos``.
    """

    reads_inbox = True
    inbox_types = (OneB, TwoA)

    def ballots(self) -> tuple[int, ...]:
        return ()  # unbounded at run time: the proposer picks them, nothing to enumerate

    def values(self) -> Sequence[Any]:
        return self.params.values  # commands: the client's, nothing to enumerate

    @transition(bal="ballots")
    def phase1a(self, s: Acc, inbox: frozenset[Any], bal: int) -> Out:
        if self.leader(bal) != self.id:
            return None
        r = Leader(self.config, bal).phase1a(Ldr(False), inbox)
        return None if r is None else (s, r[1])

    @transition(bal="ballots", v="values")
    def phase2a(self, s: Acc, inbox: frozenset[Any], bal: int, v: Any) -> Out:
        if self.leader(bal) != self.id:
            return None
        proposed = any(type(m) is TwoA and m.bal == bal for m in inbox)
        ones = frozenset(m for m in inbox if type(m) is OneB)
        r = Leader(self.config, bal).phase2a(Ldr(proposed), ones, v)
        return None if r is None else (s, tuple(e for e in r[1] if type(e) is not Persist))


# The model's acceptor persists its promise and vote before it answers (models/paxos.py).
DurableAcceptor = KVPeer


class KVPaxos(Paxos):
    """The model a KV trace replays through: ``KVPeer`` nodes, commands as values, any ballot.

    Its ``agreement`` is Paxos's own property; ``chosen`` reads the 2b votes in the message set
    (the model's enumerates its bounded ballots and values, which a KV run does not have).
    """

    name = "kv-paxos"

    def _validate_config(self) -> None:
        if self.config.acceptors < 1:
            raise ValueError("--acceptors must be at least 1")

    def nodes(self) -> list[Node[Any]]:
        n = self.config.acceptors
        self.acceptor_ids = tuple(range(n))
        self.quorum_list = list(majorities(n))
        self.acc_type = ACC_TYPE
        return [KVPeer(node_config(n, i)) for i in range(n)]

    def leader(self, ballot: int) -> int:
        return ballot % self.config.acceptors

    def message_type(self) -> Type:
        return model_message_type(self.config.acceptors)

    def envelopes(self) -> list[Envelope]:
        return []  # unbounded: a replay adds what was sent, nothing is enumerated

    def symmetry(self) -> dict[str, list[list[int]]] | None:
        return None

    def refinements(self) -> list[Refinement]:
        return []  # Consensus is declared over a bounded set of values

    def inbox(self, s: Any, i: int) -> frozenset[Any]:
        return frozenset(e.msg for e in s.net if e.dst == i and type(e.msg) in (OneB, TwoA))

    def chosen(self, s: Any) -> frozenset[Any]:
        votes: dict[tuple[int, Any], set[int]] = defaultdict(set)
        for e in s.net:
            if type(e.msg) is TwoB and e.dst == self.leader(e.msg.bal):
                votes[(e.msg.bal, e.msg.val)].add(e.msg.acc)
        return frozenset(v for (_b, v), accs in votes.items() if any(q <= accs for q in self.quorum_list))


def parse_command(text: str) -> dict[str, Any] | None:
    """A KV command (``{"id", "op": put|get, "k", "v"}``), or None if malformed."""
    try:
        cmd = json.loads(text)
    except ValueError:
        return None
    ok = isinstance(cmd, dict) and isinstance(cmd.get("id"), str) and cmd.get("op") in ("put", "get") \
        and isinstance(cmd.get("k"), str) and (cmd["op"] == "get" or isinstance(cmd.get("v"), str))
    return cmd if ok else None


def execute(cmd: dict[str, Any], kv: dict[str, str], results: dict[str, str | None]) -> str:
    """Apply a decided command to ``kv`` once (a command decided twice takes effect once); its id.
    Its result (a get's value, None for a put or any other op) is kept in ``results``."""
    cid: str = cmd["id"]
    if cid not in results:
        if cmd["op"] == "put":
            kv[cmd["k"]] = cmd["v"]
            results[cid] = None
        elif cmd["op"] == "get":
            results[cid] = kv.get(cmd["k"])
        else:
            results[cid] = None
    return cid


@message
class Request:
    cmd: str


@message
class Reply:
    cid: str
    result: str | None


@message
class Decide:
    val: str


def _wide(name: str, t: Type) -> Type | None:
    if name == "bal":
        return Int(0, BIG)
    if name == "mbal":
        return Int(-1, BIG)
    if name == "val":
        return VALUE
    if name == "mval":
        return Union(OneOf(None), VALUE)
    return None


def model_message_type(n: int) -> Type:
    return widen(Paxos(acceptors=n).message_type(), _wide)


def wire_type(n: int) -> Type:
    model = model_message_type(n)
    assert isinstance(model, Union)
    return Union(*model.alts, Record(Request, cmd=VALUE), Record(Reply, cid=Text(64), result=Union(OneOf(None), VALUE)),
                 Record(Decide, val=VALUE), *catchup_types(VALUE))


@dataclass
class Proposal:
    bal: int
    ones: dict[int, Any] = field(default_factory=dict)
    twos: set[int] = field(default_factory=set)
    phase1: asyncio.Event = field(default_factory=asyncio.Event)
    phase2: asyncio.Event = field(default_factory=asyncio.Event)
    preempted: bool = False


class KVNode(Service, CatchUp):
    """One node of the KV store: acceptor for every slot, proposer, learner, state machine.

    With group commit (the default) the acceptor's Persists of one event-loop turn, the slots it
    learned and its compactions are one transaction (``Host.stage``), and everything it sends
    waits for that commit (``reply``): a message never reveals a state a crash could still lose.
    """

    rejoins = True
    phase_timeout = 0.3
    request_budget = 3.0
    catchup_every = 0.5

    def __init__(self, cfg: ClusterConfig, node_id: int, **kw: Any) -> None:
        self.n = len(cfg.nodes)
        #: One transaction per event-loop turn (``--group-commit 0``: one per write, the old way).
        self.group_commit = bool(int(cfg.params.get("group_commit", 1)))
        self.node_cfg = node_config(self.n, node_id)
        self.quorums = self.node_cfg.params.quorums
        super().__init__(cfg, node_id, **kw)
        self.log: dict[int, str] = {}
        self.applied = 0
        self.kv: dict[str, str] = {}
        self.results: dict[str, str | None] = {}
        self.waiters: dict[str, asyncio.Future[str | None]] = {}
        self.seen: dict[int, int] = {}
        self.proposals: dict[int, Proposal] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.disagreements = 0
        self._catchup: asyncio.TimerHandle | None = None
        self.catchup_init()

    def make_node(self) -> Node[Any]:
        return KVPeer(self.node_cfg)

    def model_message_type(self) -> Type:
        return model_message_type(self.n)

    def wire_type(self) -> Type:
        return wire_type(self.n)

    def state_type(self) -> Type:
        return ACC_TYPE

    def open_requests(self) -> int:
        return len(self.tasks)

    def reply(self, dst: int, inst: int, msg: Any) -> None:
        """Every message the service sends itself (a proposer's 1a/2a to its peers, ``Decide``, a
        client's ``Reply``, catch-up) leaves once what was persisted or staged before it is
        committed: a 1a or 2a never before its own acceptor's promise or vote, a reply never
        before the decided slot is on disk (``Host.after_commit``)."""
        self.host.after_commit(lambda: Service.reply(self, dst, inst, msg))

    # ----- learning and applying -----
    def on_recovered(self, insts: list[int]) -> None:
        self.load_snapshot()
        for slot, val in sorted(self.store.log_load().items()):
            if slot >= self.base:
                self.log[slot] = val
        self._apply()
        if self.learner:
            self.request_state()
        else:
            self.ask()  # at once: a restarted node is behind by what it missed
        self._schedule_catchup()

    def learn(self, slot: int, val: str) -> None:
        if slot < self.base:
            return
        old = self.log.get(slot)
        if old is not None:
            if old != val:
                self.disagreements += 1
                self.halt(f"slot {slot} decided twice: {old!r} then {val!r}")
            return
        self.log[slot] = val
        self.host.stage(Store.log_statements([(slot, val)]))  # in the group's transaction
        p = self.proposals.get(slot)
        if p is not None:
            p.preempted = True
            p.phase1.set()
            p.phase2.set()
        self._apply()

    def _apply(self) -> None:
        while self.applied in self.log:
            cid = execute(json.loads(self.log[self.applied]), self.kv, self.results)
            w = self.waiters.pop(cid, None)
            if w is not None and not w.done():
                w.set_result(self.results[cid])
            self.applied += 1
        self.maybe_compact()

    def _schedule_catchup(self) -> None:
        def tick() -> None:
            if self.learner:
                self.request_state()
            else:
                self.ask()
            self._catchup = asyncio.get_running_loop().call_later(self.catchup_every, tick)

        self._catchup = asyncio.get_running_loop().call_later(self.catchup_every, tick)

    # ----- proposing -----
    def _send_effects(self, slot: int, effects: Sequence[Effect]) -> None:
        """Send a leader's effects, to our own acceptor first (its promise is our ballot's record)."""
        for e in effects:
            dsts = e.dsts if isinstance(e, Broadcast) else (e.dst,) if isinstance(e, Send) else ()
            msg = e.msg if isinstance(e, (Broadcast, Send)) else None
            if self.id in dsts:
                self.host.deliver(self.id, slot, msg)
                self._note(slot, msg)
            for d in dsts:
                if d != self.id:
                    self.reply(d, slot, msg)

    def _note(self, slot: int, msg: Any) -> None:
        """Remember the highest ballot seen for a slot; a higher one preempts our proposal."""
        bal = msg.bal
        if bal > self.seen.get(slot, -1):
            self.seen[slot] = bal
        p = self.proposals.get(slot)
        if p is not None and bal > p.bal:
            p.preempted = True
            p.phase1.set()
            p.phase2.set()

    def _next_ballot(self, slot: int) -> int:
        own = self.host.states.get(slot)
        floor = max(self.seen.get(slot, -1), own.max_bal if own is not None else -1)
        b = floor + 1
        return b + (self.id - b) % self.n

    async def run_instance(self, slot: int, cmd: str) -> str | None:
        """One Paxos round for ``slot`` proposing ``cmd``: the decided value, or None if it failed."""
        if slot in self.log:
            return self.log[slot]
        bal = self._next_ballot(slot)
        p = self.proposals[slot] = Proposal(bal)
        try:
            effects = self.host.traced_step(slot, "phase1a", frozenset(), bal=bal)
            assert effects is not None
            self._send_effects(slot, effects)
            await asyncio.wait_for(p.phase1.wait(), self.phase_timeout)
            if slot in self.log:
                return self.log[slot]
            if p.preempted:
                return None
            inbox = frozenset(p.ones.values())
            votes = [m for m in inbox if m.mbal >= 0]
            v = max(votes, key=lambda m: m.mbal).mval if votes else cmd
            effects = self.host.traced_step(slot, "phase2a", inbox, bal=bal, v=v)
            if effects is None:
                log.error("node %s: the model's phase2a refused %r for slot %s", self.id, v, slot)
                return None
            self._send_effects(slot, effects)
            await asyncio.wait_for(p.phase2.wait(), self.phase_timeout)
            if slot in self.log:
                return self.log[slot]
            if p.preempted:
                return None
            self.learn(slot, v)
            for d in range(self.n):
                if d != self.id:
                    self.reply(d, slot, Decide(v))
            return v
        except TimeoutError:
            return None
        finally:
            if self.proposals.get(slot) is p:
                del self.proposals[slot]

    def _free_slot(self) -> int:
        s = self.applied
        while s in self.log or s in self.proposals:
            s += 1
        return s

    async def handle_request(self, client: int, cmd: str) -> None:
        cid = json.loads(cmd)["id"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.request_budget
        if not self.caught_up.is_set():  # a restarted node: first the slots it missed, not one by one
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.caught_up.wait(), self.phase_timeout * 3)
        w = self.waiters.get(cid)
        if w is None:
            w = self.waiters[cid] = loop.create_future()
        attempt = 0
        while cid not in self.results and loop.time() < deadline:
            slot = self._free_slot()
            v = await self.run_instance(slot, cmd)
            if v == cmd:
                break
            if v is None:
                attempt += 1
                await asyncio.sleep(random.uniform(0, 0.01 * min(attempt, 10)))
        if cid in self.results:
            self.reply(client, 0, Reply(cid, self.results[cid]))
            return
        try:
            result = await asyncio.wait_for(asyncio.shield(w), max(0.0, deadline - loop.time()))
        except TimeoutError:
            return  # the client retries elsewhere
        self.reply(client, 0, Reply(cid, result))

    # ----- frames -----
    def after_deliver(self, f: Frame) -> None:
        m, slot = f.msg, f.inst
        if type(m) in (OneA, TwoA):
            self._note(slot, m)
            return
        p = self.proposals.get(slot)
        if p is None or m.bal != p.bal:
            return
        if type(m) is OneB:
            p.ones[m.acc] = m
            if any(q <= p.ones.keys() for q in self.quorums):
                p.phase1.set()
        elif type(m) is TwoB:
            p.twos.add(m.acc)
            if any(q <= p.twos for q in self.quorums):
                p.phase2.set()

    def on_frame(self, f: Frame) -> None:
        m = f.msg
        if type(m) in (OneA, TwoA) and f.src in self.transport.addrs and self.halted is None \
                and (f.inst < self.base or f.inst in self.log):
            # decided here: answer with the decision, never with a vote (the acceptor may have
            # forgotten the slot: compacted, or a learner that lost its store)
            if f.inst in self.log:
                self.reply(f.src, f.inst, Decide(self.log[f.inst]))
            return
        super().on_frame(f)

    def on_service(self, f: Frame) -> None:
        m = f.msg
        if type(m) is Request and f.src in self.cfg.client_ids:
            if self.learner:
                return  # it serves once it has rejoined; the client tries another node
            cmd = parse_command(m.cmd)
            if cmd is None or not owned_by(cmd, f.src):
                self.transport._reject(f.src, "malformed KV command, or a command id of another client")
                return
            if cmd["id"] in self.results:
                self.reply(f.src, 0, Reply(cmd["id"], self.results[cmd["id"]]))
                return
            t = asyncio.get_running_loop().create_task(self.handle_request(f.src, m.cmd))
            self.tasks.add(t)
            t.add_done_callback(self.tasks.discard)
        elif f.src in self.transport.addrs:
            if type(m) is Decide:
                self.learn(f.inst, m.val)
            else:
                self.on_catchup(f)

    async def stop(self) -> None:
        if self._catchup is not None:
            self._catchup.cancel()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await super().stop()


def owned_by(cmd: dict[str, Any], client: int) -> bool:
    """A command id names the client that sent it (``"<client id>:<unique>"``): a client, whose
    frames are signed with a key bound to its id, cannot reuse another's command ids (to read its
    results or to make a retry of it look done)."""
    return str(cmd["id"]).startswith(f"{client}:")


def no_answer(what: str, budget: float, writes: bool) -> str:
    """Why a request got no answer, as far as the client can tell: a node without a quorum holds a
    write and may apply it later, and a node drops (and only logs) a frame it cannot authenticate."""
    out = f"no answer to {what} within {budget}s"
    if writes:
        out += "; it may still take effect once a quorum is back (read the key to know)"
    return out + ("; if the nodes are running, check --credentials (a node drops a frame it cannot "
                  "authenticate and says so in its node.log)")


class KVClient:
    """``put``/``get`` with a unique id per command; retries through the next node on timeout.

    A subclass may accept other answers than ``Reply`` (``answers``) and say where to go next
    on one (``redirected``), and talk another wire type (``wire``).
    """

    answers: tuple[type, ...] = (Reply,)
    #: The longest command text (JSON) a request carries: the wire's ``Request.cmd``.
    max_command = VALUE.max_len
    #: The pause after a node did not answer in time, before the next one is tried.
    retry_pause = 0.05

    def __init__(self, cfg: ClusterConfig, client_id: int | None = None, prefer: int = 0,
                 timeout: float = 2.0, budget: float = 60.0) -> None:
        self.cfg = cfg
        self.n = len(cfg.nodes)
        self.ep = Endpoint(cfg, self.wire(), client_id)
        self.node = prefer % self.n
        self.timeout, self.budget = timeout, budget
        self.retries = 0

    def wire(self) -> Type:
        return wire_type(self.n)

    async def redirected(self, answer: Any) -> None:
        """An answer other than ``Reply`` came: choose ``self.node`` for the next try."""

    async def _run(self, cmd: dict[str, Any]) -> str | None:
        cid = cmd["id"] = f"{self.ep.id}:{uuid.uuid4().hex}"  # bound to this client (``owned_by``)
        text = json.dumps(cmd)
        if len(text) > self.max_command:  # the wire's bound is on the JSON text, not on the value
            raise ValueError(f"{cmd['op']} {cmd['k']!r}: the request is {len(text):,} characters as JSON, over the "
                             f"{self.max_command:,} a request carries (a non-ASCII character takes 6); shorten it")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.budget
        while loop.time() < deadline:
            try:
                f = await self.ep.request(self.node, 0, Request(text),
                                          lambda f: type(f.msg) in self.answers and f.msg.cid == cid, self.timeout)
            except (TimeoutError, OSError):
                self.retries += 1
                self.node = (self.node + 1) % self.n
                await asyncio.sleep(self.retry_pause)
                continue
            if type(f.msg) is Reply:
                result: str | None = f.msg.result
                return result
            self.retries += 1
            await self.redirected(f.msg)
        raise NoReply(no_answer(f"{cmd['op']} {cmd['k']!r}", self.budget, writes=cmd["op"] != "get"))

    async def put(self, key: str, value: str) -> None:
        await self._run({"op": "put", "k": key, "v": value})

    async def get(self, key: str) -> str | None:
        return await self._run({"op": "get", "k": key})

    async def close(self) -> None:
        await self.ep.close()


async def _kv(args: Any, cfg: ClusterConfig) -> int:
    return await kv_main(KVClient(cfg, budget=args.timeout), args)


def check_kv_args(args: Any) -> None:
    """``kv get`` takes a key, ``kv put`` a key and a value (one-line ``ValueError`` otherwise)."""
    if args.op == "get" and args.value is not None:
        raise ValueError(f"kv get takes a key only; drop {args.value!r}")
    if args.op == "put" and args.value is None:
        raise ValueError("kv put needs a value")


async def kv_main(c: Any, args: Any) -> int:
    """``kv put|get`` with a client that has ``put``, ``get`` and ``close`` (closed here)."""
    try:
        check_kv_args(args)
        if args.op == "put":
            await c.put(args.key, args.value)
            print("ok")
        else:
            v = await c.get(args.key)
            if v is None:
                print(f"{args.key}: not found", file=sys.stderr)
                return 1
            print(v)
        return 0
    finally:
        await c.close()


def kv_arguments(p: Any) -> None:
    p.add_argument("op", choices=["put", "get"])
    p.add_argument("key")
    p.add_argument("value", nargs="?")
    p.add_argument("--timeout", type=positive_float, default=30.0)


#: The Paxos KV store as a runtime service (``protoproof cluster paxos --nodes 3``, ``protoproof kv``).
SERVICE = ServiceSpec(
    name="paxos",
    ref=f"{__name__}:SERVICE",
    node=KVNode,
    names=lambda p: [f"a{i}" for i in range(p["nodes"])],
    model=lambda cfg: (f"{__name__}:KVPaxos", {"acceptors": len(cfg.nodes)}),
    options=(Option("nodes", 3, 1, 9, "number of nodes (acceptors and proposers)"),
             Option("group_commit", 1, 0, 1, "1: the writes of one event-loop turn in one transaction (one "
                    "fsync), their messages sent after it; 0: one transaction per write")),
    commands=(ClientCommand("kv", "put/get on a Paxos KV cluster", kv_arguments, _kv, check_kv_args),),
)


def paxos_cluster(directory: str, nodes: int, group_commit: bool = True, **kw: Any) -> ClusterConfig:
    return SERVICE.new_cluster(directory, {"nodes": nodes, "group_commit": int(group_commit)}, **kw)
