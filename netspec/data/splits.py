"""Validation splits carved out of a training split (never out of a test split).

Classification data is split per class (stratified), so a 10 % validation
split of MNIST holds about 10 % of every digit; regression data is split by
a seeded permutation; time series are split chronologically (see
``timeseries``), never shuffled across the boundary.
"""

from __future__ import annotations

import numpy as np

from netspec.data.dataset import Split, data_error


def check_fraction(val_split: float) -> None:
    """``val_split`` must lie in [0, 1)."""
    if not 0.0 <= val_split < 1.0:
        raise data_error(
            "data-val-split",
            f"--val-split must be at least 0 and below 1, but got {val_split}",
            hint="e.g. --val-split 0.1 keeps 10% of the training examples for validation",
        )


def validation_count(total: int, val_split: float) -> int:
    """How many of ``total`` examples go to validation: rounded, and leaving
    at least one on each side when ``val_split > 0`` and ``total >= 2``.

    >>> validation_count(10_000, 0.1), validation_count(5, 0.01), validation_count(1, 0.5)
    (1000, 1, 0)
    """
    if val_split <= 0 or total < 2:
        return 0
    return min(max(round(total * val_split), 1), total - 1)


def stratified_indices(labels: np.ndarray, val_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split of ``labels`` ``(N,)`` into (train, val) index
    arrays, each sorted ascending. The per-class validation counts are the
    largest-remainder apportionment of ``validation_count(N, val_split)``.
    """
    total = validation_count(len(labels), val_split)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * (total / len(labels)) if len(labels) else counts * 0.0
    per_class = np.floor(exact).astype(int)
    for index in np.argsort(-(exact - per_class), kind="stable")[: total - per_class.sum()]:
        per_class[index] += 1
    val_parts = []
    for label, take in zip(classes, per_class):
        members = np.flatnonzero(labels == label)
        val_parts.append(rng.permutation(members)[:take])
    val = np.sort(np.concatenate(val_parts)) if val_parts else np.zeros(0, dtype=int)
    train = np.setdiff1d(np.arange(len(labels)), val, assume_unique=True)
    return train, val


def random_indices(count: int, val_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of ``range(count)`` into sorted (train, val) indices."""
    order = np.random.default_rng(seed).permutation(count)
    take = validation_count(count, val_split)
    return np.sort(order[take:]), np.sort(order[:take])


def split_validation(
    split: Split, val_split: float, seed: int, *, stratify: bool
) -> tuple[Split, Split | None]:
    """(train, val) from one training split; val is None when ``val_split`` is 0.

    ``stratify`` splits each class in proportion (classification targets only).
    """
    check_fraction(val_split)
    if stratify:
        train_index, val_index = stratified_indices(split.y, val_split, seed)
    else:
        train_index, val_index = random_indices(len(split), val_split, seed)
    if len(val_index) == 0:
        return split, None
    return split.take(train_index), split.take(val_index)
