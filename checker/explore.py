"""The explicit-state checker: one search loop, three frontiers.

Breadth-first search (the default) returns shortest counterexamples; depth-first search and
seeded random walks differ only in the frontier (``frontiers.py``).  States are stored as their
exact packed code (``Type.pack``, a bijection onto ``range(size)``), so deduplication never
confuses two states, and a state costs one Python int plus one dict entry (its parent's code);
paths are rebuilt by replaying the transitions forward from the initial state.  What a run
checks, and how model code raising becomes a ``ModelError``, is ``checks.py``.  Where it applies
(``Options.engine``, ``vector.declined``), the vector engine of ``vector.py`` runs the same check
a whole BFS level at a time, with the same result; ``Result.engine`` says which one ran.
"""

from __future__ import annotations

import dataclasses
import resource
import time
import traceback
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from ..models.base import Action, Model
from ..models.schema import SchemaError
from . import interrupt, liveness
from .checks import DEADLOCK, OWN, Checks, RefinementCheck, first_failing, note_examples
from .code_view import GaveUp, Views, code_layout_of
from .errors import ConstraintError, ModelError, Nondeterminism, model_error, raising_step
from .frontiers import frontier
from .liveness import EdgeStore
from .path import Path
from .symmetry import AsymmetricDefinition, SymmetryError, check_symmetric
from .symmetry_proof import Justification
from .verdict import BOUNDED, EXHAUSTED, VIOLATED

if TYPE_CHECKING:
    from .parallel import Scale

#: The strategies that sample by walks: ending without a violation is ``bounded``.
WALKS = ("random", "swarm")
#: ``Options.engine``: the vector engine where it applies, or one of them for sure.
ENGINES = ("auto", "vector", "scalar")

__all__ = ["DEADLOCK", "ENGINES", "Graph", "ModelError", "Nondeterminism", "Options", "Result", "Stats", "explore"]


@dataclass
class Stats:
    distinct_states: int = 0
    transitions: int = 0
    depth: int = 0
    elapsed_s: float = 0.0
    coverage: dict[str, int] = field(default_factory=dict)
    peak_memory_bytes: int | None = None  # traced Python allocations (Options.measure_memory)
    peak_rss_bytes: int = 0  # the process's peak resident set size at the end of the run
    edges_stored: int = 0  # liveness: edges kept for the SCC search (0: no liveness checked)
    edge_bytes: int = 0  # liveness: bytes of the packed edge arrays
    liveness_bytes: int = 0  # liveness: the whole edge store (edges, per-state ranges, id map)
    liveness_s: float = 0.0  # liveness: time of the SCC search after the exploration

    @property
    def bytes_per_edge(self) -> float:
        return self.edge_bytes / self.edges_stored if self.edges_stored else 0.0

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
    liveness: str = ""  # which liveness properties were checked, or why they were not
    engine: str = "scalar"  # "vector", or "scalar" with why the vector engine did not run
    shortened_from: int | None = None  # a non-BFS counterexample's length before ``shorten`` (None: not shortened)
    shorten_s: float = 0.0  # the time ``shorten`` took
    constraint: str | None = None  # the user's ``Options.constraint``: only the states it allows were explored

    def unreached(self) -> list[str]:
        """``@sometimes`` properties no visited state satisfied."""
        return [k for k, v in self.examples.items() if v is None]


@dataclass
class Graph:
    """The explored state graph (small spaces only): codes, edges and the states."""

    states: dict[int, Any]
    edges: list[tuple[int, str, int]]
    initial: list[int]


# ----- the loop -----------------------------------------------------------------------


