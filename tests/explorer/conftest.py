"""A running explorer for the tests (a server thread on a free port of 127.0.0.1), and the
counterexample of the planted 2PC bug as `protoproof check --json` prints it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from protoproof.cli import main
from protoproof.explorer.server import ExplorerServer, serving
from protoproof.explorer.session import Page

#: The planted bug: the TM commits once a majority of the RMs prepared.
CHECK = ["check", "twophase", "--variant", "commit-on-majority", "--rms", "3", "--property", "atomicity",
         "--json", "--quiet"]
HOME = Page("twophase", "commit-on-majority", (("rms", "3"),), ())


@pytest.fixture
def server() -> Iterator[ExplorerServer]:
    with serving(HOME) as srv:
        yield srv


@pytest.fixture(scope="session")
def cex_json() -> str:
    """`protoproof check ... --json` of the planted bug: a violation of atomicity, with its path."""
    out = io.StringIO()
    assert main(CHECK, out=out, err=io.StringIO()) == 1
    return out.getvalue()


@pytest.fixture(scope="session")
def cex(cex_json: str) -> dict[str, Any]:
    d: dict[str, Any] = json.loads(cex_json)
    assert d["property"] == "atomicity" and len(d["path"]) == 8  # the shortest: 7 steps
    return d
