"""Static inference over hand-built IR graphs: shapes, counts, MACs, fields, diagnostics."""

from __future__ import annotations

import doctest

import pytest

import netspec.infer.rules
from netspec.diagnostics import Span
from netspec.infer.rules import RULES, ShapeError, concat_pads, infer, output_shape
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
    Node,
    PoolAttrs,
    Scope,
    SeparableConvAttrs,
    ZeroPadAttrs,
)
from netspec.ops import OPS

RELU = Activation("relu")


def conv(filters, size, stride=1, padding="valid", dilation=1, rank=2, **extra):
    def axes(value):
        return tuple(value) if isinstance(value, tuple) else (value,) * rank

    if isinstance(padding, int):
        padding = ((padding, padding),) * rank
    return "conv", ConvAttrs(filters, axes(size), axes(stride), padding, axes(dilation), **extra)


def pool(size, stride=None, padding="valid", mode="max", rank=2):
    return "pool", PoolAttrs(mode, (size,) * rank, (stride or size,) * rank, padding)


def dense(units, **extra):
    return "dense", DenseAttrs(units, **extra)


def act(name):
    return "activation", ActivationAttrs(Activation(name))


FLATTEN = "flatten", FlattenAttrs()
BATCHNORM = "batchnorm", BatchNormAttrs()


def span(line):
    return Span("net.yaml", line, 5, 4, f"  - item on line {line}")


class Builder:
    """Appends nodes; each takes the previous node unless ``inputs`` says otherwise."""

    def __init__(self, shape):
        self.nodes = [Node("input", "input", InputAttrs(shape), ())]

    def add(self, layer, name=None, inputs=None, scope=()):
        op, attrs = layer
        name = name or f"{op}_{len(self.nodes)}"
        self.nodes.append(Node(name, op, attrs, tuple(inputs or (self.nodes[-1].name,)),
                               span(len(self.nodes) + 1), tuple(scope)))
        return name

    def chain(self, *layers):
        for layer in layers:
            self.add(layer)
        return self

    def graph(self, output=None):
        return Graph("net", self.nodes[0].attrs.shape, tuple(self.nodes), output or self.nodes[-1].name)


def analyze(shape, *layers):
    return infer(Builder(shape).chain(*layers).graph())


def lenet():
    return analyze((28, 28, 1), conv(6, 5, padding=2, activation=RELU), pool(2), conv(16, 5, activation=RELU),
                   pool(2), FLATTEN, dense(120, activation=RELU), dense(84, activation=RELU), dense(10),
                   act("softmax"))


def vgg16(include_top=True):
    layers = []
    for filters, repeats in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]:
        layers += [conv(filters, 3, padding="same", activation=RELU)] * repeats + [pool(2)]
    if include_top:
        layers += [FLATTEN, dense(4096), dense(4096), dense(1000), act("softmax")]
    return analyze((224, 224, 3), *layers)


def test_every_op_has_a_rule():
    assert set(RULES) == set(OPS)


def test_doctests():
    failures, tried = doctest.testmod(netspec.infer.rules)
    assert tried >= 1 and failures == 0


# --- parameter counts ------------------------------------------------------------


def test_lenet5_counts_shapes_and_macs():
    analysis = lenet()
    assert not analysis.diagnostics
    assert analysis.total_params == 61_706 and analysis.non_trainable_params == 0
    shapes = [f.output_shape for f in analysis.layers.values()]
    assert shapes == [(28, 28, 1), (28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,), (120,), (84,),
                      (10,), (10,)]
    # 28·28·6·25·1, 10·10·16·25·6, 400·120, 120·84, 84·10
    assert [f.macs for f in analysis.layers.values() if f.macs] == [117_600, 240_000, 48_000, 10_080, 840]
    assert analysis.macs == 416_520


def test_conv_batchnorm_follows_keras():
    analysis = analyze((28, 28, 1), conv(32, 3, padding="same"), BATCHNORM, act("relu"))
    facts = analysis.layers["batchnorm_2"]
    assert (facts.params, facts.trainable_params, facts.non_trainable_params) == (128, 64, 64)
    assert analysis.layers["conv_1"].params == 320  # the lecture's cnn1: 3·3·1·32 + 32
    unscaled = analyze((4, 32), ("batchnorm", BatchNormAttrs(scale=False)))
    assert (unscaled.trainable_params, unscaled.non_trainable_params) == (32, 64)


