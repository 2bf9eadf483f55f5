"""Resolution to the IR: every construct expanded into the expected nodes, names, attrs and spans,
and every resolution error (plus the earlier stages' errors, as golden files) at its position."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from netspec.diagnostics import render
from netspec.ir import (
    Activation,
    ActivationAttrs,
    AddAttrs,
    BatchNormAttrs,
    ConcatAttrs,
    ConvAttrs,
    DenseAttrs,
    DepthwiseConvAttrs,
    DropoutAttrs,
    FlattenAttrs,
    GlobalPoolAttrs,
    Graph,
    InputAttrs,
    LayerNormAttrs,
    LRNAttrs,
    MultiplyAttrs,
    PoolAttrs,
    SeparableConvAttrs,
    ZeroPadAttrs,
)
from netspec.pipeline import resolve_text

GOLDEN = Path(__file__).parent / "golden" / "diagnostics"


def resolve(text: str, path: str = "net.yaml") -> Graph:
    graph, problems = resolve_text(textwrap.dedent(text), path)
    assert not [problem for problem in problems if problem.is_error], render(problems)
    assert graph is not None
    return graph


def problems_of(text: str) -> str:
    graph, problems = resolve_text(textwrap.dedent(text), "net.yaml")
    assert graph is None
    return render(problems)


def model(text: str) -> Graph:
    """The resolved graph with its pending shortcuts settled, as inference leaves it: the model."""
    from netspec.infer.rules import infer

    return infer(resolve(text)).graph


def summary(graph: Graph) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(node.name, node.op, node.inputs) for node in graph.nodes]


def conv(filters, kernel, strides=None, padding="valid", dilation=None, **rest) -> ConvAttrs:
    rank = len(kernel)
    return ConvAttrs(filters, kernel, strides or (1,) * rank, padding, dilation or (1,) * rank, **rest)


# --- realistic specs -------------------------------------------------------------------------------

LENET = """\
    name: lenet5
    description: LeNet-5 for MNIST
    reference: LeCun et al. 1998
    input: [28, 28, 1]
    layers:
      - conv: {K: 6, F: 5, S: 1, P: 2, activation: relu}
      - pool: {F: 2, S: 2}
      - conv: {K: 16, F: 5, activation: relu}
      - pool: {F: 2}
      - flatten
      - dense: {units: 120, activation: relu}
      - dense: {units: 84, activation: relu}
      - dense: {units: 10}
      - softmax
    train:
      loss: cross_entropy
      optimizer: {name: sgd, lr: 0.01, momentum: 0.9}
      batch_size: 128
      epochs: 10
    """


def test_lenet() -> None:
    graph = resolve(LENET, "specs/lenet.yaml")
    relu = Activation("relu")
    assert graph.name == "lenet5" and graph.input_shape == (28, 28, 1)
    assert (graph.description, graph.reference, graph.source_path) == (
        "LeNet-5 for MNIST", "LeCun et al. 1998", "specs/lenet.yaml")
    assert graph.train.epochs == 10 and graph.train.optimizer.momentum == 0.9
    assert [(node.name, node.attrs) for node in graph.nodes] == [
        ("input", InputAttrs((28, 28, 1))),
        ("conv2d_1", conv(6, (5, 5), padding=((2, 2), (2, 2)), activation=relu)),
        ("max_pool2d_1", PoolAttrs("max", (2, 2), (2, 2), "valid")),
        ("conv2d_2", conv(16, (5, 5), activation=relu)),
        ("max_pool2d_2", PoolAttrs("max", (2, 2), (2, 2), "valid")),  # S defaults to F
        ("flatten_1", FlattenAttrs()),
        ("dense_1", DenseAttrs(120, activation=relu)),
        ("dense_2", DenseAttrs(84, activation=relu)),
        ("dense_3", DenseAttrs(10)),
        ("softmax_1", ActivationAttrs(Activation("softmax"))),
    ]
    assert [node.inputs for node in graph.nodes[1:]] == [(node.name,) for node in graph.nodes[:-1]]
    assert graph.output == "softmax_1"
    first = graph.nodes[1]
    assert (first.span.line, first.span.col, first.span.length) == (6, 5, 4)  # the word 'conv'
    assert first.span.snippet == "  - conv: {K: 6, F: 5, S: 1, P: 2, activation: relu}"


BOTTLENECK = """\
    name: resnet_tiny
    input: [32, 32, 64]
    blocks:
      bottleneck:
        params: {K: 64, S: 1}
        layers:
          - residual:
              body:
                - conv: {K: "${K}", F: 1, S: "${S}", bias: false}
                - batchnorm: {momentum: 0.9, epsilon: 1.0e-5}
                - relu
                - conv: {K: "${K}", F: 3, P: same, bias: false}
                - batchnorm: {momentum: 0.9, epsilon: 1.0e-5}
                - relu
                - conv: {K: "${4 * K}", F: 1, bias: false}
                - batchnorm: {momentum: 0.9, epsilon: 1.0e-5}
              shortcut: auto
              activation: relu
    layers:
      - bottleneck: {K: 16}
      - repeat: {times: 2, layers: [bottleneck: {K: 16}]}
      - bottleneck: {K: 32, S: 2, name: down}
      - global_pool
      - dense: 10
    """


def test_residual_bottleneck_template_with_repeat() -> None:
    graph = model(BOTTLENECK)
    names = [node.name for node in graph.nodes]
    first = [name for name in names if name.startswith("bottleneck_1/")]
    assert first == [
        "bottleneck_1/residual_1/conv2d_1", "bottleneck_1/residual_1/batchnorm_1", "bottleneck_1/residual_1/relu_1",
        "bottleneck_1/residual_1/conv2d_2", "bottleneck_1/residual_1/batchnorm_2", "bottleneck_1/residual_1/relu_2",
        "bottleneck_1/residual_1/conv2d_3", "bottleneck_1/residual_1/batchnorm_3",
        # 4 * 16 = 64 channels, as many as the input has: auto is the identity
        "bottleneck_1/residual_1/add_1", "bottleneck_1/residual_1/relu_3",
    ]
    add = graph.node("bottleneck_1/residual_1/add_1")
    assert add.inputs == ("bottleneck_1/residual_1/batchnorm_3", "input")
    # the repeat is one scope; its copies are numbered on
    assert "repeat_1/bottleneck_1/residual_1/add_1" in names and "repeat_1/bottleneck_2/residual_1/add_1" in names
    assert graph.node("repeat_1/bottleneck_2/residual_1/add_1").inputs[1] == "repeat_1/bottleneck_1/residual_1/relu_3"
    # the strided block needs a projection: 1x1/2 conv to 128 channels, no bias, then the body's batchnorm
    projection = graph.node("down/residual_1/shortcut/conv2d_1")
    assert projection.attrs == conv(128, (1, 1), strides=(2, 2), use_bias=False)
    assert projection.inputs == ("repeat_1/bottleneck_2/residual_1/relu_3",)
    norm = graph.node("down/residual_1/shortcut/batchnorm_1")
    assert norm.attrs == BatchNormAttrs(momentum=0.9, epsilon=1e-5)
    assert graph.node("down/residual_1/add_1").inputs == ("down/residual_1/batchnorm_3", norm.name)
    assert graph.node("down/residual_1/conv2d_1").attrs == conv(32, (1, 1), strides=(2, 2), use_bias=False)
    assert graph.node("down/residual_1/conv2d_3").attrs.filters == 128
    # scopes record the template instance, its parameters and where it was instantiated
    scope = graph.node("down/residual_1/conv2d_1").scope
    assert [(s.name, s.kind, s.template, s.params) for s in scope] == [
        ("down", "template", "bottleneck", (("K", 32), ("S", 2))), ("residual_1", "residual", None, ())]
    assert scope[0].span.line == 22
    assert graph.node("down/residual_1/conv2d_1").span.line == 9  # the template's own item
    assert graph.node("repeat_1/bottleneck_1/residual_1/conv2d_1").scope[0].kind == "repeat"
    assert graph.output == "dense_1" and names[-2:] == ["global_avg_pool_1", "dense_1"]


# --- canonical attrs --------------------------------------------------------------------------------

ATTRS = [
    ("[32, 32, 3]", "conv: {K: 8, F: 3}", conv(8, (3, 3))),
    ("[32, 32, 3]", "conv: {K: 8, F: [3, 5], S: [1, 2], P: same, D: 2, groups: 1, bias: false}",
     conv(8, (3, 5), strides=(1, 2), padding="same", dilation=(2, 2), use_bias=False)),
    ("[32, 32, 3]", "conv: {K: 8, F: 3, P: [1, 2]}", conv(8, (3, 3), padding=((1, 1), (2, 2)))),
    ("[32, 32, 3]", "conv: {K: 8, F: 3, P: [[0, 1], [2, 3]]}", conv(8, (3, 3), padding=((0, 1), (2, 3)))),
    ("[32, 32, 3]", "conv: {K: 8, F: 3, init: {kernel: he_normal, bias: ones}}",
     conv(8, (3, 3), kernel_init="he_normal", bias_init="ones")),
    ("[32, 32, 3]", "conv: {K: 8, F: 3, activation: linear}", conv(8, (3, 3))),
    ("[100, 4]", "conv: {K: 8, F: 3, P: causal, D: 4}", conv(8, (3,), padding="causal", dilation=(4,))),
    ("[8, 8, 8, 2]", "conv: {K: 4, F: 3, S: 2}", conv(4, (3, 3, 3), strides=(2, 2, 2))),
    ("[32, 32, 3]", "depthwise_conv: {F: 3, depth_multiplier: 2, P: same}",
     DepthwiseConvAttrs((3, 3), (1, 1), "same", (1, 1), depth_multiplier=2)),
    ("[32, 32, 3]", "separable_conv: {K: 16, F: 3}", SeparableConvAttrs(16, (3, 3), (1, 1), "valid", (1, 1))),
    ("[32, 32, 3]", "pool: {F: 3, S: 2, P: same, mode: avg}", PoolAttrs("avg", (3, 3), (2, 2), "same")),
    ("[32, 32, 3]", "pool: {F: [2, 3]}", PoolAttrs("max", (2, 3), (2, 3), "valid")),
    ("[32, 32, 3]", "global_pool: max", GlobalPoolAttrs("max")),
    ("[32, 32, 3]", "zero_pad: 2", ZeroPadAttrs(((2, 2), (2, 2)))),
    ("[32, 32, 3]", "zero_pad: [[0, 1], [1, 0]]", ZeroPadAttrs(((0, 1), (1, 0)))),
    ("[32, 32, 3]", "zero_pad: [1, 2]", ZeroPadAttrs(((1, 1), (2, 2)))),
    ("[32]", "dense: {units: 4, bias: false, activation: tanh, init: lecun_normal}",
     DenseAttrs(4, use_bias=False, activation=Activation("tanh"), kernel_init="lecun_normal")),
    ("[32]", "dropout: 0.5", DropoutAttrs(0.5)),
    ("[32, 32, 3]", "batchnorm", BatchNormAttrs()),
    ("[32, 32, 3]", "batchnorm: {momentum: 0.9, epsilon: 1.0e-5, scale: false}",
     BatchNormAttrs(momentum=0.9, epsilon=1e-5, scale=False)),
    ("[32, 32, 3]", "layernorm: {epsilon: 0.001}", LayerNormAttrs(epsilon=0.001)),
    ("[32, 32, 3]", "lrn: {size: 5, alpha: 0.0001, beta: 0.75, k: 1}", LRNAttrs(5, 0.0001, 0.75, 1.0)),
    ("[32]", "relu", ActivationAttrs(Activation("relu"))),
    ("[32]", "leaky_relu", ActivationAttrs(Activation("leaky_relu", 0.3))),
    ("[32]", "leaky_relu: 0.1", ActivationAttrs(Activation("leaky_relu", 0.1))),
    ("[32]", "elu", ActivationAttrs(Activation("elu", 1.0))),
    ("[32]", "activation: {elu: 0.5}", ActivationAttrs(Activation("elu", 0.5))),
    ("[32]", "activation: gelu", ActivationAttrs(Activation("gelu"))),
]


@pytest.mark.parametrize(("shape", "item", "attrs"), ATTRS, ids=[item for _, item, _ in ATTRS])
def test_canonical_attrs(shape: str, item: str, attrs) -> None:
    graph = resolve(f"input: {shape}\nlayers:\n  - {item}\n")
    assert graph.nodes[1].attrs == attrs


def test_network_init_is_the_default_for_every_layer() -> None:
    graph = resolve("""\
        input: [8, 8, 3]
        init: {kernel: he_normal}
        layers:
          - conv: {K: 4, F: 3}
          - conv: {K: 4, F: 3, init: {bias: ones}}
          - flatten
          - dense: 2
        """)
    assert [(node.attrs.kernel_init, node.attrs.bias_init) for node in graph.nodes[1:] if node.op != "flatten"] == [
        ("he_normal", "zeros"), ("he_normal", "ones"), ("he_normal", "zeros")]


@pytest.mark.parametrize(("shape", "item", "name"), [
    ("[100, 4]", "conv: {K: 2, F: 3}", "conv1d_1"),
    ("[8, 8, 3]", "conv: {K: 2, F: 3}", "conv2d_1"),
    ("[8, 8, 8, 3]", "conv: {K: 2, F: 3}", "conv3d_1"),
    ("[8, 8, 3]", "pool: {F: 2, mode: avg}", "avg_pool2d_1"),
    ("[8, 8, 3]", "global_pool", "global_avg_pool_1"),
    ("[8, 8, 3]", "zero_pad: 1", "zero_pad2d_1"),
    ("[8, 8, 3]", "depthwise_conv: {F: 3}", "depthwise_conv2d_1"),
    ("[8]", "leaky_relu", "leaky_relu_1"),
    ("[8]", "activation: tanh", "tanh_1"),
    ("[8]", "dense: {units: 3, name: logits}", "logits"),
])
def test_automatic_names(shape: str, item: str, name: str) -> None:
    assert resolve(f"input: {shape}\nlayers: [{item}]\n").nodes[1].name == name


# --- blocks ---------------------------------------------------------------------------------------------


def test_inception_branches_and_concat() -> None:
    graph = resolve("""\
        input: [28, 28, 192]
        layers:
          - inception:
              name: mixed
              branches:
                - [conv: {K: 64, F: 1}]
                - [conv: {K: 96, F: 1}, conv: {K: 128, F: 3, P: same}]
                - [pool: {F: 3, S: 1, P: same}, conv: {K: 32, F: 1}]
              pad: zero
          - relu
        """)
    assert summary(graph) == [
        ("input", "input", ()),
        ("mixed/branch_1/conv2d_1", "conv", ("input",)),
        ("mixed/branch_2/conv2d_1", "conv", ("input",)),
        ("mixed/branch_2/conv2d_2", "conv", ("mixed/branch_2/conv2d_1",)),
        ("mixed/branch_3/max_pool2d_1", "pool", ("input",)),
        ("mixed/branch_3/conv2d_1", "conv", ("mixed/branch_3/max_pool2d_1",)),
        ("mixed/concat_1", "concat", ("mixed/branch_1/conv2d_1", "mixed/branch_2/conv2d_2",
                                      "mixed/branch_3/conv2d_1")),
        ("relu_1", "activation", ("mixed/concat_1",)),
    ]
    assert graph.node("mixed/concat_1").attrs == ConcatAttrs(pad="zero")
    assert [scope.kind for scope in graph.node("mixed/branch_2/conv2d_2").scope] == ["inception", "branch"]


@pytest.mark.parametrize(("shortcut", "expected"), [
    ("auto", ("residual_1/conv2d_2", "input")),  # same shape: identity
    ("identity", ("residual_1/conv2d_2", "input")),
    ("projection", ("residual_1/conv2d_2", "residual_1/shortcut/conv2d_1")),
    ("[conv: {K: 8, F: 1}, batchnorm]", ("residual_1/conv2d_2", "residual_1/shortcut/batchnorm_1")),
])
def test_residual_shortcuts(shortcut: str, expected: tuple[str, str]) -> None:
    graph = model(f"""\
        input: [16, 16, 8]
        layers:
          - residual:
              body: [conv: {{K: 8, F: 3, P: same}}, relu, conv: {{K: 8, F: 3, P: same}}]
              shortcut: {shortcut}
        """)
    add = graph.nodes[-1]
    assert (add.name, add.op, add.inputs) == ("residual_1/add_1", "add", expected)
    if shortcut == "projection":
        assert graph.node("residual_1/shortcut/conv2d_1").attrs == conv(8, (1, 1))


def test_auto_shortcut_projects_with_the_body_stride_and_channels() -> None:
    graph = model("""\
        input: [15, 15, 8]
        layers:
          - residual:
              body: [conv: {K: 16, F: 3, S: 2, P: same}, pool: {F: 2, S: [1, 2], P: same}]
              activation: relu
        """)
    assert summary(graph)[-4:] == [
        ("residual_1/max_pool2d_1", "pool", ("residual_1/conv2d_1",)),
        ("residual_1/shortcut/conv2d_1", "conv", ("input",)),
        ("residual_1/add_1", "add", ("residual_1/max_pool2d_1", "residual_1/shortcut/conv2d_1")),
        ("residual_1/relu_1", "activation", ("residual_1/add_1",)),
    ]
    assert graph.node("residual_1/shortcut/conv2d_1").attrs == conv(16, (1, 1), strides=(2, 4))


def test_auto_shortcut_falls_back_to_identity_when_shapes_are_unknown() -> None:
    """A body that cannot be shaped (F=9 on 4x4) is infer's error to report, at the conv."""
    graph = model("input: [4, 4, 8]\nlayers:\n  - residual: {body: [conv: {K: 8, F: 9}]}\n")
    assert graph.nodes[-1].inputs == ("residual_1/conv2d_1", "input")


