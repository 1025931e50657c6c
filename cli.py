"""The ``protoproof`` command: list models, check them, draw counterexamples.

Exit statuses: 0 no violation (every reachable state visited, proved, or conforms), 1 a
property is violated, 2 usage error, 3 bounded or unknown (a budget ran out or a check could
not run: nothing is claimed), 4 a model error (the model raised, produced a state outside its
schema, or its z3 side disagrees with its Python).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from .checker.explore import ENGINES, ModelError, Nondeterminism, Options, Result, explore
from .checker.symmetry import AsymmetricDefinition, SymmetryError
from .checker.verdict import (
    ERROR,
    EXIT_BY_VERDICT,
    EXIT_MODEL_ERROR,
    EXIT_USAGE,
    VIOLATED,
)
from .models.actors import ActorSystem
from .models.base import Model, ModelDefinitionError
from .models.registry import Protocol, RegistryError, protocol_for, registered, where_raised
from .models.schema import to_jsonable

#: State graphs are drawn only for spaces up to this many states.
GRAPH_LIMIT = 500

MODEL_HELP = "a name from `protoproof list`, path/to/file.py:Class or package.module:Class"


class UsageError(Exception):
    """A wrong command-line argument: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _name(model: Model[Any]) -> str:
    """The model's display name: its ``name``, or its class's for a user model without one."""
    return model.name or type(model).__name__


def _opt(name: str) -> str:
    return "--" + name.replace("_", "-")


def _config_fields(cls: type[Model[Any]]) -> tuple[dataclasses.Field[Any], ...]:
    if not dataclasses.is_dataclass(cls.Config):
        raise ModelDefinitionError(f"{cls.__name__}.Config must be a frozen dataclass (@dataclass(frozen=True))")
    return dataclasses.fields(cls.Config)


def _parse_params(cls: type[Model[Any]], rest: Sequence[str]) -> dict[str, Any]:
    """Parse ``--param value`` pairs against the model's Config dataclass."""
    fields = {f.name: f for f in _config_fields(cls)}
    by_opt = {_opt(n): n for n in fields}
    out: dict[str, Any] = {}
    args = list(rest)
    while args:
        tok = args.pop(0)
        opt, eq, val = tok.partition("=")
        if opt not in by_opt:
            valid = ", ".join(sorted(by_opt)) or "none"
            raise UsageError(f"unknown option {opt!r} for model {cls.name}; its parameters: {valid}")
        name = by_opt[opt]
        if not eq:
            if not args:
                raise UsageError(f"{opt} needs a value")
            val = args.pop(0)
        default = fields[name].default
        kind = type(default) if default is not dataclasses.MISSING else str
        try:
            if kind is bool:
                if val.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                out[name] = val.lower() in ("true", "1", "yes")
            else:
                out[name] = kind(val)
        except ValueError:
            raise UsageError(f"{opt} takes {kind.__name__} values, not {val!r}") from None
    return out


def _build(args: argparse.Namespace, rest: Sequence[str]) -> tuple[Protocol, Model[Any]]:
    """The protocol named by ``args.model`` (a registered name, ``file.py:Class`` or
    ``package.module:Class``) and its model built from ``--variant`` and the parameters."""
    protocol = protocol_for(args.model)
    cls = protocol.model_class()
    params = _parse_params(cls, rest)
    if args.variant is not None:
        variants = cls.variants_of()
        if args.variant not in variants:
            valid = ", ".join(sorted(variants)) or "none"
            raise UsageError(f"model {args.model} has no variant {args.variant!r}; variants: {valid}")
        cls = variants[args.variant]
    try:
        return protocol, cls(**params)
    except ValueError as e:
        raise UsageError(str(e)) from None
    except (ModelDefinitionError, KeyboardInterrupt):
        raise
    except Exception as e:  # the author's schema() or Config raised: a model error, in one line
        raise ModelDefinitionError(f"building {cls.__name__} raised {where_raised(e)}") from None


