"""Static inference: shape, parameters, MACs and receptive field of every node.

One rule table (:data:`RULES`) keyed by op; every op in ``netspec.ops.OPS``
has a rule and a test keeps it so. Pure Python: nothing here imports JAX.

Conventions (see DESIGN.md §2 "Counting conventions"):

* params: conv ``K·prod(F)·C_in/groups + K`` (bias); depthwise
  ``prod(F)·C_in·dm + C_in·dm``; separable ``prod(F)·C_in·dm + C_in·dm·K + K``;
  dense ``in·units + units``; batchnorm 4 per channel (γ, β trainable, moving
  mean and variance not: Keras); layernorm 2 per channel; the rest 0.
* MACs count multiply-accumulates of conv and dense only (pooling,
  normalisation, activations and merges count 0): conv
  ``prod(out spatial)·K·prod(F)·C_in/groups``; dense ``positions·in·units``.
* receptive field and jump are per spatial axis of the network input, in
  cells of the (padded) input; a merge takes the per-axis maximum of its
  inputs' fields and jumps; flatten and global_pool see the whole span
  ``rf + (W - 1)·jump``; dense, activations and normalisation keep it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from math import prod

from netspec.diagnostics import Diagnostic, error, warning
from netspec.infer import recovery, shapes
from netspec.infer.facts import Analysis, LayerFacts
from netspec.infer.shapes import ShapeError
from netspec.infer.shortcuts import renamed, settle
from netspec.ir import (
    SHORTCUTS,
    BatchNormAttrs,
    ConcatAttrs,
    ConvAttrs,
    ConvTransposeAttrs,
    DenseAttrs,
    DepthwiseConvAttrs,
    Graph,
    LayerNormAttrs,
    Node,
    NormalizationAttrs,
    PoolAttrs,
    SeparableConvAttrs,
    UpsampleAttrs,
)
from netspec.ops import OPS

Shape = tuple[int, ...]
Field = tuple[tuple[int, ...], tuple[int, ...]]  # (receptive field, jump) per spatial axis


def _padded_ends(node: Node, nodes: dict[str, Node]) -> tuple[int, ...]:
    """Per spatial axis, how many trailing cells of ``node``'s input are zero padding added by the
    ``zero_pad`` layers (ops that pad their input) that directly precede it (0 when none does)."""
    ends: tuple[int, ...] = ()
    source = nodes.get(node.inputs[0]) if node.inputs else None
    while source is not None and OPS[source.op].pads_input:
        highs = tuple(high for _, high in source.attrs.padding)
        ends = tuple(a + b for a, b in zip(ends, highs)) if ends else highs
        source = nodes.get(source.inputs[0]) if source.inputs else None
    return ends


def _unseen_warnings(node: Node, shape: Shape, padded_ends: tuple[int, ...] = ()) -> list[Diagnostic]:
    """Warn (once per layer) when a stride leaves real trailing cells of the input unread.

    SAME padding never loses cells by construction; cells that are only
    padding are not worth a warning, so only real rows/columns count — the
    layer's own padding and ``padded_ends``, the cells a preceding
    ``zero_pad`` added at the end of each axis. Axes whose window is
    narrower than the stride (a 1×1/2 projection) skip cells between
    windows by design, so the edge is no accident there: no warning.
    """
    kernel, strides, dilation, padding = shapes.window_geometry(node.attrs)
    if padding == "same":
        return []
    rank = len(kernel)
    words = {1: [("time step", "long")], 2: [("row", "high"), ("column", "wide")],
             3: [("slice", "deep"), ("row", "high"), ("column", "wide")]}.get(rank)
    pads = shapes.window_pads(node.attrs, shape)
    losses = []  # (unit, adjective, length, extent, pad total, span, stride, lost) per affected axis
    for axis, (length, size, stride, rate, pad) in enumerate(zip(shape[:-1], kernel, strides, dilation, pads)):
        extent = shapes.effective_kernel(size, rate)
        if extent < stride:
            continue
        lost = shapes.unseen_length(length, extent, stride, pad) - pad[1]
        lost -= padded_ends[axis] if axis < len(padded_ends) else 0
        if lost <= 0:
            continue
        unit, adjective = words[axis] if words else (f"cell of axis {axis}", "long")
        span = length - extent + pad[0] + pad[1]
        losses.append((unit, adjective, length, extent, pad[0] + pad[1], span, stride, lost))
    if not losses:
        return []

    def arithmetic(length: int, extent: int, padded: int, span: int, stride: int) -> str:
        return f"{length} - {extent}{f' + {padded}' if padded else ''} = {span} is not a multiple of S={stride}"

    if len(losses) > 1 and len({loss[2:] for loss in losses}) == 1:  # the same on every axis: say it once
        _, _, length, extent, padded, span, stride, lost = losses[0]
        units = " and ".join(f"{loss[0]}(s)" for loss in losses)
        size = "×".join(str(length) for _ in losses)
        what = f"the last {lost} {units} of the {size} input are"
        why = arithmetic(length, extent, padded, span, stride)
    else:
        what = " and ".join(f"the last {lost} {unit}(s) of the {length}-{adjective} input"
                            for unit, adjective, length, _, _, _, _, lost in losses)
        what += " are"
        why = "; ".join(arithmetic(*loss[2:7]) for loss in losses)
    return [warning("unseen-input", f"{_subject(node)}: {what} never seen ({why})", node.span,
                    "use P: same, or choose F, S and P so that S divides W - F_eff + 2P")]


# --- shape rules: (attrs, input shapes) -> output shape ----------------------


def _single(shapes_in: Sequence[Shape]) -> Shape:
    if len(shapes_in) != 1:
        raise ShapeError(f"takes one input but got {len(shapes_in)}", code="arity")
    return shapes_in[0]


def _input_shape(attrs, shapes_in: Sequence[Shape]) -> Shape:
    if not attrs.shape or any(d < 1 for d in attrs.shape):
        raise ShapeError(f"needs a shape of positive sizes, such as [28, 28, 1], but got {list(attrs.shape)}",
                         code="bad-input")
    return tuple(attrs.shape)


def _conv_shape(attrs: ConvAttrs, shapes_in: Sequence[Shape]) -> Shape:
    shape = _single(shapes_in)
    spatial = shapes.window_output(attrs, shape)
    channels = shape[-1]
    if channels % attrs.groups:
        raise ShapeError(f"has groups={attrs.groups}, which must divide its {channels} input channels",
                         code="groups")
    if attrs.filters % attrs.groups:
        raise ShapeError(f"has groups={attrs.groups}, which must divide K={attrs.filters}", code="groups")
    return spatial + (attrs.filters,)


def _depthwise_shape(attrs: DepthwiseConvAttrs, shapes_in: Sequence[Shape]) -> Shape:
    shape = _single(shapes_in)
    return shapes.window_output(attrs, shape) + (shape[-1] * attrs.depth_multiplier,)


def _separable_shape(attrs: SeparableConvAttrs, shapes_in: Sequence[Shape]) -> Shape:
    return shapes.window_output(attrs, _single(shapes_in)) + (attrs.filters,)


def _spatial_of(attrs_axes: Sequence[int], shape: Shape, what: str) -> Shape:
    spatial = shape[:-1]
    if len(spatial) != len(attrs_axes):
        raise ShapeError(f"has {what} for {len(attrs_axes)} spatial axes but its input {shape} has {len(spatial)}",
                         f"give one number, or {len(spatial)} (one per spatial axis)", code="rank-mismatch")
    return spatial


def _conv_transpose_shape(attrs: ConvTransposeAttrs, shapes_in: Sequence[Shape]) -> Shape:
    shape = _single(shapes_in)
    spatial = _spatial_of(attrs.kernel, shape, "a kernel")
    pads = attrs.padding if isinstance(attrs.padding, tuple) else ((0, 0),) * len(spatial)
    for size, (low, high) in zip(attrs.kernel, pads):
        if low > size - 1 or high > size - 1:
            raise ShapeError(f"crops {(low, high)} cells but its kernel F={size} allows at most {size - 1} a side",
                             "use P: same, or crop at most F - 1 cells on each side", code="bad-padding")
    out = tuple(shapes.transposed_output_length(length, size, stride,
                                                attrs.padding if isinstance(attrs.padding, str) else pad)
                for length, size, stride, pad in zip(spatial, attrs.kernel, attrs.strides, pads))
    if any(length < 1 for length in out):
        raise ShapeError(f"gives an empty output {out}", code="empty-output")
    return out + (attrs.filters,)


def _upsample_shape(attrs: UpsampleAttrs, shapes_in: Sequence[Shape]) -> Shape:
    shape = _single(shapes_in)
    spatial = _spatial_of(attrs.size, shape, "factors")
    return tuple(length * factor for length, factor in zip(spatial, attrs.size)) + (shape[-1],)


def _pool_shape(attrs: PoolAttrs, shapes_in: Sequence[Shape]) -> Shape:
    shape = _single(shapes_in)
    return shapes.window_output(attrs, shape) + (shape[-1],)


def _global_pool_shape(attrs, shapes_in: Sequence[Shape]) -> Shape:
    shape = _single(shapes_in)
    if len(shape) < 2:
        raise ShapeError(f"needs a spatial input such as (H, W, C), but its input {shape} has no spatial axes",
                         "global_pool replaces flatten; remove the flatten before it", code="no-spatial-axes")
    if attrs.keepdims:
        return (1,) * (len(shape) - 1) + (shape[-1],)
    return (shape[-1],)


def _dense_shape(attrs: DenseAttrs, shapes_in: Sequence[Shape]) -> Shape:
    shape = _single(shapes_in)
    if not shape or shape[-1] < 1:
        raise ShapeError(f"needs an input with a non-empty last axis, but got {shape}", code="empty-input")
    return shape[:-1] + (attrs.units,)


def _flatten_shape(attrs, shapes_in: Sequence[Shape]) -> Shape:
    return (prod(_single(shapes_in)),)


def _reshape_shape(attrs, shapes_in: Sequence[Shape]) -> Shape:
    return shapes.reshape_target(_single(shapes_in), attrs.shape)


def _same_shape(attrs, shapes_in: Sequence[Shape]) -> Shape:
    return _single(shapes_in)


def _channel_shape(attrs, shapes_in: Sequence[Shape]) -> Shape:
    shape = _single(shapes_in)
    if not shape:
        raise ShapeError("needs an input with a channel axis, but got ()", code="empty-input")
    return shape


def _preprocess_shape(attrs, shapes_in: Sequence[Shape]) -> Shape:
    shape = _single(shapes_in)
    if attrs.mode in ("caffe", "torch") and shape[-1:] != (3,):
        raise ShapeError(f"preprocess: {attrs.mode} needs RGB images (3 channels), but the input is "
                         f"{list(shape)}", code="preprocess-channels")
    return shape


def _zero_pad_shape(attrs, shapes_in: Sequence[Shape]) -> Shape:
    shape = _single(shapes_in)
    spatial = shape[:-1]
    if len(attrs.padding) != len(spatial) or not spatial:
        raise ShapeError(f"has pads for {len(attrs.padding)} spatial axes but its input {shape} has "
                         f"{len(spatial)}", code="rank-mismatch")
    if any(p < 0 for pair in attrs.padding for p in pair):
        raise ShapeError(f"needs non-negative pads but got {attrs.padding}", code="bad-padding")
    return tuple(length + low + high for length, (low, high) in zip(spatial, attrs.padding)) + (shape[-1],)


def _broadcast_shape(attrs, shapes_in: Sequence[Shape]) -> Shape:
    """NumPy's rule: align trailing axes; on each, the sizes are equal or 1 (the batch axis is not involved)."""
    if len(shapes_in) < 2:
        raise ShapeError(f"needs at least 2 inputs (from: [a, b]) but got {len(shapes_in)}", code="arity")
    out = shapes_in[0]
    for index, shape in enumerate(shapes_in[1:], start=1):
        joined = shapes.broadcast(out, shape)
        if joined is None:
            first = next(i for i in range(index) if shapes.broadcast(shapes_in[i], shape) is None)
            raise ShapeError(f"needs inputs that broadcast (NumPy's rule: aligned from the last axis, sizes "
                             f"equal or 1), but input {first + 1} gives {shapes_in[first]} and input "
                             f"{index + 1} gives {shape}", code="broadcast-mismatch", inputs=(first, index))
        out = joined
    return out


