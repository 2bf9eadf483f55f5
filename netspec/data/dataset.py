"""The records every data source returns, and the small helpers they share.

Shapes exclude the batch dimension everywhere except on arrays themselves:
``Split.x`` is ``(N, *input_shape)``. Images are float32 in [0, 1]; other
sources document their raw scale (csv values are used as read, npz float
arrays as stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from netspec.diagnostics import NetspecError, error

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Split:
    """One split of a dataset.

    ``x``: ``(N, *input_shape)`` float32. ``y``: ``(N,)`` int32 class ids for
    classification, or ``(N, *target_shape)`` float32 for regression.
    """

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(f"x and y must have the same length, but got {len(self.x)} and {len(self.y)}")

    def __len__(self) -> int:
        return len(self.x)

    def take(self, indices: np.ndarray) -> Split:
        """The examples at ``indices`` (in that order), copied."""
        return Split(self.x[indices], self.y[indices])


@dataclass(frozen=True)
class Dataset:
    """What ``load_data`` returns: splits plus what the user must be told.

    ``notes`` are plain sentences for the user (e.g. that the embedded MNIST
    test split stands in for the full training set); say them, don't log them.
    ``origin`` holds the resolved paths the data was read from (files or a
    folder; empty for generated data), so a run can record and print them.
    """

    name: str
    train: Split
    val: Split | None
    test: Split | None
    class_names: list[str] | None
    task: Task
    notes: list[str] = field(default_factory=list)
    origin: tuple[str, ...] = ()

    @property
    def example_shape(self) -> tuple[int, ...]:
        """Shape of one input example, e.g. ``(28, 28, 1)``."""
        return tuple(self.train.x.shape[1:])

    @property
    def target_shape(self) -> tuple[int, ...]:
        """Shape of one target: ``()`` for class ids, else the regression target's."""
        return tuple(self.train.y.shape[1:])

    @property
    def num_classes(self) -> int | None:
        return None if self.class_names is None else len(self.class_names)

    def describe(self) -> str:
        """One line for the user, e.g. ``mnist: 54,000 train / 6,000 val / 10,000 test, 10 classes``."""
        parts = [f"{len(self.train):,} train"]
        if self.val is not None:
            parts.append(f"{len(self.val):,} val")
        if self.test is not None:
            parts.append(f"{len(self.test):,} test")
        shape = "×".join(str(d) for d in self.example_shape)
        kind = f"{self.num_classes} classes" if self.class_names is not None else "regression"
        return f"{self.name}: {' / '.join(parts)}, examples {shape}, {kind}"


def data_error(code: str, message: str, hint: str | None = None) -> NetspecError:
    """A ``NetspecError`` carrying one data diagnostic (no source span: data comes from the CLI)."""
    return NetspecError([error(code, message, hint=hint)])


def images_to_unit(images: np.ndarray) -> np.ndarray:
    """uint8 pixels ``0..255`` to float32 in [0, 1]; float arrays pass through as float32."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    return images.astype(np.float32, copy=False)


def conform(x: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """Reshape examples ``(N, *s)`` to ``(N, *input_shape)`` when that only
    adds or drops size-1 axes (``(28, 28)`` ↔ ``(28, 28, 1)``) or flattens for
    a rank-1 input (``(28, 28, 1)`` → ``(784,)``). Anything else is returned
    unchanged so that :func:`check_compatible` can name both shapes.

    >>> conform(np.zeros((2, 28, 28)), (28, 28, 1)).shape
    (2, 28, 28, 1)
    >>> conform(np.zeros((2, 28, 28, 1)), (784,)).shape
    (2, 784)
    >>> conform(np.zeros((2, 32, 32, 3)), (28, 28, 1)).shape
    (2, 32, 32, 3)
    """
    example = tuple(x.shape[1:])
    if example == tuple(input_shape):
        return x
    same_size = int(np.prod(example)) == int(np.prod(input_shape))
    squeezed_equal = [d for d in example if d != 1] == [d for d in input_shape if d != 1]
    if same_size and (squeezed_equal or len(input_shape) == 1):
        return x.reshape((len(x), *input_shape))
    return x


def class_ids_from_targets(y: np.ndarray, source: str) -> np.ndarray | None:
    """Integer class ids ``(N,)`` from integer labels ``(N,)``/``(N, 1)`` or
    one-hot rows ``(N, K)``; None when ``y`` is not a classification target.

    >>> class_ids_from_targets(np.array([[0, 1], [1, 0]]), "x.npz").tolist()
    [1, 0]
    """
    if y.ndim == 2 and y.shape[1] == 1 and np.issubdtype(y.dtype, np.integer):
        y = y[:, 0]
    if y.ndim == 1 and (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
        if len(y) and y.min() < 0:
            raise data_error(
                "data-labels",
                f"{source}: class labels must be 0 or more, but got {int(y.min())}",
                hint="store class ids 0..K-1 (or one-hot rows)",
            )
        return y.astype(np.int32)
    if y.ndim == 2 and y.shape[1] > 1 and len(y):
        binary = np.isin(y, (0, 1)).all()
        if binary and (y.sum(axis=1) == 1).all():
            return np.argmax(y, axis=1).astype(np.int32)
    return None
