"""``protoproof lincheck FILE``: verdicts, exit status, JSON and one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from protoproof import cli

DATA = Path(__file__).resolve().parents[1] / "data" / "porcupine"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["lincheck", *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def test_a_jepsen_etcd_log_is_checked_from_the_cli() -> None:
    code, out, _ = run(str(DATA / "jepsen" / "etcd_098.log"))
    assert code == 0 and out.startswith("ok: ")
    code, out, _ = run(str(DATA / "jepsen" / "etcd_000.log"))
    assert code == 1 and out.startswith("illegal: ")
    assert "none of these can go next:" in out and "read() -> 2 [84, 85]" in out


def test_a_key_value_log_is_checked_per_key_from_the_cli() -> None:
    code, out, _ = run(str(DATA / "kv" / "c10-ok.txt"))
    assert code == 0 and "in 10 partition(s)" in out


def test_naming_the_kv_model_on_an_edn_log_keeps_the_formats_initial_value() -> None:
    """``--model kv`` is the default for EDN logs: a missing key reads "" there too, not null."""
    code, out, _ = run(str(DATA / "kv" / "c10-ok.txt"), "--model", "kv")
    assert code == 0 and "in 10 partition(s)" in out
    code, out, _ = run(str(DATA / "kv" / "c10-ok.txt"), "--model", "kv", "--initial", "null")
    assert code == 1 and out.startswith("illegal: ")


def test_a_json_history_with_a_model_is_checked_from_the_cli(tmp_path: Path) -> None:
    h = [{"client": 0, "input": ["enq", 1], "output": None, "call": 0, "return": 1},
         {"client": 1, "input": ["deq"], "output": 2, "call": 2, "return": 3}]
    (tmp_path / "q.json").write_text(json.dumps(h))
    code, out, _ = run(str(tmp_path / "q.json"), "--model", "queue", "--json")
    r = json.loads(out)
    assert code == 1 and r["verdict"] == "illegal"
    assert r["counterexample"]["last"] == h[1] and r["counterexample"]["prefix"] == h[:1]
    code, out, _ = run(str(tmp_path / "q.json"), "--model", "register")
    assert code == 2


COUNTER = """
from protoproof.impl.lincheck import Sequential

class Counter(Sequential):
    def init(self):
        return 0

    def step(self, state, input, output):
        if input[0] == "inc":
            return True, state + 1
        return output == state, state
"""


def test_a_specification_of_ones_own_is_named_by_its_file_on_the_cli(tmp_path: Path) -> None:
    (tmp_path / "counter.py").write_text(COUNTER)
    h = [{"client": 0, "input": ["inc"], "call": 0, "return": 5}, {"client": 1, "input": ["inc"], "call": 1,
                                                                   "return": 4},
         {"client": 2, "input": ["read"], "output": 1, "call": 2, "return": 3}]
    (tmp_path / "h.json").write_text(json.dumps(h))
    code, out, _ = run(str(tmp_path / "h.json"), "--model", f"{tmp_path / 'counter.py'}:Counter")
    assert code == 0, out
    h[2]["output"] = 3
    (tmp_path / "h.json").write_text(json.dumps(h))
    code, out, _ = run(str(tmp_path / "h.json"), "--model", f"{tmp_path / 'counter.py'}:Counter")
    assert code == 1 and "read() -> 3" in out


def test_a_spent_budget_exits_3_with_unknown_from_the_cli() -> None:
    code, out, _ = run(str(DATA / "jepsen" / "etcd_099.log"), "--max-states", "100")
    assert code == 3 and out.startswith("unknown: ") and "the budget of 100 search states ran out" in out


@pytest.mark.parametrize(("args", "message"), [
    (["nope.log"], "no such file: nope.log"),
    (["README"], "cannot tell the format from its first line; give --format"),
    (["q.json"], "a json history needs --model"),
    (["q.json", "--model", "kv", "--initial", "{"], "is not JSON"),
    (["q.json", "--model", "queue", "--initial", "1"], "the specification Queue cannot be made with --initial"),
    (["q.json", "--model", "stack"], "no specification 'stack': one of cas-register, kv, queue, register"),
    (["q.json", "--model", "nofile.py:Counter"], "no such file: nofile.py"),
    (["q.json", "--model", "json:dumps"], "json:dumps is not a specification: it lacks init, step"),
    (["bad.json", "--model", "kv"], "not JSON"),
    (["client.json", "--model", "kv"], "operation 0: \"client\" must be a whole number"),
    (["late.json", "--model", "kv"], "operation 0: \"return\" must be a number >= \"call\""),
    (["q.json", "--model", "kv", "--timeout", "0"], "must be positive"),
])
def test_a_bad_history_file_or_option_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README").write_text("hello\n")
    (tmp_path / "q.json").write_text("[]")
    (tmp_path / "bad.json").write_text("[{")
    (tmp_path / "client.json").write_text('[{"client": "me", "input": ["get", "x"], "call": 0}]')
    (tmp_path / "late.json").write_text('[{"input": ["get", "x"], "call": 5, "return": 1}]')
    code, _, err = run(*args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