def _subtract_shape(attrs, shapes_in: Sequence[Shape]) -> Shape:
    if len(shapes_in) != 2:
        raise ShapeError(f"takes exactly 2 inputs (from: [a, b], giving a - b) but got {len(shapes_in)}",
                         code="arity")
    return _broadcast_shape(attrs, shapes_in)


def concat_pads(attrs: ConcatAttrs, input_shapes: Sequence[Shape]) -> tuple[shapes.PadsPerAxis, ...]:
    """Per input, the (low, high) zero pads per spatial axis that ``concat``
    applies: none with ``pad="error"``; with ``pad="zero"`` every input grows
    to the largest size on each axis, split like SAME (low = total // 2)."""
    if attrs.pad != "zero":
        return tuple(tuple((0, 0) for _ in shape[:-1]) for shape in input_shapes)
    target = [max(sizes) for sizes in zip(*(shape[:-1] for shape in input_shapes))]
    return tuple(tuple(shapes.center_pads(length, goal) for length, goal in zip(shape[:-1], target))
                 for shape in input_shapes)


def _concat_shape(attrs: ConcatAttrs, shapes_in: Sequence[Shape]) -> Shape:
    if not shapes_in:
        raise ShapeError("needs at least one input", code="arity")
    for index, shape in enumerate(shapes_in[1:], start=1):
        if len(shape) != len(shapes_in[0]):
            raise ShapeError(f"needs inputs of one rank, but input 1 gives {shapes_in[0]} and "
                             f"input {index + 1} gives {shape}", code="shape-mismatch", inputs=(0, index))
        if shape[:-1] != shapes_in[0][:-1] and attrs.pad == "error":
            raise ShapeError(
                f"needs inputs of one spatial size, but input 1 gives {shapes.format_extent(shapes_in[0][:-1])} "
                f"and input {index + 1} gives {shapes.format_extent(shape[:-1])}",
                "give every branch P: same, or set pad: zero to zero-pad smaller maps to the largest "
                "(GoogLeNet's DepthConcat)", code="concat-mismatch", inputs=(0, index))
    spatial = tuple(max(sizes) for sizes in zip(*(shape[:-1] for shape in shapes_in)))
    return spatial + (sum(shape[-1] for shape in shapes_in),)


