"""Numerics of the built modules against an independent NumPy reference.

The reference below is written from the definitions (cross-correlation over
explicitly padded input, windows that skip padded cells), with loops, so it
shares nothing with the emitter or with ``jax.lax`` except the conventions
it checks: TF/JAX SAME splits the total padding low = total // 2, CAUSAL pads
(F - 1) * D on the left, max pooling never picks a padded cell and average
pooling divides by the count of real cells (Keras).

The lecture's worked examples come from seed 001_c61dcb343df5a387.txt of the
"CNNs part II" deck: the 6x6 image and 3x3 filter (feature map read column by
column: 32.5, -105.5, 185.5, 54, ...), then ReLU and a 2x2 max pool; and the
1-D causal toy example (input 10, 20, 30; kernel 1, 2).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from netspec.builder import build, layer_module, layer_outputs, program_of

# --- the NumPy reference ------------------------------------------------------------------


def same_pads(length: int, size: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF/JAX SAME: ceil(W / S) outputs, total padding split low = total // 2."""
    extent = (size - 1) * dilation + 1
    out = -(-length // stride)
    total = max((out - 1) * stride + extent - length, 0)
    return total // 2, total - total // 2


def reference_conv(x, kernel, bias=None, strides=None, pads=None, dilation=None, groups=1):
    """x (*spatial, C_in); kernel (*F, C_in // groups, K) -> (*out, K), by loops."""
    rank = x.ndim - 1
    strides = strides or (1,) * rank
    dilation = dilation or (1,) * rank
    pads = pads or ((0, 0),) * rank
    padded = np.pad(x, [*pads, (0, 0)])
    sizes = kernel.shape[:rank]
    extents = [(f - 1) * d + 1 for f, d in zip(sizes, dilation)]
    out_shape = [(padded.shape[a] - extents[a]) // strides[a] + 1 for a in range(rank)]
    c_in, filters = x.shape[-1], kernel.shape[-1]
    per_group_in, per_group_out = c_in // groups, filters // groups
    out = np.zeros((*out_shape, filters))
    for position in itertools.product(*(range(n) for n in out_shape)):
        for offset in itertools.product(*(range(f) for f in sizes)):
            cell = tuple(p * s + o * d for p, s, o, d in zip(position, strides, offset, dilation))
            for k in range(filters):
                g = k // per_group_out
                channels = padded[cell][g * per_group_in:(g + 1) * per_group_in]
                out[position + (k,)] += channels @ kernel[offset][:, k]
    if bias is not None:
        out += bias
    return out


def reference_pool(x, window, strides, pads, mode):
    """Max ignores padded cells; avg divides by the number of real cells (Keras)."""
    rank = x.ndim - 1
    out_shape = [(x.shape[a] + pads[a][0] + pads[a][1] - window[a]) // strides[a] + 1 for a in range(rank)]
    out = np.zeros((*out_shape, x.shape[-1]))
    for position in itertools.product(*(range(n) for n in out_shape)):
        cells = []
        for offset in itertools.product(*(range(w) for w in window)):
            cell = tuple(p * s + o - pad[0] for p, s, o, pad in zip(position, strides, offset, pads))
            if all(0 <= c < n for c, n in zip(cell, x.shape[:-1])):
                cells.append(x[cell])
        cells = np.stack(cells)
        out[position] = cells.max(axis=0) if mode == "max" else cells.mean(axis=0)
    return out


def reference_lrn(x, size, alpha, beta, bias):
    """AlexNet LRN across channels, window centred (size // 2 below, (size - 1) // 2 above)."""
    out = np.zeros_like(x)
    channels = x.shape[-1]
    for c in range(channels):
        low, high = max(0, c - size // 2), min(channels, c + (size - 1) // 2 + 1)
        total = (x[..., low:high] ** 2).sum(axis=-1)
        out[..., c] = x[..., c] / (bias + alpha / size * total) ** beta
    return out


# --- helpers ------------------------------------------------------------------------------


def spec(layers: str, input_shape: str, name: str = "probe") -> str:
    return f"name: {name}\ninput: {input_shape}\nlayers:\n{layers}"


def run(model, x):
    """The model's output in inference mode, as float64 NumPy (batch axis added and removed)."""
    model.eval()
    return np.asarray(model(jnp.asarray(x, jnp.float32)[None]))[0].astype(np.float64)


def layer(model, name: str):
    """The module of the layer the spec named ``name`` (inside blocks, node names get a scope prefix)."""
    matches = [node for node in program_of(model).modules if node == name or node.endswith("/" + name)]
    assert len(matches) == 1, matches
    return layer_module(model, matches[0])


def weights(layer) -> tuple[np.ndarray, np.ndarray | None]:
    bias = getattr(layer, "bias", None)
    return np.asarray(layer.kernel[...], np.float64), None if bias is None else np.asarray(bias[...])


RNG = np.random.default_rng(0)

# --- the lecture's worked examples ------------------------------------------------------------

IMAGE = np.array([
    [255, 220, 150, 200, 110, 100],
    [240, 50, 35, 45, 200, 130],
    [0, 20, 245, 250, 230, 120],
    [170, 180, 235, 145, 170, 255],
    [190, 185, 170, 165, 130, 120],
    [255, 255, 245, 190, 200, 170],
], dtype=np.float64)
FILTER = np.array([[-0.7, 0.2, 0.1], [0.3, 0.5, 0.4], [-0.2, -0.4, 0.2]])
# The slides fill the 4x4 feature map column by column (the window slides down
# first); each inner list here is one slide row, i.e. one column of the map.
SLIDE_COLUMNS = [
    [32.5, -105.5, 185.5, 54],
    [-105.5, 104, 217.5, 31],
    [-44, 224, 38.5, -18],
    [-60.5, 213.5, 52.5, 37.5],
]

LECTURE_SPEC = spec("""\
  - conv: {K: 1, F: 3, bias: false, name: conv}
  - relu
  - pool: {F: 2, name: pool}
""", "[6, 6, 1]", "lecture_6x6")


def lecture_model():
    model = build(LECTURE_SPEC)
    model.conv.kernel[...] = jnp.asarray(FILTER, jnp.float32)[:, :, None, None]
    return model


def test_lecture_feature_map_matches_the_slides_and_the_reference():
    """The image with its bottom-right pixel 170 (most slides) gives 36.5 as the last
    feature value; the slides' 37.5 is what a 175 there gives (two slides show
    175): the slides mixed the two images. Every other value matches the slides."""
    model = lecture_model()
    feature_map = layer_outputs(model, jnp.asarray(IMAGE, jnp.float32)[None, :, :, None], ["conv"])["conv"]
    feature_map = np.asarray(feature_map)[0, :, :, 0]
    expected = np.array(SLIDE_COLUMNS).T
    expected[3, 3] = 36.5
    np.testing.assert_allclose(feature_map, expected, atol=1e-3)
    np.testing.assert_allclose(feature_map, reference_conv(IMAGE[..., None], FILTER[:, :, None, None])[..., 0],
                               atol=1e-3)

    brighter = IMAGE.copy()
    brighter[5, 5] = 175
    slide_map = np.asarray(layer_outputs(model, jnp.asarray(brighter, jnp.float32)[None, :, :, None],
                                         ["conv"])["conv"])[0, :, :, 0]
    np.testing.assert_allclose(slide_map, np.array(SLIDE_COLUMNS).T, atol=1e-3)


def test_lecture_relu_and_max_pool():
    model = lecture_model()
    pooled = run(model, IMAGE[..., None])[..., 0]
    # ReLU zeroes -105.5, -44, -60.5, -18; the slides list the 2x2 max pool of the
    # 4x4 map in the same column-by-column layout as the map: 104, 217.5 / 224, ...
    slide_pool = np.array([[104, 217.5], [224, 52.5]])
    np.testing.assert_allclose(pooled, slide_pool.T, atol=1e-3)
    relu_map = np.maximum(reference_conv(IMAGE[..., None], FILTER[:, :, None, None]), 0)
    np.testing.assert_allclose(pooled, reference_pool(relu_map, (2, 2), (2, 2), ((0, 0), (0, 0)), "max")[..., 0],
                               atol=1e-3)


def test_lecture_causal_toy_example():
    """Input 10, 20, 30, kernel (1, 2), causal padding: (0*1 + 10*2, 10*1 + 20*2, 20*1 + 30*2)."""
    model = build(spec("  - conv: {K: 1, F: 2, P: causal, bias: false, name: causal}\n", "[3, 1]"))
    model.causal.kernel[...] = jnp.asarray([1.0, 2.0])[:, None, None]
    out = run(model, np.array([[10.0], [20.0], [30.0]]))
    np.testing.assert_allclose(out[:, 0], [20, 50, 80])


# --- convolutions --------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "stride", "dilation", "padding", "shape"), [
    (3, 2, 1, "valid", (7, 7, 2)),      # stride 2 drops the last row/column
    (3, 1, 2, "valid", (9, 8, 2)),      # dilated: effective extent 5
    (3, 2, 1, "same", (8, 8, 2)),       # even input, stride 2: pads (0, 1)
    (4, 2, 1, "same", (8, 6, 2)),       # even kernel: pads (1, 2) and (1, 1)
    (3, 2, 2, "same", (10, 9, 3)),      # SAME with dilation and stride
    (2, 1, 1, "[1, 0]", (5, 5, 1)),     # explicit per-axis padding
])
def test_conv_matches_reference(size, stride, dilation, padding, shape):
    model = build(spec(f"  - conv: {{K: 3, F: {size}, S: {stride}, D: {dilation}, P: {padding}, name: conv}}\n",
                       str(list(shape))))
    x = RNG.normal(size=shape)
    kernel, bias = weights(model.conv)
    if padding == "same":
        pads = tuple(same_pads(n, size, stride, dilation) for n in shape[:-1])
    elif padding == "valid":
        pads = ((0, 0), (0, 0))
    else:
        pads = ((1, 1), (0, 0))
    expected = reference_conv(x, kernel, bias, (stride,) * 2, pads, (dilation,) * 2)
    np.testing.assert_allclose(run(model, x), expected, rtol=1e-4, atol=1e-4)


def test_same_padding_on_even_input_with_stride_2_puts_the_extra_cell_high():
    """8 wide, F=3, S=2: 4 outputs, total padding 1, all of it after the input."""
    assert same_pads(8, 3, 2) == (0, 1)
    model = build(spec("  - conv: {K: 1, F: 3, S: 2, P: same, bias: false, name: conv}\n", "[8, 1]"))
    model.conv.kernel[...] = jnp.ones((3, 1, 1))
    x = np.arange(1.0, 9.0)[:, None]
    # windows: (1,2,3), (3,4,5), (5,6,7), (7,8,pad)
    np.testing.assert_allclose(run(model, x)[:, 0], [6, 12, 18, 15])


def test_dilated_causal_stack_matches_reference():
    model = build(spec("  - causal: {K: 2, F: 2, dilations: [1, 2, 4], name: stack}\n", "[12, 1]"))
    x = RNG.normal(size=(12, 1))
    value = x
    convs = [module for _, module in nnx.iter_modules(model) if isinstance(module, nnx.Conv)]
    assert len(convs) == 3
    for conv, dilation in zip(convs, (1, 2, 4)):
        kernel, bias = weights(conv)
        value = reference_conv(value, kernel, bias, (1,), (((2 - 1) * dilation, 0),), (dilation,))
    np.testing.assert_allclose(run(model, x), value, rtol=1e-4, atol=1e-4)


def test_grouped_depthwise_and_separable_convs():
    model = build(spec("""\
  - conv: {K: 4, F: 3, groups: 2, P: same, name: grouped}
  - depthwise_conv: {F: 3, depth_multiplier: 2, name: depthwise}
  - separable_conv: {K: 5, F: 3, S: 2, P: same, name: separable}
""", "[7, 7, 2]"))
    x = RNG.normal(size=(7, 7, 2))
    kernel, bias = weights(model.grouped)
    value = reference_conv(x, kernel, bias, pads=((1, 1), (1, 1)), groups=2)
    kernel, bias = weights(model.depthwise)
    assert kernel.shape == (3, 3, 1, 8)
    value = reference_conv(value, kernel, bias, groups=4)
    depthwise, _ = weights(model.separable.depthwise)
    pointwise, bias = weights(model.separable.pointwise)
    assert model.separable.depthwise.bias is None
    pads = tuple(same_pads(n, 3, 2) for n in value.shape[:-1])
    value = reference_conv(value, depthwise, None, (2, 2), pads, groups=value.shape[-1])
    value = reference_conv(value, pointwise, bias)
    np.testing.assert_allclose(run(model, x), value, rtol=1e-4, atol=1e-4)


# --- pooling, normalisation, merges ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(("window", "stride", "padding", "shape"), [
    (3, 2, "same", (6, 5, 2)),
    (2, 2, "same", (5, 5, 1)),
    (3, 1, "[1, 1]", (4, 4, 1)),
    (3, 3, "valid", (7, 7, 1)),
])
def test_pooling_ignores_padded_cells(mode, window, stride, padding, shape):
    model = build(spec(f"  - pool: {{mode: {mode}, F: {window}, S: {stride}, P: {padding}}}\n",
                       str(list(shape))))
    x = RNG.normal(size=shape) - 3.0  # all negative: a padded zero would win a max
    if padding == "same":
        pads = tuple(same_pads(n, window, stride) for n in shape[:-1])
    elif padding == "valid":
        pads = ((0, 0), (0, 0))
    else:
        pads = ((1, 1), (1, 1))
    expected = reference_pool(x, (window,) * 2, (stride,) * 2, pads, mode)
    np.testing.assert_allclose(run(model, x), expected, rtol=1e-5, atol=1e-5)