def test_resolution_leaves_auto_shortcuts_to_inference() -> None:
    """Resolution knows no shapes: the add takes (body, input) and the projection waits in the
    graph's meta until infer, which has the shapes, inserts it (16 -> 32 channels here)."""
    from netspec.infer.rules import infer
    from netspec.ir import SHORTCUTS

    text = "input: [8, 8, 16]\nlayers:\n  - residual: {body: [conv: {K: 32, F: 3, P: same}, batchnorm]}\n"
    resolved = resolve(text)
    assert resolved.nodes[-1].inputs == ("residual_1/batchnorm_1", "input")
    (pending,) = resolved.meta[SHORTCUTS].values()
    assert [node.name for node in pending.projection] == ["residual_1/shortcut/conv2d_1",
                                                          "residual_1/shortcut/batchnorm_1"]
    settled = infer(resolved)
    assert settled.graph.nodes[-1].inputs == ("residual_1/batchnorm_1", "residual_1/shortcut/batchnorm_1")
    assert settled.graph.node("residual_1/shortcut/conv2d_1").attrs.filters == 32
    assert SHORTCUTS not in settled.graph.meta and not settled.errors
    assert infer(settled.graph).graph.nodes == settled.graph.nodes  # settling twice changes nothing


def test_causal_block() -> None:
    graph = model("""\
        input: [64, 1]
        layers:
          - causal: {K: 32, F: 2, dilations: [1, 2, 4, 8], activation: relu}
          - causal: {K: 16, F: 3, dilations: [1, 2], batchnorm: true, residual: true, bias: false, activation: relu}
        """)
    relu = Activation("relu")
    assert [(node.name, node.attrs) for node in graph.nodes[1:5]] == [
        (f"causal_1/conv1d_{index + 1}", conv(32, (2,), padding="causal", dilation=(rate,), activation=relu))
        for index, rate in enumerate((1, 2, 4, 8))]
    assert summary(graph)[5:] == [
        ("causal_2/conv1d_1", "conv", ("causal_1/conv1d_4",)),
        ("causal_2/batchnorm_1", "batchnorm", ("causal_2/conv1d_1",)),
        ("causal_2/relu_1", "activation", ("causal_2/batchnorm_1",)),
        ("causal_2/conv1d_2", "conv", ("causal_1/conv1d_4",)),  # 32 -> 16 channels: 1x1 projection
        ("causal_2/add_1", "add", ("causal_2/relu_1", "causal_2/conv1d_2")),
        ("causal_2/conv1d_3", "conv", ("causal_2/add_1",)),
        ("causal_2/batchnorm_2", "batchnorm", ("causal_2/conv1d_3",)),
        ("causal_2/relu_2", "activation", ("causal_2/batchnorm_2",)),
        ("causal_2/add_2", "add", ("causal_2/relu_2", "causal_2/add_1")),  # same channels: identity
    ]
    assert graph.node("causal_2/conv1d_3").attrs == conv(16, (3,), padding="causal", dilation=(2,), use_bias=False)
    assert graph.node("causal_2/conv1d_2").attrs == conv(16, (1,), use_bias=False)


