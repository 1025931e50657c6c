"""The state vocabulary: exact codes, fast packers, type errors that name the path, renaming ids."""

from __future__ import annotations

import dataclasses
import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protoproof.models.schema import (
    Bool,
    Enum,
    Id,
    Int,
    OneOf,
    Record,
    SchemaError,
    Seq,
    SetOf,
    Tuple,
    Type,
    Union,
    Vec,
    fields_of,
    to_jsonable,
)

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ----- the types under test -----------------------------------------------------------

COLOR = Enum("Color", "red", "green", "blue")


class Pt(NamedTuple):
    x: int
    y: int


class Pt2(NamedTuple):
    """Same fields as ``Pt``: equal to a ``Pt`` in Python, a different record to the schema."""

    x: int
    y: int


PT = Record(Pt, x=Int(0, 2), y=Int(-1, 0))


@dataclass(frozen=True, slots=True)
class Req:
    src: int
    kind: str


@dataclass(frozen=True, slots=True)
class Resp:
    dst: int
    ok: bool


@dataclass(frozen=True)
class Empty:
    pass


class Box(NamedTuple):
    cells: tuple[str, ...]
    n: int


class Small(NamedTuple):
    rm: tuple[str, ...]
    msgs: frozenset[Any]
    log: tuple[bool, ...]
    last: Any


class Big(NamedTuple):
    rm: tuple[str, ...]
    msgs: frozenset[Any]
    log: tuple[int, ...]
    pts: tuple[Pt, Pt]
    last: Any
    knows: tuple[frozenset[int], ...]


class St(NamedTuple):
    rm: tuple[str, ...]
    n: int
    flag: bool
    msgs: frozenset[Any]
    pos: Pt
    log: tuple[int, ...]
    last: Any


# Messages whose fields hold ids of space "p" (3 ids).
MSG = Union(Record(Req, src=Id("p", 3), kind=COLOR), Record(Resp, dst=Id("p", 3), ok=Bool), Record(Empty))
MSG2 = Union(Record(Resp, dst=Id("p", 2), ok=Bool), Record(Empty))

SMALL: dict[str, Type] = {
    "Bool": Bool,
    "Int(-2, 3)": Int(-2, 3),
    "Int(5, 5)": Int(5, 5),
    "Id": Id("p", 3),
    "Enum": COLOR,
    "OneOf(None, 0, 1)": OneOf(None, 0, 1),
    "OneOf(None, 'x')": OneOf(None, "x"),
    "OneOf(None)": OneOf(None),
    "Vec of Enum": Vec(COLOR, 3, index="p"),
    "Vec of length 0": Vec(Bool, 0),
    "Tuple": Tuple(Bool, Int(0, 2), OneOf(None, "a")),
    "empty Tuple": Tuple(),
    "Tuple with a constant part": Tuple(Int(1, 1), Bool, OneOf(None)),
    "NamedTuple Record": PT,
    "dataclass Record": Record(Req, src=Id("p", 3), kind=COLOR),
    "fieldless Record": Record(Empty),
    "Record of Vec of Enum": Record(Box, cells=Vec(COLOR, 2), n=Int(0, 1)),
    "Union with OneOf(None)": Union(OneOf(None), PT),
    "Union of Records": MSG,
    "SetOf ids": SetOf(Id("p", 3)),
    "SetOf a Union of Records": SetOf(MSG2),
    "SetOf a plain universe": SetOf(["a", "b", "c"]),
    "SetOf a declared sub-universe": SetOf(Int(0, 9), [2, 3, 5, 7]),
    "Seq of Int": Seq(Int(0, 2), 3),
    "Seq of Records": Seq(PT, 2),
    "Seq of maxlen 0": Seq(Bool, 0),
    "nested Record": Record(
        Small, rm=Vec(COLOR, 2, index="p"), msgs=SetOf(MSG2), log=Seq(Bool, 1), last=Union(OneOf(None), Id("p", 2))
    ),
}

BIG = Record(
    Big,
    rm=Vec(COLOR, 6),
    msgs=SetOf(MSG),
    log=Seq(Int(0, 4), 5),
    pts=Tuple(PT, PT),
    last=Union(OneOf(None), Record(Req, src=Id("p", 3), kind=COLOR)),
    knows=Vec(SetOf(Id("p", 3)), 3, index="p"),
)

# ----- helpers ------------------------------------------------------------------------


