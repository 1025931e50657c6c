"""Liveness on the explored state graph: fair lassos, found with SCCs (TLC's approach).

A behaviour is an infinite path of the graph, or a finite one that then stutters forever in its
last state (TLA+: a spec ``Init /\\ [][Next]_vars /\\ Fairness`` allows stuttering anywhere).
Fairness is per action *instance* (a family with one choice of arguments): weak — an instance
enabled in every state from some point on is taken infinitely often; strong — an instance
enabled infinitely often is taken infinitely often.  So a behaviour may stop exactly where no
fair instance is enabled (a deadlock, or a state where only unfair actions such as a crash's
recovery could happen): what is not fair may never happen.

Every liveness property is checked as ``T ~> Q`` (``@eventually Q``: T = the initial states;
``@always_eventually Q``: T = every state; ``@leads_to(P) Q``: T = P).  A violation is a
reachable T-state from which a fair behaviour never meets Q: a lasso whose loop lies in a fair
strongly connected component of the graph restricted to the ``not Q`` states reachable (through
``not Q`` states) from ``T and not Q`` states, or a state there where it may stop.  A component is fair
when every weak instance enabled in all of its states is taken inside it and every strong
instance enabled in one of its states is taken inside it; a component failing only the strong
rule may still hold a fair one once the states enabling the untaken instance are removed, so
those are removed and its remainder split again (the standard algorithm).  The prefix is the
shortest (BFS) to such a component; the loop visits what fairness needs and returns.
"""

from __future__ import annotations

import sys
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..models.base import Action, Model, Property
from .checks import OWN
from .errors import Nondeterminism, model_error, refuse_false_non_bool
from .path import Path

NO_SUCC = -1


class EdgeStore:
    """The explored graph, packed: states get dense ids; each expanded state owns a range of
    edges, an edge being its target's id and its action instance's id (4 + 4 bytes)."""

    def __init__(self, model: Model[Any]) -> None:
        self.ids: dict[int, int] = {}
        self.codes: list[int] = []
        self.start = array("q")  # first edge of each state; NO_SUCC until it is expanded
        self.count = array("I")
        self.targets = array("I")
        self.insts = array("I")
        self.actions: list[Action] = []
        self._by_value: dict[Action, int] = {}
        self._by_id: dict[int, int] = {}  # id(action) -> instance, checked against ``actions``
        self.inits: list[int] = []
        self.model = model

    def __len__(self) -> int:
        return len(self.codes)

    def id(self, code: int) -> int:
        i = self.ids.get(code)
        if i is None:
            i = self.ids[code] = len(self.codes)
            self.codes.append(code)
            self.start.append(NO_SUCC)
            self.count.append(0)
        return i

    def instance(self, a: Action) -> int:
        k = self._by_id.get(id(a))
        if k is not None and self.actions[k] is a:
            return k
        k = self._by_value.get(a)
        if k is None:
            k = self._by_value[a] = len(self.actions)
            self.actions.append(a)
        self._by_id[id(a)] = k
        return k

    def add_initial(self, code: int) -> None:
        self.inits.append(self.id(code))

    def add(self, code: int, pairs: Sequence[tuple[Action, int]]) -> None:
        """Record the successors of an expanded state (once: a re-expansion adds nothing)."""
        i = self.id(code)
        if self.start[i] != NO_SUCC:
            return
        self.start[i] = len(self.targets)
        self.count[i] = len(pairs)
        ident, targets, insts = self.id, self.targets, self.insts
        for a, c in pairs:
            targets.append(ident(c))
            insts.append(self.instance(a))

    def expanded(self, i: int) -> bool:
        return self.start[i] != NO_SUCC

    def out(self, i: int) -> Iterable[tuple[int, int]]:
        """``(target, instance)`` of each edge out of ``i``."""
        b = self.start[i]
        if b == NO_SUCC:
            return ()
        e = b + self.count[i]
        return zip(self.targets[b:e], self.insts[b:e], strict=True)

    @property
    def edges(self) -> int:
        return len(self.targets)

    @property
    def edge_bytes(self) -> int:
        """The edge arrays' bytes (what grows with the edges)."""
        return len(self.targets) * self.targets.itemsize + len(self.insts) * self.insts.itemsize

    @property
    def nbytes(self) -> int:
        """Everything the store holds beyond the search's own tables: edges, per-state ranges, the id map."""
        per_state = len(self.start) * self.start.itemsize + len(self.count) * self.count.itemsize
        return self.edge_bytes + per_state + sys.getsizeof(self.ids) + sys.getsizeof(self.codes)


