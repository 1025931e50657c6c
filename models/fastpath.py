"""The fast paths of an actor system's successors: cached by network value, or on packed codes.

``state_expander`` looks deliveries up once per distinct network value, and keeps a plain node's
handler results per local state, building a step that only changes the node and sends from the kept
result instead of running the handler again.  ``packed_expander``
works on packed codes: on a ``DuplicatingSet`` without crashes or timers a step changes one
node's local state and sets bits of the message set, so its effect on the code is ``code +
(new digit - old digit) * weight + new bits``.  That effect depends only on the node's own digit (and, for
``reads_inbox`` nodes, on the bits of its inbox), so each handler runs once per local state
(per inbox), not once per global state.  Handlers are pure (the checker verifies that the
same state gives the same successors), which makes this a cache, not an approximation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import Action, Disabled
from .effects import Broadcast, CancelTimer, Envelope, Keep, Persist, Send
from .nodes import Node
from .schema import Record, SetOf, Tuple

if TYPE_CHECKING:
    from .actors import ActorSystem, Step, SysState

#: Caches of the expanders stop growing beyond this many entries (they are only a cache).
CACHE_LIMIT = 1 << 18


class Unusual(Exception):
    """Something the packed expander does not handle; the general path reports it."""


def state_expander(system: ActorSystem) -> Callable[[SysState], list[tuple[Action, SysState]]]:
    """The instances in ``_compiled()`` order, but the network's steps looked up per network value.

    Many states share their messages in flight, so which deliveries, drops and duplications
    are enabled is computed once per distinct network value (from the messages present, not
    by testing every envelope of the universe) instead of in every state.
    """
    from .networks import UnorderedBag

    inst = system._compiled()
    k = sum(len(insts) for n in system._nodes for _name, _fn, insts in n.steps())
    nd = len(system._deliverable)
    before, deliveries, rest = inst[:k], inst[k : k + nd], inst[k + nd :]
    nt = sum(len(n.timers) for n in system._nodes)
    timeouts, rest = rest[:nt], rest[nt:]
    net_sem = system._net
    universe = list(system._universe)
    ndrop = len(universe) if net_sem.lossy else 0
    drops, rest = rest[:ndrop], rest[ndrop:]
    ndup = len(universe) if isinstance(net_sem, UnorderedBag) and net_sem.duplicating else 0
    dups, after = rest[:ndup], rest[ndup:]
    assert all(a.name == "deliver" for a, _f in deliveries)
    assert all(a.name == "drop" for a, _f in drops) and all(a.name == "duplicate" for a, _f in dups)
    # Whether a node's own step is enabled depends on its local state only (a node that reads
    # neither its inbox nor a clock): the enabled ones are looked up per local state.
    # For such a node the handler's result is kept too (handlers are pure): a step that only
    # changes the node's state and sends is then built here without running its handler again.
    from .actors import ActorSystem, SysState

    cls = type(system)
    plans = cls._local is ActorSystem._local and cls._apply_effects is ActorSystem._apply_effects
    live: list[tuple[int, bool, list[int], Callable[[Any], list[tuple[int, Plan | None]]]]] = []
    pos = 0
    for n in system._nodes:
        steps = [(fn, tuple(v for _k, v in args)) for _name, fn, insts in n.steps() for args in insts]
        if steps:
            positions = list(range(pos, pos + len(steps)))
            plain = not n.reads_inbox and not n.reads_clock
            plan_of = _planner(system, n.id) if plans else None
            live.append((n.id, plain, positions, _enabled_by_local_state(steps, positions, plan_of)))
        pos += len(steps)
    ok = system.constraint if cls.constraint is not ActorSystem.constraint else None
    add = net_sem.add
    new = tuple.__new__
    position = {e: p for p, e in enumerate(universe)}
    deliver_at = {position[e]: d for e, d in zip(system._deliverable, deliveries, strict=True)}
    cache: dict[Any, list[tuple[Action, Step]]] = {}

    def ready_for(net: Any) -> list[tuple[Action, Step]]:
        present = net_sem.present(net)
        ready = [deliver_at[p] for p in present if p in deliver_at] + timeouts
        if drops:
            ready += [drops[p] for p in present]
        if dups:
            ready += [dups[p] for p in present]
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        cache[net] = ready
        return ready

    def expand(s: SysState) -> list[tuple[Action, SysState]]:
        out = []
        nodes = s[0]
        for i, plain, every, enabled in live:
            if not plain or s[3]:  # a node down, or a step that reads more than the node's state
                for p in every:
                    a, f = before[p]
                    t = f(s)
                    if t is not None:
                        out.append((a, t))
                continue
            for p, plan in enabled(nodes[i]):
                a, f = before[p]
                if plan is None:
                    t = f(s)
                else:  # what ``ActorSystem._local`` (then the constraint) makes of the kept result
                    ls, sent = plan
                    t = new(SysState, (nodes[:i] + (ls,) + nodes[i + 1 :], add(s[1], sent) if sent else s[1],
                                       s[2], s[3], s[4], s[5], s[6]))
                    if ok is not None and not ok(t):
                        t = None
                if t is not None:
                    out.append((a, t))
        net = s[1]
        ready = cache.get(net)
        if ready is None:
            ready = ready_for(net)
        for a, f in ready:
            t = f(s)
            if t is not None:
                out.append((a, t))
        for a, f in after:
            t = f(s)
            if t is not None:
                out.append((a, t))
        return out

    return expand


#: A local step's kept result: the node's next state and the envelopes it sends.
Plan = tuple[Any, tuple[Envelope, ...]]


def _planner(system: ActorSystem, i: int) -> Callable[[Any], Plan | None]:
    """What node ``i``'s handler result does, where it only changes the node's state and sends
    (None otherwise: timers, a disk that is read, sends that age on a clock, a malformed result;
    the step itself then runs, and reports what it must)."""
    skip = (Keep,) if system._faults.keeps_disk else (Keep, Persist)  # a disk never read is not written
    aging = system._aging

    def plan(r: Any) -> Plan | None:
        if type(r) is not tuple or len(r) != 2 or type(r[1]) not in (tuple, list):
            return None
        sent: list[Envelope] = []
        for e in r[1]:
            t = type(e)
            if t is Send:
                sent.append(Envelope(i, e.dst, e.msg))
            elif t is Broadcast:
                sent.extend([Envelope(i, d, e.msg) for d in e.dsts])
            elif t not in skip:
                return None
        if sent and aging:
            return None
        return r[0], tuple(sent)

    return plan


def _enabled_by_local_state(steps: list[tuple[Callable[..., Any], tuple[Any, ...]]], positions: list[int],
                            plan_of: Callable[[Any], Plan | None] | None = None,
                            ) -> Callable[[Any], list[tuple[int, Plan | None]]]:
    """The positions of the steps whose handler does not refuse a local state, each with what
    its result does (``plan_of``; None: run the step), cached per state.

    A handler that raises is kept, without a plan: running the step reports it with its state and action.
    """
    cache: dict[Any, list[tuple[int, Plan | None]]] = {}

    def enabled(ls: Any) -> list[tuple[int, Plan | None]]:
        got = cache.get(ls)
        if got is None:
            got = []
            for p, (fn, args) in zip(positions, steps, strict=True):
                try:
                    r = fn(ls, *args)
                    if r is None:
                        continue
                except Disabled:
                    continue
                except Exception:
                    got.append((p, None))
                    continue
                got.append((p, None if plan_of is None else plan_of(r)))
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            cache[ls] = got
        return got

    return enabled


def packed_path_declined(system: ActorSystem) -> str | None:
    """Why ``packed_expander`` does not apply to ``system`` (None: it does)."""
    from . import environment
    from .actors import ActorSystem, SysState
    from .networks import DuplicatingSet

    stype, net, cls = system.state_type, system._net, type(system)
    reasons = [
        (type(net) is not DuplicatingSet, f"the network is {net.describe()}, not a DuplicatingSet"),
        (bool(system._faults.max_crashes), "crashes are possible"),
        (any(n.timers for n in system._nodes), "nodes have timers"),
        (environment.has_environment(system),
         f"environment actions ({', '.join(environment.env_families(system))})"),
        (cls.expander is not ActorSystem.expander, f"{cls.__name__} overrides expander()"),
        (cls.constraint is not ActorSystem.constraint, f"{cls.__name__} has a state constraint"),
        (cls._instances is not ActorSystem._instances,
         f"{cls.__name__} overrides _instances() (declare extra steps with @environment instead)"),
        (not isinstance(stype, Record) or stype.cls is not SysState
         or any(p.size != 1 for p in stype.parts[2:]), "the state is not a plain SysState"),
    ]
    return next((why for bad, why in reasons if bad), None)


def packed_expander(system: ActorSystem, stype: Record) -> Callable[[int], list[tuple[Action, int]]]:
    """``system.expander()`` on packed codes; the caller has checked that the system is eligible.

    Anything unusual while filling the cache (a handler that raises, a local state or a
    message outside the schema, a timer) propagates: the checker then re-runs that state
    through ``expander`` to report it with its state and action.
    """
    net_sem = system._net
    nodes_t, net_t = stype.parts[0], stype.parts[1]
    assert isinstance(nodes_t, Tuple) and isinstance(net_t, SetOf)
    ns = nodes_t.size
    sizes = [p.size for p in nodes_t.parts]
    weights = list(nodes_t._radix)
    bit_of = {e: k for k, e in enumerate(net_t.universe)}
    packers = [p.packer(True) for p in nodes_t.parts]
    unpackers = [p.unpacker(True) for p in nodes_t.parts]
    Entry = tuple[Action, int, int]  # action, change of the code's node part, bits sent
    effect = _effect_of(system, net_t, packers, weights)

    def entry(n: Node[Any], handler: str, a: Action, d: int, fn: Callable[..., Any], *args: Any) -> Entry | None:
        """What running ``fn`` in local state ``d`` does to a code (None: not enabled)."""
        got = effect(n, handler, d, fn, *args)
        return None if got is None else (a, *got)

    def local_steps(n: Node[Any], acts: list[Action]) -> Callable[[int, int], list[Entry]]:
        steps = [(name, fn, tuple(v for _k, v in args)) for name, fn, insts in n.steps() for args in insts]
        mine = [(k, e.msg) for e, k in bit_of.items() if n.in_inbox(e)]

        def compute(d: int, net: int) -> list[Entry]:
            ls = unpackers[n.id](d)
            lead = (ls, frozenset(m for k, m in mine if net >> k & 1)) if n.reads_inbox else (ls,)
            out = [entry(n, name, a, d, fn, *lead, *args) for (name, fn, args), a in zip(steps, acts, strict=True)]
            return [x for x in out if x is not None]

        return compute

    # Node steps, in the order of ``_compiled()``: (node, inbox bits, cache, compute).
    inst = system._compiled()
    locals_: list[tuple[int, int, dict[Any, list[Entry]], Callable[[int, int], list[Entry]]]] = []
    pos = 0
    for n in system._nodes:
        count = sum(len(insts) for _name, _fn, insts in n.steps())
        if count:
            inbox_bits = sum(1 << k for e, k in bit_of.items() if n.in_inbox(e)) if n.reads_inbox else 0
            locals_.append((n.id, inbox_bits, {}, local_steps(n, [a for a, _f in inst[pos : pos + count]])))
        pos += count

    def delivery(env: Envelope, a: Action) -> Callable[[int], Entry | None]:
        n = system._nodes[env.dst]
        return lambda d: entry(n, "on_message", a, d, n.on_message, unpackers[n.id](d), env.src, env.msg)

    # Deliveries by bit of the message set: (destination, compute, cache); drops for lossy sets.
    Ready = tuple[int, Callable[[int], Entry | None], dict[int, Entry | None]]
    dels: dict[int, Ready] = {bit_of[e]: (e.dst, delivery(e, a), {})
            for e, (a, _f) in zip(system._deliverable, inst[pos : pos + len(system._deliverable)], strict=True)}
    drops = [a for a, _f in inst if a.name == "drop"] if net_sem.lossy else []
    # By bit: what delivering it does (None: not deliverable).  The set bits of a code's network
    # are walked each time: a cache per network value missed on nearly every state (Paxos: 185,365
    # networks in 185,369 states) and held a list per network (211 MiB there).
    by_bit: list[Ready | None] = [dels.get(k) for k in range(len(net_t.universe))]
    live = _live_deliveries(dels, sizes)
    limit = CACHE_LIMIT

    def expand(code: int) -> list[tuple[Action, int]]:
        net, rest = divmod(code, ns)
        digits = []
        for r in sizes:
            rest, d = divmod(rest, r)
            digits.append(d)
        out = []
        for i, inbox_bits, cache, compute in locals_:
            key = (digits[i], net & inbox_bits) if inbox_bits else digits[i]
            ents = cache.get(key)
            if ents is None:
                ents = compute(digits[i], net)
                if len(cache) >= limit:
                    cache.clear()
                cache[key] = ents
            for a, dn, mask in ents:
                out.append((a, code + dn + ((net | mask) - net) * ns if mask else code + dn))
        bits = net & live
        while bits:
            low = bits & -bits
            bits ^= low
            ready = by_bit[low.bit_length() - 1]
            if ready is None:
                continue
            dst, deliver, known = ready
            d = digits[dst]
            try:
                hit = known[d]
            except KeyError:
                hit = known[d] = deliver(d)
            if hit is not None:
                a, dn, mask = hit
                out.append((a, code + dn + ((net | mask) - net) * ns if mask else code + dn))
        for k, a in enumerate(drops):
            if net >> k & 1:
                out.append((a, code - (ns << k)))
        return out

    return expand


#: A destination with at most this many local states has its deliveries tried in every one up front.
PROBE_LIMIT = 256


def _live_deliveries(dels: dict[int, tuple[int, Callable[[int], Any], dict[int, Any]]], sizes: list[int]) -> int:
    """The message bits whose delivery is enabled in some local state of the destination (others are
    never looked at: Paxos's 1bs and 2bs, 126 of its 153 messages at ballots 0..2, go to leaders that
    receive nothing).  Each delivery is tried in every local state of a small destination (handlers are
    pure; the results fill the cache); one that raises counts as enabled (the search reports it)."""
    live = 0
    for k, (dst, deliver, known) in dels.items():
        if sizes[dst] > PROBE_LIMIT:
            live |= 1 << k
            continue
        for d in range(sizes[dst]):
            try:
                hit = deliver(d)
            except Exception:
                live |= 1 << k
                break
            known[d] = hit
            if hit is not None:
                live |= 1 << k
                break
    return live


def _effect_of(system: ActorSystem, net_t: SetOf, packers: list[Callable[[Any], int]],
               weights: list[int]) -> Callable[..., tuple[int, int] | None]:
    """``effect(node, handler, digit, fn, *args)``: what a handler run in local state ``digit``
    does to a code, as (change of the node part, bits of the messages sent); None: not enabled."""
    check = system._check_result

    def effect(n: Node[Any], handler: str, d: int, fn: Callable[..., Any], *args: Any) -> tuple[int, int] | None:
        try:
            r = fn(*args)
        except Disabled:
            return None
        if r is None:
            return None
        ls, effects = check(n, handler, r)
        sent: list[Envelope] = []
        for e in effects:
            t = type(e)
            if t is Send:
                sent.append(Envelope(n.id, e.dst, e.msg))  # type: ignore[union-attr]
            elif t is Broadcast:
                sent.extend(Envelope(n.id, dst, e.msg) for dst in e.dsts)  # type: ignore[union-attr]
            elif t is not Persist and t is not CancelTimer and t is not Keep:  # no disk, no timers, no consuming
                raise Unusual(f"{e!r} as an effect")
        mask = net_t.pack(frozenset(sent)) if sent else 0
        return (packers[n.id](ls) - d) * weights[n.id], mask

    return effect


@dataclass(frozen=True)
class CodeStep:
    """One action instance on packed codes, as a function of one node's digit (a table row).

    Enabled where ``effect(digit)`` is not None and, for a delivery or a drop, message bit
    ``bit`` is set; the successor is ``code + change + (sent & ~net) * node_space`` (a drop:
    ``code - (node_space << bit)``).
    """

    action: Action
    node: int  # whose digit decides (-1 for a drop)
    bit: int  # the message bit that must be set (-1: none)
    effect: Callable[[int], tuple[int, int] | None] | None  # None for a drop


@dataclass(frozen=True)
class CodeLayout:
    """A packed system's successors as per-digit steps, in the order of ``packed_expander``."""

    steps: list[CodeStep]
    node_space: int  # the code is ``nodes + node_space * net``
    sizes: list[int]  # each node's number of local states
    weights: list[int]  # each node's digit weight in the node part
    net_bits: int
    unpack_nodes: Callable[[int], Any]


