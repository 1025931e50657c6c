"""The relation's formulas on bit-vectors, when an interval argument shows it changes nothing.

Bit-blasting small integers is much faster for z3 than linear integer arithmetic, but a
bit-vector of width ``w`` wraps around: the translation is sound only if no value the formulas
compute leaves ``w`` bits.  ``plan`` proves that or refuses, from the formula DAG alone:

(a) every state variable starts in its declared range (``Int(lo, hi)``, a union's codes, a
    sequence's length); an interval analysis over the formulas (``+``, ``-``, ``*``, ``ite``)
    gives every integer term a range, and ``w`` is the smallest width holding all of them
    signed.  With the current and next states in range, every term then has the same value on
    bit-vectors as on integers (``+``/``-``/``*`` are exact modulo ``2**w``, so a final value in
    range is the integer value), so the relation, the initial states and the properties mean
    the same on both encodings;
(b) the relation bounds every next-state integer variable to its range: a bound is read from
    the formula's and/or structure (``y <= c``, ``y == e`` with ``e`` over the current state
    only, intersected under ``and``, joined under ``or``), the same on both encodings because
    these atoms are exact there.  With the initial states in range this carries the ranges to
    every depth by induction, so (a) applies at every step.

Enumeration sorts become ``ceil(log2 n)``-bit codes with ``code < n`` asserted on every step's
variables.  Any other operator or sort is refused: the caller keeps the integer encoding and
says why.  A violation found on bit-vectors is still replayed through the concrete transitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from ...models.schema import Int, Type, Union
from .encoding import parts
from .leaves import Sym
from .logic import BoolLike, to_z3
from .sets import SymSet

#: The widest bit-vector ``plan`` accepts (beyond it, integers are as good).
MAX_WIDTH = 64

Interval = tuple[int, int]


class BvRefused(Exception):
    """The interval argument does not go through; the message says which term or variable."""


def ranges(ty: Type, v: Any) -> dict[int, Interval]:
    """The declared range of every integer variable of a fresh symbolic state (by z3 AST id)."""
    out: dict[int, Interval] = {}

    def walk(t: Type, x: Any) -> None:
        if isinstance(x, Sym):
            if isinstance(t, Int) and z3.is_int(x.t):
                out[x.t.get_id()] = (t.lo, t.hi)
            elif isinstance(t, Union) and z3.is_int(x.t):
                out[x.t.get_id()] = (0, t.size - 1)
        elif not isinstance(x, SymSet) and t.size != 1:
            for p, y in parts(t, x):
                walk(p, y)

    walk(ty, v)
    return out


def _fits(iv: Interval, w: int) -> bool:
    return -(1 << (w - 1)) <= iv[0] and iv[1] < (1 << (w - 1))


def _bits(iv: Interval) -> int:
    """The smallest signed width holding ``iv``."""
    w = 1
    while not _fits(iv, w):
        w += 1
    return w


def _hull(a: Interval, b: Interval) -> Interval:
    return (min(a[0], b[0]), max(a[1], b[1]))


def _is_var(e: z3.ExprRef) -> bool:
    return z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED


_ARITH = {z3.Z3_OP_ADD, z3.Z3_OP_SUB, z3.Z3_OP_MUL, z3.Z3_OP_UMINUS}
_CMP = {z3.Z3_OP_LE, z3.Z3_OP_LT, z3.Z3_OP_GE, z3.Z3_OP_GT}
_BOOL = {z3.Z3_OP_AND, z3.Z3_OP_OR, z3.Z3_OP_NOT, z3.Z3_OP_IMPLIES, z3.Z3_OP_XOR, z3.Z3_OP_TRUE,
         z3.Z3_OP_FALSE}


class Intervals:
    """Part (a): the range of every integer term, given the variables' ranges (memoised on the DAG)."""

    def __init__(self, var_ranges: Mapping[int, Interval]) -> None:
        self.vars = dict(var_ranges)
        self.memo: dict[int, Interval] = {}
        self.enums: dict[int, z3.SortRef] = {}  # sort id -> enumeration sort met
        self.seen: set[int] = set()
        self.keep: list[z3.ExprRef] = []  # the memo's keys stay alive (z3 reuses the ids of freed terms)

    def check(self, f: z3.ExprRef) -> None:
        """Visit every node of ``f``: integer terms get a range, anything unsupported is refused."""
        stack = [f]
        while stack:
            e = stack.pop()
            i = e.get_id()
            if i in self.seen:
                continue
            self.seen.add(i)
            self.keep.append(e)
            self._sort_ok(e)
            if z3.is_int(e):
                self.interval(e)
            else:
                self._op_ok(e)
            stack.extend(e.children())

    def _sort_ok(self, e: z3.ExprRef) -> None:
        s = e.sort()
        if s.kind() in (z3.Z3_BOOL_SORT, z3.Z3_INT_SORT):
            return
        if s.kind() == z3.Z3_DATATYPE_SORT and all(s.constructor(k).arity() == 0
                                                  for k in range(s.num_constructors())):
            self.enums[s.get_id()] = s
            return
        raise BvRefused(f"a term of sort {s} ({_short(e)}) has no bit-vector translation")

    def _op_ok(self, e: z3.ExprRef) -> None:
        k = e.decl().kind()
        if k in _BOOL or k in _CMP or k in (z3.Z3_OP_EQ, z3.Z3_OP_DISTINCT, z3.Z3_OP_ITE, z3.Z3_OP_UNINTERPRETED):
            if k == z3.Z3_OP_UNINTERPRETED and e.num_args():
                raise BvRefused(f"an uninterpreted function ({_short(e)}) has no bit-vector translation")
            return
        if k == z3.Z3_OP_DT_CONSTRUCTOR and e.num_args() == 0:
            return
        raise BvRefused(f"the operator {e.decl().name()} ({_short(e)}) has no bit-vector translation")

    def interval(self, e: z3.ExprRef) -> Interval:
        """The range of the integer term ``e`` (iteratively: formulas are deep)."""
        i = e.get_id()
        got = self.memo.get(i)
        if got is not None:
            return got
        todo = [e]
        while todo:
            t = todo[-1]
            if t.get_id() in self.memo:
                todo.pop()
                continue
            self.keep.append(t)
            k = t.decl().kind()
            if z3.is_int_value(t):
                self.memo[t.get_id()] = (t.as_long(), t.as_long())
                todo.pop()
                continue
            if _is_var(t):
                r = self.vars.get(t.get_id())
                if r is None:
                    raise BvRefused(f"the integer variable {t} has no declared range")
                self.memo[t.get_id()] = r
                todo.pop()
                continue
            kids = [c for c in (t.children()[1:] if k == z3.Z3_OP_ITE else t.children())]
            if k not in _ARITH and k != z3.Z3_OP_ITE:
                raise BvRefused(f"the integer operator {t.decl().name()} ({_short(t)}) has no bit-vector "
                                "translation here")
            pending = [c for c in kids if c.get_id() not in self.memo]
            if pending:
                todo.extend(pending)
                continue
            ivs = [self.memo[c.get_id()] for c in kids]
            self.memo[t.get_id()] = _combine(k, ivs)
            todo.pop()
        return self.memo[i]

    def width(self, more: Iterable[Interval] = (), max_width: int = MAX_WIDTH) -> int:
        """The smallest signed width holding every integer term met and ``more`` (at least 2)."""
        ivs = [*self.memo.values(), *more]
        lo = min((a for a, _b in ivs), default=0)
        hi = max((b for _a, b in ivs), default=0)
        w = 2
        while not _fits((lo, hi), w):
            w += 1
        if w > max_width:
            term = next((t for t in self.keep if z3.is_int(t) and not _fits(self.memo[t.get_id()], max_width)), None)
            what = _short(term) if term is not None else "a state variable"
            if term is not None:
                lo, hi = self.memo[term.get_id()]
            raise BvRefused(f"{what} ranges over {lo}..{hi} (over {max_width} bits, signed)")
        return w


