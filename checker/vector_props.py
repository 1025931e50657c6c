"""Properties and refinement mappings of the vector engine, evaluated per digits read, not per state.

Most properties of an actor system read a few nodes' local states (2PC's atomicity and its
TCommit mapping read the RMs' phases).  Such a function is evaluated on a state whose other
nodes and network are poisons: any use of one raises ``_Read``, a ``BaseException`` so that a
model's ``except Exception`` cannot swallow it, naming what was read.  A node read joins the
function's dependencies (the cache restarts); the network read makes a property per state from
then on, and sends a refinement check back to the scalar engine.  A function that completes
without touching a poison gives the same value on every state with the same digits for its
dependencies, so it is cached per those digits: a dense table when they are few.  Any model
code that raises sends the run back to the scalar engine, which reports it with its state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..models.base import Action, Property
from ..models.fastpath import CodeLayout
from .checks import RefinementCheck
from .vector_set import CodeSet

#: Dependencies whose digits take at most this many values get a dense table (a refinement
#: mapping reading more sends the run to the scalar engine).
DENSE = 1 << 24
#: A refinement check keeps one byte per (digits read, instance) up to this many.
VERDICTS = 1 << 26


class Fallback(Exception):
    """The vector engine stops; the scalar engine runs the check (and reports any model error)."""


class _Read(BaseException):
    """A function of the state used a poisoned part: node ``where``, or the network (-1)."""

    def __init__(self, where: int) -> None:
        self.where = where


class _Poison:
    """Stands for a node's local state or the network: every use raises ``_Read``."""

    __slots__ = ("_where",)

    def __init__(self, where: int) -> None:
        object.__setattr__(self, "_where", where)

    def __getattribute__(self, name: str) -> Any:
        raise _Read(object.__getattribute__(self, "_where"))


def _refuse(self: Any, *_a: Any, **_k: Any) -> Any:
    raise _Read(object.__getattribute__(self, "_where"))


for _name in ("eq", "ne", "lt", "le", "gt", "ge", "hash", "iter", "len", "contains", "bool", "getitem",
              "and", "or", "sub", "xor", "rand", "ror", "rsub", "rxor", "rshift", "lshift", "int", "index",
              "float", "str", "repr", "format", "reversed", "add", "radd", "mul", "rmul", "setattr"):
    setattr(_Poison, f"__{_name}__", _refuse)


class _Restart(Exception):
    """A function read a node outside its dependencies: they grew, the lookup starts again."""


