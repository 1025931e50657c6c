"""Fixtures shared by the test packages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from protoproof.models.registry import Protocol, register, unregister


@pytest.fixture
def add_protocol() -> Iterator[Callable[..., Protocol]]:
    """``add_protocol("name", ModelClass, strengthening=...)`` registers a protocol for one test."""
    added: list[str] = []

    def add(name: str, model: Any, **parts: Any) -> Protocol:
        p = Protocol(name, model, **parts)
        register(p)
        added.append(name)
        return p

    yield add
    for name in added:
        unregister(name)
