"""LIME for images (Ribeiro, Singh & Guestrin 2016; the lectures' seed 001): which
superpixels a class decision rests on, from a sparse linear model fitted to the
network's answers on perturbed copies of the image.

1. Cut the image into superpixels with SLIC (scikit-image).
2. Draw ``samples`` on/off masks over the superpixels (the first keeps them all);
   an "off" superpixel is filled with the image's mean colour.
3. Ask the network for the class probability of each masked image.
4. Weigh each sample by its closeness to the whole image (an exponential kernel on
   the cosine distance of the masks, width 0.25, as LIME does).
5. Fit a weighted ridge regression of probability on the masks, keep the
   ``features`` superpixels with the largest |coefficient|, and refit on those
   alone: a linear model with at most ``features`` non-zero weights.

The map gives every pixel its superpixel's weight (0 for those left out):
positive means "this region raises the class probability".

Imports JAX (through :class:`netspec.interpret.explain.Scorer`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from netspec.diagnostics import NetspecError, error

KERNEL_WIDTH = 0.25
RIDGE = 1.0


@dataclass(frozen=True)
class LimeExplanation:
    """``segments`` ``(H, W)`` superpixel ids; ``weights`` ``(S,)`` the sparse linear model's
    coefficient of each superpixel (0 when not chosen); ``heat`` ``(H, W)`` the weights
    painted on the superpixels; ``score`` the weighted R² of the fit."""

    segments: np.ndarray
    weights: np.ndarray
    heat: np.ndarray
    score: float


def superpixels(image: np.ndarray, count: int = 40, compactness: float | None = None) -> np.ndarray:
    """SLIC superpixels ``(H, W)`` (ids from 0) of an image ``(H, W, C)`` in [0, 1]."""
    from skimage.segmentation import slic

    image = np.asarray(image, np.float64)
    channel_axis = -1 if image.shape[-1] == 3 else None
    shown = image if channel_axis is not None else image[..., 0]
    compactness = compactness if compactness is not None else (10.0 if channel_axis is not None else 0.1)
    segments = slic(shown, n_segments=count, compactness=compactness, channel_axis=channel_axis, start_label=0,
                    enforce_connectivity=True)
    _, ids = np.unique(segments, return_inverse=True)
    return ids.reshape(segments.shape)


def _ridge(masks: np.ndarray, target: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Weighted ridge regression with an intercept: (coefficients, intercept, weighted R²)."""
    w = weight / weight.sum()
    mean_x, mean_y = w @ masks, w @ target
    xc, yc = masks - mean_x, target - mean_y
    gram = (xc * w[:, None]).T @ xc + RIDGE / len(target) * np.eye(masks.shape[1])
    coefficients = np.linalg.solve(gram, (xc * w[:, None]).T @ yc)
    residual = yc - xc @ coefficients
    total = w @ yc ** 2
    score = 1.0 - (w @ residual ** 2) / total if total > 0 else 0.0
    return coefficients, float(mean_y - mean_x @ coefficients), float(score)


def lime(model, image: np.ndarray, class_index: int | None = None, *, samples: int = 500, features: int = 8,
         segments: np.ndarray | None = None, superpixel_count: int = 40, seed: int = 0,
         normalize: Callable | None = None, batch_size: int = 128) -> LimeExplanation:
    """Explain the class ``class_index`` (default: predicted) of one image ``(H, W, C)``
    in [0, 1]; ``model`` outputs logits (see :class:`netspec.interpret.explain.Scorer`).
    ``segments`` overrides the SLIC superpixels."""
    from netspec.interpret.explain import Scorer

    image = np.asarray(image, np.float32)
    if image.ndim != 3:
        raise NetspecError([error("not-an-image", f"LIME needs one image (H, W, C), but got shape {image.shape}")])
    if samples < 10 or features < 1:
        raise NetspecError([error("bad-setting", f"LIME needs at least 10 samples and 1 feature, but got "
                                                 f"samples={samples}, features={features}")])
    segments = superpixels(image, superpixel_count) if segments is None else np.asarray(segments)
    count = int(segments.max()) + 1
    scorer = Scorer(model, normalize=normalize)
    target = int(scorer.classes_of(image[None], class_index)[0])
    rng = np.random.default_rng(seed)
    masks = rng.integers(0, 2, size=(samples, count)).astype(np.float32)
    masks[0] = 1.0  # the image itself
    fill = image.reshape(-1, image.shape[-1]).mean(axis=0)
    probabilities = []
    for start in range(0, samples, batch_size):
        chunk = masks[start:start + batch_size]
        keep = chunk[:, segments][..., None]  # (B, H, W, 1)
        batch = keep * image[None] + (1.0 - keep) * fill
        probabilities.append(np.asarray(scorer.probabilities(scorer.state, jnp.asarray(batch)))[:, target])
    target_values = np.concatenate(probabilities).astype(np.float64)
    distance = 1.0 - masks.sum(axis=1) / np.sqrt(count * np.maximum(masks.sum(axis=1), 1e-12))  # cosine to all-on
    weight = np.exp(-(distance ** 2) / KERNEL_WIDTH ** 2)
    coefficients, _, _ = _ridge(masks.astype(np.float64), target_values, weight)
    chosen = np.argsort(-np.abs(coefficients), kind="stable")[:min(features, count)]
    sparse, _, score = _ridge(masks[:, chosen].astype(np.float64), target_values, weight)
    weights = np.zeros(count, np.float64)
    weights[chosen] = sparse
    return LimeExplanation(segments, weights.astype(np.float32), weights[segments].astype(np.float32), score)
