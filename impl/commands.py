"""The runtime's subcommands: ``cluster``, ``validate`` and each service's client commands.

``cli.py`` wires them with ``add_commands(subparsers)`` and dispatches with ``run_command``;
``python -m protoproof.impl`` runs them on their own.  Nothing here names a protocol: the
services come from the registry (``ServiceSpec`` values), and so do their cluster options and
client commands (``kv``, ``tx``).  Exit status: 0 ok, 1 a failed check (validation found a
misfit, a transaction did not reach every RM), 2 usage, 3 no answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from .client import NoReply
from .cluster import CLUSTER_FILE, load_cluster
from .service import ClientCommand, ServiceSpec, known_specs, service_of, spec_for

#: The generic commands; each service adds its client commands (``commands()`` lists them all).
GENERIC = ("cluster", "validate")


def commands() -> list[str]:
    """Every runtime subcommand: the generic ones and the services' client commands."""
    return [*GENERIC, *dict.fromkeys(c.name for spec in known_specs() for c in spec.commands)]


def _client_commands() -> dict[str, list[tuple[ServiceSpec, ClientCommand]]]:
    """Each client command with the services offering it: several may share a name (``tx`` on
    every commit service) if they share its arguments; the cluster file picks the service."""
    out: dict[str, list[tuple[ServiceSpec, ClientCommand]]] = {}
    for spec in known_specs():
        for c in spec.commands:
            if c.name in GENERIC:
                raise ValueError(f"the client command {c.name!r} of {spec.ref} is already taken")
            same = out.setdefault(c.name, [])
            if same and same[0][1].add_arguments is not c.add_arguments:
                raise ValueError(f"the client command {c.name!r} of {spec.ref} is already taken by "
                                 f"{same[0][0].ref} with other arguments (share its add_arguments to share the name)")
            same.append((spec, c))
    return out


def add_commands(subparsers: Any) -> None:
    """Add the runtime subcommands to an ``argparse`` subparsers object."""
    specs = known_specs()
    p = subparsers.add_parser("cluster", help="run a cluster of real nodes on loopback (foreground)")
    p.add_argument("protocol", help=f"a protocol ({', '.join(s.name for s in specs)}) or "
                                    "package.module:SERVICE / file.py:SERVICE")
    seen: dict[str, list[str]] = {}
    for spec in specs:
        for o in spec.options:
            seen.setdefault(o.name, []).append(f"{spec.name}: {o.help or o.name} (default {o.default})")
    for name, helps in seen.items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=f"opt_{name}", type=int, default=None, metavar="N",
                       help="; ".join(helps))
    p.add_argument("--param", action="append", default=[], metavar="NAME=INT",
                   help="a cluster parameter of a service without its own option")
    p.add_argument("--dir", required=True, help="cluster directory (created; reused if it holds a cluster)")
    p.add_argument("--detach", action="store_true", help="start the nodes and return")
    p.add_argument("--no-fsync", action="store_true", help="sqlite synchronous=OFF (benchmarks only)")
    p.add_argument("--trace", action="store_true", help="record every node's steps under DIR/trace")
    p.add_argument("--stop", action="store_true", help="stop the nodes of a detached cluster")

    for name, offered in _client_commands().items():
        c = offered[0][1]
        p = subparsers.add_parser(name, help=c.help if len(offered) == 1 else f"{name}: " + "; ".join(
            f"{spec.name}: {cmd.help}" for spec, cmd in offered))
        which = " or ".join(spec.name for spec, _c in offered)
        p.add_argument("--cluster", required=True, help=f"cluster directory (a {which} cluster)")
        c.add_arguments(p)

    p = subparsers.add_parser("validate", help="replay a recorded run through the model")
    p.add_argument("trace_dir")
    p.add_argument("--json", action="store_true")


def run_command(args: argparse.Namespace) -> int:
    cmd = args.command
    try:
        if cmd == "cluster":
            return _cluster(args)
        if cmd == "validate":
            return _validate(args)
        offered = _client_commands().get(cmd)
        if offered is not None:
            return asyncio.run(_client(args, offered))
    except NoReply as e:
        print(f"protoproof: error: {e}", file=sys.stderr)
        return 3
    except OSError as e:
        # A file or directory of the cluster that is missing or in the way: one line, the path named.
        what = f"{e.strerror}: {e.filename}" if e.filename else str(e)
        print(f"protoproof: error: {what}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"protoproof: error: {e}", file=sys.stderr)
        return 2
    print(f"protoproof: error: unknown command {cmd!r}", file=sys.stderr)
    return 2


async def _client(args: argparse.Namespace, offered: list[tuple[ServiceSpec, ClientCommand]]) -> int:
    cfg = load_cluster(args.cluster)
    ref = service_of(cfg).ref
    for spec, c in offered:
        if spec.ref == ref:
            return await c.run(args, cfg)
    which = " or ".join(spec.name for spec, _c in offered)
    raise ValueError(f"{args.cluster} is a {cfg.protocol} cluster; {offered[0][1].name} needs a {which} cluster")


def _given(args: argparse.Namespace, spec: ServiceSpec) -> dict[str, Any]:
    """The cluster parameters given on the command line, for ``spec``."""
    out: dict[str, Any] = {}
    for item in args.param:
        name, eq, value = item.partition("=")
        try:
            out[name.replace("-", "_")] = int(value)
        except ValueError:
            raise ValueError(f"--param {item!r}: expected NAME=INTEGER") from None
        if not eq:
            raise ValueError(f"--param {item!r}: expected NAME=INTEGER")
    own = {o.name for o in spec.options}
    for key, v in vars(args).items():
        if key.startswith("opt_") and v is not None:
            name = key[4:]
            if name not in own:
                raise ValueError(f"--{name.replace('_', '-')} is not a parameter of {spec.name} "
                                 f"(its parameters: {', '.join(sorted(own)) or 'none'})")
            out[name] = v
    return out


def _pidfile(d: Path) -> Path:
    return d / "pids.json"


def _cluster(args: argparse.Namespace) -> int:
    from .launcher import Cluster

    d = Path(args.dir).resolve()
    if args.stop:
        pids = json.loads(_pidfile(d).read_text())
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)
        _pidfile(d).unlink()
        print(f"stopped {len(pids)} node(s)")
        return 0
    spec = spec_for(args.protocol)
    given = _given(args, spec)
    if (d / CLUSTER_FILE).exists():
        cfg = load_cluster(d)
        if service_of(cfg).ref != spec.ref:
            raise ValueError(f"{d} holds a {cfg.protocol} cluster, not {spec.name}")
    else:
        cfg = spec.new_cluster(d, given, fsync=not args.no_fsync, trace=args.trace)
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


def _validate(args: argparse.Namespace) -> int:
    from .validate import validate

    r = validate(args.trace_dir)
    if args.json:
        print(json.dumps({"protocol": r.protocol, "ok": r.ok, "steps": r.steps, "instances": r.instances,
                          "problems": [str(p) for p in r.problems], "torn": r.torn}))
    else:
        print(r.summary())
        for p in sorted(r.problems, key=lambda p: p.step)[1:]:
            print(f"  also: {p}")
    return 0 if r.ok else 1
