"""Sizes refused before anything is allocated.

A spec can check clean and still need terabytes (a dense layer of 10⁶ × 10⁶
units), and a data source can ask for 10¹² examples. Allocating first ends in
JAX's out-of-memory error or Python's MemoryError, i.e. an internal error
(issue 13). The static figures already say how much memory a network needs,
so the refusal comes from them, with the figure in the message.

The budget is the machine's physical memory (``NETSPEC_MEMORY_LIMIT``, in
bytes, overrides it: a shared machine, a container limit). Estimates count
float32 values and err low: the refusal is for the impossible, not for the
merely tight.

Pure Python; nothing here imports JAX.
"""

from __future__ import annotations

import math
import os

from netspec.diagnostics import Diagnostic, error
from netspec.infer.facts import Analysis

BYTES_PER_VALUE = 4  # float32


def memory_budget() -> int:
    """Bytes a netspec process may plan to use: ``NETSPEC_MEMORY_LIMIT`` or the physical memory."""
    given = os.environ.get("NETSPEC_MEMORY_LIMIT", "").strip()
    if given.isdigit():
        return int(given)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not a POSIX system
        return 1 << 40


def gib(size: int) -> str:
    """``12.5 GiB``: a size in bytes for a message."""
    return f"{size / 2**30:,.1f} GiB" if size >= 2**30 else f"{size / 2**20:,.1f} MiB"


def _too_big(what: str, needed: int, budget: int, hint: str) -> Diagnostic:
    return error("too-large", f"{what} needs about {gib(needed)}, but this machine has {gib(budget)} of memory",
                 hint=hint + " (NETSPEC_MEMORY_LIMIT sets the budget in bytes)")


def model_problems(analysis: Analysis, *, batch_size: int | None = None, optimizer_slots: int = 2,
                   budget: int | None = None) -> list[Diagnostic]:
    """Whether the network (and, with ``batch_size``, a training step) fits in memory.

    Building needs the parameters; training also needs their gradients, the
    optimizer's slots and every layer's activation for the batch (kept for
    the backward pass).

    >>> from netspec.pipeline import load
    >>> graph = load("name: huge\\ninput: [1000]\\nlayers: [{dense: {units: 1000000}}]\\n")
    >>> [d.code for d in model_problems(graph.meta["analysis"], budget=2**30)]
    ['too-large']
    """
    budget = memory_budget() if budget is None else budget
    parameters = analysis.total_params * BYTES_PER_VALUE
    if parameters > budget:
        return [_too_big(f"'{analysis.graph.name}' has {analysis.total_params:,} parameters and", parameters,
                         budget, "make the network smaller (netspec summary shows where the parameters are)")]
    if batch_size is None:
        return []
    activations = sum(facts.activation_size for facts in analysis.layers.values()) * batch_size * BYTES_PER_VALUE
    training = parameters * (2 + optimizer_slots) + 2 * activations
    if training > budget:
        return [_too_big(f"training '{analysis.graph.name}' with batches of {batch_size}", training, budget,
                         "use a smaller --batch-size or a smaller network")]
    return []


def examples_problem(count: int, input_shape: tuple[int, ...], source: str,
                     budget: int | None = None) -> Diagnostic | None:
    """A diagnostic when ``count`` examples of ``input_shape`` cannot fit in memory."""
    budget = memory_budget() if budget is None else budget
    needed = count * math.prod(input_shape) * BYTES_PER_VALUE
    if needed <= budget:
        return None
    return _too_big(f"{source}: {count:,} examples of shape {list(input_shape)}", needed, budget,
                    "ask for fewer examples")


def metric_problems(metrics: list[str], output_shape: tuple[int, ...], loss: str) -> list[Diagnostic]:
    """``top_k`` metrics must have ``k`` below the number of classes (k = classes is always 100%).

    >>> [d.code for d in metric_problems(["accuracy", "top_20_accuracy"], (10,), "cross_entropy")]
    ['bad-metric']
    """
    if loss == "mse" or not output_shape:
        return []
    classes = 2 if output_shape[-1] == 1 else output_shape[-1]
    problems = []
    for name in metrics:
        if name.startswith("top_") and name.endswith("_accuracy"):
            k = int(name[len("top_"):-len("_accuracy")])
            if k >= classes:
                problems.append(error("bad-metric", f"top_k: {k} needs more than {k} classes, but the network "
                                      f"outputs {classes}", hint=f"use top_k below {classes}, or only accuracy"))
    return problems
