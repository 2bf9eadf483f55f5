"""No code from names: user text reaches the generated module only as checked
identifiers and escaped literals (issue 13, CE1/CE2 and "check passes, build crashes").

The property test hands the emitter arbitrary unicode names, template names,
parameter names, descriptions, references and file paths, bypassing the
schema, and requires that the module compiles, defines exactly the names it
should, and that its top level does nothing but import, define and assign
constants.
"""

from __future__ import annotations

import ast
import doctest
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netspec.emit import text as emit_text
from netspec.emit.layers import HELPERS, INITIALIZERS
from netspec.emit.program import emit_program
from netspec.emit.text import docstring_text, float_literal
from netspec.infer.rules import infer
from netspec.ir import (
    Activation,
    ActivationAttrs,
    BatchNormAttrs,
    DenseAttrs,
    FlattenAttrs,
    Graph,
    InputAttrs,
    Node,
    Scope,
)
from netspec.pipeline import check_text, load

TINY = "input: [4, 4, 1]\nlayers: [flatten, {dense: {units: 2}}]\n"
MODULE_CONSTANTS = {"INPUT_SHAPE", "OUTPUT_SHAPE"}


def test_doctests():
    assert doctest.testmod(emit_text).failed == 0


# --- the module's top level -------------------------------------------------------------------


def top_level_names(source: str) -> set[str]:
    """The names the module's top level binds; fails on any statement that is not an
    import, a definition or a constant assignment (so nothing runs at import)."""
    tree = ast.parse(source)
    names: set[str] = set()
    for index, statement in enumerate(tree.body):
        if isinstance(statement, ast.Expr):
            assert index == 0 and isinstance(statement.value, ast.Constant), ast.dump(statement)
        elif isinstance(statement, ast.Import):
            assert [alias.name for alias in statement.names] in (["itertools"], ["jax"], ["jax.numpy"])
            names |= {alias.asname or alias.name for alias in statement.names}
        elif isinstance(statement, ast.ImportFrom):
            assert statement.module == "flax" and [a.name for a in statement.names] == ["nnx"]
            names.add("nnx")
        elif isinstance(statement, (ast.ClassDef, ast.FunctionDef)):
            assert not statement.decorator_list
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            (target,) = statement.targets
            assert isinstance(target, ast.Name), ast.dump(statement)
            if target.id in MODULE_CONSTANTS:
                ast.literal_eval(statement.value)
            else:
                assert target.id in INITIALIZERS and ast.unparse(statement) == INITIALIZERS[target.id]
            names.add(target.id)
        else:
            pytest.fail(f"unexpected top-level statement: {ast.unparse(statement)}")
    return names


def assert_safe_program(program) -> dict:
    """Compile and run the module (it only defines things), compare the names it
    defines with the names it should define, and return its namespace."""
    names = top_level_names(program.source)
    classes = {name for name in names if name[0].isupper() and name not in MODULE_CONSTANTS}
    assert program.class_name in classes
    assert names - classes <= {"itertools", "jax", "jnp", "nnx", *MODULE_CONSTANTS, *INITIALIZERS, *HELPERS}
    namespace: dict = {"__name__": "netspec.generated.test"}
    exec(compile(program.source, "<test>", "exec"), namespace)  # the module's top level is checked above
    defined = {name for name in namespace if not name.startswith("__")}
    assert defined == names
    return namespace


def collapsed(text: str) -> str:
    return " ".join(text.split())


# --- arbitrary user text through the emitter --------------------------------------------------

# Names that once broke the emitter, mixed with anything hypothesis invents.
NASTY = ["None", "true", "false", "True", "SeparableConv", "glorot_uniform", "ones", "nnx", "jnp", "self",
         "x", "y", "rngs", "capture_Net", "INPUT_SHAPE", "float", "class", "__init__", "ﬁ", "fi", "a²",
         'x""";open("PWNED","w");"""y', "\\N{", "\x00", "\u2028", "\ud800", "'''"]
texts = st.one_of(st.sampled_from(NASTY), st.text(max_size=30))
local_names = st.one_of(st.sampled_from(NASTY), st.text(min_size=1, max_size=20)).filter(lambda s: "/" not in s)
finite_or_not = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([math.inf, -math.inf]))


