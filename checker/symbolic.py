"""The same Python transitions, executed on z3 values.

A symbolic state has the concrete *shape* of a state (records, tuples) with z3 terms at the
leaves (``Sym``) and one z3 Bool per universe element in sets (``SymSet``).  The model's own
functions run on it unchanged; whenever Python needs a truth value (``if``, ``and``, ``in``
...), the path explorer answers from a replay prefix, records the decision and later re-runs
the function with the other answer, so every function becomes a finite list of
``(path condition, result)`` pairs: exactly the relation the z3 engines need.  Constructs that
cannot be executed soundly on z3 values raise ``SymbolicError`` naming the field and the
function, never a silent fallback.

Types of size one (``OneOf(None)``, an empty ``SetOf``, ``Int(0, 0)``) stay concrete: they
cost nothing and need no variables.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import z3

from ..models.actors import ActorSystem
from ..models.base import Action, Disabled, Model
from ..models.schema import BoolType, Int, Record, SetOf, Tuple, Type, Union, Vec, _Finite

#: ``bool | z3.BoolRef``: constants stay Python bools (z3 has no type hints, so this is ``Any``).
BoolLike: TypeAlias = Any


class SymbolicError(Exception):
    """A construct that cannot run on symbolic values; the message names the field and the function.

    A direct ``Exception`` subclass on purpose: model code commonly wraps its own logic in
    ``except TypeError:`` / ``ValueError`` / ``LookupError`` / ``ArithmeticError``, and such a
    handler must never swallow the refusal and let the formula silently mean something else.
    Engine code that probes hashability of values which may hold leaves catches both.
    """


class Nondeterminism(SymbolicError):
    """A function asked different questions when re-run with the same answers (impure code)."""


class PathExplosion(SymbolicError):
    """A function has more paths than ``max_paths``; the message names it and says how to fix it."""


# ----- the path oracle -------------------------------------------------------------------


class _Oracle:
    """Answers truth questions for one run of a function (a replay prefix, then True)."""

    __slots__ = ("conds", "keep", "label", "memo", "prefix", "prev", "solver", "values")

    def __init__(self, label: str, prefix: Sequence[bool], prev: Sequence[z3.BoolRef],
                 solver: z3.Solver | None = None) -> None:
        self.label = label
        self.prefix = prefix
        self.prev = prev
        self.conds: list[z3.BoolRef] = []
        self.values: list[bool] = []
        self.memo: dict[int, bool] = {}
        self.keep: list[z3.ExprRef] = []  # z3 reuses the ids of dead terms: keep memo keys alive
        #: Pruning (``explore(..., prune=True)``): holds the background and this run's path
        #: condition so far, one scope per decision; a new decision takes its first answer
        #: (True) only if that is consistent, else False.
        self.solver = solver

    def decide(self, c: z3.BoolRef) -> bool:
        if z3.is_true(c):
            return True
        if z3.is_false(c):
            return False
        cid = c.get_id()
        v = self.memo.get(cid)
        if v is not None:
            return v
        k = len(self.conds)
        if k < len(self.prefix):
            if self.prev[k].get_id() != cid:
                raise Nondeterminism(
                    f"{self.label} asked {c} where an earlier run with the same answers asked "
                    f"{self.prev[k]}: the function is not deterministic (randomness, global state, "
                    "set iteration order?)"
                )
            v = self.prefix[k]
        elif self.solver is not None:
            self.solver.push()
            self.solver.add(c)
            v = self.solver.check() != z3.unsat  # unknown: keep the branch (sound, not pruned)
            self.solver.pop()
        else:
            v = True
        if self.solver is not None:
            self.solver.push()
            self.solver.add(c if v else z3.Not(c))
        self.conds.append(c)
        self.values.append(v)
        self.memo[cid] = v
        if z3.is_not(c):
            self.memo[c.arg(0).get_id()] = not v
        else:
            neg = z3.Not(c)
            self.keep.append(neg)
            self.memo[neg.get_id()] = not v
        return v


_ORACLE: list[_Oracle] = []


def current_function() -> str:
    """The function being explored (for error messages)."""
    return _ORACLE[-1].label if _ORACLE else "(no symbolic exploration running)"


def decide(c: BoolLike) -> bool:
    """The truth value Python asked for, on the current path (forks the exploration)."""
    if isinstance(c, bool):
        return c
    if not _ORACLE:
        raise SymbolicError(f"truth value of symbolic {c} asked outside a symbolic exploration")
    return _ORACLE[-1].decide(c)


def _err(msg: str, name: str) -> SymbolicError:
    return SymbolicError(f"{msg} (field {name}, in {current_function()})")


# ----- boolean helpers with constant folding -------------------------------------------


def _mk(fn: Callable[..., Any], xs: list[Any]) -> z3.BoolRef:
    """``And``/``Or`` of z3 Bools without z3py's per-argument coercion (the hot path of building)."""
    ctx = xs[0].ctx
    arr = (z3.Ast * len(xs))(*[x.as_ast() for x in xs])
    return z3.BoolRef(fn(ctx.ref(), len(xs), arr), ctx)


def b_and(*xs: BoolLike) -> BoolLike:
    out: list[Any] = []
    for x in xs:
        if x is True:
            continue
        if x is False:
            return False
        out.append(x)
    if not out:
        return True
    return out[0] if len(out) == 1 else _mk(z3.Z3_mk_and, out)


def b_or(*xs: BoolLike) -> BoolLike:
    out: list[Any] = []
    for x in xs:
        if x is False:
            continue
        if x is True:
            return True
        out.append(x)
    if not out:
        return False
    return out[0] if len(out) == 1 else _mk(z3.Z3_mk_or, out)


def b_not(x: BoolLike) -> BoolLike:
    if isinstance(x, bool):
        return not x
    ctx = x.ctx
    return z3.BoolRef(z3.Z3_mk_not(ctx.ref(), x.as_ast()), ctx)


def b_eq(a: BoolLike, b: BoolLike) -> BoolLike:
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    if isinstance(a, bool):
        return b if a else z3.Not(b)
    if isinstance(b, bool):
        return a if b else z3.Not(a)
    return a == b


def b_ite(c: BoolLike, a: Any, b: Any) -> Any:
    if c is True:
        return a
    if c is False:
        return b
    return z3.If(c, a, b)


def to_z3(x: BoolLike) -> z3.BoolRef:
    if isinstance(x, bool):
        return z3.BoolVal(x)
    return x


# ----- leaves --------------------------------------------------------------------------

_ENUMS: dict[tuple[str, ...], tuple[z3.SortRef, list[z3.ExprRef], dict[str, int]]] = {}


def _enum_sort(ty: _Finite) -> tuple[z3.SortRef, list[z3.ExprRef], dict[str, int]]:
    """One z3 EnumSort per list of values (z3 refuses to declare a sort name twice)."""
    key = tuple(f"{type(v).__name__}:{v!r}" for v in ty._values)
    got = _ENUMS.get(key)
    if got is None:
        base = getattr(ty, "name", "") or "OneOf"
        sname = f"{base}#{len(_ENUMS)}"
        sort, consts = z3.EnumSort(sname, [f"{sname}.{v!r}" for v in ty._values])
        got = (sort, list(consts), {str(c): k for k, c in enumerate(consts)})
        _ENUMS[key] = got
    return got