# ----- list ---------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    rows: list[dict[str, Any]] = []
    protocols = ([protocol_for(m) for m in args.models] if args.models
                 else [p for _n, p in sorted(registered().items())])
    for p in protocols:
        cls = p.model_class()
        params = [
            {"name": f.name, "option": _opt(f.name), "default": f.default, "type": type(f.default).__name__}
            for f in _config_fields(cls)
        ]
        variants = [
            {"name": v, "breaks": list(vc.breaks), "doc": (vc.__doc__ or "").strip().split("\n")[0]}
            for v, vc in sorted(cls.variants_of().items())
        ]
        doc = p.summary or " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())  # the first paragraph
        proofs = [part for part in ("strengthening", "parameterized") if getattr(p, part) is not None]
        rows.append({"name": p.name, "doc": doc, "parameters": params, "variants": variants, "proofs": proofs})
    if args.json:
        print(json.dumps({"models": rows}, indent=2), file=out)
        return 0
    for r in rows:
        print(f"{r['name']}: {r['doc']}", file=out)
        ps = ", ".join(f"{p['option']} {p['default']}" for p in r["parameters"]) or "none"
        print(f"  parameters: {ps}", file=out)
        for v in r["variants"]:
            print(f"  --variant {v['name']}: {v['doc']} (breaks {', '.join(v['breaks'])})", file=out)
        if r["proofs"]:
            print(f"  proofs: {', '.join(r['proofs'])}", file=out)
    return 0


# ----- check --------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, rest: Sequence[str], out: TextIO, err: TextIO) -> int:
    _protocol, model = _build(args, rest)
    if args.graph:
        _check_graph_name(args.graph)
    if args.replay:
        _check_writable("--replay", args.replay)
    props = None
    if args.property:
        props = [p for group in args.property for p in group.split(",")]
    want_state_graph = bool(args.graph) and (
        args.graph_kind == "states" or (args.graph_kind == "auto" and not isinstance(model, ActorSystem))
    )
    opts = Options(
        strategy=args.strategy,
        max_states=args.max_states,
        max_depth=args.max_depth,
        timeout=args.timeout,
        deadlock=args.deadlock,
        symmetry=args.symmetry,
        properties=props,
        seed=args.seed,
        walks=args.walks,
        walk_depth=args.walk_depth,
        record_graph=GRAPH_LIMIT if want_state_graph else 0,
        progress=None if args.quiet else err,
        liveness=not args.no_liveness,
        engine=args.engine,
    )
    branches = None
    try:
        if args.branches:
            from .checker.branches import branch_coverage

            with branch_coverage(model) as branches:
                result = explore(model, opts)
        else:
            result = explore(model, opts)
    except KeyError as e:
        raise UsageError(str(e.args[0])) from None
    except (ModelError, Nondeterminism, ModelDefinitionError, AsymmetricDefinition) as e:
        return _report_error(model, e, args.json, out, err)
    except SymmetryError as e:
        raise UsageError(str(e)) from None

    graph_msg = None
    if args.graph:
        graph_msg = _draw(result, args.graph, args.graph_kind, err)
    replay = None
    if result.path is not None:
        replay = result.path.to_python(result.property)
        if args.replay:
            with open(args.replay, "w") as f:
                f.write(replay)
    if args.json:
        d = _result_json(result, replay, graph_msg)
        if branches is not None:
            d["branches"] = branches.to_json()
        print(json.dumps(d, indent=2, default=repr), file=out)
    else:
        _print_result(result, out)
        if branches is not None:
            print("\n".join(branches.to_lines(partial=result.verdict != "exhausted")), file=out)
        if graph_msg:
            print(graph_msg, file=out)
        if args.replay and replay:
            print(f"replay script written to {args.replay}", file=out)
        elif args.replay:
            print(f"no replay script written to {args.replay}: there is no counterexample", file=out)
    return EXIT_BY_VERDICT[result.verdict]


def _check_graph_name(filename: str) -> None:
    if not filename.lower().endswith((".dot", ".svg", ".png", ".pdf")):
        raise UsageError(f"--graph {filename!r}: the file name must end in .dot, .svg, .png or .pdf")
    _check_writable("--graph", filename)


