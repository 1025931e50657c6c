"""The ``protoproof`` command: list models, check them, draw counterexamples.

Exit statuses: 0 no violation (every reachable state visited, proved, or conforms), 1 a
property is violated, 2 usage error, 3 bounded or unknown (a budget ran out or a check could
not run: nothing is claimed), 4 a model error (the model raised, produced a state outside its
schema, or its z3 side disagrees with its Python).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import sys
import traceback
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from . import __version__
from .checker.checks import explain_refinement, property_doc
from .checker.errors import ConstraintError, ConstraintFailed
from .checker.explore import ENGINES, ModelError, Nondeterminism, Options, Result, explore
from .checker.interrupt import cause, on_sigint
from .checker.symmetry import AsymmetricDefinition, Canonicalizer, SymmetryError
from .checker.verdict import (
    ERROR,
    EXIT_BY_VERDICT,
    EXIT_INTERNAL,
    EXIT_MODEL_ERROR,
    EXIT_USAGE,
    UNKNOWN,
    VIOLATED,
)
from .cli_describe import config_fields, describe, lines, model_help, option_name, optional_type
from .cli_progress import progress_stream, reporter
from .impl.argtypes import non_negative, non_negative_float, positive, positive_float
from .models.actors import ActorSystem
from .models.base import Model, ModelDefinitionError, ParameterError
from .models.registry import Protocol, RegistryError, protocol_for, protocol_of, registered, where_raised
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
    return model.display_name


_BOOLS = ("true", "false", "1", "0", "yes", "no")


def _parse_params(cls: type[Model[Any]], rest: Sequence[str], command: str = "") -> dict[str, Any]:
    """Parse ``--param value`` pairs against the model's Config dataclass (what ``command``'s own
    options left: an option of another command lands here too, so the error names both)."""
    fields = {f.name: f for f in config_fields(cls) if f.init}
    kinds = {n: _kind(cls.Config, f) for n, f in fields.items()}
    by_opt = {option_name(n): n for n in fields}
    flags = {n for n, k in kinds.items() if k is bool}  # --NAME / --no-NAME also work
    negated = {"--no-" + option_name(n)[2:]: n for n in flags}
    out: dict[str, Any] = {}
    args = list(rest)
    while args:
        tok = args.pop(0)
        opt, eq, val = tok.partition("=")
        if opt in negated:
            if eq and val.lower() not in _BOOLS:
                raise UsageError(f"{opt} takes bool values, not {val!r}")
            out[negated[opt]] = bool(eq) and val.lower() not in ("true", "1", "yes")  # --no-x=false: x
            continue
        if opt not in by_opt:
            valid = ", ".join(sorted(by_opt)) or "none"
            cmd = f"not an option of {command}, nor a parameter of model" if command else "for model"
            raise UsageError(f"unknown option {opt!r}: {cmd} {cls.name}; its parameters: {valid}")
        name = by_opt[opt]
        if not eq and name in flags and (not args or args[0].startswith("--")):
            out[name] = True
            continue
        if not eq:
            if not args:
                raise UsageError(f"{opt} needs a value")
            val = args.pop(0)
        kind = kinds[name]
        if kind is None:
            ty = getattr(fields[name].type, "__name__", fields[name].type)
            raise UsageError(f"{opt}: a parameter of type {ty} cannot be given on the command line "
                             "(int, float, str or bool can)")
        try:
            if kind is bool:
                if val.lower() not in _BOOLS:
                    raise ValueError
                out[name] = val.lower() in ("true", "1", "yes")
            else:
                out[name] = kind(val)
        except ValueError:
            raise UsageError(f"{opt} takes {kind.__name__} values, not {val!r}") from None
    return out


_KINDS: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}


def _kind(config: type, f: dataclasses.Field[Any]) -> type | None:
    """What a command-line value of ``f`` is parsed as: its annotation's type (``int``, ``int |
    None``, ``Optional[float]``), else its default's; None for a type the command line cannot give
    (a tuple, a list)."""
    try:
        hint = typing.get_type_hints(config).get(f.name)
    except Exception:  # an annotation that does not resolve: judge by the default
        hint = None
    if hint is not None:
        parts = [a for a in typing.get_args(hint) if a is not type(None)] \
            if typing.get_origin(hint) in (typing.Union, types.UnionType) else [hint]
        return parts[0] if len(parts) == 1 and parts[0] in _KINDS.values() else None
    if f.default not in (dataclasses.MISSING, None):
        t = type(f.default)
        return t if t in _KINDS.values() else None
    return _KINDS.get(optional_type(f.type))


def _build(args: argparse.Namespace, rest: Sequence[str]) -> tuple[Protocol, Model[Any]]:
    """The protocol named by ``args.model`` (a registered name, ``file.py:Class`` or
    ``package.module:Class``) and its model built from ``--variant`` and the parameters."""
    protocol = protocol_for(args.model)
    cls = protocol.model_class()
    params = _parse_params(cls, rest, getattr(args, "command", "") or "")
    if args.variant is not None:
        variants = cls.variants_of()
        if args.variant not in variants:
            valid = ", ".join(sorted(variants)) or "none"
            raise UsageError(f"model {args.model} has no variant {args.variant!r}; variants: {valid}")
        cls = variants[args.variant]
        params = {**cls.variant_defaults, **params}  # the parameters its bug needs to show, unless given
    missing = [option_name(f.name) for f in config_fields(cls) if f.name not in params and f.init
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise UsageError(f"model {cls.name} needs {', '.join(missing)} (no default)")
    try:
        return protocol, cls(**params)
    except ParameterError as e:  # a value out of range: the user's input
        raise UsageError(str(e)) from None
    except (ModelDefinitionError, KeyboardInterrupt):
        raise
    except Exception as e:  # the author's schema() or Config raised: a model error, in one line
        raise ModelDefinitionError(f"building {cls.__name__} raised {where_raised(e)}") from None


# ----- list ---------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    protocols = ([protocol_for(m) for m in args.models] if args.models
                 else [p for _n, p in sorted(registered().items())])
    rows = [describe(p) for p in protocols]
    if args.json:
        print(json.dumps({"models": rows}, indent=2), file=out)
        return 0
    for r in rows:
        print("\n".join(lines(r)), file=out)
    return 0


# ----- check --------------------------------------------------------------------------


def max_local_workers() -> int:
    """The most worker processes ``--workers`` may start on this machine (4 per core, at least 8):
    more only slow the search, and a typo such as ``--workers 100000`` would fork until the
    machine stalls. ``--ray HOST:PORT`` places its actors on a cluster's cores: no limit there."""
    return max(8, 4 * (os.cpu_count() or 1))


