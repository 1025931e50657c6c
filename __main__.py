"""``python -m protoproof`` and the ``protoproof`` script.

The command line's modules are imported inside ``run`` so that a Ctrl-C while they load (a
second or so on a busy machine) ends in one line, not a traceback from the middle of an import.
"""

from __future__ import annotations

import sys


def run() -> int:
    """The ``protoproof`` command: exit status of ``cli.main``; 130 on Ctrl-C during start-up."""
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("protoproof: interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    raise SystemExit(run())
