"""The vectorized explicit-state checker: a whole BFS level expanded at once over packed codes.

On a packed system (``models.fastpath.code_layout``) every action instance is a table over one
node's digit: enabled or not, the change of the node part, the message bits it sends.  A level
of the search is then a few numpy operations per instance over the array of its codes
(``Tables.expand``); new states are found against a sorted int64 array of the visited codes;
each new state keeps its parent's index in the previous level, so paths are rebuilt.

The order is the scalar search's: a level's successors are laid out parent-major and
instance-minor (the order in which ``explore`` visits them) and a new state's parent is its
first discoverer, so the parent map, the counts, the verdict and the counterexample are those of
the scalar engine; at a violation the counts are cut where the scalar search stops.  Model code
that raises is never reported from here: the run falls back to the scalar engine, which reports
it with its state and action.

``Tables.expand(codes) -> (successor matrix)`` on one level is the unit a partitioned search
distributes.
"""

from __future__ import annotations

import resource
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..models.actors import ActorSystem
from ..models.base import Model
from ..models.fastpath import CodeLayout, code_layout
from ..models.schema import Record
from .checks import Checks, first_failing, note_examples
from .path import Path
from .vector_props import Fallback, PropertyValues, RefinementTable
from .vector_set import CodeSet

#: Parents expanded per numpy batch (bounds the successor arrays of one batch).
CHUNK = 1 << 16
#: A node with more local states than this is not tabled.
TABLE_LIMIT = 1 << 22


#: ``_Search._level``'s answer when ``max_states`` ends the run.
_BUDGET: Any = object()


class Declined(Exception):
    """Why the vector engine does not run this model or this run (the scalar engine does)."""


def declined(model: Model[Any], o: Any) -> str | None:
    """Why ``run`` cannot check ``model`` with options ``o`` (None: it can)."""
    if not isinstance(model, ActorSystem):
        return f"{type(model).__name__} is not an actor system (no per-node tables)"
    reasons = [
        (o.strategy != "bfs", f"--strategy {o.strategy} (the vector engine is breadth-first)"),
        (o.symmetry, "symmetry reduction"),
        (not o.on_codes, "packed codes turned off"),
        (bool(o.record_graph), "the state graph is recorded"),
    ]
    why = next((w for bad, w in reasons if bad), None)
    if why is not None:
        return why
    why = model.general_path_reason()
    if why is not None:
        return why
    stype = model.state_type
    if not isinstance(stype, Record) or stype.size >= 1 << 62:
        return f"codes need {stype.size.bit_length()} bits (more than one int64 word)"
    return None


