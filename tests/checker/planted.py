"""Planted bugs a search strategy must find where breadth-first search does, and the check of it."""

from __future__ import annotations

from typing import Any

from protoproof.checker.explore import explore
from protoproof.checker.verdict import VIOLATED
from protoproof.models.base import Model
from protoproof.models.raft import Raft
from protoproof.models.twophase import TwoPhase

BUGS: list[tuple[type[Model[Any]], str]] = [(TwoPhase, "commit-without-votes"), (TwoPhase, "commit-on-majority"),
                                           (Raft, "stale-leader")]


def finds_what_breadth_first_search_finds(cls: type[Model[Any]], variant: str, **options: Any) -> None:
    """The strategy ``options`` name breaks the property BFS breaks, by a replayed path no shorter."""
    bfs = explore(cls.variants_of()[variant](), timeout=60.0)
    other = explore(cls.variants_of()[variant](), timeout=60.0, **options)
    assert bfs.verdict == VIOLATED and other.verdict == VIOLATED
    assert other.property is not None and other.property == bfs.property
    assert other.path is not None and bfs.path is not None
    assert other.path.violation(other.property) is not None  # a real run breaking it, replayed
    assert len(other.path) >= len(bfs.path)  # breadth-first search's is a shortest one