class Digits:
    """What one function of the state has been seen to read: node digits, or the network."""

    def __init__(self, template: Any, layout: CodeLayout) -> None:
        self.template, self.layout = template, layout
        self.deps: list[int] = []
        self.reads_net = False
        self._set(self.deps)

    def _set(self, deps: list[int]) -> None:
        self.deps = sorted(deps)
        cw, size = [], 1
        for i in self.deps:
            cw.append(size)
            size *= self.layout.sizes[i]
        self.cw, self.size = cw, size

    def key(self, nodes: np.ndarray) -> np.ndarray:
        """The compact key of the dependencies' digits of each node part."""
        w, r = self.layout.weights, self.layout.sizes
        out = np.zeros(len(nodes), np.int64)
        for i, c in zip(self.deps, self.cw, strict=True):
            out += ((nodes // w[i]) % r[i]) * c
        return out

    def state(self, key: int) -> Any:
        """A state with the dependencies' digits of ``key``; every other part is a poison."""
        part = 0
        for i, c in zip(self.deps, self.cw, strict=True):
            part += (key // c) % self.layout.sizes[i] * self.layout.weights[i]
        real = self.layout.unpack_nodes(part)
        dep = set(self.deps)
        nodes = tuple(v if i in dep else _Poison(i) for i, v in enumerate(real))
        return self.template._replace(nodes=nodes, net=_Poison(-1))

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)``; a node read outside the dependencies adds it and raises ``_Restart``."""
        try:
            return fn(*args)
        except _Read as r:
            if r.where < 0:
                self.reads_net = True
            else:
                self._set([*self.deps, r.where])
            raise _Restart from None


class PropertyValues:
    """A boolean property over arrays of codes, cached per the digits it reads."""

    def __init__(self, p: Property, template: Any, layout: CodeLayout, unpack: Callable[[int], Any]) -> None:
        self.p, self.layout, self.unpack = p, layout, unpack
        self.digits = Digits(template, layout)
        self._reset()

    def _reset(self) -> None:
        d = self.digits
        self.dense = np.full(d.size, -1, np.int8) if d.size <= DENSE else None
        self.cache: dict[int, bool] = {}

    def holds(self, codes: np.ndarray) -> np.ndarray:
        """The property on each of ``codes``."""
        nodes = codes % self.layout.node_space
        while not self.digits.reads_net:
            try:
                return self._by_digits(nodes)
            except _Restart:
                self._reset()
        unpack, fn = self.unpack, self.p.fn
        try:
            return np.array([bool(fn(unpack(c))) for c in codes.tolist()], bool)
        except Exception as e:
            raise Fallback(f"property {self.p.name} raised {type(e).__name__}") from e

    def _eval(self, k: int) -> bool:
        d = self.digits
        try:
            return bool(d.call(self.p.fn, d.state(k)))
        except _Restart:
            raise
        except Exception as e:
            raise Fallback(f"property {self.p.name} raised {type(e).__name__}") from e

    def _by_digits(self, nodes: np.ndarray) -> np.ndarray:
        keys = self.digits.key(nodes)
        dense = self.dense
        if dense is not None:
            got = dense[keys]
            todo = np.unique(keys[got < 0])
            if todo.size:
                for k in todo.tolist():
                    dense[k] = self._eval(k)
                got = dense[keys]
            return got == 1
        u, inv = np.unique(keys, return_inverse=True)
        out = np.empty(len(u), bool)
        cache = self.cache
        for n, k in enumerate(u.tolist()):
            v = cache.get(k)
            if v is None:
                v = cache[k] = self._eval(k)
            out[n] = v
        return out[inv]


class RefinementTable:
    """A refinement check over steps on codes, by abstract state: each node part's digits that the
    mapping reads get the id of their abstract state, and each pair of ids is checked once.

    The mapping is evaluated on every parent's digits, so a step that keeps them is a stutter (the
    mapping, which read only those, cannot see it) and costs nothing.
    """

    def __init__(self, check: RefinementCheck, template: Any, layout: CodeLayout, actions: list[Action],
                 nodes: list[int]) -> None:
        self.check, self.layout, self.actions, self.nodes = check, layout, actions, nodes
        self.digits = Digits(template, layout)
        self._reset()

    def _reset(self) -> None:
        if self.digits.size > DENSE:
            raise Fallback(f"the refinement mapping of {self.check.name} reads {self.digits.size:,} digit values "
                           f"(the vector engine tables at most {DENSE:,})")
        self.ids = np.full(self.digits.size, -1, np.int64)
        self.index: dict[Any, int] = {}
        self.values: list[Any] = []
        self.good = CodeSet()  # (id << 31 | id) of abstract steps that are allowed
        # Whether the step of an instance from a key refines (1) or is not known yet (-1).
        n = self.digits.size * len(self.actions)
        self.verdict = np.full(n, -1, np.int8) if n <= VERDICTS else None

    def first_bad(self, nodes: np.ndarray, parts: list[Any]) -> tuple[int, int, int] | None:
        """The first step (in the scalar order) out of the codes with node parts ``nodes``, given
        as ``Part``s, that maps to neither an abstract step nor a stutter, as (position,
        instance, successor code); None if every one does."""
        while True:
            if self.digits.reads_net:
                raise Fallback(f"the refinement mapping of {self.check.name} reads the network")
            try:
                kp = self.digits.key(nodes)
                self._ids(kp)
                found = [b for part in parts if (b := self._first_bad(kp, part)) is not None]
                return min(found) if found else None
            except _Restart:
                self._reset()

    def _mapped(self, s: Any) -> Any:
        """The mapping of ``s``, hashed: every part the abstract state holds is read (a poison
        moved into it unread would make it look like a function of fewer digits)."""
        x = self.check.mapping(s)
        hash(x)
        return x

    def _ids(self, keys: np.ndarray) -> np.ndarray:
        """The abstract state id of each key (the mapping evaluated once per key)."""
        d = self.digits
        got = self.ids[keys]
        todo = np.unique(keys[got < 0])
        if not todo.size:
            return got
        for k in todo.tolist():
            try:
                x = d.call(self._mapped, d.state(k))
            except _Restart:
                raise
            except Exception as e:
                raise Fallback(f"the refinement mapping of {self.check.name} raised {type(e).__name__}") from e
            n = self.index.get(x)
            if n is None:
                n = self.index[x] = len(self.values)
                self.values.append(x)
            self.ids[k] = n
        return self.ids[keys]

    def _first_bad(self, kp_all: np.ndarray, part: Any) -> tuple[int, int, int] | None:
        d, i = self.digits, self.nodes[part.j]
        if part.dd is None or i not in d.deps:
            return None  # no digit the mapping reads changes: a stutter
        moved = np.flatnonzero(part.dd)
        if not moved.size:
            return None
        kp = kp_all[part.idx[moved]]
        verdict, pk = self.verdict, None
        if verdict is not None:
            pk = kp * len(self.actions) + part.j
            unknown_steps = np.flatnonzero(verdict[pk] < 0)
            if not unknown_steps.size:
                return None
            moved, kp, pk = moved[unknown_steps], kp[unknown_steps], pk[unknown_steps]
        kq = kp + part.dd[moved] * d.cw[d.deps.index(i)]
        ax, ay = self._ids(kp), self._ids(kq)
        ch = np.flatnonzero(ax != ay)
        if verdict is not None and pk is not None:
            verdict[pk[ax == ay]] = 1
        if not ch.size:
            return None
        pair = (ax[ch] << 31) | ay[ch]
        unknown = np.flatnonzero(~self.good.contains(pair))
        fresh: set[int] = set()
        for u in unknown.tolist():
            k = int(pair[u])
            if k in fresh:
                continue
            x, y = self.values[int(ax[ch[u]])], self.values[int(ay[ch[u]])]
            try:
                ok = d.call(self.check.allows, x, y)
            except _Restart:
                raise
            except Exception as e:
                raise Fallback(f"the abstract model of {self.check.name} raised {type(e).__name__}") from e
            if not ok:
                m = int(moved[ch[u]])
                return int(part.idx[m]), part.j, int(part.succ[m])
            fresh.add(k)
        if fresh:
            self.good.add_new(np.array(sorted(fresh), np.int64))
        if verdict is not None and pk is not None:
            verdict[pk[ch]] = 1  # every pair among them was allowed
        return None
