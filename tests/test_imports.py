"""The package's public names are imported on first use, so a node process loads only the runtime."""

from __future__ import annotations

import subprocess
import sys

import pytest

import protoproof


def test_a_node_process_imports_neither_the_checker_nor_numpy_nor_z3() -> None:
    code = ("import sys, protoproof.impl.launcher\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'z3')"
            " or m.startswith(('protoproof.checker', 'protoproof.proofs', 'protoproof.cli')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == []


def test_a_node_process_starts_without_a_runtime_warning_in_its_log() -> None:
    # The package imported the launcher before `python -m` ran it as __main__: every node.log
    # opened with "RuntimeWarning: 'protoproof.impl.launcher' found in sys.modules ...".
    out = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "protoproof.impl.launcher"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.startswith("usage: python -m protoproof.impl.launcher"), out.stderr


def test_the_command_line_loads_without_numpy() -> None:
    # `protoproof --help` builds the parser: numpy (about 0.2 s) waits for a check that needs it.
    code = "import sys, protoproof.cli\nprint('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", protoproof.__all__)
def test_each_public_name_is_the_object_its_module_defines(name: str) -> None:
    from protoproof.checker import explore
    from protoproof.models import base

    module = explore if name in ("Options", "Result", "explore") else base
    assert getattr(protoproof, name) is getattr(module, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'explorer_of_doom'"):
        _ = protoproof.explorer_of_doom
