"""``check --branches``: the conditions of a model's own source that a check took each way."""

from __future__ import annotations

import importlib
import inspect
import linecache
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from protoproof.checker.branches import BranchReport, branch_coverage, instrument, protocol_functions
from protoproof.checker.explore import Options, explore
from protoproof.models import paxos as paxos_module
from protoproof.models.actors import ActorSystem, Effect, Envelope, Node, Send
from protoproof.models.base import Model, always, sometimes, transition
from protoproof.models.paxos import Leader, Paxos
from protoproof.models.schema import Int, Record, Type, Union, message
from protoproof.models.twophase import TwoPhase


def _run(model: Model[Any], **opts: Any) -> BranchReport:
    with branch_coverage(model) as report:
        explore(model, Options(**opts))
    return report


def _untaken(report: BranchReport) -> list[tuple[str, int, str, str]]:
    return [(s.file, s.line, s.text, miss) for s, miss in report.untaken()]


def _line_of(obj: Any, text: str) -> int:
    """The file line of the first line of ``obj``'s source containing ``text``."""
    lines, first = inspect.getsourcelines(obj)
    return first + next(k for k, ln in enumerate(lines) if text in ln)


HIGHEST = "m.mbal >= mm.mbal"


def test_paxos_at_max_ballot_1_never_sees_a_lower_vote_than_the_highest() -> None:
    # A 1b reports at most one vote ballot (0) there: "take the highest vote" is never tested.
    got = _untaken(_run(Paxos(acceptors=3, values=2, max_ballot=1)))
    assert ("models/paxos.py", _line_of(Leader.value_ok, HIGHEST), HIGHEST, "never False") in got


def test_paxos_at_three_ballots_takes_every_condition_both_ways() -> None:
    # Coverage only grows with the states visited: what a bounded depth-first run takes, the
    # exhaustive run (185,369 states) takes too.
    report = _run(Paxos(acceptors=3, values=2, max_ballot=2), strategy="dfs", max_states=5000)
    assert _untaken(report) == []
    assert report.counted >= 15 and report.excluded == 3


@pytest.mark.slow
def test_paxos_at_three_ballots_exhaustively_takes_every_condition_both_ways() -> None:
    assert _untaken(_run(Paxos(acceptors=3, values=2, max_ballot=2))) == []


def test_two_acceptors_never_leave_an_acceptor_out_of_a_quorum() -> None:
    # Why 3 acceptors: with 2, the only majority is both of them.  (Whether the highest-vote
    # comparison is seen False there depends on the order of a frozenset, so it is not pinned.)
    got = _untaken(_run(Paxos(acceptors=2, values=2, max_ballot=2)))
    assert ("m.acc in q", "never False") in [(t, miss) for _f, _ln, t, miss in got]


def test_twophase_default_takes_every_condition_both_ways() -> None:
    report = _run(TwoPhase())
    assert _untaken(report) == [] and (report.counted, report.excluded) == (8, 2)


def test_the_fast_path_and_the_general_path_give_the_same_report() -> None:
    model = Paxos(acceptors=3, values=2, max_ballot=1)
    assert model.code_expander() is not None  # the fast path is taken by default
    fast, general = _run(model), _run(model, on_codes=False)
    assert fast.sites == general.sites and fast.hits == general.hits
    assert _untaken(fast) == _untaken(general) != []


def test_instrumentation_is_removed_after_the_run() -> None:
    model = Paxos()
    fns = protocol_functions(model)
    before = {fn: fn.__code__ for fn in fns}
    assert Leader.value_ok in fns and Leader.phase2a in fns
    with branch_coverage(model):
        assert all(fn.__code__ is not before[fn] for fn in fns)
        assert "__pp_cov__" in vars(paxos_module)
    assert all(fn.__code__ is before[fn] for fn in fns)
    assert "__pp_cov__" not in vars(paxos_module)


def test_instrumentation_is_removed_when_the_run_raises() -> None:
    model = Paxos()
    before = Leader.value_ok.__code__
    with pytest.raises(ZeroDivisionError), branch_coverage(model):
        1 / 0  # noqa: B018
    assert Leader.value_ok.__code__ is before and "__pp_cov__" not in vars(paxos_module)


def test_properties_and_configuration_are_not_the_protocol() -> None:
    names = {fn.__qualname__ for fn in protocol_functions(Paxos())}
    assert {"Acceptor.on_message", "Acceptor.accepts", "Leader.phase2a", "Leader.quorum_allows",
            "Leader.value_ok", "Paxos.leader"} <= names
    assert not names & {"Paxos.agreement", "Paxos.chosen", "Paxos._validate_config", "Paxos.nodes",
                        "Acceptor.__init__"}


def test_a_method_overridden_by_a_variant_is_not_reported_as_never_reached() -> None:
    ignore_votes = Paxos.variants_of()["ignore-votes"]()
    names = {fn.__qualname__ for fn in protocol_functions(ignore_votes)}
    assert "_VoteIgnoringLeader.value_ok" in names and "Leader.value_ok" not in names


# ----- a toy model with a branch never taken ---------------------------------------------


class Counter(NamedTuple):
    n: int


@dataclass(frozen=True)
class ToyConfig:
    top: int = 3


