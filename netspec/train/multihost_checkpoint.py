"""Saving a checkpoint from every process of a multi-process run.

The layout is that of :mod:`netspec.train.checkpoint` (``arrays/`` + ``meta.json``,
swapped into place atomically), so :func:`netspec.train.checkpoint.load`
reads it in any number of processes — a run saved by 2 processes resumes in
1 or 4, and ``netspec eval`` reads it in one. All processes call
:func:`save` with the same values; orbax's multi-process checkpointer
coordinates the write (barriers, process 0 commits). Parameters are
replicated, so the arrays are handed over as host arrays: orbax writes
them once, from process 0, and they restore without knowing the mesh.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from netspec.train.checkpoint import ARRAYS, META


def save(directory: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any], *, token: str) -> Path:
    """Write the checkpoint at ``directory`` from every process (a collective).

    ``token`` names the temporary folder and must be the same on every process
    (the global step does).
    """
    import jax
    import orbax.checkpoint as ocp
    from jax.experimental import multihost_utils

    final = Path(directory).absolute()  # orbax accepts absolute paths only
    temporary = final.parent / f".{final.name}.tmp-{token}"
    primary = jax.process_index() == 0
    if primary:
        final.parent.mkdir(parents=True, exist_ok=True)
        for stale in final.parent.glob(f".{final.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        temporary.mkdir()
    multihost_utils.sync_global_devices(f"netspec-checkpoint-start-{token}")
    ocp.PyTreeCheckpointer().save(temporary / ARRAYS, arrays)
    if primary:
        with open(temporary / META, "w") as handle:
            json.dump(meta, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        previous = final.parent / f".{final.name}.old-{token}"
        if final.exists():
            final.rename(previous)
        temporary.rename(final)
        shutil.rmtree(previous, ignore_errors=True)
    multihost_utils.sync_global_devices(f"netspec-checkpoint-done-{token}")
    return final
