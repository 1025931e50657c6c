"""The explicit-state checker: one search loop, three frontiers.

Breadth-first search (the default) returns shortest counterexamples; depth-first search and
seeded random walks differ only in the frontier.  States are stored as their exact packed
code (``Type.pack``, a bijection onto ``range(size)``), so deduplication never confuses two
states, and a state costs one Python int plus one dict entry (its parent's code); paths are
rebuilt by replaying the transitions forward from the initial state.
"""

from __future__ import annotations

import random
import resource
import time
import traceback
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..models.base import Action, Disabled, Model, Property, Refinement
from ..models.schema import SchemaError
from .path import Path
from .symmetry import AsymmetricDefinition, Canonicalizer, check_symmetric
from .symmetry_proof import (
    GROUP_LIMIT,
    Justification,
    checked_init,
    checked_on_every_state,
    checked_step,
    cross_checked,
    generators,
    group_elements,
    group_size,
    justify,
)
from .verdict import BOUNDED, EXHAUSTED, VIOLATED

DEADLOCK = "deadlock"


class ModelError(Exception):
    """The model raised (or produced an ill-typed state) while being checked."""

    def __init__(self, message: str, state: Any, action: Action | None, tb: str) -> None:
        super().__init__(message)
        self.message, self.state, self.action, self.traceback = message, state, action, tb

    def __str__(self) -> str:
        where = f"action {self.action!r}" if self.action is not None else "an initial state"
        return f"{self.message}\n  in {where}\n  from state {self.state!r}"


class Nondeterminism(Exception):
    """Re-running the model did not reproduce a transition it produced before."""


@dataclass
class Stats:
    distinct_states: int = 0
    transitions: int = 0
    depth: int = 0
    elapsed_s: float = 0.0
    coverage: dict[str, int] = field(default_factory=dict)
    peak_memory_bytes: int | None = None  # traced Python allocations (Options.measure_memory)
    peak_rss_bytes: int = 0  # the process's peak resident set size at the end of the run

    @property
    def states_per_s(self) -> float:
        return self.distinct_states / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def never_fired(self) -> list[str]:
        return [k for k, v in self.coverage.items() if v == 0]


@dataclass
class Result:
    model: Model[Any]
    verdict: str
    stats: Stats
    property: str | None = None
    path: Path | None = None
    bound: str | None = None  # which budget ended a bounded run
    examples: dict[str, Path | None] = field(default_factory=dict)
    strategy: str = "bfs"
    symmetry: bool = False
    graph: Graph | None = None
    justification: Justification | None = None  # how a symmetric run's properties were justified
    expansion: str = ""  # "packed codes", or "general: <why the packed path was declined>"

    def unreached(self) -> list[str]:
        """``@sometimes`` properties no visited state satisfied."""
        return [k for k, v in self.examples.items() if v is None]


@dataclass
class Graph:
    """The explored state graph (small spaces only): codes, edges and the states."""

    states: dict[int, Any]
    edges: list[tuple[int, str, int]]
    initial: list[int]


# ----- frontiers ----------------------------------------------------------------------


class _BFS:
    """Level by level, so ``depth`` is exact and the first violation found is a shortest one."""

    def __init__(self) -> None:
        self.cur: list[int] = []
        self.nxt: list[int] = []
        self.pos = 0
        self.depth = 0

    def push(self, code: int, depth: int) -> None:
        self.cur.append(code)

    def pop(self) -> tuple[int, int] | None:
        if self.pos == len(self.cur):
            if not self.nxt:
                return None
            self.cur, self.nxt, self.pos = self.nxt, [], 0
            self.depth += 1
        code = self.cur[self.pos]
        self.pos += 1
        return code, self.depth

    def successors(self, depth: int, fresh: list[int], every: list[int]) -> None:
        self.nxt.extend(fresh)


class _DFS:
    def __init__(self) -> None:
        self.stack: list[tuple[int, int]] = []

    def push(self, code: int, depth: int) -> None:
        self.stack.append((code, depth))

    def pop(self) -> tuple[int, int] | None:
        return self.stack.pop() if self.stack else None

    def successors(self, depth: int, fresh: list[int], every: list[int]) -> None:
        self.stack.extend((c, depth + 1) for c in reversed(fresh))


