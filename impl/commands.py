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
import signal
import sys
import time
from pathlib import Path
from typing import Any

from ..models.types import SchemaError
from .client import NoReply
from .cluster import CLUSTER_FILE, ClusterConfig, add_client, load_cluster, load_credentials, sh
from .recovery import store_intact
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
                                    "package.module:SERVICE / file.py:SERVICE to start; or stop, restart, "
                                    "status, rejoin, add-client: act on the cluster in --dir")
    p.add_argument("client_name", nargs="?", default=None, metavar="NAME",
                   help="with add-client (before the options): the client to issue an id and its own key "
                        "(DIR/clients/NAME.json)")
    p.add_argument("--name", dest="client_flag", default=None, metavar="NAME",
                   help="with add-client: the client's name (as NAME, anywhere on the line)")
    seen: dict[str, list[str]] = {}
    for spec in specs:
        for o in spec.options:
            seen.setdefault(o.name, []).append(f"{spec.name}: {o.help or o.name} (default {o.default})")
    for name, helps in seen.items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=f"opt_{name}", type=int, default=None, metavar="N",
                       help="; ".join(helps))
    p.add_argument("--variant", default=None, metavar="NAME",
                   help="run a planted bug for real (a service's runtime variants: "
                        + "; ".join(f"{s.name}: {', '.join(sorted(s.variants))}" for s in specs if s.variants) + ")")
    p.add_argument("--param", action="append", default=[], metavar="NAME=INT",
                   help="a cluster parameter of a service without its own option")
    p.add_argument("--dir", required=True, help="cluster directory (created; reused if it holds a cluster)")
    p.add_argument("--detach", action="store_true", help="start the nodes and return")
    p.add_argument("--no-fsync", action="store_true", help="sqlite synchronous=OFF (benchmarks only)")
    p.add_argument("--trace", action="store_true", help="record every node's steps under DIR/trace")
    p.add_argument("--stop", action="store_true", help="stop the cluster in --dir (as `cluster stop`)")
    p.add_argument("--node", type=int, default=None, metavar="I",
                   help="with stop or restart: only node I; with rejoin: the node to rejoin")
    p.add_argument("--join", action="store_true",
                   help="add a spare node to the running cluster's ring and wait until its keys have moved")
    p.add_argument("--leave", type=int, default=None, metavar="I",
                   help="take node I out of the running cluster's ring and wait until its keys have moved")

    for name, offered in _client_commands().items():
        c = offered[0][1]
        p = subparsers.add_parser(name, help=c.help if len(offered) == 1 else f"{name}: " + "; ".join(
            f"{spec.name}: {cmd.help}" for spec, cmd in offered))
        which = " or ".join(spec.name for spec, _c in offered)
        p.add_argument("--cluster", required=True, help=f"cluster directory (a {which} cluster)")
        p.add_argument("--credentials", default=None, metavar="FILE",
                       help="act as the client issued FILE by `cluster add-client` (default: a pool id)")
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
    except SchemaError as e:
        # A request the protocol's messages cannot carry (a value too long, an RM it does not have).
        print(f"protoproof: error: the request does not fit the protocol's messages: {e}", file=sys.stderr)
        return 2
    print(f"protoproof: error: unknown command {cmd!r}", file=sys.stderr)
    return 2


async def _client(args: argparse.Namespace, offered: list[tuple[ServiceSpec, ClientCommand]]) -> int:
    from .lifecycle import refusing

    cfg = _existing(Path(args.cluster).resolve())
    if getattr(args, "credentials", None) is not None:
        cfg = load_credentials(cfg, args.credentials)
    ref = service_of(cfg).ref
    for spec, c in offered:
        if spec.ref == ref:
            if c.check is not None:
                c.check(args)
            refused = refusing(cfg)
            if len(refused) == len(cfg.nodes):  # fail now rather than wait out --timeout
                raise NoReply(f"no node of the cluster in {args.cluster} is running (connection refused at "
                              f"{', '.join(refused)}); start it with: protoproof cluster {cfg.protocol} "
                              f"--dir {sh(args.cluster)} --detach")
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
    for name in out:
        if name not in own:  # it was stored and never read: the cluster ran without it
            raise ValueError(f"--param {name}: not a parameter of {spec.name} "
                             f"(its parameters: {', '.join(sorted(own)) or 'none'})")
    for key, v in vars(args).items():
        if key.startswith("opt_") and v is not None:
            name = key[4:]
            if name not in own:
                raise ValueError(f"--{name.replace('_', '-')} is not a parameter of {spec.name} "
                                 f"(its parameters: {', '.join(sorted(own)) or 'none'})")
            out[name] = v
    return out


