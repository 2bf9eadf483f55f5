"""CIFAR-10 from the standard "python version" batches.

Looked for in each cache folder as ``cifar-10-batches-py/`` (also under
``<cache>/cifar10/``) or as the archive ``cifar-10-python.tar.gz``; else
downloaded (10 s timeout, MD5 verified, written atomically) unless
``download=False``; else a diagnostic saying where to put the files.

The archive is verified by its published MD5 and read in place (never
extracted). An unpacked folder is checked for structure (five training
batches and a test batch of ``(N, 3072)`` pixel rows, 10 label names); files that
differ from the official ones are used but named in a note. Batches are
pickles: they are read with an unpickler that only rebuilds plain
containers and NumPy arrays, so a hostile file cannot run code.
Images are float32 in [0, 1], shape ``(N, 32, 32, 3)``.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path
from typing import IO

import numpy as np

from netspec.data import fetch
from netspec.data.dataset import Dataset, Split, conform, data_error, images_to_unit
from netspec.data.fetch import default_cache_dirs, digest
from netspec.data.splits import split_validation

FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
URLS = ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
TRAIN_BATCHES = [f"data_batch_{index}" for index in range(1, 6)]
TEST_BATCH = "test_batch"
META = "batches.meta"
# MD5 of each file of the official unpacked release.
FILE_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 spell bytes
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Refuses every global except the few NumPy needs to rebuild arrays."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module.startswith("numpy.core"):
            module = module.replace("numpy.core", "numpy._core", 1)
        return super().find_class(module, name)


def read_batch(stream: IO[bytes], source: str) -> dict[str, object]:
    """One unpickled batch with ``str`` keys (the files were written by Python 2 with bytes keys)."""
    try:
        content = _ArraysOnlyUnpickler(stream, encoding="bytes").load()
    except Exception as exc:  # a corrupt pickle can raise almost anything
        raise data_error(
            "data-corrupt", f"cannot read {source}: {exc}", hint="delete it and fetch it again"
        ) from None
    if not isinstance(content, dict):
        raise data_error(
            "data-corrupt", f"{source} is not a CIFAR-10 batch (it holds a {type(content).__name__})"
        )
    return {key.decode() if isinstance(key, bytes) else str(key): value for key, value in content.items()}


def batch_split(batch: dict[str, object], source: str) -> Split:
    """A batch's ``data`` ``(N, 3072)`` rows (R, G, B planes of 32×32) as ``(N, 32, 32, 3)`` uint8."""
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072 or labels is None:
        raise data_error(
            "data-corrupt", f"{source} is not a CIFAR-10 batch (expected 'data' (N, 3072) and 'labels')"
        )
    labels = np.asarray(labels, dtype=np.int32)
    if len(labels) != len(data) or (len(labels) and not 0 <= labels.min() <= labels.max() <= 9):
        raise data_error("data-corrupt", f"{source}: labels must be N ids in 0..9 for N={len(data)} images")
    images = data.astype(np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return Split(images, labels)


def class_names_from(meta: dict[str, object], source: str) -> list[str]:
    names = meta.get("label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise data_error("data-corrupt", f"{source} must hold 10 'label_names'")
    return [name.decode() if isinstance(name, bytes) else str(name) for name in names]


def _read_folder(folder: Path) -> tuple[Split, Split, list[str], list[str]]:
    missing = [name for name in (*TRAIN_BATCHES, TEST_BATCH, META) if not (folder / name).is_file()]
    if missing:
        raise data_error(
            "data-not-found",
            f"{folder} is missing {', '.join(missing)}",
            hint=f"unpack {ARCHIVE} there again, or put the archive itself in {folder.parent}",
        )
    batches = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH, META):
        with open(folder / name, "rb") as stream:
            batches[name] = read_batch(stream, str(folder / name))
    altered = [name for name, md5 in FILE_MD5.items() if digest(folder / name, "md5") != md5]
    notes = []
    if altered:
        notes.append(
            f"The CIFAR-10 files in {folder} differ from the official release ({', '.join(altered)}); "
            "they are used as they are."
        )
    return _assemble(batches, str(folder)) + (notes,)


def _read_archive(archive: Path) -> tuple[Split, Split, list[str], list[str]]:
    if digest(archive, "md5") != ARCHIVE_MD5:
        raise data_error(
            "data-checksum",
            f"{archive} does not have the published MD5 of {ARCHIVE} ({ARCHIVE_MD5})",
            hint="delete it and download it again",
        )
    batches = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for name in (*TRAIN_BATCHES, TEST_BATCH, META):
                member = tar.extractfile(f"{FOLDER}/{name}")
                if member is None:
                    raise KeyError(name)
                batches[name] = read_batch(io.BytesIO(member.read()), f"{archive}:{name}")
    except (OSError, KeyError, tarfile.TarError) as exc:
        raise data_error(
            "data-corrupt", f"cannot read {archive}: {exc}", hint="delete it and download it again"
        ) from None
    return _assemble(batches, str(archive)) + ([],)


def _assemble(batches: dict[str, dict], source: str) -> tuple[Split, Split, list[str]]:
    parts = [batch_split(batches[name], f"{source}/{name}") for name in TRAIN_BATCHES]
    train = Split(np.concatenate([part.x for part in parts]), np.concatenate([part.y for part in parts]))
    test = batch_split(batches[TEST_BATCH], f"{source}/{TEST_BATCH}")
    return train, test, class_names_from(batches[META], f"{source}/{META}")


def _locate(cache_dirs: list[Path]) -> Path | None:
    for folder in cache_dirs:
        for base in (folder / "cifar10", folder):
            if (base / FOLDER).is_dir():
                return base / FOLDER
            if (base / ARCHIVE).is_file():
                return base / ARCHIVE
    return None


def load_cifar10(
    *, input_shape: tuple[int, ...], val_split: float, seed: int, cache_dir: str | Path | None, download: bool
) -> Dataset:
    """CIFAR-10: 50,000 training images (less the validation split) and the 10,000-image test batch."""
    cache_dirs = default_cache_dirs(cache_dir)
    found = _locate(cache_dirs)
    notes: list[str] = []
    why_not = "downloads are turned off"
    if found is None and download:
        target = cache_dirs[0] / "cifar10" / ARCHIVE
        reason = fetch.download(URLS, target, ARCHIVE_MD5)
        if reason is None:
            notes.append(f"Downloaded CIFAR-10 into {target}.")
            found = target
        else:
            why_not = f"the download failed ({reason})"
    if found is None:
        raise data_error(
            "data-not-found",
            f"CIFAR-10 was not found in {', '.join(str(d) for d in cache_dirs)} and {why_not}",
            hint=f"put {ARCHIVE} (or its unpacked {FOLDER}/ folder) in {cache_dirs[0] / 'cifar10'}, "
            "or set NETSPEC_DATA to the folder holding it",
        )
    train, test, class_names, found_notes = _read_archive(found) if found.is_file() else _read_folder(found)
    train = Split(conform(images_to_unit(train.x), input_shape), train.y)
    test = Split(conform(images_to_unit(test.x), input_shape), test.y)
    train, val = split_validation(train, val_split, seed, stratify=True)
    return Dataset("cifar10", train, val, test, class_names, "classification", notes + found_notes,
                   (str(found.resolve()),))
