"""A Wing–Gong linearizability checker for key-value histories (with Lowe's memoization).

A history is a list of operations with their invocation and response times as seen by the
clients.  It is linearizable if the operations can be put in one sequence that respects
real time (an operation that returned before another was invoked comes first) and in which
every ``get`` returns the latest ``put`` to its key (or None).  Keys are independent, so each
key is checked alone (linearizability is compositional).  An operation without a response
(the client gave up) may or may not have taken effect: a pending ``put`` may be placed
anywhere after its invocation or left out; a pending ``get`` constrains nothing.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Op:
    """``kind`` is "put" (``value`` written) or "get" (``value`` returned); ``ret`` None = pending."""

    client: int
    kind: str
    key: str
    value: str | None
    call: float
    ret: float | None


@dataclass
class Verdict:
    ok: bool
    key: str | None = None
    explored: int = 0

    def __bool__(self) -> bool:
        return self.ok


def check(history: list[Op], max_states: int = 2_000_000) -> Verdict:
    """Whether ``history`` is linearizable; on failure, the first key that is not."""
    by_key: dict[str, list[Op]] = defaultdict(list)
    for op in history:
        if op.kind not in ("put", "get"):
            raise ValueError(f"unknown operation {op.kind!r}")
        if op.kind == "get" and op.ret is None:
            continue
        by_key[op.key].append(op)
    explored = 0
    for key in sorted(by_key):
        ok, n = _check_key(by_key[key], max_states)
        explored += n
        if not ok:
            return Verdict(False, key, explored)
    return Verdict(True, None, explored)


def _check_key(ops: list[Op], max_states: int) -> tuple[bool, int]:
    ops = sorted(ops, key=lambda o: o.call)
    n = len(ops)
    call = [o.call for o in ops]
    ret = [math.inf if o.ret is None else o.ret for o in ops]
    required = 0
    for k, o in enumerate(ops):
        if o.ret is not None:
            required |= 1 << k
    seen: set[tuple[int, str | None]] = set()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * n + 1000))

    def search(done: int, state: str | None) -> bool:
        if done & required == required:
            return True
        if (done, state) in seen:
            return False
        if len(seen) >= max_states:
            raise RuntimeError(f"linearizability search exceeded {max_states} states")
        seen.add((done, state))
        first_ret = min(ret[k] for k in range(n) if not done >> k & 1)
        for k in range(n):
            if done >> k & 1:
                continue
            if call[k] > first_ret:
                break  # sorted by call: no later op can go next either
            o = ops[k]
            if o.kind == "put":
                if search(done | 1 << k, o.value):
                    return True
            elif o.value == state and search(done | 1 << k, state):
                return True
        return False

    try:
        return search(0, None), len(seen)
    finally:
        sys.setrecursionlimit(limit)
