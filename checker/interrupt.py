"""Ctrl-C as a request the engines honour, not only an exception that may be lost.

A ``KeyboardInterrupt`` raised inside a z3 object's ``__del__`` is printed and dropped by Python,
and z3 catches SIGINT itself during a solver call (the call answers ``unknown``).  So the
command line records the request (``on_sigint``), ``symbolic.interrupted`` records it when z3
reports one, and each engine calls ``check()`` between steps: the run then ends with its
partial, honest verdict however the signal arrived.  Outside ``on_sigint`` nothing changes.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

_requested = False


def request() -> None:
    global _requested
    _requested = True


def requested() -> bool:
    return _requested


def check() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed (even if its exception was swallowed)."""
    if _requested:
        raise KeyboardInterrupt


@contextlib.contextmanager
def on_sigint() -> Iterator[None]:
    """Within the block, SIGINT records the request and raises ``KeyboardInterrupt``."""
    global _requested
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    first: list[float] = []

    def handler(_sig: int, _frame: FrameType | None) -> None:
        # A repeat within a second is the same Ctrl-C (z3 re-raises the one it caught): the run
        # is already ending, and a second exception would cut its report short.
        now = time.monotonic()
        if first and now - first[0] < 1.0:
            return
        first[:] = [now]
        request()
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        _requested = False
