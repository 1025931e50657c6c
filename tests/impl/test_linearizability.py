"""The Wing–Gong checker on histories whose answer is known."""

from __future__ import annotations

import random

from protoproof.impl.linearizability import Op, check


def put(c: int, k: str, v: str, call: float, ret: float | None) -> Op:
    return Op(c, "put", k, v, call, ret)


def get(c: int, k: str, v: str | None, call: float, ret: float | None) -> Op:
    return Op(c, "get", k, v, call, ret)


def test_a_sequential_history_is_linearizable() -> None:
    h = [put(0, "x", "1", 0, 1), get(0, "x", "1", 2, 3), put(0, "x", "2", 4, 5), get(0, "x", "2", 6, 7)]
    assert check(h).ok


def test_reading_a_value_before_it_was_written_is_not_linearizable() -> None:
    h = [get(1, "x", "1", 0, 1), put(0, "x", "1", 2, 3)]
    v = check(h)
    assert not v.ok and v.key == "x"


def test_a_stale_read_after_a_completed_write_is_not_linearizable() -> None:
    h = [put(0, "x", "1", 0, 1), put(0, "x", "2", 2, 3), get(1, "x", "1", 4, 5)]
    assert not check(h).ok


def test_concurrent_operations_may_take_effect_in_either_order() -> None:
    h = [put(0, "x", "1", 0, 10), put(1, "x", "2", 1, 9), get(2, "x", "1", 11, 12)]
    assert check(h).ok
    h = [put(0, "x", "1", 0, 10), put(1, "x", "2", 1, 9), get(2, "x", "2", 11, 12)]
    assert check(h).ok


def test_two_readers_cannot_see_two_writes_in_opposite_orders() -> None:
    # x=1 and x=2 overlap; one reader sees 1 then 2, the other 2 then 1, after both writes ended.
    h = [put(0, "x", "1", 0, 5), put(1, "x", "2", 0, 5),
         get(2, "x", "1", 6, 7), get(2, "x", "2", 8, 9),
         get(3, "x", "2", 6, 7), get(3, "x", "1", 8, 9)]
    assert not check(h).ok


def test_a_pending_write_may_or_may_not_take_effect() -> None:
    assert check([put(0, "x", "1", 0, None), get(1, "x", "1", 5, 6)]).ok
    assert check([put(0, "x", "1", 0, None), get(1, "x", None, 5, 6)]).ok
    # but not before it was invoked
    assert not check([get(1, "x", "1", 0, 1), put(0, "x", "1", 2, None)]).ok


def test_keys_are_checked_independently() -> None:
    h = [put(0, "x", "1", 0, 1), get(0, "y", None, 2, 3), get(1, "y", "1", 4, 5)]
    v = check(h)
    assert not v.ok and v.key == "y"


def test_random_sequential_runs_are_linearizable_and_a_corrupted_read_is_not() -> None:
    rng = random.Random(7)
    for _ in range(30):
        state: dict[str, str | None] = {}
        h: list[Op] = []
        t = 0.0
        for j in range(40):
            k = rng.choice("ab")
            if rng.random() < 0.5:
                h.append(put(0, k, str(j), t, t + 1))
                state[k] = str(j)
            else:
                h.append(get(0, k, state.get(k), t, t + 1))
            t += 2
        assert check(h).ok
        gets = [i for i, o in enumerate(h) if o.kind == "get" and o.value is not None]
        if gets:
            i = rng.choice(gets)
            o = h[i]
            h[i] = get(0, o.key, "never-written", o.call, o.ret)
            assert not check(h).ok