def strict(v: Any) -> str:
    """A rendering in which values the schema tells apart differ (``True`` vs ``1``, ``Pt`` vs ``Pt2``)."""
    if isinstance(v, frozenset):
        return "frozenset{" + ",".join(sorted(strict(x) for x in v)) + "}"
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        inner = ",".join(strict(getattr(v, f.name)) for f in dataclasses.fields(v))
        return f"{type(v).__qualname__}({inner})"
    if isinstance(v, tuple):
        return f"{type(v).__qualname__}(" + ",".join(strict(x) for x in v) + ")"
    return f"{type(v).__qualname__}:{v!r}"


def same(a: Any, b: Any) -> bool:
    return strict(a) == strict(b)


def brute_values(t: Type) -> Iterator[Any]:
    """Every value of ``t``, enumerated from its structure (independently of ``unpack``)."""
    if isinstance(t, Int):
        yield from range(t.lo, t.hi + 1)
    elif isinstance(t, (Enum, OneOf)) or t is Bool:
        yield from t.values()
    elif isinstance(t, Vec):
        for combo in itertools.product(*(list(brute_values(t.elem)) for _ in range(t.n))):
            yield tuple(combo)
    elif isinstance(t, Tuple):
        for combo in itertools.product(*(list(brute_values(p)) for p in t.parts)):
            yield tuple(combo)
    elif isinstance(t, Record):
        for combo in itertools.product(*(list(brute_values(p)) for p in t.parts)):
            yield t.cls(*combo)
    elif isinstance(t, Union):
        for a in t.alts:
            yield from brute_values(a)
    elif isinstance(t, SetOf):
        u = t.universe
        for r in range(len(u) + 1):
            for sub in itertools.combinations(u, r):
                yield frozenset(sub)
    elif isinstance(t, Seq):
        elems = list(brute_values(t.elem))
        for n in range(t.maxlen + 1):
            for combo in itertools.product(elems, repeat=n):
                yield tuple(combo)
    else:  # pragma: no cover - a new type needs a case here
        raise AssertionError(f"no brute enumeration for {t!r}")


def values_of(t: Type) -> st.SearchStrategy[Any]:
    """A Hypothesis strategy for values of ``t``, built from its structure."""
    if isinstance(t, Int):
        return st.integers(t.lo, t.hi)
    if isinstance(t, (Enum, OneOf)) or t is Bool:
        return st.sampled_from(list(t.values()))
    if isinstance(t, Vec):
        return st.tuples(*(values_of(t.elem) for _ in range(t.n)))
    if isinstance(t, Tuple):
        return st.tuples(*(values_of(p) for p in t.parts))
    if isinstance(t, Record):
        cls = t.cls

        def build(xs: tuple[Any, ...]) -> Any:
            return cls(*xs)

        return st.tuples(*(values_of(p) for p in t.parts)).map(build)
    if isinstance(t, Union):
        return st.one_of(*(values_of(a) for a in t.alts))
    if isinstance(t, SetOf):
        return st.frozensets(st.sampled_from(t.universe)) if t.universe else st.just(frozenset())
    if isinstance(t, Seq):
        return st.lists(values_of(t.elem), max_size=t.maxlen).map(tuple)
    raise AssertionError(f"no strategy for {t!r}")  # pragma: no cover


def perm_of(n: int) -> st.SearchStrategy[list[int]]:
    return st.permutations(range(n)).map(list)


# ----- bijection onto range(size) -------------------------------------------------------


@pytest.mark.parametrize("name", list(SMALL))
def test_pack_is_a_bijection_onto_range_size(name: str) -> None:
    t = SMALL[name]
    vals = list(brute_values(t))
    assert len(vals) == t.size
    codes = [t.pack(v) for v in vals]
    assert sorted(codes) == list(range(t.size))
    for v, c in zip(vals, codes, strict=True):
        assert same(t.unpack(c), v)
        assert t.contains(v)
        t.check(v)


@pytest.mark.parametrize("name", list(SMALL))
def test_unpack_then_pack_gives_back_every_code(name: str) -> None:
    t = SMALL[name]
    for c in range(t.size):
        v = t.unpack(c)
        assert t.contains(v), (c, v)
        assert t.pack(v) == c


