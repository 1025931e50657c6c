"""What the explorer shows for one path of one model, as JSON: no HTTP here.

A page is named by its query string alone (``model=NAME&variant=V&PARAM=VALUE&path=3.0.5``):
the path is the index of each action taken among the enabled ones, in ``Model.successors``
order, from the first initial state; ``loop=K`` makes it a lasso (a liveness counterexample
whose behaviour repeats its steps from K on forever).  Every view is recomputed by replaying that path, so a
permalink is the whole session and the server keeps nothing but a cache.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from ..checker import render
from ..checker.lasso import lasso_violation
from ..checker.path import Path, _short
from ..checker.render_files import DOT_TIMEOUT_S, layout
from ..cli import UsageError, _build
from ..models.actors import ActorSystem
from ..models.base import LIVENESS, Action, Model
from ..models.registry import RegistryError, protocol_for, registered, where_raised

#: Query keys that are not model parameters (``steps`` and ``seed`` are random walks').
RESERVED = ("model", "variant", "path", "loop", "steps", "seed")
#: Paths longer than this are shown as steps only (a chart of them is unreadable and slow to draw).
CHART_MAX_STEPS = 150
#: Paths longer than this are refused (a permalink is replayed on every request).
MAX_PATH = 2000


class ExplorerError(ValueError):
    """A request naming no model, a wrong parameter or a path that does not replay: one line."""


@dataclasses.dataclass(frozen=True)
class Page:
    """One model (by name, variant and parameter strings) and a path of action indices (a lasso
    from step ``loop`` on, if given)."""

    model: str
    variant: str | None
    params: tuple[tuple[str, str], ...]
    path: tuple[int, ...]
    loop: int | None = None

    def query(self, path: Sequence[int] | None = None) -> str:
        """The permalink's query string (of this page, or of the same model with ``path``: no lasso)."""
        items: list[tuple[str, str]] = [("model", self.model)]
        if self.variant:
            items.append(("variant", self.variant))
        items += list(self.params)
        items.append(("path", ".".join(map(str, self.path if path is None else path))))
        if path is None and self.loop is not None:
            items.append(("loop", str(self.loop)))
        return urlencode(items)


def parse_query(q: Mapping[str, Sequence[str]], allowed: Sequence[str]) -> Page:
    """The page a parsed query string names; the model must be in ``allowed`` (registered names
    and the model the server was started with: a URL may not load an arbitrary file)."""
    def one(key: str) -> str | None:
        vals = q.get(key)
        return vals[-1] if vals else None

    name = one("model")
    if not name:
        raise ExplorerError("the query names no model (?model=NAME)")
    if name not in allowed:
        raise ExplorerError(f"unknown model {name!r}; models here: {', '.join(allowed)}")
    text = one("path") or ""
    try:
        path = tuple(int(k) for k in text.split(".") if k != "")
    except ValueError:
        raise ExplorerError(f"path {text!r}: expected action indices separated by dots, e.g. 3.0.5") from None
    if any(k < 0 for k in path):
        raise ExplorerError(f"path {text!r}: action indices are not negative")
    if len(path) > MAX_PATH:
        raise ExplorerError(f"path of {len(path)} steps: at most {MAX_PATH}")
    loop = one("loop")
    if loop is not None and not (loop.isdigit() and int(loop) <= len(path)):
        raise ExplorerError(f"loop {loop!r}: the step where a lasso's loop starts, 0..{len(path)}")
    params = tuple(sorted((k, v[-1]) for k, v in q.items() if k not in RESERVED and v))
    return Page(name, one("variant") or None, params, path, None if loop is None else int(loop))


@lru_cache(maxsize=32)
def build(name: str, variant: str | None, params: tuple[tuple[str, str], ...]) -> Model[Any]:
    """The model, built the way the command line builds it (same parameter parsing, same errors)."""
    rest = [tok for k, v in params for tok in ("--" + k.replace("_", "-"), v)]
    try:
        _protocol, model = _build(argparse.Namespace(model=name, variant=variant), rest)
    except (UsageError, RegistryError) as e:
        raise ExplorerError(str(e)) from None
    return model


def model_names(served: str) -> list[str]:
    """The models a URL may name: the registered ones and the one the server was started with."""
    names = sorted(registered())
    return names if served in names else [served, *names]


def display_name(spec: str) -> str:
    """What ``check --json`` calls the model ``spec`` names: its ``name``, or its class's."""
    try:
        cls = protocol_for(spec).model_class()
    except RegistryError:
        return spec
    return cls.name or cls.__name__


