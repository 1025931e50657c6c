"""Lease safety of ``models/lease.py`` for all timings: the transitions over the reals, in z3.

The lease length L, the skew bound ε (``--drift``), the delay bound δ (``--delay``) and the
margin M are z3 Reals, and so are real time and every clock.  One relation (``transitions``)
describes the master, a standby master (failover), and ``clients`` clients:

- time passes: real time and every clock move forward, each clock within ε of real time;
- a client asks (once per answer, or again a lease after its last ask), remembering its clock;
- a master grants (nobody holds a lease it counts as running, its grace period is over) or
  renews the holder's running lease; either may answer the client's current ask;
- a client takes a grant of its current ask: it believes until ``ask + L - M`` on its clock;
- the primary steps down and the standby, elected, waits ``grace = L`` on its clock.

Messages may be delayed without bound (the model's grow-only message set); a grant echoes its
ask, so a late grant only shortens the lease the client believes in, and δ does not appear in
any transition: the proof covers every δ.

The condition, derived.  A client asks at real time r (its clock reads at most r + ε) and
believes while its clock, at least t - ε at real time t, is below ``ask + L - M``: so only
while t < r + L - M + 2ε.  The lease it gets is granted at real time g >= r on a master clock
m >= g - ε; another client is granted only when that master's clock reaches m + L (or the
standby's reaches its election clock + L, elected after g), so at real time >= r + L - 2ε.
The two intervals are disjoint exactly when ``M >= 4ε``; below it the bounded search finds a
run with both clients believing.  The inductive invariant is that argument state by state,
with a ghost per master: R, the real time of its last grant plus L (``invariant``).

The proof is tied to the Python model by ``lease_real_tie.py`` (the relation cannot run the
model's handlers): every edge of small instances is an instance of the relation with integer
values, and the formula of lease safety agrees with the model's on every reachable state.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import z3

from ..checker.verdict import ERROR, PROVED, PROVED_FORMULAS_ONLY, UNKNOWN, VIOLATED

DEFAULT_CONDITION = "margin >= 4*drift"
NAMES = ("lease", "drift", "delay", "margin")
BMC_DEPTH = 10  # the shortest run to two believers takes 9 steps (2 asks, 2 grants, 2 deliveries, time)


# ----- operations over z3 terms or Python values (the tie evaluates the same relation) ---------


class Z3Ops:
    """Connectives over z3 terms."""

    And = staticmethod(z3.And)
    Or = staticmethod(z3.Or)
    Not = staticmethod(z3.Not)
    Implies = staticmethod(z3.Implies)
    If = staticmethod(z3.If)


class PyOps:
    """The same connectives over Python values: the relation evaluated on a concrete edge."""

    @staticmethod
    def And(*xs: Any) -> bool:
        return all(xs)

    @staticmethod
    def Or(*xs: Any) -> bool:
        return any(xs)

    @staticmethod
    def Not(x: Any) -> bool:
        return not x

    @staticmethod
    def Implies(a: Any, b: Any) -> bool:
        return (not a) or bool(b)

    @staticmethod
    def If(c: Any, a: Any, b: Any) -> Any:
        return a if c else b


Ops = type[Z3Ops] | type[PyOps]


@dataclass
class Params:
    """L, ε, δ, M and the standby's grace (``L``; 0 for the planted bug)."""

    lease: Any
    drift: Any
    delay: Any
    margin: Any
    grace: Any


@dataclass
class Client:
    pend: Any  # a request is outstanding (the model's ``asked != NONE``)
    ask: Any  # the client's clock at that request (-1: none)
    until: Any  # it believes while its clock is below this
    held: Any  # it got a token (``token > 0``)
    live: Any  # a grant of its current ask is in flight that would raise ``until``


@dataclass
class Master:
    active: Any
    holder: Any  # client index 1..n, 0: none
    expires: Any  # on its clock
    grace: Any  # on its clock: no grant before it
    ghost: Any  # R: real time of its last grant or renewal, plus L (not in any guard)


