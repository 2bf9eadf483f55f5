"""Data parallelism over the devices of every process (``jax.distributed``).

One 1-D mesh, axis ``"batch"``, over ``jax.devices()`` — all processes'
devices. Parameters and optimizer state are replicated; each *global*
batch is split along its first axis. The order of the examples is global
(a function of ``(seed, epoch)``, as in one process), and each process
gathers only its own contiguous rows of every global batch and hands them
to ``jax.make_array_from_process_local_data``. So 1 process × 4 devices and
2 processes × 2 devices train on the same global batches, in the same
order, with the same sums.

Decisions that must be the same everywhere (stop after this step, read
the totals now) are taken at fixed step numbers, by all processes together.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from netspec.diagnostics import NetspecError, error
from netspec.train.batches import batch_indices, eval_batches, steps_per_epoch
from netspec.train.progress import Display
from netspec.train.sharding import DataParallel

# Every this many steps the processes agree whether to stop (Ctrl-C on any of them)
# and read the running totals (live display, non-finite loss check): one small
# all-gather, so cheap, but it waits for the steps in flight.
AGREE_EVERY_STEPS = 10


def is_multiprocess() -> bool:
    return jax.process_count() > 1


def placement() -> DataParallel:
    """The placement for this run: over every process's devices when there are several."""
    return GlobalDataParallel() if is_multiprocess() else DataParallel()


class GlobalDataParallel(DataParallel):
    """Like :class:`DataParallel`, over all processes' devices (see the module docstring)."""

    def __init__(self):
        devices = jax.devices()
        local = jax.local_device_count()
        counts = {}
        for device in devices:
            counts[device.process_index] = counts.get(device.process_index, 0) + 1
        if len(set(counts.values())) != 1:
            raise NetspecError([error(
                "uneven-devices",
                "every process must have the same number of devices, but they have "
                + ", ".join(f"process {p}: {c}" for p, c in sorted(counts.items())),
                hint="give every process the same devices (e.g. the same --local-device-ids or XLA_FLAGS)")])
        # Ordered by process, so each process's devices hold one contiguous block of rows.
        devices = sorted(devices, key=lambda d: (d.process_index, d.id))
        self.devices = devices
        self.mesh = Mesh(np.array(devices), ("batch",))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.split = NamedSharding(self.mesh, PartitionSpec("batch"))
        self.process_index = jax.process_index()
        self.process_count = jax.process_count()
        self.is_primary = self.process_index == 0
        self.local_device_count = local

    def replicate(self, tree):
        """Every leaf on every device of every process (each process passes the same values)."""
        def put(leaf):
            if hasattr(leaf, "dtype") and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
                data = jax.device_put(np.asarray(jax.random.key_data(leaf)), self.replicated)
                return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
            return jax.device_put(np.asarray(leaf), self.replicated)

        return jax.tree_util.tree_map(put, tree)

    def local_rows(self, global_rows: int) -> slice:
        """The rows of a global batch of ``global_rows`` that live on this process's devices."""
        indices = [index for index in self.split.addressable_devices_indices_map((global_rows,)).values()
                   if index is not None]  # None (a whole copy) does not occur on a split axis
        starts = [index[0].start or 0 for index in indices]
        stops = [global_rows if index[0].stop is None else index[0].stop for index in indices]
        return slice(min(starts), max(stops))

    def shard_batch(self, tree):
        """One global array per leaf of ``tree``, which holds this process's rows only."""
        def assemble(local):
            local = np.asarray(local)
            shape = (local.shape[0] * self.process_count, *local.shape[1:])
            return jax.make_array_from_process_local_data(self.split, local, shape)

        return jax.tree_util.tree_map(assemble, tree)

    def local_part(self, batch):
        """This process's rows of a whole batch (a tuple of arrays or one array)."""
        if isinstance(batch, tuple):
            rows = self.local_rows(len(batch[0]))
            return tuple(part[rows] for part in batch)
        return batch[self.local_rows(len(batch))]

    def train_batches(self, x, y, order, batch_size: int, start_step: int = 0, drop_last: bool = True):
        """This process's rows of each global batch of the epoch: the same global batches as
        :func:`netspec.train.batches.train_batches`, gathering only this process's examples
        (of a partial last batch too: the session has checked that it divides over the devices)."""
        for step in range(start_step, steps_per_epoch(len(order), batch_size, drop_last)):
            index = batch_indices(order, batch_size, step)
            index = index[self.local_rows(len(index))]
            yield x[index], y[index]

    def eval_batches(self, x, y, batch_size: int):
        """This process's rows of each evaluation batch (padding and mask included)."""
        for batch in eval_batches(x, y, batch_size):
            yield self.local_part(batch)

    def to_host(self, array) -> np.ndarray:
        """A batch-sharded result gathered from every process, as one host array."""
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(array, tiled=True))

    def stop_together(self, requested: bool, step: int) -> bool:
        from netspec.train.agreement import any_process

        return step % AGREE_EVERY_STEPS == 0 and any_process(requested)

    def refresh_due(self, seconds: float, step: int, every_seconds: float) -> bool:
        return step % AGREE_EVERY_STEPS == 0


class SilentDisplay(Display):
    """The display of processes other than 0: they print nothing (errors still go to stderr)."""

    def __init__(self):
        super().__init__(quiet=True)

    def message(self, text: str) -> None:
        pass


def lost_processes(wait_seconds: float) -> list[int]:
    """The processes JAX's coordination service has declared dead (empty when all answer, or when
    it does not say within ``wait_seconds``).

    Public API: ``jax.experimental.multihost_utils.live_devices`` (marked "under active
    development" by JAX; tests/test_supervise.py fails if it goes). It is a barrier over
    the live processes, so it returns once every other process has called it too or has been
    declared dead (after the heartbeat timeout); it runs in a thread so that it cannot hang us.
    """
    import threading

    from jax.experimental import multihost_utils

    if not jax.distributed.is_initialized():
        return []
    devices = jax.devices()
    answer: list[list[int]] = []

    def ask() -> None:
        try:
            with multihost_utils.live_devices(devices) as alive:
                live = {device.process_index for device in alive}
        except multihost_utils.ProcessFailureError as exc:  # one more died while asking
            live = {device.process_index for device in devices} - {d.process_index for d in exc.failed_devices}
        except Exception:  # no answer from the coordination service: process 0 is gone
            live = {device.process_index for device in devices} - {0}
        answer.append(sorted({device.process_index for device in devices} - live))

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(wait_seconds)
    return answer[0] if answer else []


def explain_failed_collective(exc: Exception) -> NetspecError | None:
    """A diagnostic naming the process(es) that died when a collective failed because of it,
    else ``None`` (the failure has another cause)."""
    from netspec.train import cluster

    lost = lost_processes(cluster.heartbeat_timeout() + 5)
    if not lost:
        return None
    names = ", ".join(str(process) for process in lost)
    return NetspecError([error(
        "process-lost",
        f"process {names} stopped answering during training, so process {jax.process_index()} stops too "
        f"({str(exc).splitlines()[0][:200]})",
        hint="see the log of that process for why it ended; continue from the last checkpoint with "
             "--resume on every process")])
