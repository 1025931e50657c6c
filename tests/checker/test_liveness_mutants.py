"""Planted bugs in the liveness checker that its tests must catch.

Each mutant patches one function of ``checker/liveness.py`` in memory with a plausible mistake;
the battery (the known answers of ``test_liveness`` and a fixed sample of random graphs against
the brute-force reference of ``test_liveness_random``) must then report a wrong answer, and the
unpatched checker must pass it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from protoproof.checker import liveness
from protoproof.checker.explore import explore
from protoproof.models.base import Model, eventually, sometimes, transition
from protoproof.models.schema import Int

from .test_liveness import Detour, LazyRequests, Requests, Ring, Stop, StrongRing, WeakRing, WeakSpin
from .test_liveness_random import FAMILIES, LABELS, Graph, N, Table, reference


class Through(Model[int]):
    """0 -> 1 -> 0 forever (fair), and 1 is where the property holds: every behaviour meets it."""

    def schema(self) -> Int:
        return Int(0, 1)

    def init(self) -> list[int]:
        return [0]

    @transition(fair="weak")
    def flip(self, s: int) -> int:
        return 1 - s

    @sometimes
    def one(self, s: int) -> bool:
        return s == 1

    @eventually
    def meets_one(self, s: int) -> bool:
        return s == 1


#: (model, expected verdict, expected loop_start or None)
KNOWN: list[tuple[Callable[[], Model[Any]], str, int | None]] = [
    (WeakSpin, "exhausted", None),
    (WeakRing, "violated", 0),
    (StrongRing, "exhausted", None),
    (Stop, "violated", 1),
    (Requests, "exhausted", None),
    (LazyRequests, "violated", 1),
    (Ring, "violated", 0),
    (Through, "exhausted", None),
    (Detour, "violated", 0),
]


def _tables(count: int, seed: int = 7) -> Iterator[Table]:
    rnd = random.Random(seed)
    for _ in range(count):
        keys = {(rnd.randrange(N), rnd.choice(FAMILIES), rnd.choice(LABELS)) for _ in range(rnd.randint(1, 7))}
        edges = tuple((s, f, k, rnd.randrange(N)) for s, f, k in sorted(keys))
        yield Table(edges, frozenset(rnd.sample(range(N), rnd.randint(0, 2))),
                    frozenset(rnd.sample(range(N), rnd.randint(0, 2))))


def battery() -> list[str]:
    """Every wrong answer the checker gives on the known cases and the sample (empty: all right)."""
    wrong = []
    for make, verdict, loop in KNOWN:
        name = make.__name__
        try:
            r = explore(make())
        except Exception as e:  # a planted bug may also crash the search: caught too
            wrong.append(f"{name}: raised {e!r}")
            continue
        got_loop = r.path.loop_start if r.path is not None else None
        if (r.verdict, got_loop) != (verdict, loop):
            wrong.append(f"{name}: {r.verdict} loop_start={got_loop}, expected {verdict} {loop}")
        elif r.path is not None and r.path.violation(r.property or "") is None:
            wrong.append(f"{name}: the lasso does not violate {r.property} when replayed")
    for t in _tables(150):
        for kind in ("ev", "inf", "lt"):
            try:
                r = explore(Graph(t), properties=[kind])
            except Exception as e:
                wrong.append(f"{t}: raised {e!r}")
                continue
            if (r.verdict == "violated") != reference(t, kind):
                wrong.append(f"{t} {kind}: {r.verdict}")
            elif r.path is not None and r.path.violation(kind) is None:
                wrong.append(f"{t} {kind}: the lasso does not violate it when replayed")
    return wrong


def test_the_unpatched_checker_passes_the_battery() -> None:
    assert battery() == []


def _ignore_fairness(orig: Any) -> Any:
    return lambda model, store: [None] * len(orig(model, store))


def _strong_as_weak(orig: Any) -> Any:
    return lambda model, store: ["weak" if k == "strong" else k for k in orig(model, store)]


def _weak_as_strong(orig: Any) -> Any:
    return lambda model, store: ["strong" if k == "weak" else k for k in orig(model, store)]


def _unrestricted(orig: Any) -> Any:
    return lambda store, sources, allowed: orig(store, sources, bytearray(b"\x01") * len(store))


def _never_stop(orig: Any) -> Any:
    return lambda store, i, fair: False


def _stop_on_deadlocks_only(orig: Any) -> Any:
    return lambda store, i, fair: store.expanded(i) and store.count[i] == 0


def _loop_one_late(orig: Any) -> Any:
    def find(*args: Any) -> Any:
        lasso = orig(*args)
        if lasso is not None and lasso.loop_start + 1 < len(lasso.ids):
            lasso.loop_start += 1
        return lasso
    return find


def _loop_one_early(orig: Any) -> Any:
    def find(*args: Any) -> Any:
        lasso = orig(*args)
        if lasso is not None and lasso.loop_start > 0:
            lasso.loop_start -= 1
        return lasso
    return find


def _skip_strong_pruning(orig: Any) -> Any:
    """Reject a component failing strong fairness instead of looking inside it."""
    def parts(store: Any, comp: list[int], fair: Any) -> list[list[int]]:
        out = orig(store, comp, fair)
        return out if out in ([], [comp]) else []
    return parts


def _any_cycle_is_fair(orig: Any) -> Any:
    return lambda store, states, insts, fair: True


MUTANTS = {
    "the shortest cycle taken as the loop unchecked": ("_cycle_is_fair", _any_cycle_is_fair),
    "fairness ignored": ("fair_kinds", _ignore_fairness),
    "strong fairness read as weak": ("fair_kinds", _strong_as_weak),
    "weak fairness read as strong": ("fair_kinds", _weak_as_strong),
    "SCCs on the unrestricted graph": ("_reach", _unrestricted),
    "no behaviour stops (stuttering ignored)": ("may_stop", _never_stop),
    "only deadlocks stop (unfair actions forced)": ("may_stop", _stop_on_deadlocks_only),
    "loop index one too late": ("find_lasso", _loop_one_late),
    "loop index one too early": ("find_lasso", _loop_one_early),
}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_a_planted_bug_in_the_liveness_checker_is_caught(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    attr, mutate = MUTANTS[name]
    monkeypatch.setattr(liveness, attr, mutate(getattr(liveness, attr)))
    assert battery() != []


def test_not_pruning_states_for_strong_fairness_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strong fairness removes the states enabling an untaken instance and looks again inside."""
    orig = liveness._fair_parts
    monkeypatch.setattr(liveness, "_fair_parts", _skip_strong_pruning(orig))
    wrong = battery()
    assert wrong != [], "no case needs the pruning: the battery cannot see this mistake"
