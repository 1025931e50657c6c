"""The state vocabulary: every value a protocol state may hold, declared as a type.

One declaration serves every consumer: it is TypeOK (``check``), an exact bijection onto
``range(size)`` that the explicit checker stores instead of the state (``pack``/``unpack``),
an enumerator and a sampler for random states, and the permutation action used by symmetry
reduction.  The z3 backend adds its symbolic view on top of the same objects.

Containers are fixed-shape (``Vec``, ``Tuple``, ``Record``), sets range over a declared
finite universe (``SetOf``) and sequences have a declared maximum length (``Seq``): nothing a
state holds is unbounded, so every state space declared here is finite.

The types live by job in ``types.py`` (the base and leaves), ``products.py`` (containers
and unions), ``sets.py`` (sets and sequences) and ``messages.py``; every name stays
importable from here.
"""

from __future__ import annotations

from .messages import fields_of, is_message, message, to_jsonable
from .products import BagOf, Channels, Record, Tuple, Union, Vec, _Product, move_positions
from .sets import Seq, SetOf
from .types import (
    _MEMO_LIMIT,
    Bool,
    BoolType,
    Enum,
    Id,
    Int,
    OneOf,
    Perm,
    SchemaError,
    Type,
    _Finite,
    _has_numbers,
    _same_kind,
)

__all__ = [
    "_MEMO_LIMIT",
    "BagOf",
    "Bool",
    "BoolType",
    "Channels",
    "Enum",
    "Id",
    "Int",
    "OneOf",
    "Perm",
    "Record",
    "SchemaError",
    "Seq",
    "SetOf",
    "Tuple",
    "Type",
    "Union",
    "Vec",
    "_Finite",
    "_Product",
    "_has_numbers",
    "_same_kind",
    "fields_of",
    "is_message",
    "message",
    "move_positions",
    "to_jsonable",
]
