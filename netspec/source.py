"""YAML with source positions, loaded safely.

The YAML is composed into PyYAML's node tree (which keeps a mark for every
node) and converted to plain Python by hand, never by a PyYAML constructor,
so no tag can build a Python object. On the way every mapping key, mapping
value and sequence item gets a :class:`~netspec.diagnostics.Span`, keyed by
its data path (``("layers", 3, "conv", "K")``), for the later stages'
diagnostics.

Scalars follow YAML 1.2's core schema, not PyYAML's YAML 1.1 resolver:
``1e-3``, ``1.0e-3`` and ``.5`` are floats (1.1 reads the first as text);
only ``true``/``false`` are booleans (``yes``, ``no``, ``on`` and ``off``
stay text, so a misspelt boolean is reported instead of guessed); ``null``,
``~`` and an empty value are null; quoted scalars are always text.

Hostile input is bounded: the document size, the nesting depth and the
number of values visited while converting (which counts every trip through
an alias, so a "billion laughs" file stops after :data:`MAX_VALUES`).
Duplicate keys, which PyYAML would silently resolve to the last one, are
errors, and so are merge keys (``<<``) and multiple documents.

>>> doc, problems = load_yaml("input: [28, 28, 1]\\nrate: 1e-3\\n", "spec.yaml")
>>> doc.data, problems
({'input': [28, 28, 1], 'rate': 0.001}, [])
>>> str(doc.span(("input", 2)))
'spec.yaml:1:17'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from netspec.diagnostics import Diagnostic, Span, error

MAX_BYTES = 1 << 20
MAX_VALUES = 100_000
MAX_DEPTH = 64
MAX_NUMBER_DIGITS = 30
MAX_SNIPPET = 500  # longer source lines are not quoted in diagnostics

Path = tuple[str | int, ...]

_PLAIN = "netspec:plain"  # a plain scalar with no tag: typed by _plain_scalar
_TEXT = "netspec:text"  # a quoted scalar, or one tagged '!': always text
_YAML = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_YAML + name for name in ("str", "int", "float", "bool", "null", "seq", "map")}

_INT = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+)([eE][-+]?[0-9]+)?\Z")
_TRUE, _FALSE = {"true", "True", "TRUE"}, {"false", "False", "FALSE"}
_NULL = {"", "~", "null", "Null", "NULL"}


@dataclass
class SourceDoc:
    """A loaded YAML document: plain data plus where each part came from.

    ``values[path]`` is the span of the value at ``path``; ``keys[path]`` the
    span of the mapping key that names it. ``quoted`` holds the paths of
    quoted scalars (their text starts one column after the span).
    """

    path: str
    text: str
    data: Any
    values: dict[Path, Span] = field(default_factory=dict)
    keys: dict[Path, Span] = field(default_factory=dict)
    quoted: set[Path] = field(default_factory=set)
    broken: set[Path] = field(default_factory=set)  # values already reported (bad tags): not re-reported

    def span(self, path: Path) -> Span | None:
        """The span of the value at ``path``, or of its nearest ancestor."""
        for end in range(len(path), -1, -1):
            found = self.values.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def key_span(self, path: Path) -> Span | None:
        """The span of the key naming ``path`` (else of the value, or an ancestor)."""
        return self.keys.get(tuple(path)) or self.span(path)

    def line_span(self, line: int, col: int = 1, length: int = 1) -> Span:
        """A span at a 1-based line and column of the text."""
        lines = self.text.splitlines()
        snippet = lines[line - 1] if 0 < line <= len(lines) else None
        if snippet is not None and len(snippet) > MAX_SNIPPET:
            snippet = None
        return Span(self.path, line, col, length, snippet)


def load_yaml(text: str, path: str) -> tuple[SourceDoc | None, list[Diagnostic]]:
    """Load one YAML document with positions; never raises for bad input.

    Returns ``(None, errors)`` when the text is not usable YAML (syntax,
    size, depth, alias expansion); otherwise the document and any errors
    about its content (duplicate keys, tags) with the offending entries left
    out, so later stages can still report what else is wrong.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_BYTES:
        return None, [error("file-too-large", f"spec is {size:,} bytes; the limit is {MAX_BYTES:,}",
                            Span(path, 1, 1), hint="a network spec is a few kilobytes; use templates "
                                                   "(blocks:) and repeat: instead of writing layers out")]
    doc = SourceDoc(path, text, None)
    try:
        root = _compose(text)
    except _TooDeep as problem:
        return None, [error("yaml-too-deep", f"YAML nests deeper than {MAX_DEPTH} levels",
                            _mark_span(doc, problem.mark), hint="flatten the structure")]
    except _TooMany as problem:
        return None, [error("yaml-too-large", f"the document has more than {MAX_VALUES:,} values",
                            _mark_span(doc, problem.mark), hint="a network spec is a few kilobytes; use "
                            "templates (blocks:) and repeat: instead of writing layers out")]
    except yaml.MarkedYAMLError as problem:
        if "maximum nesting depth" in str(problem.problem):  # PyYAML >= 6.0.3 stops deep nesting itself
            return None, [error("yaml-too-deep", f"YAML nests deeper than {MAX_DEPTH} levels",
                                _mark_span(doc, problem.problem_mark), hint="flatten the structure")]
        return None, [_syntax_error(doc, problem)]
    except yaml.YAMLError as problem:  # reader errors: control characters, bad encoding
        return None, [_reader_error(doc, problem)]
    if root is None:
        return doc, []
    converter = _Converter(doc)
    try:
        doc.data = converter.convert(root, ())
    except _TooLarge as problem:
        return None, [problem.diagnostic]
    return doc, converter.diagnostics