@dataclass
class Options:
    strategy: str = "bfs"  # bfs | dfs | random | swarm | novelty
    max_states: int | None = None
    max_depth: int | None = None
    timeout: float | None = None
    deadlock: bool = False
    symmetry: bool = False
    properties: Sequence[str] | None = None  # None: every property
    seed: int = 0
    walks: int = 100
    walk_depth: int = 100
    walk_fresh: bool = False  # a walk's step prefers successors never seen before (``frontiers.Walks``)
    width: int = 2  # strategy novelty: expand a state only if it makes some set of this many atoms new
    shorten: float = 10.0  # seconds to shorten a counterexample of a non-BFS search (``shorten.py``); 0: off
    record_graph: int = 0  # keep the whole graph if it has at most this many states
    progress: TextIO | None = None
    progress_every: float = 2.0
    measure_memory: bool = False
    check_determinism: int = 200  # re-expand this many states and compare
    on_codes: bool = True  # expand packed codes where the model offers it (Model.code_expander)
    code_views: bool = True  # on packed codes, evaluate refinements and properties per the bits they read
    liveness: bool = True  # check the model's liveness properties (keeps the graph's edges)
    interruptible: bool = False  # Ctrl-C ends the run as bounded, with what was reached (the CLI's choice)
    engine: str = "auto"  # auto (vector where it applies) | vector (refused where it does not) | scalar
    scale: Scale | None = None  # workers, Ray, checkpoint/resume, memory budget: the partitioned search
    #: A Python expression over the state ``s`` (``checker/constraint.py``): successors failing it are
    #: discarded, as by a TLC CONSTRAINT; the search is then partial, never ``exhausted``.
    constraint: str | None = None

    def __post_init__(self) -> None:
        """The budgets the command line refuses, refused here too: ``max_states=0`` once ran and said
        ``bounded`` after the initial states."""
        at_least = {"max_states": 1, "max_depth": 0, "walks": 1, "walk_depth": 1, "width": 1, "check_determinism": 0}
        for name, lo in at_least.items():
            v = getattr(self, name)
            if v is not None and v < lo:
                raise ValueError(f"Options.{name} must be at least {lo}, not {v!r}")
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"Options.timeout must be a positive number of seconds, not {self.timeout!r}")
        if self.shorten < 0:
            raise ValueError(f"Options.shorten must be at least 0, not {self.shorten!r}")


def explore(model: Model[Any], options: Options | None = None, **kw: Any) -> Result:
    """Check every property of ``model`` on every reachable state, within the budgets."""
    o = options or Options(**kw)
    if o.engine not in ENGINES:
        raise KeyError(f"unknown engine {o.engine!r}; engines: {', '.join(ENGINES)}")
    unbounded = o.max_states is None and o.max_depth is None and o.timeout is None and o.strategy not in WALKS
    too_big = model.enumeration_refusal() if unbounded else None
    if too_big is not None:
        raise KeyError(f"{too_big} (or bound the run: --max-states, --max-depth, --timeout)")
    if o.constraint is not None:
        model, o = _constrain(model, o)
    if o.scale is not None:
        from .parallel import partitioned

        return partitioned(model, o)
    why = "--constraint" if o.constraint is not None else "asked for" if o.engine == "scalar" else ""
    if o.engine != "scalar":
        from . import vector

        try:
            return vector.run(model, o)
        except vector.Declined as e:
            if o.engine == "vector":
                raise KeyError(f"--engine vector cannot run this check: {e}; use --engine auto or scalar") from None
            why = str(e)
        except vector.Fallback as e:
            why = f"the vector engine stopped: {e}"
    run = _Run(model, o)
    try:
        found = run.start()
        while found is None:
            item = run.frontier.pop()
            if item is None:
                found = run.end()
                break
            code, depth = item
            s, pairs, states = run.expand(code)
            found = run.visit(code, depth, s, pairs, states) or run.out_of_budget(depth)
    except KeyboardInterrupt:
        if not o.interruptible:
            raise
        found = run.finish(BOUNDED, bound=f"{time.perf_counter() - run.t0:.1f}s (interrupted by {interrupt.cause()})")
    found.engine = f"scalar ({why})"
    if found.verdict == VIOLATED and found.path is not None and o.strategy != "bfs" and o.shorten > 0:
        _shorten(found, o.shorten)
    return found


