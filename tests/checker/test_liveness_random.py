"""The lasso search against a brute-force reference on random tiny graphs (Hypothesis).

A fair behaviour of a finite graph ends up taking exactly some set of edges infinitely often; it
exists iff that edge set is strongly connected, reachable, and fair (weak: an instance enabled in
every one of its states is among its edges; strong: an instance enabled in one of its states is),
or it stops (stutters forever) in a state where no fair instance is enabled.  The reference
enumerates every edge subset; the checker must agree on whether a violation exists, and its
lasso must be a real, fair, violating behaviour.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.checker.explore import explore
from protoproof.models.base import Model, always_eventually, eventually, leads_to, require, sometimes, transition
from protoproof.models.schema import Int

N = 4  # states 0..3
LABELS = (0, 1)
FAMILIES = ("plain", "weak", "strong")

Edge = tuple[int, str, int, int]  # (source, family, label, target)


@dataclass(frozen=True)
class Table:
    edges: tuple[Edge, ...] = ()
    good: frozenset[int] = frozenset()
    premise: frozenset[int] = frozenset()  # P of the leads_to property ``lt``


class Graph(Model[int]):
    """A literal graph: family ``f`` with label ``k`` goes from ``s`` to ``table[s, f, k]``."""

    Config = Table

    def schema(self) -> Int:
        return Int(0, N - 1)

    def init(self) -> list[int]:
        return [0]

    def _go(self, s: int, fam: str, k: int) -> int:
        for src, f, label, dst in self.config.edges:
            if (src, f, label) == (s, fam, k):
                return dst
        require(False)
        raise AssertionError

    @transition(k=LABELS)
    def plain(self, s: int, k: int) -> int:
        return self._go(s, "plain", k)

    @transition(k=LABELS, fair="weak")
    def weak(self, s: int, k: int) -> int:
        return self._go(s, "weak", k)

    @transition(k=LABELS, fair="strong")
    def strong(self, s: int, k: int) -> int:
        return self._go(s, "strong", k)

    @sometimes
    def anything(self, s: int) -> bool:
        return True

    @eventually
    def ev(self, s: int) -> bool:
        return s in self.config.good

    @always_eventually
    def inf(self, s: int) -> bool:
        return s in self.config.good

    @leads_to(lambda self, s: s in self.config.premise)
    def lt(self, s: int) -> bool:
        return s in self.config.good


def _reachable(edges: tuple[Edge, ...], start: set[int], allowed: set[int]) -> set[int]:
    seen = set(start)
    todo = list(start)
    while todo:
        u = todo.pop()
        for src, _f, _k, dst in edges:
            if src == u and dst in allowed and dst not in seen:
                seen.add(dst)
                todo.append(dst)
    return seen


def _strongly_connected(sub: tuple[Edge, ...]) -> bool:
    nodes = {e[0] for e in sub} | {e[3] for e in sub}
    first = next(iter(nodes))
    return all(_reachable(sub, {u}, nodes) == nodes for u in nodes) and _reachable(sub, {first}, nodes) == nodes


def _fair(edges: tuple[Edge, ...], sub: tuple[Edge, ...]) -> bool:
    nodes = {e[0] for e in sub}
    taken = {(f, k) for _s, f, k, _d in sub}
    enabled = [{(f, k) for s, f, k, _d in edges if s == u and f != "plain"} for u in nodes]
    everywhere = set.intersection(*enabled)
    somewhere = set().union(*enabled)
    return all(i in taken for i in everywhere if i[0] == "weak") and \
        all(i in taken for i in somewhere if i[0] == "strong")


def reference(t: Table, kind: str) -> bool:
    """Whether a fair behaviour violates the property (brute force over edge subsets)."""
    states = set(range(N))
    bad = states - t.good
    if kind == "ev":
        if 0 in t.good:
            return False
        region = _reachable(t.edges, {0}, bad)
    else:
        trigger = states if kind == "inf" else t.premise
        region = _reachable(t.edges, {0}, states) & bad & trigger
        region = _reachable(t.edges, region, bad)
    for u in region:
        if not any(e[0] == u and e[1] != "plain" for e in t.edges):
            return True  # it may stutter there forever: nothing fair is enabled
    inner = tuple(e for e in t.edges if e[0] in region and e[3] in region)
    for r in range(1, len(inner) + 1):
        for sub in itertools.combinations(inner, r):
            if _strongly_connected(sub) and _fair(t.edges, sub):
                return True
    return False


@st.composite
def tables(draw: Any) -> Table:
    keys = draw(st.lists(st.tuples(st.integers(0, N - 1), st.sampled_from(FAMILIES), st.sampled_from(LABELS)),
                         max_size=8, unique=True))
    edges = tuple((s, f, k, draw(st.integers(0, N - 1))) for s, f, k in keys)
    good = frozenset(draw(st.sets(st.integers(0, N - 1), max_size=2)))
    return Table(edges, good, frozenset(draw(st.sets(st.integers(0, N - 1), max_size=2))))


def _check_lasso(t: Table, kind: str, r: Any) -> None:
    """The lasso is a behaviour of the graph, loops back, never meets the property, and is fair."""
    path = r.path
    assert path is not None and path.loop_start is not None
    k = path.loop_start
    for s, a, u in zip(path.states, path.actions, path.states[1:], strict=False):
        assert (s, a.name, a.kwargs["k"], u) in t.edges
    if k < len(path.actions):
        assert path.states[-1] == path.states[k]
        loop = tuple((s, a.name, a.kwargs["k"], u) for s, a, u in
                     zip(path.states[k:-1], path.actions[k:], path.states[k + 1:], strict=True))
        assert _fair(t.edges, loop)
    else:
        assert not any(e[0] == path.states[-1] and e[1] != "plain" for e in t.edges)
    if kind == "lt":
        start = next(j for j, s in enumerate(path.states) if s in t.premise and
                     not any(u in t.good for u in path.states[min(j, k):]))
        judged = path.states[min(start, k):]
    else:
        judged = path.states if kind == "ev" else path.states[k:]
    assert not any(s in t.good for s in judged)
    assert path.violation(kind) is not None


@settings(max_examples=300, deadline=None)
@given(tables(), st.sampled_from(["ev", "inf", "lt"]))
def test_the_lasso_search_agrees_with_brute_force_on_random_graphs(t: Table, kind: str) -> None:
    r = explore(Graph(t), properties=[kind])
    violated = r.verdict == "violated"
    assert violated == reference(t, kind), (t, kind, r.verdict, r.path and r.path.to_text())
    if violated:
        assert r.property == kind
        _check_lasso(t, kind, r)
