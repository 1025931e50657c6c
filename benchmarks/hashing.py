"""Balance, movement and lookup time of the ring, beside jump hash, rendezvous and hash mod N.

    python benchmarks/hashing.py [--keys 40000] [--plot out/hashing.png | --no-plot]

- balance: for 10 and 100 nodes and 10, 100, 1,000 virtual nodes per node, the most loaded
  node's load over the mean, and the standard deviation over the mean, both of the exact share of
  the ring each node owns (``Ring.shares``: no sampling) and of ``--keys`` sampled keys; the
  sampled figures include sampling noise, whose floor (a perfectly balanced hash) is about
  ``sqrt(nodes / keys)`` for the deviation, printed alongside.  Jump hash, rendezvous and mod N
  have no virtual nodes: their rows are sampled only.
- movement: the fraction of keys whose owner changes when one node joins (ideal 1/(n+1)) and
  when one leaves (ideal 1/n).  Jump hash can only remove its last bucket; that is its leave.
- lookup: nanoseconds per ``owner(key)`` (hash included) and per ``owner_at(position)``.
- the plot (``--plot``, needs matplotlib: ``pip install 'protoproof[bench]'``): the ring's
  max/mean share against virtual nodes per node, for 10 and 100 nodes.

The machine may be shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from protoproof.models.hashring import Ring, position
from protoproof.models.hashring_baselines import JumpHash, ModNRing, Rendezvous

NODE_COUNTS = (10, 100)
VNODES = (10, 100, 1000)
PLOT_VNODES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def names(n: int) -> list[str]:
    return [f"node-{i}" for i in range(n)]


def spread(loads: Sequence[float]) -> tuple[float, float]:
    """(max / mean, standard deviation / mean) of per-node loads."""
    mean = statistics.fmean(loads)
    return max(loads) / mean, statistics.pstdev(loads) / mean


def sampled(owner_at: Callable[[int], Any], nodes: Sequence[str], positions: Sequence[int]) -> tuple[float, float]:
    counts = Counter(owner_at(p) for p in positions)
    return spread([counts.get(n, 0) for n in nodes])


def moved(before: Sequence[Any], after: Callable[[int], Any], positions: Sequence[int]) -> float:
    return sum(b != after(p) for b, p in zip(before, positions, strict=True)) / len(positions)


def per_lookup_ns(fn: Callable[[Any], Any], args: Sequence[Any]) -> float:
    t0 = time.perf_counter()
    for a in args:
        fn(a)
    return (time.perf_counter() - t0) / len(args) * 1e9


def balance(positions: Sequence[int]) -> list[str]:
    rows = [f"{'scheme':<24}{'nodes':>6}{'vnodes':>8}{'max/mean':>10}{'sd/mean':>9}{'keys max/mean':>15}"
            f"{'keys sd/mean':>14}{'floor sd':>10}"]
    for n in NODE_COUNTS:
        floor = (n / len(positions)) ** 0.5
        for v in VNODES:
            ring = Ring.of(names(n), vnodes=v)
            exact = spread(list(ring.shares().values()))
            keys = sampled(ring.owner_at, ring.nodes, positions)
            rows.append(f"{'ring':<24}{n:>6}{v:>8}{exact[0]:>10.3f}{exact[1]:>9.3f}{keys[0]:>15.3f}{keys[1]:>14.3f}"
                        f"{floor:>10.3f}")
        for label, scheme in (("jump", JumpHash(tuple(names(n)))), ("rendezvous", Rendezvous(tuple(names(n)))),
                              ("mod N", ModNRing.of(names(n), vnodes=1))):
            keys = sampled(scheme.owner_at, names(n), positions)
            rows.append(f"{label:<24}{n:>6}{'-':>8}{'-':>10}{'-':>9}{keys[0]:>15.3f}{keys[1]:>14.3f}{floor:>10.3f}")
    return rows


def movement(positions: Sequence[int], vnodes: int = 100) -> list[str]:
    rows = [f"{'scheme':<24}{'nodes':>6}{'join moved':>12}{'ideal':>8}{'leave moved':>13}{'ideal':>8}"]
    for n in NODE_COUNTS:
        base, new = names(n), f"node-{n}"
        schemes: list[tuple[str, Any]] = [
            (f"ring ({vnodes} vnodes)", Ring.of(base, vnodes=vnodes)), ("jump", JumpHash(tuple(base))),
            ("rendezvous", Rendezvous(tuple(base))), ("mod N", ModNRing.of(base, vnodes=1))]
        for label, s in schemes:
            owners = [s.owner_at(p) for p in positions]
            join = moved(owners, s.add(new).owner_at, positions)
            leaver = base[-1] if label == "jump" else base[n // 2]
            leave = moved(owners, s.remove(leaver).owner_at, positions)
            rows.append(f"{label:<24}{n:>6}{join:>12.4f}{1 / (n + 1):>8.4f}{leave:>13.4f}{1 / n:>8.4f}")
    return rows


def lookups(keys: Sequence[str], n: int = 100, vnodes: int = 100) -> list[str]:
    positions = [position(k) for k in keys]
    rows = [f"{'operation':<52}{'ns/lookup':>10}",
            f"{'blake2b position of a key (the hash alone)':<52}{per_lookup_ns(position, keys):>10.0f}"]
    ring = Ring.of(names(n), vnodes=vnodes)
    for label, scheme in ((f"ring, {n} nodes x {vnodes} vnodes", ring), (f"jump, {n} nodes", JumpHash(tuple(names(n)))),
                          (f"rendezvous, {n} nodes", Rendezvous(tuple(names(n)))),
                          (f"mod N, {n} nodes", ModNRing.of(names(n), vnodes=1))):
        rows.append(f"{label + ': owner(key)':<52}{per_lookup_ns(scheme.owner, keys):>10.0f}")
        rows.append(f"{label + ': owner_at(position)':<52}{per_lookup_ns(scheme.owner_at, positions):>10.0f}")
    rows.append(f"{'ring: preference_list(key, 3)':<52}"
                f"{per_lookup_ns(lambda k: ring.preference_list(k, 3), keys):>10.0f}")
    return rows


def plot(path: Path) -> str:
    """The ring's max/mean share against virtual nodes per node; a line saying what was done."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return (f"plot: not written ({path}): matplotlib is not installed; pip install 'protoproof[bench]' "
                "(or pip install matplotlib), or pass --no-plot")
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for n in NODE_COUNTS:
        ys = [spread(list(Ring.of(names(n), vnodes=v).shares().values()))[0] for v in PLOT_VNODES]
        ax.plot(PLOT_VNODES, ys, marker="o", label=f"{n} nodes")
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    ax.set_xlabel("virtual nodes per node")
    ax.set_ylabel("max / mean share of the ring")
    ax.set_title("Consistent-hashing ring: load imbalance against virtual nodes")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return f"plot: {path}"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--keys", type=int, default=40_000, help="sampled keys (default 40000)")
    p.add_argument("--plot", type=Path, default=Path("out/hashing.png"), help="PNG path (default out/hashing.png)")
    p.add_argument("--no-plot", action="store_true", help="skip the plot")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    keys = [f"key-{i}" for i in range(args.keys)]
    positions = [position(k) for k in keys]
    print(f"# {args.keys:,} keys; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for title, rows in (("balance", balance(positions)), ("movement", movement(positions)),
                        ("lookup", lookups(keys[:20_000]))):
        print(f"\n## {title}")
        print("\n".join(rows), flush=True)
    if not args.no_plot:
        print("\n" + plot(args.plot))
    print(f"\n# {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
