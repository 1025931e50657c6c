"""Benchmark of the z3 backend on 2PC: build, proof, BMC per depth, path counts (twin vs forking).

Run: ``.venv/bin/python -m protoproof.benchmarks.symbolic`` or ``.venv/bin/python benchmarks/symbolic.py``
(``--quick`` for a smaller sweep).  Every figure is measured in this run; the forking path counts
are the baseline the twin is compared against, and the explicit checker's state count at 3 RMs
is printed next to the conformance run that uses it.

``prove --symmetry`` is compared with plain ``prove`` on the same instances in the same run.

Targets (issue 3): atomicity proved at 10 RMs in under 5 s in total; BMC to depth 10 at 7 RMs
in under 10 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from typing import Any

from protoproof.checker.bmc import bmc
from protoproof.checker.conformance import conform
from protoproof.checker.induction import prove
from protoproof.checker.symbolic import SymbolicModel
from protoproof.models.base import Model
from protoproof.models.raft import Raft
from protoproof.models.twophase import TwoPhase
from protoproof.proofs import strengthening_for


def _family(name: str) -> str:
    """``deliver(src='tm', dst='rm0', msg=Commit())`` -> ``deliver Commit``."""
    head = name.split("(")[0]
    if head == "deliver":
        return "deliver " + name.split("msg=")[1].split("(")[0]
    return head


def proofs(sizes: list[int]) -> None:
    print("## Induction: 2PC atomicity with the 7-conjunct strengthening (proofs/twophase.py)\n")
    print("| RMs | actions | build s | init s | consecution s (sum) | max obligation s | inv=>safety s "
          "| total s | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        r = prove(TwoPhase(rms=n), strengthening_for(TwoPhase(rms=n)))
        cons = [o.seconds for o in r.obligations if o.name.startswith("consecution")]
        init = next(o.seconds for o in r.obligations if o.name == "init => inv")
        safe = next(o.seconds for o in r.obligations if o.name == "inv => safety")
        print(f"| {n} | {len(cons)} | {r.build_s:.3f} | {init:.4f} | {sum(cons):.3f} | {max(cons):.4f} | "
              f"{safe:.4f} | {r.elapsed_s:.3f} | {r.verdict} |")
        sys.stdout.flush()
    print()


SYMMETRIC: list[tuple[str, Model[Any]]] = [
    ("2PC, 6 RMs", TwoPhase(rms=6)),
    ("Raft, 2 servers, 2 values, terms 1..2, logs of 1", Raft(servers=2, values=2, max_term=2, max_log=1)),
]


def symmetric(cases: list[tuple[str, Model[Any]]]) -> None:
    """``prove`` and ``prove --symmetry`` on the same instance, in this run: queries asked, time, ratio."""
    print("## Induction up to symmetry (`prove --symmetry`): one consecution query per orbit of actions\n")
    print("| instance | actions (asked plain) | asked (symmetry) | plain s | symmetry s | plain / symmetry "
          "| verdicts |")
    print("|---|---|---|---|---|---|---|")
    for label, model in cases:
        conj = strengthening_for(model) or []
        plain, sym = prove(model, conj), prove(model, conj, symmetry=True)

        def asked(r: Any) -> int:
            return sum(1 for o in r.obligations
                       if o.name.startswith("consecution") and not o.name.endswith("enables it"))

        print(f"| {label} | {asked(plain)} | {asked(sym)} | {plain.elapsed_s:.1f} | "
              f"{sym.elapsed_s:.1f} | {plain.elapsed_s / sym.elapsed_s:.2f}x | {plain.verdict} / {sym.verdict} |")
        sys.stdout.flush()
    print()


def bmcs(cases: list[tuple[int, int]]) -> None:
    print("## BMC, correct 2PC (no violation expected): seconds per depth\n")
    for n, depth in cases:
        r = bmc(TwoPhase(rms=n), depth)
        per = " ".join(f"{t:.3f}" for t in r.per_depth_s)
        print(f"- {n} RMs, depth {depth}: {r.verdict}; build {r.build_s:.3f} s, total {r.elapsed_s:.3f} s; "
              f"per depth 0..{depth}: {per}")
        sys.stdout.flush()
    print("\n## BMC, planted bugs: depth of the shortest violation\n")
    for variant, sizes in (("commit-without-votes", (3, 7)), ("commit-on-majority", (3, 5))):
        for n in sizes:
            r = bmc(TwoPhase(rms=n).with_variant(variant), 12)
            print(f"- {variant}, {n} RMs: {r.verdict} {r.property} at depth {r.depth_reached} in {r.elapsed_s:.3f} s")
    print()


def paths(sizes: list[int]) -> None:
    print("## Paths per action instance: twin vs forking (the baseline), max over each family\n")
    rows: dict[str, dict[tuple[int, bool], int]] = defaultdict(dict)
    builds: dict[tuple[int, bool], float] = {}
    for n in sizes:
        for tw in (True, False):
            t0 = time.perf_counter()
            sm = SymbolicModel(TwoPhase(rms=n), use_twin=tw)
            builds[(n, tw)] = time.perf_counter() - t0
            for name, c in sm.path_counts().items():
                fam = _family(name)
                rows[fam][(n, tw)] = max(c, rows[fam].get((n, tw), 0))
    cols = [(n, tw) for n in sizes for tw in (True, False)]
    print("| action | " + " | ".join(f"{n} RMs {'twin' if tw else 'fork'}" for n, tw in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for fam, d in rows.items():
        print(f"| {fam} | " + " | ".join(str(d[c]) for c in cols) + " |")
    print("| relation build s | " + " | ".join(f"{builds[c]:.3f}" for c in cols) + " |")
    print()


def conformance(n: int, random_states: int) -> None:
    print(f"## Conformance at {n} RMs\n")
    r = conform(TwoPhase(rms=n), random_states=random_states)
    per = r.elapsed_s / max(r.checks, 1) * 1000
    eq = sum(t.result == "equivalent" for t in r.twins)
    print(f"- {r.checks} (state, action) checks over {r.reachable_states} reachable (the explicit checker's count) "
          f"and {r.random_states} random states: {len(r.mismatches)} mismatches, {r.elapsed_s:.2f} s "
          f"({per:.2f} ms per check); {eq}/{len(r.twins)} twins z3-equivalent to their forking versions")
    print()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smaller sweep")
    ap.add_argument("--symmetry", action="store_true", help="only prove against prove --symmetry (2PC, Raft)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    if a.symmetry:
        symmetric(SYMMETRIC)
    elif a.quick:
        paths([3, 6])
        proofs([3, 5, 10])
        symmetric([("2PC, 6 RMs", TwoPhase(rms=6))])
        bmcs([(3, 8), (7, 10)])
        conformance(2, 200)
    else:
        paths([3, 6, 10])
        proofs(list(range(3, 13)))
        symmetric(SYMMETRIC)
        bmcs([(3, 12), (5, 12), (7, 10)])
        conformance(3, 1000)
    print(f"(benchmark total {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