BOOL = "bool"
INT = "int"
ENUM = "enum"
#: A value of a ``Union`` of leaf types, encoded as its code ``0..size-1`` (``Union.pack``).
UNION = "union"

_UNION_VALUES: dict[int, tuple[Union, tuple[Any, ...]]] = {}


def union_values(ty: Union) -> tuple[Any, ...]:
    """The values of a (small) union, indexed by code."""
    got = _UNION_VALUES.get(id(ty))
    if got is None or got[0] is not ty:
        got = (ty, tuple(ty.values()))
        _UNION_VALUES[id(ty)] = got
    return got[1]


def union_encodable(ty: Union) -> bool:
    """Unions of leaves (``None | value``, ints) whose alternatives Python never finds equal."""
    if not (all(isinstance(a, (Int, _Finite)) for a in ty.alts) and ty.size <= 4096):
        return False
    vals = union_values(ty)
    return len(set(vals)) == len(vals)


def _same_union(a: Type | None, b: Type | None) -> bool:
    return a is b or (isinstance(a, Union) and isinstance(b, Union) and a.describe() == b.describe())


class Sym:
    """A leaf holding a z3 term.  Operators build terms; ``bool()`` forks the path."""

    __slots__ = ("kind", "name", "t", "ty")

    def __init__(self, t: z3.ExprRef, kind: str, ty: Type | None, name: str) -> None:
        self.t, self.kind, self.ty, self.name = t, kind, ty, name

    # --- lifting
    def _lift(self, v: Any) -> Any:
        """A concrete operand as a z3 term of this leaf's sort."""
        if isinstance(v, Sym):
            if v.kind == self.kind and (self.kind != ENUM or v.t.sort() == self.t.sort()) and (
                    self.kind != UNION or _same_union(self.ty, v.ty)):
                return v.t
            if {v.kind, self.kind} <= {INT, BOOL}:
                return v._int() if self.kind == INT else v._truth()
            raise _err(f"cannot combine {self.name} ({self._desc()}) with {v.name} ({v._desc()})", self.name)
        if self.kind == BOOL:
            if type(v) is bool:
                return z3.BoolVal(v)
        elif self.kind == INT:
            if type(v) is int or type(v) is bool:
                return z3.IntVal(int(v))
        elif self.kind == UNION:
            assert isinstance(self.ty, Union)
            if self.ty.contains(v):
                return z3.IntVal(self.ty.pack(v))
        else:
            assert isinstance(self.ty, _Finite)
            k = self.ty._index.get(v) if _hashable(v) else None
            if k is not None and type(self.ty._values[k]) is type(v):
                return _enum_sort(self.ty)[1][k]
        raise _err(f"{v!r} is not {self._desc()}: comparing with it is a typo or a type error", self.name)

    def _desc(self) -> str:
        return self.ty.describe() if self.ty is not None else f"a symbolic {self.kind}"

    def _int(self) -> z3.ArithRef:
        if self.kind == INT:
            return self.t
        if self.kind == BOOL:
            return z3.If(self.t, z3.IntVal(1), z3.IntVal(0))
        if self.kind == UNION:
            assert isinstance(self.ty, Union)
            vals = union_values(self.ty)
            if all(type(v) is int for v in vals):
                out: Any = z3.IntVal(vals[-1])
                for c in range(len(vals) - 2, -1, -1):
                    out = z3.If(self.t == c, z3.IntVal(vals[c]), out)
                return out
            raise _err(f"arithmetic or ordering on {self._desc()}: not every alternative is an integer", self.name)
        raise _err(f"arithmetic on {self._desc()}", self.name)

    def _truth(self) -> z3.BoolRef:
        """Python truthiness as a formula."""
        if self.kind == BOOL:
            return self.t
        if self.kind == INT:
            return self.t != 0
        if self.kind == UNION:
            assert isinstance(self.ty, Union)
            return to_z3(b_or(*(self.t == c for c, v in enumerate(union_values(self.ty)) if v)))
        assert isinstance(self.ty, _Finite)
        consts = _enum_sort(self.ty)[1]
        return to_z3(b_or(*(self.t == c for c, v in zip(consts, self.ty._values, strict=True) if v)))

    # --- comparisons
    def _eq(self, other: Any) -> BoolLike:
        if self.kind == ENUM and isinstance(other, Sym) and other.kind == ENUM and other.t.sort() != self.t.sort():
            return _cross_enum_eq(self, other)
        if isinstance(other, Sym) and UNION in (self.kind, other.kind) and not (
                self.kind == other.kind and _same_union(self.ty, other.ty)):
            return _cross_union_eq(self, other)
        return self.t == self._lift(other)

    def __eq__(self, other: object) -> Sym:  # type: ignore[override]
        return Sym(to_z3(self._eq(other)), BOOL, None, f"({self.name} == {_nm(other)})")

    def __ne__(self, other: object) -> Sym:  # type: ignore[override]
        return Sym(to_z3(b_not(self._eq(other))), BOOL, None, f"({self.name} != {_nm(other)})")

    def _cmp(self, other: Any, op: Callable[[Any, Any], Any], sym: str) -> Sym:
        if self.kind == ENUM or (isinstance(other, Sym) and other.kind == ENUM):
            raise _err(f"ordering ({sym}) on enum values", self.name)
        return Sym(op(self._int(), _as_int(other, self.name)), BOOL, None, f"({self.name} {sym} {_nm(other)})")

    def __lt__(self, o: Any) -> Sym:
        return self._cmp(o, operator.lt, "<")

    def __le__(self, o: Any) -> Sym:
        return self._cmp(o, operator.le, "<=")

    def __gt__(self, o: Any) -> Sym:
        return self._cmp(o, operator.gt, ">")

    def __ge__(self, o: Any) -> Sym:
        return self._cmp(o, operator.ge, ">=")

    # --- arithmetic
    def _arith(self, other: Any, op: Callable[[Any, Any], Any], sym: str, rev: bool = False) -> Sym:
        a, b = self._int(), _as_int(other, self.name)
        t = op(b, a) if rev else op(a, b)
        name = f"({_nm(other)} {sym} {self.name})" if rev else f"({self.name} {sym} {_nm(other)})"
        return Sym(t, INT, None, name)

    def __add__(self, o: Any) -> Sym:
        return self._arith(o, operator.add, "+")

    def __radd__(self, o: Any) -> Sym:
        return self._arith(o, operator.add, "+", True)

    def __sub__(self, o: Any) -> Sym:
        return self._arith(o, operator.sub, "-")

    def __rsub__(self, o: Any) -> Sym:
        return self._arith(o, operator.sub, "-", True)

    def __mul__(self, o: Any) -> Sym:
        return self._arith(o, operator.mul, "*")

    def __rmul__(self, o: Any) -> Sym:
        return self._arith(o, operator.mul, "*", True)

    def __floordiv__(self, o: Any) -> Sym:
        return self._arith(o, _floordiv, "//")

    def __mod__(self, o: Any) -> Sym:
        return self._arith(o, _mod, "%")

    def __neg__(self) -> Sym:
        return Sym(-self._int(), INT, None, f"-{self.name}")

    # --- boolean connectives that do not fork
    def _bool_operand(self, o: Any) -> z3.BoolRef:
        if self.kind != BOOL:
            raise _err("& | ^ ~ are only for bools (write and/or/not; & binds tighter than ==)", self.name)
        if isinstance(o, Sym) and o.kind == BOOL:
            return o.t
        if type(o) is bool:
            return z3.BoolVal(o)
        raise _err(f"& | ^ with {o!r}: & binds tighter than ==, so write `and`/`or`/`not`", self.name)

    def __and__(self, o: Any) -> Sym:
        return Sym(z3.And(self.t, self._bool_operand(o)), BOOL, None, f"({self.name} & {_nm(o)})")

    __rand__ = __and__

    def __or__(self, o: Any) -> Sym:
        return Sym(z3.Or(self.t, self._bool_operand(o)), BOOL, None, f"({self.name} | {_nm(o)})")

    __ror__ = __or__

    def __xor__(self, o: Any) -> Sym:
        return Sym(z3.Xor(self.t, self._bool_operand(o)), BOOL, None, f"({self.name} ^ {_nm(o)})")

    __rxor__ = __xor__

    def __invert__(self) -> Sym:
        self._bool_operand(True)
        return Sym(z3.Not(self.t), BOOL, None, f"~{self.name}")

    # --- what Python needs concretely
    def __bool__(self) -> bool:
        return decide(self._truth())

    def __hash__(self) -> int:
        raise _err(
            "a symbolic value cannot be hashed (used as a set element, dict key or cached argument); "
            "keep indices, set elements and message fields concrete",
            self.name,
        )

    def __index__(self) -> int:
        raise _err(
            "indexing or range() by a symbolic value; enumerate the concrete ids instead "
            "(an action parameter or a loop over the declared domain)",
            self.name,
        )

    __int__ = __index__

    def __iter__(self) -> Iterator[Any]:
        raise _err("iterating over a symbolic leaf", self.name)

    def __str__(self) -> str:
        raise _text_refusal(self.name)

    def __format__(self, spec: str) -> str:
        raise _text_refusal(self.name)

    def __repr__(self) -> str:
        """Debug text, kept on purpose: ``{x!r}`` in an exception message still works, pytest and
        debuggers can show leaves, and the engine's own messages use it.  Code whose *result*
        depends on text goes through ``str``/``format``/f-strings (refused here) or an explicit
        ``repr(...)`` call, which the twin refuses outside raise/assert messages; ``"%r" % x`` in
        the forking original is the one spelling left, and property conformance catches it."""
        return f"Sym({self.name})"


