"""The sharded key-value store: the key-handoff model's nodes on real processes.

``protoproof cluster sharded --dir D --nodes N --spares S --buckets B --vnodes V`` runs storage
nodes ``s0..s{N+S-1}`` (the first ``N`` in ring version 0, the spares outside it), the model's
config service and a **router** that runs the model's ``Client``.  A router, not smart clients:
the model has one sequential client whose operation numbers order the writes of a key, so the
router is that client; external ``protoproof kv --cluster D put/get`` clients talk to it and
it serves their requests one at a time, in arrival order.

Every state change is a model step (``models/handoff_nodes.py``); the service adds:

- **values**: a model key is a bucket (``impl/sharded_ring.py``) and its value the operation
  number of its latest write.  The user's key and value travel beside the model's messages:
  the router sends ``Payload(op, key, value)`` to every storage node before the model's
  ``Write``/``Read`` of operation ``op``; a node that applies a write stores the row
  ``(bucket, key, op, value)`` durably *before* the model's step persists and acknowledges it
  (beside the key's older row, dropped after that step); a key's value is its latest row whose
  op is at most the bucket's model value (a row written just before a crash, of a write never
  acknowledged, is invisible, and the acknowledged row before it still there);
- **handoff**: before each ``stream`` step of a bucket the old owner sends the bucket's rows
  (``Rows``); the new owner stores them durably and only then lets the model's ``Transfer`` in
  (which persists and acknowledges it); without the rows the transfer is dropped and comes
  again.  On the ack the old owner's model drops the bucket, then the service its rows;
- **scheduling**: storage nodes retransmit (``stream``) and report (``report``) every tick;
  the config service publishes the next version (``change``) once it is in ``rings.json`` and
  the model lets it, and repeats its last ``NewRing`` (a node that was down gets it); the router
  retries its pending operation (``retry``, with its payload) while it waits.

Replication (``--replicas R``, default 1): a model key is a **slot**, replica ``p`` of bucket
``b`` (``slot_of``), owned in each ring version by position ``p`` of the bucket's preference list
of R distinct nodes with stable slots (``sharded_ring.slot_owners``: a node that stays keeps its
slot, a newcomer takes a leaver's).  Each slot is handed off by the model's protocol on its own,
so a membership change moves, per bucket, exactly the slots whose node changed (one when the
preference set changes by one node), and the old holder drops a slot only on the new one's
durable ack.  The router makes a put R model writes, slot 0 first, and acknowledges it only once
all R acknowledged durably (W = R); a get is one model read of slot 0 (R_q = 1, so R_q + W > R:
slot 0 holds every acknowledged write, and reads are per-key linearizable as the model's reads of
slot 0 are).  The price: a put costs R sequential round trips, and a put waits while any of its
R nodes is down (no sloppy quorum, no hinted handoff).

The router and the config service are durable (``RunClient``, ``RunConfigService``: every state
change persisted before what depends on it is sent); the router also keeps its request in
progress and its recent answers in ``router.sqlite3``.  Either may be killed and restarted
(``cluster restart --node``) at any time, during a handoff too: it comes back in the state of its
last step, which to the other nodes is a pause.  Storage nodes may be killed and restarted at any
time.  ``--variant volatile-router`` plants the old, volatile router: restarted, it loses writes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import OrderedDict, deque
from typing import Any

from ..models.actors import Node
from ..models.handoff import DropBeforeAck, RouteReadsEarly, StaleVersionWrite
from ..models.handoff_nodes import (
    IDLE,
    OWN,
    SENDING,
    ClientState,
    Read,
    Storage,
    StoreState,
    Transfer,
    TransferAck,
    Write,
    node_configs,
)
from ..models.schema import Bool, Int, OneOf, Record, Type, Union, message
from .client import NoReply
from .cluster import ClusterConfig
from .codec import Frame, Text
from .kv import KVClient, Reply, Request, check_kv_args, kv_arguments, kv_main
from .service import ClientCommand, Option, Service, ServiceSpec
from .sharded_ring import (
    BIG,
    RINGS_FILE,
    RunClient,
    RunConfigService,
    RunParams,
    bucket_of,
    change_membership,
    init_rings,
    owners,
    read_rings,
    run_message_type,
    run_params,
    slot_of,
    slot_owners,
)

VALUE = Text(8192)
ROWS = Text(1 << 20)


@message
class Payload:
    """Router -> storage: operation ``op`` is on user key ``key`` (a write of ``value``; a read: None)."""

    op: int
    key: str
    value: str | None


@message
class Rows:
    """Old owner -> new owner, before ``Transfer(ver, bucket, val)``: the bucket's rows (JSON)."""

    ver: int
    bucket: int
    val: int
    rows: str