def cmd_check(args: argparse.Namespace, rest: Sequence[str], out: TextIO, err: TextIO) -> int:
    if args.workers is not None and args.ray in (None, "local") and args.workers > max_local_workers():
        raise UsageError(f"--workers {args.workers}: at most {max_local_workers()} processes on this machine "
                         f"({os.cpu_count()} cores); --ray HOST:PORT runs more on a Ray cluster")
    _protocol, model = _build(args, rest)
    if args.graph:
        _check_graph_name(args.graph)
    if args.graph_kind != "auto" and not args.graph:
        raise UsageError(f"--graph-kind {args.graph_kind} needs --graph FILE")
    if args.graph_kind == "sequence" and not isinstance(model, ActorSystem):
        raise UsageError(f"--graph-kind sequence needs an actor model (nodes and messages); {_name(model)} is a "
                         "plain model: use --graph-kind states")
    if args.cluster_by:
        _check_cluster_by(args, model)
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
        walk_fresh=args.walk_fresh,
        width=args.width,
        shorten=args.shorten,
        record_graph=GRAPH_LIMIT if want_state_graph else 0,
        progress=progress_stream(err, args.quiet),
        liveness=not args.no_liveness,
        interruptible=True,
        engine=args.engine,
        scale=_scale(args),
        constraint=args.constraint,
    )
    note = reporter(err, args.quiet)
    if note is not None:
        note(f"exploring {_name(model)}: a progress line every {opts.progress_every:g} s; Ctrl-C stops with "
             "the partial result")
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
    except ConstraintFailed as e:
        raise UsageError(e.message) from None
    except (ModelError, Nondeterminism, ModelDefinitionError, AsymmetricDefinition) as e:
        # A definition error's message names the author's line: the engine's frames are noise.
        # Nondeterminism: the two successor lists say it all; the engine's frames are noise there too.
        return _report_error(model, e, args.json, out, err,
                             with_traceback=not isinstance(e, (ModelDefinitionError, Nondeterminism)))
    except SymmetryError as e:
        raise UsageError(str(e)) from None

    failures: list[str] = []  # outputs that could not be written: reported after the verdict
    graph_msg = None
    if args.graph:
        graph_msg = _written("--graph", lambda: _draw(result, args.graph, args.graph_kind, err, args.cluster_by),
                             failures)
    replay = None
    if result.path is not None:
        replay = result.path.to_python(result.property)
        if args.replay:
            text = replay
            _written("--replay", lambda: f"wrote {Path(args.replay).write_text(text)} characters", failures)
    if args.json:
        d = _result_json(result, replay, graph_msg)
        if failures:
            d["output_errors"] = failures
        if branches is not None:
            d["branches"] = branches.to_json()
        print(json.dumps(d, indent=2, default=repr), file=out)
    else:
        _print_result(result, out)
        if branches is not None:
            print("\n".join(branches.to_lines(partial=result.verdict != "exhausted")), file=out)
        if graph_msg:
            print(graph_msg, file=out)
        if args.replay and replay and not any(f.startswith("--replay") for f in failures):
            print(f"replay script written to {args.replay}", file=out)
        elif args.replay and not replay:
            print(f"no replay script written to {args.replay}: there is no counterexample", file=out)
    for f in failures:
        print(f"protoproof: error: {f}", file=err)
    return EXIT_BY_VERDICT[result.verdict]


def _scale(args: argparse.Namespace) -> Any:
    """The partitioned search's settings (None: none of its flags was given)."""
    flags = (args.workers, args.ray, args.checkpoint, args.resume, args.memory)
    if all(f is None for f in flags):
        return None
    from .checker.parallel import Scale

    every = args.checkpoint_every
    return Scale(workers=args.workers or 1, ray=args.ray, checkpoint=args.checkpoint or args.resume,
                 checkpoint_every=60.0 if every is None else every, resume=args.resume, memory_mb=args.memory)