def _text_refusal(name: str) -> SymbolicError:
    return _err(
        "str()/format()/f-string of a symbolic value would be the engine's text, not the value's: compare "
        "the value itself (== against the constant, `in`), not its text; use {x!r} in exception messages",
        name,
    )


def _floordiv(a: Any, b: Any) -> Any:
    return a / b  # z3 integer division rounds like Python's for positive divisors


def _mod(a: Any, b: Any) -> Any:
    return a % b


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except (TypeError, SymbolicError):
        return False
    return True


def _nm(v: Any) -> str:
    return v.name if isinstance(v, Sym) else repr(v)


def _as_int(v: Any, name: str) -> Any:
    if isinstance(v, Sym):
        return v._int()
    if type(v) is int or type(v) is bool:
        return z3.IntVal(int(v))
    raise _err(f"arithmetic or ordering with {v!r}", name)


def _cross_enum_eq(a: Sym, b: Sym) -> BoolLike:
    """Two leaves of different enum types are equal when they hold equal Python values."""
    assert isinstance(a.ty, _Finite) and isinstance(b.ty, _Finite)
    ca, cb = _enum_sort(a.ty)[1], _enum_sort(b.ty)[1]
    pairs = []
    for i, v in enumerate(a.ty._values):
        for j, w in enumerate(b.ty._values):
            if type(v) is type(w) and v == w:
                pairs.append(z3.And(a.t == ca[i], b.t == cb[j]))
    return b_or(*pairs)


def _cross_union_eq(a: Sym, b: Sym) -> BoolLike:
    """A union leaf equals another leaf when the value its code stands for equals it."""
    u, o = (a, b) if a.kind == UNION else (b, a)
    assert isinstance(u.ty, Union)
    out = []
    for c, v in enumerate(union_values(u.ty)):
        try:
            e = o._eq(v)
        except SymbolicError:
            continue  # a value outside the other leaf's type is not equal to it
        out.append(b_and(u.t == c, e))
    return b_or(*out)


def truth(v: Any) -> BoolLike:
    """Python truthiness of a concrete or symbolic value, without forking."""
    if isinstance(v, Sym):
        return v._truth()
    if isinstance(v, (SymSet, GList)):
        return v.nonempty()
    if isinstance(v, z3.BoolRef):
        return v
    return bool(v)


# ----- sets ----------------------------------------------------------------------------


