"""Benchmark of Paxos: explicit checking with and without symmetry, z3 proofs, the parameterized proof.

Run: ``.venv/bin/python -m protoproof.benchmarks.paxos`` or ``.venv/bin/python benchmarks/paxos.py``
(``--quick`` for a smaller sweep).  Every figure is measured in this run.  The proof is
``protoproof prove paxos --acceptors N --values V --max-ballot B``: agreement with the 7-conjunct
strengthening of ``proofs/paxos.py``, from the model's own transition functions.

Explicit checking: distinct states (orbits with symmetry over acceptors and values) and states/s for
growing ``max_ballot`` and acceptors, each configuration with and without ``--symmetry`` in the same run;
the ratio is the time without symmetry over the time with it.  "s on states" is the run without
symmetry on the checker's general path (``on_codes=False``), which symmetry also takes.

Targets (issue 4): agreement at 5 acceptors, 3 values, ballots 0..3 in under 60 s; the parameterized proof
in under 30 s.

``--part check`` (issue 17): the default check (agreement, value_chosen, the refinement of Consensus) in
fresh processes, with the refinement mapping and the properties evaluated on packed codes per the bits they
read (``checker/code_view.py``) and, in the same run, on decoded states (``code_views=False``): wall and
CPU seconds of the search (imports excluded), states/s, peak RSS and bytes per state = (peak RSS - the RSS
of a 73-state run) / states.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from protoproof.checker.bmc import bmc
from protoproof.checker.explore import explore
from protoproof.checker.induction import prove
from protoproof.models.paxos import Paxos
from protoproof.proofs.paxos import strengthening

FULL = [(3, 2, 1), (3, 2, 3), (3, 3, 3), (5, 2, 1), (5, 2, 3), (5, 3, 3)]
EXPLICIT_FULL = [(3, 2, 0), (3, 2, 1), (3, 3, 1), (4, 2, 1), (3, 2, 2)]
EXPLICIT_QUICK = [(3, 2, 0), (3, 2, 1), (4, 2, 1)]


def explicit(sizes: list[tuple[int, int, int]]) -> None:
    print("## Explicit checking, with and without symmetry over acceptors and values\n")
    print("| acceptors | values | ballots | distinct states | s | states/s | s on states | orbits | s (symmetry) "
          "| orbits/s | time ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n, v, b in sizes:
        plain = explore(Paxos(acceptors=n, values=v, max_ballot=b))
        general = explore(Paxos(acceptors=n, values=v, max_ballot=b), on_codes=False)
        sym = explore(Paxos(acceptors=n, values=v, max_ballot=b), symmetry=True)
        p, g, q = plain.stats, general.stats, sym.stats
        assert p.distinct_states == g.distinct_states and p.transitions == g.transitions
        print(f"| {n} | {v} | 0..{b} | {p.distinct_states:,} | {p.elapsed_s:.2f} | {p.states_per_s:,.0f} | "
              f"{g.elapsed_s:.2f} | {q.distinct_states:,} | {q.elapsed_s:.2f} | {q.states_per_s:,.0f} | "
              f"{p.elapsed_s / q.elapsed_s:.2f} |")
        sys.stdout.flush()
    print()


def parameterized() -> None:
    from protoproof.proofs.paxos_param import prove_paxos_param

    r = prove_paxos_param()
    print("## Parameterized proof (any number of acceptors, values, ballots)\n")
    print(f"{r.verdict}: {len(r.obligations)} z3 queries, {sum(o.seconds for o in r.obligations):.2f} s in the solver")
    print()
QUICK = [(3, 2, 1), (3, 3, 3), (5, 2, 2)]


def proofs(sizes: list[tuple[int, int, int]]) -> None:
    print("## Induction: Paxos agreement with the strengthening of proofs/paxos.py\n")
    print("| acceptors | values | ballots | action instances | build s | consecution s (sum) | max obligation s "
          "| total s | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, v, b in sizes:
        model = Paxos(acceptors=n, values=v, max_ballot=b)
        r = prove(model, strengthening(model))
        cons = [o.seconds for o in r.obligations if o.name.startswith("consecution")]
        print(f"| {n} | {v} | 0..{b} | {len(cons)} | {r.build_s:.2f} | {sum(cons):.2f} | {max(cons):.3f} | "
              f"{r.elapsed_s:.2f} | {r.verdict} |")
        sys.stdout.flush()
    print()


def bmcs() -> None:
    print("## BMC, planted bugs (3 acceptors, 2 values, ballots 0..1): depth of the shortest violation\n")
    print("| variant | verdict | depth | build s | total s |")
    print("|---|---|---|---|---|")
    for variant in ("minority-quorums", "propose-twice", "ignore-votes", "accept-below-promise"):
        r = bmc(Paxos(acceptors=3, values=2, max_ballot=1).with_variant(variant), 12)
        print(f"| {variant} | {r.verdict} | {r.depth_reached} | {r.build_s:.2f} | {r.elapsed_s:.2f} |")
        sys.stdout.flush()
    print()


_CHILD = """
import json, resource, sys, time
from protoproof.checker.explore import explore
from protoproof.models.paxos import Paxos
n, v, b, views = json.loads(sys.argv[1])
t, u0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
r = explore(Paxos(acceptors=n, values=v, max_ballot=b), code_views=views)
u = resource.getrusage(resource.RUSAGE_SELF)
cpu = u.ru_utime + u.ru_stime - u0.ru_utime - u0.ru_stime
print(json.dumps({"states": r.stats.distinct_states, "transitions": r.stats.transitions, "verdict": r.verdict,
                  "wall": time.perf_counter() - t, "cpu": cpu, "rss": u.ru_maxrss * 1024}))
