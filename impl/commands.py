"""The runtime's subcommands: ``cluster``, ``kv``, ``tx``, ``validate``.

``cli.py`` wires them with ``add_commands(subparsers)`` and dispatches with ``run_command``;
``python -m protoproof.impl`` runs them on their own.  Exit status: 0 ok, 1 a failed check
(validation found a misfit, a transaction did not reach every RM), 2 usage, 3 no answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from .client import NoReply
from .cluster import CLUSTER_FILE, load_cluster

COMMANDS = ("cluster", "kv", "tx", "validate")


def add_commands(subparsers: Any) -> None:
    """Add the runtime subcommands to an ``argparse`` subparsers object."""
    p = subparsers.add_parser("cluster", help="run a cluster of real nodes on loopback (foreground)")
    p.add_argument("protocol", choices=["paxos", "twophase"])
    p.add_argument("--nodes", type=int, default=3, help="paxos: number of nodes (acceptors/proposers)")
    p.add_argument("--rms", type=int, default=3, help="twophase: number of resource managers")
    p.add_argument("--dir", required=True, help="cluster directory (created; reused if it holds a cluster)")
    p.add_argument("--detach", action="store_true", help="start the nodes and return")
    p.add_argument("--no-fsync", action="store_true", help="sqlite synchronous=OFF (benchmarks only)")
    p.add_argument("--trace", action="store_true", help="record every node's steps under DIR/trace")
    p.add_argument("--stop", action="store_true", help="stop the nodes of a detached cluster")

    p = subparsers.add_parser("kv", help="put/get on a Paxos KV cluster")
    p.add_argument("--cluster", required=True, help="cluster directory")
    p.add_argument("op", choices=["put", "get"])
    p.add_argument("key")
    p.add_argument("value", nargs="?")
    p.add_argument("--timeout", type=float, default=30.0)

    p = subparsers.add_parser("tx", help="run one 2PC transaction on a twophase cluster")
    p.add_argument("--cluster", required=True, help="cluster directory")
    p.add_argument("action", choices=["commit"])
    p.add_argument("--no", type=int, action="append", default=[], metavar="RM", help="this RM votes no")
    p.add_argument("--timeout", type=float, default=20.0)

    p = subparsers.add_parser("validate", help="replay a recorded run through the model")
    p.add_argument("trace_dir")
    p.add_argument("--json", action="store_true")


def run_command(args: argparse.Namespace) -> int:
    cmd = args.command
    try:
        if cmd == "cluster":
            return _cluster(args)
        if cmd == "kv":
            return asyncio.run(_kv(args))
        if cmd == "tx":
            return asyncio.run(_tx(args))
        if cmd == "validate":
            return _validate(args)
    except NoReply as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"error: unknown command {cmd!r}", file=sys.stderr)
    return 2


def _pidfile(d: Path) -> Path:
    return d / "pids.json"


def _cluster(args: argparse.Namespace) -> int:
    from .kv import paxos_cluster
    from .launcher import Cluster
    from .tx import twophase_cluster

    d = Path(args.dir).resolve()
    if args.stop:
        pids = json.loads(_pidfile(d).read_text())
        for pid in pids:
            try:
                import os

                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                pass
        _pidfile(d).unlink()
        print(f"stopped {len(pids)} node(s)")
        return 0
    if (d / CLUSTER_FILE).exists():
        cfg = load_cluster(d)
        if cfg.protocol != args.protocol:
            raise ValueError(f"{d} holds a {cfg.protocol} cluster, not {args.protocol}")
    elif args.protocol == "paxos":
        if not 1 <= args.nodes <= 9:
            raise ValueError("--nodes must be between 1 and 9")
        cfg = paxos_cluster(str(d), args.nodes, fsync=not args.no_fsync, trace=args.trace)
        cfg.save()
    else:
        if not 1 <= args.rms <= 12:
            raise ValueError("--rms must be between 1 and 12")
        cfg = twophase_cluster(str(d), args.rms, fsync=not args.no_fsync, trace=args.trace)
        cfg.save()
    cluster = Cluster(cfg)
    try:
        cluster.start_all()
        for n in cfg.nodes:
            print(f"{n.name} (node {n.id}) listening on {n.address}", flush=True)
        if args.detach:
            _pidfile(d).write_text(json.dumps([p.pid for p in cluster.procs.values()]))
            cluster.procs.clear()  # left running on purpose; `cluster --stop` ends them
            print(f"detached; stop with: protoproof cluster {args.protocol} --dir {args.dir} --stop")
            return 0
        print("running; Ctrl-C to stop", flush=True)
        stop = False

        def on_signal(_sig: int, _frame: Any) -> None:
            nonlocal stop
            stop = True

        old = signal.signal(signal.SIGTERM, on_signal)
        old_int = signal.signal(signal.SIGINT, on_signal)
        try:
            while not stop:
                time.sleep(0.2)
                for i in list(cluster.procs):
                    if not cluster.alive(i):
                        print(f"node {i} exited; restarting it", flush=True)
                        cluster.start(i)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, old)
            signal.signal(signal.SIGINT, old_int)
        print("stopping", flush=True)
        return 0
    finally:
        cluster.stop_all()


async def _kv(args: argparse.Namespace) -> int:
    from .kv import KVClient

    cfg = load_cluster(args.cluster)
    if cfg.protocol != "paxos":
        raise ValueError(f"{args.cluster} is a {cfg.protocol} cluster; kv needs a paxos cluster")
    c = KVClient(cfg, budget=args.timeout)
    try:
        if args.op == "put":
            if args.value is None:
                raise ValueError("kv put needs a value")
            await c.put(args.key, args.value)
            print("ok")
        else:
            v = await c.get(args.key)
            if v is None:
                print(f"{args.key}: not found", file=sys.stderr)
                return 1
            print(v)
        return 0
    finally:
        await c.close()


async def _tx(args: argparse.Namespace) -> int:
    from .tx import TxClient

    cfg = load_cluster(args.cluster)
    if cfg.protocol != "twophase":
        raise ValueError(f"{args.cluster} is a {cfg.protocol} cluster; tx needs a twophase cluster")
    c = TxClient(cfg)
    try:
        tx, decision, states = await c.commit(no=args.no, timeout=args.timeout)
    finally:
        await c.close()
    print(f"transaction {tx}: {decision}")
    for r in range(c.rms):
        print(f"  rm{r}: {states.get(r, 'unknown (no answer)')}")
    return 0 if len(states) == c.rms else 1


def _validate(args: argparse.Namespace) -> int:
    from .validate import validate

    r = validate(args.trace_dir)
    if args.json:
        print(json.dumps({"protocol": r.protocol, "ok": r.ok, "steps": r.steps, "instances": r.instances,
                          "problems": [str(p) for p in r.problems]}))
    else:
        print(r.summary())
        for p in sorted(r.problems, key=lambda p: p.step)[1:]:
            print(f"  also: {p}")
    return 0 if r.ok else 1
