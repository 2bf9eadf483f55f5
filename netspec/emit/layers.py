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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from netspec.diagnostics import NetspecError, error
from netspec.emit import lowering as lowering_choice
from netspec.emit.lowering import LAX, LOWERING_HELPERS, Lowering
from netspec.ir import (
    DEFAULT_ALPHA,
    Activation,
    ActivationAttrs,
    BatchNormAttrs,
    ConcatAttrs,
    ConvAttrs,
    DenseAttrs,
    DepthwiseConvAttrs,
    DropoutAttrs,
    GlobalPoolAttrs,
    LayerNormAttrs,
    LRNAttrs,
    Node,
    Padding,
    PoolAttrs,
    SeparableConvAttrs,
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
    "truncated_normal": "truncated_normal = nnx.initializers.truncated_normal(stddev=0.05)",
    "zeros": "zeros = nnx.initializers.zeros_init()",
    "ones": "ones = nnx.initializers.ones_init()",
    "uniform": '''def uniform(key, shape, dtype=jnp.float32):
    """Keras' RandomUniform default: U(-0.05, 0.05)."""
    return jax.random.uniform(key, shape, dtype, -0.05, 0.05)''',
}


# Helper functions and classes written into the generated file when used.
HELPERS: dict[str, str] = {
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


def activation_call(activation: Activation | None, inner: str) -> str:
    """Wrap ``inner`` in the activation: ``activation_call(relu, "y") == "nnx.relu(y)"``."""
    if activation is None or activation.name == "linear":
        return inner
    name = activation.name
    if name in ("leaky_relu", "elu"):
        alpha = DEFAULT_ALPHA[name] if activation.alpha is None else activation.alpha
        keyword = "negative_slope" if name == "leaky_relu" else "alpha"
        return f"nnx.{name}({inner}, {keyword}={alpha!r})"
    if name == "gelu":
        return f"nnx.gelu({inner}, approximate=False)"  # Keras' default is the exact erf form
    if name == "softmax":
        return f"nnx.softmax({inner}, axis=-1)"
    return f"nnx.{name}({inner})"


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


def initializer_name(name: str, node: Node) -> str:
    if name not in INITIALIZERS:
        raise NetspecError([error(
            "unknown-initializer", f"layer '{node.name}' uses initializer '{name}', which netspec cannot emit",
            node.span, hint="use one of: " + ", ".join(INITIALIZERS))])
    return name


def init_arguments(node: Node, kernel_init: str, bias_init: str, use_bias: bool) -> tuple[str, frozenset[str]]:
    """``kernel_init=...`` (always: Flax's default differs from Keras') and
    ``bias_init=...`` when not zeros."""
    used = {initializer_name(kernel_init, node)}
    text = f", kernel_init={kernel_init}"
    if use_bias and bias_init != "zeros":
        used.add(initializer_name(bias_init, node))
        text += f", bias_init={bias_init}"
    return text, frozenset(used)


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
                     slots, used)


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
                     slots, used)


