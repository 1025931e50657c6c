"""``bmc --solver cadical``: the same unrolling, bit-blasted once and solved by CaDiCaL.

z3 bit-blasts the relation afresh at every depth and solves with its own SAT core; on the larger
models both cost more than the search needs (measured in the README).  Here the bit-vector relation is
rewritten so that each step names one path (``frame_relation``), bit-blasted to CNF **once**
over the bits of a generic state pair, and each depth adds a renamed copy of those clauses to an
incremental CaDiCaL (python-sat).  "Some property fails at step ``k``" is an assumption literal,
so the solver keeps what it learnt across depths, as a hardware BMC does.

The CNF is z3's own bit-blasting of the relation the z3 path checks, rewritten into an equivalent
form (``frame_relation``; the tests prove the two equal), with each state bit a named variable,
so the verdict means the same; a model is decoded through the same ``decode`` and replayed
concretely, so a counterexample is checked exactly as z3's are.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import z3

#: ``--solver`` values.
Z3, CADICAL = "z3", "cadical"
SOLVERS = (Z3, CADICAL)

_SELECT = "⟨step⟩"  # the selector naming a step's path; no state variable is named so


def _flat(e: z3.ExprRef, op: Any) -> list[z3.ExprRef]:
    out, todo = [], [e]
    while todo:
        x = todo.pop()
        if op(x):
            todo.extend(reversed(x.children()))
        else:
            out.append(x)
    return out


def paths_of(actions: Sequence[z3.BoolRef]) -> list[z3.ExprRef]:
    """The disjuncts ``frame_relation`` gives a selector value each, in order."""
    return [d for a in actions for d in _flat(a, z3.is_or)]


def selector(n: int) -> z3.BitVecRef:
    """The variable naming which of ``n`` paths a step takes."""
    return z3.BitVec(_SELECT, max(1, (max(1, n) - 1).bit_length()))


def frame_relation(actions: Sequence[z3.BoolRef], rest: Sequence[z3.BoolRef], xs: Sequence[z3.ExprRef],
                   ys: Sequence[z3.ExprRef]) -> z3.BoolRef:
    """``Or(*actions) and And(*rest)`` with one selector naming the path a step takes, and one
    frame condition per variable: ``y = x`` unless the selected path may change ``y``.

    Each disjunct of an action (a path) is read as a conjunction; its equalities ``y = x`` become
    the frame, everything else stays under its selector.  Equivalent to the plain disjunction
    (the selector existentially quantified): under selector ``p`` the formula is ``p``'s other
    conjuncts and ``y = x`` for exactly the ``y`` that ``p`` keeps.  Written so, bit-blasting
    costs what each path changes instead of every variable times every path (on a model with a
    bag of 351 message counters: 6,000 equalities instead of 770,000).

    The conjuncts are walked on z3's C API and recognised by AST id (z3 shares equal terms, so
    ``y = x`` has one id): through z3py's wrappers the walk over the 800,000 conjuncts of that model
    took two minutes, far longer than bit-blasting the result."""
    paths = paths_of(actions)
    frame_of: dict[int, int] = {}  # the id of ``y = x`` (either way round) -> y's index
    for j, (x, y) in enumerate(zip(xs, ys, strict=True)):
        for e in (y == x, x == y):
            frame_of[e.get_id()] = j
    n = max(1, len(paths))
    sel = selector(n)
    width = sel.size()
    picks = [sel == k for k in range(len(paths))]
    changers: list[list[int]] = [[] for _ in ys]
    clauses: list[z3.BoolRef] = []
    everyone = set(range(len(ys)))
    for k, p in enumerate(paths):
        keep, kept = _split_frame(p, frame_of)
        for j in everyone - kept:
            changers[j].append(k)
        clauses.append(z3.Implies(picks[k], z3.And(*keep)))
    frame = [z3.Or(y == xs[j], *(picks[k] for k in changers[j]))
             for j, y in enumerate(ys) if len(changers[j]) < len(paths)]
    in_range = [z3.ULT(sel, n)] if n < (1 << width) else []
    return z3.And(*clauses, *frame, *in_range, *rest) if paths else z3.BoolVal(False)


def _split_frame(p: z3.ExprRef, frame_of: dict[int, int]) -> tuple[list[z3.BoolRef], set[int]]:
    """``p``'s conjuncts (nested ands flattened) that are not frame equalities, and the indices of
    the variables whose frame equality is among them."""
    ctx, c_ref = p.ctx, p.ctx_ref()
    keep: list[z3.BoolRef] = []
    kept: set[int] = set()
    todo = [p.as_ast()]
    while todo:
        a = todo.pop()
        if _is_and(c_ref, a):
            todo.extend(z3.Z3_get_app_arg(c_ref, a, i) for i in reversed(range(z3.Z3_get_app_num_args(c_ref, a))))
            continue
        j = frame_of.get(z3.Z3_get_ast_id(c_ref, a))
        if j is None:
            keep.append(z3.BoolRef(a, ctx))
        else:
            kept.add(j)
    return keep, kept


def _is_and(c_ref: Any, a: Any) -> bool:
    return bool(z3.Z3_get_ast_kind(c_ref, a) == z3.Z3_APP_AST
                and z3.Z3_get_decl_kind(c_ref, z3.Z3_get_app_decl(c_ref, a)) == z3.Z3_OP_AND)


@dataclass
class Template:
    """A CNF over local variables ``1..nvars``; ``named`` maps some of them to (role, key): bit
    ``key`` of the state in role ``role`` (a step's state, the next step's), or a mark's name."""

    clauses: list[list[int]]
    nvars: int
    named: dict[int, tuple[int, int | str]]


