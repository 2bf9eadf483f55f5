"""Emit rules: how each primitive IR op reads in the generated Flax NNX source.

One rule per op in :data:`netspec.ops.OPS` (a test fails when an op lacks
one). A rule turns a node and the static shapes of its inputs into a
:class:`LayerCode`: the constructor expression built in ``__init__`` (for
ops with weights or state) and the expression computing its value in
``__call__``. Both are ``str.format`` templates:

* the constructor may hold ``{slot}`` placeholders for the integers that can
  differ between instances of one shared block class (channel counts,
  strides), with their values in ``slots``;
* the call uses ``{layer}`` for the attribute (``self.conv1``) and ``{0}``,
  ``{1}``, ... for the input values.

This module only writes text; it never imports JAX.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from netspec.diagnostics import NetspecError, error
from netspec.emit import lowering as lowering_choice
from netspec.emit.lowering import LAX, LOWERING_HELPERS, Lowering
from netspec.emit.text import float_literal
from netspec.infer.shapes import reshape_target
from netspec.ir import (
    DEFAULT_ALPHA,
    Activation,
    ActivationAttrs,
    BatchNormAttrs,
    ConcatAttrs,
    ConvAttrs,
    ConvTransposeAttrs,
    DenseAttrs,
    DepthwiseConvAttrs,
    DropoutAttrs,
    GlobalPoolAttrs,
    LayerNormAttrs,
    LRNAttrs,
    Node,
    NormalizationAttrs,
    Padding,
    PoolAttrs,
    PreprocessAttrs,
    RescalingAttrs,
    ReshapeAttrs,
    SeparableConvAttrs,
    UpsampleAttrs,
    ZeroPadAttrs,
)

Shape = tuple[int, ...]

# Initialiser names the spec language accepts -> their definition, written once
# at the top of the generated file. Keras' defaults are glorot_uniform kernels
# and zero biases; "normal", "truncated_normal" and "uniform" use Keras'
# default scale 0.05 (uniform: U(-0.05, 0.05), which nnx.initializers.uniform
# cannot express, as it starts at 0).
INITIALIZERS: dict[str, str] = {
    "glorot_uniform": "glorot_uniform = nnx.initializers.glorot_uniform()",
    "glorot_normal": "glorot_normal = nnx.initializers.glorot_normal()",
    "he_uniform": "he_uniform = nnx.initializers.he_uniform()",
    "he_normal": "he_normal = nnx.initializers.he_normal()",
    "lecun_uniform": "lecun_uniform = nnx.initializers.lecun_uniform()",
    "lecun_normal": "lecun_normal = nnx.initializers.lecun_normal()",
    "orthogonal": "orthogonal = nnx.initializers.orthogonal()",
    "normal": "normal = nnx.initializers.normal(stddev=0.05)",
    "truncated_normal": '''def truncated_normal(key, shape, dtype=jnp.float32):
    """Keras' TruncatedNormal default: N(0, 0.05) redrawn beyond two standard deviations
    (so the spread of the values is 0.05 * 0.88)."""
    return 0.05 * jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)''',
    "zeros": "zeros = nnx.initializers.zeros_init()",
    "ones": "ones = nnx.initializers.ones_init()",
    "uniform": '''def uniform(key, shape, dtype=jnp.float32):
    """Keras' RandomUniform default: U(-0.05, 0.05)."""
    return jax.random.uniform(key, shape, dtype, -0.05, 0.05)''',
}


# Helper functions and classes written into the generated file when used.
HELPERS: dict[str, str] = {
    "Normalization": '''
class Normalization(nnx.Module):
    """Keras' Normalization over the last axis: ``(x - mean) / max(sqrt(variance), 1e-7)``.

    ``mean``, ``variance`` (one per channel) and ``count`` are state, not trained
    (``nnx.BatchStat``); when the spec gives none, ``netspec train`` sets them from the
    training split before the first step (``count``: the values they were computed over).
    """

    def __init__(self, features, *, mean=None, variance=None):
        self.mean = nnx.BatchStat(jnp.broadcast_to(jnp.asarray(0.0 if mean is None else mean, jnp.float32),
                                                   (features,)))
        self.variance = nnx.BatchStat(jnp.broadcast_to(
            jnp.asarray(1.0 if variance is None else variance, jnp.float32), (features,)))
        self.count = nnx.BatchStat(jnp.zeros((), jnp.float32))

    def __call__(self, x):
        return (x - self.mean[...]) / jnp.maximum(jnp.sqrt(self.variance[...]), 1e-7)
