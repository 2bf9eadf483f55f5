"""Lowering choices: how a conv or pooling layer becomes XLA operations.

The emitter can write a layer either as Flax's own call (``self.conv(x)``,
``nnx.max_pool(...)``, which lower to ``lax.conv_general_dilated`` and
``lax.reduce_window``) or as a helper with the same maths and parameters:

* ``conv_im2col_grad(self.conv, x)``: XLA's convolution forward and for the
  input's gradient; the kernel's gradient (a ``jax.custom_vjp``) by im2col
  and a matmul over batch chunks instead of XLA's batch-contracting
  convolution.
* ``conv_by_slices(self.conv, x)``: im2col forward: shifted (strided,
  dilated) slices of the padded input concatenated on the channel axis, then
  one matmul with the kernel reshaped to ``(window * C_in, C_out)``; autodiff
  differentiates the matmul.
* ``conv_by_shifts(self.conv, x)``: for convs with few values per window
  (window x C_in, e.g. a first layer on grey or RGB images): the forward pass
  as a sum of shifted input slices, each channel times its kernel row, which
  XLA fuses into one element-wise loop; the gradients (a ``jax.custom_vjp``)
  as ``conv_im2col_grad``'s.
* ``pool_by_slices(x, window, mode)``: non-overlapping pooling (strides ==
  window, no padding) as the element-wise max or mean of strided slices.

The conv helpers read kernel, bias, strides, dilation, padding and groups from
the ``nnx.Conv`` module itself, so the parameters (and checkpoints and
imported weights) are exactly those of the ``lax`` lowering. Which lowering
a layer gets is :func:`choose`'s decision from a rule table per backend
(:data:`RULES`, calibrated by ``benchmarks/lowering.py``), or forced for
every layer it applies to (``lax``, ``im2col``, ``im2col-grad``, ``shifts``).

Pure Python: the backend is a name given by the caller; nothing here imports JAX.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, cast

from netspec.infer.shapes import window_output
from netspec.ir import ConvAttrs, DepthwiseConvAttrs, Node, PoolAttrs
from netspec.ops import OPS

LoweringName = Literal["lax", "auto", "im2col", "im2col-grad", "shifts"]
LOWERINGS: tuple[str, ...] = ("lax", "auto", "im2col", "im2col-grad", "shifts")
BACKENDS: tuple[str, ...] = ("cpu", "gpu", "tpu")

# What a layer can be lowered to: Flax's own call, or one of the helpers below.
LAX_CALL = "lax"
CONV_BY_SLICES = "conv_by_slices"  # im2col forward; autodiff differentiates the matmul
CONV_IM2COL_GRAD = "conv_im2col_grad"  # XLA's convolution forward and for the input gradient, im2col for the kernel's
CONV_BY_SHIFTS = "conv_by_shifts"  # forward as shifted slices times kernel rows, summed; gradients as im2col-grad's
POOL_BY_SLICES = "pool_by_slices"  # non-overlapping windows as an element-wise max/mean of strided slices

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Rule:
    """What ``auto`` picks on one backend, for plain convolutions (groups == 1)
    from their output pixels per example and im2col row length (window x C_in),
    and for pools. A threshold of 0 never applies.

    * at most ``tiny_output`` output pixels: ``conv_by_slices``;
    * im2col rows of at most ``shift_rows`` values: ``conv_by_shifts``;
    * at least ``kernel_grad_pixels`` output pixels and ``wide`` filters:
      ``conv_im2col_grad``;
    * otherwise, and every grouped or depthwise conv: lax.

    ``pool``: non-overlapping pooling by strided slices.
    """

    tiny_output: int = 0
    shift_rows: int = 0
    kernel_grad_pixels: int = 0
    wide: int = 32
    pool: bool = False


# Calibrated on a 2-core Intel Xeon (AVX-512) by benchmarks/conv_parts.py (each
# conv's forward, input gradient and kernel gradient per lowering) and
# benchmarks/lowering.py (whole train steps); figures in docs/lowering.md.
# XLA:CPU's convolution is fast forward and for the input gradient on mid-size
# maps, but (1) its kernel gradient, a convolution contracting over the batch,
# is 1.2-3x slower than im2col + a matmul once maps have 8x8 pixels and 32
# filters; (2) on maps of 2x2 or 1x1 pixels it is 4-20x slower than the im2col
# matmul; (3) on a first layer (grey 5x5 or RGB 3x3: 25 or 27 values per im2col
# row) its forward pass is 3-5x slower than the sum of shifted multiply-adds
# (conv_by_shifts), which also beat the im2col matmul there. Pooling by strided
# slices differentiates as element-wise selects: 5x (reshape + max) and 11x
# (reduce_window + select_and_scatter) faster forward + backward. GPUs and TPUs
# have tuned convolutions (cuDNN, the MXU); until measured there, lax.
RULES: dict[str, Rule] = {
    "cpu": Rule(tiny_output=4, shift_rows=32, kernel_grad_pixels=64, wide=32, pool=True),
    "gpu": Rule(),
    "tpu": Rule(),
}

# conv_by_shifts writes one multiply-add per window offset and input channel; past this
# many (im2col row length) the program only grows, so even forced ``shifts`` leaves such a
# conv to lax.
MAX_SHIFT_TERMS = 64

FORCED: dict[str, str] = {"im2col": CONV_BY_SLICES, "im2col-grad": CONV_IM2COL_GRAD, "shifts": CONV_BY_SHIFTS}


@dataclass(frozen=True)
class Lowering:
    """The lowering asked for (one of :data:`LOWERINGS`) and the backend
    ``auto`` decides for (a ``jax.default_backend()`` name)."""

    name: str = "lax"
    backend: str = "cpu"


LAX = Lowering()


def rule_for(backend: str) -> Rule:
    """The backend's rule; an unknown backend (a plugin) gets lax everywhere."""
    return RULES.get(backend, Rule())


