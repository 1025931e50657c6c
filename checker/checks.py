"""What one explicit run checks, and how each check runs model code.

``Checks`` gathers the selected properties, the step checks (``@step`` properties and
refinements) and, for a symmetric run, the guard that justifies them.  Every call into model
code here turns an exception into a ``ModelError`` naming the property or mapping that raised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..models.base import Action, Model, Property, Refinement
from .errors import ModelError, Nondeterminism, model_error, refuse_false_non_bool
from .path import Path, _fmt_fields, _short
from .symmetry import AsymmetricDefinition, Canonicalizer, SymmetryError
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

DEADLOCK = "deadlock"

#: Raised by the checker's own machinery about the model: reported as they are, not re-wrapped.
OWN = (ModelError, Nondeterminism, AsymmetricDefinition, SymmetryError)

StepCheck = Callable[[Any, Action, Any], bool]


class RefinementCheck:
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
        try:
            x = self.mapping(s)
        except OWN:
            raise
        except Exception as e:
            raise model_error(f"the refinement mapping of {self.name}", e, s, None) from e
        return x in self.inits

    def __call__(self, s: Any, a: Action, t: Any) -> bool:
        try:
            if s is not self._last:
                self._last, self._last_x = s, self.mapping(s)
            x, y = self._last_x, self.mapping(t)
        except OWN:
            raise
        except Exception as e:
            raise model_error(f"the refinement mapping of {self.name}", e, s, a) from e
        return self.allows(x, y, s, a)

    def allows(self, x: Any, y: Any, s: Any = None, a: Action | None = None) -> bool:
        """Whether abstract state ``x`` may become ``y`` (a step or a stutter); ``s`` and ``a``
        are reported if the abstract model raises."""
        if x == y:
            return True
        succ = self.memo.get(x)
        if succ is None:
            try:
                succ = frozenset(u for _b, u in self.abstract.successors(x))
            except OWN:
                raise
            except Exception as e:
                what = f"the abstract model {self.abstract.display_name} of {self.name}"
                raise model_error(what, e, s, a) from e
            self.memo[x] = succ
        return y in succ


def select(model: Model[Any], names: Sequence[str] | None
           ) -> tuple[list[Property], list[Property], list[Property], list[Refinement]]:
    """The invariants, ``@sometimes``, ``@step`` properties and refinements named (None: all)."""
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


class SymmetryGuard:
    """What a symmetric run checks besides its properties (``symmetry_proof`` says why it suffices).

    Properties z3 proved invariant run as they are; the others are replaced by versions that
    evaluate every renaming of each state (or step) they are given.  The transitions are
    compared under ``perms``: every renaming at ``every_state`` (when z3 did not prove them
    symmetric, or a ``@step`` property is checked), else every generator at the first ``first``
    expanded states (a guard behind the proof, not a justification).  ``assumed`` says why the
    run cannot be exhausted: z3 did not prove the transitions and the group is too large to check.
    """

    def __init__(self, model: Model[Any], canon: Canonicalizer, first: int, invariants: list[Property],
                 sometimes: list[Property], step_props: list[Property], ref_checks: list[RefinementCheck],
                 step_checks: list[tuple[str, StepCheck]]) -> None:
        self.canon = canon
        j = justify(model, canon, [*invariants, *sometimes], [r.ref for r in ref_checks], step_props)
        self.justification = j
        fallback = j.checked
        enumerable = group_size(canon) <= GROUP_LIMIT
        whole = group_elements(canon) if fallback or (enumerable and (step_props or not j.transitions_proved)) else []
        # Even a z3 proof of the relation is about its formulas (tied by `conform`, not by every run),
        # so the Python successors are compared under every generator on the first expanded states too.
        self.perms: list[Any] = generators(canon)
        #: Why a reduced search may have missed orbits (None: the transitions' symmetry was discharged).
        self.assumed: str | None = None
        self.every_state = bool(step_props) or (not j.transitions_proved and enumerable)
        if self.every_state:
            self.perms = whole
            j.transitions_checked = not j.transitions_proved
            why = "a @step property" if step_props else "so every reachable orbit is reached"
            j.transitions += f"; checked under every renaming at every expanded state ({why})"
        elif self.perms:
            if not j.transitions_proved:
                self.assumed = (f"a symmetry-reduced search that assumes the transitions symmetric: they are "
                                f"{j.transitions}, and the group's {group_size(canon):,} renamings are more than "
                                f"the {GROUP_LIMIT} checked on every state (symmetry assumed, not proved)")
            j.transitions += f"; checked under every generator on the first {first} expanded states"
            if self.assumed:
                j.transitions += "; assumed beyond that, so the run cannot be exhausted"

        cross = whole or (group_elements(canon) if group_size(canon) <= GROUP_LIMIT else generators(canon))

        def guarded(p: Property) -> Property:
            if p.name in fallback:
                return checked_on_every_state(p, model, canon, whole)
            return cross_checked(p, model, canon, cross, first)

        self.invariants = [guarded(p) for p in invariants]
        self.sometimes = [guarded(p) for p in sometimes]
        for r in ref_checks:
            if r.name in fallback:
                r.init_ok = checked_init(r.name, r.init_ok, model, canon, whole)  # type: ignore[method-assign,assignment]
        self.step_checks = [(n, checked_step(n, c, model, canon, whole)
                             if isinstance(c, RefinementCheck) and n in fallback else c) for n, c in step_checks]


class Checks:
    """The checks of one run; with ``symmetry``, guarded so that the symmetry reduction is sound."""

    def __init__(self, model: Model[Any], names: Sequence[str] | None, deadlock: bool,
                 symmetry: bool, first: int) -> None:
        invariants, sometimes, step_props, refinements = select(model, names)
        self.canon = canon = Canonicalizer(model) if symmetry else None
        # Naming ``deadlock`` among the properties asks for the deadlock check (else it checked nothing).
        self.deadlock = (deadlock and names is None) or (names is not None and DEADLOCK in names)
        self.step_props = step_props
        self.refinements = [RefinementCheck(r) for r in refinements]
        step_checks: list[tuple[str, StepCheck]] = [(p.name, p.fn) for p in step_props]
        step_checks += [(r.name, r) for r in self.refinements]
        self.guard: SymmetryGuard | None = None
        if canon is not None:
            self.guard = SymmetryGuard(model, canon, first, invariants, sometimes, step_props,
                                       self.refinements, step_checks)
            invariants, sometimes, step_checks = self.guard.invariants, self.guard.sometimes, self.guard.step_checks
        self.invariants, self.sometimes, self.step_checks = invariants, sometimes, step_checks
        self.liveness = [p for p in model.liveness_properties if names is None or p.name in names]

    @property
    def justification(self) -> Justification | None:
        return self.guard.justification if self.guard is not None else None

    def initial_failing(self, s: Any) -> str | None:
        """The first property or refinement an initial state violates."""
        bad = first_failing(self.invariants, s, None)
        if bad is not None:
            return bad
        for r in self.refinements:
            if not r.init_ok(s):
                return r.name
        return None


def refinement_doc(model: Model[Any], ref: Refinement) -> str:
    """What a refinement claims, in words (it has no docstring of its own)."""
    abstract = ref.abstract.display_name
    how = (getattr(ref.mapping, "__doc__", None) or "").strip().split("\n")[0]
    return (f"every step of {model.display_name} maps to a step of {abstract} or to no change "
            f"of it, and every initial state to one of its initial states" + (f" (mapping: {how})" if how else ""))


def property_doc(model: Model[Any], name: str) -> str:
    """The description of a property, refinement or ``deadlock`` named in a verdict."""
    if name == DEADLOCK:
        return "a reachable state has no successor (and no @terminal predicate accepts it as a proper end)"
    for p in model.properties:
        if p.name == name:
            return p.doc
    for r in model.refinements():
        if r.name == name:
            return refinement_doc(model, r)
    return ""


def explain_refinement(model: Model[Any], name: str, path: Path) -> str | None:
    """Which abstract step the last step of a refinement counterexample would need, and why none
    exists; None if ``name`` is no refinement of ``model``."""
    ref = next((r for r in model.refinements() if r.name == name), None)
    if ref is None:
        return None
    abstract = ref.abstract
    aname = abstract.display_name
    show = abstract.describe_state
    y = ref.mapping(path.last)
    if not path.actions:
        return (f"the initial state maps to {_fmt_fields(show(y))}, which is not an initial state of {aname}")
    x = ref.mapping(path.states[-2])
    before, after = show(x), show(y)
    changed = ", ".join(f"{k}: {_short(before.get(k))} -> {_short(v)}" for k, v in after.items() if before.get(k) != v)
    steps = [repr(b) for b, _u in abstract.successors(x)]
    offered = ", ".join(steps) if steps else "none (no step is enabled there)"
    return (f"step {len(path.actions)} ({path.actions[-1]!r}) changes the {aname} view ({changed}); {aname} has no "
            f"step doing that from {_fmt_fields(before)}: its steps there are {offered}")


def first_failing(props: list[Property], s: Any, a: Action | None) -> str | None:
    """The first of ``props`` false in ``s`` (reached by ``a``)."""
    for p in props:
        try:
            ok = p.fn(s)
        except OWN:
            raise
        except Exception as e:
            raise model_error(f"property {p.name}", e, s, a, in_state=True) from e
        if not ok:
            refuse_false_non_bool(p.name, ok, s, a)
            return p.name
    return None


def note_examples(pending: list[Property], examples: dict[str, int | None], s: Any, c: int) -> list[Property]:
    """Record ``s`` (code ``c``) as the example of each pending ``@sometimes`` it satisfies; the rest."""
    left = []
    for p in pending:
        try:
            ok = p.fn(s)
        except OWN:
            raise
        except Exception as e:
            raise model_error(f"property {p.name}", e, s, None, in_state=True) from e
        if ok:
            examples[p.name] = c
        else:
            refuse_false_non_bool(p.name, ok, s, None)
            left.append(p)
    return left
