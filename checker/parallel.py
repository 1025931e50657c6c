"""The partitioned search: level-synchronous BFS over workers that each own a share of the codes.

A code belongs to the worker ``owner(code, n)`` (a hash of the code).  Each level, every worker
expands the frontier codes it owns (``PartitionWorker.expand``: codes -> successor codes with
their parent code), keeps the successors it owns and hands the others to their owners; each owner
then drops the visited ones (``receive``), stores the rest with their parent and checks them.
Whole levels are completed before a verdict, so the distinct states, transitions, depth and
verdict do not depend on the number of workers, and a counterexample is a shortest one (of the
same length as the scalar search's): its path is rebuilt by asking each state's owner for its
parent.  The workers run in this process (``--workers 1``), in processes (``--workers N``) or as
Ray actors (``--ray``); ``parallel_backends.py`` moves the batches, ``checkpoint.py`` saves and
restores a search between levels.
"""

from __future__ import annotations

import copy
import os
import pickle
import resource
import signal
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..models.base import Model
from . import checkpoint as ckpt
from .checks import DEADLOCK, OWN, first_failing, note_examples
from .errors import model_error
from .explore import Options, Result, _extend, _path_to, _Run, _state
from .verdict import BOUNDED, EXHAUSTED, VIOLATED
from .visited import Wide, visited_set

_MIX = 0x9E3779B97F4A7C15


_M64 = (1 << 64) - 1


#: A batch of successors for another worker: pickled bytes (wide codes), or int64 arrays (codes,
#: parents) that travel as their bytes, codes first.
Batch = bytes | tuple[np.ndarray, np.ndarray]


def owner(code: int, n: int) -> int:
    """The worker that stores ``code``: a multiplicative hash of its 64-bit folding (``owners``
    computes the same on an int64 array)."""
    h = code
    while h > _M64:
        h = (h & _M64) ^ (h >> 64)
    return (((h * _MIX) & _M64) >> 40) % n


def owners(codes: np.ndarray, n: int) -> np.ndarray:
    """``owner`` of each code of an int64 array (the product wraps modulo 2**64 as in ``owner``)."""
    h = (codes.view(np.uint64) * np.uint64(_MIX)) >> np.uint64(40)
    return h & np.uint64(n - 1) if n & (n - 1) == 0 else h % np.uint64(n)  # a mask is a cheaper modulo


@dataclass
class Scale:
    """How a search is spread and saved (``Options.scale``); any of them runs the partitioned search."""

    workers: int = 1
    ray: str | None = None  # a Ray cluster's address ("local": start one here)
    checkpoint: str | None = None  # directory written between levels
    checkpoint_every: float = 60.0  # seconds between checkpoints
    resume: str | None = None  # directory of a checkpoint to continue from
    memory_mb: float | None = None  # visited codes past this (over all workers) go to disk


def declined(model: Model[Any], o: Options) -> str | None:
    """Why the partitioned search cannot run ``o`` (None: it can)."""
    reasons = [
        (o.strategy != "bfs", f"--strategy {o.strategy} (the partitioned search is breadth-first)"),
        (bool(o.record_graph), "a state graph is recorded (--graph-kind states)"),
    ]
    return next((why for bad, why in reasons if bad), None)


