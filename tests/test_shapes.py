"""Sliding-window arithmetic against a NumPy oracle and against jax.lax itself."""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pytest

from netspec.infer import shapes
from netspec.infer.rules import output_shape
from netspec.infer.shapes import window_pads
from netspec.ir import ConvAttrs, DepthwiseConvAttrs, PoolAttrs

LENGTHS = range(1, 11)  # odd and even inputs, smaller and larger than kernels
SIZES = (1, 2, 3, 5)
STRIDES = (1, 2, 3)
DILATIONS = (1, 2, 3)
EXPLICIT = ((0, 0), (1, 1), (2, 0), (0, 3), (2, 1))


def test_doctests():
    failures, tried = doctest.testmod(shapes)
    assert tried > 20 and failures == 0


def numpy_windows(length: int, extent: int, stride: int, pads: tuple[int, int]) -> tuple[int, int]:
    """(number of windows, unseen trailing cells) by really sliding over a padded array."""
    padded = np.pad(np.arange(length), pads, constant_values=-1)
    if extent > padded.size:
        return 0, padded.size
    windows = np.lib.stride_tricks.sliding_window_view(padded, extent)[::stride]
    last_end = (len(windows) - 1) * stride + extent
    return len(windows), padded.size - last_end


@pytest.mark.parametrize("pads", EXPLICIT)
def test_explicit_padding_matches_numpy(pads):
    for length, size, stride, rate in itertools.product(LENGTHS, SIZES, STRIDES, DILATIONS):
        extent = shapes.effective_kernel(size, rate)
        count, unseen = numpy_windows(length, extent, stride, pads)
        ours = shapes.padded_output_length(length, extent, stride, pads)
        assert max(ours, 0) == count, (length, size, stride, rate, pads)
        assert (ours < 1) == (count == 0)
        if count:
            assert shapes.unseen_length(length, extent, stride, pads) == unseen