def emit_separable_conv(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(SeparableConvAttrs, node.attrs)
    strides, stride_slots = strides_source(attrs.strides)
    initializer_name(attrs.kernel_init, node)
    initializer_name(attrs.bias_init, node)
    text = (f"SeparableConv({{in_features}}, {{features}}, kernel_size={attrs.kernel!r}, strides={strides}, "
            f"padding={padding_source(attrs.padding, attrs.kernel, attrs.dilation)}, "
            f"kernel_dilation={attrs.dilation!r}, depth_multiplier={attrs.depth_multiplier}, "
            f"use_bias={attrs.use_bias!r}, kernel_init={attrs.kernel_init}, bias_init={attrs.bias_init}, "
            "rngs=rngs)")
    slots = {"in_features": channels(inputs[0]), "features": attrs.filters, **stride_slots}
    return LayerCode(activation_call(attrs.activation, "{layer}({0})"), text, slots,
                     frozenset({attrs.kernel_init, attrs.bias_init}), frozenset({"SeparableConv"}))


def emit_dense(node: Node, inputs: list[Shape]) -> LayerCode:
    """``nnx.Linear`` on the last axis, like Keras Dense."""
    attrs = cast(DenseAttrs, node.attrs)
    text = "nnx.Linear({in_features}, {features}"
    if not attrs.use_bias:
        text += ", use_bias=False"
    init_text, used = init_arguments(node, attrs.kernel_init, attrs.bias_init, attrs.use_bias)
    slots = {"in_features": channels(inputs[0]), "features": attrs.units}
    return LayerCode(activation_call(attrs.activation, "{layer}({0})"), text + init_text + ", rngs=rngs)",
                     slots, used)


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
    return LayerCode(f"{function}({{0}}, axis={axes!r})")


def emit_flatten(node: Node, inputs: list[Shape]) -> LayerCode:
    return LayerCode("{0}.reshape({0}.shape[0], -1)")


def emit_dropout(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(DropoutAttrs, node.attrs)
    return LayerCode("{layer}({0})", f"nnx.Dropout({attrs.rate!r}, rngs=rngs)")


def emit_batchnorm(node: Node, inputs: list[Shape]) -> LayerCode:
    """Keras' momentum convention equals Flax's: ``running = m * running + (1 - m) * batch``."""
    attrs = cast(BatchNormAttrs, node.attrs)
    text = f"nnx.BatchNorm({{features}}, momentum={attrs.momentum!r}, epsilon={attrs.epsilon!r}"
    if not attrs.center:
        text += ", use_bias=False"
    if not attrs.scale:
        text += ", use_scale=False"
    return LayerCode("{layer}({0})", text + ", rngs=rngs)", {"features": channels(inputs[0])})


def emit_layernorm(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(LayerNormAttrs, node.attrs)
    text = f"nnx.LayerNorm({{features}}, epsilon={attrs.epsilon!r}"
    if not attrs.center:
        text += ", use_bias=False"
    if not attrs.scale:
        text += ", use_scale=False"
    return LayerCode("{layer}({0})", text + ", rngs=rngs)", {"features": channels(inputs[0])})


def emit_lrn(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(LRNAttrs, node.attrs)
    call = (f"local_response_norm({{0}}, size={attrs.size}, alpha={attrs.alpha!r}, beta={attrs.beta!r}, "
            f"bias={attrs.bias!r})")
    return LayerCode(call, helpers=frozenset({"local_response_norm"}))


def emit_zero_pad(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(ZeroPadAttrs, node.attrs)
    pads = ((0, 0), *(tuple(pair) for pair in attrs.padding), (0, 0))
    return LayerCode(f"jnp.pad({{0}}, {pads!r})")


def emit_activation(node: Node, inputs: list[Shape]) -> LayerCode:
    attrs = cast(ActivationAttrs, node.attrs)
    return LayerCode(activation_call(attrs.activation, "{0}"))


def emit_add(node: Node, inputs: list[Shape]) -> LayerCode:
    return LayerCode(" + ".join(f"{{{i}}}" for i in range(len(inputs))))


def emit_multiply(node: Node, inputs: list[Shape]) -> LayerCode:
    return LayerCode(" * ".join(f"{{{i}}}" for i in range(len(inputs))))


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
    "pool": emit_pool,
    "global_pool": emit_global_pool,
    "dense": emit_dense,
    "flatten": emit_flatten,
    "dropout": emit_dropout,
    "batchnorm": emit_batchnorm,
    "layernorm": emit_layernorm,
    "lrn": emit_lrn,
    "zero_pad": emit_zero_pad,
    "activation": emit_activation,
    "add": emit_add,
    "multiply": emit_multiply,
    "concat": emit_concat,
}


def layer_code(node: Node, input_shapes: list[Shape], lowering: Lowering = LAX) -> LayerCode:
    """The emit rule of ``node.op`` applied to ``node``, its call lowered as
    ``lowering`` chooses (:mod:`netspec.emit.lowering`)."""
    return lowering_choice.apply(node, EMIT_RULES[node.op](node, input_shapes), input_shapes, lowering)