class Tables:
    """Each action instance as a table over its node's digit, filled lazily (only reached digits)."""

    def __init__(self, layout: CodeLayout) -> None:
        self.layout = layout
        self.steps = layout.steps
        self.J = len(self.steps)
        self.ns = layout.node_space
        for st in self.steps:
            if st.node >= 0 and layout.sizes[st.node] > TABLE_LIMIT:
                raise Declined(f"node {st.node} has {layout.sizes[st.node]:,} local states (tables hold "
                               f"at most {TABLE_LIMIT:,})")
        size = [layout.sizes[st.node] if st.node >= 0 else 0 for st in self.steps]
        self.en = [np.full(r, -1, np.int8) for r in size]  # -1 not computed yet, 0 disabled, 1 enabled
        self.dn = [np.zeros(r, np.int64) for r in size]
        self.dd = [np.zeros(r, np.int64) for r in size]  # the change of the node's own digit
        self.mask = [np.zeros(r, np.int64) for r in size]
        self.nodes_used = sorted({st.node for st in self.steps if st.node >= 0})

    def _fill(self, j: int, digits: np.ndarray) -> None:
        en = self.en[j]
        present = np.flatnonzero(np.bincount(digits, minlength=len(en)))
        todo = present[en[present] < 0]
        effect = self.steps[j].effect
        assert effect is not None
        for d in todo.tolist():
            try:
                got = effect(d)
            except Exception as e:  # the scalar engine reports it with its state and action
                raise Fallback(f"{self.steps[j].action!r} raised {type(e).__name__}") from e
            if got is None:
                en[d] = 0
            else:
                en[d] = 1
                self.dn[j][d], self.mask[j][d] = got
                self.dd[j][d] = got[0] // self.layout.weights[self.steps[j].node]

    def expand(self, codes: np.ndarray) -> list[Part]:
        """The enabled steps out of ``codes``, one ``Part`` per instance that has any, in order."""
        ns = self.ns
        nodes, net = np.divmod(codes, ns)[::-1]
        w, r = self.layout.weights, self.layout.sizes
        dig = {i: (nodes // w[i]) % r[i] for i in self.nodes_used}
        out = []
        bits: dict[int, np.ndarray] = {}
        for j, st in enumerate(self.steps):
            if st.bit >= 0:
                has = bits.get(st.bit)
                if has is None:
                    has = bits[st.bit] = np.flatnonzero((net >> st.bit) & 1)
                if not has.size:
                    continue
                if st.node < 0:
                    out.append(Part(j, has, codes[has] - (ns << st.bit), True, None))
                    continue
                dsel = dig[st.node][has]
                self._fill(j, dsel)
                ok = self.en[j][dsel] == 1
                idx, dsel = has[ok], dsel[ok]
            else:
                d = dig[st.node]
                self._fill(j, d)
                idx = np.flatnonzero(self.en[j][d] == 1)
                dsel = d[idx]
            if idx.size:
                dn, sent = self.dn[j][dsel], self.mask[j][dsel] & ~net[idx]
                moved = (dn != 0) | (sent != 0)
                out.append(Part(j, idx, codes[idx] + dn + sent * ns, moved, self.dd[j][dsel]))
        return out


@dataclass
class Part:
    """The steps of one action instance out of a batch of codes."""

    j: int  # the instance
    idx: np.ndarray  # the positions of the codes where it is enabled (ascending)
    succ: np.ndarray  # the successor of each
    moved: np.ndarray | bool  # which successors differ from their code (True: all of them)
    dd: np.ndarray | None  # the change of the acting node's digit (None: a drop, no node changes)


@dataclass
class _Level:
    codes: np.ndarray  # in discovery order
    parent: np.ndarray  # index of each one's parent in the previous level (-1: initial)


def run(model: Model[Any], o: Any) -> Any:
    """``explore(model, o)`` on the vector engine; raises ``Declined`` or ``Fallback`` (run scalar)."""
    why = declined(model, o)
    if why is not None:
        raise Declined(why)
    assert isinstance(model, ActorSystem)
    layout = code_layout(model, model.state_type)  # type: ignore[arg-type]
    if isinstance(layout, str):
        raise Declined(layout)
    return _Search(model, o, Tables(layout)).go()


class _Search:
    def __init__(self, model: ActorSystem, o: Any, tables: Tables) -> None:
        from .explore import Stats

        self.model, self.o, self.t = model, o, tables
        self.checks = checks = Checks(model, o.properties, o.deadlock, False, o.check_determinism)
        if checks.step_props:
            raise Declined(f"@step property {checks.step_props[0].name} (checked on states)")
        live = checks.liveness
        if live and o.liveness:
            raise Declined("liveness properties are checked (the scalar engine keeps the edges)")
        names = ", ".join(p.name for p in live)
        self.liveness_note = f"not checked (turned off): {names}" if live else ""
        stype = model.state_type
        self.key = stype.packer(memo=False)
        self.unpack = stype.unpacker(memo=False)
        lay = tables.layout
        self.values = {p.name: PropertyValues(p, lay, self.unpack)
                       for p in [*checks.invariants, *checks.sometimes]}
        self.acts = acts = [st.action for st in tables.steps]
        self.refs = [RefinementTable(r, self.unpack, lay, acts, [st.node for st in tables.steps])
                     for r in checks.refinements]
        self.families = model.action_families
        self.fam = np.array([st.action.family for st in tables.steps], np.int64)
        self.cov = np.zeros(len(self.families), np.int64)
        self.stats = Stats()
        self.levels: list[_Level] = []
        self.examples: dict[str, tuple[int, int] | None] = {p.name: None for p in checks.sometimes}
        self.pending = list(checks.sometimes)
        self.hit_depth_bound = False
        self.determinism_left = o.check_determinism
        self.expanded_so_far = 0  # states whose successors the determinism check has passed over
        self.recheck_expand = model.expander()  # one, kept: it caches deliveries per network value

    # ----- the search -----
    def go(self) -> Any:
        from .interrupt import cause
        from .verdict import BOUNDED

        try:
            return self._go()
        except KeyboardInterrupt:
            if not getattr(self.o, "interruptible", False) or not self.levels:
                raise
            # The levels finished so far are the partial result (the one under way is dropped).
            return self._finish(BOUNDED, bound=f"{time.perf_counter() - self.t0:.1f}s (interrupted by {cause()})")

    def _go(self) -> Any:
        from .verdict import BOUNDED, EXHAUSTED, VIOLATED

        o = self.o
        if o.measure_memory:
            tracemalloc.start()
        self.t0 = time.perf_counter()
        self.next_report = self.t0 + o.progress_every
        self.deadline = None if o.timeout is None else self.t0 + o.timeout
        found = self._start()
        if found is not None:
            return found
        seen = CodeSet()
        seen.add_new(self.levels[0].codes)
        depth = 0
        while True:
            cur = self.levels[-1].codes
            self.stats.depth = depth
            at_bound = o.max_depth is not None and depth >= o.max_depth
            got = self._level(cur, depth, seen, at_bound)
            if got is None:
                return self._finish(BOUNDED, bound=f"timeout {o.timeout:g}s")
            if got is _BUDGET:
                return self._finish(BOUNDED, bound=f"{o.max_states} states")
            if isinstance(got, tuple):
                return self._finish(VIOLATED, *got)
            new_codes, parent = got.codes, got.parent
            if at_bound:
                if new_codes.size:
                    self.hit_depth_bound = True
                break
            if not new_codes.size:
                break
            self.levels.append(got)
            seen.add_new(new_codes)
            del parent
            depth += 1
            now = time.perf_counter()
            if self.deadline is not None and now >= self.deadline:
                return self._finish(BOUNDED, bound=f"timeout {o.timeout:g}s")
            if o.progress is not None and now >= self.next_report:
                self.next_report = now + o.progress_every
                n = self._distinct()
                print(f"  {n:,} states, {self.stats.transitions:,} transitions, depth {depth}, "
                      f"{n / (now - self.t0):,.0f} states/s, {now - self.t0:.0f}s (vector)",
                      file=o.progress, flush=True)
        if self.hit_depth_bound:
            return self._finish(BOUNDED, bound=f"depth {o.max_depth}")
        unreached = [k for k, v in self.examples.items() if v is None]
        if unreached:
            return self._finish(VIOLATED, unreached[0])
        return self._finish(EXHAUSTED)

    def _start(self) -> Any:
        from .verdict import VIOLATED

        codes: list[int] = []
        states = []
        for s in self.model.initial_states():
            c = self.key(s)
            if c not in codes:
                codes.append(c)
                states.append(s)
        self.levels.append(_Level(np.array(codes, np.int64), np.full(len(codes), -1, np.int64)))
        for i, s in enumerate(states):
            bad = self.checks.initial_failing(s)
            if bad is not None:
                return self._finish(VIOLATED, bad, self._path(0, i))
            examples: dict[str, int | None] = {}
            self.pending = note_examples(self.pending, examples, s, i)
            for k, v in examples.items():
                if v is not None and self.examples[k] is None:
                    self.examples[k] = (0, i)
        return None

    def _distinct(self) -> int:
        return sum(len(lv.codes) for lv in self.levels)

    def _level(self, cur: np.ndarray, depth: int, seen: CodeSet, at_bound: bool) -> _Level | tuple[Any, ...] | None:
        """Expand one level: the new level, (property, path) of the first violation in scalar order,
        or None when the timeout passed."""
        J = self.t.J
        news, new_keys = [], []
        events: list[tuple[float, str, Any]] = []  # (event key, property, how to build the path)
        done: list[tuple[int, list[tuple[int, np.ndarray]]]] = []  # per chunk: (instance, positions)
        for lo in range(0, len(cur), CHUNK):
            chunk = cur[lo : lo + CHUNK]
            parts = self.t.expand(chunk)
            done.append((lo, [(part.j, part.idx.astype(np.int32)) for part in parts]))
            self._determinism(chunk, parts)
            if self.checks.deadlock:
                events += self._deadlocks(chunk, parts, lo)
            for part in parts:
                moved = part.succ if part.moved is True else part.succ[part.moved]
                fresh = ~seen.contains(moved)
                news.append(moved[fresh])
                idx = part.idx if part.moved is True else part.idx[part.moved]
                new_keys.append((idx[fresh] + lo) * J + part.j)
            for ref in self.refs:
                bad = ref.first_bad(chunk, parts)
                if bad is not None:
                    f, j, code = bad
                    events.append((2 * ((lo + f) * J + j), ref.check.name, (lo + f, code, ref.check)))
                    break
            if events:
                break  # later chunks' events come after these
            if self.deadline is not None and time.perf_counter() >= self.deadline:
                return None  # the level is dropped: the counts are those of the levels done
        cand = np.concatenate(news) if news else np.zeros(0, np.int64)
        ckeys = np.concatenate(new_keys) if new_keys else np.zeros(0, np.int64)
        # Each new code once, with its first discovery (the least key): the scalar search's order.
        uniq, inv = np.unique(cand, return_inverse=True)
        least = np.full(len(uniq), np.iinfo(np.int64).max, np.int64)
        np.minimum.at(least, inv, ckeys)
        order = np.argsort(least)
        keys_new = least[order]
        parents = keys_new // J
        level = _Level(uniq[order], parents.astype(np.int32) if len(cur) < 1 << 31 else parents)
        if not at_bound:
            events += self._property_events(level, keys_new)
        budget = self._budget_stop(level, at_bound)
        if budget is not None:
            events.append((2 * (budget + 1) * J - 0.5, "", _BUDGET))  # after every step of parent `budget`
        if not events:
            for _lo, kept in done:
                for j, idx in kept:
                    self.stats.transitions += len(idx)
                    self.cov[self.fam[j]] += len(idx)
            if not at_bound:
                self._note_examples(level, len(self.levels))
            return level
        ev, prop, how = min(events, key=lambda e: e[0])
        if how is _BUDGET:
            k, kind = (budget + 1) * J, 0  # type: ignore[operator]
            f, j0 = k // J - 1, J - 1
        else:
            k, kind = divmod(int(ev), 2)
            f, j0 = divmod(k, J)
        # The scalar search stops here: it has counted every step out of parents up to f, the
        # coverage of the steps up to this one, and the new states discovered before it.
        for lo, kept in done:
            for j, idx in kept:
                at = idx.astype(np.int64) + lo
                self.stats.transitions += int(np.count_nonzero(at <= f))
                upto = np.count_nonzero(at < f) + (np.count_nonzero(at == f) if j <= j0 else 0)
                self.cov[self.fam[j]] += int(upto)
        keep = int(np.count_nonzero(keys_new < k)) + (1 if kind == 1 else 0) if not at_bound else 0
        cut = _Level(level.codes[:keep], level.parent[:keep])
        self.levels.append(cut)
        if not at_bound:
            noted = keep - 1 if kind == 1 else keep  # the scalar search stops before noting the violating state
            self._note_examples(_Level(cut.codes[:noted], cut.parent[:noted]), len(self.levels) - 1)
        if how is _BUDGET:
            return _BUDGET
        if how is None:  # an invariant: the path to the new state
            return prop, self._path(len(self.levels) - 1, keep - 1)
        if isinstance(how, int):  # a deadlock at parent index `how`
            return prop, self._path(len(self.levels) - 2, how)
        from .explore import _extend

        fidx, code, check = how
        return prop, _extend(self.model, self.key, self._path(len(self.levels) - 2, fidx), code, check)

    def _budget_stop(self, level: _Level, at_bound: bool) -> int | None:
        """The parent after whose steps the scalar search hits ``max_states`` (None: not in this level)."""
        cap = self.o.max_states
        if cap is None:
            return None
        need = cap - self._distinct()
        if need <= 0:
            return 0
        if at_bound or len(level.codes) < need:
            return None
        return int(level.parent[need - 1])  # parents are in discovery order, hence ascending

    def _deadlocks(self, chunk: np.ndarray, parts: list[Part], lo: int) -> list[tuple[int, str, Any]]:
        from .checks import DEADLOCK

        J = self.t.J
        has = np.zeros(len(chunk), bool)
        for part in parts:
            has[part.idx] = True
        for f in np.flatnonzero(~has).tolist():
            s = self.unpack(int(chunk[f]))
            try:
                terminal = self.model.is_terminal(s)
            except Exception as e:
                raise Fallback("the @terminal predicate raised") from e
            if not terminal:
                return [(2 * (lo + f) * J, DEADLOCK, lo + f)]
        return []

    def _property_events(self, level: _Level, keys_new: np.ndarray) -> list[tuple[int, str, Any]]:
        """The first new state (in discovery order) that violates an invariant."""
        if not self.checks.invariants or not level.codes.size:
            return []
        bad_any = np.zeros(len(level.codes), bool)
        per = []
        for p in self.checks.invariants:
            ok = self.values[p.name].holds(level.codes)
            per.append(ok)
            bad_any |= ~ok
        hits = np.flatnonzero(bad_any)
        if not hits.size:
            return []
        i = int(hits[0])
        # The state itself, checked as the scalar engine does (also names the first failing property).
        s = self.unpack(int(level.codes[i]))
        name = first_failing(self.checks.invariants, s, None)
        if name is None:
            raise Fallback("a property gave different values on the node part and on the state")
        return [(2 * int(keys_new[i]) + 1, name, None)]

    def _note_examples(self, level: _Level, at: int) -> None:
        """Record the first state of ``level`` (the ``at``-th) satisfying each pending ``@sometimes``."""
        if not self.pending or not level.codes.size:
            return
        left = []
        for p in self.pending:
            hits = np.flatnonzero(self.values[p.name].holds(level.codes))
            if hits.size:
                self.examples[p.name] = (at, int(hits[0]))
            else:
                left.append(p)
        self.pending = left

    def _determinism(self, chunk: np.ndarray, parts: list[Part]) -> None:
        """Some states' successors, compared with the general path's (as the scalar engine does)."""
        self.determinism_left, self.expanded_so_far = recheck_chunk(
            self.model, self.recheck_expand, self.key, self.unpack, self.acts, chunk, parts, self.determinism_left,
            self.expanded_so_far, self.o.check_determinism > 0)

    # ----- the result -----
    def _path(self, level: int, idx: int) -> Path:
        from .explore import path_from_chain

        chain = []
        while level >= 0:
            chain.append(int(self.levels[level].codes[idx]))
            idx = int(self.levels[level].parent[idx])
            level -= 1
        chain.reverse()
        return path_from_chain(self.model, self.key, chain)

    def _finish(self, verdict: str, prop: str | None = None, path: Path | None = None,
                bound: str | None = None) -> Any:
        from .explore import Result

        o, stats = self.o, self.stats
        stats.elapsed_s = time.perf_counter() - self.t0
        stats.distinct_states = self._distinct()
        stats.coverage = dict(zip(self.families, self.cov.tolist(), strict=True))
        stats.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if o.measure_memory:
            stats.peak_memory_bytes = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        ex = {name: (None if at is None else self._path(*at)) for name, at in self.examples.items()}
        live = self.liveness_note
        r = Result(self.model, verdict, stats, prop, path, bound, ex, "bfs", False, None, None, "packed codes", live)
        r.engine = "vector"
        return r


def recheck_chunk(model: Model[Any], expand: Any, key: Any, unpack: Any, acts: list[Any], chunk: np.ndarray,
                  parts: list[Part], left: int, before: int, sample: bool) -> tuple[int, int]:
    """Re-expand, through the general path, the first ``left`` states of ``chunk`` and (``sample``)
    one state in ``_RECHECK_EVERY`` of the run (``before`` states came before this chunk), and
    compare with ``parts``; the new ``left`` and ``before``."""
    from .explore import _RECHECK_EVERY, _check_deterministic

    n = len(chunk)
    first = min(left, n)
    wanted = set(range(first))
    if sample:
        wanted.update(range((-before) % _RECHECK_EVERY, n, _RECHECK_EVERY))
    if wanted:
        want = np.array(sorted(wanted), np.int64)
        rows: dict[int, list[tuple[Any, int]]] = {f: [] for f in want.tolist()}
        for part in parts:
            hit = np.flatnonzero(np.isin(part.idx, want))
            for i in hit.tolist():
                rows[int(part.idx[i])].append((acts[part.j], int(part.succ[i])))
        for f, row in rows.items():
            _check_deterministic(model, expand, key, unpack(int(chunk[f])), row, True, unpack)
    return left - first, before + n
