"""The small networks the training tests share: quick to compile and train (imported like
cli_processes.py and trained_mnist.py)."""

from __future__ import annotations

# Batchnorm: state that is not a parameter.
BATCHNORM_SPEC = """\
name: small
input: [8, 8, 1]
layers:
  - conv: {K: 4, F: 3, P: same, activation: relu}
  - batchnorm
  - pool: {F: 2}
  - flatten
  - dense: {units: 3}
  - softmax
train:
  optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
  batch_size: 16
  epochs: 2
"""
# Dropout as well: a random draw per step, which exact resume must reproduce.
DROPOUT_SPEC = BATCHNORM_SPEC.replace("  - dense:", "  - dropout: 0.25\n  - dense:", 1)
# And the last partial batch of every epoch trained on (train: drop_last: false).
PARTIAL_BATCH_SPEC = DROPOUT_SPEC + "  drop_last: false\n"


def partial_batch_data():
    """The data the PARTIAL_BATCH_SPEC tests train on: 200 synthetic 8x8x1 examples in 3
    classes, 180 of them for training: 11 batches of 16 and one of 4."""
    from netspec.data import load_data

    return load_data("synthetic:200", input_shape=(8, 8, 1), output_shape=(3,), seed=0)