def _written(flag: str, write: Callable[[], str | None], failures: list[str]) -> str | None:
    """Write an output file; a failure (disk, permissions, Graphviz) is kept in ``failures`` to be
    reported after the verdict, never raised: a long run's result is not lost to its picture.
    The exit status stays the verdict's (a found violation still exits 1)."""
    try:
        return write()
    except (OSError, ValueError, RuntimeError) as e:  # RenderError is a RuntimeError
        failures.append(f"{flag}: could not write it: {e}")
        return None


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


def _check_cluster_by(args: argparse.Namespace, model: Model[Any]) -> None:
    """``--cluster-by`` needs a state graph and a field the states have (refused before the search)."""
    if not args.graph:
        raise UsageError("--cluster-by needs --graph FILE")
    if args.graph_kind == "sequence" or (args.graph_kind == "auto" and isinstance(model, ActorSystem)):
        raise UsageError("--cluster-by groups the states of a state graph: add --graph-kind states")
    fields = list(model.describe_state(model.initial_states()[0]))
    if args.cluster_by not in fields:
        raise UsageError(f"--cluster-by {args.cluster_by!r}: no such field; the fields are {', '.join(fields)}")


def _draw(result: Result, filename: str, kind: str, err: TextIO, cluster_by: str | None = None) -> str:
    from .checker import render
    from .checker.render_states import NEIGHBOURHOOD_ABOVE, neighbourhood

    model = result.model
    title = None
    path = result.path
    mark = None
    if result.verdict == VIOLATED and result.property:
        title = f"{_name(model)}: {result.property} violated"
        if path is not None:
            from .checker.explain import chart_title, falsifying_step

            title = chart_title(path, result.property, _name(model))
            k = falsifying_step(path, result.property)
            mark = (k, f"{result.property} false from here") if k else None
    if path is None:
        found = [(k, p) for k, p in result.examples.items() if p is not None]
        if found:
            title = f"{_name(model)}: a run reaching {found[0][0]}"
            path = found[0][1]
    if kind == "states" or (kind == "auto" and not isinstance(model, ActorSystem)):
        key = None
        if result.symmetry:
            key = Canonicalizer(model).key
        graph = result.graph
        if path is not None and (graph is None or len(graph.states) > NEIGHBOURHOOD_ABOVE):
            near = neighbourhood(model, path, key)  # the whole space would be unreadable
            graph, title = near.graph, f"{title or _name(model)}\n{near.caption()}"
        if graph is None:
            return (f"no state graph written: the state space has more than {GRAPH_LIMIT} states "
                    "(use a smaller configuration, or --graph-kind sequence for an actor model)")
        dot = render.state_graph(graph, path, model, max_nodes=GRAPH_LIMIT, key=key, title=title,
                                 cluster_by=cluster_by)
    else:
        if path is None:
            return "no graph written: there is no counterexample or example run to draw"
        dot = render.sequence_chart(path, title=title, mark=mark)
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
        "constraint": result.constraint,
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
        out["property_doc"] = property_doc(model, result.property)
        why = explain_refinement(model, result.property, result.path) if result.path is not None else None
        why = why or _model_reason(result)
        if why:
            out["explanation"] = why
    if result.path is not None:
        out["path"] = result.path.to_json()
        out["loop_start"] = result.path.loop_start
        out["replay"] = replay
        out["shortened_from"] = result.shortened_from
    if result.liveness:
        out["liveness"] = {"note": result.liveness, "edges": st.edges_stored, "edge_bytes": st.edge_bytes,
                           "bytes_per_edge": round(st.bytes_per_edge, 2), "store_bytes": st.liveness_bytes,
                           "scc_s": round(st.liveness_s, 6)}
    if graph_msg:
        out["graph"] = graph_msg
    return out


def _model_reason(result: Result) -> str | None:
    """The model's own words (its ``@explains`` hook) on why the violated property fails."""
    if result.path is None or result.property is None:
        return None
    from .checker.explain import falsifying_step

    k = falsifying_step(result.path, result.property)
    return result.model.explain(result.property, result.path.states[k]) if k is not None else None


def _under(result: Result) -> str:
    """Where a BFS path is shortest: among the states a --constraint allows, if there is one."""
    return f" among the states --constraint {result.constraint!r} allows" if result.constraint else ""


