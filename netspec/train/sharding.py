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
