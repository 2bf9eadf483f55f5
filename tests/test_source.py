"""YAML loading: safe, positioned, strict about numbers, booleans and duplicates, bounded."""

from __future__ import annotations

import pytest

from netspec.diagnostics import render
from netspec.spec import source
from netspec.spec.source import MAX_BYTES, MAX_DEPTH, MAX_VALUES, load_yaml

# Both parsers PyYAML may give us: libyaml's (with its own nesting limit since PyYAML 6.0.3, which
# trips before netspec's depth bound on flow collections) and the pure-Python one (with no limit).
PARSERS = [pytest.param(source._PythonComposer, id="pure-python")]
if hasattr(source, "_LibyamlComposer"):
    PARSERS.append(pytest.param(source._LibyamlComposer, id="libyaml"))


def load(text: str):
    doc, problems = load_yaml(text, "spec.yaml")
    return doc, problems


@pytest.mark.parametrize(("text", "value"), [
    ("1e-3", 0.001),  # YAML 1.1 (PyYAML) reads this as text
    ("1.0e-3", 0.001),
    ("1.001e-5", 1.001e-5),
    (".5", 0.5),
    ("-.5", -0.5),
    ("1.", 1.0),
    ("3", 3),
    ("-3", -3),
    ("+3", 3),
    ("007", 7),
    ("true", True),
    ("False", False),
    ("yes", "yes"),  # only true/false are booleans
    ("no", "no"),
    ("on", "on"),
    ("off", "off"),
    ("~", None),
    ("null", None),
    ("", None),
    ("'5'", "5"),  # quoted scalars are text
    ('"true"', "true"),
    ("!!str 5", "5"),
    ("!!float 5", 5.0),
    ("!!int 5", 5),
    ("0x1F", "0x1F"),
    (".inf", ".inf"),
    ("same", "same"),
])
def test_scalars_follow_the_yaml_1_2_core_schema(text: str, value) -> None:
    doc, problems = load(f"v: {text}\n")
    assert problems == []
    assert doc.data["v"] == value
    assert type(doc.data["v"]) is type(value)


def test_positions_of_keys_values_and_items() -> None:
    doc, problems = load("name: x\ninput: [28, 28, 1]\nlayers:\n  - conv: {K: 6, F: 5}\n  - relu\n")
    assert problems == []
    assert doc.data == {"name": "x", "input": [28, 28, 1], "layers": [{"conv": {"K": 6, "F": 5}}, "relu"]}
    where = {path: (span.line, span.col, span.length) for path, span in doc.values.items()}
    assert where[("input",)] == (2, 8, 11)
    assert where[("input", 2)] == (2, 17, 1)
    assert where[("layers", 0, "conv")] == (4, 11, 12)
    assert where[("layers", 0, "conv", "F")] == (4, 21, 1)
    assert where[("layers", 1)] == (5, 5, 4)
    assert where[("layers", 0)] == (4, 5, 4)  # a block mapping points at its first key
    keys = {path: (span.line, span.col, span.length) for path, span in doc.keys.items()}
    assert keys[("layers", 0, "conv")] == (4, 5, 4)
    assert keys[("layers", 0, "conv", "K")] == (4, 12, 1)
    assert doc.values[("layers", 0, "conv", "K")].snippet == "  - conv: {K: 6, F: 5}"


def test_span_falls_back_to_the_nearest_ancestor() -> None:
    doc, _ = load("a:\n  b: 1\n")
    assert (doc.span(("a", "b", "c", 0)).line, doc.span(("a", "b", "c", 0)).col) == (2, 6)
    assert doc.key_span(("a", "b")).col == 3


def test_quoted_scalars_are_remembered_for_pointing_inside_them() -> None:
    doc, _ = load('a: "${K}"\nb: ${K}\n')
    assert ("a",) in doc.quoted and ("b",) not in doc.quoted