def _print_result(result: Result, out: TextIO) -> None:
    model = result.model
    st = result.stats
    params = ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(model.config).items())
    variant = f", variant {model.variant_name}" if model.variant_name else ""
    print(f"model {_name(model)} ({params}{variant})", file=out)
    if result.verdict == VIOLATED:
        assert result.property is not None
        doc = property_doc(model, result.property)
        if result.path is None:
            print(f"VIOLATED: @sometimes {result.property} is never satisfied in any reachable state"
                  f"{': ' + doc if doc else ''}", file=out)
        else:
            print(f"VIOLATED: {result.property}{': ' + doc if doc else ''}", file=out)
            why = explain_refinement(model, result.property, result.path) or _model_reason(result)
            if why:
                print(f"why: {why}", file=out)
            k = result.path.loop_start
            if k is not None:
                loop = len(result.path) - k
                print(f"a fair behaviour that never satisfies it: {k} step{'' if k == 1 else 's'}, then "
                      + (f"a loop of {loop} steps repeated forever:" if loop else "stopped forever:"), file=out)
            elif result.shortened_from is not None:
                how = (f"shortened from {result.shortened_from} steps" if result.shortened_from > len(result.path)
                       else "no step could be dropped")
                print(f"counterexample ({len(result.path)} steps; {how} by delta debugging in "
                      f"{result.shorten_s:.1f} s; not proved shortest):", file=out)
            else:
                print(f"shortest counterexample ({len(result.path)} steps{_under(result)}):"
                      if result.strategy == "bfs" else f"counterexample ({len(result.path)} steps):", file=out)
            print(result.path.to_text(), file=out)
    elif result.verdict == "exhausted":
        print("no violation: every reachable state was visited (exhausted)", file=out)
    else:
        print(f"BOUNDED: no violation found within {result.bound}; this is not a proof", file=out)
        if result.unreached():
            print(f"  not reached within the bound: {', '.join(result.unreached())}", file=out)
    what = "orbits (symmetry reduced)" if result.symmetry else "distinct states"
    print(f"{st.distinct_states:,} {what}, {st.transitions:,} transitions, {_depth_words(result)}, "
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


def _depth_words(result: Result) -> str:
    """``Stats.depth`` in words: the steps from an initial state to the deepest state expanded,
    which a full BFS makes the longest shortest path (TLC counts states instead: one more)."""
    d = result.stats.depth
    if result.verdict == "exhausted" and result.strategy == "bfs":
        return f"longest shortest path {d} step{'' if d == 1 else 's'}"
    return f"expanded to {d} step{'' if d == 1 else 's'} from the start"


def _report_error(model: Model[Any], e: Exception, as_json: bool, out: TextIO, err: TextIO,
                  with_traceback: bool = True) -> int:
    state = getattr(e, "state", None)
    action = getattr(e, "action", None)
    tb = getattr(e, "traceback", None)
    if not with_traceback:
        tb = ""
    elif tb is None:
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


def _emit(result: Any, as_json: bool, out: TextIO, err: TextIO, graph: str | None = None) -> str | None:
    """Print a symbolic engine's result; draw its counterexample path if asked."""
    msg = None
    failures: list[str] = []
    path = getattr(result, "path", None)
    if graph and path is not None:
        from .checker import render
        from .checker.explain import chart_title, falsifying_step

        prop = getattr(result, "property", None)
        title = chart_title(path, prop, _name(result.model)) if prop else f"{_name(result.model)}: counterexample"
        k = falsifying_step(path, prop) if prop else None
        dot = (render.sequence_chart(path, title=title, mark=(k, f"{prop} false from here") if k else None)
               if isinstance(result.model, ActorSystem)
               else render.state_graph(_path_graph(path), path, result.model, title=title))
        msg = _written("--graph", lambda: render.write_graph(dot, graph), failures)
    if as_json:
        d = result.to_json()
        if msg:
            d["graph"] = msg
        if failures:
            d["output_errors"] = failures
        print(json.dumps(d, indent=2, default=repr), file=out)
    else:
        print("\n".join(result.to_lines()), file=out)
        if msg:
            print(msg, file=out)
    for f in failures:
        print(f"protoproof: error: {f}", file=err)
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
    except SymbolicError as e:
        if isinstance(e.__cause__, ConstraintError):  # the user's --constraint raised, not the model
            raise UsageError(str(e.__cause__)) from None
        return _symbolic_error(model, e, as_json, out, err)
    except (SymbolicMismatch, ModelDefinitionError, ModelError, Nondeterminism) as e:
        return _symbolic_error(model, e, as_json, out, err)


def _symbolic_error(model: Model[Any], e: Exception, as_json: bool, out: TextIO, err: TextIO) -> None:
    """A symbolic engine's model error, reported (``None``: the caller exits with a model error)."""
    from .checker.symbolic import SymbolicError

    # ModelError/Nondeterminism: the explicit search that builds the sample of reachable states
    p = protocol_of(model)
    if isinstance(e, SymbolicError) and p is not None and p.prover is not None:
        raise UsageError(f"{p.name} does not run on z3 values; `protoproof prove {p.name}` proves its "
                         f"properties with its own encoding (the symbolic engine: {e})") from None
    # Only a ModelError's traceback is the model's code; the others' would be the engine's
    # internals, so they are the one-line message alone.
    _report_error(model, e, as_json, out, err, with_traceback=isinstance(e, ModelError))
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
    from .checker.pdr import pdr

    if args.engine == "pdr" and args.depth is not None:
        raise UsageError("--depth: not used by --engine pdr (it does not unroll)")
    if args.engine == "bmc" and args.depth is None:
        raise UsageError("--depth is required (steps to unroll) unless --engine pdr")
    if args.engine == "bmc" and args.timeout is not None:
        raise UsageError("--timeout: only for --engine pdr")
    if args.engine == "pdr" and args.encoding != "auto":
        raise UsageError("--encoding: only for --engine bmc (pdr runs on integers)")
    if args.engine == "pdr" and args.solver != "z3":
        raise UsageError("--solver: only for --engine bmc (pdr is z3's Spacer)")
    if args.solver == "cadical" and args.encoding == "int":
        raise UsageError("--solver cadical: needs the bit-vector encoding, not --encoding int")
    if args.engine == "pdr" and args.one_query:
        raise UsageError("--one-query: only for --engine bmc (pdr does not unroll)")
    if args.engine == "pdr" and args.waypoint:
        raise UsageError("--waypoint: only for --engine bmc (pdr does not unroll)")
    if args.waypoint_tries is not None and not args.waypoint:
        raise UsageError("--waypoint-tries: only with --waypoint")
    if args.engine == "pdr" and args.constraint is not None:
        raise UsageError("--constraint: only for --engine bmc (an invariant Spacer finds under it proves nothing "
                         "of the model)")
    _protocol, model = _build(args, rest)
    if args.graph:
        _check_graph_name(args.graph)
    note = reporter(err)
    if args.engine == "pdr":
        r = _symbolic(lambda: pdr(model, _props(args), timeout_s=args.timeout, progress=note), model, args.json,
                      out, err)
    else:
        from .checker.constraint import predicate

        given = [("--constraint", args.constraint)] if args.constraint is not None else []
        for flag, text in [*given, *(("--waypoint", w) for w in args.waypoint or ())]:
            try:  # on the initial states first: a typo is one line naming a concrete state
                ok = predicate(model, text, flag)
                for s0 in model.initial_states():
                    ok(s0)
            except (ValueError, ConstraintError) as e:
                raise UsageError(str(e)) from None
        try:
            r = _symbolic(lambda: bmc(model, args.depth, _props(args), progress=note, encoding=args.encoding,
                                      solver=args.solver, constraint=args.constraint, one_query=args.one_query,
                                      waypoints=args.waypoint or (), waypoint_tries=args.waypoint_tries),
                          model, args.json, out, err)
        except ConstraintError as e:  # the expression raised on a concrete state (replaying a trace)
            raise UsageError(str(e)) from None
    if r is None:
        return EXIT_MODEL_ERROR
    _emit(r, args.json, out, err, args.graph)
    _note_unchecked(model, args.engine, args, out, err)
    return EXIT_BY_VERDICT[r.verdict]


def _refuse_induction_flags(args: argparse.Namespace, who: str) -> None:
    """The induction's flags, refused by a proof that does not use them."""
    ignored = [flag for flag, given in (("--property", args.property), ("--k", args.k != 1),
                                        ("--explicit", args.explicit), ("--symmetry", args.symmetry),
                                        ("--no-strengthening", args.no_strengthening)) if given]
    if ignored:
        raise UsageError(f"{', '.join(ignored)}: not used by {who}")


def cmd_prove(args: argparse.Namespace, rest: Sequence[str], out: TextIO, err: TextIO) -> int:
    from .checker.induction import check_group, prove
    from .checker.inductive_explicit import check_inductive
    from .proofs import strengthening_for

    protocol, model = _build(args, rest)
    strengthening = [] if args.no_strengthening else (strengthening_for(model, protocol) or [])
    prover = None if args.parameterized else protocol.load("prover")
    for flag, given in (("--no-tie", args.no_tie and prover is None), ("--condition", args.condition),
                        ("--smallest-margin", args.smallest_margin)):
        if given and not args.parameterized:
            raise UsageError(f"{flag} only applies to --parameterized")
    if args.parameterized:
        prove_param = protocol.load("parameterized")
        if prove_param is None:
            have = ", ".join(sorted(n for n, p in registered().items() if p.parameterized)) or "none"
            raise UsageError(f"no parameterized proof for {protocol.name}; models with one: {have}")
        if rest:
            raise UsageError(f"the parameterized proof covers every size; drop {' '.join(rest)}")
        _refuse_induction_flags(args, "--parameterized (it proves its properties with its own invariant)")

        # The tie runs on the model class asked for (a --variant's planted bug fails it); a tie
        # mismatch is verdict error (exit 4), an untied proof proved-formulas-only (exit 3).
        def note(line: str) -> None:
            print(f"  {line}", file=err, flush=True)

        extra: dict[str, Any] = {"condition": args.condition} if args.condition else {}  # proofs over timings
        if args.smallest_margin:
            extra["smallest"] = True
        try:
            r = prove_param(tie=not args.no_tie, model_class=type(model), progress=None if args.json else note, **extra)
        except (TypeError, ValueError) as e:
            if not extra:
                raise
            raise UsageError(f"{' '.join('--' + k.replace('smallest', 'smallest-margin') for k in extra)}: "
                             f"{e}") from None
        _emit(r, args.json, out, err)
        return EXIT_BY_VERDICT[r.verdict]
    if prover is not None:  # the protocol's own encoding, at the model's size, tied on every run
        _refuse_induction_flags(args, f"{protocol.name}'s prover (it proves every property with its own encoding)")
        r = prover(model, tie=not args.no_tie, progress=None if args.json else lambda line: print(f"  {line}",
                                                                                                   file=err))
        _emit(r, args.json, out, err)
        return EXIT_BY_VERDICT[r.verdict]
    if args.symmetry:
        if args.explicit or args.k != 1:
            raise UsageError("--symmetry: reduces the z3 queries of 1-induction only (not with "
                             f"{'--explicit' if args.explicit else f'--k {args.k}'})")
        try:
            check_group(model)
        except ValueError as e:
            raise UsageError(f"--{e}") from None
    if args.explicit:
        if args.k != 1:
            raise UsageError(f"--k {args.k}: not used by --explicit (it checks that the invariant is closed under "
                             "one step: 1-induction)")

        def run() -> Any:
            try:
                return check_inductive(model, strengthening, properties=_props(args))
            except ValueError as e:
                raise UsageError(str(e)) from None
    else:
        def run() -> Any:
            return prove(model, strengthening, k=args.k, properties=_props(args), progress=reporter(err),
                         symmetry=args.symmetry)
    r = _symbolic(run, model, args.json, out, err)
    if r is None:
        return EXIT_MODEL_ERROR
    _emit(r, args.json, out, err)
    _note_unchecked(model, "prove", args, out, err)
    return EXIT_BY_VERDICT[r.verdict]


def cmd_conform(args: argparse.Namespace, rest: Sequence[str], out: TextIO, err: TextIO) -> int:
    from .checker.conformance import conform
    from .proofs import strengthening_for, twin_domain_for

    protocol, model = _build(args, rest)
    strengthening = strengthening_for(model, protocol) or []  # its conjuncts are formulas `prove` relies on
    twin_domain = twin_domain_for(model, protocol)
    r = _symbolic(lambda: conform(model, args.random, args.seed, max_reachable=args.max_states,
                                  strengthening=strengthening, twin_domain=twin_domain, progress=reporter(err),
                                  timeout=args.timeout),
                  model, args.json, out, err)
    if r is None:
        return EXIT_MODEL_ERROR
    _emit(r, args.json, out, err)
    return EXIT_BY_VERDICT[r.verdict]  # conforms 0, unknown (something not compared) 3, error 4


def cmd_lincheck(args: argparse.Namespace, rest: Sequence[str], out: TextIO, err: TextIO) -> int:
    from .impl.lincheck.command import CommandError, run

    if rest:
        raise UsageError(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return run(args, out)
    except CommandError as e:
        raise UsageError(str(e)) from None


# ----- entry point --------------------------------------------------------------------


def _parser() -> _Parser:
    p = _Parser(prog="protoproof", description=__doc__.split("\n")[0] if __doc__ else None, allow_abbrev=False)
    p.add_argument("--version", action="version", version=f"protoproof {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    ls = sub.add_parser("list", help="models, their parameters and variants", allow_abbrev=False)
    ls.add_argument("models", nargs="*", metavar="model",
                    help="only these (a name, path/to/file.py:Class or package.module:Class)")
    ls.add_argument("--json", action="store_true")
    ck = sub.add_parser("check", help="explore every reachable state and check the properties", allow_abbrev=False)
    ck.add_argument("model", help=MODEL_HELP)
    ck.add_argument("--variant", help="a planted bug (see `protoproof list`)")
    ck.add_argument("--property", action="append", help="check only these properties (repeat or comma-separate)")
    ck.add_argument("--strategy", choices=("bfs", "dfs", "random", "swarm", "novelty"), default="bfs",
                    help="novelty: breadth-first, expanding only states that make some --width atoms new (IW(k)); "
                    "swarm: random walks, each leaving out a random set of action kinds and weighting the rest")
    ck.add_argument("--shorten", type=non_negative_float, default=10.0, metavar="SECONDS",
                    help="seconds to shorten a counterexample of --strategy dfs/random/swarm/novelty by dropping steps "
                    "(delta debugging; 0: off; default 10)")
    ck.add_argument("--width", type=_positive, default=2,
                    help="--strategy novelty expands a state only if some set of at most this many atoms (a "
                    "component's state, a message in flight) is new in it: IW(k) (default 2)")
    ck.add_argument("--seed", type=int, default=0, help="seed of --strategy random or swarm")
    ck.add_argument("--walks", type=_positive, default=100, help="number of random (or swarm) walks")
    ck.add_argument("--walk-depth", type=_positive, default=100, help="steps per random (or swarm) walk")
    ck.add_argument("--walk-fresh", action="store_true",
                    help="each step of a random walk takes a successor never seen before where there is one")
    ck.add_argument("--engine", choices=ENGINES, default="auto",
                    help="vector: whole BFS levels at once on packed codes (numpy); scalar: one state at a time; "
                    "auto (default): vector where it applies")
    ck.add_argument("--constraint", metavar="EXPR",
                    help="explore only successors satisfying this Python expression over the state s (as TLC's "
                    "CONSTRAINT; names of the model's module are in scope): a violation found is a real run, a "
                    "search without one ends bounded, never exhausted")
    ck.add_argument("--max-states", type=_positive, default=None)
    ck.add_argument("--max-depth", type=_positive, default=None)
    ck.add_argument("--timeout", type=_positive_float, default=None, help="seconds")
    ck.add_argument("--deadlock", action="store_true",
                    help="report states with no successor (but those a @terminal predicate accepts)")
    ck.add_argument("--symmetry", action="store_true",
                    help="reduce by interchangeable node ids (liveness properties are then not checked)")
    ck.add_argument("--no-liveness", action="store_true",
                    help="skip the model's liveness properties (no edges kept: safety only)")
    ck.add_argument("--workers", type=_positive, default=None,
                    help="a level-synchronous BFS over N processes, each owning a share of the states")
    ck.add_argument("--ray", metavar="ADDRESS", help="run the workers as Ray actors: 'local' starts a Ray "
                    "instance here, 'auto' or HOST:PORT joins a running cluster (pip install 'protoproof[ray]')")
    ck.add_argument("--checkpoint", metavar="DIR", help="save the search in DIR between levels (every "
                    "--checkpoint-every seconds, on Ctrl-C and at --timeout)")
    ck.add_argument("--checkpoint-every", type=_positive_float, default=None, metavar="S", help="default 60")
    ck.add_argument("--resume", metavar="DIR", help="continue the search saved in DIR (and keep saving there)")
    ck.add_argument("--memory", type=_positive_float, default=None, metavar="MB",
                    help="keep at most this much of the visited states in memory; the rest goes to disk")
    ck.add_argument("--graph", help="write the counterexample as .dot, .svg, .png or .pdf")
    ck.add_argument("--graph-kind", choices=("auto", "sequence", "states"), default="auto")
    ck.add_argument("--cluster-by", metavar="FIELD",
                    help="group a state graph's states by this field's value (e.g. tm.state)")
    ck.add_argument("--replay", help="write a Python script that replays the counterexample")
    ck.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ck.add_argument("--quiet", action="store_true",
                    help="no progress lines on stderr (they are shown only when stderr is a terminal)")
    ck.add_argument("--branches", action="store_true",
                    help="report the model's conditions never taken both ways (informational)")

    bm = sub.add_parser("bmc", help="bounded model checking with z3 from the same transitions", allow_abbrev=False)
    bm.add_argument("model", help=MODEL_HELP)
    bm.add_argument("--depth", type=_positive, help="steps to unroll (required by the default engine)")
    bm.add_argument("--engine", choices=("bmc", "pdr"), default="bmc",
                    help="bmc: unroll to --depth (default); pdr: z3's Spacer (IC3/PDR), no depth: a violation "
                         "it finds is replayed, an invariant it returns is re-checked before `proved`")
    bm.add_argument("--timeout", type=_positive, help="seconds for Spacer's query (--engine pdr)")
    bm.add_argument("--variant")
    bm.add_argument("--property", action="append")
    bm.add_argument("--graph", help="write the counterexample as .dot, .svg, .png or .pdf")
    bm.add_argument("--encoding", choices=("auto", "int"), default="auto",
                    help="auto (default): bit-vectors when an interval analysis proves no value leaves their "
                         "width, else integers (the result says why); int: always integers")
    bm.add_argument("--solver", choices=("z3", "cadical"), default="z3",
                    help="z3 (default): z3 bit-blasts every depth; cadical: the bit-vector relation bit-blasted "
                         "once and unrolled in CaDiCaL (python-sat), the same verdicts; z3's CPU over CaDiCaL's "
                         "measured 0.8 to 3.8x, highest on the deepest runs")
    bm.add_argument("--constraint", metavar="EXPR",
                    help="take only steps whose successor satisfies this Python expression over the state s (as "
                         "check --constraint): a violation found is a real run, shortest among the states it "
                         "allows; no violation speaks of those states only")
    bm.add_argument("--one-query", action="store_true",
                    help="unroll every step first, then ask one query for a violation at any depth up to --depth "
                         "instead of one per depth: skips the shallower depths' unsatisfiable queries; a violation "
                         "found is not proved shortest (shortened by delta debugging), no violation means the same")
    bm.add_argument("--waypoint", metavar="EXPR", action="append",
                    help="repeatable: search leg by leg, each up to --depth steps, for the shortest run to a state "
                         "satisfying this Python expression over s (or breaking a property), then on from that "
                         "state to the next waypoint, and last to a violation: reaches bugs deeper than one "
                         "unrolling (with --one-query, each leg one query); a violation found is a real run, not "
                         "proved shortest; a miss is unknown")
    bm.add_argument("--waypoint-tries", type=non_negative, metavar="N",
                    help="when a leg reaches nothing, go back and take another state for the waypoint before it, "
                         "at most N times in all (default 4)")
    bm.add_argument("--json", action="store_true")

    pv = sub.add_parser("prove", help="prove the invariants by induction with z3", allow_abbrev=False)
    pv.add_argument("model", help=MODEL_HELP)
    pv.add_argument("--variant")
    pv.add_argument("--property", action="append")
    pv.add_argument("--k", type=_positive, default=1, help="k-induction depth (default 1)")
    pv.add_argument("--explicit", action="store_true",
                    help="check inductiveness by enumerating every type-correct state (tiny instances)")
    pv.add_argument("--no-strengthening", action="store_true", help="try the properties alone")
    pv.add_argument("--symmetry", action="store_true",
                    help="ask one consecution query per orbit of actions under the model's renamings of "
                         "interchangeable ids; z3 proves each other action a renaming of one asked and the "
                         "invariant unchanged by the renamings used (1-induction)")
    pv.add_argument("--parameterized", action="store_true",
                    help="the proof for any number of nodes (uninterpreted sorts), tied to the model; "
                         "for the protocols that declare one (`protoproof list`)")
    pv.add_argument("--no-tie", action="store_true",
                    help="with --parameterized or a protocol's own prover: skip the tie to the model (verdict "
                         "proved-formulas-only)")
    pv.add_argument("--condition", help="with --parameterized, for proofs over timings: the condition on the "
                    "parameters to prove under, e.g. 'margin >= 3*drift' (a weaker one shows a counterexample)")
    pv.add_argument("--smallest-margin", action="store_true",
                    help="with --parameterized, for proofs over timings with a safety margin: ask z3 for the "
                         "least safe margin per drift and prove it")
    pv.add_argument("--json", action="store_true")

    cf = sub.add_parser("conform", help="symbolic relation == concrete successors", allow_abbrev=False)
    cf.add_argument("model", help=MODEL_HELP)
    cf.add_argument("--variant")
    cf.add_argument("--random", type=_non_negative, default=1000, help="random type-correct states to compare")
    cf.add_argument("--seed", type=int, default=0)
    cf.add_argument("--max-states", type=_positive, default=20_000,
                    help="reachable states to compare (the first ones in BFS order); fewer than the "
                         "instance has makes the verdict unknown")
    cf.add_argument("--timeout", type=_positive_float, default=None,
                    help="seconds; when they run out the comparison ends with what it compared so far "
                         "(verdict unknown, saying so)")
    cf.add_argument("--json", action="store_true")

    ex = sub.add_parser("explore", help="step through a model in a web page on 127.0.0.1", allow_abbrev=False)
    ex.add_argument("model", help=MODEL_HELP)
    ex.add_argument("--variant", help="a planted bug (see `protoproof list`)")
    ex.add_argument("--port", type=_port, default=8080, help="default 8080; 0 picks a free one")

    from .impl.lincheck.command import add_arguments as lincheck_arguments

    lincheck_arguments(sub.add_parser("lincheck", help="check a recorded history for linearizability",
                                      allow_abbrev=False))

    from .impl.commands import add_commands

    add_commands(sub)  # the runtime: cluster, kv, tx, validate
    return p


_positive, _non_negative, _positive_float = positive, non_negative, positive_float


def _interrupted_before_a_result(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Ctrl-C before an engine had a partial result to report (while setting up, or in a part
    that keeps none): say so, as a verdict that claims nothing."""
    reason = f"interrupted ({cause()}) before a result"
    if args.json:
        print(json.dumps({"model": args.model, "engine": args.command, "verdict": UNKNOWN, "reason": reason}),
              file=out)
    else:
        print(f"{args.command} {args.model}: {UNKNOWN} ({reason}); nothing is claimed", file=out)
    return EXIT_BY_VERDICT[UNKNOWN]


MODEL_COMMANDS = ("check", "bmc", "prove", "conform")


def _model_help(parser: _Parser, argv: Sequence[str]) -> str | None:
    """``check MODEL --help``: the command's help followed by the model's parameters and variants
    (argparse alone cannot list them: they depend on the model named)."""
    if not argv or argv[0] not in MODEL_COMMANDS or not {"-h", "--help"} & set(argv):
        return None
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[argv[0]]
    text = sub.format_help()
    variant = next((v for k, v in itertools.pairwise(argv) if k == "--variant"), None)
    variant = next((a.split("=", 1)[1] for a in argv if a.startswith("--variant=")), variant)
    for word in (a for a in argv[1:] if not a.startswith("-") and a != variant):
        try:
            protocol = protocol_for(word)
            return text + "\n" + model_help(protocol.model_class(), word, variant)
        except (RegistryError, ModelDefinitionError):
            continue
    return text + f"\nmodel parameters: `protoproof {argv[0]} MODEL --help` lists them; models: " + \
        ", ".join(sorted(registered()))


def _port(v: str) -> int:
    port: int = _non_negative(v)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0..65535, not {v!r}")
    return port


def cmd_explore(args: argparse.Namespace, rest: Sequence[str], out: TextIO, err: TextIO) -> int:
    from .explorer.server import serve

    return serve(args.model, args.variant, rest, args.port, out)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args: argparse.Namespace | None = None
    try:
        parser = _parser()  # loads the registry and the services: Ctrl-C may come here
        help_text = _model_help(parser, list(sys.argv[1:] if argv is None else argv))
        if help_text is not None:
            print(help_text, file=out)
            return 0
        args, rest = parser.parse_known_args(argv)
        if args.command is None:
            raise UsageError("a command is needed: list, check, bmc, prove, conform, explore, lincheck, cluster, "
                             "kv, tx, validate")
        if args.command == "list":
            if rest:
                raise UsageError(f"unrecognized arguments: {' '.join(rest)}")
            return cmd_list(args, out)
        handler = {"check": cmd_check, "bmc": cmd_bmc, "prove": cmd_prove, "conform": cmd_conform,
                   "explore": cmd_explore, "lincheck": cmd_lincheck}
        if args.command not in handler:
            from .impl.commands import run_command

            if rest:
                dashed = " (a key or value that starts with '-' goes after '--': put -- KEY VALUE)" \
                    if args.command == "kv" and rest[0][:1] == "-" and rest[0][:2] != "--" else ""
                raise UsageError(f"unrecognized arguments: {' '.join(rest)}{dashed}")
            return run_command(args)
        with on_sigint():  # Ctrl-C ends the engine with its partial verdict, however it arrives
            return handler[args.command](args, rest, out, err)
    except (UsageError, RegistryError) as e:
        print(f"protoproof: error: {e}", file=err)
        return EXIT_USAGE
    except ModelDefinitionError as e:
        print(f"protoproof: model definition error: {e}", file=err)
        return EXIT_MODEL_ERROR
    except KeyboardInterrupt:
        if args is not None and args.command in ("check", "bmc", "prove", "conform"):
            return _interrupted_before_a_result(args, out, err)
        print("protoproof: interrupted", file=err)
        return 130
    except BrokenPipeError:
        # The reader went away (`protoproof check ... | head`): stop quietly.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stream until exit
        return 141
    except Exception as e:  # the last resort: a crash must not read as a verdict
        # The traceback is for the report; the last line says what the status means.
        traceback.print_exc(file=err)
        print(f"protoproof: internal error (a bug in protoproof, not a verdict; please report it with the "
              f"traceback above): {type(e).__name__}: {e}", file=err)
        return EXIT_INTERNAL