class SymSet:
    """A set over a declared universe: one Python bool or z3 Bool per element.

    Supports what protocol code does with frozensets (``in``, ``|``, ``&``, ``-``, ``union``,
    ``==``, ``<=``) with frozensets on either side.  ``x in S`` forks (Python turns it into a
    bool); ``S.has(x)`` is the same test as a formula.  ``bool(S)`` forks on non-emptiness and
    ``len(S)`` on the size (at most ``|universe| + 1`` paths; the twin turns ``len`` into one
    term).  Iteration is refused: iterate the universe and test membership.
    """

    __slots__ = ("bits", "name", "ty")

    def __init__(self, ty: SetOf, bits: Sequence[BoolLike], name: str) -> None:
        self.ty, self.bits, self.name = ty, tuple(bits), name

    def _k(self, x: Any) -> int:
        if isinstance(x, (Sym, SymSet, GList)):
            raise _err(f"set element {x!r} is symbolic; set elements must be concrete", self.name)
        try:
            b = self.ty._bit.get(x)
        except SymbolicError:
            raise _err(f"set element {x!r} is symbolic here; use `x in S`, `S.has(x)` or `S | {{x}}`",
                       self.name) from None
        except TypeError:
            raise _err(f"{x!r} is not hashable, so it cannot be an element", self.name) from None
        if b is None or type(x) is not type(self.ty.universe[b.bit_length() - 1]):
            raise _err(f"{x!r} is not in the declared universe of this set", self.name)
        return b.bit_length() - 1

    def _matches(self, x: Any) -> list[BoolLike]:
        """For a symbolic element: per universe element, the formula "x is that element"."""
        if isinstance(x, (Sym, SymSet, GList)):
            if not isinstance(x, Sym):
                raise _err(f"set element {x!r} is symbolic; set elements must be concrete", self.name)
            out: list[BoolLike] = []
            for u in self.ty.universe:
                try:
                    out.append(x._eq(u))
                except SymbolicError as e:
                    raise _err(f"set element {x!r} is symbolic and not comparable with the universe "
                               f"element {u!r} ({e})", self.name) from None
            return out
        return [match(x, u) for u in self.ty.universe]

    def has(self, x: Any) -> BoolLike:
        if has_sym(x):
            return b_or(*(b_and(bit, m) for bit, m in zip(self.bits, self._matches(x), strict=True)
                          if m is not False and bit is not False))
        return self.bits[self._k(x)]

    def __contains__(self, x: Any) -> bool:
        return decide(self.has(x))

    def _add_symbolic(self, bits: list[BoolLike], x: Any) -> None:
        """Add an element with symbolic fields: each universe bit ORs "x is that element"."""
        ms = self._matches(x)
        inside = b_or(*ms)
        if inside is not True and not decide(inside):
            raise OutsideUniverse(f"{x!r} may lie outside the declared universe of {self.name} "
                                  "(declare every value its fields can take)")
        for k, m in enumerate(ms):
            if m is not False:
                bits[k] = b_or(bits[k], m)

    def _other_bits(self, other: Any) -> tuple[BoolLike, ...] | None:
        if isinstance(other, DynSet) and other.ty.universe != self.ty.universe:
            bits: list[BoolLike] = [False] * len(self.bits)
            for g, x in other.pairs():
                bits[self._k(x)] = g
            return tuple(bits)
        if isinstance(other, SymSet):
            if other.ty.universe != self.ty.universe:
                raise _err(f"sets over different universes ({other.name})", self.name)
            return other.bits
        if isinstance(other, (frozenset, set)):
            bits = [False] * len(self.bits)
            for x in other:
                bits[self._k(x)] = True
            return tuple(bits)
        return None

    def _elems(self, it: Iterable[Any]) -> tuple[BoolLike, ...]:
        got = self._other_bits(it)
        if got is not None:
            return got
        bits: list[BoolLike] = [False] * len(self.bits)
        for x in it:
            if has_sym(x):
                self._add_symbolic(bits, x)
            else:
                bits[self._k(x)] = True
        return tuple(bits)

    def _new(self, bits: Iterable[BoolLike]) -> SymSet:
        return SymSet(self.ty, tuple(bits), self.name)

    def union(self, *others: Iterable[Any]) -> SymSet:
        out = self
        for o in others:
            out = out._new(b_or(a, b) for a, b in zip(out.bits, self._elems(o), strict=True))
        return out

    def intersection(self, *others: Iterable[Any]) -> SymSet:
        out = self
        for o in others:
            out = out._new(b_and(a, b) for a, b in zip(out.bits, self._elems(o), strict=True))
        return out

    def difference(self, *others: Iterable[Any]) -> SymSet:
        out = self
        for o in others:
            out = out._new(b_and(a, b_not(b)) for a, b in zip(out.bits, self._elems(o), strict=True))
        return out

    def __or__(self, o: Any) -> SymSet:
        if self._other_bits(o) is None:
            return NotImplemented
        return self.union(o)

    __ror__ = __or__

    def __and__(self, o: Any) -> SymSet:
        if self._other_bits(o) is None:
            return NotImplemented
        return self.intersection(o)

    __rand__ = __and__

    def __sub__(self, o: Any) -> SymSet:
        if self._other_bits(o) is None:
            return NotImplemented
        return self.difference(o)

    def __rsub__(self, o: Any) -> SymSet:
        bits = self._other_bits(o)
        if bits is None:
            return NotImplemented
        return self._new(b_and(a, b_not(b)) for a, b in zip(bits, self.bits, strict=True))

    def eq(self, o: Any) -> BoolLike:
        bits = self._other_bits(o)
        if bits is None:
            return False
        return b_and(*(b_eq(a, b) for a, b in zip(self.bits, bits, strict=True)))

    def subset(self, o: Any) -> BoolLike:
        bits = self._other_bits(o)
        if bits is None:
            raise _err(f"<= between a set and {o!r}", self.name)
        return b_and(*(b_or(b_not(a), b) for a, b in zip(self.bits, bits, strict=True)))

    def __eq__(self, o: object) -> Any:
        r = self.eq(o)
        return r if isinstance(r, bool) else Sym(r, BOOL, None, f"({self.name} == {_nm(o)})")

    def __ne__(self, o: object) -> Any:
        r = b_not(self.eq(o))
        return r if isinstance(r, bool) else Sym(r, BOOL, None, f"({self.name} != {_nm(o)})")

    def __le__(self, o: Any) -> Any:
        r = self.subset(o)
        return r if isinstance(r, bool) else Sym(r, BOOL, None, f"({self.name} <= {_nm(o)})")

    def __ge__(self, o: Any) -> Any:
        bits = self._other_bits(o)
        if bits is None:
            raise _err(f">= between a set and {o!r}", self.name)
        r = b_and(*(b_or(b_not(b), a) for a, b in zip(self.bits, bits, strict=True)))
        return r if isinstance(r, bool) else Sym(r, BOOL, None, f"({self.name} >= {_nm(o)})")

    def nonempty(self) -> BoolLike:
        return b_or(*self.bits)

    def card(self) -> Any:
        """The number of elements, as an int or a symbolic int (one term, no fork)."""
        if all(isinstance(b, bool) for b in self.bits):
            return sum(1 for b in self.bits if b)
        terms = [z3.If(b, z3.IntVal(1), z3.IntVal(0)) if not isinstance(b, bool) else z3.IntVal(int(b))
                 for b in self.bits]
        return Sym(z3.Sum(*terms), INT, None, f"len({self.name})")

    def __bool__(self) -> bool:
        return decide(self.nonempty())

    def __len__(self) -> int:
        c = self.card()
        if isinstance(c, int):
            return c
        n = len(self.bits)
        for k in range(n):
            if decide(c.t == k):
                return k
        return n

    def __iter__(self) -> Iterator[Any]:
        raise _err(
            "iterating over a symbolic set; iterate its declared universe and test membership "
            "(`for m in universe: if m in S`)",
            self.name,
        )

    def __hash__(self) -> int:
        raise _err("a symbolic set cannot be hashed", self.name)

    def __str__(self) -> str:
        raise _text_refusal(self.name)

    def __format__(self, spec: str) -> str:
        raise _text_refusal(self.name)

    def concrete(self) -> frozenset[Any] | None:
        """The set itself when every bit is a constant."""
        if all(isinstance(b, bool) for b in self.bits):
            return frozenset(x for x, b in zip(self.ty.universe, self.bits, strict=True) if b)
        return None

    def pairs(self) -> list[tuple[BoolLike, Any]]:
        """(membership, element) for every element that may be in the set (guarded iteration)."""
        return [(b, x) for x, b in zip(self.ty.universe, self.bits, strict=True) if b is not False]

    def image(self, elems: Iterable[Any], f: Callable[[Any], Any]) -> SymSet | frozenset[Any]:
        """``frozenset(f(x) for x in elems if x in self)`` as one set, without forking.

        Each ``f(x)`` is a member exactly when ``x`` is (or any ``x`` with the same image is):
        the same set Python builds, with the membership left symbolic instead of decided
        element by element (``ActorSystem.inbox`` on a symbolic message set).
        """
        return DynSet.make(((self.has(x), f(x)) for x in elems), f"{self.name}'")

    def __repr__(self) -> str:
        return f"SymSet({self.name})"


class OutsideUniverse(Exception):
    """A symbolic element may be outside a set's universe (an error unless the path is infeasible)."""


def has_sym(x: Any) -> bool:
    """Whether a value holds a symbolic leaf, set or list anywhere inside (tuples, records)."""
    if isinstance(x, (Sym, SymSet, GList)):
        return True
    if isinstance(x, tuple):
        return any(has_sym(y) for y in x)
    return False


