"""A Chubby-style lease lock with fencing tokens, on clocks that drift within a bound.

Nodes (ids fixed so the runtime can use them): the master (node 0), the storage (node 1), the
clients (nodes 2 .. clients + 1) and, with ``failover``, a standby master (the last node).

- The master grants the lock to a client that asks while nobody holds a lease it still counts
  as running (on *its* clock: ``expires = grant time + lease``), with a fresh fencing token
  (Chubby's sequencer: the tokens only grow), and renews the holder's lease on a keep-alive that
  carries the current token while it is still running.
- A client counts its lease from the time it *asked*, on its own clock, and believes it holds
  the lock while its clock is below ``asked + lease - margin``.  A grant echoes the ask time of
  its request, so a client takes only the grant of its latest request, and a late grant only
  shortens the lease it believes in: lease safety needs no bound on message delay.
- While it believes it holds the lock a client may write to the storage with its token; the
  storage rejects a token lower than the highest it has accepted (fencing).  A write sent while
  the lease ran and delivered after it ran out is the "process pause" of the classic failure.
- Failover: the master may step down (it crashed or lost its mastership) at any time; the
  election hands the standby the last token (it is in Chubby's replicated database), and the
  standby grants nothing before its clock has run for a grace period: the longest lease the old
  master could have granted.

Time is ``models.environment.Clock``: real time ticks, each clock stays within ``drift`` of it.
The network is the grow-only message set (any message may arrive late, again and again), so the
z3 engines take the model; ``--delay d`` instead bounds message delay by ``d`` ticks on a
consuming bag (the explicit checker only).  Planted bugs: ``no-margin``, ``no-fencing``,
``failover-without-grace``, ``renew-after-expiry``.

Liveness (``another_acquires``, with ``fairness()``): if the holder crashes while the horizon
leaves ``room()``, a client that keeps asking acquires.  It needs the master to ignore a request
whose lease is already over on every clock (``Master.answers``); without that (``regrant-stale``)
the master re-grants the crashed holder's old ask again and again.  ``--crash clients`` lets
only clients crash (crash-stop), which is the property's question and keeps the graph small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .actors import ActorSystem, Effect, Envelope, Faults, Node, NodeConfig, Persist, Send, peers
from .base import always, explains, leads_to, sometimes, transition, variant
from .environment import Clock, clock_of
from .networks import DuplicatingSet, Network, UnorderedBag
from .registry import Protocol
from .schema import Bool, Int, Record, Type, Union, message

NONE = -1
Out = tuple[Any, Sequence[Effect]] | None


@message
class Request:
    """Client -> master, asked at ``at`` on the client's clock: keep the lease of ``token`` alive,
    or grant the lock (``token`` 0, or a lease the master no longer counts as running)."""

    at: int
    token: int


@message
class Grant:
    """Master -> client: the lock with fencing token ``token``, for the request made at ``at``."""

    at: int
    token: int


@message
class Elected:
    """Old master -> standby (the election's outcome): you are the master; ``token`` is the last
    token issued."""

    token: int


@message
class Write:
    """Client -> storage: a write fenced by the writer's token."""

    token: int


class MasterState(NamedTuple):
    active: bool  # serving as the master
    holder: int  # node id of the client it granted the lock to (NONE: none)
    expires: int  # on the master's clock: the holder's lease runs until then
    token: int  # the last fencing token issued
    grace: int  # on the master's clock: no grant before it (a standby's grace period)


class ClientState(NamedTuple):
    asked: int  # the client's clock at its latest request (NONE: no request pending)
    until: int  # it believes it holds the lock while its clock is below this
    token: int  # the token of the lease it holds or last held (0: never held one)


class StorageState(NamedTuple):
    high: int  # the highest token of an accepted write
    last: int  # the token of the last accepted write


@dataclass(frozen=True)
class LeaseParams:
    """What the nodes are told: the timing parameters and the knobs, and the types of times and
    tokens (bounded in the model, unbounded at run time)."""

    lease: int
    margin: int
    grace: int  # how long a new master waits before granting: the longest lease the old one granted
    fencing: bool
    time: Type  # a clock reading
    until: Type  # a clock reading plus a lease
    tokens: Type
    max_token: int | None = None  # the model's bound (never reached: see ``Lease.max_token``); None at run time
    drift: int | None = None  # the clocks' skew bound, for ``Master.answers`` (None: unknown, answer every request)


def node_configs(clients: int, failover: bool, params: LeaseParams) -> list[NodeConfig]:
    """Master 0, storage 1, clients 2 .. clients + 1, the standby last: the model's and the runtime's."""
    cs = tuple(range(2, clients + 2))
    masters = (0, clients + 2) if failover else (0,)
    ids = peers(master=masters, storage=(1,), client=cs)
    return [NodeConfig(0, "master", ids, params), NodeConfig(1, "storage", ids, params),
            *(NodeConfig(c, f"c{c - 2}", ids, params) for c in cs),
            *([NodeConfig(clients + 2, "standby", ids, params)] if failover else [])]


class Master(Node[MasterState]):
    """The lock service; the primary starts serving, the standby waits to be elected."""

    role = "master"
    reads_clock = True

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.p: LeaseParams = config.params
        masters = config.ids("master")
        self.primary = self.id == masters[0]
        self.standby = masters[1] if self.primary and len(masters) > 1 else None

    def state_type(self) -> Type:
        p = self.p
        return Record(MasterState, active=Bool, holder=Int(NONE, max(self.config.ids("client"))),
                      expires=p.until, token=p.tokens, grace=p.until)

    def on_start(self) -> tuple[MasterState, Sequence[Effect]]:
        return MasterState(self.primary, NONE, 0, 0, 0), ()

    # The master's state is in the replicated database: a crash of the process loses nothing.
    def disk_type(self) -> Type:
        return self.state_type()

    def durable(self, s: MasterState) -> MasterState:
        return s

    def on_recover(self, disk: MasterState) -> tuple[MasterState, Sequence[Effect]]:
        return disk, ()

    def answers(self, at: int, now: int) -> bool:
        """A request asked at ``at`` on its client's clock is answered only while its grant could
        still bring a lease: the client counts it from ``at``, so once ``at + lease <= now - 2 *
        drift`` its lease is over on every clock.  Answering it would only tie the lock to a client
        that may have crashed (the liveness bug ``regrant-stale``): it may no longer be asking."""
        return self.p.drift is None or at + self.p.lease > now - 2 * self.p.drift

    def may_renew(self, s: MasterState, src: int, token: int, now: int) -> bool:
        """A keep-alive renews only the current holder's running lease."""
        return s.holder == src and token == s.token and now < s.expires

    def on_message(self, s: MasterState, src: int, msg: Any, now: int = 0) -> Out:
        if type(msg) is Elected:
            if s.active or s.token > msg.token:
                return None
            return MasterState(True, NONE, 0, msg.token, now + self.p.grace), (Persist(),)
        if type(msg) is not Request or not s.active or not self.answers(msg.at, now):
            return None
        if msg.token and self.may_renew(s, src, msg.token, now):
            return s._replace(holder=src, expires=now + self.p.lease), (Persist(), Send(src, Grant(msg.at, msg.token)))
        if now < s.grace or (s.holder != NONE and now < s.expires) or s.token == self.p.max_token:
            return None
        token = s.token + 1
        return (s._replace(holder=src, expires=now + self.p.lease, token=token),
                (Persist(), Send(src, Grant(msg.at, token))))

    @transition()
    def step_down(self, s: MasterState, now: int = 0) -> Out:
        """The primary stops serving (it crashed or lost mastership); the election tells the standby."""
        if self.standby is None or not s.active:
            return None
        return s._replace(active=False), (Persist(), Send(self.standby, Elected(s.token)))


class Client(Node[ClientState]):
    """A client that keeps asking for the lock, keeps its lease alive and writes while it believes."""

    role = "client"
    reads_clock = True

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.p: LeaseParams = config.params
        self.masters = config.ids("master")
        self.storage = config.ids("storage")[0]

    def state_type(self) -> Type:
        p = self.p
        return Record(ClientState, asked=Int(NONE, p.time.hi), until=p.until, token=p.tokens)  # type: ignore[attr-defined]

    def on_start(self) -> tuple[ClientState, Sequence[Effect]]:
        return ClientState(NONE, 0, 0), ()

    def holds(self, s: ClientState, now: int) -> bool:
        """Whether the client believes it holds the lock."""
        return s.token > 0 and now < s.until

    @transition()
    def request(self, s: ClientState, now: int = 0) -> Out:
        """Ask every master to keep the lease of its last token alive (Chubby's keep-alive, also
        after the client's own clock says it ran out), or for the lock (token 0, or a stale one).

        Once per answer, or again when the request is a lease old (its grant would bring a lease
        already over): on the grow-only message set a pending request may still be answered."""
        if self.holds(s, now) or (s.asked != NONE and now < s.asked + self.p.lease):
            return None
        return s._replace(asked=now), tuple(Send(m, Request(now, s.token)) for m in self.masters)

    def on_message(self, s: ClientState, src: int, msg: Any, now: int = 0) -> Out:
        if type(msg) is not Grant or msg.at != s.asked:
            return None
        return ClientState(NONE, max(s.until, msg.at + self.p.lease - self.p.margin), msg.token), ()

    @transition()
    def write(self, s: ClientState, now: int = 0) -> Out:
        """Write to the storage with the token, while the client believes it holds the lock."""
        if not self.holds(s, now):
            return None
        return s, (Send(self.storage, Write(s.token)),)


class Storage(Node[StorageState]):
    """Accepts writes; with fencing, none with a token lower than one it accepted."""

    role = "storage"

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.p: LeaseParams = config.params

    def state_type(self) -> Type:
        return Record(StorageState, high=self.p.tokens, last=self.p.tokens)

    def on_start(self) -> tuple[StorageState, Sequence[Effect]]:
        return StorageState(0, 0), ()

    def disk_type(self) -> Type:
        return self.state_type()

    def durable(self, s: StorageState) -> StorageState:
        return s

    def on_recover(self, disk: StorageState) -> tuple[StorageState, Sequence[Effect]]:
        return disk, ()

    def on_message(self, s: StorageState, src: int, msg: Any) -> Out:
        if type(msg) is not Write or (self.p.fencing and msg.token < s.high):
            return None
        return StorageState(max(s.high, msg.token), msg.token), (Persist(),)


@dataclass(frozen=True)
class LeaseConfig:
    clients: int = 2
    lease: int = 5
    drift: int = 1
    delay: int = 0  # 0: any delay (the grow-only message set); d > 0: delivered within d ticks
    margin: int = 4
    max_time: int = 4
    fencing: bool = True
    failover: bool = False
    max_crashes: int = 0
    crash: str = "any"  # which nodes may crash: any (and recover), or clients (crash-stop: liveness's question)


class Lease(ActorSystem):
    """The lease lock: a master, a storage node, clients, optionally a standby master."""

    name = "lease"
    Config = LeaseConfig

    master_class: type[Master] = Master
    client_class: type[Client] = Client

    def _validate_config(self) -> None:
        c = self.config
        if c.clients < 1 or c.lease < 1:
            raise ValueError("--clients and --lease must be at least 1")
        if min(c.drift, c.delay, c.margin, c.max_time, c.max_crashes) < 0:
            raise ValueError("--drift, --delay, --margin, --max-time and --max-crashes must be at least 0")
        if c.crash not in ("any", "clients"):
            raise ValueError(f"--crash {c.crash}: give any or clients")

    # The knobs the planted bugs turn.
    def margin(self) -> int:
        return int(self.config.margin)

    def fencing(self) -> bool:
        return bool(self.config.fencing)

    def grace(self) -> int:
        return int(self.config.lease)

    def top(self) -> int:
        """The highest clock reading."""
        return int(self.config.max_time + self.config.drift)

    def max_token(self) -> int:
        """Grants of one master are ``lease`` apart on its clock, so each issues at most this many."""
        return (len(self.masters()) * (self.top() // self.config.lease + 1))

    def masters(self) -> tuple[int, ...]:
        return (0, self.config.clients + 2) if self.config.failover else (0,)

    def params(self) -> LeaseParams:
        c, top = self.config, self.top()
        return LeaseParams(c.lease, self.margin(), self.grace(), self.fencing(), Int(0, top),
                           Int(0, top + c.lease), Int(0, self.max_token()), self.max_token(), c.drift)

    def nodes(self) -> list[Node[Any]]:
        cfgs = node_configs(self.config.clients, self.config.failover, self.params())
        out: list[Node[Any]] = []
        for cfg in cfgs:
            role = "master" if cfg.id in self.masters() else "storage" if cfg.id == 1 else "client"
            out.append(self.master_class(cfg) if role == "master" else
                       Storage(cfg) if role == "storage" else self.client_class(cfg))
        return out

    def clients(self) -> range:
        return range(2, self.config.clients + 2)

    def message_type(self) -> Type:
        p = self.params()
        return Union(Record(Request, at=p.time, token=p.tokens), Record(Grant, at=p.time, token=p.tokens),
                     Record(Elected, token=p.tokens), Record(Write, token=p.tokens))

    def envelopes(self) -> Sequence[Envelope]:
        """Requests to masters, grants back, writes to the storage, the election to the standby."""
        p = self.params()
        times, tokens = range(p.time.lo, p.time.hi + 1), range(1, self.max_token() + 1)  # type: ignore[attr-defined]
        out: list[Envelope] = []
        for c in self.clients():
            for m in self.masters():
                out += [Envelope(c, m, Request(t, k)) for t in times for k in (0, *tokens)]
                out += [Envelope(m, c, Grant(t, k)) for t in times for k in tokens]
            out += [Envelope(c, 1, Write(k)) for k in tokens]
        if self.config.failover:
            out += [Envelope(0, self.masters()[1], Elected(k)) for k in (0, *tokens)]
        return out

    def network(self) -> Network:
        return UnorderedBag(max_copies=1) if self.config.delay else DuplicatingSet()

    def clock(self) -> Clock:
        c = self.config
        return Clock(max_time=c.max_time, drift=c.drift, max_delay=c.delay or None)

    def faults(self) -> Faults:
        if self.config.crash == "clients":  # a crashed client stays down: the holder that never returns
            return Faults(max_crashes=self.config.max_crashes, recovery=False, crash_roles=("client",))
        return Faults(max_crashes=self.config.max_crashes)

    # ----- properties -----
    def believes(self, s: Any, c: int) -> bool:
        """Whether client ``c`` is up and believes it holds the lock, at its clock now."""
        cs: ClientState = s.nodes[c]
        return c not in s.down and cs.token > 0 and clock_of(s, c) < cs.until

    @always
    def lease_safety(self, s: Any) -> bool:
        """At any real time at most one client believes it holds a valid lease."""
        return sum(1 for c in self.clients() if self.believes(s, c)) <= 1

    @explains("lease_safety")
    def _why_two_holders(self, s: Any) -> str:
        names = [n.name for n in self.node_list]
        holders = [f"{names[c]} (token {s.nodes[c].token}, until {s.nodes[c].until}, clock {clock_of(s, c)})"
                   for c in self.clients() if self.believes(s, c)]
        return " and ".join(holders) + " both believe they hold the lease"

    @always
    def storage_safety(self, s: Any) -> bool:
        """The storage accepts writes in increasing token order: once a holder's write is accepted,
        none from an earlier holder (whose lease ran out) is."""
        st: StorageState = s.nodes[1]
        return st.last == st.high

    @sometimes
    def second_holder(self, s: Any) -> bool:
        """A client holds the lock after another client's lease with an earlier token ran out."""
        return any(self.believes(s, c) and any(d != c and 0 < s.nodes[d].token < s.nodes[c].token
                                               for d in self.clients()) for c in self.clients())

    # ----- liveness -----
    def fairness(self) -> dict[str, str]:
        """Every node's steps and deliveries are weakly fair (a client keeps asking, the master
        answers), and so is real time's tick: time does not stop before the horizon.  Crashes,
        recoveries, clock drift and a master's step down are faults or choices: never forced."""
        fair = {f: k for f, k in self.fair_steps("weak").items() if f != "master.step_down"}
        return {**fair, "env.tick": "weak"}

    def room(self) -> int:
        """Real time enough, after a holder crashed, for another client to acquire: the crashed
        holder's lease may be renewed from its last keep-alive (asked up to ``drift`` ahead, answered
        up to ``lease + 2 * drift`` later, for a lease more), the master's clock may lag ``drift``
        behind, and a grant to an ask the client already replaced costs one lease more.  A bound,
        not the least one: at lease 1 on perfect clocks a room of 1 already holds (0 does not)."""
        return 3 * self.config.lease + 5 * self.config.drift

    def holder_crashed(self, s: Any) -> bool:
        """A serving master's holder is down, another client is up, and the horizon leaves room.

        Time stops at ``--max-time``: a behaviour then stutters there, so a crash too close to
        the horizon cannot be followed by a new grant in any model of time; the premise asks only
        of crashes with ``room()`` left, so the property means the same within every horizon."""
        if s.env.now + self.room() > self.config.max_time:
            return False
        return any(m.active and m.holder in s.down and any(c not in s.down for c in self.clients() if c != m.holder)
                   for m in (s.nodes[i] for i in self.masters()))

    @leads_to("holder_crashed")
    def another_acquires(self, s: Any) -> bool:
        """If the holder crashes, a client that keeps asking acquires: a serving master's holder
        is up and has taken the master's latest grant (its token)."""
        return any(m.active and m.holder not in s.down and m.holder != NONE and s.nodes[m.holder].token == m.token
                   for m in (s.nodes[i] for i in self.masters()))


# ----- planted bugs ----------------------------------------------------------------------


@variant("no-margin", breaks="lease_safety")
class NoMargin(Lease):
    """Clients use the full lease on their own clock: safe only on perfect clocks."""

    def margin(self) -> int:
        return 0


@variant("no-fencing", breaks="storage_safety")
class NoFencing(Lease):
    """The storage ignores tokens: a write sent before the lease ran out, delivered after the next
    holder wrote (the writer paused), is accepted."""

    def fencing(self) -> bool:
        return False


@variant("failover-without-grace", breaks="lease_safety")
class FailoverWithoutGrace(Lease):
    """The standby grants as soon as it is elected, while a lease of the old master still runs.

    Needs ``--failover true`` (its default here)."""

    @dataclass(frozen=True)
    class Config(LeaseConfig):
        failover: bool = True

    def grace(self) -> int:
        return 0


class _RenewAnyMaster(Master):
    def may_renew(self, s: MasterState, src: int, token: int, now: int) -> bool:
        return 0 < token <= s.token  # any token it ever issued, expired and regranted or not


@variant("renew-after-expiry", breaks="lease_safety")
class RenewAfterExpiry(Lease):
    """The master renews a keep-alive for a lease it already let expire and granted elsewhere."""

    master_class = _RenewAnyMaster


class _RegrantStale(Master):
    def answers(self, at: int, now: int) -> bool:
        return True


@variant("regrant-stale", breaks="another_acquires")
class RegrantStale(Lease):
    """The master answers a request however old: it re-grants a crashed holder's old ask, again
    and again, and the client that keeps asking never acquires.  Its defaults are the smallest
    setting where a crash leaves ``room()`` before the horizon (about 4 minutes: 4M states)."""

    @dataclass(frozen=True)
    class Config(LeaseConfig):
        lease: int = 1
        margin: int = 0
        drift: int = 0
        max_time: int = 3
        max_crashes: int = 1
        crash: str = "clients"

    master_class = _RegrantStale


__all__ = [
    "PROTOCOL", "Client", "ClientState", "Elected", "FailoverWithoutGrace", "Grant", "Lease", "LeaseConfig",
    "LeaseParams", "Master", "MasterState", "NoFencing", "NoMargin", "RegrantStale", "RenewAfterExpiry", "Request",
    "Storage", "StorageState", "Write", "node_configs",
]

PROTOCOL = Protocol("lease", f"{__name__}:Lease",
                    summary="a Chubby-style lease lock with fencing tokens on drifting clocks",
                    service="protoproof.impl.lease:SERVICE",
                    parameterized="protoproof.proofs.lease_real:prove_lease_param")
