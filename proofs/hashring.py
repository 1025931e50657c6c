"""z3 proves the ring's movement statements for every placement of 64-bit token positions.

``protoproof prove hashring --nodes N --vnodes V --replicas R``: at that size, the positions of
all N×V tokens and of the key are free 64-bit bitvectors (ties, wrap-around and every order
included; no axiom but the ring's arithmetic modulo 2**64) and the membership is free too, so
each statement of ``models.hashring_model`` is one z3 query per node ``j`` that joins or leaves:

- ``distinct``: a preference list holds min(R, members) distinct nodes;
- ``join_moves``: a join of ``j`` moves a key only to ``j``; ``leave_moves``: a leave of ``j``
  moves only the keys ``j`` owned;
- ``join_inserts``: ``new == (old[:i] + [j] + old[i:])[:R]`` for some ``i``;
- ``leave_appends``: ``new == [x for x in old_of(R+1) if x != j][:R]``.

The lookup is encoded by hand (``ENCODINGS``, one per ring class): node ``n`` precedes ``m`` in
a key's walk when its nearest token clockwise is nearer (distance ``token - key`` modulo 2**64),
ties by node id, and a preference list's slot ``s`` holds the member with ``s`` predecessors.
Since the Python ring walks a sorted list with ``bisect``, the encoding is tied to it on every
run (``hashring_tie``): on seeded random placements, with and without ties, the encoded lists
and every statement, evaluated by z3 on the concrete values, equal what the model's ring class
and the model's own statement functions compute.  A statement z3 refutes is replayed through the
Python ring at the refuting positions: ``violated`` only if Python fails it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import z3

from ..checker.firstorder.result import INVALID, VALID, Obligation
from ..checker.verdict import ERROR, PROVED, PROVED_FORMULAS_ONLY, UNKNOWN, VIOLATED
from ..models.hashring import Ring
from ..models.hashring_baselines import ModNRing
from ..models.hashring_model import (
    HashRing,
    NoSkipRing,
    distinct_at,
    join_inserts_once,
    join_moves_only_to,
    leave_drops_and_appends,
    leave_moves_only_from,
)

BITS = 64
#: A preference list as slots: ``slots[s][n]`` holds when node ``n`` is at position ``s``.
Slots = list[list[z3.BoolRef]]
#: ``(tokens[n][i], member[n], key, r) -> slots`` for r positions.
Encoding = Callable[[Sequence[Sequence[Any]], Sequence[Any], Any, int], Slots]


def _count(conds: Sequence[Any]) -> z3.BitVecRef:
    """How many of ``conds`` hold, as an 8-bit bitvector, so that every query is pure bitvector
    logic (QF_BV, which z3 bit-blasts) rather than bitvectors mixed with integer arithmetic."""
    return reduce(lambda a, b: a + b, [z3.If(c, _small(1), _small(0)) for c in conds], _small(0))


def _small(n: int) -> z3.BitVecRef:
    return z3.BitVecVal(n, 8)


def _bv(n: int) -> z3.BitVecRef:
    return z3.BitVecVal(n, BITS)


def clockwise(tok: Sequence[Sequence[Any]], member: Sequence[Any], key: Any, r: int) -> Slots:
    """``Ring``: nodes ordered by the clockwise distance (``token - key`` modulo 2**64) of their
    nearest token, ties by id.  (Distances by subtraction: z3 proves these 3-5 times faster than
    the same order written with comparisons only.)"""
    n_nodes = len(tok)
    dist = [reduce(lambda a, b: z3.If(z3.ULT(b, a), b, a), [t - key for t in tok[n]]) for n in range(n_nodes)]

    def before(m: int, n: int) -> Any:
        return z3.Or(z3.ULT(dist[m], dist[n]), z3.And(dist[m] == dist[n], m < n))

    rank = [_count([z3.And(member[m], before(m, n)) for m in range(n_nodes) if m != n]) for n in range(n_nodes)]
    return [[z3.And(member[n], rank[n] == s) for n in range(n_nodes)] for s in range(r)]


def mod_n(tok: Sequence[Sequence[Any]], member: Sequence[Any], key: Any, r: int) -> Slots:
    """``ModNRing``: the member at index ``(key mod members + s) mod members`` in id order (the
    remainder split by the member count, so that z3 divides by constants)."""
    n_nodes = len(tok)
    bit = [z3.If(member[n], _bv(1), _bv(0)) for n in range(n_nodes)]
    count = reduce(lambda a, b: a + b, bit)
    index = [reduce(lambda a, b: a + b, bit[:n], _bv(0)) for n in range(n_nodes)]

    first = reduce(lambda acc, c: z3.If(count == c, z3.URem(key, c), acc), range(2, n_nodes + 1), _bv(0))

    def at(s: int) -> Any:  # (first + s) mod count, for s < count
        return z3.If(z3.UGE(first + s, count), first + s - count, first + s)

    return [[z3.And(member[n], z3.ULT(_bv(s), count), index[n] == at(s)) for n in range(n_nodes)] for s in range(r)]


def no_skip(tok: Sequence[Sequence[Any]], member: Sequence[Any], key: Any, r: int) -> Slots:
    """``NoSkipRing`` (a planted bug): the owners of the next r tokens, duplicates kept."""
    flat = [(n, i, t - key) for n in range(len(tok)) for i, t in enumerate(tok[n])]

    def before(a: tuple[int, int, Any], b: tuple[int, int, Any]) -> Any:
        return z3.Or(z3.ULT(a[2], b[2]), z3.And(a[2] == b[2], a[:2] < b[:2]))

    rank = {(n, i): _count([z3.And(member[m], before((m, j, d), (n, i, e))) for m, j, d in flat if (m, j) != (n, i)])
            for n, i, e in flat}
    total = _count([member[n] for n, _i, _d in flat])
    return [[z3.And(member[n], z3.ULT(_small(s), total), z3.Or([rank[n, i] == s for i in range(len(tok[n]))]))
             for n in range(len(tok))] for s in range(r)]


#: The encoding of each ring class's lookup; a ring class without one is not proved.
ENCODINGS: dict[type, Encoding] = {Ring: clockwise, ModNRing: mod_n, NoSkipRing: no_skip}


# ----- the statements over slots ----------------------------------------------------------------

def _same(x: Sequence[Any], y: Sequence[Any]) -> Any:
    return z3.And([a == b for a, b in zip(x, y, strict=True)])


def _filled(slot: Sequence[Any]) -> Any:
    return z3.Or(list(slot))


@dataclass
class Vars:
    """The free variables: token positions, the key, the membership before the change."""

    tok: list[list[z3.BitVecRef]]
    key: z3.BitVecRef
    member: list[z3.BoolRef]

    @staticmethod
    def fresh(nodes: int, vnodes: int) -> Vars:
        return Vars([[z3.BitVec(f"tok_{n}_{i}", BITS) for i in range(vnodes)] for n in range(nodes)],
                    z3.BitVec("key", BITS), [z3.Bool(f"member_{n}") for n in range(nodes)])

    def after(self, j: int, joined: bool) -> list[Any]:
        return [z3.BoolVal(joined) if n == j else m for n, m in enumerate(self.member)]


def distinct(enc: Encoding, v: Vars, r: int) -> tuple[Any, Any]:
    """(assumption, claim): a preference list holds min(r, members) distinct nodes."""
    slots, count = enc(v.tok, v.member, v.key, r), _count(v.member)
    claim = z3.And([_count(slots[s]) == z3.If(z3.ULT(_small(s), count), _small(1), _small(0)) for s in range(r)]
                   + [z3.ULE(_count([slots[s][n] for s in range(r)]), 1) for n in range(len(v.tok))])
    return z3.UGE(count, 1), claim


def join_moves(enc: Encoding, v: Vars, j: int, r: int) -> tuple[Any, Any]:
    old, new = enc(v.tok, v.member, v.key, 1)[0], enc(v.tok, v.after(j, True), v.key, 1)[0]
    claim = z3.And([z3.Implies(new[n], old[n]) for n in range(len(v.tok)) if n != j])
    return z3.And(z3.UGE(_count(v.member), 1), z3.Not(v.member[j])), claim


def leave_moves(enc: Encoding, v: Vars, j: int, r: int) -> tuple[Any, Any]:
    old, new = enc(v.tok, v.member, v.key, 1)[0], enc(v.tok, v.after(j, False), v.key, 1)[0]
    return _leaving(v, j), z3.Or(old[j], _same(old, new))


def join_inserts(enc: Encoding, v: Vars, j: int, r: int) -> tuple[Any, Any]:
    old, new = enc(v.tok, v.member, v.key, r), enc(v.tok, v.after(j, True), v.key, r)
    only_j = [z3.BoolVal(n == j) for n in range(len(v.tok))]
    length = _count([_filled(s) for s in old])

    def inserted(i: int) -> list[list[Any]]:
        return [old[s] if s < i else only_j if s == i else old[s - 1] for s in range(r)]

    claim = z3.Or([z3.And(z3.ULE(_small(i), length), *(_same(new[s], inserted(i)[s]) for s in range(r)))
                   for i in range(r + 1)])
    return z3.And(z3.UGE(_count(v.member), 1), z3.Not(v.member[j])), claim


def leave_appends(enc: Encoding, v: Vars, j: int, r: int) -> tuple[Any, Any]:
    longer, new = enc(v.tok, v.member, v.key, r + 1), enc(v.tok, v.after(j, False), v.key, r)
    kept = [z3.And(_filled(row), z3.Not(row[j])) for row in longer]  # the slots the filter keeps
    rank = [_count(kept[:t]) for t in range(r + 1)]  # where slot t lands after the filter
    claim = [new[s][n] == (z3.Or([z3.And(kept[t], longer[t][n], rank[t] == s) for t in range(r + 1)]) if n != j
                           else z3.BoolVal(False))
             for s in range(r) for n in range(len(v.tok))]
    return _leaving(v, j), z3.And(claim)


def _leaving(v: Vars, j: int) -> Any:
    return z3.And(v.member[j], z3.UGE(_count(v.member), 2))


#: Statement name -> (its z3 form, the model's Python form per key, whether it is per node).
Statement = Callable[..., tuple[Any, Any]]
STATEMENTS: dict[str, tuple[Statement, Callable[..., bool], bool]] = {
    "distinct": (distinct, lambda old, new, j, k, r: distinct_at(old, k, r), False),
    "join_moves": (join_moves, lambda old, new, j, k, r: join_moves_only_to(old, new, j, k), True),
    "leave_moves": (leave_moves, lambda old, new, j, k, r: leave_moves_only_from(old, new, j, k), True),
    "join_inserts": (join_inserts, join_inserts_once, True),
    "leave_appends": (leave_appends, leave_drops_and_appends, True),
}


def instances(name: str, enc: Encoding, v: Vars, nodes: int, r: int) -> list[tuple[int, Any, Any]]:
    """``(j, assumption, claim)`` of a statement, once per node ``j`` that joins or leaves."""
    stmt, _py, per_node = STATEMENTS[name]
    if not per_node:
        return [(-1, *stmt(enc, v, r))]
    return [(j, *stmt(enc, v, j, r)) for j in range(nodes)]


def python_holds(name: str, model: HashRing, tokens: Sequence[int], member: Sequence[bool], j: int,
                 key: int) -> bool:
    """The model's own statement at one key, on the rings of ``member`` and after ``j`` changes."""
    _stmt, py, _per_node = STATEMENTS[name]
    old = model.ring_at(tuple(tokens), tuple(member))
    after = tuple(not m if n == j else m for n, m in enumerate(member))
    new = old if j < 0 else model.ring_at(tuple(tokens), after)
    return py(old, new, j, key, model.config.replicas)