class _Walks:
    """Seeded random walks: each step follows one random successor, seen or not."""

    def __init__(self, seed: int, walks: int, walk_depth: int, inits: list[int]) -> None:
        self.rng = random.Random(seed)
        self.left, self.walk_depth, self.inits = walks, walk_depth, inits
        self.next: tuple[int, int] | None = None

    def push(self, code: int, depth: int) -> None:
        pass  # walks start from a random initial state in pop()

    def pop(self) -> tuple[int, int] | None:
        if self.next is None:
            if self.left <= 0:
                return None
            self.left -= 1
            return self.rng.choice(self.inits), 0
        item, self.next = self.next, None
        return item

    def successors(self, depth: int, fresh: list[int], every: list[int]) -> None:
        if every and depth + 1 <= self.walk_depth:
            self.next = (self.rng.choice(every), depth + 1)


# ----- the loop -----------------------------------------------------------------------


@dataclass
class Options:
    strategy: str = "bfs"  # bfs | dfs | random
    max_states: int | None = None
    max_depth: int | None = None
    timeout: float | None = None
    deadlock: bool = False
    symmetry: bool = False
    properties: Sequence[str] | None = None  # None: every property
    seed: int = 0
    walks: int = 100
    walk_depth: int = 100
    record_graph: int = 0  # keep the whole graph if it has at most this many states
    progress: TextIO | None = None
    progress_every: float = 2.0
    measure_memory: bool = False
    check_determinism: int = 200  # re-expand this many states and compare
    on_codes: bool = True  # expand packed codes where the model offers it (Model.code_expander)


_Selected = tuple[list[Property], list[Property], list[Property], list[Refinement]]


def _select(model: Model[Any], names: Sequence[str] | None) -> _Selected:
    inv, some, steps = model.invariants, model.sometimes_properties, model.step_properties
    refs = model.refinements()
    if names is None:
        return inv, some, steps, refs
    known = {p.name for p in model.properties} | {r.name for r in refs} | {DEADLOCK}
    bad = [n for n in names if n not in known]
    if bad:
        raise KeyError(f"unknown property {bad[0]!r}; properties: {', '.join(sorted(known))}")
    pick = set(names)
    return ([p for p in inv if p.name in pick], [p for p in some if p.name in pick],
            [p for p in steps if p.name in pick], [r for r in refs if r.name in pick])


class _RefinementCheck:
    """A step property: every step maps to an abstract step or a stutter."""

    def __init__(self, ref: Refinement) -> None:
        self.ref = ref
        self.name = ref.name
        self.abstract = ref.abstract
        self.mapping = ref.mapping
        self.memo: dict[Any, frozenset[Any]] = {}
        self.inits = frozenset(ref.abstract.initial_states())
        self._last: Any = None
        self._last_x: Any = None

    def init_ok(self, s: Any) -> bool:
        return self.mapping(s) in self.inits

    def __call__(self, s: Any, a: Action, t: Any) -> bool:
        if s is not self._last:
            self._last, self._last_x = s, self.mapping(s)
        x, y = self._last_x, self.mapping(t)
        if x == y:
            return True
        succ = self.memo.get(x)
        if succ is None:
            succ = frozenset(u for _b, u in self.abstract.successors(x))
            self.memo[x] = succ
        return y in succ


class _SymmetryGuard:
    """What a symmetric run checks besides its properties (``symmetry_proof`` says why it suffices).

    Properties z3 proved invariant run as they are; the others are replaced by versions that
    evaluate every renaming of each state (or step) they are given.  ``perms`` are the renamings
    the transitions are spot-checked under (also when z3 proved them symmetric), at the first
    expanded states, or at ``every_state`` when a ``@step`` property is checked.
    """

    def __init__(self, model: Model[Any], canon: Canonicalizer, o: Options, invariants: list[Property],
                 sometimes: list[Property], step_props: list[Property], ref_checks: list[_RefinementCheck],
                 step_checks: list[tuple[str, Callable[[Any, Action, Any], bool]]]) -> None:
        self.canon = canon
        j = justify(model, canon, [*invariants, *sometimes], [r.ref for r in ref_checks], step_props)
        self.justification = j
        fallback = j.checked
        whole = group_elements(canon) if fallback else []
        # Even a z3 proof of the relation is about its formulas (tied by `conform`, not by every run),
        # so the Python successors are compared under every generator on the first expanded states too.
        self.perms: list[Any] = generators(canon)
        if self.perms:
            j.transitions += f"; checked under every generator on the first {o.check_determinism} expanded states"
        self.every_state = bool(step_props)
        if self.every_state:
            self.perms = whole
            j.transitions += "; checked under every renaming at every expanded state (a @step property)"

        cross = whole or (group_elements(canon) if group_size(canon) <= GROUP_LIMIT else generators(canon))

        def guarded(p: Property) -> Property:
            if p.name in fallback:
                return checked_on_every_state(p, model, canon, whole)
            return cross_checked(p, model, canon, cross, o.check_determinism)

        self.invariants = [guarded(p) for p in invariants]
        self.sometimes = [guarded(p) for p in sometimes]
        for r in ref_checks:
            if r.name in fallback:
                r.init_ok = checked_init(r.name, r.init_ok, model, canon, whole)  # type: ignore[method-assign,assignment]
        self.step_checks = [(n, checked_step(n, c, model, canon, whole)
                             if isinstance(c, _RefinementCheck) and n in fallback else c) for n, c in step_checks]