# --- composing ----------------------------------------------------------------------


class _TooDeep(Exception):
    def __init__(self, mark):
        self.mark = mark


class _TooMany(Exception):
    def __init__(self, mark):
        self.mark = mark


try:  # libyaml's parser is ~50x faster and keeps a hostile megabyte cheap; the composer stays ours
    from yaml._yaml import CParser as _Parser

    def _init_parser(self, text: str) -> None:
        _Parser.__init__(self, text)
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    class _Parser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
        pass

    def _init_parser(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


class _Composer(_Parser, yaml.composer.Composer, yaml.resolver.BaseResolver):
    """A YAML parser plus PyYAML's Python composer (no constructor), with
    bounds on depth and node count and a resolver that only marks scalars
    as plain or text."""

    def __init__(self, text: str):
        _init_parser(self, text)
        yaml.composer.Composer.__init__(self)
        yaml.resolver.BaseResolver.__init__(self)
        self.depth = 0
        self.composed = 0

    # The C parser brings its own composer; use PyYAML's Python one, bounded.
    get_single_node = yaml.composer.Composer.get_single_node
    compose_document = yaml.composer.Composer.compose_document
    compose_scalar_node = yaml.composer.Composer.compose_scalar_node
    compose_sequence_node = yaml.composer.Composer.compose_sequence_node
    compose_mapping_node = yaml.composer.Composer.compose_mapping_node

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _TEXT
        return yaml.resolver.BaseResolver.resolve(self, kind, value, implicit)

    def compose_node(self, parent, index):
        self.depth += 1
        self.composed += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            if self.composed > MAX_VALUES:
                raise _TooMany(self.peek_event().start_mark)
            return yaml.composer.Composer.compose_node(self, parent, index)
        finally:
            self.depth -= 1


def _compose(text: str) -> Node | None:
    composer = _Composer(text)
    try:
        return composer.get_single_node()
    finally:
        composer.dispose()


# --- converting -----------------------------------------------------------------------


class _TooLarge(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


class _Converter:
    """Node tree -> plain data, recording spans and content errors."""

    def __init__(self, doc: SourceDoc):
        self.doc = doc
        self.lines = doc.text.splitlines()
        self.visited = 0
        self.spans: dict[int, Span] = {}
        self.done: dict[int, tuple[Any, int]] = {}  # node id -> (value, values it expands to)
        self.active: set[int] = set()  # ids of collections being converted (catches recursive aliases)
        self.diagnostics: list[Diagnostic] = []

    def span(self, node: Node) -> Span:
        found = self.spans.get(id(node))  # aliases revisit nodes: make each span once
        if found is None:
            found = self.spans[id(node)] = self._span(node)
        return found

    def _span(self, node: Node) -> Span:
        start, end = node.start_mark, node.end_mark
        line = self.lines[start.line] if start.line < len(self.lines) else ""
        if end is not None and end.line == start.line and end.column > start.column:
            length = end.column - start.column
        elif isinstance(node, MappingNode) and node.value:
            return self.span(node.value[0][0])  # a block mapping: point at its first key
        else:
            length = max(1, len(line.rstrip()) - start.column) if isinstance(node, ScalarNode) else 1
        snippet = line if len(line) <= MAX_SNIPPET else None  # a hostile one-line megabyte is not shown
        return Span(self.doc.path, start.line + 1, start.column + 1, max(1, length), snippet)

    def convert(self, node: Node, path: Path) -> Any:
        self.doc.values[path] = self.span(node)
        if id(node) in self.done:
            # An alias: share the value converted before, but count everything it
            # expands to, so a "billion laughs" is refused after a few lookups.
            value, size = self.done[id(node)]
            self.count(size, node)
            return value
        before = self.visited
        self.count(1, node)
        value = self.convert_new(node, path)
        self.done[id(node)] = value, self.visited - before
        return value

    def count(self, values: int, node: Node) -> None:
        self.visited += values
        if self.visited > MAX_VALUES:
            raise _TooLarge(error(
                "yaml-too-large", f"the document expands to more than {MAX_VALUES:,} values",
                self.span(node), hint="this usually means aliases (*name) that reference each other "
                                      "many times over; write the values out or use templates"))

    def convert_new(self, node: Node, path: Path) -> Any:
        if node.tag not in (_PLAIN, _TEXT) and node.tag not in _ALLOWED_TAGS:
            self.doc.broken.add(path)
            self.diagnostics.append(error(
                "yaml-tag", f"unsupported YAML tag '{node.tag}'", self.span(node),
                hint="netspec reads plain YAML only (no tags such as !!python/...); remove the tag"))
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            self.diagnostics.append(error("yaml-recursive-alias", "an alias refers to a value that "
                                          "contains it (a recursive alias)", self.span(node),
                                          hint="YAML aliases must not refer to their own ancestors"))
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.convert(item, path + (index,)) for index, item in enumerate(node.value)]
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: MappingNode, path: Path) -> dict:
        result: dict[str, Any] = {}
        first_seen: dict[str, Span] = {}
        for key_node, value_node in node.value:
            key_span = self.span(key_node)
            if not isinstance(key_node, ScalarNode):
                self.diagnostics.append(error("yaml-key", "mapping keys must be plain words, but this "
                                              "key is a list or mapping", key_span))
                continue
            key = key_node.value
            if key == "<<" and key_node.tag == _PLAIN:
                self.diagnostics.append(error(
                    "yaml-merge-key", "YAML merge keys (<<) are not supported", key_span,
                    hint="share layers with a template (blocks:) or write the keys out"))
                continue
            if key in first_seen:
                self.diagnostics.append(Diagnostic(
                    "error", "duplicate-key", f"duplicate key '{key}'", key_span,
                    hint="remove one of them (YAML would silently keep only the last)",
                    notes=(f"'{key}' is first given at {first_seen[key]}",)))
                continue
            first_seen[key] = key_span
            self.visited += 1
            self.doc.keys[path + (key,)] = key_span
            result[key] = self.convert(value_node, path + (key,))
        return result

    def scalar(self, node: ScalarNode, path: Path) -> Any:
        text = node.value
        if node.tag == _TEXT or node.tag == _YAML + "str":
            if node.style in ("'", '"'):
                self.doc.quoted.add(path)
            return text
        tag = node.tag[len(_YAML):] if node.tag != _PLAIN else None
        if tag in (None, "null") and text in _NULL:
            return None
        if tag in (None, "bool") and text in _TRUE | _FALSE:
            return text in _TRUE
        if tag in (None, "int", "float") and (_INT.match(text) or (tag != "int" and _FLOAT.match(text))):
            digits = sum(character.isdigit() for character in text)
            if digits > MAX_NUMBER_DIGITS:
                self.doc.broken.add(path)
                self.diagnostics.append(error("yaml-number", f"number with {digits} digits is too long",
                                              self.span(node)))
                return None
            number = int(text) if _INT.match(text) and tag != "float" else float(text)
            return number
        if tag is None:
            return text
        self.doc.broken.add(path)
        self.diagnostics.append(error("yaml-tag", f"'{text}' is not a valid !!{tag}", self.span(node),
                                      hint="remove the tag or fix the value"))
        return None