def test_avg_pool_same_corner_averages_real_cells_only():
    model = build(spec("  - pool: {mode: avg, F: 3, S: 1, P: same}\n", "[3, 3, 1]"))
    x = np.arange(1.0, 10.0).reshape(3, 3, 1)
    out = run(model, x)[..., 0]
    assert out[0, 0] == pytest.approx((1 + 2 + 4 + 5) / 4)   # not / 9
    assert out[1, 1] == pytest.approx(5.0)


def test_lrn_matches_reference():
    model = build(spec("  - lrn: {size: 5, alpha: 0.001, beta: 0.75, bias: 2.0}\n", "[3, 3, 7]"))
    x = RNG.normal(size=(3, 3, 7)) * 10
    np.testing.assert_allclose(run(model, x), reference_lrn(x, 5, 0.001, 0.75, 2.0), rtol=1e-5)


def test_zero_padded_concat_centres_smaller_maps():
    model = build(spec("""\
  - inception:
      pad: zero
      branches:
        - [conv: {K: 1, F: 1, bias: false, name: wide}]
        - [conv: {K: 1, F: 3, bias: false, name: narrow}]
""", "[5, 5, 1]"))
    x = RNG.normal(size=(5, 5, 1))
    wide = reference_conv(x, weights(layer(model, "wide"))[0])
    narrow = reference_conv(x, weights(layer(model, "narrow"))[0])  # 3x3 -> padded (1, 1) each side to 5x5
    expected = np.concatenate([wide, np.pad(narrow, ((1, 1), (1, 1), (0, 0)))], axis=-1)
    np.testing.assert_allclose(run(model, x), expected, rtol=1e-5, atol=1e-5)


