"""The explorer's HTTP API and its command, without a browser."""

from __future__ import annotations

import http.client
import io
import json
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from protoproof.cli import main
from protoproof.explorer import server as server_mod
from protoproof.explorer.server import ExplorerServer, serving
from protoproof.explorer.session import Page


def _request(srv: ExplorerServer, method: str, target: str, body: str | None = None,
             host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=30)
    headers = {"Host": host} if host else {}
    conn.request(method, target, body=body.encode() if body is not None else None, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), data


def _json(srv: ExplorerServer, method: str, target: str, body: str | None = None) -> tuple[int, Any]:
    status, _h, data = _request(srv, method, target, body)
    return status, json.loads(data)


def test_the_start_page_redirects_to_the_permalink_of_the_model_it_was_started_with(server: ExplorerServer) -> None:
    status, headers, _ = _request(server, "GET", "/")
    assert status == 302 and headers["Location"] == "/?model=twophase&variant=commit-on-majority&rms=3&path="
    status, headers, page = _request(server, "GET", headers["Location"])
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"/app.js" in page
    for static in ("/app.js", "/style.css"):
        assert _request(server, "GET", static)[0] == 200


def test_the_json_api_takes_a_check_json_counterexample_and_shows_the_violation(
        server: ExplorerServer, cex_json: str, cex: dict[str, Any]) -> None:
    status, loaded = _json(server, "POST", "/api/load", cex_json)
    assert status == 200 and loaded["property"] == "atomicity"
    status, v = _json(server, "GET", "/api/view?" + loaded["query"])
    assert status == 200
    assert [s["action"] for s in v["steps"]] == [s["action"] for s in cex["path"][1:]]
    atomicity = next(p for p in v["properties"] if p["name"] == "atomicity")
    assert atomicity["value"] is False and v["chart"]["svg"].startswith("<svg")
    status, models = _json(server, "GET", "/api/models")
    assert "twophase" in models["models"] and models["home"].startswith("model=twophase")


def test_random_steps_come_back_as_a_longer_permalink(server: ExplorerServer) -> None:
    status, r = _json(server, "GET", "/api/random?" + server.home.query() + "&steps=3&seed=7")
    path = parse_qs(r["query"], keep_blank_values=True)["path"][0].split(".")
    assert status == 200 and len(path) == 3
    assert _json(server, "GET", "/api/view?" + r["query"])[0] == 200


def test_api_errors_are_one_line_json_with_status_400(server: ExplorerServer) -> None:
    for method, target, body, why in (
        ("GET", "/api/view?model=twophase&rms=x&path=", None, "--rms takes int values"),
        ("GET", "/api/view?model=nosuch&path=", None, "unknown model"),
        ("GET", "/api/view?model=twophase&path=0.99", None, "action index 99"),
        ("POST", "/api/load", "{oops", "not JSON"),
        ("POST", "/api/load", '{"verdict": "exhausted"}', "not a counterexample"),
    ):
        status, body_json = _json(server, method, target, body)
        assert status == 400 and why in body_json["error"] and "\n" not in body_json["error"], (target, body_json)
    assert _json(server, "GET", "/api/nothing")[0] == 404


def test_a_request_for_another_host_is_refused(server: ExplorerServer) -> None:
    status, _h, body = _request(server, "GET", "/api/models", host="attacker.example:80")
    assert status == 403 and b"127.0.0.1 only" in body
    assert _request(server, "GET", "/api/models", host=f"localhost:{server.server_address[1]}")[0] == 200


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("argv", "why"), [
    (["nosuch"], "unknown model 'nosuch'"),
    (["twophase", "--rms", "x"], "--rms takes int values"),
    (["twophase", "--nodes", "3"], "unknown option '--nodes'"),
    (["twophase", "--variant", "nosuch"], "has no variant 'nosuch'"),
    (["twophase", "--port", "70000"], "port number"),
    (["twophase", "--port", "-1"], "--port"),
])
def test_explore_with_a_bad_model_or_parameter_exits_2_with_one_line(argv: list[str], why: str) -> None:
    code, out, err = _run("explore", *argv)
    assert code == 2 and why in err and err.count("\n") == 1 and out == ""


