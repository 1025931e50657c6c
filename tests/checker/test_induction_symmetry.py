"""Consecution up to symmetry: covered only where z3 proves the renaming, never where it would lie."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
import z3

from protoproof.checker.induction import prove
from protoproof.checker.verdict import PROVED, UNKNOWN
from protoproof.models.base import Model, always, sometimes, transition
from protoproof.models.schema import Bool, Record, Type, Vec
from protoproof.models.tcommit import ABORTED, COMMITTED, PREPARED, TC, WORKING, TCommit
from protoproof.models.twophase import TwoPhase
from protoproof.models.types import Id
from protoproof.proofs.twophase import strengthening
from protoproof.tests.checker.test_induction import _Lagging


def _asked(r: Any) -> list[str]:
    return [o.name for o in r.obligations if o.name.startswith("consecution") and not o.name.endswith("enables it")]


def _covered(r: Any) -> list[str]:
    return [o.name for o in r.obligations if " renamed " in o.name]


def test_twophase_is_proved_asking_one_query_per_orbit_of_its_actions() -> None:
    model = TwoPhase(rms=3)
    full = prove(model, strengthening(model))
    sym = prove(model, strengthening(model), symmetry=True)
    assert full.verdict == sym.verdict == PROVED, sym.to_lines()
    assert len(_asked(full)) == len(model.actions()) == 17
    assert len(_asked(sym)) == 7 and len(_covered(sym)) == 10
    assert "prepare(node='rm2') is prepare(node='rm0') renamed node 0→1, 1→2, 2→0" in _covered(sym)
    assert sym.symmetry == ("symmetry: 10 of 17 consecution obligations are renamings of the 7 asked "
                            "(group of 6 renamings)")
    assert sym.to_json()["symmetry"] == sym.symmetry


@pytest.mark.parametrize("drop", range(7))
def test_symmetry_and_every_query_agree_on_each_weakened_strengthening(drop: int) -> None:
    model = TwoPhase(rms=3)
    conj = strengthening(model)
    weak = conj[:drop] + conj[drop + 1 :]
    sym = prove(model, weak, symmetry=True)
    assert sym.verdict == prove(model, weak).verdict == UNKNOWN
    assert sym.cti is not None and sym.cti.broken


class _OneRmSlips(TCommit):
    """RM 2 alone commits while RM 0 has aborted: an instance that is no renaming of RM 0's."""

    @transition(rm="rm_ids")
    def decide_commit(self, s: Any, rm: int) -> Any:
        if rm == 2 and s.rm[0] == ABORTED and s.rm[2] == PREPARED:
            return self._set(s, 2, COMMITTED)
        if not (s.rm[rm] == PREPARED and all(r in (PREPARED, COMMITTED) for r in s.rm)):
            return None
        return self._set(s, rm, COMMITTED)


def test_an_action_that_only_looks_like_a_renaming_is_asked_and_its_cti_found() -> None:
    """Renamed, RM 2's commit matches RM 0's on an ordinary state; z3 refuses the cover, so its own
    query runs and breaks atomicity.  Trusting the concrete match would have said proved."""
    model = _OneRmSlips(rms=3)
    assert prove(model).verdict == UNKNOWN
    r = prove(model, symmetry=True)
    assert r.verdict == UNKNOWN and r.cti is not None, r.to_lines()
    assert repr(r.cti.action) == "decide_commit(rm=2)" and r.cti.broken == ["atomicity"]
    assert "consecution decide_commit(rm=2)" in _asked(r)
    assert not any(c.startswith("decide_commit(rm=2) is ") for c in _covered(r))
    assert "decide_commit(rm=1) is decide_commit(rm=0) renamed rm 0→1, 1→0" in _covered(r)


def _rm1_never_commits(s: Any) -> bool:
    return bool(s.rm[1] != COMMITTED)


def test_a_renaming_that_changes_the_invariant_covers_nothing() -> None:
    """The invariant speaks of RM 1: RM 0's commit keeps it, RM 1's breaks it.  Covering RM 1's by
    renaming RM 0's would prove a false invariant; only the swap of RMs 0 and 2 is used."""
    model = TCommit(rms=3)
    assert prove(model, [_rm1_never_commits]).verdict == UNKNOWN
    r = prove(model, [_rm1_never_commits], symmetry=True)
    assert r.verdict == UNKNOWN and r.cti is not None and repr(r.cti.action) == "decide_commit(rm=1)"
    assert r.cti.broken == ["_rm1_never_commits"]
    assert "consecution decide_commit(rm=1)" in _asked(r)
    assert all("rm 0→2, 2→0" in c for c in _covered(r)) and len(_covered(r)) == 3
    assert r.symmetry is not None and "not used: " in r.symmetry
    assert "rm 1→2, 2→1 (it changes the invariant or leaves the type)" in r.symmetry


