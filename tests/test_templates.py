"""Templates: typed parameters, the repeat index, a template's own input, the identity branch.

Every test builds a small spec from text and checks what netspec made of it
(the resolved nodes' attributes, shapes and parameter counts) or the exact
diagnostic a mistake gets.
"""

from __future__ import annotations

import textwrap

import pytest

from netspec.pipeline import check_text


def checked(text: str):
    return check_text(textwrap.dedent(text), "spec.yaml")


def clean(text: str):
    result = checked(text)
    assert result.errors == [], [f"{d.span}: {d.message}" for d in result.errors]
    return result


def only_error(text: str):
    result = checked(text)
    assert len(result.errors) == 1, [f"{d.span}: {d.message}" for d in result.errors]
    return result.errors[0]


def node(result, name: str):
    return next(n for n in result.graph.nodes if n.name == name)


# --- typed parameters -------------------------------------------------------------------------

TYPED = """\
    input: [16]
    blocks:
      fc:
        params: {units: 8, rate: 0.5, act: relu, use_bias: true}
        layers:
          - dense: {units: "${units}", activation: "${act}", bias: "${use_bias}", name: d}
          - dropout: {rate: "${rate}", name: drop}
    layers:
      - fc: {name: a}
      - fc: {units: 4, rate: 0.25, act: tanh, use_bias: false, name: b}
      - fc: {rate: 0, name: c}
    """


def test_parameters_may_be_numbers_booleans_and_strings():
    result = clean(TYPED)
    first, second, third = (node(result, f"{n}/d") for n in "abc")
    assert (first.attrs.activation.name, first.attrs.use_bias) == ("relu", True)
    assert (second.attrs.activation.name, second.attrs.use_bias) == ("tanh", False)
    assert node(result, "a/drop").attrs.rate == 0.5
    assert node(result, "b/drop").attrs.rate == 0.25
    assert node(result, "c/drop").attrs.rate == 0.0  # an integer may stand for a number
    layers = result.analysis.layers
    assert (layers["a/d"].params, layers["b/d"].params, layers["c/d"].params) == (16 * 8 + 8, 8 * 4, 4 * 8 + 8)


@pytest.mark.parametrize(("call", "message"), [
    ("fc: {rate: fast}", "parameter 'rate' of template 'fc' is number (its default is 0.5), but got 'fast'"),
    ("fc: {units: 2.5}", "parameter 'units' of template 'fc' is integer (its default is 8), but got 2.5"),
    ("fc: {use_bias: 1}", "parameter 'use_bias' of template 'fc' is boolean (its default is true), but got 1"),
    ("fc: {act: true}", "parameter 'act' of template 'fc' is string (its default is 'relu'), but got true"),
])
def test_arguments_must_have_their_parameters_type(call, message):
    error = only_error(TYPED.replace("- fc: {name: a}", f"- {call}"))
    assert error.message.endswith(message), error.message
    assert error.code == "param-type"


def test_a_computed_argument_is_type_checked_when_evaluated():
    error = only_error("""\
        input: [16]
        blocks:
          fc:
            params: {units: 8}
            layers: [dense: "${units}"]
          outer:
            params: {rate: 0.5}
            layers: [fc: {units: "${rate * 2}"}]
        layers: [outer]
        """)
    assert error.message == ("parameter 'units' of template 'fc' is integer (its default is 8), "
                             "but ${rate * 2} is 1.0 here")
    assert (error.span.line, error.span.col) == (8, 29)  # at the expression


@pytest.mark.parametrize(("value", "message"), [
    ('"${act}"', "activation = ${act} is 'relux' here: must be an activation name"),
    ('"${rate}"', "rate = ${rate} is 1.5 here: must be a number in [0, 1), but got 1.5"),
])
def test_a_parameter_must_fit_the_field_it_lands_in(value, message):
    field = "activation" if "act" in value else "rate"
    layer = "dense: {units: 3, activation: " + value + "}" if field == "activation" else "dropout: " + value
    error = only_error(f"""\
        input: [16]
        blocks:
          t:
            params: {{act: relux, rate: 1.5}}
            layers: [{layer}]
        layers: [t]
        """)
    assert error.message.startswith(message), error.message
    assert error.span.line == 5


def test_an_integer_field_rejects_a_number_or_a_string():
    error = only_error("""\
        input: [16]
        blocks:
          t:
            params: {units: 2.0}
            layers: [dense: "${units}"]
        layers: [t]
        """)
    assert error.message == "units = ${units} is a number (2.0) here, but must be a positive integer (at most 1,000,000)"


def test_parameter_defaults_may_not_be_lists_or_expressions():
    error = only_error("""\
        input: [16]
        blocks:
          t:
            params: {units: [1, 2]}
            layers: [dense: 3]
        layers: [t]
        """)
    assert "must be a default value (an integer, a number, true/false or a string)" in error.message


