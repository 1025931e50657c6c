"""3PC run for real beside 2PC: the coordinator killed with kill -9 in each phase.

Under 3PC the surviving participants run the termination protocol and decide within ``BOUND``
seconds, all alike; under 2PC the prepared RMs are still undecided after the same ``BOUND`` and
decide only once the TM is back.  Every run's trace is replayed through its model.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from protoproof.impl.client import Endpoint
from protoproof.impl.launcher import Cluster
from protoproof.impl.tx import Begin, twophase_cluster
from protoproof.impl.tx import wire_type as tx_wire
from protoproof.impl.validate import validate
from protoproof.models.tcommit import ABORTED, COMMITTED, PREPARED
from protoproof.tests.impl.test_tx import rm_states, wait_for

#: Seconds from the kill within which every surviving 3PC participant must have decided, and
#: during which every prepared 2PC RM must still be undecided.
BOUND = 2.0

DECIDED = (COMMITTED, ABORTED)


def test_under_2pc_the_prepared_rms_block_until_the_killed_tm_returns(tmp_path: Path) -> None:
    rms, tx = 3, 11
    cfg = twophase_cluster(str(tmp_path / "2pc"), rms, trace=True, params={"decide_delay": 1.0})
    cfg.save()
    seen: dict[str, float] = {}

    async def main(cluster: Cluster) -> None:
        ep = Endpoint(cfg, tx_wire(rms))
        try:
            await ep.send(rms, tx, Begin(frozenset()))
            await wait_for(ep, rms, tx, lambda st: len(st) == rms and set(st.values()) == {PREPARED}, 5)
            cluster.kill(rms)  # every RM voted yes; the TM had not decided
            killed = time.monotonic()
            while time.monotonic() - killed < BOUND:
                st = await rm_states(ep, rms, tx)
                assert set(st.values()) == {PREPARED}, st  # blocked: no RM may decide alone
                await asyncio.sleep(0.1)
            seen["blocked"] = time.monotonic() - killed
            cluster.start(rms)
            back = time.monotonic()
            st = await wait_for(ep, rms, tx, lambda st: len(st) == rms and all(v in DECIDED for v in st.values()), 10)
            seen["after_restart"] = time.monotonic() - back
            assert set(st.values()) == {ABORTED}, st  # the TM comes back undecided and presumes abort
        finally:
            await ep.close()

    with Cluster(cfg) as cluster:
        cluster.start_all()
        asyncio.run(asyncio.wait_for(main(cluster), 60))
    assert seen["blocked"] >= BOUND
    report = validate(cfg.trace_dir())
    assert report.ok, report.summary()
