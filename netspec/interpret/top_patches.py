"""The dataset patches that excite a unit most (Zeiler & Fergus 2014, Fig. 2; the
lectures' "top-9 image patches"): for one channel of a layer, run every example
through the network, take each example's strongest response of that channel,
and cut the receptive field of the unit that gave it out of the input.

The field comes from static geometry (:mod:`netspec.interpret.field_geometry`), so a patch
is exactly what that unit could see: parts of it outside the image (padding)
are NaN. Layers without spatial axes (dense) see the whole input.

Imports JAX.

>>> found = top_patches(run.model, graph, data.train.x, "conv2", unit=5, k=9)   # doctest: +SKIP
>>> found.patches.shape, found.values                                          # doctest: +SKIP
((9, 10, 10, 1), array([...]))
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from netspec.diagnostics import NetspecError, error
from netspec.interpret.field_geometry import field_geometry
from netspec.ir import Graph


@dataclass(frozen=True)
class TopPatches:
    """The ``k`` strongest responses of one unit, strongest first.

    ``indices`` ``(k,)`` examples of the data; ``positions`` ``(k, axes)`` where in the
    layer's map the maximum was (empty rows for a dense layer); ``values`` ``(k,)`` the
    activations; ``windows`` ``(k, axes, 2)`` the input cells ``[start, stop)`` of each
    field; ``patches`` ``(k, *field size, C)`` the inputs cut out (NaN off the image).
    """

    layer: str
    unit: int
    indices: np.ndarray
    positions: np.ndarray
    values: np.ndarray
    windows: np.ndarray
    patches: np.ndarray


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _unit_map(graphdef, layer: str, normalize: Callable | None, state, x, unit):
    """``(B, *spatial)`` the values of channel ``unit`` of ``layer`` (``(B,)`` for vectors)."""
    from netspec.builder import layer_outputs

    if normalize is not None:
        x = normalize(x)
    value = layer_outputs(nnx.merge(graphdef, state), x, [layer])[layer]
    return jnp.take(value, unit, axis=-1)


def unit_responses(model: nnx.Module, x: np.ndarray, layer: str, unit: int, *,
                   normalize: Callable | None = None, batch_size: int = 256) -> np.ndarray:
    """``(N, *layer spatial shape)``: channel ``unit`` of ``layer`` for every example of ``x``
    (inference mode, jitted batches; only that channel is kept, so a whole dataset fits)."""
    model = nnx.clone(model)
    model.eval()
    graphdef, state = nnx.split(model)
    x = np.asarray(x, np.float32)
    size = min(batch_size, len(x))
    parts = []
    for start in range(0, len(x), size):
        chunk = x[start:start + size]
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], size - len(chunk), axis=0)])
        value = _unit_map(graphdef, layer, normalize, state, jnp.asarray(padded), unit)
        parts.append(np.asarray(value, np.float32)[:len(chunk)])
    return np.concatenate(parts)


def top_patches(model: nnx.Module, graph: Graph, x: np.ndarray, layer: str, unit: int, *, k: int = 9,
                normalize: Callable | None = None, batch_size: int = 256) -> TopPatches:
    """The ``k`` examples of ``x`` ``(N, *input_shape)`` on which channel ``unit`` of ``layer``
    responds most (one patch per example, at its strongest position). ``model`` is
    built from ``graph``; ``normalize`` maps raw inputs to what it was trained on."""
    from netspec.interpret.visualize import check_layer
    from netspec.pipeline import analysis_of

    check_layer(graph, layer)
    shape = analysis_of(graph).layers[layer].output_shape
    if not 0 <= unit < shape[-1]:
        raise NetspecError([error("bad-unit", f"--unit must be in 0..{shape[-1] - 1} for '{layer}' "
                                              f"(output {shape}), but got {unit}")])
    if len(x) == 0:
        raise NetspecError([error("no-examples", "there are no examples to search")])
    if k < 1:
        raise NetspecError([error("bad-k", f"k must be at least 1, but got {k}")])
    responses = unit_responses(model, x, layer, unit, normalize=normalize, batch_size=batch_size)
    flat = responses.reshape(len(x), -1)
    best_position = flat.argmax(axis=1)
    best_value = flat[np.arange(len(x)), best_position]
    order = np.argsort(-best_value, kind="stable")[:k]
    spatial = responses.shape[1:]
    positions = np.array([np.unravel_index(best_position[i], spatial) for i in order], np.int64).reshape(
        len(order), len(spatial))
    input_spatial = x.shape[1:-1]
    if spatial:
        geometry = field_geometry(graph, layer)
        windows = np.array([geometry.window(tuple(p)) for p in positions], np.int64)
    else:  # dense: every unit sees the whole input
        windows = np.array([[(0, n) for n in input_spatial]] * len(order), np.int64)
    patches = np.stack([_cut(x[i], w) for i, w in zip(order, windows)])
    return TopPatches(layer, unit, order, positions, best_value[order], windows, patches)


def _cut(example: np.ndarray, window: np.ndarray) -> np.ndarray:
    """The cells ``window`` (``(axes, 2)``) of ``example`` ``(*spatial, C)``, NaN where off the input."""
    size = tuple(int(stop - start) for start, stop in window)
    patch = np.full((*size, example.shape[-1]), np.nan, np.float32)
    source, target = [], []
    for (start, stop), extent in zip(window, example.shape[:-1]):
        low, high = max(start, 0), min(stop, extent)
        source.append(slice(low, max(high, low)))
        target.append(slice(low - start, low - start + max(high - low, 0)))
    patch[tuple(target)] = example[tuple(source)]
    return patch


def save_top_patches_png(found: TopPatches, path: str | Path, *, title: str | None = None,
                         labels: list[str] | None = None) -> Path:
    """A grid of the patches, strongest first, each titled with its activation (and the
    example's label when ``labels`` is given); cells off the image are drawn blue."""
    from netspec.interpret.visualize import _colormap, _pyplot, _save

    plt = _pyplot()
    count = len(found.patches)
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.9 * columns + 0.4, 1.9 * rows + 0.9), squeeze=False)
    finite = found.patches[np.isfinite(found.patches)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for index, axis in enumerate(axes.flat):
        axis.set_xticks([])
        axis.set_yticks([])
        if index >= count:
            axis.axis("off")
            continue
        patch = found.patches[index]
        if patch.ndim == 2:  # 1-D input: (T, C)
            axis.plot(patch)
        elif patch.shape[-1] == 3:
            axis.imshow(np.nan_to_num(np.clip(patch, 0, 1), nan=0.7), interpolation="nearest")
        else:
            axis.imshow(patch[..., 0], cmap=_colormap("gray", "#6fa8dc"), vmin=low, vmax=high,
                        interpolation="nearest")
        label = f" ({labels[index]})" if labels is not None else ""
        axis.set_title(f"#{found.indices[index]}{label}\n{found.values[index]:.3g}", fontsize=8)
    title = title or f"{found.layer}, unit {found.unit}: top {count} patches"
    figure.suptitle(textwrap.fill(title, 12 * columns + 20), fontsize=9)
    figure.tight_layout()
    return _save(figure, path)