def _check_writable(flag: str, filename: str) -> None:
    """Refuse an output file that cannot be written before the run, not after it (nothing is lost)."""
    folder = os.path.dirname(os.path.abspath(filename))
    if os.path.isdir(filename):
        raise UsageError(f"{flag} {filename!r} is a directory; give a file name")
    if not os.path.isdir(folder):
        raise UsageError(f"{flag} {filename!r}: no such directory {folder!r}")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{flag} {filename!r}: the directory {folder!r} is not writable")


def _draw(result: Result, filename: str, kind: str, err: TextIO) -> str:
    from .checker import render

    model = result.model
    title = None
    path = result.path
    if result.verdict == VIOLATED and result.property:
        title = f"{_name(model)}: {result.property} violated"
    if path is None:
        found = [(k, p) for k, p in result.examples.items() if p is not None]
        if found:
            title = f"{_name(model)}: a run reaching {found[0][0]}"
            path = found[0][1]
    if kind == "states" or (kind == "auto" and not isinstance(model, ActorSystem)):
        if result.graph is None:
            return (f"no state graph written: the state space has more than {GRAPH_LIMIT} states "
                    "(use a smaller configuration, or --graph-kind sequence for an actor model)")
        key = None
        if result.symmetry:
            from .checker.symmetry import Canonicalizer

            key = Canonicalizer(model).key
        dot = render.state_graph(result.graph, path, model, max_nodes=GRAPH_LIMIT, key=key)
    else:
        if path is None:
            return "no graph written: there is no counterexample or example run to draw"
        dot = render.sequence_chart(path, title=title)
    return render.write_graph(dot, filename)


def _result_json(result: Result, replay: str | None, graph_msg: str | None) -> dict[str, Any]:
    st = result.stats
    model = result.model
    out: dict[str, Any] = {
        "model": _name(model),
        "params": dataclasses.asdict(model.config),
        "variant": model.variant_name,
        "verdict": result.verdict,
        "strategy": result.strategy,
        "symmetry": result.symmetry,
        "symmetry_justification": result.justification.to_json() if result.justification else None,
        "expansion": result.expansion,
        "engine": result.engine,
        "distinct_states": st.distinct_states,
        "transitions": st.transitions,
        "depth": st.depth,
        "elapsed_s": round(st.elapsed_s, 6),
        "states_per_s": round(st.states_per_s, 1),
        "peak_rss_bytes": st.peak_rss_bytes,
        "coverage": st.coverage,
        "never_fired": st.never_fired,
        "bound": result.bound,
        "property": result.property,
        "sometimes": {k: v is not None for k, v in result.examples.items()},
    }
    if result.property:
        doc = next((p.doc for p in model.properties if p.name == result.property), "")
        out["property_doc"] = doc
    if result.path is not None:
        out["path"] = result.path.to_json()
        out["loop_start"] = result.path.loop_start
        out["replay"] = replay
    if result.liveness:
        out["liveness"] = {"note": result.liveness, "edges": st.edges_stored, "edge_bytes": st.edge_bytes,
                           "bytes_per_edge": round(st.bytes_per_edge, 2), "store_bytes": st.liveness_bytes,
                           "scc_s": round(st.liveness_s, 6)}
    if graph_msg:
        out["graph"] = graph_msg
    return out


