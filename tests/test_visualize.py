"""Filters and feature maps of a trained MNIST net as arrays and PNGs
(netspec.interpret.visualize, ``netspec filters`` / ``netspec activations``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image
from trained_mnist import mnist, run_cli, save_digit

from netspec import build
from netspec.builder import layer_module
from netspec.diagnostics import NetspecError
from netspec.interpret.visualize import (
    activations_grid,
    filters_grid,
    save_activations_png,
    save_filters_png,
    tile,
)
from netspec.pipeline import load


def _scaled(values: np.ndarray) -> np.ndarray:
    return (values - values.min()) / (values.max() - values.min())


def test_tile_lays_tiles_out_row_by_row_with_gaps():
    tiles = np.arange(5 * 2 * 2, dtype=np.float32).reshape(5, 2, 2)
    grid = tile(tiles, columns=3)
    assert grid.shape == (5, 8)
    assert np.array_equal(grid[3:5, 0:2], tiles[3]) and np.array_equal(grid[0:2, 6:8], tiles[2])
    assert np.isnan(grid[2]).all() and np.isnan(grid[:, 2]).all()  # the gaps
    assert np.isnan(grid[3:5, 6:8]).all()  # the sixth place is empty


def test_filters_grid_of_a_one_channel_layer_is_one_grey_tile_per_filter(trained):
    grid = filters_grid(trained.model, trained.graph)  # default: the first conv, conv1 (8 filters 3×3×1)
    assert grid.shape == (3 * 4 - 1, 3 * 4 - 1)  # 3×3 places for 8 filters
    kernel = np.asarray(layer_module(trained.model, "conv1").kernel[...])
    assert np.allclose(grid[0:3, 4:7], _scaled(kernel[:, :, 0, 1]), atol=1e-6)  # filter 1: row 0, column 1
    assert np.allclose(grid[8:11, 4:7], _scaled(kernel[:, :, 0, 7]), atol=1e-6)  # filter 7: row 2, column 1


def test_filters_grid_of_a_deeper_layer_has_a_row_per_filter_and_a_column_per_channel(trained):
    grid = filters_grid(trained.model, trained.graph, "conv2")  # 16 filters 3×3×8
    assert grid.shape == (16 * 4 - 1, 8 * 4 - 1)
    kernel = np.asarray(layer_module(trained.model, "conv2").kernel[...])
    filter_5 = _scaled(kernel[..., 5])  # scaled as a whole filter, over all its channels
    assert np.allclose(grid[20:23, 8:11], filter_5[:, :, 2], atol=1e-6)


def test_filters_of_an_rgb_layer_are_colour_tiles():
    graph = load("name: rgb\ninput: [16, 16, 3]\nlayers: [{conv: {K: 5, F: 4, name: first}}, flatten]\n")
    model = build(graph, seed=1)
    grid = filters_grid(model, graph)
    assert grid.shape == (2 * 5 - 1, 3 * 5 - 1, 3)
    kernel = np.asarray(layer_module(model, "first").kernel[...])
    assert np.allclose(grid[5:9, 0:4], _scaled(kernel[..., 3]), atol=1e-6)  # filter 3, all three channels


def test_layers_that_are_not_conv_or_do_not_exist_are_diagnostics(trained):
    with pytest.raises(NetspecError, match="'logits' is a dense layer") as info:
        filters_grid(trained.model, trained.graph, "logits")
    assert "conv1, conv2" in info.value.diagnostics[0].hint
    with pytest.raises(NetspecError, match="no layer named 'cnov1'") as info:
        activations_grid(trained.model, trained.graph, mnist().val.x[0], "cnov1")
    assert "did you mean 'conv1'?" in info.value.diagnostics[0].hint


def test_activations_grid_shows_each_feature_map_scaled(trained):
    image = mnist().val.x[0]
    grid = activations_grid(trained.model, trained.graph, image, "conv1")
    assert grid.shape == (3 * 29 - 1, 3 * 29 - 1)
    # conv1 by hand: 3×3 "same" convolution without bias, then relu.
    kernel = jnp.asarray(layer_module(trained.model, "conv1").kernel[...])
    by_hand = jax.nn.relu(jax.lax.conv_general_dilated(
        jnp.asarray(image[None]), kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")))[0]
    assert np.allclose(grid[29:57, 0:28], _scaled(np.asarray(by_hand[..., 3])), atol=1e-5)  # map 3


def test_activations_of_a_dense_layer_are_a_block_of_units(trained):
    grid = activations_grid(trained.model, trained.graph, mnist().val.x[0], "logits")
    assert grid.shape == (4, 4) and np.isnan(grid.reshape(-1)[10:]).all()
    assert np.nanmin(grid) == 0 and np.nanmax(grid) == 1


def test_pngs_have_sensible_sizes(trained, tmp_path):
    image = mnist().val.x[0]
    paths = [save_filters_png(trained.model, trained.graph, tmp_path / "f1.png"),
             save_filters_png(trained.model, trained.graph, tmp_path / "f2.png", "conv2"),
             save_activations_png(trained.model, trained.graph, image, "conv2", tmp_path / "a.png")]
    for path in paths:
        with Image.open(path) as picture:
            width, height = picture.size
            assert 400 <= width <= 1400 and 300 <= height <= 1400
            assert np.asarray(picture.convert("L")).std() > 20


def test_filters_and_activations_commands(probe, tmp_path, monkeypatch, capsys):
    spec, run = probe
    image, _ = save_digit(tmp_path / "digit.png", 1)
    monkeypatch.chdir(tmp_path)
    assert run_cli(["filters", spec, "--checkpoint", run]) == 0
    assert (tmp_path / "filters-conv1.png").is_file()
    assert run_cli(["activations", spec, image, "--checkpoint", run, "--layer", "conv2", "-o", "maps.png"]) == 0
    assert (tmp_path / "maps.png").is_file()
    assert run_cli(["activations", spec, image, "--checkpoint", run, "--layer", "conv_2"]) == 1
    error = capsys.readouterr().err
    assert "no layer named 'conv_2'" in error and "did you mean 'conv2'?" in error
    assert "layers: input, conv1, max_pool2d_1, conv2" in error
