"""A model as a relation: each action instance's paths as ``T(X, Y)``, predicates as formulas over X."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ...models.actors import ActorSystem, constrained_step
from ...models.base import Action, Disabled, Model
from ...models.effects import BoundExceeded
from ...models.networks import NotInUniverse
from ...models.schema import Type
from ..interrupt import check as check_interrupt
from ..interrupt import request
from .encoding import decode, domain, eq, fresh, variables
from .logic import BoolLike, SymbolicError, b_and, b_not, b_or
from .search import DEFAULT_MAX_PATHS, SymPath, explore
from .sets import truth

#: The obligation that no reachable step sends more copies than a bag's ``max_copies``.
BAG_BOUND = "bag_bound"
#: The obligation that no reachable step raises (a model whose steps are total only on the
#: states its invariant allows, e.g. ``log[next_index - 2]``).
STEP_TOTAL = "steps_total"


def predicate_formula(paths: Sequence[SymPath]) -> BoolLike:
    """A predicate's paths as one formula: the disjunction of ``pc & result``."""
    return b_or(*(b_and(p.cond, truth(p.result)) for p in paths))


def relation_formula(ty: Type, paths: Sequence[SymPath], y: Any) -> BoolLike:
    """An action's paths as ``T(X, Y)``: some enabled path holds and ``Y`` is its result."""
    return b_or(*(b_and(p.cond, eq(ty, y, p.result, "next")) for p in paths if p.enabled))


# ----- a model, symbolically -------------------------------------------------------------


@dataclass
class Instance:
    """One action instance: the concrete function and the function run symbolically."""

    action: Action
    concrete: Callable[[Any], Any]
    symbolic: Callable[[Any], Any]
    forking: Callable[[Any], Any]


def _call_args(fn: Callable[..., Any], args: tuple[Any, ...]) -> Callable[[Any], Any]:
    def run(s: Any) -> Any:
        try:
            return fn(s, *args)
        except Disabled:
            return None

    return run


def has_constraint(model: Model[Any]) -> bool:
    """Whether ``model`` has a state constraint (TLC's CONSTRAINT, ``ActorSystem.constraint``)."""
    return isinstance(model, ActorSystem) and type(model).constraint is not ActorSystem.constraint


def instances(model: Model[Any], use_twin: bool = True, unconstrained: bool = False,
              constraint: Callable[[Any], bool] | None = None) -> list[Instance]:
    """Every action instance of ``model`` with its concrete and symbolic functions.

    ``unconstrained``: an actor system's steps without its state constraint (the caller conjoins
    the constraint on the successor once, see ``SymbolicModel.split_constraint``); ``constraint``:
    its steps under this constraint instead of its own."""
    from ..twin import twin

    out: list[Instance] = []
    if isinstance(model, ActorSystem):
        if constraint is not None:
            steps = [(a, constrained_step(f, constraint)) for a, f in model._instances()]
        else:
            steps = model._instances() if unconstrained and has_constraint(model) else model._compiled()
        for a, f in steps:
            out.append(Instance(a, f, twin(f) if use_twin else f, f))
        return out
    acts = getattr(model, "_actions", None)
    if not acts:
        raise SymbolicError(f"{type(model).__name__}: no @transition actions to encode symbolically")
    for _name, fn, insts in acts:
        tw = twin(fn) if use_twin else fn
        for a, args in insts:
            out.append(Instance(a, _call_args(fn, args), _call_args(tw, args), _call_args(fn, args)))
    return out


@dataclass
class Encoded:
    """An action instance's symbolic relation over the generic (X, Y)."""

    inst: Instance
    paths: list[SymPath]
    formula: BoolLike
    enabled: BoolLike
    seconds: float

    @property
    def name(self) -> str:
        return repr(self.inst.action)


@dataclass
class Conjunct:
    """A named predicate and its formula over X."""

    name: str
    fn: Callable[[Any], Any]
    formula: BoolLike
    paths: int
    #: One of the engines' own obligations (``bound_conjuncts``), not a property of the model's: a
    #: state breaking it is a model error (a step raises there), whatever the model's names.
    engine: bool = False