class PartitionWorker:
    """One share of the visited codes and of the frontier, with the checks run on them."""

    def __init__(self, model: Model[Any], o: Options, index: int, n: int, budget: int | None,
                 spill_dir: str | None) -> None:
        self.model, self.index, self.n = model, index, n
        o = copy.copy(o)
        o.progress, o.liveness, o.measure_memory = None, False, False
        self.run = run = _Run(model, o)
        self.checks = run.checks
        self.visited: Any = visited_set(model.state_type.size, budget, spill_dir)  # Runs or Wide
        self.wide = isinstance(self.visited, Wide)  # codes beyond int64: dicts, not arrays
        self.frontier: list[int] = []
        self.local: Any = None
        self.pending = list(run.checks.sometimes)

    def seed(self, inits: list[int]) -> None:
        """Store the initial codes this worker owns (checked by the coordinator)."""
        mine = {c: -1 for c in sorted(inits) if owner(c, self.n) == self.index}
        self._add(mine)
        self.frontier = list(mine)

    def _add(self, d: dict[int, int]) -> None:
        if self.wide:
            self.visited.add(d)
        else:
            self.visited.add(np.fromiter(d, np.int64, len(d)), np.fromiter(d.values(), np.int64, len(d)))

    def use_files(self, folder: str) -> None:
        """Hand batches over as files in ``folder`` (a memory-backed one: /dev/shm), the pipes
        carrying only their names: a pipe copies a batch several times, a file once each way."""
        self.exchange = folder
        self.shipped = 0

    def expand(self) -> tuple[list[bytes | str | None], dict[str, Any]]:
        """``_routes``, each batch as bytes, or written to a file when ``use_files`` asked for it."""
        routes, summary = self._routes()
        folder = getattr(self, "exchange", None)
        out: list[bytes | str | None] = []
        for j, b in enumerate(routes):
            if b is None or folder is None:
                out.append(b if not isinstance(b, tuple) else b[0].tobytes() + b[1].tobytes())
                continue
            self.shipped += 1
            path = os.path.join(folder, f"batch-{self.index}-{j}-{self.shipped}")
            with open(path, "wb") as f:
                if isinstance(b, tuple):
                    for a in b:
                        a.tofile(f)  # written from the array's own memory: no copy
                else:
                    f.write(b)
            out.append(path)
        return out, summary

    def _routes(self) -> tuple[list[Batch | None], dict[str, Any]]:
        """Expand the frontier: per worker, the successors it owns (pickled code -> parent), and a
        summary: transitions, the least deadlocked code, the least failing step."""
        n, me, run = self.n, self.index, self.run
        checks = run.checks
        step_checks, deadlock = checks.step_checks, checks.deadlock
        out: list[dict[int, int]] = [{} for _ in range(n if self.wide else 1)]
        mine = out[me if self.wide else 0]
        cov = run.cov
        transitions = 0
        dead: int | None = None
        bad_step: tuple[int, int, str] | None = None
        for code in self.frontier:
            s, pairs, states = run.expand(code)
            if not pairs:
                if deadlock and (dead is None or code < dead) and not run._terminal(code, s):
                    dead = code
                continue
            transitions += len(pairs)
            if step_checks:
                bad_step = self._steps(code, s, pairs, states, bad_step)
            for a, c in pairs:  # the hot loop: stutters skipped, each successor once
                cov[a.family] += 1
                if c == code:
                    continue
                d = mine if len(out) == 1 else out[owner(c, n)]
                if c not in d:
                    d[c] = code
        summary = {"transitions": transitions, "deadlock": dead, "step": bad_step}
        if self.wide:
            self.local = mine
            return [None if j == me else pickle.dumps(d, protocol=5) for j, d in enumerate(out)], summary
        # int64 codes: split by owner in numpy; a batch is the codes' bytes then the parents'.
        codes = np.fromiter(mine, np.int64, len(mine))
        parents = np.fromiter(mine.values(), np.int64, len(mine))
        if n == 1:
            self.local = (codes, parents)
            return [None], summary
        dest = owners(codes, n)
        routes: list[Batch | None] = []
        for j in range(n):
            sel = dest == j
            if j == me:
                self.local = (codes[sel], parents[sel])
                routes.append(None)
            else:
                routes.append((codes[sel], parents[sel]))
        return routes, summary

    def _steps(self, code: int, s: Any, pairs: list[tuple[Any, int]], states: list[Any] | None,
               bad: tuple[int, int, str] | None) -> tuple[int, int, str] | None:
        """The least (code, successor, property) of a failing step so far (on the successor
        states themselves where the general path made them: under symmetry a code is an orbit's)."""
        unpack = self.run.unpack
        if s is None:
            s = unpack(code)
        for j, (a, c) in enumerate(pairs):
            name = _failing_step(self.checks.step_checks, s, a, _state(states, j, unpack, c))
            if name is not None and (bad is None or (code, c) < bad[:2]):
                bad = (code, c, name)
        return bad

    def expand_split(self) -> tuple[Any, ...]:
        """``expand`` as one value per batch and the summary (Ray returns each as its own object)."""
        routes, summary = self.expand()
        return (*routes, summary)

    def receive(self, store: bool, *batches: bytes | str | None) -> dict[str, Any]:
        """Keep the unvisited successors sent to this worker (if ``store``) as the next frontier;
        the count, the least code failing an invariant, and new ``@sometimes`` examples."""
        new = self._fresh(landed(batches))
        summary: dict[str, Any] = {"new": len(new) if self.wide else len(new[0]), "invariant": None, "examples": {}}
        if not store:
            return summary
        if self.wide:
            self.visited.add(new)
            self.frontier = list(new)
        else:
            self.visited.add(*new)
            self.frontier = new[0].tolist()
        invariants, unpack = self.checks.invariants, self.run.unpack
        if invariants or self.pending:
            bad: tuple[int, str] | None = None
            for c in self.frontier:
                t = unpack(c)
                if invariants:
                    name = first_failing(invariants, t, None)
                    if name is not None and (bad is None or c < bad[0]):
                        bad = (c, name)
                if self.pending:
                    self.pending = note_examples(self.pending, summary["examples"], t, c)
            summary["invariant"] = bad
        return summary

    def _fresh(self, batches: tuple[bytes | None, ...]) -> Any:
        """This worker's successors and those sent to it, each once with its least parent, less the
        visited ones, in ascending order.  The frontier is expanded in that order, so each worker's
        first parent of a code is its least one: the parents, hence the counterexamples, do not
        depend on the number of workers."""
        local, self.local = self.local, None
        if self.wide:
            cand: dict[int, int] = local
            for b in batches:
                if b is not None:
                    got: dict[int, int] = pickle.loads(b)
                    for c, p in got.items():
                        if p < cand.get(c, p + 1):
                            cand[c] = p
            new = self.visited.new(cand)
            return {c: new[c] for c in sorted(new)}
        codes, parents = local
        sent = [np.frombuffer(b, np.int64).reshape(2, -1) for b in batches if b]
        codes = np.concatenate([codes, *(x[0] for x in sent)])
        parents = np.concatenate([parents, *(x[1] for x in sent)])
        order = np.lexsort((parents, codes))
        codes, parents = codes[order], parents[order]
        first = np.ones(len(codes), bool)
        first[1:] = codes[1:] != codes[:-1]
        return self.visited.new(codes[first], parents[first])

    def found(self, names: list[str]) -> None:
        """``@sometimes`` properties some worker has an example of: no longer looked for."""
        self.pending = [p for p in self.pending if p.name not in names]

    def parent(self, code: int) -> int:
        return self.visited.parent(code)

    def totals(self) -> tuple[int, list[int], bool]:
        """Distinct states stored here, the coverage per action family, whether codes went to disk."""
        return len(self.visited), list(self.run.cov), self.visited.spilled

    def save(self, folder: str, tag: str) -> None:
        ckpt.save_part(folder, tag, self.index, self.visited.items(), self.frontier)

    def load(self, folder: str, tag: str, parts: int, cov: list[int] | None) -> None:
        """Take this worker's share of a checkpoint written by ``parts`` workers."""
        for codes, parents, frontier in ckpt.load_parts(folder, tag, parts):
            self._add({c: p for c, p in zip(codes, parents, strict=True) if owner(c, self.n) == self.index})
            self.frontier += [c for c in frontier if owner(c, self.n) == self.index]
        self.frontier.sort()
        if cov is not None:
            self.run.cov = list(cov)

    def engine_note(self) -> str | None:
        """Why this worker left the vector tables for the scalar expander (None: it did not)."""
        return None

    def close(self) -> None:
        self.visited.close()


