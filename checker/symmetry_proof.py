"""Why a symmetry-reduced run may be trusted: every checked property is proved invariant, or checked.

A reduced search expands one representative per orbit and evaluates properties on the states
it meets, one member of each orbit.  Its verdict equals the full search's when

1. the transition relation is symmetric: ``T(s, t)`` iff ``T(πs, πt)`` for every ``π`` of the
   declared group (then the orbit of every reachable state is reached);
2. every state predicate it evaluates (``@always``, ``@sometimes``) has one value on a whole
   orbit: ``P(s) == P(πs)`` for every ``π``;
3. every step check (``@step``, a refinement's "maps to an abstract step or a stutter", and a
   refinement's initial-state check) has one value on the orbit of a transition:
   ``C(s, t) == C(πs, πt)``.

Conditions 2 and 3 are discharged here, without sampling, in one of two ways:

- **proved (z3)**: for a fresh type-correct symbolic state ``X`` (and ``Y``), ``P(X) == P(g X)``
  is valid for each generator ``g`` of the group (the adjacent transpositions of each group of
  interchangeable ids).  Valid for every ``X``, it composes: ``P(g1 g2 X) = P(g2 X) = P(X)``, so
  the predicate is invariant under the whole group.  A refinement's step check is the formula
  ``M(X) == M(Y) or T_abs(M(X), M(Y))``, with ``M`` the mapping run on z3 values and ``T_abs`` the
  abstract model's relation; it is proved the same way over pairs ``(X, Y)``.  No assumption
  on how the mapping renames abstract ids is needed.
- **checked on every state**: where z3 cannot decide (the predicate does not run on z3 values,
  the solver answers unknown, or its counterexample does not reproduce concretely), the run
  evaluates the predicate on *every* renaming of *every* state whose value it computes, and
  stops with a definition error naming the property, the state and the renaming at the first
  difference.  The whole group is needed, not its generators: the search only meets one
  member ``t`` of each orbit, and ``P(g t) == P(t)`` for the generators ``g`` relates ``t`` only
  to its neighbours, which the search never evaluates.  With ``P(s) = (s[0] == x)`` and
  ``t = (y, y, x)``, swapping 0,1 or 1,2 keeps ``P(t)`` false while swapping 0,2 makes it true.
  A group larger than ``GROUP_LIMIT`` cannot be enumerated, and the run is refused.

If z3 finds a state where a predicate and its renaming differ, and the Python property
confirms it on the decoded state, the run is refused with that state and renaming.

Condition 1 is proved the same way where the model has a symbolic encoding: with ``T`` the
disjunction of every action's relation (``SymbolicModel``), ``T(X, Y) == T(gX, gY)`` is valid
for each generator.  A confirmed counterexample refuses the run.  Where the relation cannot be
built, part of it runs without a twin (then only a counterexample confirmed in Python is used),
or z3 does not decide, condition 1 is **checked on every
expanded state** instead: ``succ(π c) == π succ(c)`` for every ``π`` of the whole group at every
state ``c`` the search expands (``checks.SymmetryGuard``).  That suffices: the search expands the
representative ``c = σ r`` of each orbit it reaches; with ``π = σ⁻¹`` the check gives
``succ(r) = σ⁻¹ succ(c)``, so every successor of every member of the orbit has its orbit's
representative among ``succ(c)``, and by induction on a path from an initial state (all of which
are stored) every reachable orbit is reached.  Generators would not do: ``succ(g c) == g succ(c)``
relates ``c`` to its neighbour ``g c``, which the search never expands, so it says nothing about
``succ(g1 g2 c)``; a model whose one asymmetric step fires only at ``(g1 g2) c`` passes every
generator at every expanded state (``tests/checker/test_symmetry.py``, ``Backwards``).  Where the
group is too large to enumerate (``GROUP_LIMIT``), the declaration (``symmetric = True`` nodes,
``Model.symmetry()``) is assumed, spot-checked under every generator on the first expanded
states, and the run cannot be ``exhausted``: it ends ``bounded`` with "symmetry assumed, not
proved" (a reduced search could have missed orbits, so neither "every state was checked" nor "no
state satisfies this @sometimes" would be a promise).  When a ``@step`` property is checked, its
action argument can only be renamed by matching successors, so every expanded state is checked
under every renaming even where the transitions are proved.

The z3 proofs assume that a function's formula means what its Python means: ``conform`` checks
that for actions, property conformance for predicates and mappings.  As a guard (not a
justification), a proved predicate is still compared with its renamings on the first states the
run evaluates; a difference there means the formula misreads the Python (``x is CONST``).
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ..models.base import Model, Property, Refinement
from ..models.schema import BagOf, Channels, Perm, Record, Seq, SetOf, Tuple, Type, Vec, move_positions
from .symmetry import AsymmetricDefinition, Canonicalizer, SymmetryError, describe_perm, renamings

#: The largest group whose every element the fallback enumerates (6! = 720 renamings per state).
GROUP_LIMIT = 720
#: Per z3 query (milliseconds).
QUERY_TIMEOUT_MS = 20_000


# ----- the group ----------------------------------------------------------------------


def generators(canon: Canonicalizer) -> list[Perm]:
    """Adjacent transpositions of each group: they generate the full symmetric group of each."""
    out: list[Perm] = []
    for space, group in canon.groups:
        for a, b in itertools.pairwise(group):
            perm = {s: list(ids) for s, ids in canon.identity.items()}
            perm[space][a], perm[space][b] = b, a
            out.append(perm)
    return out


def group_size(canon: Canonicalizer) -> int:
    n = 1
    for _space, group in canon.groups:
        for k in range(2, len(group) + 1):
            n *= k
    return n


def group_elements(canon: Canonicalizer) -> list[Perm]:
    """Every renaming of the group except the identity (refused above ``GROUP_LIMIT``)."""
    size = group_size(canon)
    if size > GROUP_LIMIT:
        raise SymmetryError(
            f"the symmetry group has {size:,} renamings, more than the {GROUP_LIMIT} the run can check on "
            "every state; symmetry reduction is refused rather than sampled (run without --symmetry, or "
            "with fewer interchangeable ids)"
        )
    every = renamings(canon.identity, [[(space, group, order) for order in itertools.permutations(group)]
                                       for space, group in canon.groups])
    return [p for p in every if any(p[s] != canon.identity[s] for s in p)]


# ----- renaming a symbolic state --------------------------------------------------------


@functools.singledispatch
def permute_symbolic(ty: Type, v: Any, perm: Perm) -> Any:
    """``ty.permute`` on a symbolic value of ``ty`` (as ``symbolic.fresh`` builds it).

    The twin of the concrete renaming, one case per schema type: positions of containers
    indexed by an id space move, id leaves map through an ``If`` chain, a set's bit for ``e``
    becomes the bit of the element renamed to ``e``.  The result has the shape ``fresh`` gives,
    so ``symbolic.variables`` lists its terms in the order of the original's variables.
    """
    from .symbolic import INT, UNION, Sym

    if ty.size == 1:
        return ty.permute(v, perm)
    if not (ty.spaces() & perm.keys()):
        return v
    if not isinstance(v, Sym) or v.kind not in (INT, UNION):
        raise SymmetryError(f"no symbolic renaming for {ty.describe()}")
    if v.kind == INT:
        moves = [(z3.IntVal(x), z3.IntVal(ty.permute(x, perm))) for x in ty.values() if ty.permute(x, perm) != x]
    else:
        moves = []
        for c in range(ty.size):
            d = ty.pack(ty.permute(ty.unpack(c), perm))
            if d != c:
                moves.append((z3.IntVal(c), z3.IntVal(d)))
    if not moves:
        return v
    term = v.t
    for old, new in moves:
        term = z3.If(v.t == old, new, term)
    return Sym(term, v.kind, v.ty, f"π({v.name})")


@permute_symbolic.register
def _(ty: Record, v: Any, perm: Perm) -> Any:
    if ty.size == 1:
        return ty.permute(v, perm)
    items = v if ty._is_tuple else [getattr(v, n) for n in ty.names]
    parts = [permute_symbolic(t, x, perm) for t, x in zip(ty.parts, items, strict=True)]
    return tuple.__new__(ty.cls, parts) if ty._is_tuple else ty.cls(*parts)


@permute_symbolic.register
def _(ty: Vec, v: Any, perm: Perm) -> Any:
    if ty.size == 1:
        return ty.permute(v, perm)
    items = [permute_symbolic(ty.elem, x, perm) for x in v]
    return move_positions(items, perm.get(ty.index) if ty.index is not None else None)


@permute_symbolic.register
def _(ty: Tuple, v: Any, perm: Perm) -> Any:
    if ty.size == 1:
        return ty.permute(v, perm)
    items = [permute_symbolic(t, x, perm) for t, x in zip(ty.parts, v, strict=True)]
    return move_positions(items, perm.get(ty.index) if ty.index is not None else None)


@permute_symbolic.register
def _(ty: BagOf, v: Any, perm: Perm) -> Any:
    if ty.size == 1 or not (ty.spaces() & perm.keys()):
        return v if ty.size != 1 else ty.permute(v, perm)
    out: list[Any] = list(v)
    for k, x in enumerate(ty.universe):
        y = ty.item.permute(x, perm)
        if y not in ty._pos:
            raise SymmetryError(f"{y!r} (a renaming of {x!r}) is not in the declared universe")
        out[ty._pos[y]] = v[k]
    return tuple(out)


@permute_symbolic.register
def _(ty: SetOf, v: Any, perm: Perm) -> Any:
    from .symbolic import SymSet

    if ty.size == 1 or ty.elem is None or not (ty.spaces() & perm.keys()):
        return v if ty.size != 1 else ty.permute(v, perm)
    if not isinstance(v, SymSet):
        raise SymmetryError(f"no symbolic renaming for {ty.describe()} holding {v!r}")
    pos = {x: k for k, x in enumerate(ty.universe)}
    bits: list[Any] = list(v.bits)
    for k, x in enumerate(ty.universe):
        y = ty.elem.permute(x, perm)
        if y not in pos:
            raise SymmetryError(f"{y!r} (a renaming of {x!r}) is not in the declared universe of {ty.describe()}")
        bits[pos[y]] = v.bits[k]
    return SymSet(ty, bits, f"π({v.name})")


@permute_symbolic.register
def _(ty: Seq, v: Any, perm: Perm) -> Any:
    from .symbolic.seqs import SymSeq

    if ty.size == 1 or not (ty.spaces() & perm.keys()):
        return v if ty.size != 1 else ty.permute(v, perm)
    if not isinstance(v, SymSeq):
        raise SymmetryError(f"no symbolic renaming for {ty.describe()} holding {v!r}")
    # Positions do not move (a sequence is not indexed by ids): each slot is renamed, the length kept.
    return SymSeq([permute_symbolic(ty.elem, x, perm) for x in v.slots], v.n, f"π({v.name})")


@permute_symbolic.register
def _(ty: Channels, v: Any, perm: Perm) -> Any:
    raise SymmetryError(f"{ty.describe()} has no symbolic encoding")


# ----- the justification ------------------------------------------------------------------


@dataclass
class Justification:
    """How each checked property's symmetry was established (shown with the run's result)."""

    proved: list[str] = field(default_factory=list)
    checked: dict[str, str] = field(default_factory=dict)  # name -> why z3 did not prove it
    transitions: str = ""
    transitions_proved: bool = False
    #: Not proved, and checked under every renaming at every expanded state (see the module docstring).
    transitions_checked: bool = False
    group: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = []
        if self.proved:
            parts.append(f"proved (z3) for {', '.join(self.proved)}")
        if self.checked:
            parts.append(f"checked on every state for {', '.join(self.checked)}")
        return "symmetry: " + ("; ".join(parts) or "no property to justify")

    def to_json(self) -> dict[str, Any]:
        return {"proved": self.proved, "checked_on_every_state": self.checked, "transitions": self.transitions,
                "transitions_justified": self.transitions_status, "group_size": self.group}

    @property
    def transitions_status(self) -> str:
        """``proved`` (z3), ``checked`` (on every expanded state) or ``assumed`` (the run cannot be exhausted)."""
        return "proved" if self.transitions_proved else "checked" if self.transitions_checked else "assumed"



class _Prover:
    """Formulas over one fresh symbolic state ``X`` (and ``Y``), renamed by substitution."""

    def __init__(self, model: Model[Any]) -> None:
        from .symbolic import domain, fresh, variables

        self.ty = model.state_type
        self.x = fresh(self.ty, "sx")
        self.y = fresh(self.ty, "sy")
        self.xvars = variables(self.ty, self.x)
        self.yvars = variables(self.ty, self.y)
        self.dom = z3.And(_z3(domain(self.ty, self.x)), _z3(domain(self.ty, self.y)))

    def renamed(self, v: Any, perm: Perm) -> list[z3.ExprRef]:
        from .symbolic import variables

        return variables(self.ty, permute_symbolic(self.ty, v, perm))

    def formula(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        """The paths of ``fn`` run on z3 values (through its twin)."""
        from .symbolic import explore
        from .twin import twin

        return explore(twin(fn), args, name, background=self.dom)

    def differs_on_sample(self, model: Model[Any], f: z3.BoolRef, p: Property) -> str | None:
        """Why ``f`` is not ``p``'s Python on some initial or random state (None: it agrees on all).

        A proof about a formula says nothing about the property unless the two agree; this ties
        them on a deterministic sample before the proof is used (``conform`` ties them fully).
        """
        from .symbolic import eq
        from .tie import SAMPLE_SEED, SAMPLE_STATES, random_states_of

        states = [*model.initial_states(), *random_states_of(model, SAMPLE_STATES, SAMPLE_SEED)]
        solver = z3.Solver()
        solver.add(self.dom)
        for st in states:
            try:
                want = bool(p.fn(st))
            except Exception:
                continue  # a state the Python cannot evaluate says nothing about the formula
            if solver.check(_z3(eq(self.ty, self.x, st))) != z3.sat:
                return f"its state cannot be pinned in z3 ({model.describe_state(st)!r})"
            got = z3.is_true(solver.model().eval(f, model_completion=True))
            if got != want:
                return (f"its z3 formula is {got} where the Python is {want} on {model.describe_state(st)!r}"
                        " (run `protoproof conform` on the model)")
        return None

    def subst(self, f: Any, pairs: list[tuple[z3.ExprRef, z3.ExprRef]]) -> z3.BoolRef:
        f = _z3(f)
        return z3.substitute(f, *pairs) if pairs else f

    def valid(self, claim: z3.BoolRef) -> tuple[str, z3.ModelRef | None]:
        s = z3.Solver()
        s.set("timeout", QUERY_TIMEOUT_MS)
        s.add(self.dom, z3.Not(claim))
        r = s.check()
        if r == z3.unsat:
            return "proved", None
        if r == z3.sat:
            return "refuted", s.model()
        return "unknown", None


def _z3(f: Any) -> z3.BoolRef:
    return z3.BoolVal(f) if isinstance(f, bool) else f


def justify(model: Model[Any], canon: Canonicalizer, predicates: Sequence[Property],
            refinements: Sequence[Refinement], step_properties: Sequence[Property]) -> Justification:
    """Prove each predicate and refinement invariant under every generator, or mark it for checking.

    Raises ``SymmetryError`` when z3 finds a confirmed asymmetry, or when a fallback is needed and
    the group is too large to enumerate.
    """
    t0 = time.perf_counter()
    j = Justification(group=group_size(canon))
    gens = generators(canon)
    prover: _Prover | None = None
    why_not = ""
    try:
        prover = _Prover(model)
        renamed_x = [prover.renamed(prover.x, g) for g in gens]
    except Exception as e:  # the state type has no symbolic encoding: check everything concretely
        prover, why_not = None, _reason(e)
    for p in predicates:
        if prover is None:
            j.checked[p.name] = why_not
            continue
        verdict = _prove_predicate(model, prover, gens, renamed_x, canon, p)
        if verdict is None:
            j.proved.append(p.name)
        else:
            j.checked[p.name] = verdict
    for r in refinements:
        if prover is None:
            j.checked[r.name] = why_not
            continue
        verdict = _prove_refinement(prover, gens, r)
        if verdict is None:
            j.proved.append(r.name)
        else:
            j.checked[r.name] = verdict
    for sp in step_properties:
        j.checked[sp.name] = "a @step property's action is renamed only by matching successors"
    j.transitions_proved, j.transitions = _prove_transitions(model, canon, gens)
    if j.checked:
        group_elements(canon)  # refuses a group too large to enumerate
    j.seconds = time.perf_counter() - t0
    return j


def _reason(e: BaseException) -> str:
    msg = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {msg}"[:200]


def _prove_predicate(model: Model[Any], pr: _Prover, gens: list[Perm], renamed_x: list[list[z3.ExprRef]],
                     canon: Canonicalizer, p: Property) -> str | None:
    """None when proved for every generator; else why not (a confirmed asymmetry raises)."""
    from .symbolic import decode, predicate_formula
    from .twin import recording

    try:
        with recording() as fallbacks:
            f = _z3(predicate_formula(pr.formula(p.name, p.fn, pr.x)))
    except Exception as e:
        return f"z3 cannot run it ({_reason(e)})"
    if fallbacks:  # `is`, isinstance, ... are not translated there: the formula may not be the Python
        return f"part of it runs without a twin ({', '.join(sorted(fallbacks))})"
    differs = pr.differs_on_sample(model, f, p)
    if differs is not None:
        return differs
    for g, xs in zip(gens, renamed_x, strict=True):
        claim = f == pr.subst(f, list(zip(pr.xvars, xs, strict=True)))
        verdict, m = pr.valid(claim)
        if verdict == "proved":
            continue
        if verdict == "unknown":
            return "z3 answered unknown"
        assert m is not None
        s = decode(pr.ty, pr.x, m)
        t = pr.ty.permute(s, g)
        try:
            a, b = bool(p.fn(s)), bool(p.fn(t))
        except Exception as e:
            return f"z3 found a renaming that changes it, on a state where the Python raises ({_reason(e)})"
        if a != b:
            raise SymmetryError(
                f"property {p.name} is not symmetric: it is {a} on {model.describe_state(s)!r} and {b} after "
                f"renaming {describe_perm(g, canon.identity)}; symmetry reduction would be unsound (the "
                "property singles out particular ids); run without --symmetry"
            )
        return "z3's counterexample does not reproduce in Python (its formula differs from the Python)"
    return None


def _prove_refinement(pr: _Prover, gens: list[Perm], r: Refinement) -> str | None:
    """The step check ``M(X) == M(Y) or T_abs(M(X), M(Y))`` and the init check ``M(X) in Init_abs``."""
    from .symbolic import domain, eq, fresh, instances, relation_formula, variables

    try:
        aty = r.abstract.state_type
        paths = pr.formula(r.name, r.mapping, pr.x)
        names = iter(range(1 << 30))

        def abstract_var() -> tuple[Any, list[z3.ExprRef]]:
            a = fresh(aty, f"abs{next(names)}_{r.name}")
            return a, variables(aty, a)

        a, avars = abstract_var()
        maps_to = _z3(z3.Or(*[z3.And(*p.pc, _z3(eq(aty, a, p.result, "mapping"))) for p in paths])
                      if paths else z3.BoolVal(False))
        # T_abs over (A, B): the abstract model's actions, run on z3 values.
        b, bvars = abstract_var()
        acts = []
        for inst in instances(r.abstract):
            from .symbolic import explore

            ap = explore(inst.symbolic, (a,), repr(inst.action), background=domain(aty, a))
            acts.append(_z3(relation_formula(aty, ap, b)))
        t_abs = z3.Or(*acts) if acts else z3.BoolVal(False)
        inits = z3.Or(*[_z3(eq(aty, a, i, "init")) for i in r.abstract.initial_states()])
        dom_ab = z3.And(_z3(domain(aty, a)), _z3(domain(aty, b)))
    except Exception as e:
        return f"z3 cannot run the mapping or the abstract model ({_reason(e)})"

    def at(xs: list[z3.ExprRef], fresh_vars: list[z3.ExprRef]) -> z3.BoolRef:
        """``maps_to`` with X := xs and the abstract variable renamed to fresh_vars."""
        return pr.subst(maps_to, list(zip(pr.xvars, xs, strict=True)) + list(zip(avars, fresh_vars, strict=True)))

    def step_check(a1: list[z3.ExprRef], b1: list[z3.ExprRef]) -> z3.BoolRef:
        same = z3.And(*[u == v for u, v in zip(a1, b1, strict=True)]) if a1 else z3.BoolVal(True)
        return z3.Or(same, pr.subst(t_abs, list(zip(avars, a1, strict=True)) + list(zip(bvars, b1, strict=True))))

    def init_check(a1: list[z3.ExprRef]) -> z3.BoolRef:
        return pr.subst(inits, list(zip(avars, a1, strict=True)))

    for g in gens:
        vs = [abstract_var()[1] for _ in range(4)]  # M(X), M(Y), M(gX), M(gY)
        gx, gy = pr.renamed(pr.x, g), pr.renamed(pr.y, g)
        doms = [pr.subst(dom_ab, list(zip(avars, u, strict=True)) + list(zip(bvars, u, strict=True))) for u in vs]
        facts = z3.And(at(pr.xvars, vs[0]), at(pr.yvars, vs[1]), at(gx, vs[2]), at(gy, vs[3]), *doms)
        for what, claim in (("steps", step_check(vs[0], vs[1]) == step_check(vs[2], vs[3])),
                            ("initial states", init_check(vs[0]) == init_check(vs[2]))):
            verdict, _m = pr.valid(z3.Implies(facts, claim))
            if verdict != "proved":
                return f"z3 did not prove its check of {what} invariant ({verdict})"
    return None


def _prove_transitions(model: Model[Any], canon: Canonicalizer, gens: list[Perm]) -> tuple[bool, str]:
    """``T(X, Y) == T(gX, gY)`` for each generator: (proved, how the report puts it)."""
    from .symbolic import SymbolicModel, decode, variables
    from .twin import recording

    try:
        with recording() as fallbacks:
            sm = SymbolicModel(model)
        rel = z3.Or(*[_z3(a.formula) for a in sm.actions])
        renamed = [tuple(variables(sm.ty, permute_symbolic(sm.ty, v, g)) for v in (sm.x, sm.y)) for g in gens]
    except Exception as e:
        return False, f"not proved (z3 cannot encode them: {_reason(e)})"
    for g, (gx, gy) in zip(gens, renamed, strict=True):
        s = z3.Solver()
        s.set("timeout", QUERY_TIMEOUT_MS)
        s.add(_z3(sm.dom_x), _z3(sm.dom_y), z3.Not(rel == _z3(sm.at(rel, gx, gy))))
        r = s.check()
        if r == z3.unsat:
            continue
        if r != z3.sat:
            return False, "not proved (z3 answered unknown)"
        m = s.model()
        x, y = decode(sm.ty, sm.x, m), decode(sm.ty, sm.y, m)
        ty = model.state_type
        gx_c, gy_c = ty.permute(x, g), ty.permute(y, g)
        try:
            step = any(t == y for _a, t in model.successors(x))
            renamed_step = any(t == gy_c for _a, t in model.successors(gx_c))
        except Exception as e:
            return False, f"not proved (z3's counterexample raises in Python: {_reason(e)})"
        if step != renamed_step:
            which = "is a step, but not" if step else "is not a step, but is one"
            raise SymmetryError(
                f"the transitions of {model.name} are not symmetric: {model.describe_state(x)!r} -> "
                f"{model.describe_state(y)!r} {which} after renaming {describe_perm(g, canon.identity)} "
                "(a type-correct state, possibly unreachable); symmetry reduction would be unsound")
        return False, "not proved (z3's counterexample does not reproduce in Python)"
    if fallbacks:  # `is`, isinstance, ... ran as plain Python on z3 values: the formulas may not be the model's
        return False, ("not proved (z3 proved their formulas symmetric, but part of them runs without a twin: "
                       f"{', '.join(sorted(fallbacks))})")
    return True, "proved symmetric (z3)"


# ----- the fallback: every renaming of every evaluated state ------------------------------


def _differing(v: bool, perms: Sequence[Perm], value_under: Callable[[Perm], Any]) -> Perm | None:
    """The first renaming under which a check's value is not ``v`` (``None``: it is ``v`` under all)."""
    for g in perms:
        if bool(value_under(g)) != v:
            return g
    return None


