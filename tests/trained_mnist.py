"""One small MNIST convnet trained once per test session, shared by the
explain / visualize / features tests (training takes ~20 s on a CPU).

The convolutions have no bias: with a bias, units over the blank background
stay active and spread a low, even gradient over the whole background
(measured on this net: ~35% of the saliency mass on the digit's ink pixels
with biases, ~60% without), which hides what the saliency tests look at.
The net still reaches ~96% validation accuracy after 280 steps.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from netspec import cli

SPEC = """\
name: probe_mnist
input: [28, 28, 1]
layers:
  - conv: {K: 8, F: 3, P: same, bias: false, activation: relu, name: conv1}
  - pool: {F: 2}
  - conv: {K: 16, F: 3, P: same, bias: false, activation: relu, name: conv2}
  - pool: {F: 2}
  - flatten
  - dense: {units: 10, name: logits}
  - softmax
train:
  optimizer: {name: adam, lr: 0.003}
  batch_size: 64
  epochs: 2
  data: mnist
"""


@functools.cache
def mnist():
    from netspec.data import load_data

    return load_data("mnist", input_shape=(28, 28, 1), download=False)


@functools.cache
def trained_run(folder: str) -> tuple[Path, Path]:
    """``(spec file, run folder)`` of the net above trained on embedded MNIST, under ``folder``."""
    from netspec.pipeline import load
    from netspec.train import fit

    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    spec = root / "probe_mnist.yaml"
    spec.write_text(SPEC)
    run = fit(load(str(spec)), mnist(), out=root / "run", quiet=True, data_source="mnist")
    assert run.history[-1]["val_accuracy"] > 0.9, run.history
    return spec, root / "run"


def save_digit(path: Path, index: int) -> tuple[Path, int]:
    """Validation image ``index`` as a PNG; returns the path and its label."""
    from PIL import Image

    data = mnist()
    Image.fromarray(np.round(data.val.x[index, ..., 0] * 255).astype(np.uint8)).save(path)
    return path, int(data.val.y[index])


def run_cli(argv: list) -> int:
    """``netspec ARGV`` through the real dispatcher (paths may be Path objects)."""
    return cli.main([str(a) for a in argv])
