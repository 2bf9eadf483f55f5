"""Training: Optax optimizers from the ``train:`` section, a jitted train
step over ``nnx.Optimizer``, the epoch loop and the run folder. Imports JAX;
nothing on the static path imports this package (tests/test_boundaries.py).

>>> import netspec
>>> from netspec.data import load_data
>>> graph = netspec.load("specs/lenet.yaml")
>>> dataset = load_data("mnist", input_shape=graph.input_shape)
>>> run = netspec.train.fit(graph, dataset, epochs=3)     # doctest: +SKIP
>>> run.history[-1]["val_accuracy"]                       # doctest: +SKIP
"""

from netspec.train.loop import Run, fit

__all__ = ["Run", "fit"]
