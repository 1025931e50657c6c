"""Which conditions of a model's own source a check took each way (``check --branches``).

Line or branch coverage cannot see a condition that is never False inside an expression that
is: ``all(m.mbal >= mm.mbal for mm in votes)`` ("take the highest vote") is reached in a small
configuration where every report holds a single vote, so it is never False there.  So every
*condition* is recorded: each ``if``/``while``/if-expression/comprehension test, each operand
of ``and``/``or``/``not``, each comparison, each element of ``all``/``any`` and each argument of
``require``, down to the leaves of the boolean structure (a leaf's outcomes decide the
whole).

How: for the duration of the run, each protocol function's ``__code__`` is swapped for one
compiled from its source with every condition wrapped in ``__pp_cov__(site, value)``, which
records the truth of ``value`` and returns it unchanged; the originals are put back after.
Swapping the code object (rather than the attribute) reaches the bound methods the framework
captured at construction and keeps closures and ``super()``'s ``__class__`` cell.

What is protocol: every method of the model's node classes (but ``__init__``), the model
class's ``@transition`` methods and ``init``, and whatever they name that is a method of those
classes or a function of the model's package (transitively).  Properties, refinement mappings
and configuration code are the checks and the setup, not the protocol: a held invariant is
never False by definition.  A condition that cannot go both ways by construction (a dispatch on
the only message type a node receives) is marked ``# pragma: no branch`` on its line and
counted apart.
"""

from __future__ import annotations
import __future__

import ast
import inspect
import os
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..models.base import _TRANSITION, Model

#: The protoproof package's own name (``protoproof`` when installed; the checkout's name otherwise).
_PKG = __name__.rsplit(".", 2)[0]
_FRAMEWORK = tuple(f"{_PKG}.{m}" for m in (
    "models.base", "models.actors", "models.effects", "models.nodes", "models.networks", "models.fastpath",
    "models.schema", "models.types", "models.products", "models.sets", "models.messages",
    "checker", "proofs", "impl", "cli"))
_PKG_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
_REC = "__pp_cov__"
_FUTURE_FLAGS = sum(getattr(__future__, f).compiler_flag for f in __future__.all_feature_names)
PRAGMA = "# pragma: no branch"


@dataclass(frozen=True)
class Site:
    """One condition in the source."""

    file: str
    line: int
    text: str
    function: str
    excluded: bool  # its line carries ``# pragma: no branch``


@dataclass
class BranchReport:
    """The conditions of a run and the outcomes each took (bit 1: True seen, bit 2: False seen)."""

    sites: list[Site] = field(default_factory=list)
    hits: bytearray = field(default_factory=bytearray)
    #: Functions that could not be instrumented, with the reason.
    skipped: list[str] = field(default_factory=list)

    def missing(self, k: int) -> str | None:
        h = self.hits[k]
        return {0: "never reached", 1: "never False", 2: "never True"}.get(h)

    def untaken(self) -> list[tuple[Site, str]]:
        out = []
        for k, site in enumerate(self.sites):
            miss = self.missing(k)
            if miss is not None and not site.excluded:
                out.append((site, miss))
        return out

    @property
    def counted(self) -> int:
        return sum(not s.excluded for s in self.sites)

    @property
    def excluded(self) -> int:
        return sum(s.excluded for s in self.sites)

    def to_lines(self, partial: bool = False) -> list[str]:
        """The text report; ``partial``: the run stopped early (a larger one may take more)."""
        bad = self.untaken()
        extra = f" ({self.excluded} marked `{PRAGMA}` not counted)" if self.excluded else ""
        if partial and bad:
            extra += " in the states visited before the run stopped"
        n = self.counted
        if not self.sites:
            lines = ["branches: no conditions in the model's protocol code were instrumented"]
        elif not bad:
            lines = [f"branches: all {n} condition{'s' * (n != 1)} taken both ways{extra}"]
        else:
            lines = [f"branches never taken either way ({len(bad)} of {n} conditions){extra}:"]
            lines += [f"  {s.file}:{s.line}  {s.text}  {miss}  (in {s.function})" for s, miss in bad]
        lines += [f"  not instrumented: {why}" for why in self.skipped]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.counted,
            "excluded": self.excluded,
            "untaken": [{"file": s.file, "line": s.line, "condition": s.text, "missing": miss, "function": s.function}
                        for s, miss in self.untaken()],
            "not_instrumented": list(self.skipped),
        }


