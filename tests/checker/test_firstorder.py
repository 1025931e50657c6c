"""The first-order library (``checker/firstorder``) is generic: a lock server, written here
against the library alone, is proved mutually exclusive for any number of nodes and tied to a
tiny explicit model; its planted bug fails the tie, a missing conjunct gives a counterexample,
and the frame conditions' set shortcut means what the quantifiers say."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import pytest
import z3

from protoproof.checker.firstorder import (
    EDGES,
    INVALID,
    VALID,
    ConformResult,
    Conjunct,
    Encoding,
    FiniteLogic,
    Form,
    Formulas,
    Instance,
    ParamProofResult,
    RelState,
    Signature,
    Struct,
    Tie,
    Z3Logic,
    alternation_edges,
    check_queries,
    conform,
    describe,
    induction_queries,
    is_stratified,
    run_tie,
    with_tie,
)
from protoproof.checker.verdict import ERROR, PROVED, PROVED_FORMULAS_ONLY, UNKNOWN
from protoproof.models.base import Model, always, sometimes, transition, variant
from protoproof.models.schema import Bool, Record, Type, Vec

# ----- the explicit model: a lock server and its clients (Ivy's classic example) ---------------


class LS(NamedTuple):
    free: bool
    lock_msg: tuple[bool, ...]
    grant_msg: tuple[bool, ...]
    holds: tuple[bool, ...]
    unlock_msg: tuple[bool, ...]


@dataclass(frozen=True)
class LockConfig:
    nodes: int = 2


def _put(v: tuple[bool, ...], n: int, x: bool) -> tuple[bool, ...]:
    return v[:n] + (x,) + v[n + 1:]


class LockServer(Model[LS]):
    """A client asks for the lock, the server grants it if free, the client holds it, releases
    it with an unlock message, and the server takes it back."""

    name = "lockserver"
    Config = LockConfig

    def schema(self) -> Type:
        n = self.config.nodes
        return Record(LS, free=Bool, lock_msg=Vec(Bool, n, index="node"), grant_msg=Vec(Bool, n, index="node"),
                      holds=Vec(Bool, n, index="node"), unlock_msg=Vec(Bool, n, index="node"))

    def node_ids(self) -> range:
        return range(self.config.nodes)

    def init(self) -> list[LS]:
        no = (False,) * self.config.nodes
        return [LS(True, no, no, no, no)]

    @transition(n="node_ids")
    def request(self, s: LS, n: int) -> LS:
        return s._replace(lock_msg=_put(s.lock_msg, n, True))

    def may_grant(self, s: LS) -> bool:
        return s.free

    @transition(n="node_ids")
    def grant(self, s: LS, n: int) -> LS | None:
        if not (s.lock_msg[n] and self.may_grant(s)):
            return None
        return s._replace(free=False, lock_msg=_put(s.lock_msg, n, False), grant_msg=_put(s.grant_msg, n, True))

    @transition(n="node_ids")
    def acquire(self, s: LS, n: int) -> LS | None:
        if not s.grant_msg[n]:
            return None
        return s._replace(grant_msg=_put(s.grant_msg, n, False), holds=_put(s.holds, n, True))

    @transition(n="node_ids")
    def release(self, s: LS, n: int) -> LS | None:
        if not s.holds[n]:
            return None
        return s._replace(holds=_put(s.holds, n, False), unlock_msg=_put(s.unlock_msg, n, True))

    @transition(n="node_ids")
    def take_back(self, s: LS, n: int) -> LS | None:
        if not s.unlock_msg[n]:
            return None
        return s._replace(free=True, unlock_msg=_put(s.unlock_msg, n, False))

    @always
    def mutual_exclusion(self, s: LS) -> bool:
        """At most one node holds the lock."""
        return sum(s.holds) <= 1

    @sometimes
    def held(self, s: LS) -> bool:
        """Someone holds the lock."""
        return any(s.holds)


@variant("grant-while-held", breaks="mutual_exclusion")
class GrantWhileHeld(LockServer):
    """The server grants without checking that it has the lock."""

    def may_grant(self, s: LS) -> bool:
        return True


# ----- the parameterized proof, written only against the library ----------------------------

NODE = "node"
LOCK = Signature([NODE], {"free": [], "lock_msg": [NODE], "grant_msg": [NODE], "holds": [NODE],
                          "unlock_msg": [NODE]})


class LockFormulas(Formulas):
    """The lock server over any number of nodes; ``permissive`` grants without the lock."""

    signature = LOCK
    actions = ("request", "grant", "acquire", "release", "take_back")
    action_params: ClassVar[Mapping[str, Sequence[str]]] = {a: [NODE] for a in actions}

    def __init__(self, logic: Any, permissive: bool = False) -> None:
        super().__init__(logic)
        self.permissive = permissive

    def init(self, s: RelState) -> Form:
        L = self.L
        return L.and_(s.free(), *(lambda r=r: L.forall([NODE], lambda n: L.not_(s.rel(r)(n)))
                                  for r in ("lock_msg", "grant_msg", "holds", "unlock_msg")))

    def _move(self, s: RelState, t: RelState, n: Any, src: str, dst: str) -> Form:
        """The token (or request) of ``n`` moves from relation ``src`` to ``dst``."""
        rest = [r for r in (src, dst) if r != "free"]
        return self.L.and_(
            s.free() if src == "free" else s.rel(src)(n),
            self.remove(s, t, src, () if src == "free" else (n,)),
            self.add(s, t, dst, () if dst == "free" else (n,)),
            *self.unchanged_except(s, t, src, dst, *rest))

    def step(self, name: str, s: RelState, t: RelState, *w: Any) -> Form:
        L, (n,) = self.L, w
        if name == "request":
            return L.and_(self.add(s, t, "lock_msg", (n,)), *self.unchanged_except(s, t, "lock_msg"))
        if name == "grant":
            return L.and_(
                s.lock_msg(n), lambda: True if self.permissive else s.free(),
                self.remove(s, t, "free", ()), self.remove(s, t, "lock_msg", (n,)),
                self.add(s, t, "grant_msg", (n,)), *self.unchanged_except(s, t, "free", "lock_msg", "grant_msg"))
        src, dst = {"acquire": ("grant_msg", "holds"), "release": ("holds", "unlock_msg"),
                    "take_back": ("unlock_msg", "free")}[name]
        return self._move(s, t, n, src, dst)

    def safety(self, s: RelState) -> Form:
        L = self.L
        return L.forall([NODE, NODE], lambda a, b: L.implies(L.and_(s.holds(a), lambda: s.holds(b)),
                                                              lambda: L.eq(a, b)))

    def invariant(self) -> list[Conjunct]:
        """One token: the free lock, a grant, a holder or an unlock message, never two."""
        L = self.L
        tokens = ("grant_msg", "holds", "unlock_msg")

        def free_alone(s: RelState) -> Form:
            return L.implies(s.free(), lambda: L.forall([NODE], lambda n: L.and_(
                *(lambda r=r: L.not_(s.rel(r)(n)) for r in tokens))))

        def unique(s: RelState) -> Form:
            return L.forall([NODE, NODE], lambda a, b: L.and_(*(
                lambda r1=r1, r2=r2: L.implies(L.and_(s.rel(r1)(a), lambda: s.rel(r2)(b)),
                                               lambda: L.and_(r1 == r2, lambda: L.eq(a, b)))
                for r1 in tokens for r2 in tokens)))

        return [Conjunct("free_alone", "a free lock is the only token", free_alone),
                Conjunct("one_token", "at most one grant, holder or unlock message", unique)]


class LockStruct(Struct):
    signature = LOCK


def prove_lock(*, without: Sequence[str] = (), tie: bool = True, model_class: type[LockServer] = LockServer,
               instances: Sequence[Instance] = (Instance.of(nodes=1), Instance.of(converse_sample=20, nodes=3)),
               permissive: bool = False) -> ParamProofResult:
    sorts = LOCK.z3_sorts()
    P = LockFormulas(Z3Logic(sorts), permissive)
    s, t = LOCK.z3_state(sorts, ""), LOCK.z3_state(sorts, "'")
    conj = [c for c in P.invariant() if c.name not in without]
    result = ParamProofResult(UNKNOWN, "lockserver", {"nodes": "any"}, conjuncts=[c.name for c in conj])
    queries = [*induction_queries(P, conj, s, t, "mutual_exclusion")]
    check_queries(result, [], queries, 30, False, describe(LOCK, sorts))
    tied = run_tie(model_class, instances, lambda inst: conform_lock(model_class, inst, permissive)) if tie else None
    return with_tie(result, tied)


def conform_lock(cls: type[LockServer], inst: Instance, permissive: bool = False) -> ConformResult:
    model = cls(**inst.model_params())
    n = model.config.nodes
    P = LockFormulas(FiniteLogic({NODE: n}), permissive)

    def encode(s: LS) -> Struct:
        return LockStruct((frozenset({()} if s.free else ()),
                           *(frozenset((k,) for k in range(n) if v[k])
                             for v in (s.lock_msg, s.grant_msg, s.holds, s.unlock_msg))))

    def compare(st: RelState, s: LS) -> list[str]:
        same = (P.safety(st) is True) == model.mutual_exclusion(s)
        return [] if same else [f"(c) mutual exclusion differs between formula and model on {s!r}"]

    enc = Encoding(LockStruct, {NODE: n}, encode, lambda a: a.name, compare=compare)
    res = ConformResult("lockserver", inst, model=type(model).__name__)
    return conform(model, P, enc, res)


# ----- the tests ---------------------------------------------------------------------------


def test_a_lock_server_written_only_against_the_library_is_proved_for_any_number_of_nodes() -> None:
    r = prove_lock()
    assert r.verdict == PROVED and r.formulas == PROVED, "\n".join(r.to_lines())
    assert len(r.obligations) == 2 * (1 + len(LockFormulas.actions)) + 1
    assert all(o.result == VALID and o.stratified for o in r.obligations)
    assert r.obligations[-1].name == "inv => mutual_exclusion"
    assert r.to_lines()[0] == "prove lockserver (parameterized: any number of nodes): proved"
    # The tie walked what the explicit checker reaches (8 and 80 states, 15 and 324 edges).
    assert r.tie is not None and r.tie.ok
    assert [(x.checks["states"], x.checks["edges"]) for x in r.tie.instances] == [(8, 15), (80, 324)]
    assert all(x.checks["converse_successors"] > 0 for x in r.tie.instances)


def test_the_lock_proof_without_the_tie_is_about_the_formulas_only() -> None:
    r = prove_lock(tie=False)
    assert r.verdict == PROVED_FORMULAS_ONLY and r.to_json()["tied"] is False


def test_a_lock_server_granting_while_held_fails_the_tie_and_the_proof_is_an_error() -> None:
    r = prove_lock(model_class=GrantWhileHeld)
    assert r.verdict == ERROR and r.formulas == PROVED, "\n".join(r.to_lines())
    # Even one node sees it: a holder asks again and is granted a second time.
    assert r.tie is not None and [x.ok for x in r.tie.instances] == [False] and len(r.tie.not_run) == 1
    bad = r.tie.instances[0].mismatches
    assert bad[0].startswith("(b) edge grant(n=0) from LS(free=False") and "no transition formula" in bad[0]
    assert "`protoproof check lockserver --nodes 1`" in r.reason


def test_a_lock_formula_more_permissive_than_the_model_is_caught_by_the_converse_check() -> None:
    res = conform_lock(LockServer, Instance.of(nodes=2), permissive=True)
    assert res.mismatches and all(m.startswith("(d) grant allows") for m in res.mismatches)
    assert conform_lock(LockServer, Instance.of(EDGES, nodes=2), permissive=True).ok  # (d) is what sees it


def test_dropping_a_lock_conjunct_gives_a_counterexample_to_induction() -> None:
    r = prove_lock(without=["free_alone"], tie=False)
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive: ")
    assert any(o.result == INVALID for o in r.obligations)
    name, elements, *states = r.counterexample
    assert name == r.reason.removeprefix("not inductive: ") and elements.startswith("node: n0")
    assert states[0].startswith("pre: ") and "free" in states[0]


def test_the_frame_conditions_on_sets_agree_with_the_expanded_quantifiers() -> None:
    """``same``, ``add``, ``remove`` and ``assign`` decide the same on sets as over the domains,
    for relations of arity 0 to 3."""
    sig = Signature(["a", "b"], {"p": [], "q": ["a"], "r": ["a", "b"], "u": ["a", "b", "b"]})

    class S(Struct):
        signature = sig

    sizes = {"a": 2, "b": 3}
    F = type("F", (Formulas,), {"signature": sig, "actions": (), "action_params": {}})(FiniteLogic(sizes))
    domain = {n: list(itertools.product(*(range(sizes[x]) for x in args))) for n, args in sig.relations.items()}
    rng = random.Random(3)

    def rand() -> S:
        return S(tuple(frozenset(x for x in domain[n] if rng.random() < 0.4) for n in sig.names))

    def near(st: S) -> S:
        rels = list(st.rels)
        k = rng.randrange(len(rels))
        rels[k] = rels[k] ^ {rng.choice(domain[sig.names[k]])}
        return S(tuple(rels))

    seen = []
    for _ in range(400):
        pre = rand()
        post = near(pre) if rng.random() < 0.8 else pre
        name = rng.choice(sig.names)
        tup = rng.choice(domain[name])
        fast, slow = (pre.state(), post.state()), (pre.state(False), post.state(False))
        pairs = [(F.add(*fast, name, tup), F.add(*slow, name, tup)),
                 (F.remove(*fast, name, tup), F.remove(*slow, name, tup)),
                 (F.L.and_(*F.unchanged_except(*fast, name)), F.L.and_(*F.unchanged_except(*slow, name)))]
        if sig.relations[name]:
            a0, rel = tup[0], pre.rels[sig.names.index(name)]

            def new(*x: int, a0: int = a0, rel: frozenset[tuple[int, ...]] = rel) -> bool:
                return (a0, *x) in rel or sum(x) % 2 == 0

            pairs.append((F.assign(*fast, name, a0, new), F.assign(*slow, name, a0, new)))
        for on_sets, expanded in pairs:
            f, g = F.L.and_(on_sets), F.L.and_(expanded)
            assert f is g, (name, tup, pre, post)
            seen.append(f)
    assert seen.count(True) > 0 and seen.count(False) > 0


def test_a_query_is_stratified_exactly_when_its_sort_graph_has_no_cycle() -> None:
    A, B = z3.DeclareSort("A"), z3.DeclareSort("B")
    p = z3.Function("p", A, B, z3.BoolSort())
    x, y = z3.Const("x", A), z3.Const("y", B)
    a_to_b = z3.ForAll([x], z3.Exists([y], p(x, y)))
    b_to_a = z3.ForAll([y], z3.Exists([x], p(x, y)))
    assert alternation_edges([a_to_b]) == {("A", "B")} and is_stratified(alternation_edges([a_to_b]))
    assert not is_stratified(alternation_edges([a_to_b, b_to_a]))
    # Negated, a universal under an existential is no edge: the goal side of a query.
    assert alternation_edges([z3.Not(z3.Exists([y], z3.ForAll([x], p(x, y))))]) == {("B", "A")}
    f = z3.Function("f", A, A)
    assert not is_stratified(alternation_edges([z3.ForAll([x], p(f(x), z3.Const("c", B)))]))


def test_a_relation_over_an_undeclared_sort_is_a_definition_error() -> None:
    with pytest.raises(ValueError, match="undeclared sort 'c'"):
        Signature(["a"], {"r": ["a", "c"]})
    with pytest.raises(ValueError, match="must be an identifier"):
        Signature(["a"], {"sets": ["a"]})


def test_a_tie_stops_at_the_first_failing_instance() -> None:
    tie: Tie[ConformResult] = run_tie(GrantWhileHeld, [Instance.of(nodes=2), Instance.of(nodes=3)],
                                      lambda inst: conform_lock(GrantWhileHeld, inst))
    assert not tie.ok and len(tie.instances) == 1 and [str(x) for x in tie.not_run] == ["nodes 3"]
    assert tie.to_json()["instances"][0]["nodes"] == 2
