"""What a trained network has learned, as pictures: first-layer filters and
feature maps (the lectures' "filter visualisations" of AlexNet).

Each function returns an array (for notebooks) and has a ``save_*`` twin
that writes a PNG with matplotlib's Agg backend (no display needed).

* :func:`filters_grid`: a conv layer's kernels, one tile per filter — RGB
  tiles when the layer reads 3 channels, else one grey tile per (filter,
  input channel). Each filter is scaled to its own min..max, so the pattern
  shows whatever the weights' magnitude.
* :func:`activations_grid`: a layer's output for one image, one tile per
  channel, each scaled to its own range.

>>> grid = filters_grid(run.model, graph)            # doctest: +SKIP
>>> save_activations_png(run.model, graph, image, "conv1", "conv1.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from netspec.diagnostics import NetspecError, did_you_mean, error
from netspec.ir import Graph

CONV_OPS = ("conv",)
MAX_TILES = 256  # more tiles than this make unreadable PNGs; the rest are left out, and the title says so


def _layer_names_hint(word: str, names: list[str]) -> str:
    close = did_you_mean(word, names)
    shown = ", ".join(names[:30]) + (f", ... ({len(names)} in all)" if len(names) > 30 else "")
    return f"{close + ' ' if close else ''}layers: {shown}"


def check_layer(graph: Graph, name: str, ops: tuple[str, ...] | None = None) -> None:
    """A diagnostic unless ``name`` is a layer of ``graph`` (of one of ``ops``, when given)."""
    names = [node.name for node in graph.nodes if ops is None or node.op in ops]
    if name in names:
        return
    if ops is not None and any(node.name == name for node in graph.nodes):
        op = graph.node(name).op
        raise NetspecError([error("not-a-conv-layer", f"'{name}' is a {op} layer; filters are drawn for conv layers",
                                  hint=f"conv layers: {', '.join(names) or 'none'}")])
    raise NetspecError([error("unknown-layer", f"'{graph.name}' has no layer named '{name}'",
                              hint=_layer_names_hint(name, names))])


def first_conv(graph: Graph) -> str:
    """The name of the first conv layer of ``graph`` (a diagnostic if there is none)."""
    for node in graph.nodes:
        if node.op in CONV_OPS:
            return node.name
    raise NetspecError([error("no-conv-layer", f"'{graph.name}' has no conv layer whose filters could be drawn")])


def _unit_range(values: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Scale to [0, 1] over ``axes`` (a constant slice becomes 0.5)."""
    low = values.min(axis=axes, keepdims=True)
    high = values.max(axis=axes, keepdims=True)
    spread = high - low
    return np.where(spread > 0, (values - low) / np.where(spread > 0, spread, 1), 0.5)


def tile(tiles: np.ndarray, columns: int, gap: int = 1, background: float = np.nan) -> np.ndarray:
    """Tiles ``(N, h, w[, 3])`` laid out row by row, ``columns`` to a row, ``gap`` pixels
    apart; gaps and empty places hold ``background`` (NaN: matplotlib draws it as its
    "bad" colour, so separators never look like a value).

    >>> tile(np.zeros((5, 2, 2)), columns=3).shape
    (5, 8)
    """
    count, height, width = tiles.shape[:3]
    rows = math.ceil(count / columns)
    shape = (rows * (height + gap) - gap, columns * (width + gap) - gap, *tiles.shape[3:])
    grid = np.full(shape, background, np.float32)
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        grid[top:top + height, left:left + width] = tiles[index]
    return grid


def _kernel(model, graph: Graph, layer: str) -> np.ndarray:
    """The kernel of conv ``layer`` as ``(F_h, F_w, C_in/groups, K)`` (1-D kernels get F_h = 1)."""
    from netspec.builder import layer_module

    conv: Any = layer_module(model, layer)  # a conv layer of the built model (nnx.Conv or its like)
    kernel = np.asarray(conv.kernel[...], np.float32)
    if kernel.ndim == 3:
        kernel = kernel[None]
    if kernel.ndim != 4:
        raise NetspecError([error("not-drawable", f"'{layer}' is a {kernel.ndim - 2}-D convolution; "
                                                  "filters are drawn for 1-D and 2-D convolutions")])
    return kernel