# ----- which functions are the protocol ------------------------------------------------


def _is_framework(module: str) -> bool:
    return module.startswith(_FRAMEWORK) or module in ("builtins", "typing")


def _own_classes(model: Model[Any]) -> list[type]:
    """The model's class and its node classes, with their non-framework bases."""
    roots: list[type] = [type(model)]
    nodes = getattr(model, "node_list", None)
    if nodes is not None:
        roots += [type(n) for n in nodes]
    out: list[type] = []
    for r in roots:
        for c in r.__mro__:
            if c not in out and c is not object and not _is_framework(c.__module__):
                out.append(c)
    return out


def _function(v: Any) -> types.FunctionType | None:
    if isinstance(v, (staticmethod, classmethod)):
        v = v.__func__
    elif isinstance(v, property):
        v = v.fget
    return inspect.unwrap(v) if isinstance(v, types.FunctionType) else None


def _names(code: types.CodeType) -> set[str]:
    out = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out |= _names(c)
    return out


def protocol_functions(model: Model[Any]) -> list[types.FunctionType]:
    """The functions whose conditions are reported (see the module docstring).

    A name is resolved on the classes in use (the model's and its nodes'), so a method that a
    variant overrides is not reported as never reached; a function calling ``super()`` also
    pulls in the definitions it may reach that way.
    """
    classes = _own_classes(model)
    model_cls = type(model)
    nodes = getattr(model, "node_list", None) or []
    roots = [model_cls, *dict.fromkeys(type(n) for n in nodes)]
    own_pkgs = {c.__module__.split(".")[0] for c in classes}
    defined = {name: [f for c in classes if (f := _function(c.__dict__.get(name))) is not None]
               for c in classes for name in c.__dict__}

    def resolve(name: str, on: list[type]) -> list[types.FunctionType]:
        out = []
        for r in on:
            f = _function(inspect.getattr_static(r, name, None))
            if f is not None and f in defined.get(name, ()):
                out.append(f)
        return out

    todo: list[types.FunctionType] = []
    for r in roots[1:]:
        todo += [f for name in defined if name != "__init__" for f in resolve(name, [r])]
    todo += [f for name in defined for f in resolve(name, [model_cls]) if name == "init" or hasattr(f, _TRANSITION)]
    seen: dict[types.CodeType, types.FunctionType] = {}
    while todo:
        fn = todo.pop()
        if fn.__code__ in seen:
            continue
        seen[fn.__code__] = fn
        names = _names(fn.__code__)
        uses_super = "super" in names
        for name in names:
            todo += defined.get(name, []) if uses_super else resolve(name, roots)
            g = fn.__globals__.get(name)
            if (isinstance(g, types.FunctionType) and not _is_framework(g.__module__)
                    and g.__module__.split(".")[0] in own_pkgs):
                todo.append(g)
    return list(seen.values())


# ----- the rewrite ---------------------------------------------------------------------


