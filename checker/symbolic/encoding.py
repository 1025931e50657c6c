"""The vocabulary, symbolically: one encoding per schema type.

Each schema type says, in one place, how a fresh symbolic value of it is built (``fresh``),
which of its parts are values of other types (``parts``, which serves ``variables``,
``domain`` and ``decode``), how it is rebuilt from them, and how two values of it are equal
(``eq``).  A new type registers its functions here (``functools.singledispatch`` on the type's
class, most specific class first) instead of growing an ``isinstance`` chain in every function.

Types of size one stay concrete: they cost nothing and need no variables.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import singledispatch
from typing import Any

import z3

from ...models.schema import BagOf, BoolType, Int, Record, Seq, SetOf, Tuple, Type, Union, Vec, _Finite
from .bags import SymBag
from .leaves import BOOL, ENUM, INT, UNION, Sym, _enum_sort, _nm, union_encodable
from .logic import BoolLike, SymbolicError, b_and, b_not, b_or
from .search import current_function
from .seqs import SymSeq
from .sets import GList, SymSet


def _unsupported(ty: Type, name: str) -> SymbolicError:
    return SymbolicError(
        f"field {name}: {ty.describe()} has no symbolic encoding yet (supported: Bool, Int, Id, Enum, "
        "OneOf, Vec, Tuple, Record, SetOf, and any type with a single value)"
    )


def _record_items(ty: Record, v: Any) -> Sequence[Any]:
    return v if ty._is_tuple else [getattr(v, n) for n in ty.names]


def _bad_shape(ty: Type, v: Any, name: str) -> BoolLike:
    raise SymbolicError(f"result field {name} = {v!r} does not have the shape of {ty.describe()} "
                        f"(in {current_function()})")


# ----- fresh values ----------------------------------------------------------------------


def fresh(ty: Type, name: str) -> Any:
    """A symbolic value of type ``ty`` whose z3 variables are named after ``name``."""
    if ty.size == 1:
        return ty.unpack(0)
    return _fresh(ty, name)


@singledispatch
def _fresh(ty: Type, name: str) -> Any:
    raise _unsupported(ty, name)


@_fresh.register
def _(ty: BoolType, name: str) -> Any:
    return Sym(z3.Bool(name), BOOL, ty, name)


@_fresh.register
def _(ty: Int, name: str) -> Any:
    return Sym(z3.Int(name), INT, ty, name)


@_fresh.register
def _(ty: _Finite, name: str) -> Any:
    return Sym(z3.Const(name, _enum_sort(ty)[0]), ENUM, ty, name)


@_fresh.register
def _(ty: Union, name: str) -> Any:
    if union_encodable(ty):
        return Sym(z3.Int(name), UNION, ty, name)
    raise SymbolicError(
        f"field {name}: {ty.describe()} has no symbolic encoding: a Union is encoded when its "
        "alternatives are leaves (None, ints, enums) that Python never finds equal across "
        "alternatives (True == 1); records and containers belong in sets of messages"
    )


@_fresh.register
def _(ty: Record, name: str) -> Any:
    return rebuild(ty, [fresh(t, f"{name}.{n}") for n, t in zip(ty.names, ty.parts, strict=True)])


@_fresh.register(Vec)
@_fresh.register(Tuple)
def _(ty: Vec | Tuple, name: str) -> Any:
    return tuple(fresh(t, f"{name}[{k}]") for k, t in enumerate(ty.parts))


@_fresh.register
def _(ty: BagOf, name: str) -> Any:
    return SymBag(fresh(t, f"{name}[{k}]") for k, t in enumerate(ty.parts))  # sends bump it by formulas


@_fresh.register
def _(ty: SetOf, name: str) -> Any:
    return SymSet(ty, [z3.Bool(f"{name}∋{x!r}") for x in ty.universe], name)


@_fresh.register
def _(ty: Seq, name: str) -> Any:
    return SymSeq([fresh(ty.elem, f"{name}[{k}]") for k in range(ty.maxlen)], z3.Int(f"{name}.len"), name)


# ----- parts: the values a composite value is made of ------------------------------------


@singledispatch
def parts(ty: Type, v: Any) -> Sequence[tuple[Type, Any]]:
    """The (type, value) parts of a composite value; none for a leaf or a set."""
    return ()


@parts.register
def _(ty: Record, v: Any) -> Sequence[tuple[Type, Any]]:
    return list(zip(ty.parts, _record_items(ty, v), strict=True))


@parts.register(Vec)
@parts.register(Tuple)
def _(ty: Vec | Tuple, v: Any) -> Sequence[tuple[Type, Any]]:
    return list(zip(ty.parts, v, strict=True))


@parts.register
def _(ty: Seq, v: Any) -> Sequence[tuple[Type, Any]]:
    """A symbolic sequence: its length (in ``0..maxlen``), then every slot; a concrete one: its elements."""
    if isinstance(v, SymSeq):
        n = v.n if isinstance(v.n, int) else Sym(v.n, INT, None, f"len({v.name})")
        return [(Int(0, ty.maxlen), n), *((ty.elem, x) for x in v.slots)]
    return [(ty.elem, x) for x in v]


@singledispatch
def rebuild(ty: Type, vals: list[Any]) -> Any:
    """The composite value of type ``ty`` made of ``vals`` (in the order of ``parts``)."""
    raise TypeError(f"{ty.describe()} is not a composite type")


@rebuild.register
def _(ty: Record, vals: list[Any]) -> Any:
    return tuple.__new__(ty.cls, vals) if ty._is_tuple else ty.cls(*vals)


@rebuild.register(Vec)
@rebuild.register(Tuple)
def _(ty: Vec | Tuple, vals: list[Any]) -> Any:
    return tuple(vals)


def variables(ty: Type, v: Any) -> list[z3.ExprRef]:
    """The z3 variables of a fresh symbolic value, in a fixed order."""
    out: list[z3.ExprRef] = []

    def walk(t: Type, x: Any) -> None:
        if isinstance(x, Sym):
            out.append(x.t)
        elif isinstance(x, SymSet):
            out.extend(b for b in x.bits if not isinstance(b, bool))
        elif t.size != 1:
            for p, y in parts(t, x):
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
        elif not isinstance(x, SymSet) and t.size != 1:
            for p, y in parts(t, x):
                walk(p, y)

    walk(ty, v)
    return b_and(*cs)


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
    return _decode(ty, v, model)


@singledispatch
def _decode(ty: Type, v: Any, model: z3.ModelRef) -> Any:
    return v  # a concrete value of a type without an encoding


@_decode.register
def _(ty: Seq, v: Any, model: z3.ModelRef) -> Any:
    if not isinstance(v, SymSeq):
        return tuple(decode(ty.elem, x, model) for x in v)
    n = v.n if isinstance(v.n, int) else model.eval(v.n, model_completion=True).as_long()
    return tuple(decode(ty.elem, x, model) for x in v.slots[:n])


@_decode.register(Record)
@_decode.register(Vec)
@_decode.register(Tuple)
def _(ty: Type, v: Any, model: z3.ModelRef) -> Any:
    return rebuild(ty, [decode(t, x, model) for t, x in parts(ty, v)])


# ----- equality ----------------------------------------------------------------------------


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
    return _eq(ty, a, b, name)


@singledispatch
def _eq(ty: Type, a: Any, b: Any, name: str) -> BoolLike:
    """A type without an encoding: equal only as concrete values."""
    if isinstance(a, (Sym, SymSet)) or isinstance(b, (Sym, SymSet)):
        raise _unsupported(ty, name)
    return ty.contains(b) and a == b


@_eq.register(BoolType)
@_eq.register(Int)
@_eq.register(_Finite)
def _(ty: Type, a: Any, b: Any, name: str) -> BoolLike:
    return leaf_eq(ty, a, b, name)


@_eq.register
def _(ty: Union, a: Any, b: Any, name: str) -> BoolLike:
    if union_encodable(ty):
        return leaf_eq(ty, a, b, name)
    return _eq.dispatch(Type)(ty, a, b, name)


@_eq.register
def _(ty: SetOf, a: Any, b: Any, name: str) -> BoolLike:
    if isinstance(a, SymSet):
        return a.eq(b) if isinstance(b, (SymSet, frozenset)) else _bad_shape(ty, b, name)
    if isinstance(b, SymSet):
        return b.eq(a) if isinstance(a, frozenset) else _bad_shape(ty, a, name)
    if not ty.contains(b):
        return _bad_shape(ty, b, name)
    return a == b


@_eq.register
def _(ty: Record, a: Any, b: Any, name: str) -> BoolLike:
    for side in (a, b):
        if type(side) is not ty.cls:
            _bad_shape(ty, side, name)
    return b_and(*(eq(t, x, y, f"{name}.{n}") for n, t, x, y in
                   zip(ty.names, ty.parts, _record_items(ty, a), _record_items(ty, b), strict=True)))


@_eq.register(Vec)
@_eq.register(Tuple)
def _(ty: Vec | Tuple, a: Any, b: Any, name: str) -> BoolLike:
    for side in (a, b):
        if not isinstance(side, tuple) or len(side) != len(ty.parts):  # a bag's or FIFO's net: a subclass
            _bad_shape(ty, side, name)
    pairs = zip(ty.parts, a[:], b[:], strict=True)  # [:]: a plain tuple (a net refuses iteration)
    return b_and(*(eq(t, x, y, f"{name}[{k}]") for k, (t, x, y) in enumerate(pairs)))


@_eq.register
def _(ty: Seq, a: Any, b: Any, name: str) -> BoolLike:
    for side in (a, b):
        if not isinstance(side, SymSeq) and (type(side) is not tuple or len(side) > ty.maxlen):
            _bad_shape(ty, side, name)
    sa, sb = SymSeq.lift(a, name), SymSeq.lift(b, name)
    same: list[BoolLike] = [sa.n == sb.n]
    for k in range(max(len(sa.slots), len(sb.slots))):
        if k >= len(sa.slots) or k >= len(sb.slots):
            longer = sa if k >= len(sb.slots) else sb
            same.append(k >= longer.n)
            continue
        below = k < sa.n
        if below is False:
            break
        e = eq(ty.elem, sa.slots[k], sb.slots[k], f"{name}[{k}]")
        same.append(e if below is True else b_or(b_not(below), e))
    return b_and(*same)


# ----- one value from two, by a condition ------------------------------------------------


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
    if isinstance(a, SymSeq) or isinstance(b, SymSeq):
        return _ite_seq(c, a, b)
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
        ps = [ite(c, x, y) for x, y in zip(a, b, strict=True)]
        if any(p is NotImplemented for p in ps):
            return NotImplemented
        return tuple.__new__(type(a), ps)
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


def _ite_seq(c: BoolLike, a: Any, b: Any) -> Any:
    """Two sequences as one: each slot by ``c`` (a slot only one side has is that side's), the length by ``c``."""
    if not all(isinstance(x, (SymSeq, tuple)) for x in (a, b)):
        return NotImplemented
    sa, sb = SymSeq.lift(a), SymSeq.lift(b)
    slots = []
    for k in range(max(len(sa.slots), len(sb.slots))):
        if k >= len(sa.slots) or k >= len(sb.slots):
            slots.append(sa.slots[k] if k < len(sa.slots) else sb.slots[k])
            continue
        r = ite(c, sa.slots[k], sb.slots[k])
        if r is NotImplemented:
            return NotImplemented
        slots.append(r)
    n = ite(c, sa.n, sb.n) if isinstance(sa.n, int) and isinstance(sb.n, int) else z3.If(c, sa.n, sb.n)
    return SymSeq(slots, n._int() if isinstance(n, Sym) else n, sa.name)
