"""Optax transformations from the ``train:`` section.

The chain is, in order: gradient clipping (``clip_norm``), the optimizer's
scaling (SGD momentum, Adam moments, RMS, RSS), decoupled weight decay on
kernels, the learning-rate schedule, and finally the max-norm constraint,
which rewrites the update so that ``params + update`` has each unit's kernel
norm at most ``max_norm`` — Keras' ``kernel_constraint=MaxNorm(m)`` applied
after every step, as in the lectures' CIFAR-10 net.

"Kernels" are parameters with two or more axes (dense and conv weights);
biases and normalisation scales are never decayed or constrained.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from netspec.spec.train import TrainSpec


def kernel_mask(params):
    """True for kernels (2+ axes), False for biases and scales."""
    return jax.tree.map(lambda leaf: leaf.ndim >= 2, params)


def make_schedule(train: TrainSpec, steps_per_epoch: int) -> optax.Schedule:
    """The learning rate as a function of the step (0-based), warm-up included.

    >>> from netspec.spec.train import TrainSpec
    >>> spec = TrainSpec(optimizer={"lr": 0.1}, schedule={"name": "step", "decay_epochs": 2}, epochs=4)
    >>> [round(float(make_schedule(spec, 10)(s)), 4) for s in (0, 19, 20, 39)]
    [0.1, 0.1, 0.01, 0.01]
    """
    schedule = train.schedule
    peak = train.optimizer.learning_rate
    total_steps = max(1, train.epochs * steps_per_epoch)
    if schedule.warmup_steps is not None:
        warmup = schedule.warmup_steps
    else:
        warmup = round(schedule.warmup_epochs * steps_per_epoch)
    if schedule.decay_steps is not None:
        period = schedule.decay_steps
    elif schedule.decay_epochs is not None:
        period = max(1, round(schedule.decay_epochs * steps_per_epoch))
    else:
        period = steps_per_epoch
    rate = schedule.rate

    if schedule.name == "constant":
        main = optax.constant_schedule(peak)
    elif schedule.name == "step":
        main = optax.exponential_decay(peak, period, rate, staircase=True)
    elif schedule.name == "exponential":
        main = optax.exponential_decay(peak, period, rate, staircase=schedule.staircase)
    elif schedule.name == "cosine":
        main = optax.cosine_decay_schedule(peak, max(1, total_steps - warmup), alpha=schedule.final_fraction)
    elif schedule.name == "inverse_time":
        def main(step):
            return peak / (1.0 + rate * jnp.asarray(step, jnp.float32) / period)
    else:  # pragma: no cover - the schema admits only the names above
        raise ValueError(f"unknown schedule {schedule.name!r}")

    if warmup <= 0:
        return main
    ramp = optax.linear_schedule(0.0, peak, warmup)
    return optax.join_schedules([ramp, main], [warmup])


def max_norm_constraint(max_value: float) -> optax.GradientTransformation:
    """Rescale each unit's kernel after the update so its L2 norm is at most ``max_value``.

    A unit is one slice along the last axis (a dense unit, a conv filter); its
    norm is taken over all other axes. Works on ``updates`` given ``params``,
    so it can end an optax chain: it returns ``constrained - params``.
    """
    def init(params):
        del params
        return optax.EmptyState()

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("max_norm_constraint needs params")

        def constrain(update, param):
            if param.ndim < 2:
                return update
            new = param + update
            axes = tuple(range(new.ndim - 1))
            norms = jnp.sqrt(jnp.sum(jnp.square(new), axis=axes, keepdims=True))
            scale = jnp.clip(norms, 0.0, max_value) / (norms + 1e-7)  # Keras' formula
            return new * scale - param

        return jax.tree.map(constrain, updates, params), state

    return optax.GradientTransformation(init, update)


def make_optimizer(train: TrainSpec, steps_per_epoch: int,
                   schedule: optax.Schedule | None = None) -> optax.GradientTransformation:
    """The full Optax chain for ``train`` (see the module docstring for the order); ``schedule``
    is :func:`make_schedule`'s, when the caller has made it already."""
    spec = train.optimizer
    parts: list[optax.GradientTransformation] = []
    if train.clip_norm is not None:
        parts.append(optax.clip_by_global_norm(train.clip_norm))
    if spec.name == "sgd":
        if spec.momentum > 0:
            parts.append(optax.trace(decay=spec.momentum, nesterov=spec.nesterov))
    elif spec.name in ("adam", "adamw"):
        parts.append(optax.scale_by_adam(b1=spec.b1, b2=spec.b2, eps=spec.eps))
    elif spec.name == "rmsprop":
        parts.append(optax.scale_by_rms(decay=spec.rho, eps=spec.eps, eps_in_sqrt=False))
        if spec.momentum > 0:
            parts.append(optax.trace(decay=spec.momentum, nesterov=spec.nesterov))
    elif spec.name == "adagrad":
        parts.append(optax.scale_by_rss(initial_accumulator_value=spec.initial_accumulator, eps=spec.eps))
    else:  # pragma: no cover - the schema admits only the names above
        raise ValueError(f"unknown optimizer {spec.name!r}")
    if spec.decoupled_weight_decay > 0:
        parts.append(optax.add_decayed_weights(spec.decoupled_weight_decay, mask=kernel_mask))
    if schedule is None:
        schedule = make_schedule(train, steps_per_epoch)
    parts.append(optax.scale_by_learning_rate(schedule))
    if train.max_norm is not None:
        parts.append(max_norm_constraint(train.max_norm))
    return optax.chain(*parts)
