"""Symmetry reduction: one canonical representative per orbit of interchangeable ids.

The canonical form is exact: ids of a group are sorted by a permutation-invariant signature
(``Type.view``); ties are broken by trying every order of the tied ids and keeping the
least packed code, except where swapping tied ids leaves the state unchanged (then every
order gives the same state).  So two states get the same representative if and only if
some permutation maps one to the other, and the number of distinct states reported is the
number of orbits.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..models.base import Model
from ..models.schema import Id, Perm, Record, Seq, SetOf, Tuple, Type, Union, Vec

_MEMO_LIMIT = 1 << 20


class SymmetryError(Exception):
    """Symmetry reduction is not available or not sound for this model."""


class AsymmetricDefinition(SymmetryError):
    """A property differs between a state and its renaming: the model's symmetry is wrongly declared."""

    def __init__(self, message: str, state: Any, action: Any = None) -> None:
        super().__init__(message)
        self.message, self.state, self.action = message, state, action
        self.traceback = ""

    def __str__(self) -> str:
        step = f"\n  in action {self.action!r}" if self.action is not None else ""
        return f"{self.message}{step}\n  the state below: {self.state!r}"


def _walk(t: Type) -> Iterator[Type]:
    yield t
    kids: list[Type] = []
    if isinstance(t, (Vec, Tuple, Record)):
        kids = list(t.parts)
    elif isinstance(t, Union):
        kids = list(t.alts)
    elif isinstance(t, SetOf):
        kids = [t.elem] if t.elem is not None else []
    elif isinstance(t, Seq):
        kids = [t.elem]
    for k in kids:
        yield from _walk(k)


def space_sizes(t: Type) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for x in _walk(t):
        if isinstance(x, Id):
            sizes[x.space] = max(sizes.get(x.space, 0), x.size)
        if isinstance(x, (Vec, Tuple)) and x.index is not None:
            n = x.n if isinstance(x, Vec) else len(x.parts)
            sizes[x.index] = max(sizes.get(x.index, 0), n)
    return sizes


def describe_perm(perm: Perm, identity: dict[str, list[int]]) -> str:
    """``node 0↔1`` style: the ids a renaming moves, by space."""
    parts = []
    for space, p in perm.items():
        moved = [(i, j) for i, j in enumerate(p) if i != j and i < len(identity.get(space, ()))]
        if moved:
            parts.append(f"{space} " + ", ".join(f"{i}→{j}" for i, j in moved))
    return "; ".join(parts) or "identity"


def renamings(identity: Mapping[str, list[int]],
              per_group: Sequence[Sequence[tuple[str, Sequence[int], Sequence[int]]]]) -> list[Perm]:
    """One renaming per choice of a ``(space, olds, news)`` for each group (``olds[k]`` of
    ``space`` is renamed ``news[k]``; other ids keep their names), in product order."""
    out: list[Perm] = []
    for combo in itertools.product(*per_group):
        perm = {space: list(ids) for space, ids in identity.items()}
        for space, olds, news in combo:
            for old, new in zip(olds, news, strict=True):
                perm[space][old] = new
        out.append(perm)
    return out


