"""``folder:PATH`` — one sub-folder of images per class, like Keras' ``flow_from_directory``.

Two layouts are accepted::

    PATH/cat/001.jpg, PATH/dog/002.png, ...               (a seeded validation split is carved out)
    PATH/train/cat/..., PATH/validation/cat/..., PATH/test/cat/...   (the cats-vs-dogs layout)

``validation/`` may also be spelt ``val/`` or ``valid/``; ``test/`` is
optional. Class names are the sorted sub-folder names of ``train/`` (or of
``PATH``); label ``i`` is the ``i``-th name. Each image is converted to the
spec's channels (1: grayscale, 3: RGB, 4: RGBA; an ``[H, W]`` input is
grayscale without a channel axis), resized to the spec's H×W with bilinear
filtering and scaled to float32 in [0, 1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from netspec.data.dataset import Dataset, Split, data_error
from netspec.data.splits import split_validation

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".pbm", ".tif", ".tiff", ".webp"}
VALIDATION_NAMES = ("validation", "val", "valid")
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def image_layout(input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(height, width, channels) of images for a spec input ``[H, W, C]`` or ``[H, W]``."""
    if len(input_shape) == 2:
        return input_shape[0], input_shape[1], 1
    if len(input_shape) == 3 and input_shape[2] in _MODES:
        return input_shape
    raise data_error(
        "data-shape",
        f"image folders need a spec input of [H, W, C] with C 1, 3 or 4 (or [H, W]), but the input is {list(input_shape)}",
        hint="use e.g. input: [150, 150, 3] (images are resized to it)",
    )


def read_image(path: str | Path, input_shape: tuple[int, ...]) -> np.ndarray:
    """One image file as float32 in [0, 1], shaped ``input_shape`` (converted and resized).

    >>> read_image("cat.jpg", (150, 150, 3)).shape  # doctest: +SKIP
    (150, 150, 3)
    """
    from PIL import Image, UnidentifiedImageError

    from netspec.spec.file_limits import check_regular

    height, width, channels = image_layout(input_shape)
    try:
        check_regular(path)  # PIL would block on a FIFO with no writer
        with Image.open(path) as original:
            converted = original.convert(_MODES[channels])
        if converted.size != (width, height):
            converted = converted.resize((width, height), Image.Resampling.BILINEAR)
        pixels = np.asarray(converted, dtype=np.float32) / np.float32(255.0)
    except Image.DecompressionBombError as exc:  # Pillow's guard against pixel floods, not a crash
        raise data_error(
            "data-too-large", f"cannot read image {path}: {exc}", hint="resize the image, or remove it"
        ) from None
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise data_error(
            "data-corrupt", f"cannot read image {path}: {exc}", hint="remove or replace the file"
        ) from None
    return pixels.reshape(input_shape)


def _subfolders(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith("."))


def _images_in(folder: Path) -> list[Path]:
    return sorted(
        path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    )


def read_split(folder: Path, class_names: list[str], input_shape: tuple[int, ...]) -> Split:
    """Every image under ``folder/<class>/``; classes absent from ``class_names`` are an error."""
    unknown = [path.name for path in _subfolders(folder) if path.name not in class_names]
    if unknown:
        raise data_error(
            "data-classes",
            f"{folder} has class folders {unknown} that the training folder does not have ({class_names})",
            hint="every split must use the training split's class folders",
        )
    images, labels = [], []
    for label, name in enumerate(class_names):
        if not (folder / name).is_dir():
            continue
        for path in _images_in(folder / name):
            images.append(read_image(path, input_shape))
            labels.append(label)
    x = np.stack(images) if images else np.zeros((0, *input_shape), dtype=np.float32)
    return Split(x, np.asarray(labels, dtype=np.int32))


def load_folder(path: str, *, input_shape: tuple[int, ...], val_split: float, seed: int) -> Dataset:
    """A classification dataset from image folders (see the module docstring for the layouts)."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise data_error(
            "data-not-found",
            f"folder:{path}: no such folder",
            hint="give the folder that holds one sub-folder per class",
        )
    image_layout(input_shape)
    names = {folder.name for folder in _subfolders(root)}
    split_layout = "train" in names
    train_root = root / "train" if split_layout else root
    class_names = [folder.name for folder in _subfolders(train_root)]
    if len(class_names) < 2:
        raise data_error(
            "data-classes",
            f"{train_root} must hold one sub-folder per class (at least 2), but it has {len(class_names)}",
            hint="arrange the images as PATH/<class name>/<image>, e.g. data/train/cats/cat.1.jpg",
        )
    train = read_split(train_root, class_names, input_shape)
    if len(train) == 0:
        raise data_error("data-empty", f"{train_root} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    notes = []
    empty = [name for label, name in enumerate(class_names) if not (train.y == label).any()]
    if empty:
        notes.append(f"Class folders without images in {train_root}: {', '.join(empty)}.")

    validation_folder = next(
        (root / name for name in VALIDATION_NAMES if split_layout and name in names), None
    )
    val: Split | None
    if validation_folder is not None:
        val = read_split(validation_folder, class_names, input_shape)
        val = val if len(val) else None
    else:
        train, val = split_validation(train, val_split, seed, stratify=True)
    test = read_split(root / "test", class_names, input_shape) if split_layout and "test" in names else None
    return Dataset(f"folder:{path}", train, val, test, class_names, "classification", notes)
