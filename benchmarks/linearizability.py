"""The linearizability checker on porcupine's own test histories, against porcupine's figure.

    .venv/bin/python benchmarks/linearizability.py [--repeat 3]

Checks every history of tests/data/porcupine (102 etcd Jepsen logs on a compare-and-set register,
6 key-value histories partitioned by key) and prints, per set, the verdicts against porcupine's,
the configurations searched and the best wall-clock and CPU time of ``--repeat`` runs, then the
slowest histories.  On a shared machine the CPU time is the steadier figure.
The baseline is porcupine's (Go) total for the etcd set as measured on this machine when the
issue was filed, about 0.8 s: a stated figure, not re-measured here (no Go toolchain needed).
Verdicts only: no counterexample is computed (``explain=False``), as porcupine's check does not
compute its visualization either.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from protoproof.impl.lincheck import KV, CasRegister, Operation, Sequential, check, read_jepsen_etcd, read_jepsen_kv

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "porcupine"
PORCUPINE_ETCD_SECONDS = 0.8


def histories() -> dict[str, tuple[Sequential, list[Operation], str]]:
    expected = dict(line.split() for line in (DATA / "expected.txt").read_text().splitlines())
    out: dict[str, tuple[Sequential, list[Operation], str]] = {}
    for name, verdict in expected.items():
        if name.startswith("etcd"):
            out[name] = (CasRegister(), read_jepsen_etcd(DATA / "jepsen" / f"{name}.log"), verdict)
        else:
            out[name] = (KV(""), read_jepsen_kv(DATA / "kv" / f"{name}.txt"), verdict)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per history; the best time counts")
    args = ap.parse_args()
    t, c = time.perf_counter(), time.process_time()
    hs = histories()
    read = (time.perf_counter() - t, time.process_time() - c)
    best: dict[str, float] = {}
    cpu: dict[str, float] = {}
    states: dict[str, int] = {}
    wrong = []
    for name, (spec, ops, verdict) in hs.items():
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            r = check(spec, ops, explain=False)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
            cpu[name] = min(cpu.get(name, float("inf")), time.process_time() - c)
        states[name] = r.explored
        if r.verdict != verdict:
            wrong.append(f"{name}: {r.verdict}, porcupine says {verdict}")
    sets = {"etcd ok": lambda n, v: n.startswith("etcd") and v == "ok",
            "etcd illegal": lambda n, v: n.startswith("etcd") and v != "ok",
            "kv ok": lambda n, v: not n.startswith("etcd") and v == "ok",
            "kv illegal": lambda n, v: not n.startswith("etcd") and v != "ok"}
    print(f"{'set':<14}{'histories':>10}{'operations':>12}{'configurations':>16}{'seconds':>10}{'cpu s':>8}")
    for label, member in sets.items():
        names = [n for n, (_s, _o, v) in hs.items() if member(n, v)]
        print(f"{label:<14}{len(names):>10}{sum(len(hs[n][1]) for n in names):>12}"
              f"{sum(states[n] for n in names):>16}{sum(best[n] for n in names):>10.3f}"
              f"{sum(cpu[n] for n in names):>8.3f}")
    etcd = sum(t for n, t in best.items() if n.startswith("etcd"))
    etcd_cpu = sum(t for n, t in cpu.items() if n.startswith("etcd"))
    print(f"etcd total {etcd:.3f} s ({etcd_cpu:.3f} s of CPU); porcupine (Go, stated figure) "
          f"{PORCUPINE_ETCD_SECONDS} s: ratio {etcd / PORCUPINE_ETCD_SECONDS:.2f} "
          f"({etcd_cpu / PORCUPINE_ETCD_SECONDS:.2f} by CPU time)")
    print(f"reading all the histories (not counted above): {read[0]:.3f} s ({read[1]:.3f} s of CPU)")
    print("slowest: " + ", ".join(f"{n} {best[n]:.3f} s ({states[n]} configurations)"
                                  for n in sorted(best, key=best.__getitem__, reverse=True)[:5]))
    print("verdicts: all as porcupine's" if not wrong else "VERDICTS DIFFER: " + "; ".join(wrong))


if __name__ == "__main__":
    main()
