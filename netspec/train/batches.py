"""Batches: a seeded order per epoch, and a background thread that keeps the
next batches on the device while the current step runs.

Each epoch's order is a function of ``(seed, epoch)`` alone, so a run resumed
at epoch ``e``, step ``s`` sees exactly the batches an uninterrupted run would.
By default training drops the last incomplete batch (one compiled shape,
every example seen over the epochs); with ``drop_last: false`` it is a
smaller last step of the same epoch order (a second compiled shape).
Evaluation pads it and masks the padding out.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import numpy as np

Batch = tuple  # (x, y) for training, (x, y, mask) for evaluation


def epoch_order(seed: int, epoch: int, count: int) -> np.ndarray:
    """The permutation of ``range(count)`` used in ``epoch`` (0-based).

    >>> bool((epoch_order(0, 3, 5) == epoch_order(0, 3, 5)).all())
    True
    """
    return np.random.default_rng([seed, epoch]).permutation(count)


def steps_per_epoch(count: int, batch_size: int, drop_last: bool = True) -> int:
    """Steps in one epoch of ``count`` examples: full batches, plus the partial one unless ``drop_last``.

    >>> steps_per_epoch(100, 32), steps_per_epoch(100, 32, drop_last=False), steps_per_epoch(96, 32, False)
    (3, 4, 3)
    """
    return count // batch_size if drop_last else -(-count // batch_size)


def batch_indices(order: np.ndarray, batch_size: int, step: int) -> np.ndarray:
    """The examples of ``step``: a slice of the epoch's ``order`` (shorter for a partial last batch), sorted."""
    return np.sort(order[step * batch_size:(step + 1) * batch_size])  # sorted: faster gather


def train_batches(x: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int,
                  start_step: int = 0, drop_last: bool = True) -> Iterator[Batch]:
    """``(x, y)`` batches of ``batch_size`` in ``order``, from ``start_step``; the last one
    shorter when ``drop_last`` is false and ``batch_size`` does not divide ``len(order)``."""
    for step in range(start_step, steps_per_epoch(len(order), batch_size, drop_last)):
        index = batch_indices(order, batch_size, step)
        yield x[index], y[index]


def partial_batch_problem(count: int, batch_size: int, device_count: int) -> str | None:
    """Why the partial last batch of ``drop_last: false`` cannot be split over the devices, or None.

    Each device takes an equal slice of a batch; padding the partial batch instead would let
    zero rows into batchnorm's batch statistics, so an undividable remainder is refused.

    >>> partial_batch_problem(100, 32, 1) is None, partial_batch_problem(100, 32, 8)
    (True, 'the last batch of each epoch holds 4 examples (100 % 32), which 8 devices cannot share evenly')
    """
    remainder = count % batch_size
    if remainder == 0 or remainder % device_count == 0:
        return None
    return (f"the last batch of each epoch holds {remainder} examples ({count} % {batch_size}), "
            f"which {device_count} devices cannot share evenly")


def eval_batches(x: np.ndarray, y: np.ndarray, batch_size: int) -> Iterator[Batch]:
    """``(x, y, mask)`` batches covering every example once; the last is zero-padded."""
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        real = len(xb)
        mask = np.ones(batch_size, np.float32)
        if real < batch_size:
            mask[real:] = 0.0
            xb = np.concatenate([xb, np.zeros((batch_size - real, *xb.shape[1:]), xb.dtype)])
            yb = np.concatenate([yb, np.zeros((batch_size - real, *yb.shape[1:]), yb.dtype)])
        yield xb, yb, mask


class Prefetcher:
    """Iterate ``batches`` with ``put`` (host -> device) applied on a background
    thread, ``depth`` batches ahead. ``close()`` stops the thread early.

    >>> list(Prefetcher(iter([1, 2, 3]), put=lambda b: b * 10))
    [10, 20, 30]
    """

    _DONE = object()

    def __init__(self, batches: Iterator, put: Callable, depth: int = 2):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, args=(batches, put), daemon=True)
        self._thread.start()

    def _fill(self, batches: Iterator, put: Callable) -> None:
        try:
            for batch in batches:
                if not self._offer(put(batch)):
                    return
        except BaseException as exc:  # hand it to the consumer instead of dying silently
            self._offer(exc)
            return
        self._offer(self._DONE)

    def _offer(self, item) -> bool:
        """Queue ``item`` unless closed; False once the consumer has gone."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Prefetcher:
        return self

    def __next__(self):
        item = self._queue.get()
        if item is self._DONE:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=5)

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