@pytest.mark.parametrize("name", list(SMALL))
def test_values_enumerates_in_code_order_without_repeats(name: str) -> None:
    t = SMALL[name]
    vals = list(t.values())
    assert len(vals) == t.size
    assert [t.pack(v) for v in vals] == list(range(t.size))


def test_sizes_are_the_product_sum_and_power_of_their_parts() -> None:
    assert Vec(COLOR, 3).size == 27
    assert Tuple(Bool, Int(0, 2)).size == 6
    assert PT.size == 6
    assert Union(OneOf(None), PT).size == 7
    assert SetOf(Id("p", 3)).size == 8
    assert Seq(Int(0, 2), 3).size == 1 + 3 + 9 + 27
    assert Record(Empty).size == 1
    assert BIG.size == 3**6 * 2**16 * sum(5**k for k in range(6)) * 36 * 10 * 8**3


@FAST
@given(st.data())
def test_codes_of_a_large_type_round_trip(data: st.DataObject) -> None:
    code = data.draw(st.integers(0, BIG.size - 1))
    v = BIG.unpack(code)
    assert BIG.contains(v)
    BIG.check(v)
    assert BIG.pack(v) == code


@FAST
@given(values_of(BIG))
def test_values_of_a_large_type_round_trip(v: Any) -> None:
    code = BIG.pack(v)
    assert 0 <= code < BIG.size
    assert same(BIG.unpack(code), v)


@FAST
@given(values_of(BIG), values_of(BIG))
def test_distinct_values_get_distinct_codes(a: Any, b: Any) -> None:
    assert (BIG.pack(a) == BIG.pack(b)) == same(a, b)


def test_sample_draws_type_correct_values_reproducibly() -> None:
    a = [BIG.sample(random.Random(7)) for _ in range(3)]
    b = [BIG.sample(random.Random(7)) for _ in range(3)]
    assert a == b
    rng = random.Random(1)
    drawn = [BIG.sample(rng) for _ in range(50)]
    assert all(BIG.contains(v) for v in drawn)
    assert len({BIG.pack(v) for v in drawn}) > 40


# ----- fast packers agree with pack / unpack --------------------------------------------


@pytest.mark.parametrize("memo", [True, False])
@pytest.mark.parametrize("name", list(SMALL))
def test_packer_and_unpacker_agree_with_pack_and_unpack_cold_and_warm(name: str, memo: bool) -> None:
    t = SMALL[name]
    pack, unpack = t.packer(memo), t.unpacker(memo)
    for _round in range(2):  # the second round runs on warm memo tables
        for c in range(t.size):
            v = t.unpack(c)
            assert same(unpack(c), v)
            assert pack(v) == c
            assert pack(unpack(c)) == c


@FAST
@given(values_of(BIG), st.booleans())
def test_packer_of_a_large_type_agrees_with_pack(v: Any, memo: bool) -> None:
    pack, unpack = BIG.packer(memo), BIG.unpacker(memo)
    code = BIG.pack(v)
    assert pack(v) == code
    assert pack(v) == code  # again, from the memo
    assert same(unpack(code), v)
    assert same(unpack(code), v)


# ----- check() names the path to the bad value ------------------------------------------

ST = Record(
    St,
    rm=Vec(COLOR, 3, index="p"),
    n=Int(0, 3),
    flag=Bool,
    msgs=SetOf(MSG),
    pos=PT,
    log=Seq(Id("p", 3), 2),
    last=Union(OneOf(None), PT),
)
GOOD = St(("red", "green", "blue"), 2, False, frozenset({Resp(0, True)}), Pt(1, 0), (0, 2), None)

BAD_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("misspelled enum string", {"rm": ("red", "gren", "blue")}, "state.rm[1]"),
    ("int above its range", {"n": 4}, "state.n"),
    ("int below its range", {"n": -1}, "state.n"),
    ("bool where an int is expected", {"n": True}, "state.n"),
    ("int where a bool is expected", {"flag": 1}, "state.flag"),
    ("list instead of a tuple", {"rm": ["red", "green", "blue"]}, "state.rm"),
    ("tuple of the wrong length", {"rm": ("red", "green")}, "state.rm"),
    ("element outside the set universe", {"msgs": frozenset({Resp(5, True)})}, "state.msgs"),
    ("set instead of a frozenset", {"msgs": {Resp(0, True)}}, "state.msgs"),
    ("wrong record class with equal fields", {"pos": Pt2(1, 0)}, "state.pos"),
    ("plain tuple instead of a record", {"pos": (1, 0)}, "state.pos"),
    ("bad field inside a record", {"pos": Pt(3, 0)}, "state.pos.x"),
    ("sequence longer than its maxlen", {"log": (0, 1, 2)}, "state.log"),
    ("bad element inside a sequence", {"log": (0, 3)}, "state.log[1]"),
    ("value in no alternative of a union", {"last": "none"}, "state.last"),
    ("bad field inside a union alternative", {"last": Pt(0, 5)}, "state.last.y"),
]


