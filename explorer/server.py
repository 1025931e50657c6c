"""The explorer's web server: the standard library's ``http.server`` and one static page.

Why no web framework: the explorer is a local, single-user page over a five-route JSON API;
``ThreadingHTTPServer`` serves it with no dependency to install, pin or audit, and the page is
vanilla JavaScript (no build step).  It listens on 127.0.0.1 only and answers only requests
whose ``Host`` is that address or ``localhost`` (a web page elsewhere cannot reach it by DNS
rebinding); a URL can name registered models and the one it was started with, never a file.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from ..cli import UsageError, _parse_params
from ..models.registry import protocol_for, where_raised
from .session import ExplorerError, Page, build, load, model_names, parse_query, random_extension, view

#: The largest counterexample JSON ``/api/load`` accepts.
MAX_UPLOAD = 20 * 2**20
#: Most random steps one request takes.
MAX_RANDOM = 500
STATIC = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript"),
          "/style.css": ("style.css", "text/css")}


class ExplorerServer(ThreadingHTTPServer):
    """Serves one start page (``home``: the model and parameters given on the command line)."""

    daemon_threads = True

    def __init__(self, home: Page, port: int = 8080) -> None:
        self.home = home
        self.allowed = model_names(home.model)
        super().__init__(("127.0.0.1", port), Handler)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def url(self) -> str:
        """The start page (the model given on the command line, no step taken)."""
        return f"{self.base}/?{self.home.query()}"


class Handler(BaseHTTPRequestHandler):
    server: ExplorerServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a page load is a dozen requests."""

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if host in ("127.0.0.1", "localhost"):
            return True
        self._send_json({"error": f"refused: Host {host!r} (the explorer answers 127.0.0.1 only)"},
                        HTTPStatus.FORBIDDEN)
        return False

    def do_GET(self) -> None:
        if not self._host_ok():
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/" and not url.query:
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", "/?" + self.server.home.query())
            self.end_headers()
            return
        if url.path in STATIC:
            name, kind = STATIC[url.path]
            body = resources.files(__package__).joinpath("static", name).read_bytes()
            self._send(body, f"{kind}; charset=utf-8")
            return
        try:
            if url.path == "/api/models":
                self._send_json({"models": self.server.allowed, "home": self.server.home.query()})
            elif url.path == "/api/view":
                self._send_json(view(parse_query(query, self.server.allowed)))
            elif url.path == "/api/random":
                page = parse_query(query, self.server.allowed)
                steps = min(int((query.get("steps") or ["1"])[-1]), MAX_RANDOM)
                seed = int((query.get("seed") or ["0"])[-1])
                path = random_extension(page, build(page.model, page.variant, page.params), steps, seed)
                self._send_json({"query": page.query(path)})
            else:
                self._send_json({"error": f"no such page: {url.path}"}, HTTPStatus.NOT_FOUND)
        except (ExplorerError, ValueError) as e:
            self._send_json({"error": str(e)}, HTTPStatus.BAD_REQUEST)
        except Exception as e:  # the model's own code raised: shown on the page, the server goes on
            self._send_json({"error": f"model error: {where_raised(e)}"}, HTTPStatus.INTERNAL_SERVER_ERROR)

    def do_POST(self) -> None:
        if not self._host_ok():
            return
        if urlsplit(self.path).path != "/api/load":
            self._send_json({"error": f"no such page: {self.path}"}, HTTPStatus.NOT_FOUND)
            return
        size = int(self.headers.get("Content-Length") or 0)
        if size > MAX_UPLOAD:
            self._send_json({"error": f"the upload is over {MAX_UPLOAD // 2**20} MiB"}, HTTPStatus.BAD_REQUEST)
            return
        text = self.rfile.read(size).decode("utf-8", errors="replace")
        try:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise ExplorerError(f"not JSON ({e.msg} at line {e.lineno}): paste the output of "
                                    "`protoproof check ... --json`") from None
            page = load(data, self.server.home.model, self.server.allowed)
            self._send_json({"query": page.query(), "property": data.get("property"), "steps": len(page.path),
                             "loop_start": data.get("loop_start")})
        except ExplorerError as e:
            self._send_json({"error": str(e)}, HTTPStatus.BAD_REQUEST)
        except Exception as e:
            self._send_json({"error": f"model error: {where_raised(e)}"}, HTTPStatus.INTERNAL_SERVER_ERROR)

    def _send_json(self, obj: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(json.dumps(obj, default=repr).encode(), "application/json", status)

    def _send(self, body: bytes, kind: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serving(home: Page, port: int = 0) -> Iterator[ExplorerServer]:
    """The explorer answering in a background thread while the block runs (tests, embedding)."""
    server = ExplorerServer(home, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve(model: str, variant: str | None, rest: Sequence[str], port: int, out: TextIO | None = None) -> int:
    """``protoproof explore``: check the model builds, then serve it until Ctrl-C (the first line
    printed is the page's address).  A wrong model, parameter or busy port is a ``UsageError``."""
    out = out or sys.stdout
    try:
        cls = protocol_for(model).model_class()
        params = tuple(sorted((k, str(v)) for k, v in _parse_params(cls, rest).items()))
        home = Page(model, variant, params, ())
        # Its initial states too: a model whose init() raises is refused here (a model error, exit 4),
        # not served as a page that can only show that error.
        build(home.model, home.variant, home.params).initial_states()
    except ExplorerError as e:
        raise UsageError(str(e)) from None
    try:
        server = ExplorerServer(home, port)
    except OSError as e:
        raise UsageError(f"--port {port}: cannot listen on 127.0.0.1:{port} ({e.strerror}); "
                         "pick another port, or --port 0 for any free one") from None
    print(f"explorer at {server.url}  (Ctrl-C stops it)", file=out, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("explorer stopped", file=out)
    finally:
        server.server_close()
    return 0
