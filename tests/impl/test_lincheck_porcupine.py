"""porcupine's own test histories (MIT, tests/data/porcupine/LICENSE.md) with porcupine's verdicts.

``expected.txt`` is copied from porcupine_test.go: ``checkJepsen(t, N, correct)`` for the etcd Jepsen
logs (number 95 has none: the cluster failed to start) and ``checkKv(t, name, correct, true)`` for
the key-value histories.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protoproof.impl.lincheck import (
    KV,
    UNKNOWN,
    CasRegister,
    Operation,
    Sequential,
    check,
    read_jepsen_etcd,
    read_jepsen_kv,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "porcupine"
EXPECTED = dict(line.split() for line in (DATA / "expected.txt").read_text().splitlines())


def load(name: str) -> tuple[Sequential, list[Operation]]:
    if name.startswith("etcd"):
        return CasRegister(), read_jepsen_etcd(DATA / "jepsen" / f"{name}.log")
    return KV(""), read_jepsen_kv(DATA / "kv" / f"{name}.txt")


def test_every_porcupine_history_has_an_expected_verdict() -> None:
    logs = {p.stem for p in (DATA / "jepsen").glob("*.log")} | {p.stem for p in (DATA / "kv").glob("*.txt")}
    assert logs == set(EXPECTED) and len(EXPECTED) == 108
    assert sum(v == "ok" for v in EXPECTED.values()) == 26


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_porcupine_history_gets_porcupines_verdict(name: str) -> None:
    spec, ops = load(name)
    r = check(spec, ops, explain=False, timeout=60)
    assert r.verdict == EXPECTED[name], r.reason


def test_a_jepsen_etcd_log_is_read_as_porcupine_reads_it() -> None:
    ops = read_jepsen_etcd(DATA / "jepsen" / "etcd_000.log")
    # the first lines: 0 and 3 read nil, 2 writes 4, 1 writes 2, 4 writes 3, all answered
    assert [(o.client, o.input, o.output, o.call, o.ret) for o in ops[:3]] == [
        (0, ("read",), None, 0, 6), (3, ("read",), None, 1, 5), (2, ("write", 4), None, 2, 9)]
    assert (ops[9].input, ops[9].output, ops[6].output) == (("cas", 3, 0), True, 3)
    text = (DATA / "jepsen" / "etcd_000.log").read_text()
    # an :info (timed out) write or cas has no response: pending
    assert sum(o.ret is None for o in ops) == text.count(":info")
    assert len(ops) == text.count(":invoke")


def test_a_timed_out_read_answers_nothing_known() -> None:
    ops = read_jepsen_etcd(DATA / "jepsen" / "etcd_100.log")
    timed_out = [o for o in ops if o.input == ("read",) and o.output is UNKNOWN]
    assert timed_out and all(o.ret is not None for o in timed_out)


def test_a_key_value_history_is_read_with_its_keys_as_partitions() -> None:
    ops = read_jepsen_kv(DATA / "kv" / "c01-ok.txt")
    assert ops[0] == Operation(0, ("append", "0", "x 0 0 y"), None, 0, 1)
    assert ops[4] == Operation(0, ("get", "5"), "", 8, 9)
    r = check(KV(""), ops)
    assert r.ok and r.partitions == len({o.input[1] for o in ops})


def test_an_illegal_porcupine_history_comes_with_its_smallest_failing_prefix() -> None:
    spec, ops = load("c01-bad")
    r = check(spec, ops)
    assert r.verdict == "illegal" and r.counterexample is not None
    cex = r.counterexample
    # one client: the history is sequential, so the prefix ends at the first wrong answer
    assert cex.last.input[0] == "get" and cex.last is cex.ops[-1]
    assert len(cex.prefix) == len(cex.ops) - 1
    ok, _ = spec.step(cex.state, cex.last.input, cex.last.output)
    assert not ok
    assert "not linearizable" in cex.describe(spec)