def checked_on_every_state(p: Property, model: Model[Any], canon: Canonicalizer, perms: list[Perm]) -> Property:
    """``p`` evaluating itself on every renaming of its argument; a difference is a definition error."""
    return _renaming_checked(p, model, canon, perms, None)


def cross_checked(p: Property, model: Model[Any], canon: Canonicalizer, perms: list[Perm], first: int) -> Property:
    """A proved ``p`` that still compares renamings on the first ``first`` states it is given.

    Not a justification (the proof is): a cheap guard against a formula that does not mean what
    the Python means (``x is CONST`` on z3 values), which would make the proof about another
    predicate.  A difference found here is reported as such.
    """
    return _renaming_checked(p, model, canon, perms, first)


def _renaming_checked(p: Property, model: Model[Any], canon: Canonicalizer, perms: list[Perm],
                      first: int | None) -> Property:
    permute, fn, name = model.state_type.permute, p.fn, p.name
    left = [first]

    def check(s: Any) -> bool:
        v = bool(fn(s))
        if first is not None:
            if not left[0]:
                return v
            left[0] -= 1
        g = _differing(v, perms, lambda g: fn(permute(s, g)))
        if g is not None:
            why = ("; z3 proved its formula invariant, so the formula does not mean what the Python means "
                   "(run `protoproof conform` on the model)") if first is not None else ""
            raise AsymmetricDefinition(
                f"property {name} is not symmetric: it is {v} on the state below and {not v} after renaming "
                f"{describe_perm(g, canon.identity)}; the model declares ids interchangeable that this "
                f"property distinguishes (fix the property or the symmetry declaration, or run without "
                f"--symmetry){why}", s)
        return v

    return Property(p.name, p.kind, check, p.doc)


