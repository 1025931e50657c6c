"""Leaves: a z3 term with the operators Python code applies to it (``Sym``).

Bools, ints and unions of small leaf values are z3 Bools and Ints (a union by its code,
``Union.pack``); finite types of other values are z3 enumeration sorts, one per value list.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

import z3

from ...models.schema import Int, Type, Union, _Finite
from .logic import BoolLike, SymbolicError, b_and, b_not, b_or, to_z3
from .search import _err, decide


def z3_eq(a: Any, b: Any) -> Any:
    """``a == b`` on z3 terms without z3py's operand coercion when both are terms of one context:
    a relation over a bag of hundreds of counters makes close to a million of these (a quarter of
    building a relation went into z3py's checks).  z3 still checks the sorts: on a mismatch
    (an integer against a real, which z3py coerces) it raises, and the coercing ``==`` answers."""
    if isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef) and a.ctx is b.ctx:
        try:
            return z3.BoolRef(z3.Z3_mk_eq(a.ctx_ref(), a.as_ast(), b.as_ast()), a.ctx)
        except z3.Z3Exception:
            pass
    return a == b

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
        return z3_eq(self.t, self._lift(other))

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

    def __rfloordiv__(self, o: Any) -> Sym:
        return self._arith(o, _floordiv, "//", True)

    def __mod__(self, o: Any) -> Sym:
        return self._arith(o, _mod, "%")

    def __rmod__(self, o: Any) -> Sym:
        return self._arith(o, _mod, "%", True)

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


def _divmod(a: Any, b: Any) -> tuple[Any, Any]:
    """Python's ``divmod`` on z3 integers: a zero divisor raises ``ZeroDivisionError`` on the path
    where it is zero (a raising step, as an index out of range is), and a negative one rounds
    down as Python does (z3's ``div``/``mod`` are Euclidean: the remainder is never negative)."""
    if z3.is_int_value(b):  # a literal divisor (``_arith`` makes every int operand a z3 value)
        b = b.as_long()
    if isinstance(b, int):
        if b == 0:
            raise ZeroDivisionError("integer division or modulo by zero")
        if b > 0:
            return a / b, a % b
    elif not decide(b != 0):
        raise ZeroDivisionError("integer division or modulo by zero")
    q, r = a / b, a % b
    fix = z3.And(b < 0, r != 0)
    return z3.If(fix, q - 1, q), z3.If(fix, r + b, r)


def _floordiv(a: Any, b: Any) -> Any:
    return _divmod(a, b)[0]


def _mod(a: Any, b: Any) -> Any:
    return _divmod(a, b)[1]


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

