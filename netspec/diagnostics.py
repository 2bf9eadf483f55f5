"""Diagnostics: the one record type every stage emits, and its renderings.

A diagnostic is data (like a pydantic error record): a severity, a stable
code, a message, an optional source span and an optional hint saying what
would fix it. Printing is one rendering of it (:func:`render`); JSON is
another (:meth:`Diagnostic.to_dict`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "note"]

# Codes of the warnings a spec item may acknowledge with ``allow:`` (errors can't be allowed).
WARNING_CODES = ("unseen-input", "misaligned-merge", "unused-layer")


@dataclass(frozen=True)
class Span:
    """A place in a source file. ``line`` and ``col`` are 1-based.

    ``length`` is the number of characters to underline (at least 1).
    ``snippet`` is the text of ``line`` (without newline), kept so a
    diagnostic can be rendered without re-reading the file.
    """

    path: str
    line: int
    col: int
    length: int = 1
    snippet: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    """One finding of a netspec stage.

    >>> d = Diagnostic("error", "unknown-layer", "unknown layer 'cnov'",
    ...                hint="did you mean 'conv'?")
    >>> d.is_error
    True
    """

    severity: Severity
    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict:
        out: dict = {"severity": self.severity, "code": self.code, "message": self.message}
        if self.span is not None:
            out.update(path=self.span.path, line=self.span.line, col=self.span.col)
        if self.hint:
            out["hint"] = self.hint
        if self.notes:
            out["notes"] = list(self.notes)
        return out


class NetspecError(Exception):
    """Raised by the library when a spec (or data, or a run) has errors.

    Carries every diagnostic found, warnings included; ``str()`` renders them.
    """

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__(render(self.diagnostics, color=False))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def error(code: str, message: str, span: Span | None = None, hint: str | None = None) -> Diagnostic:
    return Diagnostic("error", code, message, span, hint)


def warning(code: str, message: str, span: Span | None = None, hint: str | None = None) -> Diagnostic:
    return Diagnostic("warning", code, message, span, hint)


_COLORS = {"error": "\033[1;31m", "warning": "\033[1;35m", "note": "\033[1;36m"}
_BOLD, _RESET = "\033[1m", "\033[0m"


def render_one(diag: Diagnostic, *, color: bool = False) -> str:
    """Render like a compiler::

        specs/bad.yaml:14:5: error: conv 'conv3' needs F=5 but its input is only 3×3 (P=0)
           14 |   - conv: {K: 64, F: 5}
              |     ^^^^
          hint: ...
    """
    sev = f"{_COLORS[diag.severity]}{diag.severity}{_RESET}" if color else diag.severity
    where = f"{diag.span}: " if diag.span else "netspec: "
    if color:
        where = f"{_BOLD}{where}{_RESET}"
    lines = [f"{where}{sev}: {diag.message}"]
    span = diag.span
    if span is not None and span.snippet is not None:
        gutter = " " * len(str(span.line))
        lines.append(f" {span.line} | {span.snippet}")
        caret = " " * (span.col - 1) + "^" * max(1, span.length)
        lines.append(f" {gutter} | {caret}")
    for note in diag.notes:
        lines.append(f"  note: {note}")
    if diag.hint:
        lines.append(f"  hint: {diag.hint}")
    return "\n".join(lines)


def render(diagnostics: Iterable[Diagnostic], *, color: bool = False) -> str:
    return "\n".join(render_one(d, color=color) for d in diagnostics)


def position(diagnostic: Diagnostic) -> tuple[int, int]:
    """Sort key: (line, column) of the diagnostic, (0, 0) when it has no span."""
    span = diagnostic.span
    return (span.line, span.col) if span is not None else (0, 0)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean' hint for a misspelt ``word``, or None.

    >>> did_you_mean("filtres", ["filters", "units"])
    "did you mean 'filters'?"
    """
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
