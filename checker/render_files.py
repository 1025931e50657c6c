"""Writing pictures: DOT source to a file, rendered by Graphviz, with arrows routed around boxes.

A sequence chart is laid out by ``dot`` (lanes and rows), but ``dot`` draws its messages as
straight lines that may cross another lane right through a box.  So a source carrying
``ROUTE_MARK`` is drawn in two passes: ``dot`` places the nodes, then ``neato -n2`` keeps
every node where it is and routes each edge as a spline around the boxes (Graphviz's
obstacle-avoiding router).  Without ``neato`` or ``gvpr`` the one-pass drawing is written.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path as FsPath

#: File extensions ``write_graph`` understands; all but ``.dot`` are rendered by ``dot``.
FORMATS = (".dot", ".svg", ".png", ".pdf")
#: Seconds ``dot`` may take before ``write_graph`` gives up on it.
DOT_TIMEOUT_S = 60.0
#: A DOT comment asking for the two-pass drawing with edges routed around the nodes.
ROUTE_MARK = "// protoproof: route edges around the boxes"
#: Drops every edge's coordinates from ``dot -Tdot`` output, so ``neato -n2`` routes it afresh.
_FORGET_EDGES = 'E{pos=""; lp=""; xlp=""}'


class RenderError(RuntimeError):
    """``dot`` failed or timed out; the DOT source was kept next to the requested file."""


def layout(dot_source: str, fmt: str) -> subprocess.CompletedProcess[bytes]:
    """Run Graphviz on ``dot_source`` to format ``fmt`` (``svg``, ``png``, ``json``, ...); bytes out.

    Routed in two passes when the source has ``ROUTE_MARK`` and ``neato`` and ``gvpr`` exist.
    Raises ``FileNotFoundError`` without ``dot`` and ``subprocess.TimeoutExpired`` after
    ``DOT_TIMEOUT_S`` seconds; a failure is the returned non-zero ``returncode``.
    """
    dot = shutil.which("dot")
    if dot is None:
        raise FileNotFoundError("dot")
    data = dot_source.encode("utf-8")
    neato, gvpr = shutil.which("neato"), shutil.which("gvpr")
    if ROUTE_MARK not in dot_source or neato is None or gvpr is None:
        return subprocess.run([dot, f"-T{fmt}"], input=data, capture_output=True, timeout=DOT_TIMEOUT_S,
                              check=False)
    placed = subprocess.run([dot, "-Tdot"], input=data, capture_output=True, timeout=DOT_TIMEOUT_S, check=False)
    if placed.returncode != 0:
        return placed
    bare = subprocess.run([gvpr, "-c", _FORGET_EDGES], input=placed.stdout, capture_output=True,
                          timeout=DOT_TIMEOUT_S, check=False)
    if bare.returncode != 0:
        return bare
    return subprocess.run([neato, "-n2", "-Gsplines=true", f"-T{fmt}"], input=bare.stdout, capture_output=True,
                          timeout=DOT_TIMEOUT_S, check=False)


def write_graph(dot_source: str, filename: str) -> str:
    """Write ``dot_source`` to ``filename``, rendering it with Graphviz unless it ends in ``.dot``.

    Without graphviz the DOT source is still written (as ``<stem>.dot``) and the message
    gives the exact command to render it, so a missing binary never loses a counterexample.
    Returns a one-line message saying what was written.
    """
    target = FsPath(filename)
    ext = target.suffix.lower()
    if ext not in FORMATS:
        raise ValueError(
            f"cannot write a graph to {filename!r}: unknown extension {ext or '(none)'!r}; "
            f"use one of {', '.join(FORMATS)}"
        )
    if ext == ".dot":
        target.write_text(dot_source, encoding="utf-8")
        return f"wrote DOT source to {target}"
    fmt = ext[1:]
    dot_file = target.with_suffix(".dot")
    command = f"dot -T{fmt} {shlex.quote(str(dot_file))} -o {shlex.quote(str(target))}"
    try:
        done = layout(dot_source, fmt)
    except FileNotFoundError:
        dot_file.write_text(dot_source, encoding="utf-8")
        return f"graphviz 'dot' not found: wrote DOT source to {dot_file}; render it with: {command}"
    except subprocess.TimeoutExpired:
        dot_file.write_text(dot_source, encoding="utf-8")
        raise RenderError(
            f"dot took more than {DOT_TIMEOUT_S:g}s to render {target}; DOT source kept in {dot_file} "
            f"(render it with: {command})"
        ) from None
    if done.returncode != 0:
        dot_file.write_text(dot_source, encoding="utf-8")
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(
            f"dot failed (exit {done.returncode}) to render {target}: {why[0] if why else 'no message'}; "
            f"DOT source kept in {dot_file}"
        )
    target.write_bytes(done.stdout)
    return f"wrote {fmt.upper()} graph to {target}"


__all__ = ["DOT_TIMEOUT_S", "FORMATS", "ROUTE_MARK", "RenderError", "layout", "write_graph"]