def _combine(k: int, ivs: Sequence[Interval]) -> Interval:
    if k == z3.Z3_OP_ITE:
        return _hull(ivs[0], ivs[1])
    if k == z3.Z3_OP_UMINUS:
        return (-ivs[0][1], -ivs[0][0])
    acc = ivs[0]
    for b in ivs[1:]:
        if k == z3.Z3_OP_ADD:
            acc = (acc[0] + b[0], acc[1] + b[1])
        elif k == z3.Z3_OP_SUB:
            acc = (acc[0] - b[1], acc[1] - b[0])
        else:
            ps = [x * y for x in acc for y in b]
            acc = (min(ps), max(ps))
    return acc


def _short(e: z3.ExprRef) -> str:
    s = str(e).replace("\n", " ")
    return s if len(s) <= 80 else s[:77] + "..."


# ----- (b): the relation bounds the next state -----------------------------------------------------


def next_bounds(f: z3.ExprRef, nxt: Mapping[int, Interval], iv: Intervals) -> dict[int, Interval] | None:
    """The range of each next-state variable implied by ``f``'s and/or structure (absent: unbounded;
    ``None``: ``f`` is unsatisfiable by its bounds alone, so every bound holds vacuously).

    Atoms read: ``y op c`` / ``c op y`` for a comparison with an integer constant, and
    ``y == e`` where ``e`` mentions no next-state variable (its range comes from (a))."""
    memo: dict[int, dict[int, Interval] | None] = {}
    mentions: dict[int, bool] = {}
    keep: list[z3.ExprRef] = []  # the memo's keys stay alive (z3 reuses the ids of freed terms)
    big = 1 << (MAX_WIDTH + 8)

    def mentions_next(e: z3.ExprRef) -> bool:
        todo = [e]
        while todo:
            t = todo[-1]
            if t.get_id() in mentions:
                todo.pop()
                continue
            pending = [c for c in t.children() if c.get_id() not in mentions]
            if pending and t.get_id() not in nxt:
                todo.extend(pending)
                continue
            keep.append(t)
            mentions[t.get_id()] = t.get_id() in nxt or any(mentions[c.get_id()] for c in t.children())
            todo.pop()
        return mentions[e.get_id()]

    def atom(e: z3.ExprRef) -> dict[int, Interval]:
        k = e.decl().kind()
        if e.num_args() != 2:
            return {}
        a, b = e.children()
        if k == z3.Z3_OP_EQ and z3.is_int(a):
            for y, other in ((a, b), (b, a)):
                if y.get_id() in nxt and not mentions_next(other):
                    return {y.get_id(): iv.interval(other)}
            return {}
        if k not in _CMP:
            return {}
        for y, c, flip in ((a, b, False), (b, a, True)):
            if y.get_id() in nxt and z3.is_int_value(c):
                v = c.as_long()
                op = {z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">"}[k]
                if flip:
                    op = {"<=": ">=", "<": ">", ">=": "<=", ">": "<"}[op]
                return {y.get_id(): {"<=": (-big, v), "<": (-big, v - 1), ">=": (v, big), ">": (v + 1, big)}[op]}
        return {}

    def walk(e: z3.ExprRef) -> dict[int, Interval] | None:
        i = e.get_id()
        if i in memo:
            return memo[i]
        k = e.decl().kind()
        out: dict[int, Interval] | None
        if z3.is_false(e):
            out = None
        elif k == z3.Z3_OP_AND:
            out = {}
            for c in e.children():
                sub = walk(c)
                if sub is None:
                    out = None
                    break
                for y, r in sub.items():
                    old = out.get(y)
                    out[y] = r if old is None else (max(old[0], r[0]), min(old[1], r[1]))
            if out is not None and any(lo > hi for lo, hi in out.values()):
                out = None
        elif k == z3.Z3_OP_OR:
            subs = [s for s in (walk(c) for c in e.children()) if s is not None]
            if not subs:
                out = None
            else:
                out = {}
                for y in set.intersection(*(set(s) for s in subs)):
                    r = subs[0][y]
                    for s in subs[1:]:
                        r = _hull(r, s[y])
                    out[y] = r
        else:
            out = atom(e)
        keep.append(e)
        memo[i] = out
        return out

    return walk(f)


