"""The mutation score: how many planted mistakes in 2PC and Paxos the engines catch.

Run: ``python benchmarks/mutants.py`` (every engine at full depth; several minutes) or
``--fast`` (every engine, bmc only where it is cheap; CI runs fewer:
``CI_ENGINES`` in ``tests/mutation/test_mutants.py``); ``--ignore-caps`` unrolls bmc on z3 to every
bug's depth, beyond the per-mutant caps where CaDiCaL otherwise takes over (tens of minutes).
``--only NAME`` (repeatable) runs the named mutants only.  Prints one row per mutant and engine
(``tests/mutation/catalogue.py`` says what each mutant changes and ``tests/mutation/runner.py``
what counts as a catch), the mutants that escape and through which engine, the bmc runs not
taken to the bug's depth, the benign mutants, and ``mutation score: K/N caught (P%)``.  Exit
status 0 only at 100% with every benign mutant proved; 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time

from protoproof.tests.mutation.catalogue import BENIGN, ENGINES, MUTANTS
from protoproof.tests.mutation.runner import (
    benign_table,
    run_benign,
    run_mutant,
    score,
    table,
    vacuous_proofs,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--fast", action="store_true", help="bmc only where Mutant.bmc_in_ci")
    ap.add_argument("--ignore-caps", action="store_true",
                    help="unroll bmc on z3 to every bug's depth, where CaDiCaL takes over beyond the mutants' caps "
                         "(tens of minutes)")
    ap.add_argument("--only", action="append", default=[], help="run only this mutant (repeatable)")
    args = ap.parse_args(argv)
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    benign = [b for b in BENIGN if not args.only or b.name in args.only]
    unknown = set(args.only) - {m.name for m in MUTANTS} - {b.name for b in BENIGN}
    if unknown:
        print(f"mutants: unknown mutant {sorted(unknown)[0]!r}; see tests/mutation/catalogue.py", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    results = []
    for m in mutants:
        r = run_mutant(m, ENGINES, full_bmc=not args.fast, ignore_caps=args.ignore_caps)
        results.append(r)
        print(f"  {m.name}: {'caught' if r.caught else 'ESCAPES'} "
              f"({sum(c.seconds for c in r.cells.values()):.1f}s)", file=sys.stderr, flush=True)
    benign_results = [run_benign(b) for b in benign]
    elapsed = time.perf_counter() - t0

    print("## Mutants\n")
    print("\n".join(table(results)))
    escaped = [r for r in results if not r.caught]
    if escaped:
        print("\nEscapes (mutant: engine that let it through):")
        for r in escaped:
            why = ", ".join(f"{c.engine} ({c.verdict}{': ' + c.detail if c.detail else ''})" for c in r.escapes)
            print(f"- {r.mutant.name}: {why or 'check found no violation'}")
    capped = [(r, c) for r in results for c in r.capped]
    if capped:
        print("\nbmc not run (check gave it no depth; neither a catch nor an escape):")
        for r, c in capped:
            print(f"- {r.mutant.name}: {c.detail}")
    vac = vacuous_proofs(results)
    if vac:
        print("\nprove catches that are vacuous (the unmutated model is not proved at that configuration either):")
        for name, why in vac:
            print(f"- {name}: {why}")
    print("\n## Benign mutants (must be exhausted and proved)\n")
    print("\n".join(benign_table(benign_results)))
    for b in benign_results:
        for c in b.cells.values():
            if c.outcome not in ("ok",):
                print(f"- {b.benign.name}, {c.engine}: {c.outcome} ({c.verdict}) {c.detail}".rstrip())
    k, n = score(results)
    pct = 100.0 * k / n if n else 100.0
    benign_ok = sum(1 for b in benign_results if b.ok)
    print(f"\nmutation score: {k}/{n} caught ({pct:.0f}%)")
    print(f"benign mutants: {benign_ok}/{len(benign_results)} proved without a false alarm")
    print(f"elapsed: {elapsed:.1f}s{' (fast subset)' if args.fast else ''}")
    return 0 if k == n and benign_ok == len(benign_results) else 1


if __name__ == "__main__":
    sys.exit(main())
