"""The state vocabulary: every value a protocol state may hold, declared as a type.

One declaration serves every consumer: it is TypeOK (``check``), an exact bijection onto
``range(size)`` that the explicit checker stores instead of the state (``pack``/``unpack``),
an enumerator and a sampler for random states, and the permutation action used by symmetry
reduction.  The z3 backend adds its symbolic view on top of the same objects.

Containers are fixed-shape (``Vec``, ``Tuple``, ``Record``), sets range over a declared
finite universe (``SetOf``) and sequences have a declared maximum length (``Seq``): nothing a
state holds is unbounded, so every state space declared here is finite.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import operator
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, dataclass_transform

_T = TypeVar("_T")

#: A permutation of node ids per id space: ``perm["node"][i]`` is the new id of node ``i``.
Perm = Mapping[str, Sequence[int]]

#: Memo tables stop growing beyond this many entries (they are only a cache).
_MEMO_LIMIT = 1 << 16


class SchemaError(TypeError):
    """A value is outside its declared type; the message names the path to it."""


class Type:
    """A finite type: a bijection between its values and ``range(size)``."""

    size: int

    def contains(self, v: object) -> bool:
        raise NotImplementedError

    def check(self, v: object, path: str = "state") -> None:
        """Raise ``SchemaError`` naming the offending path if ``v`` is not of this type."""
        if not self.contains(v):
            raise SchemaError(f"{path} = {v!r} is not {self.describe()}")

    def pack(self, v: Any) -> int:
        raise NotImplementedError

    def unpack(self, code: int) -> Any:
        raise NotImplementedError

    def memo_safe(self) -> bool:
        """Whether values that Python finds equal always have the same code.

        Memo tables are keyed by Python equality, so they are used only where this holds; it
        fails where two alternatives of a ``Union`` may hold equal values (plain NamedTuples
        of two classes with equal fields, ``True`` and ``1``).
        """
        return True

    def packer(self, memo: bool = True) -> Callable[[Any], int]:
        """``pack`` as a fast function (the explicit checker calls it for every transition).

        ``memo`` lets containers remember codes of values they saw (a cache, bounded).
        """
        return self.pack

    def unpacker(self, memo: bool = True) -> Callable[[int], Any]:
        return self.unpack

    def values(self) -> Iterator[Any]:
        for code in range(self.size):
            yield self.unpack(code)

    def sample(self, rng: random.Random) -> Any:
        return self.unpack(rng.randrange(self.size))

    def permute(self, v: Any, perm: Perm) -> Any:
        """The value with every node id renamed by ``perm`` (identity for leaves)."""
        return v

    def spaces(self) -> frozenset[str]:
        """The id spaces this type mentions: ``permute`` is the identity outside them."""
        return frozenset()

    def view(self, v: Any, space: str, i: int) -> Any:
        """A permutation-invariant summary of ``v`` from the standpoint of id ``i``.

        ``view(permute(v, p), space, p[i]) == view(v, space, i)`` for every permutation
        ``p`` of ``space``; symmetry reduction sorts ids by it.
        """
        return self.pack(v)

    def describe(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.describe()


def _has_numbers(v: object) -> bool:
    """Whether ``v`` holds a number, which Python may find equal to one of another type."""
    if isinstance(v, (bool, int, float, complex)):
        return True
    if isinstance(v, (tuple, frozenset)):
        return any(_has_numbers(x) for x in v)
    return False


def _same_kind(a: object, b: object) -> bool:
    """Values compare equal across types in Python (``True == 1``); the schema does not."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return all(_same_kind(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[call-overload]
    return True