@dataclass
class State:
    now: Any  # real time
    clocks: list[Any]  # master, standby, clients 1..n
    masters: list[Master]  # primary, standby
    elected: Any  # the election message is in flight
    clients: list[Client]

    def flat(self) -> list[Any]:
        out = [self.now, *self.clocks, self.elected]
        for m in self.masters:
            out += [m.active, m.holder, m.expires, m.grace, m.ghost]
        for c in self.clients:
            out += [c.pend, c.ask, c.until, c.held, c.live]
        return out


def symbolic_state(tag: str, n: int) -> State:
    def r(x: str) -> Any:
        return z3.Real(f"{x}{tag}")

    def b(x: str) -> Any:
        return z3.Bool(f"{x}{tag}")

    return State(r("now"), [r(f"clock{i}") for i in range(n + 2)],
                 [Master(b(f"active{m}"), z3.Int(f"holder{m}{tag}"), r(f"expires{m}"), r(f"grace{m}"), r(f"R{m}"))
                  for m in ("M", "S")],
                 b("elected"),
                 [Client(b(f"pend{c}"), r(f"ask{c}"), r(f"until{c}"), b(f"held{c}"), b(f"live{c}"))
                  for c in range(1, n + 1)])


def symbolic_params(grace_is_lease: bool = True) -> Params:
    lease, drift, delay, margin = (z3.Real(x) for x in NAMES)
    return Params(lease, drift, delay, margin, lease if grace_is_lease else z3.RealVal(0))


# ----- the relation ------------------------------------------------------------------------


def believes(o: Ops, s: State, c: int) -> Any:
    """Client ``c`` (1-based) believes it holds the lock."""
    return o.And(s.clients[c - 1].held, s.clocks[c + 1] < s.clients[c - 1].until)


def lease_safety(o: Ops, s: State) -> Any:
    n = len(s.clients)
    return o.And(*(o.Not(o.And(believes(o, s, c), believes(o, s, d)))
                   for c in range(1, n + 1) for d in range(c + 1, n + 1)))


def initial(o: Ops, p: Params, s: State) -> Any:
    m, sb = s.masters
    ghosts = [] if m.ghost is None else [m.ghost == 0, sb.ghost == 0]  # the tie has no ghosts
    return o.And(s.now == 0, *(k == 0 for k in s.clocks), o.Not(s.elected), *ghosts,
                 m.active, m.holder == 0, m.expires == 0, m.grace == 0,
                 o.Not(sb.active), sb.holder == 0, sb.expires == 0, sb.grace == 0,
                 *(o.And(o.Not(c.pend), c.ask == -1, c.until == 0, o.Not(c.held), o.Not(c.live)) for c in s.clients))


def _same(o: Ops, xs: Sequence[Any], ys: Sequence[Any]) -> Any:
    return o.And(*(x == y for x, y in zip(xs, ys, strict=True)))


def _frame(o: Ops, s: State, t: State, *, now: bool = True, clocks: bool = True, masters: Sequence[int] = (),
           clients: Sequence[int] = (), elected: bool = True, ghost: bool = True) -> Any:
    """Everything not named changes nothing (``masters``/``clients``: indices that may change)."""
    parts = [s.now == t.now] if now else []
    if clocks:
        parts.append(_same(o, s.clocks, t.clocks))
    if elected:
        parts.append(s.elected == t.elected)
    for i, (a, b) in enumerate(zip(s.masters, t.masters, strict=True)):
        if i not in masters:
            parts.append(_same(o, [a.active, a.holder, a.expires, a.grace], [b.active, b.holder, b.expires, b.grace]))
            if ghost:
                parts.append(a.ghost == b.ghost)
    for i, (x, y) in enumerate(zip(s.clients, t.clients, strict=True)):
        if i + 1 not in clients:
            parts.append(_same(o, [x.pend, x.ask, x.until, x.held, x.live], [y.pend, y.ask, y.until, y.held, y.live]))
    return o.And(*parts)


