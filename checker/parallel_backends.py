"""Where the partition workers run: in this process, in local processes, or as Ray actors.

Each backend offers the same calls to the coordinator (``parallel._Search``): ``expand`` (every
worker's level, returning its batches for the others), ``receive`` (each worker gets the batches
addressed to it), ``call`` on every worker and ``call_one``.  Processes hand their batches over as
files in /dev/shm (memory), the coordinator's pipes carrying their names only; Ray actors pass them to each
other through Ray's object store, the coordinator only holding references.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
from typing import Any

from ..models.base import Model
from .explore import Options
from .parallel import PartitionWorker, Scale

Batches = list[list[Any]]  # batches[i][j]: from worker i to worker j


def backend(model: Model[Any], o: Options, sc: Scale, budget: int | None,
            kind: type[PartitionWorker] = PartitionWorker) -> Any:
    """The backend ``sc`` asks for, its workers of class ``kind``."""
    if sc.workers < 1:
        raise KeyError(f"--workers {sc.workers}: give at least 1")
    spill = tempfile.gettempdir() if sc.checkpoint is None else sc.checkpoint
    if sc.ray is not None:
        return RayWorkers(model, o, sc, budget, spill, kind)
    if sc.workers == 1:
        return Inline(model, o, sc, budget, spill, kind)
    return Processes(model, o, sc, budget, spill, kind)


class Inline:
    """The workers as objects of this process (``--workers 1``: no copying of batches at all)."""

    name = "in this process"

    def __init__(self, model: Model[Any], o: Options, sc: Scale, budget: int | None, spill: str | None,
                 kind: type[PartitionWorker] = PartitionWorker) -> None:
        self.w = [kind(model, o, i, sc.workers, budget, spill) for i in range(sc.workers)]

    def expand(self) -> tuple[Batches, list[dict[str, Any]]]:
        got = [w.expand() for w in self.w]
        return [g[0] for g in got], [g[1] for g in got]

    def receive(self, batches: Batches, store: bool) -> list[dict[str, Any]]:
        return [w.receive(store, *[b[j] for b in batches]) for j, w in enumerate(self.w)]

    def call(self, method: str, *args: Any) -> list[Any]:
        return [getattr(w, method)(*args) for w in self.w]

    def call_each(self, method: str, args: list[tuple[Any, ...]]) -> list[Any]:
        return [getattr(w, method)(*a) for w, a in zip(self.w, args, strict=True)]

    def call_one(self, j: int, method: str, *args: Any) -> Any:
        return getattr(self.w[j], method)(*args)

    def close(self) -> None:
        for w in self.w:
            w.close()


def _serve(conn: Any, theirs: Any, model: Model[Any], o: Options, i: int, n: int, budget: int | None,
           spill: str | None, kind: type[PartitionWorker] = PartitionWorker) -> None:
    """A worker process: run the calls the coordinator sends until it sends None, or dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    theirs.close()  # the coordinator's end, inherited by the fork: its death must end this pipe
    boss = os.getppid()
    w = kind(model, o, i, n, budget, spill)
    try:
        while True:
            while not conn.poll(1.0):
                if os.getppid() != boss:  # the coordinator was killed (SIGKILL): nothing to wait for
                    _orphaned(w)
                    return
            msg = conn.recv()
            if msg is None:
                break
            method, args = msg
            try:
                conn.send(("ok", getattr(w, method)(*args)))
            except BaseException as e:  # sent back and raised by the coordinator
                conn.send(("error", _picklable(e)))
    except (EOFError, BrokenPipeError, ConnectionResetError):  # the coordinator is gone
        _orphaned(w)
    finally:
        w.close()