def explore(model: Model[Any], options: Options | None = None, **kw: Any) -> Result:
    """Check every property of ``model`` on every reachable state, within the budgets."""
    o = options or Options(**kw)
    invariants, sometimes, step_props, refinements = _select(model, o.properties)
    check_deadlock = o.deadlock and (o.properties is None or DEADLOCK in o.properties)
    step_checks: list[tuple[str, Callable[[Any, Action, Any], bool]]] = [(p.name, p.fn) for p in step_props]
    ref_checks = [_RefinementCheck(r) for r in refinements]
    step_checks += [(r.name, r) for r in ref_checks]

    stype = model.state_type
    canon = Canonicalizer(model) if o.symmetry else None
    guard: _SymmetryGuard | None = None
    if canon is not None:
        guard = _SymmetryGuard(model, canon, o, invariants, sometimes, step_props, ref_checks, step_checks)
        invariants, sometimes, step_checks = guard.invariants, guard.sometimes, guard.step_checks
    justification = guard.justification if guard is not None else None
    key: Callable[[Any], int] = canon.key if canon is not None else stype.packer(memo=False)
    unpack = stype.unpacker(memo=False)
    expand = model.expander()
    # Successors computed on codes where the model offers it (exact codes only: no symmetry).
    expand_code = model.code_expander() if canon is None and o.on_codes else None
    expansion = "packed codes" if expand_code is not None else "general: " + (
        "symmetry reduction" if canon is not None else "packed codes turned off" if not o.on_codes
        else model.general_path_reason() or "the model declined")
    families = model.action_families
    cov = [0] * len(families)
    stats = Stats()
    if o.measure_memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    deadline = t0 + o.timeout if o.timeout is not None else None
    next_report = t0 + o.progress_every

    parent: dict[int, int] = {}
    examples: dict[str, int | None] = {p.name: None for p in sometimes}
    pending = list(sometimes)
    graph_states: dict[int, Any] | None = {} if o.record_graph else None
    edges: list[tuple[int, str, int]] = []

    inits: list[int] = []
    init_states = _initial(model)
    by_code: dict[int, Any] = {}
    for s in init_states:
        try:
            c = key(s)
        except SchemaError as e:
            raise ModelError(f"initial state is outside the schema: {e}", s, None, traceback.format_exc()) from e
        if c in parent:
            continue
        parent[c] = -1
        inits.append(c)
        by_code[c] = s
        if graph_states is not None:
            graph_states[c] = s
    frontier: _BFS | _DFS | _Walks
    if o.strategy == "bfs":
        frontier = _BFS()
    elif o.strategy == "dfs":
        frontier = _DFS()
    elif o.strategy == "random":
        frontier = _Walks(o.seed, o.walks, o.walk_depth, inits)
    else:
        raise ValueError(f"unknown strategy {o.strategy!r}: bfs, dfs or random")

    def finish(verdict: str, prop: str | None = None, path: Path | None = None, bound: str | None = None) -> Result:
        stats.elapsed_s = time.perf_counter() - t0
        stats.distinct_states = len(parent)
        stats.coverage = dict(zip(families, cov, strict=True))
        stats.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if o.measure_memory:
            stats.peak_memory_bytes = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        ex = {name: (None if c is None else _path_to(model, key, parent, c)) for name, c in examples.items()}
        graph = None
        if graph_states is not None and len(graph_states) <= o.record_graph:
            graph = Graph(graph_states, edges, inits)
        return Result(model, verdict, stats, prop, path, bound, ex, o.strategy, o.symmetry, graph, justification,
                      expansion)

    # Initial states: properties and refinement.
    for c in inits:
        s = by_code[c]
        bad = _first_failing(invariants, s, None)
        if bad is not None:
            return finish(VIOLATED, bad, _path_to(model, key, parent, c))
        for r in ref_checks:
            if not r.init_ok(s):
                return finish(VIOLATED, r.name, _path_to(model, key, parent, c))
        pending = _note_examples(pending, examples, s, c)
        frontier.push(c, 0)

    expanded = 0
    hit_depth_bound = False
    while True:
        item = frontier.pop()
        if item is None:
            break
        code, depth = item
        if depth > stats.depth:
            stats.depth = depth
        # States at the depth bound are checked (deadlock, steps out of them) but their new
        # successors are not stored: the run is then bounded.
        at_bound = o.max_depth is not None and depth >= o.max_depth
        s = None
        states: list[Any] | None = None
        pairs: list[tuple[Action, int]] | None = None
        fast_error: Exception | None = None
        if expand_code is not None:
            try:
                pairs = expand_code(code)
            except Exception as e:
                fast_error = e  # the general path below reports it with its state and action
        if pairs is None:
            s = unpack(code)
            try:
                succ = expand(s)
            except Exception as e:
                raise _locate(model, s, e) from e
            pairs, states = [], []
            for a, t in succ:
                try:
                    pairs.append((a, key(t)))
                except SchemaError as e:
                    raise ModelError(f"the next state is outside the schema: {e}", s, a,
                                     traceback.format_exc()) from e
                states.append(t)
            if fast_error is not None:
                raise RuntimeError(
                    f"protoproof bug: expanding {s!r} on packed codes raised {fast_error!r}, on states it "
                    "did not; please report it"
                ) from fast_error
        if expanded < o.check_determinism:
            if s is None:
                s = unpack(code)
            _check_deterministic(model, expand, key, s, pairs, expand_code is not None)
            if guard is not None and guard.perms and not guard.every_state:
                check_symmetric(model, guard.canon, s, guard.perms, expand)
        if guard is not None and guard.every_state:
            if s is None:
                s = unpack(code)
            check_symmetric(model, guard.canon, s, guard.perms, expand, [(p.name, p.fn) for p in step_props])
        expanded += 1
        if not pairs and check_deadlock:
            return finish(VIOLATED, DEADLOCK, _path_to(model, key, parent, code))
        stats.transitions += len(pairs)
        fresh: list[int] = []
        every: list[int] = []
        if step_checks and s is None:
            s = unpack(code)
        for j, (a, c) in enumerate(pairs):
            cov[a.family] += 1
            every.append(c)
            t = None
            if at_bound and c not in parent:
                for name, chk in step_checks:
                    if t is None:
                        t = _state(states, j, unpack, c)
                    if not chk(s, a, t):
                        p = _path_to(model, key, parent, code)
                        return finish(VIOLATED, name, _extend(model, key, p, c, chk))
                hit_depth_bound = True
                continue
            if graph_states is not None:
                edges.append((code, repr(a), c))
                if c not in graph_states:
                    graph_states[c] = _state(states, j, unpack, c)
                    if len(graph_states) > o.record_graph:
                        graph_states = None
            for name, chk in step_checks:
                if t is None:
                    t = _state(states, j, unpack, c)
                if not chk(s, a, t):
                    p = _path_to(model, key, parent, code)
                    return finish(VIOLATED, name, _extend(model, key, p, c, chk))
            if c in parent:
                continue
            parent[c] = code
            fresh.append(c)
            if invariants or pending:
                if t is None:
                    t = _state(states, j, unpack, c)
                if invariants:
                    bad = _first_failing(invariants, t, a)
                    if bad is not None:
                        return finish(VIOLATED, bad, _path_to(model, key, parent, c))
                if pending:
                    pending = _note_examples(pending, examples, t, c)
        if not at_bound:
            frontier.successors(depth, fresh, every)
        if o.max_states is not None and len(parent) >= o.max_states:
            return finish(BOUNDED, bound=f"{o.max_states} states")
        now = time.perf_counter()
        if deadline is not None and now >= deadline:
            return finish(BOUNDED, bound=f"timeout {o.timeout:g}s")
        if now >= next_report:
            next_report = now + o.progress_every
            if o.progress is not None:
                rate = len(parent) / (now - t0)
                print(f"  {len(parent):,} states, {stats.transitions:,} transitions, depth {depth}, "
                      f"{rate:,.0f} states/s, {now - t0:.0f}s", file=o.progress, flush=True)
    if o.strategy == "random":
        return finish(BOUNDED, bound=f"{o.walks} random walks of depth {o.walk_depth}")
    if hit_depth_bound:
        return finish(BOUNDED, bound=f"depth {o.max_depth}")
    unreached = [k for k, v in examples.items() if v is None]
    if unreached:
        return finish(VIOLATED, unreached[0])
    return finish(EXHAUSTED)


