"""Sequence charts of Paxos counterexamples: leaders read their 1b promises from the message set."""

from __future__ import annotations

import shlex

import pytest

from protoproof.checker import render
from protoproof.checker.explore import explore
from protoproof.checker.path import Path
from protoproof.checker.render import READ_COLOR, sequence_chart
from protoproof.models.paxos import Paxos

from .test_render import Dot, headline, is_red, needs_dot, parse, run_dot

LANES = ["a0", "a1", "a2", "b0", "b1"]
END = 13  # the lanes' end row: 12 steps


@pytest.fixture(scope="module")
def violation() -> Path:
    model = Paxos(acceptors=3, values=2, max_ballot=1).with_variant("accept-below-promise")
    result = explore(model, properties=["agreement"])
    assert result.path is not None
    assert result.path.action_reprs() == [
        "phase1a(node='b0')",
        "phase1a(node='b1')",
        "deliver(src='b0', dst='a0', msg=OneA(bal=0))",
        "deliver(src='b0', dst='a1', msg=OneA(bal=0))",
        "phase2a(node='b0', v=0)",
        "deliver(src='b1', dst='a0', msg=OneA(bal=1))",
        "deliver(src='b1', dst='a1', msg=OneA(bal=1))",
        "phase2a(node='b1', v=1)",
        "deliver(src='b0', dst='a0', msg=TwoA(bal=0, val=0))",
        "deliver(src='b0', dst='a1', msg=TwoA(bal=0, val=0))",
        "deliver(src='b1', dst='a0', msg=TwoA(bal=1, val=1))",
        "deliver(src='b1', dst='a1', msg=TwoA(bal=1, val=1))",
    ]
    return result.path


@pytest.fixture(scope="module")
def chart(violation: Path) -> Dot:
    return parse(sequence_chart(violation, title="paxos: agreement violated"))


def reads(chart: Dot) -> list[tuple[str, str, str]]:
    return sorted((a, b, attrs["tooltip"]) for a, b, attrs in chart.edges if attrs.get("color") == READ_COLOR)


def test_the_promises_read_by_phase2a_of_b0_and_b1_are_drawn_into_those_steps(chart: Dot) -> None:
    assert reads(chart) == [
        ("a0@3", "b0@5", "OneB(acc=0, bal=0, mbal=-1, mval=None)"),  # sent by a0 at step 3
        ("a0@6", "b1@8", "OneB(acc=0, bal=1, mbal=-1, mval=None)"),
        ("a1@4", "b0@5", "OneB(acc=1, bal=0, mbal=-1, mval=None)"),
        ("a1@7", "b1@8", "OneB(acc=1, bal=1, mbal=-1, mval=None)"),
    ]
    assert headline(chart.nodes["b0@5"]) == "phase2a(v=0)"
    assert headline(chart.nodes["b1@8"]) == "phase2a(v=1)"
    for _a, _b, attrs in chart.edges:
        if attrs.get("color") == READ_COLOR:
            assert attrs["fontcolor"] == READ_COLOR and attrs["constraint"] == "false"
            assert "dashed" not in attrs.get("style", "")
    # The phase1a steps read the inbox too, but nothing had been sent to the leaders yet.
    across = [(a, b) for a, b, _attrs in chart.edges if a.split("@")[0] != b.split("@")[0]]
    assert not any(b in ("b0@1", "b1@2") for _a, b in across)


def test_a_second_phase2a_of_the_same_leader_reads_nothing_new() -> None:
    model = Paxos(acceptors=3, values=2, max_ballot=1).with_variant("propose-twice")
    result = explore(model, properties=["agreement"])
    assert result.path is not None
    assert result.path.action_reprs()[3:5] == ["phase2a(node='b0', v=0)", "phase2a(node='b0', v=1)"]
    chart = parse(sequence_chart(result.path))
    assert [(a, b) for a, b, _label in reads(chart)] == [("a0@2", "b0@4"), ("a1@3", "b0@4")]
    into_second = [a for a, b, _attrs in chart.edges if b == "b0@5"]
    assert into_second == ["b0@4"]  # just the lifeline


