"""The ring's movement properties checked on every small placement, and the planted bugs caught."""

from __future__ import annotations

import pytest

from protoproof.checker.explore import explore
from protoproof.checker.verdict import EXHAUSTED, VIOLATED
from protoproof.models.hashring import Ring
from protoproof.models.hashring_model import HR, HashRing, ModN, NoSkip, join_inserts_once, ring_of


@pytest.mark.parametrize(("params", "counts"), [
    ({"nodes": 3, "vnodes": 1, "replicas": 2}, (63, 162, 2)),
    ({"nodes": 2, "vnodes": 2, "replicas": 2}, (192, 256, 1)),
    ({"nodes": 3, "vnodes": 2, "replicas": 2, "positions": 4}, (7_168, 18_432, 2)),
])
def test_the_ring_model_is_exhausted_with_its_pinned_counts(params: dict[str, int],
                                                            counts: tuple[int, int, int]) -> None:
    r = explore(HashRing(**params))
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == counts


@pytest.mark.slow
def test_the_default_ring_model_covers_every_order_of_six_tokens_and_is_exhausted() -> None:
    r = explore(HashRing())
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (54_432, 139_968, 2)


def test_every_placement_up_to_rotation_is_an_initial_state() -> None:
    m = HashRing(nodes=2, vnodes=2, positions=3)
    inits = m.init()
    assert len(inits) == 3 ** 3 and all(s.tokens[0] == 0 and all(s.member) for s in inits)


def test_the_model_checks_the_library_ring_at_the_states_token_positions() -> None:
    m = HashRing(nodes=3, vnodes=2)
    s = HR((0, 3, 1, 4, 2, 5), (True, False, True))
    ring = m.ring(s)
    assert type(ring) is Ring and ring.nodes == (0, 2)
    assert [ring.owner_at(k) for k in range(6)] == [0, 2, 2, 0, 2, 2]
    assert ring.preference_at(4, 2) == (2, 0)


def test_hash_mod_n_is_caught_moving_a_key_between_two_old_members_on_a_leave() -> None:
    r = explore(ModN(nodes=3, vnodes=1, replicas=2))
    assert r.verdict == VIOLATED and r.property == "leaves_move_only_the_leavers_keys"
    assert r.path is not None and [repr(a) for a in r.path.actions] == ["leave(node=0)"]


@pytest.mark.parametrize("prop", ["joins_move_keys_only_to_the_new_node", "a_join_enters_each_list_at_one_position",
                                  "a_leave_drops_the_leaver_and_appends_the_next_node"])
def test_hash_mod_n_breaks_each_movement_statement_on_its_own(prop: str) -> None:
    r = explore(ModN(nodes=3, vnodes=1, replicas=2), properties=[prop])
    assert r.verdict == VIOLATED and r.property == prop


def test_a_preference_list_that_keeps_duplicate_nodes_is_caught_in_an_initial_state() -> None:
    r = explore(NoSkip(nodes=3, vnodes=2, replicas=2, positions=4))
    assert r.verdict == VIOLATED and r.property == "preference_lists_are_distinct"
    assert r.path is not None and r.path.actions == []


def test_a_join_inserts_the_new_node_once_so_with_two_replicas_both_positions_can_change() -> None:
    # Node 0 at 0, node 2 at 4, node 1 joins at 2: from key 1 the walk meets 1, then 2, then 0.
    tokens = (0, 2, 4)
    old = ring_of(Ring, 1, tokens, (True, False, True))
    new = ring_of(Ring, 1, tokens, (True, True, True))
    before, after = old.preference_at(1, 2), new.preference_at(1, 2)
    assert (before, after) == ((2, 0), (1, 2)) and join_inserts_once(old, new, 1, 1, 2)
    assert sum(x != y for x, y in zip(before, after, strict=True)) == 2  # "one position changes" is false
    assert set(after) - set(before) == {1} and set(before) - set(after) == {0}  # one in, the last one out
    swapped = ring_of(Ring, 1, tokens, (True, True, False))  # (1, 0): node 2 vanished, not an insertion
    assert swapped.preference_at(1, 2) == (1, 0) and not join_inserts_once(old, swapped, 1, 1, 2)
