"""The layers of issue 10: broadcasting merges, keepdims, reshape — each checked
statically (shapes, counts, diagnostics) and numerically against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from test_build import assert_static_equals_compiled
from test_numerics import RNG, run, spec

from netspec.builder import build, layer_module
from netspec.pipeline import check_text, load


def errors(text: str) -> list:
    return [d for d in check_text(text).diagnostics if d.severity == "error"]


# --- broadcasting merges, keepdims, reshape ---------------------------------------------------

MERGES = spec("""\
  - global_pool: {keepdims: true, name: kept}          # (1, 1, 3)
  - global_pool: {mode: max, from: input, name: flat}  # (3,)
  - subtract: {from: [input, kept], name: centred}
  - maximum: {from: [centred, flat, input], name: top}
  - minimum: {from: [top, kept], name: low}
  - average: {from: [low, centred, flat], name: mean}
  - multiply: {from: [mean, flat], name: scaled}
  - add: {from: [scaled, kept], name: summed}
  - reshape: {shape: [-1, 6], name: rows}
""", "[4, 4, 3]")


def test_broadcasting_merges_follow_numpy():
    model = build(MERGES)
    x = RNG.normal(size=(4, 4, 3))
    kept, flat = x.mean(axis=(0, 1), keepdims=True), x.max(axis=(0, 1))
    centred = x - kept
    top = np.maximum(np.maximum(centred, flat), x)
    low = np.minimum(top, kept)
    mean = (low + centred + flat) / 3
    expected = (mean * flat + kept).reshape(-1, 6)
    np.testing.assert_allclose(run(model, x), expected, rtol=1e-5, atol=1e-5)


def test_broadcasting_merges_static_equals_compiled():
    graph = load(MERGES)
    assert_static_equals_compiled(graph)
    analysis = check_text(MERGES).analysis
    assert analysis.layers["kept"].output_shape == (1, 1, 3)
    assert analysis.layers["centred"].output_shape == (4, 4, 3)
    assert analysis.layers["rows"].output_shape == (8, 6)


def test_a_merge_that_does_not_broadcast_names_both_shapes():
    [problem] = errors(spec("""\
  - conv: {K: 32, F: 1, name: features}
  - global_pool: {name: squeezed}
  - dense: {units: 16, name: expanded}
  - multiply: {from: [features, expanded], name: excite}
""", "[8, 8, 3]"))
    assert problem.code == "broadcast-mismatch"
    assert problem.message == ("multiply 'excite' needs inputs that broadcast, but 'features' gives (8, 8, 32) "
                               "and 'expanded' gives (16,)")
    assert "keepdims" in problem.hint and "reshape" in problem.hint


def test_subtract_takes_exactly_two_inputs():
    [problem] = errors(spec("""\
  - relu: {name: a}
  - relu: {name: b, from: input}
  - subtract: {from: [a, b, input]}
""", "[4, 3]"))
    assert problem.code == "arity" and "exactly 2" in problem.message


def test_a_residual_add_does_not_broadcast():
    [problem] = errors(spec("""\
  - residual:
      body: [conv: {K: 1, F: 1}]
      shortcut: identity