def test_repeat_unrolls_in_one_scope() -> None:
    graph = resolve("input: [8]\nlayers:\n  - repeat: {times: 3, layers: [dense: 8, relu]}\n")
    assert [node.name for node in graph.nodes[1:]] == [
        "repeat_1/dense_1", "repeat_1/relu_1", "repeat_1/dense_2", "repeat_1/relu_2",
        "repeat_1/dense_3", "repeat_1/relu_3"]


# --- from: and names -----------------------------------------------------------------------------------


def test_from_references_and_merges() -> None:
    graph = resolve("""\
        input: [8, 8, 4]
        layers:
          - conv: {K: 4, F: 1, name: a}
          - conv: {K: 4, F: 1, name: b, from: input}
          - add: {from: [a, b]}
          - multiply: {from: [a, b], name: product}
          - concat: {from: [a, b, product]}
          - conv: {K: 4, F: 1, from: a}
          - concat: {from: [concat_1, conv2d_1, add_1], name: out}
        """)
    assert summary(graph)[1:] == [
        ("a", "conv", ("input",)), ("b", "conv", ("input",)), ("add_1", "add", ("a", "b")),
        ("product", "multiply", ("a", "b")), ("concat_1", "concat", ("a", "b", "product")),
        ("conv2d_1", "conv", ("a",)), ("out", "concat", ("concat_1", "conv2d_1", "add_1"))]
    assert isinstance(graph.node("add_1").attrs, AddAttrs) and isinstance(graph.node("product").attrs, MultiplyAttrs)
    assert graph.output == "out"