def _width(v: z3.ExprRef) -> int:
    if z3.is_bv(v):
        return int(v.size())
    assert z3.is_bool(v), f"a state variable that is neither a bit-vector nor a Boolean: {v}"
    return 1


def _bits(v: z3.ExprRef) -> list[z3.BoolRef]:
    if _width(v) == 1 and not z3.is_bv(v):
        return [v]
    name = v.decl().name()
    return [z3.Bool(f"{name}⟨{i}⟩") for i in range(v.size())]


def state_bits(state: Sequence[z3.ExprRef]) -> list[z3.BoolRef]:
    """A state's bits in a fixed order (a Boolean variable is its own bit)."""
    return [b for v in state for b in _bits(v)]


def blast(formulas: Sequence[z3.BoolRef], roles: Sequence[Sequence[z3.ExprRef]], marks: Sequence[str] = ()) -> Template:
    """The conjunction of ``formulas`` as CNF (z3's bit-blaster and Tseitin), with each bit of the
    states in ``roles`` and each Boolean named in ``marks`` a named variable (role ``len(roles)``)."""
    g = z3.Goal()
    g.add(*formulas)
    want: dict[str, tuple[int, int | str]] = {}
    for state in roles[1:]:  # a step's two states must line up bit for bit
        assert [_width(v) for v in state] == [_width(v) for v in roles[0]], "states of different widths"
    for r, state in enumerate(roles):
        for j, b in enumerate(state_bits(state)):
            want[b.decl().name()] = (r, j)
        for v in state:
            if z3.is_bv(v):
                for i, b in enumerate(_bits(v)):
                    g.add(b == (z3.Extract(i, i, v) == 1))
    for m in marks:
        want[m] = (len(roles), m)
    r = z3.Then("simplify", "bit-blast", "simplify", "tseitin-cnf")(g)
    assert len(r) == 1, "tseitin-cnf split the goal"
    out = r[0]
    if out.inconsistent():
        return Template([[]], 0, {})
    named: dict[int, tuple[int, int | str]] = {}
    clauses: list[list[int]] = []
    nvars = 0
    for line in out.dimacs(True).splitlines():
        if not line:
            continue
        if line[0] == "c":
            _c, num, name = line.split(" ", 2)
            if name in want:
                named[int(num)] = want[name]
        elif line[0] == "p":
            nvars = int(line.split()[2])
        else:
            clauses.append([int(t) for t in line.split()[:-1]])
    return Template(clauses, nvars, named)