def test_lecture_fully_connected_mnist_with_batchnorm():
    """Lecture 07_CNN_MNIST a): 420,260 total, 419,160 trainable, 1,100 non-trainable."""
    block = [BATCHNORM, ("dropout", DropoutAttrs(0.3)), act("relu")]
    analysis = analyze((784,), dense(500), *block, dense(50), *block, dense(10))
    assert (analysis.total_params, analysis.trainable_params, analysis.non_trainable_params) == (
        420_260, 419_160, 1_100)
    assert analysis.output.receptive_field == ()


def test_lecture_cifar_model():
    """machinelearningmastery CIFAR-10 model from the lecture: 4,210,090 parameters."""
    analysis = analyze((32, 32, 3), conv(32, 3, padding="same"), ("dropout", DropoutAttrs(0.2)),
                       conv(32, 3, padding="same"), pool(2), FLATTEN, dense(512), dense(10))
    assert [f.params for f in analysis.layers.values() if f.params] == [896, 9_248, 4_194_816, 5_130]
    assert analysis.total_params == 4_210_090


def test_vgg16_params_macs_and_receptive_field():
    analysis = vgg16()
    assert analysis.total_params == 138_357_544  # Keras Applications VGG16
    assert round(analysis.macs / 1e9, 2) == 15.47  # the widely quoted 15.5 GMACs
    # By hand: a 3×3 conv adds 2·jump, a 2×2/2 pool adds 1·jump and doubles it. block1 -> 5 (jump 1),
    # pool1 6 (2), block2 14, pool2 16 (4), block3 40, pool3 44 (8), block4 92, pool4 100 (16),
    # block5 (conv5_3) 196, pool5 212 -- 212 is VGG-16's field in Araujo et al., Distill 2019.
    convs = [f for f in analysis.layers.values() if f.op == "conv"]
    assert convs[-1].receptive_field == (196, 196) and convs[-1].jump == (16, 16)
    pools = [f for f in analysis.layers.values() if f.op == "pool"]
    assert pools[-1].receptive_field == (212, 212)


