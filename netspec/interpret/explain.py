"""Which pixels a class decision rests on: gradient saliency and occlusion maps.

* :func:`saliency` (Simonyan, Vedaldi & Zisserman 2014): the absolute
  gradient of the class score with respect to each input pixel, maxed over
  the channels. The score is the *logit*, before the final softmax: the
  softmax couples all classes (a pixel can raise a class's probability just
  by lowering the others), the logit does not.
* :func:`occlusion` (Zeiler & Fergus 2014): slide a grey patch (by default
  the image's mean colour) over the image and record how much the class
  probability drops at each position.

Both take a ``model`` (an ``nnx.Module``) and images as the data layer loads
them (float32 in [0, 1], ``(H, W, C)`` or a batch ``(N, H, W, C)``), and run
batched under ``jax.jit``. Where the scores come from:

* ``graph=None``: the model's outputs *are* the logits, as for the model
  ``netspec.train.fit`` returns (``Run.model``: training splits the final
  softmax off) and for specs that end in a plain dense layer;
* ``graph=the spec``: for a model built from it (``netspec.build``); a final
  softmax/sigmoid is removed by re-assembling the spec without that node
  around the same weights (:func:`netspec.interpret.trained.without_head`).

Probabilities are ``softmax(logits)``; a single output unit is a sigmoid
(scores ``±z/2``, whose softmax is exactly ``sigmoid(z)``). ``normalize``
maps raw pixels to what the network was trained on (a run's
standardisation), so gradients and patches live in pixel space.

>>> heat = saliency(run.model, image)                      # doctest: +SKIP
>>> heat.shape                                             # doctest: +SKIP
(28, 28)
>>> overlay_png(image, heat, "saliency.png")               # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from netspec.diagnostics import NetspecError, error
from netspec.ir import Graph

GREY = 0.5  # Zeiler & Fergus' grey, in [0, 1] pixels


@functools.lru_cache(maxsize=32)
def _compiled(graphdef, normalize: Callable | None) -> tuple[Callable, Callable, Callable]:
    """``(logits, probabilities, gradients)`` jitted for one network structure; cached,
    so explaining many images of one model compiles once."""

    def logits(state, x):
        if normalize is not None:
            x = normalize(x)
        out = nnx.merge(graphdef, state)(x)
        out = out.reshape(out.shape[0], -1)
        return jnp.concatenate([-out / 2, out / 2], axis=-1) if out.shape[-1] == 1 else out

    def probabilities(state, x):
        return jax.nn.softmax(logits(state, x), axis=-1)

    def gradients(state, x, classes):
        def total(x):
            return jnp.take_along_axis(logits(state, x), classes[:, None], axis=1).sum()

        return jax.grad(total)(x)

    return jax.jit(logits), jax.jit(probabilities), jax.jit(gradients)


class Scorer:
    """Class scores of a model as jitted functions of raw inputs ``(B, *input_shape)``:
    ``logits(state, x) -> (B, classes)``, ``probabilities`` likewise, and
    ``gradients(state, x, classes) -> (B, *input_shape)`` of each image's class logit."""

    def __init__(self, model: nnx.Module, *, graph: Graph | None = None, normalize: Callable | None = None):
        if graph is not None:
            from netspec.interpret.trained import without_head

            model, _ = without_head(model, graph)
        model = nnx.clone(model)
        model.eval()  # dropout off, batchnorm on its running statistics; the caller's model is untouched
        graphdef, self.state = nnx.split(model)
        self.logits, self.probabilities, self.gradients = _compiled(graphdef, normalize)

    def classes_of(self, images: np.ndarray, class_index: int | np.ndarray | None) -> np.ndarray:
        """``(N,)`` the given class for every image (one int, or one per image), or
        each image's predicted class."""
        scores = np.asarray(self.logits(self.state, jnp.asarray(images)))
        if class_index is None:
            return scores.argmax(axis=-1).astype(np.int32)
        classes = np.broadcast_to(np.asarray(class_index, np.int64), (len(images),))
        bad = classes[(classes < 0) | (classes >= scores.shape[-1])]
        if bad.size:
            raise NetspecError([error("bad-class", f"class index must be in 0..{scores.shape[-1] - 1}, "
                                                   f"but got {int(bad[0])}")])
        return classes.astype(np.int32)


