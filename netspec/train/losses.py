"""Losses and metrics over a batch, computed from the network's logits.

Every function takes ``outputs`` of shape ``(B, *output_shape)`` (logits when
the spec's softmax/sigmoid was split off, see :mod:`netspec.train.head`),
``targets`` of shape ``(B,)`` int32 class labels or ``(B, *target_shape)``
floats, and returns one value per example, shape ``(B,)``, so padded
examples can be masked out and sums stay exact across batches and devices.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from netspec.train.head import Head

PerExample = Callable[[jax.Array, jax.Array], jax.Array]


def _per_example(values: jax.Array) -> jax.Array:
    """Average everything but the batch axis: (B, ...) -> (B,)."""
    return values.reshape(values.shape[0], -1).mean(axis=1)


def _binary_logits(outputs: jax.Array, targets: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Line up a 1-unit output (B, ..., 1) with 0/1 labels (B, ...)."""
    if outputs.ndim == targets.ndim + 1 and outputs.shape[-1] == 1:
        outputs = outputs[..., 0]
    return outputs, targets.astype(outputs.dtype)


def cross_entropy(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """Softmax cross-entropy from logits (B, ..., C) and integer labels (B, ...)."""
    losses = optax.softmax_cross_entropy_with_integer_labels(outputs, targets.astype(jnp.int32))
    return _per_example(losses)


def binary_cross_entropy(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """Sigmoid cross-entropy from logits (B, ..., 1) and 0/1 labels (B, ...)."""
    logits, labels = _binary_logits(outputs, targets)
    return _per_example(optax.sigmoid_binary_cross_entropy(logits, labels))


def make_loss(name: str, head: Head) -> PerExample:
    """The per-example loss ``name`` for a network whose split-off head is ``head``.

    For ``mse`` the head (if any) is put back first: a regression net that
    ends in a sigmoid is fitted on its sigmoid output, not its logits.
    """
    if name == "cross_entropy":
        return cross_entropy
    if name == "binary_cross_entropy":
        return binary_cross_entropy
    if name == "mse":
        activate = apply_head(head)

        def mse(outputs: jax.Array, targets: jax.Array) -> jax.Array:
            predictions = activate(outputs)
            return _per_example((predictions - targets.reshape(predictions.shape)) ** 2)

        return mse
    raise ValueError(f"unknown loss {name!r}")


def apply_head(head: Head) -> Callable[[jax.Array], jax.Array]:
    """The activation that turns the training outputs back into the spec's outputs."""
    if head == "softmax":
        return jax.nn.softmax
    if head == "sigmoid":
        return jax.nn.sigmoid
    return lambda outputs: outputs


def accuracy(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """1.0 where the predicted class is the label, per example (averaged over positions).

    A single output unit is a binary classifier: logit > 0 means class 1.
    """
    if outputs.shape[-1] == 1 and outputs.ndim == targets.ndim + 1:
        predicted = (outputs[..., 0] > 0).astype(jnp.int32)
    else:
        predicted = jnp.argmax(outputs, axis=-1)
    return _per_example((predicted == targets.astype(jnp.int32)).astype(jnp.float32))


def top_k_accuracy(k: int) -> PerExample:
    """1.0 where the label is among the ``k`` largest outputs, per example."""

    def metric(outputs: jax.Array, targets: jax.Array) -> jax.Array:
        label_score = jnp.take_along_axis(outputs, targets.astype(jnp.int32)[..., None], axis=-1)
        # The label is in the top k when fewer than k classes score strictly higher.
        higher = (outputs > label_score).sum(axis=-1)
        return _per_example((higher < k).astype(jnp.float32))

    return metric


def make_metrics(names: list[str], loss: str) -> dict[str, PerExample]:
    """The per-example metric functions named in ``train.metrics``.

    Regression (``mse``) has no accuracy; classification metrics are skipped.
    """
    if loss == "mse":
        return {}
    metrics: dict[str, PerExample] = {}
    for name in names:
        if name == "accuracy":
            metrics[name] = accuracy
        elif name.startswith("top_") and name.endswith("_accuracy"):
            metrics[name] = top_k_accuracy(int(name[len("top_"):-len("_accuracy")]))
    return metrics


def kernel_penalty(params, l1: float, l2: float) -> jax.Array:
    """``l1 * sum|w| + l2 * sum w**2`` over kernels (parameters with 2+ axes), as Keras' regularizers."""
    total = jnp.zeros((), jnp.float32)
    for leaf in jax.tree.leaves(params):
        if leaf.ndim >= 2:
            if l1:
                total = total + l1 * jnp.abs(leaf).sum()
            if l2:
                total = total + l2 * jnp.square(leaf).sum()
    return total