""", "[4, 4, 3]"))
    assert problem.code == "residual-mismatch"


@pytest.mark.parametrize(("target", "message"), [
    ("[5, -1]", "48 is not a multiple of 5"),
    ("[4, 4]", "(16 values)"),
])
def test_reshape_checks_sizes(target, message):
    [problem] = errors(spec(f"  - reshape: {target}\n", "[4, 4, 3]"))
    assert problem.code == "reshape-size" and message in problem.message


@pytest.mark.parametrize(("target", "message"), [
    ("[-1, -1]", "at most one size may be -1"),
    ("[0, 48]", "must be positive"),
    ("[-2, 48]", "a positive integer or -1"),
])
def test_reshape_schema_rejects_bad_targets(target, message):
    problems = errors(spec(f"  - reshape: {target}\n", "[4, 4, 3]"))
    assert problems and message in problems[0].message


# --- activations (Keras 3's names and formulas) ------------------------------------------------

X = np.linspace(-8.0, 8.0, 41)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def softplus(x):
    return np.log1p(np.exp(x))


KERAS_FORMULAS = {
    "relu6": lambda x: np.clip(x, 0, 6),
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "hard_swish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "softplus": softplus,
    "softsign": lambda x: x / (np.abs(x) + 1),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1)),
    "exponential": np.exp,
    "mish": lambda x: x * np.tanh(softplus(x)),
}


@pytest.mark.parametrize("name", sorted(KERAS_FORMULAS))
def test_activation_layer_matches_the_keras_formula(name):
    model = build(spec(f"  - {name}\n", "[41]"))
    np.testing.assert_allclose(run(model, X), KERAS_FORMULAS[name](X), rtol=1e-5, atol=1e-5)


def keras_relu(x, max_value=None, negative_slope=0.0, threshold=0.0):
    """Keras 3's documented piecewise form: max_value at or above it, x above the threshold,
    negative_slope * (x - threshold) below."""
    out = np.where(x > threshold, x, negative_slope * (x - threshold))
    return out if max_value is None else np.minimum(out, max_value)


@pytest.mark.parametrize("arguments", [
    {"max_value": 6.0}, {"negative_slope": 0.5}, {"threshold": 2.0}, {"max_value": 5.0, "threshold": 1.0},
    {"max_value": 4.0, "negative_slope": 0.1, "threshold": 1.5},
])
def test_relu_arguments_match_keras(arguments):
    written = ", ".join(f"{key}: {value}" for key, value in arguments.items())
    layer_model = build(spec(f"  - relu: {{{written}}}\n", "[41]"))
    fused_model = build(spec(f"  - dense: {{units: 41, activation: {{relu: {{{written}}}}}, name: d}}\n", "[41]"))
    np.testing.assert_allclose(run(layer_model, X), keras_relu(X, **arguments), rtol=1e-5, atol=1e-5)
    pre = X @ np.asarray(fused_model.d.kernel[...]) + np.asarray(fused_model.d.bias[...])
    np.testing.assert_allclose(run(fused_model, X), keras_relu(pre, **arguments), rtol=1e-4, atol=1e-4)


def test_keras_relu_docstring_examples():
    """The examples of keras.activations.relu's docstring."""
    x = np.array([-10, -5, 0.0, 5, 10])
    for arguments, expected in [({}, [0, 0, 0, 5, 10]), ({"negative_slope": 0.5}, [-5, -2.5, 0, 5, 10]),
                                ({"max_value": 5.0}, [0, 0, 0, 5, 5]), ({"threshold": 5.0}, [0, 0, 0, 0, 10])]:
        written = ", ".join(f"{key}: {value}" for key, value in arguments.items())
        model = build(spec(f"  - relu: {{{written}}}\n" if written else "  - relu\n", "[5]"))
        np.testing.assert_allclose(run(model, x), expected, atol=1e-6)


def test_relu_with_a_negative_threshold_and_a_cap_follows_keras_code():
    """Keras clips to [0, max_value] after thresholding, so with a negative threshold the cells
    between it and 0 give 0 (not x, as its docstring's piecewise form would say)."""
    model = build(spec("  - relu: {max_value: 4, negative_slope: 0.1, threshold: -1}\n", "[4]"))
    np.testing.assert_allclose(run(model, np.array([-3.0, -0.5, 2.0, 9.0])), [-0.2, 0.0, 2.0, 4.0], atol=1e-6)


def test_relu_arguments_are_checked():
    [problem] = errors(spec("  - conv: {K: 2, F: 1, activation: {relu: {max_vlaue: 6}}}\n", "[4, 4, 1]"))
    assert "max_value" in (problem.hint or "")
    [problem] = errors(spec("  - relu: {max_value: -1}\n", "[4]"))
    assert "non-negative" in problem.message
    [problem] = errors(spec("  - relu6: {max_value: 6}\n", "[4]"))
    assert "max_value" in problem.message


def test_summary_shows_relu_arguments():
    analysis = check_text(spec("  - relu: {max_value: 6, name: capped}\n", "[4]")).analysis
    from netspec.report.summary import type_label
    assert type_label(analysis.graph.node("capped")) == "relu max_value=6"


# --- initialisers ------------------------------------------------------------------------------


def test_constant_initialiser_sets_the_bias():
    model = build(spec("  - dense: {units: 3, init: {kernel: ones, bias: {constant: -2}}, name: gate}\n", "[4]"))
    np.testing.assert_array_equal(np.asarray(model.gate.bias[...]), [-2.0] * 3)
    np.testing.assert_array_equal(np.asarray(model.gate.kernel[...]), np.ones((4, 3)))
    model = build(spec("  - conv: {K: 2, F: 1, init: {constant: {value: 0.5}}, name: c}\n", "[2, 2, 1]"))
    np.testing.assert_array_equal(np.asarray(model.c.kernel[...]), np.full((1, 1, 1, 2), 0.5))


