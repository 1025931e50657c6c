"""A protocol that lives only in tests/ gets every command of the tool, with no edit elsewhere."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from protoproof import cli
from protoproof.models.registry import ENTRY_POINT_GROUP, Protocol, registration
from protoproof.tests.protocols import toy


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def registered_toy() -> Iterator[None]:
    with registration(toy.PROTOCOL):
        yield


def test_the_test_protocol_is_listed_with_its_parameters_variant_and_proofs(registered_toy: None) -> None:
    code, out, _ = run("list", "--json")
    rows = {m["name"]: m for m in json.loads(out)["models"]}
    assert code == 0 and rows["toy"]["doc"] == "a leader announces a value (a test protocol)"
    assert [p["option"] for p in rows["toy"]["parameters"]] == ["--followers", "--values"]
    assert [v["name"] for v in rows["toy"]["variants"]] == ["choose-twice"]
    assert rows["toy"]["proofs"] == ["strengthening"]


def test_the_test_protocol_is_checked_and_its_planted_bug_found(registered_toy: None) -> None:
    code, out, _ = run("check", "toy", "--json", "--quiet")
    d = json.loads(out)
    assert code == 0 and (d["verdict"], d["distinct_states"], d["transitions"]) == ("exhausted", 9, 18)
    code, out, _ = run("check", "toy", "--variant", "choose-twice", "--json", "--quiet")
    d = json.loads(out)
    assert code == 1 and d["property"] == "agreement" and len(d["path"]) == 5  # the initial state and 4 steps


def test_the_test_protocol_gets_bmc_prove_with_its_strengthening_and_conform(registered_toy: None) -> None:
    code, out, _ = run("bmc", "toy", "--variant", "choose-twice", "--depth", "4")
    assert code == 1 and out.startswith("bmc toy: violated (agreement at depth 4)")
    code, out, _ = run("prove", "toy")
    assert code == 0 and out.startswith("prove toy: proved")
    assert ("invariant: agreement & leader_chose_at_most_one & announced_only_the_choice & "
            "adopted_only_the_choice") in out
    code, out, _ = run("prove", "toy", "--no-strengthening")
    assert code == 3 and out.startswith("prove toy: unknown (not inductive")
    code, out, _ = run("conform", "toy", "--random", "50")
    assert code == 0 and out.startswith("conform toy: conforms")


def test_the_test_protocol_has_no_parameterized_proof_and_says_who_has(registered_toy: None) -> None:
    code, _, err = run("prove", "toy", "--parameterized")
    assert code == 2 and "no parameterized proof for toy; models with one: lease, paxos, raft" in err


def test_the_test_protocol_installed_through_an_entry_point_is_checked_by_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "toy_protocols-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-protocols\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\ntoy = {toy.__name__}:PROTOCOL\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, out, _ = run("check", "toy", "--quiet")
    assert code == 0 and out.startswith("model toy (followers=2, values=2)")
    assert run("prove", "toy")[0] == 0


def test_a_protocol_registered_with_objects_needs_no_importable_path(
        add_protocol: Callable[..., Protocol]) -> None:
    add_protocol("toy-objects", toy.Toy, strengthening=toy.strengthening)
    code, out, _ = run("prove", "toy-objects", "--followers", "3")
    assert code == 0 and out.startswith("prove toy: proved")
