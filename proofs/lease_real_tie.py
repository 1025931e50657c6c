"""The tie of the real-valued lease relation (``lease_real.py``) to ``models/lease.py``.

The relation cannot run the model's handlers (its times are reals), so on every run it is tied
to the Python model on small instances, as ``paxos_param_tie.py`` ties the parameterized Paxos
formulas: every reachable state of each instance (up to its first violation) is mapped to the relation's vocabulary
(``abstract``), and

- (a) the initial state satisfies ``initial``;
- (b) every edge of the explicit state graph is an instance of ``transitions`` (some disjunct
  holds with the integer values; the ghost updates are left out: no guard reads them);
- (c) the formula of lease safety agrees with the model's ``lease_safety`` on every state.

The instances are small (the full graph, past the checker's first violation, is walked): perfect
clocks with failover, and a clock that runs ahead by the drift with a margin below ``4 * drift``
(the drifting instances with time moving are too big to walk on every run).  The relation's margin is the
configured ``--margin`` and its grace ``--lease``: the ``no-margin``, ``failover-without-grace``
and ``renew-after-expiry`` variants fail (b).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .lease_real import Client, Master, Params, PyOps, State, initial, lease_safety, transitions


@dataclass(frozen=True)
class TieInstance:
    clients: int = 2
    lease: int = 3
    drift: int = 1
    margin: int = 1
    max_time: int = 3
    failover: bool = False

    def describe(self) -> str:
        return " ".join(f"--{k.replace('_', '-')} {v}".lower() for k, v in self.__dict__.items())


# Small enough to run on every prove (a few seconds in all); margin 1 < 4 * drift reaches violations.
TIE_INSTANCES: tuple[TieInstance, ...] = (
    TieInstance(clients=2, lease=1, drift=0, margin=0, max_time=1, failover=True),
    TieInstance(clients=2, lease=2, drift=1, margin=1, max_time=0),
)


@dataclass
class InstanceResult:
    instance: TieInstance
    states: int = 0
    edges: int = 0
    violations: int = 0  # reachable states where the model's lease safety fails (and the formula's)
    failure: str = ""

    @property
    def ok(self) -> bool:
        return not self.failure


@dataclass
class TieResult:
    model: str
    instances: list[InstanceResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.instances)

    @property
    def failure(self) -> str:
        bad = next((r for r in self.instances if not r.ok), None)
        return "" if bad is None else f"{bad.instance.describe()}: {bad.failure}"

    def to_lines(self) -> list[str]:
        head = f"  tie to {self.model}: " + ("ok" if self.ok else "FAILED")
        return [head] + [f"    {r.instance.describe()}: {r.states} states, {r.edges} edges, "
                         f"{r.violations} unsafe states" + ("" if r.ok else f": {r.failure}")
                         for r in self.instances]

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "ok": self.ok,
                "instances": [{"instance": r.instance.__dict__, "states": r.states, "edges": r.edges,
                               "violations": r.violations, "failure": r.failure or None} for r in self.instances]}


def abstract(model: Any, s: Any) -> State:
    """The relation's view of a model state: real time, clocks, masters, clients; a client's
    grant is live when a grant of its current ask is in flight that would raise its ``until``."""
    c = model.config
    standby = c.clients + 2 if c.failover else None
    lease, margin = c.lease, c.margin
    env = s.env
    flight = model.in_flight(s)

    def master(i: int | None) -> Master:
        if i is None:
            return Master(False, 0, 0, 0, None)
        m = s.nodes[i]
        return Master(m.active, 0 if m.holder < 0 else m.holder - 1, m.expires, m.grace, None)

    clients = []
    for node in model.clients():
        x = s.nodes[node]
        pend = x.asked >= 0
        live = pend and x.asked + lease - margin > x.until and any(
            e.dst == node and type(e.msg).__name__ == "Grant" and e.msg.at == x.asked for e in flight)
        clients.append(Client(pend, x.asked, x.until, x.token > 0, live))
    elected = standby is not None and any(e.dst == standby and type(e.msg).__name__ == "Elected" for e in flight)
    clocks = [env.clocks[0], env.now if standby is None else env.clocks[standby],
              *(env.clocks[node] for node in model.clients())]
    return State(env.now, clocks, [master(0), master(standby)], elected, clients)


def conform_one(model_class: type, inst: TieInstance, max_states: int = 100_000) -> InstanceResult:
    model = model_class(clients=inst.clients, lease=inst.lease, drift=inst.drift, margin=inst.margin,
                        max_time=inst.max_time, failover=inst.failover)
    p = Params(inst.lease, inst.drift, 0, inst.margin, inst.lease)
    res = InstanceResult(inst)
    inits = model.initial_states()
    seen = set(inits)
    todo = deque(inits)
    for s0 in inits:
        if not initial(PyOps, p, abstract(model, s0)):
            res.failure = f"(a) the initial state is not an initial state of the relation: {abstract(model, s0)}"
            return res
    while todo:
        s = todo.popleft()
        res.states += 1
        a = abstract(model, s)
        safe = bool(model.lease_safety(s))
        if bool(lease_safety(PyOps, a)) != safe:
            res.failure = f"(c) lease safety: the model says {safe}, the formula {not safe} on {s}"
            return res
        res.violations += not safe
        if not safe:
            continue  # as the checker does: a run stops at its first violation
        for action, t in model.successors(s):
            res.edges += 1
            b = abstract(model, t)
            if b != a and not any(f for _, f in transitions(PyOps, p, a, b, ghost=False)):
                res.failure = f"(b) the edge {action} is no transition of the relation: {a} -> {b}"
                return res
            if t not in seen:
                if len(seen) >= max_states:
                    res.failure = f"more than {max_states} states: the instance is too big for the tie"
                    return res
                seen.add(t)
                todo.append(t)
    return res


def tie_lease_real(model_class: type | None = None, instances: Sequence[TieInstance] = TIE_INSTANCES,
                   progress: Callable[[str], None] | None = None) -> TieResult:
    """The tie on every instance (stopping at the first failure)."""
    if model_class is None:
        from ..models.lease import Lease

        model_class = Lease
    out = TieResult(model_class.__name__)
    for inst in instances:
        r = conform_one(model_class, inst)
        out.instances.append(r)
        if progress:
            progress(f"tie {inst.describe()}: {r.states} states, {r.edges} edges: "
                     + ("ok" if r.ok else r.failure))
        if not r.ok:
            break
    return out


__all__ = ["TIE_INSTANCES", "TieInstance", "TieResult", "abstract", "conform_one", "tie_lease_real"]