def landed(batches: tuple[bytes | str | None, ...]) -> tuple[bytes | None, ...]:
    """The batches' bytes, those handed over as files read and removed."""
    out: list[bytes | None] = []
    for b in batches:
        if isinstance(b, str):
            with open(b, "rb") as f:
                out.append(f.read())
            os.remove(b)
        else:
            out.append(b)
    return tuple(out)


def landed_arrays(batches: tuple[bytes | str | None, ...]) -> list[np.ndarray]:
    """The int64 batches as (2, k) arrays of codes and parents, files read straight into arrays."""
    out = []
    for b in batches:
        if isinstance(b, str):
            a = np.fromfile(b, np.int64)
            os.remove(b)
        elif b:
            a = np.frombuffer(b, np.int64)
        else:
            continue
        out.append(a.reshape(2, -1))
    return out


def _failing_step(step_checks: list[tuple[str, Any]], s: Any, a: Any, t: Any) -> str | None:
    name = ""
    try:
        for name, chk in step_checks:
            if not chk(s, a, t):
                return name
    except OWN:
        raise
    except Exception as e:
        raise model_error(f"step property {name}", e, s, a) from e
    return None


def partitioned(model: Model[Any], o: Options) -> Result:
    """``explore(model, o)`` as a partitioned search (``o.scale``)."""
    from .parallel_backends import backend

    sc = o.scale
    assert sc is not None
    why = declined(model, o)
    if why is not None:
        raise KeyError(f"--workers/--ray/--checkpoint/--resume/--memory cannot run this check: {why}")
    return _Search(model, o, sc, backend).go()


