"""Ctrl-C inside z3 is never lost, and a forked worker's signals are not taken for one."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from types import FrameType

import pytest
import z3

from protoproof.checker import interrupt

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and POSIX signals")


def _pigeons(n: int) -> z3.Solver:
    """n pigeons, n - 1 holes: unsat, and slow enough to be inside the C call for a while."""
    s = z3.Solver()
    p = [[z3.Bool(f"p{i}_{j}") for j in range(n - 1)] for i in range(n)]
    for row in p:
        s.add(z3.Or(row))
    for j in range(n - 1):
        for i in range(n):
            for k in range(i + 1, n):
                s.add(z3.Or(z3.Not(p[i][j]), z3.Not(p[k][j])))
    return s


def test_a_ctrl_c_during_z3_checks_ends_the_block_even_when_every_answer_is_ignored() -> None:
    # z3 left to itself catches the signal, answers unknown (or its answer, if about to finish),
    # and the Ctrl-C is gone: a loop that does not read the answers never stops.
    solvers = [_pigeons(7) for _ in range(4)]
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt), interrupt.on_sigint():
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        while time.monotonic() - t0 < 30:
            for s in solvers:
                s.check()
    assert time.monotonic() - t0 < 10 and interrupt.cause() == "Ctrl-C"


def test_a_long_z3_check_is_cut_short_by_ctrl_c() -> None:
    s = _pigeons(11)
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt), interrupt.on_sigint():
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        s.check()
    assert time.monotonic() - t0 < 5


def _terminate_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def test_a_forked_workers_own_signal_does_not_interrupt_the_parents_z3() -> None:
    s = _pigeons(10)  # about 3 s of solving: the child's signal comes while it runs
    with interrupt.on_sigint():
        child = mp.get_context("fork").Process(target=_terminate_self)
        threading.Timer(0.2, child.start).start()
        assert s.check() == z3.unsat  # not cut short by the child's SIGTERM on the inherited wakeup fd
        child.join(10)
        assert not interrupt.requested()


def test_a_ctrl_c_landing_in_a_finalizer_is_recorded_not_printed_and_dropped() -> None:
    def __del__() -> FrameType:  # a frame as a z3 object's finalizer has one
        f = sys._getframe()
        return f

    with interrupt.on_sigint():
        handler = signal.getsignal(signal.SIGINT)
        assert callable(handler)
        handler(signal.SIGINT, __del__())  # no exception: Python would print it as ignored
        assert interrupt.requested()
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()  # the engine's next check ends the run
        assert _tie_query() == z3.unsat  # raised once: the report after it may query z3
        time.sleep(1.1)  # a repeat within a second counts as the same Ctrl-C
        handler(signal.SIGINT, __del__())
        with pytest.raises(KeyboardInterrupt):
            _pigeons(11).check()  # or the next solver call raises it rather than run for long


def _tie_query() -> z3.CheckSatResult:
    """unsat, unless an interrupt left pending in z3 cancels the ``add``'s preprocessing (then sat)."""
    xs = [z3.BitVec(f"x{i}", 8) for i in range(3)]
    valid = z3.And([z3.Or(xs[i] + xs[(i + 1) % 3] == xs[(i + 1) % 3] + xs[i], xs[i] == 3) for i in range(3)])
    v = z3.Bool("v")
    s = z3.Solver()
    s.add(v == valid)
    return s.check(z3.Not(v))


def test_a_ctrl_c_between_solver_calls_leaves_z3_answering_right() -> None:
    assert _tie_query() == z3.unsat
    with interrupt.on_sigint():
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
            time.sleep(1)  # the watcher wakes while no solver call runs
        time.sleep(0.1)
        assert _tie_query() == z3.unsat  # the report written after a Ctrl-C queries z3 rightly
    assert _tie_query() == z3.unsat  # and so does the next run in this process


def test_every_ctrl_c_in_a_block_cuts_its_long_call_short() -> None:
    with interrupt.on_sigint():
        for _ in range(2):  # the watcher keeps watching after the first
            t0 = time.monotonic()
            with pytest.raises(KeyboardInterrupt):
                threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
                _pigeons(11).check()
            assert time.monotonic() - t0 < 5
            time.sleep(1.1)  # a repeat within a second counts as the same Ctrl-C
        assert _tie_query() == z3.unsat


def test_the_users_ctrl_c_setting_of_z3_is_restored() -> None:
    z3.set_param("ctrl_c", False)
    try:
        with interrupt.on_sigint():
            pass
        assert z3.get_param("ctrl_c") == "false"
    finally:
        z3.set_param("ctrl_c", True)
    with interrupt.on_sigint():
        pass
    assert z3.get_param("ctrl_c") == "true"