def _initial(model: Model[Any]) -> list[Any]:
    try:
        return model.initial_states()
    except SchemaError as e:
        raise ModelError(f"an initial state is outside the schema: {e}", None, None, traceback.format_exc()) from e


def _first_failing(props: list[Property], s: Any, a: Action | None) -> str | None:
    for p in props:
        try:
            ok = p.fn(s)
        except AsymmetricDefinition:
            raise
        except Exception as e:
            raise ModelError(f"property {p.name} raised {type(e).__name__}: {e}", s, a,
                             traceback.format_exc()) from e
        if not ok:
            return p.name
    return None


def _note_examples(pending: list[Property], examples: dict[str, int | None], s: Any, c: int) -> list[Property]:
    left = []
    for p in pending:
        try:
            ok = p.fn(s)
        except AsymmetricDefinition:
            raise
        except Exception as e:
            raise ModelError(f"property {p.name} raised {type(e).__name__}: {e}", s, None,
                             traceback.format_exc()) from e
        if ok:
            examples[p.name] = c
        else:
            left.append(p)
    return left


def _locate(model: Model[Any], s: Any, err: Exception) -> ModelError:
    """Re-run the actions one by one to find which one raised, so the report names it."""
    try:
        _successors_one_by_one(model, s)
    except _Raised as r:
        return ModelError(f"the model raised {type(err).__name__}: {err}", s, r.action, r.tb)
    tb = "".join(traceback.format_exception(err))
    return ModelError(f"the model raised {type(err).__name__}: {err}", s, None, tb)