class _Finite(Type):
    """A leaf with an explicit list of values, encoded by position."""

    def __init__(self, values: Sequence[Any]) -> None:
        vals = list(values)
        if not vals:
            raise ValueError(f"{type(self).__name__} needs at least one value")
        self._values = tuple(vals)
        self._index: dict[Any, int] = {}
        for k, x in enumerate(vals):
            try:
                hash(x)
            except TypeError as e:
                raise ValueError(f"{type(self).__name__} value {x!r} is not hashable") from e
            if x in self._index:
                raise ValueError(f"{type(self).__name__} value {x!r} is listed twice")
            self._index[x] = k
        self.size = len(vals)
        # Only numbers (also inside tuples) can be equal across types (True == 1); strings cannot.
        self._strict = not all(x is None or isinstance(x, str) for x in vals)

    def packer(self, memo: bool = True) -> Callable[[Any], int]:
        if self._strict:
            return self.pack
        idx, describe = self._index, self.describe

        def pack(v: Any) -> int:
            try:
                return idx[v]
            except (KeyError, TypeError):
                raise SchemaError(f"{v!r} is not {describe()}") from None

        return pack

    def unpacker(self, memo: bool = True) -> Callable[[int], Any]:
        return self._values.__getitem__

    def contains(self, v: object) -> bool:
        try:
            k = self._index.get(v)
        except TypeError:
            return False
        return k is not None and _same_kind(self._values[k], v)

    def pack(self, v: Any) -> int:
        try:
            k = self._index[v]
        except (KeyError, TypeError):
            raise SchemaError(f"{v!r} is not {self.describe()}") from None
        if not _same_kind(self._values[k], v):
            raise SchemaError(f"{v!r} is not {self.describe()}")
        return k

    def unpack(self, code: int) -> Any:
        return self._values[code]

    def values(self) -> Iterator[Any]:
        return iter(self._values)


class Enum(_Finite):
    """Named constants (conventionally module-level ``str`` constants)."""

    def __init__(self, name: str, *values: Any) -> None:
        super().__init__(values)
        self.name = name

    def describe(self) -> str:
        return f"one of {self.name}({', '.join(map(repr, self._values))})"


class OneOf(_Finite):
    """Any finite set of hashable constants, e.g. ``OneOf(None, 0, 1)``."""

    def __init__(self, *values: Any) -> None:
        super().__init__(values)

    def describe(self) -> str:
        return f"one of {{{', '.join(map(repr, self._values))}}}"


class BoolType(_Finite):
    def __init__(self) -> None:
        super().__init__((False, True))

    def describe(self) -> str:
        return "a bool"


Bool = BoolType()


class Int(Type):
    """An integer in ``lo..hi`` (both included)."""

    def __init__(self, lo: int, hi: int) -> None:
        if hi < lo:
            raise ValueError(f"Int({lo}, {hi}): empty range")
        self.lo, self.hi = lo, hi
        self.size = hi - lo + 1

    def contains(self, v: object) -> bool:
        return type(v) is int and self.lo <= v <= self.hi

    def pack(self, v: Any) -> int:
        if type(v) is not int or not self.lo <= v <= self.hi:
            raise SchemaError(f"{v!r} is not {self.describe()}")
        return v - self.lo

    def unpack(self, code: int) -> int:
        return code + self.lo

    def values(self) -> Iterator[int]:
        return iter(range(self.lo, self.hi + 1))

    def describe(self) -> str:
        return f"an int in {self.lo}..{self.hi}"


class Id(Int):
    """A node id in ``0..n-1`` of an id space; symmetry reduction renames these."""

    def __init__(self, space: str, n: int) -> None:
        super().__init__(0, n - 1)
        self.space = space

    def permute(self, v: Any, perm: Perm) -> Any:
        p = perm.get(self.space)
        return v if p is None else p[v]

    def spaces(self) -> frozenset[str]:
        return frozenset((self.space,))

    def view(self, v: Any, space: str, i: int) -> Any:
        # Ids of other spaces may be renamed too: a view must not depend on their names.
        if space == self.space:
            return 0 if v == i else 1
        return -1

    def describe(self) -> str:
        return f"a {self.space} id in 0..{self.hi}"


