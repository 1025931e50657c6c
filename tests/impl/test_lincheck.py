"""The generic linearizability checker against a brute-force one, on generated and hand-made histories."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.impl.lincheck import (
    KV,
    UNKNOWN,
    CasRegister,
    Operation,
    Queue,
    Register,
    Sequential,
    check,
    read_jepsen_etcd,
    read_json,
    write_json,
)
from protoproof.impl.linearizability import Op
from protoproof.impl.linearizability import check as check_kv

DATA = Path(__file__).resolve().parents[1] / "data" / "porcupine"


def op(inp: tuple[Any, ...], out: Any, call: float, ret: float | None, client: int = 0) -> Operation:
    return Operation(client, inp, out, call, ret)


def brute_force(spec: Sequential, ops: list[Operation]) -> bool:
    """Every order of every set of operations holding all answered ones, against the definition."""
    answered = [o for o in ops if o.ret is not None]
    pending = [o for o in ops if o.ret is None]
    for r in range(len(pending) + 1):
        for chosen in itertools.combinations(pending, r):
            for order in itertools.permutations(answered + list(chosen)):
                if any(b.ret is not None and b.ret < a.call for i, a in enumerate(order) for b in order[i + 1:]):
                    continue  # b returned before a was called, but comes after it
                state = spec.init()
                for o in order:
                    ok, state = spec.step(state, o.input, UNKNOWN if o.ret is None else o.output)
                    if not ok and o.ret is not None:
                        break
                else:
                    return True
    return False


# ----- generated histories -----------------------------------------------------------------------

SPECS: list[tuple[Sequential, Any]] = [
    (Register(), st.one_of(st.tuples(st.just("put"), st.integers(0, 2)), st.just(("get",)))),
    (CasRegister(), st.one_of(st.tuples(st.just("write"), st.integers(0, 2)), st.just(("read",)),
                              st.tuples(st.just("cas"), st.integers(0, 2), st.integers(0, 2)))),
    (KV(), st.one_of(st.tuples(st.just("put"), st.sampled_from("ab"), st.sampled_from(["1", "2"])),
                     st.tuples(st.just("get"), st.sampled_from("ab")),
                     st.tuples(st.just("append"), st.sampled_from("ab"), st.sampled_from(["1", "2"])),
                     st.tuples(st.just("cas"), st.sampled_from("ab"), st.sampled_from([None, "1"]),
                               st.sampled_from(["1", "2"])))),
    (Queue(), st.one_of(st.tuples(st.just("enq"), st.integers(0, 2)), st.just(("deq",)))),
]


def answer(state: Any, inp: tuple[Any, ...]) -> Any:
    """What the object answers to ``inp`` in ``state``."""
    if inp[0] in ("get", "read"):
        return state
    if inp[0] == "deq":
        return state[0] if state else None
    if inp[0] == "cas":
        return state == inp[-2]
    return None


@st.composite
def sequential_run(draw: Any, max_ops: int = 30) -> tuple[Sequential, list[Operation]]:
    """A sequential execution whose operations each took effect at time 10*i, seen by clients with
    jittered invocation and response times around it; some responses lost."""
    spec, inputs = draw(st.sampled_from(range(len(SPECS))).map(lambda k: SPECS[k]))
    states: dict[Any, Any] = {}
    ops = []
    for i, inp in enumerate(draw(st.lists(inputs, max_size=max_ops))):
        key = spec.partition(inp)
        state = states.get(key, spec.init())
        out = answer(state, inp)
        _, states[key] = spec.step(state, inp, out)
        before, after = draw(st.integers(0, 25)), draw(st.integers(0, 25))
        lost = draw(st.integers(0, 9)) == 0
        ops.append(op(inp, UNKNOWN if lost else out, 10 * i - before, None if lost else 10 * i + after, i))
    return spec, ops


@settings(max_examples=150, deadline=None)
@given(sequential_run())
def test_a_sequential_run_seen_with_jittered_times_is_linearizable(run: tuple[Sequential, list[Operation]]) -> None:
    spec, ops = run
    assert check(spec, ops).ok


@settings(max_examples=150, deadline=None)
@given(sequential_run(), st.data())
def test_one_wrong_answer_in_a_history_without_overlap_is_caught(run: tuple[Sequential, list[Operation]],
                                                                 data: Any) -> None:
    spec, ops = run
    states: dict[Any, Any] = {}
    wrong = []
    for i, o in enumerate(ops):
        key = spec.partition(o.input)
        state = states.get(key, spec.init())
        ops[i] = op(o.input, answer(state, o.input), 10 * i, 10 * i + 5)
        states[key] = spec.step(state, o.input, ops[i].output)[1]
        for bad in (7, "7", True, False, None):
            if not spec.step(state, o.input, bad)[0]:
                wrong.append((i, bad))
                break
    if not wrong:
        return
    i, bad = data.draw(st.sampled_from(wrong))
    ops[i] = op(ops[i].input, bad, ops[i].call, ops[i].ret)
    r = check(spec, ops)
    assert r.verdict == "illegal"
    assert r.counterexample is not None and r.counterexample.last == ops[i]


@st.composite
def small_history(draw: Any) -> tuple[Sequential, list[Operation]]:
    """A few operations with arbitrary (often wrong) answers and overlapping intervals."""
    spec, inputs = draw(st.sampled_from([0, 1, 3]).map(lambda k: SPECS[k]))
    ops = []
    for i in range(draw(st.integers(1, 5))):
        inp = draw(inputs)
        call = draw(st.integers(0, 10))
        ret = None if draw(st.integers(0, 5)) == 0 else call + draw(st.integers(0, 6))
        out = draw(st.sampled_from([None, 0, 1, 2, True, False]))
        ops.append(op(inp, out, call, ret, i))
    return spec, ops


@settings(max_examples=400, deadline=None)
@given(small_history())
def test_small_histories_get_the_brute_force_verdict(h: tuple[Sequential, list[Operation]]) -> None:
    spec, ops = h
    assert check(spec, ops).ok == brute_force(spec, ops)


# ----- hand-made histories -----------------------------------------------------------------------


def test_a_compare_and_set_history_is_checked() -> None:
    h = [op(("write", 1), None, 0, 1), op(("cas", 1, 2), True, 2, 5), op(("cas", 1, 3), False, 3, 6),
         op(("read",), 2, 7, 8)]
    assert check(CasRegister(), h).ok
    h[2] = op(("cas", 1, 3), True, 3, 6)  # both swaps from 1 cannot succeed
    assert check(CasRegister(), h).verdict == "illegal"


def test_appends_are_checked_per_key() -> None:
    h = [op(("append", "x", "a"), None, 0, 5), op(("append", "x", "b"), None, 1, 4),
         op(("get", "x"), "ba", 6, 7), op(("append", "y", "c"), None, 0, 1), op(("get", "y"), "c", 2, 3)]
    r = check(KV(), h)
    assert r.ok and r.partitions == 2
    h[2] = op(("get", "x"), "b", 6, 7)
    r = check(KV(), h)
    assert r.verdict == "illegal" and r.partition == "x"


def test_a_queue_hands_out_values_in_one_order() -> None:
    h = [op(("enq", 1), None, 0, 10), op(("enq", 2), None, 0, 10), op(("deq",), 2, 11, 12), op(("deq",), 1, 13, 14)]
    assert check(Queue(), h).ok
    h[3] = op(("deq",), 2, 13, 14)
    assert check(Queue(), h).verdict == "illegal"
    assert check(Queue(), [op(("deq",), None, 0, 1)]).ok  # empty


def test_a_pending_operation_may_take_effect_late_or_never() -> None:
    w = op(("put", 1), UNKNOWN, 0, None)
    assert check(Register(), [w, op(("get",), 1, 5, 6)]).ok
    assert check(Register(), [w, op(("get",), None, 5, 6), op(("get",), 1, 7, 8)]).ok
    assert not check(Register(), [op(("get",), 1, 0, 1), op(("put", 1), UNKNOWN, 2, None)]).ok


def test_the_counterexample_is_the_shortest_failing_prefix_with_its_longest_linearization() -> None:
    h = [op(("put", 1), None, 0, 1), op(("get",), 1, 2, 3), op(("put", 2), None, 4, 5),
         op(("get",), 1, 6, 7), op(("get",), 2, 8, 9), op(("put", 3), None, 10, 11)]
    r = check(Register(), h)
    cex = r.counterexample
    assert r.verdict == "illegal" and cex is not None
    assert cex.last == h[3] and cex.ops == h[:4]
    assert cex.prefix == h[:3] and cex.state == 2
    assert [(o, why) for o, why in cex.stuck] == [(h[3], "the specification does not allow this output here")]
    text = cex.describe(Register())
    assert "get() -> 1 [6, 7]" in text and "longest linearizable prefix (3 operations), then state 2" in text


def test_operations_running_at_the_cut_count_as_pending_in_the_counterexample() -> None:
    # the put of 2 is still running when the stale read returns: it may or may not have happened
    h = [op(("put", 1), None, 0, 1), op(("put", 2), None, 2, 20), op(("get",), 2, 3, 4), op(("get",), 1, 5, 6)]
    cex = check(Register(), h).counterexample
    assert cex is not None and cex.last == h[3]
    assert cex.ops[1].ret is None and cex.ops[1].input == ("put", 2)


def test_a_spent_state_budget_gives_unknown_with_the_reason() -> None:
    # illegal, found after some 11,500 configurations (whatever the order: every one is tried)
    ops = read_jepsen_etcd(DATA / "jepsen" / "etcd_099.log")
    r = check(CasRegister(), ops, max_states=1000)
    assert r.verdict == "unknown" and not r.ok
    assert r.reason == "the budget of 1000 search states ran out" and r.explored == 1000


def test_a_spent_time_budget_gives_unknown_with_the_reason() -> None:
    ops = read_jepsen_etcd(DATA / "jepsen" / "etcd_099.log")
    r = check(CasRegister(), ops, timeout=0.01)
    assert r.verdict == "unknown" and "time budget ran out" in r.reason


def test_an_easy_illegal_partition_is_found_before_a_hard_one_is_finished() -> None:
    rename = {"read": lambda i: ("get", "a"), "write": lambda i: ("put", "a", i[1]),
              "cas": lambda i: ("cas", "a", i[1], i[2])}
    hard = [Operation(o.client, rename[o.input[0]](o.input), o.output, o.call, o.ret)
            for o in read_jepsen_etcd(DATA / "jepsen" / "etcd_099.log")]  # illegal too, but 11,500 configurations
    bad = [op(("put", "b", 1), None, 0, 1), op(("get", "b"), 2, 2, 3)]
    r = check(KV(), hard + bad)
    assert r.verdict == "illegal" and r.partition == "b"  # "a" comes first, but was left after the first round
    assert r.explored < 10_000


def test_the_key_value_checker_says_unknown_instead_of_raising() -> None:
    h = [Op(c, "put", "x", str(c), 0, 100) for c in range(12)]
    h += [Op(20 + c, "get", "x", str(c), 101 + 2 * c, 102 + 2 * c) for c in range(12)]
    v = check_kv(h, max_states=50)
    assert v.verdict == "unknown" and not v.ok and "50 search states" in v.reason


def test_a_json_history_round_trips(tmp_path: Path) -> None:
    h = [op(("put", "x", "1"), None, 0, 1.5), op(("cas", "x", "1", "2"), UNKNOWN, 2, None),
         op(("get", "x"), "2", 3, 4)]
    write_json(h, tmp_path / "h.json")
    assert read_json(tmp_path / "h.json") == h
    assert check(KV(), h).ok
