"""The activations picture: shared scale with the real values, dead channels marked,
channel numbers, paging, and dense layers as a bar strip (netspec.interpret.activation_picture)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from netspec.interpret.activation_picture import DEAD_COLOUR, dead_channels, layout, save_activations_figure


def maps_with_a_dead_channel() -> np.ndarray:
    rng = np.random.default_rng(0)
    maps = rng.uniform(0, 2, (6, 6, 5)).astype(np.float32)
    maps[..., 2] = 0.0  # a ReLU channel that never fires
    maps[..., 4] *= 0.1  # a weak channel: must look weak on the shared scale
    return maps


def test_shared_scale_keeps_the_values_and_finds_the_dead_channel():
    maps = maps_with_a_dead_channel()
    tiles = layout(maps)
    assert tiles.dead == [2] and dead_channels(maps) == [2]
    assert tiles.limits == (0.0, float(maps.max()))
    for channel, (top, left) in zip(tiles.channels, tiles.corners):
        np.testing.assert_array_equal(tiles.grid[top:top + 6, left:left + 6], maps[..., channel])
    each = layout(maps, scale="each")
    top, left = each.corners[4]
    assert each.limits is None and each.grid[top:top + 6, left:left + 6].max() == 1.0  # stretched, and says so
    page = layout(maps, first=3, limit=2)
    assert page.channels == [3, 4] and page.dead == []


def dead_pixels(path) -> int:
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).astype(int)
    target = np.array([int(DEAD_COLOUR[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - target).sum(axis=1) <= 6).sum())


def test_the_picture_marks_dead_channels_grey(tmp_path):
    image = np.zeros((12, 12, 1), np.float32)
    maps = maps_with_a_dead_channel()
    with_dead = save_activations_figure(maps, image, tmp_path / "dead.png", layer="conv")
    alive = maps.copy()
    alive[..., 2] = 1.0 + np.eye(6)
    without = save_activations_figure(alive, image, tmp_path / "alive.png", layer="conv")
    assert dead_pixels(with_dead) > 20_000 and dead_pixels(without) < 500  # anti-aliased text can hit it


def test_a_dense_layer_is_a_bar_per_unit_with_no_padding(tmp_path):
    values = np.array([0.5, -1.0, 0.0, 3.0, 0.0], np.float32)
    path = save_activations_figure(values, np.zeros((12, 12, 1), np.float32), tmp_path / "dense.png",
                                   layer="fc")
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).astype(int)
    blue = (np.abs(pixels - [31, 119, 180]).sum(axis=1) < 10).sum()  # positive units
    red = (np.abs(pixels - [214, 39, 40]).sum(axis=1) < 10).sum()  # negative units
    assert blue > 3 * red > 0  # two positive bars (one tall), one short negative bar