def enabled(model: Model[Any], s: Any) -> list[tuple[Action, Any]]:
    """The enabled actions of ``s`` and their results, in the order path indices refer to."""
    try:
        return list(model.successors(s))
    except Exception as e:
        raise ExplorerError(f"the model raised computing the successors: {where_raised(e)}") from None


def walk(model: Model[Any], indices: Sequence[int], loop: int | None = None) -> Path:
    """Replay a path of action indices from the first initial state (a lasso from ``loop`` on)."""
    state = model.initial_states()[0]
    states, actions = [state], []
    for k, i in enumerate(indices):
        succ = enabled(model, state)
        if i >= len(succ):
            raise ExplorerError(f"step {k + 1}: action index {i} but only {len(succ)} actions are enabled")
        a, state = succ[i]
        states.append(state)
        actions.append(a)
    return Path(model, states, actions, loop)


def indices_of(model: Model[Any], action_reprs: Sequence[str]) -> list[int]:
    """A path of action ``repr``s (a ``check --json`` counterexample) as action indices."""
    state = model.initial_states()[0]
    out = []
    for k, want in enumerate(action_reprs):
        succ = enabled(model, state)
        found = next((i for i, (a, _t) in enumerate(succ) if repr(a) == want), None)
        if found is None:
            names = ", ".join(repr(a) for a, _t in succ) or "none"
            raise ExplorerError(f"step {k + 1}: {want} is not enabled; enabled: {names}")
        out.append(found)
        state = succ[found][1]
    return out


def random_extension(page: Page, model: Model[Any], steps: int, seed: int) -> list[int]:
    """The page's path followed by up to ``steps`` uniformly random enabled actions."""
    rng = random.Random(seed)
    path = walk(model, page.path)
    out, state = list(page.path), path.last
    for _ in range(steps):
        succ = enabled(model, state)
        if not succ:
            break
        i = rng.randrange(len(succ))
        out.append(i)
        state = succ[i][1]
    return out


def show(v: Any) -> str:
    """A value as the page prints it: strings bare, sets and lists compact."""
    return v if isinstance(v, str) else _short(v)


def view(page: Page) -> dict[str, Any]:
    """Everything the page shows for ``page``: state, actions, properties, path and chart."""
    model = build(page.model, page.variant, page.params)
    path = walk(model, page.path, page.loop)
    describe = model.describe_state
    cur = describe(path.last)
    prev = describe(path.states[-2]) if path.actions else cur
    try:
        succ, stuck = enabled(model, path.last), ""
    except ExplorerError as e:  # still show the state where the model raised
        succ, stuck = [], str(e)
    props = properties(path)
    violated = next((p for p in props if p["value"] is False), None)
    title = f"{model.display_name}: step {len(path)}"
    if violated is not None:
        title += f", {violated['name']} violated"
    return {
        "model": page.model,
        "variant": page.variant,
        "variants": sorted(model.variants()),
        "params": [{"name": f.name, "value": getattr(model.config, f.name), "default": f.default}
                   for f in dataclasses.fields(model.config)],
        "path": list(page.path),
        "query": page.query(),
        "loop": page.loop,
        "start": page.query(()),
        "steps": [{"index": i, "action": repr(a), "query": page.query(page.path[:k + 1])}
                  for k, (i, a) in enumerate(zip(page.path, path.actions, strict=True))],
        "state": [{"field": k, "value": show(v), "changed": prev.get(k) != v} for k, v in cur.items()],
        "actions": [{"index": i, "label": repr(a), "family": a.name, "args": [[k, show(v)] for k, v in a.args],
                     "query": page.query((*page.path, i))} for i, (a, _t) in enumerate(succ)],
        "actions_error": stuck,
        "deadlock": not succ and not stuck and not model.is_terminal(path.last),
        "properties": props,
        "chart": chart(path, title),
        "text": path.to_text().splitlines(),
    }


