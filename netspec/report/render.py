"""The diagram as SVG: Graphviz' ``dot`` when it is on the PATH, else netspec's
own layered layout (:mod:`netspec.report.svg`), so ``netspec graph`` works on a
machine without Graphviz. Pure Python; nothing here imports JAX.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Literal

from netspec.diagnostics import NetspecError, error
from netspec.infer.facts import Analysis
from netspec.ir import Graph
from netspec.report.diagram import title, to_dot
from netspec.report.svg import render_svg

Renderer = Literal["auto", "graphviz", "builtin"]


def graphviz_available() -> bool:
    return shutil.which("dot") is not None


def to_svg(graph: Graph, analysis: Analysis, *, renderer: Renderer = "auto") -> str:
    """The diagram as SVG text.

    ``renderer``: ``"graphviz"`` runs ``dot -Tsvg`` (a diagnostic when it is
    not installed), ``"builtin"`` uses netspec's own layered layout,
    ``"auto"`` (default) Graphviz when available, else the built-in one.
    """
    if renderer not in ("auto", "graphviz", "builtin"):
        raise ValueError(f"renderer must be auto, graphviz or builtin, but got {renderer!r}")
    if renderer == "graphviz" or (renderer == "auto" and graphviz_available()):
        if not graphviz_available():
            raise NetspecError([error("no-graphviz", "Graphviz' `dot` is not on the PATH",
                                      hint="install Graphviz, or use the built-in renderer")])
        return _run_dot(to_dot(graph, analysis))
    if analysis.errors:
        raise NetspecError(analysis.diagnostics)
    return render_svg(graph, analysis, title(graph, analysis))


def _run_dot(text: str) -> str:
    try:
        done = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetspecError([error("graphviz-failed", f"running Graphviz' dot failed: {exc}")]) from None
    if done.returncode != 0:
        raise NetspecError([error("graphviz-failed", f"Graphviz' dot failed: {done.stderr.strip()[:500]}")])
    return done.stdout
