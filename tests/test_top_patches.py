"""Receptive-field geometry and `netspec top-patches`: the static window of a unit equals
the input cells its gradient reaches, and the top patches of a unit built to detect a
planted pattern are the examples holding it, cut exactly around it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from netspec import build, load
from netspec.builder import layer_module, layer_outputs
from netspec.interpret.field_geometry import FieldGeometry, field_geometry
from netspec.interpret.top_patches import save_top_patches_png, top_patches

GEOMETRY_SPEC = """\
name: geometry
input: [20, 20, 1]
layers:
  - conv: {K: 2, F: 3, P: same, name: a}
  - pool: {F: 2, mode: avg, name: b}
  - conv: {K: 2, F: 3, S: 2, P: 1, name: c}
  - zero_pad: {padding: 1, name: d}
  - conv: {K: 1, F: 3, D: 2, name: e}
"""


def test_static_window_equals_the_cells_the_gradient_reaches():
    from flax import nnx

    graph = load(GEOMETRY_SPEC)
    model = build(graph, seed=0)
    for name in "ace":  # positive weights, no activation: every cell of the field gets a gradient
        module = layer_module(model, name)
        module.kernel[...] = jnp.abs(module.kernel[...]) + 0.1
    graphdef, state = nnx.split(model)
    x = jnp.full((1, 20, 20, 1), 0.5)
    for layer in "abcde":
        values, pullback = jax.vjp(lambda x, layer=layer: layer_outputs(nnx.merge(graphdef, state), x, [layer])[layer], x)
        geometry = field_geometry(graph, layer)
        height, width = values.shape[1:3]
        for position in [(1, 1), (height // 2, width - 2), (height - 2, 1)]:
            cotangent = jnp.zeros_like(values).at[0, position[0], position[1], 0].set(1.0)
            support = np.argwhere(np.asarray(pullback(cotangent)[0])[0, ..., 0] != 0)
            found = [(support[:, axis].min(), support[:, axis].max()) for axis in (0, 1)]
            window = [(max(start, 0), min(stop, 20) - 1) for start, stop in geometry.window(position)]
            if layer in "abc":  # dense fields: the gradient fills the window (clipped to the image)
                assert found == window, (layer, position)
            else:  # zero_pad's border and the dilation's holes see nothing: inside the window
                assert all(w0 <= f0 and f1 <= w1 for (f0, f1), (w0, w1) in zip(found, window)), (layer, position)
    assert field_geometry(graph, "e") == FieldGeometry(size=(24, 24), jump=(4, 4), offset=(-7, -7))


PLANTED_SPEC = """\
name: planted
input: [16, 16, 1]
layers:
  - conv: {K: 2, F: 3, P: same, activation: relu, name: detect}
  - pool: {F: 2, name: pool}
  - flatten
  - dense: {units: 2}
"""
CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.float32)


def planted_data(count=40, seed=0):
    """Dim noise; every fifth image holds a bright cross at a random place."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.3, (count, 16, 16, 1)).astype(np.float32)
    where = {}
    for index in range(0, count, 5):
        top, left = rng.integers(1, 12, size=2)
        x[index, top:top + 3, left:left + 3, 0] = np.maximum(x[index, top:top + 3, left:left + 3, 0], CROSS)
        where[index] = (int(top), int(left))
    return x, where


def planted_model():
    graph = load(PLANTED_SPEC)
    model = build(graph, seed=0)
    detect = layer_module(model, "detect")
    kernel = np.zeros((3, 3, 1, 2), np.float32)
    kernel[..., 0, 0] = CROSS - 0.5  # unit 0: the cross, minus the mean so flat noise scores low
    kernel[..., 0, 1] = 1 / 9  # unit 1: brightness
    detect.kernel[...] = jnp.asarray(kernel)
    detect.bias[...] = jnp.zeros(2)
    return graph, model


def test_top_patches_of_a_cross_detector_are_the_planted_crosses(tmp_path):
    graph, model = planted_model()
    x, where = planted_data()
    found = top_patches(model, graph, x, "detect", unit=0, k=9)
    planted = set(where)
    assert set(found.indices[:len(planted)].tolist()) == planted  # every planted image outranks all noise
    for index, position, patch in zip(found.indices, found.positions, found.patches):
        if index in where:  # the strongest unit sits on the cross's centre; its 3x3 field is the cross
            top, left = where[int(index)]
            assert tuple(position) == (top + 1, left + 1)
            assert np.array_equal(patch[..., 0] >= 1, CROSS.astype(bool))
    assert np.all(np.diff(found.values) <= 0)

    pooled = top_patches(model, graph, x, "pool", unit=0, k=3)  # a 4x4 field, stride 2
    assert pooled.patches.shape == (3, 4, 4, 1)
    for index, window, patch in zip(pooled.indices, pooled.windows, pooled.patches):
        top, left = where[int(index)]
        (row0, row1), (col0, col1) = window
        assert row0 <= top + 1 < row1 and col0 <= left + 1 < col1  # the field holds the cross's centre
        assert np.nanmax(patch) >= 1


def test_top_patches_png_shows_the_patches_strongest_first(tmp_path):
    from PIL import Image

    graph, model = planted_model()
    x, _ = planted_data()
    found = top_patches(model, graph, x, "detect", unit=0, k=4)
    path = save_top_patches_png(found, tmp_path / "top.png")
    image = np.asarray(Image.open(path).convert("L"), np.float32)
    # Four tiles in a 2x2 grid: each holds a bright cross, so the picture has bright pixels
    # in each quadrant below the title.
    height, width = image.shape
    body = image[int(0.12 * height):]
    quadrants = [body[:len(body) // 2, :width // 2], body[:len(body) // 2, width // 2:],
                 body[len(body) // 2:, :width // 2], body[len(body) // 2:, width // 2:]]
    assert all(q.max() > 200 for q in quadrants)


def test_unit_out_of_range_is_a_diagnostic():
    from netspec.diagnostics import NetspecError

    graph, model = planted_model()
    with pytest.raises(NetspecError, match="unit must be in 0..1"):
        top_patches(model, graph, planted_data()[0], "detect", unit=2)