@pytest.mark.parametrize("layer, expected", [
    (conv(64, 3, groups=4), 64 * 9 * 32 // 4 + 64),
    (conv(64, 3, use_bias=False), 64 * 9 * 32),
    (("depthwise_conv", DepthwiseConvAttrs((3, 3), (1, 1), "same", (1, 1), use_bias=False)), 288),
    (("depthwise_conv", DepthwiseConvAttrs((3, 3), (1, 1), "same", (1, 1), depth_multiplier=2)), 9 * 64 + 64),
    # Keras SeparableConv2D(64, 3) on 32 channels: 3·3·32 + 32·64 + 64
    (("separable_conv", SeparableConvAttrs(64, (3, 3), (1, 1), "same", (1, 1))), 2_400),
    (dense(10), 32 * 10 + 10),  # acts on the last axis of (8, 8, 32)
    (("layernorm", LayerNormAttrs()), 64),
    (("layernorm", LayerNormAttrs(center=False)), 32),
    (("lrn", LRNAttrs()), 0),
    (pool(2), 0),
    (("global_pool", GlobalPoolAttrs()), 0),
])
def test_parameter_rules(layer, expected):
    facts = analyze((8, 8, 32), layer).layers[f"{layer[0]}_1"]
    assert facts.params == expected and facts.non_trainable_params == 0


def test_macs_of_grouped_separable_and_dense_on_positions():
    def macs(layer):
        return analyze((8, 8, 32), layer).macs

    assert macs(conv(64, 3, padding="same", groups=4)) == 8 * 8 * 64 * 9 * 8
    assert macs(("separable_conv", SeparableConvAttrs(64, (3, 3), (2, 2), "same", (1, 1)))) == 4 * 4 * 32 * (
        9 + 64)
    assert macs(("depthwise_conv", DepthwiseConvAttrs((3, 3), (1, 1), "valid", (1, 1)))) == 6 * 6 * 32 * 9
    assert macs(dense(10)) == 8 * 8 * 32 * 10


# --- receptive fields --------------------------------------------------------------


def test_causal_dilated_stack_sees_sixteen_steps():
    analysis = analyze((100, 8), *[conv(32, 2, padding="causal", dilation=d, rank=1) for d in (1, 2, 4, 8)])
    assert analysis.output.output_shape == (100, 32)
    assert analysis.output.receptive_field == (16,)  # 1 + (F-1)·(1+2+4+8)
    assert analysis.output.pads == ((8, 0),)


def test_flatten_and_global_pool_see_the_whole_span():
    assert lenet().layers["flatten_5"].receptive_field == (32, 32)  # 16 + (5-1)·4: the padded 32×32 input
    pooled = analyze((28, 28, 1), conv(8, 3), ("global_pool", GlobalPoolAttrs()), dense(2))
    assert pooled.output.receptive_field == (28, 28) and pooled.output.output_shape == (2,)


def test_merge_takes_the_widest_field():
    b = Builder((32, 32, 3))
    left = b.add(conv(8, 9, padding="same"))  # field 9, jump 1
    right = b.add(conv(8, 3, stride=2, padding="same"), inputs=["input"])
    right = b.add(conv(8, 3, padding="same"))  # field 3 + 2·2 = 7, jump 2
    b.add(("concat", ConcatAttrs("zero")), inputs=[left, right])
    out = infer(b.graph()).output
    assert out.output_shape == (32, 32, 16)
    assert out.receptive_field == (9, 9) and out.jump == (2, 2)


def test_strided_pads_are_recorded_like_lax():
    facts = analyze((224, 224, 3), conv(64, 7, stride=2, padding="same")).layers["conv_1"]
    assert facts.output_shape == (112, 112, 64) and facts.pads == ((2, 3), (2, 3))


# --- errors and warnings ------------------------------------------------------------


def only_error(analysis):
    (diagnostic,) = analysis.errors
    return diagnostic


def test_filter_larger_than_input_names_sizes():
    b = Builder((12, 12, 1)).chain(conv(8, 5), pool(2))
    b.add(conv(64, 5), name="conv2d_3")
    diagnostic = only_error(infer(b.graph()))
    assert diagnostic.message == "conv 'conv2d_3' needs F=5 but its input is only 4×4 (P=0)"
    assert diagnostic.code == "window-too-large" and diagnostic.span.line == 4 and diagnostic.hint
    dilated = only_error(analyze((4, 4, 1), conv(1, 3, dilation=3, padding=1)))
    assert "needs F=3 with D=3 (extent 7×7) but its input is only 4×4 (P=1)" in dilated.message


def test_conv_after_flatten_and_rank_mismatch():
    flat = only_error(analyze((8, 8, 1), FLATTEN, conv(4, 3)))
    assert flat.code == "no-spatial-axes" and "input (64,) has no spatial axes" in flat.message
    assert "flatten" in flat.hint
    mismatch = only_error(analyze((50, 3), conv(4, 3)))
    assert mismatch.code == "rank-mismatch" and "(50, 3) has 1 spatial axes" in mismatch.message


def test_causal_padding_on_images_is_an_error():
    diagnostic = only_error(analyze((28, 28, 1), conv(4, 2, padding="causal")))
    assert diagnostic.code == "causal-not-1d" and "(28, 28, 1) is 2-D" in diagnostic.message


def test_groups_must_divide_channels_and_filters():
    assert "divide its 6 input channels" in only_error(analyze((8, 8, 6), conv(8, 1, groups=4))).message
    assert "divide K=8" in only_error(analyze((8, 8, 6), conv(8, 1, groups=3))).message


def test_global_pool_after_flatten_and_dense_on_empty():
    diagnostic = only_error(analyze((4, 4, 2), FLATTEN, ("global_pool", GlobalPoolAttrs())))
    assert "input (32,) has no spatial axes" in diagnostic.message
    with pytest.raises(ShapeError, match="non-empty last axis"):
        output_shape("dense", DenseAttrs(3), [()])
    assert only_error(analyze((), dense(3))).code == "bad-input"


def test_softmax_anywhere():
    analysis = analyze((4, 4, 3), act("softmax"), FLATTEN, act("softmax"))
    assert not analysis.diagnostics and analysis.output.output_shape == (48,)


def test_add_mismatch_names_both_inputs():
    b = Builder((8, 8, 3))
    left = b.add(conv(4, 3), name="left")
    right = b.add(conv(4, 1), name="right", inputs=["input"])
    b.add(("add", AddAttrs()), name="sum", inputs=[left, right])
    diagnostic = only_error(infer(b.graph()))
    assert diagnostic.message == ("add 'sum' needs inputs that broadcast, but 'left' gives (6, 6, 4) "
                                  "and 'right' gives (8, 8, 4)")
    assert diagnostic.code == "broadcast-mismatch" and "keepdims" in diagnostic.hint
    multiply = infer(Builder((8, 8, 3)).chain(("multiply", MultiplyAttrs())).graph())
    assert only_error(multiply).code == "arity"


def residual(shortcut_layer=None):
    """A residual block as resolve builds it: body nodes in the block's scope,
    shortcut nodes under a "shortcut" scope, the add in the block's scope."""
    block = Scope("block_1", "residual", span(20))
    b = Builder((56, 56, 64))
    b.add(conv(128, 3, stride=2, padding="same"), name="block_1/conv_1", scope=[block])
    b.add(BATCHNORM, name="block_1/batchnorm_1", scope=[block])
    shortcut = "input"
    if shortcut_layer:
        shortcut = b.add(shortcut_layer, name="block_1/shortcut/conv_1", inputs=["input"],
                         scope=[block, Scope("shortcut", "shortcut")])
    b.add(("add", AddAttrs()), name="block_1/add", inputs=["block_1/batchnorm_1", shortcut], scope=[block])
    return infer(b.graph())


def test_residual_mismatch_speaks_of_body_and_shortcut():
    diagnostic = only_error(residual())
    assert diagnostic.message == ("residual 'block_1': the body gives (28, 28, 128) but the shortcut gives "
                                  "(56, 56, 64); use shortcut: projection or auto")
    assert diagnostic.code == "residual-mismatch" and diagnostic.span.line == 20
    projected = only_error(residual(conv(128, 1)))  # a projection without the body's stride
    assert projected.message == ("residual 'block_1': the body gives (28, 28, 128) but the shortcut gives "
                                 "(56, 56, 128)")
    assert "stride" in projected.hint
    assert not residual(conv(128, 1, stride=2, padding="same")).diagnostics


def test_concat_spatial_mismatch_and_zero_padding():
    b = Builder((28, 28, 3))
    wide = b.add(conv(8, 1), name="wide")
    narrow = b.add(conv(4, 3), name="narrow", inputs=["input"])
    b.add(("concat", ConcatAttrs()), name="cat", inputs=[wide, narrow])
    diagnostic = only_error(infer(b.graph()))
    assert diagnostic.message == ("concat 'cat' needs inputs of one spatial size, but 'wide' gives 28×28 "
                                  "and 'narrow' gives 26×26")
    assert "pad: zero" in diagnostic.hint and "DepthConcat" in diagnostic.hint
    padded = ConcatAttrs("zero")
    assert output_shape("concat", padded, [(28, 28, 8), (25, 26, 4)]) == (28, 28, 12)
    assert concat_pads(padded, [(28, 28, 8), (25, 26, 4)]) == (((0, 0), (0, 0)), ((1, 2), (1, 1)))


def test_inference_continues_past_errors():
    b = Builder((8, 8, 3))
    b.add(conv(4, 9), name="bad_a")
    b.add(conv(4, 3), name="after_a")  # inferred on bad_a's recovery shape (8, 8, 4): no second report
    b.add(("zero_pad", ZeroPadAttrs(((1, 1),))), name="bad_b", inputs=["input"])
    b.add(conv(4, 3), name="fine", inputs=["input"])
    analysis = infer(b.graph())
    assert [d.code for d in analysis.errors] == ["window-too-large", "rank-mismatch"]
    assert "bad_a" not in analysis.layers and analysis.layers["after_a"].output_shape == (6, 6, 4)
    assert analysis.layers["fine"].output_shape == (6, 6, 4)


def test_stride_warning_names_unseen_columns():
    analysis = analyze((8, 7, 1), conv(4, 2, stride=2))
    (diagnostic,) = analysis.diagnostics
    assert diagnostic.severity == "warning" and diagnostic.code == "unseen-input"
    assert "the last 1 column(s) of the 7-wide input are never seen" in diagnostic.message
    (columns,) = analyze((7, 8, 1), pool(3, 2)).diagnostics  # rows: (7-3) % 2 == 0; columns: (8-3) % 2 == 1
    assert "pool 'pool_1': the last 1 column(s) of the 8-wide input" in columns.message
    (both,) = analyze((6, 10, 1), pool(3, 3)).diagnostics  # (6-3) % 3 == 0, (10-3) % 3 == 1
    assert "the last 1 column(s) of the 10-wide input are never seen (10 - 3 = 7 is not a multiple of S=3)" in (
        both.message)
    (both,) = analyze((8, 10, 1), pool(3, 2)).diagnostics  # one warning per layer, naming each axis
    assert both.message == ("pool 'pool_1': the last 1 row(s) of the 8-high input and the last 1 column(s) of the "
                            "10-wide input are never seen (8 - 3 = 5 is not a multiple of S=2; "
                            "10 - 3 = 7 is not a multiple of S=2)")
    (square,) = analyze((8, 8, 1), conv(4, 3, stride=2)).diagnostics  # (8-3) % 2 == 1 on both axes
    assert "the last 1 row(s) and column(s) of the 8×8 input are never seen (8 - 3 = 5 is not a multiple of S=2)" in (
        square.message)
    (mixed,) = analyze((8, 9, 1), conv(4, 3, stride=2)).diagnostics  # rows lose 1, columns 0
    assert "the last 1 row(s) of the 8-high input are never seen" in mixed.message


def test_no_warning_when_windows_skip_cells_by_design():
    # a 1×1/2 projection reads every other pixel by design; the last row is no accident
    assert not analyze((56, 56, 64), conv(128, 1, stride=2)).diagnostics
    # F=2, S=3 leaves gaps between all windows: nothing special about the edge either
    assert not analyze((6, 10, 1), pool(2, 3)).diagnostics


def test_no_warning_for_same_or_when_only_padding_is_unseen():
    assert not analyze((7, 7, 1), conv(4, 2, stride=2, padding="same")).diagnostics
    # (6 - 2 + 0 + 1) % 2 == 1, but the unseen cell is the high pad, not data
    assert not analyze((6, 6, 1), conv(4, 2, stride=2, padding=((0, 1), (0, 1)))).diagnostics


# --- end to end from YAML (the front end's resolve_text) ------------------------------


def from_yaml(text):
    from netspec.pipeline import resolve_text

    graph, problems = resolve_text(text, "net.yaml")
    assert graph is not None, problems
    return infer(graph)


def test_yaml_window_error_points_at_the_item():
    diagnostic = only_error(from_yaml(
        "name: bad\ninput: [12, 12, 1]\nlayers:\n  - conv: {K: 8, F: 5}\n  - pool: {F: 2}\n"
        "  - conv: {K: 64, F: 5, name: conv3}\n"))
    assert diagnostic.message == "conv 'conv3' needs F=5 but its input is only 4×4 (P=0)"
    assert (diagnostic.span.path, diagnostic.span.line, diagnostic.span.col) == ("net.yaml", 6, 5)


def test_yaml_identity_residual_that_downsamples():
    diagnostic = only_error(from_yaml(
        "name: res\ninput: [56, 56, 64]\nlayers:\n  - residual:\n"
        "      body: [conv: {K: 128, F: 3, S: 2, P: same}, batchnorm, relu]\n"
        "      shortcut: identity\n"))
    assert diagnostic.message.endswith("the body gives (28, 28, 128) but the shortcut gives (56, 56, 64); "
                                       "use shortcut: projection or auto")
    assert diagnostic.span.line == 4


def test_yaml_causal_block_and_auto_shortcut():
    causal = from_yaml("name: c\ninput: [100, 4]\nlayers:\n"
                       "  - causal: {K: 32, F: 2, dilations: [1, 2, 4, 8], activation: relu}\n")
    assert causal.output.receptive_field == (16,) and causal.output.output_shape == (100, 32)
    auto = from_yaml("name: r\ninput: [56, 56, 64]\nlayers:\n  - residual:\n"
                     "      body: [conv: {K: 128, F: 3, S: 2, P: same}, batchnorm]\n      shortcut: auto\n")
    assert not auto.errors and auto.output.output_shape == (28, 28, 128)


def test_unseen_input_looks_through_zero_pad():
    """DenseNet's stem: zero_pad 3 then conv 7x7/2 on 230x230 skips the last row, which is padding."""
    b = Builder((224, 224, 3))
    b.add(("zero_pad", ZeroPadAttrs(((3, 3), (3, 3)))), name="pad")
    b.add(conv(8, 7, stride=2), name="stem")
    assert infer(b.graph()).diagnostics == ()
    b = Builder((224, 224, 3))  # padding only in front: the skipped last row is real input
    b.add(("zero_pad", ZeroPadAttrs(((2, 0), (2, 0)))), name="pad")
    b.add(conv(8, 7, stride=2), name="stem")
    (warned,) = infer(b.graph()).diagnostics
    assert warned.code == "unseen-input" and "the last 1 row(s) and column(s) of the 226×226 input" in warned.message
    b = Builder((6, 1))  # two zero_pads in a row add up: (8 - 3) % 3 == 2 cells lost, both padding
    b.add(("zero_pad", ZeroPadAttrs(((0, 1),))), name="pad1")
    b.add(("zero_pad", ZeroPadAttrs(((0, 1),))), name="pad2")
    b.add(conv(4, 3, stride=3, rank=1), name="c")
    assert infer(b.graph()).diagnostics == ()
