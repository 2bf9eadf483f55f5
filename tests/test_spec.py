"""The schema of the spec language: what it accepts, canonically, and every error it reports."""

from __future__ import annotations

import json
import textwrap

import pytest

from netspec.diagnostics import render
from netspec.ir import Activation
from netspec.spec.network import ITEM_KINDS, Spec, TemplateCall, spec_json_schema, validate
from netspec.spec.source import load_yaml
from netspec.spec.values import Expr, InitSpec, Interp


def check(text: str):
    doc, problems = load_yaml(textwrap.dedent(text), "spec.yaml")
    assert problems == []
    return validate(doc)


def valid(text: str) -> Spec:
    spec, problems = check(text)
    assert problems == [], render(problems)
    assert spec is not None
    return spec


def errors(text: str) -> str:
    spec, problems = check(text)
    assert spec is None
    return render(problems)


def args_of(text: str, index: int = 0):
    item = valid("input: [32, 32, 3]\nlayers:\n  - " + text + "\n").layers[index]
    return item.args


# --- what is accepted ----------------------------------------------------------------------------


def test_every_layer_kind_validates() -> None:
    spec = valid("""\
        name: everything
        description: one of each
        reference: none
        input: [32, 32, 3]
        init: {kernel: he_normal, bias: zeros}
        layers:
          - conv: {K: 8, F: 3, S: 1, P: same, D: 1, groups: 1, bias: false, activation: relu, init: he_uniform}
          - depthwise_conv: {F: 3, depth_multiplier: 2}
          - separable_conv: {K: 16, F: [3, 3], P: [1, 1]}
          - pool: {F: 2, mode: avg}
          - zero_pad: [[0, 1], [1, 0]]
          - batchnorm: {momentum: 0.9, epsilon: 1.0e-5, center: true, scale: false}
          - layernorm
          - lrn: {size: 5, alpha: 0.0001, beta: 0.75, k: 2}
          - relu
          - leaky_relu: 0.1
          - elu: {alpha: 0.5}
          - gelu
          - sigmoid
          - tanh
          - swish
          - activation: {leaky_relu: {alpha: 0.2}, name: act}
          - {conv: {K: 8, F: 1, name: a}}
          - conv: {K: 8, F: 1, name: b, from: act}
          - add: {from: [a, b]}
          - multiply: {from: [a, b]}
          - concat: {from: [a, b], pad: zero}
          - inception: {branches: [[conv: {K: 4, F: 1}], [pool: {F: 3, S: 1, P: same}]], pad: error}
          - residual: {body: [conv: {K: 16, F: 3, P: same}], shortcut: auto, activation: relu}
          - residual: {body: [relu], shortcut: [conv: {K: 16, F: 1}]}
          - repeat: {times: 2, layers: [relu]}
          - global_pool: max
          - flatten
          - dropout: 0.5
          - dense: {units: 10, activation: softmax}
          - softmax
        output: act
        """)
    kinds = [item.KIND for item in spec.layers]
    assert kinds == ["conv", "depthwise_conv", "separable_conv", "pool", "zero_pad", "batchnorm", "layernorm",
                     "lrn", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "swish", "activation",
                     "conv", "conv", "add", "multiply", "concat", "inception", "residual", "residual",
                     "repeat", "global_pool", "flatten", "dropout", "dense", "softmax"]
    assert spec.init == InitSpec("he_normal", "zeros")
    assert spec.output == ("act",)
    assert spec.layers[15].args.function == Activation("leaky_relu", 0.2)
    assert spec.layers[4].args.P == ((0, 1), (1, 0))
    assert spec.layers[23].args.shortcut[0].KIND == "conv"


