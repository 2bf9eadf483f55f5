"""Activation maximisation: the input pattern a filter responds to (Erhan et al. 2009;
the Keras blog "How convolutional neural networks see the world", the lectures' seed 004).

Start from grey plus a little noise and climb the gradient of one unit's mean
activation with respect to the input, with the usual regularisers so the
result is an image rather than adversarial noise:

* **jitter**: each step looks at the image shifted by a random offset of up
  to ``jitter`` pixels, so no pattern can rely on exact pixel positions;
* **blur**: every ``blur_every`` steps a 3×3 Gaussian blur (σ ≈ 0.8) removes
  the highest frequencies;
* **L2**: each step pulls the image back toward grey by a fraction ``l2``
  (weight decay on the deviation from 0.5).

Steps are normalised gradient ascent (the gradient divided by its RMS) in
raw-pixel space, clipped to [0, 1]; ``normalize`` maps pixels to what the
network was trained on. All units of one call climb together as one batch.

Imports JAX.

>>> images = maximize(run.model, graph, "conv1", units=range(8))     # doctest: +SKIP
>>> images.shape                                                     # doctest: +SKIP
(8, 28, 28, 1)
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from netspec.diagnostics import NetspecError, error
from netspec.ir import Graph

_BLUR = np.outer(*(2 * [np.array([1.0, 2.0, 1.0]) / 4.0]))  # 3×3 binomial ≈ Gaussian σ 0.8


def _blur(x: jax.Array) -> jax.Array:
    """3×3 Gaussian blur of ``(B, H, W, C)`` images, each channel alone, edges replicated."""
    channels = x.shape[-1]
    kernel = jnp.tile(jnp.asarray(_BLUR, x.dtype)[:, :, None, None], (1, 1, 1, channels))
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    return jax.lax.conv_general_dilated(padded, kernel, (1, 1), "VALID",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=channels)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _climb(graphdef, layer: str, normalize: Callable | None, settings: tuple, state, start, units, key):
    """Run the whole ascent (``lax.fori_loop``) for a batch of images, one unit each."""
    from netspec.builder import layer_outputs

    steps, rate, jitter, blur_every, l2 = settings

    def objective(x, shift):
        x = jnp.roll(x, shift, axis=(1, 2))
        if normalize is not None:
            x = normalize(x)
        value = layer_outputs(nnx.merge(graphdef, state), x, [layer])[layer]
        value = value.reshape(value.shape[0], -1, value.shape[-1])  # (B, positions, channels)
        chosen = jnp.take_along_axis(value, units[:, None, None], axis=-1)[..., 0]
        return chosen.mean(axis=1).sum()  # each image climbs its own unit

    def step(index, x):
        shift = jax.random.randint(jax.random.fold_in(key, index), (2,), -jitter, jitter + 1)
        grad = jax.grad(objective)(x, (shift[0], shift[1]))
        scale = jnp.sqrt(jnp.mean(grad ** 2, axis=(1, 2, 3), keepdims=True)) + 1e-8
        x = x + rate * grad / scale
        x = 0.5 + (x - 0.5) * (1.0 - l2)
        if blur_every:
            x = jax.lax.cond(index % blur_every == blur_every - 1, _blur, lambda v: v, x)
        return jnp.clip(x, 0.0, 1.0)

    return jax.lax.fori_loop(0, steps, step, start)


def maximize(model: nnx.Module, graph: Graph, layer: str, units: Sequence[int] | None = None, *,
             steps: int = 160, rate: float = 0.02, jitter: int = 1, blur_every: int = 4, l2: float = 0.01,
             seed: int = 0, normalize: Callable | None = None) -> np.ndarray:
    """Images ``(len(units), *input_shape)`` in [0, 1] that maximise the mean activation of
    each of ``units`` (channels of ``layer``; default all, up to 64). ``model`` is built from
    ``graph``; 2-D image inputs only. See the module docstring for the regularisers."""
    from netspec.interpret.visualize import check_layer
    from netspec.pipeline import analysis_of

    check_layer(graph, layer)
    if len(graph.input_shape) != 3:
        raise NetspecError([error("not-an-image-network", f"activation maximisation draws 2-D images, but "
                                  f"'{graph.name}' takes inputs of shape {graph.input_shape}")])
    channels = analysis_of(graph).layers[layer].output_shape[-1]
    units = list(range(min(channels, 64))) if units is None else [int(u) for u in units]
    bad = [u for u in units if not 0 <= u < channels]
    if bad or not units:
        raise NetspecError([error("bad-unit", f"units must be in 0..{channels - 1} for '{layer}', but got "
                                              f"{bad[0] if bad else 'none'}")])
    if steps < 1 or rate <= 0 or jitter < 0 or blur_every < 0 or not 0 <= l2 < 1:
        raise NetspecError([error("bad-setting", "maximize needs steps ≥ 1, rate > 0, jitter ≥ 0, "
                                                 f"blur_every ≥ 0 and 0 ≤ l2 < 1, but got steps={steps}, "
                                                 f"rate={rate}, jitter={jitter}, blur_every={blur_every}, l2={l2}")])
    model = nnx.clone(model)
    model.eval()
    graphdef, state = nnx.split(model)
    key = jax.random.key(seed)
    start = 0.5 + 0.05 * jax.random.normal(jax.random.fold_in(key, 1 << 30), (len(units), *graph.input_shape))
    found = _climb(graphdef, layer, normalize, (steps, rate, jitter, blur_every, l2), state,
                   jnp.clip(start, 0, 1).astype(jnp.float32), jnp.asarray(units, jnp.int32), key)
    return np.asarray(found, np.float32)


def save_maximize_png(images: np.ndarray, units: Sequence[int], path: str | Path, *, title: str) -> Path:
    """The images as a numbered grid, each scaled to its own range (grey or RGB)."""
    from netspec.interpret.visualize import _pyplot, _save

    plt = _pyplot()
    count = len(images)
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns + 0.4, 1.6 * rows + 0.8), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.set_xticks([])
        axis.set_yticks([])
        if index >= count:
            axis.axis("off")
            continue
        image = images[index]
        low, high = float(image.min()), float(image.max())
        shown = (image - low) / (high - low) if high > low else np.full_like(image, 0.5)
        if image.shape[-1] == 3:
            axis.imshow(shown, interpolation="nearest")
        else:
            axis.imshow(shown[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axis.set_title(f"unit {units[index]}", fontsize=8)
    figure.suptitle(textwrap.fill(title, 12 * columns + 20), fontsize=9)
    figure.tight_layout()
    return _save(figure, path)