# ----- the translation ------------------------------------------------------------------------


@dataclass
class BvPlan:
    """The accepted translation: the widest integer term, each enumeration sort's code width, and
    every integer term's range (each term is computed at its own width, see ``Translator``)."""

    width: int
    enum_bits: dict[int, int]
    intervals: Intervals

    def bits(self, e: z3.ExprRef) -> int:
        """The signed width of the integer term ``e`` (one of the analysed formulas' terms)."""
        r = self.intervals.memo.get(e.get_id())
        if r is None:
            raise BvRefused(f"internal error: {_short(e)} was not analysed")
        return _bits(r)

    def describe(self) -> str:
        return f"bit-vectors (integers of at most {self.width} bits)"


def plan(formulas: Iterable[BoolLike], var_ranges: Mapping[int, Interval], relation: BoolLike,
         next_vars: Sequence[z3.ExprRef], max_width: int = MAX_WIDTH,
         current_vars: Sequence[z3.ExprRef] = ()) -> BvPlan:
    """Check (a) on ``formulas`` (the relation among them) and (b) on ``relation``; ``BvRefused`` if not.

    ``var_ranges``: the declared range of every integer variable, current and next (``ranges``)."""
    iv = Intervals(var_ranges)
    for f in formulas:
        iv.check(to_z3(f))
    for v in [*current_vars, *next_vars]:  # a variable the formulas never mention is still a state variable
        iv.check(v)
    nxt = {v.get_id(): var_ranges[v.get_id()] for v in next_vars if z3.is_int(v)}
    got = next_bounds(to_z3(relation), nxt, iv)
    for v in next_vars:
        if not z3.is_int(v) or got is None:
            continue
        want = nxt[v.get_id()]
        have = got.get(v.get_id())
        if have is None:
            raise BvRefused(f"the relation does not bound the next value of {v} (declared {want[0]}..{want[1]})")
        if not (want[0] <= have[0] and have[1] <= want[1]):
            raise BvRefused(f"the next value of {v} may be {have[0]}..{have[1]}, outside its declared range "
                            f"{want[0]}..{want[1]}")
    w = iv.width(var_ranges.values(), max_width)  # every state variable's own range fits too
    bits = {sid: max(1, (s.num_constructors() - 1).bit_length()) for sid, s in iv.enums.items()}
    return BvPlan(w, bits, iv)