@pytest.mark.parametrize(("item", "field", "value"), [
    ("conv: {filters: 6, kernel_size: 5, strides: 2, padding: same, dilation: 1}", "K", 6),
    ("conv: {filters: 6, kernel_size: 5, strides: 2, padding: same}", "F", 5),
    ("conv: {filters: 6, kernel_size: 5, strides: 2, padding: same}", "S", 2),
    ("conv: {filters: 6, kernel_size: 5, strides: 2, padding: same}", "P", "same"),
    ("conv: {K: 6, F: [3, 5]}", "F", (3, 5)),
    ("conv: {K: 6, F: 3, P: [[1, 2], [0, 0]]}", "P", ((1, 2), (0, 0))),
    ("conv: {K: 6, F: 3, activation: {leaky_relu: 0.1}}", "activation", Activation("leaky_relu", 0.1)),
    ("conv: {K: 6, F: 3, activation: elu}", "activation", Activation("elu", 1.0)),
    ("conv: {K: 6, F: 3, init: glorot_normal}", "init", InitSpec("glorot_normal", None)),
    ("conv: {K: 6, F: 3}", "S", None),  # unset: resolve takes the IR default
    ("pool: {pool_size: 3}", "F", 3),
    ("dropout: 0.25", "rate", 0.25),
    ("dense: 10", "units", 10),
    ("global_pool: max", "mode", "max"),
    ("global_pool", "mode", None),
    ("zero_pad: 2", "P", 2),
    ("leaky_relu: 0.1", "alpha", 0.1),
    ("lrn: {k: 1.0}", "bias", 1.0),
    ("activation: relu", "function", Activation("relu")),
    ("batchnorm:", "momentum", None),
    ("relu: {name: r1}", "name", "r1"),
    ("conv: {K: 6, F: 3, from: input}", "from_", ("input",)),
    ("add: {from: [a, b]}", "from_", ("a", "b")),
])
def test_canonical_forms(item: str, field: str, value) -> None:
    assert getattr(args_of(item), field) == value


def test_expressions_become_bounded_values() -> None:
    spec = valid("""\
        input: [32, 32, 3]
        blocks:
          block:
            params: {K: 64, i: 1}
            layers:
              - conv: {K: "${4 * K}", F: 1, name: "conv${i}"}
              - repeat: {times: "${i + 1}", layers: [relu]}
        layers:
          - block: {K: 32, name: first}
          - block
        """)
    conv = spec.blocks["block"].layers[0].args
    assert isinstance(conv.K, Expr) and conv.K.text == "4 * K"
    assert (conv.K.minimum, conv.K.maximum) == (1, 1_000_000)
    assert (conv.K.span.line, conv.K.span.col) == (6, 22)  # inside the quotes and braces
    assert isinstance(conv.name, Interp) and str(conv.name) == "conv${i}"
    assert spec.blocks["block"].layers[1].args.times.maximum == 1000
    call = spec.layers[0]
    assert isinstance(call, TemplateCall)
    assert (call.template, call.arguments, call.name) == ("block", {"K": 32}, "first")
    assert spec.layers[1].arguments == {}


def test_constant_expressions_are_allowed_outside_templates() -> None:
    spec = valid("input: [8, 1]\nlayers:\n  - dense: {units: '${2 * 8}'}\n")
    assert spec.layers[0].args.units.text == "2 * 8"


def test_train_section_uses_the_train_spec_model() -> None:
    spec = valid("input: [4]\nlayers: [dense: 2]\ntrain: {optimizer: adam, epochs: 3}\n")
    assert spec.train.epochs == 3 and spec.train.optimizer.name == "adam"


# --- errors: exact positions, messages and hints -------------------------------------------------------