def test_the_reference_state_is_well_typed() -> None:
    ST.check(GOOD)
    assert ST.contains(GOOD)
    assert same(ST.unpack(ST.pack(GOOD)), GOOD)


@pytest.mark.parametrize(("what", "change", "path"), BAD_FIELDS, ids=[b[0] for b in BAD_FIELDS])
def test_check_raises_schema_error_naming_the_path(what: str, change: dict[str, Any], path: str) -> None:
    bad = GOOD._replace(**change)
    assert not ST.contains(bad)
    with pytest.raises(SchemaError) as info:
        ST.check(bad)
    assert re.search(re.escape(path) + r"( =| holds)", str(info.value)), str(info.value)


@pytest.mark.parametrize(("what", "change", "path"), BAD_FIELDS, ids=[b[0] for b in BAD_FIELDS])
def test_pack_and_cold_packers_reject_what_check_rejects(what: str, change: dict[str, Any], path: str) -> None:
    bad = GOOD._replace(**change)
    with pytest.raises(SchemaError):
        ST.pack(bad)
    for memo in (True, False):
        with pytest.raises(SchemaError):
            ST.packer(memo)(bad)


def test_check_uses_the_given_root_name() -> None:
    with pytest.raises(SchemaError, match=r"initial state\.n = 9"):
        ST.check(GOOD._replace(n=9), "initial state")


def test_check_rejects_a_record_of_the_wrong_class_at_the_root() -> None:
    with pytest.raises(SchemaError, match=r"^state = .* is not a Pt$"):
        PT.check(Pt2(0, 0))


def test_leaves_reject_values_that_are_equal_in_python_but_of_another_type() -> None:
    assert not Int(0, 3).contains(True)
    assert not Bool.contains(1)
    assert not Bool.contains(0.0)
    assert not OneOf(None, 0, 1).contains(False)
    assert not Id("p", 3).contains(1.0)
    for t, v in [(Int(0, 3), True), (Bool, 1), (OneOf(0, 1), True), (COLOR, 0)]:
        with pytest.raises(SchemaError):
            t.pack(v)
        with pytest.raises(SchemaError):
            t.packer()(v)
    assert not SetOf(Int(0, 2)).contains(frozenset({True}))
    with pytest.raises(SchemaError):
        SetOf(Int(0, 2)).pack(frozenset({True}))


def test_unhashable_values_are_schema_errors_not_crashes() -> None:
    t = SetOf(Id("p", 3))
    assert not t.contains(frozenset({(0,)}))
    assert not COLOR.contains(["red"])
    with pytest.raises(SchemaError):
        COLOR.pack(["red"])
    with pytest.raises(SchemaError):
        COLOR.packer()(["red"])
    with pytest.raises(SchemaError):
        Vec(Int(0, 1), 2).pack([0, 1])
    with pytest.raises(SchemaError):
        Vec(Int(0, 1), 2).packer()([0, 1])


def test_definition_mistakes_in_types_are_rejected() -> None:
    with pytest.raises(ValueError, match="empty range"):
        Int(3, 2)
    with pytest.raises(ValueError, match="at least one value"):
        OneOf()
    with pytest.raises(ValueError, match="listed twice"):
        Enum("E", "a", "a")
    with pytest.raises(ValueError, match="not hashable"):
        OneOf([1])
    with pytest.raises(ValueError, match="declare every field"):
        Record(Pt, x=Int(0, 1))
    with pytest.raises(ValueError, match="declare every field"):
        Record(Pt, y=Int(0, 1), x=Int(0, 1))
    with pytest.raises(ValueError, match="NamedTuple or a frozen dataclass"):
        Record(dict, x=Int(0, 1))
    with pytest.raises(ValueError, match="twice"):
        Union(PT, PT)
    with pytest.raises(ValueError, match="twice"):
        SetOf(Int(0, 3), [1, 1])
    with pytest.raises(SchemaError, match="SetOf universe element"):
        SetOf(Int(0, 3), [7])