def _answer(o: Ops, p: Params, x: Client, y: Client) -> Any:
    """A master's grant or renewal to the client: it may answer the current ask (a live grant)
    or an older one (dead on arrival); nothing else of the client changes."""
    fresh = o.And(x.pend, x.ask + p.lease - p.margin > x.until)
    return o.And(y.pend == x.pend, y.ask == x.ask, y.until == x.until, y.held == x.held,
                 o.Implies(x.live, y.live), o.Implies(y.live, o.Or(x.live, fresh)))


def transitions(o: Ops, p: Params, s: State, t: State, *, ghost: bool = True,
                bug: str | None = None) -> list[tuple[str, Any]]:
    """The named disjuncts of the step relation (``ghost=False``: the ghost updates left out,
    for the tie: they are in no guard, so they restrict no run).  ``bug`` plants
    ``renew-after-expiry`` (a master renews any client's keep-alive, taking it as the holder)."""
    n = len(s.clients)
    eps = p.drift
    out: list[tuple[str, Any]] = []
    within = o.And(*(o.And(k >= 0, t.now - eps <= k, k <= t.now + eps, k >= k0) for k, k0 in zip(t.clocks, s.clocks)))
    out.append(("time", o.And(t.now >= s.now, within, _frame(o, s, t, now=False, clocks=False))))
    for c in range(1, n + 1):
        x, y, k = s.clients[c - 1], t.clients[c - 1], s.clocks[c + 1]
        out.append((f"request c{c}", o.And(
            o.Or(o.Not(x.pend), k >= x.ask + p.lease), y.pend, y.ask == k, y.until == x.until, y.held == x.held,
            o.Not(y.live), _frame(o, s, t, clients=[c]))))
        took = o.And(o.Not(y.pend), y.ask == -1, y.held, o.Not(y.live))
        out.append((f"deliver c{c}", o.And(
            x.pend, x.live, y.until == o.If(x.until >= x.ask + p.lease - p.margin, x.until, x.ask + p.lease - p.margin),
            took, _frame(o, s, t, clients=[c]))))
        out.append((f"deliver-stale c{c}", o.And(x.pend, y.until == x.until, took, _frame(o, s, t, clients=[c]))))
    for i, name in ((0, "master"), (1, "standby")):
        m, m2, k = s.masters[i], t.masters[i], s.clocks[i]
        for c in range(1, n + 1):
            x, y = s.clients[c - 1], t.clients[c - 1]
            took = o.And(m2.active == m.active, m2.holder == c, m2.expires == k + p.lease, m2.grace == m.grace,
                         *([m2.ghost == s.now + p.lease] if ghost else []), _answer(o, p, x, y),
                         _frame(o, s, t, masters=[i], clients=[c]))
            free = o.Or(m.holder == 0, k >= m.expires)
            out.append((f"{name} grants c{c}", o.And(m.active, k >= m.grace, free, took)))
            renew = o.And(m.holder == c, k < m.expires) if bug != "renew-after-expiry" else True
            out.append((f"{name} renews c{c}", o.And(m.active, renew, took)))
    m, sb = s.masters
    m2, sb2 = t.masters
    out.append(("step down", o.And(m.active, o.Not(m2.active), m2.holder == m.holder, m2.expires == m.expires,
                                   m2.grace == m.grace, *([m2.ghost == m.ghost] if ghost else []), t.elected,
                                   _frame(o, s, t, masters=[0], elected=False))))
    out.append(("standby elected", o.And(s.elected, o.Not(sb.active), sb2.active, sb2.holder == 0,
                                         sb2.expires == 0, sb2.grace == s.clocks[1] + p.grace,
                                         *([sb2.ghost == sb.ghost] if ghost else []),
                                         _frame(o, s, t, masters=[1]))))
    out.append(("stutter", _frame(o, s, t, ghost=ghost)))
    return out


