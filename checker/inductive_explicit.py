"""Inductiveness checked explicitly, without z3 (TLC's trick), to debug a strengthening.

Start from *every* type-correct state of a tiny instance that satisfies the candidate invariant,
take every transition with the concrete Python functions, and report a successor that breaks
it.  Nothing symbolic is involved, so a user can develop a strengthening with plain Python
(print statements, a debugger) and hand it to ``prove`` once it passes here.  The state type is
enumerated in full, so this is for instances of at most a few million type-correct states.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..models.base import Model
from .bmc import header_json
from .induction import Cti, _named
from .symbolic import safety_properties
from .verdict import PROVED, UNKNOWN, VIOLATED


@dataclass
class ExplicitInductionResult:
    model: Model[Any]
    verdict: str
    type_correct_states: int
    invariant_states: int
    transitions: int
    conjuncts: list[str]
    cti: Cti | None
    elapsed_s: float
    reason: str = ""

    def to_lines(self) -> list[str]:
        lines = [
            f"inductive (explicit) {self.model.display_name}: {self.verdict}"
            + (f" ({self.reason})" if self.reason else ""),
            f"  {self.type_correct_states:,} type-correct states, {self.invariant_states:,} satisfy the invariant, "
            f"{self.transitions:,} transitions checked in {self.elapsed_s:.2f}s",
            "  tied to the model by construction: the Python functions themselves ran (no z3 formula involved)",
        ]
        if self.cti is not None:
            lines += self.cti.to_lines()
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            **header_json(self.model, "inductive-explicit", self.verdict),
            "reason": self.reason or None,
            "type_correct_states": self.type_correct_states,
            "invariant_states": self.invariant_states,
            "transitions": self.transitions,
            "conjuncts": self.conjuncts,
            "cti": self.cti.to_json() if self.cti is not None else None,
            "elapsed_s": round(self.elapsed_s, 6),
        }


def check_inductive(
    model: Model[Any],
    strengthening: Sequence[Callable[[Any], Any]] | None = None,
    max_states: int = 5_000_000,
    properties: Sequence[str] | None = None,
) -> ExplicitInductionResult:
    """Is safety ∧ strengthening closed under every transition, over all type-correct states?"""
    t0 = time.perf_counter()
    if strengthening is None:
        strengthening = []  # the caller looks one up (proofs.strengthening_for): proofs sit above checker
    safety = safety_properties(model, properties)
    conj = safety + _named(strengthening)
    names = [n for n, _f in conj]
    ty = model.state_type
    if ty.size > max_states:
        raise ValueError(
            f"{model.name} has {ty.size:,} type-correct states (more than max_states={max_states:,}); "
            "check inductiveness explicitly on a smaller instance, or use `prove`"
        )

    def broken(s: Any) -> list[str]:
        return [n for n, f in conj if not f(s)]

    for s in model.initial_states():
        b = broken(s)
        if b:
            verdict = VIOLATED if any(n in {m for m, _f in safety} for n in b) else UNKNOWN
            return ExplicitInductionResult(model, verdict, 0, 0, 0, names, Cti("init => inv", [s], [], b, model),
                                           time.perf_counter() - t0, f"false initially: {', '.join(b)}")
    inv_states = transitions = 0
    fns = [f for _n, f in conj]
    for s in ty.values():
        if not all(f(s) for f in fns):
            continue
        inv_states += 1
        for a, t in model.successors(s):
            transitions += 1
            if not all(f(t) for f in fns):
                cti = Cti(f"consecution {a!r}", [s, t], [a], broken(t), model)
                return ExplicitInductionResult(model, UNKNOWN, ty.size, inv_states, transitions, names, cti,
                                               time.perf_counter() - t0,
                                               f"not inductive: {a!r} breaks {', '.join(cti.broken)}")
    return ExplicitInductionResult(model, PROVED, ty.size, inv_states, transitions, names, None,
                                   time.perf_counter() - t0)


__all__ = ["ExplicitInductionResult", "check_inductive"]
