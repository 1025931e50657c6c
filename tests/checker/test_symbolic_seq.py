"""Sequences of symbolic length (``Seq``) on z3: every operation agrees with Python on every value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
import z3

from protoproof.checker.symbolic import (
    SymbolicError,
    SymSeq,
    decode,
    domain,
    eq,
    explore,
    fresh,
    predicate_formula,
    relation_formula,
    to_z3,
    variables,
)
from protoproof.checker.twin import twin
from protoproof.models.schema import Int, Record, Seq, Vec

Bit = Int(0, 1)
Log = Seq(Bit, 2)


class S(NamedTuple):
    a: tuple[int, ...]
    b: tuple[int, ...]
    i: int


STY = Record(S, a=Log, b=Log, i=Int(-1, 2))


def _holds(x: Any, pin: Any, f: Any) -> bool:
    """The value of formula ``f`` on the state pinned by ``pin`` (whatever the slots beyond the lengths hold)."""
    s = z3.Solver()
    s.add(to_z3(domain(STY, x)), to_z3(pin))
    yes = s.check(to_z3(f)) == z3.sat
    no = s.check(z3.Not(to_z3(f))) == z3.sat
    assert yes != no, "the formula depends on slots beyond a sequence's length"
    return yes


def _agrees(fn: Callable[[S], Any], use_twin: bool = True) -> None:
    x = fresh(STY, "x")
    run = twin(fn) if use_twin else fn
    f = predicate_formula(explore(run, (x,), fn.__name__, background=domain(STY, x)))
    for v in STY.values():
        try:
            want = bool(fn(v))
        except IndexError:
            continue  # Python fails there: the engine may say anything, it drops the path
        assert _holds(x, eq(STY, x, v), f) == want, v


def p_len(s: S) -> bool:
    return len(s.a) == s.i


def p_index_symbolic(s: S) -> bool:
    return 0 <= s.i < len(s.a) and s.a[s.i] == 1


def p_index_negative(s: S) -> bool:
    return len(s.a) > 0 and s.a[-1] == 0


def p_index_concrete_guarded(s: S) -> bool:
    return s.a[1] == 1 if len(s.a) > 1 else s.i == 0


def p_slice_stop(s: S) -> bool:
    return s.a[: s.i] == s.b


def p_slice_start(s: S) -> bool:
    return s.a[s.i :] == s.b


def p_slice_negative(s: S) -> bool:
    return s.a[-2:] == s.b


def p_slice_len(s: S) -> bool:
    return len(s.a[1 : s.i]) == 1


def p_append(s: S) -> bool:
    return s.a + (1,) == s.b


def p_concat(s: S) -> bool:
    return s.a + s.b == s.b + s.a


def p_concat_tuple_left(s: S) -> bool:
    return (0,) + s.a == s.b


def p_in(s: S) -> bool:
    return 1 in s.a and 0 not in s.b


def p_all_any(s: S) -> bool:
    return all(x == 1 for x in s.a) and any(x == 0 for x in s.b[1:])


def p_prefix(s: S) -> bool:
    return len(s.a) <= len(s.b) and s.b[: len(s.a)] == s.a


def p_bool(s: S) -> bool:
    return bool(s.a) and not s.b


def p_sum_and_count(s: S) -> bool:
    return sum(s.a) == len([x for x in s.b if x == 1])


def p_if_expression(s: S) -> bool:
    return (s.a if s.i > 0 else s.b) == (1,)


def p_loop(s: S) -> bool:
    k = 0
    while k < len(s.a) and k < len(s.b) and s.a[k] == s.b[k]:
        k += 1
    return k == s.i


def p_range_over_len(s: S) -> bool:
    return sum(s.a[k - 1] for k in range(1, len(s.a) + 1)) == s.i


def p_last_of_filtered(s: S) -> bool:
    kept = [k for k in range(len(s.b)) if s.b[k] == 1]
    return bool(kept) and kept[-1] == s.i


PREDICATES = [p_range_over_len, p_last_of_filtered,
              p_len, p_index_symbolic, p_index_negative, p_index_concrete_guarded, p_slice_stop, p_slice_start,
              p_slice_negative, p_slice_len, p_append, p_concat, p_concat_tuple_left, p_in, p_all_any, p_prefix,
              p_bool, p_sum_and_count, p_if_expression, p_loop]


@pytest.mark.parametrize("fn", PREDICATES, ids=lambda f: f.__name__)
def test_an_operation_on_a_sequence_of_symbolic_length_agrees_with_python_in_the_twin(fn: Any) -> None:
    _agrees(fn)


@pytest.mark.parametrize("fn", [p_len, p_index_symbolic, p_slice_stop, p_append, p_in, p_prefix, p_loop],
                         ids=lambda f: f.__name__)
def test_an_operation_on_a_sequence_agrees_with_python_when_it_runs_forking(fn: Any) -> None:
    _agrees(fn, use_twin=False)


def _cut_and_extend(s: S) -> S:
    return S(s.a[: s.i] + s.b, s.b, s.i) if s.i >= 0 and len(s.a[: s.i] + s.b) <= 2 else s


def test_a_result_built_by_slicing_and_concatenating_is_the_python_result() -> None:
    x, y = fresh(STY, "x"), fresh(STY, "y")
    paths = explore(twin(_cut_and_extend), (x,), "cut", background=domain(STY, x))
    t = relation_formula(STY, paths, y)
    s = z3.Solver()
    s.add(to_z3(domain(STY, x)), to_z3(domain(STY, y)), to_z3(t))
    for v in STY.values():
        s.push()
        s.add(to_z3(eq(STY, x, v)))
        assert s.check() == z3.sat
        assert decode(STY, y, s.model()) == _cut_and_extend(v)
        s.add(to_z3(b) for b in [z3.Not(to_z3(eq(STY, y, _cut_and_extend(v))))])
        assert s.check() == z3.unsat, v  # the only successor
        s.pop()


def test_a_fresh_sequence_has_a_length_variable_and_decodes_to_a_tuple_of_that_length() -> None:
    v = fresh(Log, "log")
    assert isinstance(v, SymSeq) and len(variables(Log, v)) == 3  # the length and two slots
    s = z3.Solver()
    s.add(to_z3(domain(Log, v)), v.n == 2, v.slots[0].t == 1, v.slots[1].t == 0)
    assert s.check() == z3.sat and decode(Log, v, s.model()) == (1, 0)
    s.add(v.n == 3)
    assert s.check() == z3.unsat  # the domain bounds the length by maxlen


def test_the_twin_indexes_a_concrete_tuple_by_a_symbolic_value() -> None:
    ty = Record(S, a=Vec(Bit, 3), b=Log, i=Int(0, 2))
    x = fresh(ty, "x")

    def picks(s: S) -> bool:
        return s.a[s.i] == 1

    paths = explore(twin(picks), (x,), "picks", background=domain(ty, x))
    assert len(paths) == 1  # one ite term, no fork
    f = predicate_formula(paths)
    for v in ty.values():
        s = z3.Solver()
        s.add(to_z3(eq(ty, x, v)), z3.Not(to_z3(f)) if picks(v) else to_z3(f))
        assert s.check() == z3.unsat, v


def _unguarded(s: S) -> bool:
    return s.a[s.i] == 1


def test_an_index_that_may_be_out_of_range_is_a_model_error_naming_the_function() -> None:
    x = fresh(STY, "x")
    with pytest.raises(SymbolicError, match="unguarded raised IndexError"):
        explore(twin(_unguarded), (x,), "unguarded", background=domain(STY, x))


def test_with_errors_kept_a_raising_path_is_a_path_that_says_so() -> None:
    x = fresh(STY, "x")
    paths = explore(twin(_unguarded), (x,), "unguarded", background=domain(STY, x), errors=True)
    raising = [p for p in paths if p.raised]
    assert raising and all("IndexError" in p.raised and not p.enabled for p in raising)
    s = z3.Solver()
    s.add(to_z3(domain(STY, x)), z3.Or(*(z3.And(*map(to_z3, p.pc)) for p in raising)), x.i.t >= 0,
          x.i.t < x.a.n)
    assert s.check() == z3.unsat  # only an index past the end raises


def _stepped(s: S) -> bool:
    return s.a[::2] == s.b


def test_a_slice_with_a_step_of_a_symbolic_sequence_is_refused() -> None:
    x = fresh(STY, "x")
    with pytest.raises(SymbolicError, match="step"):
        explore(twin(_stepped), (x,), "stepped", background=domain(STY, x))
