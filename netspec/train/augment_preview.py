"""What augmentation does to the training data, before training on it: a grid of
training examples, each followed by augmented versions drawn exactly as the train
step draws them (Keras' ``ImageDataGenerator(...).flow(..., save_to_dir=...)``).

Imports JAX.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from netspec.spec.train import AugmentSpec


def describe(spec: AugmentSpec | None) -> str:
    """One line naming the augmentations that are on (the training header prints it).

    >>> describe(AugmentSpec(flip_horizontal=True, shift=0.1, rotation=15))
    'augment: horizontal flips, shift ±10% of height / ±10% of width, rotation ±15°, fill nearest'
    >>> describe(None)
    'augment: off'
    """
    if spec is None or not spec.active:
        return "augment: off"
    parts = []
    if spec.flip_horizontal:
        parts.append("horizontal flips")
    if spec.flip_vertical:
        parts.append("vertical flips")
    if any(spec.shift):
        parts.append(f"shift ±{100 * spec.shift[0]:g}% of height / ±{100 * spec.shift[1]:g}% of width")
    if spec.rotation:
        parts.append(f"rotation ±{spec.rotation:g}°")
    if spec.zoom:
        parts.append(f"zoom {1 - spec.zoom:g}–{1 + spec.zoom:g}")
    if spec.shear:
        parts.append(f"shear ±{spec.shear:g}°")
    if spec.geometric:
        parts.append(f"fill {spec.fill}" + (f" {spec.fill_value:g}" if spec.fill == "constant" else ""))
    return "augment: " + ", ".join(parts)


def augmented_examples(spec: AugmentSpec, images: np.ndarray, copies: int, *, seed: int = 0) -> np.ndarray:
    """``(N, copies, H, W, C)``: ``copies`` independent augmentations of each image ``(N, H, W, C)``."""
    import jax
    import jax.numpy as jnp

    from netspec.train.augment import make_augment

    augment = jax.jit(make_augment(spec))
    key = jax.random.key(seed)
    batch = jnp.asarray(np.asarray(images, np.float32))
    drawn = [np.asarray(augment(jax.random.fold_in(key, copy), batch)) for copy in range(copies)]
    return np.stack(drawn, axis=1)


def save_preview_png(originals: np.ndarray, augmented: np.ndarray, path: str | Path, *, title: str) -> Path:
    """One row per example: the original (framed in green), then its augmented copies."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed (as netspec.interpret.visualize draws)
    import matplotlib.pyplot as plt

    rows, copies = augmented.shape[:2]
    columns = copies + 1
    figure, axes = plt.subplots(rows, columns, figsize=(1.3 * columns + 0.3, 1.3 * rows + 0.8), squeeze=False)
    for row in range(rows):
        for column in range(columns):
            axis = axes[row, column]
            image = originals[row] if column == 0 else augmented[row, column - 1]
            if image.shape[-1] == 1:
                axis.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            else:
                axis.imshow(np.clip(image, 0, 1), interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if column == 0:
                for spine in axis.spines.values():
                    spine.set_edgecolor("#2ca02c")
                    spine.set_linewidth(2.5)
            if row == 0:
                axis.set_title("original" if column == 0 else f"draw {column}", fontsize=8)
    import textwrap

    figure.suptitle(textwrap.fill(title, 14 * columns + 20), fontsize=9)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def grid_size(count: int) -> int:
    """Copies per example for a roughly square picture of ``count`` examples (at least 4)."""
    return max(4, math.ceil(math.sqrt(count)) + 2)