class Translator:
    """Formulas over integers and enumerations, rewritten on bit-vectors by a ``BvPlan`` (memoised).

    Each integer term is computed at the width of its own range (a term count of 0..3 in 3 bits,
    not the widest term's): operands are sign-extended to it, or cut to its low bits, which keeps
    ``+``, ``-`` and ``*`` exact modulo ``2**width``, and the result's range fits that width;
    comparisons and equalities extend both sides to the wider one."""

    def __init__(self, p: BvPlan) -> None:
        self.plan = p
        self.memo: dict[int, z3.ExprRef] = {}
        self.keep: list[z3.ExprRef] = []  # the memo's keys stay alive (z3 reuses the ids of freed terms)
        self.steps: dict[int, tuple[z3.ExprRef, z3.ExprRef]] = {}  # a step's variable -> its bit-vector

    def var(self, v: z3.ExprRef, like: z3.ExprRef | None = None) -> z3.ExprRef:
        """The translation of a state variable (the same name, on bit-vectors); with ``like``, of a
        step's copy of the analysed variable ``like`` (at its width)."""
        if like is None:
            return self(v)
        g = self(like)
        if not z3.is_bv(g):
            return v
        b = z3.BitVec(v.decl().name(), g.size())
        self.steps[v.get_id()] = (v, b)
        return b

    def range_of(self, v: z3.ExprRef) -> BoolLike:
        """What the encoding itself needs of a translated variable: an enumeration code below its size."""
        s = v.sort()
        if s.kind() == z3.Z3_DATATYPE_SORT:
            n = s.num_constructors()
            bits = self.plan.enum_bits[s.get_id()]
            if n < (1 << bits):
                return z3.ULT(self(v), z3.BitVecVal(n, bits))
        return True

    def back(self, v: z3.ExprRef, m: z3.ModelRef) -> z3.ExprRef:
        """The value of the original variable ``v`` in a model of the translation."""
        got = self.steps.get(v.get_id())
        r = m.eval(got[1] if got is not None else self(v), model_completion=True)
        s = v.sort()
        if s.kind() == z3.Z3_INT_SORT:
            return z3.IntVal(r.as_signed_long())
        if s.kind() == z3.Z3_DATATYPE_SORT:
            return s.constructor(r.as_long())()
        return r

    def __call__(self, f: z3.ExprRef) -> z3.ExprRef:
        got = self.memo.get(f.get_id())
        if got is not None:
            return got
        todo = [f]
        while todo:
            e = todo[-1]
            if e.get_id() in self.memo:
                todo.pop()
                continue
            pending = [c for c in e.children() if c.get_id() not in self.memo]
            if pending:
                todo.extend(pending)
                continue
            self.keep.append(e)
            self.memo[e.get_id()] = self._node(e, [self.memo[c.get_id()] for c in e.children()])
            todo.pop()
        return self.memo[f.get_id()]

    def _node(self, e: z3.ExprRef, a: list[z3.ExprRef]) -> z3.ExprRef:
        s = e.sort()
        k = e.decl().kind()
        if s.kind() == z3.Z3_INT_SORT:
            w = self.plan.bits(e)
            a = [_fit(x, w) for x in a] if k != z3.Z3_OP_ITE else [a[0], *(_fit(x, w) for x in a[1:])]
        elif k in _CMP or (k in (z3.Z3_OP_EQ, z3.Z3_OP_DISTINCT) and a and z3.is_bv(a[0])):
            w = max(x.size() for x in a)
            a = [_fit(x, w) for x in a]
        if z3.is_int_value(e):
            return z3.BitVecVal(e.as_long(), w)
        if _is_var(e):
            if s.kind() == z3.Z3_INT_SORT:
                return z3.BitVec(e.decl().name(), w)
            if s.kind() == z3.Z3_DATATYPE_SORT:
                return z3.BitVec(e.decl().name(), self.plan.enum_bits[s.get_id()])
            return e
        if k == z3.Z3_OP_DT_CONSTRUCTOR:
            idx = next(j for j in range(s.num_constructors()) if s.constructor(j).eq(e.decl()))
            return z3.BitVecVal(idx, self.plan.enum_bits[s.get_id()])
        if k == z3.Z3_OP_ADD:
            return _fold(lambda x, y: x + y, a)
        if k == z3.Z3_OP_SUB:
            return _fold(lambda x, y: x - y, a)
        if k == z3.Z3_OP_MUL:
            return _fold(lambda x, y: x * y, a)
        if k == z3.Z3_OP_UMINUS:
            return -a[0]
        if k == z3.Z3_OP_LE:
            return a[0] <= a[1]  # signed on bit-vectors
        if k == z3.Z3_OP_LT:
            return a[0] < a[1]
        if k == z3.Z3_OP_GE:
            return a[0] >= a[1]
        if k == z3.Z3_OP_GT:
            return a[0] > a[1]
        if k == z3.Z3_OP_EQ:
            return a[0] == a[1]
        if k == z3.Z3_OP_DISTINCT:
            return z3.Distinct(*a)
        if k == z3.Z3_OP_ITE:
            return z3.If(a[0], a[1], a[2])
        if k == z3.Z3_OP_AND:
            return z3.And(*a)
        if k == z3.Z3_OP_OR:
            return z3.Or(*a)
        if k == z3.Z3_OP_NOT:
            return z3.Not(a[0])
        if k == z3.Z3_OP_IMPLIES:
            return z3.Implies(a[0], a[1])
        if k == z3.Z3_OP_XOR:
            return z3.Xor(a[0], a[1])
        if k in (z3.Z3_OP_TRUE, z3.Z3_OP_FALSE):
            return e
        raise BvRefused(f"the operator {e.decl().name()} has no bit-vector translation")  # plan() refused it first


def _fit(x: z3.ExprRef, w: int) -> z3.ExprRef:
    """``x`` at width ``w``: sign-extended, or its low ``w`` bits (the same value modulo ``2**w``)."""
    n = x.size()
    if n == w:
        return x
    return z3.SignExt(w - n, x) if n < w else z3.Extract(w - 1, 0, x)


def _fold(op: Any, a: list[z3.ExprRef]) -> z3.ExprRef:
    acc = a[0]
    for x in a[1:]:
        acc = op(acc, x)
    return acc


__all__ = ["MAX_WIDTH", "BvPlan", "BvRefused", "Intervals", "Translator", "next_bounds", "plan", "ranges"]