def match(x: Any, u: Any) -> BoolLike:
    """``x == u`` as a formula, for ``u`` concrete; a leaf value outside ``x``'s type is unequal."""
    if isinstance(x, Sym):
        try:
            return x._eq(u)
        except SymbolicError:
            return False
    if isinstance(x, SymSet):
        return x.eq(u) if isinstance(u, frozenset) else False
    if isinstance(x, tuple):
        if type(x) is not type(u) or len(x) != len(u):
            return False
        acc: list[BoolLike] = []
        for a, b in zip(x, u, strict=True):
            r = match(a, b)
            if r is False:
                return False
            if r is not True:
                acc.append(r)
        return b_and(*acc)
    return type(x) is type(u) and x == u


class DynSet(SymSet):
    """A set of concrete values with symbolic membership and no declared universe.

    Built by a comprehension or ``frozenset(...)`` in a twin (``{m.acc for m in votes}``, the
    inbox of a node): its universe is whatever values may be in it, and comparisons with other
    sets widen it, since a value it never holds is simply not a member.
    """

    __slots__ = ()

    @staticmethod
    def make(pairs: Iterable[tuple[BoolLike, Any]], name: str = "set") -> SymSet | frozenset[Any]:
        guards: dict[Any, BoolLike] = {}
        for g, v in pairs:
            if g is False:
                continue
            if has_sym(v):
                raise SymbolicError(f"a set of symbolic values ({v!r}) in {current_function()}: set elements "
                                    "must be concrete (build a list, or test membership instead)")
            guards[v] = b_or(guards.get(v, False), g)
        if all(g is True for g in guards.values()):
            return frozenset(guards)
        return DynSet(SetOf(list(guards)), list(guards.values()), name)

    def _new(self, bits: Iterable[BoolLike]) -> SymSet:
        return DynSet(self.ty, tuple(bits), self.name)

    def _known(self, x: Any) -> bool:
        try:
            b = self.ty._bit.get(x)
        except (TypeError, SymbolicError):
            return False
        return b is not None and type(x) is type(self.ty.universe[b.bit_length() - 1])

    def _widen(self, xs: Iterable[Any]) -> DynSet:
        new = []
        seen = set()
        for x in xs:
            if not self._known(x) and x not in seen:
                new.append(x)
                seen.add(x)
        if not new:
            return self
        return DynSet(SetOf([*self.ty.universe, *new]), [*self.bits, *([False] * len(new))], self.name)

    def _pair(self, o: Any) -> tuple[DynSet, tuple[BoolLike, ...]] | None:
        if isinstance(o, SymSet):
            items: list[tuple[Any, BoolLike]] = list(zip(o.ty.universe, o.bits, strict=True))
        elif isinstance(o, (frozenset, set)):
            items = [(x, True) for x in o]
        else:
            return None
        a = self._widen(x for x, _b in items)
        ob: list[BoolLike] = [False] * len(a.bits)
        for x, b in items:
            k = a.ty._bit[x].bit_length() - 1
            ob[k] = b_or(ob[k], b)
        return a, tuple(ob)

    def _k(self, x: Any) -> int:
        if isinstance(x, (Sym, SymSet, GList)) or not self._known(x):
            return -1
        return SymSet._k(self, x)

    def has(self, x: Any) -> BoolLike:
        if has_sym(x):
            return b_or(*(b_and(bit, match(x, u)) for u, bit in zip(self.ty.universe, self.bits, strict=True)))
        k = self._k(x)
        return False if k < 0 else self.bits[k]

    def _other_bits(self, other: Any) -> tuple[BoolLike, ...] | None:
        p = self._pair(other)
        if p is None or p[0] is not self:
            return None
        return p[1]

    def _binary(self, o: Any, fn: Callable[[BoolLike, BoolLike], BoolLike]) -> Any:
        p = self._pair(o)
        if p is None:
            return NotImplemented
        a, ob = p
        return DynSet(a.ty, [fn(x, y) for x, y in zip(a.bits, ob, strict=True)], self.name)

    def union(self, *others: Iterable[Any]) -> SymSet:
        out: Any = self
        for o in others:
            if not isinstance(o, (SymSet, frozenset, set)):
                o = frozenset(o)
            out = out._binary(o, b_or)
        return out

    def intersection(self, *others: Iterable[Any]) -> SymSet:
        out: Any = self
        for o in others:
            out = out._binary(o if isinstance(o, (SymSet, frozenset, set)) else frozenset(o), b_and)
        return out

    def difference(self, *others: Iterable[Any]) -> SymSet:
        out: Any = self
        for o in others:
            out = out._binary(o if isinstance(o, (SymSet, frozenset, set)) else frozenset(o),
                              lambda x, y: b_and(x, b_not(y)))
        return out

    def __or__(self, o: Any) -> Any:
        return self._binary(o, b_or)

    __ror__ = __or__

    def __and__(self, o: Any) -> Any:
        return self._binary(o, b_and)

    __rand__ = __and__

    def __sub__(self, o: Any) -> Any:
        return self._binary(o, lambda x, y: b_and(x, b_not(y)))

    def __rsub__(self, o: Any) -> Any:
        return self._binary(o, lambda x, y: b_and(y, b_not(x)))

    def eq(self, o: Any) -> BoolLike:
        p = self._pair(o)
        if p is None:
            return False
        return b_and(*(b_eq(x, y) for x, y in zip(p[0].bits, p[1], strict=True)))

    def subset(self, o: Any) -> BoolLike:
        p = self._pair(o)
        if p is None:
            raise _err(f"<= between a set and {o!r}", self.name)
        return b_and(*(b_or(b_not(x), y) for x, y in zip(p[0].bits, p[1], strict=True)))

    def __ge__(self, o: Any) -> Any:
        p = self._pair(o)
        if p is None:
            raise _err(f">= between a set and {o!r}", self.name)
        r = b_and(*(b_or(b_not(y), x) for x, y in zip(p[0].bits, p[1], strict=True)))
        return r if isinstance(r, bool) else Sym(r, BOOL, None, f"({self.name} >= {_nm(o)})")

    def __iter__(self) -> Iterator[Any]:
        """Plain iteration forks on each element's membership (sound; comprehensions in twins do not)."""
        for b, x in self.pairs():
            if b is True or decide(b):
                yield x

    def __repr__(self) -> str:
        return f"DynSet({self.name}: {list(self.ty.universe)!r})"


