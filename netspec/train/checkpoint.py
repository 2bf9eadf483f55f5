"""Checkpoints: state pytrees saved with orbax, written atomically.

A checkpoint is a folder holding ``arrays/`` (an orbax PyTree checkpoint of
a flat ``{path: array}`` dict) and ``meta.json`` (epoch, step, history, ...).
It is written into a hidden temporary folder next to its final place and
then renamed into place; the previous checkpoint is moved aside first and
deleted only after the new one is in place. A crash at any moment therefore
leaves either the old or the new checkpoint complete, and :func:`load`
finds whichever survived.

Arrays are stored under their pytree path (``model/conv1/kernel``), so a
checkpoint restored into a different network fails with a message naming
the first missing or mis-shaped parameter instead of silently misloading.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from netspec.diagnostics import NetspecError, error
from netspec.train import rundir
from netspec.train.orbax_paths import orbax_path

ARRAYS = "arrays"
META = "meta.json"


def _path_name(path) -> str:
    parts = []
    for entry in path:
        if isinstance(entry, jax.tree_util.DictKey):
            parts.append(str(entry.key))
        elif isinstance(entry, jax.tree_util.GetAttrKey):
            parts.append(entry.name)
        elif isinstance(entry, jax.tree_util.SequenceKey):
            parts.append(str(entry.idx))
        else:
            parts.append(str(entry))
    if parts and parts[-1] == "value":  # nnx Variables add a trailing ``.value``
        parts.pop()
    return "/".join(parts)


def _is_key(leaf) -> bool:
    return hasattr(leaf, "dtype") and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def flatten(tree) -> dict[str, np.ndarray]:
    """``{path: host array}`` for every leaf; PRNG keys are stored as their raw data."""
    flat = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        value = jax.random.key_data(leaf) if _is_key(leaf) else leaf
        flat[_path_name(path)] = np.asarray(jax.device_get(value))
    return flat


def unflatten_like(template, flat: dict[str, np.ndarray], *, where: str = "checkpoint"):
    """``template`` with every leaf replaced by ``flat[path]``; shapes and dtypes must match."""
    paths_leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    leaves = []
    for path, leaf in paths_leaves:
        name = _path_name(path)
        if name not in flat:
            raise NetspecError([error(
                "checkpoint-mismatch", f"{where} has no value for '{name}'",
                hint="the checkpoint was saved from a different network (or netspec version)")])
        stored = flat[name]
        if _is_key(leaf):
            leaves.append(jax.random.wrap_key_data(jnp.asarray(stored), impl=jax.random.key_impl(leaf)))
            continue
        expected = tuple(np.shape(leaf))
        if tuple(stored.shape) != expected:
            raise NetspecError([error(
                "checkpoint-mismatch",
                f"'{name}' must have shape {expected} in this network, but the {where} has {tuple(stored.shape)}",
                hint="the checkpoint was saved from a different network")])
        leaves.append(stored.astype(np.asarray(leaf).dtype, copy=False))
    return jax.tree_util.tree_unflatten(treedef, leaves)


def save(directory: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write a checkpoint to ``directory`` atomically (see the module docstring)."""
    import orbax.checkpoint as ocp

    final = Path(directory).absolute()  # orbax accepts absolute paths only
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(final)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temporary = final.parent / f".{final.name}.tmp-{token}"
    try:
        temporary.mkdir()
        with orbax_path(temporary) as plain:
            ocp.PyTreeCheckpointer().save(plain / ARRAYS, arrays)
        _write_json(temporary / META, meta)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    previous = final.parent / f".{final.name}.old-{token}"
    if final.exists():
        final.rename(previous)
    temporary.rename(final)
    shutil.rmtree(previous, ignore_errors=True)
    return final


def load(directory: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` of the checkpoint at ``directory``.

    If a save crashed between moving the old checkpoint aside and renaming
    the new one into place, the old one (``.NAME.old-*``) is loaded.
    """
    import orbax.checkpoint as ocp

    path = Path(directory).absolute()  # orbax accepts absolute paths only
    if not (path / META).is_file():
        survivors = sorted(path.parent.glob(f".{path.name}.old-*"), key=lambda p: p.stat().st_mtime)
        survivors = [p for p in survivors if (p / META).is_file()]
        if not survivors:
            raise NetspecError([error(
                "no-checkpoint", f"no checkpoint at {path}",
                hint="pass a run folder written by `netspec train` (or its checkpoints/best|last)")])
        path = survivors[-1]
    try:
        meta = json.loads((path / META).read_text())
        with orbax_path(path) as plain:
            arrays = ocp.PyTreeCheckpointer().restore(plain / ARRAYS)
    except (OSError, ValueError) as exc:
        from netspec.train.safe_save import short_reason  # one line, not tensorstore's thirty

        raise NetspecError([error("checkpoint-unreadable",
                                  f"cannot read the checkpoint at {path}: {short_reason(exc)}")]) from None
    return {name: np.asarray(value) for name, value in arrays.items()}, meta


def _remove_stale(final: Path) -> None:
    """Delete leftovers of crashed saves (temporaries), keeping a surviving old copy
    only while the final checkpoint is missing."""
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    if (final / META).is_file():
        for stale in final.parent.glob(f".{final.name}.old-*"):
            shutil.rmtree(stale, ignore_errors=True)


def _write_json(path: Path, value: Any) -> None:
    with open(path, "w") as handle:
        json.dump(rundir.json_safe(value), handle, indent=1, allow_nan=False)
        handle.flush()
        os.fsync(handle.fileno())
