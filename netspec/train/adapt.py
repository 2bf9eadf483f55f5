"""Adapting ``normalization`` layers to the training data (Keras' ``Normalization.adapt``).

A ``normalization`` layer without ``mean``/``variance`` in the spec takes them
from the training split before the first step: the mean and (population)
variance per channel of the values that reach the layer — the network input
after the run's ``standardize``, or the output of the layers before it (an
in-model ``rescaling``, say) — over every example and spatial position.
Layers are adapted in spec order, so a later one sees an earlier one's
adapted output. Augmentation is not applied (Keras adapts on the data as
given). The values are model state, saved in every checkpoint, so a resumed
or restored run keeps them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netspec.ir import Graph, Node

BATCH = 512  # examples per forward pass while adapting


def layers_to_adapt(graph: Graph) -> list[Node]:
    """The normalization layers of ``graph`` that the spec gives no statistics."""
    return [node for node in graph.nodes if node.op == "normalization" and node.attrs.mean is None]


def channel_statistics(batches) -> tuple[np.ndarray, np.ndarray, int]:
    """(mean, population variance, count) per last-axis channel over ``batches`` of arrays,
    accumulated in float64 around the first batch's mean (numerically stable for large counts).

    >>> mean, variance, count = channel_statistics([np.array([[1.0, 10.0], [3.0, 10.0]]), np.array([[5.0, 13.0]])])
    >>> mean.tolist(), variance.tolist(), count
    ([3.0, 11.0], [2.6666666666666665, 2.0], 3)
    """
    shift: np.ndarray | None = None
    total = squares = np.zeros(0)
    count = 0
    for values in batches:
        values = np.asarray(values, np.float64).reshape(-1, np.shape(values)[-1])
        if shift is None:
            shift = values.mean(axis=0)
            total, squares = np.zeros_like(shift), np.zeros_like(shift)
        centred = values - shift
        total = total + centred.sum(axis=0)
        squares = squares + (centred ** 2).sum(axis=0)
        count += len(values)
    if shift is None or count == 0:
        raise ValueError("no data to adapt to")
    mean = total / count
    return shift + mean, np.maximum(squares / count - mean ** 2, 0.0), count


def adapt_normalization(session, x: np.ndarray) -> Any | None:
    """Set the statistics of every normalization layer to adapt from training inputs ``x``;
    returns the new model state, or None when no layer needs it."""
    nodes = layers_to_adapt(session.logits_graph)
    if not nodes:
        return None
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from netspec.builder import layer_module, layer_outputs

    model = session.steps.model(session.model_state)
    normalize = session.config.normalize
    for node in nodes:
        source = node.inputs[0]
        inputs_of = nnx.jit(lambda module, xb, source=source: layer_outputs(module, xb, [source])[source])

        def batches(inputs_of=inputs_of):
            for start in range(0, len(x), BATCH):
                xb = jnp.asarray(x[start:start + BATCH], jnp.float32)
                yield inputs_of(model, normalize(xb) if normalize is not None else xb)

        mean, variance, count = channel_statistics(batches())
        module: Any = layer_module(model, node.name)  # the emitted Normalization
        module.mean[...] = jnp.asarray(mean, jnp.float32)
        module.variance[...] = jnp.asarray(variance, jnp.float32)
        module.count[...] = jnp.asarray(count, jnp.float32)
    # steps.model works in float32: hand the state back in the session's own dtypes (bfloat16 params).
    return jax.tree.map(lambda new, old: new.astype(old.dtype) if jnp.issubdtype(old.dtype, jnp.floating) else new,
                        nnx.state(model), session.model_state)
