"""What runs over the raw YAML data before pydantic sees it.

``${...}`` strings under ``layers:`` and ``blocks:`` become
:class:`~netspec.spec.values.Expr` (a whole-string expression: an integer
once the template's parameters are known) or
:class:`~netspec.spec.values.Interp` (inside longer text: names only). Their
syntax and the names they use are checked here, where the position of
every character is known, so a diagnostic points inside the string.

>>> from netspec.spec.source import load_yaml
>>> doc, _ = load_yaml('blocks: {b: {params: {K: 8}, layers: [dense: "${2 * K}"]}}', "x.yaml")
>>> data, problems = substitute_expressions(doc)
>>> value = data["blocks"]["b"]["layers"][0]["dense"]
>>> type(value).__name__, value.text, (value.span.line, value.span.col), problems
('Expr', '2 * K', (1, 49), [])
"""

from __future__ import annotations

import re
from typing import Any

from netspec.diagnostics import Diagnostic, Span, error
from netspec.spec import expr
from netspec.spec.source import Path, SourceDoc
from netspec.spec.values import Expr, Interp, suggest

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def check_template_names(doc: SourceDoc, data: dict, builtins: tuple[str, ...]) -> list[Diagnostic]:
    """Template names must be identifiers and must not hide a built-in layer."""
    blocks = data.get("blocks")
    found = []
    for key in blocks if isinstance(blocks, dict) else ():
        where = doc.key_span(("blocks", key))
        if key in builtins:
            found.append(error("template-name", f"template '{key}' would hide the built-in layer {key}",
                               where, hint="rename the template"))
        elif not IDENTIFIER.match(key):
            found.append(error("template-name", f"'{key}' cannot be a template name", where,
                               hint="use a letter or '_' then letters, digits or '_'"))
    return found


REPEAT_INDEX = "i"  # the default name of a repeat's 0-based iteration index in ${...}


def repeat_index_name(arguments: Any) -> str:
    """The name a repeat's ``index:`` gives its iteration counter (``i`` unless it says otherwise)."""
    name = arguments.get("index") if isinstance(arguments, dict) else None
    return name if isinstance(name, str) and IDENTIFIER.match(name) else REPEAT_INDEX


def template_params(data: dict) -> dict[str, dict[str, int | None]]:
    """Template name -> its params (name -> default, None when required), read loosely."""
    blocks = data.get("blocks")
    templates: dict[str, dict[str, int | None]] = {}
    for name, body in (blocks.items() if isinstance(blocks, dict) else ()):
        params = body.get("params") if isinstance(body, dict) else None
        templates[name] = dict(params) if isinstance(params, dict) else {}
    return templates


def substitute_expressions(doc: SourceDoc) -> tuple[dict, list[Diagnostic]]:
    """Replace ``${...}`` strings under layers: and blocks: with Expr/Interp values."""
    data = dict(doc.data)
    diagnostics: list[Diagnostic] = []
    if "layers" in data:
        data["layers"] = _walk(doc, data["layers"], ("layers",), _Names(None), diagnostics)
    blocks = data.get("blocks")
    if isinstance(blocks, dict):
        params = template_params(data)
        data["blocks"] = {name: _walk(doc, body, ("blocks", name), _Names(frozenset(params[name])), diagnostics)
                          for name, body in blocks.items()}
    return data, diagnostics


class _Names:
    """The names ``${...}`` may use here: the template's params (None outside a template) and the
    indices of the repeats around it."""

    def __init__(self, params: frozenset[str] | None, indices: frozenset[str] = frozenset()):
        self.params, self.indices = params, indices

    def with_index(self, name: str) -> _Names:
        return _Names(self.params, self.indices | {name})

    def __contains__(self, name: str) -> bool:
        return name in self.indices or (self.params is not None and name in self.params)

    def known(self) -> list[str]:
        return sorted(self.indices | (self.params or frozenset()))


def _walk(doc: SourceDoc, value: Any, path: Path, names: _Names, diagnostics: list[Diagnostic]) -> Any:
    if isinstance(value, dict):
        walked = {}
        for key, item in value.items():
            inner = names
            if key == "layers" and path and path[-1] == "repeat":  # the repeated layers see its index
                inner = names.with_index(repeat_index_name(value))
            walked[key] = _walk(doc, item, path + (key,), inner, diagnostics)
        return walked
    if isinstance(value, list):
        return [_walk(doc, item, path + (index,), names, diagnostics) for index, item in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        return _expression(doc, value, path, names, diagnostics)
    return value


def _expression(doc: SourceDoc, text: str, path: Path, names: _Names,
                diagnostics: list[Diagnostic]) -> Any:
    def span_at(offset: int, length: int) -> Span | None:
        base = doc.values.get(path)
        quote = 1 if path in doc.quoted else 0
        if base is None or base.length < quote + len(text):  # folded or escaped: point at the whole value
            return base
        return Span(base.path, base.line, base.col + quote + offset, length, base.snippet)

    def report(problem: Diagnostic) -> None:
        # A value reached again through a YAML alias has no span of its own: it was already
        # reported where it is written, so it is not reported again without a file:line.
        if problem.span is None and any((d.code, d.message) == (problem.code, problem.message) for d in diagnostics):
            return
        diagnostics.append(problem)

    try:
        parts = expr.split_template(text)
    except expr.ExprError as problem:
        report(error("expression", f"bad ${{...}} expression: {problem.message}",
                     span_at(problem.offset, problem.length), problem.hint))
        return Expr(text, expr.Number(1, 0, 1))  # reported; a stand-in keeps it from being reported again
    values: list[str | Expr] = []
    for part in parts:
        if isinstance(part, str):
            values.append(part)
            continue
        for name in expr.names(part.tree):
            if name.name in names:
                continue
            if names.params is None:
                report(error(
                    "expression-name", f"'{name.name}' is not defined here: ${{...}} outside a template "
                                       "can only use numbers and the index of a repeat around it",
                    span_at(part.offset + name.offset, name.length),
                    hint=suggest(name.name, names.known()) or
                    "parameters exist inside templates (blocks: name: {params: ..., layers: ...})"))
            else:
                known = names.known()
                report(error(
                    "expression-name", f"unknown parameter '{name.name}' in ${{{part.text}}}",
                    span_at(part.offset + name.offset, name.length),
                    hint=suggest(name.name, known) or
                    (f"the names defined here are: {', '.join(known)}" if known else
                     "declare it in the template's params:")))
        values.append(Expr(part.text, part.tree, span_at(part.offset, len(part.text))))
    if expr.is_whole_expression(parts):
        return values[0]
    return Interp(tuple(values))
