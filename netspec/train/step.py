"""The jitted train, eval and predict steps.

The model and its ``nnx.Optimizer(model, tx, wrt=nnx.Param)`` are split once
into a static graph definition and a state pytree; each step is a pure
``jax.jit`` function that merges them, runs, and splits the new state out
again (Flax's "functional training loop"). This keeps NNX's Python graph
traversal out of the per-step cost — ``benchmarks/train_step.py`` measures
it against ``nnx.jit`` — and gives plain pytrees to shard and checkpoint.

Shapes: ``x`` is ``(B, *input_shape)``, ``y`` is ``(B,)`` class ids or
``(B, *target_shape)``, ``mask`` is ``(B,)`` with 1.0 for real examples and
0.0 for padding. Running totals are sums over examples, so means stay exact
over uneven batches and over devices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from netspec.train.losses import PerExample

Transform = Callable[[jax.Array], jax.Array]
Augment = Callable[[jax.Array, jax.Array], jax.Array]  # (key, images) -> images


@dataclass(frozen=True)
class StepConfig:
    """What a step computes, besides the model.

    ``normalize`` maps raw inputs to what the network sees (standardisation);
    ``augment`` draws a random transform per example, keyed by
    ``fold_in(augment_key, optimizer step)`` so a resumed run draws the same
    transforms; ``penalty`` maps the Param state to the L1/L2 penalty.
    """

    loss: PerExample
    metrics: dict[str, PerExample]
    normalize: Transform | None = None
    augment: Augment | None = None
    augment_key: jax.Array | None = None
    penalty: Callable[[Any], jax.Array] | None = None
    head: Transform | None = None  # outputs -> the spec's outputs (softmax/sigmoid) for predict
    # Called on the model after model.train(): puts frozen batchnorm layers back in inference mode.
    prepare_train: Callable[[nnx.Module], None] | None = None
    # train: precision: mixed or bfloat16 -> jnp.bfloat16: compute in it (under bfloat16 the
    # parameters and optimizer state are bfloat16 too: see cast_params).
    compute_dtype: Any = None


def _floating(leaf) -> bool:
    return hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.floating)


def cast_params(model: nnx.Module, dtype: Any) -> None:
    """Store ``model``'s parameters in ``dtype`` (train: precision: bfloat16), in place.

    Called before the optimizer is made, so its state (momentum, Adam's moments)
    follows the parameters' dtype. Batchnorm running averages and other
    non-parameter state stay float32: an average moved by 1 % a step would stall
    in bfloat16's 8-bit mantissa, and they cost nothing to keep."""
    params = nnx.state(model, nnx.Param)
    nnx.update(model, jax.tree.map(lambda p: p.astype(dtype) if _floating(p) else p, params))


def as_float32(state):
    """``state`` with every floating leaf in float32 (bfloat16 values convert exactly)."""
    return jax.tree.map(lambda leaf: leaf.astype(jnp.float32) if _floating(leaf) else leaf, state)


def run_model(model: nnx.Module, x: jax.Array, compute_dtype: Any) -> jax.Array:
    """``model(x)``, computed in ``compute_dtype`` when given (mixed precision).

    The float32 parameters are cast on the way in, so their gradients come back
    in float32 through the casts; the outputs are cast back to float32 for the
    loss, and state the call updates (batchnorm running averages, dropout keys)
    is written back to ``model`` in its own dtype.
    """
    if compute_dtype is None:
        return model(x)
    graphdef, params, *rest = nnx.split(model, nnx.Param, ...)  # rest: one state, everything else
    low = jax.tree.map(lambda p: p.astype(compute_dtype) if _floating(p) else p, params)
    view = nnx.merge(graphdef, low, *rest)
    # Flax layers left to promote (dtype None) would return to float32 after every layer that
    # holds float32 state (batchnorm statistics): have them compute in compute_dtype, as a
    # Keras mixed policy does. BatchNorm still reduces its statistics in float32.
    for _, module in nnx.iter_modules(view):
        if getattr(module, "dtype", compute_dtype) is None:
            setattr(module, "dtype", compute_dtype)  # noqa: B010 (mypy: nnx.Module declares no dtype)
    outputs = view(x.astype(compute_dtype))
    _, _, *new_rest = nnx.split(view, nnx.Param, ...)
    nnx.update(model, *jax.tree.map(
        lambda new, old: new.astype(old.dtype) if _floating(old) else new, new_rest, rest))
    return outputs.astype(jnp.float32)


def zero_totals(metric_names) -> dict[str, jax.Array]:
    """Running sums: ``count`` examples, ``loss``, one entry per metric."""
    names = ("count", "loss", *metric_names)
    return {name: jnp.zeros((), jnp.float32) for name in names}


def _accumulate(totals, config: StepConfig, outputs, y, per_example_loss, mask):
    new = dict(totals)
    new["count"] = totals["count"] + mask.sum()
    new["loss"] = totals["loss"] + (per_example_loss * mask).sum()
    for name, metric in config.metrics.items():
        new[name] = totals[name] + (metric(outputs, y) * mask).sum()
    return new


class Steps:
    """Jitted steps over a model and its optimizer, in state-pytree form.

    >>> steps = Steps(model, optimizer, config)          # doctest: +SKIP
    >>> model_state, opt_state, totals = steps.train(  # doctest: +SKIP
    ...     steps.model_state, steps.opt_state, totals, x, y)
    """

    def __init__(self, model: nnx.Module, optimizer: nnx.Optimizer, config: StepConfig):
        self.config = config
        model.train()
        if config.prepare_train is not None:
            config.prepare_train(model)
        self.train_graph, self.model_state = nnx.split(model)
        model.eval()
        self.eval_graph, _ = nnx.split(model)
        self.opt_graph, self.opt_state = nnx.split(optimizer)
        # Donating the old state lets an accelerator update it in place (half the memory);
        # on CPU it measured slower (benchmarks/README.md), so there it is off.
        donate = jax.default_backend() != "cpu"
        self.train = jax.jit(self._train, donate_argnums=(0, 1, 2) if donate else ())
        self.evaluate = jax.jit(self._evaluate, donate_argnums=(1,) if donate else ())
        self.predict = jax.jit(self._predict)

    def model(self, model_state) -> nnx.Module:
        """A live module (eval mode) holding ``model_state`` in float32, whatever the
        training precision, so inspection and feature code see a plain float32 network."""
        return nnx.merge(self.eval_graph, as_float32(model_state))

    def _train(self, model_state, opt_state, totals, x, y):
        config = self.config
        model = nnx.merge(self.train_graph, model_state)
        optimizer = nnx.merge(self.opt_graph, opt_state)
        if config.augment is not None:
            key = jax.random.fold_in(config.augment_key, optimizer.step[...])
            x = config.augment(key, x)
        if config.normalize is not None:
            x = config.normalize(x)

        def objective(model):
            outputs = run_model(model, x, config.compute_dtype)
            per_example = config.loss(outputs, y)
            total = per_example.mean()
            if config.penalty is not None:
                total = total + config.penalty(nnx.state(model, nnx.Param))
            return total, (outputs, per_example)

        # Gradients of the parameters the optimizer updates only (frozen layers have none).
        wrt = nnx.DiffState(0, optimizer.wrt)
        (_, (outputs, per_example)), grads = nnx.value_and_grad(objective, argnums=wrt, has_aux=True)(model)
        optimizer.update(model, grads)
        mask = jnp.ones((x.shape[0],), jnp.float32)
        totals = _accumulate(totals, config, outputs, y, per_example, mask)
        return nnx.state(model), nnx.state(optimizer), totals

    def _evaluate(self, model_state, totals, x, y, mask):
        config = self.config
        model = nnx.merge(self.eval_graph, model_state)
        if config.normalize is not None:
            x = config.normalize(x)
        outputs = run_model(model, x, config.compute_dtype)
        return _accumulate(totals, config, outputs, y, config.loss(outputs, y), mask)

    def _predict(self, model_state, x):
        """The spec's outputs (probabilities when it ends in softmax/sigmoid), (B, *output_shape)."""
        config = self.config
        model = nnx.merge(self.eval_graph, model_state)
        if config.normalize is not None:
            x = config.normalize(x)
        outputs = run_model(model, x, config.compute_dtype)
        return config.head(outputs) if config.head is not None else outputs
