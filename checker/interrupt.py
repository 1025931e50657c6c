"""Ctrl-C as a request the engines honour, not only an exception that may be lost.

A ``KeyboardInterrupt`` raised inside a z3 object's ``__del__`` is printed and dropped by Python,
and z3 catches SIGINT itself during a solver call (the call answers ``unknown``).  So the
command line records the request (``on_sigint``), ``symbolic.interrupted`` records it when z3
reports one, and each engine calls ``check()`` between steps: the run then ends with its
partial, honest verdict however the signal arrived.  Outside ``on_sigint`` nothing changes.

SIGTERM (``timeout``, a supervisor, ``kill``) is taken the same way, so a run stopped from outside
still reports what it checked; the reports name the signal (``cause()``).  Python runs the handler
between bytecodes, so a SIGTERM that arrives inside one long z3 call takes effect when it returns.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

_requested = False
_cause = "Ctrl-C"


def request() -> None:
    global _requested
    _requested = True


def cause() -> str:
    """What asked the run to stop: "Ctrl-C" (also when z3 reports the interrupt) or "SIGTERM"."""
    return _cause


def requested() -> bool:
    return _requested


def check() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed (even if its exception was swallowed)."""
    if _requested:
        raise KeyboardInterrupt


@contextlib.contextmanager
def on_sigint() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM record the request and raise ``KeyboardInterrupt``."""
    global _requested, _cause
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    first: list[float] = []
    _cause = "Ctrl-C"

    def handler(sig: int, _frame: FrameType | None) -> None:
        global _cause
        # A repeat within a second is the same Ctrl-C (z3 re-raises the one it caught): the run
        # is already ending, and a second exception would cut its report short.
        now = time.monotonic()
        if first and now - first[0] < 1.0:
            return
        first[:] = [now]
        _cause = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C"
        request()
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        signal.signal(signal.SIGTERM, old_term)
        _requested = False  # the cause stays, for a report made after the block
