"""What a twin calls instead of Python's connectives and builtins: one z3 term, not a fork.

On concrete operands every helper does exactly what Python does, so the twin of a function
is the function; on symbolic ones ``and``/``or``/``not``/``in``/if-expressions build one term,
and comprehensions over guarded collections keep each element's condition (``_guarded``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import z3

from ..symbolic import (
    BOOL,
    INT,
    Collection,
    DynSet,
    GList,
    Sym,
    SymbolicError,
    SymSeq,
    SymSet,
    b_and,
    b_not,
    b_or,
    current_function,
    decide,
    ite,
    to_z3,
    truth,
)
from ..symbolic.search import int_range

# ----- runtime helpers called by twins ---------------------------------------------------


def _show(v: Any) -> str:
    """Debug text of a possibly symbolic value (the leaves' ``repr``; never their ``str``)."""
    return repr(v)


def _wrap(b: Any, name: str) -> Any:
    return b if isinstance(b, bool) else Sym(b, BOOL, None, name)


def _is_sym(v: Any) -> bool:
    return isinstance(v, (Sym, Collection))


def _under(g: Any, thunk: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    """``thunk(*args)``, which Python evaluates only where ``g`` holds (the twin evaluates it always).

    If it raises (``log[i]`` guarded by ``i < len(log)``), Python would have raised only where
    ``g`` holds: fork on ``g`` and return ``(False, None)`` on the path where it does not.
    """
    try:
        return True, thunk(*args)
    except SymbolicError:
        raise
    except Exception:
        if g is True or decide(g):
            raise
        return False, None


def _pp_and(first: Any, *rest: Callable[[], Any]) -> Any:
    """``a and b and ...``: Python semantics on concrete values, one conjunction otherwise."""
    acc: list[Any] = []
    v = first
    for k in range(len(rest) + 1):
        if k:
            if not acc:
                v = rest[k - 1]()
            else:
                ok, v = _under(b_and(*acc), rest[k - 1])
                if not ok:
                    return False
        if not _is_sym(v):
            if not v:
                return v if not acc else False
            if k == len(rest):
                return v if not acc else _wrap(b_and(*acc), "and")
            continue
        acc.append(truth(v))
    return _wrap(b_and(*acc), "and")


def _pp_or(first: Any, *rest: Callable[[], Any]) -> Any:
    """``a or b or ...``: Python semantics on concrete values, one disjunction otherwise."""
    acc: list[Any] = []
    v = first
    for k in range(len(rest) + 1):
        if k:
            if not acc:
                v = rest[k - 1]()
            else:
                ok, v = _under(b_not(b_or(*acc)), rest[k - 1])
                if not ok:
                    return True
        if not _is_sym(v):
            if v:
                return v if not acc else True
            if k == len(rest):
                return v if not acc else _wrap(b_or(*acc), "or")
            continue
        acc.append(truth(v))
    return _wrap(b_or(*acc), "or")


def _pp_not(v: Any) -> Any:
    if _is_sym(v):
        return _wrap(b_not(truth(v)), "not")
    return not v


def _pp_ite(c: Any, a: Callable[[], Any], b: Callable[[], Any]) -> Any:
    if not _is_sym(c):
        return a() if c else b()
    t = truth(c)
    ok, va = _under(t, a)
    if not ok:
        return b()
    ok, vb = _under(b_not(t), b)
    if not ok:
        return va
    r = ite(t, va, vb)
    if r is NotImplemented:
        return va if decide(t) else vb  # shapes differ: fork instead
    return r


def _pp_mem(x: Any, s: Any) -> Any:
    """``x in s`` without forking."""
    if isinstance(s, Collection):
        return _wrap(s.has(x), f"({x!r} in {s.name})")
    if isinstance(s, _Gen):
        return _pp_mem(x, GList(s.pairs()))
    if isinstance(s, Sym):
        raise SymbolicError(f"`in` on symbolic leaf {s.name} (in {current_function()})")
    if not _is_sym(x) and not (isinstance(s, (tuple, list)) and any(_is_sym(e) for e in s)):
        return x in s
    if isinstance(s, (tuple, list, range)):
        return _wrap(b_or(*(_veq(x, e) for e in s)), "in")
    if isinstance(s, (frozenset, set)):
        return _wrap(b_or(*(_veq(x, e) for e in s)), "in")
    if isinstance(s, dict):
        raise SymbolicError(f"symbolic key {x!r} looked up in a dict (in {current_function()})")
    return x in s


def _veq(a: Any, b: Any) -> Any:
    """Python ``==`` as a formula (``in`` on a tuple compares each element)."""
    if isinstance(a, Sym):
        try:
            return a._eq(b)
        except SymbolicError:
            if isinstance(b, Sym):
                raise
            return False  # a value outside the leaf's type is simply not equal
    if isinstance(b, Sym):
        return _veq(b, a)
    if isinstance(a, (SymSet, SymSeq)):
        return a.eq(b)
    if isinstance(b, (SymSet, SymSeq)):
        return b.eq(a)
    if isinstance(a, tuple) and isinstance(b, tuple):
        if len(a) != len(b):
            return False
        return b_and(*(_veq(x, y) for x, y in zip(a, b, strict=True)))
    return a == b


def _pp_is(a: Any, b: Any) -> Any:
    """``a is b``: equality as a formula when a leaf is involved, identity otherwise.

    A leaf stands for ``None``, a bool, an enum member, a small int or an interned string, on
    which ``is`` and ``==`` agree; the leaf object itself is never identical to a constant, so
    plain ``is`` would silently be ``False`` (and ``is not`` silently ``True``).
    """
    if isinstance(a, Sym) or isinstance(b, Sym):
        return _wrap(_veq(a, b), f"({_show(a)} is {_show(b)})")
    if a is b:
        return True
    if isinstance(a, Collection) or isinstance(b, Collection):
        other = b if isinstance(a, Collection) else a
        if other is None or isinstance(other, (bool, int, str)):
            return False  # a set or list is never one of these
        raise SymbolicError(f"`is` between a symbolic set or list and {_show(other)} (in {current_function()}): "
                            "identity of collections is not a property of the state; compare with ==")
    return False


def _pp_is_not(a: Any, b: Any) -> Any:
    return _pp_not(_pp_is(a, b))


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "is": _pp_is, "is not": _pp_is_not,
    "in": _pp_mem, "not in": lambda a, b: _pp_not(_pp_mem(a, b)),
}


def _pp_chain(left: Any, *steps: tuple[str, Callable[[], Any]]) -> Any:
    """``a < b < c``: each middle operand evaluated once, one conjunction."""
    acc: list[Any] = []
    for op, thunk in steps:
        right = thunk()
        r = _OPS[op](left, right)
        if _is_sym(r):
            acc.append(truth(r))
        elif not r:
            return False
        left = right
    return _wrap(b_and(*acc), "chain") if acc else True


def _pp_implies(c: Any, e: Callable[[], Any]) -> Any:
    if not _is_sym(c):
        return e() if c else True
    ok, v = _under(truth(c), e)
    return _wrap(z3.Implies(truth(c), to_z3(truth(v))), "implies") if ok else True


def _pp_when(c: Any, e: Callable[[], Any]) -> Any:
    if not _is_sym(c):
        return e() if c else False
    ok, v = _under(truth(c), e)
    return _wrap(b_and(truth(c), truth(v)), "when") if ok else False


def _pp_count(c: Any, e: Callable[[], Any]) -> Any:
    if not _is_sym(c):
        return e() if c else 0
    ok, v = _under(truth(c), e)
    if not ok:
        return 0
    r = ite(truth(c), v, 0)
    if r is NotImplemented:
        return v if decide(truth(c)) else 0
    return r


# ----- comprehensions over guarded collections ---------------------------------------------


def _guarded(it: Any) -> list[tuple[Any, Any]] | None:
    """(condition, element) pairs of a collection whose membership is symbolic; None if concrete."""
    if isinstance(it, (Collection, _Gen)):
        return it.pairs()
    return None


def _iter_pairs(it: Any, cond: Callable[[Any], Any] | None, elt: Callable[[Any], Any]) -> Iterator[tuple[Any, Any]]:
    """``(guard, elt(x))`` for each ``x in it if cond``, lazily (all/any stop early on constants)."""
    src = _guarded(it)
    pairs: Iterable[tuple[Any, Any]] = src if src is not None else ((True, x) for x in it)
    for g, x in pairs:
        if cond is not None:
            c = cond(x)
            if _is_sym(c):
                g = b_and(g, truth(c))
            elif not c:
                continue
        if g is False:
            continue
        ok, v = _under(g, elt, x)  # an element present under g; if elt raises, it must not be
        if ok:
            yield g, v


def _comp_pairs(it: Any, cond: Callable[[Any], Any] | None, elt: Callable[[Any], Any]) -> list[tuple[Any, Any]]:
    return list(_iter_pairs(it, cond, elt))


class _Gen:
    """A generator expression in a twin: lazy like Python's, or materialized as guarded pairs.

    Consumers that build one term (``frozenset``, ``set``, ``list``, ``len``, ``all/any/sum``,
    ``in``) take its (condition, element) pairs; plain iteration forks on symbolic conditions.
    """

    __slots__ = ("cond", "done", "elt", "gen", "it")

    def __init__(self, it: Any, cond: Callable[[Any], Any] | None, elt: Callable[[Any], Any]) -> None:
        self.it, self.cond, self.elt, self.done = it, cond, elt, False
        self.gen: Any = None

    def pairs(self) -> list[tuple[Any, Any]]:
        if self.done:
            return []
        self.done = True
        return _comp_pairs(self.it, self.cond, self.elt)

    def _run(self) -> Any:
        for x in self.it:
            if self.cond is not None:
                c = self.cond(x)
                if not (decide(truth(c)) if _is_sym(c) else c):
                    continue
            yield self.elt(x)

    def __iter__(self) -> _Gen:
        return self

    def __next__(self) -> Any:
        if self.gen is None:
            if self.done:
                raise StopIteration
            self.done = True
            self.gen = self._run()
        return next(self.gen)


def _pp_comp(kind: str, it: Any, cond: Callable[[Any], Any] | None, elt: Callable[[Any], Any]) -> Any:
    """``[elt for x in it if cond]`` (and set/generator forms): Python's value, or a guarded one."""
    if kind == "gen":
        return _Gen(it, cond, elt)
    pairs = _comp_pairs(it, cond, elt)
    if all(g is True for g, _v in pairs):
        vals = [v for _g, v in pairs]
        return vals if kind == "list" else set(vals)
    if kind == "list":
        return GList(pairs)
    return DynSet.make(pairs)


def _pp_reduce(kind: str, it: Any, cond: Callable[[Any], Any] | None, elt: Callable[[Any], Any]) -> Any:
    """``all/any/sum(elt for x in it if cond)`` as one term (short-circuits like Python on constants)."""
    acc: list[Any] = []
    total: Any = 0
    for g, v in _iter_pairs(it, cond, elt):
        if kind == "sum":
            if isinstance(v, Sym) and v.kind == BOOL:
                v = Sym(v._int(), INT, None, v.name)
            if g is not True:
                r = ite(g, v, 0)
                v = r if r is not NotImplemented else (v if decide(g) else 0)
            total = total + v
            continue
        sym = _is_sym(v)
        t = truth(v) if sym else bool(v)
        if kind == "all":
            if g is True:
                if not sym and not t:
                    return False
                if sym:
                    acc.append(t)
            elif sym:
                acc.append(z3.Implies(to_z3(g), to_z3(t)))
            elif not t:
                acc.append(b_not(g))
        else:
            if g is True:
                if not sym and t:
                    return True
                if sym:
                    acc.append(t)
            elif sym:
                acc.append(b_and(g, t))
            elif t:
                acc.append(g)
    if kind == "sum":
        return total
    if kind == "all":
        return _wrap(b_and(*acc), "all") if acc else True
    return _wrap(b_or(*acc), "any") if acc else False


def _all(it: Iterable[Any]) -> Any:
    acc: list[Any] = []
    for v in it:
        if _is_sym(v):
            acc.append(truth(v))
        elif not v:
            return False
    return _wrap(b_and(*acc), "all") if acc else True


def _any(it: Iterable[Any]) -> Any:
    acc: list[Any] = []
    for v in it:
        if _is_sym(v):
            acc.append(truth(v))
        elif v:
            return True
    return _wrap(b_or(*acc), "any") if acc else False


def _sum(it: Iterable[Any], start: Any = 0) -> Any:
    total = start
    for v in it:
        if isinstance(v, Sym) and v.kind == BOOL:
            v = Sym(v._int(), INT, None, v.name)
        total = total + v
    return total


def _fold(pick: Callable[[Any, Any], Any], builtin: Callable[..., Any]) -> Callable[..., Any]:
    def fold(*args: Any, **kw: Any) -> Any:
        items = list(args[0]) if len(args) == 1 else list(args)
        if kw or not any(_is_sym(v) for v in items):
            return builtin(*args, **kw)
        if not items:
            raise ValueError(f"{builtin.__name__}() arg is an empty sequence")
        m = items[0]
        for v in items[1:]:
            c = pick(v, m)
            r = ite(truth(c), v, m) if _is_sym(c) else (v if c else m)
            m = r if r is not NotImplemented else (v if decide(truth(c)) else m)
        return m

    return fold


def _len(x: Any) -> Any:
    if isinstance(x, Collection):
        return x.card()
    if isinstance(x, _Gen):
        return GList(x.pairs()).card()
    return len(x)


def _concrete_int(v: Any) -> Any:
    """A symbolic int as the concrete value of this path: one fork per value the type invariant
    allows (``range(1, len(log) + 1)`` runs once per possible length, as Python would)."""
    if not (isinstance(v, Sym) and v.kind == INT):
        return v
    lo, hi = int_range(v.t, v.name)
    for k in range(lo, hi):
        if decide(v.t == k):
            return k
    return hi


def _range(*args: Any) -> range:
    return range(*(_concrete_int(a) for a in args))


def _frozenset(*args: Any) -> Any:
    if len(args) == 1:
        x = args[0]
        if isinstance(x, SymSet):
            return x
        if isinstance(x, (_Gen, GList, SymSeq)):
            return DynSet.make(x.pairs())
    return frozenset(*args)


def _set(*args: Any) -> Any:
    if len(args) == 1:
        x = args[0]
        if isinstance(x, SymSet):
            return x
        if isinstance(x, (_Gen, GList, SymSeq)):
            r = DynSet.make(x.pairs())
            return set(r) if isinstance(r, frozenset) else r
    return set(*args)


def _list(*args: Any) -> Any:
    if len(args) == 1:
        x = args[0]
        if isinstance(x, GList):
            return x
        if isinstance(x, SymSeq):
            return GList(x.pairs(), x.name)
        if isinstance(x, _Gen):
            pairs = x.pairs()
            return [v for _g, v in pairs] if all(g is True for g, _v in pairs) else GList(pairs)
    return list(*args)


def _bool(*args: Any) -> Any:
    if len(args) == 1 and _is_sym(args[0]):
        return _wrap(truth(args[0]), "bool")
    return bool(*args)


def _pp_sub(x: Any, k: Any) -> Any:
    """``x[k]``: a concrete tuple indexed or sliced by a symbolic value reads through ``SymSeq``."""
    if isinstance(x, tuple) and (isinstance(k, Sym) or (
            isinstance(k, slice) and (isinstance(k.start, Sym) or isinstance(k.stop, Sym)))):
        return SymSeq.lift(x)[k]
    return x[k]