def test_truncated_normal_and_orthogonal_follow_keras_defaults():
    model = build(spec("""\
  - dense: {units: 400, init: truncated_normal, name: t}
  - dense: {units: 400, init: orthogonal, name: o}
""", "[400]"))
    kernel = np.asarray(model.t.kernel[...])
    assert np.abs(kernel).max() <= 0.1 + 1e-7  # redrawn beyond two standard deviations of 0.05
    assert abs(kernel.std() - 0.05 * 0.8796) < 0.002  # Keras' stddev is of the untruncated normal
    q = np.asarray(model.o.kernel[...])
    np.testing.assert_allclose(q.T @ q, np.eye(400), atol=1e-4)  # Keras' Orthogonal: gain 1


def test_a_bad_constant_is_reported():
    [problem] = errors(spec("  - dense: {units: 3, init: {bias: {constant: high}}}\n", "[4]"))
    assert "must be a finite number" in problem.message


@pytest.mark.parametrize("layer", ["  - dense: {units: 3, init: {bias: {constant: 1e300}}}\n",
                                   "  - dense: {units: 3, activation: {leaky_relu: {alpha: -1e39}}}\n"])
def test_a_number_float32_cannot_hold_is_reported(layer):
    """Finite in the YAML but inf in the model's float32 weights or activations: refused at check time."""
    [problem] = errors(spec(layer, "[4]"))
    assert "within float32's range" in problem.message


# --- preprocessing inside the model -------------------------------------------------------------

PREPROCESS = spec("""\
  - rescaling: {scale: 0.5, offset: -1, name: scaled}
  - normalization: {mean: [1, 2, 3], variance: [4, 0.25, 1.0e-20], name: fixed}
  - normalization: {name: adapted}
""", "[2, 2, 3]")


def test_rescaling_and_fixed_normalization_match_keras():
    model = build(PREPROCESS)
    x = RNG.normal(size=(2, 2, 3)) * 10
    scaled = x * 0.5 - 1
    # Keras: (x - mean) / max(sqrt(variance), epsilon=1e-7); a not-yet-adapted layer is the identity
    expected = (scaled - [1, 2, 3]) / np.maximum(np.sqrt([4, 0.25, 1e-20]), 1e-7)
    np.testing.assert_allclose(run(model, x), expected, rtol=1e-5)


def test_normalization_counts_like_keras():
    analysis = check_text(PREPROCESS).analysis
    assert analysis.layers["scaled"].params == 0
    fixed = analysis.layers["fixed"]
    assert (fixed.trainable_params, fixed.non_trainable_params) == (0, 2 * 3 + 1)
    assert_static_equals_compiled(load(PREPROCESS))


def test_normalization_checks_its_values():
    [problem] = errors(spec("  - normalization: {mean: [1, 2], variance: 1}\n", "[4, 3]"))
    assert problem.code == "normalization-channels" and "2 values of mean" in problem.message
    [problem] = errors(spec("  - normalization: {mean: 0.5}\n", "[4, 3]"))
    assert "give both, or neither" in problem.message
    [problem] = errors(spec("  - normalization: {mean: 0, variance: -1}\n", "[4, 3]"))
    assert "non-negative" in problem.message


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_train_adapts_normalization_to_the_training_split(precision):
    import jax
    from flax import nnx

    from netspec.data.dataset import Dataset, Split
    from netspec.train import fit
    from netspec.train.progress import Display

    graph = load(spec("""\
  - rescaling: {scale: 2, offset: 1}
  - normalization: {name: norm}
  - flatten
  - dense: 2
""", "[3, 2]") + "train: {batch_size: 8, epochs: 1, standardize: none}\n")
    x = (RNG.normal(size=(16, 3, 2)) * [1.0, 5.0] + [3.0, -2.0]).astype(np.float32)
    y = RNG.integers(0, 2, size=16).astype(np.int32)
    dataset = Dataset("toy", Split(x, y), None, None, None, "classification")
    result = fit(graph, dataset, save=False, max_steps=1, display=Display(quiet=True), precision=precision)
    # adapting the statistics hands the parameters back in the run's own dtype
    params = jax.tree.leaves(nnx.state(result.session.model_state, nnx.Param))
    assert {leaf.dtype.name for leaf in params} == {precision}
    norm = layer_module(result.model, "norm")
    seen = x * 2 + 1  # what reaches the layer: the rescaled input
    np.testing.assert_allclose(np.asarray(norm.mean[...]), seen.reshape(-1, 2).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(norm.variance[...]), seen.reshape(-1, 2).var(axis=0), rtol=1e-4)
    assert float(norm.count[...]) == 16 * 3


