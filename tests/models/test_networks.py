"""UnorderedBag's running tally and its kept bumps: caches, so they must never change a value."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from protoproof.models import networks
from protoproof.models.effects import BoundExceeded, Envelope
from protoproof.models.networks import BagNet, UnorderedBag
from protoproof.models.schema import Int

UNIVERSE = [Envelope(s, d, m) for s in range(2) for d in range(2) for m in range(3)]


def _bag(max_copies: int) -> UnorderedBag:
    net = UnorderedBag(max_copies=max_copies)
    net.type(UNIVERSE, Int(0, 2))
    return net


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.lists(st.tuples(st.sampled_from(UNIVERSE), st.sampled_from([1, -1])), max_size=40),
       st.integers(0, 64))
def test_a_bumped_bag_has_the_counts_and_tally_of_counting_afresh(max_copies: int, ops: list[tuple[Envelope, int]],
                                                                   kept: int) -> None:
    """Whatever the bumps (and however few bumps are kept), each bag has the counts of a plain
    list of counts, and its tally is (their sum, how many are at max_copies)."""
    old, networks._BUMPS_KEPT = networks._BUMPS_KEPT, max(kept, 1)
    try:
        net = _bag(max_copies)
        bag, counts = net.empty(), [0] * len(UNIVERSE)
        seen = [bag]
        for env, by in ops:
            k = UNIVERSE.index(env)
            if not 0 <= counts[k] + by <= max_copies:
                if counts[k] + by > max_copies:
                    try:
                        net._bump(bag, env, by)
                    except BoundExceeded:
                        continue
                    raise AssertionError("a bump beyond max_copies was allowed")
                continue
            bag = net._bump(bag, env, by)
            counts[k] += by
            assert type(bag) is BagNet and bag[:] == tuple(counts)
            assert net.tally(bag) == (sum(counts), counts.count(max_copies))
            fresh = tuple.__new__(BagNet, tuple(counts))  # a decoded bag: no tally kept yet
            assert net.tally(fresh) == net.tally(bag)
            seen.append(bag)
        for b in seen:  # a later bump never changed an earlier bag
            assert net.tally(b) == (sum(b[:]), b[:].count(max_copies))
    finally:
        networks._BUMPS_KEPT = old


def test_the_same_bump_of_the_same_bag_is_the_same_bag() -> None:
    net = _bag(2)
    bag = net.empty()
    assert net._bump(bag, UNIVERSE[3], 1) is net._bump(bag, UNIVERSE[3], 1)
    equal = tuple.__new__(BagNet, bag[:])  # equal, another object: bumped on its own
    assert net._bump(equal, UNIVERSE[3], 1) == net._bump(bag, UNIVERSE[3], 1)


def test_a_plain_tuple_of_counts_is_bumped_and_tallied() -> None:
    """A state replayed from z3's model carries a plain tuple, not a BagNet."""
    net = _bag(1)
    plain = (0,) * len(UNIVERSE)
    assert net.tally(plain) == (0, 0)
    bumped = net._bump(plain, UNIVERSE[0], 1)
    assert type(bumped) is BagNet and net.tally(bumped) == (1, 1)


def test_the_kept_bumps_are_not_sent_to_another_process() -> None:
    import pickle

    net = _bag(1)
    net._bump(net.empty(), UNIVERSE[0], 1)
    assert net._bumps and pickle.loads(pickle.dumps(net))._bumps == {}


def test_a_bag_read_by_a_network_of_another_bound_is_counted_at_that_bound() -> None:
    two, one = _bag(2), _bag(1)
    bag = two._bump(two.empty(), UNIVERSE[0], 1)
    assert two.tally(bag) == (1, 0)
    assert one.tally(bag) == (1, 1)
    assert two.tally(bag) == (1, 0)