#: Words in the protocol's place that act on the cluster already in ``--dir``.
ACTIONS = ("stop", "restart", "status", "rejoin", "add-client")


def _existing(d: Path) -> ClusterConfig:
    if not (d / CLUSTER_FILE).exists():
        raise ValueError(f"{d} holds no cluster (no {CLUSTER_FILE}); start one with: "
                         f"protoproof cluster PROTOCOL --dir {sh(d)}")
    return load_cluster(d)


def _cluster(args: argparse.Namespace) -> int:
    from . import lifecycle
    from .launcher import Cluster

    d = Path(args.dir).resolve()
    if d.exists() and not d.is_dir():
        raise ValueError(f"--dir {args.dir}: a file, not a directory")
    if args.join or args.leave is not None:
        cfg = _existing(d)
        change = service_of(cfg).membership
        if change is None:
            raise ValueError(f"a {cfg.protocol} cluster has no membership changes (--join/--leave)")
        if args.join and args.leave is not None:
            raise ValueError("give --join or --leave, not both")
        return asyncio.run(change(cfg, args.join, args.leave))
    action = "stop" if args.stop else args.protocol if args.protocol in ACTIONS else None
    name = getattr(args, "client_name", None) or getattr(args, "client_flag", None)
    if action == "add-client" and name is None:
        raise ValueError("add-client needs the client's name: protoproof cluster add-client NAME --dir D")
    if action != "add-client" and name is not None:
        raise ValueError(f"{name!r}: a client name goes with add-client only "
                         "(protoproof cluster add-client NAME --dir D)")
    if action == "add-client":
        if not (d / CLUSTER_FILE).exists():
            _existing(d)
        cid, path = add_client(load_cluster(d, as_node=True), str(name))
        print(f"client {name}: id {cid}, its key in {path} (mode 0600); use it with: "
              f"protoproof kv --cluster {sh(args.dir)} --credentials {sh(path)} ...")
        return 0
    if action == "rejoin" and args.node is None:
        raise ValueError("rejoin needs the node: protoproof cluster rejoin --dir D --node I")
    if args.node is not None and action not in ("stop", "restart", "rejoin"):
        raise ValueError("--node names the node to stop or restart: protoproof cluster restart --dir D --node I")
    if action is not None:
        cfg = _existing(d)
        if args.node is not None and args.node not in cfg.node_ids:
            raise ValueError(f"--node {args.node}: the cluster in {d} has nodes {cfg.node_ids[0]}..{cfg.node_ids[-1]}")
        if action == "stop":
            print(lifecycle.stop(cfg, args.node).summary())
            sup = lifecycle.supervisor_pid(cfg) if args.node is not None else None
            if sup is not None:
                print(f"its supervisor (pid {sup}) leaves node {args.node} stopped; start it again with: "
                      f"protoproof cluster restart --dir {sh(args.dir)} --node {args.node}")
            return 0
        if action == "status":
            live = lifecycle.running(cfg)
            sup = lifecycle.supervisor_pid(cfg)
            for n in cfg.nodes:
                state = f"running (pid {live[n.id]})" if n.id in live else "not running"
                print(f"{n.name} (node {n.id}) {n.address}: {state}")
            if sup is not None:
                print(f"supervised in the foreground by pid {sup}")
            return 0 if len(live) == len(cfg.nodes) else 1
        if action == "rejoin":
            return _rejoin(cfg, args.node)
        return _restart(cfg, args.node)
    spec = spec_for(args.protocol)
    given = _given(args, spec)
    if args.variant is not None:
        preset = spec.variant(args.variant)
        clash = [k for k in preset if k in given and given[k] != preset[k]]
        if clash:
            raise ValueError(f"--variant {args.variant} sets {clash[0]}={preset[clash[0]]}; drop --{clash[0]}")
        given.update(preset)
        if (d / CLUSTER_FILE).exists():
            raise ValueError(f"{d} already holds a cluster; a variant applies to a new cluster (use a new --dir)")
    if (d / CLUSTER_FILE).exists():
        cfg = load_cluster(d)
        if service_of(cfg).ref != spec.ref:
            raise ValueError(f"{d} holds a {cfg.protocol} cluster, not {spec.name}")
        differ = [f"--{k.replace('_', '-')} {v} (it has {cfg.params.get(k)})" for k, v in given.items()
                  if cfg.params.get(k) != v]
        differ += [f"{flag} (it was made without)" for flag, given_flag, has in
                   (("--trace", args.trace, cfg.trace), ("--no-fsync", args.no_fsync, not cfg.fsync))
                   if given_flag and not has]
        if differ:  # its parameters were fixed when it was created: the given ones would be ignored
            raise ValueError(f"{d} already holds a {spec.name} cluster made with other parameters: "
                             f"{', '.join(differ)}; drop them to start it as it is, or use a new --dir")
    else:
        cfg = spec.new_cluster(d, given, fsync=not args.no_fsync, trace=args.trace)
        cfg.save()
    live = lifecycle.running(cfg)
    sup = lifecycle.supervisor_pid(cfg)
    if sup is not None:
        raise ValueError(f"the cluster in {d} is supervised by a running `protoproof cluster` (pid {sup}); "
                         f"stop it with: protoproof cluster stop --dir {sh(args.dir)}")
    if live and not args.detach:
        raise ValueError(f"node(s) {', '.join(map(str, sorted(live)))} of {d} already run detached; stop them "
                         f"first (protoproof cluster stop --dir {sh(args.dir)}) or add the missing ones with --detach")
    cluster = Cluster(cfg)
    todo = [n.id for n in cfg.nodes if n.id not in live]
    for i in sorted(live):
        print(f"{cfg.node(i).name} (node {i}) already running (pid {live[i]}); left as it is", flush=True)
    for i in todo:
        lifecycle.release(cfg, i)  # starting the cluster starts a node stopped by `cluster stop --node` too
    try:
        failed = cluster.start_some(todo)
        for i in todo:
            n = cfg.node(i)
            print(f"{n.name} (node {i}) " + (f"did not start: {failed[i]}" if i in failed
                                             else f"listening on {n.address}"), flush=True)
        if args.detach:
            cluster.procs.clear()  # left running on purpose; `cluster stop` ends them
            if failed:
                others = "the others run detached" if len(failed) < len(todo) else "none runs"
                print(f"{len(failed)} node(s) did not start; {others}", file=sys.stderr)
                return 1
            print(f"detached; stop with: protoproof cluster stop --dir {sh(args.dir)}")
            return 0
        if len(failed) == len(todo):
            print("no node started", file=sys.stderr)
            return 1
        return _supervise(cluster, set(failed))
    finally:
        cluster.stop_all()


