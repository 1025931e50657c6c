"""``bmc`` on bit-vectors: the same shortest violations and bounded verdicts as on integers, and a
refused interval argument falls back to integers and says so."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protoproof.checker import bmc_steps
from protoproof.checker.bmc import bmc
from protoproof.checker.symbolic.bitvec import BvRefused
from protoproof.checker.verdict import BOUNDED, VIOLATED
from protoproof.models.base import Model
from protoproof.models.raft import Raft
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase

from .test_bmc_constraint import SMALL, OneInFlight


def _both(model: Model[Any], depth: int, props: list[str] | None = None) -> tuple[Any, Any]:
    bv = bmc(model, depth, props, tie=0)
    ints = bmc(model, depth, props, tie=0, encoding="int")
    assert bv.encoding.startswith("bit-vectors") and bv.encoding_note == ""
    assert ints.encoding == "integers" and "as asked" in ints.encoding_note
    return bv, ints


@pytest.mark.parametrize(("model", "depth"), [
    (TwoPhase(rms=3).with_variant("commit-without-votes"), 3),
    (TwoPhase(rms=3).with_variant("commit-on-majority"), 7),
    (OneInFlight(**SMALL, max_messages=2), 3),
], ids=["2pc-commit-without-votes", "2pc-commit-on-majority", "raft-two-in-flight"])
def test_bit_vectors_and_integers_find_the_same_shortest_violation(model: Model[Any], depth: int) -> None:
    bv, ints = _both(model, depth + 2)
    assert bv.verdict == ints.verdict == VIOLATED
    assert bv.depth_reached == ints.depth_reached == depth
    assert bv.property == ints.property and bv.path is not None and len(bv.path) == depth


@pytest.mark.parametrize(("model", "depth", "props"), [
    (TwoPhase(rms=3), 7, None),
    (TCommit(rms=3), 6, None),
    (OneInFlight(**SMALL, max_messages=1), 4, ["one_in_flight"]),
], ids=["2pc", "tcommit", "raft-one-in-flight"])
def test_bit_vectors_and_integers_agree_on_bounded_verdicts(model: Model[Any], depth: int,
                                                           props: list[str] | None) -> None:
    bv, ints = _both(model, depth, props)
    assert bv.verdict == ints.verdict == BOUNDED
    assert bv.depth_reached == ints.depth_reached == depth
    assert f"on {bv.encoding}; not a proof" in bv.to_lines()[0]


def test_a_refused_interval_argument_falls_back_to_integers_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: Any, **_k: Any) -> Any:
        raise BvRefused("the next value of y may be 1..4, outside its declared range 0..3")

    monkeypatch.setattr(bmc_steps, "plan", refuse)
    r = bmc(TwoPhase(rms=3).with_variant("commit-on-majority"), 8, tie=0)
    assert r.verdict == VIOLATED and r.depth_reached == 7
    assert r.encoding == "integers" and "no sound bit-vector width: the next value of y" in r.encoding_note
    assert "  encoding: integers (no sound bit-vector width: the next value" in "\n".join(r.to_lines())
    d = json.loads(json.dumps(r.to_json()))
    assert d["encoding"] == "integers" and "outside its declared range" in d["encoding_note"]


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["stale-leader", "volatile-vote"])
def test_bmc_on_bit_vectors_finds_the_18_step_election_safety_bugs(variant: str) -> None:
    """Out of reach on integers (depth 10 and 7 in 600 s, README); measured under load: 21 s and 140 s of CPU."""
    cls = Raft.variants_of()[variant]
    r = bmc(cls(**cls.variant_defaults), 18, ["election_safety"])
    assert r.encoding.startswith("bit-vectors")
    assert r.verdict == VIOLATED and r.depth_reached == 18 and r.path is not None
    assert sum(s.role == "leader" for s in r.path.last.nodes) == 2
