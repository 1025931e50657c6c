"""The lease lock: lease and storage safety on drifting clocks, and the four classic bugs found."""

from __future__ import annotations

from typing import Any, cast

import pytest

from protoproof.checker.explore import explore
from protoproof.checker.verdict import EXHAUSTED, VIOLATED
from protoproof.models.actors import Persist, Send
from protoproof.models.lease import (
    Client,
    Elected,
    FailoverWithoutGrace,
    Grant,
    Lease,
    Master,
    MasterState,
    NoFencing,
    NoMargin,
    RegrantStale,
    RenewAfterExpiry,
    Request,
    StorageState,
    Write,
)
from protoproof.models.registry import lookup

PERFECT = {"lease": 2, "margin": 0, "drift": 0, "max_time": 3}  # perfect clocks: no margin needed


def test_the_lease_lock_is_registered_under_its_name() -> None:
    assert lookup("lease").model_class() is Lease


def test_on_perfect_clocks_the_lease_lock_is_exhausted_with_its_pinned_counts() -> None:
    r = explore(Lease(**PERFECT))
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (4478, 11336, 16)
    assert not r.unreached()  # a second client acquires after the first's lease ran out


def test_with_failover_the_lease_lock_is_exhausted_with_its_pinned_counts() -> None:
    r = explore(Lease(failover=True, **PERFECT))
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (21661, 58621, 18)
    assert r.stats.coverage["master.step_down"] > 0 and r.stats.coverage["master.receive Elected"] > 0


def test_on_drifting_clocks_a_margin_of_four_drifts_keeps_the_lease_safe() -> None:
    r = explore(Lease(lease=5, margin=4, drift=1, max_time=2), properties=["lease_safety", "storage_safety"])
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.transitions, r.stats.depth) == (43943, 190736, 23)


def test_no_margin_two_clients_believe_at_once_in_its_shortest_path() -> None:
    r = explore(NoMargin())
    assert r.verdict == VIOLATED and r.property == "lease_safety"
    assert r.path is not None and len(r.path.actions) == 12
    assert "clock(node='master')" in map(repr, r.path.actions)  # the master's clock ran ahead


def test_no_fencing_a_write_sent_before_the_lease_ran_out_is_accepted_after_the_next_holders() -> None:
    r = explore(NoFencing(**PERFECT))
    assert r.verdict == VIOLATED and r.property == "storage_safety"
    assert r.path is not None and len(r.path.actions) == 12
    assert [repr(a) for a in r.path.actions[-2:]] == [
        "deliver(src='c1', dst='storage', msg=Write(token=2))", "deliver(src='c0', dst='storage', msg=Write(token=1))"]


def test_failover_without_grace_the_standby_grants_while_the_old_lease_runs() -> None:
    r = explore(FailoverWithoutGrace())
    assert r.verdict == VIOLATED and r.property == "lease_safety"
    assert r.path is not None and len(r.path.actions) == 8
    names = [repr(a) for a in r.path.actions]
    assert "step_down(node='master')" in names
    assert names[-1] == "deliver(src='standby', dst='c1', msg=Grant(at=0, token=2))"


def test_renew_after_expiry_the_master_renews_a_lease_it_gave_away() -> None:
    r = explore(RenewAfterExpiry(**PERFECT))
    assert r.verdict == VIOLATED and r.property == "lease_safety"
    assert r.path is not None and len(r.path.actions) == 11
    assert "deliver(src='master', dst='c0', msg=Grant(at=2, token=1))" in map(repr, r.path.actions)


def test_the_master_grants_only_after_the_lease_ran_out_on_its_clock_and_the_standby_after_its_grace() -> None:
    m = Lease(failover=True)
    master, standby = cast(Master, m.node("master")), cast(Master, m.node("standby"))
    held = MasterState(True, 2, 5, 1, 0)
    assert master.on_message(held, 3, Request(0, 0), now=4) is None
    r = master.on_message(held, 3, Request(0, 0), now=5)
    assert r is not None
    s, effects = r
    assert (s.holder, s.token) == (3, 2) and Send(3, Grant(0, 2)) in effects and Persist() in effects
    r = standby.on_message(standby.on_start()[0], 0, Elected(1), now=1)
    assert r is not None
    elected = r[0]
    assert elected.active and elected.grace == 1 + 5 and elected.token == 1
    assert standby.on_message(elected, 3, Request(1, 0), now=5) is None
    assert standby.on_message(elected, 3, Request(1, 0), now=6) is not None


