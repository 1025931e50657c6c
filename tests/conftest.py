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


#: Runtime test files that start no cluster (pure computation): they may run on either worker.
CPU_ONLY = frozenset({"test_codec.py", "test_lincheck.py", "test_lincheck_command.py", "test_lincheck_porcupine.py",
                      "test_linearizability.py", "test_model_based.py"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``pytest -n 2 --dist loadgroup`` the runtime tests (real processes, sockets, timeouts)
    run one after another on one worker, so two clusters never compete for the two cores while
    the CPU-bound checker tests share the other worker."""
    for item in items:
        path = str(item.path).replace("\\", "/")
        if "/tests/impl/" in path and item.path.name not in CPU_ONLY:
            item.add_marker(pytest.mark.xdist_group("runtime"))