def graph_of(network: str, template: str, parameter: str, first: str, second: str, description: str,
             path: str, epsilon: float, alpha: float) -> Graph:
    """input -> flatten -> 2 instances of a template (dense with ``parameter`` units) -> batchnorm."""
    nodes = [Node("input", "input", InputAttrs((2, 2, 1)), ()), Node(first, "flatten", FlattenAttrs(), ("input",))]
    previous = first
    for index, units in enumerate((3, 5), start=1):
        scope = Scope(f"{second}_{index}", "template", template=template, params=((parameter, units),))
        name = f"{scope.name}/{second}"
        nodes.append(Node(name, "dense", DenseAttrs(units, activation=Activation("leaky_relu", alpha)),
                          (previous,), scope=(scope,)))
        previous = name
    nodes.append(Node(f"{second}.bn", "batchnorm", BatchNormAttrs(epsilon=epsilon), (previous,)))
    nodes.append(Node(f"{first}-act", "activation", ActivationAttrs(Activation("elu", alpha)), (f"{second}.bn",)))
    return Graph(network, (2, 2, 1), tuple(nodes), f"{first}-act", source_path=path, description=description,
                 reference=description[::-1] or None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=texts, template=texts, parameter=local_names, first=local_names, second=local_names,
       description=texts, path=texts, epsilon=finite_or_not, alpha=finite_or_not)
def test_arbitrary_text_never_becomes_code(network, template, parameter, first, second, description, path,
                                           epsilon, alpha):
    pytest.importorskip("flax")
    if first == second or "/" in second:
        return
    graph = graph_of(network, template, parameter, first, second, description, path, epsilon, alpha)
    program = emit_program(graph, infer(graph))
    namespace = assert_safe_program(program)
    docstring = ast.get_docstring(ast.parse(program.source), clean=False)
    for text in (description, path):  # escaped, not lost: the text reads back from the docstring
        if text.strip() and text.isprintable():
            assert collapsed(text) in collapsed(docstring)
    network_class = namespace[program.class_name]
    assert network_class.__doc__ is not None


# --- the cases the hostile campaign found -----------------------------------------------------


def test_a_spec_file_name_cannot_inject_code(tmp_path, monkeypatch):
    """CE1: the path sits in the module docstring, escaped."""
    pytest.importorskip("flax")
    from netspec import build

    monkeypatch.chdir(tmp_path)
    spec = tmp_path / 'x""";open("PWNED","w").write("pwned");"""y.yaml'
    spec.write_text("name: tiny\n" + TINY)
    build(str(spec))
    assert not (tmp_path / "PWNED").exists()
    program = emit_program(load(str(spec)), load(str(spec)).meta["analysis"])
    assert_safe_program(program)
    assert str(spec) in ast.get_docstring(ast.parse(program.source))


def test_a_resumed_run_folder_name_cannot_inject_code(tmp_path, monkeypatch):
    """CE2: --resume reads RUN/spec.yaml, so the run folder is part of the path."""
    pytest.importorskip("flax")
    from netspec import build

    monkeypatch.chdir(tmp_path)
    run = tmp_path / 'r"""+__import__("os").mkdir("PWNED")+"""'
    run.mkdir()
    (run / "spec.yaml").write_text("name: tiny\n" + TINY)
    build(str(run / "spec.yaml"))
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("path", ["a\\b.yaml", "a\\N{x}.yaml", "a\\x.yaml", 'q"', "tab\tname.yaml"])
def test_backslashes_and_quotes_in_the_path_compile(tmp_path, path):
    pytest.importorskip("flax")
    from netspec import build

    spec = tmp_path / path
    spec.write_text("name: tiny\n" + TINY)
    assert build(str(spec)) is not None


@pytest.mark.parametrize("name", ["None", "true", "false", "True", "SeparableConv", "glorot_uniform", "nnx"])
def test_network_and_template_names_that_were_syntax_errors_build(name):
    pytest.importorskip("flax")
    from netspec import build

    text = f"""name: "{name}"
input: [6, 6, 2]
blocks:
  "{name}":
    params: {{K: 2}}
    layers: [separable_conv: {{K: "${{K}}", F: 3, P: same}}]
layers:
  - "{name}": {{K: 2}}
  - "{name}": {{K: 3}}
  - separable_conv: {{K: 2, F: 3}}
  - flatten
  - dense: {{units: 2}}
"""
    assert check_text(text).ok
    build(text)


@pytest.mark.parametrize("lowering", ["im2col", "im2col-grad", "shifts"])
@pytest.mark.parametrize("name", ["itertools", "conv_by_slices", "conv_im2col_grad", "conv_by_shifts", "conv_operands",
                                  "conv_geometry", "conv_shifted_slices", "conv_columns", "conv_lax", "conv_backward",
                                  "pool_by_slices"])
