"""An ``UnorderedBag``'s counts on z3: a send whose fields are symbolic bumps every count by a formula.

The explicit bag finds its envelope's count by hashing; a symbolic envelope cannot be hashed,
so here each universe envelope's count becomes ``ite(env == u, count + by, count)`` (one
formula per envelope, no fork).  The bound is decided once per send, on one formula ("some
matching count would exceed ``max_copies``"): on that path the bump raises ``BoundExceeded``
exactly as the explicit bag does, and the path explorer turns it into an overflow obligation
the engines check (``SymPath.overflow``), never a silently dropped successor.

A send whose symbolic fields may fall outside the declared universe is treated the same way:
on the path where it does, the bump raises ``OutsideMessageUniverse`` (a ``BoundExceeded``),
so "no reachable step sends outside the universe" joins the ``bag_bound`` obligation.  The
explicit bag raises ``NotInUniverse`` there, so a reachable such step is a model error either
way; but a type-correct state no execution reaches (a log entry of a term above its server's,
which induction must consider) no longer stops the encoding: the strengthening must exclude it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...models.effects import BoundExceeded
from ...models.schema import SchemaError
from .leaves import _as_int, _hashable
from .logic import BoolLike, b_and, b_not, b_or
from .search import decide, possible
from .sets import has_sym, match


class OutsideMessageUniverse(BoundExceeded):
    """On this symbolic path a send leaves the declared message universe (an obligation, see above)."""


class SymBag(tuple[Any, ...]):
    """The counts of a bag (one per universe envelope), some of them z3 terms."""

    __slots__ = ()

    def bump(self, universe: Sequence[Any], env: Any, by: int, limit: int, index: Mapping[Any, int]) -> SymBag:
        """The counts after ``by`` more copies of ``env``; raises ``BoundExceeded`` on the overflowing path."""
        if has_sym(env) or not _hashable(env):
            hits: list[BoolLike] = [match(env, u) for u in universe]
            inside = b_or(*hits)
            if inside is not True and possible(b_not(inside)) and not decide(inside):
                raise OutsideMessageUniverse(f"{env!r} lies outside the declared message universe")
        else:
            k = index.get(env)
            if k is None:
                raise SchemaError(f"{env!r} is not in the declared message universe")
            hits = [j == k for j in range(len(universe))]
        counts = self[:]
        over = b_or(*(b_and(h, _as_int(c, "bag") + by > limit) for h, c in zip(hits, counts, strict=True)
                      if h is not False))
        if over is not False and (over is True or decide(over)):
            raise BoundExceeded(f"{env!r} would have more than {limit} copies in flight (max_copies={limit}); "
                                "raise the bound")
        from .encoding import ite

        return SymBag(c if h is False else c + by if h is True else ite(h, c + by, c)
                      for h, c in zip(hits, counts, strict=True))