''',
    "keras_relu": '''
def keras_relu(x, *, max_value=None, negative_slope=0.0, threshold=0.0):
    """Keras 3's ReLU: ``x`` above ``threshold`` (0 at or below it), clipped to
    [0, max_value] when max_value is given, minus ``negative_slope * relu(threshold - x)``."""
    shifted = jax.nn.relu(threshold - x)
    x = x * (x > threshold) if threshold != 0 else jax.nn.relu(x)
    if max_value is not None:
        x = jnp.clip(x, 0.0, max_value)
    return x - negative_slope * shifted if negative_slope != 0 else x
''',
    "local_response_norm": '''
def local_response_norm(x, *, size, alpha, beta, bias):
    """AlexNet's local response normalisation across channels (torch / Caffe form).

    ``x / (bias + alpha / size * sum of x**2 over `size` neighbouring channels) ** beta``;
    the window is centred, ``size // 2`` channels below and ``(size - 1) // 2`` above,
    and channels past either end count as zero. Shape is preserved.
    """
    squares = jnp.square(x)
    window = (1,) * (x.ndim - 1) + (size,)
    pads = ((0, 0),) * (x.ndim - 1) + ((size // 2, (size - 1) // 2),)
    sums = jax.lax.reduce_window(squares, 0.0, jax.lax.add, window, (1,) * x.ndim, pads)
    return x / (bias + alpha / size * sums) ** beta
''',
    "preprocess_caffe": '''
def preprocess_caffe(x):
    """Keras' "caffe" preprocessing of RGB images in [0, 1] (netspec's data scale) taken to 0-255:
    RGB -> BGR, minus the ImageNet BGR mean."""
    return (x * 255.0)[..., ::-1] - jnp.array([103.939, 116.779, 123.68], x.dtype)
''',
    "preprocess_tf": '''
def preprocess_tf(x):
    """Keras' "tf" preprocessing (0-255 -> [-1, 1]) of images in [0, 1] (netspec's data scale)."""
    return x * 2.0 - 1.0
''',
    "preprocess_torch": '''
def preprocess_torch(x):
    """torchvision's ImageNet normalisation of RGB images in [0, 1] (ToTensor's scale): minus mean, over std."""
    mean = jnp.array([0.485, 0.456, 0.406], x.dtype)
    std = jnp.array([0.229, 0.224, 0.225], x.dtype)
    return (x - mean) / std
''',
    "concat_zero_padded": '''
def concat_zero_padded(values):
    """Depth-concatenate maps after zero-padding each to the largest spatial size
    (GoogLeNet's DepthConcat); a map grows by ``total // 2`` cells low and the
    rest high on each axis, as SAME padding splits. ``(batch, *spatial, C_i)`` ->
    ``(batch, *max_spatial, sum C_i)``.
    """
    target = [max(sizes) for sizes in zip(*(v.shape[1:-1] for v in values))]
    padded = []
    for value in values:
        grow = [size - have for size, have in zip(target, value.shape[1:-1])]
        pads = [(0, 0)] + [(extra // 2, extra - extra // 2) for extra in grow] + [(0, 0)]
        padded.append(jnp.pad(value, pads))
    return jnp.concatenate(padded, axis=-1)
''',
    "SeparableConv": '''
class SeparableConv(nnx.Module):
    """Keras' SeparableConv: a depthwise convolution without bias (strides and dilation
    apply here), then a 1x1 pointwise convolution. ``(batch, *spatial, in_features)`` ->
    ``(batch, *spatial_out, out_features)``.
    """

    def __init__(self, in_features, out_features, kernel_size, *, strides=1, padding, kernel_dilation,
                 depth_multiplier, use_bias, kernel_init, bias_init, rngs: nnx.Rngs):
        depth = in_features * depth_multiplier
        self.depthwise = nnx.Conv(in_features, depth, kernel_size, strides, padding=padding,
                                  kernel_dilation=kernel_dilation, feature_group_count=in_features,
                                  use_bias=False, kernel_init=kernel_init, rngs=rngs)
        self.pointwise = nnx.Conv(depth, out_features, (1,) * len(kernel_size), padding="VALID",
                                  use_bias=use_bias, kernel_init=kernel_init, bias_init=bias_init,
                                  rngs=rngs)

    def __call__(self, x):
        return self.pointwise(self.depthwise(x))
''',
    **LOWERING_HELPERS,
}


@dataclass(frozen=True)
class LayerCode:
    """How one node reads in the generated source (see the module docstring).

    ``constructor`` is None for ops without weights or state (pooling,
    activations, merges), which become plain expressions in ``__call__``.
    ``initializers`` and ``helpers`` name what the file must define.
    """

    call: str
    constructor: str | None = None
    slots: dict[str, int] = field(default_factory=dict)
    initializers: frozenset[str] = frozenset()
    helpers: frozenset[str] = frozenset()


# --- small pieces of source text ---------------------------------------------


# Activations that are one jax.nn / jnp function of the same formula as Keras 3's.
_JAX_ACTIVATIONS = {"relu6": "jax.nn.relu6", "hard_sigmoid": "jax.nn.hard_sigmoid",  # relu6(x + 3) / 6
                    "hard_swish": "jax.nn.hard_swish", "softplus": "jax.nn.softplus",
                    "softsign": "jax.nn.soft_sign", "selu": "jax.nn.selu", "exponential": "jnp.exp",
                    "mish": "jax.nn.mish"}


def _has_relu_arguments(activation: Activation) -> bool:
    return any(value is not None for value in (activation.max_value, activation.negative_slope,
                                               activation.threshold))


def activation_call(activation: Activation | None, inner: str) -> str:
    """Wrap ``inner`` in the activation: ``activation_call(relu, "y") == "nnx.relu(y)"``."""
    if activation is None or activation.name == "linear":
        return inner
    name = activation.name
    if name == "relu" and _has_relu_arguments(activation):
        arguments = ", ".join(f"{key}={getattr(activation, key)!r}"
                              for key in ("max_value", "negative_slope", "threshold")
                              if getattr(activation, key) is not None)
        return f"keras_relu({inner}, {arguments})"
    if name in _JAX_ACTIVATIONS:
        return f"{_JAX_ACTIVATIONS[name]}({inner})"
    if name in ("leaky_relu", "elu"):
        alpha = DEFAULT_ALPHA[name] if activation.alpha is None else activation.alpha
        keyword = "negative_slope" if name == "leaky_relu" else "alpha"
        return f"nnx.{name}({inner}, {keyword}={float_literal(alpha)})"
    if name == "gelu":
        return f"nnx.gelu({inner}, approximate=False)"  # Keras' default is the exact erf form
    if name == "softmax":
        return f"nnx.softmax({inner}, axis=-1)"
    return f"nnx.{name}({inner})"


def activation_helpers(activation: Activation | None) -> frozenset[str]:
    """The helper functions :func:`activation_call` of ``activation`` uses."""
    if activation is not None and activation.name == "relu" and _has_relu_arguments(activation):
        return frozenset({"keras_relu"})
    return frozenset()


def padding_source(padding: Padding, window: tuple[int, ...], dilation: tuple[int, ...] | None = None) -> str:
    """The ``padding=`` argument: ``'SAME'`` / ``'VALID'`` / ``'CAUSAL'`` or explicit pairs.

    Pooling has no CAUSAL mode in ``lax.reduce_window``, so callers pass
    ``dilation=None`` to get causal padding spelt as its explicit pairs.
    """
    if padding == "causal" and dilation is None:
        return repr(tuple(((size - 1), 0) for size in window))
    if isinstance(padding, str):
        return f'"{padding.upper()}"'
    return repr(tuple(tuple(pair) for pair in padding))


def strides_source(strides: tuple[int, ...]) -> tuple[str, dict[str, int]]:
    """Strides as slot placeholders, one per axis: ``("({stride}, {stride_1})", {...})``."""
    names = ["stride" if axis == 0 else f"stride_{axis}" for axis in range(len(strides))]
    text = "(" + ", ".join("{" + name + "}" for name in names) + ("," if len(names) == 1 else "") + ")"
    return text, dict(zip(names, strides))


_CONSTANT = re.compile(r"constant\((-?[0-9.e+\-]+|-?inf|nan)\)\Z")


def initializer_source(name: str, node: Node) -> str:
    """How initialiser ``name`` reads in the source: its module-level name, or
    ``nnx.initializers.constant(v)`` for ``constant(v)`` (Keras' Constant)."""
    constant = _CONSTANT.match(name)
    if constant:
        return f"nnx.initializers.constant({float(constant.group(1))!r})"
    return initializer_name(name, node)


def initializer_name(name: str, node: Node) -> str:
    if name not in INITIALIZERS:
        raise NetspecError([error(
            "unknown-initializer", f"layer '{node.name}' uses initializer '{name}', which netspec cannot emit",
            node.span, hint="use one of: " + ", ".join(INITIALIZERS))])
    return name


def init_arguments(node: Node, kernel_init: str, bias_init: str, use_bias: bool) -> tuple[str, frozenset[str]]:
    """``kernel_init=...`` (always: Flax's default differs from Keras') and
    ``bias_init=...`` when not zeros."""
    text = f", kernel_init={initializer_source(kernel_init, node)}"
    used = {kernel_init}
    if use_bias and bias_init != "zeros":
        text += f", bias_init={initializer_source(bias_init, node)}"
        used.add(bias_init)
    return text, frozenset(name for name in used if name in INITIALIZERS)


def channels(shape: Shape) -> int:
    return shape[-1]


# --- the rules ---------------------------------------------------------------


def emit_conv(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(ConvAttrs, node.attrs)
    strides, stride_slots = strides_source(attrs.strides)
    text = (f"nnx.Conv({{in_features}}, {{features}}, kernel_size={attrs.kernel!r}, strides={strides}, "
            f"padding={padding_source(attrs.padding, attrs.kernel, attrs.dilation)}")
    if any(d != 1 for d in attrs.dilation):
        text += f", kernel_dilation={attrs.dilation!r}"
    if attrs.groups != 1:
        text += f", feature_group_count={attrs.groups}"
    if not attrs.use_bias:
        text += ", use_bias=False"
    init_text, used = init_arguments(node, attrs.kernel_init, attrs.bias_init, attrs.use_bias)
    slots = {"in_features": channels(inputs[0]), "features": attrs.filters, **stride_slots}
    return LayerCode(activation_call(attrs.activation, "{layer}({0})"), text + init_text + ", rngs=rngs)",
                     slots, used, activation_helpers(attrs.activation))


def emit_depthwise_conv(node: Node, inputs: list[Shape]) -> LayerCode:
    """A grouped conv with ``feature_group_count = C_in``: kernel ``F + (1, C_in * multiplier)``."""
    attrs = cast(DepthwiseConvAttrs, node.attrs)
    strides, stride_slots = strides_source(attrs.strides)
    text = (f"nnx.Conv({{in_features}}, {{features}}, kernel_size={attrs.kernel!r}, strides={strides}, "
            f"padding={padding_source(attrs.padding, attrs.kernel, attrs.dilation)}")
    if any(d != 1 for d in attrs.dilation):
        text += f", kernel_dilation={attrs.dilation!r}"
    text += ", feature_group_count={in_features}"
    if not attrs.use_bias:
        text += ", use_bias=False"
    init_text, used = init_arguments(node, attrs.kernel_init, attrs.bias_init, attrs.use_bias)
    in_features = channels(inputs[0])
    slots = {"in_features": in_features, "features": in_features * attrs.depth_multiplier, **stride_slots}
    return LayerCode(activation_call(attrs.activation, "{layer}({0})"), text + init_text + ", rngs=rngs)",
                     slots, used, activation_helpers(attrs.activation))


def emit_separable_conv(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(SeparableConvAttrs, node.attrs)
    strides, stride_slots = strides_source(attrs.strides)
    kernel_init, bias_init = initializer_source(attrs.kernel_init, node), initializer_source(attrs.bias_init, node)
    used = frozenset(name for name in (attrs.kernel_init, attrs.bias_init) if name in INITIALIZERS)
    text = (f"SeparableConv({{in_features}}, {{features}}, kernel_size={attrs.kernel!r}, strides={strides}, "
            f"padding={padding_source(attrs.padding, attrs.kernel, attrs.dilation)}, "
            f"kernel_dilation={attrs.dilation!r}, depth_multiplier={attrs.depth_multiplier}, "
            f"use_bias={attrs.use_bias!r}, kernel_init={kernel_init}, bias_init={bias_init}, "
            "rngs=rngs)")
    slots = {"in_features": channels(inputs[0]), "features": attrs.filters, **stride_slots}
    return LayerCode(activation_call(attrs.activation, "{layer}({0})"), text, slots, used,
                     frozenset({"SeparableConv"}) | activation_helpers(attrs.activation))


def emit_conv_transpose(node: Node, inputs: list[Shape]) -> LayerCode:
    """``nnx.ConvTranspose(transpose_kernel=True)``: Keras' kernel layout ``F + (K, C_in)`` and its
    scatter semantics; explicit (low, high) crops become lax pads ``F - 1 - low``, ``F - 1 - high``."""
    attrs = cast(ConvTransposeAttrs, node.attrs)
    strides, stride_slots = strides_source(attrs.strides)
    if isinstance(attrs.padding, str):
        padding = f'"{attrs.padding.upper()}"'
    else:
        padding = repr(tuple((size - 1 - low, size - 1 - high) for size, (low, high) in zip(attrs.kernel, attrs.padding)))
    text = (f"nnx.ConvTranspose({{in_features}}, {{features}}, kernel_size={attrs.kernel!r}, strides={strides}, "
            f"padding={padding}, transpose_kernel=True")
    if not attrs.use_bias:
        text += ", use_bias=False"
    init_text, used = init_arguments(node, attrs.kernel_init, attrs.bias_init, attrs.use_bias)
    slots = {"in_features": channels(inputs[0]), "features": attrs.filters, **stride_slots}
    return LayerCode(activation_call(attrs.activation, "{layer}({0})"), text + init_text + ", rngs=rngs)",
                     slots, used, activation_helpers(attrs.activation))


def emit_upsample(node: Node, inputs: list[Shape]) -> LayerCode:
    """nearest: ``jnp.repeat`` along each axis; bilinear: ``jax.image.resize(method="linear")``
    (half-pixel centres, like Keras' UpSampling with interpolation="bilinear")."""
    attrs = cast(UpsampleAttrs, node.attrs)
    if attrs.interpolation == "nearest":
        text = "{0}"
        for axis, factor in enumerate(attrs.size, start=1):
            if factor != 1:
                text = f"jnp.repeat({text}, {factor}, axis={axis})"
        return LayerCode(text)
    target = tuple(length * factor for length, factor in zip(inputs[0][:-1], attrs.size)) + (inputs[0][-1],)
    return LayerCode(f"jax.image.resize({{0}}, ({{0}}.shape[0], {', '.join(map(str, target))}), method=\"linear\")")


def emit_dense(node: Node, inputs: list[Shape]) -> LayerCode:
    """``nnx.Linear`` on the last axis, like Keras Dense."""
    attrs = cast(DenseAttrs, node.attrs)
    text = "nnx.Linear({in_features}, {features}"
    if not attrs.use_bias:
        text += ", use_bias=False"
    init_text, used = init_arguments(node, attrs.kernel_init, attrs.bias_init, attrs.use_bias)
    slots = {"in_features": channels(inputs[0]), "features": attrs.units}
    return LayerCode(activation_call(attrs.activation, "{layer}({0})"), text + init_text + ", rngs=rngs)",
                     slots, used, activation_helpers(attrs.activation))


def emit_pool(node: Node, inputs: list[Shape]) -> LayerCode:
    """Max pooling pads with -inf (padded cells never win); average pooling
    divides by the number of real cells under the window (Keras' convention,
    ``count_include_pad=False``; torchvision's default counts the padding)."""
    attrs = cast(PoolAttrs, node.attrs)
    padding = padding_source(attrs.padding, attrs.window)
    arguments = f"{{0}}, {attrs.window!r}, strides={attrs.strides!r}, padding={padding}"
    if attrs.mode == "max":
        return LayerCode(f"nnx.max_pool({arguments})")
    return LayerCode(f"nnx.avg_pool({arguments}, count_include_pad=False)")


def emit_global_pool(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(GlobalPoolAttrs, node.attrs)
    axes = tuple(range(1, len(inputs[0])))
    function = "jnp.mean" if attrs.mode == "avg" else "jnp.max"
    keepdims = ", keepdims=True" if attrs.keepdims else ""
    return LayerCode(f"{function}({{0}}, axis={axes!r}{keepdims})")


def emit_flatten(node: Node, inputs: list[Shape]) -> LayerCode:
    return LayerCode("{0}.reshape({0}.shape[0], -1)")


def emit_dropout(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(DropoutAttrs, node.attrs)
    return LayerCode("{layer}({0})", f"nnx.Dropout({float_literal(attrs.rate)}, rngs=rngs)")


def emit_batchnorm(node: Node, inputs: list[Shape]) -> LayerCode:
    """Keras' momentum convention equals Flax's: ``running = m * running + (1 - m) * batch``."""
    attrs = cast(BatchNormAttrs, node.attrs)
    text = f"nnx.BatchNorm({{features}}, momentum={float_literal(attrs.momentum)}, epsilon={float_literal(attrs.epsilon)}"
    return _normalization_layer(text, attrs, inputs)


def emit_layernorm(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(LayerNormAttrs, node.attrs)
    return _normalization_layer(f"nnx.LayerNorm({{features}}, epsilon={float_literal(attrs.epsilon)}", attrs, inputs)


def _normalization_layer(text: str, attrs: BatchNormAttrs | LayerNormAttrs, inputs: list[Shape]) -> LayerCode:
    """``text`` (an nnx norm layer's opening) with Keras' ``center``/``scale`` off as Flax's
    ``use_bias``/``use_scale``, over the input's channels."""
    if not attrs.center:
        text += ", use_bias=False"
    if not attrs.scale:
        text += ", use_scale=False"
    return LayerCode("{layer}({0})", text + ", rngs=rngs)", {"features": channels(inputs[0])})


def emit_lrn(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(LRNAttrs, node.attrs)
    call = (f"local_response_norm({{0}}, size={attrs.size}, alpha={float_literal(attrs.alpha)}, beta={float_literal(attrs.beta)}, "
            f"bias={float_literal(attrs.bias)})")
    return LayerCode(call, helpers=frozenset({"local_response_norm"}))


def emit_rescaling(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(RescalingAttrs, node.attrs)
    offset = f" + {attrs.offset!r}" if attrs.offset else ""
    return LayerCode(f"{{0}} * {attrs.scale!r}{offset}")


def emit_normalization(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(NormalizationAttrs, node.attrs)
    text = "Normalization({features}"
    for what, values in (("mean", attrs.mean), ("variance", attrs.variance)):
        if values is not None:
            text += f", {what}={values[0] if len(values) == 1 else list(values)!r}"
    return LayerCode("{layer}({0})", text + ")", {"features": channels(inputs[0])},
                     helpers=frozenset({"Normalization"}))
def emit_preprocess(node: Node, inputs: list[Shape]) -> LayerCode:
    helper = f"preprocess_{cast(PreprocessAttrs, node.attrs).mode}"
    return LayerCode(f"{helper}({{0}})", helpers=frozenset({helper}))


def emit_zero_pad(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(ZeroPadAttrs, node.attrs)
    pads = ((0, 0), *(tuple(pair) for pair in attrs.padding), (0, 0))
    return LayerCode(f"jnp.pad({{0}}, {pads!r})")


def emit_activation(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(ActivationAttrs, node.attrs)
    return LayerCode(activation_call(attrs.activation, "{0}"), helpers=activation_helpers(attrs.activation))


def broadcast_operands(inputs: list[Shape]) -> list[str]:
    """The inputs of an elementwise merge, each of lower rank given new axes after the batch axis,
    so NumPy's trailing-axis rule applies to the shapes without the batch (``{1}[:, None, None]``)."""
    rank = max(len(shape) for shape in inputs)
    return [f"{{{i}}}" + ("[:" + ", None" * (rank - len(shape)) + "]" if len(shape) < rank else "")
            for i, shape in enumerate(inputs)]


def _infix(operator: str) -> Callable[[Node, list[Shape]], LayerCode]:
    return lambda node, inputs: LayerCode(f" {operator} ".join(broadcast_operands(inputs)))


def _folded(function: str) -> Callable[[Node, list[Shape]], LayerCode]:
    """``jnp.maximum(jnp.maximum({0}, {1}), {2})``: a binary function over every input."""
    def rule(node: Node, inputs: list[Shape]) -> LayerCode:
        operands = broadcast_operands(inputs)
        text = operands[0]
        for operand in operands[1:]:
            text = f"{function}({text}, {operand})"
        return LayerCode(text)
    return rule


def emit_average(node: Node, inputs: list[Shape]) -> LayerCode:
    return LayerCode(f"({' + '.join(broadcast_operands(inputs))}) / {len(inputs)}")


def emit_reshape(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(ReshapeAttrs, node.attrs)
    target = reshape_target(inputs[0], attrs.shape)
    return LayerCode(f"{{0}}.reshape({{0}}.shape[0], {', '.join(map(str, target))})")


def emit_concat(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(ConcatAttrs, node.attrs)
    values = "[" + ", ".join(f"{{{i}}}" for i in range(len(inputs))) + "]"
    if attrs.pad == "zero" and len({shape[:-1] for shape in inputs}) > 1:
        return LayerCode(f"concat_zero_padded({values})", helpers=frozenset({"concat_zero_padded"}))
    return LayerCode(f"jnp.concatenate({values}, axis=-1)")


def emit_input(node: Node, inputs: list[Shape]) -> LayerCode:
    return LayerCode("{0}")  # the argument of __call__; never emitted as a statement


EMIT_RULES: dict[str, Callable[[Node, list[Shape]], LayerCode]] = {
    "input": emit_input,
    "conv": emit_conv,
    "depthwise_conv": emit_depthwise_conv,
    "separable_conv": emit_separable_conv,
    "conv_transpose": emit_conv_transpose,
    "upsample": emit_upsample,
    "pool": emit_pool,
    "global_pool": emit_global_pool,
    "dense": emit_dense,
    "flatten": emit_flatten,
    "reshape": emit_reshape,
    "dropout": emit_dropout,
    "batchnorm": emit_batchnorm,
    "layernorm": emit_layernorm,
    "lrn": emit_lrn,
    "rescaling": emit_rescaling,
    "normalization": emit_normalization,
    "preprocess": emit_preprocess,
    "zero_pad": emit_zero_pad,
    "activation": emit_activation,
    "add": _infix("+"),
    "multiply": _infix("*"),
    "subtract": _infix("-"),
    "maximum": _folded("jnp.maximum"),
    "minimum": _folded("jnp.minimum"),
    "average": emit_average,
    "concat": emit_concat,
}


def layer_code(node: Node, input_shapes: list[Shape], lowering: Lowering = LAX) -> LayerCode:
    """The emit rule of ``node.op`` applied to ``node``, its call lowered as
    ``lowering`` chooses (:mod:`netspec.emit.lowering`)."""
    return lowering_choice.apply(node, EMIT_RULES[node.op](node, input_shapes), input_shapes, lowering)