class Toy(Model[Counter]):
    """Counts up to ``top``; its overflow branch is never taken, and `n > 0` never False when reset."""

    name = "toy"
    Config = ToyConfig

    def schema(self) -> Type:
        return Record(Counter, n=Int(0, self.config.top))

    def init(self) -> list[Counter]:
        return [Counter(0)]

    @transition()
    def inc(self, s: Counter) -> Counter | None:
        if s.n >= self.config.top:
            return None
        if s.n + 1 > self.config.top:  # never: the guard above stops at top
            return Counter(0)
        return Counter(s.n + 1)

    @always
    def bounded(self, s: Counter) -> bool:
        return s.n <= self.config.top

    @sometimes
    def started(self, s: Counter) -> bool:
        return s.n >= 0


def test_a_branch_never_taken_is_reported_with_its_line() -> None:
    got = _untaken(_run(Toy()))
    here = "tests/checker/test_branches.py"
    assert [(ln, t, miss) for f, ln, t, miss in got if f.endswith(here)] == [
        (_line_of(Toy.inc, "s.n + 1 >"), "s.n + 1 > self.config.top", "never True")]
    assert len(got) == 1  # the invariant `bounded` is a check, not the protocol


def test_a_model_with_every_branch_taken_says_so() -> None:
    report = _run(Toy(), max_states=2)
    assert report.to_lines()[0].startswith("branches never taken either way (2 of 2 conditions)")
    assert _run(Toy(top=0)).to_lines()[0].startswith("branches never taken")


# ----- super(), closures and messages: the instrumented code is the same code -----------------


@message
class Ping:
    k: int


def _bumper(top: int) -> Callable[[Any, int], int]:
    def bump(self: Any, s: int) -> int:
        return s + 1 if s < top else s  # a closure over top

    return bump


class Base(Node[int]):
    def state_type(self) -> Type:
        return Int(0, 2)

    def on_start(self) -> tuple[int, Sequence[Effect]]:
        return 0, ()

    bump = _bumper(2)


class Pinger(Base):
    role = "pinger"
    __limit = 2  # a private name: mangled to _Pinger__limit inside the class

    @transition()
    def ping(self, s: int) -> tuple[int, Sequence[Effect]] | None:
        if s >= self.__limit:
            return None
        return super().bump(s), (Send(1, Ping(s)),)


class Ponger(Base):
    role = "ponger"

    def on_message(self, s: int, src: int, msg: Any) -> tuple[int, Sequence[Effect]] | None:
        def seen(k: int) -> bool:
            return k == msg.k
        if any(seen(k) for k in range(3)):
            return super().bump(s), ()
        return None


@dataclass(frozen=True)
class PingConfig:
    flag: bool = True


class PingPong(ActorSystem):
    """Two nodes and zero-argument super() in both handlers."""

    name = "pingpong"
    Config = PingConfig

    def nodes(self) -> list[Node[Any]]:
        return [Pinger(0), Ponger(1)]

    def message_type(self) -> Type:
        return Union(Record(Ping, k=Int(0, 2)))

    def envelopes(self) -> list[Envelope]:
        return [Envelope(0, 1, Ping(k)) for k in range(3)]

    @always
    def small(self, s: Any) -> bool:
        return max(s.nodes) <= 2

    @sometimes
    def pinged(self, s: Any) -> bool:
        return s.nodes[1] > 0


def test_super_and_closures_run_instrumented_with_the_same_results() -> None:
    model = PingPong()
    plain = explore(model, Options())
    with branch_coverage(model) as report:
        covered = explore(model, Options())
    assert report.skipped == []
    assert (covered.verdict, covered.stats.distinct_states, covered.stats.transitions) == (
        plain.verdict, plain.stats.distinct_states, plain.stats.transitions)
    texts = {s.text for s in report.sites}
    assert {"s >= self.__limit", "k == msg.k", "seen(k)", "s < top"} <= texts
    # range(3) holds every ping's k: the any() is never False, its elements go both ways.
    assert [(t, m) for _f, _ln, t, m in _untaken(report)] == [("any(seen(k) for k in range(3))", "never False")]



def test_nested_functions_keep_their_qualified_names() -> None:
    code = instrument(vars(Ponger)["on_message"], [])
    nested = [c.co_qualname for c in code.co_consts if isinstance(c, types.CodeType)]
    assert "Ponger.on_message.<locals>.seen" in nested and code.co_qualname == "Ponger.on_message"


EDITED = """
from dataclasses import dataclass
from protoproof.models.base import Model, always, sometimes, transition
from protoproof.models.schema import Int, Type


@dataclass(frozen=True)
class Config:
    pass


class Edited(Model[int]):
    name = "edited"
    Config = Config

    def schema(self) -> Type:
        return Int(0, 3)

    def init(self) -> list[int]:
        return [0]

    @transition()
    def inc(self, s: int) -> int | None:
        if s < 3:
            return s + 1
        return None

    @always
    def ok(self, s: int) -> bool:
        return True

    @sometimes
    def top(self, s: int) -> bool:
        return s == 3
"""


def test_a_model_file_edited_since_it_was_imported_is_not_instrumented(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "edited_model.py"
    path.write_text(EDITED)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("edited_model")
    path.write_text(EDITED.replace("if s < 3:", "if s < 2:"))
    linecache.checkcache(str(path))
    model = module.Edited()
    before = module.Edited.inc.__code__
    report = _run(model)
    assert report.sites == [] and module.Edited.inc.__code__ is before
    assert report.skipped == ["Edited.inc: its source is not the code that runs (edited since it was imported?)"]
    assert report.to_lines()[:2] == ["branches: no conditions in the model's protocol code were instrumented",
                                     "  not instrumented: " + report.skipped[0]]