def _restart(cfg: ClusterConfig, only: int | None) -> int:
    """Replace node ``only`` (or each node in turn): a supervisor restarts what it sees die; else start it detached."""
    from . import lifecycle
    from .launcher import Cluster, StartError

    sup = lifecycle.supervisor_pid(cfg)
    status = 0
    for i in [only] if only is not None else cfg.node_ids:
        lifecycle.release(cfg, i)  # stopped by `cluster stop --node`: its supervisor may start it again
        old = lifecycle.node_pid(cfg, i)
        if old is not None:
            lifecycle.terminate(old)
        if sup is not None:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and lifecycle.node_pid(cfg, i) in (None, old):
                time.sleep(0.1)
            new = lifecycle.node_pid(cfg, i)
            if new is None or new == old:
                print(f"node {i}: stopped; its supervisor (pid {sup}) has not restarted it yet", file=sys.stderr)
                status = 1
                continue
        else:
            cluster = Cluster(cfg)
            try:
                cluster.start(i)
            except StartError as e:
                print(f"node {i}: {e}", file=sys.stderr)
                status = 1
                continue
            finally:
                cluster.procs.clear()
                cluster.stop_all()
            new = lifecycle.node_pid(cfg, i)
        was = f"pid {old}" if old is not None else "not running"
        print(f"node {i} restarted ({was} -> pid {new})", flush=True)
    return status