@functools.partial(jax.jit, static_argnums=(0,))
def _occluded_probabilities(probabilities: Callable, state, image, block, corners, target):
    """``(P,)`` probability of class ``target`` with ``block`` pasted at each corner ``(P, 2)``."""

    def occluded(corner):
        return jax.lax.dynamic_update_slice(image, block, (corner[0], corner[1], 0))

    return probabilities(state, jax.vmap(occluded)(corners))[:, target]


def _as_batch(image: np.ndarray) -> tuple[np.ndarray, bool]:
    image = np.asarray(image, np.float32)
    return (image, True) if image.ndim >= 4 else (image[None], False)


def saliency(model: nnx.Module, image: np.ndarray, class_index: int | np.ndarray | None = None, *,
             graph: Graph | None = None, normalize: Callable | None = None,
             batch_size: int = 64) -> np.ndarray:
    """Gradient saliency: ``|∂ logit[class] / ∂ pixel|`` maxed over the channels.

    ``image`` is ``(H, W, C)`` -> map ``(H, W)``, or a batch ``(N, H, W, C)``
    -> ``(N, H, W)``. ``class_index`` is one class for all images or one per
    image ``(N,)``; it defaults to each image's predicted class. See the
    module docstring for ``graph`` and ``normalize``.
    """
    images, batched = _as_batch(image)
    if class_index is not None and np.ndim(class_index) == 1 and len(class_index) != len(images):
        raise NetspecError([error("bad-class", f"{len(class_index)} class indices for {len(images)} images")])
    scorer = Scorer(model, graph=graph, normalize=normalize)
    maps = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        chunk_classes = class_index if np.ndim(class_index) == 0 else class_index[start:start + batch_size]
        classes = scorer.classes_of(chunk, chunk_classes)
        grads = scorer.gradients(scorer.state, jnp.asarray(chunk), jnp.asarray(classes))
        maps.append(np.asarray(jnp.abs(grads).max(axis=-1)))
    heat = np.concatenate(maps)
    return heat if batched else heat[0]


def _starts(length: int, patch: int, stride: int) -> list[int]:
    """Patch positions along one axis; the last one is moved in to end at the border.

    >>> _starts(28, 6, 4)
    [0, 4, 8, 12, 16, 20, 22]
    """
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] + patch < length:
        starts.append(length - patch)
    return starts


def _fill_value(image: np.ndarray, fill: str | float) -> np.ndarray:
    if isinstance(fill, (int, float)):
        return np.full(image.shape[-1], float(fill), np.float32)
    if fill == "grey":
        return np.full(image.shape[-1], GREY, np.float32)
    if fill == "mean":
        return image.reshape(-1, image.shape[-1]).mean(axis=0).astype(np.float32)
    if fill == "black":
        return np.zeros(image.shape[-1], np.float32)
    raise NetspecError([error("bad-fill", f"fill must be grey, mean, black or a number, but got {fill!r}")])


