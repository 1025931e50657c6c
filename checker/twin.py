"""The symbolic twin of a function: the same source, with connectives that build one z3 term.

Run on z3 values, plain Python forks on every ``and``/``or``/``not``/``in``/``all``/``any`` and
path counts multiply (a natural 2PC strengthening had 29,457 paths at 3 RMs).  The twin is
compiled from the function's syntax tree: ``a and b`` becomes ``_pp_and(a, lambda: b)``, ``x in
S`` becomes ``_pp_mem(x, S)``, if-expressions, chained comparisons and ``all/any/sum/max/min/
len`` likewise, and every call goes through ``_pp_tw`` so callees run as twins too.  Only real
``if`` statements fork.  On concrete operands every helper does exactly what Python does, so
the twin is the function; the concrete function itself is never touched (the explicit checker
and the runtime pay nothing).  ``conformance`` proves each twin z3-equivalent to the forking
run of the original.

Python that would run *differently* on z3 values is translated or refused, never left to
mean something else: ``a is b`` / ``a is not b`` become ``==`` / ``!=`` when either operand
is a symbolic leaf (on the finite values a leaf stands for -- ``None``, bools, enum members,
small ints, interned strings -- identity and equality agree); ``isinstance`` and one-argument
``type`` on a leaf, and ``str``/``repr``/``format``/``hash``/f-string formatting of anything
holding a leaf, set or list raise ``SymbolicError`` saying what to write instead.  Inside a
``raise`` or an ``assert`` message the text only ever reaches an exception, so there it
shows the leaf's debug form instead of refusing.  ``type``/``isinstance`` of a symbolic *set*
still answer the engine's class (the shipped models test ``type(net) is frozenset`` to skip a
cache); a property that depends on it is caught by conformance, not here.  The forking
original (a function without a twin) cannot be rewritten: its ``is`` stays identity.

Library code (the standard library, z3) and protoproof's own checker package are called as
they are, by design.  Any other function reached from a model gets a twin; one that cannot
(no source, a lambda or generator, a compile failure, an unbound closure variable) is called
as it is -- its branches still fork, which is sound but can explode -- and says so once: a
``TwinFallbackWarning`` plus an entry in ``fallbacks()`` / ``fallback_reason(fn)``.
Zero-argument ``super()`` is supported (the twin is compiled with a ``__class__`` cell).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import operator
import os
import sys
import sysconfig
import textwrap
import types
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

import z3

from .symbolic import (
    BOOL,
    INT,
    DynSet,
    GList,
    Sym,
    SymbolicError,
    SymSet,
    b_and,
    b_not,
    b_or,
    current_function,
    decide,
    has_sym,
    ite,
    to_z3,
    truth,
)

# ----- runtime helpers called by twins ---------------------------------------------------


def _wrap(b: Any, name: str) -> Any:
    return b if isinstance(b, bool) else Sym(b, BOOL, None, name)


def _is_sym(v: Any) -> bool:
    return isinstance(v, (Sym, SymSet, GList))


def _pp_and(first: Any, *rest: Callable[[], Any]) -> Any:
    """``a and b and ...``: Python semantics on concrete values, one conjunction otherwise."""
    acc: list[Any] = []
    v = first
    for k in range(len(rest) + 1):
        if k:
            v = rest[k - 1]()
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
            v = rest[k - 1]()
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
    va, vb = a(), b()
    r = ite(t, va, vb)
    if r is NotImplemented:
        return va if decide(t) else vb  # shapes differ: fork instead
    return r


def _pp_mem(x: Any, s: Any) -> Any:
    """``x in s`` without forking."""
    if isinstance(s, (SymSet, GList)):
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
    if isinstance(a, SymSet):
        return a.eq(b)
    if isinstance(b, SymSet):
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
    if isinstance(a, (SymSet, GList)) or isinstance(b, (SymSet, GList)):
        other = b if isinstance(a, (SymSet, GList)) else a
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
    return _wrap(z3.Implies(truth(c), to_z3(truth(e()))), "implies")


def _pp_when(c: Any, e: Callable[[], Any]) -> Any:
    if not _is_sym(c):
        return e() if c else False
    return _wrap(b_and(truth(c), truth(e())), "when")


def _pp_count(c: Any, e: Callable[[], Any]) -> Any:
    if not _is_sym(c):
        return e() if c else 0
    v = e()
    r = ite(truth(c), v, 0)
    if r is NotImplemented:
        return v if decide(truth(c)) else 0
    return r


# ----- comprehensions over guarded collections ---------------------------------------------


def _guarded(it: Any) -> list[tuple[Any, Any]] | None:
    """(condition, element) pairs of a collection whose membership is symbolic; None if concrete."""
    if isinstance(it, (SymSet, GList, _Gen)):
        return it.pairs()
    return None


def _element(g: Any, x: Any, elt: Callable[[Any], Any]) -> tuple[bool, Any]:
    """``elt(x)`` for an element present under ``g``; if it raises, it must not be present (fork)."""
    try:
        return True, elt(x)
    except SymbolicError:
        raise
    except Exception:
        if g is True or decide(g):
            raise
        return False, None


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
        ok, v = _element(g, x, elt)
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
    if isinstance(x, (SymSet, GList)):
        return x.card()
    if isinstance(x, _Gen):
        return GList(x.pairs()).card()
    return len(x)


def _frozenset(*args: Any) -> Any:
    if len(args) == 1:
        x = args[0]
        if isinstance(x, SymSet):
            return x
        if isinstance(x, (_Gen, GList)):
            return DynSet.make(x.pairs())
    return frozenset(*args)


def _set(*args: Any) -> Any:
    if len(args) == 1:
        x = args[0]
        if isinstance(x, SymSet):
            return x
        if isinstance(x, (_Gen, GList)):
            r = DynSet.make(x.pairs())
            return set(r) if isinstance(r, frozenset) else r
    return set(*args)


def _list(*args: Any) -> Any:
    if len(args) == 1:
        x = args[0]
        if isinstance(x, GList):
            return x
        if isinstance(x, _Gen):
            pairs = x.pairs()
            return [v for _g, v in pairs] if all(g is True for g, _v in pairs) else GList(pairs)
    return list(*args)


def _bool(*args: Any) -> Any:
    if len(args) == 1 and _is_sym(args[0]):
        return _wrap(truth(args[0]), "bool")
    return bool(*args)


# ----- refusals: Python that would ask the engine's objects instead of the values ------------


def _show(v: Any) -> str:
    """Debug text of a possibly symbolic value (the leaves' ``repr``; never their ``str``)."""
    return repr(v)


def _leaf_name(v: Any) -> str:
    return v.name if isinstance(v, (Sym, SymSet, GList)) else repr(v)


def _isinstance(x: Any, classinfo: Any) -> Any:
    if isinstance(x, Sym):
        raise SymbolicError(
            f"isinstance cannot be decided on a z3 value ({x.name}, in {current_function()}): its Python type "
            "is fixed by the schema; compare with == against the constant (or `in` a tuple of constants), "
            "or give the record a tag field")
    return isinstance(x, classinfo)


def _type(*args: Any) -> Any:
    if len(args) == 1 and isinstance(args[0], Sym):
        raise SymbolicError(
            f"type() of a z3 value ({args[0].name}, in {current_function()}) is the engine's leaf class, not the "
            "value's type: compare with == against the enum constant, or use the schema / a tag field")
    return type(*args)


def _text_refusal(what: str, x: Any) -> SymbolicError:
    return SymbolicError(
        f"{what} of a symbolic value ({_leaf_name(x)}, in {current_function()}) would be the engine's text, not "
        "the value's: compare the value itself (== against the constant, `in`), not its text; "
        "formatting is fine only in exception messages")


def _str(*args: Any, **kw: Any) -> Any:
    if len(args) == 1 and not kw and has_sym(args[0]):
        raise _text_refusal("str()", args[0])
    return str(*args, **kw)


def _repr(x: Any) -> str:
    if has_sym(x):
        raise _text_refusal("repr()", x)
    return repr(x)


def _format(x: Any, spec: str = "") -> str:
    if has_sym(x):
        raise _text_refusal("format()", x)
    return format(x, spec)


def _hash(x: Any) -> int:
    if has_sym(x):
        raise SymbolicError(f"hash() of a symbolic value ({_leaf_name(x)}, in {current_function()}): keep hashed "
                            "values (set elements, dict keys, cache keys) concrete")
    return hash(x)


def _pp_fmt(x: Any) -> Any:
    """The value of an f-string field: refused if symbolic (its text would be the engine's)."""
    if has_sym(x):
        raise _text_refusal("f-string formatting", x)
    return x


def _pp_show(x: Any) -> Any:
    """An f-string field inside a raise/assert message: the debug form of a symbolic value."""
    return _show(x) if has_sym(x) else x


def _msg_str(*args: Any, **kw: Any) -> Any:
    return _show(args[0]) if len(args) == 1 and not kw and has_sym(args[0]) else str(*args, **kw)


def _msg_format(x: Any, spec: str = "") -> str:
    return _show(x) if has_sym(x) else format(x, spec)


_BUILTINS: dict[int, Callable[..., Any]] = {
    id(builtins.all): _all,
    id(builtins.any): _any,
    id(builtins.sum): _sum,
    id(builtins.len): _len,
    id(builtins.frozenset): _frozenset,
    id(builtins.set): _set,
    id(builtins.list): _list,
    id(builtins.bool): _bool,
    id(builtins.max): _fold(operator.gt, builtins.max),
    id(builtins.min): _fold(operator.lt, builtins.min),
    id(builtins.isinstance): _isinstance,
    id(builtins.type): _type,
    id(builtins.str): _str,
    id(builtins.repr): _repr,
    id(builtins.format): _format,
    id(builtins.hash): _hash,
}
#: Inside a raise/assert message text goes only into an exception: show leaves, do not refuse.
_MSG_BUILTINS: dict[int, Callable[..., Any]] = {
    **_BUILTINS, id(builtins.str): _msg_str, id(builtins.repr): _show, id(builtins.format): _msg_format,
}

# ----- compiling twins -------------------------------------------------------------------

#: Library code is called as it is: the standard library (a stdlib module name whose file is
#: the interpreter's own, not a user's ``test`` package) and the engine's dependency z3.  Any
#: other code reached from a model's transitions and properties is model code, wherever it is
#: installed (a model shipped in site-packages too).
_STDLIB_TOPS = frozenset(sys.stdlib_module_names)
_STDLIB_DIRS = tuple({os.path.realpath(sysconfig.get_paths()[k]) + os.sep for k in ("stdlib", "platstdlib")})
_DEPENDENCY_TOPS = frozenset({"z3"})
#: protoproof's own checker package (by module name and by directory, wherever it is installed).
_CHECKER_PKG = __name__.rpartition(".")[0]
_CHECKER_DIR = os.path.dirname(os.path.realpath(__file__)) + os.sep
#: Weak keys: closures are made per model instance and must not be kept alive by their twins.
_TWINS: weakref.WeakKeyDictionary[Any, Callable[..., Any]] = weakref.WeakKeyDictionary()
#: "module:qualname" -> why a model function runs without a twin (see ``fallbacks``).
_FALLBACKS: dict[str, str] = {}
#: Open ``recording()`` blocks.
_RECORDERS: list[dict[str, str]] = []


class TwinFallbackWarning(UserWarning):
    """A model function runs as it is instead of as a twin: its branches fork (sound, maybe slow)."""


class _NoTwin(Exception):
    """Why a function gets no twin; ``library`` marks code that is never twinned by design."""

    def __init__(self, reason: str, library: bool = False) -> None:
        super().__init__(reason)
        self.library = library


class _Rewrite(ast.NodeTransformer):
    """The syntax rewrite: connectives to helper calls, every callee through ``_pp_tw``."""

    def __init__(self, first_arg: str | None = None) -> None:
        self.in_message = 0  # inside a raise statement or an assert message
        self.first_arg = first_arg  # for zero-argument super(), which thunks would otherwise break

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        self.in_message += 1
        self.generic_visit(node)
        self.in_message -= 1
        return node

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        node.test = self.visit(node.test)
        if node.msg is not None:
            self.in_message += 1
            node.msg = self.visit(node.msg)
            self.in_message -= 1
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self.generic_visit(node)
        node.value = self._call("_pp_show" if self.in_message else "_pp_fmt", [node.value])
        return node

    @staticmethod
    def _call(name: str, args: list[ast.expr]) -> ast.Call:
        return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[])

    @staticmethod
    def _thunk(e: ast.expr) -> ast.Lambda:
        return ast.Lambda(
            args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                               kwarg=None, defaults=[]),
            body=e,
        )

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        name = "_pp_and" if isinstance(node.op, ast.And) else "_pp_or"
        return self._call(name, [node.values[0], *(self._thunk(v) for v in node.values[1:])])

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return self._call("_pp_not", [node.operand])
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        return self._call("_pp_ite", [node.test, self._thunk(node.body), self._thunk(node.orelse)])

    _OPNAMES: ClassVar[dict[type, str]] = {
        ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
    }

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1:
            op = node.ops[0]
            if isinstance(op, ast.In):
                return self._call("_pp_mem", [node.left, node.comparators[0]])
            if isinstance(op, ast.NotIn):
                return self._call("_pp_not", [self._call("_pp_mem", [node.left, node.comparators[0]])])
            if isinstance(op, ast.Is):
                return self._call("_pp_is", [node.left, node.comparators[0]])
            if isinstance(op, ast.IsNot):
                return self._call("_pp_is_not", [node.left, node.comparators[0]])
            return node
        steps: list[ast.expr] = [
            ast.Tuple(elts=[ast.Constant(self._OPNAMES[type(op)]), self._thunk(c)], ctx=ast.Load())
            for op, c in zip(node.ops, node.comparators, strict=True)
        ]
        return self._call("_pp_chain", [node.left, *steps])

    @classmethod
    def _target_lambda(cls, target: ast.expr, body: ast.expr) -> ast.Lambda | None:
        """``lambda x: body`` for ``for x in``, ``lambda t: (lambda a, b: body)(*t)`` for ``for a, b in``."""

        def args(names: list[str]) -> ast.arguments:
            return ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in names], vararg=None, kwonlyargs=[],
                                 kw_defaults=[], kwarg=None, defaults=[])

        if isinstance(target, ast.Name):
            return ast.Lambda(args=args([target.id]), body=body)
        if isinstance(target, ast.Tuple) and target.elts and all(isinstance(e, ast.Name) for e in target.elts):
            names = [e.id for e in target.elts]  # type: ignore[attr-defined]
            inner = ast.Lambda(args=args(names), body=body)
            call = ast.Call(func=inner, args=[ast.Starred(value=ast.Name(id="_pp_t", ctx=ast.Load()),
                                                          ctx=ast.Load())], keywords=[])
            return ast.Lambda(args=args(["_pp_t"]), body=call)
        return None

    def _comp(self, kind: str, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> ast.AST:
        """A one-generator comprehension as ``_pp_comp(kind, iter, cond, elt)`` (others stay as they are)."""
        if len(node.generators) != 1 or node.generators[0].is_async:
            return node
        g = node.generators[0]
        if not g.ifs:
            cond: ast.expr | None = None
        elif len(g.ifs) == 1:
            cond = g.ifs[0]
        else:
            cond = self._call("_pp_and", [g.ifs[0], *(self._thunk(c) for c in g.ifs[1:])])
        elt = self._target_lambda(g.target, node.elt)
        cl = self._target_lambda(g.target, cond) if cond is not None else None
        if elt is None or (cond is not None and cl is None):
            return node
        return self._call("_pp_comp", [ast.Constant(kind), g.iter, cl if cl is not None else ast.Constant(None), elt])

    def visit_ListComp(self, node: ast.ListComp) -> ast.AST:
        self.generic_visit(node)
        return self._comp("list", node)

    def visit_SetComp(self, node: ast.SetComp) -> ast.AST:
        self.generic_visit(node)
        return self._comp("set", node)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> ast.AST:
        self.generic_visit(node)
        return self._comp("gen", node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        f = node.func
        if (isinstance(f, ast.Name) and f.id in ("all", "any", "sum") and len(node.args) == 1
                and not node.keywords and isinstance(node.args[0], ast.Call)
                and isinstance(node.args[0].func, ast.Name) and node.args[0].func.id == "_pp_comp"):
            gen_args = node.args[0].args
            return self._call("_pp_reduce", [ast.Constant(f.id), *gen_args[1:]])
        if (isinstance(f, ast.Name) and f.id in ("all", "any", "sum") and len(node.args) == 1
                and not node.keywords and isinstance(node.args[0], ast.GeneratorExp)):
            gen = node.args[0]
            last = gen.generators[-1]
            if last.ifs and not any(g.ifs for g in gen.generators[:-1]) and not last.is_async:
                cond = last.ifs[0] if len(last.ifs) == 1 else self._call("_pp_and", [
                    last.ifs[0], *(self._thunk(c) for c in last.ifs[1:])])
                helper = {"all": "_pp_implies", "any": "_pp_when", "sum": "_pp_count"}[f.id]
                gen.elt = self._call(helper, [cond, self._thunk(gen.elt)])
                last.ifs = []
        if isinstance(f, ast.Name) and f.id == "super":
            if not node.args and not node.keywords and self.first_arg is not None:
                # Inside the thunks the rewrite makes (lambdas) super() has no arguments to find.
                node.args = [ast.Name(id="__class__", ctx=ast.Load()), ast.Name(id=self.first_arg, ctx=ast.Load())]
            return node
        node.func = self._call("_pp_twm" if self.in_message else "_pp_tw", [f])
        return node


def _key(fn: types.FunctionType) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def _in_stdlib_dir(filename: str) -> bool:
    if filename.startswith("<"):  # frozen stdlib modules
        return True
    real = os.path.realpath(filename)
    parts = real.split(os.sep)
    return real.startswith(_STDLIB_DIRS) and "site-packages" not in parts and "dist-packages" not in parts


def _check_eligible(fn: types.FunctionType) -> None:
    """Raise ``_NoTwin`` with the reason if ``fn`` gets no twin.

    The test is positive: library code is known by its top-level module name (the standard
    library, z3) and the engine by its package name or directory; everything else reached from
    a model is model code -- a path under site-packages says nothing about whose code it is.
    """
    code = fn.__code__
    module = fn.__module__ or fn.__globals__.get("__name__") or ""
    top = module.partition(".")[0]
    if top in _DEPENDENCY_TOPS or (top in _STDLIB_TOPS and _in_stdlib_dir(code.co_filename)):
        raise _NoTwin(f"library code (module {module})", library=True)
    if (module == _CHECKER_PKG or module.startswith(_CHECKER_PKG + ".")
            or os.path.realpath(code.co_filename).startswith(_CHECKER_DIR)):
        raise _NoTwin("protoproof's checker machinery", library=True)
    if fn.__name__ == "<lambda>":
        raise _NoTwin("a lambda (only a def's source can be rewritten; write a def)")
    if code.co_filename.startswith("<"):
        raise _NoTwin(f"no source file ({code.co_filename})")
    if code.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
        raise _NoTwin("a generator or coroutine function")


def _compile(fn: types.FunctionType) -> Callable[..., Any]:
    """The twin of ``fn``; ``_NoTwin`` with the reason if it cannot be built."""
    try:
        src = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as e:
        raise _NoTwin(f"no source ({e})") from None
    try:
        tree = ast.parse(src)
    except SyntaxError as e:
        raise _NoTwin(f"its source does not parse on its own ({e.msg})") from None
    fdef = tree.body[0]
    if not isinstance(fdef, ast.FunctionDef) or fdef.name != fn.__name__:
        raise _NoTwin("its source is not a plain def")
    fdef.decorator_list = []
    fdef.returns = None
    for a in (*fdef.args.posonlyargs, *fdef.args.args, *fdef.args.kwonlyargs):
        a.annotation = None
    params = [*fdef.args.posonlyargs, *fdef.args.args]
    fdef = _Rewrite(params[0].arg if params else None).visit(fdef)
    ns: dict[str, Any] = dict(fn.__globals__)
    klass: Any = None
    if fn.__closure__:
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__, strict=True):
            try:
                value = cell.cell_contents
            except ValueError:
                raise _NoTwin(f"closure variable {name} is not bound yet when the twin is built") from None
            if name == "__class__":
                klass = value
            else:
                ns[name] = value
    ns.update(_pp_and=_pp_and, _pp_or=_pp_or, _pp_not=_pp_not, _pp_ite=_pp_ite, _pp_mem=_pp_mem,
              _pp_chain=_pp_chain, _pp_implies=_pp_implies, _pp_when=_pp_when, _pp_count=_pp_count,
              _pp_tw=_pp_tw, _pp_twm=_pp_twm, _pp_comp=_pp_comp, _pp_reduce=_pp_reduce, _pp_is=_pp_is,
              _pp_is_not=_pp_is_not, _pp_fmt=_pp_fmt, _pp_show=_pp_show)
    # Compiled inside a factory whose parameter is ``__class__``: zero-argument super() in the
    # twin finds the defining class in that cell, exactly as in the original.
    factory = ast.FunctionDef(
        name="_pp_factory",
        args=ast.arguments(posonlyargs=[], args=[ast.arg(arg="__class__")], vararg=None, kwonlyargs=[],
                           kw_defaults=[], kwarg=None, defaults=[]),
        body=[fdef, ast.Return(value=ast.Name(id=fn.__name__, ctx=ast.Load()))],
        decorator_list=[], returns=None,
    )
    if sys.version_info >= (3, 12):
        factory.type_params = []
    mod = ast.Module(body=[factory], type_ignores=[])
    ast.fix_missing_locations(mod)
    ast.increment_lineno(mod, fn.__code__.co_firstlineno - 1)
    try:
        exec(compile(mod, fn.__code__.co_filename, "exec"), ns)
    except SyntaxError as e:
        raise _NoTwin(f"its twin does not compile ({e.msg})") from None
    tw = ns["_pp_factory"](klass)
    tw.__defaults__ = fn.__defaults__
    tw.__kwdefaults__ = fn.__kwdefaults__
    tw.__qualname__ = fn.__qualname__
    return tw


def _twin_function(fn: types.FunctionType) -> Callable[..., Any]:
    got = _TWINS.get(fn)
    if got is fn and _RECORDERS:
        _note(fn)
    if got is None:
        got = fn
        if fn.__globals__.get("_pp_tw") is not _pp_tw:  # code defined inside a twin is rewritten already
            try:
                _check_eligible(fn)
                got = _compile(fn)
            except _NoTwin as e:
                if not e.library:
                    _record_fallback(fn, str(e))
        _TWINS[fn] = got
    return got


def _note(fn: types.FunctionType) -> None:
    key = _key(fn)
    reason = _FALLBACKS.get(key)
    if reason is not None:
        for rec in _RECORDERS:
            rec[key] = reason


def _record_fallback(fn: types.FunctionType, reason: str) -> None:
    key = _key(fn)
    for rec in _RECORDERS:
        rec[key] = reason
    if key in _FALLBACKS:
        return
    _FALLBACKS[key] = reason
    warnings.warn(f"{key} runs without a symbolic twin ({reason}): its branches fork on z3 values, "
                  "and `is`/isinstance/str on them are not translated", TwinFallbackWarning, stacklevel=4)


def fallback_reason(fn: Callable[..., Any]) -> str | None:
    """Why ``fn`` (a function or bound method) runs without a twin; None if it has one or is library code.

    Library and engine code (the standard library, z3, protoproof.checker) is called as it is
    by design and is not a fallback.
    """
    f = fn.__func__ if isinstance(fn, types.MethodType) else fn
    if not isinstance(f, types.FunctionType):
        return None
    twin(f)
    return _FALLBACKS.get(_key(f))


def fallbacks() -> dict[str, str]:
    """Every model function that fell back to its forking original in this process: "module:qualname" -> reason.

    Cumulative (and warned about once); for the fallbacks one run reaches, use ``recording()``.
    """
    return dict(_FALLBACKS)


@contextlib.contextmanager
def recording() -> Iterator[dict[str, str]]:
    """Collect the fallbacks reached inside the block ("module:qualname" -> reason).

    Unlike ``fallbacks()`` this sees functions that fell back before (twins are cached per
    process): ``with recording() as fb: sm = SymbolicModel(model)`` lists what that model's
    encoding ran without a twin.
    """
    rec: dict[str, str] = {}
    _RECORDERS.append(rec)
    try:
        yield rec
    finally:
        _RECORDERS.remove(rec)


def twin(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The symbolic twin of a function or bound method (the function itself if it has none)."""
    if isinstance(fn, types.MethodType) and isinstance(fn.__func__, types.FunctionType):
        tw = _twin_function(fn.__func__)
        return fn if tw is fn.__func__ else types.MethodType(tw, fn.__self__)
    if isinstance(fn, types.FunctionType):
        return _twin_function(fn)
    return fn


def has_twin(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` runs as a rewritten twin (``fallback_reason`` says why not, for model code)."""
    return twin(fn) is not fn


def _pp_tw(f: Any) -> Any:
    b = _BUILTINS.get(id(f))
    if b is not None:
        return b
    if isinstance(f, (types.FunctionType, types.MethodType)):
        return twin(f)
    return f


def _pp_twm(f: Any) -> Any:
    """``_pp_tw`` inside a raise/assert message (str/repr/format show leaves instead of refusing)."""
    b = _MSG_BUILTINS.get(id(f))
    if b is not None:
        return b
    return _pp_tw(f)


__all__ = ["TwinFallbackWarning", "fallback_reason", "fallbacks", "has_twin", "recording", "twin"]