def _orphaned(w: PartitionWorker) -> None:
    """The coordinator died without removing the batch files' folder: its workers do."""
    folder = getattr(w, "exchange", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _picklable(e: BaseException) -> BaseException:
    import pickle

    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:
        return RuntimeError(f"{type(e).__name__}: {e}")


class Processes:
    """One process per worker (forked where the platform allows: the model is not pickled)."""

    def __init__(self, model: Model[Any], o: Options, sc: Scale, budget: int | None, spill: str | None,
                 kind: type[PartitionWorker] = PartitionWorker) -> None:
        ctx: Any = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.name = f"{sc.workers} processes"
        self.conns, self.procs = [], []
        for i in range(sc.workers):
            here, there = ctx.Pipe()
            args = (there, here, model, o, i, sc.workers, budget, spill, kind)
            p = ctx.Process(target=_serve, args=args, daemon=True)
            p.start()
            there.close()
            self.conns.append(here)
            self.procs.append(p)
        # Batches go from worker to worker as files in memory (/dev/shm where there is one).
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self.files = tempfile.TemporaryDirectory(prefix="protoproof-batches-", dir=shm)
        self.call("use_files", self.files.name)

    def _send(self, j: int, method: str, args: tuple[Any, ...]) -> None:
        self.conns[j].send((method, args))

    def _get(self, j: int) -> Any:
        try:
            status, value = self.conns[j].recv()
        except EOFError:
            code = self.procs[j].exitcode
            raise RuntimeError(f"worker {j} died (exit code {code}); is the machine out of memory? "
                               "try --memory MB") from None
        if status == "error":
            raise value
        return value

    def expand(self) -> tuple[Batches, list[dict[str, Any]]]:
        got = self.call("expand")
        return [g[0] for g in got], [g[1] for g in got]

    def receive(self, batches: Batches, store: bool) -> list[dict[str, Any]]:
        return self.call_each("receive", [(store, *[b[j] for b in batches]) for j in range(len(self.conns))])

    def call(self, method: str, *args: Any) -> list[Any]:
        return self.call_each(method, [args] * len(self.conns))

    def call_each(self, method: str, args: list[tuple[Any, ...]]) -> list[Any]:
        for j, a in enumerate(args):
            self._send(j, method, a)
        return [self._get(j) for j in range(len(args))]  # every answer is read, also after an error

    def call_one(self, j: int, method: str, *args: Any) -> Any:
        self._send(j, method, args)
        return self._get(j)

    def close(self) -> None:
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.send(None)
        for p in self.procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
        self.files.cleanup()


class RayWorkers:
    """One Ray actor per worker: the batches go from actor to actor through Ray's object store."""

    def __init__(self, model: Model[Any], o: Options, sc: Scale, budget: int | None, spill: str | None,
                 kind: type[PartitionWorker] = PartitionWorker) -> None:
        try:
            import ray
        except ImportError:
            raise KeyError("--ray needs Ray: pip install 'protoproof[ray]'") from None
        self.ray = ray
        self.started = not ray.is_initialized()  # shut down at the end only what this run started
        if self.started:
            here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            env = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)}}
            try:
                if sc.ray == "local":
                    ray.init(num_cpus=sc.workers, include_dashboard=False, log_to_driver=False, runtime_env=env)
                else:
                    ray.init(address=sc.ray, log_to_driver=False, runtime_env=env)
            except (ValueError, ConnectionError, RuntimeError) as e:  # a bad address, no cluster there
                raise KeyError(f"--ray {sc.ray}: cannot start or join Ray there ({type(e).__name__}: "
                               f"{(str(e) or repr(e)).splitlines()[0]}); give local, auto or HOST:PORT "
                               "of a running cluster") from None
        self.name = f"{sc.workers} Ray actors"
        actor = ray.remote(num_cpus=1)(kind)
        self.n = sc.workers
        self.w: list[Any] = [actor.remote(model, o, i, sc.workers, budget, spill) for i in range(sc.workers)]

    def _get(self, refs: Any) -> Any:
        try:
            return self.ray.get(refs)
        except self.ray.exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None)
            raise (cause if isinstance(cause, BaseException) else RuntimeError(str(e))) from None

    def expand(self) -> tuple[Batches, list[dict[str, Any]]]:
        # Each actor's batches stay in the object store: the coordinator holds references only.
        out = [w.expand_split.options(num_returns=self.n + 1).remote() for w in self.w]
        batches = [list(refs[: self.n]) for refs in out]
        return batches, self._get([refs[self.n] for refs in out])

    def receive(self, batches: Batches, store: bool) -> list[dict[str, Any]]:
        return self._get([w.receive.remote(store, *[b[j] for b in batches]) for j, w in enumerate(self.w)])

    def call(self, method: str, *args: Any) -> list[Any]:
        return self._get([getattr(w, method).remote(*args) for w in self.w])

    def call_each(self, method: str, args: list[tuple[Any, ...]]) -> list[Any]:
        return self._get([getattr(w, method).remote(*a) for w, a in zip(self.w, args, strict=True)])

    def call_one(self, j: int, method: str, *args: Any) -> Any:
        return self._get(getattr(self.w[j], method).remote(*args))

    def close(self) -> None:
        self._get([w.close.remote() for w in self.w])
        for w in self.w:
            self.ray.kill(w)
        if self.started:
            self.ray.shutdown()