def test_names_of_the_lowering_helpers_stay_user_text_under_im2col(name, lowering):
    """The im2col lowerings add ``import itertools`` and their helpers to the module: a
    network, template, parameter or layer named like them still compiles, defines
    nothing else, and computes what the lax lowering computes."""
    pytest.importorskip("flax")
    import jax.numpy as jnp
    import numpy as np

    from netspec import build
    from netspec.emit.lowering import Lowering

    text = f"""name: {name}
input: [6, 6, 2]
blocks:
  {name}:
    params: {{{name}: 3}}
    layers: [conv: {{K: "${{{name}}}", F: 3, P: same, name: {name}}}, pool: {{F: 2}}]
layers:
  - {name}: {{{name}: 2}}
  - flatten
  - dense: {{units: 2}}
"""
    graph = load(text)
    assert_safe_program(emit_program(graph, infer(graph), Lowering(lowering, "cpu")))
    x = jnp.ones((1, 6, 6, 2))
    lax_model, lowered_model = build(graph, lowering="lax"), build(graph, lowering=lowering)
    np.testing.assert_allclose(np.asarray(lowered_model(x)), np.asarray(lax_model(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("parameter", ["glorot_uniform", "ones", "zeros", "he_normal", "uniform", "nnx", "rngs"])
def test_template_parameters_named_like_initializers_build(parameter):
    pytest.importorskip("flax")
    from netspec import build

    text = f"""name: t
input: [4, 4, 1]
blocks:
  unit:
    params: {{{parameter}: 2}}
    layers: [conv: {{K: "${{{parameter}}}", F: 1, init: glorot_uniform}}, batchnorm, relu]
layers:
  - unit: {{{parameter}: 2}}
  - unit: {{{parameter}: 3}}
  - flatten
  - dense: {{units: 2, init: {{kernel: ones, bias: uniform}}}}
"""
    assert check_text(text).ok
    build(text)


def test_a_nul_byte_in_the_description_compiles():
    pytest.importorskip("flax")
    from netspec import build

    text = 'name: t\ndescription: "a\\0b \\u2028 \\"\\"\\" end\\\\"\n' + TINY
    assert check_text(text).ok
    build(text)


@pytest.mark.parametrize("item", [
    "batchnorm: {epsilon: 1e999}", "layernorm: {epsilon: .inf}", "leaky_relu: {alpha: 1e999}",
    "elu: -.inf", "lrn: {alpha: .inf}", "lrn: {beta: 1e999}", "dropout: .nan",
])
def test_non_finite_numbers_are_rejected_by_the_schema(item):
    checked = check_text(f"name: t\ninput: [4, 4, 2]\nlayers: [{{{item}}}, flatten, {{dense: {{units: 2}}}}]\n")
    assert not checked.ok
    assert checked.errors[0].span is not None  # file:line, like every schema error


@pytest.mark.parametrize("bias", ["he_normal", "he_uniform", "glorot_uniform", "glorot_normal", "lecun_normal",
                                  "lecun_uniform", "orthogonal"])
def test_fan_based_initializers_are_refused_for_biases(bias):
    checked = check_text(f"name: t\ninput: [4]\nlayers: [dense: {{units: 2, init: {{bias: {bias}}}}}]\n")
    assert [d.code for d in checked.errors] == ["initializer"]
    assert "bias" in checked.errors[0].message


@pytest.mark.parametrize("bias", ["zeros", "ones", "normal", "uniform", "truncated_normal"])
def test_vector_initializers_build_as_biases(bias):
    pytest.importorskip("flax")
    from netspec import build

    build(f"name: t\ninput: [4]\nlayers: [dense: {{units: 2, init: {{bias: {bias}}}}}]\n")


# --- the escaping primitives ------------------------------------------------------------------


@given(st.text())
def test_docstring_text_reads_back_as_the_text(text):
    literal = '"""' + docstring_text(text) + '"""'
    expected = "".join(" " if c.isspace() and c != "\n" else c for c in text.strip())
    expected = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in expected)
    assert ast.literal_eval(literal) == expected


@given(st.floats(allow_nan=False))
def test_float_literals_evaluate_to_the_float(value):
    assert eval(float_literal(value), {"float": float}) == value  # noqa: S307 - our own literal


def test_identifiers_are_ascii_and_never_reserved():
    from netspec.emit.classes import camel_case, identifier

    for text in NASTY:
        for name in (identifier(text), camel_case(text)):
            assert name.isascii() and name.isidentifier()
            assert not emit_text.is_reserved(name, frozenset({*HELPERS, *INITIALIZERS}))


def test_a_graph_with_every_field_escaped_still_says_what_it_is():
    graph = graph_of("lenet", "unit", "K", "flat", "dense", 'He et al. "Deep" (2016)', "specs/lenet.yaml", 1e-3, 0.3)
    program = emit_program(graph, infer(graph))
    assert 'He et al. "Deep" (2016)' in program.source  # quotes in the middle stay readable
    assert "from specs/lenet.yaml." in program.source