def invariant(p: Params, s: State) -> list[tuple[str, Any]]:
    """The inductive invariant, by name (the derivation in the module docstring, state by state)."""
    eps = p.drift
    m, sb = s.masters
    n = len(s.clients)

    def dead(c: int, x: Any) -> Any:
        return z3.Or(x <= s.now - eps, x <= s.clocks[c + 1])

    def protected(c: int, x: Any) -> Any:
        by_primary = z3.And(m.holder == c, z3.Not(z3.And(sb.active, sb.holder != 0)), x <= m.ghost + eps - p.margin)
        by_standby = z3.And(sb.active, sb.holder == c, x <= sb.ghost + eps - p.margin)
        return z3.Or(by_primary, by_standby)

    out = [
        ("clocks within drift", z3.And(s.now >= 0, *(z3.And(k >= 0, s.now - eps <= k, k <= s.now + eps)
                                                     for k in s.clocks))),
        ("masters", z3.And(*(z3.And(a.expires <= k + p.lease, a.expires >= a.ghost - eps, a.ghost <= s.now + p.lease,
                                    a.holder >= 0, a.holder <= n)
                             for a, k in zip(s.masters, s.clocks)))),
        ("one master at a time", z3.And(z3.Implies(z3.Or(s.elected, sb.active), z3.Not(m.active)),
                                        z3.Implies(z3.Not(sb.active), z3.And(sb.holder == 0, sb.expires == 0,
                                                                             sb.ghost == 0)),
                                        z3.Implies(sb.active, sb.grace >= m.ghost - eps))),
    ]
    for c in range(1, n + 1):
        x = s.clients[c - 1]
        got = x.ask + p.lease - p.margin
        out.append((f"c{c} ask", z3.And(z3.Implies(x.pend, z3.And(x.ask >= 0, x.ask <= s.clocks[c + 1])),
                                        z3.Implies(z3.Not(x.held), x.until <= 0))))
        out.append((f"c{c} lease", z3.Or(dead(c, x.until), protected(c, x.until))))
        out.append((f"c{c} grant", z3.Implies(x.live, z3.And(x.pend, got > x.until,
                                                             z3.Or(got <= s.now - eps, protected(c, got))))))
    return out


# ----- the condition -------------------------------------------------------------------------


class ConditionError(ValueError):
    pass


def parse_condition(text: str, p: Params) -> Any:
    """A linear condition over lease, drift, delay, margin (``margin >= 2*drift + delay``; ``and``,
    ``or``, ``not``, ``<``, ``<=``, ``==``, ``+``, ``-``, ``*`` by a number)."""
    names = {"lease": p.lease, "drift": p.drift, "delay": p.delay, "margin": p.margin}
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise ConditionError(f"cannot parse the condition {text!r}; write e.g. 'margin >= 4*drift'") from None

    def ev(e: ast.AST) -> Any:
        if isinstance(e, ast.BoolOp):
            return (z3.And if isinstance(e.op, ast.And) else z3.Or)(*(ev(v) for v in e.values))
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Not):
            return z3.Not(ev(e.operand))
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
            return -ev(e.operand)
        if isinstance(e, ast.Compare):
            ops = {ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
                   ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b}
            terms, parts = [ev(e.left), *(ev(c) for c in e.comparators)], []
            for i, op in enumerate(e.ops):
                if type(op) not in ops:
                    raise ConditionError(f"unsupported comparison in {text!r}")
                parts.append(ops[type(op)](terms[i], terms[i + 1]))
            return z3.And(*parts)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            a, b = ev(e.left), ev(e.right)
            if isinstance(e.op, ast.Add):
                return a + b
            if isinstance(e.op, ast.Sub):
                return a - b
            if isinstance(e.op, ast.Div) and isinstance(e.right, ast.Constant):
                return a / b
            if isinstance(e.op, ast.Mult) and (isinstance(e.left, ast.Constant) or isinstance(e.right, ast.Constant)):
                return a * b
            raise ConditionError(f"{text!r} is not linear: multiply and divide only by numbers")
        if isinstance(e, ast.Name) and e.id in names:
            return names[e.id]
        if isinstance(e, ast.Constant) and isinstance(e.value, int | float) and not isinstance(e.value, bool):
            return z3.RealVal(str(e.value))
        raise ConditionError(f"in {text!r}: only {', '.join(NAMES)}, numbers, + - *, comparisons, and/or/not")

    return ev(tree)