def _print_result(result: Result, out: TextIO) -> None:
    model = result.model
    st = result.stats
    params = ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(model.config).items())
    variant = f", variant {model.variant_name}" if model.variant_name else ""
    print(f"model {_name(model)} ({params}{variant})", file=out)
    if result.verdict == VIOLATED:
        doc = next((p.doc for p in model.properties if p.name == result.property), "")
        if result.path is None:
            print(f"VIOLATED: @sometimes {result.property} is never satisfied in any reachable state"
                  f"{': ' + doc if doc else ''}", file=out)
        else:
            print(f"VIOLATED: {result.property}{': ' + doc if doc else ''}", file=out)
            k = result.path.loop_start
            if k is not None:
                loop = len(result.path) - k
                print(f"a fair behaviour that never satisfies it: {k} step{'' if k == 1 else 's'}, then "
                      + (f"a loop of {loop} steps repeated forever:" if loop else "stopped forever:"), file=out)
            else:
                print(f"shortest counterexample ({len(result.path)} steps):" if result.strategy == "bfs"
                      else f"counterexample ({len(result.path)} steps):", file=out)
            print(result.path.to_text(), file=out)
    elif result.verdict == "exhausted":
        print("no violation: every reachable state was visited (exhausted)", file=out)
    else:
        print(f"BOUNDED: no violation found within {result.bound}; this is not a proof", file=out)
        if result.unreached():
            print(f"  not reached within the bound: {', '.join(result.unreached())}", file=out)
    what = "orbits (symmetry reduced)" if result.symmetry else "distinct states"
    print(f"{st.distinct_states:,} {what}, {st.transitions:,} transitions, depth {st.depth}, "
          f"{st.elapsed_s:.2f} s ({st.states_per_s:,.0f} states/s)", file=out)
    print(f"engine: {result.engine}", file=out)
    if result.liveness:
        print(f"liveness: {result.liveness}", file=out)
        if st.edges_stored:
            print(f"  {st.edges_stored:,} edges kept at {st.bytes_per_edge:.0f} B/edge "
                  f"({st.liveness_bytes / 2**20:.1f} MiB with the per-state index), "
                  f"fair-cycle search {st.liveness_s:.2f} s", file=out)
    if result.justification is not None:
        j = result.justification
        print(f"{j.summary()} (transitions: {j.transitions}; {j.seconds:.2f} s)", file=out)
    cov = ", ".join(f"{k} {v:,}" for k, v in st.coverage.items())
    print(f"coverage: {cov}", file=out)
    if st.never_fired and result.verdict != VIOLATED:
        print(f"never fired: {', '.join(st.never_fired)}", file=out)


def _report_error(model: Model[Any], e: Exception, as_json: bool, out: TextIO, err: TextIO) -> int:
    state = getattr(e, "state", None)
    action = getattr(e, "action", None)
    tb = getattr(e, "traceback", None)
    if tb is None:
        tb = "".join(traceback.format_exception(e))
    if as_json:
        print(json.dumps({
            "model": _name(model),
            "params": dataclasses.asdict(model.config),
            "variant": model.variant_name,
            "verdict": ERROR,
            "error": getattr(e, "message", str(e)),
            "action": None if action is None else repr(action),
            "state": None if state is None else to_jsonable(model.describe_state(state)),
            "traceback": tb,
        }, indent=2, default=repr), file=out)
    else:
        print(f"MODEL ERROR in {_name(model)}: {e}", file=err)
        if tb:  # empty where the code did not raise (an asymmetric property)
            print(tb, file=err)
    return EXIT_MODEL_ERROR


# ----- z3: bmc, prove, conform --------------------------------------------------------


def _props(args: argparse.Namespace) -> list[str] | None:
    if not getattr(args, "property", None):
        return None
    return [p for group in args.property for p in group.split(",")]


def _emit(result: Any, as_json: bool, out: TextIO, graph: str | None = None) -> str | None:
    """Print a symbolic engine's result; draw its counterexample path if asked."""
    msg = None
    path = getattr(result, "path", None)
    if graph and path is not None:
        from .checker import render

        title = f"{_name(result.model)}: {getattr(result, 'property', None) or 'counterexample'}"
        dot = (render.sequence_chart(path, title=title) if isinstance(result.model, ActorSystem)
               else render.state_graph(_path_graph(path), path, result.model))
        msg = render.write_graph(dot, graph)
    if as_json:
        d = result.to_json()
        if msg:
            d["graph"] = msg
        print(json.dumps(d, indent=2, default=repr), file=out)
    else:
        print("\n".join(result.to_lines()), file=out)
        if msg:
            print(msg, file=out)
    return msg