def test_the_violating_twoa_delivery_is_highlighted_and_nothing_else(chart: Dot) -> None:
    red_nodes = {k for k, attrs in chart.nodes.items() if is_red(attrs)}
    red_edges = [(a, b, attrs) for a, b, attrs in chart.edges if is_red(attrs)]
    assert red_nodes == {"a1@12", "#step@12"}
    assert [(a, b, attrs["tooltip"]) for a, b, attrs in red_edges] == [("b1@8", "a1@12", "TwoA(bal=1, val=1)")]
    assert float(red_edges[0][2]["penwidth"]) > 1
    assert chart.nodes["#step@12"]["label"] == "12. deliver(src='b1', dst='a1', msg=TwoA(bal=1, val=1))"
    assert 'graph [label="paxos: agreement violated"' in chart.source


def test_no_in_flight_arrows_by_default_but_a_note_per_lane_listing_them(chart: Dot) -> None:
    assert "(in flight)" not in chart.source and "dashed" not in chart.source
    across = [(a, b) for a, b, _attrs in chart.edges if a.split("@")[0] != b.split("@")[0]]
    assert not any(b.endswith(f"@{END}") for _a, b in across)  # nothing points at a lane's end
    notes = {k: attrs["label"] for k, attrs in chart.nodes.items() if attrs.get("shape") == "note"}
    assert notes == {
        "a2@13": "in flight (4):\\lfrom b0: OneA(bal=0)\\lfrom b1: OneA(bal=1)\\l"
                 "from b0: TwoA(bal=0, val=0)\\lfrom b1: TwoA(bal=1, val=1)\\l",
        "b0@13": "in flight (2):\\lfrom a0: TwoB(acc=0, bal=0, val=0)\\lfrom a1: TwoB(acc=1, bal=0, val=0)\\l",
        "b1@13": "in flight (2):\\lfrom a0: TwoB(acc=0, bal=1, val=1)\\lfrom a1: TwoB(acc=1, bal=1, val=1)\\l",
    }
    # The promises that phase2a read are not in flight any more.
    assert "OneB" not in "".join(notes.values())


def test_the_arrows_mode_draws_exactly_the_messages_of_the_notes(violation: Path) -> None:
    arrows = parse(sequence_chart(violation, in_flight="arrows"))
    dashed = sorted((a, b, attrs["xlabel"]) for a, b, attrs in arrows.edges if attrs.get("style") == "dashed")
    assert dashed == sorted([
        ("b0@1", "a2@13", "OneA(bal=0) (in flight)"),
        ("b1@2", "a2@13", "OneA(bal=1) (in flight)"),
        ("b0@5", "a2@13", "TwoA(bal=0, val=0) (in flight)"),
        ("b1@8", "a2@13", "TwoA(bal=1, val=1) (in flight)"),
        ("a0@9", "b0@13", "TwoB(acc=0, bal=0, val=0) (in flight)"),
        ("a1@10", "b0@13", "TwoB(acc=1, bal=0, val=0) (in flight)"),
        ("a0@11", "b1@13", "TwoB(acc=0, bal=1, val=1) (in flight)"),
        ("a1@12", "b1@13", "TwoB(acc=1, bal=1, val=1) (in flight)"),
    ])
    assert "shape=\"note\"" not in arrows.source
    assert len(reads(arrows)) == 4  # the reads do not depend on the mode


def test_a_long_in_flight_note_shows_the_first_messages_and_counts_the_rest(
    violation: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "NOTE_ITEMS", 2)
    chart = parse(sequence_chart(violation))
    assert chart.nodes["a2@13"]["label"] == (
        "in flight (4):\\lfrom b0: OneA(bal=0)\\lfrom b1: OneA(bal=1)\\l... and 2 more\\l"
    )
    assert chart.nodes["b0@13"]["label"].count("\\l") == 3  # two messages: no count line


@needs_dot
def test_dot_accepts_the_paxos_chart_without_warnings_and_keeps_the_lanes_straight(chart: Dot) -> None:
    assert "<svg" in run_dot(chart.source, "svg")  # run_dot fails on any warning
    pos: dict[str, tuple[float, float]] = {}
    for line in run_dot(chart.source, "plain").splitlines():
        parts = shlex.split(line)
        if parts[0] == "node":
            pos[parts[1]] = (float(parts[2]), float(parts[3]))
    xs = [pos[f"{n}@0"][0] for n in LANES]
    assert xs == sorted(xs) and len(set(xs)) == len(LANES)
    for n, x in zip(LANES, xs, strict=True):
        column = [pos[f"{n}@{row}"] for row in range(END + 1)]
        assert all(abs(px - x) < 0.01 for px, _y in column), f"lane {n} is not vertical: {column}"
        ys = [py for _x, py in column]
        assert ys == sorted(ys, reverse=True), f"time does not flow down in lane {n}"
