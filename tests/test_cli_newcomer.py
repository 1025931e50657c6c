"""A newcomer's mistakes and impatience: each ends in one line on stderr and a sensible exit
status, never a traceback (bad numbers, flags that do nothing together, Ctrl-C while starting)."""

from __future__ import annotations

import sys
from types import ModuleType

import pytest

from protoproof import __main__ as entry
from protoproof import cli
from protoproof.tests.test_cli import run


class _InterruptedImport(ModuleType):
    """A module whose every attribute is a Ctrl-C: the ``from .cli import main`` of start-up."""

    def __getattr__(self, name: str) -> object:
        raise KeyboardInterrupt


def test_ctrl_c_while_the_command_line_loads_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "protoproof.cli", _InterruptedImport("protoproof.cli"))
    assert entry.run() == 130
    assert capsys.readouterr().err == "protoproof: interrupted\n"


def test_ctrl_c_while_the_parser_loads_the_registry_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def interrupted() -> cli._Parser:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_parser", interrupted)
    code, out, err = run("check", "twophase")
    assert (code, out, err) == (130, "", "protoproof: interrupted\n")