def _path_graph(path: Any) -> Any:
    """A state graph holding just one path (for plain models' BMC traces)."""
    from .checker.explore import Graph

    pack = path.model.state_type.pack
    codes = [pack(s) for s in path.states]
    edges = [(a, repr(act), b) for a, act, b in zip(codes, path.actions, codes[1:], strict=False)]
    return Graph(dict(zip(codes, path.states, strict=True)), edges, codes[:1])


def _symbolic(run: Any, model: Model[Any], as_json: bool, out: TextIO, err: TextIO) -> Any:
    """Run a symbolic engine, turning unsupported constructs into a reported model error."""
    from .checker.bmc import SymbolicMismatch
    from .checker.symbolic import SymbolicError

    try:
        return run()
    except KeyError as e:
        raise UsageError(str(e.args[0])) from None
    except (SymbolicError, SymbolicMismatch, ModelDefinitionError, ModelError, Nondeterminism) as e:
        # ModelError/Nondeterminism: the explicit search that builds the sample of reachable states
        _report_error(model, e, as_json, out, err)
        return None


def _note_unchecked(model: Model[Any], engine: str, args: argparse.Namespace, out: TextIO,
                    err: TextIO) -> None:
    """A z3 engine checks ``@always`` properties only: say what else the model claims, so that its
    verdict is not read as covering liveness or refinement."""
    if _props(args):
        return
    kinds = (("liveness", [p.name for p in model.liveness_properties]),
             ("refinement", [r.name for r in model.refinements()]))
    for kind, names in kinds:
        if names:
            print(f"  not checked by {engine}: {kind} {', '.join(names)} (only `check` checks {kind})",
                  file=err if args.json else out)


def cmd_bmc(args: argparse.Namespace, rest: Sequence[str], out: TextIO, err: TextIO) -> int:
    from .checker.bmc import bmc

    _protocol, model = _build(args, rest)
    if args.graph:
        _check_graph_name(args.graph)
    r = _symbolic(lambda: bmc(model, args.depth, _props(args)), model, args.json, out, err)
    if r is None:
        return EXIT_MODEL_ERROR
    _emit(r, args.json, out, args.graph)
    _note_unchecked(model, "bmc", args, out, err)
    return EXIT_BY_VERDICT[r.verdict]


def cmd_prove(args: argparse.Namespace, rest: Sequence[str], out: TextIO, err: TextIO) -> int:
    from .checker.induction import prove
    from .checker.inductive_explicit import check_inductive
    from .proofs import strengthening_for

    protocol, model = _build(args, rest)
    strengthening = [] if args.no_strengthening else (strengthening_for(model, protocol) or [])
    for flag, given in (("--no-tie", args.no_tie), ("--condition", args.condition)):
        if given and not args.parameterized:
            raise UsageError(f"{flag} only applies to --parameterized")
    if args.parameterized:
        prove_param = protocol.load("parameterized")
        if prove_param is None:
            have = ", ".join(sorted(n for n, p in registered().items() if p.parameterized)) or "none"
            raise UsageError(f"no parameterized proof for {protocol.name}; models with one: {have}")
        if rest:
            raise UsageError(f"the parameterized proof covers every size; drop {' '.join(rest)}")
        ignored = [flag for flag, given in (("--property", args.property), ("--k", args.k != 1),
                                            ("--explicit", args.explicit),
                                            ("--no-strengthening", args.no_strengthening)) if given]
        if ignored:
            raise UsageError(f"{', '.join(ignored)}: not used by --parameterized (it proves its properties "
                             "with its own invariant)")

        # The tie runs on the model class asked for (a --variant's planted bug fails it); a tie
        # mismatch is verdict error (exit 4), an untied proof proved-formulas-only (exit 3).
        def note(line: str) -> None:
            print(f"  {line}", file=err, flush=True)

        extra = {"condition": args.condition} if args.condition else {}  # only proofs with a timing condition
        try:
            r = prove_param(tie=not args.no_tie, model_class=type(model), progress=None if args.json else note, **extra)
        except (TypeError, ValueError) as e:
            if not args.condition:
                raise
            raise UsageError(f"--condition: {e}") from None
        _emit(r, args.json, out)
        return EXIT_BY_VERDICT[r.verdict]
    if args.explicit:
        def run() -> Any:
            try:
                return check_inductive(model, strengthening, properties=_props(args))
            except ValueError as e:
                raise UsageError(str(e)) from None
    else:
        def run() -> Any:
            return prove(model, strengthening, k=args.k, properties=_props(args))
    r = _symbolic(run, model, args.json, out, err)
    if r is None:
        return EXIT_MODEL_ERROR
    _emit(r, args.json, out)
    _note_unchecked(model, "prove", args, out, err)
    return EXIT_BY_VERDICT[r.verdict]


