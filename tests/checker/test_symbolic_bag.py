"""An ``UnorderedBag`` on z3: sends bump counts by formulas, a reachable overflow is a violation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import z3

from protoproof.checker.bmc import bmc
from protoproof.checker.errors import ModelError
from protoproof.checker.explore import explore
from protoproof.checker.symbolic import BAG_BOUND, b_and, domain, fresh, to_z3
from protoproof.checker.symbolic import explore as paths_of
from protoproof.models.actors import Effect, Envelope, Send, UnorderedBag
from protoproof.models.base import require, transition
from protoproof.models.schema import BagOf, Int, Record, message

from ..models.envmodels import Deadline, Hi, Talk, Talker, UnboundedDelay


def test_bag_models_run_on_bmc_and_find_what_the_explicit_checker_finds() -> None:
    for model in (Talk(), Deadline()):
        assert explore(model).path is None
        assert bmc(model, 6).verdict == "bounded"
    bug = UnboundedDelay()
    found = explore(bug).path
    r = bmc(bug, 6)
    assert found is not None and r.verdict == "violated" and r.path is not None
    assert len(r.path.actions) == len(found.actions)


class Chatty(Talker):
    """The mutant: node 0 may say hi again while its first hi is still in flight."""

    @transition()
    def hello(self, s: bool) -> tuple[bool, Sequence[Effect]] | None:
        require(self.id == 0)
        return True, tuple(Send(d, Hi()) for d in range(1, self.n))


class ChattyTalk(Talk):
    def nodes(self) -> list[Any]:
        return [Chatty(k, self.config.n) for k in range(self.config.n)]


def test_a_reachable_send_into_a_full_bag_is_a_model_error_in_bmc_as_in_check() -> None:
    with pytest.raises(ModelError, match="BoundExceeded"):
        explore(ChattyTalk(n=2, partitions=0))
    r = bmc(ChattyTalk(n=2, partitions=0), 4)
    assert r.verdict == "error" and r.property == BAG_BOUND and "BoundExceeded" in r.reason
    assert r.path is not None and [a.name for a in r.path.actions] == ["hello"]


@message
class Val:
    v: int


def test_a_send_with_symbolic_fields_bumps_the_matching_count_by_a_formula() -> None:
    universe = [Envelope(0, 1, Val(k)) for k in range(3)]
    net = UnorderedBag(max_copies=2)
    ty = net.type(universe, Record(Val, v=Int(0, 2)))
    assert isinstance(ty, BagOf)
    counts, v = fresh(ty, "net"), fresh(Int(0, 2), "v")
    dom = to_z3(b_and(domain(ty, counts), domain(Int(0, 2), v)))
    paths = paths_of(lambda c, x: net.add(c, [Envelope(0, 1, Val(x))]), (counts, v), "send", 64, dom)
    assert len(paths) == 2  # one path sends, one overflows: the send does not fork per envelope
    sent = next(p for p in paths if not p.overflow)
    over = next(p for p in paths if p.overflow)
    s = z3.Solver()
    s.add(dom, *map(to_z3, sent.pc), counts[1].t == 1, v.t == 1, sent.result[1].t != 2)
    assert s.check() == z3.unsat  # Val(1) sent: its count goes from 1 to 2
    s = z3.Solver()
    s.add(dom, *map(to_z3, sent.pc), v.t == 1, sent.result[0].t != counts[0].t)
    assert s.check() == z3.unsat  # the other envelopes' counts stay
    s = z3.Solver()
    s.add(dom, *map(to_z3, over.pc), counts[2].t <= 1, v.t == 2)
    assert s.check() == z3.unsat  # overflow only when the matching count is already 2


def test_a_send_that_may_leave_the_universe_is_an_obligation_on_that_path_only() -> None:
    universe = [Envelope(0, 1, Val(k)) for k in range(2)]  # Val(2) is not declared
    net = UnorderedBag(max_copies=1)
    ty = net.type(universe, Record(Val, v=Int(0, 2)))
    counts, v = fresh(ty, "net"), fresh(Int(0, 2), "v")
    dom = to_z3(b_and(domain(ty, counts), domain(Int(0, 2), v)))
    paths = paths_of(lambda c, x: net.add(c, [Envelope(0, 1, Val(x))]), (counts, v), "send", 64, dom)
    outside = [p for p in paths if p.overflow]
    s = z3.Solver()
    s.add(dom, z3.Or(*(z3.And(*map(to_z3, p.pc)) for p in outside)), v.t != 2, counts[0].t == 0, counts[1].t == 0)
    assert s.check() == z3.unsat  # with room in the bag, only Val(2) takes an obligation path
    s = z3.Solver()
    s.add(dom, z3.Or(*(z3.And(*map(to_z3, p.pc)) for p in outside)), v.t == 2)
    assert s.check() == z3.sat
