"""Argument types for the command line: numbers with a lower bound, refused in one line.

Shared by ``cli.py`` and the runtime's client commands, so ``--timeout -1`` or ``--walks -1`` is
a usage error everywhere instead of a run that means nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def bounded(kind: type, lo: float, strict: bool, what: str) -> Callable[[str], Any]:
    """An argparse type: a number of ``kind`` above ``lo`` (or at least ``lo`` unless ``strict``)."""
    def parse(v: str) -> Any:
        try:
            x = kind(v)
        except ValueError:
            x = None
        if x is None or x < lo or (strict and x == lo) or x != x:  # x != x: NaN
            raise argparse.ArgumentTypeError(f"expected {what}, not {v!r}")
        return x

    return parse


positive = bounded(int, 0, True, "a positive integer")
non_negative = bounded(int, 0, False, "a whole number")
positive_float = bounded(float, 0, True, "a positive number")
non_negative_float = bounded(float, 0, False, "a number of at least 0")
