"""Counterexample renderings: assertions on the DOT source, plus what ``dot`` makes of it."""

from __future__ import annotations

import html
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

import pytest

from protoproof.checker.explore import Graph, Result, explore
from protoproof.checker.path import Path, replay
from protoproof.checker.render import (
    GraphTooLargeError,
    RenderError,
    dot_quote,
    sequence_chart,
    state_graph,
    write_graph,
)
from protoproof.checker.symmetry import Canonicalizer
from protoproof.models.actors import ActorSystem, Effect, Faults, Network, Node, Send, SetTimer, UnorderedBag
from protoproof.models.base import Model, sometimes, transition
from protoproof.models.schema import Enum, Int, OneOf, Record, Type, Union
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase

DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(DOT is None, reason="graphviz 'dot' is not installed")

# ----- reading DOT back ---------------------------------------------------------------

_STMT = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"(?:\s*->\s*"((?:[^"\\]|\\.)*)")?\s*\[(.*)\];$')
_ATTR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass
class Dot:
    nodes: dict[str, dict[str, str]]
    edges: list[tuple[str, str, dict[str, str]]]
    source: str

    def edges_between(self, a: str, b: str) -> list[dict[str, str]]:
        return [attrs for x, y, attrs in self.edges if (x, y) == (a, b)]

    def edge(self, a: str, b: str) -> dict[str, str]:
        found = self.edges_between(a, b)
        assert len(found) == 1, f"expected one edge {a} -> {b}, found {found}"
        return found[0]


def parse(source: str) -> Dot:
    """Node and edge statements with their attributes (the renderer quotes every id)."""
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    for line in source.splitlines():
        m = _STMT.match(line)
        if m is None:
            continue
        attrs = dict(_ATTR.findall(m.group(3)))
        if m.group(2) is None:
            nodes[m.group(1)] = attrs
        else:
            edges.append((m.group(1), m.group(2), attrs))
    return Dot(nodes, edges, source)


def headline(attrs: dict[str, str]) -> str:
    """A box's first line (the rest is the node's state, or what it changed)."""
    return attrs["label"].split("\\n")[0]


def is_red(attrs: dict[str, str]) -> bool:
    return attrs.get("color") == "red" or attrs.get("fontcolor") == "red"


def run_dot(source: str, fmt: str) -> str:
    assert DOT is not None
    done = subprocess.run([DOT, f"-T{fmt}"], input=source, text=True, capture_output=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "Error" not in done.stderr, done.stderr
    return done.stdout


# ----- the 2PC counterexample ---------------------------------------------------------


@pytest.fixture(scope="module")
def twopc_violation() -> Result:
    model = TwoPhase(rms=3).with_variant("commit-without-votes")
    result = explore(model, properties=["atomicity"])
    assert result.path is not None
    assert result.path.action_reprs() == [
        "choose_to_abort(node='rm0')",
        "commit(node='tm')",
        "deliver(src='tm', dst='rm1', msg=Commit())",
    ]
    return result


@pytest.fixture(scope="module")
def chart(twopc_violation: Result) -> Dot:
    assert twopc_violation.path is not None
    return parse(sequence_chart(twopc_violation.path, title="atomicity violated"))


def test_sequence_chart_has_a_lane_per_node_in_node_order(chart: Dot) -> None:
    names = ["rm0", "rm1", "rm2", "tm"]
    assert [headline(chart.nodes[f"{n}@0"]) for n in names] == names
    # Rows are ordered left to right, lanes are chained top to bottom through every step.
    row0 = '{ rank=same; "#step@0" -> "rm0@0" -> "rm1@0" -> "rm2@0" -> "tm@0" [style=invis]; }'
    assert row0 in chart.source
    for n in names:
        for row in range(4):
            lifeline = chart.edge(f"{n}@{row}", f"{n}@{row + 1}")
            assert lifeline["arrowhead"] == "none" and lifeline["weight"] == "100"
    assert f"{names[0]}@5" not in chart.nodes


def test_sequence_chart_draws_commit_arrow_from_tm_to_rm1(chart: Dot) -> None:
    arrow = chart.edge("tm@2", "rm1@3")  # sent by the commit step, received at step 3
    assert arrow["tooltip"] == "Commit()"
    assert "dashed" not in arrow.get("style", "")
    assert arrow["constraint"] == "false"  # messages must not disturb the rows


def test_sequence_chart_marks_the_abort_step_on_rm0s_lane(chart: Dot) -> None:
    abort = chart.nodes["rm0@1"]
    assert abort["shape"] == "box" and abort["label"] == "choose_to_abort\\naborted"  # and the new state
    assert chart.nodes["#step@1"]["label"] == "1. choose_to_abort(node='rm0')"
    assert headline(chart.nodes["tm@2"]) == "commit"
    for idle in ("rm1@1", "rm2@1", "tm@1"):
        assert chart.nodes[idle]["shape"] == "point"


def test_sequence_chart_highlights_the_last_step_and_nothing_else(chart: Dot) -> None:
    red_nodes = {k for k, attrs in chart.nodes.items() if is_red(attrs)}
    red_edges = {(a, b) for a, b, attrs in chart.edges if is_red(attrs)}
    assert red_nodes == {"rm1@3", "#step@3"}
    assert red_edges == {("tm@2", "rm1@3")}
    assert float(chart.edge("tm@2", "rm1@3")["penwidth"]) > 1


def test_sequence_chart_lists_undelivered_commits_in_a_note_at_each_receivers_lane_end(chart: Dot) -> None:
    from_commit = {b: attrs for a, b, attrs in chart.edges if a == "tm@2" and b != "tm@3"}
    assert set(from_commit) == {"rm1@3"}  # no arrow for the Commits still in flight
    assert "(in flight)" not in chart.source
    for lane in ("rm0@4", "rm2@4"):  # row 4 is the lanes' end
        note = chart.nodes[lane]
        assert note["shape"] == "note"
        assert note["label"] == "in flight (1):\\lfrom tm: Commit()\\l"
    assert chart.nodes["rm1@4"]["shape"] == chart.nodes["tm@4"]["shape"] == "point"


def test_sequence_chart_draws_undelivered_commits_as_dashed_in_flight_arrows_on_request(
    twopc_violation: Result,
) -> None:
    assert twopc_violation.path is not None
    chart = parse(sequence_chart(twopc_violation.path, in_flight="arrows"))
    from_commit = {b: attrs for a, b, attrs in chart.edges if a == "tm@2" and b != "tm@3"}
    assert set(from_commit) == {"rm1@3", "rm0@4", "rm2@4"}  # row 4 is the lanes' end
    for lane in ("rm0@4", "rm2@4"):
        assert from_commit[lane]["style"] == "dashed"
        assert from_commit[lane]["xlabel"] == "Commit() (in flight)"
        assert chart.nodes[lane]["shape"] == "point"


def test_sequence_chart_can_omit_messages_in_flight(twopc_violation: Result) -> None:
    assert twopc_violation.path is not None
    chart = parse(sequence_chart(twopc_violation.path, in_flight="omit"))
    assert {b for a, b, _attrs in chart.edges if a == "tm@2"} == {"rm1@3", "tm@3"}
    assert all(chart.nodes[f"{n}@4"]["shape"] == "point" for n in ("rm0", "rm1", "rm2", "tm"))
    assert "in flight" not in chart.source


def test_sequence_chart_rejects_an_unknown_in_flight_mode(twopc_violation: Result) -> None:
    assert twopc_violation.path is not None
    with pytest.raises(ValueError, match="in_flight must be one of 'note', 'arrows', 'omit'"):
        sequence_chart(twopc_violation.path, in_flight="lines")


def test_sequence_chart_title_names_the_violated_property(twopc_violation: Result, chart: Dot) -> None:
    assert 'graph [label="atomicity violated", labelloc="t"' in chart.source
    assert twopc_violation.path is not None
    assert "labelloc" not in sequence_chart(twopc_violation.path)


@needs_dot
def test_dot_accepts_the_sequence_chart_and_lays_it_out_as_lanes(chart: Dot) -> None:
    assert "<svg" in run_dot(chart.source, "svg")
    pos: dict[str, tuple[float, float]] = {}
    for line in run_dot(chart.source, "plain").splitlines():
        parts = shlex.split(line)
        if parts[0] == "node":
            pos[parts[1]] = (float(parts[2]), float(parts[3]))
    lanes = ["rm0", "rm1", "rm2", "tm"]
    xs = [pos[f"{n}@0"][0] for n in lanes]
    assert xs == sorted(xs) and len(set(xs)) == 4
    for n, x in zip(lanes, xs, strict=True):
        column = [pos[f"{n}@{row}"] for row in range(5)]
        assert all(abs(px - x) < 0.01 for px, _y in column), f"lane {n} is not vertical: {column}"
        ys = [py for _x, py in column]
        assert ys == sorted(ys, reverse=True), f"time does not flow down in lane {n}"


def test_sequence_chart_refuses_a_model_without_nodes() -> None:
    model = TCommit(rms=2)
    path = replay(model, ["prepare(rm=0)"])
    with pytest.raises(ValueError, match="sequence charts need an actor model; use state_graph"):
        sequence_chart(path)


# ----- timeouts, losses, crashes: a two-node ping-pong ----------------------------------


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Pong:
    pass


Out = tuple[str, Sequence[Effect]] | None


class Client(Node[str]):
    """Sends a Ping at start and again on every retry timeout until a Pong arrives."""

    role = "client"
    timers = ("retry",)

    def state_type(self) -> Type:
        return Enum("ClientState", "waiting", "done")

    def on_start(self) -> tuple[str, Sequence[Effect]]:
        return "waiting", (Send(1, Ping()), SetTimer("retry"))

    def on_timeout(self, s: str, timer: Any) -> Out:
        return None if s == "done" else ("waiting", (Send(1, Ping()),))

    def on_message(self, s: str, src: int, msg: Any) -> Out:
        return ("done", ()) if type(msg) is Pong else None


class Server(Node[str]):
    role = "server"

    def state_type(self) -> Type:
        return Enum("ServerState", "up")

    def on_start(self) -> tuple[str, Sequence[Effect]]:
        return "up", ()

    def on_message(self, s: str, src: int, msg: Any) -> Out:
        return ("up", (Send(src, Pong()),)) if type(msg) is Ping else None


@dataclass(frozen=True)
class PingPongConfig:
    pass


class PingPong(ActorSystem):
    Config = PingPongConfig
    name = "pingpong"

    def nodes(self) -> list[Node[Any]]:
        return [Client(0), Server(1)]

    def message_type(self) -> Type:
        return Union(Record(Ping), Record(Pong))

    def network(self) -> Network:
        return UnorderedBag(max_copies=2, lossy=True)

    def faults(self) -> Faults:
        return Faults(max_crashes=1)

    @sometimes
    def done(self, s: Any) -> bool:
        return bool(s.nodes[0] == "done")


@pytest.fixture(scope="module")
def faulty_chart() -> Dot:
    path = replay(PingPong(), [
        "deliver(src='client0', dst='server1', msg=Ping())",  # the Ping sent by on_start
        "drop(src='server1', dst='client0', msg=Pong())",
        "timeout(node='client0', timer='retry')",
        "crash(node='server1')",
        "recover(node='server1')",
        "deliver(src='client0', dst='server1', msg=Ping())",  # the retried Ping
    ])
    return parse(sequence_chart(path))


def test_sequence_chart_draws_a_message_in_flight_initially_from_the_top_of_the_senders_lane(
    faulty_chart: Dot,
) -> None:
    assert faulty_chart.edge("client0@0", "server1@1")["tooltip"] == "Ping()"


def test_sequence_chart_draws_a_lost_message_as_a_dashed_arrow_to_a_drop_box(faulty_chart: Dot) -> None:
    lost = faulty_chart.edge("server1@1", "client0@2")
    assert lost["style"] == "dashed" and lost["arrowhead"] == "tee" and lost["tooltip"] == "Pong() (lost)"
    assert faulty_chart.nodes["client0@2"]["label"] == "drop Pong()"


def test_sequence_chart_marks_timeout_crash_and_recovery_with_distinct_shapes(faulty_chart: Dot) -> None:
    timeout, crash, recover = (faulty_chart.nodes[k] for k in ("client0@3", "server1@4", "server1@5"))
    assert (timeout["shape"], timeout["label"]) == ("hexagon", "timeout 'retry'")
    assert (crash["shape"], crash["label"], crash["color"]) == ("octagon", "crash", "red")
    assert (recover["shape"], recover["label"]) == ("box", "recover")
    assert len({timeout["shape"], crash["shape"]} | {recover["color"], crash["color"]}) == 4
    # The server's lifeline is dotted red while it is down, and only then.
    assert faulty_chart.edge("server1@4", "server1@5")["style"] == "dotted"
    assert "style" not in faulty_chart.edge("server1@3", "server1@4")
    assert "style" not in faulty_chart.edge("server1@5", "server1@6")


def test_sequence_chart_draws_a_retried_message_from_the_step_that_resent_it(faulty_chart: Dot) -> None:
    retried = faulty_chart.edge("client0@3", "server1@6")
    assert retried["tooltip"] == "Ping()" and is_red(retried)
    assert faulty_chart.edges_between("server1@6", "client0@7") == []
    assert faulty_chart.nodes["client0@7"]["label"] == "in flight (1):\\lfrom server1: Pong()\\l"


# ----- a node that reads its inbox: a gatherer and two chatty clients -------------------


@dataclass(frozen=True, slots=True)
class Hello:
    text: str


TEXTS = ("hi", "ho", 'say "hi"', "back\\slash \\N")


class Chatty(Node[int]):
    """Says TEXTS[id] to the gatherer at start, and TEXTS[id + 2] on ``shout``."""

    role = "client"

    def state_type(self) -> Type:
        return Int(0, 0)

    def on_start(self) -> tuple[int, Sequence[Effect]]:
        return 0, (Send(2, Hello(TEXTS[self.id])),)

    @transition()
    def shout(self, s: int) -> tuple[int, Sequence[Effect]]:
        return s, (Send(2, Hello(TEXTS[self.id + 2])),)


class Gatherer(Node[int]):
    """Counts the distinct messages sent to it, reading them from the message set."""

    role = "gatherer"
    reads_inbox = True

    def state_type(self) -> Type:
        return Int(0, len(TEXTS))

    def on_start(self) -> tuple[int, Sequence[Effect]]:
        return 0, ()

    @transition()
    def gather(self, s: int, inbox: frozenset[Any]) -> tuple[int, Sequence[Effect]] | None:
        return (len(inbox), ()) if len(inbox) > s else None


@dataclass(frozen=True)
class GatherConfig:
    pass


class Gather(ActorSystem):
    Config = GatherConfig
    name = "gather"

    def nodes(self) -> list[Node[Any]]:
        return [Chatty(0), Chatty(1), Gatherer(2, "gatherer")]

    def message_type(self) -> Type:
        return Record(Hello, text=OneOf(*TEXTS))

    @sometimes
    def all_gathered(self, s: Any) -> bool:
        return bool(s.nodes[2] == len(TEXTS))


@pytest.fixture(scope="module")
def gather_chart() -> Dot:
    path = replay(Gather(), [
        "gather(node='gatherer')",  # reads the two messages in flight initially
        "shout(node='client0')",
        "gather(node='gatherer')",  # reads only client0's shout
        "shout(node='client1')",  # never read
    ])
    return parse(sequence_chart(path))


def reads(chart: Dot) -> list[tuple[str, str, str]]:
    """The inbox reads: (from, to, label) of the arrows with a read's arrowhead."""
    return sorted((a, b, attrs["tooltip"]) for a, b, attrs in chart.edges if attrs.get("arrowhead") == "vee")


def test_sequence_chart_draws_messages_read_from_the_inbox_once_into_the_first_step_reading_them(
    gather_chart: Dot,
) -> None:
    assert reads(gather_chart) == [
        ("client0@0", "gatherer@1", "Hello(text='hi')"),  # in flight initially: from the lane heads
        ("client0@2", "gatherer@3", """Hello(text='say \\"hi\\"')"""),  # as DOT source
        ("client1@0", "gatherer@1", "Hello(text='ho')"),
    ]
    for _a, _b, attrs in gather_chart.edges:
        if attrs.get("arrowhead") == "vee":  # blue, unlike deliveries (black) and the last step (red)
            assert attrs["color"] == attrs["fontcolor"] == "#1f5fbf"
            assert attrs["constraint"] == "false" and "style" not in attrs
    assert headline(gather_chart.nodes["gatherer@3"]) == "gather"


def test_sequence_chart_lists_a_message_sent_after_the_last_read_as_in_flight(gather_chart: Dot) -> None:
    note = gather_chart.nodes["gatherer@5"]
    assert note["shape"] == "note"
    assert note["label"] == "in flight (1):\\lfrom client1: Hello(text='back\\\\\\\\slash \\\\\\\\N')\\l"
    assert gather_chart.nodes["client0@5"]["shape"] == gather_chart.nodes["client1@5"]["shape"] == "point"
    assert not any(b.endswith("@5") for a, b, _attrs in gather_chart.edges if a[:-2] != b[:-2])


def test_sequence_chart_does_not_draw_a_resent_message_the_node_had_already_read() -> None:
    path = replay(Gather(), [
        "gather(node='gatherer')",
        "shout(node='client0')",
        "gather(node='gatherer')",  # reads client0's shout
        "shout(node='client0')",  # the same message again: the inbox does not change
        "shout(node='client1')",
        "gather(node='gatherer')",  # reads only client1's shout
    ])
    chart = parse(sequence_chart(path))
    assert [(a, b) for a, b, _label in reads(chart)] == [
        ("client0@0", "gatherer@1"), ("client0@2", "gatherer@3"), ("client1@0", "gatherer@1"),
        ("client1@5", "gatherer@6"),
    ]
    assert "note" not in chart.source  # the resent message is in the inbox gather@6 read


def test_sequence_chart_highlights_the_reads_of_a_violating_inbox_step() -> None:
    path = replay(Gather(), ["shout(node='client1')", "gather(node='gatherer')"])
    chart = parse(sequence_chart(path))
    red = sorted((a, b) for a, b, attrs in chart.edges if is_red(attrs))
    assert red == [("client0@0", "gatherer@2"), ("client1@0", "gatherer@2"), ("client1@1", "gatherer@2")]
    assert all(float(attrs["penwidth"]) > 1 for _a, _b, attrs in chart.edges if is_red(attrs))
    assert "note" not in chart.source  # everything sent was read


@needs_dot
def test_dot_renders_an_in_flight_note_exactly(gather_chart: Dot) -> None:
    svg = run_dot(gather_chart.source, "svg")
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)]
    assert "in flight (1):" in texts
    assert f"from client1: {Hello(TEXTS[3])!r}" in texts
    assert f"read {Hello(TEXTS[2])!r}" in texts  # in the box of the step that read it


# ----- state graphs -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tcommit() -> tuple[TCommit, Result]:
    model = TCommit(rms=2)
    result = explore(model, record_graph=1000)
    assert result.graph is not None and len(result.graph.states) == 12
    return model, result


def _witness(result: Result) -> Path:
    path = result.examples["all_committed"]
    assert path is not None and len(path) == 4
    return path


def test_state_graph_contains_every_state_and_transition(tcommit: tuple[TCommit, Result]) -> None:
    model, result = tcommit
    assert result.graph is not None
    dot = parse(state_graph(result.graph, None, model))
    assert set(dot.nodes) == {f"s{c}" for c in result.graph.states}
    init = f"s{model.state_type.pack(model.initial_states()[0])}"
    assert dot.nodes[init]["label"] == "rm=(working, working)"
    assert sorted((a, b, attrs["label"]) for a, b, attrs in dot.edges) == sorted(
        (f"s{a}", f"s{b}", label) for a, label, b in result.graph.edges
    )
    assert [k for k, attrs in dot.nodes.items() if attrs.get("peripheries") == "2"] == [
        f"s{c}" for c in result.graph.initial
    ]
    assert not any(is_red(attrs) for attrs in dot.nodes.values())


def test_state_graph_highlights_the_path_in_bold_red(tcommit: tuple[TCommit, Result]) -> None:
    model, result = tcommit
    assert result.graph is not None
    path = _witness(result)
    dot = parse(state_graph(result.graph, path, model))
    codes = [f"s{model.state_type.pack(s)}" for s in path.states]
    assert {k for k, attrs in dot.nodes.items() if is_red(attrs)} == set(codes)
    red = [(a, b, attrs["label"]) for a, b, attrs in dot.edges if is_red(attrs)]
    assert sorted(red) == sorted(zip(codes, codes[1:], path.action_reprs(), strict=False))
    assert all("bold" in attrs["style"] for _a, _b, attrs in dot.edges if is_red(attrs))
    assert "filled" in dot.nodes[codes[-1]]["style"]  # the state the path ends in
    assert "filled" not in dot.nodes[codes[-2]].get("style", "")


@needs_dot
def test_dot_accepts_the_state_graph(tcommit: tuple[TCommit, Result]) -> None:
    model, result = tcommit
    assert result.graph is not None
    assert "<svg" in run_dot(state_graph(result.graph, _witness(result), model), "svg")


def test_state_graph_refuses_more_states_than_max_nodes(tcommit: tuple[TCommit, Result]) -> None:
    model, result = tcommit
    assert result.graph is not None
    with pytest.raises(GraphTooLargeError, match=r"12 states.*sequence chart.*smaller configuration") as err:
        state_graph(result.graph, None, model, max_nodes=11)
    assert isinstance(err.value, ValueError)
    assert state_graph(result.graph, None, model, max_nodes=12).startswith("digraph")


def test_state_graph_of_a_symmetry_reduced_search_needs_the_canonical_key() -> None:
    model: Model[Any] = TwoPhase(rms=2).with_variant("commit-without-votes")
    result = explore(model, properties=["atomicity"], symmetry=True, record_graph=1000)
    assert result.graph is not None and result.path is not None
    with pytest.raises(ValueError, match="key=Canonicalizer"):
        state_graph(result.graph, result.path, model)
    dot = parse(state_graph(result.graph, result.path, model, key=Canonicalizer(model).key))
    red = [attrs for _a, _b, attrs in dot.edges if is_red(attrs)]
    assert len(red) == len(result.path)
    # Symmetry renames nodes in actions: the recorded edges between the same states are used.
    assert len(dot.edges) == len(result.graph.edges)
    assert not any("dashed" in attrs["style"] for attrs in red)
    end = dot.nodes[f"s{Canonicalizer(model).key(result.path.last)}"]
    assert "=aborted" in end["label"] and "=committed" in end["label"] and "filled" in end["style"]


def test_state_graph_highlights_the_violating_step_of_a_refinement_failure() -> None:
    model: Model[Any] = TwoPhase(rms=2).with_variant("commit-without-votes")
    result = explore(model, properties=["refines_tcommit"], record_graph=1000)
    assert result.graph is not None and result.path is not None
    dot = parse(state_graph(result.graph, result.path, model))
    codes = [f"s{model.state_type.pack(s)}" for s in result.path.states]
    last = dot.edges_between(codes[-2], codes[-1])
    # The search records the violating step before it stops, so it is drawn as a recorded edge.
    assert any(is_red(attrs) and "dashed" not in attrs["style"] for attrs in last)
    assert codes[-1] in dot.nodes


def test_state_graph_refuses_a_path_from_another_graph(tcommit: tuple[TCommit, Result]) -> None:
    model, _result = tcommit
    empty = Graph(states={}, edges=[], initial=[])
    with pytest.raises(ValueError, match="not in the graph"):
        state_graph(empty, replay(model, ["prepare(rm=0)"]), model)


# ----- escaping and files ---------------------------------------------------------------


def test_dot_quote_escapes_quotes_backslashes_and_newlines() -> None:
    assert dot_quote('say "hi"') == '"say \\"hi\\""'
    assert dot_quote("a\\b") == '"a\\\\b"'
    assert dot_quote("one\ntwo") == '"one\\ntwo"'
    assert dot_quote(3) == '"3"'


@needs_dot
def test_dot_renders_a_quoted_label_exactly() -> None:
    label = 'a"b\\c\nd \\N'
    svg = run_dot(f"digraph {{ x [label={dot_quote(label)}] }}", "svg")
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)]
    assert texts == ['a"b\\c', "d \\N"]