# ----- the proof ------------------------------------------------------------------------------

@dataclass
class HashringProofResult:
    verdict: str
    nodes: int
    vnodes: int
    replicas: int
    ring_class: str
    variant: str | None = None
    obligations: list[Obligation] = field(default_factory=list)
    reason: str = ""
    counterexample: list[str] = field(default_factory=list)
    tie: Any = None  # hashring_tie.TieResult, None: not run
    formulas: str = UNKNOWN
    elapsed_s: float = 0.0

    def to_lines(self) -> list[str]:
        head = (f"prove hashring ({self.nodes} nodes, {self.vnodes} vnodes, {self.replicas} replicas; every "
                f"placement of 64-bit token and key positions, every membership; ring {self.ring_class}"
                f"{', variant ' + self.variant if self.variant else ''}): {self.verdict}")
        lines = [head + (f" ({self.reason})" if self.reason else "")]
        lines += (["  tie: not run (--no-tie): the verdict is about the formulas; nothing is claimed about the "
                   "Python ring"] if self.tie is None else self.tie.to_lines())
        lines += [o.line() for o in self.obligations]
        if self.counterexample:
            lines.append("  counterexample (z3's positions, replayed through the Python ring):")
            lines += ["    " + x for x in self.counterexample]
        lines.append(f"  total {self.elapsed_s:.3f}s")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {"model": "hashring", "engine": "prove-encoding", "verdict": self.verdict,
                "params": {"nodes": self.nodes, "vnodes": self.vnodes, "replicas": self.replicas},
                "variant": self.variant, "ring_class": self.ring_class, "reason": self.reason or None,
                "formulas": self.formulas, "tied": self.tie is not None and self.tie.ok,
                "tie": None if self.tie is None else self.tie.to_json(),
                "obligations": [{"name": o.name, "result": o.result, "seconds": round(o.seconds, 6)}
                                for o in self.obligations],
                "counterexample": self.counterexample or None, "elapsed_s": round(self.elapsed_s, 6)}