class _Product(Type):
    """Fixed-shape containers: mixed-radix code over their components."""

    parts: tuple[Type, ...]

    def _init_parts(self, parts: Sequence[Type]) -> None:
        self.parts = tuple(parts)
        self._radix: list[int] = []
        r = 1
        for t in self.parts:
            self._radix.append(r)
            r *= t.size
        self.size = r

    def _pack_items(self, items: Sequence[Any]) -> int:
        code = 0
        for t, r, x in zip(self.parts, self._radix, items, strict=True):
            code += t.pack(x) * r
        return code

    def _unpack_items(self, code: int) -> list[Any]:
        out = []
        for t in self.parts:
            code, c = divmod(code, t.size)
            out.append(t.unpack(c))
        return out

    def spaces(self) -> frozenset[str]:
        return frozenset().union(*(t.spaces() for t in self.parts))

    @property
    def _live(self) -> tuple[bool, ...]:
        """Which components mention an id space (the others are fixed by every permutation)."""
        live: tuple[bool, ...] | None = self.__dict__.get("_live_cache")
        if live is None:
            live = tuple(bool(t.spaces()) for t in self.parts)
            self.__dict__["_live_cache"] = live
        return live

    # Generated code: one expression per component, no loops, memo tables for sub-values.
    def _getter(self, k: int) -> str:
        return f"v[{k}]"

    def _guard(self) -> str:
        return f"type(v) is tuple and len(v) == {len(self.parts)}"

    def _builder(self, items: str) -> str:
        return f"({items},)" if items else "()"

    def _bad(self, v: Any) -> SchemaError:
        return SchemaError(f"{v!r} is not {self.describe()}")

    def memo_safe(self) -> bool:
        return all(t.memo_safe() for t in self.parts)

    def packer(self, memo: bool = True) -> Callable[[Any], int]:
        memo = memo and self.memo_safe()
        ns: dict[str, Any] = {"bad": self._bad, "MEMO": {}, "LIMIT": _MEMO_LIMIT, "kind": _same_kind}
        ns.update(self._builder_ns())
        body = ["def pack(v):"]
        body.append(f"    if not ({self._guard()}):")
        body.append("        raise bad(v)")
        if memo:
            body += ["    try:", "        return MEMO[v]", "    except KeyError:", "        pass",
                     "    except TypeError:", "        raise bad(v) from None"]
        terms = []
        for k, (t, r) in enumerate(zip(self.parts, self._radix, strict=True)):
            if t.size == 1:
                # A constant field: compare with its one value instead of packing it.
                const = t.unpack(0)
                ns[f"K{k}"] = const
                if _has_numbers(const):  # True == 1: compare the kinds too
                    body.append(f"    if {self._getter(k)} != K{k} or not kind({self._getter(k)}, K{k}):")
                else:
                    body.append(f"    if {self._getter(k)} != K{k}:")
                body.append("        raise bad(v)")
            else:
                ns[f"P{k}"] = t.packer(True)
                terms.append(f"P{k}({self._getter(k)})" + (f" * {r}" if r != 1 else ""))
        body.append(f"    code = {' + '.join(terms) or '0'}")
        if memo:
            body.append("    if len(MEMO) < LIMIT:")
            body.append("        MEMO[v] = code")
        body.append("    return code")
        exec("\n".join(body), ns)
        return ns["pack"]

    def unpacker(self, memo: bool = True) -> Callable[[int], Any]:
        ns: dict[str, Any] = {"MEMO": {}, "LIMIT": _MEMO_LIMIT}
        ns.update(self._builder_ns())
        body = ["def unpack(c):"]
        if memo:
            body += ["    try:", "        return MEMO[c]", "    except KeyError:", "        pass", "    c0 = c"]
        names = []
        for k, t in enumerate(self.parts):
            if t.size == 1:
                ns[f"K{k}"] = t.unpack(0)
                names.append(f"K{k}")
                continue
            ns[f"U{k}"] = t.unpacker(True)
            body.append(f"    c, x{k} = divmod(c, {t.size})")
            body.append(f"    x{k} = U{k}(x{k})")
            names.append(f"x{k}")
        body.append(f"    v = {self._builder(', '.join(names))}")
        if memo:
            body.append("    if len(MEMO) < LIMIT:")
            body.append("        MEMO[c0] = v")
        body.append("    return v")
        exec("\n".join(body), ns)
        return ns["unpack"]

    def _builder_ns(self) -> dict[str, Any]:
        return {}



def move_positions(items: Sequence[Any], p: Sequence[int] | None) -> tuple[Any, ...]:
    """The items of a structure indexed by an id space, moved by the renaming ``p`` of that space."""
    if p is None:
        return tuple(items)
    out: list[Any] = list(items)
    for k, x in enumerate(items):
        out[p[k]] = x
    return tuple(out)