class GList:
    """A list whose elements are present under conditions: ``[m for m in inbox if m.bal == b]``.

    Built by list comprehensions in twins over symbolic sets or with symbolic conditions.
    ``all/any/sum/len``, ``in`` and comprehensions over it build one term; plain iteration
    forks on each element's condition (sound, but exponential: prefer the generator forms).
    """

    __slots__ = ("items", "name")

    def __init__(self, items: Iterable[tuple[BoolLike, Any]], name: str = "list") -> None:
        self.items = tuple((g, v) for g, v in items if g is not False)
        self.name = name

    def pairs(self) -> list[tuple[BoolLike, Any]]:
        return list(self.items)

    def nonempty(self) -> BoolLike:
        return b_or(*(g for g, _v in self.items))

    def card(self) -> Any:
        if all(isinstance(g, bool) for g, _v in self.items):
            return len(self.items)
        terms = [z3.If(g, z3.IntVal(1), z3.IntVal(0)) if not isinstance(g, bool) else z3.IntVal(int(g))
                 for g, _v in self.items]
        return Sym(z3.Sum(*terms), INT, None, f"len({self.name})")

    def has(self, x: Any) -> BoolLike:
        return b_or(*(b_and(g, match(x, v) if not has_sym(v) else _value_eq(x, v)) for g, v in self.items))

    def __contains__(self, x: Any) -> bool:
        return decide(self.has(x))

    def __bool__(self) -> bool:
        return decide(self.nonempty())

    def __len__(self) -> int:
        c = self.card()
        if isinstance(c, int):
            return c
        for k in range(len(self.items)):
            if decide(c.t == k):
                return k
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        for g, v in self.items:
            if g is True or decide(g):
                yield v

    def __add__(self, o: Any) -> GList:
        if isinstance(o, GList):
            return GList([*self.items, *o.items], self.name)
        if isinstance(o, list):
            return GList([*self.items, *((True, v) for v in o)], self.name)
        return NotImplemented

    def __radd__(self, o: Any) -> GList:
        if isinstance(o, list):
            return GList([*((True, v) for v in o), *self.items], self.name)
        return NotImplemented

    def __getitem__(self, k: Any) -> Any:
        raise SymbolicError(f"indexing a list whose length is symbolic ({self.name}, in {current_function()}); "
                            "use all/any/sum/max/min over it")

    def __hash__(self) -> int:
        raise SymbolicError(f"a symbolic list cannot be hashed ({self.name}, in {current_function()})")

    def __str__(self) -> str:
        raise _text_refusal(self.name)

    def __format__(self, spec: str) -> str:
        raise _text_refusal(self.name)

    def __repr__(self) -> str:
        return f"GList({self.name}: {[v for _g, v in self.items]!r})"


def _value_eq(a: Any, b: Any) -> BoolLike:
    """Python ``==`` on two values either of which may hold symbolic leaves."""
    if isinstance(b, Sym) and not isinstance(a, Sym):
        a, b = b, a
    if isinstance(a, Sym):
        try:
            return a._eq(b)
        except SymbolicError:
            if isinstance(b, Sym):
                raise
            return False
    if isinstance(a, tuple) and isinstance(b, tuple):
        if type(a) is not type(b) or len(a) != len(b):
            return False
        return b_and(*(_value_eq(x, y) for x, y in zip(a, b, strict=True)))
    return match(a, b) if has_sym(a) else (match(b, a) if has_sym(b) else a == b)


# ----- the vocabulary, symbolically ------------------------------------------------------


def _unsupported(ty: Type, name: str) -> SymbolicError:
    return SymbolicError(
        f"field {name}: {ty.describe()} has no symbolic encoding yet (supported: Bool, Int, Id, Enum, "
        "OneOf, Vec, Tuple, Record, SetOf, and any type with a single value)"
    )


def fresh(ty: Type, name: str) -> Any:
    """A symbolic value of type ``ty`` whose z3 variables are named after ``name``."""
    if ty.size == 1:
        return ty.unpack(0)
    if isinstance(ty, BoolType):
        return Sym(z3.Bool(name), BOOL, ty, name)
    if isinstance(ty, Int):
        return Sym(z3.Int(name), INT, ty, name)
    if isinstance(ty, _Finite):
        return Sym(z3.Const(name, _enum_sort(ty)[0]), ENUM, ty, name)
    if isinstance(ty, Union):
        if union_encodable(ty):
            return Sym(z3.Int(name), UNION, ty, name)
        raise SymbolicError(
            f"field {name}: {ty.describe()} has no symbolic encoding: a Union is encoded when its "
            "alternatives are leaves (None, ints, enums) that Python never finds equal across "
            "alternatives (True == 1); records and containers belong in sets of messages"
        )
    if isinstance(ty, Record):
        parts = [fresh(t, f"{name}.{n}") for n, t in zip(ty.names, ty.parts, strict=True)]
        return tuple.__new__(ty.cls, parts) if ty._is_tuple else ty.cls(*parts)
    if isinstance(ty, (Vec, Tuple)):
        return tuple(fresh(t, f"{name}[{k}]") for k, t in enumerate(ty.parts))
    if isinstance(ty, SetOf):
        return SymSet(ty, [z3.Bool(f"{name}∋{x!r}") for x in ty.universe], name)
    raise _unsupported(ty, name)


def _record_items(ty: Record, v: Any) -> Sequence[Any]:
    return v if ty._is_tuple else [getattr(v, n) for n in ty.names]


def variables(ty: Type, v: Any) -> list[z3.ExprRef]:
    """The z3 variables of a fresh symbolic value, in a fixed order."""
    out: list[z3.ExprRef] = []

    def walk(t: Type, x: Any) -> None:
        if isinstance(x, Sym):
            out.append(x.t)
        elif isinstance(x, SymSet):
            out.extend(b for b in x.bits if not isinstance(b, bool))
        elif t.size == 1:
            return
        elif isinstance(t, Record):
            for p, y in zip(t.parts, _record_items(t, x), strict=True):
                walk(p, y)
        elif isinstance(t, (Vec, Tuple)):
            for p, y in zip(t.parts, x, strict=True):
                walk(p, y)

    walk(ty, v)
    return out


def domain(ty: Type, v: Any) -> BoolLike:
    """The type invariant of a symbolic value (bounds of ints; enums and bools need none)."""
    cs: list[BoolLike] = []

    def walk(t: Type, x: Any) -> None:
        if isinstance(x, Sym):
            if isinstance(t, Int):
                cs.append(z3.And(x.t >= t.lo, x.t <= t.hi))
            elif x.kind == UNION:
                cs.append(z3.And(x.t >= 0, x.t < t.size))
        elif isinstance(x, SymSet) or t.size == 1:
            return
        elif isinstance(t, Record):
            for p, y in zip(t.parts, _record_items(t, x), strict=True):
                walk(p, y)
        elif isinstance(t, (Vec, Tuple)):
            for p, y in zip(t.parts, x, strict=True):
                walk(p, y)

    walk(ty, v)
    return b_and(*cs)


def leaf_eq(ty: Type, a: Any, b: Any, name: str) -> BoolLike:
    """Equality of two leaves of type ``ty`` (either may be concrete)."""
    if isinstance(a, Sym):
        return a._eq(b)
    if isinstance(b, Sym):
        return b._eq(a)
    if not ty.contains(b):
        raise SymbolicError(f"result field {name} = {b!r} is not {ty.describe()} (in {current_function()})")
    return type(a) is type(b) and a == b


def eq(ty: Type, a: Any, b: Any, name: str = "state") -> BoolLike:
    """``a == b`` as a formula, directed by the type (either side may be concrete or symbolic)."""
    if ty.size == 1:
        for side in (a, b):
            if not isinstance(side, (Sym, SymSet)) and not ty.contains(side):
                raise SymbolicError(f"result field {name} = {side!r} is not {ty.describe()} (in {current_function()})")
        return True
    if isinstance(ty, SetOf):
        if isinstance(a, SymSet):
            return a.eq(b) if isinstance(b, (SymSet, frozenset)) else _bad_shape(ty, b, name)
        if isinstance(b, SymSet):
            return b.eq(a) if isinstance(a, frozenset) else _bad_shape(ty, a, name)
        if not ty.contains(b):
            return _bad_shape(ty, b, name)
        return a == b
    if isinstance(ty, Record):
        for side in (a, b):
            if type(side) is not ty.cls:
                _bad_shape(ty, side, name)
        return b_and(*(eq(t, x, y, f"{name}.{n}") for n, t, x, y in
                       zip(ty.names, ty.parts, _record_items(ty, a), _record_items(ty, b), strict=True)))
    if isinstance(ty, (Vec, Tuple)):
        for side in (a, b):
            if not isinstance(side, tuple) or len(side) != len(ty.parts):  # a bag's or FIFO's net: a subclass
                _bad_shape(ty, side, name)
        pairs = zip(ty.parts, a[:], b[:], strict=True)  # [:]: a plain tuple (a net refuses iteration)
        return b_and(*(eq(t, x, y, f"{name}[{k}]") for k, (t, x, y) in enumerate(pairs)))
    if isinstance(ty, (BoolType, Int, _Finite)) or (isinstance(ty, Union) and union_encodable(ty)):
        return leaf_eq(ty, a, b, name)
    if isinstance(a, (Sym, SymSet)) or isinstance(b, (Sym, SymSet)):
        raise _unsupported(ty, name)
    return ty.contains(b) and a == b


