"""``npz:PATH`` — arrays saved with ``numpy.savez``.

Accepted keys (a pair of names per split; arrays of one split have equal length):

=====================  ==========================================================
``x``, ``y``           all examples; a seeded validation split is carved out
``x_train``, ``y_train``  the training split (required unless ``x``/``y`` are given)
``x_val``, ``y_val``   the validation split (also ``_valid`` / ``_validation``);
                       carved out of the training split when absent
``x_test``, ``y_test`` the test split (optional)
``features``, ``labels``  what ``netspec features`` writes (bottleneck features);
                       same suffixes as ``x``/``y`` (``features_train``, ...)
``class_names``        optional array of strings, one per class
=====================  ==========================================================

``y`` holds integer class ids ``(N,)`` (or ``(N, 1)``) or one-hot rows
``(N, K)`` → classification; any other float array → regression targets of
shape ``(N, *target_shape)`` (``(N,)`` becomes ``(N, 1)``, like a one-unit output). ``x`` in uint8 is scaled to [0, 1]; float
arrays are used as stored. Examples are reshaped to the spec's input when
that only adds/drops size-1 axes or flattens. Object (pickled) arrays are
refused.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

import numpy as np

from netspec.data.dataset import Dataset, Split, class_ids_from_targets, conform, data_error, images_to_unit
from netspec.data.splits import split_validation

PAIRS = (("x", "y"), ("features", "labels"))
_SAVE_HINT = "save it with numpy.savez(path, x=images, y=labels) (no object arrays)"
SUFFIXES = {"train": ("_train",), "val": ("_val", "_valid", "_validation"), "test": ("_test",)}


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, read eagerly; refuses pickled object arrays."""
    from netspec.data.npz_check import check_npz

    check_npz(path)  # regular file, a zip archive, headers that fit in memory: before np.load allocates
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise data_error("data-not-found", f"npz:{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise data_error("data-corrupt", f"cannot read {path}: {exc}", hint=_SAVE_HINT) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise data_error("data-corrupt", f"{path} holds a single array, not named arrays", hint=_SAVE_HINT)
    try:
        with archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise data_error("data-corrupt", f"cannot read {path}: {exc}", hint=_SAVE_HINT) from None


def _pick_pair(arrays: dict[str, np.ndarray], path: Path) -> tuple[str, str]:
    for inputs, targets in PAIRS:
        if any(key == inputs or key.startswith(inputs + "_") for key in arrays):
            return inputs, targets
    raise data_error(
        "data-keys",
        f"{path} holds no inputs: its arrays are {sorted(arrays)}",
        hint="name them x/y, x_train/y_train (+ x_val, x_test), or features/labels",
    )


def _check_pair(path: Path, x_name: str, x: np.ndarray, y_name: str, y: np.ndarray) -> None:
    """Arrays of examples (not scalars), at least one, with numbers for labels."""
    for name, array in ((x_name, x), (y_name, y)):
        if array.ndim == 0:
            raise data_error("data-shape", f"{path}: '{name}' is a single value, not an array of examples",
                             hint=_SAVE_HINT)
        if array.dtype.kind not in "biuf":
            raise data_error("data-type", f"{path}: '{name}' holds {array.dtype} values, not numbers",
                             hint="labels are integer class ids (names go in a 'class_names' array)"
                             if name == y_name else _SAVE_HINT)
    if len(x) == 0 and not x_name.endswith(("_val", "_valid", "_validation", "_test")):
        raise data_error("data-empty", f"{path}: '{x_name}' holds no examples")


def _raw_splits(arrays: dict[str, np.ndarray], path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    inputs, targets = _pick_pair(arrays, path)
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    candidates = {"all": ("",), **SUFFIXES}
    for split, suffixes in candidates.items():
        for suffix in suffixes:
            if inputs + suffix not in arrays:
                continue
            if targets + suffix not in arrays:
                raise data_error("data-keys", f"{path} has '{inputs + suffix}' but no '{targets + suffix}'")
            x, y = arrays[inputs + suffix], arrays[targets + suffix]
            _check_pair(path, inputs + suffix, x, targets + suffix, y)
            if len(x) != len(y):
                raise data_error(
                    "data-keys",
                    f"{path}: '{inputs + suffix}' has {len(x)} examples but '{targets + suffix}' has {len(y)}",
                )
            found[split] = (x, y)
            break
    if "all" in found and "train" in found:
        raise data_error(
            "data-keys", f"{path} has both '{inputs}' and '{inputs}_train'", hint="keep one of them"
        )
    if "all" in found:
        found["train"] = found.pop("all")
    if "train" not in found:
        raise data_error("data-keys", f"{path} has no training arrays ('{inputs}' or '{inputs}_train')")
    return found


def load_npz(path: str, *, input_shape: tuple[int, ...], val_split: float, seed: int) -> Dataset:
    """A dataset from named arrays (see the module docstring for the keys)."""
    file = Path(path).expanduser()
    arrays = read_npz(file)
    raw = _raw_splits(arrays, file)

    class_ids = {split: class_ids_from_targets(y, str(file)) for split, (_, y) in raw.items()}
    classification = all(ids is not None for ids in class_ids.values())
    splits: dict[str, Split] = {}
    for split, (x, y) in raw.items():
        ids = class_ids[split]
        targets = ids if classification and ids is not None else y.astype(np.float32)
        if targets.ndim == 1 and not classification:
            targets = targets[:, None]  # one value per example: the shape of a one-unit output
        splits[split] = Split(conform(images_to_unit(x), input_shape), targets)

    class_names = None
    if classification:
        count = 1 + max(int(split.y.max()) for split in splits.values() if len(split))
        class_names = [str(label) for label in range(count)]
        if "class_names" in arrays:
            class_names = [str(name) for name in np.asarray(arrays["class_names"]).reshape(-1)]
            if count > len(class_names):
                raise data_error(
                    "data-labels",
                    f"{file}: labels go up to {count - 1} but 'class_names' names only {len(class_names)} classes",
                )
    if "val" not in splits:
        splits["train"], val = split_validation(splits["train"], val_split, seed, stratify=classification)
        if val is not None:
            splits["val"] = val
    task: Literal["classification", "regression"] = "classification" if classification else "regression"
    return Dataset(
        f"npz:{path}", splits["train"], splits.get("val"), splits.get("test"), class_names, task, []
    )