class Vec(_Product):
    """A tuple of ``n`` values of one type; ``index`` names the id space that indexes it."""

    def __init__(self, elem: Type, n: int, index: str | None = None) -> None:
        self.elem, self.n, self.index = elem, n, index
        self._init_parts([elem] * n)
        self._memo: dict[tuple[Any, ...], int] = {}
        self._use_memo = elem.memo_safe()

    def contains(self, v: object) -> bool:
        return type(v) is tuple and len(v) == self.n and all(self.elem.contains(x) for x in v)

    def check(self, v: object, path: str = "state") -> None:
        if type(v) is not tuple or len(v) != self.n:
            raise SchemaError(f"{path} = {v!r} is not {self.describe()}")
        for k, x in enumerate(v):
            self.elem.check(x, f"{path}[{k}]")

    def pack(self, v: Any) -> int:
        if type(v) is not tuple or len(v) != self.n:
            raise SchemaError(f"{v!r} is not {self.describe()}")
        memo = self._memo if self._use_memo else None
        if memo is not None:
            try:
                return memo[v]
            except KeyError:
                pass
            except TypeError:
                raise SchemaError(f"{v!r} is not {self.describe()}") from None
        code = 0
        elem, s = self.elem, self.elem.size
        for x in reversed(v):
            code = code * s + elem.pack(x)
        if memo is not None and len(memo) < _MEMO_LIMIT:
            memo[v] = code
        return code

    def unpack(self, code: int) -> tuple[Any, ...]:
        return tuple(self._unpack_items(code))

    def permute(self, v: Any, perm: Perm) -> Any:
        p = perm.get(self.index) if self.index is not None else None
        inner = self.elem.spaces() & perm.keys()
        items = [self.elem.permute(x, perm) for x in v] if inner else list(v)
        return move_positions(items, p)

    def spaces(self) -> frozenset[str]:
        own = frozenset((self.index,)) if self.index else frozenset()
        return own | self.elem.spaces()

    def view(self, v: Any, space: str, i: int) -> Any:
        views = [self.elem.view(x, space, i) for x in v]
        if self.index == space:
            mine = views.pop(i)
            return (mine, tuple(sorted(views)))
        if self.index is not None:  # positions named by ids of another space
            return tuple(sorted(views))
        return tuple(views)

    def describe(self) -> str:
        idx = f", index={self.index!r}" if self.index else ""
        return f"Vec({self.elem.describe()}, {self.n}{idx})"


class BagOf(Vec):
    """A multiset over a declared universe: a tuple of counts, one per universe element."""

    def __init__(self, elem: Type, universe: Sequence[Any], max_count: int) -> None:
        super().__init__(Int(0, max_count), len(universe))
        self.item, self.universe = elem, tuple(universe)
        self._pos = {x: k for k, x in enumerate(self.universe)}

    def permute(self, v: Any, perm: Perm) -> Any:
        out = [0] * self.n
        for x, c in zip(self.universe, v, strict=True):
            if c:
                y = self.item.permute(x, perm)
                if y not in self._pos:
                    raise SchemaError(f"{y!r} (a renaming of {x!r}) is not in the declared universe")
                out[self._pos[y]] = c
        return tuple(out)

    def spaces(self) -> frozenset[str]:
        return self.item.spaces()

    def view(self, v: Any, space: str, i: int) -> Any:
        return tuple(sorted((self.item.view(x, space, i), c) for x, c in zip(self.universe, v, strict=True) if c))

    def describe(self) -> str:
        return f"BagOf({self.item.describe()}, {len(self.universe)} elements, max {self.elem.size - 1})"


