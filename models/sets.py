"""Sets over a declared finite universe (``SetOf``, one bit per element) and bounded
sequences (``Seq``, a tuple of at most ``maxlen`` values)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

from .types import _MEMO_LIMIT, Perm, SchemaError, Type


class SetOf(Type):
    """A frozenset of elements drawn from a declared finite universe (one bit per element)."""

    def __init__(
        self, elem: Type | Iterable[Any], universe: Iterable[Any] | None = None, name: str = ""
    ) -> None:
        if isinstance(elem, Type):
            self.elem: Type | None = elem
            universe = list(elem.values()) if universe is None else list(universe)
            for x in universe:
                elem.check(x, "SetOf universe element")
        else:
            self.elem = None
            universe = list(elem)
        self.universe = tuple(universe)
        self.name = name
        self._bit: dict[Any, int] = {}
        for k, x in enumerate(universe):
            if x in self._bit:
                raise ValueError(f"SetOf universe lists {x!r} twice")
            self._bit[x] = 1 << k
        self.size = 1 << len(universe)
        self._memo: dict[frozenset[Any], int] = {}
        self._unmemo: dict[int, frozenset[Any]] = {}
        self._view_memo: dict[tuple[Any, str, int], Any] = {}
        self._use_memo = self.memo_safe()

    def contains(self, v: object) -> bool:
        return type(v) is frozenset and all(self._member(x) for x in v)

    def _member(self, x: object) -> bool:
        try:
            b = self._bit.get(x)
        except TypeError:
            return False
        return b is not None and type(x) is type(self.universe[b.bit_length() - 1])

    def check(self, v: object, path: str = "state") -> None:
        if type(v) is not frozenset:
            raise SchemaError(f"{path} = {v!r} is not a frozenset")
        for x in v:
            if not self._member(x):
                raise SchemaError(f"{path} holds {x!r}, which is not in its declared universe")

    def memo_safe(self) -> bool:
        return self.elem is None or self.elem.memo_safe()

    def pack(self, v: Any) -> int:
        if type(v) is not frozenset:
            raise SchemaError(f"{v!r} is not a frozenset")
        memo = self._memo if self._use_memo else None
        if memo is not None:
            try:
                return memo[v]
            except KeyError:
                pass
        code = 0
        bit = self._bit
        for x in v:
            b = bit.get(x)
            if b is None or type(x) is not type(self.universe[b.bit_length() - 1]):
                raise SchemaError(f"{x!r} is not in the declared universe of this set")
            code |= b
        if memo is not None and len(memo) < _MEMO_LIMIT:
            memo[v] = code
        return code

    def packer(self, memo: bool = True) -> Callable[[Any], int]:
        table, slow = self._memo, self.pack
        if not self.memo_safe():
            return slow

        def pack(v: Any) -> int:
            if type(v) is frozenset:
                try:
                    return table[v]
                except KeyError:
                    pass
            return slow(v)

        return pack

    def unpack(self, code: int) -> frozenset[Any]:
        got = self._unmemo.get(code)
        if got is not None:
            return got
        out = frozenset(x for k, x in enumerate(self.universe) if code >> k & 1)
        if len(self._unmemo) < _MEMO_LIMIT:
            self._unmemo[code] = out
        return out

    def permute(self, v: Any, perm: Perm) -> Any:
        if self.elem is None:
            return v
        return frozenset(self.elem.permute(x, perm) for x in v)

    def spaces(self) -> frozenset[str]:
        return self.elem.spaces() if self.elem is not None else frozenset()

    def view(self, v: Any, space: str, i: int) -> Any:
        if self.elem is None:
            return self.pack(v)
        memo = self._view_memo
        out = []
        view = self.elem.view
        for x in v:
            k = (x, space, i)
            w = memo.get(k)
            if w is None:
                w = view(x, space, i)
                if len(memo) < _MEMO_LIMIT:
                    memo[k] = w
            out.append(w)
        out.sort()
        return tuple(out)

    def describe(self) -> str:
        if self.name:
            return f"SetOf({self.name})"
        return f"SetOf({self.elem.describe() if self.elem else len(self.universe)})"


class Seq(Type):
    """A tuple of at most ``maxlen`` values of one type (logs)."""

    def __init__(self, elem: Type, maxlen: int) -> None:
        self.elem, self.maxlen = elem, maxlen
        self._offsets = list(
            itertools.accumulate((elem.size**n for n in range(maxlen + 1)), initial=0)
        )
        self.size = self._offsets[-1]

    def contains(self, v: object) -> bool:
        return type(v) is tuple and len(v) <= self.maxlen and all(self.elem.contains(x) for x in v)

    def check(self, v: object, path: str = "state") -> None:
        if type(v) is not tuple or len(v) > self.maxlen:
            raise SchemaError(f"{path} = {v!r} is not {self.describe()}")
        for k, x in enumerate(v):
            self.elem.check(x, f"{path}[{k}]")

    def pack(self, v: Any) -> int:
        if type(v) is not tuple or len(v) > self.maxlen:
            raise SchemaError(f"{v!r} is not {self.describe()}")
        code = 0
        for x in reversed(v):
            code = code * self.elem.size + self.elem.pack(x)
        return self._offsets[len(v)] + code

    def unpack(self, code: int) -> tuple[Any, ...]:
        n = 0
        while code >= self._offsets[n + 1]:
            n += 1
        code -= self._offsets[n]
        out = []
        for _ in range(n):
            code, c = divmod(code, self.elem.size)
            out.append(self.elem.unpack(c))
        return tuple(out)

    def permute(self, v: Any, perm: Perm) -> Any:
        return tuple(self.elem.permute(x, perm) for x in v)

    def spaces(self) -> frozenset[str]:
        return self.elem.spaces()

    def view(self, v: Any, space: str, i: int) -> Any:
        return (len(v), tuple(self.elem.view(x, space, i) for x in v))

    def describe(self) -> str:
        return f"Seq({self.elem.describe()}, maxlen={self.maxlen})"