def _bad_shape(ty: Type, v: Any, name: str) -> BoolLike:
    raise SymbolicError(f"result field {name} = {v!r} does not have the shape of {ty.describe()} "
                        f"(in {current_function()})")


def decode(ty: Type, v: Any, model: z3.ModelRef) -> Any:
    """The concrete value of a symbolic value in a z3 model."""
    if isinstance(v, Sym):
        r = model.eval(v.t, model_completion=True)
        if v.kind == BOOL:
            return z3.is_true(r)
        if v.kind == INT:
            return r.as_long()
        if v.kind == UNION:
            assert isinstance(v.ty, Union)
            return v.ty.unpack(r.as_long())
        assert isinstance(v.ty, _Finite)
        return v.ty._values[_enum_sort(v.ty)[2][str(r)]]
    if isinstance(v, SymSet):
        return frozenset(
            x for x, b in zip(v.ty.universe, v.bits, strict=True)
            if (b if isinstance(b, bool) else z3.is_true(model.eval(b, model_completion=True)))
        )
    if ty.size == 1:
        return v
    if isinstance(ty, Record):
        parts = [decode(t, x, model) for t, x in zip(ty.parts, _record_items(ty, v), strict=True)]
        return tuple.__new__(ty.cls, parts) if ty._is_tuple else ty.cls(*parts)
    if isinstance(ty, (Vec, Tuple)):
        return tuple(decode(t, x, model) for t, x in zip(ty.parts, v, strict=True))
    return v


def ite(c: BoolLike, a: Any, b: Any) -> Any:
    """``a if c else b`` as one value when both sides have the same shape; else ``NotImplemented``."""
    if c is True:
        return a
    if c is False:
        return b
    if a is b:
        return a
    if isinstance(a, Sym) or isinstance(b, Sym):
        s = a if isinstance(a, Sym) else b
        try:
            ta, tb = s._lift(a), s._lift(b)
        except SymbolicError:
            return NotImplemented
        return Sym(z3.If(c, ta, tb), s.kind, s.ty if s.kind in (ENUM, UNION) else None,
                   f"({_nm(a)} if .. else {_nm(b)})")
    if isinstance(a, GList) or isinstance(b, GList):
        return NotImplemented
    if isinstance(a, SymSet) or isinstance(b, SymSet):
        s2 = a if isinstance(a, SymSet) else b
        try:
            ba, bb = s2._other_bits(a), s2._other_bits(b)
        except SymbolicError:
            return NotImplemented
        if ba is None or bb is None:
            return NotImplemented
        return s2._new(b_or(b_and(c, x), b_and(b_not(c), y)) if not (isinstance(x, bool) and x == y) else x
                       for x, y in zip(ba, bb, strict=True))
    if type(a) is tuple or (isinstance(a, tuple) and hasattr(a, "_fields")):
        if type(a) is not type(b) or len(a) != len(b):
            return NotImplemented
        parts = [ite(c, x, y) for x, y in zip(a, b, strict=True)]
        if any(p is NotImplemented for p in parts):
            return NotImplemented
        return tuple.__new__(type(a), parts)
    if type(a) is type(b) and (isinstance(a, (bool, int, str)) or a is None):
        if a == b:
            return a
        if isinstance(a, bool):
            return Sym(z3.If(c, z3.BoolVal(a), z3.BoolVal(b)), BOOL, None, "ite")
        if isinstance(a, int):
            return Sym(z3.If(c, z3.IntVal(a), z3.IntVal(b)), INT, None, "ite")
    if isinstance(a, (bool, int)) and isinstance(b, (bool, int)) and not (isinstance(a, bool) and isinstance(b, bool)):
        return Sym(z3.If(c, z3.IntVal(int(a)), z3.IntVal(int(b))), INT, None, "ite")
    try:
        if type(a) is type(b) and a == b:
            return a
    except SymbolicError:
        pass
    return NotImplemented


# ----- the path explorer -----------------------------------------------------------------


@dataclass
class SymPath:
    """One path of a function: its decisions and what it returned (``None`` when disabled)."""

    pc: list[z3.BoolRef]
    result: Any
    enabled: bool

    @property
    def cond(self) -> BoolLike:
        return b_and(*self.pc)


DEFAULT_MAX_PATHS = 4096


def explore(
    fn: Callable[..., Any],
    args: Sequence[Any],
    label: str,
    max_paths: int = DEFAULT_MAX_PATHS,
    background: BoolLike = True,
    *,
    prune: bool = False,
) -> list[SymPath]:
    """Every path of ``fn(*args)``: run it, then re-run it flipping the last open decision.

    A path that raises is reported (naming ``label``) unless its path condition is
    unsatisfiable together with ``background`` (the type invariant): code may legitimately
    fail on combinations of answers that cannot happen together.  Only ``max_paths`` bounds
    the work, so the outcome never depends on the machine's load.

    ``prune``: follow only answers consistent with ``background`` and the answers before
    (z3 decides each new question and each flip), so the paths are exactly the feasible ones
    and together cover every state satisfying ``background`` -- the function's meaning *on
    those states*, which is what a relation restricted to ``background`` needs.  It costs a
    solver call per question; without it, infeasible paths are explored and are harmless.
    """
    prefix: list[bool] = []
    prev: list[z3.BoolRef] = []
    paths: list[SymPath] = []
    runs = 0
    solver: z3.Solver | None = None
    if prune:
        solver = z3.Solver()
        solver.add(to_z3(background))
        if solver.check() == z3.unsat:
            return []  # no state satisfies the background: no path
    while True:
        runs += 1
        if runs > max_paths:
            raise PathExplosion(
                f"path explosion in {label}: more than {max_paths} paths. Fold conditions into one "
                "`if`, use generator forms inside all/any/sum, or write the predicate so its twin applies"
            )
        if solver is not None and solver.num_scopes():
            solver.pop(solver.num_scopes())
        oracle = _Oracle(label, prefix, prev, solver)
        _ORACLE.append(oracle)
        dropped = False
        try:
            try:
                result = fn(*args)
                enabled = result is not None
            except Disabled:
                result, enabled = None, False
        except SymbolicError:
            raise
        except Exception as e:
            pc = [c if v else z3.Not(c) for c, v in zip(oracle.conds, oracle.values, strict=True)]
            s = z3.Solver()
            s.add(to_z3(background), *pc)
            if s.check() != z3.unsat:
                raise SymbolicError(
                    f"{label} raised {type(e).__name__}: {e} on a symbolic path "
                    f"({' & '.join(map(str, pc)) or 'unconditionally'}); functions must be total on "
                    "every type-correct state"
                ) from e
            result, enabled, dropped = None, False, True
        finally:
            _ORACLE.pop()
        if not dropped:
            pc = [c if v else z3.Not(c) for c, v in zip(oracle.conds, oracle.values, strict=True)]
            paths.append(SymPath(pc, result, enabled))
        j = len(oracle.values) - 1
        while j >= 0 and (not oracle.values[j] or (solver is not None and not _flippable(solver, oracle, j))):
            j -= 1
        if j < 0:
            return paths
        prefix = [*oracle.values[:j], False]
        prev = oracle.conds[: j + 1]


