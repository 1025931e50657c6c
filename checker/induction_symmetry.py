"""Consecution up to symmetry: one query per orbit of action instances, the rest by renaming.

With interchangeable ids (``Model.symmetry()``), most consecution queries of an induction
proof are renamings of each other: ``drop(s1→s2, m)`` and ``drop(s2→s3, m)`` differ by a
renaming of the servers.  An action ``e`` is *covered* by a representative ``r`` and a renaming
``σ`` of the group when three facts hold, each a z3 query answered unsat:

1. ``Inv(X) == Inv(σX)`` and ``Dom(X) == Dom(σX)`` for every ``X``, not only type-correct ones
   (``Inv`` the conjunction of every conjunct, ``Dom`` the state's type);
2. ``Dom(X) ∧ e(X, Y) ⇒ r(σX, σY)``: every step of ``e`` is, renamed, a step of ``r``;
3. ``r``'s own consecution: ``Dom(X) ∧ Inv(X) ∧ r(X, Y) ⇒ Inv(Y)``.

Then ``e``'s consecution holds: a counterexample ``Dom(X) ∧ Inv(X) ∧ e(X, Y) ∧ ¬Inv(Y)`` renames
to ``Dom(σX) ∧ Inv(σX) ∧ r(σX, σY) ∧ ¬Inv(σY)`` (by 1 and 2), which 3 rules out.  Fact 1 is
asked for each renaming the covers use, fact 2 for each covered action, fact 3 is the
representative's ordinary obligation; each is an obligation of the proof, so ``proved`` still
needs every one of them ok.  Which ``r`` and ``σ`` to try is found concretely: the renamed step
of a witness of ``e`` (a state where ``e`` is enabled, from z3) is looked up among the
representatives' steps; a candidate that z3 does not confirm is no cover, and ``e`` is then
asked directly.  A renaming under which the invariant is not unchanged is simply not used.
An action that no type-correct state enables (the witness query is unsat) needs no query at
all: its consecution query only adds conjuncts to that one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import z3

from ..models.schema import Perm
from . import interrupt
from .symbolic import BoolLike, SymbolicModel, to_z3, variables
from .symmetry import Canonicalizer, describe_perm
from .symmetry_proof import group_elements, permute_symbolic

#: (obligation name, action name or None, solver answer, start time, solver) -> the recorded outcome
Record = Callable[[str, "str | None", z3.CheckSatResult, float, z3.Solver], Any]


@dataclass
class Covers:
    """Which consecution obligations are renamings of others, and what the reduction used."""

    by: dict[int, tuple[int, Perm]] = field(default_factory=dict)  # covered action -> (representative, σ)
    disabled: set[int] = field(default_factory=set)  # actions no type-correct state enables
    renamings: int = 0  # the group's size, the identity included
    unused: list[str] = field(default_factory=list)  # renamings left out, and why

    def skipped(self) -> set[int]:
        """The actions whose consecution needs no query of its own."""
        return set(self.by) | self.disabled

    def summary(self, actions: int) -> str:
        reps = actions - len(self.by) - len(self.disabled)
        out = (f"symmetry: {len(self.by):,} of {actions:,} consecution obligations are renamings of the "
               f"{reps:,} asked (group of {self.renamings:,} renamings)")
        if self.disabled:
            out += f"; {len(self.disabled):,} actions no type-correct state enables"
        if self.unused:
            out += f"; not used: {'; '.join(self.unused)}"
        return out


def covers(sm: SymbolicModel, inv: BoolLike, record: Record, note: Callable[[str], None]) -> Covers:
    """Fact 2 for each action a renaming maps onto a representative, fact 1 for each renaming the
    first time a cover needs it."""
    c = _Covering(sm, inv, record)
    reps: list[int] = []
    s = z3.Solver()
    s.add(to_z3(sm.dom_x))
    for i in range(len(sm.actions)):
        interrupt.check()
        t0 = time.perf_counter()
        answer, x = _witness(sm, s, i)
        if answer == z3.unsat:  # the consecution query only adds conjuncts to this one
            record(f"consecution {sm.actions[i].name}: no type-correct state enables it", sm.actions[i].name,
                   answer, t0, s)
            c.out.disabled.add(i)
            continue
        found = c.cover(s, i, x, reps) if x is not None else None
        if found is None:
            reps.append(i)
        else:
            c.out.by[i] = found
    note(c.out.summary(len(sm.actions)))
    return c.out


def _witness(sm: SymbolicModel, s: z3.Solver, i: int) -> tuple[z3.CheckSatResult, Any]:
    """Whether a type-correct state enables action ``i``, and one if so (else None)."""
    s.push()
    s.add(to_z3(sm.actions[i].formula))
    answer = s.check()
    x = sm.decode(sm.x, s.model()) if answer == z3.sat else None
    s.pop()
    return answer, x


class _Covering:
    def __init__(self, sm: SymbolicModel, inv: BoolLike, record: Record) -> None:
        self.sm, self.inv, self.record = sm, inv, record
        self.canon = Canonicalizer(sm.model)
        self.perms = group_elements(self.canon)
        self.out = Covers(renamings=len(self.perms) + 1)
        self.renamed: dict[int, tuple[list[z3.ExprRef], list[z3.ExprRef]] | None] = {}

    def renaming(self, k: int) -> tuple[list[z3.ExprRef], list[z3.ExprRef]] | None:
        """``σX`` and ``σY`` for renaming ``k``, once fact 1 is proved for it (None: it is not)."""
        if k in self.renamed:
            return self.renamed[k]
        sm, p = self.sm, self.perms[k]
        xs = variables(sm.ty, permute_symbolic(sm.ty, sm.x, p))
        t0 = time.perf_counter()
        s = z3.Solver()
        s.add(z3.Or(to_z3(self.inv) != to_z3(sm.at(self.inv, xs)), to_z3(sm.dom_x) != to_z3(sm.at(sm.dom_x, xs))))
        r = s.check()
        interrupt.check()
        what = describe_perm(p, self.canon.identity)
        if r == z3.unsat:
            self.record(f"invariant and types unchanged by renaming {what}", None, r, t0, s)
            self.renamed[k] = (xs, variables(sm.ty, permute_symbolic(sm.ty, sm.y, p)))
        else:
            self.out.unused.append(f"{what} ({'the invariant changes' if r == z3.sat else 'z3 gave up'})")
            self.renamed[k] = None
        return self.renamed[k]

    def cover(self, s: z3.Solver, i: int, x: Any, reps: list[int]) -> tuple[int, Perm] | None:
        sm = self.sm
        e = sm.actions[i]
        try:
            y = e.inst.concrete(x)
        except Exception:
            return None  # the action's own query will meet whatever this is
        if y is None:
            return None
        ty = sm.model.state_type
        for k, p in enumerate(self.perms):
            sx, sy = ty.permute(x, p), ty.permute(y, p)
            for j in reps:
                r = sm.actions[j]
                try:
                    if r.inst.concrete(sx) != sy:
                        continue
                except Exception:
                    continue
                vs = self.renaming(k)
                if vs is None:
                    break
                t0 = time.perf_counter()
                s.push()
                s.add(to_z3(e.formula), z3.Not(to_z3(sm.at(r.formula, *vs))))
                answer = s.check()
                s.pop()
                if answer == z3.unsat:
                    self.record(f"consecution {e.name} = {r.name} renamed {describe_perm(p, self.canon.identity)}",
                                e.name, answer, t0, s)
                    return j, p
        return None