def code_layout(system: ActorSystem, stype: Record) -> CodeLayout | str:
    """``packed_expander`` as per-digit steps (for tables), or why it cannot be (a string).

    The caller has checked that ``packed_path_declined`` is None.
    """
    nodes_t, net_t = stype.parts[0], stype.parts[1]
    assert isinstance(nodes_t, Tuple) and isinstance(net_t, SetOf)
    readers = [n.name for n in system._nodes if n.reads_inbox and any(n.steps())]
    if readers:
        return f"node {readers[0]} reads its inbox (its steps depend on more than its own state)"
    weights = list(nodes_t._radix)
    packers = [p.packer(True) for p in nodes_t.parts]
    unpackers = [p.unpacker(True) for p in nodes_t.parts]
    effect = _effect_of(system, net_t, packers, weights)
    bit_of = {e: k for k, e in enumerate(net_t.universe)}
    inst = system._compiled()
    out: list[CodeStep] = []
    pos = 0
    for n in system._nodes:
        for name, fn, insts in n.steps():
            for args in insts:
                vals = tuple(v for _k, v in args)
                a = inst[pos][0]
                out.append(CodeStep(a, n.id, -1, _bind(effect, n, name, unpackers[n.id], fn, vals)))
                pos += 1
    dels = []
    for e, (a, _f) in zip(system._deliverable, inst[pos : pos + len(system._deliverable)], strict=True):
        n = system._nodes[e.dst]
        step = CodeStep(a, n.id, bit_of[e], _bind(effect, n, "on_message", unpackers[n.id], n.on_message,
                                                   (e.src, e.msg)))
        dels.append((bit_of[e], step))
    out += [step for _k, step in sorted(dels, key=lambda x: x[0])]
    if system._net.lossy:
        out += [CodeStep(a, -1, k, None) for k, a in enumerate(a for a, _f in inst if a.name == "drop")]
    return CodeLayout(out, nodes_t.size, [p.size for p in nodes_t.parts], weights, len(net_t.universe),
                      nodes_t.unpacker(True))


def _bind(effect: Callable[..., tuple[int, int] | None], n: Node[Any], handler: str, unpack: Callable[[int], Any],
          fn: Callable[..., Any], args: tuple[Any, ...]) -> Callable[[int], tuple[int, int] | None]:
    return lambda d: effect(n, handler, d, fn, unpack(d), *args)