def sane(p: Params) -> Any:
    """What every timing satisfies: a lease, non-negative bounds and margin."""
    return z3.And(p.lease > 0, p.drift >= 0, p.delay >= 0, p.margin >= 0)


# ----- the proof and the counterexample ---------------------------------------------------------


@dataclass
class Obligation:
    name: str
    result: str  # "holds", "fails", "unknown"
    seconds: float


@dataclass
class LeaseProofResult:
    """The verdict; with a weakened condition, a concrete timing run that breaks lease safety."""

    verdict: str
    condition: str
    clients: Sequence[int]
    obligations: list[Obligation] = field(default_factory=list)
    reason: str = ""
    counterexample: list[str] = field(default_factory=list)
    tie: Any = None  # lease_real_tie.TieResult, None: not run
    elapsed_s: float = 0.0
    formulas: str = UNKNOWN
    smallest: SmallestMargin | None = None  # with --smallest-margin

    def to_lines(self) -> list[str]:
        cs = "/".join(str(n) for n in self.clients)
        head = (f"prove lease (parameterized: every lease, drift, delay, margin with {self.condition}; "
                f"{cs} clients, standby failover): {self.verdict}")
        lines = [head + (f" ({self.reason})" if self.reason else "")]
        lines += ["  the condition: " + self.condition,
                  "  the timings are z3 reals; message delay is unbounded (delay appears in no transition)"]
        lines += (["  tie: not run (--no-tie): the verdict is about the formulas; nothing is claimed about the model"]
                  if self.tie is None else self.tie.to_lines())
        lines += [f"  {o.name}: {o.result} ({o.seconds:.3f}s)" for o in self.obligations]
        if self.counterexample:
            lines.append("  counterexample (a run of the real-valued relation, every number exact):")
            lines += ["    " + x for x in self.counterexample]
        if self.smallest is not None:
            lines += ["  " + x for x in self.smallest.to_lines()]
        lines.append(f"  total {self.elapsed_s:.3f}s")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {"model": "lease", "engine": "prove-parameterized", "verdict": self.verdict,
                "reason": self.reason or None,
                "condition": self.condition, "clients": list(self.clients), "formulas": self.formulas,
                "tied": self.tie is not None and self.tie.ok, "tie": None if self.tie is None else self.tie.to_json(),
                "obligations": [{"name": o.name, "result": o.result, "seconds": round(o.seconds, 6)}
                                for o in self.obligations],
                "counterexample": self.counterexample or None, "elapsed_s": round(self.elapsed_s, 6),
                **({"smallest_margin": self.smallest.to_json()} if self.smallest is not None else {})}


