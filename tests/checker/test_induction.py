"""Inductive proofs: obligations, CTIs replayed concretely, k-induction, the explicit cross-check."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest

from protoproof.checker.induction import prove
from protoproof.checker.inductive_explicit import check_inductive
from protoproof.checker.symbolic import Conjunct, SymbolicModel
from protoproof.checker.verdict import ERROR, PROVED, UNKNOWN, VIOLATED
from protoproof.models.base import Model, always, sometimes, transition
from protoproof.models.schema import Int, Record
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase
from protoproof.proofs.twophase import strengthening


def test_tcommit_atomicity_is_inductive_on_its_own() -> None:
    r = prove(TCommit(rms=4))
    assert r.verdict == PROVED
    assert r.conjuncts == ["atomicity"]


def test_twophase_atomicity_alone_is_not_inductive_and_the_cti_replays() -> None:
    model = TwoPhase(rms=3)
    r = prove(model, strengthening=[])
    assert r.verdict == UNKNOWN and r.reason.startswith("not inductive")
    cti = r.cti
    assert cti is not None and cti.action is not None
    assert model.atomicity(cti.state) and not model.atomicity(cti.next_state)
    assert model.apply(cti.state, cti.action) == cti.next_state
    assert cti.broken == ["atomicity"]


def test_one_line_per_obligation_with_its_time() -> None:
    model = TwoPhase(rms=3)
    r = prove(model, strengthening(model))
    lines = r.to_lines()
    n_actions = len(model.actions())
    assert len(r.obligations) == n_actions + 3  # the tie, init, one per action, inv => safety
    assert sum("consecution" in line for line in lines) == n_actions
    assert all(o.result == "ok" and o.seconds >= 0 for o in r.obligations)
    d = json.loads(json.dumps(r.to_json()))
    assert d["verdict"] == PROVED and len(d["obligations"]) == n_actions + 3


def test_a_buggy_variant_is_not_proved_and_the_cti_names_the_action() -> None:
    bug = TwoPhase(rms=3).with_variant("commit-without-votes")
    r = prove(bug, strengthening(bug))  # type: ignore[arg-type]
    assert r.verdict != PROVED
    assert r.cti is not None and repr(r.cti.action) == "commit(node='tm')"


def test_k_induction_proves_what_one_step_cannot() -> None:
    m = _Lagging()
    one = prove(m, [])
    assert one.verdict == UNKNOWN and one.cti is not None and one.cti.state.y == 3
    two = prove(m, [], k=2)
    assert two.verdict == PROVED, two.to_lines()
    assert [o.name for o in two.obligations] == ["property conformance (16 states)", "init => inv", "base (depth < 2)",
                                                 "consecution (2-induction)", "inv => safety"]


def test_an_initial_state_that_violates_safety_is_a_violation() -> None:
    r = prove(TwoPhase(rms=2), strengthening=[lambda s: s.nodes[0] != "working"])
    assert r.verdict == UNKNOWN and "initial" in r.reason
    assert prove(_BadInit()).verdict == VIOLATED


@pytest.mark.parametrize("drop", range(7))
def test_the_explicit_check_and_z3_agree_on_each_weakened_strengthening(drop: int) -> None:
    model = TwoPhase(rms=2)
    conj = strengthening(model)
    weak = conj[:drop] + conj[drop + 1 :]
    explicit = check_inductive(model, weak)
    symbolic = prove(model, weak)
    assert explicit.verdict == symbolic.verdict == UNKNOWN
    assert explicit.cti is not None and symbolic.cti is not None


def test_the_explicit_check_accepts_the_full_strengthening_and_refuses_big_instances() -> None:
    r = check_inductive(TwoPhase(rms=2), strengthening(TwoPhase(rms=2)))
    assert r.verdict == PROVED and r.invariant_states > 0 and r.type_correct_states == TwoPhase(rms=2).state_type.size
    with pytest.raises(ValueError, match="smaller instance"):
        check_inductive(TwoPhase(rms=4), max_states=10_000)


class _C(NamedTuple):
    x: int
    y: int


class _Lagging(Model[Any]):
    """y alternates 0, 1; x copies y.  `x != 3` holds, but one step from (0, 3) breaks it."""

    name = "lagging"

    def schema(self) -> Record:
        return Record(_C, x=Int(0, 3), y=Int(0, 3))

    def init(self) -> list[Any]:
        return [_C(0, 0)]

    @transition()
    def tick(self, s: Any) -> Any:
        return _C(s.y, (s.y + 1) % 2)

    @always
    def small(self, s: Any) -> bool:
        return s.x != 3

    @sometimes
    def one(self, s: Any) -> bool:
        return s.x == 1


class _BadInit(_Lagging):
    name = "badinit"

    def init(self) -> list[Any]:
        return [_C(3, 0)]


class _Counter(Model[Any]):
    """x counts 0, 1, 2, 3 and stays: `x != 3` breaks in three steps."""

    name = "counter"

    def schema(self) -> Record:
        return Record(_C, x=Int(0, 3), y=Int(0, 3))

    def init(self) -> list[Any]:
        return [_C(0, 0)]

    @transition()
    def inc(self, s: Any) -> Any:
        return _C(min(s.x + 1, 3), 0)

    @always
    def small(self, s: Any) -> bool:
        return s.x != 3

    @sometimes
    def one(self, s: Any) -> bool:
        return s.x == 1


def _wrong_formula_for_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """The symbolic side of `small` becomes `x not in (1, 3)`: false one step in, where the Python holds."""
    orig = SymbolicModel.predicate

    def predicate(self: SymbolicModel, name: str, fn: Any, use_twin: bool | None = None) -> Conjunct:
        if name != "small":
            return orig(self, name, fn, use_twin)
        c = orig(self, name, lambda s: s.x != 1 and s.x != 3, use_twin)
        return Conjunct(name, fn, c.formula, c.paths)

    monkeypatch.setattr(SymbolicModel, "predicate", predicate)


def test_k_induction_with_a_failed_base_is_not_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    # The base query is satisfiable (x = 1 breaks the formula) but no state breaks `small` concretely;
    # consecution is vacuous.  Such a run used to print "failed base" and still say proved.
    _wrong_formula_for_small(monkeypatch)
    r = prove(_Counter(), [], k=2)
    assert r.verdict == ERROR, r.to_lines()
    assert r.obligations[0].name.startswith("property conformance") and r.obligations[0].result == "failed"


def test_a_base_query_the_python_does_not_confirm_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _wrong_formula_for_small(monkeypatch)
    r = prove(_Counter(), [], k=2, tie=0)  # untied: the base case alone must refuse
    base = next(o for o in r.obligations if o.name.startswith("base"))
    assert base.result == "failed" and base.outcome == ERROR and "no conjunct concretely" in base.reason
    assert r.verdict == ERROR
    assert "NOT tied to the model" in r.to_lines()[1]


def test_the_verdict_is_proved_only_when_every_obligation_is_ok() -> None:
    from protoproof.checker.induction import Obligation, verdict_of

    ok = Obligation("init => inv", None, "ok", 0.0)
    assert verdict_of([ok, Obligation("base (depth < 2)", None, "ok", 0.0)]) == (PROVED, "")
    assert verdict_of([])[0] == UNKNOWN
    failed_base = Obligation("base (depth < 2)", None, "failed", 0.0)  # no outcome given: never proved
    assert verdict_of([ok, failed_base])[0] == UNKNOWN
    worst = [Obligation("a", None, "unknown", 0.0, UNKNOWN, "gave up"),
             Obligation("b", None, "failed", 0.0, VIOLATED, "reachable"),
             Obligation("c", None, "failed", 0.0, ERROR, "mismatch")]
    assert verdict_of(worst) == (ERROR, "mismatch")
    assert verdict_of(worst[:2]) == (VIOLATED, "reachable")


def test_a_strengthening_false_on_a_reachable_state_is_not_a_violation() -> None:
    r = prove(_Counter(), [lambda s: s.x != 1], k=2)
    base = next(o for o in r.obligations if o.name.startswith("base"))
    assert base.outcome == UNKNOWN and "strengthening false 1 steps from the start" in base.reason
    assert r.verdict == UNKNOWN


def test_a_proof_whose_tie_could_not_run_is_not_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    from protoproof.checker import tie

    def broken(model: Any, limit: int) -> list[Any]:
        raise RuntimeError("no search today")

    monkeypatch.setattr(tie, "reachable_states", broken)
    r = prove(TCommit(rms=2))
    assert r.verdict == UNKNOWN and "property conformance could not run" in r.reason
    assert r.to_lines()[1].startswith("  NOT tied to the model")
    assert all(o.result == "ok" for o in r.obligations[1:])  # every solver query held: still not proved
