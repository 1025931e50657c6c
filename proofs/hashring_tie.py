"""The tie of the ring's z3 encoding (``hashring.py``) to the Python ring the model checks.

The encoding describes the lookup by distances; the Python ring walks a sorted token list. On
every ``prove``, seeded random placements are drawn in three kinds — 64-bit positions (no ties),
positions in ``0..7`` (ties between tokens and with the key) and positions at the wrap
(``2**64 - 4 .. 3``) — with a random non-empty membership and keys at random positions, at a
token and next to one.  For each, z3 evaluates the encoded preference lists (of 1, R and R+1
nodes) and every statement on those values, and they must equal the model's ring class's
``preference_at`` and the model's own statement functions (``python_holds``).  A placement is
a sample, not a proof that the two agree; the proof is about the encoding, and this is what makes
its verdict speak about the Python ring.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ..models.hashring import RING_SIZE
from ..models.hashring_model import HashRing
from .hashring import BITS, STATEMENTS, Encoding, Vars, instances, python_holds

KINDS = ("wide", "ties", "wrap")


@dataclass
class TieResult:
    ring_class: str
    source: str
    encoding: str
    samples: int = 0
    compared: int = 0
    mismatches: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.compared > 0 and not self.mismatches

    @property
    def failure(self) -> str:
        return self.mismatches[0] if self.mismatches else "nothing was compared"

    def to_lines(self) -> list[str]:
        lines = [f"  tie: ring {self.ring_class} ({self.source}) against the encoding {self.encoding}: "
                 f"{'ok' if self.ok else 'FAILED'}, {self.samples} placements and keys ({', '.join(KINDS)}), "
                 f"{self.compared:,} values compared, {len(self.mismatches)} mismatches, {self.elapsed_s:.1f}s"]
        return lines + [f"    MISMATCH {m}" for m in self.mismatches[:5]]

    def to_json(self) -> dict[str, Any]:
        return {"ring_class": self.ring_class, "source": self.source, "encoding": self.encoding, "ok": self.ok,
                "samples": self.samples, "compared": self.compared, "mismatches": len(self.mismatches),
                "first_mismatches": self.mismatches[:5], "elapsed_s": round(self.elapsed_s, 6)}


def _position(rng: random.Random, kind: str) -> int:
    if kind == "wide":
        return rng.randrange(RING_SIZE)
    if kind == "ties":
        return rng.randrange(8)
    return (rng.randrange(8) - 4) % RING_SIZE


def placements(model: HashRing, count: int, seed: int) -> list[tuple[list[int], list[bool], int]]:
    """``count`` seeded (tokens, membership, key) samples, cycling through ``KINDS``."""
    rng, c, out = random.Random(seed), model.config, []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        tokens = [_position(rng, kind) for _ in range(c.nodes * c.vnodes)]
        member = [rng.random() < 0.6 for _ in range(c.nodes)]
        if not any(member):
            member[rng.randrange(c.nodes)] = True
        near = rng.choice(tokens)
        key = rng.choice([_position(rng, kind), near, (near + 1) % RING_SIZE, (near - 1) % RING_SIZE])
        out.append((tokens, member, key))
    return out


def _decode(slots: Sequence[Sequence[bool]]) -> tuple[int, ...] | None:
    """Slots as a preference list, or None when a slot holds two nodes or a gap precedes a node."""
    held = [[n for n, b in enumerate(row) if b] for row in slots]
    filled = tuple(h[0] for h in held if h)
    if any(len(h) > 1 for h in held) or not all(held[:len(filled)]):
        return None
    return filled


def tie_hashring(model: HashRing, enc: Encoding, *, samples: int = 150, seed: int = 0,
                 progress: Callable[[str], None] | None = None) -> TieResult:
    """Compare the encoding with the model's ring class and statements on ``samples`` samples."""
    t0 = time.perf_counter()
    c, cls = model.config, model.ring_class
    result = TieResult(cls.__name__, cls.__module__, enc.__name__)
    v = Vars.fresh(c.nodes, c.vnodes)
    lists = {r: enc(v.tok, v.member, v.key, r) for r in sorted({1, c.replicas, c.replicas + 1})}
    stmts = [(name, j, assume, claim) for name in STATEMENTS
             for j, assume, claim in instances(name, enc, v, c.nodes, c.replicas)]
    for tokens, member, key in placements(model, samples, seed):
        result.samples += 1
        flat = [t for row in v.tok for t in row]
        pairs = [(t, z3.BitVecVal(x, BITS)) for t, x in zip(flat, tokens, strict=True)]
        pairs += [(v.key, z3.BitVecVal(key, BITS))] + [(b, z3.BoolVal(m)) for b, m in zip(v.member, member)]

        def value(f: Any, pairs: list[Any] = pairs) -> bool:
            return z3.is_true(z3.simplify(z3.substitute(f, *pairs)))

        where = f"tokens {tokens}, members {[n for n, m in enumerate(member) if m]}, key {key}"
        ring = model.ring_at(tuple(tokens), tuple(member))
        for r, slots in lists.items():
            got = _decode([[value(x) for x in row] for row in slots])
            want = ring.preference_at(key, r)
            result.compared += 1
            if got != want:
                result.mismatches.append(f"{where}: the encoded {r}-list is {got}, the Python ring's {want}")
        for name, j, assume, claim in stmts:
            if not value(assume):
                continue
            want_ok = python_holds(name, model, tokens, member, j, key)
            result.compared += 1
            if value(claim) != want_ok:
                result.mismatches.append(f"{where}, node {j}: the encoded {name} is {not want_ok}, the model's "
                                         f"{want_ok}")
        if result.mismatches:
            break
    result.elapsed_s = time.perf_counter() - t0
    if progress:
        progress(f"tie: {result.samples} samples, {len(result.mismatches)} mismatches, {result.elapsed_s:.1f}s")
    return result


__all__ = ["KINDS", "TieResult", "placements", "tie_hashring"]
