"""SmoothGrad (Smilkov et al. 2017): gradient saliency averaged over noisy copies of
the image. A ReLU network's gradient jumps from pixel to pixel (each unit's
on/off pattern changes with tiny input changes), so a single gradient map is
speckled; the average over ``samples`` copies with Gaussian noise of standard
deviation ``noise × (max − min of the image)`` keeps what is stable — the
evidence — and loses the speckle.

Imports JAX.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from netspec.diagnostics import NetspecError, error
from netspec.ir import Graph


def smoothgrad(model, image: np.ndarray, class_index: int | None = None, *, samples: int = 50,
               noise: float = 0.15, seed: int = 0, graph: Graph | None = None,
               normalize: Callable | None = None, batch_size: int = 64) -> np.ndarray:
    """``mean over noisy copies of |∂ logit[class] / ∂ pixel|``, maxed over the channels:
    a map ``(H, W)`` of one image ``(H, W, C)``. The class defaults to the prediction for
    the clean image; ``graph``/``normalize`` as for :func:`netspec.interpret.explain.saliency`.
    ``noise=0`` (or ``samples=1`` with it) gives plain saliency."""
    from netspec.interpret.explain import Scorer

    image = np.asarray(image, np.float32)
    if samples < 1 or noise < 0:
        raise NetspecError([error("bad-setting", f"SmoothGrad needs samples ≥ 1 and noise ≥ 0, but got "
                                                 f"samples={samples}, noise={noise}")])
    scorer = Scorer(model, graph=graph, normalize=normalize)
    target = int(scorer.classes_of(image[None], class_index)[0])
    sigma = noise * float(image.max() - image.min() or 1.0)
    rng = np.random.default_rng(seed)
    total = np.zeros(image.shape[:-1], np.float64)
    for start in range(0, samples, batch_size):
        count = min(batch_size, samples - start)
        noisy = image[None] + rng.normal(0.0, sigma, (count, *image.shape)).astype(np.float32)
        grads = scorer.gradients(scorer.state, jnp.asarray(noisy), jnp.full((count,), target, jnp.int32))
        total += np.asarray(jnp.abs(grads).max(axis=-1), np.float64).sum(axis=0)
    return (total / samples).astype(np.float32)
