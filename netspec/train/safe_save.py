"""Writing into a run folder without ever losing the last good checkpoint.

Two guards around every checkpoint and history write (issue 13, DL2 and the
disk cases):

* :func:`refuse_non_finite` — weights or optimizer state holding NaN/Inf are
  never written: the epoch's loss can still look finite while the last step
  already broke the weights, and such a checkpoint would replace ``last``
  (and, with a NaN validation loss, once even become ``best``);
* :func:`guarded_write` — a full disk, a read-only or deleted run folder, or
  orbax failing underneath ends in one diagnostic naming the folder and the
  reason (one line, not tensorstore's internals). The checkpoint writer
  itself is atomic (:mod:`netspec.train.checkpoint`), so the previous
  checkpoint is intact whenever this fires.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from netspec.diagnostics import NetspecError, error
from netspec.train import rundir

REASON_LENGTH = 200  # tensorstore errors run to dozens of lines; the first part says what happened


def _kept(directory: Path, has_checkpoint: bool) -> str:
    if has_checkpoint:
        return f"the last good checkpoint is kept in {directory / rundir.CHECKPOINTS / 'last'}"
    return "no checkpoint had been saved yet"


def refuse_non_finite(arrays: dict[str, np.ndarray], directory: Path, epoch: int, has_checkpoint: bool) -> None:
    """Raise a diagnostic naming the first array with a NaN or Inf (nothing is written)."""
    for name, values in arrays.items():
        if hasattr(values, "addressable_data"):  # a replicated array of a multi-process run: this process's copy
            values = np.asarray(values.addressable_data(0))
        if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
            raise NetspecError([error(
                "non-finite-weights",
                f"'{name}' holds NaN or Inf after epoch {epoch}: training diverged and stopped; "
                f"{_kept(directory, has_checkpoint)}",
                hint="lower the learning rate, set clip_norm in train:, or standardise the inputs "
                     "(standardize: per_channel)")])


def short_reason(exc: BaseException) -> str:
    """One line about ``exc``: the OS's words for OS errors, else the start of the message."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return first if len(first) <= REASON_LENGTH else first[:REASON_LENGTH] + "..."


@contextlib.contextmanager
def guarded_write(directory: Path, has_checkpoint: bool) -> Iterator[None]:
    """Run a write into ``directory``; turn missing folders and failed writes into diagnostics."""
    if not (directory / rundir.RUN).is_file():
        raise NetspecError([error(
            "run-folder-gone", f"the run folder {directory} was deleted or moved during training; stopped "
                               "without writing (a new folder would hold only part of a run)",
            hint="restore the folder and continue with --resume, or start again with --out")])
    try:
        yield
    except NetspecError:
        raise
    except (OSError, ValueError, RuntimeError) as exc:  # orbax/tensorstore report disk errors as these
        full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
        raise NetspecError([error(
            "checkpoint-write-failed",
            f"cannot write to the run folder {directory}: {short_reason(exc)}; training stopped; "
            f"{_kept(directory, has_checkpoint)}",
            hint=("free some disk space" if full else "check that the folder is writable and has space")
            + f", then continue with: netspec train --resume {directory}")]) from None
