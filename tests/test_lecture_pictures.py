"""The lectures' looking-inside methods on networks built to detect planted patterns:
each must find the pattern it was built for.

* activation maximisation of a horizontal and a vertical bar detector draws
  horizontal and vertical stripes;
* Grad-CAM of a "has a cross" class peaks on the cross;
* LIME's sparse model picks exactly the regions the class reads;
* SmoothGrad is saliency when the noise is 0, and stays on the evidence.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from netspec import build, load
from netspec.builder import layer_module
from netspec.explain import occlusion, saliency
from netspec.interpret.gradcam import gradcam, last_spatial_layer
from netspec.interpret.lime import lime, superpixels
from netspec.interpret.maximize import maximize, save_maximize_png
from netspec.interpret.smoothgrad import smoothgrad

CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.float32)


@pytest.fixture(scope="module")
def bars():
    """A conv layer whose unit 0 detects horizontal bars and unit 1 vertical ones."""
    graph = load("name: bars\ninput: [16, 16, 1]\nlayers:\n"
                 "  - conv: {K: 2, F: 5, activation: relu, name: edges}\n  - flatten\n  - dense: {units: 2}\n")
    model = build(graph, seed=0)
    bar = np.full((5, 5), -0.25, np.float32)
    bar[2, :] = 1.0
    layer_module(model, "edges").kernel[...] = jnp.asarray(np.stack([bar, bar.T], -1)[:, :, None, :])
    layer_module(model, "edges").bias[...] = jnp.zeros(2)
    return graph, model


def roughness(image: np.ndarray) -> tuple[float, float]:
    """(mean change between rows, mean change between columns)."""
    return float(np.abs(np.diff(image, axis=0)).mean()), float(np.abs(np.diff(image, axis=1)).mean())


def test_activation_maximisation_draws_the_bar_each_unit_detects(bars, tmp_path):
    graph, model = bars
    images = maximize(model, graph, "edges", [0, 1], steps=80)
    assert images.shape == (2, 16, 16, 1) and images.min() >= 0 and images.max() <= 1
    across_rows, across_columns = roughness(images[0, ..., 0])
    assert across_rows > 4 * across_columns  # horizontal stripes: constant along each row
    across_rows, across_columns = roughness(images[1, ..., 0])
    assert across_columns > 4 * across_rows  # vertical stripes

    from PIL import Image

    path = save_maximize_png(images, [0, 1], tmp_path / "max.png", title="edges")
    picture = np.asarray(Image.open(path).convert("L"), np.float32)
    left, right = picture[:, :picture.shape[1] // 2], picture[:, picture.shape[1] // 2:]
    # The left tile (unit 0) changes mostly down its columns, the right one along its rows.
    assert roughness(left)[0] > roughness(left)[1] and roughness(right)[1] > roughness(right)[0]


def test_activation_maximisation_rejects_bad_units(bars):
    from netspec.diagnostics import NetspecError

    graph, model = bars
    with pytest.raises(NetspecError, match="units must be in 0..1"):
        maximize(model, graph, "edges", [2])


@pytest.fixture(scope="module")
def cross_classifier():
    """Logits of a net whose class 1 says "there is a cross somewhere", class 0 "bright"."""
    graph = load("name: cross\ninput: [16, 16, 1]\nlayers:\n"
                 "  - conv: {K: 2, F: 3, P: same, activation: relu, name: feat}\n"
                 "  - global_pool\n  - dense: {units: 2, name: out}\n")
    model = build(graph, seed=0)
    kernel = np.zeros((3, 3, 1, 2), np.float32)
    kernel[..., 0, 0] = CROSS - 0.5
    kernel[..., 0, 1] = 1 / 9
    layer_module(model, "feat").kernel[...] = jnp.asarray(kernel)
    layer_module(model, "feat").bias[...] = jnp.asarray([-1.0, 0.0])
    layer_module(model, "out").kernel[...] = jnp.asarray([[0.0, 10.0], [1.0, 0.0]])
    layer_module(model, "out").bias[...] = jnp.zeros(2)
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 0.3, (16, 16, 1)).astype(np.float32)
    image[10:13, 3:6, 0] = np.maximum(image[10:13, 3:6, 0], CROSS)
    return graph, model, image


def test_gradcam_of_the_cross_class_peaks_on_the_cross(cross_classifier):
    graph, model, image = cross_classifier
    assert last_spatial_layer(graph) == "feat"
    heat = gradcam(model, graph, image, 1)
    np.testing.assert_allclose(gradcam(model, graph, image, 1, variant="auto"), heat)  # global pooling: Grad-CAM
    assert heat.shape == (16, 16) and heat.min() >= 0
    assert np.unravel_index(heat.argmax(), heat.shape) == (11, 4)  # the cross's centre
    assert heat[10:13, 3:6].sum() > 0.9 * heat.sum()


def test_hirescam_finds_the_cross_where_a_flatten_head_empties_grad_cam(cross_classifier):
    from netspec.interpret.gradcam import cam_variant

    _, _, image = cross_classifier
    graph = load("name: flat\ninput: [16, 16, 1]\nlayers:\n"
                 "  - conv: {K: 1, F: 3, P: same, activation: relu, name: feat}\n"
                 "  - flatten\n  - dense: {units: 2, name: out}\n")
    model = build(graph, seed=0)
    layer_module(model, "feat").kernel[...] = jnp.asarray((CROSS - 0.5)[:, :, None, None])
    layer_module(model, "feat").bias[...] = jnp.asarray([-1.0])
    # Class 1 reads the cross detector positively where the cross is, negatively everywhere else:
    # the spatial mean of its gradient is negative, so Grad-CAM's map is empty.
    weights = np.full((16, 16), -1.0, np.float32)
    weights[9:14, 2:7] = 5.0
    kernel = np.zeros((256, 2), np.float32)
    kernel[:, 1] = weights.reshape(-1)
    layer_module(model, "out").kernel[...] = jnp.asarray(kernel)
    assert cam_variant(graph, "feat") == "hirescam"
    assert gradcam(model, graph, image, 1, variant="gradcam").max() == 0
    heat = gradcam(model, graph, image, 1, variant="auto")
    assert np.unravel_index(heat.argmax(), heat.shape) == (11, 4)


def test_smoothgrad_is_saliency_without_noise_and_stays_on_the_evidence(cross_classifier):
    graph, model, image = cross_classifier
    plain = saliency(model, image, 1)
    np.testing.assert_allclose(smoothgrad(model, image, 1, samples=3, noise=0.0), plain, rtol=1e-6)
    smooth = smoothgrad(model, image, 1, samples=32, noise=0.1)
    around = np.zeros_like(smooth, bool)
    around[8:15, 1:8] = True  # the fields of the units that can see the cross
    assert smooth[around].sum() > 0.8 * smooth.sum()


def test_occlusion_by_logit_moves_where_the_probability_is_saturated(cross_classifier):
    from flax import nnx

    graph, model, image = cross_classifier
    confident = nnx.clone(model)
    layer_module(confident, "out").kernel[...] = jnp.asarray([[0.0, 3000.0], [1.0, 0.0]])
    image = image.copy()
    image[2:5, 10:13, 0] = np.maximum(image[2:5, 10:13, 0], CROSS)  # a second cross: hiding one leaves p ≈ 1
    by_prob = occlusion(confident, image, 1, patch=4, stride=1, fill="black")
    by_logit = occlusion(confident, image, 1, patch=4, stride=1, fill="black", score="logit")
    assert by_prob.max() < 1e-3  # the "almost blank" map of the issue
    assert by_logit.max() > 1.0
    for top, left in ((10, 3), (2, 10)):  # both crosses are where hiding hurts the logit most
        assert by_logit[top:top + 3, left:left + 3].mean() > 0.5 * by_logit.max()


def test_lime_picks_the_regions_the_class_reads():
    graph = load("name: regions\ninput: [16, 16, 1]\nlayers: [flatten, {dense: {units: 2, name: out}}]\n")
    model = build(graph, seed=0)
    region = np.zeros((16, 16), bool)
    region[0:4, 0:4] = region[4:8, 8:12] = True
    kernel = np.zeros((256, 2), np.float32)
    kernel[:, 1] = np.where(region.reshape(-1), 0.5, 0.0)
    layer_module(model, "out").kernel[...] = jnp.asarray(kernel)
    layer_module(model, "out").bias[...] = jnp.asarray([12.0, 0.0])
    rng = np.random.default_rng(0)
    image = rng.uniform(0.0, 0.2, (16, 16, 1)).astype(np.float32)
    image[region] = 1.0
    image[12:15, 1:15] = 1.0  # bright, but not read by class 1
    grid = (np.arange(16)[:, None] // 4) * 4 + np.arange(16)[None, :] // 4  # 16 blocks of 4x4
    found = lime(model, image, 1, segments=grid, samples=300, features=4)
    assert set(np.argsort(-found.weights)[:2].tolist()) == {0, 6}  # blocks (0, 0) and (1, 2)
    assert found.weights[[0, 6]].min() > 10 * np.abs(np.delete(found.weights, [0, 6])).max()
    assert np.count_nonzero(found.weights) <= 4 and found.score > 0.8
    # With SLIC superpixels: the strongest one lies inside the regions the class reads.
    slic = lime(model, image, 1, samples=300, features=4)
    assert slic.segments.max() >= 3 and np.array_equal(slic.segments, superpixels(image))
    strongest = slic.segments == slic.weights.argmax()
    assert region[strongest].mean() > 0.9