BAD = {
    "unknown layer and key": ("""\
        input: [28, 28, 1]
        layers:
          - cnov: {K: 6, F: 5}
          - conv: {filtres: 6, F: 5}
        """, """\
spec.yaml:3:5: error: unknown layer 'cnov'
 3 |   - cnov: {K: 6, F: 5}
   |     ^^^^
  hint: did you mean 'conv'?
spec.yaml:4:12: error: unknown key 'filtres' in conv
 4 |   - conv: {filtres: 6, F: 5}
   |            ^^^^^^^
  hint: did you mean 'filters'?"""),
    "zero and negative sizes": ("""\
        input: [28, 28, 0]
        layers:
          - conv: {K: 0, F: [3, -1], S: 0}
          - dense: {units: -3}
          - repeat: {times: 0, layers: [relu]}
          - repeat: {times: 5000, layers: [relu]}
          - dropout: 1.0
        """, """\
spec.yaml:1:17: error: entry 3 of input must be a positive integer, but got 0
 1 | input: [28, 28, 0]
   |                 ^
spec.yaml:3:15: error: conv: K must be a positive integer (at most 1,000,000), but got 0
 3 |   - conv: {K: 0, F: [3, -1], S: 0}
   |               ^
spec.yaml:3:25: error: conv: entry 2 of F must be a positive integer (at most 1,000,000), but got -1
 3 |   - conv: {K: 0, F: [3, -1], S: 0}
   |                         ^^
spec.yaml:3:33: error: conv: S must be a positive integer (at most 1,000,000), but got 0
 3 |   - conv: {K: 0, F: [3, -1], S: 0}
   |                                 ^
spec.yaml:4:20: error: dense: units must be a positive integer (at most 1,000,000), but got -3
 4 |   - dense: {units: -3}
   |                    ^^
spec.yaml:5:21: error: repeat: times must be a positive integer (at most 1000), but got 0
 5 |   - repeat: {times: 0, layers: [relu]}
   |                     ^
spec.yaml:6:21: error: repeat: times must be a positive integer (at most 1000), but got 5000
 6 |   - repeat: {times: 5000, layers: [relu]}
   |                     ^^^^
spec.yaml:7:14: error: dropout: rate must be a number in [0, 1), but got 1.0
 7 |   - dropout: 1.0
   |              ^^^"""),
    "values of the wrong kind": ("""\
        input: [28, 28, 1]
        layers:
          - conv: {K: 6, F: 5, P: smae, bias: no, activation: rleu}
          - pool: {F: 2, mode: mx}
          - conv: {K: 6.0, F: 3, init: he_normall}
        """, """\
spec.yaml:3:27: error: conv: P must be valid, same, causal, an integer, a per-axis list or a list of [low, high] pairs, but got 'smae'
 3 |   - conv: {K: 6, F: 5, P: smae, bias: no, activation: rleu}
   |                           ^^^^
  hint: did you mean 'same'?
spec.yaml:3:39: error: conv: bias must be true or false, but got 'no'
 3 |   - conv: {K: 6, F: 5, P: smae, bias: no, activation: rleu}
   |                                       ^^
  hint: write true or false: netspec reads yes/no/on/off as text, not booleans
spec.yaml:3:55: error: conv: activation must be an activation name (relu, leaky_relu, elu, gelu, sigmoid, tanh, swish, softmax, linear, relu6, hard_sigmoid, hard_swish, softplus, softsign, selu, exponential, mish) or one with arguments, such as {relu: {max_value: 6}}, but got 'rleu'
 3 |   - conv: {K: 6, F: 5, P: smae, bias: no, activation: rleu}
   |                                                       ^^^^
  hint: did you mean 'relu'?
spec.yaml:4:24: error: pool: mode must be one of max, avg, but got 'mx'
 4 |   - pool: {F: 2, mode: mx}
   |                        ^^
  hint: did you mean 'max'?
spec.yaml:5:15: error: conv: K must be a positive integer (at most 1,000,000), but got 6.0
 5 |   - conv: {K: 6.0, F: 3, init: he_normall}
   |               ^^^
  hint: write 6 without the decimal point
spec.yaml:5:32: error: conv: init must be an initializer (glorot_uniform, glorot_normal, he_normal, he_uniform, lecun_normal, lecun_uniform, zeros, ones, normal, uniform, truncated_normal, orthogonal, or {constant: value}), but got 'he_normall'
 5 |   - conv: {K: 6.0, F: 3, init: he_normall}
   |                                ^^^^^^^^^^
  hint: did you mean 'he_normal'?"""),
    "item shapes": ("""\
        input: [28, 28, 1]
        layers:
          - conv:
            K: 6
            F: 5
          - 5
          - conv
          - {conv: {K: 6, F: 3}, name: c}
          - conv: {K: 6, filters: 8, F: 3}
          - dropout: {rate: 0.5, name: a/b}
        """, """\
spec.yaml:3:5: error: an item has one key, the layer kind, but this one has 3: conv, K, F
 3 |   - conv:
   |     ^^^^
  hint: indent K, F further than conv, so they are its arguments (or write conv: {...} on one line)
spec.yaml:6:5: error: an item must be a layer name or a one-key mapping such as conv: {K: 64, F: 3}, but got 5
 6 |   - 5
   |     ^
spec.yaml:7:5: error: conv needs K and F
 7 |   - conv
   |     ^^^^
  hint: add K: ... (number of filters (output depth); alias filters); F: ... (kernel size: an integer or one per spatial axis; aliases size, kernel_size)
spec.yaml:8:5: error: an item has one key, the layer kind, but this one has 2: conv, name
 8 |   - {conv: {K: 6, F: 3}, name: c}
   |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  hint: name: and from: go inside the layer's arguments: conv: {K: 64, F: 3, name: conv1}
spec.yaml:9:18: error: K and filters are the same argument of conv
 9 |   - conv: {K: 6, filters: 8, F: 3}
   |                  ^^^^^^^
  hint: give only one of them
spec.yaml:10:32: error: dropout: name must be a name (a letter or '_', then letters, digits, '_', '-' or '.'), but got 'a/b'
 10 |   - dropout: {rate: 0.5, name: a/b}
    |                                ^^^
  hint: '/' separates scopes in layer names and cannot be used"""),
    "bad expressions": ("""\
        input: [28, 28, 1]
        blocks:
          block:
            params: {K: 8}
            layers:
              - conv: {K: "${__import__('os')}", F: 3}
              - conv: {K: "${Kk * 2}", F: "${K ^ 2}"}
              - dense: {units: "${K / 2}", bias: "is${K}"}
              - conv: {K: 8, F: "3${K}"}
        layers:
          - conv: {K: "${K}", F: 3}
        """, """\
spec.yaml:6:22: error: bad ${...} expression: function calls are not allowed in ${...}, but got __import__(...)
 6 |       - conv: {K: "${__import__('os')}", F: 3}
   |                      ^^^^^^^^^^
  hint: the only functions are min, max, filters, repeats and letter
spec.yaml:7:22: error: unknown parameter 'Kk' in ${Kk * 2}
 7 |       - conv: {K: "${Kk * 2}", F: "${K ^ 2}"}
   |                      ^^
  hint: did you mean 'K'?
spec.yaml:7:40: error: bad ${...} expression: unexpected character '^' in ${...}
 7 |       - conv: {K: "${Kk * 2}", F: "${K ^ 2}"}
   |                                        ^
  hint: use only numbers, parameter names, + - * // % **, comparisons, min, max, filters, repeats, letter and ()
spec.yaml:8:29: error: bad ${...} expression: '/' is not integer division
 8 |       - dense: {units: "${K / 2}", bias: "is${K}"}
   |                             ^
  hint: use // (floor division) to keep sizes integral
spec.yaml:8:42: error: dense: bias must be true or false, but got 'is${K}'
 8 |       - dense: {units: "${K / 2}", bias: "is${K}"}
   |                                          ^^^^^^^^
  hint: a ${...} inside longer text is allowed in names only; make it the whole value
spec.yaml:9:25: error: conv: F must be a positive integer (at most 1,000,000), but got '3${K}'
 9 |       - conv: {K: 8, F: "3${K}"}
   |                         ^^^^^^^
spec.yaml:11:18: error: 'K' is not defined here: ${...} outside a template can only use numbers and the index of a repeat around it
 11 |   - conv: {K: "${K}", F: 3}
    |                  ^
  hint: parameters exist inside templates (blocks: name: {params: ..., layers: ...})"""),
    "template misuse": ("""\
        input: [28, 28, 1]
        blocks:
          conv: {layers: [relu]}
          block:
            params: {K: ~, name: 3}
            layers: [relu]
          other:
            params: {K: 8, S: 1}
            layers: [relu]
        layers:
          - other: {K: 64, Q: 3}
          - other: 5
          - other: {Kk: 3}
        """, """\
spec.yaml:3:3: error: template 'conv' would hide the built-in layer conv
 3 |   conv: {layers: [relu]}
   |   ^^^^
  hint: rename the template
spec.yaml:5:20: error: 'name' cannot be a parameter name
 5 |     params: {K: ~, name: 3}
   |                    ^^^^
  hint: use a letter or '_' then letters, digits or '_'; name and from are reserved
spec.yaml:11:20: error: template 'other' has no parameter 'Q'
 11 |   - other: {K: 64, Q: 3}
    |                    ^
  hint: its parameters are: K, S
spec.yaml:12:12: error: template 'other' takes a mapping of parameters such as {K: 64}, but got 5
 12 |   - other: 5
    |            ^
spec.yaml:13:13: error: template 'other' has no parameter 'Kk'
 13 |   - other: {Kk: 3}
    |             ^^
  hint: did you mean 'K'?"""),
    "top level": ("""\
        input: 28
        layer: [relu]
        train: {optimizer: {name: adm}, epoch: 3}
        """, """\
spec.yaml:1:8: error: input must be a list of 1 to 4 positive integers, e.g. [28, 28, 1] (channels last), but got 28
 1 | input: 28
   |        ^^
spec.yaml:2:1: error: unknown key 'layer' at the top level
 2 | layer: [relu]
   | ^^^^^
  hint: did you mean 'layers'?
spec.yaml:3:27: error: optimizer: name must be 'sgd', 'adam', 'adamw', 'rmsprop' or 'adagrad', but got 'adm'
 3 | train: {optimizer: {name: adm}, epoch: 3}
   |                           ^^^
  hint: did you mean 'adam'?
spec.yaml:3:33: error: unknown key 'epoch' in train
 3 | train: {optimizer: {name: adm}, epoch: 3}
   |                                 ^^^^^
  hint: did you mean 'epochs'?"""),
}