@dataclass
class SmallestMargin:
    """The least margin that keeps lease safety, per drift: z3's supremum of the margins that
    still have a breaking run, and whether ``margin >= k*drift`` is then proved by induction."""

    sups: list[tuple[int, str]]  # (drift, supremum of unsafe margins: "4 (not reached)", "unbounded")
    coefficient: Fraction | None  # k with sup = k*drift at every drift tried
    proved: bool  # margin >= k*drift proved by induction for every lease, drift, delay
    depth: int

    def to_lines(self) -> list[str]:
        out = [f"smallest safe margin (z3 Optimize over runs of at most {self.depth} steps, every lease value):"]
        out += [f"  drift {d}: a run breaks lease safety for every margin below "
                + sup.replace(" (not reached)", " (the supremum is not reached)") for d, sup in self.sups]
        if self.coefficient is None:
            out.append("  the suprema are not one multiple of the drift: no closed form claimed")
        else:
            k = self.coefficient
            out.append(f"  so the least safe margin is {k}*drift" + (
                f": margin >= {k}*drift is proved by induction (every lease, drift, delay)" if self.proved
                else f", but margin >= {k}*drift did not prove by induction: the bound is not claimed"))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"suprema": {str(d): sup for d, sup in self.sups},
                "coefficient": None if self.coefficient is None else str(self.coefficient),
                "proved": self.proved, "depth": self.depth}


def smallest_margin(n: int = 2, drifts: Sequence[int] = (1, 2), *, depth: int = BMC_DEPTH,
                    timeout_s: float = 300) -> SmallestMargin:
    """For each drift, maximize the margin over runs that end with two believers: below the
    supremum a run exists, so no smaller margin is safe; then prove the multiple it suggests."""
    p = symbolic_params(True)
    states = [symbolic_state(f"@{i}", n) for i in range(depth + 1)]
    sups: list[tuple[int, str]] = []
    ks: set[Fraction | None] = set()
    for d in drifts:
        opt = z3.Optimize()
        opt.set("timeout", int(timeout_s * 1000))
        opt.add(sane(p), initial(Z3Ops, p, states[0]), p.drift == d)
        for i in range(depth):
            opt.add(z3.Or(*(f for _, f in transitions(Z3Ops, p, states[i], states[i + 1]))))
        opt.add(z3.Not(lease_safety(Z3Ops, states[-1])))
        h = opt.maximize(p.margin)
        res = opt.check()
        sup, value = _supremum(opt, h) if res == z3.sat else (f"unknown ({res})", None)
        sups.append((d, sup))
        ks.add(None if value is None else value / d)  # None: unbounded or unknown
    k = ks.pop() if len(ks) == 1 else None
    proved = False
    if k is not None:
        cond = (f"margin >= {k.numerator}*drift" if k.denominator == 1
                else f"{k.denominator}*margin >= {k.numerator}*drift")
        proved = prove_formulas(n, cond, timeout_s=timeout_s)[1]
    return SmallestMargin(sups, k, proved, depth)


def _supremum(opt: z3.Optimize, h: Any) -> tuple[str, Fraction | None]:
    """The supremum as text ("4", "4 (not reached)") and its value, read from z3's
    (infinity, value, epsilon) triple, not from its printed form, which varies between runs:
    the same open bound 8 prints as ``8 + -1*epsilon`` or ``8 + -2*epsilon``."""
    triple = [_number(opt.upper_values(h)[i]) for i in range(3)]
    if None in triple:
        return f"not a number ({opt.upper(h)})", None
    inf, value, eps = triple
    if inf != 0:
        return "unbounded", None
    assert value is not None and eps is not None
    return str(value) + (" (not reached)" if eps < 0 else ""), value


def _number(v: Any) -> Fraction | None:
    if z3.is_int_value(v):
        return Fraction(v.as_long())
    if z3.is_rational_value(v):
        return Fraction(v.numerator_as_long(), v.denominator_as_long())
    return None


def _check(goal_negation: Any, timeout_s: float) -> tuple[str, z3.ModelRef | None]:
    sv = z3.Solver()
    sv.set("timeout", int(timeout_s * 1000))
    sv.add(goal_negation)
    r = sv.check()
    return ("holds", None) if r == z3.unsat else ("fails", sv.model()) if r == z3.sat else ("unknown", None)


