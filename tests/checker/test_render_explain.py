"""Counterexample pictures that explain themselves: why in the title, the falsifying step marked,
each node's state where it changes, and no two labels on top of each other."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path as FsPath

import pytest

from protoproof.checker.explain import chart_title, falsifying_step, reason, refinement_gap
from protoproof.checker.explore import explore
from protoproof.checker.path import Path, replay
from protoproof.checker.render import layout, sequence_chart, write_graph
from protoproof.cli import main
from protoproof.models.lease import Lease
from protoproof.models.paxos import Paxos
from protoproof.models.raft import Raft
from protoproof.models.raft_nodes import LEADER
from protoproof.models.tcommit import TC, TCommit
from protoproof.models.twophase import TwoPhase

from .test_render import headline, is_red, needs_dot, parse, run_dot

MAJORITY = [  # 2PC, commit-on-majority: rm2 aborts, the TM commits on rm0 and rm1, rm0 commits
    "prepare(node='rm0')", "prepare(node='rm1')", "choose_to_abort(node='rm2')",
    "deliver(src='rm0', dst='tm', msg=Prepared(rm=0))", "deliver(src='rm1', dst='tm', msg=Prepared(rm=1))",
    "commit(node='tm')", "deliver(src='tm', dst='rm0', msg=Commit())",
]


@pytest.fixture(scope="module")
def majority() -> Path:
    return replay(TwoPhase(rms=3).with_variant("commit-on-majority"), MAJORITY)


def test_the_title_names_the_property_and_why_it_fails(majority: Path) -> None:
    assert chart_title(majority, "atomicity", "twophase") == (
        "twophase: atomicity violated at step 7: rm0 committed while rm2 aborted")


def test_the_builtin_safety_properties_explain_their_violations() -> None:
    tc = TCommit(rms=3)
    assert tc.explain("atomicity", TC(("committed", "aborted", "aborted"))) == (
        "rm0 committed while rm1 and rm2 aborted")
    paxos = Paxos(acceptors=3, values=2, max_ballot=1).with_variant("accept-below-promise")
    path = explore(paxos, properties=["agreement"]).path
    assert path is not None
    assert reason(path, "agreement") == "two values chosen: 0 (ballot 0, by a0+a1) and 1 (ballot 1, by a0+a1)"
    lease = Lease().with_variant("no-margin")
    path = explore(lease, properties=["lease_safety"]).path
    assert path is not None
    assert re.fullmatch(r"c0 \(token 1, .*\) and c1 \(token 2, .*\) both believe they hold the lease",
                        reason(path, "lease_safety") or "")
    raft = Raft(servers=2)
    s = raft.initial_states()[0]
    leaders = tuple(n._replace(role=LEADER) for n in s.nodes)  # both leaders of term 1 (the initial term)
    assert raft.explain("election_safety", s._replace(nodes=leaders)) == "s1 and s2 are both leaders of term 1"


def test_an_explain_hook_that_fails_gives_no_reason_rather_than_an_error() -> None:
    assert TCommit(rms=2).explain("atomicity", None) is None  # rm_states(None) raises inside the hook
    assert TCommit(rms=2).explain("no_such_property", None) is None


def test_the_marked_step_is_the_one_that_falsifies_the_property(majority: Path) -> None:
    model = majority.model
    longer = replay(model, [*MAJORITY, "deliver(src='tm', dst='rm1', msg=Commit())"])  # still violated after
    assert falsifying_step(majority, "atomicity") == 7
    assert falsifying_step(longer, "atomicity") == 7
    assert falsifying_step(replay(model, MAJORITY[:6]), "atomicity") is None  # not violated yet
    chart = parse(sequence_chart(longer, mark=(7, "atomicity false from here")))
    assert chart.nodes["#step@7"]["label"].endswith(">> atomicity false from here")
    assert is_red(chart.nodes["rm0@7"]) and not is_red(chart.nodes["rm1@8"])
    assert [k for k in range(1, 9) if is_red(chart.nodes[f"#step@{k}"])] == [7]
    with pytest.raises(ValueError, match="mark row 9"):
        sequence_chart(longer, mark=(9, "x"))


def test_each_step_box_shows_the_state_the_step_changed(majority: Path) -> None:
    chart = parse(sequence_chart(majority))
    assert chart.nodes["rm0@0"]["label"] == "rm0\\nworking"  # the lane head: the initial state
    assert chart.nodes["tm@0"]["label"] == "tm\\nstate=init\\nprepared={}"
    assert chart.nodes["rm2@3"]["label"] == "choose_to_abort\\naborted"
    assert chart.nodes["tm@5"]["label"] == "Prepared(rm=1)\\nprepared={0, 1}"  # a delivery that changed tm
    assert chart.nodes["rm0@7"]["label"] == "Commit()\\ncommitted"
    assert headline(chart.nodes["tm@6"]) == "commit" and "state=committed" in chart.nodes["tm@6"]["label"]


def test_a_refinement_violation_says_which_abstract_step_is_missing() -> None:
    model = TwoPhase(rms=3).with_variant("commit-on-majority")
    path = replay(model, [a for a in MAJORITY if "rm2" not in a])  # rm2 still working when rm0 commits
    gap = refinement_gap(path, "refines_tcommit")
    assert gap is not None and gap.step == 6
    assert gap.before.rm == ("prepared", "prepared", "working") and gap.after.rm[0] == "committed"
    assert "prepare(rm=2)" in dict(gap.enabled) and not any(a.startswith("decide_commit") for a, _t in gap.enabled)
    title = chart_title(path, "refines_tcommit", "twophase").split("\n")
    assert title == [
        "twophase: refines_tcommit violated at step 6",
        "step 6 (deliver(src='tm', dst='rm0', msg=Commit())) changes the tcommit view "
        "(rm: ('prepared', 'prepared', 'working') -> ('committed', 'prepared', 'working'))",
        "tcommit has no step doing that from rm=('prepared', 'prepared', 'working'): its steps there are "
        "prepare(rm=2), decide_abort(rm=0), decide_abort(rm=1), decide_abort(rm=2)",
    ]
    longer = replay(model, [a for a in MAJORITY if "rm2" not in a] + ["deliver(src='tm', dst='rm1', msg=Commit())"])
    assert chart_title(longer, "refines_tcommit", "twophase").split("\n")[1] == title[1]  # the gap, not the end


def _boxes(source: str) -> list[tuple[str, float, float, float, float]]:
    """Every drawn node's box (name, x0, y0, x1, y1) in points, from ``dot -Tjson``."""
    out = []
    for obj in json.loads(run_dot(source, "json"))["objects"]:
        if "pos" not in obj or obj.get("shape") == "point":
            continue
        x, y = map(float, obj["pos"].split(","))
        w, h = float(obj["width"]) * 36, float(obj["height"]) * 36
        out.append((obj["name"], x - w, y - h, x + w, y + h))
    return out