def _rejoin(cfg: ClusterConfig, i: int) -> int:
    """``cluster rejoin --node I``: the explicit recovery of a node that refuses to start because
    its store was lost or damaged (``recovery``): its files are set aside and it starts detached
    as a learner, which votes and serves only once it has caught up from enough peers."""
    from . import lifecycle
    from .launcher import Cluster, StartError

    # Every refusal comes before anything is set aside or rewritten (``open_store(as_learner=True)``).
    old = lifecycle.node_pid(cfg, i)
    if old is not None:
        raise ValueError(f"node {i} is running (pid {old}); only a node that refuses to start needs rejoin")
    if store_intact(cfg, i):
        raise ValueError(f"node {i}'s store is intact (it is the one its marker names), so it needs no rejoin; "
                         f"nothing was changed; start it with: protoproof cluster restart --dir {sh(cfg.directory)} "
                         f"--node {i}")
    node = service_of(cfg).node
    refusal = getattr(node, "rejoin_refusal", None)
    why_not = refusal(cfg, i) if refusal is not None else \
        f"a {cfg.protocol} node cannot rejoin as a learner; restore its store from a backup"
    if why_not is not None:
        raise ValueError(f"{why_not}; nothing was changed")
    lifecycle.release(cfg, i)  # stopped by `cluster stop --node`: running again, a supervisor may restart it
    cluster = Cluster(cfg)
    try:
        cluster.start(i, as_learner=True)
    except StartError as e:
        raise ValueError(str(e)) from None
    finally:
        cluster.procs.clear()  # left running on purpose, like --detach
        cluster.stop_all()
    print(f"node {i} rejoining as a learner (pid {lifecycle.node_pid(cfg, i)}); it votes and serves once it has "
          f"caught up from its peers (see {cfg.node_dir(i) / 'node.log'})")
    return 0


def _supervise(cluster: Any, failed: set[int]) -> int:
    """Keep the nodes up until SIGINT/SIGTERM: a node that exits or never started is started again,
    with a growing delay (1 s doubling to 30 s), and the healthy ones are left alone."""
    from . import lifecycle
    from .launcher import StartError

    cfg = cluster.cfg
    sup_file = cfg.directory / lifecycle.SUPERVISOR_FILE
    lifecycle.write_pid(sup_file)
    print("running; Ctrl-C to stop", flush=True)
    held: set[int] = set()  # stopped by `cluster stop --node` (``lifecycle.hold``): left stopped
    stop = False

    def on_signal(_sig: int, _frame: Any) -> None:
        nonlocal stop
        stop = True

    delay = {i: 1.0 for i in failed}
    due = {i: time.monotonic() + 1.0 for i in failed}
    old = signal.signal(signal.SIGTERM, on_signal)
    old_int = signal.signal(signal.SIGINT, on_signal)
    try:
        while not stop:
            time.sleep(0.2)
            now = time.monotonic()
            for n in cfg.nodes:
                i = n.id
                if lifecycle.held(cfg, i) and not cluster.alive(i):
                    if i not in held:
                        held.add(i)
                        due.pop(i, None)
                        print(f"node {i} was stopped by `cluster stop --node {i}`; leaving it stopped "
                              f"(start it again with: protoproof cluster restart --dir {sh(cfg.directory)} "
                              f"--node {i})", flush=True)
                    continue
                if i in held:
                    held.discard(i)
                    print(f"node {i} released by `cluster restart`; starting it", flush=True)
                    delay[i] = 0.0
                    due[i] = now
                if i not in due and not cluster.alive(i):
                    print(f"node {i} exited; restarting it", flush=True)
                    delay[i] = 0.0
                    due[i] = now
                if i in due and now >= due[i] and not stop:
                    try:
                        cluster.procs.pop(i, None)
                        cluster.start(i)
                    except StartError as e:
                        delay[i] = min(30.0, max(1.0, 2 * delay[i]))
                        due[i] = time.monotonic() + delay[i]
                        print(f"node {i} did not start: {e}; retrying in {delay[i]:.0f} s", flush=True)
                    else:
                        del due[i]
                        print(f"node {i} listening on {n.address}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, old)
        signal.signal(signal.SIGINT, old_int)
        with contextlib.suppress(OSError):
            sup_file.unlink()
    print("stopping", flush=True)
    return 0


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