@dataclass
class Lasso:
    """A violating behaviour: ``ids[:loop_start + 1]`` is the prefix, ``ids[loop_start:]`` the loop
    (its last id equals ``ids[loop_start]``); no loop steps: it stutters in the last state."""

    ids: list[int]
    insts: list[int]
    loop_start: int


def fair_kinds(model: Model[Any], store: EdgeStore) -> list[str | None]:
    """The fairness of each recorded action instance."""
    by_family = model.fairness_by_family()
    return [by_family[a.family] for a in store.actions]


def find_lasso(store: EdgeStore, trigger: Callable[[int], bool] | None, good: Callable[[int], bool],
               fair: list[str | None]) -> Lasso | None:
    """The lasso with the shortest prefix to a fair ``not good`` component, entered from a
    ``trigger`` state (None: from the initial state itself) through ``not good`` states only."""
    n = len(store)
    bad = bytearray(n)
    for i in range(n):
        bad[i] = not good(i)
    trig = bytearray(n)
    for i in store.inits if trigger is None else range(n):
        trig[i] = bad[i] and (trigger is None or trigger(i))
    region = _reach(store, [i for i in range(n) if trig[i]], bad)
    part_of: dict[int, set[int] | None] = {}  # None: the behaviour may stop (stutter) there
    target = bytearray(n)
    for i in region:
        if may_stop(store, i, fair):
            part_of[i] = None
            target[i] = 1
    for comp in _sccs(store, region):
        for part in _fair_parts(store, comp, fair):
            members: set[int] | None = set(part)
            for i in part:
                if i not in part_of:
                    part_of[i] = members
                    target[i] = 1
    if not part_of:
        return None
    found = _prefix(store, trig, bad, target, from_start_only=trigger is None)
    if found is None:
        raise AssertionError("protoproof bug: a fair component inside the reachable region has no prefix")
    ids, insts = found
    entry = ids[-1]
    members = part_of[entry]
    loop_ids, loop_insts = ([entry], []) if members is None else _loop(store, entry, members, fair)
    return Lasso(ids + loop_ids[1:], insts + loop_insts, len(ids) - 1)


def _reach(store: EdgeStore, sources: list[int], allowed: bytearray) -> list[int]:
    """States reachable from ``sources`` through ``allowed`` states (sources included)."""
    seen = bytearray(len(store))
    out = []
    todo = deque(sources)
    for s in sources:
        seen[s] = 1
    while todo:
        u = todo.popleft()
        out.append(u)
        for v, _a in store.out(u):
            if allowed[v] and not seen[v]:
                seen[v] = 1
                todo.append(v)
    return out