@needs_dot
def test_no_two_labels_of_the_paxos_chart_overlap() -> None:
    """Every text is in a node (dot never overlaps nodes) and no message arrow carries a label;
    the old chart drew a 1b over a 2a label at step 7."""
    model = Paxos(acceptors=3, values=2, max_ballot=1).with_variant("accept-below-promise")
    path = explore(model, properties=["agreement"]).path
    assert path is not None
    source = sequence_chart(path, title=chart_title(path, "agreement", "paxos"))
    chart = parse(source)
    assert not [attrs for _a, _b, attrs in chart.edges if "label" in attrs or "xlabel" in attrs]
    boxes = _boxes(source)
    assert len(boxes) > 20
    for i, (n, x0, y0, x1, y1) in enumerate(boxes):
        for m, u0, v0, u1, v1 in boxes[i + 1:]:
            assert x1 <= u0 or u1 <= x0 or y1 <= v0 or v1 <= y0, f"{n} overlaps {m}"


def test_check_says_why_an_invariant_fails_in_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check", "twophase", "--rms", "3", "--variant", "commit-on-majority", "--property", "atomicity", "--quiet"]
    assert main(argv) == 1
    assert "\nwhy: rm0 committed while rm2 aborted\n" in capsys.readouterr().out
    assert main([*argv, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["explanation"] == "rm0 committed while rm2 aborted"


def test_an_arrow_crossing_another_lane_passes_behind_its_box(majority: Path) -> None:
    """The prepares of rm0 and rm1 cross rm2's lane at its abort box: the box hides the arrows."""
    chart = parse(sequence_chart(majority))
    assert "outputorder=edgesfirst;" in chart.source
    boxes = {k: a for k, a in chart.nodes.items() if a.get("shape") in ("box", "hexagon", "octagon", "cds")}
    assert "rm2@3" in boxes and all("filled" in a["style"] for a in boxes.values())


def _bezier(points: list[list[float]], samples: int = 20) -> list[tuple[float, float]]:
    """Points along a piecewise cubic Bezier curve (Graphviz's ``b`` drawing op)."""
    out = []
    for i in range(0, len(points) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[i:i + 4]
        for k in range(samples + 1):
            t = k / samples
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
            out.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return out


@needs_dot
@pytest.mark.parametrize("which", ["twophase", "paxos", "lease"])
def test_no_message_arrow_runs_through_another_nodes_box(which: str) -> None:
    """The drawn arrows (routed around the boxes by ``layout``) enter no box but their own ends."""
    model = {"twophase": TwoPhase(rms=3).with_variant("commit-on-majority"),
             "paxos": Paxos(acceptors=3, values=2, max_ballot=1).with_variant("accept-below-promise"),
             "lease": Lease().with_variant("no-margin")}[which]
    prop = {"twophase": "atomicity", "paxos": "agreement", "lease": "lease_safety"}[which]
    path = explore(model, properties=[prop]).path
    assert path is not None
    drawn = json.loads(layout(sequence_chart(path), "json").stdout)
    boxes = {}
    for obj in drawn["objects"]:
        if "pos" in obj and obj.get("shape") not in ("point", "plaintext"):
            x, y = map(float, obj["pos"].split(","))
            w, h = float(obj["width"]) * 36 - 2, float(obj["height"]) * 36 - 2  # half sizes, a 2pt margin
            boxes[obj["_gvid"]] = (x - w, y - h, x + w, y + h)
    arrows = [e for e in drawn["edges"] if "tooltip" in e]
    assert len(arrows) >= 3
    for e in arrows:
        curve = [p for op in e["_draw_"] if op["op"] == "b" for p in _bezier(op["points"])]
        assert curve
        for gvid, (x0, y0, x1, y1) in boxes.items():
            if gvid in (e["tail"], e["head"]):
                continue
            inside = [(x, y) for x, y in curve if x0 < x < x1 and y0 < y < y1]
            assert not inside, f"{e['tooltip']} runs through {drawn['objects'][gvid]['name']}"


def test_check_draws_a_refinement_violation_with_the_missing_abstract_step(tmp_path: FsPath) -> None:
    out = tmp_path / "r.dot"
    assert main(["check", "twophase", "--rms", "3", "--variant", "commit-on-majority", "--property",
                 "refines_tcommit", "--graph", str(out), "--quiet"]) == 1
    source = out.read_text()
    assert "twophase: refines_tcommit violated at step 6\\n" in source
    assert "tcommit has no step doing that from rm=('prepared', 'prepared', 'working')" in source
    assert ">> refines_tcommit false from here" in source


@needs_dot
def test_without_neato_a_chart_is_still_drawn_in_one_pass(majority: Path, tmp_path: FsPath,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "neato" else which(name))
    target = tmp_path / "c.svg"
    assert write_graph(sequence_chart(majority), str(target)) == f"wrote SVG graph to {target}"
    assert "<svg" in target.read_text()
