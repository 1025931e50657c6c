"""What a protocol is written in: ``Model``, ``@transition``, ``require``, properties, variants.

A model is a class whose configuration is a frozen dataclass (its fields become CLI options),
whose state is an immutable value described by a schema (``models.schema``), whose actions
are methods with parameters drawn from declared finite domains, and whose properties are
methods marked ``@always`` (safety), ``@sometimes`` (must be reachable, so the model is
not vacuous) or ``@eventually`` / ``@always_eventually`` / ``@leads_to`` (liveness, under
the fairness of ``@transition(fair=...)`` or ``Model.fairness()``).  Definition mistakes
raise ``ModelDefinitionError`` at construction, with the fix in the message.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from .schema import SchemaError, Type

S = TypeVar("S")


class ModelDefinitionError(Exception):
    """The model is written wrongly; the message says how to fix it."""


class ParameterError(ValueError):
    """A parameter value the model refuses (its range, ``_validate_config``): the caller's input,
    where any other ``ValueError`` while building the model is the model's own definition."""


class Disabled(Exception):
    """Raised by ``require`` when a guard is false: the action is not enabled."""


def require(cond: object) -> None:
    """Guard: the action is enabled only if ``cond`` holds (``return None`` is equivalent).

    A fresh exception each time: re-raising one shared instance grows its ``__traceback__``
    by the raising frames on every raise (and its ``__context__`` keeps the last handled
    exception), which kept every frame of a whole search alive.
    """
    if not cond:
        raise Disabled


@dataclass(frozen=True, slots=True)
class Action:
    """One action instance; its ``repr`` is valid Python, e.g. ``rm_prepare(rm=0)``."""

    name: str
    args: tuple[tuple[str, Any], ...] = ()
    family: int = dataclasses.field(default=0, compare=False)

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.args)})"

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.args)


@dataclass(frozen=True)
class Property:
    """A named predicate; ``kind`` is ``always``, ``sometimes``, ``step`` or a liveness kind
    (``LIVENESS``); a ``leads_to`` property's ``premise`` is its P in P ~> Q (``fn`` is Q)."""

    name: str
    kind: str
    fn: Callable[..., bool]
    doc: str
    premise: Callable[[Any], bool] | None = None


#: The kinds of liveness properties (checked on the state graph, under fairness).
LIVENESS = ("eventually", "always_eventually", "leads_to")
#: The fairness kinds an action family may have.
FAIRNESS = ("weak", "strong")


_TRANSITION = "_pp_transition"
_PROPERTY = "_pp_property"
_FAIR = "_pp_fair"
_PREMISE = "_pp_premise"
_TERMINAL = "_pp_terminal"
_EXPLAINS = "_pp_explains"


def marker_of(owner: type, attr: str, marker: str) -> Any:
    """The decorator's mark on ``attr``; an override without the decorator keeps its base's."""
    for klass in owner.__mro__:
        val = klass.__dict__.get(attr)
        if val is not None and hasattr(val, marker):
            return getattr(val, marker)
    return None


def transition(
    *, fair: str | None = None,
    **domains: str | Type | Callable[[Any], Iterable[Any]] | Iterable[Any],
) -> Callable[[Callable[..., Any]], Any]:
    """Mark a method ``(self, state, **params) -> next state | None`` as an action.

    Each parameter needs a domain: the name of a model attribute or method giving a finite
    iterable, or a function of the model.  ``fair="weak"`` / ``"strong"`` makes each instance
    of the action (the method with one choice of arguments) weakly / strongly fair for the
    liveness properties: TLA+'s ``\\A args : WF(A(args))``.
    """
    if fair is not None and fair not in FAIRNESS:
        raise ModelDefinitionError(f"@transition(fair={fair!r}): fairness is 'weak' or 'strong' (or None)")

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, _TRANSITION, dict(domains))
        setattr(fn, _FAIR, fair)
        return fn

    return mark


def _property(kind: str) -> Callable[..., Any]:
    def decorator(arg: Any = None) -> Any:
        def mark(fn: Callable[..., Any], name: str | None = None) -> Callable[..., Any]:
            setattr(fn, _PROPERTY, (kind, name or fn.__name__))
            return fn

        if callable(arg):
            return mark(arg)
        return lambda fn: mark(fn, arg)

    return decorator


