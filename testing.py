"""Pin a model's verdicts in your own test suite: ``from protoproof.testing import assert_safe``.

Each helper runs one engine and raises ``AssertionError`` with the rendered result (the
counterexample, one line per step, and a replay hint) unless the verdict is the promised one.
A budget that runs out is a failure, never a pass: ``assert_safe`` accepts a bounded run only
when the caller says so (``allow_bounded=True``), and then returns the result to inspect.

    from examples.mutex import Mutex
    from protoproof.testing import assert_safe, assert_violates

    def test_mutex_is_safe_for_up_to_four_processes():
        for n in range(1, 5):
            assert_safe(Mutex(procs=n))

    def test_check_then_set_lets_two_in_after_six_steps():
        assert_violates(Mutex().with_variant("check-then-set"), "mutual_exclusion", depth=6)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from .checker.explore import Options, Result, explore
from .checker.path import Path
from .checker.verdict import CONFORMS, EXHAUSTED, PROVED, VIOLATED
from .models.base import Model


def assert_safe(model: Model[Any], *, max_states: int | None = None, max_depth: int | None = None,
                timeout: float | None = None, symmetry: bool = False, properties: Sequence[str] | None = None,
                deadlock: bool = False, allow_bounded: bool = False) -> Result:
    """Every reachable state of ``model`` was visited and no property failed.

    Checks the ``@always`` and ``@step`` properties, the refinements, and that every
    ``@sometimes`` property is reached (a model that never does anything is not safe, it is
    vacuous); with ``deadlock`` also that every state has a successor. A run cut short by a
    budget fails unless ``allow_bounded`` (nothing was claimed about the states not visited).
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this helper's
    r = explore(model, Options(max_states=max_states, max_depth=max_depth, timeout=timeout, symmetry=symmetry,
                               properties=properties, deadlock=deadlock))
    if r.verdict == VIOLATED:
        raise AssertionError(_violation_text(r))
    if r.verdict != EXHAUSTED and not allow_bounded:
        raise AssertionError(f"{_title(model)}: bounded, not checked: no violation within {r.bound}, but "
                             f"{r.stats.distinct_states:,} states are not all of them; raise the budget or "
                             "pass allow_bounded=True")
    return r


def assert_violates(model: Model[Any], prop: str, *, depth: int | None = None, max_states: int | None = None,
                    timeout: float | None = None) -> Path | None:
    """``model`` violates ``prop``; with ``depth``, its shortest counterexample has that many steps.

    Returns the counterexample path (``path.to_text()``, ``path.actions``) for further checks;
    None for a ``@sometimes`` property, whose violation is being reached in no reachable state.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this helper's
    r = explore(model, Options(max_states=max_states, timeout=timeout, properties=[prop]))
    if r.verdict != VIOLATED:
        how = ("every reachable state was visited" if r.verdict == EXHAUSTED
               else f"searched within {r.bound} only")
        raise AssertionError(f"{_title(model)}: expected {prop} to be violated, but it holds ({how}, "
                             f"{r.stats.distinct_states:,} states)")
    path = r.path
    if path is None:  # a @sometimes property reached nowhere: there is no run to return
        if depth is not None:
            raise AssertionError(f"{_title(model)}: {prop} is reached nowhere, so it has no counterexample of "
                                 f"{depth} steps")
        return None
    if depth is not None and len(path) != depth:
        raise AssertionError(f"{_title(model)}: the shortest violation of {prop} has {len(path)} steps, not "
                             f"{depth}:\n{path.to_text()}")
    return path


def assert_conforms(model: Model[Any], *, random_states: int = 200, seed: int = 0,
                    max_states: int = 20_000) -> Any:
    """The z3 side of ``model`` agrees with its Python on every reachable state (up to
    ``max_states``) and on ``random_states`` random type-correct ones, and every comparison ran."""
    __tracebackhide__ = True  # pytest shows the caller's line, not this helper's
    from .checker.conformance import conform
    from .proofs import strengthening_for, twin_domain_for

    r = conform(model, random_states, seed, max_reachable=max_states,
                strengthening=strengthening_for(model) or [], twin_domain=twin_domain_for(model))
    if r.verdict != CONFORMS:
        raise AssertionError("\n".join(r.to_lines()))
    return r


def assert_proved(model: Model[Any], strengthening: Sequence[Callable[[Any], Any]] | None = None, *,
                  k: int = 1, properties: Sequence[str] | None = None) -> Any:
    """z3 proves ``model``'s ``@always`` properties inductive (k-induction) at its size.

    ``strengthening`` defaults to the one its protocol declares (``PROTOCOL`` in its module or a
    registration); pass ``[]`` to try the properties alone.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this helper's
    from .checker.induction import prove
    from .proofs import strengthening_for

    if strengthening is None:
        strengthening = strengthening_for(model) or []
    r = prove(model, strengthening, k=k, properties=properties)
    if r.verdict != PROVED:
        raise AssertionError("\n".join(r.to_lines()))
    return r


def _title(model: Model[Any]) -> str:
    params = ", ".join(f"{f.name}={getattr(model.config, f.name)!r}" for f in dataclasses.fields(model.config))
    variant = f", variant {model.variant_name}" if model.variant_name else ""
    return f"{model.display_name}({params}{variant})"


def _violation_text(r: Result) -> str:
    model = r.model
    doc = next((p.doc for p in model.properties if p.name == r.property), "")
    head = f"{_title(model)}: {r.property} violated{': ' + doc if doc else ''}"
    if r.path is None:
        return f"{head} (@sometimes: reached in no reachable state)"
    return (f"{head}\ncounterexample ({len(r.path)} steps):\n{r.path.to_text()}\n"
            f"as a script:\n{r.path.to_python(r.property)}")


__all__ = ["assert_conforms", "assert_proved", "assert_safe", "assert_violates"]
