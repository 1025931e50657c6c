"""The command line's first minute: mistakes refused in one line before any work, planted bugs
found with their defaults, and what a newcomer can discover from ``--help``, ``list`` and ``--version``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest

from protoproof import __version__
from protoproof.impl.kv import paxos_cluster
from protoproof.models.base import Model, sometimes, transition
from protoproof.models.registry import Protocol
from protoproof.models.schema import Int, Record, Type
from protoproof.tests.test_cli import run


@pytest.mark.parametrize("argv,prop", [
    (["twophase", "--variant", "volatile-vote"], "refines_tcommit"),
    (["paxos", "--variant", "volatile-acceptor"], "refines_consensus"),
    (["replog-nodes", "--variant", "volatile-follower"], "followers_agree_on_committed"),
    (["threephase", "--variant", "backup-commits-from-wait", "--no-liveness"], "refines_tcommit"),
])
def test_a_variant_whose_bug_needs_a_crash_finds_it_with_its_defaults(argv: list[str], prop: str) -> None:
    code, out, _ = run("check", *argv, "--json", "--quiet")
    d = json.loads(out)
    assert code == 1 and d["verdict"] == "violated" and d["property"] == prop
    assert d["params"]["max_crashes"] == (2 if argv[0] == "threephase" else 1)


def test_a_parameter_given_on_the_command_line_overrides_the_variants_default() -> None:
    code, out, _ = run("check", "twophase", "--variant", "volatile-vote", "--max-crashes", "0", "--json", "--quiet")
    d = json.loads(out)
    assert code == 0 and d["verdict"] == "exhausted" and d["params"]["max_crashes"] == 0


def test_property_deadlock_checks_for_deadlocks_instead_of_nothing() -> None:
    code, out, _ = run("check", "tcommit", "--property", "deadlock", "--json", "--quiet")
    d = json.loads(out)
    assert code == 1 and d["verdict"] == "violated" and d["property"] == "deadlock"


@pytest.mark.parametrize("argv,needle", [
    (["check", "tcommit", "--graph-kind", "sequence", "--graph", "x.svg"],
     "--graph-kind sequence needs an actor model"),
    (["check", "tcommit", "--graph-kind", "states"], "--graph-kind states needs --graph FILE"),
    (["check", "twophase", "--strategy", "random", "--walks", "-1"], "--walks: expected a positive integer"),
    (["check", "twophase", "--strategy", "random", "--walk-depth", "0"], "--walk-depth: expected a positive integer"),
    (["check", "twophase", "--timeout", "nan"], "--timeout: expected a positive number"),
    (["conform", "twophase", "--random", "-5"], "--random: expected a whole number"),
    (["check", "twophase", "--strategy", "novelty", "--width", "0"], "--width: expected a positive integer"),
    (["check", "twophase", "--strategy", "random", "--shorten", "-1"], "--shorten: expected a number of at least 0"),
])
def test_a_wrong_option_is_refused_in_one_line_before_the_run(argv: list[str], needle: str) -> None:
    code, out, err = run(*argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert needle in err


def test_a_novelty_searchs_counterexample_is_shortened_and_not_called_shortest() -> None:
    code, out, _ = run("check", "twophase", "--variant", "commit-on-majority", "--strategy", "novelty")
    assert code == 1 and "VIOLATED: refines_tcommit" in out
    assert "counterexample (6 steps; no step could be dropped by delta debugging" in out
    assert "not proved shortest" in out and "shortest counterexample" not in out
    code, out, _ = run("check", "twophase", "--variant", "commit-on-majority", "--strategy", "novelty", "--json")
    d = json.loads(out)
    assert code == 1 and d["strategy"] == "novelty" and d["shortened_from"] == 6 and len(d["path"]) == 7


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        run("--version")
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"protoproof {__version__}"


@pytest.mark.parametrize("argv,needle", [
    (["kv", "get", "k", "extra"], "kv get takes a key only; drop 'extra'"),
    (["kv", "--timeout", "-1", "get", "k"], "--timeout: expected a positive number"),
    (["kv", "put", "k", "-v"], "unrecognized arguments: -v (a key or value that starts with '-' goes after '--'"),
])
def test_a_client_command_refuses_an_extra_word_or_a_negative_timeout(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    paxos_cluster(str(tmp_path / "c"), 3).save()
    code, _out, err = run(*argv, "--cluster", str(tmp_path / "c"))
    err += capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("name,needle", [
    ("raftt", "unknown protocol 'raftt'; protocols that run as a cluster: "),
    ("tcommit", "protocol 'tcommit' has no runtime service; protocols that run as a cluster: "),
])
def test_cluster_of_a_protocol_without_a_service_lists_only_those_that_run_services_names_included(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, needle: str) -> None:
    # An unknown name listed every model (tcommit, hashring, ... cannot run); the list left out
    # `sharded`, a service named apart from its protocol.
    code, _out, err = run("cluster", name, "--dir", str(tmp_path / "c"))
    err += capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    runs = err.split(needle)[1].split(" (or")[0].strip().split(", ")
    assert {"paxos", "raft", "sharded"} <= set(runs) and "tcommit" not in runs and "hashring" not in runs


@pytest.mark.parametrize("flag", [["--variant", "figure-8"], ["--variant=figure-8"]])
def test_check_model_help_with_a_variant_shows_the_defaults_that_variant_runs_with(flag: list[str]) -> None:
    # It showed the base model's (--servers 2, --max-term 2) while the variant runs at 3 and 5.
    code, out, _ = run("check", "raft", *flag, "--help")
    assert code == 0 and "parameters of raft with --variant figure-8:\n  --servers 3 (" in out
    assert "\n  --max-term 5 (" in out and "\n  --max-messages 1 (" in out and "\n  --lossy False\n" in out
    code, out, _ = run("check", "raft", "--help")
    assert "parameters of raft:\n  --servers 2 (" in out


def test_check_model_help_lists_the_models_parameters_with_ranges_and_its_variants() -> None:
    code, out, _ = run("check", "twophase", "--help")
    assert code == 0 and "usage: protoproof check" in out
    rms = "--rms 3 (resource managers: check enumerates up to 12, prove takes any number; >= 1)"
    assert f"parameters of twophase:\n  {rms}\n  --max-crashes 0 (" in out
    assert "  volatile-vote: An RM votes Prepared without persisting it" in out


def test_check_help_without_a_model_says_how_to_see_a_models_parameters() -> None:
    code, out, _ = run("bmc", "--help")
    assert code == 0
    assert "`protoproof bmc MODEL --help` lists them; models: consensus, handoff, hashring, lease, paxos" in out


def test_list_shows_properties_ranges_and_variant_defaults_without_rst_markup() -> None:
    code, out, _ = run("list", "twophase")
    assert code == 0 and "``" not in out
    assert out.splitlines()[0] == "twophase: Two-phase commit: a TM and rms RMs (TwoPhase.tla, as nodes)."
    rms = "--rms 3 (resource managers: check enumerates up to 12, prove takes any number; >= 1)"
    assert f"  parameters: {rms}, --max-crashes 0 (" in out
    assert "  properties: always atomicity; sometimes all_committed, all_aborted; refines refines_tcommit" in out
    assert "(breaks atomicity, refines_tcommit; defaults to --max-crashes 1)" in out
    code, out, _ = run("list", "--json", "paxos")
    paxos = json.loads(out)["models"][0]
    assert any(p["name"] == "agreement" and p["kind"] == "always" and p["doc"] for p in paxos["properties"])
    assert {"name": "refines_consensus", "kind": "refines", "doc": "refines consensus"} in paxos["properties"]
    assert paxos["parameters"][0]["min"] == 1 and paxos["parameters"][0]["max"] == 9


def test_a_parameter_outside_its_declared_range_is_refused_in_one_line() -> None:
    code, out, err = run("check", "paxos", "--max-ballot", "7")
    assert code == 2 and out == "" and err == "protoproof: error: --max-ballot must be between 0 and 6\n"


def test_list_says_what_an_optional_parameter_left_unset_means_never_none() -> None:
    code, out, _ = run("list")
    assert code == 0
    assert re.search(r"--[a-z-]+ None\b", out) is None, out
    raft = next(ln for ln in out.splitlines() if ln.startswith("  parameters: --servers"))
    assert "--max-messages (default: no bound; messages in flight, all copies counted; 0..64)" in raft
    code, out, _ = run("check", "raft", "--help")
    assert code == 0 and "  --max-messages (default: no bound; " in out
    code, out, _ = run("list", "--json")
    param = next(p for m in json.loads(out)["models"] if m["name"] == "raft" for p in m["parameters"]
                 if p["name"] == "max_messages")
    assert param["default"] is None and param["default_means"] == "no bound" and param["type"] == "int"


class _Unbounded(NamedTuple):
    x: int


@dataclass(frozen=True)
class _UnboundedConfig:
    stop: int | None = None  # no declared meaning for None


class _StopsSomewhere(Model[_Unbounded]):
    """Counts up to ``stop`` (or 3)."""

    name = "stops-somewhere"
    Config = _UnboundedConfig

    def schema(self) -> Type:
        return Record(_Unbounded, x=Int(0, 3))

    def init(self) -> list[_Unbounded]:
        return [_Unbounded(0)]

    @transition()
    def inc(self, s: _Unbounded) -> _Unbounded | None:
        stop = 3 if self.config.stop is None else self.config.stop
        return _Unbounded(s.x + 1) if s.x < stop else None

    @sometimes
    def counted(self, s: _Unbounded) -> bool:
        return s.x >= 1


def test_an_optional_parameter_without_a_declared_meaning_is_shown_as_not_set(
    add_protocol: Callable[..., Protocol],
) -> None:
    add_protocol("stops-somewhere", _StopsSomewhere)
    code, out, _ = run("list", "stops-somewhere")
    assert code == 0 and "  parameters: --stop (default: not set)" in out, out
    assert run("check", "stops-somewhere", "--stop", "2", "--quiet")[0] == 0
