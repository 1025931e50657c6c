"""One protocol, one place: the generic layers name no protocol, and imports point down only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from protoproof.models.registry import registered

ROOT = Path(__file__).resolve().parents[1]
#: A protocol's own runtime modules may name it; nothing else in impl/ may.
OWN_RUNTIME_MODULES = {"kv.py", "kv_catchup.py", "lease.py", "raft.py", "raft_snapshot.py", "replog.py",
                       "sharded.py", "sharded_ring.py", "threephase.py", "tx.py"}
GENERIC = [ROOT / "cli.py", ROOT / "proofs" / "__init__.py", *sorted((ROOT / "checker").rglob("*.py")),
           *(f for f in sorted((ROOT / "impl").glob("*.py")) if f.name not in OWN_RUNTIME_MODULES),
           *(f for f in sorted((ROOT / "explorer").rglob("*")) if f.suffix in (".py", ".js", ".html", ".css"))]
#: Which top-level packages each layer may import from (relative imports inside the package).
ALLOWED = {"models": {"models"}, "checker": {"models", "checker"}, "impl": {"models", "impl"},
           "proofs": {"models", "checker", "proofs"}, "explorer": {"models", "checker", "cli", "explorer"}}


def test_the_cli_the_checker_the_proof_index_and_the_generic_runtime_name_no_protocol() -> None:
    names = sorted(registered())
    assert {"paxos", "twophase", "tcommit", "consensus", "replog"} <= set(names)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")", re.IGNORECASE)
    found = [f"{f.relative_to(ROOT)}:{k}: {line.strip()}" for f in GENERIC
             for k, line in enumerate(f.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, found
#: The top-level names an import is checked against.
LAYERS = {"models", "checker", "impl", "proofs", "cli", "explorer"}


def _imported_layers(path: Path) -> set[str]:
    """The top-level package of every relative import in ``path`` that leaves its own folder."""
    depth = len(path.relative_to(ROOT).parts) - 1
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            up = node.level - 1
            parts = list(path.relative_to(ROOT).parts[:depth - up]) if up <= depth else []
            target = [*parts, *(node.module or "").split(".")] if node.module else parts
            if target and target[0]:
                out.add(target[0])
    return out


def test_imports_point_down_only() -> None:
    bad = []
    for layer, allowed in ALLOWED.items():
        for f in sorted((ROOT / layer).rglob("*.py")):
            extra = {t for t in _imported_layers(f) if t in LAYERS} - allowed
            if extra:
                bad.append(f"{f.relative_to(ROOT)} imports {sorted(extra)}")
    assert not bad, bad
