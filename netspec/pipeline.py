"""The orchestrator: the static pipeline as one call, each stage run once.

read (:func:`read_spec_file`) -> load (:func:`netspec.spec.source.load_yaml`)
-> validate (:func:`netspec.spec.network.validate`) -> resolve
(:func:`netspec.resolve.expand.resolve_spec`, at a named scale) -> infer
(:func:`netspec.infer.rules.infer`, then the merge-alignment and budget checks
of :func:`netspec.infer.checks.checked_analysis`). No other module drives these stages.

Nothing here imports JAX; ``netspec check`` and ``netspec summary`` run on
this path alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netspec.diagnostics import Diagnostic, NetspecError, error
from netspec.infer.checks import checked_analysis
from netspec.infer.facts import Analysis
from netspec.infer.rules import infer
from netspec.ir import Graph
from netspec.resolve.expand import resolve_spec
from netspec.resolve.scaling import active_scale
from netspec.spec.budget import Limit
from netspec.spec.network import validate
from netspec.spec.source import load_yaml

MAX_SPEC_BYTES = 1 << 20  # matches the loader's own cap; checked before reading the whole file


@dataclass(frozen=True)
class Checked:
    """What the static pipeline found for one spec: the graph and its
    analysis when resolution succeeded, and every diagnostic (errors first
    come from the earliest stage that failed)."""

    path: str
    graph: Graph | None
    analysis: Analysis | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


def read_spec_file(path: str | Path) -> tuple[str | None, list[Diagnostic]]:
    """The text of a spec file, or a diagnostic saying why it can't be read."""
    path = Path(path)
    shown = str(path)
    if not path.exists():
        return None, [error("file-not-found", f"no such file: {shown}",
                            hint="check the path; specs usually live in specs/ or examples/")]
    if path.is_dir():
        return None, [error("not-a-file", f"{shown} is a directory, not a spec file")]
    from netspec.spec.file_limits import NotARegularFile, TooLarge, read_bounded

    try:  # bounded by bytes read: /dev/zero and FIFOs report st_size 0
        return read_bounded(path, MAX_SPEC_BYTES).decode("utf-8"), []
    except TooLarge:
        return None, [error("file-too-large", f"{shown} is larger than {MAX_SPEC_BYTES:,} bytes, the limit for specs")]
    except NotARegularFile as exc:
        return None, [error("not-a-file", f"{shown} is {exc.kind}, not a spec file",
                            hint="pass a YAML file; netspec does not read specs from pipes or devices")]
    except UnicodeDecodeError as exc:
        return None, [error("not-utf8", f"{shown} is not UTF-8 text ({exc.reason} at byte {exc.start})")]
    except OSError as exc:
        return None, [error("unreadable", f"cannot read {shown}: {exc.strerror}")]


def resolve_text(text: str, path: str, scale: str | None = None) -> tuple[Graph | None, list[Diagnostic]]:
    """YAML text -> (Graph, diagnostics); the graph is None iff there is an error.

    Every stage reports all it finds: YAML problems, then every schema error,
    then resolution errors (names, ``from:``, template expansion). ``scale``
    names one of the spec's ``scales:`` to resolve it at (docs/analysis.md).
    """
    doc, diagnostics = load_yaml(text, path)
    if doc is None:
        return None, diagnostics
    spec, found = validate(doc)
    diagnostics += found
    if spec is None:
        return None, diagnostics
    graph, found = resolve_spec(spec, doc, scale, load_base=_load_base)
    diagnostics += found
    if any(diagnostic.is_error for diagnostic in diagnostics):
        return None, diagnostics
    return graph, diagnostics


def _load_base(path: str) -> Graph:
    """The resolved, shape-checked graph of a ``base:`` spec file (at no scale); raises
    :class:`~netspec.diagnostics.NetspecError` with every diagnostic when it has errors."""
    graph, diagnostics = resolve_text(Path(path).read_text(encoding="utf-8"), path)
    if graph is None or any(diagnostic.is_error for diagnostic in diagnostics):
        raise NetspecError(diagnostics)
    analysis = infer(graph)
    if analysis.errors:
        raise NetspecError(analysis.diagnostics)
    analysis.graph.meta["analysis"] = analysis
    return analysis.graph


def check_text(text: str, path: str = "<spec>", scale: str | None = None, budget: tuple[Limit, ...] = ()) -> Checked:
    """Resolve and infer a spec given as text; never raises for user errors.

    ``scale`` names one of the spec's ``scales:`` (default: the one chosen with
    ``--scale``); ``budget`` holds :class:`netspec.spec.budget.Limit` overrides
    (``--budget``) of its ``budget:``.
    """
    graph, diagnostics = resolve_text(text, path, active_scale(scale))
    if graph is None:
        return Checked(path, None, None, tuple(diagnostics))
    analysis = checked_analysis(infer(graph), budget)  # infer settles pending shortcuts: its graph is the model
    return Checked(path, analysis.graph, analysis, tuple(diagnostics) + tuple(analysis.diagnostics))


def check_file(path: str | Path, scale: str | None = None, budget: tuple[Limit, ...] = ()) -> Checked:
    """Like :func:`check_text` for a file (a missing file is a diagnostic)."""
    text, problems = read_spec_file(path)
    if text is None:
        return Checked(str(path), None, None, tuple(problems))
    return check_text(text, str(path), scale, budget)


def _looks_like_text(source: str | Path) -> bool:
    return isinstance(source, str) and ("\n" in source or source.lstrip().startswith("{"))


def analyze(source: str | Path | Graph, scale: str | None = None) -> Checked:
    """Run the static pipeline on a path, spec text, or an already resolved Graph."""
    if isinstance(source, Graph):
        analysis = infer(source)
        return Checked(source.source_path or source.name, analysis.graph, analysis, analysis.diagnostics)
    if _looks_like_text(source):
        return check_text(str(source), scale=scale)
    return check_file(source, scale)


def load(source: str | Path, scale: str | None = None) -> Graph:
    """Load, validate, resolve and shape-check a spec (a path or YAML text).

    Returns the resolved :class:`~netspec.ir.Graph`; its static analysis is
    kept in ``graph.meta["analysis"]`` and warnings in ``graph.meta["warnings"]``.
    Raises :class:`~netspec.diagnostics.NetspecError` carrying every
    diagnostic when there is any error. ``scale`` names one of the spec's ``scales:``.

    >>> graph = load("name: tiny\\ninput: [4, 4, 1]\\nlayers: [flatten, {dense: {units: 2}}]\\n")
    >>> graph.name, graph.meta["analysis"].output.output_shape
    ('tiny', (2,))
    """
    checked = analyze(source, scale)
    if not checked.ok or checked.graph is None:
        raise NetspecError(checked.diagnostics)
    checked.graph.meta["analysis"] = checked.analysis
    checked.graph.meta["warnings"] = [d for d in checked.diagnostics if not d.is_error]
    return checked.graph


def analysis_of(graph: Graph) -> Analysis:
    """The static analysis of a loaded graph (computed once, then cached in meta)."""
    analysis = graph.meta.get("analysis")
    if analysis is None:
        analysis = infer(graph)
        if analysis.errors:
            raise NetspecError(analysis.diagnostics)
        graph.meta["analysis"] = analysis
    return analysis
