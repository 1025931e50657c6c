"""Nodes lifted into models: what the explorer sees on each network, with faults and timers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protoproof.checker.explore import ModelError, Nondeterminism, explore
from protoproof.checker.path import replay
from protoproof.models.actors import (
    ActorSystem,
    BoundExceeded,
    Broadcast,
    CancelTimer,
    DuplicatingSet,
    Effect,
    Envelope,
    Faults,
    FifoChannels,
    Network,
    Node,
    NodeIds,
    Persist,
    Send,
    SetTimer,
    StepInfo,
    SysState,
    UnorderedBag,
)
from protoproof.models.base import ModelDefinitionError, always, sometimes, transition
from protoproof.models.schema import Enum, Int, Record, Seq, Type, Union

# ----- a two-node ping/pong ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ping:
    seq: int


@dataclass(frozen=True, slots=True)
class Pong:
    seq: int


MSG = Union(Record(Ping, seq=Int(0, 1)), Record(Pong, seq=Int(0, 1)))


class PingerState(NamedTuple):
    sent: int
    pongs: tuple[int, ...]


Out = tuple[Any, Sequence[Effect]] | None


class Pinger(Node[PingerState]):
    """Sends ``Ping(0)``, ``Ping(1)`` to the ponger; logs the pongs it receives."""

    role = "pinger"

    def __init__(self, node_id: int, peer: int, pings: int = 2) -> None:
        super().__init__(node_id)
        self.peer, self.pings = peer, pings

    def state_type(self) -> Type:
        return Record(PingerState, sent=Int(0, self.pings), pongs=Seq(Int(0, 1), 3))

    def on_start(self) -> tuple[PingerState, Sequence[Effect]]:
        return PingerState(0, ()), ()

    @transition()
    def ping(self, s: PingerState) -> Out:
        if s.sent >= self.pings:
            return None
        return s._replace(sent=s.sent + 1), (Send(self.peer, Ping(s.sent)),)

    def on_message(self, s: PingerState, src: int, msg: Any) -> Out:
        if type(msg) is Pong and len(s.pongs) < 3:
            return s._replace(pongs=(*s.pongs, msg.seq)), ()
        return None


class Ponger(Node[tuple[int, ...]]):
    """Logs every ping it receives, in order; answers the first receipt of each with a pong."""

    role = "ponger"

    def state_type(self) -> Type:
        return Seq(Int(0, 1), 3)

    def on_start(self) -> tuple[tuple[int, ...], Sequence[Effect]]:
        return (), ()

    def on_message(self, s: tuple[int, ...], src: int, msg: Any) -> Out:
        if type(msg) is not Ping or len(s) >= 3:
            return None
        reply = () if msg.seq in s else (Send(src, Pong(msg.seq)),)
        return (*s, msg.seq), reply


class PingPong(ActorSystem):
    name = "pingpong"

    def __init__(self, net: Callable[[], Network], pinger: type[Pinger] = Pinger, **kw: Any) -> None:
        self._make_net, self._pinger = net, pinger
        super().__init__(**kw)

    def nodes(self) -> list[Node[Any]]:
        return [self._pinger(0, 1), Ponger(1)]

    def message_type(self) -> Type:
        return MSG

    def network(self) -> Network:
        self.net_used = self._make_net()
        return self.net_used

    @sometimes
    def both_ponged(self, s: SysState) -> bool:
        """The pinger heard both pongs."""
        return sorted(set(s.nodes[0].pongs)) == [0, 1]


PING0 = Envelope(0, 1, Ping(0))
PING1 = Envelope(0, 1, Ping(1))
PONG0 = Envelope(1, 0, Pong(0))
DELIVER_PING0 = "deliver(src='pinger0', dst='ponger1', msg=Ping(seq=0))"


@dataclass
class Reach:
    """The reachable graph: states, and edges as (state, action repr, next state)."""

    model: PingPong | Crashy | Timed
    states: list[SysState]
    edges: list[tuple[SysState, str, SysState]]
    verdict: str

    def actions(self) -> set[str]:
        return {a for _s, a, _t in self.edges}

    def kinds(self) -> set[str]:
        return {a.split("(")[0] for _s, a, _t in self.edges}

    def ponger_logs(self) -> set[tuple[int, ...]]:
        return {s.nodes[1] for s in self.states}

    def in_flight(self, s: SysState) -> list[Envelope]:
        assert isinstance(self.model, PingPong)
        return self.model.net_used.in_flight(s.net)


def reach(model: PingPong | Crashy | Timed) -> Reach:
    r = explore(model, record_graph=100_000)
    assert r.graph is not None
    st = r.graph.states
    return Reach(model, list(st.values()), [(st[a], x, st[b]) for a, x, b in r.graph.edges], r.verdict)


# ----- what each network lets the explorer see --------------------------------------------


def test_duplicating_set_keeps_delivered_messages_so_they_can_be_received_again() -> None:
    g = reach(PingPong(DuplicatingSet))
    assert g.verdict == "exhausted"
    redeliveries = [(s, t) for s, a, t in g.edges if a == DELIVER_PING0]
    assert redeliveries
    for s, t in redeliveries:
        assert PING0 in s.net and PING0 in t.net  # never consumed
    assert (0, 0) in g.ponger_logs() and (0, 0, 0) in g.ponger_logs()
    assert g.kinds() == {"ping", "deliver"}  # no drop, no duplicate


def transliteration(mode: str) -> tuple[int, int]:
    """Distinct states and depth of ping/pong written directly, without nodes or networks."""

    def add(net: Any, m: tuple[Any, ...]) -> Any:
        if mode == "set":
            return net | {m}
        if mode == "bag":
            return tuple(sorted((*net, m)))
        q = m[0]  # fifo: one queue per direction
        return net[:q] + (net[q] + (m,),) + net[q + 1 :]

    def ready(net: Any) -> list[tuple[Any, Any]]:
        if mode == "set":
            return [(m, net) for m in net]
        if mode == "bag":
            return [(m, net[: net.index(m)] + net[net.index(m) + 1 :]) for m in sorted(set(net))]
        return [(q[0], net[:k] + (q[1:],) + net[k + 1 :]) for k, q in enumerate(net) if q]

    def succ(st: Any) -> list[Any]:
        sent, pongs, log, net = st
        out = []
        if sent < 2:
            out.append((sent + 1, pongs, log, add(net, (0, "ping", sent))))
        for (_src, kind, seq), rest in ready(net):
            if kind == "ping" and len(log) < 3:
                out.append((sent, pongs, (*log, seq), rest if seq in log else add(rest, (1, "pong", seq))))
            elif kind == "pong" and len(pongs) < 3:
                out.append((sent, (*pongs, seq), log, rest))
        return out

    empty = {"set": frozenset(), "bag": (), "fifo": ((), ())}[mode]
    level, seen, depth = [(0, (), (), empty)], {(0, (), (), empty)}, 0
    while True:
        nxt = [t for s in level for t in succ(s) if t not in seen]
        nxt = list(dict.fromkeys(nxt))
        if not nxt:
            return len(seen), depth
        seen.update(nxt)
        level, depth = nxt, depth + 1


@pytest.mark.parametrize(
    ("mode", "make", "pinned"),
    [
        ("set", DuplicatingSet, (159, 8)),
        ("bag", UnorderedBag, (19, 6)),
        ("fifo", lambda: FifoChannels(capacity=2), (10, 6)),
    ],
    ids=["duplicating set", "unordered bag", "fifo"],
)
def test_state_counts_equal_those_of_a_direct_transliteration(
    mode: str, make: Callable[[], Network], pinned: tuple[int, int]
) -> None:
    # FIFO by hand: the states are the down-sets of the event order p0<p1, p0<r0<r1, p1<r1, r0<q0<q1,
    # r1<q1 (send ping i, receive ping i, receive pong i): 10 of them, the longest chain 6 events.
    r = explore(PingPong(make))
    assert r.verdict == "exhausted"
    assert (r.stats.distinct_states, r.stats.depth) == transliteration(mode) == pinned


def test_unordered_bag_consumes_a_delivered_message() -> None:
    g = reach(PingPong(UnorderedBag))
    assert g.verdict == "exhausted"
    delivers = [(s, a, t) for s, a, t in g.edges if a.startswith("deliver")]
    assert delivers
    for s, _a, t in delivers:
        assert len(g.in_flight(t)) < len(g.in_flight(s)) + 1  # one consumed, at most one sent
    for s, a, t in delivers:
        if a == DELIVER_PING0:
            assert PING0 in g.in_flight(s) and PING0 not in g.in_flight(t)
    assert all(len(set(log)) == len(log) for log in g.ponger_logs())  # each ping received once
    assert (1, 0) in g.ponger_logs()  # unordered: the second ping may overtake the first
    assert g.kinds() == {"ping", "deliver"}


def test_unordered_bag_that_duplicates_offers_duplicate_actions_up_to_max_copies() -> None:
    g = reach(PingPong(lambda: UnorderedBag(max_copies=2, duplicating=True)))
    assert g.verdict == "exhausted"
    assert g.kinds() == {"ping", "deliver", "duplicate"}
    assert (0, 0) in g.ponger_logs() and (0, 0, 0) in g.ponger_logs()
    assert max(c for s in g.states for c in s.net[:]) == 2  # never more than max_copies in flight
    expand = g.model.expander()
    assert all(expand(s) == list(g.model.successors(s)) for s in g.states)
    for s, a, t in g.edges:
        if a == "duplicate(src='pinger0', dst='ponger1', msg=Ping(seq=0))":
            assert g.in_flight(s).count(PING0) == 1 and g.in_flight(t).count(PING0) == 2


def test_lossy_networks_offer_drop_actions_and_lose_messages_for_good() -> None:
    for make in (lambda: DuplicatingSet(lossy=True), lambda: UnorderedBag(lossy=True),
                 lambda: FifoChannels(capacity=2, lossy=True)):
        g = reach(PingPong(make))
        assert "drop" in g.kinds(), make().describe()
        assert "duplicate" not in g.kinds()
        for s, a, t in g.edges:
            if a.startswith("drop"):
                assert len(g.in_flight(t)) == len(g.in_flight(s)) - 1
                assert t.nodes == s.nodes
        lost_all = [s for s in g.states if s.nodes == (PingerState(2, ()), ()) and not g.in_flight(s)]
        assert lost_all, make().describe()


def test_fifo_channels_deliver_in_send_order_and_consume() -> None:
    g = reach(PingPong(lambda: FifoChannels(capacity=2)))
    assert g.verdict == "exhausted"
    assert (0, 1) in g.ponger_logs()
    assert (1, 0) not in g.ponger_logs()
    for s, a, t in g.edges:
        if a.startswith("deliver"):
            src = 0 if "src='pinger0'" in a else 1
            chan = [e for e in g.in_flight(s) if e.src == src]
            assert repr(chan[0].msg) in a  # the head of its channel, nothing else
            assert [e for e in g.in_flight(t) if e.src == src] == chan[1:]
    assert g.kinds() == {"ping", "deliver"}


@pytest.mark.parametrize(
    "make",
    [
        lambda: PingPong(DuplicatingSet),
        lambda: PingPong(lambda: DuplicatingSet(lossy=True)),
        lambda: PingPong(lambda: UnorderedBag(lossy=True)),
        lambda: PingPong(lambda: FifoChannels(capacity=2, lossy=True)),
        lambda: Crashy(),
        lambda: Timed(),
    ],
    ids=["set", "lossy set", "lossy bag", "lossy fifo", "crashes", "timers"],
)
def test_the_fast_expander_agrees_with_successors_on_every_reachable_state(make: Callable[[], Any]) -> None:
    m = make()
    expand = m.expander()
    g = reach(m)
    for s in g.states:
        assert expand(s) == list(m.successors(s))


def test_networks_describe_themselves() -> None:
    assert DuplicatingSet().describe() == "unordered, duplicating"
    assert DuplicatingSet(lossy=True).describe() == "unordered, duplicating, lossy"
    assert UnorderedBag(2, duplicating=True).describe() == (
        "unordered multiset (at most 2 copies of a message), duplicating")
    assert UnorderedBag(2, bound=1).describe() == "unordered multiset (at most 1 copy of a message)"
    assert FifoChannels(3, lossy=True).describe() == "FIFO per channel (capacity 3), lossy"


# ----- bounds -------------------------------------------------------------------------


class Spammer(Pinger):
    """Sends ``Ping(0)`` again and again."""

    @transition()
    def ping(self, s: PingerState) -> Out:
        if s.sent >= self.pings:
            return None
        return s._replace(sent=s.sent + 1), (Send(self.peer, Ping(0)),)


@pytest.mark.parametrize(
    ("make", "pinger", "says"),
    [
        (lambda: FifoChannels(capacity=1), Pinger, "channel 0->1 would hold 2 messages (capacity=1)"),
        (lambda: UnorderedBag(max_copies=1), Spammer, "would have 2 copies in flight (max_copies=1)"),
    ],
    ids=["fifo capacity", "bag copies"],
)
def test_exceeding_a_network_bound_raises_and_explore_reports_a_model_error(
    make: Callable[[], Network], pinger: type[Pinger], says: str
) -> None:
    m = PingPong(make, pinger)
    s0 = m.initial_states()[0]
    s1 = replay(m, ["ping(node='pinger0')"]).last
    with pytest.raises(BoundExceeded, match=r"raise the bound"):
        list(m.successors(s1))
    assert s0 != s1
    with pytest.raises(ModelError) as info:
        explore(m)
    err = info.value
    assert isinstance(err.__cause__, BoundExceeded)
    assert says in str(err)
    assert repr(err.action) == "ping(node='pinger0')"
    assert err.state == s1
    assert "BoundExceeded" in err.traceback


def test_a_message_outside_the_declared_universe_is_refused() -> None:
    class ToSelf(Pinger):
        @transition()
        def ping(self, s: PingerState) -> Out:
            return s, (Send(self.id, Ping(0)),)

    with pytest.raises(ModelError):
        explore(PingPong(UnorderedBag, ToSelf))
    with pytest.raises(ModelError):
        explore(PingPong(DuplicatingSet, ToSelf))


# ----- crashes and durable state ----------------------------------------------------------


class C(NamedTuple):
    saved: int
    scratch: int


class Counter(Node[C]):
    """``saved`` is durable once persisted; ``scratch`` is volatile."""

    role = "counter"
    recovered_from: list[Any] = []  # noqa: RUF012 - a test probe

    def state_type(self) -> Type:
        return Record(C, saved=Int(0, 2), scratch=Int(0, 2))

    def disk_type(self) -> Type:
        return Int(0, 2)

    def durable(self, s: C) -> int:
        return s.saved

    def on_start(self) -> tuple[C, Sequence[Effect]]:
        return C(0, 0), ()

    def on_recover(self, disk: Any) -> tuple[C, Sequence[Effect]]:
        type(self).recovered_from.append(disk)
        return C(disk, 0), ()

    @transition()
    def save(self, s: C) -> Out:
        if s.saved >= 2:
            return None
        return s._replace(saved=s.saved + 1), (Persist(),)

    @transition()
    def sneak(self, s: C) -> Out:
        """Changes the durable part without persisting it."""
        if s.saved >= 2:
            return None
        return s._replace(saved=s.saved + 1), ()

    @transition()
    def scribble(self, s: C) -> Out:
        if s.scratch >= 2:
            return None
        return s._replace(scratch=s.scratch + 1), ()


class Forgetful(Node[str]):
    """Keeps nothing: recovers through ``on_start``."""

    role = "forgetful"
    LOCAL = Enum("Local", "fresh", "used")

    def state_type(self) -> Type:
        return self.LOCAL

    def on_start(self) -> tuple[str, Sequence[Effect]]:
        return "fresh", ()

    @transition()
    def use(self, s: str) -> Out:
        return ("used", (Persist(),)) if s == "fresh" else None


class Crashy(ActorSystem):
    name = "crashy"

    def nodes(self) -> list[Node[Any]]:
        return [Counter(0), Forgetful(1)]

    def message_type(self) -> Type:
        return MSG

    def faults(self) -> Faults:
        return Faults(max_crashes=1)

    @sometimes
    def saved_two(self, s: SysState) -> bool:
        return s.nodes[0].saved == 2


def test_a_crash_loses_volatile_state_and_recovery_starts_from_what_was_persisted() -> None:
    m = Crashy()
    Counter.recovered_from.clear()
    p = replay(m, ["save(node='counter0')", "sneak(node='counter0')", "scribble(node='counter0')",
                   "crash(node='counter0')", "recover(node='counter0')"])
    before_crash = p.states[3]
    assert before_crash.nodes[0] == C(2, 1) and before_crash.disk[0] == 1
    assert p.states[4].down == frozenset({0}) and p.states[4].crashes == 1
    assert Counter.recovered_from == [1]  # on_recover got durable() of the last Persist
    assert p.last.nodes[0] == C(1, 0)
    assert p.last.down == frozenset()


def test_every_recovery_restarts_from_the_disk_and_a_node_without_durable_state_from_scratch() -> None:
    g = reach(Crashy())
    recoveries = [(s, a, t) for s, a, t in g.edges if a.startswith("recover")]
    assert {a for _s, a, _t in recoveries} == {"recover(node='counter0')", "recover(node='forgetful1')"}
    for s, a, t in recoveries:
        if a == "recover(node='counter0')":
            assert t.nodes[0] == C(s.disk[0], 0)
        else:
            assert t.nodes[1] == "fresh" and s.disk[1] is None
    for s, _a, t in g.edges:  # the disk holds only what was persisted
        assert t.disk[0] in (s.disk[0], t.nodes[0].saved)


def test_a_down_node_takes_no_step_and_crashes_are_bounded() -> None:
    m = Crashy()
    s = replay(m, ["crash(node='counter0')"]).last
    enabled = [repr(a) for a, _t in m.successors(s)]
    assert enabled == ["use(node='forgetful1')", "recover(node='counter0')"]
    after = replay(m, ["recover(node='counter0')"], init=s).last
    assert "crash(node='forgetful1')" not in [repr(a) for a, _t in m.successors(after)]
    assert after.crashes == 1


def test_crash_and_recover_actions_exist_only_with_a_crash_budget() -> None:
    assert not {a.name for a in PingPong(DuplicatingSet).actions()} & {"crash", "recover"}
    names = [repr(a) for a in Crashy().actions()]
    assert names[-4:] == ["crash(node='counter0')", "crash(node='forgetful1')",
                          "recover(node='counter0')", "recover(node='forgetful1')"]
    assert Crashy().action_families[-2:] == ["crash", "recover"]


# ----- timers ---------------------------------------------------------------------------

PHASE = Enum("Phase", "idle", "waiting", "retried")


class Retrier(Node[str]):
    role = "retrier"
    timers = ("retry",)

    def state_type(self) -> Type:
        return PHASE

    def on_start(self) -> tuple[str, Sequence[Effect]]:
        return "idle", ()

    @transition()
    def arm(self, s: str) -> Out:
        return ("waiting", (SetTimer("retry"),)) if s == "idle" else None

    @transition()
    def disarm(self, s: str) -> Out:
        return ("idle", (CancelTimer("retry"),)) if s == "waiting" else None

    def on_timeout(self, s: str, timer: Any) -> Out:
        return "retried", ()


class Timed(ActorSystem):
    name = "timed"

    def nodes(self) -> list[Node[Any]]:
        return [Retrier(0), Forgetful(1)]

    def message_type(self) -> Type:
        return MSG

    def faults(self) -> Faults:
        return Faults(max_crashes=1)

    @sometimes
    def retried(self, s: SysState) -> bool:
        return s.nodes[0] == "retried"


TIMEOUT = "timeout(node='retrier0', timer='retry')"


def test_a_timer_fires_only_when_armed_and_only_once() -> None:
    m = Timed()
    s0 = m.initial_states()[0]
    assert TIMEOUT not in [repr(a) for a, _t in m.successors(s0)]
    armed = replay(m, ["arm(node='retrier0')"]).last
    assert armed.timers[0] == frozenset({"retry"})
    fired = replay(m, [TIMEOUT], init=armed).last
    assert fired.nodes[0] == "retried" and fired.timers[0] == frozenset()
    assert TIMEOUT not in [repr(a) for a, _t in m.successors(fired)]
    g = reach(m)
    for s, a, _t in g.edges:
        if a == TIMEOUT:
            assert "retry" in s.timers[0] and 0 not in s.down


def test_cancelling_a_timer_and_crashing_both_disarm_it() -> None:
    m = Timed()
    cancelled = replay(m, ["arm(node='retrier0')", "disarm(node='retrier0')"]).last
    assert cancelled.timers[0] == frozenset()
    assert TIMEOUT not in [repr(a) for a, _t in m.successors(cancelled)]
    crashed = replay(m, ["arm(node='retrier0')", "crash(node='retrier0')"]).last
    assert crashed.timers[0] == frozenset()
    recovered = replay(m, ["recover(node='retrier0')"], init=crashed).last
    assert TIMEOUT not in [repr(a) for a, _t in m.successors(recovered)]


def test_timeout_actions_exist_only_for_declared_timers() -> None:
    assert [repr(a) for a in Timed().actions() if a.name == "timeout"] == [TIMEOUT]
    assert "retrier.timeout" in Timed().action_families
    assert not [a for a in PingPong(DuplicatingSet).actions() if a.name == "timeout"]


# ----- malformed handlers ---------------------------------------------------------------


class BareState(Pinger):
    @transition()
    def ping(self, s: PingerState) -> Any:
        return s._replace(sent=1)


class BareEffect(Pinger):
    @transition()
    def ping(self, s: PingerState) -> Any:
        return s, Send(1, Ping(0))


class NotAnEffect(Pinger):
    @transition()
    def ping(self, s: PingerState) -> Any:
        return s, (("send", 1, Ping(0)),)


@pytest.mark.parametrize(
    ("pinger", "says"),
    [
        (BareState, r"BareState\.ping must return \(state, effects\)"),
        (BareEffect, r"BareEffect\.ping must return \(state, effects\)"),
        (NotAnEffect, r"NotAnEffect returned \('send', 1, Ping\(seq=0\)\) as an effect"),
    ],
)
def test_a_handler_returning_a_malformed_result_raises_a_clear_error(pinger: type[Pinger], says: str) -> None:
    m = PingPong(DuplicatingSet, pinger)
    s0 = m.initial_states()[0]
    with pytest.raises(ModelDefinitionError, match=says):
        list(m.successors(s0))
    with pytest.raises(ModelError) as info:
        explore(m)
    assert isinstance(info.value.__cause__, ModelDefinitionError)


def test_a_malformed_on_start_is_reported_when_building_the_initial_state() -> None:
    class BadStart(Pinger):
        def on_start(self) -> Any:
            return PingerState(0, ())

    with pytest.raises(ModelDefinitionError, match=r"BadStart\.on_start must return \(state, effects\)"):
        PingPong(DuplicatingSet, BadStart).initial_states()


def test_nodes_must_be_listed_at_their_id_with_distinct_names() -> None:
    class Misplaced(PingPong):
        def nodes(self) -> list[Node[Any]]:
            return [Ponger(1), Pinger(0, 1)]

    with pytest.raises(ModelDefinitionError, match="has id 1 but is listed at position 0"):
        Misplaced(DuplicatingSet)

    class SameName(PingPong):
        def nodes(self) -> list[Node[Any]]:
            return [Pinger(0, 1), Ponger(1, name="pinger0")]

    with pytest.raises(ModelDefinitionError, match="node names must be distinct"):
        SameName(DuplicatingSet)


def test_a_node_step_parameter_without_a_domain_is_rejected_at_construction() -> None:
    class Undeclared(Pinger):
        @transition()
        def ping(self, s: PingerState, k: int) -> Out:
            return None

    with pytest.raises(ModelDefinitionError, match="parameter 'k' has no domain"):
        PingPong(DuplicatingSet, Undeclared)


def test_a_node_step_domain_may_be_a_function_of_the_node() -> None:
    class Ranged(Pinger):
        @transition(k=lambda node: range(node.pings))
        def ping(self, s: PingerState, k: int) -> Out:
            if s.sent != k:
                return None
            return s._replace(sent=k + 1), (Send(self.peer, Ping(k)),)

    m = PingPong(DuplicatingSet, Ranged)
    assert [repr(a) for a in m.actions()][:2] == ["ping(node='pinger0', k=0)", "ping(node='pinger0', k=1)"]


def test_node_step_domains_by_attribute_name_are_enumerated() -> None:
    class Named(Pinger):
        seqs = (0, 1)

        @transition(k="seqs")
        def ping(self, s: PingerState, k: int) -> Out:
            if s.sent != k:
                return None
            return s._replace(sent=k + 1), (Send(self.peer, Ping(k)),)

    m = PingPong(DuplicatingSet, Named)
    assert [repr(a) for a in m.actions()][:2] == ["ping(node='pinger0', k=0)", "ping(node='pinger0', k=1)"]
    assert explore(m).stats.distinct_states == explore(PingPong(DuplicatingSet)).stats.distinct_states


# ----- step_info and displays -------------------------------------------------------------


def test_step_info_reports_who_acted_what_it_received_and_what_it_sent() -> None:
    m = PingPong(UnorderedBag)
    s0 = m.initial_states()[0]
    ping = next(a for a in m.actions() if repr(a) == "ping(node='pinger0')")
    assert m.step_info(s0, ping) == StepInfo("local", 0, None, (PING0,), "ping")
    s1 = m.apply(s0, ping)
    assert s1 is not None
    deliver = next(a for a in m.actions() if repr(a) == DELIVER_PING0)
    assert m.step_info(s1, deliver) == StepInfo("deliver", 1, PING0, (PONG0,), "Ping")
    with pytest.raises(ValueError, match="is not enabled"):
        m.step_info(s0, deliver)


def test_step_info_of_timeouts_crashes_and_broadcasts() -> None:
    m = Timed()
    armed = replay(m, ["arm(node='retrier0')"]).last
    timeout = next(a for a in m.actions() if repr(a) == TIMEOUT)
    assert m.step_info(armed, timeout) == StepInfo("timeout", 0, None, (), "timeout 'retry'")
    crash = next(a for a in m.actions() if repr(a) == "crash(node='forgetful1')")
    assert m.step_info(armed, crash).kind == "crash"

    class Shouter(Pinger):
        @transition()
        def ping(self, s: PingerState) -> Out:
            return (s._replace(sent=1), (Broadcast((1,), Ping(1)),)) if s.sent == 0 else None

    pp = PingPong(DuplicatingSet, Shouter)
    a = pp.actions()[0]
    assert pp.step_info(pp.initial_states()[0], a).sent == (PING1,)


def test_describe_state_lists_nodes_and_messages_in_flight() -> None:
    m = PingPong(DuplicatingSet)
    s = replay(m, ["ping(node='pinger0')"]).last
    d = m.describe_state(s)
    assert any(k.startswith("pinger0") for k in d)
    assert d["ponger1"] == ()
    assert d["net"] == ["pinger0->ponger1: Ping(seq=0)"]
    assert "down" not in d
    assert any(k.startswith("disk.") for k in Crashy().describe_state(Crashy().initial_states()[0]))


# ----- successors on packed codes ---------------------------------------------------------


def _outcome(f: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", f()
    except Exception as e:  # which exception it is, is what is compared
        return "raised", type(e).__name__


def _on_states(m: ActorSystem, code: int) -> list[tuple[Any, int]]:
    st = m.state_type
    return [(a, st.pack(t)) for a, t in m.expander()(st.unpack(code))]


def _code_models() -> list[tuple[str, Callable[[], ActorSystem]]]:
    from protoproof.models.paxos import Paxos
    from protoproof.models.twophase import TwoPhase

    out: list[tuple[str, Callable[[], ActorSystem]]] = [
        ("set", lambda: PingPong(DuplicatingSet)),
        ("lossy set", lambda: PingPong(lambda: DuplicatingSet(lossy=True))),
        ("paxos", lambda: Paxos()),
        ("twophase", lambda: TwoPhase(rms=3)),
    ]
    # Without crashes (the code expander takes none), also for the variants whose defaults crash.
    for name, cls in TwoPhase.variants_of().items():
        out.append((name, lambda cls=cls: cls(rms=3, max_crashes=0)))  # type: ignore[misc]
    for name, cls in Paxos.variants_of().items():
        out.append((name, lambda cls=cls: cls(max_crashes=0)))  # type: ignore[misc]
    return out


#: Paxos's planted bugs that CI leaves to the slow run here (about 6 s each); CI compares Paxos itself and
#: ``volatile-acceptor`` (without crashes), and every variant's search on codes below.
_SLOW_CODE_MODELS = {"ignore-votes", "propose-twice", "accept-below-promise", "minority-quorums"}


@pytest.mark.parametrize("make", [pytest.param(m, marks=pytest.mark.slow) if n in _SLOW_CODE_MODELS else m
                                  for n, m in _code_models()], ids=[n for n, _m in _code_models()])
def test_successors_on_codes_equal_those_on_states_in_reachable_states(make: Callable[[], Any]) -> None:
    m = make()
    on_codes = m.code_expander()
    assert on_codes is not None
    r = explore(m, record_graph=1_000_000, properties=[], max_states=4000)  # some variants have 100,000s
    assert r.graph is not None and len(r.graph.states) > 10
    for code in r.graph.states:
        assert on_codes(code) == _on_states(m, code)


@given(st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_successors_on_codes_equal_those_on_states_in_any_state_of_the_schema(data: st.DataObject) -> None:
    """Unreachable states too: the cache of local steps must not depend on how a state was reached."""
    m = data.draw(st.sampled_from([_TWOPHASE_4, _PAXOS, _PINGPONG_LOSSY]))
    code = data.draw(st.integers(0, m.state_type.size - 1))
    on_codes = m.code_expander()
    assert on_codes is not None
    assert _outcome(lambda: on_codes(code)) == _outcome(lambda: _on_states(m, code))


def _models_for_hypothesis() -> tuple[ActorSystem, ActorSystem, ActorSystem]:
    from protoproof.models.paxos import Paxos
    from protoproof.models.twophase import TwoPhase

    return TwoPhase(rms=4), Paxos(), PingPong(lambda: DuplicatingSet(lossy=True))


_TWOPHASE_4, _PAXOS, _PINGPONG_LOSSY = _models_for_hypothesis()


@pytest.mark.parametrize(
    "make",
    [lambda: PingPong(UnorderedBag), lambda: PingPong(FifoChannels), lambda: Crashy(), lambda: Timed()],
    ids=["bag", "fifo", "crashes", "timers"],
)
def test_codes_are_not_expanded_where_a_step_may_touch_more_than_nodes_and_a_message_set(
    make: Callable[[], Any],
) -> None:
    assert make().code_expander() is None


@pytest.mark.parametrize("make", [m for _n, m in _code_models()], ids=[n for n, _m in _code_models()])
def test_the_checker_finds_the_same_states_and_counterexamples_on_codes_as_on_states(
    make: Callable[[], Any],
) -> None:
    fast, slow = explore(make()), explore(make(), on_codes=False)
    assert fast.verdict == slow.verdict and fast.property == slow.property
    for f in ("distinct_states", "transitions", "depth", "coverage"):
        assert getattr(fast.stats, f) == getattr(slow.stats, f), f
    assert (fast.path is None) == (slow.path is None)
    if fast.path is not None and slow.path is not None:
        assert fast.path.actions == slow.path.actions and fast.path.states == slow.path.states
    assert {k: v and v.actions for k, v in fast.examples.items()} == {
        k: v and v.actions for k, v in slow.examples.items()
    }


def _pinger(step: Callable[[Pinger, PingerState], Out]) -> type[Pinger]:
    class P(Pinger):
        @transition()
        def ping(self, s: PingerState) -> Out:
            return step(self, s)

    return P


def test_a_handler_that_raises_is_reported_with_its_state_and_action_on_codes() -> None:
    def step(p: Pinger, s: PingerState) -> Out:
        if s.sent == 1:
            raise ZeroDivisionError("boom")
        return s._replace(sent=s.sent + 1), (Send(p.peer, Ping(s.sent)),)

    m = PingPong(DuplicatingSet, _pinger(step))
    assert m.code_expander() is not None
    with pytest.raises(ModelError) as info:
        explore(m)
    err = info.value
    assert repr(err.action) == "ping(node='pinger0')"
    assert err.state.nodes[0].sent == 1
    assert "ZeroDivisionError" in err.traceback


@pytest.mark.parametrize(
    ("effects", "says"),
    [((), "9 is not an int in 0..2"), ((SetTimer("retry"),), "timers"), ((Send(0, Ping(0)),), "universe")],
    ids=["local state", "timer", "message"],
)
def test_a_step_leaving_the_schema_is_reported_with_its_state_and_action_on_codes(
    effects: tuple[Effect, ...], says: str
) -> None:
    def step(p: Pinger, s: PingerState) -> Out:
        if s.sent < p.pings:
            return s._replace(sent=s.sent + 1), (Send(p.peer, Ping(s.sent)),)
        return (s._replace(sent=9), ()) if not effects else (s, effects)

    m = PingPong(DuplicatingSet, _pinger(step))
    assert m.code_expander() is not None
    with pytest.raises(ModelError, match="outside the schema") as info:
        explore(m)
    assert repr(info.value.action) == "ping(node='pinger0')"
    assert info.value.state.nodes[0].sent == 2
    assert says in str(info.value)


def test_a_handler_that_answers_differently_is_caught_on_codes() -> None:
    calls = iter(range(1_000_000))

    def step(p: Pinger, s: PingerState) -> Out:
        if s.sent >= p.pings:
            return None
        return s._replace(sent=s.sent + 1), (Send(p.peer, Ping(next(calls) % 2)),)

    m = PingPong(DuplicatingSet, _pinger(step))
    assert m.code_expander() is not None
    with pytest.raises(Nondeterminism):
        explore(m)


# ----- one vocabulary for properties on every network -------------------------------------

NETWORKS: dict[str, Callable[[], Network]] = {
    "set": DuplicatingSet, "bag": UnorderedBag, "fifo": lambda: FifoChannels(capacity=2)}


class Vocabulary(PingPong):
    @always
    def pong_only_after_its_ping_arrived(self, s: SysState) -> bool:
        """Holds on every network: the ponger answers only a ping it logged."""
        return all(not self.in_flight(s, Pong(k), src=1, dst=0) or k in s.nodes[1] for k in (0, 1))

    @always
    def no_pong_in_flight(self, s: SysState) -> bool:
        """Fails on every network, two steps in (ping, deliver it)."""
        return not self.in_flight(s, Pong(0))

    @always
    def ping_sent_before_pong(self, s: SysState) -> bool:
        """Needs what was ever sent: only the grow-only set keeps it."""
        return not self.in_flight(s, Pong(0)) or self.sent(s, Ping(0), src=0, dst=1)

    @always
    def raw_net(self, s: SysState) -> bool:
        """Reads the representation: the envelope test a set understands."""
        return PONG0 not in s.net


@pytest.mark.parametrize("net", NETWORKS)
def test_the_same_in_flight_property_gives_the_right_verdict_on_all_three_networks(net: str) -> None:
    m = Vocabulary(NETWORKS[net])
    assert explore(m, properties=["pong_only_after_its_ping_arrived"]).verdict == "exhausted"
    r = explore(m, properties=["no_pong_in_flight"])
    assert (r.verdict, r.property) == ("violated", "no_pong_in_flight")
    assert r.path is not None and r.path.action_reprs() == ["ping(node='pinger0')", DELIVER_PING0]


def test_sent_answers_on_the_grow_only_set_and_is_refused_where_messages_are_forgotten() -> None:
    assert explore(Vocabulary(DuplicatingSet), properties=["ping_sent_before_pong"]).verdict == "exhausted"
    for net in ("bag", "fifo"):
        with pytest.raises(ModelError, match="cannot say what was ever sent: test in_flight") as info:
            explore(Vocabulary(NETWORKS[net]), properties=["ping_sent_before_pong"])
        assert isinstance(info.value.__cause__, ModelDefinitionError)
    with pytest.raises(ModelDefinitionError, match=r"lossy.* cannot say what was ever sent"):
        Vocabulary(lambda: DuplicatingSet(lossy=True)).sent(Vocabulary(DuplicatingSet).initial_states()[0], Ping(0))
    with pytest.raises(ModelDefinitionError, match="does not record deliveries"):
        m = Vocabulary(DuplicatingSet)
        m.delivered(m.initial_states()[0], Ping(0))


@pytest.mark.parametrize("net", ["bag", "fifo"])
def test_a_raw_in_s_net_on_a_bag_or_fifo_model_is_refused_naming_the_vocabulary(net: str) -> None:
    assert explore(Vocabulary(DuplicatingSet), properties=["raw_net"]).verdict == "violated"
    with pytest.raises(ModelError, match=r"`in s.net` on the net of .* is always False; read it through the model: "
                                         r"self.sent\(s, msg") as info:
        explore(Vocabulary(NETWORKS[net]), properties=["raw_net"])
    assert "property raw_net raised ModelDefinitionError" in str(info.value)
    s = Vocabulary(NETWORKS[net]).initial_states()[0]
    with pytest.raises(ModelDefinitionError, match=r"iterating s.net"):
        list(s.net)
    assert s.net == s.net[:] and type(s.net[:]) is tuple  # the representation stays readable on purpose


class Prober(Pinger):
    """Pings a peer chosen by a step parameter: ``j`` from node ids, ``k`` from plain numbers."""

    def __init__(self, node_id: int, peer: int, pings: int = 2) -> None:
        super().__init__(node_id, peer, pings)
        self.targets, self.counts = NodeIds((peer,)), (peer,)

    @transition(j="targets", k="counts")
    def probe(self, s: PingerState, j: int, k: int) -> Out:
        if s.sent:
            return None
        return s._replace(sent=1), (Send(j, Ping(0)),)


def test_a_step_parameter_drawn_from_node_ids_is_labelled_with_the_nodes_name_and_the_handler_gets_the_id() -> None:
    m = PingPong(UnorderedBag, pinger=Prober)
    pinger, ponger = (n.name for n in m.nodes())
    probe = next(a for a in m.actions() if a.name == "probe")
    assert probe.args == (("node", pinger), ("j", ponger), ("k", 1))  # k: a number, not an id
    t = m.step(m.initial_states()[0], probe)
    assert t is not None and m.in_flight(t, Ping(0), 0, 1)  # sent to node 1: the handler got the id
