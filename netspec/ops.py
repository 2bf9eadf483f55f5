"""The op table: every IR op and its traits, in one place.

Each pass keys its own rule table by the names here, and tests hold every
table to this one (tests/test_ops.py), so an op cannot be half added.

Adding an op touches exactly one place per pass:

1. IR — an attrs class in :mod:`netspec.ir` and its row in :data:`OPS` below;
2. spec — its argument model in :data:`netspec.spec.layers.LAYER_ARGS`;
3. resolve — its lowering in :data:`netspec.resolve.lower.LOWERING`;
4. infer — its :class:`~netspec.infer.rules.Rule` in :data:`netspec.infer.rules.RULES`
   (shape, parameters, MACs, receptive field);
5. emit — its rule in :data:`netspec.emit.layers.EMIT_RULES`;
   with its ``label``, the summary's Type column (``conv 3×3/2 K=64 same relu``);
6. tests and docs — a spec under ``specs/`` or ``examples/`` that uses it (the
   static == compiled check of tests/test_build.py runs on every one) and a line
   in ``docs/language.md``.

tests/test_ops.py fails when any of them is missing. No other module names ops
one by one: a trait (windowed, strided, weighted, ...) is a column here.

>>> OPS["conv"].windowed, OPS["conv"].weighted, OPS["add"].merge
(True, True, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from netspec.ir import (
    ActivationAttrs,
    AddAttrs,
    AverageAttrs,
    BatchNormAttrs,
    ConcatAttrs,
    ConvAttrs,
    ConvTransposeAttrs,
    DenseAttrs,
    DepthwiseConvAttrs,
    DropoutAttrs,
    FlattenAttrs,
    GlobalPoolAttrs,
    InputAttrs,
    LayerNormAttrs,
    LRNAttrs,
    MaximumAttrs,
    MinimumAttrs,
    MultiplyAttrs,
    NormalizationAttrs,
    PoolAttrs,
    PreprocessAttrs,
    RescalingAttrs,
    ReshapeAttrs,
    SeparableConvAttrs,
    SubtractAttrs,
    UpsampleAttrs,
    ZeroPadAttrs,
)

# Diagram fill colours by op family (light, so black text stays readable).
_CONV, _POOL, _DENSE, _NORM, _PLAIN, _MERGE = "#dbeafe", "#fef3c7", "#ede9fe", "#d1fae5", "#f3f4f6", "#fee2e2"


def format_extent(sizes: Sequence[int]) -> str:
    """Per-axis sizes joined the way people write them.

    >>> format_extent((3, 3))
    '3×3'
    >>> format_extent((16,))
    '16'
    """
    return "×".join(str(s) for s in sizes)


# --- labels: the Type column of summaries and diagrams -------------------------------------------------


def _padding_label(padding) -> str:
    if isinstance(padding, str):
        return padding
    if all(low == high == padding[0][0] for low, high in padding):
        return f"P={padding[0][0]}"
    return "P=" + ",".join(f"({low},{high})" for low, high in padding)


def _window_label(kernel, strides, padding, dilation=None) -> str:
    label = format_extent(kernel)
    if any(s != 1 for s in strides):
        label += "/" + (str(strides[0]) if len(set(strides)) == 1 else format_extent(strides))
    if dilation and any(d != 1 for d in dilation):
        label += " D=" + (str(dilation[0]) if len(set(dilation)) == 1 else format_extent(dilation))
    return f"{label} {_padding_label(padding)}"


def _activation_label(activation) -> str:
    if activation is None or activation.name == "linear":
        return ""
    alpha = f" {activation.alpha:g}" if activation.alpha is not None else ""
    relu = "".join(f" {key}={getattr(activation, key):g}" for key in ("max_value", "negative_slope", "threshold")
                   if getattr(activation, key) is not None)
    return f" {activation.name}{alpha}{relu}"


def _filters_label(kind: str, *, dilated: bool = True) -> Callable[[Any], str]:
    """``<kind> 3×3/2 K=64 same relu``: a layer with filters (conv, separable, transposed)."""
    def label(a) -> str:
        window = _window_label(a.kernel, a.strides, a.padding, a.dilation if dilated else None)
        groups = f" groups={a.groups}" if getattr(a, "groups", 1) != 1 else ""
        return f"{kind} {window.replace(' ', f' K={a.filters} ', 1)}{groups}{_activation_label(a.activation)}"
    return label


def _depthwise_label(a) -> str:
    multiplier = f" ×{a.depth_multiplier}" if a.depth_multiplier != 1 else ""
    window = _window_label(a.kernel, a.strides, a.padding, a.dilation)
    return f"depthwise {window}{multiplier}{_activation_label(a.activation)}"


def _upsample_label(a) -> str:
    return f"upsample ×{format_extent(a.size)} {a.interpolation}"


def _pool_label(a) -> str:
    return f"{a.mode}pool {_window_label(a.window, a.strides, a.padding)}"


def _global_pool_label(a) -> str:
    return f"global {a.mode}pool{' keepdims' if a.keepdims else ''}"


def _rescaling_label(a) -> str:
    return f"rescaling ×{a.scale:.4g}{f' {a.offset:+g}' if a.offset else ''}"


def _normalization_label(a) -> str:
    return "normalization" + (" (adapted)" if a.mean is None else "")


def _concat_label(a) -> str:
    return "concat pad=zero" if a.pad == "zero" else "concat"


def _named(name: str) -> Callable[[Any], str]:
    """The label of an op whose attrs add nothing worth showing: its name."""
    return lambda a: name


@dataclass(frozen=True)
class Op:
    """What the passes need to know about an op, apart from its per-pass rules."""

    attrs: type  # its attrs class in netspec.ir
    label: Callable[[Any], str]  # its attrs -> the summary's Type column (its key hyper-parameters)
    color: str = "#ffffff"  # fill of its box in diagrams
    spatial: bool = False  # needs 1-3 spatial axes (its attrs are per axis)
    windowed: bool = False  # slides a kernel with strides and padding: pads and unseen-cell warnings
    strided: bool = False  # has per-axis strides (an auto shortcut projection takes their product)
    weighted: bool = False  # has trainable weights (``init_from`` copies them)
    fuses_activation: bool = False  # carries an ``activation`` applied after it
    merge: bool = False  # takes several inputs (a ``from:`` list)
    pads_input: bool = False  # its attrs are explicit (low, high) pads, recorded like a window's
    width_scaled: bool = False  # its ``filters`` grow with a named scale's width (``scales:``, --scale)
    # The alternative to lax that the emitter may lower it to (netspec.emit.lowering):
    # "im2col" (convs: conv_by_slices / conv_im2col_grad) or "strided_slices" (non-overlapping pools).
    lowered_by: str = ""


OPS: dict[str, Op] = {
    "input": Op(InputAttrs, _named("input")),
    "conv": Op(ConvAttrs, _filters_label("conv"), _CONV, spatial=True, windowed=True, strided=True,
               weighted=True, fuses_activation=True, width_scaled=True, lowered_by="im2col"),
    "depthwise_conv": Op(DepthwiseConvAttrs, _depthwise_label, _CONV, spatial=True, windowed=True, strided=True,
                         weighted=True, fuses_activation=True, lowered_by="im2col"),
    "separable_conv": Op(SeparableConvAttrs, _filters_label("separable"), _CONV, spatial=True, windowed=True,
                         strided=True, weighted=True, fuses_activation=True, width_scaled=True),
    "conv_transpose": Op(ConvTransposeAttrs, _filters_label("conv_transpose", dilated=False), _CONV, spatial=True,
                         strided=True, weighted=True, fuses_activation=True),
    "upsample": Op(UpsampleAttrs, _upsample_label, _POOL, spatial=True),
    "pool": Op(PoolAttrs, _pool_label, _POOL, spatial=True, windowed=True, strided=True, lowered_by="strided_slices"),
    "global_pool": Op(GlobalPoolAttrs, _global_pool_label, _POOL),
    "dense": Op(DenseAttrs, lambda a: f"dense {a.units}{_activation_label(a.activation)}", _DENSE, weighted=True,
                fuses_activation=True),
    "flatten": Op(FlattenAttrs, _named("flatten"), _PLAIN),
    "reshape": Op(ReshapeAttrs, lambda a: f"reshape {list(a.shape)}", _PLAIN),
    "dropout": Op(DropoutAttrs, lambda a: f"dropout {a.rate:g}", _PLAIN),
    "batchnorm": Op(BatchNormAttrs, _named("batchnorm"), _NORM, weighted=True),
    "layernorm": Op(LayerNormAttrs, _named("layernorm"), _NORM, weighted=True),
    "lrn": Op(LRNAttrs, lambda a: f"lrn {a.size}", _NORM),
    "rescaling": Op(RescalingAttrs, _rescaling_label, _NORM),
    "normalization": Op(NormalizationAttrs, _normalization_label, _NORM),
    "zero_pad": Op(ZeroPadAttrs, lambda a: f"zero_pad {_padding_label(a.padding)}", _PLAIN, spatial=True,
                   pads_input=True),
    "activation": Op(ActivationAttrs, lambda a: _activation_label(a.activation).strip() or "linear", _PLAIN),
    "add": Op(AddAttrs, _named("add"), _MERGE, merge=True),
    "multiply": Op(MultiplyAttrs, _named("multiply"), _MERGE, merge=True),
    "subtract": Op(SubtractAttrs, _named("subtract"), _MERGE, merge=True),
    "maximum": Op(MaximumAttrs, _named("maximum"), _MERGE, merge=True),
    "minimum": Op(MinimumAttrs, _named("minimum"), _MERGE, merge=True),
    "average": Op(AverageAttrs, _named("average"), _MERGE, merge=True),
    "concat": Op(ConcatAttrs, _concat_label, _MERGE, merge=True),
    "preprocess": Op(PreprocessAttrs, lambda a: f"preprocess {a.mode}", _PLAIN),
}


def has(op: str, trait: str) -> bool:
    """Whether ``op`` (an IR op, or a spec layer kind of the same name) has ``trait``; False for other names.

    >>> has("pool", "strided"), has("relu", "strided")
    (True, False)
    """
    entry = OPS.get(op)
    return entry is not None and bool(getattr(entry, trait))
