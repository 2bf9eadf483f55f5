"""Training: Optax optimizers from the ``train:`` section, a jitted train
step over ``nnx.Optimizer``, the epoch loop and the run folder.

>>> import netspec
>>> from netspec.data import load_data
>>> graph = netspec.load("specs/lenet.yaml")
>>> dataset = load_data("mnist", input_shape=graph.input_shape)
>>> run = netspec.train.fit(graph, dataset, epochs=3)     # doctest: +SKIP
>>> run.history[-1]["val_accuracy"]                       # doctest: +SKIP

The names below are loaded on first use, so ``import netspec.train`` (and
the static commands that import its JAX-free parts) does not load JAX.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netspec.train.loop import Run, fit

__all__ = ["Run", "fit"]


def __getattr__(name: str) -> Any:
    if name in ("Run", "fit"):
        from netspec.train import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'netspec.train' has no attribute {name!r}")
