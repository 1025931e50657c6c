"""First-order machinery for parameterized (any-size) proofs, in the decidable style of
Ivy/mypyvy, shared by every protocol that has one.

A protocol declares a ``Signature`` (sorts; state symbols as relations), writes its
``Formulas`` once against a ``Logic`` (Init, one formula per action, the invariant, safety),
and gets: the z3 induction queries with the stratification (EPR) check (``prove``), and the
tie of those formulas to its Python model on small instances (``tie.conform``): the same
formula code evaluated on finite structures.  A protocol's proof module holds only its
vocabulary, formulas and tie instances; ``tests/checker/test_firstorder.py`` proves a lock
server with nothing else.

Modules: ``logic`` (connectives, quantifiers, signatures, states), ``formulas`` (the
protocol's side, frame conditions), ``epr`` (the alternation graph), ``prove`` (queries),
``tie`` (the model tie), ``result`` (what is reported, and the verdict).
"""

from .epr import alternation_edges, is_stratified
from .formulas import Conjunct, Formulas
from .logic import FiniteLogic, Form, Lazy, Logic, RelState, Signature, Term, Z3Logic, force
from .prove import Query, check_queries, describe, induction_queries
from .result import (
    EDGES,
    FULL,
    INVALID,
    VALID,
    WALKS,
    ConformResult,
    Instance,
    InstanceLike,
    Obligation,
    ParamProofResult,
    Tie,
    with_tie,
)
from .tie import Encoding, Struct, Unknown, conform, model_name, run_tie, source_commit

__all__ = [
    "EDGES", "FULL", "INVALID", "VALID", "WALKS", "ConformResult", "Conjunct", "Encoding", "FiniteLogic", "Form",
    "Formulas", "Instance", "InstanceLike", "Lazy", "Logic", "Obligation", "ParamProofResult", "Query",
    "RelState", "Signature", "Struct", "Term", "Tie", "Unknown", "Z3Logic", "alternation_edges",
    "check_queries", "conform", "describe", "force", "induction_queries", "is_stratified", "model_name",
    "run_tie", "source_commit", "with_tie",
]