# --- parameter rules: (attrs, input shapes, output shape) -> (trainable, non-trainable)


def _no_params(attrs, shapes_in, out) -> tuple[int, int]:
    return 0, 0


def _conv_params(attrs: ConvAttrs, shapes_in, out) -> tuple[int, int]:
    per_filter = prod(attrs.kernel) * shapes_in[0][-1] // attrs.groups
    return attrs.filters * per_filter + attrs.filters * attrs.use_bias, 0


def _depthwise_params(attrs: DepthwiseConvAttrs, shapes_in, out) -> tuple[int, int]:
    channels = shapes_in[0][-1] * attrs.depth_multiplier
    return prod(attrs.kernel) * channels + channels * attrs.use_bias, 0


def _separable_params(attrs: SeparableConvAttrs, shapes_in, out) -> tuple[int, int]:
    channels = shapes_in[0][-1] * attrs.depth_multiplier
    return prod(attrs.kernel) * channels + channels * attrs.filters + attrs.filters * attrs.use_bias, 0


def _conv_transpose_params(attrs: ConvTransposeAttrs, shapes_in, out) -> tuple[int, int]:
    return attrs.filters * prod(attrs.kernel) * shapes_in[0][-1] + attrs.filters * attrs.use_bias, 0


def _dense_params(attrs: DenseAttrs, shapes_in, out) -> tuple[int, int]:
    return shapes_in[0][-1] * attrs.units + attrs.units * attrs.use_bias, 0