SOURCE = 'digraph { "a" -> "b" [label="m"]; }\n'


def test_write_graph_writes_the_source_for_a_dot_file(tmp_path: FsPath) -> None:
    out = tmp_path / "chart.dot"
    message = write_graph(SOURCE, str(out))
    assert out.read_text() == SOURCE
    assert str(out) in message and "\n" not in message


@needs_dot
def test_write_graph_renders_svg_with_dot(tmp_path: FsPath) -> None:
    out = tmp_path / "chart.svg"
    message = write_graph(SOURCE, str(out))
    assert "<svg" in out.read_text()
    assert str(out) in message and "SVG" in message
    assert not (tmp_path / "chart.dot").exists()


def test_write_graph_without_dot_writes_dot_and_gives_the_render_command(
    tmp_path: FsPath, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    out = tmp_path / "chart.svg"
    message = write_graph(SOURCE, str(out))
    assert not out.exists()
    assert (tmp_path / "chart.dot").read_text() == SOURCE
    assert f"dot -Tsvg {tmp_path / 'chart.dot'} -o {out}" in message
    assert "not found" in message and "\n" not in message


@needs_dot
def test_write_graph_reports_a_dot_failure_and_keeps_the_source(tmp_path: FsPath) -> None:
    out = tmp_path / "broken.png"
    with pytest.raises(RenderError, match="dot failed"):
        write_graph("digraph { this is not dot", str(out))
    assert (tmp_path / "broken.dot").read_text() == "digraph { this is not dot"


def test_write_graph_rejects_an_unknown_extension(tmp_path: FsPath) -> None:
    out = tmp_path / "chart.jpg"
    with pytest.raises(ValueError, match=r"'\.jpg'.*\.dot, \.svg, \.png, \.pdf"):
        write_graph(SOURCE, str(out))
    assert list(tmp_path.iterdir()) == []


def test_a_chart_shows_a_node_state_as_the_text_report_does_a_raft_vote_by_the_servers_name() -> None:
    # The boxes showed voted_for=0 and votes_granted={0} where the text said s1 (describe_state).
    from protoproof.models.raft import Raft

    model = Raft(max_term=3, max_log=0, max_messages=1, lossy=False, duplicating=False,
                 restarts=False).with_variant("stale-leader")  # its defaults: 1,263 states
    r = explore(model)
    assert r.path is not None
    dot = sequence_chart(r.path)
    assert "voted_for=s1" in dot and "votes_granted={s1, s2}" in dot
    assert "voted_for=0" not in dot and "votes_granted={0" not in dot
