"""Single-decree Paxos: the state space of Paxos.tla, planted bugs, refinement of Consensus."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from protoproof.checker.explore import explore
from protoproof.checker.path import replay
from protoproof.checker.verdict import EXHAUSTED, VIOLATED
from protoproof.models.base import ModelDefinitionError
from protoproof.models.consensus import Consensus
from protoproof.models.paxos import Paxos

# (acceptors, values, max_ballot) -> (distinct states, depth), measured with
# `protoproof check paxos --acceptors A --values V --max-ballot B --json`.
PAXOS = {(1, 1, 0): (5, 4), (2, 2, 0): (13, 6), (3, 2, 0): (73, 8), (2, 2, 1): (145, 12),
         (3, 1, 1): (1681, 16), (3, 2, 1): (3921, 16)}


def tla_paxos(n: int, nv: int, maxb: int) -> tuple[int, int]:
    """An independent line-by-line transliteration of Paxos.tla: (distinct states, depth)."""
    acceptors, values, ballots = range(n), range(nv), range(maxb + 1)
    quorums = [frozenset(q) for q in itertools.combinations(acceptors, n // 2 + 1)]
    init: tuple[Any, ...] = ((-1,) * n, (-1,) * n, (None,) * n, frozenset())
    seen, level, depth = {init}, [init], 0

    def upd(t: tuple[Any, ...], a: int, x: Any) -> tuple[Any, ...]:
        return t[:a] + (x,) + t[a + 1 :]

    while level:
        nxt = []
        for mb, mvb, mv, msgs in level:
            succ = []
            for b in ballots:
                succ.append((mb, mvb, mv, msgs | {("1a", b)}))
                for v in values:
                    if any(m[0] == "2a" and m[1] == b for m in msgs):
                        continue
                    for q in quorums:
                        q1b = {m for m in msgs if m[0] == "1b" and m[1] in q and m[2] == b}
                        if not all(any(m[1] == a for m in q1b) for a in q):
                            continue
                        q1bv = {m for m in q1b if m[3] >= 0}
                        if not q1bv or any(m[4] == v and all(m[3] >= k[3] for k in q1bv) for m in q1bv):
                            succ.append((mb, mvb, mv, msgs | {("2a", b, v)}))
            for a in acceptors:
                for m in msgs:
                    if m[0] == "1a" and m[1] > mb[a]:
                        succ.append((upd(mb, a, m[1]), mvb, mv, msgs | {("1b", a, m[1], mvb[a], mv[a])}))
                    if m[0] == "2a" and m[1] >= mb[a]:
                        succ.append((upd(mb, a, m[1]), upd(mvb, a, m[1]), upd(mv, a, m[2]),
                                     msgs | {("2b", a, m[1], m[2])}))
            for t in succ:
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        if nxt:
            depth += 1
        level = nxt
    return len(seen), depth


@pytest.mark.parametrize("cfg", sorted(PAXOS))
def test_paxos_has_exactly_the_states_and_depth_of_paxos_tla(cfg: tuple[int, int, int]) -> None:
    a, v, b = cfg
    r = explore(Paxos(acceptors=a, values=v, max_ballot=b))
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.depth) == PAXOS[cfg] == tla_paxos(a, v, b)
    assert r.unreached() == [] and r.stats.never_fired == []


def test_symmetry_over_acceptors_and_values_counts_orbits() -> None:
    r = explore(Paxos(acceptors=3, values=2, max_ballot=1), symmetry=True)
    # 443 = orbits of the 3921 states under all 3! x 2! renamings (computed by brute force)
    assert r.verdict == EXHAUSTED and r.stats.distinct_states == 443 and r.stats.depth == 16


def test_paxos_refines_consensus() -> None:
    r = explore(Paxos(acceptors=3, values=2, max_ballot=1), properties=["refines_consensus"])
    assert r.verdict == EXHAUSTED


def test_consensus_spec_chooses_one_value_once() -> None:
    r = explore(Consensus(values=3))
    assert r.verdict == EXHAUSTED and r.stats.distinct_states == 4 and r.stats.depth == 1


IGNORE_VOTES = [
    "phase1a(node='b0')", "phase1a(node='b1')",
    "deliver(src='b0', dst='a0', msg=OneA(bal=0))", "deliver(src='b0', dst='a1', msg=OneA(bal=0))",
    "phase2a(node='b0', v=0)",
    "deliver(src='b1', dst='a0', msg=OneA(bal=1))", "deliver(src='b0', dst='a1', msg=TwoA(bal=0, val=0))",
    "deliver(src='b1', dst='a1', msg=OneA(bal=1))",
    "phase2a(node='b1', v=1)",
    "deliver(src='b0', dst='a2', msg=TwoA(bal=0, val=0))",
    "deliver(src='b1', dst='a0', msg=TwoA(bal=1, val=1))", "deliver(src='b1', dst='a1', msg=TwoA(bal=1, val=1))",
]
ACCEPT_BELOW_PROMISE = [
    "phase1a(node='b0')", "phase1a(node='b1')",
    "deliver(src='b0', dst='a0', msg=OneA(bal=0))", "deliver(src='b0', dst='a1', msg=OneA(bal=0))",
    "phase2a(node='b0', v=0)",
    "deliver(src='b1', dst='a0', msg=OneA(bal=1))", "deliver(src='b1', dst='a1', msg=OneA(bal=1))",
    "phase2a(node='b1', v=1)",
    "deliver(src='b0', dst='a0', msg=TwoA(bal=0, val=0))", "deliver(src='b0', dst='a1', msg=TwoA(bal=0, val=0))",
    "deliver(src='b1', dst='a0', msg=TwoA(bal=1, val=1))", "deliver(src='b1', dst='a1', msg=TwoA(bal=1, val=1))",
]
PROPOSE_TWICE = [
    "phase1a(node='b0')",
    "deliver(src='b0', dst='a0', msg=OneA(bal=0))", "deliver(src='b0', dst='a1', msg=OneA(bal=0))",
    "phase2a(node='b0', v=0)", "phase2a(node='b0', v=1)",
    "deliver(src='b0', dst='a0', msg=TwoA(bal=0, val=0))", "deliver(src='b0', dst='a1', msg=TwoA(bal=0, val=0))",
    "deliver(src='b0', dst='a0', msg=TwoA(bal=0, val=1))", "deliver(src='b0', dst='a1', msg=TwoA(bal=0, val=1))",
]
MINORITY_QUORUMS = [
    "phase1a(node='b0')", "phase1a(node='b1')",
    "deliver(src='b0', dst='a0', msg=OneA(bal=0))", "phase2a(node='b0', v=0)",
    "deliver(src='b1', dst='a0', msg=OneA(bal=1))", "phase2a(node='b1', v=1)",
    "deliver(src='b0', dst='a1', msg=TwoA(bal=0, val=0))", "deliver(src='b1', dst='a0', msg=TwoA(bal=1, val=1))",
]


@pytest.mark.parametrize(
    ("variant", "path"),
    [("ignore-votes", IGNORE_VOTES), ("accept-below-promise", ACCEPT_BELOW_PROMISE),
     ("propose-twice", PROPOSE_TWICE), ("minority-quorums", MINORITY_QUORUMS)],
)
def test_planted_bug_breaks_agreement_with_its_exact_shortest_path(variant: str, path: list[str]) -> None:
    model = Paxos(acceptors=3, values=2, max_ballot=1).with_variant(variant)
    assert isinstance(model, Paxos) and "agreement" in model.breaks
    r = explore(model, properties=["agreement"])
    assert r.verdict == VIOLATED and r.property == "agreement"
    assert r.path is not None and r.path.action_reprs() == path
    again = replay(model, path)
    assert len(model.chosen(again.last)) == 2
    assert all(len(model.chosen(s)) <= 1 for s in again.states[:-1])
    # The same step breaks the refinement of Consensus (two values chosen).
    r2 = explore(model, properties=["refines_consensus"])
    assert r2.verdict == VIOLATED and r2.path is not None and len(r2.path) == len(path)


def test_non_intersecting_quorums_are_rejected_in_the_correct_protocol() -> None:
    class Bad(Paxos):
        def quorums(self) -> list[frozenset[int]]:
            return [frozenset({0}), frozenset({1, 2})]

    with pytest.raises(ModelDefinitionError, match="do not intersect"):
        Bad()


def test_leader_reads_only_promises_for_its_own_ballot() -> None:
    model = Paxos(acceptors=3, values=2, max_ballot=1)
    path = replay(model, ["phase1a(node='b0')", "deliver(src='b0', dst='a0', msg=OneA(bal=0))",
                          "deliver(src='b0', dst='a1', msg=OneA(bal=0))"])
    b0, b1 = model.node("b0").id, model.node("b1").id
    assert {m.acc for m in model.inbox(path.last, b0)} == {0, 1}
    assert model.inbox(path.last, b1) == frozenset()
    enabled = [repr(a) for a, _t in model.successors(path.last)]
    assert "phase2a(node='b0', v=0)" in enabled and "phase2a(node='b1', v=0)" not in enabled


def test_a_leaders_inbox_holds_its_1bs_but_not_the_2bs_sent_to_it() -> None:
    from protoproof.models.paxos import OneB, TwoB

    model = Paxos(acceptors=3, values=2, max_ballot=1)
    path = replay(model, ["phase1a(node='b0')", "deliver(src='b0', dst='a0', msg=OneA(bal=0))",
                          "deliver(src='b0', dst='a1', msg=OneA(bal=0))", "phase2a(node='b0', v=1)",
                          "deliver(src='b0', dst='a0', msg=TwoA(bal=0, val=1))"])
    b0 = model.node("b0").id
    sent_to_b0 = {type(e.msg) for e in path.last.net if e.dst == b0}
    assert sent_to_b0 == {OneB, TwoB}
    assert {type(m) for m in model.inbox(path.last, b0)} == {OneB}  # Leader.inbox_types: its steps read 1bs only


@pytest.mark.parametrize(("opt", "value"), [("acceptors", 0), ("values", 0), ("max_ballot", -1)])
def test_bad_parameters_are_rejected(opt: str, value: int) -> None:
    with pytest.raises(ValueError, match="--"):
        Paxos(**{opt: value})


def test_symmetry_counts_equal_brute_force_orbits_for_two_acceptors() -> None:
    model = Paxos(acceptors=2, values=2, max_ballot=1)
    full = explore(model, record_graph=10_000)
    assert full.graph is not None
    t, k = model.state_type, len(model.node_list)
    orbits = {
        min(t.pack(t.permute(s, {"node": [*pa, *range(2, k)], "value": list(pv)}))
            for pa in itertools.permutations(range(2)) for pv in itertools.permutations(range(2)))
        for s in full.graph.states.values()
    }
    assert explore(model, symmetry=True).stats.distinct_states == len(orbits) < full.stats.distinct_states


def test_durable_acceptors_and_leaders_keep_agreement_across_crashes() -> None:
    r = explore(Paxos(acceptors=2, values=2, max_ballot=1, max_crashes=1))
    assert r.verdict == EXHAUSTED and r.stats.never_fired == []


def test_an_acceptor_that_forgets_its_promise_breaks_agreement_after_a_crash() -> None:
    model = Paxos(acceptors=3, values=2, max_ballot=1, max_crashes=1).with_variant("volatile-acceptor")
    r = explore(model, properties=["agreement"])
    assert r.verdict == VIOLATED and r.path is not None and len(r.path) == 14
    assert [a.name for a in r.path.actions][-3:] == ["crash", "recover", "deliver"]
    no_crash = Paxos(acceptors=3, values=2, max_ballot=1).with_variant("volatile-acceptor")
    assert explore(no_crash, properties=["agreement"]).verdict == EXHAUSTED