def test_references_inside_templates_resolve_within_the_instance_first() -> None:
    graph = resolve("""\
        input: [8, 8, 4]
        blocks:
          skip:
            params: {K: 4, i: 1}
            layers:
              - conv: {K: "${K}", F: 1, name: "entry${i}"}
              - conv: {K: "${K}", F: 3, P: same}
              - add: {from: ["entry${i}", stem]}
        layers:
          - conv: {K: 4, F: 1, name: entry1}
          - conv: {K: 4, F: 1, name: stem}
          - skip: {i: 1}
          - skip: {i: 1, name: second}
          - add: {from: [skip_1, second]}
        """)
    assert graph.node("skip_1/add_1").inputs == ("skip_1/entry1", "stem")
    assert graph.node("second/add_1").inputs == ("second/entry1", "stem")
    assert graph.node("add_1").inputs == ("skip_1/add_1", "second/add_1")  # a block's name is its output


def test_block_output_names_and_nested_paths() -> None:
    graph = resolve("""\
        input: [8, 8, 4]
        layers:
          - residual: {name: res, body: [conv: {K: 4, F: 3, P: same, name: inner}]}
          - conv: {K: 4, F: 1, from: res/inner}
          - conv: {K: 4, F: 1, from: res}
          - concat: {from: [conv2d_1, conv2d_2]}
        """)
    assert graph.nodes[-3].inputs == ("res/inner",) and graph.nodes[-2].inputs == ("res/add_1",)