def _batchnorm_params(attrs: BatchNormAttrs, shapes_in, out) -> tuple[int, int]:
    channels = out[-1]
    return channels * (attrs.scale + attrs.center), 2 * channels


def _normalization_shape(attrs: NormalizationAttrs, shapes_in: Sequence[Shape]) -> Shape:
    shape = _channel_shape(attrs, shapes_in)
    for what, values in (("mean", attrs.mean), ("variance", attrs.variance)):
        if values is not None and len(values) not in (1, shape[-1]):
            raise ShapeError(f"has {len(values)} values of {what}, but its input {shape} has {shape[-1]} channels",
                             "give one value per channel, or one for all", code="normalization-channels")
    return shape


def _normalization_params(attrs: NormalizationAttrs, shapes_in, out) -> tuple[int, int]:
    return 0, 2 * out[-1] + 1  # mean and variance per channel and a count, none trained (Keras)


def _layernorm_params(attrs: LayerNormAttrs, shapes_in, out) -> tuple[int, int]:
    return out[-1] * (attrs.scale + attrs.center), 0


# --- MACs rules: (attrs, input shapes, output shape) -> multiply-accumulates --


def _no_macs(attrs, shapes_in, out) -> int:
    return 0


def _conv_macs(attrs: ConvAttrs, shapes_in, out) -> int:
    return prod(out[:-1]) * attrs.filters * prod(attrs.kernel) * shapes_in[0][-1] // attrs.groups