def pool_tiles_input(attrs: PoolAttrs, input_shape: Shape) -> bool:
    """True when every window covers its own cells and nothing is padded:
    strides equal to the window, and VALID padding (or SAME / explicit padding
    that pads nothing at these sizes)."""
    if tuple(attrs.strides) != tuple(attrs.window):
        return False
    sizes = input_shape[:-1]
    if attrs.padding == "valid":
        return True
    if attrs.padding == "same":
        return all(size % window == 0 for size, window in zip(sizes, attrs.window))
    if isinstance(attrs.padding, str):
        return False  # causal pads the front
    return all(low == 0 and high == 0 for low, high in attrs.padding)


def choose(node: Node, input_shapes: list[Shape], lowering: Lowering) -> str:
    """How ``node`` is written under ``lowering``: :data:`LAX_CALL` or the name
    of the helper that computes it (:data:`CONV_BY_SLICES`,
    :data:`CONV_IM2COL_GRAD`, :data:`CONV_BY_SHIFTS`, :data:`POOL_BY_SLICES`)."""
    alternative = OPS[node.op].lowered_by if node.op in OPS else ""
    if lowering.name == "lax" or not alternative:
        return LAX_CALL
    forced = FORCED.get(lowering.name)
    rule = rule_for(lowering.backend)
    if alternative == "strided_slices":
        applies = pool_tiles_input(cast(PoolAttrs, node.attrs), input_shapes[0])
        return POOL_BY_SLICES if applies and (forced or rule.pool) else LAX_CALL
    attrs = cast(ConvAttrs | DepthwiseConvAttrs, node.attrs)
    grouped = isinstance(attrs, DepthwiseConvAttrs) or cast(ConvAttrs, attrs).groups != 1
    if attrs.padding == "causal" and len(input_shapes[0]) != 2:
        return LAX_CALL  # Flax accepts CAUSAL only for 1-D convs; leave its diagnostic to it
    if forced == CONV_BY_SLICES:
        return CONV_BY_SLICES  # grouped ones too: one einsum over the groups
    if grouped:
        return LAX_CALL  # im2col-grad's kernel gradient would be lax's; auto: unmeasured
    row = math.prod(attrs.kernel) * input_shapes[0][-1]
    if forced == CONV_BY_SHIFTS:
        return CONV_BY_SHIFTS if row <= MAX_SHIFT_TERMS else LAX_CALL
    if forced:
        return forced
    filters = attrs.filters if isinstance(attrs, ConvAttrs) else 0
    pixels = math.prod(window_output(attrs, input_shapes[0]))
    if rule.tiny_output and pixels <= rule.tiny_output:
        return CONV_BY_SLICES
    if row <= min(rule.shift_rows, MAX_SHIFT_TERMS):
        return CONV_BY_SHIFTS
    if rule.kernel_grad_pixels and pixels >= rule.kernel_grad_pixels and filters >= rule.wide:
        return CONV_IM2COL_GRAD
    return LAX_CALL


