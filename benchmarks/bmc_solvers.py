"""Benchmark: ``bmc`` on z3 against ``bmc --solver cadical``, the same cases in the same run.

Run: ``.venv/bin/python benchmarks/bmc_solvers.py`` (``--quick``: the cases under a minute; without
it, Raft's 18-step bugs too, several minutes; ``--deep`` adds the mutation suite's Paxos mutant whose
vote is not persisted across a crash, depth 14, where z3 took 562 s).  For each case both solvers unroll to the same
depth; the table prints each one's verdict, depth, wall and CPU seconds and peak memory of the
process so far, and the ratio z3 / CaDiCaL of CPU seconds (z3 is the baseline).  A case whose
verdicts differ is printed as a MISMATCH and the exit status is 1: the two must agree.

``--one-query`` compares, on CaDiCaL, depth-by-depth BMC (the baseline) with ``bmc --one-query`` (every
step unrolled, one query for any depth) on the same cases: the verdicts must agree (the depths may
not: the one query's path is not proved shortest), and the ratio is depth-by-depth / one-query CPU.

``--slices`` compares, on CaDiCaL, calls of a fixed 20,000 conflicts (the baseline: how ``bmc`` called
CaDiCaL before each call was sized to take about a second, so that a signal need not wait minutes) with
the sized calls: the verdicts and depths must agree, and the ratio is fixed / sized CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from protoproof.checker.bmc import bmc
from protoproof.checker.bmc_sat import Unrolled
from protoproof.models.base import Model
from protoproof.models.paxos import Paxos
from protoproof.models.raft import Raft
from protoproof.models.twophase import TwoPhase


def _variant(model: type[Model[Any]], variant: str) -> Model[Any]:
    cls = model.variants_of()[variant]
    return cls(**cls.variant_defaults)


def _raft(variant: str) -> Model[Any]:
    return _variant(Raft, variant)


def _mutant(name: str) -> Model[Any]:
    from protoproof.tests.mutation.catalogue import MUTANTS

    return next(m for m in MUTANTS if m.name == name).build()


QUICK, FULL, DEEP = 0, 1, 2
#: (name, model, depth, properties, tier)
CASES: list[tuple[str, Callable[[], Model[Any]], int, list[str] | None, int]] = [
    ("2pc commit-on-majority (3 RMs)", lambda: TwoPhase(rms=3).with_variant("commit-on-majority"), 9, None, QUICK),
    ("2pc correct (5 RMs)", lambda: TwoPhase(rms=5), 12, None, QUICK),
    ("paxos minority-quorums", lambda: Paxos.variants_of()["minority-quorums"](), 10, None, QUICK),
    ("paxos correct, ballots 0..2", lambda: Paxos(max_ballot=2), 13, None, QUICK),
    ("paxos volatile-acceptor (1 crash)", lambda: _variant(Paxos, "volatile-acceptor"), 15, None, QUICK),
    ("raft stale-leader", lambda: _raft("stale-leader"), 18, ["election_safety"], FULL),
    ("raft volatile-vote", lambda: _raft("volatile-vote"), 18, ["election_safety"], FULL),
    ("paxos mutant: vote not persisted (1 crash)", lambda: _mutant("acceptor-vote-not-persisted"), 14,
     ["agreement"], FULL),
    ("paxos mutant: leader takes the lowest vote (ballots 0..2)", lambda: _mutant("leader-picks-lowest-vote"), 17,
     ["agreement"], DEEP),
]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@contextlib.contextmanager
def _fixed_slices(conflicts: int = 20_000) -> Iterator[None]:
    """Every call into CaDiCaL ``conflicts`` long: the bounds of ``Unrolled.next_budget`` pinned to it."""
    saved = Unrolled.SLICE, Unrolled.SLICE_MIN, Unrolled.SLICE_MAX
    Unrolled.SLICE = Unrolled.SLICE_MIN = Unrolled.SLICE_MAX = conflicts
    try:
        yield
    finally:
        Unrolled.SLICE, Unrolled.SLICE_MIN, Unrolled.SLICE_MAX = saved


def _run(model: Model[Any], depth: int, props: list[str] | None, solver: str,
         one_query: bool = False) -> tuple[str, float, float]:
    w0, c0 = time.perf_counter(), _cpu()
    r = bmc(model, depth, props, solver=solver, one_query=one_query)
    at = f"{r.verdict} at {r.depth_reached}"
    return at, time.perf_counter() - w0, _cpu() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the cases that take under a minute")
    ap.add_argument("--deep", action="store_true", help="also the mutant where z3 takes about ten minutes")
    ap.add_argument("--only", help="only the cases whose name contains this text")
    ap.add_argument("--one-query", action="store_true",
                    help="CaDiCaL depth by depth (baseline) against CaDiCaL with --one-query")
    ap.add_argument("--slices", action="store_true",
                    help="CaDiCaL in calls of 20,000 conflicts (baseline) against calls sized to a second")
    args = ap.parse_args(argv)
    if args.one_query and args.slices:
        ap.error("--one-query and --slices are two different comparisons: give one")
    if args.slices:
        print("| case | depth | fixed: verdict | fixed wall s | fixed CPU s | sized: verdict "
              "| sized wall s | sized CPU s | CPU fixed / sized | peak RSS MB |")
    elif args.one_query:
        print("| case | depth | by depth: verdict | by depth wall s | by depth CPU s | one query: verdict "
              "| one query wall s | one query CPU s | CPU by depth / one query | peak RSS MB |")
    else:
        print("| case | depth | z3: verdict | z3 wall s | z3 CPU s | CaDiCaL: verdict | CaDiCaL wall s "
              "| CaDiCaL CPU s | CPU z3 / CaDiCaL | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    bad = 0
    tier = QUICK if args.quick else DEEP if args.deep else FULL
    for name, build, depth, props, case_tier in CASES:
        if case_tier > tier or (args.only and args.only not in name):
            continue
        if args.slices:
            with _fixed_slices():
                z = _run(build(), depth, props, "cadical")
            c = _run(build(), depth, props, "cadical")
            same = z[0] == c[0]
        elif args.one_query:
            z = _run(build(), depth, props, "cadical")
            c = _run(build(), depth, props, "cadical", one_query=True)
            same = z[0].split()[0] == c[0].split()[0]  # the verdict; a one query's depth may be longer
        else:
            z = _run(build(), depth, props, "z3")
            c = _run(build(), depth, props, "cadical")
            same = z[0] == c[0]
        mark = "" if same else " MISMATCH"
        bad += bool(mark)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"| {name}{mark} | {depth} | {z[0]} | {z[1]:.1f} | {z[2]:.1f} | {c[0]} | {c[1]:.1f} | {c[2]:.1f} "
              f"| {z[2] / max(c[2], 1e-9):.2f} | {rss:.0f} |")
        sys.stdout.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