def _depthwise_macs(attrs: DepthwiseConvAttrs, shapes_in, out) -> int:
    return prod(out[:-1]) * out[-1] * prod(attrs.kernel)


def _separable_macs(attrs: SeparableConvAttrs, shapes_in, out) -> int:
    channels = shapes_in[0][-1] * attrs.depth_multiplier
    return prod(out[:-1]) * channels * (prod(attrs.kernel) + attrs.filters)


def _conv_transpose_macs(attrs: ConvTransposeAttrs, shapes_in, out) -> int:
    """Every input cell scatters into F cells of K filters."""
    return prod(shapes_in[0][:-1]) * shapes_in[0][-1] * attrs.filters * prod(attrs.kernel)


def _dense_macs(attrs: DenseAttrs, shapes_in, out) -> int:
    return prod(out[:-1]) * shapes_in[0][-1] * attrs.units


# --- receptive-field rules: (attrs, input shapes, input fields) -> field ------


def _input_field(attrs, shapes_in, fields: Sequence[Field]) -> Field:
    """One cell per spatial axis of the network input (none for a vector input)."""
    rank = max(len(attrs.shape) - 1, 0)
    return (1,) * rank, (1,) * rank


def _merge_field(attrs, shapes_in, fields: Sequence[Field]) -> Field:
    """Per-axis maximum of the inputs' fields and jumps (a merge sees the
    widest of its inputs; differing jumps only arise with pad: zero)."""
    fields_, jumps = zip(*fields)
    return (tuple(map(max, zip_longest(*fields_, fillvalue=0))),
            tuple(map(max, zip_longest(*jumps, fillvalue=0))))


def _window_field(attrs, shapes_in, fields: Sequence[Field]) -> Field:
    (field, jump), = fields
    kernel, strides, dilation, _ = shapes.window_geometry(attrs)
    if len(field) != len(kernel):
        return field, jump
    steps = [shapes.receptive_field_step(f, j, shapes.effective_kernel(k, d), s)
             for f, j, k, s, d in zip(field, jump, kernel, strides, dilation)]
    return tuple(f for f, _ in steps), tuple(j for _, j in steps)


def _reshape_field(attrs, shapes_in, fields: Sequence[Field]) -> Field:
    """Positions keep their field when the spatial axes are unchanged; otherwise values mix: the whole span."""
    if shapes.reshape_target(shapes_in[0], attrs.shape)[:-1] == shapes_in[0][:-1]:
        return fields[0]
    return _whole_field(attrs, shapes_in, fields)


