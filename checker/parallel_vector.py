"""Partition workers on the vector engine: a worker's whole frontier expanded at once with numpy.

``VectorPartitionWorker`` answers the coordinator (``parallel._Search``) exactly as the scalar
``PartitionWorker`` does -- the same summaries, the same batches (a code array's bytes, then its
parents'), the same least-code choices -- but expands its frontier with ``vector.Tables`` and
checks invariants, ``@sometimes`` and the refinement mapping with the tables of
``vector_props``, so the counts, depth, verdict and counterexample are those of the scalar
workers for any number of workers.  Successors it owns are filtered against its visited set at
once; the others go to their owners as raw int64 bytes.  The visited set is a numpy hash set for
membership with each level's codes and parents kept sorted for the paths (``HashedLevels``); with
a ``--memory`` budget it is the spilling ``visited.Runs`` instead.  Where the tables cannot answer
(model code raises, a property reads what its digits do not say) the worker finishes the run on
the scalar expander, which reports the error with its state and action.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..models.actors import ActorSystem
from ..models.base import Model
from ..models.fastpath import code_layout
from . import checkpoint as ckpt
from .checks import Checks, first_failing
from .explore import Options
from .parallel import Batch, PartitionWorker, landed_arrays, owners
from .vector import CHUNK, Declined, Part, Tables, declined, recheck_chunk
from .vector_props import Fallback, PropertyValues, RefinementTable
from .vector_set import EMPTY, CodeSet

#: Tables with at most this many entries (steps x local states) are filled at once, not per level.
EAGER = 1 << 16
#: The hash set grows past this load factor (linear probing stays short below ~0.7).
MAX_LOAD = 0.7
_MUL2 = np.uint64(0xC2B2AE3D27D4EB4F)  # not the owner hash's multiplier: its bits would leave slots unused


def vector_reason(model: Model[Any], o: Options) -> str | None:
    """Why the partitioned search cannot expand ``model`` with the vector tables (None: it can)."""
    q = copy.copy(o)
    q.scale = None
    why = declined(model, q)
    if why is not None:
        return why
    assert isinstance(model, ActorSystem)
    layout = code_layout(model, model.state_type)  # type: ignore[arg-type]
    if isinstance(layout, str):
        return layout
    try:
        Tables(layout)
    except Declined as e:
        return str(e)
    checks = Checks(model, o.properties, o.deadlock, False, o.check_determinism)
    if checks.step_props:
        return f"@step property {checks.step_props[0].name} (checked on states)"
    return None


class DenseCodeSet(CodeSet):
    """``CodeSet`` kept up to ``MAX_LOAD`` full (not half), hashed apart from the owner hash."""

    def _slots(self, codes: np.ndarray) -> np.ndarray:
        h = (codes.view(np.uint64) * _MUL2) >> np.uint64(64 - self.bits)
        return h.view(np.int64)

    def add_new(self, codes: np.ndarray) -> None:
        if self.count + len(codes) > MAX_LOAD * len(self.table):
            self._grow(self.count + len(codes))
        self._place(codes)
        self.count += len(codes)

    def _grow(self, need: int) -> None:
        old = self.table[self.table != EMPTY]
        while (1 << self.bits) * MAX_LOAD < 1.4 * need:  # room for 40% more before the next growth
            self.bits += 1
        self.table = np.full(1 << self.bits, EMPTY, np.int64)
        self._place(old)


class HashedLevels:
    """Visited codes: a hash set for membership, each level's (codes, parents) sorted for the paths.

    8 bytes per hash slot (at most ``MAX_LOAD`` full) and 16 per state for the levels: about 28
    to 40 bytes a state.  The interface is ``visited.Runs``'s."""

    spilled = False

    def __init__(self) -> None:
        self.set = DenseCodeSet()
        self.levels: list[tuple[np.ndarray, np.ndarray]] = []
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def fresh(self, codes: np.ndarray) -> np.ndarray:
        """Which of ``codes`` are not visited."""
        return ~self.set.contains(codes)

    def new(self, codes: np.ndarray, parents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = self.fresh(codes)
        return codes[keep], parents[keep]

    def add(self, codes: np.ndarray, parents: np.ndarray) -> None:
        """Add distinct unvisited codes, ascending (as ``_fresh`` gives them)."""
        if not len(codes):
            return
        if len(codes) > 1 and not bool(np.all(codes[1:] > codes[:-1])):
            order = np.argsort(codes)
            codes, parents = codes[order], parents[order]
        self.set.add_new(codes)
        self.levels.append((codes, parents))
        self.n += len(codes)

    def parent(self, code: int) -> int:
        for rc, rp in self.levels:
            i = int(np.searchsorted(rc, code))
            if i < len(rc) and int(rc[i]) == code:
                return int(rp[i])
        raise KeyError(code)

    def items(self) -> Iterator[tuple[Any, Any]]:
        yield from self.levels

    @property
    def nbytes(self) -> int:
        return int(self.set.nbytes + sum(c.nbytes + p.nbytes for c, p in self.levels))

    def close(self) -> None:
        self.levels = []
        self.set = DenseCodeSet()


class VectorPartitionWorker(PartitionWorker):
    """``PartitionWorker`` whose frontier (an ascending int64 array) is expanded with numpy tables."""

    def __init__(self, model: Model[Any], o: Options, index: int, n: int, budget: int | None,
                 spill_dir: str | None) -> None:
        super().__init__(model, o, index, n, budget, spill_dir)
        assert isinstance(model, ActorSystem) and not self.wide
        if budget is None:
            self.visited = HashedLevels()
        layout = code_layout(model, model.state_type)  # type: ignore[arg-type]
        assert not isinstance(layout, str)
        self.t = Tables(layout)
        _fill_at_once(self.t)
        unpack = self.run.unpack
        checks = self.checks
        self.values = {p.name: PropertyValues(p, layout, unpack) for p in [*checks.invariants, *checks.sometimes]}
        self.acts = acts = [st.action for st in self.t.steps]
        self.refs = [RefinementTable(r, unpack, layout, acts, [st.node for st in self.t.steps])
                     for r in checks.refinements]
        self.fam = np.array([st.action.family for st in self.t.steps], np.int64)
        self.determinism_left = self.run.o.check_determinism
        self.expanded_so_far = 0
        self.fell_back: str | None = None  # why this worker went on with the scalar expander
        self.frontier_codes = np.zeros(0, np.int64)

    # The frontier is kept as an array; the base class's list view is made on demand.
    @property
    def frontier(self) -> list[int]:
        return self.frontier_codes.tolist()

    @frontier.setter
    def frontier(self, codes: Any) -> None:
        self.frontier_codes = np.asarray(codes, np.int64)

    def seed(self, inits: list[int]) -> None:
        codes = np.array(sorted(inits), np.int64)
        mine = codes[owners(codes, self.n) == self.index] if self.n > 1 else codes
        self.visited.add(mine, np.full(len(mine), -1, np.int64))
        self.frontier_codes = mine

    def _routes(self) -> tuple[list[Batch | None], dict[str, Any]]:
        if self.fell_back is None:
            try:
                return self._expand()
            except Fallback as e:
                self.fell_back = str(e)
                self.run.cov = list(self.cov_before)
        return super()._routes()

    def _expand(self) -> tuple[list[Batch | None], dict[str, Any]]:
        n, me, run = self.n, self.index, self.run
        self.cov_before = list(run.cov)
        cov = np.zeros(len(run.cov), np.int64)
        front = self.frontier_codes
        transitions = 0
        dead: int | None = None
        bad_f: int | None = None
        deadlock = self.checks.deadlock
        out_c: list[np.ndarray] = []
        out_p: list[np.ndarray] = []
        for lo in range(0, len(front), CHUNK):
            chunk = front[lo : lo + CHUNK]
            parts = self.t.expand(chunk)
            self._determinism(chunk, parts)
            if deadlock and dead is None:
                dead = self._deadlock(chunk, parts)
            if self.refs and bad_f is None:
                found = [b for ref in self.refs if (b := ref.first_bad(chunk, parts)) is not None]
                if found:
                    bad_f = lo + min(found)[0]
            for part in parts:
                transitions += len(part.idx)
                cov[self.fam[part.j]] += len(part.idx)
                if part.moved is True:
                    succ, par = part.succ, chunk[part.idx]
                else:
                    succ, par = part.succ[part.moved], chunk[part.idx[part.moved]]
                out_c.append(succ)
                out_p.append(par)
        run.cov = [a + int(b) for a, b in zip(run.cov, cov.tolist(), strict=True)]
        step = None
        if bad_f is not None:  # that parent's steps on the scalar path: the scalar workers' answer
            code = int(front[bad_f])
            s, pairs, states = run.expand(code)
            step = self._steps(code, s, pairs, states, None)
            if step is None:
                raise Fallback("the refinement tables and the states disagree")
        summary = {"transitions": transitions, "deadlock": dead, "step": step}
        routes: list[Batch | None] = []
        succ = np.concatenate(out_c) if out_c else np.zeros(0, np.int64)
        par = np.concatenate(out_p) if out_p else np.zeros(0, np.int64)
        del out_c, out_p
        dest = owners(succ, n) if n > 1 else None
        for j in range(n):
            sel = None if dest is None else dest == j
            c, p = (succ, par) if sel is None else (succ[sel], par[sel])
            if j == me:
                self.local = (c, p)
                routes.append(None)
            else:  # sent as they are: the owner filters and sorts them once with its own
                routes.append((c, p))
        return routes, summary

    def _deadlock(self, chunk: np.ndarray, parts: list[Part]) -> int | None:
        """The least code of ``chunk`` without successors that is not a proper end."""
        has = np.zeros(len(chunk), bool)
        for part in parts:
            has[part.idx] = True
        for code in chunk[~has].tolist():
            if not self.run._terminal(code, None):
                return int(code)
        return None

    def _determinism(self, chunk: np.ndarray, parts: list[Part]) -> None:
        """Some codes' successors, compared with the general path's (as every engine does)."""
        run = self.run
        self.determinism_left, self.expanded_so_far = recheck_chunk(
            self.model, run.expand_states, run.key, run.unpack, self.acts, chunk, parts, self.determinism_left,
            self.expanded_so_far, run.o.check_determinism > 0)

    def receive(self, store: bool, *batches: bytes | str | None) -> dict[str, Any]:
        if self.fell_back is not None:
            return super().receive(store, *batches)
        codes, parents = self._fresh(landed_arrays(batches))
        summary: dict[str, Any] = {"new": len(codes), "invariant": None, "examples": {}}
        if not store:
            return summary
        self.visited.add(codes, parents)
        self.frontier_codes = codes
        if not len(codes):
            return summary
        try:
            summary["invariant"] = self._invariant(codes)
            self._examples(codes, summary["examples"])
        except Fallback as e:  # the states themselves, as the scalar worker checks them
            self.fell_back = str(e)
            summary["invariant"], summary["examples"] = self._check_states(codes)
        return summary

    def _fresh(self, sent: list[np.ndarray]) -> Any:  # type: ignore[override]
        """The successors of this worker's codes and those sent here, each once with its least
        parent, less the visited ones, ascending.  Duplicates go first (a 2PC state is reached
        from about 7 parents): the hash set then looks up each distinct code once."""
        (codes, parents), self.local = self.local, None
        if sent:
            codes = np.concatenate([codes, *(x[0] for x in sent)])
            parents = np.concatenate([parents, *(x[1] for x in sent)])
        return self.visited.new(*_least_parent(codes, parents))

    def _invariant(self, codes: np.ndarray) -> tuple[int, str] | None:
        invariants = self.checks.invariants
        if not invariants:
            return None
        bad = np.zeros(len(codes), bool)
        for p in invariants:
            bad |= ~self.values[p.name].holds(codes)
        hits = np.flatnonzero(bad)
        if not hits.size:
            return None
        c = int(codes[hits[0]])  # ascending: the least failing code
        name = first_failing(invariants, self.run.unpack(c), None)
        if name is None:
            raise Fallback("a property gave different values on the node part and on the state")
        return c, name

    def _examples(self, codes: np.ndarray, examples: dict[str, Any]) -> None:
        left = []
        for p in self.pending:
            hits = np.flatnonzero(self.values[p.name].holds(codes))
            if hits.size:
                examples[p.name] = int(codes[hits[0]])
            else:
                left.append(p)
        self.pending = left

    def _check_states(self, codes: np.ndarray) -> tuple[tuple[int, str] | None, dict[str, Any]]:
        from .checks import note_examples

        invariants, unpack = self.checks.invariants, self.run.unpack
        bad: tuple[int, str] | None = None
        examples: dict[str, Any] = {}
        for c in codes.tolist():
            t = unpack(c)
            if invariants and bad is None:
                name = first_failing(invariants, t, None)
                if name is not None:
                    bad = (c, name)
            if self.pending:
                self.pending = note_examples(self.pending, examples, t, c)
        return bad, examples

    def engine_note(self) -> str | None:
        return self.fell_back

    def load(self, folder: str, tag: str, parts: int, cov: list[int] | None) -> None:
        """Take this worker's share of a checkpoint written by ``parts`` workers (by arrays)."""
        front = []
        for codes, parents, frontier in ckpt.load_parts(folder, tag, parts):
            if codes:
                c, p = np.array(codes, np.int64), np.array(parents, np.int64)
                mine = owners(c, self.n) == self.index
                self.visited.add(*_least_parent(c[mine], p[mine]))
            if frontier:
                f = np.array(frontier, np.int64)
                front.append(f[owners(f, self.n) == self.index])
        self.frontier_codes = np.sort(np.concatenate([self.frontier_codes, *front]))
        if cov is not None:
            self.run.cov = list(cov)


def _fill_at_once(t: Tables) -> None:
    """Fill small tables for every local state now (2PC at 8 RMs: 7,808 entries, a few hundredths of
    a second), so that a level is not scanned for unfilled digits once per step.  A digit whose
    handler raises stays unfilled: if it is reached, the lazy fill raises and the worker falls back."""
    if sum(len(e) for e in t.en) > EAGER:
        return
    for j, st in enumerate(t.steps):
        if st.node < 0:
            continue
        for d in range(len(t.en[j])):
            with contextlib.suppress(Fallback):
                t._fill(j, np.array([d], np.int64))
    if all(bool((e >= 0).all()) for e in t.en):
        t._fill = _filled  # type: ignore[method-assign,assignment]


def _filled(_j: int, _digits: np.ndarray) -> None:
    """``Tables._fill`` once every entry is known."""


def _least_parent(codes: np.ndarray, parents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each code once, with its least parent, in ascending order of code (one argsort: a
    two-key ``lexsort`` is several times slower)."""
    if len(codes) < 2:
        return codes, parents
    order = np.argsort(codes)
    codes, parents = codes[order], parents[order]
    first = np.empty(len(codes), bool)
    first[0] = True
    np.not_equal(codes[1:], codes[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return codes[starts], np.minimum.reduceat(parents, starts)