def lowered_call(node: Node, call: str, input_shapes: list[Shape], lowering: Lowering) -> tuple[str, frozenset[str]]:
    """``call`` (the emit rule's ``__call__`` text) rewritten for the chosen
    lowering, and the helpers it needs."""
    choice = choose(node, input_shapes, lowering)
    if choice in CONV_HELPERS:
        return call.replace("{layer}({0})", f"{choice}({{layer}}, {{0}})"), CONV_HELPERS[choice]
    if choice == POOL_BY_SLICES:
        attrs = cast(PoolAttrs, node.attrs)
        # Only integers and one of two fixed words reach the source (no text from the spec).
        window, mode = tuple(int(size) for size in attrs.window), {"max": '"max"', "avg": '"avg"'}[attrs.mode]
        return f"pool_by_slices({{0}}, {window!r}, {mode})", frozenset({POOL_BY_SLICES})
    return call, frozenset()


def apply(node: Node, code, input_shapes: list[Shape], lowering: Lowering):
    """The :class:`~netspec.emit.layers.LayerCode` ``code`` with its call lowered."""
    call, helpers = lowered_call(node, code.call, input_shapes, lowering)
    if call == code.call:
        return code
    return replace(code, call=call, helpers=code.helpers | helpers)


# What each conv lowering's generated code calls.
IM2COL_HELPERS = frozenset({"conv_operands", "conv_geometry", "conv_shifted_slices", "conv_columns"})
CONV_HELPERS: dict[str, frozenset[str]] = {
    CONV_BY_SLICES: IM2COL_HELPERS | {CONV_BY_SLICES},
    CONV_IM2COL_GRAD: IM2COL_HELPERS | {CONV_IM2COL_GRAD, "conv_lax", "conv_backward"},
    CONV_BY_SHIFTS: IM2COL_HELPERS | {CONV_BY_SHIFTS, "conv_lax", "conv_backward"},
}

