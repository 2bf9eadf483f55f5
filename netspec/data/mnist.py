"""MNIST from its standard IDX files, with the embedded test split as the offline fallback.

Where the files are looked for, in order:
1. the cache folders (``<cache>/mnist/`` or ``<cache>/``): the IDX files
   ``train-images-idx3-ubyte[.gz]`` and ``train-labels-idx1-ubyte[.gz]``
   (plus ``t10k-*`` for the test split), or Keras' ``mnist.npz``;
2. a download of the two training files (10 s timeout, MD5 verified,
   written atomically into ``<cache>/mnist/``), unless ``download=False``;
3. the real MNIST test split shipped inside netspec (10,000 images), split
   into train and validation, with a note saying exactly that.

Every file is verified: a ``.gz`` by the published MD5 of the archive or the
SHA-256 of its content, an uncompressed file by the SHA-256 of its content,
``mnist.npz`` by Keras' published SHA-256. A file that is present but fails
its check is an error, never silently skipped. Images are float32 in [0, 1].
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from netspec.data import fetch
from netspec.data.dataset import Dataset, Split, conform, data_error, images_to_unit
from netspec.data.fetch import default_cache_dirs, digest, digest_bytes
from netspec.data.splits import split_validation

EMBEDDED = Path(__file__).parent / "mnist"
MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]
# Published MD5 of each .gz file, and SHA-256 of its uncompressed content.
GZ_MD5 = {
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
CONTENT_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
CLASS_NAMES = [str(digit) for digit in range(10)]
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049


def parse_idx(data: bytes, source: str) -> np.ndarray:
    """An IDX file's array: images ``(N, 28, 28)`` or labels ``(N,)``, uint8.

    Raises a data diagnostic when the header and the length disagree.
    """
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else 0
    shape: tuple[int, ...]
    if magic == _IMAGES_MAGIC and len(data) >= 16:
        count, rows, cols = (int.from_bytes(data[i : i + 4], "big") for i in (4, 8, 12))
        shape, offset = (count, rows, cols), 16
    elif magic == _LABELS_MAGIC and len(data) >= 8:
        shape, offset = (int.from_bytes(data[4:8], "big"),), 8
    else:
        raise data_error("data-corrupt", f"{source} is not an MNIST IDX file (magic number {magic})")
    if len(data) != offset + int(np.prod(shape)):
        raise data_error(
            "data-corrupt",
            f"{source} is truncated or padded: header says {shape} but it holds {len(data) - offset} bytes",
            hint="delete it and fetch it again",
        )
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def read_verified(path: Path, stem: str) -> np.ndarray:
    """Read and verify one IDX file (``stem`` names which one, e.g. ``t10k-images-idx3-ubyte``)."""
    try:
        raw = path.read_bytes()
        content = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError, zlib.error) as exc:
        raise data_error(
            "data-corrupt", f"cannot read {path}: {exc}", hint="delete it and fetch it again"
        ) from None
    archive_ok = path.suffix == ".gz" and digest_bytes(raw, "md5") == GZ_MD5[stem]
    if not archive_ok and digest_bytes(content, "sha256") != CONTENT_SHA256[stem]:
        raise data_error(
            "data-checksum",
            f"{path} does not have the checksum of the official MNIST file {stem}",
            hint=f"delete it and download it again (published MD5 of {stem}.gz: {GZ_MD5[stem]})",
        )
    return parse_idx(content, str(path))


def _find(folders: list[Path], stem: str) -> Path | None:
    for folder in folders:
        for name in (f"{stem}.gz", stem):
            if (folder / name).is_file():
                return folder / name
    return None


def _read_keras_npz(path: Path) -> tuple[Split, Split]:
    if digest(path, "sha256") != KERAS_NPZ_SHA256:
        raise data_error(
            "data-checksum",
            f"{path} does not have the checksum of Keras' mnist.npz",
            hint="delete it, or replace it with the file from storage.googleapis.com/tensorflow/tf-keras-datasets/",
        )
    with np.load(path, allow_pickle=False) as arrays:
        return (
            Split(arrays["x_train"], arrays["y_train"].astype(np.int32)),
            Split(arrays["x_test"], arrays["y_test"].astype(np.int32)),
        )


EMBEDDED_FILES = (EMBEDDED / "t10k-images-idx3-ubyte.gz", EMBEDDED / "t10k-labels-idx1-ubyte.gz")


def _embedded_test() -> Split:
    images = read_verified(EMBEDDED / "t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte")
    labels = read_verified(EMBEDDED / "t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte")
    return Split(images, labels.astype(np.int32))


def _from_cache(folders: list[Path]) -> tuple[Split, Split, list[Path]] | None:
    """(train, test, files read) raw uint8 splits from the cache, or None when the training files are absent."""
    for folder in folders:
        if (folder / "mnist.npz").is_file():
            return (*_read_keras_npz(folder / "mnist.npz"), [folder / "mnist.npz"])
    images_path = _find(folders, "train-images-idx3-ubyte")
    labels_path = _find(folders, "train-labels-idx1-ubyte")
    if images_path is None or labels_path is None:
        return None
    train = Split(
        read_verified(images_path, "train-images-idx3-ubyte"),
        read_verified(labels_path, "train-labels-idx1-ubyte").astype(np.int32),
    )
    test_images = _find(folders, "t10k-images-idx3-ubyte")
    test_labels = _find(folders, "t10k-labels-idx1-ubyte")
    if test_images is None or test_labels is None:
        # The embedded files are the official t10k files, byte for byte.
        return train, _embedded_test(), [images_path, labels_path, *EMBEDDED_FILES]
    test = Split(
        read_verified(test_images, "t10k-images-idx3-ubyte"),
        read_verified(test_labels, "t10k-labels-idx1-ubyte").astype(np.int32),
    )
    return train, test, [images_path, labels_path, test_images, test_labels]


def _download_training_files(target: Path) -> str | None:
    """Download the two training files into ``target``; None on success, else why not."""
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        if (target / f"{stem}.gz").is_file():
            continue
        reason = fetch.download(
            [mirror + f"{stem}.gz" for mirror in MIRRORS], target / f"{stem}.gz", GZ_MD5[stem]
        )
        if reason is not None:
            return reason
    return None


def _search_folders(cache_dirs: list[Path]) -> list[Path]:
    return [path for folder in cache_dirs for path in (folder / "mnist", folder)]


def _finish(train: Split, test: Split | None, input_shape: tuple[int, ...]) -> tuple[Split, Split | None]:
    def prepare(split: Split) -> Split:
        images = conform(images_to_unit(split.x)[..., None], input_shape)
        return Split(images, split.y)

    return prepare(train), None if test is None else prepare(test)


def load_mnist(
    *, input_shape: tuple[int, ...], val_split: float, seed: int, cache_dir: str | Path | None, download: bool
) -> Dataset:
    """MNIST as ``(N, 28, 28, 1)`` float32 in [0, 1] (reshaped to ``input_shape``
    when that is ``(28, 28)`` or ``(784,)``), labels 0..9."""
    cache_dirs = default_cache_dirs(cache_dir)
    folders = _search_folders(cache_dirs)
    found = _from_cache(folders)
    notes: list[str] = []
    why_not = "downloads are turned off"
    if found is None and download:
        reason = _download_training_files(cache_dirs[0] / "mnist")
        if reason is None:
            notes.append(f"Downloaded the MNIST training files into {cache_dirs[0] / 'mnist'}.")
            found = _from_cache(folders)
        else:
            why_not = f"the download failed ({reason})"
    if found is not None:
        train, test = _finish(*found[:2], input_shape)
        train, val = split_validation(train, val_split, seed, stratify=True)
        origin = tuple(str(path.resolve()) for path in found[2])
        return Dataset("mnist", train, val, test, CLASS_NAMES, "classification", notes, origin)

    train, _ = _finish(_embedded_test(), None, input_shape)
    train, val = split_validation(train, val_split, seed, stratify=True)
    held_out = f"{len(val):,} validation" if val is not None else "no validation"
    notes.append(
        f"Using the MNIST test split embedded in netspec (10,000 real images), split into "
        f"{len(train):,} training and {held_out} images. This is not the full 60,000-image "
        f"training set, and there is no separate test split. The full files were not found "
        f"and {why_not}: put train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz "
        f"in {cache_dirs[0] / 'mnist'} (or point NETSPEC_DATA at a folder holding them)."
    )
    origin = tuple(str(path.resolve()) for path in EMBEDDED_FILES)
    return Dataset("mnist (embedded test split)", train, val, None, CLASS_NAMES, "classification", notes, origin)
