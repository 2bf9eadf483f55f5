"""Lowering choices: how a conv or pooling layer becomes XLA operations.

The emitter can write a layer either as Flax's own call (``self.conv(x)``,
``nnx.max_pool(...)``, which lower to ``lax.conv_general_dilated`` and
``lax.reduce_window``) or as an alternative with the same maths:

* ``conv_by_slices(self.conv, x)``: im2col by shifted slices of the padded
  input, concatenated on the channel axis, then one matmul with the kernel
  reshaped to ``(window * C_in, C_out)``. It reads kernel, bias, strides,
  dilation, padding and groups from the ``nnx.Conv`` module itself, so the
  parameters (and checkpoints and imported weights) are exactly those of
  the ``lax`` lowering.
* ``pool_by_reshape(x, window, mode)``: non-overlapping pooling
  (strides == window, no padding) as a reshape and a max or mean over the
  window axes.

XLA's CPU convolutions and ``reduce_window`` (with its ``select_and_scatter``
gradient) are slow; a matmul of the patches is fast on every backend's BLAS.
Which lowering a layer gets is :func:`choose`'s decision from a rule table
per backend (:data:`RULES`, calibrated by ``benchmarks/lowering.py``), or
forced for every layer it applies to (``lax``, ``im2col``).

Pure Python: the backend is a name given by the caller; nothing here imports JAX.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, cast

from netspec.ir import ConvAttrs, DepthwiseConvAttrs, Node, PoolAttrs
from netspec.ops import OPS

LoweringName = Literal["lax", "auto", "im2col"]
LOWERINGS: tuple[str, ...] = ("lax", "auto", "im2col")
BACKENDS: tuple[str, ...] = ("cpu", "gpu", "tpu")

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Rule:
    """When ``auto`` picks the alternative lowering on one backend.

    ``conv``: plain convolutions (groups == 1) by slices; ``grouped_conv``:
    grouped and depthwise ones too; ``pool``: non-overlapping pooling by
    reshape.
    """

    conv: bool
    grouped_conv: bool
    pool: bool


# Calibrated on a 2-core Zen 4 CPU by benchmarks/lowering.py (figures in
# docs/lowering.md): slices + matmul beat XLA:CPU's convolution on every plain
# conv measured (1x1 to 5x5, 1 to 256 channels, strided and dilated), and the
# reshape pool beats reduce_window plus its select_and_scatter gradient.
# Grouped/depthwise convs by slices do a batched matmul with a tiny inner
# dimension; unmeasured as a win, so they stay on lax. GPUs and TPUs have
# tuned convolutions (cuDNN, the MXU); until measured there, lax.
RULES: dict[str, Rule] = {
    "cpu": Rule(conv=True, grouped_conv=False, pool=True),
    "gpu": Rule(conv=False, grouped_conv=False, pool=False),
    "tpu": Rule(conv=False, grouped_conv=False, pool=False),
}


@dataclass(frozen=True)
class Lowering:
    """The lowering asked for (``lax``, ``auto`` or ``im2col``) and the backend
    ``auto`` decides for (a ``jax.default_backend()`` name)."""

    name: str = "lax"
    backend: str = "cpu"


LAX = Lowering()


def rule_for(backend: str) -> Rule:
    """The backend's rule; an unknown backend (a plugin) gets lax everywhere."""
    return RULES.get(backend, Rule(conv=False, grouped_conv=False, pool=False))


def pool_is_reshapeable(attrs: PoolAttrs, input_shape: Shape) -> bool:
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
    """``"lax"`` or the name of the alternative (``"slices"`` for conv,
    ``"reshape"`` for pooling) for ``node`` under ``lowering``."""
    alternative = OPS[node.op].lowered_by if node.op in OPS else ""
    if lowering.name == "lax" or not alternative:
        return "lax"
    forced = lowering.name == "im2col"
    rule = rule_for(lowering.backend)
    if alternative == "reshape":
        applies = pool_is_reshapeable(cast(PoolAttrs, node.attrs), input_shapes[0])
        return "reshape" if applies and (forced or rule.pool) else "lax"
    grouped = isinstance(node.attrs, DepthwiseConvAttrs) or cast(ConvAttrs, node.attrs).groups != 1
    if cast(ConvAttrs | DepthwiseConvAttrs, node.attrs).padding == "causal" and len(input_shapes[0]) != 2:
        return "lax"  # Flax accepts CAUSAL only for 1-D convs; leave its diagnostic to it
    wanted = rule.grouped_conv if grouped else rule.conv
    return "slices" if forced or wanted else "lax"