def checked_step(name: str, chk: Callable[[Any, Any, Any], bool], model: Model[Any], canon: Canonicalizer,
                 perms: list[Perm]) -> Callable[[Any, Any, Any], bool]:
    """An action-blind step check (a refinement's) evaluated on every renaming of each transition."""
    permute = model.state_type.permute

    def check(s: Any, a: Any, t: Any) -> bool:
        v = bool(chk(s, a, t))
        g = _differing(v, perms, lambda g: chk(permute(s, g), a, permute(t, g)))
        if g is not None:
            raise AsymmetricDefinition(
                f"refinement check {name} is not symmetric: it is {v} on the step {a!r} from the state below "
                f"and {not v} after renaming {describe_perm(g, canon.identity)}", s, a)
        return v

    return check


def checked_init(name: str, ok: Callable[[Any], bool], model: Model[Any], canon: Canonicalizer,
                 perms: list[Perm]) -> Callable[[Any], bool]:
    permute = model.state_type.permute

    def check(s: Any) -> bool:
        v = bool(ok(s))
        g = _differing(v, perms, lambda g: ok(permute(s, g)))
        if g is not None:
            raise AsymmetricDefinition(
                f"refinement {name} is not symmetric on initial states: it is {v} on the state below and "
                f"{not v} after renaming {describe_perm(g, canon.identity)}", s)
        return v

    return check


__all__ = ["GROUP_LIMIT", "AsymmetricDefinition", "Justification", "checked_init", "checked_on_every_state",
           "checked_step", "cross_checked", "describe_perm", "generators", "group_elements", "group_size", "justify",
           "permute_symbolic"]