def _constrain(model: Model[Any], o: Options) -> tuple[Model[Any], Options]:
    """The model with the user's constraint, and the options it allows (``KeyError``: a conflict).

    One process, the scalar engine, no symmetry (the constraint need not be symmetric), no
    deadlocks (a state whose successors the constraint discards is no deadlock of the model) and
    no liveness (a step the constraint discards would look disabled to fairness)."""
    from .constraint import constrained

    assert o.constraint is not None
    deadlock = o.deadlock or DEADLOCK in (o.properties or ())
    for on, flag in ((o.scale is not None, "--workers/--ray/--checkpoint/--resume/--memory"),
                     (o.symmetry, "--symmetry"), (deadlock, "--deadlock (or --property deadlock)"),
                     (o.engine == "vector", "--engine vector")):
        if on:
            raise KeyError(f"--constraint cannot be combined with {flag}")
    try:
        m = constrained(model, o.constraint)
    except ValueError as e:
        raise KeyError(str(e)) from None
    return m, dataclasses.replace(o, engine="scalar", liveness=False)


def _shorten(found: Result, budget_s: float) -> None:
    """Replace a non-BFS counterexample by a shorter one that breaks the same property (``shorten.py``)."""
    from .shorten import shorten, shortenable

    path, prop = found.path, found.property
    assert path is not None and prop is not None
    if not shortenable(found.model, path, prop):
        return
    t = time.perf_counter()
    try:
        short = shorten(found.model, path, prop, budget_s)
    except ConstraintError:
        return  # the user's --constraint raised on a state the search never reached: keep the path found
    found.shorten_s = time.perf_counter() - t
    found.shortened_from = len(path)
    found.path = short