class Unrolled:
    """Templates renamed into one incremental CaDiCaL: named bits by (step, name), others fresh."""

    def __init__(self) -> None:
        from pysat.solvers import Solver

        self.solver = Solver(name="cadical195")
        self.ids: dict[tuple[int, int | str], int] = {}
        self.top = 0

    def var(self, step: int, key: int | str) -> int:
        """The solver's variable for bit ``key`` (or mark) of step ``step``."""
        got = self.ids.get((step, key))
        if got is None:
            self.top += 1
            got = self.ids[(step, key)] = self.top
        return got

    def fresh(self) -> int:
        """A new variable of no step (an assumption's literal)."""
        self.top += 1
        return self.top

    def add(self, t: Template, at: Sequence[int], guard: int = 0) -> None:
        """Add ``t`` with role ``r`` at step ``at[r]``; unnamed variables fresh; ``guard``: only where
        that literal is true (each clause gets its negation)."""
        m = [0] * (t.nvars + 1)
        for local, (role, key) in t.named.items():
            m[local] = self.var(at[role], key)
        for local in range(1, t.nvars + 1):
            if not m[local]:
                self.top += 1
                m[local] = self.top
        add = self.solver.add_clause
        off = [-guard] if guard else []
        for c in t.clauses:
            add([*(m[x] if x > 0 else -m[-x] for x in c), *off])

    #: Conflicts per call into CaDiCaL, at first: a Ctrl-C or SIGTERM waits for the call to end, since
    #: CaDiCaL holds the GIL and python-sat cannot interrupt it.  ``next_budget`` then sizes each call
    #: to take about ``SLICE_S`` seconds, between ``SLICE_MIN`` and ``SLICE_MAX`` conflicts: at 50 steps
    #: of 660,000 clauses each, a fixed 20,000 took minutes, and a signal waited that long.
    SLICE = 2_000
    SLICE_MIN = 100
    SLICE_MAX = 200_000
    SLICE_S = 1.0

    @classmethod
    def next_budget(cls, budget: int, took_s: float) -> int:
        """The next call's conflicts after ``budget`` took ``took_s`` seconds: scaled toward ``SLICE_S``,
        at most doubled or quartered at once (a call's time varies), within the bounds."""
        factor = min(2.0, max(0.25, cls.SLICE_S / max(took_s, 1e-3)))
        return max(cls.SLICE_MIN, min(cls.SLICE_MAX, int(budget * factor)))

    def solve(self, assumptions: list[int]) -> bool:
        """CaDiCaL under ``assumptions``, in calls of a conflict budget on a worker thread.

        CaDiCaL holds the GIL while it runs, and python-sat, called from the main thread, swaps in
        its own SIGINT handler (after an interrupted call SIGINT stayed ignored, and a run so
        stopped once ended in a segmentation fault).  From a worker thread it installs none; between
        calls the main thread runs Python's handlers, and a ``KeyboardInterrupt`` there stops the
        worker at the end of its call.  CaDiCaL keeps what it learnt from one call to the next."""
        stop = threading.Event()
        box: dict[str, bool] = {}
        failed: list[BaseException] = []

        def run() -> None:
            budget = self.SLICE
            try:
                while not stop.is_set():
                    self.solver.conf_budget(budget)
                    t0 = time.perf_counter()
                    r = self.solver.solve_limited(assumptions=assumptions)
                    if r is not None:
                        box["r"] = bool(r)
                        return
                    budget = self.next_budget(budget, time.perf_counter() - t0)
            except BaseException as e:  # raised again in the caller's thread, as it is
                failed.append(e)

        th = threading.Thread(target=run, name="cadical", daemon=True)
        th.start()
        try:
            while th.is_alive():
                th.join(0.2)
        except KeyboardInterrupt:
            stop.set()
            th.join()
            raise
        if failed:
            raise failed[0]
        return box["r"]

    def values(self, k: int, state: Sequence[z3.ExprRef], true: set[int]) -> dict[str, z3.ExprRef]:
        """Step ``k``'s value of each variable of ``state`` (by name) in a model whose true variables
        are ``true``, read from its bits in ``blast``'s order; a bit in no clause reads as 0."""
        out: dict[str, z3.ExprRef] = {}
        j = 0
        for v in state:
            w = _width(v)
            n = sum(1 << i for i in range(w) if self.ids.get((k, j + i), 0) in true)
            j += w
            out[v.decl().name()] = z3.BitVecVal(n, w) if z3.is_bv(v) else z3.BoolVal(n == 1)
        return out

    def true_vars(self) -> set[int]:
        return {v for v in self.solver.get_model() or [] if v > 0}


__all__ = ["CADICAL", "SOLVERS", "Z3", "Template", "Unrolled", "blast", "frame_relation", "paths_of", "selector",
           "state_bits"]