class Tuple(_Product):
    """A tuple of fixed length whose positions have their own types (e.g. node states)."""

    def __init__(self, *parts: Type, index: str | None = None) -> None:
        self.index = index
        self._init_parts(parts)

    def contains(self, v: object) -> bool:
        return (
            type(v) is tuple
            and len(v) == len(self.parts)
            and all(t.contains(x) for t, x in zip(self.parts, v, strict=True))
        )

    def check(self, v: object, path: str = "state") -> None:
        if type(v) is not tuple or len(v) != len(self.parts):
            raise SchemaError(f"{path} = {v!r} is not {self.describe()}")
        for k, (t, x) in enumerate(zip(self.parts, v, strict=True)):
            t.check(x, f"{path}[{k}]")

    def pack(self, v: Any) -> int:
        if type(v) is not tuple or len(v) != len(self.parts):
            raise SchemaError(f"{v!r} is not {self.describe()}")
        return self._pack_items(v)

    def unpack(self, code: int) -> tuple[Any, ...]:
        return tuple(self._unpack_items(code))

    def permute(self, v: Any, perm: Perm) -> Any:
        items = [t.permute(x, perm) if live else x for t, x, live in zip(self.parts, v, self._live, strict=True)]
        return move_positions(items, perm.get(self.index) if self.index is not None else None)

    def spaces(self) -> frozenset[str]:
        own = frozenset((self.index,)) if self.index else frozenset()
        return own | super().spaces()

    def view(self, v: Any, space: str, i: int) -> Any:
        if self.index == space:
            # Positions move with the permutation, so every position's value matters.
            views = [t.view(x, space, i) for t, x in zip(self.parts, v, strict=True)]
        else:
            views = [t.view(x, space, i) if live else 0 for t, x, live in zip(self.parts, v, self._live, strict=True)]
        if self.index == space:
            # Positions renamed by the permutation are summarised as a multiset.
            mine = views[i]
            return (mine, tuple(sorted(repr(w) for k, w in enumerate(views) if k != i)))
        if self.index is not None:  # positions named by ids of another space
            return tuple(sorted(repr(w) for w in views))
        return tuple(views)

    def describe(self) -> str:
        return f"Tuple({', '.join(t.describe() for t in self.parts)})"


class Channels(Tuple):
    """FIFO queues, one per (src, dst) channel; renaming node ids moves queues between channels."""

    def __init__(self, channels: Sequence[tuple[int, int]], queue: Seq, space: str) -> None:
        super().__init__(*(queue for _c in channels))
        self.channels, self.queue, self.space = list(channels), queue, space
        self._chan = {c: k for k, c in enumerate(self.channels)}

    def permute(self, v: Any, perm: Perm) -> Any:
        p = perm.get(self.space)
        out: list[Any] = [()] * len(self.channels)
        for (a, b), q in zip(self.channels, v, strict=True):
            c = (p[a], p[b]) if p is not None else (a, b)
            if c not in self._chan:
                raise SchemaError(f"channel {c} (a renaming of {(a, b)}) is not declared")
            out[self._chan[c]] = self.queue.permute(q, perm)
        return tuple(out)

    def spaces(self) -> frozenset[str]:
        return frozenset((self.space,)) | self.queue.spaces()

    def view(self, v: Any, space: str, i: int) -> Any:
        def end(x: int) -> int:
            return (0 if x == i else 1) if space == self.space else -1

        return tuple(sorted(repr((end(a), end(b), self.queue.view(q, space, i)))
                            for (a, b), q in zip(self.channels, v, strict=True) if q))

    def describe(self) -> str:
        return f"Channels({len(self.channels)} FIFO queues of {self.queue.describe()})"