def occlusion(model: nnx.Module, image: np.ndarray, class_index: int | None = None, *,
              patch: int | None = None, stride: int | None = None, fill: str | float = "mean",
              graph: Graph | None = None, normalize: Callable | None = None,
              batch_size: int = 128, score: str = "prob") -> np.ndarray:
    """Occlusion sensitivity of one image ``(H, W, C)``: a map ``(H, W)``.

    A ``patch``×``patch`` square of ``fill`` is slid over the image with
    ``stride``; each pixel gets the mean drop of the class probability,
    ``p(image) - p(occluded)``, over the positions whose patch covers it.
    Positive: hiding it hurts the class; negative: hiding it helps.

    ``fill`` (raw pixel values): ``"mean"`` (default) the image's mean colour,
    ``"grey"`` 0.5, ``"black"`` 0, or a number. Zeiler & Fergus' grey square
    was the *mean* of their mean-subtracted ImageNet inputs, i.e. a patch
    carrying no information; on white-on-black digits a 0.5 grey square is
    itself a stroke (it lowers the class score more on the background than on
    the digit), so the mean colour is the faithful default. Defaults:
    ``patch`` = a quarter of the shorter side (at least 2; 7 on MNIST, 56 on
    224×224: large enough to hide a stroke or a part), ``stride`` = half the patch.

    ``score="logit"`` records the drop of the class *logit* instead of its
    probability: a confident model's probability stays near 1 under most
    patches (a map of near-zeros), while its logit still moves.
    """
    image = np.asarray(image, np.float32)
    if image.ndim != 3:
        raise NetspecError([error("not-an-image", f"occlusion needs one image (H, W, C), but got shape {image.shape}",
                                  hint="pass images one at a time; 1-D and 3-D inputs are not supported")])
    height, width, _ = image.shape
    patch = patch if patch is not None else max(2, min(height, width) // 4)
    if score not in ("prob", "logit"):
        raise NetspecError([error("bad-score", f"score must be 'prob' or 'logit', but got {score!r}")])
    scorer_field = "logits" if score == "logit" else "probabilities"
    stride = stride if stride is not None else max(1, patch // 2)
    if not 1 <= patch <= min(height, width) or stride < 1:
        raise NetspecError([error("bad-patch", f"patch must be in 1..{min(height, width)} and stride at least 1, "
                                               f"but got patch={patch}, stride={stride}")])
    scorer = Scorer(model, graph=graph, normalize=normalize)
    target = int(scorer.classes_of(image[None], class_index)[0])
    positions = np.array([(top, left) for top in _starts(height, patch, stride)
                          for left in _starts(width, patch, stride)], np.int32)
    block = jnp.broadcast_to(jnp.asarray(_fill_value(image, fill)), (patch, patch, image.shape[-1]))
    score_of = getattr(scorer, scorer_field)
    baseline = float(score_of(scorer.state, jnp.asarray(image[None]))[0, target])
    size = min(batch_size, len(positions))
    probabilities = []
    for start in range(0, len(positions), size):
        chunk = positions[start:start + size]
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], size - len(chunk), axis=0)])  # one compiled shape
        found = _occluded_probabilities(score_of, scorer.state, jnp.asarray(image), block,
                                        jnp.asarray(padded), target)
        probabilities.append(np.asarray(found)[:len(chunk)])
    drop = baseline - np.concatenate(probabilities)
    total = np.zeros((height, width), np.float64)
    count = np.zeros((height, width), np.float64)
    for (top, left), value in zip(positions, drop):
        total[top:top + patch, left:left + patch] += value
        count[top:top + patch, left:left + patch] += 1
    return (total / np.maximum(count, 1)).astype(np.float32)


def overlay_png(image: np.ndarray, heat: np.ndarray, path: str | Path, *, title: str | None = None,
                heat_label: str = "saliency") -> Path:
    """Save a PNG: the image, the heat map (with a colour bar) and the two overlaid.

    ``image`` is ``(H, W, C)`` in [0, 1]; ``heat`` is ``(H, W)``. Signed maps
    (occlusion) use a diverging colour map centred on 0.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image = np.asarray(image, np.float32)
    heat = np.asarray(heat, np.float32)
    shown = image[..., 0] if image.shape[-1] == 1 else np.clip(image, 0, 1)
    grey = {"cmap": "gray", "vmin": 0, "vmax": 1} if image.shape[-1] == 1 else {}
    signed = heat.min() < 0
    limit = float(np.abs(heat).max()) or 1.0
    colours = {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit} if signed else {"cmap": "inferno", "vmin": 0}

    figure, axes = plt.subplots(1, 3, figsize=(10.5, 3.8))
    axes[0].imshow(shown, interpolation="nearest", **grey)
    axes[0].set_title("image")
    drawn = axes[1].imshow(heat, interpolation="nearest", **colours)
    axes[1].set_title(heat_label)
    figure.colorbar(drawn, ax=axes[1], fraction=0.046, pad=0.04)
    # The overlay colours each pixel with its heat, opaque in proportion to |heat|,
    # so the image stays visible wherever the map says nothing.
    rgba = drawn.cmap(drawn.norm(heat))
    rgba[..., 3] = 0.85 * np.clip(np.abs(heat) / limit, 0, 1) ** 0.7
    axes[2].imshow(shown, interpolation="nearest", **grey)
    axes[2].imshow(rgba, interpolation="nearest")
    axes[2].set_title("overlay")
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
