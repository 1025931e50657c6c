"""``bmc --constraint``: the user's state constraint on z3 values, with check's meaning: the same
shortest depth as breadth-first search under it, and a verdict that says it was there."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from protoproof.checker.bmc import bmc
from protoproof.checker.constraint import compile_constraint
from protoproof.checker.explore import Options, explore
from protoproof.checker.path import replay
from protoproof.checker.verdict import BOUNDED, VIOLATED
from protoproof.models.paxos import Paxos
from protoproof.models.tcommit import TCommit
from protoproof.models.twophase import TwoPhase

BUGGY = TwoPhase.variants_of()["commit-on-majority"]

EXPRESSIONS = [
    "s.nodes[2] == 'working'",                             # rm2 never moves: the bug is hidden
    "s.nodes[0] != 'aborted'",                             # the bug, by another path
    "sum(n == 'prepared' for n in s.nodes[:-1]) <= 1",     # a sum over a generator, on z3 values
    "all(n != 'committed' for n in s.nodes[:-1])",         # no RM may commit: the bug is hidden
]


@pytest.mark.parametrize("text", EXPRESSIONS)
@pytest.mark.parametrize("solver", ["z3", "cadical"])
def test_bmc_under_a_constraint_finds_what_breadth_first_search_finds_under_it(text: str, solver: str) -> None:
    bfs = explore(BUGGY(), Options(constraint=text, properties=["atomicity"]))
    r = bmc(BUGGY(), 9, ["atomicity"], tie=0, solver=solver, constraint=text)
    assert r.constraint == text
    if bfs.verdict == VIOLATED:
        assert bfs.path is not None and r.verdict == VIOLATED and r.path is not None
        assert len(r.path) == len(bfs.path)  # both shortest among the states the constraint allows
        assert replay(BUGGY(), r.path.action_reprs()).states == r.path.states  # a run of the model itself
        assert f"shortest among the states --constraint {text!r} allows" in r.to_lines()[0]
    else:
        assert bfs.verdict == BOUNDED and r.verdict == BOUNDED


@pytest.mark.parametrize("text", [
    "s.nodes[0].max_val is None",  # was: no state allowed on z3 values, `bounded`
    # was: always true on z3 values, a trace the concrete replay refused ("internal error")
    "s.nodes[0].max_val is not None or s.nodes[1].max_val is not None or s.nodes[0].max_bal < 0",
])
def test_is_none_in_a_constraint_means_on_z3_values_what_it_means_on_python_values(text: str) -> None:
    """On a z3 value plain ``is None`` is never true (and ``is not None`` always): BMC said
    ``bounded`` where breadth-first search under the constraint finds the violation."""
    buggy = Paxos.variants_of()["minority-quorums"]
    bfs = explore(buggy(), Options(constraint=text))
    r = bmc(buggy(), 8, None, tie=0, constraint=text)
    assert bfs.verdict == r.verdict == VIOLATED and bfs.path is not None and r.path is not None
    assert len(r.path) == len(bfs.path) == 8


def test_a_chained_comparison_with_is_in_a_constraint_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="chained comparison with `is`"):
        compile_constraint("s.nodes[0] is None is None")


def test_a_bounded_answer_says_it_covers_only_the_states_the_constraint_allows() -> None:
    r = bmc(TCommit(rms=3), 5, tie=0, constraint="True")
    assert r.verdict == BOUNDED
    assert "no violation up to depth 5 among the states --constraint 'True' allows" in r.to_lines()[0]
    assert json.loads(json.dumps(r.to_json()))["constraint"] == "True"


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "protoproof", "bmc", *argv], capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.parametrize(("argv", "message"), [
    (["--depth", "3", "--constraint", "s.nodes[0] =="], "is not a Python expression"),
    (["--engine", "pdr", "--constraint", "True"], "--constraint: only for --engine bmc"),
    (["--depth", "3", "--constraint", "s.nodes[5] == 1"], "raised IndexError"),  # on an initial state
    (["--depth", "3", "--constraint", "s.nodes[0].upper() == 'X' or True"], "raised AttributeError"),  # on z3 values
])
def test_bad_constraint_input_to_bmc_is_one_line_and_exit_2(argv: list[str], message: str) -> None:
    done = _cli("twophase", *argv)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_cli_prints_the_constraint_with_the_verdict() -> None:
    done = _cli("twophase", "--variant", "commit-on-majority", "--depth", "9", "--constraint",
                "s.nodes[0] != 'aborted'", "--json")
    d = json.loads(done.stdout)
    assert done.returncode == 1 and d["verdict"] == "violated" and d["constraint"] == "s.nodes[0] != 'aborted'"


def test_the_users_constraint_and_the_models_are_encoded_apart_so_neither_multiplies_the_other() -> None:
    """Run together as plain Python, the user's ``--constraint`` hid the model's own constraint from its
    twin and forked every path of it (323 paths here instead of 3 + 3), and it ran inside each step
    whose successor leaves the state's type (a client request on a full log), forking that step's
    paths too.  At figure-8's defaults under its driver both passed 4,096 paths: ``bmc --constraint``
    ended in a model error.  Here both stay within 100 paths."""
    from protoproof.checker.constraint import constrained
    from protoproof.checker.symbolic import SymbolicModel
    from protoproof.models.raft import Raft

    base = Raft(servers=2, max_log=1, max_term=2, values=1, max_messages=1)
    text = "sum(n.role == 'candidate' for n in s.nodes) <= 1 and s.nodes[1].role != 'candidate'"

    def client_paths(sm: SymbolicModel) -> dict[str, int]:
        return {e.name: len(e.paths) for e in sm.actions if e.name.startswith("client_request")}

    plain = SymbolicModel(base, split_constraint=True)
    guided = SymbolicModel(constrained(base, text), split_constraint=True, max_paths=100)
    assert len(client_paths(plain)) == 2 and client_paths(guided) == client_paths(plain)