def test_displays_and_json_of_records_and_sets() -> None:
    assert fields_of(Pt(1, 0)) == {"x": 1, "y": 0}
    assert fields_of(Req(2, "red")) == {"src": 2, "kind": "red"}
    assert fields_of(3) == {}
    assert to_jsonable(GOOD) == {
        "rm": ["red", "green", "blue"], "n": 2, "flag": False,
        "msgs": [{"$type": "Resp", "dst": 0, "ok": True}],
        "pos": {"x": 1, "y": 0}, "log": [0, 2], "last": None,
    }


# ----- memo tables must not confuse values the schema tells apart ----------------------


class A(NamedTuple):
    x: int


class B(NamedTuple):
    x: int


def test_a_cold_pack_rejects_bools_for_ints_and_equal_values_share_one_code() -> None:
    # Memo tables are keyed by Python equality: once (1, 0) is packed, the equal (True, False)
    # gets its code (and unpacks as (1, 0)); a value never seen before is type-checked.
    t = Vec(Int(0, 1), 2)
    with pytest.raises(SchemaError):
        t.pack((True, False))
    assert t.pack((1, 0)) == 1
    assert t.unpack(t.pack((True, False))) == (1, 0)
    s = SetOf(Int(0, 2))
    with pytest.raises(SchemaError):
        s.pack(frozenset({True}))


def test_a_warm_record_packer_still_rejects_a_plain_tuple_with_equal_fields() -> None:
    pack = PT.packer(memo=True)
    assert pack(Pt(1, 0)) == PT.pack(Pt(1, 0))
    with pytest.raises(SchemaError):
        pack((1, 0))


def test_values_of_distinct_namedtuple_classes_with_equal_fields_get_distinct_codes() -> None:
    t = Vec(Union(Record(A, x=Int(0, 1)), Record(B, x=Int(0, 1))), 1)
    a, b = t.pack((A(0),)), t.pack((B(0),))
    assert a != b
    assert type(t.unpack(b)[0]) is B
    pack = t.packer()
    assert pack((A(0),)) != pack((B(0),))


def test_packer_checks_the_type_of_a_constant_part() -> None:
    t = Tuple(Int(1, 1), Bool)
    with pytest.raises(SchemaError):
        t.pack((True, False))  # pack is right ...
    with pytest.raises(SchemaError):
        t.packer(memo=False)((True, False))  # ... the generated packer accepts it


def test_oneof_of_tuples_rejects_tuples_holding_bools_for_ints() -> None:
    t = OneOf((0, 1), (1, 1))
    assert not t.contains((False, True))


def test_a_union_of_overlapping_alternatives_is_rejected() -> None:
    with pytest.raises(ValueError):
        Union(Int(0, 2), Int(1, 3))  # size 6, yet only 4 values; pack(unpack(3)) == 1


def test_a_record_of_a_mutable_dataclass_is_rejected() -> None:
    @dataclass
    class Mutable:
        x: int

    with pytest.raises(ValueError, match="frozen"):
        Record(Mutable, x=Int(0, 1))


# ----- permutations: a group action, and views that do not depend on names --------------

SPACED: dict[str, Type] = {
    "Id": Id("p", 3),
    "Vec indexed by p": Vec(COLOR, 3, index="p"),
    "Vec of ids, indexed by p": Vec(Id("p", 3), 3, index="p"),
    "Vec of id sets, indexed by p": Vec(SetOf(Id("p", 3)), 3, index="p"),
    "Tuple indexed by p": Tuple(Bool, Bool, Bool, index="p"),
    "Tuple of ids": Tuple(Id("p", 3), Id("q", 2), Bool),
    "SetOf ids": SetOf(Id("p", 3)),
    "Union of Records with ids": MSG,
    "SetOf a Union of Records with ids": SetOf(MSG),
    "Seq of ids": Seq(Id("p", 3), 3),
    "Union with OneOf(None)": Union(OneOf(None), Id("p", 3)),
    "Record over two spaces": Record(
        Box,
        cells=Vec(Union(OneOf(None), Id("p", 3)), 2, index="q"),
        n=Id("q", 2),
    ),
    "large Record": BIG,
}


