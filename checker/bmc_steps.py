"""How ``bmc`` writes its unrolled states for z3: integers and enumerations, or bit-vectors.

Both encodings offer the same four things (fresh step variables, a formula over generic states
renamed to steps, what each step's variables need, decoding a model), so the unrolling does not
care which it uses.  ``choose`` takes bit-vectors only when ``symbolic.bitvec.plan`` proves the
translation changes no formula's meaning, and otherwise says why it kept integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import z3

from ..models.base import Model
from .symbolic import BoolLike, SymbolicModel, b_and, to_z3
from .symbolic.bitvec import BvPlan, BvRefused, Translator, plan, ranges

#: ``--encoding`` values: bit-vectors when the interval argument holds, else integers; integers.
AUTO, INTS = "auto", "int"
ENCODINGS = (AUTO, INTS)


class IntSteps:
    """Today's encoding: z3 integers, enumeration sorts and Booleans."""

    description = "integers"

    def __init__(self, sm: SymbolicModel) -> None:
        self.sm = sm

    def solver(self) -> z3.Solver:
        """The incremental solver the unrolling uses."""
        return z3.Solver()

    def step(self, tag: str) -> tuple[Any, list[z3.ExprRef], list[z3.ExprRef]]:
        """A fresh step: its symbolic state, its variables, and their encoding (here the same)."""
        v, vs = self.sm.step_vars(tag)
        return v, vs, vs

    def formula(self, f: BoolLike, xs: Sequence[z3.ExprRef], ys: Sequence[z3.ExprRef] | None = None) -> z3.BoolRef:
        return to_z3(self.sm.at(f, xs, ys))

    def state_ok(self, vs: Sequence[z3.ExprRef]) -> BoolLike:
        return True

    def decode(self, v: Any, m: z3.ModelRef) -> Any:
        return self.sm.decode(v, m)


class _Back:
    """A bit-vector model read as a model of the original variables (for ``decode``)."""

    def __init__(self, tr: Translator, m: z3.ModelRef) -> None:
        self.tr, self.m = tr, m

    def eval(self, t: z3.ExprRef, model_completion: bool = False) -> z3.ExprRef:
        return self.tr.back(t, self.m)


class BvSteps(IntSteps):
    """The same formulas on bit-vectors (``symbolic.bitvec``); sound by the plan's argument."""

    def __init__(self, sm: SymbolicModel, p: BvPlan) -> None:
        super().__init__(sm)
        self.tr = Translator(p)
        self.bx = [self.tr.var(x) for x in sm.xvars]
        self.by = [self.tr.var(y) for y in sm.yvars]
        self.description = p.describe()

    def solver(self) -> z3.Solver:
        """z3's ``QF_BV`` solver: bit-blasting into its incremental SAT solver, which keeps what it
        learnt across depths (measured: far faster than the default SMT core on the same formulas)."""
        return z3.SolverFor("QF_BV")

    def step(self, tag: str) -> tuple[Any, list[z3.ExprRef], list[z3.ExprRef]]:
        v, vs = self.sm.step_vars(tag)
        return v, vs, [self.tr.var(x, like=g) for x, g in zip(vs, self.sm.xvars, strict=True)]

    def formula(self, f: BoolLike, xs: Sequence[z3.ExprRef], ys: Sequence[z3.ExprRef] | None = None) -> z3.BoolRef:
        g = self.tr(to_z3(f))
        pairs = list(zip(self.bx, xs, strict=True))
        if ys is not None:
            pairs += list(zip(self.by, ys, strict=True))
        return z3.substitute(g, *pairs) if pairs else g

    def state_ok(self, vs: Sequence[z3.ExprRef]) -> BoolLike:
        return b_and(*(self.tr.range_of(v) for v in vs))

    def decode(self, v: Any, m: z3.ModelRef) -> Any:
        return self.sm.decode(v, _Back(self.tr, m))


def choose(model: Model[Any], sm: SymbolicModel, formulas: Sequence[BoolLike], trans: BoolLike,
           encoding: str) -> tuple[IntSteps, str]:
    """The encoding to unroll with, and why integers were kept (empty when bit-vectors were taken)."""
    if encoding == INTS:
        return IntSteps(sm), "as asked: --encoding int"
    outside = [s for s in model.initial_states() if not sm.ty.contains(s)]
    if outside:
        return IntSteps(sm), f"an initial state lies outside the state type: {outside[0]!r}"
    try:
        p = plan(formulas, {**ranges(sm.ty, sm.x), **ranges(sm.ty, sm.y)}, trans, sm.yvars,
                 current_vars=sm.xvars)
    except BvRefused as e:
        return IntSteps(sm), f"no sound bit-vector width: {e}"
    return BvSteps(sm, p), ""


__all__ = ["AUTO", "ENCODINGS", "INTS", "BvSteps", "IntSteps", "choose"]