class _Raised(Exception):
    def __init__(self, action: Action | None, tb: str) -> None:
        self.action, self.tb = action, tb


def _successors_one_by_one(model: Model[Any], s: Any) -> list[tuple[Action, Any]]:
    out = []
    for a in model.actions():
        try:
            t = model.step(s, a)
        except Disabled:
            continue
        except Exception as e:
            raise _Raised(a, "".join(traceback.format_exception(e))) from e
        if t is not None:
            out.append((a, t))
    return out


def _state(states: list[Any] | None, j: int, unpack: Callable[[int], Any], c: int) -> Any:
    """The ``j``-th successor: kept by the general path, decoded from its code otherwise."""
    return states[j] if states is not None else unpack(c)


def _check_deterministic(model: Model[Any], expand: Callable[[Any], list[Any]], key: Callable[[Any], int],
                         s: Any, pairs: list[tuple[Action, int]], on_codes: bool) -> None:
    """Expand ``s`` again through the general path and compare: same actions, same codes."""
    again = [(a, key(t)) for a, t in expand(s)]
    if again != pairs:
        how = "on packed codes and on states" if on_codes else "twice"
        raise Nondeterminism(
            f"{model.name or type(model).__name__} is not deterministic: expanding {s!r} {how} gave "
            f"different successors ({pairs!r} then {again!r}); transitions must not use randomness, "
            "clocks, I/O or set iteration order"
        )


def _path_to(model: Model[Any], key: Callable[[Any], int], parent: dict[int, int], code: int) -> Path:
    chain = [code]
    while parent[chain[-1]] != -1:
        chain.append(parent[chain[-1]])
    chain.reverse()
    inits = [s for s in model.initial_states() if key(s) == chain[0]]
    if not inits:
        raise Nondeterminism("no initial state has the recorded code; init() is not deterministic")
    states, actions = [inits[0]], []
    for want in chain[1:]:
        for a, t in model.successors(states[-1]):
            if key(t) == want:
                states.append(t)
                actions.append(a)
                break
        else:
            raise Nondeterminism(
                f"re-running {model.name or type(model).__name__} from {states[-1]!r} did not reproduce a "
                "transition found during the search; transitions must be deterministic"
            )
    return Path(model, states, actions)


def _extend(model: Model[Any], key: Callable[[Any], int], p: Path, code: int,
            ok: Callable[[Any, Action, Any], bool]) -> Path:
    """The path extended by a step to ``code`` that fails the step check ``ok``."""
    for a, t in model.successors(p.last):
        if key(t) == code and not ok(p.last, a, t):
            return Path(model, [*p.states, t], [*p.actions, a])
    raise Nondeterminism("the violating step could not be reproduced; transitions must be deterministic")