# --- YAML errors ------------------------------------------------------------------------

_SYNTAX_HINTS = (
    ("mapping values are not allowed", "a ':' inside a value needs quotes, or the indentation is off"),
    ("did not find expected key", "check the indentation of this line against the ones above"),
    ("expected <block end>", "check the indentation of this line against the ones above"),
    ("found undefined alias", "define the anchor (&name) before using the alias (*name)"),
    ("could not find expected ':'", "a key needs ':' after it; or close the quotes or brackets above"),
    ("did not find expected ',' or ']'", "close the list with ']' (or separate its items with ',')"),
    ("did not find expected ',' or '}'", "close the mapping with '}' (or separate its entries with ',')"),
)


def _mark_span(doc: SourceDoc, mark) -> Span:
    if mark is None:
        return Span(doc.path, 1, 1)
    return doc.line_span(mark.line + 1, mark.column + 1)


def _syntax_error(doc: SourceDoc, problem: yaml.MarkedYAMLError) -> Diagnostic:
    if problem.problem == "but found another document":
        return error("yaml-multiple-documents", "a spec is one YAML document, but a second one starts here",
                     _mark_span(doc, problem.problem_mark), hint="remove the '---' line and what follows, "
                                                                 "or split the file")
    mark = problem.problem_mark or problem.context_mark
    message = problem.problem or problem.context or "invalid YAML"
    notes: tuple[str, ...] = ()
    context = problem.context_mark
    lines = doc.text.splitlines()
    if mark is not None and context is not None and mark.line >= len(lines):
        # The file ended inside a bracket or quote: point at where it opened.
        mark, context = context, None
        notes = ("the file ends before it is closed",)
    if problem.context and problem.problem and context is not None and (
            (context.line, context.column) != (mark.line, mark.column)):
        notes = (f"{problem.context} at {_mark_span(doc, context)}",)
    hint = next((fix for needle, fix in _SYNTAX_HINTS if needle in message), None)
    if mark is not None and mark.line < len(lines) and lines[mark.line][mark.column:mark.column + 1] == "\t":
        hint = "YAML indents with spaces, never tabs"
    return Diagnostic("error", "yaml-syntax", f"invalid YAML: {message}", _mark_span(doc, mark), hint, notes)


def _reader_error(doc: SourceDoc, problem: yaml.YAMLError) -> Diagnostic:
    position = getattr(problem, "position", None)
    if position is None:
        return error("yaml-syntax", f"invalid YAML: {problem}", Span(doc.path, 1, 1))
    before = doc.text[:position]
    line = before.count("\n") + 1
    col = position - (before.rfind("\n") + 1) + 1
    character = getattr(problem, "character", "?")
    if isinstance(character, int):  # libyaml reports the code point
        character = chr(character)
    return error("yaml-character", f"invalid YAML: character {character!r} is not allowed in YAML text",
                 doc.line_span(line, col), hint="remove the control character")