@message
class ReadData:
    """Storage -> router, before the model's ``ReadReply``: the user key's value (None: absent)."""

    op: int
    value: str | None


@message
class StatusReq:
    pass


@message
class Status:
    """A node's ring version and whether its handoffs are done (storage: and the keys it holds)."""

    ver: int
    settled: bool
    keys: int


def wire_type(slots: int) -> Type:
    """The model's messages over ``slots`` model keys (buckets x replicas), and the service's."""
    model = run_message_type(slots)
    assert isinstance(model, Union)
    opt = Union(OneOf(None), VALUE)
    return Union(*model.alts, Record(Request, cmd=Text(16384)), Record(Reply, cid=Text(64), result=opt),
                 Record(Payload, op=Int(0, BIG), key=VALUE, value=opt),
                 Record(Rows, ver=Int(0, BIG), bucket=Int(0, slots - 1), val=Int(0, BIG), rows=ROWS),
                 Record(ReadData, op=Int(0, BIG), value=opt), Record(StatusReq),
                 Record(Status, ver=Int(0, BIG), settled=Bool, keys=Int(0, BIG)))


def storage_count(cfg: ClusterConfig) -> int:
    return len(cfg.nodes) - 2


class ShardedNode(Service):
    """A storage node, the config service or the router of a sharded cluster."""

    tick = 0.1
    max_inflight = 64

    def __init__(self, cfg: ClusterConfig, node_id: int, **kw: Any) -> None:
        self.storage = storage_count(cfg)
        self.buckets = int(cfg.params["buckets"])
        self.replicas = int(cfg.params.get("replicas", 1))
        self.slots = self.buckets * self.replicas
        init_rings(cfg.directory, range(int(cfg.params["nodes"])), self.buckets, int(cfg.params["vnodes"]),
                   self.replicas)
        self.params: RunParams = run_params(cfg.directory, self.storage)
        self.node_cfg = node_configs(self.storage, self.params)[node_id]
        self.role = "storage" if node_id < self.storage else "config" if node_id == self.storage else "router"
        super().__init__(cfg, node_id, **kw)
        self._ticker: asyncio.TimerHandle | None = None
        self.data: sqlite3.Connection | None = None
        if self.role == "storage":
            self.data = sqlite3.connect(str(cfg.node_dir(node_id) / "data.sqlite3"), isolation_level=None)
            self.data.execute("PRAGMA journal_mode=WAL")
            self.data.execute(f"PRAGMA synchronous={'FULL' if cfg.fsync else 'OFF'}")
            # A key's rows by operation: the latest one at or below the bucket's model value is its
            # value; a newer row (its write applied, not yet persisted by the model) stays beside it.
            self.data.execute("CREATE TABLE IF NOT EXISTS rows (bucket INTEGER, key TEXT, op INTEGER, value TEXT,"
                              " PRIMARY KEY (bucket, key, op))")
        #: Storage: the payloads of recent operations (op -> (key, value)); rows received (ver, bucket) -> val.
        self.payloads: OrderedDict[int, tuple[str, str | None]] = OrderedDict()
        self.staged: dict[tuple[int, int], int] = {}
        #: Router: queued requests (client, cid, op, key, value), the one in progress (durable, in
        #: ``router.sqlite3``, with ``first``: the model operation number it began at), answers given.
        self.queue: deque[tuple[int, str, str, str, str | None]] = deque()
        self.current: tuple[int, str, str, str, str | None] | None = None
        self.first = 0
        self.since = 0.0
        self.read_values: dict[int, str | None] = {}
        self.answered: OrderedDict[str, str | None] = OrderedDict()
        self.last_resend = 0.0
        self.rdb: sqlite3.Connection | None = None
        if self.role == "router":
            self.rdb = sqlite3.connect(str(cfg.node_dir(node_id) / "router.sqlite3"), isolation_level=None)
            self.rdb.execute(f"PRAGMA synchronous={'FULL' if cfg.fsync else 'OFF'}")
            self.rdb.execute("CREATE TABLE IF NOT EXISTS current (id INTEGER PRIMARY KEY CHECK (id = 0), src INTEGER,"
                             " cid TEXT, kind TEXT, key TEXT, value TEXT, first INTEGER)")
            self.rdb.execute("CREATE TABLE IF NOT EXISTS answered (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                             " cid TEXT UNIQUE, result TEXT)")
            for cid, res in self.rdb.execute("SELECT cid, result FROM answered ORDER BY seq DESC LIMIT 10000"):
                self.answered[cid] = json.loads(res)
                self.answered.move_to_end(cid, last=False)
            row = self.rdb.execute("SELECT src, cid, kind, key, value, first FROM current").fetchone()
            if row is not None:
                self.current, self.first = (int(row[0]), row[1], row[2], row[3], row[4]), int(row[5])

    def make_node(self) -> Node[Any]:
        if self.role == "storage":
            return PLANTED[int(self.cfg.params.get("planted", 0))](self.node_cfg)
        if self.role == "config":
            return RunConfigService(self.node_cfg)
        return (VolatileRouter if self.cfg.params.get("volatile_router") else RunClient)(self.node_cfg)

    def state_type(self) -> Type | None:
        t: Type = self.make_node().state_type()
        return t

    def disk_type(self) -> Type | None:
        return self.state_type()  # every role's state is durable (``RunClient``, ``RunConfigService``)

    def model_message_type(self) -> Type:
        return run_message_type(self.slots)

    def wire_type(self) -> Type:
        return wire_type(self.slots)

    def st(self) -> Any:
        return self.host.state(0)

    # ----- ticking -----
    def on_recovered(self, insts: list[int]) -> None:
        self.host.state(0)
        self._schedule()
        if self.role == "router":
            self._advance()  # a request in progress when the router was killed goes on

    def _schedule(self) -> None:
        self._ticker = asyncio.get_running_loop().call_later(self.tick, self._on_tick)

    def _on_tick(self) -> None:
        if self.halted is None:
            getattr(self, f"_tick_{self.role}")()
            self._schedule()

    def _tick_storage(self) -> None:
        s: StoreState = self.st()
        for k in self.params.keys:
            if s.st[k] == SENDING:
                dst = self.params.owner(s.ver, k)
                if dst != self.id:
                    rows = json.dumps(self._rows(k, s.val[k]))
                    self.reply(dst, 0, Rows(s.ver, k, s.val[k], rows))
                    self.host.step(0, "stream", k=k)
        self.host.step(0, "report")

    def _tick_config(self) -> None:
        s = self.st()
        self.host.step(0, "change")
        now = time.monotonic()
        if s.ver > 0 and now - self.last_resend > 1.0:  # a node that was down learns the ring
            self.last_resend = now
            for dst in (*range(self.storage), self.storage + 1):
                self.host.resend(dst, 0, self._ring_msg(self.st().ver))

    @staticmethod
    def _ring_msg(ver: int) -> Any:
        from ..models.handoff_nodes import NewRing
        return NewRing(ver)

    def _tick_router(self) -> None:
        s: ClientState = self.st()
        if s.op != IDLE and time.monotonic() - self.since > 0.5:
            self.since = time.monotonic()
            if self.current is not None:
                self._send_payload(s.n, self.current)
            self.host.step(0, "retry", k=s.key)
        self._next()

    # ----- storage -----
    def _rows(self, bucket: int, upto: int) -> list[tuple[str, int, str]]:
        assert self.data is not None
        return [(k, op, v) for k, op, v in self.data.execute(
            "SELECT key, MAX(op), value FROM rows WHERE bucket = ? AND op <= ? GROUP BY key", (bucket, upto))]

    def on_frame(self, f: Frame) -> None:
        if self.halted is not None:
            return
        m, t = f.msg, type(f.msg)
        if self.role == "storage" and f.src in self.transport.addrs and not self.learner:
            s: StoreState = self.st()
            node: Any = self.host.node
            if t is Write and node.applies(s, m.key) and m.op > s.val[m.key]:
                p = self.payloads.get(m.op)
                if p is None or p[1] is None:
                    return  # the router sends the payload again with its retry
                assert self.data is not None
                self.data.execute("INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?)", (m.key, p[0], m.op, p[1]))
                super().on_frame(f)  # the model's step: persisted, then acknowledged
                if self.st().val[m.key] >= m.op:  # the older versions of the key are no longer needed
                    self.data.execute("DELETE FROM rows WHERE bucket = ? AND key = ? AND op < ?", (m.key, p[0], m.op))
                return
            elif t is Read and node.answers(s, m.key):
                p = self.payloads.get(m.op)
                if p is None:
                    return
                got = self.data.execute("SELECT value FROM rows WHERE bucket = ? AND key = ? AND op <= ? ORDER BY op "
                                        "DESC LIMIT 1", (m.key, p[0], s.val[m.key])).fetchone() if self.data else None
                self.reply(self.params.client, 0, ReadData(m.op, None if got is None else got[0]))
            elif t is Transfer and s.st[m.key] != OWN and self.staged.get((m.ver, m.key)) != m.val:
                return  # its rows are not here (yet): the old owner sends both again
            elif t is TransferAck:
                before = s.st[m.key]
                super().on_frame(f)
                if before == SENDING and self.st().st[m.key] != SENDING and self.data is not None:
                    self.data.execute("DELETE FROM rows WHERE bucket = ?", (m.key,))
                return
        super().on_frame(f)
        if self.role == "router" and t in self.model_kinds:
            self._router_after()

    def on_service(self, f: Frame) -> None:
        m, t = f.msg, type(f.msg)
        if t is StatusReq:
            s = self.st()
            settled = self.role != "storage" or self.node.settledat(s)
            held = sum(1 for _ in self._held()) if self.role == "storage" else 0
            self.reply(f.src, 0, Status(s.ver, settled, held))
        elif self.role == "storage" and t is Payload and f.src == self.params.client:
            self.payloads[m.op] = (m.key, m.value)
            while len(self.payloads) > 4096:
                self.payloads.popitem(last=False)
        elif self.role == "storage" and t is Rows and f.src in self.transport.addrs:
            s = self.st()
            if s.st[m.bucket] == OWN or s.st[m.bucket] == SENDING or m.ver < s.ver:
                return
            assert self.data is not None
            rows = json.loads(m.rows)
            self.data.execute("BEGIN")
            self.data.execute("DELETE FROM rows WHERE bucket = ?", (m.bucket,))
            self.data.executemany("INSERT INTO rows VALUES (?, ?, ?, ?)", [(m.bucket, *r) for r in rows])
            self.data.execute("COMMIT")
            self.staged[(m.ver, m.bucket)] = m.val
        elif self.role == "router" and t is ReadData and f.src in self.transport.addrs:
            self.read_values[m.op] = m.value
        elif self.role == "router" and t is Request and f.src in self.cfg.client_ids:
            cmd = json.loads(m.cmd)
            cid = str(cmd["id"])
            if cid in self.answered:
                self.reply(f.src, 0, Reply(cid, self.answered[cid]))
            elif not any(q[1] == cid for q in self.queue) and (self.current is None or self.current[1] != cid):
                self.queue.append((f.src, cid, str(cmd["op"]), str(cmd["k"]), cmd.get("v")))
                self._next()

    @property
    def node(self) -> Any:
        return self.host.node

    def held_slots(self) -> Any:
        """The (slot, user key) pairs this node holds as the slot's authority."""
        assert self.data is not None
        s: StoreState = self.st()
        for b, key, op in self.data.execute("SELECT bucket, key, MIN(op) FROM rows GROUP BY bucket, key"):
            if s.st[b] == OWN and op <= s.val[b]:
                yield b, key

    def _held(self) -> Any:
        return (key for _b, key in self.held_slots())

    # ----- router -----
    def open_requests(self) -> int:
        return len(self.queue)

    def _send_payload(self, op: int, req: tuple[int, str, str, str, str | None]) -> None:
        _src, _cid, kind, key, value = req
        for dst in range(self.storage):
            self.reply(dst, 0, Payload(op, key, value if kind == "put" else None))

    def _next(self) -> None:
        """Take the next queued request: durably the current one (``router.sqlite3``), then its first step."""
        s: ClientState = self.st()
        if self.current is not None or not self.queue or s.op != IDLE:
            return
        self.current, self.first = self.queue.popleft(), s.n + 1
        assert self.rdb is not None
        self.rdb.execute("INSERT OR REPLACE INTO current VALUES (0, ?, ?, ?, ?, ?, ?)", (*self.current, self.first))
        self._advance()

    def _advance(self) -> None:
        """The current request's next model operation, or its answer once it has none left.

        A put is ``replicas`` model writes, one per slot in slot order (operations ``first``,
        ``first + 1``, ...): it is acknowledged once every replica acknowledged it durably (W = R).
        A get is one model read of slot 0 (R_q = 1; R_q + W > R: slot 0 holds every acknowledged
        write), made again if its value was lost with a restart of the router."""
        s: ClientState = self.st()
        if self.current is None or s.op != IDLE:
            return
        _src, _cid, kind, key, _value = self.current
        b = bucket_of(key, self.buckets)
        done = max(0, s.n - self.first + 1)  # model operations of this request completed
        if kind == "put" and done < self.replicas:
            self._send_payload(s.n + 1, self.current)
            self.since = time.monotonic()
            self.host.step(0, "write", k=slot_of(done, b, self.buckets))
        elif kind != "put" and (done == 0 or s.n not in self.read_values):
            self._send_payload(s.n + 1, self.current)
            self.since = time.monotonic()
            self.host.step(0, "read", k=slot_of(0, b, self.buckets))
        else:
            self._answer(self.read_values.pop(s.n, None) if kind != "put" else None)

    def _router_after(self) -> None:
        self._advance()

    def _answer(self, result: str | None) -> None:
        assert self.current is not None and self.rdb is not None
        src, cid, _kind, _key, _value = self.current
        self.read_values.clear()
        self.rdb.execute("BEGIN")
        self.rdb.execute("INSERT OR REPLACE INTO answered (cid, result) VALUES (?, ?)", (cid, json.dumps(result)))
        self.rdb.execute("DELETE FROM current")
        self.rdb.execute("DELETE FROM answered WHERE seq <= (SELECT MAX(seq) FROM answered) - 10000")
        self.rdb.execute("COMMIT")
        self.current = None
        self.answered[cid] = result
        while len(self.answered) > 10000:
            self.answered.popitem(last=False)
        self.reply(src, 0, Reply(cid, result))
        self._next()

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        await super().stop()
        if self.data is not None:
            self.data.close()
        if self.rdb is not None:
            self.rdb.close()