def lowered_call(node: Node, call: str, input_shapes: list[Shape], lowering: Lowering) -> tuple[str, frozenset[str]]:
    """``call`` (the emit rule's ``__call__`` text) rewritten for the chosen
    lowering, and the helpers it needs."""
    choice = choose(node, input_shapes, lowering)
    if choice == "slices":
        return call.replace("{layer}({0})", "conv_by_slices({layer}, {0})"), frozenset({"conv_by_slices"})
    if choice == "reshape":
        attrs = cast(PoolAttrs, node.attrs)
        # Only integers and one of two fixed words reach the source (no text from the spec).
        window, mode = tuple(int(size) for size in attrs.window), {"max": '"max"', "avg": '"avg"'}[attrs.mode]
        return f"pool_by_reshape({{0}}, {window!r}, {mode})", frozenset({"pool_by_reshape"})
    return call, frozenset()


def apply(node: Node, code, input_shapes: list[Shape], lowering: Lowering):
    """The :class:`~netspec.emit.layers.LayerCode` ``code`` with its call lowered."""
    call, helpers = lowered_call(node, code.call, input_shapes, lowering)
    if call == code.call:
        return code
    return replace(code, call=call, helpers=code.helpers | helpers)


# The helpers' source, written into the generated file when a layer uses them.
LOWERING_HELPERS: dict[str, str] = {
    "conv_by_slices": '''
def conv_by_slices(conv, x):
    """``conv(x)`` for an ``nnx.Conv``, computed as im2col + one matmul: the padded input's
    shifted (strided, dilated) slices, one per kernel offset, concatenated on the channel
    axis and multiplied by the kernel reshaped to ``(window * C_in / groups, C_out)``. Same
    parameters and maths as ``conv(x)``; faster where the backend's convolutions are slow.
    """
    kernel = conv.kernel[...]  # (*window, C_in // groups, C_out)
    window, rank = kernel.shape[:-2], kernel.ndim - 2
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
    x = jnp.pad(x, [(0, 0), *pads, (0, 0)])
    out = [(size - span) // stride + 1 for size, span, stride in zip(x.shape[1:-1], spans, strides)]
    patches = []
    for offset in itertools.product(*(range(k) for k in window)):
        index = tuple(slice(o * d, o * d + (n - 1) * s + 1, s)
                      for o, d, n, s in zip(offset, dilation, out, strides))
        patches.append(x[(slice(None), *index, slice(None))])
    columns = jnp.concatenate(patches, axis=-1) if len(patches) > 1 else patches[0]
    groups, group_in, features = conv.feature_group_count, kernel.shape[-2], kernel.shape[-1]
    if groups == 1:
        y = columns @ kernel.reshape(-1, features)
    else:  # one matmul per group: columns (..., offsets, groups, group_in) by kernel per group
        columns = columns.reshape(*columns.shape[:-1], len(patches), groups, group_in)
        per_group = kernel.reshape(len(patches), group_in, groups, features // groups)
        y = jnp.einsum("...kgc,kcgo->...go", columns, per_group).reshape(*columns.shape[:-3], features)
    return y if conv.bias is None else y + conv.bias[...]
''',
    "pool_by_reshape": '''
def pool_by_reshape(x, window, mode):
    """Non-overlapping pooling (strides == window, no padding) as a reshape and a max or
    mean over the window axes; the same values as ``nnx.max_pool`` / ``nnx.avg_pool``.
    Trailing cells that fill no whole window are dropped, as VALID pooling drops them.
    """
    sizes = [size // w for size, w in zip(x.shape[1:-1], window)]
    x = x[(slice(None), *(slice(0, n * w) for n, w in zip(sizes, window)), slice(None))]
    split = [x.shape[0]]
    for n, w in zip(sizes, window):
        split += [n, w]
    x = x.reshape(*split, x.shape[-1])
    axes = tuple(range(2, 2 * len(window) + 1, 2))
    return x.max(axis=axes) if mode == "max" else x.mean(axis=axes)
''',
}