def _flippable(solver: z3.Solver, oracle: _Oracle, j: int) -> bool:
    """Whether decision ``j`` can be answered False after the answers before it (pruning)."""
    solver.pop(solver.num_scopes())
    lits = [c if v else z3.Not(c) for c, v in zip(oracle.conds[:j], oracle.values[:j], strict=True)]
    return solver.check(*lits, z3.Not(oracle.conds[j])) != z3.unsat


def predicate_formula(paths: Sequence[SymPath]) -> BoolLike:
    """A predicate's paths as one formula: the disjunction of ``pc & result``."""
    return b_or(*(b_and(p.cond, truth(p.result)) for p in paths))


def relation_formula(ty: Type, paths: Sequence[SymPath], y: Any) -> BoolLike:
    """An action's paths as ``T(X, Y)``: some enabled path holds and ``Y`` is its result."""
    return b_or(*(b_and(p.cond, eq(ty, y, p.result, "next")) for p in paths if p.enabled))


# ----- a model, symbolically -------------------------------------------------------------


@dataclass
class Instance:
    """One action instance: the concrete function and the function run symbolically."""

    action: Action
    concrete: Callable[[Any], Any]
    symbolic: Callable[[Any], Any]
    forking: Callable[[Any], Any]


def _call_args(fn: Callable[..., Any], args: tuple[Any, ...]) -> Callable[[Any], Any]:
    def run(s: Any) -> Any:
        try:
            return fn(s, *args)
        except Disabled:
            return None

    return run


def instances(model: Model[Any], use_twin: bool = True) -> list[Instance]:
    """Every action instance of ``model`` with its concrete and symbolic functions."""
    from .twin import twin

    out: list[Instance] = []
    if isinstance(model, ActorSystem):
        for a, f in model._compiled():
            out.append(Instance(a, f, twin(f) if use_twin else f, f))
        return out
    acts = getattr(model, "_actions", None)
    if not acts:
        raise SymbolicError(f"{type(model).__name__}: no @transition actions to encode symbolically")
    for _name, fn, insts in acts:
        tw = twin(fn) if use_twin else fn
        for a, args in insts:
            out.append(Instance(a, _call_args(fn, args), _call_args(tw, args), _call_args(fn, args)))
    return out


@dataclass
class Encoded:
    """An action instance's symbolic relation over the generic (X, Y)."""

    inst: Instance
    paths: list[SymPath]
    formula: BoolLike
    enabled: BoolLike
    seconds: float

    @property
    def name(self) -> str:
        return repr(self.inst.action)


@dataclass
class Conjunct:
    """A named predicate and its formula over X."""

    name: str
    fn: Callable[[Any], Any]
    formula: BoolLike
    paths: int


@dataclass
class SymbolicModel:
    """A model's transition relation and predicates over generic states X and Y, built once."""

    model: Model[Any]
    use_twin: bool = True
    max_paths: int = DEFAULT_MAX_PATHS
    ty: Type = field(init=False)
    x: Any = field(init=False)
    y: Any = field(init=False)
    xvars: list[z3.ExprRef] = field(init=False)
    yvars: list[z3.ExprRef] = field(init=False)
    actions: list[Encoded] = field(init=False)
    build_s: float = field(init=False)

    def __post_init__(self) -> None:
        t0 = time.perf_counter()
        self.ty = self.model.state_type
        self.x = fresh(self.ty, "x")
        self.y = fresh(self.ty, "y")
        self.xvars = variables(self.ty, self.x)
        self.yvars = variables(self.ty, self.y)
        self.dom_x = domain(self.ty, self.x)
        self.dom_y = domain(self.ty, self.y)
        self.actions = [self.encode(i) for i in instances(self.model, self.use_twin)]
        self.build_s = time.perf_counter() - t0

    def encode(self, inst: Instance, fn: Callable[[Any], Any] | None = None) -> Encoded:
        t0 = time.perf_counter()
        paths = explore(fn or inst.symbolic, (self.x,), repr(inst.action), self.max_paths, self.dom_x)
        f = relation_formula(self.ty, paths, self.y)
        en = b_or(*(p.cond for p in paths if p.enabled))
        return Encoded(inst, paths, f, en, time.perf_counter() - t0)

    def predicate(self, name: str, fn: Callable[[Any], Any], use_twin: bool | None = None) -> Conjunct:
        from .twin import twin

        tw = twin(fn) if (self.use_twin if use_twin is None else use_twin) else fn
        paths = explore(tw, (self.x,), name, self.max_paths, self.dom_x)
        return Conjunct(name, fn, predicate_formula(paths), len(paths))

    def at(self, f: BoolLike, xs: Sequence[z3.ExprRef], ys: Sequence[z3.ExprRef] | None = None) -> BoolLike:
        """``f`` with X renamed to ``xs`` (and Y to ``ys``)."""
        if isinstance(f, bool):
            return f
        pairs = list(zip(self.xvars, xs, strict=True))
        if ys is not None:
            pairs += list(zip(self.yvars, ys, strict=True))
        return z3.substitute(f, *pairs) if pairs else f

    def step_vars(self, tag: str) -> tuple[Any, list[z3.ExprRef]]:
        v = fresh(self.ty, tag)
        return v, variables(self.ty, v)

    def state_eq(self, v: Any, s: Any) -> BoolLike:
        return eq(self.ty, v, s)

    def decode(self, v: Any, m: z3.ModelRef) -> Any:
        return decode(self.ty, v, m)

    def path_counts(self) -> dict[str, int]:
        return {e.name: len(e.paths) for e in self.actions}


def safety_properties(model: Model[Any], names: Sequence[str] | None = None) -> list[tuple[str, Callable[[Any], Any]]]:
    """The model's ``@always`` properties (all, or the named ones), as (name, fn)."""
    props = [(p.name, p.fn) for p in model.invariants]
    if names is None:
        return props
    known = {n for n, _f in props}
    for n in names:
        if n not in known:
            raise KeyError(f"{type(model).__name__} has no @always property {n!r}; known: {sorted(known)}")
    return [(n, f) for n, f in props if n in names]


def check_reason(s: z3.Solver) -> str:
    return s.reason_unknown() or "solver returned unknown"


__all__ = [
    "BoolLike",
    "DynSet",
    "GList",
    "Nondeterminism",
    "OutsideUniverse",
    "PathExplosion",
    "Sym",
    "SymPath",
    "SymSet",
    "SymbolicError",
    "SymbolicModel",
    "decode",
    "domain",
    "eq",
    "explore",
    "fresh",
    "instances",
]