def test_default_name_comes_from_the_file() -> None:
    assert resolve("input: [4]\nlayers: [relu]\n", "specs/my-net.v2.yaml").name == "my_net_v2"


# --- errors -------------------------------------------------------------------------------------------------


def test_errors_inside_template_instances_name_the_instance() -> None:
    rendered = problems_of("""\
        input: [8, 8, 4]
        blocks:
          block:
            params: {K: 4}
            layers: [conv: {K: "${K - 4}", F: 1}]
        layers:
          - block: {K: 8}
          - block: {K: 4, name: broken}
        """)
    assert rendered == (
        "net.yaml:5:27: error: K = ${K - 4} is 0 here, but must be a positive integer (at most 1,000,000)\n"
        " 5 |     layers: [conv: {K: \"${K - 4}\", F: 1}]\n"
        "   |                           ^^^^^\n"
        "  note: in broken (K=4) at net.yaml:8:5")


def test_arity_errors() -> None:
    rendered = problems_of("""\
        input: [8, 8, 4]
        layers:
          - conv: {K: 4, F: 1, name: a}
          - conv: {K: 4, F: 1, from: [input, a]}
          - residual: {body: [relu], from: [input, a]}
        """)
    assert "4:30: error: conv takes one input, but from: names 2" in rendered
    assert "5:36: error: residual takes one input, but from: names 2" in rendered