"""


def _child(n: int, v: int, b: int, views: bool) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([n, v, b, views])], capture_output=True,
                         text=True, check=True)
    got: dict[str, float] = json.loads(out.stdout)
    return got


def check(sizes: list[tuple[int, int, int]]) -> None:
    print("## The default check on codes and on decoded states (fresh processes, same run)\n")
    base = _child(3, 2, 0, True)["rss"]
    print(f"baseline: the RSS of a {3}-acceptor, ballots 0..0 run is {base / 2**20:.0f} MiB\n")
    print("| acceptors | values | ballots | states | checks on | verdict | wall s | CPU s | states/s (CPU) "
          "| peak RSS MiB | bytes/state | CPU × on states |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, v, b in sizes:
        rows = [(what, _child(n, v, b, views)) for what, views in (("codes", True), ("states", False))]
        ref = rows[1][1]["cpu"]
        for what, r in rows:
            per = (r["rss"] - base) / r["states"]
            print(f"| {n} | {v} | 0..{b} | {r['states']:,} | {what} | {r['verdict']} | {r['wall']:.1f} | "
                  f"{r['cpu']:.1f} | {r['states'] / r['cpu']:,.0f} | {r['rss'] / 2**20:.0f} | {per:,.0f} | "
                  f"{r['cpu'] / ref:.2f} |")
            sys.stdout.flush()
    print()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="a smaller sweep")
    ap.add_argument("--part", choices=["all", "explicit", "check", "proofs", "bmc", "parameterized"], default="all",
                    help="run one part only")
    args = ap.parse_args(argv)
    if args.part in ("all", "explicit"):
        explicit(EXPLICIT_QUICK if args.quick else EXPLICIT_FULL)
    if args.part in ("all", "check"):
        check([(3, 2, 1)] if args.quick else [(3, 2, 1), (3, 2, 2)])
    if args.part in ("all", "proofs"):
        proofs(QUICK if args.quick else FULL)
    if args.part in ("all", "bmc"):
        bmcs()
    if args.part in ("all", "parameterized"):
        parameterized()


if __name__ == "__main__":
    main()