def cmd_conform(args: argparse.Namespace, rest: Sequence[str], out: TextIO, err: TextIO) -> int:
    from .checker.conformance import conform
    from .proofs import strengthening_for, twin_domain_for

    protocol, model = _build(args, rest)
    strengthening = strengthening_for(model, protocol) or []  # its conjuncts are formulas `prove` relies on
    twin_domain = twin_domain_for(model, protocol)
    r = _symbolic(lambda: conform(model, args.random, args.seed, max_reachable=args.max_states,
                                  strengthening=strengthening, twin_domain=twin_domain),
                  model, args.json, out, err)
    if r is None:
        return EXIT_MODEL_ERROR
    _emit(r, args.json, out)
    return EXIT_BY_VERDICT[r.verdict]  # conforms 0, unknown (something not compared) 3, error 4


# ----- entry point --------------------------------------------------------------------


def _parser() -> _Parser:
    p = _Parser(prog="protoproof", description=__doc__.split("\n")[0] if __doc__ else None, allow_abbrev=False)
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    ls = sub.add_parser("list", help="models, their parameters and variants", allow_abbrev=False)
    ls.add_argument("models", nargs="*", metavar="model",
                    help="only these (a name, path/to/file.py:Class or package.module:Class)")
    ls.add_argument("--json", action="store_true")
    ck = sub.add_parser("check", help="explore every reachable state and check the properties", allow_abbrev=False)
    ck.add_argument("model", help=MODEL_HELP)
    ck.add_argument("--variant", help="a planted bug (see `protoproof list`)")
    ck.add_argument("--property", action="append", help="check only these properties (repeat or comma-separate)")
    ck.add_argument("--strategy", choices=("bfs", "dfs", "random"), default="bfs")
    ck.add_argument("--seed", type=int, default=0, help="seed of --strategy random")
    ck.add_argument("--walks", type=int, default=100, help="number of random walks")
    ck.add_argument("--walk-depth", type=int, default=100, help="steps per random walk")
    ck.add_argument("--engine", choices=ENGINES, default="auto",
                    help="vector: whole BFS levels at once on packed codes (numpy); scalar: one state at a time; "
                    "auto (default): vector where it applies")
    ck.add_argument("--max-states", type=_positive, default=None)
    ck.add_argument("--max-depth", type=_positive, default=None)
    ck.add_argument("--timeout", type=_positive_float, default=None, help="seconds")
    ck.add_argument("--deadlock", action="store_true",
                    help="report states with no successor (but those a @terminal predicate accepts)")
    ck.add_argument("--symmetry", action="store_true",
                    help="reduce by interchangeable node ids (liveness properties are then not checked)")
    ck.add_argument("--no-liveness", action="store_true",
                    help="skip the model's liveness properties (no edges kept: safety only)")
    ck.add_argument("--graph", help="write the counterexample as .dot, .svg, .png or .pdf")
    ck.add_argument("--graph-kind", choices=("auto", "sequence", "states"), default="auto")
    ck.add_argument("--replay", help="write a Python script that replays the counterexample")
    ck.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ck.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    ck.add_argument("--branches", action="store_true",
                    help="report the model's conditions never taken both ways (informational)")

    bm = sub.add_parser("bmc", help="bounded model checking with z3 from the same transitions", allow_abbrev=False)
    bm.add_argument("model", help=MODEL_HELP)
    bm.add_argument("--depth", type=_positive, required=True, help="steps to unroll")
    bm.add_argument("--variant")
    bm.add_argument("--property", action="append")
    bm.add_argument("--graph", help="write the counterexample as .dot, .svg, .png or .pdf")
    bm.add_argument("--json", action="store_true")

    pv = sub.add_parser("prove", help="prove the invariants by induction with z3", allow_abbrev=False)
    pv.add_argument("model", help=MODEL_HELP)
    pv.add_argument("--variant")
    pv.add_argument("--property", action="append")
    pv.add_argument("--k", type=_positive, default=1, help="k-induction depth (default 1)")
    pv.add_argument("--explicit", action="store_true",
                    help="check inductiveness by enumerating every type-correct state (tiny instances)")
    pv.add_argument("--no-strengthening", action="store_true", help="try the properties alone")
    pv.add_argument("--parameterized", action="store_true",
                    help="the proof for any number of nodes (uninterpreted sorts), tied to the model; "
                         "for the protocols that declare one (`protoproof list`)")
    pv.add_argument("--no-tie", action="store_true",
                    help="with --parameterized: skip the tie to the model (verdict proved-formulas-only)")
    pv.add_argument("--condition", help="with --parameterized, for proofs over timings: the condition on the "
                    "parameters to prove under, e.g. 'margin >= 3*drift' (a weaker one shows a counterexample)")
    pv.add_argument("--json", action="store_true")

    cf = sub.add_parser("conform", help="symbolic relation == concrete successors", allow_abbrev=False)
    cf.add_argument("model", help=MODEL_HELP)
    cf.add_argument("--variant")
    cf.add_argument("--random", type=_non_negative, default=1000, help="random type-correct states to compare")
    cf.add_argument("--seed", type=int, default=0)
    cf.add_argument("--max-states", type=_positive, default=20_000,
                    help="reachable states to compare (the first ones in BFS order); fewer than the "
                         "instance has makes the verdict unknown")
    cf.add_argument("--json", action="store_true")

    from .impl.commands import add_commands

    add_commands(sub)  # the runtime: cluster, kv, tx, validate
    return p


