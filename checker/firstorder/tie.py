"""The tie of a protocol's formulas to its Python model, on small instances.

The proof is about formulas; the tie is what makes it about the model.  On one instance it
walks every reachable state of the model (breadth first, on packed codes as the explicit
checker does), maps each to a finite structure of the formulas' vocabulary (``Encoding``), and
checks: (enc) the encoding is faithful and injective (modulo what it forgets on purpose),
(a) the initial states satisfy ``Init``, (b) every edge satisfies the formula of its action
(or is a stutter), (c) every reachable state satisfies the invariant, and the protocol's own
comparisons hold (e.g. the formula's ``chosen`` is the model's), (d) conversely, on a sample
of reachable states, every successor the transition formulas allow on the finite structure
(enumerated with z3) is the encoding of a concrete successor.  Any mismatch means the formulas
do not describe the model: the proof's verdict is then ``error``, whatever z3 said.

The walk is its own loop rather than ``checker.explore``: it needs each edge's action and both
endpoints while it goes, and stops at the first mismatches, which the checker's loop does not
offer without recording the whole graph (over a million edges on the largest instances tied).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import z3

from .formulas import Formulas
from .logic import RelState, Signature
from .result import EDGES, WALKS, ConformResult, InstanceLike, R, Tie

Inst = TypeVar("Inst", bound=InstanceLike)


@dataclass(frozen=True)
class Struct:
    """A finite structure of a signature: each relation's true tuples, in signature order.

    A protocol subclasses it once, setting ``signature``; element k of a sort is the index k.
    """

    rels: tuple[frozenset[tuple[int, ...]], ...]
    signature: ClassVar[Signature]

    def state(self, sets: bool = True) -> RelState:
        """The relations as lookups; ``sets=False`` hides the sets (frame conditions expanded)."""

        def look(rel: frozenset[tuple[int, ...]]) -> Callable[..., bool]:
            return lambda *x: x in rel

        names = self.signature.names
        return RelState({n: look(r) for n, r in zip(names, self.rels, strict=True)},
                        dict(zip(names, self.rels, strict=True)) if sets else None)

    def __repr__(self) -> str:
        return "{" + "; ".join(f"{n}: {sorted(r)}" for n, r in zip(self.signature.names, self.rels)) + "}"


class Unknown:
    """Post-state relations as z3 Bools over a finite structure (for enumerating successors)."""

    def __init__(self, struct: type[Struct], sizes: Mapping[str, int]) -> None:
        self.struct = struct
        sig = struct.signature
        self.vars = {name: {combo: z3.Bool(f"{name}'{list(combo)}")
                            for combo in itertools.product(*(range(sizes[a]) for a in args))}
                     for name, args in sig.relations.items()}

    def state(self) -> RelState:
        def look(table: dict[tuple[int, ...], Any]) -> Callable[..., Any]:
            return lambda *x: table[x]

        return RelState({n: look(v) for n, v in self.vars.items()})

    def decode(self, m: Any) -> Struct:
        def true(x: Any) -> bool:
            return bool(z3.is_true(m.eval(x, model_completion=True)))

        return self.struct(tuple(frozenset(k for k, x in self.vars[n].items() if true(x))
                                 for n in self.struct.signature.names))

    def block(self, st: Struct) -> Any:
        """A clause excluding ``st``."""
        return z3.Or([z3.Not(x) if k in rel else x
                      for n, rel in zip(self.struct.signature.names, st.rels) for k, x in self.vars[n].items()])


def _no_witnesses(kind: str, pre: Struct, post: Struct) -> Iterable[tuple[int, ...]]:
    return ()


def _nothing_forgotten(state: Any) -> Hashable:
    return ()


def _no_comparisons(st: RelState, state: Any) -> list[str]:
    return []


@dataclass
class Encoding:
    """How one instance of a model maps onto finite structures of the formulas' vocabulary.

    ``encode`` may report (enc) mismatches itself (a state it cannot represent faithfully);
    ``forgotten`` is what it drops on purpose (injectivity is checked with it put back);
    ``kind_of`` names the action of a model action (``None``: none, so only a stutter fits);
    ``witnesses`` proposes parameters that may explain an edge (a shortcut: an edge none of
    them explains is decided by the full existential); ``compare`` checks a reachable state's
    formulas against the model's own predicates (check (c)); ``theory`` describes the
    instance's immutable symbols in an axiom's mismatch.
    """

    struct: type[Struct]
    sizes: Mapping[str, int]
    encode: Callable[[Any], Struct]
    kind_of: Callable[[Any], str | None]
    witnesses: Callable[[str, Struct, Struct], Iterable[tuple[int, ...]]] = _no_witnesses
    forgotten: Callable[[Any], Hashable] = _nothing_forgotten
    compare: Callable[[RelState, Any], list[str]] = _no_comparisons
    theory: str = ""


def conform(model: Any, P: Formulas, enc: Encoding, res: ConformResult, *, seed: int = 0,
            max_successors: int = 64, max_mismatches: int = 20) -> ConformResult:
    """Run checks (enc) and (a)-(d) (``EDGES`` scope: (enc) (a) (b)) of ``P`` against ``model``
    (one instance, with ``P`` over the instance's ``FiniteLogic``) into ``res``."""
    t0 = time.perf_counter()
    miss = res.mismatches
    stype = model.state_type
    pack, unpack = stype.packer(memo=False), stype.unpacker(memo=False)
    expand_code = model.code_expander()
    if expand_code is None:  # no fast path for this model (e.g. an overridden expander): run it on states
        expand = model.expander()

        def expand_code(c: int) -> list[tuple[Any, int]]:
            return [(a, pack(t)) for a, t in expand(unpack(c))]

    # The theory: the instance's immutable symbols satisfy the axioms.
    for name, ok in P.axioms():
        if ok is not True:
            miss.append(f"axiom {name} fails on this instance" + (f" ({enc.theory})" if enc.theory else ""))

    encs: dict[int, Struct] = {}
    inverse: dict[tuple[Struct, Hashable], int] = {}

    def visit(c: int) -> None:
        s = unpack(c)
        st = encs[c] = enc.encode(s)
        other = inverse.setdefault((st, enc.forgotten(s)), c)
        if other != c:
            miss.append(f"(enc) two reachable states have the same encoding: {unpack(other)!r} and {unpack(c)!r}")

    # (a) Init.
    initial = list(dict.fromkeys(pack(s) for s in model.initial_states()))
    for c in initial:
        visit(c)
        if P.init(encs[c].state()) is not True:
            miss.append(f"(a) initial state {unpack(c)!r} does not satisfy Init")
    res.checks["initial"] = len(initial)

    # (b) Every edge is an action of the formulas (the one of its kind), or a stutter.
    kinds: dict[Any, str | None] = {}
    explained: set[tuple[Struct, Struct, str]] = set()  # abstract edges already satisfying their formula
    counts = {"edges": 0, "stutters": 0}

    def check_edge(a: Any, src: int, dst: int) -> None:
        counts["edges"] += 1
        pre, post = encs[src], encs[dst]
        if dst == src or post == pre:
            counts["stutters"] += 1
            return
        kind = kinds.get(a, "")
        if kind == "":
            kind = kinds[a] = enc.kind_of(a)
        if kind is not None:
            if (pre, post, kind) in explained:  # the formulas read only the two structures
                return
            ps, qs = pre.state(), post.state()
            if (any(P.step(kind, ps, qs, *w) is True for w in enc.witnesses(kind, pre, post))
                    or P.action(kind, ps, qs) is True):
                explained.add((pre, post, kind))
                return
        others = [x for x in P.actions if x != kind and P.action(x, pre.state(), post.state()) is True]
        miss.append(f"(b) edge {a!r} from {unpack(src)!r} satisfies "
                    + (f"{others} but not {kind}" if others else "no transition formula"))

    def successors(src: int) -> list[tuple[Any, int]] | None:
        try:
            return expand_code(src)
        except Exception as e:  # reported as a mismatch: the tie cannot vouch for a model that raises
            miss.append(f"(b) the model raised {type(e).__name__}: {e} expanding {unpack(src)!r}")
            return None

    if res.scope == WALKS:  # seeded random walks instead of the whole graph
        rng = random.Random(seed)
        cfg: Any = res.config
        for _ in range(cfg.walks):
            src = rng.choice(initial)
            for _ in range(cfg.walk_length):
                pairs = successors(src)
                if not pairs or len(miss) >= max_mismatches:
                    break
                a, dst = rng.choice(pairs)
                if dst not in encs:
                    visit(dst)
                check_edge(a, src, dst)
                src = dst
    else:
        queue, i = list(initial), 0
        while i < len(queue) and len(miss) < max_mismatches:
            src = queue[i]
            i += 1
            pairs = successors(src)
            if pairs is None:
                break
            for a, dst in pairs:
                if dst not in encs:
                    visit(dst)
                    queue.append(dst)
                check_edge(a, src, dst)
    res.checks["states"] = len(encs)
    res.checks["edges"] = counts["edges"]
    res.checks["stutters"] = counts["stutters"]
    if len(miss) >= max_mismatches:
        res.stopped = True
    if res.scope in (EDGES, WALKS) or res.stopped:
        res.elapsed_s = time.perf_counter() - t0
        return res

    # (c) The invariant on every reachable state, and the protocol's comparisons with the model.
    conj = P.invariant()
    inv_checked = 0
    holds: set[Struct] = set()
    for c, st in encs.items():
        if len(miss) >= max_mismatches:
            break
        inv_checked += 1
        ss, s = st.state(), unpack(c)
        if st not in holds:  # the invariant reads only the structure
            bad = [cj.name for cj in conj if cj.formula(ss) is not True]
            miss += [f"(c) invariant conjunct {name} fails on reachable state {s!r}" for name in bad]
            if not bad:
                holds.add(st)
        miss += enc.compare(ss, s)
    res.checks["invariant_states"] = inv_checked

    # (d) Conversely: every successor the formulas allow is the encoding of a concrete successor.
    rng = random.Random(seed)
    codes = sorted(encs)
    sample_size = res.config.converse_sample
    sample = codes if len(codes) <= sample_size else sorted(set(initial) | set(rng.sample(codes, sample_size)))
    allowed_total = converse_checked = 0
    for c in sample:
        if len(miss) >= max_mismatches:
            break
        converse_checked += 1
        pre = encs[c]
        ok_post = {encs[d] for _a, d in expand_code(c)} | {pre}
        for act in P.actions:
            unknown = Unknown(enc.struct, enc.sizes)
            solver = z3.Solver()
            f = P.action(act, pre.state(), unknown.state())
            if f is False:
                continue
            solver.add(f)
            found = 0
            while found < max_successors and solver.check() == z3.sat:
                st = unknown.decode(solver.model())
                found += 1
                if st not in ok_post:
                    miss.append(f"(d) {act} allows a successor of {unpack(c)!r} that the model does not "
                                f"have: {st!r}")
                solver.add(unknown.block(st))
            allowed_total += found
    res.checks["converse_states"] = converse_checked
    res.checks["converse_successors"] = allowed_total
    res.stopped = len(miss) >= max_mismatches
    res.elapsed_s = time.perf_counter() - t0
    return res


def model_name(cls: type) -> str:
    """``module:qualname`` of a model class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def source_commit(cls: type) -> tuple[str, str, bool | None]:
    """``(source file, git commit, dirty)`` of a class: ``"unknown"`` and ``None`` when the file
    is not in a git checkout or git is missing; dirty when the file differs from the commit."""
    import inspect
    import os
    import subprocess

    try:
        path = inspect.getsourcefile(cls) or "unknown"
    except TypeError:
        return "unknown", "unknown", None
    if path == "unknown":
        return path, "unknown", None

    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(["git", "-C", os.path.dirname(path), *args], capture_output=True, text=True,
                               timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return path, "unknown", None
    status = git("status", "--porcelain", "--", os.path.basename(path))
    return path, commit, None if status is None else bool(status)


def run_tie(cls: type, instances: Sequence[Inst], conform_one: Callable[[Inst], R],
            progress: Callable[[str], None] | None = None) -> Tie[R]:
    """``conform_one`` on each instance in turn (cheapest first), stopping at the first
    mismatch; the rest are listed as not run."""
    t0 = time.perf_counter()
    tie: Tie[R] = Tie(model_name(cls), *source_commit(cls))
    for k, inst in enumerate(instances):
        if progress is not None:
            progress(f"tie {inst} ({inst.scope}) ...")
        r = conform_one(inst)
        tie.instances.append(r)
        if not r.ok:
            tie.not_run = list(instances[k + 1:])
            break
    tie.elapsed_s = time.perf_counter() - t0
    return tie
