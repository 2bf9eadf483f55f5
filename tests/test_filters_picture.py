"""`netspec filters`: paging through large layers, thin gutters, numbered filters."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from netspec import build, load
from netspec.diagnostics import NetspecError
from netspec.visualize import filters_grid, save_filters_png

SPEC = "name: f\ninput: [8, 8, 4]\nlayers: [{conv: {K: 40, F: 3, name: wide}}, flatten, {dense: {units: 2}}]\n"


def test_paging_and_zoom_of_the_grid():
    graph = load(SPEC)
    model = build(graph, seed=0)
    page = filters_grid(model, graph, "wide", first=10, limit=5)
    assert page.shape == (5 * 4 - 1, 4 * 4 - 1)  # 5 filters × 4 input channels of 3×3, 1-pixel gaps
    zoomed = filters_grid(model, graph, "wide", first=10, limit=5, zoom=4)
    assert zoomed.shape == (5 * 13 - 1, 4 * 13 - 1)
    np.testing.assert_array_equal(zoomed[:12:4, :12:4], page[:3, :3])  # the same weights, repeated


def test_the_picture_has_thin_gutters_and_refuses_a_page_past_the_end(tmp_path):
    graph = load(SPEC)
    model = build(graph, seed=0)
    path = save_filters_png(model, graph, tmp_path / "f.png", "wide", first=0, limit=16)
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    gutter = (np.abs(pixels - [111, 168, 220]).sum(axis=-1) < 20).sum()  # "#6fa8dc"
    grey = (np.abs(pixels[..., 0] - pixels[..., 1]) < 3) & (np.abs(pixels[..., 1] - pixels[..., 2]) < 3) & (
        pixels[..., 0] < 250)
    assert 0 < gutter < 0.25 * grey.sum()  # the weights, not the gutters, fill the picture
    with pytest.raises(NetspecError, match="past the last"):
        save_filters_png(model, graph, tmp_path / "g.png", "wide", first=40)
