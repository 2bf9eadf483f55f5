"""Batches: a seeded order per epoch, and a background thread that keeps the
next batches on the device while the current step runs.

Each epoch's order is a function of ``(seed, epoch)`` alone, so a run resumed
at epoch ``e``, step ``s`` sees exactly the batches an uninterrupted run would.
Training drops the last incomplete batch (one compiled shape, every example
seen over the epochs); evaluation pads it and masks the padding out.
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


def steps_per_epoch(count: int, batch_size: int) -> int:
    """Full batches in one epoch of ``count`` examples (at least 1 when count >= batch_size)."""
    return count // batch_size


def train_batches(x: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int,
                  start_step: int = 0) -> Iterator[Batch]:
    """``(x, y)`` batches of exactly ``batch_size`` in ``order``, from ``start_step``."""
    for step in range(start_step, len(order) // batch_size):
        index = np.sort(order[step * batch_size:(step + 1) * batch_size])  # sorted: faster gather
        yield x[index], y[index]


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
