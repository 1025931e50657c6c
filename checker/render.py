"""Counterexamples as pictures: graphviz DOT sources, and writing them to files.

Two renderings (DESIGN.md section 6).  A *sequence chart* shows a run of a node protocol
the way people draw one on a whiteboard: a lane per node, time flowing down, a message as
an arrow from the step that sent it to the step that received it.  A *state graph* shows a
small explored state space with the violating path in bold red.  Both return DOT text and
never print, so tests assert on the source; ``write_graph`` is the only function that
touches the file system or runs ``dot``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ..models.actors import ActorSystem, Envelope, StepInfo
from ..models.base import Model
from ..models.environment import has_environment
from ..models.schema import fields_of
from .explore import Graph
from .path import Path
from .render_files import DOT_TIMEOUT_S, FORMATS, ROUTE_MARK, RenderError, layout, write_graph
from .render_states import cluster_values

HIGHLIGHT = "red"
#: How a lasso's loop start is marked in the charts.
LOOP_LABEL = "-- loop starts here --"
#: Colour of a message a node read from its inbox (``Node.reads_inbox``) rather than received.
READ_COLOR = "#1f5fbf"
#: How ``sequence_chart`` shows messages still in flight at the end of the path.
IN_FLIGHT_MODES = ("note", "arrows", "omit")
#: At most this many messages are listed in a lane's in-flight note; the rest are counted.
NOTE_ITEMS = 4

#: How the acting node's point looks, per ``StepInfo.kind`` (shape, colour, fill).
_KIND_STYLE: dict[str, tuple[str, str, str]] = {
    "local": ("box", "black", "#dde8ff"),
    "timeout": ("hexagon", "darkorange", "#ffe6c7"),
    "crash": ("octagon", "red", "#ffd0d0"),
    "recover": ("box", "darkgreen", "#d8f5d8"),
    "drop": ("box", "gray40", "#eeeeee"),
    "duplicate": ("box", "gray40", "#eeeeee"),
    "env": ("cds", "purple", "#efe3ff"),  # an environment action, on the "environment" lane
}


class GraphTooLargeError(ValueError):
    """The state graph has too many states to draw legibly (a ``ValueError`` as well)."""


# ----- DOT text -----------------------------------------------------------------------


def dot_quote(text: object) -> str:
    """``text`` as a double-quoted DOT string: quotes and backslashes escaped, newlines as ``\\n``.

    Every id and label goes through here, so a message repr holding quotes or backslashes
    cannot end a string early or be read as a DOT escape such as ``\\N``.
    """
    s = str(text).replace("\\", "\\\\").replace('"', '\\"')
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{s}"'


class _Quoted(str):
    """An attribute value that is already a DOT string (``_left_lines`` builds them)."""


def _left_lines(lines: Iterable[str]) -> _Quoted:
    """A DOT label of ``lines``, each left-justified (``\\l``), every line escaped."""
    return _Quoted('"' + "".join(dot_quote(line)[1:-1] + "\\l" for line in lines) + '"')


def _attrs(**kw: object) -> str:
    """``[k="v", ...]`` in keyword order, skipping ``None`` values."""
    items = [f"{k}={v if isinstance(v, _Quoted) else dot_quote(v)}" for k, v in kw.items() if v is not None]
    return f" [{', '.join(items)}]" if items else ""


def _node(ident: str, **kw: object) -> str:
    return f"  {dot_quote(ident)}{_attrs(**kw)};"


def _edge(a: str, b: str, **kw: object) -> str:
    return f"  {dot_quote(a)} -> {dot_quote(b)}{_attrs(**kw)};"


def _header(name: str, title: str | None, *defaults: str) -> list[str]:
    lines = [f"digraph {dot_quote(name)} {{", *(f"  {d};" for d in defaults)]
    if title:
        lines.append(f"  graph{_attrs(label=title, labelloc='t', fontsize=16)};")
    return lines


# ----- sequence charts ----------------------------------------------------------------


def sequence_chart(path: Path, title: str | None = None, in_flight: str = "note",
                   mark: tuple[int, str] | None = None) -> str:
    """A message sequence chart of ``path`` (a run of an ``ActorSystem``) as DOT source.

    Layout: row 0 holds the lane heads (node names), row ``k`` the ``k``-th step, and a last
    row the lane ends; each row is a ``rank=same`` group and each lane a chain of heavy
    edges, so ``dot`` draws straight vertical lifelines with time flowing down.  A leftmost
    column repeats each step's action.

    - A delivered message is a solid arrow from the point of the step that sent it (the
      lane head for a message already in flight initially) to the receiver at its row,
      labelled with the message repr.  With several matching sends the oldest undelivered
      one is used, else the latest (a duplicating network redelivers).
    - A local step of a node with ``reads_inbox`` (it reads every message sent to it so far)
      gets a blue arrow from the send of each message it *newly* read: one that is in
      ``model.inbox`` before the step but was not at that node's previous local step.  So
      each message is drawn once, into the first step that could use it.
    - A step that is not a delivery is a labelled shape on the acting node's lane: a box for
      a local step, a hexagon for a timeout, a red octagon for a crash, a green box for a
      recovery; a lost message is a dashed arrow ending in a bar at a grey "drop" box; an
      environment action (a tick, a clock step, a partition's split or heal, an
      ``@environment`` method) is a purple shape on an "environment" lane right of the nodes.
    - Messages sent during the path and never delivered, dropped nor read are, with
      ``in_flight="note"`` (the default), listed in a note at the end of the receiver's lane
      (the first ``NOTE_ITEMS`` of them with their senders, then a count); with
      ``in_flight="arrows"`` each is a dashed grey arrow to the receiver's lane end,
      labelled "(in flight)"; with ``in_flight="omit"`` they are not shown.  Messages in
      flight in the initial state and never delivered are omitted (the chart only knows
      sends it saw).
    - Each lane head shows the node's initial state, and each step's box on the acting lane the
      fields of that node's state that the step changed (a delivery that changed its receiver
      is a box holding the message and the changes, one that changed nothing a dot).  Message
      text is written in boxes, never on arrows (an arrow's text is its SVG ``tooltip``), so no
      two labels can overlap: dot never overlaps nodes.  A local step lists what it read.
    - Lifeline segments where a node is down are dotted red; the marked step (``mark``: its
      row and a note such as "atomicity false from here", else the last step) is drawn in red,
      with the messages it received or read, and ``title`` is shown on top.
    - Arrows are straight; one that crosses another lane where that lane has a box passes
      behind it (every box is filled and drawn after the arrows), so it never hides its text.
    - A lasso (``path.loop_start``, a liveness counterexample) has its loop's steps in red in the
      step column, the first one headed "-- loop starts here --", and the end row saying
      where the behaviour goes back to (or that it stays in its last state).
    """
    model = path.model
    if not isinstance(model, ActorSystem):
        raise ValueError(
            f"sequence charts need an actor model; use state_graph "
            f"({type(model).__name__} is not an ActorSystem)"
        )
    if in_flight not in IN_FLIGHT_MODES:
        raise ValueError(f"in_flight must be one of {', '.join(map(repr, IN_FLIGHT_MODES))}, not {in_flight!r}")
    nodes = model.node_list
    names = [n.name for n in nodes] + (["environment"] if has_environment(model) else [])
    steps = len(path.actions)
    end = steps + 1
    loop = path.loop_start
    hot = mark[0] if mark is not None else steps  # the row drawn in red
    if not 0 < hot <= max(steps, 1):
        raise ValueError(f"mark row {hot} is not a step of the path (1..{steps})")

    def pt(node: int, row: int) -> str:
        return f"{names[node]}@{row}"

    def step_id(row: int) -> str:
        return f"#step@{row}"

    befores = path.states[:-1]
    infos: list[StepInfo] = [model.step_info(s, a) for s, a in zip(befores, path.actions, strict=True)]
    lines = _header(
        f"sequence chart of {model.display_name}",
        title,
        ROUTE_MARK,
        "rankdir=TB",
        "newrank=true",
        "nodesep=0.6",
        "ranksep=0.35",
        "splines=false",
        "outputorder=edgesfirst",  # filled boxes are drawn over the arrows: an arrow passes behind a box
        'node [fontname="Helvetica", fontsize=11]',
        'edge [fontname="Helvetica", fontsize=10]',
    )

    # Messages: which row sent, received, read or lost each one (drawn after the points).
    arrows: list[str] = []
    sends: dict[Envelope, list[int]] = {}  # every row that sent an envelope
    pending: dict[Envelope, deque[int]] = {}  # rows whose send is not yet received, read or lost
    initial = set(model.in_flight(path.states[0])) if path.states else set()  # never received yet
    seen: dict[int, frozenset[Any]] = {}  # per reading node: its inbox at its previous local step
    read_by: dict[int, list[str]] = {}  # row -> the messages its local step newly read
    for k, info in enumerate(infos, 1):
        last = k == hot
        env = info.received
        if env is not None:
            initial.discard(env)
            if info.kind == "duplicate":
                origin = _origin(sends, pending, env, consume=False)
                if origin is not None:
                    pending.setdefault(env, deque()).append(origin)
            else:
                origin = _origin(sends, pending, env, consume=True)
                src = pt(env.src, origin if origin is not None else 0)
                if info.kind == "drop":
                    arrows.append(_edge(src, pt(info.node, k), tooltip=f"{env.msg!r} (lost)", style="dashed",
                                        arrowhead="tee", color=HIGHLIGHT if last else "gray40",
                                        fontcolor=HIGHLIGHT if last else "gray40", constraint="false"))
                else:
                    arrows.append(_edge(src, pt(info.node, k), tooltip=repr(env.msg),
                                        color=HIGHLIGHT if last else "black",
                                        fontcolor=HIGHLIGHT if last else "black",
                                        penwidth=2.5 if last else None, constraint="false"))
        elif info.kind == "local" and nodes[info.node].reads_inbox:
            for read, origin in _reads(model, path.states[k - 1], info.node, seen, sends, pending, initial):
                read_by.setdefault(k, []).append(f"read {read.msg!r}")
                arrows.append(_edge(pt(read.src, origin), pt(info.node, k), tooltip=repr(read.msg),
                                    color=HIGHLIGHT if last else READ_COLOR,
                                    fontcolor=HIGHLIGHT if last else READ_COLOR,
                                    penwidth=2.5 if last else None, arrowhead="vee", constraint="false"))
        for sent in info.sent:
            sends.setdefault(sent, []).append(k)
            pending.setdefault(sent, deque()).append(k)
    unread = [(k, env) for env, rows in pending.items() for k in rows]
    if in_flight == "arrows":
        for k, env in unread:
            arrows.append(_edge(pt(env.src, k), pt(env.dst, end), xlabel=f"{env.msg!r} (in flight)",
                                style="dashed", color="gray60", fontcolor="gray40", constraint="false"))
    notes: dict[int, list[tuple[int, Envelope]]] = {}
    if in_flight == "note":
        for k, env in sorted(unread, key=lambda x: x[0]):
            notes.setdefault(env.dst, []).append((k, env))

    # Points: one per (lane, row); the acting node's point carries the step's shape.
    acting: dict[tuple[int, int], tuple[StepInfo, bool]] = {
        (info.node, k): (info, k == hot) for k, info in enumerate(infos, 1)
    }
    lines.append(_node(step_id(0), shape="plaintext", label=""))
    for i, name in enumerate(names):
        head = [name, *(_node_fields(model, path.states[0], i) if i < len(nodes) else [])] if path.states else [name]
        lines.append(_node(pt(i, 0), shape="box", style="filled,bold", fillcolor="#f2f2f2", label="\n".join(head)))
    for k in range(1, end + 1):
        if k <= steps:
            last = k == hot
            label = f"{k}. {path.actions[k - 1]!r}"
            if loop is not None and k == loop + 1:
                label = f"{LOOP_LABEL}\n{label}"
            if mark is not None and k == hot:
                label = f"{label}\n>> {mark[1]}"
            lines.append(_node(step_id(k), shape="plaintext", label=label,
                               fontcolor=HIGHLIGHT if last or (loop is not None and k > loop) else None))
        else:
            end_label = "" if loop is None else (f"back to state {loop}, forever" if loop < steps
                                                 else "stays here forever (no fair action is enabled)")
            lines.append(_node(step_id(k), shape="plaintext", label=end_label,
                               fontcolor=HIGHLIGHT if end_label else None))
        for i in range(len(names)):
            if k == end and i in notes:
                lines.append(_node(pt(i, k), **_in_flight_note(notes[i], names)))
                continue
            got = acting.get((i, k))
            if got is None:
                lines.append(_node(pt(i, k), shape="point", width=0.04, height=0.04, color="gray60"))
                continue
            info, last = got
            changed = _changes(model, path.states[k - 1], path.states[k], i) if i < len(nodes) else []
            lines.append(_node(pt(i, k), **_step_point(info, path.actions[k - 1].args, last,
                                                       [*read_by.get(k, []), *changed])))

    # Rows: rank=same, ordered left to right by invisible flat edges.
    for k in range(end + 1):
        row = [step_id(k), *(pt(i, k) for i in range(len(names)))]
        chain = " -> ".join(dot_quote(x) for x in row)
        lines.append(f"  {{ rank=same; {chain} [style=invis]; }}")

    # Lanes: lifelines (dotted red while the node is down) and the step column.
    for k in range(end):
        down: frozenset[int] = getattr(path.states[min(k, steps)], "down", frozenset())
        lines.append(_edge(step_id(k), step_id(k + 1), style="invis", weight=100))
        for i in range(len(names)):
            if i in down:
                lines.append(_edge(pt(i, k), pt(i, k + 1), arrowhead="none", style="dotted",
                                   color=HIGHLIGHT, weight=100))
            else:
                lines.append(_edge(pt(i, k), pt(i, k + 1), arrowhead="none", color="gray60", weight=100))
    lines.extend(arrows)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _reads(model: ActorSystem, before: Any, node: int, seen: dict[int, frozenset[Any]],
           sends: dict[Envelope, list[int]], pending: dict[Envelope, deque[int]],
           initial: set[Envelope]) -> list[tuple[Envelope, int]]:
    """What a local step of a ``reads_inbox`` node newly read: ``(envelope, sending row)`` pairs.

    Newly read are the messages of ``model.inbox(before, node)`` that were not in it at the
    node's previous local step (``seen``, updated here).  Each is drawn from its oldest send
    not yet received or read, or from the lane head if it was in flight initially; one
    already received is not drawn again.  Every send of a message in the inbox counts as
    read, so none of them is later shown as in flight.
    """
    box = model.inbox(before, node)
    new = box - seen.get(node, frozenset())
    seen[node] = box
    out: list[tuple[Envelope, int]] = []
    for env in model.in_flight(before):
        if env.dst != node or env.msg not in box:
            continue
        queue = pending.pop(env, None)
        if env.msg not in new:
            continue
        if queue:
            out.append((env, queue[0]))
        elif env in initial and env not in sends:
            out.append((env, 0))
        initial.discard(env)
    return out


def _in_flight_note(unread: list[tuple[int, Envelope]], names: list[str]) -> dict[str, object]:
    """Attributes of a lane's end listing the messages still in flight to it (oldest send first)."""
    counts: dict[Envelope, int] = {}
    for _k, env in unread:
        counts[env] = counts.get(env, 0) + 1
    items = [f"from {names[env.src]}: {env.msg!r}" + (f" (x{c})" if c > 1 else "") for env, c in counts.items()]
    shown = items[:NOTE_ITEMS]
    if len(items) > len(shown):
        shown.append(f"... and {len(items) - len(shown)} more")
    return {"shape": "note", "style": "filled", "color": "gray60", "fillcolor": "#f7f7f7", "fontcolor": "gray30",
            "fontsize": 9, "label": _left_lines([f"in flight ({len(unread)}):", *shown])}


def _node_fields(model: ActorSystem, s: Any, i: int) -> list[str]:
    """Node ``i``'s state in ``s`` as ``field=value`` lines (a bare value for a scalar state)."""
    ls = s.nodes[i]
    fields = fields_of(ls)
    names = _node_names(model)
    if not fields:
        return [_clip(_compact(ls, names))]
    shown = model.describe_state(s)  # as the text report shows them (a model may name ids there)
    me = model.node_list[i].name
    return [f"{k}={_clip(_compact(shown.get(f'{me}.{k}', v), names))}" for k, v in fields.items()]


def _changes(model: ActorSystem, before: Any, after: Any, i: int) -> list[str]:
    """The lines of node ``i``'s state that changed between ``before`` and ``after``."""
    if before.nodes[i] == after.nodes[i]:
        return []
    old = set(_node_fields(model, before, i))
    return [line for line in _node_fields(model, after, i) if line not in old]


def _clip(text: str, width: int = 40) -> str:
    """``text`` cut to ``width`` characters, so one long log cannot widen a whole lane."""
    return text if len(text) <= width else text[: width - 3] + "..."


def _step_point(info: StepInfo, args: tuple[tuple[str, Any], ...], last: bool,
                notes: list[str] | None = None) -> dict[str, object]:
    """Attributes of the acting node's point at one step; ``notes`` (what it read, how its state
    changed) are extra lines of its box."""
    notes = notes or []
    if info.kind == "deliver":
        if not notes or info.received is None:
            return {"shape": "point", "width": 0.12, "height": 0.12, "color": HIGHLIGHT if last else "black"}
        return {"shape": "box", "style": "filled,rounded" + (",bold" if last else ""), "fillcolor": "white",
                "color": HIGHLIGHT if last else "black", "fontcolor": HIGHLIGHT if last else None,
                "penwidth": 2.5 if last else None, "fontsize": 10,
                "label": "\n".join([repr(info.received.msg), *notes])}
    shape, color, fill = _KIND_STYLE.get(info.kind, ("box", "black", "white"))
    label = info.label
    if info.kind in ("local", "env"):
        extra = [f"{k}={v!r}" for k, v in args if k != "node"]
        if extra:
            label = f"{label}({', '.join(extra)})"
    elif info.kind in ("drop", "duplicate") and info.received is not None:
        label = f"{info.kind} {info.received.msg!r}"
    style = "filled,dashed" if info.kind in ("drop", "duplicate") else "filled"
    if notes:
        label = "\n".join([label, *notes])
    if last:
        color, style = HIGHLIGHT, style + ",bold"
    return {"shape": shape, "style": style, "color": color, "fillcolor": fill, "label": label,
            "fontcolor": HIGHLIGHT if last or info.kind == "crash" else None,
            "penwidth": 2.5 if last else None}


def _origin(sends: dict[Envelope, list[int]], pending: dict[Envelope, deque[int]],
            env: Envelope, consume: bool) -> int | None:
    """The row that sent ``env``: the oldest undelivered send, else the latest; None if unseen."""
    queue = pending.get(env)
    if queue:
        return queue.popleft() if consume else queue[0]
    rows = sends.get(env)
    return rows[-1] if rows else None


# ----- state graphs -------------------------------------------------------------------


def state_graph(graph: Graph, path: Path | None, model: Model[Any], max_nodes: int = 500,
                key: Callable[[Any], int] | None = None, title: str | None = None,
                cluster_by: str | None = None) -> str:
    """The explored state graph as DOT, with ``path`` (if any) in bold red.

    Nodes are the states (one ``field=value`` line each, from ``model.describe_state``),
    initial states have a double border, the last state of the path is filled red; edges
    are labelled with the action.  ``key`` must be the function the explorer stored codes
    with (``Canonicalizer(model).key`` under symmetry, where nodes then show each orbit's
    representative rather than the path's own states; default ``model.state_type.pack``).
    A path step whose exact action is not in the graph (symmetry renames nodes) highlights
    the first edge between the same two states; a last step missing from the graph (a step
    property stops the search before recording it) is added, dashed.  For a lasso the state
    where its loop starts is filled and labelled instead of the last one.  ``cluster_by`` (a
    field of ``describe_state``) boxes the states with one value of it together, labelled
    ``field=value``.  For a big space pass ``render_states.neighbourhood(...).graph``.
    """
    n = len(graph.states)
    if n > max_nodes:
        raise GraphTooLargeError(
            f"the state graph has {n} states, more than max_nodes={max_nodes}: too many to draw; "
            "use a sequence chart of the counterexample or a smaller configuration"
        )
    code_of = key if key is not None else model.state_type.pack
    names = _node_names(model)

    path_codes: list[int] = []
    path_steps: list[tuple[int, str, int]] = []
    extra_state: tuple[int, Any] | None = None
    if path is not None:
        path_codes = [code_of(s) for s in path.states]
        for k, c in enumerate(path_codes):
            if c in graph.states:
                continue
            if k == len(path_codes) - 1 and k > 0:
                extra_state = (c, path.states[k])
            else:
                raise ValueError(
                    f"state {k} of the path is not in the graph; was the graph explored with symmetry "
                    "reduction? pass key=Canonicalizer(model).key"
                )
        path_steps = [(a, repr(act), b)
                      for a, act, b in zip(path_codes, path.actions, path_codes[1:], strict=False)]

    # Which recorded edge each path step highlights; steps with none get an added edge.
    highlighted: set[int] = set()
    missing: list[tuple[int, str, int]] = []
    exact = {e: k for k, e in reversed(list(enumerate(graph.edges)))}
    between = {(a, b): k for k, (a, _l, b) in reversed(list(enumerate(graph.edges)))}
    for step in path_steps:
        hit = exact.get(step, between.get((step[0], step[2])))
        if hit is None:
            missing.append(step)
        else:
            highlighted.add(hit)

    on_path = set(path_codes)
    violating = path_codes[-1] if path_codes else None
    if path is not None and path.loop_start is not None:
        violating = path_codes[path.loop_start]  # a lasso: the loop's first state is marked
    initial = set(graph.initial)
    lines = _header(
        f"state graph of {model.display_name}",
        title,
        "rankdir=TB",
        'node [shape=box, style=rounded, fontname="Helvetica", fontsize=10]',
        'edge [fontname="Helvetica", fontsize=9]',
    )
    states: Iterable[tuple[int, Any]] = list(graph.states.items()) + ([extra_state] if extra_state else [])
    clusters = cluster_values(model, dict(states), cluster_by) if cluster_by else {}
    node_lines: dict[int, str] = {}
    for c, s in states:
        attrs: dict[str, object] = {"label": _state_label(model, s, names)}
        if c in initial:
            attrs["peripheries"] = 2
        if c in on_path:
            attrs.update(color=HIGHLIGHT, penwidth=2.5, fontcolor=HIGHLIGHT)
        if c == violating:
            attrs.update(style="rounded,filled,bold", fillcolor="#ffd0d0")
            if path is not None and path.loop_start is not None:
                attrs["xlabel"] = LOOP_LABEL if path.loop_start < len(path.actions) else "stays here forever"
        node_lines[c] = _node(f"s{c}", **attrs)
    groups: dict[str, list[int]] = {}
    for c in node_lines:
        groups.setdefault(clusters.get(c, ""), []).append(c)
    for i, (value, members) in enumerate(groups.items()):
        if value:  # a cluster; states without the field stay outside
            lines.append(f"  subgraph {dot_quote(f'cluster_{i}')} {{")
            lines.append(f"    graph{_attrs(label=value, style='rounded,dashed', color='gray50')};")
            lines.extend("  " + node_lines[c] for c in members)
            lines.append("  }")
        else:
            lines.extend(node_lines[c] for c in members)
    for k, (a, label, b) in enumerate(graph.edges):
        if k in highlighted:
            lines.append(_edge(f"s{a}", f"s{b}", label=label, color=HIGHLIGHT, fontcolor=HIGHLIGHT,
                               penwidth=2.5, style="bold"))
        else:
            lines.append(_edge(f"s{a}", f"s{b}", label=label))
    for a, label, b in missing:
        lines.append(_edge(f"s{a}", f"s{b}", label=label, color=HIGHLIGHT, fontcolor=HIGHLIGHT,
                           penwidth=2.5, style="bold,dashed"))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node_names(model: Model[Any]) -> dict[int, str] | None:
    return {n.id: n.name for n in model.node_list} if isinstance(model, ActorSystem) else None


def _state_label(model: Model[Any], s: Any, names: dict[int, str] | None) -> str:
    return "\n".join(_clip(f"{k}={_compact(v, names)}", 60) for k, v in model.describe_state(s).items())


def _compact(v: Any, names: dict[int, str] | None) -> str:
    """A short display form: strings unquoted, records positional, sets sorted."""
    if isinstance(v, str):
        return v
    if isinstance(v, Envelope):
        src, dst = (names.get(v.src, v.src), names.get(v.dst, v.dst)) if names else (v.src, v.dst)
        return f"{src}->{dst} {_compact(v.msg, names)}"
    fields = fields_of(v)
    if fields or (hasattr(v, "__dataclass_fields__") and not isinstance(v, type)):
        return f"{type(v).__name__}({', '.join(_compact(x, names) for x in fields.values())})"
    if isinstance(v, (frozenset, set)):
        return "{" + ", ".join(sorted(_compact(x, names) for x in v)) + "}"
    if isinstance(v, tuple):
        return "(" + ", ".join(_compact(x, names) for x in v) + ")"
    if isinstance(v, list):
        return "[" + ", ".join(_compact(x, names) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_compact(k, names)}: {_compact(x, names)}" for k, x in v.items()) + "}"
    return repr(v)


__all__ = [
    "DOT_TIMEOUT_S", "FORMATS", "IN_FLIGHT_MODES", "GraphTooLargeError", "RenderError", "dot_quote", "layout",
    "sequence_chart", "state_graph", "write_graph",
]
