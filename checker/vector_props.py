"""Properties and refinement mappings of the vector engine, evaluated per digits read, not per state.

Most properties of an actor system read a few nodes' local states (a commit protocol's
atomicity and its refinement mapping read the participants' phases).  Such a function is evaluated on a real state whose
tuple of nodes records which nodes are read (indexing, slicing, iterating, comparing, hashing)
and whose network is a poison: any use of it raises ``_Read``, a ``BaseException`` so that a
model's ``except Exception`` cannot swallow it.  The value depends on the nodes read alone (the
others were never looked at, not even by ``is``: they are real values), so it is cached per the
digits of the function's dependencies, the nodes it has been seen to read; a new one read makes
the cache start again.  A property that reads the network is evaluated per state from then on; a
refinement mapping that does sends the run back to the scalar engine.  Any model code that
raises sends the run back to the scalar engine too, which reports it with its state and action.

What tracking cannot see is a function telling the tracked state from a real one without reading
it (``type(s.net)``, ``is``, ``id``).  So every evaluation (one per new key) also runs the function
on the decoded state, and a difference counts as reading the network (``Digits.call``): comparing
none, ``type(s.net) is not frozenset`` on deep states was exhausted here where the decoded run
violates it (``tests/checker/test_vector.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..models.base import Action, Property
from ..models.fastpath import CodeLayout
from .checks import RefinementCheck
from .tracking import POISON, _Read, _Tracked
from .vector_set import CodeSet

#: Dependencies whose digits take at most this many values get a dense table (a refinement
#: mapping reading more sends the run to the scalar engine).
DENSE = 1 << 24
#: A refinement check keeps one byte per (digits read, instance) up to this many.
VERDICTS = 1 << 26


class Fallback(Exception):
    """The vector engine stops; the scalar engine runs the check (and reports any model error)."""


class _Restart(Exception):
    """A function read a node outside its dependencies: they grew, the lookup starts again."""


class Digits:
    """What one function of the state has been seen to read: node digits, or the network."""

    def __init__(self, layout: CodeLayout, unpack: Callable[[int], Any]) -> None:
        self.layout, self.unpack = layout, unpack
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

    def call(self, fn: Callable[..., Any], code: int) -> Any:
        """``fn`` on the state of ``code`` with its nodes tracked and its network poisoned; a node
        read outside the dependencies adds it, the network read (or a value that differs from
        ``fn`` on the real state) is noted: both raise ``_Restart``."""
        s = self.unpack(code)
        reads: set[int] = set()
        try:
            v = fn(s._replace(nodes=_Tracked(s.nodes, reads), net=POISON))
        except _Read:
            self.reads_net = True
            raise _Restart from None
        new = reads.difference(self.deps)
        if new:
            self._set([*self.deps, *new])
            raise _Restart
        if fn(s) != v:  # told the tracked state from the real one: trust it on real states only
            self.reads_net = True
            raise _Restart
        return v


def first_of_each(keys: np.ndarray, codes: np.ndarray, todo: np.ndarray) -> tuple[list[int], list[int]]:
    """The distinct keys among positions ``todo``, each with the code at its first position."""
    u, first = np.unique(keys[todo], return_index=True)
    return u.tolist(), codes[todo[first]].tolist()


class PropertyValues:
    """A boolean property over arrays of codes, cached per the digits it reads."""

    def __init__(self, p: Property, layout: CodeLayout, unpack: Callable[[int], Any]) -> None:
        self.p, self.layout, self.unpack = p, layout, unpack
        self.digits = Digits(layout, unpack)
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
                return self._by_digits(codes, nodes)
            except _Restart:
                self._reset()
        unpack, fn = self.unpack, self.p.fn
        try:
            return np.array([bool(fn(unpack(c))) for c in codes.tolist()], bool)
        except Exception as e:
            raise Fallback(f"property {self.p.name} raised {type(e).__name__}") from e

    def _truth(self, s: Any) -> bool:
        return bool(self.p.fn(s))

    def _eval(self, code: int) -> bool:
        try:
            return bool(self.digits.call(self._truth, code))
        except _Restart:
            raise
        except Exception as e:
            raise Fallback(f"property {self.p.name} raised {type(e).__name__}") from e

    def _by_digits(self, codes: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        keys = self.digits.key(nodes)
        dense = self.dense
        if dense is not None:
            got = dense[keys]
            todo = np.flatnonzero(got < 0)
            if todo.size:
                for k, c in zip(*first_of_each(keys, codes, todo), strict=True):
                    dense[k] = self._eval(c)
                got = dense[keys]
            return got == 1
        cache = self.cache
        todo = np.array([i for i, k in enumerate(keys.tolist()) if k not in cache], np.int64)
        if todo.size:
            for k, c in zip(*first_of_each(keys, codes, todo), strict=True):
                cache[k] = self._eval(c)
        return np.array([cache[k] for k in keys.tolist()], bool)


class RefinementTable:
    """A refinement check over steps on codes, by abstract state: each node part's digits that the
    mapping reads get the id of their abstract state, and each pair of ids is checked once.

    The mapping is evaluated on every parent's digits, so a step that keeps them is a stutter (the
    mapping, which read only those, cannot see it) and costs nothing.
    """

    def __init__(self, check: RefinementCheck, unpack: Callable[[int], Any], layout: CodeLayout,
                 actions: list[Action], nodes: list[int]) -> None:
        self.check, self.layout, self.actions, self.nodes = check, layout, actions, nodes
        self.digits = Digits(layout, unpack)
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

    def first_bad(self, codes: np.ndarray, parts: list[Any]) -> tuple[int, int, int] | None:
        """The first step (in the scalar order) out of ``codes``, given
        as ``Part``s, that maps to neither an abstract step nor a stutter, as (position,
        instance, successor code); None if every one does."""
        while True:
            if self.digits.reads_net:
                raise Fallback(f"the refinement mapping of {self.check.name} reads the network")
            try:
                kp = self.digits.key(codes % self.layout.node_space)
                self._ids(kp, codes)
                found = [b for part in parts if (b := self._first_bad(kp, codes, part)) is not None]
                return min(found) if found else None
            except _Restart:
                self._reset()

    def _mapped(self, s: Any) -> Any:
        """The mapping of ``s``, hashed: every part the abstract state holds is read (a node
        moved into it unread would make it look like a function of fewer digits)."""
        x = self.check.mapping(s)
        hash(x)
        return x

    def _ids(self, keys: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """The abstract state id of each key (the mapping evaluated once per key, on ``codes``)."""
        got = self.ids[keys]
        todo = np.flatnonzero(got < 0)
        if not todo.size:
            return got
        for k, c in zip(*first_of_each(keys, codes, todo), strict=True):
            try:
                x = self.digits.call(self._mapped, c)
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

    def _first_bad(self, kp_all: np.ndarray, codes: np.ndarray, part: Any) -> tuple[int, int, int] | None:
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
        ax, ay = self._ids(kp, codes[part.idx[moved]]), self._ids(kq, part.succ[moved])
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
                ok = self.check.allows(x, y)
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