class _Run:
    """One search: what was reached and from where, the coverage, and how to report the end."""

    def __init__(self, model: Model[Any], o: Options) -> None:
        self.model, self.o = model, o
        self.checks = checks = Checks(model, o.properties, o.deadlock, o.symmetry, o.check_determinism)
        canon = checks.canon
        stype = model.state_type
        self.key: Callable[[Any], int] = canon.key if canon is not None else stype.packer(memo=False)
        self.unpack = stype.unpacker(memo=False)
        self.expand_states = model.expander()
        # Successors computed on codes where the model offers it (exact codes only: no symmetry).
        self.expand_code = model.code_expander() if canon is None and o.on_codes else None
        # The second look at the first states: the states' expander behind codes, else every action
        # instance run again (an expander may keep handlers' results: a second call would not run them).
        self.recheck: Callable[[Any], list[tuple[Action, Any]]] = (
            self.expand_states if self.expand_code is not None else lambda s: list(model.successors(s)))
        self.expansion = "packed codes" if self.expand_code is not None else "general: " + (
            "symmetry reduction" if canon is not None else "packed codes turned off" if not o.on_codes
            else model.general_path_reason() or "the model declined")
        self.families = model.action_families
        self.cov = [0] * len(self.families)
        self.stats = Stats()
        if o.measure_memory:
            tracemalloc.start()
        self.t0 = time.perf_counter()
        self.deadline = self.t0 + o.timeout if o.timeout is not None else None
        self.next_report = self.t0 + o.progress_every
        self.parent: dict[int, int] = {}
        self.examples: dict[str, int | None] = {p.name: None for p in checks.sometimes}
        self.pending = list(checks.sometimes)
        self.graph_states: dict[int, Any] | None = {} if o.record_graph else None
        self.edges: list[tuple[int, str, int]] = []
        self.inits: list[int] = []
        self.expanded = 0
        self.hit_depth_bound = False
        self.live: EdgeStore | None = None
        self.live_ran = False
        self.vacuous: list[str] = []  # @leads_to properties whose premise no stored state satisfied
        self.liveness_note = self._liveness_plan()
        self.views = self._views()

    def _views(self) -> Views | None:
        """Refinements and properties evaluated on codes (per the bits they read) where successors
        are found on codes and every step check is a refinement; None: on decoded states."""
        checks = self.checks
        if not self.o.code_views or self.expand_code is None:
            return None
        if not all(isinstance(c, RefinementCheck) for _n, c in checks.step_checks):
            return None
        layout = code_layout_of(self.model.state_type)
        if layout is None:
            return None
        refs = [c for _n, c in checks.step_checks]
        return Views(layout, self.unpack, refs, [*checks.invariants, *checks.sometimes])

    def start(self) -> Result | None:
        """Store and check the initial states; a violation among them ends the run at once."""
        by_code: dict[int, Any] = {}
        for s in _initial(self.model):
            try:
                c = self.key(s)
            except SchemaError as e:
                raise ModelError(f"initial state is outside the schema: {e}", s, None, traceback.format_exc()) from e
            if c in self.parent:
                continue
            self.parent[c] = -1
            self.inits.append(c)
            if self.live is not None:
                self.live.add_initial(c)
            by_code[c] = s
            if self.graph_states is not None:
                self.graph_states[c] = s
        o = self.o
        unpack, describe = self.unpack, self.model.describe_state
        self.frontier = frontier(o.strategy, o.seed, o.walks, o.walk_depth, self.inits, o.walk_fresh, o.width,
                                 lambda c: describe(unpack(c)))
        for c in self.inits:
            s = by_code[c]
            bad = self.checks.initial_failing(s)
            if bad is not None:
                return self.finish(VIOLATED, bad, self.path_to(c))
            self.pending = note_examples(self.pending, self.examples, s, c)
            self.frontier.push(c, 0)
        return None

    def expand(self, code: int) -> tuple[Any, list[tuple[Action, int]], list[Any] | None]:
        """The successors of ``code`` as (action, code) pairs, with the state and the successor
        states where the general path decoded them (None otherwise)."""
        s = None
        states: list[Any] | None = None
        pairs: list[tuple[Action, int]] | None = None
        fast_error: Exception | None = None
        if self.expand_code is not None:
            try:
                pairs = self.expand_code(code)
            except Exception as e:
                fast_error = e  # the general path below reports it with its state and action
        if pairs is None:
            s = self.unpack(code)
            pairs, states = self._expand_state(s)
            if fast_error is not None:
                raise RuntimeError(
                    f"protoproof bug: expanding {s!r} on packed codes raised {fast_error!r}, on states it "
                    "did not; please report it"
                ) from fast_error
        guard = self.checks.guard
        n = self.o.check_determinism
        if self.expanded < n or (n and self.expanded % _RECHECK_EVERY == 0):
            if s is None:
                s = self.unpack(code)
            _check_deterministic(self.model, self.recheck, self.key, s, pairs, self.expand_code is not None,
                                 self.unpack)
            if guard is not None and guard.perms and not guard.every_state:
                check_symmetric(self.model, guard.canon, s, guard.perms, self.expand_states)
        if guard is not None and guard.every_state:
            if s is None:
                s = self.unpack(code)
            steps = [(p.name, p.fn) for p in self.checks.step_props]
            mine = None if states is None else [(a, t) for (a, _c), t in zip(pairs, states, strict=True)]
            try:
                check_symmetric(self.model, guard.canon, s, guard.perms, self.expand_states, steps, mine)
            except (AsymmetricDefinition, SymmetryError):
                raise
            except Exception as e:
                raise model_error("a step property (on a renamed state)", e, s, None) from e
        self.expanded += 1
        return s, pairs, states

    def _expand_state(self, s: Any) -> tuple[list[tuple[Action, int]], list[Any]]:
        try:
            succ = self.expand_states(s)
        except Exception as e:
            raise _locate(self.model, s, e) from e
        pairs, states = [], []
        for a, t in succ:
            try:
                pairs.append((a, self.key(t)))
            except SchemaError as e:
                raise ModelError(f"the next state is outside the schema: {e}", s, a, traceback.format_exc()) from e
            states.append(t)
        return pairs, states

    def visit(self, code: int, depth: int, s: Any, pairs: list[tuple[Action, int]],
              states: list[Any] | None) -> Result | None:
        """Check the steps out of ``code`` and store the new states; a violation ends the run.

        States at the depth bound are checked (deadlock, steps out of them) but their new
        successors are not stored: the run is then bounded.
        """
        views = self.views
        if views is not None and states is None and self.graph_states is None:
            try:
                refs = views.steps(code, [c for _a, c in pairs])
            except GaveUp:
                refs = self.views = None
            if refs is not None:
                return self._visit_codes(code, depth, s, pairs, refs)
        arrived = self._arrive(code, depth, s, pairs)
        if arrived is not None:
            return arrived
        at_bound = self.o.max_depth is not None and depth >= self.o.max_depth
        parent, cov, unpack = self.parent, self.cov, self.unpack
        step_checks, invariants, pending = self.checks.step_checks, self.checks.invariants, self.pending
        graph_states = self.graph_states
        fresh: list[int] = []
        every: list[int] = []
        if step_checks and s is None:
            s = unpack(code)
        for j, (a, c) in enumerate(pairs):
            cov[a.family] += 1
            every.append(c)
            t = None
            beyond = at_bound and c not in parent
            if graph_states is not None and not beyond:
                graph_states = self._record_edge(code, a, c, states, j)
            if step_checks:
                t = _state(states, j, unpack, c)
                failed = None
                try:  # inline: it runs for every transition (a try costs nothing until it raises)
                    for name, chk in step_checks:  # noqa: B007 - the name is reported after the loop
                        if not chk(s, a, t):
                            failed = chk
                            break
                except OWN:
                    raise
                except Exception as e:
                    raise model_error(f"step property {name}", e, s, a) from e
                if failed is not None:
                    return self.finish(VIOLATED, name, _extend(self.model, self.key, self.path_to(code), c, failed))
            if beyond:
                self.hit_depth_bound = True
                continue
            if c in parent:
                continue
            parent[c] = code
            fresh.append(c)
            if invariants or pending:
                if t is None:
                    t = _state(states, j, unpack, c)
                if invariants:
                    bad = first_failing(invariants, t, a)
                    if bad is not None:
                        return self.finish(VIOLATED, bad, self.path_to(c))
                if pending:
                    pending = self.pending = note_examples(pending, self.examples, t, c)
        if not at_bound:
            self.frontier.successors(depth, fresh, every, pairs)
        return None

    def _arrive(self, code: int, depth: int, s: Any, pairs: list[tuple[Action, int]]) -> Result | None:
        """What every visited state does first, on either path: depth, the liveness graph, deadlock."""
        if depth > self.stats.depth:
            self.stats.depth = depth
        if self.live is not None:
            self.live.add(code, pairs)
        if not pairs and self.checks.deadlock and not self._terminal(code, s):
            return self.finish(VIOLATED, DEADLOCK, self.path_to(code))
        self.stats.transitions += len(pairs)
        return None

    def _visit_codes(self, code: int, depth: int, s: Any, pairs: list[tuple[Action, int]],
                     refs: list[tuple[str, Any, Any, list[Any]]]) -> Result | None:
        """``visit`` with the refinements' abstract values and the properties taken on codes
        (``Views``): no state is decoded unless a check fails or a view cannot say."""
        arrived = self._arrive(code, depth, s, pairs)
        if arrived is not None:
            return arrived
        at_bound = self.o.max_depth is not None and depth >= self.o.max_depth
        parent, cov = self.parent, self.cov
        invariants = self.checks.invariants
        fresh: list[int] = []
        every: list[int] = []
        for j, (a, c) in enumerate(pairs):
            cov[a.family] += 1
            every.append(c)
            for name, chk, x, ys in refs:
                y = ys[j]
                if x != y and not self._allows(chk, x, y, code, a):
                    return self.finish(VIOLATED, name, _extend(self.model, self.key, self.path_to(code), c, chk))
            if at_bound and c not in parent:
                self.hit_depth_bound = True
                continue
            if c in parent:
                continue
            parent[c] = code
            fresh.append(c)
            if invariants:
                bad = self._failing_on_code(c, a)
                if bad is not None:
                    return self.finish(VIOLATED, bad, self.path_to(c))
            if self.pending:
                self._note_on_code(c)
        if not at_bound:
            self.frontier.successors(depth, fresh, every, pairs)
        return None

    def _allows(self, chk: RefinementCheck, x: Any, y: Any, code: int, a: Action) -> bool:
        try:
            return chk.allows(x, y)
        except ModelError:
            return chk.allows(x, y, self.unpack(code), a)  # raises again, with the state to report

    def _failing_on_code(self, c: int, a: Action) -> str | None:
        """``first_failing`` of the invariants on the state of ``c``, decoded only if one may fail."""
        views = self.views
        assert views is not None
        if all(views.holds(p.name, c) for p in self.checks.invariants):
            return None
        return first_failing(self.checks.invariants, self.unpack(c), a)

    def _note_on_code(self, c: int) -> None:
        """``note_examples`` on the state of ``c``, decoded only if a view cannot say."""
        views = self.views
        assert views is not None
        got = [views.holds(p.name, c) for p in self.pending]
        if None in got:
            self.pending = note_examples(self.pending, self.examples, self.unpack(c), c)
            return
        left = []
        for p, ok in zip(self.pending, got, strict=True):
            if ok:
                self.examples[p.name] = c
            else:
                left.append(p)
        self.pending = left

    def _record_edge(self, code: int, a: Action, c: int, states: list[Any] | None, j: int) -> dict[int, Any] | None:
        """Keep the edge in the state graph; the graph, or None once it grew beyond ``record_graph``."""
        graph = self.graph_states
        assert graph is not None
        self.edges.append((code, repr(a), c))
        if c not in graph:
            graph[c] = _state(states, j, self.unpack, c)
            if len(graph) > self.o.record_graph:
                self.graph_states = None
        return self.graph_states

    def out_of_budget(self, depth: int) -> Result | None:
        """End the run as bounded when a budget is spent; report progress now and then."""
        o = self.o
        if o.max_states is not None and len(self.parent) >= o.max_states:
            return self.finish(BOUNDED, bound=f"{o.max_states} states")
        now = time.perf_counter()
        interrupt.check()  # a Ctrl-C whose exception was swallowed still ends the run
        if self.deadline is not None and now >= self.deadline:
            return self.finish(BOUNDED, bound=f"timeout {o.timeout:g}s")
        if now >= self.next_report:
            self.next_report = now + o.progress_every
            if o.progress is not None:
                rate = len(self.parent) / (now - self.t0)
                print(f"  {len(self.parent):,} states, {self.stats.transitions:,} transitions, depth {depth}, "
                      f"{rate:,.0f} states/s, {now - self.t0:.0f}s", file=o.progress, flush=True)
        return None

    def _terminal(self, code: int, s: Any) -> bool:
        """Whether the state without successors is a declared proper end (``@terminal``)."""
        if s is None:
            s = self.unpack(code)
        try:
            return self.model.is_terminal(s)
        except OWN:
            raise
        except Exception as e:
            raise model_error("the @terminal predicate", e, s, None) from e

    def _liveness_plan(self) -> str:
        """Start keeping edges if liveness is checked; say what is checked, or why not."""
        props = self.checks.liveness
        if not props:
            return ""
        names = ", ".join(p.name for p in props)
        if self.o.constraint is not None:
            return f"not checked under --constraint (a discarded step would look disabled to fairness): {names}"
        if not self.o.liveness:
            return f"not checked (turned off): {names}"
        if self.o.symmetry and self.o.properties is not None:
            raise KeyError(f"liveness properties ({names}) are not checked under --symmetry (a reduced graph can "
                           "hide or invent fair cycles); drop --symmetry or name only safety properties")
        if self.o.symmetry:
            return (f"not checked under --symmetry (a reduced graph can hide or invent fair cycles): {names}; "
                    "run without --symmetry to check them")
        self.model.fairness_by_family()  # a bad fairness declaration fails now, not after the search
        self.live = EdgeStore(self.model)
        return f"checked on the full graph: {names}"

    def _liveness(self) -> Result | None:
        """A violated liveness property with its lasso (sound on a cut graph too: only expanded
        states, with all their edges, form loops and deadlocks); None if none was found."""
        if self.live is None:
            return None
        t = time.perf_counter()
        self.live_ran = True
        found = liveness.check(self.model, self.live, self.checks.liveness, self.unpack, self.key, self.vacuous)
        self.stats.liveness_s = time.perf_counter() - t
        if found is None:
            return None
        return self.finish(VIOLATED, found[0], found[1])

    def end(self) -> Result:
        """The verdict of a run whose frontier emptied."""
        o = self.o
        pruned = getattr(self.frontier, "pruned", 0)  # novelty: states stored but not expanded
        if o.strategy in WALKS or self.hit_depth_bound or pruned:
            live = self._liveness()
            if live is not None:
                return live
            if o.strategy in WALKS:
                how = "swarm walks" if o.strategy == "swarm" else "random walks"
                return self.finish(BOUNDED, bound=f"{o.walks} {how} of depth {o.walk_depth}")
            if pruned:
                atoms = f"{o.width} atom{'' if o.width == 1 else 's'}"
                return self.finish(BOUNDED, bound=f"a novelty search of width {o.width}: {pruned:,} states that "
                                   f"made no set of at most {atoms} new were not expanded")
            return self.finish(BOUNDED, bound=f"depth {o.max_depth}")
        unreached = [k for k, v in self.examples.items() if v is None]
        if unreached:
            return self.finish(VIOLATED, unreached[0])
        return self._liveness() or self.finish(EXHAUSTED)

    def path_to(self, code: int) -> Path:
        return _path_to(self.model, self.key, self.parent, code)

    def finish(self, verdict: str, prop: str | None = None, path: Path | None = None,
               bound: str | None = None) -> Result:
        o, stats = self.o, self.stats
        guard = self.checks.guard
        if guard is not None and guard.assumed and (verdict == EXHAUSTED or (verdict == VIOLATED and path is None)):
            # A reduced search under an assumed symmetry may have missed orbits: neither "every reachable
            # state was checked" nor "no reachable state satisfies this @sometimes" is then a promise.
            verdict, prop, bound = BOUNDED, None, guard.assumed
        if o.constraint is not None and (verdict == EXHAUSTED or (verdict == VIOLATED and path is None)):
            # Only the states the constraint allows were seen: neither promise above holds either.
            verdict, prop, bound = BOUNDED, None, f"the states --constraint {o.constraint!r} allows"
        stats.elapsed_s = time.perf_counter() - self.t0
        stats.distinct_states = len(self.parent)
        stats.coverage = dict(zip(self.families, self.cov, strict=True))
        stats.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if self.live is not None:
            stats.edges_stored, stats.edge_bytes = self.live.edges, self.live.edge_bytes
            stats.liveness_bytes = self.live.nbytes
        if o.measure_memory:
            stats.peak_memory_bytes = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        ex = {name: (None if c is None else self.path_to(c)) for name, c in self.examples.items()}
        graph = None
        if self.graph_states is not None and len(self.graph_states) <= o.record_graph:
            graph = Graph(self.graph_states, self.edges, self.inits)
        return Result(self.model, verdict, stats, prop, path, bound, ex, o.strategy, o.symmetry, graph,
                      self.checks.justification, self.expansion, self._liveness_verdict(verdict, prop),
                      constraint=o.constraint)

    def _liveness_verdict(self, verdict: str, prop: str | None) -> str:
        """``liveness`` of the result: what was checked, qualified by how the run ended."""
        note = self.liveness_note
        if self.live is None or not note:
            return note
        if verdict == VIOLATED and prop in {p.name for p in self.checks.liveness}:
            return note
        if verdict == BOUNDED:
            return note.replace("checked on the full graph", "no fair lasso in the explored part" if self.live_ran
                                else "not checked (the run was cut)")
        if verdict == VIOLATED:
            return note.replace("checked on the full graph", "not checked (the run stopped at a violation)")
        if self.vacuous:
            note += (f"; VACUOUS: the premise of {', '.join(self.vacuous)} holds in no reachable state, so "
                     "it was checked on nothing (widen the bounds or change the parameters)")
        return note