@dataclass
class SymbolicModel:
    """A model's transition relation and predicates over generic states X and Y, built once."""

    model: Model[Any]
    use_twin: bool = True
    max_paths: int = DEFAULT_MAX_PATHS
    #: Encode an actor system's steps without its state constraint and the constraint once, as
    #: ``constraint_y`` over Y: the same relation (a step is enabled iff its successor satisfies
    #: it), but one formula per step instead of one per path of every action (a bound on
    #: the messages in flight sums the bag's counts: thousands of ``+`` terms otherwise).  Only for
    #: engines that use the whole relation (``bmc``): each ``actions[i].formula`` alone then
    #: lacks the constraint.
    split_constraint: bool = False
    ty: Type = field(init=False)
    x: Any = field(init=False)
    y: Any = field(init=False)
    xvars: list[z3.ExprRef] = field(init=False)
    yvars: list[z3.ExprRef] = field(init=False)
    actions: list[Encoded] = field(init=False)
    build_s: float = field(init=False)

    def __post_init__(self) -> None:
        t0 = time.perf_counter()
        self.ty = self.model.state_type
        self.x = fresh(self.ty, "x")
        self.y = fresh(self.ty, "y")
        self.xvars = variables(self.ty, self.x)
        self.yvars = variables(self.ty, self.y)
        self.dom_x = domain(self.ty, self.x)
        self.dom_y = domain(self.ty, self.y)
        self.constraint_y: BoolLike = True
        if self.split_constraint and isinstance(self.model, ActorSystem) and has_constraint(self.model):
            raw = instances(self.model, self.use_twin, unconstrained=True)
            # A search's ``--constraint`` stays out of the fallback below: ``constraint_y`` applies it
            # to every step, and run inside a step its plain Python forks each of the step's paths
            # (a planted bug's defaults under a driver: over 4,096 paths in one step).
            own = getattr(self.model, "model_constraint", None)
            self.actions = [self._encode_split(r, i) for r, i in
                            zip(raw, instances(self.model, self.use_twin, constraint=own), strict=True)]
            # With its twin: run plainly, every ``all(...)`` over a bag's counts forks a path per count
            # and the run is repeated on each (minutes of the build, over 4,096 paths at larger bounds).
            user = getattr(self.model, "search_constraint", None)
            if own is not None and user is not None:  # each its own formula: see ``constrained``
                c = b_and(self.predicate("constraint", own).formula,
                          self.predicate("--constraint", user, use_twin=False).formula)
            else:
                c = self.predicate("constraint", self.model.constraint).formula
            self.constraint_y = self.at(c, self.yvars)
        else:
            self.actions = [self.encode(i) for i in instances(self.model, self.use_twin)]
        self.build_s = time.perf_counter() - t0

    def transition(self) -> BoolLike:
        """The whole relation ``T(X, Y)``: some action's step, into the type, and the constraint."""
        return b_and(b_or(*(e.formula for e in self.actions)), self.dom_y, self.constraint_y)

    def _encode_split(self, raw: Instance, constrained: Instance) -> Encoded:
        """The step without the constraint, or with the model's own where some successor leaves the
        state's type (a log beyond ``--max-log``): only the constraint's check makes that path
        disabled."""
        try:
            return self.encode(raw)
        except SymbolicError:
            return self.encode(constrained)

    def encode(self, inst: Instance, fn: Callable[[Any], Any] | None = None) -> Encoded:
        # A Ctrl-C whose exception was swallowed (raised inside a z3 object's ``__del__``) ends the
        # build here, not minutes later: building a large model's relation takes that long.
        check_interrupt()
        t0 = time.perf_counter()
        paths = explore(fn or inst.symbolic, (self.x,), repr(inst.action), self.max_paths, self.dom_x,
                        errors=True)
        f = relation_formula(self.ty, paths, self.y)
        en = b_or(*(p.cond for p in paths if p.enabled))
        return Encoded(inst, paths, f, en, time.perf_counter() - t0)

    def predicate(self, name: str, fn: Callable[[Any], Any], use_twin: bool | None = None) -> Conjunct:
        from ..twin import twin

        tw = twin(fn) if (self.use_twin if use_twin is None else use_twin) else fn
        paths = explore(tw, (self.x,), name, self.max_paths, self.dom_x)
        return Conjunct(name, fn, predicate_formula(paths), len(paths))

    def initial(self) -> BoolLike:
        """The model's initial states as one formula over the generic state X."""
        return b_or(*(self.state_eq(self.x, s) for s in self.model.initial_states()))

    def at(self, f: BoolLike, xs: Sequence[z3.ExprRef], ys: Sequence[z3.ExprRef] | None = None) -> BoolLike:
        """``f`` with X renamed to ``xs`` (and Y to ``ys``)."""
        if isinstance(f, bool):
            return f
        pairs = list(zip(self.xvars, xs, strict=True))
        if ys is not None:
            pairs += list(zip(self.yvars, ys, strict=True))
        return z3.substitute(f, *pairs) if pairs else f

    def step_vars(self, tag: str) -> tuple[Any, list[z3.ExprRef]]:
        v = fresh(self.ty, tag)
        return v, variables(self.ty, v)

    def state_eq(self, v: Any, s: Any) -> BoolLike:
        return eq(self.ty, v, s)

    def decode(self, v: Any, m: z3.ModelRef) -> Any:
        return decode(self.ty, v, m)

    def bound_conjuncts(self) -> list[Conjunct]:
        """``BAG_BOUND`` when some step can send into a full bag or outside the declared message
        universe: the explicit checker stops with ``BoundExceeded``/``NotInUniverse`` there, so
        the engines must show no reachable state takes that path."""
        over = [p.cond for e in self.actions for p in e.paths if p.overflow]
        steps = [e.inst.concrete for e in self.actions if any(p.overflow for p in e.paths)]

        def no_overflow(s: Any) -> bool:
            for step in steps:
                try:
                    step(s)
                except (BoundExceeded, NotInUniverse):
                    return False
                except Exception:
                    pass  # steps_total's concern
            return True

        out = [Conjunct(BAG_BOUND, no_overflow, b_not(b_or(*over)), len(over), engine=True)] if over else []
        raising = [p.cond for e in self.actions for p in e.paths if p.raised]
        if raising:
            fns = [e.inst.concrete for e in self.actions if any(p.raised for p in e.paths)]

            def total(s: Any) -> bool:
                for step in fns:
                    try:
                        step(s)
                    except (BoundExceeded, NotInUniverse):
                        pass  # bag_bound's concern
                    except Exception:
                        return False
                return True

            out.append(Conjunct(STEP_TOTAL, total, b_not(b_or(*raising)), len(raising), engine=True))
        return out

    def path_counts(self) -> dict[str, int]:
        return {e.name: len(e.paths) for e in self.actions}


def safety_properties(model: Model[Any], names: Sequence[str] | None = None) -> list[tuple[str, Callable[[Any], Any]]]:
    """The model's ``@always`` properties (all, or the named ones), as (name, fn)."""
    props = [(p.name, p.fn) for p in model.invariants]
    if names is None:
        return props
    known = {n for n, _f in props}
    for n in names:
        if n not in known:
            raise KeyError(f"{model.display_name} has no @always property {n!r}; "
                           f"@always properties: {', '.join(sorted(known))}")
    return [(n, f) for n, f in props if n in names]


def check_reason(s: z3.Solver) -> str:
    return s.reason_unknown() or "solver returned unknown"


def interrupted(s: z3.Solver) -> bool:
    """Whether the solver's last ``unknown`` is a Ctrl-C (z3 catches SIGINT during a check and says
    "interrupted from keyboard" or "canceled")."""
    why = s.reason_unknown()
    if "interrupted" in why or "canceled" in why:
        request()  # so that the engine's next ``interrupt.check()`` ends the run
        return True
    return False

