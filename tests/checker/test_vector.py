"""The vector engine (``checker/vector.py``) against the scalar one: the same counts, depth, verdict,
coverage and counterexample, on every registered model and variant it accepts."""

from __future__ import annotations

from typing import Any

import pytest

from protoproof.checker.explore import ModelError, Options, Result, explore
from protoproof.checker.vector import declined
from protoproof.models.base import Model, always
from protoproof.models.registry import registered
from protoproof.models.tcommit import ABORTED, COMMITTED, PREPARED
from protoproof.models.twophase import Abort, ResourceManager, TwoPhase


def same(a: Result, b: Result) -> None:
    """``a`` (vector) and ``b`` (scalar) report the same run."""
    assert a.engine == "vector" and b.engine.startswith("scalar")
    same_run(a, b)


def same_run(a: Result, b: Result) -> None:
    """``a`` and ``b`` report the same run: verdict, counts, coverage, counterexample and examples."""
    sa, sb = a.stats, b.stats
    assert (a.verdict, a.property, a.bound) == (b.verdict, b.property, b.bound)
    assert (sa.distinct_states, sa.transitions, sa.depth) == (sb.distinct_states, sb.transitions, sb.depth)
    assert sa.coverage == sb.coverage
    assert (a.path is None) == (b.path is None)
    if a.path is not None and b.path is not None:
        assert a.path.actions == b.path.actions and a.path.states == b.path.states
    assert a.examples.keys() == b.examples.keys()
    for k, p in a.examples.items():
        q = b.examples[k]
        assert (p is None) == (q is None)
        if p is not None and q is not None:
            assert p.states == q.states


def both(model: Model[Any], **kw: Any) -> tuple[Result, Result]:
    return explore(model, engine="vector", **kw), explore(model, engine="scalar", **kw)


#: Exhaustive runs of half a minute or more (on both engines).
SLOW = {("replog-nodes", None), ("replog-nodes", "volatile-follower"), ("replog-nodes", "keep-retracted"),
        ("hashring", None)}  # hashring: about 10 s; CI: its variants mod-n and no-skip


def every_model() -> list[Any]:
    out = []
    for name, p in sorted(registered().items()):
        m = p.model_class()()
        out += [pytest.param(name, v, marks=[pytest.mark.slow] if (name, v) in SLOW else [])
                for v in [None, *sorted(m.variants())]]
    return out


@pytest.mark.parametrize(("name", "variant"), every_model())
def test_every_model_the_vector_engine_accepts_gives_the_scalar_result(name: str, variant: str | None) -> None:
    model = registered()[name].model_class()().with_variant(variant)
    why = declined(model, Options())
    if why is not None:
        # It says why, and the default run says so too.
        assert explore(model, max_depth=3).engine == f"scalar ({why})"
        return
    engine = explore(model, max_depth=3).engine
    if engine.startswith("scalar ("):  # declined once the checks were known (liveness, @step): it says why
        assert len(engine) > len("scalar ()")
        return
    same(*both(model))


@pytest.mark.parametrize("rms", [1, 2, 3, 5])
@pytest.mark.parametrize("props", [None, ["atomicity"], ["all_committed"], ["refines_tcommit"]])
def test_the_vector_engine_gives_the_scalar_counts_on_2pc(rms: int, props: list[str] | None) -> None:
    same(*both(TwoPhase(rms=rms), properties=props))


@pytest.mark.parametrize("variant", ["commit-without-votes", "commit-on-majority"])
@pytest.mark.parametrize("props", [None, ["atomicity"], ["refines_tcommit"]])
def test_planted_2pc_bugs_are_found_by_the_vector_engine_with_the_same_shortest_path(
        variant: str, props: list[str] | None) -> None:
    a, b = both(TwoPhase(rms=4).with_variant(variant), properties=props)
    assert a.verdict == "violated"
    same(a, b)


@pytest.mark.parametrize("bound", [1, 4, 9])
def test_a_depth_bound_cuts_the_vector_engine_where_it_cuts_the_scalar_one(bound: int) -> None:
    same(*both(TwoPhase(rms=3), max_depth=bound))