def _upsampling_field(attrs, shapes_in, fields: Sequence[Field]) -> Field:
    """Upsampling by S: an output cell depends on ceil(F / S) input cells along an axis
    (conv_transpose), 2 (bilinear) or 1 (nearest); the jump shrinks by S, rounded down to at
    least 1 cell — the fields that follow are then lower bounds."""
    (field, jump), = fields
    factors = attrs.strides if isinstance(attrs, ConvTransposeAttrs) else attrs.size
    if len(field) != len(factors):
        return field, jump
    if isinstance(attrs, ConvTransposeAttrs):
        taps = [-(-size // stride) for size, stride in zip(attrs.kernel, attrs.strides)]
    else:
        taps = [2 if attrs.interpolation == "bilinear" and factor > 1 else 1 for factor in factors]
    return (tuple(f + (t - 1) * j for f, t, j in zip(field, taps, jump)),
            tuple(max(1, j // s) for j, s in zip(jump, factors)))


def _whole_field(attrs, shapes_in, fields: Sequence[Field]) -> Field:
    (field, jump), = fields
    spatial = shapes_in[0][:-1]
    if len(spatial) != len(field):  # already flat: nothing left to widen
        return field, jump
    return tuple(shapes.whole_span(f, j, w) for f, j, w in zip(field, jump, spatial)), jump


@dataclass(frozen=True)
class Rule:
    """How static inference treats one op."""

    shape: Callable[..., Shape]
    params: Callable[..., tuple[int, int]] = _no_params
    macs: Callable[..., int] = _no_macs
    field: Callable[..., Field] = _merge_field
    # after a shape error, the shape the node was most likely meant to have (netspec.infer.recovery)
    recover: Callable[..., Shape | None] = recovery.no_recovery


RULES: dict[str, Rule] = {
    "input": Rule(_input_shape, field=_input_field),
    "conv": Rule(_conv_shape, _conv_params, _conv_macs, _window_field, recovery.window_same),
    "depthwise_conv": Rule(_depthwise_shape, _depthwise_params, _depthwise_macs, _window_field,
                           recovery.window_same),
    "separable_conv": Rule(_separable_shape, _separable_params, _separable_macs, _window_field,
                           recovery.window_same),
    "conv_transpose": Rule(_conv_transpose_shape, _conv_transpose_params, _conv_transpose_macs, _upsampling_field),
    "upsample": Rule(_upsample_shape, field=_upsampling_field),
    "pool": Rule(_pool_shape, field=_window_field, recover=recovery.window_same),
    "global_pool": Rule(_global_pool_shape, field=_whole_field),
    "dense": Rule(_dense_shape, _dense_params, _dense_macs, recover=recovery.kept_units),
    "flatten": Rule(_flatten_shape, field=_whole_field),
    "reshape": Rule(_reshape_shape, field=_reshape_field),
    "dropout": Rule(_same_shape, recover=recovery.first_input),
    "batchnorm": Rule(_channel_shape, _batchnorm_params, recover=recovery.first_input),
    "layernorm": Rule(_channel_shape, _layernorm_params, recover=recovery.first_input),
    "lrn": Rule(_channel_shape, recover=recovery.first_input),
    "rescaling": Rule(_same_shape, recover=recovery.first_input),
    "normalization": Rule(_normalization_shape, _normalization_params, recover=recovery.first_input),
    "zero_pad": Rule(_zero_pad_shape),
    "activation": Rule(_same_shape, recover=recovery.first_input),
    "add": Rule(_broadcast_shape, recover=recovery.largest_input),
    "multiply": Rule(_broadcast_shape, recover=recovery.largest_input),
    "subtract": Rule(_subtract_shape, recover=recovery.largest_input),
    "maximum": Rule(_broadcast_shape, recover=recovery.largest_input),
    "minimum": Rule(_broadcast_shape, recover=recovery.largest_input),
    "average": Rule(_broadcast_shape, recover=recovery.largest_input),
    "concat": Rule(_concat_shape, recover=recovery.summed_channels),
    "preprocess": Rule(_preprocess_shape, recover=recovery.first_input),
}


def output_shape(op: str, attrs, input_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """Output shape (batch excluded, channels-last) of ``op`` over ``input_shapes``.

    Raises :class:`ShapeError` when the op cannot apply to them.

    >>> from netspec.ir import ConvAttrs
    >>> output_shape("conv", ConvAttrs(64, (3, 3), (2, 2), "same", (1, 1)), [(224, 224, 3)])
    (112, 112, 64)
    """
    out = RULES[op].shape(attrs, [tuple(s) for s in input_shapes])
    if any(d < 1 for d in out):
        raise ShapeError(f"gives an empty output {out}", code="empty-output")
    return out


def recovery_shape(op: str, attrs, shapes_in: Sequence[Shape]) -> Shape | None:
    """After a shape error, the shape ``op`` most likely was meant to give on ``shapes_in`` (its
    rule's ``recover``), or None when there is no sensible guess.

    >>> recovery_shape("concat", ConcatAttrs(), [(4, 4, 8), (2, 2, 8)])
    (4, 4, 16)
    """
    if not shapes_in:
        return None
    return RULES[op].recover(attrs, list(shapes_in), lambda variant, shapes_: output_shape(op, variant, shapes_))


# --- the pass -----------------------------------------------------------------


def _subject(node: Node) -> str:
    word = node.attrs.activation.name if node.op == "activation" else node.op
    return f"{word} '{node.name}'"


def _residual_part(node: Node, graph: Graph, name: str) -> str:
    """Which part of the residual block around ``node`` its input ``name`` is:
    "shortcut" (a node under the block's shortcut scope), "identity" (from
    outside the block: an identity shortcut) or "body" (the block's own nodes)."""
    source = graph.node(name)
    depth = len(node.scope)
    if source.scope[:depth] != node.scope:
        return "identity"
    if len(source.scope) > depth and source.scope[depth].kind == "shortcut":
        return "shortcut"
    return "body"


def _residual_diagnostic(node: Node, graph: Graph, shapes_in: Sequence[Shape]) -> Diagnostic | None:
    """Body versus shortcut, for the add that closes a residual block."""
    parts = {_residual_part(node, graph, name): shape for name, shape in zip(node.inputs, shapes_in)}
    if len(node.inputs) != 2 or len(parts) != 2 or "body" not in parts:
        return None
    body = parts.pop("body")
    kind, shortcut = parts.popitem()
    block = node.scope[-1]
    message = (f"residual '{'/'.join(scope.name for scope in node.scope)}': the body gives {body} "
               f"but the shortcut gives {shortcut}")
    if kind == "identity":
        return error("residual-mismatch", message + "; use shortcut: projection or auto", block.span or node.span,
                     "shortcut: auto inserts a 1×1 conv (+ batchnorm) with the body's stride when shapes differ")
    return error("residual-mismatch", message, block.span or node.span,
                 "give the shortcut the body's stride and K, or keep the body's spatial size (P: same)")


def _merge_diagnostic(node: Node, graph: Graph, exc: ShapeError, shapes_in: Sequence[Shape]) -> Diagnostic:
    """Name the two disagreeing inputs; a residual block speaks of body and shortcut."""
    if node.op == "add" and node.scope and node.scope[-1].kind == "residual":
        residual = _residual_diagnostic(node, graph, shapes_in)
        if residual is not None:
            return residual
    names = [node.inputs[i] for i in exc.inputs]
    if exc.code == "broadcast-mismatch":
        first, second = (shapes_in[i] for i in exc.inputs)
        return error(exc.code, f"{_subject(node)} needs inputs that broadcast, but '{names[0]}' gives {first} "
                     f"and '{names[1]}' gives {second}", node.span,
                     "aligned from the last axis, each size must be equal or 1 (NumPy's rule); "
                     "a (1, 1, C) gate comes from global_pool: {keepdims: true} or reshape: [1, 1, C]")
    if exc.code == "concat-mismatch":
        what, shown = "one spatial size", [shapes.format_extent(shapes_in[i][:-1]) for i in exc.inputs]
    else:
        what, shown = ("one rank" if node.op == "concat" else "one shape"), [str(shapes_in[i]) for i in exc.inputs]
    hint = exc.hint or "insert a 1×1 conv or a pool so that both inputs agree"
    return error(exc.code, f"{_subject(node)} needs inputs of {what}, but '{names[0]}' gives {shown[0]} "
                 f"and '{names[1]}' gives {shown[1]}", node.span, hint)


def infer(graph: Graph) -> Analysis:
    """Shapes, parameters, MACs and receptive fields of every node of ``graph``.

    Errors become diagnostics at the node's span. A failed node gets a recovery shape (what the
    usual fix would give) so inference goes on and every independent error is reported in one
    run; an error at a node that reads such a guess directly is a follow-on and is not reported.
    Failed nodes have no entry in ``layers``.
    """
    layers: dict[str, LayerFacts] = {}
    fields: dict[str, Field] = {}
    failed: set[str] = set()
    guessed: dict[str, Shape] = {}  # failed nodes' recovery shapes (see netspec.infer.recovery)
    by_name = {node.name: node for node in graph.nodes}
    diagnostics: list[Diagnostic] = []
    nodes, output = list(graph.nodes), graph.output
    pending = dict(graph.meta.get(SHORTCUTS) or {})
    index = 0
    while index < len(nodes):
        if nodes[index].name in pending:  # decide the shortcut now that the add's inputs have shapes
            settled = settle(nodes[index], pending.pop(nodes[index].name),
                             {name: facts.output_shape for name, facts in layers.items()})
            nodes[index:index + 1] = settled.nodes
            if settled.renames:
                after = index + len(settled.nodes)
                nodes[after:] = [renamed(node, settled.renames) for node in nodes[after:]]
                output = settled.renames.get(output, output)
                pending = {settled.renames.get(name, name): shortcut for name, shortcut in pending.items()}
            by_name.update((node.name, node) for node in nodes[index:])
        node = nodes[index]
        index += 1
        rule = RULES.get(node.op)
        missing = [name for name in node.inputs if name not in layers and name not in guessed]
        if rule is None or missing:
            failed.add(node.name)
            unknown = [name for name in missing if name not in failed]
            if rule is None:
                diagnostics.append(error("unknown-op", f"unknown op '{node.op}' in node '{node.name}'",
                                         node.span))
            elif unknown:
                diagnostics.append(error("unknown-input", f"{_subject(node)} takes '{unknown[0]}', which is "
                                         "not an earlier layer", node.span))
            continue
        shapes_in = [guessed[name] if name in guessed else layers[name].output_shape for name in node.inputs]
        try:
            out = output_shape(node.op, node.attrs, shapes_in)
            if node.op == "add" and node.scope and node.scope[-1].kind == "residual" and len(set(shapes_in)) > 1:
                raise ShapeError("adds body and shortcut, which must have one shape (no broadcasting)",
                                 code="shape-mismatch", inputs=(0, 1))
        except ShapeError as exc:
            failed.add(node.name)
            blamed = [node.inputs[i] for i in exc.inputs] if exc.inputs is not None else list(node.inputs)
            if not any(name in guessed for name in blamed):  # else a follow-on of an earlier error
                if exc.inputs is not None:
                    diagnostics.append(_merge_diagnostic(node, graph, exc, shapes_in))
                else:
                    diagnostics.append(error(exc.code, f"{_subject(node)} {exc.message}", node.span, exc.hint))
            recovered = recovery_shape(node.op, node.attrs, shapes_in)
            if recovered is not None:
                guessed[node.name] = recovered
                fields[node.name] = fields[node.inputs[0]]
            continue
        trainable, frozen = rule.params(node.attrs, shapes_in, out)
        field = rule.field(node.attrs, shapes_in, [fields[name] for name in node.inputs])
        pads = None
        if OPS[node.op].windowed:
            pads = shapes.window_pads(node.attrs, shapes_in[0])
            found = _unseen_warnings(node, shapes_in[0], _padded_ends(node, by_name))
            diagnostics.extend(d for d in found if d.code not in node.allow)
        elif OPS[node.op].pads_input:
            pads = tuple(node.attrs.padding)
        fields[node.name] = field
        layers[node.name] = LayerFacts(
            name=node.name, op=node.op, input_shapes=tuple(shapes_in), output_shape=out,
            trainable_params=trainable, non_trainable_params=frozen,
            macs=rule.macs(node.attrs, shapes_in, out), receptive_field=field[0], jump=field[1], pads=pads)
    if SHORTCUTS in graph.meta:  # the settled graph is the model; the resolved one had shortcuts open
        graph = dataclasses.replace(graph, nodes=tuple(nodes), output=output,
                                    meta={key: value for key, value in graph.meta.items() if key != SHORTCUTS})
    return Analysis(graph=graph, layers=layers, diagnostics=tuple(diagnostics))
