"""``protoproof lincheck FILE``: check a recorded history file for linearizability.

Exit status: 0 linearizable, 1 not (the counterexample is printed), 2 a bad file or option,
3 unknown (a budget ran out).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from ...models.registry import RegistryError, resolve
from .core import UNKNOWN, Operation, Result, check
from .formats import READERS, HistoryError
from .specs import KV, SPECS, CasRegister, Sequential

#: The specification a Jepsen log format implies (porcupine's tests use these).
DEFAULT_SPEC: dict[str, Sequential] = {"etcd": CasRegister(), "edn": KV("")}
EXIT = {"ok": 0, "illegal": 1, "unknown": 3}


class CommandError(Exception):
    """A one-line usage error (exit status 2)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("history", help="a history file: Jepsen etcd log, Jepsen key-value EDN lines, or our JSON "
                                   "(a list of {client, input, output, call, return})")
    p.add_argument("--model", help=f"the sequential specification: {', '.join(sorted(SPECS))}, or "
                   "path/to/file.py:Class (a Sequential subclass); default cas-register for etcd logs, kv for "
                   "EDN; needed for JSON")
    p.add_argument("--format", choices=sorted(READERS), help="the file format (default: from the suffix and "
                   "the first line)")
    p.add_argument("--initial", help="the initial value as JSON (default null; \"\" for EDN key-value logs)")
    p.add_argument("--max-states", type=int, default=None, help="search configurations per partition, then unknown")
    p.add_argument("--timeout", type=float, default=None, help="seconds, then unknown")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def _sniff(path: Path) -> str:
    if path.suffix == ".json":
        return "json"
    with path.open(errors="replace") as f:
        first = f.readline()
    if first.startswith("INFO"):
        return "etcd"
    if first.startswith("{:process"):
        return "edn"
    raise CommandError(f"{path}: cannot tell the format from its first line; give --format")


def _spec(args: argparse.Namespace, fmt: str) -> Sequential:
    if args.model is None and fmt not in DEFAULT_SPEC:
        raise CommandError(f"a {fmt} history needs --model ({', '.join(sorted(SPECS))}, or file.py:Class)")
    if args.model:
        found = _find(args.model)
        if args.initial is None and fmt in DEFAULT_SPEC and found is type(DEFAULT_SPEC[fmt]):
            found = DEFAULT_SPEC[fmt]  # the format's own initial value (EDN: a missing key reads "")
    else:
        found = DEFAULT_SPEC[fmt] if args.initial is None else type(DEFAULT_SPEC[fmt])
    if isinstance(found, type):
        try:
            made = found() if args.initial is None else found(_initial(args.initial))
        except TypeError:
            what = "--initial" if args.initial is not None else "no arguments"
            raise CommandError(f"the specification {found.__name__} cannot be made with {what}") from None
    elif args.initial is not None:
        raise CommandError(f"{args.model} is an object already: it takes no --initial")
    else:
        made = found
    missing = [m for m in ("init", "step", "partition", "describe") if not callable(getattr(made, m, None))]
    if missing:
        raise CommandError(f"{args.model} is not a specification: it lacks {', '.join(missing)} "
                           "(subclass protoproof.impl.lincheck.Sequential)")
    return made


def _find(model: str) -> Any:
    if model in SPECS:
        return SPECS[model]
    if ":" not in model:
        raise CommandError(f"no specification {model!r}: one of {', '.join(sorted(SPECS))}, or file.py:Class")
    try:
        return resolve(model)
    except RegistryError as e:
        raise CommandError(str(e)) from None


def _initial(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise CommandError(f"--initial {text!r} is not JSON (a string is written '\"x\"')") from None


def _plain(x: Any) -> Any:
    if x is UNKNOWN:
        return "unknown"
    return list(map(_plain, x)) if isinstance(x, tuple) else x


def _op_json(o: Operation) -> dict[str, Any]:
    return {"client": o.client, "input": _plain(o.input), "output": None if o.ret is None else _plain(o.output),
            "call": o.call, "return": o.ret}


def _as_json(r: Result) -> dict[str, Any]:
    out: dict[str, Any] = {"verdict": r.verdict, "reason": r.reason, "partitions": r.partitions,
                           "explored": r.explored, "seconds": round(r.seconds, 3)}
    if r.verdict == "illegal":
        out["partition"] = _plain(r.partition)
    if r.unknown:
        out["unknown"] = [_plain(k) for k in r.unknown]
    c = r.counterexample
    if c is not None:
        out["counterexample"] = {"last": _op_json(c.last), "operations": len(c.ops),
                                 "prefix": [_op_json(o) for o in c.prefix], "state": _plain(c.state),
                                 "stuck": [dict(_op_json(o), why=why) for o, why in c.stuck]}
    return out


def run(args: argparse.Namespace, out: TextIO) -> int:
    """The command; ``CommandError`` for a bad file or option."""
    path = Path(args.history)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    if any(v is not None and v <= 0 for v in (args.max_states, args.timeout)):
        raise CommandError("--max-states and --timeout must be positive")
    fmt = args.format or _sniff(path)
    spec = _spec(args, fmt)
    try:
        ops = READERS[fmt](path)
    except (HistoryError, UnicodeDecodeError) as e:
        raise CommandError(str(e)) from None
    try:
        r = check(spec, ops, max_states=args.max_states, timeout=args.timeout)
    except (ValueError, TypeError, IndexError) as e:
        raise CommandError(f"{path}: an operation the specification cannot take: {e}") from None
    if args.json:
        print(json.dumps(_as_json(r)), file=out)
    else:
        print(f"{r.verdict}: {len(ops)} operations in {r.partitions} partition(s), {r.explored} configurations "
              f"searched in {r.seconds:.2f} s" + (f"; {r.reason}" if r.reason else ""), file=out)
        if r.counterexample is not None:
            print(r.counterexample.describe(spec), file=out)
    return EXIT[r.verdict]
