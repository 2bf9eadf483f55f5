"""``load_data``: one entry point from a ``--data`` source string to a :class:`Dataset`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from netspec.data.arrays import load_npz
from netspec.data.cifar10 import load_cifar10
from netspec.data.csv_columns import ColumnChoice
from netspec.data.dataset import Dataset, data_error
from netspec.data.folder import load_folder
from netspec.data.mnist import load_mnist
from netspec.data.splits import check_fraction
from netspec.data.synthetic import load_synthetic
from netspec.data.timeseries import load_csv
from netspec.diagnostics import did_you_mean

SOURCES = ("mnist", "cifar10", "folder:PATH", "npz:PATH", "csv:PATH", "synthetic[:N]", "synthetic:sine[:N]")
_KINDS = ("mnist", "cifar10", "folder", "npz", "csv", "synthetic")


def load_data(
    source: str,
    *,
    input_shape: tuple[int, ...],
    val_split: float = 0.1,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    window: int | None = None,
    horizon: int = 1,
    download: bool = True,
    output_shape: tuple[int, ...] | None = None,
    columns: ColumnChoice | None = None,
) -> Dataset:
    """Load ``source`` shaped for a spec whose input is ``input_shape`` (no batch axis).

    ``source``: ``mnist`` | ``cifar10`` | ``folder:PATH`` | ``npz:PATH`` |
    ``csv:PATH`` | ``synthetic[:N]`` | ``synthetic:sine[:N]``. ``val_split``
    is the fraction of the training split held out (seeded by ``seed``) when
    the source has no validation split. ``cache_dir`` holds downloaded
    datasets (default ``$NETSPEC_DATA`` or ``~/.cache/netspec``). ``window``
    and ``horizon`` cut time series (``window`` defaults to the input's T).
    ``output_shape``, the spec's output, picks time-series targets and the
    number of synthetic classes. ``columns`` picks a csv's input and target
    columns (:mod:`netspec.data.csv_columns`). Raises ``NetspecError`` with a diagnostic
    for anything wrong with the source; never a bare exception.

    >>> data = load_data("synthetic:100", input_shape=(8, 8, 1), output_shape=(4,))
    >>> data.train.x.shape, data.val.x.shape, data.class_names
    ((90, 8, 8, 1), (10, 8, 8, 1), ['class 0', 'class 1', 'class 2', 'class 3'])
    """
    check_fraction(val_split)
    input_shape = tuple(int(d) for d in input_shape)
    output_shape = None if output_shape is None else tuple(int(d) for d in output_shape)
    kind, _, argument = source.partition(":")
    if kind in ("folder", "npz", "csv") and not argument:
        raise data_error("data-source", f"--data {kind}: needs a path, e.g. --data {kind}:path/to/data")
    if kind == "mnist" and not argument:
        return load_mnist(
            input_shape=input_shape, val_split=val_split, seed=seed, cache_dir=cache_dir, download=download
        )
    if kind == "cifar10" and not argument:
        return load_cifar10(
            input_shape=input_shape, val_split=val_split, seed=seed, cache_dir=cache_dir, download=download
        )
    if kind == "folder":
        return _read_from(load_folder(argument, input_shape=input_shape, val_split=val_split, seed=seed), argument)
    if kind == "npz":
        return _read_from(load_npz(argument, input_shape=input_shape, val_split=val_split, seed=seed), argument)
    if kind == "csv":
        return _read_from(load_csv(
            argument,
            input_shape=input_shape,
            output_shape=output_shape,
            window=window,
            horizon=horizon,
            val_split=val_split,
            columns=columns,
        ), argument)
    if kind == "synthetic":
        return load_synthetic(
            argument,
            input_shape=input_shape,
            output_shape=output_shape,
            val_split=val_split,
            seed=seed,
            window=window,
            horizon=horizon,
        )
    guess = did_you_mean(kind, _KINDS)
    raise data_error(
        "data-source",
        f"unknown data source '{source}'",
        hint=(guess + " " if guess else "") + "sources are " + ", ".join(SOURCES),
    )


def _read_from(dataset: Dataset, path: str) -> Dataset:
    """``dataset`` with its origin set to ``path``, resolved (relative paths depend on the shell's folder)."""
    return dataclasses.replace(dataset, origin=(str(Path(path).resolve()),))
