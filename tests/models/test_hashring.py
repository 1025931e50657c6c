"""The consistent-hashing ring: lookup, preference lists, minimal movement, moving ranges."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.models.hashring import RING_SIZE, Move, Ring, moved_keys, position, ranges_moving

NODES = ["a", "b", "c", "d", "e", "f"]


def linear_preference(ring: Ring[str], pos: int, r: int) -> tuple[str, ...]:
    """The preference list by the definition: distinct nodes in clockwise distance order."""
    order = sorted(ring.tokens, key=lambda t: ((t.pos - pos) % RING_SIZE, t))
    out: list[str] = []
    for t in order:
        if t.node not in out:
            out.append(t.node)
    return tuple(out[:r])


@st.composite
def rings(draw: st.DrawFn, small: bool = False) -> Ring[str]:
    """A ring of 1-5 nodes; ``small`` places tokens on 8 positions (ties) instead of hashing."""
    members = draw(st.lists(st.sampled_from(NODES[:5]), min_size=1, max_size=5, unique=True))
    vnodes = draw(st.integers(1, 4))
    if not small:
        return Ring.of(members, vnodes=vnodes)
    table = draw(st.lists(st.integers(0, 7), min_size=4 * len(NODES), max_size=4 * len(NODES)))
    return Ring.of(members, vnodes=vnodes, place=lambda n, i: table[4 * NODES.index(n) + i])


positions = st.one_of(st.integers(0, 9), st.integers(0, RING_SIZE - 1))


def test_a_key_position_is_blake2b_and_the_same_in_every_process() -> None:
    assert position("key") == 0xCE7CCCADC3A94CF5  # hashlib.blake2b(b"key", digest_size=8), pinned
    assert position("key") == position(b"key") and 0 <= position("key") < RING_SIZE


@settings(max_examples=200, deadline=None)
@given(rings(), rings(small=True), positions, st.integers(1, 6))
def test_a_lookup_equals_a_linear_scan_in_clockwise_order(hashed: Ring[str], small: Ring[str], pos: int,
                                                         r: int) -> None:
    for ring in (hashed, small):
        assert ring.preference_at(pos, r) == linear_preference(ring, pos, r)
        assert ring.owner_at(pos) == ring.preference_at(pos, 1)[0]


@settings(max_examples=200, deadline=None)
@given(rings(small=True), positions, st.integers(1, 6))
def test_a_preference_list_holds_r_distinct_nodes_or_every_node(ring: Ring[str], pos: int, r: int) -> None:
    pref = ring.preference_at(pos, r)
    assert len(set(pref)) == len(pref) == min(r, len(ring))


@settings(max_examples=300, deadline=None)
@given(rings(small=True), st.sampled_from(NODES), st.integers(1, 4))
def test_a_join_moves_keys_only_to_the_new_node_and_inserts_it_once_in_each_list(ring: Ring[str], node: str,
                                                                                  r: int) -> None:
    if node in ring:
        return
    new = ring.add(node)
    for pos in range(9):
        assert new.owner_at(pos) in (ring.owner_at(pos), node)
        old, now = ring.preference_at(pos, r), new.preference_at(pos, r)
        i = now.index(node) if node in now else len(old)
        assert now == (old[:i] + (node,) + old[i:])[:r]


@settings(max_examples=300, deadline=None)
@given(rings(small=True), st.integers(1, 4))
def test_a_leave_moves_only_the_leavers_keys_and_appends_the_next_node_clockwise(ring: Ring[str], r: int) -> None:
    if len(ring) < 2:
        return
    leaver = ring.nodes[0]
    new = ring.remove(leaver)
    for pos in range(9):
        if ring.owner_at(pos) != leaver:
            assert new.owner_at(pos) == ring.owner_at(pos)
        longer = ring.preference_at(pos, r + 1)
        assert new.preference_at(pos, r) == tuple(n for n in longer if n != leaver)[:r]


@settings(max_examples=100, deadline=None)
@given(rings(), st.sampled_from(NODES), st.integers(1, 3))
def test_the_moving_ranges_hold_exactly_the_keys_whose_list_changes(ring: Ring[str], node: str, r: int) -> None:
    new = ring.remove(node) if node in ring and len(ring) > 1 else ring.add(node) if node not in ring else ring
    moves = ranges_moving(ring, new, r)
    keys = [f"k{i}" for i in range(300)]
    moved = set(moved_keys(ring, new, keys, r))
    for k in keys:
        inside = [m for m in moves if m.contains(position(k))]
        assert len(inside) <= 1
        assert (k in moved) == bool(inside)
        if inside:
            assert (inside[0].before, inside[0].after) == (ring.preference_list(k, r), new.preference_list(k, r))


@settings(max_examples=200, deadline=None)
@given(rings(small=True), st.sampled_from(NODES), st.integers(1, 3))
def test_the_moving_ranges_are_exact_on_rings_with_ties_and_wrap(ring: Ring[str], node: str, r: int) -> None:
    new = ring.remove(node) if node in ring and len(ring) > 1 else ring.add(node) if node not in ring else ring
    moves = ranges_moving(ring, new, r)
    for pos in [*range(9), RING_SIZE - 1]:
        inside = [m for m in moves if m.contains(pos)]
        changed = ring.preference_at(pos, r) != new.preference_at(pos, r)
        assert len(inside) == int(changed)
        if inside:
            assert (inside[0].before, inside[0].after) == (ring.preference_at(pos, r), new.preference_at(pos, r))


def test_a_move_names_who_gains_and_who_loses_and_a_zero_length_arc_is_the_whole_ring() -> None:
    m = Move(10, 10, ("a", "b"), ("c", "a"))
    assert m.gained == ("c",) and m.lost == ("b",)
    assert m.contains(10) and m.contains(0) and m.contains(RING_SIZE - 1)
    wrap = Move(RING_SIZE - 5, 3, ("a",), ("b",))
    assert wrap.contains(0) and wrap.contains(3) and not wrap.contains(RING_SIZE - 5) and not wrap.contains(4)


def test_a_ring_is_immutable_and_each_change_is_a_new_version() -> None:
    ring = Ring.of(["a", "b"], vnodes=10)
    grown = ring.add("c", weight=2)
    assert (ring.version, grown.version, grown.remove("a").version) == (0, 1, 2)
    assert ring.nodes == ("a", "b") and grown.nodes == ("a", "b", "c")
    assert sum(t.node == "c" for t in grown.tokens) == 20 and len(grown.tokens) == 40
    assert grown.remove("c").tokens == ring.tokens and grown.remove("c") != ring  # same ring, later version


def test_a_heavier_node_owns_a_larger_share_of_the_ring() -> None:
    shares = Ring.of({"a": 1, "b": 1, "c": 4}, vnodes=200).shares()
    assert abs(sum(shares.values()) - 1) < 1e-9
    assert shares["c"] > 0.55 and shares["a"] < 0.25


def test_misuse_is_refused_with_the_fix() -> None:
    ring = Ring.of(["a"], vnodes=2)
    with pytest.raises(ValueError, match="already in the ring"):
        ring.add("a")
    with pytest.raises(ValueError, match="not in the ring; nodes"):
        ring.remove("b")
    with pytest.raises(ValueError, match="weights must be positive"):
        Ring.of({"a": 0})
    with pytest.raises(LookupError, match="add a node first"):
        ring.remove("a").owner("k")
