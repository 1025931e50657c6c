"""Reading histories: Jepsen's logs as porcupine's tests parse them, and our JSON.

Jepsen logs have no times, only an order of events, so an operation's ``call`` and ``ret`` are the
positions of its invocation and response lines.  An invocation with no response line (``:info``,
the process crashed or timed out) is pending; porcupine's tests treat them so too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .core import UNKNOWN, Operation

_ETCD = re.compile(r"^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail)\s+:(read|write|cas)\s+(.*?)\s*$")
_EDN = re.compile(r'^\{:process (\d+), :type :(invoke|ok), :f :(get|put|append), :key "(.*?)", :value (nil|".*")\}$')
_NUM = re.compile(r"\d+")


class HistoryError(ValueError):
    """A history file that cannot be read (the message names the line)."""


def _pair(events: Iterable[tuple[int, str, Any, Any]]) -> list[Operation]:
    """Operations from ``(process, "invoke" | "ok", value, time)`` events; an invocation answered
    by none is pending.  ``value`` is the input of an invocation and the output of a response."""
    open_: dict[int, tuple[Any, float]] = {}
    done: list[tuple[float, Operation]] = []
    for proc, kind, value, t in events:
        if kind == "invoke":
            if proc in open_:  # a new invocation before the answer: the old one stays pending
                inp, call = open_.pop(proc)
                done.append((call, Operation(proc, inp, UNKNOWN, call, None)))
            open_[proc] = (value, t)
        elif proc in open_:
            inp, call = open_.pop(proc)
            done.append((call, Operation(proc, inp, value, call, t)))
    done += [(call, Operation(p, inp, UNKNOWN, call, None)) for p, (inp, call) in open_.items()]
    return [o for _, o in sorted(done, key=lambda x: x[0])]


def read_jepsen_etcd(path: Path) -> list[Operation]:
    """etcd's Jepsen register log (``read``/``write``/``cas``) as ``CasRegister`` operations; a
    read that timed out (``:fail :read :timed-out``) answered, but nobody knows what."""
    def events() -> Iterable[tuple[int, str, Any, Any]]:
        for t, line in enumerate(path.read_text().splitlines()):
            m = _ETCD.match(line)
            if m is None:
                continue
            proc, kind, f, arg = int(m[1]), m[2], m[3], m[4]
            nums = [int(x) for x in _NUM.findall(arg)]
            if kind == "invoke":
                yield proc, kind, (f, *nums), t
            elif f == "read":
                out = UNKNOWN if kind == "fail" else (nums[0] if nums else None)
                yield proc, "ok", out, t
            elif f == "cas":
                yield proc, "ok", kind == "ok", t
            elif kind == "ok":
                yield proc, "ok", None, t
    return _pair(events())


def read_jepsen_kv(path: Path) -> list[Operation]:
    """porcupine's key-value histories (EDN lines ``{:process 0, :type :invoke, :f :put, ...}``) as
    ``KV`` operations; ``KV("")`` is their specification (a missing key reads as "")."""
    def events() -> Iterable[tuple[int, str, Any, Any]]:
        for t, line in enumerate(path.read_text().splitlines()):
            m = _EDN.match(line)
            if m is None:
                raise HistoryError(f"{path}:{t + 1}: not a key-value event: {line[:80]!r}")
            proc, kind, f, key, value = int(m[1]), m[2], m[3], m[4], m[5]
            text = None if value == "nil" else value[1:-1]
            if kind == "invoke":
                yield proc, kind, (f, key) if f == "get" else (f, key, text), t
            else:
                yield proc, kind, text if f == "get" else None, t
    return _pair(events())


def _hashable(x: Any) -> Any:
    """JSON lists as tuples, so inputs and outputs can be states and cache keys."""
    return tuple(map(_hashable, x)) if isinstance(x, list) else x


def read_json(path: Path) -> list[Operation]:
    """Our format: a JSON list of ``{"client": 0, "input": ["put", "x", "1"], "output": null,
    "call": 0.5, "return": 1.25}``; ``"return": null`` (or no ``return``) = pending."""
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise HistoryError(f"{path}: not JSON ({e})") from None
    if not isinstance(raw, list):
        raise HistoryError(f"{path}: expected a JSON list of operations")
    out = []
    for k, o in enumerate(raw):
        if not (isinstance(o, dict) and isinstance(o.get("input"), list) and isinstance(o.get("call"), int | float)):
            raise HistoryError(f"{path}: operation {k} needs an \"input\" list and a numeric \"call\"")
        if not isinstance(o.get("client", 0), int):
            raise HistoryError(f"{path}: operation {k}: \"client\" must be a whole number")
        ret = o.get("return")
        if ret is not None and (not isinstance(ret, int | float) or ret < o["call"]):
            raise HistoryError(f"{path}: operation {k}: \"return\" must be a number >= \"call\" (or null)")
        out.append(Operation(o.get("client", 0), _hashable(o["input"]),
                             UNKNOWN if ret is None else _hashable(o.get("output")), o["call"], ret))
    return out


def write_json(ops: Iterable[Operation], path: Path) -> None:
    """The inverse of ``read_json``."""
    def plain(x: Any) -> Any:
        return list(map(plain, x)) if isinstance(x, tuple) else x
    path.write_text(json.dumps([{"client": o.client, "input": plain(o.input),
                                 "output": None if o.ret is None else plain(o.output),
                                 "call": o.call, "return": o.ret} for o in ops], indent=0))


READERS = {"etcd": read_jepsen_etcd, "edn": read_jepsen_kv, "json": read_json}