def properties(path: Path) -> list[dict[str, Any]]:
    """Each property's value at the end of ``path``, and the first step where it failed (if any).

    ``value`` is True/False, or None where one state cannot tell (a step property before the
    first step, liveness on a path that is no lasso; a lasso that violates one makes it False);
    a ``@sometimes`` property says where this path first reached it.
    """
    model, states, actions = path.model, path.states, path.actions
    out: list[dict[str, Any]] = []

    def entry(name: str, kind: str, doc: str, values: list[bool | None], note: str = "") -> None:
        first_false = next((k for k, v in enumerate(values) if v is False), None)
        first_true = next((k for k, v in enumerate(values) if v is True), None)
        if kind in LIVENESS:
            first_false = None  # a behaviour's verdict, not a state's
        elif kind == "sometimes":
            note = (f"first reached at step {first_true}" if first_true is not None
                    else "not reached on this path")
            first_false = None
        elif first_false is not None:
            note = f"first false at step {first_false}" + (f": {note}" if note else "")
        out.append({"name": name, "kind": kind, "doc": doc, "value": values[-1] if values else None,
                    "first_false": first_false, "note": note})

    for p in model.properties:
        try:
            if p.kind in ("always", "sometimes"):
                entry(p.name, p.kind, p.doc, [bool(p.fn(s)) for s in states])
            elif p.kind == "step":
                vals: list[bool | None] = [None] + [bool(p.fn(states[k], a, states[k + 1]))
                                                    for k, a in enumerate(actions)]
                entry(p.name, p.kind, p.doc, vals, "" if actions else "a step property: take a step")
            elif p.kind in LIVENESS and path.loop_start is not None:
                why = lasso_violation(path, p)
                entry(p.name, p.kind, p.doc, [False if why else None],
                      why or "not violated by this behaviour (the lasso)")
            elif p.kind in LIVENESS:
                entry(p.name, p.kind, p.doc, [None], "liveness: judged on whole behaviours (a lasso, loop=K), "
                      "not on a path")
        except Exception as e:
            out.append({"name": p.name, "kind": p.kind, "doc": p.doc, "value": None, "first_false": None,
                        "note": f"error: {where_raised(e)}"})
    for r in model.refinements():
        try:
            vals = [Path(model, states[:k + 1], actions[:k]).violation(r.name) is None for k in range(len(states))]
            why = (Path(model, states, actions).violation(r.name) or "").removeprefix(f"{r.name}: ")
            entry(r.name, "refinement", f"refines {type(r.abstract).__name__}", list(vals), why)
        except Exception as e:
            out.append({"name": r.name, "kind": "refinement", "doc": "", "value": None, "first_false": None,
                        "note": f"error: {where_raised(e)}"})
    return out


def chart(path: Path, title: str) -> dict[str, Any]:
    """The path as a sequence chart in SVG (actor models, with graphviz), else why not."""
    if not isinstance(path.model, ActorSystem):
        return {"svg": None, "note": "not an actor model: the path is shown as steps"}
    if len(path) > CHART_MAX_STEPS:
        return {"svg": None, "note": f"over {CHART_MAX_STEPS} steps: the path is shown as steps"}
    dot = shutil.which("dot")
    if dot is None:
        return {"svg": None, "note": "graphviz 'dot' is not installed: the path is shown as steps"}
    try:
        src = render.sequence_chart(path, title=title)
        done = layout(src, "svg")  # arrows routed around the boxes, as `check --graph` draws them
    except subprocess.TimeoutExpired:
        return {"svg": None, "note": f"dot took more than {DOT_TIMEOUT_S:g} s: the path is shown as steps"}
    except Exception as e:
        return {"svg": None, "note": f"the chart could not be drawn: {where_raised(e)}"}
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return {"svg": None, "note": f"dot failed: {why[0] if why else 'no message'}"}
    svg = done.stdout.decode("utf-8", "replace")
    return {"svg": svg[svg.find("<svg"):], "note": ""}


def load(data: Any, served: str, allowed: Sequence[str]) -> Page:
    """The page of a counterexample from ``check --json`` (or any JSON with ``model``, ``params``,
    ``variant`` and a ``path`` of ``{"action": repr}`` steps)."""
    if not isinstance(data, dict) or not isinstance(data.get("path"), list):
        raise ExplorerError("not a counterexample: expected the JSON of `protoproof check ... --json` "
                            "with a \"path\" (this run found no violation, or the text is something else)")
    name = data.get("model") or served
    if name not in allowed and name == display_name(served):  # `check FILE.py:Class --json` says "Class"
        name = served
    if name not in allowed:
        raise ExplorerError(f"the counterexample is of model {name!r}; models here: {', '.join(allowed)}")
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise ExplorerError("\"params\" must be an object of parameter values")
    loop = data.get("loop_start")
    page = Page(name, data.get("variant") or None, tuple(sorted((k, str(v)) for k, v in params.items())), (),
                loop if isinstance(loop, int) else None)
    steps = data["path"]
    reprs: list[str] = [st["action"] for st in steps[1:] if isinstance(st, dict) and isinstance(st.get("action"), str)]
    if len(reprs) != len(steps) - 1:
        raise ExplorerError("each step of \"path\" after the first must be an object with an \"action\" string")
    model = build(page.model, page.variant, page.params)
    return dataclasses.replace(page, path=tuple(indices_of(model, reprs)))