def test_residual_with_projection_shortcut_and_activations():
    model = build(spec("""\
  - residual:
      body: [conv: {K: 4, F: 3, S: 2, P: same, name: body_conv}]
      shortcut: projection
      activation: relu
  - leaky_relu: {alpha: 0.1}
  - flatten
  - dense: {units: 3, activation: softmax, name: head}
""", "[6, 6, 2]"))
    x = RNG.normal(size=(6, 6, 2))
    convs = [module for _, module in nnx.iter_modules(model) if isinstance(module, nnx.Conv)]
    assert len(convs) == 2
    body, shortcut = convs
    pads = tuple(same_pads(6, 3, 2) for _ in range(2))
    value = reference_conv(x, *weights(body), (2, 2), pads)
    shortcut_kernel, shortcut_bias = weights(shortcut)
    value = np.maximum(value + reference_conv(x, shortcut_kernel, shortcut_bias, (2, 2)), 0)
    value = np.where(value > 0, value, 0.1 * value).reshape(-1)
    kernel, bias = weights(model.head)
    logits = value @ kernel + bias
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(run(model, x), expected, rtol=1e-4, atol=1e-6)


def test_batchnorm_modes_and_dropout():
    model = build(spec("""\
  - batchnorm: {momentum: 0.9, epsilon: 0.001, name: bn}
  - dropout: {rate: 0.5, name: drop}
""", "[4, 3]"))
    x = jnp.asarray(RNG.normal(size=(8, 4, 3)) * 2 + 1, jnp.float32)
    model.eval()
    # inference: running statistics start at mean 0, variance 1
    np.testing.assert_allclose(model(x), x / np.sqrt(1 + 1e-3), rtol=1e-5)
    model.train()
    out = np.asarray(model(x))
    assert (out == 0).mean() > 0.2  # dropout active
    batch_mean = np.asarray(x).mean(axis=(0, 1))
    np.testing.assert_allclose(model.bn.mean[...], 0.1 * batch_mean, rtol=1e-4)
    assert jax.tree.leaves(nnx.state(model, nnx.BatchStat))