def test_explore_on_a_busy_port_exits_2_and_names_a_free_choice() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, _out, err = _run("explore", "twophase", "--port", str(busy.getsockname()[1]))
    assert code == 2 and "--port 0" in err and err.count("\n") == 1


def test_explore_prints_its_address_and_serves_the_model_until_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[ExplorerServer] = []
    ready = threading.Event()

    class Recorded(ExplorerServer):
        def serve_forever(self, poll_interval: float = 0.05) -> None:
            started.append(self)
            ready.set()
            super().serve_forever(poll_interval)

    monkeypatch.setattr(server_mod, "ExplorerServer", Recorded)
    result: list[tuple[int, str, str]] = []
    thread = threading.Thread(target=lambda: result.append(_run("explore", "tcommit", "--rms", "2", "--port", "0")))
    thread.start()
    assert ready.wait(30)
    srv = started[0]
    status, v = _json(srv, "GET", "/api/view?" + srv.home.query())
    srv.shutdown()
    thread.join(30)
    code, out, _err = result[0]
    assert status == 200 and v["model"] == "tcommit" and {"name": "rms", "value": 2, "default": 3} in v["params"]
    first = out.splitlines()[0]
    assert code == 0 and first.startswith("explorer at http://127.0.0.1:")
    assert urlsplit(first.split()[2]).query == "model=tcommit&rms=2&path="


USER_MODEL = """
from dataclasses import dataclass
from protoproof.models.base import Model, always, sometimes, transition, require
from protoproof.models.schema import Int


class Counter(Model):
    @dataclass(frozen=True)
    class Config:
        limit: int = 3

    def schema(self):
        return Int(0, self.config.limit)

    def init(self):
        return [0]

    @transition(by=[1, 2])
    def add(self, s, by):
        require(s + by <= self.config.limit)
        if s == 2:
            raise RuntimeError("planted crash at 2")
        return s + by

    @always
    def small(self, s):
        return s < 3

    @sometimes
    def two(self, s):
        return s == 2
"""


def test_a_user_model_file_is_explored_and_its_exception_is_one_line(tmp_path: Path) -> None:
    spec = f"{tmp_path / 'counter.py'}:Counter"
    (tmp_path / "counter.py").write_text(USER_MODEL)
    with serving(Page(spec, None, (("limit", "4"),), ())) as srv:
        status, v = _json(srv, "GET", "/api/view?" + srv.home.query())
        assert status == 200 and [a["label"] for a in v["actions"]] == ["add(by=1)", "add(by=2)"]
        status, v = _json(srv, "GET", "/api/view?" + srv.home.query((0, 1)))  # 0 -> 1 -> 3
        assert status == 200 and next(p for p in v["properties"] if p["name"] == "small")["value"] is False
        status, v = _json(srv, "GET", "/api/view?" + srv.home.query((1,)))  # 0 -> 2, where the model raises
        assert status == 200 and v["actions"] == [] and v["deadlock"] is False
        assert "RuntimeError: planted crash at 2 (at" in v["actions_error"] and "\n" not in v["actions_error"]
        assert [f["value"] for f in v["state"]] == ["2"]  # the state where it raised is shown
        status, body = _json(srv, "GET", "/api/view?" + srv.home.query((1, 0)))  # a step beyond it
        assert status == 400 and "RuntimeError: planted crash at 2" in body["error"]
        # `check FILE.py:Counter --json` names the model "Counter": it loads into the explorer of that file
        out = io.StringIO()
        assert main(["check", spec, "--limit", "4", "--property", "small", "--json", "--quiet"], out=out,
                    err=io.StringIO()) == 1
        status, loaded = _json(srv, "POST", "/api/load", out.getvalue())
        assert status == 200 and json.loads(out.getvalue())["model"] == "Counter"
        assert parse_qs(loaded["query"])["model"] == [spec]