class ShardedClient(KVClient):
    """``put``/``get`` through the router (retried with the same id: the router answers a repeat),
    and any node's ``Status``."""

    def wire(self) -> Type:
        return wire_type(int(self.cfg.params["buckets"]) * int(self.cfg.params.get("replicas", 1)))

    @property
    def node(self) -> int:
        """Every request goes to the router (the last node), the model's one client."""
        return len(self.cfg.nodes) - 1

    @node.setter
    def node(self, _other: int) -> None:
        pass  # a retry after a timeout goes to the router again, not to the next node

    async def status(self, node: int) -> Status:
        f = await self.ep.request(node, 0, StatusReq(), lambda f: f.src == node and type(f.msg) is Status,
                                  self.timeout)
        st: Status = f.msg
        return st



async def _kv(args: Any, cfg: ClusterConfig) -> int:
    return await kv_main(ShardedClient(cfg, budget=args.timeout), args)


async def settle(cfg: ClusterConfig, ver: int, budget: float = 120.0) -> list[Status]:
    """Wait until every storage node is at ring version ``ver`` or later with its handoffs done."""
    c = ShardedClient(cfg, timeout=1.0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    try:
        while True:
            got: list[Status | None] = []
            for i in range(storage_count(cfg)):
                try:
                    got.append(await c.status(i))
                except (TimeoutError, OSError):
                    got.append(None)
            done = [s for s in got if s is not None and s.ver >= ver and s.settled]
            if len(done) == len(got):
                return done
            if loop.time() > deadline:
                behind = [cfg.nodes[i].name for i, s in enumerate(got) if s is None or s not in done]
                raise NoReply(f"the handoff to ring version {ver} did not finish within {budget:.0f}s "
                              f"(not done: {', '.join(behind)})")
            await asyncio.sleep(0.1)
    finally:
        await c.close()


async def _membership(cfg: ClusterConfig, join: bool, node: int | None) -> int:
    """``cluster sharded --join`` / ``--leave I``: append the next ring version, wait for its handoff."""
    if not (cfg.directory / RINGS_FILE).exists():
        raise ValueError(f"{cfg.directory} has no {RINGS_FILE}: start the cluster first")
    doc = read_rings(cfg.directory)
    before = doc["versions"][-1]
    after = change_membership(cfg.directory, range(storage_count(cfg)), join, node)
    ver = len(doc["versions"])
    b, v, r = int(doc["buckets"]), int(doc["vnodes"]), int(doc.get("replicas", 1))
    names = ", ".join(cfg.nodes[i].name for i in after)
    if r == 1:
        moved = sum(x != y for x, y in zip(owners(before, b, v), owners(after, b, v), strict=True))
        print(f"ring version {ver}: {names}; {moved} of {b} buckets move", flush=True)
    else:
        *_, old, new = slot_owners([*doc["versions"], after], b, v, r)
        moved = sum(x != y for x, y in zip(old, new, strict=True))
        print(f"ring version {ver}: {names}; {moved} of {b * r} replica slots ({b} buckets x {r}) move",
              flush=True)
    await settle(cfg, ver)
    print(f"handoff to ring version {ver} done")
    return 0


class VolatileRouter(RunClient):
    """Planted bug ``volatile-router``: the router comes back from a restart with its start state
    (operation numbers from 0 again, as the router before issue 14 would have), so storage nodes
    take its next writes for ones they applied already and acknowledge them without applying:
    acknowledged writes are lost.  Trace validation names the recovery; reads see old values."""

    def on_recover(self, disk: ClientState) -> tuple[ClientState, Any]:
        return self.on_start()


#: The storage node's class: the model's, or one of its planted bugs (``--variant``), which the
#: runtime then runs for real (trace validation against the correct model names the bad step).
PLANTED: tuple[type[Storage], ...] = (Storage, DropBeforeAck.storage_class, RouteReadsEarly.storage_class,
                                      StaleVersionWrite.storage_class)
PLANTED_NAMES = ("none", "drop-before-ack", "route-reads-early", "stale-version-write")


def _names(p: Any) -> list[str]:
    if p.get("replicas", 1) > p["nodes"]:
        raise ValueError(f"--replicas {p['replicas']}: a bucket's preference list needs that many nodes in the "
                         f"first ring (--nodes {p['nodes']})")
    return [f"s{i}" for i in range(p["nodes"] + p["spares"])] + ["config", "router"]


def _model(cfg: ClusterConfig) -> tuple[str, dict[str, Any]]:
    return (f"{ShardedRun.__module__}:ShardedRun",
            {"nodes": storage_count(cfg), "keys": int(cfg.params["buckets"]) * int(cfg.params.get("replicas", 1)),
             "directory": str(cfg.directory)})


from .sharded_ring import ShardedRun  # noqa: E402  (named in _model only)

#: The sharded store as a runtime service (``protoproof cluster sharded``, ``protoproof kv``).
SERVICE = ServiceSpec(
    name="sharded",
    ref=f"{__name__}:SERVICE",
    node=ShardedNode,
    names=_names,
    model=_model,
    options=(Option("nodes", 3, 1, 16, "storage nodes in the first ring"),
             Option("spares", 1, 0, 16, "storage nodes outside the first ring (--join adds them)"),
             Option("buckets", 64, 1, 4096, "buckets: the ring's unit of placement and handoff"),
             Option("vnodes", 64, 1, 1000, "virtual nodes per storage node"),
             Option("replicas", 1, 1, 5, "replicas of each bucket (its preference list; a put waits for all)"),
             Option("planted", 0, 0, len(PLANTED) - 1, "a planted bug of the model, by number (see --variant)"),
             Option("volatile_router", 0, 0, 1, "planted bug: the router forgets its state on a restart")),
    commands=(ClientCommand("kv", "put/get on a sharded KV cluster", kv_arguments, _kv, check_kv_args),),
    membership=_membership,
    variants={**{name: {"planted": k} for k, name in enumerate(PLANTED_NAMES) if k},
              "volatile-router": {"volatile_router": 1}},
)


def sharded_cluster(directory: str, nodes: int = 3, spares: int = 1, **kw: Any) -> ClusterConfig:
    params = {"nodes": nodes, "spares": spares, **kw.pop("params", {})}
    return SERVICE.new_cluster(directory, params, **kw)


__all__ = ["SERVICE", "ShardedClient", "ShardedNode", "settle", "sharded_cluster", "wire_type"]