def _sccs(store: EdgeStore, nodes: Iterable[int], inside: bytearray | None = None) -> list[list[int]]:
    """Strongly connected components of the subgraph on ``nodes`` (iterative Tarjan)."""
    node_list = list(nodes)
    if inside is None:
        inside = bytearray(len(store))
        for i in node_list:
            inside[i] = 1
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in node_list:
        if root in index:
            continue
        work: list[tuple[int, Any]] = [(root, iter([v for v, _a in store.out(root) if inside[v]]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            u, it = work[-1]
            advanced = False
            for v in it:
                if v not in index:
                    index[v] = low[v] = counter
                    counter += 1
                    stack.append(v)
                    on_stack.add(v)
                    work.append((v, iter([w for w, _a in store.out(v) if inside[w]])))
                    advanced = True
                    break
                if v in on_stack and index[v] < low[u]:
                    low[u] = index[v]
            if advanced:
                continue
            work.pop()
            if work:
                p = work[-1][0]
                if low[u] < low[p]:
                    low[p] = low[u]
            if low[u] == index[u]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == u:
                        break
                out.append(comp)
    return out


def may_stop(store: EdgeStore, i: int, fair: list[str | None]) -> bool:
    """Whether a behaviour may stutter forever in ``i``: it was expanded (its edges are all
    known) and no fair instance is enabled there."""
    return store.expanded(i) and all(fair[a] is None for _v, a in store.out(i))


def _fair_parts(store: EdgeStore, comp: list[int], fair: list[str | None]) -> list[list[int]]:
    """The fair components within ``comp`` (one SCC): itself, pieces of it, or none."""
    if len(comp) == 1:
        u = comp[0]
        if not any(v == u for v, _a in store.out(u)):
            return []  # a single state without a self-loop holds no cycle
    members = set(comp)
    enabled_everywhere: set[int] | None = None
    enabled_somewhere: set[int] = set()
    taken: set[int] = set()
    for u in comp:
        here = set()
        for v, a in store.out(u):
            if fair[a] is None:
                continue
            here.add(a)
            if v in members:
                taken.add(a)
        enabled_somewhere |= here
        enabled_everywhere = here if enabled_everywhere is None else enabled_everywhere & here
    if any(fair[a] == "weak" and a not in taken for a in enabled_everywhere or ()):
        return []  # a weak instance enabled throughout is never taken: no sub-cycle is fair either
    unfair_strong = {a for a in enabled_somewhere if fair[a] == "strong" and a not in taken}
    if not unfair_strong:
        return [comp]
    keep = [u for u in comp if not any(a in unfair_strong for _v, a in store.out(u))]
    return [part for sub in _sccs(store, keep) for part in _fair_parts(store, sub, fair)]


def _prefix(store: EdgeStore, trig: bytearray, bad: bytearray, target: bytearray, from_start_only: bool
            ) -> tuple[list[int], list[int]] | None:
    """Shortest path from an initial state to a ``target`` state, in two phases: anywhere, then,
    from a ``trig`` state on, through ``bad`` states only (``from_start_only``: no first phase,
    the path starts at a ``trig`` initial state).  Returns its ids and instances."""
    parent: dict[tuple[int, int], tuple[tuple[int, int], int] | None] = {}
    todo: deque[tuple[int, int]] = deque()

    def reach(node: tuple[int, int], via: tuple[tuple[int, int], int] | None) -> bool:
        if node in parent:
            return False
        parent[node] = via
        todo.append(node)
        v, phase = node
        if phase == 0 and trig[v]:
            return reach((v, 1), (node, -1))
        return phase == 1 and bool(target[v])

    end = None
    for i in store.inits:
        if from_start_only and not trig[i]:
            continue
        if reach((i, 1) if from_start_only else (i, 0), None):
            end = (i, 1)
            break
    while end is None and todo:
        u, phase = node = todo.popleft()
        for v, a in store.out(u):
            if (phase == 1 and not bad[v]):
                continue
            if reach((v, phase), (node, a)):
                end = (v, 1)
                break
    if end is None:
        return None
    ids, insts = [], []
    cur: tuple[int, int] | None = end
    while cur is not None:
        via = parent[cur]
        if via is None or via[1] != -1:  # a phase switch is no step
            ids.append(cur[0])
            if via is not None:
                insts.append(via[1])
        cur = None if via is None else via[0]
    ids.reverse()
    insts.reverse()
    return ids, insts


def _loop(store: EdgeStore, entry: int, comp: set[int], fair: list[str | None]) -> tuple[list[int], list[int]]:
    """A fair cycle from ``entry`` inside ``comp``: the shortest one if it is fair by itself, else
    one that takes each fair instance taken in ``comp`` and visits, for each other enabled weak
    one, a state where it is disabled (fair because ``comp`` is)."""
    short = _bfs_in(store, entry, comp, lambda u: u == entry, allow_empty=False)
    ids = [entry, *(u for u, _a in short)]
    if _cycle_is_fair(store, ids[:-1], [a for _u, a in short], fair):
        return ids, [a for _u, a in short]
    taken: set[int] = set()
    enabled: set[int] = set()
    for u in comp:
        for v, a in store.out(u):
            if fair[a] is not None:
                enabled.add(a)
                if v in comp:
                    taken.add(a)
    need_edge = set(taken)
    need_gap = enabled - taken  # weak instances disabled somewhere in comp (the component is fair)

    def meet(u: int) -> None:
        here = {a for _v, a in store.out(u)}
        need_gap.difference_update(need_gap - here)

    ids, insts = [entry], []
    meet(entry)
    while need_edge or need_gap:
        hop = _bfs_in(store, ids[-1], comp, lambda u: bool(need_gap - {a for _v, a in store.out(u)})
                      or any(a in need_edge and v in comp for v, a in store.out(u)), allow_empty=True)
        for u, a in hop:
            ids.append(u)
            insts.append(a)
            need_edge.discard(a)
            meet(u)
        u = ids[-1]
        meet(u)
        step = next(((v, a) for v, a in store.out(u) if a in need_edge and v in comp), None)
        if step is not None:
            ids.append(step[0])
            insts.append(step[1])
            need_edge.discard(step[1])
            meet(step[0])
    if len(ids) > 1 and ids[-1] == entry:
        return ids, insts  # the last requirement's step already came back
    for u, a in _bfs_in(store, ids[-1], comp, lambda u: u == entry, allow_empty=False):
        ids.append(u)
        insts.append(a)
    return ids, insts


def _cycle_is_fair(store: EdgeStore, states: list[int], insts: list[int], fair: list[str | None]) -> bool:
    """Whether repeating the cycle through ``states`` taking ``insts`` is fair."""
    taken = set(insts)
    enabled = [{a for _v, a in store.out(u) if fair[a] is not None} for u in states]
    everywhere = set.intersection(*enabled)
    return all(a in taken for here in enabled for a in here if fair[a] == "strong" or a in everywhere)


def _bfs_in(store: EdgeStore, src: int, comp: set[int], goal: Callable[[int], bool],
            allow_empty: bool) -> list[tuple[int, int]]:
    """The shortest steps ``[(state, instance), ...]`` inside ``comp`` from ``src`` to a goal state."""
    if allow_empty and goal(src):
        return []
    parent: dict[int, tuple[int, int]] = {}
    todo = deque([src])
    seen = {src}
    while todo:
        u = todo.popleft()
        for v, a in store.out(u):
            if v not in comp:
                continue
            if goal(v):
                steps = [(v, a)]
                while u != src:
                    p, b = parent[u]
                    steps.append((u, b))
                    u = p
                steps.reverse()
                return steps
            if v not in seen:
                seen.add(v)
                parent[v] = (u, a)
                todo.append(v)
    raise AssertionError("protoproof bug: no path inside a strongly connected component")


# ----- properties on the store ---------------------------------------------------------------------


def predicates(prop: Property, unpack: Callable[[int], Any], store: EdgeStore
               ) -> tuple[Callable[[int], bool] | None, Callable[[int], bool]]:
    """``(trigger, good)`` of ``prop`` on state ids, each evaluated once per state (trigger None:
    the initial states, for ``@eventually``)."""
    n = len(store)
    good = bytearray(n)
    trig = bytearray(n) if prop.kind == "leads_to" else None
    premise = prop.premise
    for i, c in enumerate(store.codes):
        s = unpack(c)
        good[i] = _holds(prop.name, prop.fn, s)
        if trig is not None and premise is not None:
            trig[i] = _holds(f"the premise of {prop.name}", premise, s)

    def ok(i: int) -> bool:
        return bool(good[i])

    if prop.kind == "eventually":
        return None, ok
    if trig is None:
        return (lambda _i: True), ok  # always_eventually: from any state on
    return (lambda i: bool(trig[i])), ok


def _holds(what: str, fn: Callable[[Any], bool], s: Any) -> bool:
    try:
        v = fn(s)
    except OWN:
        raise
    except Exception as e:
        raise model_error(f"property {what}", e, s, None, in_state=True) from e
    if not v:
        refuse_false_non_bool(what, v, s, None)
    return bool(v)


def lasso_path(model: Model[Any], store: EdgeStore, key: Callable[[Any], int], lasso: Lasso) -> Path:
    """The lasso as a ``Path`` rebuilt through the model's transitions (``loop_start`` set)."""
    first = store.codes[lasso.ids[0]]
    inits = [s for s in model.initial_states() if key(s) == first]
    if not inits:
        raise Nondeterminism("no initial state has the recorded code; init() is not deterministic")
    states = [inits[0]]
    actions = []
    for k, inst in enumerate(lasso.insts):
        a = store.actions[inst]
        t = model.step(states[-1], a)
        if t is None or key(t) != store.codes[lasso.ids[k + 1]]:
            raise Nondeterminism(f"re-running {a!r} did not reproduce a transition found during the search; "
                                 "transitions must be deterministic")
        states.append(t)
        actions.append(a)
    return Path(model, states, actions, loop_start=lasso.loop_start)


def check(model: Model[Any], store: EdgeStore, props: Sequence[Property], unpack: Callable[[int], Any],
          key: Callable[[Any], int], vacuous: list[str] | None = None) -> tuple[str, Path] | None:
    """The first liveness property of ``props`` violated, with its lasso; None if all hold.

    ``vacuous`` collects the ``@leads_to`` properties whose premise held in no stored state: they
    hold, but say nothing about the model (a bound or a default that never lets the premise
    happen), which the caller reports rather than letting "exhausted" read as a real check."""
    fair = fair_kinds(model, store)
    for p in props:
        trigger, good = predicates(p, unpack, store)
        if vacuous is not None and p.kind == "leads_to" and trigger is not None \
                and not any(trigger(i) for i in range(len(store))):
            vacuous.append(p.name)
        lasso = find_lasso(store, trigger, good, fair)
        if lasso is not None:
            return p.name, lasso_path(model, store, key, lasso)
    return None