def test_output_must_name_one_layer() -> None:
    assert "output names one layer, but got 2" in problems_of("input: [4]\nlayers: [relu]\noutput: [a, b]\n")


GOLDEN_CASES = sorted(path.stem for path in GOLDEN.glob("*.yaml"))


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_diagnostics(case: str) -> None:
    """Each bad spec's rendered diagnostics, exactly (NETSPEC_UPDATE_GOLDEN=1 rewrites them)."""
    source = GOLDEN / f"{case}.yaml"
    graph, problems = resolve_text(source.read_text(), source.name)
    assert graph is None and problems
    rendered = render(problems) + "\n"
    expected = source.with_suffix(".txt")
    if os.environ.get("NETSPEC_UPDATE_GOLDEN"):
        expected.write_text(rendered)
    assert rendered == expected.read_text()


def test_golden_cases_cover_the_brief() -> None:
    assert {"yaml_syntax", "python_tag", "alias_bomb", "duplicate_keys", "unknown_names", "nonpositive_sizes",
            "bad_expressions", "expression_values", "template_misuse", "template_recursion", "from_references",
            "duplicate_names", "causal_on_images", "absurd_repeat", "node_limit", "conv_after_flatten"} <= set(
        GOLDEN_CASES)


def test_allow_acknowledges_a_warning_on_a_layer_or_every_layer_of_a_block():
    from netspec.infer.rules import infer

    text = """\
        name: allowed
        input: [9, 9, 1]
        layers:
          - conv: {K: 2, F: 2, S: 2, name: stem, allow: unseen-input}
          - residual:
              allow: [unseen-input]
              body: [conv: {K: 2, F: 1}]
          - conv: {K: 2, F: 3, S: 2, name: loud}
        """
    graph = resolve(text)
    allowed = {node.name: node.allow for node in graph.nodes}
    assert allowed["stem"] == {"unseen-input"} and allowed["residual_1/conv2d_1"] == {"unseen-input"}
    assert allowed["loud"] == frozenset()
    warnings = infer(graph).diagnostics
    assert [d.message.split(":")[0] for d in warnings] == ["conv 'loud'"]  # (4 - 3) % 2 == 1
    silent = resolve(text.replace("name: loud", "name: loud, allow: unseen-input"))
    assert not infer(silent).diagnostics
    # without the acknowledgement the stem warns too: (9 - 2) % 2 == 1
    assert len(infer(resolve(text.replace(", allow: unseen-input", ""))).diagnostics) == 2


def test_allow_takes_warning_codes_only():
    text = """\
        name: allowed
        input: [9, 9, 1]
        layers:
          - conv: {K: 2, F: 2, S: 2, allow: unseen-inptu}
          - conv: {K: 2, F: 2, allow: [window-too-large]}
        """
    problems = problems_of(text)
    assert "net.yaml:4:37: error: conv: allow must be a warning code (unseen-input, misaligned-merge, unused-layer), but got 'unseen-inptu'" in problems
    assert "did you mean 'unseen-input'?" in problems
    assert "but got 'window-too-large'" in problems and "errors cannot be allowed" in problems
