"""Compiling twins: the syntax rewrite, which functions get one, and the cache of twins."""

from __future__ import annotations

import ast
import contextlib
import inspect
import os
import sys
import sysconfig
import types
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from ..branches import recompile, source_def
from .refusals import _BUILTINS, _MSG_BUILTINS, _pp_fmt, _pp_show
from .runtime import (
    _pp_and,
    _pp_chain,
    _pp_comp,
    _pp_count,
    _pp_implies,
    _pp_is,
    _pp_is_not,
    _pp_ite,
    _pp_mem,
    _pp_not,
    _pp_or,
    _pp_reduce,
    _pp_sub,
    _pp_when,
)

#: Library code is called as it is: the standard library (a stdlib module name whose file is
#: the interpreter's own, not a user's ``test`` package) and the engine's dependency z3.  Any
#: other code reached from a model's transitions and properties is model code, wherever it is
#: installed (a model shipped in site-packages too).
_STDLIB_TOPS = frozenset(sys.stdlib_module_names)
_STDLIB_DIRS = tuple({os.path.realpath(sysconfig.get_paths()[k]) + os.sep for k in ("stdlib", "platstdlib")})
_DEPENDENCY_TOPS = frozenset({"z3"})
#: protoproof's own checker package (by module name and by directory, wherever it is installed).
_CHECKER_PKG = __name__.rsplit(".", 2)[0]
_CHECKER_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__))) + os.sep
#: Weak keys: closures are made per model instance and must not be kept alive by their twins.
_TWINS: weakref.WeakKeyDictionary[Any, Callable[..., Any]] = weakref.WeakKeyDictionary()
#: The twin code of a function's code (shared by its closures, so compiled once per process).  Code
#: objects compare by content, not by file or qualified name: those are part of the key.
_CODES: dict[tuple[types.CodeType, str, str], types.CodeType] = {}
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

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        """``x[k]`` as ``_pp_sub(x, k)`` (a slice as ``slice(a, b, c)``): symbolic indices and bounds."""
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load):
            return node
        k = node.slice
        if isinstance(k, ast.Slice):
            bounds = (k.lower, k.upper, k.step)
            k = self._call("_pp_slice", [b if b is not None else ast.Constant(None) for b in bounds])
        return ast.copy_location(self._call("_pp_sub", [node.value, k]), node)

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


def _twin_code(fn: types.FunctionType) -> types.CodeType:
    """The code of ``fn``'s twin, compiled once per code object; ``_NoTwin`` with the reason if it cannot be.

    The source goes through ``branches``' recompiler: it is checked to be the code that runs,
    and the rewritten def is compiled in a class of the same name (``self.__x`` is mangled as
    in the original, zero-argument ``super()`` finds ``__class__``) with ``fn``'s free
    variables, so every closure of the same code (one per model instance) shares it.
    """
    code = fn.__code__
    key = (code, code.co_filename, code.co_qualname)
    got = _CODES.get(key)
    if got is not None:
        return got
    try:
        fdef, _src = source_def(fn)
    except (OSError, TypeError) as e:
        raise _NoTwin(f"no source ({e})") from None
    except SyntaxError as e:
        raise _NoTwin(str(e) if e.lineno is None else f"its source does not parse on its own ({e.msg})") from None
    params = [*fdef.args.posonlyargs, *fdef.args.args]
    try:
        got = recompile(fn, _Rewrite(params[0].arg if params else None).visit(fdef))
    except SyntaxError as e:
        raise _NoTwin(f"its twin does not compile ({e.msg})") from None
    _CODES[key] = got
    return got


def _compile(fn: types.FunctionType) -> Callable[..., Any]:
    """The twin of ``fn``: its twin code with the helpers as globals and ``fn``'s closure cells."""
    ns: dict[str, Any] = dict(fn.__globals__)
    ns.update(_HELPERS)
    try:
        tw = types.FunctionType(_twin_code(fn), ns, fn.__name__, fn.__defaults__, fn.__closure__)
    except ValueError as e:
        raise _NoTwin(f"its twin does not compile ({e})") from None
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


#: What the rewritten code calls, added to the globals of every twin.
_HELPERS: dict[str, Any] = dict(
    _pp_and=_pp_and, _pp_or=_pp_or, _pp_not=_pp_not, _pp_ite=_pp_ite, _pp_mem=_pp_mem, _pp_chain=_pp_chain,
    _pp_implies=_pp_implies, _pp_when=_pp_when, _pp_count=_pp_count, _pp_tw=_pp_tw, _pp_twm=_pp_twm,
    _pp_comp=_pp_comp, _pp_reduce=_pp_reduce, _pp_is=_pp_is, _pp_is_not=_pp_is_not, _pp_fmt=_pp_fmt,
    _pp_show=_pp_show, _pp_sub=_pp_sub, _pp_slice=slice,
)
