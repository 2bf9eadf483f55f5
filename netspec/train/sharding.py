"""Data parallelism over all local devices with ``jax.sharding``.

Parameters and optimizer state are replicated; each batch is split along its
first (batch) axis, one slice per device. XLA then inserts the gradient
all-reduce itself, so the train step is the same program on 1 or N devices.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from netspec.diagnostics import Diagnostic, error
from netspec.train.batches import eval_batches, train_batches


class DataParallel:
    """Placement of state (replicated) and batches (split on axis 0).

    >>> placement = DataParallel()
    >>> placement.device_count >= 1
    True
    """

    def __init__(self, devices: list | None = None):
        self.devices = list(devices if devices is not None else jax.local_devices())
        self.mesh = Mesh(np.array(self.devices), ("batch",))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.split = NamedSharding(self.mesh, PartitionSpec("batch"))

    @property
    def device_count(self) -> int:
        return len(self.devices)

    def replicate(self, tree):
        """Copy every array of ``tree`` to every device."""
        return jax.device_put(tree, self.replicated)

    def shard_batch(self, tree):
        """Split every array of ``tree`` (leading axis B, divisible by the device count)."""
        return jax.device_put(tree, self.split)

    # What a multi-process placement (netspec.train.multihost) does differently.
    process_count = 1
    is_primary = True

    def train_batches(self, x, y, order, batch_size: int, start_step: int = 0, drop_last: bool = True):
        """This process's part of each training batch (here: all of it)."""
        return train_batches(x, y, order, batch_size, start_step=start_step, drop_last=drop_last)

    def eval_batches(self, x, y, batch_size: int):
        """This process's part of each evaluation batch (here: all of it)."""
        return eval_batches(x, y, batch_size)

    def local_part(self, batch):
        """This process's rows of a whole batch (here: all of them)."""
        return batch

    def to_host(self, array) -> np.ndarray:
        """A sharded result as one host array."""
        return np.asarray(array)

    def stop_together(self, requested: bool, step: int) -> bool:
        """Whether to stop after ``step``, as every process decides it (here: this one alone)."""
        return requested

    def refresh_due(self, seconds: float, step: int, every_seconds: float) -> bool:
        """Whether to read the running totals now (here: by the clock)."""
        return seconds >= every_seconds


def check_batch_size(batch_size: int, device_count: int) -> list[Diagnostic]:
    """An error when the batch cannot be split evenly over the devices."""
    if batch_size % device_count == 0:
        return []
    lower = batch_size - batch_size % device_count
    higher = lower + device_count
    choices = f"{lower} or {higher}" if lower > 0 else str(higher)
    return [error(
        "batch-size-devices",
        f"batch_size must be a multiple of the number of devices ({device_count}), but got {batch_size}",
        hint=f"use --batch-size {choices}",
    )]
