"""pydantic validation errors -> diagnostics at their YAML positions.

A pydantic error's ``loc`` names fields, list indices, union tags and
validator names; walking it over the validated data keeps the parts that
exist there, which gives the data path of the position map. The messages
follow one form: ``"conv: K must be a positive integer, but got 0"``, with a
hint saying what would fix it (a did-you-mean for misspelt keys, computed
from the JSON Schema so it covers the ``train:`` section too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netspec.diagnostics import Diagnostic, did_you_mean
from netspec.spec.layers import ALIAS_GROUPS
from netspec.spec.source import Path, SourceDoc
from netspec.spec.values import describe, suggest

# Error codes whose position is the key a user wrote, not its value.
_KEY_CODES = {"unknown-layer", "unknown-parameter", "duplicate-argument", "template-name", "param-name",
              "extra_forbidden"}

_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "float_type": "a number",
    "float_parsing": "a number", "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "text", "list_type": "a list", "tuple_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping",
}


def convert_errors(errors: list[dict], doc: SourceDoc, data: Any,
                   schema: Callable[[], dict]) -> list[Diagnostic]:
    """Diagnostics for pydantic ``errors`` raised while validating ``data``
    (the document's data after ``${...}`` substitution)."""
    found = [(_data_path(data, error), _semantic_path(error), error) for error in errors]
    typos = {(path[:-1], path[-1]) for path, _, error in found if error["type"] == "extra_forbidden"}
    missing: dict[Path, list[tuple[Path, dict]]] = {}
    diagnostics: list[Diagnostic] = []
    for path, semantic, error in found:
        if any(path[:length] in doc.broken for length in range(len(path) + 1)):
            continue  # its value was dropped after a YAML error already reported
        if error["type"] != "missing":
            diagnostics.append(_diagnostic(path, semantic, error, doc, schema))
        elif not _explained_by_typo(path, typos):  # 'filtres: 6' says it all; 'K missing' would be noise
            missing.setdefault(path[:-1], []).append((semantic, error))
    for parent, entries in missing.items():
        diagnostics.append(_missing(parent, [semantic for semantic, _ in entries], doc, schema))
    unique: dict[tuple, Diagnostic] = {}
    for diagnostic in diagnostics:
        unique.setdefault((diagnostic.message, str(diagnostic.span)), diagnostic)
    return list(unique.values())


def _data_path(data: Any, error: dict) -> Path:
    """The path in ``data`` that ``error`` is about (its loc, minus the parts that are not data)."""
    path: list[str | int] = []
    node = data
    loc = list(error["loc"])
    if error["type"] == "missing":
        loc, missing = loc[:-1], loc[-1]
    for part in loc + list((error.get("ctx") or {}).get("netspec_at", [])):
        child = _child(node, part)
        if child is _ABSENT:
            continue
        path.append(child[0])
        node = child[1]
    if error["type"] == "missing":
        path.append(missing)
    return tuple(path)


def _semantic_path(error: dict) -> Path:
    """The loc as the language names it: union tags dropped, fields as declared
    (``dropout: 0.5`` fails at ``('layers', 3, 'dropout', 'rate')``)."""
    path: list[str | int] = []
    for part in list(error["loc"]) + list((error.get("ctx") or {}).get("netspec_at", [])):
        if isinstance(part, str) and (part in UNION_TAGS or (path and path[-1] == part)):
            continue
        path.append("from" if part == "from_" else part)
    return tuple(path)


UNION_TAGS = {"template", "malformed", "shortcut:word", "shortcut:layers"}
_ABSENT = object()


def _child(node: Any, part: Any):
    if isinstance(node, dict):
        if part in node:
            return part, node[part]
        for alias in ALIAS_GROUPS.get(part, ()):  # pydantic names K; the file may say filters
            if alias in node:
                return alias, node[alias]
        if part == "from_" and "from" in node:
            return "from", node["from"]
    elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return part, node[part]
    return _ABSENT


def _explained_by_typo(path: Path, typos: set[tuple[Path, str | int]]) -> bool:
    parent, field = path[:-1], path[-1]
    spellings = {field} | ALIAS_GROUPS.get(str(field), set())
    return any(typo_parent == parent and suggest(str(typo), spellings) is not None
               for typo_parent, typo in typos)


def _label(path: Path) -> tuple[str | None, str | None]:
    """(subject, key) for a message: ('conv', 'K'), ('conv', 'entry 2 of F'), (None, 'input')."""
    index: int | None = None
    end = len(path)
    while end and isinstance(entry := path[end - 1], int):
        index = entry
        end -= 1
    if not end:
        return None, None
    key = str(path[end - 1])
    if index is not None:
        key = f"entry {index + 1} of {key}"
    subject = next((str(part) for part in reversed(path[:end - 1]) if isinstance(part, str)), None)
    return subject, key


def _missing(parent: Path, semantics: list[Path], doc: SourceDoc, schema: Callable[[], dict]) -> Diagnostic:
    subject, _ = _label(semantics[0])
    keys = [str(semantic[-1]) for semantic in semantics]
    owner = subject or "the spec"
    additions = []
    for semantic, key in zip(semantics, keys):
        description = _description(schema(), semantic)
        additions.append(f"{key}: ..." + (f" ({description})" if description else ""))
    return Diagnostic("error", "missing", f"{owner} needs {' and '.join(keys)}", doc.key_span(parent),
                      "add " + "; ".join(additions))


def _diagnostic(path: Path, semantic: Path, error: dict, doc: SourceDoc,
                schema: Callable[[], dict]) -> Diagnostic:
    kind = error["type"]
    context = error.get("ctx") or {}
    hint = context.get("netspec_hint")
    subject, key = _label(semantic)
    prefix = f"{subject}: " if subject else ""
    message = error["msg"]
    span = doc.key_span(path) if kind in _KEY_CODES else doc.span(path)
    value = error.get("input")
    if kind == "extra_forbidden":
        where = f"in {subject}" if subject else "at the top level"
        message = f"unknown key '{key}' {where}"
        allowed = _allowed_keys(schema(), semantic[:-1])
        hint = suggest(str(key), allowed) or (
            f"the keys here are: {', '.join(sorted(allowed))}" if allowed else None)
    elif message.startswith("must "):
        message = f"{prefix}{key} {message}" if key else message
    elif kind in _EXPECTED:
        message = f"{prefix}{key} must be {_EXPECTED[kind]}, but got {describe(value)}"
    elif kind == "too_short":
        message = f"{prefix}{key} must not be empty"
    elif kind == "literal_error":
        expected = context.get("expected", "")
        message = f"{prefix}{key} must be {expected}, but got {describe(value)}"
        if isinstance(value, str):
            words = [word.strip(" '") for word in expected.replace(" or ", ",").split(",")]
            hint = hint or did_you_mean(value, words)
    elif kind.endswith(("_type", "_parsing")) or kind in (
            "greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        message = f"{prefix}{key}: {message[0].lower()}{message[1:]}, but got {describe(value)}"
    elif key and kind == "value_error":
        message = f"{prefix}{key}: {message.removeprefix('Value error, ')}"
    return Diagnostic("error", kind.replace("_", "-"), message, span, hint)


# --- the JSON Schema, walked along a data path ------------------------------------------------------


def _expand(node: Any, root: dict, depth: int = 0) -> list[dict]:
    """The alternatives a schema node stands for ($ref followed, anyOf/oneOf/allOf flattened)."""
    if not isinstance(node, dict) or depth > 20:
        return []
    if "$ref" in node:
        target = root.get("$defs", {}).get(node["$ref"].rsplit("/", 1)[-1])
        return _expand(target, root, depth + 1)
    options = [node]
    for combinator in ("anyOf", "oneOf", "allOf"):
        for option in node.get(combinator, []):
            options += _expand(option, root, depth + 1)
    return options


def _schemas_at(root: dict, path: Path) -> list[dict]:
    nodes = _expand(root, root)
    for part in path:
        following: list[dict] = []
        for node in nodes:
            if isinstance(part, int):
                following += _expand(node.get("items"), root)
            elif part in node.get("properties", {}):
                following += _expand(node["properties"][part], root)
            elif isinstance(node.get("additionalProperties"), dict):
                following += _expand(node["additionalProperties"], root)
        nodes = following
    return nodes


def _allowed_keys(root: dict, path: Path) -> list[str]:
    keys: list[str] = []
    for node in _schemas_at(root, path):
        keys += [key for key in node.get("properties", {}) if key not in keys]
    return keys


def _description(root: dict, path: Path) -> str | None:
    for node in _schemas_at(root, path[:-1]):
        field = node.get("properties", {}).get(path[-1])
        for option in _expand(field, root):
            if option.get("description"):
                return option["description"]
    return None