@pytest.mark.parametrize("case", list(BAD))
def test_schema_errors(case: str) -> None:
    text, expected = BAD[case]
    assert errors(text) == expected


def test_a_missing_required_key_is_reported_once_with_its_typo() -> None:
    rendered = errors("input: [4]\nlayers:\n  - dense: {unit: 3}\n")
    assert "unknown key 'unit' in dense" in rendered and "needs" not in rendered


@pytest.mark.parametrize(("text", "message"), [
    ("", "a spec is a mapping with input: and layers:, but this file is empty"),
    ("- conv\n", "a spec is a mapping with input: and layers:, but this file holds a list"),
    ("layers: [relu]\n", "the spec needs input"),
    ("input: [4]\nlayers: []\n", "layers must not be empty"),
])
def test_whole_file_errors(text: str, message: str) -> None:
    spec, problems = check(text)
    assert spec is None and [problem.message for problem in problems] == [message]


def test_all_errors_are_reported_in_one_run() -> None:
    lines = "\n".join(f"  - conv: {{K: 0, F: {index + 1}}}" for index in range(25))
    spec, problems = check(f"input: [28, 28, 1]\nlayers:\n{lines}\n")
    assert spec is None
    assert [problem.span.line for problem in problems] == list(range(3, 28))


# --- the JSON Schema ---------------------------------------------------------------------------------