@FAST
@given(st.data())
@pytest.mark.parametrize("name", list(SPACED))
def test_permuting_by_the_identity_changes_nothing(name: str, data: st.DataObject) -> None:
    t = SPACED[name]
    v = data.draw(values_of(t))
    assert same(t.permute(v, {"p": [0, 1, 2], "q": [0, 1]}), v)
    assert same(t.permute(v, {}), v)


@FAST
@given(st.data())
@pytest.mark.parametrize("name", list(SPACED))
def test_permuting_twice_is_permuting_by_the_composition(name: str, data: st.DataObject) -> None:
    t = SPACED[name]
    v = data.draw(values_of(t))
    p = {"p": data.draw(perm_of(3)), "q": data.draw(perm_of(2))}
    q = {"p": data.draw(perm_of(3)), "q": data.draw(perm_of(2))}
    qp = {s: [q[s][p[s][i]] for i in range(len(p[s]))] for s in p}
    once = t.permute(v, p)
    assert t.contains(once)
    assert same(t.permute(once, q), t.permute(v, qp))


@FAST
@given(st.data())
@pytest.mark.parametrize("name", list(SPACED))
def test_permuting_is_invertible(name: str, data: st.DataObject) -> None:
    t = SPACED[name]
    v = data.draw(values_of(t))
    p = data.draw(perm_of(3))
    inv = [p.index(i) for i in range(3)]
    assert same(t.permute(t.permute(v, {"p": p}), {"p": inv}), v)


@FAST
@given(st.data())
@pytest.mark.parametrize("name", list(SPACED))
def test_view_does_not_depend_on_the_names_of_ids(name: str, data: st.DataObject) -> None:
    t = SPACED[name]
    v = data.draw(values_of(t))
    for space, n in (("p", 3), ("q", 2)):
        p = data.draw(perm_of(n))
        w = t.permute(v, {space: p})
        for i in range(n):
            assert t.view(w, space, p[i]) == t.view(v, space, i)


def test_permute_moves_indexed_positions_and_renames_ids() -> None:
    p = {"p": [1, 2, 0]}  # 0 -> 1, 1 -> 2, 2 -> 0
    assert Id("p", 3).permute(2, p) == 0
    assert Id("q", 3).permute(2, p) == 2  # another space: unchanged
    assert Vec(COLOR, 3, index="p").permute(("red", "green", "blue"), p) == ("blue", "red", "green")
    assert Vec(COLOR, 3).permute(("red", "green", "blue"), p) == ("red", "green", "blue")
    assert Vec(Id("p", 3), 3).permute((0, 1, 2), p) == (1, 2, 0)
    assert Vec(Id("p", 3), 3, index="p").permute((1, 2, 0), p) == (1, 2, 0)
    assert SetOf(Id("p", 3)).permute(frozenset({0, 2}), p) == frozenset({1, 0})
    assert MSG.permute(Req(1, "red"), p) == Req(2, "red")
    assert MSG.permute(Empty(), p) == Empty()
    assert Seq(Id("p", 3), 3).permute((0, 0, 1), p) == (1, 1, 2)
    assert Tuple(Bool, Bool, Bool, index="p").permute((True, False, False), p) == (False, True, False)


def test_spaces_lists_every_id_space_a_type_mentions() -> None:
    assert Bool.spaces() == frozenset()
    assert Vec(COLOR, 3, index="p").spaces() == {"p"}
    assert SPACED["Record over two spaces"].spaces() == {"p", "q"}
    assert SetOf(MSG).spaces() == {"p"}
    assert SetOf(["a", "b"]).spaces() == frozenset()
    assert Seq(Id("r", 2), 2).spaces() == {"r"}


@given(st.integers(0, 2**32))
@settings(max_examples=2, deadline=None)
def test_a_vec_of_thousands_of_components_packs_like_the_sum_of_its_digits(seed: int) -> None:
    # The generated `a + b * 3 + ...` of 12,000 terms was too deep for Python's compiler
    # (RecursionError: 2PC at --rms 3000), and its radix literals too long for int -> str.
    rng = random.Random(seed)
    v = tuple(rng.randrange(3) for _ in range(12_000))
    t = Vec(Int(0, 2), 12_000)
    code = t.packer(memo=False)(v)
    horner = 0
    for d in reversed(v):
        horner = horner * 3 + d
    assert code == horner  # v holds the base-3 digits of the code
    assert t.unpacker(memo=False)(code) == v