# --- the new operators ----------------------------------------------------------------------------


def test_power_min_max_and_comparisons_in_a_template():
    result = clean("""\
        input: [8, 8, 3]
        blocks:
          stage:
            params: {n: 0}
            layers:
              - conv: {K: "${min(2 ** (n + 3), 32)}", F: 3, P: same, bias: "${n == 0}", name: c}
              - conv: {K: "${max(n, 1) * 4}", F: 1, name: p}
        layers:
          - repeat: {times: 4, layers: [stage: {n: "${i}", name: "s${i}"}]}
        """)
    filters = [node(result, f"repeat_1/s{i}/c").attrs.filters for i in range(4)]
    assert filters == [8, 16, 32, 32]
    assert [node(result, f"repeat_1/s{i}/c").attrs.use_bias for i in range(4)] == [True, False, False, False]
    assert [node(result, f"repeat_1/s{i}/p").attrs.filters for i in range(4)] == [4, 4, 8, 12]


# --- the repeat index -------------------------------------------------------------------------------


def test_repeat_exposes_its_zero_based_index_as_i():
    """WaveNet's dilation stack in one line: dilations 1, 2, 4, ..., 128."""
    result = clean("""\
        input: [512, 1]
        layers:
          - repeat: {times: 8, layers: [conv: {K: 16, F: 2, P: causal, D: "${2 ** i}", name: "dilated_${i}"}]}
        """)
    dilations = [node(result, f"repeat_1/dilated_{i}").attrs.dilation for i in range(8)]
    assert dilations == [(2**i,) for i in range(8)]
    assert result.analysis.output.receptive_field == (1 + sum(2**i for i in range(8)),)


def test_nested_repeats_name_their_indices():
    result = clean("""\
        input: [64, 1]
        layers:
          - repeat:
              times: 2
              index: stack
              layers:
                - repeat: {times: 3, layers: [conv: {K: 4, F: 2, P: causal, D: "${2 ** i}",
                                                     name: "s${stack}_d${i}"}]}
        """)
    names = [n.name for n in result.graph.nodes if n.op == "conv"]
    assert [name.rsplit("/", 1)[-1] for name in names] == ["s0_d0", "s0_d1", "s0_d2", "s1_d0", "s1_d1", "s1_d2"]
    assert [n.attrs.dilation for n in result.graph.nodes if n.op == "conv"] == [(1,), (2,), (4,)] * 2


def test_the_index_is_unknown_outside_its_repeat():
    error = only_error("""\
        input: [8]
        layers:
          - repeat: {times: 2, layers: [dense: 4]}
          - dense: "${i + 1}"
        """)
    assert error.message.startswith("'i' is not defined here")
    assert (error.span.line, error.span.col) == (4, 15)


# --- a template's own input --------------------------------------------------------------------------

SKIP = """\
    input: [784]
    blocks:
      block:
        params: {units: 50}
        layers:
          - dense: {units: "${units}", activation: relu}
          - dense: {units: "${units}", from: FROM, name: side}
          - add: {from: [dense_1, side]}
    layers:
      - dense: 50
      - block: {name: b}
    """


def test_in_names_the_templates_own_input():
    result = clean(SKIP.replace("FROM", "in"))
    side = node(result, "b/side")
    assert side.inputs == ("dense_1",)  # the block's input, not the network's
    assert result.analysis.layers["b/side"].params == 50 * 50 + 50


def test_from_input_inside_a_template_is_an_error_pointing_at_it():
    error = only_error(SKIP.replace("FROM", "input"))
    assert error.code == "template-input"
    assert error.message == ("from: input inside template 'block' would take the network's input, "
                             "not the template's")
    assert error.hint == "the template's own input is 'in': from: in"
    assert (error.span.line, error.span.col) == (7, 42)  # at 'input'


def test_in_is_not_defined_outside_a_template():
    error = only_error("input: [4]\nlayers:\n  - dense: {units: 3, from: in}\n")
    assert error.message == "from: no layer is named 'in'"


# --- the identity branch ---------------------------------------------------------------------------------


def test_an_empty_branch_is_the_identity():
    """DenseNet's concat([x, f(x)]) without a dummy layer."""
    result = clean("""\
        input: [8, 8, 16]
        layers:
          - conv: {K: 16, F: 1, name: stem}
          - inception: {branches: [[], [conv: {K: 32, F: 3, P: same}]], name: dense_block}
        """)
    concat = node(result, "dense_block/concat_1")
    assert concat.inputs == ("stem", "dense_block/branch_2/conv2d_1")
    assert result.analysis.output.output_shape == (8, 8, 48)
    assert [n.name for n in result.graph.nodes] == ["input", "stem", "dense_block/branch_2/conv2d_1",
                                                   "dense_block/concat_1"]
