"""A newcomer's mistakes and impatience: each ends in one line on stderr and a sensible exit
status, never a traceback (bad numbers, flags that do nothing together, Ctrl-C while starting)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from protoproof import __main__ as entry
from protoproof import cli
from protoproof.impl.kv import paxos_cluster
from protoproof.models.base import Model, always, sometimes, transition
from protoproof.models.schema import Int, Record, Type
from protoproof.tests.test_cli import run


class _InterruptedImport(ModuleType):
    """A module whose every attribute is a Ctrl-C: the ``from .cli import main`` of start-up."""

    def __getattr__(self, name: str) -> object:
        raise KeyboardInterrupt


def test_ctrl_c_while_the_command_line_loads_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "protoproof.cli", _InterruptedImport("protoproof.cli"))
    assert entry.run() == 130
    assert capsys.readouterr().err == "protoproof: interrupted\n"


def test_ctrl_c_while_the_parser_loads_the_registry_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def interrupted() -> cli._Parser:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_parser", interrupted)
    code, out, err = run("check", "twophase")
    assert (code, out, err) == (130, "", "protoproof: interrupted\n")


def _one_line(argv: list[str], needle: str, code: int = 2) -> None:
    got, out, err = run(*argv)
    assert got == code and out == "" and len(err.strip().splitlines()) == 1, (got, out, err)
    assert err.startswith("protoproof: error: ") and needle in err, err


def test_more_local_workers_than_the_machine_can_run_are_refused_before_any_fork() -> None:
    # `--workers 100000` forked until the load average passed 500.
    n = cli.max_local_workers() + 1
    _one_line(["check", "twophase", "--workers", str(n)], f"--workers {n}: at most {n - 1} processes")
    _one_line(["check", "twophase", "--workers", str(n), "--ray", "local"], f"--workers {n}: at most")


def test_a_ray_address_ray_cannot_use_is_one_line() -> None:
    pytest.importorskip("ray")
    _one_line(["check", "twophase", "--ray", "not-an-address", "--workers", "2"],
              "--ray not-an-address: cannot start or join Ray there")


def test_k_is_refused_with_explicit_which_checks_one_step_only() -> None:
    # It was ignored: `prove twophase --explicit --k 2` said "proved" of 1-induction.
    _one_line(["prove", "twophase", "--explicit", "--k", "2"], "--k 2: not used by --explicit")


def test_a_model_file_that_exits_when_imported_is_named_not_taken_for_a_verdict(tmp_path: Path) -> None:
    # Its status was the command's: `sys.exit(3)` at import read as "bounded".
    f = tmp_path / "script.py"
    f.write_text("import sys\nsys.exit(3)\n")
    _one_line(["check", f"{f}:Model"], "importing it called sys.exit(3)")


def test_a_model_named_by_a_colon_and_no_file_is_told_what_goes_before_the_colon() -> None:
    _one_line(["check", ":TwoPhase"], "':TwoPhase': name the file or module before the colon")


def _runtime_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    """The runtime's commands print their errors on sys.stderr."""
    code = cli.main(argv)
    cap = capsys.readouterr()
    assert code == 2 and cap.out == "" and len(cap.err.strip().splitlines()) == 1, (code, cap)
    assert cap.err.startswith("protoproof: error: ") and needle in cap.err, cap.err


def test_a_cluster_parameter_the_service_does_not_have_is_refused_and_nothing_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    # `--param foo=3` was stored in cluster.json and never read.
    d = tmp_path / "c"
    _runtime_one_line(capsys, ["cluster", "paxos", "--dir", str(d), "--param", "foo=3", "--detach"],
                      "--param foo: not a parameter of paxos (its parameters: group_commit, nodes)")
    assert not d.exists()


@pytest.mark.parametrize("extra,needle", [
    (["--nodes", "5"], "--nodes 5 (it has 3)"),
    (["--param", "nodes=5"], "--nodes 5 (it has 3)"),
    (["--trace"], "--trace (it was made without)"),
])
def test_parameters_other_than_an_existing_clusters_are_refused_before_any_node_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str,
) -> None:
    # They were ignored: `cluster paxos --dir D --nodes 5` started D's 3 nodes.
    d = tmp_path / "c"
    paxos_cluster(str(d), 3).save()
    _runtime_one_line(capsys, ["cluster", "paxos", "--dir", str(d), *extra, "--detach"],
                      f"already holds a paxos cluster made with other parameters: {needle}")
    assert not list(d.glob("node*/node.pid"))


def test_a_file_given_as_the_cluster_directory_is_named_as_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("")
    _runtime_one_line(capsys, ["cluster", "paxos", "--dir", str(f), "--detach"], "a file, not a directory")


def test_a_cluster_file_missing_a_field_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cluster.json").write_text('{"protocol": "paxos"}')
    _runtime_one_line(capsys, ["kv", "--cluster", str(tmp_path), "get", "k"], "not a cluster file (no 'nodes' field)")