def _initial(model: Model[Any]) -> list[Any]:
    try:
        return model.initial_states()
    except SchemaError as e:
        raise ModelError(f"an initial state is outside the schema: {e}", None, None, traceback.format_exc()) from e


def _locate(model: Model[Any], s: Any, err: Exception) -> ModelError:
    """Re-run the actions one by one to find which one raised, so the report names it."""
    if isinstance(err, ConstraintError):
        return model_error("", err, s, None)  # the user's expression: its message says it all
    a, e = raising_step(model, s) or (None, err)
    # chain=False: re-run inside the handler of ``err``, ``e`` has it as context -- the same error twice.
    return ModelError(f"the model raised {type(err).__name__}: {err}", s, a,
                      "".join(traceback.format_exception(e, chain=False)))


def _state(states: list[Any] | None, j: int, unpack: Callable[[int], Any], c: int) -> Any:
    """The ``j``-th successor: kept by the general path, decoded from its code otherwise."""
    return states[j] if states is not None else unpack(c)


#: After the first ``Options.check_determinism`` states, one expanded state in this many is
#: re-expanded too, so a model whose randomness shows only deep in the run is still likely caught.
_RECHECK_EVERY = 997


def _check_deterministic(model: Model[Any], expand: Callable[[Any], list[Any]], key: Callable[[Any], int],
                         s: Any, pairs: list[tuple[Action, int]], on_codes: bool,
                         unpack: Callable[[int], Any] | None = None) -> None:
    """Expand ``s`` again through the general path and compare: same actions, same codes."""
    succ = expand(s)
    again = [(a, key(t)) for a, t in succ]
    if again != pairs:
        how = "on packed codes and on states" if on_codes else "twice"
        first = [f"{a!r} -> {unpack(c) if unpack is not None else f'<state {c}>'!r}" for a, c in pairs]
        second = [f"{a!r} -> {t!r}" for a, t in succ]
        raise Nondeterminism(
            f"{model.display_name} is not deterministic: expanding {s!r} {how} gave different successors "
            f"([{', '.join(first)}] then [{', '.join(second)}]); transitions must not use randomness, "
            "clocks, I/O or set iteration order"
        )


def _path_to(model: Model[Any], key: Callable[[Any], int], parent: dict[int, int], code: int) -> Path:
    chain = [code]
    while parent[chain[-1]] != -1:
        chain.append(parent[chain[-1]])
    chain.reverse()
    return path_from_chain(model, key, chain)


def path_from_chain(model: Model[Any], key: Callable[[Any], int], chain: list[int]) -> Path:
    """The path through the states of codes ``chain`` (from an initial state), replayed forward."""
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
                f"re-running {model.display_name} from {states[-1]!r} did not reproduce a "
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