# --- the Highway example ------------------------------------------------------------------------


def test_highway_layer_computes_the_lecture_formula():
    from conftest import ROOT

    model = build(ROOT / "examples" / "highway_mnist.yaml")
    for gate in ("t1", "t2", "t3"):
        np.testing.assert_array_equal(np.asarray(layer_module(model, gate).bias[...]), np.full(50, -2.0))
    x = RNG.uniform(size=(28, 28, 1))
    values = {}

    def dense(name, v, activation):
        module = layer_module(model, name)
        return activation(v @ np.asarray(module.kernel[...], np.float64) + np.asarray(module.bias[...]))

    relu, sigmoid = (lambda v: np.maximum(v, 0)), (lambda v: 1 / (1 + np.exp(-v)))
    values["x"] = dense("embed", x.reshape(-1), relu)
    for index in (1, 2, 3):
        h, t = dense(f"h{index}", values["x"], relu), dense(f"t{index}", values["x"], sigmoid)
        values["x"] = h * t + values["x"] * (1 - t)  # y = H·T + x·(1 − T)
    logits = dense("predictions", values["x"], lambda v: v)
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(run(model, x), expected, rtol=1e-4, atol=1e-6)


# --- upsample and conv_transpose ---------------------------------------------------------------


def reference_conv_transpose(x, kernel, bias, stride, crop=(0, 0)):
    """Keras' / torch's transposed convolution, by scatter: input cell i adds kernel[k] @ x[i] at
    output i·S + k; x (W, C_in), kernel (F, K, C_in); the full (W − 1)·S + F output is cropped."""
    width, size = x.shape[0], kernel.shape[0]
    out = np.zeros(((width - 1) * stride + size, kernel.shape[1]))
    for i in range(width):
        for k in range(size):
            out[i * stride + k] += kernel[k] @ x[i]
    return out[crop[0]:len(out) - crop[1]] + bias


@pytest.mark.parametrize(("size", "stride", "padding", "crop"), [
    (3, 2, "valid", (0, 0)), (4, 2, "[[1, 1]]", (1, 1)), (3, 1, "[[0, 2]]", (0, 2)), (3, 2, "same", (0, 1)),
])
def test_conv_transpose_scatters_like_keras(size, stride, padding, crop):
    model = build(spec(f"  - conv_transpose: {{K: 3, F: {size}, S: {stride}, P: {padding}, name: up}}\n", "[5, 2]"))
    x = RNG.normal(size=(5, 2))
    up = layer_module(model, "up")
    kernel, bias = np.asarray(up.kernel[...], np.float64), np.asarray(up.bias[...], np.float64)
    assert kernel.shape == (size, 3, 2)  # Keras' layout: F + (K, C_in)
    expected = reference_conv_transpose(x, kernel, bias, stride, crop)
    np.testing.assert_allclose(run(model, x), expected, rtol=1e-5, atol=1e-5)


def test_conv_transpose_static_facts():
    text = spec("""\
  - conv_transpose: {K: 8, F: 3, S: 2, P: same, activation: relu, name: same}
  - conv_transpose: {K: 4, F: [2, 3], S: [2, 1], name: valid}
  - conv_transpose: {K: 2, F: 4, S: 2, P: 1, bias: false, name: torch}
""", "[7, 5, 3]")
    analysis = check_text(text).analysis
    assert analysis.layers["same"].output_shape == (14, 10, 8)
    assert analysis.layers["valid"].output_shape == (28, 12, 4)  # 14·2 + max(2 − 2, 0); 10·1 + 2
    assert analysis.layers["torch"].output_shape == (56, 24, 2)  # (W − 1)·2 + 4 − 2
    assert analysis.layers["same"].trainable_params == 8 * 9 * 3 + 8
    assert analysis.layers["same"].macs == 7 * 5 * 3 * 8 * 9
    assert analysis.layers["torch"].trainable_params == 2 * 16 * 4
    assert_static_equals_compiled(load(text))


