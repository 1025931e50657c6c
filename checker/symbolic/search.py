"""Path search: the oracle that answers Python's truth questions, and the explorer that forks.

Whenever Python needs a truth value of a z3 term (``if``, ``and``, ``in`` ...), the oracle
answers from a replay prefix and records the decision; ``explore`` re-runs the function with
the last open decision flipped until every path is known, so a function becomes a finite list
of ``(path condition, result)`` pairs (``SymPath``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from ...models.base import Disabled
from ...models.effects import BoundExceeded
from .. import interrupt
from .logic import BoolLike, Nondeterminism, PathExplosion, SymbolicError, b_and, to_z3

# ----- the path oracle -------------------------------------------------------------------


class _Oracle:
    """Answers truth questions for one run of a function (a replay prefix, then True)."""

    __slots__ = ("background", "conds", "keep", "label", "memo", "prefix", "prev", "solver", "values")

    def __init__(self, label: str, prefix: Sequence[bool], prev: Sequence[z3.BoolRef],
                 solver: z3.Solver | None = None, background: BoolLike = True) -> None:
        self.label = label
        self.background = background  # the type invariant: what ``int_range`` may assume
        self.prefix = prefix
        self.prev = prev
        self.conds: list[z3.BoolRef] = []
        self.values: list[bool] = []
        self.memo: dict[int, bool] = {}
        self.keep: list[z3.ExprRef] = []  # z3 reuses the ids of dead terms: keep memo keys alive
        #: Pruning (``explore(..., prune=True)``): holds the background and this run's path
        #: condition so far, one scope per decision; a new decision takes its first answer
        #: (True) only if that is consistent, else False.
        self.solver = solver

    def decide(self, c: z3.BoolRef) -> bool:
        if z3.is_true(c):
            return True
        if z3.is_false(c):
            return False
        cid = c.get_id()
        v = self.memo.get(cid)
        if v is not None:
            return v
        k = len(self.conds)
        if k < len(self.prefix):
            if self.prev[k].get_id() != cid:
                raise Nondeterminism(
                    f"{self.label} asked {c} where an earlier run with the same answers asked "
                    f"{self.prev[k]}: the function is not deterministic (randomness, global state, "
                    "set iteration order?)"
                )
            v = self.prefix[k]
        elif self.solver is not None:
            self.solver.push()
            self.solver.add(c)
            v = maybe(self.solver)  # unknown: keep the branch (sound, not pruned)
            self.solver.pop()
        else:
            v = True
        if self.solver is not None:
            self.solver.push()
            self.solver.add(c if v else z3.Not(c))
        self.conds.append(c)
        self.values.append(v)
        self.memo[cid] = v
        if z3.is_not(c):
            self.memo[c.arg(0).get_id()] = not v
        else:
            neg = z3.Not(c)
            self.keep.append(neg)
            self.memo[neg.get_id()] = not v
        return v


_ORACLE: list[_Oracle] = []


def current_function() -> str:
    """The function being explored (for error messages)."""
    return _ORACLE[-1].label if _ORACLE else "(no symbolic exploration running)"


def decide(c: BoolLike) -> bool:
    """The truth value Python asked for, on the current path (forks the exploration)."""
    if isinstance(c, bool):
        return c
    if not _ORACLE:
        raise SymbolicError(f"truth value of symbolic {c} asked outside a symbolic exploration")
    return _ORACLE[-1].decide(c)


def possible(c: BoolLike) -> bool:
    """Whether ``c`` holds on some type-correct state (the exploration's background); a question
    that cannot be answered True there need not fork."""
    if isinstance(c, bool):
        return c
    s = z3.Solver()
    if _ORACLE:
        s.add(to_z3(_ORACLE[-1].background))
    s.add(to_z3(c))
    return maybe(s)


def maybe(s: z3.Solver) -> bool:
    """Whether ``s`` may be satisfiable (unsat: no; sat or unknown: yes).  z3 takes Ctrl-C during
    its check and answers unknown: that is raised as the interrupt, or a long build would go on."""
    r = s.check()
    if r == z3.unknown:
        why = s.reason_unknown()
        if "interrupted" in why or "canceled" in why:
            interrupt.request()
            raise KeyboardInterrupt
    return r != z3.unsat


def int_range(t: z3.ArithRef, name: str) -> tuple[int, int]:
    """The least and greatest values of the integer term ``t`` on type-correct states (the
    exploration's background), so that code may fork on its concrete value (``range(len(log))``).
    A term unbounded there is refused."""
    if not _ORACLE:
        raise SymbolicError(f"range() over symbolic {t} outside a symbolic exploration")
    bg = to_z3(_ORACLE[-1].background)
    out = []
    for goal in ("min", "max"):
        o = z3.Optimize()
        o.add(bg)
        h = o.minimize(t) if goal == "min" else o.maximize(t)
        if o.check() != z3.sat:
            raise _err("range() over a symbolic bound the type invariant does not bound", name)
        v = o.lower(h) if goal == "min" else o.upper(h)
        if not z3.is_int_value(v):
            raise _err("range() over a symbolic bound the type invariant does not bound", name)
        out.append(v.as_long())
    return out[0], out[1]


def _err(msg: str, name: str) -> SymbolicError:
    return SymbolicError(f"{msg} (field {name}, in {current_function()})")


# ----- the path explorer -----------------------------------------------------------------


@dataclass
class SymPath:
    """One path of a function: its decisions and what it returned (``None`` when disabled)."""

    pc: list[z3.BoolRef]
    result: Any
    enabled: bool
    overflow: bool = False  # the path raised BoundExceeded: reachable, it is an error (engines check)
    raised: str = ""  # with ``explore(errors=True)``: the exception this path raised (engines check)

    @property
    def cond(self) -> BoolLike:
        return b_and(*self.pc)


DEFAULT_MAX_PATHS = 4096


def explore(
    fn: Callable[..., Any],
    args: Sequence[Any],
    label: str,
    max_paths: int = DEFAULT_MAX_PATHS,
    background: BoolLike = True,
    *,
    prune: bool = False,
    errors: bool = False,
) -> list[SymPath]:
    """Every path of ``fn(*args)``: run it, then re-run it flipping the last open decision.

    A path that raises is reported (naming ``label``) unless its path condition is
    unsatisfiable together with ``background`` (the type invariant): code may legitimately
    fail on combinations of answers that cannot happen together.  Only ``max_paths`` bounds
    the work, so the outcome never depends on the machine's load.

    ``prune``: follow only answers consistent with ``background`` and the answers before
    (z3 decides each new question and each flip), so the paths are exactly the feasible ones
    and together cover every state satisfying ``background`` -- the function's meaning *on
    those states*, which is what a relation restricted to ``background`` needs.  It costs a
    solver call per question; without it, infeasible paths are explored and are harmless.

    ``errors``: a feasible path that raises is kept as a disabled path with ``raised`` set
    instead of refusing the function: the engines then must show no reachable state takes it
    (a step that indexes a log by a field only the invariant bounds).
    """
    prefix: list[bool] = []
    prev: list[z3.BoolRef] = []
    paths: list[SymPath] = []
    runs = 0
    solver: z3.Solver | None = None
    if prune:
        solver = z3.Solver()
        solver.add(to_z3(background))
        if not maybe(solver):
            return []  # no state satisfies the background: no path
    while True:
        runs += 1
        if runs > max_paths:
            raise PathExplosion(
                f"path explosion in {label}: more than {max_paths} paths. Fold conditions into one "
                "`if`, use generator forms inside all/any/sum, or write the predicate so its twin applies"
            )
        if solver is not None and solver.num_scopes():
            solver.pop(solver.num_scopes())
        oracle = _Oracle(label, prefix, prev, solver, background)
        _ORACLE.append(oracle)
        dropped = overflow = False
        raised = ""
        try:
            try:
                result = fn(*args)
                enabled = result is not None
            except Disabled:
                result, enabled = None, False
        except SymbolicError:
            raise
        except BoundExceeded:
            result, enabled, overflow = None, False, True
        except Exception as e:
            pc = [c if v else z3.Not(c) for c, v in zip(oracle.conds, oracle.values, strict=True)]
            s = z3.Solver()
            s.add(to_z3(background), *pc)
            feasible = maybe(s)
            if feasible and errors:
                result, enabled, raised = None, False, f"{type(e).__name__}: {e}"
            elif feasible:
                raise SymbolicError(
                    f"{label} raised {type(e).__name__}: {e} on a symbolic path "
                    f"({' & '.join(map(str, pc)) or 'unconditionally'}); functions must be total on "
                    "every type-correct state"
                ) from e
            else:
                result, enabled, dropped = None, False, True
        finally:
            _ORACLE.pop()
        if not dropped:
            pc = [c if v else z3.Not(c) for c, v in zip(oracle.conds, oracle.values, strict=True)]
            paths.append(SymPath(pc, result, enabled, overflow, raised))
        j = len(oracle.values) - 1
        while j >= 0 and (not oracle.values[j] or (solver is not None and not _flippable(solver, oracle, j))):
            j -= 1
        if j < 0:
            return paths
        prefix = [*oracle.values[:j], False]
        prev = oracle.conds[: j + 1]


def _flippable(solver: z3.Solver, oracle: _Oracle, j: int) -> bool:
    """Whether decision ``j`` can be answered False after the answers before it (pruning)."""
    solver.pop(solver.num_scopes())
    lits = [c if v else z3.Not(c) for c, v in zip(oracle.conds[:j], oracle.values[:j], strict=True)]
    return solver.check(*lits, z3.Not(oracle.conds[j])) != z3.unsat