# The helpers' source, written into the generated file when a layer uses them.
LOWERING_HELPERS: dict[str, str] = {
    "conv_operands": '''
def conv_operands(conv, x):
    """``x``, the kernel and the bias (or None) of an ``nnx.Conv`` in the dtype it computes in:
    its ``dtype`` when set (mixed precision sets it), else the operands' common type."""
    kernel, bias = conv.kernel[...], None if conv.bias is None else conv.bias[...]
    dtype = conv.dtype or jnp.result_type(x, kernel, *([] if bias is None else [bias]))
    return x.astype(dtype), kernel.astype(dtype), None if bias is None else bias.astype(dtype)
''',
    "conv_geometry": '''
def conv_geometry(conv, x):
    """An ``nnx.Conv``'s strides, kernel dilation and explicit (low, high) pads for input ``x``,
    with Flax's SAME / CAUSAL / VALID padding worked out as lax works it out."""
    window = conv.kernel.shape[:-2]
    rank = len(window)
    strides = conv.strides if isinstance(conv.strides, (tuple, list)) else (conv.strides or 1,) * rank
    dilation = conv.kernel_dilation
    dilation = dilation if isinstance(dilation, (tuple, list)) else (dilation or 1,) * rank
    spans = [d * (k - 1) + 1 for k, d in zip(window, dilation)]
    padding = conv.padding
    if isinstance(padding, str) and padding.upper() == "SAME":
        pads = []
        for size, span, stride in zip(x.shape[1:-1], spans, strides):
            total = max((-(-size // stride) - 1) * stride + span - size, 0)
            pads.append((total // 2, total - total // 2))
    elif isinstance(padding, str) and padding.upper() == "CAUSAL":
        pads = [(span - 1, 0) for span in spans]
    elif isinstance(padding, str):
        pads = [(0, 0)] * rank  # VALID
    else:
        pads = [tuple(pair) for pair in padding]
    return tuple(strides), tuple(dilation), [tuple(pair) for pair in pads]
''',
    "conv_shifted_slices": '''
def conv_shifted_slices(x, window, strides, dilation, pads):
    """The padded input's shifted (strided, dilated) slices, one per kernel offset in the
    kernel's row-major order, each (batch, *output sizes, C_in)."""
    x = jnp.pad(x, [(0, 0), *pads, (0, 0)])
    spans = [d * (k - 1) + 1 for k, d in zip(window, dilation)]
    out = [(size - span) // stride + 1 for size, span, stride in zip(x.shape[1:-1], spans, strides)]
    slices = []
    for offset in itertools.product(*(range(k) for k in window)):
        index = tuple(slice(o * d, o * d + (n - 1) * s + 1, s)
                      for o, d, n, s in zip(offset, dilation, out, strides))
        slices.append(x[(slice(None), *index, slice(None))])
    return slices
''',
    "conv_columns": '''
def conv_columns(x, window, strides, dilation, pads):
    """im2col: the shifted slices concatenated on the channel axis,
    (batch, *output sizes, window * C_in)."""
    slices = conv_shifted_slices(x, window, strides, dilation, pads)
    return jnp.concatenate(slices, axis=-1) if len(slices) > 1 else slices[0]
''',
    "conv_by_slices": '''
def conv_by_slices(conv, x):
    """``conv(x)`` for an ``nnx.Conv``, computed as im2col + one matmul with the kernel
    reshaped to ``(window * C_in / groups, C_out)``. Same parameters and maths as
    ``conv(x)``; faster where the backend's convolutions are slow.
    """
    x, kernel, bias = conv_operands(conv, x)  # kernel: (*window, C_in // groups, C_out)
    strides, dilation, pads = conv_geometry(conv, x)
    columns = conv_columns(x, kernel.shape[:-2], strides, dilation, pads)
    groups, group_in, features = conv.feature_group_count, kernel.shape[-2], kernel.shape[-1]
    offsets = columns.shape[-1] // (groups * group_in)
    if groups == 1:
        y = columns @ kernel.reshape(-1, features)
    else:  # one matmul per group: columns (..., offsets, groups, group_in) by kernel per group
        columns = columns.reshape(*columns.shape[:-1], offsets, groups, group_in)
        per_group = kernel.reshape(offsets, group_in, groups, features // groups)
        y = jnp.einsum("...kgc,kcgo->...go", columns, per_group).reshape(*columns.shape[:-3], features)
    return y if bias is None else y + bias
''',
    "conv_lax": '''
def conv_lax(x, kernel, strides, dilation, pads, groups):
    """XLA's convolution of channels-last ``x`` by an ``nnx.Conv`` kernel
    ``(*window, C_in // groups, C_out)``, as ``nnx.Conv`` calls it."""
    spatial = "DHW"[3 - (kernel.ndim - 2):]
    layout = ("N" + spatial + "C", spatial + "IO", "N" + spatial + "C")
    return jax.lax.conv_general_dilated(x, kernel, strides, pads, rhs_dilation=dilation,
                                        dimension_numbers=layout, feature_group_count=groups)
''',
    "conv_backward": '''
def conv_backward(x, kernel, g, strides, dilation, pads, groups):
    """The input's and the kernel's gradients of ``conv_lax(x, kernel, ...)`` for the output
    gradient ``g``: the input's by XLA's convolution; the kernel's by im2col + a matmul over
    batch chunks, where XLA's convolution for it (one contracting over the batch) is slow
    (grouped convs: XLA's).
    """
    dx = jax.vjp(lambda x: conv_lax(x, kernel, strides, dilation, pads, groups), x)[1](g)[0]
    if groups != 1:
        return dx, jax.vjp(lambda k: conv_lax(x, k, strides, dilation, pads, groups), kernel)[1](g)[0]
    columns = conv_columns(x, kernel.shape[:-2], strides, dilation, pads)
    rows, width, features = g.size // g.shape[-1], columns.shape[-1], g.shape[-1]
    # A long contraction (many pixels) splits into a few matmuls that keep every core busy;
    # a short one would only multiply the (width, features) partial sums.
    long = [c for c in (8, 4, 2) if rows % c == 0 and rows // c >= 4 * max(width, features)]
    chunks = long[0] if long else 1
    dk = jnp.einsum("bkm,bkn->bnm", columns.reshape(chunks, rows // chunks, width),
                    g.reshape(chunks, rows // chunks, features)).sum(0).T
    return dx, dk.reshape(kernel.shape)
''',
    "conv_im2col_grad": '''
def conv_im2col_grad(conv, x):
    """``conv(x)`` for an ``nnx.Conv``: XLA's convolution forward and for the input's
    gradient, but the kernel's gradient by im2col + a matmul (``conv_backward``). Same
    parameters and maths as ``conv(x)``.
    """
    x, kernel, bias = conv_operands(conv, x)  # kernel: (*window, C_in // groups, C_out)
    strides, dilation, pads = conv_geometry(conv, x)
    groups = conv.feature_group_count

    def forward(x, kernel):
        return conv_lax(x, kernel, strides, dilation, pads, groups)

    convolve = jax.custom_vjp(forward)
    convolve.defvjp(lambda x, kernel: (forward(x, kernel), (x, kernel)),
                    lambda saved, g: conv_backward(*saved, g, strides, dilation, pads, groups))
    y = convolve(x, kernel)
    return y if bias is None else y + bias
''',
    "conv_by_shifts": '''
def conv_by_shifts(conv, x):
    """``conv(x)`` for an ``nnx.Conv`` with few values per window (window x C_in, such as a
    first layer on grey or RGB images): the forward pass sums, over kernel offsets and input
    channels, the shifted input slice's channel times that kernel row, which XLA fuses into one
    loop over the output; the gradients are ``conv_backward``'s. Same parameters and maths as
    ``conv(x)`` (ungrouped convs only).
    """
    x, kernel, bias = conv_operands(conv, x)  # kernel: (*window, C_in, C_out)
    strides, dilation, pads = conv_geometry(conv, x)
    accumulate = jnp.promote_types(x.dtype, jnp.float32)  # bfloat16 terms still sum in float32

    def shifted_sum(x, kernel):
        slices = conv_shifted_slices(x, kernel.shape[:-2], strides, dilation, pads)
        rows = kernel.reshape(len(slices), *kernel.shape[-2:]).astype(accumulate)
        y = None
        for part, weights in zip(slices, rows):
            part = part.astype(accumulate)
            for channel in range(weights.shape[0]):
                term = part[..., channel:channel + 1] * weights[channel]
                y = term if y is None else y + term
        return y.astype(x.dtype)

    def forward(x, kernel):
        # XLA:CPU would fuse the element-wise sum into every consumer and redo it there (in a
        # pooling's strided slices and their gradient: a 3-4x slower train step). A conditional
        # is a boundary its fusion keeps, so the sum is written to memory once; the other
        # branch, the same convolution by XLA, runs only for a kernel with inf or nan in it.
        return jax.lax.cond(jnp.isfinite(kernel).all(), shifted_sum,
                            lambda x, kernel: conv_lax(x, kernel, strides, dilation, pads, 1), x, kernel)

    convolve = jax.custom_vjp(forward)
    convolve.defvjp(lambda x, kernel: (forward(x, kernel), (x, kernel)),
                    lambda saved, g: conv_backward(*saved, g, strides, dilation, pads, 1))
    y = convolve(x, kernel)
    return y if bias is None else y + bias
''',
    "pool_by_slices": '''
def pool_by_slices(x, window, mode):
    """Non-overlapping pooling (strides == window, no padding) as the element-wise max or
    mean of the window's strided slices; the same values as ``nnx.max_pool`` /
    ``nnx.avg_pool``. Trailing cells that fill no whole window are dropped, as VALID
    pooling drops them. The gradient is written out rather than derived: each pooled
    cell's gradient is broadcast over its window (to the first maximum, as lax's
    max-pool gradient does, or shared by the mean) in one element-wise pass, instead of
    one select and strided pad per slice.
    """
    sizes = [size // w for size, w in zip(x.shape[1:-1], window)]
    x = x[(slice(None), *(slice(0, n * w) for n, w in zip(sizes, window)), slice(None))]
    offsets = list(itertools.product(*(range(w) for w in window)))
    # The pooled map with a size-1 axis after each spatial axis, and the window's cells laid
    # out along those axes: (B, n1, 1, n2, 1, ..., C) against (B, n1, w1, n2, w2, ..., C).
    gathered = [x.shape[0], *(d for n, w in zip(sizes, window) for d in (n, w)), x.shape[-1]]
    spread = [x.shape[0], *(d for n in sizes for d in (n, 1)), x.shape[-1]]

    def forward(x):
        result, first = None, None
        for number, offset in enumerate(offsets):
            index = tuple(slice(o, o + (n - 1) * w + 1, w) for o, n, w in zip(offset, sizes, window))
            part = x[(slice(None), *index, slice(None))]
            if result is None:
                result, first = part, jnp.zeros(part.shape, jnp.float32) if mode == "max" else None
            elif mode == "max":
                first = jnp.where(part > result, float(number), first)  # which cell holds the max
                result = jnp.maximum(result, part)
            else:
                result = result + part
        return (result if mode == "max" else result / len(offsets)), first

    def backward(first, g):
        g = g.reshape(spread)
        if mode == "max":
            cell = jnp.arange(len(offsets), dtype=jnp.float32).reshape(window)
            cell = cell.reshape([1, *(d for w in window for d in (1, w)), 1])
            dx = jnp.where(first.reshape(spread) == cell, g, jnp.zeros((), g.dtype))
        else:
            dx = jnp.broadcast_to(g / len(offsets), gathered)
        return (dx.reshape(x.shape),)

    pool = jax.custom_vjp(lambda x: forward(x)[0])
    pool.defvjp(forward, backward)
    return pool(x)
''',
}