class Record(_Product):
    """A NamedTuple or frozen dataclass whose fields are declared types."""

    def __init__(self, cls: type, **fields: Type) -> None:
        self.cls = cls
        if dataclasses.is_dataclass(cls) and not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise ValueError(f"Record({cls.__name__}): the dataclass must be frozen (@dataclass(frozen=True))")
        names = _field_names(cls)
        if list(fields) != names:
            raise ValueError(
                f"Record({cls.__name__}) declares fields {list(fields)} but the class has "
                f"{names}: declare every field, in the class's order"
            )
        self.names = tuple(names)
        self.fields = dict(fields)
        self._init_parts(list(fields.values()))
        self._is_tuple = issubclass(cls, tuple)
        self._kind: str | None = getattr(cls, "_kind", None)  # messages: (kind, *fields)
        self._off = 1 if self._kind is not None else 0

    def _getter(self, k: int) -> str:
        return f"v[{k + self._off}]" if self._is_tuple else f"v.{self.names[k]}"

    def _guard(self) -> str:
        return "type(v) is CLS"

    def _builder(self, items: str) -> str:
        if self._kind is not None:
            return f"NEW(CLS, (KIND, {items}))" if items else "NEW(CLS, (KIND,))"
        if self._is_tuple:
            return f"NEW(CLS, ({items},))" if items else "NEW(CLS, ())"
        return f"CLS({items})"

    def _builder_ns(self) -> dict[str, Any]:
        return {"CLS": self.cls, "NEW": tuple.__new__, "KIND": self._kind}

    def _items(self, v: Any) -> Sequence[Any]:
        if self._off:
            return v[1:]
        if self._is_tuple:
            return v
        return [getattr(v, n) for n in self.names]

    def contains(self, v: object) -> bool:
        return type(v) is self.cls and all(
            t.contains(x) for t, x in zip(self.parts, self._items(v), strict=True)
        )

    def check(self, v: object, path: str = "state") -> None:
        if type(v) is not self.cls:
            raise SchemaError(f"{path} = {v!r} is not a {self.cls.__name__}")
        for n, t, x in zip(self.names, self.parts, self._items(v), strict=True):
            t.check(x, f"{path}.{n}")

    def pack(self, v: Any) -> int:
        if type(v) is not self.cls:
            raise SchemaError(f"{v!r} is not a {self.cls.__name__}")
        return self._pack_items(self._items(v))

    def unpack(self, code: int) -> Any:
        return self.cls(*self._unpack_items(code))

    def permute(self, v: Any, perm: Perm) -> Any:
        items = [t.permute(x, perm) if live else x
                 for t, x, live in zip(self.parts, self._items(v), self._live, strict=True)]
        if self._kind is not None:
            return tuple.__new__(self.cls, (self._kind, *items))
        return tuple.__new__(self.cls, items) if self._is_tuple else self.cls(*items)

    def view(self, v: Any, space: str, i: int) -> Any:
        return tuple(t.view(x, space, i) if live else 0
                     for t, x, live in zip(self.parts, self._items(v), self._live, strict=True))

    def describe(self) -> str:
        return f"{self.cls.__name__}({', '.join(f'{n}={t.describe()}' for n, t in self.fields.items())})"


def _field_names(cls: type) -> list[str]:
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls)]
    fields = getattr(cls, "_fields", None)
    if isinstance(fields, tuple):
        return list(fields)
    raise ValueError(f"Record needs a NamedTuple or a frozen dataclass, not {cls!r}")


def _equal_across_types(t: Type) -> bool:
    """Whether some value of ``t`` may equal a value of another type (numbers, untagged tuples)."""
    if isinstance(t, Record):
        return t._is_tuple and t._kind is None
    if isinstance(t, (Int, Vec, Tuple, Seq)):
        return True
    if isinstance(t, _Finite):
        return t._strict
    return False


class Union(Type):
    """A value of exactly one of several types (message kinds, ``None`` or a value, ...)."""

    def __init__(self, *alts: Type) -> None:
        if not alts:
            raise ValueError("Union needs at least one alternative")
        self.alts = alts
        self._offsets = list(itertools.accumulate((a.size for a in alts), initial=0))
        self.size = self._offsets[-1]
        self._by_class: dict[type, int] = {}
        for k, a in enumerate(alts):
            if isinstance(a, Record):
                if a.cls in self._by_class:
                    raise ValueError(f"Union lists record {a.cls.__name__} twice")
                self._by_class[a.cls] = k
        for i, j in itertools.combinations(range(len(alts)), 2):
            small, other = sorted((alts[i], alts[j]), key=lambda t: t.size)
            if small.size <= 4096 and any(other.contains(x) for x in small.values()):
                raise ValueError(
                    f"Union alternatives {alts[i].describe()} and {alts[j].describe()} share values: "
                    "each value must belong to exactly one alternative"
                )
        # Equal values in two alternatives (A(0) == B(0) for NamedTuples, True == 1) would
        # share a memo entry while their codes differ.
        eqish = [a for a in alts if _equal_across_types(a)]
        self._memo_safe = len(eqish) < 2 and all(a.memo_safe() for a in alts)

    def _alt(self, v: object) -> int:
        k = self._by_class.get(type(v))
        if k is not None:
            return k
        for k, a in enumerate(self.alts):
            if a.contains(v):
                return k
        return -1

    def contains(self, v: object) -> bool:
        k = self._alt(v)
        return k >= 0 and self.alts[k].contains(v)

    def check(self, v: object, path: str = "state") -> None:
        k = self._alt(v)
        if k < 0:
            raise SchemaError(f"{path} = {v!r} is not {self.describe()}")
        self.alts[k].check(v, path)

    def pack(self, v: Any) -> int:
        k = self._alt(v)
        if k < 0:
            raise SchemaError(f"{v!r} is not {self.describe()}")
        return self._offsets[k] + self.alts[k].pack(v)

    def unpack(self, code: int) -> Any:
        for k, a in enumerate(self.alts):
            if code < self._offsets[k + 1]:
                return a.unpack(code - self._offsets[k])
        raise ValueError(f"code {code} out of range for {self.describe()}")

    def memo_safe(self) -> bool:
        return self._memo_safe

    def permute(self, v: Any, perm: Perm) -> Any:
        return self.alts[self._alt(v)].permute(v, perm)

    def spaces(self) -> frozenset[str]:
        return frozenset().union(*(a.spaces() for a in self.alts))

    def view(self, v: Any, space: str, i: int) -> Any:
        k = self._alt(v)
        return (k, self.alts[k].view(v, space, i))

    def describe(self) -> str:
        return " | ".join(a.describe() for a in self.alts)


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


