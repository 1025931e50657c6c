"""--ray: the partitioned search on a Ray cluster (a local one, started by the test) counts the same.

Ray is the optional extra ``protoproof[ray]``; ``scripts/setup.sh`` installs it with the test tools.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import ray

from protoproof.checker.explore import Options, explore
from protoproof.checker.parallel import Scale
from protoproof.models.registry import protocol_for


def test_ray_actors_give_the_counts_depth_and_verdicts_of_the_ordinary_search() -> None:
    assert not ray.is_initialized()
    # CI-sized: an exhausted search and a violated one (the two ways a result is compared below)
    twophase = protocol_for("twophase").model_class()(rms=3)
    paxos = protocol_for("paxos").model_class()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # a local cluster of 2 CPUs
    try:
        for m in [twophase, paxos.variants_of()["ignore-votes"]()]:
            whole = explore(m)
            r = explore(m, Options(scale=Scale(workers=2, ray="auto")))
            assert "2 Ray actors" in r.engine
            a, b = r.stats, whole.stats
            if whole.verdict == "violated":  # whole levels are completed: compare with the in-process worker
                p = explore(m, Options(scale=Scale(workers=1))).stats
                assert (a.distinct_states, a.transitions) == (p.distinct_states, p.transitions)
                assert r.path is not None and whole.path is not None
                assert len(r.path.actions) == len(whole.path.actions)
            else:
                assert (a.distinct_states, a.transitions, a.coverage) == (b.distinct_states, b.transitions, b.coverage)
            assert (r.verdict, r.property, a.depth) == (whole.verdict, whole.property, b.depth)
        assert ray.is_initialized()  # a cluster the run did not start is left running
    finally:
        ray.shutdown()


def test_ray_local_from_the_cli_starts_and_stops_its_own_instance() -> None:
    def run(*extra: str) -> dict[str, Any]:
        p = subprocess.run([sys.executable, "-m", "protoproof", "check", "twophase", "--rms", "3", "--json", "--quiet",
                            *extra], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        d: dict[str, Any] = json.loads(p.stdout)
        return d

    on_ray, plain = run("--ray", "local", "--workers", "2"), run()
    assert "2 Ray actors" in on_ray["engine"]
    for k in ("verdict", "distinct_states", "transitions", "depth", "coverage"):
        assert on_ray[k] == plain[k], k
