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
6. the summary's type column — its branch in :func:`netspec.report.summary.type_label`
   (ops without one show their name);
7. tests and docs — a spec under ``specs/`` or ``examples/`` that uses it (the
   static == compiled check of tests/test_build.py runs on every one) and a line
   in ``docs/language.md``.

tests/test_ops.py fails when any of 1–5 or 7 is missing. No other module names ops
one by one: a trait (windowed, strided, weighted, ...) is a column here.

>>> OPS["conv"].windowed, OPS["conv"].weighted, OPS["add"].merge
(True, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Op:
    """What the passes need to know about an op, apart from its per-pass rules."""

    attrs: type  # its attrs class in netspec.ir
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
    # "slices" (im2col by shifted slices + one matmul) or "reshape" (non-overlapping windows).
    lowered_by: str = ""


OPS: dict[str, Op] = {
    "input": Op(InputAttrs),
    "conv": Op(ConvAttrs, _CONV, spatial=True, windowed=True, strided=True, weighted=True, fuses_activation=True,
               width_scaled=True, lowered_by="slices"),
    "depthwise_conv": Op(DepthwiseConvAttrs, _CONV, spatial=True, windowed=True, strided=True, weighted=True,
                         fuses_activation=True, lowered_by="slices"),
    "separable_conv": Op(SeparableConvAttrs, _CONV, spatial=True, windowed=True, strided=True, weighted=True,
                         fuses_activation=True, width_scaled=True),
    "conv_transpose": Op(ConvTransposeAttrs, _CONV, spatial=True, strided=True, weighted=True, fuses_activation=True),
    "upsample": Op(UpsampleAttrs, _POOL, spatial=True),
    "pool": Op(PoolAttrs, _POOL, spatial=True, windowed=True, strided=True, lowered_by="reshape"),
    "global_pool": Op(GlobalPoolAttrs, _POOL),
    "dense": Op(DenseAttrs, _DENSE, weighted=True, fuses_activation=True),
    "flatten": Op(FlattenAttrs, _PLAIN),
    "reshape": Op(ReshapeAttrs, _PLAIN),
    "dropout": Op(DropoutAttrs, _PLAIN),
    "batchnorm": Op(BatchNormAttrs, _NORM, weighted=True),
    "layernorm": Op(LayerNormAttrs, _NORM, weighted=True),
    "lrn": Op(LRNAttrs, _NORM),
    "rescaling": Op(RescalingAttrs, _NORM),
    "normalization": Op(NormalizationAttrs, _NORM),
    "zero_pad": Op(ZeroPadAttrs, _PLAIN, spatial=True, pads_input=True),
    "activation": Op(ActivationAttrs, _PLAIN),
    "add": Op(AddAttrs, _MERGE, merge=True),
    "multiply": Op(MultiplyAttrs, _MERGE, merge=True),
    "subtract": Op(SubtractAttrs, _MERGE, merge=True),
    "maximum": Op(MaximumAttrs, _MERGE, merge=True),
    "minimum": Op(MinimumAttrs, _MERGE, merge=True),
    "average": Op(AverageAttrs, _MERGE, merge=True),
    "concat": Op(ConcatAttrs, _MERGE, merge=True),
    "preprocess": Op(PreprocessAttrs, _PLAIN),
}


def has(op: str, trait: str) -> bool:
    """Whether ``op`` (an IR op, or a spec layer kind of the same name) has ``trait``; False for other names.

    >>> has("pool", "strided"), has("relu", "strided")
    (True, False)
    """
    entry = OPS.get(op)
    return entry is not None and bool(getattr(entry, trait))
