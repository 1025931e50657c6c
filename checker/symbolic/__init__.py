"""The same Python transitions, executed on z3 values.

A symbolic state has the concrete *shape* of a state (records, tuples) with z3 terms at the
leaves (``Sym``) and one z3 Bool per universe element in sets (``SymSet``).  The model's own
functions run on it unchanged; whenever Python needs a truth value (``if``, ``and``, ``in``
...), the path explorer answers from a replay prefix, records the decision and later re-runs
the function with the other answer, so every function becomes a finite list of
``(path condition, result)`` pairs: exactly the relation the z3 engines need.  Constructs that
cannot be executed soundly on z3 values raise ``SymbolicError`` naming the field and the
function, never a silent fallback.

The package by job: ``logic`` (errors, boolean helpers), ``search`` (the path oracle and
explorer), ``leaves``, ``sets`` and ``seqs`` (the symbolic values), ``encoding`` (one encoding
per schema type), ``relation`` (a model as a transition relation).  Every name is importable
from here.
"""

from __future__ import annotations

from .encoding import (
    _bad_shape,
    _record_items,
    _unsupported,
    decode,
    domain,
    eq,
    fresh,
    ite,
    leaf_eq,
    variables,
)
from .leaves import (
    _ENUMS,
    _UNION_VALUES,
    BOOL,
    ENUM,
    INT,
    UNION,
    Sym,
    _as_int,
    _cross_enum_eq,
    _cross_union_eq,
    _enum_sort,
    _floordiv,
    _hashable,
    _mod,
    _nm,
    _same_union,
    _text_refusal,
    union_encodable,
    union_values,
)
from .logic import (
    BoolLike,
    Nondeterminism,
    PathExplosion,
    SymbolicError,
    _mk,
    b_and,
    b_eq,
    b_ite,
    b_not,
    b_or,
    to_z3,
)
from .relation import (
    BAG_BOUND,
    STEP_TOTAL,
    Conjunct,
    Encoded,
    Instance,
    SymbolicModel,
    _call_args,
    check_reason,
    instances,
    interrupted,
    predicate_formula,
    relation_formula,
    safety_properties,
)
from .search import (
    _ORACLE,
    DEFAULT_MAX_PATHS,
    SymPath,
    _err,
    _flippable,
    _Oracle,
    current_function,
    decide,
    explore,
)
from .seqs import (
    SymSeq,
)
from .sets import (
    Collection,
    DynSet,
    GList,
    OutsideUniverse,
    SymSet,
    _value_eq,
    has_sym,
    match,
    truth,
)

__all__ = [
    "BAG_BOUND",
    "STEP_TOTAL",
    "BoolLike",
    "DynSet",
    "GList",
    "Nondeterminism",
    "OutsideUniverse",
    "PathExplosion",
    "Sym",
    "SymPath",
    "SymSeq",
    "SymSet",
    "SymbolicError",
    "SymbolicModel",
    "decode",
    "domain",
    "eq",
    "explore",
    "fresh",
    "instances",
    "interrupted",
]