@pytest.mark.parametrize("fencing", [True, False])
def test_the_storage_rejects_a_lower_token_only_with_fencing(fencing: bool) -> None:
    storage = Lease(fencing=fencing).node("storage")
    r = storage.on_message(StorageState(2, 2), 2, Write(1))
    assert (r is None) == fencing


LIVE = {"lease": 1, "margin": 0, "drift": 0, "max_time": 3}  # the smallest horizon with room() after a crash


def test_the_master_ignores_a_request_whose_grant_could_only_bring_a_lease_already_over() -> None:
    master = cast(Master, Lease(lease=2, drift=1).node("master"))
    free = MasterState(True, -1, 0, 0, 0)
    assert master.on_message(free, 2, Request(1, 0), now=4) is not None  # 1 + 2 > 4 - 2
    assert master.on_message(free, 2, Request(0, 0), now=4) is None  # 0 + 2 <= 4 - 2: over on every clock
    assert cast(Master, RegrantStale(lease=2, drift=1).node("master")).on_message(free, 2, Request(0, 0), now=4)


def test_with_crash_clients_only_clients_crash_and_they_stay_down() -> None:
    m = Lease(max_crashes=1, crash="clients")
    names = {repr(a) for a, _t in m.successors(m.initial_states()[0])}
    assert {"crash(node='c0')", "crash(node='c1')"} <= names
    assert not any(n.startswith(("crash(node='master'", "crash(node='storage'", "recover")) for n in names)
    anyone = Lease(max_crashes=1)
    assert "crash(node='master')" in {repr(a) for a, _t in anyone.successors(anyone.initial_states()[0])}
    with pytest.raises(ValueError, match="--crash"):
        Lease(crash="servers")


class _MuteClient(Client):
    def write(self, s: Any, now: int = 0) -> Any:
        return None


class _MuteLease(Lease):
    """The lease lock without writes: they read nothing ``another_acquires`` reads (a sixth of the graph)."""

    client_class = _MuteClient


def test_if_the_holder_crashes_a_client_that_keeps_asking_acquires() -> None:
    """CI's twin of the slow run below on the whole lock: the same liveness, without writes."""
    r = explore(_MuteLease(max_crashes=1, crash="clients", **LIVE), properties=["another_acquires"])
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.transitions) == (67860, 125952)
    assert r.stats.coverage["crash"] > 0 and r.stats.coverage["client.receive Grant"] > 0


@pytest.mark.slow
def test_if_the_holder_crashes_a_client_that_keeps_asking_and_writing_acquires() -> None:
    r = explore(Lease(max_crashes=1, crash="clients", **LIVE), properties=["another_acquires"])
    assert r.verdict == EXHAUSTED
    assert (r.stats.distinct_states, r.stats.transitions) == (415932, 1290584)
    assert r.stats.coverage["crash"] > 0 and r.stats.coverage["client.receive Grant"] > 0


class _MuteRegrantStale(RegrantStale):
    """Writes read nothing the lock's liveness reads; without them the graph is 4 times smaller."""

    client_class = _MuteClient


@pytest.mark.slow
def test_regrant_stale_the_master_regrants_the_crashed_holders_old_ask_and_the_other_client_starves() -> None:
    r = explore(_MuteRegrantStale(**LIVE), properties=["another_acquires"])
    assert r.verdict == VIOLATED and r.property == "another_acquires"
    assert r.path is not None and [repr(a) for a in r.path.actions] == [
        "request(node='c0')", "deliver(src='c0', dst='master', msg=Request(at=0, token=0))", "crash(node='c0')",
        "tick()", "tick()", "tick()", "request(node='c1')",
        "deliver(src='c0', dst='master', msg=Request(at=0, token=0))"]  # then stuck: no fair action enabled