def prove_formulas(n: int, condition: str = DEFAULT_CONDITION, *, timeout_s: float = 60,
                   bug: str | None = None, grace_is_lease: bool = True) -> tuple[list[Obligation], bool]:
    """Induction for ``n`` clients under ``condition``: initiation, consecution per transition,
    and the invariant implies lease safety.  Returns the obligations and whether all held."""
    p = symbolic_params(grace_is_lease)
    cond = z3.And(sane(p), parse_condition(condition, p))
    s, t = symbolic_state("", n), symbolic_state("'", n)
    inv = z3.And(*(f for _, f in invariant(p, s)))
    inv2 = z3.And(*(f for _, f in invariant(p, t)))
    obs: list[Obligation] = []

    def run(name: str, negation: Any) -> None:
        t0 = time.perf_counter()
        res, _ = _check(z3.And(cond, negation), timeout_s)
        obs.append(Obligation(f"{n} clients: {name}", res, time.perf_counter() - t0))

    run("initial states satisfy the invariant", z3.And(initial(Z3Ops, p, s), z3.Not(inv)))
    for name, rel in transitions(Z3Ops, p, s, t, bug=bug):
        run(f"{name} keeps the invariant", z3.And(inv, rel, z3.Not(inv2)))
    run("the invariant implies lease safety", z3.And(inv, z3.Not(lease_safety(Z3Ops, s))))
    return obs, all(o.result == "holds" for o in obs)


def _num(v: Any) -> str:
    if z3.is_true(v) or z3.is_false(v):
        return "yes" if z3.is_true(v) else "no"
    if z3.is_rational_value(v):
        f = v.as_fraction()
        return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
    return str(v)


def find_counterexample(n: int, condition: str, *, depth: int = BMC_DEPTH, timeout_s: float = 60,
                        bug: str | None = None, grace_is_lease: bool = True, horizon: int | None = None) -> list[str]:
    """A run of at most ``depth`` steps under ``condition`` that ends with two clients believing,
    printed step by step with every number ([] if there is none that short).

    ``horizon``: only runs in whole ticks up to that real time, the discrete model's runs (the
    cross-check asks the relation the question the explicit checker answers, on the same numbers)."""
    p = symbolic_params(grace_is_lease)
    states = [symbolic_state(f"@{i}", n) for i in range(depth + 1)]
    sv = z3.Solver()
    sv.set("timeout", int(timeout_s * 1000))
    sv.add(sane(p), parse_condition(condition, p), initial(Z3Ops, p, states[0]))
    if horizon is not None:
        for st in states:
            sv.add(st.now <= horizon)
            sv.add(*(z3.IsInt(x) for x in st.flat() if z3.is_real(x)))
    chosen = [z3.Int(f"step{i}") for i in range(depth)]
    names: list[str] = []
    for i in range(depth):
        ds = transitions(Z3Ops, p, states[i], states[i + 1], bug=bug)
        names = [nm for nm, _ in ds]
        sv.add(z3.Or(*(z3.And(chosen[i] == j, f) for j, (_, f) in enumerate(ds))))
    sv.add(z3.Not(lease_safety(Z3Ops, states[-1])))
    sv.push()
    sv.add(p.drift == 1)  # every run scales: prefer the one with drift 1 when there is one
    if sv.check() != z3.sat:
        sv.pop()
        if sv.check() != z3.sat:
            return []
    mdl = sv.model()

    def ev(x: Any) -> str:
        return _num(mdl.eval(x, model_completion=True))

    lines = [f"lease L = {ev(p.lease)}, drift ε = {ev(p.drift)}, delay δ = {ev(p.delay)} (any), "
             f"margin M = {ev(p.margin)}, standby grace = {ev(p.grace)}"]

    def show(s: State) -> str:
        clocks = ", ".join(f"{nm}={ev(k)}" for nm, k in zip(["master", "standby", *(f"c{c}" for c in range(1, n + 1))],
                                                             s.clocks))
        cs = "; ".join(f"c{c}: " + (f"believes until {ev(x.until)}" if z3.is_true(mdl.eval(believes(Z3Ops, s, c)))
                                    else f"until {ev(x.until)}") + (f", asked at {ev(x.ask)}"
                                                                     if z3.is_true(mdl.eval(x.pend)) else "")
                       for c, x in enumerate(s.clients, 1))
        return f"real time {ev(s.now)}; clocks {clocks}; {cs}"

    lines.append(f"start: {show(states[0])}")
    for i in range(depth):
        name = names[mdl.eval(chosen[i]).as_long()]
        if name == "stutter":
            continue
        extra = ""
        for j, mname in ((0, "master"), (1, "standby")):
            if name.startswith(mname):
                mm = states[i + 1].masters[j]
                extra = f" (lease runs until {ev(mm.expires)} on the {mname}'s clock)"
        if name == "standby elected":
            extra = f" (grants nothing before {ev(states[i + 1].masters[1].grace)} on its clock)"
        lines.append(f"{name}{extra} -> {show(states[i + 1])}")
    lines.append("two clients believe they hold the lock at the same real time: lease safety is violated")
    return lines