def test_the_vector_engine_checks_deadlocks_like_the_scalar_one() -> None:
    same(*both(TwoPhase(rms=3), deadlock=True))  # 2PC never deadlocks: a decided message stays deliverable


def test_the_default_engine_is_the_vector_one_where_it_applies() -> None:
    assert explore(TwoPhase(rms=2)).engine == "vector"
    assert explore(TwoPhase(rms=2), symmetry=True).engine == "scalar (symmetry reduction)"
    assert explore(TwoPhase(rms=2), engine="scalar").engine == "scalar (asked for)"


def test_asking_for_the_vector_engine_where_it_does_not_apply_is_refused_with_the_reason() -> None:
    with pytest.raises(KeyError, match="--engine vector cannot run this check: crashes are possible"):
        explore(TwoPhase(rms=2, max_crashes=1), engine="vector")
    with pytest.raises(KeyError, match="unknown engine"):
        explore(TwoPhase(rms=2), engine="gpu")


def test_the_cli_prints_which_engine_ran_and_takes_engine() -> None:
    import io
    import json

    from protoproof import cli

    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["check", "twophase", "--rms", "2", "--quiet"], out, err) == 0
    assert "engine: vector" in out.getvalue()
    out = io.StringIO()
    assert cli.main(["check", "twophase", "--rms", "2", "--engine", "scalar", "--json"], out, err) == 0
    assert json.loads(out.getvalue())["engine"] == "scalar (asked for)"
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["check", "twophase", "--rms", "2", "--max-crashes", "1", "--engine", "vector"], out, err) == 2
    assert "--engine vector cannot run this check: crashes are possible" in err.getvalue()


class _NetProps(TwoPhase):
    """Properties that read the network (per state on the vector engine), one of them false."""

    @always
    def abort_sent_only_by_aborted_tm(self, s: Any) -> bool:
        return not self.sent(s, Abort()) or s.nodes[self.config.rms].state == "aborted"

    @always
    def no_abort_sent_while_an_rm_works(self, s: Any) -> bool:  # false: the TM may abort at once
        return not (self.sent(s, Abort()) and "working" in s.nodes[: self.config.rms])


def test_properties_that_read_the_network_are_checked_per_state_with_the_scalar_result() -> None:
    same(*both(_NetProps(rms=3), properties=["abort_sent_only_by_aborted_tm", "atomicity"]))
    a, b = both(_NetProps(rms=3))
    assert a.verdict == "violated" and a.property == "no_abort_sent_while_an_rm_works"
    same(a, b)


class _NetMapping(TwoPhase):
    def _to_tcommit(self, s: Any) -> Any:
        self.in_flight(s)  # reads the network
        return super()._to_tcommit(s)


def test_a_refinement_mapping_that_reads_the_network_sends_the_run_to_the_scalar_engine() -> None:
    r = explore(_NetMapping(rms=3))
    assert r.engine == "scalar (the vector engine stopped: the refinement mapping of refines_tcommit reads the network)"
    assert r.verdict == "exhausted" and r.stats.distinct_states == 288


class _BadRM(ResourceManager):
    def on_message(self, s: str, src: int, msg: Any) -> Any:
        if type(msg) is Abort and s == "prepared":
            raise ZeroDivisionError("planted")
        return super().on_message(s, src, msg)


class _RaisingHandler(TwoPhase):
    rm_class = _BadRM


def test_a_handler_that_raises_is_reported_as_by_the_scalar_engine() -> None:
    errors = []
    for engine in ("auto", "scalar"):
        with pytest.raises(ModelError) as e:
            explore(_RaisingHandler(rms=2), engine=engine)
        errors.append((str(e.value), e.value.state, e.value.action))
    assert errors[0] == errors[1] and "ZeroDivisionError" in errors[0][0]


