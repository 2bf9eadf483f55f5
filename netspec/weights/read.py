"""``read_weights(PATH)``: recognise a weights file by its content (never by
trusting its name alone) and read it with the matching reader."""

from __future__ import annotations

import zipfile
from pathlib import Path

from netspec.diagnostics import NetspecError, error
from netspec.weights.file import WeightsFile

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
FORMATS = ("Keras .h5 / .weights.h5 / .keras, PyTorch .pth / .pt state dicts, .safetensors, "
           "or a netspec run folder")


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    """safetensors: an 8-byte little-endian header length, then a JSON header."""
    if len(head) < 9:
        return False
    length = int.from_bytes(head[:8], "little")
    return 0 < length <= size - 8 and head[8:9] == b"{"


def read_weights(path: str | Path) -> WeightsFile:
    """The layers and arrays of the weights file at ``path`` (a netspec run folder:
    :func:`netspec.train.pretrained.read_source`)."""
    path = Path(path)
    if path.is_dir():  # a run needs the training code's checkpoints: a later stage reads it
        raise NetspecError([error("weights-run-folder", f"{path} is a folder; netspec run folders are read by "
                                                        "netspec.train.pretrained.read_source",
                                  hint=f"pass one of: {FORMATS}")])
    if not path.is_file():
        raise NetspecError([error("no-weights-file", f"no weights file {path}",
                                  hint=f"pass one of: {FORMATS}")])
    with open(path, "rb") as handle:
        head = handle.read(16)
    size = path.stat().st_size
    if head.startswith(HDF5_MAGIC):
        return _read_h5(path)
    if head.startswith(ZIP_MAGIC):
        return _read_zip(path)
    if _looks_like_safetensors(head, size):
        from netspec.weights.torch_files import read_safetensors

        return read_safetensors(path)
    if head[:1] == b"\x80" and path.suffix in (".pth", ".pt", ".bin", ".ckpt"):  # a bare pickle (old torch.save)
        from netspec.weights.torch_files import read_torch

        return read_torch(path)
    raise NetspecError([error("weights-format", f"{path} is not a weights file netspec can read",
                              hint=f"pass one of: {FORMATS}")])


def _read_h5(path: Path) -> WeightsFile:
    from netspec.weights.keras_files import read_h5

    try:
        return read_h5(path, str(path))
    except (OSError, KeyError) as exc:  # h5py: truncated or damaged files
        raise NetspecError([error("weights-unreadable", f"cannot read {path}: the HDF5 file is damaged or "
                                                        f"truncated ({exc})",
                                  hint="download or save the file again")]) from None


def _read_zip(path: Path) -> WeightsFile:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise NetspecError([error("weights-unreadable", f"cannot read {path}: damaged zip file ({exc})",
                                  hint="download or save the file again")]) from None
    if "model.weights.h5" in names:
        from netspec.weights.keras_files import read_keras_zip

        try:
            return read_keras_zip(path)
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise NetspecError([error("weights-unreadable", f"cannot read {path}: {exc}")]) from None
    if any(name.endswith("data.pkl") for name in names):  # torch.save's zip format
        from netspec.weights.torch_files import read_torch

        return read_torch(path)
    raise NetspecError([error("weights-format", f"{path} is a zip file but neither a .keras archive nor a "
                                                "PyTorch file", hint=f"pass one of: {FORMATS}")])