def test_json_schema_describes_the_language() -> None:
    schema = spec_json_schema()
    json.dumps(schema)  # plain JSON
    assert set(schema["properties"]) == {"name", "description", "reference", "input", "layers", "blocks",
                                         "output", "init", "train", "budget", "scales", "preprocess", "base"}
    assert schema["required"] == ["input", "layers"]
    definitions = schema["$defs"]
    conv = definitions["ConvArgs"]
    assert {"K", "filters", "F", "size", "kernel_size", "S", "stride", "P", "padding", "from", "name"} <= set(
        conv["properties"])
    assert conv["required"] == ["K", "F"] and conv["additionalProperties"] is False
    item_options = schema["properties"]["layers"]["items"]["anyOf"]
    referenced = {option["$ref"].rsplit("/", 1)[-1] for option in item_options if "$ref" in option}
    assert len(referenced) == len(ITEM_KINDS) + 1  # every kind, plus template calls
    assert "relu" in item_options[0]["enum"] and "conv" not in item_options[0]["enum"]
    assert "Malformed" not in definitions


def test_json_schema_is_a_copy() -> None:
    spec_json_schema()["properties"].clear()
    assert "layers" in spec_json_schema()["properties"]


def test_linear_is_a_bare_word_activation_as_documented() -> None:
    from netspec.pipeline import check_text

    result = check_text("input: [4]\nlayers: [dense: 3, linear, {linear: {name: out}}]\n", "net.yaml")
    assert result.errors == []
    assert [(n.op, n.attrs.activation.name) for n in result.graph.nodes[2:]] == [("activation", "linear")] * 2
    assert result.analysis.output.output_shape == (3,)


@pytest.mark.parametrize("kind", ["cropping", "lstm", "embedding"])
def test_layers_not_supported_yet_say_so_instead_of_a_near_miss(kind: str) -> None:
    rendered = errors(f"input: [4]\nlayers: [{kind}]\n")
    assert f"error: layer '{kind}' is not supported yet" in rendered
    assert "did you mean" not in rendered
