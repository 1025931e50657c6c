"""Ctrl-C as a request the engines honour, not only an exception that may be lost.

A ``KeyboardInterrupt`` raised inside a z3 object's ``__del__`` is printed and dropped by Python,
and z3, left to itself, catches SIGINT during a solver call: the call answers ``unknown``, or, if
it was about to finish, its answer, and the Ctrl-C is gone (``conform``'s thousands of short
checks lost it often; a run was once seen hung in z3's own handler).  So within ``on_sigint`` z3
does not catch signals (``ctrl_c`` off), and Python's handler records the request and raises once
the call returns -- or, where the exception would do harm (in z3's Python code, where it can leave a
half-built object, in a finalizer, in the guard's own bookkeeping), owes it to the next solver call
or ``check()``.  To end a long call sooner, the signal's byte on the wakeup fd wakes a thread
that interrupts z3 -- only while a solver call runs (``z3_interruptible``): an interrupt that
reaches z3 between calls stays pending and silently corrupts the next ``add`` or ``simplify``
(a query then answered ``sat`` where it is ``unsat``), so each interrupted call is followed by an
empty check, which consumes it.  Each engine also calls ``check()`` between steps: the run then
ends with its partial, honest verdict however the signal arrived.  Outside ``on_sigint`` nothing
changes.

SIGTERM (``timeout``, a supervisor, ``kill``) is taken the same way, so a run stopped from outside
still reports what it checked; the reports name the signal (``cause()``).  Other z3 work than a
solver call (building formulas, tactics) is not interrupted: a signal takes effect when it returns.
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
    global _owed
    if _requested:
        _owed = False  # raised now: the report written after it may query z3
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
        global _cause, _owed
        # A repeat within a second is the same Ctrl-C (pressed twice, or SIGINT then a supervisor's
        # SIGTERM): the run is already ending, and a second exception would cut its report short.
        now = time.monotonic()
        if first and now - first[0] < 1.0 and not _owed:
            return
        first[:] = [now]
        _cause = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C"
        request()
        if _owed_here(frame):
            _owed = True  # the next solver call, or the engine's next check(), raises it
            return
        _owed = False
        raise KeyboardInterrupt

    import z3

    old_ctrl_c = z3.get_param("ctrl_c")
    old = signal.getsignal(signal.SIGINT)
    old_term = signal.getsignal(signal.SIGTERM)
    try:  # set up inside the try: a signal during setup restores what was changed
        z3.set_param("ctrl_c", False)
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
        with z3_interruptible():
            yield
    finally:
        signal.signal(signal.SIGINT, old)
        signal.signal(signal.SIGTERM, old_term)
        z3.set_param("ctrl_c", old_ctrl_c)
        _requested = _owed = False  # the cause stays, for a report made after the block


_owed = False  # a request recorded in a finalizer, not yet raised


def _owed_here(frame: FrameType | None) -> bool:
    """Whether an exception raised where the signal landed would do harm, so it is owed instead:
    in z3's Python code (it can leave a half-built object whose finalizer then releases a term once
    too often; z3 was seen to abort on it), in a finalizer or what one calls (Python prints it as
    ignored and drops it; ctypes' ``from_param`` turns it into an error of its own), or in the
    guard's bookkeeping around a solver call (``run`` outside the call, ``_unregister_and_settle``:
    a context would stay registered or an interrupt pending; the guard raises it once done)."""
    import z3

    where = os.path.dirname(z3.__file__) + os.sep
    in_call = False  # below ``_invoke``: inside the call itself, not the bookkeeping around it
    while frame is not None:
        code = frame.f_code
        if code.co_name in ("__del__", "from_param") or code.co_filename.startswith(where):
            return True
        if code is _invoke.__code__:
            in_call = True
        elif not in_call and (code is _unregister_and_settle.__code__
                              or (code.co_name == "run" and code.co_filename == __file__)):
            return True
        frame = frame.f_back
    return False


_lock = threading.Lock()
_running: dict[Any, int] = {}  # the z3 contexts with a solver call under way, and how many
_hit: set[Any] = set()  # contexts the watcher interrupted since their calls began
_watched = 0  # open z3_interruptible blocks (the outermost watches; a forked child must drop its fd)
_SIGNALS = {signal.SIGINT.value, signal.SIGTERM.value}


def _guarded(call: Any) -> Any:
    """``call`` (``Solver.check``, ``Fixedpoint.query``, ``Optimize.check``) registered while it runs,
    so the watcher interrupts z3 only then; an interrupted call is followed by an empty check."""

    def run(self: Any, *args: Any, **kw: Any) -> Any:
        global _owed
        if _owed:  # a Ctrl-C owed (see the module's doc): do not start a call that may run for long
            _owed = False
            raise KeyboardInterrupt
        ctx = self.ctx
        with _lock:  # a signal here is owed (_owed_here), never raised between these lines
            _running[ctx] = _running.get(ctx, 0) + 1
        try:
            return _invoke(call, self, args, kw)
        finally:
            _unregister_and_settle(ctx)
            if _owed:  # a signal that came during the bookkeeping (or in a finalizer): raised now
                _owed = False
                raise KeyboardInterrupt

    run.__wrapped__ = call  # type: ignore[attr-defined]
    return run


def _invoke(call: Any, self: Any, args: Any, kw: Any) -> Any:
    return call(self, *args, **kw)


_raw_solver_check: Any = None  # Solver.check as z3 defines it (set when the classes are patched)


def _unregister_and_settle(ctx: Any) -> None:
    """Drop one registration of ``ctx``; if the watcher interrupted it, consume the interrupt with an
    empty check made with z3's own ``Solver.check`` (never the guarded one: an owed Ctrl-C must not
    skip it), itself registered so that a signal during it is consumed too."""
    import z3

    raised: BaseException | None = None
    while True:
        with _lock:
            _running[ctx] -= 1
            if not _running[ctx]:
                del _running[ctx]
            hit = ctx in _hit and ctx not in _running
            if hit:
                _hit.discard(ctx)
                _running[ctx] = 1
        if not hit:
            if raised is not None:
                raise raised
            return
        try:
            _raw_solver_check(z3.Solver(ctx=ctx))
        except BaseException as e:  # a later Ctrl-C's exception: raised once the interrupt is consumed
            raised = raised or e


@contextlib.contextmanager
def z3_interruptible() -> Iterator[None]:
    """Within the block a signal interrupts z3's solver calls under way (see the module's doc);
    re-entrant: only the outermost block watches."""
    global _watched
    if _watched or threading.current_thread() is not threading.main_thread():
        yield
        return
    import z3

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
            ready, _, _ = select.select([rd], [], [], 1.0)  # woken at the block's end; the timeout is a spare
            got = os.read(rd, 64) if ready else b""
            if done.is_set():
                return
            if _SIGNALS.intersection(got):
                with _lock:
                    for ctx in _running:
                        ctx.interrupt()
                        _hit.add(ctx)

    global _raw_solver_check
    patched = [(cls, name, getattr(cls, name)) for cls, name in
               ((z3.Solver, "check"), (z3.Fixedpoint, "query"), (z3.Optimize, "check"))]
    _raw_solver_check = getattr(z3.Solver.check, "__wrapped__", z3.Solver.check)
    t = threading.Thread(target=watch, name="z3-interrupt", daemon=True)
    _watched += 1
    try:  # everything set up inside the try, so a signal during setup undoes what was done
        for cls, name, call in patched:
            setattr(cls, name, _guarded(call))
        t.start()
        yield
    finally:
        _watched -= 1
        for cls, name, call in patched:
            setattr(cls, name, call)
        done.set()
        signal.set_wakeup_fd(old)
        with contextlib.suppress(OSError):
            os.write(wr, b"\0")  # wake the watcher now rather than at a select timeout
        if t.ident is not None:
            t.join()
        os.close(rd)
        os.close(wr)


def _after_fork_in_child() -> None:
    """A forked worker writes its own signals (the pool's SIGTERM at shutdown) to the fd it
    inherited: the parent's watcher would take them for a Ctrl-C.  It has no watcher thread, and
    the lock may have been held by the parent's: start afresh."""
    global _lock
    if _watched:
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(-1)
    _lock = threading.Lock()
    _running.clear()
    _hit.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
