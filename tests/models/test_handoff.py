"""Key handoff: the old owner streams a moving key, forwards requests, and drops it only on the ack."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protoproof.checker.explore import explore
from protoproof.checker.verdict import EXHAUSTED, VIOLATED
from protoproof.models.actors import Persist, Send
from protoproof.models.handoff import (
    NONE,
    OWN,
    SENDING,
    AckBeforePersist,
    ConfigState,
    DropBeforeAck,
    Handoff,
    NewRing,
    Read,
    ReadReply,
    RouteReadsEarly,
    Settled,
    StaleVersionWrite,
    Storage,
    StoreState,
    Transfer,
    TransferAck,
    UngatedChange,
    UnversionedTransfer,
    Write,
    WriteAck,
    ring_versions,
)
from protoproof.models.handoff_nodes import replica_slots, replica_versions


def test_the_handoff_is_exhausted_with_its_pinned_counts_and_settles_under_fairness() -> None:
    r = explore(Handoff())
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (16625, 133983, 21)
    assert "settled" in r.liveness


SAFETY_AND_SETTLED = ["no_acked_write_lost", "reads_see_latest_write", "single_authority", "settled"]


def test_with_a_storage_crash_the_handoff_is_exhausted_safe_and_settles_once_the_node_recovers() -> None:
    r = explore(Handoff(max_crashes=1, max_ops=1), properties=SAFETY_AND_SETTLED)  # one op: no write continues
    assert r.verdict == EXHAUSTED and "settled" in r.liveness
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (4076, 23112, 16)
    assert r.stats.coverage["crash"] > 0 and r.stats.coverage["recover"] > 0


@pytest.mark.slow  # about 25 s
def test_with_a_storage_crash_at_the_default_size_the_handoff_is_exhausted() -> None:
    r = explore(Handoff(max_crashes=1))
    assert r.verdict == EXHAUSTED and not r.unreached()
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (66500, 489970, 23)


def test_every_step_fires_and_a_handoff_completes_while_writes_continue() -> None:
    r = explore(Handoff())
    assert r.stats.coverage.pop("storage.report") == 0  # with one change no next change waits for a report
    assert all(n > 0 for n in r.stats.coverage.values()), r.stats.coverage
    assert set(r.stats.coverage) >= {"storage.stream", "storage.receive Transfer", "storage.receive TransferAck",
                                     "client.retry"}
    assert not r.unreached()  # handoff_during_writes is reached


def test_three_nodes_and_two_keys_move_only_the_last_key_and_are_exhausted() -> None:
    assert ring_versions(3, 2, "join") == ((0, 1), (0, 2))
    assert ring_versions(3, 2, "leave") == ((0, 2), (0, 1))
    r = explore(Handoff(nodes=3, keys=2))
    assert r.verdict == EXHAUSTED and not r.unreached()
    assert (r.stats.distinct_states, r.stats.depth) == (42601, 22)


def test_the_old_owner_hands_off_forwards_and_drops_only_on_the_ack() -> None:
    m = Handoff()
    s0: Any = m.node("s0")
    start = StoreState(0, (OWN,), (1,))
    r = s0.on_message(start, 2, NewRing(1))
    assert r == (StoreState(1, (SENDING,), (1,)), (Persist(),))
    sending = r[0]
    assert s0.stream(sending, 0) == (sending, (Send(1, Transfer(1, 0, 1)),))
    assert s0.on_message(sending, 3, Write(0, 2)) == (sending, (Send(1, Write(0, 2)),))  # forwarded, not applied
    assert s0.on_message(sending, 3, Read(0, 2)) == (sending, (Send(1, Read(0, 2)),))
    assert s0.on_message(sending, 1, TransferAck(1, 0)) == (StoreState(1, (NONE,), (0,)), (Persist(),))


def test_the_new_owner_persists_before_acking_and_holds_requests_until_the_key_arrives() -> None:
    m = Handoff()
    s1: Any = m.node("s1")
    waiting = StoreState(1, (NONE,), (0,))
    assert s1.on_message(waiting, 3, Read(0, 2)) is None  # stays in flight until the transfer
    assert s1.on_message(waiting, 3, Write(0, 2)) is None
    r = s1.on_message(waiting, 0, Transfer(1, 0, 1))
    assert r == (StoreState(1, (OWN,), (1,)), (Persist(), Send(0, TransferAck(1, 0))))
    own = r[0]
    assert s1.on_message(own, 0, Transfer(1, 0, 1)) == (own, (Send(0, TransferAck(1, 0)),))  # again: re-ack only
    assert s1.on_message(own, 3, Read(0, 2)) == (own, (Send(3, ReadReply(0, 2, 1)),))
    assert s1.on_message(own, 3, Write(0, 2)) == (StoreState(1, (OWN,), (2,)), (Persist(), Send(3, WriteAck(0, 2))))


def test_a_late_duplicate_write_never_takes_a_key_back() -> None:
    s0: Any = Handoff().node("s0")
    s = StoreState(0, (OWN,), (2,))
    assert s0.on_message(s, 3, Write(0, 1)) == (s, (Send(3, WriteAck(0, 1)),))


def test_a_node_whose_ring_is_stale_forwards_to_the_owner_it_knows() -> None:
    s1: Any = Handoff().node("s1")
    stale = StoreState(0, (NONE,), (0,))
    assert s1.on_message(stale, 3, Write(0, 1)) == (stale, (Send(0, Write(0, 1)),))


BUGS = [
    (DropBeforeAck, "no_acked_write_lost", 6),
    (RouteReadsEarly, "reads_see_latest_write", 9),
    (StaleVersionWrite, "no_acked_write_lost", 8),
    (AckBeforePersist, "no_acked_write_lost", 9),
]


@pytest.mark.parametrize(("variant", "prop", "depth"), BUGS, ids=[b[0].variant_name for b in BUGS])
def test_check_finds_each_planted_bug_at_its_defaults_with_the_shortest_path(
        variant: type[Handoff], prop: str, depth: int) -> None:
    r = explore(variant())
    assert r.verdict == VIOLATED and r.property == prop and prop in variant.breaks
    assert r.path is not None and len(r.path) == depth


def test_drop_before_ack_loses_the_write_while_the_transfer_is_in_flight() -> None:
    r = explore(DropBeforeAck())
    assert r.path is not None
    assert [a.name for a in r.path.actions][-2:] == ["stream", "deliver"]  # dropped on sending, then acked
    assert r.path.last.nodes[0].st == (NONE,) and r.path.last.nodes[1].st == (NONE,)


def test_route_reads_early_reads_the_new_owners_empty_copy() -> None:
    r = explore(RouteReadsEarly())
    assert r.path is not None
    last = r.path.actions[-1]
    assert last.name == "deliver" and dict(last.args)["msg"] == ReadReply(0, 2, 0)


def test_stale_version_write_is_applied_after_the_handoff_began() -> None:
    r = explore(StaleVersionWrite())
    assert r.path is not None
    names = [repr(a) for a in r.path.actions]
    assert names.index("stream(node='s0', k=0)") < names.index(
        "deliver(src='client', dst='s0', msg=Write(key=0, op=1))")


def test_ack_before_persist_needs_a_crash_and_is_its_default() -> None:
    assert AckBeforePersist().config.max_crashes == 1
    assert explore(AckBeforePersist(max_crashes=0)).verdict == EXHAUSTED
    r = explore(AckBeforePersist())
    assert r.path is not None and r.path.actions[-1].name == "crash"


def test_two_changes_move_a_key_there_and_back_one_handoff_at_a_time_and_settle() -> None:
    assert ring_versions(2, 1, "join", 2) == ((0,), (1,), (0,))
    r = explore(Handoff(changes=2, max_ops=1), properties=SAFETY_AND_SETTLED)  # one op: no write continues
    assert r.verdict == EXHAUSTED and "settled" in r.liveness
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (6101, 43549, 25)
    assert all(n > 0 for n in r.stats.coverage.values()), r.stats.coverage


@pytest.mark.slow  # about 25 s
def test_two_changes_at_the_default_size_are_exhausted() -> None:
    r = explore(Handoff(changes=2))
    assert r.verdict == EXHAUSTED and not r.unreached()
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (182587, 1686929, 34)


def test_a_late_copy_of_an_earlier_handoff_is_neither_taken_nor_counted() -> None:
    m = Handoff(changes=2)
    s1: Any = m.node("s1")
    gave_back = StoreState(2, (NONE,), (0,))  # s1 took the key at version 1 and handed it back at 2
    assert s1.on_message(gave_back, 0, Transfer(1, 0, 0)) is None
    sending = StoreState(2, (SENDING,), (1,))
    assert s1.on_message(sending, 0, TransferAck(1, 0)) is None
    assert s1.on_message(sending, 0, TransferAck(2, 0)) == (StoreState(2, (NONE,), (0,)), (Persist(),))


def test_a_node_reports_its_handoffs_done_and_the_config_service_waits_for_every_report() -> None:
    m = Handoff(changes=2)
    s1: Any = m.node("s1")
    cfg: Any = m.node("config")
    assert s1.report(StoreState(1, (NONE,), (0,))) is None  # the key it owns at version 1 has not arrived
    assert s1.report(StoreState(1, (OWN,), (1,))) == (StoreState(1, (OWN,), (1,)), (Send(2, Settled(1)),))
    assert cfg.change(ConfigState(1, frozenset({1}))) is None
    r = cfg.on_message(ConfigState(1, frozenset({1})), 0, Settled(1))
    assert r == (ConfigState(1, frozenset({0, 1})), ())
    assert cfg.change(r[0]) is not None


def test_check_finds_a_node_that_takes_a_late_transfer_of_an_earlier_handoff() -> None:
    r = explore(UnversionedTransfer())
    assert r.verdict == VIOLATED and r.property == "single_authority"
    assert r.path is not None and len(r.path) == 16
    assert dict(r.path.actions[-1].args)["msg"] == Transfer(1, 0, 0)


def test_a_config_service_that_does_not_wait_for_the_handoffs_never_settles() -> None:
    assert UngatedChange().config.changes == 2
    r = explore(UngatedChange(max_ops=1), properties=["settled"])  # the defaults: about 2 minutes
    assert r.verdict == VIOLATED and r.property == "settled"
    assert r.path is not None and [a.name for a in r.path.actions].count("change") == 2


class _NeverStreams(Storage):
    def stream(self, s: StoreState, k: int) -> Any:
        return None


class NeverStreams(Handoff):
    storage_class = _NeverStreams


def test_a_handoff_that_never_streams_is_safe_but_never_settles() -> None:
    assert explore(NeverStreams(), properties=["no_acked_write_lost", "single_authority"]).verdict == EXHAUSTED
    r = explore(NeverStreams(), properties=["settled"])
    assert r.verdict == VIOLATED and r.property == "settled"


@pytest.mark.parametrize(("argv", "message"), [
    ({"nodes": 1}, "--nodes must be at least 2"),
    ({"change": "swap"}, "--change swap: give join or leave"),
    ({"nodes": 2, "replicas": 2}, "--replicas 2: give 1 to 1"),
])
def test_a_bad_configuration_is_a_one_line_error(argv: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Handoff(**argv)


def test_with_two_replicas_each_key_is_two_slots_and_a_join_moves_one_of_them() -> None:
    # 3 nodes, 1 key, R = 2: slots (replica 0, replica 1); node 2 joins at the front of the
    # preference list (2, 0): node 0 keeps its slot, node 2 takes node 1's.
    assert replica_versions(3, 1, "join", 1, 2) == ((0, 1), (0, 2))
    assert replica_versions(3, 1, "leave", 1, 2) == ((2, 0), (1, 0))
    r = explore(Handoff(nodes=3, replicas=2, max_ops=1), properties=SAFETY_AND_SETTLED)
    assert r.verdict == EXHAUSTED and "settled" in r.liveness
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (2277, 14101, 15)


def test_with_two_replicas_drop_before_ack_still_loses_a_write() -> None:
    r = explore(DropBeforeAck(nodes=3, replicas=2))
    assert r.verdict == VIOLATED and r.property == "no_acked_write_lost"


@given(st.lists(st.integers(0, 9), min_size=3, max_size=6, unique=True), st.integers(1, 3), st.data())
def test_a_preference_set_changed_by_one_node_moves_exactly_one_replica_slot(
        members: list[int], r: int, data: st.DataObject) -> None:
    pref = data.draw(st.permutations(members).map(lambda p: tuple(p[:r])))
    slots = replica_slots(None, pref)
    assert slots == pref
    out = data.draw(st.sampled_from(pref))
    new = data.draw(st.integers(10, 20))
    after = data.draw(st.permutations([*(n for n in pref if n != out), new]))
    moved = replica_slots(slots, tuple(after))
    assert sorted(moved) == sorted([*(n for n in pref if n != out), new])
    assert sum(a != b for a, b in zip(slots, moved, strict=True)) == 1 and moved[slots.index(out)] == new
