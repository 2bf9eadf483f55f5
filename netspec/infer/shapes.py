"""Integer shape arithmetic of sliding windows, matching ``jax.lax`` exactly.

Every function here works on one spatial axis with plain ints (``//`` only,
no floats, no ``-1`` sentinels), so the static checker and the emitter agree
with what ``lax.conv_general_dilated`` / ``lax.reduce_window`` compute:

* ``F_eff = (F - 1) * D + 1`` is the dilated kernel extent;
* VALID pads nothing; SAME gives ``ceil(W / S)`` outputs and pads
  ``total = max((out - 1) * S + F_eff - W, 0)``, ``low = total // 2``,
  ``high = total - low`` (``lax.padtype_to_pads``); CAUSAL pads
  ``(F - 1) * D`` on the left only (``flax.nnx.Conv(padding='CAUSAL')``);
* with explicit pads the output length is ``(W - F_eff + low + high) // S + 1``.

The second half applies that arithmetic to an op's window (conv,
depthwise_conv, separable_conv, pool attrs): :func:`window_pads` and
:func:`window_output`, which raises :class:`ShapeError` with a message that
says what does not fit, with numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from netspec.ir import PoolAttrs
from netspec.ops import format_extent

Shape = tuple[int, ...]
Pads = tuple[int, int]  # (low, high) of one axis
PadsPerAxis = tuple[Pads, ...]


def effective_kernel(size: int, dilation: int = 1) -> int:
    """Extent of a kernel of ``size`` taps spread ``dilation`` apart.

    >>> effective_kernel(3, 2)
    5
    >>> effective_kernel(1, 4)
    1
    """
    return (size - 1) * dilation + 1


def same_output_length(length: int, stride: int) -> int:
    """Output length of SAME padding: ``ceil(length / stride)``.

    >>> same_output_length(7, 2)
    4
    >>> same_output_length(8, 2)
    4
    """
    return -(-length // stride)


def same_pads(length: int, extent: int, stride: int) -> Pads:
    """(low, high) pads of SAME padding, as ``lax.padtype_to_pads`` splits them.

    ``extent`` is the effective (dilated) kernel extent. Odd totals put the
    extra cell on the high side.

    >>> same_pads(224, 7, 2)   # odd total: the extra cell goes high
    (2, 3)
    >>> same_pads(8, 3, 2)
    (0, 1)
    >>> same_pads(5, 3, 1)
    (1, 1)
    >>> same_pads(2, 1, 4)     # SAME never pads a negative amount
    (0, 0)
    """
    out = same_output_length(length, stride)
    total = max((out - 1) * stride + extent - length, 0)
    return total // 2, total - total // 2


def causal_pads(size: int, dilation: int = 1) -> Pads:
    """(low, high) pads of CAUSAL 1-D padding: ``(F - 1) * D`` on the left.

    >>> causal_pads(2, 8)
    (8, 0)
    """
    return (size - 1) * dilation, 0


def center_pads(length: int, target: int) -> Pads:
    """(low, high) zero pads growing ``length`` to ``target``, split like SAME.

    Used by ``concat`` with ``pad: zero`` (GoogLeNet's DepthConcat).

    >>> center_pads(26, 28)
    (1, 1)
    >>> center_pads(27, 28)
    (0, 1)
    """
    total = target - length
    return total // 2, total - total // 2


def axis_pads(length: int, size: int, stride: int, dilation: int, padding: str | Pads) -> Pads:
    """(low, high) pads of one axis for a padding mode or an explicit pair.

    >>> axis_pads(7, 3, 2, 1, "same")
    (1, 1)
    >>> axis_pads(7, 3, 2, 1, "valid")
    (0, 0)
    >>> axis_pads(16, 2, 1, 4, "causal")
    (4, 0)
    >>> axis_pads(7, 3, 1, 1, (2, 0))
    (2, 0)
    """
    if padding == "valid":
        return 0, 0
    if padding == "same":
        return same_pads(length, effective_kernel(size, dilation), stride)
    if padding == "causal":
        return causal_pads(size, dilation)
    low, high = padding
    return low, high


def padded_output_length(length: int, extent: int, stride: int, pads: Pads = (0, 0)) -> int:
    """Number of window positions: ``(W - F_eff + low + high) // S + 1``.

    Zero or negative when the window does not fit the padded input; the
    caller reports that (this function never signals with a sentinel).

    >>> padded_output_length(28, 5, 1, (2, 2))
    28
    >>> padded_output_length(7, 2, 2)
    3
    >>> padded_output_length(3, 5, 1)
    -1
    """
    return (length - extent + pads[0] + pads[1]) // stride + 1


def unseen_length(length: int, extent: int, stride: int, pads: Pads = (0, 0)) -> int:
    """How many trailing cells of the padded input no window reaches.

    That is ``(W - F_eff + low + high) % S``; of those cells the last
    ``high`` are padding, so ``max(unseen - high, 0)`` real cells are lost.

    >>> unseen_length(7, 2, 2)
    1
    >>> unseen_length(8, 2, 2)
    0
    """
    return (length - extent + pads[0] + pads[1]) % stride


def output_length(length: int, size: int, stride: int = 1, dilation: int = 1,
                  padding: str | Pads = "valid") -> int:
    """Output length of a sliding window over one axis, as ``jax.lax`` computes it.

    >>> output_length(32, 5)
    28
    >>> output_length(224, 7, 2, padding="same")
    112
    >>> output_length(16, 2, dilation=8, padding="causal")
    16
    >>> output_length(227, 11, 4)   # AlexNet conv1
    55
    """
    pads = axis_pads(length, size, stride, dilation, padding)
    return padded_output_length(length, effective_kernel(size, dilation), stride, pads)


def receptive_field_step(field: int, jump: int, extent: int, stride: int) -> tuple[int, int]:
    """Receptive field and jump (input cells between neighbouring outputs)
    after a window of effective ``extent`` and ``stride``:
    ``rf_out = rf_in + (F_eff - 1) * jump_in``, ``jump_out = jump_in * S``.

    >>> receptive_field_step(1, 1, 3, 1)
    (3, 1)
    >>> receptive_field_step(6, 2, 5, 1)   # LeNet conv2 after a 2x2 pool
    (14, 2)
    """
    return field + (extent - 1) * jump, jump * stride


def whole_span(field: int, jump: int, length: int) -> int:
    """Input cells seen by anything that mixes all ``length`` positions
    (flatten, global_pool): ``rf + (W - 1) * jump``.

    >>> whole_span(16, 4, 5)   # LeNet-5 on 28x28 with P=2: the 32-wide padded input
    32
    """
    return field + (length - 1) * jump


def transposed_output_length(length: int, size: int, stride: int, padding: str | Pads) -> int:
    """Output length of a transposed convolution, as ``lax.conv_transpose`` (and Keras) compute it:
    valid ``W·S + max(F − S, 0)``; same ``W·S``; explicit (low, high) crops the full
    ``(W − 1)·S + F`` by low and high cells.

    >>> transposed_output_length(7, 3, 2, "valid"), transposed_output_length(7, 3, 2, "same")
    (15, 14)
    >>> transposed_output_length(7, 4, 2, (1, 1))   # torch's ConvTranspose2d(k=4, s=2, p=1): doubles
    14
    >>> transposed_output_length(7, 1, 3, "valid")  # F < S: gaps, W·S
    21
    """
    if padding == "valid":
        return length * stride + max(size - stride, 0)
    if padding == "same":
        return length * stride
    low, high = padding
    return (length - 1) * stride + size - low - high


def broadcast(first: Shape, second: Shape) -> Shape | None:
    """The NumPy broadcast of two shapes (batch excluded), or None when they do not broadcast.

    >>> broadcast((112, 112, 32), (1, 1, 32)), broadcast((7, 7, 32), (32,)), broadcast((4, 8), (4, 3))
    ((112, 112, 32), (7, 7, 32), None)
    """
    rank = max(len(first), len(second))
    first, second = (1,) * (rank - len(first)) + first, (1,) * (rank - len(second)) + second
    if any(a != b and 1 not in (a, b) for a, b in zip(first, second)):
        return None
    return tuple(max(a, b) for a, b in zip(first, second))


def reshape_target(shape: Shape, target: Sequence[int]) -> Shape:
    """``target`` with its -1 (if any) filled in so that the number of values is kept.

    >>> reshape_target((32,), (1, 1, -1)), reshape_target((4, 4, 2), (8, 4))
    ((1, 1, 32), (8, 4))
    """
    size = prod(shape)
    known = prod(n for n in target if n != -1)
    if -1 in target:
        if known < 1 or size % known:
            raise ShapeError(f"cannot reshape {shape} ({size} values) to {tuple(target)}: {size} is not a "
                             f"multiple of {known}", code="reshape-size")
        return tuple(size // known if n == -1 else n for n in target)
    if known != size:
        raise ShapeError(f"cannot reshape {shape} ({size} values) to {tuple(target)} ({known} values)",
                         "the sizes' product must equal the input's; one size may be -1 (inferred)",
                         code="reshape-size")
    return tuple(target)


# --- the window of an op (conv, depthwise_conv, separable_conv, pool) ---------

_LAYOUTS = {1: "(T, C)", 2: "(H, W, C)", 3: "(D, H, W, C)"}


class ShapeError(Exception):
    """A node cannot be applied to inputs of these shapes.

    ``message`` is a predicate that reads after the layer's description
    (``f"conv 'conv3' {message}"``); ``hint`` says what would fix it;
    ``code`` is the diagnostic code; ``inputs`` holds the indices of the two
    disagreeing inputs of a merge, so callers can name them.
    """

    def __init__(self, message: str, hint: str | None = None, *, code: str = "shape",
                 inputs: tuple[int, int] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code
        self.inputs = inputs


def window_geometry(attrs) -> tuple[Shape, Shape, Shape, object]:
    """(kernel, strides, dilation, padding) of a windowed op."""
    if isinstance(attrs, PoolAttrs):
        return attrs.window, attrs.strides, (1,) * len(attrs.window), attrs.padding
    return attrs.kernel, attrs.strides, attrs.dilation, attrs.padding


def _format_kernel(kernel: Shape, dilation: Shape) -> str:
    size = str(kernel[0]) if len(set(kernel)) == 1 else format_extent(kernel)
    if any(d != 1 for d in dilation):
        rate = str(dilation[0]) if len(set(dilation)) == 1 else format_extent(dilation)
        extent = [effective_kernel(k, d) for k, d in zip(kernel, dilation)]
        return f"F={size} with D={rate} (extent {format_extent(extent)})"
    return f"F={size}"


def _format_padding(padding, pads: PadsPerAxis) -> str:
    if padding in ("valid", "same", "causal"):
        return "P=0" if padding == "valid" else f"P={padding}"
    if all(low == high == pads[0][0] for low, high in pads):
        return f"P={pads[0][0]}"
    return "P=" + ", ".join(f"({low}, {high})" for low, high in pads)


def window_pads(attrs, input_shape: Shape) -> PadsPerAxis:
    """Explicit (low, high) pads per spatial axis, exactly as ``jax.lax``
    computes them for ``attrs``' padding over ``input_shape`` (channels-last).

    >>> window_pads(PoolAttrs("max", (3, 3), (2, 2), "same"), (8, 7, 16))
    ((0, 1), (1, 1))
    """
    kernel, strides, dilation, padding = window_geometry(attrs)
    if isinstance(padding, tuple):
        return tuple((low, high) for low, high in padding)
    return tuple(
        axis_pads(length, size, stride, rate, padding)
        for length, size, stride, rate in zip(input_shape[:-1], kernel, strides, dilation)
    )


def window_output(attrs, shape: Shape) -> Shape:
    """Spatial output of a windowed op over ``shape = spatial + (C,)``.

    >>> window_output(PoolAttrs("max", (3, 3), (2, 2), "valid"), (7, 8, 16))
    (3, 3)
    >>> try:
    ...     window_output(PoolAttrs("max", (3, 3), (2, 2), "valid"), (2, 8, 16))
    ... except ShapeError as exc:
    ...     print(exc)
    needs F=3 but its input is only 2×8 (P=0)
    """
    kernel, strides, dilation, padding = window_geometry(attrs)
    rank = len(kernel)
    spatial = shape[:-1]
    if not spatial:
        raise ShapeError(
            f"needs a {rank}-D input {_LAYOUTS.get(rank, '')} for its {format_extent(kernel)} "
            f"window, but its input {shape} has no spatial axes",
            "conv and pool layers must come before flatten; put flatten or global_pool after the last of them",
            code="no-spatial-axes")
    if len(spatial) != rank:
        raise ShapeError(
            f"has a {rank}-D window ({_format_kernel(kernel, dilation)}) but its input {shape} "
            f"has {len(spatial)} spatial axes",
            f"give F, S and D either one number or {len(spatial)} (one per spatial axis)",
            code="rank-mismatch")
    if padding == "causal" and rank != 1:
        raise ShapeError(
            f"uses causal padding, which needs a 1-D input (T, C), but its input {shape} is {rank}-D",
            "causal padding is for sequences; use P: same for images", code="causal-not-1d")
    if isinstance(padding, tuple) and (len(padding) != rank or any(p < 0 for pair in padding for p in pair)):
        raise ShapeError(f"needs {rank} non-negative (low, high) pads but got {padding}", code="bad-padding")
    if len(strides) != rank or len(dilation) != rank:
        raise ShapeError(f"needs one stride and one dilation per kernel axis ({rank}), but got S={strides}, "
                         f"D={dilation}", code="rank-mismatch")
    if any(s < 1 for s in strides) or any(d < 1 for d in dilation):
        raise ShapeError(f"needs strides and dilations of at least 1, but got S={strides}, D={dilation}",
                         code="bad-stride")
    pads = window_pads(attrs, shape)
    out = tuple(
        padded_output_length(length, effective_kernel(size, rate), stride, pad)
        for length, size, stride, rate, pad in zip(spatial, kernel, strides, dilation, pads)
    )
    if any(length < 1 for length in out):
        raise ShapeError(
            f"needs {_format_kernel(kernel, dilation)} but its input is only "
            f"{format_extent(spatial)} ({_format_padding(padding, pads)})",
            "use P: same, a smaller F, or fewer downsampling layers before it", code="window-too-large")
    return out
