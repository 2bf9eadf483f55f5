"""Where a run's data came from, and whether the data given now is the same.

A run records :func:`record` of its dataset in ``run.json`` (key ``data_record``):
the ``--data`` source, the dataset's name, the resolved paths it was read
from, and a fingerprint of each split — the number of examples and a
BLAKE2b checksum of the arrays exactly as the network saw them (after
resizing, before standardisation). ``eval`` and ``features`` compare the
data they are given with it (:func:`differences`): the same source string
can name other data in another shell (``NETSPEC_DATA``, a cache folder, a
relative path), and numbers on other data are not the run's numbers.

NumPy only (no JAX).

>>> from netspec.data import load_data
>>> data = load_data("synthetic:50", input_shape=(4, 4, 1), output_shape=(2,))
>>> recorded = record(data, "synthetic:50")
>>> recorded["splits"]["train"]["examples"], differences(recorded, record(data, "synthetic:50"))
(45, [])
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np

SPLITS = ("train", "val", "test")


def checksum(x: np.ndarray, y: np.ndarray) -> str:
    """BLAKE2b-128 (hex) of a split's inputs and targets, their dtypes and shapes.

    >>> checksum(np.zeros((2, 3), np.float32), np.zeros(2, np.int32)) == checksum(np.zeros((2, 3)), np.zeros(2))
    False
    """
    digest = hashlib.blake2b(digest_size=16)
    for array in (x, y):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data.cast("B"))
    return digest.hexdigest()


def record(dataset, source: str | None) -> dict[str, Any]:
    """What ``run.json`` keeps about ``dataset`` (loaded from the ``--data`` ``source``)."""
    splits = {}
    for name in SPLITS:
        split = getattr(dataset, name)
        if split is not None and len(split):
            splits[name] = {"examples": len(split), "checksum": checksum(split.x, split.y)}
    return {"source": source, "name": dataset.name, "paths": list(dataset.origin),
            "data_env": os.environ.get("NETSPEC_DATA"), "splits": splits}


def differences(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """One sentence per split whose examples differ between two :func:`record` results
    (a split present in one and not the other counts); empty when the data is the same."""
    found = []
    for name in SPLITS:
        then, now = recorded["splits"].get(name), current["splits"].get(name)
        if then == now:
            continue
        found.append(f"{name} split: {_split_text(then)} when trained, {_split_text(now)} now")
    return found


def _split_text(split: dict[str, Any] | None) -> str:
    if split is None:
        return "absent"
    return f"{split['examples']:,} examples (checksum {split['checksum'][:12]})"


def describe(recorded: dict[str, Any]) -> str:
    """One line naming a record's data: the source, what it resolved to, and the files.

    >>> describe({"source": "mnist", "name": "mnist", "paths": ["/d/a.gz", "/d/b.gz"],
    ...           "splits": {"train": {"examples": 9, "checksum": "ab"}}})
    '--data mnist -> mnist (9 train) read from /d/a.gz, /d/b.gz'
    """
    counts = ", ".join(f"{split['examples']:,} {name}" for name, split in recorded["splits"].items())
    text = f"--data {recorded.get('source')} -> {recorded.get('name')} ({counts})"
    paths = recorded.get("paths") or []
    return text + (f" read from {', '.join(paths)}" if paths else " (generated, no files)")


def check_against_run(run_info: dict[str, Any], dataset, source: str | None, *, explicit: bool) -> list:
    """Diagnostics when ``dataset`` is not the data the run (its ``run.json``) was trained on.

    Data the user named with ``--data`` is evaluated anyway, with a warning naming
    both sources; data the run's own source string resolves to *today* (another
    shell, another ``NETSPEC_DATA``) is refused, since nobody asked for it.
    Runs older than the record give no diagnostic.
    """
    from netspec.diagnostics import error, warning

    recorded = run_info.get("data_record")
    if not recorded:
        return []
    current = record(dataset, source)
    changed = differences(recorded, current)
    if not changed:
        return []
    message = ("this is not the data the run was trained on:\n"
               f"    trained on: {describe(recorded)}\n"
               f"    given now:  {describe(current)}\n    " + "\n    ".join(changed))
    if recorded.get("data_env") != current.get("data_env"):
        message += (f"\n    NETSPEC_DATA was {recorded.get('data_env') or 'unset'} when trained, "
                    f"{current.get('data_env') or 'unset'} now")
    if explicit:
        return [warning("data-differs", message, hint="the figures below describe the data given now, "
                                                      "not the run's own splits")]
    hint = f"pass --data {source} explicitly to use the data found now anyway"
    if recorded.get("data_env") and recorded.get("data_env") != current.get("data_env"):
        hint = f"set NETSPEC_DATA={recorded['data_env']} as when training, or {hint}"
    return [error("data-differs", message, hint=hint)]


def enforce_same_data(run_info: dict[str, Any], dataset, source: str | None, *, explicit: bool) -> bool:
    """:func:`check_against_run` for a command: raise its error, print its warning
    (to stderr, so JSON on stdout stays clean). True when the data differs."""
    import sys

    from netspec.diagnostics import NetspecError, render

    found = check_against_run(run_info, dataset, source, explicit=explicit)
    if any(diagnostic.is_error for diagnostic in found):
        raise NetspecError(found)
    if found:
        print(render(found, color=sys.stderr.isatty()), file=sys.stderr)
    return bool(found)