def worker_kind(model: Model[Any], o: Options) -> tuple[type[PartitionWorker], str]:
    """The workers' class -- on the vector tables where the model qualifies and the engine allows --
    and what the result's ``engine`` line says of it."""
    from .parallel_vector import VectorPartitionWorker, vector_reason

    if o.engine == "scalar":
        return PartitionWorker, "scalar (asked for)"
    why = vector_reason(model, o)
    if why is None:
        return VectorPartitionWorker, "vector"
    if o.engine == "vector":
        raise KeyError(f"--engine vector cannot run this check: {why}; use --engine auto or scalar")
    return PartitionWorker, f"scalar ({why})"


class _Search:
    """The coordinator: runs the levels, picks the verdict, rebuilds paths, writes checkpoints."""

    def __init__(self, model: Model[Any], o: Options, sc: Scale, make_backend: Any) -> None:
        self.model, self.o, self.sc = model, o, sc
        self.run = _Run(model, _quiet(o, liveness=False))  # the initial states' checks, the paths, the result
        self.liveness = _liveness_note(self.run, o)
        self.fingerprint = ckpt.fingerprint(model, o)
        budget = None if sc.memory_mb is None else int(sc.memory_mb * 2**20 / sc.workers)
        self.kind, self.kind_note = worker_kind(model, o)
        self.workers = make_backend(model, _quiet(o), sc, budget, self.kind)
        self.distinct = self.transitions = self.depth = 0
        self.examples: dict[str, int | None] = {p.name: None for p in self.run.checks.sometimes}
        self.interrupted: str | None = None  # "Ctrl-C" or "SIGTERM" once asked to stop
        self.elapsed_before = 0.0

    def go(self) -> Result:
        sc = self.sc
        self.t0 = time.perf_counter()
        old = signal.getsignal(signal.SIGINT)
        old_term = signal.getsignal(signal.SIGTERM)
        try:
            signal.signal(signal.SIGINT, self._interrupt)
            signal.signal(signal.SIGTERM, self._interrupt)
        except ValueError:  # not the main thread: no Ctrl-C to catch
            old = None
        try:
            found = self._resume() if sc.resume else self._start()
            if found is not None:  # a violation among the initial states
                found.engine = f"{self.kind_note}, partitioned over {sc.workers} worker(s) ({self.workers.name})"
                return found
            return self._levels()
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)
                signal.signal(signal.SIGTERM, old_term)
            self.workers.close()

    def _interrupt(self, sig: int, _frame: Any) -> None:
        """Ctrl-C or SIGTERM: end (and save) the search at the end of this level; a second one stops at once."""
        if self.interrupted or not (self.sc.checkpoint or self.o.interruptible):
            raise KeyboardInterrupt
        self.interrupted = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C"
        if self.o.progress is not None:
            what = "the checkpoint is written" if self.sc.checkpoint else "the run stops"
            print(f"  interrupted: {what} at the end of this level (Ctrl-C again to stop now)",
                  file=self.o.progress, flush=True)

    def _start(self) -> Result | None:
        run = self.run
        found = run.start()  # checks the initial states; a violation among them ends the run
        if found is not None:
            return found
        self.examples = {k: v for k, v in run.examples.items()}
        self.workers.call("seed", run.inits)
        self.workers.call("found", [k for k, v in self.examples.items() if v is not None])
        self.distinct = len(run.inits)
        return None

    def _resume(self) -> Result | None:
        folder = self.sc.resume
        assert folder is not None
        m = ckpt.read_manifest(folder, self.fingerprint)
        self.depth, self.distinct, self.transitions = m["depth"], m["distinct"], m["transitions"]
        self.examples = m["examples"]
        self.elapsed_before = m["elapsed"]
        cov = m["coverage"]
        self.workers.call_each("load", [(folder, m["tag"], m["parts"], cov if i == 0 else None)
                                        for i in range(self.sc.workers)])
        self.workers.call("found", [k for k, v in self.examples.items() if v is not None])
        return None

    def _levels(self) -> Result:
        o, sc = self.o, self.sc
        last_save = time.perf_counter()
        while True:
            depth = self.depth
            at_bound = o.max_depth is not None and depth >= o.max_depth
            routes, sums = self.workers.expand()
            self.transitions += sum(s["transitions"] for s in sums)
            got = self.workers.receive(routes, not at_bound)
            new = sum(g["new"] for g in got)
            dead = _least(s["deadlock"] for s in sums)
            if dead is not None:
                return self._violation(DEADLOCK, self._path(dead), new, at_bound)
            step = _least(s["step"] for s in sums)
            if step is not None:
                parent, c, name = step
                check = dict(self.run.checks.step_checks)[name]
                path = _extend(self.model, self.run.key, self._path(parent), c, check)
                return self._violation(name, path, new, at_bound)
            if at_bound:
                return self._finish(BOUNDED, bound=f"depth {o.max_depth}") if new else self._exhausted()
            if not new:
                return self._exhausted()
            self.distinct += new
            bad = _least(g["invariant"] for g in got)
            if bad is not None:  # the depth is the last level expanded, as in the scalar search
                return self._finish(VIOLATED, bad[1], self._path(bad[0]))
            self.depth = depth + 1
            self._note_examples(got)
            now = time.perf_counter()
            timeout = o.timeout is not None and now - self.t0 >= o.timeout
            full = o.max_states is not None and self.distinct >= o.max_states
            if sc.checkpoint and (timeout or full or self.interrupted or now - last_save >= sc.checkpoint_every):
                self._save()
                last_save = time.perf_counter()
            if self.interrupted:
                where = f"checkpoint in {sc.checkpoint}" if sc.checkpoint else "no checkpoint"
                return self._finish(BOUNDED, bound=f"interrupted by {self.interrupted} ({where})")
            if timeout:
                return self._finish(BOUNDED, bound=f"timeout {o.timeout:g}s")
            if full:
                return self._finish(BOUNDED, bound=f"{o.max_states} states")
            self._progress(now)

    def _note_examples(self, got: list[dict[str, Any]]) -> None:
        """Keep the first level's examples (the least code among them): no worker looks for them again."""
        fresh: dict[str, int] = {}
        for g in got:
            for name, c in g["examples"].items():
                if self.examples.get(name) is None and (name not in fresh or c < fresh[name]):
                    fresh[name] = c
        if fresh:
            self.examples.update(fresh)
            self.workers.call("found", list(fresh))

    def _violation(self, prop: str, path: Any, new: int, at_bound: bool) -> Result:
        if not at_bound:
            self.distinct += new  # the level was completed: its new states are stored and counted
        return self._finish(VIOLATED, prop, path)

    def _exhausted(self) -> Result:
        unreached = [k for k, v in self.examples.items() if v is None]
        if unreached:
            return self._finish(VIOLATED, unreached[0])
        return self._finish(EXHAUSTED)

    def _path(self, code: int) -> Any:
        """The path to ``code``, its parents asked of their owners."""
        parents: dict[int, int] = {}
        c = code
        while c != -1:
            p = self.workers.call_one(owner(c, self.sc.workers), "parent", c)
            parents[c] = p
            c = p
        return _path_to(self.model, self.run.key, parents, code)

    def _save(self) -> None:
        folder = self.sc.checkpoint
        assert folder is not None
        tag = ckpt.new_tag(self.depth)
        self.workers.call("save", folder, tag)
        cov = [sum(col) for col in zip(*(t[1] for t in self.workers.call("totals")), strict=True)]
        ckpt.write_manifest(folder, {
            "fingerprint": self.fingerprint, "tag": tag, "parts": self.sc.workers, "depth": self.depth,
            "distinct": self.distinct, "transitions": self.transitions, "coverage": cov,
            "examples": self.examples, "elapsed": self._elapsed(),
        })

    def _elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.t0

    def _progress(self, now: float) -> None:
        o = self.o
        if o.progress is None or now < self.run.next_report:
            return
        self.run.next_report = now + o.progress_every
        rate = self.distinct / max(now - self.t0, 1e-9)
        print(f"  {self.distinct:,} states, {self.transitions:,} transitions, depth {self.depth}, "
              f"{rate:,.0f} states/s, {now - self.t0:.0f}s ({self.sc.workers} workers)", file=o.progress, flush=True)

    def _finish(self, verdict: str, prop: str | None = None, path: Any = None, bound: str | None = None) -> Result:
        run = self.run
        totals = self.workers.call("totals")
        stored = sum(t[0] for t in totals)
        assert stored == self.distinct, f"protoproof bug: {stored} states stored, {self.distinct} counted"
        run.stats.depth = self.depth
        run.stats.transitions = self.transitions
        run.cov = [sum(col) for col in zip(*(t[1] for t in totals), strict=True)]
        run.examples = self.examples
        run.parent = _Parents(self)  # type: ignore[assignment]
        result = run.finish(verdict, prop, path, bound)
        result.stats.distinct_states = self.distinct
        result.stats.elapsed_s = self._elapsed()
        result.stats.peak_rss_bytes = max(result.stats.peak_rss_bytes,
                                          resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
        result.liveness = self.liveness
        result.engine = f"{self.kind_note}, partitioned over {self.sc.workers} worker(s) ({self.workers.name})"
        notes = sorted({w for w in self.workers.call("engine_note") if w})
        if notes:
            result.engine += f"; the scalar expander took over where the vector tables stopped: {notes[0]}"
        if any(t[2] for t in totals):
            result.engine += f"; visited codes past --memory {self.sc.memory_mb:g} MB kept on disk"
        return result


class _Parents:
    """``_Run.parent`` for ``_Run.finish``: the examples' paths, parents asked of their owners."""

    def __init__(self, search: _Search) -> None:
        self.search = search

    def __len__(self) -> int:
        return self.search.distinct

    def __getitem__(self, code: int) -> int:
        return int(self.search.workers.call_one(owner(code, self.search.sc.workers), "parent", code))


def _least(items: Any) -> Any:
    got = [x for x in items if x is not None]
    return min(got) if got else None


def _quiet(o: Options, liveness: bool = True) -> Options:
    q = copy.copy(o)
    q.progress = None
    q.liveness = q.liveness and liveness
    return q


def _liveness_note(run: _Run, o: Options) -> str:
    """What becomes of the liveness properties: not checked here (the SCC search needs every edge)."""
    props = run.checks.liveness
    if not props:
        return ""
    names = ", ".join(p.name for p in props)
    if not o.liveness:
        return f"not checked (turned off): {names}"
    if o.properties is not None:
        raise KeyError(f"liveness properties ({names}) are not checked by the partitioned search (the fair-cycle "
                       "search needs every edge in one place); drop --workers/--ray/--checkpoint, or name only "
                       "safety properties")
    return (f"not checked by the partitioned search (the fair-cycle search needs every edge in one place): {names}; "
            "run without --workers/--ray/--checkpoint to check them")
