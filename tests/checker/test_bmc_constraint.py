"""BMC (and induction) apply a model's state constraint (TLC's CONSTRAINT, ``ActorSystem.constraint``) exactly as the
explicit checker does: a step whose successor violates it is not enabled, so BMC's shortest violation
has the length of breadth-first search's, and a property only the constraint keeps is not violated."""

from __future__ import annotations

from typing import Any

import z3

from protoproof.checker.bmc import bmc
from protoproof.checker.explore import explore
from protoproof.checker.induction import prove
from protoproof.checker.symbolic import SymbolicModel, to_z3
from protoproof.checker.verdict import BOUNDED, EXHAUSTED, PROVED, VIOLATED
from protoproof.models.actors import SysState
from protoproof.models.base import always
from protoproof.models.raft import Raft

SMALL: dict[str, Any] = {"servers": 2, "values": 1, "max_term": 2, "max_log": 0, "lossy": False,
                         "duplicating": False, "restarts": False}


class OneInFlight(Raft):
    """Raft with a property that only ``--max-messages 1`` keeps: at most one message in flight."""

    @always
    def one_in_flight(self, s: SysState) -> bool:
        return sum(s.net[:]) <= 1


def test_bmc_and_breadth_first_search_agree_on_the_shortest_violation_under_the_constraint() -> None:
    m = OneInFlight(**SMALL, max_messages=2)
    bfs = explore(m, properties=["one_in_flight"])
    assert bfs.verdict == VIOLATED and bfs.path is not None
    r = bmc(m, 6, ["one_in_flight"], tie=0)
    assert r.verdict == VIOLATED and r.path is not None
    assert r.depth_reached == len(bfs.path.actions) == len(r.path.actions)
    assert not m.one_in_flight(r.path.last) and all(m.constraint(s) for s in r.path.states)


def test_bmc_finds_no_state_the_constraint_excludes() -> None:
    m = OneInFlight(**SMALL, max_messages=1)
    assert explore(m, properties=["one_in_flight"]).verdict == EXHAUSTED
    r = bmc(m, 4, ["one_in_flight"], tie=0)  # without the constraint: violated at depth 3
    assert r.verdict == BOUNDED and r.depth_reached == 4


def test_prove_applies_the_constraint_too() -> None:
    """The constraint is part of each step, so induction proves what only the constraint keeps
    (ignoring it, ``request_vote`` with a message in flight would break ``one_in_flight``)."""
    r = prove(OneInFlight(**SMALL, max_messages=1), None, 1, ["one_in_flight"], tie=0)
    assert r.verdict == PROVED


def test_the_constraint_conjoined_once_is_the_same_relation_as_inlined_in_every_step() -> None:
    """``SymbolicModel(split_constraint=True)`` (what ``bmc`` uses) encodes the steps without the
    constraint and conjoins it once on Y: z3 finds no (X, Y) on which it and the inlined relation differ."""
    m = Raft(**SMALL, max_messages=1)
    inlined = SymbolicModel(m)
    split = SymbolicModel(m, split_constraint=True)
    assert split.constraint_y is not True and inlined.constraint_y is True
    s = z3.Solver()
    s.add(to_z3(inlined.dom_x), to_z3(inlined.dom_y))
    s.add(to_z3(inlined.transition()) != to_z3(split.transition()))
    assert s.check() == z3.unsat