class _Wrap(ast.NodeTransformer):
    """Wrap each condition (a leaf of a boolean structure, or any comparison) in the recorder."""

    def __init__(self, src: str, lines: list[str], first: int, file: str, function: str,
                 sites: list[Site]) -> None:
        self.src, self.lines, self.first, self.file, self.function = src, lines, first, file, function
        self.sites = sites

    def cond(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.BoolOp) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
            return node  # its operands are the conditions
        if _is_wrapped(node):
            return node
        text = " ".join((ast.get_source_segment(self.src, node) or ast.unparse(node)).split())
        line = node.lineno + self.first - 1
        src_line = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        self.sites.append(Site(self.file, line, text, self.function, PRAGMA in src_line))
        call = ast.Call(func=ast.Name(id=_REC, ctx=ast.Load()),
                        args=[ast.Constant(len(self.sites) - 1), node], keywords=[])
        return ast.copy_location(call, node)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        return self.cond(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        node.values = [self.cond(v) for v in node.values]
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            node.operand = self.cond(node.operand)
        return node

    def _test(self, node: ast.If | ast.While | ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        node.test = self.cond(node.test)
        return node

    visit_If = visit_While = visit_IfExp = _test

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.ifs = [self.cond(c) for c in node.ifs]
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name in ("all", "any") and len(node.args) == 1 and isinstance(node.args[0], ast.GeneratorExp):
            gen = node.args[0]
            gen.elt = self.cond(gen.elt)
        elif name == "require" and node.args:
            node.args[0] = self.cond(node.args[0])
        return node


def _is_wrapped(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == _REC


def _display(path: str) -> str:
    real = os.path.realpath(path)
    if real.startswith(_PKG_DIR + os.sep):
        return os.path.relpath(real, _PKG_DIR)
    rel = os.path.relpath(real)
    return real if rel.startswith("..") else rel


def _compile_def(fn: types.FunctionType, fdef: ast.FunctionDef) -> types.CodeType:
    """Compile ``fdef`` (lines already those of the file) where it gets ``fn``'s free variables.

    The def goes in a class of the same name as ``fn``'s (private names are mangled by it, and
    zero-argument ``super()`` needs its ``__class__`` cell) inside a function binding the
    other free variables.
    """
    code = fn.__code__
    parent = fn.__qualname__.rpartition(".")[0].rpartition(".")[2]
    inner: ast.stmt = fdef
    ret: ast.expr = ast.Name(id=fdef.name, ctx=ast.Load())
    if parent and parent != "<locals>":
        inner = ast.ClassDef(name=parent, bases=[], keywords=[], body=[fdef], decorator_list=[])
        ret = ast.Subscript(value=ast.Attribute(value=ast.Name(id=parent, ctx=ast.Load()), attr="__dict__",
                                                ctx=ast.Load()), slice=ast.Constant(fdef.name), ctx=ast.Load())
    binds: list[ast.stmt] = [ast.Assign(targets=[ast.Name(id=v, ctx=ast.Store())], value=ast.Constant(None))
                             for v in code.co_freevars if v != "__class__"]
    outer = ast.FunctionDef(name="_pp_outer", args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                                                                  kw_defaults=[], defaults=[]),
                            body=[*binds, inner, ast.Return(value=ret)], decorator_list=[])
    mod = ast.Module(body=[outer], type_ignores=[])
    ast.fix_missing_locations(mod)
    ns: dict[str, Any] = {}
    exec(compile(mod, code.co_filename, "exec", flags=code.co_flags & _FUTURE_FLAGS, dont_inherit=True), ns)
    new: types.CodeType = ns["_pp_outer"]().__code__
    if new.co_flags & ~inspect.CO_NESTED == code.co_flags & ~inspect.CO_NESTED:
        new = new.replace(co_flags=code.co_flags)  # compiled nested here, perhaps not there
    return _requalify(new, new.co_qualname, code.co_qualname)


def _requalify(code: types.CodeType, old: str, new: str) -> types.CodeType:
    """``code`` with the qualified names of it and its nested functions as in the original."""
    consts = tuple(_requalify(c, old, new) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_consts=consts, co_qualname=new + code.co_qualname[len(old):], co_name=code.co_name)


def _shape(code: types.CodeType) -> tuple[Any, ...]:
    """What a code object does, without where its lines are."""
    consts = tuple(_shape(c) if isinstance(c, types.CodeType) else (type(c), c) for c in code.co_consts)
    return (code.co_code, consts, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
            code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags)


def _def_text(fn: types.FunctionType) -> str:
    """``fn``'s source, after blank lines that put it on its own lines of the file.

    Parsed so, every node has the line number it has in the file (no pass over the tree to
    shift them), and an indented def (a method) sits inside an ``if 1:`` on the line above it
    instead of being dedented, which would change the text of its multi-line strings.
    """
    src = inspect.getsource(fn)
    first = fn.__code__.co_firstlineno
    if src[:1].isspace():
        return "\n" * max(first - 2, 0) + "if 1:\n" + src
    return "\n" * (first - 1) + src


def _parse_def(fn: types.FunctionType, text: str) -> ast.FunctionDef:
    """``fn``'s def without decorators, annotations and default values (none of them is in its code)."""
    fdef: ast.stmt = ast.parse(text).body[0]
    if isinstance(fdef, ast.If):
        fdef = fdef.body[0]
    if not isinstance(fdef, ast.FunctionDef) or fdef.name != fn.__name__:
        at = f"{fn.__code__.co_filename}:{fn.__code__.co_firstlineno}"
        raise SyntaxError(f"its source at {at} is not a plain def (was the file edited since it was imported?)")
    fdef.decorator_list = []
    fdef.returns = None
    args = fdef.args
    for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if a is not None:
            a.annotation = None
    args.defaults = [ast.Constant(None) for _d in args.defaults]
    args.kw_defaults = [None if d is None else ast.Constant(None) for d in args.kw_defaults]
    return fdef


def source_def(fn: types.FunctionType) -> tuple[ast.FunctionDef, str]:
    """``fn``'s def and source text, checked to be the code that runs, to be rewritten and ``recompile``d.

    The source is first recompiled as it is and compared with the running code, so a file
    edited since it was imported (or a def whose text is not its code) is refused
    (``SyntaxError``), never run.  Line numbers are those of the file, in the def and in the
    text (which has blank lines before the def).
    """
    text = _def_text(fn)
    if _shape(_compile_def(fn, _parse_def(fn, text))) != _shape(fn.__code__):
        raise SyntaxError("its source is not the code that runs (edited since it was imported?)")
    return _parse_def(fn, text), text


def recompile(fn: types.FunctionType, fdef: ast.FunctionDef) -> types.CodeType:
    """A (rewritten) ``source_def`` of ``fn`` compiled where ``fn`` was: its lines, names and free variables."""
    return _compile_def(fn, fdef)


def instrument(fn: types.FunctionType, sites: list[Site]) -> types.CodeType:
    """A code object for ``fn`` with its conditions recorded (same free variables, same lines)."""
    code = fn.__code__
    fdef, src = source_def(fn)
    lines = [ln.rstrip("\n") for ln in inspect.findsource(fn)[0]]
    start = len(sites)
    try:
        fdef = _Wrap(src, lines, 1, _display(code.co_filename), fn.__qualname__, sites).visit(fdef)
        return recompile(fn, fdef)
    except BaseException:
        del sites[start:]
        raise


_active = False


@contextmanager
def branch_coverage(model: Model[Any]) -> Iterator[BranchReport]:
    """Record, while the block runs, the outcomes of every condition of the model's protocol code."""
    global _active
    if _active:
        raise RuntimeError("branch coverage is already being recorded")
    report = BranchReport()
    swapped: list[tuple[types.FunctionType, types.CodeType]] = []
    planted: list[dict[str, Any]] = []
    for fn in sorted(protocol_functions(model), key=lambda f: (f.__code__.co_filename, f.__code__.co_firstlineno)):
        try:
            new = instrument(fn, report.sites)
        except (OSError, TypeError, SyntaxError) as e:
            report.skipped.append(f"{fn.__qualname__}: {e}")
            continue
        swapped.append((fn, fn.__code__))
        g = fn.__globals__
        if _REC not in g:
            planted.append(g)
            g[_REC] = None
        fn.__code__ = new
    hits = report.hits = bytearray(len(report.sites))

    def record(site: int, value: Any) -> Any:
        hits[site] |= 1 if value else 2
        return value

    for g in planted:
        g[_REC] = record
    _active = True
    try:
        yield report
    finally:
        for fn, old in swapped:
            fn.__code__ = old
        for g in planted:
            g.pop(_REC, None)
        _active = False


__all__ = ["PRAGMA", "BranchReport", "Site", "branch_coverage", "instrument", "protocol_functions", "recompile",
           "source_def"]
