"""``synthetic`` data for smoke tests: small, seeded, and learnable.

``synthetic[:N]`` (default N = 2,000) is a classification set shaped to the
spec's input: each class has a fixed random prototype pattern in [0, 1], and
an example is half its class's prototype plus half uniform noise, so a
network that learns anything beats chance within an epoch. The number of
classes is the output's last axis (2 for a single-unit output), else 10.
A further N/10 examples (at least one per class) form the test split.

``synthetic:sine[:N]`` (default N = 2,000 rows) is a noisy sum of two sines
(periods 25 and 60 steps, noise σ = 0.1), one phase-shifted copy per input
channel, cut into windows exactly like ``csv:`` (see ``timeseries``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netspec.data.dataset import Dataset, Split, data_error
from netspec.data.splits import split_validation
from netspec.data.timeseries import chronological
from netspec.diagnostics import NetspecError
from netspec.infer.limits import examples_problem

DEFAULT_EXAMPLES = 2000
DEFAULT_CLASSES = 10


def parse_options(options: str) -> tuple[str, int]:
    """(kind, count) from what follows ``synthetic:``, e.g. ``""``, ``"500"``, ``"sine:4000"``."""
    parts = [part for part in options.split(":") if part] if options else []
    kind = "patterns"
    if parts and parts[0] == "sine":
        kind, parts = "sine", parts[1:]
    if len(parts) > 1 or (parts and not parts[0].isdigit()) or (parts and int(parts[0]) < 2):
        raise data_error(
            "data-source",
            f"synthetic data is written 'synthetic', 'synthetic:N' or 'synthetic:sine[:N]' with N ≥ 2, but got 'synthetic:{options}'",
        )
    return kind, int(parts[0]) if parts else DEFAULT_EXAMPLES


def class_count(output_shape: tuple[int, ...] | None) -> int:
    if output_shape is None or len(output_shape) != 1:
        return DEFAULT_CLASSES
    return 2 if output_shape[0] == 1 else output_shape[0]


def patterns(counts: Sequence[int], input_shape: tuple[int, ...], classes: int, seed: int) -> list[Split]:
    """One split per entry of ``counts``, examples ``(count, *input_shape)`` in [0, 1]
    drawn around the same class prototypes, labels ``0..classes-1`` balanced in each."""
    rng = np.random.default_rng(seed)
    prototypes = rng.uniform(size=(classes, *input_shape)).astype(np.float32)
    splits = []
    for count in counts:
        labels = rng.permutation(np.arange(count) % classes).astype(np.int32)
        noise = rng.uniform(size=(count, *input_shape)).astype(np.float32)
        splits.append(Split(0.5 * prototypes[labels] + 0.5 * noise, labels))
    return splits


def sine_series(rows: int, channels: int, seed: int) -> np.ndarray:
    """A noisy two-tone series ``(rows, channels)`` float32."""
    rng = np.random.default_rng(seed)
    time = np.arange(rows, dtype=np.float64)[:, None]
    phase = np.arange(channels)[None, :] * (np.pi / 3)
    clean = np.sin(2 * np.pi * time / 25 + phase) + 0.5 * np.sin(2 * np.pi * time / 60 + phase)
    return (clean + 0.1 * rng.standard_normal(clean.shape)).astype(np.float32)


def load_synthetic(
    options: str,
    *,
    input_shape: tuple[int, ...],
    output_shape: tuple[int, ...] | None,
    val_split: float,
    seed: int,
    window: int | None,
    horizon: int,
) -> Dataset:
    kind, count = parse_options(options)
    shape = (input_shape[-1] if len(input_shape) == 2 else 1,) if kind == "sine" else input_shape
    too_many = examples_problem(count + count // 10, shape, f"synthetic:{options}")
    if too_many is not None:  # before allocating: 10**12 examples is a MemoryError otherwise
        raise NetspecError([too_many])
    if kind == "sine":
        channels = input_shape[-1] if len(input_shape) == 2 else 1
        series = sine_series(count, channels, seed)
        train, val = chronological(
            series,
            input_shape=input_shape,
            output_shape=output_shape,
            window=window,
            horizon=horizon,
            val_split=val_split,
            name="synthetic:sine",
        )
        return Dataset("synthetic:sine", train, val, None, None, "regression", [])
    classes = class_count(output_shape)
    test_count = max(count // 10, classes)
    train, test = patterns((count, test_count), input_shape, classes, seed)
    train, val = split_validation(train, val_split, seed, stratify=True)
    names = [f"class {label}" for label in range(classes)]
    return Dataset("synthetic", train, val, test, names, "classification", [])