def test_validate_of_a_cluster_directory_says_where_its_trace_is_or_that_it_has_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    d = tmp_path / "c"
    paxos_cluster(str(d), 3).save()
    _runtime_one_line(capsys, ["validate", str(d)], "was started without --trace")
    (d / "trace").mkdir()
    (d / "trace" / "meta.json").write_text("{}")
    _runtime_one_line(capsys, ["validate", str(d)], f"the trace of the cluster in {d} is {d / 'trace'}")


@dataclass(frozen=True)
class _N:
    x: int


class _Counter(Model[_N]):
    """Counts to 2: a model without a ``name``."""

    def schema(self) -> Type:
        return Record(_N, x=Int(0, 2))

    def init(self) -> list[_N]:
        return [_N(0)]

    @transition()
    def inc(self, s: _N) -> _N | None:
        return _N(s.x + 1) if s.x < 2 else None

    @always
    def bounded(self, s: _N) -> bool:
        return s.x <= 2

    @sometimes
    def two(self, s: _N) -> bool:
        return s.x == 2


_RAISING_INIT = '''
from dataclasses import dataclass
from protoproof.models.base import Model, sometimes, transition
from protoproof.models.schema import Int, Record

@dataclass(frozen=True)
class S:
    x: int

class NoStart(Model[S]):
    def schema(self):
        return Record(S, x=Int(0, 1))

    def init(self):
        raise RuntimeError("no start")

    @transition()
    def inc(self, s):
        return None

    @sometimes
    def one(self, s):
        return s.x == 1
'''


@pytest.mark.parametrize("argv", [["check"], ["check", "--workers", "2"], ["bmc", "--depth", "2"], ["prove"],
                                  ["conform"]])
def test_a_model_whose_init_raises_is_a_model_error_in_one_line(tmp_path: Path, argv: list[str]) -> None:
    # The exception escaped: a traceback and exit 1, the status of a violation.
    f = tmp_path / "nostart.py"
    f.write_text(_RAISING_INIT)
    code, out, err = run(argv[0], f"{f}:NoStart", *argv[1:])
    assert code == 4 and out == "" and len(err.strip().splitlines()) == 1, (code, out, err)
    assert f"NoStart.init() raised RuntimeError: no start (at {f}:" in err


_RAISING_SCHEMA = _RAISING_INIT.replace('''    def schema(self):
        return Record(S, x=Int(0, 1))''', '''    def schema(self):
        raise KeyError("boom")''')


def test_list_of_a_model_whose_schema_raises_is_one_line_as_check_says_it(tmp_path: Path) -> None:
    # `list` built the model unguarded: a traceback and exit 1.
    f = tmp_path / "noschema.py"
    f.write_text(_RAISING_SCHEMA)
    for command in ("list", "check"):
        code, out, err = run(command, f"{f}:NoStart")
        assert (code, out) == (4, "") and len(err.strip().splitlines()) == 1, (code, out, err)
        assert f"building NoStart raised KeyError: 'boom' (at {f}:" in err


def test_a_user_models_z3_verdict_names_its_class() -> None:
    # The head line read "prove : proved" for a model without a `name`.
    code, out, _ = run("prove", "protoproof.tests.test_cli_newcomer:_Counter")
    assert code == 0 and out.startswith("prove _Counter: proved"), out


def test_a_condition_that_does_not_parse_is_refused_before_the_ties_work() -> None:
    # It was parsed after the tie had explored two lease models (seconds), whose lines it printed.
    code, out, err = run("prove", "lease", "--parameterized", "--condition", "margin >= ")
    assert (code, out) == (2, "") and err.strip().splitlines() == [
        "protoproof: error: --condition: cannot parse the condition 'margin >= '; write e.g. 'margin >= 4*drift'"]


def test_a_crash_inside_a_command_exits_5_not_the_status_of_a_violation(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_args: object) -> int:
        raise RuntimeError("an internal slip")

    monkeypatch.setattr(cli, "cmd_check", crash)
    code, out, err = run("check", "twophase", "--rms", "2")
    assert code == 5 and out == ""
    assert "Traceback" in err  # kept for the report
    last = err.strip().splitlines()[-1]
    assert last.startswith("protoproof: internal error (a bug in protoproof, not a verdict")
    assert last.endswith("RuntimeError: an internal slip")


def test_explore_refuses_a_model_whose_init_raises_before_it_serves(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # It started the server, whose page could only show the error.
    from protoproof.explorer import server

    def stop_at_once(self: server.ExplorerServer) -> None:
        raise KeyboardInterrupt  # a server that did start ends here, instead of serving forever

    monkeypatch.setattr(server.ExplorerServer, "serve_forever", stop_at_once)
    f = tmp_path / "nostart.py"
    f.write_text(_RAISING_INIT)
    code, out, err = run("explore", f"{f}:NoStart", "--port", "0")
    assert code == 4 and out == "" and len(err.strip().splitlines()) == 1, (code, out, err)
    assert f"NoStart.init() raised RuntimeError: no start (at {f}:" in err
