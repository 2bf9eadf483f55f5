"""The ``netspec activations`` picture: a layer's output for one image, drawn so
that it cannot mislead.

* Feature maps ``(h, w, C)``: one numbered tile per channel on **one shared
  scale** by default (a colour bar in the layer's units, so a weak channel looks
  weak), or each tile on its own range with ``scale="each"`` (stated in the
  title). A dead channel — all zero, or constant — is drawn as a hatched grey
  tile marked "dead", never as a uniform colour that looks like a value.
* Sequences ``(T, C)``: channels × time on one scale, channels numbered.
* Vectors ``(N,)`` (dense layers): a bar strip, one numbered bar per unit;
  nothing pads the strip, so no padding cell can look like the strongest unit.

NumPy + matplotlib; the values come from :func:`netspec.interpret.visualize.layer_output`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEAD_COLOUR = "#bdbdbd"


@dataclass(frozen=True)
class Tiles:
    """Feature maps laid out for drawing: ``grid`` (NaN in gaps), the tile ``corners``
    ``(row, column)`` per drawn channel, the ``channels`` drawn, which of them are
    ``dead``, and the colour range ``(low, high)`` (None for ``scale="each"``)."""

    grid: np.ndarray
    corners: list[tuple[int, int]]
    channels: list[int]
    dead: list[int]
    limits: tuple[float, float] | None


def dead_channels(maps: np.ndarray) -> list[int]:
    """Channels of ``(h, w, C)`` maps that are constant (all zero after a ReLU, typically).

    >>> dead_channels(np.stack([np.zeros((2, 2)), np.eye(2)], axis=-1))
    [0]
    """
    flat = maps.reshape(-1, maps.shape[-1])
    return [int(c) for c in np.flatnonzero(flat.max(axis=0) == flat.min(axis=0))]


def layout(maps: np.ndarray, *, scale: str = "shared", first: int = 0, limit: int = 64, gap: int = 1) -> Tiles:
    """Channels ``first .. first+limit-1`` of ``(h, w, C)`` maps as a square-ish grid of tiles."""
    height, width, count = maps.shape
    channels = list(range(first, min(count, first + limit)))
    columns = math.ceil(math.sqrt(len(channels))) if channels else 1
    rows = math.ceil(len(channels) / columns) if channels else 1
    grid = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan, np.float32)
    dead = [c for c in dead_channels(maps) if c in channels]
    corners = []
    for index, channel in enumerate(channels):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        tile = maps[..., channel].astype(np.float32)
        if scale == "each" and channel not in dead:
            low, high = float(tile.min()), float(tile.max())
            tile = (tile - low) / (high - low)
        grid[top:top + height, left:left + width] = tile
        corners.append((top, left))
    shown = maps[..., channels] if channels else np.zeros((1,))
    limits = None if scale == "each" else (min(0.0, float(shown.min())), max(float(shown.max()), 1e-12))
    return Tiles(grid, corners, channels, dead, limits)


def save_activations_figure(value: np.ndarray, image: np.ndarray, path: str | Path, *, layer: str,
                            scale: str = "shared", first: int = 0, limit: int = 64) -> Path:
    """Write the picture for ``value`` (one example's output of ``layer``) beside the input ``image``."""
    from matplotlib.patches import Rectangle

    from netspec.interpret.visualize import _colormap, _pyplot, _save

    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(12, 5.8), gridspec_kw={"width_ratios": [1, 2.2]})
    _draw_input(axes[0], np.asarray(image, np.float32))
    axis = axes[1]
    if value.ndim == 3:
        tiles = layout(value, scale=scale, first=first, limit=limit)
        height, width = value.shape[:2]
        limits = tiles.limits or (0.0, 1.0)
        drawn = axis.imshow(tiles.grid, cmap=_colormap("viridis"), vmin=limits[0], vmax=limits[1],
                            interpolation="nearest")
        for channel, (top, left) in zip(tiles.channels, tiles.corners):
            if channel in tiles.dead:
                axis.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, facecolor=DEAD_COLOUR,
                                         edgecolor="#757575", hatch="//", linewidth=0.5))
                axis.text(left + width / 2 - 0.5, top + height / 2 - 0.5, "dead", ha="center", va="center",
                          fontsize=7, color="#424242")
            axis.text(left - 0.3, top - 0.3, str(channel), ha="left", va="top", fontsize=6, color="white",
                      bbox={"boxstyle": "square,pad=0.1", "facecolor": "black", "alpha": 0.6, "linewidth": 0})
        bar = figure.colorbar(drawn, ax=axis, fraction=0.035, pad=0.02)
        bar.set_label("activation (shared scale)" if scale == "shared" else "each tile: its own min .. max")
        shown = f"channels {tiles.channels[0]}–{tiles.channels[-1]} of {value.shape[-1]}" if tiles.channels else ""
        dead = f"; {len(tiles.dead)} dead (constant) channel{'s' if len(tiles.dead) != 1 else ''}" \
            if tiles.dead else ""
        axis.set_title(f"{layer}: {value.shape[-1]} feature maps {height}×{width}, {shown}{dead}\n"
                       f"{'one shared colour scale' if scale == 'shared' else 'each tile scaled to its own range'}",
                       fontsize=10)
        axis.set_xticks([])
        axis.set_yticks([])
    elif value.ndim == 2:
        drawn = axis.imshow(value.T, aspect="auto", cmap="viridis", interpolation="nearest",
                            vmin=min(0.0, float(value.min())), vmax=max(float(value.max()), 1e-12))
        figure.colorbar(drawn, ax=axis, fraction=0.035, pad=0.02).set_label("activation")
        axis.set_xlabel("time step")
        axis.set_ylabel("channel")
        axis.set_title(f"{layer}: {value.shape[1]} channels × {value.shape[0]} steps, one shared scale", fontsize=10)
    else:
        units = value.reshape(-1)
        colours = ["#9e9e9e" if v == 0 else ("#1f77b4" if v > 0 else "#d62728") for v in units]
        axis.bar(np.arange(units.size), units, width=0.9 if units.size < 200 else 1.0, color=colours)
        axis.axhline(0, color="black", linewidth=0.6)
        axis.set_xlim(-0.6, units.size - 0.4)
        axis.set_xlabel("unit")
        axis.set_ylabel("activation")
        zero = int((units == 0).sum())
        axis.set_title(f"{layer}: {units.size} units (strongest: unit {int(units.argmax())}, "
                       f"{units.max():.3g}; {zero} at exactly 0)", fontsize=10)
    figure.tight_layout()
    return _save(figure, path)


def _draw_input(axis, image: np.ndarray) -> None:
    if image.ndim == 3:
        axis.imshow(image[..., 0] if image.shape[-1] == 1 else np.clip(image, 0, 1),
                    cmap="gray" if image.shape[-1] == 1 else None, vmin=0, vmax=1, interpolation="nearest")
        axis.set_title(f"input {'×'.join(map(str, image.shape))}")
        axis.set_xticks([])
        axis.set_yticks([])
    else:
        axis.plot(image.reshape(len(image), -1))
        axis.set_title("input")
