"""Progress for the ``protoproof`` command: lines on stderr while long work runs, and only when
stderr is a terminal (a log file or a pipe gets the result alone, so scripts see no noise).

Plain flushed lines rather than a redrawn bar: the per-depth and per-obligation lines of the
z3 engines are worth keeping on the screen, and a line survives any terminal and Ctrl-C.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

Reporter = Callable[[str], None]


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def progress_stream(err: TextIO, quiet: bool = False) -> TextIO | None:
    """``err`` if progress should be written to it: a terminal, and not ``--quiet``."""
    return err if not quiet and is_terminal(err) else None


def reporter(err: TextIO, quiet: bool = False) -> Reporter | None:
    """A function printing one progress line (with the time since the start) on a terminal ``err``;
    None where progress is not shown."""
    stream = progress_stream(err, quiet)
    if stream is None:
        return None
    t0 = time.perf_counter()

    def report(line: str) -> None:
        print(f"  [{time.perf_counter() - t0:6.1f}s] {line}", file=stream, flush=True)

    return report