def test_conv_transpose_crop_is_bounded_by_the_kernel():
    [problem] = errors(spec("  - conv_transpose: {K: 2, F: 3, S: 2, P: 3}\n", "[5, 5, 1]"))
    assert problem.code == "bad-padding" and "at most 2" in problem.message


def test_upsample_nearest_repeats_cells_per_axis():
    model = build(spec("  - upsample: {size: [2, 3]}\n", "[3, 2, 2]"))
    x = RNG.normal(size=(3, 2, 2))
    np.testing.assert_allclose(run(model, x), np.repeat(np.repeat(x, 2, axis=0), 3, axis=1), rtol=1e-6)


def reference_linear_upsample(x, factor):
    """Linear interpolation along axis 0 with half-pixel centres, edges clamped."""
    length = x.shape[0]
    out = []
    for i in range(length * factor):
        source = min(max((i + 0.5) / factor - 0.5, 0.0), length - 1.0)
        low = int(np.floor(source))
        high = min(low + 1, length - 1)
        out.append(x[low] * (1 - (source - low)) + x[high] * (source - low))
    return np.array(out)


def test_upsample_bilinear_interpolates_with_half_pixel_centres():
    model = build(spec("  - upsample: {size: [2, 3], interpolation: bilinear}\n", "[4, 3, 1]"))
    x = RNG.normal(size=(4, 3, 1))
    rows = reference_linear_upsample(x, 2)
    expected = reference_linear_upsample(rows.transpose(1, 0, 2), 3).transpose(1, 0, 2)
    np.testing.assert_allclose(run(model, x), expected, rtol=1e-5, atol=1e-5)


def test_a_decoder_is_expressible():
    text = spec("""\
  - conv: {K: 4, F: 3, S: 2, P: same, activation: relu, name: down}
  - upsample: {size: 2, interpolation: bilinear, name: up}
  - conv_transpose: {K: 2, F: 2, S: 2, name: up2}
  - conv: {K: 1, F: 1, activation: sigmoid}
""", "[8, 8, 3]")
    analysis = check_text(text).analysis
    assert analysis.layers["up"].output_shape == (8, 8, 4) and analysis.output.output_shape == (16, 16, 1)
    assert analysis.layers["up2"].receptive_field == (5, 5)  # 3 + (ceil(2/2) - 1)·1, after down's 3 + bilinear 2
    assert_static_equals_compiled(load(text))


# --- summary labels and the diagram -------------------------------------------------------------


def test_new_layers_have_summary_labels_and_diagram_boxes():
    from netspec.diagram import to_dot
    from netspec.report.summary import type_label

    text = spec("""\
  - rescaling: {scale: 0.5, offset: 1, name: a}
  - normalization: {name: b}
  - conv_transpose: {K: 2, F: 3, S: 2, P: same, name: c}
  - upsample: {size: [2, 1], interpolation: bilinear, name: d}
  - global_pool: {keepdims: true, name: e}
  - reshape: {shape: [-1], name: f}
  - subtract: {from: [d, f], name: g}
""", "[4, 4, 3]")
    checked = check_text(text)
    labels = {node.name: type_label(node) for node in checked.graph.nodes}
    assert labels["a"] == "rescaling ×0.5 +1"
    assert labels["b"] == "normalization (adapted)"
    assert labels["c"] == "conv_transpose 3×3/2 K=2 same"
    assert labels["d"] == "upsample ×2×1 bilinear"
    assert labels["e"] == "global avgpool keepdims"
    assert labels["f"] == "reshape [-1]"
    assert labels["g"] == "subtract"
    dot = to_dot(checked.graph, checked.analysis)
    assert all(label in dot for label in labels.values() if label != "input")


def test_json_schema_describes_the_new_layers():
    import json

    from netspec.spec.network import spec_json_schema

    text = json.dumps(spec_json_schema())
    for word in ("conv_transpose", "upsample", "rescaling", "normalization", "reshape", "subtract", "maximum",
                 "minimum", "average", "keepdims", "relu6", "hard_swish", "mish", "max_value", "negative_slope",
                 "threshold", "constant", "bilinear"):
        assert f'"{word}"' in text, word
