"""Ctrl-C as a request the engines honour, not only an exception that may be lost.

A ``KeyboardInterrupt`` raised inside a z3 object's ``__del__`` is printed and dropped by Python,
and z3, left to itself, catches SIGINT during a solver call: the call answers ``unknown``, or, if
it was about to finish, its answer, and the Ctrl-C is gone (``conform``'s thousands of short
checks lost it often).  So within ``on_sigint`` z3 does not catch signals (``ctrl_c`` off); the
signal's byte on Python's wakeup fd wakes a thread that interrupts z3 (``stop_z3_on_signal``),
and Python's handler records the request and raises once the call returns.  Each engine also
calls ``check()`` between steps: the run then ends with its partial, honest verdict however the
signal arrived.  Outside ``on_sigint`` nothing changes.

SIGTERM (``timeout``, a supervisor, ``kill``) is taken the same way, so a run stopped from outside
still reports what it checked; the reports name the signal (``cause()``).  Python runs the handler
between bytecodes, so a SIGTERM that arrives inside one long z3 call takes effect when it returns.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

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

    def handler(sig: int, frame: FrameType | None) -> None:
        global _cause
        # A repeat within a second is the same Ctrl-C (pressed twice, or SIGINT then a supervisor's
        # SIGTERM): the run is already ending, and a second exception would cut its report short.
        now = time.monotonic()
        if first and now - first[0] < 1.0:
            return
        first[:] = [now]
        _cause = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C"
        request()
        if frame is not None and frame.f_code.co_name == "__del__":
            return  # Python would print the exception as ignored and drop it; the engine's check() raises
        raise KeyboardInterrupt

    import z3

    old = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    z3.set_param("ctrl_c", False)
    try:
        with stop_z3_on_signal(z3.main_ctx()):
            yield
    finally:
        z3.set_param("ctrl_c", True)
        signal.signal(signal.SIGINT, old)
        signal.signal(signal.SIGTERM, old_term)
        _requested = False  # the cause stays, for a report made after the block


_watched = 0  # how many stop_z3_on_signal blocks are open (a forked child must not inherit their fd)


@contextlib.contextmanager
def stop_z3_on_signal(ctx: Any) -> Iterator[None]:
    """Interrupt z3's ``ctx`` when a signal arrives: Python runs its handlers only once the C call
    returns, which a long query may never do in time.  The signal's byte on the wakeup fd wakes a
    thread that interrupts the context (an interrupt while no call runs is forgotten by z3)."""
    global _watched
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    rd, wr = os.pipe()
    os.set_blocking(wr, False)
    try:
        old = signal.set_wakeup_fd(wr)
    except ValueError:
        os.close(rd)
        os.close(wr)
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            ready, _, _ = select.select([rd], [], [], 0.2)
            if ready and os.read(rd, 64) and not done.is_set():
                ctx.interrupt()
                return

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    _watched += 1
    try:
        yield
    finally:
        _watched -= 1
        done.set()
        signal.set_wakeup_fd(old)
        t.join()
        os.close(rd)
        os.close(wr)


def _no_wakeup_fd_in_child() -> None:
    """A forked worker writes its own signals (the pool's SIGTERM at shutdown) to the fd it
    inherited: the parent's watcher would take them for a Ctrl-C and interrupt its z3."""
    if _watched:
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(-1)


os.register_at_fork(after_in_child=_no_wakeup_fd_in_child)