def filters_grid(model, graph: Graph, layer: str | None = None, *, first: int = 0,
                 limit: int = MAX_TILES, zoom: int = 1) -> np.ndarray:
    """The filters of conv ``layer`` (default: the first conv) as one image in [0, 1].

    With 3 input channels: RGB tiles ``F_h×F_w``, filters in a square-ish grid,
    shape ``(rows·(F_h+1)−1, columns·(F_w+1)−1, 3)``, white between tiles.
    Otherwise grey ``(H, W)`` with NaN between tiles: one input channel -> one
    tile per filter in a square-ish grid; several -> one row per filter, one
    column per input channel. ``first`` and ``limit`` page through the filters;
    ``zoom`` repeats each weight ``zoom``×``zoom`` times, so the one-pixel gaps stay thin.
    """
    layer = layer or first_conv(graph)
    check_layer(graph, layer, CONV_OPS)
    kernel = _kernel(model, graph, layer)
    filters = np.moveaxis(kernel, -1, 0)[first:first + min(limit, MAX_TILES)]  # (K, F_h, F_w, C_in)
    if len(filters) == 0:
        raise NetspecError([error("bad-page", f"'{layer}' has {kernel.shape[-1]} filters; "
                                              f"--first {first} is past the last")])
    scaled = _unit_range(filters, (1, 2, 3))
    scaled = np.repeat(np.repeat(scaled, zoom, axis=1), zoom, axis=2)
    channels = filters.shape[-1]
    if channels == 3:
        return tile(scaled, columns=math.ceil(math.sqrt(len(scaled))), background=1.0)
    if channels == 1:
        return tile(scaled[..., 0], columns=math.ceil(math.sqrt(len(scaled))))
    per_channel = np.moveaxis(scaled, -1, 1)  # (K, C_in, F_h, F_w)
    columns = min(channels, max(1, MAX_TILES // len(per_channel)))
    return tile(per_channel[:, :columns].reshape(-1, *per_channel.shape[2:]), columns=columns)


def layer_output(model, graph: Graph, image: np.ndarray, layer: str, *,
                 normalize: Callable | None = None) -> np.ndarray:
    """The output of ``layer`` for one raw image ``(*input_shape)``: ``(*layer's output shape)``."""
    import jax.numpy as jnp
    from flax import nnx

    from netspec.builder import layer_outputs

    check_layer(graph, layer)
    model = nnx.clone(model)
    model.eval()  # one image: batchnorm must use its running statistics, dropout must be off
    x = jnp.asarray(np.asarray(image, np.float32)[None])
    if normalize is not None:
        x = normalize(x)
    return np.asarray(layer_outputs(model, x, [layer])[layer][0])


def activations_grid(model, graph: Graph, image: np.ndarray, layer: str, *,
                     normalize: Callable | None = None) -> np.ndarray:
    """The feature maps of ``layer`` for one image as one grey image in [0, 1].

    Maps ``(h, w, C)``: C tiles ``h×w`` in a square-ish grid (NaN between
    tiles), each scaled to its own range. Sequences ``(T, C)``: one row per
    channel. Vectors ``(N,)``: a square-ish block, one pixel per unit, scaled
    together (NaN after the last unit).
    """
    value = layer_output(model, graph, image, layer, normalize=normalize)
    if value.ndim == 3:
        maps = _unit_range(np.moveaxis(value, -1, 0)[:MAX_TILES], (1, 2))
        return tile(maps, columns=math.ceil(math.sqrt(len(maps))))
    if value.ndim == 2:
        return _unit_range(value.T, (1,))
    flat = value.reshape(-1)
    side = math.ceil(math.sqrt(flat.size))
    block = np.full(side * side, np.nan, np.float32)
    block[:flat.size] = _unit_range(flat, (0,))
    return block.reshape(side, side)


def _save(figure, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _figure_size(shape: tuple[int, int], longest: float = 9.0) -> tuple[float, float]:
    height, width = shape
    scale = longest / max(height, width)
    return max(5.0, width * scale), max(3.0, height * scale + 1.0)


def _colormap(name: str, gaps: str = "white"):
    """``name`` with NaN (the gaps between tiles) drawn in ``gaps``."""
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad=gaps)


def save_filters_png(model, graph: Graph, path: str | Path, layer: str | None = None, *, first: int = 0,
                     limit: int = 64) -> Path:
    """Write :func:`filters_grid` as a PNG with a title naming the layer and the filter size,
    every filter numbered; ``first``/``limit`` page through large layers."""
    plt = _pyplot()
    layer = layer or first_conv(graph)
    kernel_shape = _kernel(model, graph, layer).shape
    size, width, channels, count = kernel_shape
    zoom = max(1, 12 // max(size, width))  # thin gaps: a 3×3 filter is drawn 12×12 with 1-pixel gutters
    grid = filters_grid(model, graph, layer, first=first, limit=limit, zoom=zoom)
    height, width = size * zoom, width * zoom
    drawn = list(range(first, min(count, first + min(limit, MAX_TILES))))
    if not drawn:
        raise NetspecError([error("bad-page", f"'{layer}' has {count} filters; --first {first} is past the last")])
    shown = f" (filters {drawn[0]}–{drawn[-1]}; page with --first/--limit)" if len(drawn) < count else ""
    layout = ("" if channels in (1, 3) else "rows: filters, columns: input channels\n")
    figure, axis = plt.subplots(figsize=_figure_size(grid.shape[:2]))
    gaps = "#6fa8dc"  # blue, so no grey weight is mistaken for a gap
    axis.imshow(grid, cmap=None if grid.ndim == 3 else _colormap("gray", gaps), vmin=0, vmax=1,
                interpolation="nearest")
    axis.set_title(f"{layer}: {count} filters {size}×{width // zoom}×{channels}{shown}\n"
                   f"{layout}each filter scaled to its own min..max", fontsize=10)
    if channels not in (1, 3):
        axis.set_xlabel("input channel")
        axis.set_ylabel("filter")
        shown_channels = (grid.shape[1] + 1) // (width + 1)
        axis.set_yticks([row * (height + 1) + (height - 1) / 2 for row in range(len(drawn))], [str(f) for f in drawn],
                        fontsize=6 if len(drawn) > 24 else 8)
        axis.set_xticks([c * (width + 1) + (width - 1) / 2 for c in range(shown_channels)],
                        [str(c) for c in range(shown_channels)], fontsize=6 if shown_channels > 24 else 8)
    else:
        columns = math.ceil(math.sqrt(len(drawn)))
        for index, number in enumerate(drawn):
            row, column = divmod(index, columns)
            axis.text(column * (width + 1) - 0.45, row * (height + 1) - 0.45, str(number), ha="left", va="top",
                      fontsize=6, color="white",
                      bbox={"boxstyle": "square,pad=0.05", "facecolor": "black", "alpha": 0.55, "linewidth": 0})
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    return _save(figure, path)


def save_activations_png(model, graph: Graph, image: np.ndarray, layer: str, path: str | Path, *,
                         normalize: Callable | None = None) -> Path:
    """Write the input image beside :func:`activations_grid` as a PNG."""
    plt = _pyplot()
    grid = activations_grid(model, graph, image, layer, normalize=normalize)
    shape = layer_output(model, graph, image, layer, normalize=normalize).shape
    image = np.asarray(image, np.float32)
    figure, axes = plt.subplots(1, 2, figsize=(11, 5.5), gridspec_kw={"width_ratios": [1, 2]})
    if image.ndim == 3:
        axes[0].imshow(image[..., 0] if image.shape[-1] == 1 else np.clip(image, 0, 1),
                       cmap="gray" if image.shape[-1] == 1 else None, vmin=0, vmax=1, interpolation="nearest")
        axes[0].set_title(f"input {'×'.join(map(str, image.shape))}")
    else:
        axes[0].plot(image.reshape(len(image), -1))
        axes[0].set_title("input")
    axes[1].imshow(grid, cmap=_colormap("viridis"), vmin=0, vmax=1, interpolation="nearest")
    if len(shape) == 3:
        what = f"{shape[-1]} feature maps {shape[0]}×{shape[1]}"
    elif len(shape) == 2:
        what = f"{shape[-1]} channels × {shape[0]} steps"
    else:
        what = f"{math.prod(shape)} units"
    extra = f" (first {MAX_TILES})" if len(shape) == 3 and shape[-1] > MAX_TILES else ""
    axes[1].set_title(f"{layer}: {what}{extra}\neach scaled to its own range (bright = strong)", fontsize=10)
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    return _save(figure, path)