def _refute(assume: Any, claim: Any, timeout_s: float) -> tuple[str, z3.ModelRef | None]:
    s = z3.SolverFor("QF_BV")  # pure bitvector logic: a little faster than the default solver
    s.set("timeout", int(timeout_s * 1000))
    s.add(assume, z3.Not(claim))
    r = s.check()
    return (VALID, None) if r == z3.unsat else (INVALID, s.model()) if r == z3.sat else (UNKNOWN, None)


def _replay(name: str, model: HashRing, v: Vars, j: int, m: z3.ModelRef) -> tuple[bool, list[str]]:
    """Whether the Python ring also fails ``name`` at z3's values, and those values in words."""
    def val(x: Any) -> Any:
        return m.eval(x, model_completion=True)

    tokens = [val(t).as_long() for row in v.tok for t in row]
    member = [z3.is_true(val(b)) for b in v.member]
    key = val(v.key).as_long()
    ok = python_holds(name, model, tokens, member, j, key)
    vn = model.config.vnodes
    lines = [f"node {n} ({'member' if member[n] else 'not a member'}): tokens at "
             + ", ".join(f"{t:#018x}" for t in tokens[n * vn:(n + 1) * vn]) for n in range(len(member))]
    lines.append(f"key at {key:#018x}" + (f"; node {j} {'leaves' if member[j] else 'joins'}" if j >= 0 else ""))
    lines.append(f"the Python ring {'satisfies' if ok else 'breaks'} {name} there")
    return not ok, lines