def test_symmetry_reduces_one_induction_only_and_needs_a_declared_group() -> None:
    with pytest.raises(ValueError, match="1-induction only"):
        prove(TCommit(rms=2), symmetry=True, k=2)
    with pytest.raises(ValueError, match="declares no symmetry"):
        prove(_Lagging(), symmetry=True)
    with pytest.raises(ValueError, match="the group has 5,040 renamings"):
        prove(TCommit(rms=7), symmetry=True)


class _S(NamedTuple):
    on: tuple[bool, ...]
    leader: int


class _Lead(Model[_S]):
    """The leader's bit is on: ``s.on[s.leader]`` reads an out-of-range leader through a default
    branch that no renaming moves, so the invariant is symmetric on type-correct states only."""

    name = "lead"

    def schema(self) -> Type:
        return Record(_S, on=Vec(Bool, 3, index="n"), leader=Id("n", 3))

    def symmetry(self) -> dict[str, list[list[int]]]:
        return {"n": [[0, 1, 2]]}

    def ids(self) -> range:
        return range(3)

    def init(self) -> list[_S]:
        return [_S((True, False, False), 0)]

    @always
    def leader_on(self, s: _S) -> bool:
        return bool(s.on[s.leader])

    @sometimes
    def moved(self, s: _S) -> bool:
        return s.leader != 0

    @transition(i="ids")
    def hand(self, s: _S, i: int) -> _S | None:
        if i == s.leader:
            return None
        return _S(tuple(k == i for k in range(3)), i)


def test_a_renaming_that_keeps_the_invariant_on_type_correct_states_covers_with_the_successor_typed() -> None:
    r = prove(_Lead(), symmetry=True)
    assert r.verdict == PROVED, r.to_lines()
    assert len(_asked(r)) == 1 and len(_covered(r)) == 2
    assert any(o.name.endswith("on type-correct states") for o in r.obligations)


class _Bump(_Lead):
    """From unreachable states (the leader off) ``bump`` moves the leader past the last id: its
    witness's successor leaves the type, which the concrete renaming cannot take."""

    name = "bump"

    @always
    def leader_on(self, s: _S) -> bool:
        return True

    @transition(i="ids")
    def bump(self, s: _S, i: int) -> _S | None:
        if not (s.on[i] and not s.on[s.leader] and s.leader == 2):
            return None
        return _S(s.on, s.leader + 1)


def test_a_successor_outside_the_type_makes_its_action_asked_not_a_crash() -> None:
    r = prove(_Bump(), symmetry=True)
    assert prove(_Bump()).verdict == r.verdict, r.to_lines()


def test_a_concrete_match_on_the_witness_is_no_cover_until_z3_proves_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever witness z3 picks: on one where RM 2's commit is RM 0's renamed, the match is only a
    candidate, and the cover query (fact 2) refuses it."""
    from protoproof.checker import induction_symmetry

    orig = induction_symmetry._witness

    def ordinary(sm: Any, s: Any, i: int) -> Any:
        if repr(sm.actions[i].inst.action) == "decide_commit(rm=2)":
            return z3.sat, TC((PREPARED,) * 3)
        return orig(sm, s, i)

    monkeypatch.setattr(induction_symmetry, "_witness", ordinary)
    assert _OneRmSlips(rms=3).decide_commit(TC((PREPARED,) * 3), 2) == TC((PREPARED, PREPARED, COMMITTED))
    r = prove(_OneRmSlips(rms=3), symmetry=True)
    assert r.verdict == UNKNOWN and r.cti is not None and repr(r.cti.action) == "decide_commit(rm=2)"
    honest = prove(TCommit(rms=3), symmetry=True)
    assert honest.verdict == PROVED
    assert any(c.startswith("decide_commit(rm=2) is decide_commit(rm=0) renamed") for c in _covered(honest))


class _Unreachable(TCommit):
    """A commit that needs its RM both aborted and working: no state enables it."""

    @transition(rm="rm_ids")
    def force(self, s: Any, rm: int) -> Any:
        if not (s.rm[rm] == ABORTED and s.rm[(rm + 1) % 3] == WORKING and s.rm[rm] != ABORTED):
            return None
        return self._set(s, rm, COMMITTED)


def test_an_action_no_type_correct_state_enables_needs_no_query_of_its_own() -> None:
    r = prove(_Unreachable(rms=3), symmetry=True)
    assert r.verdict == PROVED, r.to_lines()
    assert [o.name for o in r.obligations if "enables" in o.name] == [
        f"consecution force(rm={k}): no type-correct state enables it" for k in range(3)]
    assert r.symmetry is not None and r.symmetry.endswith("; 3 actions no type-correct state enables")
    assert not any(n.startswith("consecution force") for n in _asked(r))