def _bounded(kind: type, lo: float, strict: bool, what: str) -> Any:
    """An argparse type: a number of ``kind`` above ``lo`` (or at least ``lo`` unless ``strict``)."""
    def parse(v: str) -> Any:
        try:
            x = kind(v)
        except ValueError:
            x = None
        if x is None or x < lo or (strict and x == lo):
            raise argparse.ArgumentTypeError(f"expected {what}, not {v!r}")
        return x

    return parse


_positive = _bounded(int, 0, True, "a positive integer")
_non_negative = _bounded(int, 0, False, "a whole number")
_positive_float = _bounded(float, 0, True, "a positive number")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = _parser()
    try:
        args, rest = parser.parse_known_args(argv)
        if args.command is None:
            raise UsageError("a command is needed: list, check, bmc, prove, conform, cluster, kv, tx, validate")
        if args.command == "list":
            if rest:
                raise UsageError(f"unrecognized arguments: {' '.join(rest)}")
            return cmd_list(args, out)
        handler = {"check": cmd_check, "bmc": cmd_bmc, "prove": cmd_prove, "conform": cmd_conform}
        if args.command not in handler:
            from .impl.commands import run_command

            if rest:
                raise UsageError(f"unrecognized arguments: {' '.join(rest)}")
            return run_command(args)
        return handler[args.command](args, rest, out, err)
    except (UsageError, RegistryError) as e:
        print(f"protoproof: error: {e}", file=err)
        return EXIT_USAGE
    except ModelDefinitionError as e:
        print(f"protoproof: model definition error: {e}", file=err)
        return EXIT_MODEL_ERROR
    except KeyboardInterrupt:
        print("protoproof: interrupted", file=err)
        return 130
    except BrokenPipeError:
        # The reader went away (`protoproof check ... | head`): stop quietly.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stream until exit
        return 141
