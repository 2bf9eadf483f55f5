"""Data on the device, sized by memory: the resident training split and the evaluation batch.

**Resident training split.** When the training split (as stored: standardisation and
augmentation happen inside the jitted step) fits :func:`resident_budget`, it is copied to
every device once per run and each batch is gathered there from the epoch's index, so the
host sends 4 bytes per example instead of the example. The index is the one the host path
uses (:func:`netspec.train.batches.batch_indices` of the ``(seed, epoch)`` order), so the
batches, and everything that depends on their order (exact resume, equal sums on 1 or N
devices), are the same. The rule: a quarter of the smallest device memory on an accelerator
(``memory_stats()["bytes_limit"]``); on a CPU backend, whose "devices" share the host's memory
and report none, the copies on all local devices together take at most
:data:`HOST_RESIDENT_CAP` and a quarter of :func:`netspec.infer.limits.memory_budget`.
Multi-process runs keep the host path (each process gathers its own rows of each global batch).

**Evaluation batch.** Evaluation keeps no activations for a backward pass, so its batch can be
larger than the training batch: as many examples as fit :func:`eval_budget`, counting each
layer's output once per example (a bound on the forward pass's live buffers), at most
:data:`EVAL_BATCH_CAP`, a multiple of the training batch (so it divides over the devices as
that does) and never more than the evaluated split needs.
"""

from __future__ import annotations

from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from netspec.infer.facts import Analysis
from netspec.infer.limits import memory_budget
from netspec.train.batches import batch_indices, steps_per_epoch

DEVICE_SHARE = 4  # an accelerator gives the resident split (and the eval batch) 1/4 of its memory
HOST_RESIDENT_CAP = 1 << 30  # CPU backend: all local copies of the resident split together
HOST_EVAL_CAP = 256 << 20  # CPU backend: the eval batch's activations
EVAL_BATCH_CAP = 1024  # examples: past this a larger batch buys nothing measurable
BYTES_PER_VALUE = 4


def device_memory(devices: list) -> int | None:
    """The smallest ``bytes_limit`` of ``devices``, or None where a device reports none (CPU)."""
    limits = []
    for device in devices:
        try:
            stats = device.memory_stats()
        except Exception:  # noqa: BLE001 - backends without the query raise various errors
            stats = None
        if not stats or not stats.get("bytes_limit"):
            return None
        limits.append(int(stats["bytes_limit"]))
    return min(limits) if limits else None


def resident_budget(devices: list) -> int:
    """Bytes the resident training split may take on *each* device (see the module docstring)."""
    memory = device_memory(devices)
    if memory is not None:
        return memory // DEVICE_SHARE
    return min(HOST_RESIDENT_CAP, memory_budget() // DEVICE_SHARE) // max(1, len(devices))


def eval_budget(devices: list) -> int:
    """Bytes the evaluation batch's activations may take on each device."""
    memory = device_memory(devices)
    return memory // DEVICE_SHARE if memory is not None else min(HOST_EVAL_CAP, memory_budget() // 8)


def eval_batch_limit(analysis: Analysis, train_batch: int, devices: list) -> int:
    """The largest evaluation batch for this network: a multiple of ``train_batch``, at least one.

    >>> from netspec.pipeline import load, analysis_of
    >>> graph = load("name: t\\ninput: [8, 8, 1]\\nlayers: [conv: {K: 4, F: 3}, relu, flatten, dense: {units: 2}]\\n")
    >>> eval_batch_limit(analysis_of(graph), 32, jax.devices("cpu")[:1])
    1024
    """
    per_example = BYTES_PER_VALUE * (sum(facts.activation_size for facts in analysis.layers.values())
                                     + int(np.prod(analysis.graph.input_shape)))
    # Each device holds 1/len(devices) of a batch.
    fits = eval_budget(devices) * len(devices) // max(1, per_example)
    return max(1, min(fits, EVAL_BATCH_CAP) // train_batch) * train_batch


def eval_batch_size(limit: int, train_batch: int, examples: int) -> int:
    """The batch for evaluating ``examples``: ``limit``, or fewer multiples of ``train_batch`` when
    those cover the split (less padding to compute).

    >>> eval_batch_size(1024, 32, 100), eval_batch_size(1024, 32, 10_000), eval_batch_size(64, 32, 0)
    (128, 1024, 32)
    """
    needed = max(1, -(-examples // train_batch)) * train_batch
    return min(limit, needed)


def _take(x, y, index):
    return (jnp.take(x, index, axis=0, unique_indices=True, indices_are_sorted=True),
            jnp.take(y, index, axis=0, unique_indices=True, indices_are_sorted=True))


class ResidentSplit:
    """The training split on every device of ``placement``, and its batches gathered there."""

    def __init__(self, placement, x: np.ndarray, y: np.ndarray):
        self.x = jax.device_put(x, placement.replicated)
        self.y = jax.device_put(y, placement.replicated)
        self._gather = jax.jit(_take, out_shardings=(placement.split, placement.split))

    @staticmethod
    def fits(placement, x: np.ndarray, y: np.ndarray) -> bool:
        """Whether a single-process run may keep ``(x, y)`` on its devices."""
        if placement.process_count != 1:
            return False
        return x.nbytes + y.nbytes <= resident_budget(placement.devices)

    def indices(self, order: np.ndarray, batch_size: int, start_step: int = 0,
                drop_last: bool = True) -> Iterator[np.ndarray]:
        """The host's part of each batch: its sorted indices, as the host path gathers them."""
        for step in range(start_step, steps_per_epoch(len(order), batch_size, drop_last)):
            yield batch_indices(order, batch_size, step).astype(np.int32)

    def gather(self, index: np.ndarray):
        """The ``(x, y)`` batch of ``index``, split over the devices like ``shard_batch``'s."""
        return self._gather(self.x, self.y, index)