class Canonicalizer:
    """``key(state)`` is the packed code of the state's orbit representative."""

    def __init__(self, model: Model[Any]) -> None:
        sym = model.symmetry()
        if not sym:
            raise SymmetryError(
                f"model {model.display_name} declares no symmetry, so --symmetry "
                "cannot be used; it needs interchangeable node ids (Model.symmetry())"
            )
        self.type = model.state_type
        sizes = space_sizes(self.type)
        self.groups: list[tuple[str, list[int]]] = []
        self.identity: dict[str, list[int]] = {}
        for space, groups in sym.items():
            if space not in sizes:
                raise SymmetryError(f"symmetry names id space {space!r}, which no state field uses")
            self.identity[space] = list(range(sizes[space]))
            for g in groups:
                if len(g) > 1:
                    self.groups.append((space, sorted(g)))
        self.pack = self.type.pack
        self._concrete = self.type.packer(memo=False)
        self._memo: dict[int, int] = {}

    def _orders(self, s: Any, space: str, group: list[int]) -> list[list[int]]:
        """Candidate orders of ``group`` (each a list of old ids, by new position)."""
        t = self.type
        sigs = {i: repr(t.view(s, space, i)) for i in group}
        ordered = sorted(group, key=lambda i: sigs[i])
        runs = [list(g) for _k, g in itertools.groupby(ordered, key=lambda i: sigs[i])]
        choices: list[list[list[int]]] = []
        for run in runs:
            if len(run) == 1 or self._interchangeable(s, space, run):
                choices.append([run])
            else:
                choices.append([list(p) for p in itertools.permutations(run)])
        return [list(itertools.chain.from_iterable(combo)) for combo in itertools.product(*choices)]

    def _interchangeable(self, s: Any, space: str, run: list[int]) -> bool:
        for a, b in itertools.pairwise(run):
            p = list(self.identity[space])
            p[a], p[b] = b, a
            if self.type.permute(s, {space: p}) != s:
                return False
        return True

    def perms(self, s: Any) -> list[Perm]:
        """The renamings that may take ``s`` to its representative (candidate orders only)."""
        return renamings(self.identity, [[(space, order, group) for order in self._orders(s, space, group)]
                                         for space, group in self.groups])

    def key(self, s: Any) -> int:
        """The orbit's code; memoized by the state's own code (transitions revisit states)."""
        own = self._concrete(s)
        got = self._memo.get(own)
        if got is None:
            t = self.type
            got = min(self.pack(t.permute(s, p)) for p in self.perms(s))
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[own] = got
        return got


def check_symmetric(
    model: Model[Any], canon: Canonicalizer, s: Any, perms: Sequence[Perm],
    expand: Callable[[Any], list[tuple[Any, Any]]],
    step_checks: Sequence[tuple[str, Callable[[Any, Any, Any], bool]]] = (),
    mine: list[tuple[Any, Any]] | None = None,
) -> None:
    """Successors (and step checks) of ``s`` must not depend on id names, under each renaming in ``perms``.

    ``mine`` is ``expand(s)`` where the caller has it.  State properties are justified before the
    run (``symmetry_proof.justify``), not here.  A renaming that maps ``s`` to itself, or to a
    state an earlier one gave, is skipped: the search needs every successor of every *member* of
    the orbit to have its orbit among those of ``s`` (and a step check to agree with the step of
    ``s`` it corresponds to), one renaming per member shows that, and ``s`` itself is expanded.
    """
    stype = model.state_type
    if mine is None:
        mine = expand(s)
    members = {stype.pack(s)}
    for p in perms:
        t = stype.permute(s, p)
        k = stype.pack(t)
        if k in members:
            continue
        members.add(k)
        renamed = expand(t)
        theirs = {stype.pack(y): (b, y) for b, y in renamed}
        if sorted(stype.pack(stype.permute(x, p)) for _a, x in mine) != sorted(stype.pack(y) for _b, y in renamed):
            raise SymmetryError(
                f"the transitions of {model.name} are not symmetric at {s!r}: renaming "
                f"{describe_perm(p, canon.identity)} changes the successors; symmetry reduction would be unsound"
            )
        for a, x in mine:
            b, y = theirs[stype.pack(stype.permute(x, p))]
            for name, chk in step_checks:
                if bool(chk(s, a, x)) != bool(chk(t, b, y)):
                    raise AsymmetricDefinition(
                        f"step property {name} is not symmetric: it differs between {a!r} from the state below "
                        f"and {b!r} from its renaming {t!r}; the model declares ids interchangeable that this "
                        "property distinguishes (fix the property or the symmetry declaration, or run without "
                        "--symmetry)", s, a)
