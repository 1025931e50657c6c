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
to ``Dom(σX) ∧ Inv(σX) ∧ r(σX, σY) ∧ ¬Inv(σY)`` (by 1 and 2), which 3 rules out.  Where fact 1
fails only on states outside the type (an invariant that indexes by an id field reads an
out-of-range id through its default branch, which the renaming leaves alone), it is asked on
type-correct states, ``Dom(X) ⇒ Inv(X) == Inv(σX) ∧ Dom(σX)``, and fact 2 then also asks
``Dom(Y)``: the counterexample's ``Y`` is type-correct, so fact 1 applies to it too.

Fact 1 is asked for each renaming the covers use, fact 2 for each covered action, fact 3 is the
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
from .induction import Record
from .symbolic import BoolLike, SymbolicModel, to_z3, variables
from .symmetry import Canonicalizer, describe_perm
from .symmetry_proof import group_elements, permute_symbolic


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


@dataclass
class _Renaming:
    """``σX`` and ``σY`` as z3 terms; ``typed``: fact 1 holds on type-correct states only."""

    xs: list[z3.ExprRef]
    ys: list[z3.ExprRef]
    typed: bool


class _Covering:
    def __init__(self, sm: SymbolicModel, inv: BoolLike, record: Record) -> None:
        self.sm, self.inv, self.record = sm, inv, record
        self.canon = Canonicalizer(sm.model)
        self.perms = group_elements(self.canon)
        self.out = Covers(renamings=len(self.perms) + 1)
        self.renamed: dict[int, _Renaming | None] = {}

    def renaming(self, k: int) -> _Renaming | None:
        """Renaming ``k``, once fact 1 is proved for it (None: it is not)."""
        if k in self.renamed:
            return self.renamed[k]
        sm, p = self.sm, self.perms[k]
        xs = variables(sm.ty, permute_symbolic(sm.ty, sm.x, p))
        inv, inv_r = to_z3(self.inv), to_z3(sm.at(self.inv, xs))
        dom, dom_r = to_z3(sm.dom_x), to_z3(sm.at(sm.dom_x, xs))
        what = describe_perm(p, self.canon.identity)
        self.renamed[k] = None
        for typed in (False, True):
            t0 = time.perf_counter()
            s = z3.Solver()
            s.add(z3.And(dom, z3.Or(inv != inv_r, z3.Not(dom_r))) if typed else z3.Or(inv != inv_r, dom != dom_r))
            r = s.check()
            interrupt.check()
            if r == z3.unsat:
                where = " on type-correct states" if typed else ""
                self.record(f"invariant and types unchanged by renaming {what}{where}", None, r, t0, s)
                self.renamed[k] = _Renaming(xs, variables(sm.ty, permute_symbolic(sm.ty, sm.y, p)), typed)
                break
            if r != z3.sat:
                self.out.unused.append(f"{what} (z3 gave up)")
                break
        else:
            self.out.unused.append(f"{what} (it changes the invariant or leaves the type)")
        return self.renamed[k]

    def cover(self, s: z3.Solver, i: int, x: Any, reps: list[int]) -> tuple[int, Perm] | None:
        sm = self.sm
        e = sm.actions[i]
        ty = sm.model.state_type
        try:
            y = e.inst.concrete(x)
        except Exception:
            return None  # the action's own query will meet whatever this is
        if y is None:
            return None
        for k, p in enumerate(self.perms):
            try:
                sx, sy = ty.permute(x, p), ty.permute(y, p)
            except Exception:
                return None  # a successor outside the type: the action's own query will meet it
            for j in reps:
                r = sm.actions[j]
                try:
                    if r.inst.concrete(sx) != sy:
                        continue
                except Exception:
                    continue
                ren = self.renaming(k)
                if ren is None:
                    break
                t0 = time.perf_counter()
                step = to_z3(sm.at(r.formula, ren.xs, ren.ys))
                s.push()
                s.add(to_z3(e.formula), z3.Not(z3.And(step, to_z3(sm.dom_y)) if ren.typed else step))
                answer = s.check()
                s.pop()
                if answer == z3.unsat:
                    what = describe_perm(self.perms[k], self.canon.identity)
                    self.record(f"{e.name} is {r.name} renamed {what}", e.name, answer, t0, s)
                    return j, self.perms[k]
        return None
