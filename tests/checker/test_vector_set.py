"""The numpy hash set of visited codes (``checker/vector_set.py``)."""

from __future__ import annotations

import numpy as np

from protoproof.checker.vector_set import CodeSet


def test_the_code_set_holds_exactly_what_was_added_through_collisions_and_growth() -> None:
    rng = np.random.default_rng(7)
    s = CodeSet(bits=4)  # tiny: many collisions, several doublings
    added = np.unique(rng.integers(0, 1 << 62, 5000, dtype=np.int64))
    rng.shuffle(added)
    for batch in np.array_split(added, 17):
        s.add_new(batch)
    assert len(s) == len(added) and 2 * len(s) <= len(s.table)
    others = rng.integers(0, 1 << 62, 5000, dtype=np.int64)
    others = others[~np.isin(others, added)]
    assert s.contains(added).all()
    assert not s.contains(others).any()
    probe = np.concatenate([added[:10], others[:10]])
    assert s.contains(probe).tolist() == [True] * 10 + [False] * 10


def test_codes_that_share_a_slot_all_land() -> None:
    s = CodeSet(bits=8)
    codes = np.arange(200_000, dtype=np.int64)
    same_slot = codes[s._slots(codes) == 5][:6]
    assert len(same_slot) == 6
    s.add_new(same_slot)
    assert s.contains(same_slot).all() and not s.contains(same_slot + 1 << 40).any()
