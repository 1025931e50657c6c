"""Built-in sequential specifications: a register, a compare-and-set register, a key-value map and
a FIFO queue.  Inputs are tuples naming the operation first (``("put", "x", "1")``); a new object
needs only ``init`` and ``step`` (subclass ``Sequential``), plus ``partition`` if its inputs split
into independent parts."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from .core import UNKNOWN


class Sequential:
    """Defaults for a specification: one partition, operations shown as ``op(args) -> output``."""

    #: How the command line names it (``protoproof lincheck FILE --model NAME``).
    name = ""
    #: Operations that answer nothing: their output is not shown.
    silent = frozenset({"put", "write", "append", "enq"})
    #: Operations that never change the state (``read_only``).
    readers = frozenset({"get", "read"})

    def init(self) -> Hashable:
        return None

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        raise NotImplementedError

    def partition(self, input: Any) -> Hashable:
        return None

    def read_only(self, input: Any) -> bool:
        return bool(input[0] in self.readers)

    def describe(self, input: Any, output: Any) -> str:
        args = ", ".join(map(repr, input[1:]))
        shown = f"{input[0]}({args})"
        if input[0] in self.silent:
            return shown
        return f"{shown} -> ?" if output is UNKNOWN else f"{shown} -> {output!r}"


def _bad(input: Any) -> ValueError:
    return ValueError(f"unknown operation {input!r}")


class Register(Sequential):
    """``("put", v)`` and ``("get",)`` answering the last value put (``initial`` before any)."""

    name = "register"

    def __init__(self, initial: Hashable = None) -> None:
        self.initial = initial

    def init(self) -> Hashable:
        return self.initial

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        if input[0] == "put":
            return True, input[1]
        if input[0] == "get":
            return output == state, state
        raise _bad(input)


class CasRegister(Register):
    """A register with ``("cas", expected, new)`` answering whether it swapped (etcd's Jepsen test
    names the others ``read`` and ``write``; both spellings are accepted)."""

    name = "cas-register"

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        op = input[0]
        if op == "cas":
            swap = state == input[1]
            return output == swap, input[2] if swap else state
        if op in ("put", "write"):
            return True, input[1]
        if op in ("get", "read"):
            return output == state, state
        raise _bad(input)


class KV(Sequential):
    """A map, partitioned by key: ``("get", k)`` answers the value (``initial`` if none),
    ``("put", k, v)``, ``("append", k, v)`` (concatenates), ``("cas", k, expected, new)`` answers
    whether it swapped."""

    name = "kv"

    def __init__(self, initial: Hashable = None) -> None:
        self.initial = initial

    def init(self) -> Hashable:
        return self.initial

    def partition(self, input: Any) -> Hashable:
        return input[1]

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        op = input[0]
        if op == "get":
            return output == state, state
        if op == "put":
            return True, input[2]
        if op == "append":
            return True, input[2] if state is None else state + input[2]
        if op == "cas":
            swap = state == input[2]
            return output == swap, input[3] if swap else state
        raise _bad(input)


class Queue(Sequential):
    """A FIFO queue: ``("enq", v)``; ``("deq",)`` answers the oldest value, or None when empty."""

    name = "queue"

    def init(self) -> Hashable:
        return ()

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        if input[0] == "enq":
            return True, (*state, input[1])
        if input[0] == "deq":
            if not state:
                return output is None, state
            return output == state[0], state[1:]
        raise _bad(input)


SPECS: dict[str, type[Sequential]] = {s.name: s for s in (Register, CasRegister, KV, Queue)}