class _SpellsWithIs(TwoPhase):
    @always
    def not_aap_by_identity(self, s: Any) -> bool:
        """Reads RMs with ``is`` (no operation a wrapper could see): false once rm0, rm1 aborted, rm2 prepared."""
        r = s.nodes
        return not (r[0] is ABORTED and r[1] is ABORTED and r[2] is PREPARED)


def test_a_property_that_reads_nodes_with_is_gets_the_scalar_verdict() -> None:
    a, b = both(_SpellsWithIs(rms=3), properties=["not_aap_by_identity"])
    assert a.verdict == "violated"
    same(a, b)


def test_the_tracked_node_tuple_notes_every_way_of_reading_it() -> None:
    from protoproof.checker.vector_props import _Tracked

    def reads(use: Any) -> set[int]:
        seen: set[int] = set()
        use(_Tracked(("a", "b", "c", "d"), seen))
        return seen

    everything = {0, 1, 2, 3}
    assert reads(lambda t: t[1]) == {1} and reads(lambda t: t[-1]) == {3} and reads(lambda t: t[:2]) == {0, 1}
    for use in (lambda t: "x" in t, lambda t: t == ("a",), lambda t: hash(t), lambda t: list(t), lambda t: (0,) + t,
                lambda t: t + (0,), lambda t: t.count("a"), lambda t: sorted(t), lambda t: ",".join(t)):
        assert reads(use) == everything
    assert reads(lambda t: len(t)) == set()


def test_a_timeout_ends_a_vector_run_as_bounded() -> None:
    r = explore(TwoPhase(rms=6), timeout=0.05)
    assert r.engine == "vector" and r.verdict == "bounded" and r.bound == "timeout 0.05s"
    assert 0 < r.stats.distinct_states < 50_816


@pytest.mark.parametrize("cap", [1, 2, 7, 50, 100, 287, 288, 1000])
def test_max_states_cuts_the_vector_engine_where_it_cuts_the_scalar_one(cap: int) -> None:
    same(*both(TwoPhase(rms=3), max_states=cap))
    same(*both(TwoPhase(rms=3).with_variant("commit-on-majority"), max_states=cap))


class _TellsTrackedStatesApart(TwoPhase):
    @always
    def never_all_committed_on_a_real_network(self, s: Any) -> bool:
        """Planted: reads every node; once every RM committed, false on a real network (a frozenset)
        and true on the vector engine's poisoned one, which no read of a node can reveal."""
        if s.nodes[:] and not all(r == COMMITTED for r in self.rm_states(s)):
            return True
        return type(s.net) is not frozenset


def test_a_property_telling_a_tracked_state_apart_is_checked_on_real_states_on_the_vector_engine() -> None:
    # Without comparing its evaluations with the decoded state's, the vector engine exhausted it (288 states).
    m = _TellsTrackedStatesApart(rms=3)
    a, b = explore(m, engine="vector", properties=["never_all_committed_on_a_real_network"]), explore(
        m, engine="scalar", code_views=False, properties=["never_all_committed_on_a_real_network"])
    assert a.engine == "vector" and b.verdict == "violated"
    same_run(a, b)


def test_the_vector_engines_recheck_the_first_states_then_one_in_997_of_the_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from protoproof.checker import explore as explore_module
    from protoproof.checker.vector import Part, recheck_chunk

    checked: list[int] = []
    monkeypatch.setattr(explore_module, "_check_deterministic", lambda m, e, k, s, row, *a: checked.append(s))
    chunk = np.arange(100, 120, dtype=np.int64)
    parts = [Part(0, np.arange(20), np.arange(20), True, None)]
    assert recheck_chunk(None, None, None, int, ["a"], chunk, parts, 3, 990, True) == (0, 1010)  # type: ignore[arg-type]
    assert checked == [100, 101, 102, 107]  # the 3 left of the first states, and state 997 of the run
    checked.clear()
    assert recheck_chunk(None, None, None, int, ["a"], chunk, parts, 0, 1010, False) == (0, 1030)  # type: ignore[arg-type]
    assert checked == []  # check_determinism=0: none