# (text, rendered diagnostics): exact positions and messages.
BAD = [
    ("duplicate key", "a: 1\nb:\n  c: 2\n  c: 3\n",
     "spec.yaml:4:3: error: duplicate key 'c'\n"
     " 4 |   c: 3\n"
     "   |   ^\n"
     "  note: 'c' is first given at spec.yaml:3:3\n"
     "  hint: remove one of them (YAML would silently keep only the last)"),
    ("python tag", "a: !!python/object/apply:os.system ['echo hi']\n",
     "spec.yaml:1:4: error: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'\n"
     " 1 | a: !!python/object/apply:os.system ['echo hi']\n"
     "   |    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
     "  hint: netspec reads plain YAML only (no tags such as !!python/...); remove the tag"),
    ("local tag", "a: !custom 1\n",
     "spec.yaml:1:4: error: unsupported YAML tag '!custom'\n"
     " 1 | a: !custom 1\n"
     "   |    ^^^^^^^^^\n"
     "  hint: netspec reads plain YAML only (no tags such as !!python/...); remove the tag"),
    ("unclosed list", "a: [1, 2\nb: 3\n",
     "spec.yaml:2:2: error: invalid YAML: did not find expected ',' or ']'\n"
     " 2 | b: 3\n"
     "   |  ^\n"
     "  note: while parsing a flow sequence at spec.yaml:1:4\n"
     "  hint: close the list with ']' (or separate its items with ',')"),
    ("tab indentation", "a:\n\t- 1\n",
     "spec.yaml:2:1: error: invalid YAML: found character that cannot start any token\n"
     " 2 | \t- 1\n"
     "   | ^\n"
     "  hint: YAML indents with spaces, never tabs"),
    ("bad indentation", "a:\n  b: 1\n c: 2\n",
     "spec.yaml:3:2: error: invalid YAML: did not find expected key\n"
     " 3 |  c: 2\n"
     "   |  ^\n"
     "  note: while parsing a block mapping at spec.yaml:1:1\n"
     "  hint: check the indentation of this line against the ones above"),
    ("two documents", "a: 1\n---\nb: 2\n",
     "spec.yaml:2:1: error: a spec is one YAML document, but a second one starts here\n"
     " 2 | ---\n"
     "   | ^\n"
     "  hint: remove the '---' line and what follows, or split the file"),
    ("merge key", "base: &b {K: 1}\nconv:\n  <<: *b\n  F: 3\n",
     "spec.yaml:3:3: error: YAML merge keys (<<) are not supported\n"
     " 3 |   <<: *b\n"
     "   |   ^^\n"
     "  hint: share layers with a template (blocks:) or write the keys out"),
    ("undefined alias", "a: *nothing\n",
     "spec.yaml:1:4: error: invalid YAML: found undefined alias 'nothing'\n"
     " 1 | a: *nothing\n"
     "   |    ^\n"
     "  hint: define the anchor (&name) before using the alias (*name)"),
    ("recursive alias", "a: &x [1, *x]\n",
     "spec.yaml:1:4: error: an alias refers to a value that contains it (a recursive alias)\n"
     " 1 | a: &x [1, *x]\n"
     "   |    ^^^^^^^^^^\n"
     "  hint: YAML aliases must not refer to their own ancestors"),
    ("huge number", "a: " + "9" * 40 + "\n",
     "spec.yaml:1:4: error: number with 40 digits is too long\n"
     " 1 | a: " + "9" * 40 + "\n"
     "   |    " + "^" * 40),
    ("control character", "a: b\x07\n",
     "spec.yaml:1:5: error: invalid YAML: character '\\x07' is not allowed in YAML text\n"
     " 1 | a: b\x07\n"
     "   |     ^\n"
     "  hint: remove the control character"),
    ("non-scalar key", "? [a, b]\n: 1\n",
     "spec.yaml:1:3: error: mapping keys must be plain words, but this key is a list or mapping\n"
     " 1 | ? [a, b]\n"
     "   |   ^^^^^^"),
]


@pytest.mark.parametrize(("case", "text", "expected"), BAD, ids=[case for case, _, _ in BAD])
def test_bad_yaml_diagnostics(case: str, text: str, expected: str) -> None:
    _, problems = load(text)
    assert render(problems) == expected


def test_duplicate_keys_keep_the_first_value_and_go_on() -> None:
    doc, problems = load("a: 1\na: 2\nb: !!python/name:os.system 3\n")
    assert [problem.code for problem in problems] == ["duplicate-key", "yaml-tag"]
    assert doc.data == {"a": 1, "b": None}


def test_alias_bomb_is_stopped_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    doc, problems = load("\n".join(lines) + "\n")
    assert doc is None
    assert [problem.code for problem in problems] == ["yaml-too-large"]
    assert f"more than {MAX_VALUES:,} values" in problems[0].message  # stopped by count, not by time


@pytest.mark.parametrize(("text", "code"), [
    ("a: " + "[" * 100_000, "yaml-too-deep"),
    ("a: [" + "1," * 200_000 + "1]", "yaml-too-large"),
    ("a: '" + "x" * MAX_BYTES + "'", "file-too-large"),
])
def test_hostile_documents_are_bounded(text: str, code: str) -> None:
    """Stopped by a count (depth, values, bytes); benchmarks/hostile_inputs.py times them."""
    doc, problems = load(text)
    assert doc is None
    assert [problem.code for problem in problems] == [code]


@pytest.mark.parametrize("composer", PARSERS)
@pytest.mark.parametrize("text", [
    "a: " + "[" * 100_000,  # flow: libyaml scans ahead and hits its own limit first
    "a: " + "{b: " * 5_000,
    "a:\n" + "".join("  " * level + "-\n" for level in range(200)),  # block: netspec's bound
], ids=["flow-sequences", "flow-mappings", "block-sequences"])
def test_too_deep_is_one_diagnostic_whichever_parser(composer, text: str) -> None:
    doc, problems = load_yaml(text, "spec.yaml", composer)
    assert doc is None
    assert [problem.code for problem in problems] == ["yaml-too-deep"]
    assert problems[0].span is not None and problems[0].span.line >= 1
    assert problems[0].hint == "flatten the structure"
    assert f"deeper than {MAX_DEPTH} levels" in problems[0].message


@pytest.mark.parametrize("composer", PARSERS)
def test_nesting_up_to_the_limit_is_fine(composer) -> None:
    depth = MAX_DEPTH - 2
    doc, problems = load_yaml("a: " + "[" * depth + "]" * depth + "\n", "spec.yaml", composer)
    assert problems == [] and doc is not None


def test_hostile_lines_are_not_quoted_in_full() -> None:
    _, problems = load("a: [" + "1," * 200_000 + "1]")
    assert problems[0].span.snippet is None  # a 400 kB line is not echoed to the terminal


def test_empty_document_has_no_data() -> None:
    doc, problems = load("# nothing but a comment\n")
    assert doc.data is None and problems == []