def prove_lease_param(timeout_s: float = 60, *, tie: bool = True, model_class: type | None = None,
                      condition: str | None = None, clients: Sequence[int] = (2, 3),
                      progress: Callable[[str], None] | None = None,
                      smallest: bool = False) -> LeaseProofResult:
    """Lease safety for every timing satisfying ``condition`` (default ``margin >= 4*drift``),
    tied to ``model_class`` (default ``models.lease.Lease``).  ``proved`` needs the induction and
    the tie; a failed induction looks for a concrete run (``violated`` with its numbers) and
    otherwise says ``unknown``; a failed tie is ``error``."""
    from .lease_real_tie import tie_lease_real

    t0 = time.perf_counter()
    cond = condition or DEFAULT_CONDITION
    parse_condition(cond, symbolic_params())  # a condition that does not parse fails before the tie's work
    tied = tie_lease_real(model_class, progress=progress) if tie else None
    obs: list[Obligation] = []
    ok = True
    for n in clients:
        more, good = prove_formulas(n, cond, timeout_s=timeout_s)
        obs += more
        ok = ok and good
        if progress:
            progress(f"{n} clients: induction {'holds' if good else 'fails'}")
    result = LeaseProofResult(PROVED if ok else UNKNOWN, cond, tuple(clients), obs, tie=tied)
    result.formulas = result.verdict
    if not ok:
        result.counterexample = find_counterexample(min(clients), cond, timeout_s=timeout_s)
        if result.counterexample:
            result.verdict = result.formulas = VIOLATED
            result.reason = f"{cond} does not imply lease safety: a run breaks it (below)"
        else:
            result.reason = (f"the invariant is not inductive under {cond} and no run of {BMC_DEPTH} steps "
                             "breaks lease safety")
    if smallest:
        if progress:
            progress("the smallest safe margin: z3 Optimize ...")
        result.smallest = smallest_margin(min(clients), timeout_s=max(timeout_s, 300))
    if tied is not None and not tied.ok:
        result.verdict = ERROR
        result.reason = f"the tie failed: the relation does not describe {tied.model} ({tied.failure})"
    elif result.verdict == PROVED and tied is None:
        result.verdict = PROVED_FORMULAS_ONLY
        result.reason = "proved for the formulas only: the tie to the model was not run"
    result.elapsed_s = time.perf_counter() - t0
    return result


__all__ = [
    "DEFAULT_CONDITION",
    "ConditionError",
    "LeaseProofResult",
    "PyOps",
    "SmallestMargin",
    "State",
    "Z3Ops",
    "find_counterexample",
    "initial",
    "invariant",
    "lease_safety",
    "parse_condition",
    "prove_formulas",
    "prove_lease_param",
    "transitions",
]
