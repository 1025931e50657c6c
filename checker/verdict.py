"""The verdict vocabulary shared by the explicit checker and the prover.

A bounded run is never called verified: ``exhausted`` means every reachable state of this
configuration was visited; ``bounded`` means a budget ran out first; ``proved`` is reserved
for inductive proofs; ``unknown`` is a solver that gave up or a check that could not run;
``conforms`` is a conformance run in which everything was compared and agreed;
``proved-formulas-only`` is a proof of hand-written formulas that were not tied to the model in
that run (nothing about the model is claimed); ``error`` is a model error (the model raised, or
its symbolic side disagrees with its Python).
"""

from __future__ import annotations

VIOLATED = "violated"
EXAMPLE_FOUND = "example_found"
EXHAUSTED = "exhausted"
BOUNDED = "bounded"
PROVED = "proved"
UNKNOWN = "unknown"
ERROR = "error"
CONFORMS = "conforms"
PROVED_FORMULAS_ONLY = "proved-formulas-only"

VERDICTS = (VIOLATED, EXAMPLE_FOUND, EXHAUSTED, BOUNDED, PROVED, UNKNOWN, ERROR, CONFORMS, PROVED_FORMULAS_ONLY)

#: Exit statuses of the command line, by verdict.
EXIT_OK = 0
EXIT_VIOLATED = 1
EXIT_USAGE = 2
EXIT_BOUNDED = 3
EXIT_MODEL_ERROR = 4
#: An exception nothing expected: a bug in protoproof.  Not 1, which a script reads as "violated".
EXIT_INTERNAL = 5

EXIT_BY_VERDICT = {
    EXHAUSTED: EXIT_OK,
    PROVED: EXIT_OK,
    CONFORMS: EXIT_OK,
    EXAMPLE_FOUND: EXIT_OK,
    VIOLATED: EXIT_VIOLATED,
    BOUNDED: EXIT_BOUNDED,
    UNKNOWN: EXIT_BOUNDED,
    PROVED_FORMULAS_ONLY: EXIT_BOUNDED,
    ERROR: EXIT_MODEL_ERROR,
}
