"""Bottleneck features: the activations of a named layer for a whole dataset
(the lectures' "record the features of a pre-trained network, then train a
small classifier on them"), and the ``.npz`` file ``npz:`` data reads back.

File layout (what :mod:`netspec.data.arrays` reads as ``npz:PATH``)::

    features_train (N_train, *layer shape)  float32   labels_train (N_train,) or targets
    features_val   ...                                 labels_val   ...
    features_test  ...                                 labels_test  ...
    class_names    (classes,) str                      (when the data has them)
    layer          ()  str, the layer the features come from

Imports JAX.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from netspec.diagnostics import NetspecError, error


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _layer_value(graphdef, layer: str, normalize: Callable | None, state, x):
    from netspec.builder import layer_outputs

    if normalize is not None:
        x = normalize(x)
    return layer_outputs(nnx.merge(graphdef, state), x, [layer])[layer]


def extract_features(model: nnx.Module, x: np.ndarray, layer: str, *, normalize: Callable | None = None,
                     batch_size: int = 256) -> np.ndarray:
    """The output of ``layer`` for every example of ``x`` ``(N, *input_shape)``:
    ``(N, *layer output shape)`` float32, computed in inference mode in jitted
    batches of ``batch_size`` (the last one padded, so one shape compiles).
    ``normalize`` maps raw inputs to what the network was trained on."""
    model = nnx.clone(model)
    model.eval()
    graphdef, state = nnx.split(model)
    x = np.asarray(x, np.float32)
    if len(x) == 0:
        raise NetspecError([error("no-examples", "there are no examples to compute features for")])
    size = min(batch_size, len(x))
    parts = []
    for start in range(0, len(x), size):
        chunk = x[start:start + size]
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], size - len(chunk), axis=0)])
        value = _layer_value(graphdef, layer, normalize, state, jnp.asarray(padded))
        parts.append(np.asarray(value, np.float32)[:len(chunk)])
    return np.concatenate(parts)


def write_features(path: str | Path, splits: dict[str, tuple[np.ndarray, np.ndarray]], *,
                   class_names: list[str] | None, layer: str, overwrite: bool = False) -> Path:
    """Write ``{split: (features, labels)}`` in the layout of the module docstring.

    Refuses to replace an existing file unless ``overwrite``; writes to a
    temporary file first, so a crash never leaves half a file.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise NetspecError([error("bad-output", f"features are written as .npz, but the output is '{path}'",
                                  hint=f"use -o {path.with_suffix('.npz')}")])
    if path.exists() and not overwrite:
        raise NetspecError([error("output-exists", f"{path} already exists; netspec does not overwrite it",
                                  hint="pass --force to replace it, or choose another -o")])
    arrays: dict[str, Any] = {"layer": np.array(layer)}  # Any: numpy's savez stub types **kwds as its flags
    for split, (features, labels) in splits.items():
        arrays[f"features_{split}"] = features
        arrays[f"labels_{split}"] = labels
    if class_names is not None:
        arrays["class_names"] = np.array([str(name) for name in class_names])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.tmp.npz")
    np.savez(temporary, **arrays)
    temporary.replace(path)
    return path