def test_same_padding_definition():
    """SAME: ceil(W/S) outputs, the smallest total pad giving them, low = total // 2."""
    for length, size, stride, rate in itertools.product(LENGTHS, SIZES, STRIDES, DILATIONS):
        extent = shapes.effective_kernel(size, rate)
        low, high = shapes.same_pads(length, extent, stride)
        assert low in (high, high - 1)
        assert numpy_windows(length, extent, stride, (low, high))[0] == -(-length // stride)
        if low + high:  # minimal: one cell less of padding loses an output
            assert numpy_windows(length, extent, stride, (low, high - 1))[0] < -(-length // stride)


def test_causal_padding_keeps_length_and_looks_back():
    for length, size, rate in itertools.product(LENGTHS, SIZES, DILATIONS):
        assert shapes.causal_pads(size, rate) == ((size - 1) * rate, 0)
        assert shapes.output_length(length, size, 1, rate, "causal") == length


def test_receptive_field_of_stacked_3x3_equals_one_7x7():
    field, jump = 1, 1
    for _ in range(3):
        field, jump = shapes.receptive_field_step(field, jump, 3, 1)
    assert (field, jump) == (7, 1)


# --- against jax.lax: the arithmetic must be what lax really computes ----------

jax = pytest.importorskip("jax")
lax = jax.lax


def lax_conv_shape(spatial, kernel, strides, dilation, padding, channels=1, features=1, groups=1):
    rank = len(spatial)
    lhs = jax.ShapeDtypeStruct((1, *spatial, channels), np.float32)
    rhs = jax.ShapeDtypeStruct((*kernel, channels // groups, features), np.float32)
    spec = {1: ("NWC", "WIO", "NWC"), 2: ("NHWC", "HWIO", "NHWC"), 3: ("NDHWC", "DHWIO", "NDHWC")}[rank]
    out = jax.eval_shape(
        lambda x, w: lax.conv_general_dilated(x, w, strides, padding, rhs_dilation=dilation,
                                              dimension_numbers=spec, feature_group_count=groups),
        lhs, rhs)
    return out.shape[1:]


def lax_pool_shape(spatial, window, strides, padding, channels=3):
    x = jax.ShapeDtypeStruct((1, *spatial, channels), np.float32)
    out = jax.eval_shape(
        lambda x: lax.reduce_window(x, -np.inf, lax.max, (1, *window, 1), (1, *strides, 1),
                                    padding if isinstance(padding, str) else ((0, 0), *padding, (0, 0))),
        x)
    return out.shape[1:]


@pytest.mark.parametrize("padding", ["VALID", "SAME", *EXPLICIT])
def test_1d_conv_output_length_matches_lax(padding):
    for length, size, stride, rate in itertools.product(range(1, 9), SIZES, STRIDES, (1, 2)):
        extent = shapes.effective_kernel(size, rate)
        mode = padding.lower() if isinstance(padding, str) else padding
        expected = lax_conv_shape((length,), (size,), (stride,), (rate,),
                                  padding if isinstance(padding, str) else [padding])
        ours = shapes.output_length(length, size, stride, rate, mode)
        assert max(ours, 0) == expected[0], (length, size, stride, rate, padding)
        if isinstance(padding, str) and padding == "SAME":
            assert lax.padtype_to_pads((length,), (extent,), (stride,), "SAME") == [
                shapes.same_pads(length, extent, stride)]


def test_2d_same_stride_2_on_even_and_odd_inputs_matches_lax():
    """The case people get wrong: SAME with stride 2 puts the odd pad cell low or high?"""
    for (height, width), size, rate in itertools.product(
            [(224, 224), (7, 8), (8, 7), (28, 28), (1, 2)], (1, 2, 3, 7), (1, 2)):
        attrs = ConvAttrs(8, (size, size), (2, 2), "same", (rate, rate))
        expected = lax_conv_shape((height, width), (size, size), (2, 2), (rate, rate), "SAME", features=8)
        assert output_shape("conv", attrs, [(height, width, 1)]) == expected
        extent = shapes.effective_kernel(size, rate)
        assert list(window_pads(attrs, (height, width, 1))) == lax.padtype_to_pads(
            (height, width), (extent, extent), (2, 2), "SAME")


@pytest.mark.parametrize("padding", ["valid", "same", ((1, 2), (0, 1), (2, 2))])
def test_3d_grouped_conv_matches_lax(padding):
    attrs = ConvAttrs(12, (3, 2, 3), (2, 1, 2), padding, (1, 2, 1), groups=3)
    lax_padding = padding.upper() if isinstance(padding, str) else list(padding)
    expected = lax_conv_shape((9, 8, 7), (3, 2, 3), (2, 1, 2), (1, 2, 1), lax_padding,
                              channels=6, features=12, groups=3)
    assert output_shape("conv", attrs, [(9, 8, 7, 6)]) == expected


def test_depthwise_conv_matches_lax_feature_groups():
    attrs = DepthwiseConvAttrs((3, 3), (2, 2), "same", (1, 1), depth_multiplier=2)
    expected = lax_conv_shape((15, 16), (3, 3), (2, 2), (1, 1), "SAME", channels=4, features=8, groups=4)
    assert output_shape("depthwise_conv", attrs, [(15, 16, 4)]) == expected


@pytest.mark.parametrize("padding", ["VALID", "SAME", ((1, 0), (1, 1))])
def test_2d_pool_output_matches_lax_reduce_window(padding):
    for height, width, size, stride in itertools.product((5, 6, 7, 8), (3, 4), (1, 2, 3), (1, 2, 3)):
        if padding == "VALID" and size > min(height, width):
            continue
        mode = padding.lower() if isinstance(padding, str) else padding
        attrs = PoolAttrs("max", (size, size), (stride, stride), mode)
        expected = lax_pool_shape((height, width), (size, size), (stride, stride), padding)
        assert output_shape("pool", attrs, [(height, width, 3)]) == expected, (height, width, size, stride)


def test_causal_conv_matches_flax_nnx():
    """flax.nnx.Conv(padding='CAUSAL') pads (F-1)*D on the left: same length, causal outputs."""
    nnx = pytest.importorskip("flax.nnx")
    for size, rate, length in [(2, 1, 16), (2, 8, 16), (3, 2, 5), (5, 1, 3)]:
        conv = nnx.Conv(1, 1, kernel_size=(size,), kernel_dilation=(rate,), padding="CAUSAL",
                        use_bias=False, rngs=nnx.Rngs(0))
        x = np.arange(length, dtype=np.float32).reshape(1, length, 1)
        attrs = ConvAttrs(1, (size,), (1,), "causal", (rate,))
        assert output_shape("conv", attrs, [(length, 1)]) == conv(x).shape[1:]
        pads = window_pads(attrs, (length, 1))
        explicit = lax.conv_general_dilated(x, conv.kernel[...], (1,), list(pads), rhs_dilation=(rate,),
                                            dimension_numbers=("NWC", "WIO", "NWC"))
        np.testing.assert_allclose(conv(x), explicit, rtol=1e-6)
