"""``python -m protoproof.impl cluster|kv|tx|validate ...`` (the same commands as ``protoproof``)."""

from __future__ import annotations

import argparse
import sys

from .commands import add_commands, run_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m protoproof.impl")
    sub = parser.add_subparsers(dest="command", required=True)
    add_commands(sub)
    return run_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
