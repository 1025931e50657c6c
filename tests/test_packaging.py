"""Every package directory of the source tree is listed in pyproject.toml (a wheel ships only those)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"protoproof." + ".".join(p.parent.relative_to(ROOT).parts) if p.parent != ROOT else "protoproof"
             for p in ROOT.rglob("__init__.py")
             if not {"tests", ".venv", "build", "out"} & set(p.relative_to(ROOT).parts)}
    assert found - listed == set(), f"add to [tool.setuptools] packages: {sorted(found - listed)}"