@dataclass_transform(frozen_default=True)
def message(cls: type[_T]) -> type[_T]:
    """Declare a message kind: an immutable record stored as the tuple ``(kind, *fields)``.

    Tuples hash and compare in C, which matters because the checker hashes every set of
    messages it meets; the leading kind keeps kinds with equal fields apart (two plain
    NamedTuples ``A(1) == B(1)``, and ``Commit() == Abort()`` when both are empty).
    """
    hints = inspect.get_annotations(cls)
    fields = tuple(n for n in hints if not n.startswith("_"))
    defaults = {n: cls.__dict__[n] for n in fields if n in cls.__dict__}
    kind = cls.__name__

    nfields = len(fields)

    def __new__(klass: type, *args: Any, **kwargs: Any) -> Any:
        if len(args) == nfields and not kwargs:  # the common case, kept fast
            return tuple.__new__(klass, (kind, *args))
        if len(args) > nfields:
            raise TypeError(f"{kind}() takes {len(fields)} arguments but {len(args)} were given")
        vals = list(args)
        for n in fields[len(args) :]:
            if n in kwargs:
                vals.append(kwargs.pop(n))
            elif n in defaults:
                vals.append(defaults[n])
            else:
                raise TypeError(f"{kind}() missing argument {n!r}")
        if kwargs:
            raise TypeError(f"{kind}() got an unexpected argument {next(iter(kwargs))!r}")
        return tuple.__new__(klass, (kind, *vals))

    def __repr__(self: tuple[Any, ...]) -> str:
        return f"{kind}({', '.join(f'{n}={v!r}' for n, v in zip(fields, self[1:], strict=True))})"

    ns: dict[str, Any] = {
        "__slots__": (),
        "__new__": __new__,
        "__repr__": __repr__,
        "__getnewargs__": lambda self: tuple(self[1:]),
        "__match_args__": fields,
        "__doc__": cls.__doc__,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "_fields": fields,
        "_kind": kind,
        "_asdict": lambda self: dict(zip(fields, self[1:], strict=True)),
    }
    for k, n in enumerate(fields):
        ns[n] = property(operator.itemgetter(k + 1), doc=f"field {n}")
    for attr, val in cls.__dict__.items():
        if attr not in ns and attr not in fields and not attr.startswith("__"):
            ns[attr] = val  # helper methods and constants of the message class
    return type(kind, (tuple,), ns)


def is_message(value: object) -> bool:
    return hasattr(type(value), "_kind") and isinstance(value, tuple)


def fields_of(value: Any) -> dict[str, Any]:
    """The named fields of a record value (NamedTuple or dataclass), for display."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    asdict = getattr(value, "_asdict", None)
    if callable(asdict):
        return dict(asdict())
    return {}


def to_jsonable(value: Any) -> Any:
    """A JSON-friendly rendering of a state value (records become objects, sets sorted lists)."""
    f = fields_of(value)
    if f:
        out = {k: to_jsonable(v) for k, v in f.items()}
        if dataclasses.is_dataclass(value) or is_message(value):
            return {"$type": type(value).__name__, **out}
        return out
    if isinstance(value, frozenset):
        return sorted((to_jsonable(x) for x in value), key=repr)
    if isinstance(value, tuple):
        return [to_jsonable(x) for x in value]
    return value