def prove_hashring(model: HashRing, *, tie: bool = True, progress: Callable[[str], None] | None = None,
                   timeout_s: float = 60.0) -> HashringProofResult:
    """Every statement for every placement at the model's size, tied to its ring class."""
    from .hashring_tie import tie_hashring

    t0 = time.perf_counter()
    c, cls = model.config, model.ring_class
    result = HashringProofResult(UNKNOWN, c.nodes, c.vnodes, c.replicas, cls.__name__, model.variant_name)
    enc = ENCODINGS.get(cls)
    if enc is None:
        result.reason = f"no z3 encoding of {cls.__name__}; add one to ENCODINGS in {__name__}"
        return result
    result.tie = tie_hashring(model, enc, progress=progress) if tie else None
    v = Vars.fresh(c.nodes, c.vnodes)
    for name in STATEMENTS:
        if result.counterexample:  # one statement refuted (and replayed) is the verdict: skip the rest
            result.obligations.append(Obligation(name, "not run", 0.0, detail="after the refuted statement"))
            continue
        t1, queries, res = time.perf_counter(), instances(name, enc, v, c.nodes, c.replicas), VALID
        for j, assume, claim in queries:
            res, m = _refute(assume, claim, timeout_s)
            if m is not None:
                confirmed, result.counterexample = _replay(name, model, v, j, m)
                if not confirmed:
                    result.verdict = ERROR
                    result.reason = f"z3 refutes {name} where the Python ring satisfies it: the encoding is wrong"
            if res != VALID:
                break
        detail = "" if len(queries) == 1 else f"one query per node (of {len(queries)})"
        result.obligations.append(Obligation(name, res, time.perf_counter() - t1, detail=detail))
        if progress:
            progress(f"{name}: {res}")
    results = [o.result for o in result.obligations]
    result.formulas = VIOLATED if INVALID in results else PROVED if all(r == VALID for r in results) else UNKNOWN
    if result.verdict != ERROR:
        result.verdict = result.formulas
        if result.formulas == VIOLATED:
            result.reason = f"{next(o.name for o in result.obligations if o.result == INVALID)} fails (below)"
    if result.tie is not None and not result.tie.ok:
        result.verdict, result.reason = ERROR, f"the tie failed: {result.tie.failure}"
    elif result.verdict == PROVED and result.tie is None:
        result.verdict, result.reason = PROVED_FORMULAS_ONLY, "the tie to the Python ring was not run"
    result.elapsed_s = time.perf_counter() - t0
    return result


__all__ = ["ENCODINGS", "STATEMENTS", "HashringProofResult", "Vars", "clockwise", "instances", "mod_n", "no_skip",
           "prove_hashring", "python_holds"]
