"""Checking the key-value histories our runtime tests record (put/get per key).

A thin layer over ``impl.lincheck`` with the ``KV`` specification: an ``Op`` is a ``put`` (``value``
written) or a ``get`` (``value`` read, None = no value), ``ret`` None = no response (a pending
``put`` may or may not take effect; a pending ``get`` constrains nothing).  Keys are checked alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from .lincheck import KV, Counterexample, Operation
from .lincheck import check as check_spec


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
    """``verdict`` "ok", "illegal" (``key`` is not linearizable: see ``counterexample``) or
    "unknown" (``reason`` says which budget ran out); true only when "ok"."""

    ok: bool
    key: str | None = None
    explored: int = 0
    verdict: str = "ok"
    reason: str = ""
    counterexample: Counterexample | None = None

    def __bool__(self) -> bool:
        return self.ok


def check(history: list[Op], max_states: int = 2_000_000, timeout: float | None = None) -> Verdict:
    """Whether ``history`` is linearizable; on failure, the first key found that is not."""
    ops = []
    for o in history:
        if o.kind == "put":
            ops.append(Operation(o.client, ("put", o.key, o.value), None, o.call, o.ret))
        elif o.kind == "get":
            if o.ret is not None:
                ops.append(Operation(o.client, ("get", o.key), o.value, o.call, o.ret))
        else:
            raise ValueError(f"unknown operation {o.kind!r}")
    r = check_spec(KV(), ops, max_states=max_states, timeout=timeout)
    key = r.partition if isinstance(r.partition, str) else None
    return Verdict(r.ok, key, r.explored, r.verdict, r.reason, r.counterexample)