#: ``@always`` / ``@always("name")``: a safety invariant, checked on every reachable state.
always = _property("always")
#: ``@sometimes``: a state satisfying it must be reachable (the model is not vacuous).
sometimes = _property("sometimes")
#: ``@step``: a predicate on every transition ``(state, action, next_state)``.
step = _property("step")
#: ``@eventually``: every fair behaviour reaches a state where it holds (TLA+'s <>P).
eventually = _property("eventually")
#: ``@always_eventually``: every fair behaviour satisfies it infinitely often ([]<>P).
always_eventually = _property("always_eventually")


def leads_to(premise: str | Callable[[Any, Any], bool], name: str | None = None) -> Callable[..., Any]:
    """``@leads_to(p)`` on ``q``: every fair behaviour that reaches a ``p`` state later reaches a
    ``q`` state (P ~> Q).  ``p`` is a method name or a function ``(self, state) -> bool``."""
    if not (isinstance(premise, str) or callable(premise)):
        raise ModelDefinitionError(f"@leads_to({premise!r}): give a method name or a function (self, state) -> bool")

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, _PROPERTY, ("leads_to", name or fn.__name__))
        setattr(fn, _PREMISE, premise)
        return fn

    return mark


def terminal(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``@terminal`` on ``(self, state) -> bool``: a state without successors where it holds is a
    proper end (not a ``--deadlock``); liveness judges it as a behaviour stuttering there."""
    setattr(fn, _TERMINAL, True)
    return fn


def explains(prop: str) -> Callable[[Callable[..., Any]], Any]:
    """``@explains("atomicity")`` on ``(self, state) -> str``: why ``prop`` is false in ``state``,
    in a few words naming nodes and values ("rm0 committed while rm2 aborted"), for the titles of
    counterexample pictures and the text report.  Called only on a state that violates ``prop``."""

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, _EXPLAINS, prop)
        return fn

    return mark


def variant(name: str, breaks: str | Sequence[str],
            defaults: Mapping[str, Any] | None = None) -> Callable[[type[M]], type[M]]:
    """Register a subclass as a buggy variant of its model, naming the property it breaks.

    ``defaults`` are the parameters the bug needs to show (``{"max_crashes": 1}`` for a bug that
    only a crash reveals): ``protoproof check MODEL --variant NAME`` starts from them, so the
    planted bug is found by default; a parameter given on the command line still wins."""

    def register(cls: type[M]) -> type[M]:
        cls.variant_name = name
        cls.breaks = (breaks,) if isinstance(breaks, str) else tuple(breaks)
        cls.variant_defaults = dict(defaults or {})
        known = {f.name for f in dataclasses.fields(cls.Config)} if dataclasses.is_dataclass(cls.Config) else set()
        unknown = sorted(set(cls.variant_defaults) - known)
        if unknown:
            raise ModelDefinitionError(f"variant {name!r}: defaults name no parameter of {cls.__name__}: "
                                       f"{', '.join(unknown)}")
        base = next((b for b in cls.__mro__[1:] if b.__dict__.get("variant_name") is None
                     and issubclass(b, Model) and b is not Model), None)
        if base is None:
            raise ModelDefinitionError(f"variant {name!r} must subclass a model")
        registry = base.__dict__.get("_variant_registry")
        if registry is None:
            registry = {}
            base._variant_registry = registry
        if name in registry:
            raise ModelDefinitionError(f"{base.__name__} has two variants named {name!r}")
        registry[name] = cls
        return cls

    return register


def param(default: Any, lo: int | None = None, hi: int | None = None, help: str = "", none: str = "") -> Any:
    """A Config field with its range and meaning, declared once: the model refuses a value
    outside ``lo..hi`` (``--rms must be between 1 and 12``), and ``protoproof list`` and
    ``check MODEL --help`` show them.  ``none`` says what an optional parameter left at ``None``
    means (``no bound``): printed instead of a bare ``None``."""
    return dataclasses.field(default=default, metadata={"lo": lo, "hi": hi, "help": help, "none": none})


def param_range(f: dataclasses.Field[Any]) -> tuple[int | None, int | None]:
    return f.metadata.get("lo"), f.metadata.get("hi")


def _check_ranges(config: Any) -> None:
    """Refuse a parameter outside its declared range, naming the command-line option."""
    for f in dataclasses.fields(config):
        lo, hi = param_range(f)
        v = getattr(config, f.name)
        if v is None:  # an optional parameter left unset
            continue
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            opt = "--" + f.name.replace("_", "-")
            raise ValueError(f"{opt} must be between {lo} and {hi}" if lo is not None and hi is not None
                             else f"{opt} must be at least {lo}" if lo is not None else f"{opt} must be at most {hi}")


@dataclass(frozen=True)
class NoConfig:
    """A model without parameters."""


def config_fields(config_cls: type) -> list[dataclasses.Field[Any]]:
    return list(dataclasses.fields(config_cls))



def where_raised(e: BaseException) -> str:
    """``ValueError: boom (at file.py:12)``: the innermost frame, one line."""
    frames = traceback.extract_tb(e.__traceback__)
    at = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(e).__name__}: {e}{at}"

class Model(Generic[S]):
    """A protocol: a state schema, initial states, actions and properties."""

    #: The command-line name (``protoproof check NAME``).
    name: ClassVar[str] = ""
    #: A frozen dataclass of the model's parameters.
    Config: ClassVar[type] = NoConfig
    #: Set by ``@variant`` on buggy subclasses.
    variant_name: ClassVar[str | None] = None

    @property
    def display_name(self) -> str:
        """How reports name the model: its command-line name, else its class's (a user model may have none)."""
        return self.name or type(self).__name__

    breaks: ClassVar[tuple[str, ...]] = ()
    #: The parameters a buggy variant needs to show its bug (``@variant(..., defaults=...)``).
    variant_defaults: ClassVar[dict[str, Any]] = {}
    _variant_registry: ClassVar[dict[str, type[Model[Any]]]]

    def __init__(self, config: Any = None, **params: Any) -> None:
        cfg_cls = type(self).Config
        if not (dataclasses.is_dataclass(cfg_cls) and cfg_cls.__dataclass_params__.frozen):  # type: ignore[attr-defined]
            raise ModelDefinitionError(
                f"{type(self).__name__}.Config must be a frozen dataclass (@dataclass(frozen=True))"
            )
        if config is None:
            known = {f.name for f in dataclasses.fields(cfg_cls)}
            unknown = sorted(set(params) - known)
            if unknown:
                raise TypeError(
                    f"{type(self).__name__} has no parameter {unknown[0]!r}; "
                    f"parameters: {', '.join(sorted(known)) or 'none'}"
                )
            # A buggy variant built by its class alone shows its bug, as on the command line.
            try:
                config = cfg_cls(**{**type(self).variant_defaults, **params})
            except ParameterError:
                raise
            except ValueError as e:  # the Config's own __post_init__ refused a value
                raise ParameterError(str(e)) from None
        elif params:
            raise TypeError("pass either a config or keyword parameters, not both")
        self.config = config
        try:
            _check_ranges(config)
            self._validate_config()
        except ParameterError:
            raise
        except ValueError as e:
            raise ParameterError(str(e)) from None
        self._schema = self.schema()
        if not isinstance(self._schema, Type):
            raise ModelDefinitionError(f"{type(self).__name__}.schema() must return a schema Type")
        self._properties = self._collect_properties()
        self._terminals = [getattr(self, attr) for attr, _fn in self._ordered(_TERMINAL)]
        self._fair_marks: dict[str, str | None] = {}
        self._actions = self._collect_actions()

    # ----- what an author writes --------------------------------------------------------
    def schema(self) -> Type:
        raise ModelDefinitionError(f"{type(self).__name__} must define schema()")

    def init(self) -> Iterable[S]:
        raise ModelDefinitionError(f"{type(self).__name__} must define init()")

    def refinements(self) -> list[Refinement]:
        """Abstract specs this model claims to refine (checked with its properties)."""
        return []

    def symmetry(self) -> dict[str, list[list[int]]] | None:
        """Interchangeable ids: ``{space: [[ids that may be permuted], ...]}`` or None."""
        return None

    def _validate_config(self) -> None:
        """Override to reject bad parameter values with a clear message (raise ValueError)."""

    def enumeration_refusal(self) -> str | None:
        """Why this configuration is too large to enumerate state by state (explicit ``check``), or None.

        A limit of every use belongs in ``_validate_config``; one that only enumeration cannot
        reach belongs here, so that the provers still take the configuration.
        """
        return None

    def fairness(self) -> dict[str, str]:
        """Action family -> ``"weak"`` / ``"strong"``; by default from ``@transition(fair=...)``.

        Override to declare it by family name (``action_families``); each instance of a fair
        family is fair on its own.
        """
        return {name: kind for name, kind in self._fair_marks.items() if kind is not None}

    def fault_families(self) -> list[str]:
        """Families that model faults (crash, loss, partition): never fair."""
        return []

    # ----- what the engines use ---------------------------------------------------------
    @property
    def state_type(self) -> Type:
        return self._schema

    @property
    def invariants(self) -> list[Property]:
        return [p for p in self._properties if p.kind == "always"]

    @property
    def sometimes_properties(self) -> list[Property]:
        return [p for p in self._properties if p.kind == "sometimes"]

    @property
    def step_properties(self) -> list[Property]:
        return [p for p in self._properties if p.kind == "step"]

    @property
    def liveness_properties(self) -> list[Property]:
        return [p for p in self._properties if p.kind in LIVENESS]

    @property
    def properties(self) -> list[Property]:
        return list(self._properties)

    def fairness_by_family(self) -> list[str | None]:
        """The fairness of each family, indexed like ``action_families`` (checked: known, not a fault)."""
        fams = self.action_families
        index = {f: k for k, f in enumerate(fams)}
        faults = set(self.fault_families())
        out: list[str | None] = [None] * len(fams)
        for fam, kind in self.fairness().items():
            where = f"{type(self).__name__}.fairness()"
            if kind not in FAIRNESS:
                raise ModelDefinitionError(f"{where}: {fam!r} has fairness {kind!r}; use 'weak' or 'strong'")
            if fam in faults:
                raise ModelDefinitionError(
                    f"{where}: {fam!r} is a fault (crash, loss, duplication, partition) and cannot be fair; "
                    "remove it (a fault may happen, it is never promised)")
            if fam not in index:
                raise ModelDefinitionError(
                    f"{where}: {fam!r} is no action family; families: {', '.join(fams)}")
            out[index[fam]] = kind
        return out

    def is_terminal(self, s: Any) -> bool:
        """Whether ``s`` satisfies a ``@terminal`` predicate (a proper end, not a deadlock)."""
        return any(fn(s) for fn in self._terminals)

    @property
    def action_families(self) -> list[str]:
        """Names under which coverage is counted, in declaration order."""
        return [name for name, _fn, _insts in self._actions]

    def initial_states(self) -> list[S]:
        try:
            got = self.init()
        except (ModelDefinitionError, SchemaError):
            raise
        except Exception as e:  # the author's init(): a model error (exit 4), never a crash read as a verdict
            raise ModelDefinitionError(f"{type(self).__name__}.init() raised {where_raised(e)}") from None
        try:
            states = list(got)
        except TypeError:
            states = None
        if got is None or states is None or (self._is_one_state(got)
                                            and not all(self._is_one_state(s) for s in states)):
            one = f" ([{got!r}])" if got is not None and self._is_one_state(got) else ""
            raise ModelDefinitionError(f"{type(self).__name__}.init() returned {got!r}: it must return a list of "
                                       f"initial states{one}")
        if not states:
            raise ModelDefinitionError(f"{type(self).__name__}.init() returned no state")
        for s in states:
            self.check_state(s, "initial state")
        return states

    def _is_one_state(self, v: Any) -> bool:
        """``v`` is itself a state of the schema (``init()`` returned ``S(0)`` for ``[S(0)]``)."""
        try:
            self._schema.check(v, "state")
        except Exception:
            return False
        return True

    def check_state(self, s: Any, what: str = "state") -> None:
        try:
            hash(s)
        except TypeError as e:
            raise SchemaError(f"{what} {s!r} is not hashable ({e}); use tuples and frozensets") from None
        self._schema.check(s, what)

    def successors(self, s: S) -> Iterator[tuple[Action, S]]:
        """Enabled actions and their results, in a deterministic order."""
        for _name, fn, insts in self._actions:
            for action, args in insts:
                try:
                    t = fn(s, *args)
                except Disabled:
                    continue
                if t is not None:
                    yield action, t

    def expander(self) -> Callable[[S], list[tuple[Action, S]]]:
        """``successors`` as a fast list-returning function (the checker's hot path)."""
        flat = [(fn, args, action) for _n, fn, insts in self._actions for action, args in insts]

        def expand(s: S) -> list[tuple[Action, S]]:
            out = []
            for fn, args, action in flat:
                try:
                    t = fn(s, *args)
                except Disabled:
                    continue
                if t is not None:
                    out.append((action, t))
            return out

        return expand

    def code_expander(self) -> Callable[[int], list[tuple[Action, int]]] | None:
        """``expander`` on packed codes (``state_type.pack``), where a model can do better.

        It must give exactly ``[(a, pack(t)) for a, t in expander()(unpack(code))]``; the
        checker compares the two on the first states it expands.  None: no such shortcut.
        """
        return None

    def general_path_reason(self) -> str | None:
        """Why ``code_expander`` declines (shown by ``check --json`` as ``expansion``), or None."""
        if type(self).code_expander is Model.code_expander:
            return f"{type(self).__name__} has no packed expander (Model.code_expander)"
        return None

    def actions(self) -> list[Action]:
        """Every action instance (for models whose actions do not depend on the state)."""
        return [a for _n, _fn, insts in self._actions for a, _args in insts]

    def step(self, s: S, action: Action) -> S | None:
        """Run only ``action`` (None if it is not enabled); its exceptions propagate."""
        table = self.__dict__.get("_by_action")
        if table is None:
            table = {a: (fn, args) for _n, fn, insts in self._actions for a, args in insts}
            self.__dict__["_by_action"] = table
        fn, args = table[action]
        try:
            t: S | None = fn(s, *args)
        except Disabled:
            return None
        return t

    def apply(self, s: S, action: Action) -> S | None:
        """The result of one named action, or None if it is not enabled in ``s``."""
        for a, t in self.successors(s):
            if a == action:
                return t
        return None

    def variants(self) -> dict[str, type[Model[Any]]]:
        return type(self).variants_of()

    @classmethod
    def variants_of(cls) -> dict[str, type[Model[Any]]]:
        for klass in cls.__mro__:
            if "_variant_registry" in klass.__dict__:
                return dict(klass.__dict__["_variant_registry"])
        return {}

    def with_variant(self, name: str | None) -> Model[Any]:
        """The same configuration, as the named buggy variant (or the correct model)."""
        if name is None:
            return self
        vs = self.variants()
        if name not in vs:
            known = ", ".join(sorted(vs)) or "none"
            raise KeyError(f"{type(self).__name__} has no variant {name!r}; variants: {known}")
        return vs[name](self.config)

    def describe_state(self, s: Any) -> dict[str, Any]:
        """Field name -> value, for display (records are flattened one level)."""
        from .schema import fields_of

        return fields_of(s) or {"state": s}

    def explain(self, prop: str, s: Any) -> str | None:
        """Why ``prop`` is false in ``s``, from the model's ``@explains(prop)`` method; None if it
        has none (or the method fails: an explanation must never hide the verdict it explains)."""
        for _attr, fn in self._ordered(_EXPLAINS):
            if getattr(fn, _EXPLAINS) == prop:
                try:
                    why = fn(self, s)
                except Exception:  # a display aid; the verdict stands without it
                    return None
                return str(why) if why else None
        return None

    # ----- definition checks ------------------------------------------------------------
    def _members(self) -> Iterator[tuple[str, Any]]:
        seen: set[str] = set()
        for klass in type(self).__mro__:
            for attr, val in klass.__dict__.items():
                if attr in seen:
                    continue
                seen.add(attr)
                yield attr, val

    def _ordered(self, marker: str) -> list[tuple[str, Callable[..., Any]]]:
        """Marked methods, base classes first, each in definition order (overrides keep place)."""
        order: list[str] = []
        for klass in reversed(type(self).__mro__):
            for attr, val in klass.__dict__.items():
                if callable(val) and hasattr(val, marker) and attr not in order:
                    order.append(attr)
        return [(attr, getattr(type(self), attr)) for attr in order]

    def _collect_properties(self) -> list[Property]:
        props: list[Property] = []
        names: dict[str, str] = {}
        for attr, fn in self._ordered(_PROPERTY):
            kind, pname = marker_of(type(self), attr, _PROPERTY)
            if pname in names:
                raise ModelDefinitionError(
                    f"{type(self).__name__}: two properties are named {pname!r} "
                    f"(methods {names[pname]} and {attr}); give one another name"
                )
            names[pname] = attr
            doc = inspect.getdoc(fn) or ""
            premise = self._premise(attr) if kind == "leads_to" else None
            props.append(Property(pname, kind, getattr(self, attr), doc.split("\n")[0], premise))
        if not any(p.kind == "sometimes" for p in props):
            raise ModelDefinitionError(
                f"{type(self).__name__} declares no @sometimes property: add one that a "
                "correct run must reach (e.g. all committed), so a vacuous model cannot pass"
            )
        return props

    def _premise(self, attr: str) -> Callable[[Any], bool]:
        """The P of ``@leads_to(P)`` on ``attr``, bound to this model."""
        p = marker_of(type(self), attr, _PREMISE)
        if isinstance(p, str):
            fn = getattr(self, p, None)
            if not callable(fn):
                raise ModelDefinitionError(
                    f"{type(self).__name__}.{attr}: @leads_to({p!r}) names no method of the model")
            return fn
        return functools.partial(p, self)

    def _collect_actions(self) -> list[tuple[str, Callable[..., Any], list[tuple[Action, tuple[Any, ...]]]]]:
        out = []
        for family, (attr, fn) in enumerate(self._ordered(_TRANSITION)):
            self._fair_marks[attr] = marker_of(type(self), attr, _FAIR)
            params = list(inspect.signature(fn).parameters)[2:]  # self, state
            combos = parameter_combos(self, attr, params, marker_of(type(self), attr, _TRANSITION), "transition")
            insts = [(Action(attr, combo, family), tuple(v for _p, v in combo)) for combo in combos]
            out.append((attr, getattr(self, attr), insts))
        if not out and type(self).successors is Model.successors:
            raise ModelDefinitionError(f"{type(self).__name__} declares no @transition")
        return out



def parameter_combos(owner: Any, attr: str, params: Sequence[str], domains: dict[str, Any],
                     decorator: str) -> list[tuple[tuple[str, Any], ...]]:
    """Every ``((param, value), ...)`` of ``owner.attr``'s parameters over their declared domains.

    A parameter without a domain, or a domain naming no parameter, is a definition error.
    """
    where = f"{type(owner).__name__}.{attr}"
    missing = [p for p in params if p not in domains]
    if missing:
        raise ModelDefinitionError(
            f"{where}: parameter {missing[0]!r} has no domain; "
            f"write @{decorator}({missing[0]}=...) with a finite iterable or a model attribute name"
        )
    extra = [d for d in domains if d not in params]
    if extra:
        raise ModelDefinitionError(f"{where}: domain {extra[0]!r} names no parameter of the method")
    values = [domain_values(owner, attr, p, domains[p]) for p in params]
    return [tuple(zip(params, combo, strict=True)) for combo in itertools.product(*values)]


def domain_values(owner: object, attr: str, param: str, dom: Any) -> list[Any]:
    """The values of a declared domain: an attribute name, a function of the owner, an iterable."""
    where = f"{type(owner).__name__}.{attr}"
    try:
        if isinstance(dom, str):
            dom = getattr(owner, dom)
        if callable(dom) and not isinstance(dom, Type):
            required = [
                p for p in inspect.signature(dom).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            dom = dom(owner) if required else dom()
        if isinstance(dom, Type):
            dom = list(dom.values())
        vals = list(dom)
    except Exception as e:
        raise ModelDefinitionError(f"{where}: the domain of {param!r} could not be evaluated: {e}") from e
    return vals


M = TypeVar("M", bound=Model[Any])


@dataclass(frozen=True)
class Refinement:
    """A claim that every step of this model is a step (or a stutter) of ``abstract``.

    ``mapping`` takes a concrete state to an abstract one; the checker verifies that the
    initial states map to abstract initial states and every transition to an abstract
    transition or to no change.
    """

    name: str
    abstract: Model[Any]
    mapping: Callable[[Any], Any]
